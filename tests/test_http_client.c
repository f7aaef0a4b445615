/*
 * test_http_client.c — the HTTP client (include/sockit/http_client.h) against a peer nobody here
 * wrote the framing of: tests/http_client_peer.py, a raw-socket Python server whose routes send
 * exact bytes (chunks of random sizes, early closes, bad lengths, stalls, gzip, redirects, a
 * CONNECT proxy), started by this program on 127.0.0.1 port 0.
 *
 * Bodies are checked by SHA-256 against the X-Sha256 the peer computed; keep-alive reuse is
 * observed from the server side (the connection number the peer puts in X-Conn); deadlines are
 * checked with bounds ("0.3 s fires within 3 s"), never by sleeping.
 */
#include "tls_util.h"

#include <sockit/http_client.h>
#include "internal/http_client.h"

#include <openssl/evp.h>

static char g_dir[64];
static tlsu_child g_peer, g_peer2;
static char g_port[8], g_port2[8];

/* Starts the peer (extra args: "--tls cert key"), its port into port. */
static int peer_start(tlsu_child *ch, char port[8], const char *cert, const char *key)
{
    char script[512];
    snprintf(script, sizeof script, "%s/tests/http_client_peer.py", SOCKIT_SOURCE_DIR);
    char *argv[] = {"python3", script, cert ? "--tls" : NULL, (char *)cert, (char *)key, NULL};
    if (tlsu_spawn(ch, g_dir, "peer", "/dev/null", argv) < 0) return -1;
    if (!tlsu_wait_file(ch->out, "\n", 20)) return -1;
    char buf[256];
    tlsu_slurp(ch->out, buf, sizeof buf);
    const char *p = strstr(buf, "PORT ");
    if (!p) return -1;
    snprintf(port, 8, "%d", atoi(p + 5));
    return 0;
}

static const char *url(char *buf, size_t n, const char *port, const char *path)
{
    if (snprintf(buf, n, "http://127.0.0.1:%s%s", port, path) >= (int)n) buf[0] = 0;
    return buf;
}
#define URL(path) url(ubuf, sizeof ubuf, g_port, path)

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", md[i]);
}

static void check_sha(const sockit_http_resp *r, const void *body, size_t n)
{
    char hex[65];
    sha256_hex(body, n, hex);
    const char *want = sockit_http_resp_header(r, "x-sha256");
    CHECK_TRUE(want != NULL);
    if (want) CHECK_STR(hex, want);
}

static sockit_http_client *client(int follow, int accept_encoding)
{
    sockit_http_client_opts o = {0};
    o.follow_redirects = follow;
    o.accept_encoding = accept_encoding;
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, &o));
    return c;
}

/* GET url with c into resp (body to memory): the return value. */
static int get(sockit_http_client *c, const char *u, sockit_http_resp *resp)
{
    sockit_http_client_req q = {0};
    q.url = u;
    return sockit_http_client_do(c, &q, resp);
}

/* The value of "key": N or "key": "text" in the peer's JSON echo (a tiny scan, enough here). */
static const char *json_get(const char *json, const char *key, char *out, size_t n)
{
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = json ? strstr(json, pat) : NULL;
    out[0] = 0;
    if (!p) return out;
    p += strlen(pat);
    size_t i = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"' && i + 1 < n; p++) out[i++] = *p;
    } else {
        for (; *p && *p != ',' && *p != '}' && i + 1 < n; p++) out[i++] = *p;
    }
    out[i] = 0;
    return out;
}

/* ---- basics ------------------------------------------------------------------------------------ */

