/*
 * test_reader.c — the buffered reader over a socketpair: lines with "\n" and "\r\n", a last
 * line without one, getline's strip, the line limit (SOCKIT_ETOOLONG with the bytes kept),
 * read_exact (pieces, early close with *got, timeout), timeouts on a partial line with nothing
 * lost, pending/consume, and lines mixed with reads.
 *
 * reader.h is included first and alone, so it must be self-contained.
 */
#include <sockit/reader.h>

#include "testutil.h"

struct pair {
    sockit_sock *w; /* the test writes here */
    sockit_sock *r; /* the reader reads here */
    sockit_reader *rd;
};

static int open_pair(struct pair *p, size_t bufsize)
{
    memset(p, 0, sizeof *p);
    if (sockit_socketpair(&p->w, &p->r, 0, SOCK_STREAM) != 0)
        return -1;
    return sockit_reader_new(&p->rd, p->r, bufsize);
}

static void close_pair(struct pair *p)
{
    sockit_reader_free(p->rd);
    sockit_close(p->w);
    sockit_close(p->r);
}

static int put(struct pair *p, const char *s)
{
    return sockit_sendall(p->w, s, strlen(s), 0);
}

/* Checks the next line is exactly `want` (bytes and length). */
#define CHECK_LINE(p, max, want)                                                                 \
    do {                                                                                         \
        const char *l_ = NULL;                                                                   \
        ssize_t n_ = sockit_reader_line((p)->rd, &l_, (max));                                    \
        CHECK_INT(n_, ==, (ssize_t)strlen(want));                                                \
        if (n_ == (ssize_t)strlen(want) && n_ > 0)                                               \
            CHECK_MEM(l_, want, (size_t)n_);                                                     \
    } while (0)

static void test_lines(void)
{
    struct pair p;
    CHECK_OK(open_pair(&p, 0));
    CHECK_TRUE(sockit_reader_sock(p.rd) == p.r);
    CHECK_OK(put(&p, "a\nb\r\nlast"));
    CHECK_OK(sockit_shutdown(p.w, SHUT_WR));
    CHECK_LINE(&p, 0, "a\n");
    CHECK_LINE(&p, 0, "b\r\n");
    CHECK_LINE(&p, 0, "last"); /* the last line without "\n", at end of stream */
    const char *l = NULL;
    CHECK_INT(sockit_reader_line(p.rd, &l, 0), ==, 0);
    CHECK_INT(sockit_reader_line(p.rd, &l, 0), ==, 0); /* and stays 0 */
    const void *d;
    CHECK_INT(sockit_reader_pending(p.rd, &d), ==, 0);
    close_pair(&p);

    /* Empty lines, a NUL inside a line. */
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(sockit_sendall(p.w, "\n\r\nx\0y\n", 7, 0));
    CHECK_OK(sockit_shutdown(p.w, SHUT_WR));
    CHECK_LINE(&p, 0, "\n");
    CHECK_LINE(&p, 0, "\r\n");
    const char *ln = NULL;
    CHECK_INT(sockit_reader_line(p.rd, &ln, 0), ==, 4);
    if (ln)
        CHECK_MEM(ln, "x\0y\n", 4);
    CHECK_INT(sockit_reader_line(p.rd, &ln, 0), ==, 0);
    close_pair(&p);
}

