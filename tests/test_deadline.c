/*
 * test_deadline.c — one deadline through the blocking client stack (issue 8, section 4):
 * sockit_deadline_after, create_connection_ex (family, source address, deadline), the reader's
 * fill and *_until forms, sendall_until, and tls_connect_ex's deadline. The point of each bounded
 * check: a single deadline bounds resolve + connect + TLS + read, whatever the socket's own
 * timeout (set far larger here) and whatever its blocking mode, instead of per-step timeouts that
 * add up.
 *
 * Peers are threads on loopback that stall on purpose; every stall ends when the test closes the
 * socketpair the peer waits on, so nothing here depends on sleeping.
 */
#include "tls_util.h"

#include <sockit/tls.h>

#include "internal/core.h"

static tlsu_certs C;

/* ---- a peer that does a few things, then stalls until released ------------------------------ */

enum peer_mode {
    PEER_HALF_LINE,      /* sends "HTTP/1.1 200" with no end of line, then stalls */
    PEER_NO_HANDSHAKE,   /* accepts, reads nothing, stalls: a TLS handshake never completes */
    PEER_TLS_HALF_LINE,  /* TLS handshake, then half a line, then stalls */
    PEER_NO_READ,        /* accepts and never reads: the sender's buffers fill up */
};

struct peer {
    sockit_sock *listener;
    char port[8];
    enum peer_mode mode;
    sockit_tls_ctx *sctx;
    int release[2]; /* the peer stalls until release[1] is closed */
    pthread_t tid;
};

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    sockit_sock *c = NULL;
    if (sockit_accept(p->listener, &c, NULL) < 0) return NULL;
    sockit_settimeout(c, 20);
    static const char half[] = "HTTP/1.1 200";
    if (p->mode == PEER_HALF_LINE) sockit_sendall(c, half, sizeof half - 1, 0);
    if (p->mode == PEER_TLS_HALF_LINE && sockit_tls_accept(c, p->sctx) == 0)
        sockit_sendall(c, half, sizeof half - 1, 0);
    char b;
    while (read(p->release[0], &b, 1) < 0 && errno == EINTR) {} /* stall until released */
    sockit_close(c);
    return NULL;
}

static int peer_start(struct peer *p, enum peer_mode mode, sockit_tls_ctx *sctx)
{
    memset(p, 0, sizeof *p);
    p->mode = mode;
    p->sctx = sctx;
    if (sockit_create_server(&p->listener, "127.0.0.1", "0", NULL) < 0) return -1;
    sockit_settimeout(p->listener, 20);
    tu_portstr(p->listener, p->port);
    if (pipe2(p->release, O_CLOEXEC) < 0) return -1;
    return pthread_create(&p->tid, NULL, peer_main, p) ? -1 : 0;
}

static void peer_stop(struct peer *p)
{
    close(p->release[1]);
    pthread_join(p->tid, NULL);
    close(p->release[0]);
    sockit_close(p->listener);
}

static sockit_tls_ctx *client_ctx(int min_version)
{
    sockit_tls_opts o = {.cafile = C.ca, .min_version = min_version};
    sockit_tls_ctx *ctx = NULL;
    CHECK_OK(sockit_tls_ctx_new(&ctx, &o));
    return ctx;
}

