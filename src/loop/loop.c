/*
 * The event loop core: per-fd state in an array indexed by fd, a binary heap of timers, an
 * eventfd for cross-thread wake-up and posted functions, a signalfd for signals. The backend
 * (loop_epoll.c, loop_poll.c) only waits and reports readiness.
 *
 * One round: wait (bounded by the nearest timer, 0 if work was posted) -> fd callbacks ->
 * due timers -> posted functions.
 */
#include "internal/loop.h"

#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define INTERNAL_FDS_MAX 2

/* ---- fd table ----------------------------------------------------------------------------- */

/* The most fds the table is ever sized for: the process's descriptor limit (an open fd above it
 * only raises it to that fd). The kernel keeps a table as large for the process anyway. */
static size_t fd_limit(int fd)
{
    struct rlimit rl;
    size_t lim = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        lim = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT_MAX ? (size_t)INT_MAX + 1 : (size_t)rl.rlim_cur;
    return (size_t)fd + 1 > lim ? (size_t)fd + 1 : lim;
}

/* Makes room for fd, which the caller has checked is open (so it is below fd_limit). */
static int grow_fds(sockit_loop *l, int fd)
{
    if ((size_t)fd < l->nfds_cap) return 0;
    size_t cap = sockit__grow_cap(l->nfds_cap, (size_t)fd + 1, 64, fd_limit(fd), sizeof *l->fds);
    struct fdslot *n = cap ? realloc(l->fds, cap * sizeof *n) : NULL;
    if (!n) return sockit__fail(-ENOMEM, "loop: fd table for fd %d", fd);
    memset(n + l->nfds_cap, 0, (cap - l->nfds_cap) * sizeof *n);
    l->fds = n;
    l->nfds_cap = cap;
    return 0;
}

int sockit_loop_add(sockit_loop *l, int fd, int events, sockit_io_cb cb, void *arg)
{
    if (fd < 0 || !cb) return sockit__fail(fd < 0 ? -EBADF : -EINVAL, "loop add %d", fd);
    /* Validate before growing anything: a closed or absurd number costs nothing. */
    if ((size_t)fd >= l->nfds_cap && fcntl(fd, F_GETFD) < 0) return sockit__fail(-errno, "loop add %d", fd);
    int r = grow_fds(l, fd);
    if (r < 0) return r;
    struct fdslot *s = &l->fds[fd];
    if (s->cb) return sockit__fail(-EEXIST, "loop add %d", fd);
    events &= SOCKIT_READABLE | SOCKIT_WRITABLE;
    r = l->be->set(l, fd, 0, events, 0);
    if (r < 0) return sockit__fail(r, "loop add %d", fd);
    s->cb = cb;
    s->arg = arg;
    s->events = (uint8_t)events;
    l->nwatched++;
    return 0;
}

int sockit_loop_mod(sockit_loop *l, int fd, int events)
{
    if (fd < 0 || (size_t)fd >= l->nfds_cap || !l->fds[fd].cb)
        return sockit__fail(-ENOENT, "loop mod %d", fd);
    struct fdslot *s = &l->fds[fd];
    events &= SOCKIT_READABLE | SOCKIT_WRITABLE;
    if (events == s->events) return 0;
    int r = l->be->set(l, fd, s->events, events, 0);
    if (r < 0) return sockit__fail(r, "loop mod %d", fd);
    s->events = (uint8_t)events;
    return 0;
}

int sockit_loop_del(sockit_loop *l, int fd)
{
    if (fd < 0 || (size_t)fd >= l->nfds_cap || !l->fds[fd].cb)
        return sockit__fail(-ENOENT, "loop del %d", fd);
    struct fdslot *s = &l->fds[fd];
    int r = l->be->set(l, fd, s->events, 0, 1);
    s->cb = NULL;
    s->arg = NULL;
    s->events = 0;
    s->internal = 0;
    s->gen++;
    l->nwatched--;
    /* EBADF/ENOENT: the fd was closed before del; the kernel already forgot it. */
    if (r < 0 && r != -EBADF && r != -ENOENT) return sockit__fail(r, "loop del %d", fd);
    return 0;
}

int sockit__loop_ready(sockit_loop *l, int fd, uint32_t gen, int revents)
{
    if (fd < 0 || (size_t)fd >= l->nfds_cap) return 0;
    struct fdslot *s = &l->fds[fd];
    if (!s->cb || s->gen != gen) return 0; /* removed (and maybe reused) earlier this round */
    int ev = revents & (s->events | SOCKIT_HUP | SOCKIT_ERROR);
    if (!ev) return 0;
    int counted = !s->internal; /* read before the call: a callback may grow (move) the table */
    s->cb(l, fd, ev, s->arg);
    return counted;
}

/* ---- timers: a binary min-heap on (when, seq) ------------------------------------------------ */

static int timer_less(const sockit_timer *a, const sockit_timer *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_place(sockit_loop *l, size_t i, sockit_timer *t)
{
    l->heap[i] = t;
    t->slot = i + 1;
}

static void sift_up(sockit_loop *l, size_t i)
{
    sockit_timer *t = l->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!timer_less(t, l->heap[p])) break;
        heap_place(l, i, l->heap[p]);
        i = p;
    }
    heap_place(l, i, t);
}

