/*
 * server_util.h — helpers for the server tests (test_server.c, test_server_load.c), on top of
 * testutil.h: descriptor and memory counts from /proc, the fd limit, bounded waiting, client
 * connections to a server's address, and the byte pattern the test servers generate.
 */
#ifndef SOCKIT_SERVER_UTIL_H
#define SOCKIT_SERVER_UTIL_H

#include "testutil.h"

#include <sockit/server.h>

#include <dirent.h>
#include <poll.h>
#include <sys/resource.h>

/* Open descriptors of this process (entries of /proc/self/fd, not counting the one used to read
 * it); -1 if /proc cannot be read. */
static inline int su_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* Resident set size in KiB (VmRSS), -1 if unknown. */
static inline long su_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* Raises the soft fd limit to the hard one; returns the new soft limit. */
static inline long su_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (long)rl.rlim_cur;
}

/* Waits (polling every 2 ms) until cond holds or `secs` pass; the value is the final cond. */
#define SU_WAIT(cond, secs)                                                                      \
    __extension__({                                                                              \
        double su_end_ = tu_now() + (secs);                                                      \
        while (!(cond) && tu_now() < su_end_)                                                    \
            tu_sleep(0.002);                                                                     \
        (cond) ? 1 : 0;                                                                          \
    })

/* Atomic counters shared between server workers and the test's thread. */
#define SU_INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_SEQ_CST)
#define SU_DEC(x) __atomic_sub_fetch(&(x), 1, __ATOMIC_SEQ_CST)
#define SU_ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_SEQ_CST)
#define SU_GET(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define SU_SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)
#define SU_MAX(x, v)                                                                             \
    do {                                                                                         \
        __typeof__(x) su_v_ = (v), su_o_ = SU_GET(x);                                            \
        while (su_v_ > su_o_ &&                                                                  \
               !__atomic_compare_exchange_n(&(x), &su_o_, su_v_, 0, __ATOMIC_SEQ_CST,           \
                                            __ATOMIC_SEQ_CST)) {                                 \
        }                                                                                        \
    } while (0)

/* A stream client connected to a (sockit_server_addr), with the given timeout; NULL on failure
 * (and *err, if given, says why). */
static inline sockit_sock *su_connect_ex(const sockit_addr *a, double timeout, int *err)
{
    sockit_sock *s = NULL;
    int r = sockit_socket(&s, a->sa.ss_family, SOCK_STREAM, 0);
    if (r == 0)
        r = sockit_settimeout(s, timeout);
    if (r == 0)
        r = sockit_connect_addr(s, a);
    if (err)
        *err = r;
    if (r != 0) {
        sockit_close(s);
        return NULL;
    }
    return s;
}

static inline sockit_sock *su_connect(const sockit_addr *a, double timeout)
{
    return su_connect_ex(a, timeout, NULL);
}

/* Receives exactly n bytes (within the socket's timeout per call); returns n, or what it got
 * before EOF, or a negative code. */
static inline ssize_t su_recv_n(sockit_sock *s, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = sockit_recv(s, (char *)buf + got, n - got, 0);
        if (r < 0)
            return got ? (ssize_t)got : r;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* One round trip: sends msg, expects it back (an echo server). 1 on success. */
static inline int su_echo_once(sockit_sock *s, const char *msg)
{
    size_t n = strlen(msg);
    char buf[512];
    if (n > sizeof buf || sockit_sendall(s, msg, n, 0) != 0)
        return 0;
    return su_recv_n(s, buf, n) == (ssize_t)n && memcmp(buf, msg, n) == 0;
}

/* What the peer did next, waiting at most `secs`: 0 EOF, a negative code (-ECONNRESET, or
 * -ETIMEDOUT if nothing happened), or 1 if data arrived. */
static inline int su_next_event(sockit_sock *s, double secs)
{
    double old = sockit_gettimeout(s);
    char c;
    sockit_settimeout(s, secs);
    ssize_t r = sockit_recv(s, &c, 1, 0);
    sockit_settimeout(s, old);
    return r > 0 ? 1 : (int)r;
}

/* The byte the test servers generate at offset i of a generated stream. */
static inline unsigned char su_pat(uint64_t i)
{
    return (unsigned char)(((i * 2654435761u) >> 13) ^ (i >> 7));
}

static inline void su_pat_fill(unsigned char *buf, size_t n, uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = su_pat(off + i);
}

/* Reads a generated stream until EOF (or error, or max bytes), checking every byte. Returns the
 * count; *first_bad is the offset of the first wrong byte or -1; *end is how it ended (0 EOF, a
 * negative code, or 1 if max was reached). */
static inline uint64_t su_read_pattern(sockit_sock *s, uint64_t max, long long *first_bad, int *end)
{
    static __thread unsigned char buf[65536];
    uint64_t got = 0;
    *first_bad = -1;
    *end = 1;
    while (got < max) {
        size_t want = max - got < sizeof buf ? (size_t)(max - got) : sizeof buf;
        ssize_t r = sockit_recv(s, buf, want, 0);
        if (r <= 0) {
            *end = (int)r;
            return got;
        }
        if (*first_bad < 0)
            for (ssize_t i = 0; i < r; i++)
                if (buf[i] != su_pat(got + (uint64_t)i)) {
                    *first_bad = (long long)(got + (uint64_t)i);
                    break;
                }
        got += (uint64_t)r;
    }
    return got;
}

/* One HTTP/1.1 request (method, target, extra header lines, then Connection: close) on a new
 * connection to a: the whole answer into text[0, cap) (NUL-terminated, truncated if longer).
 * Returns the status, or -1 when there is no HTTP/1.1 status line. */
static inline int su_http_ask(const sockit_addr *a, const char *method, const char *target, const char *extra,
                              char *text, size_t cap)
{
    text[0] = 0;
    sockit_sock *s = su_connect(a, 20);
    if (!s) return -1;
    char req[1024];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n", method, target,
                     extra);
    int rc = sockit_sendall(s, req, (size_t)n, 0);
    size_t got = 0;
    ssize_t k = 0;
    while (rc >= 0 && got < cap - 1 && (k = sockit_recv(s, text + got, cap - 1 - got, 0)) > 0) got += (size_t)k;
    text[got] = 0;
    sockit_close(s);
    return strncmp(text, "HTTP/1.1 ", 9) == 0 ? atoi(text + 9) : -1;
}

#endif /* SOCKIT_SERVER_UTIL_H */
