/*
 * The socket object: Python's socket.socket, in C.
 *
 * The fd is non-blocking whenever the socket has a timeout (>= 0) and blocking when it has none,
 * as CPython does; every call turns the timeout into one deadline at entry.
 */
#include "internal/core.h"

#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Python's socket.setdefaulttimeout, as bits of a double so it can be atomic. */
static _Atomic double default_timeout = -1.0;

int sockit_setdefaulttimeout(double seconds)
{
    if (isnan(seconds)) return sockit__fail(-EINVAL, "setdefaulttimeout: NaN");
    atomic_store(&default_timeout, seconds < 0 ? -1.0 : seconds);
    return 0;
}

double sockit_getdefaulttimeout(void) { return atomic_load(&default_timeout); }

int sockit__sock_new(sockit_sock **out, int fd, int family, int type, int proto, double timeout)
{
    sockit_sock *s = calloc(1, sizeof *s);
    if (!s) return sockit__fail(-ENOMEM, "socket");
    s->fd = fd;
    s->family = family;
    s->type = type;
    s->proto = proto;
    s->timeout = timeout < 0 ? -1.0 : timeout;
    int r = sockit__set_nonblock(fd, timeout >= 0);
    if (r < 0) {
        free(s);
        return sockit__fail(r, "socket: fcntl");
    }
    *out = s;
    return 0;
}

static const char *family_name(int family)
{
    switch (family) {
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_UNIX: return "unix";
    default: return "?";
    }
}

int sockit_socket(sockit_sock **out, int family, int type, int proto)
{
    if (family == 0) family = AF_INET;
    if (type == 0) type = SOCK_STREAM;
    int fd = socket(family, type | SOCK_CLOEXEC, proto);
    if (fd < 0) return sockit__fail(-errno, "socket(%s, %d, %d)", family_name(family), type, proto);
    int r = sockit__sock_new(out, fd, family, type, proto, sockit_getdefaulttimeout());
    if (r < 0) close(fd);
    return r;
}

int sockit_socketpair(sockit_sock **a, sockit_sock **b, int family, int type)
{
    int fds[2];
    if (family == 0) family = AF_UNIX;
    if (type == 0) type = SOCK_STREAM;
    if (socketpair(family, type | SOCK_CLOEXEC, 0, fds) < 0)
        return sockit__fail(-errno, "socketpair(%s)", family_name(family));
    double t = sockit_getdefaulttimeout();
    int r = sockit__sock_new(a, fds[0], family, type, 0, t);
    if (r < 0) goto fail_both;
    r = sockit__sock_new(b, fds[1], family, type, 0, t);
    if (r < 0) goto fail_one;
    return 0;
fail_one:
    free(*a);
    *a = NULL;
fail_both:
    close(fds[0]);
    close(fds[1]);
    return r;
}

int sockit_fromfd(sockit_sock **out, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0) return sockit__fail(-errno, "fromfd %d", fd);
    if (!S_ISSOCK(st.st_mode)) return sockit__fail(-ENOTSOCK, "fromfd %d", fd);
    int family = 0, type = 0, proto = 0;
    socklen_t len = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0 ||
        (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) ||
        (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0))
        return sockit__fail(-errno, "fromfd %d: getsockopt", fd);
    int fl = fcntl(fd, F_GETFL);
    int fdfl = fcntl(fd, F_GETFD);
    if (fl < 0 || fdfl < 0) return sockit__fail(-errno, "fromfd %d: fcntl", fd);
    sockit_sock *s = calloc(1, sizeof *s);
    if (!s) return sockit__fail(-ENOMEM, "fromfd %d", fd);
    if (!(fdfl & FD_CLOEXEC)) fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
    s->fd = fd;
    s->family = family;
    s->type = type;
    s->proto = proto;
    s->timeout = (fl & O_NONBLOCK) ? 0.0 : -1.0;
    *out = s;
    return 0;
}

