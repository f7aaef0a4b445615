/*
 * test_http_file.c — the pure units of the static-file handler (src/internal/http_file.h):
 *
 *   - request paths: a table of targets (every traversal form of issue 9: "..", "%2e%2e",
 *     "%2E%2e/", ".%2e", "%2f", "%5c", encoded and raw NUL, backslashes, "//" runs, overlong
 *     UTF-8 "%c0%ae", absolute-form, queries) with the exact output or the exact refusal, from
 *     inputs against a PROT_NONE guard page; then a property check over pseudo-random targets:
 *     every output starts with '/', holds no NUL, no "//", no "." or ".." segment, and fits;
 *   - opening under a root, with openat2 and with the walk: symlinks out (absolute, relative,
 *     through a directory), symlinks in, a FIFO and a device node (refused without blocking),
 *     /dev/zero through a symlink, trailing slashes on files, NOSYMLINKS;
 *   - Range: a table against several sizes, 20+ digit numbers, size 0;
 *   - validators: ETag format, If-None-Match / If-Match lists, HTTP-dates in three forms (and
 *     round trips of the formatter over many instants), the precondition order, If-Range;
 *   - Content-Type (the table is sorted, lookups, case), Accept-Encoding;
 *   - the directory listing: escaping table, awkward names, order, the entry limit.
 */
#include "testutil.h"

#include "internal/http_file.h"

#include <dirent.h>
#include <sys/sysmacros.h>

/* A string literal and its length (so inputs may hold NUL bytes). */
#define IN(s) s, sizeof(s) - 1

/* ---- 1. request paths ----------------------------------------------------------------------------- */

#define OK 0
#define EESC SOCKIT__PATH_EESCAPE
#define ENOTABS SOCKIT__PATH_ENOTABS
#define ENUL SOCKIT__PATH_ENUL
#define ESLASH SOCKIT__PATH_ESLASH
#define EBSL SOCKIT__PATH_EBACKSLASH
#define EABOVE SOCKIT__PATH_EABOVE

static const struct path_case {
    const char *in;
    size_t len;
    int code;         /* OK or the refusal */
    const char *out;  /* the normalised path when OK */
    int slash;        /* trailing_slash */
    const char *query; /* NULL: none */
} path_cases[] = {
    {IN("/"), OK, "/", 1, NULL},
    {IN("/index.html"), OK, "/index.html", 0, NULL},
    {IN("/a/b/c"), OK, "/a/b/c", 0, NULL},
    {IN("/a/b/"), OK, "/a/b/", 1, NULL},
    {IN("/a?x=1&y=2"), OK, "/a", 0, "x=1&y=2"},
    {IN("/a?"), OK, "/a", 0, ""},
    {IN("/?q/../.."), OK, "/", 1, "q/../.."},
    {IN("/a%20b"), OK, "/a b", 0, NULL},
    {IN("/%41%62c"), OK, "/Abc", 0, NULL},
    {IN("/caf%C3%A9"), OK, "/caf\xc3\xa9", 0, NULL},
    {IN("/%252e%252e/x"), OK, "/%2e%2e/x", 0, NULL}, /* decoded once */
    {IN("/a+b"), OK, "/a+b", 0, NULL},               /* '+' is not a space in a path */
    {IN("/a%3Fb"), OK, "/a?b", 0, NULL},
    {IN("/a%23b"), OK, "/a#b", 0, NULL},
    {IN("/.hidden"), OK, "/.hidden", 0, NULL},
    {IN("/...") , OK, "/...", 0, NULL},
    {IN("/..a"), OK, "/..a", 0, NULL},
    {IN("/a.."), OK, "/a..", 0, NULL},
    /* dot-segments that stay inside */
    {IN("/a/./b"), OK, "/a/b", 0, NULL},
    {IN("/a/../b"), OK, "/b", 0, NULL},
    {IN("/a/b/.."), OK, "/a/", 1, NULL},
    {IN("/a/b/../"), OK, "/a/", 1, NULL},
    {IN("/a/."), OK, "/a/", 1, NULL},
    {IN("/."), OK, "/", 1, NULL},
    {IN("/./"), OK, "/", 1, NULL},
    {IN("/a/.."), OK, "/", 1, NULL},
    {IN("/a/%2e%2e/b"), OK, "/b", 0, NULL},
    {IN("/a/%2E%2e/b"), OK, "/b", 0, NULL},
    {IN("/a/.%2e/b"), OK, "/b", 0, NULL},
    {IN("/a/%2e./b"), OK, "/b", 0, NULL},
    {IN("/a/%2e/b"), OK, "/a/b", 0, NULL},
    {IN("/a/b/c/../../d"), OK, "/a/d", 0, NULL},
    /* "//" runs */
    {IN("//"), OK, "/", 1, NULL},
    {IN("//a//b///c"), OK, "/a/b/c", 0, NULL},
    {IN("/a//"), OK, "/a/", 1, NULL},
    {IN("//etc/passwd"), OK, "/etc/passwd", 0, NULL},
    /* overlong UTF-8 for '.' and '/': bytes, never a dot or a slash */
    {IN("/%c0%ae%c0%ae/x"), OK, "/\xc0\xae\xc0\xae/x", 0, NULL},
    {IN("/%c0%af"), OK, "/\xc0\xaf", 0, NULL},
    {IN("/%e0%80%ae"), OK, "/\xe0\x80\xae", 0, NULL},
    {IN("/\xc3\xa9t\xc3\xa9"), OK, "/\xc3\xa9t\xc3\xa9", 0, NULL}, /* raw UTF-8 kept */
    /* absolute-form */
    {IN("http://example.org/a/b?q"), OK, "/a/b", 0, "q"},
    {IN("http://example.org"), OK, "/", 1, NULL},
    {IN("http://example.org?q"), OK, "/", 1, "q"},
    {IN("https://u@h:8443/x/../y"), OK, "/y", 0, NULL},
    {IN("HTTP://h/%2e%2e"), EABOVE, NULL, 0, NULL},
    /* climbing above the root */
    {IN("/.."), EABOVE, NULL, 0, NULL},
    {IN("/../"), EABOVE, NULL, 0, NULL},
    {IN("/../etc/passwd"), EABOVE, NULL, 0, NULL},
    {IN("/a/../.."), EABOVE, NULL, 0, NULL},
    {IN("/a/../../b"), EABOVE, NULL, 0, NULL},
    {IN("/%2e%2e"), EABOVE, NULL, 0, NULL},
    {IN("/%2e%2e/"), EABOVE, NULL, 0, NULL},
    {IN("/%2E%2e/etc/passwd"), EABOVE, NULL, 0, NULL},
    {IN("/.%2e/etc"), EABOVE, NULL, 0, NULL},
    {IN("/%2e./etc"), EABOVE, NULL, 0, NULL},
    {IN("//../x"), EABOVE, NULL, 0, NULL},
    {IN("/./../x"), EABOVE, NULL, 0, NULL},
    {IN("/a/./../../x"), EABOVE, NULL, 0, NULL},
    /* encoded slash and backslash */
    {IN("/%2f"), ESLASH, NULL, 0, NULL},
    {IN("/a%2fb"), ESLASH, NULL, 0, NULL},
    {IN("/..%2f..%2fetc"), ESLASH, NULL, 0, NULL},
    {IN("/%2F"), ESLASH, NULL, 0, NULL},
    {IN("/%5c"), ESLASH, NULL, 0, NULL},
    {IN("/..%5c..%5cwin.ini"), ESLASH, NULL, 0, NULL},
    {IN("/%5C"), ESLASH, NULL, 0, NULL},
    /* raw backslash */
    {IN("/\\"), EBSL, NULL, 0, NULL},
    {IN("/..\\..\\etc"), EBSL, NULL, 0, NULL},
    {IN("/a\\b"), EBSL, NULL, 0, NULL},
    /* NUL */
    {IN("/%00"), ENUL, NULL, 0, NULL},
    {IN("/index.html%00.txt"), ENUL, NULL, 0, NULL},
    {IN("/a\0b"), ENUL, NULL, 0, NULL},
    /* bad escapes and bytes */
    {IN("/%"), EESC, NULL, 0, NULL},
    {IN("/%2"), EESC, NULL, 0, NULL},
    {IN("/%zz"), EESC, NULL, 0, NULL},
    {IN("/%2g"), EESC, NULL, 0, NULL},
    {IN("/%%32%65"), EESC, NULL, 0, NULL},
    {IN("/a%2/b"), EESC, NULL, 0, NULL},
    {IN("/a b"), EESC, NULL, 0, NULL},
    {IN("/a\tb"), EESC, NULL, 0, NULL},
    {IN("/a\rb"), EESC, NULL, 0, NULL},
    {IN("/a\x7f"), EESC, NULL, 0, NULL},
    {IN("/a#frag"), EESC, NULL, 0, NULL},
    /* not starting with '/' */
    {IN(""), ENOTABS, NULL, 0, NULL},
    {IN("*"), ENOTABS, NULL, 0, NULL},
    {IN("a/b"), ENOTABS, NULL, 0, NULL},
    {IN("example.org:443"), ENOTABS, NULL, 0, NULL},
    {IN("?q"), ENOTABS, NULL, 0, NULL},
    {IN("http:/x"), ENOTABS, NULL, 0, NULL},
    {IN(".."), ENOTABS, NULL, 0, NULL},
    {IN("%2e%2e/x"), ENOTABS, NULL, 0, NULL},
    {IN("\\..\\x"), ENOTABS, NULL, 0, NULL},
};