static void test_get_basic(void)
{
    char ubuf[256];
    sockit_http_client *c = client(0, 0);
    sockit_http_resp r = {0};
    CHECK_OK(get(c, URL("/hello"), &r));
    CHECK_INT(r.status, ==, 200);
    CHECK_INT(r.version, ==, 11);
    CHECK_STR(r.reason, "X");
    CHECK_STR(r.body, "hello");
    CHECK_INT(r.body_len, ==, 5);
    CHECK_INT(r.content_length, ==, 5);
    CHECK_INT(r.complete, ==, 1);
    CHECK_STR(r.url, ubuf);
    CHECK_TRUE(sockit_http_resp_header(&r, "x-CONN") != NULL);
    CHECK_TRUE(sockit_http_resp_header(&r, "nope") == NULL);
    CHECK_TRUE(r.head_len > 0 && !strncmp(r.head, "HTTP/1.1 200 X\r\n", 16));
    /* A response is not an error whatever its status. */
    CHECK_OK(get(c, URL("/no-such"), &r));
    CHECK_INT(r.status, ==, 404);
    CHECK_STR(r.body, "no such route");
    /* Repeated headers are all kept. */
    CHECK_OK(get(c, URL("/repeat"), &r));
    size_t pos = 0;
    CHECK_STR(sockit_http_resp_header_next(&r, "Set-Cookie", &pos), "a=1");
    CHECK_STR(sockit_http_resp_header_next(&r, "Set-Cookie", &pos), "b=2");
    CHECK_TRUE(sockit_http_resp_header_next(&r, "Set-Cookie", &pos) == NULL);
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

static void test_keepalive_reuse(void)
{
    char ubuf[256], first[16] = "";
    sockit_http_client *c = client(0, 0);
    sockit_http_resp r = {0};
    for (int i = 0; i < 50; i++) {
        CHECK_OK(get(c, URL("/hello"), &r));
        const char *conn = sockit_http_resp_header(&r, "x-conn");
        if (i == 0) snprintf(first, sizeof first, "%s", conn ? conn : "?");
        else CHECK_STR(conn, first);
        CHECK_INT(r.reused, ==, i > 0);
        if (i == 49) CHECK_STR(sockit_http_resp_header(&r, "x-req"), "50");
    }
    /* HEAD, 204 and 304 have no body (the 304's Content-Length notwithstanding): the connection
     * stays in step. */
    sockit_http_client_req q = {0};
    q.method = "HEAD";
    q.url = URL("/bytes?n=1000");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.content_length, ==, 1000);
    CHECK_INT(r.body_len, ==, 0);
    CHECK_INT(r.complete, ==, 1);
    CHECK_OK(get(c, URL("/204"), &r));
    CHECK_INT(r.status, ==, 204);
    CHECK_OK(get(c, URL("/304"), &r));
    CHECK_INT(r.status, ==, 304);
    CHECK_INT(r.body_len, ==, 0);
    CHECK_OK(get(c, URL("/hello"), &r));
    CHECK_STR(sockit_http_resp_header(&r, "x-conn"), first);
    CHECK_STR(r.body, "hello");
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

static void test_one_call_helpers(void)
{
    char ubuf[256], v[128];
    sockit_http_resp r = {0};
    CHECK_OK(sockit_http_get(URL("/hello"), &r));
    CHECK_STR(r.body, "hello");
    CHECK_OK(sockit_http_post(URL("/echo"), "application/json", "{\"a\":1}", 7, &r));
    CHECK_STR(json_get(r.body, "method", v, sizeof v), "POST");
    CHECK_STR(json_get(r.body, "body_len", v, sizeof v), "7");
    CHECK_STR(json_get(r.body, "content-type", v, sizeof v), "application/json");
    CHECK_OK(sockit_http_put(URL("/echo"), NULL, "xy", 2, &r));
    CHECK_STR(json_get(r.body, "method", v, sizeof v), "PUT");
    CHECK_OK(sockit_http_delete(URL("/echo"), &r));
    CHECK_STR(json_get(r.body, "method", v, sizeof v), "DELETE");
    CHECK_OK(sockit_http_head(URL("/hello"), &r));
    CHECK_INT(r.status, ==, 200);
    CHECK_INT(r.body_len, ==, 0);
    CHECK_CODE(sockit_http_get("ftp://127.0.0.1/x", &r), SOCKIT_EBADURL);
    CHECK_CODE(sockit_http_get("http://[::1/x", &r), SOCKIT_EBADURL);
    sockit_http_resp_free(&r);
}

/* ---- framing ------------------------------------------------------------------------------------ */

struct collect {
    char *buf;
    size_t len, cap;
    int calls, abort_after;
};

static int collect_write(void *arg, const void *data, size_t n)
{
    struct collect *c = arg;
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2;
        c->buf = realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    return ++c->calls == c->abort_after;
}

static void test_framing(void)
{
    char ubuf[256];
    sockit_http_client *c = client(0, 0);
    sockit_http_resp r = {0};
    const char *paths[] = {"/bytes?n=300000&seed=3", "/chunked?n=300000&seed=3", "/chunked?n=1&seed=9",
                           "/chunked?n=0", "/bytes?n=0"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        TU_CTX("%s", paths[i]);
        CHECK_OK(get(c, URL(paths[i]), &r));
        CHECK_INT(r.complete, ==, 1);
        check_sha(&r, r.body, r.body_len);
        CHECK_INT(r.body_bytes, ==, r.body_len);
    }
    /* The same bodies to a callback and to a file. */
    struct collect col = {0};
    sockit_http_client_req q = {0};
    q.url = URL("/chunked?n=200000&seed=5");
    q.sink_kind = SOCKIT_HTTP_SINK_CALLBACK;
    q.sink_write = collect_write;
    q.sink_arg = &col;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_TRUE(r.body == NULL);
    CHECK_INT(col.len, ==, 200000);
    check_sha(&r, col.buf, col.len);
    char path[128];
    snprintf(path, sizeof path, "%s/sink", g_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    q.url = URL("/bytes?n=700000&seed=6");
    q.sink_kind = SOCKIT_HTTP_SINK_FD;
    q.sink_fd = fd;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    char *file = malloc(700000);
    CHECK_INT(pread(fd, file, 700000, 0), ==, 700000);
    check_sha(&r, file, 700000);
    free(file);
    close(fd);
    /* Read to the close, and HTTP/1.0 without keep-alive. */
    TU_CTX("read to close");
    CHECK_OK(get(c, URL("/close?n=100000&seed=2"), &r));
    CHECK_INT(r.body_len, ==, 100000);
    CHECK_INT(r.complete, ==, 1);
    CHECK_INT(r.content_length, ==, -1);
    CHECK_OK(get(c, URL("/http10?n=5000"), &r));
    CHECK_INT(r.version, ==, 10);
    CHECK_INT(r.body_len, ==, 5000);
    /* 1xx responses are skipped, and shown to trace. */
    TU_CTX("unasked 1xx");
    CHECK_OK(get(c, URL("/unasked100"), &r));
    CHECK_INT(r.status, ==, 200);
    CHECK_STR(r.body, "after 1xx");
    free(col.buf);
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

struct trace_log {
    char text[8192];
    int sent, received;
};

static void trace_fn(void *arg, int sent, const char *head, size_t len)
{
    struct trace_log *t = arg;
    size_t n = strlen(t->text);
    snprintf(t->text + n, sizeof t->text - n, "%s%.*s", sent ? "> " : "< ", (int)len, head);
    if (sent) t->sent++;
    else t->received++;
}

static void test_trace(void)
{
    char ubuf[256];
    sockit_http_client *c = client(1, 0);
    sockit_http_resp r = {0};
    struct trace_log t = {{0}, 0, 0};
    sockit_http_client_req q = {0};
    q.url = URL("/redir?n=1");
    q.trace = trace_fn;
    q.trace_arg = &t;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(t.sent, ==, 2);
    CHECK_INT(t.received, ==, 2);
    CHECK_CONTAINS(t.text, "> GET /redir?n=1 HTTP/1.1\r\nHost: 127.0.0.1:");
    CHECK_CONTAINS(t.text, "User-Agent: sockit/");
    CHECK_CONTAINS(t.text, "< HTTP/1.1 302 X\r\n");
    CHECK_CONTAINS(t.text, "> GET /redir?n=0&code=302 HTTP/1.1\r\n");
    memset(&t, 0, sizeof t);
    q.url = URL("/unasked100");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(t.received, ==, 3);
    CHECK_CONTAINS(t.text, "< HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n");
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

/* ---- errors ------------------------------------------------------------------------------------ */

static void test_errors(void)
{
    char ubuf[256];
    sockit_http_client *c = client(0, 0);
    sockit_http_resp r = {0};
    CHECK_CODE(get(c, URL("/short"), &r), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "body ended after 1000 of 5000 bytes (Content-Length) from http://127.0.0.1:");
    CHECK_INT(r.status, ==, 200);
    CHECK_INT(r.body_len, ==, 1000);
    CHECK_INT(r.complete, ==, 0);
    /* A length the server does not send: the buffer grows with what arrives, not the claim. */
    CHECK_CODE(get(c, URL("/liar"), &r), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "body ended after 10 of 900000000 bytes");
    CHECK_STR(r.body, "0123456789");
    CHECK_INT(((hc_resp_priv *)r.priv_)->body_cap, <, 1u << 20);
    CHECK_CODE(get(c, URL("/badstatus"), &r), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "bad response head from http://127.0.0.1:");
    CHECK_INT(r.status, ==, 0);
    CHECK_CODE(get(c, URL("/badchunk"), &r), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "bad chunked body");
    CHECK_STR(r.body, "hello");
    CHECK_INT(r.complete, ==, 0);
    CHECK_CODE(get(c, URL("/chunkclose"), &r), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "chunked body ended early");
    CHECK_STR(r.body, "hello");
    CHECK_CODE(get(c, URL("/early"), &r), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "closed the connection without a response");
    CHECK_CODE(get(c, URL("/endless1xx"), &r), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "more than 32 interim (1xx) responses");
    CHECK_CODE(get(c, URL("/bighead"), &r), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "max_header_bytes");
    /* The memory sink's bound. */
    sockit_http_client_req q = {0};
    q.url = URL("/bytes?n=5000");
    q.max_body = 1000;
    CHECK_CODE(sockit_http_client_do(c, &q, &r), SOCKIT_ETOOLONG);
    CHECK_CONTAINS(sockit_errmsg(), "max_body");
    /* A header that would smuggle a line; a framing header of the caller's. */
    sockit_http_field bad[] = {{"X-A", "1\r\nX-Evil: 2"}};
    q.max_body = 0;
    q.headers = bad;
    q.nheaders = 1;
    CHECK_CODE(sockit_http_client_do(c, &q, &r), -EINVAL);
    sockit_http_field te[] = {{"Transfer-Encoding", "chunked"}};
    q.headers = te;
    CHECK_CODE(sockit_http_client_do(c, &q, &r), -EINVAL);
    CHECK_CONTAINS(sockit_errmsg(), "Transfer-Encoding");
    sockit_http_field cl[] = {{"content-length", "3"}};
    q.headers = cl;
    CHECK_CODE(sockit_http_client_do(c, &q, &r), -EINVAL);
    /* Nobody listening. */
    int port = tlsu_free_port();
    char u2[64];
    snprintf(u2, sizeof u2, "http://127.0.0.1:%d/", port);
    CHECK_CODE(get(c, u2, &r), -ECONNREFUSED);
    CHECK_CODE(get(c, "http:///nohost", &r), SOCKIT_EBADURL);
    CHECK_CODE(sockit_http_client_do(c, NULL, &r), -EINVAL);
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

static void test_deadlines(void)
{
    char ubuf[256];
    sockit_http_client_opts o = {0};
    o.timeout = 0.3;
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, &o));
    sockit_http_resp r = {0};
    const char *paths[] = {"/stall", "/nohead"};
    for (int i = 0; i < 2; i++) {
        TU_CTX("%s", paths[i]);
        double t0 = tu_now();
        CHECK_CODE(get(c, URL(paths[i]), &r), -ETIMEDOUT);
        double dt = tu_now() - t0;
        CHECK_DBL(dt, >=, 0.25);
        CHECK_DBL(dt, <, 3.0);
        CHECK_CONTAINS(sockit_errmsg(), "timed out");
        if (i == 0) CHECK_STR(r.body, "0123456789"); /* kept from the stall */
        CHECK_INT(r.complete, ==, 0);
    }
    /* The per-request timeout wins over the client's. */
    sockit_http_client_req q = {0};
    q.url = URL("/stall");
    q.timeout = 0.1;
    double t0 = tu_now();
    CHECK_CODE(sockit_http_client_do(c, &q, &r), -ETIMEDOUT);
    CHECK_DBL(tu_now() - t0, <, 2.0);
    sockit_http_client_free(c);
    /* The low-speed limit: fewer than 1000 bytes/s for 0.3 s. */
    memset(&o, 0, sizeof o);
    o.low_speed_limit = 1000;
    o.low_speed_time = 0.3;
    CHECK_OK(sockit_http_client_new(&c, &o));
    t0 = tu_now();
    CHECK_CODE(get(c, URL("/stall"), &r), -ETIMEDOUT);
    CHECK_DBL(tu_now() - t0, <, 3.0);
    CHECK_CONTAINS(sockit_errmsg(), "low-speed limit");
    sockit_http_client_free(c);
    /* ... which a transfer at speed never trips (a window long enough for any loaded machine). */
    o.low_speed_limit = 100;
    o.low_speed_time = 5;
    CHECK_OK(sockit_http_client_new(&c, &o));
    CHECK_OK(get(c, URL("/bytes?n=100000"), &r));
    CHECK_INT(r.body_len, ==, 100000);
    sockit_http_client_free(c);
    /* The connect timeout bounds the TLS handshake too: a listener that never accepts (the
     * kernel completes the TCP handshake; nobody answers the ClientHello). */
    sockit_sock *mute;
    char mute_port[8];
    CHECK_OK(sockit_create_server(&mute, "127.0.0.1", "0", NULL));
    memset(&o, 0, sizeof o);
    o.connect_timeout = 0.3;
    o.timeout = 20;
    CHECK_OK(sockit_http_client_new(&c, &o));
    char tls_url[64];
    snprintf(tls_url, sizeof tls_url, "https://127.0.0.1:%s/", tu_portstr(mute, mute_port));
    t0 = tu_now();
    CHECK_CODE(get(c, tls_url, &r), -ETIMEDOUT);
    CHECK_DBL(tu_now() - t0, >=, 0.25);
    CHECK_DBL(tu_now() - t0, <, 3.0);
    CHECK_CONTAINS(sockit_errmsg(), "connect timeout (0.3 s)");
    sockit_close(mute);
    sockit_http_client_free(c);
    sockit_http_resp_free(&r);
}

struct gen {
    uint64_t left, seed;
};

static ssize_t gen_read(void *arg, void *buf, size_t n)
{
    struct gen *g = arg;
    if (n > g->left) n = (size_t)g->left;
    if (n > 3000) n = 3000; /* uneven pieces */
    tu_fill(buf, n, g->seed++);
    g->left -= n;
    return (ssize_t)n;
}

/* ---- redirects ------------------------------------------------------------------------------------ */

static void test_redirects(void)
{
    char ubuf[256], v[128];
    sockit_http_client *c = client(1, 0);
    sockit_http_resp r = {0};
    CHECK_OK(get(c, URL("/redir?n=3"), &r));
    CHECK_INT(r.status, ==, 200);
    CHECK_INT(r.redirects, ==, 3);
    CHECK_CONTAINS(r.url, "/redir?n=0&code=302");
    /* All hops over one connection. */
    CHECK_INT(r.reused, ==, 1);
    CHECK_CODE(get(c, URL("/loop"), &r), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "too many redirects (limit 20)");
    /* max_redirects: exactly that many are followed; < 0 none. */
    for (int lim = -1; lim <= 1; lim++) {
        TU_CTX("max_redirects %d", lim);
        sockit_http_client_opts o = {0};
        o.follow_redirects = 1;
        o.max_redirects = lim;
        sockit_http_client *c2 = NULL;
        CHECK_OK(sockit_http_client_new(&c2, &o));
        int allowed = lim < 0 ? 0 : lim == 0 ? 20 : lim;
        char path[32], want[40];
        snprintf(path, sizeof path, "/redir?n=%d", allowed);
        CHECK_OK(get(c2, URL(path), &r));
        CHECK_INT(r.redirects, ==, allowed);
        snprintf(path, sizeof path, "/redir?n=%d", allowed + 1);
        CHECK_CODE(get(c2, URL(path), &r), SOCKIT_EPROTO);
        snprintf(want, sizeof want, "too many redirects (limit %d)", allowed);
        CHECK_CONTAINS(sockit_errmsg(), want);
        sockit_http_client_free(c2);
    }
    TU_CTX("after max_redirects");
    /* Not followed: the 3xx is the answer. */
    sockit_http_client_req q = {0};
    q.url = URL("/redir?n=1");
    q.follow_redirects = -1;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.status, ==, 302);
    CHECK_STR(sockit_http_resp_header(&r, "location"), "/redir?n=0&code=302");
    /* Methods: 301/302/303 turn POST into GET, 307/308 keep it and its body. */
    static const struct { int code; const char *method; int body_len; } cases[] = {
        {301, "GET", 0}, {302, "GET", 0}, {303, "GET", 0}, {307, "POST", 11}, {308, "POST", 11}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[64];
        snprintf(path, sizeof path, "/redir?n=1&code=%d", cases[i].code);
        TU_CTX("%d", cases[i].code);
        memset(&q, 0, sizeof q);
        q.url = URL(path);
        q.body_kind = SOCKIT_HTTP_BODY_MEMORY;
        q.body = "hello world";
        q.body_len = 11;
        q.content_type = "text/plain";
        CHECK_OK(sockit_http_client_do(c, &q, &r));
        CHECK_STR(json_get(r.body, "method", v, sizeof v), cases[i].method);
        CHECK_INT(atoi(json_get(r.body, "body_len", v, sizeof v)), ==, cases[i].body_len);
        CHECK_INT(strstr(r.body, "content-type") != NULL, ==, cases[i].body_len > 0);
    }
    /* 303 keeps HEAD; a callback body cannot be sent again. */
    memset(&q, 0, sizeof q);
    q.url = URL("/redir?n=1&code=303");
    q.method = "HEAD";
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.status, ==, 200);
    q.method = NULL;
    q.url = URL("/redir?n=1&code=307");
    struct gen g = {10, 1};
    q.body_kind = SOCKIT_HTTP_BODY_CALLBACK;
    q.body_read = gen_read;
    q.body_arg = &g;
    q.body_len = 10;
    CHECK_CODE(sockit_http_client_do(c, &q, &r), -EINVAL);
    /* A limit of 2. */
    sockit_http_client_free(c);
    sockit_http_client_opts o = {0};
    o.follow_redirects = 1;
    o.max_redirects = 2;
    CHECK_OK(sockit_http_client_new(&c, &o));
    CHECK_OK(get(c, URL("/redir?n=2"), &r));
    CHECK_CODE(get(c, URL("/redir?n=3"), &r), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "too many redirects (limit 2)");
    /* Only http and https are followed. */
    CHECK_CODE(get(c, URL("/abs?to=ftp://127.0.0.1/x"), &r), SOCKIT_EBADURL);
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

static void test_credentials_across_origins(void)
{
    char ubuf[256], path[256], v[256];
    sockit_http_client *c = client(1, 0);
    sockit_http_resp r = {0};
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%s", g_port);
    sockit_http_field hdrs[] = {{"Cookie", "sid=1"}, {"X-Keep", "yes"}, {"Host", host}};
    sockit_http_client_req q = {0};
    q.user = "user";
    q.password = "pw";
    q.headers = hdrs;
    q.nheaders = 3;
    /* Same origin: credentials go along. */
    q.url = URL("/redir?n=1");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_STR(json_get(r.body, "authorization", v, sizeof v), "Basic dXNlcjpwdw==");
    CHECK_STR(json_get(r.body, "cookie", v, sizeof v), "sid=1");
    /* Another port: Authorization and Cookie stay behind, other headers go. */
    char other[128];
    snprintf(path, sizeof path, "/abs?to=http://127.0.0.1:%s/echo", g_port2);
    q.url = URL(path);
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_STR(json_get(r.body, "authorization", v, sizeof v), "");
    CHECK_STR(json_get(r.body, "cookie", v, sizeof v), "");
    CHECK_STR(json_get(r.body, "x-keep", v, sizeof v), "yes");
    snprintf(host, sizeof host, "127.0.0.1:%s", g_port2); /* its own Host, not the caller's */
    CHECK_STR(json_get(r.body, "host", v, sizeof v), host);
    CHECK_CONTAINS(r.url, url(other, sizeof other, g_port2, "/echo"));
    /* Another host name (same port): dropped too; and the URL's userinfo is credentials. */
    snprintf(path, sizeof path, "http://u%%40x:p%%3A@127.0.0.1:%s/abs?to=http://localhost:%s/echo",
             g_port, g_port);
    q.url = path;
    q.user = NULL;
    q.nheaders = 0;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_STR(json_get(r.body, "authorization", v, sizeof v), "");
    snprintf(path, sizeof path, "http://u%%40x:p%%3A@127.0.0.1:%s/echo", g_port);
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_STR(json_get(r.body, "authorization", v, sizeof v), "Basic dUB4OnA6"); /* u@x:p: */
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

/* ---- bodies ------------------------------------------------------------------------------------- */

static void test_request_bodies(void)
{
    char ubuf[256], v[128], hex[65], path[128];
    sockit_http_client *c = client(0, 0);
    sockit_http_resp r = {0};
    size_t big = 3u << 20; /* large enough for Expect: 100-continue */
    char *data = malloc(big);
    tu_fill(data, big, 42);
    sockit_http_client_req q = {0};
    q.url = URL("/echo");
    q.body_kind = SOCKIT_HTTP_BODY_MEMORY;
    size_t sizes[] = {0, 1, 16384, 16385, 100000, big};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        TU_CTX("memory %zu", sizes[i]);
        q.body = data;
        q.body_len = sizes[i];
        CHECK_OK(sockit_http_client_do(c, &q, &r));
        CHECK_STR(json_get(r.body, "method", v, sizeof v), "POST");
        CHECK_INT(atoi(json_get(r.body, "body_len", v, sizeof v)), ==, sizes[i]);
        sha256_hex(data, sizes[i], hex);
        CHECK_STR(json_get(r.body, "body_sha256", v, sizeof v), hex);
        CHECK_STR(json_get(r.body, "expect", v, sizeof v), sizes[i] >= (1u << 20) ? "100-continue" : "");
    }
    /* From a file, by path and by descriptor. */
    snprintf(path, sizeof path, "%s/body", g_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK_INT(write(fd, data, 500000), ==, 500000);
    sha256_hex(data, 500000, hex);
    memset(&q, 0, sizeof q);
    q.url = URL("/echo");
    q.method = "PUT";
    q.body_kind = SOCKIT_HTTP_BODY_PATH;
    q.body_path = path;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_STR(json_get(r.body, "method", v, sizeof v), "PUT");
    CHECK_STR(json_get(r.body, "body_sha256", v, sizeof v), hex);
    CHECK_STR(json_get(r.body, "content-length", v, sizeof v), "500000");
    lseek(fd, 0, SEEK_SET);
    q.body_kind = SOCKIT_HTTP_BODY_FD;
    q.body_fd = fd;
    q.body_len = UINT64_MAX;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_STR(json_get(r.body, "body_sha256", v, sizeof v), hex);
    close(fd);
    /* From a callback: with its length, and chunked. */
    for (int chunked = 0; chunked < 2; chunked++) {
        TU_CTX("callback chunked=%d", chunked);
        struct gen g = {200000, 7};
        memset(&q, 0, sizeof q);
        q.url = URL("/echo");
        q.body_kind = SOCKIT_HTTP_BODY_CALLBACK;
        q.body_read = gen_read;
        q.body_arg = &g;
        q.body_len = chunked ? UINT64_MAX : 200000;
        CHECK_OK(sockit_http_client_do(c, &q, &r));
        CHECK_INT(atoi(json_get(r.body, "body_len", v, sizeof v)), ==, 200000);
        CHECK_STR(json_get(r.body, "transfer-encoding", v, sizeof v), chunked ? "chunked" : "");
        char *expect = malloc(200000);
        struct gen g2 = {200000, 7};
        for (size_t off = 0; off < 200000;) off += (size_t)gen_read(&g2, expect + off, 200000 - off);
        sha256_hex(expect, 200000, hex);
        free(expect);
        CHECK_STR(json_get(r.body, "body_sha256", v, sizeof v), hex);
    }
    /* A final answer instead of 100 Continue: the body is not sent, the answer is the response. */
    memset(&q, 0, sizeof q);
    q.url = URL("/expect-final");
    q.body_kind = SOCKIT_HTTP_BODY_MEMORY;
    q.body = data;
    q.body_len = big;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.status, ==, 413);
    CHECK_STR(r.body, "too big");
    free(data);
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

/* ---- decoding ------------------------------------------------------------------------------------ */

static void test_decoding(void)
{
    char ubuf[256];
    sockit_http_client *c = client(0, 1);
    sockit_http_resp r = {0};
    const char *paths[] = {"/gzip?n=10000", "/deflate?n=10000", "/rawdeflate?n=10000",
                           "/te-gzip?n=100000", "/gzip?n=0"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        TU_CTX("%s", paths[i]);
        CHECK_OK(get(c, URL(paths[i]), &r));
        CHECK_INT(r.complete, ==, 1);
        check_sha(&r, r.body, r.body_len);
        if (i < 3) CHECK_INT(r.wire_bytes, <, r.body_len); /* it was compressed */
    }
    sockit_http_client_free(c);
    /* Without accept_encoding nothing is asked for or decoded — but a transfer coding is framing
     * and is always undone. */
    c = client(0, 0);
    CHECK_OK(get(c, URL("/gzip?n=1000"), &r));
    CHECK_TRUE(sockit_http_resp_header(&r, "content-encoding") == NULL);
    check_sha(&r, r.body, r.body_len);
    CHECK_OK(get(c, URL("/te-gzip?n=1000"), &r));
    check_sha(&r, r.body, r.body_len);
    sockit_http_client_free(c);
    /* A bomb: 64 MiB of zeros in ~64 KiB stops at the cap. */
    sockit_http_client_opts o = {0};
    o.accept_encoding = 1;
    o.max_decoded = 1 << 20;
    CHECK_OK(sockit_http_client_new(&c, &o));
    sockit_http_client_req q = {0};
    q.url = URL("/bomb");
    q.sink_kind = SOCKIT_HTTP_SINK_DISCARD;
    CHECK_CODE(sockit_http_client_do(c, &q, &r), SOCKIT_ETOOLONG);
    CHECK_CONTAINS(sockit_errmsg(), "max_decoded");
    CHECK_INT(r.body_bytes, <=, 1 << 20);
    sockit_http_client_free(c);
    sockit_http_resp_free(&r);
}

/* ---- resume, progress, callbacks ---------------------------------------------------------------- */

struct prog {
    uint64_t last, total_seen;
    int64_t total;
    int calls, stop_at;
};

static int prog_fn(void *arg, uint64_t now, int64_t total)
{
    struct prog *p = arg;
    CHECK_TRUE(now >= p->last);
    p->last = now;
    p->total = total;
    return ++p->calls == p->stop_at;
}

static int head_fn(void *arg, const sockit_http_resp *resp)
{
    CHECK_TRUE(resp->status >= 200 && resp->headers != NULL);
    return *(int *)arg;
}

static void test_resume(void)
{
    char ubuf[256], path[128];
    sockit_http_client *c = client(0, 0);
    sockit_http_resp r = {0}, full = {0};
    CHECK_OK(get(c, URL("/range?n=100000&seed=4"), &full));
    CHECK_INT(full.body_len, ==, 100000);
    snprintf(path, sizeof path, "%s/resume", g_dir);
    const char *modes[] = {"ok", "ignore", "bad"};
    for (int m = 0; m < 3; m++) {
        TU_CTX("mode %s", modes[m]);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
        CHECK_INT(write(fd, full.body, 40000), ==, 40000);
        char p2[64];
        snprintf(p2, sizeof p2, "/range?n=100000&seed=4&mode=%s", modes[m]);
        struct prog pr = {0, 0, 0, 0, 0};
        sockit_http_client_req q = {0};
        q.url = URL(p2);
        q.resume_from = 40000;
        q.sink_kind = SOCKIT_HTTP_SINK_FD;
        q.sink_fd = fd;
        q.progress = prog_fn;
        q.progress_arg = &pr;
        int rc = sockit_http_client_do(c, &q, &r);
        if (m == 2) {
            CHECK_CODE(rc, SOCKIT_EPROTO);
            CHECK_CONTAINS(sockit_errmsg(), "Content-Range");
            CHECK_INT(lseek(fd, 0, SEEK_END), ==, 40000); /* untouched */
        } else {
            CHECK_OK(rc);
            CHECK_INT(r.resumed, ==, m == 0);
            CHECK_INT(r.status, ==, m == 0 ? 206 : 200);
            char *buf = malloc(200000);
            CHECK_INT(pread(fd, buf, 200000, 0), ==, 100000);
            CHECK_MEM(buf, full.body, 100000);
            free(buf);
            CHECK_INT(pr.last, ==, 100000);
            CHECK_INT(pr.total, ==, 100000);
        }
        close(fd);
    }
    /* The head callback: keep nothing of a 404's body (curl --fail), or stop at the head. */
    sockit_http_client_req q = {0};
    q.url = URL("/no-such");
    q.on_head = head_fn;
    int mode = 1;
    q.on_head_arg = &mode;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.status, ==, 404);
    CHECK_INT(r.body_len, ==, 0);
    CHECK_INT(r.complete, ==, 1);
    CHECK_OK(get(c, URL("/hello"), &r));
    CHECK_INT(r.reused, ==, 1); /* the dropped body was read: the connection goes on */
    mode = -1;
    q.url = URL("/bytes?n=1000");
    CHECK_CODE(sockit_http_client_do(c, &q, &r), -ECANCELED);
    CHECK_INT(r.status, ==, 200);
    CHECK_INT(r.content_length, ==, 1000);
    CHECK_INT(r.body_len, ==, 0);
    mode = 0;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.body_len, ==, 1000);
    /* Callbacks that stop the transfer. */
    struct prog pr = {0, 0, 0, 0, 2};
    memset(&q, 0, sizeof q);
    q.url = URL("/chunked?n=300000");
    q.progress = prog_fn;
    q.progress_arg = &pr;
    CHECK_CODE(sockit_http_client_do(c, &q, &r), -ECANCELED);
    CHECK_INT(r.complete, ==, 0);
    struct collect col = {0};
    col.abort_after = 1;
    memset(&q, 0, sizeof q);
    q.url = URL("/bytes?n=300000");
    q.sink_kind = SOCKIT_HTTP_SINK_CALLBACK;
    q.sink_write = collect_write;
    q.sink_arg = &col;
    CHECK_CODE(sockit_http_client_do(c, &q, &r), -ECANCELED);
    free(col.buf);
    /* The client still works after aborted transfers (their connections were closed). */
    CHECK_OK(get(c, URL("/hello"), &r));
    CHECK_STR(r.body, "hello");
    sockit_http_resp_free(&r);
    sockit_http_resp_free(&full);
    sockit_http_client_free(c);
}

/* ---- connections ----------------------------------------------------------------------------------- */

static void test_broken_idle_retried(void)
{
    char ubuf[256];
    sockit_http_client *c = client(0, 0);
    sockit_http_resp r = {0};
    for (int i = 0; i < 5; i++) {
        TU_CTX("round %d", i);
        /* The server closes after answering, without saying so: the pooled connection is dead,
         * and the next GET goes again on a new one. */
        CHECK_OK(get(c, URL("/dropidle"), &r));
        CHECK_STR(r.body, "bye");
        char before[16];
        snprintf(before, sizeof before, "%s", sockit_http_resp_header(&r, "x-conn"));
        CHECK_OK(get(c, URL("/hello"), &r));
        CHECK_STR(r.body, "hello");
        CHECK_INT(r.reused, ==, 0);
        CHECK_TRUE(strcmp(sockit_http_resp_header(&r, "x-conn"), before) != 0);
    }
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

static void test_pool_limits(void)
{
    char ubuf[256];
    sockit_http_client_opts o = {0};
    o.max_idle = -1; /* no keep-alive at all */
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, &o));
    sockit_http_resp r = {0};
    struct trace_log t = {{0}, 0, 0};
    sockit_http_client_req q = {0};
    q.url = URL("/hello");
    q.trace = trace_fn;
    q.trace_arg = &t;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_CONTAINS(t.text, "Connection: close\r\n");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.reused, ==, 0);
    CHECK_STR(sockit_http_resp_header(&r, "x-req"), "1");
    sockit_http_client_free(c);
    /* The caller's Connection: close is sent as given (once) and the connection is not kept,
     * though this server would keep it; keep-alive (or anything else) is sent too, and pooled. */
    sockit_http_field close_h[] = {{"Connection", "close"}}, keep_h[] = {{"connection", "keep-alive"}};
    CHECK_OK(sockit_http_client_new(&c, NULL));
    t.text[0] = 0;
    q.headers = close_h;
    q.nheaders = 1;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_CONTAINS(t.text, "\r\nConnection: close\r\n");
    CHECK_TRUE(strstr(strstr(t.text, "Connection:") + 1, "Connection:") == NULL);
    CHECK_OK(get(c, URL("/hello"), &r));
    CHECK_INT(r.reused, ==, 0);
    q.headers = keep_h;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.reused, ==, 1);
    CHECK_CONTAINS(t.text, "\r\nconnection: keep-alive\r\n");
    CHECK_OK(get(c, URL("/hello"), &r));
    CHECK_INT(r.reused, ==, 1);
    q.headers = NULL;
    q.nheaders = 0;
    sockit_http_client_free(c);
    /* One idle slot: a second origin takes it from the first. */
    char u1[64], u2[64];
    memset(&o, 0, sizeof o);
    o.max_idle = 1;
    CHECK_OK(sockit_http_client_new(&c, &o));
    url(u1, sizeof u1, g_port, "/hello");
    url(u2, sizeof u2, g_port2, "/hello");
    CHECK_OK(get(c, u1, &r));
    CHECK_OK(get(c, u1, &r));
    CHECK_INT(r.reused, ==, 1);
    CHECK_OK(get(c, u2, &r));
    CHECK_INT(r.reused, ==, 0);
    CHECK_OK(get(c, u1, &r));
    CHECK_INT(r.reused, ==, 0);
    sockit_http_client_close_idle(c);
    CHECK_OK(get(c, u1, &r));
    CHECK_INT(r.reused, ==, 0);
    sockit_http_client_free(c);
    /* An idle connection older than idle_timeout is not reused (the wait only has to be longer
     * than the timeout: a slower machine waits longer, never shorter). */
    memset(&o, 0, sizeof o);
    o.idle_timeout = 0.05;
    CHECK_OK(sockit_http_client_new(&c, &o));
    CHECK_OK(get(c, u1, &r));
    tu_sleep(0.1);
    CHECK_OK(get(c, u1, &r));
    CHECK_INT(r.reused, ==, 0);
    sockit_http_client_free(c);
    sockit_http_resp_free(&r);
}

