/*
 * libuv_echo: the same echo server as raw_epoll_echo, written the way libuv wants it written, so
 * sockit can be compared with the best-known C event library in the same run.
 *   - N worker threads (-t N, default: one per online core), each with its own uv_loop_t and its
 *     own SO_REUSEPORT listener (uv_tcp_init_ex creates the socket; SO_REUSEPORT is set through
 *     uv_fileno before uv_tcp_bind);
 *   - reads land in one per-loop buffer (alloc_cb hands it out); the bytes go straight back
 *     with uv_try_write, and only what it could not send is copied into a uv_write request,
 *     with reading stopped until that write completes (backpressure) — the same policy as
 *     raw_epoll_echo, so the comparison measures the library, not the buffering strategy;
 *   - EOF or any error closes the connection.
 * Memory per idle connection in user space: one malloc'd struct conn (a uv_tcp_t).
 *
 * Usage: libuv_echo [-t THREADS] HOST PORT     (PORT 0 picks a free port for all workers)
 * Prints "listening on ADDR:PORT" on stderr once every listener accepts; exits 0 on SIGTERM or
 * SIGINT.
 */
#include <uv.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)
#define MAX_THREADS 64

struct worker {
    pthread_t tid;
    uv_loop_t loop;
    uv_tcp_t server;
    char *buf; /* the loop's read buffer, lent to every read (one read at a time per loop) */
};

struct conn {
    uv_tcp_t tcp;
};

/* A short write's tail, owned by the request until write_done frees it. */
struct wreq {
    uv_write_t req;
    char data[];
};

static void fail(const char *what, int err)
{
    fprintf(stderr, "libuv_echo: %s: %s\n", what, uv_strerror(err));
    exit(1);
}

static void on_closed(uv_handle_t *h)
{
    free(h); /* struct conn starts with its uv_tcp_t */
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    struct worker *w = h->loop->data;
    (void)suggested;
    *out = uv_buf_init(w->buf, BUF_SIZE);
}

static void write_done(uv_write_t *req, int status);

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    if (n == 0) return; /* EAGAIN */
    uv_buf_t b = uv_buf_init(buf->base, (unsigned)n);
    int m = uv_try_write(s, &b, 1);
    if (m == n) return;
    if (m < 0 && m != UV_EAGAIN) {
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    size_t done = m > 0 ? (size_t)m : 0, rest = (size_t)n - done;
    struct wreq *wr = malloc(sizeof *wr + rest);
    if (!wr) {
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    memcpy(wr->data, buf->base + done, rest);
    uv_buf_t tail = uv_buf_init(wr->data, (unsigned)rest);
    uv_read_stop(s);
    if (uv_write(&wr->req, s, &tail, 1, write_done) != 0) {
        free(wr);
        uv_close((uv_handle_t *)s, on_closed);
    }
}

static void write_done(uv_write_t *req, int status)
{
    uv_stream_t *s = req->handle;
    free(req); /* struct wreq starts with its uv_write_t */
    if (status < 0) {
        if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    if (uv_read_start(s, alloc_cb, read_cb) != 0) uv_close((uv_handle_t *)s, on_closed);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0) return;
    struct conn *c = malloc(sizeof *c);
    if (!c) return;
    uv_tcp_init(server->loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
        uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Sets up worker w's loop and SO_REUSEPORT listener on addr (its port already fixed). */
static void worker_init(struct worker *w, const struct sockaddr *addr)
{
    int err;
    if ((err = uv_loop_init(&w->loop)) != 0) fail("uv_loop_init", err);
    w->loop.data = w;
    w->buf = malloc(BUF_SIZE);
    if (!w->buf) fail("malloc", UV_ENOMEM);
    if ((err = uv_tcp_init_ex(&w->loop, &w->server, addr->sa_family)) != 0) fail("uv_tcp_init_ex", err);
    uv_os_fd_t fd;
    if ((err = uv_fileno((uv_handle_t *)&w->server, &fd)) != 0) fail("uv_fileno", err);
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) fail("SO_REUSEPORT", -errno);
    if ((err = uv_tcp_bind(&w->server, addr, 0)) != 0) fail("bind", err);
    if ((err = uv_listen((uv_stream_t *)&w->server, SOMAXCONN, on_connection)) != 0) fail("listen", err);
}

static int bound_port(uv_tcp_t *t)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int err = uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len);
    if (err != 0) fail("getsockname", err);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: libuv_echo [-t THREADS] HOST PORT\n");
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
        fprintf(stderr, "libuv_echo: %s:%s: %s\n", host, port, gai_strerror(gai));
        return 1;
    }
    raise_fd_limit();

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    static struct worker workers[MAX_THREADS];
    int portnum = 0;
    for (long i = 0; i < nthreads; i++) {
        worker_init(&workers[i], ai->ai_addr);
        if (i == 0) { /* port 0: the first listener picks it, the others join it */
            portnum = bound_port(&workers[0].server);
            if (ai->ai_family == AF_INET6)
                ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons((uint16_t)portnum);
            else
                ((struct sockaddr_in *)ai->ai_addr)->sin_port = htons((uint16_t)portnum);
        }
    }
    /* Each loop was set up here and from now on is run by exactly one thread. */
    for (long i = 0; i < nthreads; i++)
        if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0) fail("pthread_create", UV_EAGAIN);

    char hbuf[NI_MAXHOST];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, hbuf, sizeof hbuf, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(hbuf, sizeof hbuf, "%s", host);
    fprintf(stderr, ai->ai_family == AF_INET6 ? "listening on [%s]:%d\n" : "listening on %s:%d\n",
            hbuf, portnum);
    fflush(stderr);
    freeaddrinfo(ai);

    int sig;
    while (sigwait(&stop, &sig) != 0) {
    }
    _exit(0);
}
