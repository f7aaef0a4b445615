/*
 * test_server_threaded.c — the server core's threaded mode (include/sockit/server.h, `threads`).
 *
 * A blocking line handler for 8 clients on 4 threads (all four busy at once, the handed socket's
 * timeout: as configured, the finite default, none); queue overflow and max_conns; graceful stop
 * past stop_grace, and stop returning as soon as the last handler ends; a silent client cut off
 * by the timeout, in plain and TLS (the handshake is bounded too); TLS handshake failures logged
 * at most once a second, and the rate limiter itself counting what it holds back; a pool that
 * fails to start half-way (test hook) leaving no thread behind, and sockit_server_free joining a
 * pool still running; a socket object that cannot be made (test hook) leaving no stale state
 * (the open count, the fd number stop would shut down); the bound on `threads`.
 *
 * Every server is checked on the way out: no open connection counted, and the process has the
 * descriptors it had before the server was made.
 */
#include "server_util.h"
#include "tls_util.h"
#include "internal/server.h" /* test hooks and the rate limiter */

#include <math.h>

/* Milliseconds of tu_now(), for times shared between threads through the SU_ atomics. */
static long long now_ms(void)
{
    return (long long)(tu_now() * 1000);
}

/* Threads of this process (the Threads: line of /proc/self/status), -1 if unknown. */
static int task_count(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    const char *t = strstr(buf, "\nThreads:");
    return t ? atoi(t + 9) : -1;
}

/* ---- a test server and its record ------------------------------------------------------------ */

struct th {
    sockit_server *srv;
    sockit_addr addr;
    int fd_start;
    double timeout;       /* as configured */
    int mode;             /* 0 line echo; 1 hold: "hi\n" then read until EOF */
    int gate;             /* a handler starts only once this many have started (bounded wait) */
    int cur, max, done, bad_timeout, handled;
    int hold_result;
    long long hold_ended_ms;
    int peer_bad;
    int log_calls, log_more; /* log lines; those saying how many were held back */
    char log_msg[512];
    pthread_mutex_t mu;
};

static void th_log(void *user, const char *message)
{
    struct th *h = user;
    pthread_mutex_lock(&h->mu);
    h->log_calls++;
    h->log_more += strstr(message, "more since last said") != NULL;
    snprintf(h->log_msg, sizeof h->log_msg, "%s", message);
    pthread_mutex_unlock(&h->mu);
}

/* What was logged so far: the count of lines and the last line. */
struct logsnap {
    int lines;
    char last[512];
};

static struct logsnap th_logs(struct th *h)
{
    struct logsnap snap;
    pthread_mutex_lock(&h->mu);
    snap.lines = h->log_calls;
    memcpy(snap.last, h->log_msg, sizeof snap.last);
    pthread_mutex_unlock(&h->mu);
    return snap;
}

static sockit_server_stats th_stats(struct th *h)
{
    sockit_server_stats st;
    sockit_server_stats_get(h->srv, &st);
    return st;
}

/* The handed socket's timeout for a configured one. */
static double want_timeout(double configured)
{
    if (configured == 0)
        return SOCKIT_SERVER_THREADED_TIMEOUT;
    return configured > 0 ? configured : -1;
}

static void line_echo(sockit_sock *conn)
{
    sockit_reader *rd = NULL;
    if (sockit_reader_new(&rd, conn, 0) != 0)
        return;
    char line[256], out[300];
    for (int i = 0; i < 1000; i++) {
        ssize_t n = sockit_reader_getline(rd, line, sizeof line, 1);
        if (n <= 0 || strcmp(line, "QUIT") == 0)
            break;
        int m = snprintf(out, sizeof out, "echo: %s\n", line);
        if (sockit_sendall(conn, out, (size_t)m, 0) != 0)
            break;
    }
    sockit_reader_free(rd);
}

