/*
 * The HTTP/1.1 message parser: request and response heads (RFC 9112 sections 2-5), body framing
 * (section 6.3), the chunked coding (section 7.1).
 *
 * Heads are parsed from scratch on every call (no state between calls: the caller passes all it
 * has received) in ONE pass from left to right: each byte is checked against the grammar as it
 * is passed, and the first offending byte makes the message SOCKIT_EPROTO with its position.
 * Because every decision depends only on the bytes before it, a prefix of a valid head is always
 * SOCKIT_EINCOMPLETE and an error, once found in a prefix, stays the answer for every longer
 * input (an error may be found before its line is complete).
 *
 * Speed (bench/bench_parser.c, against picohttpparser): the character classes are one table, and
 * the long runs — request targets, header values, the reason phrase — are scanned 16 bytes at a
 * time with SSE2 where the compiler targets it (every x86-64), a byte at a time through the table
 * otherwise. A 16-byte load is made only when 16 bytes of the input remain: nothing is read past
 * buf + len.
 */
#include "internal/core.h"
#include <sockit/http.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define INCOMPLETE SOCKIT_EINCOMPLETE
#define MAX_LINE 8192            /* chunk-size lines and trailer lines */
#define MAX_LEADING_EMPTY 4      /* empty lines tolerated before a request line (RFC 9112 2.2) */

static int proto(const char *what, size_t pos)
{
    return sockit__failmsg(SOCKIT_EPROTO, "bad HTTP message: %s at byte %zu", what, pos);
}

/* Every "need more bytes" of the parsers comes here, so sockit_errmsg() never shows an older
 * failure's sentence as this result's. Not printf: servers and clients meet this result for
 * nearly every message that arrives in pieces (the client measured ~800 instructions a call). */
__attribute__((noinline)) static int incomplete(size_t have)
{
    return sockit__failmsg_num(INCOMPLETE, "http: incomplete message (", have, " bytes so far)");
}

__attribute__((cold, noinline)) static int null_arg(const char *fn, const char *what)
{
    return sockit__failmsg(-EINVAL, "%s: %s is NULL", fn, what);
}

/* ---- character classes ------------------------------------------------------------------------ */

enum {
    TCHAR = 1,  /* token: "!#$%&'*+-.^_`|~" DIGIT ALPHA (RFC 9110 5.6.2) */
    TARGET = 2, /* a request-target byte: VCHAR, 0x21..0x7e */
    VALUE = 4,  /* a header value or reason byte other than HTAB: SP, VCHAR, obs-text */
    HEX = 8,    /* HEXDIG */
};

static const unsigned char cls[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 7, 6, 7, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6, 6, 6, 6, 6, 6,
    6, 15, 15, 15, 15, 15, 15, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 7,
    7, 15, 15, 15, 15, 15, 15, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 7, 6, 7, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

#define IS(c, k) (cls[(unsigned char)(c)] & (k))

/* ---- scanning --------------------------------------------------------------------------------- */

/* The first byte in [p, end) that is not a VALUE byte (a control character, HTAB included, or
 * DEL), or end. */
static inline const char *scan_value(const char *p, const char *end)
{
#ifdef __SSE2__
    const __m128i c1f = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* x <= 0x1f (unsigned: min(x, 0x1f) == x) or x == 0x7f */
        __m128i bad = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x), _mm_cmpeq_epi8(x, del));
        unsigned m = (unsigned)_mm_movemask_epi8(bad);
        if (m) return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    while (p < end && IS(*p, VALUE)) p++;
    return p;
}

/* The first byte in [p, end) that is not a TARGET byte (the SP that ends the target, or an
 * error), or end. */
static inline const char *scan_target(const char *p, const char *end)
{
#ifdef __SSE2__
    const __m128i bias = _mm_set1_epi8((char)-0x21), top = _mm_set1_epi8(0x7e - 0x21);
    while (end - p >= 16) {
        __m128i y = _mm_add_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), bias);
        /* x - 0x21 <= 0x5d (unsigned) is a TARGET byte */
        unsigned m = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(y, top), y)) & 0xffff;
        if (m) return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    while (p < end && IS(*p, TARGET)) p++;
    return p;
}

/* The first byte in [p, end) that is not a token character, or end. Names are short: a byte at
 * a time through the table, four per round. */