static void test_getline(void)
{
    struct pair p;
    char buf[64];
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(put(&p, "hello\r\nworld\n\n\r\nx"));
    CHECK_OK(sockit_shutdown(p.w, SHUT_WR));
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 1), ==, 7);
    CHECK_STR(buf, "hello");
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 1), ==, 6);
    CHECK_STR(buf, "world");
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 1), ==, 1);
    CHECK_STR(buf, "");
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 1), ==, 2);
    CHECK_STR(buf, "");
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 1), ==, 1);
    CHECK_STR(buf, "x");
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 1), ==, 0);
    close_pair(&p);

    /* strip 0 keeps the ending. */
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(put(&p, "hello\r\nworld\n"));
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 0), ==, 7);
    CHECK_STR(buf, "hello\r\n");
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 0), ==, 6);
    CHECK_STR(buf, "world\n");
    /* A lone "\r" inside a line is data. */
    CHECK_OK(put(&p, "a\rb\n"));
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 1), ==, 4);
    CHECK_STR(buf, "a\rb");
    close_pair(&p);

    /* A line that does not fit buf (len-1 bytes and a NUL): SOCKIT_ETOOLONG, as
     * sockit_reader_line with max len-1, nothing written past len, and nothing lost. */
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(put(&p, "abcdefgh\nnext\n"));
    struct {
        char b[4];
        char canary[8];
    } s;
    memset(&s, '#', sizeof s);
    ssize_t n = sockit_reader_getline(p.rd, s.b, sizeof s.b, 1);
    CHECK_CODE(n, SOCKIT_ETOOLONG);
    CHECK_INT(strnlen(s.b, sizeof s.b), <, sizeof s.b);
    CHECK_MEM(s.canary, "########", 8);
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 1), ==, 9);
    CHECK_STR(buf, "abcdefgh");
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 1), ==, 5);
    CHECK_STR(buf, "next");
    /* A line of exactly len-1 bytes fits. */
    memset(&s, '#', sizeof s);
    CHECK_OK(put(&p, "ab\n"));
    CHECK_INT(sockit_reader_getline(p.rd, s.b, sizeof s.b, 0), ==, 3);
    CHECK_STR(s.b, "ab\n");
    CHECK_MEM(s.canary, "########", 8);
    /* No room at all is an error, not a write. */
    memset(&s, '#', sizeof s);
    CHECK_INT(sockit_reader_getline(p.rd, s.b, 0, 1), <, 0);
    CHECK_INT(s.b[0], ==, '#');
    close_pair(&p);
}

static void test_too_long(void)
{
    struct pair p;
    const void *d = NULL;
    const char *l = NULL;

    /* max bytes without "\n": SOCKIT_ETOOLONG, and the bytes stay. */
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(put(&p, "xxxxxxxxxxxxxxxxxxxx")); /* 20 */
    CHECK_CODE(sockit_reader_line(p.rd, &l, 10), SOCKIT_ETOOLONG);
    size_t n = sockit_reader_pending(p.rd, &d);
    CHECK_INT(n, >=, 10);
    CHECK_INT(n, <=, 20);
    if (d && n >= 10)
        CHECK_MEM(d, "xxxxxxxxxx", 10);
    /* More arrives, with the end of line: the whole line, nothing lost. */
    CHECK_OK(put(&p, "yy\n"));
    CHECK_LINE(&p, 0, "xxxxxxxxxxxxxxxxxxxxyy\n");
    close_pair(&p);

    /* Exactly max with the "\n" fits; max without it does not. */
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(put(&p, "abcd\n"));
    CHECK_LINE(&p, 5, "abcd\n");
    CHECK_OK(put(&p, "abcde\n"));
    CHECK_CODE(sockit_reader_line(p.rd, &l, 5), SOCKIT_ETOOLONG);
    CHECK_LINE(&p, 6, "abcde\n");
    close_pair(&p);

    /* Longer than the buffer: the buffer's worth is pending; consuming it goes on. */
    CHECK_OK(open_pair(&p, 16));
    CHECK_OK(put(&p, "0123456789abcdefGHIJKLMNOPQRSTUV0123456")); /* 39 */
    CHECK_CODE(sockit_reader_line(p.rd, &l, 0), SOCKIT_ETOOLONG);
    n = sockit_reader_pending(p.rd, &d);
    CHECK_INT(n, ==, 16);
    if (d && n == 16)
        CHECK_MEM(d, "0123456789abcdef", 16);
    sockit_reader_consume(p.rd, 16);
    CHECK_CODE(sockit_reader_line(p.rd, &l, 1000), SOCKIT_ETOOLONG); /* max above bufsize */
    n = sockit_reader_pending(p.rd, &d);
    CHECK_INT(n, ==, 16);
    if (d && n == 16)
        CHECK_MEM(d, "GHIJKLMNOPQRSTUV", 16);
    sockit_reader_consume(p.rd, 16);
    CHECK_OK(put(&p, "\n"));
    CHECK_LINE(&p, 0, "0123456\n");
    /* A line of exactly the buffer size fits. */
    CHECK_OK(put(&p, "0123456789abcde\n"));
    CHECK_LINE(&p, 0, "0123456789abcde\n");
    close_pair(&p);
}

/* The default buffer (16 KiB) is the default limit. */
static void test_default_limit(void)
{
    struct pair p;
    const char *l = NULL;
    const size_t kb16 = 16384;
    char *big = malloc(kb16 + 2);
    CHECK_TRUE(big != NULL);
    if (!big)
        return;
    memset(big, 'L', kb16 + 1);
    big[kb16 - 1] = '\n';
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(sockit_sendall(p.w, big, kb16, 0));
    CHECK_INT(sockit_reader_line(p.rd, &l, 0), ==, (ssize_t)kb16);
    big[kb16 - 1] = 'L';
    big[kb16] = '\n';
    CHECK_OK(sockit_sendall(p.w, big, kb16 + 1, 0));
    CHECK_CODE(sockit_reader_line(p.rd, &l, 0), SOCKIT_ETOOLONG);
    const void *d;
    CHECK_INT(sockit_reader_pending(p.rd, &d), ==, kb16);
    close_pair(&p);
    free(big);
}

