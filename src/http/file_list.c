/*
 * The HTML directory listing of the static-file handler, and the HTML escaping it needs.
 * Contracts in internal/http_file.h. Names are bytes from the file system: nothing in them is
 * trusted, so every name is written twice, percent-encoded into the href and HTML-escaped (with
 * invalid UTF-8 and control characters replaced) into the text.
 */
#include "internal/core.h"
#include "internal/http_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the growable buffer ------------------------------------------------------------------------ */

static int buf_put(sockit__buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return sockit__failmsg(-ENOMEM, "directory listing: out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

static int buf_str(sockit__buf *b, const char *s)
{
    return buf_put(b, s, strlen(s));
}

/* ---- escaping ----------------------------------------------------------------------------------- */

/* The length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return len;
}

int sockit__html_escape(sockit__buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    int r = 0;
    for (size_t i = 0; i < n && r == 0;) {
        unsigned char c = p[i];
        size_t k;
        if (c >= 0x80) {
            k = utf8_len(p + i, n - i);
            r = k ? buf_put(out, s + i, k) : buf_str(out, "\xef\xbf\xbd");
            i += k ? k : 1;
            continue;
        }
        switch (c) {
        case '&': r = buf_str(out, "&amp;"); break;
        case '<': r = buf_str(out, "&lt;"); break;
        case '>': r = buf_str(out, "&gt;"); break;
        case '"': r = buf_str(out, "&quot;"); break;
        case '\'': r = buf_str(out, "&#39;"); break;
        default:
            r = c < 0x20 || c == 0x7f ? buf_str(out, "\xef\xbf\xbd") : buf_put(out, s + i, 1);
        }
        i++;
    }
    return r;
}

/* Appends name percent-encoded (everything but RFC 3986 unreserved), so an href can never be
 * read as a scheme, a query, a fragment or markup. */
static int href_encode(sockit__buf *out, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    int r = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && r == 0; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '.' || c == '_' || c == '~') {
            r = buf_put(out, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            r = buf_put(out, e, 3);
        }
    }
    return r;
}

/* ---- the listing ---------------------------------------------------------------------------------- */

struct entry {
    char *name;
    int dir;
    int other; /* not a regular file or directory: no size shown */
    long long size;
    int64_t mtime;
};

static int by_kind_then_name(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->dir != y->dir) return y->dir - x->dir;
    return strcmp(x->name, y->name);
}

/* Reads up to max entries (lstat'ed, never followed); *cut when there were more. */
static int read_entries(int dirfd, size_t max, struct entry **out, size_t *count, int *cut)
{
    int fd = dup(dirfd); /* closedir closes its fd; dirfd stays the caller's */
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct entry *e = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    if (!d) {
        int r = sockit__fail(-errno, "directory listing");
        if (fd >= 0) close(fd);
        return r;
    }
    rewinddir(d); /* the dup shares the caller's offset */
    *cut = 0;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == max) {
            *cut = 1;
            break;
        }
        if (n == cap) {
            struct entry *g = realloc(e, (cap = cap ? cap * 2 : 64) * sizeof *e);
            if (!g) goto nomem;
            e = g;
        }
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue; /* gone since */
        if (!(e[n].name = strdup(de->d_name))) goto nomem;
        e[n].dir = S_ISDIR(st.st_mode);
        e[n].other = !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode);
        e[n].size = (long long)st.st_size;
        e[n].mtime = (int64_t)st.st_mtim.tv_sec;
        n++;
    }
    closedir(d);
    *out = e;
    *count = n;
    return 0;
nomem:
    closedir(d);
    while (n > 0)
        free(e[--n].name);
    free(e);
    return sockit__failmsg(-ENOMEM, "directory listing: out of memory");
}

static const char head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Index of ";
static const char style[] =
    "</title>\n<style>\n"
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:2em auto;max-width:60em;"
    "padding:0 1em;color:#222;background:#fff}\n"
    "h1{font-size:1.4em;font-weight:600;word-break:break-all}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{text-align:left;padding:.3em .8em;border-bottom:1px solid #eee}\n"
    "th{font-weight:600;border-bottom:2px solid #ccc}\n"
    "td.s,th.s{text-align:right;font-variant-numeric:tabular-nums}\n"
    "td.t{color:#666;white-space:nowrap}\n"
    "tr:hover td{background:#f6f8fa}\n"
    "a{color:#0057b8;text-decoration:none;word-break:break-all}a:hover{text-decoration:underline}\n"
    ".note{color:#a00}\n"
    "@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}a{color:#6ab0ff}"
    "th,td{border-color:#333}tr:hover td{background:#1b1f24}td.t{color:#999}}\n"
    "</style>\n</head>\n<body>\n<h1>Index of ";
static const char thead[] =
    "</h1>\n<table>\n<thead><tr><th>Name</th><th class=\"s\">Size</th><th>Last modified</th></tr></thead>\n<tbody>\n";

static int write_entry(sockit__buf *b, const struct entry *e)
{
    char num[32], date[SOCKIT__DATE_LEN + 1];
    int r = buf_str(b, "<tr><td><a href=\"");
    if (r == 0) r = href_encode(b, e->name);
    if (r == 0) r = buf_str(b, e->dir ? "/\">" : "\">");
    if (r == 0) r = sockit__html_escape(b, e->name, strlen(e->name));
    if (r == 0 && e->dir) r = buf_str(b, "/");
    snprintf(num, sizeof num, "%lld", e->size);
    if (r == 0) r = buf_str(b, "</a></td><td class=\"s\">");
    if (r == 0) r = buf_str(b, e->dir || e->other ? "-" : num);
    if (r == 0) r = buf_str(b, "</td><td class=\"t\">");
    if (r == 0) r = buf_str(b, sockit__http_date_format(date, e->mtime));
    if (r == 0) r = buf_str(b, "</td></tr>\n");
    return r;
}

int sockit__http_dir_list(int dirfd, const char *urlpath, size_t max_entries, sockit__buf *out)
{
    struct entry *e = NULL;
    size_t n = 0, max = max_entries ? max_entries : SOCKIT__LIST_MAX;
    int cut = 0, r = read_entries(dirfd, max, &e, &n, &cut);
    if (r < 0) return r;
    qsort(e, n, sizeof *e, by_kind_then_name);
    size_t ulen = strlen(urlpath);
    r = buf_str(out, head);
    if (r == 0) r = sockit__html_escape(out, urlpath, ulen);
    if (r == 0) r = buf_str(out, style);
    if (r == 0) r = sockit__html_escape(out, urlpath, ulen);
    if (r == 0) r = buf_str(out, thead);
    if (r == 0 && strcmp(urlpath, "/") != 0)
        r = buf_str(out, "<tr><td><a href=\"../\">../</a></td><td class=\"s\">-</td><td class=\"t\"></td></tr>\n");
    for (size_t i = 0; i < n && r == 0; i++)
        r = write_entry(out, &e[i]);
    if (r == 0) r = buf_str(out, "</tbody>\n</table>\n");
    if (r == 0 && cut) {
        char note[96];
        snprintf(note, sizeof note, "<p class=\"note\">Listing cut at %zu entries.</p>\n", max);
        r = buf_str(out, note);
    }
    if (r == 0) r = buf_str(out, "</body>\n</html>\n");
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
    return r;
}