static inline const char *scan_token(const char *p, const char *end)
{
    while (end - p >= 4) {
        if (!IS(p[0], TCHAR)) return p;
        if (!IS(p[1], TCHAR)) return p + 1;
        if (!IS(p[2], TCHAR)) return p + 2;
        if (!IS(p[3], TCHAR)) return p + 3;
        p += 4;
    }
    while (p < end && IS(*p, TCHAR)) p++;
    return p;
}

/* A value-like run from p to its line end (HTAB allowed inside): sets *ve at its last byte + 1
 * (before CR LF or LF) and returns the start of the next line; NULL with *r set to INCOMPLETE or
 * an error (what names the run in the message). */
static inline const char *value_to_eol(const char *buf, const char *p, const char *end,
                                       const char **ve, const char *what, int *r)
{
    for (;;) {
        p = scan_value(p, end);
        if (p == end) {
            *r = INCOMPLETE;
            return NULL;
        }
        if (*p != '\t') break;
        p++;
    }
    *ve = p;
    if (*p == '\n') return p + 1;
    if (*p == '\r') {
        if (p + 1 == end) {
            *r = INCOMPLETE;
            return NULL;
        }
        if (p[1] == '\n') return p + 2;
        *r = proto("a CR not followed by LF", (size_t)(p - buf));
        return NULL;
    }
    *r = proto(what, (size_t)(p - buf));
    return NULL;
}

/* "HTTP/1.0" or "HTTP/1.1" at p: 10 or 11, INCOMPLETE if the bytes there so far could still be
 * one, or an error. */
static int parse_version(const char *buf, const char *p, const char *end)
{
    static const char want[] = "HTTP/1.";
    if (end - p >= 8) {
        if (memcmp(p, want, 7) == 0 && (p[7] == '0' || p[7] == '1')) return p[7] == '1' ? 11 : 10;
    } else {
        size_t n = (size_t)(end - p);
        if (n <= 7 ? memcmp(p, want, n) == 0 : memcmp(p, want, 7) == 0) return INCOMPLETE;
    }
    return proto("not HTTP/1.0 or HTTP/1.1", (size_t)(p - buf));
}

/* The line end at p: the start of the next line, or NULL with *r set (INCOMPLETE or an error
 * saying what the line was). */
static inline const char *line_end(const char *buf, const char *p, const char *end, const char *what,
                                   int *r)
{
    if (p < end && *p == '\n') return p + 1;
    if (p + 1 < end && p[0] == '\r' && p[1] == '\n') return p + 2;
    if (p == end || (p + 1 == end && *p == '\r')) {
        *r = INCOMPLETE;
        return NULL;
    }
    *r = proto(*p == '\r' ? "a CR not followed by LF" : what, (size_t)(p - buf));
    return NULL;
}

/* ---- heads ------------------------------------------------------------------------------------ */

/* Header lines from p up to and including the empty line. Returns the head's length or a code. */
static ssize_t parse_headers(const char *buf, const char *p, const char *end, sockit_http_header *h,
                             size_t *nheaders)
{
    size_t cap = *nheaders, n = 0;
    int r;
    *nheaders = 0;
    for (;;) {
        if (p == end) return incomplete((size_t)(end - buf));
        if (!IS(*p, TCHAR)) {
            if (*p == '\n' || *p == '\r') { /* the empty line: the head is complete */
                const char *next = line_end(buf, p, end, "", &r);
                if (!next) return r == INCOMPLETE ? incomplete((size_t)(end - buf)) : r;
                *nheaders = n;
                return next - buf;
            }
            if (*p == ' ' || *p == '\t') return proto("obsolete line folding", (size_t)(p - buf));
            return proto(*p == ':' ? "an empty header name" : "a header name that is not a token",
                         (size_t)(p - buf));
        }
        const char *name = p;
        p = scan_token(p + 1, end);
        if (p == end) return incomplete((size_t)(end - buf));
        if (*p != ':')
            return proto(*p == '\r' && p + 1 < end && p[1] != '\n' ? "a CR not followed by LF"
                         : *p == '\r' || *p == '\n'                 ? "a header line without a colon"
                                                                  : "a header name that is not a token",
                         (size_t)(p - buf));
        const char *colon = p++;
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        const char *v = p, *ve;
        const char *next = value_to_eol(buf, p, end, &ve, "a control character in a header value", &r);
        if (!next) return r == INCOMPLETE ? incomplete((size_t)(end - buf)) : r;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        if (n == cap) return sockit__failmsg(SOCKIT_ETOOLONG, "HTTP message: more than %zu headers", cap);
        h[n].name = (sockit_str){name, (size_t)(colon - name)};
        h[n].value = (sockit_str){v, (size_t)(ve - v)};
        n++;
        p = next;
    }
}

