/*
 * The epoll backend: level-triggered; each event carries fd and the slot's generation, so
 * readiness for an fd removed (and perhaps reused) earlier in the same round is dropped.
 */
#include "internal/loop.h"
#include "internal/sys.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_EVENTS 512

struct epoll_state {
    int epfd;
    struct epoll_event ev[MAX_EVENTS];
};

static int ep_init(sockit_loop *l)
{
    struct epoll_state *st = calloc(1, sizeof *st);
    if (!st) return -ENOMEM;
    st->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (st->epfd < 0) {
        int e = errno;
        free(st);
        return -e;
    }
    l->be_state = st;
    return 0;
}

static void ep_free(sockit_loop *l)
{
    struct epoll_state *st = l->be_state;
    if (!st) return;
    close(st->epfd);
    free(st);
}

_Static_assert((int)SOCKIT_READABLE == (int)EPOLLIN && (int)SOCKIT_WRITABLE == (int)EPOLLOUT &&
                   (int)SOCKIT_ERROR == (int)EPOLLERR && (int)SOCKIT_HUP == (int)EPOLLHUP,
               "readiness bits are epoll's");

static uint32_t to_epoll(int events) { return (uint32_t)events; }

static int ep_set(sockit_loop *l, int fd, int old_events, int new_events, int del)
{
    struct epoll_state *st = l->be_state;
    if (del) return epoll_ctl(st->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
    struct epoll_event ev = {.events = to_epoll(new_events)};
    ev.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)l->fds[fd].gen << 32;
    /* The slot is registered by the core right after a successful add: old_events says nothing
     * about whether the kernel knows the fd, the slot's callback does. */
    int op = l->fds[fd].cb ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    return epoll_ctl(st->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int ep_wait(sockit_loop *l, int ms)
{
    struct epoll_state *st = l->be_state;
    int n = sockit__sys_epoll_wait(st->epfd, st->ev, MAX_EVENTS, ms);
    if (n < 0) return errno == EINTR ? 0 : -errno;
    int ran = 0;
    for (int i = 0; i < n; i++) {
        int rev = (int)(st->ev[i].events & (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP));
        ran += sockit__loop_ready(l, (int)(uint32_t)st->ev[i].data.u64,
                                  (uint32_t)(st->ev[i].data.u64 >> 32), rev);
    }
    return ran;
}

const sockit__backend sockit__backend_epoll = {"epoll", ep_init, ep_free, ep_set, ep_wait};
