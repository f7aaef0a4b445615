/*
 * Fuzz target for the HTTP server's request-line and authority checks (src/http/reqline.c):
 * sockit__http_line_check, _line_prefix_ok, _line_plausible and _authority_ok, the functions
 * that decide, before the parser runs, whether bytes can be a request at all (a stall is closed
 * early) and which error status a refused head gets (400/414/505), and whether a Host or an
 * absolute-form authority is acceptable.
 *
 * Input: the bytes up to the first LF are the line (an exact-size copy, so ASan sees any read
 * past it); the rest is an authority.
 *
 * What aborts (a bug for the fuzzer to report):
 *   - line_check: a result other than 0/505/-1; for a valid line, a method that is not all
 *     token characters from the first byte, a target that is empty or holds a byte outside
 *     0x21..0x7e, or one of them not inside the line;
 *   - plausibility that is not monotone: a prefix judged impossible while a longer prefix is
 *     judged possible (the server would close a connection whose request was still arriving,
 *     or keep one that can never be a request);
 *   - a valid line some prefix of which (with or without its CR) is judged impossible;
 *   - line_prefix_ok saying yes with a target length that does not add up;
 *   - authority_ok: a result other than 0/1; valid without empty hosts but not with them;
 *     valid while holding a byte of "/?#@ " or a control byte; an accepted port that is not
 *     digits.
 */
#include "fuzz_http.h"
#include "internal/http_server.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 4096

/* fuzz_http.h's fail() takes bytes. */
#define fail(what, s, n) fail(what, (const uint8_t *)(s), n)

static void check_line(const char *p, size_t n)
{
    sockit_str m = {0}, t = {0};
    int v = sockit__http_line_check(p, n, &m, &t);
    if (v != 0 && v != 505 && v != -1) fail("line_check result", p, n);
    if (v >= 0) {
        if (m.p != p || m.n == 0 || !inside(m, p, n) || !inside(t, p, n) || t.n == 0)
            fail("line_check spans", p, n);
        for (size_t i = 0; i < m.n; i++)
            if (!sockit__http_tchar((unsigned char)m.p[i])) fail("method byte", p, n);
        for (size_t i = 0; i < t.n; i++)
            if ((unsigned char)t.p[i] <= 0x20 || (unsigned char)t.p[i] >= 0x7f)
                fail("target byte", p, n);
        /* Every prefix of a valid line, and the line with a CR, must be plausible. */
        for (size_t k = 0; k <= n; k++)
            if (!sockit__http_line_plausible(p, k)) fail("valid line's prefix implausible", p, k);
        size_t tl = 0;
        for (size_t k = m.n + 1; k <= m.n + 1 + t.n; k++)
            if (!sockit__http_line_prefix_ok(p, k, &tl) || tl != k - m.n - 1)
                fail("valid line's prefix not a prefix", p, k);
    }
    /* Monotone: once impossible, every longer prefix stays impossible. */
    int dead = 0;
    for (size_t k = 0; k <= n; k++) {
        int ok = sockit__http_line_plausible(p, k);
        if (ok != 0 && ok != 1) fail("line_plausible result", p, k);
        if (dead && ok) fail("plausible again after implausible", p, k);
        if (!ok) dead = 1;
    }
    size_t tl = 0;
    if (sockit__http_line_prefix_ok(p, n, &tl)) {
        const char *sp = memchr(p, ' ', n);
        if (!sp || (size_t)(sp - p) + 1 + tl != n) fail("prefix_ok target length", p, n);
    }
}

static void check_authority(const char *p, size_t n)
{
    int strict = sockit__http_authority_ok(p, n, 0), loose = sockit__http_authority_ok(p, n, 1);
    if ((strict != 0 && strict != 1) || (loose != 0 && loose != 1))
        fail("authority_ok result", p, n);
    if (strict && !loose) fail("authority valid strictly but not loosely", p, n);
    if (!loose) return;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c >= 0x7f || memchr("/?#@", c, 4)) fail("authority byte", p, n);
    }
    /* The port: after the last ':' outside a bracketed literal, digits only. */
    size_t h = 0;
    if (n && p[0] == '[') {
        const char *rb = memchr(p, ']', n);
        if (!rb) fail("authority literal unclosed", p, n);
        h = (size_t)(rb - p) + 1;
    } else {
        while (h < n && p[h] != ':') h++;
    }
    if (strict && h == 0) fail("empty host accepted strictly", p, n);
    if (h < n) {
        if (p[h] != ':') fail("authority after literal", p, n);
        for (size_t i = h + 1; i < n; i++)
            if (p[i] < '0' || p[i] > '9') fail("port not digits", p, n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT) return 0;
    const uint8_t *lf = memchr(data, '\n', size);
    size_t ln = lf ? (size_t)(lf - data) : size;
    char *line = malloc(ln ? ln : 1);
    if (!line) return 0;
    memcpy(line, data, ln);
    check_line(line, ln);
    free(line);
    if (lf) {
        size_t an = size - ln - 1;
        char *auth = malloc(an ? an : 1);
        if (!auth) return 0;
        memcpy(auth, lf + 1, an);
        check_authority(auth, an);
        free(auth);
    }
    return 0;
}
