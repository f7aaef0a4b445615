/*
 * test_ftp_hostile.c — the FTP client against a fake server of the test's own (a thread speaking
 * just enough FTP, then misbehaving): an endless reply line, a huge multi-line reply, a reply
 * that never ends, a data port that never opens (refused, silent, and an active-mode server that
 * never connects), a data connection that ends early (226 and 426) or is reset, malformed 229
 * and 227 replies — each a clean error within the deadline — a 426/451 said on the control
 * connection while the data connection stays open (download and upload: told at once, not as a
 * timeout), and the quirks a client must tolerate: a 2xx before the 150, a 226 before the data
 * connection ends.
 */
#include "testutil.h"
#include "tls_util.h"

#include <sockit/ftp.h>

#include <stdarg.h>

enum mode {
    M_ENDLESS, M_HUGE, M_NEVER_ENDS, M_DATA_REFUSED, M_NO_150, M_ACTIVE_NEVER, M_SHORT_226,
    M_SHORT_426, M_RESET, M_2XX_FIRST, M_226_EARLY, M_EPSV_GARBAGE, M_PASV_GARBAGE, M_OK,
    M_426_OPEN, M_451_STOR_OPEN
};

struct fake {
    enum mode mode;
    sockit_sock *lsn, *dlsn; /* control listener; the passive data listener */
    sockit_sock *held;       /* a data connection left open and unread until the fake stops */
    char port[8];
    pthread_t tid;
};

static void say(sockit_sock *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sockit_sendall(c, buf, (size_t)n, 0);
}

/* Writes junk until the client gives up (bounded: 4 MiB). */
static void flood(sockit_sock *c, const char *first, const char *unit)
{
    say(c, "%s", first);
    for (int i = 0; i < (4 << 20) / (int)strlen(unit); i++)
        if (sockit_sendall(c, unit, strlen(unit), 0) < 0) return;
}

static void wait_close(sockit_sock *c)
{
    char b[256];
    while (sockit_recv(c, b, sizeof b, 0) > 0) {}
}

static int data_port(struct fake *fk)
{
    if (!fk->dlsn && sockit_create_server(&fk->dlsn, "127.0.0.1", "0", NULL) < 0) return -1;
    sockit_settimeout(fk->dlsn, 10);
    char p[8];
    return atoi(tu_portstr(fk->dlsn, p));
}

