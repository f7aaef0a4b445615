/*
 * Fuzz target for the address vocabulary: sockit_addr_resolve, sockit_addr_parse,
 * sockit_addr_unix, sockit_addr_ipv4, sockit_addr_format and sockit_addr_equal.
 *
 * Input: one control byte, then HOST, then (after the first NUL or '\n') PORT up to the next
 * NUL or '\n'. No separator means port NULL. The control byte picks
 *   bits 0-1  family   0 AF_UNSPEC, 1 AF_INET, 2 AF_INET6, 3 AF_UNIX
 *   bits 2-3  type     0 (stream), SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
 *   bit  4    passive
 *   bits 5-7  7: host NULL, 6: port NULL, 5: both NULL (printable control bytes set neither)
 * so a readable seed is e.g. "!127.0.0.1\n80" (AF_INET, active) or "3/run/x.sock" (AF_UNIX).
 *
 * What aborts (a bug for the fuzzer to report):
 *   - a successful address that does not survive sockit_addr_format and sockit_addr_parse
 *     (with its own family, and with family 0 for IP) as an equal address;
 *   - a formatted address longer than SOCKIT_ADDRSTRLEN allows, or a truncated format that is
 *     not a prefix of the full one (or writes past len: ASan);
 *   - a port that differs from a numeric port string, "<broadcast>" accepted for AF_INET6, a
 *     digits-and-dots host accepted that is not a strict dotted quad;
 *   - a failure that is not negative, has an unnamed library code or sets no message of its own;
 *   - a numeric-looking host handed to the system resolver (it must never reach DNS).
 *
 * No DNS, ever: host names with letters are not resolved at all (as the brief of this target
 * says), and getaddrinfo() is interposed below so that whatever does reach it is resolved with
 * AI_NUMERICHOST (no network, fast, deterministic). Service names are looked up in
 * /etc/services, which is local.
 */
#include <sockit/sockit.h>

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 1024

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_addr: %s: %s\n", what, detail ? detail : "(null)");
    abort();
}

/* Only digits and dots, or something with a ':' whose part before any '%' is hex, ':' and '.':
 * a string the library must parse itself and never send to the resolver. */
static int looks_numeric(const char *s)
{
    if (!*s) return 1;
    if (strspn(s, "0123456789.") == strlen(s)) return 1;
    const char *p = s[0] == '[' ? s + 1 : s;
    size_t n = strcspn(p, "%]");
    return strchr(s, ':') && strspn(p, "0123456789abcdefABCDEF:.") >= n;
}

/* The interposed resolver: the library's getaddrinfo calls (it is linked statically into this
 * program) land here. Never DNS: AI_NUMERICHOST is forced. */
int getaddrinfo(const char *restrict node, const char *restrict service,
                const struct addrinfo *restrict hints, struct addrinfo **restrict res)
{
    typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    static gai_fn real;
    if (!real) real = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    if (!real) fail("dlsym", "getaddrinfo not found");
    struct addrinfo h = {0};
    if (hints) h = *hints;
    int numeric_asked = h.ai_flags & AI_NUMERICHOST;
    h.ai_flags |= AI_NUMERICHOST;
    int rc = real(node, service, &h, res);
    if (rc == EAI_NONAME && node && !numeric_asked && looks_numeric(node))
        fail("a numeric-looking host would have gone to DNS", node);
    return rc;
}

/* Leaves a message in the thread that no input can produce (inputs hold no '\n' in a host), so a
 * failure that sets no message of its own is caught. */
static char armed[SOCKIT_ADDRSTRLEN * 8];

static void arm_errmsg(void)
{
    sockit_addr a;
    char path[200];
    memset(path, 'x', sizeof path - 1);
    memcpy(path, "/fuzz\n", 6);
    path[sizeof path - 1] = 0;
    if (sockit_addr_unix(&a, path) != -ENAMETOOLONG) fail("overlong unix path accepted", path);
    snprintf(armed, sizeof armed, "%s", sockit_errmsg());
}

