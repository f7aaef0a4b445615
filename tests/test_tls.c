/*
 * test_tls.c — the TLS layer (include/sockit/tls.h) and TLS in the server core (server.h `tls`).
 *
 * Peers: openssl s_server and s_client (child processes), sockit itself (threads), and hand-made
 * bad peers (threads): a plain-text server, a silent one, one sending garbage, one closing or
 * resetting mid-handshake, and a proxy that cuts or stalls a real handshake part way. The CA and
 * the certificates (valid for localhost + 127.0.0.1, self-signed, for other.test, expired) are
 * made at start with the openssl command in a fresh directory under /tmp.
 *
 * Cases: contexts and misuse; client against s_server (getters, SNI, versions, every bad
 * certificate with its exact message, insecure contexts, client certificates); server against
 * s_client (ALPN, a KeyUpdate); 64 MiB each way against OpenSSL's tools and between two sockit
 * ends, by FNV-1a; resumption (TLS 1.3 and 1.2, no_resumption on either side, with and without
 * close_notify); ALPN; plain-text, silent, garbage, closing and stalling peers on both sides
 * (SOCKIT_ETLS or -ETIMEDOUT within the deadline, never a hang); unwrap with plain text
 * following; the TLS half-close; the reader over TLS; recv flags; -EPIPE, never SIGPIPE;
 * timeouts and failures after the handshake (forged record, bare FIN, reset); a host name
 * longer than 127 characters; descriptor leaks; the event-driven server with cfg.tls (50 clients
 * by checksum beside plain-text, garbage and silent clients, first_byte_timeout, stop during
 * handshakes, the half-close both ways, backpressure on TLS writes, conn_shutdown) and threaded
 * mode with cfg.tls.
 *
 * Expected per tls.h and failing when this was written (library bugs, reported): resumption
 * after a plain sockit_close, MSG_DONTWAIT/MSG_WAITALL over TLS, a bare FIN after the handshake
 * reading as the end, read errors keeping their TLS sentence, the verify result blamed with
 * verification off, host names over 127 characters, conn_shutdown's close_notify.
 */
#include "server_util.h"
#include "tls_util.h"

#include <sockit/server.h>
#include <sockit/tls.h>

static tlsu_certs C;

/* s_server -rev instances shared by the client cases, one per certificate. */
static tlsu_child S_srv, S_self, S_other, S_expired, S_sni, S_tls12, S_tls13;
static char P_srv[8], P_self[8], P_other[8], P_expired[8], P_sni[8], P_tls12[8], P_tls13[8];

#define MiB (1024 * 1024)
#define BULK (64 * MiB)

/* ---- small helpers ---------------------------------------------------------------------------- */

static sockit_tls_ctx *client_ctx(const char *cafile, int insecure, const char *alpn, int no_res,
                                  int min_version)
{
    sockit_tls_opts o = {.cafile = cafile, .insecure = insecure, .alpn = alpn,
                         .no_resumption = no_res, .min_version = min_version};
    sockit_tls_ctx *ctx = NULL;
    CHECK_OK(sockit_tls_ctx_new(&ctx, &o));
    return ctx;
}

static sockit_tls_ctx *server_ctx(const char *alpn, int no_res)
{
    sockit_tls_opts o = {.server = 1, .cert = C.srv, .key = C.srv_key, .alpn = alpn,
                         .no_resumption = no_res};
    sockit_tls_ctx *ctx = NULL;
    CHECK_OK(sockit_tls_ctx_new(&ctx, &o));
    return ctx;
}

/* Connects to 127.0.0.1:port and handshakes, sending and checking host. *out is the socket (plain
 * when the handshake failed; NULL when the connect did). Returns the handshake's result. */
static int tls_dial(sockit_sock **out, const char *port, sockit_tls_ctx *ctx, const char *host,
                    double timeout)
{
    *out = NULL;
    int r = sockit_create_connection(out, "127.0.0.1", port, timeout);
    if (r < 0) return r;
    return sockit_tls_connect(*out, ctx, host);
}

/* Receives exactly n bytes (sockit_recv in a loop): n, the short count at end of stream, or a code. */
static ssize_t recv_exact(sockit_sock *s, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = sockit_recv(s, (char *)buf + got, n - got, 0);
        if (r < 0) return r;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Reads until end of stream or error, at most limit bytes; the result of the last recv (0 at a
 * clean end) and the byte count in *total. */
static ssize_t drain(sockit_sock *s, size_t limit, size_t *total)
{
    char buf[16384];
    *total = 0;
    for (;;) {
        ssize_t r = sockit_recv(s, buf, sizeof buf, 0);
        if (r <= 0) return r;
        *total += (size_t)r;
        if (*total > limit) return -EMSGSIZE;
    }
}

/* Sends the bulk stream (seed, total bytes); its hash, or 0 with *rc set on failure. */
static uint64_t send_stream(sockit_sock *s, uint64_t seed, size_t total, int *rc)
{
    char *buf = malloc(TLSU_CHUNK);
    uint64_t h = TU_FNV_INIT;
    *rc = buf ? 0 : -ENOMEM;
    for (size_t i = 0; *rc == 0 && i < total / TLSU_CHUNK; i++) {
        tlsu_chunk(buf, seed, i);
        h = tu_fnv1a(h, buf, TLSU_CHUNK);
        *rc = sockit_sendall(s, buf, TLSU_CHUNK, 0);
    }
    free(buf);
    return *rc ? 0 : h;
}

/* Receives until end of stream, hashing; the final recv result (0: clean end). */
static ssize_t recv_stream(sockit_sock *s, uint64_t *hash, size_t *total)
{
    char *buf = malloc(65536);
    ssize_t r = buf ? 1 : -ENOMEM;
    *hash = TU_FNV_INIT;
    *total = 0;
    while (r > 0) {
        r = sockit_recv(s, buf, 65536, 0);
        if (r > 0) {
            *hash = tu_fnv1a(*hash, buf, (size_t)r);
            *total += (size_t)r;
        }
    }
    free(buf);
    return r;
}

static sockit_sock *listener(char port[8])
{
    sockit_sock *l = NULL;
    CHECK_OK(sockit_create_server(&l, "127.0.0.1", "0", NULL));
    if (l) {
        sockit_settimeout(l, 15);
        tu_portstr(l, port);
    }
    return l;
}

static void copy_msg(char *dst, size_t len)
{
    snprintf(dst, len, "%s", sockit_errmsg());
}

/* ---- an in-process sockit TLS server (blocking, one connection after another) ---------------- */

typedef void (*serve_fn)(sockit_sock *c, void *arg, int i);

#define TS_MAX 8

struct tserver {
    sockit_sock *lsock;
    char port[8];
    sockit_tls_ctx *ctx; /* NULL: plain, no handshake */
    int n;
    double timeout;
    serve_fn fn;
    void *arg;
    int rc[TS_MAX];
    char msg[TS_MAX][300];
    int resumed[TS_MAX];
    char alpn[TS_MAX][32];
    char version[TS_MAX][16];
    pthread_t th;
    int started;
};

static void *tserver_main(void *arg)
{
    struct tserver *t = arg;
    for (int i = 0; i < t->n; i++) {
        sockit_sock *c = NULL;
        t->rc[i] = sockit_accept(t->lsock, &c, NULL);
        if (t->rc[i] < 0) {
            copy_msg(t->msg[i], sizeof t->msg[i]);
            return NULL;
        }
        sockit_settimeout(c, t->timeout);
        if (t->ctx) {
            t->rc[i] = sockit_tls_accept(c, t->ctx);
            copy_msg(t->msg[i], sizeof t->msg[i]);
            if (t->rc[i] == 0) {
                t->resumed[i] = sockit_tls_resumed(c);
                snprintf(t->alpn[i], sizeof t->alpn[i], "%s", sockit_tls_alpn(c));
                snprintf(t->version[i], sizeof t->version[i], "%s", sockit_tls_version(c));
            }
        }
        if (t->rc[i] == 0 && t->fn) t->fn(c, t->arg, i);
        sockit_close(c);
    }
    return NULL;
}

static int tserver_start(struct tserver *t, sockit_tls_ctx *ctx, int n, double timeout, serve_fn fn,
                         void *arg)
{
    memset(t, 0, sizeof *t);
    t->ctx = ctx;
    t->n = n < TS_MAX ? n : TS_MAX;
    t->timeout = timeout;
    t->fn = fn;
    t->arg = arg;
    for (int i = 0; i < TS_MAX; i++) t->rc[i] = 1; /* not reached */
    t->lsock = listener(t->port);
    if (!t->lsock) return -1;
    if (pthread_create(&t->th, NULL, tserver_main, t) != 0) {
        sockit_close(t->lsock);
        return -1;
    }
    t->started = 1;
    return 0;
}

static void tserver_join(struct tserver *t)
{
    if (t->started) pthread_join(t->th, NULL);
    t->started = 0;
    sockit_close(t->lsock);
    t->lsock = NULL;
}

/* Reads one line and sends it back (the server side of several cases). */
static void serve_echo_line(sockit_sock *c, void *arg, int i)
{
    char line[256];
    sockit_reader *r;
    if (sockit_reader_new(&r, c, 0) < 0) return;
    ssize_t n = sockit_reader_getline(r, line, sizeof line, 0);
    if (n > 0) sockit_sendall(c, line, strlen(line), 0);
    sockit_reader_free(r);
}

/* ---- hand-made bad peers ----------------------------------------------------------------------- */

enum fake_kind { F_HTTP, F_SSH, F_SILENT, F_GARBAGE, F_RECORD_GARBAGE, F_CLOSE, F_RESET };

struct fake {
    sockit_sock *lsock;
    char port[8];
    int kind;
    uint64_t seed;
    pthread_t th;
};

static void fake_wait_close(sockit_sock *c, double secs)
{
    char buf[4096];
    sockit_settimeout(c, secs);
    double end = tu_now() + secs;
    while (tu_now() < end && sockit_recv(c, buf, sizeof buf, 0) > 0) {
    }
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    sockit_sock *c = NULL;
    if (sockit_accept(f->lsock, &c, NULL) < 0) return NULL;
    char hello[4096], junk[4096];
    sockit_settimeout(c, 2);
    if (f->kind != F_SILENT) (void)sockit_recv(c, hello, sizeof hello, 0); /* the ClientHello */
    switch (f->kind) {
    case F_HTTP:
        sockit_sendall(c, "HTTP/1.0 200 OK\r\n\r\n", 19, 0);
        fake_wait_close(c, 5);
        break;
    case F_SSH:
        sockit_sendall(c, "SSH-2.0-OpenSSH_9.6\r\n", 21, 0);
        fake_wait_close(c, 5);
        break;
    case F_SILENT: fake_wait_close(c, 5); break;
    case F_GARBAGE:
        tu_fill(junk, sizeof junk, f->seed);
        sockit_sendall(c, junk, sizeof junk, 0);
        fake_wait_close(c, 5);
        break;
    case F_RECORD_GARBAGE: /* a well-formed handshake record header, then noise */
        tu_fill(junk, sizeof junk, f->seed);
        junk[0] = 0x16, junk[1] = 0x03, junk[2] = 0x03;
        junk[3] = (char)((sizeof junk - 5) >> 8), junk[4] = (char)((sizeof junk - 5) & 0xff);
        sockit_sendall(c, junk, sizeof junk, 0);
        fake_wait_close(c, 5);
        break;
    case F_RESET: {
        struct linger lg = {1, 0};
        sockit_setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        break;
    }
    default: break; /* F_CLOSE: close after reading the hello */
    }
    sockit_close(c);
    return NULL;
}

static int fake_start(struct fake *f, int kind, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->seed = seed;
    f->lsock = listener(f->port);
    if (!f->lsock) return -1;
    return pthread_create(&f->th, NULL, fake_main, f) == 0 ? 0 : -1;
}

static void fake_join(struct fake *f)
{
    pthread_join(f->th, NULL);
    sockit_close(f->lsock);
}

/* A proxy between one client and an upstream port that forwards at most limit_up bytes upward and
 * limit_down bytes downward; at a limit it closes both sides (stall 0) or stops forwarding and
 * holds the connection open until the client goes (stall 1). */
struct proxy {
    sockit_sock *lsock;
    char port[8];
    const char *up_port;
    size_t limit_up, limit_down;
    int stall;
    pthread_t th;
};

/* Forwards one read from `from` to `to` within *left; 0 to go on, 1 at a limit, -1 when closed. */
static int proxy_step(int from, int to, size_t *left, int stalled)
{
    char buf[16384];
    ssize_t n = recv(from, buf, sizeof buf, 0);
    if (n <= 0) return -1;
    if (stalled) return 0; /* swallowed */
    size_t k = (size_t)n < *left ? (size_t)n : *left;
    if (k && send(to, buf, k, MSG_NOSIGNAL) != (ssize_t)k) return -1;
    *left -= k;
    return *left == 0 ? 1 : 0;
}

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    sockit_sock *c = NULL, *u = NULL;
    if (sockit_accept(p->lsock, &c, NULL) < 0) return NULL;
    if (sockit_create_connection(&u, "127.0.0.1", p->up_port, 5) < 0) {
        sockit_close(c);
        return NULL;
    }
    size_t left[2] = {p->limit_up, p->limit_down};
    int stalled = 0;
    struct pollfd pf[2] = {{sockit_fileno(c), POLLIN, 0}, {sockit_fileno(u), POLLIN, 0}};
    double end = tu_now() + 10;
    while (tu_now() < end) {
        if (poll(pf, 2, 100) <= 0) continue;
        int r = 0;
        if (pf[0].revents) r = proxy_step(pf[0].fd, pf[1].fd, &left[0], stalled);
        if (r == 0 && pf[1].revents) r = proxy_step(pf[1].fd, pf[0].fd, &left[1], stalled);
        if (r < 0 || (r == 1 && !p->stall)) break;
        if (r == 1) stalled = 1;
    }
    sockit_close(u);
    sockit_close(c);
    return NULL;
}

