/*
 * The buffered reader for line protocols.
 *
 * One contiguous buffer: [start, end) holds bytes received and not yet consumed. Before a read
 * that needs room at the end, the unconsumed bytes slide to the front. Nothing is dropped on any
 * failure path: the bytes stay between start and end until consumed.
 */
#include "internal/core.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_BUFSIZE 16384

struct sockit_reader {
    sockit_sock *s;
    char *buf;
    size_t cap, start, end;
    size_t scanned; /* bytes from start already known to hold no '\n' */
};

int sockit_reader_new(sockit_reader **out, sockit_sock *s, size_t bufsize)
{
    if (!s) return sockit__failmsg(-EBADF, "reader: no socket (NULL)");
    if (bufsize == 0) bufsize = DEFAULT_BUFSIZE;
    sockit_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->buf = malloc(bufsize))) {
        free(r);
        return sockit__fail(-ENOMEM, "reader: %zu-byte buffer", bufsize);
    }
    r->s = s;
    r->cap = bufsize;
    *out = r;
    return 0;
}

void sockit_reader_free(sockit_reader *r)
{
    if (!r) return;
    free(r->buf);
    free(r);
}

sockit_sock *sockit_reader_sock(const sockit_reader *r) { return r->s; }

size_t sockit_reader_pending(const sockit_reader *r, const void **data)
{
    if (data) *data = r->buf + r->start;
    return r->end - r->start;
}

void sockit_reader_consume(sockit_reader *r, size_t n)
{
    size_t have = r->end - r->start;
    if (n > have) n = have;
    r->start += n;
    r->scanned = r->scanned > n ? r->scanned - n : 0;
    if (r->start == r->end) r->start = r->end = r->scanned = 0;
}

/* Receives more bytes at the end of the buffer. Returns the count, 0 at end of stream, a code
 * (without a message: the callers add their context through sockit__fail_ctx). */
static ssize_t fill(sockit_reader *r, int64_t deadline)
{
    if (r->start && r->end == r->cap) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) return SOCKIT_ETOOLONG;
    ssize_t n = sockit__recv_dl(r->s, r->buf + r->end, r->cap - r->end, 0, deadline);
    if (n > 0) r->end += (size_t)n;
    return n;
}

ssize_t sockit_reader_fill_until(sockit_reader *r, int64_t deadline)
{
    unsigned mark = sockit__errmark();
    ssize_t n = fill(r, deadline);
    if (n == SOCKIT_ETOOLONG)
        return sockit__failmsg(SOCKIT_ETOOLONG, "reader fill: the %zu-byte buffer is full (consume first)", r->cap);
    return n < 0 ? sockit__fail_ctx(mark, (int)n, "reader fill") : n;
}

ssize_t sockit_reader_fill(sockit_reader *r)
{
    return sockit_reader_fill_until(r, sockit__sock_deadline(r->s));
}

/* A line of at most max bytes (1 <= max <= the buffer size). */
static ssize_t read_line(sockit_reader *r, const char **line, size_t max, int64_t deadline)
{
    unsigned mark = sockit__errmark();
    for (;;) {
        size_t have = r->end - r->start;
        size_t look = have < max ? have : max;
        char *nl = look > r->scanned ? memchr(r->buf + r->start + r->scanned, '\n', look - r->scanned)
                                     : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->start)) + 1;
            *line = r->buf + r->start;
            r->start += n;
            r->scanned = 0;
            return (ssize_t)n;
        }
        r->scanned = look;
        if (have >= max)
            return sockit__failmsg(SOCKIT_ETOOLONG, "read line: no end of line within %zu bytes", max);
        if (r->start && r->start + max > r->cap) { /* make room for a whole line of max bytes */
            memmove(r->buf, r->buf + r->start, have);
            r->start = 0;
            r->end = have;
        }
        ssize_t n = fill(r, deadline);
        if (n < 0) return sockit__fail_ctx(mark, (int)n, "read line");
        if (n == 0) { /* end of stream: a last unterminated line, then 0 */
            *line = r->buf + r->start;
            r->start = r->end = r->scanned = 0;
            return (ssize_t)have;
        }
    }
}

ssize_t sockit_reader_line_until(sockit_reader *r, const char **line, size_t max, int64_t deadline)
{
    if (max == 0 || max > r->cap) max = r->cap;
    return read_line(r, line, max, deadline);
}

ssize_t sockit_reader_line(sockit_reader *r, const char **line, size_t max)
{
    return sockit_reader_line_until(r, line, max, sockit__sock_deadline(r->s));
}

ssize_t sockit_reader_getline(sockit_reader *r, char *buf, size_t len, int strip)
{
    const char *line;
    if (len == 0) return sockit__fail(-EINVAL, "read line: no room");
    if (len == 1) { /* room for the NUL only: every line is too long */
        buf[0] = 0;
        return sockit__failmsg(SOCKIT_ETOOLONG, "read line: a 1-byte buffer holds no line");
    }
    ssize_t n = read_line(r, &line, len - 1 < r->cap ? len - 1 : r->cap, sockit__sock_deadline(r->s));
    if (n <= 0) {
        buf[0] = 0;
        return n;
    }
    size_t k = (size_t)n;
    if (strip && k && line[k - 1] == '\n') k--;
    if (strip && k && line[k - 1] == '\r') k--;
    memcpy(buf, line, k);
    buf[k] = 0;
    return n;
}

ssize_t sockit_reader_read_until(sockit_reader *r, void *buf, size_t len, int64_t deadline)
{
    size_t have = r->end - r->start;
    if (have) {
        size_t n = have < len ? have : len;
        memcpy(buf, r->buf + r->start, n);
        sockit_reader_consume(r, n);
        return (ssize_t)n;
    }
    unsigned mark = sockit__errmark();
    ssize_t n = sockit__recv_dl(r->s, buf, len, 0, deadline);
    return n < 0 ? sockit__fail_ctx(mark, (int)n, "read") : n;
}

ssize_t sockit_reader_read(sockit_reader *r, void *buf, size_t len)
{
    return sockit_reader_read_until(r, buf, len, sockit__sock_deadline(r->s));
}

ssize_t sockit_reader_read_exact_until(sockit_reader *r, void *buf, size_t n, size_t *got,
                                       int64_t deadline)
{
    unsigned mark = sockit__errmark();
    char *p = buf;
    size_t done = r->end - r->start < n ? r->end - r->start : n;
    memcpy(p, r->buf + r->start, done);
    sockit_reader_consume(r, done);
    ssize_t res = (ssize_t)n;
    while (done < n) {
        ssize_t k = sockit__recv_dl(r->s, p + done, n - done, 0, deadline);
        if (k <= 0) {
            res = k == 0 ? sockit__failmsg(SOCKIT_ECLOSED, "read %zu bytes: the peer closed after %zu", n, done)
                         : sockit__fail_ctx(mark, (int)k, "read exact");
            break;
        }
        done += (size_t)k;
    }
    if (got) *got = done;
    return res;
}

ssize_t sockit_reader_read_exact(sockit_reader *r, void *buf, size_t n, size_t *got)
{
    return sockit_reader_read_exact_until(r, buf, n, got, sockit__sock_deadline(r->s));
}
