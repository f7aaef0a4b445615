/*
 * The static-file handler: sockit_http_static mounts a directory at a URL prefix.
 *
 * One request is: open the decoded path beneath the root (sockit__file_open_under: symlinks out
 * of the root, FIFOs and devices refused), redirect a directory without its final '/', serve its
 * index file or list it, pick a precompressed sibling (file.br / file.gz) that Accept-Encoding
 * allows, evaluate the preconditions in RFC 9110 13.2.2's order, then Range, and answer: a small
 * body read into the same write as the head, a larger one with sendfile. The pure pieces live in
 * file_*.c (internal/http_file.h, docs/http-files.md); this file only puts them in order.
 *
 * A file that resolved to a regular file is kept in the worker's open-file cache (file_cache.c,
 * internal/http_fcache.h) for cache_valid_ms: a hit skips the walk, the sibling probes and the
 * validators' formatting, and makes no system call but the pread or sendfile of the body.
 *
 * The handler is event-driven: it opens and reads files on the worker thread, as nginx does
 * without its thread pools. That blocks only on the file system, never on a peer.
 */
#include "internal/core.h"
#include "internal/http_fcache.h"
#include "internal/http_file.h"
#include "internal/http_server.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Bodies up to this size are read into the head's write (one sendv, no sendfile call). */
#define SMALL_BODY 16384

/* A listing built lately, shared by the mount's workers: the same directory listed again within
 * cache_valid_ms, unchanged (same inode and modification time), is answered from it — many
 * clients listing one big directory cost one build (a 30,000-entry directory takes ~60 ms on the
 * worker), not one each. The bytes are reference-counted: each response in flight holds one. */
#define LISTINGS 4

struct lbuf {
    _Atomic unsigned refs;
    size_t n;
    char p[];
};

struct lentry {
    char *path;           /* the URL path it was built for (it is in the page) */
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    int64_t made;         /* sockit__now() when built */
    struct lbuf *buf;     /* NULL: an empty slot */
};

static void lbuf_unref(void *arg)
{
    struct lbuf *b = arg;
    if (b && atomic_fetch_sub(&b->refs, 1) == 1) free(b);
}

struct mount {
    int rootfd;
    int open_flags;       /* SOCKIT__FILE_* */
    char *index;          /* "" when none */
    int no_listing, no_precompressed;
    char *prefix;         /* without its final '/'; "" for "/" */
    /* The open-file caches, one per worker thread that has served this mount; the lock guards
     * only the list (taken when a thread first meets the mount), never a cache. */
    unsigned id;          /* unique for the process's life: the threads' memo key */
    int cache_valid_ms;   /* 0: no cache */
    unsigned cache_entries;
    pthread_mutex_t lock;
    struct wcache *caches;
    struct lentry listings[LISTINGS]; /* under lock */
    unsigned lnext;
};

struct wcache {
    pthread_t owner;
    sockit__fcache *fc;
    sockit_loop *loop;    /* the owner's: the sweep timer runs there */
    sockit_timer sweep;   /* armed while the cache holds entries */
    struct wcache *next;
};

static void mount_free(void *arg)
{
    struct mount *m = arg;
    while (m->caches) {
        struct wcache *w = m->caches;
        m->caches = w->next;
        sockit__fcache_free(w->fc);
        free(w);
    }
    for (int i = 0; i < LISTINGS; i++) {
        lbuf_unref(m->listings[i].buf);
        free(m->listings[i].path);
    }
    pthread_mutex_destroy(&m->lock);
    if (m->rootfd >= 0) close(m->rootfd);
    free(m->index);
    free(m->prefix);
    free(m);
}

static sockit_str header(const sockit_http_req *r, const char *name)
{
    return sockit_http_req_header(r, name);
}

/* Every validity period while the cache holds entries: expired ones are closed, so descriptors
 * of files nobody asks for any more (perhaps deleted, their blocks still held) go within two
 * periods, and an idle worker holds none. Disarms itself when the cache is empty. */
static void sweep_cb(sockit_loop *loop, sockit_timer *t, void *arg)
{
    struct wcache *w = arg;
    if (sockit__fcache_sweep(w->fc) == 0) sockit_timer_stop(loop, t);
}

