/*
 * fuzz_http.h — checks shared by fuzz_http_request.c and fuzz_http_response.c (not a target
 * itself: CMake builds only fuzz/fuzz_*.c).
 *
 * An independent reading of a parsed head (every string inside the input, names are tokens,
 * values trimmed and free of control characters, no bare CR in the head) and an independent
 * reference for Content-Length and Transfer-Encoding, so the framing functions are compared
 * against a second implementation rather than against themselves.
 */
#ifndef SOCKIT_FUZZ_HTTP_H
#define SOCKIT_FUZZ_HTTP_H

#include <sockit/sockit.h>
#include <sockit/http.h>

#include <errno.h>
#include "fuzz_fail.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_NHEADERS 64

static inline int tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static inline int is_token(sockit_str s)
{
    if (!s.p || s.n == 0)
        return 0;
    for (size_t i = 0; i < s.n; i++)
        if (!tchar((unsigned char)s.p[i]))
            return 0;
    return 1;
}

/* s is present and lies inside buf[0, len) (an empty s may point at buf + len). */
static inline int inside(sockit_str s, const char *buf, size_t len)
{
    return s.p && s.p >= buf && s.p <= buf + len && s.n <= (size_t)(buf + len - s.p);
}

/* No control character but HTAB (NUL, CR, LF, DEL included). */
static inline int no_ctl(sockit_str s)
{
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

static inline int ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Leaves a message no HTTP call produces, so a failure without a message of its own shows. */
static char fuzz_armed[1024];

static inline void arm_errmsg(void)
{
    sockit_addr a;
    char path[300];
    memset(path, 'x', sizeof path - 1);
    memcpy(path, "/armed-by-fuzz_http", 19);
    path[sizeof path - 1] = 0;
    if (sockit_addr_unix(&a, path) != -ENAMETOOLONG)
        abort();
    snprintf(fuzz_armed, sizeof fuzz_armed, "%s", sockit_errmsg());
}

static inline int own_message(void)
{
    const char *m = sockit_errmsg();
    return m && m[0] && strcmp(m, fuzz_armed) != 0;
}

/* The head buf[0, r): every CR is followed by LF, it ends with LF, and each header obeys the
 * contract. Returns NULL or what is wrong. */
static inline const char *check_head(const char *buf, size_t r, const sockit_http_header *h,
                                     size_t n)
{
    if (r < 2 || buf[r - 1] != '\n')
        return "a head that does not end with LF";
    for (size_t i = 0; i < r; i++)
        if (buf[i] == '\r' && (i + 1 >= r || buf[i + 1] != '\n'))
            return "a bare CR inside an accepted head";
    for (size_t i = 0; i < n; i++) {
        if (!inside(h[i].name, buf, r) || !inside(h[i].value, buf, r))
            return "a header string outside the head";
        if (!is_token(h[i].name))
            return "a header name that is not a token";
        if (h[i].name.p + h[i].name.n >= buf + r || h[i].name.p[h[i].name.n] != ':')
            return "a header name not followed by its colon";
        if (!no_ctl(h[i].value))
            return "a control character in a header value";
        if (h[i].value.n && (ows(h[i].value.p[0]) || ows(h[i].value.p[h[i].value.n - 1])))
            return "a header value not trimmed";
        if (i && h[i].name.p <= h[i - 1].value.p)
            return "headers out of order";
        /* What follows the value is OWS up to the line end. */
        const char *e = h[i].value.p + h[i].value.n;
        while (e < buf + r && ows(*e))
            e++;
        if (e >= buf + r || (*e != '\r' && *e != '\n'))
            return "a header value cut short";
    }
    return NULL;
}

/* sockit_http_head_end agrees with the parser's result r for the whole input buf[0, size) (which
 * must not start with an empty line): found at once, and found when fed one byte at a time with
 * *scanned carried along, first at exactly the same length. Returns NULL or what is wrong. */
static inline const char *check_head_end(const char *buf, size_t size, ssize_t r)
{
    size_t scanned = 0;
    ssize_t e = sockit_http_head_end(buf, size, &scanned);
    if (e != SOCKIT_EINCOMPLETE && (e <= 0 || (size_t)e > size))
        return "head_end gave an answer that is neither a length nor SOCKIT_EINCOMPLETE";
    if (r > 0 && e != r)
        return "head_end and the parser disagree on where the head ends";
    if (r == SOCKIT_EINCOMPLETE && e != SOCKIT_EINCOMPLETE)
        return "head_end found an end the parser does not see";
    scanned = 0;
    for (size_t k = 0; k <= size; k++) {
        size_t before = scanned;
        ssize_t q = sockit_http_head_end(buf, k, &scanned);
        if (q == SOCKIT_EINCOMPLETE) {
            if (scanned > k || scanned < before)
                return "head_end left *scanned outside what it was given";
            continue;
        }
        if (q != e)
            return "head_end fed a byte at a time finds another end than all at once";
        if ((size_t)q != k)
            return "head_end fed a byte at a time finds the end with other bytes than given";
        return NULL;
    }
    if (e != SOCKIT_EINCOMPLETE)
        return "head_end fed a byte at a time never finds the end";
    return NULL;
}

/* The reference answer for value_has: split on ',', trim OWS, compare ignoring case. */
static inline int ref_value_has(sockit_str v, const char *tok)
{
    size_t tn = strlen(tok), i = 0;
    while (i <= v.n) {
        size_t j = i;
        while (j < v.n && v.p[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && ows(v.p[a]))
            a++;
        while (b > a && ows(v.p[b - 1]))
            b--;
        if (b - a == tn && tn && strncasecmp(v.p + a, tok, tn) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

/* ---- the framing reference -------------------------------------------------------------------- */

enum { CL_NONE, CL_VALID, CL_HUGE, CL_INVALID };

struct ref_framing {
    int cl;          /* CL_* over all Content-Length headers and list elements */
    uint64_t length; /* when CL_VALID */
    int te;          /* Transfer-Encoding present */
    int te_last_chunked;
    int te_chunked_count;
    int te_codings;  /* non-empty Transfer-Encoding list elements, chunked included */
};

static inline int name_is(sockit_str n, const char *name)
{
    return n.n == strlen(name) && strncasecmp(n.p, name, n.n) == 0;
}

/* Digits with leading zeros stripped, compared as numbers: -1, 0, 1. */
static inline int numcmp(const char *a, size_t an, const char *b, size_t bn)
{
    while (an > 1 && *a == '0')
        a++, an--;
    while (bn > 1 && *b == '0')
        b++, bn--;
    if (an != bn)
        return an < bn ? -1 : 1;
    int c = memcmp(a, b, an);
    return c < 0 ? -1 : c > 0;
}

static inline void ref_framing(const sockit_http_header *h, size_t n, struct ref_framing *f)
{
    static const char max63[] = "9223372036854775807";
    const char *first = NULL;
    size_t firstn = 0;
    memset(f, 0, sizeof *f);
    f->cl = CL_NONE;
    for (size_t k = 0; k < n; k++) {
        sockit_str v = h[k].value;
        if (name_is(h[k].name, "content-length")) {
            size_t i = 0;
            while (i <= v.n) {
                size_t j = i;
                while (j < v.n && v.p[j] != ',')
                    j++;
                size_t a = i, b = j;
                while (a < b && ows(v.p[a]))
                    a++;
                while (b > a && ows(v.p[b - 1]))
                    b--;
                int digits = b > a;
                for (size_t x = a; x < b; x++)
                    digits &= v.p[x] >= '0' && v.p[x] <= '9';
                if (!digits) {
                    f->cl = CL_INVALID;
                } else if (!first) {
                    first = v.p + a;
                    firstn = b - a;
                } else if (numcmp(first, firstn, v.p + a, b - a) != 0) {
                    f->cl = CL_INVALID;
                }
                i = j + 1;
            }
        } else if (name_is(h[k].name, "transfer-encoding")) {
            f->te = 1;
            size_t i = 0;
            while (i <= v.n) {
                size_t j = i;
                while (j < v.n && v.p[j] != ',')
                    j++;
                size_t a = i, b = j;
                while (a < b && ows(v.p[a]))
                    a++;
                while (b > a && ows(v.p[b - 1]))
                    b--;
                if (b > a) { /* empty list elements are ignored (RFC 9110 5.6.1) */
                    f->te_codings++;
                    f->te_last_chunked = b - a == 7 && strncasecmp(v.p + a, "chunked", 7) == 0;
                    f->te_chunked_count += f->te_last_chunked;
                }
                i = j + 1;
            }
        }
    }
    if (f->cl == CL_INVALID || !first)
        return;
    if (numcmp(first, firstn, max63, sizeof max63 - 1) > 0) {
        f->cl = CL_HUGE;
        return;
    }
    f->cl = CL_VALID;
    f->length = 0;
    for (size_t x = 0; x < firstn; x++)
        f->length = f->length * 10 + (uint64_t)(first[x] - '0');
}

/* The reference value of a huge length, if it fits 64 bits (for an implementation that takes
 * lengths up to 2^64-1): 1 and *v, else 0. */
static inline int huge_fits(const sockit_http_header *h, size_t n, uint64_t *v)
{
    for (size_t k = 0; k < n; k++) {
        if (!name_is(h[k].name, "content-length"))
            continue;
        const char *p = h[k].value.p;
        size_t m = h[k].value.n, i = 0;
        uint64_t x = 0;
        while (i < m && p[i] >= '0' && p[i] <= '9') {
            uint64_t d = (uint64_t)(p[i] - '0');
            if (x > (UINT64_MAX - d) / 10)
                return 0;
            x = x * 10 + d;
            i++;
        }
        *v = x;
        return 1;
    }
    return 0;
}

/* ---- shared by the request and response targets ------------------------------------------- */

#define ALL_PREFIXES 2048 /* inputs up to this size have every prefix parsed */

static inline int known(ssize_t r)
{
    return r > 0 || r == SOCKIT_EINCOMPLETE || r == SOCKIT_EPROTO || r == SOCKIT_ETOOLONG;
}

static inline int is_error(ssize_t r)
{
    return r == SOCKIT_EPROTO || r == SOCKIT_ETOOLONG;
}

/* Parses buf[0, len) with room for cap headers in h; returns only the result. */
typedef ssize_t (*fuzz_parse_fn)(const char *buf, size_t len, sockit_http_header *h, size_t cap);

/* The answer for every (or a sample of the) prefix agrees with the whole input's answer r. */
static inline void check_prefixes(const uint8_t *data, size_t size, ssize_t r, fuzz_parse_fn parse_fn)
{
    sockit_http_header *h = malloc(FUZZ_NHEADERS * sizeof *h);
    if (!h)
        abort();
    size_t step = size <= ALL_PREFIXES ? 1 : size / 256;
    for (size_t k = 0; k < size; k += (k < 64 || k + 64 > size) ? 1 : step) {
        char *p = malloc(k ? k : 1);
        if (!p)
            abort();
        memcpy(p, data, k);
        ssize_t qr = parse_fn(p, k, h, FUZZ_NHEADERS);
        free(p);
        if (!known(qr))
            fail("a prefix gave an unknown result", data, size);
        if (r > 0 && k < (size_t)r && qr != SOCKIT_EINCOMPLETE)
            fail("a prefix shorter than the head is not SOCKIT_EINCOMPLETE", data, size);
        if (r > 0 && k >= (size_t)r && qr != r)
            fail("a prefix holding the whole head gave another answer", data, size);
        if (r == SOCKIT_EINCOMPLETE && qr != SOCKIT_EINCOMPLETE)
            fail("a prefix of an incomplete input is not SOCKIT_EINCOMPLETE", data, size);
        if (is_error(r) && qr > 0)
            fail("a prefix succeeds where the whole input fails", data, size);
        if (is_error(qr) && !is_error(r))
            fail("an error in a prefix that the whole input does not give", data, size);
    }
    free(h);
}

#endif /* SOCKIT_FUZZ_HTTP_H */
