/*
 * test_http_server — the HTTP/1.1 server's C API against a raw client (sockit sockets): routing,
 * request accessors, HEAD, keep-alive and pipelining, every limit and its status, 100-continue,
 * chunked request bodies, a 256 MiB streamed upload with bounded RSS, a chunked streaming
 * response with backpressure, blocking handlers, pool-full 503, the access log, graceful stop.
 */
#include "server_util.h"
#include "testutil.h"
#include "tls_util.h"

#include <sockit/http_server.h>

#include <poll.h>
#include <stdatomic.h>

static sockit_http_server *hs;
static sockit_addr addr;

/* ---- a small HTTP client ------------------------------------------------------------------- */

typedef struct client {
    sockit_sock *s;
    char buf[1 << 16];
    size_t len;
} client;

typedef struct resp {
    int status, version;
    char head[8192];
    char *body;
    size_t blen, bcap;
    int closed; /* the connection ended after it (or instead of it) */
} resp;

static client *cl_new(void)
{
    client *c = calloc(1, sizeof *c);
    c->s = su_connect(&addr, 20);
    return c;
}

static void cl_free(client *c)
{
    if (!c) return;
    sockit_close(c->s);
    free(c);
}

static int cl_send(client *c, const char *s) { return sockit_sendall(c->s, s, strlen(s), 0); }

/* Reads more into the buffer: bytes read, 0 at EOF, < 0 on error. */
static ssize_t cl_fill(client *c)
{
    if (c->len == sizeof c->buf) return -ENOBUFS;
    ssize_t n = sockit_recv(c->s, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n > 0) c->len += (size_t)n;
    return n;
}

