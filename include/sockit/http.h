/*
 * sockit http — the HTTP/1.1 message parser (RFC 9110/9112): request and response heads, body
 * framing, and the chunked transfer coding. The server and client are built on it.
 *
 * Incremental and zero-copy: call a parse function with everything received so far; it returns
 *   > 0                  the length of the complete head (request/status line + headers + the
 *                        empty line): the body, if any, starts there;
 *   SOCKIT_EINCOMPLETE   not enough bytes yet: call again with more (nothing is kept between calls);
 *   SOCKIT_EPROTO        malformed: answer 400 (sockit_errmsg() says what and at which byte);
 *   SOCKIT_ETOOLONG      more headers than the caller's array holds: answer 431;
 *   -EINVAL              a NULL output (or a NULL header array with a capacity), or a NULL buffer
 *                        with a non-zero length. A NULL buffer with length 0 is SOCKIT_EINCOMPLETE.
 * Every string is a pointer and a length into the caller's buffer, which must outlive them.
 *
 * SOCKIT_EINCOMPLETE is the one "need more bytes" code of every parser here (the heads,
 * sockit_http_head_end and the chunked decoder alike). It sets sockit_errmsg() too ("http:
 * incomplete message (N bytes so far)"), so a message left by an older failure is never shown as
 * this call's. Every negative result sets the message. Errors are found as soon as the offending
 * byte arrives (a prefix of a valid head is always SOCKIT_EINCOMPLETE; once a prefix is an error,
 * every longer input is one too).
 *
 * Strict where ambiguity is dangerous (request smuggling, response splitting): a header line that
 * starts with whitespace (obsolete folding), whitespace between a header name and its colon, a
 * name that is not a token, a control character in a value, a bare CR, two Content-Length headers
 * that differ, Content-Length together with Transfer-Encoding, a Transfer-Encoding that does not
 * end in chunked in a request or that comes in an HTTP/1.0 request, or a chunk size that
 * overflows — all SOCKIT_EPROTO.
 * A bare LF as line end is accepted in a head (RFC 9112 section 2.2 allows it there), a bare CR
 * never; the chunked coding's lines need CR LF (a bare LF there is SOCKIT_EPROTO).
 */
#ifndef SOCKIT_HTTP_H
#define SOCKIT_HTTP_H

#include <sockit/sockit.h>
#include <sockit/url.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sockit_http_header {
    sockit_str name;  /* as received (compare case-insensitively) */
    sockit_str value; /* leading and trailing spaces and tabs removed */
} sockit_http_header;

typedef struct sockit_http_request {
    sockit_str method;             /* "GET" */
    sockit_str target;             /* "/index.html?x=1", "*", "example.org:443", "http://h/p" */
    int version;                   /* 10 for HTTP/1.0, 11 for HTTP/1.1 */
    sockit_http_header *headers;   /* in: the caller's array */
    size_t nheaders;               /* in: its capacity; out: headers found */
} sockit_http_request;

typedef struct sockit_http_response {
    int version;                   /* 10 or 11 */
    int status;                    /* 100..999 */
    sockit_str reason;             /* "OK" (may be empty) */
    sockit_http_header *headers;
    size_t nheaders;               /* in: capacity; out: count */
} sockit_http_response;

/* Where the head ends (after its empty line), found without parsing: the length, or
 * SOCKIT_EINCOMPLETE. *scanned (0 the first time) remembers how far earlier calls looked, so a
 * peer that sends its head a byte at a time costs linear work in all, not quadratic: call this
 * as bytes arrive and the parse functions once it succeeds. buf must start at the request or
 * status line (skip any empty lines before it yourself). -EINVAL if scanned is NULL or buf is NULL
 * with len > 0. It only finds the end: the parse may still refuse the head. */
SOCKIT_API ssize_t sockit_http_head_end(const char *buf, size_t len, size_t *scanned);

/* Parses a request head from buf[0, len). See the top of this file for the results. Never reads
 * outside buf[0, len) nor writes past req->headers[req->nheaders - 1]. */
