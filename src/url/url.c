/*
 * RFC 3986: parsing a URI reference into zero-copy pieces, resolving a reference against a base
 * (section 5.2), percent-coding.
 *
 * The parser makes one pass per component and checks every byte against the grammar of the
 * component it stands in; anything else is SOCKIT_EBADURL with the position. Nothing is copied
 * and nothing is repaired.
 */
#include "internal/core.h"
#include <sockit/url.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- character classes ------------------------------------------------------------------- */

enum {
    UNRESERVED = 1, /* ALPHA DIGIT - . _ ~ */
    SUBDELIM = 2,   /* ! $ & ' ( ) * + , ; = */
    PCHAR_EXTRA = 4, /* : @ */
    SLASH = 8,      /* / (paths, queries, fragments) */
    QMARK = 16,     /* ? (queries, fragments) */
    SCHEME = 32,    /* ALPHA DIGIT + - . */
    HEX = 64
};

static unsigned char cls[256];

static void init_classes(void)
{
    for (int c = 0; c < 256; c++) {
        unsigned char v = 0;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'), digit = c >= '0' && c <= '9';
        if (alpha || digit || c == '-' || c == '.' || c == '_' || c == '~') v |= UNRESERVED;
        if (c && strchr("!$&'()*+,;=", c)) v |= SUBDELIM;
        if (c == ':' || c == '@') v |= PCHAR_EXTRA;
        if (c == '/') v |= SLASH;
        if (c == '?') v |= QMARK;
        if (alpha || digit || c == '+' || c == '-' || c == '.') v |= SCHEME;
        if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= HEX;
        cls[c] = v;
    }
}

static const unsigned char *classes(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_classes);
    return cls;
}

static int bad(const char *why, size_t pos)
{
    return sockit__failmsg(SOCKIT_EBADURL, "bad URL: %s at byte %zu", why, pos);
}

/* Checks s[from, to) against the allowed classes, %XX escapes allowed. */
static int check(const char *s, size_t from, size_t to, unsigned allowed, const char *what)
{
    const unsigned char *c = classes();
    for (size_t i = from; i < to; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b == '%') {
            if (i + 2 >= to) return bad("a '%' escape is cut short", i);
            if (!(c[(unsigned char)s[i + 1]] & HEX) || !(c[(unsigned char)s[i + 2]] & HEX))
                return bad("a '%' not followed by two hex digits", i);
            i += 2;
            continue;
        }
        if (!(c[b] & allowed)) {
            char why[96];
            if (b >= 0x21 && b < 0x7f) snprintf(why, sizeof why, "%s may not contain '%c'", what, b);
            else snprintf(why, sizeof why, "%s may not contain byte 0x%02x", what, b);
            return bad(why, i);
        }
    }
    return 0;
}

static sockit_str piece(const char *s, size_t from, size_t to)
{
    return (sockit_str){s + from, to - from};
}

/* ---- the authority: [userinfo "@"] host [":" port] ---------------------------------------- */

static int parse_ip_literal(sockit_url *u, const char *s, size_t from, size_t to)
{
    /* s[from] == '[' and s[to-1] == ']' */
    const unsigned char *c = classes();
    size_t a = from + 1, b = to - 1;
    if (a < b && (s[a] == 'v' || s[a] == 'V')) { /* IPvFuture: "v" 1*HEXDIG "." 1*(...) */
        size_t i = a + 1;
        while (i < b && (c[(unsigned char)s[i]] & HEX)) i++;
        if (i == a + 1 || i >= b || s[i] != '.' || i + 1 >= b) return bad("a malformed IPvFuture literal", a);
        int r = check(s, i + 1, b, UNRESERVED | SUBDELIM | PCHAR_EXTRA, "an IPvFuture literal");
        if (r < 0) return r;
        for (size_t k = i + 1; k < b; k++)
            if (s[k] == '%' || s[k] == '@') return bad("an IPvFuture literal may not contain that", k);
    } else {
        char buf[INET6_ADDRSTRLEN + 1];
        struct in6_addr ip;
        size_t end = b;
        for (size_t k = a; k < b; k++)
            if (s[k] == '%') {
                end = k;
                break;
            }
        if (end - a >= sizeof buf) return bad("an IPv6 literal too long", a);
        for (size_t k = a; k < end; k++) /* before inet_pton, which would stop at a NUL */
            if (!(c[(unsigned char)s[k]] & HEX) && s[k] != ':' && s[k] != '.')
                return bad("not an IPv6 address", k);
        memcpy(buf, s + a, end - a);
        buf[end - a] = 0;
        if (inet_pton(AF_INET6, buf, &ip) != 1) return bad("not an IPv6 address", a);
        if (end < b) { /* RFC 6874 zone: "%25" then unreserved / pct-encoded */
            if (b - end < 4 || memcmp(s + end, "%25", 3) != 0)
                return bad("an IPv6 zone must be written %25", end);
            int r = check(s, end + 3, b, UNRESERVED, "an IPv6 zone");
            if (r < 0) return r;
        }
    }
    u->host = piece(s, a, b);
    u->host_is_ipv6 = 1;
    return 0;
}