static void cl_drop(client *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static void body_add(resp *r, const char *p, size_t n)
{
    if (r->blen + n + 1 > r->bcap) { /* doubling: the sanitizers' realloc always copies */
        r->bcap = (r->blen + n + 1) * 2;
        r->body = realloc(r->body, r->bcap);
    }
    memcpy(r->body + r->blen, p, n);
    r->blen += n;
    r->body[r->blen] = 0;
}

static const char *hdr(const resp *r, const char *name, char *out, size_t len)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s:", name);
    const char *p = strcasestr(r->head, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ') p++;
    size_t n = strcspn(p, "\r\n");
    if (n >= len) n = len - 1;
    memcpy(out, p, n);
    out[n] = 0;
    return out;
}

/* Reads one response (skipping 1xx ones unless keep_1xx). head_only: a response to HEAD.
 * Returns its status, or 0 if the connection ended first. */
static int cl_read(client *c, resp *r, int head_only)
{
    free(r->body);
    memset(r, 0, sizeof *r);
    for (;;) {
        size_t scanned = 0;
        ssize_t end;
        while ((end = sockit_http_head_end(c->buf, c->len, &scanned)) == SOCKIT_EINCOMPLETE) {
            if (cl_fill(c) <= 0) {
                r->closed = 1;
                return 0;
            }
        }
        sockit_http_header h[64];
        sockit_http_response m = {.headers = h, .nheaders = 64};
        if (sockit_http_parse_response(c->buf, (size_t)end, &m) < 0) return -1;
        r->status = m.status;
        r->version = m.version;
        size_t hn = (size_t)end < sizeof r->head - 1 ? (size_t)end : sizeof r->head - 1;
        memcpy(r->head, c->buf, hn);
        r->head[hn] = 0;
        uint64_t len = 0;
        int f = sockit_http_response_framing(&m, head_only ? "HEAD" : "GET", &len);
        cl_drop(c, (size_t)end);
        if (r->status >= 100 && r->status < 200) continue;
        if (f == SOCKIT_HTTP_LENGTH) {
            while (len) {
                if (!c->len && cl_fill(c) <= 0) {
                    r->closed = 1;
                    return r->status;
                }
                size_t k = c->len < len ? c->len : (size_t)len;
                body_add(r, c->buf, k);
                cl_drop(c, k);
                len -= k;
            }
        } else if (f == SOCKIT_HTTP_CHUNKED) {
            sockit_http_chunked d;
            sockit_http_chunked_init(&d);
            for (;;) {
                if (!c->len && cl_fill(c) <= 0) {
                    r->closed = 1;
                    return r->status;
                }
                size_t n = c->len, rest = 0;
                int rc = sockit_http_chunked_decode(&d, c->buf, &n, &rest);
                body_add(r, c->buf, n);
                if (rc == 1) {
                    memmove(c->buf, c->buf + n, rest);
                    c->len = rest;
                    break;
                }
                if (rc != SOCKIT_EINCOMPLETE) return -2;
                c->len = 0;
            }
        } else if (f == SOCKIT_HTTP_UNTIL_CLOSE) {
            for (;;) {
                if (c->len) body_add(r, c->buf, c->len);
                c->len = 0;
                if (cl_fill(c) <= 0) break;
            }
            r->closed = 1;
        }
        if (!r->body) body_add(r, "", 0);
        return r->status;
    }
}

/* 1 if the server closed the connection (EOF) with nothing more to read. */
static int cl_eof(client *c)
{
    if (c->len) return 0;
    ssize_t n = cl_fill(c);
    return n == 0 || n == -ECONNRESET;
}

/* One request on a new connection; returns the status (0: closed without an answer). */
static int one(const char *req, resp *r)
{
    client *c = cl_new();
    cl_send(c, req);
    int st = cl_read(c, r, strncmp(req, "HEAD ", 5) == 0);
    cl_free(c);
    return st;
}

/* ---- handlers -------------------------------------------------------------------------------- */

static _Atomic int log_count;
static char last_log[512];
static _Atomic int last_log_ready;
static _Atomic uint64_t big_logged; /* the bytes /big was logged with, + 1 (0: not yet) */

static void access_log(void *user, const sockit_http_log_entry *e)
{
    (void)user;
    char line[512];
    sockit_http_log_format(e, line, sizeof line);
    if (e->target.n == 4 && memcmp(e->target.p, "/log", 4) == 0) {
        atomic_store(&last_log_ready, 0);
        memcpy(last_log, line, sizeof line);
        atomic_store(&last_log_ready, 1);
    }
    if (e->target.n >= 4 && memcmp(e->target.p, "/big", 4) == 0) atomic_store(&big_logged, e->bytes + 1);
    atomic_fetch_add(&log_count, 1);
}

/* POST /early: streams before taking the body: refused (-EBUSY), then answers whole. */
static int h_early(sockit_http_req *r, void *arg)
{
    (void)arg;
    int rc = sockit_http_start(r, 200);
    const char *b = rc == -EBUSY ? "busy" : "started";
    if (rc == 0) return sockit_http_end(r);
    return sockit_http_respond(r, 200, NULL, b, strlen(b));
}

/* GET /big: 64 MiB lent from zeroed memory (1 MiB with ?small). */
#define BIG (64u << 20)
static char big_body[BIG];
static int h_big(sockit_http_req *r, void *arg)
{
    (void)arg;
    size_t n = sockit_http_query(r).n ? 1u << 20 : BIG;
    return sockit_http_respond_borrowed(r, 200, NULL, big_body, n, NULL, NULL);
}

static int h_hello(sockit_http_req *r, void *arg)
{
    (void)arg;
    return sockit_http_respond(r, 200, "text/plain", "hello world\n", 12);
}

static int h_echo(sockit_http_req *r, void *arg)
{
    (void)arg;
    char q[64] = "-", body[1024];
    ssize_t qn = sockit_http_query_get(r, "q", q, sizeof q);
    if (qn < 0) snprintf(q, sizeof q, "(%zd)", qn);
    sockit_str x = sockit_http_req_header(r, "x-TEST");
    sockit_str m = sockit_http_method(r);
    sockit_addr peer;
    sockit_http_peer(r, &peer);
    size_t nh;
    sockit_http_req_headers(r, &nh);
    int n = snprintf(body, sizeof body, "m=%.*s path=%s match=%s q=%s x=%.*s v=%d tls=%d peer=%s nh=%zu",
                     (int)m.n, m.p, sockit_http_path(r), sockit_http_match(r), q, (int)x.n, x.p ? x.p : "",
                     sockit_http_version(r), sockit_http_is_tls(r), tu_fmt(&peer), nh);
    sockit_http_add_header(r, "X-Echo", "yes");
    return sockit_http_respond(r, 200, "text/plain", body, (size_t)n);
}

/* The refusals of sockit_http_add_header, reported in the body. */
static int h_hdr(sockit_http_req *r, void *arg)
{
    (void)arg;
    char body[256];
    int n = snprintf(body, sizeof body, "%d %d %d %d %d %d %d %d %d",
                     sockit_http_add_header(r, "Bad Name", "v"), sockit_http_add_header(r, "X", "a\r\nY: b"),
                     sockit_http_add_header(r, "X", "a\nb"), sockit_http_add_header(r, "", "v"),
                     sockit_http_add_header(r, "Transfer-Encoding", "chunked"),
                     sockit_http_add_header(r, "Connection", "keep-alive"), sockit_http_add_header(r, "Date", "x"),
                     sockit_http_add_header(r, "Server", "custom/1"), sockit_http_add_header(r, "Connection", "close"));
    int rc = sockit_http_respond(r, 200, "text/plain", body, (size_t)n);
    char more[64];
    snprintf(more, sizeof more, "%d", sockit_http_add_header(r, "X-Late", "1"));
    CHECK_STR(more, "-114"); /* -EALREADY once the head is sent */
    return rc;
}

static int h_fail(sockit_http_req *r, void *arg)
{
    (void)r, (void)arg;
    return -EIO;
}

/* Uploads: an event-driven body callback checksums what arrives. */
struct up {
    uint64_t n, h;
};
static void up_body(sockit_http_req *r, char *data, size_t len, int end, void *arg)
{
    struct up *u = sockit_http_data(r);
    (void)arg;
    if (len) {
        u->n += len;
        u->h = tu_fnv1a(u->h, data, len);
    }
    if (end == 1) {
        char out[128];
        int n = snprintf(out, sizeof out, "n=%llu h=%016llx", (unsigned long long)u->n, (unsigned long long)u->h);
        sockit_http_respond(r, 200, "text/plain", out, (size_t)n);
        free(u);
    } else if (end < 0) {
        free(u);
    }
}

static int h_upload(sockit_http_req *r, void *arg)
{
    (void)arg;
    struct up *u = calloc(1, sizeof *u);
    u->h = 14695981039346656037ull;
    sockit_http_set_data(r, u);
    return sockit_http_on_body(r, up_body, NULL);
}

/* A chunked stream of `n` KiB with backpressure: writes until FULL, resumes on writable. */
static _Atomic uint64_t stream_written;
static _Atomic int stream_stalled;
struct st {
    uint64_t total, sent;
};
static void st_more(sockit_http_req *r, void *arg)
{
    struct st *s = arg;
    unsigned char buf[16384];
    while (s->sent < s->total) {
        size_t k = sizeof buf;
        if (k > s->total - s->sent) k = (size_t)(s->total - s->sent);
        su_pat_fill(buf, k, s->sent);
        int rc = sockit_http_write(r, buf, k);
        if (rc < 0) {
            free(s);
            return;
        }
        s->sent += k;
        atomic_store(&stream_written, s->sent);
        if (rc == SOCKIT_HTTP_FULL) {
            atomic_store(&stream_stalled, 1);
            sockit_http_on_writable(r, st_more, s);
            return;
        }
    }
    sockit_http_end(r);
    free(s);
}

static int h_stream(sockit_http_req *r, void *arg)
{
    (void)arg;
    char n[32];
    struct st *s = calloc(1, sizeof *s);
    s->total = sockit_http_query_get(r, "kib", n, sizeof n) > 0 ? strtoull(n, NULL, 10) * 1024 : 100000;
    sockit_http_start(r, 200);
    st_more(r, s);
    return 0;
}

/* Answers from a timer, later. */
static void async_fire(sockit_loop *loop, sockit_timer *t, void *arg)
{
    (void)loop;
    sockit_http_req *r = arg;
    sockit_http_respond(r, 200, "text/plain", "later", 5);
    free(t);
}

static int h_async(sockit_http_req *r, void *arg)
{
    (void)arg;
    sockit_timer *t = malloc(sizeof *t);
    sockit_timer_init(t, async_fire, r);
    return sockit_timer_start(sockit_http_loop(r), t, 0.05, 0);
}

/* Blocking handlers. */
static _Atomic int slow_started, slow_release;
static int b_slow(sockit_http_req *r, void *arg)
{
    (void)arg;
    atomic_fetch_add(&slow_started, 1);
    double until = tu_now() + 10;
    while (!atomic_load(&slow_release) && tu_now() < until) tu_sleep(0.01);
    return sockit_http_respond(r, 200, "text/plain", "slow", 4);
}

static int b_upload(sockit_http_req *r, void *arg)
{
    (void)arg;
    char buf[7000];
    uint64_t n = 0, h = 14695981039346656037ull;
    ssize_t k;
    while ((k = sockit_http_read(r, buf, sizeof buf)) > 0) {
        n += (uint64_t)k;
        h = tu_fnv1a(h, buf, (size_t)k);
    }
    if (k < 0) return (int)k;
    char out[128];
    int m = snprintf(out, sizeof out, "n=%llu h=%016llx", (unsigned long long)n, (unsigned long long)h);
    return sockit_http_respond(r, 200, "text/plain", out, (size_t)m);
}

static int b_stream(sockit_http_req *r, void *arg)
{
    (void)arg;
    unsigned char buf[65536];
    sockit_http_add_header(r, "Content-Type", "application/octet-stream");
    for (uint64_t off = 0; off < (8u << 20); off += sizeof buf) {
        su_pat_fill(buf, sizeof buf, off);
        int rc = sockit_http_write(r, buf, sizeof buf);
        if (rc < 0) return rc;
    }
    return sockit_http_end(r);
}

static int h_default(sockit_http_req *r, void *arg)
{
    (void)arg;
    if (strncmp(sockit_http_path(r), "/fallback", 9) != 0) return sockit_http_respond(r, 404, NULL, "nope\n", 5);
    return sockit_http_respond(r, 200, NULL, "fallback", 8);
}

static void start_server(void)
{
    sockit_http_config cfg = {0};
    cfg.host = "127.0.0.1";
    cfg.port = "0";
    cfg.workers = 2;
    cfg.max_header_bytes = 2048;
    cfg.max_headers = 20;
    cfg.max_target = 200;
    cfg.max_body = 1000;
    cfg.header_timeout = 60; /* long: test_timeouts has its own server with short ones */
    cfg.idle_timeout = 60;
    cfg.body_timeout = 60;
    cfg.blocking_threads = 2;
    cfg.blocking_queue = 1;
    cfg.max_requests_per_conn = 500;
    cfg.access_log = access_log;
    CHECK_OK(sockit_http_server_new(&hs, &cfg));
    CHECK_OK(sockit_http_route(hs, "GET", "/hello", h_hello, NULL));
    CHECK_OK(sockit_http_route(hs, NULL, "/echo/*", h_echo, NULL));
    CHECK_OK(sockit_http_route(hs, "GET", "/log", h_hello, NULL));
    CHECK_OK(sockit_http_route(hs, "GET", "/fail", h_fail, NULL));
    CHECK_OK(sockit_http_route(hs, "GET", "/hdr", h_hdr, NULL));
    CHECK_OK(sockit_http_route(hs, "GET", "/async", h_async, NULL));
    CHECK_OK(sockit_http_route(hs, "GET", "/stream", h_stream, NULL));
    CHECK_OK(sockit_http_route(hs, "GET", "/big", h_big, NULL));
    CHECK_OK(sockit_http_route(hs, "POST", "/early", h_early, NULL));
    CHECK_OK(sockit_http_route_blocking(hs, "POST", "/bhello", h_hello, NULL));
    sockit_http_route_opts big = {.max_body = 1ull << 40};
    CHECK_OK(sockit_http_route_ex(hs, "POST", "/upload", h_upload, NULL, &big));
    CHECK_OK(sockit_http_route(hs, "POST", "/small", h_upload, NULL));
    CHECK_OK(sockit_http_route(hs, "PUT", "/hello", h_hello, NULL));
    sockit_http_route_opts bbig = {.blocking = 1, .max_body = 1ull << 40};
    CHECK_OK(sockit_http_route_ex(hs, "POST", "/bupload", b_upload, NULL, &bbig));
    CHECK_OK(sockit_http_route_blocking(hs, "GET", "/slow", b_slow, NULL));
    CHECK_OK(sockit_http_route_blocking(hs, "GET", "/bstream", b_stream, NULL));
    CHECK_OK(sockit_http_route(hs, "BREW", "/pot", h_hello, NULL));
    CHECK_OK(sockit_http_default(hs, h_default, NULL));
    CHECK_CODE(sockit_http_route(hs, "GET", "nope", h_hello, NULL), -EINVAL);
    CHECK_CODE(sockit_http_route(hs, "G T", "/x", h_hello, NULL), -EINVAL);
    CHECK_OK(sockit_http_server_addr(hs, &addr));
    CHECK_OK(sockit_http_server_start(hs));
    CHECK_CODE(sockit_http_route(hs, "GET", "/late", h_hello, NULL), -EBUSY);
}

/* ---- cases ---------------------------------------------------------------------------------- */

static resp R;

static void test_routing(void)
{
    CHECK_INT(one("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 200);
    CHECK_STR(R.body, "hello world\n");
    char v[128];
    CHECK_STR(hdr(&R, "Content-Length", v, sizeof v), "12");
    CHECK_STR(hdr(&R, "Server", v, sizeof v), "sockit/" SOCKIT_VERSION);
    CHECK_TRUE(hdr(&R, "Date", v, sizeof v) != NULL);
    CHECK_INT(strlen(v), ==, 29);
    CHECK_INT(one("GET /echo/a/b?q=x+y%21&z=1 HTTP/1.1\r\nHost: a\r\nX-Test: tv\r\n\r\n", &R), ==, 200);
    CHECK_CONTAINS(R.body, "m=GET path=/echo/a/b match=a/b q=x y! x=tv v=11 tls=0 peer=127.0.0.1:");
    CHECK_CONTAINS(R.body, "nh=2");
    CHECK_STR(hdr(&R, "X-Echo", v, sizeof v), "yes");
    CHECK_INT(one("DELETE /echo/%2e%2e/echo/./x HTTP/1.0\r\n\r\n", &R), ==, 200);
    CHECK_CONTAINS(R.body, "m=DELETE path=/echo/x match=x q=(-2) x= v=10");
    CHECK_INT(one("GET /echo/?q=%zz HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 200);
    CHECK_CONTAINS(R.body, "q=(-5009)");
    /* 405 with Allow, 501, 404 via the default handler, 500 from a failing handler */
    CHECK_INT(one("POST /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &R), ==, 405);
    CHECK_STR(hdr(&R, "Allow", v, sizeof v), "GET, HEAD, PUT");
    CHECK_INT(one("PUT /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &R), ==, 200);
    CHECK_INT(one("FROB /hello HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 501);
    CHECK_INT(one("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 200);
    CHECK_INT(one("BREW /hello HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 405);
    CHECK_INT(one("GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 404);
    CHECK_STR(R.body, "nope\n");
    CHECK_INT(one("GET /fallback/x HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 200);
    CHECK_STR(R.body, "fallback");
    CHECK_INT(one("GET /fail HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 500);
    CHECK_INT(one("GET /async HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 200);
    CHECK_STR(R.body, "later");
    CHECK_INT(one("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 204);
    CHECK_TRUE(hdr(&R, "Allow", v, sizeof v) != NULL);
    /* path refusals */
    CHECK_INT(one("GET /echo/%00 HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 400);
    CHECK_INT(one("GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 403);
    CHECK_INT(one("GET /echo/a%2fb HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 400);
}

static void test_head(void)
{
    client *c = cl_new();
    char v[64];
    cl_send(c, "HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 1), ==, 200);
    CHECK_STR(hdr(&R, "Content-Length", v, sizeof v), "12");
    CHECK_INT(R.blen, ==, 0);
    /* the connection goes on: nothing of the body was sent */
    cl_send(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_STR(R.body, "hello world\n");
    cl_send(c, "HEAD /stream?kib=64 HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 1), ==, 200);
    CHECK_STR(hdr(&R, "Transfer-Encoding", v, sizeof v), "chunked");
    cl_send(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_STR(R.body, "hello world\n");
    cl_free(c);
}

static void test_keepalive(void)
{
    client *c = cl_new();
    char v[64];
    for (int i = 0; i < 5; i++) {
        cl_send(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
        CHECK_INT(cl_read(c, &R, 0), ==, 200);
        CHECK_TRUE(hdr(&R, "Connection", v, sizeof v) == NULL);
    }
    cl_send(c, "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_STR(hdr(&R, "Connection", v, sizeof v), "close");
    CHECK_TRUE(cl_eof(c));
    cl_free(c);
    /* HTTP/1.0: closes unless asked */
    c = cl_new();
    cl_send(c, "GET /hello HTTP/1.0\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_STR(hdr(&R, "Connection", v, sizeof v), "close");
    CHECK_TRUE(cl_eof(c));
    cl_free(c);
    c = cl_new();
    cl_send(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_STR(hdr(&R, "Connection", v, sizeof v), "keep-alive");
    cl_send(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    cl_free(c);
}

/* Sends the 100 pipelined requests in `all` at once (then shuts down the sending side if asked)
 * and checks the 100 answers, in order. */
static void pipeline_100(client *c, const char *all, size_t len, int shut)
{
    CHECK_OK(sockit_sendall(c->s, all, len, 0));
    if (shut) CHECK_OK(sockit_shutdown(c->s, SHUT_WR));
    for (int i = 0; i < 100; i++) {
        char want[64];
        snprintf(want, sizeof want, "path=/echo/%d ", i);
        TU_CTX("response %d%s", i, shut ? " after shutdown" : "");
        CHECK_INT(cl_read(c, &R, 0), ==, 200);
        CHECK_CONTAINS(R.body, want);
    }
}

static void test_pipelining(void)
{
    client *c = cl_new();
    char *all = malloc(100 * 80), *p = all;
    for (int i = 0; i < 100; i++)
        p += sprintf(p, "GET /echo/%d HTTP/1.1\r\nHost: a\r\n\r\n", i);
    pipeline_100(c, all, (size_t)(p - all), 0);
    /* 100 more, then the client shuts down its side: every one is still answered, in order
     * (the server yields every max_pipelined requests, with the rest held past the EOF). */
    client *h = cl_new();
    pipeline_100(h, all, (size_t)(p - all), 1);
    CHECK_TRUE(cl_eof(h));
    cl_free(h);
    /* A request and a pipelined one behind an async answer: still in order. */
    cl_send(c, "GET /async HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_STR(R.body, "later");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_STR(R.body, "hello world\n");
    free(all);
    cl_free(c);
}

/* Every limit, its status, and the close that follows. */
static void expect_refused(const char *req, int status)
{
    client *c = cl_new();
    TU_CTX("%.60s", req);
    cl_send(c, req);
    CHECK_INT(cl_read(c, &R, 0), ==, status);
    if (status) {
        char v[64];
        CHECK_STR(hdr(&R, "Connection", v, sizeof v), "close");
    }
    CHECK_TRUE(cl_eof(c));
    cl_free(c);
}

/* Issue 9: a handler that answers without taking the body (h_hello on PUT /hello) has its answer
 * held until the body has been read to its end and found valid; a malformed body gets 400 and
 * the close instead, never the handler's answer first. */
static void test_held_response(void)
{
    static const char *bad[] = {
        "ffffffffffffffffffff\r\nx\r\n0\r\n\r\n", /* chunk size overflow */
        "-5\r\nhello\r\n0\r\n\r\n",                 /* negative */
        "0x5\r\nhello\r\n0\r\n\r\n",                /* 0x prefix */
        "5\r\nhelloXX0\r\n\r\n",                      /* bad chunk ending */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char req[256];
        snprintf(req, sizeof req, "PUT /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n%s", bad[i]);
        expect_refused(req, 400);
    }
    /* A valid body in two parts: no answer before its last chunk, then the held one. */
    client *c = cl_new();
    cl_send(c, "PUT /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    struct pollfd pfd = {sockit_fileno(c->s), POLLIN, 0};
    CHECK_INT(poll(&pfd, 1, 200), ==, 0); /* with the bug the 200 came at once */
    cl_send(c, "3\r\nabc\r\n0\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_STR(R.body, "hello world\n");
    char v[64];
    CHECK_TRUE(hdr(&R, "Connection", v, sizeof v) == NULL);
    cl_send(c, "PUT /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody");
    CHECK_INT(cl_read(c, &R, 0), ==, 200); /* a Content-Length body too: held, then kept alive */
    cl_send(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    cl_free(c);
    /* The same from a blocking handler; and a streamed answer before the body is refused. */
    expect_refused("POST /bhello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", 400);
    CHECK_INT(one("POST /bhello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", &R), ==, 200);
    CHECK_INT(one("POST /early HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", &R), ==, 200);
    CHECK_STR(R.body, "busy");
    CHECK_INT(one("POST /early HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 200);
    CHECK_STR(R.body, "");
    /* A chunked body past the discard bound: 413 and close, not the handler's answer. */
    c = cl_new();
    cl_send(c, "PUT /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    static char chunk[65536 + 16];
    int hn = snprintf(chunk, sizeof chunk, "10000\r\n");
    memset(chunk + hn, 'x', 65536);
    memcpy(chunk + hn + 65536, "\r\n", 2);
    int got = 0;
    for (int i = 0; i < 40 && !got; i++) { /* 40 x 64 KiB > SOCKIT_HTTP_DISCARD_MAX */
        if (sockit_sendall(c->s, chunk, (size_t)hn + 65538, 0) < 0) break;
        got = poll(&pfd, 1, 0) > 0;
    }
    CHECK_INT(cl_read(c, &R, 0), ==, 413);
    cl_free(c);
}

/* CONNECT is refused with 501 and the connection closes: the pipelined request behind it is
 * never answered (every error answered before routing closes). */
static void test_connect(void)
{
    client *c = cl_new();
    cl_send(c, "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 501);
    char v[64];
    CHECK_STR(hdr(&R, "Connection", v, sizeof v), "close");
    CHECK_TRUE(cl_eof(c));
    cl_free(c);
    expect_refused("GET /%00 HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void test_limits(void)
{
    char big[4096];
    /* 414: a long target, complete or not */
    snprintf(big, sizeof big, "GET /%0300d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
    expect_refused(big, 414);
    snprintf(big, sizeof big, "GET /%0300d", 0);
    expect_refused(big, 414);
    /* 431: too many header bytes, too many fields */
    int n = snprintf(big, sizeof big, "GET /hello HTTP/1.1\r\nHost: a\r\nX: ");
    memset(big + n, 'a', 2100);
    strcpy(big + n + 2100, "\r\n\r\n");
    expect_refused(big, 431);
    n = snprintf(big, sizeof big, "GET /hello HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 25; i++) n += snprintf(big + n, sizeof big - (size_t)n, "X%d: y\r\n", i);
    strcpy(big + n, "\r\n");
    expect_refused(big, 431);
    /* 413 from Content-Length, before the body is sent (route limit 1000) */
    expect_refused("POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", 413);
    /* 413 for a chunked body as soon as it is over */
    n = snprintf(big, sizeof big, "POST /small HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        n += snprintf(big + n, sizeof big - (size_t)n, "190\r\n");
        memset(big + n, 'b', 400);
        n += 400;
        n += snprintf(big + n, sizeof big - (size_t)n, "\r\n");
    }
    big[n] = 0;
    expect_refused(big, 413);
    /* 400s: no Host in 1.1, two Hosts, framing conflicts; 505; garbage closes silently */
    expect_refused("GET /hello HTTP/1.1\r\n\r\n", 400);
    expect_refused("GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    expect_refused("POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    expect_refused("GET /hello HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 400);
    expect_refused("GET /hello HTTP/2.0\r\nHost: a\r\n\r\n", 505);
    expect_refused("\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03", 400); /* a TLS hello: 400 and the close (cli.md: malformed requests get 400) */
    expect_refused("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
    /* a smuggled request behind a bad framing is never answered */
    client *c = cl_new();
    cl_send(c, "POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 400);
    CHECK_INT(cl_read(c, &R, 0), ==, 0);
    cl_free(c);
    /* 417 for an unknown expectation */
    expect_refused("POST /small HTTP/1.1\r\nHost: a\r\nExpect: magic\r\nContent-Length: 3\r\n\r\n", 417);
}

/* The deadlines, on a server of their own with short ones (the main server's are long, so that
 * slow sanitizer builds never trip them): header (slowloris: 408 while others are answered),
 * body (a body that stops: 408), idle keep-alive (closed). */
static void test_timeouts(void)
{
    sockit_http_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .header_timeout = 0.3,
                              .body_timeout = 0.3, .idle_timeout = 0.3};
    sockit_http_server *ths = NULL;
    CHECK_OK(sockit_http_server_new(&ths, &cfg));
    CHECK_OK(sockit_http_route(ths, "GET", "/hello", h_hello, NULL));
    CHECK_OK(sockit_http_route(ths, "POST", "/upload", h_upload, NULL));
    sockit_addr main_addr = addr;
    CHECK_OK(sockit_http_server_addr(ths, &addr));
    CHECK_OK(sockit_http_server_start(ths));
    client *c = cl_new();
    cl_send(c, "GET /hello HTTP/1.1\r\nHo");
    double t0 = tu_now();
    CHECK_INT(one("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 200);
    CHECK_INT(cl_read(c, &R, 0), ==, 408);
    CHECK_DBL(tu_now() - t0, <, 5.0);
    CHECK_TRUE(cl_eof(c));
    cl_free(c);
    c = cl_new(); /* bytes that are not a request line yet: closed without an answer */
    cl_send(c, "GET");
    CHECK_INT(cl_read(c, &R, 0), ==, 0);
    cl_free(c);
    c = cl_new();
    cl_send(c, "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    CHECK_INT(cl_read(c, &R, 0), ==, 408);
    cl_free(c);
    c = cl_new();
    cl_send(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    t0 = tu_now();
    CHECK_TRUE(cl_eof(c)); /* idle: the server closes it */
    CHECK_DBL(tu_now() - t0, <, 5.0);
    cl_free(c);
    addr = main_addr;
    sockit_http_server_stop(ths);
    CHECK_OK(sockit_http_server_wait(ths));
    sockit_http_server_free(ths);
}

static void test_continue(void)
{
    client *c = cl_new();
    cl_send(c, "POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    /* the 100 comes before we send the body */
    size_t scanned = 0;
    while (sockit_http_head_end(c->buf, c->len, &scanned) == SOCKIT_EINCOMPLETE)
        if (cl_fill(c) <= 0) break;
    CHECK_TRUE(c->len >= 25 && memcmp(c->buf, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
    cl_send(c, "hello");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_CONTAINS(R.body, "n=5 ");
    /* too large: 413 straight away, no 100 */
    cl_send(c, "POST /small HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 413);
    CHECK_TRUE(strstr(c->buf, "100 Continue") == NULL);
    cl_free(c);
}

static void test_chunked_body(void)
{
    client *c = cl_new();
    cl_send(c, "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    uint64_t h = tu_fnv1a(14695981039346656037ull, "hello world", 11);
    char want[64];
    snprintf(want, sizeof want, "n=11 h=%016llx", (unsigned long long)h);
    CHECK_STR(R.body, want);
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_STR(R.body, "hello world\n");
    /* the same through a blocking handler */
    cl_send(c, "POST /bupload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_STR(R.body, want);
    /* an unread body is discarded and the connection goes on */
    cl_send(c, "PUT /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\nignored"
               "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    cl_free(c);
}

/* 256 MiB through the event-driven body callback: checksum, and RSS growth bounded. */
static void upload(const char *path, uint64_t total)
{
    client *c = cl_new();
    char head[256];
    snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: %llu\r\n\r\n", path,
             (unsigned long long)total);
    cl_send(c, head);
    long rss0 = su_rss_kb(), rss_max = rss0;
    static unsigned char buf[1 << 20];
    uint64_t h = 14695981039346656037ull;
    for (uint64_t off = 0; off < total; off += sizeof buf) {
        su_pat_fill(buf, sizeof buf, off);
        h = tu_fnv1a(h, buf, sizeof buf);
        if (sockit_sendall(c->s, buf, sizeof buf, 0) < 0) break;
        if ((off >> 20) % 16 == 0) {
            long rss = su_rss_kb();
            if (rss > rss_max) rss_max = rss;
        }
    }
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    char want[64];
    snprintf(want, sizeof want, "n=%llu h=%016llx", (unsigned long long)total, (unsigned long long)h);
    CHECK_STR(R.body, want);
    CHECK_INT(rss_max - rss0, <, 64 * 1024);
    cl_free(c);
}

static void test_upload_256m(void) { upload("/upload", 256ull << 20); }
static void test_upload_blocking(void) { upload("/bupload", 64ull << 20); }

/* A chunked stream to a client that does not read: the producer stops at FULL and memory stays
 * bounded; then everything arrives intact. */
static void test_stream_backpressure(void)
{
    atomic_store(&stream_stalled, 0);
    client *c = cl_new();
    cl_send(c, "GET /stream?kib=65536 HTTP/1.1\r\nHost: a\r\n\r\n");
    double until = tu_now() + 20;
    while (!atomic_load(&stream_stalled) && tu_now() < until) tu_sleep(0.005);
    CHECK_TRUE(atomic_load(&stream_stalled));
    tu_sleep(0.2); /* had it not stopped, it would run on */
    CHECK_INT(atomic_load(&stream_written), <, 32u << 20); /* kernel buffers + stream_limit, not 64 MiB */
    /* now read it all */
    sockit_settimeout(c->s, 30);
    long rss0 = su_rss_kb();
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_INT(R.blen, ==, 64u << 20);
    unsigned char *want = malloc(R.blen);
    su_pat_fill(want, R.blen, 0);
    CHECK_TRUE(memcmp(want, R.body, R.blen) == 0);
    (void)rss0;
    free(want);
    free(R.body);
    R.body = NULL;
    cl_free(c);
}

static void test_blocking(void)
{
    atomic_store(&slow_started, 0);
    atomic_store(&slow_release, 0);
    client *a = cl_new();
    cl_send(a, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    double until = tu_now() + 10;
    while (atomic_load(&slow_started) < 1 && tu_now() < until) tu_sleep(0.002);
    /* while it blocks (until released, or 10 s), others are answered on both workers */
    double t0 = tu_now();
    for (int i = 0; i < 20; i++) CHECK_INT(one("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 200);
    CHECK_DBL(tu_now() - t0, <, 5.0);
    /* a blocking stream of 8 MiB */
    CHECK_INT(one("GET /bstream HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 200);
    CHECK_INT(R.blen, ==, 8u << 20);
    unsigned char *want = malloc(R.blen);
    su_pat_fill(want, R.blen, 0);
    CHECK_TRUE(memcmp(want, R.body, R.blen) == 0);
    free(want);
    /* fill the pool (2 threads, 1 queued): the next one is 503 with Retry-After */
    client *b = cl_new(), *q = cl_new(), *d = cl_new();
    cl_send(b, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    while (atomic_load(&slow_started) < 2 && tu_now() < until) tu_sleep(0.002);
    /* Two more: one takes the queue's only place, the other is refused at once (which one
     * depends on the workers' order): the refused one is the first to have an answer. */
    cl_send(q, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    cl_send(d, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    struct pollfd pf[2] = {{sockit_fileno(q->s), POLLIN, 0}, {sockit_fileno(d->s), POLLIN, 0}};
    CHECK_INT(poll(pf, 2, 10000), ==, 1);
    client *refused = (pf[0].revents & POLLIN) ? q : d, *queued = refused == q ? d : q;
    CHECK_INT(cl_read(refused, &R, 0), ==, 503);
    char v[32];
    CHECK_STR(hdr(&R, "Retry-After", v, sizeof v), "1");
    atomic_store(&slow_release, 1);
    CHECK_INT(cl_read(a, &R, 0), ==, 200);
    CHECK_STR(R.body, "slow");
    CHECK_INT(cl_read(b, &R, 0), ==, 200);
    CHECK_INT(cl_read(queued, &R, 0), ==, 200);
    cl_free(a);
    cl_free(b);
    cl_free(q);
    cl_free(d);
}

static void test_log(void)
{
    atomic_store(&last_log_ready, 0);
    CHECK_INT(one("GET /log HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 200);
    double until = tu_now() + 5;
    while (!atomic_load(&last_log_ready) && tu_now() < until) tu_sleep(0.002);
    CHECK_TRUE(atomic_load(&last_log_ready));
    CHECK_CONTAINS(last_log, "127.0.0.1 - - [");
    CHECK_CONTAINS(last_log, "] \"GET /log HTTP/1.1\" 200 12");
    char buf[32];
    sockit_addr a;
    sockit_addr_parse(&a, AF_INET, SOCK_STREAM, "10.0.0.1:5", 0);
    sockit_http_log_entry e = {{"G\"T", 3}, {"/\n", 2}, 10, 404, 0, 0.1, &a, 0};
    char line[256];
    size_t n = sockit_http_log_format(&e, line, sizeof line);
    CHECK_STR(line, "10.0.0.1 - - [01/Jan/1970:00:00:00 +0000] \"G\\x22T /\\x0A HTTP/1.0\" 404 -");
    CHECK_INT(n, ==, strlen(line));
    CHECK_INT(sockit_http_log_format(&e, buf, 8), ==, n);
    CHECK_INT(strlen(buf), ==, 7);
}

static uint64_t big_wait(void)
{
    double until = tu_now() + 20;
    while (!atomic_load(&big_logged) && tu_now() < until) tu_sleep(0.002);
    return atomic_load(&big_logged) - 1;
}

/* The access log counts body bytes written to the socket: a download the client cuts off
 * logs less than its length; one read to its end logs all of it (its line waits for that). */
static void test_log_bytes(void)
{
    atomic_store(&big_logged, 0);
    client *c = cl_new();
    cl_send(c, "GET /big?small HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    CHECK_INT(R.blen, ==, 1u << 20);
    CHECK_INT(big_wait(), ==, 1u << 20);
    atomic_store(&big_logged, 0);
    cl_send(c, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_TRUE(cl_fill(c) > 0); /* the answer has begun */
    struct linger lg = {1, 0}; /* cut it off with a reset */
    setsockopt(sockit_fileno(c->s), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    cl_free(c);
    uint64_t b = big_wait();
    CHECK_INT(b, <, BIG);
}

static void test_add_header(void)
{
    client *c = cl_new();
    cl_send(c, "GET /hdr HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(c, &R, 0), ==, 200);
    char want[128], v[64];
    snprintf(want, sizeof want, "%d %d %d %d %d %d %d 0 0", -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EPERM, -EPERM, -EPERM);
    CHECK_STR(R.body, want);
    CHECK_STR(hdr(&R, "Server", v, sizeof v), "custom/1");
    CHECK_TRUE(strstr(R.head, "sockit/") == NULL);
    CHECK_STR(hdr(&R, "Connection", v, sizeof v), "close");
    CHECK_TRUE(cl_eof(c));
    cl_free(c);
}

/* Mutated requests (seeded): whatever arrives, the server answers or closes — it never crashes
 * (the sanitizer build runs this), never answers a mutated request more times than it holds
 * requests, and goes on answering others. */
static void test_mutations(void)
{
    static const char *const seeds[] = {
        "GET /echo/a?q=1 HTTP/1.1\r\nHost: a\r\nX-Test: v\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /hello HTTP/1.1\r\nHost: b\r\n\r\n",
        "POST /bupload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    };
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    char buf[512];
    for (int i = 0; i < 400; i++) {
        const char *seed = seeds[i % (sizeof seeds / sizeof *seeds)];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        int edits = 1 + i % 4;
        for (int e = 0; e < edits; e++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t at = (size_t)(rng % n);
            static const char bytes[] = {'\r', '\n', ' ', ':', '0', '9', 'f', '\0', '\t', '%', '/', '.', 'x', '\x80', ';', '-'};
            switch ((rng >> 32) % 3) {
            case 0: buf[at] = bytes[(rng >> 40) % sizeof bytes]; break;
            case 1: memmove(buf + at, buf + at + 1, n - at - 1), n--; break;  /* delete */
            default:
                if (n + 1 < sizeof buf) memmove(buf + at + 1, buf + at, n - at), buf[at] = bytes[(rng >> 44) % sizeof bytes], n++;
            }
        }
        buf[n] = 0;
        TU_CTX("mutation %d: %s", i, tu_esc(buf));
        client *c = cl_new();
        sockit_sendall(c->s, buf, n, 0);
        sockit_shutdown(c->s, SHUT_WR);
        int answers = 0, st;
        while ((st = cl_read(c, &R, 0)) > 0 && answers < 10) {
            CHECK_TRUE(st >= 200 && st <= 599);
            answers++;
        }
        CHECK_INT(answers, <=, 2);
        cl_free(c);
    }
    tu_ctx_[0] = 0;
    CHECK_INT(one("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", &R), ==, 200);
}

/* HTTPS: the TLS layer under the same engine; ALPN http/1.1; handlers see is_tls. */
static void test_tls(void)
{
    tlsu_certs certs;
    if (tlsu_make_certs(&certs) != 0) {
        printf("skip test_tls: no openssl command to make certificates\n");
        return;
    }
    sockit_tls_opts so = {.server = 1, .cert = certs.srv, .key = certs.srv_key, .alpn = "http/1.1"};
    sockit_tls_ctx *sctx = NULL, *cctx = NULL;
    CHECK_OK(sockit_tls_ctx_new(&sctx, &so));
    sockit_tls_opts co = {.cafile = certs.ca, .alpn = "http/1.1"};
    CHECK_OK(sockit_tls_ctx_new(&cctx, &co));
    /* header_timeout also bounds the TLS handshake (well under idle_timeout) */
    sockit_http_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .tls = sctx,
                              .header_timeout = 2, .idle_timeout = 120};
    sockit_http_server *ths = NULL;
    CHECK_OK(sockit_http_server_new(&ths, &cfg));
    sockit_tls_ctx_free(sctx); /* the server holds its own reference */
    CHECK_OK(sockit_http_route(ths, NULL, "/echo/*", h_echo, NULL));
    sockit_addr ta;
    CHECK_OK(sockit_http_server_addr(ths, &ta));
    CHECK_OK(sockit_http_server_start(ths));
    client *c = calloc(1, sizeof *c);
    c->s = su_connect(&ta, 10);
    CHECK_OK(sockit_tls_connect(c->s, cctx, "localhost"));
    CHECK_STR(sockit_tls_alpn(c->s), "http/1.1");
    for (int i = 0; i < 3; i++) { /* keep-alive over TLS */
        cl_send(c, "GET /echo/t?q=1 HTTP/1.1\r\nHost: localhost\r\n\r\n");
        CHECK_INT(cl_read(c, &R, 0), ==, 200);
        CHECK_CONTAINS(R.body, "path=/echo/t match=t q=1 x= v=11 tls=1");
    }
    cl_free(c);
    /* A handshake left half-done (a partial ClientHello) is cut off by header_timeout, not
     * idle_timeout (the socket's own 20 s timeout would make cl_eof fail first). */
    c = calloc(1, sizeof *c);
    c->s = su_connect(&ta, 20);
    CHECK_OK(sockit_sendall(c->s, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, 0));
    CHECK_TRUE(cl_eof(c));
    cl_free(c);
    sockit_http_server_stop(ths);
    CHECK_OK(sockit_http_server_wait(ths));
    sockit_http_server_free(ths);
    sockit_tls_ctx_free(cctx);
    tlsu_rmdir(certs.dir);
}

/* Graceful stop: an in-flight blocking request finishes, idle keep-alive connections close at
 * once, new connections are refused. */
static void test_stop(void)
{
    atomic_store(&slow_started, 0);
    atomic_store(&slow_release, 0);
    client *idle = cl_new();
    cl_send(idle, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(cl_read(idle, &R, 0), ==, 200);
    client *busy = cl_new();
    cl_send(busy, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    double until = tu_now() + 10;
    while (atomic_load(&slow_started) < 1 && tu_now() < until) tu_sleep(0.002);
    sockit_http_server_stop(hs);
    CHECK_TRUE(cl_eof(idle));
    atomic_store(&slow_release, 1);
    CHECK_INT(cl_read(busy, &R, 0), ==, 200);
    char v[32];
    CHECK_STR(hdr(&R, "Connection", v, sizeof v), "close");
    CHECK_OK(sockit_http_server_wait(hs));
    cl_free(idle);
    cl_free(busy);
    int err = 0;
    sockit_sock *s = su_connect_ex(&addr, 2, &err);
    CHECK_TRUE(s == NULL);
    sockit_close(s);
    sockit_http_server_free(hs);
    hs = NULL;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    start_server();
    if (argc > 1 && strcmp(argv[1], "stream") == 0) {
        TU_RUN(test_stream_backpressure, 60);
        return tu_done();
    }
    TU_RUN(test_routing, 30);
    TU_RUN(test_head, 30);
    TU_RUN(test_keepalive, 30);
    TU_RUN(test_pipelining, 30);
    TU_RUN(test_limits, 60);
    TU_RUN(test_held_response, 60);
    TU_RUN(test_connect, 30);
    TU_RUN(test_timeouts, 30);
    TU_RUN(test_continue, 30);
    TU_RUN(test_chunked_body, 30);
    TU_RUN(test_upload_256m, 120);
    TU_RUN(test_upload_blocking, 120);
    TU_RUN(test_stream_backpressure, 60);
    TU_RUN(test_blocking, 60);
    TU_RUN(test_log, 30);
    TU_RUN(test_log_bytes, 60);
    TU_RUN(test_add_header, 30);
    TU_RUN(test_mutations, 120);
    TU_RUN(test_tls, 60);
    TU_RUN(test_stop, 30);
    free(R.body);
    return tu_done();
}