static void check_failure(int r, const char *call)
{
    if (r >= 0) fail(call, "a failure that is not negative");
    const char *msg = sockit_errmsg();
    if (!msg || !*msg || !strcmp(msg, armed)) fail(call, "failed without a message of its own");
    if (!sockit_strerror(r) || !*sockit_strerror(r)) fail(call, "code without a text");
    if (r < SOCKIT_ERRNO_MIN && !strcmp(sockit_errname(r), "UNKNOWN"))
        fail(call, "library code without a name");
}

/* Every truncation of the formatted address is a NUL-terminated prefix of the whole, and the
 * whole fits SOCKIT_ADDRSTRLEN. Buffers are exactly len bytes, so ASan sees any overrun. */
static void check_format(const sockit_addr *a, char *full, size_t fullsize)
{
    sockit_addr_format(a, full, fullsize);
    size_t n = strlen(full);
    /* The header's promise: only a Unix name with control characters or backslashes (written as
     * \xNN) may format longer than SOCKIT_ADDRSTRLEN. */
    if (n >= SOCKIT_ADDRSTRLEN && !(a->sa.ss_family == AF_UNIX && strstr(full, "\\x")))
        fail("formatted address does not fit SOCKIT_ADDRSTRLEN", full);
    char canary = 'Z';
    if (sockit_addr_format(a, &canary, 0) != &canary || canary != 'Z')
        fail("format with len 0 wrote", full);
    for (size_t len = 1; len <= n + 1; len++) {
        char *buf = malloc(len);
        if (!buf) return;
        if (sockit_addr_format(a, buf, len) != buf) fail("format did not return buf", full);
        size_t m = strnlen(buf, len);
        if (m >= len || memcmp(buf, full, m)) fail("truncated format is not a prefix", full);
        free(buf);
    }
}

/* The round trip: format, parse back (own family; family 0 too for IP) -> the same address. */
static void check_roundtrip(const sockit_addr *a, int type, int passive)
{
    char text[2048]; /* far more than SOCKIT_ADDRSTRLEN, to see an overlong format whole */
    check_format(a, text, sizeof text);
    int fam = a->sa.ss_family;
    sockit_addr b;
    arm_errmsg();
    int r = sockit_addr_parse(&b, fam, type, text, passive);
    if (r < 0) {
        fprintf(stderr, "fuzz_addr: parse \"%s\": %s\n", text, sockit_errmsg());
        fail("formatted address does not parse back", text);
    }
    if (!sockit_addr_equal(a, &b) || !sockit_addr_equal(&b, a))
        fail("formatted address parses back to another address", text);
    if (fam == AF_INET || fam == AF_INET6) {
        if (sockit_addr_parse(&b, 0, type, text, passive) < 0 || !sockit_addr_equal(a, &b))
            fail("formatted address parses back differently with family 0", text);
    }
    if (!sockit_addr_equal(a, a)) fail("address not equal to itself", text);
}

/* Strict dotted decimal, as the header says: four parts 0..255 without leading zeros. */
static int strict_quad(const char *s)
{
    for (int part = 0; part < 4; part++) {
        if (part && *s++ != '.') return 0;
        if (!isdigit((unsigned char)*s) || (s[0] == '0' && isdigit((unsigned char)s[1]))) return 0;
        int v = 0, d = 0;
        for (; isdigit((unsigned char)*s); s++, d++)
            if (d >= 3 || (v = v * 10 + (*s - '0')) > 255) return 0;
    }
    return *s == 0;
}

/* What the brief allows to reach resolve: never a name (a letter without ':'), except the
 * literal "<broadcast>" and paths. */
static int may_resolve(const char *host)
{
    if (!host || !*host || !strcmp(host, "<broadcast>") || host[0] == '/' || host[0] == '@' ||
        strchr(host, ':') || strchr(host, '['))
        return 1;
    for (const char *p = host; *p; p++)
        if (isalpha((unsigned char)*p)) return 0;
    return 1;
}

