/*
 * The connection engine of the event-driven server: the connection table, reading into on_data,
 * the output queue of segments, settling, and the public sockit_conn_* calls.
 *
 * A connection's life: accept -> on_open -> (read -> on_data -> send/queue)* -> close -> on_close.
 * Teardown never happens inside user code: public calls only set flags and "kick" the connection;
 * the worker settles it (closes, shuts down, changes what the loop watches) after the callback
 * returns or at the end of the round. That makes every conn call safe in every callback.
 *
 * Bytes move through the connection's I/O operations (internal/conn_io.h): the plain socket,
 * inlined here on the hot path, or a layer such as TLS.
 */
#include "internal/server.h"
#include "internal/sys.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
#define HOT inline __attribute__((always_inline))

#define READS_PER_EVENT 4
#define IOV_BATCH 64          /* segments per writev */
#define QSEGS 8               /* segments a queue holds before its array grows */
#define CHUNK 16384           /* copy chunk: copied output is kept in these */
#define SPARE_CHUNKS 128      /* per worker, kept for reuse (2 MiB) */
#define SPARE_QUEUES 256

/* ---- the output queue: segments ------------------------------------------------------------ */

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

static size_t pending(const struct sockit_conn *c) { return c->out ? (size_t)c->out->pending : 0; }

static struct outq *q_get(struct sockit_conn *c)
{
    struct worker *w = c->w;
    struct outq *q = w->spare_q;
    if (q) {
        w->spare_q = q->next_spare;
        w->nspare_q--;
    } else if ((q = malloc(sizeof *q)) != NULL) {
        q->seg = q->seg_in;
        q->cap = QSEGS;
    } else {
        return NULL;
    }
    q->head = q->n = 0;
    q->pending = q->copied = 0;
    return c->out = q;
}

static void chunk_put(struct worker *w, char *base)
{
    if (w->nspare_chunks >= SPARE_CHUNKS) {
        free(base);
        return;
    }
    *(void **)base = w->spare_chunks;
    w->spare_chunks = base;
    w->nspare_chunks++;
}

static char *chunk_get(struct worker *w)
{
    char *b = w->spare_chunks;
    if (!b) return malloc(CHUNK);
    w->spare_chunks = *(void **)b;
    w->nspare_chunks--;
    return b;
}

/* A segment is done (sent, or dropped with its connection): give back what it holds. */
static void seg_done(struct worker *w, struct seg *s)
{
    if (s->kind == SEG_COPY) chunk_put(w, s->base);
    else if (s->kind == SEG_FILE) close(s->fd);
    else if (s->release) s->release(s->arg);
}

/* Drops the whole queue (teardown), or shelves an empty one (with its grown segment array). */
static void q_put(struct sockit_conn *c)
{
    struct worker *w = c->w;
    struct outq *q = c->out;
    if (!q) return;
    for (uint32_t i = q->head; i < q->n; i++) seg_done(w, &q->seg[i]);
    c->out = NULL;
    if (w->nspare_q >= SPARE_QUEUES) {
        if (q->seg != q->seg_in) free(q->seg);
        free(q);
        return;
    }
    q->next_spare = w->spare_q;
    w->spare_q = q;
    w->nspare_q++;
}

/* Room for one more segment at the tail: NULL on ENOMEM (nothing changed). */
static struct seg *seg_push(struct outq *q)
{
    if (q->n == q->cap && q->head) { /* slide the live ones down */
        memmove(q->seg, q->seg + q->head, (q->n - q->head) * sizeof *q->seg);
        q->n -= q->head;
        q->head = 0;
    }
    if (q->n == q->cap) {
        if (q->cap > UINT32_MAX / 2 / sizeof *q->seg) return NULL;
        uint32_t cap = q->cap * 2;
        struct seg *s = malloc(cap * sizeof *s);
        if (!s) return NULL;
        memcpy(s, q->seg, q->n * sizeof *s);
        if (q->seg != q->seg_in) free(q->seg);
        q->seg = s;
        q->cap = cap;
    }
    struct seg *s = &q->seg[q->n];
    memset(s, 0, sizeof *s);
    return s;
}

static struct seg *q_tail(struct outq *q) { return q->n > q->head ? &q->seg[q->n - 1] : NULL; }

/* Appends a copy of len bytes: into the room of the last copy chunk, the rest into new 16 KiB
 * chunks (reused per worker). -ENOMEM may leave part appended: the caller ends the connection. */
