/*
 * test_ftp_review.c — the FTP library's regressions found by the hostile review (the command's
 * side is tests/cli/test_ftp_hostile.py): opts.deadline bounds a whole session whose server is
 * slow on every reply (each under the per-command timeout), and an active-mode transfer whose
 * server says "150" then "425" fails at once with that reply, not at the timeout.
 */
#include "testutil.h"

#include <sockit/ftp.h>
#include <sockit/reader.h>

enum pace { SLOW_REPLIES, ACTIVE_425 };

struct peer {
    enum pace pace;
    sockit_sock *lsn;
    char port[8];
    pthread_t tid;
};

static void reply(sockit_sock *c, const char *text)
{
    sockit_sendall(c, text, strlen(text), 0);
}

/* One reply per command line; in SLOW_REPLIES each comes 0.3 s late (the server's pace, which
 * only the client's deadline may cut short). */
static const char *answer(const struct peer *p, const char *line)
{
    static const struct { const char *verb, *text; } table[] = {
        {"USER", "331 password\r\n"}, {"PASS", "230 in\r\n"}, {"FEAT", "211 none\r\n"},
        {"TYPE", "200 ok\r\n"},       {"EPRT", "200 ok\r\n"}, {"QUIT", "221 bye\r\n"},
        {"RETR", "150 connecting\r\n425 Can't open data connection.\r\n"},
    };
    if (p->pace == SLOW_REPLIES) tu_sleep(0.3);
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strncmp(line, table[i].verb, 4) == 0) return table[i].text;
    return "502 not here\r\n";
}

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    sockit_sock *c = NULL;
    sockit_reader *r = NULL;
    char line[512];
    if (sockit_accept(p->lsn, &c, NULL) == 0 && sockit_settimeout(c, 10) == 0 &&
        sockit_reader_new(&r, c, 0) == 0) {
        reply(c, "220 review peer\r\n");
        while (sockit_reader_getline(r, line, sizeof line, 1) > 0) reply(c, answer(p, line));
    }
    sockit_reader_free(r);
    sockit_close(c);
    return NULL;
}

static int peer_start(struct peer *p, enum pace pace)
{
    memset(p, 0, sizeof *p);
    p->pace = pace;
    if (sockit_create_server(&p->lsn, "127.0.0.1", "0", NULL) < 0) return -1;
    sockit_settimeout(p->lsn, 10);
    tu_portstr(p->lsn, p->port);
    return pthread_create(&p->tid, NULL, peer_main, p) ? -1 : 0;
}

static void peer_stop(struct peer *p)
{
    pthread_join(p->tid, NULL);
    sockit_close(p->lsn);
}

/* USER, PASS, FEAT and TYPE take 1.2 s in all, each reply well under the 5 s timeout: a 0.5 s
 * deadline ends the login, within a bound; without one the login succeeds. */
static void test_deadline_bounds_the_session(void)
{
    for (int with_deadline = 0; with_deadline < 2; with_deadline++) {
        TU_CTX("deadline %d", with_deadline);
        struct peer p;
        CHECK_OK(peer_start(&p, SLOW_REPLIES));
        sockit_ftp_opts o = {.timeout = 5,
                             .deadline = with_deadline ? sockit_deadline_after(0.5) : 0};
        sockit_ftp *f = NULL;
        double t0 = tu_now();
        CHECK_OK(sockit_ftp_connect(&f, "127.0.0.1", p.port, &o));
        int rc = sockit_ftp_login(f, NULL, NULL);
        if (with_deadline) {
            CHECK_CODE(rc, -ETIMEDOUT);
            CHECK_DBL(tu_now() - t0, <, 3.0);
        } else {
            CHECK_OK(rc);
        }
        sockit_ftp_close(f);
        peer_stop(&p);
    }
}

static int discard(void *arg, const void *data, size_t len)
{
    (void)arg, (void)data, (void)len;
    return 0;
}

static void test_active_425_ends_the_wait(void)
{
    struct peer p;
    CHECK_OK(peer_start(&p, ACTIVE_425));
    sockit_ftp_opts o = {.timeout = 20, .active = 1};
    sockit_ftp *f = NULL;
    CHECK_OK(sockit_ftp_connect(&f, "127.0.0.1", p.port, &o));
    CHECK_OK(sockit_ftp_login(f, NULL, NULL));
    double t0 = tu_now();
    CHECK_CODE(sockit_ftp_retr(f, "file", 0, discard, NULL, NULL), SOCKIT_EPROTO);
    CHECK_CONTAINS(sockit_errmsg(), "425 Can't open data connection.");
    CHECK_INT(sockit_ftp_reply_code(f), ==, 425);
    CHECK_DBL(tu_now() - t0, <, 10.0); /* the 20 s timeout never came into it */
    CHECK_OK(sockit_ftp_quit(f));      /* and the session is still in step */
    sockit_ftp_close(f);
    peer_stop(&p);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    TU_RUN(test_deadline_bounds_the_session, 30);
    TU_RUN(test_active_425_ends_the_wait, 30);
    return tu_done();
}
