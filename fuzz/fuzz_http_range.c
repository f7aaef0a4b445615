/*
 * Fuzz target for the static-file handler's header values (src/internal/http_file.h):
 * sockit__http_range, sockit__http_etag_match, sockit__http_date_parse/_format,
 * sockit__http_if_range, sockit__http_preconditions, sockit__http_accept_encoding and
 * sockit__http_content_type.
 *
 * Input: data[0] picks the file size (0, 1, 10, 1000, 2^63, 2^64-1, or data[1..8] as a number)
 * and which available encodings there are; the rest, from an exact-size copy (no NUL after it,
 * so ASan sees a read past len), is given to each function as a field value.
 *
 * What aborts (a bug for the fuzzer to report):
 *   - Range: a status other than 200/206/416; a 206 range that is empty or not inside the file;
 *     for a value of the exact form "bytes=A-B", "bytes=A-" or "bytes=-N" with numbers below
 *     10^18, an answer other than RFC 9110 14.1.2's, computed here;
 *   - entity-tags: a result other than 0/1/SOCKIT_EPROTO; a strong match where the weak one
 *     fails; a failure without a message;
 *   - dates: an accepted date whose IMF-fixdate does not parse back to the same instant (leap
 *     second 60 aside), a formatted date that is not 29 bytes of the fixed shape;
 *   - preconditions: a status other than 200/304/412, range_applies other than 0/1 or set with
 *     a status other than 200;
 *   - Accept-Encoding: a choice that is not available, or not one of 0/br/gzip;
 *   - Content-Type: NULL or an empty type.
 */
#include "internal/http_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 4096

static void fail(const char *what, const char *s, size_t n)
{
    fprintf(stderr, "fuzz_http_range: %s: \"", what);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') fputc(c, stderr);
        else fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "\"\n");
    abort();
}

/* Digits at s[*i..n) as a number, -1 if none or 18 digits or more. */
static int64_t small_number(const char *s, size_t n, size_t *i)
{
    size_t st = *i;
    int64_t v = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        if (*i - st >= 17) return -1;
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    return *i > st ? v : -1;
}

/* RFC 9110 14.1.2 for the three simple forms; 0 when the value is not one of them. */
static int range_reference(const char *s, size_t n, uint64_t size, uint64_t *first, uint64_t *len)
{
    size_t i = 6;
    if (n < 7 || memcmp(s, "bytes=", 6) != 0) return 0;
    if (s[i] == '-') {
        i++;
        int64_t k = small_number(s, n, &i);
        if (k < 0 || i != n) return 0;
        if (k == 0 || size == 0) return 416;
        *len = (uint64_t)k < size ? (uint64_t)k : size;
        *first = size - *len;
        return 206;
    }
    int64_t a = small_number(s, n, &i), b = -1;
    if (a < 0 || i >= n || s[i] != '-') return 0;
    i++;
    if (i < n) {
        b = small_number(s, n, &i);
        if (b < 0 || i != n) return 0;
        if (b < a) return 200;
    }
    if ((uint64_t)a >= size) return 416;
    uint64_t last = b >= 0 && (uint64_t)b < size - 1 ? (uint64_t)b : size - 1;
    *first = (uint64_t)a;
    *len = last - *first + 1;
    return 206;
}

static void check_range(const char *s, size_t n, uint64_t size)
{
    uint64_t first = 0, len = 0, rf = 0, rl = 0;
    int r = sockit__http_range(s, n, size, &first, &len);
    if (r != 200 && r != 206 && r != 416) fail("range: a status other than 200/206/416", s, n);
    if (r == 206 && (len == 0 || first >= size || len > size - first)) fail("range: a 206 outside the file", s, n);
    int want = range_reference(s, n, size, &rf, &rl);
    if (want && (r != want || (r == 206 && (first != rf || len != rl))))
        fail("range: an answer other than RFC 9110's", s, n);
}