static int proxy_start(struct proxy *p, const char *up_port, size_t limit_up, size_t limit_down,
                       int stall)
{
    memset(p, 0, sizeof *p);
    p->up_port = up_port;
    p->limit_up = limit_up;
    p->limit_down = limit_down;
    p->stall = stall;
    p->lsock = listener(p->port);
    if (!p->lsock) return -1;
    return pthread_create(&p->th, NULL, proxy_main, p) == 0 ? 0 : -1;
}

static void proxy_join(struct proxy *p)
{
    pthread_join(p->th, NULL);
    sockit_close(p->lsock);
}

/* ================================================================================================
 * Contexts and misuse
 * ============================================================================================== */

static void test_ctx_errors(void)
{
    sockit_tls_ctx *ctx = NULL;
    sockit_tls_opts o = {.server = 1};
    CHECK_CODE(sockit_tls_ctx_new(&ctx, &o), -EINVAL); /* a server needs cert and key */

    /* A file that cannot be read is the OS's code and reason, naming the file (issue 7: not
     * "system lib"), so a program can tell "cannot read a local file" from bad content. */
    o = (sockit_tls_opts){.server = 1, .cert = "/nonexistent/server.pem", .key = C.srv_key};
    CHECK_CODE(sockit_tls_ctx_new(&ctx, &o), -ENOENT);
    CHECK_STR(sockit_errmsg(), "tls: load certificate /nonexistent/server.pem: No such file or directory");

    o = (sockit_tls_opts){.server = 1, .cert = C.srv, .key = "/nonexistent/server.key"};
    CHECK_CODE(sockit_tls_ctx_new(&ctx, &o), -ENOENT);
    CHECK_STR(sockit_errmsg(), "tls: load key /nonexistent/server.key: No such file or directory");

    o = (sockit_tls_opts){.server = 1, .cert = "/tmp", .key = C.srv_key}; /* a directory */
    CHECK_CODE(sockit_tls_ctx_new(&ctx, &o), -EISDIR);
    CHECK_STR(sockit_errmsg(), "tls: load certificate /tmp: Is a directory");

    o = (sockit_tls_opts){.capath = C.srv}; /* a file where a directory is expected */
    CHECK_CODE(sockit_tls_ctx_new(&ctx, &o), -ENOTDIR);
    CHECK_CONTAINS(sockit_errmsg(), C.srv);
    CHECK_CONTAINS(sockit_errmsg(), "Not a directory");

    o = (sockit_tls_opts){.server = 1, .cert = C.srv, .key = C.other_key}; /* not its key */
    CHECK_CODE(sockit_tls_ctx_new(&ctx, &o), SOCKIT_ETLS);
    CHECK_CONTAINS(sockit_errmsg(), C.other_key);
    CHECK_CONTAINS(sockit_errmsg(), "mismatch");

    o = (sockit_tls_opts){.server = 1, .cert = C.ca_key, .key = C.srv_key}; /* a key as a cert */
    CHECK_CODE(sockit_tls_ctx_new(&ctx, &o), SOCKIT_ETLS);
    CHECK_CONTAINS(sockit_errmsg(), C.ca_key);

    o = (sockit_tls_opts){.cafile = "/nonexistent/ca.pem"};
    CHECK_CODE(sockit_tls_ctx_new(&ctx, &o), -ENOENT);
    CHECK_STR(sockit_errmsg(), "tls: load CA /nonexistent/ca.pem: No such file or directory");

    o = (sockit_tls_opts){.cafile = C.srv_key}; /* readable, but no certificate in it */
    CHECK_CODE(sockit_tls_ctx_new(&ctx, &o), SOCKIT_ETLS);
    CHECK_CONTAINS(sockit_errmsg(), C.srv_key);
    CHECK_TRUE(!strstr(sockit_errmsg(), "system lib"));

    const char *bad_alpn[] = {",", "h2,,http/1.1", ",h2"};
    for (size_t i = 0; i < sizeof bad_alpn / sizeof *bad_alpn; i++) {
        TU_CTX("alpn %s", tu_esc(bad_alpn[i]));
        o = (sockit_tls_opts){.alpn = bad_alpn[i]};
        CHECK_CODE(sockit_tls_ctx_new(&ctx, &o), -EINVAL);
    }
    char longproto[300];
    memset(longproto, 'a', sizeof longproto - 1);
    longproto[sizeof longproto - 1] = '\0';
    o = (sockit_tls_opts){.alpn = longproto};
    CHECK_CODE(sockit_tls_ctx_new(&ctx, &o), -EINVAL);
    TU_CTX("valid contexts");

    /* Valid ones, freed in any order; NULL is a no-op. */
    sockit_tls_ctx *a = client_ctx(NULL, 0, NULL, 0, 0); /* the system store */
    sockit_tls_ctx *b = client_ctx(C.ca, 0, "h2,http/1.1", 1, 13);
    sockit_tls_ctx *s = server_ctx("http/1.1", 0);
    CHECK_TRUE(a && b && s);
    sockit_tls_ctx_free(b);
    sockit_tls_ctx_free(a);
    sockit_tls_ctx_free(s);
    sockit_tls_ctx_free(NULL);
}

struct accept_job {
    sockit_sock *s;
    sockit_tls_ctx *ctx;
    int rc;
};

/* tls_accept on an existing socket, then waits for the peer to close. */
static void *accept_one(void *arg)
{
    struct accept_job *j = arg;
    char buf[8];
    j->rc = sockit_tls_accept(j->s, j->ctx);
    if (j->rc == 0) (void)sockit_recv(j->s, buf, sizeof buf, 0);
    return NULL;
}

static void test_misuse(void)
{
    sockit_tls_ctx *cli = client_ctx(C.ca, 0, NULL, 0, 0);
    sockit_tls_ctx *srv = server_ctx(NULL, 0);
    sockit_sock *a = NULL, *b = NULL;
    CHECK_OK(sockit_socketpair(&a, &b, AF_UNIX, SOCK_STREAM));
    if (!a || !cli || !srv) goto out;

    /* A plain socket: nothing to report, nothing to shut down. */
    CHECK_INT(sockit_tls_active(a), ==, 0);
    CHECK_INT(sockit_tls_pending(a), ==, 0);
    CHECK_TRUE(sockit_tls_alpn(a) == NULL);
    CHECK_TRUE(sockit_tls_version(a) == NULL);
    CHECK_TRUE(sockit_tls_cipher(a) == NULL);
    CHECK_INT(sockit_tls_resumed(a), ==, 0);
    CHECK_CODE(sockit_tls_shutdown(a), -EINVAL);
    CHECK_CODE(sockit_tls_unwrap(a), -EINVAL);

    /* Wrong kind of context, missing host, no context. */
    CHECK_CODE(sockit_tls_connect(a, srv, "localhost"), -EINVAL);
    CHECK_CODE(sockit_tls_accept(a, cli), -EINVAL);
    CHECK_CODE(sockit_tls_connect(a, cli, NULL), -EINVAL);
    CHECK_CODE(sockit_tls_connect(a, cli, ""), -EINVAL);
    CHECK_CODE(sockit_tls_connect(a, NULL, "localhost"), -EINVAL);

    /* A datagram socket cannot speak TLS. */
    sockit_sock *u = NULL;
    CHECK_OK(sockit_socket(&u, AF_INET, SOCK_DGRAM, 0));
    if (u) CHECK_CODE(sockit_tls_connect(u, cli, "localhost"), -EPROTOTYPE);
    sockit_close(u);

    /* Non-blocking: the handshake cannot wait, so it says so, and the socket stays plain. */
    sockit_settimeout(a, 0);
    CHECK_CODE(sockit_tls_connect(a, cli, "localhost"), -EAGAIN);
    CHECK_CONTAINS(sockit_errmsg(), "non-blocking");
    CHECK_INT(sockit_tls_active(a), ==, 0);

    /* Already TLS: a second wrap is refused. A sockit pair over a socketpair. */
    sockit_sock *x = NULL, *y = NULL;
    CHECK_OK(sockit_socketpair(&x, &y, AF_UNIX, SOCK_STREAM));
    if (x && y) {
        struct accept_job j = {y, srv, 1};
        pthread_t th;
        sockit_settimeout(x, 5);
        sockit_settimeout(y, 5);
        pthread_create(&th, NULL, accept_one, &j);
        CHECK_OK(sockit_tls_connect(x, cli, "localhost"));
        CHECK_INT(sockit_tls_active(x), ==, 1);
        CHECK_CODE(sockit_tls_connect(x, cli, "localhost"), -EALREADY);
        CHECK_CODE(sockit_tls_accept(x, srv), -EALREADY);
        CHECK_INT(sockit_tls_active(x), ==, 1);
        sockit_close(x);
        x = NULL;
        pthread_join(th, NULL);
        CHECK_OK(j.rc);
    }
    sockit_close(x);
    sockit_close(y);
out:
    sockit_close(a);
    sockit_close(b);
    sockit_tls_ctx_free(cli);
    sockit_tls_ctx_free(srv);
}

/* ================================================================================================
 * Client against openssl s_server
 * ============================================================================================== */

static void test_client_valid(void)
{
    sockit_tls_ctx *ctx = client_ctx(C.ca, 0, "h2,http/1.1", 0, 0);
    const char *hosts[] = {"localhost", "127.0.0.1", "LOCALHOST"};
    for (size_t i = 0; ctx && i < sizeof hosts / sizeof *hosts; i++) {
        TU_CTX("host %s", hosts[i]);
        sockit_sock *s;
        int r = tls_dial(&s, P_srv, ctx, hosts[i], 10);
        CHECK_OK(r);
        if (r == 0) {
            CHECK_INT(sockit_tls_active(s), ==, 1);
            CHECK_STR(sockit_tls_version(s), "TLSv1.3");
            CHECK_CONTAINS(sockit_tls_cipher(s), "TLS_");
            CHECK_STR(sockit_tls_alpn(s), "http/1.1"); /* s_server -alpn http/1.1 */
            CHECK_OK(sockit_sendall(s, "hello tls\n", 10, 0));
            sockit_reader *rd = NULL;
            CHECK_OK(sockit_reader_new(&rd, s, 0));
            char line[64] = "";
            if (rd) CHECK_INT(sockit_reader_getline(rd, line, sizeof line, 0), ==, 10);
            CHECK_STR(line, "slt olleh\n"); /* -rev */
            sockit_reader_free(rd);
        }
        sockit_close(s);
    }
    sockit_tls_ctx_free(ctx);
}

struct badcase {
    const char *name;
    const char *port_of; /* which s_server */
    const char *host;
    int trust;           /* 0: the test CA, 1: only the self-signed cert, 2: insecure */
    int code;
    const char *msg;     /* the exact sockit_errmsg(), or NULL on success */
};

