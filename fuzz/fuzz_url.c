/*
 * Fuzz target for sockit url: sockit_url_parse, sockit_url_port, sockit_url_is,
 * sockit_url_resolve, sockit_url_decode and sockit_url_encode.
 *
 * Input: any bytes. All of them are parsed as one URI reference, from an exact-size copy with no
 * NUL after it (so ASan sees a read past len). For resolution the input is split in two: at the
 * first '\n' if there is one (a byte no URL may hold, so a seed reads "BASE\nREF"), else at the
 * byte data[0] % (size + 1) picks; each half, cut at its first NUL, is a C string.
 *
 * What aborts (a bug for the fuzzer to report):
 *   - parse: a success whose pieces do not lie inside the input, do not reassemble it exactly
 *     (scheme ":" "//" userinfo "@" host ":" port path "?" query "#" fragment, brackets around
 *     an IP literal, a ':' before an empty port), hold a byte RFC 3986 forbids where they stand
 *     (the scheme is ALPHA *(ALPHA / DIGIT / "+" / "-" / "."), a bad escape, an IPv6 literal
 *     inet_pton rejects, a relative path with ':' in its first segment ...), a port_num other than
 *     the port's digits, a user/password that is not userinfo split at its first ':'; a failure
 *     other than SOCKIT_EBADURL or without a message of its own; sockit_url_port or
 *     sockit_url_is disagreeing with the pieces;
 *   - resolve: a result other than RFC 3986 section 5.2 computed here independently (from the
 *     Appendix B split) — where url.h leaves a choice, either answer is taken: "http:g" against
 *     an http base (strict, or urljoin's backward-compatible one), a ':' before an empty port
 *     (kept, or dropped), an empty reference against a base with a fragment (base verbatim, or
 *     without its fragment); a path that dot removal turned into "//x" without an authority must
 *     be written "/.//x" (as WHATWG does: as is, it would read back as authority "x"), so a
 *     result that does not parse, is not absolute, or has an authority when section 5.2 gives
 *     it none (or none when it does) aborts; so does a failure when
 *     base is absolute and both parse, or a success when they do not; with exactly enough room
 *     (buffer pre-filled with 'Q' and with '/') an answer other than the one with 4 KiB, and
 *     anything but -ENOBUFS with one byte less; a write past the buffer (ASan);
 *   - decode: a result other than the one computed here, SOCKIT_EBADURL exactly when a '%' is
 *     not followed by two hex digits; in-place decoding that differs; -ENOBUFS not exactly when
 *     the result does not fit;
 *   - encode: a byte other than unreserved, safe or %XX (upper case), a length that is not the
 *     one computed here, decode(encode(x)) != x, -ENOBUFS not exactly when it does not fit.
 */
#include <sockit/sockit.h> /* first: <sockit/url.h> alone does not compile yet (see the report) */
#include <sockit/url.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 4096
#define OUTCAP 4096 /* the resolve output buffer */

static void fail3(const char *what, const char *a, size_t an, const char *b)
{
    fprintf(stderr, "fuzz_url: %s: \"", what);
    for (size_t i = 0; a && i < an; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "\"%s%s\n", b ? " " : "", b ? b : "");
    abort();
}

static void fail(const char *what, const char *s, size_t n)
{
    fail3(what, s, n, NULL);
}

/* ---- character classes of RFC 3986 ---------------------------------------------------------- */

static int is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hexval(int c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static int is_unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static int is_subdelim(int c)
{
    return c && strchr("!$&'()*+,;=", c) != NULL;
}

/* n bytes of unreserved, sub-delims, `extra` and well-formed %XX only. */
static int all_allowed(const char *p, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%') {
            if (i + 2 >= n || !is_hex(p[i + 1]) || !is_hex(p[i + 2]))
                return 0;
            i += 2;
        } else if (!(is_unreserved(c) || is_subdelim(c) || (c && strchr(extra, c)))) {
            return 0;
        }
    }
    return 1;
}

