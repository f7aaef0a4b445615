/*
 * The HTTP/1.1 connection engine: the server core's callbacks. Reads request heads in place from
 * the core's on_data view, routes them, streams request bodies to their consumer, and keeps
 * responses in request order (one request is active at a time; pipelined bytes wait unparsed).
 *
 * A connection's phases: P_IDLE (waiting for a request: idle_timeout), P_HEAD (part of a head
 * arrived: header_timeout from its first byte), P_ACTIVE (a request is being handled; its body
 * flows while someone takes it: body_timeout between arrivals). One loop timer per connection,
 * re-armed at phase changes only (and per body arrival).
 *
 * Error answers: malformed bytes get 400 (the command's contract, cli.md) and the close; the
 * more precise statuses (414, 431, 505, 408) only once the request line was fully and validly
 * parsed, so we know what it asked. No handler ever sees such a request, and every error found
 * before a request is routed closes the connection after the answer, so no byte after a bad
 * request is ever read as another request. A stalled head whose line was never valid, and a
 * failed allocation, are closed without an answer.
 */
#include "internal/core.h"
#include "internal/http_file.h"
#include "internal/http_server.h"
#include "internal/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- the per-thread header array the parser fills ------------------------------------------- */

static pthread_key_t hdr_key;
static pthread_once_t hdr_once = PTHREAD_ONCE_INIT;
static __thread sockit_http_header *tl_hdr;
static __thread size_t tl_cap;

static void hdr_key_init(void) { pthread_key_create(&hdr_key, free); }

static sockit_http_header *headers_scratch(size_t cap)
{
    if (tl_cap >= cap) return tl_hdr;
    pthread_once(&hdr_once, hdr_key_init);
    sockit_http_header *n = realloc(tl_hdr, cap * sizeof *n);
    if (!n) return NULL;
    tl_hdr = n;
    tl_cap = cap;
    pthread_setspecific(hdr_key, n); /* freed when the thread ends */
    return n;
}

/* ---- small helpers --------------------------------------------------------------------------- */

static struct hconn *hconn_of(sockit_conn *c) { return sockit_conn_state(c); }

static void arm(struct hconn *hc, double secs)
{
    sockit_timer_start(sockit_conn_loop(hc->c), &hc->timer, secs, 0);
}

static void disarm(struct hconn *hc) { sockit_timer_stop(sockit_conn_loop(hc->c), &hc->timer); }

/* Input we cannot take yet stays with the core: stop reading until we can. */
static void hold(struct hconn *hc)
{
    if (hc->paused) return;
    hc->paused = 1;
    sockit_conn_pause(hc->c);
}

static void unhold(struct hconn *hc)
{
    if (!hc->paused || hc->drain_wait) return;
    hc->paused = 0;
    sockit_conn_resume(hc->c); /* held input is offered again at the end of the round */
}

static int streqi(sockit_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.n == n && strncasecmp(s.p, lit, n) == 0;
}

static int streq(sockit_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.n == n && memcmp(s.p, lit, n) == 0;
}

/* A head we refuse before it parsed: the status it deserves (400 when its line is not even a
 * request line). too_big: the head is over max_header_bytes (or never ended within it). */
static int head_refusal(struct hconn *hc, const char *p, size_t n, int too_big, sockit_str *m,
                        sockit_str *t)
{
    const sockit_http_config *cfg = &hc->hs->cfg;
    const char *lf = memchr(p, '\n', n);
    if (!lf) {
        size_t tlen;
        if (sockit__http_line_prefix_ok(p, n, &tlen) && tlen > cfg->max_target) {
            *m = (sockit_str){p, (size_t)((const char *)memchr(p, ' ', n) - p)};
            *t = (sockit_str){NULL, 0};
            return 414;
        }
        return 400;
    }
    int v = sockit__http_line_check(p, (size_t)(lf - p), m, t);
    if (v < 0) return 400;
    if (v == 505) return 505;
    if (t->n > cfg->max_target) return 414;
    return too_big ? 431 : 400;
}

/* ---- finishing a request ------------------------------------------------------------------------ */

/* A log line kept until its body is written (see struct hconn): method and target copied. */
struct plog {
    char *mt; /* method bytes, then target bytes */
    size_t mlen, tlen;
    int version, status;
    uint64_t bytes, from, to;
    double t0;
    int64_t wall0;
};

