/*
 * Private to the HTTP server (src/http/server.c, http_conn.c, http_resp.c, http_pool.c, static.c).
 *
 * Ownership: each connection's protocol state (struct hconn) lives in the server core's slot
 * (conn_state_size). Its request object (sockit_http_req) is allocated at the connection's first
 * request and reused by every later one, so steady keep-alive traffic allocates nothing. A
 * request handed to the blocking pool belongs to the pool while its handler runs: when the
 * connection ends meanwhile, the request is detached (r->hc = NULL) and the pool frees it.
 */
#ifndef SOCKIT_INTERNAL_HTTP_SERVER_H
#define SOCKIT_INTERNAL_HTTP_SERVER_H

#include <sockit/http_server.h>
#include <sockit/server.h>

#include <pthread.h>
#include <stdatomic.h>

struct route {
    char *method;          /* NULL: any */
    char *pattern;         /* without the final '*' of a prefix */
    size_t plen;
    int prefix;
    sockit_http_handler fn;
    void *arg;
    int blocking;
    uint64_t max_body;
};

struct cleanup {
    void (*fn)(void *arg);
    void *arg;
};

struct hpool;

struct sockit_http_server {
    sockit_http_config cfg;       /* limits with their defaults applied */
    char *host, *port, *server_name;
    sockit_server *srv;
    struct route *routes;
    size_t nroutes, cap;
    sockit_http_handler def;
    void *def_arg;
    struct cleanup *cleanups;
    size_t ncleanups;
    int started;
    _Atomic int stopping;
    struct hpool *pool;           /* NULL when no blocking route exists */
    char server_line[128];        /* "Server: sockit/0.1.0\r\n" or "" */
    size_t server_line_len;
};

/* Phases of a connection between requests. */
enum { P_IDLE, P_HEAD, P_ACTIVE };

/* Who takes the request body. */
enum { B_NONE, B_HELD, B_CB, B_READ, B_DISCARD, B_DONE };

/* Response states. R_HELD: a whole response made while the request body was still unread and
 * nobody asked for it; it is kept (not queued) until the body has been read to its end and found
 * valid, so no answer ever goes out for a request whose body turns out malformed. */
enum { R_NONE, R_STREAM, R_DONE, R_HELD };

/* A response body: bytes copied (lend 0), lent (lend 1: release(arg) once done), or a file range
 * (fd >= 0, owned: closed once sent or on failure). */
struct sockit__body {
    const void *p;
    size_t len;
    void (*release)(void *arg);
    void *arg;
    int fd;
    uint64_t off, flen;
    int lend;
};


struct hconn {
    sockit_conn *c;
    sockit_http_server *hs;
    sockit_http_req *req;         /* allocated at the first request, kept */
    sockit_timer timer;
    int phase;
    int paused;                   /* we paused reading (held input waits) */
    int drain_wait;               /* paused until the output queue drains */
    int in_data;                  /* inside on_data */
    int closing;                  /* no further request is read */
    int dying;                    /* on_close has begun */
    int line_ok;                  /* the head under way has a valid request line */
    int yielded;                  /* the last on_data stopped at max_pipelined with input held */
    size_t scanned;               /* sockit_http_head_end's memory */
    unsigned nreq;
    /* The access log counts body bytes written to the socket, not queued: every byte this layer
     * queues is added to `queued`, so queued - sockit_conn_pending() is what was written. A
     * finished request whose body is not all written yet has its log line kept in plog
     * (oldest first, at most PLOG_MAX; reading waits while it is full) until the queue drains
     * (on_writable) or the connection closes (then with the bytes that were written). */
    uint64_t queued;
    struct plog *plog;
    unsigned nplog;
};

#define PLOG_MAX 8

struct relay;

struct sockit_http_req {
    struct hconn *hc;             /* NULL once the connection is gone (detached) */
    sockit_conn *c;
    sockit_http_server *hs;
    const struct route *route;

    /* The request head, copied: header array, then the head bytes, then the decoded path. */
    char *keep;
    size_t keep_cap;
    sockit_http_request msg;
    char *path;
    const char *match;
    sockit_str query;
    int is_head, keep_alive, expect_continue, continue_sent, tls;
    sockit_addr peer;

    /* The body. */
    int framing;
    uint64_t clen, left, seen, max_body, discarded;
    sockit_http_chunked ch;
    int body;                     /* B_* */
    int body_err;                 /* a failure met reading it */
    sockit_http_body_cb body_cb;
    void *body_arg;

    /* The response. */
    int status, resp;             /* R_* */
    char *rh;                     /* the handler's header lines, "Name: value\r\n"... */
    size_t rh_len, rh_cap;
    int has_clen, chunked, until_close, head_sent;
    int want_close, own_server;   /* the handler's Connection: close / Server header */
    uint64_t resp_clen, resp_sent;
    uint64_t bytes;
    uint64_t body_from, body_to;  /* the body's span in hc->queued (for the access log) */
    int held_status;              /* R_HELD: the response kept until the body is done */
    char *held_ctype;
    struct sockit__body held_body; /* owned: copy, lent (release pending) or fd */
    void (*wcb)(sockit_http_req *r, void *arg);
    void *warg;
    void (*done_cb)(sockit_http_req *r, int status, void *arg);
    void *done_arg;
    void *data;
    int in_user;                  /* a handler or body callback of r is running */
    double t0;
    int64_t wall0;