static int inside(sockit_str x, const char *s, size_t len)
{
    return x.p == NULL || (x.p >= s && x.p <= s + len && x.n <= (size_t)(s + len - x.p));
}

static int piece_eq(sockit_str x, const char *at, size_t n)
{
    return x.p && x.n == n && (n == 0 || memcmp(x.p, at, n) == 0);
}

/* ---- parse invariants ------------------------------------------------------------------------ */

static const char *check_ip_literal(const char *h, size_t hn)
{
    if (hn > 0 && (h[0] == 'v' || h[0] == 'V')) { /* IPvFuture */
        size_t i = 1;
        while (i < hn && is_hex(h[i]))
            i++;
        if (!(i > 1 && i < hn && h[i] == '.' && i + 1 < hn))
            return "bad IPvFuture literal";
        for (i++; i < hn; i++)
            if (!(is_unreserved((unsigned char)h[i]) || is_subdelim(h[i]) || h[i] == ':'))
                return "IPvFuture byte not allowed";
        return NULL;
    }
    size_t an = hn;
    for (size_t i = 0; i + 2 < hn; i++)
        if (h[i] == '%' && h[i + 1] == '2' && h[i + 2] == '5') {
            an = i;
            break;
        }
    if (an < hn && !all_allowed(h + an + 3, hn - an - 3, "")) /* RFC 6874 ZoneID */
        return "bad zone";
    char a[64];
    struct in6_addr a6;
    if (an >= sizeof a)
        return "IPv6 literal too long";
    memcpy(a, h, an);
    a[an] = 0;
    if (memchr(h, 0, an) || inet_pton(AF_INET6, a, &a6) != 1)
        return "IPv6 literal that inet_pton rejects";
    return NULL;
}

