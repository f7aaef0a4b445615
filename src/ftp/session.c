/*
 * FTP sessions: connecting (plain, explicit and implicit TLS), logging in, URLs, and the
 * commands that are one exchange on the control connection.
 */
#include "internal/ftp.h"
#include "internal/tls.h"

#include <sockit/url.h>

#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- connecting --------------------------------------------------------------------------- */

static int make_tls_ctx(sockit_ftp *f, const sockit_ftp_opts *o)
{
    if (o->tls_ctx) {
        f->tls_ctx = o->tls_ctx;
        return 0;
    }
    sockit_tls_opts t = {.cafile = o->cafile, .insecure = o->insecure};
    int rc = sockit_tls_ctx_new(&f->tls_ctx, &t);
    if (rc < 0) return rc;
    f->own_ctx = 1;
    return 0;
}

static int session_new(sockit_ftp **out, const char *host, const sockit_ftp_opts *o)
{
    sockit_ftp *f = calloc(1, sizeof *f);
    if (!f) return sockit__failmsg(-ENOMEM, "ftp: out of memory");
    f->o = *o;
    f->o.cafile = f->o.tls_host = NULL; /* not kept */
    f->timeout = o->timeout == 0 ? SOCKIT__FTP_DEFAULT_TIMEOUT : o->timeout < 0 ? -1 : o->timeout;
    if (f->o.bufsize == 0) f->o.bufsize = SOCKIT__FTP_DEFAULT_BUF;
    if (f->o.bufsize < 16384) f->o.bufsize = 16384; /* a listing line fits */
    f->tls_mode = o->tls;
    f->data_resumed = f->used_pasv = -1;
    snprintf(f->host, sizeof f->host, "%s", host);
    snprintf(f->tls_host, sizeof f->tls_host, "%s", o->tls_host ? o->tls_host : host);
    f->buf = malloc(f->o.bufsize);
    *out = f;
    if (!f->buf) return sockit__failmsg(-ENOMEM, "ftp: out of memory");
    if (o->tls != SOCKIT_FTP_TLS_NONE) return make_tls_ctx(f, o);
    return 0;
}

static int tls_handshake(sockit_ftp *f, sockit_sock *s, const sockit_sock *reuse, int64_t dl)
{
    sockit_tls_connect_opts t = {.reuse_from = reuse, .deadline = dl};
    const char *name = f->tls_host[0] ? f->tls_host : NULL;
    return sockit_tls_connect_ex(s, f->tls_ctx, name, &t);
}

/* Greeting, and AUTH TLS for explicit TLS. */
static int greet(sockit_ftp *f, int64_t dl)
{
    int code = sockit__ftp_final(f, dl);
    if (code < 0) return code;
    if (code != 220) {
        f->broken = 1;
        return sockit__ftp_fail_reply(f, "ftp greeting");
    }
    if (f->tls_mode != SOCKIT_FTP_TLS_EXPLICIT) return 0;
    int rc = sockit__ftp_send(f, "AUTH", "TLS", dl);
    if (rc < 0) return rc;
    code = sockit__ftp_final(f, dl);
    if (code < 0) return code;
    if (code != 234 && code != 334) return sockit__ftp_fail_reply(f, "ftp AUTH TLS refused");
    const void *junk;
    if (sockit_reader_pending(f->rd, &junk)) /* plain text after 234 could be injected */
        return sockit__failmsg(SOCKIT_EPROTO, "ftp AUTH TLS: the server sent more after 234");
    return tls_handshake(f, f->ctl, NULL, dl);
}

int sockit_ftp_connect(sockit_ftp **out, const char *host, const char *port,
                       const sockit_ftp_opts *opts)
{
    sockit_ftp_opts defaults = {0};
    const sockit_ftp_opts *o = opts ? opts : &defaults;
    if (!out) return sockit__failmsg(-EINVAL, "ftp connect: no place for the session");
    *out = NULL;
    if (!host || !*host) return sockit__failmsg(-EINVAL, "ftp connect: no host");
    if (o->tls < SOCKIT_FTP_TLS_NONE || o->tls > SOCKIT_FTP_TLS_IMPLICIT)
        return sockit__failmsg(-EINVAL, "ftp connect: bad TLS mode %d", o->tls);
    sockit_ftp *f = NULL;
    int rc = session_new(&f, host, o);
    if (rc < 0) goto fail;
    if (!port || !*port) port = o->tls == SOCKIT_FTP_TLS_IMPLICIT ? "990" : "21";
    int64_t dl = sockit__ftp_deadline(f);
    sockit_connect_opts co = {.family = o->family, .deadline = dl};
    rc = sockit__create_connection_dl(&f->ctl, host, port, f->timeout, &co, dl);
    if (rc < 0) goto fail;
    sockit_setsockopt_int(f->ctl, IPPROTO_TCP, TCP_NODELAY, 1);
    if (o->tls == SOCKIT_FTP_TLS_IMPLICIT && (rc = tls_handshake(f, f->ctl, NULL, dl)) < 0) goto fail;
    /* Room for the longest reply and one more line: the parser always decides before it fills. */
    rc = sockit_reader_new(&f->rd, f->ctl, SOCKIT__FTP_REPLY_MAX + SOCKIT__FTP_LINE_MAX + 64);
    if (rc < 0) goto fail;
    if ((rc = greet(f, dl)) < 0) goto fail;
    *out = f;
    return 0;
fail:
    if (f) f->broken = 1;
    sockit_ftp_close(f);
    return rc;
}

