/* The tutorial's client: connect, print what the server sends until it hangs up.
 * Usage: simple_client HOST PORT */
#include <stdio.h>
#include <sockit/sockit.h>

int main(int argc, char **argv)
{
    char buf[1024];
    sockit_sock *s;
    ssize_t n;
    int newline = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: simple_client HOST PORT\n");
        return 1;
    }
    /* Every address HOST resolves to is tried; 10 s bound the connect and then each recv. */
    if (sockit_create_connection(&s, argv[1], argv[2], 10.0) < 0) {
        fprintf(stderr, "simple_client: %s\n", sockit_errmsg());
        return 2;
    }
    while ((n = sockit_recv(s, buf, sizeof buf, 0)) > 0) {
        fwrite(buf, 1, (size_t)n, stdout);
        newline = buf[n - 1] == '\n';
    }
    if (!newline) /* end the line, as Python's print() would */
        putchar('\n');
    if (n < 0)
        fprintf(stderr, "simple_client: %s\n", sockit_errmsg());
    sockit_close(s);
    return n < 0 ? 2 : 0;
}