/* NULL if the successful parse u of s[0..len) is sound, else what is wrong. */
static const char *check_invariants(const sockit_url *u, const char *s, size_t len)
{
    size_t pos = 0;
    if (!(inside(u->scheme, s, len) && inside(u->userinfo, s, len) && inside(u->user, s, len) &&
          inside(u->password, s, len) && inside(u->host, s, len) && inside(u->port, s, len) &&
          inside(u->path, s, len) && inside(u->query, s, len) && inside(u->fragment, s, len)))
        return "a piece outside the input";
    if (!u->path.p)
        return "path absent";
    if (u->scheme.p) {
        if (u->scheme.n == 0 || !piece_eq(u->scheme, s, u->scheme.n))
            return "scheme not at the start";
        if (!isalpha((unsigned char)s[0]))
            return "scheme not ALPHA first";
        for (size_t i = 0; i < u->scheme.n; i++)
            if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.')
                return "scheme byte not ALPHA / DIGIT / + - .";
        pos = u->scheme.n;
        if (pos >= len || s[pos] != ':')
            return "no ':' after the scheme";
        pos++;
    }
    if (u->host.p) {
        if (len - pos < 2 || s[pos] != '/' || s[pos + 1] != '/')
            return "host without '//'";
        pos += 2;
        if (u->userinfo.p) {
            if (pos + u->userinfo.n >= len || !piece_eq(u->userinfo, s + pos, u->userinfo.n))
                return "userinfo not where it stands";
            if (!all_allowed(u->userinfo.p, u->userinfo.n, ":"))
                return "userinfo byte not allowed";
            pos += u->userinfo.n;
            if (s[pos] != '@')
                return "no '@' after userinfo";
            pos++;
            if (u->user.p != u->userinfo.p)
                return "user not at the start of userinfo";
            const char *colon = memchr(u->userinfo.p, ':', u->userinfo.n);
            if (colon) {
                size_t un = (size_t)(colon - u->userinfo.p);
                if (u->user.n != un)
                    return "user not up to the first ':'";
                if (u->password.p != colon + 1 || u->password.n != u->userinfo.n - un - 1)
                    return "password not after the first ':'";
            } else if (u->user.n != u->userinfo.n || u->password.p) {
                return "userinfo without ':' not all user";
            }
        } else if (u->user.p || u->password.p) {
            return "user/password without userinfo";
        }
        if (u->host_is_ipv6) {
            if (pos >= len || s[pos] != '[')
                return "IP literal without '['";
            pos++;
        }
        if (pos + u->host.n > len || !piece_eq(u->host, s + pos, u->host.n))
            return "host not where it stands";
        if (u->host_is_ipv6) {
            const char *why = check_ip_literal(u->host.p, u->host.n);
            if (why)
                return why;
            pos += u->host.n;
            if (pos >= len || s[pos] != ']')
                return "IP literal without ']'";
            pos++;
        } else {
            if (!all_allowed(u->host.p, u->host.n, ""))
                return "host byte not allowed";
            pos += u->host.n;
        }
        if (u->port.p) {
            if (pos >= len || s[pos] != ':')
                return "no ':' before the port";
            pos++;
            if (u->port.n == 0 || !piece_eq(u->port, s + pos, u->port.n))
                return "port not where it stands";
            long v = 0;
            for (size_t i = 0; i < u->port.n; i++) {
                if (!isdigit((unsigned char)u->port.p[i]))
                    return "port byte not a digit";
                v = v * 10 + (u->port.p[i] - '0');
                if (v > 65535)
                    return "port above 65535";
            }
            if (u->port_num != v)
                return "port_num is not the port's digits";
            pos += u->port.n;
        } else {
            if (pos < len && s[pos] == ':')
                pos++; /* "http://h:/": an empty port */
            if (u->port_num != -1)
                return "port_num without a port";
        }
        if (u->path.n > 0 && u->path.p[0] != '/')
            return "path after an authority not starting '/'";
    } else {
        if (u->userinfo.p || u->user.p || u->password.p || u->port.p)
            return "authority pieces without a host";
        if (u->port_num != -1 || u->host_is_ipv6)
            return "port_num/host_is_ipv6 without a host";
        if (u->path.n >= 2 && u->path.p[0] == '/' && u->path.p[1] == '/')
            return "path starting '//' without an authority";
        if (!u->scheme.p) {
            size_t seg = 0;
            while (seg < u->path.n && u->path.p[seg] != '/')
                seg++;
            if (memchr(u->path.p, ':', seg))
                return "relative path with ':' in its first segment";
        }
    }
    if (pos + u->path.n > len || !piece_eq(u->path, s + pos, u->path.n))
        return "path not where it stands";
    if (!all_allowed(u->path.p, u->path.n, ":@/"))
        return "path byte not allowed";
    pos += u->path.n;
    if (u->query.p) {
        if (pos >= len || s[pos] != '?')
            return "no '?' before the query";
        pos++;
        if (pos + u->query.n > len || !piece_eq(u->query, s + pos, u->query.n))
            return "query not where it stands";
        if (!all_allowed(u->query.p, u->query.n, ":@/?"))
            return "query byte not allowed";
        pos += u->query.n;
    }
    if (u->fragment.p) {
        if (pos >= len || s[pos] != '#')
            return "no '#' before the fragment";
        pos++;
        if (pos + u->fragment.n > len || !piece_eq(u->fragment, s + pos, u->fragment.n))
            return "fragment not where it stands";
        if (!all_allowed(u->fragment.p, u->fragment.n, ":@/?"))
            return "fragment byte not allowed";
        pos += u->fragment.n;
    }
    if (pos != len)
        return "the pieces do not reassemble the whole input";
    return NULL;
}

/* A message left in this thread that no URL call produces. */
static char armed[512];

static void arm_errmsg(void)
{
    sockit_addr a;
    char path[300];
    memset(path, 'x', sizeof path - 1);
    memcpy(path, "/fuzz-url\n", 10);
    path[sizeof path - 1] = 0;
    (void)sockit_addr_unix(&a, path);
    snprintf(armed, sizeof armed, "%s", sockit_errmsg());
}

