/*
 * TLS as a server connection layer: the I/O operations of internal/conn_io.h over OpenSSL, for
 * the event-driven server core. Everything here is non-blocking; the core waits for readiness.
 *
 * OpenSSL's write rule: after SSL_write asks to be retried, the retry must offer the same bytes
 * (at the same or, with SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, another address) and at least as
 * many as the record it holds. With SSL_MODE_ENABLE_PARTIAL_WRITE that record is at most 16 KiB
 * of the call's first bytes. The core keeps to it: bytes a direct write could not send are
 * queued from their first byte in a fresh 16 KiB chunk; the queue only grows at its tail and is
 * written from its head, one segment per SSL_write, so a retry sees the same head segment,
 * possibly longer. File ranges are read again (pread) at the same offset in the same 16 KiB
 * chunk size into a buffer of this thread, so the retry sees the same bytes too.
 */
#include "internal/conn_io.h"
#include "internal/tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FILE_CHUNK 16384 /* one TLS record of plaintext */

/* Maps a failed OpenSSL call to the conn_io convention. */
static ssize_t io_result(struct tls_state *t, int r, int sys)
{
    switch (SSL_get_error(t->ssl, r)) {
    case SSL_ERROR_WANT_READ: return -EAGAIN;
    case SSL_ERROR_WANT_WRITE: return SOCKIT__IO_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        t->failed = 1;
        return sys ? -sys : 0; /* 0: the peer closed without close_notify, the end of stream */
    default:
        ERR_clear_error();
        t->failed = 1;
        return SOCKIT_ETLS;
    }
}

static ssize_t tls_recv(void *layer, int fd, char *buf, size_t len)
{
    struct tls_state *t = layer;
    size_t done = 0;
    (void)fd;
    errno = 0;
    int r = SSL_read_ex(t->ssl, buf, len, &done);
    return r == 1 ? (ssize_t)done : io_result(t, r, errno);
}

static ssize_t write_some(struct tls_state *t, const void *buf, size_t len)
{
    size_t done = 0;
    errno = 0;
    int r = SSL_write_ex(t->ssl, buf, len, &done);
    if (r == 1) return (ssize_t)done;
    ssize_t e = io_result(t, r, errno);
    return e == 0 ? -EPIPE : e;
}

/* One segment per call (see the top): the iovecs after the first wait for the next call. */
static ssize_t tls_sendv(void *layer, int fd, const struct iovec *iov, int n)
{
    (void)fd;
    (void)n;
    return write_some(layer, iov[0].iov_base, iov[0].iov_len);
}

static ssize_t tls_sendfile(void *layer, int fd, int file, off_t off, size_t len)
{
    static _Thread_local char buf[FILE_CHUNK];
    (void)fd;
    size_t want = len < sizeof buf ? len : sizeof buf;
    ssize_t got;
    do got = pread(file, buf, want, off);
    while (got < 0 && errno == EINTR);
    if (got <= 0) return got < 0 ? -errno : 0;
    return write_some(layer, buf, (size_t)got);
}

static int is_not_tls(unsigned long e)
{
    int r = ERR_GET_REASON(e);
    return ERR_GET_LIB(e) == ERR_LIB_SSL &&
           (r == SSL_R_WRONG_VERSION_NUMBER || r == SSL_R_PACKET_LENGTH_TOO_LONG ||
            r == SSL_R_HTTP_REQUEST || r == SSL_R_HTTPS_PROXY_REQUEST || r == SSL_R_UNKNOWN_PROTOCOL);
}

/* The sentence a failed server handshake gets: the same words as tls.c's blocking accept (a
 * server does not verify its client, so certificate failures are the peer's to report). */
