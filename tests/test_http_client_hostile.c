/*
 * test_http_client_hostile.c — a reviewer's regressions for the HTTP client (http_client.h):
 * what a hostile caller input or server made it do wrong, each with the check that failed before
 * the fix.
 *
 * The peer is a thread of this program: a raw TCP server on 127.0.0.1 port 0 that serves one
 * connection at a time, keeps every byte a client sent (up to EOF or the end of a head) in a log,
 * and answers with the reply the case set. Connections are served in order, so once a later
 * request got its answer, every byte of the earlier connections is in the log.
 */
#include "testutil.h"

#include <sockit/http_client.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <zlib.h>

static int g_lfd = -1;
static char g_port[8];
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_log[1 << 20];
static size_t g_log_len;
static const char *g_reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

static void log_add(const char *p, size_t n)
{
    pthread_mutex_lock(&g_mu);
    if (n > sizeof g_log - 1 - g_log_len) n = sizeof g_log - 1 - g_log_len;
    memcpy(g_log + g_log_len, p, n);
    g_log_len += n;
    g_log[g_log_len] = 0;
    pthread_mutex_unlock(&g_mu);
}

/* 1 if the log holds sub. */
static int log_has(const char *sub)
{
    pthread_mutex_lock(&g_mu);
    int has = memmem(g_log, g_log_len, sub, strlen(sub)) != NULL; /* bodies may hold NULs */
    pthread_mutex_unlock(&g_mu);
    return has;
}

/* Reads and counts n more body bytes from fd (the rest of a Content-Length body). */
static uint64_t drain(int fd, uint64_t n)
{
    char buf[65536];
    uint64_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) break;
        got += (uint64_t)r;
    }
    return got;
}

/* Answers the head in seen (body bytes already read: extra). A request that expects
 * 100-continue gets 417 when the case says so; a body is read whole and its size answered. */
static int g_refuse_expect;

static void answer(int fd, const char *seen, size_t extra)
{
    char reply[256];
    const char *cl = strcasestr(seen, "\r\ncontent-length:");
    if (!strncmp(seen, "GET /flood", 10)) {
        /* 1xx heads or empty lines until the client goes (at most 64 MiB: bounded) */
        char unit[4096];
        const char *one = seen[10] == '1' ? "HTTP/1.1 100 Continue\r\n\r\n" : "\r\n";
        size_t n = 0, len = strlen(one);
        while (n + len <= sizeof unit) memcpy(unit + n, one, len), n += len;
        for (int i = 0; i < 16384; i++)
            if (send(fd, unit, n, MSG_NOSIGNAL) < 0) return;
        return;
    }
    if (!strncmp(seen, "GET /bomb", 9)) {
        /* 512 MiB of zeros as gzip (about 512 KiB) */
        z_stream z = {0};
        static char zeros[1 << 20], out[1 << 16];
        if (deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return;
        const char *head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n";
        (void)!send(fd, head, strlen(head), MSG_NOSIGNAL);
        for (int i = 0; i <= 512; i++) {
            z.next_in = (Bytef *)zeros;
            z.avail_in = i < 512 ? sizeof zeros : 0;
            do {
                z.next_out = (Bytef *)out;
                z.avail_out = sizeof out;
                deflate(&z, i < 512 ? Z_NO_FLUSH : Z_FINISH);
                if (send(fd, out, sizeof out - z.avail_out, MSG_NOSIGNAL) < 0) i = 513;
            } while (z.avail_out == 0 && i <= 512);
        }
        deflateEnd(&z);
        return;
    }
    if (g_refuse_expect && strcasestr(seen, "\r\nexpect: 100-continue")) {
        snprintf(reply, sizeof reply, "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 4\r\n"
                 "Connection: close\r\n\r\nnope");
        (void)!send(fd, reply, strlen(reply), MSG_NOSIGNAL);
        /* Whatever body comes (none when the client waits for 100) is read until the client
         * closes, so that closing here never resets the connection under the answer. */
        uint64_t n = cl ? strtoull(cl + 17, NULL, 10) : 0;
        drain(fd, n > extra ? n - extra : 0);
        return;
    } else if (cl) {
        uint64_t n = strtoull(cl + 17, NULL, 10);
        uint64_t got = extra + drain(fd, n > extra ? n - extra : 0);
        char body[64];
        snprintf(body, sizeof body, "got %llu", (unsigned long long)got);
        snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s", strlen(body), body);
    } else {
        snprintf(reply, sizeof reply, "%s", __atomic_load_n(&g_reply, __ATOMIC_ACQUIRE));
    }
    (void)!send(fd, reply, strlen(reply), MSG_NOSIGNAL);
}

static void *peer_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(g_lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return NULL;
        }
        struct timeval tv = {10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[8192], seen[8192];
        size_t have = 0, total = 0; /* seen keeps the head; total counts every byte */
        for (;;) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            log_add(buf, (size_t)n);
            total += (size_t)n;
            size_t k = (size_t)n < sizeof seen - 1 - have ? (size_t)n : sizeof seen - 1 - have;
            memcpy(seen + have, buf, k);
            have += k;
            seen[have] = 0;
            char *end = strstr(seen, "\r\n\r\n");
            if (end) {
                answer(fd, seen, total - (size_t)(end + 4 - seen));
                break;
            }
        }
        close(fd);
    }
}