static void check_failure(long r, long want, const char *call, const char *s, size_t n)
{
    if (r != want)
        fail3(call, s, n, "failed with an unexpected code");
    const char *m = sockit_errmsg();
    if (!m || !*m || !strcmp(m, armed))
        fail3(call, s, n, "failed without a message of its own");
}

static int default_port(const sockit_url *u)
{
    static const struct {
        const char *name;
        int port;
    } d[] = {{"http", 80}, {"https", 443}, {"ftp", 21}, {"ftps", 990}, {"ws", 80}, {"wss", 443}};
    if (!u->scheme.p)
        return -1;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        if (u->scheme.n == strlen(d[i].name) && !strncasecmp(u->scheme.p, d[i].name, u->scheme.n))
            return d[i].port;
    return -1;
}

/* Parses s[0..n) (no NUL after it) and checks everything; 1 if it parsed. */
static int check_parse(const char *s, size_t n, sockit_url *u)
{
    arm_errmsg();
    int r = sockit_url_parse(u, s, n);
    if (r != 0) {
        check_failure(r, SOCKIT_EBADURL, "sockit_url_parse", s, n);
        return 0;
    }
    const char *why = check_invariants(u, s, n);
    if (why)
        fail3("parse invariant", s, n, why);
    int want = u->port.p ? u->port_num : default_port(u);
    if (sockit_url_port(u) != want)
        fail("sockit_url_port disagrees with the pieces", s, n);
    if (u->scheme.p && u->scheme.n < 64) {
        char a[64];
        memcpy(a, u->scheme.p, u->scheme.n);
        a[u->scheme.n] = 0;
        if (sockit_url_is(u, a) != 1)
            fail("sockit_url_is(own scheme) is not 1", s, n);
        for (size_t i = 0; a[i]; i++)
            a[i] = (char)(isupper((unsigned char)a[i]) ? tolower((unsigned char)a[i])
                                                       : toupper((unsigned char)a[i]));
        if (sockit_url_is(u, a) != 1)
            fail("sockit_url_is(own scheme, case swapped) is not 1", s, n);
        a[u->scheme.n - 1] = 0;
        if (sockit_url_is(u, a) != 0)
            fail("sockit_url_is(a prefix of the scheme) is not 0", s, n);
    }
    if (!u->scheme.p && sockit_url_is(u, "http") != 0)
        fail("sockit_url_is without a scheme is not 0", s, n);
    return 1;
}

/* ---- RFC 3986 section 5.2, independently --------------------------------------------------- */

typedef struct {
    const char *p;
    size_t n;
    int has;
} piece;

typedef struct {
    piece scheme, auth, path, query, frag;
} parts;

static int is_delim(char c, const char *set)
{
    return c != 0 && strchr(set, c) != NULL;
}

/* The regular expression of RFC 3986 Appendix B. */
static void split(const char *s, size_t n, parts *r)
{
    size_t i = 0, j = 0;
    memset(r, 0, sizeof *r);
    while (j < n && !is_delim(s[j], ":/?#"))
        j++;
    if (j > 0 && j < n && s[j] == ':') {
        r->scheme = (piece){s, j, 1};
        i = j + 1;
    }
    if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        i += 2;
        for (j = i; j < n && !is_delim(s[j], "/?#"); j++) {
        }
        r->auth = (piece){s + i, j - i, 1};
        i = j;
    }
    for (j = i; j < n && s[j] != '?' && s[j] != '#'; j++) {
    }
    r->path = (piece){s + i, j - i, 1};
    i = j;
    if (i < n && s[i] == '?') {
        for (j = ++i; j < n && s[j] != '#'; j++) {
        }
        r->query = (piece){s + i, j - i, 1};
        i = j;
    }
    if (i < n && s[i] == '#')
        r->frag = (piece){s + i + 1, n - i - 1, 1};
}