SOCKIT_API ssize_t sockit_http_parse_request(const char *buf, size_t len, sockit_http_request *req);

/* Parses a response head. */
SOCKIT_API ssize_t sockit_http_parse_response(const char *buf, size_t len, sockit_http_response *resp);

/* The first header named `name` (case-insensitive), or NULL (also when h or name is NULL). */
SOCKIT_API const sockit_http_header *sockit_http_header_find(const sockit_http_header *h, size_t n,
                                                             const char *name);

/* 1 if a comma-separated header value (e.g. Connection: "keep-alive, Upgrade") lists token,
 * case-insensitively; 0 otherwise (also when value.p or token is NULL). */
SOCKIT_API int sockit_http_value_has(sockit_str value, const char *token);

/* How a message body is delimited (RFC 9112 section 6.3). */
typedef enum sockit_http_framing {
    SOCKIT_HTTP_NO_BODY = 0,   /* nothing follows the head */
    SOCKIT_HTTP_LENGTH = 1,    /* *length bytes follow */
    SOCKIT_HTTP_CHUNKED = 2,   /* the chunked coding follows: use sockit_http_chunked */
    SOCKIT_HTTP_UNTIL_CLOSE = 3 /* (responses only) everything until the connection closes */
} sockit_http_framing;

/* The framing of a request: Content-Length or chunked, else no body. SOCKIT_EPROTO for an
 * ambiguous or invalid combination (see the top of this file); its message names the header
 * (its number in the head, from 1, its name and value). -ENOTSUP for a well-formed
 * Transfer-Encoding with codings besides chunked ("gzip, chunked"): no other transfer coding is
 * implemented, and a server answers 501 (RFC 9112 6.1). -EINVAL if req or length is NULL. */
SOCKIT_API int sockit_http_request_framing(const sockit_http_request *req, uint64_t *length);

/* The framing of a response to a request with method `method` (HEAD, and 1xx/204/304 statuses,
 * have no body; a 2xx to CONNECT neither). Errors as for sockit_http_request_framing. */
SOCKIT_API int sockit_http_response_framing(const sockit_http_response *resp, const char *method,
                                            uint64_t *length);

/* ---- the chunked transfer coding ---------------------------------------------------------- */

typedef struct sockit_http_chunked {
    uint64_t left;    /* private: bytes left in the current chunk */
    int state;        /* private */
    size_t ext_len;   /* private: bytes of chunk extension / trailer line seen (bounded) */
} sockit_http_chunked;

/* Prepares d to decode one chunked body (does nothing if d is NULL). */
SOCKIT_API void sockit_http_chunked_init(sockit_http_chunked *d);

/* Decodes in place: buf[0, *len) holds bytes received; on return buf[0, *len) holds the body
 * bytes they contained (framing removed). Returns
 *   SOCKIT_EINCOMPLETE  more input is needed (the body bytes in buf[0, *len) are still valid:
 *                       hand them on, then call again with the next bytes);
 *   1                   the body and its trailers are complete: *rest is the count of bytes after
 *                       the body that were in buf (the next message), moved to start at
 *                       buf + *len;
 *   SOCKIT_EPROTO       malformed (the message names the byte in this call's buf); the body
 *                       bytes decoded before the error are in buf[0, *len), so none is lost;
 *   -EINVAL             d, len or rest NULL, buf NULL with *len > 0, or d not initialised.
 * buf NULL with *len 0 is SOCKIT_EINCOMPLETE (or 1 if the body was already complete). Chunk
 * extensions and trailers are skipped (each line at most 8 KiB); a trailer line must be a header
 * field ("name: value", the name a token, no folding) or the body is SOCKIT_EPROTO. */
SOCKIT_API int sockit_http_chunked_decode(sockit_http_chunked *d, char *buf, size_t *len,
                                          size_t *rest);

#ifdef __cplusplus
}
#endif

#endif /* SOCKIT_HTTP_H */