/* The calling worker's cache for m, made at its first request; NULL when m has none (or no
 * memory: the request is then served uncached). Each thread remembers its last few mounts by id,
 * which is never reused, so the memo cannot name a freed mount's cache. */
static struct wcache *worker_cache(struct mount *m, sockit_loop *loop)
{
    static _Thread_local struct {
        unsigned id;
        struct wcache *w;
    } memo[4];
    if (!m->cache_valid_ms || !loop) return NULL;
    unsigned slot = m->id % 4;
    if (memo[slot].id == m->id) return memo[slot].w;
    pthread_t self = pthread_self();
    struct wcache *w = NULL;
    pthread_mutex_lock(&m->lock);
    for (w = m->caches; w && !pthread_equal(w->owner, self);) w = w->next;
    if (!w && (w = calloc(1, sizeof *w))) {
        if ((w->fc = sockit__fcache_new(m->cache_entries, (unsigned)m->cache_valid_ms))) {
            w->owner = self;
            w->loop = loop;
            sockit_timer_init(&w->sweep, sweep_cb, w);
            w->next = m->caches;
            m->caches = w;
        } else {
            free(w);
            w = NULL;
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (w) {
        memo[slot].id = m->id;
        memo[slot].w = w;
    }
    return w;
}

/* ---- answers that are not a file ------------------------------------------------------------- */

static int unreserved_or_slash(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("-._~/!$&'()*+,;=:@", ch));
}

/* 301 to the decoded path with a '/' added, percent-encoded again (so no byte of it can end a
 * header line), the raw query kept. */
static int redirect_slash(sockit_http_req *r)
{
    const char *path = sockit_http_path(r);
    sockit_str q = sockit_http_query(r);
    size_t pl = strlen(path);
    if (pl * 3 + q.n + 4 > 8192) return sockit__http_error(r, 414, NULL);
    char *loc = malloc(pl * 3 + q.n + 4), *o = loc;
    if (!loc) return -ENOMEM;
    for (size_t i = 0; i < pl; i++) {
        unsigned char ch = (unsigned char)path[i];
        if (unreserved_or_slash(ch)) {
            *o++ = (char)ch;
        } else {
            o += sprintf(o, "%%%02X", ch);
        }
    }
    *o++ = '/';
    if (q.p) {
        *o++ = '?';
        for (size_t i = 0; i < q.n; i++) /* the parser let only visible ASCII through */
            *o++ = (unsigned char)q.p[i] > 0x20 && q.p[i] != 0x7f ? q.p[i] : '_';
    }
    *o = 0;
    int rc = sockit_http_add_header(r, "Location", loc);
    free(loc);
    if (rc < 0) return rc;
    static const char body[] = "301 Moved Permanently\n";
    return sockit_http_respond(r, 301, "text/plain; charset=utf-8", body, sizeof body - 1);
}

/* A short text answer that keeps the header fields already added (sockit__http_error drops them). */
static int status_text(sockit_http_req *r, int status)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, sockit__http_reason(status));
    return sockit_http_respond(r, status, "text/plain; charset=utf-8", body, (size_t)n);
}

/* The listing of the directory st describes, built for path, if one is recent and unchanged:
 * a reference the caller owns; NULL otherwise. */
