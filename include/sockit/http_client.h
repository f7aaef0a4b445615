/*
 * sockit http client — a small, typed, blocking HTTP/1.1 client (http.client + urllib for C;
 * docs/http-client.md).
 *
 * A sockit_http_client is a session: its options, a TLS context and a pool of idle keep-alive
 * connections keyed by scheme, host and port (and the proxy in between), so N requests to one
 * origin use one connection. sockit_http_client_do sends one request and reads its response,
 * all within ONE deadline computed at its entry: DNS, connect over every address (the core's
 * Happy Eyeballs), the TLS handshake, sending, the response head and the whole body. The one-call
 * helpers (sockit_http_get ...) make a client for the call and free it afterwards.
 *
 * Safe by default: redirects are opt-in, and when followed, Authorization, Cookie and
 * Proxy-Authorization are dropped as soon as the scheme, host or port changes; certificates and
 * host names are verified; the whole request has a timeout (300 s); the header section and the
 * decoded size of a compressed body are bounded. Bodies are never changed unless the caller asks
 * for decoding (accept_encoding).
 *
 * Errors follow the core's model (>= 0 success, a negative code, sockit_errmsg() names what and
 * where). sockit_http_client_do returns 0 once a whole response arrived, whatever its status (a
 * 404 is a response, not an error). Its failures:
 *   -ETIMEDOUT           the whole-request timeout, the connect timeout, or the low-speed limit
 *                        (the message says which);
 *   SOCKIT_ENOHOST, -ECONNREFUSED, -ECONNRESET, other -errno
 *                        resolving, connecting, sending or receiving (the core's codes);
 *   SOCKIT_ETLS          TLS handshake or certificate verification;
 *   SOCKIT_EPROTO        the server broke HTTP: a bad status line or header, a bad chunk size, a
 *                        body shorter than its Content-Length or a connection closed early, a
 *                        header section over max_header_bytes, a bad Content-Range on resume,
 *                        too many redirects, a bad compressed body, a transfer coding other than
 *                        gzip/deflate/chunked, an unasked 101, more than 32 1xx responses. E.g. "http: body ended after 1000 of 5000 bytes
 *                        (Content-Length) from http://h:8080/x";
 *   SOCKIT_ETOOLONG      a memory body over max_body, or a decoded body over max_decoded;
 *   SOCKIT_EBADURL       the URL (or a redirect's Location) does not parse, or is not http/https;
 *   -ECANCELED           a callback (write, progress, read) asked to stop;
 *   -EINVAL              bad arguments (NULL client, request, response or URL; a body kind and
 *                        fields that do not match); -ENOMEM; -EIO and other -errno for files.
 * What was received before a failure is kept in the response (status, headers, part of the
 * body), and resp->complete is 1 only when the body ended exactly as its framing said.
 *
 * Threads: a client is used by one thread at a time (use one per thread); different clients are
 * independent. The helpers are thread-safe. Nothing here prints or installs signal handlers (the
 * core sends with MSG_NOSIGNAL).
 */
#ifndef SOCKIT_HTTP_CLIENT_H
#define SOCKIT_HTTP_CLIENT_H

#include <sockit/sockit.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sockit_http_client sockit_http_client;

/* A header as the client takes and gives them: NUL-terminated name and value. */
typedef struct sockit_http_field {
    const char *name;
    const char *value;
} sockit_http_field;

/* ---- the session ------------------------------------------------------------------------- */