/* Of a body spanning [from, to) in hc->queued with `bytes` body bytes: how many were written. */
static uint64_t written(struct hconn *hc, uint64_t from, uint64_t to, uint64_t bytes)
{
    uint64_t sent = hc->queued - sockit_conn_pending(hc->c);
    uint64_t w = sent > from ? sent - from : 0;
    if (w > to - from) w = to - from;
    return w < bytes ? w : bytes; /* chunk framing is not body */
}

static void log_emit(struct hconn *hc, sockit_str m, sockit_str t, int version, int status,
                     uint64_t bytes, double t0, int64_t wall0)
{
    const sockit_http_config *cfg = &hc->hs->cfg;
    sockit_addr peer;
    sockit_conn_peer(hc->c, &peer);
    sockit_http_log_entry e = {m, t, version, status, bytes, sockit_loop_now(sockit_conn_loop(hc->c)) - t0,
                               &peer, wall0};
    cfg->access_log(cfg->user, &e);
}

/* Logs the kept lines whose bodies are written (all of them when `all`, with what was written). */
static void plog_flush(struct hconn *hc, int all)
{
    unsigned k = 0;
    for (; k < hc->nplog; k++) {
        struct plog *p = &hc->plog[k];
        uint64_t w = written(hc, p->from, p->to, p->bytes);
        if (!all && w < p->bytes) break;
        log_emit(hc, (sockit_str){p->mt, p->mlen}, (sockit_str){p->mt + p->mlen, p->tlen}, p->version,
                 p->status, w, p->t0, p->wall0);
        free(p->mt);
    }
    memmove(hc->plog, hc->plog + k, (hc->nplog - k) * sizeof *hc->plog);
    hc->nplog -= k;
    if (!hc->nplog) {
        free(hc->plog);
        hc->plog = NULL;
    }
}

/* The request's log line, now if its body is written (or the connection is ending), else kept
 * until it is. */
static void log_request(struct hconn *hc, sockit_http_req *r, int status)
{
    if (!hc->hs->cfg.access_log) return;
    uint64_t w = written(hc, r->body_from, r->body_to, r->bytes);
    if (w < r->bytes && !hc->dying && hc->nplog < PLOG_MAX) {
        char *mt = malloc(r->msg.method.n + r->msg.target.n + 1);
        if (!hc->plog) hc->plog = calloc(PLOG_MAX, sizeof *hc->plog);
        if (mt && hc->plog) {
            memcpy(mt, r->msg.method.p, r->msg.method.n);
            memcpy(mt + r->msg.method.n, r->msg.target.p, r->msg.target.n);
            hc->plog[hc->nplog++] = (struct plog){mt, r->msg.method.n, r->msg.target.n, r->msg.version, status,
                                                  r->bytes, r->body_from, r->body_to, r->t0, r->wall0};
            sockit_conn_want_writable(hc->c);
            return;
        }
        free(mt);
    }
    log_emit(hc, r->msg.method, r->msg.target, r->msg.version, status, w, r->t0, r->wall0);
}

static void body_reset(sockit_http_req *r)
{
    r->body = B_DONE;
    r->body_cb = NULL;
    r->body_err = 0;
    r->seen = r->discarded = r->left = r->clen = 0;
}

static void finish(struct hconn *hc, sockit_http_req *r)
{
    int status = r->status;
    log_request(hc, r, status);
    if (r->done_cb) {
        void (*cb)(sockit_http_req *, int, void *) = r->done_cb;
        r->done_cb = NULL;
        cb(r, status, r->done_arg);
    }
    int keep = r->keep_alive && !hc->closing;
    sockit_conn_set_busy(hc->c, 0);
    body_reset(r);
    sockit__http_resp_reset(r);
    r->data = NULL;
    r->route = NULL;
    hc->phase = P_IDLE;
    hc->nreq++;
    if (!keep) {
        hc->closing = 1;
        disarm(hc);
        sockit_conn_close(hc->c);
        return;
    }
    arm(hc, hc->hs->cfg.idle_timeout);
    unhold(hc);
}

static void maybe_finish(sockit_http_req *r)
{
    struct hconn *hc = r->hc;
    if (hc && hc->phase == P_ACTIVE && r->resp == R_DONE && r->body == B_DONE && !r->in_pool &&
        !r->in_user && !hc->dying)
        finish(hc, r);
}

