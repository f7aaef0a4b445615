/*
 * sockit http serve [-b ADDR] [-p PORT] [-d DIR] [-t THREADS] [-q] [--cert FILE --key FILE] [PORT]
 * sockit http get ...   (cmd_http_get.c)
 *
 * A static file server like `python3 -m http.server`, on the library's HTTP server
 * (http_server.h) and its static-file mount: one route, "/", serving DIR. The limits are the
 * server's finite defaults. Prints "listening on ADDR" once it accepts traffic, one Common Log
 * Format line per request on stderr unless -q, and stops gracefully on SIGINT/SIGTERM (status 0).
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <sockit/http_server.h>
#include <sockit/tls.h>

#define MAX_WORKERS 1024
#define STR_(x) #x
#define STR(x) STR_(x)

static const char usage[] =
    "usage: sockit http serve [-b ADDR] [-p PORT] [-d DIR] [-t THREADS] [-q]\n"
    "                         [--cert FILE --key FILE] [PORT]\n"
    "\n"
    "Serves the files under DIR over HTTP/1.1, like `python3 -m http.server`: GET and HEAD,\n"
    "directory listings (index.html when present), Content-Type from the extension, Range\n"
    "(206/416), validators (ETag, Last-Modified: 304/412), precompressed file.br / file.gz\n"
    "siblings, keep-alive and pipelining. Never serves outside DIR: '..', encoded slashes and\n"
    "symlinks leading out of DIR are refused (403/404). SIGINT or SIGTERM stops it gracefully\n"
    "(requests in flight finish, status 0).\n"
    "\n"
    "  -p, --port PORT        port (default 8000; 0 picks a free one, shown on the\n"
    "                         'listening on' line); also accepted as the last argument\n"
    "  -b, --bind ADDR        address to bind (default: the wildcard, IPv6 + IPv4)\n"
    "  -d, --directory DIR    directory to serve (default: the current one)\n"
    "  -t, --threads THREADS  worker threads, each with its own event loop (default: one per\n"
    "                         core; at most " STR(MAX_WORKERS) ")\n"
    "  -q, --quiet            no access log (default: one Common Log Format line per request\n"
    "                         on stderr)\n"
    "  --cert FILE --key FILE serve HTTPS with this certificate chain and key (PEM; ALPN\n"
    "                         http/1.1)\n"
    "  -h, --help             show this help\n"
    "\n"
    "Limits (the library's defaults, all finite): whole request head within " STR(SOCKIT_HTTP_HEADER_TIMEOUT) " s,\n"
    "keep-alive idle " STR(SOCKIT_HTTP_IDLE_TIMEOUT) " s, no send progress " STR(SOCKIT_HTTP_SEND_TIMEOUT) " s, head at most "
    STR(SOCKIT_HTTP_MAX_HEADER_BYTES) " bytes (431),\n"
    STR(SOCKIT_HTTP_MAX_HEADERS) " header fields (431), target " STR(SOCKIT_HTTP_MAX_TARGET) " bytes (414), "
    STR(SOCKIT_HTTP_MAX_REQUESTS) " requests per connection,\n"
    "10000 open connections. At start the open-files limit (RLIMIT_NOFILE) is raised to its\n"
    "hard limit: each connection is a descriptor, each file served one more while it is sent.\n";

static void serve_log(void *user, const char *message)
{
    (void)user;
    fprintf(stderr, "sockit: %s\n", message);
}

/* One CLF line per request, written with one write(2): workers log concurrently, and a line
 * shorter than PIPE_BUF is never interleaved with another. */
static void access_log(void *user, const sockit_http_log_entry *e)
{
    (void)user;
    char line[2048];
    size_t n = sockit_http_log_format(e, line, sizeof line - 1);
    if (n > sizeof line - 2) n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w; /* a closed stderr loses the log, not the server */
}

static int parse_threads(const char *text, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v <= 0)
        return cli_usage_error("http serve", "bad number for -t: '%s'", text);
    if (v > MAX_WORKERS)
        return cli_usage_error("http serve", "-t %s is too many: the limit is %d", text, MAX_WORKERS);
    *out = (int)v;
    return 0;
}

/* A port is decimal 0..65535 here (a service name would also do for the library, but
 * `python3 -m http.server` users type numbers, and "80OO" is a typo worth saying). */
static int check_port(const char *text)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < 0 || v > 65535)
        return cli_usage_error("http serve", "bad port '%s' (0..65535)", text);
    return 0;
}

/* Servers need many descriptors: the soft limit (often 1024) goes up to the hard one. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* DIR must be a directory we can open: else a local file error (5) before anything binds. */
static int check_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return cli_error(CLI_FILE, "http serve: %s: %s", dir, strerror(errno));
    close(fd);
    return 0;
}