typedef struct sockit_http_client_opts {
    double timeout;          /* seconds for a whole request (DNS to last body byte), redirects
                                included: 0 is the default 300 s, < 0 none */
    double connect_timeout;  /* seconds for DNS + connect + TLS (+ proxy CONNECT) of a new
                                connection, within the timeout: 0 or < 0 none of its own */
    uint64_t low_speed_limit; /* abort (-ETIMEDOUT) when fewer than this many bytes per second
                                arrive for low_speed_time seconds; 0: off */
    double low_speed_time;   /* seconds; 0 with a limit: 30 */
    int follow_redirects;    /* 1: follow 301/302/303/307/308 (see sockit_http_client_do) */
    int max_redirects;       /* followed at most this many: 0: 20; < 0: none (the first
                                redirect is SOCKIT_EPROTO "too many redirects (limit 0)");
                                one more than the limit is SOCKIT_EPROTO */
    const char *ca_file;     /* trust these CAs (PEM) instead of the system store */
    const char *ca_path;     /* ... or this hashed directory */
    int insecure;            /* 1: no certificate or host name verification (curl -k) */
    int proxy_from_env;      /* 1: honour http_proxy, https_proxy, no_proxy (lower case first,
                                then upper case; HTTP_PROXY is never read: CGI sets it) */
    const char *proxy;       /* "http://[user:pass@]host:port": every request through it (it
                                wins over the environment); https goes through CONNECT */
    const char *no_proxy;    /* with proxy: comma-separated hosts / domain suffixes / "*" that go
                                direct; NULL: none (the environment's with proxy_from_env) */
    int accept_encoding;     /* 1: send "Accept-Encoding: gzip, deflate" and decode such bodies
                                (zlib); 0: bodies pass through untouched */
    uint64_t max_decoded;    /* with accept_encoding: a decoded body larger than this is
                                SOCKIT_ETOOLONG (decompression bombs); 0: 1 GiB */
    size_t max_header_bytes; /* a response head (each 1xx and the final one) larger than this
                                is SOCKIT_EPROTO; 0 (and the most): 64 KiB; so are more empty
                                lines than this before a status line */
    int max_idle;            /* idle connections kept for reuse; 0: 8; < 0: none (every request
                                closes its connection: "Connection: close" is sent) */
    double idle_timeout;     /* an idle connection older than this is not reused: 0: 60 s */
    const char *user_agent;  /* NULL: "sockit/<version>"; "": no User-Agent header; a control
                                character makes every request -EINVAL (no smuggled header) */
    int family;              /* 0: any; AF_INET or AF_INET6: only that family (curl -4/-6) */
} sockit_http_client_opts;

/* Makes a client. opts NULL means all defaults; the strings in opts are copied (opts need not
 * outlive the call). With ca_file or ca_path the TLS context is made now, so a bad one fails
 * here (its code and message, as sockit_tls_ctx_new: -ENOENT, SOCKIT_ETLS ...); otherwise the
 * system store is loaded with the first https request. Returns 0, -EINVAL (out NULL, a proxy URL
 * that is not http://host[:port], in opts or the environment), -ENOMEM, or a TLS code. Does not
 * touch the network. */
SOCKIT_API int sockit_http_client_new(sockit_http_client **out, const sockit_http_client_opts *opts);

/* Closes every pooled connection and frees the client. NULL is a no-op. */
SOCKIT_API void sockit_http_client_free(sockit_http_client *c);

/* Closes the idle connections of the pool now (the next request connects anew). */
SOCKIT_API void sockit_http_client_close_idle(sockit_http_client *c);

/* ---- a request --------------------------------------------------------------------------- */

/* Where the request body comes from. */
typedef enum sockit_http_body_kind {
    SOCKIT_HTTP_BODY_NONE = 0, /* no body */
    SOCKIT_HTTP_BODY_MEMORY,   /* body, body_len (re-sendable on 307/308) */
    SOCKIT_HTTP_BODY_FD,       /* body_fd from its current offset: body_len bytes, or (body_len
                                  UINT64_MAX) to its end as fstat says, or for a pipe chunked;
                                  re-sendable on 307/308 when it can seek */
    SOCKIT_HTTP_BODY_PATH,     /* the file body_path (opened and closed by the call) */
    SOCKIT_HTTP_BODY_CALLBACK  /* body_read: body_len bytes, or chunked when body_len is
                                  UINT64_MAX; not re-sendable (307/308 then fail, -EINVAL) */
} sockit_http_body_kind;