void sockit__http_no_keep(sockit_http_req *r)
{
    r->keep_alive = 0;
    if (r->hc) r->hc->closing = 1;
}

/* The response is complete. A body nobody asked for is read and dropped (bounded), so the
 * connection can go on; one too large to drop closes it instead. */
void sockit__http_resp_done(sockit_http_req *r)
{
    r->resp = R_DONE;
    if (r->body == B_NONE || r->body == B_HELD) {
        if (r->framing == SOCKIT_HTTP_LENGTH && r->left > SOCKIT_HTTP_DISCARD_MAX) {
            r->body = B_DONE; /* the connection closes: see sockit__http_no_keep below */
            sockit__http_no_keep(r);
            if (r->hc) sockit_conn_close(r->hc->c);
        } else {
            sockit__http_body_want(r, B_DISCARD);
        }
    }
    maybe_finish(r);
}

/* User code runs with r->in_user set: the request finishes only once it returns, so calls on r
 * right after a response (a late header, a second respond) fail cleanly instead of touching
 * the next request. */
static void body_call(sockit_http_req *r, char *data, size_t len, int end)
{
    r->in_user++;
    r->body_cb(r, data, len, end, r->body_arg);
    r->in_user--;
}

/* ---- the body ------------------------------------------------------------------------------------ */

static void send_continue(sockit_http_req *r)
{
    if (!r->expect_continue || r->continue_sent || r->resp != R_NONE || !r->hc) return;
    r->continue_sent = 1;
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (sockit_conn_send(r->c, line, sizeof line - 1) == 0) r->hc->queued += sizeof line - 1;
}

void sockit__http_body_want(sockit_http_req *r, int mode)
{
    struct hconn *hc = r->hc;
    if (r->body == B_DONE || !hc) return;
    if (mode != B_DISCARD) send_continue(r);
    else if (r->expect_continue && !r->continue_sent) {
        /* The client waits for 100 before sending: no body will come, the connection cannot
         * be reused safely. */
        r->body = B_DONE;
        sockit__http_no_keep(r);
        return;
    }
    r->body = mode;
    arm(hc, hc->hs->cfg.body_timeout);
    unhold(hc);
}

/* Reading the body failed: tell its consumer, answer if nobody has, and close after. */
static void body_fail(struct hconn *hc, sockit_http_req *r, int code)
{
    int prev = r->body;
    r->body = B_DONE;
    r->body_err = code;
    disarm(hc);
    sockit__http_no_keep(r);
    if (prev == B_CB && r->body_cb) body_call(r, NULL, 0, code);
    else if (prev == B_READ && r->op) sockit__http_op_complete(r, code);
    sockit__http_held_drop(r); /* the body was bad: the kept answer never goes out */
    if (r->in_pool || hc->dying) return; /* the blocking handler answers when it returns */
    if (r->resp == R_NONE) {
        int status = code == SOCKIT_ETOOLONG ? 413 : code == -ETIMEDOUT ? 408 : 400;
        sockit__http_error(r, status, NULL);
    } else if (r->resp == R_DONE) {
        maybe_finish(r);
    }
}

/* Takes body bytes from p[0, n): at most room of them decoded. *used raw bytes consumed, *got
 * body bytes now at p[0, *got), *end when the body is complete. */
static int take(sockit_http_req *r, char *p, size_t n, size_t room, size_t *used, size_t *got,
                int *end)
{
    if (r->framing == SOCKIT_HTTP_LENGTH) {
        size_t k = n < room ? n : room;
        if (k > r->left) k = (size_t)r->left;
        r->left -= k;
        *used = *got = k;
        *end = r->left == 0;
        return 0;
    }
    size_t k = n < room ? n : room, dl = k, rest = 0;
    int rc = sockit_http_chunked_decode(&r->ch, p, &dl, &rest);
    if (rc == SOCKIT_EINCOMPLETE) {
        *used = k;
        *got = dl;
        *end = 0;
        return 0;
    }
    if (rc != 1) return rc < 0 ? rc : SOCKIT_EPROTO;
    /* The decoder moved the bytes after the body to p + dl; put them back where the rest of
     * the input continues (just before p + k), so the caller's view stays contiguous. */
    memmove(p + k - rest, p + dl, rest);
    *used = k - rest;
    *got = dl;
    *end = 1;
    return 0;
}

