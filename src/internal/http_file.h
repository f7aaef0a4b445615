/*
 * Private to the library: the pure pieces of the HTTP static-file handler (docs/http-files.md).
 *
 * Each unit here is independent of the server core: it takes bytes (a request-target, a header
 * value, a file's struct stat, a directory fd) and answers, allocating nothing unless it says so.
 * Errors follow the library's model: >= 0 success, a negative code with sockit_errmsg() set.
 * The HTTP server decides which of these become public; they are written so that any could.
 */
#ifndef SOCKIT_INTERNAL_HTTP_FILE_H
#define SOCKIT_INTERNAL_HTTP_FILE_H

#include <sockit/sockit.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* ---- 1. request path: decode, remove dot-segments, refuse what could leave the root --------- */

/* Why a path was refused: each reason has its own code (all answer 400, but EABOVE 403 is also
 * fine; see sockit__http_path_status). The message names the reason and the byte offset. */
#define SOCKIT__PATH_EESCAPE SOCKIT_EBADURL /* '%' not followed by two hex digits, or a raw
                                               control byte, space, DEL or '#' */
#define SOCKIT__PATH_ENOTABS (-EINVAL)      /* the path does not start with '/' ("*", "a/b", "") */
#define SOCKIT__PATH_ENUL (-EILSEQ)         /* a NUL, raw or %00 */
#define SOCKIT__PATH_ESLASH (-EPERM)        /* %2F or %5C: an encoded slash or backslash */
#define SOCKIT__PATH_EBACKSLASH (-EBADMSG)  /* a raw backslash */
#define SOCKIT__PATH_EABOVE (-EACCES)       /* a ".." (plain or encoded) that climbs above "/" */
#define SOCKIT__PATH_ETOOLONG (-ENAMETOOLONG) /* the decoded path does not fit the buffer */

typedef struct sockit__http_path {
    size_t len;                /* bytes in the output buffer, NUL not counted */
    int trailing_slash;        /* the normalised path ends with '/' ("/" itself included) */
    const char *query;         /* after the first '?' of the target (raw, not decoded); NULL if none */
    size_t query_len;
} sockit__http_path;

/*
 * Decodes the path of a request-target (origin-form "/a/b?q", or absolute-form
 * "http://host/a/b?q" whose scheme and authority are skipped) into out[0..cap): percent-decoded
 * once, empty segments ("//") collapsed, "." and ".." segments removed (RFC 3986 5.2.4), so the
 * result starts with '/', holds no NUL, no "//", no "/./" or "/../" segment, and no backslash.
 * Bytes >= 0x80 are kept as they are: "%c0%ae" is the two bytes C0 AE, never '.'.
 * Returns the length (also in res->len; out is NUL-terminated) or one of the SOCKIT__PATH_E*
 * codes above. out is also the working space (a segment is decoded there before a later ".."
 * removes it), so cap = len + 2 is always enough and less may be SOCKIT__PATH_ETOOLONG even
 * when the result would fit. No allocation; out may not overlap target.
 */
int sockit__http_path_decode(const char *target, size_t len, char *out, size_t cap,
                             sockit__http_path *res);

/* The HTTP status to answer a sockit__http_path_decode failure with: 414 for ETOOLONG, 403
 * for EABOVE, 400 for the rest. */
int sockit__http_path_status(int code);

/* ---- 2. open a decoded path under a root directory ----------------------------------------- */

#define SOCKIT__FILE_NOSYMLINKS 0x1 /* refuse every symlink (nginx "disable_symlinks on") */
#define SOCKIT__FILE_WALK 0x2       /* do not try openat2, walk component by component (tests) */

/*
 * Opens path (a sockit__http_path_decode output, "/" for the root itself) beneath rootfd, never
 * outside it: with openat2(RESOLVE_BENEATH) when the kernel has it, else by walking each
 * component with openat(O_PATH|O_NOFOLLOW) and resolving symlinks here. Symlinks are followed
 * while they stay beneath the root; one that leads out (a relative one through "..", or any
 * absolute one, even to a place inside the root, as RESOLVE_BENEATH does) is -EXDEV.
 * Only regular files and directories are opened for reading (O_RDONLY|O_CLOEXEC; a directory also
 * O_DIRECTORY); FIFOs, sockets and device nodes are -EPERM without ever being opened for reading.
 * Returns the fd (the caller closes it) with *st filled, or: -ENOENT, -ENOTDIR (a component that is
 * not a directory), -EACCES (no permission), -EXDEV (escapes the root), -ELOOP (too many links,
 * or any symlink with SOCKIT__FILE_NOSYMLINKS), -EPERM (not a regular file or directory),
 * -ENAMETOOLONG. Blocks only on the file system.
 */
int sockit__file_open_under(int rootfd, const char *path, int flags, struct stat *st);

/* The HTTP status for a sockit__file_open_under failure: 404 for ENOENT/ENOTDIR/ENAMETOOLONG,
 * 403 for the refusals, 500 for anything else. */
int sockit__file_open_status(int code);

/* ---- 3. Range and If-Range ----------------------------------------------------------------- */

/*
 * Evaluates a Range field value (RFC 9110 14.1-14.2) against a representation of `size` bytes.
 * Returns 206 with [*first, *first + *len) for one satisfiable range; 416 when the only range is
 * unsatisfiable (first-pos >= size, a suffix of 0, any range of an empty file); 200 (serve the
 * whole file) for anything else: several ranges, another unit, or a value that does not parse
 * (RFC 9110 14.2: an invalid Range is ignored). Numbers of any length are safe: a first-pos past
 * 2^64-1 is unsatisfiable, a last-pos or suffix past the size is clipped. No allocation.
 */
int sockit__http_range(const char *v, size_t n, uint64_t size, uint64_t *first, uint64_t *len);