/* Where the response body goes. */
typedef enum sockit_http_sink_kind {
    SOCKIT_HTTP_SINK_MEMORY = 0, /* resp->body (malloc'd, NUL-terminated), at most max_body */
    SOCKIT_HTTP_SINK_FD,         /* written to sink_fd as it arrives (the caller's descriptor) */
    SOCKIT_HTTP_SINK_CALLBACK,   /* handed to sink_write as it arrives */
    SOCKIT_HTTP_SINK_DISCARD     /* read and counted, kept nowhere */
} sockit_http_sink_kind;

/* Reads up to len body bytes into buf: returns the count, 0 at the end, < 0 to abort the
 * request (-1 becomes -ECANCELED; another negative value is returned as the request's code). */
typedef ssize_t (*sockit_http_read_fn)(void *arg, void *buf, size_t len);

/* Takes len response body bytes (len > 0): returns 0 to go on, nonzero to abort (-ECANCELED). */
typedef int (*sockit_http_write_fn)(void *arg, const void *data, size_t len);

/* The sink must start over (a resume answered 200: the whole body follows). Returns 0, nonzero
 * to abort. NULL with a callback sink and resume_from: a 200 fails (SOCKIT_EPROTO). */
typedef int (*sockit_http_restart_fn)(void *arg);

/* Progress of the response body: now bytes delivered so far and total the expected count, or -1
 * while unknown (chunked, read-to-close, compressed). When resuming, both count from the start of
 * the resource (now begins at resume_from). Called when bytes arrive (and once at 0 when the
 * final head arrived). Returns 0 to go on, nonzero to abort (-ECANCELED). */
typedef int (*sockit_http_progress_fn)(void *arg, uint64_t now, int64_t total);

/* A raw head as it went over the wire: sent 1 for each request head sent (every redirect hop,
 * every retry), 0 for each response head received (1xx included). For `curl -v`. */
typedef void (*sockit_http_trace_fn)(void *arg, int sent, const char *head, size_t len);

typedef struct sockit_http_resp sockit_http_resp;

/* The final response's head arrived (status, headers and content_length are set in resp; no
 * body byte was sunk yet): for `curl --fail` and `-i`, or to set up a progress display. Returns
 * 0 to take the body into the sink, 1 to read it and keep nothing (the connection stays usable;
 * resp->complete still says whether it ended well), or < 0 to stop the request (-ECANCELED;
 * the connection is closed). Not called for redirects that are followed, nor for 1xx. */
typedef int (*sockit_http_head_fn)(void *arg, const sockit_http_resp *resp);

