/*
 * Fuzz target for the static-file handler's request paths: sockit__http_path_decode and
 * sockit__http_path_status (src/internal/http_file.h).
 *
 * Input: any bytes, decoded as one request-target from an exact-size copy (no NUL after it, so
 * ASan sees a read past len), into an exact-size output buffer of len + 2 bytes, and again into
 * every smaller one for inputs up to 64 bytes.
 *
 * What aborts (a bug for the fuzzer to report):
 *   - a result that differs from the one computed here independently (split the path at '/',
 *     decode each segment, keep a stack: "" and "." dropped, ".." pops or refuses at the root),
 *     including which refusal it is and the query;
 *   - an accepted path that does not start with '/', holds a NUL, "//", a backslash, a "." or
 *     ".." segment, a trailing_slash flag that disagrees with its last byte, or a NUL missing;
 *   - a refusal without a message of its own, or a status other than 400/403/414;
 *   - with a smaller buffer, anything but the same answer or SOCKIT__PATH_ETOOLONG, or a write
 *     past it (ASan).
 */
#include "internal/http_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 4096

static void fail(const char *what, const uint8_t *s, size_t n)
{
    fprintf(stderr, "fuzz_http_path: %s: \"", what);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') fputc(c, stderr);
        else fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "\"\n");
    abort();
}

static int hex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* The reference: returns the code, and the path in want (NUL-terminated) when accepted. */
static int reference(const uint8_t *t, size_t n, char *want, size_t *qoff, int *hasq)
{
    size_t i = 0, o = 0;
    /* absolute-form: scheme "://" authority */
    if (n && is_alpha(t[0])) {
        size_t k = 0;
        while (k < n && (is_alpha(t[k]) || (t[k] >= '0' && t[k] <= '9') || t[k] == '+' || t[k] == '-' || t[k] == '.'))
            k++;
        if (n - k >= 3 && memcmp(t + k, "://", 3) == 0) {
            k += 3;
            while (k < n && t[k] != '/' && t[k] != '?')
                k++;
            i = k;
        }
    }
    size_t end = i;
    while (end < n && t[end] != '?')
        end++;
    *hasq = end < n;
    *qoff = end + 1;
    if (i == end && i > 0) {
        strcpy(want, "/");
        return 0;
    }
    if (i >= end || t[i] != '/') return SOCKIT__PATH_ENOTABS;
    size_t seg_start[MAX_INPUT];
    int depth = 0, slash = 0;
    /* segment by segment: a segment's bytes are checked before it counts as a dot-segment */
    while (i < end) {
        size_t s = ++i, e = s;
        char seg[MAX_INPUT];
        size_t sn = 0;
        while (e < end && t[e] != '/')
            e++;
        for (size_t k = s; k < e; k++) {
            unsigned c = t[k];
            if (c == '%') {
                if (k + 2 >= e || hex(t[k + 1]) < 0 || hex(t[k + 2]) < 0) return SOCKIT__PATH_EESCAPE;
                c = (unsigned)(hex(t[k + 1]) * 16 + hex(t[k + 2]));
                if (c == 0) return SOCKIT__PATH_ENUL;
                if (c == '/' || c == '\\') return SOCKIT__PATH_ESLASH;
                k += 2;
            } else if (c == 0) {
                return SOCKIT__PATH_ENUL;
            } else if (c == '\\') {
                return SOCKIT__PATH_EBACKSLASH;
            } else if (c <= 0x20 || c == 0x7f || c == '#') {
                return SOCKIT__PATH_EESCAPE;
            }
            seg[sn++] = (char)c;
        }
        slash = 1;
        if (sn == 0 || (sn == 1 && seg[0] == '.')) {
        } else if (sn == 2 && seg[0] == '.' && seg[1] == '.') {
            if (depth == 0) return SOCKIT__PATH_EABOVE;
            o = seg_start[--depth] - 1;
        } else {
            want[o++] = '/';
            seg_start[depth++] = o;
            memcpy(want + o, seg, sn);
            o += sn;
            slash = 0;
        }
        i = e;
    }
    if (slash || o == 0) want[o++] = '/';
    want[o] = 0;
    return 0;
}

static int sound(const char *p, size_t n)
{
    if (n == 0 || p[0] != '/' || p[n] != 0 || memchr(p, 0, n) || memchr(p, '\\', n)) return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '/') continue;
        size_t e = i + 1;
        while (e < n && p[e] != '/')
            e++;
        size_t seg = e - i - 1;
        if ((seg == 0 && e < n) || (seg == 1 && p[i + 1] == '.') ||
            (seg == 2 && p[i + 1] == '.' && p[i + 2] == '.'))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char want[MAX_INPUT + 2];
    if (size > MAX_INPUT) return 0;
    char *in = malloc(size ? size : 1), *out = malloc(size + 2);
    memcpy(in, data, size);
    sockit__http_path res;
    size_t qoff;
    int hasq;
    int r = sockit__http_path_decode(in, size, out, size + 2, &res);
    int w = reference(data, size, want, &qoff, &hasq);
    if (r < 0) {
        if (r != w) fail("a refusal other than the reference's", data, size);
        if (!sockit_errmsg()[0]) fail("a refusal without a message", data, size);
        int st = sockit__http_path_status(r);
        if (st != 400 && st != 403 && st != 414) fail("a status other than 400/403/414", data, size);
    } else {
        if (w != 0) fail("accepted what the reference refuses", data, size);
        if ((size_t)r != res.len || strcmp(out, want) != 0) fail("a path other than the reference's", data, size);
        if (!sound(out, res.len)) fail("an unsound path", data, size);
        if (res.trailing_slash != (out[res.len - 1] == '/')) fail("trailing_slash disagrees", data, size);
        if (hasq != (res.query != NULL) ||
            (hasq && (res.query != in + qoff || res.query_len != size - qoff)))
            fail("a query other than the reference's", data, size);
        if (size <= 64) {
            for (size_t cap = 0; cap < size + 2; cap++) {
                char *small = malloc(cap ? cap : 1);
                int r2 = sockit__http_path_decode(in, size, small, cap, &res);
                if (r2 != r && r2 != SOCKIT__PATH_ETOOLONG) fail("a smaller buffer changed the answer", data, size);
                if (r2 == r && strcmp(small, out) != 0) fail("a smaller buffer changed the path", data, size);
                free(small);
            }
        }
    }
    free(in);
    free(out);
    return 0;
}
