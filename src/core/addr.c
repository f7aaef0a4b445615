/*
 * The address vocabulary: host and port strings as a person writes them, to sockaddrs and back.
 *
 * Numeric forms (dotted quads, IPv6, the wildcard, "<broadcast>", AF_UNIX paths) are parsed here
 * and never reach DNS; only host names go to the resolver (resolve.c).
 */
#include "internal/core.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <net/if.h>
#include <netdb.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define QBUF 96 /* room for a quoted piece of untrusted input in a message */

/* ---- ports -------------------------------------------------------------------------------- */

int sockit__parse_port(const char *port, int type, uint16_t *out)
{
    char q[QBUF];
    *out = 0;
    if (!port || !*port) return 0;
    if (isdigit((unsigned char)port[0])) {
        unsigned long v = 0;
        const char *p = port;
        for (; isdigit((unsigned char)*p); p++) {
            v = v * 10 + (unsigned long)(*p - '0');
            if (v > 65535)
                return sockit__failmsg(SOCKIT_ENOSERVICE, "bad port %s: out of range",
                                       sockit__quote(port, q, sizeof q));
        }
        if (*p == 0) {
            *out = (uint16_t)v;
            return 0;
        }
        /* digits then something else ("80x"): not a number, and no service starts with a digit
         * on any sane system, so say it plainly. */
        return sockit__failmsg(SOCKIT_ENOSERVICE, "bad port %s: not a number",
                               sockit__quote(port, q, sizeof q));
    }
    size_t n = strlen(port);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)port[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.' || c == '+' || c == '/') || n > 63)
            return sockit__failmsg(SOCKIT_ENOSERVICE, "bad port %s: not a number or a service name",
                                   sockit__quote(port, q, sizeof q));
    }
    const char *proto = type == SOCK_DGRAM ? "udp" : "tcp";
    struct servent se, *res = NULL;
    char buf[1024];
    if (getservbyname_r(port, proto, &se, buf, sizeof buf, &res) != 0 || !res)
        return sockit__failmsg(SOCKIT_ENOSERVICE, "bad port %s: unknown service for %s",
                               sockit__quote(port, q, sizeof q), proto);
    *out = ntohs((uint16_t)res->s_port);
    return 0;
}

/* ---- numeric hosts ------------------------------------------------------------------------ */

/* Strict dotted decimal: four parts, 0..255, no leading zeros, nothing else. */
static int parse_ipv4(const char *s, struct in_addr *out)
{
    uint32_t v = 0;
    for (int part = 0; part < 4; part++) {
        if (part && *s++ != '.') return -1;
        if (!isdigit((unsigned char)*s)) return -1;
        if (s[0] == '0' && isdigit((unsigned char)s[1])) return -1;
        unsigned n = 0;
        for (int d = 0; isdigit((unsigned char)*s); d++, s++) {
            if (d == 3) return -1;
            n = n * 10 + (unsigned)(*s - '0');
        }
        if (n > 255) return -1;
        v = v << 8 | n;
    }
    if (*s) return -1;
    out->s_addr = htonl(v);
    return 0;
}

/* "::1", "fe80::1%lo", "[::1]" (brackets already removed by the caller). */
static int parse_ipv6(const char *s, size_t len, struct sockaddr_in6 *out)
{
    char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    if (len >= sizeof buf) return SOCKIT_EBADADDR;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *zone = strchr(buf, '%');
    if (zone) *zone++ = 0;
    if (inet_pton(AF_INET6, buf, &out->sin6_addr) != 1) return SOCKIT_EBADADDR;
    out->sin6_scope_id = 0;
    if (!zone) return 0;
    if (!*zone) return SOCKIT_EBADADDR;
    if (isdigit((unsigned char)*zone)) {
        char *end;
        unsigned long v = strtoul(zone, &end, 10);
        if (*end || v > UINT32_MAX) return SOCKIT_EBADADDR;
        out->sin6_scope_id = (uint32_t)v;
    } else {
        unsigned idx = if_nametoindex(zone);
        if (!idx) return SOCKIT_EBADADDR;
        out->sin6_scope_id = idx;
    }
    return 0;
}

