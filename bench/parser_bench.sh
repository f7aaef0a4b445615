#!/bin/sh
# The HTTP parser against picohttpparser and http-parser (bench/bench_parser.c), same run, same
# machine: bench/parser_bench.sh BUILD_DIR
#   1. ns per message, the best of 9 timed runs with the parsers taking turns;
#   2. instructions per message under callgrind (exact and repeatable, unlike the shared machine's
#      clock): (Ir(N2) - Ir(N1)) / (N2 - N1), so start-up cancels out.
set -eu
BUILD=${1:-build}
bin=$BUILD/bench/bench_parser
if [ ! -x "$bin" ]; then
    echo "parser_bench: $bin was not built: it needs picohttpparser (Debian package" \
        "libh2o-evloop0.13) and http-parser (libhttp-parser-dev); see cmake's output" >&2
    exit 1
fi
"$bin" 9
if ! command -v valgrind >/dev/null 2>&1; then
    echo "parser_bench: valgrind is not installed: no instruction counts" >&2
    exit 0
fi
N1=1000
N2=6000
ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" one "$1" "$2" "$3" 2>&1 |
        sed -n 's/.*Collected : *//p'
}
echo
echo "instructions per message (callgrind, (Ir($N2) - Ir($N1)) / $((N2 - N1)))"
printf '%-9s %10s %10s %10s %10s %12s\n' input sockit sockit2 pico http-parser sockit/pico
for input in browser curl response chunked; do
    line=$(printf '%-9s' "$input")
    for p in sockit sockit2 pico hp; do
        a=$(ir "$p" "$input" "$N1")
        b=$(ir "$p" "$input" "$N2")
        v=$(((b - a) / (N2 - N1)))
        eval "ir_$p=$v"
        line="$line $(printf '%10s' "$v")"
    done
    # shellcheck disable=SC2154 # set by the eval above
    echo "$line $(awk -v s="$ir_sockit" -v p="$ir_pico" 'BEGIN { printf "%12.2f", s / p }')"
done
