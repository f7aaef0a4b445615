/*
 * The server core, event-driven mode: workers, accept, the connection life cycle.
 *
 * A connection's life: accept -> on_open -> (read -> on_data -> send/queue)* -> close -> on_close.
 * Teardown never happens inside user code: public calls only set flags and "kick" the connection;
 * the worker settles it (closes, shuts down, changes what the loop watches) after the callback
 * returns or at the end of the round. That makes every conn call safe in every callback.
 */
#include "internal/server.h"
#include "internal/tls.h"
#include "internal/sys.h"

#include <openssl/err.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
    C_KICKED = 1 << 10,   /* on the worker's kick list */
    C_WANT_R = 1 << 11,   /* what the loop watches now */
    C_WANT_W = 1 << 12,
    C_NOTIFY_W = 1 << 13, /* call on_writable when the queue drains */
    C_LISTED = 1 << 14,   /* on an activity list */
    C_HANDSHAKE = 1 << 15, /* TLS handshake not done yet: not open for the user */
    C_TLS_WANT_W = 1 << 16, /* TLS needs the socket writable to make progress */
};

/* The per-event path (read -> on_data -> send) is a chain of small functions: inline them into
 * the event handler, which callgrind shows saves ~15% of the instructions per round trip. */
#define HOT inline __attribute__((always_inline))

#define READS_PER_EVENT 4
#define ACCEPTS_PER_EVENT 64
#define DGRAMS_PER_EVENT 64

static void on_conn_event(sockit_loop *loop, int fd, int events, void *arg);
static void settle(struct sockit_conn *c);

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

/* ---- activity lists (intrusive, by index + 1) ------------------------------------------------ */

static uint32_t idx(const struct sockit_conn *c) { return (uint32_t)(c - c->w->conns) + 1; }
static struct sockit_conn *at(struct worker *w, uint32_t i) { return &w->conns[i - 1]; }

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

static struct sockit_conn *conn_alloc(struct worker *w)
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
    memset(c, 0, sizeof *c);
    c->w = w;
    c->flags = C_OPEN;
    return c;
}

