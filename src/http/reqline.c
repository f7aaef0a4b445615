/*
 * The request line and authority checks of the HTTP server (http_conn.c), on their own so the
 * fuzzer (fuzz/fuzz_http_reqline.c) drives exactly the code the server runs. Declared in
 * internal/http_server.h.
 */
#include "internal/http_server.h"

#include <ctype.h>
#include <string.h>

/* Checks the request line p[0, n) (without its line end). Returns 0 for a valid line of HTTP/1.0
 * or 1.1, 505 for a valid line of another HTTP/d.d, -1 for anything else. */
int sockit__http_line_check(const char *p, size_t n, sockit_str *method, sockit_str *target)
{
    if (n && p[n - 1] == '\r') n--;
    size_t i = 0;
    while (i < n && sockit__http_tchar((unsigned char)p[i])) i++;
    if (i == 0 || i >= n || p[i] != ' ') return -1;
    *method = (sockit_str){p, i};
    size_t t = ++i;
    while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f) i++;
    if (i == t || i >= n || p[i] != ' ') return -1;
    *target = (sockit_str){p + t, i - t};
    i++;
    if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0) return -1;
    char maj = p[i + 5], dot = p[i + 6], min = p[i + 7];
    if (maj < '0' || maj > '9' || dot != '.' || min < '0' || min > '9') return -1;
    return maj == '1' && (min == '0' || min == '1') ? 0 : 505;
}

/* A request line not ended yet: 1 if it is a valid method, a space and target bytes so far. */
int sockit__http_line_prefix_ok(const char *p, size_t n, size_t *target_len)
{
    size_t i = 0;
    while (i < n && sockit__http_tchar((unsigned char)p[i])) i++;
    if (i == 0 || i >= n || p[i] != ' ') return 0;
    size_t t = ++i;
    while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f) i++;
    *target_len = i - t;
    return i == n;
}

/* A request line still arriving: 1 while p[0, n) can be the start of a valid one (method, SP,
 * target, SP, "HTTP/d.d"), so bytes that could never be a request (a TLS hello, an HTTP/2
 * preface's binary part, noise) close the connection at once rather than at the deadline. */
int sockit__http_line_plausible(const char *p, size_t n)
{
    static const char ver[] = "HTTP/d.d\r";
    size_t i = 0;
    while (i < n && sockit__http_tchar((unsigned char)p[i])) i++;
    if (i == n) return 1;
    if (i == 0 || p[i++] != ' ') return 0;
    size_t t = i;
    while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f) i++;
    if (i == n) return 1;
    if (i == t || p[i++] != ' ') return 0;
    for (size_t k = 0; i < n; i++, k++) {
        if (k >= sizeof ver - 1) return 0;
        char want = ver[k];
        if (want == 'd' ? (p[i] < '0' || p[i] > '9') : p[i] != want) return 0;
    }
    return 1;
}

/* An authority as Host and absolute-form carry it (RFC 9110 7.2, RFC 3986 3.2.2): a bracketed
 * IP literal or a reg-name / IPv4 of unreserved, sub-delims and percent-escapes, then an
 * optional ":" and digits. No userinfo, spaces, slashes or other delimiters; empty_ok says
 * whether an empty host is allowed (a Host field may be empty, an http URI's host may not). */
int sockit__http_authority_ok(const char *p, size_t len, int empty_ok)
{
    size_t i = 0;
    if (len && p[0] == '[') {
        while (++i < len && p[i] != ']')
            if (!(isxdigit((unsigned char)p[i]) || p[i] == ':' || p[i] == '.' || p[i] == 'v' ||
                  p[i] == 'V'))
                return 0;
        if (i == len || i == 1) return 0;
        i++;
    } else {
        for (; i < len && p[i] != ':'; i++) {
            unsigned char c = (unsigned char)p[i];
            if (isalnum(c) || (c && strchr("-._~!$&'()*+,;=", c))) continue; /* strchr finds NUL */
            if (c == '%' && i + 2 < len && isxdigit((unsigned char)p[i + 1]) &&
                isxdigit((unsigned char)p[i + 2])) {
                i += 2;
                continue;
            }
            return 0;
        }
        if (i == 0 && !empty_ok) return 0;
    }
    if (i < len && p[i++] != ':') return 0;
    for (; i < len; i++)
        if (!isdigit((unsigned char)p[i])) return 0;
    return 1;
}