int sockit_fileno(const sockit_sock *s) { return s ? s->fd : -EBADF; }
int sockit_family(const sockit_sock *s) { return s->family; }
int sockit_type(const sockit_sock *s) { return s->type; }
int sockit_proto(const sockit_sock *s) { return s->proto; }

int sockit_detach(sockit_sock *s)
{
    if (!s) return -EBADF;
    int fd = s->fd;
    if (s->layer && s->layer->close) s->layer->close(s);
    free(s);
    return fd;
}

int sockit_close(sockit_sock *s)
{
    if (!s) return 0;
    if (s->layer && s->layer->close) s->layer->close(s);
    int r = 0;
    /* Linux frees the fd even when close reports EINTR: never retry (that could close another
     * thread's new fd). ECONNRESET at close is the peer's news, not the caller's failure. */
    if (close(s->fd) < 0 && errno != EINTR && errno != ECONNRESET)
        r = sockit__fail(-errno, "close");
    free(s);
    return r;
}

/* ---- addresses of the socket ------------------------------------------------------------- */

static const char *fmt(const sockit_addr *a, char *buf)
{
    return sockit_addr_format(a, buf, SOCKIT_ADDRSTRLEN);
}

int sockit_getsockname(const sockit_sock *s, sockit_addr *out)
{
    memset(out, 0, sizeof *out);
    out->len = sizeof out->sa;
    if (getsockname(s->fd, (struct sockaddr *)&out->sa, &out->len) < 0)
        return sockit__fail(-errno, "getsockname");
    return 0;
}

int sockit_getpeername(const sockit_sock *s, sockit_addr *out)
{
    memset(out, 0, sizeof *out);
    out->len = sizeof out->sa;
    if (getpeername(s->fd, (struct sockaddr *)&out->sa, &out->len) < 0)
        return sockit__fail(-errno, "getpeername");
    return 0;
}

/* ---- server side -------------------------------------------------------------------------- */

int sockit_bind_addr(sockit_sock *s, const sockit_addr *a)
{
    char b[SOCKIT_ADDRSTRLEN];
    if (bind(s->fd, (const struct sockaddr *)&a->sa, a->len) < 0)
        return sockit__fail(-errno, "bind %s", fmt(a, b));
    return 0;
}

int sockit_bind(sockit_sock *s, const char *host, const char *port)
{
    sockit_addr a;
    int r = sockit__resolve_all(host, port, s->family, s->type, 1, &a, 1, SOCKIT__NEVER);
    if (r < 0) return r;
    return sockit_bind_addr(s, &a);
}

int sockit_listen(sockit_sock *s, int backlog)
{
    if (backlog < 0) backlog = SOMAXCONN;
    if (listen(s->fd, backlog) < 0) return sockit__fail(-errno, "listen");
    return 0;
}

