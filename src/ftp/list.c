/*
 * FTP listings: the MLSD facts parser (RFC 3659 section 7), a tolerant LIST parser (Unix `ls -l`
 * and DOS/IIS formats, in the spirit of D. J. Bernstein's ftpparse), and LIST/NLST/MLSD over a
 * data connection, line by line.
 */
#include "internal/ftp.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- time --------------------------------------------------------------------------------- */

int64_t sockit__ftp_days(int64_t y, int m, int d)
{
    /* H. Hinnant's days_from_civil. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int64_t civil(int y, int mo, int d, int h, int mi, int s)
{
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return -1;
    return sockit__ftp_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

int64_t sockit__ftp_parse_time(const char *s, size_t n)
{
    int y, mo, d, h, mi, sec;
    if (n < 14 || (n > 14 && s[14] != '.')) return -1;
    for (size_t i = 15; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return -1;
    if (digits(s, 4, &y) || digits(s + 4, 2, &mo) || digits(s + 6, 2, &d) ||
        digits(s + 8, 2, &h) || digits(s + 10, 2, &mi) || digits(s + 12, 2, &sec))
        return -1;
    return civil(y, mo, d, h, mi, sec);
}

/* ---- MLSD --------------------------------------------------------------------------------- */

static void entry_init(sockit_ftp_entry *e)
{
    memset(e, 0, sizeof *e);
    e->size = e->mtime = -1;
}

/* A line ends at its first LF; CRs before it go too. */
static size_t trim_eol(const char *line, size_t len)
{
    const char *lf = memchr(line, '\n', len);
    if (lf) len = (size_t)(lf - line);
    while (len && line[len - 1] == '\r') len--;
    return len;
}

static int fact_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

static int64_t number(const char *p, size_t n)
{
    int64_t v = 0;
    if (n == 0 || n > 18) return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i])) return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static int mlsd_type(const char *v, size_t n)
{
    if (fact_is(v, n, "file")) return SOCKIT_FTP_FILE;
    if (fact_is(v, n, "dir")) return SOCKIT_FTP_DIR;
    if (fact_is(v, n, "cdir")) return SOCKIT_FTP_CDIR;
    if (fact_is(v, n, "pdir")) return SOCKIT_FTP_PDIR;
    if (fact_is(v, n, "OS.unix=slink") || (n > 14 && !strncasecmp(v, "OS.unix=slink:", 14)) ||
        fact_is(v, n, "OS.unix=symlink"))
        return SOCKIT_FTP_LINK;
    return SOCKIT_FTP_OTHER;
}

static void mlsd_fact(sockit_ftp_entry *e, const char *k, size_t kn, const char *v, size_t vn)
{
    sockit_str val = {v, vn};
    if (fact_is(k, kn, "type")) e->type = mlsd_type(v, vn);
    else if (fact_is(k, kn, "size") || fact_is(k, kn, "sizd")) e->size = number(v, vn);
    else if (fact_is(k, kn, "modify")) e->mtime = sockit__ftp_parse_time(v, vn);
    else if (fact_is(k, kn, "perm")) e->perm = val;
    else if (fact_is(k, kn, "unique")) e->unique = val;
    else if (fact_is(k, kn, "UNIX.owner") || fact_is(k, kn, "UNIX.uid")) e->owner = val;
    else if (fact_is(k, kn, "UNIX.group") || fact_is(k, kn, "UNIX.gid")) e->group = val;
}

