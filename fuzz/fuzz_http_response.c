/*
 * Fuzz target for the response side of the HTTP parser: sockit_http_parse_response and
 * sockit_http_response_framing (to GET, HEAD, CONNECT and POST).
 *
 * Input: the bytes a client has received so far (a status line and headers, maybe a body or a
 * second response). Copied to a buffer of exactly their size, parsed with exactly 64 headers of
 * room (both malloc'd, so ASan sees a read past the input or a write past the array).
 *
 * What aborts (a bug for the fuzzer to report):
 *   - a result other than > 0, SOCKIT_EINCOMPLETE, SOCKIT_EPROTO, SOCKIT_ETOOLONG; an error
 *     without a message of its own;
 *   - on success: a length over the input, a head not ending in LF or holding a bare CR, a
 *     string outside the head, a version other than 10/11, a status outside 100..999 or other
 *     than the three digits after "HTTP/1.x ", a reason with a control character, more headers
 *     than the capacity, a name that is not a token, a value with a control character or
 *     untrimmed;
 *   - the answer changing with the amount of input (as in fuzz_http_request.c);
 *   - sockit_http_head_end disagreeing with the parser on where the head ends (at once or fed a
 *     byte at a time);
 *   - capacity: exactly the count found parses the same, one less is SOCKIT_ETOOLONG;
 *   - framing that disagrees with RFC 9112 section 6.3 read independently (fuzz_http.h): a body
 *     for HEAD, 1xx, 204, 304 or a 2xx to CONNECT; an invalid or conflicting Content-Length
 *     accepted; a wrong length; chunked when Transfer-Encoding does not end in chunked; not
 *     until-close when there is no framing header.
 */
#include "fuzz_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 65536

static ssize_t parse(const char *buf, size_t len, sockit_http_header *h, size_t cap,
                     sockit_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->headers = h;
    resp->nheaders = cap;
    resp->version = resp->status = -1;
    return sockit_http_parse_response(buf, len, resp);
}

static ssize_t parse_result(const char *buf, size_t len, sockit_http_header *h, size_t cap)
{
    sockit_http_response q;
    return parse(buf, len, h, cap, &q);
}

static void check_success(const uint8_t *data, size_t size, const char *buf, ssize_t r,
                          const sockit_http_response *resp)
{
    if ((size_t)r > size)
        fail("a head longer than the input", data, size);
    if (r < 14) /* "HTTP/1.1 200\n\n" is the shortest */
        fail("a head too short to hold a status line", data, size);
    if (resp->nheaders > FUZZ_NHEADERS)
        fail("more headers than the capacity", data, size);
    if (resp->version != 10 && resp->version != 11)
        fail("a version other than 10 or 11", data, size);
    if (memcmp(buf, resp->version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ", 9) != 0)
        fail("a status line that does not start with the version and SP", data, size);
    if (resp->status < 100 || resp->status > 999)
        fail("a status outside 100..999", data, size);
    int digits = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (digits != resp->status)
        fail("a status that is not the three digits after the version", data, size);
    if (!inside(resp->reason, buf, (size_t)r) || !no_ctl(resp->reason))
        fail("a reason outside the head or with a control character", data, size);
    if (resp->reason.n && resp->reason.p != buf + 13)
        fail("a reason that does not start after the status and SP", data, size);
    const char *why = check_head(buf, (size_t)r, resp->headers, resp->nheaders);
    if (why)
        fail(why, data, size);
}


static void check_capacity(const uint8_t *data, size_t size, const char *buf, ssize_t r,
                           const sockit_http_response *resp)
{
    size_t n = resp->nheaders;
    sockit_http_header *h = malloc(n ? n * sizeof *h : 1);
    if (!h)
        abort();
    sockit_http_response q;
    if (parse(buf, size, h, n, &q) != r || q.nheaders != n || q.status != resp->status ||
        q.version != resp->version || q.reason.p != resp->reason.p || q.reason.n != resp->reason.n)
        fail("parsing again with exactly the headers' room differs", data, size);
    if (n > 0 && parse(buf, size, h, n - 1, &q) != SOCKIT_ETOOLONG)
        fail("one header too many is not SOCKIT_ETOOLONG", data, size);
    free(h);
}

static void check_framing(const uint8_t *data, size_t size, const sockit_http_response *resp)
{
    static const char *const methods[] = {"GET", "HEAD", "CONNECT", "POST"};
    struct ref_framing ref;
    ref_framing(resp->headers, resp->nheaders, &ref);
    int s = resp->status;
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        const char *method = methods[m];
        uint64_t len = 0x5a5a5a5a, v;
        arm_errmsg();
        int f = sockit_http_response_framing(resp, method, &len);
        if (f != SOCKIT_HTTP_NO_BODY && f != SOCKIT_HTTP_LENGTH && f != SOCKIT_HTTP_CHUNKED &&
            f != SOCKIT_HTTP_UNTIL_CLOSE && f != SOCKIT_EPROTO)
            fail("response framing gave an unknown answer", data, size);
        if (f == SOCKIT_EPROTO && !own_message())
            fail("response framing failed without a message", data, size);
        int conflict = ref.cl == CL_INVALID || (ref.te && ref.cl != CL_NONE);
        int nobody = !strcmp(method, "HEAD") || (s >= 100 && s < 200) || s == 204 || s == 304 ||
                     (!strcmp(method, "CONNECT") && s >= 200 && s < 300);
        if (nobody) {
            if (f != SOCKIT_HTTP_NO_BODY && !(f == SOCKIT_EPROTO && conflict))
                fail("a body for HEAD, 1xx, 204, 304 or a 2xx to CONNECT", data, size);
            continue;
        }
        if (ref.cl == CL_INVALID) {
            if (f != SOCKIT_EPROTO)
                fail("an invalid or conflicting Content-Length accepted", data, size);
        } else if (ref.te) {
            int chunked_ok = ref.te_last_chunked && ref.te_chunked_count == 1;
            if (f == SOCKIT_HTTP_CHUNKED && !ref.te_last_chunked)
                fail("chunked framing when Transfer-Encoding does not end in chunked", data, size);
            if (f == SOCKIT_HTTP_LENGTH || f == SOCKIT_HTTP_NO_BODY)
                fail("Transfer-Encoding ignored", data, size);
            if (f == SOCKIT_EPROTO && ref.cl == CL_NONE && chunked_ok)
                fail("a valid chunked response refused", data, size);
            if (f == SOCKIT_HTTP_UNTIL_CLOSE && chunked_ok)
                fail("a chunked response read until close", data, size);
        } else if (ref.cl == CL_VALID) {
            if (f != SOCKIT_HTTP_LENGTH || len != ref.length)
                fail("a valid Content-Length not taken", data, size);
        } else if (ref.cl == CL_HUGE) {
            if (f != SOCKIT_EPROTO && !(f == SOCKIT_HTTP_LENGTH &&
                                        huge_fits(resp->headers, resp->nheaders, &v) && v == len))
                fail("a huge Content-Length taken wrongly", data, size);
        } else if (f != SOCKIT_HTTP_UNTIL_CLOSE) {
            fail("a response without framing headers is not read until close", data, size);
        }
    }
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
    sockit_http_response resp;
    arm_errmsg();
    ssize_t r = parse(buf, size, h, FUZZ_NHEADERS, &resp);
    if (!known(r))
        fail("an unknown result", data, size);
    if (is_error(r) && !own_message())
        fail("an error without a message of its own", data, size);
    if (r > 0) {
        check_success(data, size, buf, r, &resp);
        check_capacity(data, size, buf, r, &resp);
        check_framing(data, size, &resp);
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