ssize_t sockit_http_parse_request(const char *buf, size_t len, sockit_http_request *req)
{
    if (!req) return null_arg("sockit_http_parse_request", "the request");
    if (!req->headers && req->nheaders) return null_arg("sockit_http_parse_request", "the header array");
    if (!buf) return len ? null_arg("sockit_http_parse_request", "the buffer") : incomplete(0);
    const char *p = buf, *end = buf + len;
    int r;
    for (int empty = 0; p < end && (*p == '\r' || *p == '\n'); empty++) {
        /* a few empty lines before the request line are tolerated */
        if (empty == MAX_LEADING_EMPTY) return proto("empty lines instead of a request line", (size_t)(p - buf));
        if (!(p = line_end(buf, p, end, "", &r))) return r == INCOMPLETE ? incomplete(len) : r;
    }
    if (p == end) return incomplete(len);
    if (!IS(*p, TCHAR)) return proto("a request line that does not start with a method", (size_t)(p - buf));
    const char *m = p;
    p = scan_token(p + 1, end);
    if (p == end) return incomplete(len);
    if (*p != ' ') return proto("a malformed method", (size_t)(p - buf));
    const char *me = p, *t = ++p;
    p = scan_target(p, end);
    if (p == end) return incomplete(len);
    if (*p != ' ')
        return proto(*p == '\r' || *p == '\n' ? "a malformed request line"
                                               : "a request target with a byte it may not contain",
                     (size_t)(p - buf));
    if (p == t) return proto("an empty request target", (size_t)(p - buf));
    const char *te = p++;
    int version = parse_version(buf, p, end);
    if (version < 0) return version == INCOMPLETE ? incomplete(len) : version;
    const char *next = line_end(buf, p + 8, end, "a malformed request line", &r);
    if (!next) return r == INCOMPLETE ? incomplete(len) : r;
    req->version = version;
    req->method = (sockit_str){m, (size_t)(me - m)};
    req->target = (sockit_str){t, (size_t)(te - t)};
    return parse_headers(buf, next, end, req->headers, &req->nheaders);
}

ssize_t sockit_http_parse_response(const char *buf, size_t len, sockit_http_response *resp)
{
    if (!resp) return null_arg("sockit_http_parse_response", "the response");
    if (!resp->headers && resp->nheaders) return null_arg("sockit_http_parse_response", "the header array");
    if (!buf) return len ? null_arg("sockit_http_parse_response", "the buffer") : incomplete(0);
    const char *end = buf + len;
    int r;
    for (size_t i = 0; i < 5 && i < len; i++)
        if (buf[i] != "HTTP/"[i]) return proto("not an HTTP response", i);
    int version = parse_version(buf, buf, end);
    if (version < 0) return version == INCOMPLETE ? incomplete(len) : version;
    /* " 3DIGIT" and then SP reason or the line end, checked as far as there are bytes. */
    int status = 0;
    for (size_t i = 8; i < 12; i++) {
        if (i == len) return incomplete(len);
        unsigned char c = (unsigned char)buf[i];
        if (i == 8) {
            if (c != ' ') return proto("a malformed status line", 8);
        } else if (c < '0' || c > '9') {
            return proto(c == '\r' || c == '\n' ? "a malformed status line" : "a status code that is not 3 digits", i);
        } else if ((status = status * 10 + (c - '0')) == 0) {
            return proto("a status code below 100", 9);
        }
    }
    if (len == 12) return incomplete(len);
    const char *rs = buf + 12, *re, *next;
    if (*rs == ' ') {
        rs++;
        next = value_to_eol(buf, rs, end, &re, "a control character in the reason", &r);
    } else if (*rs == '\r' || *rs == '\n') {
        re = rs;
        next = line_end(buf, rs, end, "", &r);
    } else {
        return proto("a status code that is not 3 digits", 12);
    }
    if (!next) return r == INCOMPLETE ? incomplete(len) : r;
    resp->version = version;
    resp->status = status;
    resp->reason = (sockit_str){rs, (size_t)(re - rs)};
    return parse_headers(buf, next, end, resp->headers, &resp->nheaders);
}