int sockit_ftp_parse_mlsd(const char *line, size_t len, sockit_ftp_entry *e)
{
    if (!e) return sockit__failmsg(-EINVAL, "ftp mlsd: no entry");
    entry_init(e);
    if (!line) return sockit__failmsg(SOCKIT_EPROTO, "ftp mlsd: no line");
    len = trim_eol(line, len);
    const char *sp = memchr(line, ' ', len);
    if (!sp) return sockit__failmsg(SOCKIT_EPROTO, "ftp mlsd: no space before the name");
    size_t fl = (size_t)(sp - line), i = 0;
    /* facts: "name=value;" each, up to the space */
    while (i < fl) {
        const char *semi = memchr(line + i, ';', fl - i);
        size_t end = semi ? (size_t)(semi - line) : fl;
        const char *eq = memchr(line + i, '=', end - i);
        if (!eq || eq == line + i)
            return sockit__failmsg(SOCKIT_EPROTO, "ftp mlsd: a fact without a name or '='");
        size_t kn = (size_t)(eq - (line + i));
        mlsd_fact(e, line + i, kn, eq + 1, (size_t)(line + end - eq - 1));
        i = end + 1;
    }
    e->name.p = sp + 1;
    e->name.n = len - fl - 1;
    if (e->name.n == 0) return sockit__failmsg(SOCKIT_EPROTO, "ftp mlsd: no name");
    return 0;
}

/* ---- LIST --------------------------------------------------------------------------------- */

typedef struct {
    const char *p;
    size_t n;
} tok;

/* Splits at runs of spaces and tabs, at most max tokens; returns the count. */
static size_t tokens(const char *s, size_t len, tok *t, size_t max)
{
    size_t n = 0, i = 0;
    while (n < max) {
        while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i >= len) break;
        t[n].p = s + i;
        while (i < len && s[i] != ' ' && s[i] != '\t') i++;
        t[n].n = (size_t)(t[n].p ? s + i - t[n].p : 0);
        n++;
    }
    return n;
}

static int month_of(const tok *t)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (t->n != 3) return 0;
    for (int m = 0; m < 12; m++)
        if (strncasecmp(t->p, names + m * 3, 3) == 0) return m + 1;
    return 0;
}

static int hhmm(const char *p, size_t n, int *h, int *m)
{
    if (n == 4 && p[1] == ':') return digits(p, 1, h) || digits(p + 2, 2, m) ? -1 : 0;
    if (n == 5 && p[2] == ':') return digits(p, 2, h) || digits(p + 3, 2, m) ? -1 : 0;
    return -1;
}

/* "Jan  2 03:04" (the year inferred from now) or "Jan  2  2023". */
static int64_t unix_date(int mon, const tok *day, const tok *ty, int64_t now)
{
    int d, y, h = 0, mi = 0;
    if (day->n > 2 || digits(day->p, day->n, &d)) return -2;
    if (hhmm(ty->p, ty->n, &h, &mi) == 0) {
        time_t tt = (time_t)now;
        struct tm tm;
        if (!gmtime_r(&tt, &tm)) return -1;
        y = tm.tm_year + 1900;
        int64_t t = civil(y, mon, d, h, mi, 0);
        if (t > now + 86400) t = civil(y - 1, mon, d, h, mi, 0);
        return t;
    }
    if (ty->n == 4 && digits(ty->p, 4, &y) == 0) return civil(y, mon, d, 0, 0, 0);
    return -2;
}

static int unix_type(char c)
{
    switch (c) {
    case '-': return SOCKIT_FTP_FILE;
    case 'd': return SOCKIT_FTP_DIR;
    case 'l': return SOCKIT_FTP_LINK;
    default: return SOCKIT_FTP_OTHER;
    }
}

static int is_mode(const tok *t)
{
    if (t->n < 10 || !strchr("-dlbcpsDn", t->p[0])) return 0;
    for (size_t i = 1; i < 10; i++)
        if (!strchr("-rwxsStTl", t->p[i])) return 0;
    return 1;
}

/* The name after the date: the rest of the line after the time/year token. */
static void unix_name(sockit_ftp_entry *e, const char *line, size_t len, const tok *ty)
{
    const char *p = ty->p + ty->n, *end = line + len;
    while (p < end && *p == ' ') p++;
    e->name.p = p;
    e->name.n = (size_t)(end - p);
    if (e->type == SOCKIT_FTP_LINK) {
        for (const char *q = p; q + 4 <= end; q++) {
            if (memcmp(q, " -> ", 4) == 0) {
                e->name.n = (size_t)(q - p);
                e->target.p = q + 4;
                e->target.n = (size_t)(end - q - 4);
                break;
            }
        }
    }
}