static int parse_port(sockit_url *u, const char *s, size_t from, size_t to)
{
    long v = 0;
    if (from == to) return 0; /* "host:" — an empty port is no port (RFC 3986 section 6.2.3) */
    for (size_t i = from; i < to; i++) {
        if (s[i] < '0' || s[i] > '9') return bad("the port is not a number", i);
        v = v * 10 + (s[i] - '0');
        if (v > 65535) return bad("the port is out of range (0..65535)", from);
    }
    u->port = piece(s, from, to);
    u->port_num = (int)v;
    return 0;
}

static int parse_authority(sockit_url *u, const char *s, size_t from, size_t to)
{
    size_t h = from;
    int r;
    for (size_t i = from; i < to; i++)
        if (s[i] == '@') {
            if ((r = check(s, from, i, UNRESERVED | SUBDELIM | PCHAR_EXTRA, "the user info")) < 0) return r;
            u->userinfo = piece(s, from, i);
            size_t colon = i;
            for (size_t k = from; k < i; k++)
                if (s[k] == ':') {
                    colon = k;
                    break;
                }
            u->user = piece(s, from, colon);
            if (colon < i) u->password = piece(s, colon + 1, i);
            h = i + 1;
            break;
        }
    size_t port_at = to;
    if (h < to && s[h] == '[') {
        size_t close = h;
        while (close < to && s[close] != ']') close++;
        if (close == to) return bad("an unclosed '[' in the host", h);
        if ((r = parse_ip_literal(u, s, h, close + 1)) < 0) return r;
        if (close + 1 < to && s[close + 1] != ':') return bad("something after the IPv6 literal", close + 1);
        port_at = close + 1 < to ? close + 1 : to;
    } else {
        for (size_t k = to; k > h; k--)
            if (s[k - 1] == ':') {
                port_at = k - 1;
                break;
            }
        if ((r = check(s, h, port_at, UNRESERVED | SUBDELIM, "the host")) < 0) return r;
        u->host = piece(s, h, port_at);
    }
    if (port_at < to) return parse_port(u, s, port_at + 1, to);
    return 0;
}

/* ---- the whole reference ------------------------------------------------------------------ */

int sockit_url_parse(sockit_url *u, const char *s, size_t len)
{
    const unsigned char *c = classes();
    memset(u, 0, sizeof *u);
    u->port_num = -1;
    size_t i = 0, end;
    int r;
    /* scheme ":" — ALPHA *(ALPHA / DIGIT / "+" / "-" / ".") */
    if (len && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) {
        size_t k = 1;
        while (k < len && (c[(unsigned char)s[k]] & SCHEME)) k++;
        if (k < len && s[k] == ':') {
            u->scheme = piece(s, 0, k);
            i = k + 1;
        }
    }
    if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        i += 2;
        for (end = i; end < len && s[end] != '/' && s[end] != '?' && s[end] != '#'; end++) {}
        if ((r = parse_authority(u, s, i, end)) < 0) return r;
        if (!u->host.p) u->host = piece(s, i, i); /* "file:///p": present and empty */
        i = end;
    }
    for (end = i; end < len && s[end] != '?' && s[end] != '#'; end++) {}
    if ((r = check(s, i, end, UNRESERVED | SUBDELIM | PCHAR_EXTRA | SLASH, "the path")) < 0) return r;
    if (!u->scheme.p && !u->host.p) /* RFC 3986 4.2: no ':' in a relative path's first segment */
        for (size_t k = i; k < end && s[k] != '/'; k++)
            if (s[k] == ':') return bad("a ':' in the first segment of a relative reference", k);
    u->path = piece(s, i, end);
    i = end;
    if (i < len && s[i] == '?') {
        for (end = i + 1; end < len && s[end] != '#'; end++) {}
        if ((r = check(s, i + 1, end, UNRESERVED | SUBDELIM | PCHAR_EXTRA | SLASH | QMARK, "the query")) < 0)
            return r;
        u->query = piece(s, i + 1, end);
        i = end;
    }
    if (i < len && s[i] == '#') {
        if ((r = check(s, i + 1, len, UNRESERVED | SUBDELIM | PCHAR_EXTRA | SLASH | QMARK, "the fragment")) < 0)
            return r;
        u->fragment = piece(s, i + 1, len);
    }
    return 0;
}