static struct lbuf *listing_find(struct mount *m, const struct stat *st, const char *path)
{
    struct lbuf *b = NULL;
    int64_t now = sockit__now(), valid = (int64_t)m->cache_valid_ms * 1000000;
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < LISTINGS && !b; i++) {
        struct lentry *e = &m->listings[i];
        if (e->buf && e->dev == st->st_dev && e->ino == st->st_ino && now - e->made < valid &&
            e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
            strcmp(e->path, path) == 0) {
            b = e->buf;
            atomic_fetch_add(&b->refs, 1);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return b;
}

/* Keeps b (one more reference) for the next requests, in the oldest slot. */
static void listing_keep(struct mount *m, const struct stat *st, const char *path, struct lbuf *b)
{
    char *p = strdup(path);
    if (!p) return;
    atomic_fetch_add(&b->refs, 1);
    pthread_mutex_lock(&m->lock);
    struct lentry *e = &m->listings[m->lnext++ % LISTINGS];
    struct lbuf *old = e->buf;
    free(e->path);
    *e = (struct lentry){p, st->st_dev, st->st_ino, st->st_mtim, sockit__now(), b};
    pthread_mutex_unlock(&m->lock);
    lbuf_unref(old);
}

static int listing(sockit_http_req *r, struct mount *m, int dirfd)
{
    if (m->no_listing) return sockit__http_error(r, 403, NULL);
    const char *path = sockit_http_path(r);
    struct stat st;
    int cached = m->cache_valid_ms > 0 && fstat(dirfd, &st) == 0;
    struct lbuf *lb = cached ? listing_find(m, &st, path) : NULL;
    if (!lb) {
        sockit__buf b = {0};
        int rc = sockit__http_dir_list(dirfd, path, 0, &b);
        if (rc < 0 || !(lb = malloc(sizeof *lb + b.n + 1))) {
            free(b.p);
            return sockit__http_error(r, rc == -EACCES ? 403 : 500, NULL);
        }
        atomic_init(&lb->refs, 1);
        lb->n = b.n;
        memcpy(lb->p, b.p, b.n);
        free(b.p);
        if (cached) listing_keep(m, &st, path, lb);
    }
    (void)sockit_http_add_header(r, "Cache-Control", "no-cache"); /* a listing changes often */
    return sockit_http_respond_borrowed(r, 200, "text/html; charset=utf-8", lb->p, lb->n, lbuf_unref, lb);
}

/* ---- one file --------------------------------------------------------------------------------- */

/* What is known about the file being answered: the representation chosen and its validators. */
struct rep {
    int fd;
    int borrowed;               /* fd is the cache's: never closed or given away here */
    struct stat st;
    const char *ctype;
    const char *encoding;       /* "br", "gzip" or NULL */
    int siblings;               /* SOCKIT__ENC_* that exist */
    char etag[SOCKIT__ETAG_MAX];
    char lastmod[SOCKIT__DATE_LEN + 1];
    const char *head;           /* the cache's header lines for this file, or NULL */
    size_t head_len;
};

/* Opens path + ext beneath the root as a regular file; -1 if it is not one. */
static int open_sibling(const struct mount *m, const char *path, const char *ext, struct stat *st)
{
    char name[4096];
    if ((size_t)snprintf(name, sizeof name, "%s%s", path, ext) >= sizeof name) return -1;
    int fd = sockit__file_open_under(m->rootfd, name, m->open_flags, st);
    if (fd >= 0 && !S_ISREG(st->st_mode)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Which precompressed siblings of path exist (SOCKIT__ENC_*). A name that is itself .br or .gz
 * has none. */
static int probe_siblings(const struct mount *m, const char *path)
{
    size_t pl = strlen(path);
    if (m->no_precompressed || (pl > 3 && (strcmp(path + pl - 3, ".br") == 0 || strcmp(path + pl - 3, ".gz") == 0)))
        return 0;
    int bits = 0;
    struct stat st;
    for (int i = 0; i < 2; i++) {
        int fd = open_sibling(m, path, i == 0 ? ".br" : ".gz", &st);
        if (fd >= 0) {
            bits |= i == 0 ? SOCKIT__ENC_BR : SOCKIT__ENC_GZIP;
            close(fd);
        }
    }
    return bits;
}

/* The file's validators, from rep->st. */
static void rep_validators(struct rep *rep)
{
    sockit__http_etag(rep->etag, &rep->st);
    sockit__http_date_format(rep->lastmod, (int64_t)rep->st.st_mtim.tv_sec);
}

/* Replaces rep's file with the precompressed sibling Accept-Encoding asks for among those that
 * exist (rep->siblings); if it has gone since, the file itself is served. */
static void choose_encoding(sockit_http_req *r, const struct mount *m, const char *path, struct rep *rep)
{
    if (!rep->siblings) return;
    sockit_str ae = header(r, "Accept-Encoding");
    int e = sockit__http_accept_encoding(ae.p, ae.n, rep->siblings);
    if (e != SOCKIT__ENC_BR && e != SOCKIT__ENC_GZIP) return;
    struct stat st;
    int fd = open_sibling(m, path, e == SOCKIT__ENC_BR ? ".br" : ".gz", &st);
    if (fd < 0) return;
    if (!rep->borrowed) close(rep->fd);
    rep->fd = fd;
    rep->borrowed = 0;
    rep->st = st;
    rep->encoding = e == SOCKIT__ENC_BR ? "br" : "gzip";
    rep->head = NULL; /* they describe the file, not the sibling */
    rep_validators(rep);
}

/* The precondition and Range fields, in one pass over the request's header fields. */
static void cond_from(const sockit_http_req *r, sockit__http_cond *c)
{
    size_t n;
    const sockit_http_header *h = sockit_http_req_headers(r, &n);
    for (size_t i = 0; i < n; i++) {
        const char *name = h[i].name.p;
        size_t nl = h[i].name.n;
        const char **f = NULL;
        size_t *fl = NULL;
#define IS(lit) (nl == sizeof lit - 1 && strncasecmp(name, lit, nl) == 0)
        if (nl < 5 || ((name[0] | 0x20) != 'i' && (name[0] | 0x20) != 'r')) continue;
        if (IS("If-Match")) f = &c->if_match, fl = &c->if_match_len;
        else if (IS("If-None-Match")) f = &c->if_none_match, fl = &c->if_none_match_len;
        else if (IS("If-Modified-Since")) f = &c->if_modified_since, fl = &c->if_modified_since_len;
        else if (IS("If-Unmodified-Since")) f = &c->if_unmodified_since, fl = &c->if_unmodified_since_len;
        else if (IS("If-Range")) f = &c->if_range, fl = &c->if_range_len;
        else if (IS("Range")) f = &c->range, fl = &c->range_len;
#undef IS
        if (f && !*f) { /* the first of each, as sockit_http_req_header */
            *f = h[i].value.p;
            *fl = h[i].value.n;
        }
    }
}

/* The validators and representation headers every answer about the file carries (200, 206,
 * 304, 412, 416). */
static int rep_headers(sockit_http_req *r, const struct rep *rep)
{
    int rc = sockit_http_add_header(r, "ETag", rep->etag);
    if (rc >= 0) rc = sockit_http_add_header(r, "Last-Modified", rep->lastmod);
    if (rc >= 0 && rep->siblings) rc = sockit_http_add_header(r, "Vary", "Accept-Encoding");
    return rc;
}

/* The body [off, off + len) of rep's file: read into the head's write when small, else sent
 * with sendfile (of a duplicate when the cache owns the descriptor). Takes rep->fd unless borrowed. */
static int send_range(sockit_http_req *r, struct rep *rep, int status, const char *ctype, uint64_t off,
                      uint64_t len)
{
    int fd = rep->fd, borrowed = rep->borrowed;
    rep->fd = -1;
    /* (HEAD: the server sends the head alone and closes fd; nothing is read.) */
    if (len <= SMALL_BODY && sockit_http_method(r).n == 3) {
        char buf[SMALL_BODY];
        size_t got = 0;
        while (got < len) {
            ssize_t n = pread(fd, buf + got, (size_t)len - got, (off_t)(off + got));
            if (n <= 0) break; /* shrunk under us: sendfile's path reports it the same way */
            got += (size_t)n;
        }
        if (got == len) {
            if (!borrowed) close(fd);
            return sockit_http_respond(r, status, ctype, buf, (size_t)len);
        }
    }
    if (borrowed && (fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) return sockit__http_error(r, 503, NULL);
    return sockit_http_respond_file(r, status, ctype, fd, off, len);
}

static int serve_file(sockit_http_req *r, const struct mount *m, const char *path, struct rep *rep)
{
    const char *ctype = rep->ctype;
    choose_encoding(r, m, path, rep);
    sockit__http_cond c = {0};
    cond_from(r, &c);
    int range_applies = 0;
    int method = sockit_http_method(r).n == 4 ? SOCKIT__METHOD_HEAD : SOCKIT__METHOD_GET;
    int st = sockit__http_preconditions(&c, method, rep->etag, (int64_t)rep->st.st_mtim.tv_sec, &range_applies);
    int rc;
    if (rep->head && rep->head_len) {
        rc = sockit__http_add_lines(r, rep->head, rep->head_len);
    } else {
        rc = rep_headers(r, rep);
        if (rc >= 0 && rep->encoding) rc = sockit_http_add_header(r, "Content-Encoding", rep->encoding);
        if (rc >= 0) rc = sockit_http_add_header(r, "Accept-Ranges", "bytes");
    }
    if (rc < 0) return rc;
    if (st == 304) return sockit_http_respond(r, 304, NULL, NULL, 0);
    if (st == 412) return status_text(r, 412);
    uint64_t size = (uint64_t)rep->st.st_size, first = 0, len = size;
    int status = 200;
    if (range_applies) {
        status = sockit__http_range(c.range, c.range_len, size, &first, &len);
        if (status == 416) {
            char cr[64];
            snprintf(cr, sizeof cr, "bytes */%" PRIu64, size);
            if ((rc = sockit_http_add_header(r, "Content-Range", cr)) < 0) return rc;
            return status_text(r, 416);
        }
        if (status == 206) {
            char cr[96];
            snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, first + len - 1, size);
            if ((rc = sockit_http_add_header(r, "Content-Range", cr)) < 0) return rc;
        } else {
            first = 0;
            len = size;
        }
    }
    return send_range(r, rep, status, ctype, first, len);
}

/* ---- the handler ------------------------------------------------------------------------------ */

static int is_get_or_head(sockit_str m)
{
    return (m.n == 3 && memcmp(m.p, "GET", 3) == 0) || (m.n == 4 && memcmp(m.p, "HEAD", 4) == 0);
}

/* rep from a cache entry: the descriptor stays the cache's. */
static void rep_from(struct rep *rep, const sockit__fentry *e)
{
    rep->fd = e->fd;
    rep->borrowed = 1;
    rep->st = e->st;
    rep->ctype = e->ctype;
    rep->siblings = e->siblings;
    memcpy(rep->etag, e->etag, sizeof rep->etag);
    memcpy(rep->lastmod, e->lastmod, sizeof rep->lastmod);
    rep->head = e->head;
    rep->head_len = e->head_len;
}

/* A regular file just opened as file for the request path key: into the cache when there is one,
 * else described in rep alone. */
static void rep_fill(struct rep *rep, struct mount *m, struct wcache *w, const char *key, const char *file)
{
    rep->siblings = probe_siblings(m, file);
    const sockit__fentry *e = w ? sockit__fcache_put(w->fc, key, file, rep->fd, &rep->st, rep->siblings) : NULL;
    if (e) {
        if (!sockit_timer_active(&w->sweep)) {
            double period = m->cache_valid_ms / 1000.0;
            (void)sockit_timer_start(w->loop, &w->sweep, period, period); /* only -EINVAL */
        }
        rep_from(rep, e);
        return;
    }
    const char *name = strrchr(file, '/');
    name = name ? name + 1 : file;
    rep->ctype = sockit__http_content_type(name, strlen(name));
    rep_validators(rep);
}

static int static_handler(sockit_http_req *r, void *arg)
{
    struct mount *m = arg;
    if (!is_get_or_head(sockit_http_method(r))) return sockit__http_error(r, 405, "Allow: GET, HEAD\r\n");
    /* The path beneath the root: "/" + what follows the prefix (an exact route is the prefix
     * itself without its '/': a directory, redirected below). */
    const char *rest = sockit_http_match(r);
    size_t rl = strlen(rest);
    char *path = malloc(rl + 2 + strlen(m->index) + 1);
    if (!path) return -ENOMEM;
    path[0] = '/';
    memcpy(path + 1, rest[0] == '/' ? rest + 1 : rest, rl + 1);
    struct rep rep = {.fd = -1};
    int rc;
    size_t keylen = strlen(path);
    struct wcache *w = r->in_pool ? NULL : worker_cache(m, r->loop);
    const sockit__fentry *e = w ? sockit__fcache_get(w->fc, path) : NULL;
    if (e) {
        rep_from(&rep, e);
        rc = serve_file(r, m, e->file, &rep);
        goto done;
    }
    rep.fd = sockit__file_open_under(m->rootfd, path, m->open_flags, &rep.st);
    if (rep.fd < 0) {
        rc = sockit__http_error(r, sockit__file_open_status(rep.fd), NULL);
        goto done;
    }
    if (S_ISDIR(rep.st.st_mode)) {
        const char *full = sockit_http_path(r);
        if (full[strlen(full) - 1] != '/') {
            rc = redirect_slash(r);
            goto done;
        }
        int ifd = -1;
        if (*m->index) {
            size_t pl = strlen(path);
            strcpy(path + pl, m->index); /* path ends with '/' here: full does */
            ifd = sockit__file_open_under(m->rootfd, path, m->open_flags, &rep.st);
            if (ifd >= 0 && !S_ISREG(rep.st.st_mode)) {
                close(ifd);
                ifd = -1;
            }
        }
        if (ifd < 0) {
            rc = listing(r, m, rep.fd);
            goto done;
        }
        close(rep.fd);
        rep.fd = ifd;
    }
    /* The key is the request path; path may have the index name appended. */
    char saved = path[keylen];
    path[keylen] = 0;
    char *file = saved ? malloc(strlen(path) + strlen(m->index) + 1) : path;
    if (!file) {
        rc = -ENOMEM;
        goto done;
    }
    if (saved) {
        strcpy(file, path);
        strcat(file, m->index);
    }
    rep_fill(&rep, m, w, path, file);
    rc = serve_file(r, m, file, &rep);
    if (file != path) free(file);
done:
    if (rep.fd >= 0 && !rep.borrowed) close(rep.fd);
    free(path);
    return rc;
}

/* 1024 entries per worker, as nginx's "open_file_cache max=1000", fewer when the descriptor limit
 * is low: the caches of all workers together stay well under it. */
static unsigned default_entries(void)
{
    struct rlimit rl;
    unsigned n = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 8 < n)
        n = (unsigned)(rl.rlim_cur / 8);
    return n < 16 ? 16 : n;
}

int sockit_http_static(sockit_http_server *hs, const char *prefix, const char *dir,
                       const sockit_http_static_opts *opts)
{
    static const sockit_http_static_opts dflt = {0};
    if (!hs || !prefix || !dir) return sockit__failmsg(-EINVAL, "http static: NULL argument");
    if (prefix[0] != '/') return sockit__failmsg(-EINVAL, "http static %s: the prefix starts with '/'", prefix);
    if (hs->started) return sockit__failmsg(-EBUSY, "http static %s: the server has started", prefix);
    if (!opts) opts = &dflt;
    if (opts->index && strchr(opts->index, '/'))
        return sockit__failmsg(-EINVAL, "http static: index \"%s\" is a name, not a path", opts->index);
    struct mount *m = calloc(1, sizeof *m);
    if (!m) return sockit__fail(-ENOMEM, "http static");
    size_t pl = strlen(prefix);
    while (pl && prefix[pl - 1] == '/') pl--;
    m->prefix = strndup(prefix, pl);
    m->index = strdup(opts->index ? opts->index : "index.html");
    m->no_listing = opts->no_listing != 0;
    m->no_precompressed = opts->no_precompressed != 0;
    m->open_flags = opts->symlinks == SOCKIT_HTTP_SYMLINKS_NEVER ? SOCKIT__FILE_NOSYMLINKS : 0;
    m->rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    static atomic_uint ids;
    m->id = atomic_fetch_add(&ids, 1) + 1;
    pthread_mutex_init(&m->lock, NULL);
    m->cache_valid_ms = opts->cache_valid_ms < 0 ? 0 : opts->cache_valid_ms ? opts->cache_valid_ms : 1000;
    m->cache_entries = opts->cache_entries > 0 ? (unsigned)opts->cache_entries : default_entries();
    int rc;
    if (!m->prefix || !m->index) {
        rc = sockit__fail(-ENOMEM, "http static");
        goto fail;
    }
    if (m->rootfd < 0) {
        rc = sockit__fail(-errno, "http static: open %s", dir);
        goto fail;
    }
    /* From here the server owns m (freed with it), whatever happens to the routes. */
    if ((rc = sockit__http_on_free(hs, mount_free, m)) < 0) goto fail;
    char *pat = malloc(pl + 3);
    if (!pat) return sockit__fail(-ENOMEM, "http static");
    snprintf(pat, pl + 3, "%s/*", m->prefix);
    rc = sockit_http_route(hs, "GET", pat, static_handler, m);
    if (rc >= 0 && pl) rc = sockit_http_route(hs, "GET", m->prefix, static_handler, m);
    free(pat);
    return rc < 0 ? rc : 0;
fail:
    mount_free(m);
    return rc;
}
