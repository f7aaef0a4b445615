/*
 * Conditional and partial requests for the static-file handler: Range (RFC 9110 14), entity-tags
 * and their comparison (8.8.3), HTTP-dates (5.6.7) and the precondition order (13.2.2).
 * Contracts in internal/http_file.h. Everything here works on the field value as bytes with a
 * length (no NUL needed after it), allocates nothing and keeps no state but the per-thread
 * cache of the current date.
 */
#include "internal/core.h"
#include "internal/http_file.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int is_ows(char c) { return c == ' ' || c == '\t'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* v[*i..n): skips spaces and tabs. */
static void skip_ows(const char *v, size_t n, size_t *i)
{
    while (*i < n && is_ows(v[*i]))
        (*i)++;
}

/* v[0..n) without leading and trailing OWS. */
static void trim(const char **v, size_t *n)
{
    while (*n > 0 && is_ows(**v)) {
        (*v)++;
        (*n)--;
    }
    while (*n > 0 && is_ows((*v)[*n - 1]))
        (*n)--;
}

/* ---- Range ------------------------------------------------------------------------------------ */

/* A run of digits at v[*i..n): its value, saturated at UINT64_MAX, with where its significant
 * digits start and how many there are (for exact comparison of numbers past 2^64). */
typedef struct {
    uint64_t val;
    const char *sig;
    size_t nsig;
} number;

static int parse_number(const char *v, size_t n, size_t *i, number *x)
{
    size_t s = *i;
    x->val = 0;
    while (*i < n && is_digit(v[*i])) {
        unsigned d = (unsigned)(v[*i] - '0');
        x->val = x->val > (UINT64_MAX - d) / 10 ? UINT64_MAX : x->val * 10 + d;
        (*i)++;
    }
    if (*i == s) return -1;
    while (s < *i - 1 && v[s] == '0')
        s++;
    x->sig = v + s;
    x->nsig = *i - s;
    return 0;
}

/* a < b for two numbers of any length. */
static int number_less(const number *a, const number *b)
{
    if (a->nsig != b->nsig) return a->nsig < b->nsig;
    return memcmp(a->sig, b->sig, a->nsig) < 0;
}

/* One range-spec at v[*i..n): *kind 1 for "a-b" / "a-", 2 for "-n"; -1 if it does not parse. */
static int parse_spec(const char *v, size_t n, size_t *i, int *kind, number *a, number *b, int *has_b)
{
    *has_b = 0;
    if (*i < n && v[*i] == '-') {
        (*i)++;
        *kind = 2;
        return parse_number(v, n, i, a);
    }
    *kind = 1;
    if (parse_number(v, n, i, a) < 0 || *i >= n || v[*i] != '-') return -1;
    (*i)++;
    if (*i < n && is_digit(v[*i])) {
        *has_b = 1;
        if (parse_number(v, n, i, b) < 0 || number_less(b, a)) return -1;
    }
    return 0;
}

int sockit__http_range(const char *v, size_t n, uint64_t size, uint64_t *first, uint64_t *len)
{
    size_t i = 0;
    int count = 0, kind = 0, has_b = 0;
    number a = {0, NULL, 0}, b = {0, NULL, 0};
    trim(&v, &n);
    if (n < 6 || strncasecmp(v, "bytes=", 6) != 0) return 200;
    /* range-set = 1#range-spec: elements between OWS "," OWS, empty ones allowed (RFC 9110 5.6.1) */
    for (i = 6; i < n;) {
        skip_ows(v, n, &i);
        if (i < n && v[i] == ',') {
            i++;
            continue;
        }
        if (i >= n) break;
        int k, hb;
        number x = {0, NULL, 0}, y = {0, NULL, 0}; /* set by parse_spec; zeroed for gcc -O3 */
        if (parse_spec(v, n, &i, &k, &x, &y, &hb) < 0) return 200;
        if (++count == 1) {
            kind = k, has_b = hb, a = x, b = y;
        }
        skip_ows(v, n, &i);
        if (i < n && v[i] != ',') return 200;
    }
    if (count != 1) return 200; /* none (invalid) or several (the whole file is a valid answer) */
    if (kind == 2) {
        if (a.val == 0 || size == 0) return 416;
        *len = a.val < size ? a.val : size;
        *first = size - *len;
        return 206;
    }
    if (a.val >= size) return 416;
    uint64_t last = has_b && b.val < size - 1 ? b.val : size - 1;
    *first = a.val;
    *len = last - a.val + 1;
    return 206;
}

/* ---- entity-tags ------------------------------------------------------------------------------ */

size_t sockit__http_etag(char *buf, const struct stat *st)
{
    uint64_t ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
    int r = snprintf(buf, SOCKIT__ETAG_MAX, "\"%llx-%llx-%llx\"", (unsigned long long)st->st_ino,
                     (unsigned long long)st->st_size, (unsigned long long)ns);
    return r > 0 ? (size_t)r : 0;
}

