/*
 * sockit listen [-u] [-k] [HOST] PORT
 * sockit listen [-u] [-k] --unix PATH
 *
 * Like nc -l: binds with sockit_create_server, says "listening on ADDR" on stderr, accepts a peer
 * and relays standard input and output with it (relay.c); -k: the next peer after that, forever.
 * All waiting is our own poll() with the stop pipe in it, so SIGINT/SIGTERM end it cleanly.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: sockit listen [-u] [-k] [HOST] PORT\n"
    "       sockit listen [-u] [-k] --unix PATH\n"
    "\n"
    "Like nc -l: binds HOST (default: every address, IPv6 and IPv4 where the system allows) and\n"
    "PORT (0: a free port), prints \"listening on ADDR\" on standard error, accepts one peer and\n"
    "relays as connect does: the peer to standard output, standard input to the peer (at the end\n"
    "of input the sending side is shut down). It exits when both directions have ended: all of\n"
    "its input was sent and the peer closed (a peer's half-close ends only what it receives).\n"
    "UDP (-u): datagrams received go to standard output; each read of standard input is sent as\n"
    "one datagram to the peer that sent the last one (input waits until there is one).\n"
    "SIGINT or SIGTERM stops it cleanly (status 0).\n"
    "\n"
    "  -u           UDP (with --unix: a Unix datagram socket)\n"
    "  -k           keep listening: when a peer is done, accept the next one, forever\n"
    "               (with -u every peer is served anyway)\n"
    "  --unix PATH  listen on the Unix socket PATH (@NAME: Linux's abstract namespace);\n"
    "               the socket file is removed at exit\n"
    "  -h, --help   show this help\n";

typedef struct listen_opts {
    int dgram; /* -u */
    int keep;  /* -k */
    const char *unix_path;
    const char *host;
    const char *port;
} listen_opts;

enum { OPT_UNIX = 256 };

static int check_args(listen_opts *o, int nargs, char **args)
{
    if (o->unix_path) {
        if (nargs > 0)
            return cli_usage_error("listen", "--unix PATH takes no HOST or PORT");
        return cli_check_unix_path("listen", o->unix_path);
    }
    if (nargs < 1)
        return cli_usage_error("listen", "missing PORT");
    if (nargs > 2)
        return cli_usage_error("listen", "too many arguments");
    o->host = nargs == 2 ? args[0] : NULL;
    o->port = args[nargs - 1];
    return 0;
}

static int parse_opts(listen_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"unix", required_argument, NULL, OPT_UNIX},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ukh", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': o->dgram = 1; break;
        case 'k': o->keep = 1; break;
        case OPT_UNIX: o->unix_path = optarg; break;
        case 'h':
            fputs(usage, stdout);
            return -1; /* done, successfully */
        default:
            return cli_option_error("listen", c, argv, longopts);
        }
    }
    return check_args(o, argc - optind, argv + optind);
}

static int open_server(const listen_opts *o, sockit_sock **s)
{
    sockit_server_opts so = {.type = o->dgram ? SOCK_DGRAM : SOCK_STREAM};
    if (o->unix_path) {
        so.family = AF_UNIX; /* also for a relative path, which does not start with '/' */
        return sockit_create_server(s, o->unix_path, NULL, &so);
    }
    return sockit_create_server(s, o->host, o->port, &so);
}

static int announce(const sockit_sock *s)
{
    sockit_addr a;
    char text[SOCKIT_ADDRSTRLEN];
    cli_errmsg_mark(); /* binding may have failed on one address before it worked on another */
    int rc = sockit_getsockname(s, &a);
    if (rc < 0)
        return cli_fail(rc, "getsockname");
    fprintf(stderr, "listening on %s\n", sockit_addr_format(&a, text, sizeof text));
    fflush(stderr);
    return 0;
}

/* Waits for a peer to accept. 0 with *conn set, 0 with *conn NULL when stopped (or when the
 * peer went away before we took it), or the exit status of a failure. */
static int accept_one(sockit_sock *ls, sockit_sock **conn)
{
    *conn = NULL;
    struct pollfd p[2] = {
        {.fd = cli_stop_fd(), .events = POLLIN},
        {.fd = sockit_fileno(ls), .events = POLLIN},
    };
    if (poll(p, 2, -1) < 0)
        return errno == EINTR ? 0 : cli_error(CLI_NET, "poll: %s", strerror(errno));
    if (p[0].revents || !p[1].revents)
        return 0;
    cli_errmsg_mark(); /* an earlier peer's failure is not this one's */
    int rc = sockit_accept(ls, conn, NULL);
    /* The listener is non-blocking: a peer that reset before we took it is simply gone. */
    if (rc == -EAGAIN || rc == -ECONNABORTED || rc == -EPROTO) {
        *conn = NULL;
        return 0;
    }
    return rc < 0 ? cli_fail(rc, "accept") : 0;
}

static int serve_stream(sockit_sock *ls, int keep)
{
    int rc = sockit_settimeout(ls, 0);
    if (rc < 0)
        return cli_fail(rc, "settimeout");
    int stdin_eof = 0; /* kept across peers: input that ended stays ended */
    while (!cli_stopped()) {
        sockit_sock *conn;
        if ((rc = accept_one(ls, &conn)) != 0)
            return rc;
        if (!conn)
            continue;
        rc = cli_relay_stream(conn, -1, &stdin_eof);
        sockit_close(conn);
        /* -k: a peer's failure (already reported) does not end the server. */
        if (!keep)
            return rc;
    }
    return CLI_OK;
}

int cli_listen_main(int argc, char **argv)
{
    listen_opts o = {0};
    int rc = parse_opts(&o, argc, argv);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;

    sockit_sock *ls = NULL;
    if ((rc = open_server(&o, &ls)) < 0)
        return cli_fail(rc, "listen");
    /* Before the announcement: whoever read it may signal us at once. */
    if ((rc = cli_stop_on_signals()) < 0)
        rc = cli_error(CLI_NET, "signals: %s", strerror(-rc));
    else if ((rc = announce(ls)) == 0)
        rc = o.dgram ? cli_relay_dgram(ls, -1, 1) : serve_stream(ls, o.keep);
    sockit_close(ls);
    if (o.unix_path && o.unix_path[0] != '@')
        unlink(o.unix_path); /* we made it; leave no stale socket file behind */
    return rc;
}