static int q_copy(struct sockit_conn *c, const char *p, size_t len)
{
    struct outq *q = c->out ? c->out : q_get(c);
    if (!q) return -ENOMEM;
    struct seg *t = q_tail(q);
    size_t room = t && t->kind == SEG_COPY ? (size_t)(t->base + t->cap - (t->p + t->len)) : 0;
    size_t first = len < room ? len : room;
    if (first) {
        memcpy(t->p + t->len, p, first);
        t->len += first;
        q->pending += first;
        q->copied += first;
    }
    for (size_t done = first; done < len;) {
        struct seg *s = seg_push(q);
        char *buf = s ? chunk_get(c->w) : NULL;
        if (!buf) return -ENOMEM;
        size_t n = len - done < CHUNK ? len - done : CHUNK;
        *s = (struct seg){.kind = SEG_COPY, .fd = -1, .p = buf, .len = n, .base = buf, .cap = CHUNK};
        memcpy(buf, p + done, n);
        q->n++;
        q->pending += n;
        q->copied += n;
        done += n;
    }
    return 0;
}

/* The queue took `n` bytes: advance over the segments it came from. */
static void q_consume(struct sockit_conn *c, uint64_t n)
{
    struct outq *q = c->out;
    q->pending -= n;
    while (n) {
        struct seg *s = &q->seg[q->head];
        uint64_t k = n < s->len ? n : s->len;
        if (s->kind == SEG_FILE) s->off += k;
        else s->p += k;
        if (s->kind == SEG_COPY) q->copied -= k;
        s->len -= k;
        n -= k;
        if (s->len) break;
        seg_done(c->w, s);
        q->head++;
    }
}

/* ---- activity lists (intrusive, by index + 1) ------------------------------------------------ */

static uint32_t idx(const struct sockit_conn *c)
{
    return (uint32_t)(((const char *)c - c->w->conns) / c->w->stride) + 1;
}

static struct sockit_conn *at(struct worker *w, uint32_t i) { return sockit__conn_at(w, i); }

static void list_unlink(struct list *l, struct sockit_conn *c)
{
    struct worker *w = c->w;
    if (c->prev) at(w, c->prev)->next = c->next;
    else l->head = c->next;
    if (c->next) at(w, c->next)->prev = c->prev;
    else l->tail = c->prev;
    c->prev = c->next = 0;
}

static void list_append(struct list *l, struct sockit_conn *c)
{
    uint32_t i = idx(c);
    c->prev = l->tail;
    c->next = 0;
    if (l->tail) at(c->w, l->tail)->next = i;
    else l->head = i;
    l->tail = i;
    c->flags |= C_LISTED;
}

/* Bytes from the peer: a timestamp for the idle sweep and, the first time, off the first-byte
 * list. O(1) and nothing else per read: the idle sweep walks the table instead of keeping an
 * ordered list up to date on every read. */
static HOT void touch(struct sockit_conn *c)
{
    c->last = c->w->loop->now;
    if (c->flags & C_GOT_DATA) return;
    if (c->flags & C_LISTED) list_unlink(&c->w->first, c);
    c->flags = (c->flags & ~C_LISTED) | C_GOT_DATA;
}

/* Bytes to the peer: traffic for the idle timeout, but not the peer's first byte (a greeting
 * must not let a silent client escape the first-byte timeout). */
static void touch_out(struct sockit_conn *c)
{
    if (c->flags & C_GOT_DATA) c->last = c->w->loop->now;
}

/* ---- the connection table ------------------------------------------------------------------ */

struct sockit_conn *sockit__conn_alloc(struct worker *w)
{
    uint32_t i;
    if (w->free_head) {
        i = w->free_head;
        w->free_head = at(w, i)->next;
    } else if (w->hwm < w->cap) {
        i = ++w->hwm;
    } else {
        return NULL;
    }
    struct sockit_conn *c = at(w, i);
    uint32_t kicked = c->flags & C_KICKED;
    memset(c, 0, w->stride); /* the protocol's state too */
    c->w = w;
    c->flags = C_OPEN | kicked;
    c->io = &sockit__plain_io;
    c->fd = -1;
    return c;
}

void sockit__conn_release(struct sockit_conn *c)
{
    struct worker *w = c->w;
    uint32_t i = idx(c), kicked = c->flags & C_KICKED;
    q_put(c);
    free(c->in);
    memset(c, 0, sizeof *c);
    c->w = w;
    c->flags = kicked; /* still on the kick list: the entry stays valid, never doubled */
    c->next = w->free_head;
    w->free_head = i;
}

static void kick(struct sockit_conn *c)
{
    struct worker *w = c->w;
    if (c->flags & C_KICKED) return;
    c->flags |= C_KICKED; /* at most once on the list: the list holds cap entries */
    w->kicked[w->nkicked++] = idx(c);
    if (!sockit_timer_active(&w->kick_timer)) sockit_timer_start(w->loop, &w->kick_timer, 0, 0);
}

static void fail(struct sockit_conn *c, int reason)
{
    if (!(c->flags & C_DEAD)) c->reason = reason;
    c->flags |= C_DEAD;
}

