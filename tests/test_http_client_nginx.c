/*
 * test_http_client_nginx.c — the HTTP client against peers nobody here wrote: Debian's nginx
 * (configuration written by the test, on 127.0.0.1) and `python3 -m http.server`.
 *
 * nginx tells which connection served each request ($connection, $connection_requests in
 * response headers), so keep-alive reuse is observed from the server side. Bodies are compared
 * byte for byte with the files served; nginx compresses with gzip for the decoding path and
 * answers Range requests for resume. Skipped (with a message) when nginx is not installed.
 */
#include "tls_util.h"

#include <sockit/http_client.h>

#define BIG (20u << 20)

static char g_dir[64];
static char g_port[8];
static tlsu_child g_nginx;
static char *g_big;

static int start_nginx(void)
{
    char path[128];
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = tlsu_free_port();
        snprintf(g_port, sizeof g_port, "%d", port);
        snprintf(path, sizeof path, "%s/nginx.conf", g_dir);
        FILE *f = fopen(path, "w");
        if (!f) return -1;
        fprintf(f,
                "worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
                "events { worker_connections 256; }\n"
                "http {\n  access_log off;\n  client_body_temp_path %s/tmp;\n"
                "  proxy_temp_path %s/tmp;\n  fastcgi_temp_path %s/tmp;\n  uwsgi_temp_path %s/tmp;\n"
                "  scgi_temp_path %s/tmp;\n  keepalive_requests 10000;\n  default_type text/plain;\n"
                "  server {\n    listen 127.0.0.1:%d;\n    root %s/www;\n"
                "    add_header X-Conn $connection always;\n"
                "    add_header X-Req $connection_requests always;\n"
                "    location /gz/ { gzip on; gzip_types text/plain; gzip_min_length 1; }\n"
                "    location = /old { return 301 /small.txt; }\n"
                "    location = /other { return 302 http://127.0.0.1:%d/small.txt; }\n"
                "  }\n}\n",
                g_dir, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir, port, g_dir, port);
        fclose(f);
        char *argv[] = {"nginx", "-c", path, "-p", g_dir, NULL};
        if (tlsu_spawn(&g_nginx, g_dir, "nginx", "/dev/null", argv) < 0) return -1;
        for (double end = tu_now() + 10; tu_now() < end;) {
            sockit_sock *probe;
            if (sockit_create_connection(&probe, "127.0.0.1", g_port, 1) == 0) {
                sockit_close(probe);
                return 0;
            }
            if (tlsu_reap(&g_nginx, 0) >= 0) break; /* it could not bind: another port */
            tu_sleep(0.02);
        }
        tlsu_kill(&g_nginx);
    }
    return -1;
}

static const char *url(char *buf, size_t n, const char *path)
{
    snprintf(buf, n, "http://127.0.0.1:%s%s", g_port, path);
    return buf;
}

static void test_keepalive_seen_by_nginx(void)
{
    char u[128], conn[32] = "";
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, NULL));
    sockit_http_resp r = {0};
    sockit_http_client_req q = {0};
    q.url = url(u, sizeof u, "/small.txt");
    for (int i = 1; i <= 200; i++) {
        CHECK_OK(sockit_http_client_do(c, &q, &r));
        CHECK_STR(r.body, "hello, world\n");
        if (i == 1) snprintf(conn, sizeof conn, "%s", sockit_http_resp_header(&r, "x-conn"));
        else CHECK_STR(sockit_http_resp_header(&r, "x-conn"), conn);
        CHECK_INT(atoi(sockit_http_resp_header(&r, "x-req")), ==, i);
    }
    /* HEAD and a 404 keep the connection in step. */
    q.method = "HEAD";
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.content_length, ==, 13);
    q.method = NULL;
    q.url = url(u, sizeof u, "/missing");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.status, ==, 404);
    q.url = url(u, sizeof u, "/small.txt");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_STR(sockit_http_resp_header(&r, "x-conn"), conn);
    CHECK_INT(atoi(sockit_http_resp_header(&r, "x-req")), ==, 203);
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