/* ---- logging in --------------------------------------------------------------------------- */

static int after_login(sockit_ftp *f)
{
    int rc;
    if (f->tls_mode != SOCKIT_FTP_TLS_NONE) {
        if ((rc = sockit__ftp_command(f, "ftp PBSZ", "PBSZ", "0", "2")) < 0) return rc;
        if ((rc = sockit__ftp_command(f, "ftp PROT P", "PROT", "P", "2")) < 0) return rc;
        f->prot_p = 1;
    }
    if ((rc = sockit_ftp_feat(f)) < 0) return rc;
    if (f->features & SOCKIT_FTP_FEAT_UTF8) {
        rc = sockit__ftp_command(f, "opts", "OPTS", "UTF8 ON", "2345");
        if (rc < 0 && rc != SOCKIT_EPROTO) return rc;
    }
    rc = sockit_ftp_type(f, 1);
    return rc < 0 ? rc : 0;
}

int sockit_ftp_login(sockit_ftp *f, const char *user, const char *pass)
{
    if (!f) return sockit__failmsg(-EINVAL, "ftp login: no session");
    int anon = !user || !*user;
    if (anon) user = "anonymous";
    if (!pass) pass = anon ? "anonymous@" : "";
    int rc = sockit__ftp_command(f, "login failed", "USER", user, "23");
    if (rc < 0) return rc;
    if (rc == 331 || rc == 332) {
        if ((rc = sockit__ftp_command(f, "login failed", "PASS", pass, "23")) < 0) return rc;
        if (rc == 332) return sockit__ftp_fail_reply(f, "login failed (ACCT is not supported)");
    } else if (rc != 230 && rc != 202) {
        return sockit__ftp_fail_reply(f, "login failed");
    }
    return after_login(f);
}

/* ---- URLs --------------------------------------------------------------------------------- */

static int decode(char *out, size_t cap, sockit_str in, const char *what)
{
    if (!in.p) {
        out[0] = 0;
        return 0;
    }
    ssize_t n = sockit_url_decode(out, cap, in.p, in.n, 0);
    if (n == -ENOBUFS) return sockit__failmsg(-ENOBUFS, "ftp URL: %s too long", what);
    if (n < 0) return (int)n;
    if (strlen(out) != (size_t)n || strpbrk(out, "\r\n"))
        return sockit__failmsg(SOCKIT_EBADURL, "ftp URL: %s holds NUL, CR or LF", what);
    return 0;
}

struct url_parts {
    char host[256], port[8], user[256], pass[256];
};

static int url_split(const char *url, int *tls, struct url_parts *u, char *path, size_t pathcap)
{
    sockit_url p;
    int rc = sockit_url_parse(&p, url, strlen(url));
    if (rc < 0) return rc;
    int ftps = sockit_url_is(&p, "ftps");
    if (!ftps && !sockit_url_is(&p, "ftp"))
        return sockit__failmsg(SOCKIT_EBADURL, "ftp URL: the scheme must be ftp or ftps");
    if (!p.host.p || !p.host.n) return sockit__failmsg(SOCKIT_EBADURL, "ftp URL: no host");
    if (ftps) *tls = SOCKIT_FTP_TLS_IMPLICIT;
    if ((rc = decode(u->host, sizeof u->host, p.host, "host")) < 0 ||
        (rc = decode(u->user, sizeof u->user, p.user, "user")) < 0 ||
        (rc = decode(u->pass, sizeof u->pass, p.password, "password")) < 0)
        return rc;
    snprintf(u->port, sizeof u->port, "%d", sockit_url_port(&p));
    if (!path) return 0;
    sockit_str ps = p.path;
    if (ps.n && ps.p[0] == '/') ps.p++, ps.n--;
    const char *semi = memchr(ps.p ? ps.p : "", ';', ps.n);
    if (semi && ps.n - (size_t)(semi - ps.p) >= 5 && !strncasecmp(semi, ";type=", 6))
        ps.n = (size_t)(semi - ps.p);
    if (!ps.p) ps.p = "";
    return decode(path, pathcap, ps, "path");
}

