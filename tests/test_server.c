/*
 * test_server.c — the server core (include/sockit/server.h).
 *
 * Event-driven mode: echo over TCP (127.0.0.1, ::1) and a Unix path with 1 and 2 workers; 16 MiB
 * through echo by checksum; UDP echo (10,000 datagrams from 20 sockets, all answered) and a Unix
 * datagram server; half-close with and without on_eof; a client that never reads (bounded queue,
 * bounded memory, reading paused); idle and first-byte timeouts; the connection limit and its
 * recovery; graceful stop (idle peers closed, a busy one drained, descriptors back); run + SIGTERM;
 * a peer reset mid-write beside a healthy echo; pause/resume with held input; on_open refusing
 * (also after sending a line, with idle timeouts armed); the input limit; send's 4 x out_limit
 * rule; pipelined requests held under backpressure; sockit_conn_shutdown and _abort; stop from a
 * callback. Setup: bind failure, bad configurations. (Threaded mode: test_server_threaded.c.)
 *
 * The generator ("G <n>\n" on a connection) sends n bytes of su_pat() respecting backpressure
 * (queue at most out_limit, more from on_writable); other connections echo.
 *
 * Every server is checked on the way out: on_close ran once per on_open, and the process has the
 * descriptors it had before the server was made.
 */
#include "server_util.h"
#include "tls_util.h"

#include <fcntl.h>
#include <math.h>

static void dstore(double *p, double v)
{
    __atomic_store(p, &v, __ATOMIC_SEQ_CST);
}

static double dload(double *p)
{
    double v;
    __atomic_load(p, &v, __ATOMIC_SEQ_CST);
    return v;
}

/* ---- a test server and its record ------------------------------------------------------------ */

struct ts {
    sockit_server *srv;
    sockit_addr addr;
    int fd_start;
    size_t out_limit;   /* as configured (for the generator's pump) */
    int refuse_odd;     /* on_open refuses every second connection */
    int greet;          /* on_open sends a greeting */
    int eof_reply;      /* on_eof sends a tail of this many bytes, then closes */
    int use_pause;      /* cmd mode: pause while generating, resume when done */
    /* counters (worker threads write, the test reads) */
    int opens, closes, eofs, writables, refused_by_open;
    int r_zero, r_timedout, r_shutdown, r_reset, r_toolong, r_other, last_reason;
    int enobufs, send_errors;
    size_t max_pending;
    int log_calls;
    char log_msg[512];
    pthread_mutex_t mu;
    sockit_loop *loops[8];
    int nloops;
};

/* Per connection (allocated in on_open, freed in on_close). */
struct cs {
    struct ts *ts;
    int kind;           /* 0 undecided, 'E' echo, 'G' generator */
    uint64_t gen_left, gen_off;
};

static struct ts *ts_of(sockit_conn *c)
{
    return sockit_server_user(sockit_conn_server(c));
}

static void ts_log(void *user, const char *message)
{
    struct ts *t = user;
    pthread_mutex_lock(&t->mu);
    t->log_calls++;
    snprintf(t->log_msg, sizeof t->log_msg, "%s", message);
    pthread_mutex_unlock(&t->mu);
}

static int ts_logs(struct ts *t, char *msg, size_t len)
{
    pthread_mutex_lock(&t->mu);
    int n = t->log_calls;
    if (msg)
        snprintf(msg, len, "%s", t->log_msg);
    pthread_mutex_unlock(&t->mu);
    return n;
}

static void note_pending(struct ts *t, sockit_conn *c)
{
    SU_MAX(t->max_pending, sockit_conn_pending(c));
}

static int ts_open(sockit_conn *c)
{
    struct ts *t = ts_of(c);
    int n = SU_INC(t->opens);
    if (t->refuse_odd && n % 2 == 0) {
        SU_INC(t->refused_by_open);
        if (t->greet) /* say why, then refuse (a "421 busy" server) */
            CHECK_OK(sockit_conn_send(c, "421 busy!\n", 10));
        return -1;
    }
    struct cs *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->ts = t;
    sockit_conn_set_data(c, s);
    CHECK_TRUE(sockit_conn_data(c) == s);
    CHECK_INT(sockit_conn_fd(c), >=, 0);
    CHECK_TRUE(sockit_conn_server(c) == t->srv || t->srv == NULL);
    sockit_addr peer;
    CHECK_OK(sockit_conn_peer(c, &peer));
    CHECK_INT(peer.sa.ss_family, ==, t->addr.sa.ss_family);
    pthread_mutex_lock(&t->mu);
    int known = 0;
    for (int i = 0; i < t->nloops; i++)
        known |= t->loops[i] == sockit_conn_loop(c);
    if (!known && t->nloops < 8)
        t->loops[t->nloops++] = sockit_conn_loop(c);
    pthread_mutex_unlock(&t->mu);
    if (t->greet)
        CHECK_OK(sockit_conn_send(c, "220 hello\n", 10));
    return 0;
}

static void ts_close(sockit_conn *c, int reason)
{
    struct ts *t = ts_of(c);
    struct cs *s = sockit_conn_data(c);
    SU_INC(t->closes); /* on_close for a refused conn would show as closes > opens */
    free(s);
    sockit_conn_set_data(c, NULL);
    SU_SET(t->last_reason, reason);
    if (reason == 0)
        SU_INC(t->r_zero);
    else if (reason == -ETIMEDOUT)
        SU_INC(t->r_timedout);
    else if (reason == -ESHUTDOWN)
        SU_INC(t->r_shutdown);
    else if (reason == -ECONNRESET || reason == -EPIPE)
        SU_INC(t->r_reset);
    else if (reason == SOCKIT_ETOOLONG)
        SU_INC(t->r_toolong);
    else
        SU_INC(t->r_other);
}

static size_t echo(sockit_conn *c, char *data, size_t len)
{
    struct ts *t = ts_of(c);
    int r = sockit_conn_send(c, data, len);
    note_pending(t, c);
    if (r == -ENOBUFS) {
        SU_INC(t->enobufs);
        return 0;
    }
    if (r < 0)
        SU_INC(t->send_errors);
    return len;
}

/* The generator: sends the pattern while the queue is at most out_limit; on_writable goes on. */
static void pump(sockit_conn *c)
{
    struct cs *s = sockit_conn_data(c);
    struct ts *t = s->ts;
    unsigned char buf[16384];
    while (s->gen_left > 0 && sockit_conn_pending(c) <= t->out_limit) {
        size_t n = s->gen_left < sizeof buf ? (size_t)s->gen_left : sizeof buf;
        su_pat_fill(buf, n, s->gen_off);
        int r = sockit_conn_send(c, buf, n);
        note_pending(t, c);
        if (r < 0) {
            if (r == -ENOBUFS)
                SU_INC(t->enobufs);
            else
                SU_INC(t->send_errors);
            return;
        }
        s->gen_left -= n;
        s->gen_off += n;
    }
    if (s->gen_left == 0 && t->use_pause)
        sockit_conn_resume(c);
}

/* Command mode: a connection whose first bytes are "G " is a generator connection taking lines
 * "G <n>\n" (one at a time: while one is being generated the rest is left unconsumed);
 * any other connection is an echo connection. */
static size_t cmd_data(sockit_conn *c, char *data, size_t len)
{
    struct cs *s = sockit_conn_data(c);
    if (!s)
        return len;
    if (!s->kind)
        s->kind = (len >= 1 && data[0] == 'G') ? 'G' : 'E';
    if (s->kind == 'E')
        return echo(c, data, len);
    size_t used = 0;
    while (used < len && s->gen_left == 0) {
        const char *nl = memchr(data + used, '\n', len - used);
        if (!nl)
            break;
        size_t n = (size_t)(nl - (data + used));
        char line[64];
        snprintf(line, sizeof line, "%.*s", (int)(n < 63 ? n : 63), data + used);
        used += n + 1;
        if (line[0] == 'G' && line[1] == ' ') {
            s->gen_left = strtoull(line + 2, NULL, 10);
            s->gen_off = 0;
            if (s->ts->use_pause)
                sockit_conn_pause(c);
            pump(c);
        }
    }
    return used;
}

static void cmd_writable(sockit_conn *c)
{
    struct ts *t = ts_of(c);
    SU_INC(t->writables);
    if (sockit_conn_data(c))
        pump(c);
}

static void ts_eof(sockit_conn *c)
{
    struct ts *t = ts_of(c);
    SU_INC(t->eofs);
    if (t->eof_reply > 0) {
        unsigned char *tail = malloc((size_t)t->eof_reply);
        if (tail) {
            su_pat_fill(tail, (size_t)t->eof_reply, 0);
            CHECK_OK(sockit_conn_send(c, tail, (size_t)t->eof_reply));
            free(tail);
        }
    }
    sockit_conn_close(c);
}

static const sockit_server_cbs echo_cbs = {
    .on_open = ts_open, .on_data = echo, .on_close = ts_close};
static const sockit_server_cbs cmd_cbs = {
    .on_open = ts_open, .on_data = cmd_data, .on_writable = cmd_writable, .on_close = ts_close};

static void ts_init(struct ts *t)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    t->out_limit = 256 * 1024;
}

/* Makes and starts the server; 0 or a code (a failure is a failed check). */
static int ts_start(struct ts *t, sockit_server_config *cfg)
{
    if (!cfg->out_limit)
        cfg->out_limit = t->out_limit;
    t->out_limit = cfg->out_limit;
    t->fd_start = su_fd_count();
    cfg->user = t;
    if (!cfg->log)
        cfg->log = ts_log;
    int r = sockit_server_new(&t->srv, cfg);
    CHECK_OK(r);
    if (r != 0) {
        t->srv = NULL;
        return r;
    }
    CHECK_OK(sockit_server_addr(t->srv, &t->addr));
    CHECK_TRUE(sockit_server_user(t->srv) == t);
    r = sockit_server_start(t->srv);
    CHECK_OK(r);
    return r;
}

static sockit_server_stats ts_stats(struct ts *t)
{
    sockit_server_stats st;
    sockit_server_stats_get(t->srv, &st);
    return st;
}

/* Waits until the server has no open connection. */
static int ts_wait_idle(struct ts *t, double secs)
{
    return SU_WAIT(ts_stats(t).active == 0, secs);
}

/* Stops, waits, checks on_open/on_close pairing, frees, and checks the descriptors are back.
 * The test must have closed its clients. */
static void ts_finish(struct ts *t)
{
    if (!t->srv)
        return;
    sockit_server_stop(t->srv);
    CHECK_OK(sockit_server_wait(t->srv));
    CHECK_INT(ts_stats(t).active, ==, 0);
    CHECK_INT(SU_GET(t->closes), ==, SU_GET(t->opens) - SU_GET(t->refused_by_open));
    sockit_server_free(t->srv);
    t->srv = NULL;
    CHECK_INT(su_fd_count(), ==, t->fd_start);
    pthread_mutex_destroy(&t->mu);
}

/* ---- echo over TCP v4/v6 and a Unix path, 1 and 2 workers ------------------------------------- */

