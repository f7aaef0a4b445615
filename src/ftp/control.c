/*
 * The FTP control connection: the reply parser (RFC 959 section 4.2), sending commands, reading
 * replies within a deadline, and the small parsers of reply texts (229, 227, 150, 257, FEAT).
 */
#include "internal/ftp.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int64_t sockit__ftp_deadline(const sockit_ftp *f)
{
    int64_t dl = f->timeout < 0 ? SOCKIT_DEADLINE_NONE : sockit_deadline_after(f->timeout);
    return f->o.deadline > 0 && f->o.deadline < dl ? f->o.deadline : dl; /* the whole's limit */
}

/* ---- the reply parser --------------------------------------------------------------------- */

static int reply_code(const char *p, size_t n)
{
    if (n < 3 || p[0] < '1' || p[0] > '5' || !isdigit((unsigned char)p[1]) ||
        !isdigit((unsigned char)p[2]))
        return -1;
    return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/* Where the line starting at buf + i ends (just past its LF), 0 if no LF yet, or -1 when the line
 * is over the limit. */
static ssize_t line_end(const char *buf, size_t len, size_t i)
{
    size_t avail = len - i, lim = avail < SOCKIT__FTP_LINE_MAX ? avail : SOCKIT__FTP_LINE_MAX;
    const char *lf = memchr(buf + i, '\n', lim);
    if (lf) return (ssize_t)(lf - buf) + 1;
    return avail >= SOCKIT__FTP_LINE_MAX ? -1 : 0;
}

ssize_t sockit__ftp_parse_reply(const char *buf, size_t len, int *code)
{
    if (!buf) return SOCKIT_EINCOMPLETE;
    /* The first line decides: "ddd " or "ddd\r\n" is the whole reply, "ddd-" opens a multi-line
     * one. It is judged as soon as its first four bytes are there, so noise fails at once. */
    size_t head = len < 4 ? len : 4;
    for (size_t k = 0; k < head; k++) {
        char c = buf[k];
        int ok = k == 0 ? (c >= '1' && c <= '5')
                 : k < 3 ? isdigit((unsigned char)c)
                         : (c == ' ' || c == '-' || c == '\r' || c == '\n');
        if (!ok) return sockit__failmsg(SOCKIT_EPROTO, "ftp: malformed reply (not \"ddd text\")");
    }
    if (len < 4) return SOCKIT_EINCOMPLETE;
    int c = reply_code(buf, len);
    int multi = buf[3] == '-';
    size_t i = 0;
    for (;;) {
        ssize_t e = line_end(buf, len, i);
        if (e < 0) return sockit__failmsg(SOCKIT_EPROTO, "ftp: reply line over %d bytes",
                                          SOCKIT__FTP_LINE_MAX);
        if (e == 0) {
            if (len > SOCKIT__FTP_REPLY_MAX)
                return sockit__failmsg(SOCKIT_EPROTO, "ftp: reply over %d bytes",
                                       SOCKIT__FTP_REPLY_MAX);
            return SOCKIT_EINCOMPLETE;
        }
        size_t start = i;
        i = (size_t)e;
        if (i > SOCKIT__FTP_REPLY_MAX)
            return sockit__failmsg(SOCKIT_EPROTO, "ftp: reply over %d bytes", SOCKIT__FTP_REPLY_MAX);
        if (!multi) break;
        if (start == 0) continue;
        /* The last line repeats the code followed by SP (or the line's end). */
        const char *l = buf + start;
        size_t n = i - start;
        if (n >= 4 && reply_code(l, n) == c && (l[3] == ' ' || l[3] == '\r' || l[3] == '\n'))
            break;
    }
    *code = c;
    return (ssize_t)i;
}

/* ---- reading and sending ------------------------------------------------------------------ */

/* Copies the reply's bytes into f->text: CR LF and LF become "\n", the last one dropped, a NUL
 * byte becomes '?' (the text is a C string). */
static void keep_text(sockit_ftp *f, const char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\r' && i + 1 < n && p[i + 1] == '\n') continue;
        f->text[o++] = c == 0 ? '?' : c;
    }
    if (o && f->text[o - 1] == '\n') o--;
    f->text[o] = 0;
    f->text_len = o;
}

int sockit__ftp_fail_io(unsigned mark, int code, const char *ctx)
{
    if (code == SOCKIT_ETLS) return sockit__fail_ctx(mark, code, "%s", ctx);
    return sockit__fail(code, "%s", ctx);
}

static int broken(sockit_ftp *f, int rc)
{
    f->broken = 1;
    return rc;
}

/* Gives each line of a reply (n bytes, line ends included) to the trace hook. */
static void trace_reply(const sockit_ftp *f, const char *p, size_t n)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) + 1 : n, text = len;
        if (text && p[text - 1] == '\n') text--;
        if (text && p[text - 1] == '\r') text--;
        f->o.trace(f->o.trace_arg, 0, p, text);
        p += len, n -= len;
    }
}