static void test_path_table(void)
{
    size_t ncases = sizeof path_cases / sizeof path_cases[0];
    CHECK_INT(ncases, >=, 60);
    for (size_t k = 0; k < ncases; k++) {
        const struct path_case *c = &path_cases[k];
        char out[512];
        sockit__http_path res;
        char *g = tu_guarded(c->in, c->len);
        TU_CTX("path %s", tu_esc(c->in));
        int r = sockit__http_path_decode(g, c->len, out, sizeof out, &res);
        if (c->code == OK) {
            CHECK_INT(r, ==, (int)strlen(c->out));
            CHECK_STR(out, c->out);
            CHECK_INT(res.len, ==, strlen(c->out));
            CHECK_INT(res.trailing_slash, ==, c->slash);
            if (c->query) {
                CHECK_TRUE(res.query != NULL);
                CHECK_INT(res.query_len, ==, strlen(c->query));
                if (res.query) CHECK_MEM(res.query, c->query, res.query_len);
            } else {
                CHECK_TRUE(res.query == NULL);
            }
            /* the input's length + 2 is always enough; the result's length (no room for the
             * NUL) never is, and nothing is written past cap (guarded output) */
            char *o3 = malloc(c->len + 2);
            CHECK_INT(sockit__http_path_decode(g, c->len, o3, c->len + 2, &res), ==, r);
            free(o3);
            o3 = tu_guarded(out, (size_t)r);
            CHECK_CODE(sockit__http_path_decode(g, c->len, o3, (size_t)r, &res), SOCKIT__PATH_ETOOLONG);
            tu_guarded_free(o3, (size_t)r);
        } else {
            CHECK_CODE(r, c->code);
            CHECK_CONTAINS(sockit_errmsg(), "request path");
            CHECK_INT(sockit__http_path_status(r), ==, r == EABOVE ? 403 : 400);
        }
        tu_guarded_free(g, c->len);
    }
    CHECK_INT(sockit__http_path_status(SOCKIT__PATH_ETOOLONG), ==, 414);
}

/* The invariants every accepted path holds (written with strstr, unlike the fuzzer's walk over
 * the segments, so that the two checks are independent). */
static int path_sound(const char *p, size_t n)
{
    if (n == 0 || p[0] != '/' || strlen(p) != n) return 0;
    if (strstr(p, "//") || strchr(p, '\\') || strstr(p, "/./") || strstr(p, "/../")) return 0;
    if ((n >= 2 && !strcmp(p + n - 2, "/.")) || (n >= 3 && !strcmp(p + n - 3, "/.."))) return 0;
    return 1;
}

static void test_path_property(void)
{
    static const char *const atoms[] = {"/", "/", "/", ".", "..", "%2e", "%2E", "a", "b", "%2f",
                                        "%5c", "\\", "%00", "%", "%c0%ae", "?", "//", "x.y", "%41"};
    const size_t na = sizeof atoms / sizeof atoms[0];
    uint64_t seed = 12345;
    int accepted = 0, refused = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char in[256];
        size_t n = 0;
        unsigned char pick[16];
        tu_fill(pick, sizeof pick, seed++);
        if (pick[0] & 1) in[n++] = '/';
        for (int k = 1; k < 16 && n < 200; k++) {
            const char *a = atoms[pick[k] % na];
            memcpy(in + n, a, strlen(a));
            n += strlen(a);
        }
        char out[260];
        sockit__http_path res;
        char *g = tu_guarded(in, n);
        int r = sockit__http_path_decode(g, n, out, sizeof out, &res);
        if (r >= 0) {
            accepted++;
            if (!path_sound(out, (size_t)r)) {
                TU_CTX("input %.*s", (int)n, in);
                CHECK_TRUE(path_sound(out, (size_t)r));
            }
            if (res.trailing_slash != (out[r - 1] == '/')) CHECK_INT(res.trailing_slash, ==, out[r - 1] == '/');
        } else {
            refused++;
        }
        tu_guarded_free(g, n);
    }
    CHECK_INT(accepted, >, 1000);
    CHECK_INT(refused, >, 1000);
}

