/*
 * TLS for any connected sockit_sock, on OpenSSL 3.
 *
 * The socket gets a layer (internal/core.h): sockit_send/recv and everything built on them go
 * through SSL_write/SSL_read. OpenSSL talks to the fd through a small BIO of ours that uses
 * send/recv with MSG_NOSIGNAL and MSG_DONTWAIT, so no write ever raises SIGPIPE and no call sleeps
 * in the kernel whatever the fd's mode; EAGAIN is "retry", and WANT_READ/WANT_WRITE then wait on
 * the fd against the caller's deadline, exactly like plain I/O.
 */
#include "internal/tls.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#define SESSION_SLOTS 64

struct session_slot {
    char key[320];
    SSL_SESSION *sess;
};

struct sockit_tls_ctx {
    SSL_CTX *ssl;
    _Atomic int refs;
    int server, insecure;
    unsigned char alpn[256]; /* wire format */
    unsigned alpn_len;
    pthread_mutex_t mu;
    struct session_slot cache[SESSION_SLOTS];
    unsigned next_slot;
};

/* ---- the BIO ------------------------------------------------------------------------------ */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;
static int ex_index = -1; /* SSL ex data: the tls_state */

static int bio_write(BIO *b, const char *buf, int len)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EINTR) BIO_set_retry_write(b);
    return -1;
}

static int bio_read(BIO *b, char *buf, int len)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n = recv(fd, buf, (size_t)len, MSG_DONTWAIT);
    if (n == 0) BIO_set_flags(b, BIO_FLAGS_IN_EOF);
    if (n >= 0) return (int)n;
    if (errno == EAGAIN || errno == EINTR) BIO_set_retry_read(b);
    return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    /* OpenSSL asks this to tell a peer that just closed (treated as the end of the stream, with
     * SSL_OP_IGNORE_UNEXPECTED_EOF) from a failure. */
    case BIO_CTRL_EOF: return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
    default: return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void init_once(void)
{
    bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sockit");
    BIO_meth_set_write(bio_method, bio_write);
    BIO_meth_set_read(bio_method, bio_read);
    BIO_meth_set_ctrl(bio_method, bio_ctrl);
    BIO_meth_set_create(bio_method, bio_create);
    ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* ---- errors --------------------------------------------------------------------------------- */

/* The names a certificate is for, for the host name mismatch message. */
static void cert_names(X509 *cert, char *out, size_t len)
{
    out[0] = 0;
    if (!cert) return;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    size_t o = 0;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && o + 4 < len; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        char ip[INET6_ADDRSTRLEN];
        const char *text = NULL;
        if (g->type == GEN_DNS) {
            text = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
        } else if (g->type == GEN_IPADD) {
            int l = ASN1_STRING_length(g->d.iPAddress);
            const unsigned char *p = ASN1_STRING_get0_data(g->d.iPAddress);
            if (inet_ntop(l == 4 ? AF_INET : AF_INET6, p, ip, sizeof ip)) text = ip;
        }
        if (text) o += (size_t)snprintf(out + o, len - o, "%s%s", o ? ", " : "", text);
    }
    GENERAL_NAMES_free(names);
    if (!out[0]) X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out, (int)len);
}

static int is_not_tls(unsigned long e)
{
    int r = ERR_GET_REASON(e);
    return ERR_GET_LIB(e) == ERR_LIB_SSL &&
           (r == SSL_R_WRONG_VERSION_NUMBER || r == SSL_R_PACKET_LENGTH_TOO_LONG ||
            r == SSL_R_HTTP_REQUEST || r == SSL_R_HTTPS_PROXY_REQUEST ||
            r == SSL_R_UNKNOWN_PROTOCOL);
}

