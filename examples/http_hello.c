/* http_hello — an HTTP/1.1 server with two dynamic routes (docs/http-server.md).
 *   ./http_hello [PORT]      then: curl 'http://127.0.0.1:8080/hello?name=you'
 *                                  curl http://127.0.0.1:8080/items/42
 * Ctrl-C stops it gracefully. */
#include <sockit/http_server.h>
#include <signal.h>
#include <stdio.h>

static int hello(sockit_http_req *r, void *arg)
{
    (void)arg;
    char name[64], body[128];
    if (sockit_http_query_get(r, "name", name, sizeof name) < 0) snprintf(name, sizeof name, "world");
    int n = snprintf(body, sizeof body, "hello, %s\n", name);
    return sockit_http_respond(r, 200, "text/plain; charset=utf-8", body, (size_t)n);
}

static int item(sockit_http_req *r, void *arg) /* GET /items/<id>: the rest of the path */
{
    (void)arg;
    char body[128];
    int n = snprintf(body, sizeof body, "item %.100s\n", sockit_http_match(r));
    return sockit_http_respond(r, 200, "text/plain; charset=utf-8", body, (size_t)n);
}

static void log_line(void *user, const sockit_http_log_entry *e)
{
    (void)user;
    char line[512];
    sockit_http_log_format(e, line, sizeof line); /* Common Log Format */
    fprintf(stderr, "%s\n", line);
}

int main(int argc, char **argv)
{
    sockit_http_config cfg = {.host = "127.0.0.1", .port = argc > 1 ? argv[1] : "8080", .access_log = log_line};
    sockit_http_server *hs;
    if (sockit_http_server_new(&hs, &cfg) < 0) {
        fprintf(stderr, "http_hello: %s\n", sockit_errmsg());
        return 2;
    }
    sockit_http_route(hs, "GET", "/hello", hello, NULL);
    sockit_http_route(hs, "GET", "/items/*", item, NULL);
    sigset_t stop; /* a SIGINT from now on waits for sockit_http_server_run, which handles it */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    sockit_addr a;
    char buf[SOCKIT_ADDRSTRLEN];
    sockit_http_server_addr(hs, &a);
    fprintf(stderr, "listening on %s\n", sockit_addr_format(&a, buf, sizeof buf));
    int rc = sockit_http_server_run(hs); /* until SIGINT or SIGTERM */
    sockit_http_server_free(hs);
    return rc < 0;
}
