/*
 * The server's lifecycle: configuration, listeners, workers and their loops, start, stop, wait,
 * run and free. The connection engine is conn.c and, for its output queue and the sends,
 * output.c (with the I/O operations in conn_io.c, and TLS as a layer from src/tls/tls_conn.c);
 * accepting is accept.c, datagrams dgram.c, threaded mode threaded.c.
 */
#include "internal/server.h"

#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MAX_SECS 1e9 /* as the loop's timers: about 31 years, "forever" */
#define DEFAULT_IDLE 300.0
#define DEFAULT_FIRST_BYTE 30.0

/* ---- logging ------------------------------------------------------------------------------ */

void sockit__server_log(sockit_server *srv, const char *fmt, ...)
{
    if (!srv->cfg.log) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv->cfg.log(srv->cfg.user, msg);
}

int64_t sockit__secs_ns(double secs)
{
    if (!(secs > 0)) return 0; /* NaN too */
    if (secs > MAX_SECS) secs = MAX_SECS;
    return (int64_t)(secs * 1e9);
}

/* ---- the workers ---------------------------------------------------------------------------- */

static void on_grace(sockit_loop *loop, sockit_timer *t, void *arg) { (void)loop, (void)t, (void)arg; }

static void begin_stop(struct worker *w)
{
    sockit_server *srv = w->srv;
    w->stopping = 1;
    if (w->lfd >= 0) {
        sockit_loop_del(w->loop, w->lfd);
        /* A listener of our own closes now (new connections are refused at once); one shared
         * by the workers (Unix) closes in sockit_server_wait, once no worker can touch it. */
        if (w->own_lfd && w->lfd != srv->shared_lfd) close(w->lfd);
        w->lfd = -1;
    }
    double grace = srv->cfg.stop_grace; /* (0, MAX_SECS] */
    w->grace_deadline = w->loop->now + sockit__secs_ns(grace);
    sockit_timer_start(w->loop, &w->grace_timer, grace, 0);
    sockit__conn_settle_all(w); /* idle ones close now; busy ones when they are done */
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    sockit_server *srv = w->srv;
    for (;;) {
        if (sockit_loop_run_once(w->loop, -1) < 0) {
            sockit__server_log(srv, "worker %d: %s", w->index, sockit_errmsg());
            break;
        }
        if (atomic_load(&srv->stopping) && !w->stopping) begin_stop(w);
        if (w->stopping && (w->nconns == 0 || sockit__now() >= w->grace_deadline)) break;
    }
    sockit__conn_close_all(w);
    return NULL;
}

/* ---- setting up --------------------------------------------------------------------------------- */

