/*
 * test_loop.c — the event loop (include/sockit/loop.h), every case on both backends (epoll and
 * poll): fd readiness on socketpairs, mod/del and their errors, removal (and reuse of the number)
 * during a round, one-shot and repeating timers, 10,000 timers with half cancelled, ties, stop
 * inside a callback, cross-thread posts, stop and wake from another thread, signals, run_once
 * without waiting, and sockit_loop_count.
 */
#include "testutil.h"

#include <sockit/loop.h>
#include "internal/loop.h" /* the fd table's capacity, to check that bad adds grow nothing */

#include <limits.h>
#include <fcntl.h>
#include <math.h>
#include <sys/resource.h>
#include <sys/syscall.h>

static int g_backend = SOCKIT_LOOP_EPOLL;

static const char *backend_name(int b)
{
    return b == SOCKIT_LOOP_POLL ? "poll" : "epoll";
}

/* A loop with the backend under test; NULL (and a failure) if it cannot be made. */
static sockit_loop *new_loop(void)
{
    sockit_loop *l = NULL;
    CHECK_OK(sockit_loop_new(&l, g_backend));
    if (l)
        CHECK_STR(sockit_loop_backend(l), backend_name(g_backend));
    return l;
}

/* A non-blocking AF_UNIX stream pair, close-on-exec. */
static int upair(int sv[2])
{
    int r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
    CHECK_OK(r);
    return r;
}

static void close2(int sv[2])
{
    close(sv[0]);
    close(sv[1]);
}

/* Runs rounds until *flag is set or `seconds` pass; returns the flag. */
static int run_until(sockit_loop *l, volatile int *flag, double seconds)
{
    double end = tu_now() + seconds;
    while (!*flag && tu_now() < end)
        if (sockit_loop_run_once(l, 0.05) < 0)
            break;
    return *flag;
}

/* ---- fd readiness ---------------------------------------------------------------------------- */

struct io_rec {
    int calls;
    int last_events;
    int last_fd;
    sockit_loop *last_loop;
};

static void io_cb(sockit_loop *loop, int fd, int events, void *arg)
{
    struct io_rec *r = arg;
    r->calls++;
    r->last_events = events;
    r->last_fd = fd;
    r->last_loop = loop;
}

static void test_backend_names(void)
{
    sockit_loop *l = NULL;
    CHECK_OK(sockit_loop_new(&l, SOCKIT_LOOP_DEFAULT));
    if (l)
        CHECK_STR(sockit_loop_backend(l), "epoll");
    sockit_loop_free(l);
    l = NULL;
    CHECK_OK(sockit_loop_new(&l, SOCKIT_LOOP_EPOLL));
    if (l)
        CHECK_STR(sockit_loop_backend(l), "epoll");
    sockit_loop_free(l);
    l = NULL;
    CHECK_OK(sockit_loop_new(&l, SOCKIT_LOOP_POLL));
    if (l)
        CHECK_STR(sockit_loop_backend(l), "poll");
    sockit_loop_free(l);
    sockit_loop_free(NULL); /* a no-op */
}

static void test_io_readiness(void)
{
    sockit_loop *l = new_loop();
    int sv[2];
    if (!l || upair(sv) != 0) {
        sockit_loop_free(l);
        return;
    }
    struct io_rec ra = {0}, rb = {0};
    char buf[16];

    /* Nothing to read: no callback, and run_once says 0. */
    CHECK_OK(sockit_loop_add(l, sv[0], SOCKIT_READABLE, io_cb, &ra));
    CHECK_INT(sockit_loop_count(l), ==, 1);
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 0);
    CHECK_INT(ra.calls, ==, 0);

    /* Readable after a write, with the right fd, events and loop. */
    CHECK_INT(write(sv[1], "x", 1), ==, 1);
    CHECK_INT(sockit_loop_run_once(l, 1.0), ==, 1);
    CHECK_INT(ra.calls, ==, 1);
    CHECK_INT(ra.last_fd, ==, sv[0]);
    CHECK_INT(ra.last_events, ==, SOCKIT_READABLE);
    CHECK_TRUE(ra.last_loop == l);

    /* Level-triggered: again while it stays readable; not after it was read. */
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 1);
    CHECK_INT(ra.calls, ==, 2);
    CHECK_INT(read(sv[0], buf, sizeof buf), ==, 1);
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 0);
    CHECK_INT(ra.calls, ==, 2);

    /* Writable at once. */
    CHECK_OK(sockit_loop_add(l, sv[1], SOCKIT_WRITABLE, io_cb, &rb));
    CHECK_INT(sockit_loop_count(l), ==, 2);
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 1);
    CHECK_INT(rb.calls, ==, 1);
    CHECK_INT(rb.last_events, ==, SOCKIT_WRITABLE);

    /* Already watched. */
    CHECK_CODE(sockit_loop_add(l, sv[1], SOCKIT_READABLE, io_cb, &rb), -EEXIST);
    CHECK_INT(sockit_loop_count(l), ==, 2);

    /* mod: sv[0] readable and writable, both asked: both bits in one call. */
    CHECK_INT(write(sv[1], "y", 1), ==, 1);
    CHECK_OK(sockit_loop_del(l, sv[1]));
    ra.calls = 0;
    CHECK_OK(sockit_loop_mod(l, sv[0], SOCKIT_READABLE | SOCKIT_WRITABLE));
    CHECK_INT(sockit_loop_run_once(l, 1.0), ==, 1);
    CHECK_INT(ra.calls, ==, 1);
    CHECK_INT(ra.last_events, ==, SOCKIT_READABLE | SOCKIT_WRITABLE);

    /* Only writable asked: readability is not reported. */
    CHECK_OK(sockit_loop_mod(l, sv[0], SOCKIT_WRITABLE));
    ra.calls = 0;
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 1);
    CHECK_INT(ra.calls, ==, 1);
    CHECK_INT(ra.last_events, ==, SOCKIT_WRITABLE);

    /* Nothing asked: neither is reported (no HUP, no error). */
    CHECK_OK(sockit_loop_mod(l, sv[0], 0));
    ra.calls = 0;
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 0);
    CHECK_INT(ra.calls, ==, 0);

    /* Back to readable (the byte is still there). */
    CHECK_OK(sockit_loop_mod(l, sv[0], SOCKIT_READABLE));
    CHECK_OK(sockit_loop_mod(l, sv[0], SOCKIT_READABLE)); /* the same again: fine */
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 1);
    CHECK_INT(ra.calls, ==, 1);
    CHECK_INT(ra.last_events, ==, SOCKIT_READABLE);

    /* del: no more callbacks; del/mod of an fd not watched is -ENOENT. */
    CHECK_OK(sockit_loop_del(l, sv[0]));
    CHECK_INT(sockit_loop_count(l), ==, 0);
    ra.calls = 0;
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 0);
    CHECK_INT(ra.calls, ==, 0);
    CHECK_CODE(sockit_loop_del(l, sv[0]), -ENOENT);
    CHECK_CODE(sockit_loop_mod(l, sv[0], SOCKIT_READABLE), -ENOENT);
    CHECK_CODE(sockit_loop_del(l, -1), -ENOENT);
    CHECK_CODE(sockit_loop_mod(l, -1, SOCKIT_READABLE), -ENOENT);
    CHECK_CODE(sockit_loop_del(l, 100000), -ENOENT);
    CHECK_CODE(sockit_loop_mod(l, 100000, SOCKIT_READABLE), -ENOENT);

    /* Re-adding after del works. */
    CHECK_OK(sockit_loop_add(l, sv[0], SOCKIT_READABLE, io_cb, &ra));
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 1);
    CHECK_INT(ra.calls, ==, 1);
    CHECK_OK(sockit_loop_del(l, sv[0]));
    CHECK_INT(sockit_loop_count(l), ==, 0);

    close2(sv);
    sockit_loop_free(l);
}