static size_t body_feed(struct hconn *hc, sockit_http_req *r, char *p, size_t n)
{
    size_t room = SIZE_MAX;
    char *dst = NULL;
    if (r->body == B_NONE || r->body == B_HELD) {
        r->body = B_HELD;
        return 0;
    }
    if (r->body == B_READ && !(dst = sockit__http_read_want(r, &room))) return 0;
    size_t used, got;
    int end, rc = take(r, p, n, room, &used, &got, &end);
    if (rc < 0) {
        body_fail(hc, r, rc);
        return n;
    }
    if (r->body == B_DISCARD) {
        r->discarded += got;
        if (r->discarded > SOCKIT_HTTP_DISCARD_MAX) {
            if (r->resp == R_HELD) { /* a chunked body too large to check: 413, not the answer */
                body_fail(hc, r, SOCKIT_ETOOLONG);
                return n;
            }
            r->body = B_DONE;
            sockit__http_no_keep(r);
            maybe_finish(r);
            return n;
        }
    } else if ((r->seen += got) > r->max_body) {
        body_fail(hc, r, SOCKIT_ETOOLONG);
        return n;
    }
    if (!end) arm(hc, hc->hs->cfg.body_timeout);
    if (r->body == B_CB && got) body_call(r, p, got, 0);
    if (r->body == B_READ && got) {
        memcpy(dst, p, got);
        sockit__http_op_complete(r, (ssize_t)got);
    }
    if (end && r->body != B_DONE) {
        int was = r->body;
        r->body = B_DONE;
        disarm(hc);
        if (was == B_CB) body_call(r, NULL, 0, 1);
        else if (was == B_READ && !got && r->op) sockit__http_op_complete(r, 0);
        if (r->resp == R_HELD) sockit__http_held_send(r); /* the body was valid: answer now */
        else maybe_finish(r);
    }
    return used;
}

/* ---- routing ----------------------------------------------------------------------------------- */

static const char *const known_methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT",
                                            "OPTIONS", "TRACE", "PATCH"};

static int method_known(const sockit_http_server *hs, sockit_str m)
{
    for (size_t i = 0; i < sizeof known_methods / sizeof *known_methods; i++)
        if (streq(m, known_methods[i])) return 1;
    for (size_t i = 0; i < hs->nroutes; i++)
        if (hs->routes[i].method && streq(m, hs->routes[i].method)) return 1;
    return 0;
}

static int path_matches(const struct route *rt, const char *path, const char **rest)
{
    if (rt->prefix) {
        if (strncmp(path, rt->pattern, rt->plen) != 0) return 0;
        *rest = path + rt->plen;
        return 1;
    }
    *rest = "";
    return strcmp(path, rt->pattern) == 0;
}

static int method_matches(const struct route *rt, sockit_str m, int is_head)
{
    return !rt->method || streq(m, rt->method) || (is_head && strcmp(rt->method, "GET") == 0);
}

/* The routes for this path under other methods, as an Allow value; 0 if there are none. */
static int allow_list(const sockit_http_server *hs, const char *path, char *buf, size_t len)
{
    size_t n = 0;
    int found = 0;
    buf[0] = 0;
    for (size_t i = 0; i < hs->nroutes; i++) {
        const char *rest;
        const struct route *rt = &hs->routes[i];
        if (!rt->method || !path_matches(rt, path, &rest)) continue;
        found = 1;
        for (int pass = 0; pass < 1 + (strcmp(rt->method, "GET") == 0); pass++) {
            const char *m = pass ? "HEAD" : rt->method;
            size_t ml = strlen(m);
            /* skip duplicates */
            int dup = 0;
            for (const char *q = buf; (q = strstr(q, m)) != NULL; q += ml)
                if ((q == buf || q[-1] == ' ') && (q[ml] == ',' || q[ml] == 0)) dup = 1;
            if (dup || n + ml + 3 > len) continue;
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", m);
        }
    }
    return found;
}

static const struct route *route_find(const sockit_http_server *hs, sockit_http_req *r)
{
    for (size_t i = 0; i < hs->nroutes; i++) {
        const char *rest;
        const struct route *rt = &hs->routes[i];
        if (method_matches(rt, r->msg.method, r->is_head) && path_matches(rt, r->path, &rest)) {
            r->match = rest;
            return rt;
        }
    }
    return NULL;
}