static void echo_case(const char *host, int workers)
{
    char dir[64] = "", path[128];
    if (host[0] == '/') {
        tu_tempdir(dir, sizeof dir);
        snprintf(path, sizeof path, "%s/echo.sock", dir);
        host = path;
    }
    TU_CTX("echo on %s, %d worker(s)", host, workers);
    struct ts t;
    ts_init(&t);
    sockit_server_config cfg = {.host = host, .port = host[0] == '/' ? NULL : "0",
                                .workers = workers, .cbs = &echo_cbs};
    if (ts_start(&t, &cfg) != 0) {
        sockit_server_free(t.srv);
        return;
    }
    int fam = t.addr.sa.ss_family;
    CHECK_INT(fam, ==, host[0] == '/' ? AF_UNIX : strchr(host, ':') ? AF_INET6 : AF_INET);
    if (fam == AF_UNIX) { /* the socket file, with the default mode 0660 */
        struct stat sb;
        CHECK_OK(stat(path, &sb));
        CHECK_TRUE(S_ISSOCK(sb.st_mode));
        CHECK_INT(sb.st_mode & 0777, ==, 0660);
    }
    if (fam != AF_UNIX)
        CHECK_INT(sockit_addr_port(&t.addr), >, 0);

    enum { NC = 16 };
    sockit_sock *cl[NC] = {0};
    int connected = 0;
    for (int i = 0; i < NC; i++)
        connected += (cl[i] = su_connect(&t.addr, 5.0)) != NULL;
    CHECK_INT(connected, ==, NC);
    static const size_t sizes[] = {1, 7, 100, 1460, 5000, 20000};
    unsigned char out[20000], in[20000];
    uint64_t total = 0;
    int good = 0, rounds = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (int i = 0; i < NC; i++) {
            if (!cl[i])
                continue;
            tu_fill(out, sizes[k], (uint64_t)(i * 100 + (int)k + 1));
            rounds++;
            if (sockit_sendall(cl[i], out, sizes[k], 0) != 0)
                continue;
            total += sizes[k];
            if (su_recv_n(cl[i], in, sizes[k]) == (ssize_t)sizes[k] &&
                memcmp(in, out, sizes[k]) == 0)
                good++;
        }
    CHECK_INT(good, ==, rounds);
    CHECK_INT(SU_GET(t.opens), ==, NC);
    if (workers == 2 && fam != AF_UNIX) { /* SO_REUSEPORT spreads 16 connections over both */
        pthread_mutex_lock(&t.mu);
        int nl = t.nloops;
        pthread_mutex_unlock(&t.mu);
        CHECK_INT(nl, ==, 2);
    }
    for (int i = 0; i < NC; i++)
        sockit_close(cl[i]);
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    sockit_server_stats st = ts_stats(&t);
    CHECK_INT(st.accepted, ==, NC);
    CHECK_INT(st.refused, ==, 0);
    CHECK_INT(st.timed_out, ==, 0);
    CHECK_INT(st.bytes_in, ==, total);
    CHECK_INT(st.bytes_out, ==, total);
    CHECK_INT(SU_GET(t.r_zero), ==, NC); /* closed by the peer in order */
    CHECK_INT(SU_GET(t.enobufs) + SU_GET(t.send_errors), ==, 0);
    ts_finish(&t);
    if (dir[0]) {
        struct stat sb;
        CHECK_INT(stat(path, &sb), <, 0); /* the socket file is removed with the server */
        rmdir(dir);
    }
    tu_ctx_[0] = '\0';
}

static void test_echo(void)
{
    echo_case("127.0.0.1", 1);
    echo_case("127.0.0.1", 2);
    echo_case("::1", 1);
    echo_case("::1", 2);
    echo_case("/unix", 1);
    echo_case("/unix", 2);
}

/* ---- bulk echo by checksum -------------------------------------------------------------------- */

struct sender {
    sockit_sock *s;
    const unsigned char *data;
    size_t len;
    int result;
    int shut; /* shutdown(SHUT_WR) after sending */
};

static void *sender_main(void *arg)
{
    struct sender *sd = arg;
    size_t off = 0;
    uint64_t x = 12345;
    sd->result = 0;
    while (off < sd->len) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = 1 + (size_t)(x % 65536);
        if (n > sd->len - off)
            n = sd->len - off;
        int r = sockit_sendall(sd->s, sd->data + off, n, 0);
        if (r != 0) {
            sd->result = r;
            return NULL;
        }
        off += n;
    }
    if (sd->shut)
        sockit_shutdown(sd->s, SHUT_WR);
    return NULL;
}

/* Sends len bytes through an echo connection while reading the echo; 1 if it all came back
 * intact (by FNV-1a of both streams) and then EOF followed the half-close. */
static int bulk_echo(const sockit_addr *a, const unsigned char *data, size_t len, int expect_eof)
{
    sockit_sock *s = su_connect(a, 10.0);
    CHECK_TRUE(s != NULL);
    if (!s)
        return 0;
    struct sender sd = {s, data, len, 0, expect_eof};
    pthread_t th;
    pthread_create(&th, NULL, sender_main, &sd);
    static __thread unsigned char buf[65536];
    uint64_t h = TU_FNV_INIT;
    size_t got = 0;
    while (got < len) {
        ssize_t r = sockit_recv(s, buf, sizeof buf, 0);
        if (r <= 0)
            break;
        h = tu_fnv1a(h, buf, (size_t)r);
        got += (size_t)r;
    }
    pthread_join(th, NULL);
    int ok = 1;
    CHECK_OK(sd.result);
    CHECK_INT(got, ==, len);
    CHECK_INT(h, ==, tu_fnv1a(TU_FNV_INIT, data, len));
    ok = sd.result == 0 && got == len && h == tu_fnv1a(TU_FNV_INIT, data, len);
    if (expect_eof) {
        int ev = su_next_event(s, 5.0);
        CHECK_INT(ev, ==, 0);
        ok = ok && ev == 0;
    }
    sockit_close(s);
    return ok;
}

static void test_echo_16mib(void)
{
    const size_t N = 16u << 20;
    unsigned char *data = malloc(N);
    if (!data)
        return;
    tu_fill(data, N, 0xfeed);
    for (int workers = 1; workers <= 2; workers++) {
        TU_CTX("16 MiB, %d worker(s)", workers);
        struct ts t;
        ts_init(&t);
        sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = workers,
                                    .cbs = &echo_cbs};
        if (ts_start(&t, &cfg) == 0) {
            CHECK_INT(bulk_echo(&t.addr, data, N, 1), ==, 1);
            CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
            sockit_server_stats st = ts_stats(&t);
            CHECK_INT(st.bytes_in, ==, N);
            CHECK_INT(st.bytes_out, ==, N);
            CHECK_INT(SU_GET(t.enobufs), ==, 0);
            CHECK_INT(SU_GET(t.r_zero), ==, 1);
        }
        ts_finish(&t);
    }
    /* A Unix stream with a small queue limit and small reads: much more backpressure. */
    {
        char dir[64], path[128];
        tu_tempdir(dir, sizeof dir);
        snprintf(path, sizeof path, "%s/bulk.sock", dir);
        TU_CTX("4 MiB over %s, out_limit 32 KiB, read_size 8 KiB", path);
        struct ts t;
        ts_init(&t);
        sockit_server_config cfg = {.host = path, .workers = 1, .cbs = &echo_cbs,
                                    .out_limit = 32768, .read_size = 8192};
        if (ts_start(&t, &cfg) == 0) {
            CHECK_INT(bulk_echo(&t.addr, data, 4u << 20, 1), ==, 1);
            CHECK_INT(SU_GET(t.max_pending), <=, 4 * 32768);
        }
        ts_finish(&t);
        rmdir(dir);
    }
    free(data);
}

/* ---- datagrams --------------------------------------------------------------------------------- */

struct dg_rec {
    int calls;
    int reply_errors;
    int last_reply;
    int from_len_small;
};

static void dg_echo(sockit_dgram *d, const char *data, size_t len, const sockit_addr *from)
{
    struct dg_rec *r = sockit_server_user(sockit_dgram_server(d));
    SU_INC(r->calls);
    ssize_t n = sockit_dgram_reply(d, data, len);
    SU_SET(r->last_reply, (int)n);
    if (n != (ssize_t)len)
        SU_INC(r->reply_errors);
    if (from->len <= sizeof(sa_family_t))
        SU_INC(r->from_len_small);
}

static const sockit_server_cbs dg_cbs = {.on_datagram = dg_echo};

/* Datagram i of client k: [k:4][i:4][payload], 16..215 bytes, all determined by (k, i). */
static size_t dg_make(unsigned char *buf, uint32_t k, uint32_t i)
{
    size_t len = 16 + (i * 7 + k) % 200;
    memcpy(buf, &k, 4);
    memcpy(buf + 4, &i, 4);
    tu_fill(buf + 8, len - 8, ((uint64_t)k << 32) | i | 1);
    return len;
}

static void test_udp_echo(void)
{
    enum { NS = 20, PER = 500, WINDOW = 100, MAXTRIES = 30 };
    struct dg_rec rec = {0};
    sockit_server *srv = NULL;
    int fd0 = su_fd_count();
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .type = SOCK_DGRAM,
                                .workers = 2, .cbs = &dg_cbs, .user = &rec};
    CHECK_OK(sockit_server_new(&srv, &cfg));
    if (!srv)
        return;
    sockit_addr sa;
    sockit_server_addr(srv, &sa);
    CHECK_INT(sa.sa.ss_family, ==, AF_INET);
    CHECK_OK(sockit_server_start(srv));

    sockit_sock *cs[NS] = {0};
    struct pollfd pfd[NS];
    for (int k = 0; k < NS; k++) {
        CHECK_OK(sockit_socket(&cs[k], AF_INET, SOCK_DGRAM, 0));
        if (!cs[k])
            goto out;
        sockit_settimeout(cs[k], 0);
        int big = 1 << 20;
        sockit_setsockopt_int(cs[k], SOL_SOCKET, SO_RCVBUF, big);
        CHECK_OK(sockit_connect_addr(cs[k], &sa));
        pfd[k] = (struct pollfd){.fd = sockit_fileno(cs[k]), .events = POLLIN};
    }
    static unsigned char answered[NS][PER], tries[NS][PER];
    static double sent_at[NS][PER];
    memset(answered, 0, sizeof answered);
    memset(tries, 0, sizeof tries);
    int next[NS] = {0}, inflight[NS] = {0};
    int total = 0, bad = 0, dups = 0, gave_up = 0, max_tries = 0;
    unsigned char buf[512], exp[512];
    double end = tu_now() + 40;
    while (total < NS * PER && tu_now() < end) {
        double now = tu_now();
        for (int k = 0; k < NS; k++) {
            while (inflight[k] < WINDOW && next[k] < PER) {
                size_t n = dg_make(buf, (uint32_t)k, (uint32_t)next[k]);
                if (sockit_send(cs[k], buf, n, 0) != (ssize_t)n)
                    break; /* EAGAIN: later */
                sent_at[k][next[k]] = now;
                tries[k][next[k]] = 1;
                next[k]++;
                inflight[k]++;
            }
            for (int i = 0; i < next[k]; i++) { /* resend the ones that look lost */
                if (answered[k][i] || now - sent_at[k][i] < 0.25)
                    continue;
                if (tries[k][i] >= MAXTRIES) {
                    continue;
                }
                size_t n = dg_make(buf, (uint32_t)k, (uint32_t)i);
                if (sockit_send(cs[k], buf, n, 0) == (ssize_t)n) {
                    sent_at[k][i] = now;
                    tries[k][i]++;
                    if (tries[k][i] > max_tries)
                        max_tries = tries[k][i];
                }
            }
        }
        if (poll(pfd, NS, 20) <= 0)
            continue;
        for (int k = 0; k < NS; k++) {
            if (!(pfd[k].revents & POLLIN))
                continue;
            for (int m = 0; m < 256; m++) {
                ssize_t n = sockit_recv(cs[k], buf, sizeof buf, 0);
                if (n < 0)
                    break;
                uint32_t kk, ii;
                if (n < 8) {
                    bad++;
                    continue;
                }
                memcpy(&kk, buf, 4);
                memcpy(&ii, buf + 4, 4);
                if (kk != (uint32_t)k || ii >= PER) {
                    bad++;
                    continue;
                }
                size_t en = dg_make(exp, kk, ii);
                if ((size_t)n != en || memcmp(buf, exp, en) != 0) {
                    bad++;
                    continue;
                }
                if (answered[k][ii]) {
                    dups++;
                    continue;
                }
                answered[k][ii] = 1;
                inflight[k]--;
                total++;
            }
        }
    }
    for (int k = 0; k < NS; k++)
        for (int i = 0; i < PER; i++)
            gave_up += !answered[k][i] && tries[k][i] >= MAXTRIES;
    TU_CTX("UDP: %d answered, %d duplicates, most tries %d, %d given up", total, dups, max_tries,
           gave_up);
    CHECK_INT(total, ==, NS * PER);
    CHECK_INT(bad, ==, 0);
    CHECK_INT(gave_up, ==, 0);
    sockit_server_stats st;
    sockit_server_stats_get(srv, &st);
    CHECK_INT(st.accepted, >=, (uint64_t)(NS * PER)); /* datagrams received */
    CHECK_INT(st.active, ==, 0);
    CHECK_INT(SU_GET(rec.calls), ==, (int)st.accepted);
    tu_ctx_[0] = '\0';
out:
    for (int k = 0; k < NS; k++)
        sockit_close(cs[k]);
    sockit_server_stop(srv);
    CHECK_OK(sockit_server_wait(srv));
    sockit_server_free(srv);
    CHECK_INT(su_fd_count(), ==, fd0);
}