static void conn_release(struct sockit_conn *c)
{
    struct worker *w = c->w;
    uint32_t i = idx(c);
    free(c->out);
    free(c->in);
    memset(c, 0, sizeof *c);
    c->w = w;
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
    if ((c->flags & C_DEAD) && c->out_len > c->out_off) {
        /* Dropping queued output: make it a reset, so the peer knows the stream is cut. */
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    if (srv->cbs.on_close && !(c->flags & C_HANDSHAKE)) {
        c->flags |= C_IN_CB;
        srv->cbs.on_close(c, c->reason);
    }
    if (c->tls) {
        if (!(c->flags & (C_DEAD | C_HANDSHAKE))) SSL_shutdown(c->tls->ssl); /* close_notify, best effort */
        ERR_clear_error();
        sockit__tls_state_free(c->tls);
        c->tls = NULL;
    }
    close(c->fd);
    w->nconns--;
    atomic_fetch_sub_explicit(&srv->active, 1, memory_order_relaxed);
    sockit__count(&w->closed, 1);
    conn_release(c);
}

static void kick(struct sockit_conn *c)
{
    struct worker *w = c->w;
    if (c->flags & C_KICKED) return;
    if (w->nkicked == w->kicked_cap) {
        uint32_t cap = w->kicked_cap ? w->kicked_cap * 2 : 64;
        uint32_t *k = realloc(w->kicked, cap * sizeof *k);
        if (!k) { /* cannot queue: the next event or sweep on this conn settles it */
            return;
        }
        w->kicked = k;
        w->kicked_cap = cap;
    }
    c->flags |= C_KICKED;
    w->kicked[w->nkicked++] = idx(c);
    if (!sockit_timer_active(&w->kick_timer)) sockit_timer_start(w->loop, &w->kick_timer, 0, 0);
}

/* ---- bytes in and out: plain syscalls or TLS ----------------------------------------------------
 * Both return the count, 0 at end of stream (recv), -EAGAIN when the socket is not ready, or a
 * negative code. */

static ssize_t tls_result(struct sockit_conn *c, int r, size_t done)
{
    if (r == 1) return (ssize_t)done;
    int err = SSL_get_error(c->tls->ssl, r);
    c->flags &= ~C_TLS_WANT_W;
    switch (err) {
    case SSL_ERROR_WANT_READ: return -EAGAIN;
    case SSL_ERROR_WANT_WRITE: c->flags |= C_TLS_WANT_W; return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_SYSCALL: ERR_clear_error(); return errno ? -errno : 0;
    default: ERR_clear_error(); return SOCKIT_ETLS;
    }
}

static HOT ssize_t conn_recv(struct sockit_conn *c, char *buf, size_t len)
{
    if (c->tls) {
        size_t done = 0;
        errno = 0;
        int r = SSL_read_ex(c->tls->ssl, buf, len, &done); /* before done is read */
        return tls_result(c, r, done);
    }
    for (;;) {
        ssize_t n = sockit__sys_recvb(c->fd, buf, len, 0);
        if (n >= 0 || errno != EINTR) return n < 0 ? -errno : n;
    }
}

static HOT ssize_t conn_write(struct sockit_conn *c, const char *buf, size_t len)
{
    if (c->tls) {
        size_t done = 0;
        errno = 0;
        int ok = SSL_write_ex(c->tls->ssl, buf, len, &done);
        ssize_t r = tls_result(c, ok, done);
        return r == 0 ? -EPIPE : r;
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

static void fail(struct sockit_conn *c, int reason)
{
    if (!(c->flags & C_DEAD)) c->reason = reason;
    c->flags |= C_DEAD;
}

/* Hands data to on_data and keeps what it did not consume. */
static HOT void deliver(struct sockit_conn *c, const char *data, size_t len)
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
        uint32_t cap = rest < 4096 ? 4096 : (uint32_t)rest;
        if (cap < srv->cfg.in_limit && cap * 2 <= srv->cfg.in_limit) cap *= 2;
        if (!(c->in = malloc(cap))) {
            fail(c, -ENOMEM);
            return;
        }
        memcpy(c->in, data + used, rest);
        c->in_len = (uint32_t)rest;
        c->in_cap = cap;
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
        size_t cap = c->in_cap * 2 < limit ? c->in_cap * 2 : limit;
        char *n = realloc(c->in, cap);
        if (n) {
            c->in = n;
            c->in_cap = (uint32_t)cap;
        }
    }
    *room = c->in_cap - c->in_len;
    return c->in + c->in_len;
}

static void on_eof(struct sockit_conn *c)
{
    sockit_server *srv = c->w->srv;
    c->flags |= C_EOF;
    if (srv->cbs.on_eof) {
        c->flags |= C_IN_CB;
        srv->cbs.on_eof(c);
        c->flags &= ~C_IN_CB;
    } else {
        c->flags |= C_CLOSING;
    }
}

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
        if (buf == w->rbuf) {
            deliver(c, buf, (size_t)n);
        } else {
            c->in_len += (uint32_t)n;
            deliver(c, c->in, c->in_len);
        }
        /* Drained: level-triggered readiness will say if not. TLS may hold decrypted bytes the
         * socket cannot announce: keep going while it does. */
        if ((size_t)n < room && !(c->tls && SSL_has_pending(c->tls->ssl))) return;
    }
    if (c->tls && reading(c) && SSL_has_pending(c->tls->ssl)) kick(c); /* the rest next round */
}

/* ---- writing --------------------------------------------------------------------------------- */

static size_t pending(const struct sockit_conn *c) { return c->out_len - c->out_off; }

static void do_write(struct sockit_conn *c)
{
    struct worker *w = c->w;
    while (pending(c)) {
        ssize_t n = conn_write(c, c->out + c->out_off, pending(c));
        if (n < 0) {
            if (n != -EAGAIN) fail(c, (int)n);
            return;
        }
        c->out_off += (uint32_t)n;
        sockit__count(&w->bytes_out, (uint64_t)n);
        touch_out(c);
    }
    free(c->out); /* drained: an idle connection holds no buffer */
    c->out = NULL;
    c->out_off = c->out_len = c->out_cap = 0;
    c->flags &= ~C_BACKPR;
    if (c->in_len) kick(c); /* reading is back on: offer the input we kept */
    if ((c->flags & C_NOTIFY_W) && w->srv->cbs.on_writable && !(c->flags & (C_DEAD | C_CLOSING))) {
        c->flags &= ~C_NOTIFY_W;
        c->flags |= C_IN_CB;
        w->srv->cbs.on_writable(c);
        c->flags &= ~C_IN_CB;
    }
}

