#!/bin/sh
# `cmake -DCMAKE_BUILD_TYPE=Release` fails: -Werror=maybe-uninitialized in src/http/file_cond.c
# (sockit__http_range: `b.val` may be used uninitialized), gcc 12.2 (Debian 12).
cd "$(dirname "$0")/.." && cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null && \
  cmake --build build-release -j2 2>&1 | grep -E "error" | head -5