static int peer_start(void)
{
    g_lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (g_lfd < 0 || bind(g_lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(g_lfd, 16) < 0 ||
        getsockname(g_lfd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    snprintf(g_port, sizeof g_port, "%d", ntohs(a.sin_port));
    pthread_t t;
    if (pthread_create(&t, NULL, peer_main, NULL) != 0) return -1;
    pthread_detach(t);
    return 0;
}

static const char *url(char *buf, size_t n, const char *path)
{
    snprintf(buf, n, "http://127.0.0.1:%s%s", g_port, path);
    return buf;
}

/* One request to path on a fresh client with user agent ua (NULL: the default). */
static int request(const char *ua, const char *method, const char *ctype, const char *path,
                   sockit_http_resp *r)
{
    char u[128];
    sockit_http_client_opts o = {0};
    o.user_agent = ua;
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, &o));
    sockit_http_client_req q = {0};
    q.url = url(u, sizeof u, path);
    q.method = method;
    if (ctype) {
        q.body_kind = SOCKIT_HTTP_BODY_MEMORY;
        q.body = "x=1";
        q.body_len = 3;
        q.content_type = ctype;
    }
    int rc = sockit_http_client_do(c, &q, r);
    sockit_http_client_free(c);
    return rc;
}

/* A method, a user agent or a content type with a line break once wrote the caller's bytes into
 * the head as they were: "-X $'GET /x HTTP/1.1\r\nEvil: 1'" and "-A $'x\r\nEvil: 1'" sent an
 * "Evil: 1" header (request splitting through values the header checks did not cover). */
static void test_no_smuggling_outside_headers(void)
{
    sockit_http_resp r = {0};
    CHECK_CODE(request(NULL, "GET /x HTTP/1.1\r\nEvil-M: 1\r\nX-A: 2", NULL, "/m", &r), -EINVAL);
    CHECK_CONTAINS(sockit_errmsg(), "method");
    CHECK_CODE(request(NULL, "GE T", NULL, "/m2", &r), -EINVAL);
    CHECK_CODE(request(NULL, "", NULL, "/m3", &r), -EINVAL);
    CHECK_CODE(request("ua\r\nEvil-U: 1", NULL, NULL, "/u", &r), -EINVAL);
    CHECK_CONTAINS(sockit_errmsg(), "user agent");
    CHECK_CODE(request(NULL, NULL, "text/plain\r\nEvil-C: 1", "/c", &r), -EINVAL);
    CHECK_CONTAINS(sockit_errmsg(), "content type");
    CHECK_CODE(request(NULL, NULL, "text/plain\nEvil-C: 2", "/c2", &r), -EINVAL);
    /* The controls: what is valid still goes out (and orders the log after the cases above). */
    CHECK_OK(request("ua/1.0 (x; y)", "PROPFIND", NULL, "/ok1", &r));
    CHECK_STR(r.body, "ok");
    CHECK_OK(request(NULL, NULL, "text/plain; charset=utf-8", "/ok2", &r));
    CHECK_STR(r.body, "got 3");
    CHECK_TRUE(log_has("PROPFIND /ok1 HTTP/1.1\r\n"));
    CHECK_TRUE(log_has("User-Agent: ua/1.0 (x; y)\r\n"));
    CHECK_TRUE(log_has("Content-Type: text/plain; charset=utf-8\r\n"));
    CHECK_TRUE(!log_has("Evil"));
    sockit_http_resp_free(&r);
}

/* The user agent also goes into a CONNECT to the proxy, sent before the request's own head was
 * checked: the values are now checked before any connection. */
static void test_no_smuggling_into_connect(void)
{
    char proxy[64];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%s", g_port);
    sockit_http_client_opts o = {0};
    o.proxy = proxy;
    o.user_agent = "ua\r\nEvil-P: 1";
    o.timeout = 10;
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, &o));
    sockit_http_client_req q = {0};
    q.url = "https://sockit.invalid/";
    sockit_http_resp r = {0};
    CHECK_CODE(sockit_http_client_do(c, &q, &r), -EINVAL);
    sockit_http_client_free(c);
    CHECK_OK(request(NULL, NULL, NULL, "/after-connect", &r)); /* orders the log */
    CHECK_TRUE(log_has("GET /after-connect HTTP/1.1"));
    CHECK_TRUE(!log_has("Evil-P"));
    sockit_http_resp_free(&r);
}

/* A percent-encoded CR LF in the host was decoded into the CONNECT request line and its Host
 * header: a URL (or a redirect's Location) smuggled headers to the proxy. Such a host is now
 * SOCKIT_EBADURL, before any connection. */
