#!/bin/sh
# Runs every libFuzzer target of a build for a while: scripts/fuzz.sh BUILD_DIR SECONDS
#
# Each BUILD_DIR/fuzz/fuzz_<name> runs for SECONDS on a scratch copy of fuzz/corpus/<name>/ and
# fuzz/regression/<name>/ (the repository's corpus is not bloated), with fuzz/<name>.dict when
# present. A crash, leak, timeout or out-of-memory input is copied to fuzz/regression/<name>/,
# where ctest replays it in every ordinary build until it is fixed. A regression input that still
# fails is named and left out of the run (else libFuzzer would stop on it at once).
# SOCKIT_FUZZ_MERGE=1 also merges the inputs that found new coverage back into fuzz/corpus/<name>/
# (-merge=1 keeps only those that add coverage, so the corpus stays small).
# Prints the executions run per target; exits 1 if anything failed, 2 on a usage error.
set -u
build=${1:-}
secs=${2:-30}
if [ -z "$build" ] || [ ! -d "$build/fuzz" ]; then
    echo "usage: scripts/fuzz.sh BUILD_DIR SECONDS (BUILD_DIR/fuzz/ holds the fuzz_* binaries)" >&2
    exit 2
fi
top=$(cd "$(dirname "$0")/.." && pwd)
count() { find "$1" -maxdepth 1 -type f | wc -l; }
found=0
ran=0
for bin in "$build"/fuzz/fuzz_*; do
    if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
    name=${bin##*/fuzz_}
    corpus=$top/fuzz/corpus/$name
    regress=$top/fuzz/regression/$name
    work=$(mktemp -d "${TMPDIR:-/tmp}/sockit-fuzz-$name.XXXXXX")
    mkdir -p "$work/corpus" "$work/artifacts"
    [ -d "$corpus" ] && find "$corpus" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$work/corpus/" \;
    if [ -d "$regress" ]; then
        for f in "$regress"/*; do
            [ -f "$f" ] || continue
            if "$bin" -runs=1 "$f" >"$work/replay.log" 2>&1; then
                cp "$f" "$work/corpus/"
            else
                found=1
                echo "fuzz_$name: STILL FAILS fuzz/regression/$name/${f##*/}:" \
                    "$(grep -m 1 -E '^fuzz_|ERROR' "$work/replay.log")"
            fi
        done
    fi
    set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=1024 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/"
    [ -f "$top/fuzz/$name.dict" ] && set -- "$@" -dict="$top/fuzz/$name.dict"
    echo "fuzz_$name: ${secs}s from $(count "$work/corpus") seed inputs"
    "$bin" "$@" "$work/corpus" >"$work/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    if [ -z "$execs" ]; then # a crash ends the run before the final stats
        execs=$(grep -o '^#[0-9]*' "$work/log" | tail -n 1 | tr -d '#')
    fi
    ran=$((ran + 1))
    findings=$(find "$work/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
    if [ -n "$findings" ] || [ "$rc" -ne 0 ]; then
        found=1
        mkdir -p "$regress"
        for f in $findings; do
            kept=$(echo "${f##*/}" | sed 's/-/_/')
            cp "$f" "$regress/$kept"
            echo "fuzz_$name: FOUND fuzz/regression/$name/$kept"
        done
        # The sanitizer's or the driver's own words about the failure.
        grep -E 'ERROR|SUMMARY|^fuzz_|deadly signal' "$work/log" | head -n 20 | sed "s/^/fuzz_$name: /"
        echo "fuzz_$name: full log kept in $work/log"
    elif [ "${SOCKIT_FUZZ_MERGE:-0}" = 1 ]; then
        mkdir -p "$corpus"
        "$bin" -merge=1 -max_len=1024 "$corpus" "$work/corpus" >"$work/merge.log" 2>&1 &&
            echo "fuzz_$name: fuzz/corpus/$name now holds $(count "$corpus") inputs"
    fi
    echo "fuzz_$name: ${execs:-0} executions, $(count "$work/corpus") inputs in the scratch corpus"
    [ -n "$findings" ] || [ "$rc" -ne 0 ] || rm -rf "$work"
done
if [ "$ran" -eq 0 ]; then
    echo "fuzz: no fuzz_* binaries in $build/fuzz (configure with -DSOCKIT_FUZZ=ON under clang)" >&2
    exit 2
fi
exit "$found"