/* Closes the fd and gives the slot back; on_close runs first. Never called inside user code. */
static void teardown(struct sockit_conn *c)
{
    struct worker *w = c->w;
    sockit_server *srv = w->srv;
    if (c->flags & C_LISTED) list_unlink(&w->first, c);
    c->flags &= ~C_LISTED;
    sockit_loop_del(w->loop, c->fd);
    if ((c->flags & C_DEAD) && pending(c)) {
        /* Dropping queued output: make it a reset, so the peer knows the stream is cut. */
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    c->flags |= C_CLOSED_CB;
    if (srv->cbs.on_close && !(c->flags & C_HANDSHAKE)) {
        c->flags |= C_IN_CB;
        srv->cbs.on_close(c, c->reason);
    }
    if (c->layer) c->io->free(c->layer, c->fd, !(c->flags & (C_DEAD | C_HANDSHAKE)));
    c->layer = NULL;
    close(c->fd);
    w->nconns--;
    atomic_fetch_sub_explicit(&srv->active, 1, memory_order_relaxed);
    sockit__count(&w->closed, 1);
    sockit__conn_release(c);
}

/* ---- bytes in and out ------------------------------------------------------------------------
 * Both return the count, 0 at end of stream (recv), -EAGAIN when the socket is not ready, or a
 * negative code. The plain socket is inlined; a layer is called through its operations. */

static HOT ssize_t conn_recv(struct sockit_conn *c, char *buf, size_t len)
{
    if (c->layer) {
        ssize_t n = c->io->recv(c->layer, c->fd, buf, len);
        c->flags &= ~C_IO_WANT_W;
        if (n == SOCKIT__IO_WANT_WRITE) {
            c->flags |= C_IO_WANT_W;
            return -EAGAIN;
        }
        return n;
    }
    for (;;) {
        ssize_t n = sockit__sys_recvb(c->fd, buf, len, 0);
        if (n >= 0 || errno != EINTR) return n < 0 ? -errno : n;
    }
}

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

/* ---- reading --------------------------------------------------------------------------------- */

static int reading(const struct sockit_conn *c)
{
    return !(c->flags & (C_PAUSED | C_BACKPR | C_CLOSING | C_EOF | C_DEAD));
}

/* Hands data to on_data and keeps what it did not consume. */
static HOT void deliver(struct sockit_conn *c, char *data, size_t len)
{
    sockit_server *srv = c->w->srv;
    c->flags |= C_IN_CB;
    size_t used = srv->cbs.on_data(c, data, len);
    c->flags &= ~C_IN_CB;
    if (used > len) used = len;
    size_t rest = len - used;
    if (data == c->in) {
        if (rest && used) memmove(c->in, c->in + used, rest);
        c->in_len = (uint32_t)rest;
        if (!rest) {
            free(c->in);
            c->in = NULL;
            c->in_cap = 0;
        }
    } else if (rest) {
        /* in_limit <= UINT32_MAX / 2 (apply_defaults), and rest < read_size or in_limit. */
        size_t limit = srv->cfg.in_limit;
        size_t cap = rest < 4096 ? 4096 : rest;
        if (cap < limit && cap <= limit / 2) cap *= 2;
        if (!(c->in = malloc(cap))) {
            fail(c, -ENOMEM);
            return;
        }
        memcpy(c->in, data + used, rest);
        c->in_len = (uint32_t)rest;
        c->in_cap = (uint32_t)cap;
    }
    if (c->in_len >= srv->cfg.in_limit && !(c->flags & (C_DEAD | C_CLOSING)))
        fail(c, SOCKIT_ETOOLONG);
}

/* Where the next read goes: after held input, growing it up to in_limit, or the worker buffer. */
static HOT char *read_target(struct sockit_conn *c, size_t *room)
{
    struct worker *w = c->w;
    size_t limit = w->srv->cfg.in_limit;
    if (!c->in_len) {
        *room = w->rsize;
        return w->rbuf;
    }
    if (c->in_cap - c->in_len < 1024 && c->in_cap < limit) {
        size_t cap = (size_t)c->in_cap * 2 < limit ? (size_t)c->in_cap * 2 : limit;
        char *n = realloc(c->in, cap);
        if (n) {
            c->in = n;
            c->in_cap = (uint32_t)cap;
        }
    }
    *room = c->in_cap - c->in_len;
    return c->in + c->in_len;
}

/* The peer ended its stream: held input gets its last offer, and what stays unconsumed is
 * reported (SOCKIT_EINCOMPLETE), never dropped silently. */
static void on_eof(struct sockit_conn *c)
{
    sockit_server *srv = c->w->srv;
    c->flags |= C_EOF;
    if (c->in_len && !(c->flags & (C_IN_CB | C_PAUSED | C_DEAD))) deliver(c, c->in, c->in_len);
    if (c->in_len && !(c->flags & C_DEAD)) c->reason = SOCKIT_EINCOMPLETE;
    if (srv->cbs.on_eof && !(c->flags & C_DEAD)) {
        c->flags |= C_IN_CB;
        srv->cbs.on_eof(c);
        c->flags &= ~C_IN_CB;
    } else {
        c->flags |= C_CLOSING;
    }
}

static int layer_pending(const struct sockit_conn *c) { return c->layer && c->io->pending(c->layer); }

static HOT void do_read(struct sockit_conn *c)
{
    struct worker *w = c->w;
    for (int i = 0; i < READS_PER_EVENT && reading(c); i++) {
        size_t room;
        char *buf = read_target(c, &room);
        if (room == 0) {
            fail(c, SOCKIT_ETOOLONG);
            return;
        }
        ssize_t n = conn_recv(c, buf, room);
        if (n == 0) {
            on_eof(c);
            return;
        }
        if (n < 0) {
            if (n != -EAGAIN) fail(c, (int)n);
            return;
        }
        touch(c);
        sockit__count(&w->bytes_in, (uint64_t)n);
        c->flags &= ~C_REOFFER; /* the held input is offered now, with what came */
        if (buf == w->rbuf) {
            deliver(c, buf, (size_t)n);
        } else {
            c->in_len += (uint32_t)n;
            deliver(c, c->in, c->in_len);
        }
        /* Drained: level-triggered readiness will say if not. A layer may hold decrypted bytes
         * the socket cannot announce: keep going while it does. */
        if ((size_t)n < room && !layer_pending(c)) return;
    }
    if (reading(c) && layer_pending(c)) kick(c); /* the rest next round */
}

/* ---- writing --------------------------------------------------------------------------------- */

/* One write from the head of the queue: a file range, or a run of byte segments (writev). */
static ssize_t write_head(struct sockit_conn *c)
{
    struct outq *q = c->out;
    struct seg *s = &q->seg[q->head];
    if (s->kind == SEG_FILE) {
        ssize_t n = c->io->sendfile(c->layer, c->fd, s->fd, (off_t)s->off,
                                    s->len > SIZE_MAX ? SIZE_MAX : (size_t)s->len);
        if (n == 0) {
            sockit__failmsg(-EIO, "sendfile: the file ended %llu bytes early", (unsigned long long)s->len);
            return -EIO;
        }
        return n;
    }
    struct iovec v[IOV_BATCH];
    int n = 0;
    for (uint32_t i = q->head; i < q->n && n < IOV_BATCH && q->seg[i].kind != SEG_FILE; i++, n++)
        v[n] = (struct iovec){q->seg[i].p, (size_t)q->seg[i].len};
    return c->layer || n > 1 ? c->io->sendv(c->layer, c->fd, v, n) : conn_write(c, v[0].iov_base, v[0].iov_len);
}

static void writable_cb(struct sockit_conn *c)
{
    struct worker *w = c->w;
    c->flags &= ~C_NOTIFY_W;
    if (!w->srv->cbs.on_writable || (c->flags & (C_DEAD | C_CLOSING))) return;
    c->flags |= C_IN_CB;
    w->srv->cbs.on_writable(c);
    c->flags &= ~C_IN_CB;
}

static void do_write(struct sockit_conn *c)
{
    struct worker *w = c->w;
    while (pending(c)) {
        ssize_t n = write_head(c);
        if (n < 0) {
            if (n != -EAGAIN && n != SOCKIT__IO_WANT_WRITE) fail(c, (int)n);
            return;
        }
        q_consume(c, (uint64_t)n);
        sockit__count(&w->bytes_out, (uint64_t)n);
        touch_out(c);
    }
    q_put(c); /* drained: an idle connection holds no queue */
    if (c->flags & C_BACKPR) {
        c->flags &= ~C_BACKPR;
        if (c->in_len) { /* reading is back on: offer the input we kept, once */
            c->flags |= C_REOFFER;
            kick(c);
        }
    }
    if (c->flags & C_NOTIFY_W) writable_cb(c);
}

/* A send refused or failed: the code, with its sentence. */
static int send_error(struct sockit_conn *c, int code)
{
    if (code == -EPIPE)
        return sockit__failmsg(-EPIPE, "conn send: the connection is %s",
                               c->flags & C_CLOSED_CB ? "closed (on_close has begun)"
                               : c->flags & C_DEAD    ? "failed or aborted"
                               : c->flags & (C_SHUT | C_SHUT_DONE) ? "shut down for sending"
                                                                   : "closing");
    if (code == -ENOBUFS)
        return sockit__failmsg(-ENOBUFS, "conn send: %zu bytes queued, over 4 x out_limit (%zu): "
                               "wait for on_writable", pending(c), c->w->srv->cfg.out_limit);
    return sockit__fail(code, "conn send");
}

static int send_closed(const struct sockit_conn *c)
{
    return (c->flags & (C_DEAD | C_CLOSING | C_SHUT | C_SHUT_DONE | C_CLOSED_CB)) != 0;
}

/* A write failed in the middle of a send: the stream is torn, close it. */
static int send_torn(struct sockit_conn *c, int code)
{
    fail(c, code);
    kick(c);
    return send_error(c, code);
}

/* Queued output changed: backpressure at the limit, and the drain signal that goes with it. */
static void queued(struct sockit_conn *c)
{
    size_t p = pending(c), limit = c->w->srv->cfg.out_limit;
    if (p >= limit) c->flags |= C_NOTIFY_W; /* "while pending < out_limit" producers stop here */
    if (p > limit) c->flags |= C_BACKPR;
    kick(c);
}

/* The direct path into an empty queue: what the kernel takes now. Returns the count taken or a
 * failure (already recorded). */
static HOT ssize_t send_now(struct sockit_conn *c, const char *p, size_t len)
{
    ssize_t n = conn_write(c, p, len);
    if (n < 0) return n == -EAGAIN ? 0 : send_torn(c, (int)n);
    sockit__count(&c->w->bytes_out, (uint64_t)n);
    touch_out(c);
    return n;
}

static int can_write_now(const struct sockit_conn *c) { return !c->out && !(c->flags & C_HANDSHAKE); }

/* The 4 x out_limit rule: copying len more bytes behind queued ones would hold too much. */
static int over_limit(const struct sockit_conn *c, size_t len)
{
    size_t max = 4 * c->w->srv->cfg.out_limit; /* out_limit <= SIZE_MAX / 8 (apply_defaults) */
    return c->out && c->out->pending && (len > max || c->out->copied > max - len);
}

/* A queue made for a segment that could not be added: do not keep it empty. */
static int queue_failed(struct sockit_conn *c, int torn)
{
    if (c->out && !c->out->pending) q_put(c);
    return torn ? send_torn(c, -ENOMEM) : send_error(c, -ENOMEM);
}

int sockit_conn_send(sockit_conn *c, const void *data, size_t len)
{
    if (send_closed(c)) return send_error(c, -EPIPE);
    if (len == 0) return 0;
    const char *p = data;
    if (can_write_now(c)) {
        ssize_t n = send_now(c, p, len);
        if (n < 0) return (int)n;
        p += n;
        len -= (size_t)n;
        if (len == 0) return 0;
    } else if (over_limit(c, len)) {
        return send_error(c, -ENOBUFS);
    }
    if (q_copy(c, p, len) < 0) return queue_failed(c, 1);
    queued(c);
    return 0;
}

/* The plain socket's direct path for several buffers: one writev. */
static ssize_t sendv_now(struct sockit_conn *c, const struct iovec *iov, int n)
{
    ssize_t k = sockit__plain_sendv(NULL, c->fd, iov, n < IOV_BATCH ? n : IOV_BATCH);
    if (k < 0) return k == -EAGAIN ? 0 : send_torn(c, (int)k);
    sockit__count(&c->w->bytes_out, (uint64_t)k);
    touch_out(c);
    return k;
}

int sockit_conn_sendv(sockit_conn *c, const struct iovec *iov, int n)
{
    if (send_closed(c)) return send_error(c, -EPIPE);
    if (n < 0 || (n > 0 && !iov)) return sockit__failmsg(-EINVAL, "conn sendv: %d buffers", n);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (iov[i].iov_len > SIZE_MAX / 8 - total) return sockit__failmsg(-ENOBUFS, "conn sendv: too many bytes");
        total += iov[i].iov_len;
    }
    if (total == 0) return 0;
    size_t sent = 0;
    if (can_write_now(c)) {
        ssize_t k = c->layer ? send_now(c, iov[0].iov_base, iov[0].iov_len) : sendv_now(c, iov, n);
        if (k < 0) return (int)k;
        if ((sent = (size_t)k) == total) return 0;
    } else if (over_limit(c, total)) {
        return send_error(c, -ENOBUFS);
    }
    size_t skip = sent;
    for (int i = 0; i < n; i++) {
        size_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        if (q_copy(c, (const char *)iov[i].iov_base + skip, l - skip) < 0)
            return queue_failed(c, 1);
        skip = 0;
    }
    queued(c);
    return 0;
}