static void set_in4(sockit_addr *a, struct in_addr ip, uint16_t port)
{
    memset(a, 0, sizeof *a);
    struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;
    sin->sin_family = AF_INET;
    sin->sin_addr = ip;
    sin->sin_port = htons(port);
    a->len = sizeof *sin;
}

static void set_in6(sockit_addr *a, const struct sockaddr_in6 *src, uint16_t port)
{
    memset(a, 0, sizeof *a);
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = src->sin6_addr;
    sin6->sin6_scope_id = src->sin6_scope_id;
    sin6->sin6_port = htons(port);
    a->len = sizeof *sin6;
}

int sockit_addr_ipv4(sockit_addr *out, uint32_t host_order, uint16_t port)
{
    struct in_addr ip = {.s_addr = htonl(host_order)};
    set_in4(out, ip, port);
    return 0;
}

int sockit_addr_unix(sockit_addr *out, const char *path)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_un *sun = (struct sockaddr_un *)&out->sa;
    sun->sun_family = AF_UNIX;
    size_t base = offsetof(struct sockaddr_un, sun_path);
    char q[QBUF];
    if (!path || !*path) { /* unnamed: bind autobinds to an abstract name */
        out->len = (socklen_t)base;
        return 0;
    }
    size_t n = strlen(path);
    if (path[0] == '@') { /* abstract: a leading NUL, then the name, no terminator */
        if (n > sizeof sun->sun_path)
            return sockit__failmsg(-ENAMETOOLONG, "unix address %s is %zu bytes: at most %zu",
                                   sockit__quote(path, q, sizeof q), n, sizeof sun->sun_path);
        memcpy(sun->sun_path + 1, path + 1, n - 1);
        out->len = (socklen_t)(base + n);
        return 0;
    }
    if (n >= sizeof sun->sun_path)
        return sockit__failmsg(-ENAMETOOLONG, "unix path %s is %zu bytes: at most %zu",
                               sockit__quote(path, q, sizeof q), n, sizeof sun->sun_path - 1);
    memcpy(sun->sun_path, path, n + 1);
    out->len = (socklen_t)(base + n + 1);
    return 0;
}

/* ---- resolving ---------------------------------------------------------------------------- */

enum host_kind { HOST_ANY, HOST_BROADCAST, HOST_IPV4, HOST_IPV6, HOST_NAME, HOST_BAD };

static int only_digits_and_dots(const char *s)
{
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && *s != '.') return 0;
    return 1;
}

/* A name the resolver may see: printable, no spaces or separators, at most 253 bytes. */
static int plausible_name(const char *s)
{
    size_t n = strlen(s);
    if (n > 253) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || strchr("/\\%@\"'`<>()[]{},;:!?*=&|#$^~", c)) return 0;
    }
    return 1;
}

/* The contract's one rule for IPv4: the strict dotted quad, and nothing else numeric. Every
 * form inet_aton(3) takes ("127.1", "0x7f.0.0.1", "010.0.0.1", "2130706433") is an IPv4 address
 * to the C library's resolver too, so it must not reach it as a "name": it is classified IPv4
 * here and refused by parse_ipv4. */
static int numeric_ipv4_form(const char *s)
{
    struct in_addr ignored;
    return only_digits_and_dots(s) || inet_aton(s, &ignored);
}

static enum host_kind classify(const char *host)
{
    if (!host || !*host) return HOST_ANY;
    if (!strcmp(host, "<broadcast>")) return HOST_BROADCAST;
    if (host[0] == '[' || strchr(host, ':')) return HOST_IPV6;
    if (numeric_ipv4_form(host)) return HOST_IPV4;
    return plausible_name(host) ? HOST_NAME : HOST_BAD;
}

static int bad_host(const char *host, const char *why)
{
    char q[QBUF];
    return sockit__failmsg(SOCKIT_EBADADDR, "bad address %s: %s", sockit__quote(host, q, sizeof q), why);
}

