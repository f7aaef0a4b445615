/*
 * test_http_static — sockit_http_static's C contract: argument errors, a mount at a prefix other
 * than "/" beside dynamic routes (the exact prefix redirects, paths outside it are not its), and
 * each option: index, no_listing, no_precompressed, SOCKIT_HTTP_SYMLINKS_NEVER. Every feature of
 * a "/" mount is tested end to end through `sockit http serve` (tests/cli/test_http_serve.py).
 */
#include "server_util.h"
#include "testutil.h"

#include <sockit/http_server.h>

static sockit_http_server *hs;
static sockit_addr addr;
static char root[64];

/* One request on a new connection (the request says Connection: close): the whole answer. */
typedef struct answer {
    int status;
    char text[8192]; /* head and body, NUL-terminated (truncated if longer) */
} answer;

static int ask(const char *method, const char *target, answer *a)
{
    return a->status = su_http_ask(&addr, method, target, "", a->text, sizeof a->text);
}

static int h_api(sockit_http_req *r, void *arg)
{
    return sockit_http_respond(r, 200, "text/plain", "api\n", 4);
}

static void put(const char *rel, const char *content)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    CHECK_TRUE(f != NULL);
    if (!f) return;
    fputs(content, f);
    fclose(f);
}

static void make_tree(void)
{
    char p[256];
    snprintf(root, sizeof root, "/tmp/sockit-static-XXXXXX");
    CHECK_TRUE(mkdtemp(root) != NULL);
    const char *dirs[] = {"site", "noindex", "home", "plain"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i]);
        CHECK_OK(mkdir(p, 0755));
    }
    put("site/a.txt", "file a\n");
    put("site/index.html", "<p>site index</p>\n");
    put("noindex/index.html", "<p>hidden index</p>\n");
    put("home/home.htm", "<p>home</p>\n");
    put("home/index.html", "<p>not this one</p>\n");
    put("plain/x.js", "plain js\n");
    put("plain/x.js.gz", "gz bytes\n");
    snprintf(p, sizeof p, "%s/plain/in.js", root);
    CHECK_OK(symlink("x.js", p));
}

static void test_errors(void)
{
    sockit_http_config cfg = {.host = "127.0.0.1", .port = "0"};
    sockit_http_server *h;
    char p[256];
    CHECK_OK(sockit_http_server_new(&h, &cfg));
    CHECK_CODE(sockit_http_static(h, "static/", root, NULL), -EINVAL);
    CHECK_CODE(sockit_http_static(h, "/", NULL, NULL), -EINVAL);
    CHECK_CODE(sockit_http_static(NULL, "/", root, NULL), -EINVAL);
    snprintf(p, sizeof p, "%s/missing", root);
    CHECK_CODE(sockit_http_static(h, "/", p, NULL), -ENOENT);
    CHECK_CONTAINS(sockit_errmsg(), "missing");
    snprintf(p, sizeof p, "%s/site/a.txt", root);
    CHECK_CODE(sockit_http_static(h, "/", p, NULL), -ENOTDIR);
    sockit_http_static_opts bad = {.index = "a/b.html"};
    CHECK_CODE(sockit_http_static(h, "/", root, &bad), -EINVAL);
    CHECK_OK(sockit_http_static(h, "/", root, NULL)); /* freed with the server, never started */
    sockit_http_server_free(h);
}

static void start(void)
{
    char p[256];
    sockit_http_config cfg = {.host = "127.0.0.1", .port = "0", .workers = 1};
    CHECK_OK(sockit_http_server_new(&hs, &cfg));
    CHECK_OK(sockit_http_route(hs, "GET", "/api/*", h_api, NULL));
    snprintf(p, sizeof p, "%s/site", root);
    CHECK_OK(sockit_http_static(hs, "/static/", p, NULL));
    sockit_http_static_opts nolist = {.index = "", .no_listing = 1};
    snprintf(p, sizeof p, "%s/noindex", root);
    CHECK_OK(sockit_http_static(hs, "/nolist", p, &nolist));
    sockit_http_static_opts noidx = {.index = "", .cache_valid_ms = 60000}; /* see test_listing_cache */
    CHECK_OK(sockit_http_static(hs, "/listed", p, &noidx));
    sockit_http_static_opts home = {.index = "home.htm"};
    snprintf(p, sizeof p, "%s/home", root);
    CHECK_OK(sockit_http_static(hs, "/home/", p, &home));
    sockit_http_static_opts strict = {.no_precompressed = 1, .symlinks = SOCKIT_HTTP_SYMLINKS_NEVER};
    snprintf(p, sizeof p, "%s/plain", root);
    CHECK_OK(sockit_http_static(hs, "/strict", p, &strict));
    CHECK_OK(sockit_http_static(hs, "/plain", p, NULL));
    CHECK_OK(sockit_http_server_addr(hs, &addr));
    CHECK_OK(sockit_http_server_start(hs));
    CHECK_CODE(sockit_http_static(hs, "/late", root, NULL), -EBUSY);
}

