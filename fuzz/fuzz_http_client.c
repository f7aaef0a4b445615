/*
 * Fuzz target for the HTTP client's receiving side as the client drives it: response heads (1xx
 * skipped), framing (Content-Length, chunked in pieces as the socket gives them, read to the
 * close), Transfer-Encoding and Content-Encoding decoding (gzip, deflate) and the memory sink,
 * over a fake peer: a socketpair whose other end holds the input and is then shut down.
 *
 * Input: the first byte picks the request method (GET, HEAD, POST, CONNECT by its low two bits);
 * the rest is what the server sends (at most 64 KiB).
 *
 * What aborts (a bug for the fuzzer to report):
 *   - a result other than 0, SOCKIT_EPROTO or SOCKIT_ETOOLONG (the peer always ends the stream,
 *     so nothing may time out), or a failure without a message;
 *   - success with an incomplete body, a final status outside 200..999, a body longer than the
 *     memory sink's 1 MiB bound, body_len different from body_bytes, or a body not
 *     NUL-terminated;
 *   - a HEAD response with a body;
 *   - a failure that says the body is complete.
 */
#include "internal/http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_http_client: %s (sockit_errmsg: %s)\n", what, sockit_errmsg());
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "CONNECT"};
    if (size < 1) return 0;
    const char *method = methods[data[0] & 3];
    data++, size--;
    if (size > 65536) size = 65536;
    sockit_sock *a, *b;
    if (sockit_socketpair(&a, &b, AF_UNIX, SOCK_STREAM) < 0) return 0;
    int big = 1 << 20;
    setsockopt(sockit_fileno(a), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    size_t off = 0;
    while (off < size) {
        ssize_t n = send(sockit_fileno(a), data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0) break; /* what fits is the input */
        off += (size_t)n;
    }
    shutdown(sockit_fileno(a), SHUT_WR);
    sockit_http_resp resp = {0};
    int r = sockit__http_client_read_response(b, method, &resp);
    const char *msg = sockit_errmsg();
    if (r != 0 && r != SOCKIT_EPROTO && r != SOCKIT_ETOOLONG) fail("an unexpected result");
    if (r < 0 && (!msg || !*msg)) fail("a failure without a message");
    if (r < 0 && resp.complete) fail("a failure that says the body is complete");
    if (r == 0) {
        if (!resp.complete) fail("success with an incomplete body");
        if (resp.status < 200 || resp.status > 999) fail("a final status outside 200..999");
        if (!strcmp(method, "HEAD") && resp.body_len) fail("a body for HEAD");
    }
    if (resp.body_len > (1u << 20)) fail("a body over the memory sink's bound");
    if (resp.body_len != resp.body_bytes) fail("body_len differs from body_bytes");
    if (resp.body && resp.body[resp.body_len] != 0) fail("a body not NUL-terminated");
    sockit_http_resp_free(&resp);
    sockit_close(a);
    sockit_close(b);
    return 0;
}
