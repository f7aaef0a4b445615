/*
 * FTP data connections: passive (EPSV, falling back to PASV), active (EPRT, falling back to
 * PORT), the transfer command's first reply, TLS with the control connection's session, and the
 * end of a transfer (final reply, keep-alive NOOP replies, ABOR).
 */
#include "internal/ftp.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

static void set_port(sockit_addr *a, int port)
{
    if (a->sa.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&a->sa)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&a->sa)->sin_port = htons((uint16_t)port);
}

static int same_host(const sockit_addr *a, const sockit_addr *b)
{
    sockit_addr x = *a, y = *b;
    set_port(&x, 0);
    set_port(&y, 0);
    return sockit_addr_equal(&x, &y);
}

static int dial(sockit_ftp *f, sockit__ftp_data *d, const sockit_addr *a, int64_t dl)
{
    return sockit__connect_many(&d->s, a, 1, SOCK_STREAM, NULL, f->timeout, dl,
                                "ftp data connection");
}

/* ---- passive ------------------------------------------------------------------------------ */

/* EPSV: 1 when connected, 0 when the caller should try PASV, or a fatal code. */
static int try_epsv(sockit_ftp *f, sockit__ftp_data *d, const sockit_addr *peer, int64_t dl)
{
    int rc = sockit__ftp_send(f, "EPSV", NULL, dl);
    if (rc < 0) return rc;
    int code = sockit__ftp_final(f, dl);
    if (code < 0) return code;
    int port = code == 229 ? sockit__ftp_parse_epsv(f->text, f->text_len) : -1;
    if (port > 0) {
        sockit_addr a = *peer;
        set_port(&a, port);
        rc = dial(f, d, &a, dl);
        if (rc == 0) return 1;
        if (rc == -ETIMEDOUT) return rc; /* no time left for PASV either */
    }
    f->epsv_refused = 1; /* refused, malformed or unreachable: PASV from now on */
    return 0;
}

