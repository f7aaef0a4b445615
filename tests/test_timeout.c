/*
 * test_timeout.c — Python's per-socket timeout: the round trip of the value, the default for
 * new sockets, timeout 0 (non-blocking: -EAGAIN), a timeout that fires (-ETIMEDOUT, on time),
 * sendall bounded as one call, and signals arriving mid-call that never surface as -EINTR
 * (PEP 475: the call goes on with the time that remains).
 */
#include "testutil.h"

#include <poll.h>

#include <math.h>
#include <sys/time.h>

/* A socketpair, both ends the caller's. */
static int pair(sockit_sock **a, sockit_sock **b)
{
    *a = *b = NULL;
    return sockit_socketpair(a, b, 0, SOCK_STREAM);
}

/* A loopback TCP listener on a free port; its port in port (8 bytes). */
static sockit_sock *listener(const char *host, int family, char *port)
{
    sockit_sock *l = NULL;
    port[0] = '\0';
    if (sockit_socket(&l, family, SOCK_STREAM, 0) != 0)
        return NULL;
    if (sockit_bind(l, host, "0") != 0 || sockit_listen(l, -1) != 0) {
        sockit_close(l);
        return NULL;
    }
    tu_portstr(l, port);
    return l;
}

static void test_timeout_roundtrip(void)
{
    sockit_sock *s = NULL;
    CHECK_OK(sockit_socket(&s, AF_INET, SOCK_STREAM, 0));
    CHECK_DBL(sockit_gettimeout(s), <, 0);
    CHECK_OK(sockit_settimeout(s, 0.25));
    CHECK_DBL(sockit_gettimeout(s), ==, 0.25);
    CHECK_OK(sockit_settimeout(s, 0));
    CHECK_DBL(sockit_gettimeout(s), ==, 0);
    CHECK_OK(sockit_settimeout(s, 3.5));
    CHECK_DBL(sockit_gettimeout(s), ==, 3.5);
    CHECK_OK(sockit_settimeout(s, -1));
    CHECK_DBL(sockit_gettimeout(s), <, 0);
    CHECK_OK(sockit_settimeout(s, 1e-3));
    CHECK_DBL(sockit_gettimeout(s), ==, 1e-3);
    CHECK_OK(sockit_settimeout(s, -0.5));
    CHECK_DBL(sockit_gettimeout(s), <, 0);
    CHECK_OK(sockit_settimeout(s, 86400.0 * 365));
    CHECK_DBL(sockit_gettimeout(s), ==, 86400.0 * 365);
    /* NaN is refused and changes nothing. */
    CHECK_CODE(sockit_settimeout(s, NAN), -EINVAL);
    CHECK_DBL(sockit_gettimeout(s), ==, 86400.0 * 365);
    CHECK_CODE(sockit_settimeout(s, -NAN), -EINVAL);
    CHECK_DBL(sockit_gettimeout(s), ==, 86400.0 * 365);
    sockit_close(s);
}

static void test_default_timeout(void)
{
    CHECK_DBL(sockit_getdefaulttimeout(), <, 0);
    CHECK_OK(sockit_setdefaulttimeout(0.75));
    CHECK_DBL(sockit_getdefaulttimeout(), ==, 0.75);
    CHECK_CODE(sockit_setdefaulttimeout(NAN), -EINVAL);
    CHECK_DBL(sockit_getdefaulttimeout(), ==, 0.75);

    sockit_sock *s = NULL, *c = NULL, *a = NULL;
    CHECK_OK(sockit_socket(&s, AF_INET, SOCK_STREAM, 0));
    CHECK_DBL(sockit_gettimeout(s), ==, 0.75);
    sockit_close(s);

    /* accept gives the default too, whatever the listener's own timeout. */
    char port[8];
    sockit_sock *l = listener("127.0.0.1", AF_INET, port);
    CHECK_TRUE(l != NULL);
    CHECK_OK(sockit_settimeout(l, 5.0));
    CHECK_OK(sockit_socket(&c, AF_INET, SOCK_STREAM, 0));
    CHECK_OK(sockit_connect(c, "127.0.0.1", port));
    CHECK_OK(sockit_accept(l, &a, NULL));
    if (a)
        CHECK_DBL(sockit_gettimeout(a), ==, 0.75);
    sockit_close(a);
    sockit_close(c);
    sockit_close(l);

    /* create_connection keeps the timeout it was given. */
    l = listener("127.0.0.1", AF_INET, port);
    CHECK_OK(sockit_create_connection(&c, "127.0.0.1", port, 2.5));
    if (c)
        CHECK_DBL(sockit_gettimeout(c), ==, 2.5);
    sockit_close(c);
    sockit_close(l);

    /* fromfd keeps the fd's own mode. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_OK(sockit_fromfd(&s, fd));
    CHECK_DBL(sockit_gettimeout(s), <, 0);
    sockit_close(s);

    CHECK_OK(sockit_setdefaulttimeout(-1));
    CHECK_DBL(sockit_getdefaulttimeout(), <, 0);
    CHECK_OK(sockit_socket(&s, AF_INET, SOCK_STREAM, 0));
    CHECK_DBL(sockit_gettimeout(s), <, 0);
    sockit_close(s);

    /* With no default, an accepted socket blocks, whatever the listener's timeout. */
    l = listener("127.0.0.1", AF_INET, port);
    CHECK_OK(sockit_settimeout(l, 5.0));
    c = a = NULL;
    CHECK_OK(sockit_create_connection(&c, "127.0.0.1", port, 5.0));
    CHECK_OK(sockit_accept(l, &a, NULL));
    if (a)
        CHECK_DBL(sockit_gettimeout(a), <, 0);
    sockit_close(a);
    sockit_close(c);
    sockit_close(l);
}

