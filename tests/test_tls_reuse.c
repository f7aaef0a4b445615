/*
 * test_tls_reuse.c — TLS sessions FTPS can reuse (issue 8, section 5): sockit_tls_connect_ex's
 * reuse_from resumes another connection's session on a different port, in TLS 1.2 and 1.3 (where
 * the session arrives after the handshake), first against our own server (two listeners sharing
 * one server context), then against a real vsftpd with require_ssl_reuse=YES: an FTPS control
 * connection and a PASV data connection, all with sockit calls. Without vsftpd (or root) that
 * case prints a SKIP line. Also: sessions held apart from their socket and chained (each data
 * connection resuming the newest ticket of the one before), as the FTP client does in TLS 1.3.
 */
#include "tls_util.h"

#include <sockit/tls.h>

#include "internal/tls.h"

#include <sys/stat.h>

static tlsu_certs C;

static sockit_tls_ctx *ctx_new(int server, int version)
{
    sockit_tls_opts o = {.server = server, .cert = server ? C.srv : NULL,
                         .key = server ? C.srv_key : NULL, .cafile = server ? NULL : C.ca,
                         .min_version = version == 13 ? 13 : 0, .max_version = version == 12 ? 12 : 0};
    sockit_tls_ctx *ctx = NULL;
    CHECK_OK(sockit_tls_ctx_new(&ctx, &o));
    return ctx;
}

/* ---- our own server: two listeners, one context ------------------------------------------- */

struct two {
    sockit_sock *la, *lb;
    char pa[8], pb[8];
    sockit_tls_ctx *sctx;
    int resumed_b;  /* what the server saw on B */
    pthread_t tid;
};

/* Accepts A, then B (TLS each, the same context), says "ok\n" on B, and waits for the client to
 * close both. */
static void *two_main(void *arg)
{
    struct two *t = arg;
    sockit_sock *a = NULL, *b = NULL;
    char c;
    if (sockit_accept(t->la, &a, NULL) == 0 && sockit_settimeout(a, 10) == 0 &&
        sockit_tls_accept(a, t->sctx) == 0 && sockit_accept(t->lb, &b, NULL) == 0 &&
        sockit_settimeout(b, 10) == 0 && sockit_tls_accept(b, t->sctx) == 0) {
        t->resumed_b = sockit_tls_resumed(b);
        sockit_sendall(b, "ok\n", 3, 0);
        while (sockit_recv(b, &c, 1, 0) > 0) {}
        while (sockit_recv(a, &c, 1, 0) > 0) {}
    }
    sockit_close(a);
    sockit_close(b);
    return NULL;
}

static int two_start(struct two *t, sockit_tls_ctx *sctx)
{
    memset(t, 0, sizeof *t);
    t->sctx = sctx;
    t->resumed_b = -1;
    if (sockit_create_server(&t->la, "127.0.0.1", "0", NULL) < 0 ||
        sockit_create_server(&t->lb, "127.0.0.1", "0", NULL) < 0)
        return -1;
    sockit_settimeout(t->la, 10);
    sockit_settimeout(t->lb, 10);
    tu_portstr(t->la, t->pa);
    tu_portstr(t->lb, t->pb);
    return pthread_create(&t->tid, NULL, two_main, t) ? -1 : 0;
}

static void two_stop(struct two *t)
{
    pthread_join(t->tid, NULL);
    sockit_close(t->la);
    sockit_close(t->lb);
}

static int dial(sockit_sock **s, const char *port, sockit_tls_ctx *cctx, const sockit_sock *from)
{
    *s = NULL;
    int r = sockit_create_connection(s, "127.0.0.1", port, 10);
    if (r < 0) return r;
    sockit_tls_connect_opts o = {.reuse_from = from};
    return sockit_tls_connect_ex(*s, cctx, "localhost", &o);
}

/* Connect to A, then to B (another port) resuming A's session. Without reuse_from, B is a full
 * handshake: the client's cache is keyed by host and port, the FTPS defect this fixes. A is never
 * read from before B connects: in TLS 1.3 its ticket must be fetched by the reuse itself. */
