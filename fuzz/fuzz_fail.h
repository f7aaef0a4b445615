/*
 * fuzz_fail.h — the abort every fuzz target's check ends in (not a target itself: CMake builds
 * only fuzz/fuzz_*.c): says what failed and shows the input (printable bytes as they are, the rest
 * as \xNN, at most 400 bytes), then aborts so libFuzzer keeps the input.
 */
#ifndef SOCKIT_FUZZ_FAIL_H
#define SOCKIT_FUZZ_FAIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline void fail(const char *what, const uint8_t *data, size_t size)
{
    fprintf(stderr, "fuzz: %s (input of %zu bytes: \"", what, size);
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

#endif /* SOCKIT_FUZZ_FAIL_H */
