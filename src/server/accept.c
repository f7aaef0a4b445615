/*
 * Accepting and refusing: each worker's listener hands new connections to the engine (conn.c),
 * or, in threaded mode, to the pool; over the limits a connection is refused cleanly and logged.
 */
#include "internal/server.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPTS_PER_EVENT 64

/* A log line at most once a second per worker, counting the ones held back. */
void sockit__log_limited(struct worker *w, const char *what, const char *why)
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

static void refuse(struct worker *w, int fd, const char *why)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    sockit__count(&w->refused, 1);
    sockit__log_limited(w, "refused a connection", why);
}

/* A TLS layer for the new connection, named after its peer in messages. */
static int add_layer(struct sockit_conn *c, const sockit_addr *peer)
{
    char name[SOCKIT_ADDRSTRLEN];
    if (!sockit_addr_format(peer, name, sizeof name)) snprintf(name, sizeof name, "client");
    return sockit__tls_conn_new(c->w->srv->cfg.tls, c->fd, name, &c->io, &c->layer);
}

static void open_conn(struct worker *w, int fd, const sockit_addr *peer)
{
    sockit_server *srv = w->srv;
    uint64_t active = atomic_fetch_add_explicit(&srv->active, 1, memory_order_relaxed);
    struct sockit_conn *c = active < (uint64_t)srv->cfg.max_conns ? sockit__conn_alloc(w) : NULL;
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
    if (srv->cfg.tls && add_layer(c, peer) < 0) {
        sockit__server_log(srv, "%s", sockit_errmsg());
        c->layer = NULL;
    } else if (sockit_loop_add(w->loop, fd, SOCKIT_READABLE, sockit__conn_event, c) == 0) {
        sockit__conn_started(c);
        return;
    } else {
        sockit__server_log(srv, "%s", sockit_errmsg());
    }
    if (c->layer) c->io->free(c->layer, fd, 0);
    close(fd);
    w->nconns--;
    atomic_fetch_sub_explicit(&srv->active, 1, memory_order_relaxed);
    sockit__conn_release(c);
}

void sockit__on_accept(sockit_loop *loop, int lfd, int events, void *arg)
{
    struct worker *w = arg;
    int threaded = w->srv->cfg.threads > 0;
    (void)events;
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
                sockit__log_limited(w, "accept", why);
                sockit_loop_mod(loop, lfd, 0);
                sockit_timer_start(loop, &w->accept_timer, 0.1, 0);
            }
            return; /* EAGAIN: the loop reports the listener again when a peer arrives */
        }
        if (!threaded) {
            open_conn(w, fd, &peer);
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

void sockit__on_accept_again(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct worker *w = arg;
    (void)t;
    if (w->lfd >= 0 && !w->stopping) sockit_loop_mod(loop, w->lfd, SOCKIT_READABLE);
}