int sockit_ftp_open_url(sockit_ftp **out, const char *url, const sockit_ftp_opts *opts, char *path,
                        size_t pathcap)
{
    if (!out) return sockit__failmsg(-EINVAL, "ftp: no place for the session");
    *out = NULL;
    if (!url) return sockit__failmsg(SOCKIT_EBADURL, "ftp URL: NULL");
    if (path && !pathcap) return sockit__failmsg(-ENOBUFS, "ftp URL: no room for the path");
    sockit_ftp_opts o = {0};
    if (opts) o = *opts;
    struct url_parts u;
    int rc = url_split(url, &o.tls, &u, path, pathcap);
    if (rc < 0) return rc;
    sockit_ftp *f = NULL;
    if ((rc = sockit_ftp_connect(&f, u.host, u.port, &o)) < 0) return rc;
    rc = sockit_ftp_login(f, u.user[0] ? u.user : NULL, u.user[0] ? u.pass : NULL);
    if (rc < 0) {
        sockit_ftp_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* ---- ending ------------------------------------------------------------------------------- */

int sockit_ftp_quit(sockit_ftp *f)
{
    if (!f) return sockit__failmsg(-EINVAL, "ftp quit: no session");
    int rc = sockit__ftp_command(f, "ftp QUIT", "QUIT", NULL, "2");
    f->broken = 1; /* nothing more is sent */
    return rc < 0 ? rc : 0;
}

void sockit_ftp_close(sockit_ftp *f)
{
    if (!f) return;
    if (!f->broken && f->ctl) { /* a courtesy: no waiting for its reply */
        sockit__ftp_trace_sent(f, "QUIT", 4);
        sockit__sendall_dl(f->ctl, "QUIT\r\n", 6, 0, NULL, sockit_deadline_after(1));
    }
    sockit_reader_free(f->rd);
    sockit_close(f->ctl);
    sockit__tls_session_free(f->data_sess);
    if (f->own_ctx) sockit_tls_ctx_free(f->tls_ctx);
    free(f->buf);
    free(f);
}

/* ---- replies and raw commands ------------------------------------------------------------- */

int sockit_ftp_reply_code(const sockit_ftp *f)
{
    return f ? f->code : 0;
}

const char *sockit_ftp_reply_text(const sockit_ftp *f)
{
    return f ? f->text : "";
}

int sockit_ftp_cmd(sockit_ftp *f, const char *cmd, sockit_ftp_reply *reply)
{
    if (!f || !cmd) return sockit__failmsg(-EINVAL, "ftp cmd: no session or command");
    char what[64];
    snprintf(what, sizeof what, "ftp %.40s", cmd);
    int rc = sockit__ftp_command(f, what, cmd, NULL, "23");
    if (reply) {
        reply->code = f->code;
        reply->text = f->text;
    }
    return rc;
}

/* ---- features and simple commands --------------------------------------------------------- */

int sockit_ftp_feat(sockit_ftp *f)
{
    if (!f) return sockit__failmsg(-EINVAL, "ftp feat: no session");
    int rc = sockit__ftp_command(f, "feat", "FEAT", NULL, "2");
    if (rc == SOCKIT_EPROTO && !f->broken) return f->features = 0; /* refused: nothing offered */
    if (rc < 0) return rc;
    f->features = sockit__ftp_parse_feat(f->text, f->text_len);
    return f->features;
}

int sockit_ftp_features(const sockit_ftp *f)
{
    return f ? f->features : 0;
}

int sockit_ftp_syst(sockit_ftp *f, char *buf, size_t cap)
{
    if (!f) return sockit__failmsg(-EINVAL, "ftp syst: no session");
    int rc = sockit__ftp_command(f, "syst", "SYST", NULL, "2");
    if (rc < 0) return rc;
    if (buf && cap) snprintf(buf, cap, "%s", f->text_len > 4 ? f->text + 4 : "");
    return 0;
}

/* One command with its argument, a 2xx (or what ok says) expected. */
static int simple(sockit_ftp *f, const char *what, const char *verb, const char *arg)
{
    if (!f) return sockit__failmsg(-EINVAL, "ftp %s: no session", what);
    char w[300];
    snprintf(w, sizeof w, arg ? "%s %.256s" : "%s", what, arg);
    int rc = sockit__ftp_command(f, w, verb, arg, "2");
    return rc < 0 ? rc : 0;
}

int sockit_ftp_noop(sockit_ftp *f)
{
    return simple(f, "noop", "NOOP", NULL);
}

int sockit_ftp_cwd(sockit_ftp *f, const char *dir)
{
    return simple(f, "cwd", "CWD", dir ? dir : "/");
}

int sockit_ftp_cdup(sockit_ftp *f)
{
    return simple(f, "cdup", "CDUP", NULL);
}

int sockit_ftp_mkd(sockit_ftp *f, const char *dir)
{
    return simple(f, "mkdir", "MKD", dir ? dir : "");
}

int sockit_ftp_rmd(sockit_ftp *f, const char *dir)
{
    return simple(f, "rmdir", "RMD", dir ? dir : "");
}

int sockit_ftp_dele(sockit_ftp *f, const char *path)
{
    return simple(f, "delete", "DELE", path ? path : "");
}

int sockit_ftp_type(sockit_ftp *f, int binary)
{
    int rc = simple(f, "type", "TYPE", binary ? "I" : "A");
    if (rc == 0) f->binary = binary != 0;
    return rc;
}

int sockit_ftp_rename(sockit_ftp *f, const char *from, const char *to)
{
    if (!f || !from || !to) return sockit__failmsg(-EINVAL, "ftp rename: no session or name");
    char w[300];
    snprintf(w, sizeof w, "rename %.256s", from);
    int rc = sockit__ftp_command(f, w, "RNFR", from, "3");
    if (rc < 0) return rc;
    snprintf(w, sizeof w, "rename to %.256s", to);
    rc = sockit__ftp_command(f, w, "RNTO", to, "2");
    return rc < 0 ? rc : 0;
}

int sockit_ftp_pwd(sockit_ftp *f, char *buf, size_t cap)
{
    if (!f || !buf) return sockit__failmsg(-EINVAL, "ftp pwd: no session or buffer");
    int rc = sockit__ftp_command(f, "pwd", "PWD", NULL, "2");
    if (rc < 0) return rc;
    return sockit__ftp_parse_257(f->text, f->text_len, buf, cap);
}

/* The number after the code in a one-line reply ("213 1234"). */
static int reply_number(const sockit_ftp *f, const char *what, uint64_t *out)
{
    const char *p = f->text + 3;
    while (*p == ' ') p++;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || errno || *p == '-' || (*end && *end != ' ' && *end != '\n' && *end != '\r'))
        return sockit__failmsg(SOCKIT_EPROTO, "%s: the reply holds no number", what);
    *out = v;
    return 0;
}

int sockit_ftp_size(sockit_ftp *f, const char *path, uint64_t *size)
{
    if (!f || !path || !size) return sockit__failmsg(-EINVAL, "ftp size: no session or name");
    char w[300];
    snprintf(w, sizeof w, "size %.256s", path);
    int rc = sockit__ftp_command(f, w, "SIZE", path, "2");
    if (rc < 0) return rc;
    return reply_number(f, w, size);
}

int sockit_ftp_mdtm(sockit_ftp *f, const char *path, int64_t *mtime)
{
    if (!f || !path || !mtime) return sockit__failmsg(-EINVAL, "ftp mdtm: no session or name");
    char w[300];
    snprintf(w, sizeof w, "mdtm %.256s", path);
    int rc = sockit__ftp_command(f, w, "MDTM", path, "2");
    if (rc < 0) return rc;
    const char *p = f->text + 3;
    while (*p == ' ') p++;
    size_t n = strcspn(p, " \r\n");
    int64_t t = sockit__ftp_parse_time(p, n);
    if (t < 0) return sockit__failmsg(SOCKIT_EPROTO, "%s: the reply holds no time", w);
    *mtime = t;
    return 0;
}

int sockit_ftp_abor(sockit_ftp *f)
{
    if (!f) return sockit__failmsg(-EINVAL, "ftp abor: no session");
    int64_t dl = sockit__ftp_deadline(f);
    int rc = sockit__ftp_send(f, "ABOR", NULL, dl);
    if (rc < 0) return rc;
    int code = sockit__ftp_final(f, dl);
    if (code >= 400 && code < 500) code = sockit__ftp_final(f, dl); /* 426, then ABOR's own */
    if (code < 0) return code;
    return code / 100 == 2 ? 0 : sockit__ftp_fail_reply(f, "abor");
}

/* ---- about the session -------------------------------------------------------------------- */

sockit_sock *sockit_ftp_sock(const sockit_ftp *f)
{
    return f ? f->ctl : NULL;
}

int sockit_ftp_data_resumed(const sockit_ftp *f)
{
    return f ? f->data_resumed : -1;
}

int sockit_ftp_used_pasv(const sockit_ftp *f)
{
    return f ? f->used_pasv : -1;
}
