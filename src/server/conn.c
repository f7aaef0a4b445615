/*
 * The connection engine of the event-driven server: the connection table, reading into on_data,
 * settling, timeouts, and the public sockit_conn_* calls other than sending (output.c).
 *
 * A connection's life: accept -> on_open -> (read -> on_data -> send/queue)* -> close -> on_close.
 * Teardown never happens inside user code: public calls only set flags and "kick" the connection;
 * the worker settles it (closes, shuts down, changes what the loop watches) after the callback
 * returns or at the end of the round. That makes every conn call safe in every callback.
 *
 * Bytes move through the connection's I/O operations (internal/conn_io.h): the plain socket,
 * inlined here on the hot path, or a layer such as TLS.
 */
#include "internal/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READS_PER_EVENT 4

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
    sockit__outq_drop(c);
    free(c->in);
    memset(c, 0, sizeof *c);
    c->w = w;
    c->flags = kicked; /* still on the kick list: the entry stays valid, never doubled */
    c->next = w->free_head;
    w->free_head = i;
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

void sockit__conn_kick(struct sockit_conn *c)
{
    struct worker *w = c->w;
    if (c->flags & C_KICKED) return;
    c->flags |= C_KICKED; /* at most once on the list: the list holds cap entries */
    w->kicked[w->nkicked++] = idx(c);
    if (!sockit_timer_active(&w->kick_timer)) sockit_timer_start(w->loop, &w->kick_timer, 0, 0);
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
    if (reading(c) && layer_pending(c)) sockit__conn_kick(c); /* the rest next round */
}

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
    if (w->stopping && !pending(c) && !c->in_len && !(c->flags & C_BUSY)) { /* stopping: idle connections go now */
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
        if (pending(c) && !(c->flags & (C_DEAD | C_HANDSHAKE))) sockit__conn_write_out(c);
        else if ((c->flags & C_NOTIFY_W) && !pending(c) && !(c->flags & C_HANDSHAKE)) sockit__conn_writable(c);
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
        sockit__conn_write_out(c);
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

/* ---- small accessors ------------------------------------------------------------------------------ */

void sockit_conn_close(sockit_conn *c)
{
    c->flags |= C_CLOSING;
    sockit__conn_kick(c);
}

void sockit_conn_abort(sockit_conn *c)
{
    fail(c, 0);
    sockit__conn_kick(c);
}

void sockit_conn_shutdown(sockit_conn *c)
{
    if (!(c->flags & C_SHUT_DONE)) c->flags |= C_SHUT;
    sockit__conn_kick(c);
}

void sockit_conn_set_busy(sockit_conn *c, int busy)
{
    if (busy) {
        c->flags |= C_BUSY;
        return;
    }
    c->flags &= ~C_BUSY;
    if (c->w->stopping) sockit__conn_kick(c); /* idle now: a stopping server closes it */
}

void sockit_conn_pause(sockit_conn *c)
{
    c->flags |= C_PAUSED;
    sockit__conn_kick(c);
}

void sockit_conn_resume(sockit_conn *c)
{
    if (!(c->flags & C_PAUSED)) return; /* nothing changes: nothing to offer again */
    c->flags = (c->flags & ~C_PAUSED) | C_REOFFER;
    sockit__conn_kick(c); /* held input is offered again at the end of this round */
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
