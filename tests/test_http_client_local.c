/*
 * test_http_client_local.c — the HTTP client against sockit's own HTTP server, in-process, on
 * 127.0.0.1 and ::1: exact bytes of a static file many times over one connection (the server's
 * access log shows one client port for all of them), a truncated download resumed into
 * identical bytes, an IPv6 literal URL (its Host header), a large POST through
 * Expect: 100-continue, and several clients on several threads at once (for TSan).
 */
#include "tls_util.h"

#include <sockit/http_client.h>
#include <sockit/http_server.h>

#define FILE_SIZE (5u << 20)

static char g_root[64];
static sockit_http_server *g_hs;
static char g_port[8];
static char *g_data;

/* The client ports of the last requests the server logged. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_ports[4096];
static int g_nlog;

static void access_log(void *user, const sockit_http_log_entry *e)
{
    (void)user;
    pthread_mutex_lock(&g_lock);
    if (g_nlog < 4096) g_ports[g_nlog++] = e->peer ? sockit_addr_port(e->peer) : -1;
    pthread_mutex_unlock(&g_lock);
}

static int distinct_ports(int from)
{
    int n = 0;
    pthread_mutex_lock(&g_lock);
    for (int i = from; i < g_nlog; i++) {
        int seen = 0;
        for (int j = from; j < i; j++) seen |= g_ports[j] == g_ports[i];
        n += !seen;
    }
    pthread_mutex_unlock(&g_lock);
    return n;
}

static int log_count(void)
{
    pthread_mutex_lock(&g_lock);
    int n = g_nlog;
    pthread_mutex_unlock(&g_lock);
    return n;
}

static int h_host(sockit_http_req *r, void *arg)
{
    (void)arg;
    sockit_str h = sockit_http_req_header(r, "host");
    return sockit_http_respond(r, 200, "text/plain", h.p ? h.p : "", h.p ? h.n : 0);
}

/* Reads the whole body and answers its length and FNV-1a. */
static int h_sum(sockit_http_req *r, void *arg)
{
    (void)arg;
    char buf[65536], out[64];
    uint64_t h = TU_FNV_INIT, n = 0;
    ssize_t k;
    sockit_http_set_max_body(r, 64u << 20);
    while ((k = sockit_http_read(r, buf, sizeof buf)) > 0) {
        h = tu_fnv1a(h, buf, (size_t)k);
        n += (uint64_t)k;
    }
    int len = snprintf(out, sizeof out, "%llu %016llx", (unsigned long long)n, (unsigned long long)h);
    return sockit_http_respond(r, k < 0 ? 400 : 200, "text/plain", out, (size_t)len);
}

static int start_server(void)
{
    char path[128];
    if (!*tu_tempdir(g_root, sizeof g_root)) return -1;
    g_data = malloc(FILE_SIZE);
    tu_fill(g_data, FILE_SIZE, 77);
    snprintf(path, sizeof path, "%s/big.bin", g_root);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, g_data, FILE_SIZE) != (ssize_t)FILE_SIZE) return -1;
    close(fd);
    sockit_http_config cfg = {0};
    cfg.host = NULL; /* dual-stack wildcard: both 127.0.0.1 and ::1 */
    cfg.port = "0";
    cfg.workers = 2;
    cfg.access_log = access_log;
    sockit_addr a;
    if (sockit_http_server_new(&g_hs, &cfg) < 0 || sockit_http_route(g_hs, "GET", "/host", h_host, NULL) < 0 ||
        sockit_http_route_blocking(g_hs, "POST", "/sum", h_sum, NULL) < 0 ||
        sockit_http_static(g_hs, "/files/", g_root, NULL) < 0 || sockit_http_server_addr(g_hs, &a) < 0 ||
        sockit_http_server_start(g_hs) < 0)
        return -1;
    snprintf(g_port, sizeof g_port, "%d", sockit_addr_port(&a));
    return 0;
}

static const char *url(char *buf, size_t n, const char *host, const char *path)
{
    snprintf(buf, n, "http://%s:%s%s", host, g_port, path);
    return buf;
}

static void test_many_downloads_one_connection(void)
{
    char u[128];
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, NULL));
    sockit_http_resp r = {0};
    sockit_http_client_req q = {0};
    q.url = url(u, sizeof u, "127.0.0.1", "/files/big.bin");
    int before = log_count();
    for (int i = 0; i < 20; i++) {
        TU_CTX("request %d", i);
        CHECK_OK(sockit_http_client_do(c, &q, &r));
        CHECK_INT(r.status, ==, 200);
        CHECK_INT(r.body_len, ==, FILE_SIZE);
        CHECK_TRUE(r.body_len == FILE_SIZE && !memcmp(r.body, g_data, FILE_SIZE));
    }
    /* The log line of the last request may trail its response: wait for it, bounded. */
    for (double end = tu_now() + 5; log_count() < before + 20 && tu_now() < end;) tu_sleep(0.005);
    CHECK_INT(log_count() - before, ==, 20);
    CHECK_INT(distinct_ports(before), ==, 1);
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