static void test_unix_dgram(void)
{
    char dir[64], path[128];
    tu_tempdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/dg.sock", dir);
    struct dg_rec rec = {0};
    sockit_server *srv = NULL;
    int fd0 = su_fd_count();
    sockit_server_config cfg = {.host = path, .type = SOCK_DGRAM, .workers = 2, .cbs = &dg_cbs,
                                .user = &rec};
    CHECK_OK(sockit_server_new(&srv, &cfg));
    if (!srv) {
        rmdir(dir);
        return;
    }
    sockit_addr sa;
    sockit_server_addr(srv, &sa);
    CHECK_INT(sa.sa.ss_family, ==, AF_UNIX);
    char fmt[SOCKIT_ADDRSTRLEN];
    CHECK_STR(sockit_addr_format(&sa, fmt, sizeof fmt), path);
    CHECK_OK(sockit_server_start(srv));

    /* An unnamed sender cannot be answered: the reply fails, the server goes on. */
    sockit_sock *anon = NULL;
    CHECK_OK(sockit_socket(&anon, AF_UNIX, SOCK_DGRAM, 0));
    if (anon) {
        CHECK_INT(sockit_sendto_addr(anon, "anon", 4, 0, &sa), ==, 4);
        CHECK_INT(SU_WAIT(SU_GET(rec.calls) == 1, 5), ==, 1);
        CHECK_INT(SU_GET(rec.reply_errors), ==, 1);
        CHECK_INT(SU_GET(rec.last_reply), <, 0);
        sockit_close(anon);
    }

    enum { NS = 4, PER = 250 };
    sockit_sock *cs[NS] = {0};
    int good = 0, fromok = 0;
    for (int k = 0; k < NS; k++) {
        CHECK_OK(sockit_socket(&cs[k], AF_UNIX, SOCK_DGRAM, 0));
        if (!cs[k])
            continue;
        CHECK_OK(sockit_bind(cs[k], "", NULL)); /* autobind: a name to answer to */
        sockit_settimeout(cs[k], 5.0);
    }
    unsigned char buf[512], in[512];
    for (int i = 0; i < PER; i++)
        for (int k = 0; k < NS; k++) {
            if (!cs[k])
                continue;
            size_t n = dg_make(buf, (uint32_t)k, (uint32_t)i);
            if (sockit_sendto_addr(cs[k], buf, n, 0, &sa) != (ssize_t)n)
                continue;
            sockit_addr from;
            ssize_t r = sockit_recvfrom(cs[k], in, sizeof in, 0, &from);
            good += r == (ssize_t)n && memcmp(in, buf, n) == 0;
            fromok += sockit_addr_equal(&from, &sa);
        }
    CHECK_INT(good, ==, NS * PER);
    CHECK_INT(fromok, ==, NS * PER);
    CHECK_INT(SU_GET(rec.reply_errors), ==, 1);
    for (int k = 0; k < NS; k++)
        sockit_close(cs[k]);
    sockit_server_stop(srv);
    CHECK_OK(sockit_server_wait(srv));
    sockit_server_free(srv);
    CHECK_INT(su_fd_count(), ==, fd0);
    rmdir(dir);
}

/* ---- half-close -------------------------------------------------------------------------------- */

static void test_half_close_on_eof(void)
{
    struct ts t;
    ts_init(&t);
    t.eof_reply = 1 << 20; /* 1 MiB after on_eof, then close */
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_eof = ts_eof;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *s = su_connect(&t.addr, 5.0);
    CHECK_TRUE(s != NULL);
    if (s) {
        CHECK_INT(su_echo_once(s, "before eof"), ==, 1);
        CHECK_OK(sockit_shutdown(s, SHUT_WR));
        long long bad;
        int end;
        uint64_t got = su_read_pattern(s, 2u << 20, &bad, &end);
        CHECK_INT(got, ==, 1u << 20);
        CHECK_INT(bad, ==, -1);
        CHECK_INT(end, ==, 0); /* then the server closed */
        sockit_close(s);
    }
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    CHECK_INT(SU_GET(t.eofs), ==, 1);
    CHECK_INT(SU_GET(t.last_reason), ==, 0);
    ts_finish(&t);
}

static int small_sndbuf_open(sockit_conn *c);

static void test_half_close_no_on_eof(void)
{
    struct ts t;
    ts_init(&t);
    /* A small kernel send buffer, so the answer really waits in the server's queue. */
    sockit_server_cbs cbs = cmd_cbs;
    cbs.on_open = small_sndbuf_open;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs,
                                .out_limit = 64 * 1024};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    /* The request, then EOF at once: the whole answer (far more than the queue limit, sent
     * as the client reads) arrives, and then EOF. */
    sockit_sock *s = su_connect(&t.addr, 5.0);
    CHECK_TRUE(s != NULL);
    if (s) {
        const char *req = "G 3000000\n";
        CHECK_OK(sockit_sendall(s, req, strlen(req), 0));
        CHECK_TRUE(SU_WAIT(SU_GET(t.max_pending) > 0, 5)); /* output queued before the EOF */
        CHECK_OK(sockit_shutdown(s, SHUT_WR));
        long long bad;
        int end;
        uint64_t got = su_read_pattern(s, 4000000, &bad, &end);
        TU_CTX("generated stream of 3000000 bytes, half-closed by the client after 0.2 s");
        CHECK_INT(got, ==, 3000000);
        CHECK_INT(bad, ==, -1);
        CHECK_INT(end, ==, 0);
        CHECK_INT(SU_GET(t.writables), >, 0); /* the generator was driven by on_writable */
        sockit_close(s);
        tu_ctx_[0] = '\0';
    }
    /* Echo data already queued is flushed before the close. */
    s = su_connect(&t.addr, 5.0);
    if (s) {
        unsigned char out[200000], in[200000];
        tu_fill(out, sizeof out, 77);
        out[0] = 'E';
        CHECK_OK(sockit_sendall(s, out, sizeof out, 0));
        CHECK_OK(sockit_shutdown(s, SHUT_WR));
        CHECK_INT(su_recv_n(s, in, sizeof in), ==, (ssize_t)sizeof in);
        CHECK_MEM(in, out, sizeof in);
        CHECK_INT(su_next_event(s, 5.0), ==, 0);
        sockit_close(s);
    }
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    CHECK_INT(SU_GET(t.r_zero), ==, 2);
    ts_finish(&t);
}

/* ---- a client that never reads ------------------------------------------------------------------ */

static void test_never_reads(void)
{
    struct ts t;
    ts_init(&t);
    const size_t limit = 64 * 1024;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &echo_cbs,
                                .out_limit = limit};
    long rss0 = su_rss_kb();
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *s = su_connect(&t.addr, 5.0);
    CHECK_TRUE(s != NULL);
    if (!s) {
        ts_finish(&t);
        return;
    }
    sockit_settimeout(s, 0);
    static unsigned char buf[65536];
    tu_fill(buf, sizeof buf, 5);
    uint64_t sent = 0, goal = 256u << 20;
    int eagain = 0;
    double end = tu_now() + 3;
    while (sent < goal && tu_now() < end) {
        ssize_t r = sockit_send(s, buf, sizeof buf, 0);
        if (r > 0) {
            sent += (uint64_t)r;
        } else if (r == -EAGAIN) {
            eagain++;
            tu_sleep(0.001);
        } else {
            CHECK_INT(r, ==, -EAGAIN); /* nothing else is expected */
            break;
        }
    }
    uint64_t in1 = ts_stats(&t).bytes_in;
    tu_sleep(0.5);
    uint64_t in2 = ts_stats(&t).bytes_in;
    long rss1 = su_rss_kb();
    TU_CTX("client sent %llu bytes, server read %llu, max pending %zu, RSS %ld -> %ld KiB",
           (unsigned long long)sent, (unsigned long long)in2, SU_GET(t.max_pending), rss0, rss1);
    printf("     client sent %llu bytes in 3 s, server read %llu, max queued %zu, RSS %+ld KiB\n",
           (unsigned long long)sent, (unsigned long long)in2, SU_GET(t.max_pending), rss1 - rss0);
    CHECK_INT(eagain, >, 0);        /* the client's sends did block */
    CHECK_INT(sent, <, goal);
    CHECK_INT(in1, >, 0);
    CHECK_INT(in2, ==, in1);        /* the server paused reading */
    CHECK_INT(in2, <=, sent);
    CHECK_INT(SU_GET(t.max_pending), >, 0);
    CHECK_INT(SU_GET(t.max_pending), <=, 4 * limit);
    CHECK_INT(SU_GET(t.enobufs), ==, 0);
    CHECK_INT(rss1 - rss0, <, 32 * 1024);
    tu_ctx_[0] = '\0';
    sockit_close(s);
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t);
}

/* ---- timeouts ----------------------------------------------------------------------------------- */

static void test_idle_timeout(void)
{
    struct ts t;
    ts_init(&t);
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 2, .cbs = &echo_cbs,
                                .idle_timeout = 0.3};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *idle = su_connect(&t.addr, 5.0), *busy = su_connect(&t.addr, 5.0);
    CHECK_TRUE(idle && busy);
    if (idle && busy) {
        CHECK_INT(su_echo_once(idle, "x"), ==, 1);
        double t0 = tu_now();
        /* The busy one talks every 0.1 s for 1.2 s (four idle periods) and stays open. */
        int alive = 1;
        while (tu_now() - t0 < 1.2 && alive) {
            alive = su_echo_once(busy, "ping");
            tu_sleep(0.1);
        }
        CHECK_INT(alive, ==, 1);
        /* The idle one got EOF about 0.3 s after its last traffic. */
        CHECK_INT(su_next_event(idle, 3.0), ==, 0);
        CHECK_INT(SU_GET(t.r_timedout), ==, 1);
        CHECK_INT(SU_GET(t.last_reason), ==, -ETIMEDOUT);
        CHECK_INT(ts_stats(&t).timed_out, ==, 1);
        CHECK_INT(ts_stats(&t).active, ==, 1);
    }
    sockit_close(idle);
    sockit_close(busy);

    /* The time itself: EOF within [0.2, 2] s of the last traffic. */
    sockit_sock *s = su_connect(&t.addr, 5.0);
    if (s) {
        CHECK_INT(su_echo_once(s, "y"), ==, 1);
        double t0 = tu_now();
        int ev = su_next_event(s, 3.0);
        double took = tu_now() - t0;
        CHECK_INT(ev, ==, 0);
        CHECK_DBL(took, >=, 0.2);
        CHECK_DBL(took, <=, 2.0);
        sockit_close(s);
    }
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    CHECK_INT(ts_stats(&t).timed_out, ==, 2);
    CHECK_INT(SU_GET(t.r_timedout), ==, 2);
    ts_finish(&t);
}

static void first_byte_case(int greet)
{
    struct ts t;
    ts_init(&t);
    t.greet = greet;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &echo_cbs,
                                .first_byte_timeout = 0.3};
    TU_CTX("first_byte_timeout 0.3 s, %s", greet ? "on_open sends a greeting" : "no greeting");
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    char g[16];
    /* Silent: closed. */
    double t0 = tu_now();
    sockit_sock *silent = su_connect(&t.addr, 5.0);
    sockit_sock *talker = su_connect(&t.addr, 5.0);
    CHECK_TRUE(silent && talker);
    if (silent && talker) {
        if (greet) {
            CHECK_INT(su_recv_n(silent, g, 10), ==, 10);
            CHECK_INT(su_recv_n(talker, g, 10), ==, 10);
        }
        tu_sleep(0.1);
        CHECK_INT(su_echo_once(talker, "first"), ==, 1);
        int ev = su_next_event(silent, 3.0);
        double took = tu_now() - t0;
        CHECK_INT(ev, ==, 0);
        CHECK_DBL(took, >=, 0.2);
        CHECK_DBL(took, <=, 2.0);
        /* The talker is past its first byte: no idle timeout was set, it stays. */
        tu_sleep(0.7);
        CHECK_INT(su_echo_once(talker, "still here"), ==, 1);
        CHECK_INT(ts_stats(&t).timed_out, ==, 1);
        CHECK_INT(SU_GET(t.r_timedout), ==, 1);
    }
    sockit_close(silent);
    sockit_close(talker);
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t);
    tu_ctx_[0] = '\0';
}

static void test_first_byte_timeout(void)
{
    first_byte_case(0);
}

/* A server that greets first (SMTP, FTP style) still closes a client that never says anything:
 * the first byte is the client's, not the server's. */
static void test_first_byte_timeout_greeting(void)
{
    first_byte_case(1);
}

/* ---- the connection limit ----------------------------------------------------------------------- */

