/*
 * Fuzz target for the request side of the HTTP parser: sockit_http_parse_request,
 * sockit_http_request_framing, sockit_http_header_find and sockit_http_value_has.
 *
 * Input: the bytes a server has received so far (a request head, maybe followed by a body or
 * the next request). They are copied to a buffer of exactly their size and parsed with an array
 * of exactly 64 headers (both malloc'd, so ASan sees a read past the input or a write past the
 * array).
 *
 * What aborts (a bug for the fuzzer to report):
 *   - a result other than > 0, SOCKIT_EINCOMPLETE, SOCKIT_EPROTO, SOCKIT_ETOOLONG; an error
 *     without a message of its own;
 *   - on success: a length over the input, a head not ending in LF or holding a bare CR, a
 *     string outside the head, a method that is not a token, a target that is empty or holds a
 *     space or control character, a version other than 10/11, more headers than the capacity, a
 *     name that is not a token, a value with a control character or untrimmed;
 *   - the answer changing with the amount of input: a prefix shorter than the head that is not
 *     SOCKIT_EINCOMPLETE, a longer one with another length, a prefix that succeeds or fails when
 *     the whole input does not, a prefix error that the whole input does not give;
 *   - capacity: parsing again with exactly the count found giving another answer, or with one
 *     less not giving SOCKIT_ETOOLONG;
 *   - framing that disagrees with an independent reading of Content-Length and
 *     Transfer-Encoding (fuzz_http.h): an invalid or conflicting Content-Length accepted,
 *     Transfer-Encoding with Content-Length accepted, a Transfer-Encoding not ending in chunked
 *     accepted, a wrong length, a valid plain request refused;
 *   - sockit_http_head_end disagreeing with the parser on where the head ends, all at once or
 *     fed a byte at a time (with *scanned carried along);
 *   - sockit_http_header_find not returning the first header of that name, sockit_http_value_has
 *     disagreeing with a reference split of the value.
 */
#include "fuzz_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 65536

static ssize_t parse(const char *buf, size_t len, sockit_http_header *h, size_t cap,
                     sockit_http_request *req)
{
    memset(req, 0, sizeof *req);
    req->headers = h;
    req->nheaders = cap;
    req->version = -1;
    return sockit_http_parse_request(buf, len, req);
}

static ssize_t parse_result(const char *buf, size_t len, sockit_http_header *h, size_t cap)
{
    sockit_http_request q;
    return parse(buf, len, h, cap, &q);
}

static void check_success(const uint8_t *data, size_t size, const char *buf, ssize_t r,
                          const sockit_http_request *req)
{
    size_t n = req->nheaders;
    if ((size_t)r > size)
        fail("a head longer than the input", data, size);
    if (n > FUZZ_NHEADERS)
        fail("more headers than the capacity", data, size);
    if (req->version != 10 && req->version != 11)
        fail("a version other than 10 or 11", data, size);
    if (!inside(req->method, buf, (size_t)r) || !is_token(req->method))
        fail("a method that is not a token inside the head", data, size);
    if (!inside(req->target, buf, (size_t)r) || req->target.n == 0)
        fail("an empty target or one outside the head", data, size);
    for (size_t i = 0; i < req->target.n; i++) {
        unsigned char c = (unsigned char)req->target.p[i];
        if (c <= 0x20 || c == 0x7f)
            fail("a space or control character in the target", data, size);
    }
    const char *why = check_head(buf, (size_t)r, req->headers, n);
    if (why)
        fail(why, data, size);
}


/* Parsing again with exactly n headers of room gives the same; with n - 1, SOCKIT_ETOOLONG. */
static void check_capacity(const uint8_t *data, size_t size, const char *buf, ssize_t r,
                           const sockit_http_request *req)
{
    size_t n = req->nheaders;
    sockit_http_header *h = malloc(n ? n * sizeof *h : 1);
    if (!h)
        abort();
    sockit_http_request q;
    if (parse(buf, size, h, n, &q) != r || q.nheaders != n || q.version != req->version ||
        q.method.p != req->method.p || q.method.n != req->method.n ||
        q.target.p != req->target.p || q.target.n != req->target.n)
        fail("parsing again with exactly the headers' room differs", data, size);
    for (size_t i = 0; i < n; i++)
        if (h[i].name.p != req->headers[i].name.p || h[i].value.n != req->headers[i].value.n)
            fail("parsing again gives other headers", data, size);
    if (n > 0 && parse(buf, size, h, n - 1, &q) != SOCKIT_ETOOLONG)
        fail("one header too many is not SOCKIT_ETOOLONG", data, size);
    free(h);
}