typedef struct sockit_http_client_req {
    const char *method;        /* NULL: GET, or POST when there is a body; else a token
                                  ("GET", "PROPFIND"): a space or control character is
                                  -EINVAL (it would rewrite the request line) */
    const char *url;           /* "http://..." or "https://..." (required) */
    const sockit_http_field *headers; /* extra headers, sent as given after the client's own;
                                  one named like Host, User-Agent, Accept, Accept-Encoding,
                                  Authorization, Content-Type replaces the client's (a NULL
                                  value removes it, as curl's -H 'Name:' does; an empty
                                  value "" is sent as "Name:", as curl's -H 'Name;');
                                  Connection is sent as given (then the client sends none of
                                  its own), and one that says "close" ends the connection
                                  with the response (never pooled); Content-Length and
                                  Transfer-Encoding are the client's (framing): -EINVAL, as
                                  is a name that is not a token or a value with a control
                                  character (CR LF would smuggle a header) */
    size_t nheaders;

    sockit_http_body_kind body_kind;
    const void *body;          /* BODY_MEMORY */
    uint64_t body_len;         /* its length (see the body kinds) */
    int body_fd;               /* BODY_FD (stays the caller's) */
    const char *body_path;     /* BODY_PATH */
    sockit_http_read_fn body_read; /* BODY_CALLBACK */
    void *body_arg;
    const char *content_type;  /* NULL: none sent (unless in headers); a control character
                                  is -EINVAL, as in headers */

    const char *user;          /* Basic auth; NULL: the URL's userinfo (percent-decoded), if any.
                                  User and password at most 255 bytes each (longer: -EINVAL);
                                  a longer credential or a bearer token goes in an
                                  Authorization header of headers[] */
    const char *password;      /* NULL: empty */

    uint64_t resume_from;      /* > 0: send "Range: bytes=N-"; a 206 must start at N (else
                                  SOCKIT_EPROTO); a 200 restarts the sink (memory emptied, an fd
                                  truncated to 0 and rewound, sink_restart called) and
                                  resp->resumed is 0. Other statuses: the body is discarded, the
                                  sink untouched */

    sockit_http_sink_kind sink_kind;
    size_t max_body;           /* SINK_MEMORY: more body than this is SOCKIT_ETOOLONG; 0: 1 GiB */
    int sink_fd;               /* SINK_FD */
    sockit_http_write_fn sink_write; /* SINK_CALLBACK */
    sockit_http_restart_fn sink_restart; /* SINK_CALLBACK with resume_from */
    void *sink_arg;

    sockit_http_progress_fn progress;
    void *progress_arg;
    sockit_http_trace_fn trace;
    void *trace_arg;

    int follow_redirects;      /* 0: the client's; 1: follow; -1: do not */
    double timeout;            /* 0: the client's; > 0 seconds; < 0 none */

    sockit_http_head_fn on_head; /* the final head arrived (see sockit_http_head_fn) */
    void *on_head_arg;
} sockit_http_client_req;

/* ---- the response ------------------------------------------------------------------------ */

/* Every field is read-only for the caller. Strings are NUL-terminated and owned by the response
 * (valid until it is freed or reused). Zero it (= {0}) before its first use; after that it may be
 * passed to the next call as it is (its memory is reused) and is freed once, at the end, with
 * sockit_http_resp_free. */
struct sockit_http_resp {
    int status;                /* 200; 0 if no response head arrived */
    int version;               /* 10 or 11 */
    const char *reason;        /* "OK" (maybe "") */
    const sockit_http_field *headers; /* every header of the final response, in order, repeated
                                  ones kept (names as received) */
    size_t nheaders;
    const char *head;          /* the final response head as received (status line to the empty
                                  line), head_len bytes */
    size_t head_len;
    char *body;                /* SINK_MEMORY: the body (decoded if it was), NUL-terminated;
                                  NULL with any other sink */
    size_t body_len;
    uint64_t body_bytes;       /* body bytes delivered to the sink, after decoding */
    uint64_t wire_bytes;       /* bytes received for the final response (head, framing, body as
                                  sent) */
    int64_t content_length;    /* the final response's Content-Length, -1 if none */
    const char *url;           /* the effective URL (after redirects) */
    int redirects;             /* redirects followed */
    int complete;              /* 1: the body ended exactly as its framing says (and decoded
                                  cleanly); 0 otherwise, also on any failure */
    int resumed;               /* 1: a 206 continued at resume_from */
    int reused;                /* 1: the final request went over a pooled connection */
    double time_total;         /* seconds the call took */
    void *priv_;               /* private: the response's buffers */
};