/* ---- a parsed head becomes a request ------------------------------------------------------- */

/* Copies the head and its header array into the request's own buffer (kept between requests),
 * so the request outlives this on_data call, and decodes its path there. */
static int keep_head(sockit_http_req *r, const char *head, size_t hlen, const sockit_http_request *msg)
{
    size_t harr = msg->nheaders * sizeof(sockit_http_header);
    size_t need = harr + hlen + msg->target.n + 2;
    if (need > r->keep_cap) {
        size_t cap = need < 1024 ? 1024 : need;
        char *n = malloc(cap);
        if (!n) return -ENOMEM;
        free(r->keep);
        r->keep = n;
        r->keep_cap = cap;
    }
    sockit_http_header *h = (sockit_http_header *)(void *)r->keep;
    char *copy = r->keep + harr;
    memcpy(copy, head, hlen);
#define REBASE(s) ((s).p = (s).p ? copy + ((s).p - head) : NULL)
    r->msg = *msg;
    REBASE(r->msg.method);
    REBASE(r->msg.target);
    for (size_t i = 0; i < msg->nheaders; i++) {
        h[i] = msg->headers[i];
        REBASE(h[i].name);
        REBASE(h[i].value);
    }
#undef REBASE
    r->msg.headers = h;
    r->path = copy + hlen;
    return 0;
}

static void req_init(struct hconn *hc, sockit_http_req *r)
{
    r->hc = hc;
    r->c = hc->c;
    r->hs = hc->hs;
    r->status = 200;
    r->body = B_DONE;
    r->tls = sockit_conn_tls_alpn(hc->c) != NULL;
    r->loop = sockit_conn_loop(hc->c);
    sockit_conn_peer(hc->c, &r->peer);
}

static int keep_alive_wanted(const sockit_http_req *r)
{
    sockit_str conn = sockit_http_req_header(r, "Connection");
    if (conn.p && sockit_http_value_has(conn, "close")) return 0;
    if (r->msg.version >= 11) return 1;
    return conn.p && sockit_http_value_has(conn, "keep-alive");
}

/* The Host field: exactly one in HTTP/1.1 (at most one in 1.0), a valid authority; and the
 * authority of an absolute-form target non-empty and valid (RFC 9110 4.2.1: an http URI with
 * an empty host is invalid). A failure is answered 400. */
static int host_ok(const sockit_http_req *r)
{
    int n = 0;
    for (size_t i = 0; i < r->msg.nheaders; i++) {
        const sockit_http_header *h = &r->msg.headers[i];
        if (!streqi(h->name, "Host")) continue;
        if (++n > 1 || !sockit__http_authority_ok(h->value.p, h->value.n, 1)) return 0;
    }
    if (r->msg.version >= 11 && n != 1) return 0;
    sockit_str t = r->msg.target;
    const char *sep = t.n ? memchr(t.p, ':', t.n) : NULL;
    if (t.n && t.p[0] != '/' && sep && (size_t)(t.p + t.n - sep) >= 3 && memcmp(sep, "://", 3) == 0) {
        size_t slen = (size_t)(sep - t.p); /* an http(s) URI only: "ftp://..." is no request for us */
        if (!((slen == 4 && !strncasecmp(t.p, "http", 4)) || (slen == 5 && !strncasecmp(t.p, "https", 5))))
            return 0;
        const char *a = sep + 3, *end = t.p + t.n, *e = a;
        while (e < end && *e != '/' && *e != '?' && *e != '#') e++;
        if (!sockit__http_authority_ok(a, (size_t)(e - a), 0)) return 0;
    }
    return 1;
}

/* Sets up the body's framing; SOCKIT_EPROTO for an invalid combination. */
static int body_setup(sockit_http_req *r)
{
    uint64_t len = 0;
    int f = sockit_http_request_framing(&r->msg, &len);
    if (f < 0) return f;
    r->framing = f;
    r->clen = r->left = len;
    r->seen = r->discarded = 0;
    r->body_err = 0;
    r->body = (f == SOCKIT_HTTP_NO_BODY || (f == SOCKIT_HTTP_LENGTH && len == 0)) ? B_DONE : B_NONE;
    if (f == SOCKIT_HTTP_CHUNKED) sockit_http_chunked_init(&r->ch);
    return 0;
}