/* ---- read_exact -------------------------------------------------------------------------- */

struct dripper {
    sockit_sock *s;
    const unsigned char *data;
    size_t len, piece;
    double pause;
    int close_after;
};

static void *drip(void *arg)
{
    struct dripper *d = (struct dripper *)arg;
    for (size_t off = 0; off < d->len; off += d->piece) {
        size_t n = d->len - off < d->piece ? d->len - off : d->piece;
        if (sockit_sendall(d->s, d->data + off, n, 0) != 0)
            break;
        tu_sleep(d->pause);
    }
    if (d->close_after)
        sockit_shutdown(d->s, SHUT_WR);
    return NULL;
}

static void test_read_exact_pieces(void)
{
    struct pair p;
    unsigned char data[10000], got[10000];
    tu_fill(data, sizeof data, 3);
    CHECK_OK(open_pair(&p, 0));
    struct dripper d = {p.w, data, sizeof data, 100, 0.001, 0};
    pthread_t t;
    CHECK_OK(pthread_create(&t, NULL, drip, &d));
    size_t g = 0;
    CHECK_INT(sockit_reader_read_exact(p.rd, got, sizeof got, &g), ==, (ssize_t)sizeof got);
    pthread_join(t, NULL);
    CHECK_INT(g, ==, sizeof got);
    CHECK_MEM(got, data, sizeof data);
    CHECK_INT(sockit_reader_read_exact(p.rd, got, 0, &g), ==, 0);
    CHECK_INT(g, ==, 0);
    close_pair(&p);
}

static void test_read_exact_early_close(void)
{
    struct pair p;
    unsigned char data[300], got[1000];
    tu_fill(data, sizeof data, 9);
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(sockit_sendall(p.w, data, sizeof data, 0));
    sockit_close(p.w);
    p.w = NULL;
    size_t g = 12345;
    CHECK_CODE(sockit_reader_read_exact(p.rd, got, sizeof got, &g), SOCKIT_ECLOSED);
    CHECK_INT(g, ==, sizeof data);
    CHECK_MEM(got, data, sizeof data);
    const char *l;
    CHECK_INT(sockit_reader_line(p.rd, &l, 0), ==, 0);
    CHECK_INT(sockit_reader_read(p.rd, got, sizeof got), ==, 0);
    close_pair(&p);

    /* Part of it already buffered by a line read. */
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(put(&p, "L\n"));
    CHECK_OK(sockit_sendall(p.w, data, 50, 0));
    CHECK_OK(sockit_shutdown(p.w, SHUT_WR));
    CHECK_LINE(&p, 0, "L\n");
    g = 0;
    CHECK_CODE(sockit_reader_read_exact(p.rd, got, 100, &g), SOCKIT_ECLOSED);
    CHECK_INT(g, ==, 50);
    CHECK_MEM(got, data, 50);
    /* got may be NULL. */
    CHECK_CODE(sockit_reader_read_exact(p.rd, got, 1, NULL), SOCKIT_ECLOSED);
    close_pair(&p);
}

/* ---- timeouts ---------------------------------------------------------------------------- */