static void test_timeout_zero(void)
{
    sockit_sock *a, *b;
    char buf[16];
    double t0;

    CHECK_OK(pair(&a, &b));
    CHECK_OK(sockit_settimeout(b, 0));
    t0 = tu_now();
    CHECK_CODE(sockit_recv(b, buf, sizeof buf, 0), -EAGAIN);
    CHECK_DBL(tu_now() - t0, <, 0.1);
    CHECK_INT(sockit_send(a, "x", 1, 0), ==, 1);
    CHECK_INT(sockit_recv(b, buf, sizeof buf, 0), ==, 1);
    CHECK_CODE(sockit_recv(b, buf, sizeof buf, 0), -EAGAIN);

    /* A full send buffer: -EAGAIN, not a wait. */
    static char chunk[65536];
    CHECK_OK(sockit_settimeout(a, 0));
    ssize_t rc = 0;
    int i;
    t0 = tu_now();
    for (i = 0; i < 10000; i++) {
        rc = sockit_send(a, chunk, sizeof chunk, 0);
        if (rc < 0)
            break;
    }
    CHECK_CODE(rc, -EAGAIN);
    CHECK_DBL(tu_now() - t0, <, 2.0);
    size_t sent = 0;
    CHECK_CODE(sockit_sendall_ex(a, chunk, sizeof chunk, 0, &sent), -EAGAIN);
    sockit_close(a);
    sockit_close(b);

    /* accept with nothing waiting. */
    char port[8];
    sockit_sock *l = listener("127.0.0.1", AF_INET, port);
    CHECK_TRUE(l != NULL);
    CHECK_OK(sockit_settimeout(l, 0));
    sockit_sock *c = NULL, *conn = NULL;
    t0 = tu_now();
    CHECK_CODE(sockit_accept(l, &conn, NULL), -EAGAIN);
    CHECK_DBL(tu_now() - t0, <, 0.1);

    /* connect with timeout 0: done at once on loopback, or in progress. */
    CHECK_OK(sockit_socket(&c, AF_INET, SOCK_STREAM, 0));
    CHECK_OK(sockit_settimeout(c, 0));
    int crc = sockit_connect(c, "127.0.0.1", port);
    CHECK_TRUE(crc == 0 || crc == -EINPROGRESS);
    /* Wait for the conditions themselves: the connect completes (writable), the listener has it
     * (readable). */
    struct pollfd pc = {.fd = sockit_fileno(c), .events = POLLOUT};
    CHECK_INT(poll(&pc, 1, 10000), ==, 1);
    sockit_addr peer;
    CHECK_OK(sockit_getpeername(c, &peer));
    struct pollfd pl = {.fd = sockit_fileno(l), .events = POLLIN};
    CHECK_INT(poll(&pl, 1, 10000), ==, 1);
    CHECK_OK(sockit_accept(l, &conn, NULL));
    sockit_close(conn);
    sockit_close(c);
    sockit_close(l);
}