static void test_client_bad_certs(void)
{
    const struct badcase cases[] = {
        {"valid", P_srv, "localhost", 0, 0, NULL},
        {"valid by IP", P_srv, "127.0.0.1", 0, 0, NULL},
        {"self-signed", P_self, "localhost", 0, SOCKIT_ETLS,
         "tls handshake with localhost: certificate verify failed: self-signed certificate"},
        {"other host", P_other, "localhost", 0, SOCKIT_ETLS,
         "tls handshake with localhost: host name mismatch: the certificate is for other.test"},
        {"wrong name", P_srv, "wrong.test", 0, SOCKIT_ETLS,
         "tls handshake with wrong.test: host name mismatch: the certificate is for localhost, "
         "127.0.0.1"},
        {"wrong IP", P_srv, "127.0.0.2", 0, SOCKIT_ETLS,
         "tls handshake with 127.0.0.2: host name mismatch: the certificate is for localhost, "
         "127.0.0.1"},
        {"expired", P_expired, "localhost", 0, SOCKIT_ETLS,
         "tls handshake with localhost: certificate verify failed: certificate has expired"},
        {"unknown CA", P_srv, "localhost", 1, SOCKIT_ETLS,
         "tls handshake with localhost: certificate verify failed: unable to get local issuer "
         "certificate"},
        {"insecure self-signed", P_self, "localhost", 2, 0, NULL},
        {"insecure other", P_other, "localhost", 2, 0, NULL},
        {"insecure expired", P_expired, "localhost", 2, 0, NULL},
        {"insecure wrong name", P_srv, "wrong.test", 2, 0, NULL},
        {"insecure no host", P_self, NULL, 2, 0, NULL},
    };
    sockit_tls_ctx *ctxs[3] = {client_ctx(C.ca, 0, NULL, 1, 0), client_ctx(C.self, 0, NULL, 1, 0),
                               client_ctx(NULL, 1, NULL, 1, 0)};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct badcase *k = &cases[i];
        TU_CTX("%s (host %s)", k->name, k->host ? k->host : "NULL");
        sockit_sock *s = NULL;
        double t0 = tu_now();
        int r = tls_dial(&s, k->port_of, ctxs[k->trust], k->host, 10);
        CHECK_CODE(r, k->code);
        CHECK_DBL(tu_now() - t0, <, 5);
        if (k->msg) CHECK_STR(sockit_errmsg(), k->msg);
        if (s && r < 0) { /* left plain and connected */
            CHECK_INT(sockit_tls_active(s), ==, 0);
            CHECK_TRUE(tu_fd_open(sockit_fileno(s)));
        }
        if (s && r == 0) { /* and it works */
            char line[32] = "";
            CHECK_OK(sockit_sendall(s, "abc\n", 4, 0));
            CHECK_INT(recv_exact(s, line, 4), ==, 4);
            CHECK_MEM(line, "cba\n", 4);
        }
        sockit_close(s);
    }
    for (int i = 0; i < 3; i++) sockit_tls_ctx_free(ctxs[i]);
}

/* SNI: s_server serves srv.pem only to clients that ask for "localhost", else self.pem. */
static void test_client_sni(void)
{
    sockit_tls_ctx *ctx = client_ctx(C.ca, 0, NULL, 1, 0);
    sockit_sock *s;
    CHECK_OK(tls_dial(&s, P_sni, ctx, "localhost", 10));
    sockit_close(s);
    /* An IP literal is never sent as SNI (RFC 6066), so the default certificate comes. */
    CHECK_CODE(tls_dial(&s, P_sni, ctx, "127.0.0.1", 10), SOCKIT_ETLS);
    CHECK_CONTAINS(sockit_errmsg(), "self-signed certificate");
    sockit_close(s);
    sockit_tls_ctx_free(ctx);
}

static void test_client_versions(void)
{
    sockit_tls_ctx *any = client_ctx(C.ca, 0, NULL, 1, 0);
    sockit_tls_ctx *only13 = client_ctx(C.ca, 0, NULL, 1, 13);
    sockit_sock *s;
    CHECK_OK(tls_dial(&s, P_tls12, any, "localhost", 10));
    if (s) CHECK_STR(sockit_tls_version(s), "TLSv1.2");
    if (s) CHECK_CONTAINS(sockit_tls_cipher(s), "ECDHE-ECDSA");
    sockit_close(s);
    CHECK_CODE(tls_dial(&s, P_tls12, only13, "localhost", 10), SOCKIT_ETLS);
    CHECK_CONTAINS(sockit_errmsg(), "tls handshake with localhost: ");
    CHECK_INT(strlen(sockit_errmsg()), >, strlen("tls handshake with localhost: ") + 3);
    sockit_close(s);
    CHECK_OK(tls_dial(&s, P_tls13, only13, "localhost", 10));
    if (s) CHECK_STR(sockit_tls_version(s), "TLSv1.3");
    sockit_close(s);
    sockit_tls_ctx_free(any);
    sockit_tls_ctx_free(only13);
}

/* Client certificates: s_server -Verify 1 asks for one. */
static void test_client_cert(void)
{
    const char *v13[] = {"-rev", "-Verify", "1", "-CAfile", C.ca, "-verify_return_error", NULL};
    const char *v12[] = {"-rev", "-Verify", "1", "-CAfile", C.ca, "-verify_return_error",
                         "-tls1_2", NULL};
    const char *self12[] = {"-rev", "-Verify", "1", "-CAfile", C.ca, "-verify_return_error",
                            "-tls1_2", NULL};
    tlsu_child s13, s12, sself;
    char p13[8], p12[8], pself[8];
    int r = tlsu_s_server(&s13, C.dir, C.srv, C.srv_key, 0, v13, p13);
    r |= tlsu_s_server(&s12, C.dir, C.srv, C.srv_key, 0, v12, p12);
    r |= tlsu_s_server(&sself, C.dir, C.self, C.self_key, 0, self12, pself);
    CHECK_OK(r);
    sockit_tls_opts o = {.cafile = C.ca, .cert = C.srv, .key = C.srv_key, .no_resumption = 1};
    sockit_tls_ctx *with = NULL, *without = client_ctx(C.ca, 0, NULL, 1, 0);
    sockit_tls_ctx *insecure = client_ctx(NULL, 1, NULL, 1, 0);
    CHECK_OK(sockit_tls_ctx_new(&with, &o));
    const char *ports[] = {p13, p12};
    for (int i = 0; r == 0 && with && i < 2; i++) {
        TU_CTX("%s, with a client certificate", i ? "TLS 1.2" : "TLS 1.3");
        sockit_sock *s;
        char buf[8] = "";
        CHECK_OK(tls_dial(&s, ports[i], with, "localhost", 10));
        if (s && sockit_tls_active(s)) {
            CHECK_OK(sockit_sendall(s, "xyz\n", 4, 0));
            CHECK_INT(recv_exact(s, buf, 4), ==, 4);
            CHECK_MEM(buf, "zyx\n", 4);
        }
        sockit_close(s);
        TU_CTX("%s, without one", i ? "TLS 1.2" : "TLS 1.3");
        /* TLS 1.2 fails in the handshake; TLS 1.3 at the first read (the server's alert comes
         * after our Finished). Either way SOCKIT_ETLS, saying the peer refused. */
        int h = tls_dial(&s, ports[i], without, "localhost", 10);
        ssize_t n = h;
        if (h == 0) {
            sockit_sendall(s, "xyz\n", 4, 0);
            n = sockit_recv(s, buf, sizeof buf, 0);
        }
        CHECK_INT(n, ==, SOCKIT_ETLS);
        CHECK_CONTAINS(sockit_errmsg(), "(from the peer)");
        sockit_close(s);
    }
    /* Verification is off, so a refusal must not be blamed on the (unverified) certificate. */
    TU_CTX("insecure client, self-signed server that wants a client certificate, TLS 1.2");
    sockit_sock *s;
    CHECK_CODE(tls_dial(&s, pself, insecure, "localhost", 10), SOCKIT_ETLS);
    CHECK_TRUE(!strstr(sockit_errmsg(), "certificate verify failed"));
    CHECK_CONTAINS(sockit_errmsg(), "(from the peer)");
    sockit_close(s);
    sockit_tls_ctx_free(with);
    sockit_tls_ctx_free(without);
    sockit_tls_ctx_free(insecure);
    tlsu_kill(&s13);
    tlsu_kill(&s12);
    tlsu_kill(&sself);
}

/* ================================================================================================
 * Server against openssl s_client
 * ============================================================================================== */

static void test_server_vs_s_client(void)
{
    sockit_tls_ctx *ctx = server_ctx("http/1.1", 0);
    char port[8], connect[32];
    sockit_sock *l = listener(port);
    if (!ctx || !l) goto out;
    snprintf(connect, sizeof connect, "127.0.0.1:%s", port);
    char *argv[] = {"openssl", "s_client", "-connect", connect, "-CAfile", C.ca,
                    "-verify_return_error", "-verify_hostname", "localhost", "-servername",
                    "localhost", "-alpn", "h2,http/1.1", NULL}; /* not -quiet: it disables "K" */
    tlsu_child ch;
    if (tlsu_spawn(&ch, C.dir, "s_client", NULL, argv) < 0) {
        CHECK_TRUE(!"spawn s_client");
        goto out;
    }
    sockit_sock *c = NULL;
    sockit_addr peer;
    CHECK_OK(sockit_accept(l, &c, &peer));
    if (c) {
        sockit_settimeout(c, 10);
        CHECK_OK(sockit_tls_accept(c, ctx));
        CHECK_STR(sockit_tls_version(c), "TLSv1.3");
        CHECK_STR(sockit_tls_alpn(c), "http/1.1");
        CHECK_INT(sockit_tls_resumed(c), ==, 0);
        CHECK_OK(tlsu_feed(&ch, "ping from s_client\n", 19));
        sockit_reader *rd = NULL;
        CHECK_OK(sockit_reader_new(&rd, c, 0));
        char line[64] = "";
        if (rd) CHECK_INT(sockit_reader_getline(rd, line, sizeof line, 0), ==, 19);
        CHECK_STR(line, "ping from s_client\n");
        /* s_client's "K" command: a KeyUpdate that asks us to update ours too. */
        CHECK_OK(tlsu_feed(&ch, "K\n", 2));
        /* s_client reads its input line by line only when lines come apart: wait until it has
         * acted on "K" before the next line. */
        CHECK_INT(tlsu_wait_file(ch.err, "KEYUPDATE", 10), ==, 1);
        CHECK_OK(tlsu_feed(&ch, "after the key update\n", 21));
        memset(line, 0, sizeof line);
        if (rd) CHECK_INT(sockit_reader_getline(rd, line, sizeof line, 0), ==, 21);
        CHECK_STR(line, "after the key update\n");
        sockit_reader_free(rd);
        CHECK_OK(sockit_sendall(c, "pong from sockit\n", 17, 0));
        CHECK_OK(sockit_tls_shutdown(c)); /* s_client exits on our close_notify */
        size_t n;
        CHECK_INT(drain(c, 1024, &n), ==, 0);
        sockit_close(c);
    }
    CHECK_INT(tlsu_reap(&ch, 10), ==, 0);
    char out[16384];
    tlsu_slurp(ch.out, out, sizeof out);
    CHECK_CONTAINS(out, "Verify return code: 0 (ok)");
    CHECK_CONTAINS(out, "ALPN protocol: http/1.1");
    char err[4096];
    tlsu_slurp(ch.err, err, sizeof err);
    CHECK_CONTAINS(err, "KEYUPDATE"); /* s_client did send it */
    CHECK_CONTAINS(out, "\npong from sockit\n");
    tlsu_kill(&ch);
out:
    sockit_close(l);
    sockit_tls_ctx_free(ctx);
}

/* ================================================================================================
 * 64 MiB each way, by FNV-1a
 * ============================================================================================== */