static int handshake_error(struct tls_state *t, int ssl_err, int sys_err)
{
    unsigned long e = ERR_peek_last_error();
    char why[256];
    t->failed = 1;
    if (e && is_not_tls(e)) {
        snprintf(why, sizeof why, "the peer is not speaking TLS");
    } else if (e) {
        const char *r = ERR_reason_error_string(e);
        snprintf(why, sizeof why, "%s%s", r ? r : "error", r && strstr(r, "alert") ? " (from the peer)" : "");
    } else if (ssl_err == SSL_ERROR_SYSCALL && sys_err) {
        ERR_clear_error();
        return sockit__fail(-sys_err, "tls handshake with %s", t->peer);
    } else {
        snprintf(why, sizeof why, "the peer closed the connection during the handshake");
    }
    ERR_clear_error();
    return sockit__failmsg(SOCKIT_ETLS, "tls handshake with %s: %s", t->peer, why);
}

static int tls_handshake(void *layer, int fd)
{
    struct tls_state *t = layer;
    (void)fd;
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        t->handshaking = 0;
        return 0;
    }
    int sys = errno, err = SSL_get_error(t->ssl, r);
    if (err == SSL_ERROR_WANT_READ) return -EAGAIN;
    if (err == SSL_ERROR_WANT_WRITE) return SOCKIT__IO_WANT_WRITE;
    return handshake_error(t, err, sys);
}

static void tls_shutdown(void *layer, int fd)
{
    struct tls_state *t = layer;
    (void)fd;
    SSL_shutdown(t->ssl); /* close_notify, best effort: the socket is non-blocking */
    ERR_clear_error();
}

static int tls_pending(void *layer) { return SSL_has_pending(((struct tls_state *)layer)->ssl); }

static ssize_t copy_out(void *buf, size_t len, const void *src, size_t n)
{
    if (!len) return 0;
    if (n >= len) n = len - 1;
    memcpy(buf, src, n);
    ((char *)buf)[n] = 0;
    return (ssize_t)n;
}

static ssize_t tls_query(void *layer, int what, void *buf, size_t len)
{
    struct tls_state *t = layer;
    if (what == SOCKIT__IO_ALPN) {
        const unsigned char *p;
        unsigned n;
        SSL_get0_alpn_selected(t->ssl, &p, &n);
        return copy_out(buf, len, p ? p : (const unsigned char *)"", p ? n : 0);
    }
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    if (!cert) return 0;
    if (what == SOCKIT__IO_PEER_SUBJECT) {
        char line[512];
        X509_NAME_oneline(X509_get_subject_name(cert), line, sizeof line);
        return copy_out(buf, len, line, strlen(line));
    }
    int n = i2d_X509(cert, NULL);
    if (n <= 0) return sockit__failmsg(SOCKIT_ETLS, "tls: encoding the peer certificate");
    if ((size_t)n <= len) {
        unsigned char *p = buf;
        i2d_X509(cert, &p);
    }
    return n;
}

static void tls_free(void *layer, int fd, int clean)
{
    struct tls_state *t = layer;
    (void)fd;
    if (clean && !t->failed && !t->handshaking) tls_shutdown(t, fd);
    ERR_clear_error();
    sockit__tls_state_free(t);
}

static const sockit__conn_io tls_io = {
    .name = "tls",
    .recv = tls_recv,
    .sendv = tls_sendv,
    .sendfile = tls_sendfile,
    .handshake = tls_handshake,
    .shutdown = tls_shutdown,
    .pending = tls_pending,
    .query = tls_query,
    .free = tls_free,
};

int sockit__tls_conn_new(sockit_tls_ctx *ctx, int fd, const char *peer, const sockit__conn_io **io,
                         void **layer)
{
    struct tls_state *t = sockit__tls_state_new(ctx, fd, 1, peer);
    if (!t) return sockit__fail(-ENOMEM, "tls: a connection from %s", peer);
    SSL_set_mode(t->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    SSL_set_accept_state(t->ssl);
    t->handshaking = 1;
    *io = &tls_io;
    *layer = t;
    return 0;
}