/* One entity-tag at v[*i..n) (RFC 9110 8.8.3): sets its opaque-tag (quotes included) and
 * whether it is weak. -1 if it does not parse. */
static int parse_etag(const char *v, size_t n, size_t *i, const char **tag, size_t *tn, int *weak)
{
    *weak = 0;
    if (n - *i >= 2 && v[*i] == 'W' && v[*i + 1] == '/') {
        *weak = 1;
        *i += 2;
    }
    if (*i >= n || v[*i] != '"') return -1;
    size_t s = (*i)++;
    while (*i < n && v[*i] != '"') {
        unsigned char c = (unsigned char)v[*i];
        if (c < 0x21 || c == 0x7f) return -1; /* etagc = %x21 / %x23-7E / obs-text */
        (*i)++;
    }
    if (*i >= n) return -1;
    (*i)++;
    *tag = v + s;
    *tn = *i - s;
    return 0;
}

/* etag split into its weakness and opaque-tag. */
static void split_etag(const char *etag, const char **tag, size_t *tn, int *weak)
{
    *weak = etag[0] == 'W' && etag[1] == '/';
    *tag = etag + (*weak ? 2 : 0);
    *tn = strlen(*tag);
}

int sockit__http_etag_match(const char *v, size_t n, const char *etag, int weak)
{
    const char *mine, *tag;
    size_t mn, tn, i = 0;
    int mine_weak, tag_weak, found = 0, any = 0;
    trim(&v, &n);
    if (n == 1 && v[0] == '*') return 1;
    split_etag(etag, &mine, &mn, &mine_weak);
    while (i < n) {
        skip_ows(v, n, &i);
        if (i < n && v[i] == ',') {
            i++;
            continue;
        }
        if (i >= n) break;
        if (parse_etag(v, n, &i, &tag, &tn, &tag_weak) < 0) break;
        any = 1;
        if (tn == mn && memcmp(tag, mine, mn) == 0 && (weak || (!tag_weak && !mine_weak))) found = 1;
        skip_ows(v, n, &i);
        if (i < n && v[i] != ',') break;
    }
    if (i < n || !any)
        return sockit__failmsg(SOCKIT_EPROTO, "bad entity-tag list at byte %zu", i);
    return found;
}

/* ---- HTTP-date -------------------------------------------------------------------------------- */

static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const wdays_long[7] = {"Sunday", "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int two(const char *p) { return is_digit(p[0]) && is_digit(p[1]) ? (p[0] - '0') * 10 + (p[1] - '0') : -1; }

static int month_of(const char *p)
{
    for (int m = 0; m < 12; m++)
        if (memcmp(p, months[m], 3) == 0) return m + 1;
    return -1;
}

/* "HH:MM:SS" -> seconds of the day, -1 if malformed or out of range (60 is a leap second). */
static int64_t time_of_day(const char *p)
{
    int h = two(p), mi = two(p + 3), s = two(p + 6);
    if (p[2] != ':' || p[5] != ':' || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return -1;
    return h * 3600 + mi * 60 + s;
}

static int date_value(int64_t y, int m, int d, int64_t tod, int64_t *t)
{
    static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m < 1 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap) || tod < 0) return -EINVAL;
    *t = days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + tod;
    return 0;
}

static int64_t current_year(void)
{
    int64_t y;
    unsigned m, d;
    civil_from_days((int64_t)time(NULL) / 86400, &y, &m, &d);
    return y;
}

static int parse_date(const char *s, size_t n, int64_t *t)
{
    if (n == 29 && s[3] == ',' && s[4] == ' ' && s[7] == ' ' && s[11] == ' ' && s[16] == ' ' &&
        s[25] == ' ' && memcmp(s + 26, "GMT", 3) == 0) { /* IMF-fixdate */
        int wd = -1, y1 = two(s + 12), y2 = two(s + 14);
        for (int k = 0; k < 7; k++)
            if (memcmp(s, wdays[k], 3) == 0) wd = k;
        if (wd < 0 || y1 < 0 || y2 < 0) return -EINVAL;
        return date_value(y1 * 100 + y2, month_of(s + 8), two(s + 5), time_of_day(s + 17), t);
    }
    if (n == 24 && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ') { /* asctime */
        int wd = -1, y1 = two(s + 20), y2 = two(s + 22);
        for (int k = 0; k < 7; k++)
            if (memcmp(s, wdays[k], 3) == 0) wd = k;
        int d = s[8] == ' ' ? (is_digit(s[9]) ? s[9] - '0' : -1) : two(s + 8);
        if (wd < 0 || y1 < 0 || y2 < 0 || d < 0) return -EINVAL;
        return date_value(y1 * 100 + y2, month_of(s + 4), d, time_of_day(s + 11), t);
    }
    for (int k = 0; k < 7; k++) { /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        size_t w = strlen(wdays_long[k]);
        if (n != w + 24 || memcmp(s, wdays_long[k], w) != 0) continue;
        const char *p = s + w;
        if (p[0] != ',' || p[1] != ' ' || p[4] != '-' || p[8] != '-' || p[11] != ' ' || p[20] != ' ' ||
            memcmp(p + 21, "GMT", 3) != 0)
            return -EINVAL;
        int yy = two(p + 9);
        if (yy < 0) return -EINVAL;
        /* RFC 9110 5.6.7: more than 50 years in the future is the most recent such past year. */
        int64_t now = current_year(), y = now - now % 100 + yy;
        if (y > now + 50) y -= 100;
        return date_value(y, month_of(p + 5), two(p + 2), time_of_day(p + 12), t);
    }
    return -EINVAL;
}

