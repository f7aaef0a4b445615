/*
 * sockit http server — an HTTP/1.1 server with a small C API for services (docs/http-server.md).
 *
 * Built on the event-driven server core (server.h) and the strict parser (http.h). Routes map a
 * method and a path (exact, or a prefix ending in '*') to a handler; the first route that matches
 * wins. Handlers come in two styles on one server:
 *
 *   - event-driven (sockit_http_route): run on the connection's worker thread, must not block.
 *     They answer at once (sockit_http_respond...) or later from the same worker (a timer, a
 *     body callback, an on_writable callback): returning 0 without answering is "async".
 *   - blocking (sockit_http_route_blocking): run on a bounded pool of threads and may block as
 *     they like: sockit_http_read blocks for body bytes, sockit_http_write blocks while the peer
 *     is slow. The worker's loop still does all socket I/O (the calls are relayed to it), so a
 *     slow blocking handler never stalls other connections. The pool and its queue are bounded:
 *     a request that finds both full is answered 503 with Retry-After.
 *
 * One opaque sockit_http_req is the request and its response. It is valid from the handler's
 * call until the response is complete and the request's body is finished, or until the
 * connection ends — whichever is first; sockit_http_on_done tells an async handler when.
 * A blocking handler's request stays valid until its handler returns.
 *
 * Safe by default: every limit in sockit_http_config is finite and on when left 0. The parser
 * is strict (http.h); a request that was not fully and validly parsed is never answered with
 * anything but an error, and after a framing error the connection is closed, so a request
 * smuggled behind a bad one is never answered. Responses go out strictly in request order.
 *
 * Threads: the sockit_http_server functions are for the thread that owns the server, except
 * sockit_http_server_stop (any thread, async-signal-safe). Routes are added before start.
 * The request functions are for the handler's thread: the worker for event-driven handlers and
 * their callbacks, the pool thread for blocking handlers. Errors follow the core's model.
 */
#ifndef SOCKIT_HTTP_SERVER_H
#define SOCKIT_HTTP_SERVER_H

#include <sockit/sockit.h>
#include <sockit/http.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sockit_http_server sockit_http_server;
typedef struct sockit_http_req sockit_http_req;
typedef struct sockit_tls_ctx sockit_tls_ctx; /* tls.h */
typedef struct sockit_loop sockit_loop;       /* loop.h */
typedef struct sockit_http_header sockit_http_header; /* http.h (declared here too: any include order works) */

/* A handler: answers r (now, or later for event-driven handlers) and returns 0; a negative return
 * when nothing was sent yet answers 500 (and is logged through cfg.log); once a response was
 * started, a negative return ends the connection. */
typedef int (*sockit_http_handler)(sockit_http_req *r, void *arg);

/* One finished request, for the access log. Strings point into the request: valid during the call. */
typedef struct sockit_http_log_entry {
    sockit_str method;        /* as received ("-" if the request line did not parse) */
    sockit_str target;        /* raw request-target ("-" likewise) */
    int version;              /* 10, 11, or 0 if unknown */
    int status;               /* the status sent (0 if none: the connection ended first) */
    uint64_t bytes;           /* body bytes written to the socket (without the head), as CLF
                                 counts them: a download cut off counts what was written, not
                                 its length. The line is logged once they are all written, or
                                 at the close. */
    double duration;          /* seconds from the head's arrival to the response's end */
    const sockit_addr *peer;  /* the client */
    int64_t time;             /* the request's arrival, seconds since the epoch */
} sockit_http_log_entry;

/* Formats e as one Common Log Format line, without a newline:
 *   127.0.0.1 - - [30/Nov/2026:21:44:16 +0000] "GET /x HTTP/1.1" 200 1234
 * Control bytes and '"' in the method and target are escaped as \xNN. Returns the length it
 * needed (as snprintf: truncated to len - 1 when longer; buf is NUL-terminated when len > 0). */
SOCKIT_API size_t sockit_http_log_format(const sockit_http_log_entry *e, char *buf, size_t len);