static void th_handle(sockit_sock *conn, const sockit_addr *peer, void *user)
{
    struct th *h = user;
    SU_INC(h->handled);
    int cur = SU_INC(h->cur);
    SU_MAX(h->max, cur);
    SU_WAIT(SU_GET(h->handled) >= SU_GET(h->gate), 5); /* overlap the first handlers, without sleeping */
    if (!(fabs(sockit_gettimeout(conn) - want_timeout(h->timeout)) < 1e-9))
        SU_INC(h->bad_timeout);
    if (!peer || peer->sa.ss_family != AF_INET)
        SU_INC(h->peer_bad);
    if (SU_GET(h->mode) == 1) {
        sockit_sendall(conn, "hi\n", 3, 0);
        char c;
        ssize_t r;
        while ((r = sockit_recv(conn, &c, 1, 0)) > 0) {
        }
        SU_SET(h->hold_result, (int)r);
        SU_SET(h->hold_ended_ms, now_ms());
    } else {
        line_echo(conn);
    }
    SU_DEC(h->cur);
    SU_INC(h->done);
}

static const sockit_server_cbs th_cbs = {.handle = th_handle};

static void th_init(struct th *h)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    h->fd_start = su_fd_count();
}

/* Makes the server (not started); 0 or a code (a failure is a failed check). */
static int th_new(struct th *h, sockit_server_config *cfg)
{
    cfg->cbs = &th_cbs;
    cfg->user = h;
    cfg->log = th_log;
    h->timeout = cfg->timeout;
    int r = sockit_server_new(&h->srv, cfg);
    CHECK_OK(r);
    if (r == 0)
        sockit_server_addr(h->srv, &h->addr);
    return r;
}

static void th_finish(struct th *h);

/* th_init + th_new + start; on failure (a failed check) it is all undone and a code returned. */
static int th_start(struct th *h, sockit_server_config *cfg)
{
    th_init(h);
    int r = th_new(h, cfg);
    if (r == 0) {
        r = sockit_server_start(h->srv);
        CHECK_OK(r);
    }
    if (r)
        th_finish(h);
    return r;
}

static void th_finish(struct th *h)
{
    if (h->srv) {
        sockit_server_stop(h->srv);
        CHECK_OK(sockit_server_wait(h->srv));
        CHECK_INT(th_stats(h).active, ==, 0);
        sockit_server_free(h->srv);
        h->srv = NULL;
        CHECK_INT(su_fd_count(), ==, h->fd_start);
    }
    pthread_mutex_destroy(&h->mu);
}

struct th_client {
    sockit_addr addr;
    int id, ok;
};

static void *th_client_main(void *arg)
{
    struct th_client *c = arg;
    sockit_sock *s = su_connect(&c->addr, 10.0);
    if (!s)
        return NULL;
    sockit_reader *rd = NULL;
    if (sockit_reader_new(&rd, s, 0) != 0) {
        sockit_close(s);
        return NULL;
    }
    int good = 0;
    for (int i = 0; i < 5; i++) {
        char msg[64], want[80], got[128];
        snprintf(msg, sizeof msg, "client %d line %d\n", c->id, i);
        snprintf(want, sizeof want, "echo: client %d line %d", c->id, i);
        if (sockit_sendall(s, msg, strlen(msg), 0) != 0)
            break;
        if (sockit_reader_getline(rd, got, sizeof got, 1) <= 0)
            break;
        good += strcmp(got, want) == 0;
    }
    sockit_sendall(s, "QUIT\n", 5, 0);
    char tail[8];
    ssize_t eof = sockit_reader_read(rd, tail, sizeof tail);
    c->ok = good == 5 && eof == 0;
    sockit_reader_free(rd);
    sockit_close(s);
    return NULL;
}

/* ---- serving ----------------------------------------------------------------------------------- */