int sockit_url_is(const sockit_url *u, const char *scheme)
{
    size_t n = strlen(scheme);
    return u->scheme.p && u->scheme.n == n && !strncasecmp(u->scheme.p, scheme, n);
}

int sockit_url_port(const sockit_url *u)
{
    static const struct { const char *scheme; int port; } defaults[] = {
        {"http", 80}, {"https", 443}, {"ftp", 21}, {"ftps", 990}, {"ws", 80}, {"wss", 443},
    };
    if (u->port_num >= 0) return u->port_num;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (sockit_url_is(u, defaults[i].scheme)) return defaults[i].port;
    return -1;
}

/* ---- reference resolution (RFC 3986 section 5.2) ------------------------------------------- */

/* An output buffer that remembers whether it overflowed. */
struct out {
    char *p;
    size_t cap, n;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->n + n < o->cap) memcpy(o->p + o->n, s, n);
    o->n += n;
}

static void put_str(struct out *o, const char *prefix, sockit_str v)
{
    if (!v.p) return;
    put(o, prefix, strlen(prefix));
    put(o, v.p, v.n);
}

/* remove_dot_segments (section 5.2.4) of in[0, n) appended to o. in is modified. */
static void remove_dots(struct out *o, char *in, size_t n)
{
    size_t start = o->n, i = 0;
    while (i < n) {
        char *p = in + i;
        size_t left = n - i;
        if (left >= 3 && !memcmp(p, "../", 3)) i += 3;                      /* A */
        else if (left >= 2 && !memcmp(p, "./", 2)) i += 2;                  /* A */
        else if (left >= 3 && !memcmp(p, "/./", 3)) i += 2;                 /* B */
        else if (left == 2 && !memcmp(p, "/.", 2)) { i += 1; in[i] = '/'; } /* B */
        else if ((left >= 4 && !memcmp(p, "/../", 4)) || (left == 3 && !memcmp(p, "/..", 3))) {
            if (left == 3) { i += 2; in[i] = '/'; } else i += 3;            /* C */
            size_t m = o->n < o->cap ? o->n : o->cap;                     /* drop the last segment */
            while (m > start && o->p[m - 1] != '/') m--;
            if (m > start) m--;
            o->n = m;
        } else if ((left == 1 && p[0] == '.') || (left == 2 && !memcmp(p, "..", 2))) {
            i = n;                                                          /* D */
        } else {                                                            /* E */
            size_t k = p[0] == '/' ? 1 : 0;
            while (k < left && p[k] != '/') k++;
            put(o, p, k);
            i += k;
        }
    }
}

/* remove_dots into a scratch buffer first (its result is never longer than its input), then
 * append: removing a segment must never look back into bytes that did not fit in the output. */
static int put_dotless(struct out *o, char *in, size_t n, int has_authority)
{
    char *res = malloc(n + 1);
    if (!res) return -ENOMEM;
    struct out tmp = {res, n + 1, 0};
    remove_dots(&tmp, in, n);
    /* Without an authority, a path that became "//x" would read back as authority "x": keep it
     * a path with "/." in front (what the WHATWG URL standard does). */
    if (!has_authority && tmp.n >= 2 && res[0] == '/' && res[1] == '/') put(o, "/.", 2);
    put(o, res, tmp.n);
    free(res);
    return 0;
}

static int put_path(struct out *o, const char *s, size_t n, int has_authority)
{
    char *copy = malloc(n + 1);
    if (!copy) return -ENOMEM;
    memcpy(copy, s, n);
    int r = put_dotless(o, copy, n, has_authority);
    free(copy);
    return r;
}

static void put_authority(struct out *o, const sockit_url *u)
{
    if (!u->host.p) return;
    put(o, "//", 2);
    put_str(o, "", u->userinfo);
    if (u->userinfo.p) put(o, "@", 1);
    if (u->host_is_ipv6) put(o, "[", 1);
    put(o, u->host.p, u->host.n);
    if (u->host_is_ipv6) put(o, "]", 1);
    put_str(o, ":", u->port);
}