/* ---- 2. opening under a root ----------------------------------------------------------------------- */

static char root[256];
static int rootfd = -1;

static void mk(const char *rel, const char *content)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    CHECK_TRUE(f != NULL);
    if (f) {
        fputs(content, f);
        fclose(f);
    }
}

static void mkd(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    CHECK_OK(mkdir(p, 0755));
}

static void lnk(const char *target, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    CHECK_OK(symlink(target, p));
}

static void setup_root(void)
{
    char outside[300];
    CHECK_TRUE(tu_tempdir(root, sizeof root)[0] != '\0');
    /* root/www is the served root; root/secret is outside it */
    snprintf(outside, sizeof outside, "%s/secret", root);
    FILE *f = fopen(outside, "w");
    if (f) {
        fputs("secret", f);
        fclose(f);
    }
    char sdir[300];
    snprintf(sdir, sizeof sdir, "%s/sdir", root);
    mkdir(sdir, 0755);
    snprintf(root + strlen(root), sizeof root - strlen(root), "/www");
    CHECK_OK(mkdir(root, 0755));
    mk("index.html", "<h1>hi</h1>");
    mkd("sub");
    mk("sub/a.txt", "aaa");
    mkd("sub/deeper");
    mk("sub/deeper/d.txt", "ddd");
    lnk("../secret", "rel_out");                 /* relative, climbs out */
    lnk("sub/../../secret", "rel_out2");         /* relative, through a directory */
    lnk(outside, "abs_out");                     /* absolute, outside */
    lnk("/dev/zero", "zero");                    /* a device, absolute */
    lnk("../sdir", "dir_out");                   /* a directory outside */
    lnk("sub/a.txt", "in_file");                 /* inside */
    lnk("sub", "in_dir");                        /* a directory inside */
    lnk("../index.html", "sub/up_in");           /* climbs, but stays inside */
    lnk("deeper/../a.txt", "sub/round");         /* down and back up, inside */
    char abs_in[512];
    snprintf(abs_in, sizeof abs_in, "%s/index.html", root);
    lnk(abs_in, "abs_in");                       /* absolute, to a file inside: still refused */
    lnk("loop1", "loop2");
    lnk("loop2", "loop1");
    lnk("nonexistent", "dangling");
    char p[512];
    snprintf(p, sizeof p, "%s/fifo", root);
    CHECK_OK(mkfifo(p, 0644));
    snprintf(p, sizeof p, "%s/null", root);
    if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) != 0) /* /dev/null's numbers; root only */
        TU_SKIP("mknod: %s (device node case runs as root only)", strerror(errno));
    snprintf(p, sizeof p, "%s/noread.txt", root);
    f = fopen(p, "w");
    if (f) {
        fputs("x", f);
        fclose(f);
    }
    chmod(p, 0);
    rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK_TRUE(rootfd >= 0);
}

static void teardown_root(void)
{
    char cmd[600];
    close(rootfd);
    *strrchr(root, '/') = '\0';
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK_OK(system(cmd));
}

static const struct open_case {
    const char *path;
    int code;       /* 0: opens */
    int dir;        /* when it opens: a directory */
    const char *content;
    int nosym_code; /* with SOCKIT__FILE_NOSYMLINKS */
} open_cases[] = {
    {"/", 0, 1, NULL, 0},
    {"/index.html", 0, 0, "<h1>hi</h1>", 0},
    {"/sub/", 0, 1, NULL, 0},
    {"/sub", 0, 1, NULL, 0},
    {"/sub/a.txt", 0, 0, "aaa", 0},
    {"/sub/deeper/d.txt", 0, 0, "ddd", 0},
    {"/missing", -ENOENT, 0, NULL, -ENOENT},
    {"/sub/missing/x", -ENOENT, 0, NULL, -ENOENT},
    {"/index.html/x", -ENOTDIR, 0, NULL, -ENOTDIR},
    {"/index.html/", -ENOTDIR, 0, NULL, -ENOTDIR},
    {"/rel_out", -EXDEV, 0, NULL, -ELOOP},
    {"/rel_out2", -EXDEV, 0, NULL, -ELOOP},
    {"/abs_out", -EXDEV, 0, NULL, -ELOOP},
    {"/zero", -EXDEV, 0, NULL, -ELOOP},
    {"/abs_in", -EXDEV, 0, NULL, -ELOOP},
    {"/sub/../../secret", -EXDEV, 0, NULL, -EXDEV}, /* not a decoded path, but never out */
    {"/in_dir/../index.html", 0, 0, "<h1>hi</h1>", -ELOOP},
    {"/dir_out", -EXDEV, 0, NULL, -ELOOP},
    {"/dir_out/", -EXDEV, 0, NULL, -ELOOP},
    {"/in_file", 0, 0, "aaa", -ELOOP},
    {"/in_dir/a.txt", 0, 0, "aaa", -ELOOP},
    {"/in_dir/", 0, 1, NULL, -ELOOP},
    {"/sub/up_in", 0, 0, "<h1>hi</h1>", -ELOOP},
    {"/sub/round", 0, 0, "aaa", -ELOOP},
    {"/loop1", -ELOOP, 0, NULL, -ELOOP},
    {"/dangling", -ENOENT, 0, NULL, -ELOOP},
    {"/fifo", -EPERM, 0, NULL, -EPERM},
};