int sockit_conn_send(sockit_conn *c, const void *data, size_t len)
{
    struct worker *w = c->w;
    size_t limit = w->srv->cfg.out_limit;
    if (c->flags & (C_DEAD | C_CLOSING | C_SHUT | C_SHUT_DONE)) return -EPIPE;
    if (len == 0) return 0;
    if (len > UINT32_MAX / 2 - pending(c)) return -ENOBUFS; /* the queue counts in 32 bits; nothing sent */
    const char *p = data;
    if (!pending(c) && !(c->flags & C_HANDSHAKE)) {
        ssize_t n = conn_write(c, p, len);
        if (n < 0 && n != -EAGAIN) {
            int e = (int)n;
            fail(c, e);
            kick(c);
            return e;
        }
        if (n > 0) {
            sockit__count(&w->bytes_out, (uint64_t)n);
            touch_out(c);
            p += n;
            len -= (size_t)n;
        }
        if (len == 0) return 0;
    } else if (pending(c) + len > 4 * limit) {
        return -ENOBUFS;
    }
    if (c->out_len + len > c->out_cap) { /* compact, then grow */
        size_t have = pending(c);
        if (c->out_off) {
            memmove(c->out, c->out + c->out_off, have);
            c->out_off = 0;
            c->out_len = (uint32_t)have;
        }
        if (have + len > c->out_cap) {
            size_t cap = c->out_cap ? c->out_cap : 4096;
            while (cap < have + len) cap *= 2;
            char *n = realloc(c->out, cap);
            if (!n) { /* part may be sent already: the stream is torn, close it */
                fail(c, -ENOMEM);
                kick(c);
                return -ENOMEM;
            }
            c->out = n;
            c->out_cap = (uint32_t)cap;
        }
    }
    memcpy(c->out + c->out_len, p, len);
    c->out_len += (uint32_t)len;
    if (pending(c) > limit) c->flags |= C_BACKPR | C_NOTIFY_W;
    kick(c);
    return 0;
}

size_t sockit_conn_pending(const sockit_conn *c) { return pending(c); }

/* ---- settling: apply what the flags say ------------------------------------------------------- */

static void settle_slow(struct sockit_conn *c);

/* The common case first: an open connection with nothing special going on, watched for what it
 * needs already. */
static inline void settle(struct sockit_conn *c)
{
    uint32_t f = c->flags;
    if ((f & (C_OPEN | C_IN_CB | C_DEAD | C_CLOSING | C_SHUT | C_HANDSHAKE | C_TLS_WANT_W | C_PAUSED |
              C_BACKPR | C_EOF)) == C_OPEN &&
        !c->w->stopping && !pending(c) && (f & (C_WANT_R | C_WANT_W)) == C_WANT_R)
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
        if (c->tls) { /* the TLS half-close: close_notify first (best effort, non-blocking) */
            SSL_shutdown(c->tls->ssl);
            ERR_clear_error();
        }
        shutdown(c->fd, SHUT_WR);
        c->flags = (c->flags & ~C_SHUT) | C_SHUT_DONE;
        if (c->flags & C_EOF) { /* both directions done */
            teardown(c);
            return;
        }
    }
    if (w->stopping && !pending(c) && !c->in_len) { /* stopping: idle connections go now */
        c->reason = -ESHUTDOWN;
        teardown(c);
        return;
    }
    uint32_t want;
    if (c->flags & C_HANDSHAKE)
        want = (c->flags & C_TLS_WANT_W) ? C_WANT_W : C_WANT_R;
    else
        want = (reading(c) ? C_WANT_R : 0) | (pending(c) || (c->flags & C_TLS_WANT_W) ? C_WANT_W : 0);
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

static void on_kick(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct worker *w = arg;
    /* Settling may kick again (a callback sends): the loop also runs over what is added meanwhile. */
    for (uint32_t i = 0; i < w->nkicked; i++) {
        struct sockit_conn *c = at(w, w->kicked[i]);
        if (!(c->flags & C_OPEN) || !(c->flags & C_KICKED)) continue;
        c->flags &= ~C_KICKED;
        if (c->in_len && reading(c) && !(c->flags & C_IN_CB)) deliver(c, c->in, c->in_len);
        /* Bytes OpenSSL decrypted and holds: the socket will not announce them, read them now. */
        if (c->tls && reading(c) && !(c->flags & C_IN_CB) && SSL_has_pending(c->tls->ssl)) do_read(c);
        if (pending(c) && !(c->flags & C_DEAD)) do_write(c);
        settle(c);
    }
    w->nkicked = 0;
}

static void do_handshake(struct sockit_conn *c);