int sockit__http_date_parse(const char *s, size_t n, int64_t *t)
{
    trim(&s, &n);
    if (parse_date(s, n, t) == 0) return 0;
    return sockit__failmsg(-EINVAL, "bad HTTP-date (%zu bytes)", n);
}

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

char *sockit__http_date_format(char *buf, int64_t t)
{
    const int64_t lo = days_from_civil(0, 1, 1) * 86400, hi = days_from_civil(9999, 12, 31) * 86400 + 86399;
    t = t < lo ? lo : t > hi ? hi : t;
    int64_t days = (t - (((t % 86400) + 86400) % 86400)) / 86400, y;
    unsigned sod = (unsigned)(t - days * 86400), m, d;
    civil_from_days(days, &y, &m, &d);
    memcpy(buf, wdays[((days % 7) + 11) % 7], 3); /* 1970-01-01 was a Thursday */
    memcpy(buf + 3, ", 00 ", 5);
    put2(buf + 5, d);
    memcpy(buf + 8, months[m - 1], 3);
    buf[11] = ' ';
    put2(buf + 12, (unsigned)(y / 100));
    put2(buf + 14, (unsigned)(y % 100));
    memcpy(buf + 16, " 00:00:00 GMT", 14);
    put2(buf + 17, sod / 3600);
    put2(buf + 20, sod / 60 % 60);
    put2(buf + 23, sod % 60);
    return buf;
}

char *sockit__http_date_now(char *buf)
{
    static __thread int64_t cached_at = INT64_MIN;
    static __thread char cached[SOCKIT__DATE_LEN + 1];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if ((int64_t)ts.tv_sec != cached_at) {
        sockit__http_date_format(cached, (int64_t)ts.tv_sec);
        cached_at = (int64_t)ts.tv_sec;
    }
    memcpy(buf, cached, SOCKIT__DATE_LEN + 1);
    return buf;
}

/* ---- preconditions ---------------------------------------------------------------------------- */

int sockit__http_if_range(const char *v, size_t n, const char *etag, int64_t mtime)
{
    trim(&v, &n);
    if (n > 0 && (v[0] == '"' || v[0] == 'W')) {
        size_t i = 0;
        const char *tag, *mine;
        size_t tn, mn;
        int weak, mine_weak;
        if (parse_etag(v, n, &i, &tag, &tn, &weak) < 0 || i != n || weak) return 0;
        split_etag(etag, &mine, &mn, &mine_weak);
        return !mine_weak && tn == mn && memcmp(tag, mine, tn) == 0;
    }
    int64_t t;
    return sockit__http_date_parse(v, n, &t) == 0 && t == mtime;
}

int sockit__http_preconditions(const sockit__http_cond *c, int method, const char *etag,
                               int64_t mtime, int *range_applies)
{
    int64_t t;
    int get_head = method == SOCKIT__METHOD_GET || method == SOCKIT__METHOD_HEAD;
    *range_applies = 0;
    /* 1-2: If-Match, else If-Unmodified-Since */
    if (c->if_match) {
        if (sockit__http_etag_match(c->if_match, c->if_match_len, etag, 0) != 1) return 412;
    } else if (c->if_unmodified_since &&
               sockit__http_date_parse(c->if_unmodified_since, c->if_unmodified_since_len, &t) == 0 &&
               mtime > t) {
        return 412;
    }
    /* 3-4: If-None-Match, else If-Modified-Since (GET and HEAD only) */
    if (c->if_none_match) {
        if (sockit__http_etag_match(c->if_none_match, c->if_none_match_len, etag, 1) == 1)
            return get_head ? 304 : 412;
    } else if (get_head && c->if_modified_since &&
               sockit__http_date_parse(c->if_modified_since, c->if_modified_since_len, &t) == 0 &&
               mtime <= t) {
        return 304;
    }
    /* 5: Range, for GET, when If-Range (if any) holds */
    if (method == SOCKIT__METHOD_GET && c->range)
        *range_applies = !c->if_range || sockit__http_if_range(c->if_range, c->if_range_len, etag, mtime);
    return 200;
}
