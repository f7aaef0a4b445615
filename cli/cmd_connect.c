/*
 * sockit connect [-4|-6] [-u] [-w SECS] [--tls [--cacert FILE] [-k]] HOST PORT
 * sockit connect [-u] [-w SECS] --unix PATH
 *
 * Like nc: connects, then relays standard input and output (relay.c). TCP goes through
 * sockit_create_connection, which tries every address the name resolves to.
 */
#include "cli.h"

#include <getopt.h>

#define MAX_ADDRS 64

static const char usage[] =
    "usage: sockit connect [-4|-6] [-u] [-w SECS] [--tls [--cacert FILE] [-k]] HOST PORT\n"
    "       sockit connect [-u] [-w SECS] --unix PATH\n"
    "\n"
    "Like nc: standard input goes to the socket, the socket goes to standard output.\n"
    "TCP: every address HOST resolves to is tried in turn. At the end of input the sending side\n"
    "is shut down; sockit exits when both directions have ended: all of its input was sent and\n"
    "the peer closed. A peer that only shuts down its sending side still gets all of the input.\n"
    "A reset or any other failure exits with status 2.\n"
    "SIGINT or SIGTERM ends it as they end any client: killed by the signal (the shell shows\n"
    "status 130 or 143), since the transfer did not finish. The servers (listen, echo) catch\n"
    "them and exit 0.\n"
    "UDP (-u): each read of standard input is sent as one datagram, and each datagram received\n"
    "is written to standard output. At the end of input sockit exits at once, or with -w once\n"
    "SECS seconds pass without a datagram (so `-u -w 1` collects the replies).\n"
    "\n"
    "  -4, -6         IPv4 / IPv6 addresses only\n"
    "  -u             UDP (with --unix: a Unix datagram socket)\n"
    "  -w SECS        timeout for the connect, and exit with status 2 when SECS seconds pass\n"
    "                 without traffic either way\n"
    "  --unix PATH    connect to the Unix socket PATH (@NAME: Linux's abstract namespace)\n"
    "  --tls          speak TLS (like openssl s_client -quiet), verifying the certificate\n"
    "                 against the system store and the host name against HOST\n"
    "  --cacert FILE  with --tls: trust the certificates in FILE instead of the system store\n"
    "  -k             with --tls: skip certificate and host name verification\n"
    "  -h, --help     show this help\n";

typedef struct connect_opts {
    int family;         /* 0, AF_INET or AF_INET6 */
    int dgram;          /* -u */
    double wait;        /* -w; < 0: none */
    const char *unix_path;
    int tls;            /* --tls, --cacert, -k */
    const char *cacert;
    int insecure;
    const char *host;
    const char *port;
} connect_opts;

enum { OPT_UNIX = 256, OPT_TLS, OPT_CACERT };

/* Remaining seconds of the -w budget that started at start (< 0: no budget). */
static double remaining(const connect_opts *o, double start)
{
    if (o->wait < 0)
        return -1;
    double left = o->wait - (cli_now() - start);
    return left > 0.001 ? left : 0.001; /* still > 0: 0 would mean "non-blocking" */
}

static int check_args(connect_opts *o, int nargs, char **args)
{
    if (o->unix_path) {
        if (nargs > 0)
            return cli_usage_error("connect", "--unix PATH takes no HOST or PORT");
        if (o->family)
            return cli_usage_error("connect", "-4 and -6 do not apply to --unix");
        if (cli_check_unix_path("connect", o->unix_path) != 0)
            return CLI_USAGE;
    } else {
        if (nargs < 1)
            return cli_usage_error("connect", "missing HOST and PORT");
        if (nargs < 2)
            return cli_usage_error("connect", "missing PORT");
        if (nargs > 2)
            return cli_usage_error("connect", "too many arguments");
        o->host = args[0];
        o->port = args[1];
    }
    if ((o->cacert || o->insecure) && !o->tls)
        return cli_usage_error("connect", "--cacert and -k need --tls");
    if (o->tls && (o->dgram || o->unix_path))
        return cli_usage_error("connect", "--tls needs a TCP connection (no -u, no --unix)");
    return 0;
}