static void on_conn_event(sockit_loop *loop, int fd, int events, void *arg)
{
    struct sockit_conn *c = arg;
    int handled = 0;
    if (c->flags & C_HANDSHAKE) {
        do_handshake(c);
        if (c->flags & (C_HANDSHAKE | C_DEAD)) {
            settle(c);
            return;
        }
        events |= SOCKIT_READABLE; /* application data may have come with the last flight */
    }
    if ((events & SOCKIT_WRITABLE) && pending(c)) {
        do_write(c);
        handled = 1;
    }
    if ((events & SOCKIT_WRITABLE) && (c->flags & C_TLS_WANT_W) && reading(c)) {
        do_read(c); /* a TLS read that needed to write first */
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

/* ---- accepting --------------------------------------------------------------------------------- */

static void log_limited(struct worker *w, const char *what, const char *why);

static void refuse(struct worker *w, int fd, const char *why)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    sockit__count(&w->refused, 1);
    log_limited(w, "refused a connection", why);
}

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

/* A log line at most once a second per worker, counting the ones held back. */
static void log_limited(struct worker *w, const char *what, const char *why)
{
    int64_t now = w->loop->now;
    if (now - w->last_refusal_log >= 1000000000) {
        sockit__server_log(w->srv, "%s: %s (%llu more since last said)", what, why,
                           (unsigned long long)w->refusals_unlogged);
        w->last_refusal_log = now;
        w->refusals_unlogged = 0;
    } else {
        w->refusals_unlogged++;
    }
}

static void do_handshake(struct sockit_conn *c)
{
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(c->tls->ssl);
    if (r == 1) {
        c->flags &= ~(C_HANDSHAKE | C_TLS_WANT_W);
        user_open(c);
        return;
    }
    unsigned long e = ERR_peek_last_error();
    ssize_t res = tls_result(c, r, 0);
    if (res == -EAGAIN) return;
    char why[160];
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    snprintf(why, sizeof why, "%s", reason ? reason : res < 0 ? sockit_strerror((int)res)
                                                               : "the peer closed the connection");
    log_limited(c->w, "tls handshake failed", why);
    fail(c, res < 0 ? (int)res : SOCKIT_ETLS);
}

static void open_conn(struct worker *w, int fd)
{
    sockit_server *srv = w->srv;
    uint64_t active = atomic_fetch_add_explicit(&srv->active, 1, memory_order_relaxed);
    struct sockit_conn *c = active < (uint64_t)srv->cfg.max_conns ? conn_alloc(w) : NULL;
    if (!c) {
        atomic_fetch_sub_explicit(&srv->active, 1, memory_order_relaxed);
        char why[64];
        snprintf(why, sizeof why, "connection limit %d reached", srv->cfg.max_conns);
        refuse(w, fd, why);
        return;
    }
    c->fd = fd;
    c->last = w->loop->now;
    w->nconns++;
    sockit__count(&w->accepted, 1);
    if (sockit_loop_add(w->loop, fd, SOCKIT_READABLE, on_conn_event, c) < 0) {
        sockit__server_log(srv, "%s", sockit_errmsg());
        close(fd);
        w->nconns--;
        atomic_fetch_sub_explicit(&srv->active, 1, memory_order_relaxed);
        conn_release(c);
        return;
    }
    c->flags |= C_WANT_R | C_LISTED;
    list_append(&w->first, c);
    if (srv->cfg.tls) {
        c->tls = sockit__tls_state_new(srv->cfg.tls, fd, 1, "client");
        if (!c->tls) {
            fail(c, -ENOMEM);
            c->flags |= C_HANDSHAKE; /* never opened for the user */
        } else {
            SSL_set_accept_state(c->tls->ssl);
            c->flags |= C_HANDSHAKE;
        }
        settle(c);
        return;
    }
    user_open(c);
    settle(c);
}

static void on_accept(sockit_loop *loop, int lfd, int events, void *arg)
{
    struct worker *w = arg;
    int threaded = w->srv->cfg.threads > 0;
    for (int i = 0; i < ACCEPTS_PER_EVENT && !w->stopping; i++) {
        sockit_addr peer = {.len = sizeof peer.sa};
        int fd = accept4(lfd, (struct sockaddr *)&peer.sa, &peer.len,
                         SOCK_CLOEXEC | (threaded ? 0 : SOCK_NONBLOCK));
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors or memory: the listener stays readable, so stop watching it
                 * for a moment instead of spinning, and say so (at most once a second). */
                char why[96];
                snprintf(why, sizeof why, "%s (open connections: %u); pausing accept for 100 ms",
                         sockit_strerror(-errno), w->nconns);
                log_limited(w, "accept", why);
                sockit_loop_mod(w->loop, lfd, 0);
                sockit_timer_start(w->loop, &w->accept_timer, 0.1, 0);
            }
            return; /* EAGAIN: the loop reports the listener again when a peer arrives */
        }
        if (!threaded) {
            open_conn(w, fd);
        } else if (sockit__pool_offer(w->srv, fd, &peer) < 0) {
            char why[96];
            if (atomic_load_explicit(&w->srv->active, memory_order_relaxed) >= (uint64_t)w->srv->cfg.max_conns)
                snprintf(why, sizeof why, "connection limit %d reached", w->srv->cfg.max_conns);
            else
                snprintf(why, sizeof why, "all %d threads busy and %d queued", w->srv->cfg.threads,
                         w->srv->cfg.queue);
            refuse(w, fd, why);
        } else {
            sockit__count(&w->accepted, 1);
        }
    }
}

