/*
 * test_errors.c — the error model: sockit_strerror, sockit_errname, and sockit_errmsg's
 * per-thread sentence with the context of the failure.
 */
#include "testutil.h"

#include <sockit/tls.h>

#include <stdbool.h>

/* The library's table, as the header generates it. */
#define X(name, value, text) {SOCKIT_##name, "SOCKIT_" #name, text},
static const struct {
    int code;
    const char *name;
    const char *text;
} codes[] = {SOCKIT_ERRNO_MAP(X)};
#undef X
#define NCODES (sizeof codes / sizeof codes[0])

/* Must run first: before any failure the message is "". */
static void test_errmsg_initially_empty(void)
{
    const char *m = sockit_errmsg();
    CHECK_TRUE(m != NULL);
    CHECK_STR(m, "");
}

static void test_strerror_errno(void)
{
    CHECK_STR(sockit_strerror(-ECONNREFUSED), "Connection refused");
    CHECK_STR(sockit_strerror(-ETIMEDOUT), "Connection timed out");
    CHECK_STR(sockit_strerror(-EPIPE), "Broken pipe");
    CHECK_STR(sockit_strerror(0), "Success");
    /* Every -errno the C library has a text for goes through it; the unassigned numbers
     * (41, 58 on Linux) just need some text (the string is static, so not libc's "%d" one). */
    for (int e = 1; e < 134; e++) {
        char expect[256];
        snprintf(expect, sizeof expect, "%s", strerror(e));
        const char *got = sockit_strerror(-e);
        TU_CTX("sockit_strerror(-%d)", e);
        if (strncmp(expect, "Unknown error", 13) == 0)
            CHECK_INT(got ? strlen(got) : 0, >, 0);
        else
            CHECK_STR(got, expect);
    }
}

static void test_strerror_library_codes(void)
{
    for (size_t i = 0; i < NCODES; i++) {
        const char *s = sockit_strerror(codes[i].code);
        CHECK_TRUE(s != NULL);
        CHECK_INT(s ? strlen(s) : 0, >, 0);
        CHECK_STR(s, codes[i].text);
        /* Not mistaken for an errno ("Unknown error -5001"). */
        CHECK_TRUE(s && strncmp(s, "Unknown error", 13) != 0);
        for (size_t j = 0; j < i; j++) {
            const char *o = sockit_strerror(codes[j].code);
            CHECK_INT(strcmp(o ? o : "", s ? s : ""), !=, 0);
        }
    }
    /* The spec's five by name. */
    CHECK_CONTAINS(sockit_strerror(SOCKIT_ENOHOST), "resolve");
    CHECK_CONTAINS(sockit_strerror(SOCKIT_ENOSERVICE), "ervice");
    CHECK_CONTAINS(sockit_strerror(SOCKIT_EBADADDR), "ddress");
    CHECK_CONTAINS(sockit_strerror(SOCKIT_EPROTO), "rotocol");
    CHECK_CONTAINS(sockit_strerror(SOCKIT_ETLS), "TLS");
}

static void test_strerror_unknown(void)
{
    const int unknown[] = {-4097, -4999, -5000, -5999, -6000, -100000, INT_MIN, INT_MIN + 1,
                           -9999999, 1, 42, 5001, INT_MAX, -134, -4095, -4096};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = sockit_strerror(unknown[i]);
        CHECK_TRUE(s != NULL);
        CHECK_INT(s ? strlen(s) : 0, >, 0);
        const char *n = sockit_errname(unknown[i]);
        CHECK_TRUE(n != NULL);
        CHECK_INT(n ? strlen(n) : 0, >, 0);
    }
    /* Codes in the library's range that are not in its table have no name. */
    CHECK_STR(sockit_errname(-5999), "UNKNOWN");
    CHECK_STR(sockit_errname(-4097), "UNKNOWN");
    CHECK_STR(sockit_errname(INT_MIN), "UNKNOWN");
    CHECK_STR(sockit_errname(-100000), "UNKNOWN");
}