/* The transfer of RETR in each mode (passive: the client is connected to dlsn). */
static void retr(struct fake *fk, sockit_sock *c)
{
    sockit_sock *d = NULL;
    static char big[64 << 10];
    switch (fk->mode) {
    case M_NO_150:
        wait_close(c); /* says nothing: the client's deadline must end it */
        return;
    case M_ACTIVE_NEVER:
        say(c, "150 I will connect, one day\r\n");
        wait_close(c);
        return;
    case M_2XX_FIRST:
        say(c, "200 ok, sure\r\n150 Opening data connection\r\n");
        break;
    case M_226_EARLY:
        say(c, "150 Opening data connection\r\n226 Transfer complete\r\n");
        break;
    case M_SHORT_226:
    case M_SHORT_426:
    case M_RESET:
    case M_426_OPEN:
        say(c, "150 Opening BINARY mode data connection for f (1000000 bytes)\r\n");
        break;
    default:
        say(c, "150 Opening BINARY mode data connection for f (5 bytes)\r\n");
    }
    if (sockit_accept(fk->dlsn, &d, NULL) < 0) return;
    switch (fk->mode) {
    case M_426_OPEN: /* gives up, and leaves the data connection open and silent */
        sockit_sendall(d, big, 1000, 0);
        fk->held = d;
        say(c, "426 Transfer aborted by the operator\r\n");
        return;
    case M_SHORT_226:
    case M_SHORT_426:
        sockit_sendall(d, big, 1000, 0);
        sockit_close(d);
        say(c, fk->mode == M_SHORT_226 ? "226 Transfer complete\r\n"
                                       : "426 Connection closed; transfer aborted.\r\n");
        return;
    case M_RESET:
        for (int i = 0; i < 4; i++) sockit_sendall(d, big, sizeof big, 0);
        struct linger lg = {1, 0};
        sockit_setsockopt(d, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        sockit_close(d); /* RST */
        say(c, "426 Connection reset.\r\n");
        return;
    default:
        sockit_sendall(d, "hello", 5, 0);
        sockit_close(d);
        if (fk->mode != M_226_EARLY) say(c, "226 Transfer complete\r\n");
    }
}

/* STOR: the first bytes are read, then "451" while the data connection stays open, unread. */
static void stor(struct fake *fk, sockit_sock *c)
{
    sockit_sock *d = NULL;
    char b[4096];
    say(c, "150 Ok to send data\r\n");
    if (sockit_accept(fk->dlsn, &d, NULL) < 0) return;
    sockit_recv(d, b, sizeof b, 0);
    fk->held = d;
    say(c, "451 local error: disk full\r\n");
}

static void converse(struct fake *fk, sockit_sock *c, sockit_reader *r)
{
    char line[512];
    say(c, "220 fake server\r\n");
    while (sockit_reader_getline(r, line, sizeof line, 1) > 0) {
        if (!strncmp(line, "USER", 4)) say(c, "331 password please\r\n");
        else if (!strncmp(line, "PASS", 4)) say(c, "230 welcome\r\n");
        else if (!strncmp(line, "FEAT", 4)) say(c, "211-Features:\r\n EPSV\r\n211 End\r\n");
        else if (!strncmp(line, "TYPE", 4) || !strncmp(line, "NOOP", 4)) say(c, "200 ok\r\n");
        else if (!strncmp(line, "EPRT", 4)) say(c, "200 EPRT ok\r\n");
        else if (!strncmp(line, "QUIT", 4)) {
            say(c, "221 bye\r\n");
            return;
        } else if (!strncmp(line, "EPSV", 4)) {
            int refused = fk->mode == M_DATA_REFUSED;
            if (refused) say(c, "229 Extended Passive Mode (|||%d|)\r\n", tlsu_free_port());
            else if (fk->mode == M_EPSV_GARBAGE) say(c, "229 Extended Passive Mode (port 7)\r\n");
            else if (fk->mode == M_PASV_GARBAGE) say(c, "500 no EPSV\r\n");
            else say(c, "229 Extended Passive Mode (|||%d|)\r\n", data_port(fk));
        } else if (!strncmp(line, "PASV", 4)) {
            int p = fk->mode == M_DATA_REFUSED ? tlsu_free_port() : data_port(fk);
            if (fk->mode == M_PASV_GARBAGE) say(c, "227 Passive Mode (1,2,3)\r\n");
            else say(c, "227 Passive Mode (127,0,0,1,%d,%d)\r\n", p >> 8, p & 255);
        } else if (!strncmp(line, "RETR", 4)) {
            retr(fk, c);
        } else if (!strncmp(line, "STOR", 4)) {
            stor(fk, c);
        } else {
            say(c, "502 not here\r\n");
        }
    }
}

static void *fake_main(void *arg)
{
    struct fake *fk = arg;
    sockit_sock *c = NULL;
    sockit_reader *r = NULL;
    if (sockit_accept(fk->lsn, &c, NULL) == 0 && sockit_settimeout(c, 10) == 0 &&
        sockit_reader_new(&r, c, 0) == 0) {
        switch (fk->mode) {
        case M_ENDLESS: flood(c, "220-", "xxxxxxxxxxxxxxxx"); break;
        case M_HUGE: flood(c, "220-start\r\n", " a line of a huge reply\r\n"); break;
        case M_NEVER_ENDS:
            say(c, "220-hello\r\n");
            wait_close(c);
            break;
        default: converse(fk, c, r);
        }
    }
    sockit_reader_free(r);
    sockit_close(c);
    return NULL;
}

static int fake_start(struct fake *fk, enum mode m)
{
    memset(fk, 0, sizeof *fk);
    fk->mode = m;
    if (sockit_create_server(&fk->lsn, "127.0.0.1", "0", NULL) < 0) return -1;
    sockit_settimeout(fk->lsn, 10);
    tu_portstr(fk->lsn, fk->port);
    return pthread_create(&fk->tid, NULL, fake_main, fk) ? -1 : 0;
}

static void fake_stop(struct fake *fk)
{
    pthread_join(fk->tid, NULL);
    sockit_close(fk->lsn);
    sockit_close(fk->dlsn);
    sockit_close(fk->held);
}

struct mem {
    char buf[64];
    size_t n;
};

static int to_mem(void *arg, const void *data, size_t len)
{
    struct mem *m = arg;
    if (m->n + len > sizeof m->buf) return 0; /* keep counting elsewhere */
    memcpy(m->buf + m->n, data, len);
    m->n += len;
    return 0;
}

/* Logs in to a fake in mode m and retrieves "f": the result, *got and the message. */
static int fetch(enum mode m, const sockit_ftp_opts *o, struct mem *mem, uint64_t *got,
                 double *secs)
{
    struct fake fk;
    if (fake_start(&fk, m) < 0) return -9999;
    sockit_ftp *f = NULL;
    double t0 = tu_now();
    int rc = sockit_ftp_connect(&f, "127.0.0.1", fk.port, o);
    if (rc == 0) rc = sockit_ftp_login(f, "u", "p");
    if (rc == 0) rc = sockit_ftp_retr(f, "f", 0, to_mem, mem, got);
    *secs = tu_now() - t0;
    sockit_ftp_close(f); /* ends the fake's conversation */
    fake_stop(&fk);
    return rc;
}

static void test_bad_replies(void)
{
    static const struct {
        enum mode m;
        int rc;
        const char *msg;
    } rows[] = {
        {M_ENDLESS, SOCKIT_EPROTO, "line over 8192 bytes"},
        {M_HUGE, SOCKIT_EPROTO, "reply over 65536 bytes"},
        {M_NEVER_ENDS, -ETIMEDOUT, "reading a reply"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        TU_CTX("mode %d", rows[i].m);
        sockit_ftp_opts o = {.timeout = 0.5};
        struct mem m = {.n = 0};
        uint64_t got = 0;
        double secs;
        CHECK_INT(fetch(rows[i].m, &o, &m, &got, &secs), ==, rows[i].rc);
        CHECK_CONTAINS(sockit_errmsg(), rows[i].msg);
        CHECK_DBL(secs, <, 5);
    }
}

static void test_data_never_opens(void)
{
    struct mem m = {.n = 0};
    uint64_t got = 0;
    double secs;
    sockit_ftp_opts o = {.timeout = 0.5};
    /* EPSV's port refuses, then PASV's: the core's code, the address named. */
    CHECK_INT(fetch(M_DATA_REFUSED, &o, &m, &got, &secs), ==, -ECONNREFUSED);
    CHECK_CONTAINS(sockit_errmsg(), "ftp data connection");
    CHECK_DBL(secs, <, 5);
    /* Connected, but the server never answers RETR. */
    CHECK_INT(fetch(M_NO_150, &o, &m, &got, &secs), ==, -ETIMEDOUT);
    CHECK_DBL(secs, <, 5);
    /* Active: 150, and no connection ever comes. */
    o.active = 1;
    CHECK_INT(fetch(M_ACTIVE_NEVER, &o, &m, &got, &secs), ==, -ETIMEDOUT);
    CHECK_CONTAINS(sockit_errmsg(), "waiting for the server's data connection");
    CHECK_DBL(secs, <, 5);
}

static void test_data_breaks(void)
{
    struct mem m = {.n = 0};
    uint64_t got = 0;
    double secs;
    sockit_ftp_opts o = {.timeout = 5};
    /* 1000 of the announced 1000000 bytes, then "226": never a silent short file. */
    CHECK_INT(fetch(M_SHORT_226, &o, &m, &got, &secs), ==, SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "short transfer: 1000 of 1000000 bytes");
    CHECK_INT(got, ==, 1000);
    got = 0;
    CHECK_INT(fetch(M_SHORT_426, &o, &m, &got, &secs), ==, SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "retr f: 426 Connection closed");
    CHECK_INT(got, ==, 1000);
    /* A reset: the core's code, and the server's word after it. */
    int rc = fetch(M_RESET, &o, &m, &got, &secs);
    TU_CTX("%s", sockit_errmsg());
    CHECK_TRUE(rc == -ECONNRESET || rc == SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "426");
    CHECK_TRUE(got <= 4 * (64 << 10));
    CHECK_CONTAINS(sockit_errmsg(), rc == SOCKIT_EPROTO ? "retr f: 426 Connection reset."
                                                        : "(the server: 426 Connection reset.)");
}

/* An endless upload source: whole buffers (256 KiB), at most 64 MiB in all. */
static ssize_t endless(void *arg, void *buf, size_t cap)
{
    uint64_t *given = arg;
    if (*given >= (64u << 20)) return 0;
    memset(buf, 'x', cap);
    *given += cap;
    return (ssize_t)cap;
}

static void test_error_while_data_open(void)
{
    struct mem m = {.n = 0};
    uint64_t got = 0;
    double secs;
    /* The data connection stays open and silent: without watching the control connection this
     * was a timeout (-ETIMEDOUT after the 5 s wait); the server's word is the answer. */
    sockit_ftp_opts o = {.timeout = 5};
    CHECK_INT(fetch(M_426_OPEN, &o, &m, &got, &secs), ==, SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "retr f: 426 Transfer aborted by the operator");
    CHECK_TRUE(got <= 1000);
    CHECK_DBL(secs, <, 4);
    /* The same for an upload the server stops reading: the data connection's buffers fill,
     * in the middle of a buffer's send. */
    struct fake fk;
    if (fake_start(&fk, M_451_STOR_OPEN) < 0) {
        CHECK_TRUE(0);
        return;
    }
    sockit_ftp *f = NULL;
    uint64_t given = 0, sent = 0;
    double t0 = tu_now();
    CHECK_OK(sockit_ftp_connect(&f, "127.0.0.1", fk.port, &o));
    CHECK_OK(sockit_ftp_login(f, "u", "p"));
    CHECK_INT(sockit_ftp_stor(f, "f", SOCKIT_FTP_STORE, 0, endless, &given, &sent), ==,
              SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "stor f: 451 local error: disk full");
    CHECK_DBL(tu_now() - t0, <, 4);
    CHECK_TRUE(sent < (64u << 20)); /* stopped before the source's end */
    CHECK_OK(sockit_ftp_noop(f)); /* in step */
    sockit_ftp_close(f);
    fake_stop(&fk);
}

static void test_malformed_passive(void)
{
    struct mem m = {.n = 0};
    uint64_t got = 0;
    double secs;
    sockit_ftp_opts o = {.timeout = 5};
    /* A 229 without a port: PASV is tried, and works. */
    CHECK_OK(fetch(M_EPSV_GARBAGE, &o, &m, &got, &secs));
    CHECK_INT(got, ==, 5);
    /* EPSV refused and a 227 without six numbers. */
    CHECK_INT(fetch(M_PASV_GARBAGE, &o, &m, &got, &secs), ==, SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "malformed PASV reply");
}

static void test_quirks(void)
{
    static const enum mode modes[] = {M_OK, M_2XX_FIRST, M_226_EARLY};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        TU_CTX("mode %d", modes[i]);
        struct fake fk;
        if (fake_start(&fk, modes[i]) < 0) {
            CHECK_TRUE(0);
            return;
        }
        sockit_ftp_opts o = {.timeout = 5};
        sockit_ftp *f = NULL;
        CHECK_OK(sockit_ftp_connect(&f, "127.0.0.1", fk.port, &o));
        CHECK_OK(sockit_ftp_login(f, "u", "p"));
        struct mem m = {.n = 0};
        uint64_t got = 0;
        CHECK_OK(sockit_ftp_retr(f, "f", 0, to_mem, &m, &got));
        CHECK_INT(got, ==, 5);
        CHECK_MEM(m.buf, "hello", 5);
        CHECK_OK(sockit_ftp_noop(f)); /* in step: NOOP gets its own reply */
        CHECK_OK(sockit_ftp_quit(f));
        sockit_ftp_close(f);
        fake_stop(&fk);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    TU_RUN(test_bad_replies, 30);
    TU_RUN(test_data_never_opens, 30);
    TU_RUN(test_data_breaks, 30);
    TU_RUN(test_error_while_data_open, 30);
    TU_RUN(test_malformed_passive, 30);
    TU_RUN(test_quirks, 30);
    return tu_done();
}