static void test_threaded_clients(void)
{
    static struct th h;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .threads = 4, .queue = 8,
                                .timeout = 5.0};
    if (th_start(&h, &cfg) != 0)
        return;
    SU_SET(h.gate, 4); /* the first four handlers wait for each other: all four threads busy at once */
    enum { NC = 8 };
    struct th_client cl[NC];
    pthread_t tids[NC];
    for (int i = 0; i < NC; i++) {
        cl[i] = (struct th_client){h.addr, i, 0};
        pthread_create(&tids[i], NULL, th_client_main, &cl[i]);
    }
    int ok = 0;
    for (int i = 0; i < NC; i++) {
        pthread_join(tids[i], NULL);
        ok += cl[i].ok;
    }
    CHECK_INT(ok, ==, NC);
    CHECK_INT(SU_WAIT(SU_GET(h.done) == NC, 5), ==, 1);
    CHECK_INT(SU_GET(h.handled), ==, NC);
    CHECK_INT(SU_GET(h.max), ==, 4);
    CHECK_INT(SU_GET(h.bad_timeout), ==, 0);
    CHECK_INT(SU_GET(h.peer_bad), ==, 0);
    CHECK_INT(SU_WAIT(th_stats(&h).active == 0, 5), ==, 1);
    sockit_server_stats st = th_stats(&h);
    CHECK_INT(st.accepted, ==, NC);
    CHECK_INT(st.refused, ==, 0);
    th_finish(&h);

    /* Timeout 0 is the finite default (a silent peer cannot hold a thread forever); a negative
     * one asks for none (the handed socket blocks). The handler checks what it was given. */
    const double timeouts[] = {0, -1};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        TU_CTX("timeout %g", timeouts[i]);
        sockit_server_config cfg2 = {.host = "127.0.0.1", .port = "0", .threads = 2,
                                     .timeout = timeouts[i]};
        if (th_start(&h, &cfg2) != 0)
            continue;
        struct th_client one = {h.addr, 99, 0};
        th_client_main(&one);
        CHECK_INT(one.ok, ==, 1);
        CHECK_INT(SU_WAIT(SU_GET(h.done) == 1, 5), ==, 1);
        CHECK_INT(SU_GET(h.bad_timeout), ==, 0);
        th_finish(&h);
    }
    tu_ctx_[0] = '\0';
    CHECK_DBL(SOCKIT_SERVER_THREADED_TIMEOUT, >, 0);
    CHECK_DBL(SOCKIT_SERVER_THREADED_TIMEOUT, <=, 600);
}

static void test_threaded_overflow(void)
{
    static struct th h;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .threads = 1, .queue = 1,
                                .timeout = 5.0};
    if (th_start(&h, &cfg) != 0)
        return;
    SU_SET(h.mode, 1);
    char hi[4] = {0};
    sockit_sock *c1 = su_connect(&h.addr, 5.0);
    CHECK_TRUE(c1 && su_recv_n(c1, hi, 3) == 3); /* the one thread is busy with c1 */
    sockit_sock *c2 = su_connect(&h.addr, 5.0);
    CHECK_INT(SU_WAIT(th_stats(&h).accepted == 2, 5), ==, 1); /* c2 queued */
    /* c3 is refused: reset (or closed) at once; so fast that the connect itself may fail */
    int err = 0;
    sockit_sock *c3 = su_connect_ex(&h.addr, 5.0, &err);
    if (!c3)
        CHECK_CODE(err, -ECONNRESET);
    if (c3) {
        double t0 = tu_now();
        int ev = su_next_event(c3, 3.0);
        CHECK_TRUE(ev == 0 || ev == -ECONNRESET);
        CHECK_DBL(tu_now() - t0, <, 1.0);
    }
    /* (the reset can reach the client before the server has counted and logged it) */
    CHECK_INT(SU_WAIT(th_stats(&h).refused == 1, 3), ==, 1);
    CHECK_INT(SU_WAIT(th_logs(&h).lines >= 1, 3), ==, 1);
    CHECK_CONTAINS(th_logs(&h).last, "busy");
    /* c2 is served once c1 leaves. */
    sockit_close(c1);
    if (c2) {
        memset(hi, 0, sizeof hi);
        CHECK_INT(su_recv_n(c2, hi, 3), ==, 3);
        CHECK_STR(hi, "hi\n");
    }
    sockit_close(c2);
    sockit_close(c3);
    CHECK_INT(SU_WAIT(SU_GET(h.done) == 2, 5), ==, 1);
    th_finish(&h);

    /* The connection limit holds in threaded mode too: 2 threads, room in the queue, but
     * max_conns 2: the third is refused. */
    sockit_server_config cfg2 = {.host = "127.0.0.1", .port = "0", .threads = 2, .queue = 4,
                                 .max_conns = 2, .timeout = 5.0};
    if (th_start(&h, &cfg2) != 0)
        return;
    SU_SET(h.mode, 1);
    sockit_sock *d[3] = {0};
    for (int i = 0; i < 2; i++) {
        d[i] = su_connect(&h.addr, 5.0);
        memset(hi, 0, sizeof hi);
        CHECK_TRUE(d[i] && su_recv_n(d[i], hi, 3) == 3);
    }
    err = 0;
    d[2] = su_connect_ex(&h.addr, 5.0, &err);
    if (d[2]) {
        int ev = su_next_event(d[2], 3.0);
        CHECK_TRUE(ev == 0 || ev == -ECONNRESET);
    } else {
        CHECK_CODE(err, -ECONNRESET);
    }
    CHECK_INT(SU_WAIT(th_stats(&h).refused == 1, 3), ==, 1);
    CHECK_INT(th_stats(&h).active, ==, 2);
    for (int i = 0; i < 3; i++)
        sockit_close(d[i]);
    CHECK_INT(SU_WAIT(SU_GET(h.done) == 2, 5), ==, 1);
    th_finish(&h);
}