/* Defaults of the limits below (0 in the config means the default; every limit is finite). */
#define SOCKIT_HTTP_HEADER_TIMEOUT 10.0        /* s: the whole head must arrive (slowloris) */
#define SOCKIT_HTTP_IDLE_TIMEOUT 15.0          /* s: keep-alive wait for the next request */
#define SOCKIT_HTTP_BODY_TIMEOUT 30.0          /* s: between two reads of request body */
#define SOCKIT_HTTP_SEND_TIMEOUT 60.0          /* s: no progress sending, or no traffic at all */
#define SOCKIT_HTTP_MAX_HEADER_BYTES 16384     /* request line + headers, else 431 */
#define SOCKIT_HTTP_MAX_HEADERS 100            /* header fields, else 431 */
#define SOCKIT_HTTP_MAX_TARGET 8192            /* request-target bytes, else 414 */
#define SOCKIT_HTTP_MAX_BODY (8u << 20)        /* request body bytes, else 413 (per route too) */
#define SOCKIT_HTTP_MAX_REQUESTS 10000         /* requests per connection, then it closes */
#define SOCKIT_HTTP_MAX_PIPELINED 32           /* requests answered from one read before yielding */
#define SOCKIT_HTTP_BLOCKING_THREADS 16        /* threads of the blocking-handler pool */
#define SOCKIT_HTTP_BLOCKING_QUEUE 64          /* requests waiting for a pool thread, else 503 */
#define SOCKIT_HTTP_DISCARD_MAX (1u << 20)     /* unread body bytes skipped to keep a connection */
#define SOCKIT_HTTP_STREAM_LIMIT (256u << 10)  /* bytes queued before sockit_http_write says stop */

typedef struct sockit_http_config {
    /* The server core's settings (server.h's sockit_server_config has their full contracts). */
    const char *host;       /* NULL/"" wildcard dual-stack, "127.0.0.1", "::1", "/path", ... */
    const char *port;       /* "8000"; NULL/"0": any free port (see sockit_http_server_addr) */
    int family;             /* 0: from host */
    int workers;            /* event-driven worker threads; 0: one per core */
    int max_conns;          /* open connections at most (0: 10000) */
    int backlog;            /* 0: SOMAXCONN */
    double stop_grace;      /* graceful stop: seconds in-flight requests may take (0: 5) */
    sockit_tls_ctx *tls;    /* serve HTTPS with this server context (ALPN offers http/1.1); the
                               server holds its own reference. NULL: plain HTTP */
    void *user;             /* yours: sockit_http_server_user(), log and access_log's argument */
    /* The library's one way to speak (refusals, handler failures); any worker thread. */
    void (*log)(void *user, const char *message);
    /* Called once per finished request (also for error answers and requests cut short), on the
     * worker thread. NULL: none. sockit_http_log_format makes a CLF line of it. */
    void (*access_log)(void *user, const sockit_http_log_entry *e);

    /* HTTP limits. Timeouts in seconds: 0 the default, huge values clamped, never "none". */
    double header_timeout;  /* from a request's first byte to the end of its head; else the
                               connection closes (408 is sent if nothing was answered yet).
                               With TLS it also bounds the handshake and the first request's
                               first byte after it (then the close is silent). */
    double idle_timeout;    /* keep-alive: waiting for the next request (also for the first) */
    double body_timeout;    /* between two arrivals of request-body bytes; else close */
    double send_timeout;    /* queued output that makes no progress, and any period with no
                               traffic at all while a request is in progress; else close */
    size_t max_header_bytes; /* request line + header fields; else 431 (and close) */
    size_t max_headers;      /* header fields; else 431 */
    size_t max_target;       /* request-target bytes; else 414 */
    uint64_t max_body;       /* request body bytes (a route may raise it); else 413 */
    unsigned max_requests_per_conn; /* then the last response says Connection: close */
    unsigned max_pipelined;  /* requests answered from bytes already received before the
                                worker serves other connections */
    int blocking_threads;    /* blocking-handler pool threads (started only if a blocking route
                                exists) */
    int blocking_queue;      /* blocking requests waiting for a thread; beyond: 503 */
    unsigned retry_after;    /* the Retry-After seconds of that 503 (0: 1) */
    size_t stream_limit;     /* output queued per connection above which sockit_http_write
                                returns SOCKIT_HTTP_FULL / blocks */
    /* The Server header: NULL means "sockit/" SOCKIT_VERSION; "" omits the header. */
    const char *server_name;
} sockit_http_config;

