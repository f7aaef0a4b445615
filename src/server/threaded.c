/*
 * Threaded mode (Python's ThreadingTCPServer): the acceptor loop hands each connection to a
 * bounded queue; a fixed pool of threads takes them and runs the user's blocking handler.
 * When the queue is full the acceptor refuses the connection. Graceful stop: queued connections
 * that no thread has taken are closed; running handlers get until the grace deadline, after which
 * their sockets are shut down so that their blocking calls return.
 *
 * The pool's state is its own (struct pool, below); the server holds a pointer to it and reaches
 * it only through the sockit__pool_* calls of internal/server.h. From the server the pool reads
 * its configuration, callbacks, address and the open-connection counter.
 *
 * Every connection has a finite timeout unless the program asks for none (cfg.timeout < 0): a
 * silent peer cannot hold a pool thread, nor a TLS handshake, forever.
 */
#include "internal/server.h"

#include <sockit/tls.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct pool_item {
    int fd;
    sockit_addr peer;
};

struct pool {
    sockit_server *srv;
    double timeout;            /* the handed socket's: -1 for none */
    pthread_t *tids;
    int nthreads;              /* created, and so to be joined */
    int joined;
    struct pool_item *queue;   /* a ring of qcap */
    int qcap, qhead, qlen;
    int *busy_fds;             /* per thread: the fd it serves, -1 idle */
    int nbusy;
    int stop;
    pthread_mutex_t mu;        /* everything above from `queue` on */
    pthread_cond_t work;       /* a connection was queued, or the pool stops */
    pthread_cond_t idle;       /* a handler finished (timed waits on CLOCK_MONOTONIC) */
    struct sockit__ratelog tls_log;
};

_Atomic int sockit__pool_fail_thread;
_Atomic int sockit__pool_fail_sock;

/* ---- serving ------------------------------------------------------------------------------------- */

/* Test hook: true while the counter is positive, counting it down. */
static int hook_fails(_Atomic int *counter)
{
    int n = atomic_load(counter);
    while (n > 0 && !atomic_compare_exchange_weak(counter, &n, n - 1)) {
    }
    return n > 0;
}

/* Test hook: true (once) when creating the thread of this slot is to fail. */
static int hook_fails_at(_Atomic int *slot_plus_one, int slot)
{
    int want = slot + 1;
    return atomic_compare_exchange_strong(slot_plus_one, &want, 0);
}

/* Ends a connection's time in the pool. The slot is cleared (under the lock) before the fd is
 * closed: stop never shuts down a number that the process may already have given to another. */
static void release(struct pool *p, int slot, sockit_sock *s, int fd)
{
    pthread_mutex_lock(&p->mu);
    p->busy_fds[slot] = -1;
    p->nbusy--;
    pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->mu);
    if (s) sockit_close(s);
    else close(fd);
    atomic_fetch_sub_explicit(&p->srv->active, 1, memory_order_relaxed);
}

static void serve_one(struct pool *p, int slot, struct pool_item it)
{
    sockit_server *srv = p->srv;
    sockit_sock *s = NULL;
    int family = it.peer.sa.ss_family == AF_UNIX ? AF_UNIX : srv->addr.sa.ss_family;
    int r = hook_fails(&sockit__pool_fail_sock) ? sockit__failmsg(-ENOMEM, "server: socket (test)")
                                                : sockit__sock_new(&s, it.fd, family, srv->type, 0, p->timeout);
    if (r < 0) {
        sockit__server_log(srv, "%s", sockit_errmsg());
        release(p, slot, NULL, it.fd);
        return;
    }
    if (srv->cfg.tls && sockit_tls_accept(s, srv->cfg.tls) < 0)
        sockit__ratelog(srv, &p->tls_log, "tls handshake failed", sockit_errmsg());
    else
        srv->cbs.handle(s, &it.peer, srv->cfg.user);
    release(p, slot, s, -1);
}

struct pool_arg {
    struct pool *p;
    int slot;
};

static void *pool_main(void *arg)
{
    struct pool_arg *pa = arg;
    struct pool *p = pa->p;
    int slot = pa->slot;
    free(pa);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->qlen && !p->stop) pthread_cond_wait(&p->work, &p->mu);
        if (!p->qlen) { /* stopping and nothing left */
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        struct pool_item it = p->queue[p->qhead];
        p->qhead = (p->qhead + 1) % p->qcap;
        p->qlen--;
        p->busy_fds[slot] = it.fd;
        p->nbusy++;
        pthread_mutex_unlock(&p->mu);
        serve_one(p, slot, it);
    }
}

/* ---- life ------------------------------------------------------------------------------------------ */

int sockit__pool_check(const sockit_server_config *cfg)
{
    if (cfg->threads > SOCKIT_SERVER_MAX_THREADS)
        return sockit__failmsg(-EINVAL, "server: %d threads asked for; threaded mode takes at most %d",
                               cfg->threads, SOCKIT_SERVER_MAX_THREADS);
    if (isnan(cfg->timeout)) return sockit__failmsg(-EINVAL, "server: the timeout is not a number");
    return 0;
}