/* ---- stopping ------------------------------------------------------------------------------------ */

static void test_threaded_stop_grace(void)
{
    static struct th h;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .threads = 1, .queue = 2,
                                .stop_grace = 0.3, .timeout = -1}; /* blocks reading, no timeout */
    if (th_start(&h, &cfg) != 0)
        return;
    SU_SET(h.mode, 1);
    char hi[4] = {0};
    sockit_sock *c1 = su_connect(&h.addr, 5.0);
    CHECK_TRUE(c1 && su_recv_n(c1, hi, 3) == 3);
    sockit_sock *c2 = su_connect(&h.addr, 5.0); /* queued, never started */
    CHECK_INT(SU_WAIT(th_stats(&h).accepted == 2, 5), ==, 1);
    double t0 = tu_now();
    long long t0_ms = now_ms();
    sockit_server_stop(h.srv);
    CHECK_OK(sockit_server_wait(h.srv));
    double took = tu_now() - t0;
    CHECK_DBL(took, >=, 0.25);
    CHECK_DBL(took, <, 3.0);
    /* The handler's blocking read was ended by the shutdown of its socket. */
    CHECK_INT(SU_GET(h.done), ==, 1);
    CHECK_INT(SU_GET(h.hold_result), <=, 0);
    CHECK_INT(SU_GET(h.hold_ended_ms) - t0_ms, >=, 250);
    if (c1)
        CHECK_INT(su_next_event(c1, 2.0), ==, 0);
    if (c2) {
        int ev = su_next_event(c2, 2.0);
        CHECK_TRUE(ev == 0 || ev == -ECONNRESET);
    }
    CHECK_INT(SU_GET(h.handled), ==, 1); /* c2 never reached a handler */
    sockit_close(c1);
    sockit_close(c2);
    th_finish(&h);
}

/* 1 if a connection to addr is accepted by the kernel now (it is closed again at once). */
static int can_connect(const sockit_addr *addr)
{
    sockit_sock *s = su_connect(addr, 1.0);
    sockit_close(s);
    return s != NULL;
}

struct stopper {
    sockit_server *srv;
    int done;
    long long took_ms;
};

static void *stop_main(void *arg)
{
    struct stopper *s = arg;
    long long t0 = now_ms();
    sockit_server_stop(s->srv);
    sockit_server_wait(s->srv);
    SU_SET(s->took_ms, now_ms() - t0);
    SU_SET(s->done, 1);
    return NULL;
}

/* Stop waits for running handlers (a wait woken by each handler's end), not for the grace: with
 * 30 s of grace, it returns once the last handler is done. */
static void test_threaded_stop_wakes(void)
{
    static struct th h;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .threads = 2,
                                .stop_grace = 30, .timeout = -1};
    if (th_start(&h, &cfg) != 0)
        return;
    SU_SET(h.mode, 1);
    char hi[4] = {0};
    sockit_sock *c1 = su_connect(&h.addr, 5.0);
    CHECK_TRUE(c1 && su_recv_n(c1, hi, 3) == 3);
    struct stopper s = {h.srv, 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, stop_main, &s);
    /* The listener closes first; then stop waits for the handler. */
    CHECK_INT(SU_WAIT(!can_connect(&h.addr), 5), ==, 1);
    CHECK_INT(SU_GET(s.done), ==, 0); /* the handler still runs: stop still waits */
    sockit_close(c1);                 /* the handler reads EOF and returns */
    CHECK_INT(SU_WAIT(SU_GET(s.done) == 1, 10), ==, 1);
    pthread_join(t, NULL);
    CHECK_INT(SU_GET(s.took_ms), <, 10000);
    CHECK_INT(SU_GET(h.hold_result), ==, 0); /* EOF, not a shutdown */
    sockit_server_free(h.srv);
    h.srv = NULL;
    CHECK_INT(su_fd_count(), ==, h.fd_start);
    th_finish(&h);
}