int sockit_conn_send_borrowed(sockit_conn *c, const void *data, size_t len, void (*release)(void *arg),
                              void *arg)
{
    int r = 0;
    const char *p = data;
    if (send_closed(c)) {
        r = send_error(c, -EPIPE);
        goto done;
    }
    if (len && can_write_now(c)) {
        ssize_t n = send_now(c, p, len);
        if (n < 0) {
            r = (int)n;
            goto done;
        }
        p += n;
        len -= (size_t)n;
    }
    if (len == 0) goto done;
    struct outq *q = c->out ? c->out : q_get(c);
    struct seg *s = q ? seg_push(q) : NULL;
    if (!s) {
        r = queue_failed(c, p != data);
        goto done;
    }
    *s = (struct seg){.kind = SEG_BORROW, .fd = -1, .p = (char *)p, .len = len, .release = release, .arg = arg};
    q->n++;
    q->pending += len;
    queued(c);
    return 0;
done:
    if (release) release(arg);
    return r;
}

int sockit_conn_sendfile(sockit_conn *c, int fd, uint64_t offset, uint64_t length, int flags)
{
    int r;
    if (fd < 0) return sockit__failmsg(-EINVAL, "conn sendfile: fd %d", fd);
    if (flags & SOCKIT_SENDFILE_DUP) {
        int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (d < 0) return sockit__fail(-errno, "conn sendfile: dup fd %d", fd);
        fd = d;
    }
    if (offset > INT64_MAX || length > (uint64_t)INT64_MAX - offset) {
        r = sockit__failmsg(-EINVAL, "conn sendfile: range %llu+%llu", (unsigned long long)offset,
                            (unsigned long long)length);
        goto fail;
    }
    if (send_closed(c)) {
        r = send_error(c, -EPIPE);
        goto fail;
    }
    if (length == 0) {
        close(fd);
        return 0;
    }
    struct outq *q = c->out ? c->out : q_get(c);
    struct seg *s = q ? seg_push(q) : NULL;
    if (!s) {
        r = queue_failed(c, 0);
        goto fail;
    }
    *s = (struct seg){.kind = SEG_FILE, .fd = fd, .len = length, .off = offset};
    q->n++;
    q->pending += length;
    queued(c);
    return 0;
fail:
    close(fd);
    return r;
}