/* Creates the server and binds its sockets (the port is known after this): nothing runs yet.
 * The config is copied (strings too). -EINVAL for a NULL or inconsistent config; bind errors. */
SOCKIT_API int sockit_http_server_new(sockit_http_server **out, const sockit_http_config *cfg);

/* The bound address (the real port when "0" was asked for). */
SOCKIT_API int sockit_http_server_addr(const sockit_http_server *hs, sockit_addr *out);

/* Starts the workers (and the blocking pool if a blocking route exists) and returns. */
SOCKIT_API int sockit_http_server_start(sockit_http_server *hs);

/* Graceful stop: listeners close at once, idle keep-alive connections close at once, requests in
 * flight get cfg.stop_grace seconds to finish (their responses say Connection: close), then
 * everything is closed. Any thread, async-signal-safe. */
SOCKIT_API void sockit_http_server_stop(sockit_http_server *hs);

/* Waits until a stopped server's threads (workers and pool) are joined. */
SOCKIT_API int sockit_http_server_wait(sockit_http_server *hs);

/* start + stop on SIGINT or SIGTERM + wait (as sockit_server_run). Returns 0 after a clean stop.
 * A signal that arrives before this call still has its default action: a program that says
 * it is ready first (prints its address) blocks SIGINT and SIGTERM before that; one pending
 * when this runs stops the server at once. */
SOCKIT_API int sockit_http_server_run(sockit_http_server *hs);

/* Frees a stopped (or never started) server. NULL is a no-op. */
SOCKIT_API void sockit_http_server_free(sockit_http_server *hs);

SOCKIT_API void *sockit_http_server_user(const sockit_http_server *hs);

/* ---- routes (before start; -EBUSY after) ----------------------------------------------------- */

/* Per-route options; a zeroed struct (or NULL) is the default. */
typedef struct sockit_http_route_opts {
    int blocking;          /* 1: the handler runs on the blocking pool */
    uint64_t max_body;     /* this route's body limit (0: cfg.max_body) */
} sockit_http_route_opts;

/*
 * Adds a route, matched in the order added (first match wins):
 *   method   "GET", "POST", ... (exact, case-sensitive as HTTP says), or NULL for any method.
 *            A GET route also answers HEAD (the body is suppressed, headers and length kept).
 *   pattern  "/x" matches the decoded path "/x" exactly; a pattern ending in '*' is a prefix:
 *            "/api/items/" followed by '*' matches every path that starts with "/api/items/"
 *            (sockit_http_match gives the rest); "*" alone matches every path.
 * Requests that match no route go to the default handler (sockit_http_default), else 404. When
 * a path matches only under other methods the answer is 405 with Allow; a method neither in
 * RFC 9110's list nor used by any route is 501. The strings are copied.
 * Returns 0; -EINVAL (NULL pattern or handler, a pattern not starting with '/' or "*", a method
 * that is not a token), -EBUSY after start, -ENOMEM.
 */
SOCKIT_API int sockit_http_route(sockit_http_server *hs, const char *method, const char *pattern,
                                 sockit_http_handler handler, void *arg);

/* The same with the handler on the blocking pool. */
SOCKIT_API int sockit_http_route_blocking(sockit_http_server *hs, const char *method,
                                          const char *pattern, sockit_http_handler handler,
                                          void *arg);

/* The same with options (opts NULL: sockit_http_route). */
SOCKIT_API int sockit_http_route_ex(sockit_http_server *hs, const char *method, const char *pattern,
                                    sockit_http_handler handler, void *arg,
                                    const sockit_http_route_opts *opts);

/* The handler for requests no route matches (instead of 404); NULL restores 404. Before start. */
SOCKIT_API int sockit_http_default(sockit_http_server *hs, sockit_http_handler handler, void *arg);

/* ---- static files (src/http/static.c) ---------------------------------------------------------- */