static void run_handler(sockit_http_req *r, sockit_http_handler fn, void *arg)
{
    r->in_user++;
    int rc = fn(r, arg);
    r->in_user--;
    if (rc >= 0) {
        maybe_finish(r);
        return;
    }
    if (!r->hc) return;
    if (r->resp == R_NONE) {
        char msg[160];
        snprintf(msg, sizeof msg, "http: handler for %.*s %.*s failed (%d)", (int)r->msg.method.n,
                 r->msg.method.p, (int)(r->msg.target.n > 80 ? 80 : r->msg.target.n), r->msg.target.p, rc);
        if (r->hs->cfg.log) r->hs->cfg.log(r->hs->cfg.user, msg);
        sockit__http_error(r, 500, NULL);
    } else if (r->resp == R_STREAM) {
        sockit__http_no_keep(r);
        sockit_conn_abort(r->c);
    } else {
        maybe_finish(r);
    }
}

/* Answers the request from what it is (errors, OPTIONS *), or routes it. */
static void dispatch(struct hconn *hc, sockit_http_req *r)
{
    sockit_http_server *hs = hc->hs;
    int framing = body_setup(r);
    if (framing < 0 || !host_ok(r)) {
        sockit__http_no_keep(r);
        /* A transfer coding other than chunked: not implemented (RFC 9112 6.1), else 400. */
        sockit__http_error(r, framing == -ENOTSUP ? 501 : 400, NULL);
        return;
    }
    r->keep_alive = keep_alive_wanted(r);
    r->is_head = streq(r->msg.method, "HEAD");
    if (streq(r->msg.target, "*")) {
        r->path = (char *)"*";
        r->match = "";
        if (streq(r->msg.method, "OPTIONS")) {
            sockit__http_error(r, 204, "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\n");
        } else {
            sockit__http_no_keep(r);
            sockit__http_error(r, 400, NULL);
        }
        return;
    }
    if (streq(r->msg.method, "CONNECT")) { /* no tunnels: 501, and the bytes after are never read */
        r->path = (char *)"";
        r->match = "";
        sockit__http_no_keep(r);
        sockit__http_error(r, 501, NULL);
        return;
    }
    sockit__http_path pr;
    int pc = sockit__http_path_decode(r->msg.target.p, r->msg.target.n, r->path, r->msg.target.n + 2, &pr);
    if (pc < 0) {
        sockit__http_no_keep(r);
        sockit__http_error(r, sockit__http_path_status(pc), NULL);
        return;
    }
    r->query = (sockit_str){pr.query, pr.query_len};
    if (!method_known(hs, r->msg.method)) {
        sockit__http_no_keep(r);
        sockit__http_error(r, 501, NULL);
        return;
    }
    const struct route *rt = route_find(hs, r);
    if (!rt) {
        char allow[256], line[300];
        if (allow_list(hs, r->path, allow, sizeof allow)) {
            snprintf(line, sizeof line, "Allow: %s\r\n", allow);
            sockit__http_error(r, 405, line);
        } else if (hs->def) {
            r->match = r->path;
            r->max_body = hs->cfg.max_body;
            run_handler(r, hs->def, hs->def_arg);
        } else {
            sockit__http_error(r, 404, NULL);
        }
        return;
    }
    r->route = rt;
    r->max_body = rt->max_body;
    if (r->framing == SOCKIT_HTTP_LENGTH && r->clen > r->max_body) {
        r->body = B_DONE; /* never read: the connection closes after the answer */
        sockit__http_no_keep(r);
        sockit__http_error(r, 413, NULL);
        return;
    }
    sockit_str expect = sockit_http_req_header(r, "Expect");
    if (expect.p && r->msg.version >= 11) {
        if (!streqi(expect, "100-continue")) {
            r->body = B_DONE;
            sockit__http_no_keep(r);
            sockit__http_error(r, 417, NULL);
            return;
        }
        r->expect_continue = r->body != B_DONE;
    }
    if (rt->blocking) {
        r->blocking = 1;
        if (sockit__http_pool_submit(hs, r) < 0) {
            r->blocking = 0;
            char line[64];
            snprintf(line, sizeof line, "Retry-After: %u\r\n", hs->cfg.retry_after);
            sockit__http_error(r, 503, line);
        }
        return;
    }
    run_handler(r, rt->fn, rt->arg);
}