static void test_no_smuggling_through_host(void)
{
    char proxy[64];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%s", g_port);
    sockit_http_client_opts o = {0};
    o.proxy = proxy;
    o.timeout = 10;
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, &o));
    sockit_http_resp r = {0};
    const char *urls[] = {"https://x%0d%0aEvil-H%3a%201%0d%0ay.example/",
                          "https://x%0aEvil-H%3a%202/", "http://x%20y%3a1/", "https://a%5b%3a%3a1%5d/"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        TU_CTX("%s", urls[i]);
        sockit_http_client_req q = {0};
        q.url = urls[i];
        CHECK_CODE(sockit_http_client_do(c, &q, &r), SOCKIT_EBADURL);
    }
    sockit_http_client_free(c);
    CHECK_OK(request(NULL, NULL, NULL, "/after-host", &r)); /* orders the log */
    CHECK_TRUE(log_has("GET /after-host HTTP/1.1"));
    CHECK_TRUE(!log_has("Evil-H"));
    sockit_http_resp_free(&r);
}

/* A server that does not do 100-continue answers 417: the body was never sent, and the request
 * used to end there (a 417 returned as the answer, `sockit http get -d @big` exiting 0 with
 * nothing uploaded). curl sends it again without the Expect header; so does the client now. */
static void test_expect_refused_resent(void)
{
    enum { BIG = 2 * 1024 * 1024 };
    char u[128];
    char *body = calloc(1, BIG);
    CHECK_TRUE(body != NULL);
    if (!body) return;
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, NULL));
    sockit_http_client_req q = {0};
    q.url = url(u, sizeof u, "/upload");
    q.method = "PUT";
    q.body_kind = SOCKIT_HTTP_BODY_MEMORY;
    q.body = body;
    q.body_len = BIG;
    sockit_http_resp r = {0};
    __atomic_store_n(&g_refuse_expect, 1, __ATOMIC_RELEASE);
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.status, ==, 200);
    CHECK_STR(r.body, "got 2097152");
    /* Its own Expect header is the caller's business: the 417 is its answer. */
    sockit_http_field h[] = {{"Expect", "100-continue"}};
    q.headers = h;
    q.nheaders = 1;
    q.body_len = 1000;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.status, ==, 417);
    __atomic_store_n(&g_refuse_expect, 0, __ATOMIC_RELEASE);
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
    free(body);
}

/* A server streaming "100 Continue" heads, or empty lines, before an answer that never comes:
 * each head is small, so the head limit never fired, and a client without a timeout waited
 * forever (curl stops at 300 KB of heads). Now more than 32 1xx heads, or more than
 * max_header_bytes of empty lines, is SOCKIT_EPROTO. */
static void test_informational_flood_bounded(void)
{
    char u[128];
    sockit_http_client_opts o = {0};
    o.timeout = 20; /* the bound of this test only: the fix must fire long before */
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, &o));
    sockit_http_resp r = {0};
    const char *paths[] = {"/flood1xx", "/floodcrlf"}, *why[] = {"(1xx)", "empty lines"};
    for (int i = 0; i < 2; i++) {
        TU_CTX("%s", paths[i]);
        sockit_http_client_req q = {0};
        q.url = url(u, sizeof u, paths[i]);
        double t0 = tu_now();
        CHECK_CODE(sockit_http_client_do(c, &q, &r), SOCKIT_EPROTO);
        CHECK_CONTAINS(sockit_errmsg(), why[i]);
        CHECK_DBL(tu_now() - t0, <, 15);
    }
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

/* The one-call helpers keep the body in memory: a small compressed reply must not make them fill
 * gigabytes (measured before the bound: 1.05 GB of RSS and 10 s for a 2 MB gzip response). They
 * stop at SOCKIT_HTTP_HELPER_MAX_BODY (64 MiB) with SOCKIT_ETOOLONG. */
static void test_helper_memory_bounded(void)
{
    /* A small gzip reply that decodes to 512 MiB: the helpers stop at 64 MiB. */
    char u[128];
    sockit_http_resp r = {0};
    CHECK_CODE(sockit_http_get(url(u, sizeof u, "/bomb"), &r), SOCKIT_ETOOLONG);
    CHECK_INT(r.body_len, <=, (size_t)64 << 20);
    sockit_http_resp_free(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (peer_start() < 0) {
        fprintf(stderr, "cannot start the peer: %s\n", strerror(errno));
        return 1;
    }
    TU_RUN(test_no_smuggling_outside_headers, 30);
    TU_RUN(test_no_smuggling_into_connect, 30);
    TU_RUN(test_no_smuggling_through_host, 30);
    TU_RUN(test_expect_refused_resent, 30);
    TU_RUN(test_informational_flood_bounded, 60);
    TU_RUN(test_helper_memory_bounded, 60);
    return tu_done();
}