/* Symlink policies of sockit_http_static_opts.symlinks. */
#define SOCKIT_HTTP_SYMLINKS_INSIDE 0 /* followed while they stay beneath the root (default) */
#define SOCKIT_HTTP_SYMLINKS_NEVER 1  /* any symlink refused (403) */

typedef struct sockit_http_static_opts {
    const char *index;     /* file served for a directory (NULL: "index.html"; "" none) */
    int no_listing;        /* 1: no HTML listing of directories without an index (403) */
    int no_precompressed;  /* 1: never serve file.br / file.gz siblings */
    int symlinks;          /* SOCKIT_HTTP_SYMLINKS_* */
    /* Open-file cache, one per worker (docs/http-server.md): a file's descriptor, stat and
     * validators are reused for cache_valid_ms after it was opened (0: 1000; < 0: no cache), so
     * a file changed, removed or replaced by a symlink out of the root may be served as it was
     * for at most that long. cache_entries bounds the entries (and descriptors) per worker (0:
     * 1024, or RLIMIT_NOFILE / 8 when that is smaller, at least 16). */
    int cache_valid_ms;
    int cache_entries;
} sockit_http_static_opts;

/* Mounts the directory dir at the URL prefix (e.g. "/" or "/static/"; with or without a final '/'): GET and HEAD of
 * prefix + path serve dir + path, never outside dir (docs/http-server.md lists what it does:
 * Range, validators, precompressed siblings, listings). A route like any other: ordered among
 * them. dir is opened now (-ENOENT, -ENOTDIR, ...); opts NULL: the defaults. Before start. */
SOCKIT_API int sockit_http_static(sockit_http_server *hs, const char *prefix, const char *dir,
                                  const sockit_http_static_opts *opts);

/* ---- the request ------------------------------------------------------------------------------ */

/* The method and the raw request-target as received (not NUL-terminated). */
SOCKIT_API sockit_str sockit_http_method(const sockit_http_req *r);
SOCKIT_API sockit_str sockit_http_target(const sockit_http_req *r);

/* The decoded path: percent-decoded once, dot-segments removed, NUL-terminated (a request whose
 * path holds a NUL, %00, or climbs above "/" never reaches a handler: 400/403). */
SOCKIT_API const char *sockit_http_path(const sockit_http_req *r);

/* The raw query string after '?' (p NULL if the target has none). */
SOCKIT_API sockit_str sockit_http_query(const sockit_http_req *r);

/* The first query parameter `name` (compared after decoding), percent-decoded with '+' as a
 * space, NUL-terminated into buf. Returns its length (a parameter without '=' has length 0),
 * -ENOENT if absent, -ENOSPC if it does not fit len - 1 bytes (buf then holds a truncated copy),
 * SOCKIT_EBADURL for a bad escape, -EINVAL for NULL arguments. */
SOCKIT_API ssize_t sockit_http_query_get(const sockit_http_req *r, const char *name, char *buf,
                                         size_t len);

/* The first header field called name (case-insensitive): its value (p NULL if absent). */
SOCKIT_API sockit_str sockit_http_req_header(const sockit_http_req *r, const char *name);

/* All header fields, in order: *n gets their count. Valid as long as r. */
SOCKIT_API const sockit_http_header *sockit_http_req_headers(const sockit_http_req *r, size_t *n);

/* 10 for HTTP/1.0, 11 for HTTP/1.1. */
SOCKIT_API int sockit_http_version(const sockit_http_req *r);

/* The client's address; 1 if the connection is TLS. */
SOCKIT_API int sockit_http_peer(const sockit_http_req *r, sockit_addr *out);
SOCKIT_API int sockit_http_is_tls(const sockit_http_req *r);

/* For a prefix route: the decoded path after the prefix (the pattern "/api/items/" + '*' and the
 * path "/api/items/7" give "7"); for an exact route "". NUL-terminated. */
SOCKIT_API const char *sockit_http_match(const sockit_http_req *r);

/* The request body's framing: its Content-Length (or UINT64_MAX for chunked; 0 for none). */
SOCKIT_API uint64_t sockit_http_body_length(const sockit_http_req *r);

/* The worker loop the request lives on (event-driven handlers: for timers that answer later). */
SOCKIT_API sockit_loop *sockit_http_loop(const sockit_http_req *r);