/* ---- timeouts ------------------------------------------------------------------------------------- */

/* A client that connects and says nothing is cut off by the timeout: the handler's read fails
 * with -ETIMEDOUT, the server closes, the client sees the end. */
static void test_threaded_silent_client(void)
{
    static struct th h;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .threads = 1, .timeout = 0.3};
    if (th_start(&h, &cfg) != 0)
        return;
    SU_SET(h.mode, 1);
    char hi[4] = {0};
    sockit_sock *c = su_connect(&h.addr, 5.0);
    CHECK_TRUE(c && su_recv_n(c, hi, 3) == 3);
    double t0 = tu_now();
    if (c) {
        int ev = su_next_event(c, 5.0);
        CHECK_TRUE(ev == 0 || ev == -ECONNRESET);
        CHECK_DBL(tu_now() - t0, <, 3.0);
    }
    CHECK_INT(SU_WAIT(SU_GET(h.done) == 1, 5), ==, 1);
    CHECK_CODE(SU_GET(h.hold_result), -ETIMEDOUT);
    CHECK_INT(SU_GET(h.bad_timeout), ==, 0);
    /* The thread is free again: the next client is served. */
    sockit_sock *c2 = su_connect(&h.addr, 5.0);
    memset(hi, 0, sizeof hi);
    CHECK_TRUE(c2 && su_recv_n(c2, hi, 3) == 3);
    sockit_close(c2);
    sockit_close(c);
    CHECK_INT(SU_WAIT(SU_GET(h.done) == 2, 5), ==, 1);
    th_finish(&h);
}

/* ---- TLS: the handshake bounded by the timeout, its failures logged with a limit ----------- */

static tlsu_certs C;
static int have_certs;

struct rude {
    sockit_addr addr;
    const char *say; /* sent, then we read until the server closes; NULL: silent */
    int end;
    double took;
};

static void *rude_main(void *arg)
{
    struct rude *r = arg;
    r->end = -1;
    sockit_sock *s = su_connect(&r->addr, 5.0);
    if (!s)
        return NULL;
    double t0 = tu_now();
    if (r->say)
        sockit_sendall(s, r->say, strlen(r->say), 0);
    int ev;
    while ((ev = su_next_event(s, 5.0)) == 1) { /* an alert may come first */
    }
    r->end = ev;
    r->took = tu_now() - t0;
    sockit_close(s);
    return NULL;
}

static void test_threaded_tls_failures(void)
{
    if (!have_certs)
        TU_SKIP("no certificates (openssl command)");
    sockit_tls_opts o = {.server = 1, .cert = C.srv, .key = C.srv_key};
    sockit_tls_ctx *ctx = NULL;
    CHECK_OK(sockit_tls_ctx_new(&ctx, &o));
    if (!ctx)
        return;
    static struct th h;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .threads = 4, .queue = 32,
                                .timeout = 0.3, .tls = ctx};
    int r = th_start(&h, &cfg);
    sockit_tls_ctx_free(ctx);
    if (r != 0)
        return;
    /* A silent client: the handshake gives up after the timeout and the connection closes. */
    struct rude silent = {h.addr, NULL, -1, 0};
    rude_main(&silent);
    CHECK_TRUE(silent.end == 0 || silent.end == -ECONNRESET);
    CHECK_DBL(silent.took, >=, 0.25);
    CHECK_DBL(silent.took, <, 3.0);
    CHECK_INT(SU_WAIT(th_stats(&h).active == 0, 5), ==, 1);
    CHECK_INT(SU_WAIT(th_logs(&h).lines == 1, 5), ==, 1);
    CHECK_CONTAINS(th_logs(&h).last, "tls handshake failed");
    /* 24 clients speaking plain HTTP: every handshake fails at once, yet at most a line a second
     * is said, and a later line counts the ones held back. */
    enum { NR = 24 };
    struct rude rr[NR];
    pthread_t t[NR];
    double t0 = tu_now();
    for (int i = 0; i < NR; i++) {
        rr[i] = (struct rude){h.addr, "GET / HTTP/1.0\r\n\r\n", -1, 0};
        pthread_create(&t[i], NULL, rude_main, &rr[i]);
    }
    int ended = 0;
    for (int i = 0; i < NR; i++) {
        pthread_join(t[i], NULL);
        ended += rr[i].end == 0 || rr[i].end == -ECONNRESET;
    }
    CHECK_INT(ended, ==, NR);
    CHECK_INT(SU_WAIT(th_stats(&h).active == 0, 5), ==, 1);
    double took = tu_now() - t0;
    int lines = th_logs(&h).lines;
    CHECK_INT(lines, >=, 1);
    CHECK_INT(lines, <=, 2 + (int)took); /* the silent client's line, then one a second */
    CHECK_INT(SU_GET(h.handled), ==, 0);
    th_finish(&h);
}