/* ---- datagrams ---------------------------------------------------------------------------------- */

ssize_t sockit_dgram_sendto(sockit_dgram *d, const void *data, size_t len, const sockit_addr *to)
{
    for (;;) {
        ssize_t n = sendto(d->w->lfd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT,
                           (const struct sockaddr *)&to->sa, to->len);
        if (n >= 0) {
            sockit__count(&d->w->bytes_out, (uint64_t)n);
            return n;
        }
        if (errno != EINTR) return sockit__fail(-errno, "sendto");
    }
}

ssize_t sockit_dgram_reply(sockit_dgram *d, const void *data, size_t len)
{
    return sockit_dgram_sendto(d, data, len, d->from);
}

sockit_server *sockit_dgram_server(const sockit_dgram *d) { return d->w->srv; }

static void on_datagram_ready(sockit_loop *loop, int fd, int events, void *arg)
{
    struct worker *w = arg;
    sockit_addr from;
    sockit_dgram d = {w, &from};
    for (int i = 0; i < DGRAMS_PER_EVENT; i++) {
        from.len = sizeof from.sa;
        ssize_t n = recvfrom(fd, w->rbuf, w->rsize, MSG_DONTWAIT, (struct sockaddr *)&from.sa, &from.len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return; /* EAGAIN; or an ICMP error from an earlier reply: nothing to do here */
        }
        sockit__count(&w->accepted, 1);
        sockit__count(&w->bytes_in, (uint64_t)n);
        w->srv->cbs.on_datagram(&d, w->rbuf, (size_t)n, &from);
    }
}

/* ---- timeouts and stopping -------------------------------------------------------------------- */

/* The first-byte list is in accept order: expire from its head until one is young enough. */
static void expire_first(struct worker *w, double timeout)
{
    int64_t limit = w->loop->now - (int64_t)(timeout * 1e9);
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
    int64_t limit = w->loop->now - (int64_t)(timeout * 1e9);
    for (uint32_t i = 1; i <= w->hwm; i++) {
        struct sockit_conn *c = at(w, i);
        if ((c->flags & (C_OPEN | C_GOT_DATA | C_IN_CB)) != (C_OPEN | C_GOT_DATA) || c->last > limit)
            continue;
        sockit__count(&w->timed_out, 1);
        fail(c, -ETIMEDOUT);
        teardown(c);
    }
}

static void on_sweep(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct worker *w = arg;
    const sockit_server_config *cfg = &w->srv->cfg;
    double first = cfg->first_byte_timeout > 0 ? cfg->first_byte_timeout : cfg->idle_timeout;
    if (first > 0) expire_first(w, first);
    if (cfg->idle_timeout > 0) expire_idle(w, cfg->idle_timeout);
}

static void on_grace(sockit_loop *loop, sockit_timer *t, void *arg) { (void)arg; }

static void on_accept_again(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct worker *w = arg;
    if (w->lfd >= 0 && !w->stopping) sockit_loop_mod(loop, w->lfd, SOCKIT_READABLE);
}

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
    double grace = srv->cfg.stop_grace;
    w->grace_deadline = w->loop->now + (int64_t)(grace * 1e9);
    sockit_timer_start(w->loop, &w->grace_timer, grace, 0);
    for (uint32_t i = 1; i <= w->hwm; i++) {
        struct sockit_conn *c = at(w, i);
        if (c->flags & C_OPEN) settle(c); /* idle ones close now; busy ones when they are done */
    }
}