static void test_conn_limit(void)
{
    struct ts t;
    ts_init(&t);
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 2, .cbs = &echo_cbs,
                                .max_conns = 10};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    enum { N = 15 };
    sockit_sock *cl[N] = {0};
    int ok = 0, cut = 0;
    for (int i = 0; i < N; i++) {
        int err = 0;
        cl[i] = su_connect_ex(&t.addr, 3.0, &err);
        if (!cl[i]) { /* refused so fast that the connect saw the reset */
            CHECK_CODE(err, -ECONNRESET);
            cut++;
        }
    }
    CHECK_INT(SU_WAIT(ts_stats(&t).accepted + ts_stats(&t).refused == N, 5), ==, 1);
    double t0 = tu_now();
    for (int i = 0; i < N; i++) {
        if (!cl[i])
            continue;
        if (su_echo_once(cl[i], "p")) {
            ok++;
        } else {
            cut++;
            sockit_close(cl[i]);
            cl[i] = NULL;
        }
    }
    CHECK_DBL(tu_now() - t0, <, 2.0); /* the refused ones learn it at once */
    CHECK_INT(ok, ==, 10);
    CHECK_INT(cut, ==, 5);
    sockit_server_stats st = ts_stats(&t);
    CHECK_INT(st.refused, ==, 5);
    CHECK_INT(st.accepted, ==, 10);
    CHECK_INT(st.active, ==, 10);
    char msg[512];
    CHECK_INT(SU_WAIT(ts_logs(&t, NULL, 0) >= 1, 3), ==, 1);
    ts_logs(&t, msg, sizeof msg);
    CHECK_CONTAINS(msg, "limit");
    CHECK_INT(SU_GET(t.opens), ==, 10); /* no on_open for refused connections */

    /* Recovers: close the 10, and 10 new ones are served. */
    for (int i = 0; i < N; i++) {
        sockit_close(cl[i]);
        cl[i] = NULL;
    }
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    int ok2 = 0;
    for (int i = 0; i < 10; i++) {
        cl[i] = su_connect(&t.addr, 3.0);
        ok2 += cl[i] && su_echo_once(cl[i], "again");
    }
    CHECK_INT(ok2, ==, 10);
    CHECK_INT(ts_stats(&t).refused, ==, 5);
    for (int i = 0; i < 10; i++)
        sockit_close(cl[i]);
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t);
}

/* ---- graceful stop ------------------------------------------------------------------------------ */

struct waiter {
    sockit_server *srv;
    double done_at;
    int result;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    w->result = sockit_server_wait(w->srv);
    dstore(&w->done_at, tu_now());
    return NULL;
}

static void test_graceful_stop(void)
{
    struct ts t;
    ts_init(&t);
    int fd0 = su_fd_count();
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 2, .cbs = &cmd_cbs,
                                .stop_grace = 10, .out_limit = 64 * 1024};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    enum { NIDLE = 4 };
    const uint64_t BIG = 8u << 20;
    sockit_sock *idle[NIDLE] = {0}, *busy = NULL;
    for (int i = 0; i < NIDLE; i++) {
        idle[i] = su_connect(&t.addr, 5.0);
        CHECK_TRUE(idle[i] && su_echo_once(idle[i], "E idle"));
    }
    busy = su_connect(&t.addr, 10.0);
    CHECK_TRUE(busy != NULL);
    if (!busy)
        goto out;
    CHECK_OK(sockit_sendall(busy, "G 8388608\n", 10, 0));
    /* Wait until the server has output queued for it (it does not read yet). */
    CHECK_INT(SU_WAIT(SU_GET(t.max_pending) > 0, 5), ==, 1);

    double t0 = tu_now();
    sockit_server_stop(t.srv);
    struct waiter w = {t.srv, 0, -1};
    pthread_t th;
    pthread_create(&th, NULL, waiter_main, &w);
    /* Idle ones: EOF promptly. */
    for (int i = 0; i < NIDLE; i++)
        if (idle[i]) {
            CHECK_INT(su_next_event(idle[i], 3.0), ==, 0);
        }
    CHECK_DBL(tu_now() - t0, <, 1.5);
    /* Listeners are closed at once. */
    tu_sleep(0.1);
    int err = 0;
    sockit_sock *late = su_connect_ex(&t.addr, 2.0, &err);
    CHECK_TRUE(late == NULL);
    CHECK_CODE(err, -ECONNREFUSED);
    sockit_close(late);
    /* The server is still waiting for the busy one. */
    CHECK_DBL(dload(&w.done_at), ==, 0);
    /* The busy one gets all of its data, then EOF. */
    long long bad;
    int end;
    uint64_t got = su_read_pattern(busy, BIG + 1, &bad, &end);
    CHECK_INT(got, ==, BIG);
    CHECK_INT(bad, ==, -1);
    CHECK_INT(end, ==, 0);
    pthread_join(th, NULL);
    CHECK_OK(w.result);
    CHECK_DBL(w.done_at - t0, <, 10.0); /* within stop_grace */
    CHECK_INT(SU_GET(t.r_shutdown) + SU_GET(t.r_zero), ==, NIDLE + 1);
out:
    for (int i = 0; i < NIDLE; i++)
        sockit_close(idle[i]);
    sockit_close(busy);
    ts_finish(&t); /* stop + wait again: harmless */
    CHECK_INT(su_fd_count(), ==, fd0);
}

/* sockit_conn_set_busy: a connection with work in flight (nothing queued, nothing held) is not
 * closed as idle by a graceful stop; clearing the mark lets it finish and close. "B" marks it
 * busy, "D" clears the mark and answers. */
static size_t busy_on_data(sockit_conn *c, char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == 'B') {
            sockit_conn_set_busy(c, 1);
            sockit_conn_send(c, "b", 1);
        } else if (data[i] == 'D') {
            sockit_conn_set_busy(c, 0);
            sockit_conn_send(c, "done", 4);
        } else if (data[i] == 'I') {
            sockit_conn_send(c, "i", 1);
        }
    }
    return len;
}

static void test_busy_through_stop(void)
{
    static const sockit_server_cbs cbs = {.on_data = busy_on_data};
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs, .stop_grace = 10};
    sockit_server *srv = NULL;
    sockit_addr a;
    CHECK_OK(sockit_server_new(&srv, &cfg));
    CHECK_OK(sockit_server_addr(srv, &a));
    CHECK_OK(sockit_server_start(srv));
    sockit_sock *idle = su_connect(&a, 5), *busy = su_connect(&a, 5);
    char buf[8];
    CHECK_OK(sockit_sendall(idle, "I", 1, 0));
    CHECK_INT(su_recv_n(idle, buf, 1), ==, 1);
    CHECK_OK(sockit_sendall(busy, "B", 1, 0));
    CHECK_INT(su_recv_n(busy, buf, 1), ==, 1);
    sockit_server_stop(srv);
    /* The idle one closes at once; the same settling pass spared the busy one. */
    CHECK_INT(su_next_event(idle, 5), ==, 0);
    CHECK_INT(su_next_event(busy, 0.2), ==, -ETIMEDOUT);
    CHECK_OK(sockit_sendall(busy, "D", 1, 0));
    CHECK_INT(su_recv_n(busy, buf, 4), ==, 4);
    CHECK_MEM(buf, "done", 4);
    CHECK_INT(su_next_event(busy, 5), ==, 0); /* not busy on a stopping server: closed */
    CHECK_OK(sockit_server_wait(srv));
    sockit_server_free(srv);
    sockit_close(idle);
    sockit_close(busy);
}

/* Held input after the end of the stream: a protocol that yields (pause + resume) with input
 * held still gets the rest once the peer has shut down its side, when on_eof kept the
 * connection open. One line per offer here; the last one closes. */
static int ye_held; /* the worker's only: the one connection holds lines */

static size_t ye_data(sockit_conn *c, char *data, size_t len)
{
    char *nl = memchr(data, '\n', len);
    if (!nl) return 0;
    size_t n = (size_t)(nl - data) + 1;
    sockit_conn_send(c, data, n);
    ye_held = n < len;
    if (ye_held) {
        sockit_conn_pause(c); /* yield: the rest next round */
        sockit_conn_resume(c);
    } else if (sockit_conn_eof(c)) {
        sockit_conn_close(c);
    }
    return n;
}

static void ye_eof(sockit_conn *c)
{
    if (!ye_held) sockit_conn_close(c); /* else held lines are still to come */
}

static void test_reoffer_after_eof(void)
{
    static const sockit_server_cbs cbs = {.on_data = ye_data, .on_eof = ye_eof};
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs};
    sockit_server *srv = NULL;
    sockit_addr a;
    CHECK_OK(sockit_server_new(&srv, &cfg));
    CHECK_OK(sockit_server_addr(srv, &a));
    CHECK_OK(sockit_server_start(srv));
    sockit_sock *s = su_connect(&a, 5);
    CHECK_OK(sockit_sendall(s, "a\nb\nc\nd\n", 8, 0));
    CHECK_OK(sockit_shutdown(s, SHUT_WR));
    char buf[16] = "";
    CHECK_INT(su_recv_n(s, buf, 8), ==, 8);
    CHECK_STR(buf, "a\nb\nc\nd\n");
    CHECK_INT(su_next_event(s, 5), ==, 0); /* the last line was offered: closed */
    sockit_close(s);
    sockit_server_stop(srv);
    CHECK_OK(sockit_server_wait(srv));
    sockit_server_free(srv);
}

/* Past stop_grace, a connection whose output is not being read is cut. */
static void test_stop_grace_expires(void)
{
    struct ts t;
    ts_init(&t);
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cmd_cbs,
                                .stop_grace = 0.3, .out_limit = 64 * 1024};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *busy = su_connect(&t.addr, 5.0);
    if (busy) {
        CHECK_OK(sockit_sendall(busy, "G 100000000\n", 12, 0));
        CHECK_INT(SU_WAIT(SU_GET(t.max_pending) > 0, 5), ==, 1);
        double t0 = tu_now();
        sockit_server_stop(t.srv);
        CHECK_OK(sockit_server_wait(t.srv));
        double took = tu_now() - t0;
        CHECK_DBL(took, >=, 0.25);
        CHECK_DBL(took, <, 3.0);
        CHECK_INT(SU_GET(t.last_reason), ==, -ESHUTDOWN);
        /* The client can read what was sent, and then the stream ends (cut: EOF or reset). */
        long long bad;
        int end;
        uint64_t got = su_read_pattern(busy, 100000000, &bad, &end);
        CHECK_INT(got, <, 100000000);
        CHECK_INT(bad, ==, -1);
        CHECK_TRUE(end == 0 || end == -ECONNRESET);
        sockit_close(busy);
    }
    ts_finish(&t);
}

/* ---- sockit_server_run and SIGTERM ---------------------------------------------------------------- */

static int blocked_sig(int signo)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, signo);
}

static volatile sig_atomic_t term_escaped;
static void term_handler(int signo)
{
    term_escaped++;
}

struct killer {
    sockit_addr addr;
    int up;
};

static void *killer_main(void *arg)
{
    struct killer *k = arg;
    sigset_t two;
    sigemptyset(&two);
    sigaddset(&two, SIGTERM);
    sigaddset(&two, SIGINT);
    pthread_sigmask(SIG_BLOCK, &two, NULL);
    double end = tu_now() + 10;
    while (tu_now() < end) { /* up: a connection is echoed by a worker */
        sockit_sock *s = su_connect(&k->addr, 2.0);
        int ok = s && su_echo_once(s, "up?");
        sockit_close(s);
        if (ok) {
            k->up = 1;
            break;
        }
        tu_sleep(0.02);
    }
    kill(getpid(), SIGTERM);
    return NULL;
}

static void test_run_sigterm(void)
{
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = term_handler;
    sigaction(SIGTERM, &sa, &old_sa);
    term_escaped = 0;

    struct ts t;
    ts_init(&t);
    int fd0 = su_fd_count();
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 2, .cbs = &echo_cbs,
                                .user = &t, .log = ts_log};
    sockit_server *srv = NULL;
    CHECK_OK(sockit_server_new(&srv, &cfg));
    if (!srv)
        return;
    struct killer k = {.up = 0};
    sockit_server_addr(srv, &k.addr);
    t.addr = k.addr; /* for the checks in on_open */
    t.srv = srv;
    CHECK_INT(blocked_sig(SIGTERM), ==, 0);
    pthread_t th;
    pthread_create(&th, NULL, killer_main, &k);
    double t0 = tu_now();
    int r = sockit_server_run(srv);
    double took = tu_now() - t0;
    pthread_join(th, NULL);
    CHECK_OK(r);
    CHECK_INT(k.up, ==, 1);
    CHECK_DBL(took, <, 10.0);
    CHECK_INT(term_escaped, ==, 0);          /* the server took it, not the handler */
    CHECK_INT(blocked_sig(SIGTERM), ==, 0);  /* the mask is restored */
    sigset_t pend;
    sigpending(&pend);
    CHECK_INT(sigismember(&pend, SIGTERM), ==, 0);
    sockit_server_stats st;
    sockit_server_stats_get(srv, &st);
    CHECK_INT(st.active, ==, 0);
    CHECK_INT(st.accepted, >=, 1);
    CHECK_INT(SU_GET(t.closes), ==, SU_GET(t.opens));
    sockit_server_free(srv);
    CHECK_INT(su_fd_count(), ==, fd0);
    sigaction(SIGTERM, &old_sa, NULL);
    pthread_mutex_destroy(&t.mu);
}

