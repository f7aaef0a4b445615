/*
 * sockit_hello: the dynamic "hello" route on sockit's HTTP server, the twin of mhd_hello.c and
 * go_hello.go in bench/http_bench.sh (examples/http_hello is the documented example; it logs
 * every request, which the peers do not, so the benchmark uses this one).
 *   - GET (and HEAD, which the server derives) /hello answers 200 "hello world\n" (text/plain,
 *     12 bytes) from a static buffer lent to the server (no copy), anything else 404;
 *   - no access log; the library's default limits and timeouts (all on).
 *
 * Usage: sockit_hello PORT [WORKERS]   (PORT 0 picks a free port; WORKERS defaults to 1)
 * Binds 127.0.0.1. Prints "listening on 127.0.0.1:PORT" on stderr once bound; exits 0 on
 * SIGTERM or SIGINT.
 */
#include <sockit/http_server.h>

#include <stdio.h>
#include <stdlib.h>

static const char HELLO[] = "hello world\n";

static int hello(sockit_http_req *r, void *arg)
{
    (void)arg;
    return sockit_http_respond(r, 200, "text/plain", HELLO, sizeof HELLO - 1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sockit_hello PORT [WORKERS]\n");
        return 1;
    }
    sockit_http_config cfg = {.host = "127.0.0.1", .port = argv[1],
                              .workers = argc > 2 ? atoi(argv[2]) : 1};
    sockit_http_server *hs;
    if (sockit_http_server_new(&hs, &cfg) < 0 || sockit_http_route(hs, "GET", "/hello", hello, NULL) < 0) {
        fprintf(stderr, "sockit_hello: %s\n", sockit_errmsg());
        return 1;
    }
    sockit_addr a;
    char buf[SOCKIT_ADDRSTRLEN];
    sockit_http_server_addr(hs, &a);
    fprintf(stderr, "listening on %s\n", sockit_addr_format(&a, buf, sizeof buf));
    int rc = sockit_http_server_run(hs);
    sockit_http_server_free(hs);
    return rc < 0;
}
