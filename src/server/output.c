/*
 * The output side of a connection: its queue of segments — bytes copied into reused 16 KiB
 * chunks, bytes lent by the caller (released by a callback once sent), file ranges (sendfile(2),
 * or read and encrypted by a layer) — written from the head with writev and sendfile, and the
 * public sends that fill it. The drain signal (on_writable) is given from here.
 */
#include "internal/conn.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IOV_BATCH 64          /* segments per writev */
#define CHUNK 16384           /* copy chunk: copied output is kept in these */
#define SPARE_CHUNKS 128      /* per worker, kept for reuse (2 MiB) */
#define SPARE_QUEUES 256

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
void sockit__outq_drop(struct sockit_conn *c)
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

void sockit__conn_writable(struct sockit_conn *c)
{
    struct worker *w = c->w;
    c->flags &= ~C_NOTIFY_W;
    if (!w->srv->cbs.on_writable || (c->flags & (C_DEAD | C_CLOSING))) return;
    c->flags |= C_IN_CB;
    w->srv->cbs.on_writable(c);
    c->flags &= ~C_IN_CB;
}

void sockit__conn_write_out(struct sockit_conn *c)
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
    sockit__outq_drop(c); /* drained: an idle connection holds no queue */
    if (c->flags & C_BACKPR) {
        c->flags &= ~C_BACKPR;
        if (c->in_len) { /* reading is back on: offer the input we kept, once */
            c->flags |= C_REOFFER;
            sockit__conn_kick(c);
        }
    }
    if (c->flags & C_NOTIFY_W) sockit__conn_writable(c);
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
    sockit__conn_kick(c);
    return send_error(c, code);
}

/* Queued output changed: backpressure at the limit, and the drain signal that goes with it. */
static void queued(struct sockit_conn *c)
{
    size_t p = pending(c), limit = c->w->srv->cfg.out_limit;
    if (p >= limit) c->flags |= C_NOTIFY_W; /* "while pending < out_limit" producers stop here */
    if (p > limit) c->flags |= C_BACKPR;
    sockit__conn_kick(c);
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
    if (c->out && !c->out->pending) sockit__outq_drop(c);
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
        int i = 0;
        while (c->layer && iov[i].iov_len == 0) i++; /* a layer writes one buffer: a non-empty one */
        ssize_t k = c->layer ? send_now(c, iov[i].iov_base, iov[i].iov_len) : sendv_now(c, iov, n);
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

/* Queues one segment (lent bytes or a file range) at the tail. 0, or -ENOMEM with its message
 * (torn: part of the caller's bytes went out directly, so the connection ends). */
static int q_append(struct sockit_conn *c, const struct seg *seg, int torn)
{
    struct outq *q = c->out ? c->out : q_get(c);
    struct seg *s = q ? seg_push(q) : NULL;
    if (!s) return queue_failed(c, torn);
    *s = *seg;
    q->n++;
    q->pending += seg->len;
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
    struct seg lent = {.kind = SEG_BORROW, .fd = -1, .p = (char *)p, .len = len, .release = release, .arg = arg};
    if ((r = q_append(c, &lent, p != data)) == 0) return 0;
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
    struct seg range = {.kind = SEG_FILE, .fd = fd, .len = length, .off = offset};
    if ((r = q_append(c, &range, 0)) == 0) return 0;
fail:
    close(fd);
    return r;
}

void sockit_conn_want_writable(sockit_conn *c)
{
    c->flags |= C_NOTIFY_W;
    sockit__conn_kick(c); /* an empty queue says so at the end of this round */
}

size_t sockit_conn_pending(const sockit_conn *c) { return pending(c); }

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