/* After the LF that ends at buf[k - 1]: the head's length if an empty line follows, 0 if a
 * later LF may still end it, -1 if the bytes so far cannot say (more are needed). */
static inline ssize_t empty_line_at(const char *buf, size_t len, size_t k)
{
    if (k < len && buf[k] == '\n') return (ssize_t)(k + 1);
    if (k + 1 < len && buf[k] == '\r' && buf[k + 1] == '\n') return (ssize_t)(k + 2);
    if (k >= len || (k + 1 >= len && buf[k] == '\r')) return -1;
    return 0;
}

ssize_t sockit_http_head_end(const char *buf, size_t len, size_t *scanned)
{
    if (!scanned) return null_arg("sockit_http_head_end", "scanned");
    if (!buf) return len ? null_arg("sockit_http_head_end", "the buffer") : incomplete(0);
    /* Resume a few bytes back: the end may straddle the previous call's last bytes. (A *scanned
     * beyond len breaks the contract; start over rather than read outside buf.) */
    size_t i = *scanned > 3 && *scanned <= len ? *scanned - 3 : 0;
    ssize_t e;
    /* Line by line with memchr: glibc's takes 32 bytes a step where the CPU has AVX2, which
     * measured fewer instructions than a 16-byte SSE2 scan of every LF here. */
    for (;;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (!nl) break;
        i = (size_t)(nl - buf) + 1;
        if ((e = empty_line_at(buf, len, i)) > 0) return e;
        if (e < 0) break;
    }
    *scanned = len;
    return incomplete(len);
}

/* ---- headers ---------------------------------------------------------------------------------- */

const sockit_http_header *sockit_http_header_find(const sockit_http_header *h, size_t n, const char *name)
{
    if (!h || !name) return NULL;
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (h[i].name.n == len && !strncasecmp(h[i].name.p, name, len)) return &h[i];
    return NULL;
}

/* Calls each trimmed element of a comma-separated list; stops early when fn returns non-zero. */
static int each_element(sockit_str v, int (*fn)(const char *p, size_t n, void *arg), void *arg)
{
    size_t i = 0;
    while (i <= v.n) {
        size_t j = i;
        while (j < v.n && v.p[j] != ',') j++;
        size_t a = i, b = j;
        while (a < b && (v.p[a] == ' ' || v.p[a] == '\t')) a++;
        while (b > a && (v.p[b - 1] == ' ' || v.p[b - 1] == '\t')) b--;
        int r = fn(v.p + a, b - a, arg);
        if (r) return r;
        i = j + 1;
    }
    return 0;
}

struct has_arg {
    const char *token;
    size_t n;
};

static int match_token(const char *p, size_t n, void *arg)
{
    struct has_arg *a = arg;
    return n == a->n && !strncasecmp(p, a->token, n);
}

int sockit_http_value_has(sockit_str value, const char *token)
{
    if (!token || !value.p) return 0;
    struct has_arg a = {token, strlen(token)};
    return each_element(value, match_token, &a);
}

/* ---- framing ---------------------------------------------------------------------------------- */

struct cl_arg {
    uint64_t value;
    int seen, bad;
};

static int one_length(const char *p, size_t n, void *arg)
{
    struct cl_arg *a = arg;
    uint64_t v = 0;
    if (n == 0) return a->bad = 1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return a->bad = 1;
        if (v > (UINT64_C(0x7fffffffffffffff) - (uint64_t)(p[i] - '0')) / 10) return a->bad = 1;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (a->seen && v != a->value) return a->bad = 1;
    a->value = v;
    a->seen = 1;
    return 0;
}

/* A framing error names the header it was found in: its number in the head (from 1, in the
 * order received), its name and its value (quoted and cut short: they are the peer's bytes). */
static int framing_error(const char *what, const sockit_http_header *h, size_t i)
{
    char name[48], value[64], qn[sizeof name * 4 + 16], qv[sizeof value * 4 + 16];
    size_t nn = h[i].name.n < sizeof name - 1 ? h[i].name.n : sizeof name - 1;
    size_t vn = h[i].value.n < sizeof value - 1 ? h[i].value.n : sizeof value - 1;
    if (nn) memcpy(name, h[i].name.p, nn);
    if (vn) memcpy(value, h[i].value.p, vn);
    name[nn] = value[vn] = 0;
    return sockit__failmsg(SOCKIT_EPROTO, "bad HTTP message: %s in header %zu (%s: %s)", what, i + 1,
                           sockit__quote(name, qn, sizeof qn), sockit__quote(value, qv, sizeof qv));
}