static void test_big_file(void)
{
    char u[128], path[128];
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, NULL));
    sockit_http_resp r = {0};
    sockit_http_client_req q = {0};
    q.url = url(u, sizeof u, "/big.bin");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.body_len, ==, BIG);
    CHECK_TRUE(r.body_len == BIG && !memcmp(r.body, g_big, BIG));
    /* To a file, then resumed from a truncation. */
    snprintf(path, sizeof path, "%s/down.bin", g_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
    q.sink_kind = SOCKIT_HTTP_SINK_FD;
    q.sink_fd = fd;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    long long size;
    uint64_t want = tu_fnv1a(TU_FNV_INIT, g_big, BIG);
    CHECK_INT(tlsu_file_hash(path, &size), ==, want);
    CHECK_INT(ftruncate(fd, 7654321), ==, 0);
    q.resume_from = 7654321;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.status, ==, 206);
    CHECK_INT(tlsu_file_hash(path, &size), ==, want);
    CHECK_INT(size, ==, BIG);
    /* Resuming a complete file: nginx says 416, and the file is left alone. */
    q.resume_from = BIG;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.status, ==, 416);
    CHECK_INT(tlsu_file_hash(path, &size), ==, want);
    close(fd);
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

static void test_gzip_and_redirects(void)
{
    char u[128];
    sockit_http_client_opts o = {0};
    o.accept_encoding = 1;
    o.follow_redirects = 1;
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, &o));
    sockit_http_resp r = {0};
    sockit_http_client_req q = {0};
    q.url = url(u, sizeof u, "/gz/text.txt");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_STR(sockit_http_resp_header(&r, "content-encoding"), "gzip");
    CHECK_INT(r.body_len, ==, 270000);
    CHECK_INT(r.wire_bytes, <, 100000);
    CHECK_TRUE(r.body_len == 270000 && !strncmp(r.body, "line of text", 12) && r.body[269999] == 0x0a);
    q.url = url(u, sizeof u, "/old");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_INT(r.redirects, ==, 1);
    CHECK_STR(r.body, "hello, world\n");
    q.url = url(u, sizeof u, "/other");
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_STR(r.body, "hello, world\n");
    CHECK_INT(r.reused, ==, 1); /* same origin, written absolutely */
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
}

static void test_python_http_server(void)
{
    char www[128], port[8];
    snprintf(www, sizeof www, "%s/www", g_dir);
    int p = tlsu_free_port();
    snprintf(port, sizeof port, "%d", p);
    char *argv[] = {"python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", www, port, NULL};
    tlsu_child py;
    if (tlsu_spawn(&py, g_dir, "pyhttp", "/dev/null", argv) < 0) {
        CHECK_TRUE(0);
        return;
    }
    char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%s/small.txt", port);
    sockit_http_client_opts o = {0};
    o.timeout = 10;
    sockit_http_client *c = NULL;
    CHECK_OK(sockit_http_client_new(&c, &o));
    sockit_http_resp r = {0};
    int rc = -1;
    for (double end = tu_now() + 10; rc != 0 && tu_now() < end;) {
        sockit_http_client_req q = {0};
        q.url = u;
        if ((rc = sockit_http_client_do(c, &q, &r)) != 0) tu_sleep(0.05); /* not listening yet */
    }
    CHECK_OK(rc);
    CHECK_STR(r.body, "hello, world\n");
    CHECK_INT(r.version, ==, 10);
    snprintf(u, sizeof u, "http://127.0.0.1:%s/", port);
    sockit_http_client_req q = {0};
    q.url = u;
    CHECK_OK(sockit_http_client_do(c, &q, &r));
    CHECK_CONTAINS(r.body, "big.bin");
    sockit_http_resp_free(&r);
    sockit_http_client_free(c);
    tlsu_kill(&py);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (system("nginx -v >/dev/null 2>&1") != 0) {
        printf("SKIP: no nginx\n");
        return 0;
    }
    char path[160];
    if (!*tu_tempdir(g_dir, sizeof g_dir)) return 1;
    chmod(g_dir, 0755); /* nginx's workers run as another user when we are root */
    snprintf(path, sizeof path, "%s/www/gz", g_dir);
    tlsu_sh("mkdir -p '%s' '%s/tmp' && printf 'hello, world\\n' > '%s/www/small.txt'", path, g_dir, g_dir);
    tlsu_sh("for i in $(seq 10000); do echo 'line of text, compressible'; done > '%s/www/gz/text.txt'", g_dir);
    g_big = malloc(BIG);
    tu_fill(g_big, BIG, 5);
    snprintf(path, sizeof path, "%s/www/big.bin", g_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, g_big, BIG) != (ssize_t)BIG || start_nginx() < 0) {
        fprintf(stderr, "cannot start nginx\n");
        return 1;
    }
    close(fd);
    TU_RUN(test_keepalive_seen_by_nginx, 60);
    TU_RUN(test_big_file, 60);
    TU_RUN(test_gzip_and_redirects, 60);
    TU_RUN(test_python_http_server, 60);
    tlsu_kill(&g_nginx);
    free(g_big);
    tlsu_rmdir(g_dir);
    return tu_done();
}