/* A numeric host (anything but a name) to exactly one address, or a family mismatch. */
static int resolve_numeric(enum host_kind kind, const char *host, int family, uint16_t port,
                           sockit_addr *out)
{
    struct sockaddr_in6 six = {0};
    struct in_addr four;
    switch (kind) {
    case HOST_ANY:
        if (family == AF_INET6) set_in6(out, &six, port); /* in6addr_any */
        else set_in4(out, (struct in_addr){.s_addr = htonl(INADDR_ANY)}, port);
        return 1;
    case HOST_BROADCAST:
        if (family == AF_INET6) return bad_host(host, "<broadcast> is IPv4 only");
        set_in4(out, (struct in_addr){.s_addr = htonl(INADDR_BROADCAST)}, port);
        return 1;
    case HOST_IPV4:
        if (parse_ipv4(host, &four) < 0) return bad_host(host, "not a dotted quad");
        if (family == AF_INET6) return bad_host(host, "an IPv4 address for an IPv6 socket");
        set_in4(out, four, port);
        return 1;
    case HOST_IPV6: {
        size_t len = strlen(host);
        const char *inner = host;
        if (host[0] == '[') {
            if (len < 3 || host[len - 1] != ']') return bad_host(host, "unbalanced brackets");
            inner++;
            len -= 2;
        }
        if (parse_ipv6(inner, len, &six) < 0)
            return bad_host(host, "not an IPv6 address (or unknown zone)");
        if (family == AF_INET) return bad_host(host, "an IPv6 address for an IPv4 socket");
        set_in6(out, &six, port);
        return 1;
    }
    default:
        return bad_host(host, "not a host name or address");
    }
}

int sockit__resolve_all(const char *host, const char *port, int family, int type, int passive,
                        sockit_addr *out, size_t max, int64_t deadline)
{
    char q[QBUF];
    if (max == 0) return sockit__fail(-EINVAL, "resolve: no room for an address");
    if (type == 0) type = SOCK_STREAM;
    if (family == 0 && host && (host[0] == '/' || host[0] == '@'))
        family = AF_UNIX; /* as sockit_addr_parse and sockit_create_server read it */
    if (family == AF_UNIX) {
        if (port && *port)
            return sockit__failmsg(SOCKIT_EBADADDR, "bad address: a unix socket takes no port (%s)",
                                   sockit__quote(port, q, sizeof q));
        int r = sockit_addr_unix(out, host);
        return r < 0 ? r : 1;
    }
    if (family != 0 && family != AF_INET && family != AF_INET6)
        return sockit__fail(-EAFNOSUPPORT, "resolve: address family %d", family);
    uint16_t pnum;
    int r = sockit__parse_port(port, type, &pnum);
    if (r < 0) return r;
    enum host_kind kind = classify(host);
    if (kind != HOST_NAME) {
        r = resolve_numeric(kind, host, family, pnum, out);
        if (r == 1 && kind == HOST_ANY && family == 0 && max > 1) {
            /* The unspecified wildcard is both 0.0.0.0 and ::, IPv4 first as getaddrinfo does. */
            struct sockaddr_in6 any6 = {0};
            set_in6(&out[1], &any6, pnum);
            r = 2;
        }
        return r;
    }
    return sockit__resolve_name(host, port, pnum, family, type, passive, out, max, deadline);
}

int sockit_addr_resolve(sockit_addr *out, int family, int type, const char *host,
                        const char *port, int passive)
{
    int r = sockit__resolve_all(host, port, family, type, passive, out, 1, SOCKIT__NEVER);
    return r < 0 ? r : 0;
}

int sockit_getaddrinfo(const char *host, const char *port, int family, int type, sockit_addr *out,
                       size_t max)
{
    return sockit__resolve_all(host, port, family, type, 0, out, max, SOCKIT__NEVER);
}