/* Every Content-Length (and every element of a list in one) must be the same number. *at is the
 * last Content-Length header's index (n if none). */
static int content_length(const sockit_http_header *h, size_t n, uint64_t *out, int *present, size_t *at)
{
    struct cl_arg a = {0, 0, 0};
    *at = n;
    for (size_t i = 0; i < n; i++)
        if (h[i].name.n == 14 && !strncasecmp(h[i].name.p, "content-length", 14)) {
            *at = i;
            each_element(h[i].value, one_length, &a);
            if (a.bad) return framing_error("an invalid or conflicting Content-Length", h, i);
        }
    *present = a.seen;
    *out = a.value;
    return 0;
}

struct te_arg {
    int chunked_last, chunked_count, count;
};

/* A request's Transfer-Encoding other than exactly "chunked" (e.g. "gzip, chunked"): the server
 * implements no other coding (RFC 9112 6.1: 501), and a handler must never get coded bytes as
 * "the body". */
static int te_not_implemented(const sockit_http_header *h, size_t at)
{
    return sockit__failmsg(-ENOTSUP, "http: a transfer coding other than chunked in header %zu (\"%.*s\"): not implemented",
                           at + 1, (int)(h[at].value.n > 64 ? 64 : h[at].value.n), h[at].value.p);
}

static int one_coding(const char *p, size_t n, void *arg)
{
    struct te_arg *a = arg;
    if (n == 0) return 0; /* empty list elements are allowed and ignored (RFC 9110 5.6.1) */
    a->count++;
    a->chunked_last = n == 7 && !strncasecmp(p, "chunked", 7);
    a->chunked_count += a->chunked_last;
    return 0;
}

/* Transfer-Encoding: 0 absent, 1 ends in chunked (once), -1 present otherwise. *at is the last
 * Transfer-Encoding header's index. */
static int transfer_encoding(const sockit_http_header *h, size_t n, size_t *at, int *count)
{
    struct te_arg a = {0, 0, 0};
    int present = 0;
    *at = n;
    for (size_t i = 0; i < n; i++)
        if (h[i].name.n == 17 && !strncasecmp(h[i].name.p, "transfer-encoding", 17)) {
            present = 1;
            *at = i;
            each_element(h[i].value, one_coding, &a);
        }
    *count = a.count;
    if (!present) return 0;
    return a.chunked_last && a.chunked_count == 1 ? 1 : -1;
}

int sockit_http_request_framing(const sockit_http_request *req, uint64_t *length)
{
    int has_cl = 0, r;
    size_t cl_at, te_at;
    if (!req || !length || (!req->headers && req->nheaders))
        return null_arg("sockit_http_request_framing", !req ? "the request" : !length ? "length" : "the header array");
    *length = 0;
    const sockit_http_header *h = req->headers;
    if ((r = content_length(h, req->nheaders, length, &has_cl, &cl_at)) < 0) return r;
    int ncodings = 0;
    int te = transfer_encoding(h, req->nheaders, &te_at, &ncodings);
    if (te && req->version < 11) /* RFC 9112 6.1: HTTP/1.0 with Transfer-Encoding is faulty */
        return framing_error("Transfer-Encoding in an HTTP/1.0 request", h, te_at);
    if (te && has_cl)
        return framing_error("both Transfer-Encoding and Content-Length", h, te_at > cl_at ? te_at : cl_at);
    if (te < 0) return framing_error("a Transfer-Encoding that does not end in chunked", h, te_at);
    if (te > 0 && ncodings > 1) return te_not_implemented(h, te_at);
    if (te > 0) return SOCKIT_HTTP_CHUNKED;
    return has_cl ? SOCKIT_HTTP_LENGTH : SOCKIT_HTTP_NO_BODY;
}

