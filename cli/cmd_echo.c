/*
 * sockit echo [-u] [--unix PATH] [-t THREADS] [-i SECS] [-c MAX] [HOST] PORT
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

static const char usage[] =
    "usage: sockit echo [-u] [-t THREADS] [-i SECS] [-c MAX] [HOST] PORT\n"
    "       sockit echo [-u] --unix PATH\n"
    "\n"
    "Echo server: sends every byte (or datagram) back to where it came from.\n"
    "HOST defaults to the wildcard (dual-stack IPv6 + IPv4 where the system allows);\n"
    "PORT 0 picks a free port, shown on the 'listening on' line.\n"
    "\n"
    "  -u            UDP (or, with --unix, a Unix datagram socket)\n"
    "  --unix PATH   a Unix-domain socket at PATH ('@name': abstract namespace)\n"
    "  -t THREADS    worker threads, each with its own event loop (default: one per core)\n"
    "  -i SECS       close a connection idle for SECS seconds (default: never)\n"
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

static int parse_count(const char *flag, const char *text, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v <= 0 || v > 1000000)
        return cli_usage_error("echo", "bad number for %s: '%s'", flag, text);
    *out = (int)v;
    return 0;
}

static int serve(sockit_server_config *cfg)
{
    sockit_server *srv;
    int r = sockit_server_new(&srv, cfg);
    if (r < 0) return cli_fail(r, "echo");
    sockit_addr a;
    char text[SOCKIT_ADDRSTRLEN];
    sockit_server_addr(srv, &a);
    fprintf(stderr, "listening on %s\n", sockit_addr_format(&a, text, sizeof text));
    fflush(stderr);
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
    sockit_server_config cfg = {.cbs = &cbs, .log = echo_log};
    const char *unix_path = NULL, *cert = NULL, *key = NULL;
    int tls = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ut:i:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': cfg.type = SOCK_DGRAM; break;
        case 't': if (parse_count("-t", optarg, &cfg.workers)) return CLI_USAGE; break;
        case 'c': if (parse_count("-c", optarg, &cfg.max_conns)) return CLI_USAGE; break;
        case 'i':
            if (cli_parse_seconds("echo", "-i", optarg, &cfg.idle_timeout)) return CLI_USAGE;
            break;
        case OPT_UNIX: unix_path = optarg; break;
        case OPT_TLS: tls = 1; break;
        case OPT_CERT: cert = optarg; break;
        case OPT_KEY: key = optarg; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        default: return cli_option_error("echo", c, argv);
        }
    }
    if ((cert || key) && !tls) return cli_usage_error("echo", "--cert and --key need --tls");
    if (tls && (!cert || !key)) return cli_usage_error("echo", "--tls needs --cert FILE and --key FILE");
    if (tls && cfg.type == SOCK_DGRAM) return cli_usage_error("echo", "--tls is for stream servers (no -u)");
    int rest = argc - optind;
    if (unix_path) {
        if (rest != 0) return cli_usage_error("echo", "--unix takes no HOST or PORT");
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
        int r = sockit_tls_ctx_new(&ctx, &to);
        if (r < 0) return r == SOCKIT_ETLS ? cli_error(CLI_FILE, "%s", sockit_errmsg()) : cli_fail(r, "tls");
        cfg.tls = ctx;
    }
    int rc = serve(&cfg);
    sockit_tls_ctx_free(ctx);
    return rc;
}