void sockit__ftp_trace_sent(const sockit_ftp *f, const char *line, size_t n)
{
    if (!f->o.trace) return;
    if (n >= 4 && !strncasecmp(line, "PASS", 4) && (n == 4 || line[4] == ' '))
        line = "PASS ****", n = 9; /* the password is never shown */
    f->o.trace(f->o.trace_arg, 1, line, n);
}

int sockit__ftp_reply(sockit_ftp *f, int64_t deadline)
{
    if (f->broken || !f->rd)
        return sockit__failmsg(SOCKIT_ECLOSED, "ftp %s: the control connection is not usable",
                               f->host);
    for (;;) {
        const void *data;
        size_t n = sockit_reader_pending(f->rd, &data);
        int code = 0;
        ssize_t r = sockit__ftp_parse_reply(data, n, &code);
        if (r > 0) {
            if (f->o.trace) trace_reply(f, data, (size_t)r);
            keep_text(f, data, (size_t)r);
            f->code = code;
            sockit_reader_consume(f->rd, (size_t)r);
            return code;
        }
        if (r != SOCKIT_EINCOMPLETE) return broken(f, (int)r);
        unsigned mark = sockit__errmark();
        ssize_t got = sockit_reader_fill_until(f->rd, deadline);
        if (got == 0)
            return broken(f, sockit__failmsg(SOCKIT_ECLOSED, "ftp %s: the server closed the "
                                             "control connection", f->host));
        if (got < 0) {
            char ctx[300];
            snprintf(ctx, sizeof ctx, "ftp %s: reading a reply", f->host);
            return broken(f, sockit__ftp_fail_io(mark, (int)got, ctx));
        }
    }
}

int sockit__ftp_final(sockit_ftp *f, int64_t deadline)
{
    for (;;) {
        int code = sockit__ftp_reply(f, deadline);
        if (code < 0 || code >= 200) return code;
    }
}

int sockit__ftp_check_arg(const char *what, const char *arg)
{
    if (arg && strpbrk(arg, "\r\n"))
        return sockit__failmsg(-EINVAL, "%s: a name with CR or LF cannot be sent", what);
    return 0;
}

int sockit__ftp_send(sockit_ftp *f, const char *verb, const char *arg, int64_t deadline)
{
    char line[SOCKIT__FTP_LINE_MAX + 8];
    if (f->broken || !f->ctl)
        return sockit__failmsg(SOCKIT_ECLOSED, "ftp %s: the control connection is not usable",
                               f->host);
    int rc = sockit__ftp_check_arg(verb, arg);
    if (rc == 0) rc = sockit__ftp_check_arg(verb, verb);
    if (rc < 0) return rc;
    int n = snprintf(line, sizeof line, "%s%s%s\r\n", verb, arg ? " " : "", arg ? arg : "");
    if (n < 0 || (size_t)n >= sizeof line)
        return sockit__failmsg(-ENAMETOOLONG, "%s: command over %d bytes", verb,
                               SOCKIT__FTP_LINE_MAX);
    sockit__ftp_trace_sent(f, line, (size_t)n - 2);
    unsigned mark = sockit__errmark();
    rc = sockit__sendall_dl(f->ctl, line, (size_t)n, 0, NULL, deadline);
    if (rc < 0) {
        char ctx[300];
        snprintf(ctx, sizeof ctx, "ftp %s: sending %.16s", f->host, verb);
        return broken(f, sockit__ftp_fail_io(mark, rc, ctx));
    }
    return 0;
}