static void check_open_case(const struct open_case *c, int flags)
{
    struct stat st;
    int want = (flags & SOCKIT__FILE_NOSYMLINKS) ? c->nosym_code : c->code;
    TU_CTX("open %s flags %d", c->path, flags);
    int fd = sockit__file_open_under(rootfd, c->path, flags, &st);
    if (want != 0) {
        CHECK_CODE(fd, want);
        if (fd >= 0) close(fd);
        CHECK_INT(sockit__file_open_status(want), ==, want == -ENOENT || want == -ENOTDIR ? 404 : 403);
        return;
    }
    CHECK_INT(fd, >=, 0);
    if (fd < 0) return;
    CHECK_INT(tu_cloexec(fd), ==, 1);
    CHECK_INT(S_ISDIR(st.st_mode) ? 1 : 0, ==, c->dir);
    if (c->content) {
        char buf[64] = {0};
        CHECK_INT(read(fd, buf, sizeof buf - 1), ==, (ssize_t)strlen(c->content));
        CHECK_STR(buf, c->content);
        CHECK_INT(st.st_size, ==, (off_t)strlen(c->content));
    }
    close(fd);
}

static void test_open_under(void)
{
    setup_root();
    int fds0 = tu_count_fds();
    static const int modes[] = {0, SOCKIT__FILE_WALK, SOCKIT__FILE_NOSYMLINKS,
                                SOCKIT__FILE_WALK | SOCKIT__FILE_NOSYMLINKS};
    for (size_t m = 0; m < 4; m++)
        for (size_t k = 0; k < sizeof open_cases / sizeof open_cases[0]; k++)
            check_open_case(&open_cases[k], modes[m]);
    /* a device node inside the root: refused, never opened for reading */
    struct stat st;
    char p[512];
    snprintf(p, sizeof p, "%s/null", root);
    if (lstat(p, &st) == 0) {
        CHECK_CODE(sockit__file_open_under(rootfd, "/null", 0, &st), -EPERM);
        CHECK_CODE(sockit__file_open_under(rootfd, "/null", SOCKIT__FILE_WALK, &st), -EPERM);
    }
    /* a file without read permission: refused unless we are root (root bypasses modes) */
    for (int m = 0; m < 2; m++) {
        int fd = sockit__file_open_under(rootfd, "/noread.txt", m ? SOCKIT__FILE_WALK : 0, &st);
        if (geteuid() == 0) {
            CHECK_INT(fd, >=, 0);
            if (fd >= 0) close(fd);
        } else {
            CHECK_CODE(fd, -EACCES);
        }
    }
    CHECK_INT(tu_count_fds(), ==, fds0); /* nothing leaked on any path */
    teardown_root();
}

/* ---- 3. Range ----------------------------------------------------------------------------------- */

static const struct range_case {
    const char *v;
    uint64_t size;
    int status;
    uint64_t first, len;
} range_cases[] = {
    {"bytes=0-0", 10, 206, 0, 1},
    {"bytes=0-9", 10, 206, 0, 10},
    {"bytes=0-99", 10, 206, 0, 10},
    {"bytes=2-5", 10, 206, 2, 4},
    {"bytes=9-9", 10, 206, 9, 1},
    {"bytes=5-", 10, 206, 5, 5},
    {"bytes=0-", 10, 206, 0, 10},
    {"bytes=-3", 10, 206, 7, 3},
    {"bytes=-10", 10, 206, 0, 10},
    {"bytes=-11", 10, 206, 0, 10},
    {"bytes=-99999999999999999999999", 10, 206, 0, 10},
    {"bytes=3-99999999999999999999999", 10, 206, 3, 7},
    {"bytes=0-18446744073709551615", 10, 206, 0, 10},
    {"BYTES=1-2", 10, 206, 1, 2},
    {"Bytes=1-2", 10, 206, 1, 2},
    {"bytes=0001-0002", 10, 206, 1, 2},
    {"  bytes=1-2  ", 10, 206, 1, 2},
    {"bytes= 1-2", 10, 206, 1, 2},
    {"bytes=1-2 ,", 10, 206, 1, 2},
    {"bytes=,1-2", 10, 206, 1, 2},
    {"bytes=, ,1-2,,", 10, 206, 1, 2},
    /* unsatisfiable */
    {"bytes=10-", 10, 416, 0, 0},
    {"bytes=10-20", 10, 416, 0, 0},
    {"bytes=-0", 10, 416, 0, 0},
    {"bytes=18446744073709551615-", 10, 416, 0, 0},
    {"bytes=99999999999999999999999-", 10, 416, 0, 0},
    {"bytes=99999999999999999999999-999999999999999999999999", 10, 416, 0, 0},
    {"bytes=0-0", 0, 416, 0, 0},
    {"bytes=0-", 0, 416, 0, 0},
    {"bytes=-1", 0, 416, 0, 0},
    {"bytes=-0", 0, 416, 0, 0},
    /* the whole file: several ranges, other units, invalid */
    {"bytes=0-1,3-4", 10, 200, 0, 0},
    {"bytes=0-1, -2", 10, 200, 0, 0},
    {"bytes=0-0,0-0", 10, 200, 0, 0},
    {"items=0-1", 10, 200, 0, 0},
    {"bytes 0-1", 10, 200, 0, 0},
    {"bytes =0-1", 10, 200, 0, 0},
    {"bytes=", 10, 200, 0, 0},
    {"bytes=,", 10, 200, 0, 0},
    {"bytes=-", 10, 200, 0, 0},
    {"bytes=5-2", 10, 200, 0, 0},
    {"bytes=999999999999999999999-99999999999999999999", 10, 200, 0, 0}, /* last < first */
    {"bytes=1 -2", 10, 200, 0, 0},
    {"bytes=1- 2", 10, 200, 0, 0},
    {"bytes=a-b", 10, 200, 0, 0},
    {"bytes=1-2x", 10, 200, 0, 0},
    {"bytes=--1", 10, 200, 0, 0},
    {"bytes=+1-2", 10, 200, 0, 0},
    {"bytes=0x1-2", 10, 200, 0, 0},
    {"bytes=1-2;x", 10, 200, 0, 0},
    {"", 10, 200, 0, 0},
    {"bytes=0-0", UINT64_MAX, 206, 0, 1},
    {"bytes=-1", UINT64_MAX, 206, UINT64_MAX - 1, 1},
    {"bytes=18446744073709551614-", UINT64_MAX, 206, UINT64_MAX - 1, 1},
};

static void test_range(void)
{
    for (size_t k = 0; k < sizeof range_cases / sizeof range_cases[0]; k++) {
        const struct range_case *c = &range_cases[k];
        size_t n = strlen(c->v);
        char *g = tu_guarded(c->v, n);
        uint64_t first = 77, len = 77;
        TU_CTX("range %s size %llu", tu_esc(c->v), (unsigned long long)c->size);
        CHECK_INT(sockit__http_range(g, n, c->size, &first, &len), ==, c->status);
        if (c->status == 206) {
            CHECK_INT(first, ==, c->first);
            CHECK_INT(len, ==, c->len);
        }
        tu_guarded_free(g, n);
    }
}

