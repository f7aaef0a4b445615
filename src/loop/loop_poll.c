/*
 * The poll() backend: a dense pollfd array with an fd -> position map. Readiness is copied out
 * before any callback runs, so callbacks may change the set freely.
 */
#include "internal/loop.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct ready {
    int fd;
    uint32_t gen;
    int rev;
};

struct poll_state {
    struct pollfd *pfd;
    uint32_t *gen;     /* per position: the slot's generation when registered */
    struct ready *rdy; /* scratch for one round */
    size_t n, cap;
    int *pos;          /* fd -> position + 1 (0: absent) */
    size_t pos_cap;
};

static int pl_init(sockit_loop *l)
{
    struct poll_state *st = calloc(1, sizeof *st);
    if (!st) return -ENOMEM;
    l->be_state = st;
    return 0;
}

static void pl_free(sockit_loop *l)
{
    struct poll_state *st = l->be_state;
    if (!st) return;
    free(st->pfd);
    free(st->gen);
    free(st->rdy);
    free(st->pos);
    free(st);
}

/* Room for one more position and for fd in the map (the core has checked that fd is open). Each
 * capacity is overflow-checked; a failed realloc leaves the old (still valid) arrays in place. */
static int grow(struct poll_state *st, int fd)
{
    if (st->n == st->cap) {
        size_t cap = sockit__grow_cap(st->cap, st->n + 1, 64, (size_t)INT_MAX, sizeof(struct ready));
        if (!cap) return -ENOMEM;
        struct pollfd *p = realloc(st->pfd, cap * sizeof *p);
        if (p) st->pfd = p;
        uint32_t *g = p ? realloc(st->gen, cap * sizeof *g) : NULL;
        if (g) st->gen = g;
        struct ready *r = g ? realloc(st->rdy, cap * sizeof *r) : NULL;
        if (r) st->rdy = r;
        if (!p || !g || !r) return -ENOMEM;
        st->cap = cap;
    }
    if ((size_t)fd >= st->pos_cap) {
        size_t cap = sockit__grow_cap(st->pos_cap, (size_t)fd + 1, 64, (size_t)INT_MAX + 1, sizeof *st->pos);
        int *p = cap ? realloc(st->pos, cap * sizeof *p) : NULL;
        if (!p) return -ENOMEM;
        memset(p + st->pos_cap, 0, (cap - st->pos_cap) * sizeof *p);
        st->pos = p;
        st->pos_cap = cap;
    }
    return 0;
}

_Static_assert(SOCKIT_READABLE == POLLIN && SOCKIT_WRITABLE == POLLOUT && SOCKIT_ERROR == POLLERR &&
                   SOCKIT_HUP == POLLHUP, "readiness bits are poll's");

static short to_poll(int events) { return (short)events; }

static int pl_set(sockit_loop *l, int fd, int old_events, int new_events, int del)
{
    struct poll_state *st = l->be_state;
    int have = (size_t)fd < st->pos_cap && st->pos[fd];
    if (del) {
        if (!have) return -ENOENT;
        size_t i = (size_t)st->pos[fd] - 1, last = --st->n;
        st->pos[fd] = 0;
        if (i != last) {
            st->pfd[i] = st->pfd[last];
            st->gen[i] = st->gen[last];
            st->pos[st->pfd[i].fd] = (int)i + 1;
        }
        return 0;
    }
    if (!have) {
        if (fcntl(fd, F_GETFD) < 0) return -errno; /* poll() would only say POLLNVAL later */
        int r = grow(st, fd);
        if (r < 0) return r;
        st->pfd[st->n] = (struct pollfd){.fd = fd};
        st->gen[st->n] = l->fds[fd].gen;
        st->pos[fd] = (int)++st->n;
    }
    st->pfd[st->pos[fd] - 1].events = to_poll(new_events);
    return 0;
}

static int pl_wait(sockit_loop *l, int ms)
{
    struct poll_state *st = l->be_state;
    int n = poll(st->pfd, st->n, ms);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    size_t k = 0;
    for (size_t i = 0; i < st->n && (int)k < n; i++) {
        short e = st->pfd[i].revents;
        if (!e) continue;
        if (e & POLLNVAL) e = POLLERR; /* closed without del: report, the owner will clean up */
        st->rdy[k++] = (struct ready){st->pfd[i].fd, st->gen[i], e & (POLLIN | POLLOUT | POLLERR | POLLHUP)};
    }
    int ran = 0;
    for (size_t i = 0; i < k; i++) ran += sockit__loop_ready(l, st->rdy[i].fd, st->rdy[i].gen, st->rdy[i].rev);
    return ran;
}

const sockit__backend sockit__backend_poll = {"poll", pl_init, pl_free, pl_set, pl_wait};