void sockit_conn_want_writable(sockit_conn *c)
{
    c->flags |= C_NOTIFY_W;
    kick(c); /* an empty queue says so at the end of this round */
}

size_t sockit_conn_pending(const sockit_conn *c) { return pending(c); }

int sockit_conn_eof(const sockit_conn *c) { return (c->flags & C_EOF) != 0; }

/* ---- settling: apply what the flags say ------------------------------------------------------- */

static void settle_slow(struct sockit_conn *c);

/* The common case first: an open connection with nothing special going on, watched for what it
 * needs already. */
static inline void settle(struct sockit_conn *c)
{
    uint32_t f = c->flags;
    if ((f & (C_OPEN | C_IN_CB | C_DEAD | C_CLOSING | C_SHUT | C_HANDSHAKE | C_IO_WANT_W | C_PAUSED |
              C_BACKPR | C_EOF)) == C_OPEN &&
        !c->w->stopping && !c->out && (f & (C_WANT_R | C_WANT_W)) == C_WANT_R)
        return;
    settle_slow(c);
}

static void settle_slow(struct sockit_conn *c)
{
    struct worker *w = c->w;
    if (!(c->flags & C_OPEN) || (c->flags & C_IN_CB)) return;
    if ((c->flags & C_DEAD) || ((c->flags & C_CLOSING) && !pending(c))) {
        teardown(c);
        return;
    }
    if ((c->flags & C_SHUT) && !pending(c)) {
        if (c->layer && c->io->shutdown) c->io->shutdown(c->layer, c->fd); /* TLS: close_notify */
        shutdown(c->fd, SHUT_WR);
        c->flags = (c->flags & ~C_SHUT) | C_SHUT_DONE;
        if (c->flags & C_EOF) { /* both directions done */
            teardown(c);
            return;
        }
    }
    if (w->stopping && !pending(c) && !c->in_len && !(c->flags & C_BUSY)) { /* stopping: idle ones go now */
        c->reason = -ESHUTDOWN;
        teardown(c);
        return;
    }
    uint32_t want;
    if (c->flags & C_HANDSHAKE)
        want = (c->flags & C_IO_WANT_W) ? C_WANT_W : C_WANT_R;
    else
        want = (reading(c) ? C_WANT_R : 0) | (pending(c) || (c->flags & C_IO_WANT_W) ? C_WANT_W : 0);
    if (want != (c->flags & (C_WANT_R | C_WANT_W))) {
        int ev = (want & C_WANT_R ? SOCKIT_READABLE : 0) | (want & C_WANT_W ? SOCKIT_WRITABLE : 0);
        int r = sockit_loop_mod(w->loop, c->fd, ev);
        if (r < 0) {
            fail(c, r);
            teardown(c);
            return;
        }
        c->flags = (c->flags & ~(C_WANT_R | C_WANT_W)) | want;
    }
}

