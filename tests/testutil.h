/*
 * testutil.h — the test programs' small harness (header only, no state outside one program).
 *
 * Typed asserts that print both sides, the current case and sockit_errmsg() on failure, and
 * count passes and failures; a per-case watchdog; a few helpers the test programs share.
 *
 *   CHECK_INT(a, op, b)     integers (int, ssize_t, size_t, enum); codes are printed with their
 *                           sockit_errname, so "got -111 (ECONNREFUSED)"
 *   CHECK_DBL(a, op, b)     doubles
 *   CHECK_STR(a, b)         strcmp(a, b) == 0; NULL is printed as (null) and fails
 *   CHECK_STRI(a, b)        the same, ignoring ASCII case
 *   CHECK_CONTAINS(s, sub)  strstr(s, sub) != NULL
 *   CHECK_MEM(a, b, n)      memcmp(a, b, n) == 0, printing the first difference
 *   CHECK_TRUE(x)           x is non-zero
 *   CHECK_OK(x)             x == 0 (a sockit call that must succeed)
 *   CHECK_CODE(x, code)     x == code (a sockit call that must fail in one way)
 *
 * Each macro evaluates its arguments once and is safe to use from several threads.
 *
 * A program runs its cases with TU_RUN(fn, seconds): the case's name is fn's, and a watchdog
 * thread ends the program (exit status 3, naming the case) if the case runs longer than
 * `seconds`. The watchdog is a thread, not alarm(), so that tests may use SIGALRM and
 * setitimer themselves. main ends with `return tu_done();`, which prints
 * "N passed, N failed" and returns non-zero if anything failed.
 */
#ifndef SOCKIT_TESTUTIL_H
#define SOCKIT_TESTUTIL_H

#include <sockit/sockit.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- counters and the current case ------------------------------------------------------- */

static int tu_passed_;
static int tu_failed_;
static int tu_skipped_;
static const char *tu_case_ = "(main)"; /* read by the watchdog: atomic loads and stores */
static long long tu_deadline_ms_;         /* monotonic milliseconds; 0: no watchdog armed */
static __thread char tu_ctx_[512];   /* what a table-driven check is looking at, for messages */

/* Names the table entry being checked: printed with every failure until the next TU_CTX or
 * the end of the case. */
#define TU_CTX(...) snprintf(tu_ctx_, sizeof tu_ctx_, __VA_ARGS__)