/* sockit client -> openssl s_server -quiet, which writes what it decrypts to its stdout file. */
static void test_bulk_to_s_server(void)
{
    tlsu_child sv;
    char port[8];
    if (tlsu_s_server(&sv, C.dir, C.srv, C.srv_key, 1, NULL, port) < 0) {
        CHECK_TRUE(!"start s_server -quiet");
        return;
    }
    sockit_tls_ctx *ctx = client_ctx(C.ca, 0, NULL, 1, 0);
    sockit_sock *s = NULL;
    int rc = -1;
    uint64_t sent = 0;
    CHECK_OK(tls_dial(&s, port, ctx, "localhost", 30));
    if (s && sockit_tls_active(s)) {
        sent = send_stream(s, 11, BULK, &rc);
        CHECK_OK(rc);
        CHECK_OK(sockit_tls_shutdown(s));
        size_t n;
        (void)drain(s, 1024, &n);
    }
    sockit_close(s);
    double end = tu_now() + 20;
    while (tu_now() < end && tlsu_fsize(sv.out) < BULK) tu_sleep(0.01);
    long long size;
    uint64_t got = tlsu_file_hash(sv.out, &size);
    CHECK_INT(size, ==, BULK);
    CHECK_INT(got, ==, sent);
    tlsu_kill(&sv);
    unlink(sv.out);
    sockit_tls_ctx_free(ctx);
}

/* openssl s_client (stdin: the stream in a file) -> sockit server; and sockit -> s_client. */
static void test_bulk_with_s_client(void)
{
    char file[160], port[8], connect[32];
    snprintf(file, sizeof file, "%s/stream.bin", C.dir);
    CHECK_OK(tlsu_stream_file(file, 12, BULK));
    uint64_t expect = tlsu_stream_hash(12, BULK);
    sockit_tls_ctx *ctx = server_ctx(NULL, 0);
    sockit_sock *l = listener(port);
    snprintf(connect, sizeof connect, "127.0.0.1:%s", port);
    char *argv[] = {"openssl", "s_client", "-connect", connect, "-CAfile", C.ca,
                    "-verify_return_error", "-quiet", "-nocommands", NULL};
    for (int dir = 0; dir < 2 && l && ctx; dir++) {
        TU_CTX(dir == 0 ? "s_client -> sockit" : "sockit -> s_client");
        tlsu_child ch;
        if (tlsu_spawn(&ch, C.dir, "s_client", dir == 0 ? file : NULL, argv) < 0) break;
        sockit_sock *c = NULL;
        CHECK_OK(sockit_accept(l, &c, NULL));
        if (c) {
            sockit_settimeout(c, 30);
            CHECK_OK(sockit_tls_accept(c, ctx));
        }
        if (c && dir == 0) {
            char *buf = malloc(65536);
            uint64_t h = TU_FNV_INIT;
            size_t total = 0;
            while (buf && total < BULK) {
                ssize_t n = sockit_recv(c, buf, BULK - total < 65536 ? BULK - total : 65536, 0);
                if (n <= 0) break;
                h = tu_fnv1a(h, buf, (size_t)n);
                total += (size_t)n;
            }
            free(buf);
            CHECK_INT(total, ==, BULK);
            CHECK_INT(h, ==, expect);
        } else if (c) {
            int rc;
            uint64_t sent = send_stream(c, 12, BULK, &rc);
            CHECK_OK(rc);
            CHECK_INT(sent, ==, expect);
        }
        if (c) {
            CHECK_OK(sockit_tls_shutdown(c));
            size_t n;
            (void)drain(c, 1024, &n);
        }
        sockit_close(c);
        CHECK_INT(tlsu_reap(&ch, 20), ==, 0);
        if (dir == 1) {
            long long size;
            CHECK_INT(tlsu_file_hash(ch.out, &size), ==, expect);
            CHECK_INT(size, ==, BULK);
        }
        tlsu_kill(&ch);
        unlink(ch.out);
    }
    unlink(file);
    sockit_close(l);
    sockit_tls_ctx_free(ctx);
}

struct bulk_server {
    uint64_t hash, sent;
    size_t total;
    ssize_t last;
    int rc, shut;
};

/* Reads the stream to its end (the peer's close_notify), then sends one back and closes TLS. */
static void serve_bulk(sockit_sock *c, void *arg, int i)
{
    struct bulk_server *b = arg;
    b->last = recv_stream(c, &b->hash, &b->total);
    b->sent = send_stream(c, 22, BULK, &b->rc);
    b->shut = sockit_tls_shutdown(c);
}

static void test_bulk_sockit_both_ways(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 0), *cctx = client_ctx(C.ca, 0, NULL, 0, 0);
    struct bulk_server b = {0};
    struct tserver t;
    if (tserver_start(&t, sctx, 1, 30, serve_bulk, &b) < 0) goto out;
    sockit_sock *s = NULL;
    double t0 = tu_now();
    CHECK_OK(tls_dial(&s, t.port, cctx, "localhost", 30));
    if (s && sockit_tls_active(s)) {
        int rc;
        uint64_t sent = send_stream(s, 21, BULK, &rc);
        CHECK_OK(rc);
        CHECK_OK(sockit_tls_shutdown(s)); /* half-close: the server's stream still comes */
        uint64_t h;
        size_t total;
        CHECK_INT(recv_stream(s, &h, &total), ==, 0);
        CHECK_INT(total, ==, BULK);
        CHECK_INT(h, ==, tlsu_stream_hash(22, BULK));
        tserver_join(&t);
        CHECK_INT(b.last, ==, 0);
        CHECK_INT(b.total, ==, BULK);
        CHECK_INT(b.hash, ==, sent);
        CHECK_OK(b.rc);
        CHECK_OK(b.shut);
        printf("     128 MiB through sockit <-> sockit TLS in %.2f s\n", tu_now() - t0);
    }
    sockit_close(s);
    tserver_join(&t);
out:
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

/* ================================================================================================
 * Resumption and ALPN
 * ============================================================================================== */

/* One exchange on a fresh connection; its resumed flag (-1: it failed). shutdown_first: send
 * close_notify before closing. */
static int resume_probe(const char *port, sockit_tls_ctx *ctx, int shutdown_first)
{
    sockit_sock *s;
    int r = tls_dial(&s, port, ctx, "localhost", 10);
    CHECK_OK(r);
    int resumed = r == 0 ? sockit_tls_resumed(s) : -1;
    char line[16] = "";
    if (r == 0) {
        /* Read a reply: TLS 1.3 tickets come after the handshake, before it. */
        CHECK_OK(sockit_sendall(s, "hi\n", 3, 0));
        CHECK_INT(recv_exact(s, line, 3), ==, 3);
        if (shutdown_first) CHECK_OK(sockit_tls_shutdown(s));
    }
    sockit_close(s);
    return resumed;
}

static void test_resumption(void)
{
    struct { const char *name; int server_nores, client_nores, shut, expect; } cases[] = {
        {"default, close_notify before close", 0, 0, 1, 1},
        {"default, plain sockit_close", 0, 0, 0, 1},
        {"client no_resumption", 0, 1, 1, 0},
        {"server no_resumption", 1, 0, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TU_CTX("%s", cases[i].name);
        sockit_tls_ctx *sctx = server_ctx(NULL, cases[i].server_nores);
        sockit_tls_ctx *cctx = client_ctx(C.ca, 0, NULL, cases[i].client_nores, 0);
        struct tserver t;
        if (tserver_start(&t, sctx, 3, 10, serve_echo_line, NULL) == 0) {
            CHECK_INT(resume_probe(t.port, cctx, cases[i].shut), ==, 0);
            CHECK_INT(resume_probe(t.port, cctx, cases[i].shut), ==, cases[i].expect);
            CHECK_INT(resume_probe(t.port, cctx, cases[i].shut), ==, cases[i].expect);
            tserver_join(&t);
            CHECK_INT(t.resumed[0], ==, 0);
            CHECK_INT(t.resumed[1], ==, cases[i].expect); /* the server agrees */
        }
        sockit_tls_ctx_free(sctx);
        sockit_tls_ctx_free(cctx);
    }

    /* Against OpenSSL's server, TLS 1.3 and TLS 1.2 (whose ticket comes inside the handshake). */
    struct { const char *name; const char *port; } peers[] = {{"s_server TLS 1.3", P_srv},
                                                               {"s_server TLS 1.2", P_tls12}};
    for (size_t i = 0; i < 2; i++) {
        TU_CTX("%s", peers[i].name);
        sockit_tls_ctx *cctx = client_ctx(C.ca, 0, NULL, 0, 0);
        sockit_sock *s;
        CHECK_OK(tls_dial(&s, peers[i].port, cctx, "localhost", 10));
        char line[8];
        if (s && sockit_tls_active(s)) {
            CHECK_INT(sockit_tls_resumed(s), ==, 0);
            CHECK_OK(sockit_sendall(s, "ab\n", 3, 0));
            CHECK_INT(recv_exact(s, line, 3), ==, 3);
            CHECK_OK(sockit_tls_shutdown(s));
        }
        sockit_close(s);
        CHECK_OK(tls_dial(&s, peers[i].port, cctx, "localhost", 10));
        if (s && sockit_tls_active(s)) {
            CHECK_INT(sockit_tls_resumed(s), ==, 1);
            CHECK_OK(sockit_sendall(s, "ab\n", 3, 0)); /* the resumed session works */
            CHECK_INT(recv_exact(s, line, 3), ==, 3);
            CHECK_MEM(line, "ba\n", 3);
        }
        sockit_close(s);
        sockit_tls_ctx_free(cctx);
    }
}

static void test_alpn(void)
{
    struct { const char *client, *server, *expect; } cases[] = {
        {"h2,http/1.1", "http/1.1", "http/1.1"},
        {"h2,http/1.1", "h2,http/1.1", "h2"},
        {"http/1.1,h2", "h2,http/1.1", "h2"},   /* the server's preference wins */
        {"h2", "http/1.1", ""},                 /* no overlap: no ALPN, no failure */
        {NULL, "http/1.1", ""},
        {"h2,http/1.1", NULL, ""},
        {"h2,", "h2", "h2"},                    /* a trailing comma is harmless */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TU_CTX("client %s, server %s", tu_esc(cases[i].client), tu_esc(cases[i].server));
        sockit_tls_ctx *sctx = server_ctx(cases[i].server, 1);
        sockit_tls_ctx *cctx = client_ctx(C.ca, 0, cases[i].client, 1, 0);
        struct tserver t;
        if (!sctx || !cctx || tserver_start(&t, sctx, 1, 10, serve_echo_line, NULL) < 0) {
            sockit_tls_ctx_free(sctx);
            sockit_tls_ctx_free(cctx);
            continue;
        }
        sockit_sock *s;
        CHECK_OK(tls_dial(&s, t.port, cctx, "localhost", 10));
        if (s && sockit_tls_active(s)) {
            CHECK_STR(sockit_tls_alpn(s), cases[i].expect);
            char line[8];
            CHECK_OK(sockit_sendall(s, "x\n", 2, 0));
            CHECK_INT(recv_exact(s, line, 2), ==, 2);
        }
        sockit_close(s);
        tserver_join(&t);
        CHECK_OK(t.rc[0]);
        CHECK_STR(t.alpn[0], cases[i].expect);
        sockit_tls_ctx_free(sctx);
        sockit_tls_ctx_free(cctx);
    }
}

/* ================================================================================================
 * Bad peers: plain text, silence, garbage, closing, stalling — on both sides
 * ============================================================================================== */

static void test_bad_servers(void)
{
    struct { const char *name; int kind; uint64_t seed; int code; const char *msg; double max; } cases[] = {
        {"plain-text HTTP", F_HTTP, 0, SOCKIT_ETLS,
         "tls handshake with localhost: the peer is not speaking TLS", 2},
        {"plain-text SSH", F_SSH, 0, SOCKIT_ETLS,
         "tls handshake with localhost: the peer is not speaking TLS", 2},
        {"garbage 1", F_GARBAGE, 1, SOCKIT_ETLS, NULL, 2},
        {"garbage 2", F_GARBAGE, 2, SOCKIT_ETLS, NULL, 2},
        {"garbage 3", F_GARBAGE, 3, SOCKIT_ETLS, NULL, 2},
        {"garbage 4", F_GARBAGE, 4, SOCKIT_ETLS, NULL, 2},
        {"garbage in a handshake record", F_RECORD_GARBAGE, 5, SOCKIT_ETLS, NULL, 2},
        {"closes after the ClientHello", F_CLOSE, 0, SOCKIT_ETLS, "closed", 2},
        {"resets after the ClientHello", F_RESET, 0, -ECONNRESET, NULL, 2},
        {"silent", F_SILENT, 0, -ETIMEDOUT, "tls handshake with localhost: timed out", 2},
    };
    sockit_tls_ctx *ctx = client_ctx(C.ca, 0, NULL, 1, 0);
    for (size_t i = 0; ctx && i < sizeof cases / sizeof *cases; i++) {
        TU_CTX("%s", cases[i].name);
        struct fake f;
        if (fake_start(&f, cases[i].kind, cases[i].seed) < 0) continue;
        sockit_sock *s;
        double t0 = tu_now();
        int r = tls_dial(&s, f.port, ctx, "localhost", 0.5);
        double took = tu_now() - t0;
        CHECK_CODE(r, cases[i].code);
        if (cases[i].msg && strchr(cases[i].msg, ' ')) CHECK_STR(sockit_errmsg(), cases[i].msg);
        else if (cases[i].msg) CHECK_CONTAINS(sockit_errmsg(), cases[i].msg);
        else CHECK_CONTAINS(sockit_errmsg(), "tls handshake with localhost: ");
        CHECK_DBL(took, <, cases[i].max);
        if (cases[i].code == -ETIMEDOUT) CHECK_DBL(took, >=, 0.4);
        if (s) CHECK_INT(sockit_tls_active(s), ==, 0);
        sockit_close(s);
        fake_join(&f);
    }
    sockit_tls_ctx_free(ctx);
}

/* A real sockit server behind a proxy that cuts or stalls its first flight part way. */
static void test_server_stops_mid_handshake(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 1), *cctx = client_ctx(C.ca, 0, NULL, 1, 0);
    const size_t cuts[] = {3, 100, 400};
    for (int stall = 0; stall < 2; stall++) {
        for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
            TU_CTX("server flight cut after %zu bytes, then %s", cuts[i], stall ? "silence" : "close");
            struct tserver t;
            struct proxy p;
            if (tserver_start(&t, sctx, 1, 3, NULL, NULL) < 0) continue;
            if (proxy_start(&p, t.port, SIZE_MAX, cuts[i], stall) < 0) {
                tserver_join(&t);
                continue;
            }
            sockit_sock *s;
            double t0 = tu_now();
            int r = tls_dial(&s, p.port, cctx, "localhost", 0.5);
            double took = tu_now() - t0;
            if (stall) {
                CHECK_CODE(r, -ETIMEDOUT);
                CHECK_DBL(took, >=, 0.4);
                CHECK_STR(sockit_errmsg(), "tls handshake with localhost: timed out");
            } else {
                CHECK_CODE(r, SOCKIT_ETLS);
                CHECK_CONTAINS(sockit_errmsg(), "closed");
            }
            CHECK_DBL(took, <, 2);
            sockit_close(s);
            proxy_join(&p);
            tserver_join(&t);
        }
    }
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