/* The end of a round: settle what was kicked. Only the connections on the list when the round
 * began are handled; those kicked meanwhile (a callback resumed or sent) wait for the next round,
 * after the loop has polled — so held input is offered at most once per round and a callback
 * that keeps kicking its own connection cannot starve the loop (or its stop signal). */
void sockit__on_kick(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct worker *w = arg;
    (void)loop, (void)t;
    uint32_t n = w->nkicked;
    for (uint32_t i = 0; i < n; i++) {
        struct sockit_conn *c = at(w, w->kicked[i]);
        if (!(c->flags & C_KICKED)) continue;
        c->flags &= ~C_KICKED;
        if (!(c->flags & C_OPEN) || (c->flags & C_IN_CB)) continue;
        /* Held input is offered again after a resume, also once the peer has ended its stream
         * (with on_eof the connection stays open: a protocol that yielded mid-input still gets
         * the rest, sockit_conn_eof true). */
        if ((c->flags & C_REOFFER) && c->in_len &&
            (reading(c) || (c->flags & (C_EOF | C_PAUSED | C_DEAD | C_CLOSING)) == C_EOF)) {
            c->flags &= ~C_REOFFER;
            deliver(c, c->in, c->in_len);
            if ((c->flags & C_EOF) && !c->in_len && c->reason == SOCKIT_EINCOMPLETE) c->reason = 0;
        }
        /* Bytes the layer decrypted and holds: the socket will not announce them, read them now. */
        if (reading(c) && !(c->flags & C_HANDSHAKE) && layer_pending(c)) do_read(c);
        if (pending(c) && !(c->flags & (C_DEAD | C_HANDSHAKE))) do_write(c);
        else if ((c->flags & C_NOTIFY_W) && !pending(c) && !(c->flags & C_HANDSHAKE)) writable_cb(c);
        settle(c);
    }
    w->nkicked -= n;
    memmove(w->kicked, w->kicked + n, w->nkicked * sizeof *w->kicked);
    if (w->nkicked) sockit_timer_start(w->loop, &w->kick_timer, 0, 0);
}