static int run_server(sockit_http_config *cfg, const char *dir)
{
    sockit_http_server *hs;
    int rc = cli_stop_on_signals();
    if (rc < 0) return cli_fail(rc, "http serve: signals");
    cli_errmsg_mark();
    rc = sockit_http_server_new(&hs, cfg);
    if (rc < 0) return cli_fail(rc, "http serve");
    cli_errmsg_mark();
    rc = sockit_http_static(hs, "/", dir, NULL);
    if (rc < 0) {
        (void)cli_fail(rc, "http serve");
        sockit_http_server_free(hs);
        return CLI_FILE;
    }
    cli_errmsg_mark();
    rc = sockit_http_server_start(hs);
    if (rc < 0) {
        sockit_http_server_free(hs);
        return cli_fail(rc, "http serve");
    }
    sockit_addr a;
    char text[SOCKIT_ADDRSTRLEN];
    sockit_http_server_addr(hs, &a);
    fprintf(stderr, "listening on %s\n", sockit_addr_format(&a, text, sizeof text));
    fflush(stderr);
    struct pollfd p = {.fd = cli_stop_fd(), .events = POLLIN};
    while (!cli_stopped())
        (void)poll(&p, 1, -1);
    sockit_http_server_stop(hs);
    rc = sockit_http_server_wait(hs);
    sockit_http_server_free(hs);
    return rc < 0 ? cli_fail(rc, "http serve") : CLI_OK;
}

static int serve_main(int argc, char **argv)
{
    enum { OPT_CERT = 256, OPT_KEY };
    static const struct option longopts[] = {
        {"bind", required_argument, NULL, 'b'},   {"port", required_argument, NULL, 'p'},
        {"directory", required_argument, NULL, 'd'}, {"threads", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sockit_http_config cfg = {.log = serve_log, .access_log = access_log};
    const char *port = NULL, *dir = ".", *cert = NULL, *key = NULL;
    int quiet = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":b:p:d:t:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': cfg.host = optarg; break;
        case 'p': port = optarg; break;
        case 'd': dir = optarg; break;
        case 't': if (parse_threads(optarg, &cfg.workers)) return CLI_USAGE; break;
        case 'q': quiet = 1; break;
        case OPT_CERT: cert = optarg; break;
        case OPT_KEY: key = optarg; break;
        case 'h': fputs(usage, stdout); return CLI_OK;
        default: return cli_option_error("http serve", c, argv, longopts);
        }
    }
    int rest = argc - optind;
    if (rest > 1) return cli_usage_error("http serve", "too many arguments");
    if (rest == 1) {
        if (port) return cli_usage_error("http serve", "the port is given twice (-p and '%s')", argv[optind]);
        port = argv[optind];
    }
    if (!port) port = "8000";
    if (check_port(port)) return CLI_USAGE;
    if (!!cert != !!key) return cli_usage_error("http serve", "--cert and --key go together");
    if (quiet) cfg.access_log = NULL;
    cfg.port = port;
    int rc = check_dir(dir);
    if (rc) return rc;
    raise_nofile();
    sockit_tls_ctx *ctx = NULL;
    if (cert) {
        sockit_tls_opts to = {.server = 1, .cert = cert, .key = key, .alpn = "http/1.1"};
        if ((rc = cli_tls_ctx_new(&ctx, &to)) != 0) return rc;
        cfg.tls = ctx;
    }
    rc = run_server(&cfg, dir);
    sockit_tls_ctx_free(ctx);
    return rc;
}

static const char http_usage[] =
    "usage: sockit http serve [-b ADDR] [-p PORT] [-d DIR] [-t THREADS] [-q]\n"
    "                         [--cert FILE --key FILE] [PORT]\n"
    "       sockit http get [-o FILE] [-L] [-I] [-X METHOD] [-H 'Name: value']... [-d DATA]\n"
    "                       [--cacert FILE] [-k] [-m SECS] [--fail] [-s] [-v] URL...\n"
    "\n"
    "'sockit http serve --help' shows the server's options and limits; 'sockit http get\n"
    "--help' the client's (curl's flags).\n";

int cli_http_main(int argc, char **argv)
{
    if (argc < 2) return cli_usage_error("http", "missing 'serve' or 'get'");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(http_usage, stdout);
        return CLI_OK;
    }
    if (strcmp(sub, "serve") == 0) return serve_main(argc - 1, argv + 1);
    if (strcmp(sub, "get") == 0) return cli_http_get_main(argc - 1, argv + 1);
    return cli_usage_error("http", "unknown subcommand '%s' (serve or get)", sub);
}