/* Bad fds are refused by both backends alike ("-EBADF for a bad fd"). */
static void test_io_badfd(void)
{
    sockit_loop *l = new_loop();
    if (!l)
        return;
    struct io_rec r = {0};
    int sv[2];
    if (upair(sv) != 0) {
        sockit_loop_free(l);
        return;
    }
    int fd = sv[0];
    close(sv[0]); /* fd is now a closed number */
    CHECK_CODE(sockit_loop_add(l, -1, SOCKIT_READABLE, io_cb, &r), -EBADF);
    CHECK_CODE(sockit_loop_add(l, fd, SOCKIT_READABLE, io_cb, &r), -EBADF);
    CHECK_INT(sockit_loop_count(l), ==, 0);
    /* Numbers far above any open fd are checked before the table grows: no gigabytes kept (fd
     * 1 << 26 once cost 3.1 GB before the -EBADF; INT_MAX ended in -ENOMEM). */
    size_t cap0 = l->nfds_cap;
    CHECK_CODE(sockit_loop_add(l, 1 << 26, SOCKIT_READABLE, io_cb, &r), -EBADF);
    CHECK_CODE(sockit_loop_add(l, INT_MAX, SOCKIT_READABLE, io_cb, &r), -EBADF);
    CHECK_CODE(sockit_loop_add(l, INT_MAX, SOCKIT_WRITABLE, io_cb, &r), -EBADF);
    CHECK_INT(l->nfds_cap, ==, cap0);
    CHECK_CONTAINS(sockit_errmsg(), "2147483647");
    CHECK_CODE(sockit_loop_mod(l, INT_MAX, SOCKIT_READABLE), -ENOENT);
    CHECK_CODE(sockit_loop_del(l, 1 << 26), -ENOENT);
    CHECK_INT(sockit_loop_count(l), ==, 0);
    CHECK_CODE(sockit_loop_del(l, fd), -ENOENT);
    /* If the add was wrongly taken, make sure no callback for the closed fd slips out. */
    sockit_loop_run_once(l, 0);
    CHECK_INT(r.calls, ==, 0);
    close(sv[1]);
    sockit_loop_free(l);
}

/* The peer hung up: reported even when nothing was asked for. */
static void test_io_hup(void)
{
    sockit_loop *l = new_loop();
    int sv[2];
    if (!l || upair(sv) != 0) {
        sockit_loop_free(l);
        return;
    }
    struct io_rec r = {0};
    CHECK_OK(sockit_loop_add(l, sv[0], 0, io_cb, &r));
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 0);
    close(sv[1]);
    CHECK_INT(sockit_loop_run_once(l, 1.0), ==, 1);
    CHECK_INT(r.calls, ==, 1);
    CHECK_TRUE(r.last_events & SOCKIT_HUP);
    CHECK_INT(r.last_events & (SOCKIT_READABLE | SOCKIT_WRITABLE), ==, 0);
    CHECK_OK(sockit_loop_del(l, sv[0]));
    close(sv[0]);
    sockit_loop_free(l);
}

/* Many fds, numbers well above the initial table (64) and epoll's batch (512): each readable fd
 * gets exactly one callback per round it is readable; all of them are seen. */
static int many_seen[4096];

static void many_cb(sockit_loop *loop, int fd, int events, void *arg)
{
    char c;
    if (read(fd, &c, 1) == 1)
        many_seen[(intptr_t)arg]++;
}

static void test_io_many(void)
{
    enum { N = 1500 };
    static int pairs[N][2];
    sockit_loop *l = new_loop();
    if (!l)
        return;
    memset(many_seen, 0, sizeof many_seen);
    int n = 0;
    for (; n < N; n++) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pairs[n]) != 0)
            break;
    }
    CHECK_INT(n, ==, N);
    int added = 0;
    for (int i = 0; i < n; i++) {
        if (sockit_loop_add(l, pairs[i][0], SOCKIT_READABLE, many_cb, (void *)(intptr_t)i) == 0)
            added++;
        CHECK_INT(write(pairs[i][1], "z", 1), ==, 1);
    }
    CHECK_INT(added, ==, n);
    CHECK_INT(sockit_loop_count(l), ==, (size_t)n);
    int total = 0, rounds = 0;
    double end = tu_now() + 10;
    while (total < n && rounds < 100 && tu_now() < end) {
        int r = sockit_loop_run_once(l, 1.0);
        CHECK_INT(r, >=, 0);
        if (r < 0)
            break;
        total += r;
        rounds++;
    }
    CHECK_INT(total, ==, n);
    int once = 0;
    for (int i = 0; i < n; i++)
        once += many_seen[i] == 1;
    CHECK_INT(once, ==, n);
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 0);
    for (int i = 0; i < n; i++) {
        sockit_loop_del(l, pairs[i][0]);
        close2(pairs[i]);
    }
    CHECK_INT(sockit_loop_count(l), ==, 0);
    sockit_loop_free(l);
}