static void test_timeout_partial_line(void)
{
    struct pair p;
    const char *l = NULL;
    const void *d = NULL;
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(sockit_settimeout(p.r, 0.2));
    CHECK_OK(put(&p, "partial"));
    double t0 = tu_now();
    CHECK_CODE(sockit_reader_line(p.rd, &l, 0), -ETIMEDOUT);
    double el = tu_now() - t0;
    CHECK_DBL(el, >=, 0.15);
    CHECK_DBL(el, <=, 1.0);
    size_t n = sockit_reader_pending(p.rd, &d);
    CHECK_INT(n, ==, 7);
    if (d && n == 7)
        CHECK_MEM(d, "partial", 7);
    CHECK_OK(put(&p, " line\n"));
    CHECK_LINE(&p, 0, "partial line\n");

    /* getline too. */
    char buf[64];
    CHECK_OK(put(&p, "half"));
    CHECK_CODE(sockit_reader_getline(p.rd, buf, sizeof buf, 1), -ETIMEDOUT);
    CHECK_OK(put(&p, "-and-half\r\n"));
    CHECK_INT(sockit_reader_getline(p.rd, buf, sizeof buf, 1), ==, 15);
    CHECK_STR(buf, "half-and-half");

    /* read_exact: what came is in buf and counted in *got. */
    unsigned char got[10];
    size_t g = 0;
    CHECK_OK(put(&p, "12345"));
    CHECK_CODE(sockit_reader_read_exact(p.rd, got, 10, &g), -ETIMEDOUT);
    CHECK_INT(g, ==, 5);
    CHECK_MEM(got, "12345", 5);
    CHECK_OK(put(&p, "67890"));
    CHECK_INT(sockit_reader_read_exact(p.rd, got + g, 10 - g, &g), ==, 5);
    CHECK_MEM(got, "1234567890", 10);

    /* Timeout 0: -EAGAIN, the bytes kept. */
    CHECK_OK(sockit_settimeout(p.r, 0));
    CHECK_CODE(sockit_reader_line(p.rd, &l, 0), -EAGAIN);
    CHECK_OK(put(&p, "nb"));
    /* A socketpair delivers at once: the bytes are there when put returns; no waiting needed. */
    CHECK_CODE(sockit_reader_line(p.rd, &l, 0), -EAGAIN);
    const void *pend;
    CHECK_INT(sockit_reader_pending(p.rd, &pend), ==, 2);
    CHECK_OK(put(&p, "\n"));
    CHECK_LINE(&p, 0, "nb\n");
    close_pair(&p);
}

/* One deadline per call: bytes trickling in without an end of line do not extend it. */
static void test_timeout_is_one_deadline(void)
{
    struct pair p;
    unsigned char data[40];
    memset(data, 't', sizeof data);
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(sockit_settimeout(p.r, 0.3));
    struct dripper d = {p.w, data, sizeof data, 1, 0.05, 0}; /* 2 s of trickle */
    pthread_t t;
    CHECK_OK(pthread_create(&t, NULL, drip, &d));
    const char *l = NULL;
    double t0 = tu_now();
    CHECK_CODE(sockit_reader_line(p.rd, &l, 0), -ETIMEDOUT);
    double el = tu_now() - t0;
    CHECK_DBL(el, >=, 0.25);
    CHECK_DBL(el, <=, 0.9);
    /* read_exact the same. */
    unsigned char buf[1000];
    size_t g = 0;
    t0 = tu_now();
    CHECK_CODE(sockit_reader_read_exact(p.rd, buf, sizeof buf, &g), -ETIMEDOUT);
    el = tu_now() - t0;
    CHECK_DBL(el, >=, 0.25);
    CHECK_DBL(el, <=, 0.9);
    CHECK_INT(g, >, 0);
    pthread_join(t, NULL);
    close_pair(&p);
}

/* ---- pending, consume, mixing ------------------------------------------------------------ */

static void test_pending_consume(void)
{
    struct pair p;
    const void *d = NULL;
    CHECK_OK(open_pair(&p, 0));
    CHECK_INT(sockit_reader_pending(p.rd, &d), ==, 0);
    CHECK_OK(put(&p, "L1\nrest-bytes"));
    CHECK_LINE(&p, 0, "L1\n");
    size_t n = sockit_reader_pending(p.rd, &d);
    CHECK_INT(n, ==, 10);
    if (d && n == 10)
        CHECK_MEM(d, "rest-bytes", 10);
    sockit_reader_consume(p.rd, 4);
    n = sockit_reader_pending(p.rd, &d);
    CHECK_INT(n, ==, 6);
    if (d && n == 6)
        CHECK_MEM(d, "-bytes", 6);
    sockit_reader_consume(p.rd, 100); /* clamped */
    CHECK_INT(sockit_reader_pending(p.rd, &d), ==, 0);
    CHECK_OK(put(&p, "more\n"));
    CHECK_LINE(&p, 0, "more\n");
    sockit_reader_consume(p.rd, 0);
    CHECK_INT(sockit_reader_pending(p.rd, &d), ==, 0);

    /* Freeing the reader leaves the socket alone. */
    sockit_reader_free(p.rd);
    p.rd = NULL;
    CHECK_INT(sockit_send(p.r, "s", 1, 0), ==, 1);
    char ch = 0;
    CHECK_INT(sockit_recv(p.w, &ch, 1, 0), ==, 1);
    close_pair(&p);
    sockit_reader_free(NULL);
}

