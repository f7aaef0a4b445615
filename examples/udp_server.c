/* UDP echo server: every datagram goes back to whoever sent it.
 * Usage: udp_server [PORT]   (default 12345; 0 takes a free port, named on stderr) */
#include <stdio.h>
#include <sockit/sockit.h>

int main(int argc, char **argv)
{
    static char buf[65536]; /* the largest datagram */
    sockit_server_opts opts = {.type = SOCK_DGRAM};
    char text[SOCKIT_ADDRSTRLEN];
    sockit_addr addr;
    sockit_sock *s;
    ssize_t n;

    if (argc > 2) {
        fprintf(stderr, "usage: udp_server [PORT]\n");
        return 1;
    }
    if (sockit_create_server(&s, NULL, argc > 1 ? argv[1] : "12345", &opts) < 0 ||
        sockit_getsockname(s, &addr) < 0) {
        fprintf(stderr, "udp_server: %s\n", sockit_errmsg());
        return 2;
    }
    fprintf(stderr, "listening on %s\n", sockit_addr_format(&addr, text, sizeof text));
    for (;;) {
        if ((n = sockit_recvfrom(s, buf, sizeof buf, 0, &addr)) < 0 ||
            sockit_sendto_addr(s, buf, (size_t)n, 0, &addr) < 0) {
            fprintf(stderr, "udp_server: %s\n", sockit_errmsg());
            continue;
        }
        printf("echoed %zd bytes to %s\n", n, sockit_addr_format(&addr, text, sizeof text));
        fflush(stdout);
    }
}