/* A high fd number (the fd table grows to it). */
static void test_io_high_fd(void)
{
    sockit_loop *l = new_loop();
    int sv[2];
    if (!l || upair(sv) != 0) {
        sockit_loop_free(l);
        return;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    int high = rl.rlim_cur > 6000 ? 5000 : (int)rl.rlim_cur - 10;
    CHECK_INT(dup2(sv[0], high), ==, high);
    close(sv[0]);
    struct io_rec r = {0};
    CHECK_OK(sockit_loop_add(l, high, SOCKIT_READABLE, io_cb, &r));
    /* The table is sized for the fd (doubling), never beyond the process's descriptor limit. */
    CHECK_INT(l->nfds_cap, >, (size_t)high);
    CHECK_INT(l->nfds_cap, <=, 2 * (size_t)high + 2);
    CHECK_INT(l->nfds_cap, <=, (size_t)rl.rlim_cur);
    CHECK_INT(write(sv[1], "h", 1), ==, 1);
    CHECK_INT(sockit_loop_run_once(l, 1.0), ==, 1);
    CHECK_INT(r.calls, ==, 1);
    CHECK_INT(r.last_fd, ==, high);
    CHECK_OK(sockit_loop_del(l, high));
    close(high);
    close(sv[1]);
    sockit_loop_free(l);
}

/* ---- removal during a round ---------------------------------------------------------------- */

/* Two readable fds; whichever callback runs first removes the other (and, by mode, closes it and
 * puts another readable socket under the same number, or re-adds the same fd). The removed
 * registration must get no callback in that round, and a new registration under the number must
 * not get the stale readiness either. */
enum { DEL_ONLY, DEL_CLOSE_DUP2, DEL_READD, DEL_CLOSE_SOCKETPAIR };

struct delpair {
    sockit_loop *loop;
    int fd[2];
    int calls[2];
    int mode;
    int first;          /* index of the callback that ran first; -1 */
    int spare;          /* a readable socket to dup2 from */
    int reused_fd;      /* the number put back under watch, -1 if none */
    int new_calls;      /* callbacks for the new registration */
    int round;          /* 1 during the first round */
    int new_calls_round1;
    int extra_fds[2];   /* DEL_CLOSE_SOCKETPAIR: the pair made in the callback */
};

static void del_new_cb(sockit_loop *loop, int fd, int events, void *arg)
{
    struct delpair *d = arg;
    d->new_calls++;
    if (d->round == 1)
        d->new_calls_round1++;
}

static void del_cb(sockit_loop *loop, int fd, int events, void *arg);

static void del_cb_common(struct delpair *d, int me)
{
    d->calls[me]++;
    if (d->first >= 0)
        return;
    d->first = me;
    int other = d->fd[1 - me];
    CHECK_OK(sockit_loop_del(d->loop, other));
    switch (d->mode) {
    case DEL_ONLY:
        break;
    case DEL_CLOSE_DUP2:
        close(other);
        CHECK_INT(dup2(d->spare, other), ==, other);
        CHECK_OK(sockit_loop_add(d->loop, other, SOCKIT_READABLE, del_new_cb, d));
        d->reused_fd = other;
        break;
    case DEL_READD:
        CHECK_OK(sockit_loop_add(d->loop, other, SOCKIT_READABLE, del_new_cb, d));
        d->reused_fd = other;
        break;
    case DEL_CLOSE_SOCKETPAIR: {
        /* close, then let socketpair() pick the lowest free numbers: `other` is one of them
         * when it is the lowest free (the test arranges that by closing nothing else). */
        close(other);
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
            CHECK_TRUE(0);
            break;
        }
        d->extra_fds[0] = sv[0];
        d->extra_fds[1] = sv[1];
        int peer = sv[1];
        if (sv[1] == other)
            peer = sv[0];
        else if (sv[0] != other) /* a lower number was free: fall back to dup2 */
            CHECK_INT(dup2(sv[0], other), ==, other);
        CHECK_INT(write(peer, "n", 1), ==, 1); /* the new socket under `other` is readable */
        CHECK_OK(sockit_loop_add(d->loop, other, SOCKIT_READABLE, del_new_cb, d));
        d->reused_fd = other;
        break;
    }
    }
}

static void del_cb(sockit_loop *loop, int fd, int events, void *arg)
{
    struct delpair *d = arg;
    del_cb_common(d, fd == d->fd[0] ? 0 : 1);
}

static void run_delpair(int mode)
{
    sockit_loop *l = new_loop();
    int a[2], b[2], s[2];
    if (!l || upair(a) || upair(b) || upair(s)) {
        sockit_loop_free(l);
        return;
    }
    TU_CTX("backend %s, mode %d", backend_name(g_backend), mode);
    struct delpair d = {.loop = l, .fd = {a[0], b[0]}, .mode = mode, .first = -1,
                        .spare = s[0], .reused_fd = -1, .extra_fds = {-1, -1}};
    CHECK_INT(write(s[1], "s", 1), ==, 1); /* the spare is readable */
    CHECK_INT(write(a[1], "a", 1), ==, 1);
    CHECK_INT(write(b[1], "b", 1), ==, 1);
    CHECK_OK(sockit_loop_add(l, a[0], SOCKIT_READABLE, del_cb, &d));
    CHECK_OK(sockit_loop_add(l, b[0], SOCKIT_READABLE, del_cb, &d));

    d.round = 1;
    int n = sockit_loop_run_once(l, 1.0);
    d.round = 2;
    CHECK_INT(n, ==, 1);
    CHECK_INT(d.calls[0] + d.calls[1], ==, 1); /* the removed one got nothing */
    CHECK_INT(d.new_calls_round1, ==, 0);      /* nor did the new registration */
    CHECK_INT(sockit_loop_count(l), ==, (size_t)(mode == DEL_ONLY ? 1 : 2));

    /* Next round: the survivor again (level-triggered); the new registration now. */
    n = sockit_loop_run_once(l, 1.0);
    if (d.first >= 0) {
        CHECK_INT(d.calls[d.first], ==, 2);
        CHECK_INT(d.calls[1 - d.first], ==, 0);
    }
    CHECK_INT(d.new_calls, ==, mode == DEL_ONLY ? 0 : 1);
    CHECK_INT(n, ==, mode == DEL_ONLY ? 1 : 2);

    if (d.reused_fd >= 0)
        sockit_loop_del(l, d.reused_fd);
    if (d.first >= 0)
        sockit_loop_del(l, d.fd[d.first]);
    CHECK_INT(sockit_loop_count(l), ==, 0);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    close2(s);
    if (d.extra_fds[0] >= 0) {
        if (d.extra_fds[0] != a[0] && d.extra_fds[0] != b[0])
            close(d.extra_fds[0]);
        if (d.extra_fds[1] != a[0] && d.extra_fds[1] != b[0])
            close(d.extra_fds[1]);
    }
    sockit_loop_free(l);
    tu_ctx_[0] = '\0';
}

static void test_del_in_round(void)
{
    run_delpair(DEL_ONLY);
    run_delpair(DEL_CLOSE_DUP2);
    run_delpair(DEL_READD);
    run_delpair(DEL_CLOSE_SOCKETPAIR);
}

/* A callback that removes and closes its own fd gets no further call. */
static void self_del_cb(sockit_loop *loop, int fd, int events, void *arg)
{
    int *calls = arg;
    (*calls)++;
    CHECK_OK(sockit_loop_del(loop, fd));
    close(fd);
}

static void test_del_self(void)
{
    sockit_loop *l = new_loop();
    int sv[2];
    if (!l || upair(sv) != 0) {
        sockit_loop_free(l);
        return;
    }
    int calls = 0;
    CHECK_INT(write(sv[1], "q", 1), ==, 1);
    CHECK_OK(sockit_loop_add(l, sv[0], SOCKIT_READABLE | SOCKIT_WRITABLE, self_del_cb, &calls));
    CHECK_INT(sockit_loop_run_once(l, 1.0), ==, 1);
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 0);
    CHECK_INT(calls, ==, 1);
    CHECK_INT(sockit_loop_count(l), ==, 0);
    close(sv[1]);
    sockit_loop_free(l);
}

/* ---- timers ------------------------------------------------------------------------------------ */

struct trec {
    int fired;
    double at;      /* first firing, tu_now() */
    int stop_after; /* repeating: stop itself after this many */
    int restart;    /* one-shot: re-arm itself this many times */
};

