/*
 * sockit loop — an event loop: fd readiness, timers, cross-thread wake-up, signals.
 *
 * One loop per thread. Everything here is called on the loop's own thread, except
 * sockit_loop_stop, sockit_loop_post and sockit_loop_wake, which any thread may call.
 * Errors follow the core's model (>= 0 success, negative code, sockit_errmsg()).
 *
 * Backends sit behind a small seam: epoll (the default on Linux) and poll() (portable, and a
 * second implementation that keeps the seam honest). Both behave the same.
 *
 * Callbacks run on the loop thread, one at a time. A callback may add, modify or remove any fd
 * (its own included), start and stop timers, and stop the loop. An fd removed during a round of
 * events gets no further callbacks in that round, even if its number is reused at once.
 */
#ifndef SOCKIT_LOOP_H
#define SOCKIT_LOOP_H

#include <sockit/sockit.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sockit_loop sockit_loop;

enum {
    SOCKIT_LOOP_DEFAULT = 0, /* epoll on Linux */
    SOCKIT_LOOP_EPOLL = 1,
    SOCKIT_LOOP_POLL = 2
};

/* Readiness bits: asked for (READABLE, WRITABLE) and reported (all four). HUP and ERROR are
 * always reported, asked or not; the callback learns the details from its next read or write. */
enum {              /* (the values of Linux's POLLIN, POLLOUT, POLLERR, POLLHUP: no translation) */
    SOCKIT_READABLE = 1,
    SOCKIT_WRITABLE = 4,
    SOCKIT_ERROR = 8,
    SOCKIT_HUP = 16
};

typedef void (*sockit_io_cb)(sockit_loop *loop, int fd, int events, void *arg);

/* A new loop with the given backend. *out is the caller's: sockit_loop_free ends it. */
SOCKIT_API int sockit_loop_new(sockit_loop **out, int backend);

/* Frees the loop. fds still registered are not closed (they are the caller's); pending posted
 * functions are dropped without running. NULL is a no-op. Not while the loop runs. */
SOCKIT_API void sockit_loop_free(sockit_loop *loop);

/* The backend's name: "epoll" or "poll". */
SOCKIT_API const char *sockit_loop_backend(const sockit_loop *loop);

/* Watches fd for events (READABLE and/or WRITABLE; 0 watches only HUP/ERROR). cb(loop, fd,
 * revents, arg) is called when it is ready (level-triggered: again and again while it stays
 * ready). -EEXIST if fd is already watched, -EBADF for a bad fd. The fd stays the caller's. */
SOCKIT_API int sockit_loop_add(sockit_loop *loop, int fd, int events, sockit_io_cb cb, void *arg);

/* Changes what fd is watched for. -ENOENT if it is not watched. */
SOCKIT_API int sockit_loop_mod(sockit_loop *loop, int fd, int events);

/* Stops watching fd (call it before closing fd). -ENOENT if it is not watched. */
SOCKIT_API int sockit_loop_del(sockit_loop *loop, int fd);

/* ---- timers ------------------------------------------------------------------------------ */

typedef struct sockit_timer sockit_timer;
typedef void (*sockit_timer_cb)(sockit_loop *loop, sockit_timer *t, void *arg);

/* A timer is a plain struct the caller owns (embed it in your own; no allocation per timer).
 * The fields are private to the loop. Arming and cancelling cost O(log n) in the timers armed. */
struct sockit_timer {
    int64_t when;   /* private: absolute monotonic ns */
    int64_t repeat; /* private: ns, 0 for one-shot */
    sockit_timer_cb cb;
    void *arg;
    uint64_t seq;   /* private: arming order, for ties */
    size_t slot;    /* private: heap position + 1, 0 when not armed */
};

/* Prepares t; call once before the first start. */
SOCKIT_API void sockit_timer_init(sockit_timer *t, sockit_timer_cb cb, void *arg);

/* Arms t to fire after `after` seconds and then every `repeat` seconds (0: once). Re-arming an
 * armed timer moves it. -EINVAL for a negative or NaN time. Timers due at the same moment fire in
 * the order they were armed. */
SOCKIT_API int sockit_timer_start(sockit_loop *loop, sockit_timer *t, double after, double repeat);

/* Disarms t; a no-op if it is not armed. Safe inside its own callback. */
SOCKIT_API void sockit_timer_stop(sockit_loop *loop, sockit_timer *t);

/* 1 if t is armed. */
SOCKIT_API int sockit_timer_active(const sockit_timer *t);

/* ---- signals ----------------------------------------------------------------------------- */

typedef void (*sockit_signal_cb)(sockit_loop *loop, int signo, void *arg);

/* Delivers signo to cb on this loop (signalfd): the signal is blocked in the calling thread, and
 * must be blocked in every other thread of the process too for the loop to see it reliably (call
 * this before starting threads; the server core blocks SIGINT/SIGTERM in its own threads).
 * One callback per signal per loop; cb NULL removes it and unblocks the signal. */
SOCKIT_API int sockit_loop_signal(sockit_loop *loop, int signo, sockit_signal_cb cb, void *arg);

/* ---- running ----------------------------------------------------------------------------- */

/* Runs until sockit_loop_stop. Returns 0, or a code if the backend failed. */
SOCKIT_API int sockit_loop_run(sockit_loop *loop);

/* One round: waits at most timeout seconds (< 0: until something happens, 0: no wait) and runs
 * what is due. Returns the number of callbacks run (fd, timer and posted; the loop's own wake-up
 * and signal plumbing not counted), or a code. */
SOCKIT_API int sockit_loop_run_once(sockit_loop *loop, double timeout);

/* Makes sockit_loop_run return after the current round. Any thread. */
SOCKIT_API void sockit_loop_stop(sockit_loop *loop);

/* Runs fn(loop, arg) on the loop's thread in its next round, in the order posted. Any thread.
 * -ENOMEM if the node cannot be allocated. */
typedef void (*sockit_post_fn)(sockit_loop *loop, void *arg);
SOCKIT_API int sockit_loop_post(sockit_loop *loop, sockit_post_fn fn, void *arg);

/* Wakes the loop from its wait (any thread, async-signal-safe). */
SOCKIT_API void sockit_loop_wake(sockit_loop *loop);

/* The loop's clock: monotonic seconds, cached at the start of each round (cheap). */
SOCKIT_API double sockit_loop_now(const sockit_loop *loop);

/* The number of fds watched and timers armed (the loop's own internal fds are not counted). */
SOCKIT_API size_t sockit_loop_count(const sockit_loop *loop);

#ifdef __cplusplus
}
#endif

#endif /* SOCKIT_LOOP_H */