/* ---- opening ------------------------------------------------------------------------------------ */

/* on_open; a refusal closes the connection without on_close (it was never open for the user). */
static void user_open(struct sockit_conn *c)
{
    sockit_server *srv = c->w->srv;
    if (!srv->cbs.on_open) return;
    c->flags |= C_IN_CB;
    int r = srv->cbs.on_open(c);
    c->flags &= ~C_IN_CB;
    if (r < 0) {
        fail(c, 0);
        c->flags |= C_HANDSHAKE;
    }
}

void sockit__conn_started(struct sockit_conn *c)
{
    c->flags |= C_WANT_R; /* as the loop was told */
    list_append(&c->w->first, c);
    if (c->layer && c->io->handshake) c->flags |= C_HANDSHAKE;
    else user_open(c);
    settle(c);
}

static void do_handshake(struct sockit_conn *c)
{
    int r = c->io->handshake(c->layer, c->fd);
    c->flags &= ~C_IO_WANT_W;
    if (r == 0) {
        c->flags &= ~C_HANDSHAKE;
        user_open(c);
    } else if (r == SOCKIT__IO_WANT_WRITE) {
        c->flags |= C_IO_WANT_W;
    } else if (r != -EAGAIN) {
        sockit__log_limited(c->w, "tls handshake failed", sockit_errmsg());
        fail(c, r);
    }
}

void sockit__conn_event(sockit_loop *loop, int fd, int events, void *arg)
{
    struct sockit_conn *c = arg;
    int handled = 0;
    (void)loop;
    if (c->flags & C_HANDSHAKE) {
        do_handshake(c);
        if (c->flags & (C_HANDSHAKE | C_DEAD)) {
            settle(c);
            return;
        }
        events |= SOCKIT_READABLE; /* application data may have come with the last flight */
        if (c->out) events |= SOCKIT_WRITABLE; /* on_open queued a greeting */
    }
    if ((events & SOCKIT_WRITABLE) && c->out) {
        do_write(c);
        handled = 1;
    }
    if ((events & SOCKIT_WRITABLE) && (c->flags & C_IO_WANT_W) && reading(c)) {
        do_read(c); /* a layer's read that needed to write first */
        handled = 1;
    }
    if ((events & (SOCKIT_READABLE | SOCKIT_HUP | SOCKIT_ERROR)) && reading(c)) {
        do_read(c);
        handled = 1;
    }
    if (!handled && (events & (SOCKIT_HUP | SOCKIT_ERROR))) {
        /* Not reading (paused) and nothing to write, yet the socket hung up: find out why, or the
         * level-triggered report would spin. */
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) fail(c, -err);
        else if (!(c->flags & C_EOF)) on_eof(c);
        else fail(c, 0);
    }
    settle(c);
}

/* ---- timeouts and stopping ----------------------------------------------------------------- */

/* The first-byte list is in accept order: expire from its head until one is young enough. */
static void expire_first(struct worker *w, double timeout)
{
    int64_t limit = w->loop->now - sockit__secs_ns(timeout);
    while (w->first.head) {
        struct sockit_conn *c = at(w, w->first.head);
        if (c->last > limit) break;
        sockit__count(&w->timed_out, 1);
        fail(c, -ETIMEDOUT);
        teardown(c);
    }
}

/* Idle connections: one walk over the table per sweep (a few per timeout). */
static void expire_idle(struct worker *w, double timeout)
{
    int64_t limit = w->loop->now - sockit__secs_ns(timeout);
    for (uint32_t i = 1; i <= w->hwm; i++) {
        struct sockit_conn *c = at(w, i);
        if ((c->flags & (C_OPEN | C_GOT_DATA | C_IN_CB)) != (C_OPEN | C_GOT_DATA) || c->last > limit)
            continue;
        sockit__count(&w->timed_out, 1);
        fail(c, -ETIMEDOUT);
        teardown(c);
    }
}

