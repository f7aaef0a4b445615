/*
 * Server CPU per 1 MiB response: sockit_conn_sendfile (the file range goes with sendfile(2),
 * never through user space) against sockit_conn_send of the same bytes held in memory (what a
 * server that caches the file does; the queue copies what the kernel does not take at once).
 *
 * Usage: bench_sendfile [RESPONSES [ROUNDS]]   (default 1000 responses, 5 rounds)
 *
 * The two ways take turns, ROUNDS times each (interleaved, so a burst of background load hits
 * both alike), and the lowest figure of each is kept. For each run: a one-worker event-driven server in this process; a client in a child
 * process (forked before the server's threads exist) asks "G\n" and reads the 1 MiB answer,
 * RESPONSES times over one connection. The server's CPU time (getrusage of this process: user +
 * system, the client is another process) divided by RESPONSES is the figure; it is what other
 * load on the machine disturbs least. Bounded: the client gives up after 120 s.
 */
#include <sockit/server.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define RESP (1u << 20)

static int file_fd = -1;
static char *file_copy;
static int use_sendfile;

static size_t on_data(sockit_conn *c, char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n') continue;
        int r = use_sendfile ? sockit_conn_sendfile(c, file_fd, 0, RESP, SOCKIT_SENDFILE_DUP)
                             : sockit_conn_send(c, file_copy, RESP);
        if (r < 0) {
            fprintf(stderr, "bench_sendfile: %s\n", sockit_errmsg());
            sockit_conn_abort(c);
        }
    }
    return len;
}

static int client(const sockit_addr *a, int n)
{
    sockit_sock *s;
    char *buf = malloc(RESP);
    if (!buf || sockit_socket(&s, a->sa.ss_family, SOCK_STREAM, 0) < 0) return 1;
    sockit_settimeout(s, 120);
    if (sockit_connect_addr(s, a) < 0) return 1;
    for (int i = 0; i < n; i++) {
        if (sockit_sendall(s, "G\n", 2, 0) < 0) return 1;
        for (size_t got = 0; got < RESP;) {
            ssize_t r = sockit_recv(s, buf, RESP - got, 0);
            if (r <= 0) return 1;
            got += (size_t)r;
        }
    }
    sockit_close(s);
    free(buf);
    return 0;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Server CPU seconds per response, or -1. */
static double run(int n)
{
    static const sockit_server_cbs cbs = {.on_data = on_data};
    sockit_server_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1, .cbs = &cbs,
                                .out_limit = RESP};
    sockit_server *srv;
    sockit_addr a;
    if (sockit_server_new(&srv, &cfg) < 0) return -1;
    sockit_server_addr(srv, &a);
    pid_t pid = fork();
    if (pid == 0) _exit(client(&a, n));
    double t0 = cpu_seconds();
    int st = -1;
    if (pid > 0 && sockit_server_start(srv) == 0) waitpid(pid, &st, 0);
    double cpu = cpu_seconds() - t0;
    sockit_server_stop(srv);
    sockit_server_wait(srv);
    sockit_server_free(srv);
    return st == 0 ? cpu / n : -1;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000, rounds = argc > 2 ? atoi(argv[2]) : 5;
    char path[] = "/tmp/sockit-bench-XXXXXX";
    file_fd = mkstemp(path);
    file_copy = malloc(RESP);
    if (file_fd < 0 || !file_copy || n <= 0) return 1;
    unlink(path);
    for (size_t i = 0; i < RESP; i++) file_copy[i] = (char)(i * 131 + (i >> 9));
    if (write(file_fd, file_copy, RESP) != (ssize_t)RESP) return 1;
    double sf = 1e9, sd = 1e9;
    for (int r = 0; r < rounds; r++) {
        use_sendfile = 1;
        double a = run(n);
        use_sendfile = 0;
        double b = run(n);
        if (a < 0 || b < 0) {
            fprintf(stderr, "bench_sendfile: a run failed\n");
            return 1;
        }
        sf = a < sf ? a : sf;
        sd = b < sd ? b : sd;
    }
    printf("1 MiB responses x %d over loopback, one worker, best of %d interleaved rounds;\n"
           "server CPU (user+sys) per response:\n", n, rounds);
    printf("  sockit_conn_sendfile  %8.1f us\n", sf * 1e6);
    printf("  sockit_conn_send      %8.1f us\n", sd * 1e6);
    printf("  sendfile / send       %8.2f\n", sf / sd);
    return 0;
}
