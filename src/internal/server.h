/*
 * Private to the server core: the server, its workers and the connection table.
 */
#ifndef SOCKIT_INTERNAL_SERVER_H
#define SOCKIT_INTERNAL_SERVER_H

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

struct tls_state;

/*
 * One connection: 88 bytes on x86-64, from a per-worker table that is reserved for max_conns
 * entries but only touched as it is used. An idle connection owns no buffers.
 */
struct sockit_conn {
    int fd;
    uint32_t flags;
    struct worker *w;
    void *data;                        /* the user's */
    char *out;                         /* queued output: [out_off, out_len) */
    uint32_t out_off, out_len, out_cap;
    uint32_t in_len;                   /* held input (unconsumed) */
    char *in;
    uint32_t in_cap;
    int reason;                        /* why it is being closed */
    int64_t last;                      /* last activity (loop time, ns) */
    uint32_t prev, next;               /* first-byte list links: index + 1, 0 for none */
    struct tls_state *tls;             /* NULL for plain connections */
};

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

    struct sockit_conn *conns; /* max_conns entries, touched lazily */
    uint32_t cap, hwm, free_head, nconns;
    struct list first;         /* connections awaiting their first byte, in accept order */

    uint32_t *kicked;          /* conns to settle at the end of the round */
    uint32_t nkicked, kicked_cap;
    sockit_timer kick_timer, sweep_timer, grace_timer, accept_timer;

    char *rbuf;
    size_t rsize;

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

/* server.c */
void sockit__server_log(sockit_server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