static void test_errname(void)
{
    CHECK_STR(sockit_errname(0), "0");
    CHECK_STR(sockit_errname(-ECONNREFUSED), "ECONNREFUSED");
    CHECK_STR(sockit_errname(-ETIMEDOUT), "ETIMEDOUT");
    CHECK_STR(sockit_errname(-EPIPE), "EPIPE");
    CHECK_STR(sockit_errname(-EINPROGRESS), "EINPROGRESS");
    CHECK_STR(sockit_errname(-ENAMETOOLONG), "ENAMETOOLONG");
    CHECK_STR(sockit_errname(-EADDRINUSE), "EADDRINUSE");
    CHECK_STR(sockit_errname(-ENOTSOCK), "ENOTSOCK");
    CHECK_STR(sockit_errname(-ENOTCONN), "ENOTCONN");
    CHECK_STR(sockit_errname(-EINVAL), "EINVAL");
    CHECK_STR(sockit_errname(-EACCES), "EACCES");
    CHECK_STR(sockit_errname(-EEXIST), "EEXIST");
    CHECK_STR(sockit_errname(-EBADF), "EBADF");
    CHECK_STR(sockit_errname(-ECONNRESET), "ECONNRESET");
    CHECK_STR(sockit_errname(-EINTR), "EINTR");
    /* EAGAIN and EWOULDBLOCK are one value on Linux; either name will do. */
    const char *ag = sockit_errname(-EAGAIN);
    CHECK_TRUE(ag && (strcmp(ag, "EAGAIN") == 0 || strcmp(ag, "EWOULDBLOCK") == 0));
    for (size_t i = 0; i < NCODES; i++)
        CHECK_STR(sockit_errname(codes[i].code), codes[i].name);
    CHECK_STR(sockit_errname(SOCKIT_ENOHOST), "SOCKIT_ENOHOST");
    CHECK_STR(sockit_errname(SOCKIT_ENOSERVICE), "SOCKIT_ENOSERVICE");
    CHECK_STR(sockit_errname(SOCKIT_EBADADDR), "SOCKIT_EBADADDR");
    CHECK_STR(sockit_errname(SOCKIT_EPROTO), "SOCKIT_EPROTO");
    CHECK_STR(sockit_errname(SOCKIT_ETLS), "SOCKIT_ETLS");
}

/* A loopback TCP port nobody listens on: a socket bound to it and never listening keeps anyone
 * else from taking it, and a connect to it is refused. *hold must be closed by the caller. */
static int closed_port(sockit_sock **hold, char *port)
{
    *hold = NULL;
    port[0] = '\0';
    if (sockit_socket(hold, AF_INET, SOCK_STREAM, 0) != 0)
        return -1;
    if (sockit_bind(*hold, "127.0.0.1", "0") != 0)
        return -1;
    tu_portstr(*hold, port);
    return port[0] ? 0 : -1;
}

static void test_errmsg_connect_refused(void)
{
    sockit_sock *hold = NULL, *c = NULL;
    char port[8], expect[64];
    CHECK_OK(closed_port(&hold, port));
    CHECK_OK(sockit_socket(&c, AF_INET, SOCK_STREAM, 0));
    CHECK_CODE(sockit_connect(c, "127.0.0.1", port), -ECONNREFUSED);
    const char *m = sockit_errmsg();
    snprintf(expect, sizeof expect, "127.0.0.1:%s", port);
    CHECK_CONTAINS(m, "127.0.0.1:");
    CHECK_CONTAINS(m, expect);
    CHECK_CONTAINS(m, "Connection refused");
    CHECK_CONTAINS(m, "connect");

    /* The message stays until this thread's next failure: a success does not replace it. */
    sockit_addr a;
    CHECK_OK(sockit_addr_resolve(&a, AF_INET, SOCK_STREAM, "127.0.0.1", "80", 0));
    CHECK_CONTAINS(sockit_errmsg(), expect);
    CHECK_OK(sockit_close(c));
    CHECK_OK(sockit_close(hold));
}

static void test_errmsg_bad_port(void)
{
    sockit_addr a;
    CHECK_CODE(sockit_addr_resolve(&a, AF_INET, SOCK_STREAM, "127.0.0.1", "70000", 0),
               SOCKIT_ENOSERVICE);
    CHECK_CONTAINS(sockit_errmsg(), "70000");
    CHECK_CODE(sockit_addr_resolve(&a, AF_INET, SOCK_STREAM, "127.0.0.1", "nosuchservice", 0),
               SOCKIT_ENOSERVICE);
    CHECK_CONTAINS(sockit_errmsg(), "nosuchservice");
}

static void test_errmsg_no_host(void)
{
    sockit_addr a;
    /* The live resolver can be slow under load: bound it, and accept its timing out. */
    int r = sockit_getaddrinfo_timeout("nosuch.invalid", "http", 0, SOCK_STREAM, &a, 1, 5.0);
    CHECK_TRUE(r == SOCKIT_ENOHOST || r == -ETIMEDOUT);
    CHECK_CONTAINS(sockit_errmsg(), "resolve \"nosuch.invalid\" port \"http\": ");
}