static void test_mix_line_and_read(void)
{
    struct pair p;
    char buf[100];
    CHECK_OK(open_pair(&p, 0));
    CHECK_OK(put(&p, "HDR: 1\r\n\r\nBODYBODYtail\n"));
    CHECK_LINE(&p, 0, "HDR: 1\r\n");
    CHECK_LINE(&p, 0, "\r\n");
    size_t g = 0;
    CHECK_INT(sockit_reader_read_exact(p.rd, buf, 8, &g), ==, 8);
    CHECK_MEM(buf, "BODYBODY", 8);
    /* read hands out the buffered bytes first, without waiting for more. */
    CHECK_INT(sockit_reader_read(p.rd, buf, sizeof buf), ==, 5);
    CHECK_MEM(buf, "tail\n", 5);
    /* With nothing buffered, one recv; a short read leaves the rest for the next call. */
    CHECK_OK(put(&p, "abc"));
    CHECK_INT(sockit_reader_read(p.rd, buf, 2), ==, 2);
    CHECK_MEM(buf, "ab", 2);
    CHECK_INT(sockit_reader_read(p.rd, buf, sizeof buf), ==, 1);
    CHECK_INT(buf[0], ==, 'c');
    /* And lines again after reads. */
    CHECK_OK(put(&p, "x\ny\n"));
    CHECK_INT(sockit_reader_read(p.rd, buf, 1), ==, 1);
    CHECK_INT(buf[0], ==, 'x');
    CHECK_LINE(&p, 0, "\n");
    CHECK_LINE(&p, 0, "y\n");
    CHECK_OK(sockit_shutdown(p.w, SHUT_WR));
    CHECK_INT(sockit_reader_read(p.rd, buf, sizeof buf), ==, 0);
    close_pair(&p);
}

/* Line endings split across arrivals. */
static void *send_split(void *arg)
{
    sockit_sock *w = (sockit_sock *)arg;
    const char *parts[] = {"ab", "c\r", "\n", "de", "f\n"};
    for (int i = 0; i < 5; i++) {
        sockit_sendall(w, parts[i], strlen(parts[i]), 0);
        tu_sleep(0.03);
    }
    return NULL;
}

static void test_split_arrivals(void)
{
    struct pair p;
    CHECK_OK(open_pair(&p, 0));
    pthread_t t;
    CHECK_OK(pthread_create(&t, NULL, send_split, p.w));
    CHECK_LINE(&p, 0, "abc\r\n");
    CHECK_LINE(&p, 0, "def\n");
    pthread_join(t, NULL);
    close_pair(&p);
}

/* Many lines from a writer thread, read to the end. */
struct bulk {
    sockit_sock *w;
    int lines;
};

static void *send_lines(void *arg)
{
    struct bulk *b = (struct bulk *)arg;
    char line[64];
    for (int i = 0; i < b->lines; i++) {
        int n = snprintf(line, sizeof line, "line %d of %d\r\n", i, b->lines);
        if (sockit_sendall(b->w, line, (size_t)n, 0) != 0)
            break;
    }
    sockit_shutdown(b->w, SHUT_WR);
    return NULL;
}

static void test_many_lines(void)
{
    struct pair p;
    CHECK_OK(open_pair(&p, 256));
    struct bulk b = {p.w, 20000};
    pthread_t t;
    CHECK_OK(pthread_create(&t, NULL, send_lines, &b));
    char buf[64], want[64];
    int i = 0, bad = 0;
    ssize_t n;
    while (i < b.lines + 1 && (n = sockit_reader_getline(p.rd, buf, sizeof buf, 1)) > 0) {
        snprintf(want, sizeof want, "line %d of %d", i, b.lines);
        if (strcmp(buf, want) != 0 && bad++ < 3)
            CHECK_STR(buf, want);
        i++;
    }
    pthread_join(t, NULL);
    CHECK_INT(i, ==, b.lines);
    CHECK_INT(bad, ==, 0);
    close_pair(&p);
}

int main(void)
{
    TU_RUN(test_lines, 10);
    TU_RUN(test_getline, 10);
    TU_RUN(test_too_long, 10);
    TU_RUN(test_default_limit, 10);
    TU_RUN(test_read_exact_pieces, 10);
    TU_RUN(test_read_exact_early_close, 10);
    TU_RUN(test_timeout_partial_line, 10);
    TU_RUN(test_timeout_is_one_deadline, 10);
    TU_RUN(test_pending_consume, 10);
    TU_RUN(test_mix_line_and_read, 10);
    TU_RUN(test_split_arrivals, 10);
    TU_RUN(test_many_lines, 20);
    return tu_done();
}
