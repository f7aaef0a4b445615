/*
 * Private to the loop: its layout and the backend seam.
 *
 * A backend is four operations: init/free, set (add, change or remove interest in an fd) and
 * wait (block up to a timeout, then report each ready fd through sockit__loop_ready).
 * Read-before-write order: when an fd is both readable and writable, its callback gets both
 * bits in one call and decides; the loop never splits them.
 */
#ifndef SOCKIT_INTERNAL_LOOP_H
#define SOCKIT_INTERNAL_LOOP_H

#include "internal/core.h"
#include <sockit/loop.h>

#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>

struct fdslot {
    sockit_io_cb cb; /* NULL: not watched */
    void *arg;
    uint32_t gen;    /* bumped on every del: stale readiness for a reused fd is ignored */
    uint8_t events;  /* asked for */
    uint8_t internal; /* the loop's own (wake-up, signals): not counted as a callback run */
};

struct post_node {
    struct post_node *next;
    sockit_post_fn fn;
    void *arg;
};

typedef struct sockit__backend {
    const char *name;
    int (*init)(sockit_loop *l);
    void (*free)(sockit_loop *l);
    /* old and new interest (0 old: add; 0 new with del=1: remove) */
    int (*set)(sockit_loop *l, int fd, int old_events, int new_events, int del);
    /* waits up to ms (-1: forever); reports through sockit__loop_ready; returns count or code */
    int (*wait)(sockit_loop *l, int ms);
} sockit__backend;

struct sockit_loop {
    const sockit__backend *be;
    void *be_state;

    struct fdslot *fds;
    size_t nfds_cap;
    size_t nwatched;

    sockit_timer **heap;
    size_t nheap, heap_cap;
    uint64_t timer_seq;

    int64_t now;
    _Atomic int stop;   /* set by sockit_loop_stop, from any thread */
    int wake_fd;        /* eventfd: posts, stop and wake */

    pthread_mutex_t post_mu;
    struct post_node *post_head, *post_tail;
    _Atomic int posted; /* the list is not empty: checked without the lock every round */

    int sig_fd;         /* signalfd, -1 until a signal is asked for */
    sigset_t sig_mask;
    struct { sockit_signal_cb cb; void *arg; } sig[65];
};

extern const sockit__backend sockit__backend_epoll;
extern const sockit__backend sockit__backend_poll;

/* Drops the loop's signalfd and its signals without unblocking them (the caller restores its own
 * mask). */
void sockit__loop_signals_forget(sockit_loop *l);

/* The capacity of a table grown by doubling (from `first`) until it holds `need` entries of
 * `elem` bytes, never past `limit` entries: 0 if that cannot be done without overflowing a size_t
 * (or passing the limit). Every table of the loop grows through it. */
static inline size_t sockit__grow_cap(size_t cap, size_t need, size_t first, size_t limit, size_t elem)
{
    if (need > limit || elem == 0 || need > SIZE_MAX / elem) return 0;
    if (cap < first) cap = first;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > limit) cap = limit;
    if (cap > SIZE_MAX / elem) cap = SIZE_MAX / elem;
    return cap;
}

/* Called by a backend for each ready fd, with the gen it saw when it registered the wait. */
int sockit__loop_ready(sockit_loop *l, int fd, uint32_t gen, int revents);

#endif
