/*
 * test_ftp.c — the FTP client against a real server, pyftpdlib (tests/ftp_util.h), on loopback:
 * login (user, anonymous, wrong password), directory commands, SIZE/MDTM/FEAT/SYST/raw commands,
 * MLSD and the LIST fallback, a 256 MiB round trip by checksum, resume both ways, active and
 * passive, EPSV refused -> PASV, a 227 with a wrong address, error replies (missing file,
 * permission denied), a server that ends a download early while saying 226, explicit FTPS with
 * the data connections resuming the control connection's TLS session, URLs, aborting from the
 * progress callback, and NOOP keep-alives during a transfer.
 * Without pyftpdlib (python3-pyftpdlib, python3-openssl) the cases print SKIP lines.
 */
#include "ftp_util.h"

#include "internal/ftp.h"

static tlsu_certs C;

#define NEED_SERVER(s, flags) FTPU_NEED_SERVER(s, flags, C)

static void path_in(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void put_text(const char *dir, const char *name, const char *text)
{
    char p[256];
    path_in(p, sizeof p, dir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* ---- sessions and commands ---------------------------------------------------------------- */

static void test_login_and_commands(void)
{
    NEED_SERVER(s, "plain");
    put_text(s.home, "a.txt", "hello, ftp\n");
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", NULL);
    CHECK_TRUE(f != NULL);
    if (!f) goto out;
    int feat = sockit_ftp_features(f);
    CHECK_TRUE(feat & SOCKIT_FTP_FEAT_FEAT);
    CHECK_TRUE(feat & SOCKIT_FTP_FEAT_MLSD);
    CHECK_TRUE(feat & SOCKIT_FTP_FEAT_EPSV);
    CHECK_TRUE(feat & SOCKIT_FTP_FEAT_SIZE);
    CHECK_TRUE(feat & SOCKIT_FTP_FEAT_REST);
    char buf[256];
    CHECK_INT(sockit_ftp_pwd(f, buf, sizeof buf), ==, 1);
    CHECK_STR(buf, "/");
    CHECK_OK(sockit_ftp_mkd(f, "d1"));
    CHECK_OK(sockit_ftp_cwd(f, "d1"));
    CHECK_INT(sockit_ftp_pwd(f, buf, sizeof buf), ==, 3);
    CHECK_STR(buf, "/d1");
    CHECK_INT(sockit_ftp_pwd(f, buf, 3), ==, -ENOBUFS);
    CHECK_OK(sockit_ftp_cdup(f));
    uint64_t size = 0;
    CHECK_OK(sockit_ftp_size(f, "a.txt", &size));
    CHECK_INT(size, ==, 11);
    int64_t mt = 0;
    struct stat st;
    char p[256];
    path_in(p, sizeof p, s.home, "a.txt");
    CHECK_OK(stat(p, &st));
    CHECK_OK(sockit_ftp_mdtm(f, "a.txt", &mt));
    CHECK_INT(mt, ==, (int64_t)st.st_mtime);
    CHECK_OK(sockit_ftp_rename(f, "a.txt", "d1/b.txt"));
    path_in(p, sizeof p, s.home, "d1/b.txt");
    CHECK_OK(access(p, F_OK));
    CHECK_OK(sockit_ftp_dele(f, "d1/b.txt"));
    CHECK_INT(access(p, F_OK), ==, -1);
    CHECK_OK(sockit_ftp_rmd(f, "d1"));
    CHECK_OK(sockit_ftp_syst(f, buf, sizeof buf));
    CHECK_CONTAINS(buf, "UNIX");
    CHECK_OK(sockit_ftp_noop(f));
    CHECK_INT(sockit_ftp_reply_code(f), ==, 200);
    CHECK_OK(sockit_ftp_abor(f)); /* nothing to abort: 225 */
    CHECK_INT(sockit_ftp_reply_code(f) / 100, ==, 2);
    CHECK_INT(sockit_ftp_feat(f), ==, feat);
    sockit_ftp_reply r;
    CHECK_INT(sockit_ftp_cmd(f, "HELP", &r), ==, 214);
    CHECK_INT(r.code, ==, 214);
    CHECK_CONTAINS(r.text, "214");
    CHECK_TRUE(strchr(r.text, '\n') != NULL); /* a multi-line reply, kept whole */
    /* Error replies: SOCKIT_EPROTO with the server's text; the session goes on. */
    CHECK_CODE(sockit_ftp_size(f, "nosuch", &size), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "size nosuch: 550");
    CHECK_CODE(sockit_ftp_cwd(f, "nosuch"), SOCKIT_EPROTO);
    CHECK_CODE(sockit_ftp_cmd(f, "BOGUS", NULL), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "500");
    /* Nothing with CR or LF is sent. */
    CHECK_CODE(sockit_ftp_dele(f, "x\r\nDELE y"), -EINVAL);
    CHECK_CODE(sockit_ftp_cmd(f, "NOOP\r\nQUIT", NULL), -EINVAL);
    CHECK_OK(sockit_ftp_noop(f));
    CHECK_OK(sockit_ftp_quit(f));
    CHECK_CODE(sockit_ftp_noop(f), SOCKIT_ECLOSED);
    sockit_ftp_close(f);
out:
    ftpu_stop(&s);
}

static void test_login_failures(void)
{
    NEED_SERVER(s, "plain");
    sockit_ftp *f = NULL;
    CHECK_OK(sockit_ftp_connect(&f, "127.0.0.1", s.port, NULL));
    double t0 = tu_now();
    CHECK_CODE(sockit_ftp_login(f, "user", "wrong"), SOCKIT_EPROTO);
    CHECK_TRUE(strncmp(sockit_errmsg(), "login failed: 530 ", 18) == 0);
    CHECK_INT(sockit_ftp_reply_code(f), ==, 530);
    CHECK_DBL(tu_now() - t0, <, 20); /* pyftpdlib delays failed logins a little */
    sockit_ftp_close(f);
    /* Anonymous works, with the default password. */
    f = ftpu_login(s.port, NULL, NULL, NULL);
    CHECK_TRUE(f != NULL);
    char buf[64];
    if (f) CHECK_INT(sockit_ftp_pwd(f, buf, sizeof buf), ==, 1);
    sockit_ftp_close(f);
    /* Nobody listening: the core's code. */
    int port = tlsu_free_port();
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    CHECK_CODE(sockit_ftp_connect(&f, "127.0.0.1", ps, NULL), -ECONNREFUSED);
    CHECK_TRUE(f == NULL);
    ftpu_stop(&s);
}

/* ---- listings ----------------------------------------------------------------------------- */

struct seen {
    int files, dirs, other;
    int64_t size_a, mtime_a;
    char names[512];
};

static int seen_entry(void *arg, const sockit_ftp_entry *e)
{
    struct seen *x = arg;
    size_t n = strlen(x->names);
    snprintf(x->names + n, sizeof x->names - n, "%.*s%s,", (int)e->name.n, e->name.p,
             e->type == SOCKIT_FTP_DIR ? "/" : "");
    if (e->type == SOCKIT_FTP_FILE) x->files++;
    else if (e->type == SOCKIT_FTP_DIR) x->dirs++;
    else x->other++;
    if (e->name.n == 5 && !memcmp(e->name.p, "a.txt", 5)) {
        x->size_a = e->size;
        x->mtime_a = e->mtime;
    }
    return 0;
}

static void make_tree(const ftpu_server *s)
{
    put_text(s->home, "a.txt", "0123456789\n");
    put_text(s->home, "with space.txt", "x");
    tlsu_sh("mkdir -p %s/sub && touch -d '2021-03-04 05:06:07 UTC' %s/a.txt", s->home, s->home);
}

static void check_listing(sockit_ftp *f)
{
    struct seen x = {0};
    CHECK_OK(sockit_ftp_ls(f, NULL, seen_entry, &x));
    CHECK_INT(x.files, ==, 2);
    CHECK_INT(x.dirs, ==, 2); /* sub and pub */
    CHECK_INT(x.other, ==, 0);
    CHECK_INT(x.size_a, ==, 11);
    CHECK_CONTAINS(x.names, "with space.txt,");
    CHECK_CONTAINS(x.names, "sub/,");
    /* The date: to the second from MLSD; LIST shows an old date with its year and no time. */
    int64_t day = sockit__ftp_days(2021, 3, 4) * 86400;
    if (sockit_ftp_features(f) & SOCKIT_FTP_FEAT_MLSD)
        CHECK_INT(x.mtime_a, ==, day + 5 * 3600 + 6 * 60 + 7);
    else
        CHECK_INT(x.mtime_a, ==, day);
}

static void test_listing_mlsd(void)
{
    NEED_SERVER(s, "plain");
    make_tree(&s);
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", NULL);
    CHECK_TRUE(f != NULL);
    if (f) {
        CHECK_TRUE(sockit_ftp_features(f) & SOCKIT_FTP_FEAT_MLSD);
        check_listing(f);
        struct seen x = {0};
        CHECK_OK(sockit_ftp_mlsd(f, "sub", seen_entry, &x)); /* cdir only, or nothing */
        CHECK_INT(x.files, ==, 0);
        ftpu_names n = {0};
        CHECK_OK(sockit_ftp_nlst(f, NULL, ftpu_add_line, &n));
        CHECK_CONTAINS(n.buf, "a.txt\n");
        CHECK_INT(n.count, ==, 4);
        ftpu_names l = {0};
        CHECK_OK(sockit_ftp_list(f, "sub", ftpu_add_line, &l));
        CHECK_INT(l.count, ==, 0);
        CHECK_CODE(sockit_ftp_list(f, "nosuch", ftpu_add_line, &l), SOCKIT_EPROTO);
        CHECK_CONTAINS(sockit_errmsg(), "list nosuch: 550");
        CHECK_OK(sockit_ftp_noop(f));
    }
    sockit_ftp_close(f);
    ftpu_stop(&s);
}

static void test_listing_list_fallback(void)
{
    NEED_SERVER(s, "nomlsd");
    make_tree(&s);
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", NULL);
    CHECK_TRUE(f != NULL);
    if (f) {
        CHECK_INT(sockit_ftp_features(f) & SOCKIT_FTP_FEAT_MLSD, ==, 0);
        check_listing(f);
        /* The raw lines parse with the public parser. */
        ftpu_names l = {0};
        CHECK_OK(sockit_ftp_list(f, NULL, ftpu_add_line, &l));
        CHECK_INT(l.count, ==, 4);
        char *save = NULL;
        for (char *line = strtok_r(l.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            sockit_ftp_entry e;
            TU_CTX("%s", line);
            CHECK_OK(sockit_ftp_parse_list(line, strlen(line), &e));
        }
    }
    sockit_ftp_close(f);
    ftpu_stop(&s);
}

/* ---- transfers ---------------------------------------------------------------------------- */

struct prog {
    uint64_t last;
    int64_t total;
    int calls;
    uint64_t stop_at; /* abort once this much is done (0: never) */
};

static int on_progress(void *arg, uint64_t done, int64_t total)
{
    struct prog *p = arg;
    p->last = done;
    p->total = total;
    p->calls++;
    return p->stop_at && done >= p->stop_at;
}

static void roundtrip(const char *port, const char *dir, size_t total, const sockit_ftp_opts *o0)
{
    char src[256], back[256];
    path_in(src, sizeof src, dir, "src.bin");
    path_in(back, sizeof back, dir, "back.bin");
    CHECK_OK(ftpu_make_file(src, 7, total));
    struct prog pr = {0};
    sockit_ftp_opts o = *o0;
    o.progress = on_progress;
    o.progress_arg = &pr;
    sockit_ftp *f = ftpu_login(port, "user", "secret", &o);
    CHECK_TRUE(f != NULL);
    if (!f) return;
    uint64_t sent = 0, got = 0;
    CHECK_OK(sockit_ftp_upload(f, "big.bin", src, SOCKIT_FTP_STORE, &sent));
    CHECK_INT(sent, ==, total);
    CHECK_INT(pr.last, ==, total);
    CHECK_INT(pr.total, ==, (int64_t)total);
    char remote[256];
    path_in(remote, sizeof remote, dir, "home/big.bin");
    long long n = 0;
    CHECK_INT(tlsu_file_hash(remote, &n), ==, tlsu_stream_hash(7, total));
    CHECK_INT(n, ==, (long long)total);
    CHECK_OK(sockit_ftp_download(f, "big.bin", back, 0, &got));
    CHECK_INT(got, ==, total);
    CHECK_INT(pr.total, ==, (int64_t)total);
    CHECK_INT(tlsu_file_hash(back, &n), ==, tlsu_stream_hash(7, total));
    CHECK_INT(n, ==, (long long)total);
    CHECK_OK(sockit_ftp_noop(f));
    sockit_ftp_close(f);
    unlink(src);
    unlink(back);
}

static void test_roundtrip_256mib(void)
{
    NEED_SERVER(s, "plain");
    sockit_ftp_opts o = {.timeout = 30};
    roundtrip(s.port, s.dir, 256u << 20, &o);
    ftpu_stop(&s);
}

/* The sendfile upload (use_sendfile) moves the same bytes as the default pread + send. */
static void test_roundtrip_sendfile(void)
{
    NEED_SERVER(s, "plain");
    sockit_ftp_opts o = {.timeout = 30, .use_sendfile = 1};
    roundtrip(s.port, s.dir, 8u << 20, &o);
    ftpu_stop(&s);
}

static void test_active_mode(void)
{
    NEED_SERVER(s, "plain");
    make_tree(&s);
    sockit_ftp_opts o = {.active = 1, .timeout = 30};
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", &o);
    CHECK_TRUE(f != NULL);
    if (f) {
        check_listing(f);
        CHECK_INT(sockit_ftp_used_pasv(f), ==, 0);
    }
    sockit_ftp_close(f);
    roundtrip(s.port, s.dir, 4u << 20, &o);
    ftpu_stop(&s);
}

static void test_resume_both_ways(void)
{
    NEED_SERVER(s, "plain");
    const size_t total = 8u << 20, cut = 3u << 20;
    char full[256], part[256], remote[256];
    path_in(full, sizeof full, s.dir, "full.bin");
    path_in(part, sizeof part, s.dir, "part.bin");
    path_in(remote, sizeof remote, s.home, "r.bin");
    CHECK_OK(ftpu_make_file(full, 3, total));
    CHECK_OK(ftpu_make_file(remote, 3, total));
    CHECK_OK(ftpu_make_file(part, 3, total));
    CHECK_OK(truncate(part, (off_t)cut)); /* a download cut short */
    struct prog pr = {0};
    sockit_ftp_opts o = {.progress = on_progress, .progress_arg = &pr};
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", &o);
    CHECK_TRUE(f != NULL);
    if (!f) goto out;
    uint64_t got = 0, sent = 0;
    CHECK_OK(sockit_ftp_download(f, "r.bin", part, 1, &got));
    CHECK_INT(got, ==, total - cut); /* only the rest moved */
    long long n;
    CHECK_INT(tlsu_file_hash(part, &n), ==, tlsu_stream_hash(3, total));
    CHECK_INT(n, ==, (long long)total);
    CHECK_OK(sockit_ftp_download(f, "r.bin", part, 1, &got)); /* complete: nothing to do */
    CHECK_INT(got, ==, 0);
    /* Upload resume: the server holds a truncated copy. */
    CHECK_OK(truncate(remote, (off_t)cut));
    CHECK_OK(sockit_ftp_upload(f, "r.bin", full, SOCKIT_FTP_RESUME, &sent));
    CHECK_INT(sent, ==, total - cut);
    CHECK_INT(tlsu_file_hash(remote, &n), ==, tlsu_stream_hash(3, total));
    CHECK_INT(n, ==, (long long)total);
    CHECK_INT(pr.last, ==, total);
    /* Resume of a missing remote file uploads it all; APPE adds at the end. */
    CHECK_OK(sockit_ftp_upload(f, "new.bin", full, SOCKIT_FTP_RESUME, &sent));
    CHECK_INT(sent, ==, total);
    CHECK_OK(sockit_ftp_upload(f, "new.bin", full, SOCKIT_FTP_APPEND, &sent));
    uint64_t size;
    CHECK_OK(sockit_ftp_size(f, "new.bin", &size));
    CHECK_INT(size, ==, 2 * total);
    /* A local copy longer than the remote file is refused, not "resumed". */
    CHECK_OK(sockit_ftp_dele(f, "new.bin"));
    CHECK_OK(truncate(remote, 100));
    CHECK_CODE(sockit_ftp_download(f, "r.bin", part, 1, &got), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "longer than the remote file");
    CHECK_OK(sockit_ftp_noop(f));
    sockit_ftp_close(f);
out:
    ftpu_stop(&s);
}

/* Collects a download in memory. */
struct mem {
    char buf[1 << 16];
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

struct src {
    const char *p;
    size_t n, off;
};

static ssize_t from_mem(void *arg, void *buf, size_t cap)
{
    struct src *s = arg;
    size_t k = s->n - s->off < cap ? s->n - s->off : cap;
    if (k > 7) k = 7; /* small pieces */
    memcpy(buf, s->p + s->off, k);
    s->off += k;
    return (ssize_t)k;
}

static void test_callbacks_and_errors(void)
{
    NEED_SERVER(s, "plain");
    put_text(s.pub, "pub.txt", "public\n");
    int fds = tu_count_fds();
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", NULL);
    CHECK_TRUE(f != NULL);
    if (!f) goto out;
    struct src in = {"line one\nline two\n", 18, 0};
    uint64_t n = 0;
    CHECK_OK(sockit_ftp_stor(f, "cb.txt", SOCKIT_FTP_STORE, 0, from_mem, &in, &n));
    CHECK_INT(n, ==, 18);
    struct mem m = {.n = 0};
    CHECK_OK(sockit_ftp_retr(f, "cb.txt", 5, to_mem, &m, &n)); /* REST 5 */
    CHECK_INT(n, ==, 13);
    CHECK_MEM(m.buf, "one\nline two\n", 13);
    /* REST + STOR: the server keeps the first bytes. */
    struct src tail = {"TWO\n", 4, 0};
    CHECK_OK(sockit_ftp_stor(f, "cb.txt", SOCKIT_FTP_STORE, 14, from_mem, &tail, &n));
    m.n = 0;
    CHECK_OK(sockit_ftp_retr(f, "cb.txt", 0, to_mem, &m, &n));
    CHECK_INT(m.n, ==, 18);
    CHECK_MEM(m.buf, "line one\nline TWO\n", 18);
    /* Missing file: 550 in the message, nothing delivered, the session goes on. */
    m.n = 0;
    CHECK_CODE(sockit_ftp_retr(f, "nosuch.bin", 0, to_mem, &m, &n), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "retr nosuch.bin: 550");
    CHECK_INT(n, ==, 0);
    /* The write callback's own code stops the transfer; the session goes on. */
    char big[256];
    path_in(big, sizeof big, s.home, "big.bin");
    CHECK_OK(ftpu_make_file(big, 1, 4u << 20));
    m.n = 0;
    CHECK_CODE(sockit_ftp_retr(f, "big.bin", 0, to_mem, &m, &n), -EFBIG);
    CHECK_OK(sockit_ftp_noop(f));
    /* A missing remote file leaves the local one alone. */
    char keep[256];
    path_in(keep, sizeof keep, s.dir, "keep.txt");
    put_text(s.dir, "keep.txt", "precious");
    CHECK_CODE(sockit_ftp_download(f, "nosuch.bin", keep, 0, &n), SOCKIT_EPROTO);
    struct stat st;
    CHECK_OK(stat(keep, &st));
    CHECK_INT(st.st_size, ==, 8);
    /* An empty remote file makes an empty local one. */
    put_text(s.home, "empty.txt", "");
    CHECK_OK(sockit_ftp_download(f, "empty.txt", keep, 0, &n));
    CHECK_OK(stat(keep, &st));
    CHECK_INT(st.st_size, ==, 0);
    /* A local file that cannot be made: the OS code, the file named. */
    CHECK_CODE(sockit_ftp_download(f, "cb.txt", "/nonexistent/dir/x", 0, &n), -ENOENT);
    CHECK_CONTAINS(sockit_errmsg(), "/nonexistent/dir/x");
    CHECK_OK(sockit_ftp_noop(f));
    sockit_ftp_close(f);
    /* Permission denied: anonymous is read-only. */
    f = ftpu_login(s.port, NULL, NULL, NULL);
    CHECK_TRUE(f != NULL);
    if (f) {
        in.off = 0;
        CHECK_CODE(sockit_ftp_stor(f, "x.txt", SOCKIT_FTP_STORE, 0, from_mem, &in, &n),
                   SOCKIT_EPROTO);
        CHECK_CONTAINS(sockit_errmsg(), "stor x.txt: 550");
        CHECK_CODE(sockit_ftp_mkd(f, "d"), SOCKIT_EPROTO);
        CHECK_CONTAINS(sockit_errmsg(), "550");
        m.n = 0;
        CHECK_OK(sockit_ftp_retr(f, "pub.txt", 0, to_mem, &m, &n));
        CHECK_MEM(m.buf, "public\n", 7);
    }
    sockit_ftp_close(f);
    CHECK_INT(tu_count_fds(), ==, fds); /* every data connection, listener and file closed */
out:
    ftpu_stop(&s);
}

static void test_abort_from_progress(void)
{
    NEED_SERVER(s, "plain");
    char big[256];
    path_in(big, sizeof big, s.home, "big.bin");
    CHECK_OK(ftpu_make_file(big, 1, 64u << 20));
    struct prog pr = {.stop_at = 1u << 20};
    sockit_ftp_opts o = {.progress = on_progress, .progress_arg = &pr, .bufsize = 65536};
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", &o);
    CHECK_TRUE(f != NULL);
    if (f) {
        uint64_t got = 0;
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        CHECK_CODE(sockit_ftp_retr_fd(f, "big.bin", 0, null, &got), -ECANCELED);
        close(null);
        CHECK_TRUE(got >= (1u << 20) && got < (64u << 20));
        /* In step afterwards: the next commands get their own replies. */
        CHECK_OK(sockit_ftp_noop(f));
        char buf[64];
        CHECK_INT(sockit_ftp_pwd(f, buf, sizeof buf), ==, 1);
    }
    sockit_ftp_close(f);
    ftpu_stop(&s);
}

static void test_keepalive_noops(void)
{
    NEED_SERVER(s, "plain");
    char big[256], back[256];
    path_in(big, sizeof big, s.home, "big.bin");
    path_in(back, sizeof back, s.dir, "back.bin");
    CHECK_OK(ftpu_make_file(big, 2, 8u << 20));
    /* A NOOP after almost every buffer: replies come back during and after the transfer. */
    sockit_ftp_opts o = {.keepalive = 1e-6, .bufsize = 16384};
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", &o);
    CHECK_TRUE(f != NULL);
    if (f) {
        uint64_t n;
        CHECK_OK(sockit_ftp_download(f, "big.bin", back, 0, &n));
        long long sz;
        CHECK_INT(tlsu_file_hash(back, &sz), ==, tlsu_stream_hash(2, 8u << 20));
        CHECK_OK(sockit_ftp_upload(f, "up.bin", back, SOCKIT_FTP_STORE, &n));
        char buf[64];
        CHECK_INT(sockit_ftp_pwd(f, buf, sizeof buf), ==, 1);
        CHECK_INT(sockit_ftp_reply_code(f), ==, 257);
    }
    sockit_ftp_close(f);
    ftpu_stop(&s);
}

/* ---- passive mode variants ---------------------------------------------------------------- */

static void test_epsv_refused(void)
{
    NEED_SERVER(s, "noepsv,noeprt");
    put_text(s.home, "a.txt", "0123456789\n");
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", NULL);
    CHECK_TRUE(f != NULL);
    if (f) {
        struct mem m = {.n = 0};
        uint64_t n;
        CHECK_OK(sockit_ftp_retr(f, "a.txt", 0, to_mem, &m, &n));
        CHECK_INT(m.n, ==, 11);
        CHECK_INT(sockit_ftp_used_pasv(f), ==, 1);
        m.n = 0;
        CHECK_OK(sockit_ftp_retr(f, "a.txt", 0, to_mem, &m, &n)); /* PASV straight away */
        CHECK_INT(m.n, ==, 11);
    }
    sockit_ftp_close(f);
    /* Active mode with EPRT refused: PORT. */
    sockit_ftp_opts o = {.active = 1};
    f = ftpu_login(s.port, "user", "secret", &o);
    CHECK_TRUE(f != NULL);
    for (int i = 0; f && i < 2; i++) {
        struct mem m = {.n = 0};
        uint64_t n;
        CHECK_OK(sockit_ftp_retr(f, "a.txt", 0, to_mem, &m, &n));
        CHECK_INT(m.n, ==, 11);
        CHECK_INT(sockit_ftp_reply_code(f), ==, 226);
    }
    sockit_ftp_close(f);
    ftpu_stop(&s);
}

static void test_pasv_wrong_address(void)
{
    NEED_SERVER(s, "badpasv");
    put_text(s.home, "a.txt", "0123456789\n");
    sockit_ftp_opts o = {.no_epsv = 1, .timeout = 5};
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", &o);
    CHECK_TRUE(f != NULL);
    if (f) {
        struct mem m = {.n = 0};
        uint64_t n;
        CHECK_OK(sockit_ftp_retr(f, "a.txt", 0, to_mem, &m, &n)); /* the control peer is used */
        CHECK_INT(m.n, ==, 11);
        CHECK_INT(sockit_ftp_used_pasv(f), ==, 1);
        CHECK_TRUE(strstr(sockit_ftp_reply_text(f), "226") != NULL);
    }
    sockit_ftp_close(f);
    /* Asked to trust the 227, the client goes to 127.0.0.2, where nobody listens. */
    o.use_pasv_address = 1;
    f = ftpu_login(s.port, "user", "secret", &o);
    CHECK_TRUE(f != NULL);
    if (f) {
        struct mem m = {.n = 0};
        uint64_t n;
        double t0 = tu_now();
        CHECK_CODE(sockit_ftp_retr(f, "a.txt", 0, to_mem, &m, &n), -ECONNREFUSED);
        CHECK_CONTAINS(sockit_errmsg(), "127.0.0.2");
        CHECK_DBL(tu_now() - t0, <, 10);
    }
    sockit_ftp_close(f);
    ftpu_stop(&s);
}

/* ---- short transfers ---------------------------------------------------------------------- */

static void test_server_sends_half(void)
{
    NEED_SERVER(s, "short");
    char p[256], out[256];
    path_in(p, sizeof p, s.home, "short.bin");
    path_in(out, sizeof out, s.dir, "out.bin");
    CHECK_OK(ftpu_make_file(p, 5, 1u << 20));
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", NULL);
    CHECK_TRUE(f != NULL);
    if (f) {
        uint64_t got = 0;
        CHECK_CODE(sockit_ftp_download(f, "short.bin", out, 0, &got), SOCKIT_EPROTO);
        CHECK_CONTAINS(sockit_errmsg(), "short transfer");
        CHECK_INT(got, ==, 512u << 10);
        /* The bytes that came stay: resuming takes the rest from a server that behaves. */
        struct stat st;
        CHECK_OK(stat(out, &st));
        CHECK_INT(st.st_size, ==, 512 << 10);
        CHECK_OK(sockit_ftp_noop(f));
    }
    sockit_ftp_close(f);
    ftpu_stop(&s);
}

static void test_ipv6(void)
{
    NEED_SERVER(s, "v6");
    put_text(s.home, "a.txt", "0123456789\n");
    for (int active = 0; active <= 1; active++) {
        TU_CTX("%s", active ? "active (EPRT |2|)" : "passive (EPSV)");
        sockit_ftp_opts o = {.active = active, .timeout = 10};
        sockit_ftp *f = NULL;
        CHECK_OK(sockit_ftp_connect(&f, "::1", s.port, &o));
        if (!f) continue;
        CHECK_OK(sockit_ftp_login(f, "user", "secret"));
        struct mem m = {.n = 0};
        uint64_t n;
        CHECK_OK(sockit_ftp_retr(f, "a.txt", 0, to_mem, &m, &n));
        CHECK_INT(m.n, ==, 11);
        ftpu_names l = {0};
        CHECK_OK(sockit_ftp_nlst(f, NULL, ftpu_add_line, &l));
        CHECK_INT(l.count, ==, 2);
        CHECK_CONTAINS(l.buf, "a.txt\n");
        sockit_ftp_close(f);
    }
    ftpu_stop(&s);
}

/* ---- FTPS and URLs ------------------------------------------------------------------------ */

static void test_ftps_explicit(void)
{
    NEED_SERVER(s, "tls");
    make_tree(&s);
    sockit_ftp_opts o = {.tls = SOCKIT_FTP_TLS_EXPLICIT, .cafile = C.ca, .tls_host = "localhost",
                         .timeout = 30};
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", &o);
    CHECK_TRUE(f != NULL);
    if (f) {
        CHECK_TRUE(sockit_tls_active(sockit_ftp_sock(f)));
        check_listing(f);
        CHECK_INT(sockit_ftp_data_resumed(f), ==, 1);
        sockit_ftp_close(f);
    }
    roundtrip(s.port, s.dir, 16u << 20, &o);
    o.active = 1;
    roundtrip(s.port, s.dir, 1u << 20, &o);
    /* Verification is on: without the CA the handshake fails. */
    sockit_ftp_opts bad = {.tls = SOCKIT_FTP_TLS_EXPLICIT};
    f = NULL;
    CHECK_CODE(sockit_ftp_connect(&f, "127.0.0.1", s.port, &bad), SOCKIT_ETLS);
    /* Plain FTP to a server requiring TLS: the refusal's text. */
    CHECK_OK(sockit_ftp_connect(&f, "127.0.0.1", s.port, NULL));
    CHECK_CODE(sockit_ftp_login(f, "user", "secret"), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "login failed: 550");
    sockit_ftp_close(f);
    ftpu_stop(&s);
}

static void test_open_url(void)
{
    NEED_SERVER(s, "plain");
    tlsu_sh("mkdir -p %s/dir && printf 'via url' > '%s/dir/a b.txt'", s.home, s.home);
    char url[256], path[256];
    snprintf(url, sizeof url, "ftp://user:secret@127.0.0.1:%s/dir/a%%20b.txt;type=i", s.port);
    sockit_ftp *f = NULL;
    CHECK_OK(sockit_ftp_open_url(&f, url, NULL, path, sizeof path));
    CHECK_STR(path, "dir/a b.txt");
    if (f) {
        struct mem m = {.n = 0};
        uint64_t n;
        CHECK_OK(sockit_ftp_retr(f, path, 0, to_mem, &m, &n));
        CHECK_MEM(m.buf, "via url", 7);
    }
    sockit_ftp_close(f);
    f = NULL;
    snprintf(url, sizeof url, "ftp://user:nope@127.0.0.1:%s/", s.port);
    CHECK_CODE(sockit_ftp_open_url(&f, url, NULL, path, sizeof path), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "login failed: 530");
    CHECK_TRUE(f == NULL);
    CHECK_CODE(sockit_ftp_open_url(&f, "http://127.0.0.1/", NULL, path, sizeof path), SOCKIT_EBADURL);
    CHECK_CODE(sockit_ftp_open_url(&f, "ftp:///x", NULL, path, sizeof path), SOCKIT_EBADURL);
    snprintf(url, sizeof url, "ftp://127.0.0.1:%s/a%%0d%%0aDELE%%20x", s.port);
    CHECK_CODE(sockit_ftp_open_url(&f, url, NULL, path, sizeof path), SOCKIT_EBADURL);
    snprintf(url, sizeof url, "ftp://127.0.0.1:%s/%%2Fetc/x", s.port);
    CHECK_OK(sockit_ftp_open_url(&f, url, NULL, path, sizeof path)); /* anonymous */
    CHECK_STR(path, "/etc/x");
    sockit_ftp_close(f);
    ftpu_stop(&s);
}

/* ---- the same operations as Python's ftplib ------------------------------------------------ */

/* ftplib does, under py/, what ftplib_like() does with sockit under c/: the trees must match. */
static const char ftplib_script[] =
    "import ftplib, sys\n"
    "port, src = int(sys.argv[1]), sys.argv[2]\n"
    "f = ftplib.FTP()\n"
    "f.connect('127.0.0.1', port, timeout=30)\n"
    "f.login('user', 'secret')\n"
    "f.mkd('py'); f.cwd('py'); f.mkd('d'); f.cwd('d')\n"
    "f.storbinary('STOR a.bin', open(src, 'rb'))\n"
    "f.rename('a.bin', 'b.bin')\n"
    "f.storbinary('APPE b.bin', open(src, 'rb'))\n"
    "f.storbinary('STOR c.bin', open(src, 'rb'))\n"
    "f.delete('c.bin')\n"
    "f.mkd('e'); f.mkd('e/f'); f.rmd('e/f')\n"
    "f.cwd('..'); f.storlines('STOR t.txt', open(src + '.txt', 'rb'))\n"
    "f.quit()\n";

static void ftplib_like(sockit_ftp *f, const char *src, const char *txt)
{
    CHECK_OK(sockit_ftp_mkd(f, "c"));
    CHECK_OK(sockit_ftp_cwd(f, "c"));
    CHECK_OK(sockit_ftp_mkd(f, "d"));
    CHECK_OK(sockit_ftp_cwd(f, "d"));
    CHECK_OK(sockit_ftp_upload(f, "a.bin", src, SOCKIT_FTP_STORE, NULL));
    CHECK_OK(sockit_ftp_rename(f, "a.bin", "b.bin"));
    CHECK_OK(sockit_ftp_upload(f, "b.bin", src, SOCKIT_FTP_APPEND, NULL));
    CHECK_OK(sockit_ftp_upload(f, "c.bin", src, SOCKIT_FTP_STORE, NULL));
    CHECK_OK(sockit_ftp_dele(f, "c.bin"));
    CHECK_OK(sockit_ftp_mkd(f, "e"));
    CHECK_OK(sockit_ftp_mkd(f, "e/f"));
    CHECK_OK(sockit_ftp_rmd(f, "e/f"));
    CHECK_OK(sockit_ftp_cdup(f));
    CHECK_OK(sockit_ftp_type(f, 0)); /* storlines: ASCII */
    CHECK_OK(sockit_ftp_upload(f, "t.txt", txt, SOCKIT_FTP_STORE, NULL));
    CHECK_OK(sockit_ftp_type(f, 1));
    CHECK_OK(sockit_ftp_quit(f));
}

static void test_same_as_ftplib(void)
{
    NEED_SERVER(s, "plain");
    char src[256], txt[300], script[256], a[300], b[300];
    path_in(src, sizeof src, s.dir, "src.bin");
    snprintf(txt, sizeof txt, "%s.txt", src);
    path_in(script, sizeof script, s.dir, "ftplib_ops.py");
    CHECK_OK(ftpu_make_file(src, 9, 1u << 20));
    FILE *t = fopen(txt, "w"), *py = fopen(script, "w");
    if (t) fputs("line one\nline two\n", t), fclose(t);
    if (py) fputs(ftplib_script, py), fclose(py);
    CHECK_OK(tlsu_sh(FTPU_PYTHON " %s %s %s", script, s.port, src));
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", NULL);
    CHECK_TRUE(f != NULL);
    if (f) ftplib_like(f, src, txt);
    sockit_ftp_close(f);
    /* Names, types and contents under py/ and c/ alike. */
    path_in(a, sizeof a, s.dir, "tree.py");
    path_in(b, sizeof b, s.dir, "tree.c");
    CHECK_OK(tlsu_sh("cd %s/py && find . -printf '%%y %%p\\n' | sort > %s && "
                     "find . -type f | sort | xargs sha256sum >> %s", s.home, a, a));
    CHECK_OK(tlsu_sh("cd %s/c && find . -printf '%%y %%p\\n' | sort > %s && "
                     "find . -type f | sort | xargs sha256sum >> %s", s.home, b, b));
    char ta[2048] = "", tb[2048] = "";
    tlsu_slurp(a, ta, sizeof ta);
    tlsu_slurp(b, tb, sizeof tb);
    CHECK_CONTAINS(ta, "f ./d/b.bin\n");
    CHECK_CONTAINS(ta, "d ./d/e\n");
    struct stat st;
    snprintf(a, sizeof a, "%s/c/d/b.bin", s.home);
    CHECK_OK(stat(a, &st));
    CHECK_INT(st.st_size, ==, 2 << 20);
    CHECK_STR(tb, ta);
    ftpu_stop(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (tlsu_make_certs(&C) < 0) {
        fprintf(stderr, "cannot make test certificates (is the openssl command installed?)\n");
        return 1;
    }
    TU_RUN(test_login_and_commands, 60);
    TU_RUN(test_login_failures, 60);
    TU_RUN(test_listing_mlsd, 60);
    TU_RUN(test_listing_list_fallback, 60);
    TU_RUN(test_roundtrip_256mib, 240);
    TU_RUN(test_roundtrip_sendfile, 60);
    TU_RUN(test_active_mode, 60);
    TU_RUN(test_resume_both_ways, 60);
    TU_RUN(test_callbacks_and_errors, 60);
    TU_RUN(test_abort_from_progress, 60);
    TU_RUN(test_keepalive_noops, 60);
    TU_RUN(test_epsv_refused, 60);
    TU_RUN(test_pasv_wrong_address, 60);
    TU_RUN(test_ipv6, 60);
    TU_RUN(test_server_sends_half, 60);
    TU_RUN(test_ftps_explicit, 120);
    TU_RUN(test_open_url, 60);
    TU_RUN(test_same_as_ftplib, 60);
    tlsu_rmdir(C.dir);
    return tu_done();
}
