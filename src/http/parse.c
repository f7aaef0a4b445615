/*
 * The HTTP/1.1 message parser: request and response heads (RFC 9112 sections 2-5), body framing
 * (section 6.3), the chunked coding (section 7.1).
 *
 * Heads are parsed from scratch on every call (no state between calls: the caller passes all it
 * has received), line by line. Each line is checked byte by byte against the grammar; the first
 * offending byte makes the message SOCKIT_EPROTO with its position in the message.
 */
#include "internal/core.h"
#include <sockit/http.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define INCOMPLETE SOCKIT_EINCOMPLETE
#define MAX_LINE 8192            /* chunk-size lines and trailer lines */
#define MAX_LEADING_EMPTY 4      /* empty lines tolerated before a request line (RFC 9112 2.2) */

static int proto(const char *what, size_t pos)
{
    return sockit__failmsg(SOCKIT_EPROTO, "bad HTTP message: %s at byte %zu", what, pos);
}

/* tchar: "!#$%&'*+-.^_`|~" DIGIT ALPHA */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The next line from pos: sets [*start, *end) without its CRLF or LF and *next after it.
 * INCOMPLETE if no LF yet; SOCKIT_EPROTO for a CR that is not right before the LF. */
static int next_line(const char *buf, size_t len, size_t pos, size_t *end, size_t *next)
{
    const char *nl = memchr(buf + pos, '\n', len - pos);
    if (!nl) {
        const char *cr = memchr(buf + pos, '\r', len - pos);
        if (cr && (size_t)(cr - buf) + 1 < len) return proto("a CR not followed by LF", (size_t)(cr - buf));
        return INCOMPLETE;
    }
    size_t e = (size_t)(nl - buf);
    *next = e + 1;
    if (e > pos && buf[e - 1] == '\r') e--;
    const char *cr = memchr(buf + pos, '\r', e - pos);
    if (cr) return proto("a CR not followed by LF", (size_t)(cr - buf));
    *end = e;
    return 0;
}

/* "HTTP/1.0" or "HTTP/1.1" at buf[p, p+8). */
static int parse_version(const char *buf, size_t p, size_t end, int *version)
{
    if (end - p < 8 || memcmp(buf + p, "HTTP/1.", 7) != 0 || (buf[p + 7] != '0' && buf[p + 7] != '1'))
        return proto("not HTTP/1.0 or HTTP/1.1", p);
    *version = buf[p + 7] == '1' ? 11 : 10;
    return 0;
}