/* Timeouts are > 0 or off (< 0) once the server has its defaults. */
void sockit__sweep(struct worker *w)
{
    const sockit_server_config *cfg = &w->srv->cfg;
    double first = cfg->first_byte_timeout > 0 ? cfg->first_byte_timeout : cfg->idle_timeout;
    if (first > 0) expire_first(w, first);
    if (cfg->idle_timeout > 0) expire_idle(w, cfg->idle_timeout);
}

/* Stopping: idle connections close now; busy ones when they are done. */
void sockit__conn_settle_all(struct worker *w)
{
    for (uint32_t i = 1; i <= w->hwm; i++) {
        struct sockit_conn *c = at(w, i);
        if (c->flags & C_OPEN) settle(c);
    }
}

/* The grace is over (or the worker failed): everything closes, -ESHUTDOWN. */
void sockit__conn_close_all(struct worker *w)
{
    for (uint32_t i = 1; i <= w->hwm; i++) {
        struct sockit_conn *c = at(w, i);
        if (!(c->flags & C_OPEN)) continue;
        c->flags &= ~C_IN_CB;
        fail(c, -ESHUTDOWN);
        teardown(c);
    }
}

void sockit__worker_free_spares(struct worker *w)
{
    while (w->spare_q) {
        struct outq *q = w->spare_q;
        w->spare_q = q->next_spare;
        if (q->seg != q->seg_in) free(q->seg);
        free(q);
    }
    while (w->spare_chunks) {
        void *b = w->spare_chunks;
        w->spare_chunks = *(void **)b;
        free(b);
    }
    w->nspare_q = w->nspare_chunks = 0;
}

/* ---- small accessors ------------------------------------------------------------------------------ */

void sockit_conn_close(sockit_conn *c)
{
    c->flags |= C_CLOSING;
    kick(c);
}

void sockit_conn_abort(sockit_conn *c)
{
    fail(c, 0);
    kick(c);
}

void sockit_conn_shutdown(sockit_conn *c)
{
    if (!(c->flags & C_SHUT_DONE)) c->flags |= C_SHUT;
    kick(c);
}

void sockit_conn_set_busy(sockit_conn *c, int busy)
{
    if (busy) {
        c->flags |= C_BUSY;
        return;
    }
    c->flags &= ~C_BUSY;
    if (c->w->stopping) kick(c); /* idle now: a stopping server closes it */
}

void sockit_conn_pause(sockit_conn *c)
{
    c->flags |= C_PAUSED;
    kick(c);
}

void sockit_conn_resume(sockit_conn *c)
{
    if (!(c->flags & C_PAUSED)) return; /* nothing changes: nothing to offer again */
    c->flags = (c->flags & ~C_PAUSED) | C_REOFFER;
    kick(c); /* held input is offered again at the end of this round */
}

int sockit_conn_fd(const sockit_conn *c) { return c->fd; }
void sockit_conn_set_data(sockit_conn *c, void *data) { c->data = data; }
void *sockit_conn_data(const sockit_conn *c) { return c->data; }
sockit_server *sockit_conn_server(const sockit_conn *c) { return c->w->srv; }
sockit_loop *sockit_conn_loop(const sockit_conn *c) { return c->w->loop; }

void *sockit_conn_state(const sockit_conn *c)
{
    if (!c->w->srv->cfg.conn_state_size) return NULL;
    return (char *)c + ((sizeof *c + 15) & ~(size_t)15);
}

int sockit_conn_peer(const sockit_conn *c, sockit_addr *out)
{
    memset(out, 0, sizeof *out);
    out->len = sizeof out->sa;
    if (getpeername(c->fd, (struct sockaddr *)&out->sa, &out->len) < 0)
        return sockit__fail(-errno, "getpeername");
    return 0;
}

const char *sockit_conn_tls_alpn(const sockit_conn *c)
{
    static _Thread_local char buf[256];
    if (!c->layer) return NULL;
    return c->io->query(c->layer, SOCKIT__IO_ALPN, buf, sizeof buf) < 0 ? NULL : buf;
}

int sockit_conn_tls_peer_subject(const sockit_conn *c, char *buf, size_t len)
{
    if (!c->layer) return sockit__failmsg(-EINVAL, "conn tls peer subject: not a TLS connection");
    if (len) buf[0] = 0;
    return (int)c->io->query(c->layer, SOCKIT__IO_PEER_SUBJECT, buf, len);
}

ssize_t sockit_conn_tls_peer_cert(const sockit_conn *c, void *der, size_t len)
{
    if (!c->layer) return sockit__failmsg(-EINVAL, "conn tls peer cert: not a TLS connection");
    return c->io->query(c->layer, SOCKIT__IO_PEER_DER, der, len);
}