static void test_recv_timeout_fires(void)
{
    sockit_sock *a, *b;
    char buf[16];
    CHECK_OK(pair(&a, &b));
    CHECK_OK(sockit_settimeout(b, 0.2));
    double t0 = tu_now();
    CHECK_CODE(sockit_recv(b, buf, sizeof buf, 0), -ETIMEDOUT);
    double el = tu_now() - t0;
    CHECK_DBL(el, >=, 0.15);
    CHECK_DBL(el, <=, 1.0);
    CHECK_INT(strlen(sockit_errmsg()), >, 0);
    /* Per call: the next recv has its whole 0.2 s again, and data is still delivered. */
    CHECK_INT(sockit_send(a, "ok", 2, 0), ==, 2);
    CHECK_INT(sockit_recv(b, buf, sizeof buf, 0), ==, 2);
    sockit_close(a);
    sockit_close(b);

    /* recvfrom on UDP. */
    sockit_sock *u = NULL;
    CHECK_OK(sockit_socket(&u, AF_INET, SOCK_DGRAM, 0));
    CHECK_OK(sockit_bind(u, "127.0.0.1", "0"));
    CHECK_OK(sockit_settimeout(u, 0.2));
    sockit_addr from;
    t0 = tu_now();
    CHECK_CODE(sockit_recvfrom(u, buf, sizeof buf, 0, &from), -ETIMEDOUT);
    el = tu_now() - t0;
    CHECK_DBL(el, >=, 0.15);
    CHECK_DBL(el, <=, 1.0);
    sockit_close(u);
}

static void test_accept_timeout_fires(void)
{
    char port[8];
    sockit_sock *l = listener("::1", AF_INET6, port), *conn = NULL;
    CHECK_TRUE(l != NULL);
    CHECK_OK(sockit_settimeout(l, 0.2));
    double t0 = tu_now();
    CHECK_CODE(sockit_accept(l, &conn, NULL), -ETIMEDOUT);
    double el = tu_now() - t0;
    CHECK_DBL(el, >=, 0.15);
    CHECK_DBL(el, <=, 1.0);
    sockit_close(l);
}

struct later {
    sockit_sock *s;    /* send on it, or ... */
    const char *port;  /* ... connect to this loopback port */
    double delay;
    int rc;
};

static void *send_later(void *arg)
{
    struct later *l = (struct later *)arg;
    tu_block_sigalrm();
    tu_sleep(l->delay);
    l->rc = sockit_sendall(l->s, "later", 5, 0);
    return NULL;
}

static void *connect_later(void *arg)
{
    struct later *l = (struct later *)arg;
    tu_block_sigalrm();
    tu_sleep(l->delay);
    sockit_sock *c = NULL;
    l->rc = sockit_create_connection(&c, "127.0.0.1", l->port, 5.0);
    tu_sleep(0.3);
    sockit_close(c);
    return NULL;
}

static void test_data_before_timeout(void)
{
    sockit_sock *a, *b;
    char buf[16];
    CHECK_OK(pair(&a, &b));
    CHECK_OK(sockit_settimeout(b, 3.0));
    struct later job = {a, NULL, 0.1, -1};
    pthread_t t;
    CHECK_OK(pthread_create(&t, NULL, send_later, &job));
    double t0 = tu_now();
    CHECK_INT(sockit_recv(b, buf, sizeof buf, 0), ==, 5);
    CHECK_DBL(tu_now() - t0, <, 1.5);
    pthread_join(t, NULL);
    CHECK_OK(job.rc);
    sockit_close(a);
    sockit_close(b);
}

/* A tiny positive timeout is a timeout (not non-blocking); a huge one is as good as none. */
static void test_timeout_extremes(void)
{
    sockit_sock *a, *b;
    char buf[16];
    CHECK_OK(pair(&a, &b));
    CHECK_OK(sockit_settimeout(b, 1e-9));
    double t0 = tu_now();
    CHECK_CODE(sockit_recv(b, buf, sizeof buf, 0), -ETIMEDOUT);
    CHECK_DBL(tu_now() - t0, <, 0.1);
    CHECK_OK(sockit_settimeout(b, 1e-4));
    CHECK_CODE(sockit_recv(b, buf, sizeof buf, 0), -ETIMEDOUT);

    const double huge[] = {1e9, 1e12, 1e300, INFINITY};
    for (int i = 0; i < 4; i++) {
        TU_CTX("settimeout(%g), data after 0.1 s", huge[i]);
        int rc = sockit_settimeout(b, huge[i]);
        if (rc != 0) { /* refusing it is fine; misreading it is not */
            CHECK_INT(rc, <, 0);
            continue;
        }
        struct later job = {a, NULL, 0.1, -1};
        pthread_t t;
        CHECK_OK(pthread_create(&t, NULL, send_later, &job));
        t0 = tu_now();
        CHECK_INT(sockit_recv(b, buf, sizeof buf, 0), ==, 5);
        CHECK_DBL(tu_now() - t0, >=, 0.05);
        pthread_join(t, NULL);
    }
    sockit_close(a);
    sockit_close(b);
}