/* The limiter alone: four threads saying 50 lines each within far less than a second are one
 * line; pushed a second into the past, the next line says how many were held back. */
struct rl_job {
    sockit_server *srv;
    struct sockit__ratelog *rl;
};

static void *rl_main(void *arg)
{
    struct rl_job *j = arg;
    for (int i = 0; i < 50; i++)
        sockit__ratelog(j->srv, j->rl, "what", "why");
    return NULL;
}

static void test_ratelog(void)
{
    static struct th h;
    th_init(&h);
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .threads = 1};
    if (th_new(&h, &cfg) != 0) {
        th_finish(&h);
        return;
    }
    struct sockit__ratelog rl = {0};
    struct rl_job j = {h.srv, &rl};
    pthread_t t[4];
    double t0 = tu_now();
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, rl_main, &j);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    double took = tu_now() - t0;
    int lines = th_logs(&h).lines;
    CHECK_INT(lines, >=, 1);
    CHECK_INT(lines, <=, 1 + (int)took);
    if (lines == 1)
        CHECK_STR(th_logs(&h).last, "what: why (0 more since last said)");
    atomic_store(&rl.last, sockit__now() - 2000000000LL);
    sockit__ratelog(h.srv, &rl, "what", "again");
    char want[128];
    snprintf(want, sizeof want, "what: again (%d more since last said)", 200 - lines);
    if (lines == 1) /* (under heavy load the 200 calls may span seconds and say more lines) */
        CHECK_STR(th_logs(&h).last, want);
    CHECK_INT(th_logs(&h).lines, ==, lines + 1);
    CHECK_INT(atomic_load(&rl.held), ==, 0);
    th_finish(&h);
}

/* ---- failures on the way: the pool's start, a connection's socket object ------------------------ */

/* Thread 3 of 4 cannot be created: start fails and the two threads already made are stopped and
 * joined — none is left behind — and the server can still be freed. */
static void test_threaded_start_fails(void)
{
    static struct th h;
    th_init(&h);
    int tasks0 = task_count();
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .threads = 4};
    if (th_new(&h, &cfg) != 0) {
        th_finish(&h);
        return;
    }
    atomic_store(&sockit__pool_fail_thread, 3);
    CHECK_CODE(sockit_server_start(h.srv), -EAGAIN);
    CHECK_CONTAINS(sockit_errmsg(), "thread 3 of 4");
    CHECK_INT(atomic_load(&sockit__pool_fail_thread), ==, 0);
    CHECK_INT(SU_WAIT(task_count() == tasks0, 5), ==, 1);
    CHECK_INT(task_count(), ==, tasks0);
    sockit_server_free(h.srv);
    h.srv = NULL;
    CHECK_INT(su_fd_count(), ==, h.fd_start);
    th_finish(&h);

    /* A pool still running when the server is freed is stopped and joined by the free. */
    th_init(&h);
    if (th_new(&h, &cfg) != 0) {
        th_finish(&h);
        return;
    }
    CHECK_OK(sockit__pool_start(h.srv));
    CHECK_INT(task_count(), ==, tasks0 + 4);
    sockit_server_free(h.srv);
    h.srv = NULL;
    CHECK_INT(SU_WAIT(task_count() == tasks0, 5), ==, 1);
    CHECK_INT(su_fd_count(), ==, h.fd_start);
    th_finish(&h);
}

/* The socket object for a connection cannot be made: the connection is closed and counted out,
 * and the thread's slot is cleared — stop must not shut down the fd number, which by then
 * belongs to someone else (here: every free number up to 256 is a socket of ours). */