int sockit_accept(sockit_sock *s, sockit_sock **conn, sockit_addr *peer)
{
    int64_t deadline = sockit__sock_deadline(s);
    double t = sockit_getdefaulttimeout();
    sockit_addr tmp;
    sockit_addr *p = peer ? peer : &tmp;
    for (;;) {
        memset(p, 0, sizeof *p);
        p->len = sizeof p->sa;
        int fd = accept4(s->fd, (struct sockaddr *)&p->sa, &p->len,
                         SOCK_CLOEXEC | (t >= 0 ? SOCK_NONBLOCK : 0));
        if (fd >= 0) {
            int r = sockit__sock_new(conn, fd, s->family, s->type, s->proto, t);
            if (r < 0) close(fd);
            return r;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue; /* a peer gave up: next one */
        if (errno != EAGAIN || s->timeout <= 0) return sockit__fail(-errno, "accept");
        int r = sockit__wait(s->fd, POLLIN, deadline);
        if (r < 0) return sockit__fail(r, "accept");
    }
}

/* ---- client side -------------------------------------------------------------------------- */

/* Completes a connect that is in progress (or was interrupted): waits for writability within the
 * deadline, then reads the outcome from SO_ERROR. */
static int finish_connect(int fd, int64_t deadline)
{
    int r = sockit__wait(fd, POLLOUT, deadline);
    if (r < 0) return r;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
    return -err;
}

/* connect(2) within a deadline; the caller formats the message. */
static int connect_dl(sockit_sock *s, const sockit_addr *a, int64_t deadline)
{
    if (connect(s->fd, (const struct sockaddr *)&a->sa, a->len) == 0) return 0;
    int e = errno;
    if (e == EINPROGRESS && s->timeout == 0) return -EINPROGRESS;
    if (e == EINPROGRESS || e == EINTR) return finish_connect(s->fd, deadline);
    if (e == EAGAIN && s->family == AF_UNIX && s->timeout != 0) {
        /* A Unix listener's backlog is full: wait for room, then try again. */
        int r = sockit__wait(s->fd, POLLOUT, deadline);
        if (r < 0) return r;
        return connect_dl(s, a, deadline);
    }
    return -e;
}

int sockit_connect_addr(sockit_sock *s, const sockit_addr *a)
{
    char b[SOCKIT_ADDRSTRLEN];
    int r = connect_dl(s, a, sockit__sock_deadline(s));
    if (r < 0) return sockit__fail(r, "connect %s", fmt(a, b));
    return 0;
}

int sockit_connect(sockit_sock *s, const char *host, const char *port)
{
    char b[SOCKIT_ADDRSTRLEN];
    int64_t deadline = sockit__sock_deadline(s);
    sockit_addr a;
    /* A non-blocking socket resolves like Python does, without a deadline: "now" would fail
     * every name. */
    int r = sockit__resolve_all(host, port, s->family, s->type, 0, &a, 1,
                                s->timeout == 0 ? SOCKIT__NEVER : deadline);
    if (r < 0) return r;
    r = connect_dl(s, &a, deadline);
    if (r < 0) return sockit__fail(r, "connect %s", fmt(&a, b));
    return 0;
}

/* ---- data --------------------------------------------------------------------------------- */

/* The message for a failed transfer names the peer when the socket still knows it. */
static int fail_io(const sockit_sock *s, int code, const char *op, const char *dir)
{
    if (s->layer && code != -EAGAIN) return code; /* the layer (TLS) said it better already */
    sockit_addr peer;
    char b[SOCKIT_ADDRSTRLEN];
    peer.len = sizeof peer.sa;
    if (code != -EAGAIN && getpeername(s->fd, (struct sockaddr *)&peer.sa, &peer.len) == 0)
        return sockit__fail(code, "%s %s %s", op, dir, fmt(&peer, b));
    return sockit__fail(code, "%s", op);
}

ssize_t sockit_send(sockit_sock *s, const void *buf, size_t len, int flags)
{
    ssize_t n = sockit__send_dl(s, buf, len, flags, sockit__sock_deadline(s));
    if (n < 0) return fail_io(s, (int)n, "send", "to");
    return n;
}

ssize_t sockit_recv(sockit_sock *s, void *buf, size_t len, int flags)
{
    ssize_t n = sockit__recv_dl(s, buf, len, flags, sockit__sock_deadline(s));
    if (n < 0) return fail_io(s, (int)n, "recv", "from");
    return n;
}

int sockit_sendall_ex(sockit_sock *s, const void *buf, size_t len, int flags, size_t *sent)
{
    int64_t deadline = sockit__sock_deadline(s);
    const char *p = buf;
    size_t done = 0;
    int r = 0;
    while (done < len) {
        ssize_t n = sockit__send_dl(s, p + done, len - done, flags, deadline);
        if (n < 0) {
            r = s->layer && n != -EAGAIN ? (int)n /* the layer said it better */
                                         : sockit__fail((int)n, "sendall: %zu of %zu bytes sent", done, len);
            break;
        }
        done += (size_t)n;
    }
    if (sent) *sent = done;
    return r;
}

int sockit_sendall(sockit_sock *s, const void *buf, size_t len, int flags)
{
    return sockit_sendall_ex(s, buf, len, flags, NULL);
}

ssize_t sockit_sendto_addr(sockit_sock *s, const void *buf, size_t len, int flags,
                           const sockit_addr *a)
{
    char b[SOCKIT_ADDRSTRLEN];
    int64_t deadline = sockit__sock_deadline(s);
    for (;;) {
        ssize_t n = sendto(s->fd, buf, len, flags | MSG_NOSIGNAL, (const struct sockaddr *)&a->sa,
                           a->len);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN || s->timeout <= 0 || (flags & MSG_DONTWAIT))
            return sockit__fail(-errno, "sendto %s", fmt(a, b));
        int r = sockit__wait(s->fd, POLLOUT, deadline);
        if (r < 0) return sockit__fail(r, "sendto %s", fmt(a, b));
    }
}