/* A complete head at p[0, hlen): parse, copy and dispatch. Returns 1 when a request started,
 * 0 when the connection is closing (an answer may have been queued). */
static int head_done(struct hconn *hc, char *p, size_t hlen)
{
    const sockit_http_config *cfg = &hc->hs->cfg;
    sockit_str m = {0}, t = {0};
    sockit_http_request msg = {0};
    int status;
    if (hlen > cfg->max_header_bytes) {
        status = head_refusal(hc, p, hlen, 1, &m, &t);
        goto refuse;
    }
    msg.headers = headers_scratch(cfg->max_headers);
    msg.nheaders = cfg->max_headers;
    if (!msg.headers) {
        status = 0;
        goto refuse;
    }
    ssize_t rc = sockit_http_parse_request(p, hlen, &msg);
    if (rc < 0) {
        status = head_refusal(hc, p, hlen, rc == SOCKIT_ETOOLONG, &m, &t);
        goto refuse;
    }
    if (msg.target.n > cfg->max_target) {
        m = msg.method;
        t = msg.target;
        status = 414;
        goto refuse;
    }
    sockit_http_req *r = hc->req;
    if (!r) {
        if (!(r = hc->req = calloc(1, sizeof *r))) {
            status = 0;
            goto refuse;
        }
        req_init(hc, r);
    }
    if (keep_head(r, p, hlen, &msg) < 0) {
        status = 0;
        goto refuse;
    }
    disarm(hc);
    hc->phase = P_ACTIVE;
    sockit_conn_set_busy(hc->c, 1);
    r->t0 = sockit_loop_now(sockit_conn_loop(hc->c));
    r->wall0 = (int64_t)time(NULL);
    r->expect_continue = r->continue_sent = 0;
    r->blocking = 0;
    dispatch(hc, r);
    return 1;
refuse:
    sockit__http_raw_error(hc, status, m, t);
    return 0;
}

/* Bytes of a new head. Returns 1 if a request started (*used: its head), 0 if more bytes are
 * needed or the connection is closing. */
static int head_feed(struct hconn *hc, char *p, size_t n, size_t *used)
{
    const sockit_http_config *cfg = &hc->hs->cfg;
    int fresh = 0;
    *used = 0;
    if (hc->phase == P_IDLE) {
        size_t k = 0; /* RFC 9112 2.2: empty lines before a request line are ignored */
        while (k < n && k < 8 && (p[k] == '\r' || p[k] == '\n')) k++;
        *used = k;
        p += k;
        n -= k;
        if (!n) return 0;
        hc->phase = P_HEAD;
        hc->scanned = 0;
        fresh = 1;
    }
    ssize_t end = sockit_http_head_end(p, n, &hc->scanned);
    if (end == SOCKIT_EINCOMPLETE) {
        sockit_str m = {0}, t = {0};
        const char *lf = memchr(p, '\n', n);
        int line = lf ? sockit__http_line_check(p, (size_t)(lf - p), &m, &t) : sockit__http_line_plausible(p, n) ? 1 : -1;
        hc->line_ok = line == 0;
        if (n >= cfg->max_header_bytes || (!lf && n > cfg->max_target + 32))
            sockit__http_raw_error(hc, head_refusal(hc, p, n, 1, &m, &t), m, t);
        else if (line == 505)
            sockit__http_raw_error(hc, 505, m, t);
        else if (line < 0)
            sockit__http_raw_error(hc, 400, m, t); /* never a request: 400, close now */
        if (fresh && !hc->closing) arm(hc, cfg->header_timeout); /* from its first byte */
        return 0;
    }
    if (end < 0) {
        sockit__http_raw_error(hc, 400, (sockit_str){0}, (sockit_str){0});
        return 0;
    }
    *used += (size_t)end;
    return head_done(hc, p, (size_t)end);
}

/* ---- the core's callbacks ------------------------------------------------------------------- */

static void on_timer(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct hconn *hc = arg;
    (void)loop, (void)t;
    if (hc->phase == P_HEAD) { /* slowloris, or a client that stalled mid-head: 408 when its
                                  request line was valid, else just the close */
        sockit__http_raw_error(hc, hc->line_ok ? 408 : 0, (sockit_str){0}, (sockit_str){0});
        return;
    }
    if (hc->phase == P_ACTIVE && hc->req && hc->req->body != B_DONE) {
        body_fail(hc, hc->req, -ETIMEDOUT);
        return;
    }
    hc->closing = 1;
    sockit_conn_close(hc->c);
}