int sockit_http_response_framing(const sockit_http_response *resp, const char *method,
                                 uint64_t *length)
{
    int has_cl = 0, r;
    size_t cl_at, te_at;
    if (!resp || !length || (!resp->headers && resp->nheaders))
        return null_arg("sockit_http_response_framing", !resp ? "the response" : !length ? "length" : "the header array");
    int s = resp->status;
    *length = 0;
    if ((method && !strcmp(method, "HEAD")) || (s >= 100 && s < 200) || s == 204 || s == 304 ||
        (method && !strcmp(method, "CONNECT") && s >= 200 && s < 300))
        return SOCKIT_HTTP_NO_BODY;
    const sockit_http_header *h = resp->headers;
    if ((r = content_length(h, resp->nheaders, length, &has_cl, &cl_at)) < 0) return r;
    int ncodings = 0;
    int te = transfer_encoding(h, resp->nheaders, &te_at, &ncodings);
    if (te && has_cl)
        return framing_error("both Transfer-Encoding and Content-Length", h, te_at > cl_at ? te_at : cl_at);
    if (te > 0) return SOCKIT_HTTP_CHUNKED;
    if (te < 0) return SOCKIT_HTTP_UNTIL_CLOSE;
    return has_cl ? SOCKIT_HTTP_LENGTH : SOCKIT_HTTP_UNTIL_CLOSE;
}

/* ---- chunked ---------------------------------------------------------------------------------- */

enum { C_SIZE, C_SIZE_BWS, C_SIZE_CR, C_EXT, C_DATA, C_DATA_CR, C_DATA_LF, C_TRAILER_START, C_TRAILER,
       C_TRAILER_CR, C_END_LF, C_DONE, C_TRAILER_NAME };

void sockit_http_chunked_init(sockit_http_chunked *d)
{
    if (!d) return;
    memset(d, 0, sizeof *d);
    d->state = C_SIZE;
}

/* The value of a HEX byte. */
static inline unsigned hexval(unsigned char c)
{
    return (c & 0xfu) + (c >> 6) * 9u; /* '0'..'9' -> 0..9; 'A'..'F', 'a'..'f' -> 10..15 */
}

/* The end of a chunk-size line: a data chunk, or the last chunk (then trailers). */
static void size_line_done(sockit_http_chunked *d)
{
    d->state = d->left ? C_DATA : C_TRAILER_START;
    d->ext_len = 0;
}

/* Skips the bytes of a chunk extension or trailer line from i (SP, VCHAR, obs-text, HTAB and DEL:
 * everything but the other control characters) and counts them into d->ext_len: the index of
 * the first byte that ends the run, or an error if the line passes MAX_LINE (what says which). */
static ssize_t skip_line(sockit_http_chunked *d, const char *buf, size_t i, size_t n, const char *what)
{
    const char *p = buf + i, *end = buf + n;
    for (;;) {
        p = scan_value(p, end);
        if (p == end || (*p != '\t' && *p != 0x7f)) break;
        p++;
    }
    size_t k = (size_t)(p - buf) - i;
    if (k > MAX_LINE - d->ext_len) return proto(what, i + (MAX_LINE - d->ext_len));
    d->ext_len += k;
    return p - buf;
}