static void test_reuse_own_server(void)
{
    int versions[] = {12, 13};
    for (size_t v = 0; v < 2; v++) {
        for (int reuse = 0; reuse <= 1; reuse++) {
            TU_CTX("TLS 1.%d, reuse_from %s", versions[v] % 10, reuse ? "A" : "none");
            sockit_tls_ctx *sctx = ctx_new(1, versions[v]), *cctx = ctx_new(0, versions[v]);
            struct two t;
            if (!sctx || !cctx || two_start(&t, sctx) < 0) {
                CHECK_TRUE(0);
                return;
            }
            sockit_sock *a = NULL, *b = NULL;
            CHECK_OK(dial(&a, t.pa, cctx, NULL));
            CHECK_OK(dial(&b, t.pb, cctx, reuse ? a : NULL));
            if (a && b && sockit_tls_active(b)) {
                CHECK_STR(sockit_tls_version(b), versions[v] == 12 ? "TLSv1.2" : "TLSv1.3");
                CHECK_INT(sockit_tls_resumed(a), ==, 0);
                CHECK_INT(sockit_tls_resumed(b), ==, reuse);
                char line[4];
                CHECK_INT(sockit_recv(b, line, 3, MSG_WAITALL), ==, 3); /* the session works */
                CHECK_MEM(line, "ok\n", 3);
            }
            sockit_close(b);
            sockit_close(a);
            two_stop(&t);
            CHECK_INT(t.resumed_b, ==, reuse); /* the server agrees */
            sockit_tls_ctx_free(sctx);
            sockit_tls_ctx_free(cctx);
        }
    }
}