static void check_dates(const char *s, size_t n)
{
    int64_t t, back;
    char f[SOCKIT__DATE_LEN + 1];
    if (sockit__http_date_parse(s, n, &t) != 0) return;
    sockit__http_date_format(f, t);
    if (strlen(f) != SOCKIT__DATE_LEN || f[3] != ',' || memcmp(f + 26, "GMT", 3) != 0)
        fail("date: a formatted date of the wrong shape", s, n);
    if (sockit__http_date_parse(f, SOCKIT__DATE_LEN, &back) != 0 || back != t)
        fail("date: the formatted date does not parse back", s, n);
}

static void check_tags(const char *s, size_t n)
{
    static const char *const tags[] = {"\"a\"", "W/\"a\"", "\"\"", "\"abc-1-2\""};
    for (size_t k = 0; k < 4; k++) {
        int strong = sockit__http_etag_match(s, n, tags[k], 0);
        int weak = sockit__http_etag_match(s, n, tags[k], 1);
        if ((strong != 0 && strong != 1 && strong != SOCKIT_EPROTO) || (weak != 0 && weak != 1 && weak != SOCKIT_EPROTO))
            fail("etag: an unexpected result", s, n);
        if ((strong == SOCKIT_EPROTO) != (weak == SOCKIT_EPROTO)) fail("etag: validity depends on the comparison", s, n);
        if (strong == 1 && weak != 1) fail("etag: a strong match that is not a weak one", s, n);
        if (strong == SOCKIT_EPROTO && !sockit_errmsg()[0]) fail("etag: a failure without a message", s, n);
        int ir = sockit__http_if_range(s, n, tags[k], 784111777);
        if (ir != 0 && ir != 1) fail("if-range: not 0 or 1", s, n);
    }
}

static void check_preconditions(const char *s, size_t n)
{
    for (int field = 0; field < 6; field++) {
        for (int method = 0; method < 3; method++) {
            sockit__http_cond c;
            memset(&c, 0, sizeof c);
            const char **f[] = {&c.if_match, &c.if_none_match, &c.if_modified_since, &c.if_unmodified_since,
                                &c.if_range, &c.range};
            size_t *l[] = {&c.if_match_len, &c.if_none_match_len, &c.if_modified_since_len,
                           &c.if_unmodified_since_len, &c.if_range_len, &c.range_len};
            *f[field] = s;
            *l[field] = n;
            if (field == 4) {
                c.range = "bytes=0-1";
                c.range_len = 9;
            }
            int ra = 9;
            int r = sockit__http_preconditions(&c, method, "\"abc-1-2\"", 784111777, &ra);
            if (r != 200 && r != 304 && r != 412) fail("preconditions: a status other than 200/304/412", s, n);
            if (ra != 0 && ra != 1) fail("preconditions: range_applies not 0 or 1", s, n);
            if (ra && (r != 200 || method != SOCKIT__METHOD_GET)) fail("preconditions: a range that applies wrongly", s, n);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t sizes[] = {0, 1, 10, 1000, (uint64_t)1 << 63, UINT64_MAX};
    if (size == 0 || size > MAX_INPUT) return 0;
    uint64_t fsize;
    if (data[0] % 7 < 6) {
        fsize = sizes[data[0] % 7];
    } else {
        fsize = 0;
        for (size_t i = 1; i < 9 && i < size; i++)
            fsize = fsize << 8 | data[i];
    }
    int avail = (data[0] >> 3) & 3;
    size_t n = size - 1;
    char *s = malloc(n ? n : 1);
    memcpy(s, data + 1, n);
    check_range(s, n, fsize);
    check_tags(s, n);
    check_dates(s, n);
    check_preconditions(s, n);
    int e = sockit__http_accept_encoding(s, n, avail);
    if ((e & ~avail) || (e != 0 && e != SOCKIT__ENC_BR && e != SOCKIT__ENC_GZIP))
        fail("accept-encoding: a choice that is not available", s, n);
    const char *ct = sockit__http_content_type(s, n);
    if (!ct || !ct[0]) fail("content-type: none", s, n);
    free(s);
    return 0;
}
