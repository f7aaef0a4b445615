/*
 * test_listen.c — the server's listening sockets (src/server/listen.c): a port already in use is
 * -EADDRINUSE with the address in the message, whoever holds it — another sockit server with 1
 * or 4 workers (SO_REUSEPORT or not, each way round, on 127.0.0.1 and the dual-stack wildcard),
 * a plain socket with or without SO_REUSEPORT, a Python process, a UDP socket — while a server's
 * own workers still share a port "0": connections reach all four of them. A Unix path server
 * with two workers works as before (one shared socket; a live path is in use; the file is removed
 * at the end). Nothing leaks on the failing paths.
 */
#include "server_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

/* ---- an echo server that notes which worker (loop) took each connection ---------------------- */

struct rec {
    pthread_mutex_t mu;
    sockit_loop *loops[8];
    int nloops, opens;
};

static struct rec R = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int on_open(sockit_conn *c)
{
    pthread_mutex_lock(&R.mu);
    R.opens++;
    int known = 0;
    for (int i = 0; i < R.nloops; i++)
        known |= R.loops[i] == sockit_conn_loop(c);
    if (!known && R.nloops < 8)
        R.loops[R.nloops++] = sockit_conn_loop(c);
    pthread_mutex_unlock(&R.mu);
    return 0;
}

static size_t on_data(sockit_conn *c, char *data, size_t len)
{
    return sockit_conn_send(c, data, len) == 0 ? len : 0;
}

static void on_datagram(sockit_dgram *d, const char *data, size_t len, const sockit_addr *from)
{
    sockit_dgram_reply(d, data, len);
}

static const sockit_server_cbs cbs = {.on_open = on_open, .on_data = on_data,
                                      .on_datagram = on_datagram};

static int rec_get(int *opens)
{
    pthread_mutex_lock(&R.mu);
    int n = R.nloops;
    if (opens)
        *opens = R.opens;
    pthread_mutex_unlock(&R.mu);
    return n;
}

static void rec_reset(void)
{
    pthread_mutex_lock(&R.mu);
    R.nloops = R.opens = 0;
    pthread_mutex_unlock(&R.mu);
}

static int new_server(sockit_server **srv, const char *host, const char *port, int workers, int type)
{
    sockit_server_config cfg = {.host = host, .port = port, .workers = workers, .type = type,
                                .cbs = &cbs};
    *srv = NULL;
    return sockit_server_new(srv, &cfg);
}

static void port_of(sockit_server *srv, char port[16])
{
    sockit_addr a;
    sockit_server_addr(srv, &a);
    snprintf(port, 16, "%d", sockit_addr_port(&a));
}

/* The second server on the port fails with -EADDRINUSE, says which address, and leaves nothing. */
static void check_in_use(const char *host, const char *port, int workers, int type, const char *addr)
{
    int fd0 = su_fd_count();
    sockit_server *srv = NULL;
    CHECK_CODE(new_server(&srv, host, port, workers, type), -EADDRINUSE);
    CHECK_TRUE(srv == NULL);
    char want[96];
    snprintf(want, sizeof want, "bind %s:%s: Address already in use", addr, port);
    CHECK_CONTAINS(sockit_errmsg(), want);
    CHECK_INT(su_fd_count(), ==, fd0);
    sockit_server_free(srv);
}

/* ---- two servers, one port ------------------------------------------------------------------- */