static void test_threaded_sock_fails(void)
{
    static struct th h;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .threads = 1,
                                .stop_grace = 0.2};
    if (th_start(&h, &cfg) != 0)
        return;
    atomic_store(&sockit__pool_fail_sock, 1);
    sockit_sock *c = su_connect(&h.addr, 5.0);
    if (c) {
        int ev = su_next_event(c, 5.0);
        CHECK_TRUE(ev == 0 || ev == -ECONNRESET);
    }
    sockit_close(c);
    CHECK_INT(SU_WAIT(th_stats(&h).active == 0, 5), ==, 1);
    CHECK_INT(atomic_load(&sockit__pool_fail_sock), ==, 0);
    CHECK_INT(SU_GET(h.handled), ==, 0);
    struct logsnap logged = th_logs(&h);
    CHECK_INT(logged.lines, ==, 1);
    CHECK_CONTAINS(logged.last, "socket");
    /* Fill the free numbers with one socket of a pair, then stop the server. */
    int sv[2];
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    int dups[256], ndups = 0;
    for (int fd = 3; fd < 256; fd++)
        if (fcntl(fd, F_GETFD) < 0 && dup2(sv[0], fd) == fd)
            dups[ndups++] = fd;
    CHECK_INT(ndups, >, 0);
    sockit_server_stop(h.srv);
    CHECK_OK(sockit_server_wait(h.srv));
    /* Nothing of ours was shut down: the pair still carries bytes both ways. */
    CHECK_INT(write(sv[1], "x", 1), ==, 1);
    char b = 0;
    CHECK_INT(read(sv[0], &b, 1), ==, 1);
    CHECK_INT(write(sv[0], "y", 1), ==, 1);
    CHECK_INT(read(sv[1], &b, 1), ==, 1);
    CHECK_INT(b, ==, 'y');
    for (int i = 0; i < ndups; i++)
        close(dups[i]);
    close(sv[0]);
    close(sv[1]);
    sockit_server_free(h.srv);
    h.srv = NULL;
    CHECK_INT(su_fd_count(), ==, h.fd_start);
    th_finish(&h);
}

/* ---- configuration --------------------------------------------------------------------------------- */

static void test_threaded_bounds(void)
{
    sockit_server *srv = NULL;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .cbs = &th_cbs,
                                .threads = SOCKIT_SERVER_MAX_THREADS + 1};
    CHECK_CODE(sockit_server_new(&srv, &cfg), -EINVAL);
    CHECK_TRUE(srv == NULL);
    char bound[16];
    snprintf(bound, sizeof bound, "%d", SOCKIT_SERVER_MAX_THREADS);
    CHECK_CONTAINS(sockit_errmsg(), bound);
    cfg.threads = 1000000;
    CHECK_CODE(sockit_server_new(&srv, &cfg), -EINVAL);
    CHECK_CONTAINS(sockit_errmsg(), bound);
    cfg.threads = 2;
    cfg.timeout = NAN;
    CHECK_CODE(sockit_server_new(&srv, &cfg), -EINVAL);
    CHECK_CONTAINS(sockit_errmsg(), "timeout");
    /* The bound itself is fine (made, never started). */
    int fd0 = su_fd_count();
    cfg.timeout = 0;
    cfg.threads = SOCKIT_SERVER_MAX_THREADS;
    CHECK_OK(sockit_server_new(&srv, &cfg));
    sockit_server_free(srv);
    CHECK_INT(su_fd_count(), ==, fd0);
}

/* ---- main ------------------------------------------------------------------------------------------ */

int main(void)
{
    su_raise_nofile();
    have_certs = tlsu_make_certs(&C) == 0;
    TU_RUN(test_threaded_bounds, 10);
    TU_RUN(test_threaded_clients, 30);
    TU_RUN(test_threaded_overflow, 15);
    TU_RUN(test_threaded_stop_grace, 15);
    TU_RUN(test_threaded_stop_wakes, 20);
    TU_RUN(test_threaded_silent_client, 15);
    TU_RUN(test_threaded_tls_failures, 30);
    TU_RUN(test_ratelog, 15);
    TU_RUN(test_threaded_start_fails, 15);
    TU_RUN(test_threaded_sock_fails, 15);
    tlsu_rmdir(C.dir);
    return tu_done();
}
