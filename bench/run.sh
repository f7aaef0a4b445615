#!/bin/sh
# make bench: every benchmark of the project, each reporting ratios against a peer measured in
# the same run on the same machine. Usage: bench/run.sh BUILD_DIR
set -eu
BUILD=${1:-build}
echo "== bench_core: sockit's core vs raw syscalls (same run, same machine)"
"$BUILD/bench/bench_core"