static int parse_unix(const char *line, size_t len, sockit_ftp_entry *e, int64_t now)
{
    tok t[9];
    size_t n = tokens(line, len, t, 9);
    if (n < 6 || !is_mode(&t[0])) return 0;
    /* Find the month: mode [links] owner [group] size MON DD TIME NAME. */
    for (size_t m = 2; m + 3 < n + 1 && m <= 5; m++) {
        int mon = month_of(&t[m]);
        if (!mon || m + 2 >= n) continue;
        int64_t size = number(t[m - 1].p, t[m - 1].n);
        if (size < 0) continue;
        int64_t when = unix_date(mon, &t[m + 1], &t[m + 2], now);
        if (when == -2) continue;
        e->type = unix_type(t[0].p[0]);
        e->perm.p = t[0].p;
        e->perm.n = t[0].n;
        e->size = size;
        e->mtime = when;
        size_t first = m - 1; /* tokens 1 .. first-1: [links] owner [group] */
        size_t k = 1;
        if (first - k >= 2 && number(t[k].p, t[k].n) >= 0) k++; /* the link count */
        if (k < first) e->owner.p = t[k].p, e->owner.n = t[k].n, k++;
        if (k < first) e->group.p = t[k].p, e->group.n = t[k].n;
        unix_name(e, line, len, &t[m + 2]);
        return e->name.n ? 1 : 0;
    }
    return 0;
}

/* "01-02-24  03:04AM  <DIR>  name" or "01-02-2024  03:04PM  1234 name". */
static int parse_dos(const char *line, size_t len, sockit_ftp_entry *e)
{
    tok t[4];
    if (tokens(line, len, t, 4) < 4) return 0;
    int mo, d, y, h, mi;
    if ((t[0].n != 8 && t[0].n != 10) || t[0].p[2] != '-' || t[0].p[5] != '-' ||
        digits(t[0].p, 2, &mo) || digits(t[0].p + 3, 2, &d) || digits(t[0].p + 6, t[0].n - 6, &y))
        return 0;
    if (t[0].n == 8) y += y < 70 ? 2000 : 1900;
    if (t[1].n < 6 || hhmm(t[1].p, t[1].n - 2, &h, &mi)) return 0;
    const char *ap = t[1].p + t[1].n - 2;
    if (!strncasecmp(ap, "PM", 2)) h = h % 12 + 12;
    else if (!strncasecmp(ap, "AM", 2)) h = h % 12;
    else return 0;
    if (t[2].n == 5 && !strncasecmp(t[2].p, "<DIR>", 5)) {
        e->type = SOCKIT_FTP_DIR;
    } else {
        e->type = SOCKIT_FTP_FILE;
        if ((e->size = number(t[2].p, t[2].n)) < 0) return 0;
    }
    if ((e->mtime = civil(y, mo, d, h, mi, 0)) < 0) return 0;
    e->name.p = t[3].p;
    e->name.n = (size_t)(line + len - t[3].p);
    return 1;
}

int sockit__ftp_parse_list_at(const char *line, size_t len, sockit_ftp_entry *e, int64_t now)
{
    if (!e) return sockit__failmsg(-EINVAL, "ftp list: no entry");
    entry_init(e);
    if (!line) return 1;
    len = trim_eol(line, len);
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i == len || (len - i >= 6 && !strncasecmp(line + i, "total ", 6))) return 1;
    if (parse_unix(line, len, e, now) || parse_dos(line, len, e)) return 0;
    entry_init(e);
    return sockit__failmsg(SOCKIT_EPROTO, "ftp list: a line in no known format");
}

int sockit_ftp_parse_list(const char *line, size_t len, sockit_ftp_entry *e)
{
    return sockit__ftp_parse_list_at(line, len, e, (int64_t)time(NULL));
}

/* ---- listings over a data connection ------------------------------------------------------ */