/* ---- proxies ---------------------------------------------------------------------------------------- */

static void test_proxy_plain(void)
{
    char proxy[128], v[256];
    snprintf(proxy, sizeof proxy, "http://pu:pp@127.0.0.1:%s", g_port2);
    sockit_http_client_opts o = {0};
    o.proxy = proxy;
    o.no_proxy = "direct.test, .skip.test";
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, &o));
    sockit_http_resp r = {0};
    CHECK_OK(get(c, "http://origin.test:8080/p?q=1", &r));
    CHECK_STR(sockit_http_resp_header(&r, "x-via"), "proxy");
    CHECK_STR(json_get(r.body, "target", v, sizeof v), "http://origin.test:8080/p?q=1");
    CHECK_STR(json_get(r.body, "host", v, sizeof v), "origin.test:8080");
    CHECK_STR(json_get(r.body, "proxy-authorization", v, sizeof v), "Basic cHU6cHA=");
    /* no_proxy hosts go direct (and fail to resolve here: .test is reserved). */
    CHECK_TRUE(get(c, "http://a.skip.test/", &r) < 0);
    CHECK_TRUE(sockit_http_resp_header(&r, "x-via") == NULL);
    sockit_http_client_free(c);
    /* From the environment, when asked. */
    setenv("http_proxy", proxy, 1);
    memset(&o, 0, sizeof o);
    o.proxy_from_env = 1;
    CHECK_OK(sockit_http_client_new(&c, &o));
    CHECK_OK(get(c, "http://origin.test/x", &r));
    CHECK_STR(sockit_http_resp_header(&r, "x-via"), "proxy");
    sockit_http_client_free(c);
    memset(&o, 0, sizeof o);
    CHECK_OK(sockit_http_client_new(&c, &o));
    CHECK_TRUE(get(c, "http://origin.test/x", &r) < 0); /* not asked: direct */
    sockit_http_client_free(c);
    unsetenv("http_proxy");
    /* Proxy URLs: "host:port" is taken as http://; another scheme is refused at once. */
    memset(&o, 0, sizeof o);
    o.proxy = "ftp://127.0.0.1:21";
    c = NULL;
    CHECK_CODE(sockit_http_client_new(&c, &o), -EINVAL);
    CHECK_TRUE(c == NULL);
    char bare[64];
    snprintf(bare, sizeof bare, "127.0.0.1:%s", g_port2);
    o.proxy = bare;
    /* no_proxy: "*", a host with a port, a whole name — and a suffix only at a dot. */
    static const struct { const char *list; int proxied; } np[] = {
        {"*", 0}, {"other.test:80, origin.test", 0}, {"ORIGIN.TEST", 0}, {"rigin.test", 1},
        {".test", 0}, {"", 1}};
    for (size_t i = 0; i < sizeof np / sizeof *np; i++) {
        TU_CTX("no_proxy \"%s\"", np[i].list);
        o.no_proxy = np[i].list;
        CHECK_OK(sockit_http_client_new(&c, &o));
        int rc = get(c, "http://origin.test/x", &r);
        CHECK_INT(rc == 0 && sockit_http_resp_header(&r, "x-via") != NULL, ==, np[i].proxied);
        sockit_http_client_free(c);
    }
    sockit_http_resp_free(&r);
}