ssize_t sockit_url_resolve(const char *base, const char *ref, char *out, size_t cap)
{
    sockit_url b, r;
    int rc = sockit_url_parse(&b, base, strlen(base));
    if (rc < 0) return rc;
    if (!b.scheme.p) return sockit__failmsg(SOCKIT_EBADURL, "bad URL: the base has no scheme");
    if ((rc = sockit_url_parse(&r, ref, strlen(ref))) < 0) return rc;
    struct out o = {out, cap, 0};
    const sockit_url *auth = &b;
    sockit_str query = r.query;
    int err = 0;
    if (r.scheme.p) {
        put(&o, r.scheme.p, r.scheme.n);
        put(&o, ":", 1);
        put_authority(&o, &r);
        err = put_path(&o, r.path.p, r.path.n, r.host.p != NULL);
    } else {
        put(&o, b.scheme.p, b.scheme.n);
        put(&o, ":", 1);
        if (r.host.p) auth = &r;
        put_authority(&o, auth);
        if (r.host.p) {
            err = put_path(&o, r.path.p, r.path.n, 1);
        } else if (r.path.n == 0) {
            put(&o, b.path.p, b.path.n);
            if (!query.p) query = b.query;
        } else if (r.path.p[0] == '/') {
            err = put_path(&o, r.path.p, r.path.n, b.host.p != NULL);
        } else { /* merge (section 5.2.3), then remove dots */
            size_t keep = 0;
            for (size_t k = b.path.n; k > 0; k--)
                if (b.path.p[k - 1] == '/') {
                    keep = k;
                    break;
                }
            int root = b.host.p && b.path.n == 0;
            char *m = malloc(keep + r.path.n + 2);
            if (!m) return sockit__fail(-ENOMEM, "url resolve");
            size_t mn = 0;
            if (root) m[mn++] = '/';
            memcpy(m + mn, b.path.p, keep);
            mn += keep;
            memcpy(m + mn, r.path.p, r.path.n);
            mn += r.path.n;
            err = put_dotless(&o, m, mn, b.host.p != NULL);
            free(m);
        }
    }
    if (err) return sockit__fail(err, "url resolve");
    put_str(&o, "?", query);
    put_str(&o, "#", r.fragment);
    if (o.n >= cap) return sockit__failmsg(-ENOBUFS, "url resolve: %zu bytes do not fit in %zu", o.n + 1, cap);
    out[o.n] = 0;
    return (ssize_t)o.n;
}

/* ---- percent-coding -------------------------------------------------------------------------- */

static int hexval(unsigned char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

ssize_t sockit_url_decode(char *out, size_t cap, const char *in, size_t n, int plus_is_space)
{
    const unsigned char *c = classes();
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)in[i];
        if (b == '%') {
            if (i + 2 >= n) return bad("a '%' escape is cut short", i);
            if (!(c[(unsigned char)in[i + 1]] & HEX) || !(c[(unsigned char)in[i + 2]] & HEX))
                return bad("a '%' not followed by two hex digits", i);
            b = (unsigned char)(hexval((unsigned char)in[i + 1]) << 4 | hexval((unsigned char)in[i + 2]));
            i += 2;
        } else if (b == '+' && plus_is_space) {
            b = ' ';
        }
        if (o + 1 >= cap) return sockit__failmsg(-ENOBUFS, "url decode: out of room");
        out[o++] = (char)b;
    }
    if (o >= cap) return sockit__failmsg(-ENOBUFS, "url decode: out of room");
    out[o] = 0;
    return (ssize_t)o;
}

ssize_t sockit_url_encode(char *out, size_t cap, const char *in, size_t n, const char *safe)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *c = classes();
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)in[i];
        if ((c[b] & UNRESERVED) || (b && safe && strchr(safe, b))) {
            if (o + 1 >= cap) return sockit__failmsg(-ENOBUFS, "url encode: out of room");
            out[o++] = (char)b;
        } else {
            if (o + 3 >= cap) return sockit__failmsg(-ENOBUFS, "url encode: out of room");
            out[o++] = '%';
            out[o++] = hex[b >> 4];
            out[o++] = hex[b & 15];
        }
    }
    if (o >= cap) return sockit__failmsg(-ENOBUFS, "url encode: out of room");
    out[o] = 0;
    return (ssize_t)o;
}
