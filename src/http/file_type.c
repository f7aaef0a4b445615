/*
 * What a static file is sent as: its Content-Type from a built-in extension table, and which
 * precompressed sibling (file.br, file.gz) the client's Accept-Encoding allows.
 * Contracts in internal/http_file.h.
 */
#include "internal/core.h"
#include "internal/http_file.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define UTF8 "; charset=utf-8"

/* Sorted by extension (byte order, lower case): bsearch depends on it, and test_http_file checks it. */
static const struct ctype {
    const char *ext, *type;
} types[] = {
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"apng", "image/apng"},
    {"atom", "application/atom+xml"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"c", "text/plain" UTF8},
    {"cjs", "text/javascript" UTF8},
    {"css", "text/css" UTF8},
    {"csv", "text/csv" UTF8},
    {"eot", "application/vnd.ms-fontobject"},
    {"epub", "application/epub+zip"},
    {"flac", "audio/flac"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"h", "text/plain" UTF8},
    {"heic", "image/heic"},
    {"htm", "text/html" UTF8},
    {"html", "text/html" UTF8},
    {"ico", "image/vnd.microsoft.icon"},
    {"ics", "text/calendar" UTF8},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript" UTF8},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"jxl", "image/jxl"},
    {"log", "text/plain" UTF8},
    {"m4a", "audio/mp4"},
    {"m4v", "video/mp4"},
    {"manifest", "application/manifest+json"},
    {"map", "application/json"},
    {"md", "text/markdown" UTF8},
    {"mjs", "text/javascript" UTF8},
    {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpeg", "video/mpeg"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"rss", "application/rss+xml"},
    {"rtf", "application/rtf"},
    {"sh", "text/plain" UTF8},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"toml", "text/plain" UTF8},
    {"ts", "video/mp2t"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain" UTF8},
    {"vtt", "text/vtt" UTF8},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"weba", "audio/webm"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml"},
    {"xml", "text/xml" UTF8},
    {"xz", "application/x-xz"},
    {"yaml", "text/yaml" UTF8},
    {"yml", "text/yaml" UTF8},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
};

size_t sockit__http_content_types(const char ***ext_out)
{
    static const char *exts[sizeof types / sizeof types[0]];
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        exts[i] = types[i].ext;
    *ext_out = exts;
    return sizeof types / sizeof types[0];
}

static int by_ext(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct ctype *)elem)->ext);
}

const char *sockit__http_content_type(const char *name, size_t n)
{
    char ext[16];
    size_t e = n;
    while (e > 0 && name[e - 1] != '.' && name[e - 1] != '/')
        e--;
    if (e == 0 || name[e - 1] != '.' || n - e == 0 || n - e >= sizeof ext)
        return "application/octet-stream";
    for (size_t i = e; i < n; i++) {
        char c = name[i];
        ext[i - e] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
    }
    ext[n - e] = '\0';
    const struct ctype *t = bsearch(ext, types, sizeof types / sizeof types[0], sizeof types[0], by_ext);
    return t ? t->type : "application/octet-stream";
}

/* ---- Accept-Encoding ---------------------------------------------------------------------------- */

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as thousandths; -1 if malformed. */
static int parse_q(const char *p, size_t n)
{
    if (n == 0 || (p[0] != '0' && p[0] != '1')) return -1;
    int q = (p[0] - '0') * 1000, scale = 100;
    if (n == 1) return q;
    if (p[1] != '.' || n > 5) return -1;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (p[i] < '0' || p[i] > '9' || (q == 1000 && p[i] != '0')) return -1;
        q += (p[i] - '0') * scale;
    }
    return q;
}

static int is_token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* One element "coding [OWS ; OWS q=qvalue]" at v[*i..n); -1 if malformed. */
static int parse_coding(const char *v, size_t n, size_t *i, const char **c, size_t *cn, int *q)
{
    size_t s = *i;
    while (*i < n && is_token_char(v[*i]))
        (*i)++;
    if (*i == s) return -1;
    *c = v + s;
    *cn = *i - s;
    *q = 1000;
    while (*i < n && (v[*i] == ' ' || v[*i] == '\t'))
        (*i)++;
    if (*i < n && v[*i] == ';') {
        (*i)++;
        while (*i < n && (v[*i] == ' ' || v[*i] == '\t'))
            (*i)++;
        if (n - *i < 2 || (v[*i] | 0x20) != 'q' || v[*i + 1] != '=') return -1;
        *i += 2;
        s = *i;
        while (*i < n && v[*i] != ',' && v[*i] != ' ' && v[*i] != '\t')
            (*i)++;
        *q = parse_q(v + s, *i - s);
        if (*q < 0) return -1;
    }
    return 0;
}

static int coding_is(const char *c, size_t cn, const char *name)
{
    return cn == strlen(name) && strncasecmp(c, name, cn) == 0;
}

int sockit__http_accept_encoding(const char *v, size_t n, int available)
{
    int qbr = -1, qgz = -1, qstar = -1;
    size_t i = 0;
    if (!v) return 0;
    while (i < n) {
        const char *c;
        size_t cn;
        int q;
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        if (i >= n) break;
        if (parse_coding(v, n, &i, &c, &cn, &q) < 0) return 0;
        if (coding_is(c, cn, "br")) qbr = q;
        else if (coding_is(c, cn, "gzip") || coding_is(c, cn, "x-gzip")) qgz = q;
        else if (coding_is(c, cn, "*")) qstar = q;
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        if (i < n && v[i] != ',') return 0;
    }
    if (qbr < 0) qbr = qstar;
    if (qgz < 0) qgz = qstar;
    if (!(available & SOCKIT__ENC_BR)) qbr = 0;
    if (!(available & SOCKIT__ENC_GZIP)) qgz = 0;
    if (qbr > 0 && qbr >= qgz) return SOCKIT__ENC_BR;
    if (qgz > 0) return SOCKIT__ENC_GZIP;
    return 0;
}
