/*
 * test_http_cache — the static handler's open-file cache (internal/http_fcache.h, static.c):
 * the cache alone (bound, LRU order, expiry, sweep, descriptors closed), then through a server:
 * a hit answers byte for byte what an uncached mount answers (Date aside), and once the validity
 * window has passed a modified file is served new, a deleted file is 404, a file replaced by a
 * symlink out of the root is refused, and the descriptors held stay within cache_entries and go
 * back to none when the server is idle. Changes are waited for by polling with a deadline, never
 * by a fixed sleep.
 */
#include "server_util.h"
#include "testutil.h"

#include "internal/http_fcache.h"

#include <sockit/http_server.h>

#include <fcntl.h>
#include <unistd.h>

#define VALID_MS 150 /* the server mounts' validity window */

static sockit_http_server *hs;
static sockit_addr addr;
static char root[64], outside[80];

typedef struct answer {
    int status;
    char text[8192]; /* head and body, NUL-terminated */
} answer;

static answer A, B;

/* One request with extra header lines on a new connection (Connection: close): the answer. */
static int ask_h(const char *target, const char *extra, answer *a)
{
    return a->status = su_http_ask(&addr, "GET", target, extra, a->text, sizeof a->text);
}

static int ask(const char *target, answer *a) { return ask_h(target, "", a); }

/* The answer without its Date line (the one field that may differ between two answers). */
static void drop_date(answer *a)
{
    char *d = strstr(a->text, "\r\nDate: ");
    if (!d) return;
    char *e = strstr(d + 2, "\r\n");
    if (e) memmove(d, e, strlen(e) + 1);
}

/* Writes content to path through a temporary name and a rename: a new inode, as an editor or a
 * deploy makes. */
static void write_file(const char *path, const char *content)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    CHECK_TRUE(f != NULL);
    if (!f) return;
    fputs(content, f);
    fclose(f);
    CHECK_OK(rename(tmp, path));
}

static void put(const char *rel, const char *content)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    write_file(p, content);
}

/* Polls target until its body is want (or its status is want_status when want is NULL), at most
 * 5 s; returns 1 if it came. */
static int eventually(const char *target, int want_status, const char *want)
{
    double end = tu_now() + 5;
    while (tu_now() < end) {
        ask(target, &A);
        if (want ? (A.status == 200 && strstr(A.text, want) != NULL) : A.status == want_status) return 1;
        usleep(20000);
    }
    return 0;
}

/* ---- the cache alone ---------------------------------------------------------------------- */

static void test_unit(void)
{
    int base = su_fd_count();
    sockit__fcache *fc = sockit__fcache_new(4, 60000);
    CHECK_TRUE(fc != NULL);
    if (!fc) return;
    struct stat st;
    char key[32];
    for (int i = 0; i < 10; i++) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        CHECK_OK(fstat(fd, &st));
        snprintf(key, sizeof key, "/f%d.txt", i);
        const sockit__fentry *e = sockit__fcache_put(fc, key, key, fd, &st, i == 0 ? SOCKIT__ENC_GZIP : 0);
        CHECK_TRUE(e != NULL);
        if (!e) continue;
        CHECK_INT(e->fd, ==, fd);
        CHECK_STR(e->ctype, "text/plain; charset=utf-8");
        CHECK_TRUE(e->head_len > 0);
        if (i == 0) CHECK_CONTAINS(e->head, "\r\nVary: Accept-Encoding\r\n");
        if (i >= 3) CHECK_TRUE(sockit__fcache_get(fc, "/f3.txt") != NULL); /* kept warm: kept */
        CHECK_INT(sockit__fcache_count(fc), <=, 4);
    }
    CHECK_INT(sockit__fcache_count(fc), ==, 4);
    CHECK_INT(su_fd_count(), ==, base + 4); /* evicted entries closed their descriptors */
    CHECK_TRUE(sockit__fcache_get(fc, "/f0.txt") == NULL);
    CHECK_TRUE(sockit__fcache_get(fc, "/f6.txt") == NULL); /* the least recently used went */
    CHECK_TRUE(sockit__fcache_get(fc, "/f7.txt") != NULL);
    CHECK_TRUE(sockit__fcache_get(fc, "/f9.txt") != NULL);
    /* The same key again replaces the entry, closing the old descriptor. */
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK_TRUE(sockit__fcache_put(fc, "/f9.txt", "/f9.txt/index.html", fd, &st, 0) != NULL);
    const sockit__fentry *e = sockit__fcache_get(fc, "/f9.txt");
    CHECK_TRUE(e != NULL && strcmp(e->file, "/f9.txt/index.html") == 0 && e->fd == fd);
    CHECK_STR(e ? e->ctype : "", "text/html; charset=utf-8");
    CHECK_INT(su_fd_count(), ==, base + 4);
    sockit__fcache_free(fc);
    CHECK_INT(su_fd_count(), ==, base);

    /* Expiry: an entry is dropped once its window has passed, by a get or by a sweep. */
    fc = sockit__fcache_new(8, 30);
    CHECK_TRUE(fc != NULL);
    if (!fc) return;
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "/e%d", i);
        CHECK_TRUE(sockit__fcache_put(fc, key, key, open("/dev/null", O_RDONLY | O_CLOEXEC), &st, 0) != NULL);
    }
    CHECK_TRUE(sockit__fcache_get(fc, "/e0") != NULL); /* 30 ms cannot pass between these lines... */
    double end = tu_now() + 5;                          /* ...but if they did, the next waits */
    while (sockit__fcache_get(fc, "/e0") && tu_now() < end) usleep(5000);
    CHECK_TRUE(sockit__fcache_get(fc, "/e0") == NULL);
    CHECK_INT(sockit__fcache_count(fc), ==, 2);
    end = tu_now() + 5;
    while (sockit__fcache_sweep(fc) && tu_now() < end) usleep(5000);
    CHECK_INT(sockit__fcache_count(fc), ==, 0);
    CHECK_INT(su_fd_count(), ==, base);
    sockit__fcache_free(fc);
}

