/*
 * fuzz_ftp.h — what the FTP fuzz targets share (not a target itself: CMake builds only
 * fuzz/fuzz_*.c): the abort with the input shown, and a copy of the input in a buffer of exactly
 * its size (so ASan sees any read past it).
 */
#ifndef SOCKIT_FUZZ_FTP_H
#define SOCKIT_FUZZ_FTP_H

#include "internal/ftp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void fail(const char *what, const uint8_t *data, size_t size)
{
    fprintf(stderr, "fuzz_ftp: %s (input of %zu bytes: \"", what, size);
    for (size_t i = 0; i < size && i < 400; i++) {
        unsigned char c = data[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "%s\")\n", size > 400 ? "..." : "");
    abort();
}

static inline char *copy_input(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf) abort();
    if (size) memcpy(buf, data, size);
    return buf;
}

/* s is absent, or lies inside buf[0, len). */
static inline int inside_or_absent(sockit_str s, const char *buf, size_t len)
{
    return !s.p || (s.p >= buf && s.p <= buf + len && s.n <= (size_t)(buf + len - s.p));
}

#endif
