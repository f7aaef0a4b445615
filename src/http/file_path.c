/*
 * Request paths for the static-file handler: decoding and normalising the request-target's path
 * (sockit__http_path_decode), and opening the result beneath a root directory without ever
 * leaving it (sockit__file_open_under). Contracts in internal/http_file.h, design in
 * docs/http-files.md.
 */
#include "internal/core.h"
#include "internal/http_file.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int refuse(int code, const char *why, size_t pos)
{
    return sockit__failmsg(code, "bad request path: %s at byte %zu", why, pos);
}

/* Where the path of an absolute-form target starts ("http://h:1/p" -> "/p"), or 0 for any
 * other form. A scheme is ALPHA *(ALPHA / DIGIT / "+" / "-" / ".") followed by "://". */
static size_t skip_authority(const char *t, size_t len)
{
    size_t i = 0;
    if (len == 0 || !((t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'z')) return 0;
    while (i < len && (((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') ||
                       (t[i] >= '0' && t[i] <= '9') || t[i] == '+' || t[i] == '-' || t[i] == '.'))
        i++;
    if (len - i < 3 || memcmp(t + i, "://", 3) != 0) return 0;
    i += 3;
    while (i < len && t[i] != '/' && t[i] != '?')
        i++;
    return i;
}

/* Decodes one segment t[i..end) into out at o; returns the new o or a refusal. */
static long decode_segment(const char *t, size_t i, size_t end, char *out, size_t o, size_t cap)
{
    for (; i < end; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '%') {
            int h = i + 2 < end ? hexval(t[i + 1]) : -1, l = h >= 0 ? hexval(t[i + 2]) : -1;
            if (h < 0 || l < 0) return refuse(SOCKIT__PATH_EESCAPE, "a bad percent escape", i);
            c = (unsigned char)(h * 16 + l);
            if (c == 0) return refuse(SOCKIT__PATH_ENUL, "an encoded NUL", i);
            if (c == '/' || c == '\\')
                return refuse(SOCKIT__PATH_ESLASH, "an encoded slash or backslash", i);
            i += 2;
        } else if (c == 0) {
            return refuse(SOCKIT__PATH_ENUL, "a NUL", i);
        } else if (c == '\\') {
            return refuse(SOCKIT__PATH_EBACKSLASH, "a backslash", i);
        } else if (c <= 0x20 || c == 0x7f || c == '#') {
            return refuse(SOCKIT__PATH_EESCAPE, "a control byte, space or '#'", i);
        }
        if (o + 2 > cap) /* this byte and the NUL */
            return sockit__failmsg(SOCKIT__PATH_ETOOLONG, "request path longer than %zu bytes", cap);
        out[o++] = (char)c;
    }
    return (long)o;
}

/*
 * One pass: each segment is decoded straight into out after a '/', then dropped ("", "."),
 * popped together with the previous one (".."), or kept. Decoding before the dot test is what
 * makes "%2e%2e" a ".." (it is one, to the file system); decoding once only is what keeps
 * "%252e" a file named "%2e".
 */
int sockit__http_path_decode(const char *target, size_t len, char *out, size_t cap,
                             sockit__http_path *res)
{
    size_t i = skip_authority(target, len), end, o = 0;
    const char *q = memchr(target + i, '?', len - i);
    size_t plen = q ? (size_t)(q - target) : len;
    int slash = 0;

    memset(res, 0, sizeof *res);
    if (q) {
        res->query = q + 1;
        res->query_len = len - plen - 1;
    }
    if (cap < 2) return sockit__failmsg(SOCKIT__PATH_ETOOLONG, "request path buffer too small");
    if (i == plen && i > 0) { /* "http://host" or "http://host?q": the root */
        out[0] = '/';
        out[1] = '\0';
        res->len = 1;
        res->trailing_slash = 1;
        return 1;
    }
    if (i >= plen || target[i] != '/')
        return refuse(SOCKIT__PATH_ENOTABS, "a path not starting with '/'", i);
    while (i < plen) {
        i++; /* the '/' */
        end = i;
        while (end < plen && target[end] != '/')
            end++;
        size_t start = o + 1;
        if (o + 2 > cap)
            return sockit__failmsg(SOCKIT__PATH_ETOOLONG, "request path longer than %zu bytes", cap);
        out[o] = '/';
        long r = decode_segment(target, i, end, out, start, cap);
        if (r < 0) return (int)r;
        size_t n = (size_t)r - start;
        slash = 1;
        if (n == 0 || (n == 1 && out[start] == '.')) {
            /* dropped: out stays at o */
        } else if (n == 2 && out[start] == '.' && out[start + 1] == '.') {
            if (o == 0) return refuse(SOCKIT__PATH_EABOVE, "a \"..\" above the root", i);
            while (o > 0 && out[o - 1] != '/')
                o--;
            o = o > 0 ? o - 1 : 0; /* back to the '/' before the popped segment */
        } else {
            o = (size_t)r;
            slash = 0;
        }
        i = end;
    }
    if (slash || o == 0) out[o++] = '/';
    out[o] = '\0';
    res->len = o;
    res->trailing_slash = out[o - 1] == '/';
    return (int)o;
}

int sockit__http_path_status(int code)
{
    if (code == SOCKIT__PATH_ETOOLONG) return 414;
    if (code == SOCKIT__PATH_EABOVE) return 403;
    return 400;
}

/* ---- opening beneath a root ------------------------------------------------------------------ */

#define MAX_LINKS 40  /* as the kernel's own limit */
#define MAX_DEPTH 256 /* directories held open during a walk */

/* Refuses anything but a regular file or a directory, from an O_PATH descriptor's stat. */
static int check_type(const struct stat *st, const char *path)
{
    if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) return 0;
    return sockit__failmsg(-EPERM, "open \"%s\": not a regular file or directory", path);
}

/* Reopens parent/name for reading and checks it is still the file whose stat is `want` (a swap
 * in between is refused, never followed). O_NONBLOCK so that a FIFO swapped in cannot block the
 * open; it changes nothing for a regular file. */
static int reopen(int parent, const char *name, const struct stat *want, struct stat *st, const char *path)
{
    int fl = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | (S_ISDIR(want->st_mode) ? O_DIRECTORY : 0);
    int fd = openat(parent, name, fl);
    if (fd < 0) return sockit__fail(-errno, "open \"%s\"", path);
    if (fstat(fd, st) < 0 || st->st_dev != want->st_dev || st->st_ino != want->st_ino) {
        close(fd);
        return sockit__failmsg(-EAGAIN, "open \"%s\": changed while being opened", path);
    }
    return fd;
}

static int try_openat2(int rootfd, const char *rel, int flags, struct stat *st, const char *path)
{
    static int absent; /* set once the kernel says it has no openat2 */
    struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    struct stat first;
    if (flags & SOCKIT__FILE_NOSYMLINKS) how.resolve |= RESOLVE_NO_SYMLINKS;
    if (__atomic_load_n(&absent, __ATOMIC_RELAXED)) return -ENOSYS;
    int p = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
    if (p < 0) {
        int e = errno;
        if (e == ENOSYS || e == EPERM) { /* EPERM: a seccomp filter that does not know it */
            __atomic_store_n(&absent, 1, __ATOMIC_RELAXED);
            return -ENOSYS;
        }
        if (e == EXDEV) return sockit__failmsg(-EXDEV, "open \"%s\": leads outside the root", path);
        return sockit__fail(-e, "open \"%s\"", path);
    }
    int r = fstat(p, &first) < 0 ? sockit__fail(-errno, "stat \"%s\"", path) : check_type(&first, path);
    if (r == 0) {
        /* The same resolution again, for reading: an O_PATH fd cannot be read from. */
        how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (S_ISDIR(first.st_mode) ? O_DIRECTORY : 0);
        r = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
        if (r < 0) {
            r = sockit__fail(-errno, "open \"%s\"", path);
        } else if (fstat(r, st) < 0 || st->st_dev != first.st_dev || st->st_ino != first.st_ino) {
            close(r);
            r = sockit__failmsg(-EAGAIN, "open \"%s\": changed while being opened", path);
        }
    }
    close(p);
    return r;
}

/* The walk's state: the directories from the root down (dirs[0] is the root, not ours). */
struct walk {
    int dirs[MAX_DEPTH];
    int depth;
    int links;
};

static void walk_pop(struct walk *w)
{
    if (w->depth > 0) close(w->dirs[w->depth--]);
}

/* Replaces the component at rest[0..clen) by the symlink's target, in place in rest (a buffer
 * of cap bytes holding the remaining path, NUL-terminated). */
static int splice_link(int dir, const char *name, char *rest, size_t clen, size_t cap, const char *path)
{
    char target[PATH_MAX];
    ssize_t t = readlinkat(dir, name, target, sizeof target);
    if (t < 0) return sockit__fail(-errno, "readlink in \"%s\"", path);
    if ((size_t)t >= sizeof target) return sockit__failmsg(-ENAMETOOLONG, "open \"%s\": link too long", path);
    if (t == 0 || target[0] == '/')
        return sockit__failmsg(-EXDEV, "open \"%s\": an absolute symlink leads outside the root", path);
    size_t tail = strlen(rest + clen);
    if ((size_t)t + tail + 1 > cap) return sockit__failmsg(-ENAMETOOLONG, "open \"%s\": path too long", path);
    memmove(rest + t, rest + clen, tail + 1);
    memcpy(rest, target, (size_t)t);
    return 0;
}

/*
 * The walk: rest holds what is left to resolve; each component is opened O_PATH|O_NOFOLLOW in
 * the current directory and looked at. A directory is descended into, ".." climbs (never past
 * the root: that is -EXDEV), a symlink's target replaces the component (relative only), the last
 * component is reopened for reading once its type is known to be safe.
 */
static int walk_open(int rootfd, const char *rel, int flags, struct stat *st, const char *path)
{
    struct walk w = {.depth = 0, .links = 0};
    char rest[PATH_MAX * 2];
    int r = 0;
    if (strlen(rel) >= sizeof rest) return sockit__failmsg(-ENAMETOOLONG, "open \"%s\": too long", path);
    strcpy(rest, rel);
    w.dirs[0] = rootfd;
    for (;;) {
        char *c = rest;
        while (*c == '/')
            c++;
        memmove(rest, c, strlen(c) + 1);
        size_t clen = strcspn(rest, "/");
        int last = rest[clen + strspn(rest + clen, "/")] == '\0';
        char name[NAME_MAX + 1];
        struct stat cst;
        if (clen == 0) { /* the walk ended on a directory (the path was "" or ended in '/') */
            if (fstat(w.dirs[w.depth], &cst) < 0) { r = sockit__fail(-errno, "stat \"%s\"", path); break; }
            r = reopen(w.dirs[w.depth], ".", &cst, st, path);
            break;
        }
        if (clen > NAME_MAX) { r = sockit__failmsg(-ENAMETOOLONG, "open \"%s\": name too long", path); break; }
        memcpy(name, rest, clen);
        name[clen] = '\0';
        if (!strcmp(name, ".")) {
            memmove(rest, rest + clen, strlen(rest + clen) + 1);
            continue;
        }
        if (!strcmp(name, "..")) {
            if (w.depth == 0) { r = sockit__failmsg(-EXDEV, "open \"%s\": leads outside the root", path); break; }
            walk_pop(&w);
            memmove(rest, rest + clen, strlen(rest + clen) + 1);
            continue;
        }
        int fd = openat(w.dirs[w.depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) { r = sockit__fail(-errno, "open \"%s\"", path); break; }
        if (fstat(fd, &cst) < 0) { r = sockit__fail(-errno, "stat \"%s\"", path); close(fd); break; }
        if (S_ISLNK(cst.st_mode)) {
            close(fd);
            if ((flags & SOCKIT__FILE_NOSYMLINKS) || ++w.links > MAX_LINKS) {
                r = sockit__failmsg(-ELOOP, "open \"%s\": %s", path,
                                    w.links > MAX_LINKS ? "too many symlinks" : "a symlink (refused)");
                break;
            }
            r = splice_link(w.dirs[w.depth], name, rest, clen, sizeof rest, path);
            if (r < 0) break;
            continue;
        }
        if (S_ISDIR(cst.st_mode) && !last) {
            if (w.depth + 1 >= MAX_DEPTH) { close(fd); r = sockit__failmsg(-ENAMETOOLONG, "open \"%s\": too deep", path); break; }
            w.dirs[++w.depth] = fd;
            memmove(rest, rest + clen, strlen(rest + clen) + 1);
            continue;
        }
        close(fd);
        if (!S_ISDIR(cst.st_mode) && (!last || rest[clen] == '/')) { r = sockit__failmsg(-ENOTDIR, "open \"%s\": not a directory", path); break; }
        r = check_type(&cst, path);
        if (r == 0) r = reopen(w.dirs[w.depth], name, &cst, st, path);
        break;
    }
    while (w.depth > 0)
        walk_pop(&w);
    return r;
}

int sockit__file_open_under(int rootfd, const char *path, int flags, struct stat *st)
{
    const char *rel = path;
    while (*rel == '/')
        rel++;
    if (!(flags & SOCKIT__FILE_WALK)) {
        int r = try_openat2(rootfd, *rel ? rel : ".", flags, st, path);
        if (r != -ENOSYS) return r;
    }
    return walk_open(rootfd, rel, flags, st, path);
}

int sockit__file_open_status(int code)
{
    switch (code) {
    case -ENOENT:
    case -ENOTDIR:
    case -ENAMETOOLONG:
        return 404;
    case -EACCES:
    case -EPERM:
    case -EXDEV:
    case -ELOOP:
        return 403;
    default:
        return 500;
    }
}