/* The peer closing during a timed wait ends it at once with end of stream. */
static void *close_later(void *arg)
{
    struct later *l = (struct later *)arg;
    tu_block_sigalrm();
    tu_sleep(l->delay);
    l->rc = sockit_close(l->s);
    return NULL;
}

static void test_peer_closes_during_wait(void)
{
    sockit_sock *a, *b;
    char buf[16];
    CHECK_OK(pair(&a, &b));
    CHECK_OK(sockit_settimeout(b, 3.0));
    struct later job = {a, NULL, 0.1, -1};
    pthread_t t;
    CHECK_OK(pthread_create(&t, NULL, close_later, &job));
    double t0 = tu_now();
    CHECK_INT(sockit_recv(b, buf, sizeof buf, 0), ==, 0);
    CHECK_DBL(tu_now() - t0, <, 1.5);
    pthread_join(t, NULL);
    CHECK_OK(job.rc);
    sockit_close(b);
}

/* sendall to a peer that never reads: the timeout ends the whole call. */
static void test_sendall_timeout_peer_never_reads(void)
{
    char port[8];
    sockit_sock *l = listener("127.0.0.1", AF_INET, port), *c = NULL, *a = NULL;
    CHECK_TRUE(l != NULL);
    CHECK_OK(sockit_socket(&c, AF_INET, SOCK_STREAM, 0));
    CHECK_OK(sockit_connect(c, "127.0.0.1", port));
    CHECK_OK(sockit_accept(l, &a, NULL));
    const size_t len = 64u << 20;
    char *data = malloc(len);
    CHECK_TRUE(data != NULL);
    if (!data)
        return;
    memset(data, 's', len);
    CHECK_OK(sockit_settimeout(c, 0.3));
    size_t sent = 0;
    double t0 = tu_now();
    CHECK_CODE(sockit_sendall_ex(c, data, len, 0, &sent), -ETIMEDOUT);
    double el = tu_now() - t0;
    CHECK_DBL(el, >=, 0.25);
    CHECK_DBL(el, <=, 1.5);
    CHECK_INT(sent, >, 0);
    CHECK_INT(sent, <, len);
    /* sendall (without _ex) says the same. */
    t0 = tu_now();
    CHECK_CODE(sockit_sendall(c, data, len, 0), -ETIMEDOUT);
    CHECK_DBL(tu_now() - t0, <=, 1.5);
    free(data);
    sockit_close(a);
    sockit_close(c);
    sockit_close(l);
}

/* A slow reader: every send makes progress well within the timeout, but the whole does not fit
 * in it. A timeout per send would go on for a minute; sendall's bounds the whole call. */
struct slow_reader {
    sockit_sock *s;
    int stop; /* atomic */
    size_t got;
};

static void *slow_read(void *arg)
{
    struct slow_reader *r = (struct slow_reader *)arg;
    char buf[4096];
    double end = tu_now() + 5.0;
    tu_block_sigalrm();
    sockit_settimeout(r->s, 0.05);
    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE) && tu_now() < end) {
        ssize_t n = sockit_recv(r->s, buf, sizeof buf, 0);
        if (n > 0)
            r->got += (size_t)n;
        else if (n == 0)
            break;
        tu_sleep(0.01);
    }
    return NULL;
}

static void test_sendall_timeout_whole_call(void)
{
    sockit_sock *a, *b;
    CHECK_OK(pair(&a, &b));
    CHECK_OK(sockit_setsockopt_int(a, SOL_SOCKET, SO_SNDBUF, 16384));
    CHECK_OK(sockit_setsockopt_int(b, SOL_SOCKET, SO_RCVBUF, 16384));
    struct slow_reader r = {b, 0, 0};
    pthread_t t;
    CHECK_OK(pthread_create(&t, NULL, slow_read, &r));
    const size_t len = 32u << 20;
    char *data = malloc(len);
    CHECK_TRUE(data != NULL);
    if (!data)
        return;
    memset(data, 'w', len);
    CHECK_OK(sockit_settimeout(a, 0.3));
    size_t sent = 0;
    double t0 = tu_now();
    CHECK_CODE(sockit_sendall_ex(a, data, len, 0, &sent), -ETIMEDOUT);
    double el = tu_now() - t0;
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    CHECK_DBL(el, >=, 0.25);
    CHECK_DBL(el, <=, 1.5);
    CHECK_INT(sent, >, 0);
    CHECK_INT(sent, <, len);
    CHECK_INT(r.got, >, 0);
    free(data);
    sockit_close(a);
    sockit_close(b);
}

