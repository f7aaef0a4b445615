/*
 * Private to the TLS layer, shared with the server core (non-blocking TLS connections).
 */
#ifndef SOCKIT_INTERNAL_TLS_H
#define SOCKIT_INTERNAL_TLS_H

#include "internal/core.h"
#include <sockit/tls.h>

#include <openssl/ssl.h>
#include <stdatomic.h>

struct tls_state {
    SSL *ssl;
    sockit_tls_ctx *ctx; /* a reference */
    int server, handshaking, insecure;
    int failed;          /* a TLS error happened: the session is not kept for resumption */
    char peer[300];      /* for messages */
    char leaf_names[256]; /* the peer certificate's names, kept for a mismatch message */
    char cache_key[320]; /* client: "host port" for session resumption */
    SSL_SESSION *session; /* client: the newest session the server gave us (a reference), for
                             sockit_tls_connect_ex's reuse_from; in TLS 1.3 it comes after the
                             handshake, with the server's first session ticket */
};

/* A TLS state over fd (OpenSSL reads and writes the fd through our BIO); NULL on ENOMEM. */
struct tls_state *sockit__tls_state_new(sockit_tls_ctx *c, int fd, int server, const char *peer);
void sockit__tls_state_free(struct tls_state *t);
void sockit__tls_ctx_unref(sockit_tls_ctx *c);
sockit_tls_ctx *sockit__tls_ctx_ref(sockit_tls_ctx *c);
SSL_CTX *sockit__tls_ssl_ctx(sockit_tls_ctx *c);
/* 1 if s is TLS and OpenSSL holds bytes not yet read (decrypted, or a record read from the socket
 * and not yet processed), so that poll() on the socket would not see them; else 0. */
int sockit__tls_has_pending(const sockit_sock *s);
/* The client handshake within a deadline (sockit_tls_connect_ex's body; o may be NULL). */
int sockit__tls_connect_dl(sockit_sock *s, sockit_tls_ctx *c, const char *host,
                           const sockit_tls_connect_opts *o, int64_t deadline);

/* A client session to resume on another connection, held apart from any socket (FTPS: in TLS 1.3
 * a ticket resumes once, so each data connection resumes the newest ticket of the one before,
 * the first one the control connection's). Opaque here so that protocols need no OpenSSL header:
 * it is an SSL_SESSION. */
typedef struct sockit__tls_session sockit__tls_session;
/* A reference to s's newest resumable session, or NULL (not a TLS client socket, none yet). */
sockit__tls_session *sockit__tls_session_take(const sockit_sock *s);
void sockit__tls_session_free(sockit__tls_session *sess);
/* The client handshake resuming sess (NULL: a full handshake), within a deadline. */
int sockit__tls_connect_session(sockit_sock *s, sockit_tls_ctx *c, const char *host,
                                sockit__tls_session *sess, int64_t deadline);

#endif
