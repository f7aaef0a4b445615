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

/* The invariants every accepted path holds. */
static int path_sound(const char *p, size_t n)
{
    if (n == 0 || p[0] != '/' || strlen(p) != n) return 0;
    if (strstr(p, "//") || strchr(p, '\\')) return 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '/') continue;
        size_t e = i + 1;
        while (e < n && p[e] != '/')
            e++;
        size_t seg = e - i - 1;
        if ((seg == 1 && p[i + 1] == '.') || (seg == 2 && p[i + 1] == '.' && p[i + 2] == '.')) return 0;
    }
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

int main(void)
{
    TU_RUN(test_path_table, 30);
    TU_RUN(test_path_property, 60);
    TU_RUN(test_open_under, 30);
    return tu_done();
}