static void test_resume_truncated(void)
{
    char u[128], path[128];
    snprintf(path, sizeof path, "%s/partial", g_root);
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, NULL));
    size_t cuts[] = {1, 1234567, FILE_SIZE - 1};
    for (size_t i = 0; i < 3; i++) {
        TU_CTX("cut at %zu", cuts[i]);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
        CHECK_INT(write(fd, g_data, cuts[i]), ==, cuts[i]);
        sockit_http_client_req q = {0};
        q.url = url(u, sizeof u, "127.0.0.1", "/files/big.bin");
        q.resume_from = cuts[i];
        q.sink_kind = SOCKIT_HTTP_SINK_FD;
        q.sink_fd = fd;
        sockit_http_resp r = {0};
        CHECK_OK(sockit_http_client_do(c, &q, &r));
        CHECK_INT(r.status, ==, 206);
        CHECK_INT(r.resumed, ==, 1);
        CHECK_INT(r.body_bytes, ==, FILE_SIZE - cuts[i]);
        long long size;
        CHECK_INT(tlsu_file_hash(path, &size), ==, tu_fnv1a(TU_FNV_INIT, g_data, FILE_SIZE));
        CHECK_INT(size, ==, FILE_SIZE);
        sockit_http_resp_free(&r);
        close(fd);
    }
    sockit_http_client_free(c);
}

static void test_ipv6_literal(void)
{
    char u[128], want[64];
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, NULL));
    sockit_http_resp r = {0};
    sockit_http_client_req q = {0};
    q.url = url(u, sizeof u, "[::1]", "/host");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    snprintf(want, sizeof want, "[::1]:%s", g_port);
    CHECK_STR(r.body, want);
    /* The pool tells ::1 and 127.0.0.1 apart (another origin). */
    q.url = url(u, sizeof u, "127.0.0.1", "/host");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.reused, ==, 0);
    q.url = url(u, sizeof u, "[::1]", "/host");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.reused, ==, 1);
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

static char heads[8192];

static void keep_heads(void *arg, int sent, const char *head, size_t len)
{
    size_t n = strlen(arg);
    snprintf((char *)arg + n, sizeof heads - n, "%s%.*s", sent ? "> " : "< ", (int)len, head);
}

static void test_large_post(void)
{
    char u[128], want[64];
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, NULL));
    sockit_http_resp r = {0};
    sockit_http_client_req q = {0};
    q.url = url(u, sizeof u, "127.0.0.1", "/sum");
    q.trace = keep_heads;
    q.trace_arg = heads;
    q.body_kind = SOCKIT_HTTP_BODY_MEMORY;
    q.body = g_data;
    size_t sizes[] = {0, 10, 3u << 20};
    for (size_t i = 0; i < 3; i++) {
        TU_CTX("%zu bytes", sizes[i]);
        q.body_len = sizes[i];
        heads[0] = 0;
        CHECK_OK(sockit_http_client_do(c, &q, &r));
        snprintf(want, sizeof want, "%zu %016llx", sizes[i],
                 (unsigned long long)tu_fnv1a(TU_FNV_INIT, g_data, sizes[i]));
        CHECK_STR(r.body, want);
        /* Only the large body asked, and the server said 100 Continue. */
        CHECK_INT(strstr(heads, "Expect: 100-continue") != NULL, ==, i == 2);
        CHECK_INT(strstr(heads, "HTTP/1.1 100 Continue") != NULL, ==, i == 2);
    }
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

static void *worker(void *arg)
{
    char u[128];
    int *failures = arg;
    sockit_http_client *c = NULL;
    if (sockit_http_client_new(&c, NULL) < 0) {
        __atomic_fetch_add(failures, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    sockit_http_resp r = {0};
    sockit_http_client_req q = {0};
    q.url = url(u, sizeof u, "127.0.0.1", "/host");
    for (int i = 0; i < 100; i++)
        if (sockit_http_client_do(c, &q, &r) < 0 || r.status != 200)
            __atomic_fetch_add(failures, 1, __ATOMIC_RELAXED);
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[4];
    int failures = 0;
    for (int i = 0; i < 4; i++) CHECK_OK(pthread_create(&t[i], NULL, worker, &failures));
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK_INT(failures, ==, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (start_server() < 0) {
        fprintf(stderr, "cannot start the server: %s\n", sockit_errmsg());
        return 1;
    }
    TU_RUN(test_many_downloads_one_connection, 60);
    TU_RUN(test_resume_truncated, 60);
    TU_RUN(test_ipv6_literal, 30);
    TU_RUN(test_large_post, 60);
    TU_RUN(test_threads, 60);
    sockit_http_server_stop(g_hs);
    sockit_http_server_wait(g_hs);
    sockit_http_server_free(g_hs);
    free(g_data);
    tlsu_rmdir(g_root);
    return tu_done();
}