/* cfg.timeout as the handed socket's: 0 the default, < 0 none. */
static double handed_timeout(double t)
{
    if (t == 0) return SOCKIT_SERVER_THREADED_TIMEOUT;
    return t > 0 ? t : -1;
}

static int pool_alloc(sockit_server *srv, struct pool **out)
{
    int n = srv->cfg.threads;
    struct pool *p = calloc(1, sizeof *p);
    if (!p) return sockit__fail(-ENOMEM, "server: pool");
    p->srv = srv;
    p->timeout = handed_timeout(srv->cfg.timeout);
    p->qcap = srv->cfg.queue;
    p->queue = calloc((size_t)p->qcap, sizeof *p->queue);
    p->tids = calloc((size_t)n, sizeof *p->tids);
    p->busy_fds = calloc((size_t)n, sizeof *p->busy_fds);
    pthread_condattr_t ca;
    int r = pthread_condattr_init(&ca);
    if (r == 0) r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (r == 0 && (r = pthread_cond_init(&p->idle, &ca)) == 0) {
        pthread_cond_init(&p->work, NULL);
        pthread_mutex_init(&p->mu, NULL);
    }
    pthread_condattr_destroy(&ca);
    if (r != 0 || !p->queue || !p->tids || !p->busy_fds) {
        free(p->queue);
        free(p->tids);
        free(p->busy_fds);
        if (r == 0) {
            pthread_cond_destroy(&p->idle);
            pthread_cond_destroy(&p->work);
            pthread_mutex_destroy(&p->mu);
        }
        free(p);
        return sockit__fail(r ? -r : -ENOMEM, "server: pool of %d threads", n);
    }
    for (int i = 0; i < n; i++) p->busy_fds[i] = -1;
    *out = p;
    return 0;
}

static int spawn(struct pool *p, int slot)
{
    struct pool_arg *pa = malloc(sizeof *pa);
    if (!pa) return -ENOMEM;
    *pa = (struct pool_arg){p, slot};
    int r = hook_fails_at(&sockit__pool_fail_thread, slot) ? EAGAIN
                                                           : pthread_create(&p->tids[slot], NULL, pool_main, pa);
    if (r != 0) free(pa);
    return -r;
}

int sockit__pool_start(sockit_server *srv)
{
    struct pool *p = NULL;
    int r = pool_alloc(srv, &p);
    if (r < 0) return r;
    /* Pool threads take no signals: they belong to whoever runs the server. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < srv->cfg.threads && r == 0; i++)
        if ((r = spawn(p, i)) == 0) p->nthreads++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    srv->pool = p;
    if (r < 0) { /* the threads made so far stop (nothing is queued yet) and are joined */
        int made = p->nthreads;
        sockit__pool_free(srv);
        return sockit__fail(r, "server: starting thread %d of %d", made + 1, srv->cfg.threads);
    }
    return 0;
}

int sockit__pool_offer(sockit_server *srv, int fd, const sockit_addr *peer)
{
    struct pool *p = srv->pool;
    if (!p) return -EBUSY;
    pthread_mutex_lock(&p->mu);
    int ok = !p->stop && p->qlen < p->qcap &&
             atomic_load_explicit(&srv->active, memory_order_relaxed) < (uint64_t)srv->cfg.max_conns;
    if (ok) {
        p->queue[(p->qhead + p->qlen) % p->qcap] = (struct pool_item){fd, *peer};
        p->qlen++;
        atomic_fetch_add_explicit(&srv->active, 1, memory_order_relaxed);
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->mu);
    return ok ? 0 : -EBUSY;
}

static struct timespec to_timespec(int64_t ns)
{
    if (ns < 0) ns = 0;
    return (struct timespec){.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
}

void sockit__pool_stop(sockit_server *srv, int64_t grace_deadline)
{
    struct pool *p = srv->pool;
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    while (p->qlen) { /* never started: close them */
        close(p->queue[p->qhead].fd);
        p->qhead = (p->qhead + 1) % p->qcap;
        p->qlen--;
        atomic_fetch_sub_explicit(&srv->active, 1, memory_order_relaxed);
    }
    pthread_cond_broadcast(&p->work);
    /* Running handlers may finish until the deadline (each end wakes us); then their sockets are
     * cut, so that their blocking calls return. */
    struct timespec until = to_timespec(grace_deadline);
    while (p->nbusy && sockit__now() < grace_deadline) pthread_cond_timedwait(&p->idle, &p->mu, &until);
    for (int i = 0; i < p->nthreads && p->nbusy; i++)
        if (p->busy_fds[i] >= 0) shutdown(p->busy_fds[i], SHUT_RDWR);
    pthread_mutex_unlock(&p->mu);
}

void sockit__pool_join(sockit_server *srv)
{
    struct pool *p = srv->pool;
    if (!p || p->joined) return;
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->tids[i], NULL);
    p->joined = 1;
}

void sockit__pool_free(sockit_server *srv)
{
    struct pool *p = srv->pool;
    if (!p) return;
    if (!p->joined) { /* still running: stop now (no grace) and join */
        sockit__pool_stop(srv, 0);
        sockit__pool_join(srv);
    }
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p->tids);
    free(p->queue);
    free(p->busy_fds);
    free(p);
    srv->pool = NULL;
}