static sockit_tls_ctx *server_ctx(void)
{
    sockit_tls_opts o = {.server = 1, .cert = C.srv, .key = C.srv_key};
    sockit_tls_ctx *ctx = NULL;
    CHECK_OK(sockit_tls_ctx_new(&ctx, &o));
    return ctx;
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void test_deadline_after(void)
{
    CHECK_TRUE(sockit_deadline_after(-1) == SOCKIT_DEADLINE_NONE);
    CHECK_TRUE(sockit_deadline_after(0.0 / 0.0) == SOCKIT_DEADLINE_NONE);
    CHECK_TRUE(sockit_deadline_after(1e12) == SOCKIT_DEADLINE_NONE); /* no overflow */
    CHECK_TRUE(sockit_deadline_after(0) == 0);
    int64_t now = sockit__now();
    int64_t d = sockit_deadline_after(2.5);
    CHECK_TRUE(d >= now + 2400000000LL && d <= now + 3000000000LL);
}

/* The reader fills without consuming: a parser runs in place on what it holds. */
static void test_reader_fill(void)
{
    sockit_sock *a, *b;
    sockit_reader *r;
    CHECK_OK(sockit_socketpair(&a, &b, 0, 0));
    CHECK_OK(sockit_settimeout(b, 5));
    CHECK_OK(sockit_reader_new(&r, b, 16));
    CHECK_OK(sockit_sendall(a, "GET / HTTP/1.1\r\n", 16, 0));
    const void *data;
    CHECK_INT(sockit_reader_fill(r), ==, 16);
    CHECK_INT(sockit_reader_pending(r, &data), ==, 16);
    CHECK_MEM(data, "GET / HTTP/1.1\r\n", 16);
    /* Full of pending bytes: nothing more fits until the parser consumes. */
    CHECK_CODE(sockit_reader_fill(r), SOCKIT_ETOOLONG);
    CHECK_CONTAINS(sockit_errmsg(), "16-byte buffer is full");
    sockit_reader_consume(r, 4); /* "GET " parsed */
    CHECK_OK(sockit_sendall(a, "Host", 4, 0));
    CHECK_INT(sockit_reader_fill(r), ==, 4); /* the pending bytes slide to the front first */
    CHECK_INT(sockit_reader_pending(r, &data), ==, 16);
    CHECK_MEM(data, "/ HTTP/1.1\r\nHost", 16);
    sockit_reader_consume(r, 16);
    /* Nothing to read within a deadline that has passed: the fill times out, nothing lost. */
    CHECK_CODE(sockit_reader_fill_until(r, sockit__now() - 1), -ETIMEDOUT);
    CHECK_CONTAINS(sockit_errmsg(), "reader fill");
    /* Deadline 0 does not wait at all. */
    CHECK_CODE(sockit_reader_fill_until(r, 0), -EAGAIN);
    CHECK_OK(sockit_shutdown(a, SHUT_WR));
    CHECK_INT(sockit_reader_fill(r), ==, 0); /* end of stream */
    sockit_reader_free(r);
    sockit_close(a);
    sockit_close(b);
}

/* A peer that sends half a line and stalls: the line read returns -ETIMEDOUT at the deadline,
 * though the socket blocks forever (timeout none) or has a far larger timeout; the half line
 * stays buffered. Every *_until form honours the deadline. */
static void test_reader_until_half_line(void)
{
    double timeouts[] = {-1, 30};
    for (size_t i = 0; i < 2; i++) {
        TU_CTX("socket timeout %g", timeouts[i]);
        struct peer p;
        if (peer_start(&p, PEER_HALF_LINE, NULL) < 0) {
            CHECK_TRUE(0);
            return;
        }
        sockit_sock *s = NULL;
        sockit_reader *r = NULL;
        CHECK_OK(sockit_create_connection(&s, "127.0.0.1", p.port, 10));
        CHECK_OK(sockit_settimeout(s, timeouts[i]));
        CHECK_OK(sockit_reader_new(&r, s, 0));
        const char *line;
        double t0 = tu_now();
        CHECK_CODE(sockit_reader_line_until(r, &line, 0, sockit_deadline_after(0.3)), -ETIMEDOUT);
        double took = tu_now() - t0;
        CHECK_DBL(took, >=, 0.29);
        CHECK_DBL(took, <, 2.0);
        CHECK_CONTAINS(sockit_errmsg(), "read line");
        const void *data;
        CHECK_INT(sockit_reader_pending(r, &data), ==, 12);
        CHECK_MEM(data, "HTTP/1.1 200", 12);
        char buf[64];
        size_t got = 99;
        CHECK_CODE(sockit_reader_read_exact_until(r, buf, 20, &got, sockit_deadline_after(0.1)), -ETIMEDOUT);
        CHECK_INT(got, ==, 12); /* the buffered bytes were delivered, nothing lost */
        CHECK_CODE(sockit_reader_read_until(r, buf, sizeof buf, sockit_deadline_after(0.1)), -ETIMEDOUT);
        CHECK_CONTAINS(sockit_errmsg(), "read");
        CHECK_CODE(sockit_reader_read_until(r, buf, sizeof buf, 0), -EAGAIN);
        /* The socket's own mode is untouched by the deadline calls. */
        CHECK_DBL(sockit_gettimeout(s), ==, timeouts[i]);
        sockit_reader_free(r);
        sockit_close(s);
        peer_stop(&p);
    }
}

/* sendall_until to a peer that never reads: -ETIMEDOUT at the deadline, *sent says how much went. */
static void test_sendall_until(void)
{
    struct peer p;
    if (peer_start(&p, PEER_NO_READ, NULL) < 0) {
        CHECK_TRUE(0);
        return;
    }
    sockit_sock *s = NULL;
    CHECK_OK(sockit_create_connection(&s, "127.0.0.1", p.port, 10));
    CHECK_OK(sockit_settimeout(s, -1)); /* blocking: the deadline must still hold */
    size_t len = 64 << 20, sent = 0;
    char *big = calloc(1, len);
    double t0 = tu_now();
    CHECK_CODE(sockit_sendall_until(s, big, len, 0, &sent, sockit_deadline_after(0.3)), -ETIMEDOUT);
    CHECK_DBL(tu_now() - t0, <, 3.0);
    CHECK_INT(sent, >, 0);
    CHECK_INT(sent, <, len);
    CHECK_CONTAINS(sockit_errmsg(), "sendall: ");
    CHECK_CONTAINS(sockit_errmsg(), "bytes sent: Connection timed out");
    free(big);
    sockit_close(s);
    peer_stop(&p);
}

/* create_connection_ex: the family option (the command's -4/-6) and a source address. */
static void test_create_connection_ex(void)
{
    sockit_sock *l4 = NULL, *s = NULL, *c = NULL;
    char port[8];
    CHECK_OK(sockit_create_server(&l4, "127.0.0.1", "0", NULL));
    tu_portstr(l4, port);
    sockit_connect_opts o = {.family = AF_INET};
    CHECK_OK(sockit_create_connection_ex(&s, "localhost", port, 5, &o));
    if (s) CHECK_INT(sockit_family(s), ==, AF_INET);
    sockit_close(s);
    s = NULL;
    if (sockit_accept(l4, &c, NULL) == 0) sockit_close(c);

    /* A numeric host of the other family does not fit: SOCKIT_EBADADDR, nothing tried. */
    o.family = AF_INET6;
    CHECK_CODE(sockit_create_connection_ex(&s, "127.0.0.1", port, 5, &o), SOCKIT_EBADADDR);
    o.family = AF_INET;
    CHECK_CODE(sockit_create_connection_ex(&s, "::1", port, 5, &o), SOCKIT_EBADADDR);
    o.family = AF_UNIX;
    CHECK_CODE(sockit_create_connection_ex(&s, "127.0.0.1", port, 5, &o), -EAFNOSUPPORT);
    CHECK_CONTAINS(sockit_errmsg(), "address family");

    /* IPv6 only, where the machine has ::1. */
    sockit_sock *l6 = NULL;
    sockit_server_opts so = {.family = AF_INET6};
    if (sockit_create_server(&l6, "::1", "0", &so) == 0) {
        char p6[8];
        tu_portstr(l6, p6);
        o.family = AF_INET6;
        CHECK_OK(sockit_create_connection_ex(&s, "::1", p6, 5, &o));
        if (s) CHECK_INT(sockit_family(s), ==, AF_INET6);
        sockit_close(s);
        s = NULL;
        if (sockit_accept(l6, &c, NULL) == 0) sockit_close(c);
        sockit_close(l6);
    } else {
        TU_SKIP("no IPv6 loopback here");
    }

    /* A source address: the connection leaves from it. */
    sockit_sock *hold = NULL;
    char sport[8];
    CHECK_OK(sockit_create_server(&hold, "127.0.0.1", "0", NULL));
    tu_portstr(hold, sport);
    sockit_close(hold); /* a port that was free a moment ago: bind it as the source */
    o = (sockit_connect_opts){.source_host = "127.0.0.1", .source_port = sport};
    int r = sockit_create_connection_ex(&s, "127.0.0.1", port, 5, &o);
    if (r == 0) {
        sockit_addr me;
        CHECK_OK(sockit_getsockname(s, &me));
        CHECK_INT(sockit_addr_port(&me), ==, atoi(sport));
        sockit_close(s);
        s = NULL;
        if (sockit_accept(l4, &c, NULL) == 0) sockit_close(c);
    } else {
        CHECK_CODE(r, -EADDRINUSE); /* someone took the port meanwhile: the only excuse */
    }
    /* A source of the wrong family fails the attempt, and the message names the address. */
    o = (sockit_connect_opts){.source_host = "::1"};
    CHECK_CODE(sockit_create_connection_ex(&s, "127.0.0.1", port, 5, &o), SOCKIT_EBADADDR);
    CHECK_CONTAINS(sockit_errmsg(), "127.0.0.1:");
    sockit_close(l4);
}

/* The deadline in create_connection_ex's opts bounds the call, not the timeout (which the socket
 * keeps). A listener whose accept queue is full drops new SYNs, so a connect to it hangs. */
static void test_connect_deadline(void)
{
    sockit_sock *l = NULL, *fill[4] = {NULL};
    char port[8];
    CHECK_OK(sockit_socket(&l, AF_INET, SOCK_STREAM, 0));
    CHECK_OK(sockit_bind(l, "127.0.0.1", "0"));
    CHECK_OK(sockit_listen(l, 0));
    tu_portstr(l, port);
    /* Fill the queue: connects that complete (the kernel accepts backlog + 1), then one more
     * that hangs is the probe. Those that do not complete in 0.2 s show the queue is full. */
    size_t nfill = 0;
    for (; nfill < 4; nfill++) {
        if (sockit_create_connection(&fill[nfill], "127.0.0.1", port, 0.2) < 0) break;
    }
    if (nfill == 4) {
        TU_SKIP("the listener's queue never filled: no hanging connect to be had");
    } else {
        sockit_sock *s = NULL;
        sockit_connect_opts o = {.deadline = sockit_deadline_after(0.3)};
        double t0 = tu_now();
        CHECK_CODE(sockit_create_connection_ex(&s, "127.0.0.1", port, 30, &o), -ETIMEDOUT);
        double took = tu_now() - t0;
        CHECK_DBL(took, >=, 0.29);
        CHECK_DBL(took, <, 3.0);
        CHECK_CONTAINS(sockit_errmsg(), "Connection timed out");
    }
    for (size_t i = 0; i < 4; i++) sockit_close(fill[i]);
    sockit_close(l);
}

/* The whole client stack under one deadline: connect, TLS handshake against a server that never
 * answers, each step given the same absolute deadline and the socket a 30 s timeout. The total is
 * the deadline, not the sum of per-step timeouts. */
static void test_tls_handshake_deadline(void)
{
    struct peer p;
    if (peer_start(&p, PEER_NO_HANDSHAKE, NULL) < 0) {
        CHECK_TRUE(0);
        return;
    }
    sockit_tls_ctx *cctx = client_ctx(0);
    double t0 = tu_now();
    int64_t deadline = sockit_deadline_after(0.4);
    sockit_sock *s = NULL;
    sockit_connect_opts co = {.deadline = deadline};
    CHECK_OK(sockit_create_connection_ex(&s, "localhost", p.port, 30, &co));
    sockit_tls_connect_opts to = {.deadline = deadline};
    if (s) {
        CHECK_CODE(sockit_tls_connect_ex(s, cctx, "localhost", &to), -ETIMEDOUT);
        CHECK_STR(sockit_errmsg(), "tls handshake with localhost: timed out");
        CHECK_TRUE(!sockit_tls_active(s));
    }
    double took = tu_now() - t0;
    CHECK_DBL(took, >=, 0.39);
    CHECK_DBL(took, <, 2.5);
    sockit_close(s);
    /* Already passed: the handshake does not start waiting. */
    s = NULL;
    CHECK_OK(sockit_create_connection(&s, "127.0.0.1", p.port, 5));
    sockit_tls_ctx_free(cctx);
    sockit_close(s);
    peer_stop(&p);
}

/* connect + TLS + read a line, one deadline: the server completes the handshake, sends half a
 * line and stalls. The socket blocks (timeout none): only the deadline ends the call. */
static void test_tls_read_deadline(void)
{
    sockit_tls_ctx *sctx = server_ctx(), *cctx = client_ctx(0);
    struct peer p;
    if (!sctx || !cctx || peer_start(&p, PEER_TLS_HALF_LINE, sctx) < 0) {
        CHECK_TRUE(0);
        return;
    }
    double t0 = tu_now();
    int64_t deadline = sockit_deadline_after(0.5);
    sockit_sock *s = NULL;
    sockit_reader *r = NULL;
    sockit_connect_opts co = {.deadline = deadline};
    sockit_tls_connect_opts to = {.deadline = deadline};
    CHECK_OK(sockit_create_connection_ex(&s, "localhost", p.port, -1, &co));
    CHECK_OK(sockit_tls_connect_ex(s, cctx, "localhost", &to));
    CHECK_OK(sockit_reader_new(&r, s, 0));
    const char *line;
    CHECK_CODE(sockit_reader_line_until(r, &line, 0, deadline), -ETIMEDOUT);
    CHECK_STR(sockit_errmsg(), "tls read with localhost: timed out");
    double took = tu_now() - t0;
    CHECK_DBL(took, >=, 0.49);
    CHECK_DBL(took, <, 2.5);
    const void *data;
    CHECK_INT(sockit_reader_pending(r, &data), ==, 12); /* the half line, kept */
    sockit_reader_free(r);
    sockit_close(s);
    peer_stop(&p);
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

/* A resolver step inside the same deadline: a name that does not resolve fails within it. */
static void test_resolve_in_deadline(void)
{
    sockit_sock *s = NULL;
    sockit_connect_opts co = {.deadline = sockit_deadline_after(2)};
    double t0 = tu_now();
    int r = sockit_create_connection_ex(&s, "nosuch.invalid", "80", 60, &co);
    CHECK_TRUE(r == SOCKIT_ENOHOST || r == -ETIMEDOUT);
    CHECK_DBL(tu_now() - t0, <, 4.0);
    CHECK_CONTAINS(sockit_errmsg(), "nosuch.invalid");
    /* A deadline already passed: the lookup is not even waited for. */
    co.deadline = sockit__now() - 1;
    CHECK_CODE(sockit_create_connection_ex(&s, "nosuch.invalid", "80", 60, &co), -ETIMEDOUT);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (tlsu_make_certs(&C) < 0) {
        fprintf(stderr, "cannot make test certificates (is the openssl command installed?)\n");
        return 1;
    }
    TU_RUN(test_deadline_after, 5);
    TU_RUN(test_reader_fill, 10);
    TU_RUN(test_reader_until_half_line, 20);
    TU_RUN(test_sendall_until, 20);
    TU_RUN(test_create_connection_ex, 20);
    TU_RUN(test_connect_deadline, 15);
    TU_RUN(test_tls_handshake_deadline, 15);
    TU_RUN(test_tls_read_deadline, 15);
    TU_RUN(test_resolve_in_deadline, 15);
    tlsu_rmdir(C.dir);
    return tu_done();
}