/* Section 5.2.4, into out (room for n + 1 bytes); returns the length. */
static size_t remove_dots(const char *in, size_t n, char *out)
{
    char *b = malloc(n + 1);
    size_t i = 0, o = 0;
    if (!b)
        abort();
    memcpy(b, in, n);
    while (i < n) {
        size_t rest = n - i;
        const char *p = b + i;
        if (rest >= 3 && !memcmp(p, "../", 3)) {
            i += 3;
        } else if (rest >= 2 && !memcmp(p, "./", 2)) {
            i += 2;
        } else if (rest >= 3 && !memcmp(p, "/./", 3)) {
            i += 2;
        } else if (rest == 2 && !memcmp(p, "/.", 2)) {
            i += 1;
            b[i] = '/';
        } else if ((rest >= 4 && !memcmp(p, "/../", 4)) || (rest == 3 && !memcmp(p, "/..", 3))) {
            i += rest == 3 ? 2 : 3;
            b[i] = '/';
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if ((rest == 1 && p[0] == '.') || (rest == 2 && !memcmp(p, "..", 2))) {
            i = n;
        } else {
            size_t k = b[i] == '/' ? 1 : 0;
            while (i + k < n && b[i + k] != '/')
                k++;
            memcpy(out + o, b + i, k);
            o += k;
            i += k;
        }
    }
    free(b);
    return o;
}

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            abort();
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = 0;
}

/* The variants url.h leaves open, as bits of `how`:
 *   COMPAT      a reference with the base's scheme and no authority is taken as relative (urljoin);
 *   DROP_PORT   an authority ending in ':' (an empty port) loses the ':';
 *   DOT_GUARD   a path starting "//" without an authority is written "/.//" (as WHATWG does),
 *               since RFC 3986 section 5.2.4 alone would make its first segment an authority. */
enum { COMPAT = 1, DROP_PORT = 2, DOT_GUARD = 4, ALL_HOW = 8 };

/* Returns 1 if the result has an authority. */
static int rfc_resolve(const parts *B, const parts *R, int how, sbuf *t)
{
    int compat = how & COMPAT, drop_empty_port = how & DROP_PORT;
    piece scheme, auth, path, query;
    char *tmp = malloc(B->path.n + R->path.n + 2), *dots = malloc(B->path.n + R->path.n + 2);
    int dotted = 1;
    if (!tmp || !dots)
        abort();
    if (R->scheme.has && !(compat && R->scheme.n == B->scheme.n && !R->auth.has &&
                           !strncasecmp(R->scheme.p, B->scheme.p, B->scheme.n))) {
        scheme = R->scheme, auth = R->auth, path = R->path, query = R->query;
    } else {
        scheme = B->scheme;
        if (R->auth.has) {
            auth = R->auth, path = R->path, query = R->query;
        } else {
            auth = B->auth;
            if (R->path.n == 0) {
                path = B->path, query = R->query.has ? R->query : B->query;
                dotted = 0;
            } else {
                query = R->query;
                if (R->path.p[0] == '/') {
                    path = R->path;
                } else { /* section 5.2.3 */
                    size_t k = 0;
                    if (B->auth.has && B->path.n == 0) {
                        tmp[k++] = '/';
                    } else {
                        size_t last = B->path.n;
                        while (last > 0 && B->path.p[last - 1] != '/')
                            last--;
                        memcpy(tmp, B->path.p, last);
                        k = last;
                    }
                    memcpy(tmp + k, R->path.p, R->path.n);
                    path = (piece){tmp, k + R->path.n, 1};
                }
            }
        }
    }
    if (dotted)
        path = (piece){dots, remove_dots(path.p, path.n, dots), 1};
    t->n = 0;
    put(t, scheme.p, scheme.n);
    put(t, ":", 1);
    if (auth.has) {
        size_t an = auth.n;
        if (drop_empty_port && an > 0 && auth.p[an - 1] == ':')
            an--;
        put(t, "//", 2);
        put(t, auth.p, an);
    }
    if ((how & DOT_GUARD) && !auth.has && path.n >= 2 && path.p[0] == '/' && path.p[1] == '/')
        put(t, "/.", 2);
    put(t, path.p, path.n);
    if (query.has) {
        put(t, "?", 1);
        put(t, query.p, query.n);
    }
    if (R->frag.has) {
        put(t, "#", 1);
        put(t, R->frag.p, R->frag.n);
    }
    free(tmp);
    free(dots);
    return auth.has;
}