static void sift_down(sockit_loop *l, size_t i)
{
    sockit_timer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->nheap) break;
        if (c + 1 < l->nheap && timer_less(l->heap[c + 1], l->heap[c])) c++;
        if (!timer_less(l->heap[c], t)) break;
        heap_place(l, i, l->heap[c]);
        i = c;
    }
    heap_place(l, i, t);
}

void sockit_timer_init(sockit_timer *t, sockit_timer_cb cb, void *arg)
{
    memset(t, 0, sizeof *t);
    t->cb = cb;
    t->arg = arg;
}

int sockit_timer_active(const sockit_timer *t) { return t->slot != 0; }

void sockit_timer_stop(sockit_loop *l, sockit_timer *t)
{
    if (!t->slot) return;
    size_t i = t->slot - 1;
    t->slot = 0;
    sockit_timer *last = l->heap[--l->nheap];
    if (i == l->nheap) return;
    heap_place(l, i, last);
    sift_down(l, i);
    sift_up(l, last->slot - 1);
}

static int64_t to_ns(double secs) { return (int64_t)(secs * 1e9 + 0.5); }

int sockit_timer_start(sockit_loop *l, sockit_timer *t, double after, double repeat)
{
    if (!(after >= 0) || !(repeat >= 0) || after > 1e9 || repeat > 1e9)
        return sockit__fail(-EINVAL, "timer: after %g repeat %g", after, repeat);
    sockit_timer_stop(l, t);
    if (l->nheap == l->heap_cap) {
        size_t cap = sockit__grow_cap(l->heap_cap, l->nheap + 1, 64, SIZE_MAX, sizeof *l->heap);
        sockit_timer **h = cap ? realloc(l->heap, cap * sizeof *h) : NULL;
        if (!h) return sockit__fail(-ENOMEM, "timer: heap of %zu", cap);
        l->heap = h;
        l->heap_cap = cap;
    }
    t->when = sockit__now() + to_ns(after);
    t->repeat = to_ns(repeat);
    t->seq = l->timer_seq++;
    heap_place(l, l->nheap++, t);
    sift_up(l, l->nheap - 1);
    return 0;
}

static int run_timers(sockit_loop *l)
{
    int ran = 0;
    while (l->nheap && l->heap[0]->when <= l->now) {
        sockit_timer *t = l->heap[0];
        sockit_timer_stop(l, t);
        if (t->repeat) { /* re-arm before the callback, which may stop it */
            t->when += t->repeat;
            if (t->when <= l->now) t->when = l->now + t->repeat; /* we fell behind: skip */
            t->seq = l->timer_seq++;
            heap_place(l, l->nheap++, t);
            sift_up(l, l->nheap - 1);
        }
        t->cb(l, t, t->arg);
        ran++;
    }
    return ran;
}

/* ---- wake-up, posts, stop ------------------------------------------------------------------ */

void sockit_loop_wake(sockit_loop *l)
{
    uint64_t one = 1;
    ssize_t n = write(l->wake_fd, &one, sizeof one); /* EAGAIN: the counter is full, already awake */
    (void)n;
}

void sockit_loop_stop(sockit_loop *l)
{
    atomic_store_explicit(&l->stop, 1, memory_order_release);
    sockit_loop_wake(l);
}

int sockit_loop_post(sockit_loop *l, sockit_post_fn fn, void *arg)
{
    struct post_node *n = malloc(sizeof *n);
    if (!n) return sockit__fail(-ENOMEM, "loop post");
    n->next = NULL;
    n->fn = fn;
    n->arg = arg;
    pthread_mutex_lock(&l->post_mu);
    if (l->post_tail) l->post_tail->next = n;
    else l->post_head = n;
    l->post_tail = n;
    atomic_store_explicit(&l->posted, 1, memory_order_release);
    pthread_mutex_unlock(&l->post_mu);
    sockit_loop_wake(l);
    return 0;
}

static int run_posts(sockit_loop *l)
{
    if (!atomic_load_explicit(&l->posted, memory_order_acquire)) return 0;
    pthread_mutex_lock(&l->post_mu);
    atomic_store_explicit(&l->posted, 0, memory_order_relaxed);
    struct post_node *n = l->post_head;
    l->post_head = l->post_tail = NULL;
    pthread_mutex_unlock(&l->post_mu);
    int ran = 0;
    while (n) {
        struct post_node *next = n->next;
        n->fn(l, n->arg);
        free(n);
        n = next;
        ran++;
    }
    return ran;
}

static void on_wake(sockit_loop *l, int fd, int events, void *arg)
{
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof v); /* drain; posts run at the end of the round */
    (void)n;
}

/* ---- signals ------------------------------------------------------------------------------- */