static void close_all(struct worker *w)
{
    for (uint32_t i = 1; i <= w->hwm; i++) {
        struct sockit_conn *c = at(w, i);
        if (!(c->flags & C_OPEN)) continue;
        c->flags &= ~C_IN_CB;
        fail(c, -ESHUTDOWN);
        teardown(c);
    }
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
    close_all(w);
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
    int r = sockit_loop_new(&w->loop, SOCKIT_LOOP_DEFAULT);
    if (r < 0) return r;
    w->rsize = srv->cfg.read_size;
    w->rbuf = malloc(w->rsize);
    w->cap = (uint32_t)srv->cfg.max_conns;
    /* Reserved, not touched: pages are only faulted in as connections use them. */
    int streams = srv->type != SOCK_DGRAM && srv->cfg.threads <= 0;
    w->conns = streams ? calloc(w->cap, sizeof *w->conns) : NULL;
    if (!w->rbuf || (streams && !w->conns))
        return sockit__fail(-ENOMEM, "server: worker %d buffers", i);
    sockit_timer_init(&w->kick_timer, on_kick, w);
    sockit_timer_init(&w->sweep_timer, on_sweep, w);
    sockit_timer_init(&w->grace_timer, on_grace, w);
    sockit_timer_init(&w->accept_timer, on_accept_again, w);
    return 0;
}

static int check_config(const sockit_server_config *cfg)
{
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
    if (cfg->threads > 0) return sockit__pool_check(cfg);
    return 0;
}

static void apply_defaults(sockit_server *srv, const sockit_server_config *cfg)
{
    srv->cfg = *cfg;
    sockit_server_config *c = &srv->cfg;
    if (c->max_conns <= 0) c->max_conns = 10000;
    if (c->stop_grace <= 0) c->stop_grace = 5.0;
    if (!c->out_limit) c->out_limit = 256 * 1024;
    if (!c->in_limit) c->in_limit = 64 * 1024;
    if (c->in_limit > UINT32_MAX / 2) c->in_limit = UINT32_MAX / 2;
    if (!c->read_size) c->read_size = 64 * 1024;
    if (c->threads > 0) c->workers = 1; /* one acceptor loop */
    else if (c->workers <= 0) c->workers = sockit_ncpu();
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

/* Makes a worker's loop ready: its listener watched, the timeout sweep armed. */
static int worker_prepare(sockit_server *srv, struct worker *w)
{
    /* Threaded mode uses on_accept too: it hands each fd to the pool. */
    sockit_io_cb cb = srv->type == SOCK_DGRAM ? on_datagram_ready : on_accept;
    int r = sockit_loop_add(w->loop, w->lfd, SOCKIT_READABLE, cb, w);
    if (r < 0) return r;
    const sockit_server_config *c = &srv->cfg;
    double t = 0;
    if (c->idle_timeout > 0) t = c->idle_timeout;
    if (c->first_byte_timeout > 0 && (t == 0 || c->first_byte_timeout < t)) t = c->first_byte_timeout;
    if (t > 0 && !c->threads) {
        double period = t / 8;
        period = period < 0.01 ? 0.01 : period > 1 ? 1 : period;
        sockit_timer_start(w->loop, &w->sweep_timer, period, period);
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
        sockit__pool_stop(srv, sockit__now() + (int64_t)(srv->cfg.stop_grace * 1e9));
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
        free(w->rbuf);
        free(w->conns);
        free(w->kicked);
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

void sockit_conn_pause(sockit_conn *c)
{
    c->flags |= C_PAUSED;
    kick(c);
}

void sockit_conn_resume(sockit_conn *c)
{
    c->flags &= ~C_PAUSED;
    kick(c); /* held input is offered again at the end of this round */
}

int sockit_conn_fd(const sockit_conn *c) { return c->fd; }
void sockit_conn_set_data(sockit_conn *c, void *data) { c->data = data; }
void *sockit_conn_data(const sockit_conn *c) { return c->data; }
sockit_server *sockit_conn_server(const sockit_conn *c) { return c->w->srv; }
sockit_loop *sockit_conn_loop(const sockit_conn *c) { return c->w->loop; }

int sockit_conn_peer(const sockit_conn *c, sockit_addr *out)
{
    memset(out, 0, sizeof *out);
    out->len = sizeof out->sa;
    if (getpeername(c->fd, (struct sockaddr *)&out->sa, &out->len) < 0)
        return sockit__fail(-errno, "getpeername");
    return 0;
}