static answer A;

static void test_prefix_mount(void)
{
    CHECK_INT(ask("GET", "/static/a.txt", &A), ==, 200);
    CHECK_CONTAINS(A.text, "\r\n\r\nfile a\n");
    CHECK_INT(ask("GET", "/static?q=1", &A), ==, 301);
    CHECK_CONTAINS(A.text, "\r\nLocation: /static/?q=1\r\n");
    CHECK_INT(ask("GET", "/static/", &A), ==, 200);
    CHECK_CONTAINS(A.text, "site index");
    CHECK_INT(ask("GET", "/staticx/a.txt", &A), ==, 404); /* not under the prefix */
    CHECK_INT(ask("GET", "/api/x", &A), ==, 200);         /* the dynamic route beside it */
    CHECK_INT(ask("POST", "/static/a.txt", &A), ==, 405);
    CHECK_CONTAINS(A.text, "\r\nAllow: GET, HEAD\r\n");
    CHECK_INT(ask("GET", "/static/../static/a.txt", &A), ==, 200); /* dot-segments, inside */
    CHECK_INT(ask("GET", "/static/%2e%2e/noindex/index.html", &A), ==, 404); /* /noindex: no route */
}

static void test_options(void)
{
    CHECK_INT(ask("GET", "/nolist/", &A), ==, 403); /* no index (""), no listing */
    CHECK_INT(ask("GET", "/listed/", &A), ==, 200); /* index "" lists even with index.html */
    CHECK_CONTAINS(A.text, "Index of /listed/");
    CHECK_CONTAINS(A.text, "index.html");
    CHECK_INT(ask("GET", "/home/", &A), ==, 200);
    CHECK_CONTAINS(A.text, "<p>home</p>");
    CHECK_INT(ask("GET", "/strict/in.js", &A), ==, 403); /* SYMLINKS_NEVER */
    CHECK_INT(ask("GET", "/plain/in.js", &A), ==, 200);  /* the default follows it inside */
    CHECK_INT(ask("GET", "/strict/x.js", &A), ==, 200);
    CHECK_TRUE(strstr(A.text, "Vary:") == NULL); /* no_precompressed: no sibling looked at */
    CHECK_INT(ask("GET", "/plain/x.js", &A), ==, 200);
    CHECK_CONTAINS(A.text, "\r\nVary: Accept-Encoding\r\n");
}

/* Listings are kept for the validity window while the directory is unchanged (one build for
 * many clients); a change to the directory is seen at once (its mtime moves), and two mounts of
 * one directory at different prefixes never share a page (it names its own path). */
static void test_listing_cache(void)
{
    answer B;
    CHECK_INT(ask("GET", "/listed/", &A), ==, 200);
    CHECK_INT(ask("GET", "/listed/", &B), ==, 200);
    const char *a = strstr(A.text, "\r\n\r\n"), *b = strstr(B.text, "\r\n\r\n");
    CHECK_TRUE(a && b && strcmp(a, b) == 0); /* the same page, byte for byte */
    CHECK_TRUE(strstr(A.text, "fresh.txt") == NULL);
    /* A file's size changes, the directory does not: within the window the page is the kept one
     * (this mount keeps pages 60 s), which proves it was not built again. */
    put("noindex/index.html", "<p>hidden index, now longer than before</p>\n");
    CHECK_INT(ask("GET", "/listed/", &B), ==, 200);
    b = strstr(B.text, "\r\n\r\n");
    CHECK_TRUE(a && b && strcmp(a, b) == 0);
    put("noindex/fresh.txt", "new\n");
    CHECK_INT(ask("GET", "/listed/", &A), ==, 200);
    CHECK_CONTAINS(A.text, "fresh.txt"); /* the directory changed: built again */
    CHECK_INT(ask("GET", "/nolist/", &A), ==, 403); /* the same directory, not listed there */
    for (int i = 0; i < 6; i++) { /* more directories than slots: each page is still its own */
        char t[64];
        snprintf(t, sizeof t, "/listed/../listed/");
        CHECK_INT(ask("GET", i % 2 ? t : "/static/../listed/", &A), ==, 200);
        CHECK_CONTAINS(A.text, "Index of /listed/");
        CHECK_INT(ask("GET", "/plain/", &A), ==, 200);
        CHECK_CONTAINS(A.text, "Index of /plain/");
    }
}

int main(void)
{
    make_tree();
    TU_RUN(test_errors, 30);
    start();
    TU_RUN(test_prefix_mount, 30);
    TU_RUN(test_options, 30);
    TU_RUN(test_listing_cache, 30);
    sockit_http_server_stop(hs);
    CHECK_OK(sockit_http_server_wait(hs));
    sockit_http_server_free(hs);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK_OK(system(cmd));
    return tu_done();
}