/* ---- a reset mid-write beside a healthy echo ------------------------------------------------------- */

struct echo_loop {
    sockit_addr addr;
    int stop;
    int rounds, bad, err;
};

static void *echo_loop_main(void *arg)
{
    struct echo_loop *e = arg;
    sockit_sock *s = su_connect(&e->addr, 10.0);
    if (!s) {
        e->err = 1;
        return NULL;
    }
    static __thread unsigned char out[128 * 1024], in[128 * 1024];
    for (int i = 0; i < 100000 && !SU_GET(e->stop); i++) {
        tu_fill(out, sizeof out, (uint64_t)i + 1);
        out[0] = 'E';
        if (sockit_sendall(s, out, sizeof out, 0) != 0 ||
            su_recv_n(s, in, sizeof in) != (ssize_t)sizeof in) {
            e->err = 1;
            break;
        }
        if (memcmp(in, out, sizeof in) != 0)
            e->bad++;
        e->rounds++;
    }
    sockit_close(s);
    return NULL;
}

static void test_reset_mid_write(void)
{
    for (int workers = 1; workers <= 2; workers++) {
        TU_CTX("%d worker(s)", workers);
        struct ts t;
        ts_init(&t);
        sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = workers,
                                    .cbs = &cmd_cbs};
        if (ts_start(&t, &cfg) != 0) {
            ts_finish(&t);
            continue;
        }
        struct echo_loop e = {.addr = t.addr};
        pthread_t th;
        pthread_create(&th, NULL, echo_loop_main, &e);
        for (int k = 0; k < 3; k++) {
            sockit_sock *a = su_connect(&t.addr, 5.0);
            if (!a)
                continue;
            CHECK_OK(sockit_sendall(a, "G 67108864\n", 11, 0));
            unsigned char buf[65536];
            CHECK_INT(su_recv_n(a, buf, sizeof buf), ==, (ssize_t)sizeof buf);
            struct linger lg = {1, 0};
            CHECK_OK(sockit_setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
            sockit_close(a); /* a reset while the server is writing to it */
        }
        tu_sleep(0.2);
        SU_SET(e.stop, 1);
        pthread_join(th, NULL);
        CHECK_INT(e.err, ==, 0);
        CHECK_INT(e.bad, ==, 0);
        CHECK_INT(e.rounds, >, 0);
        CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
        CHECK_INT(SU_GET(t.r_reset), ==, 3);    /* the three: -ECONNRESET or -EPIPE */
        CHECK_INT(SU_GET(t.r_zero), ==, 1);     /* the echo client, closed in order */
        ts_finish(&t);
    }
    tu_ctx_[0] = '\0';
}

/* ---- pause / resume ------------------------------------------------------------------------------- */

struct pr {
    sockit_timer resume;
    sockit_conn *c;
    int calls, calls_paused, paused;
    double paused_at, resumed_call_at;
    char first[64], second[64];
};

static struct pr g_pr;

static void pr_resume(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct pr *p = arg;
    p->paused = 0;
    sockit_conn_resume(p->c);
}

static size_t pr_data(sockit_conn *c, char *data, size_t len)
{
    struct pr *p = &g_pr;
    int n = SU_INC(p->calls);
    if (p->paused)
        SU_INC(p->calls_paused);
    if (n == 1) { /* keep it, pause, resume in 0.15 s */
        snprintf(p->first, sizeof p->first, "%.*s", (int)len, data);
        p->c = c;
        p->paused = 1;
        p->paused_at = tu_now();
        sockit_conn_pause(c);
        sockit_timer_init(&p->resume, pr_resume, p);
        sockit_timer_start(sockit_conn_loop(c), &p->resume, 0.15, 0);
        return 0;
    }
    if (n == 2) {
        snprintf(p->second, sizeof p->second, "%.*s", (int)len, data);
        p->resumed_call_at = tu_now();
    }
    return echo(c, data, len);
}

static void test_pause_resume(void)
{
    memset(&g_pr, 0, sizeof g_pr);
    struct ts t;
    ts_init(&t);
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_data = pr_data;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *s = su_connect(&t.addr, 5.0);
    if (s) {
        CHECK_OK(sockit_sendall(s, "hello", 5, 0));
        CHECK_TRUE(SU_WAIT(ts_stats(&t).bytes_in == 5, 5)); /* read, and paused by on_data */
        CHECK_OK(sockit_sendall(s, " world", 6, 0)); /* arrives while paused */
        char in[32] = {0};
        CHECK_INT(su_recv_n(s, in, 11), ==, 11);
        CHECK_STR(in, "hello world");
        CHECK_STR(g_pr.first, "hello");
        /* The held input is offered again (first), after the resume. */
        CHECK_TRUE(strncmp(g_pr.second, "hello", 5) == 0);
        CHECK_INT(SU_GET(g_pr.calls_paused), ==, 0);
        CHECK_DBL(g_pr.resumed_call_at - g_pr.paused_at, >=, 0.13);
        sockit_close(s);
    }
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t);
}

/* ---- on_open refusing, the input limit --------------------------------------------------------- */

static void test_on_open_refuses(void)
{
    struct ts t;
    ts_init(&t);
    t.refuse_odd = 1; /* the 2nd, 4th ... are refused */
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &echo_cbs};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    for (int i = 0; i < 6; i++) {
        TU_CTX("connection %d", i + 1);
        sockit_sock *s = su_connect(&t.addr, 5.0);
        CHECK_TRUE(s != NULL);
        if (!s)
            continue;
        if (i % 2 == 0) {
            CHECK_INT(su_echo_once(s, "welcome"), ==, 1);
        } else {
            int ev = su_next_event(s, 2.0);
            CHECK_TRUE(ev == 0 || ev == -ECONNRESET);
        }
        sockit_close(s);
    }
    tu_ctx_[0] = '\0';
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    CHECK_INT(SU_GET(t.opens), ==, 6);
    CHECK_INT(SU_GET(t.refused_by_open), ==, 3);
    CHECK_INT(SU_GET(t.closes), ==, 3); /* no on_close for the refused */
    ts_finish(&t);
}

/* on_open sends a line and then refuses (the "421 too busy" pattern), with idle timeouts armed:
 * the refused connections must leave the server's bookkeeping intact — every accepted connection
 * still echoes, goes idle and is timed out on time, and everything is released. */
static void test_on_open_greet_refuse(void)
{
    struct ts t;
    ts_init(&t);
    t.refuse_odd = 1;
    t.greet = 1;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &echo_cbs,
                                .idle_timeout = 0.4};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    enum { N = 8 };
    sockit_sock *cl[N] = {0};
    int greeted = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        cl[i] = su_connect(&t.addr, 5.0);
        char line[16] = {0};
        if (!cl[i] || su_recv_n(cl[i], line, 10) != 10)
            continue;
        if (i % 2 == 0) {
            greeted += strcmp(line, "220 hello\n") == 0;
            CHECK_INT(su_echo_once(cl[i], "data"), ==, 1); /* past its first byte */
        } else {
            refused += strcmp(line, "421 busy!\n") == 0;
            int ev = su_next_event(cl[i], 2.0);
            CHECK_TRUE(ev == 0 || ev == -ECONNRESET);
            sockit_close(cl[i]);
            cl[i] = NULL;
        }
    }
    CHECK_INT(greeted, ==, N / 2);
    CHECK_INT(refused, ==, N / 2);
    CHECK_INT(SU_WAIT(ts_stats(&t).active == N / 2, 2), ==, 1);
    /* Every accepted one is idle now: each is closed about 0.4 s later. */
    double t0 = tu_now();
    int timed = 0;
    for (int i = 0; i < N; i += 2)
        if (cl[i])
            timed += su_next_event(cl[i], 3.0) == 0;
    CHECK_INT(timed, ==, N / 2);
    CHECK_DBL(tu_now() - t0, <, 2.0);
    CHECK_INT(SU_WAIT(ts_stats(&t).active == 0, 3), ==, 1);
    CHECK_INT(ts_stats(&t).active, ==, 0);
    CHECK_INT(ts_stats(&t).timed_out, ==, N / 2);
    /* And new connections are served normally afterwards. */
    for (int i = 0; i < N; i++) {
        sockit_close(cl[i]);
        cl[i] = NULL;
    }
    t.refuse_odd = 0;
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        sockit_sock *s = su_connect(&t.addr, 3.0);
        char line[16] = {0};
        ok += s && su_recv_n(s, line, 10) == 10 && su_echo_once(s, "again");
        sockit_close(s);
    }
    CHECK_INT(ok, ==, 4);
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t);
}

static size_t hoard(sockit_conn *c, char *data, size_t len)
{
    return 0; /* never consumes */
}

static void test_in_limit(void)
{
    struct ts t;
    ts_init(&t);
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_data = hoard;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs,
                                .in_limit = 16384};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *s = su_connect(&t.addr, 5.0);
    if (s) {
        unsigned char buf[20000];
        memset(buf, 'a', sizeof buf);
        sockit_sendall(s, buf, sizeof buf, 0);
        int ev = su_next_event(s, 3.0);
        CHECK_TRUE(ev == 0 || ev == -ECONNRESET);
        sockit_close(s);
    }
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    CHECK_INT(SU_GET(t.r_toolong), ==, 1);
    CHECK_INT(SU_GET(t.last_reason), ==, SOCKIT_ETOOLONG);
    ts_finish(&t);
}

/* ---- send's queue rule ------------------------------------------------------------------------------ */

/* "-ENOBUFS if the queue would pass 4 x out_limit ... nothing is queued": also for the first send
 * on an empty queue. The server's send buffer is made small so the kernel takes little. */
struct sendrule {
    int first, second;
    size_t pending_after_first;
};
static struct sendrule g_sr;

static int sr_open(sockit_conn *c)
{
    int small = 4096;
    setsockopt(sockit_conn_fd(c), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    return ts_open(c);
}

static size_t sr_data(sockit_conn *c, char *data, size_t len)
{
    static unsigned char big[1 << 20];
    SU_SET(g_sr.first, sockit_conn_send(c, big, sizeof big)); /* 1 MiB > 4 x 64 KiB */
    SU_SET(g_sr.pending_after_first, sockit_conn_pending(c));
    SU_SET(g_sr.second, sockit_conn_send(c, big, sizeof big));
    return len;
}

static void test_send_queue_rule(void)
{
    memset(&g_sr, 0, sizeof g_sr);
    struct ts t;
    ts_init(&t);
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_open = sr_open;
    cbs.on_data = sr_data;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs,
                                .out_limit = 64 * 1024};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *s = su_connect(&t.addr, 5.0);
    if (s) {
        int small = 4096;
        sockit_setsockopt_int(s, SOL_SOCKET, SO_RCVBUF, small);
        CHECK_OK(sockit_sendall(s, "go", 2, 0));
        CHECK_INT(SU_WAIT(SU_GET(g_sr.second) != 0, 3), ==, 1);
        TU_CTX("1 MiB sends with out_limit 64 KiB: first %d (queued %zu), second %d",
               SU_GET(g_sr.first), SU_GET(g_sr.pending_after_first), SU_GET(g_sr.second));
        /* The second certainly finds a queue: -ENOBUFS. */
        CHECK_CODE(SU_GET(g_sr.second), -ENOBUFS);
        /* The first finds an empty queue: server.h says it is taken whole (0), and whatever
         * the kernel did not take is queued — so the queue holds the rest of the 1 MiB. */
        CHECK_CODE(SU_GET(g_sr.first), 0);
        CHECK_TRUE(SU_GET(g_sr.pending_after_first) > 4 * 64 * 1024);
        CHECK_TRUE(SU_GET(g_sr.pending_after_first) <= 1024 * 1024);
        tu_ctx_[0] = '\0';
        sockit_close(s);
    }
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t);
}

/* ---- pipelined requests under backpressure ---------------------------------------------------------- */

/* Three requests arrive at once; the handler serves one at a time and leaves the rest unconsumed
 * while an answer is being generated ("the rest is kept and offered again"). All three must be
 * answered without the client sending anything more. With use_pause the handler also pauses
 * itself while generating and resumes when done (the explicit way). Small socket buffers on both
 * sides keep the server's queue busy; several answer sizes move where the last chunk falls. */
