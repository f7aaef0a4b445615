/*
 * Private to the server core: the server, its workers and the connection table.
 */
#ifndef SOCKIT_INTERNAL_SERVER_H
#define SOCKIT_INTERNAL_SERVER_H

#include "internal/conn_io.h"
#include "internal/loop.h"
#include <sockit/server.h>

#include <pthread.h>
#include <sys/types.h>
#include <stdatomic.h>

/* Counters with a single writer (the owning thread) and any reader: relaxed load + store, no
 * locked instruction on the hot path. */
typedef _Atomic uint64_t sockit__counter;
static inline void sockit__count(sockit__counter *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

struct worker;
struct outq;

/*
 * One connection: 88 bytes on x86-64 (checked below), followed in its slot by the protocol's
 * state (cfg.conn_state_size, 16-byte aligned). Slots come from a per-worker table reserved for
 * max_conns entries but only touched as it is used. An idle connection owns no buffers.
 */
struct sockit_conn {
    int fd;
    uint32_t flags;
    struct worker *w;
    void *data;                        /* the user's */
    struct outq *out;                  /* queued output, NULL when none */
    char *in;                          /* held input (unconsumed) */
    uint32_t in_len, in_cap;
    int reason;                        /* why it is being closed */
    uint32_t prev, next;               /* first-byte list links: index + 1, 0 for none */
    int64_t last;                      /* last activity (loop time, ns) */
    const struct sockit__conn_io *io;  /* how bytes move: the plain socket or a layer (TLS) */
    void *layer;                       /* the layer's state, NULL for plain */
};

#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(struct sockit_conn) == 88, "the connection slot size the docs promise");
#endif

struct list {
    uint32_t head, tail;
};

struct sockit_dgram {
    struct worker *w;
    const sockit_addr *from;
};

struct worker {
    sockit_server *srv;
    int index;
    pthread_t tid;
    int started;
    sockit_loop *loop;
    int lfd;       /* listening or datagram socket watched by this worker */
    int own_lfd;   /* 1 if this worker closes it */

    char *conns;               /* max_conns slots of `stride` bytes, touched lazily */
    size_t stride;
    uint32_t cap, hwm, free_head, nconns;
    struct list first;         /* connections awaiting their first byte, in accept order */

    /* Connections to settle at the end of the round. A connection is on it at most once (its
     * C_KICKED flag says so, and the flag survives the slot's reuse), so cap entries suffice
     * and the list never grows. */
    uint32_t *kicked;
    uint32_t nkicked;
    sockit_timer kick_timer, grace_timer, accept_timer;
    int sweep_fd;              /* a periodic timerfd for the timeout sweep, or -1 */

    char *rbuf;
    size_t rsize;

    /* Spare output queues and 16 KiB copy chunks: steady traffic allocates nothing. */
    struct outq *spare_q;
    void *spare_chunks;
    uint32_t nspare_q, nspare_chunks;

    int stopping;
    int64_t grace_deadline;
    int64_t last_refusal_log;
    uint64_t refusals_unlogged;

    sockit__counter accepted, refused, timed_out, closed, bytes_in, bytes_out;
};

/* A rate limiter for log lines (ratelog.c): zero-initialised, shared by any threads. */
struct sockit__ratelog {
    _Atomic int64_t last; /* when the last line was said (sockit__now), 0 never */
    _Atomic uint64_t held; /* lines held back since */
};

struct pool;

struct sockit_server {
    sockit_server_config cfg;
    char *host, *port;
    sockit_server_cbs cbs;
    int type, family, is_unix_path;
    sockit_addr addr;

    struct worker *w;
    int nworkers;
    int shared_lfd;          /* >= 0: the one listener all workers watch (Unix); closed last */
    int owns_path;           /* we bound the Unix path (dev/ino below): remove it at the end */
    dev_t path_dev;
    ino_t path_ino;
    _Atomic int stopping;
    _Atomic uint64_t active; /* open connections, all workers */

    struct pool *pool;       /* threaded mode: threaded.c's, NULL until started */
};

/* threaded.c — the pool of threaded mode. Its state is private (struct pool); the server reaches
 * it only through these calls, and the pool reads only the server's cfg, cbs, addr, type and
 * active counter, and speaks through sockit__server_log.
 * check: the config's threaded-mode values (sockit_server_new), -EINVAL with a message.
 * start: allocates the pool and starts cfg.threads threads; on failure the threads already made
 *   are stopped and joined and nothing is left (srv->pool stays NULL).
 * offer: queues an accepted fd (the pool owns it then); -EBUSY when full, stopping or over max_conns.
 * stop: closes what is queued, lets running handlers finish until grace_deadline (sockit__now
 *   nanoseconds), then shuts their sockets down. Returns with the handlers still winding up.
 * join: waits for every pool thread. Offers after stop are refused (-EBUSY), until free.
 * free: stops (without grace) and joins a pool still running, then frees it. NULL pool: no-op. */
int sockit__pool_check(const sockit_server_config *cfg);
int sockit__pool_start(sockit_server *srv);
int sockit__pool_offer(sockit_server *srv, int fd, const sockit_addr *peer);
void sockit__pool_stop(sockit_server *srv, int64_t grace_deadline);
void sockit__pool_join(sockit_server *srv);
void sockit__pool_free(sockit_server *srv);
/* Test hooks (0: off): creating the pool thread of slot N-1 fails (once); the socket object of
 * the next N connections fails. */
extern _Atomic int sockit__pool_fail_thread;
extern _Atomic int sockit__pool_fail_sock;

/* ratelog.c: says "what: why (N more since last said)" through the server's log at most once a
 * second per limiter, counting what it holds back. Any thread. */
void sockit__ratelog(sockit_server *srv, struct sockit__ratelog *rl, const char *what, const char *why);

/* listen.c: binds the listening (or datagram) sockets of every worker and reads srv->addr. IP
 * servers with several workers: one SO_REUSEPORT socket each, after a probe without SO_REUSEPORT
 * has found the port free (-EADDRINUSE if anything, SO_REUSEPORT or not, holds it). One worker or
 * a Unix socket: one socket without SO_REUSEPORT, shared. Records a Unix path as ours
 * (owns_path, path_dev, path_ino). On failure, sockit_server_free closes what was opened. */
int sockit__listen_all(sockit_server *srv);

/* server.c: lifecycle */
void sockit__server_log(sockit_server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Seconds (a config value) to nanoseconds, clamped as the loop clamps timers: never overflows. */
int64_t sockit__secs_ns(double secs);

/* conn.c: the connection engine */
struct sockit_conn *sockit__conn_alloc(struct worker *w);
void sockit__conn_release(struct sockit_conn *c);
void sockit__conn_started(struct sockit_conn *c); /* the slot is watched: on_open (or handshake) */
void sockit__conn_event(sockit_loop *loop, int fd, int events, void *arg);
void sockit__on_kick(sockit_loop *loop, sockit_timer *t, void *arg);
void sockit__worker_free_spares(struct worker *w);
static inline struct sockit_conn *sockit__conn_at(struct worker *w, uint32_t i)
{
    return (struct sockit_conn *)(w->conns + (size_t)(i - 1) * w->stride);
}
void sockit__sweep(struct worker *w); /* the idle and first-byte timeouts, now */
void sockit__conn_settle_all(struct worker *w);
void sockit__conn_close_all(struct worker *w);

/* accept.c: accepting and refusing */
void sockit__on_accept(sockit_loop *loop, int lfd, int events, void *arg);
void sockit__on_accept_again(sockit_loop *loop, sockit_timer *t, void *arg);
void sockit__log_limited(struct worker *w, const char *what, const char *why);

/* dgram.c */
void sockit__on_datagram_ready(sockit_loop *loop, int fd, int events, void *arg);

#endif