static void test_connect_refused_with_timeout(void)
{
    /* A port bound and never listening: refused at once, not a timeout. */
    sockit_sock *hold = NULL, *c = NULL;
    char port[8];
    CHECK_OK(sockit_socket(&hold, AF_INET, SOCK_STREAM, 0));
    CHECK_OK(sockit_bind(hold, "127.0.0.1", "0"));
    tu_portstr(hold, port);
    CHECK_OK(sockit_socket(&c, AF_INET, SOCK_STREAM, 0));
    CHECK_OK(sockit_settimeout(c, 2.0));
    double t0 = tu_now();
    CHECK_CODE(sockit_connect(c, "127.0.0.1", port), -ECONNREFUSED);
    CHECK_DBL(tu_now() - t0, <, 1.0);
    sockit_close(c);
    sockit_close(hold);
}

static void test_connect_timeout_unanswered(void)
{
    /* Needs an address that swallows SYNs. On loopback without changing the firewall there is
     * none that behaves reliably (a full accept queue depends on kernel settings). */
    TU_SKIP("no unanswering address on loopback; connect timeouts are left to test_conn");
}

/* ---- signals mid-call -------------------------------------------------------------------- */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void signals_start(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: every blocking syscall sees EINTR */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void signals_stop(void)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, NULL);
    signal(SIGALRM, SIG_DFL);
}

static void test_signal_recv_with_timeout(void)
{
    sockit_sock *a, *b;
    char buf[16];
    CHECK_OK(pair(&a, &b));
    CHECK_OK(sockit_settimeout(b, 0.5));
    signals_start();
    int n0 = alarms;
    double t0 = tu_now();
    ssize_t rc = sockit_recv(b, buf, sizeof buf, 0);
    double el = tu_now() - t0;
    int fired = alarms - n0;
    signals_stop();
    CHECK_CODE(rc, -ETIMEDOUT);
    CHECK_DBL(el, >=, 0.45);
    CHECK_DBL(el, <=, 1.5);
    CHECK_INT(fired, >=, 5); /* the signals did interrupt the call */
    sockit_close(a);
    sockit_close(b);
}

static void test_signal_recv_blocking(void)
{
    sockit_sock *a, *b;
    char buf[16];
    CHECK_OK(pair(&a, &b));
    CHECK_DBL(sockit_gettimeout(b), <, 0);
    struct later job = {a, NULL, 0.3, -1};
    pthread_t t;
    signals_start();
    int n0 = alarms;
    CHECK_OK(pthread_create(&t, NULL, send_later, &job));
    double t0 = tu_now();
    ssize_t rc = sockit_recv(b, buf, sizeof buf, 0);
    double el = tu_now() - t0;
    int fired = alarms - n0;
    signals_stop();
    pthread_join(t, NULL);
    CHECK_INT(rc, ==, 5);
    CHECK_MEM(buf, "later", 5);
    CHECK_DBL(el, >=, 0.25);
    CHECK_INT(fired, >=, 5);
    CHECK_OK(job.rc);
    sockit_close(a);
    sockit_close(b);
}

static void test_signal_accept(void)
{
    char port[8];
    sockit_sock *l = listener("127.0.0.1", AF_INET, port), *conn = NULL;
    CHECK_TRUE(l != NULL);

    /* With a timeout: -ETIMEDOUT after it, never -EINTR. */
    CHECK_OK(sockit_settimeout(l, 0.4));
    signals_start();
    int n0 = alarms;
    double t0 = tu_now();
    int rc = sockit_accept(l, &conn, NULL);
    double el = tu_now() - t0;
    int fired = alarms - n0;
    signals_stop();
    CHECK_CODE(rc, -ETIMEDOUT);
    CHECK_DBL(el, >=, 0.35);
    CHECK_DBL(el, <=, 1.5);
    CHECK_INT(fired, >=, 5);

    /* Blocking: a client comes after 0.3 s. */
    CHECK_OK(sockit_settimeout(l, -1));
    struct later job = {NULL, port, 0.3, -1};
    pthread_t t;
    signals_start();
    n0 = alarms;
    CHECK_OK(pthread_create(&t, NULL, connect_later, &job));
    rc = sockit_accept(l, &conn, NULL);
    fired = alarms - n0;
    signals_stop();
    pthread_join(t, NULL);
    CHECK_OK(rc);
    CHECK_OK(job.rc);
    CHECK_INT(fired, >=, 5);
    sockit_close(conn);
    sockit_close(l);
}