int sockit_getaddrinfo_timeout(const char *host, const char *port, int family, int type,
                               sockit_addr *out, size_t max, double timeout)
{
    return sockit__resolve_all(host, port, family, type, 0, out, max, sockit__deadline(timeout));
}

int sockit_gethostname(char *buf, size_t len)
{
    char tmp[HOST_NAME_MAX + 1];
    if (gethostname(tmp, sizeof tmp) < 0) return sockit__fail(-errno, "gethostname");
    tmp[sizeof tmp - 1] = 0;
    size_t n = strlen(tmp);
    if (!buf || n >= len) return sockit__fail(-ENAMETOOLONG, "gethostname: %zu bytes do not fit", n);
    memcpy(buf, tmp, n + 1);
    return 0;
}

/* ---- formatting and comparing ------------------------------------------------------------- */

/* Appends bytes, control characters and backslashes as \xNN; stops (NUL-terminated) when buf is
 * full. */
static size_t put_escaped(char *buf, size_t len, size_t o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n && o + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 0x20 && c != 0x7f && c != '\\')) { /* UTF-8 stays as it is */
            buf[o++] = (char)c;
        } else if (o + 4 < len) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        } else {
            break;
        }
    }
    buf[o] = 0;
    return o;
}

static void format_unix(const sockit_addr *a, char *buf, size_t len)
{
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->sa;
    size_t base = offsetof(struct sockaddr_un, sun_path);
    size_t n = a->len > base ? a->len - base : 0;
    if (n > sizeof sun->sun_path) n = sizeof sun->sun_path;
    if (n == 0) {
        buf[0] = 0;
    } else if (sun->sun_path[0] == 0) {
        buf[0] = '@';
        buf[1 < len ? 1 : 0] = 0;
        if (len > 1) put_escaped(buf, len, 1, sun->sun_path + 1, n - 1);
    } else if (sun->sun_path[0] == '@') {
        /* A path named "@...": its '@' is written \x40, or it would read back as abstract. */
        buf[0] = 0;
        if (len > 4) {
            memcpy(buf, "\\x40", 5);
            put_escaped(buf, len, 4, sun->sun_path + 1, strnlen(sun->sun_path, n) - 1);
        }
    } else {
        put_escaped(buf, len, 0, sun->sun_path, strnlen(sun->sun_path, n));
    }
}

const char *sockit_addr_format(const sockit_addr *a, char *buf, size_t len)
{
    if (!buf || len == 0) return buf;
    char ip[INET6_ADDRSTRLEN], zone[IF_NAMESIZE + 12] = "";
    int fam = a && a->len ? a->sa.ss_family : AF_UNSPEC;
    if (fam == AF_INET && a->len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->sa;
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        snprintf(buf, len, "%s:%u", ip, ntohs(sin->sin_port));
    } else if (fam == AF_INET6 && a->len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->sa;
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
        if (sin6->sin6_scope_id) {
            char name[IF_NAMESIZE];
            if (if_indextoname(sin6->sin6_scope_id, name))
                snprintf(zone, sizeof zone, "%%%s", name);
            else
                snprintf(zone, sizeof zone, "%%%u", sin6->sin6_scope_id);
        }
        snprintf(buf, len, "[%s%s]:%u", ip, zone, ntohs(sin6->sin6_port));
    } else if (fam == AF_UNIX) {
        format_unix(a, buf, len);
    } else if (fam == AF_UNSPEC) {
        snprintf(buf, len, "(none)");
    } else {
        snprintf(buf, len, "(family %d)", fam);
    }
    return buf;
}