static void test_two_servers(void)
{
    static const int pairs[][2] = {{1, 1}, {1, 4}, {4, 1}, {4, 4}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        TU_CTX("first %d worker(s), second %d", pairs[i][0], pairs[i][1]);
        sockit_server *first;
        CHECK_OK(new_server(&first, "127.0.0.1", "0", pairs[i][0], 0));
        if (!first)
            continue;
        char port[16];
        port_of(first, port);
        check_in_use("127.0.0.1", port, pairs[i][1], 0, "127.0.0.1");
        /* Running makes no difference. */
        CHECK_OK(sockit_server_start(first));
        check_in_use("127.0.0.1", port, pairs[i][1], 0, "127.0.0.1");
        sockit_server_stop(first);
        CHECK_OK(sockit_server_wait(first));
        sockit_server_free(first);
        /* Gone: the port is free again for a server with as many workers. */
        sockit_server *again;
        CHECK_OK(new_server(&again, "127.0.0.1", port, pairs[i][1], 0));
        sockit_server_free(again);
    }
    /* The dual-stack wildcard, 4 workers each. */
    TU_CTX("wildcard");
    sockit_server *first;
    CHECK_OK(new_server(&first, NULL, "0", 4, 0));
    if (first) {
        char port[16];
        port_of(first, port);
        check_in_use(NULL, port, 4, 0, "[::]");
        check_in_use("127.0.0.1", port, 4, 0, "127.0.0.1");
        sockit_server_free(first);
    }
    tu_ctx_[0] = '\0';
}

/* ---- a port held by someone else --------------------------------------------------------------- */

/* A listening TCP socket on 127.0.0.1 (SO_REUSEADDR, and SO_REUSEPORT if asked); its port. */
static int plain_listener(int reuse_port, char port[16])
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 8) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        close(fd);
        return -1;
    }
    snprintf(port, 16, "%d", ntohs(a.sin_port));
    return fd;
}

static void test_held_by_socket(void)
{
    for (int reuse = 0; reuse <= 1; reuse++) {
        char port[16];
        int fd = plain_listener(reuse, port);
        CHECK_INT(fd, >=, 0);
        if (fd < 0)
            continue;
        for (int workers = 1; workers <= 4; workers *= 4) {
            TU_CTX("SO_REUSEPORT %d, %d worker(s)", reuse, workers);
            check_in_use("127.0.0.1", port, workers, 0, "127.0.0.1");
        }
        close(fd);
    }
    tu_ctx_[0] = '\0';
}

