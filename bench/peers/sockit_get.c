/*
 * sockit_get: the loop of bench/peers/libcurl_get.c on sockit's HTTP client session
 * (include/sockit/http_client.h), for bench/client_bench.sh. GETs one URL COUNT times with ONE
 * sockit_http_client and ONE sockit_http_resp reused between the calls, so the session keeps the
 * connection alive and the response's buffers are reused:
 *   - the client's defaults (no redirects, no decoding, an 8-connection idle pool);
 *   - the body goes to FILE (SOCKIT_HTTP_SINK_FD) when -o is given, otherwise it is read and
 *     counted only (SOCKIT_HTTP_SINK_DISCARD), as libcurl_get counts in its write callback;
 *   - every response must be 200, complete, with the expected bytes, or the run fails.
 *
 * Usage: sockit_get [-n COUNT] [-o FILE] [-e BYTES] URL
 *   -n COUNT  requests (default 1); -o FILE  write every body to FILE (truncated first);
 *   -e BYTES  the body size each response must have (checked when given).
 * Prints "requests=N bytes=B reused=R" on stderr (R: requests that went over a pooled
 * connection: COUNT - 1 when keep-alive worked). Exit 0 when every request succeeded, else 1.
 */
#include <sockit/http_client.h>

#include "get_args.h"

int main(int argc, char **argv)
{
    struct get_args a;
    int rc = get_args_parse(&a, argc, argv, "sockit_get");
    if (rc) return rc;
    sockit_http_client *c = NULL;
    rc = sockit_http_client_new(&c, NULL);
    if (rc < 0) {
        fprintf(stderr, "sockit_get: client: %s\n", sockit_errmsg());
        return 1;
    }
    sockit_http_client_req req = {
        .url = a.url,
        .sink_kind = a.fd >= 0 ? SOCKIT_HTTP_SINK_FD : SOCKIT_HTTP_SINK_DISCARD,
        .sink_fd = a.fd,
    };
    sockit_http_resp resp = {0};
    unsigned long long total = 0;
    long i, reused = 0;
    for (i = 0; i < a.count; i++) {
        rc = sockit_http_client_do(c, &req, &resp);
        if (rc < 0) {
            fprintf(stderr, "sockit_get: request %ld: %s\n", i + 1, sockit_errmsg());
            break;
        }
        if (resp.status != 200 || !resp.complete ||
            (a.expect >= 0 && resp.body_bytes != (unsigned long long)a.expect)) {
            fprintf(stderr, "sockit_get: request %ld: status %d, %llu bytes, complete %d\n", i + 1,
                    resp.status, (unsigned long long)resp.body_bytes, resp.complete);
            rc = -1;
            break;
        }
        total += resp.body_bytes;
        reused += resp.reused;
    }
    fprintf(stderr, "requests=%ld bytes=%llu reused=%ld\n", i, total, reused);
    sockit_http_resp_free(&resp);
    sockit_http_client_free(c);
    if (a.fd >= 0 && close(a.fd) < 0) rc = -1;
    return rc < 0 ? 1 : 0;
}
