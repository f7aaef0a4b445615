/* UDP client: send MESSAGE as one datagram, print the reply (waiting at most 3 s).
 * Usage: udp_client HOST PORT MESSAGE */
#include <stdio.h>
#include <string.h>
#include <sockit/sockit.h>

int main(int argc, char **argv)
{
    char buf[65536];
    sockit_addr server;
    sockit_sock *s = NULL;
    ssize_t n = -1;

    if (argc != 4) {
        fprintf(stderr, "usage: udp_client HOST PORT MESSAGE\n");
        return 1;
    }
    /* Resolve first: the address says which family the socket must be. */
    if (sockit_addr_resolve(&server, 0, SOCK_DGRAM, argv[1], argv[2], 0) < 0 ||
        sockit_socket(&s, server.sa.ss_family, SOCK_DGRAM, 0) < 0 ||
        sockit_settimeout(s, 3.0) < 0 ||
        sockit_sendto_addr(s, argv[3], strlen(argv[3]), 0, &server) < 0 ||
        (n = sockit_recvfrom(s, buf, sizeof buf, 0, NULL)) < 0) {
        fprintf(stderr, "udp_client: %s\n", sockit_errmsg());
        sockit_close(s);
        return 2;
    }
    printf("%.*s\n", (int)n, buf);
    sockit_close(s);
    return 0;
}