/* ---- through the server ------------------------------------------------------------------- */

static void make_tree(void)
{
    char p[256];
    snprintf(root, sizeof root, "/tmp/sockit-cache-XXXXXX");
    CHECK_TRUE(mkdtemp(root) != NULL);
    snprintf(outside, sizeof outside, "%s-secret", root);
    write_file(outside, "SECRET outside the root\n");
    snprintf(p, sizeof p, "%s/d", root);
    CHECK_OK(mkdir(p, 0755));
    snprintf(p, sizeof p, "%s/many", root);
    CHECK_OK(mkdir(p, 0755));
    put("a.txt", "version one\n");
    put("b.js", "b()\n");
    put("b.js.gz", "gz of b\n");
    put("d/index.html", "<p>index</p>\n");
    put("gone.txt", "here for now\n");
    put("link.txt", "a plain file at first\n");
    for (int i = 0; i < 40; i++) {
        char rel[32], body[32];
        snprintf(rel, sizeof rel, "many/%02d.txt", i);
        snprintf(body, sizeof body, "file %02d\n", i);
        put(rel, body);
    }
}

static void start(void)
{
    sockit_http_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1};
    CHECK_OK(sockit_http_server_new(&hs, &cfg));
    sockit_http_static_opts cached = {.cache_valid_ms = VALID_MS};
    sockit_http_static_opts uncached = {.cache_valid_ms = -1};
    sockit_http_static_opts small = {.cache_valid_ms = VALID_MS, .cache_entries = 8};
    CHECK_OK(sockit_http_static(hs, "/c/", root, &cached));
    CHECK_OK(sockit_http_static(hs, "/u/", root, &uncached));
    CHECK_OK(sockit_http_static(hs, "/s/", root, &small));
    CHECK_OK(sockit_http_server_addr(hs, &addr));
    CHECK_OK(sockit_http_server_start(hs));
}

/* The same request through the cached mount (twice: a miss, then a hit) and the uncached one. */
static void same(const char *path, const char *extra)
{
    char t[128];
    answer C;
    snprintf(t, sizeof t, "/u%s", path);
    ask_h(t, extra, &B);
    snprintf(t, sizeof t, "/c%s", path);
    ask_h(t, extra, &A);
    ask_h(t, extra, &C);
    drop_date(&A);
    drop_date(&B);
    drop_date(&C);
    CHECK_STR(A.text, B.text);
    CHECK_STR(C.text, B.text);
}

static void test_hits_identical(void)
{
    same("/a.txt", "");
    CHECK_CONTAINS(B.text, "\r\n\r\nversion one\n");
    same("/a.txt", "Range: bytes=2-5\r\n");
    CHECK_INT(B.status, ==, 206);
    same("/a.txt", "Range: bytes=99-\r\n");
    CHECK_INT(B.status, ==, 416);
    char etag[128] = "", inm[160];
    const char *p = strstr(B.text, "\r\nETag: ");
    CHECK_TRUE(p != NULL);
    if (p) sscanf(p + 8, "%127[^\r]", etag);
    snprintf(inm, sizeof inm, "If-None-Match: %s\r\n", etag);
    same("/a.txt", inm);
    CHECK_INT(B.status, ==, 304);
    same("/b.js", "");
    CHECK_CONTAINS(B.text, "\r\nVary: Accept-Encoding\r\n");
    same("/b.js", "Accept-Encoding: gzip\r\n");
    CHECK_CONTAINS(B.text, "\r\nContent-Encoding: gzip\r\n");
    CHECK_CONTAINS(B.text, "gz of b\n");
    same("/b.js", "Accept-Encoding: br\r\n"); /* no .br: the file itself */
    same("/d/", "");
    CHECK_CONTAINS(B.text, "<p>index</p>");
    for (int i = 0; i < 2; i++) { /* the redirect is never cached */
        CHECK_INT(ask("/c/d", &A), ==, 301);
        CHECK_CONTAINS(A.text, "\r\nLocation: /c/d/\r\n");
    }
    same("/nothere.txt", "");
    CHECK_INT(B.status, ==, 404);
}

