/*
 * The error model: codes, their names and texts, and the per-thread message.
 */
#include "internal/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Room for a message naming several addresses (create_connection lists every attempt). */
#define ERRMSG_MAX 1024

static _Thread_local char errmsg[ERRMSG_MAX];
static _Thread_local unsigned errgen; /* counts the messages set: see sockit__errmark */

const char *sockit_version(void) { return SOCKIT_VERSION; }

const char *sockit_strerror(int code)
{
    switch (code) {
#define X(name, value, text) case SOCKIT_##name: return text;
    SOCKIT_ERRNO_MAP(X)
#undef X
    case 0: return "Success";
    default: break;
    }
    if (code < 0 && code > SOCKIT_ERRNO_MIN) {
        /* strerrordesc_np is thread-safe and returns NULL for unknown values. */
        const char *d = strerrordesc_np(-code);
        if (d) return d;
    }
    return "Unknown error";
}

const char *sockit_errname(int code)
{
    switch (code) {
#define X(name, value, text) case SOCKIT_##name: return "SOCKIT_" #name;
    SOCKIT_ERRNO_MAP(X)
#undef X
    case 0: return "0";
    default: break;
    }
    if (code < 0 && code > SOCKIT_ERRNO_MIN) {
        const char *n = strerrorname_np(-code);
        if (n) return n;
    }
    return "UNKNOWN";
}

const char *sockit_errmsg(void) { return errmsg; }

static void vset(const char *fmt, va_list ap)
{
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    errgen++;
}

unsigned sockit__errmark(void) { return errgen; }

int sockit__failmsg_num(int code, const char *head, size_t n, const char *tail)
{
    char digits[24], *d = digits + sizeof digits;
    do *--d = (char)('0' + n % 10); while (n /= 10);
    size_t parts[3] = {strlen(head), (size_t)(digits + sizeof digits - d), strlen(tail)};
    const char *src[3] = {head, d, tail};
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        size_t k = parts[i] < sizeof errmsg - 1 - at ? parts[i] : sizeof errmsg - 1 - at;
        memcpy(errmsg + at, src[i], k);
        at += k;
    }
    errmsg[at] = 0;
    errgen++;
    return code;
}

/* "<formatted>: <strerror(code)>". */
static int vfail(int code, const char *fmt, va_list ap)
{
    vset(fmt, ap);
    size_t n = strlen(errmsg);
    snprintf(errmsg + n, sizeof errmsg - n, "%s%s", n ? ": " : "", sockit_strerror(code));
    return code;
}

int sockit__fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(code, fmt, ap);
    va_end(ap);
    return code;
}

int sockit__failmsg(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(fmt, ap);
    va_end(ap);
    return code;
}

int sockit__fail_ctx(unsigned mark, int code, const char *fmt, ...)
{
    if (errgen != mark) return code; /* the layer below said it, naming more than we know */
    va_list ap;
    va_start(ap, fmt);
    vfail(code, fmt, ap);
    va_end(ap);
    return code;
}

const char *sockit__quote(const char *s, char *buf, size_t len)
{
    /* Hostile input goes into messages too: keep it printable and short. */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (len < 16) return "";
    if (!s) {
        snprintf(buf, len, "(null)");
        return buf;
    }
    buf[o++] = '"';
    for (; *s && o + 10 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    if (*s) {
        buf[o++] = '.';
        buf[o++] = '.';
        buf[o++] = '.';
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}