/* The server side: tls_accept against bad clients. */
static void test_bad_clients(void)
{
    /* The start of a ClientHello whose record announces 200 bytes. */
    static const unsigned char hello_start[] = {0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00,
                                                0xc4, 0x03, 0x03, 1, 2, 3, 4, 5, 6, 7, 8};
    char junk[4096];
    struct { const char *name; const void *data; size_t len; int then_close; int code; const char *msg; } cases[] = {
        {"plain-text HTTP", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", 35, 0, SOCKIT_ETLS,
         "the peer is not speaking TLS"},
        {"garbage", junk, sizeof junk, 0, SOCKIT_ETLS, NULL},
        {"half a ClientHello, then close", hello_start, sizeof hello_start, 1, SOCKIT_ETLS, "closed"},
        {"half a ClientHello, then silence", hello_start, sizeof hello_start, 0, -ETIMEDOUT,
         "timed out"},
        {"connects and closes", "", 0, 1, SOCKIT_ETLS, "closed"},
        {"silent", "", 0, 0, -ETIMEDOUT, "timed out"},
    };
    tu_fill(junk, sizeof junk, 77);
    sockit_tls_ctx *ctx = server_ctx(NULL, 1);
    for (size_t i = 0; ctx && i < sizeof cases / sizeof *cases; i++) {
        TU_CTX("%s", cases[i].name);
        struct tserver t;
        if (tserver_start(&t, ctx, 1, 0.5, NULL, NULL) < 0) continue;
        sockit_sock *c = NULL;
        CHECK_OK(sockit_create_connection(&c, "127.0.0.1", t.port, 5));
        double t0 = tu_now();
        if (c && cases[i].len) CHECK_OK(sockit_sendall(c, cases[i].data, cases[i].len, 0));
        if (c && cases[i].then_close) {
            sockit_close(c);
            c = NULL;
        }
        tserver_join(&t); /* the handshake ended one way or the other */
        double took = tu_now() - t0;
        CHECK_CODE(t.rc[0], cases[i].code);
        CHECK_CONTAINS(t.msg[0], "tls handshake with 127.0.0.1:");
        if (cases[i].msg) CHECK_CONTAINS(t.msg[0], cases[i].msg);
        CHECK_DBL(took, <, 2);
        if (cases[i].code == -ETIMEDOUT) CHECK_DBL(took, >=, 0.4);
        sockit_close(c);
    }
    sockit_tls_ctx_free(ctx);
}

/* ================================================================================================
 * unwrap, half-close, the reader, recv flags, EPIPE, timeouts
 * ============================================================================================== */

struct unwrap_arg {
    int unwrap_rc, plain_ok, active_after;
    char got[64];
};

static void serve_unwrap(sockit_sock *c, void *arg, int i)
{
    struct unwrap_arg *u = arg;
    char buf[64];
    if (recv_exact(c, buf, 7) != 7 || memcmp(buf, "before\n", 7)) return;
    sockit_sendall(c, "ack\n", 4, 0);
    /* The client unwraps first: wait until its close_notify is waiting for us. */
    struct pollfd pf = {.fd = sockit_fileno(c), .events = POLLIN};
    poll(&pf, 1, 5000);
    u->unwrap_rc = sockit_tls_unwrap(c);
    u->active_after = sockit_tls_active(c);
    /* Plain text right behind our close_notify: the client must not lose it. */
    u->plain_ok = sockit_sendall(c, "plain from server\n", 18, 0) == 0;
    ssize_t n = recv_exact(c, u->got, 18);
    if (n >= 0) u->got[n] = '\0';
}

static void serve_sleep(sockit_sock *c, void *arg, int i);

static void test_unwrap(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 1), *cctx = client_ctx(C.ca, 0, NULL, 1, 0);
    struct unwrap_arg u = {.unwrap_rc = 1};
    struct tserver t;
    if (tserver_start(&t, sctx, 1, 5, serve_unwrap, &u) < 0) goto out;
    sockit_sock *s;
    CHECK_OK(tls_dial(&s, t.port, cctx, "localhost", 5));
    if (s && sockit_tls_active(s)) {
        char buf[64] = "";
        CHECK_OK(sockit_sendall(s, "before\n", 7, 0));
        CHECK_INT(recv_exact(s, buf, 4), ==, 4);
        CHECK_OK(sockit_tls_unwrap(s));
        CHECK_INT(sockit_tls_active(s), ==, 0);
        CHECK_TRUE(sockit_tls_version(s) == NULL);
        CHECK_INT(recv_exact(s, buf, 18), ==, 18); /* waits for it, within the timeout */
        CHECK_MEM(buf, "plain from server\n", 18);
        CHECK_OK(sockit_sendall(s, "plain from client\n", 18, 0));
        /* Plain for real: the bytes on the wire are the text itself (the server read them raw). */
    }
    sockit_close(s);
    tserver_join(&t);
    CHECK_OK(u.unwrap_rc);
    CHECK_INT(u.active_after, ==, 0);
    CHECK_TRUE(u.plain_ok);
    CHECK_STR(u.got, "plain from client\n");

    /* A peer that never answers close_notify (nor closes): unwrap gives up at the timeout. */
    struct tserver t2;
    if (tserver_start(&t2, sctx, 1, 5, serve_sleep, NULL) == 0) {
        CHECK_OK(tls_dial(&s, t2.port, cctx, "localhost", 5));
        if (s && sockit_tls_active(s)) {
            sockit_settimeout(s, 0.3);
            double t0 = tu_now();
            CHECK_CODE(sockit_tls_unwrap(s), -ETIMEDOUT);
            CHECK_DBL(tu_now() - t0, <, 2);
            CHECK_INT(sockit_tls_active(s), ==, 1); /* still TLS */
        }
        sockit_close(s);
        tserver_join(&t2);
    }
out:
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

/* Holds the connection open for a second, reading nothing. */
static void serve_sleep(sockit_sock *c, void *arg, int i)
{
    tu_sleep(1.0);
}

struct half_arg {
    char got[64];
    ssize_t eof;
    int reply;
};

static void serve_half_close(sockit_sock *c, void *arg, int i)
{
    struct half_arg *h = arg;
    ssize_t n = recv_exact(c, h->got, 8);
    if (n >= 0) h->got[n] = '\0';
    char b[8];
    h->eof = sockit_recv(c, b, sizeof b, 0); /* the client's close_notify: 0 */
    char big[100000];
    memset(big, 'r', sizeof big);
    h->reply = sockit_sendall(c, "response\n", 9, 0) | sockit_sendall(c, big, sizeof big, 0);
    sockit_tls_shutdown(c);
}

static void test_half_close(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 1), *cctx = client_ctx(C.ca, 0, NULL, 1, 0);
    struct half_arg h = {.eof = 1, .reply = 1};
    struct tserver t;
    if (tserver_start(&t, sctx, 1, 5, serve_half_close, &h) < 0) goto out;
    sockit_sock *s;
    CHECK_OK(tls_dial(&s, t.port, cctx, "localhost", 5));
    if (s && sockit_tls_active(s)) {
        CHECK_OK(sockit_sendall(s, "request\n", 8, 0));
        CHECK_OK(sockit_tls_shutdown(s));
        CHECK_INT(sockit_tls_active(s), ==, 1);
        /* Our sending side is closed: a send fails cleanly, without a signal. */
        ssize_t w = sockit_send(s, "late", 4, 0);
        CHECK_INT(w, <, 0);
        char buf[16] = "";
        CHECK_INT(recv_exact(s, buf, 9), ==, 9);
        CHECK_MEM(buf, "response\n", 9);
        size_t n;
        CHECK_INT(drain(s, 200000, &n), ==, 0);
        CHECK_INT(n, ==, 100000);
    }
    sockit_close(s);
    tserver_join(&t);
    CHECK_STR(h.got, "request\n");
    CHECK_INT(h.eof, ==, 0);
    CHECK_OK(h.reply);
out:
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

#define NLINES 1000

static size_t make_line(char *buf, int i)
{
    int n = snprintf(buf, 64, "line %d ", i);
    memset(buf + n, 'a' + i % 26, (size_t)(i % 97));
    buf[n + i % 97] = '\n';
    return (size_t)n + (size_t)(i % 97) + 1;
}

static void serve_lines(sockit_sock *c, void *arg, int i)
{
    /* Lines sent in pieces of odd sizes, so that records split lines anywhere. */
    char *all = malloc(NLINES * 128 + 20000 + 100000);
    if (!all) return;
    size_t len = 0;
    for (int k = 0; k < NLINES; k++) len += make_line(all + len, k);
    memset(all + len, 'L', 12000); /* one long line across records */
    len += 12000;
    all[len++] = '\n';
    tu_fill(all + len, 100000, 5); /* then a block for read_exact */
    len += 100000;
    for (size_t off = 0, step = 1; off < len; off += step, step = step * 7 % 1499 + 1) {
        if (step > len - off) step = len - off;
        if (sockit_sendall(c, all + off, step, 0) < 0) break;
    }
    free(all);
    sockit_tls_shutdown(c);
}

static void test_reader(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 1), *cctx = client_ctx(C.ca, 0, NULL, 1, 0);
    struct tserver t;
    if (tserver_start(&t, sctx, 1, 10, serve_lines, NULL) < 0) goto out;
    sockit_sock *s;
    CHECK_OK(tls_dial(&s, t.port, cctx, "localhost", 10));
    sockit_reader *rd = NULL;
    if (s && sockit_tls_active(s)) CHECK_OK(sockit_reader_new(&rd, s, 16384));
    if (rd) {
        int bad = 0;
        for (int k = 0; k < NLINES && !bad; k++) {
            char want[160];
            size_t wl = make_line(want, k);
            const char *line;
            ssize_t n = sockit_reader_line(rd, &line, 0);
            if (n != (ssize_t)wl || memcmp(line, want, wl)) {
                TU_CTX("line %d", k);
                CHECK_INT(n, ==, wl);
                bad = 1;
            }
        }
        CHECK_INT(bad, ==, 0);
        const char *line;
        CHECK_INT(sockit_reader_line(rd, &line, 0), ==, 12001);
        char *block = malloc(100000), *want = malloc(100000);
        size_t got = 0;
        if (block && want) {
            tu_fill(want, 100000, 5);
            CHECK_INT(sockit_reader_read_exact(rd, block, 100000, &got), ==, 100000);
            CHECK_MEM(block, want, 100000);
        }
        free(block);
        free(want);
        CHECK_INT(sockit_reader_line(rd, &line, 0), ==, 0); /* close_notify: end of stream */
    }
    sockit_reader_free(rd);
    sockit_close(s);
    tserver_join(&t);
