/*
 * sockit tls — any connected socket upgraded to TLS (OpenSSL 3), Python's ssl.wrap_socket.
 *
 * After sockit_tls_connect (client) or sockit_tls_accept (server) succeeds, the same sockit_sock
 * speaks TLS: sockit_send, sockit_recv, sockit_sendall and the buffered reader (reader.h) work
 * unchanged, and the socket's timeout bounds the handshake and every read and write as it does
 * for plain sockets. sockit_close sends no close_notify (like closing a Python SSLSocket);
 * sockit_tls_shutdown sends it, and sockit_tls_unwrap also returns the socket to plain text.
 *
 * Defaults are the safe ones: a client verifies the peer's certificate against the system store
 * (or cafile/capath) and checks the host name, and sends SNI; TLS 1.2 is the minimum.
 *
 * Errors: SOCKIT_ETLS with a sentence a person can act on, e.g.
 *   tls handshake with example.org: certificate verify failed: self-signed certificate
 *   tls handshake with other.test: host name mismatch: the certificate is for www.example.org
 *   tls handshake with 127.0.0.1:443: the peer is not speaking TLS
 * An elapsed timeout is -ETIMEDOUT ("tls handshake with ...: timed out"), as everywhere.
 */
#ifndef SOCKIT_TLS_H
#define SOCKIT_TLS_H

#include <sockit/sockit.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sockit_tls_ctx sockit_tls_ctx;

typedef struct sockit_tls_opts {
    int server;           /* 1: a server context (needs cert and key) */
    const char *cafile;   /* trust these CAs (PEM) instead of the system store */
    const char *capath;   /* ... or this hashed directory */
    const char *cert;     /* certificate chain (PEM): required for servers, optional for clients */
    const char *key;      /* its private key (PEM) */
    int insecure;         /* client: 1 skips certificate and host name verification (curl -k) */
    const char *alpn;     /* protocols to offer / accept, comma-separated: "h2,http/1.1" */
    int min_version;      /* 0: TLS 1.2; or 13 for TLS 1.3 only */
    int no_resumption;    /* 1: no session tickets or cache */
    int max_version;      /* 0: the newest OpenSSL has; 12 for TLS 1.2 at most (old peers, tests) */
} sockit_tls_opts;

/* A context holds configuration, trust and the session cache, shared by every connection made
 * with it (it is reference-counted internally: free it whenever you like). Thread-safe once made.
 * Errors: a file that cannot be read is the OS's code (-ENOENT, -EACCES, -EISDIR, -ENOTDIR ...)
 * with the file and reason ("tls: load CA nosuch.pem: No such file or directory"); a file read
 * but not usable is SOCKIT_ETLS ("tls: load certificate x.pem: no start line", "tls: key does
 * not match certificate ..."); -EINVAL for bad options, -ENOMEM. */
SOCKIT_API int sockit_tls_ctx_new(sockit_tls_ctx **out, const sockit_tls_opts *opts);
SOCKIT_API void sockit_tls_ctx_free(sockit_tls_ctx *ctx);

/* Client side: handshakes over the connected socket s, within s's timeout. host is the name to
 * send as SNI and to verify the certificate against (an IP literal is checked as an IP); NULL
 * skips both (only with an insecure context). On failure s is left plain and connected (close
 * it). */
SOCKIT_API int sockit_tls_connect(sockit_sock *s, sockit_tls_ctx *ctx, const char *host);

typedef struct sockit_tls_connect_opts {
    /* Resume the session of this other TLS client socket (still open), instead of the one cached
     * for host and port: an FTPS data connection resumes its control connection's session, as
     * servers with vsftpd's require_ssl_reuse demand. TLS 1.2 and 1.3: in 1.3 the session arrives
     * after the handshake with the server's ticket; records already arrived on reuse_from are
     * processed (its application data stays buffered for its next read), and a ticket not there
     * yet is waited for, within the deadline and at most 1 s. reuse_from must not be in use by
     * another thread during the call. No session to resume: a full handshake (check
     * sockit_tls_resumed). Needs resumption on in reuse_from's context for TLS 1.3. */
    const sockit_sock *reuse_from;
    int64_t deadline; /* 0: s's timeout bounds the handshake; else this deadline (sockit.h) */
} sockit_tls_connect_opts;

/* sockit_tls_connect with options (o NULL: the same call). */
SOCKIT_API int sockit_tls_connect_ex(sockit_sock *s, sockit_tls_ctx *ctx, const char *host,
                                     const sockit_tls_connect_opts *o);

/* Server side: the same for an accepted socket, with a server context. */
SOCKIT_API int sockit_tls_accept(sockit_sock *s, sockit_tls_ctx *ctx);

/* Sends close_notify: the TLS half-close. Reading goes on; the peer's close_notify reads as the
 * end of the stream (0). The socket stays TLS. */
SOCKIT_API int sockit_tls_shutdown(sockit_sock *s);

/* Ends TLS cleanly — sends close_notify and waits (within the timeout) for the peer's — and
 * returns s to plain text, for protocols that need it. Bytes the peer sends in plain text after
 * its close_notify are not lost: they are read next. */
SOCKIT_API int sockit_tls_unwrap(sockit_sock *s);

/* 1 if s speaks TLS now. */
SOCKIT_API int sockit_tls_active(const sockit_sock *s);

/* Decrypted bytes ready to be read without touching the socket (0 when s is not TLS). A program
 * that waits with its own poll() must read these first: poll() cannot see them. */
SOCKIT_API int sockit_tls_pending(const sockit_sock *s);

/* About the session (NULL / 0 when s is not TLS): the ALPN protocol chosen ("" if none), the
 * version ("TLSv1.3"), the cipher name, and whether the session was resumed. */
SOCKIT_API const char *sockit_tls_alpn(const sockit_sock *s);
SOCKIT_API const char *sockit_tls_version(const sockit_sock *s);
SOCKIT_API const char *sockit_tls_cipher(const sockit_sock *s);
SOCKIT_API int sockit_tls_resumed(const sockit_sock *s);

#ifdef __cplusplus
}
#endif

#endif /* SOCKIT_TLS_H */