/* The server and this request's per-request slot for you (NULL at first). */
SOCKIT_API sockit_http_server *sockit_http_server_of(const sockit_http_req *r);
SOCKIT_API void sockit_http_set_data(sockit_http_req *r, void *data);
SOCKIT_API void *sockit_http_data(const sockit_http_req *r);

/* Raises (or lowers) this request's body limit before its body is read: 413 above it. */
SOCKIT_API void sockit_http_set_max_body(sockit_http_req *r, uint64_t max);

/* ---- the request body ------------------------------------------------------------------------ */

/*
 * Event-driven handlers: asks for the body. cb(r, data, len, 0, arg) is called for each piece as
 * it arrives (data is yours to modify during the call, not after), then exactly once
 * cb(r, NULL, 0, 1, arg) at its end (also at once for a request without a body), or
 * cb(r, NULL, 0, code, arg) with code < 0 if it fails: SOCKIT_ETOOLONG over the limit,
 * -ETIMEDOUT (body_timeout), SOCKIT_EPROTO (bad chunked coding), -ECONNRESET/SOCKIT_ECLOSED (the
 * client went away). On a failure you may answer from cb (your answer is sent); if no response
 * was made when cb returns the server answers for you: 413 (SOCKIT_ETOOLONG), 408
 * (-ETIMEDOUT), 400 (any other code; a client that went away will not read it). After a failure the
 * connection closes; the request is still valid until the call returns. The final call (end 1
 * or a failure) always comes before the on_done callback, which is where per-request state
 * is freed.
 * Sends "100 Continue" first when the client expects it. Returns 0, -EALREADY if asked before,
 * -EINVAL from a blocking handler (use sockit_http_read). You may answer before the end: cb
 * still gets the rest (the request is finished once both are done). A body nobody asks for is
 * read and dropped (see sockit_http_respond: a response made without taking the body waits
 * until it has ended validly).
 */
typedef void (*sockit_http_body_cb)(sockit_http_req *r, char *data, size_t len, int end,
                                    void *arg);
SOCKIT_API int sockit_http_on_body(sockit_http_req *r, sockit_http_body_cb cb, void *arg);

/* Blocking handlers: reads up to len body bytes into buf, blocking until some arrive. Returns
 * the count, 0 at the end of the body, or a code as the body callback's. The first call sends
 * "100 Continue" when the client expects it. -EINVAL from an event-driven handler. */
SOCKIT_API ssize_t sockit_http_read(sockit_http_req *r, void *buf, size_t len);

/* ---- the response ----------------------------------------------------------------------------- */

/* The status of the response (default 200): 100..999 (1xx other than through the server: -EINVAL). */
SOCKIT_API int sockit_http_set_status(sockit_http_req *r, int status);

/* Adds a response header field. Returns 0, -EINVAL for a name that is not a token or a value with
 * CR, LF or NUL (or another control byte except tab), -EALREADY once the head is sent, -ENOSPC
 * when the head would exceed 16 KiB. The server writes the framing and connection fields:
 * Transfer-Encoding and Date are -EPERM; "Connection: close" closes the connection after this
 * response (any other Connection value is -EPERM); Content-Length is not copied but taken as
 * the promise of a streamed response (sockit_http_start then uses it instead of chunked coding;
 * the server checks the count: writing more is -EMSGSIZE, ending with less closes the
 * connection; sockit_http_respond* always set their own). A Server field replaces the server's;
 * Date is always added (IMF-fixdate). */
SOCKIT_API int sockit_http_add_header(sockit_http_req *r, const char *name, const char *value);

/* The whole response from memory (copied): status, Content-Type (NULL: none), body. Sets
 * Content-Length. Returns 0, -EALREADY if a response was started, -EPIPE if the connection is
 * gone, -ENOMEM. Blocking handlers: returns once the bytes are queued.
 *
 * A response to a request whose body is still to come and that nobody asked for (no
 * sockit_http_on_body / sockit_http_read) is held (this applies to the three respond calls):
 * the server reads and drops the body first and sends the response only once the body has
 * ended and was valid; a malformed body gets 400 instead, a chunked body over
 * SOCKIT_HTTP_DISCARD_MAX gets 413, a timeout 408 (the held response is dropped, its borrowed
 * body released, and the connection closes). A Content-Length body over
 * SOCKIT_HTTP_DISCARD_MAX is not read: the response goes at once with Connection: close.
 * sockit_http_responded is 1 while a response is held. */
