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
#include <sys/un.h>
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

/* A NULL socket (say, the result of a failed create_connection) is -EBADF with a message. */
static int no_sock(const char *op)
{
    return sockit__failmsg(-EBADF, "%s: no socket (NULL)", op);
}
#define NEED_SOCK(s, op)                                                                         \
    do {                                                                                         \
        if (!(s)) return no_sock(op);                                                            \
    } while (0)

int sockit_fileno(const sockit_sock *s) { return s ? s->fd : no_sock("fileno"); }
int sockit_family(const sockit_sock *s) { return s ? s->family : no_sock("family"); }
int sockit_type(const sockit_sock *s) { return s ? s->type : no_sock("type"); }
int sockit_proto(const sockit_sock *s) { return s ? s->proto : no_sock("proto"); }

int sockit_detach(sockit_sock *s)
{
    NEED_SOCK(s, "detach");
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

const char *sockit__peer_name(const sockit_sock *s, char *buf, size_t len)
{
    sockit_addr a;
    a.len = sizeof a.sa;
    if (getpeername(s->fd, (struct sockaddr *)&a.sa, &a.len) < 0) a.len = 0;
    else if (a.sa.ss_family == AF_UNIX && a.len <= offsetof(struct sockaddr_un, sun_path))
        a.len = 1; /* an unnamed Unix peer (a socketpair's other end): say so, never "" */
    if (a.len > 1) {
        char b[SOCKIT_ADDRSTRLEN];
        snprintf(buf, len, "%s", sockit_addr_format(&a, b, sizeof b));
    } else {
        snprintf(buf, len, "%s (fd %d)", a.len ? "unnamed unix peer" : "unconnected socket", s->fd);
    }
    return buf;
}

int sockit_getsockname(const sockit_sock *s, sockit_addr *out)
{
    NEED_SOCK(s, "getsockname");
    memset(out, 0, sizeof *out);
    out->len = sizeof out->sa;
    if (getsockname(s->fd, (struct sockaddr *)&out->sa, &out->len) < 0)
        return sockit__fail(-errno, "getsockname");
    return 0;
}

int sockit_getpeername(const sockit_sock *s, sockit_addr *out)
{
    NEED_SOCK(s, "getpeername");
    memset(out, 0, sizeof *out);
    out->len = sizeof out->sa;
    if (getpeername(s->fd, (struct sockaddr *)&out->sa, &out->len) < 0)
        return sockit__fail(-errno, "getpeername");
    return 0;
}

/* ---- server side -------------------------------------------------------------------------- */

int sockit_bind_addr(sockit_sock *s, const sockit_addr *a)
{
    NEED_SOCK(s, "bind");
    char b[SOCKIT_ADDRSTRLEN];
    if (bind(s->fd, (const struct sockaddr *)&a->sa, a->len) < 0)
        return sockit__fail(-errno, "bind %s", fmt(a, b));
    return 0;
}

int sockit_bind(sockit_sock *s, const char *host, const char *port)
{
    NEED_SOCK(s, "bind");
    sockit_addr a;
    int r = sockit__resolve_all(host, port, s->family, s->type, 1, &a, 1, SOCKIT__NEVER);
    if (r < 0) return r;
    return sockit_bind_addr(s, &a);
}

int sockit_listen(sockit_sock *s, int backlog)
{
    NEED_SOCK(s, "listen");
    if (backlog < 0) backlog = SOMAXCONN;
    if (listen(s->fd, backlog) < 0) return sockit__fail(-errno, "listen");
    return 0;
}

struct accept_args {
    sockit_addr *peer;
    int flags;
};

static ssize_t op_accept(sockit_sock *s, void *arg, int nowait)
{
    struct accept_args *a = arg;
    (void)nowait; /* accept4 has no per-call flag: the listener's own mode decides */
    for (;;) {
        memset(a->peer, 0, sizeof *a->peer);
        a->peer->len = sizeof a->peer->sa;
        int fd = accept4(s->fd, (struct sockaddr *)&a->peer->sa, &a->peer->len, a->flags);
        if (fd >= 0 || errno != ECONNABORTED) return fd; /* ECONNABORTED: a peer gave up, next */
    }
}

int sockit_accept(sockit_sock *s, sockit_sock **conn, sockit_addr *peer)
{
    NEED_SOCK(s, "accept");
    double t = sockit_getdefaulttimeout();
    sockit_addr tmp;
    struct accept_args a = {peer ? peer : &tmp, SOCK_CLOEXEC | (t >= 0 ? SOCK_NONBLOCK : 0)};
    /* A blocking listener has no deadline to honour: NEVER keeps accept4 blocking in the kernel. */
    int64_t deadline = s->timeout < 0 ? SOCKIT__NEVER : sockit__sock_deadline(s);
    ssize_t fd = sockit__io(s, POLLIN, 0, deadline, op_accept, &a);
    if (fd < 0) return sockit__fail((int)fd, "accept");
    int r = sockit__sock_new(conn, (int)fd, s->family, s->type, s->proto, t);
    if (r < 0) close((int)fd);
    return r;
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
    NEED_SOCK(s, "connect");
    char b[SOCKIT_ADDRSTRLEN];
    int r = connect_dl(s, a, sockit__sock_deadline(s));
    if (r < 0) return sockit__fail(r, "connect %s", fmt(a, b));
    return 0;
}

int sockit_connect(sockit_sock *s, const char *host, const char *port)
{
    NEED_SOCK(s, "connect");
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

/* The message for a failed transfer names the peer; a layer's (TLS) own message stands. */
static ssize_t fail_io(const sockit_sock *s, unsigned mark, int code, const char *op, const char *dir)
{
    char b[SOCKIT_ADDRSTRLEN + 32];
    if (code == -EAGAIN) return sockit__fail_ctx(mark, code, "%s", op);
    return sockit__fail_ctx(mark, code, "%s %s %s", op, dir, sockit__peer_name(s, b, sizeof b));
}

ssize_t sockit_send(sockit_sock *s, const void *buf, size_t len, int flags)
{
    NEED_SOCK(s, "send");
    unsigned mark = sockit__errmark();
    ssize_t n = sockit__send_dl(s, buf, len, flags, sockit__sock_deadline(s));
    return n < 0 ? fail_io(s, mark, (int)n, "send", "to") : n;
}

ssize_t sockit_recv(sockit_sock *s, void *buf, size_t len, int flags)
{
    NEED_SOCK(s, "recv");
    unsigned mark = sockit__errmark();
    ssize_t n = sockit__recv_dl(s, buf, len, flags, sockit__sock_deadline(s));
    return n < 0 ? fail_io(s, mark, (int)n, "recv", "from") : n;
}

int sockit__sendall_dl(sockit_sock *s, const void *buf, size_t len, int flags, size_t *sent,
                       int64_t deadline)
{
    unsigned mark = sockit__errmark();
    const char *p = buf;
    size_t done = 0;
    int r = 0;
    while (done < len) {
        ssize_t n = sockit__send_dl(s, p + done, len - done, flags, deadline);
        if (n < 0) {
            r = sockit__fail_ctx(mark, (int)n, "sendall: %zu of %zu bytes sent", done, len);
            break;
        }
        done += (size_t)n;
    }
    if (sent) *sent = done;
    return r;
}

int sockit_sendall_ex(sockit_sock *s, const void *buf, size_t len, int flags, size_t *sent)
{
    if (sent) *sent = 0;
    NEED_SOCK(s, "sendall");
    return sockit__sendall_dl(s, buf, len, flags, sent, sockit__sock_deadline(s));
}

int sockit_sendall(sockit_sock *s, const void *buf, size_t len, int flags)
{
    return sockit_sendall_ex(s, buf, len, flags, NULL);
}

int sockit_sendall_until(sockit_sock *s, const void *buf, size_t len, int flags, size_t *sent,
                         int64_t deadline)
{
    if (sent) *sent = 0;
    NEED_SOCK(s, "sendall");
    return sockit__sendall_dl(s, buf, len, flags, sent, deadline);
}

struct dgram {
    void *buf;
    size_t len;
    int flags;
    sockit_addr *addr;
};

static ssize_t op_sendto(sockit_sock *s, void *arg, int nowait)
{
    struct dgram *d = arg;
    return sendto(s->fd, d->buf, d->len, d->flags | MSG_NOSIGNAL | (nowait ? MSG_DONTWAIT : 0),
                  (const struct sockaddr *)&d->addr->sa, d->addr->len);
}

static ssize_t op_recvfrom(sockit_sock *s, void *arg, int nowait)
{
    struct dgram *d = arg;
    memset(d->addr, 0, sizeof *d->addr);
    d->addr->len = sizeof d->addr->sa;
    return recvfrom(s->fd, d->buf, d->len, d->flags | (nowait ? MSG_DONTWAIT : 0),
                    (struct sockaddr *)&d->addr->sa, &d->addr->len);
}

ssize_t sockit_sendto_addr(sockit_sock *s, const void *buf, size_t len, int flags,
                           const sockit_addr *a)
{
    char b[SOCKIT_ADDRSTRLEN];
    NEED_SOCK(s, "sendto");
    struct dgram d = {(void *)buf, len, flags, (sockit_addr *)a};
    ssize_t n = sockit__io(s, POLLOUT, flags, sockit__sock_deadline(s), op_sendto, &d);
    return n < 0 ? sockit__fail((int)n, "sendto %s", fmt(a, b)) : n;
}

ssize_t sockit_sendto(sockit_sock *s, const void *buf, size_t len, int flags, const char *host,
                      const char *port)
{
    NEED_SOCK(s, "sendto");
    sockit_addr a;
    int r = sockit__resolve_all(host, port, s->family, s->type, 0, &a, 1,
                                s->timeout == 0 ? SOCKIT__NEVER : sockit__sock_deadline(s));
    if (r < 0) return r;
    return sockit_sendto_addr(s, buf, len, flags, &a);
}

ssize_t sockit_recvfrom(sockit_sock *s, void *buf, size_t len, int flags, sockit_addr *from)
{
    NEED_SOCK(s, "recvfrom");
    sockit_addr tmp;
    struct dgram d = {buf, len, flags, from ? from : &tmp};
    ssize_t n = sockit__io(s, POLLIN, flags, sockit__sock_deadline(s), op_recvfrom, &d);
    return n < 0 ? sockit__fail((int)n, "recvfrom") : n;
}

int sockit_shutdown(sockit_sock *s, int how)
{
    NEED_SOCK(s, "shutdown");
    if (shutdown(s->fd, how) < 0) return sockit__fail(-errno, "shutdown");
    return 0;
}

/* ---- options ------------------------------------------------------------------------------ */

int sockit_settimeout(sockit_sock *s, double seconds)
{
    NEED_SOCK(s, "settimeout");
    if (isnan(seconds)) return sockit__fail(-EINVAL, "settimeout: NaN");
    int r = sockit__set_nonblock(s->fd, seconds >= 0);
    if (r < 0) return sockit__fail(r, "settimeout");
    s->timeout = seconds < 0 ? -1.0 : seconds;
    return 0;
}

double sockit_gettimeout(const sockit_sock *s) { return s->timeout; }

int sockit_setsockopt(sockit_sock *s, int level, int name, const void *val, socklen_t len)
{
    NEED_SOCK(s, "setsockopt");
    if (setsockopt(s->fd, level, name, val, len) < 0)
        return sockit__fail(-errno, "setsockopt(%d, %d)", level, name);
    return 0;
}

int sockit_getsockopt(sockit_sock *s, int level, int name, void *val, socklen_t *len)
{
    NEED_SOCK(s, "getsockopt");
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