/* Turns the state of a failed handshake or transfer into one sentence and a code. */
static int tls_error(struct tls_state *t, const char *op, int ssl_err, int sys_err)
{
    char why[512], names[256];
    unsigned long e = ERR_peek_last_error();
    /* OpenSSL fills the verify result even when verification is off: only a verifying client
     * may blame the certificate. */
    long vr = t->handshaking && !t->server && !t->insecure ? SSL_get_verify_result(t->ssl) : X509_V_OK;
    t->failed = 1;
    if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        snprintf(names, sizeof names, "%s", t->leaf_names);
        if (!names[0]) cert_names(SSL_get0_peer_certificate(t->ssl), names, sizeof names);
        snprintf(why, sizeof why, "host name mismatch: the certificate is for %s", names[0] ? names : "no name");
    } else if (vr != X509_V_OK) {
        snprintf(why, sizeof why, "certificate verify failed: %s", X509_verify_cert_error_string(vr));
    } else if (e && is_not_tls(e)) {
        snprintf(why, sizeof why, "the peer is not speaking TLS");
    } else if (e) {
        const char *r = ERR_reason_error_string(e);
        snprintf(why, sizeof why, "%s", r ? r : "error");
        if (strstr(why, "alert")) /* the peer refused us: say so */
            snprintf(why + strlen(why), sizeof why - strlen(why), " (from the peer)");
    } else if (ssl_err == SSL_ERROR_SYSCALL && sys_err) {
        ERR_clear_error();
        return sockit__fail(-sys_err, "%s with %s", op, t->peer);
    } else {
        snprintf(why, sizeof why, "the peer closed the connection%s",
                 t->handshaking ? " during the handshake" : "");
    }
    ERR_clear_error();
    return sockit__failmsg(SOCKIT_ETLS, "%s with %s: %s", op, t->peer, why);
}

/* ---- driving OpenSSL against a deadline --------------------------------------------------- */

enum op { OP_HANDSHAKE, OP_READ, OP_WRITE, OP_SHUTDOWN, OP_PEEK };

/* Runs one OpenSSL call until it completes, fails or the deadline passes: the TLS form of
 * sockit__io's loop (OpenSSL's WANT_READ/WANT_WRITE in place of EAGAIN; our BIO retries EINTR).
 * For reads and writes returns the byte count (0: end of stream); for the others 0. A
 * SOCKIT__NOWAIT deadline or nowait answers -EAGAIN instead of waiting. */
static ssize_t drive(sockit_sock *s, struct tls_state *t, enum op op, void *buf, size_t len,
                     int64_t deadline, int nowait)
{
    static const char *names[] = {"tls handshake", "tls read", "tls write", "tls shutdown", "tls read"};
    for (;;) {
        size_t done = 0;
        int r;
        errno = 0;
        ERR_clear_error();
        switch (op) {
        case OP_HANDSHAKE: r = SSL_do_handshake(t->ssl); break;
        case OP_READ: r = SSL_read_ex(t->ssl, buf, len, &done); break;
        case OP_WRITE: r = SSL_write_ex(t->ssl, buf, len, &done); break;
        case OP_PEEK: r = SSL_peek_ex(t->ssl, buf, len, &done); break;
        default:
            r = SSL_shutdown(t->ssl);
            if (r == 0 && len) continue; /* our close_notify is sent; len 1: wait for the peer's */
            if (r == 0) r = 1;
            break;
        }
        if (r == 1) return (ssize_t)done;
        int sys = errno;
        int err = SSL_get_error(t->ssl, r);
        short ev = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (ev) {
            if (deadline == SOCKIT__NOWAIT || nowait) return -EAGAIN;
            int w = sockit__wait(s->fd, ev, deadline);
            if (w == -ETIMEDOUT)
                return sockit__failmsg(-ETIMEDOUT, "%s with %s: timed out", names[op], t->peer);
            if (w < 0) return sockit__fail(w, "%s with %s", names[op], t->peer);
            continue;
        }
        if (err == SSL_ERROR_ZERO_RETURN && op != OP_HANDSHAKE && op != OP_WRITE) return 0;
        if (err == SSL_ERROR_SYSCALL && !sys && op == OP_SHUTDOWN) return 0; /* peer just closed */
        return tls_error(t, names[op], err, sys);
    }
}

static ssize_t layer_send(sockit_sock *s, const void *buf, size_t len, int flags, int64_t deadline)
{
    struct tls_state *t = s->layer_ctx;
    if (len == 0) return 0;
    return drive(s, t, OP_WRITE, (void *)buf, len, deadline, flags & MSG_DONTWAIT);
}