int sockit_ncpu(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int worker_init(sockit_server *srv, struct worker *w, int i)
{
    w->srv = srv;
    w->index = i;
    w->lfd = -1;
    w->sweep_fd = -1;
    int r = sockit_loop_new(&w->loop, SOCKIT_LOOP_DEFAULT);
    if (r < 0) return r;
    w->rsize = srv->cfg.read_size;
    w->rbuf = malloc(w->rsize);
    w->cap = (uint32_t)srv->cfg.max_conns;
    /* A slot: the connection, then the protocol's state 16-byte aligned. */
    size_t state = srv->cfg.conn_state_size;
    w->stride = state ? ((sizeof(struct sockit_conn) + 15) & ~(size_t)15) + ((state + 15) & ~(size_t)15)
                      : sizeof(struct sockit_conn);
    /* Reserved, not touched: pages are only faulted in as connections use them. */
    int streams = srv->type != SOCK_DGRAM && srv->cfg.threads <= 0;
    if (streams) {
        w->conns = calloc(w->cap, w->stride);
        w->kicked = calloc(w->cap, sizeof *w->kicked);
    }
    if (!w->rbuf || (streams && (!w->conns || !w->kicked)))
        return sockit__fail(-ENOMEM, "server: worker %d buffers for %u connections", i, w->cap);
    sockit_timer_init(&w->kick_timer, sockit__on_kick, w);
    sockit_timer_init(&w->grace_timer, on_grace, w);
    sockit_timer_init(&w->accept_timer, sockit__on_accept_again, w);
    return 0;
}

static int check_config(const sockit_server_config *cfg)
{
    if (!cfg) return sockit__failmsg(-EINVAL, "server: no configuration given");
    const sockit_server_cbs *cb = cfg->cbs;
    if (!cb) return sockit__failmsg(-EINVAL, "server: no callbacks given");
    if (cfg->threads > 0 && !cb->handle)
        return sockit__failmsg(-EINVAL, "server: threaded mode needs a handle callback");
    if (cfg->threads <= 0 && cfg->type == SOCK_DGRAM && !cb->on_datagram)
        return sockit__failmsg(-EINVAL, "server: a datagram server needs on_datagram");
    if (cfg->threads <= 0 && cfg->type != SOCK_DGRAM && !cb->on_data)
        return sockit__failmsg(-EINVAL, "server: a stream server needs on_data");
    if (cfg->threads > 0 && cfg->type == SOCK_DGRAM)
        return sockit__failmsg(-EINVAL, "server: threaded mode is for stream servers");
    if (cfg->workers > SOCKIT_SERVER_MAX_WORKERS)
        return sockit__failmsg(-EINVAL, "server: %d workers: at most %d", cfg->workers,
                               SOCKIT_SERVER_MAX_WORKERS);
    if (cfg->conn_state_size > 1 << 20)
        return sockit__failmsg(-EINVAL, "server: conn_state_size %zu: at most 1 MiB", cfg->conn_state_size);
    if (cfg->threads > 0) return sockit__pool_check(cfg);
    return 0;
}

/* 0: the default; < 0: off (kept negative); NaN: the default; huge: clamped. */
static double timeout_or(double t, double dflt)
{
    if (t == 0 || isnan(t)) return dflt;
    return t > MAX_SECS ? MAX_SECS : t;
}

static void apply_defaults(sockit_server *srv, const sockit_server_config *cfg)
{
    srv->cfg = *cfg;
    sockit_server_config *c = &srv->cfg;
    if (c->max_conns <= 0) c->max_conns = 10000;
    if (!(c->stop_grace > 0)) c->stop_grace = 5.0;
    if (c->stop_grace > MAX_SECS) c->stop_grace = MAX_SECS;
    c->idle_timeout = timeout_or(c->idle_timeout, DEFAULT_IDLE);
    c->first_byte_timeout = timeout_or(c->first_byte_timeout, DEFAULT_FIRST_BYTE);
    if (!c->out_limit) c->out_limit = 256 * 1024;
    if (c->out_limit > SIZE_MAX / 8) c->out_limit = SIZE_MAX / 8;
    if (!c->in_limit) c->in_limit = 64 * 1024;
    if (c->in_limit > UINT32_MAX / 2) c->in_limit = UINT32_MAX / 2;
    if (!c->read_size) c->read_size = 64 * 1024;
    if (c->threads > 0) c->workers = 1; /* one acceptor loop */
    else if (c->workers <= 0) c->workers = sockit_ncpu() < SOCKIT_SERVER_MAX_WORKERS ? sockit_ncpu()
                                                                               : SOCKIT_SERVER_MAX_WORKERS;
    if (c->queue <= 0) c->queue = c->threads;
    srv->cbs = *cfg->cbs;
    c->cbs = &srv->cbs;
    srv->type = c->type ? c->type : SOCK_STREAM;
    srv->family = c->family;
}

int sockit_server_new(sockit_server **out, const sockit_server_config *cfg)
{
    int r = check_config(cfg);
    if (r < 0) return r;
    sockit_server *srv = calloc(1, sizeof *srv);
    if (!srv) return sockit__fail(-ENOMEM, "server");
    srv->shared_lfd = -1;
    apply_defaults(srv, cfg);
    srv->cfg.tls = sockit__tls_ctx_ref(cfg->tls); /* the server holds its own reference */
    srv->host = cfg->host ? strdup(cfg->host) : NULL;
    srv->port = cfg->port ? strdup(cfg->port) : NULL;
    srv->cfg.host = srv->host;
    srv->cfg.port = srv->port;
    srv->is_unix_path = srv->host && (srv->family == AF_UNIX || (srv->family == 0 &&
                                      (srv->host[0] == '/' || srv->host[0] == '@')));
    srv->nworkers = srv->cfg.workers;
    srv->w = calloc((size_t)srv->nworkers, sizeof *srv->w);
    if (!srv->w || (cfg->host && !srv->host) || (cfg->port && !srv->port)) {
        r = sockit__fail(-ENOMEM, "server");
        goto fail;
    }
    for (int i = 0; i < srv->nworkers; i++)
        if ((r = worker_init(srv, &srv->w[i], i)) < 0) goto fail;
    if ((r = sockit__listen_all(srv)) < 0) goto fail;
    *out = srv;
    return 0;
fail:
    sockit_server_free(srv);
    return r;
}

int sockit_server_addr(const sockit_server *srv, sockit_addr *out)
{
    *out = srv->addr;
    return 0;
}

void *sockit_server_user(const sockit_server *srv) { return srv->cfg.user; }

static void on_sweep(sockit_loop *loop, int fd, int events, void *arg)
{
    uint64_t ticks;
    (void)loop, (void)events;
    if (read(fd, &ticks, sizeof ticks) > 0) sockit__sweep(arg);
}

/* The sweep runs from a periodic timerfd rather than a loop timer: while any loop timer is
 * armed the loop reads the clock before every wait (~60 instructions per event, measured with
 * callgrind), and the default timeouts keep the sweep armed for the server's whole life. */
static int arm_sweep(struct worker *w, double period)
{
    struct itimerspec its = {.it_interval = {(time_t)period, (long)((period - (time_t)period) * 1e9)}};
    its.it_value = its.it_interval;
    w->sweep_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (w->sweep_fd < 0) return sockit__fail(-errno, "server: worker %d: timerfd", w->index);
    if (timerfd_settime(w->sweep_fd, 0, &its, NULL) < 0)
        return sockit__fail(-errno, "server: worker %d: timerfd_settime", w->index);
    return sockit_loop_add(w->loop, w->sweep_fd, SOCKIT_READABLE, on_sweep, w);
}

/* Makes a worker's loop ready: its listener watched, the timeout sweep armed. */
static int worker_prepare(sockit_server *srv, struct worker *w)
{
    /* Threaded mode uses on_accept too: it hands each fd to the pool. */
    sockit_io_cb cb = srv->type == SOCK_DGRAM ? sockit__on_datagram_ready : sockit__on_accept;
    int r = sockit_loop_add(w->loop, w->lfd, SOCKIT_READABLE, cb, w);
    if (r < 0) return r;
    const sockit_server_config *c = &srv->cfg;
    double t = 0;
    if (c->idle_timeout > 0) t = c->idle_timeout;
    if (c->first_byte_timeout > 0 && (t == 0 || c->first_byte_timeout < t)) t = c->first_byte_timeout;
    if (t > 0 && !c->threads && srv->type != SOCK_DGRAM) {
        double period = t / 8;
        period = period < 0.01 ? 0.01 : period > 1 ? 1 : period;
        return arm_sweep(w, period);
    }
    return 0;
}

static int worker_thread(struct worker *w)
{
    /* Workers take no signals: they belong to whoever runs the server. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = -pthread_create(&w->tid, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) return sockit__fail(r, "server: starting worker %d", w->index);
    w->started = 1;
    return 0;
}

/* Starts the pool (threaded mode) and the workers from `first` on as threads; workers before
 * `first` are prepared but left to the caller's thread (sockit_server_run runs worker 0). */
static int start_from(sockit_server *srv, int first)
{
    int r = 0;
    if (srv->cfg.threads > 0 && (r = sockit__pool_start(srv)) < 0) return r;
    for (int i = 0; i < srv->nworkers; i++) {
        r = worker_prepare(srv, &srv->w[i]);
        if (r == 0 && i >= first) r = worker_thread(&srv->w[i]);
        if (r < 0) {
            sockit_server_stop(srv);
            sockit_server_wait(srv);
            return r;
        }
    }
    return 0;
}

int sockit_server_start(sockit_server *srv) { return start_from(srv, 0); }

void sockit_server_stop(sockit_server *srv)
{
    atomic_store(&srv->stopping, 1);
    for (int i = 0; i < srv->nworkers; i++)
        if (srv->w[i].loop) sockit_loop_wake(srv->w[i].loop);
}

int sockit_server_wait(sockit_server *srv)
{
    int all_joined = 1;
    for (int i = 0; i < srv->nworkers; i++) {
        if (srv->w[i].started) pthread_join(srv->w[i].tid, NULL);
        srv->w[i].started = 0;
        all_joined &= srv->w[i].lfd < 0; /* it stopped (and let go of the listener) */
    }
    if (all_joined && srv->shared_lfd >= 0) {
        close(srv->shared_lfd);
        srv->shared_lfd = -1;
    }
    if (srv->cfg.threads > 0) {
        sockit__pool_stop(srv, sockit__now() + sockit__secs_ns(srv->cfg.stop_grace));
        sockit__pool_join(srv);
    }
    return 0;
}

static void on_stop_signal(sockit_loop *loop, int signo, void *arg)
{
    sockit_server_stop(arg);
}

/* Worker 0 runs on the calling thread, which also takes SIGINT/SIGTERM through its loop: a
 * one-worker server is then a single-threaded process (no thread handoff, and the C library's
 * single-thread fast paths). */
int sockit_server_run(sockit_server *srv)
{
    sigset_t two, old;
    sigemptyset(&two);
    sigaddset(&two, SIGINT);
    sigaddset(&two, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &two, &old);
    sockit_loop *l0 = srv->w[0].loop;
    int r = sockit_loop_signal(l0, SIGINT, on_stop_signal, srv);
    if (r == 0) r = sockit_loop_signal(l0, SIGTERM, on_stop_signal, srv);
    if (r == 0) r = start_from(srv, 1);
    if (r == 0) worker_main(&srv->w[0]);
    sockit_server_stop(srv);
    sockit_server_wait(srv);
    /* Hand the two signals back exactly as the caller had them: blocked if they were. */
    sockit__loop_signals_forget(l0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r;
}

void sockit_server_free(sockit_server *srv)
{
    if (!srv) return;
    sockit__pool_free(srv); /* joins the pool first if it still runs */
    if (srv->shared_lfd >= 0) close(srv->shared_lfd);
    for (int i = 0; i < srv->nworkers; i++) {
        struct worker *w = &srv->w[i];
        if (w->lfd >= 0 && w->own_lfd && w->lfd != srv->shared_lfd) close(w->lfd);
        sockit_loop_free(w->loop);
        if (w->sweep_fd >= 0) close(w->sweep_fd);
        free(w->rbuf);
        free(w->conns);
        free(w->kicked);
        sockit__worker_free_spares(w);
    }
    struct stat st;
    if (srv->owns_path && lstat(srv->host, &st) == 0 && st.st_dev == srv->path_dev &&
        st.st_ino == srv->path_ino)
        unlink(srv->host);
    sockit__tls_ctx_unref(srv->cfg.tls);
    free(srv->w);
    free(srv->host);
    free(srv->port);
    free(srv);
}

void sockit_server_stats_get(const sockit_server *srv, sockit_server_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < srv->nworkers; i++) {
        struct worker *w = &srv->w[i];
        out->accepted += atomic_load_explicit(&w->accepted, memory_order_relaxed);
        out->refused += atomic_load_explicit(&w->refused, memory_order_relaxed);
        out->timed_out += atomic_load_explicit(&w->timed_out, memory_order_relaxed);
        out->bytes_in += atomic_load_explicit(&w->bytes_in, memory_order_relaxed);
        out->bytes_out += atomic_load_explicit(&w->bytes_out, memory_order_relaxed);
    }
    out->active = atomic_load_explicit(&srv->active, memory_order_relaxed);
}