/* ---- TLS ------------------------------------------------------------------------------------------ */

static void test_https(void)
{
    tlsu_certs certs;
    if (tlsu_make_certs(&certs) < 0) {
        CHECK_TRUE(0);
        return;
    }
    static const struct { const char *name; int which; } servers[] = {
        {"trusted", 0}, {"self-signed", 1}, {"other host", 2}, {"expired", 3}};
    for (size_t i = 0; i < 4; i++) {
        TU_CTX("%s", servers[i].name);
        const char *cert = i == 0 ? certs.srv : i == 1 ? certs.self : i == 2 ? certs.other : certs.expired;
        const char *key = i == 0 ? certs.srv_key : i == 1 ? certs.self_key : i == 2 ? certs.other_key : certs.expired_key;
        tlsu_child peer;
        char port[8], u[128], v[256];
        if (peer_start(&peer, port, cert, key) < 0) {
            CHECK_TRUE(0);
            tlsu_kill(&peer);
            continue;
        }
        snprintf(u, sizeof u, "https://localhost:%s/hello", port);
        sockit_http_client_opts o = {0};
        o.ca_file = certs.ca;
        sockit_http_client *c = NULL;
        CHECK_OK(sockit_http_client_new(&c, &o));
        sockit_http_resp r = {0};
        int rc = get(c, u, &r);
        if (i == 0) {
            CHECK_OK(rc);
            CHECK_STR(r.body, "hello");
            const char *conn = sockit_http_resp_header(&r, "x-conn");
            char first[16];
            snprintf(first, sizeof first, "%s", conn ? conn : "?");
            for (int k = 0; k < 5; k++) {
                CHECK_OK(get(c, u, &r));
                CHECK_STR(sockit_http_resp_header(&r, "x-conn"), first);
            }
            /* Through a CONNECT proxy (the other peer), with proxy credentials. */
            char proxy[96];
            snprintf(proxy, sizeof proxy, "http://pu:pp@127.0.0.1:%s", g_port2);
            sockit_http_client_opts po = o;
            po.proxy = proxy;
            sockit_http_client *pc = NULL;
            CHECK_OK(sockit_http_client_new(&pc, &po));
            char info[64];
            sockit_http_client *dc = client(0, 0);
            CHECK_OK(get(dc, url(info, sizeof info, g_port2, "/info"), &r));
            int before = atoi(json_get(r.body, "connects", v, sizeof v));
            CHECK_OK(get(pc, u, &r));
            CHECK_STR(r.body, "hello");
            CHECK_OK(get(pc, u, &r)); /* the tunnel is kept alive */
            CHECK_INT(r.reused, ==, 1);
            sockit_http_client_free(pc);
            CHECK_OK(get(dc, url(info, sizeof info, g_port2, "/info"), &r));
            CHECK_INT(atoi(json_get(r.body, "connects", v, sizeof v)), ==, before + 1);
            CHECK_STR(json_get(r.body, "last_proxy_auth", v, sizeof v), "Basic cHU6cHA=");
            sockit_http_client_free(dc);
        } else {
            CHECK_CODE(rc, SOCKIT_ETLS);
            CHECK_INT(r.status, ==, 0);
        }
        if (i == 2) CHECK_CONTAINS(sockit_errmsg(), "other.test");
        if (i == 1) {
            /* insecure: no verification at all. */
            sockit_http_client_opts io = {0};
            io.insecure = 1;
            sockit_http_client *ic = NULL;
            CHECK_OK(sockit_http_client_new(&ic, &io));
            CHECK_OK(get(ic, u, &r));
            CHECK_STR(r.body, "hello");
            sockit_http_client_free(ic);
        }
        sockit_http_resp_free(&r);
        sockit_http_client_free(c);
        tlsu_kill(&peer);
    }
    /* A CA file that does not exist fails at once. */
    sockit_http_client_opts o = {0};
    o.ca_file = "/nonexistent/ca.pem";
    sockit_http_client *c = NULL;
    CHECK_CODE(sockit_http_client_new(&c, &o), -ENOENT);
    CHECK_TRUE(c == NULL);
    tlsu_rmdir(certs.dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (system("python3 -c 'pass' >/dev/null 2>&1") != 0) {
        printf("SKIP: no python3\n");
        return 0;
    }
    if (!*tu_tempdir(g_dir, sizeof g_dir) || peer_start(&g_peer, g_port, NULL, NULL) < 0 ||
        peer_start(&g_peer2, g_port2, NULL, NULL) < 0) {
        fprintf(stderr, "cannot start the Python peer\n");
        tlsu_kill(&g_peer);
        return 1;
    }
    TU_RUN(test_get_basic, 30);
    TU_RUN(test_keepalive_reuse, 30);
    TU_RUN(test_one_call_helpers, 30);
    TU_RUN(test_framing, 60);
    TU_RUN(test_trace, 30);
    TU_RUN(test_errors, 30);
    TU_RUN(test_deadlines, 30);
    TU_RUN(test_redirects, 30);
    TU_RUN(test_credentials_across_origins, 30);
    TU_RUN(test_request_bodies, 60);
    TU_RUN(test_decoding, 60);
    TU_RUN(test_resume, 30);
    TU_RUN(test_broken_idle_retried, 30);
    TU_RUN(test_pool_limits, 30);
    TU_RUN(test_proxy_plain, 30);
    TU_RUN(test_https, 120);
    tlsu_kill(&g_peer);
    tlsu_kill(&g_peer2);
    tlsu_rmdir(g_dir);
    return tu_done();
}