out:
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

static void serve_flags(sockit_sock *c, void *arg, int i)
{
    char b[4];
    sockit_sendall(c, "a\nb\n", 4, 0);
    sockit_sendall(c, "peekdata", 8, 0);
    if (recv_exact(c, b, 1) != 1) return; /* go */
    sockit_sendall(c, "0123456789", 10, 0);
    tu_sleep(0.2);
    sockit_sendall(c, "abcdefghij", 10, 0);
    (void)recv_exact(c, b, 1); /* wait for the client to finish */
}

/* recv over TLS: pending bytes, MSG_PEEK, MSG_DONTWAIT and MSG_WAITALL as on a plain socket. */
static void test_recv_flags(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 1), *cctx = client_ctx(C.ca, 0, NULL, 1, 0);
    struct tserver t;
    if (tserver_start(&t, sctx, 1, 5, serve_flags, NULL) < 0) goto out;
    sockit_sock *s;
    CHECK_OK(tls_dial(&s, t.port, cctx, "localhost", 5));
    if (s && sockit_tls_active(s)) {
        char buf[32] = "";
        CHECK_INT(recv_exact(s, buf, 2), ==, 2);
        CHECK_MEM(buf, "a\n", 2);
        CHECK_INT(sockit_tls_pending(s), ==, 2); /* "b\n" came in the same record */
        CHECK_INT(recv_exact(s, buf, 2), ==, 2);
        CHECK_MEM(buf, "b\n", 2);
        CHECK_INT(sockit_recv(s, buf, 8, MSG_PEEK), ==, 8); /* one record: waits for all of it */
        CHECK_MEM(buf, "peekdata", 8);
        memset(buf, 0, sizeof buf);
        CHECK_INT(recv_exact(s, buf, 8), ==, 8); /* the peek consumed nothing */
        CHECK_MEM(buf, "peekdata", 8);

        /* Nothing to read: MSG_DONTWAIT must not wait out the socket's timeout. */
        sockit_settimeout(s, 1.5);
        double t0 = tu_now();
        CHECK_CODE(sockit_recv(s, buf, sizeof buf, MSG_DONTWAIT), -EAGAIN);
        CHECK_DBL(tu_now() - t0, <, 0.5);

        /* MSG_WAITALL: both halves, sent 0.2 s apart, in one call. */
        CHECK_OK(sockit_sendall(s, "g", 1, 0));
        memset(buf, 0, sizeof buf);
        CHECK_INT(sockit_recv(s, buf, 20, MSG_WAITALL), ==, 20);
        CHECK_MEM(buf, "0123456789abcdefghij", 20);
        sockit_sendall(s, "x", 1, 0);
    }
    sockit_close(s);
    tserver_join(&t);
out:
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

static void serve_nothing(sockit_sock *c, void *arg, int i)
{
    double *hold = arg;
    if (hold) {
        char b[8];
        sockit_settimeout(c, *hold);
        (void)sockit_recv(c, b, sizeof b, 0);
    }
}