/* Sends req through c and reads the response into *resp, blocking, within one deadline (see the
 * top of this file and the client's timeout). Returns 0 when a response arrived (any status) or
 * a negative code (see the top of this file) with what was received kept in resp.
 *
 * Connections: taken from c's pool when one is idle for the origin, else made; given back after
 * a response whose framing left the connection usable and that did not say "Connection: close".
 * A request over an idle connection the server had closed (nothing comes back) is sent again,
 * once, on a new connection for GET, HEAD, OPTIONS, TRACE, PUT and DELETE (unless the body comes
 * from a callback); for other methods the idle connection is checked (a peek) before it is used
 * and a closed one is not. resp->reused tells which connection the final request went over.
 *
 * Framing: Content-Length, chunked (also after other codings: "gzip, chunked"), or read to the
 * close; 1xx responses are skipped (passed to trace); HEAD, 204 and 304 have no body. A body of
 * 1 MiB or more from memory, a file or a callback is sent with "Expect: 100-continue": the
 * client waits for a 100 (at most 1 s) then sends, and a final answer instead of 100 ends it
 * (but a 417, a server that does not do 100-continue, has the request sent again without
 * the Expect header, as curl does).
 *
 * Redirects (when followed): 301, 302 and 303 turn POST into GET without a body (303 anything
 * but HEAD), 307 and 308 keep the method and body; Location (raw spaces and 8-bit bytes
 * percent-encoded first, as browsers do) is resolved against the current URL;
 * only http and https are followed; Authorization (also from user/URL), Cookie and
 * Proxy-Authorization go no further once scheme, host or port change (nor a Host header of the
 * caller's: the new origin gets its own). More than max_redirects (none when it is < 0) is
 * SOCKIT_EPROTO "too many redirects (limit N)". A redirect's body is read and discarded, never
 * sunk. A 3xx without Location (or one of 300, 304, 305) is the final response.
 *
 * Accept-Encoding: with c's accept_encoding (and no Accept-Encoding header of the caller's), a
 * body with Content-Encoding gzip, x-gzip or deflate (zlib or raw) is decoded; the sink, progress
 * and body_bytes see decoded bytes; resp keeps the Content-Encoding header as received.
 *
 * resp must be zeroed or a response from an earlier call (see sockit_http_resp). */
SOCKIT_API int sockit_http_client_do(sockit_http_client *c, const sockit_http_client_req *req,
                                     sockit_http_resp *resp);

/* The first value of the header name (case-insensitive) in the final response, or NULL. */
SOCKIT_API const char *sockit_http_resp_header(const sockit_http_resp *resp, const char *name);

/* Every value of a repeated header in turn: *pos is 0 the first time; returns the next value
 * named name after *pos (and advances it), or NULL when there are no more. */
SOCKIT_API const char *sockit_http_resp_header_next(const sockit_http_resp *resp, const char *name,
                                                    size_t *pos);

/* Frees the response's memory and zeroes it (ready for reuse). NULL is a no-op. */
SOCKIT_API void sockit_http_resp_free(sockit_http_resp *resp);

/* ---- one call, one request ----------------------------------------------------------------- */
/* Each makes a client with the defaults (redirects followed, at most 20; the environment's proxy
 * settings honoured; accept_encoding on), sends one request with the body to memory, and frees
 * the client. resp as for sockit_http_client_do; the return value too. The body kept in memory,
 * decoded or not, is at most SOCKIT_HTTP_HELPER_MAX_BODY (64 MiB): more is SOCKIT_ETOOLONG, so a
 * small compressed reply cannot make a one-line call fill gigabytes. For larger bodies use a
 * client with a file or callback sink (or a larger max_body). */
#define SOCKIT_HTTP_HELPER_MAX_BODY ((size_t)64 << 20)
SOCKIT_API int sockit_http_get(const char *url, sockit_http_resp *resp);
SOCKIT_API int sockit_http_head(const char *url, sockit_http_resp *resp);
SOCKIT_API int sockit_http_delete(const char *url, sockit_http_resp *resp);
/* content_type may be NULL (none sent); body may be NULL when len is 0. */
SOCKIT_API int sockit_http_post(const char *url, const char *content_type, const void *body,
                                size_t len, sockit_http_resp *resp);
SOCKIT_API int sockit_http_put(const char *url, const char *content_type, const void *body,
                               size_t len, sockit_http_resp *resp);

#ifdef __cplusplus
}
#endif

#endif /* SOCKIT_HTTP_CLIENT_H */