/* reuse_from that is not a TLS client socket: no session to resume, a full handshake, no failure. */
static void test_reuse_from_plain(void)
{
    sockit_tls_ctx *sctx = ctx_new(1, 0), *cctx = ctx_new(0, 0);
    struct two t;
    if (!sctx || !cctx || two_start(&t, sctx) < 0) {
        CHECK_TRUE(0);
        return;
    }
    sockit_sock *a = NULL, *b = NULL, *p1 = NULL, *p2 = NULL;
    CHECK_OK(sockit_socketpair(&p1, &p2, 0, 0)); /* plain sockets */
    CHECK_OK(dial(&a, t.pa, cctx, p1));
    CHECK_OK(dial(&b, t.pb, cctx, p2));
    CHECK_INT(sockit_tls_resumed(a), ==, 0);
    CHECK_INT(sockit_tls_resumed(b), ==, 0);
    sockit_close(b);
    sockit_close(a);
    sockit_close(p1);
    sockit_close(p2);
    two_stop(&t);
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

/* ---- chained sessions: FTPS data connections, one ticket each ------------------------------ */

struct many {
    sockit_sock *l;
    char port[8];
    sockit_tls_ctx *sctx;
    int n, resumed[4];
    pthread_t tid;
};

/* Accepts n TLS connections one after another, says "ok\n" on each, then waits for them all to
 * close. */
static void *many_main(void *arg)
{
    struct many *m = arg;
    sockit_sock *c[4] = {NULL};
    char b;
    for (int i = 0; i < m->n; i++) {
        if (sockit_accept(m->l, &c[i], NULL) == 0 && sockit_settimeout(c[i], 10) == 0 &&
            sockit_tls_accept(c[i], m->sctx) == 0) {
            m->resumed[i] = sockit_tls_resumed(c[i]);
            sockit_sendall(c[i], "ok\n", 3, 0);
        }
    }
    for (int i = 0; i < m->n; i++) {
        while (c[i] && sockit_recv(c[i], &b, 1, 0) > 0) {}
        sockit_close(c[i]);
    }
    return NULL;
}

/* The chain FTPS data connections follow in TLS 1.3, where a ticket is meant for one resumption
 * (RFC 8446 appendix C.4; vsftpd with require_ssl_reuse refused a second data connection that
 * resumed the control connection's ticket again): B resumes A's session
 * (reuse_from); C resumes B's newest, held apart from B (sockit__tls_session_take, B closed,
 * then sockit__tls_connect_session), and the server agrees it resumed. */
static void test_reuse_chain(void)
{
    sockit_tls_ctx *sctx = ctx_new(1, 13), *cctx = ctx_new(0, 13);
    struct many m = {.sctx = sctx, .n = 3};
    if (!sctx || !cctx || sockit_create_server(&m.l, "127.0.0.1", "0", NULL) < 0) {
        CHECK_TRUE(0);
        return;
    }
    sockit_settimeout(m.l, 10);
    tu_portstr(m.l, m.port);
    CHECK_OK(pthread_create(&m.tid, NULL, many_main, &m));
    sockit_sock *a = NULL, *b = NULL, *c = NULL;
    char line[4];
    CHECK_OK(dial(&a, m.port, cctx, NULL));
    CHECK_INT(sockit_recv(a, line, 3, MSG_WAITALL), ==, 3);
    CHECK_OK(dial(&b, m.port, cctx, a));
    CHECK_INT(sockit_recv(b, line, 3, MSG_WAITALL), ==, 3); /* B's new ticket came before */
    sockit__tls_session *sess = sockit__tls_session_take(b);
    CHECK_TRUE(sess != NULL);
    sockit_close(b);
    CHECK_OK(sockit_create_connection(&c, "127.0.0.1", m.port, 10));
    CHECK_OK(sockit__tls_connect_session(c, cctx, "localhost", sess, sockit_deadline_after(10)));
    CHECK_INT(sockit_tls_resumed(c), ==, 1);
    CHECK_INT(sockit_recv(c, line, 3, MSG_WAITALL), ==, 3);
    sockit_close(c);
    sockit_close(a);
    pthread_join(m.tid, NULL);
    CHECK_INT(m.resumed[0], ==, 0);
    CHECK_INT(m.resumed[1], ==, 1);
    CHECK_INT(m.resumed[2], ==, 1);
    CHECK_TRUE(sockit__tls_session_take(NULL) == NULL);
    sockit__tls_session_free(sess);
    sockit__tls_session_free(NULL);
    sockit_close(m.l);
    sockit_tls_ctx_free(sctx);
    sockit_tls_ctx_free(cctx);
}

/* ---- vsftpd -------------------------------------------------------------------------------- */

static const char *find_vsftpd(void)
{
    static const char *paths[] = {"/usr/sbin/vsftpd", "/usr/local/sbin/vsftpd", "/sbin/vsftpd"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (access(paths[i], X_OK) == 0) return paths[i];
    return NULL;
}

/* One FTP reply: lines until "NNN " (multi-line replies continue with "NNN-"). Returns the code
 * (the last line is in buf), or a negative code. */
static int ftp_reply(sockit_reader *r, char *buf, size_t len)
{
    for (;;) {
        ssize_t n = sockit_reader_getline(r, buf, len, 1);
        if (n <= 0) return n == 0 ? SOCKIT_ECLOSED : (int)n;
        if (strlen(buf) >= 4 && buf[3] == ' ') return atoi(buf);
    }
}

static int ftp_cmd(sockit_sock *s, sockit_reader *r, const char *cmd, char *buf, size_t len)
{
    char line[256];
    int n = snprintf(line, sizeof line, "%s\r\n", cmd);
    int rc = sockit_sendall(s, line, (size_t)n, 0);
    return rc < 0 ? rc : ftp_reply(r, buf, len);
}

struct ftpd {
    tlsu_child ch;
    char dir[64];
    char port[8];
};

/* Starts vsftpd on 127.0.0.1 (anonymous, FTPS required, require_ssl_reuse=YES; the client
 * chooses the TLS version) serving a file "hello.txt" from its own temporary directory. 0, or -1
 * (vsftpd exited: the reason printed). The passive ports are a range below the kernel's ephemeral
 * ports, where other tests' connections cannot take them (vsftpd tries another port of the range
 * when one is busy). */
static int ftpd_start_once(struct ftpd *f, const char *bin)
{
    char path[160];
    memset(f, 0, sizeof *f);
    if (!*tu_tempdir(f->dir, sizeof f->dir)) return -1;
    int port = tlsu_free_port(), pasv = 20000 + (int)(getpid() % 100) * 100;
    snprintf(f->port, sizeof f->port, "%d", port);
    tlsu_sh("mkdir -p %s/root %s/empty && chmod 755 %s %s/root && printf 'hello over FTPS\\n' > %s/root/hello.txt"
            " && chmod 644 %s/root/hello.txt", f->dir, f->dir, f->dir, f->dir, f->dir, f->dir);
    snprintf(path, sizeof path, "%s/vsftpd.conf", f->dir);
    FILE *conf = fopen(path, "w");
    if (!conf) return -1;
    fprintf(conf,
            "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port=%d\nbackground=NO\n"
            "anonymous_enable=YES\nno_anon_password=YES\nanon_root=%s/root\nlocal_enable=NO\n"
            "write_enable=NO\nsecure_chroot_dir=%s/empty\nrun_as_launching_user=NO\n"
            "seccomp_sandbox=NO\nisolate=NO\nisolate_network=NO\n"
            "pasv_enable=YES\npasv_address=127.0.0.1\npasv_min_port=%d\npasv_max_port=%d\n"
            "ssl_enable=YES\nallow_anon_ssl=YES\nforce_anon_logins_ssl=YES\nforce_anon_data_ssl=YES\n"
            "require_ssl_reuse=YES\nssl_ciphers=HIGH\nrsa_cert_file=%s\nrsa_private_key_file=%s\n"
            "ssl_tlsv1=NO\nssl_sslv2=NO\nssl_sslv3=NO\n"
            "xferlog_enable=NO\nvsftpd_log_file=%s/vsftpd.log\ndual_log_enable=NO\n"
            "syslog_enable=NO\nuse_localtime=NO\ndebug_ssl=YES\nlog_ftp_protocol=YES\n"
            "xferlog_std_format=NO\n",
            port, f->dir, f->dir, pasv, pasv + 99, C.srv, C.srv_key, f->dir);
    fclose(conf);
    char *argv[] = {(char *)bin, path, NULL};
    if (tlsu_spawn(&f->ch, f->dir, "vsftpd", "/dev/null", argv) < 0) return -1;
    /* Ready when it accepts: probe until it does (bounded), or until it has exited. */
    double end = tu_now() + 10;
    while (tu_now() < end) {
        sockit_sock *s = NULL;
        if (sockit_create_connection(&s, "127.0.0.1", f->port, 1) == 0) {
            sockit_close(s);
            return 0;
        }
        if (tlsu_reap(&f->ch, 0.05) >= 0) break; /* it exited: say why */
    }
    char err[512] = "";
    tlsu_slurp(f->ch.err, err, sizeof err);
    fprintf(stderr, "vsftpd did not start: %s\n", err);
    return -1;
}

static void ftpd_stop(struct ftpd *f)
{
    tlsu_kill(&f->ch);
    tlsu_rmdir(f->dir);
}

/* The listening port was free a moment before vsftpd bound it; if another process took it
 * meanwhile, vsftpd exits: try again with another (at most three times). */
static int ftpd_start(struct ftpd *f, const char *bin)
{
    for (int i = 0; i < 3; i++) {
        if (ftpd_start_once(f, bin) == 0) return 0;
        ftpd_stop(f);
    }
    return -1;
}

/* "227 Entering Passive Mode (127,0,0,1,p1,p2)." -> the port as text. */
static int pasv_port(const char *reply, char out[8])
{
    const char *p = strchr(reply, '(');
    int h[6];
    if (!p || sscanf(p, "(%d,%d,%d,%d,%d,%d)", &h[0], &h[1], &h[2], &h[3], &h[4], &h[5]) != 6)
        return -1;
    snprintf(out, 8, "%d", h[4] * 256 + h[5]);
    return 0;
}

/* An FTPS session with vsftpd: AUTH TLS on the control connection, login, PROT P, PASV, RETR
 * hello.txt over a TLS data connection that resumes the control connection's session (reuse 1),
 * or does not (reuse 0: vsftpd refuses the transfer). Returns 0 when the file arrived. */
static int ftps_fetch(const char *port, sockit_tls_ctx *cctx, int reuse, char *got, size_t gotlen,
                      int *resumed, char *why, size_t whylen)
{
    sockit_sock *c = NULL, *d = NULL;
    sockit_reader *r = NULL;
    char buf[512], dport[8];
    int rc = -1, code;
    *resumed = -1;
    got[0] = 0;
    if (sockit_create_connection(&c, "127.0.0.1", port, 10) < 0 || sockit_reader_new(&r, c, 0) < 0)
        goto out;
#define EXPECT(expr, want)                                                                       \
    do {                                                                                         \
        code = (expr);                                                                           \
        if (code != (want)) {                                                                    \
            snprintf(why, whylen, "%s -> %d (%.200s)", #expr, code, code < 0 ? sockit_errmsg() : buf); \
            goto out;                                                                            \
        }                                                                                        \
    } while (0)
    EXPECT(ftp_reply(r, buf, sizeof buf), 220);
    EXPECT(ftp_cmd(c, r, "AUTH TLS", buf, sizeof buf), 234);
    EXPECT(sockit_tls_connect(c, cctx, "localhost"), 0);
    EXPECT(ftp_cmd(c, r, "USER anonymous", buf, sizeof buf), 230);
    EXPECT(ftp_cmd(c, r, "PBSZ 0", buf, sizeof buf), 200);
    EXPECT(ftp_cmd(c, r, "PROT P", buf, sizeof buf), 200);
    EXPECT(ftp_cmd(c, r, "TYPE I", buf, sizeof buf), 200);
    EXPECT(ftp_cmd(c, r, "PASV", buf, sizeof buf), 227);
    EXPECT(pasv_port(buf, dport), 0);
    EXPECT(sockit_create_connection(&d, "127.0.0.1", dport, 10), 0);
    EXPECT(ftp_cmd(c, r, "RETR hello.txt", buf, sizeof buf), 150);
    sockit_tls_connect_opts o = {.reuse_from = reuse ? c : NULL};
    code = sockit_tls_connect_ex(d, cctx, "localhost", &o);
    if (code == 0) {
        *resumed = sockit_tls_resumed(d);
        size_t n = 0;
        ssize_t k;
        while (n + 1 < gotlen && (k = sockit_recv(d, got + n, gotlen - 1 - n, 0)) > 0) n += (size_t)k;
        got[n] = 0;
    }
    sockit_close(d);
    d = NULL;
    /* 226 when the transfer completed; 522 ("SSL connection failed: session reuse required") or
     * 425/426 when vsftpd refused it. */
    code = ftp_reply(r, buf, sizeof buf);
    snprintf(why, whylen, "%s", code < 0 ? sockit_errmsg() : buf);
    if (code == 226) rc = 0;
    ftp_cmd(c, r, "QUIT", buf, sizeof buf);
#undef EXPECT
out:
    sockit_reader_free(r);
    sockit_close(d);
    sockit_close(c);
    return rc;
}

static void test_vsftpd_require_ssl_reuse(void)
{
    const char *bin = find_vsftpd();
    if (!bin) {
        TU_SKIP("vsftpd is not installed (apt-get install vsftpd): the FTPS reuse case did not run");
        return;
    }
    if (geteuid() != 0) {
        TU_SKIP("vsftpd needs root (chroot, privilege separation): the FTPS reuse case did not run");
        return;
    }
    int versions[] = {12, 13};
    for (size_t v = 0; v < 2; v++) {
        struct ftpd f;
        TU_CTX("vsftpd, TLS 1.%d", versions[v] % 10);
        if (ftpd_start(&f, bin) < 0) {
            CHECK_TRUE(0);
            return;
        }
        sockit_tls_ctx *cctx = ctx_new(0, versions[v]);
        char got[256], why[512];
        int resumed;
        /* Without reuse, vsftpd refuses the data connection: the defect this fixes. (First, with
         * a fresh context: the data port is fixed, and a session cached for it would resume.) */
        int rc = ftps_fetch(f.port, cctx, 0, got, sizeof got, &resumed, why, sizeof why);
        TU_CTX("vsftpd, TLS 1.%d, no reuse: %.300s", versions[v] % 10, why);
        CHECK_TRUE(rc < 0);
        CHECK_INT(resumed, !=, 1);
        CHECK_STR(got, "");
        /* Reusing the control connection's session: the transfer goes through. */
        rc = ftps_fetch(f.port, cctx, 1, got, sizeof got, &resumed, why, sizeof why);
        TU_CTX("vsftpd, TLS 1.%d, reuse: %.300s", versions[v] % 10, why);
        CHECK_OK(rc);
        CHECK_INT(resumed, ==, 1);
        CHECK_STR(got, "hello over FTPS\n");
        sockit_tls_ctx_free(cctx);
        ftpd_stop(&f);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (tlsu_make_certs(&C) < 0) {
        fprintf(stderr, "cannot make test certificates (is the openssl command installed?)\n");
        return 1;
    }
    chmod(C.dir, 0755); /* vsftpd drops privileges before it reads... nothing of ours, but be kind */
    TU_RUN(test_reuse_own_server, 30);
    TU_RUN(test_reuse_from_plain, 15);
    TU_RUN(test_reuse_chain, 30);
    TU_RUN(test_vsftpd_require_ssl_reuse, 60);
    tlsu_rmdir(C.dir);
    return tu_done();
}