static void check_resolve(int family, int type, const char *host, const char *port, int passive)
{
    sockit_addr a;
    arm_errmsg();
    int r = sockit_addr_resolve(&a, family, type, host, port, passive);
    if (r < 0) {
        check_failure(r, "sockit_addr_resolve");
        return;
    }
    if (r != 0) fail("sockit_addr_resolve returned a positive value", host);
    int fam = a.sa.ss_family;
    if (family && fam != family) fail("resolve gave another family than asked", host);
    if (fam == AF_INET || fam == AF_INET6) {
        int p = sockit_addr_port(&a);
        if (p < 0 || p > 65535) fail("port out of range", host);
        if (port && *port && strspn(port, "0123456789") == strlen(port) && p != atoi(port))
            fail("numeric port not kept", port);
        if (!port || !*port) {
            if (p != 0) fail("no port but a non-zero port", host);
        }
        if (family == AF_INET6 && host && !strcmp(host, "<broadcast>"))
            fail("<broadcast> accepted for AF_INET6", host);
        if (host && *host && strspn(host, "0123456789.") == strlen(host) && !strict_quad(host))
            fail("digits and dots accepted that are not a strict dotted quad", host);
    } else if (fam == AF_UNIX) {
        if (sockit_addr_port(&a) != -1) fail("unix address with a port", host);
        if (port && *port) fail("unix address accepted a port", port);
    }
    check_roundtrip(&a, type, passive);
}

static void check_parse(int family, int type, const char *hostport, int passive)
{
    sockit_addr a;
    arm_errmsg();
    int r = sockit_addr_parse(&a, family, type, hostport, passive);
    if (r < 0) {
        check_failure(r, "sockit_addr_parse");
        return;
    }
    if (family && a.sa.ss_family != family) fail("parse gave another family than asked", hostport);
    check_roundtrip(&a, type, passive);
}

static void check_unix(const char *path)
{
    sockit_addr a;
    arm_errmsg();
    int r = sockit_addr_unix(&a, path);
    if (r < 0) {
        check_failure(r, "sockit_addr_unix");
        if (r != -ENAMETOOLONG) fail("sockit_addr_unix failed with another code", path);
        return;
    }
    if (a.sa.ss_family != AF_UNIX) fail("sockit_addr_unix gave another family", path);
    check_roundtrip(&a, SOCK_STREAM, 0);
}

/* Copies data[0..n) up to the first NUL or '\n' into a fresh string; *used is the bytes taken,
 * the separator included. */
static char *take(const uint8_t *data, size_t n, size_t *used, int *found)
{
    size_t i = 0;
    while (i < n && data[i] != 0 && data[i] != '\n') i++;
    *found = i < n;
    *used = i + (i < n);
    char *s = malloc(i + 1);
    if (s) {
        memcpy(s, data, i);
        s[i] = 0;
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int families[] = {0, AF_INET, AF_INET6, AF_UNIX};
    static const int types[] = {0, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
    if (size < 1 || size > MAX_INPUT) return 0;
    uint8_t c = data[0];
    int family = families[c & 3], type = types[(c >> 2) & 3], passive = (c >> 4) & 1;
    int nulls = c >> 5;
    size_t used, rest;
    int sep, sep2;
    char *host = take(data + 1, size - 1, &used, &sep);
    rest = size - 1 - used;
    char *port = sep ? take(data + 1 + used, rest, &used, &sep2) : NULL;
    if (!host || (sep && !port)) goto out;

    const char *h = nulls == 7 || nulls == 5 ? NULL : host;
    const char *p = nulls == 6 || nulls == 5 ? NULL : port;
    if (may_resolve(h)) check_resolve(family, type, h, p, passive);
    if (may_resolve(host)) check_parse(family, type, host, passive);
    check_unix(h);

    if (size >= 7) { /* the integer form: 4 bytes of address, 2 of port */
        sockit_addr a;
        uint32_t ip = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 | data[3] << 8 | data[4];
        if (sockit_addr_ipv4(&a, ip, (uint16_t)(data[5] << 8 | data[6])) != 0)
            fail("sockit_addr_ipv4 failed", host);
        check_roundtrip(&a, type, passive);
    }
out:
    free(host);
    free(port);
    return 0;
}