/* ---- 4. validators -------------------------------------------------------------------------------- */

static void test_etag(void)
{
    struct stat st;
    char e[SOCKIT__ETAG_MAX];
    memset(&st, 0, sizeof st);
    st.st_ino = 0x1234;
    st.st_size = 0xabc;
    st.st_mtim.tv_sec = 1;
    st.st_mtim.tv_nsec = 5;
    CHECK_INT(sockit__http_etag(e, &st), ==, strlen("\"1234-abc-3b9aca05\""));
    CHECK_STR(e, "\"1234-abc-3b9aca05\"");
    st.st_ino = (ino_t)-1;
    st.st_size = INT64_MAX;
    st.st_mtim.tv_sec = INT32_MAX * 4LL;
    st.st_mtim.tv_nsec = 999999999;
    size_t n = sockit__http_etag(e, &st);
    CHECK_INT(n, <, SOCKIT__ETAG_MAX);
    CHECK_INT(e[0], ==, '"');
    CHECK_INT(e[n - 1], ==, '"');
}

static const struct match_case {
    const char *v;
    int weak;   /* comparison */
    int want;   /* 1, 0, or SOCKIT_EPROTO */
} match_cases[] = {
    {"\"t1\"", 0, 1},
    {"\"t1\"", 1, 1},
    {"*", 0, 1},
    {" * ", 1, 1},
    {"W/\"t1\"", 1, 1},
    {"W/\"t1\"", 0, 0},
    {"\"t2\"", 1, 0},
    {"\"t2\", \"t1\"", 0, 1},
    {"\"t2\",W/\"t1\"", 1, 1},
    {"\"t2\" ,\t\"t3\"", 1, 0},
    {", \"t1\" ,", 0, 1},
    {"\"t\"", 1, 0},
    {"\"t1", 1, SOCKIT_EPROTO},
    {"t1", 1, SOCKIT_EPROTO},
    {"\"t1\" \"t2\"", 1, SOCKIT_EPROTO},
    {"w/\"t1\"", 1, SOCKIT_EPROTO},
    {"W/ \"t1\"", 1, SOCKIT_EPROTO},
    {"\"a b\"", 1, SOCKIT_EPROTO},
    {"", 1, SOCKIT_EPROTO},
    {",", 1, SOCKIT_EPROTO},
    {"*, \"t1\"", 1, SOCKIT_EPROTO},
};

static void test_etag_match(void)
{
    for (size_t k = 0; k < sizeof match_cases / sizeof match_cases[0]; k++) {
        const struct match_case *c = &match_cases[k];
        size_t n = strlen(c->v);
        char *g = tu_guarded(c->v, n);
        TU_CTX("match %s weak %d", tu_esc(c->v), c->weak);
        CHECK_INT(sockit__http_etag_match(g, n, "\"t1\"", c->weak), ==, c->want);
        tu_guarded_free(g, n);
    }
    /* a weak validator of ours never matches strongly */
    CHECK_INT(sockit__http_etag_match(IN("W/\"t1\""), "W/\"t1\"", 0), ==, 0);
    CHECK_INT(sockit__http_etag_match(IN("\"t1\""), "W/\"t1\"", 1), ==, 1);
}

#define T1994 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */

static const struct date_case {
    const char *v;
    int ok;
    int64_t t;
} date_cases[] = {
    {"Sun, 06 Nov 1994 08:49:37 GMT", 1, T1994},
    {"Sunday, 06-Nov-94 08:49:37 GMT", 1, T1994},
    {"Sun Nov  6 08:49:37 1994", 1, T1994},
    {"Sun Nov 06 08:49:37 1994", 1, T1994},
    {"  Sun, 06 Nov 1994 08:49:37 GMT ", 1, T1994},
    {"Thu, 01 Jan 1970 00:00:00 GMT", 1, 0},
    {"Wed, 31 Dec 1969 23:59:59 GMT", 1, -1},
    {"Tue, 29 Feb 2000 12:00:00 GMT", 1, 951825600},
    {"Sat, 31 Dec 9999 23:59:59 GMT", 1, 253402300799},
    {"Tue, 19 Jan 2038 03:14:08 GMT", 1, 2147483648LL},
    {"Sun, 06 Nov 1994 08:49:60 GMT", 1, T1994 + 23}, /* a leap second */
    {"Mon, 06 Nov 1994 08:49:37 GMT", 1, T1994}, /* the weekday is not checked */
    {"Sun, 06 Nov 1994 08:49:37 UTC", 0, 0},
    {"Sun, 6 Nov 1994 08:49:37 GMT", 0, 0},
    {"Sun, 06 nov 1994 08:49:37 GMT", 0, 0},
    {"Sun, 06 Now 1994 08:49:37 GMT", 0, 0},
    {"Sun, 31 Nov 1994 08:49:37 GMT", 0, 0},
    {"Mon, 29 Feb 1900 08:49:37 GMT", 0, 0},
    {"Sun, 00 Nov 1994 08:49:37 GMT", 0, 0},
    {"Sun, 06 Nov 1994 24:00:00 GMT", 0, 0},
    {"Sun, 06 Nov 1994 08:60:00 GMT", 0, 0},
    {"Sun, 06 Nov 1994 08:49:61 GMT", 0, 0},
    {"Sun, 06 Nov 1994 08-49-37 GMT", 0, 0},
    {"Xyz, 06 Nov 1994 08:49:37 GMT", 0, 0},
    {"Sun, 06 Nov 19a4 08:49:37 GMT", 0, 0},
    {"Sunday, 06-Nov-1994 08:49:37 GMT", 0, 0},
    {"Sun, 06-Nov-94 08:49:37 GMT", 0, 0},
    {"Sunday 06-Nov-94 08:49:37 GMT", 0, 0},
    {"Sun Nov  6 08:49:37 94", 0, 0},
    {"Sun Nov 6 08:49:37 1994", 0, 0},
    {"784111777", 0, 0},
    {"", 0, 0},
    {"garbage", 0, 0},
};

