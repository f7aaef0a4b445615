/*
 * Private to the server's connection engine (server/conn.c, server/output.c): the connection's
 * flags, its output queue, and the small helpers both halves use on the hot path.
 */
#ifndef SOCKIT_INTERNAL_CONN_H
#define SOCKIT_INTERNAL_CONN_H

#include "internal/server.h"
#include "internal/sys.h"

#include <errno.h>

enum {
    C_OPEN = 1 << 0,      /* slot in use */
    C_GOT_DATA = 1 << 1,  /* first byte seen: on the idle list, not the first-byte list */
    C_PAUSED = 1 << 2,    /* the user paused reading */
    C_BACKPR = 1 << 3,    /* reading paused by backpressure */
    C_CLOSING = 1 << 4,   /* close once the output is sent */
    C_SHUT = 1 << 5,      /* shut down the sending side once the output is sent */
    C_SHUT_DONE = 1 << 6,
    C_EOF = 1 << 7,       /* the peer finished sending */
    C_DEAD = 1 << 8,      /* failed or aborted: tear down */
    C_IN_CB = 1 << 9,     /* user code is running for it */
    C_KICKED = 1 << 10,   /* on the worker's kick list (kept across the slot's reuse) */
    C_WANT_R = 1 << 11,   /* what the loop watches now */
    C_WANT_W = 1 << 12,
    C_NOTIFY_W = 1 << 13, /* call on_writable when the queue drains */
    C_LISTED = 1 << 14,   /* on an activity list */
    C_HANDSHAKE = 1 << 15, /* the layer's handshake is not done: not open for the user */
    C_IO_WANT_W = 1 << 16, /* the layer needs the socket writable to make progress */
    C_REOFFER = 1 << 17,  /* reading resumed: offer the held input again (once) */
    C_CLOSED_CB = 1 << 18, /* on_close has begun: every send fails */
    C_BUSY = 1 << 19,     /* the protocol has work in flight: not idle for a graceful stop */
};

/* The per-event path (read -> on_data -> send) is a chain of small functions: inline them into
 * the event handler, which callgrind shows saves ~15% of the instructions per round trip. */

/* The per-event path (read -> on_data -> send) is a chain of small functions: inline them into
 * the event handler, which callgrind shows saves ~15% of the instructions per round trip. */
#define HOT inline __attribute__((always_inline))

/* ---- the output queue: segments ------------------------------------------------------------ */

#define QSEGS 8 /* segments a queue holds before its array grows */

enum { SEG_COPY, SEG_BORROW, SEG_FILE };

struct seg {
    int kind, fd;          /* fd: SEG_FILE, ours to close */
    char *p;               /* bytes: the next unsent one */
    uint64_t len;          /* unsent bytes of the segment */
    uint64_t off;          /* SEG_FILE: the file offset of the next one */
    char *base;            /* SEG_COPY: the buffer, owned; [p, p + len) lies in [base, base + cap) */
    size_t cap;
    void (*release)(void *arg); /* SEG_BORROW */
    void *arg;
};

struct outq {
    struct outq *next_spare;
    struct seg *seg;       /* seg_in, or a larger array once more are queued */
    uint32_t head, n, cap; /* live segments: [head, n) */
    uint64_t pending;      /* unsent bytes, all segments */
    uint64_t copied;       /* of which in SEG_COPY buffers (memory the 4 x out_limit rule bounds) */
    struct seg seg_in[QSEGS];
};

static inline size_t pending(const struct sockit_conn *c)
{
    return c->out ? (size_t)c->out->pending : 0;
}

static inline void fail(struct sockit_conn *c, int reason)
{
    if (!(c->flags & C_DEAD)) c->reason = reason;
    c->flags |= C_DEAD;
}

/* Bytes to the peer: traffic for the idle timeout, but not the peer's first byte (a greeting
 * must not let a silent client escape the first-byte timeout). */
static inline void touch_out(struct sockit_conn *c)
{
    if (c->flags & C_GOT_DATA) c->last = c->w->loop->now;
}

/* Writes from buf: the count, -EAGAIN when the socket is not ready, or a negative code. The
 * plain socket is inlined; a layer is called through its operations. */
static HOT ssize_t conn_write(struct sockit_conn *c, const char *buf, size_t len)
{
    if (c->layer) {
        struct iovec v = {(void *)buf, len};
        ssize_t n = c->io->sendv(c->layer, c->fd, &v, 1);
        return n == SOCKIT__IO_WANT_WRITE ? -EAGAIN : n;
    }
    for (;;) {
        ssize_t n = sockit__sys_sendb(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0 || errno != EINTR) return n < 0 ? -errno : n;
    }
}

/* conn.c */
void sockit__conn_kick(struct sockit_conn *c); /* settle it at the end of the round */

/* output.c */
void sockit__outq_drop(struct sockit_conn *c);     /* the whole queue: sent or not */
void sockit__conn_write_out(struct sockit_conn *c); /* writes what the socket takes */
void sockit__conn_writable(struct sockit_conn *c);  /* on_writable, if it may run */

#endif