SOCKIT_API int sockit_http_respond(sockit_http_req *r, int status, const char *content_type,
                                   const void *body, size_t len);

/* The same with a borrowed body: release(arg) is called exactly once when the server no longer
 * needs it (sent, connection ended, or on failure before this returns; release NULL: static). */
SOCKIT_API int sockit_http_respond_borrowed(sockit_http_req *r, int status,
                                            const char *content_type, const void *body,
                                            size_t len, void (*release)(void *arg), void *arg);

/* length bytes of the file fd from offset, sent with sendfile(2). The server takes fd and closes
 * it once sent, when the connection ends, or when this call fails (also -EALREADY). */
SOCKIT_API int sockit_http_respond_file(sockit_http_req *r, int status, const char *content_type,
                                        int fd, uint64_t offset, uint64_t length);

/* sockit_http_write's "stop and wait for on_writable" answer (a positive count of 0 bytes lost:
 * the bytes WERE taken). */
#define SOCKIT_HTTP_FULL 1

/* Streaming: sends the head (status and headers so far; there is no Content-Type argument: add
 * it with sockit_http_add_header first). The body follows with sockit_http_write in chunked
 * coding (HTTP/1.1) — or delimited by Content-Length if you added one, or by closing the
 * connection for an HTTP/1.0 client. Returns 0, -EALREADY, -EINVAL (status), -EPIPE, or -EBUSY
 * when the request has a body still to come that nobody asked for: a streamed response is
 * never held, so take the body first (sockit_http_on_body / sockit_http_read) or answer whole
 * (sockit_http_respond*, held until the body ended validly). sockit_http_write and
 * sockit_http_end start the response and fail the same way. */
SOCKIT_API int sockit_http_start(sockit_http_req *r, int status);

/* Sends body bytes (copied; a zero len is a no-op). Returns 0: write more; SOCKIT_HTTP_FULL: the
 * bytes were taken but cfg.stream_limit bytes are now queued — stop and wait for the callback
 * of sockit_http_on_writable; -ENOBUFS if you ignored that answer and the queue reached 4 x the
 * limit (nothing taken); -EPIPE (the connection is gone); -EMSGSIZE (past a Content-Length).
 * Blocking handlers: blocks while the queue is over the limit, and never returns
 * SOCKIT_HTTP_FULL (send_timeout bounds the wait: -ETIMEDOUT). Starts the response (200) if
 * sockit_http_start was not called. */
SOCKIT_API int sockit_http_write(sockit_http_req *r, const void *data, size_t len);

/* Ends a streamed response (the last chunk). The request must not be used after this, unless
 * its body is still being read. */
SOCKIT_API int sockit_http_end(sockit_http_req *r);

/* Event-driven: cb(r, arg) once, when the queue falls below the limit again (at the end of this
 * round if it already is). Call it after SOCKIT_HTTP_FULL (or whenever you want a signal). */
SOCKIT_API int sockit_http_on_writable(sockit_http_req *r, void (*cb)(sockit_http_req *r, void *arg),
                                       void *arg);

/* Event-driven: cb(r, status, arg) once when the request is finished (response queued and body
 * finished) — status is the one sent, or 0 if the connection ended before the response was
 * complete. It comes after the body callback's final call. After it returns r is gone: an
 * async handler frees its per-request state (sockit_http_set_data) and drops its references
 * here. */
SOCKIT_API int sockit_http_on_done(sockit_http_req *r, void (*cb)(sockit_http_req *r, int status,
                                   void *arg), void *arg);

/* 1 once a response head was sent (or a whole response queued). */
SOCKIT_API int sockit_http_responded(const sockit_http_req *r);

#ifdef __cplusplus
}
#endif

#endif /* SOCKIT_HTTP_SERVER_H */