/* Header lines up to and including the empty line. Returns the head's length or a code. */
static ssize_t parse_headers(const char *buf, size_t len, size_t pos, sockit_http_header *h,
                             size_t *nheaders)
{
    size_t cap = *nheaders, n = 0, end, next;
    *nheaders = 0;
    for (;;) {
        int r = next_line(buf, len, pos, &end, &next);
        if (r < 0) return r;
        if (end == pos) { /* the empty line: the head is complete */
            *nheaders = n;
            return (ssize_t)next;
        }
        if (buf[pos] == ' ' || buf[pos] == '\t') return proto("obsolete line folding", pos);
        size_t colon = pos;
        while (colon < end && is_tchar((unsigned char)buf[colon])) colon++;
        if (colon == end || buf[colon] != ':')
            return proto(colon == end ? "a header line without a colon" : "a header name that is not a token", colon);
        if (colon == pos) return proto("an empty header name", pos);
        size_t v = colon + 1, ve = end;
        while (v < ve && (buf[v] == ' ' || buf[v] == '\t')) v++;
        while (ve > v && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t')) ve--;
        for (size_t k = v; k < ve; k++) {
            unsigned char c = (unsigned char)buf[k];
            if ((c < 0x20 && c != '\t') || c == 0x7f) return proto("a control character in a header value", k);
        }
        if (n == cap) return sockit__failmsg(SOCKIT_ETOOLONG, "HTTP message: more than %zu headers", cap);
        h[n].name = (sockit_str){buf + pos, colon - pos};
        h[n].value = (sockit_str){buf + v, ve - v};
        n++;
        pos = next;
    }
}

ssize_t sockit_http_parse_request(const char *buf, size_t len, sockit_http_request *req)
{
    size_t pos = 0, end, next;
    int r;
    for (int empty = 0;; empty++) { /* a few empty lines before the request line are tolerated */
        if ((r = next_line(buf, len, pos, &end, &next)) < 0) {
            if (r == INCOMPLETE && len - pos > 0 && !is_tchar((unsigned char)buf[pos]) &&
                buf[pos] != '\r' && buf[pos] != '\n')
                return proto("a request line that does not start with a method", pos);
            return r;
        }
        if (end > pos) break;
        if (empty == MAX_LEADING_EMPTY) return proto("empty lines instead of a request line", pos);
        pos = next;
    }
    size_t m = pos;
    while (m < end && is_tchar((unsigned char)buf[m])) m++;
    if (m == pos || m == end || buf[m] != ' ') return proto("a malformed method", m);
    size_t t = m + 1, te = t;
    while (te < end && buf[te] != ' ') {
        unsigned char c = (unsigned char)buf[te];
        if (c <= 0x20 || c >= 0x7f) return proto("a request target with a byte it may not contain", te);
        te++;
    }
    if (te == t) return proto("an empty request target", t);
    if (te == end || te + 1 + 8 != end) return proto("a malformed request line", te);
    if ((r = parse_version(buf, te + 1, end, &req->version)) < 0) return r;
    req->method = (sockit_str){buf + pos, m - pos};
    req->target = (sockit_str){buf + t, te - t};
    return parse_headers(buf, len, next, req->headers, &req->nheaders);
}

ssize_t sockit_http_parse_response(const char *buf, size_t len, sockit_http_response *resp)
{
    size_t end, next;
    int r = next_line(buf, len, 0, &end, &next);
    if (r == INCOMPLETE && len > 0 && memcmp(buf, "HTTP/", len < 5 ? len : 5) != 0)
        return proto("not an HTTP response", 0);
    if (r < 0) return r;
    if ((r = parse_version(buf, 0, end, &resp->version)) < 0) return r;
    if (end < 12 || buf[8] != ' ') return proto("a malformed status line", 8);
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9') return proto("a status code that is not 3 digits", (size_t)i);
        status = status * 10 + (buf[i] - '0');
    }
    if (status < 100) return proto("a status code below 100", 9);
    if (end > 12 && buf[12] != ' ') return proto("a status code that is not 3 digits", 12);
    size_t rs = end > 12 ? 13 : 12;
    for (size_t k = rs; k < end; k++) {
        unsigned char c = (unsigned char)buf[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f) return proto("a control character in the reason", k);
    }
    resp->status = status;
    resp->reason = (sockit_str){buf + rs, end - rs};
    return parse_headers(buf, len, next, resp->headers, &resp->nheaders);
}

ssize_t sockit_http_head_end(const char *buf, size_t len, size_t *scanned)
{
    /* Resume a few bytes back: the end may straddle the previous call's last bytes. */
    size_t i = *scanned > 3 ? *scanned - 3 : 0;
    for (;;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (!nl) break;
        size_t k = (size_t)(nl - buf) + 1;
        if (k < len && buf[k] == '\n') return (ssize_t)(k + 1);
        if (k + 1 < len && buf[k] == '\r' && buf[k + 1] == '\n') return (ssize_t)(k + 2);
        if (k >= len || (k + 1 >= len && buf[k] == '\r')) break; /* the answer needs more bytes */
        i = k;
    }
    *scanned = len;
    return INCOMPLETE;
}

/* ---- headers ---------------------------------------------------------------------------------- */