static int try_pasv(sockit_ftp *f, sockit__ftp_data *d, const char *what, const sockit_addr *peer,
                    int64_t dl)
{
    int rc = sockit__ftp_send(f, "PASV", NULL, dl);
    if (rc < 0) return rc;
    int code = sockit__ftp_final(f, dl);
    if (code < 0) return code;
    char w[320];
    snprintf(w, sizeof w, "%s: PASV", what);
    if (code != 227) return sockit__ftp_fail_reply(f, w);
    unsigned char ip[4];
    int port;
    if ((rc = sockit__ftp_parse_pasv(f->text, f->text_len, ip, &port)) < 0) return rc;
    sockit_addr a = *peer;
    if (f->o.use_pasv_address) {
        char host[16];
        snprintf(host, sizeof host, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
        if ((rc = sockit_addr_ipv4(&a, ntohl(inet_addr(host)), 0)) < 0) return rc;
    }
    set_port(&a, port);
    return dial(f, d, &a, dl);
}

static int passive(sockit_ftp *f, sockit__ftp_data *d, const char *what, int64_t dl)
{
    sockit_addr peer;
    int rc = sockit_getpeername(f->ctl, &peer);
    if (rc < 0) return rc;
    if (!f->epsv_refused && !f->o.no_epsv) {
        rc = try_epsv(f, d, &peer, dl);
        if (rc != 0) {
            if (rc > 0) f->used_pasv = 0;
            return rc < 0 ? rc : 0;
        }
    }
    if ((rc = try_pasv(f, d, what, &peer, dl)) < 0) return rc;
    f->used_pasv = 1;
    return 0;
}

/* ---- active ------------------------------------------------------------------------------- */

static int announce(sockit_ftp *f, const char *what, const sockit_addr *a, int64_t dl)
{
    char ip[INET6_ADDRSTRLEN], arg[128], w[320];
    int v6 = a->sa.ss_family == AF_INET6;
    int port = sockit_addr_port(a);
    const void *raw = v6 ? (const void *)&((const struct sockaddr_in6 *)&a->sa)->sin6_addr
                         : (const void *)&((const struct sockaddr_in *)&a->sa)->sin_addr;
    inet_ntop(a->sa.ss_family, raw, ip, sizeof ip);
    if (!f->eprt_refused || v6) {
        snprintf(arg, sizeof arg, "|%d|%s|%d|", v6 ? 2 : 1, ip, port);
        snprintf(w, sizeof w, "%s: EPRT", what);
        int rc = sockit__ftp_command(f, w, "EPRT", arg, "2");
        if (rc >= 0 || v6 || f->broken || f->code < 500) return rc < 0 ? rc : 0;
        f->eprt_refused = 1;
    }
    const unsigned char *b = raw;
    snprintf(arg, sizeof arg, "%u,%u,%u,%u,%d,%d", b[0], b[1], b[2], b[3], port >> 8, port & 255);
    snprintf(w, sizeof w, "%s: PORT", what);
    int rc = sockit__ftp_command(f, w, "PORT", arg, "2");
    return rc < 0 ? rc : 0;
}

static int active(sockit_ftp *f, sockit__ftp_data *d, const char *what, int64_t dl)
{
    sockit_addr local, bound;
    int rc = sockit_getsockname(f->ctl, &local);
    if (rc < 0) return rc;
    set_port(&local, 0);
    if ((rc = sockit_socket(&d->lsn, local.sa.ss_family, SOCK_STREAM, 0)) < 0) return rc;
    if ((rc = sockit_bind_addr(d->lsn, &local)) < 0 || (rc = sockit_listen(d->lsn, 1)) < 0 ||
        (rc = sockit_getsockname(d->lsn, &bound)) < 0)
        return rc;
    f->used_pasv = 0;
    return announce(f, what, &bound, dl);
}

/* While waiting for the server's data connection: an error reply on the control connection (the
 * server could not connect and says so: "150", then "425") ends the wait. A 2xx (the transfer's
 * end, told before its connection is accepted) does not: the connection is then still awaited,
 * and the control connection no longer watched. Either becomes d->first (nothing more is owed).
 * 0 to go on waiting, or the error with the server's reply. */
static int control_says(sockit_ftp *f, sockit__ftp_data *d, const char *what, int64_t dl)
{
    for (;;) {
        const void *p;
        int code = 0;
        ssize_t got = sockit_reader_fill_until(f->rd, SOCKIT__NOWAIT);
        size_t n = sockit_reader_pending(f->rd, &p);
        int whole = n > 0 && sockit__ftp_parse_reply(p, n, &code) != SOCKIT_EINCOMPLETE;
        if (!whole && (got > 0 || got == -EAGAIN)) return 0; /* a part, or TLS records only */
        if ((code = sockit__ftp_reply(f, dl)) < 0) return code; /* or the end, or an error */
        if (code >= 200) d->first = code;
        if (code >= 300) return sockit__ftp_fail_reply(f, what);
        if (code >= 200) return 0;
    }
}

/* Waits until the listening socket has a connection (0), the control connection has bytes (1;
 * watched until the transfer's final reply came), or the deadline passes (-ETIMEDOUT). */
static int wait_either(sockit_ftp *f, sockit__ftp_data *d, int64_t dl)
{
    const void *p;
    int code, watch = d->first < 200;
    size_t n = sockit_reader_pending(f->rd, &p);
    if (watch && n > 0 && sockit__ftp_parse_reply(p, n, &code) != SOCKIT_EINCOMPLETE)
        return 1; /* a reply that came with the 1xx */
    for (;;) {
        struct pollfd fds[2] = {{.fd = sockit_fileno(d->lsn), .events = POLLIN},
                                {.fd = sockit_fileno(f->ctl), .events = POLLIN}};
        int ms = sockit__remaining_ms(dl);
        int r = poll(fds, watch ? 2 : 1, ms);
        if (r > 0) return fds[0].revents ? 0 : 1;
        if (r < 0 && errno != EINTR) return -errno;
        if (r == 0 && ms == 0) return -ETIMEDOUT;
    }
}

/* The server's connection to our listening socket, from the control connection's peer only. */
static int accept_data(sockit_ftp *f, sockit__ftp_data *d, const char *what, int64_t dl)
{
    sockit_addr peer, from;
    int rc = sockit_getpeername(f->ctl, &peer);
    if (rc < 0) return rc;
    for (;;) {
        rc = wait_either(f, d, dl);
        if (rc < 0) return sockit__fail(rc, "%s: waiting for the server's data connection", what);
        if (rc == 1) {
            if ((rc = control_says(f, d, what, dl)) < 0) return rc;
            continue;
        }
        sockit_settimeout(d->lsn, 0);
        rc = sockit_accept(d->lsn, &d->s, &from);
        if (rc == -EAGAIN) continue;
        if (rc < 0) return rc;
        if (same_host(&peer, &from)) break;
        sockit_close(d->s); /* someone else: not our server's data */
        d->s = NULL;
    }
    sockit_close(d->lsn);
    d->lsn = NULL;
    return sockit_settimeout(d->s, f->timeout);
}

/* ---- the transfer command ----------------------------------------------------------------- */

/* Closes the data connection, keeping its newest TLS session for the next one. */
static void drop(sockit_ftp *f, sockit__ftp_data *d)
{
    sockit__tls_session *sess = sockit__tls_session_take(d->s);
    if (sess) {
        sockit__tls_session_free(f->data_sess);
        f->data_sess = sess;
    }
    sockit_close(d->s);
    sockit_close(d->lsn);
    d->s = d->lsn = NULL;
}

/* A 2xx came first: a 1xx right behind it (already here) is the real start of the transfer. */
static int stray_1xx(sockit_ftp *f)
{
    const void *p;
    int code = 0;
    sockit_reader_fill_until(f->rd, SOCKIT__NOWAIT);
    size_t n = sockit_reader_pending(f->rd, &p);
    return sockit__ftp_parse_reply(p, n, &code) > 0 && code < 200;
}

static int start(sockit_ftp *f, sockit__ftp_data *d, const char *what, const char *verb,
                 const char *arg, uint64_t rest, int64_t dl)
{
    int rc;
    if (rest > 0) {
        char n[24], w[320];
        snprintf(n, sizeof n, "%llu", (unsigned long long)rest);
        snprintf(w, sizeof w, "%s: REST", what);
        if ((rc = sockit__ftp_command(f, w, "REST", n, "3")) < 0) return rc;
    }
    if ((rc = sockit__ftp_send(f, verb, arg, dl)) < 0) return rc;
    int code = sockit__ftp_reply(f, dl);
    if (code < 0) return code;
    if (code / 100 == 2 && stray_1xx(f)) code = sockit__ftp_reply(f, dl);
    if (code < 0) return code;
    if (code / 100 != 1 && code / 100 != 2) return sockit__ftp_fail_reply(f, what);
    d->first = code;
    if (code / 100 == 1) d->size150 = sockit__ftp_parse_150_size(f->text, f->text_len);
    return 0;
}

int sockit__ftp_data_open(sockit_ftp *f, sockit__ftp_data *d, const char *what, const char *verb,
                          const char *arg, uint64_t rest)
{
    memset(d, 0, sizeof *d);
    d->size150 = -1;
    int rc = sockit__ftp_check_arg(what, arg);
    if (rc < 0) return rc;
    int64_t dl = sockit__ftp_deadline(f);
    rc = f->o.active ? active(f, d, what, dl) : passive(f, d, what, dl);
    if (rc < 0) goto fail;
    if ((rc = start(f, d, what, verb, arg, rest, dl)) < 0) goto fail;
    if (f->o.active) {
        if (d->first >= 200) { /* done without a connection (an empty file, some servers) */
            drop(f, d);
            return 0;
        }
        if ((rc = accept_data(f, d, what, dl)) < 0) goto fail;
    }
    f->data_resumed = 0;
    if (f->prot_p) {
        /* The session to resume: the last data connection's newest, else the control
         * connection's (servers such as vsftpd with require_ssl_reuse insist on one). */
        const char *name = f->tls_host[0] ? f->tls_host : NULL;
        sockit_tls_connect_opts t = {.reuse_from = f->ctl, .deadline = dl};
        rc = f->data_sess ? sockit__tls_connect_session(d->s, f->tls_ctx, name, f->data_sess, dl)
                          : sockit_tls_connect_ex(d->s, f->tls_ctx, name, &t);
        if (rc < 0) goto fail;
        f->data_resumed = sockit_tls_resumed(d->s);
    }
    return 0;
fail:
    drop(f, d);
    if (d->first >= 100 && d->first < 200 && !f->broken) {
        /* The server started the transfer: let it say it failed, and stay in step. */
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", sockit_errmsg());
        sockit__ftp_final(f, sockit__ftp_deadline(f));
        sockit__failmsg(rc, "%s", saved);
    }
    return rc;
}

/* ---- ending a transfer -------------------------------------------------------------------- */

/* Reads the replies of keep-alive NOOPs still owed. */
static int owed_noops(sockit_ftp *f, int64_t dl)
{
    while (f->noops > 0) {
        int code = sockit__ftp_reply(f, dl);
        if (code < 0) return code;
        f->noops--;
    }
    return 0;
}

/* The transfer's final reply, skipping "200" replies to NOOPs sent during it. */
static int final_reply(sockit_ftp *f, int64_t dl)
{
    for (;;) {
        int code = sockit__ftp_final(f, dl);
        if (code < 0) return code;
        if (code == 200 && f->noops > 0) {
            f->noops--;
            continue;
        }
        int rc = owed_noops(f, dl);
        return rc < 0 ? rc : code;
    }
}

/* The end of an upload: close_notify over TLS (the server learns the upload ended, not that it
 * was cut), a FIN on plain connections, then the peer's own end awaited. Closing at once could
 * reset the connection when anything unread is left on our side (a TLS 1.3 ticket, the server's
 * close_notify), and a reset makes the server's kernel drop the upload's last bytes unread. */
static int end_upload(sockit_ftp *f, sockit__ftp_data *d, const char *what)
{
    unsigned mark = sockit__errmark();
    int64_t dl = sockit__ftp_deadline(f);
    int r = sockit_tls_active(d->s) ? sockit_tls_shutdown(d->s) : sockit_shutdown(d->s, SHUT_WR);
    if (r < 0) return sockit__ftp_data_fail(mark, r, what);
    char junk[4096];
    while (sockit__recv_dl(d->s, junk, sizeof junk, 0, dl) > 0) {}
    return 0;
}

int sockit__ftp_data_finish(sockit_ftp *f, sockit__ftp_data *d, const char *what, int rc,
                            int sending)
{
    if (d->s && sending && rc >= 0) rc = end_upload(f, d, what);
    drop(f, d);
    int64_t dl = sockit__ftp_deadline(f);
    char saved[1024];
    if (rc < 0) snprintf(saved, sizeof saved, "%s", sockit_errmsg());
    int code = d->first / 100 == 1 ? final_reply(f, dl) : owed_noops(f, dl);
    if (rc < 0) { /* the first failure is the one to tell, with the server's word if any */
        if (code >= 400) {
            char w[1100];
            snprintf(w, sizeof w, "%s (the server", saved);
            sockit__ftp_fail_reply(f, w);
            char m[1500];
            snprintf(m, sizeof m, "%s)", sockit_errmsg());
            return sockit__failmsg(rc, "%s", m);
        }
        return sockit__failmsg(rc, "%s", saved);
    }
    if (code < 0) return code;
    if (d->first / 100 == 1 && code / 100 != 2) return sockit__ftp_fail_reply(f, what);
    if (d->first / 100 == 2 && stray_1xx(f)) { /* "2xx before the 150": its end follows */
        code = final_reply(f, dl);
        if (code < 0) return code;
        if (code / 100 != 2) return sockit__ftp_fail_reply(f, what);
    }
    return 0;
}

int sockit__ftp_data_abort(sockit_ftp *f, sockit__ftp_data *d, int rc)
{
    drop(f, d);
    if (f->broken || d->first / 100 != 1) return rc;
    /* The data connection is closed first, so a server that does not watch the control
     * connection during a transfer fails it (426) and then reads ABOR. Two replies follow: the
     * transfer's (426, or 226 if it had finished) and ABOR's (225/226). */
    int64_t dl = sockit__ftp_deadline(f);
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", sockit_errmsg());
    if (sockit__ftp_send(f, "ABOR", NULL, dl) == 0 && sockit__ftp_final(f, dl) > 0)
        sockit__ftp_final(f, dl); /* ABOR's own reply */
    if (f->noops > 0) f->broken = 1; /* where their replies are is unknown now */
    return sockit__failmsg(rc, "%s", saved);
}

/* ---- watching the control connection during a transfer ----------------------------------- */

/* The replies that are whole on the control connection, read without waiting: 0 to go on, or the
 * transfer's failure as the server tells it. The control connection's end (or error) is not the
 * transfer's: it is no longer watched, and reading the final reply tells it. */
static int control_during(sockit_ftp *f, sockit__ftp_data *d, const char *what, int64_t dl)
{
    for (;;) {
        const void *p;
        int code = 0;
        ssize_t got = sockit_reader_fill_until(f->rd, SOCKIT__NOWAIT);
        size_t n = sockit_reader_pending(f->rd, &p);
        if (n == 0 || sockit__ftp_parse_reply(p, n, &code) == SOCKIT_EINCOMPLETE) {
            if (got == 0 || (got < 0 && got != -EAGAIN)) d->ctl_quiet = 1;
            return 0;
        }
        if ((code = sockit__ftp_reply(f, dl)) < 0) return code; /* noise: the session is broken */
        if (code == 200 && f->noops > 0) {
            f->noops--; /* a keep-alive NOOP's */
            continue;
        }
        if (code < 200) continue;
        d->first = code; /* the final reply: nothing more is owed */
        return code >= 300 ? sockit__ftp_fail_reply(f, what) : 0;
    }
}

/* Something to read on the control connection without polling: a whole reply (or noise) in the
 * reader, or decrypted bytes TLS holds. */
static int control_buffered(sockit_ftp *f)
{
    const void *p;
    int code;
    size_t n = sockit_reader_pending(f->rd, &p);
    if (n > 0 && sockit__ftp_parse_reply(p, n, &code) != SOCKIT_EINCOMPLETE) return 1;
    return sockit_tls_pending(f->ctl) > 0;
}

int sockit__ftp_data_wait(sockit_ftp *f, sockit__ftp_data *d, const char *what, short events,
                          int64_t dl)
{
    for (;;) {
        if (d->first / 100 != 1 || d->ctl_quiet || f->broken || !f->rd) return 0; /* data only */
        if (events == POLLIN && sockit_tls_pending(d->s) > 0) return 0;
        int rc;
        if (control_buffered(f)) {
            if ((rc = control_during(f, d, what, dl)) < 0) return rc;
            continue;
        }
        struct pollfd fds[2] = {{.fd = sockit_fileno(d->s), .events = events},
                                {.fd = sockit_fileno(f->ctl), .events = POLLIN}};
        int ms = sockit__remaining_ms(dl);
        int r = poll(fds, 2, ms);
        if (r > 0 && fds[0].revents) return 0; /* or its error, which the I/O call tells */
        if (r > 0 && (rc = control_during(f, d, what, dl)) < 0) return rc;
        unsigned mark = sockit__errmark();
        if (r < 0 && errno != EINTR) return sockit__ftp_data_fail(mark, -errno, what);
        if (r == 0 && ms == 0) return sockit__ftp_data_fail(mark, -ETIMEDOUT, what);
    }
}

int sockit__ftp_keepalive(sockit_ftp *f, int64_t *last)
{
    if (f->o.keepalive <= 0) return 0;
    int64_t now = sockit__now();
    if (now - *last < (int64_t)(f->o.keepalive * 1e9)) return 0;
    *last = now;
    int rc = sockit__ftp_send(f, "NOOP", NULL, sockit__ftp_deadline(f));
    if (rc == 0) f->noops++;
    return rc;
}
