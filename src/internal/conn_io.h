/*
 * A server connection's I/O operations (nginx's c->recv / c->send_chain): the seam between the
 * server core and what carries the bytes. The plain socket provides them (server/conn_io.c);
 * TLS swaps in its own (tls/tls_conn.c). The core never knows which one it drives, so it holds no
 * OpenSSL call, and every protocol on the core gets TLS for free.
 *
 * Every operation is non-blocking. Byte operations return the count moved (recv: 0 at the end of
 * the stream), -EAGAIN when they must wait for the socket to be readable, SOCKIT__IO_WANT_WRITE
 * when they must wait for it to be writable (TLS may need to write to read), or another negative
 * code: the connection failed. They set no message (the core decides what is worth saying).
 */
#ifndef SOCKIT_INTERNAL_CONN_IO_H
#define SOCKIT_INTERNAL_CONN_IO_H

#include <sockit/server.h>

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* "Wait until the socket is writable": recv, send or handshake cannot progress before. No send
 * or recv on a socket fails with EINPROGRESS, so the value is free. */
#define SOCKIT__IO_WANT_WRITE (-EINPROGRESS)

/* What query() answers. */
enum { SOCKIT__IO_ALPN, SOCKIT__IO_PEER_SUBJECT, SOCKIT__IO_PEER_DER };

typedef struct sockit__conn_io {
    const char *name;
    ssize_t (*recv)(void *layer, int fd, char *buf, size_t len);
    /* Writes from the iovecs in order (at most the first n). Over TLS the retry rule of SSL_write
     * holds: after SOCKIT__IO_WANT_WRITE (or -EAGAIN) the caller offers the same bytes again,
     * possibly followed by more, never fewer — the core's queue only grows at its tail. */
    ssize_t (*sendv)(void *layer, int fd, const struct iovec *iov, int n);
    /* Writes up to len bytes of `file` from offset off (sendfile(2); TLS reads the range with
     * pread and encrypts it). 0 means the file ended before off + len. */
    ssize_t (*sendfile)(void *layer, int fd, int file, off_t off, size_t len);
    /* Advances the handshake: 0 done, -EAGAIN / SOCKIT__IO_WANT_WRITE, or a failure with
     * sockit_errmsg() saying why (the same sentence as a blocking sockit_tls_accept). NULL: none. */
    int (*handshake)(void *layer, int fd);
    /* Sends the end of this direction's stream at the layer's level (TLS close_notify), best
     * effort, before the core shuts down the socket's sending side. NULL: nothing to do. */
    void (*shutdown)(void *layer, int fd);
    /* Bytes the layer holds decrypted, which the socket's readiness cannot announce. */
    int (*pending)(void *layer);
    /* Facts about the session (see the enum): the length written to buf (at most len; the DER
     * form reports its full length even when buf is too small), 0 none, or a negative code. */
    ssize_t (*query)(void *layer, int what, void *buf, size_t len);
    /* Frees the layer; clean: the stream ended in order (say close_notify first). The socket
     * itself stays the core's to close. */
    void (*free)(void *layer, int fd, int clean);
} sockit__conn_io;

/* The plain socket, in server/conn_io.c. */
extern const sockit__conn_io sockit__plain_io;
ssize_t sockit__plain_recv(void *layer, int fd, char *buf, size_t len);
ssize_t sockit__plain_sendv(void *layer, int fd, const struct iovec *iov, int n);

/* TLS, in tls/tls_conn.c: a server-side layer over the accepted socket fd with the server
 * context; peer names the client in messages. 0 with *io and *layer set, or -ENOMEM. */
/* The server holds its own reference to its context (as tls.c counts them). */
sockit_tls_ctx *sockit__tls_ctx_ref(sockit_tls_ctx *c);
void sockit__tls_ctx_unref(sockit_tls_ctx *c);
int sockit__tls_conn_new(sockit_tls_ctx *ctx, int fd, const char *peer, const sockit__conn_io **io,
                         void **layer);

#endif