static void test_errmsg_bad_address(void)
{
    sockit_addr a;
    CHECK_CODE(sockit_addr_resolve(&a, AF_INET, SOCK_STREAM, "1.2.3", "80", 0), SOCKIT_EBADADDR);
    CHECK_CONTAINS(sockit_errmsg(), "1.2.3");
    CHECK_CODE(sockit_addr_resolve(&a, AF_INET6, SOCK_STREAM, "<broadcast>", "80", 0),
               SOCKIT_EBADADDR);
    CHECK_CONTAINS(sockit_errmsg(), "<broadcast>");

    char path[200];
    memset(path, 'p', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    CHECK_CODE(sockit_addr_unix(&a, path), -ENAMETOOLONG);
    CHECK_CONTAINS(sockit_errmsg(), "unix path \"/ppppp");
    CHECK_CONTAINS(sockit_errmsg(), "...\" is 199 bytes: at most 107"); /* the limit, said */
}

/* One rule for numeric IPv4: the strict dotted quad. Every other form the C library reads as an
 * address is refused with one sentence, and never reaches the resolver (issue 7). */
static void test_errmsg_not_dotted_quad(void)
{
    const char *forms[] = {"127.1", "1.2.3", "0x7f.0.0.1", "0xA9.0xFE.0xA9.0xFE", "010.0.0.1",
                           "2130706433", "0x7f000001"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        TU_CTX("%s", forms[i]);
        sockit_addr a;
        sockit_sock *s = NULL;
        char want[96];
        snprintf(want, sizeof want, "bad address \"%s\": not a dotted quad", forms[i]);
        CHECK_CODE(sockit_addr_resolve(&a, 0, SOCK_STREAM, forms[i], "80", 0), SOCKIT_EBADADDR);
        CHECK_STR(sockit_errmsg(), want);
        CHECK_CODE(sockit_create_connection(&s, forms[i], "80", 5), SOCKIT_EBADADDR);
        CHECK_STR(sockit_errmsg(), want);
        CHECK_CODE(sockit_create_server(&s, forms[i], "0", NULL), SOCKIT_EBADADDR);
    }
    /* Names that merely start like numbers are still names (they go to the resolver). */
    sockit_addr a;
    int r = sockit_addr_resolve(&a, 0, SOCK_STREAM, "0x7f.invalid", "80", 0);
    CHECK_TRUE(r == SOCKIT_ENOHOST || r == -ETIMEDOUT || r == -EAGAIN);
}

/* A NULL socket where a caller may plausibly pass one (the result of a failed create) is -EBADF
 * with its own message, never a crash and never an older failure's sentence. */
static void test_null_socket(void)
{
    char buf[4];
    sockit_addr a;
    sockit_reader *r = NULL;
    struct { const char *what; int code; } cases[] = {
        {"detach", sockit_detach(NULL)},
        {"fileno", sockit_fileno(NULL)},
        {"family", sockit_family(NULL)},
        {"type", sockit_type(NULL)},
        {"proto", sockit_proto(NULL)},
        {"send", (int)sockit_send(NULL, "x", 1, 0)},
        {"recv", (int)sockit_recv(NULL, buf, sizeof buf, 0)},
        {"sendall", sockit_sendall(NULL, "x", 1, 0)},
        {"sendto", (int)sockit_sendto(NULL, "x", 1, 0, "127.0.0.1", "9")},
        {"recvfrom", (int)sockit_recvfrom(NULL, buf, sizeof buf, 0, NULL)},
        {"connect", sockit_connect(NULL, "127.0.0.1", "9")},
        {"bind", sockit_bind(NULL, "127.0.0.1", "0")},
        {"listen", sockit_listen(NULL, 1)},
        {"accept", sockit_accept(NULL, NULL, NULL)},
        {"shutdown", sockit_shutdown(NULL, SHUT_RDWR)},
        {"settimeout", sockit_settimeout(NULL, 1)},
        {"setsockopt", sockit_setsockopt_int(NULL, SOL_SOCKET, SO_REUSEADDR, 1)},
        {"getsockname", sockit_getsockname(NULL, &a)},
        {"getpeername", sockit_getpeername(NULL, &a)},
        {"reader", sockit_reader_new(&r, NULL, 0)},
        {"tls", sockit_tls_connect(NULL, NULL, "x")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TU_CTX("%s(NULL)", cases[i].what);
        CHECK_CODE(cases[i].code, -EBADF);
    }
    /* Each call sets its own message: check them one at a time after an unrelated failure. */
    sockit_addr_resolve(&a, AF_INET, 0, "1.2.3", "80", 0);
    CHECK_CODE(sockit_detach(NULL), -EBADF);
    CHECK_STR(sockit_errmsg(), "detach: no socket (NULL)");
    sockit_addr_resolve(&a, AF_INET, 0, "1.2.3", "80", 0);
    CHECK_CODE(sockit_fileno(NULL), -EBADF);
    CHECK_STR(sockit_errmsg(), "fileno: no socket (NULL)");
    CHECK_OK(sockit_close(NULL));
    CHECK_INT(sockit_tls_active(NULL), ==, 0);
    CHECK_INT(sockit_tls_pending(NULL), ==, 0);
    CHECK_TRUE(sockit_tls_version(NULL) == NULL);
}

/* Every failure sets the message: after an unrelated failure, each of these replaces it. */
static void test_errmsg_never_stale(void)
{
    sockit_sock *a, *b;
    sockit_addr x;
    char buf[8];
    CHECK_OK(sockit_socketpair(&a, &b, 0, 0));
    CHECK_OK(sockit_settimeout(a, 0.05));
    /* A socketpair's peer has no name: the message names it anyway (issue 7: "recv from : ..."). */
    sockit_addr_resolve(&x, AF_INET, 0, "1.2.3", "80", 0);
    CHECK_CODE(sockit_recv(a, buf, sizeof buf, 0), -ETIMEDOUT);
    char want[96];
    snprintf(want, sizeof want, "recv from unnamed unix peer (fd %d): Connection timed out", sockit_fileno(a));
    CHECK_STR(sockit_errmsg(), want);
    CHECK_OK(sockit_settimeout(a, 0));
    sockit_addr_resolve(&x, AF_INET, 0, "1.2.3", "80", 0);
    CHECK_CODE(sockit_recv(a, buf, sizeof buf, 0), -EAGAIN);
    CHECK_STR(sockit_errmsg(), "recv: Resource temporarily unavailable");
    sockit_reader *r;
    CHECK_OK(sockit_reader_new(&r, a, 0));
    sockit_addr_resolve(&x, AF_INET, 0, "1.2.3", "80", 0);
    CHECK_CODE(sockit_reader_read(r, buf, sizeof buf), -EAGAIN);
    CHECK_STR(sockit_errmsg(), "read: Resource temporarily unavailable");
    sockit_close(b);
    CHECK_OK(sockit_settimeout(a, 1));
    sockit_addr_resolve(&x, AF_INET, 0, "1.2.3", "80", 0);
    CHECK_CODE(sockit_sendall(a, "x", 1, 0), -EPIPE);
    CHECK_STR(sockit_errmsg(), "sendall: 0 of 1 bytes sent: Broken pipe");
    sockit_addr_resolve(&x, AF_INET, 0, "1.2.3", "80", 0);
    CHECK_CODE(sockit_send(a, "x", 1, 0), -EPIPE);
    snprintf(want, sizeof want, "send to unnamed unix peer (fd %d): Broken pipe", sockit_fileno(a));
    CHECK_STR(sockit_errmsg(), want);
    sockit_reader_free(r);
    sockit_close(a);
}

/* A message about a hostile, very long input is still a bounded, terminated string. */
static void test_errmsg_long_input(void)
{
    static char host[5001];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    sockit_addr a;
    int rc = sockit_addr_resolve(&a, AF_INET, SOCK_STREAM, host, "80", 0);
    CHECK_INT(rc, <, 0);
    const char *m = sockit_errmsg();
    CHECK_TRUE(m != NULL);
    CHECK_INT(m ? strlen(m) : 0, >, 0);
    CHECK_INT(m ? strlen(m) : 0, <, 65536);
}

/* ---- per thread ------------------------------------------------------------------------- */

static pthread_barrier_t barrier;

struct thread_result {
    int rc;
    char before[64];
    char after[512];
};

static void *fail_no_host(void *arg)
{
    struct thread_result *r = (struct thread_result *)arg;
    sockit_addr a;
    snprintf(r->before, sizeof r->before, "%s", sockit_errmsg());
    pthread_barrier_wait(&barrier);
    r->rc = sockit_addr_resolve(&a, AF_INET, SOCK_STREAM, "nosuch.invalid", "80", 0);
    pthread_barrier_wait(&barrier); /* both have failed */
    snprintf(r->after, sizeof r->after, "%s", sockit_errmsg());
    return NULL;
}

static void *fail_bad_port(void *arg)
{
    struct thread_result *r = (struct thread_result *)arg;
    sockit_addr a;
    snprintf(r->before, sizeof r->before, "%s", sockit_errmsg());
    pthread_barrier_wait(&barrier);
    r->rc = sockit_addr_resolve(&a, AF_INET, SOCK_STREAM, "127.0.0.1", "70000", 0);
    pthread_barrier_wait(&barrier);
    snprintf(r->after, sizeof r->after, "%s", sockit_errmsg());
    return NULL;
}

static void test_errmsg_per_thread(void)
{
    /* The main thread's own message, set before the threads run. */
    sockit_addr a;
    CHECK_CODE(sockit_addr_resolve(&a, AF_INET, SOCK_STREAM, "9.9.9.9.9", "80", 0),
               SOCKIT_EBADADDR);
    char mine[512];
    snprintf(mine, sizeof mine, "%s", sockit_errmsg());
    CHECK_CONTAINS(mine, "9.9.9.9.9");

    struct thread_result r1, r2;
    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
    pthread_t t1, t2;
    CHECK_OK(pthread_barrier_init(&barrier, NULL, 2));
    CHECK_OK(pthread_create(&t1, NULL, fail_no_host, &r1));
    CHECK_OK(pthread_create(&t2, NULL, fail_bad_port, &r2));
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_barrier_destroy(&barrier);

    /* A new thread starts with "" even though main has failed. */
    CHECK_STR(r1.before, "");
    CHECK_STR(r2.before, "");
    CHECK_CODE(r1.rc, SOCKIT_ENOHOST);
    CHECK_CODE(r2.rc, SOCKIT_ENOSERVICE);
    CHECK_CONTAINS(r1.after, "nosuch.invalid");
    CHECK_TRUE(strstr(r1.after, "70000") == NULL);
    CHECK_CONTAINS(r2.after, "70000");
    CHECK_TRUE(strstr(r2.after, "nosuch.invalid") == NULL);
    /* Main's message is untouched by the threads. */
    CHECK_STR(sockit_errmsg(), mine);
}

/* Many threads failing at once, each with its own port number, each reading its own. */
#define NTHREADS 8
static void *fail_many(void *arg)
{
    intptr_t i = (intptr_t)arg;
    char port[32];
    sockit_addr a;
    long bad = 0;
    for (int k = 0; k < 200; k++) {
        snprintf(port, sizeof port, "%ld", 70000L + (long)i * 1000 + k);
        int rc = sockit_addr_resolve(&a, AF_INET, SOCK_STREAM, "127.0.0.1", port, 0);
        const char *m = sockit_errmsg();
        if (rc != SOCKIT_ENOSERVICE || !strstr(m, port))
            bad++;
    }
    return (void *)bad;
}

static void test_errmsg_many_threads(void)
{
    pthread_t t[NTHREADS];
    for (intptr_t i = 0; i < NTHREADS; i++)
        CHECK_OK(pthread_create(&t[i], NULL, fail_many, (void *)i));
    for (int i = 0; i < NTHREADS; i++) {
        void *bad = NULL;
        pthread_join(t[i], &bad);
        CHECK_INT((intptr_t)bad, ==, 0);
    }
}

int main(void)
{
    TU_RUN(test_errmsg_initially_empty, 10);
    TU_RUN(test_strerror_errno, 10);
    TU_RUN(test_strerror_library_codes, 10);
    TU_RUN(test_strerror_unknown, 10);
    TU_RUN(test_errname, 10);
    TU_RUN(test_errmsg_connect_refused, 10);
    TU_RUN(test_errmsg_bad_port, 10);
    TU_RUN(test_errmsg_no_host, 15);
    TU_RUN(test_errmsg_bad_address, 10);
    TU_RUN(test_errmsg_not_dotted_quad, 20);
    TU_RUN(test_null_socket, 10);
    TU_RUN(test_errmsg_never_stale, 10);
    TU_RUN(test_errmsg_long_input, 15);
    TU_RUN(test_errmsg_per_thread, 15);
    TU_RUN(test_errmsg_many_threads, 20);
    return tu_done();
}