static int parse_opts(connect_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"unix", required_argument, NULL, OPT_UNIX},
        {"tls", no_argument, NULL, OPT_TLS},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":46uw:kh", longopts, NULL)) != -1) {
        switch (c) {
        case '4':
        case '6':
            if (cli_one_family("connect", &o->family, c == '4' ? AF_INET : AF_INET6) != 0)
                return CLI_USAGE;
            break;
        case 'u': o->dgram = 1; break;
        case 'k': o->insecure = 1; break;
        case OPT_UNIX: o->unix_path = optarg; break;
        case OPT_TLS: o->tls = 1; break;
        case OPT_CACERT: o->cacert = optarg; break;
        case 'w':
            if (cli_parse_seconds("connect", "-w", optarg, &o->wait) != 0)
                return CLI_USAGE;
            break;
        case 'h':
            fputs(usage, stdout);
            return -1; /* done, successfully */
        default:
            return cli_option_error("connect", c, argv, longopts);
        }
    }
    return check_args(o, argc - optind, argv + optind);
}

/* TCP: with -4/-6 we resolve first, to keep only that family, then try those addresses. */
static int open_tcp(const connect_opts *o, sockit_sock **s)
{
    if (!o->family)
        return sockit_create_connection(s, o->host, o->port, o->wait);
    static sockit_addr addrs[MAX_ADDRS];
    double start = cli_now();
    int n = sockit_getaddrinfo_timeout(o->host, o->port, o->family, SOCK_STREAM, addrs,
                                       MAX_ADDRS, o->wait);
    if (n < 0)
        return n;
    return sockit_create_connection_addrs(s, addrs, (size_t)n, SOCK_STREAM, remaining(o, start));
}

/* --tls: the handshake, bounded by -w like the connect (the socket kept that timeout). */
static int start_tls(const connect_opts *o, sockit_tls_ctx *ctx, sockit_sock *s)
{
    cli_errmsg_mark();
    int rc = sockit_tls_connect(s, ctx, o->host);
    return rc < 0 ? cli_fail(rc, "tls handshake") : 0;
}

/* UDP: "connecting" only fixes the peer, so the first address is the one. */
static int open_udp(const connect_opts *o, sockit_sock **s)
{
    sockit_addr a;
    int rc = sockit_getaddrinfo_timeout(o->host, o->port, o->family, SOCK_DGRAM, &a, 1, o->wait);
    if (rc < 0)
        return rc;
    if ((rc = sockit_socket(s, a.sa.ss_family, SOCK_DGRAM, 0)) < 0)
        return rc;
    if ((rc = sockit_connect_addr(*s, &a)) < 0) {
        sockit_close(*s);
        *s = NULL;
    }
    return rc;
}

static int open_unix(const connect_opts *o, sockit_sock **s)
{
    int rc = sockit_socket(s, AF_UNIX, o->dgram ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (rc < 0)
        return rc;
    /* A datagram client needs a name of its own for replies to reach it: autobind one. */
    if (o->dgram && (rc = sockit_bind(*s, NULL, NULL)) < 0)
        goto fail;
    if ((rc = sockit_settimeout(*s, o->wait)) < 0 || (rc = sockit_connect(*s, o->unix_path, NULL)) < 0)
        goto fail;
    return 0;
fail:
    sockit_close(*s);
    *s = NULL;
    return rc;
}

int cli_connect_main(int argc, char **argv)
{
    connect_opts o = {.wait = -1};
    int rc = parse_opts(&o, argc, argv);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    /* The certificates first: a file we cannot read is found before any network traffic. */
    sockit_tls_ctx *ctx = NULL;
    if (o.tls && (rc = cli_tls_ctx_new(&ctx, &(sockit_tls_opts){.cafile = o.cacert,
                                                                .insecure = o.insecure})) != 0)
        return rc;
    sockit_sock *s = NULL;
    cli_errmsg_mark();
    if (o.unix_path)
        rc = open_unix(&o, &s);
    else
        rc = o.dgram ? open_udp(&o, &s) : open_tcp(&o, &s);
    if (rc < 0) {
        sockit_tls_ctx_free(ctx);
        return cli_fail(rc, "connect");
    }
    if (ctx) {
        rc = start_tls(&o, ctx, s);
        sockit_tls_ctx_free(ctx); /* the connection keeps what it needs */
        if (rc != 0) {
            sockit_close(s);
            return rc;
        }
    }

    int stdin_eof = 0;
    if (o.dgram)
        rc = cli_relay_dgram(s, o.wait, 0);
    else
        rc = cli_relay_stream(s, o.wait, &stdin_eof);
    sockit_close(s);
    return rc;
}