static void test_modified(void)
{
    CHECK_INT(ask("/c/a.txt", &A), ==, 200); /* cached now */
    put("a.txt", "version two, longer\n");
    CHECK_TRUE(eventually("/c/a.txt", 0, "\r\n\r\nversion two, longer\n"));
    CHECK_CONTAINS(A.text, "Content-Length: 20\r\n");
    /* The directory's index too. */
    CHECK_INT(ask("/c/d/", &A), ==, 200);
    put("d/index.html", "<p>new index</p>\n");
    CHECK_TRUE(eventually("/c/d/", 0, "<p>new index</p>"));
}

static void test_deleted(void)
{
    char p[256];
    CHECK_INT(ask("/c/gone.txt", &A), ==, 200);
    snprintf(p, sizeof p, "%s/gone.txt", root);
    CHECK_OK(unlink(p));
    CHECK_TRUE(eventually("/c/gone.txt", 404, NULL));
}

static void test_symlink_out(void)
{
    char p[256];
    CHECK_INT(ask("/c/link.txt", &A), ==, 200);
    CHECK_CONTAINS(A.text, "a plain file at first");
    snprintf(p, sizeof p, "%s/link.tmp", root);
    CHECK_OK(symlink(outside, p));
    char q[256];
    snprintf(q, sizeof q, "%s/link.txt", root);
    CHECK_OK(rename(p, q));
    /* Refused once the window has passed... */
    double end = tu_now() + 5;
    while (ask("/c/link.txt", &A) == 200 && tu_now() < end) {
        CHECK_TRUE(strstr(A.text, "SECRET") == NULL); /* the old file, never the new target */
        usleep(20000);
    }
    CHECK_INT(A.status, >=, 403);
    CHECK_INT(A.status, <=, 404);
    /* ...and for good: a refusal is not cached as anything else. */
    for (int i = 0; i < 5; i++) {
        CHECK_INT(ask("/c/link.txt", &A), >=, 403);
        CHECK_TRUE(strstr(A.text, "SECRET") == NULL);
    }
    CHECK_INT(ask("/u/link.txt", &A), >=, 403);
}

/* The number of descriptors goes to at most want (polled for 5 s); the count it ended at. */
static int fds_settle(int want)
{
    double end = tu_now() + 5;
    int n;
    while ((n = su_fd_count()) > want && tu_now() < end) usleep(10000);
    return n;
}

static void test_bound_and_fds(void)
{
    /* Idle first: the other cases' entries are swept (the sweep timer runs every VALID_MS). */
    double end = tu_now() + 5;
    int prev = -1;
    while (prev != su_fd_count() && tu_now() < end) { /* until two looks 3 windows apart agree */
        prev = su_fd_count();
        usleep(3 * VALID_MS * 1000);
    }
    int base = su_fd_count();
    char t[64], want[32];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 40; i++) {
            snprintf(t, sizeof t, "/s/many/%02d.txt", i);
            snprintf(want, sizeof want, "\r\n\r\nfile %02d\n", i);
            CHECK_INT(ask(t, &A), ==, 200);
            CHECK_CONTAINS(A.text, want);
            CHECK_INT(su_fd_count(), <=, base + 8 + 2); /* 8 entries, the connection and slack */
        }
    /* Idle again: every entry expires and the sweep closes it. */
    CHECK_INT(fds_settle(base), <=, base);
}

int main(void)
{
    su_raise_nofile();
    TU_RUN(test_unit, 30);
    make_tree();
    start();
    TU_RUN(test_hits_identical, 30);
    TU_RUN(test_modified, 30);
    TU_RUN(test_deleted, 30);
    TU_RUN(test_symlink_out, 30);
    TU_RUN(test_bound_and_fds, 60);
    sockit_http_server_stop(hs);
    CHECK_OK(sockit_http_server_wait(hs));
    sockit_http_server_free(hs);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", root, outside);
    CHECK_OK(system(cmd));
    return tu_done();
}
