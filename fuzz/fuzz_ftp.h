/*
 * fuzz_ftp.h — what the FTP fuzz targets share (not a target itself: CMake builds only
 * fuzz/fuzz_*.c): the abort with the input shown, and a copy of the input in a buffer of exactly
 * its size (so ASan sees any read past it).
 */
#ifndef SOCKIT_FUZZ_FTP_H
#define SOCKIT_FUZZ_FTP_H

#include "internal/ftp.h"

#include "fuzz_fail.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
