/*
 * test_ftp_vsftpd.c — the FTP client against vsftpd (Debian's), run in the foreground with a
 * config of the test's own: plain FTP (LIST fallback: vsftpd has no MLSD, passive and active,
 * uploads, resume, SIZE checks), explicit FTPS (AUTH TLS) and implicit FTPS (ftps:// URL), both
 * with require_ssl_reuse=YES in TLS 1.2 and 1.3 — transfers that go through prove every data
 * connection resumed the control connection's session. vsftpd needs root: without it (or
 * without vsftpd) the cases print SKIP lines.
 */
#include "ftp_util.h"

static tlsu_certs C;

enum { PLAIN, EXPLICIT, IMPLICIT };

struct vsftpd {
    tlsu_child ch;
    char dir[64], root[96], up[128];
    char port[8];
};

static const char *find_vsftpd(void)
{
    static const char *paths[] = {"/usr/sbin/vsftpd", "/usr/local/sbin/vsftpd", "/sbin/vsftpd"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (access(paths[i], X_OK) == 0) return paths[i];
    return NULL;
}

/* Anonymous vsftpd serving root/ (hello.txt, 1 MiB big.bin), writable root/up/. */
static int start_once(struct vsftpd *v, const char *bin, int tls)
{
    char conf[160];
    memset(v, 0, sizeof *v);
    if (!*tu_tempdir(v->dir, sizeof v->dir)) return -1;
    snprintf(v->root, sizeof v->root, "%s/root", v->dir);
    snprintf(v->up, sizeof v->up, "%s/root/up", v->dir);
    int port = tlsu_free_port();
    snprintf(v->port, sizeof v->port, "%d", port);
    tlsu_sh("mkdir -p %s %s/empty && chmod 755 %s %s/root && chmod 777 %s && "
            "printf 'hello from vsftpd\\n' > %s/hello.txt && chmod 644 %s/hello.txt",
            v->up, v->dir, v->dir, v->dir, v->up, v->root, v->root);
    char big[200];
    snprintf(big, sizeof big, "%s/big.bin", v->root);
    if (ftpu_make_file(big, 11, 1u << 20) < 0 || chmod(big, 0644) < 0) return -1;
    snprintf(conf, sizeof conf, "%s/vsftpd.conf", v->dir);
    FILE *f = fopen(conf, "w");
    if (!f) return -1;
    fprintf(f,
            "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port=%d\nbackground=NO\n"
            "anonymous_enable=YES\nno_anon_password=YES\nanon_root=%s\nlocal_enable=NO\n"
            "write_enable=YES\nanon_upload_enable=YES\nanon_mkdir_write_enable=YES\n"
            "anon_other_write_enable=YES\nanon_umask=022\n"
            "secure_chroot_dir=%s/empty\nrun_as_launching_user=NO\n"
            "seccomp_sandbox=NO\nisolate=NO\nisolate_network=NO\n"
            "pasv_enable=YES\nport_enable=YES\nconnect_from_port_20=NO\n"
            "xferlog_enable=NO\nvsftpd_log_file=%s/vsftpd.log\ndual_log_enable=NO\n"
            "syslog_enable=NO\nuse_localtime=NO\n",
            port, v->root, v->dir, v->dir);
    if (tls != PLAIN)
        fprintf(f,
                "ssl_enable=YES\nallow_anon_ssl=YES\nforce_anon_logins_ssl=YES\n"
                "force_anon_data_ssl=YES\nrequire_ssl_reuse=YES\nssl_ciphers=HIGH\n"
                "rsa_cert_file=%s\nrsa_private_key_file=%s\nssl_tlsv1=NO\nssl_sslv2=NO\n"
                "ssl_sslv3=NO\nimplicit_ssl=%s\n",
                C.srv, C.srv_key, tls == IMPLICIT ? "YES" : "NO");
    fclose(f);
    char *argv[] = {(char *)bin, conf, NULL};
    if (tlsu_spawn(&v->ch, v->dir, "vsftpd", "/dev/null", argv) < 0) return -1;
    double end = tu_now() + 10;
    while (tu_now() < end) {
        sockit_sock *s = NULL;
        if (sockit_create_connection(&s, "127.0.0.1", v->port, 1) == 0) {
            sockit_close(s);
            return 0;
        }
        if (tlsu_reap(&v->ch, 0.05) >= 0) break;
    }
    char err[512] = "";
    tlsu_slurp(v->ch.err, err, sizeof err);
    fprintf(stderr, "vsftpd did not start: %s\n", err);
    return -1;
}

static void stop(struct vsftpd *v)
{
    tlsu_kill(&v->ch);
    tlsu_rmdir(v->dir);
}

/* The port was free a moment before vsftpd bound it: try again if it was taken meanwhile. */
static int start(struct vsftpd *v, int tls)
{
    const char *bin = find_vsftpd();
    if (!bin) {
        TU_SKIP("vsftpd is not installed (apt-get install vsftpd)");
        return -2;
    }
    if (geteuid() != 0) {
        TU_SKIP("vsftpd needs root (chroot, privilege separation)");
        return -2;
    }
    for (int i = 0; i < 3; i++) {
        if (start_once(v, bin, tls) == 0) return 0;
        stop(v);
    }
    return -1;
}

struct mem {
    char buf[4096];
    size_t n;
};

static int to_mem(void *arg, const void *data, size_t len)
{
    struct mem *m = arg;
    if (m->n + len > sizeof m->buf) return -EFBIG;
    memcpy(m->buf + m->n, data, len);
    m->n += len;
    return 0;
}

static int count_entry(void *arg, const sockit_ftp_entry *e)
{
    int *n = arg;
    if (e->name.n == 9 && !memcmp(e->name.p, "hello.txt", 9) && e->size == 18 &&
        e->type == SOCKIT_FTP_FILE)
        *n += 100;
    (*n)++;
    return 0;
}

/* What every mode must do: list (LIST parsed), download with the size checked, upload, resume
 * an upload, delete. */
static void exercise(sockit_ftp *f, struct vsftpd *v)
{
    int n = 0;
    CHECK_INT(sockit_ftp_features(f) & SOCKIT_FTP_FEAT_MLSD, ==, 0);
    CHECK_TRUE(sockit_ftp_features(f) & SOCKIT_FTP_FEAT_EPSV);
    CHECK_OK(sockit_ftp_ls(f, NULL, count_entry, &n));
    CHECK_INT(n, ==, 103); /* hello.txt (parsed exactly), big.bin, up */
    struct mem m = {.n = 0};
    uint64_t got = 0, sent = 0;
    CHECK_OK(sockit_ftp_retr(f, "hello.txt", 0, to_mem, &m, &got));
    CHECK_INT(m.n, ==, 18);
    CHECK_MEM(m.buf, "hello from vsftpd\n", 18);
    char local[200], src[200];
    snprintf(local, sizeof local, "%s/big.copy", v->dir);
    snprintf(src, sizeof src, "%s/big.bin", v->root);
    CHECK_OK(ftpu_make_file(local, 11, 1u << 20));
    CHECK_OK(truncate(local, 300000));
    CHECK_OK(sockit_ftp_download(f, "big.bin", local, 1, &got)); /* resume a download */
    CHECK_INT(got, ==, (1u << 20) - 300000);
    long long sz;
    CHECK_INT(tlsu_file_hash(local, &sz), ==, tlsu_stream_hash(11, 1u << 20));
    /* Upload, then resume an upload the server holds only part of. */
    CHECK_OK(sockit_ftp_upload(f, "up/new.bin", src, SOCKIT_FTP_STORE, &sent));
    CHECK_INT(sent, ==, 1u << 20);
    char remote[200];
    snprintf(remote, sizeof remote, "%s/new.bin", v->up);
    CHECK_INT(tlsu_file_hash(remote, &sz), ==, tlsu_stream_hash(11, 1u << 20));
    CHECK_OK(truncate(remote, 123456));
    CHECK_OK(sockit_ftp_upload(f, "up/new.bin", src, SOCKIT_FTP_RESUME, &sent));
    CHECK_INT(sent, ==, (1u << 20) - 123456);
    CHECK_INT(tlsu_file_hash(remote, &sz), ==, tlsu_stream_hash(11, 1u << 20));
    CHECK_INT(sz, ==, 1 << 20);
    CHECK_OK(sockit_ftp_dele(f, "up/new.bin"));
    CHECK_CODE(sockit_ftp_retr(f, "nosuch", 0, to_mem, &m, &got), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "retr nosuch: 550");
    CHECK_OK(sockit_ftp_noop(f));
}

static void test_vsftpd_plain(void)
{
    struct vsftpd v;
    int rc = start(&v, PLAIN);
    if (rc == -2) return;
    CHECK_OK(rc);
    if (rc < 0) return;
    for (int active = 0; active <= 1; active++) {
        TU_CTX("%s", active ? "active" : "passive");
        sockit_ftp_opts o = {.active = active, .timeout = 20};
        sockit_ftp *f = ftpu_login(v.port, NULL, NULL, &o);
        CHECK_TRUE(f != NULL);
        if (f) {
            exercise(f, &v);
            CHECK_INT(sockit_ftp_used_pasv(f), ==, 0);
            CHECK_OK(sockit_ftp_quit(f));
        }
        sockit_ftp_close(f);
    }
    stop(&v);
}

static sockit_tls_ctx *client_ctx(int version)
{
    sockit_tls_opts o = {.cafile = C.ca, .min_version = version == 13 ? 13 : 0,
                         .max_version = version == 12 ? 12 : 0};
    sockit_tls_ctx *ctx = NULL;
    CHECK_OK(sockit_tls_ctx_new(&ctx, &o));
    return ctx;
}

static void test_vsftpd_explicit_reuse(void)
{
    struct vsftpd v;
    int rc = start(&v, EXPLICIT);
    if (rc == -2) return;
    CHECK_OK(rc);
    if (rc < 0) return;
    int versions[] = {12, 13};
    for (size_t i = 0; i < 2; i++) {
        for (int active = 0; active <= 1; active++) {
            TU_CTX("TLS 1.%d, %s", versions[i] % 10, active ? "active" : "passive");
            sockit_tls_ctx *ctx = client_ctx(versions[i]);
            sockit_ftp_opts o = {.tls = SOCKIT_FTP_TLS_EXPLICIT, .tls_ctx = ctx,
                                 .tls_host = "localhost", .active = active, .timeout = 20};
            sockit_ftp *f = ftpu_login(v.port, NULL, NULL, &o);
            CHECK_TRUE(f != NULL);
            if (f) {
                CHECK_STR(sockit_tls_version(sockit_ftp_sock(f)),
                          versions[i] == 12 ? "TLSv1.2" : "TLSv1.3");
                exercise(f, &v);
                CHECK_INT(sockit_ftp_data_resumed(f), ==, 1);
            }
            sockit_ftp_close(f);
            sockit_tls_ctx_free(ctx);
        }
    }
    /* Plain FTP is refused by this server: its words in the message. */
    sockit_ftp *f = NULL;
    CHECK_OK(sockit_ftp_connect(&f, "127.0.0.1", v.port, NULL));
    CHECK_CODE(sockit_ftp_login(f, NULL, NULL), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "login failed: 530");
    sockit_ftp_close(f);
    stop(&v);
}

static void test_vsftpd_implicit_url(void)
{
    struct vsftpd v;
    int rc = start(&v, IMPLICIT);
    if (rc == -2) return;
    CHECK_OK(rc);
    if (rc < 0) return;
    int versions[] = {12, 13};
    for (size_t i = 0; i < 2; i++) {
        TU_CTX("TLS 1.%d", versions[i] % 10);
        sockit_tls_ctx *ctx = client_ctx(versions[i]);
        sockit_ftp_opts o = {.tls_ctx = ctx, .tls_host = "localhost", .timeout = 20};
        char url[128], path[64];
        snprintf(url, sizeof url, "ftps://127.0.0.1:%s/hello.txt", v.port);
        sockit_ftp *f = NULL;
        CHECK_OK(sockit_ftp_open_url(&f, url, &o, path, sizeof path));
        CHECK_STR(path, "hello.txt");
        if (f) {
            CHECK_TRUE(sockit_tls_active(sockit_ftp_sock(f)));
            exercise(f, &v);
            CHECK_INT(sockit_ftp_data_resumed(f), ==, 1);
        }
        sockit_ftp_close(f);
        sockit_tls_ctx_free(ctx);
    }
    stop(&v);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (tlsu_make_certs(&C) < 0) {
        fprintf(stderr, "cannot make test certificates (is the openssl command installed?)\n");
        return 1;
    }
    chmod(C.dir, 0755);
    TU_RUN(test_vsftpd_plain, 60);
    TU_RUN(test_vsftpd_explicit_reuse, 120);
    TU_RUN(test_vsftpd_implicit_url, 60);
    tlsu_rmdir(C.dir);
    return tu_done();
}