int sockit__ftp_fail_reply(const sockit_ftp *f, const char *what)
{
    char msg[512];
    size_t o = 0;
    for (size_t i = 0; i < f->text_len && o + 4 < sizeof msg; i++) {
        unsigned char c = (unsigned char)f->text[i];
        msg[o++] = c == '\n' ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (o + 4 >= sizeof msg) memcpy(msg + o, "...", 3), o += 3;
    msg[o] = 0;
    return sockit__failmsg(SOCKIT_EPROTO, "%s: %s", what, msg);
}

int sockit__ftp_command(sockit_ftp *f, const char *what, const char *verb, const char *arg,
                        const char *ok)
{
    int64_t dl = sockit__ftp_deadline(f);
    int rc = sockit__ftp_send(f, verb, arg, dl);
    if (rc < 0) return rc;
    int code = sockit__ftp_final(f, dl);
    if (code < 0) return code;
    if (!strchr(ok, '0' + code / 100)) return sockit__ftp_fail_reply(f, what);
    return code;
}

/* ---- reply texts -------------------------------------------------------------------------- */

int sockit__ftp_parse_epsv(const char *t, size_t len)
{
    /* "(|||port|)": the delimiter is any printable character, the same four times. */
    const char *p = memchr(t, '(', len);
    if (!p) goto bad;
    size_t i = (size_t)(p - t) + 1;
    if (len - i < 5) goto bad;
    char d = t[i];
    if (d < 33 || d > 126 || isdigit((unsigned char)d) || t[i + 1] != d || t[i + 2] != d) goto bad;
    i += 3;
    long port = 0;
    size_t digits = 0;
    while (i < len && isdigit((unsigned char)t[i]) && digits < 6) {
        port = port * 10 + (t[i++] - '0');
        digits++;
    }
    if (!digits || port < 1 || port > 65535 || i + 1 >= len || t[i] != d || t[i + 1] != ')')
        goto bad;
    return (int)port;
bad:
    return sockit__failmsg(SOCKIT_EPROTO, "ftp: malformed EPSV reply");
}

int sockit__ftp_parse_pasv(const char *t, size_t len, unsigned char ip[4], int *port)
{
    /* Six numbers separated by commas, after the code: with or without parentheses. */
    size_t i = len > 4 ? 4 : len;
    while (i < len && !isdigit((unsigned char)t[i])) i++;
    int v[6];
    for (int k = 0; k < 6; k++) {
        if (k) {
            if (i >= len || t[i] != ',') goto bad;
            i++;
        }
        int n = 0, digits = 0;
        while (i < len && isdigit((unsigned char)t[i]) && digits < 4) {
            n = n * 10 + (t[i++] - '0');
            digits++;
        }
        if (!digits || digits > 3 || n > 255) goto bad;
        v[k] = n;
    }
    for (int k = 0; k < 4; k++) ip[k] = (unsigned char)v[k];
    *port = v[4] * 256 + v[5];
    if (*port == 0) goto bad;
    return 0;
bad:
    return sockit__failmsg(SOCKIT_EPROTO, "ftp: malformed PASV reply");
}

int64_t sockit__ftp_parse_150_size(const char *t, size_t len)
{
    /* The last "(N bytes)" of the text. */
    for (size_t i = len; i-- > 0;) {
        if (t[i] != '(') continue;
        size_t j = i + 1;
        int64_t n = 0;
        int digits = 0;
        while (j < len && isdigit((unsigned char)t[j]) && digits < 18) {
            n = n * 10 + (t[j++] - '0');
            digits++;
        }
        if (digits && len - j >= 7 && memcmp(t + j, " bytes)", 7) == 0) return n;
    }
    return -1;
}

int sockit__ftp_parse_257(const char *t, size_t len, char *out, size_t cap)
{
    const char *q = memchr(t, '"', len);
    if (!q) return sockit__failmsg(SOCKIT_EPROTO, "pwd: no quoted directory name in the reply");
    size_t i = (size_t)(q - t) + 1, o = 0;
    for (;;) {
        if (i >= len || t[i] == '\n')
            return sockit__failmsg(SOCKIT_EPROTO, "pwd: unterminated directory name in the reply");
        if (t[i] == '"') {
            if (i + 1 < len && t[i + 1] == '"') {
                i++; /* "" is a quote inside the name */
            } else {
                break;
            }
        }
        if (o + 1 >= cap) return sockit__failmsg(-ENOBUFS, "pwd: directory name over %zu bytes", cap);
        out[o++] = t[i++];
    }
    if (cap) out[o] = 0;
    return (int)o;
}

int sockit__ftp_parse_feat(const char *t, size_t len)
{
    static const struct { const char *name; int bit; } names[] = {
        {"MLSD", SOCKIT_FTP_FEAT_MLSD}, {"MLST", SOCKIT_FTP_FEAT_MLSD},
        {"EPSV", SOCKIT_FTP_FEAT_EPSV}, {"EPRT", SOCKIT_FTP_FEAT_EPRT},
        {"REST STREAM", SOCKIT_FTP_FEAT_REST}, {"SIZE", SOCKIT_FTP_FEAT_SIZE},
        {"MDTM", SOCKIT_FTP_FEAT_MDTM}, {"UTF8", SOCKIT_FTP_FEAT_UTF8},
        {"TVFS", SOCKIT_FTP_FEAT_TVFS}, {"AUTH TLS", SOCKIT_FTP_FEAT_AUTH_TLS},
    };
    int bits = SOCKIT_FTP_FEAT_FEAT;
    /* The lines between the first and the last, each " NAME[ params]". */
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(t + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - t) : len;
        const char *l = t + i;
        size_t n = e - i;
        if (n && l[0] == ' ') {
            while (n && l[0] == ' ') l++, n--;
            for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
                size_t m = strlen(names[k].name);
                if (n >= m && strncasecmp(l, names[k].name, m) == 0 &&
                    (n == m || l[m] == ' ' || l[m] == '\r'))
                    bits |= names[k].bit;
            }
        }
        i = e + 1;
    }
    return bits;
}