/* ---- 4. validators and preconditions -------------------------------------------------------- */

#define SOCKIT__ETAG_MAX 56 /* room for any sockit__http_etag, NUL included */

/* A strong ETag from the inode, size and modification time in nanoseconds, quoted:
 * "\"<ino hex>-<size hex>-<mtime ns hex>\"". Returns its length; buf needs SOCKIT__ETAG_MAX. */
size_t sockit__http_etag(char *buf, const struct stat *st);

/* Whether the If-Match / If-None-Match field value v (a list of entity-tags, or "*") names etag.
 * weak != 0 compares weakly (W/ ignored on both sides), else strongly (a W/ tag never matches).
 * Returns 1 match, 0 no match, SOCKIT_EPROTO when v is not a valid list (with a message). */
int sockit__http_etag_match(const char *v, size_t n, const char *etag, int weak);

#define SOCKIT__DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Parses an HTTP-date in any of its three forms (IMF-fixdate, RFC 850, asctime; RFC 9110 5.6.7)
 * into seconds since the epoch. RFC 850's two-digit year is taken as the one within 50 years
 * of now. Returns 0, or -EINVAL for anything else (callers then ignore the field). */
int sockit__http_date_parse(const char *s, size_t n, int64_t *t);

/* Writes t as IMF-fixdate and a NUL into buf (SOCKIT__DATE_LEN + 1 bytes); returns buf.
 * Pure arithmetic: no locale, no gmtime_r, thread-safe. Years 0..9999 only (clamped). */
char *sockit__http_date_format(char *buf, int64_t t);

/* The current time as IMF-fixdate, formatted once per second per thread; returns buf. */
char *sockit__http_date_now(char *buf);

/* The conditional fields of a request; a NULL pointer is an absent field. */
typedef struct sockit__http_cond {
    const char *if_match, *if_none_match, *if_modified_since, *if_unmodified_since;
    const char *if_range, *range;
    size_t if_match_len, if_none_match_len, if_modified_since_len, if_unmodified_since_len;
    size_t if_range_len, range_len;
} sockit__http_cond;

#define SOCKIT__METHOD_OTHER 0
#define SOCKIT__METHOD_GET 1
#define SOCKIT__METHOD_HEAD 2

/*
 * RFC 9110 13.2.2, in its order, for a representation with the given strong etag and
 * modification time (seconds): If-Match (strong) then, without it, If-Unmodified-Since -> 412;
 * If-None-Match (weak) -> 304 for GET/HEAD, 412 otherwise; without it, If-Modified-Since -> 304
 * for GET/HEAD. Returns 200, 304 or 412. *range_applies is 1 when the method is GET, a Range
 * field is present, the answer is 200 and If-Range (if present) holds; the caller then
 * evaluates sockit__http_range. Invalid dates are ignored; an invalid If-Match list fails (412),
 * an invalid If-None-Match list is ignored.
 */
int sockit__http_preconditions(const sockit__http_cond *c, int method, const char *etag,
                               int64_t mtime, int *range_applies);

/* If-Range (RFC 9110 13.1.5): 1 when the value is a strong entity-tag equal to etag, or an
 * HTTP-date exactly equal to mtime; 0 otherwise (weak tags, invalid values). */
int sockit__http_if_range(const char *v, size_t n, const char *etag, int64_t mtime);

/* ---- 5. Content-Type ------------------------------------------------------------------------ */

/* The Content-Type for a file name (its last extension, case-insensitive, from a built-in table
 * searched in O(log n)): "text/html; charset=utf-8", "image/png", ...;
 * "application/octet-stream" for anything else. Never NULL; a static string. */
const char *sockit__http_content_type(const char *name, size_t n);

/* The table's extensions, in its order (for the test that it is sorted); returns their count. */
size_t sockit__http_content_types(const char ***ext_out);

/* ---- 6. Accept-Encoding for precompressed siblings --------------------------------------- */

#define SOCKIT__ENC_BR 0x1   /* file.br exists */
#define SOCKIT__ENC_GZIP 0x2 /* file.gz exists */

/* Chooses among the available encodings (a mask of SOCKIT__ENC_*) what Accept-Encoding value
 * v allows with the highest q-value (ties: br before gzip); 0 means send the file itself.
 * Understands lists, q-values ("q=0" refuses), "*", "identity" and "x-gzip". A NULL or
 * invalid value chooses 0. */
int sockit__http_accept_encoding(const char *v, size_t n, int available);

/* ---- 7. directory listing ------------------------------------------------------------------ */

typedef struct sockit__buf {
    char *p;     /* malloc'd, NUL-terminated; the caller frees it */
    size_t n;    /* bytes written, NUL not counted */
    size_t cap;
} sockit__buf;

#define SOCKIT__LIST_MAX 100000 /* entries listed at most when max_entries is 0 */

/*
 * An HTML page listing the directory dirfd (not consumed: it is dup'd), shown as urlpath (a
 * decoded path ending in '/'): a ".." link (except at "/"), then directories, then other entries,
 * each group in byte order of the names; hrefs percent-encoded, names HTML-escaped with invalid
 * UTF-8 and control characters shown as U+FFFD; sizes in bytes and modification times in UTC;
 * symlinks are listed by their own lstat (never followed). At most max_entries entries (0: the
 * default), with a note when cut. Appends to *out (zeroed by the caller the first time).
 * Returns 0, -ENOMEM, or -errno from reading the directory.
 */
int sockit__http_dir_list(int dirfd, const char *urlpath, size_t max_entries, sockit__buf *out);

/* Appends s HTML-escaped (&<>"' and, for invalid UTF-8 or control bytes, U+FFFD) to out. */
int sockit__html_escape(sockit__buf *out, const char *s, size_t n);

#endif
