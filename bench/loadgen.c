/*
 * loadgen: the load generator of the echo benchmark (bench/echo_bench.sh). Plain epoll,
 * non-blocking sockets, one thread per -t; no sockit code, so it loads every server alike.
 *
 *   loadgen rr   [-c CONNS] [-d SECS] [-w WARMUP] [-n COUNT] [-s SIZE] [-t THREADS] [-p PID] HOST PORT
 *       CONNS connections, each sends SIZE (64) bytes and waits for the whole echo, again and
 *       again. Runs WARMUP seconds unmeasured, then SECS measured seconds, or stops after
 *       exactly COUNT round trips (-n, counted from the start, no warm-up) when that comes first.
 *       Reports round trips/s and p50/p99 round-trip latency from a log-linear histogram.
 *   loadgen conn [-c CONCURRENCY] [-d SECS] [-w WARMUP] [-t THREADS] [-p PID] HOST PORT
 *       New connections per second: connect, send 1 byte, read the 1-byte echo, close; with
 *       CONCURRENCY connections in flight. The client closes with SO_LINGER {1,0} (a reset), so
 *       neither side keeps a TIME_WAIT and the loopback ephemeral ports never run out.
 *   loadgen idle -p PID [-c CONNS] HOST PORT
 *       Opens CONNS idle connections, proves each is accepted and served (one byte echoed on
 *       each), and reports the server's VmRSS growth per connection (/proc/PID/status), then
 *       closes them (reset) and reports VmRSS once more.
 *
 * rr and conn take -p PID too: they then report the CPU the server (srv_cpu) and the load generator
 * itself (lg_cpu) used over the measured window, in % of one core — a server below ~95% was not
 * the bottleneck, so its figure is a lower bound on what it can do.
 *
 * Output: one machine-readable line per result on stdout, "result mode=... key=value ...";
 * exit status 0, or 1 when no round trip / connection completed (idle: when any failed).
 * Every loop is bounded in time: the phases have deadlines and alarm() backs them up.
 * The fd limit is raised to the hard limit (idle mode needs one fd per connection).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_SIZE 65536
#define MAX_EVENTS 1024
#define SETUP_SECS 20          /* connecting phases give up after this */
#define IDLE_WINDOW 256        /* idle mode: connects in flight at once */

/* ---- latency histogram: log-linear, 64 sub-buckets per power of two (< 1.6% error), ns ---- */
#define H_BUCKETS (128 + 48 * 64)

struct hist {
    uint64_t n[H_BUCKETS];
};

static int h_index(uint64_t v)
{
    if (v < 128) return (int)v;
    int e = 63 - __builtin_clzll(v) - 6; /* v >> e lands in [64, 128) */
    int idx = 128 + (e - 1) * 64 + (int)((v >> e) - 64);
    return idx < H_BUCKETS ? idx : H_BUCKETS - 1;
}

static uint64_t h_value(int idx) /* the middle of bucket idx */
{
    if (idx < 128) return (uint64_t)idx;
    int e = (idx - 128) / 64 + 1;
    uint64_t m = (uint64_t)((idx - 128) % 64 + 64);
    return (m << e) + ((1ull << e) >> 1);
}

static double h_percentile_us(const struct hist *h, double p)
{
    uint64_t total = 0, seen = 0;
    for (int i = 0; i < H_BUCKETS; i++) total += h->n[i];
    if (total == 0) return 0;
    uint64_t want = (uint64_t)(p * (double)total + 0.999999);
    if (want == 0) want = 1;
    for (int i = 0; i < H_BUCKETS; i++) {
        seen += h->n[i];
        if (seen >= want) return (double)h_value(i) / 1000.0;
    }
    return 0;
}

/* ---- configuration and shared state ---------------------------------------------------- */
static struct {
    const char *mode;
    int conns, threads, size;
    double secs, warmup;
    long long count; /* rr: exact number of round trips, 0 = by time only */
    int pid;
    struct sockaddr_storage addr;
    socklen_t addrlen;
} cfg = {.conns = 1, .threads = 1, .size = 64, .secs = 5};

static atomic_llong issued;  /* rr -n: round trips claimed so far, across threads */
static pthread_barrier_t start_line;