static int read_lines(sockit_ftp *f, sockit__ftp_data *d, const char *what, sockit_ftp_line_fn fn,
                      void *arg, int *local)
{
    sockit_reader *r = NULL;
    int rc = sockit_reader_new(&r, d->s, SOCKIT__FTP_LINE_MAX);
    if (rc < 0) return rc;
    for (;;) {
        const char *line;
        unsigned mark = sockit__errmark();
        ssize_t n = sockit_reader_line_until(r, &line, SOCKIT__FTP_LINE_MAX, sockit__ftp_deadline(f));
        if (n == 0) break;
        if (n == SOCKIT_ETOOLONG) {
            rc = sockit__failmsg(SOCKIT_EPROTO, "%s: a listing line over %d bytes", what,
                                 SOCKIT__FTP_LINE_MAX);
            *local = 1;
            break;
        }
        if (n < 0) {
            rc = sockit__ftp_data_fail(mark, (int)n, what);
            break;
        }
        size_t len = trim_eol(line, (size_t)n);
        memcpy(f->buf, line, len);
        f->buf[len] = 0;
        if ((rc = fn(arg, f->buf, len)) < 0) {
            *local = 1;
            break;
        }
    }
    sockit_reader_free(r);
    return rc < 0 ? rc : 0;
}

static int listing(sockit_ftp *f, const char *op, const char *verb, const char *dir,
                   sockit_ftp_line_fn fn, void *arg)
{
    if (!f || !fn) return sockit__failmsg(-EINVAL, "ftp %s: no session or callback", op);
    char what[300];
    snprintf(what, sizeof what, dir ? "%s %.256s" : "%s", op, dir);
    sockit__ftp_data d;
    int rc = sockit__ftp_data_open(f, &d, what, verb, dir && *dir ? dir : NULL, 0);
    if (rc < 0) return rc;
    int local = 0;
    rc = d.s ? read_lines(f, &d, what, fn, arg, &local) : 0;
    if (local) return sockit__ftp_data_abort(f, &d, rc);
    return sockit__ftp_data_finish(f, &d, what, rc, 0);
}

int sockit_ftp_list(sockit_ftp *f, const char *dir, sockit_ftp_line_fn fn, void *arg)
{
    return listing(f, "list", "LIST", dir, fn, arg);
}

int sockit_ftp_nlst(sockit_ftp *f, const char *dir, sockit_ftp_line_fn fn, void *arg)
{
    return listing(f, "nlst", "NLST", dir, fn, arg);
}

struct entries {
    sockit_ftp_entry_fn fn;
    void *arg;
    int mlsd;  /* else LIST */
    int skip_dots;
};

static int is_dots(const sockit_ftp_entry *e)
{
    return e->type == SOCKIT_FTP_CDIR || e->type == SOCKIT_FTP_PDIR ||
           (e->name.n == 1 && e->name.p[0] == '.') ||
           (e->name.n == 2 && e->name.p[0] == '.' && e->name.p[1] == '.');
}

static int each_line(void *arg, const char *line, size_t len)
{
    struct entries *x = arg;
    sockit_ftp_entry e;
    if (len == 0) return 0;
    int rc = x->mlsd ? sockit_ftp_parse_mlsd(line, len, &e) : sockit_ftp_parse_list(line, len, &e);
    if (rc != 0) return x->mlsd ? rc : 0; /* LIST: lines in no known format are skipped */
    if (x->skip_dots && is_dots(&e)) return 0;
    return x->fn(x->arg, &e);
}

int sockit_ftp_mlsd(sockit_ftp *f, const char *dir, sockit_ftp_entry_fn fn, void *arg)
{
    if (!fn) return sockit__failmsg(-EINVAL, "ftp mlsd: no callback");
    struct entries x = {.fn = fn, .arg = arg, .mlsd = 1};
    return listing(f, "mlsd", "MLSD", dir, each_line, &x);
}

int sockit_ftp_ls(sockit_ftp *f, const char *dir, sockit_ftp_entry_fn fn, void *arg)
{
    if (!f || !fn) return sockit__failmsg(-EINVAL, "ftp ls: no session or callback");
    struct entries x = {.fn = fn, .arg = arg, .skip_dots = 1};
    x.mlsd = (f->features & SOCKIT_FTP_FEAT_MLSD) != 0;
    return listing(f, x.mlsd ? "mlsd" : "list", x.mlsd ? "MLSD" : "LIST", dir, each_line, &x);
}
