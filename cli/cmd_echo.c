/*
 * sockit echo [-u] [--unix PATH] [-t THREADS] [-i SECS] [-f SECS] [-c MAX] [HOST] PORT
 *
 * An echo server on the event-driven server core: TCP (default), UDP (-u), or a Unix stream
 * (or, with -u, datagram) socket. Prints "listening on ADDR" once it accepts traffic and stops
 * cleanly on SIGINT/SIGTERM.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sockit/server.h>
#include <sockit/tls.h>

/* Every server the command starts has finite timeouts unless told otherwise: a peer that
 * connects and says nothing (or stalls its TLS handshake) must not hold a slot forever. */
#define FIRST_BYTE_DEFAULT 30.0 /* seconds a new connection may take to send its first byte */
#define IDLE_DEFAULT 300.0      /* seconds a connection may stay silent afterwards */
#define MAX_WORKERS 1024        /* -t: more threads than this is a typo, not a configuration */
#define STR_(x) #x
#define STR(x) STR_(x)

static const char usage[] =
    "usage: sockit echo [-u] [-t THREADS] [-i SECS] [-f SECS] [-c MAX] [HOST] PORT\n"
    "       sockit echo [-u] --unix PATH\n"
    "\n"
    "Echo server: sends every byte (or datagram) back to where it came from.\n"
    "HOST defaults to the wildcard (dual-stack IPv6 + IPv4 where the system allows);\n"
    "PORT 0 picks a free port, shown on the 'listening on' line.\n"
    "SIGINT or SIGTERM stops it cleanly (status 0).\n"
    "\n"
    "  -u            UDP (or, with --unix, a Unix datagram socket)\n"
    "  --unix PATH   a Unix-domain socket at PATH ('@name': abstract namespace)\n"
    "  -t THREADS    worker threads, each with its own event loop (default: one per core;\n"
    "                at most " STR(MAX_WORKERS) ")\n"
    "  -f SECS       close a new connection that sends nothing (with --tls: that does not\n"
    "                finish its handshake) within SECS seconds (default: 30; 0: as -i)\n"
    "  -i SECS       close a connection idle for SECS seconds (default: 300; 0: never)\n"
    "  -c MAX        open connections at most; more are refused (default: 10000)\n"
    "  --tls --cert FILE --key FILE   serve TLS with this certificate chain and key (PEM)\n"
    "  -h, --help    show this help\n";

static size_t echo_data(sockit_conn *c, char *data, size_t len)
{
    /* Backpressure pauses reading once the queue passes out_limit, so this cannot run away. */
    return sockit_conn_send(c, data, len) == -ENOBUFS ? 0 : len;
}

static void echo_datagram(sockit_dgram *d, const char *data, size_t len, const sockit_addr *from)
{
    sockit_dgram_reply(d, data, len);
}

static void echo_log(void *user, const char *message)
{
    fprintf(stderr, "sockit: %s\n", message);
}

static int parse_count(const char *flag, const char *text, long max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v <= 0)
        return cli_usage_error("echo", "bad number for %s: '%s'", flag, text);
    if (v > max)
        return cli_usage_error("echo", "%s %s is too many: the limit is %ld", flag, text, max);
    *out = (int)v;
    return 0;
}

/* A timeout in seconds where 0 means "never": stored as the library's "none" (0). */
static int parse_timeout(const char *flag, const char *text, double *out)
{
    if (strcmp(text, "0") == 0) {
        *out = 0;
        return 0;
    }
    return cli_parse_seconds("echo", flag, text, out);
}

static int serve(sockit_server_config *cfg)
{
    sockit_server *srv;
    cli_errmsg_mark();
    int r = sockit_server_new(&srv, cfg);
    if (r < 0) return cli_fail(r, "echo");
    sockit_addr a;
    char text[SOCKIT_ADDRSTRLEN];
    sockit_server_addr(srv, &a);
    fprintf(stderr, "listening on %s\n", sockit_addr_format(&a, text, sizeof text));
    fflush(stderr);
    cli_errmsg_mark();
    r = sockit_server_run(srv);
    sockit_server_free(srv);
    return r < 0 ? cli_fail(r, "echo") : CLI_OK;
}

int cli_echo_main(int argc, char **argv)
{
    enum { OPT_UNIX = 256, OPT_TLS, OPT_CERT, OPT_KEY };
    static const struct option longopts[] = {
        {"unix", required_argument, NULL, OPT_UNIX}, {"tls", no_argument, NULL, OPT_TLS},
        {"cert", required_argument, NULL, OPT_CERT}, {"key", required_argument, NULL, OPT_KEY},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    static sockit_server_cbs cbs = {.on_data = echo_data, .on_datagram = echo_datagram};
    sockit_server_config cfg = {.cbs = &cbs, .log = echo_log,
                                .first_byte_timeout = FIRST_BYTE_DEFAULT, .idle_timeout = IDLE_DEFAULT};
    const char *unix_path = NULL, *cert = NULL, *key = NULL;
    int tls = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ut:i:f:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': cfg.type = SOCK_DGRAM; break;
        case 't': if (parse_count("-t", optarg, MAX_WORKERS, &cfg.workers)) return CLI_USAGE; break;
        case 'c': if (parse_count("-c", optarg, 1000000, &cfg.max_conns)) return CLI_USAGE; break;
        case 'i': if (parse_timeout("-i", optarg, &cfg.idle_timeout)) return CLI_USAGE; break;
        case 'f': if (parse_timeout("-f", optarg, &cfg.first_byte_timeout)) return CLI_USAGE; break;
        case OPT_UNIX: unix_path = optarg; break;
        case OPT_TLS: tls = 1; break;
        case OPT_CERT: cert = optarg; break;
        case OPT_KEY: key = optarg; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        default: return cli_option_error("echo", c, argv, longopts);
        }
    }
    if ((cert || key) && !tls) return cli_usage_error("echo", "--cert and --key need --tls");
    if (tls && (!cert || !key)) return cli_usage_error("echo", "--tls needs --cert FILE and --key FILE");
    if (tls && cfg.type == SOCK_DGRAM) return cli_usage_error("echo", "--tls is for stream servers (no -u)");
    int rest = argc - optind;
    if (unix_path) {
        if (rest != 0) return cli_usage_error("echo", "--unix takes no HOST or PORT");
        if (cli_check_unix_path("echo", unix_path)) return CLI_USAGE;
        cfg.host = unix_path;
        cfg.family = AF_UNIX;
    } else if (rest == 1) {
        cfg.port = argv[optind];
    } else if (rest == 2) {
        cfg.host = argv[optind];
        cfg.port = argv[optind + 1];
    } else {
        return cli_usage_error("echo", rest ? "too many arguments" : "missing PORT");
    }
    sockit_tls_ctx *ctx = NULL;
    if (tls) {
        sockit_tls_opts to = {.server = 1, .cert = cert, .key = key};
        int r = cli_tls_ctx_new(&ctx, &to);
        if (r != 0) return r;
        cfg.tls = ctx;
    }
    int rc = serve(&cfg);
    sockit_tls_ctx_free(ctx);
    return rc;
}