static inline double tu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void tu_sleep(double seconds)
{
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static inline const char *tu_case_name(void)
{
    return __atomic_load_n(&tu_case_, __ATOMIC_ACQUIRE);
}

static inline void tu_set_case(const char *name)
{
    __atomic_store_n(&tu_case_, name, __ATOMIC_RELEASE);
}

static inline void tu_pass(void)
{
    __atomic_fetch_add(&tu_passed_, 1, __ATOMIC_RELAXED);
}

static inline void tu_fail_head(const char *file, int line, const char *what)
{
    __atomic_fetch_add(&tu_failed_, 1, __ATOMIC_RELAXED);
    fprintf(stderr, "FAIL [%s] %s:%d: %s\n", tu_case_name(), file, line, what);
    if (tu_ctx_[0])
        fprintf(stderr, "     while: %s\n", tu_ctx_);
}

static inline void tu_fail_tail(void)
{
    const char *m = sockit_errmsg();
    fprintf(stderr, "     sockit_errmsg(): \"%s\"\n", m ? m : "(null)");
    fflush(stderr);
}

/* A value that looks like an error code gets its symbolic name. */
static inline const char *tu_codename(long long v)
{
    if (v >= 0 || v < INT_MIN)
        return "";
    return sockit_errname((int)v);
}

static inline void tu_fail_int(const char *file, int line, const char *expr, const char *as,
                               long long a, const char *bs, long long b)
{
    char what[1024];
    snprintf(what, sizeof what, "CHECK_INT(%s)", expr);
    tu_fail_head(file, line, what);
    fprintf(stderr, "     left : %s = %lld %s%s%s\n", as, a, a < 0 ? "(" : "", tu_codename(a),
            a < 0 ? ")" : "");
    fprintf(stderr, "     right: %s = %lld %s%s%s\n", bs, b, b < 0 ? "(" : "", tu_codename(b),
            b < 0 ? ")" : "");
    tu_fail_tail();
}

#define CHECK_INT(a, op, b)                                                                      \
    do {                                                                                         \
        long long tu_a_ = (long long)(a);                                                        \
        long long tu_b_ = (long long)(b);                                                        \
        if (tu_a_ op tu_b_)                                                                      \
            tu_pass();                                                                           \
        else                                                                                     \
            tu_fail_int(__FILE__, __LINE__, #a " " #op " " #b, #a, tu_a_, #b, tu_b_);            \
    } while (0)

#define CHECK_OK(x) CHECK_INT(x, ==, 0)
#define CHECK_CODE(x, code) CHECK_INT(x, ==, code)

static inline void tu_fail_dbl(const char *file, int line, const char *expr, double a,
                               double b)
{
    char what[1024];
    snprintf(what, sizeof what, "CHECK_DBL(%s)", expr);
    tu_fail_head(file, line, what);
    fprintf(stderr, "     left = %.6f, right = %.6f\n", a, b);
    tu_fail_tail();
}

#define CHECK_DBL(a, op, b)                                                                      \
    do {                                                                                         \
        double tu_a_ = (double)(a);                                                              \
        double tu_b_ = (double)(b);                                                              \
        if (tu_a_ op tu_b_)                                                                      \
            tu_pass();                                                                           \
        else                                                                                     \
            tu_fail_dbl(__FILE__, __LINE__, #a " " #op " " #b, tu_a_, tu_b_);                    \
    } while (0)

/* Prints s with non-printable bytes escaped, at most 300 bytes of it. */
static inline void tu_print_esc(const char *s)
{
    if (!s) {
        fputs("(null)", stderr);
        return;
    }
    fputc('"', stderr);
    size_t i;
    for (i = 0; s[i] && i < 300; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputs(s[i] ? "\"..." : "\"", stderr);
}

static inline void tu_fail_str(const char *file, int line, const char *macro, const char *expr,
                               const char *a, const char *b)
{
    char what[1024];
    snprintf(what, sizeof what, "%s(%s)", macro, expr);
    tu_fail_head(file, line, what);
    fputs("     left : ", stderr);
    tu_print_esc(a);
    fputs("\n     right: ", stderr);
    tu_print_esc(b);
    fputc('\n', stderr);
    tu_fail_tail();
}

#define CHECK_STR(a, b)                                                                          \
    do {                                                                                         \
        const char *tu_a_ = (a);                                                                 \
        const char *tu_b_ = (b);                                                                 \
        if (tu_a_ && tu_b_ && strcmp(tu_a_, tu_b_) == 0)                                         \
            tu_pass();                                                                           \
        else                                                                                     \
            tu_fail_str(__FILE__, __LINE__, "CHECK_STR", #a ", " #b, tu_a_, tu_b_);              \
    } while (0)

#define CHECK_STRI(a, b)                                                                         \
    do {                                                                                         \
        const char *tu_a_ = (a);                                                                 \
        const char *tu_b_ = (b);                                                                 \
        if (tu_a_ && tu_b_ && strcasecmp(tu_a_, tu_b_) == 0)                                     \
            tu_pass();                                                                           \
        else                                                                                     \
            tu_fail_str(__FILE__, __LINE__, "CHECK_STRI", #a ", " #b, tu_a_, tu_b_);             \
    } while (0)

#define CHECK_CONTAINS(s, sub)                                                                   \
    do {                                                                                         \
        const char *tu_a_ = (s);                                                                 \
        const char *tu_b_ = (sub);                                                               \
        if (tu_a_ && tu_b_ && strstr(tu_a_, tu_b_) != NULL)                                      \
            tu_pass();                                                                           \
        else                                                                                     \
            tu_fail_str(__FILE__, __LINE__, "CHECK_CONTAINS", #s ", " #sub, tu_a_, tu_b_);       \
    } while (0)

static inline void tu_fail_mem(const char *file, int line, const char *expr, const void *a,
                               const void *b, size_t n)
{
    char what[1024];
    snprintf(what, sizeof what, "CHECK_MEM(%s)", expr);
    tu_fail_head(file, line, what);
    if (!a || !b) {
        fprintf(stderr, "     a NULL pointer (left %p, right %p)\n", a, b);
    } else {
        const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
        size_t i = 0;
        while (i < n && x[i] == y[i])
            i++;
        fprintf(stderr, "     first difference at byte %zu of %zu: left 0x%02x, right 0x%02x\n",
                i, n, x[i], y[i]);
    }
    tu_fail_tail();
}

#define CHECK_MEM(a, b, n)                                                                       \
    do {                                                                                         \
        const void *tu_a_ = (a);                                                                 \
        const void *tu_b_ = (b);                                                                 \
        size_t tu_n_ = (size_t)(n);                                                              \
        if (tu_a_ && tu_b_ && memcmp(tu_a_, tu_b_, tu_n_) == 0)                                  \
            tu_pass();                                                                           \
        else                                                                                     \
            tu_fail_mem(__FILE__, __LINE__, #a ", " #b ", " #n, tu_a_, tu_b_, tu_n_);            \
    } while (0)

#define CHECK_TRUE(x)                                                                            \
    do {                                                                                         \
        if (x) {                                                                                 \
            tu_pass();                                                                           \
        } else {                                                                                 \
            tu_fail_head(__FILE__, __LINE__, "CHECK_TRUE(" #x ")");                              \
            tu_fail_tail();                                                                      \
        }                                                                                        \
    } while (0)

/* A case that cannot run here says so; it is neither a pass nor a failure. */
#define TU_SKIP(...)                                                                             \
    do {                                                                                         \
        __atomic_fetch_add(&tu_skipped_, 1, __ATOMIC_RELAXED);                                   \
        fprintf(stderr, "SKIP [%s] ", tu_case_name());                                                 \
        fprintf(stderr, __VA_ARGS__);                                                            \
        fputc('\n', stderr);                                                                     \
    } while (0)

/* ---- the watchdog ------------------------------------------------------------------------- */

__attribute__((unused)) static void *tu_watchdog_main(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are for the test, never for us */
    for (;;) {
        tu_sleep(0.05);
        long long d = __atomic_load_n(&tu_deadline_ms_, __ATOMIC_ACQUIRE);
        if (d > 0 && (long long)(tu_now() * 1000) > d) {
            fprintf(stderr, "FAIL [%s]: the case ran past its time limit (watchdog); %d passed, "
                    "%d failed so far\n", tu_case_name(),
                    __atomic_load_n(&tu_passed_, __ATOMIC_RELAXED),
                    __atomic_load_n(&tu_failed_, __ATOMIC_RELAXED) + 1);
            fflush(stderr);
            _exit(3);
        }
    }
    return NULL;
}

static inline void tu_watchdog_arm(double seconds)
{
    static int started;
    if (!started) {
        pthread_t t;
        started = 1;
        if (pthread_create(&t, NULL, tu_watchdog_main, NULL) == 0)
            pthread_detach(t);
    }
    __atomic_store_n(&tu_deadline_ms_, (long long)((tu_now() + seconds) * 1000), __ATOMIC_RELEASE);
}

#define TU_RUN(fn, seconds)                                                                      \
    do {                                                                                         \
        int tu_f0_ = __atomic_load_n(&tu_failed_, __ATOMIC_RELAXED);                             \
        double tu_t0_ = tu_now();                                                                \
        tu_set_case(#fn);                                                                        \
        tu_watchdog_arm(seconds);                                                                \
        tu_ctx_[0] = '\0';                                                                      \
        fn();                                                                                    \
        __atomic_store_n(&tu_deadline_ms_, 0, __ATOMIC_RELEASE);                                 \
        tu_ctx_[0] = '\0';                                                                      \
        printf("%s %s (%.2f s)\n",                                                               \
               __atomic_load_n(&tu_failed_, __ATOMIC_RELAXED) == tu_f0_ ? "ok  " : "FAIL", #fn,   \
               tu_now() - tu_t0_);                                                               \
        fflush(stdout);                                                                          \
        tu_set_case("(main)");                                                                   \
    } while (0)

static inline int tu_done(void)
{
    int passed = __atomic_load_n(&tu_passed_, __ATOMIC_RELAXED);
    int failed = __atomic_load_n(&tu_failed_, __ATOMIC_RELAXED);
    printf("%d passed, %d failed", passed, failed);
    int skipped = __atomic_load_n(&tu_skipped_, __ATOMIC_RELAXED);
    if (skipped)
        printf(", %d skipped", skipped);
    printf("\n");
    fflush(stdout);
    return failed ? 1 : 0;
}

/* ---- shared helpers ----------------------------------------------------------------------- */

/* FNV-1a, 64 bits, continued from h (start with TU_FNV_INIT). */
#define TU_FNV_INIT 0xcbf29ce484222325ULL
static inline uint64_t tu_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Deterministic pseudo-random bytes (xorshift64*). */
static inline void tu_fill(void *buf, size_t n, uint64_t seed)
{
    unsigned char *p = (unsigned char *)buf;
    uint64_t x = seed ? seed : 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        p[i] = (unsigned char)((x * 2685821657736338717ULL) >> 56);
    }
}

/* 1 if fd is open and close-on-exec, 0 if open without it, -1 if not open. */
static inline int tu_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0)
        return -1;
    return (fl & FD_CLOEXEC) ? 1 : 0;
}

/* How many descriptors below 4096 the process has open (for leak checks). */
static inline int tu_count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

/* 1 if fd is an open descriptor. */
static inline int tu_fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

/* The port of a bound socket as a decimal string in buf (at least 8 bytes); "" on failure. */
static inline const char *tu_portstr(const sockit_sock *s, char *buf)
{
    sockit_addr a;
    buf[0] = '\0';
    if (sockit_getsockname(s, &a) == 0 && sockit_addr_port(&a) >= 0)
        snprintf(buf, 8, "%d", sockit_addr_port(&a));
    return buf;
}

/* A fresh private directory for Unix socket paths (mkdtemp under /tmp); "" on failure. */
static inline const char *tu_tempdir(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/sockit-test-XXXXXX");
    if (!mkdtemp(buf))
        buf[0] = '\0';
    return buf;
}

/* An abstract-namespace name unique to this process and call: "@sockit-test-<pid>-<n>". */
static inline const char *tu_abstract_name(char *buf, size_t len)
{
    static int n;
    snprintf(buf, len, "@sockit-test-%ld-%d", (long)getpid(), __atomic_fetch_add(&n, 1, __ATOMIC_RELAXED));
    return buf;
}

/* A copy of the n bytes at s placed so that its last byte is the last one before a PROT_NONE
 * page: reading past it crashes. Free with tu_guarded_free(p, n). NULL if mmap fails. */
static inline char *tu_guarded(const void *s, size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (n + pg - 1) / pg + 1;
    char *base = (char *)mmap(NULL, pages * pg, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    mprotect(base + (pages - 1) * pg, pg, PROT_NONE);
    char *p = base + (pages - 1) * pg - n;
    memcpy(p, s, n);
    return p;
}

static inline void tu_guarded_free(char *p, size_t n)
{
    if (!p)
        return;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (n + pg - 1) / pg + 1;
    munmap(p + n - (pages - 1) * pg, pages * pg);
}

/* Blocks SIGALRM in the calling thread (helper threads of tests that use SIGALRM). */
static inline void tu_block_sigalrm(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
}

/* s with non-printable bytes as \xNN, quoted, cut at 200 bytes ("NULL" for NULL); for TU_CTX.
 * Four rotating buffers per thread. */
static inline const char *tu_esc(const char *s)
{
    static __thread char buf[4][900];
    static __thread int k;
    char *b = buf[k++ & 3];
    if (!s) {
        snprintf(b, 900, "NULL");
        return b;
    }
    size_t o = 0, i;
    b[o++] = '"';
    for (i = 0; s[i] && i < 200; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            b[o++] = (char)c;
        else
            o += (size_t)snprintf(b + o, 900 - o, "\\x%02x", c);
    }
    if (s[i]) {
        o += (size_t)snprintf(b + o, 900 - o, "...(%zu bytes)", strlen(s));
    }
    b[o++] = '"';
    b[o] = '\0';
    return b;
}

/* A formatted address for messages (static buffer per call site is not needed: one per thread). */
static inline const char *tu_fmt(const sockit_addr *a)
{
    static __thread char buf[4][SOCKIT_ADDRSTRLEN];
    static __thread int i;
    char *b = buf[i++ & 3];
    sockit_addr_format(a, b, SOCKIT_ADDRSTRLEN);
    return b;
}

#endif /* SOCKIT_TESTUTIL_H */
