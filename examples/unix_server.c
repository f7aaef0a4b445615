/* Unix-domain stream echo server: each client gets back all it sent, then the server hangs up.
 * Usage: unix_server PATH   ("/tmp/echo.sock", or "@name" in Linux's abstract namespace) */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sockit/sockit.h>

static const char *path; /* for the signal handler */
static void stop(int sig) /* SIGINT/SIGTERM: remove the socket file and exit cleanly */
{
    if (path[0] == '/')
        unlink(path);
    _exit(0);
}

int main(int argc, char **argv)
{
    sockit_sock *srv, *conn;
    char buf[4096];
    ssize_t n;

    if (argc != 2)
        return fprintf(stderr, "usage: unix_server PATH\n"), 1;
    path = argv[1];
    signal(SIGINT, stop);
    signal(SIGTERM, stop);
    if (sockit_create_server(&srv, path, NULL, NULL) == 0) { /* '/' or '@' means AF_UNIX */
        fprintf(stderr, "listening on %s\n", path);
        while (sockit_accept(srv, &conn, NULL) == 0) {
            sockit_settimeout(conn, 10.0); /* a silent client cannot hold the server forever */
            while ((n = sockit_recv(conn, buf, sizeof buf, 0)) > 0 &&
                   sockit_sendall(conn, buf, (size_t)n, 0) == 0)
                ;
            sockit_close(conn);
        }
    }
    fprintf(stderr, "unix_server: %s\n", sockit_errmsg());
    return 2;
}
