/* Unix-domain stream client: send MESSAGE, close the sending side, print all that comes back.
 * Usage: unix_client PATH MESSAGE */
#include <stdio.h>
#include <string.h>
#include <sockit/sockit.h>

int main(int argc, char **argv)
{
    char buf[4096];
    sockit_sock *s = NULL;
    ssize_t n = -1;

    if (argc != 3) {
        fprintf(stderr, "usage: unix_client PATH MESSAGE\n");
        return 1;
    }
    if (sockit_socket(&s, AF_UNIX, SOCK_STREAM, 0) == 0 && sockit_settimeout(s, 10.0) == 0 &&
        sockit_connect(s, argv[1], NULL) == 0 &&
        sockit_sendall(s, argv[2], strlen(argv[2]), 0) == 0 &&
        sockit_shutdown(s, SHUT_WR) == 0) /* tells the server we are done */
        while ((n = sockit_recv(s, buf, sizeof buf, 0)) > 0)
            fwrite(buf, 1, (size_t)n, stdout);
    if (n < 0)
        fprintf(stderr, "unix_client: %s\n", sockit_errmsg());
    sockit_close(s);
    return n < 0 ? 2 : 0;
}