/* sendall through a small buffer to a reader that drains it slowly, signals all the while:
 * every byte arrives once, in order. */
struct drain {
    sockit_sock *s;
    size_t got;
    uint64_t hash;
};

static void *drain_main(void *arg)
{
    struct drain *d = (struct drain *)arg;
    char buf[8192];
    double end = tu_now() + 20.0;
    tu_block_sigalrm();
    d->hash = TU_FNV_INIT;
    while (tu_now() < end) {
        ssize_t n = sockit_recv(d->s, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        d->hash = tu_fnv1a(d->hash, buf, (size_t)n);
        d->got += (size_t)n;
        if ((d->got & 0xffff) < sizeof buf)
            tu_sleep(0.002);
    }
    return NULL;
}

static void test_signal_sendall(void)
{
    sockit_sock *a, *b;
    CHECK_OK(pair(&a, &b));
    CHECK_OK(sockit_setsockopt_int(a, SOL_SOCKET, SO_SNDBUF, 16384));
    const size_t len = 4u << 20;
    unsigned char *data = malloc(len);
    CHECK_TRUE(data != NULL);
    if (!data)
        return;
    tu_fill(data, len, 77);
    uint64_t want = tu_fnv1a(TU_FNV_INIT, data, len);
    struct drain d = {b, 0, 0};
    pthread_t t;
    signals_start();
    int n0 = alarms;
    CHECK_OK(pthread_create(&t, NULL, drain_main, &d));
    size_t sent = 0;
    int rc = sockit_sendall_ex(a, data, len, 0, &sent);
    int fired = alarms - n0;
    signals_stop();
    sockit_shutdown(a, SHUT_WR);
    pthread_join(t, NULL);
    CHECK_OK(rc);
    CHECK_INT(sent, ==, len);
    CHECK_INT(d.got, ==, len);
    CHECK_TRUE(d.hash == want);
    CHECK_INT(fired, >=, 1);
    free(data);
    sockit_close(a);
    sockit_close(b);
}

/* A connect with a timeout to a listening port while signals fly: connected. */
static void test_signal_connect(void)
{
    char port[8];
    sockit_sock *l = listener("127.0.0.1", AF_INET, port), *c = NULL, *a = NULL;
    CHECK_TRUE(l != NULL);
    signals_start();
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        CHECK_OK(sockit_socket(&c, AF_INET, SOCK_STREAM, 0));
        CHECK_OK(sockit_settimeout(c, 2.0));
        int rc = sockit_connect(c, "127.0.0.1", port);
        CHECK_OK(rc);
        ok += rc == 0;
        if (sockit_accept(l, &a, NULL) == 0)
            sockit_close(a);
        sockit_close(c);
        tu_sleep(0.01);
    }
    signals_stop();
    CHECK_INT(ok, ==, 20);
    sockit_close(l);
}

int main(void)
{
    TU_RUN(test_timeout_roundtrip, 10);
    TU_RUN(test_default_timeout, 10);
    TU_RUN(test_timeout_zero, 10);
    TU_RUN(test_recv_timeout_fires, 10);
    TU_RUN(test_accept_timeout_fires, 10);
    TU_RUN(test_data_before_timeout, 10);
    TU_RUN(test_timeout_extremes, 10);
    TU_RUN(test_peer_closes_during_wait, 10);
    TU_RUN(test_sendall_timeout_peer_never_reads, 15);
    TU_RUN(test_sendall_timeout_whole_call, 15);
    TU_RUN(test_connect_refused_with_timeout, 10);
    TU_RUN(test_connect_timeout_unanswered, 5);
    TU_RUN(test_signal_recv_with_timeout, 10);
    TU_RUN(test_signal_recv_blocking, 10);
    TU_RUN(test_signal_accept, 10);
    TU_RUN(test_signal_sendall, 30);
    TU_RUN(test_signal_connect, 15);
    return tu_done();
}