/* Python holds the port (SO_REUSEPORT on, as a server that shares would set it) in a child. */
static void test_held_by_python(void)
{
    int out[2], in[2]; /* its stdout, and a stdin it reads until we close ours */
    if (system("python3 -c 'pass' >/dev/null 2>&1") != 0)
        TU_SKIP("no python3");
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0)
        TU_SKIP("no pipes");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(in[0], 0);
        execlp("python3", "python3", "-c",
               "import socket, sys\n"
               "s = socket.socket()\n"
               "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n"
               "s.bind(('127.0.0.1', 0)); s.listen()\n"
               "print(s.getsockname()[1], flush=True)\n"
               "sys.stdin.read()\n",
               (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    close(in[0]);
    char port[16] = {0};
    ssize_t n = 0;
    struct pollfd p = {.fd = out[0], .events = POLLIN};
    if (poll(&p, 1, 10000) == 1)
        n = read(out[0], port, sizeof port - 1);
    CHECK_INT(n, >, 0);
    if (n > 0) {
        port[strcspn(port, "\n")] = '\0';
        check_in_use("127.0.0.1", port, 4, 0, "127.0.0.1");
        check_in_use("127.0.0.1", port, 1, 0, "127.0.0.1");
    }
    close(in[1]); /* the end of its input: it exits */
    int st = 0;
    CHECK_INT(waitpid(pid, &st, 0), ==, pid);
    CHECK_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(out[0]);
}

/* UDP: a plain bound UDP socket holds the port against a 2-worker datagram server. */
static void test_held_udp(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK_OK(bind(fd, (struct sockaddr *)&a, sizeof a));
    CHECK_OK(getsockname(fd, (struct sockaddr *)&a, &len));
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    check_in_use("127.0.0.1", port, 2, SOCK_DGRAM, "127.0.0.1");
    close(fd);
    /* And a 2-worker UDP server on port 0 works. */
    sockit_server *srv;
    CHECK_OK(new_server(&srv, "127.0.0.1", "0", 2, SOCK_DGRAM));
    if (!srv)
        return;
    sockit_addr sa;
    sockit_server_addr(srv, &sa);
    CHECK_INT(sockit_addr_port(&sa), >, 0);
    CHECK_OK(sockit_server_start(srv));
    sockit_sock *c = NULL;
    CHECK_OK(sockit_socket(&c, AF_INET, SOCK_DGRAM, 0));
    char buf[8] = {0};
    if (c) {
        sockit_settimeout(c, 5);
        CHECK_INT(sockit_sendto_addr(c, "ping", 4, 0, &sa), ==, 4);
        CHECK_INT(sockit_recv(c, buf, sizeof buf, 0), ==, 4);
        CHECK_STR(buf, "ping");
    }
    sockit_close(c);
    sockit_server_stop(srv);
    CHECK_OK(sockit_server_wait(srv));
    sockit_server_free(srv);
}

/* ---- a server's own workers still share its port ----------------------------------------------- */

static void test_workers_share(void)
{
    rec_reset();
    int fd0 = su_fd_count();
    sockit_server *srv;
    CHECK_OK(new_server(&srv, "127.0.0.1", "0", 4, 0));
    if (!srv)
        return;
    sockit_addr a;
    sockit_server_addr(srv, &a);
    CHECK_INT(sockit_addr_port(&a), >, 0);
    CHECK_OK(sockit_server_start(srv));
    /* The kernel spreads connections over the four sockets by their addresses: within a few
     * hundred connections every worker has had some. */
    int made = 0, echoed = 0;
    for (; made < 400 && rec_get(NULL) < 4; made++) {
        sockit_sock *c = su_connect(&a, 5.0);
        echoed += c && su_echo_once(c, "x");
        sockit_close(c);
    }
    CHECK_INT(echoed, ==, made);
    CHECK_INT(rec_get(NULL), ==, 4);
    sockit_server_stop(srv);
    CHECK_OK(sockit_server_wait(srv));
    sockit_server_free(srv);
    CHECK_INT(su_fd_count(), ==, fd0);
}

/* ---- Unix paths: as before ----------------------------------------------------------------------- */

static void test_unix_path(void)
{
    char dir[64], path[128];
    if (!*tu_tempdir(dir, sizeof dir))
        TU_SKIP("no temporary directory");
    snprintf(path, sizeof path, "%s/s.sock", dir);
    rec_reset();
    int fd0 = su_fd_count();
    sockit_server *srv;
    CHECK_OK(new_server(&srv, path, NULL, 2, 0));
    if (srv) {
        CHECK_OK(sockit_server_start(srv));
        sockit_addr a;
        sockit_server_addr(srv, &a);
        CHECK_INT(a.sa.ss_family, ==, AF_UNIX);
        for (int i = 0; i < 10; i++) {
            sockit_sock *c = su_connect(&a, 5.0);
            CHECK_TRUE(c && su_echo_once(c, "unix"));
            sockit_close(c);
        }
        sockit_server *second = NULL;
        CHECK_CODE(new_server(&second, path, NULL, 2, 0), -EADDRINUSE);
        CHECK_TRUE(second == NULL);
        sockit_server_stop(srv);
        CHECK_OK(sockit_server_wait(srv));
        sockit_server_free(srv);
    }
    CHECK_INT(access(path, F_OK), ==, -1); /* removed: it was ours */
    CHECK_INT(su_fd_count(), ==, fd0);
    rmdir(dir);
}

int main(void)
{
    su_raise_nofile();
    TU_RUN(test_two_servers, 20);
    TU_RUN(test_held_by_socket, 10);
    TU_RUN(test_held_by_python, 20);
    TU_RUN(test_held_udp, 10);
    TU_RUN(test_workers_share, 30);
    TU_RUN(test_unix_path, 10);
    return tu_done();
}