static void trec_cb(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct trec *r = arg;
    if (!r->fired)
        r->at = tu_now();
    r->fired++;
    if (r->stop_after && r->fired >= r->stop_after) {
        sockit_timer_stop(loop, t);
        CHECK_INT(sockit_timer_active(t), ==, 0);
    }
    if (r->restart > 0) {
        r->restart--;
        CHECK_OK(sockit_timer_start(loop, t, 0.01, 0));
    }
}

static void test_timer_oneshot(void)
{
    sockit_loop *l = new_loop();
    if (!l)
        return;
    sockit_timer t;
    struct trec r = {0};
    sockit_timer_init(&t, trec_cb, &r);
    CHECK_INT(sockit_timer_active(&t), ==, 0);
    double t0 = tu_now();
    CHECK_OK(sockit_timer_start(l, &t, 0.05, 0));
    CHECK_INT(sockit_timer_active(&t), ==, 1);
    CHECK_INT(sockit_loop_count(l), ==, 1);
    double end = t0 + 3;
    while (!r.fired && tu_now() < end)
        sockit_loop_run_once(l, -1); /* the timer bounds the wait */
    CHECK_INT(r.fired, ==, 1);
    CHECK_DBL(r.at - t0, >=, 0.04);
    CHECK_DBL(r.at - t0, <=, 1.0);
    CHECK_INT(sockit_timer_active(&t), ==, 0);
    CHECK_INT(sockit_loop_count(l), ==, 0);
    /* sockit_loop_now is the round's monotonic clock. */
    CHECK_DBL(fabs(sockit_loop_now(l) - tu_now()), <, 0.5);
    /* Once only. */
    for (int i = 0; i < 3; i++)
        sockit_loop_run_once(l, 0.03);
    CHECK_INT(r.fired, ==, 1);

    /* Re-arming inside its own callback: fires 1 + 3 times. */
    struct trec r2 = {.restart = 3};
    sockit_timer t2;
    sockit_timer_init(&t2, trec_cb, &r2);
    CHECK_OK(sockit_timer_start(l, &t2, 0.01, 0));
    end = tu_now() + 3;
    while (sockit_timer_active(&t2) && tu_now() < end)
        sockit_loop_run_once(l, -1);
    CHECK_INT(r2.fired, ==, 4);
    CHECK_INT(sockit_loop_count(l), ==, 0);

    /* Stopped before it is due: never fires; stopping again is a no-op. */
    struct trec r3 = {0};
    sockit_timer t3;
    sockit_timer_init(&t3, trec_cb, &r3);
    CHECK_OK(sockit_timer_start(l, &t3, 0.02, 0));
    sockit_timer_stop(l, &t3);
    sockit_timer_stop(l, &t3);
    CHECK_INT(sockit_timer_active(&t3), ==, 0);
    CHECK_INT(sockit_loop_count(l), ==, 0);
    sockit_loop_run_once(l, 0.06);
    CHECK_INT(r3.fired, ==, 0);

    /* Re-arming an armed timer moves it (later here), it is still one timer. */
    CHECK_OK(sockit_timer_start(l, &t3, 0.01, 0));
    t0 = tu_now();
    CHECK_OK(sockit_timer_start(l, &t3, 0.15, 0));
    CHECK_INT(sockit_loop_count(l), ==, 1);
    end = t0 + 3;
    while (!r3.fired && tu_now() < end)
        sockit_loop_run_once(l, -1);
    CHECK_INT(r3.fired, ==, 1);
    CHECK_DBL(r3.at - t0, >=, 0.13);
    sockit_loop_free(l);
}

static void test_timer_repeat(void)
{
    sockit_loop *l = new_loop();
    if (!l)
        return;
    sockit_timer t;
    struct trec r = {.stop_after = 10};
    sockit_timer_init(&t, trec_cb, &r);
    double t0 = tu_now();
    CHECK_OK(sockit_timer_start(l, &t, 0.01, 0.01));
    double end = t0 + 5;
    while (sockit_timer_active(&t) && tu_now() < end)
        sockit_loop_run_once(l, -1);
    double took = tu_now() - t0;
    CHECK_INT(r.fired, ==, 10); /* stopped itself inside its 10th call */
    CHECK_INT(sockit_timer_active(&t), ==, 0);
    CHECK_DBL(took, >=, 0.09);
    CHECK_DBL(took, <, 3.0);
    for (int i = 0; i < 3; i++)
        sockit_loop_run_once(l, 0.02);
    CHECK_INT(r.fired, ==, 10);
    CHECK_INT(sockit_loop_count(l), ==, 0);

    /* A repeating timer left running keeps firing; stop from outside ends it. */
    struct trec r2 = {0};
    sockit_timer t2;
    sockit_timer_init(&t2, trec_cb, &r2);
    CHECK_OK(sockit_timer_start(l, &t2, 0, 0.005));
    end = tu_now() + 5;
    while (r2.fired < 5 && tu_now() < end)
        sockit_loop_run_once(l, -1);
    CHECK_INT(r2.fired, >=, 5);
    CHECK_INT(sockit_timer_active(&t2), ==, 1);
    sockit_timer_stop(l, &t2);
    int was = r2.fired;
    sockit_loop_run_once(l, 0.03);
    CHECK_INT(r2.fired, ==, was);
    sockit_loop_free(l);
}

static void test_timer_errors(void)
{
    sockit_loop *l = new_loop();
    if (!l)
        return;
    sockit_timer t;
    struct trec r = {0};
    sockit_timer_init(&t, trec_cb, &r);
    CHECK_CODE(sockit_timer_start(l, &t, -1, 0), -EINVAL);
    CHECK_CODE(sockit_timer_start(l, &t, NAN, 0), -EINVAL);
    CHECK_CODE(sockit_timer_start(l, &t, 1, -0.5), -EINVAL);
    CHECK_CODE(sockit_timer_start(l, &t, 1, NAN), -EINVAL);
    CHECK_INT(sockit_timer_active(&t), ==, 0);
    CHECK_INT(sockit_loop_count(l), ==, 0);
    /* A failed start leaves an armed timer armed (where it was). */
    CHECK_OK(sockit_timer_start(l, &t, 0.02, 0));
    CHECK_INT(sockit_timer_start(l, &t, -1, 0), <, 0);
    CHECK_INT(sockit_timer_active(&t), ==, 1);
    sockit_timer_stop(l, &t);
    sockit_loop_free(l);
}

/* 10,000 timers, half of them (a pseudo-random half) cancelled: exactly the others fire, each
 * once, in deadline order, none before its time. */
enum { NT = 10000 };
struct many_timers {
    sockit_timer t[NT];
    double target[NT];    /* tu_now() at arming + after: not before this */
    int cancelled[NT];
    int fired[NT];
    int order[NT];
    int nfired;
    int early;
};

static void many_timer_cb(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct many_timers *m = arg;
    int i = (int)(t - m->t);
    if (i < 0 || i >= NT)
        return;
    if (tu_now() < m->target[i] - 0.0005)
        m->early++;
    m->fired[i]++;
    if (m->nfired < NT)
        m->order[m->nfired] = i;
    m->nfired++;
}