static char *cstr(const uint8_t *p, size_t n)
{
    size_t k = 0;
    while (k < n && p[k])
        k++;
    char *s = malloc(k + 1);
    if (!s)
        abort();
    memcpy(s, p, k);
    s[k] = 0;
    return s;
}

static void check_resolve(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t k = nl ? (size_t)(nl - data) : size ? data[0] % (size + 1) : 0;
    char *base = cstr(data, k), *ref = cstr(data + k + (nl ? 1 : 0), size - k - (nl ? 1 : 0));
    size_t bn = strlen(base), rn = strlen(ref);
    char *out = malloc(OUTCAP);
    sbuf want = {0}, alt = {0};
    sockit_url bu, ru;
    char both[MAX_INPUT * 2 + 64];
    if (!out)
        abort();
    snprintf(both, sizeof both, "(base \"%s\", ref \"%s\")", base, ref);
    /* exact-size copies for parse, so over-reads show */
    char *bx = malloc(bn ? bn : 1), *rx = malloc(rn ? rn : 1);
    memcpy(bx, base, bn);
    memcpy(rx, ref, rn);
    int bok = check_parse(bx, bn, &bu) && bu.scheme.p, rok = check_parse(rx, rn, &ru);
    free(bx);
    free(rx);

    arm_errmsg();
    ssize_t r = sockit_url_resolve(base, ref, out, OUTCAP);
    if (!bok || !rok) {
        if (r >= 0)
            fail3("resolve succeeded with a bad base or reference", ref, rn, both);
        check_failure(r, SOCKIT_EBADURL, "resolve", ref, rn);
        goto out;
    }
    parts B, R;
    split(base, bn, &B);
    split(ref, rn, &R);
    int want_auth = rfc_resolve(&B, &R, 0, &want);
    if (r < 0) {
        if (r == -ENOBUFS && want.n + 1 > OUTCAP - 0)
            goto out;
        fail3("resolve failed on a good base and reference", ref, rn, both);
    }
    if ((size_t)r >= OUTCAP || strlen(out) != (size_t)r)
        fail3("resolve returned a length other than the result's", ref, rn, both);
    int ok = !strcmp(out, want.s);
    for (int how = 1; !ok && how < ALL_HOW; how++) {
        rfc_resolve(&B, &R, how, &alt);
        ok = !strcmp(out, alt.s);
    }
    if (!ok && rn == 0 && !strcmp(out, base)) /* urljoin(base, "") is base, fragment and all */
        ok = 1;
    if (!ok) {
        fprintf(stderr, "fuzz_url: resolve gave \"%s\", RFC 3986 says \"%s\"\n", out, want.s);
        fail3("resolve disagrees with RFC 3986 section 5.2", ref, rn, both);
    }
    /* The exact capacity gives the same answer, one byte less is -ENOBUFS, whatever the buffer
     * held before (the resolver must never read back bytes it did not write). */
    for (int f = 0; f < 2; f++) {
        char *ex = malloc((size_t)r + 1);
        memset(ex, f ? '/' : 'Q', (size_t)r + 1);
        ssize_t r2 = sockit_url_resolve(base, ref, ex, (size_t)r + 1);
        if (r2 != r || strcmp(ex, out))
            fail3("resolve with exactly enough room differs", ref, rn, both);
        memset(ex, f ? '/' : 'Q', (size_t)r + 1);
        if (sockit_url_resolve(base, ref, ex, (size_t)r) != -ENOBUFS)
            fail3("resolve without room for the NUL is not -ENOBUFS", ref, rn, both);
        free(ex);
    }
    sockit_url tu;
    char *tx = malloc((size_t)r ? (size_t)r : 1);
    memcpy(tx, out, (size_t)r);
    if (!check_parse(tx, (size_t)r, &tu) || !tu.scheme.p)
        fail3("resolve result does not parse as an absolute URL", out, (size_t)r, both);
    /* and it has an authority exactly when RFC 3986 gives the result one */
    if ((tu.host.p != NULL) != want_auth)
        fail3("resolve result gained or lost an authority", out, (size_t)r, both);
    free(tx);
out:
    free(want.s);
    free(alt.s);
    free(base);
    free(ref);
    free(out);
}

