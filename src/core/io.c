/*
 * Deadlines and the one place where EINTR, EAGAIN and poll() meet.
 *
 * A timeout is turned into an absolute CLOCK_MONOTONIC deadline once, at the API entry, and passed
 * down. That makes "retry EINTR with the remaining time" and "the timeout bounds the whole call"
 * true by construction.
 */
#include "internal/core.h"

#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <unistd.h>

int64_t sockit__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sockit__deadline(double timeout)
{
    if (timeout < 0 || isnan(timeout)) return SOCKIT__NEVER;
    if (timeout == 0) return SOCKIT__NOWAIT;
    if (timeout > 1e9) return SOCKIT__NEVER; /* ~31 years: as good as none, and no overflow */
    return sockit__now() + (int64_t)(timeout * 1e9);
}

int sockit__remaining_ms(int64_t deadline)
{
    if (deadline == SOCKIT__NEVER) return -1;
    int64_t now = sockit__now();
    if (deadline < now) return 0;
    int64_t left = deadline - now; /* no overflow: deadline >= now */
    if (left <= 0) return 0;
    int64_t ms = (left + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

int64_t sockit__sock_deadline(const sockit_sock *s)
{
    return sockit__deadline(s->timeout);
}

int sockit__wait(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int ms = sockit__remaining_ms(deadline);
        if (ms == 0 && deadline != SOCKIT__NEVER) {
            /* One last non-blocking look: the peer may have answered exactly at the limit. */
            int r = poll(&p, 1, 0);
            return r > 0 ? 0 : -ETIMEDOUT;
        }
        int r = poll(&p, 1, ms);
        if (r > 0) return 0; /* readable, writable, or an error the next syscall will report */
        if (r == 0) continue; /* rounding: loop re-checks the deadline */
        if (errno != EINTR) return -errno;
    }
}

int sockit__set_nonblock(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return -errno;
    int nfl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    if (nfl != fl && fcntl(fd, F_SETFL, nfl) < 0) return -errno;
    return 0;
}

int64_t sockit_deadline_after(double seconds) { return sockit__deadline(seconds); }

/* After EAGAIN (see core.h): wait unless the caller asked not to, or a blocking socket without a
 * deadline met a user's SO_RCVTIMEO/SO_SNDTIMEO. */
static int should_wait(const sockit_sock *s, int flags, int64_t deadline)
{
    if (errno == EWOULDBLOCK) errno = EAGAIN;
    if (errno != EAGAIN || (flags & MSG_DONTWAIT) || deadline == SOCKIT__NOWAIT) return 0;
    return s->timeout >= 0 || deadline != SOCKIT__NEVER;
}

ssize_t sockit__io(sockit_sock *s, short events, int flags, int64_t deadline, sockit__io_fn op,
                   void *arg)
{
    /* A blocking fd would sleep in the kernel past the deadline: drive it without blocking. */
    int nowait = (flags & MSG_DONTWAIT) || (s->timeout < 0 && deadline != SOCKIT__NEVER);
    for (;;) {
        ssize_t n = op(s, arg, nowait);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (!should_wait(s, flags, deadline)) return -errno;
        int r = sockit__wait(s->fd, events, deadline);
        if (r < 0) return r;
    }
}

struct xfer {
    void *buf;
    size_t len;
    int flags;
};

static ssize_t op_send(sockit_sock *s, void *arg, int nowait)
{
    struct xfer *x = arg;
    return send(s->fd, x->buf, x->len, x->flags | MSG_NOSIGNAL | (nowait ? MSG_DONTWAIT : 0));
}

static ssize_t op_recv(sockit_sock *s, void *arg, int nowait)
{
    struct xfer *x = arg;
    return recv(s->fd, x->buf, x->len, x->flags | (nowait ? MSG_DONTWAIT : 0));
}

ssize_t sockit__sys_send(sockit_sock *s, const void *buf, size_t len, int flags, int64_t deadline)
{
    struct xfer x = {(void *)buf, len, flags};
    return sockit__io(s, POLLOUT, flags, deadline, op_send, &x);
}

ssize_t sockit__sys_recv(sockit_sock *s, void *buf, size_t len, int flags, int64_t deadline)
{
    struct xfer x = {buf, len, flags};
    return sockit__io(s, POLLIN, flags, deadline, op_recv, &x);
}

ssize_t sockit__send_dl(sockit_sock *s, const void *buf, size_t len, int flags, int64_t deadline)
{
    if (s->layer) return s->layer->send(s, buf, len, flags, deadline);
    return sockit__sys_send(s, buf, len, flags, deadline);
}

ssize_t sockit__recv_dl(sockit_sock *s, void *buf, size_t len, int flags, int64_t deadline)
{
    if (s->layer) return s->layer->recv(s, buf, len, flags, deadline);
    return sockit__sys_recv(s, buf, len, flags, deadline);
}