static void test_timer_many(void)
{
    sockit_loop *l = new_loop();
    struct many_timers *m = calloc(1, sizeof *m);
    if (!l || !m) {
        free(m);
        sockit_loop_free(l);
        return;
    }
    /* A deterministic shuffle of deadlines 30 ms .. 330 ms, 30 us apart. */
    static int perm[NT];
    for (int i = 0; i < NT; i++)
        perm[i] = i;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = NT - 1; i > 0; i--) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        int j = (int)((x * 2685821657736338717ULL) % (uint64_t)(i + 1));
        int tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    int armed = 0;
    for (int i = 0; i < NT; i++) {
        double after = 0.03 + perm[i] * 0.00003;
        sockit_timer_init(&m->t[i], many_timer_cb, m);
        m->target[i] = tu_now() + after;
        armed += sockit_timer_start(l, &m->t[i], after, 0) == 0;
    }
    CHECK_INT(armed, ==, NT);
    CHECK_INT(sockit_loop_count(l), ==, (size_t)NT);
    int ncancel = 0;
    for (int i = 0; i < NT; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        if (((x * 2685821657736338717ULL) >> 63) && ncancel < NT / 2) {
            m->cancelled[i] = 1;
            ncancel++;
        }
    }
    for (int i = 0; i < NT && ncancel < NT / 2; i++) /* top up to exactly half */
        if (!m->cancelled[i]) {
            m->cancelled[i] = 1;
            ncancel++;
        }
    for (int i = 0; i < NT; i++)
        if (m->cancelled[i]) {
            sockit_timer_stop(l, &m->t[i]);
            CHECK_INT(sockit_timer_active(&m->t[i]), ==, 0);
        }
    CHECK_INT(sockit_loop_count(l), ==, (size_t)(NT / 2));

    double end = tu_now() + 10;
    while (sockit_loop_count(l) > 0 && tu_now() < end)
        if (sockit_loop_run_once(l, -1) < 0)
            break;
    CHECK_INT(m->nfired, ==, NT / 2);
    int ok = 0, wrong = 0;
    for (int i = 0; i < NT; i++) {
        if (m->cancelled[i])
            wrong += m->fired[i] != 0;
        else
            ok += m->fired[i] == 1;
    }
    CHECK_INT(ok, ==, NT / 2);
    CHECK_INT(wrong, ==, 0);
    CHECK_INT(m->early, ==, 0);
    /* Deadline order: the loop's own deadlines (absolute monotonic ns, then arming order). */
    int inversions = 0, first_bad = -1;
    for (int k = 1; k < m->nfired && k < NT; k++) {
        const sockit_timer *a = &m->t[m->order[k - 1]], *b = &m->t[m->order[k]];
        if (a->when > b->when || (a->when == b->when && a->seq > b->seq)) {
            if (first_bad < 0)
                first_bad = k;
            inversions++;
        }
    }
    TU_CTX("first out-of-order firing at position %d", first_bad);
    CHECK_INT(inversions, ==, 0);
    tu_ctx_[0] = '\0';
    /* And, independently of the private fields, by the intended deadlines: they are 30 us
     * apart and armed within a few ms, so an inversion of more than 5 ms is a heap bug. */
    int gross = 0;
    for (int k = 1; k < m->nfired && k < NT; k++)
        if (m->target[m->order[k - 1]] > m->target[m->order[k]] + 0.005)
            gross++;
    CHECK_INT(gross, ==, 0);
    free(m);
    sockit_loop_free(l);
}

/* Timers due at the same moment fire in arming order. Through the API, the same `after` armed
 * in sequence; and white-box, with the private deadlines made exactly equal (which keeps the
 * heap valid: it was already ordered by arming sequence), so only the tie-break can order them. */
struct ties {
    int order[256];
    int n;
    sockit_timer *base;
};

static void tie_cb(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct ties *s = arg;
    if (s->n < 256)
        s->order[s->n] = (int)(t - s->base);
    s->n++;
}

static void test_timer_ties(void)
{
    for (int pass = 0; pass < 2; pass++) {
        sockit_loop *l = new_loop();
        if (!l)
            return;
        enum { K = 200 };
        static sockit_timer t[K];
        struct ties s = {.base = t};
        for (int i = 0; i < K; i++) {
            sockit_timer_init(&t[i], tie_cb, &s);
            CHECK_OK(sockit_timer_start(l, &t[i], 0.02, 0));
        }
        if (pass == 1) {
            int64_t same = t[K - 1].when;
            for (int i = 0; i < K; i++)
                t[i].when = same;
        }
        double end = tu_now() + 3;
        while (sockit_loop_count(l) > 0 && tu_now() < end)
            sockit_loop_run_once(l, -1);
        CHECK_INT(s.n, ==, K);
        int bad = 0;
        for (int i = 0; i < K && i < s.n; i++)
            bad += s.order[i] != i;
        TU_CTX("pass %d (%s)", pass, pass ? "exactly equal deadlines" : "same after");
        CHECK_INT(bad, ==, 0);
        tu_ctx_[0] = '\0';
        sockit_loop_free(l);
    }
}

/* A timer callback that stops another timer due in the same round: that one does not fire. */
struct pair_timers {
    sockit_timer t[2];
    int fired[2];
};

static void pair_timer_cb(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct pair_timers *p = arg;
    int i = t == &p->t[0] ? 0 : 1;
    p->fired[i]++;
    sockit_timer_stop(loop, &p->t[1 - i]);
}

static void test_timer_stop_other(void)
{
    sockit_loop *l = new_loop();
    if (!l)
        return;
    struct pair_timers p = {0};
    sockit_timer_init(&p.t[0], pair_timer_cb, &p);
    sockit_timer_init(&p.t[1], pair_timer_cb, &p);
    CHECK_OK(sockit_timer_start(l, &p.t[0], 0, 0)); /* both due at once, in this order */
    CHECK_OK(sockit_timer_start(l, &p.t[1], 0, 0));
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 1);
    CHECK_INT(p.fired[0], ==, 1);
    CHECK_INT(p.fired[1], ==, 0);
    CHECK_INT(sockit_loop_count(l), ==, 0);
    sockit_loop_run_once(l, 0.02);
    CHECK_INT(p.fired[1], ==, 0);
    sockit_loop_free(l);
}

/* ---- cross-thread posts, stop, wake -------------------------------------------------------------- */

enum { PT = 4, PN = 1000 };

struct post_state {
    sockit_loop *loop;
    pthread_t loop_thread;
    pthread_barrier_t go;
    int next[PT];        /* the next sequence expected from each thread */
    int out_of_order;
    int wrong_thread;
    int ran[PT][PN];
    int total;
    int post_failures;
};

struct post_arg {
    struct post_state *st;
    int thread, seq;
};

static struct post_arg post_args[PT][PN];

static void post_fn(sockit_loop *loop, void *arg)
{
    struct post_arg *a = arg;
    struct post_state *st = a->st;
    if (!pthread_equal(pthread_self(), st->loop_thread) || loop != st->loop)
        st->wrong_thread++;
    if (a->seq != st->next[a->thread])
        st->out_of_order++;
    st->next[a->thread] = a->seq + 1;
    st->ran[a->thread][a->seq]++;
    if (++st->total == PT * PN)
        sockit_loop_stop(loop);
}