/* ---- percent-coding -------------------------------------------------------------------------- */

static void check_decode(const char *s, size_t n, int plus)
{
    /* the answer, computed here */
    char *want = malloc(n + 1);
    size_t wn = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) {
                bad = 1;
                break;
            }
            want[wn++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            want[wn++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    char *out = malloc(n + 1);
    arm_errmsg();
    ssize_t r = sockit_url_decode(out, n + 1, s, n, plus);
    if (bad) {
        check_failure(r, SOCKIT_EBADURL, "decode", s, n);
    } else {
        if (r != (ssize_t)wn || memcmp(out, want, wn) || out[wn] != 0)
            fail("decode differs from the expected bytes", s, n);
        /* in place */
        char *in = malloc(n + 1);
        memcpy(in, s, n);
        r = sockit_url_decode(in, n + 1, in, n, plus);
        if (r != (ssize_t)wn || memcmp(in, want, wn))
            fail("in-place decode differs", s, n);
        free(in);
        /* one byte short: -ENOBUFS, no write past the buffer */
        char *small = malloc(wn ? wn : 1);
        r = sockit_url_decode(small, wn, s, n, plus);
        if (r != -ENOBUFS)
            fail("decode without room for the NUL is not -ENOBUFS", s, n);
        free(small);
    }
    free(out);
    free(want);
}

static void check_encode(const char *s, size_t n, const char *safe)
{
    size_t wn = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        wn += is_unreserved(c) || (safe && c && strchr(safe, c)) ? 1 : 3;
    }
    char *out = malloc(wn + 1);
    ssize_t r = sockit_url_encode(out, wn + 1, s, n, safe);
    if (r != (ssize_t)wn || out[wn] != 0)
        fail("encode length is not the expected one", s, n);
    for (size_t i = 0; i < wn; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c == '%' && !(safe && strchr(safe, '%'))) {
            if (i + 2 >= wn || !strchr("0123456789ABCDEF", out[i + 1]) || !out[i + 1] ||
                !strchr("0123456789ABCDEF", out[i + 2]) || !out[i + 2])
                fail("encode wrote a bad or lower-case escape", s, n);
            i += 2;
        } else if (!is_unreserved(c) && !(safe && c && strchr(safe, c))) {
            fail("encode left a byte that is neither unreserved nor safe", s, n);
        }
    }
    if (!(safe && strchr(safe, '%'))) {
        char *back = malloc(n + 1);
        ssize_t d = sockit_url_decode(back, n + 1, out, wn, 0);
        if (d != (ssize_t)n || memcmp(back, s, n))
            fail("decode(encode(x)) != x", s, n);
        free(back);
    }
    char *small = malloc(wn ? wn : 1);
    if (sockit_url_encode(small, wn, s, n, safe) != -ENOBUFS)
        fail("encode without room for the NUL is not -ENOBUFS", s, n);
    free(small);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    char *s = malloc(size ? size : 1); /* exactly the input, no NUL after it */
    if (!s)
        return 0;
    memcpy(s, data, size);
    sockit_url u;
    check_parse(s, size, &u);
    check_resolve(data, size);
    int c = size ? data[0] : 0;
    check_decode(s, size, c & 1);
    check_encode(s, size, NULL);
    check_encode(s, size, (c & 2) ? "/" : ":@/?");
    free(s);
    return 0;
}