static void test_epipe(void)
{
    CHECK_TRUE(signal(SIGPIPE, SIG_DFL) != SIG_ERR); /* a SIGPIPE would end this program */
    sockit_tls_ctx *sctx = server_ctx(NULL, 1), *cctx = client_ctx(C.ca, 0, NULL, 1, 0);
    struct tserver t;
    if (tserver_start(&t, sctx, 1, 5, serve_nothing, NULL) < 0) goto out;
    sockit_sock *s;
    CHECK_OK(tls_dial(&s, t.port, cctx, "localhost", 5));
    tserver_join(&t); /* the server has closed */
    if (s && sockit_tls_active(s)) {
        char buf[16384];
        memset(buf, 'p', sizeof buf);
        ssize_t r = 0;
        for (int i = 0; i < 4000 && r >= 0; i++) r = sockit_send(s, buf, sizeof buf, 0);
        CHECK_TRUE(r == -EPIPE || r == -ECONNRESET);
        TU_CTX("send error %zd (%s): %s", r, sockit_errname((int)r), sockit_errmsg());
        CHECK_TRUE(strstr(sockit_errmsg(), "Broken pipe") || strstr(sockit_errmsg(), "reset"));
        r = sockit_send(s, buf, sizeof buf, 0);
        CHECK_TRUE(r == -EPIPE || r == -ECONNRESET);
        CHECK_INT(sockit_sendall(s, buf, sizeof buf, 0), <, 0);
        CHECK_INT(sockit_tls_shutdown(s), <=, 0); /* no crash, no signal */
    }
    sockit_close(s);
out:
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

static void test_read_timeout(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 1), *cctx = client_ctx(C.ca, 0, NULL, 1, 0);
    double hold = 3;
    struct tserver t;
    if (tserver_start(&t, sctx, 1, 5, serve_nothing, &hold) < 0) goto out;
    sockit_sock *s;
    CHECK_OK(tls_dial(&s, t.port, cctx, "localhost", 5));
    if (s && sockit_tls_active(s)) {
        char b[8];
        sockit_settimeout(s, 0.3);
        double t0 = tu_now();
        CHECK_CODE(sockit_recv(s, b, sizeof b, 0), -ETIMEDOUT);
        double took = tu_now() - t0;
        CHECK_DBL(took, >=, 0.25);
        CHECK_DBL(took, <, 1.5);
        CHECK_CONTAINS(sockit_errmsg(), "timed out");
        sockit_reader *rd = NULL;
        CHECK_OK(sockit_reader_new(&rd, s, 0));
        const char *line;
        if (rd) CHECK_CODE(sockit_reader_line(rd, &line, 0), -ETIMEDOUT);
        sockit_reader_free(rd);
        /* Non-blocking now: -EAGAIN at once. */
        sockit_settimeout(s, 0);
        CHECK_CODE(sockit_recv(s, b, sizeof b, 0), -EAGAIN);
    }
    sockit_close(s);
    tserver_join(&t);
out:
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

enum { RE_GARBAGE, RE_FIN, RE_RESET };

/* After the handshake: raw garbage under the TLS layer, a bare FIN, or a reset. */
static void serve_read_error(sockit_sock *c, void *arg, int i)
{
    int *mode = arg;
    char junk[512];
    tu_fill(junk, sizeof junk, 99);
    junk[0] = 0x17, junk[1] = 0x03, junk[2] = 0x03, junk[3] = 0x01, junk[4] = 0xfb; /* app data */
    if (*mode == RE_GARBAGE) {
        (void)send(sockit_fileno(c), junk, sizeof junk, MSG_NOSIGNAL);
        /* Stay until the client has read the garbage and closed (at most 5 s). */
        struct pollfd pf = {.fd = sockit_fileno(c), .events = POLLIN};
        poll(&pf, 1, 5000);
    } else if (*mode == RE_RESET) {
        struct linger lg = {1, 0};
        sockit_setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
}

static void test_read_errors(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 1), *cctx = client_ctx(C.ca, 0, NULL, 1, 0);
    struct { const char *name; int mode; ssize_t code; } cases[] = {
        {"a forged record (bad MAC)", RE_GARBAGE, SOCKIT_ETLS},
        {"a TCP FIN without close_notify (a ragged end reads as the end)", RE_FIN, 0},
        {"a reset", RE_RESET, -ECONNRESET},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TU_CTX("%s", cases[i].name);
        struct tserver t;
        if (tserver_start(&t, sctx, 1, 5, serve_read_error, &cases[i].mode) < 0) continue;
        sockit_sock *s;
        CHECK_OK(tls_dial(&s, t.port, cctx, "localhost", 5));
        if (s && sockit_tls_active(s)) {
            char buf[64];
            double t0 = tu_now();
            ssize_t r = sockit_recv(s, buf, sizeof buf, 0);
            CHECK_INT(r, ==, cases[i].code);
            CHECK_DBL(tu_now() - t0, <, 2);
            if (r == SOCKIT_ETLS) {
                /* A read failure names itself, not the handshake, and says why. */
                CHECK_CONTAINS(sockit_errmsg(), "tls read with localhost: ");
                CHECK_TRUE(!strstr(sockit_errmsg(), "handshake"));
            }
        }
        sockit_close(s);
        tserver_join(&t);
    }
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

/* A host name longer than the library's buffers must be checked whole, never a prefix of it. */
static void test_long_host(void)
{
    /* T: 127 characters (two 60-character labels and "ccccc"); H: T continued. */
    char t_name[140], h_name[200];
    snprintf(t_name, sizeof t_name, "%.60s.%.60s.ccccc",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    snprintf(h_name, sizeof h_name, "%sdd.example", t_name);
    CHECK_INT(strlen(t_name), ==, 127);
    int r = tlsu_sh("cd %s && printf 'subjectAltName=DNS:%s\n' > long.ext &&"
                    " openssl req " TLSU_KEYGEN " -keyout long.key -out long.csr -subj /CN=long &&"
                    " openssl x509 -req -in long.csr -CA ca.pem -CAkey ca.key -set_serial 4 -days 30"
                    " -extfile long.ext -out long.pem", C.dir, t_name);
    CHECK_OK(r);
    char cert[160], key[160], port[8];
    snprintf(cert, sizeof cert, "%s/long.pem", C.dir);
    snprintf(key, sizeof key, "%s/long.key", C.dir);
    const char *rev[] = {"-rev", NULL};
    tlsu_child sv;
    if (r != 0 || tlsu_s_server(&sv, C.dir, cert, key, 0, rev, port) < 0) {
        CHECK_TRUE(!"start s_server with the long-name certificate");
        return;
    }
    sockit_tls_ctx *ctx = client_ctx(C.ca, 0, NULL, 1, 0);
    sockit_sock *s;
    TU_CTX("host T (the certificate's own name)");
    CHECK_OK(tls_dial(&s, port, ctx, t_name, 10));
    sockit_close(s);
    TU_CTX("host H = T + \"dd.example\" (a different name)");
    CHECK_CODE(tls_dial(&s, port, ctx, h_name, 10), SOCKIT_ETLS);
    CHECK_CONTAINS(sockit_errmsg(), "host name mismatch");
    sockit_close(s);
    sockit_tls_ctx_free(ctx);
    tlsu_kill(&sv);
}

/* The context may be freed as soon as the handshake is done; the connection keeps what it needs. */
static void test_ctx_lifetime(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 1), *cctx = client_ctx(C.ca, 0, NULL, 0, 0);
    struct tserver t;
    if (tserver_start(&t, sctx, 1, 5, serve_echo_line, NULL) < 0) goto out;
    sockit_sock *s;
    CHECK_OK(tls_dial(&s, t.port, cctx, "localhost", 5));
    sockit_tls_ctx_free(cctx);
    cctx = NULL;
    if (s && sockit_tls_active(s)) {
        char buf[8];
        CHECK_OK(sockit_sendall(s, "late\n", 5, 0));
        CHECK_INT(recv_exact(s, buf, 5), ==, 5); /* new tickets arrive: the cache is still there */
        CHECK_MEM(buf, "late\n", 5);
        CHECK_STR(sockit_tls_version(s), "TLSv1.3");
    }
    sockit_close(s);
    tserver_join(&t);
out:
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

/* Failed handshakes of every kind leave no descriptor behind. */
static void test_no_fd_leaks(void)
{
    sockit_tls_ctx *ctx = client_ctx(C.ca, 0, NULL, 1, 0);
    int before = tu_count_fds();
    for (int kind = F_HTTP; kind <= F_RESET; kind++) {
        struct fake f;
        if (fake_start(&f, kind, 9) < 0) continue;
        sockit_sock *s;
        CHECK_INT(tls_dial(&s, f.port, ctx, "localhost", 0.3), <, 0);
        sockit_close(s);
        fake_join(&f);
    }
    sockit_sock *s;
    CHECK_CODE(tls_dial(&s, P_self, ctx, "localhost", 5), SOCKIT_ETLS);
    sockit_close(s);
    CHECK_INT(tu_count_fds(), ==, before);
    sockit_tls_ctx_free(ctx);
}

/* ================================================================================================
 * The event-driven server core with cfg.tls, and threaded mode
 * ============================================================================================== */

struct es {
    pthread_mutex_t mu;
    int opens, closes, eofs, nonzero_reasons, bad_reasons, logs;
    char log[512];
};

static void es_log(void *user, const char *message)
{
    struct es *e = user;
    pthread_mutex_lock(&e->mu);
    e->logs++;
    if (strstr(message, "tls")) snprintf(e->log, sizeof e->log, "%s", message);
    pthread_mutex_unlock(&e->mu);
}

static int es_open(sockit_conn *c)
{
    struct es *e = sockit_server_user(sockit_conn_server(c));
    SU_INC(e->opens);
    return 0;
}

static size_t es_echo(sockit_conn *c, char *data, size_t len)
{
    return sockit_conn_send(c, data, len) == -ENOBUFS ? 0 : len;
}

static void es_close(sockit_conn *c, int reason)
{
    struct es *e = sockit_server_user(sockit_conn_server(c));
    SU_INC(e->closes);
    if (reason) SU_INC(e->nonzero_reasons);
    if (reason && reason != -ECONNRESET && reason != -EPIPE) SU_INC(e->bad_reasons);
}

/* Half-close server: counts and hashes what comes, answers on end of input. */
struct hc {
    uint64_t hash;
    size_t n;
};

static size_t hc_data(sockit_conn *c, char *data, size_t len)
{
    struct hc *h = sockit_conn_data(c);
    if (!h) {
        h = calloc(1, sizeof *h);
        if (!h) return len;
        h->hash = TU_FNV_INIT;
        sockit_conn_set_data(c, h);
    }
    h->hash = tu_fnv1a(h->hash, data, len);
    h->n += len;
    return len;
}

static void hc_eof(sockit_conn *c)
{
    struct hc *h = sockit_conn_data(c);
    char line[80];
    int n = snprintf(line, sizeof line, "got %zu %016llx\n", h ? h->n : 0,
                     (unsigned long long)(h ? h->hash : TU_FNV_INIT));
    sockit_conn_send(c, line, (size_t)n);
    sockit_conn_close(c);
}

static void hc_close(sockit_conn *c, int reason)
{
    free(sockit_conn_data(c));
    es_close(c, reason);
}

#define NCLIENTS 50
#define ROUNDS 8
#define ROUND_BYTES 16384

struct client_job {
    const char *port;
    sockit_tls_ctx *ctx;
    int id;
    int ok;
    char msg[300];
};

static void *good_client(void *arg)
{
    struct client_job *j = arg;
    sockit_sock *s;
    char out[ROUND_BYTES], in[ROUND_BYTES];
    int r = tls_dial(&s, j->port, j->ctx, "localhost", 20);
    for (int k = 0; r == 0 && k < ROUNDS; k++) {
        tu_fill(out, sizeof out, (uint64_t)j->id * 1000 + (uint64_t)k + 1);
        r = sockit_sendall(s, out, sizeof out, 0);
        ssize_t n = r == 0 ? recv_exact(s, in, sizeof in) : r;
        if (n != (ssize_t)sizeof in) r = n < 0 ? (int)n : -EPROTO;
        else if (memcmp(in, out, sizeof in)) r = -EBADMSG;
    }
    if (r < 0) copy_msg(j->msg, sizeof j->msg);
    j->ok = r == 0;
    sockit_close(s);
    return NULL;
}

/* A client that must be closed by the server: sends data (or nothing) and waits for the end.
 * Records how long that took and how it ended. */
struct rude_job {
    const char *port;
    const void *data;
    size_t len;
    double took;
    ssize_t end;
};

static void *rude_client(void *arg)
{
    struct rude_job *j = arg;
    sockit_sock *s;
    double t0 = tu_now();
    j->end = 1;
    if (sockit_create_connection(&s, "127.0.0.1", j->port, 10) < 0) return NULL;
    if (j->len) sockit_sendall(s, j->data, j->len, 0);
    char buf[4096];
    ssize_t n;
    while ((n = sockit_recv(s, buf, sizeof buf, 0)) > 0) {
    }
    j->end = n;
    j->took = tu_now() - t0;
    sockit_close(s);
    return NULL;
}

static void test_event_server(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 0), *cctx = client_ctx(C.ca, 0, NULL, 0, 0);
    struct es e = {.mu = PTHREAD_MUTEX_INITIALIZER};
    sockit_server_cbs cbs = {.on_open = es_open, .on_data = es_echo, .on_close = es_close};
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 2, .cbs = &cbs,
                                .user = &e, .tls = sctx, .log = es_log, .first_byte_timeout = 2};
    sockit_server *srv = NULL;
    int fds0 = tu_count_fds();
    CHECK_OK(sockit_server_new(&srv, &cfg));
    if (!srv || !cctx) goto out;
    CHECK_OK(sockit_server_start(srv));
    sockit_addr a;
    char port[8];
    sockit_server_addr(srv, &a);
    snprintf(port, sizeof port, "%d", sockit_addr_port(&a));

    static struct client_job jobs[NCLIENTS];
    pthread_t th[NCLIENTS + 3];
    char junk[4096];
    tu_fill(junk, sizeof junk, 3);
    struct rude_job rude[3] = {
        {port, "GET / HTTP/1.0\r\n\r\n", 18, 0, 1},
        {port, junk, sizeof junk, 0, 1},
        {port, NULL, 0, 0, 1}, /* never handshakes: first_byte_timeout */
    };
    for (int i = 0; i < 3; i++) pthread_create(&th[NCLIENTS + i], NULL, rude_client, &rude[i]);
    for (int i = 0; i < NCLIENTS; i++) {
        jobs[i] = (struct client_job){.port = port, .ctx = cctx, .id = i};
        pthread_create(&th[i], NULL, good_client, &jobs[i]);
    }
    for (int i = 0; i < NCLIENTS + 3; i++) pthread_join(th[i], NULL);
    int ok = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        ok += jobs[i].ok;
        if (!jobs[i].ok) fprintf(stderr, "     client %d: %s\n", i, jobs[i].msg);
    }
    CHECK_INT(ok, ==, NCLIENTS);
    for (int i = 0; i < 3; i++) {
        TU_CTX("rude client %d", i);
        CHECK_TRUE(rude[i].end == 0 || rude[i].end == -ECONNRESET);
        CHECK_DBL(rude[i].took, <, i == 2 ? 6 : 3);
    }
    CHECK_DBL(rude[2].took, >=, 1.5); /* closed by the first-byte timeout, not before */
    TU_CTX("server counters");
    CHECK_TRUE(SU_WAIT(SU_GET(e.closes) == SU_GET(e.opens), 5));
    CHECK_INT(SU_GET(e.opens), ==, NCLIENTS); /* failed handshakes never reach on_open */
    CHECK_INT(SU_GET(e.bad_reasons), ==, 0);
    CHECK_INT(SU_GET(e.nonzero_reasons), ==, 0);
    sockit_server_stats st;
    sockit_server_stats_get(srv, &st);
    CHECK_INT(st.accepted, ==, NCLIENTS + 3);
    CHECK_INT(st.timed_out, >=, 1);
    CHECK_INT(st.bytes_in, >=, (uint64_t)NCLIENTS * ROUNDS * ROUND_BYTES);
    pthread_mutex_lock(&e.mu);
    CHECK_INT(e.logs, >=, 1);
    CHECK_CONTAINS(e.log, "tls handshake failed");
    pthread_mutex_unlock(&e.mu);
    /* Stopping with connections still in their handshake (one silent, one half way): prompt. */
    TU_CTX("stop mid-handshake");
    sockit_sock *silent = NULL, *half = NULL;
    CHECK_OK(sockit_create_connection(&silent, "127.0.0.1", port, 5));
    CHECK_OK(sockit_create_connection(&half, "127.0.0.1", port, 5));
    static const unsigned char hello_start[] = {0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00};
    if (half) sockit_sendall(half, hello_start, sizeof hello_start, 0);
    CHECK_TRUE(SU_WAIT((sockit_server_stats_get(srv, &st), st.active == 2), 5));
    double t0 = tu_now();
    sockit_server_stop(srv);
    CHECK_OK(sockit_server_wait(srv));
    CHECK_DBL(tu_now() - t0, <, 3);
    char b[8];
    if (silent) CHECK_INT(sockit_recv(silent, b, sizeof b, 0), <=, 0);
    if (half) CHECK_INT(sockit_recv(half, b, sizeof b, 0), <=, 0);
    sockit_close(silent);
    sockit_close(half);
    CHECK_INT(SU_GET(e.opens), ==, NCLIENTS); /* neither reached on_open */
out:
    sockit_server_free(srv);
    CHECK_INT(tu_count_fds(), ==, fds0);
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

/* TLS close_notify (and a bare TCP FIN) reach on_eof; the reply still goes out. */
static void test_event_server_half_close(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 1), *cctx = client_ctx(C.ca, 0, NULL, 1, 0);
    struct es e = {.mu = PTHREAD_MUTEX_INITIALIZER};
    sockit_server_cbs cbs = {.on_open = es_open, .on_data = hc_data, .on_eof = hc_eof,
                             .on_close = hc_close};
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs,
                                .user = &e, .tls = sctx, .log = es_log};
    sockit_server *srv = NULL;
    CHECK_OK(sockit_server_new(&srv, &cfg));
    if (!srv || !cctx) goto out;
    CHECK_OK(sockit_server_start(srv));
    sockit_addr a;
    char port[8];
    sockit_server_addr(srv, &a);
    snprintf(port, sizeof port, "%d", sockit_addr_port(&a));
    for (int how = 0; how < 2; how++) {
        TU_CTX(how ? "TCP FIN without close_notify" : "close_notify");
        sockit_sock *s;
        CHECK_OK(tls_dial(&s, port, cctx, "localhost", 10));
        if (s && sockit_tls_active(s)) {
            int rc;
            uint64_t h = send_stream(s, 31, 4 * MiB, &rc);
            CHECK_OK(rc);
            if (how == 0) CHECK_OK(sockit_tls_shutdown(s));
            else CHECK_OK(sockit_shutdown(s, SHUT_WR));
            char want[80], got[80] = "";
            snprintf(want, sizeof want, "got %d %016llx\n", 4 * MiB, (unsigned long long)h);
            sockit_reader *rd = NULL;
            CHECK_OK(sockit_reader_new(&rd, s, 0));
            if (rd) CHECK_INT(sockit_reader_getline(rd, got, sizeof got, 0), ==, strlen(want));
            CHECK_STR(got, want);
            if (rd) CHECK_INT(sockit_reader_getline(rd, got, sizeof got, 0), ==, 0);
            sockit_reader_free(rd);
        }
        sockit_close(s);
    }
    CHECK_TRUE(SU_WAIT(SU_GET(e.closes) == 2, 5));
    CHECK_INT(SU_GET(e.nonzero_reasons), ==, 0);
    sockit_server_stop(srv);
    CHECK_OK(sockit_server_wait(srv));
out:
    sockit_server_free(srv);
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

/* A generator: "gen\n" asks for GEN_TOTAL bytes of stream 41, sent as the peer reads. */
#define GEN_TOTAL (16 * MiB)

struct gen {
    size_t next; /* chunk index */
    int started;
    char buf[TLSU_CHUNK];
};

static int gen_writables, gen_full;

static void gen_pump(sockit_conn *c)
{
    struct gen *g = sockit_conn_data(c);
    while (g && g->next < GEN_TOTAL / TLSU_CHUNK && sockit_conn_pending(c) < 256 * 1024) {
        tlsu_chunk(g->buf, 41, g->next);
        if (sockit_conn_send(c, g->buf, TLSU_CHUNK) < 0) {
            sockit_conn_abort(c);
            return;
        }
        if (++g->next == GEN_TOTAL / TLSU_CHUNK) sockit_conn_close(c);
    }
    if (g && g->next < GEN_TOTAL / TLSU_CHUNK) SU_SET(gen_full, 1); /* stopped by the queue */
}

static int gen_open(sockit_conn *c)
{
    struct gen *g = calloc(1, sizeof *g);
    if (!g) return -1;
    sockit_conn_set_data(c, g);
    sockit_conn_send(c, "ready\n", 6); /* output from on_open, right after the handshake */
    return es_open(c);
}