static void *poster_main(void *arg)
{
    struct post_arg *first = arg;
    struct post_state *st = first->st;
    pthread_barrier_wait(&st->go);
    for (int i = 0; i < PN; i++)
        if (sockit_loop_post(st->loop, post_fn, &first[i]) != 0)
            __atomic_fetch_add(&st->post_failures, 1, __ATOMIC_RELAXED);
    return NULL;
}

static void safety_stop(sockit_loop *loop, sockit_timer *t, void *arg)
{
    *(int *)arg = 1;
    sockit_loop_stop(loop);
}

static void test_post_threads(void)
{
    static struct post_state st;
    memset(&st, 0, sizeof st);
    st.loop = new_loop();
    if (!st.loop)
        return;
    st.loop_thread = pthread_self();
    pthread_barrier_init(&st.go, NULL, PT);
    pthread_t th[PT];
    for (int t = 0; t < PT; t++) {
        for (int i = 0; i < PN; i++)
            post_args[t][i] = (struct post_arg){&st, t, i};
        pthread_create(&th[t], NULL, poster_main, post_args[t]);
    }
    sockit_timer safety;
    int expired = 0;
    sockit_timer_init(&safety, safety_stop, &expired);
    sockit_timer_start(st.loop, &safety, 20, 0);
    CHECK_OK(sockit_loop_run(st.loop));
    sockit_timer_stop(st.loop, &safety);
    for (int t = 0; t < PT; t++)
        pthread_join(th[t], NULL);
    CHECK_INT(expired, ==, 0);
    CHECK_INT(st.post_failures, ==, 0);
    CHECK_INT(st.total, ==, PT * PN);
    CHECK_INT(st.wrong_thread, ==, 0);
    CHECK_INT(st.out_of_order, ==, 0);
    int once = 0;
    for (int t = 0; t < PT; t++)
        for (int i = 0; i < PN; i++)
            once += st.ran[t][i] == 1;
    CHECK_INT(once, ==, PT * PN);
    pthread_barrier_destroy(&st.go);
    sockit_loop_free(st.loop);
}

/* Posted functions never run after the loop is freed (dropped; ASan checks they are freed). */
static int dropped_ran;
static void dropped_fn(sockit_loop *loop, void *arg)
{
    dropped_ran++;
}

/* A function posted from a posted function runs in a later round, not in the same one. */
static int repost_left;
static void repost_fn(sockit_loop *loop, void *arg)
{
    (*(int *)arg)++;
    if (--repost_left > 0)
        sockit_loop_post(loop, repost_fn, arg);
}

static void test_post_repost(void)
{
    sockit_loop *l = new_loop();
    if (!l)
        return;
    int runs = 0, rounds = 0;
    repost_left = 50;
    CHECK_OK(sockit_loop_post(l, repost_fn, &runs));
    double t0 = tu_now();
    while (runs < 50 && rounds < 200) {
        int before = runs;
        sockit_loop_run_once(l, 1.0);
        CHECK_INT(runs - before, <=, 1);
        rounds++;
    }
    CHECK_INT(runs, ==, 50);
    CHECK_DBL(tu_now() - t0, <, 1.0); /* a post pending makes the wait zero */
    sockit_loop_free(l);
}

static void test_post_dropped(void)
{
    sockit_loop *l = new_loop();
    if (!l)
        return;
    dropped_ran = 0;
    for (int i = 0; i < 10; i++)
        CHECK_OK(sockit_loop_post(l, dropped_fn, NULL));
    /* One post runs in the next round, without waiting (run_once(-1) must not block). */
    double t0 = tu_now();
    CHECK_INT(sockit_loop_run_once(l, -1), >=, 10);
    CHECK_DBL(tu_now() - t0, <, 1.0);
    CHECK_INT(dropped_ran, ==, 10);
    for (int i = 0; i < 10; i++)
        CHECK_OK(sockit_loop_post(l, dropped_fn, NULL));
    sockit_loop_free(l);
    CHECK_INT(dropped_ran, ==, 10);
}

/* 1 if thread tid is blocked in the loop's wait (epoll_wait, poll and their kin), by the
 * system call /proc says it sleeps in. */
static int in_wait(pid_t tid)
{
    char path[64], buf[64] = {0};
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    long nr = n > 0 ? strtol(buf, NULL, 10) : -1;
    static const long waits[] = {
#ifdef SYS_epoll_wait
        SYS_epoll_wait,
#endif
#ifdef SYS_poll
        SYS_poll,
#endif
        SYS_epoll_pwait, SYS_ppoll,
    };
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++)
        if (nr == waits[i])
            return 1;
    return 0;
}

/* A helper thread that stops or wakes the loop once the loop's thread (tid) is blocked in its
 * wait — ordered by that condition, not by sleeping. `blocked` says it saw it blocked. */
struct delayed {
    sockit_loop *loop;
    pid_t tid;
    int what; /* 0 stop, 1 wake */
    int blocked;
};

static void *delayed_main(void *arg)
{
    struct delayed *d = arg;
    double end = tu_now() + 5;
    while (!(d->blocked = in_wait(d->tid)) && tu_now() < end)
        tu_sleep(0.001);
    if (d->what == 0)
        sockit_loop_stop(d->loop);
    else
        sockit_loop_wake(d->loop);
    return NULL;
}

static void stop_in_cb(sockit_loop *loop, sockit_timer *t, void *arg)
{
    (*(int *)arg)++;
    sockit_loop_stop(loop);
}

static void test_stop(void)
{
    sockit_loop *l = new_loop();
    if (!l)
        return;
    /* A safety timer ends a run that would otherwise hang. */
    sockit_timer safety;
    int expired = 0;
    sockit_timer_init(&safety, safety_stop, &expired);
    for (int round = 0; round < 2; round++) { /* the loop runs again after a stop */
        TU_CTX("run %d", round + 1);
        sockit_timer_start(l, &safety, 10, 0);
        struct delayed d = {l, (pid_t)syscall(SYS_gettid), 0, 0};
        pthread_t th;
        pthread_create(&th, NULL, delayed_main, &d);
        double t0 = tu_now();
        CHECK_OK(sockit_loop_run(l));
        double took = tu_now() - t0;
        pthread_join(th, NULL);
        CHECK_INT(expired, ==, 0);
        CHECK_INT(d.blocked, ==, 1); /* the stop reached a loop blocked in its wait */
        CHECK_DBL(took, <, 3.0);
    }
    tu_ctx_[0] = '\0';
    /* Stop from inside a callback. */
    sockit_timer t;
    int calls = 0;
    sockit_timer_init(&t, stop_in_cb, &calls);
    sockit_timer_start(l, &t, 0.02, 0.02);
    double t0 = tu_now();
    CHECK_OK(sockit_loop_run(l));
    CHECK_INT(calls, ==, 1);
    CHECK_DBL(tu_now() - t0, <, 3.0);
    CHECK_INT(expired, ==, 0);
    sockit_timer_stop(l, &t);
    sockit_timer_stop(l, &safety);
    CHECK_INT(sockit_loop_count(l), ==, 0);
    sockit_loop_free(l);
}