int sockit_addr_port(const sockit_addr *a)
{
    if (!a || !a->len) return -1;
    if (a->sa.ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
    if (a->sa.ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
    return -1;
}

int sockit_addr_equal(const sockit_addr *a, const sockit_addr *b)
{
    if (!a || !b) return a == b;
    if (!a->len || !b->len) return a->len == b->len;
    if (a->sa.ss_family != b->sa.ss_family) return 0;
    switch (a->sa.ss_family) {
    case AF_INET: {
        const struct sockaddr_in *x = (const void *)&a->sa, *y = (const void *)&b->sa;
        return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *x = (const void *)&a->sa, *y = (const void *)&b->sa;
        return !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) &&
               x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id;
    }
    case AF_UNIX: {
        /* The kernel may or may not count a path's terminating NUL: compare the names. */
        const struct sockaddr_un *x = (const void *)&a->sa, *y = (const void *)&b->sa;
        size_t base = offsetof(struct sockaddr_un, sun_path);
        size_t nx = a->len - base, ny = b->len - base;
        if (nx && x->sun_path[0]) nx = strnlen(x->sun_path, nx);
        if (ny && y->sun_path[0]) ny = strnlen(y->sun_path, ny);
        return nx == ny && !memcmp(x->sun_path, y->sun_path, nx);
    }
    default:
        return a->len == b->len && !memcmp(&a->sa, &b->sa, a->len);
    }
}

/* Decodes the \xNN escapes sockit_addr_format writes for a Unix name's non-printable bytes and
 * backslashes; other bytes are taken as they are. Returns the decoded length. */
static size_t unescape(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o < cap; o++) {
        if (in[0] == '\\' && in[1] == 'x' && isxdigit((unsigned char)in[2]) &&
            isxdigit((unsigned char)in[3])) {
            char hex[3] = {in[2], in[3], 0};
            out[o] = (char)strtoul(hex, NULL, 16);
            in += 4;
        } else {
            out[o] = *in++;
        }
    }
    return *in ? cap + 1 : o;
}

/* A Unix address from formatted text: "/path" or "@name", escapes decoded. */
static int parse_unix(sockit_addr *out, const char *text)
{
    char q[QBUF];
    struct sockaddr_un *sun = (struct sockaddr_un *)&out->sa;
    size_t base = offsetof(struct sockaddr_un, sun_path);
    if (!strstr(text, "\\x")) return sockit_addr_unix(out, text);
    memset(out, 0, sizeof *out);
    sun->sun_family = AF_UNIX;
    int abstract = text[0] == '@';
    size_t room = sizeof sun->sun_path - 1; /* abstract: after the leading NUL; path: before one */
    size_t n = unescape(text + abstract, sun->sun_path + abstract, room);
    if (n > room)
        return sockit__failmsg(-ENAMETOOLONG, "unix address %s is too long: at most %zu bytes",
                               sockit__quote(text, q, sizeof q), room);
    if (!abstract && memchr(sun->sun_path, 0, n))
        return sockit__failmsg(SOCKIT_EBADADDR, "bad unix path %s: a NUL byte inside",
                               sockit__quote(text, q, sizeof q));
    out->len = (socklen_t)(base + n + 1);
    return 0;
}

/* "HOST:PORT", "[V6]:PORT", "/path", "@name"; no ':' is a host alone (port 0). */
int sockit_addr_parse(sockit_addr *out, int family, int type, const char *hostport, int passive)
{
    char host[512], q[QBUF];
    const char *port = NULL;
    if (!hostport) hostport = "";
    if (family == AF_UNIX || ((family == 0) && (hostport[0] == '/' || hostport[0] == '@')))
        return parse_unix(out, hostport);
    size_t n = strlen(hostport);
    if (n >= sizeof host)
        return sockit__failmsg(SOCKIT_EBADADDR, "bad address %s: too long",
                               sockit__quote(hostport, q, sizeof q));
    memcpy(host, hostport, n + 1);
    char *colon = strrchr(host, ':');
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close || (close[1] && close[1] != ':'))
            return sockit__failmsg(SOCKIT_EBADADDR, "bad address %s: expected [IPv6]:PORT",
                                   sockit__quote(hostport, q, sizeof q));
        if (close[1] == ':') {
            close[1] = 0;
            port = close + 2;
        }
    } else if (colon && colon == strchr(host, ':')) { /* exactly one ':' */
        *colon = 0;
        port = colon + 1;
    }
    return sockit_addr_resolve(out, family, type, host, port, passive);
}