struct result {
    uint64_t done, errors;
    uint64_t t_first, t_last; /* measured window actually covered (ns) */
    struct hist h;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* A non-blocking socket with a connect in progress (or done), reset-on-close. */
static int start_connect(int nodelay)
{
    int fd = socket(cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (nodelay) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (connect(fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static int sock_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}

static void ep_set(int ep, int op, int fd, uint32_t events, uint64_t tag)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};
    if (epoll_ctl(ep, op, fd, &ev) < 0) die("epoll_ctl");
}

static int wait_ms(uint64_t now, uint64_t until)
{
    if (now >= until) return 0;
    uint64_t ms = (until - now) / 1000000 + 1;
    return ms > 100 ? 100 : (int)ms;
}

/* ---- rr: request/response round trips ------------------------------------------------- */
struct rrconn {
    int fd;
    int got;
    uint64_t t0;
};

/* Claims the right to send one more request (the exact -n count). */
static int rr_claim(void)
{
    return cfg.count <= 0 || atomic_fetch_add(&issued, 1) < cfg.count;
}

/* Connects all of this thread's connections; returns how many are up. */
static int rr_connect(int ep, struct rrconn *c, int n, struct result *r)
{
    int pending = 0;
    for (int i = 0; i < n; i++) {
        c[i].fd = start_connect(1);
        if (c[i].fd < 0) {
            r->errors++;
            continue;
        }
        ep_set(ep, EPOLL_CTL_ADD, c[i].fd, EPOLLOUT, (uint64_t)i);
        pending++;
    }
    int up = 0;
    uint64_t deadline = now_ns() + SETUP_SECS * 1000000000ull;
    struct epoll_event evs[MAX_EVENTS];
    while (pending > 0 && now_ns() < deadline) {
        int k = epoll_wait(ep, evs, MAX_EVENTS, 100);
        for (int j = 0; j < k; j++) {
            struct rrconn *x = &c[evs[j].data.u64];
            pending--;
            if (sock_error(x->fd) != 0) {
                r->errors++;
                close(x->fd);
                x->fd = -1;
                continue;
            }
            ep_set(ep, EPOLL_CTL_MOD, x->fd, EPOLLIN, evs[j].data.u64);
            up++;
        }
    }
    return up;
}

static int rr_send(struct rrconn *x, const char *msg, uint64_t t)
{
    x->got = 0;
    x->t0 = t;
    return send(x->fd, msg, (size_t)cfg.size, MSG_NOSIGNAL) == cfg.size ? 0 : -1;
}

static void rr_drop(struct rrconn *x, int *active)
{
    close(x->fd);
    x->fd = -1;
    (*active)--;
}

static void rr_run(int ep, struct rrconn *c, int n, struct result *r)
{
    static const char msg[MAX_SIZE];
    char buf[MAX_SIZE];
    struct epoll_event evs[MAX_EVENTS];
    int active = 0;
    uint64_t t = now_ns();
    uint64_t measure = cfg.count > 0 ? t : t + (uint64_t)(cfg.warmup * 1e9);
    uint64_t end = measure + (uint64_t)(cfg.secs * 1e9);
    r->t_first = measure;
    for (int i = 0; i < n; i++) {
        if (c[i].fd < 0) continue;
        active++;
        if (!rr_claim() || rr_send(&c[i], msg, t) < 0) rr_drop(&c[i], &active);
    }
    while (active > 0 && (t = now_ns()) < end) {
        int k = epoll_wait(ep, evs, MAX_EVENTS, wait_ms(t, end));
        for (int j = 0; j < k; j++) {
            struct rrconn *x = &c[evs[j].data.u64];
            ssize_t m = read(x->fd, buf, (size_t)(cfg.size - x->got));
            if (m <= 0) {
                if (m < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                r->errors++;
                rr_drop(x, &active);
                continue;
            }
            x->got += (int)m;
            if (x->got < cfg.size) continue;
            t = now_ns(); /* per event: a batch of 1000 takes long enough to matter */
            if (x->t0 >= measure) {
                r->h.n[h_index(t - x->t0)]++;
                r->done++;
                r->t_last = t;
            }
            if (t >= end || !rr_claim()) {
                rr_drop(x, &active);
            } else if (rr_send(x, msg, t) < 0) { /* a short send counts as an error too */
                r->errors++;
                rr_drop(x, &active);
            }
        }
    }
    if (cfg.count <= 0 || r->t_last == 0) r->t_last = t < end ? t : end;
    for (int i = 0; i < n; i++)
        if (c[i].fd >= 0) close(c[i].fd);
}

/* ---- conn: connections per second ------------------------------------------------------ */
struct cslot {
    int fd;
    int sent;
    uint64_t t0;
};

static void conn_start(int ep, struct cslot *s, uint64_t tag, struct result *r)
{
    s->sent = 0;
    s->t0 = now_ns();
    s->fd = start_connect(0);
    if (s->fd < 0) {
        r->errors++;
        return;
    }
    ep_set(ep, EPOLL_CTL_ADD, s->fd, EPOLLOUT, tag);
}

static void conn_run(int ep, struct cslot *s, int n, struct result *r)
{
    struct epoll_event evs[MAX_EVENTS];
    uint64_t t = now_ns();
    uint64_t measure = t + (uint64_t)(cfg.warmup * 1e9);
    uint64_t end = measure + (uint64_t)(cfg.secs * 1e9);
    r->t_first = measure;
    for (int i = 0; i < n; i++) conn_start(ep, &s[i], (uint64_t)i, r);
    while ((t = now_ns()) < end && r->errors < 100000) {
        int k = epoll_wait(ep, evs, MAX_EVENTS, wait_ms(t, end));
        for (int j = 0; j < k; j++) {
            uint64_t tag = evs[j].data.u64;
            struct cslot *x = &s[tag];
            char b = 'x';
            int ok;
            if (!x->sent) { /* connected (or failed): send the byte, wait for its echo */
                ok = !(evs[j].events & EPOLLERR) && send(x->fd, &b, 1, MSG_NOSIGNAL) == 1;
                if (ok) {
                    x->sent = 1;
                    ep_set(ep, EPOLL_CTL_MOD, x->fd, EPOLLIN, tag);
                    continue;
                }
            } else {
                ssize_t m = read(x->fd, &b, 1);
                if (m < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                ok = m == 1;
                if (ok && x->t0 >= measure) {
                    uint64_t t1 = now_ns();
                    r->h.n[h_index(t1 - x->t0)]++;
                    r->done++;
                }
            }
            if (!ok) r->errors++;
            close(x->fd); /* SO_LINGER {1,0}: a reset, no TIME_WAIT */
            x->fd = -1;
            conn_start(ep, x, tag, r);
        }
        /* Slots whose socket() or connect() failed outright are retried here. */
        for (int i = 0; i < n && k == 0; i++)
            if (s[i].fd < 0) conn_start(ep, &s[i], (uint64_t)i, r);
    }
    r->t_last = end;
    for (int i = 0; i < n; i++)
        if (s[i].fd >= 0) close(s[i].fd);
}

/* ---- CPU used over the measured window, by the server (-p) and by us ---------------------- */
static double proc_cpu_secs(int pid) /* utime + stime of every thread of pid, or -1 */
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    char *p = ok ? strrchr(line, ')') : NULL;
    unsigned long long ut, st;
    /* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_secs(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void sleep_until(uint64_t t)
{
    uint64_t n = now_ns();
    if (t <= n) return;
    struct timespec ts = {.tv_sec = (time_t)((t - n) / 1000000000ull), .tv_nsec = (long)((t - n) % 1000000000ull)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* ---- threads ------------------------------------------------------------------------------ */
struct thread_arg {
    pthread_t tid;
    int index, n;
    struct result r;
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    if (strcmp(cfg.mode, "rr") == 0) {
        struct rrconn *c = calloc((size_t)(a->n ? a->n : 1), sizeof *c);
        if (!c) die("calloc");
        rr_connect(ep, c, a->n, &a->r);
        pthread_barrier_wait(&start_line);
        rr_run(ep, c, a->n, &a->r);
        free(c);
    } else {
        struct cslot *s = calloc((size_t)(a->n ? a->n : 1), sizeof *s);
        if (!s) die("calloc");
        pthread_barrier_wait(&start_line);
        conn_run(ep, s, a->n, &a->r);
        free(s);
    }
    close(ep);
    return NULL;
}

static int run_threads(void)
{
    static struct thread_arg ta[MAX_THREADS];
    static struct result sum;
    pthread_barrier_init(&start_line, NULL, (unsigned)cfg.threads + 1);
    for (int i = 0; i < cfg.threads; i++) {
        ta[i].index = i;
        ta[i].n = cfg.conns / cfg.threads + (i < cfg.conns % cfg.threads);
        if (pthread_create(&ta[i].tid, NULL, thread_main, &ta[i]) != 0) die("pthread_create");
    }
    /* The workers start measuring WARMUP after this barrier; sample the CPU clocks alongside. */
    pthread_barrier_wait(&start_line);
    char cpu[96] = "";
    if (cfg.count <= 0) {
        uint64_t t = now_ns(), m = t + (uint64_t)(cfg.warmup * 1e9), e = m + (uint64_t)(cfg.secs * 1e9);
        sleep_until(m);
        double s0 = cfg.pid > 0 ? proc_cpu_secs(cfg.pid) : -1, l0 = self_cpu_secs();
        sleep_until(e);
        double s1 = cfg.pid > 0 ? proc_cpu_secs(cfg.pid) : -1, l1 = self_cpu_secs();
        if (s0 >= 0 && s1 >= 0)
            snprintf(cpu, sizeof cpu, " srv_cpu=%.1f%%", 100 * (s1 - s0) / cfg.secs);
        snprintf(cpu + strlen(cpu), sizeof cpu - strlen(cpu), " lg_cpu=%.1f%%", 100 * (l1 - l0) / cfg.secs);
    }
    uint64_t first = UINT64_MAX, last = 0;
    for (int i = 0; i < cfg.threads; i++) {
        pthread_join(ta[i].tid, NULL);
        sum.done += ta[i].r.done;
        sum.errors += ta[i].r.errors;
        for (int b = 0; b < H_BUCKETS; b++) sum.h.n[b] += ta[i].r.h.n[b];
        if (ta[i].r.t_first < first) first = ta[i].r.t_first;
        if (ta[i].r.t_last > last) last = ta[i].r.t_last;
    }
    double secs = last > first ? (double)(last - first) / 1e9 : 0;
    double rate = secs > 0 ? (double)sum.done / secs : 0;
    if (strcmp(cfg.mode, "rr") == 0)
        printf("result mode=rr conns=%d threads=%d size=%d secs=%.2f rts=%llu rps=%.0f "
               "p50_us=%.1f p99_us=%.1f errors=%llu%s\n",
               cfg.conns, cfg.threads, cfg.size, secs, (unsigned long long)sum.done, rate,
               h_percentile_us(&sum.h, 0.50), h_percentile_us(&sum.h, 0.99),
               (unsigned long long)sum.errors, cpu);
    else
        printf("result mode=conn conc=%d threads=%d secs=%.2f conns_done=%llu cps=%.0f "
               "p50_us=%.1f p99_us=%.1f errors=%llu close=reset%s\n",
               cfg.conns, cfg.threads, secs, (unsigned long long)sum.done, rate,
               h_percentile_us(&sum.h, 0.50), h_percentile_us(&sum.h, 0.99),
               (unsigned long long)sum.errors, cpu);
    return sum.done > 0 ? 0 : 1;
}

/* ---- idle: server memory per idle connection ------------------------------------------- */
static long rss_kb(int pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

/* Opens n connections, IDLE_WINDOW connects at a time, each proven by a 1-byte echo. */
static int idle_open(int ep, int *fds, int n, uint64_t *errors)
{
    struct epoll_event evs[MAX_EVENTS];
    char *state = calloc((size_t)n, 1); /* 0 connecting, 1 byte sent, 2 echoed */
    if (!state) die("calloc");
    int opened = 0, inflight = 0, ok = 0;
    uint64_t deadline = now_ns() + SETUP_SECS * 1000000000ull;
    while (ok + (int)*errors < n && now_ns() < deadline) {
        while (opened < n && inflight < IDLE_WINDOW) {
            int fd = start_connect(1);
            fds[opened] = fd;
            if (fd < 0) {
                (*errors)++;
            } else {
                ep_set(ep, EPOLL_CTL_ADD, fd, EPOLLOUT, (uint64_t)opened);
                inflight++;
            }
            opened++;
        }
        int k = epoll_wait(ep, evs, MAX_EVENTS, 100);
        for (int j = 0; j < k; j++) {
            int i = (int)evs[j].data.u64;
            char b = 'i';
            if (state[i] == 0) {
                if (!(evs[j].events & EPOLLERR) && send(fds[i], &b, 1, MSG_NOSIGNAL) == 1) {
                    state[i] = 1;
                    ep_set(ep, EPOLL_CTL_MOD, fds[i], EPOLLIN, (uint64_t)i);
                    continue;
                }
            } else {
                ssize_t m = read(fds[i], &b, 1);
                if (m < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                if (m == 1) {
                    state[i] = 2;
                    ok++;
                    inflight--;
                    epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL); /* idle from now on */
                    continue;
                }
            }
            (*errors)++;
            inflight--;
            close(fds[i]);
            fds[i] = -1;
        }
    }
    free(state);
    return ok;
}

static int idle_run(void)
{
    int n = cfg.conns;
    int *fds = malloc((size_t)n * sizeof *fds);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!fds || ep < 0) die("idle setup");
    long before = rss_kb(cfg.pid);
    if (before < 0) {
        fprintf(stderr, "loadgen: cannot read VmRSS of pid %d\n", cfg.pid);
        exit(1);
    }
    uint64_t errors = 0;
    int ok = idle_open(ep, fds, n, &errors);
    usleep(200 * 1000); /* let the server finish whatever bookkeeping follows the echo */
    long after = rss_kb(cfg.pid);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
    usleep(300 * 1000);
    long closed = rss_kb(cfg.pid);
    printf("result mode=idle conns=%d established=%d rss_before_kb=%ld rss_after_kb=%ld "
           "rss_closed_kb=%ld bytes_per_conn=%.0f errors=%llu\n",
           n, ok, before, after, closed,
           ok > 0 ? (double)(after - before) * 1024.0 / ok : 0.0, (unsigned long long)errors);
    free(fds);
    close(ep);
    return ok == n ? 0 : 1;
}

/* ---- command line ------------------------------------------------------------------------ */
static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen rr   [-c CONNS] [-d SECS] [-w WARMUP] [-n COUNT] [-s SIZE] [-t THREADS] [-p PID] HOST PORT\n"
            "       loadgen conn [-c CONCURRENCY] [-d SECS] [-w WARMUP] [-t THREADS] [-p PID] HOST PORT\n"
            "       loadgen idle -p PID [-c CONNS] HOST PORT\n");
    exit(2);
}

static void resolve(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    int err = getaddrinfo(host, port, &hints, &ai);
    if (err != 0) {
        fprintf(stderr, "loadgen: %s:%s: %s\n", host, port, gai_strerror(err));
        exit(1);
    }
    memcpy(&cfg.addr, ai->ai_addr, ai->ai_addrlen);
    cfg.addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
}

int main(int argc, char **argv)
{
    if (argc < 2) usage();
    cfg.mode = argv[1];
    int opt;
    optind = 2;
    while ((opt = getopt(argc, argv, "c:d:w:n:s:t:p:")) != -1) {
        switch (opt) {
        case 'c': cfg.conns = atoi(optarg); break;
        case 'd': cfg.secs = atof(optarg); break;
        case 'w': cfg.warmup = atof(optarg); break;
        case 'n': cfg.count = atoll(optarg); break;
        case 's': cfg.size = atoi(optarg); break;
        case 't': cfg.threads = atoi(optarg); break;
        case 'p': cfg.pid = atoi(optarg); break;
        default: usage();
        }
    }
    int is_rr = strcmp(cfg.mode, "rr") == 0, is_conn = strcmp(cfg.mode, "conn") == 0;
    int is_idle = strcmp(cfg.mode, "idle") == 0;
    if (argc - optind != 2 || !(is_rr || is_conn || is_idle)) usage();
    if (cfg.conns < 1 || cfg.threads < 1 || cfg.threads > MAX_THREADS || cfg.size < 1 ||
        cfg.size > MAX_SIZE || cfg.secs <= 0 || cfg.warmup < 0 || cfg.secs + cfg.warmup > 3600 ||
        (is_idle && cfg.pid <= 0))
        usage();
    if (cfg.threads > cfg.conns) cfg.threads = cfg.conns;
    resolve(argv[optind], argv[optind + 1]);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* The backstop: whatever happens, the process ends (SIGALRM's default action). */
    alarm((unsigned)(cfg.secs + cfg.warmup) + 2 * SETUP_SECS + 10);

    /* Exit status 1 when nothing was measured (idle: when a connection failed); the result line
     * is printed either way, with its error count. */
    return is_idle ? idle_run() : run_threads();
}