static void test_wake(void)
{
    sockit_loop *l = new_loop();
    if (!l)
        return;
    /* Nothing watched, no timer: only the wake ends the wait. */
    struct delayed d = {l, (pid_t)syscall(SYS_gettid), 1, 0};
    pthread_t th;
    pthread_create(&th, NULL, delayed_main, &d);
    double t0 = tu_now();
    int r = sockit_loop_run_once(l, 5.0);
    double took = tu_now() - t0;
    pthread_join(th, NULL);
    CHECK_INT(r, >=, 0);
    CHECK_INT(d.blocked, ==, 1);
    CHECK_DBL(took, <, 3.0);
    /* A wake before the wait: the wait does not block. */
    sockit_loop_wake(l);
    t0 = tu_now();
    CHECK_INT(sockit_loop_run_once(l, 5.0), >=, 0);
    CHECK_DBL(tu_now() - t0, <, 1.0);
    /* Many wakes are fine (the counter saturating is not an error), and are drained. */
    for (int i = 0; i < 1000; i++)
        sockit_loop_wake(l);
    CHECK_INT(sockit_loop_run_once(l, 0), >=, 0);
    t0 = tu_now();
    CHECK_INT(sockit_loop_run_once(l, 0.1), >=, 0);
    CHECK_DBL(tu_now() - t0, >=, 0.08); /* drained: this one waited */
    CHECK_INT(sockit_loop_count(l), ==, 0);
    sockit_loop_free(l);
}

/* A very long (or infinite) wait is a wait: it blocks until woken, like a negative timeout. */
static void test_wait_huge_timeout(void)
{
    sockit_loop *l = new_loop();
    if (!l)
        return;
    static const double big[] = {1e10, 1e300, INFINITY};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        TU_CTX("run_once(%g)", big[i]);
        struct delayed d = {l, (pid_t)syscall(SYS_gettid), 1, 0};
        pthread_t th;
        pthread_create(&th, NULL, delayed_main, &d);
        double t0 = tu_now();
        int r = sockit_loop_run_once(l, big[i]);
        double took = tu_now() - t0;
        pthread_join(th, NULL);
        CHECK_INT(r, >=, 0);
        CHECK_INT(d.blocked, ==, 1); /* it blocked (a huge timeout is no timeout of 0) */
        CHECK_DBL(took, <, 3.0);
    }
    tu_ctx_[0] = '\0';
    sockit_loop_free(l);
}

/* ---- signals ------------------------------------------------------------------------------------ */

static volatile sig_atomic_t escaped_signals;
static void escaped_handler(int signo)
{
    escaped_signals++;
}

struct sigrec {
    int calls;
    int signo;
    sockit_loop *loop;
};

static void sig_cb(sockit_loop *loop, int signo, void *arg)
{
    struct sigrec *r = arg;
    r->calls++;
    r->signo = signo;
    r->loop = loop;
}

static int blocked(int signo)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, signo);
}

static void test_signal(void)
{
    /* A handler catches any signal that escapes the loop, instead of killing the program. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = escaped_handler;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    escaped_signals = 0;

    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &one, NULL);

    sockit_loop *l = new_loop();
    if (!l)
        return;
    struct sigrec r1 = {0}, r2 = {0};
    CHECK_OK(sockit_loop_signal(l, SIGUSR1, sig_cb, &r1));
    CHECK_OK(sockit_loop_signal(l, SIGUSR2, sig_cb, &r2));
    CHECK_INT(blocked(SIGUSR1), ==, 1);
    CHECK_INT(blocked(SIGUSR2), ==, 1); /* the loop blocked it itself */
    CHECK_INT(sockit_loop_count(l), ==, 0); /* its signalfd is internal */
    CHECK_CODE(sockit_loop_signal(l, SIGKILL, sig_cb, &r1), -EINVAL);
    CHECK_CODE(sockit_loop_signal(l, 0, sig_cb, &r1), -EINVAL);
    CHECK_CODE(sockit_loop_signal(l, 65, sig_cb, &r1), -EINVAL);

    CHECK_OK(kill(getpid(), SIGUSR1));
    volatile int *flag = (volatile int *)&r1.calls;
    CHECK_INT(run_until(l, flag, 3.0), ==, 1);
    CHECK_INT(r1.signo, ==, SIGUSR1);
    CHECK_TRUE(r1.loop == l);
    CHECK_INT(r2.calls, ==, 0);

    CHECK_OK(kill(getpid(), SIGUSR2));
    CHECK_INT(run_until(l, (volatile int *)&r2.calls, 3.0), ==, 1);
    CHECK_INT(r2.signo, ==, SIGUSR2);
    CHECK_INT(r1.calls, ==, 1);

    /* Both at once: both callbacks. */
    CHECK_OK(kill(getpid(), SIGUSR1));
    CHECK_OK(kill(getpid(), SIGUSR2));
    double end = tu_now() + 3;
    while ((r1.calls < 2 || r2.calls < 2) && tu_now() < end)
        sockit_loop_run_once(l, 0.05);
    CHECK_INT(r1.calls, ==, 2);
    CHECK_INT(r2.calls, ==, 2);

    /* Removing one unblocks it; the other still works. */
    CHECK_OK(sockit_loop_signal(l, SIGUSR2, NULL, NULL));
    CHECK_INT(blocked(SIGUSR2), ==, 0);
    CHECK_OK(kill(getpid(), SIGUSR1));
    end = tu_now() + 3;
    while (r1.calls < 3 && tu_now() < end)
        sockit_loop_run_once(l, 0.05);
    CHECK_INT(r1.calls, ==, 3);
    CHECK_INT(r2.calls, ==, 2);
    CHECK_INT(escaped_signals, ==, 0);
    CHECK_INT(sockit_loop_count(l), ==, 0);
    sockit_loop_free(l);

    pthread_sigmask(SIG_BLOCK, &one, NULL); /* keep SIGUSR1 blocked for the other backend */
    signal(SIGUSR2, SIG_DFL);
}

/* ---- run_once without waiting, and the count ------------------------------------------------------ */

static void noop_timer(sockit_loop *loop, sockit_timer *t, void *arg)
{
    (*(int *)arg)++;
}

