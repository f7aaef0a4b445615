/*
 * sockit reader — buffered reading for line protocols (HTTP, FTP, SMTP-style, your own).
 *
 * A reader sits on a connected sockit_sock it does not own and reads through sockit_recv, so the
 * socket's timeout (and TLS, once the socket is wrapped) apply unchanged. Each call is bounded by
 * the socket's timeout as one deadline; the *_until forms take a deadline instead (sockit.h,
 * "Deadlines"), so one limit can bound a whole exchange. Nothing is ever lost: a timeout, a too-long line or an
 * error leaves every byte already received in the buffer, and sockit_reader_pending hands them
 * back (for STARTTLS-style upgrades, or to switch to another reader).
 *
 * Results, in the core's error model:
 *   > 0                    bytes delivered
 *   0                      end of stream (the peer closed) with nothing buffered
 *   SOCKIT_ETOOLONG        no end of line within the limit (the bytes stay buffered)
 *   SOCKIT_ECLOSED         read_exact: the peer closed before n bytes (see *got)
 *   -ETIMEDOUT, -EAGAIN    as the socket's timeout says (the bytes stay buffered)
 *   other negative codes   as sockit_recv
 */
#ifndef SOCKIT_READER_H
#define SOCKIT_READER_H

#include <sockit/sockit.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sockit_reader sockit_reader;

/* A reader over s with a buffer of bufsize bytes (0: 16 KiB); bufsize is also the longest line
 * it can return. s stays the caller's and must outlive the reader. -ENOMEM on allocation failure,
 * -EBADF if s is NULL. */
SOCKIT_API int sockit_reader_new(sockit_reader **out, sockit_sock *s, size_t bufsize);

/* Frees the reader (not the socket). Buffered bytes are discarded: take them first with
 * sockit_reader_pending if they matter. NULL is a no-op. */
SOCKIT_API void sockit_reader_free(sockit_reader *r);

/* Reads one line ending in "\n" of at most max bytes, the "\n" included (max 0 or above the
 * buffer size: the buffer size). *line points into the reader's buffer and stays valid until
 * the next call on r. At end of stream, a last line with no "\n" is returned as it is; then 0.
 * SOCKIT_ETOOLONG if max bytes arrived without "\n". */
SOCKIT_API ssize_t sockit_reader_line(sockit_reader *r, const char **line, size_t max);

/* Copies a line (as sockit_reader_line) into buf, NUL-terminated, the "\n" (and a "\r" before
 * it) removed when strip is 1. Returns the line length as received (so 0 is still end of stream,
 * and an empty line is 1 or 2). A line of len bytes or more, end of line included (even when
 * strip would remove it), is SOCKIT_ETOOLONG and stays buffered: nothing is truncated. */
SOCKIT_API ssize_t sockit_reader_getline(sockit_reader *r, char *buf, size_t len, int strip);

/* Reads up to len bytes: buffered bytes first, else one sockit_recv. 0 at end of stream. */
SOCKIT_API ssize_t sockit_reader_read(sockit_reader *r, void *buf, size_t len);

/* Reads exactly n bytes into buf, all within one deadline (the socket's timeout). Returns n, or
 * a code: SOCKIT_ECLOSED if the peer closed first. *got (may be NULL) is the count of bytes placed
 * in buf and consumed, also on failure, so nothing received is lost. */
SOCKIT_API ssize_t sockit_reader_read_exact(sockit_reader *r, void *buf, size_t n, size_t *got);

/* The bytes buffered and not yet consumed: *data points at them (valid until the next call on r)
 * and the count is returned. Follow with sockit_reader_consume to take them. */
SOCKIT_API size_t sockit_reader_pending(const sockit_reader *r, const void **data);

/* Receives more bytes into the buffer without consuming any: one receive (through TLS if s speaks
 * it), after sliding the pending bytes to the front if the end is full. For parsers that run in
 * place on what the reader holds: parse sockit_reader_pending's bytes, sockit_reader_consume
 * what was parsed, fill again while the parser says "incomplete". Returns the count of new bytes,
 * 0 at end of stream, SOCKIT_ETOOLONG when the buffer is full of pending bytes, or a code as
 * sockit_recv. Valid pointers from sockit_reader_pending may move: ask again after a fill. */
SOCKIT_API ssize_t sockit_reader_fill(sockit_reader *r);

/* Deadline forms: the same calls, bounded by deadline (sockit_deadline_after) instead of the
 * socket's timeout; -ETIMEDOUT once it has passed, with every received byte still buffered. */
SOCKIT_API ssize_t sockit_reader_fill_until(sockit_reader *r, int64_t deadline);
SOCKIT_API ssize_t sockit_reader_line_until(sockit_reader *r, const char **line, size_t max,
                                            int64_t deadline);
SOCKIT_API ssize_t sockit_reader_read_until(sockit_reader *r, void *buf, size_t len,
                                            int64_t deadline);
SOCKIT_API ssize_t sockit_reader_read_exact_until(sockit_reader *r, void *buf, size_t n,
                                                  size_t *got, int64_t deadline);

/* Marks n of the pending bytes consumed (n larger than pending is clamped). */
SOCKIT_API void sockit_reader_consume(sockit_reader *r, size_t n);

/* The socket under the reader. */
SOCKIT_API sockit_sock *sockit_reader_sock(const sockit_reader *r);

#ifdef __cplusplus
}
#endif

#endif /* SOCKIT_READER_H */
