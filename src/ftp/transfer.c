/*
 * FTP transfers: RETR into a callback, a descriptor or a file; STOR/APPE from a callback, a
 * descriptor (pread + send, or sendfile with use_sendfile) or a file; REST for resuming both ways. Sizes are
 * checked so that a transfer cut short is never reported complete.
 */
#include "internal/ftp.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static int progress(sockit_ftp *f, uint64_t done, int64_t total)
{
    if (!f->o.progress) return 0;
    return f->o.progress(f->o.progress_arg, done, total) ? sockit__failmsg(-ECANCELED,
                                                           "ftp: transfer aborted by the caller")
                                                         : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return sockit__fail(-errno, "ftp: writing the local file");
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void name_op(char *w, size_t cap, const char *op, const char *path)
{
    snprintf(w, cap, "%s %.256s", op, path);
}

/* The remote size, when the server can tell (binary type): -1 when it cannot, or a network code
 * (< -1). */
static int64_t remote_size(sockit_ftp *f, const char *path)
{
    uint64_t n;
    if (!f->binary || ((f->features & SOCKIT_FTP_FEAT_FEAT) && !(f->features & SOCKIT_FTP_FEAT_SIZE)))
        return -1;
    int rc = sockit_ftp_size(f, path, &n);
    if (rc == 0) return n > INT64_MAX ? -1 : (int64_t)n;
    return rc == SOCKIT_EPROTO && !f->broken ? -1 : rc;
}

/* ---- downloads ---------------------------------------------------------------------------- */

struct sink {
    sockit_ftp_write_fn fn;
    void *arg;
    int fd;            /* -1 until a local file is opened */
    const char *local; /* a file opened only once the server has agreed to send */
    int oflags;
};

/* The local file is created (or truncated) only when there is something to put in it: a failed
 * RETR (550) leaves an existing file alone. */
static int sink_open(struct sink *k)
{
    if (!k->local || k->fd >= 0) return 0;
    k->fd = open(k->local, k->oflags, 0644);
    if (k->fd < 0) return sockit__fail(-errno, "ftp download: open %s", k->local);
    return 0;
}

static int deliver(const struct sink *k, const char *p, size_t n)
{
    if (k->fn) {
        int rc = k->fn(k->arg, p, n);
        return rc < 0 ? sockit__failmsg(rc, "ftp: transfer aborted by the write callback (%s)",
                                        sockit_strerror(rc))
                      : 0;
    }
    return write_all(k->fd, p, n);
}

/* The data connection to its end: 0, a data connection error (network code), or a local one
 * (callback, file, progress: *local set). */
static int pull(sockit_ftp *f, sockit__ftp_data *d, const char *what, const struct sink *k,
                uint64_t offset, int64_t total, uint64_t *got, int *local)
{
    int64_t last = sockit__now();
    while (d->s) {
        int64_t dl = sockit__ftp_deadline(f);
        int rc = sockit__ftp_data_wait(f, d, what, POLLIN, dl);
        if (rc < 0) return rc;
        unsigned mark = sockit__errmark();
        ssize_t n = sockit__recv_dl(d->s, f->buf, f->o.bufsize, 0, dl);
        if (n == 0) break;
        if (n < 0) return sockit__ftp_data_fail(mark, (int)n, what);
        rc = deliver(k, f->buf, (size_t)n);
        if (rc == 0) {
            *got += (uint64_t)n;
            rc = progress(f, offset + *got, total);
        }
        if (rc < 0) {
            *local = 1;
            return rc;
        }
        if ((rc = sockit__ftp_keepalive(f, &last)) < 0) return rc;
    }
    return 0;
}

static int retr(sockit_ftp *f, const char *path, uint64_t offset, struct sink *k,
                uint64_t *got_out)
{
    uint64_t got = 0;
    if (got_out) *got_out = 0;
    if (!f || !path) return sockit__failmsg(-EINVAL, "ftp retr: no session or path");
    char what[300];
    name_op(what, sizeof what, "retr", path);
    int rc = sockit__ftp_check_arg(what, path);
    if (rc < 0) return rc;
    int64_t total = remote_size(f, path);
    if (total < -1) return (int)total;
    if (total >= 0 && offset >= (uint64_t)total) {
        if (offset == (uint64_t)total) { /* nothing missing */
            rc = sink_open(k);
            return rc < 0 ? rc : progress(f, offset, total);
        }
        return sockit__failmsg(SOCKIT_EPROTO, "%s: the local copy (%llu bytes) is longer than "
                               "the remote file (%lld bytes)", what, (unsigned long long)offset,
                               (long long)total);
    }
    sockit__ftp_data d;
    if ((rc = sockit__ftp_data_open(f, &d, what, "RETR", path, offset)) < 0) return rc;
    if (total < 0 && offset == 0) total = d.size150;
    int local = 0;
    rc = sink_open(k);
    if (rc == 0) rc = progress(f, offset, total);
    if (rc == 0) rc = pull(f, &d, what, k, offset, total, &got, &local);
    else local = 1;
    if (got_out) *got_out = got;
    if (local) return sockit__ftp_data_abort(f, &d, rc);
    if ((rc = sockit__ftp_data_finish(f, &d, what, rc, 0)) < 0) return rc;
    if (total >= 0 && offset + got < (uint64_t)total)
        return sockit__failmsg(SOCKIT_EPROTO, "%s: short transfer: %llu of %lld bytes (the data "
                               "connection ended early)", what,
                               (unsigned long long)(offset + got), (long long)total);
    if (total >= 0 && f->binary && offset + got > (uint64_t)total) /* as curl: not the file announced */
        return sockit__failmsg(SOCKIT_EPROTO, "%s: %llu bytes arrived, more than the %lld "
                               "announced (the file changed while read, or the server is wrong)",
                               what, (unsigned long long)(offset + got), (long long)total);
    return 0;
}

int sockit_ftp_retr(sockit_ftp *f, const char *path, uint64_t offset, sockit_ftp_write_fn fn,
                    void *arg, uint64_t *got)
{
    if (!fn) return sockit__failmsg(-EINVAL, "ftp retr: no write callback");
    struct sink k = {.fn = fn, .arg = arg, .fd = -1};
    return retr(f, path, offset, &k, got);
}

int sockit_ftp_retr_fd(sockit_ftp *f, const char *path, uint64_t offset, int fd, uint64_t *got)
{
    if (fd < 0) return sockit__failmsg(-EBADF, "ftp retr: bad descriptor %d", fd);
    struct sink k = {.fd = fd};
    return retr(f, path, offset, &k, got);
}

int sockit_ftp_download(sockit_ftp *f, const char *path, const char *local, int resume,
                        uint64_t *got)
{
    if (got) *got = 0;
    if (!local) return sockit__failmsg(-EINVAL, "ftp download: no local file");
    struct sink k = {.fd = -1, .local = local,
                     .oflags = O_WRONLY | O_CREAT | O_CLOEXEC | (resume ? O_APPEND : O_TRUNC)};
    struct stat st;
    uint64_t offset = 0;
    if (resume && stat(local, &st) == 0 && S_ISREG(st.st_mode)) offset = (uint64_t)st.st_size;
    int rc = retr(f, path, offset, &k, got);
    if (k.fd >= 0 && close(k.fd) < 0 && rc == 0)
        rc = sockit__fail(-errno, "ftp download: close %s", local);
    return rc;
}

/* ---- uploads ------------------------------------------------------------------------------ */

struct source {
    sockit_ftp_read_fn fn;
    void *arg;
    int fd;
    uint64_t pos;   /* fd: the next file offset to send */
    int64_t total;  /* the whole file's size when known (progress), else -1 */
};

/* With use_sendfile, a plain connection sends a file with sendfile, no copy through user space.
 * Not the default: on loopback the receiving server then spent about twice the CPU per byte
 * (pyftpdlib 1.26 s/GiB against 0.68), and plain pread + send won on wall time against both
 * vsftpd and pyftpdlib (bench/RESULTS.md, "FTP client"). */
static ssize_t send_file(sockit_sock *s, int fd, uint64_t *pos, size_t n, int64_t dl)
{
    for (;;) {
        off_t off = (off_t)*pos;
        ssize_t r = sendfile(sockit_fileno(s), fd, &off, n);
        if (r >= 0) {
            *pos = (uint64_t)off;
            return r;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return -errno;
        int rc = sockit__wait(sockit_fileno(s), POLLOUT, dl);
        if (rc < 0) return rc;
    }
}

/* Sends the n bytes in f->buf, watching the control connection whenever the data connection
 * cannot take more (a server that stops reading says why there). 0 or the error, told. */
static int send_buf(sockit_ftp *f, sockit__ftp_data *d, const char *what, size_t n, int64_t dl)
{
    for (size_t done = 0; done < n;) {
        int rc = sockit__ftp_data_wait(f, d, what, POLLOUT, dl);
        if (rc < 0) return rc;
        unsigned mark = sockit__errmark();
        const char *p = f->buf + done;
        ssize_t w = sockit__send_dl(d->s, p, n - done, MSG_DONTWAIT, dl);
        if (w == -EAGAIN) /* nothing fits (not watched, or TLS wants to read): wait for room */
            w = sockit__send_dl(d->s, p, n - done, 0, dl);
        if (w < 0) return sockit__ftp_data_fail(mark, (int)w, what);
        done += (size_t)w;
    }
    return 0;
}

/* One buffer (or one sendfile) of the upload: the count sent (0 at the end), or an error, told
 * (*local set for the caller's side: callback, file, sendfile refused). */
static ssize_t push_one(sockit_ftp *f, sockit__ftp_data *d, const char *what, struct source *src,
                        int *local)
{
    int64_t dl = sockit__ftp_deadline(f);
    if (f->o.use_sendfile && src->fn == NULL && !sockit_tls_active(d->s)) {
        int rc = sockit__ftp_data_wait(f, d, what, POLLOUT, dl);
        if (rc < 0) return rc;
        unsigned mark = sockit__errmark();
        ssize_t r = send_file(d->s, src->fd, &src->pos, f->o.bufsize * 4, dl);
        if (r == -EINVAL || r == -ENOSYS || r == -EBADF) *local = 1;
        return r < 0 && !*local ? sockit__ftp_data_fail(mark, (int)r, what) : r;
    }
    ssize_t n;
    if (src->fn) {
        n = src->fn(src->arg, f->buf, f->o.bufsize);
        if (n < 0) n = sockit__failmsg((int)n, "ftp: transfer aborted by the read callback (%s)",
                                       sockit_strerror((int)n));
    } else {
        do n = pread(src->fd, f->buf, f->o.bufsize, (off_t)src->pos);
        while (n < 0 && errno == EINTR);
        if (n < 0) n = sockit__fail(-errno, "ftp: reading the local file");
    }
    if (n <= 0) {
        *local = n < 0;
        return n;
    }
    if ((size_t)n > f->o.bufsize) n = (ssize_t)f->o.bufsize;
    int rc = send_buf(f, d, what, (size_t)n, dl);
    if (rc < 0) return rc;
    src->pos += (uint64_t)n;
    return n;
}

static int push(sockit_ftp *f, sockit__ftp_data *d, const char *what, struct source *src,
                uint64_t offset, uint64_t *sent, int *local)
{
    int64_t last = sockit__now();
    for (;;) {
        ssize_t n = push_one(f, d, what, src, local);
        if (n <= 0) return (int)n;
        *sent += (uint64_t)n;
        int rc = progress(f, offset + *sent, src->total);
        if (rc < 0) {
            *local = 1;
            return rc;
        }
        if ((rc = sockit__ftp_keepalive(f, &last)) < 0) return rc;
    }
}

static int stor(sockit_ftp *f, const char *path, int mode, uint64_t offset, struct source *src,
                uint64_t *sent_out)
{
    uint64_t sent = 0;
    char what[300];
    name_op(what, sizeof what, mode == SOCKIT_FTP_APPEND ? "append" : "stor", path);
    int rc = sockit__ftp_check_arg(what, path);
    if (rc < 0) return rc;
    sockit__ftp_data d;
    const char *verb = mode == SOCKIT_FTP_APPEND ? "APPE" : "STOR";
    rc = sockit__ftp_data_open(f, &d, what, verb, path, mode == SOCKIT_FTP_STORE ? offset : 0);
    if (rc < 0) return rc;
    int local = 0;
    rc = progress(f, offset, src->total);
    if (rc == 0 && d.s) rc = push(f, &d, what, src, offset, &sent, &local);
    else if (rc < 0) local = 1;
    if (sent_out) *sent_out = sent;
    if (local) return sockit__ftp_data_abort(f, &d, rc);
    return sockit__ftp_data_finish(f, &d, what, rc, 1);
}

static int check_stor(sockit_ftp *f, const char *path, int mode, uint64_t *sent)
{
    if (sent) *sent = 0;
    if (!f || !path) return sockit__failmsg(-EINVAL, "ftp stor: no session or path");
    if (mode < SOCKIT_FTP_STORE || mode > SOCKIT_FTP_RESUME)
        return sockit__failmsg(-EINVAL, "ftp stor: bad mode %d", mode);
    return 0;
}

int sockit_ftp_stor(sockit_ftp *f, const char *path, int mode, uint64_t offset,
                    sockit_ftp_read_fn fn, void *arg, uint64_t *sent)
{
    int rc = check_stor(f, path, mode, sent);
    if (rc < 0) return rc;
    if (!fn || mode == SOCKIT_FTP_RESUME)
        return sockit__failmsg(-EINVAL, "ftp stor: no read callback, or RESUME with one");
    struct source src = {.fn = fn, .arg = arg, .fd = -1, .total = -1};
    return stor(f, path, mode, offset, &src, sent);
}

int sockit_ftp_stor_fd(sockit_ftp *f, const char *path, int mode, uint64_t offset, int fd,
                       uint64_t *sent)
{
    int rc = check_stor(f, path, mode, sent);
    if (rc < 0) return rc;
    struct stat st;
    if (fstat(fd, &st) < 0) return sockit__fail(-errno, "ftp stor: descriptor %d", fd);
    struct source src = {.fd = fd, .total = S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1};
    if (mode == SOCKIT_FTP_RESUME) {
        int64_t have = remote_size(f, path);
        if (have < -1) return (int)have;
        offset = have < 0 ? 0 : (uint64_t)have;
        if (src.total >= 0 && offset > (uint64_t)src.total)
            return sockit__failmsg(SOCKIT_EPROTO, "stor %.256s: the remote file (%llu bytes) is "
                                   "longer than the local one (%lld bytes)", path,
                                   (unsigned long long)offset, (long long)src.total);
        if (src.total >= 0 && offset == (uint64_t)src.total) return progress(f, offset, src.total);
        mode = offset == 0 ? SOCKIT_FTP_STORE
               : (f->features & SOCKIT_FTP_FEAT_REST) ? SOCKIT_FTP_STORE : SOCKIT_FTP_APPEND;
    }
    src.pos = offset;
    return stor(f, path, mode, offset, &src, sent);
}

int sockit_ftp_upload(sockit_ftp *f, const char *path, const char *local, int mode,
                      uint64_t *sent)
{
    if (sent) *sent = 0;
    if (!local) return sockit__failmsg(-EINVAL, "ftp upload: no local file");
    int fd = open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sockit__fail(-errno, "ftp upload: open %s", local);
    int rc = sockit_ftp_stor_fd(f, path, mode, 0, fd, sent);
    close(fd);
    return rc;
}
