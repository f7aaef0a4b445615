/*
 * sockit url — RFC 3986 URL parsing, reference resolution and percent-coding (urllib.parse).
 *
 * The parser is zero-copy: every component is a pointer and a length into the caller's string,
 * which must outlive the result. It is strict where ambiguity is dangerous: a byte that RFC 3986
 * does not allow where it stands (spaces, control characters, '<', '"', '\', non-ASCII, a bad
 * %-escape, a port that is not a number in 0..65535, an IPv6 literal that does not parse) makes
 * the whole URL SOCKIT_EBADURL, with sockit_errmsg() naming the position and the reason — a URL
 * is never "repaired" into something else.
 *
 * Errors follow the core's model: >= 0 success, a negative code on failure.
 */
#ifndef SOCKIT_URL_H
#define SOCKIT_URL_H

#include <sockit/sockit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* sockit_str (sockit.h): a pointer and a length; p == NULL means "absent", which is not the same
 * as present and empty (n == 0): "http://h/?" has an empty query, "http://h/" has none. */

typedef struct sockit_url {
    sockit_str scheme;   /* "http" (as written; compare case-insensitively) */
    sockit_str userinfo; /* "user:pass", without the '@' */
    sockit_str user;     /* userinfo up to the first ':' (still %-encoded) */
    sockit_str password; /* after it; absent if there is no ':' */
    sockit_str host;     /* "example.org", "192.0.2.7", "::1" (an IPv6 literal without its
                            brackets, a zone still as "%25eth0"); absent without an authority */
    sockit_str port;     /* the digits after ':'; absent if none or empty */
    sockit_str path;     /* "/a/b" (always present, maybe empty; still %-encoded) */
    sockit_str query;    /* after '?', without it */
    sockit_str fragment; /* after '#', without it */
    int port_num;        /* the port as a number, -1 if absent */
    int host_is_ipv6;    /* 1 if host was a bracketed IP literal; an IPvFuture literal
                            ("[v1.x]", host "v1.x") is accepted too: check before inet_pton */
} sockit_url;

/* Parses a URI reference (absolute "http://h/p?q#f", or relative "/p", "p?q", "//h/p") of len
 * bytes (the string need not be NUL-terminated). Returns 0 or SOCKIT_EBADURL. */
SOCKIT_API int sockit_url_parse(sockit_url *out, const char *s, size_t len);

/* The port to connect to: the explicit one, else the scheme's default (http 80, https 443,
 * ftp 21, ftps 990, ws 80, wss 443), else -1. */
SOCKIT_API int sockit_url_port(const sockit_url *u);

/* 1 if the URL's scheme is `scheme`, compared case-insensitively. */
SOCKIT_API int sockit_url_is(const sockit_url *u, const char *scheme);

/* Resolves reference ref against the absolute URL base (RFC 3986 section 5.2, dot segments
 * removed), like urllib.parse.urljoin but by the RFC's strict rules: "http:g" against an http base
 * stays "http:g", the scheme keeps its case, a base's fragment is ignored, and a path that would
 * turn into an authority ("//evil") is written "/.//evil". The result goes NUL-terminated into
 * out. Returns
 * its length, SOCKIT_EBADURL if either does not parse or base is not absolute, or -ENOBUFS if
 * cap is too small (nothing useful is written then). */
SOCKIT_API ssize_t sockit_url_resolve(const char *base, const char *ref, char *out, size_t cap);

/* Percent-decodes n bytes of in into out (cap bytes, NUL-terminated). plus_is_space: '+' becomes
 * ' ' (form encoding). Returns the decoded length, SOCKIT_EBADURL for a '%' not followed by two
 * hex digits, -ENOBUFS if out is too small. out may equal in (decoding only shrinks). Decoded
 * bytes may include NUL: use the length. */
SOCKIT_API ssize_t sockit_url_decode(char *out, size_t cap, const char *in, size_t n,
                                     int plus_is_space);

/* Percent-encodes n bytes of in into out (cap bytes, NUL-terminated): every byte except the
 * unreserved ones (A-Z a-z 0-9 - . _ ~) and those listed in safe (e.g. "/" for a path, NULL for
 * none) becomes %XX (upper-case hex). Returns the encoded length or -ENOBUFS. */
SOCKIT_API ssize_t sockit_url_encode(char *out, size_t cap, const char *in, size_t n,
                                     const char *safe);

#ifdef __cplusplus
}
#endif

#endif /* SOCKIT_URL_H */