static void check_framing(const uint8_t *data, size_t size, const sockit_http_request *req)
{
    struct ref_framing ref;
    ref_framing(req->headers, req->nheaders, &ref);
    uint64_t len = 0x5a5a5a5a;
    arm_errmsg();
    int f = sockit_http_request_framing(req, &len);
    if (f != SOCKIT_HTTP_NO_BODY && f != SOCKIT_HTTP_LENGTH && f != SOCKIT_HTTP_CHUNKED &&
        f != SOCKIT_EPROTO && f != -ENOTSUP)
        fail("request framing gave an unknown answer", data, size);
    if ((f == SOCKIT_EPROTO || f == -ENOTSUP) && !own_message())
        fail("request framing failed without a message", data, size);
    /* -ENOTSUP (501): a well-formed chunked coding with other codings before it, nothing else. */
    if (f == -ENOTSUP && !(ref.te && ref.te_last_chunked && ref.te_chunked_count == 1 &&
                           ref.te_codings > 1 && ref.cl == CL_NONE && req->version == 11))
        fail("a transfer coding refused as not implemented, but it is not one", data, size);
    if (ref.te && ref.te_codings > 1 && f != SOCKIT_EPROTO && f != -ENOTSUP)
        fail("a request coded with more than chunked accepted", data, size);
    if (ref.cl == CL_INVALID && f != SOCKIT_EPROTO)
        fail("an invalid or conflicting Content-Length accepted", data, size);
    if (ref.te && ref.cl != CL_NONE && f != SOCKIT_EPROTO)
        fail("Transfer-Encoding and Content-Length accepted together in a request", data, size);
    if (ref.te && !ref.te_last_chunked && f != SOCKIT_EPROTO)
        fail("a request Transfer-Encoding not ending in chunked accepted", data, size);
    if (f == SOCKIT_HTTP_CHUNKED && !ref.te)
        fail("chunked framing without Transfer-Encoding", data, size);
    if (f == SOCKIT_HTTP_LENGTH) {
        uint64_t v;
        if (ref.te || (ref.cl != CL_VALID && ref.cl != CL_HUGE))
            fail("a length without a valid Content-Length", data, size);
        if (ref.cl == CL_VALID && len != ref.length)
            fail("a wrong Content-Length value", data, size);
        if (ref.cl == CL_HUGE && (!huge_fits(req->headers, req->nheaders, &v) || v != len))
            fail("a wrong huge Content-Length value", data, size);
    }
    if (f == SOCKIT_HTTP_NO_BODY &&
        (ref.te || (ref.cl != CL_NONE && !(ref.cl == CL_VALID && ref.length == 0))))
        fail("no body although Content-Length or Transfer-Encoding says otherwise", data, size);
    /* And the other way: what is plainly valid is not refused. */
    if (!ref.te && ref.cl == CL_NONE && f != SOCKIT_HTTP_NO_BODY)
        fail("a request without framing headers is not NO_BODY", data, size);
    if (!ref.te && ref.cl == CL_VALID && f != SOCKIT_HTTP_LENGTH &&
        !(f == SOCKIT_HTTP_NO_BODY && ref.length == 0))
        fail("a valid Content-Length refused", data, size);
    if (ref.te && ref.te_last_chunked && ref.te_chunked_count == 1 && ref.te_codings == 1 &&
        ref.cl == CL_NONE && req->version == 11 && f != SOCKIT_HTTP_CHUNKED)
        fail("a valid chunked request refused", data, size);
}

static void check_helpers(const uint8_t *data, size_t size, const sockit_http_request *req)
{
    static const char *const tokens[] = {"chunked", "close", "keep-alive", "upgrade", "gzip"};
    const sockit_http_header *h = req->headers;
    for (size_t i = 0; i < req->nheaders; i++) {
        char name[1100];
        if (h[i].name.n >= sizeof name)
            continue;
        memcpy(name, h[i].name.p, h[i].name.n);
        name[h[i].name.n] = 0;
        size_t first = 0;
        while (!name_is(h[first].name, name))
            first++;
        if (sockit_http_header_find(h, req->nheaders, name) != &h[first])
            fail("header_find did not return the first header of its name", data, size);
        for (size_t t = 0; t < sizeof tokens / sizeof tokens[0]; t++)
            if (sockit_http_value_has(h[i].value, tokens[t]) != ref_value_has(h[i].value, tokens[t]))
                fail("value_has disagrees with the reference split", data, size);
    }
    if (sockit_http_header_find(h, req->nheaders, "(none)")) /* '(' is not a tchar */
        fail("header_find found a name that cannot be there", data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    char *buf = malloc(size ? size : 1);
    sockit_http_header *h = malloc(FUZZ_NHEADERS * sizeof *h);
    if (!buf || !h)
        abort();
    memcpy(buf, data, size);
    sockit_http_request req;
    arm_errmsg();
    ssize_t r = parse(buf, size, h, FUZZ_NHEADERS, &req);
    if (!known(r))
        fail("an unknown result", data, size);
    if (is_error(r) && !own_message())
        fail("an error without a message of its own", data, size);
    if (r > 0) {
        check_success(data, size, buf, r, &req);
        check_capacity(data, size, buf, r, &req);
        check_framing(data, size, &req);
        check_helpers(data, size, &req);
    }
    check_prefixes(data, size, r, parse_result);
    if (size == 0 || (buf[0] != '\r' && buf[0] != '\n')) { /* head_end wants no empty lines */
        const char *why = check_head_end(buf, size, r);
        if (why)
            fail(why, data, size);
    }
    free(h);
    free(buf);
    return 0;
}