static int small_sndbuf_open(sockit_conn *c)
{
    int small = 4096;
    setsockopt(sockit_conn_fd(c), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    return ts_open(c);
}

static void pipeline_case(int use_pause)
{
    struct ts t;
    ts_init(&t);
    t.use_pause = use_pause;
    sockit_server_cbs cbs = cmd_cbs;
    cbs.on_open = small_sndbuf_open;
    /* A Unix stream: small buffers without TCP's small-window delays. */
    char dir[64], path[128];
    tu_tempdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/pipe.sock", dir);
    sockit_server_config cfg = {.host = path, .workers = 1, .cbs = &cbs, .out_limit = 16 * 1024};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        rmdir(dir);
        return;
    }
    for (int k = 0; k < 24; k++) {
        unsigned size = 50000 + (unsigned)k * 7919;
        TU_CTX("pipelined requests of %u bytes each, %s", size,
               use_pause ? "handler pauses/resumes" : "handler leaves input unconsumed");
        sockit_sock *s = su_connect(&t.addr, 2.0);
        if (!s)
            break;
        char req[128];
        int n = snprintf(req, sizeof req, "G %u\nG %u\nG %u\n", size, size, size);
        CHECK_OK(sockit_sendall(s, req, (size_t)n, 0));
        CHECK_TRUE(SU_WAIT(SU_GET(t.max_pending) > 0, 5)); /* the queue fills before we read */
        /* Three streams back to back: the pattern restarts at each. */
        int streams = 0;
        for (int j = 0; j < 3; j++) {
            long long bad;
            int end;
            uint64_t got = su_read_pattern(s, size, &bad, &end);
            if (got != size || bad != -1)
                break;
            streams++;
        }
        CHECK_INT(streams, ==, 3);
        sockit_close(s);
        if (streams != 3)
            break;
    }
    tu_ctx_[0] = '\0';
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t);
    rmdir(dir);
}

static void test_pipelined_pause_resume(void)
{
    pipeline_case(1);
}

static void test_pipelined_backpressure(void)
{
    pipeline_case(0);
}

/* ---- sockit_conn_shutdown and sockit_conn_abort ------------------------------------------------- */

static int sa_after_shut; /* bytes received after the server's half-close */

static size_t sa_data(sockit_conn *c, char *data, size_t len)
{
    struct cs *s = sockit_conn_data(c);
    if (s->kind == 'S') {
        SU_ADD(sa_after_shut, (int)len);
        CHECK_CODE(sockit_conn_send(c, "x", 1), -EPIPE); /* the sending side is shut */
        return len;
    }
    if (len >= 3 && memcmp(data, "BYE", 3) == 0) {
        CHECK_OK(sockit_conn_send(c, "bye", 3));
        sockit_conn_shutdown(c);
        s->kind = 'S';
        return len;
    }
    if (len >= 5 && memcmp(data, "ABORT", 5) == 0) {
        static unsigned char big[1 << 20];
        CHECK_OK(sockit_conn_send(c, big, sizeof big));
        sockit_conn_abort(c);
        CHECK_CODE(sockit_conn_send(c, "x", 1), -EPIPE); /* closing: nothing more */
        return len;
    }
    return echo(c, data, len);
}

static int sa_open(sockit_conn *c)
{
    int small = 4096; /* so that the 1 MiB before the abort stays queued */
    setsockopt(sockit_conn_fd(c), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    return ts_open(c);
}

static void test_conn_shutdown_abort(void)
{
    struct ts t;
    ts_init(&t);
    sa_after_shut = 0;
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_data = sa_data;
    cbs.on_open = sa_open;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    /* Half-close from the server: the client reads "bye" then EOF, and can still send. */
    sockit_sock *s = su_connect(&t.addr, 5.0);
    if (s) {
        CHECK_INT(su_echo_once(s, "hello"), ==, 1);
        CHECK_OK(sockit_sendall(s, "BYE", 3, 0));
        char buf[8] = {0};
        CHECK_INT(su_recv_n(s, buf, 3), ==, 3);
        CHECK_STR(buf, "bye");
        CHECK_INT(su_next_event(s, 3.0), ==, 0);
        CHECK_OK(sockit_sendall(s, "after", 5, 0));
        CHECK_INT(SU_WAIT(SU_GET(sa_after_shut) == 5, 3), ==, 1);
        CHECK_INT(SU_GET(t.closes), ==, 0); /* still open for reading */
        CHECK_OK(sockit_shutdown(s, SHUT_WR)); /* both directions done: closed */
        CHECK_INT(SU_WAIT(SU_GET(t.closes) == 1, 3), ==, 1);
        CHECK_INT(SU_GET(t.last_reason), ==, 0);
        sockit_close(s);
    }
    /* Abort with output queued: the client sees a reset. */
    s = su_connect(&t.addr, 5.0);
    if (s) {
        int small = 4096;
        sockit_setsockopt_int(s, SOL_SOCKET, SO_RCVBUF, small);
        CHECK_OK(sockit_sendall(s, "ABORT", 5, 0));
        CHECK_INT(SU_WAIT(SU_GET(t.closes) == 2, 3), ==, 1);
        static unsigned char sink[1 << 20];
        ssize_t r;
        size_t total = 0;
        while ((r = sockit_recv(s, sink, sizeof sink, 0)) > 0)
            total += (size_t)r;
        CHECK_CODE(r, -ECONNRESET);
        CHECK_INT(total, <, sizeof sink);
        sockit_close(s);
    }
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t);
}

/* ---- stop from inside a callback ------------------------------------------------------------------ */

static size_t stop_data(sockit_conn *c, char *data, size_t len)
{
    if (len >= 4 && memcmp(data, "STOP", 4) == 0)
        sockit_server_stop(sockit_conn_server(c));
    return echo(c, data, len);
}

static void test_stop_in_callback(void)
{
    struct ts t;
    ts_init(&t);
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_data = stop_data;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 2, .cbs = &cbs};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *s = su_connect(&t.addr, 5.0);
    if (s) {
        CHECK_OK(sockit_sendall(s, "STOP", 4, 0));
        double t0 = tu_now();
        CHECK_OK(sockit_server_wait(t.srv));
        CHECK_DBL(tu_now() - t0, <, 5.0);
        sockit_close(s);
    }
    ts_finish(&t);
}

/* ---- setup errors ----------------------------------------------------------------------------------- */

static void test_bind_in_use(void)
{
    sockit_sock *holder = NULL;
    CHECK_OK(sockit_create_server(&holder, "127.0.0.1", "0", NULL));
    if (!holder)
        return;
    char port[8];
    tu_portstr(holder, port);
    int fd0 = su_fd_count();
    for (int workers = 1; workers <= 2; workers++) {
        TU_CTX("port %s in use, %d worker(s)", port, workers);
        sockit_server *srv = NULL;
        sockit_server_config cfg = {.host = "127.0.0.1", .port = port, .workers = workers,
                                    .cbs = &echo_cbs};
        CHECK_CODE(sockit_server_new(&srv, &cfg), -EADDRINUSE);
        CHECK_TRUE(srv == NULL);
        CHECK_CONTAINS(sockit_errmsg(), port);
        CHECK_INT(su_fd_count(), ==, fd0); /* nothing leaked on the way out */
    }
    tu_ctx_[0] = '\0';
    sockit_close(holder);
}

static void test_bad_config(void)
{
    sockit_server *srv = NULL;
    sockit_server_cbs none = {0};
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0"};
    CHECK_CODE(sockit_server_new(&srv, NULL), -EINVAL); /* it used to crash */
    CHECK_CONTAINS(sockit_errmsg(), "no configuration");
    CHECK_CODE(sockit_server_new(&srv, &cfg), -EINVAL); /* no callbacks */
    cfg.cbs = &none;
    CHECK_CODE(sockit_server_new(&srv, &cfg), -EINVAL); /* a stream server needs on_data */
    CHECK_TRUE(strlen(sockit_errmsg()) > 0);
    cfg.type = SOCK_DGRAM;
    CHECK_CODE(sockit_server_new(&srv, &cfg), -EINVAL); /* needs on_datagram */
    cfg.type = 0;
    cfg.cbs = &echo_cbs;
    cfg.workers = SOCKIT_SERVER_MAX_WORKERS + 1; /* bounded before anything is allocated */
    CHECK_CODE(sockit_server_new(&srv, &cfg), -EINVAL);
    CHECK_CONTAINS(sockit_errmsg(), "1025 workers: at most 1024");
    cfg.workers = 0;
    cfg.cbs = &none;
    cfg.threads = 2;
    CHECK_CODE(sockit_server_new(&srv, &cfg), -EINVAL); /* threaded needs handle */
    sockit_server_free(NULL);
    /* Created and freed without ever starting: fine, nothing left. */
    int fd0 = su_fd_count();
    sockit_server_config ok = {.host = "127.0.0.1", .port = "0", .workers = 2, .cbs = &echo_cbs};
    CHECK_OK(sockit_server_new(&srv, &ok));
    sockit_server_free(srv);
    CHECK_INT(su_fd_count(), ==, fd0);
    CHECK_INT(sockit_ncpu(), >=, 1);
}

/* ---- the output queue: sendv, lent bytes, file ranges ------------------------------------------ */

#define SQ_LENT 100000
#define SQ_FILE (1024 * 1024 + 17)
#define SQ_OFF 5
static unsigned char sq_lent[SQ_LENT];
static int sq_fd = -1, sq_releases, sq_results[4];
static char sq_path[160];

static void sq_release(void *arg)
{
    SU_INC(sq_releases);
    CHECK_TRUE(arg == sq_lent);
}

/* "F\n": a head and a body in one sendv, lent bytes, a file range whose fd the server takes, a
 * range from a duplicate of the test's fd, a tail; then close. */
static size_t sq_data(sockit_conn *c, char *data, size_t len)
{
    if (!memchr(data, '\n', len))
        return 0;
    struct iovec v[2] = {{"HDR\n", 4}, {"body\n", 5}};
    SU_SET(sq_results[0], sockit_conn_sendv(c, v, 2));
    SU_SET(sq_results[1], sockit_conn_send_borrowed(c, sq_lent, SQ_LENT, sq_release, sq_lent));
    int own = open(sq_path, O_RDONLY | O_CLOEXEC);
    SU_SET(sq_results[2], sockit_conn_sendfile(c, own, SQ_OFF, SQ_FILE - SQ_OFF, 0));
    SU_SET(sq_results[3], sockit_conn_sendfile(c, sq_fd, 0, 1000, SOCKIT_SENDFILE_DUP));
    CHECK_OK(sockit_conn_send(c, "END\n", 4));
    sockit_conn_close(c);
    return len;
}

/* The whole expected stream of sq_data. */
static unsigned char *sq_expected(size_t *n)
{
    *n = 9 + SQ_LENT + (SQ_FILE - SQ_OFF) + 1000 + 4;
    unsigned char *e = malloc(*n), *p = e;
    if (!e)
        return NULL;
    memcpy(p, "HDR\nbody\n", 9), p += 9;
    memcpy(p, sq_lent, SQ_LENT), p += SQ_LENT;
    su_pat_fill(p, SQ_FILE - SQ_OFF, SQ_OFF), p += SQ_FILE - SQ_OFF;
    su_pat_fill(p, 1000, 0), p += 1000;
    memcpy(p, "END\n", 4);
    return e;
}

static int sq_make_file(char *dir, size_t dlen)
{
    tu_tempdir(dir, dlen);
    snprintf(sq_path, sizeof sq_path, "%s/file", dir);
    unsigned char *buf = malloc(SQ_FILE);
    int fd = open(sq_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (!buf || fd < 0) {
        free(buf);
        return -1;
    }
    su_pat_fill(buf, SQ_FILE, 0);
    CHECK_INT(write(fd, buf, SQ_FILE), ==, SQ_FILE);
    free(buf);
    tu_fill(sq_lent, sizeof sq_lent, 7);
    return fd;
}

/* Reads to the end of the stream and compares with what sq_data sends. */
static void sq_check_stream(sockit_sock *s)
{
    size_t n;
    unsigned char *want = sq_expected(&n), *got = malloc(n + 1);
    if (want && got) {
        ssize_t r = su_recv_n(s, got, n + 1); /* one more: the stream must end there */
        CHECK_INT(r, ==, (ssize_t)n);
        CHECK_TRUE(r == (ssize_t)n && memcmp(got, want, n) == 0);
    }
    free(want);
    free(got);
}

static void test_output_segments(void)
{
    char dir[64];
    sq_fd = sq_make_file(dir, sizeof dir);
    SU_SET(sq_releases, 0);
    struct ts t;
    ts_init(&t);
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_data = sq_data;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs,
                                .out_limit = 16384};
    CHECK_INT(sq_fd, >=, 0);
    if (sq_fd < 0 || ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    for (int round = 0; round < 3; round++) { /* again: queues and chunks come back for reuse */
        TU_CTX("round %d", round);
        sockit_sock *s = su_connect(&t.addr, 10.0);
        if (!s)
            continue;
        CHECK_OK(sockit_sendall(s, "F\n", 2, 0));
        sq_check_stream(s);
        sockit_close(s);
        for (int i = 0; i < 4; i++)
            CHECK_CODE(SU_GET(sq_results[i]), 0);
        CHECK_TRUE(SU_WAIT(SU_GET(sq_releases) == round + 1, 5)); /* exactly once per send */
    }
    tu_ctx_[0] = '\0';
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t); /* counts the descriptors: the server closed its duplicates and the fd it took */
    close(sq_fd);
    sq_fd = -1;
    unlink(sq_path);
    rmdir(dir);
}

