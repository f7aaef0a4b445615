/*
 * mhd_hello: the dynamic "hello" route served by libmicrohttpd (Debian's libmicrohttpd-dev), the
 * peer sockit's examples/http_hello is compared with in bench/http_bench.sh.
 *   - GET (or HEAD) /hello answers 200 "hello world\n" (text/plain, 12 bytes), anything else 404;
 *   - one response object made at start-up and queued for every request (MHD counts its
 *     references), so the figure is the library's per-request cost, not an allocation of ours;
 *   - MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL (MHD's fastest mode on Linux: an epoll
 *     loop on an internal thread), with a pool of THREADS such loops when THREADS > 1;
 *   - no connection timeout (MHD's default), no connection limit below wrk's 500 connections.
 *
 * Usage: mhd_hello PORT [THREADS]     (PORT 0 picks a free port; THREADS defaults to 1)
 * Binds 127.0.0.1. Prints "listening on 127.0.0.1:PORT" on stderr once the daemon runs; exits 0
 * on SIGTERM or SIGINT.
 */
#include <microhttpd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char HELLO[] = "hello world\n";

/* The response every /hello request gets; not_found for every other path. */
static struct MHD_Response *hello, *not_found;

/* MHD's request callback. The first call for a request only marks it seen: a response queued
 * there (before MHD has taken the request as complete) makes MHD close the connection after it
 * ("Connection: close" on every answer), which would measure connection set-up, not MHD's
 * keep-alive path. The second call, with the request complete, queues the response. */
static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    static int seen;
    (void)cls; (void)version; (void)upload_data; (void)upload_data_size;
    if (*con_cls == NULL) {
        *con_cls = &seen;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return MHD_NO;  /* closes the connection: the benchmark only sends GET */
    if (strcmp(url, "/hello") == 0)
        return MHD_queue_response(conn, MHD_HTTP_OK, hello);
    return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, not_found);
}

static struct MHD_Response *make_response(const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_PERSISTENT);
    if (r == NULL || MHD_add_response_header(r, "Content-Type", "text/plain") != MHD_YES) {
        fprintf(stderr, "mhd_hello: cannot create a response\n");
        exit(1);
    }
    return r;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: mhd_hello PORT [THREADS]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    unsigned threads = argc == 3 ? (unsigned)atoi(argv[2]) : 1;
    if (port < 0 || port > 65535 || threads < 1 || threads > 64) {
        fprintf(stderr, "mhd_hello: bad PORT or THREADS\n");
        return 2;
    }
    hello = make_response(HELLO);
    not_found = make_response("not found\n");

    /* Block the stop signals before MHD starts its threads, so only sigwait below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (unsigned short)port, NULL, NULL,
        answer, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
        MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u,
        MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "mhd_hello: MHD_start_daemon failed on 127.0.0.1:%d\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fprintf(stderr, "listening on 127.0.0.1:%u\n", info != NULL ? info->port : (unsigned)port);

    int sig;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(hello);
    MHD_destroy_response(not_found);
    return 0;
}
