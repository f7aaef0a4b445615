/*
 * raw_epoll_echo: the baseline echo server, hand-written against epoll with nothing in between.
 * It is the limit for sockit's design (one loop per worker thread, SO_REUSEPORT), so it does
 * exactly what that design needs and nothing else:
 *   - N worker threads (-t N, default: one per online core), each with its own SO_REUSEPORT
 *     listener and its own level-triggered epoll loop;
 *   - the listener is drained with a non-blocking accept4 loop;
 *   - data is read into one per-thread buffer and written straight back; only when the write is
 *     short is the rest copied into a per-connection buffer, and the connection then waits for
 *     EPOLLOUT (and stops reading, which is the backpressure);
 *   - EOF or any error closes the connection.
 * Memory per idle connection in user space: nothing (the pending-buffer table is indexed by fd
 * and holds a NULL pointer until a write is short).
 *
 * Usage: raw_epoll_echo [-t THREADS] HOST PORT     (PORT 0 picks a free port for all workers)
 * Prints "listening on ADDR:PORT" on stderr once every listener accepts; exits 0 on SIGTERM or
 * SIGINT. No sockit code here on purpose: this is what sockit is measured against.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)
#define MAX_EVENTS 1024 /* as libuv: one epoll_wait can hand out every ready connection */
#define MAX_THREADS 64

/* The unsent tail of a short write; exists only while a connection waits for EPOLLOUT. */
struct pending {
    size_t off, len;
    char data[];
};

struct worker {
    pthread_t tid;
    int lfd;
    int ep;
};

static struct pending **pending_by_fd; /* indexed by fd; each fd belongs to exactly one worker */
static size_t pending_cap;

static void die(const char *what)
{
    fprintf(stderr, "raw_epoll_echo: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void conn_close(int ep, int fd)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    if ((size_t)fd < pending_cap && pending_by_fd[fd]) {
        free(pending_by_fd[fd]);
        pending_by_fd[fd] = NULL;
    }
    close(fd);
}

static int set_events(int ep, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void do_accept(struct worker *w)
{
    for (;;) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return; /* EAGAIN, or EMFILE and friends: try again on the next readiness */
        }
        if ((size_t)fd >= pending_cap) { /* cannot track it: refuse rather than misbehave */
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) close(fd);
    }
}

/* Reads once (level-triggered: more data means another event) and writes the bytes back. */
static void do_read(struct worker *w, int fd, char *buf)
{
    ssize_t n = read(fd, buf, BUF_SIZE);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        conn_close(w->ep, fd);
        return;
    }
    ssize_t off = 0;
    while (off < n) {
        ssize_t m = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (m < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            conn_close(w->ep, fd);
            return;
        }
        off += m;
    }
    if (off == n) return;
    /* Short write: keep the tail, stop reading, wait until the socket drains. */
    struct pending *p = malloc(sizeof *p + (size_t)(n - off));
    if (!p) {
        conn_close(w->ep, fd);
        return;
    }
    p->off = 0;
    p->len = (size_t)(n - off);
    memcpy(p->data, buf + off, p->len);
    pending_by_fd[fd] = p;
    if (set_events(w->ep, fd, EPOLLOUT) < 0) conn_close(w->ep, fd);
}

static void do_write(struct worker *w, int fd)
{
    struct pending *p = pending_by_fd[fd];
    while (p->off < p->len) {
        ssize_t m = send(fd, p->data + p->off, p->len - p->off, MSG_NOSIGNAL);
        if (m < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            conn_close(w->ep, fd);
            return;
        }
        p->off += (size_t)m;
    }
    free(p);
    pending_by_fd[fd] = NULL;
    if (set_events(w->ep, fd, EPOLLIN) < 0) conn_close(w->ep, fd);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[MAX_EVENTS];
    char *buf = malloc(BUF_SIZE);
    if (!buf) die("malloc");
    for (;;) {
        int n = epoll_wait(w->ep, evs, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            uint32_t e = evs[i].events;
            if (fd == w->lfd) {
                do_accept(w);
            } else if (pending_by_fd[fd]) {
                if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) do_write(w, fd);
            } else if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                do_read(w, fd, buf); /* a read sees the EOF or the error and closes */
            }
        }
    }
    return NULL;
}

/* One SO_REUSEPORT listener bound to ai (port already fixed by the caller). */
static int make_listener(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) die("socket");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) die("SO_REUSEADDR");
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) die("SO_REUSEPORT");
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) die("bind");
    if (listen(fd, SOMAXCONN) < 0) die("listen");
    return fd;
}

static void set_port(struct sockaddr *sa, int port)
{
    if (sa->sa_family == AF_INET6)
        ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
}

static int get_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) die("getsockname");
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Raises the fd limit to the hard limit and sizes the fd-indexed table from it. */
static void setup_fd_table(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    pending_cap = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 20) ? (1u << 20) : rl.rlim_cur;
    pending_by_fd = calloc(pending_cap, sizeof *pending_by_fd);
    if (!pending_by_fd) die("calloc");
}

static void usage(void)
{
    fprintf(stderr, "usage: raw_epoll_echo [-t THREADS] HOST PORT\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    int opt;
    while ((opt = getopt(argc, argv, "t:")) != -1) {
        if (opt == 't') nthreads = strtol(optarg, NULL, 10);
        else usage();
    }
    if (argc - optind != 2 || nthreads < 1 || nthreads > MAX_THREADS) usage();
    const char *host = argv[optind], *port = argv[optind + 1];

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "raw_epoll_echo: %s:%s: %s\n", host, port, gai_strerror(gai));
        return 1;
    }
    setup_fd_table();

    /* Workers inherit a mask with the stop signals blocked; main waits for them with sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    static struct worker workers[MAX_THREADS];
    int bound_port = 0;
    for (long i = 0; i < nthreads; i++) {
        workers[i].lfd = make_listener(ai);
        if (i == 0) { /* port 0: the first listener picks it, the others join it */
            bound_port = get_port(workers[0].lfd);
            set_port(ai->ai_addr, bound_port);
        }
        workers[i].ep = epoll_create1(EPOLL_CLOEXEC);
        if (workers[i].ep < 0) die("epoll_create1");
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = workers[i].lfd};
        if (epoll_ctl(workers[i].ep, EPOLL_CTL_ADD, workers[i].lfd, &ev) < 0) die("epoll_ctl");
    }
    for (long i = 0; i < nthreads; i++)
        if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0) die("pthread_create");

    char hbuf[NI_MAXHOST];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, hbuf, sizeof hbuf, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(hbuf, sizeof hbuf, "%s", host);
    fprintf(stderr, ai->ai_family == AF_INET6 ? "listening on [%s]:%d\n" : "listening on %s:%d\n",
            hbuf, bound_port);
    fflush(stderr);
    freeaddrinfo(ai);

    int sig;
    while (sigwait(&stop, &sig) != 0) {
    }
    /* Workers may be inside epoll_wait; leaving the process is the clean stop for a benchmark. */
    _exit(0);
}