/* Failures of the new sends: each says why, ownership as promised (fds closed, release called). */
static int sf_results[6];
static char sf_msgs[3][160];
static int sf_done; /* set last: the messages above are written (for TSan, a release) */

static size_t sf_data(sockit_conn *c, char *data, size_t len)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    SU_SET(sf_results[0], sockit_conn_sendfile(c, -1, 0, 1, 0));
    SU_SET(sf_results[1], sockit_conn_sendfile(c, fd, UINT64_MAX, 1, 0)); /* takes fd: closed */
    snprintf(sf_msgs[0], sizeof sf_msgs[0], "%s", sockit_errmsg());
    sockit_conn_shutdown(c);
    SU_SET(sf_results[2], sockit_conn_send(c, "x", 1));
    snprintf(sf_msgs[1], sizeof sf_msgs[1], "%s", sockit_errmsg());
    SU_SET(sf_results[3], sockit_conn_send_borrowed(c, "x", 1, sq_release, sq_lent));
    struct iovec v = {"x", 1};
    SU_SET(sf_results[4], sockit_conn_sendv(c, &v, 1));
    SU_SET(sf_results[5], sockit_conn_sendfile(c, open("/dev/null", O_RDONLY | O_CLOEXEC), 0, 1, 0));
    SU_SET(sf_done, 1);
    return len;
}

static void test_send_failures(void)
{
    SU_SET(sq_releases, 0);
    struct ts t;
    ts_init(&t);
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_data = sf_data;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *s = su_connect(&t.addr, 5.0);
    if (s) {
        CHECK_OK(sockit_sendall(s, "go", 2, 0));
        CHECK_INT(su_next_event(s, 5), ==, 0); /* shut down: end of stream */
        CHECK_TRUE(SU_WAIT(SU_GET(sf_done), 5));
        CHECK_CODE(SU_GET(sf_results[0]), -EINVAL);
        CHECK_CODE(SU_GET(sf_results[1]), -EINVAL);
        CHECK_CONTAINS(sf_msgs[0], "range");
        CHECK_CODE(SU_GET(sf_results[2]), -EPIPE);
        CHECK_CONTAINS(sf_msgs[1], "shut down");
        CHECK_CODE(SU_GET(sf_results[3]), -EPIPE);
        CHECK_INT(SU_GET(sq_releases), ==, 1); /* released although refused */
        CHECK_CODE(SU_GET(sf_results[4]), -EPIPE);
        CHECK_CODE(SU_GET(sf_results[5]), -EPIPE);
        sockit_close(s);
    }
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t); /* counts the descriptors: the refused files were closed */
}

/* ---- the drain signal ------------------------------------------------------------------------- */

/* A producer that sends "while pending < out_limit", in pieces that land exactly on the limit:
 * on_writable must come (it did not when only "above the limit" asked for it). */
static int bd_exact, bd_writables;

static void bd_pump(sockit_conn *c)
{
    struct cs *s = sockit_conn_data(c);
    size_t limit = s->ts->out_limit;
    unsigned char buf[16384];
    while (s->gen_left > 0 && sockit_conn_pending(c) < limit) {
        size_t n = limit - sockit_conn_pending(c);
        n = n < sizeof buf ? n : sizeof buf;
        n = n < s->gen_left ? n : (size_t)s->gen_left;
        su_pat_fill(buf, n, s->gen_off);
        if (sockit_conn_send(c, buf, n) < 0)
            return;
        s->gen_left -= n;
        s->gen_off += n;
        if (sockit_conn_pending(c) == limit)
            SU_INC(bd_exact);
    }
    if (s->gen_left == 0)
        sockit_conn_close(c);
}

static size_t bd_data(sockit_conn *c, char *data, size_t len)
{
    struct cs *s = sockit_conn_data(c);
    if (!s->gen_off && !s->gen_left && memchr(data, '\n', len)) {
        s->gen_left = strtoull(data, NULL, 10);
        bd_pump(c);
    }
    return len;
}

static void bd_writable(sockit_conn *c)
{
    SU_INC(bd_writables);
    bd_pump(c);
}

static void test_drain_at_the_limit(void)
{
    SU_SET(bd_exact, 0);
    SU_SET(bd_writables, 0);
    struct ts t;
    ts_init(&t);
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_data = bd_data;
    cbs.on_writable = bd_writable;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs,
                                .out_limit = 65536};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    const uint64_t total = 8 << 20;
    sockit_sock *s = su_connect(&t.addr, 10.0);
    if (s) {
        CHECK_OK(sockit_sendall(s, "8388608\n", 8, 0));
        /* Read only once the producer has stopped exactly on the limit. */
        CHECK_TRUE(SU_WAIT(SU_GET(bd_exact) >= 1, 10));
        long long bad;
        int end;
        uint64_t got = su_read_pattern(s, total + 1, &bad, &end);
        CHECK_INT(got, ==, total);
        CHECK_INT(bad, ==, -1);
        CHECK_INT(end, ==, 0);
        CHECK_INT(SU_GET(bd_writables), >=, 1);
        sockit_close(s);
    }
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t);
}

/* sockit_conn_want_writable on an empty queue: on_writable at the end of the round. */
static int ww_open(sockit_conn *c)
{
    int r = ts_open(c);
    sockit_conn_want_writable(c);
    return r;
}

static void ww_writable(sockit_conn *c)
{
    SU_INC(bd_writables);
    CHECK_OK(sockit_conn_send(c, "W\n", 2));
}

static void test_want_writable(void)
{
    SU_SET(bd_writables, 0);
    struct ts t;
    ts_init(&t);
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_open = ww_open;
    cbs.on_writable = ww_writable;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *s = su_connect(&t.addr, 5.0);
    char buf[4] = "";
    CHECK_INT(s ? su_recv_n(s, buf, 2) : -1, ==, 2);
    CHECK_MEM(buf, "W\n", 2);
    CHECK_TRUE(s && su_echo_once(s, "still an echo"));
    CHECK_INT(SU_GET(bd_writables), ==, 1); /* once per request */
    sockit_close(s);
    CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    ts_finish(&t);
}

/* ---- issue 7: held input, kicks, timeouts, on_close, end of stream ------------------------------ */

/* on_data resumes (not paused) and shuts down its own connection, consuming nothing: the held
 * byte must not be offered again and again (it was, forever, in one round: a livelock that grew
 * the kick list until its capacity wrapped and ended in a use-after-free). */
static int lv_calls, lv_mode;

static size_t lv_data(sockit_conn *c, char *data, size_t len)
{
    SU_INC(lv_calls);
    if (lv_mode == 0) {
        sockit_conn_resume(c);
        sockit_conn_shutdown(c);
    } else {
        sockit_conn_pause(c); /* pausing and resuming itself: offered again once per round */
        sockit_conn_resume(c);
    }
    return 0;
}

static void test_held_input_livelock(void)
{
    for (lv_mode = 0; lv_mode < 2; lv_mode++) {
        TU_CTX("mode %d", lv_mode);
        SU_SET(lv_calls, 0);
        struct ts t;
        ts_init(&t);
        sockit_server_cbs cbs = echo_cbs;
        cbs.on_data = lv_data;
        sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs,
                                    .stop_grace = 0.3};
        if (ts_start(&t, &cfg) != 0) {
            ts_finish(&t);
            continue;
        }
        long rss0 = su_rss_kb();
        sockit_sock *s = su_connect(&t.addr, 5.0);
        if (s) {
            CHECK_OK(sockit_sendall(s, "x", 1, 0));
            if (lv_mode == 0) {
                CHECK_INT(su_next_event(s, 5), ==, 0); /* the shutdown arrives */
                CHECK_INT(SU_GET(lv_calls), ==, 1);    /* and the byte was offered once */
                CHECK_OK(sockit_sendall(s, "y", 1, 0)); /* more input: offered again, with "x" */
                CHECK_TRUE(SU_WAIT(SU_GET(lv_calls) == 2, 5));
            } else {
                CHECK_TRUE(SU_WAIT(SU_GET(lv_calls) >= 100, 5)); /* once per round */
            }
        }
        double t0 = tu_now();
        sockit_server_stop(t.srv); /* heard although the connection keeps kicking itself */
        CHECK_OK(sockit_server_wait(t.srv));
        CHECK_DBL(tu_now() - t0, <, 3.0);
        long rss1 = su_rss_kb();
        CHECK_INT(rss1 - rss0, <, 64 * 1024); /* no list growing without bound */
        sockit_close(s);
        ts_finish(&t);
    }
    tu_ctx_[0] = '\0';
}

/* Timeouts far beyond any clock (1e10 s): no overflow (UBSan), and stop_grace stays long. */
static void test_huge_timeouts(void)
{
    struct ts t;
    ts_init(&t);
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_data = hoard; /* input held: a busy connection, which the grace protects */
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs,
                                .idle_timeout = 1e10, .first_byte_timeout = 1e10,
                                .stop_grace = 1e10};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *busy = su_connect(&t.addr, 5.0), *idle = su_connect(&t.addr, 5.0);
    CHECK_TRUE(busy && idle);
    if (busy && idle) {
        CHECK_OK(sockit_sendall(busy, "held", 4, 0));
        CHECK_TRUE(SU_WAIT(ts_stats(&t).bytes_in == 4, 5));
        /* Let the sweep (every second at most) look at both with its clamped limits. */
        tu_sleep(1.2);
        sockit_server_stop(t.srv);
        CHECK_INT(su_next_event(idle, 5), ==, 0); /* the idle one goes at once */
        CHECK_TRUE(SU_WAIT(ts_stats(&t).active == 1, 5)); /* the busy one has its (long) grace */
        CHECK_INT(su_next_event(busy, 0.2), ==, -ETIMEDOUT);
        sockit_close(busy); /* its end: held input unconsumed, reported */
        busy = NULL;
        CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
        CHECK_INT(SU_GET(t.last_reason), ==, SOCKIT_EINCOMPLETE);
    }
    sockit_close(busy);
    sockit_close(idle);
    ts_finish(&t);
}

/* A send from on_close fails -EPIPE with a message (it returned 0 and the bytes were lost). */
static int oc_result = 1;
static char oc_msg[200];

static void oc_close(sockit_conn *c, int reason)
{
    int r = sockit_conn_send(c, "late", 4);
    snprintf(oc_msg, sizeof oc_msg, "%s", sockit_errmsg());
    SU_SET(oc_result, r); /* last: oc_msg is written */
    ts_close(c, reason);
}

static void test_send_from_on_close(void)
{
    struct ts t;
    ts_init(&t);
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_close = oc_close;
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    sockit_sock *s = su_connect(&t.addr, 5.0);
    CHECK_TRUE(s && su_echo_once(s, "hello"));
    sockit_server_stop(t.srv); /* graceful stop: the idle connection closes, -ESHUTDOWN */
    CHECK_INT(s ? su_next_event(s, 5) : -1, ==, 0);
    CHECK_TRUE(SU_WAIT(SU_GET(oc_result) != 1, 5));
    CHECK_CODE(SU_GET(oc_result), -EPIPE);
    CHECK_CONTAINS(oc_msg, "on_close");
    CHECK_INT(SU_GET(t.r_shutdown), ==, 1);
    sockit_close(s);
    ts_finish(&t);
}

/* End of stream with input held: one last offer (sockit_conn_eof true), and what is still left
 * is reported as SOCKIT_EINCOMPLETE — the final line without a newline used to vanish. */
static int eo_take_rest, eo_last_offers;

static size_t eo_data(sockit_conn *c, char *data, size_t len)
{
    size_t used = 0;
    char *nl;
    while ((nl = memchr(data + used, '\n', len - used)) != NULL) {
        size_t n = (size_t)(nl - (data + used)) + 1;
        sockit_conn_send(c, data + used, n);
        used += n;
    }
    if (sockit_conn_eof(c) && used < len) {
        SU_INC(eo_last_offers);
        if (eo_take_rest) {
            sockit_conn_send(c, "last:", 5);
            sockit_conn_send(c, data + used, len - used);
            used = len;
        }
    }
    return used;
}