const sockit_http_header *sockit_http_header_find(const sockit_http_header *h, size_t n, const char *name)
{
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
    struct has_arg a = {token, strlen(token)};
    return value.p ? each_element(value, match_token, &a) : 0;
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

/* Every Content-Length (and every element of a list in one) must be the same number. */
static int content_length(const sockit_http_header *h, size_t n, uint64_t *out, int *present)
{
    struct cl_arg a = {0, 0, 0};
    for (size_t i = 0; i < n; i++)
        if (h[i].name.n == 14 && !strncasecmp(h[i].name.p, "content-length", 14)) {
            each_element(h[i].value, one_length, &a);
            if (a.bad) return proto("an invalid or conflicting Content-Length", 0);
        }
    *present = a.seen;
    *out = a.value;
    return 0;
}

struct te_arg {
    int chunked_last, chunked_count, count;
};

static int one_coding(const char *p, size_t n, void *arg)
{
    struct te_arg *a = arg;
    if (n == 0) return 0; /* empty list elements are allowed and ignored (RFC 9110 5.6.1) */
    a->count++;
    a->chunked_last = n == 7 && !strncasecmp(p, "chunked", 7);
    a->chunked_count += a->chunked_last;
    return 0;
}

/* Transfer-Encoding: 0 absent, 1 ends in chunked (once), -1 present otherwise. */
static int transfer_encoding(const sockit_http_header *h, size_t n)
{
    struct te_arg a = {0, 0, 0};
    int present = 0;
    for (size_t i = 0; i < n; i++)
        if (h[i].name.n == 17 && !strncasecmp(h[i].name.p, "transfer-encoding", 17)) {
            present = 1;
            each_element(h[i].value, one_coding, &a);
        }
    if (!present) return 0;
    return a.chunked_last && a.chunked_count == 1 ? 1 : -1;
}

int sockit_http_request_framing(const sockit_http_request *req, uint64_t *length)
{
    int has_cl, r;
    *length = 0;
    if ((r = content_length(req->headers, req->nheaders, length, &has_cl)) < 0) return r;
    int te = transfer_encoding(req->headers, req->nheaders);
    if (te && req->version < 11) /* RFC 9112 6.1: HTTP/1.0 with Transfer-Encoding is faulty */
        return proto("Transfer-Encoding in an HTTP/1.0 request", 0);
    if (te && has_cl) return proto("both Transfer-Encoding and Content-Length", 0);
    if (te < 0) return proto("a Transfer-Encoding that does not end in chunked", 0);
    if (te > 0) return SOCKIT_HTTP_CHUNKED;
    return has_cl ? SOCKIT_HTTP_LENGTH : SOCKIT_HTTP_NO_BODY;
}

int sockit_http_response_framing(const sockit_http_response *resp, const char *method,
                                 uint64_t *length)
{
    int has_cl, r, s = resp->status;
    *length = 0;
    if ((method && !strcmp(method, "HEAD")) || (s >= 100 && s < 200) || s == 204 || s == 304 ||
        (method && !strcmp(method, "CONNECT") && s >= 200 && s < 300))
        return SOCKIT_HTTP_NO_BODY;
    if ((r = content_length(resp->headers, resp->nheaders, length, &has_cl)) < 0) return r;
    int te = transfer_encoding(resp->headers, resp->nheaders);
    if (te && has_cl) return proto("both Transfer-Encoding and Content-Length", 0);
    if (te > 0) return SOCKIT_HTTP_CHUNKED;
    if (te < 0) return SOCKIT_HTTP_UNTIL_CLOSE;
    return has_cl ? SOCKIT_HTTP_LENGTH : SOCKIT_HTTP_UNTIL_CLOSE;
}

/* ---- chunked ---------------------------------------------------------------------------------- */

enum { C_SIZE, C_SIZE_BWS, C_SIZE_CR, C_EXT, C_DATA, C_DATA_CR, C_DATA_LF, C_TRAILER_START, C_TRAILER,
       C_TRAILER_CR, C_END_LF, C_DONE };

void sockit_http_chunked_init(sockit_http_chunked *d)
{
    memset(d, 0, sizeof *d);
    d->state = C_SIZE;
}

static int hexdigit(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The end of a chunk-size line: a data chunk, or the last chunk (then trailers). */
static void size_line_done(sockit_http_chunked *d)
{
    d->state = d->left ? C_DATA : C_TRAILER_START;
    d->ext_len = 0;
}

int sockit_http_chunked_decode(sockit_http_chunked *d, char *buf, size_t *len, size_t *rest)
{
    size_t i = 0, o = 0, n = *len;
    *rest = 0;
    while (i < n && d->state != C_DONE) {
        unsigned char c = (unsigned char)buf[i];
        switch (d->state) {
        case C_SIZE: {
            int v = hexdigit(c);
            if (v >= 0) {
                if (++d->ext_len > 16) return proto("a chunk size that overflows", i);
                d->left = d->left << 4 | (uint64_t)v;
            } else if (d->ext_len == 0) {
                return proto("a chunk size that is not hex", i);
            } else if (c == ';') {
                d->state = C_EXT;
                d->ext_len = 0;
            } else if (c == ' ' || c == '\t') {
                d->state = C_SIZE_BWS;
            } else if (c == '\r') {
                d->state = C_SIZE_CR;
            } else if (c == '\n') {
                size_line_done(d);
            } else {
                return proto("a chunk size that is not hex", i);
            }
            i++;
            break;
        }
        case C_SIZE_BWS:
            if (c == ';') { d->state = C_EXT; d->ext_len = 0; }
            else if (c == '\r') d->state = C_SIZE_CR;
            else if (c == '\n') size_line_done(d);
            else if (c != ' ' && c != '\t') return proto("a chunk size followed by something other than ';'", i);
            else if (++d->ext_len > MAX_LINE) return proto("a chunk-size line over 8 KiB", i);
            i++;
            break;
        case C_EXT:
            if (c == '\r') d->state = C_SIZE_CR;
            else if (c == '\n') size_line_done(d);
            else if (c < 0x20 && c != '\t') return proto("a control character in a chunk extension", i);
            else if (++d->ext_len > MAX_LINE) return proto("a chunk extension over 8 KiB", i);
            i++;
            break;
        case C_SIZE_CR:
            if (c != '\n') return proto("a CR not followed by LF", i);
            size_line_done(d);
            i++;
            break;
        case C_DATA: {
            size_t k = n - i < d->left ? n - i : (size_t)d->left;
            memmove(buf + o, buf + i, k);
            o += k;
            i += k;
            d->left -= k;
            if (!d->left) d->state = C_DATA_CR;
            break;
        }
        case C_DATA_CR:
            if (c == '\r') d->state = C_DATA_LF;
            else if (c == '\n') { d->state = C_SIZE; d->ext_len = 0; }
            else return proto("chunk data longer than its size", i);
            i++;
            break;
        case C_DATA_LF:
            if (c != '\n') return proto("a CR not followed by LF", i);
            d->state = C_SIZE;
            d->ext_len = 0;
            i++;
            break;
        case C_TRAILER_START:
            if (c == '\r') d->state = C_END_LF;
            else if (c == '\n') d->state = C_DONE;
            else if (c < 0x20 && c != '\t') return proto("a control character in a trailer", i);
            else { d->state = C_TRAILER; d->ext_len = 1; }
            i++;
            break;
        case C_TRAILER:
            if (c == '\r') d->state = C_TRAILER_CR;
            else if (c == '\n') d->state = C_TRAILER_START;
            else if (c < 0x20 && c != '\t') return proto("a control character in a trailer", i);
            else if (++d->ext_len > MAX_LINE) return proto("a trailer line over 8 KiB", i);
            i++;
            break;
        case C_TRAILER_CR:
            if (c != '\n') return proto("a CR not followed by LF", i);
            d->state = C_TRAILER_START;
            i++;
            break;
        case C_END_LF:
            if (c != '\n') return proto("a CR not followed by LF", i);
            d->state = C_DONE;
            i++;
            break;
        }
    }
    *len = o;
    if (d->state != C_DONE) return 0;
    *rest = n - i;
    memmove(buf + o, buf + i, *rest);
    return 1;
}