static size_t gen_data(sockit_conn *c, char *data, size_t len)
{
    struct gen *g = sockit_conn_data(c);
    if (!g->started && memchr(data, '\n', len)) {
        g->started = 1;
        gen_pump(c);
    }
    return len;
}

static void gen_writable(sockit_conn *c)
{
    SU_INC(gen_writables);
    gen_pump(c);
}

static void gen_close(sockit_conn *c, int reason)
{
    free(sockit_conn_data(c));
    es_close(c, reason);
}

/* Output larger than the queue, to a reader that starts late and reads slowly: TLS writes that
 * would block are retried as the loop says, and every byte arrives in order. */
static void test_event_server_backpressure(void)
{
    struct es e = {.mu = PTHREAD_MUTEX_INITIALIZER};
    sockit_server_cbs cbs = {.on_open = gen_open, .on_data = gen_data, .on_writable = gen_writable,
                             .on_close = gen_close};
    sockit_server_config cfg = {.workers = 1, .cbs = &cbs, .user = &e, .log = es_log};
    tlsu_es f;
    if (tlsu_es_start(&f, &C, &cfg, NULL) < 0) goto out;
    sockit_sock *s;
    SU_SET(gen_writables, 0);
    SU_SET(gen_full, 0);
    CHECK_OK(tlsu_es_dial(&f, &s, 20));
    if (s && sockit_tls_active(s)) {
        int rcvbuf = 16384; /* a small window, so the server's writes block */
        sockit_setsockopt_int(s, SOL_SOCKET, SO_RCVBUF, rcvbuf);
        char ready[8] = "";
        CHECK_INT(recv_exact(s, ready, 6), ==, 6);
        CHECK_MEM(ready, "ready\n", 6);
        CHECK_OK(sockit_sendall(s, "gen\n", 4, 0));
        CHECK_TRUE(SU_WAIT(SU_GET(gen_full), 10)); /* the server's queue is full before we read */
        uint64_t h = TU_FNV_INIT;
        size_t total = 0;
        char buf[1024];
        ssize_t n = 1;
        for (int i = 0; i < 200 && n > 0; i++) { /* slowly at first */
            n = sockit_recv(s, buf, sizeof buf, 0);
            if (n > 0) h = tu_fnv1a(h, buf, (size_t)n), total += (size_t)n;
            if (i % 20 == 0) tu_sleep(0.01);
        }
        char *big = malloc(65536);
        while (big && n > 0) {
            n = sockit_recv(s, big, 65536, 0);
            if (n > 0) h = tu_fnv1a(h, big, (size_t)n), total += (size_t)n;
        }
        free(big);
        CHECK_INT(n, ==, 0);
        CHECK_INT(total, ==, GEN_TOTAL);
        CHECK_INT(h, ==, tlsu_stream_hash(41, GEN_TOTAL));
        CHECK_INT(SU_GET(gen_writables), >=, 1); /* the queue did fill and drain */
    }
    sockit_close(s);
    CHECK_TRUE(SU_WAIT(SU_GET(e.closes) == 1, 5));
    CHECK_INT(SU_GET(e.nonzero_reasons), ==, 0);
out:
    tlsu_es_stop(&f);
}

/* sockit_conn_shutdown over TLS is the TLS half-close: close_notify, then reading goes on. */
static size_t sd_data(sockit_conn *c, char *data, size_t len)
{
    if (memmem(data, len, "bye\n", 4)) {
        sockit_conn_send(c, "ok\n", 3);
        sockit_conn_shutdown(c);
    }
    return len;
}

static void sd_eof(sockit_conn *c)
{
    sockit_conn_close(c);
}

static void test_event_server_conn_shutdown(void)
{
    struct es e = {.mu = PTHREAD_MUTEX_INITIALIZER};
    sockit_server_cbs cbs = {.on_open = es_open, .on_data = sd_data, .on_eof = sd_eof,
                             .on_close = es_close};
    sockit_server_config cfg = {.workers = 1, .cbs = &cbs, .user = &e, .log = es_log};
    tlsu_es f;
    if (tlsu_es_start(&f, &C, &cfg, NULL) < 0) goto out;
    sockit_sock *s;
    CHECK_OK(tlsu_es_dial(&f, &s, 5));
    if (s && sockit_tls_active(s)) {
        char buf[8] = "";
        CHECK_OK(sockit_sendall(s, "bye\n", 4, 0));
        CHECK_INT(recv_exact(s, buf, 3), ==, 3);
        CHECK_MEM(buf, "ok\n", 3);
        CHECK_INT(sockit_recv(s, buf, sizeof buf, 0), ==, 0); /* the server's close_notify */
        CHECK_OK(sockit_sendall(s, "more\n", 5, 0));       /* it still reads */
        CHECK_OK(sockit_tls_shutdown(s));
    }
    sockit_close(s);
    CHECK_TRUE(SU_WAIT(SU_GET(e.closes) == 1, 5));
    CHECK_INT(SU_GET(e.nonzero_reasons), ==, 0);
out:
    tlsu_es_stop(&f);
}

static void threaded_handle(sockit_sock *c, const sockit_addr *peer, void *user)
{
    struct es *e = user;
    SU_INC(e->opens);
    if (!sockit_tls_active(c)) return; /* the contract: it already speaks TLS */
    sockit_reader *rd;
    if (sockit_reader_new(&rd, c, 0) < 0) return;
    char line[256];
    ssize_t n;
    while ((n = sockit_reader_getline(rd, line, sizeof line, 0)) > 0)
        if (sockit_sendall(c, line, strlen(line), 0) < 0) break;
    sockit_reader_free(rd);
}

static void *line_client(void *arg)
{
    struct client_job *j = arg;
    sockit_sock *s;
    int r = tls_dial(&s, j->port, j->ctx, "localhost", 10);
    sockit_reader *rd = NULL;
    if (r == 0) r = sockit_reader_new(&rd, s, 0);
    for (int k = 0; r == 0 && k < 20; k++) {
        char want[64], got[64] = "";
        snprintf(want, sizeof want, "client %d line %d\n", j->id, k);
        r = sockit_sendall(s, want, strlen(want), 0);
        ssize_t n = r == 0 ? sockit_reader_getline(rd, got, sizeof got, 0) : r;
        if (n < 0) r = (int)n;
        else if (strcmp(got, want)) r = -EBADMSG;
    }
    if (r < 0) copy_msg(j->msg, sizeof j->msg);
    j->ok = r == 0;
    sockit_reader_free(rd);
    sockit_close(s);
    return NULL;
}

static void test_threaded_server(void)
{
    sockit_tls_ctx *sctx = server_ctx(NULL, 0), *cctx = client_ctx(C.ca, 0, NULL, 0, 0);
    struct es e = {.mu = PTHREAD_MUTEX_INITIALIZER};
    sockit_server_cbs cbs = {.handle = threaded_handle};
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .threads = 4, .queue = 16,
                                .timeout = 5, .cbs = &cbs, .user = &e, .tls = sctx,
                                .log = es_log};
    sockit_server *srv = NULL;
    CHECK_OK(sockit_server_new(&srv, &cfg));
    if (!srv || !cctx) goto out;
    CHECK_OK(sockit_server_start(srv));
    sockit_addr a;
    char port[8];
    sockit_server_addr(srv, &a);
    snprintf(port, sizeof port, "%d", sockit_addr_port(&a));
    struct rude_job plain = {port, "GET / HTTP/1.0\r\n\r\n", 18, 0, 1};
    pthread_t pt;
    pthread_create(&pt, NULL, rude_client, &plain);
    pthread_join(pt, NULL);
    CHECK_TRUE(plain.end == 0 || plain.end == -ECONNRESET);
    CHECK_DBL(plain.took, <, 3);
    struct client_job jobs[10];
    pthread_t th[10];
    for (int i = 0; i < 10; i++) {
        jobs[i] = (struct client_job){.port = port, .ctx = cctx, .id = i};
        pthread_create(&th[i], NULL, line_client, &jobs[i]);
    }
    int ok = 0;
    for (int i = 0; i < 10; i++) {
        pthread_join(th[i], NULL);
        ok += jobs[i].ok;
        if (!jobs[i].ok) fprintf(stderr, "     client %d: %s\n", i, jobs[i].msg);
    }
    CHECK_INT(ok, ==, 10);
    CHECK_INT(SU_GET(e.opens), ==, 10); /* the plain-text client never reached handle */
    pthread_mutex_lock(&e.mu);
    CHECK_CONTAINS(e.log, "the peer is not speaking TLS");
    pthread_mutex_unlock(&e.mu);
    sockit_server_stop(srv);
    CHECK_OK(sockit_server_wait(srv));
out:
    sockit_server_free(srv);
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

/* ================================================================================================ */

static int start_s_servers(void)
{
    const char *rev_alpn[] = {"-rev", "-alpn", "http/1.1", NULL};
    const char *rev[] = {"-rev", NULL};
    const char *sni[] = {"-rev", "-servername", "localhost", "-cert2", C.srv, "-key2", C.srv_key,
                         NULL};
    const char *v12[] = {"-rev", "-tls1_2", NULL};
    const char *v13[] = {"-rev", "-tls1_3", NULL};
    int r = 0;
    r |= tlsu_s_server(&S_srv, C.dir, C.srv, C.srv_key, 0, rev_alpn, P_srv);
    r |= tlsu_s_server(&S_self, C.dir, C.self, C.self_key, 0, rev, P_self);
    r |= tlsu_s_server(&S_other, C.dir, C.other, C.other_key, 0, rev, P_other);
    r |= tlsu_s_server(&S_expired, C.dir, C.expired, C.expired_key, 0, rev, P_expired);
    r |= tlsu_s_server(&S_sni, C.dir, C.self, C.self_key, 0, sni, P_sni);
    r |= tlsu_s_server(&S_tls12, C.dir, C.srv, C.srv_key, 0, v12, P_tls12);
    r |= tlsu_s_server(&S_tls13, C.dir, C.srv, C.srv_key, 0, v13, P_tls13);
    return r;
}

static void stop_s_servers(void)
{
    tlsu_child *all[] = {&S_srv, &S_self, &S_other, &S_expired, &S_sni, &S_tls12, &S_tls13};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) tlsu_kill(all[i]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_DFL);
    if (tlsu_sh("openssl version") != 0) {
        printf("openssl command not found\n");
        CHECK_TRUE(!"the openssl command is needed");
        return tu_done();
    }
    tu_set_case("setup");
    tu_watchdog_arm(30);
    if (tlsu_make_certs(&C) < 0 || start_s_servers() < 0) {
        CHECK_TRUE(!"could not make certificates or start openssl s_server");
        stop_s_servers();
        tlsu_rmdir(C.dir);
        return tu_done();
    }
    TU_RUN(test_ctx_errors, 10);
    TU_RUN(test_misuse, 15);
    TU_RUN(test_client_valid, 15);
    TU_RUN(test_client_bad_certs, 30);
    TU_RUN(test_client_sni, 15);
    TU_RUN(test_client_versions, 15);
    TU_RUN(test_client_cert, 20);
    TU_RUN(test_server_vs_s_client, 20);
    TU_RUN(test_bulk_to_s_server, 40);
    TU_RUN(test_bulk_with_s_client, 40);
    TU_RUN(test_bulk_sockit_both_ways, 40);
    TU_RUN(test_resumption, 20);
    TU_RUN(test_alpn, 20);
    TU_RUN(test_bad_servers, 30);
    TU_RUN(test_server_stops_mid_handshake, 30);
    TU_RUN(test_bad_clients, 30);
    TU_RUN(test_unwrap, 15);
    TU_RUN(test_half_close, 15);
    TU_RUN(test_reader, 15);
    TU_RUN(test_recv_flags, 15);
    TU_RUN(test_epipe, 15);
    TU_RUN(test_read_timeout, 15);
    TU_RUN(test_read_errors, 15);
    TU_RUN(test_long_host, 15);
    TU_RUN(test_ctx_lifetime, 15);
    TU_RUN(test_no_fd_leaks, 20);
    TU_RUN(test_event_server, 40);
    TU_RUN(test_event_server_half_close, 20);
    TU_RUN(test_event_server_backpressure, 30);
    TU_RUN(test_event_server_conn_shutdown, 15);
    TU_RUN(test_threaded_server, 20);
    stop_s_servers();
    tlsu_rmdir(C.dir);
    return tu_done();
}