static void test_run_once_nowait(void)
{
    sockit_loop *l = new_loop();
    int sv[2];
    if (!l || upair(sv) != 0) {
        sockit_loop_free(l);
        return;
    }
    double t0 = tu_now();
    CHECK_INT(sockit_loop_run_once(l, 0), ==, 0);
    CHECK_DBL(tu_now() - t0, <, 0.05);

    /* Something watched but not ready, and a far timer: still no wait. */
    struct io_rec r = {0};
    CHECK_OK(sockit_loop_add(l, sv[0], SOCKIT_READABLE, io_cb, &r));
    sockit_timer t;
    int fired = 0;
    sockit_timer_init(&t, noop_timer, &fired);
    CHECK_OK(sockit_timer_start(l, &t, 10, 0));
    t0 = tu_now();
    for (int i = 0; i < 100; i++)
        CHECK_INT(sockit_loop_run_once(l, 0), ==, 0);
    CHECK_DBL(tu_now() - t0, <, 0.5);
    CHECK_INT(r.calls, ==, 0);
    CHECK_INT(fired, ==, 0);

    /* A positive timeout waits about that long when nothing happens. */
    t0 = tu_now();
    CHECK_INT(sockit_loop_run_once(l, 0.1), ==, 0);
    CHECK_DBL(tu_now() - t0, >=, 0.09);
    CHECK_DBL(tu_now() - t0, <, 1.0);

    /* A nearer timer cuts a long wait short and runs in that round. */
    sockit_timer t2;
    int fired2 = 0;
    sockit_timer_init(&t2, noop_timer, &fired2);
    CHECK_OK(sockit_timer_start(l, &t2, 0.05, 0));
    t0 = tu_now();
    int n = 0;
    double end = t0 + 3;
    while (!fired2 && tu_now() < end)
        n += sockit_loop_run_once(l, 5.0);
    CHECK_INT(fired2, ==, 1);
    CHECK_INT(n, ==, 1);
    CHECK_DBL(tu_now() - t0, <, 1.0);

    sockit_timer_stop(l, &t);
    sockit_loop_del(l, sv[0]);
    close2(sv);
    sockit_loop_free(l);
}

static void test_count(void)
{
    sockit_loop *l = new_loop();
    int a[2], b[2];
    if (!l || upair(a) || upair(b)) {
        sockit_loop_free(l);
        return;
    }
    struct io_rec r = {0};
    CHECK_INT(sockit_loop_count(l), ==, 0);
    CHECK_OK(sockit_loop_add(l, a[0], SOCKIT_READABLE, io_cb, &r));
    CHECK_OK(sockit_loop_add(l, b[0], 0, io_cb, &r));
    CHECK_INT(sockit_loop_count(l), ==, 2);
    /* A failed add does not count. */
    CHECK_CODE(sockit_loop_add(l, a[0], SOCKIT_READABLE, io_cb, &r), -EEXIST);
    CHECK_INT(sockit_loop_count(l), ==, 2);
    sockit_timer t[3];
    int fired = 0;
    for (int i = 0; i < 3; i++) {
        sockit_timer_init(&t[i], noop_timer, &fired);
        CHECK_OK(sockit_timer_start(l, &t[i], i == 0 ? 0.01 : 10, 0));
    }
    CHECK_INT(sockit_loop_count(l), ==, 5);
    CHECK_OK(sockit_timer_start(l, &t[1], 20, 0)); /* re-arming is not a new timer */
    CHECK_INT(sockit_loop_count(l), ==, 5);
    double end = tu_now() + 3;
    while (!fired && tu_now() < end)
        sockit_loop_run_once(l, -1);
    CHECK_INT(sockit_loop_count(l), ==, 4); /* the one-shot fired */
    CHECK_OK(sockit_loop_del(l, a[0]));
    CHECK_INT(sockit_loop_count(l), ==, 3);
    sockit_timer_stop(l, &t[1]);
    sockit_timer_stop(l, &t[2]);
    CHECK_INT(sockit_loop_count(l), ==, 1);
    CHECK_OK(sockit_loop_del(l, b[0]));
    CHECK_INT(sockit_loop_count(l), ==, 0);
    /* Freeing a loop with an fd still watched leaves the fd open (it is the caller's). */
    CHECK_OK(sockit_loop_add(l, b[0], SOCKIT_READABLE, io_cb, &r));
    sockit_loop_free(l);
    CHECK_INT(tu_fd_open(b[0]), ==, 1);
    close2(a);
    close2(b);
}

/* Neither backend leaks descriptors: a loop's fds are all gone after free. */
static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

static void test_no_fd_leak(void)
{
    int before = count_fds();
    for (int i = 0; i < 20; i++) {
        sockit_loop *l = new_loop();
        struct sigrec r = {0};
        if (l && i % 2)
            sockit_loop_signal(l, SIGUSR1, sig_cb, &r);
        sockit_loop_free(l);
    }
    CHECK_INT(count_fds(), ==, before);
}

/* ---- main ------------------------------------------------------------------------------------- */

#define BOTH(fn)                                                                                 \
    static void fn##__epoll(void)                                                                \
    {                                                                                            \
        g_backend = SOCKIT_LOOP_EPOLL;                                                           \
        fn();                                                                                    \
    }                                                                                            \
    static void fn##__poll(void)                                                                 \
    {                                                                                            \
        g_backend = SOCKIT_LOOP_POLL;                                                            \
        fn();                                                                                    \
    }

BOTH(test_io_readiness)
BOTH(test_io_badfd)
BOTH(test_io_hup)
BOTH(test_io_many)
BOTH(test_io_high_fd)
BOTH(test_del_in_round)
BOTH(test_del_self)
BOTH(test_timer_oneshot)
BOTH(test_timer_repeat)
BOTH(test_timer_errors)
BOTH(test_timer_many)
BOTH(test_timer_ties)
BOTH(test_post_threads)
BOTH(test_post_dropped)
BOTH(test_post_repost)
BOTH(test_timer_stop_other)
BOTH(test_stop)
BOTH(test_wake)
BOTH(test_wait_huge_timeout)
BOTH(test_signal)
BOTH(test_run_once_nowait)
BOTH(test_count)
BOTH(test_no_fd_leak)

#define RUN_BOTH(fn, secs)                                                                       \
    do {                                                                                         \
        TU_RUN(fn##__epoll, secs);                                                               \
        TU_RUN(fn##__poll, secs);                                                                \
    } while (0)

int main(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    TU_RUN(test_backend_names, 5);
    RUN_BOTH(test_io_readiness, 10);
    RUN_BOTH(test_io_badfd, 10);
    RUN_BOTH(test_io_hup, 10);
    RUN_BOTH(test_io_many, 20);
    RUN_BOTH(test_io_high_fd, 10);
    RUN_BOTH(test_del_in_round, 10);
    RUN_BOTH(test_del_self, 10);
    RUN_BOTH(test_timer_oneshot, 10);
    RUN_BOTH(test_timer_repeat, 10);
    RUN_BOTH(test_timer_errors, 10);
    RUN_BOTH(test_timer_many, 20);
    RUN_BOTH(test_timer_ties, 10);
    RUN_BOTH(test_timer_stop_other, 10);
    RUN_BOTH(test_post_threads, 25);
    RUN_BOTH(test_post_dropped, 10);
    RUN_BOTH(test_post_repost, 10);
    RUN_BOTH(test_stop, 15);
    RUN_BOTH(test_wake, 10);
    RUN_BOTH(test_signal, 15);
    RUN_BOTH(test_run_once_nowait, 10);
    RUN_BOTH(test_count, 10);
    RUN_BOTH(test_no_fd_leak, 10);
    /* Last: under UBSan its failure (an overflow in the library) ends the program. */
    RUN_BOTH(test_wait_huge_timeout, 10);
    return tu_done();
}