    /* Blocking handlers. */
    int blocking, in_pool;
    sockit_loop *loop;            /* the worker's, for relays */
    struct relay *op;             /* a read or write op waiting on the loop */
};

/* A token character (RFC 9110 5.6.2). */
static inline int sockit__http_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch && __builtin_strchr("!#$%&'*+-.^_`|~", ch));
}

/* reqline.c: the request line and authority, judged on their own (fuzz/fuzz_http_reqline.c). */
/* p[0, n) without its LF (a final CR is allowed): 0 a valid HTTP/1.0 or 1.1 line, 505 a valid
 * line of another HTTP/d.d, -1 anything else; method and target point into p when >= 0. */
int sockit__http_line_check(const char *p, size_t n, sockit_str *method, sockit_str *target);
/* A line not ended yet: 1 if p[0, n) is a method, a space and target bytes up to the end (their
 * count in *target_len). */
int sockit__http_line_prefix_ok(const char *p, size_t n, size_t *target_len);
/* 1 while p[0, n) can still be the start of a valid request line ("HTTP/d.d\r" at most). */
int sockit__http_line_plausible(const char *p, size_t n);
/* An authority (Host, absolute-form): IP literal or reg-name, then ":" and digits; empty_ok
 * allows an empty host. 1 valid, 0 not. */
int sockit__http_authority_ok(const char *p, size_t len, int empty_ok);

/* http_conn.c */
extern const sockit_server_cbs sockit__http_cbs;
/* Called when the response is complete: finishes the request if its body is done too. */
void sockit__http_resp_done(sockit_http_req *r);
/* Starts the body flow after the handler asked for it (B_CB / B_READ / B_DISCARD). */
void sockit__http_body_want(sockit_http_req *r, int mode);
/* The connection must close after this request. */
void sockit__http_no_keep(sockit_http_req *r);

/* http_resp.c */
/* A complete response made by the server itself (errors): status, a short text body. */
int sockit__http_error(sockit_http_req *r, int status, const char *extra_header);
/* Appends n bytes of complete header lines ("Name: value\r\n"...) that the caller made and
 * vouches for (tokens, no control bytes, none of the fields the server writes): the static
 * handler's precomputed validators. 0, -EALREADY after the head, -ENOSPC, -ENOMEM. */
int sockit__http_add_lines(sockit_http_req *r, const char *lines, size_t n);
/* The reason phrase of a status ("" if unknown). */
const char *sockit__http_reason(int status);
/* A refusal of a head that did not parse (status 0: close silently); the connection closes. */
void sockit__http_raw_error(struct hconn *hc, int status, sockit_str method, sockit_str target);
/* R_HELD: the body ended validly, the kept response is queued now. */
void sockit__http_held_send(sockit_http_req *r);
/* R_HELD: the kept response is dropped (its body released), the state back to R_NONE. */
void sockit__http_held_drop(sockit_http_req *r);
/* Resets the response part for a new request. */
void sockit__http_resp_reset(sockit_http_req *r);
/* The writable signal for the request (on_writable of the connection). */
void sockit__http_writable(sockit_http_req *r);
int sockit__http_respond_loop(sockit_http_req *r, int status, const char *ctype, const struct sockit__body *b);
int sockit__http_start_loop(sockit_http_req *r, int status);
int sockit__http_write_loop(sockit_http_req *r, const void *data, size_t len);
int sockit__http_end_loop(sockit_http_req *r);

/* http_pool.c */
int sockit__http_pool_new(sockit_http_server *hs);
/* Queues r for a pool thread: 0, or -EBUSY when every thread is busy and the queue full. */
int sockit__http_pool_submit(sockit_http_server *hs, sockit_http_req *r);
/* After the workers are joined: pending relays fail, the threads finish and are joined. */
void sockit__http_pool_stop(sockit_http_server *hs);
void sockit__http_pool_free(sockit_http_server *hs);
/* 1 when called on a pool thread for r (its handler's thread). */
int sockit__http_on_pool(const sockit_http_req *r);
/* Relays from a pool thread. */
int sockit__http_relay_respond(sockit_http_req *r, int status, const char *ctype, const struct sockit__body *b);
int sockit__http_relay_start(sockit_http_req *r, int status);
int sockit__http_relay_write(sockit_http_req *r, const void *data, size_t len);
int sockit__http_relay_end(sockit_http_req *r);
ssize_t sockit__http_relay_read(sockit_http_req *r, void *buf, size_t len);
/* On the loop: completes r's waiting op with result (a read gets its bytes through
 * sockit__http_read_feed). */
void sockit__http_op_complete(sockit_http_req *r, ssize_t result);
/* On the loop: the pending read op's buffer and room (NULL when no read waits). */
char *sockit__http_read_want(sockit_http_req *r, size_t *room);
/* On the loop: the pending write op can continue (queue drained). */
void sockit__http_op_writable(sockit_http_req *r);

/* server.c: free r and its buffers. */
void sockit__http_req_free(sockit_http_req *r);
/* Runs fn(arg) when the server is freed (the static handler's state). */
int sockit__http_on_free(sockit_http_server *hs, void (*fn)(void *arg), void *arg);

#endif
