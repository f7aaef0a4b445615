/*
 * test_ftp_trace.c — sockit_ftp_opts.trace against pyftpdlib (tests/ftp_util.h) on loopback:
 * every command sent and every reply line received, in order, each line on its own (a multi-line
 * FEAT reply too), without CR LF; the password never given (PASS ****, a raw "pass" as well);
 * the courtesy QUIT of sockit_ftp_close; the same over explicit TLS after AUTH TLS.
 * Without pyftpdlib (python3-pyftpdlib, python3-openssl) the cases print SKIP lines.
 */
#include "ftp_util.h"

static tlsu_certs C;

#define NEED_SERVER(s, flags) FTPU_NEED_SERVER(s, flags, C)

/* The trace as curl -v shows it: "> " or "< ", the line, "\n". */
struct log {
    char text[32768];
    size_t n;
    int sent, received, bad_lines;
};

static void trace(void *arg, int sent, const char *line, size_t len)
{
    struct log *l = arg;
    if (memchr(line, '\r', len) || memchr(line, '\n', len)) l->bad_lines++;
    int n = snprintf(l->text + l->n, sizeof l->text - l->n, "%s%.*s\n", sent ? "> " : "< ",
                     (int)len, line);
    if (n > 0 && (size_t)n < sizeof l->text - l->n) l->n += (size_t)n;
    if (sent) l->sent++;
    else l->received++;
}

static void test_trace_plain(void)
{
    NEED_SERVER(s, "plain");
    struct log l = {.n = 0};
    sockit_ftp_opts o = {.timeout = 30, .trace = trace, .trace_arg = &l};
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", &o);
    CHECK_TRUE(f != NULL);
    if (!f) goto out;
    CHECK_TRUE(strncmp(l.text, "< 220", 5) == 0); /* the greeting first */
    CHECK_CONTAINS(l.text, "\n> USER user\n< 331 ");
    CHECK_CONTAINS(l.text, "\n> PASS ****\n< 230 ");
    /* FEAT's reply, one call per line: the first, the features, the last. */
    CHECK_CONTAINS(l.text, "\n> FEAT\n< 211-");
    CHECK_CONTAINS(l.text, "\n<  MLST ");
    CHECK_CONTAINS(l.text, "\n< 211 ");
    CHECK_CONTAINS(l.text, "\n> TYPE I\n< 200 ");
    /* A raw command with a password is masked too. */
    sockit_ftp_cmd(f, "pass hidden", NULL);
    CHECK_CONTAINS(l.text, "\n> PASS ****\n< 503 ");
    char buf[64];
    int sent = l.sent, received = l.received;
    CHECK_INT(sockit_ftp_pwd(f, buf, sizeof buf), ==, 1);
    CHECK_INT(l.sent, ==, sent + 1);
    CHECK_INT(l.received, ==, received + 1);
    CHECK_TRUE(strstr(l.text, "\n> PWD\n< 257 \"/\"") != NULL);
    sockit_ftp_close(f); /* its QUIT is sent without waiting, and traced */
    CHECK_TRUE(l.n > 7 && strcmp(l.text + l.n - 7, "> QUIT\n") == 0);
    CHECK_TRUE(strstr(l.text, "secret") == NULL);
    CHECK_TRUE(strstr(l.text, "hidden") == NULL);
    CHECK_INT(l.bad_lines, ==, 0);
out:
    ftpu_stop(&s);
}

static int count_entry(void *arg, const sockit_ftp_entry *e)
{
    (void)e;
    (*(int *)arg)++;
    return 0;
}

static void test_trace_explicit_tls(void)
{
    NEED_SERVER(s, "tls");
    struct log l = {.n = 0};
    sockit_ftp_opts o = {.tls = SOCKIT_FTP_TLS_EXPLICIT, .cafile = C.ca, .tls_host = "localhost",
                         .timeout = 30, .trace = trace, .trace_arg = &l};
    sockit_ftp *f = ftpu_login(s.port, "user", "secret", &o);
    CHECK_TRUE(f != NULL);
    if (!f) goto out;
    CHECK_TRUE(sockit_tls_active(sockit_ftp_sock(f)));
    /* What goes after the upgrade is traced as before it. */
    CHECK_CONTAINS(l.text, "\n> AUTH TLS\n< 234 ");
    CHECK_CONTAINS(l.text, "\n> USER user\n< 331 ");
    CHECK_CONTAINS(l.text, "\n> PASS ****\n< 230 ");
    CHECK_CONTAINS(l.text, "\n> PBSZ 0\n< 200 ");
    CHECK_CONTAINS(l.text, "\n> PROT P\n< 200 ");
    int n = 0;
    CHECK_OK(sockit_ftp_ls(f, "", count_entry, &n));
    CHECK_CONTAINS(l.text, "\n> EPSV\n< 229 ");
    CHECK_CONTAINS(l.text, "\n> MLSD\n< 1"); /* 125 or 150, as the data connection came */
    CHECK_CONTAINS(l.text, "\n< 226 ");
    CHECK_OK(sockit_ftp_quit(f));
    CHECK_CONTAINS(l.text, "\n> QUIT\n< 221 ");
    sockit_ftp_close(f);
    CHECK_TRUE(strstr(l.text, "secret") == NULL);
    CHECK_INT(l.bad_lines, ==, 0);
out:
    ftpu_stop(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (tlsu_make_certs(&C) < 0) {
        fprintf(stderr, "cannot make test certificates (is the openssl command installed?)\n");
        return 1;
    }
    TU_RUN(test_trace_plain, 60);
    TU_RUN(test_trace_explicit_tls, 60);
    tlsu_rmdir(C.dir);
    return tu_done();
}