int sockit_http_chunked_decode(sockit_http_chunked *d, char *buf, size_t *len, size_t *rest)
{
    if (!d || !len || !rest) return null_arg("sockit_http_chunked_decode", !d ? "the decoder" : !len ? "len" : "rest");
    if (!buf && *len) return null_arg("sockit_http_chunked_decode", "the buffer");
    size_t i = 0, o = 0, n = *len;
    ssize_t s;
    *rest = 0;
    /* On an error, the body bytes decoded before it stay the caller's: buf[0, *len). */
#define FAIL(code) do { *len = o; return (code); } while (0)
    while (i < n && d->state != C_DONE) {
        unsigned char c = (unsigned char)buf[i];
        switch (d->state) {
        case C_SIZE:
            while (IS(c, HEX)) {
                if (++d->ext_len > 16) FAIL(proto("a chunk size that overflows", i));
                d->left = d->left << 4 | hexval(c);
                if (++i == n) goto out;
                c = (unsigned char)buf[i];
            }
            if (d->ext_len == 0) {
                FAIL(proto("a chunk size that is not hex", i));
            } else if (c == '\r') {
                if (i + 1 < n && buf[i + 1] == '\n') { /* the common case: CR LF at once */
                    i++;
                    size_line_done(d);
                } else {
                    d->state = C_SIZE_CR;
                }
            } else if (c == '\n') {
                FAIL(proto("a bare LF in chunked framing (it needs CR LF)", i));
            } else if (c == ';') {
                d->state = C_EXT;
                d->ext_len = 0;
            } else if (c == ' ' || c == '\t') {
                d->state = C_SIZE_BWS;
            } else {
                FAIL(proto("a chunk size that is not hex", i));
            }
            i++;
            break;
        case C_SIZE_BWS:
            if (c == ';') { d->state = C_EXT; d->ext_len = 0; }
            else if (c == '\r') d->state = C_SIZE_CR;
            else if (c == '\n') FAIL(proto("a bare LF in chunked framing (it needs CR LF)", i));
            else if (c != ' ' && c != '\t') FAIL(proto("a chunk size followed by something other than ';'", i));
            else if (++d->ext_len > MAX_LINE) FAIL(proto("a chunk-size line over 8 KiB", i));
            i++;
            break;
        case C_EXT:
            if ((s = skip_line(d, buf, i, n, "a chunk extension over 8 KiB")) < 0) FAIL((int)s);
            if ((i = (size_t)s) == n) goto out;
            c = (unsigned char)buf[i];
            if (c == '\r') d->state = C_SIZE_CR;
            else if (c == '\n') FAIL(proto("a bare LF in chunked framing (it needs CR LF)", i));
            else FAIL(proto("a control character in a chunk extension", i));
            i++;
            break;
        case C_SIZE_CR:
            if (c != '\n') FAIL(proto("a CR not followed by LF", i));
            size_line_done(d);
            i++;
            break;
        case C_DATA: {
            size_t k = n - i < d->left ? n - i : (size_t)d->left;
            if (o != i) memmove(buf + o, buf + i, k);
            o += k;
            i += k;
            d->left -= k;
            if (d->left) break;
            if (i + 1 < n && buf[i] == '\r' && buf[i + 1] == '\n') { /* the common case */
                i += 2;
                d->state = C_SIZE;
                d->ext_len = 0;
            } else {
                d->state = C_DATA_CR;
            }
            break;
        }
        case C_DATA_CR:
            if (c == '\r') d->state = C_DATA_LF;
            else if (c == '\n') FAIL(proto("a bare LF in chunked framing (it needs CR LF)", i));
            else FAIL(proto("chunk data longer than its size", i));
            i++;
            break;
        case C_DATA_LF:
            if (c != '\n') FAIL(proto("a CR not followed by LF", i));
            d->state = C_SIZE;
            d->ext_len = 0;
            i++;
            break;
        case C_TRAILER_START:
            /* A trailer is a header field, "name: value" (RFC 9112 7.1.2): a line that is not
             * one — folded, nameless, or without a colon — is refused like it is in a head, so a
             * request smuggled behind a chunked body cannot hide as a "trailer". */
            if (c == '\r') d->state = C_END_LF;
            else if (c == '\n') FAIL(proto("a bare LF in chunked framing (it needs CR LF)", i));
            else if (c == ' ' || c == '\t') FAIL(proto("a folded trailer line (obsolete line folding)", i));
            else if (!IS(c, TCHAR)) FAIL(proto("a trailer line that does not start with a field name", i));
            else { d->state = C_TRAILER_NAME; d->ext_len = 1; }
            i++;
            break;
        case C_TRAILER_NAME:
            if (c == ':') d->state = C_TRAILER;
            else if (!IS(c, TCHAR)) FAIL(proto("a trailer line that is not \"name: value\"", i));
            else if (++d->ext_len > MAX_LINE) FAIL(proto("a trailer line over 8 KiB", i));
            i++;
            break;
        case C_TRAILER:
            if ((s = skip_line(d, buf, i, n, "a trailer line over 8 KiB")) < 0) FAIL((int)s);
            if ((i = (size_t)s) == n) goto out;
            c = (unsigned char)buf[i];
            if (c == '\r') d->state = C_TRAILER_CR;
            else if (c == '\n') FAIL(proto("a bare LF in chunked framing (it needs CR LF)", i));
            else FAIL(proto("a control character in a trailer", i));
            i++;
            break;
        case C_TRAILER_CR:
            if (c != '\n') FAIL(proto("a CR not followed by LF", i));
            d->state = C_TRAILER_START;
            i++;
            break;
        case C_END_LF:
            if (c != '\n') FAIL(proto("a CR not followed by LF", i));
            d->state = C_DONE;
            i++;
            break;
        default:
            return sockit__failmsg(-EINVAL, "sockit_http_chunked_decode: the decoder is not initialised");
        }
    }
out:
    *len = o;
    if (d->state != C_DONE) return incomplete(n);
    *rest = n - i;
    if (*rest && o != i) memmove(buf + o, buf + i, *rest);
    return 1;
#undef FAIL
}
