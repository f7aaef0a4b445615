/*
 * Core overhead, measured against raw syscalls in the same run on the same machine:
 *   1. 64-byte TCP ping-pong over loopback: sockit_send/sockit_recv (no timeout, and a 5 s
 *      timeout, which adds the deadline bookkeeping) vs send(2)/recv(2);
 *   2. bulk transfer through a Unix socketpair: sockit_sendall vs a raw write loop.
 * Prints one line per figure and the ratio sockit/raw (1.00 = no measurable overhead).
 * Bounded: fixed counts, each phase also stops after a few seconds.
 */
#include <sockit/sockit.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define ROUNDS 30000
#define BULK (64u << 20)
#define CHUNK (256u << 10)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_core: %s: %s\n", what, sockit_errmsg());
    exit(2);
}

/* The peer: echoes fixed-size messages with raw syscalls until the client closes. */
static void *echo_peer(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[MSG];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n) break;
    }
    close(fd);
    return NULL;
}

/* Connects a client to a fresh echo peer; returns the client socket. */
static sockit_sock *pingpong_pair(sockit_sock *srv, pthread_t *tid)
{
    sockit_addr a;
    char port[16];
    sockit_sock *c, *conn;
    if (sockit_getsockname(srv, &a) < 0) die("getsockname");
    snprintf(port, sizeof port, "%d", sockit_addr_port(&a));
    if (sockit_create_connection(&c, "127.0.0.1", port, -1) < 0) die("connect");
    if (sockit_accept(srv, &conn, NULL) < 0) die("accept");
    sockit_setsockopt_int(c, IPPROTO_TCP, 1 /* TCP_NODELAY */, 1);
    pthread_create(tid, NULL, echo_peer, (void *)(intptr_t)sockit_detach(conn));
    return c;
}

static double pingpong(sockit_sock *srv, int mode)
{
    pthread_t tid;
    sockit_sock *c = pingpong_pair(srv, &tid);
    char buf[MSG] = {0};
    int fd = sockit_fileno(c);
    if (mode == 2) sockit_settimeout(c, 5.0);
    double t0 = now();
    int i;
    for (i = 0; i < ROUNDS && (i % 1024 || now() - t0 < 10); i++) {
        size_t got = 0;
        if (mode == 0) {
            if (send(fd, buf, MSG, MSG_NOSIGNAL) != MSG) die("send");
            while (got < MSG) {
                ssize_t n = recv(fd, buf + got, MSG - got, 0);
                if (n <= 0) die("recv");
                got += (size_t)n;
            }
        } else {
            if (sockit_send(c, buf, MSG, 0) != MSG) die("send");
            while (got < MSG) {
                ssize_t n = sockit_recv(c, buf + got, MSG - got, 0);
                if (n <= 0) die("recv");
                got += (size_t)n;
            }
        }
    }
    double rate = i / (now() - t0);
    sockit_close(c);
    pthread_join(tid, NULL);
    return rate;
}

static void *drain(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static char buf[CHUNK];
    while (read(fd, buf, sizeof buf) > 0) {}
    return NULL;
}

static double bulk(int use_sockit)
{
    sockit_sock *a, *b;
    pthread_t tid;
    static char buf[CHUNK];
    if (sockit_socketpair(&a, &b, 0, 0) < 0) die("socketpair");
    pthread_create(&tid, NULL, drain, (void *)(intptr_t)sockit_fileno(b));
    double t0 = now();
    for (size_t done = 0; done < BULK; done += CHUNK) {
        if (use_sockit) {
            if (sockit_sendall(a, buf, CHUNK, 0) < 0) die("sendall");
        } else {
            for (size_t off = 0; off < CHUNK;) {
                ssize_t n = send(sockit_fileno(a), buf + off, CHUNK - off, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) die("send");
                off += (size_t)n;
            }
        }
    }
    double secs = now() - t0;
    sockit_shutdown(a, SHUT_WR);
    pthread_join(tid, NULL);
    sockit_close(a);
    sockit_close(b);
    return BULK / secs / (1 << 20);
}

int main(void)
{
    sockit_sock *srv;
    if (sockit_create_server(&srv, "127.0.0.1", "0", NULL) < 0) die("server");
    /* Interleave raw and sockit runs, three each, and keep each one's best: the machine is shared. */
    double raw = 0, sk = 0, skt = 0, braw = 0, bsk = 0;
    for (int rep = 0; rep < 3; rep++) {
        double x;
        if ((x = pingpong(srv, 0)) > raw) raw = x;
        if ((x = pingpong(srv, 1)) > sk) sk = x;
        if ((x = pingpong(srv, 2)) > skt) skt = x;
        if ((x = bulk(0)) > braw) braw = x;
        if ((x = bulk(1)) > bsk) bsk = x;
    }
    printf("tcp ping-pong 64 B, raw send/recv:        %10.0f round trips/s\n", raw);
    printf("tcp ping-pong 64 B, sockit (no timeout):  %10.0f round trips/s  ratio %.2f\n", sk, sk / raw);
    printf("tcp ping-pong 64 B, sockit (5 s timeout): %10.0f round trips/s  ratio %.2f\n", skt, skt / raw);
    printf("socketpair bulk, raw send loop:           %10.0f MiB/s\n", braw);
    printf("socketpair bulk, sockit_sendall:          %10.0f MiB/s  ratio %.2f\n", bsk, bsk / braw);
    sockit_close(srv);
    return 0;
}
