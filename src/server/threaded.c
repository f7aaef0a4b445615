/*
 * Threaded mode (Python's ThreadingTCPServer): the acceptor loop hands each connection to a
 * bounded queue; a fixed pool of threads takes them and runs the user's blocking handler.
 * When the queue is full the acceptor refuses the connection. Graceful stop: queued connections
 * that no thread has taken are closed; running handlers get until the grace deadline, after which
 * their sockets are shut down so that their blocking calls return.
 */
#include "internal/server.h"

#include <sockit/tls.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void serve_one(sockit_server *srv, int slot, struct pool_item it)
{
    sockit_sock *s;
    double t = srv->cfg.timeout > 0 ? srv->cfg.timeout : -1;
    if (sockit__sock_new(&s, it.fd, it.peer.sa.ss_family == AF_UNIX ? AF_UNIX : srv->addr.sa.ss_family,
                         srv->type, 0, t) < 0) {
        close(it.fd);
        return;
    }
    if (srv->cfg.tls && sockit_tls_accept(s, srv->cfg.tls) < 0)
        sockit__server_log(srv, "%s", sockit_errmsg());
    else
        srv->cbs.handle(s, &it.peer, srv->cfg.user);
    pthread_mutex_lock(&srv->qmu);
    srv->busy_fds[slot] = -1;
    pthread_mutex_unlock(&srv->qmu);
    sockit_close(s);
    atomic_fetch_sub_explicit(&srv->active, 1, memory_order_relaxed);
}

struct pool_arg {
    sockit_server *srv;
    int slot;
};

static void *pool_main(void *arg)
{
    struct pool_arg *pa = arg;
    sockit_server *srv = pa->srv;
    int slot = pa->slot;
    free(pa);
    for (;;) {
        pthread_mutex_lock(&srv->qmu);
        while (!srv->qlen && !srv->pool_stop) pthread_cond_wait(&srv->qcv, &srv->qmu);
        if (!srv->qlen) { /* stopping and nothing left */
            pthread_mutex_unlock(&srv->qmu);
            return NULL;
        }
        struct pool_item it = srv->queue[srv->qhead];
        srv->qhead = (srv->qhead + 1) % srv->qcap;
        srv->qlen--;
        srv->busy_fds[slot] = it.fd;
        pthread_mutex_unlock(&srv->qmu);
        serve_one(srv, slot, it);
    }
}

int sockit__pool_start(sockit_server *srv)
{
    int n = srv->cfg.threads;
    srv->qcap = srv->cfg.queue;
    srv->queue = calloc((size_t)srv->qcap, sizeof *srv->queue);
    srv->pool = calloc((size_t)n, sizeof *srv->pool);
    srv->busy_fds = malloc((size_t)n * sizeof *srv->busy_fds);
    if (!srv->queue || !srv->pool || !srv->busy_fds) return sockit__fail(-ENOMEM, "server: pool");
    pthread_mutex_init(&srv->qmu, NULL);
    pthread_cond_init(&srv->qcv, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = 0;
    for (int i = 0; i < n && r == 0; i++) {
        srv->busy_fds[i] = -1;
        struct pool_arg *pa = malloc(sizeof *pa);
        if (!pa) {
            r = -ENOMEM;
            break;
        }
        *pa = (struct pool_arg){srv, i};
        r = -pthread_create(&srv->pool[i], NULL, pool_main, pa);
        if (r < 0) free(pa);
        else srv->npool++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) return sockit__fail(r, "server: starting %d threads", n);
    return 0;
}

int sockit__pool_offer(sockit_server *srv, int fd, const sockit_addr *peer)
{
    pthread_mutex_lock(&srv->qmu);
    int ok = !srv->pool_stop && srv->qlen < srv->qcap &&
             atomic_load_explicit(&srv->active, memory_order_relaxed) < (uint64_t)srv->cfg.max_conns;
    if (ok) {
        srv->queue[(srv->qhead + srv->qlen) % srv->qcap] = (struct pool_item){fd, *peer};
        srv->qlen++;
        atomic_fetch_add_explicit(&srv->active, 1, memory_order_relaxed);
        pthread_cond_signal(&srv->qcv);
    }
    pthread_mutex_unlock(&srv->qmu);
    return ok ? 0 : -EBUSY;
}

void sockit__pool_stop(sockit_server *srv, int64_t grace_deadline)
{
    if (!srv->pool) return;
    pthread_mutex_lock(&srv->qmu);
    srv->pool_stop = 1;
    while (srv->qlen) { /* never started: close them */
        close(srv->queue[srv->qhead].fd);
        srv->qhead = (srv->qhead + 1) % srv->qcap;
        srv->qlen--;
        atomic_fetch_sub_explicit(&srv->active, 1, memory_order_relaxed);
    }
    pthread_cond_broadcast(&srv->qcv);
    pthread_mutex_unlock(&srv->qmu);
    /* Let running handlers finish until the deadline, then cut their sockets. */
    for (;;) {
        pthread_mutex_lock(&srv->qmu);
        int busy = 0;
        for (int i = 0; i < srv->npool; i++) busy += srv->busy_fds[i] >= 0;
        if (busy && sockit__now() >= grace_deadline)
            for (int i = 0; i < srv->npool; i++)
                if (srv->busy_fds[i] >= 0) shutdown(srv->busy_fds[i], SHUT_RDWR);
        pthread_mutex_unlock(&srv->qmu);
        if (!busy || sockit__now() >= grace_deadline) break;
        usleep(10000);
    }
}

void sockit__pool_join(sockit_server *srv)
{
    if (!srv->pool) return;
    for (int i = 0; i < srv->npool; i++) pthread_join(srv->pool[i], NULL);
    pthread_cond_destroy(&srv->qcv);
    pthread_mutex_destroy(&srv->qmu);
    free(srv->pool);
    free(srv->queue);
    free(srv->busy_fds);
    srv->pool = NULL;
    srv->npool = 0;
}