static void test_eof_with_held_input(void)
{
    for (eo_take_rest = 1; eo_take_rest >= 0; eo_take_rest--) {
        TU_CTX("on_data %s the rest", eo_take_rest ? "takes" : "leaves");
        SU_SET(eo_last_offers, 0);
        struct ts t;
        ts_init(&t);
        sockit_server_cbs cbs = echo_cbs;
        cbs.on_data = eo_data;
        sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs};
        if (ts_start(&t, &cfg) != 0) {
            ts_finish(&t);
            continue;
        }
        sockit_sock *s = su_connect(&t.addr, 5.0);
        if (s) {
            CHECK_OK(sockit_sendall(s, "one\ntwo", 7, 0));
            CHECK_OK(sockit_shutdown(s, SHUT_WR));
            char buf[64] = "";
            ssize_t n = su_recv_n(s, buf, sizeof buf - 1);
            CHECK_STR(buf, eo_take_rest ? "one\nlast:two" : "one\n");
            CHECK_INT(n, ==, eo_take_rest ? 12 : 4);
            sockit_close(s);
        }
        CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
        CHECK_INT(SU_GET(eo_last_offers), ==, 1);
        CHECK_INT(SU_GET(t.last_reason), ==, eo_take_rest ? 0 : SOCKIT_EINCOMPLETE);
        ts_finish(&t);
    }
    tu_ctx_[0] = '\0';
}

/* ---- protocol state inline, and on_data's mutable view ------------------------------------------- */

struct st_state {
    uint64_t id;
    char zero[40];
};
static int st_bad, st_next_id;

static int st_open(sockit_conn *c)
{
    struct st_state *st = sockit_conn_state(c);
    if (!st || ((uintptr_t)st & 15))
        return SU_INC(st_bad), -1;
    for (size_t i = 0; i < sizeof *st; i++)
        if (((unsigned char *)st)[i])
            SU_INC(st_bad); /* zeroed at each accept, also in a reused slot */
    st->id = (uint64_t)SU_INC(st_next_id);
    char subject[64];
    if (sockit_conn_tls_alpn(c) != NULL || sockit_conn_tls_peer_subject(c, subject, sizeof subject) != -EINVAL ||
        sockit_conn_tls_peer_cert(c, NULL, 0) != -EINVAL)
        SU_INC(st_bad); /* a plain connection has no TLS facts */
    sockit_conn_set_data(c, (void *)(uintptr_t)st->id);
    memset(st->zero, 0x5a, sizeof st->zero);
    SU_INC(ts_of(c)->opens);
    return 0;
}

static size_t st_data(sockit_conn *c, char *data, size_t len)
{
    struct st_state *st = sockit_conn_state(c);
    if (st->id != (uint64_t)(uintptr_t)sockit_conn_data(c))
        SU_INC(st_bad);
    for (size_t i = 0; i < len; i++) /* the view is ours to change in place */
        if (data[i] >= 'a' && data[i] <= 'z')
            data[i] = (char)(data[i] - 'a' + 'A');
    sockit_conn_send(c, data, len);
    return len;
}

static void st_close(sockit_conn *c, int reason)
{
    struct ts *t = ts_of(c);
    SU_INC(t->closes);
    SU_SET(t->last_reason, reason);
}

static void test_conn_state(void)
{
    SU_SET(st_bad, 0);
    struct ts t;
    ts_init(&t);
    sockit_server_cbs cbs = {.on_open = st_open, .on_data = st_data, .on_close = st_close};
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs,
                                .conn_state_size = sizeof(struct st_state)};
    if (ts_start(&t, &cfg) != 0) {
        ts_finish(&t);
        return;
    }
    for (int round = 0; round < 3; round++) { /* slots are reused: zeroed again */
        sockit_sock *s[8];
        for (int i = 0; i < 8; i++)
            s[i] = su_connect(&t.addr, 5.0);
        for (int i = 0; i < 8; i++) {
            char buf[16] = "";
            CHECK_TRUE(s[i] && sockit_sendall(s[i], "hello", 5, 0) == 0 && su_recv_n(s[i], buf, 5) == 5);
            CHECK_STR(buf, "HELLO");
        }
        for (int i = 0; i < 8; i++)
            sockit_close(s[i]);
        CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
    }
    CHECK_INT(SU_GET(st_bad), ==, 0);
    ts_finish(&t);
    /* Without state: NULL. Too much state: refused. */
    sockit_server *srv = NULL;
    sockit_server_config big = cfg;
    big.conn_state_size = (size_t)1 << 30;
    CHECK_CODE(sockit_server_new(&srv, &big), -EINVAL);
    CHECK_CONTAINS(sockit_errmsg(), "conn_state_size");
}

/* Safe by default: with idle_timeout and first_byte_timeout left 0 the worker's loop has the
 * timeout sweep armed (one more entry in sockit_loop_count) — with both negative (off) it has not. */
static size_t df_count[2];
static int df_which;

static int df_open(sockit_conn *c)
{
    SU_SET(df_count[df_which], sockit_loop_count(sockit_conn_loop(c)));
    return ts_open(c);
}

static void test_default_timeouts(void)
{
    for (df_which = 0; df_which < 2; df_which++) {
        struct ts t;
        ts_init(&t);
        sockit_server_cbs cbs = echo_cbs;
        cbs.on_open = df_open;
        sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs};
        if (df_which == 1)
            cfg.idle_timeout = cfg.first_byte_timeout = -1;
        if (ts_start(&t, &cfg) != 0) {
            ts_finish(&t);
            return;
        }
        sockit_sock *s = su_connect(&t.addr, 5.0);
        CHECK_TRUE(s && su_echo_once(s, "x"));
        sockit_close(s);
        CHECK_INT(ts_wait_idle(&t, 5), ==, 1);
        ts_finish(&t);
    }
    CHECK_INT(SU_GET(df_count[0]), ==, SU_GET(df_count[1]) + 1);
}

/* ---- TLS as a connection layer -------------------------------------------------------------------- */

static tlsu_certs tl_certs;
static char tl_alpn[64];
static int tl_subject = 1;
static ssize_t tl_cert = 1;

static int tl_open(sockit_conn *c)
{
    const char *a = sockit_conn_tls_alpn(c);
    char subject[256];
    snprintf(tl_alpn, sizeof tl_alpn, "%s", a ? a : "(null)");
    SU_SET(tl_subject, sockit_conn_tls_peer_subject(c, subject, sizeof subject));
    SU_SET(tl_cert, sockit_conn_tls_peer_cert(c, NULL, 0)); /* last: tl_alpn is written */
    return ts_open(c);
}

/* "F\n" asks for the segments, a number for the producer. */
static size_t tl_data(sockit_conn *c, char *data, size_t len)
{
    return data[0] == 'F' ? sq_data(c, data, len) : bd_data(c, data, len);
}

/* The same server tests over TLS, with the layer doing the work: the segments (a file range read
 * and encrypted by the layer), and a producer landing exactly on out_limit — the case that stalled
 * a TLS stream at 7.6 of 16 MiB. Plus what the layer tells handlers: ALPN, the peer certificate. */
static void test_tls_layer(void)
{
    char dir[64];
    if (tlsu_make_certs(&tl_certs) < 0) {
        CHECK_TRUE(!"openssl made the test certificates");
        return;
    }
    struct ts t;
    ts_init(&t);
    t.fd_start = su_fd_count();
    sq_fd = sq_make_file(dir, sizeof dir);
    SU_SET(sq_releases, 0);
    SU_SET(bd_exact, 0);
    sockit_server_cbs cbs = echo_cbs;
    cbs.on_open = tl_open;
    cbs.on_data = tl_data;
    cbs.on_writable = bd_writable;
    sockit_server_config cfg = {.workers = 1, .cbs = &cbs, .user = &t, .log = ts_log, .out_limit = 65536};
    t.out_limit = cfg.out_limit;
    tlsu_es f;
    if (tlsu_es_start(&f, &tl_certs, &cfg, "http/1.1") == 0) {
        t.srv = f.srv;
        sockit_server_addr(f.srv, &t.addr);
        sockit_sock *s;
        CHECK_OK(tlsu_es_dial(&f, &s, 10));
        if (s) {
            CHECK_OK(sockit_sendall(s, "F\n", 2, 0));
            sq_check_stream(s);
            sockit_close(s);
        }
        CHECK_TRUE(SU_WAIT(SU_GET(tl_cert) != 1, 5));
        CHECK_STR(tl_alpn, "http/1.1");
        CHECK_INT(SU_GET(tl_subject), ==, 0); /* the client sent no certificate */
        CHECK_INT(SU_GET(tl_cert), ==, 0);
        for (int i = 0; i < 4; i++)
            CHECK_CODE(SU_GET(sq_results[i]), 0);
        CHECK_TRUE(SU_WAIT(SU_GET(sq_releases) == 1, 5));
        /* The exact boundary, over TLS. */
        const uint64_t total = 8 << 20;
        CHECK_OK(tlsu_es_dial(&f, &s, 10));
        if (s) {
            CHECK_OK(sockit_sendall(s, "8388608\n", 8, 0));
            CHECK_TRUE(SU_WAIT(SU_GET(bd_exact) >= 1, 10));
            long long bad;
            int end;
            uint64_t got = su_read_pattern(s, total + 1, &bad, &end);
            CHECK_INT(got, ==, total);
            CHECK_INT(bad, ==, -1);
            CHECK_INT(end, ==, 0);
            sockit_close(s);
        }
        CHECK_TRUE(SU_WAIT(ts_stats(&t).active == 0, 5));
        CHECK_INT(SU_GET(t.r_other) + SU_GET(t.r_reset) + SU_GET(t.r_toolong), ==, 0);
    }
    tlsu_es_stop(&f);
    CHECK_INT(SU_GET(t.closes), ==, SU_GET(t.opens));
    close(sq_fd);
    sq_fd = -1;
    CHECK_INT(su_fd_count(), ==, t.fd_start);
    unlink(sq_path);
    rmdir(dir);
    tlsu_rmdir(tl_certs.dir);
    pthread_mutex_destroy(&t.mu);
}

/* ---- main ----------------------------------------------------------------------------------------- */

/* SOCKIT_TEST_ONLY=substring runs only the cases whose name contains it (for debugging). */
#define RUN(fn, secs)                                                                            \
    do {                                                                                         \
        const char *only_ = getenv("SOCKIT_TEST_ONLY");                                          \
        if (!only_ || strstr(#fn, only_))                                                        \
            TU_RUN(fn, secs);                                                                    \
    } while (0)

int main(void)
{
    su_raise_nofile();
    /* SIGPIPE keeps its default action: the library promises never to raise it. */
    RUN(test_bad_config, 10);
    RUN(test_bind_in_use, 10);
    RUN(test_echo, 30);
    RUN(test_echo_16mib, 30);
    RUN(test_udp_echo, 45);
    RUN(test_unix_dgram, 15);
    RUN(test_half_close_on_eof, 15);
    RUN(test_half_close_no_on_eof, 15);
    RUN(test_never_reads, 20);
    RUN(test_idle_timeout, 15);
    RUN(test_first_byte_timeout, 15);
    RUN(test_first_byte_timeout_greeting, 15);
    RUN(test_conn_limit, 20);
    RUN(test_graceful_stop, 30);
    RUN(test_stop_grace_expires, 15);
    RUN(test_busy_through_stop, 20);
    RUN(test_reoffer_after_eof, 20);
    RUN(test_run_sigterm, 20);
    RUN(test_reset_mid_write, 30);
    RUN(test_pause_resume, 10);
    RUN(test_on_open_refuses, 15);
    RUN(test_on_open_greet_refuse, 15);
    RUN(test_in_limit, 10);
    RUN(test_send_queue_rule, 10);
    RUN(test_pipelined_pause_resume, 20);
    RUN(test_pipelined_backpressure, 20);
    RUN(test_conn_shutdown_abort, 15);
    RUN(test_stop_in_callback, 10);
    RUN(test_output_segments, 30);
    RUN(test_send_failures, 10);
    RUN(test_drain_at_the_limit, 30);
    RUN(test_want_writable, 10);
    RUN(test_held_input_livelock, 20);
    RUN(test_huge_timeouts, 15);
    RUN(test_send_from_on_close, 10);
    RUN(test_eof_with_held_input, 10);
    RUN(test_conn_state, 15);
    RUN(test_default_timeouts, 10);
    RUN(test_tls_layer, 40);
    return tu_done();
}