static void on_signal(sockit_loop *l, int fd, int events, void *arg)
{
    struct signalfd_siginfo si[8];
    ssize_t n = read(fd, si, sizeof si);
    for (ssize_t i = 0; i < n / (ssize_t)sizeof si[0]; i++) {
        int signo = (int)si[i].ssi_signo;
        if (signo > 0 && signo < 65 && l->sig[signo].cb) l->sig[signo].cb(l, signo, l->sig[signo].arg);
    }
}

int sockit_loop_signal(sockit_loop *l, int signo, sockit_signal_cb cb, void *arg)
{
    if (signo <= 0 || signo >= 65 || signo == SIGKILL || signo == SIGSTOP)
        return sockit__fail(-EINVAL, "loop signal %d", signo);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signo);
    if (cb) sigaddset(&l->sig_mask, signo);
    else sigdelset(&l->sig_mask, signo);
    pthread_sigmask(cb ? SIG_BLOCK : SIG_UNBLOCK, &one, NULL);
    int fd = signalfd(l->sig_fd, &l->sig_mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) return sockit__fail(-errno, "signalfd");
    if (l->sig_fd < 0) {
        int r = sockit_loop_add(l, fd, SOCKIT_READABLE, on_signal, NULL);
        if (r < 0) {
            close(fd);
            return r;
        }
        l->nwatched--; /* internal */
        l->fds[fd].internal = 1;
        l->sig_fd = fd;
    }
    l->sig[signo].cb = cb;
    l->sig[signo].arg = arg;
    return 0;
}

void sockit__loop_signals_forget(sockit_loop *l)
{
    if (l->sig_fd < 0) return;
    sockit_loop_del(l, l->sig_fd);
    l->nwatched++; /* it was internal: del counted it out */
    close(l->sig_fd);
    l->sig_fd = -1;
    sigemptyset(&l->sig_mask);
    memset(l->sig, 0, sizeof l->sig);
}

/* ---- life and running ------------------------------------------------------------------------ */

int sockit_loop_new(sockit_loop **out, int backend)
{
    sockit_loop *l = calloc(1, sizeof *l);
    if (!l) return sockit__fail(-ENOMEM, "loop");
    l->be = backend == SOCKIT_LOOP_POLL ? &sockit__backend_poll : &sockit__backend_epoll;
    l->wake_fd = l->sig_fd = -1;
    sigemptyset(&l->sig_mask);
    pthread_mutex_init(&l->post_mu, NULL);
    int r = l->be->init(l);
    if (r < 0) {
        pthread_mutex_destroy(&l->post_mu);
        free(l);
        return sockit__fail(r, "loop: %s backend", backend == SOCKIT_LOOP_POLL ? "poll" : "epoll");
    }
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wake_fd < 0 || (r = sockit_loop_add(l, l->wake_fd, SOCKIT_READABLE, on_wake, NULL)) < 0) {
        r = l->wake_fd < 0 ? sockit__fail(-errno, "eventfd") : r;
        sockit_loop_free(l);
        return r;
    }
    l->nwatched--; /* internal */
    l->fds[l->wake_fd].internal = 1;
    l->now = sockit__now();
    *out = l;
    return 0;
}

void sockit_loop_free(sockit_loop *l)
{
    if (!l) return;
    if (l->wake_fd >= 0) close(l->wake_fd);
    if (l->sig_fd >= 0) {
        close(l->sig_fd);
        pthread_sigmask(SIG_UNBLOCK, &l->sig_mask, NULL);
    }
    for (struct post_node *n = l->post_head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    l->be->free(l);
    pthread_mutex_destroy(&l->post_mu);
    free(l->fds);
    free(l->heap);
    free(l);
}

const char *sockit_loop_backend(const sockit_loop *l) { return l->be->name; }
double sockit_loop_now(const sockit_loop *l) { return (double)l->now / 1e9; }
size_t sockit_loop_count(const sockit_loop *l) { return l->nwatched + l->nheap; }

static int wait_ms(sockit_loop *l, double timeout)
{
    /* Negative, NaN, infinite or absurdly long: wait until something happens. */
    int64_t limit = !(timeout >= 0 && timeout < 1e9) ? SOCKIT__NEVER : l->now + to_ns(timeout);
    if (l->nheap && l->heap[0]->when < limit) limit = l->heap[0]->when;
    if (atomic_load_explicit(&l->posted, memory_order_acquire)) return 0;
    return sockit__remaining_ms(limit);
}

int sockit_loop_run_once(sockit_loop *l, double timeout)
{
    /* The clock is needed before waiting only to aim at a deadline; it is read again after. */
    if (l->nheap || timeout >= 0) l->now = sockit__now();
    int n = l->be->wait(l, wait_ms(l, timeout));
    if (n < 0) return sockit__fail(n, "loop wait (%s)", l->be->name);
    l->now = sockit__now();
    n += run_timers(l);
    n += run_posts(l);
    return n;
}

int sockit_loop_run(sockit_loop *l)
{
    int r = 0;
    while (!atomic_load_explicit(&l->stop, memory_order_acquire)) {
        r = sockit_loop_run_once(l, -1);
        if (r < 0) break;
    }
    atomic_store_explicit(&l->stop, 0, memory_order_relaxed); /* ready to run again */
    return r < 0 ? r : 0;
}
