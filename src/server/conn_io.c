/*
 * The plain socket's connection I/O operations (internal/conn_io.h). The engine inlines the
 * plain recv and send on its hot path; this table is what it calls for everything else, and what
 * a layer such as TLS replaces.
 */
#include "internal/conn_io.h"
#include "internal/sys.h"

#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

ssize_t sockit__plain_recv(void *layer, int fd, char *buf, size_t len)
{
    (void)layer;
    for (;;) {
        ssize_t n = sockit__sys_recvb(fd, buf, len, 0);
        if (n >= 0 || errno != EINTR) return n < 0 ? -errno : n;
    }
}

ssize_t sockit__plain_sendv(void *layer, int fd, const struct iovec *iov, int n)
{
    (void)layer;
    if (n == 1) {
        for (;;) {
            ssize_t r = sockit__sys_sendb(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
            if (r >= 0 || errno != EINTR) return r < 0 ? -errno : r;
        }
    }
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    for (;;) {
        ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL); /* writev, without SIGPIPE */
        if (r >= 0 || errno != EINTR) return r < 0 ? -errno : r;
    }
}

static ssize_t plain_sendfile(void *layer, int fd, int file, off_t off, size_t len)
{
    (void)layer;
    if (len > 0x7ffff000) len = 0x7ffff000; /* what Linux moves in one call at most */
    for (;;) {
        ssize_t r = sendfile(fd, file, &off, len);
        if (r >= 0 || errno != EINTR) return r < 0 ? -errno : r;
    }
}

static int plain_pending(void *layer)
{
    (void)layer;
    return 0;
}

static ssize_t plain_query(void *layer, int what, void *buf, size_t len)
{
    (void)layer, (void)what, (void)buf, (void)len;
    return -EINVAL;
}

static void plain_free(void *layer, int fd, int clean) { (void)layer, (void)fd, (void)clean; }

const sockit__conn_io sockit__plain_io = {
    .name = "plain",
    .recv = sockit__plain_recv,
    .sendv = sockit__plain_sendv,
    .sendfile = plain_sendfile,
    .pending = plain_pending,
    .query = plain_query,
    .free = plain_free,
};