static ssize_t layer_recv(sockit_sock *s, void *buf, size_t len, int flags, int64_t deadline)
{
    struct tls_state *t = s->layer_ctx;
    if (len == 0) return 0;
    if (flags & MSG_PEEK) /* rare (protocol sniffing): what is decrypted or arrives in time */
        return drive(s, t, OP_PEEK, buf, len, deadline, flags & MSG_DONTWAIT);
    int nowait = flags & MSG_DONTWAIT;
    if (!(flags & MSG_WAITALL)) return drive(s, t, OP_READ, buf, len, deadline, nowait);
    size_t got = 0; /* MSG_WAITALL: as recv(2), until len bytes, the end, or a failure */
    while (got < len) {
        ssize_t n = drive(s, t, OP_READ, (char *)buf + got, len - got, deadline, nowait);
        if (n <= 0) return got ? (ssize_t)got : n;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static void state_free(struct tls_state *t)
{
    if (!t) return;
    if (t->session) SSL_SESSION_free(t->session);
    SSL_free(t->ssl);
    sockit__tls_ctx_unref(t->ctx);
    free(t);
}

static int layer_close(sockit_sock *s)
{
    struct tls_state *t = s->layer_ctx;
    /* A connection that ended without a failure keeps its session resumable: OpenSSL would mark
     * it not resumable when freed without a shutdown (s_time does the same). */
    if (t && !t->failed) SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    state_free(s->layer_ctx);
    s->layer_ctx = NULL;
    s->layer = NULL;
    return 0;
}

static const sockit__layer tls_layer = {layer_send, layer_recv, layer_close};

/* ---- contexts ------------------------------------------------------------------------------- */

static int alpn_wire(sockit_tls_ctx *c, const char *list)
{
    c->alpn_len = 0;
    while (list && *list) {
        size_t n = strcspn(list, ",");
        if (n == 0 || n > 255 || c->alpn_len + 1 + n > sizeof c->alpn)
            return sockit__failmsg(-EINVAL, "tls: bad ALPN list");
        c->alpn[c->alpn_len++] = (unsigned char)n;
        memcpy(c->alpn + c->alpn_len, list, n);
        c->alpn_len += (unsigned)n;
        list += n + (list[n] == ',');
    }
    return 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg)
{
    sockit_tls_ctx *c = arg;
    unsigned char *o;
    if (SSL_select_next_proto(&o, outlen, c->alpn, c->alpn_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

/* Verification: OpenSSL's verdict stands; we only note the leaf's names for the message. */
static int on_verify(int ok, X509_STORE_CTX *store)
{
    if (!ok && X509_STORE_CTX_get_error_depth(store) == 0) {
        SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
        struct tls_state *t = ssl ? SSL_get_ex_data(ssl, ex_index) : NULL;
        if (t) cert_names(X509_STORE_CTX_get_current_cert(store), t->leaf_names, sizeof t->leaf_names);
    }
    return ok;
}

/* Client session cache: the newest session per "host port", for resumption; and the newest of
 * each connection, for another connection that resumes it (reuse_from). */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct tls_state *t = SSL_get_ex_data(ssl, ex_index);
    if (!t) return 0;
    SSL_SESSION_up_ref(sess);
    if (t->session) SSL_SESSION_free(t->session);
    t->session = sess;
    if (!t->cache_key[0]) return 0;
    sockit_tls_ctx *c = t->ctx;
    pthread_mutex_lock(&c->mu);
    struct session_slot *slot = NULL;
    for (int i = 0; i < SESSION_SLOTS && !slot; i++)
        if (!strcmp(c->cache[i].key, t->cache_key)) slot = &c->cache[i];
    if (!slot) slot = &c->cache[c->next_slot++ % SESSION_SLOTS];
    if (slot->sess) SSL_SESSION_free(slot->sess);
    snprintf(slot->key, sizeof slot->key, "%s", t->cache_key);
    slot->sess = sess;
    pthread_mutex_unlock(&c->mu);
    return 1; /* we keep the reference */
}

/* A file the context reads: one that cannot be opened is the OS's code (-ENOENT, -EACCES ...)
 * naming the file; SOCKIT_ETLS is kept for a file whose content is wrong. dir: capath. */
static int check_file(const char *what, const char *path, int dir)
{
    if (!path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
    if (fd < 0) return sockit__fail(-errno, "tls: %s %s", what, path);
    char b;
    /* A directory where a file is expected reads as EISDIR: say that, not "PEM lib". */
    if (!dir && read(fd, &b, 0) < 0) {
        int e = errno;
        close(fd);
        return sockit__fail(-e, "tls: %s %s", what, path);
    }
    close(fd);
    return 0;
}

static void ctx_destroy(sockit_tls_ctx *c)
{
    ERR_clear_error();
    SSL_CTX_free(c->ssl);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static int load_fail(sockit_tls_ctx *c, const char *what, const char *file)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    char why[256];
    snprintf(why, sizeof why, "%s", r ? r : "failed");
    ctx_destroy(c);
    return sockit__failmsg(SOCKIT_ETLS, "tls: %s %s: %s", what, file ? file : "", why);
}

int sockit_tls_ctx_new(sockit_tls_ctx **out, const sockit_tls_opts *opts)
{
    sockit_tls_opts o = opts ? *opts : (sockit_tls_opts){0};
    pthread_once(&bio_once, init_once);
    if (!bio_method) return sockit__failmsg(-ENOMEM, "tls: cannot set up the BIO");
    if (o.server && (!o.cert || !o.key))
        return sockit__failmsg(-EINVAL, "tls: a server context needs a certificate and a key");
    int r = check_file("load certificate", o.cert, 0);
    if (r == 0) r = check_file("load key", o.key, 0);
    if (r == 0 && !o.server) r = check_file("load CA", o.cafile, 0);
    if (r == 0 && !o.server) r = check_file("load CA directory", o.capath, 1);
    if (r < 0) return r;
    sockit_tls_ctx *c = calloc(1, sizeof *c);
    if (!c) return sockit__fail(-ENOMEM, "tls context");
    pthread_mutex_init(&c->mu, NULL);
    c->server = o.server;
    c->insecure = o.insecure;
    c->ssl = SSL_CTX_new(o.server ? TLS_server_method() : TLS_client_method());
    if (!c->ssl) return load_fail(c, "context", NULL);
    atomic_store(&c->refs, 1);
    SSL_CTX_set_min_proto_version(c->ssl, o.min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    if (o.max_version == 12) SSL_CTX_set_max_proto_version(c->ssl, TLS1_2_VERSION);
    SSL_CTX_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                 SSL_MODE_RELEASE_BUFFERS);
    if (o.cert && SSL_CTX_use_certificate_chain_file(c->ssl, o.cert) != 1)
        return load_fail(c, "load certificate", o.cert);
    if (o.key && SSL_CTX_use_PrivateKey_file(c->ssl, o.key, SSL_FILETYPE_PEM) != 1)
        return load_fail(c, "load key", o.key);
    if (o.cert && o.key && SSL_CTX_check_private_key(c->ssl) != 1)
        return load_fail(c, "key does not match certificate", o.cert);
    if (!o.server) {
        int ok = (o.cafile || o.capath) ? SSL_CTX_load_verify_locations(c->ssl, o.cafile, o.capath)
                                        : SSL_CTX_set_default_verify_paths(c->ssl);
        if (ok != 1) return load_fail(c, "load CA", o.cafile ? o.cafile : o.capath);
        SSL_CTX_set_verify(c->ssl, o.insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, on_verify);
        if (!o.no_resumption) {
            SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
            SSL_CTX_sess_set_new_cb(c->ssl, on_new_session);
        }
    } else if (o.no_resumption) {
        SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(c->ssl, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(c->ssl, 0);
    } else {
        static const unsigned char sid[] = "sockit";
        SSL_CTX_set_session_id_context(c->ssl, sid, sizeof sid - 1);
    }
    if (alpn_wire(c, o.alpn) < 0) {
        ctx_destroy(c);
        return -EINVAL;
    }
    if (c->alpn_len && !o.server) SSL_CTX_set_alpn_protos(c->ssl, c->alpn, c->alpn_len);
    if (c->alpn_len && o.server) SSL_CTX_set_alpn_select_cb(c->ssl, alpn_select, c);
    *out = c;
    return 0;
}

void sockit__tls_ctx_unref(sockit_tls_ctx *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
    for (int i = 0; i < SESSION_SLOTS; i++)
        if (c->cache[i].sess) SSL_SESSION_free(c->cache[i].sess);
    SSL_CTX_free(c->ssl);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void sockit_tls_ctx_free(sockit_tls_ctx *c) { sockit__tls_ctx_unref(c); }

sockit_tls_ctx *sockit__tls_ctx_ref(sockit_tls_ctx *c)
{
    if (c) atomic_fetch_add(&c->refs, 1);
    return c;
}

SSL_CTX *sockit__tls_ssl_ctx(sockit_tls_ctx *c) { return c->ssl; }

/* ---- wrapping ------------------------------------------------------------------------------- */

struct tls_state *sockit__tls_state_new(sockit_tls_ctx *c, int fd, int server, const char *peer)
{
    struct tls_state *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ssl = SSL_new(c->ssl);
    BIO *b = t->ssl ? BIO_new(bio_method) : NULL;
    if (!b) {
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    BIO_set_data(b, (void *)(intptr_t)fd);
    SSL_set_bio(t->ssl, b, b);
    SSL_set_ex_data(t->ssl, ex_index, t);
    atomic_fetch_add(&c->refs, 1);
    t->ctx = c;
    t->server = server;
    t->insecure = c->insecure;
    snprintf(t->peer, sizeof t->peer, "%s", peer);
    return t;
}

void sockit__tls_state_free(struct tls_state *t) { state_free(t); }

static void peer_name(sockit_sock *s, const char *host, char *out, size_t len)
{
    if (host && *host) snprintf(out, len, "%s", host);
    else sockit__peer_name(s, out, len);
}

static int handshake(sockit_sock *s, struct tls_state *t, int64_t deadline)
{
    t->handshaking = 1;
    ssize_t r = drive(s, t, OP_HANDSHAKE, NULL, 0, deadline, 0);
    t->handshaking = 0;
    if (r == -EAGAIN) r = sockit__failmsg(-EAGAIN, "tls handshake with %s: the socket is non-blocking", t->peer);
    if (r < 0) {
        state_free(t);
        return (int)r;
    }
    s->layer = &tls_layer;
    s->layer_ctx = t;
    return 0;
}

static int check_wrap(sockit_sock *s, sockit_tls_ctx *c, int server)
{
    if (!s) return sockit__failmsg(-EBADF, "tls: no socket (NULL)");
    if (s->layer) return sockit__failmsg(-EALREADY, "tls: the socket already speaks TLS");
    if (!c) return sockit__failmsg(-EINVAL, "tls: no context");
    if (c->server != server)
        return sockit__failmsg(-EINVAL, "tls: a %s context used to %s", c->server ? "server" : "client",
                               server ? "accept" : "connect");
    if (s->type != SOCK_STREAM) return sockit__failmsg(-EPROTOTYPE, "tls: only stream sockets");
    return 0;
}

/* The common start of connect and accept: checks, then a fresh TLS state named for messages. */
static int begin_wrap(sockit_sock *s, sockit_tls_ctx *c, int server, const char *host,
                      struct tls_state **out)
{
    int r = check_wrap(s, c, server);
    if (r < 0) return r;
    char peer[300];
    peer_name(s, host, peer, sizeof peer);
    *out = sockit__tls_state_new(c, s->fd, server, peer);
    return *out ? 0 : sockit__fail(-ENOMEM, "tls");
}

/* How long a TLS 1.3 connection waits for the session ticket another connection wants to resume
 * (servers send it right after the handshake; one that sends none must not cost much more). */
#define TICKET_WAIT_NS 1000000000

/* The session of another TLS client socket, to resume (FTPS data connections resume the control
 * connection's). TLS 1.2 has it at the end of the handshake. In TLS 1.3 it comes after, with the
 * server's session ticket: records that have arrived are processed with a peek (application data
 * stays buffered for the next read), and if no ticket is there yet it is waited for, within the
 * deadline and TICKET_WAIT_NS. NULL if there is none (a full handshake follows). */
static SSL_SESSION *session_of(const sockit_sock *from, int64_t deadline)
{
    struct tls_state *f = from && from->layer == &tls_layer ? from->layer_ctx : NULL;
    if (!f || f->server) return NULL;
    if (SSL_version(f->ssl) < TLS1_3_VERSION) {
        SSL_SESSION *cur = SSL_get0_session(f->ssl);
        return cur && SSL_SESSION_is_resumable(cur) ? cur : NULL;
    }
    int64_t cap = sockit__now() + TICKET_WAIT_NS;
    int64_t until = deadline < cap ? deadline : cap;
    while (!f->session || !SSL_SESSION_is_resumable(f->session)) {
        char c;
        size_t n;
        ERR_clear_error();
        if (SSL_peek_ex(f->ssl, &c, 1, &n) == 1) break; /* data came first: no ticket is coming */
        int err = SSL_get_error(f->ssl, 0);
        ERR_clear_error();
        if (err != SSL_ERROR_WANT_READ || sockit__wait(from->fd, POLLIN, until) < 0) break;
    }
    return f->session && SSL_SESSION_is_resumable(f->session) ? f->session : NULL;
}

/* SNI, the name to verify, and the session to resume: the cached one for this host and port, or
 * reuse_from's. */
static int client_setup(sockit_sock *s, sockit_tls_ctx *c, struct tls_state *t, const char *host,
                        const sockit_tls_connect_opts *o, SSL_SESSION *sess, int64_t deadline)
{
    struct in6_addr ip;
    char bare[300];
    if (strlen(host) > 255) /* 253 for a DNS name; brackets and a zone for an IPv6 literal */
        return sockit__failmsg(-EINVAL, "tls: host name too long (%zu bytes)", strlen(host));
    snprintf(bare, sizeof bare, "%s", host[0] == '[' ? host + 1 : host);
    bare[strcspn(bare, "]%")] = 0;
    int is_ip = inet_pton(AF_INET, bare, &ip) == 1 || inet_pton(AF_INET6, bare, &ip) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(t->ssl, bare);
    if (!c->insecure) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
        if (is_ip) X509_VERIFY_PARAM_set1_ip_asc(vp, bare);
        else SSL_set1_host(t->ssl, bare);
    }
    sockit_addr a;
    a.len = sizeof a.sa;
    if (getpeername(s->fd, (struct sockaddr *)&a.sa, &a.len) == 0)
        snprintf(t->cache_key, sizeof t->cache_key, "%s %d", bare, sockit_addr_port(&a));
    SSL_SESSION *reuse = sess ? sess : o && o->reuse_from ? session_of(o->reuse_from, deadline) : NULL;
    if (reuse) {
        SSL_set_session(t->ssl, reuse);
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < SESSION_SLOTS; i++)
        if (c->cache[i].sess && !strcmp(c->cache[i].key, t->cache_key)) SSL_set_session(t->ssl, c->cache[i].sess);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int client_connect(sockit_sock *s, sockit_tls_ctx *c, const char *host,
                          const sockit_tls_connect_opts *o, SSL_SESSION *sess, int64_t deadline)
{
    struct tls_state *t;
    int r = begin_wrap(s, c, 0, host, &t);
    if (r < 0) return r;
    if (host && *host) r = client_setup(s, c, t, host, o, sess, deadline);
    else if (!c->insecure)
        r = sockit__failmsg(-EINVAL, "tls: a host name to verify is needed (or an insecure context)");
    else if (sess)
        SSL_set_session(t->ssl, sess);
    else if (o && o->reuse_from) {
        SSL_SESSION *reuse = session_of(o->reuse_from, deadline);
        if (reuse) SSL_set_session(t->ssl, reuse);
    }
    if (r < 0) {
        state_free(t);
        return r;
    }
    SSL_set_connect_state(t->ssl);
    return handshake(s, t, deadline);
}

int sockit__tls_connect_dl(sockit_sock *s, sockit_tls_ctx *c, const char *host,
                           const sockit_tls_connect_opts *o, int64_t deadline)
{
    return client_connect(s, c, host, o, NULL, deadline);
}

int sockit__tls_connect_session(sockit_sock *s, sockit_tls_ctx *c, const char *host,
                                sockit__tls_session *sess, int64_t deadline)
{
    return client_connect(s, c, host, NULL, (SSL_SESSION *)sess, deadline);
}

sockit__tls_session *sockit__tls_session_take(const sockit_sock *s)
{
    struct tls_state *t = s && s->layer == &tls_layer ? s->layer_ctx : NULL;
    if (!t || t->server) return NULL;
    /* The newest ticket the server gave this connection (TLS 1.3, or 1.2 with tickets), else
     * the session the handshake made or resumed (TLS 1.2 session ids). */
    SSL_SESSION *sess = t->session ? t->session : SSL_get0_session(t->ssl);
    if (!sess || !SSL_SESSION_is_resumable(sess)) return NULL;
    SSL_SESSION_up_ref(sess);
    return (sockit__tls_session *)sess;
}

void sockit__tls_session_free(sockit__tls_session *sess)
{
    if (sess) SSL_SESSION_free((SSL_SESSION *)sess);
}

int sockit_tls_connect_ex(sockit_sock *s, sockit_tls_ctx *c, const char *host,
                          const sockit_tls_connect_opts *o)
{
    int64_t deadline = o && o->deadline ? o->deadline : s ? sockit__sock_deadline(s) : SOCKIT__NEVER;
    return sockit__tls_connect_dl(s, c, host, o, deadline);
}

int sockit_tls_connect(sockit_sock *s, sockit_tls_ctx *c, const char *host)
{
    return sockit_tls_connect_ex(s, c, host, NULL);
}

int sockit_tls_accept(sockit_sock *s, sockit_tls_ctx *c)
{
    struct tls_state *t;
    int r = begin_wrap(s, c, 1, NULL, &t);
    if (r < 0) return r;
    SSL_set_accept_state(t->ssl);
    return handshake(s, t, sockit__sock_deadline(s));
}

int sockit_tls_shutdown(sockit_sock *s)
{
    struct tls_state *t = s && s->layer == &tls_layer ? s->layer_ctx : NULL;
    if (!t) return sockit__failmsg(-EINVAL, "tls shutdown: the socket does not speak TLS");
    unsigned mark = sockit__errmark();
    ssize_t r = drive(s, t, OP_SHUTDOWN, NULL, 0, sockit__sock_deadline(s), 0);
    return r < 0 ? sockit__fail_ctx(mark, (int)r, "tls shutdown with %s", t->peer) : 0;
}

int sockit_tls_unwrap(sockit_sock *s)
{
    struct tls_state *t = s && s->layer == &tls_layer ? s->layer_ctx : NULL;
    if (!t) return sockit__failmsg(-EINVAL, "tls unwrap: the socket does not speak TLS");
    unsigned mark = sockit__errmark();
    ssize_t r = drive(s, t, OP_SHUTDOWN, NULL, 1, sockit__sock_deadline(s), 0);
    if (r < 0) return sockit__fail_ctx(mark, (int)r, "tls unwrap with %s", t->peer);
    layer_close(s);
    return 0;
}

static SSL *ssl_of(const sockit_sock *s)
{
    return s && s->layer == &tls_layer ? ((struct tls_state *)s->layer_ctx)->ssl : NULL;
}

int sockit_tls_active(const sockit_sock *s) { return ssl_of(s) != NULL; }

int sockit__tls_has_pending(const sockit_sock *s)
{
    SSL *ssl = ssl_of(s);
    return ssl ? SSL_has_pending(ssl) : 0;
}

int sockit_tls_pending(const sockit_sock *s)
{
    SSL *ssl = ssl_of(s);
    return ssl ? SSL_pending(ssl) : 0;
}

const char *sockit_tls_alpn(const sockit_sock *s)
{
    static _Thread_local char buf[256];
    SSL *ssl = ssl_of(s);
    if (!ssl) return NULL;
    const unsigned char *p;
    unsigned n;
    SSL_get0_alpn_selected(ssl, &p, &n);
    snprintf(buf, sizeof buf, "%.*s", (int)n, p ? (const char *)p : "");
    return buf;
}

const char *sockit_tls_version(const sockit_sock *s)
{
    SSL *ssl = ssl_of(s);
    return ssl ? SSL_get_version(ssl) : NULL;
}

const char *sockit_tls_cipher(const sockit_sock *s)
{
    SSL *ssl = ssl_of(s);
    return ssl ? SSL_get_cipher_name(ssl) : NULL;
}

int sockit_tls_resumed(const sockit_sock *s)
{
    SSL *ssl = ssl_of(s);
    return ssl ? SSL_session_reused(ssl) : 0;
}