ssize_t sockit_sendto(sockit_sock *s, const void *buf, size_t len, int flags, const char *host,
                      const char *port)
{
    sockit_addr a;
    int r = sockit__resolve_all(host, port, s->family, s->type, 0, &a, 1,
                                s->timeout == 0 ? SOCKIT__NEVER : sockit__sock_deadline(s));
    if (r < 0) return r;
    return sockit_sendto_addr(s, buf, len, flags, &a);
}

ssize_t sockit_recvfrom(sockit_sock *s, void *buf, size_t len, int flags, sockit_addr *from)
{
    int64_t deadline = sockit__sock_deadline(s);
    sockit_addr tmp;
    sockit_addr *f = from ? from : &tmp;
    for (;;) {
        memset(f, 0, sizeof *f);
        f->len = sizeof f->sa;
        ssize_t n = recvfrom(s->fd, buf, len, flags, (struct sockaddr *)&f->sa, &f->len);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN || s->timeout <= 0 || (flags & MSG_DONTWAIT))
            return sockit__fail(-errno, "recvfrom");
        int r = sockit__wait(s->fd, POLLIN, deadline);
        if (r < 0) return sockit__fail(r, "recvfrom");
    }
}

int sockit_shutdown(sockit_sock *s, int how)
{
    if (shutdown(s->fd, how) < 0) return sockit__fail(-errno, "shutdown");
    return 0;
}

/* ---- options ------------------------------------------------------------------------------ */

int sockit_settimeout(sockit_sock *s, double seconds)
{
    if (isnan(seconds)) return sockit__fail(-EINVAL, "settimeout: NaN");
    int r = sockit__set_nonblock(s->fd, seconds >= 0);
    if (r < 0) return sockit__fail(r, "settimeout");
    s->timeout = seconds < 0 ? -1.0 : seconds;
    return 0;
}

double sockit_gettimeout(const sockit_sock *s) { return s->timeout; }

int sockit_setsockopt(sockit_sock *s, int level, int name, const void *val, socklen_t len)
{
    if (setsockopt(s->fd, level, name, val, len) < 0)
        return sockit__fail(-errno, "setsockopt(%d, %d)", level, name);
    return 0;
}

int sockit_getsockopt(sockit_sock *s, int level, int name, void *val, socklen_t *len)
{
    if (getsockopt(s->fd, level, name, val, len) < 0)
        return sockit__fail(-errno, "getsockopt(%d, %d)", level, name);
    return 0;
}

int sockit_setsockopt_int(sockit_sock *s, int level, int name, int val)
{
    return sockit_setsockopt(s, level, name, &val, sizeof val);
}

int sockit_getsockopt_int(sockit_sock *s, int level, int name, int *val)
{
    socklen_t len = sizeof *val;
    *val = 0;
    return sockit_getsockopt(s, level, name, val, &len);
}
