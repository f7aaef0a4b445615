/*
 * libcurl_get: the in-process libcurl peer of bench/client_bench.sh (Debian's
 * libcurl4-openssl-dev). GETs one URL COUNT times with ONE easy handle, so libcurl keeps the
 * connection alive between the requests: this is how a C program that cares uses libcurl, and the
 * yardstick for sockit's session API (bench/peers/sockit_get.c runs the same loop on sockit).
 *   - CURLOPT_BUFFERSIZE 100 KiB, as the curl command sets it (libcurl's default is 16 KiB);
 *   - the body goes to a write callback: write(2) to FILE when -o is given, otherwise the bytes
 *     are only counted (the small-request loop measures the library, not a sink);
 *   - every response must be 200 with the expected bytes, or the run fails.
 *
 * Usage: libcurl_get [-n COUNT] [-o FILE] [-e BYTES] URL
 *   -n COUNT  requests (default 1); -o FILE  write every body to FILE (truncated first);
 *   -e BYTES  the body size each response must have (checked when given).
 * Prints "requests=N bytes=B" on stderr. Exit 0 when every request succeeded, 1 otherwise.
 */
#include <curl/curl.h>

#include "get_args.h"

struct sink {
    int fd;              /* -1: count only */
    unsigned long long n; /* bytes of the current response */
    int failed;          /* errno of a failed write */
};

/* libcurl's write callback: all of it written (or counted), or a short count to abort. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t len = size * nmemb, off = 0;
    while (s->fd >= 0 && off < len) {
        ssize_t w = write(s->fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            s->failed = errno;
            return 0;
        }
        off += (size_t)w;
    }
    s->n += len;
    return len;
}

int main(int argc, char **argv)
{
    struct get_args a;
    int rc = get_args_parse(&a, argc, argv, "libcurl_get");
    if (rc) return rc;
    struct sink sink = {.fd = a.fd};
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    CURL *h = curl_easy_init();
    if (!h) return 1;
    curl_easy_setopt(h, CURLOPT_URL, a.url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 102400L);

    unsigned long long total = 0;
    long i, status = 0;
    for (i = 0; i < a.count; i++) {
        sink.n = 0;
        CURLcode res = curl_easy_perform(h);
        if (res != CURLE_OK) {
            fprintf(stderr, "libcurl_get: request %ld: %s\n", i + 1, curl_easy_strerror(res));
            rc = 1;
            break;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200 || (a.expect >= 0 && sink.n != (unsigned long long)a.expect)) {
            fprintf(stderr, "libcurl_get: request %ld: status %ld, %llu bytes\n", i + 1, status, sink.n);
            rc = 1;
            break;
        }
        total += sink.n;
    }
    fprintf(stderr, "requests=%ld bytes=%llu\n", i, total);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    if (sink.fd >= 0 && close(sink.fd) < 0) rc = 1;
    return rc;
}