static void test_dates(void)
{
    for (size_t k = 0; k < sizeof date_cases / sizeof date_cases[0]; k++) {
        const struct date_case *c = &date_cases[k];
        size_t n = strlen(c->v);
        char *g = tu_guarded(c->v, n);
        int64_t t = 12345;
        TU_CTX("date %s", tu_esc(c->v));
        int r = sockit__http_date_parse(g, n, &t);
        if (c->ok) {
            CHECK_OK(r);
            CHECK_INT(t, ==, c->t);
        } else {
            CHECK_CODE(r, -EINVAL);
        }
        tu_guarded_free(g, n);
    }
    /* RFC 850's two-digit year: within 50 years of now, else the century before */
    int64_t t;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char v[64];
    int yy = (tm.tm_year + 1900 + 60) % 100; /* 60 years ahead: must be read as 40 years ago */
    snprintf(v, sizeof v, "Monday, 01-Jan-%02d 00:00:00 GMT", yy);
    CHECK_OK(sockit__http_date_parse(v, strlen(v), &t));
    CHECK_INT(t, <, (int64_t)now);
    CHECK_INT(t, >, (int64_t)now - 45LL * 366 * 86400);

    /* the formatter against gmtime_r + strftime in the C locale, over many instants */
    char a[SOCKIT__DATE_LEN + 1], b[64];
    uint64_t seed = 99;
    for (int k = 0; k < 20000; k++) {
        int64_t x;
        tu_fill(&x, sizeof x, seed++);
        x = k < 10 ? (int64_t[]){0, -1, 1, 86399, 86400, 951782400, 253402300799, -30610224000LL,
                                 2147483647, 4102444800LL}[k]
                   : (int64_t)((uint64_t)x % (253402300800ULL + 30610224000ULL)) - 30610224000LL;
        /* years 1000..9999: strftime writes year 0 as "0", not "0000" */
        time_t tt = (time_t)x;
        gmtime_r(&tt, &tm);
        strftime(b, sizeof b, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        sockit__http_date_format(a, x);
        if (strcmp(a, b) != 0) {
            TU_CTX("format %lld", (long long)x);
            CHECK_STR(a, b);
            break;
        }
        int64_t back;
        CHECK_OK(sockit__http_date_parse(a, SOCKIT__DATE_LEN, &back));
        if (back != x) {
            CHECK_INT(back, ==, x);
            break;
        }
    }
    CHECK_STR(sockit__http_date_format(a, T1994), "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK_STR(sockit__http_date_format(a, INT64_MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    CHECK_INT(strlen(sockit__http_date_now(a)), ==, SOCKIT__DATE_LEN);
    CHECK_OK(sockit__http_date_parse(a, SOCKIT__DATE_LEN, &t));
    CHECK_INT(t, >=, (int64_t)now - 2);
    CHECK_INT(t, <=, (int64_t)time(NULL) + 2);
}

#define ETAG "\"abc-1-2\""
#define MT T1994
#define D_MT "Sun, 06 Nov 1994 08:49:37 GMT"
#define D_BEFORE "Sun, 06 Nov 1994 08:49:36 GMT"
#define D_AFTER "Sun, 06 Nov 1994 08:49:38 GMT"

static const struct pre_case {
    const char *im, *inm, *ims, *ius, *ir, *range;
    int method, status, range_applies;
} pre_cases[] = {
    {NULL, NULL, NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 200, 0},
    /* If-None-Match */
    {NULL, ETAG, NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 304, 0},
    {NULL, ETAG, NULL, NULL, NULL, NULL, SOCKIT__METHOD_HEAD, 304, 0},
    {NULL, ETAG, NULL, NULL, NULL, NULL, SOCKIT__METHOD_OTHER, 412, 0},
    {NULL, "W/" ETAG, NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 304, 0},
    {NULL, "\"x\", " ETAG, NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 304, 0},
    {NULL, "*", NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 304, 0},
    {NULL, "\"x\"", NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 200, 0},
    {NULL, "bad", NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 200, 0},
    /* If-None-Match wins over If-Modified-Since (which alone would give 304) */
    {NULL, "\"x\"", D_MT, NULL, NULL, NULL, SOCKIT__METHOD_GET, 200, 0},
    /* If-Modified-Since */
    {NULL, NULL, D_MT, NULL, NULL, NULL, SOCKIT__METHOD_GET, 304, 0},
    {NULL, NULL, D_AFTER, NULL, NULL, NULL, SOCKIT__METHOD_HEAD, 304, 0},
    {NULL, NULL, D_BEFORE, NULL, NULL, NULL, SOCKIT__METHOD_GET, 200, 0},
    {NULL, NULL, D_MT, NULL, NULL, NULL, SOCKIT__METHOD_OTHER, 200, 0},
    {NULL, NULL, "yesterday", NULL, NULL, NULL, SOCKIT__METHOD_GET, 200, 0},
    /* If-Match */
    {ETAG, NULL, NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 200, 0},
    {"*", NULL, NULL, NULL, NULL, NULL, SOCKIT__METHOD_OTHER, 200, 0},
    {"\"x\"", NULL, NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 412, 0},
    {"W/" ETAG, NULL, NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 412, 0},
    {"bad", NULL, NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 412, 0},
    /* If-Match wins over If-Unmodified-Since (which alone would give 412) */
    {ETAG, NULL, NULL, D_BEFORE, NULL, NULL, SOCKIT__METHOD_GET, 200, 0},
    /* If-Unmodified-Since */
    {NULL, NULL, NULL, D_BEFORE, NULL, NULL, SOCKIT__METHOD_GET, 412, 0},
    {NULL, NULL, NULL, D_MT, NULL, NULL, SOCKIT__METHOD_GET, 200, 0},
    {NULL, NULL, NULL, "bad date", NULL, NULL, SOCKIT__METHOD_GET, 200, 0},
    /* 412 before 304 */
    {"\"x\"", ETAG, NULL, NULL, NULL, NULL, SOCKIT__METHOD_GET, 412, 0},
    {NULL, ETAG, NULL, D_BEFORE, NULL, NULL, SOCKIT__METHOD_GET, 412, 0},
    /* Range and If-Range */
    {NULL, NULL, NULL, NULL, NULL, "bytes=0-1", SOCKIT__METHOD_GET, 200, 1},
    {NULL, NULL, NULL, NULL, NULL, "bytes=0-1", SOCKIT__METHOD_HEAD, 200, 0},
    {NULL, NULL, NULL, NULL, NULL, "bytes=0-1", SOCKIT__METHOD_OTHER, 200, 0},
    {NULL, NULL, NULL, NULL, ETAG, "bytes=0-1", SOCKIT__METHOD_GET, 200, 1},
    {NULL, NULL, NULL, NULL, "\"x\"", "bytes=0-1", SOCKIT__METHOD_GET, 200, 0},
    {NULL, NULL, NULL, NULL, "W/" ETAG, "bytes=0-1", SOCKIT__METHOD_GET, 200, 0},
    {NULL, NULL, NULL, NULL, D_MT, "bytes=0-1", SOCKIT__METHOD_GET, 200, 1},
    {NULL, NULL, NULL, NULL, D_AFTER, "bytes=0-1", SOCKIT__METHOD_GET, 200, 0},
    {NULL, NULL, NULL, NULL, "junk", "bytes=0-1", SOCKIT__METHOD_GET, 200, 0},
    {NULL, NULL, NULL, NULL, ETAG, NULL, SOCKIT__METHOD_GET, 200, 0},
    {NULL, ETAG, NULL, NULL, NULL, "bytes=0-1", SOCKIT__METHOD_GET, 304, 0},
};

static void test_preconditions(void)
{
    for (size_t k = 0; k < sizeof pre_cases / sizeof pre_cases[0]; k++) {
        const struct pre_case *p = &pre_cases[k];
        sockit__http_cond c;
        memset(&c, 0, sizeof c);
#define SET(f, v)                                                                                 \
    if (v) {                                                                                      \
        c.f = v;                                                                                  \
        c.f##_len = strlen(v);                                                                    \
    }
        SET(if_match, p->im);
        SET(if_none_match, p->inm);
        SET(if_modified_since, p->ims);
        SET(if_unmodified_since, p->ius);
        SET(if_range, p->ir);
        SET(range, p->range);
#undef SET
        int ra = 7;
        TU_CTX("preconditions case %zu", k);
        CHECK_INT(sockit__http_preconditions(&c, p->method, ETAG, MT, &ra), ==, p->status);
        CHECK_INT(ra, ==, p->range_applies);
    }
}

/* ---- 5-6. Content-Type and Accept-Encoding ------------------------------------------------------ */

static void test_content_type(void)
{
    const char **ext;
    size_t n = sockit__http_content_types(&ext);
    CHECK_INT(n, >=, 40);
    for (size_t i = 1; i < n; i++) {
        TU_CTX("table order at %s", ext[i]);
        CHECK_INT(strcmp(ext[i - 1], ext[i]), <, 0);
    }
    static const char *const want[][2] = {
        {"index.html", "text/html; charset=utf-8"}, {"a.HTM", "text/html; charset=utf-8"},
        {"s.css", "text/css; charset=utf-8"}, {"app.js", "text/javascript; charset=utf-8"},
        {"m.mjs", "text/javascript; charset=utf-8"}, {"d.json", "application/json"},
        {"x.js.map", "application/json"}, {"i.svg", "image/svg+xml"}, {"i.PNG", "image/png"},
        {"p.jpg", "image/jpeg"}, {"p.JpEg", "image/jpeg"}, {"a.gif", "image/gif"},
        {"a.webp", "image/webp"}, {"a.avif", "image/avif"}, {"favicon.ico", "image/vnd.microsoft.icon"},
        {"m.wasm", "application/wasm"}, {"r.txt", "text/plain; charset=utf-8"},
        {"R.md", "text/markdown; charset=utf-8"}, {"t.csv", "text/csv; charset=utf-8"},
        {"f.xml", "text/xml; charset=utf-8"}, {"d.pdf", "application/pdf"}, {"v.mp4", "video/mp4"},
        {"v.webm", "video/webm"}, {"a.mp3", "audio/mpeg"}, {"a.ogg", "audio/ogg"},
        {"a.wav", "audio/wav"}, {"f.woff", "font/woff"}, {"f.woff2", "font/woff2"},
        {"f.ttf", "font/ttf"}, {"f.otf", "font/otf"}, {"z.zip", "application/zip"},
        {"x.tar.gz", "application/gzip"}, {"x.tar", "application/x-tar"},
        {"/dir/a.b/c", "application/octet-stream"}, {"/dir.html/noext", "application/octet-stream"},
        {"README", "application/octet-stream"}, {"a.", "application/octet-stream"},
        {".html", "text/html; charset=utf-8"}, {"a.unknownextension", "application/octet-stream"},
        {"a.exe", "application/octet-stream"}, {"", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t len = strlen(want[i][0]);
        char *g = tu_guarded(want[i][0], len);
        TU_CTX("type of %s", want[i][0]);
        CHECK_STR(sockit__http_content_type(g, len), want[i][1]);
        tu_guarded_free(g, len);
    }
    /* every table entry is found through its upper-case form */
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "F.%s", ext[i]);
        for (char *p = name; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        TU_CTX("type of %s", name);
        CHECK_TRUE(strcmp(sockit__http_content_type(name, strlen(name)), "application/octet-stream") != 0);
    }
}

#define BR SOCKIT__ENC_BR
#define GZ SOCKIT__ENC_GZIP

static const struct ae_case {
    const char *v;
    int avail, want;
} ae_cases[] = {
    {"gzip, deflate, br", BR | GZ, BR},
    {"gzip, deflate, br", GZ, GZ},
    {"gzip, deflate, br", BR, BR},
    {"gzip, deflate, br", 0, 0},
    {"gzip", BR | GZ, GZ},
    {"br", BR | GZ, BR},
    {"br;q=0.5, gzip", BR | GZ, GZ},
    {"br;q=1.0, gzip;q=1", BR | GZ, BR},
    {"br;q=0, gzip;q=0", BR | GZ, 0},
    {"br; q=0.001", BR, BR},
    {"br ; q=0.000", BR, 0},
    {"*", BR | GZ, BR},
    {"*;q=0", BR | GZ, 0},
    {"*;q=0, gzip", BR | GZ, GZ},
    {"gzip;q=0, *", BR | GZ, BR},
    {"gzip;q=0, *", GZ, 0},
    {"identity", BR | GZ, 0},
    {"identity;q=0", BR | GZ, 0},
    {"identity;q=0, gzip", BR | GZ, GZ},
    {"x-gzip", GZ, GZ},
    {"GZIP, BR;Q=0.9", BR | GZ, GZ},
    {"", BR | GZ, 0},
    {" , ,gzip", GZ, GZ},
    {"deflate", BR | GZ, 0},
    {"gzip;q=2", GZ, 0},
    {"gzip;q=1.001", GZ, 0},
    {"gzip;q=0.0001", GZ, 0},
    {"gzip;q=", GZ, 0},
    {"gzip;level=1", GZ, 0},
    {"gzip br", BR | GZ, 0},
    {"gz\"ip", GZ, 0},
};

static void test_accept_encoding(void)
{
    for (size_t k = 0; k < sizeof ae_cases / sizeof ae_cases[0]; k++) {
        const struct ae_case *c = &ae_cases[k];
        size_t n = strlen(c->v);
        char *g = tu_guarded(c->v, n);
        TU_CTX("accept-encoding %s avail %d", tu_esc(c->v), c->avail);
        CHECK_INT(sockit__http_accept_encoding(g, n, c->avail), ==, c->want);
        tu_guarded_free(g, n);
    }
    CHECK_INT(sockit__http_accept_encoding(NULL, 0, BR | GZ), ==, 0);
}

/* ---- 7. the directory listing ------------------------------------------------------------------- */

static void test_html_escape(void)
{
    static const char *const cases[][2] = {
        {"plain", "plain"},
        {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
        {"a&b", "a&amp;b"},
        {"\"q\" 'a'", "&quot;q&quot; &#39;a&#39;"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"\xe2\x82\xac\xf0\x9f\x98\x80", "\xe2\x82\xac\xf0\x9f\x98\x80"},
        {"a\xff" "b", "a\xef\xbf\xbd" "b"},
        {"\xc0\xae", "\xef\xbf\xbd\xef\xbf\xbd"},             /* overlong */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"},             /* cut short */
        {"a\nb\tc\x1b\x7f", "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sockit__buf b = {0};
        size_t n = strlen(cases[k][0]);
        char *g = tu_guarded(cases[k][0], n);
        TU_CTX("escape %s", tu_esc(cases[k][0]));
        CHECK_OK(sockit__html_escape(&b, g, n));
        CHECK_STR(b.p ? b.p : "", cases[k][1]);
        free(b.p);
        tu_guarded_free(g, n);
    }
}

static void test_dir_list(void)
{
    char dir[256];
    CHECK_TRUE(tu_tempdir(dir, sizeof dir)[0] != '\0');
    static const char *const files[] = {"b.txt", "A.txt", "with space", "quo\"te", "<script>x",
                                        "pct%20", "hash#", "q?x", "bad\xff", "amp&", "apos'", "z"};
    char p[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        FILE *f = fopen(p, "w");
        CHECK_TRUE(f != NULL);
        if (f) {
            fputs("12345", f);
            fclose(f);
        }
    }
    snprintf(p, sizeof p, "%s/zdir", dir);
    CHECK_OK(mkdir(p, 0755));
    snprintf(p, sizeof p, "%s/adir", dir);
    CHECK_OK(mkdir(p, 0755));
    snprintf(p, sizeof p, "%s/link", dir);
    CHECK_OK(symlink("/etc", p));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK_TRUE(fd >= 0);
    sockit__buf b = {0};
    CHECK_OK(sockit__http_dir_list(fd, "/sub<x>/", 0, &b));
    const char *h = b.p ? b.p : "";
    CHECK_CONTAINS(h, "<title>Index of /sub&lt;x&gt;/</title>");
    CHECK_CONTAINS(h, "<a href=\"../\">../</a>");
    CHECK_CONTAINS(h, "<a href=\"adir/\">adir/</a>");
    CHECK_CONTAINS(h, "<a href=\"with%20space\">with space</a>");
    CHECK_CONTAINS(h, "<a href=\"quo%22te\">quo&quot;te</a>");
    CHECK_CONTAINS(h, "<a href=\"%3Cscript%3Ex\">&lt;script&gt;x</a>");
    CHECK_CONTAINS(h, "<a href=\"pct%2520\">pct%20</a>");
    CHECK_CONTAINS(h, "<a href=\"hash%23\">hash#</a>");
    CHECK_CONTAINS(h, "<a href=\"q%3Fx\">q?x</a>");
    CHECK_CONTAINS(h, "<a href=\"bad%FF\">bad\xef\xbf\xbd</a>");
    CHECK_CONTAINS(h, "<a href=\"amp%26\">amp&amp;</a>");
    CHECK_CONTAINS(h, "<a href=\"apos%27\">apos&#39;</a>");
    CHECK_CONTAINS(h, "<a href=\"link\">link</a>"); /* not followed: no trailing slash */
    CHECK_CONTAINS(h, "<td class=\"s\">5</td>");
    CHECK_CONTAINS(h, "GMT</td>");
    CHECK_CONTAINS(h, "<style>");
    CHECK_TRUE(strstr(h, "<script>") == NULL);
    CHECK_TRUE(strstr(h, "\xff") == NULL);
    /* order: directories first, then byte order */
    const char *order[] = {">adir/<", ">zdir/<", ">A.txt<", ">amp&amp;<", ">b.txt<", ">z<"};
    const char *prev = h;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *at = strstr(h, order[i]);
        TU_CTX("order of %s", order[i]);
        CHECK_TRUE(at != NULL && at > prev);
        if (at) prev = at;
    }
    CHECK_TRUE(strstr(h, "cut at") == NULL);
    free(b.p);
    /* at the root: no ".." link; a limit cuts with a note */
    memset(&b, 0, sizeof b);
    CHECK_OK(sockit__http_dir_list(fd, "/", 3, &b));
    h = b.p ? b.p : "";
    CHECK_TRUE(strstr(h, "href=\"../\"") == NULL);
    CHECK_CONTAINS(h, "Listing cut at 3 entries.");
    int rows = 0;
    for (const char *q = h; (q = strstr(q, "<tr><td>")) != NULL; q++)
        rows++;
    CHECK_INT(rows, ==, 3);
    free(b.p);
    /* the caller's fd is untouched (still open, still usable twice) */
    memset(&b, 0, sizeof b);
    CHECK_OK(sockit__http_dir_list(fd, "/", 0, &b));
    CHECK_CONTAINS(b.p ? b.p : "", ">zdir/<");
    free(b.p);
    CHECK_CODE(sockit__http_dir_list(-1, "/", 0, &b), -EBADF);
    close(fd);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_OK(system(cmd));
}

int main(void)
{
    TU_RUN(test_path_table, 30);
    TU_RUN(test_path_property, 60);
    TU_RUN(test_open_under, 30);
    TU_RUN(test_range, 30);
    TU_RUN(test_etag, 30);
    TU_RUN(test_etag_match, 30);
    TU_RUN(test_dates, 60);
    TU_RUN(test_preconditions, 30);
    TU_RUN(test_content_type, 30);
    TU_RUN(test_accept_encoding, 30);
    TU_RUN(test_html_escape, 30);
    TU_RUN(test_dir_list, 30);
    return tu_done();
}
