/* The tutorial's server: forever accept a connection, thank the peer and hang up.
 * Usage: simple_server [PORT]   (default 12345; 0 takes a free port, named on stderr) */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sockit/sockit.h>

static void stop(int sig) { _exit(0); } /* SIGINT/SIGTERM end the server cleanly */

int main(int argc, char **argv)
{
    static const char msg[] = "Thank you for connecting";
    char text[SOCKIT_ADDRSTRLEN];
    sockit_sock *srv, *conn;
    sockit_addr addr;

    signal(SIGINT, stop);
    signal(SIGTERM, stop);
    /* NULL host: the wildcard, IPv6 and IPv4 alike (Python's ('', port)). */
    if (sockit_create_server(&srv, NULL, argc > 1 ? argv[1] : "12345", NULL) < 0 ||
        sockit_getsockname(srv, &addr) < 0) {
        fprintf(stderr, "simple_server: %s\n", sockit_errmsg());
        return 2;
    }
    fprintf(stderr, "listening on %s\n", sockit_addr_format(&addr, text, sizeof text));
    for (;;) {
        if (sockit_accept(srv, &conn, &addr) < 0) { /* e.g. a peer that gave up: carry on */
            fprintf(stderr, "simple_server: %s\n", sockit_errmsg());
            continue;
        }
        printf("Got connection from %s\n", sockit_addr_format(&addr, text, sizeof text));
        fflush(stdout);
        if (sockit_sendall(conn, msg, sizeof msg - 1, 0) < 0)
            fprintf(stderr, "simple_server: %s\n", sockit_errmsg());
        sockit_close(conn);
    }
}