static int on_open(sockit_conn *c)
{
    struct hconn *hc = hconn_of(c);
    hc->c = c;
    hc->hs = sockit_server_user(sockit_conn_server(c));
    sockit_timer_init(&hc->timer, on_timer, hc);
    arm(hc, hc->hs->cfg.idle_timeout);
    return 0;
}

static size_t on_data(sockit_conn *c, char *data, size_t len)
{
    struct hconn *hc = hconn_of(c);
    const sockit_http_config *cfg = &hc->hs->cfg;
    size_t off = 0;
    unsigned served = 0;
    hc->yielded = 0;
    while (off < len && !hc->closing) {
        sockit_http_req *r = hc->req;
        if (hc->phase == P_ACTIVE) {
            if (r->body != B_DONE) off += body_feed(hc, r, data + off, len - off);
            if (hc->phase == P_ACTIVE && off < len && !hc->closing) {
                hold(hc); /* the request is busy: what follows waits */
                break;
            }
            continue;
        }
        if (served >= cfg->max_pipelined) { /* let the worker serve others; back next round */
            sockit_conn_pause(c);
            sockit_conn_resume(c);
            hc->yielded = 1;
            break;
        }
        if (sockit_conn_pending(c) >= cfg->stream_limit || hc->nplog >= PLOG_MAX) { /* answers queue
                                                                    up: wait for the peer */
            hc->drain_wait = 1;
            hold(hc);
            sockit_conn_want_writable(c);
            break;
        }
        size_t used = 0;
        int started = head_feed(hc, data + off, len - off, &used);
        off += used;
        if (!started) break;
        served++;
    }
    if (hc->closing) return len; /* nothing more is read as a request */
    if (sockit_conn_eof(c) && !hc->yielded && hc->phase != P_ACTIVE) { /* the last offer */
        hc->closing = 1;
        sockit_conn_close(c);
    }
    return off;
}

static void on_writable(sockit_conn *c)
{
    struct hconn *hc = hconn_of(c);
    if (hc->nplog) plog_flush(hc, 0);
    if (hc->drain_wait) {
        hc->drain_wait = 0;
        unhold(hc);
    }
    sockit_http_req *r = hc->req;
    if (r && hc->phase == P_ACTIVE) sockit__http_writable(r);
}

/* The client ended its stream: requests in flight are still answered, then the connection
 * closes. */
static void on_eof(sockit_conn *c)
{
    struct hconn *hc = hconn_of(c);
    sockit_http_req *r = hc->req;
    if (hc->phase != P_ACTIVE) {
        if (hc->yielded) return; /* requests still held: they come with sockit_conn_eof true */
        hc->closing = 1;
        sockit_conn_close(c);
        return;
    }
    r->keep_alive = 0;
    hc->closing = 1;
    if (r->body != B_DONE) body_fail(hc, r, SOCKIT_ECLOSED);
}

static void on_close(sockit_conn *c, int reason)
{
    struct hconn *hc = hconn_of(c);
    sockit_http_req *r = hc->req;
    disarm(hc);
    hc->dying = 1;
    hc->req = NULL;
    if (hc->nplog) plog_flush(hc, 1);
    if (!r) return;
    sockit__http_held_drop(r);
    if (hc->phase == P_ACTIVE) {
        if (r->body != B_DONE) {
            int was = r->body;
            r->body = B_DONE;
            if (was == B_CB && r->body_cb) r->body_cb(r, NULL, 0, reason < 0 ? reason : SOCKIT_ECLOSED, r->body_arg);
        }
        if (r->op) sockit__http_op_complete(r, -EPIPE);
        if (r->resp != R_DONE) log_request(hc, r, 0);
        if (r->done_cb) r->done_cb(r, r->resp == R_DONE ? r->status : 0, r->done_arg);
        if (r->in_pool) { /* the pool frees it when the handler returns */
            r->hc = NULL;
            r->c = NULL;
            return;
        }
    }
    sockit__http_req_free(r);
}

const sockit_server_cbs sockit__http_cbs = {
    .on_open = on_open,
    .on_data = on_data,
    .on_writable = on_writable,
    .on_eof = on_eof,
    .on_close = on_close,
};
