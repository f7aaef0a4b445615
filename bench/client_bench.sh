#!/usr/bin/env bash
# HTTP client benchmark (issue 10): sockit's HTTP client against curl, libcurl in-process and
# Python's http.client, all measured in this run on this machine against the same nginx, with
# the ratios between them.
# Usage: bench/client_bench.sh BUILD_DIR          (run by `make bench` through bench/run.sh)
#
# Server: Debian's nginx (nginx-light), one worker, started by this script from a config of its
# own written into a temp dir (a free port found at run time, `daemon off`, sendfile on,
# tcp_nopush, access_log off, keepalive_requests 100000 so one connection carries the whole loop),
# pinned to CPU 0; every client pinned to CPU 1 (taskset). Files served:
#   big.bin    SIZE bytes (default 1 GiB) of /dev/urandom data, written once per run just before
#              the measurements, so it sits in the page cache (CLIENT_BENCH_SPARSE=1: a sparse file
#              instead — no disk and no page-cache footprint, nginx sends zero pages)
#   small.txt  13 bytes
# Loads:
#   bulk-null  one GET of big.bin, body to /dev/null
#   bulk-file  one GET of big.bin, body to a file in the temp dir (size checked, then removed)
# The temp dir is on tmpfs (/dev/shm) when it has room (bench_tmpdir in bench/lib.sh): the file
# written at every run then costs no disk writeback, whose timing is not the client's.
#   small      COUNT (default 10,000) keep-alive GETs of small.txt on one connection
# Clients (each one process, its command printed before the runs):
#   sockit     BUILD/bin/sockit http get -s [-o DEST] URL [URL ...]  (COUNT URLs in one call)
#   sockit_get BUILD/bench/bench_sockit_get -n N [-o DEST] URL      (bench/peers/sockit_get.c:
#              one sockit_http_client session, the same loop as libcurl_get)
#   curl       curl -s [-o DEST] URL [URL ...]                       (COUNT URLs in one call,
#              sequential: no --parallel)
#   libcurl    BUILD/bench/bench_libcurl_get -n N [-o DEST] URL      (bench/peers/libcurl_get.c:
#              one easy handle reused)
#   python     python3 bench/peers/http_client_get.py -n N [-o DEST] URL  (one HTTPConnection)
# For the small loop the CLIs' stdout goes to a file whose size is checked (13 × COUNT bytes).
# Measurement: bench_rusage_run (bench/peers/rusage_run.c) around each client: wall time
# (fork to reap) and the client's user+sys CPU time (wait4's rusage, µs resolution); nginx's CPU
# time (utime+stime of its process group from /proc, in clock ticks) over the same run. The clients
# take turns, RUNS rounds (interleaved, so a burst of background load hits them alike). Rates come
# from each client's best round (shortest wall time: on a shared machine the wall time of a
# ping-pong loop is mostly what other work leaves; echo_bench.sh keeps the best round too); CPU
# figures are the medians of the rounds (they hardly move with the machine's load). Then callgrind: user-space instructions per request in the client,
# start-up subtracted: (Ir(CG_COUNT) - Ir(CG_BASE)) / (CG_COUNT - CG_BASE), for the C clients.
# Knobs (environment): SIZE (bulk bytes, default 1073741824), CLIENT_BENCH_COUNT (default
# 10000), CLIENT_BENCH_RUNS (small-loop rounds, default 5), CLIENT_BENCH_BULK_RUNS (default 3),
# CLIENT_BENCH_CLIENTS (default "sockit sockit_get curl libcurl python"), CLIENT_BENCH_LOADS
# (default "bulk-null bulk-file small"), CLIENT_BENCH_SPARSE (0), CLIENT_BENCH_CALLGRIND (1; 0
# skips), CLIENT_BENCH_CG_COUNT (2000), CLIENT_BENCH_CG_BASE (200), CLIENT_BENCH_PERF (0; 1 records
# `perf record -g` of sockit_get's small loop and prints the top symbols), CLIENT_BENCH_SOCKIT (the
# sockit binary; default BUILD/bin/sockit).
# Exit status: non-zero only if nginx fails to start or an installed client fails a run.
set -u
set +m   # no job control: setsid must exec in place, so the pid we hold is the group id

BUILD=${1:?usage: client_bench.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SIZE=${SIZE:-1073741824}
COUNT=${CLIENT_BENCH_COUNT:-10000}
RUNS=${CLIENT_BENCH_RUNS:-5}
BULK_RUNS=${CLIENT_BENCH_BULK_RUNS:-3}
CLIENTS=${CLIENT_BENCH_CLIENTS:-sockit sockit_get curl libcurl python}
LOADS=${CLIENT_BENCH_LOADS:-bulk-null bulk-file small}
SPARSE=${CLIENT_BENCH_SPARSE:-0}
CG=${CLIENT_BENCH_CALLGRIND:-1}
CG_COUNT=${CLIENT_BENCH_CG_COUNT:-2000}
CG_BASE=${CLIENT_BENCH_CG_BASE:-200}
PERF=${CLIENT_BENCH_PERF:-0}
HOST=127.0.0.1
TICK=$(getconf CLK_TCK)
SOCKIT=${CLIENT_BENCH_SOCKIT:-$BUILD/bin/sockit}
RUSAGE=$BUILD/bench/bench_rusage_run
SOCKIT_GET=$BUILD/bench/bench_sockit_get
LIBCURL_GET=$BUILD/bench/bench_libcurl_get
PY_GET=$HERE/peers/http_client_get.py
TSV=$BUILD/bench/client_results.tsv
RUN_BOUND=300    # seconds any one client run may take before it is killed

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
TMP=$(bench_tmpdir $((2 * SIZE)))   # the file, downloads to a file and uploads: tmpfs when it has room
NGINX_PG=""
STATUS=0
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    [ -n "$NGINX_PG" ] && stop_group "$NGINX_PG"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

NCPU=$(nproc)
set_pinning nginx "the client"

# ---- nginx (its configuration: nginx_conf in bench/lib.sh, one worker) ---------------------------
DOCS=$TMP/www
mkdir -p "$DOCS"
chmod 755 "$TMP" "$DOCS"

# start_nginx: on a free port, in its own process group (setsid), pinned; polls it with curl
# until it answers (20 s). A port taken between free_port and nginx's bind is retried, twice.
start_nginx() {
    local attempt port dir pid
    for attempt in 1 2 3; do
        port=$(free_port)
        dir=$TMP/nginx.$attempt; mkdir -p "$dir"
        nginx_conf "$dir" "$HOST" "$port" 1 "$DOCS"
        # shellcheck disable=SC2086
        setsid $PIN_SRV nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/out" 2>"$dir/err" </dev/null &
        pid=$!
        if wait_ready "http://$HOST:$port/small.txt" "$pid"; then
            NGINX_PG=$pid; PORT=$port
            note "nginx: port $port, pid $pid: nginx -p $dir/ -c $dir/nginx.conf ($PIN_SRV)"
            return 0
        fi
        kill -KILL -- "-$pid" 2>/dev/null; wait "$pid" 2>/dev/null
        note "nginx attempt $attempt on port $port failed: $(tail -c 300 "$dir/err") $(tail -c 300 "$dir/error.log" 2>/dev/null)"
    done
    return 1
}

# ---- the clients -------------------------------------------------------------------------------
declare -A SKIP
available() {   # available NAME: 0 when NAME can run, else SKIP[NAME] says why
    local name=$1
    case $name in
        sockit)
            if [ ! -x "$SOCKIT" ]; then SKIP[$name]="$SOCKIT not built"
            elif timeout 5 "$SOCKIT" http get --help </dev/null 2>&1 | grep -qi "not built"; then
                SKIP[$name]="'sockit http get' is not built yet"
            fi ;;
        sockit_get) [ -x "$SOCKIT_GET" ] || SKIP[$name]="$SOCKIT_GET not built (needs include/sockit/http_client.h)" ;;
        curl) command -v curl >/dev/null || SKIP[$name]="curl not installed (Debian package curl)" ;;
        libcurl) [ -x "$LIBCURL_GET" ] || SKIP[$name]="$LIBCURL_GET not built (Debian package libcurl4-openssl-dev, then re-run cmake)" ;;
        python) command -v python3 >/dev/null || SKIP[$name]="python3 not installed" ;;
        *) SKIP[$name]="unknown client (sockit sockit_get curl libcurl python)" ;;
    esac
    [ -z "${SKIP[$name]:-}" ]
}

# client_cmd NAME LOAD N: fills the array CMD with the command line of NAME for LOAD, N requests
# (small), and sets OUT (where the CLI's stdout goes) and EXPECT (bytes the load must produce).
# For the CLIs N requests are N copies of the URL in one call.
client_cmd() {
    local name=$1 load=$2 n=$3 url dest="" i
    CMD=(); OUT=/dev/null
    case $load in
        small) url="http://$HOST:$PORT/small.txt"; EXPECT=$((13 * n)) ;;
        bulk-null) url="http://$HOST:$PORT/big.bin"; dest=/dev/null; EXPECT=$SIZE ;;
        bulk-file) url="http://$HOST:$PORT/big.bin"; dest=$TMP/dl.bin; EXPECT=$SIZE ;;
    esac
    case $name in
        sockit|curl)
            if [ "$name" = sockit ]; then CMD=("$SOCKIT" http get -s); else CMD=(curl -s); fi
            if [ -n "$dest" ]; then CMD+=(-o "$dest" "$url")
            else
                OUT=$TMP/small.out
                for ((i = 0; i < n; i++)); do CMD+=("$url"); done
            fi ;;
        sockit_get|libcurl|python)
            case $name in
                sockit_get) CMD=("$SOCKIT_GET") ;;
                libcurl) CMD=("$LIBCURL_GET") ;;
                python) CMD=(python3 "$PY_GET") ;;
            esac
            if [ -n "$dest" ]; then CMD+=(-n 1 -o "$dest" -e "$SIZE" "$url")
            else CMD+=(-n "$n" -e 13 "$url"); fi ;;
    esac
}

# show_cmd: the command of CMD, the URL list shortened.
show_cmd() {
    local s="${CMD[*]}"
    if [ "${#CMD[@]}" -gt 12 ]; then s="${CMD[*]:0:5} ... (${#CMD[@]} words: the URL $((${#CMD[@]} - 3)) times)"; fi
    printf '%s' "$s"
}

declare -A V   # V[load.client] = space-separated values per round: "wall cpu srv" triples
# run_one NAME LOAD [warm-up]: one timed run; appends its figures to V[LOAD.NAME] (not for a
# warm-up run). A failed run is reported.
run_one() {
    local name=$1 load=$2 warm=${3:-} n=$COUNT before after rep=$TMP/rusage line rc size
    client_cmd "$name" "$load" "$n"
    rm -f "$TMP/dl.bin" "$TMP/small.out"
    before=$(cpu_ticks "$NGINX_PG")
    # shellcheck disable=SC2086
    $PIN_CL "$RUSAGE" -r "$rep" -t "$RUN_BOUND" -- "${CMD[@]}" >"$OUT" 2>"$TMP/client.err"
    rc=$?
    after=$(cpu_ticks "$NGINX_PG")
    line=$(cat "$rep" 2>/dev/null)
    size=-1
    case $load in
        small) case $name in sockit|curl) size=$(stat -c %s "$TMP/small.out" 2>/dev/null) ;; *) size=$EXPECT ;; esac ;;
        bulk-file) size=$(stat -c %s "$TMP/dl.bin" 2>/dev/null) ;;
        bulk-null) size=$EXPECT ;;
    esac
    rm -f "$TMP/dl.bin" "$TMP/small.out"
    if [ "$rc" != 0 ] || [ -z "$line" ] || [ "$size" != "$EXPECT" ]; then
        note "   $load $name: FAILED (status $rc, ${size:-?} of $EXPECT bytes): $(head -c 400 "$TMP/client.err")"
        STATUS=1; return 1
    fi
    local wall cpu srv
    wall=$(field "$line" wall); cpu=$(field "$line" cpu)
    srv=$(awk -v a="$before" -v b="$after" -v t="$TICK" 'BEGIN { printf "%.3f", (b - a) / t }')
    [ -n "$warm" ] && return 0
    V[$load.$name]="${V[$load.$name]:-} $wall,$cpu,$srv"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$load" "$name" "$wall" "$cpu" "$srv" "$(field "$line" maxrss_kb)" >>"$TSV"
    note "   $load $name: wall ${wall} s, client CPU ${cpu} s (user $(field "$line" user), sys $(field "$line" sys)), nginx CPU ${srv} s"
}

# figure STAT I LOAD.NAME: STAT (median_of or min_of) of the I-th figure (1 wall, 2 cpu, 3 srv)
# of the rounds.
figure() {
    # shellcheck disable=SC2086,SC2046  # split on purpose: one round per word
    "$1" $(printf '%s\n' ${V[$3]:-} | cut -d, -f"$2")
}

# ---- callgrind -----------------------------------------------------------------------------------
declare -A CGR   # CGR[client] = instructions per request (start-up subtracted)
# cg_ir NAME N: total Ir of NAME's small loop of N requests under callgrind (CG_IR), or fails.
cg_ir() {
    local name=$1 n=$2 out=$BUILD/bench/callgrind.client.$1.$2.out
    CG_IR=""
    client_cmd "$name" small "$n"
    rm -f "$TMP/small.out"
    # shellcheck disable=SC2086
    timeout 600 $PIN_CL valgrind --tool=callgrind --callgrind-out-file="$out" "${CMD[@]}" \
        >"$OUT" 2>"$TMP/cg.err" || { note "   callgrind $name $n: failed: $(tail -c 300 "$TMP/cg.err")"; return 1; }
    CG_IR=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out" | head -1)
    [ -z "$CG_IR" ] && CG_IR=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out" | head -1)
    [ -n "$CG_IR" ]
}
run_callgrind() {
    local name=$1 big small
    cg_ir "$name" "$CG_COUNT" || return
    big=$CG_IR
    cg_ir "$name" "$CG_BASE" || return
    small=$CG_IR
    rm -f "$BUILD/bench/callgrind.client.$name.$CG_BASE.out"
    CGR[$name]=$(awk -v a="$big" -v b="$small" -v n=$((CG_COUNT - CG_BASE)) 'BEGIN { printf "%.0f", (a - b) / n }')
    note "   $name: Ir($CG_COUNT) $big, Ir($CG_BASE) $small: ${CGR[$name]} instructions per request"
    note "     profile kept: callgrind_annotate $BUILD/bench/callgrind.client.$name.$CG_COUNT.out"
}

# ---- the runs ------------------------------------------------------------------------------------
[ -x "$RUSAGE" ] || { note "client_bench: $RUSAGE not built"; exit 1; }
command -v nginx >/dev/null || { note "client_bench: nginx not installed (Debian package nginx-light): skipped"; exit 0; }
command -v curl >/dev/null || { note "client_bench: curl not installed: skipped"; exit 0; }
mkdir -p "$BUILD/bench"
printf 'load\tclient\twall_s\tclient_cpu_s\tnginx_cpu_s\tmaxrss_kb\n' >"$TSV"
note "http client benchmark: $NCPU CPUs, $(uname -r); $PINNING"
note "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
note "versions: $(nginx -v 2>&1); $(curl --version | head -1); $(python3 --version 2>&1)"
T0=$(date +%s)
note "files in $TMP ($(stat -f -c %T "$TMP"); BENCH_TMPDIR picks another place)"

printf 'hello world!\n' >"$DOCS/small.txt"   # 13 bytes
if [ "$SPARSE" = 1 ]; then
    truncate -s "$SIZE" "$DOCS/big.bin"
    note "big.bin: $SIZE bytes, SPARSE (no data blocks: nginx sends zero pages)"
else
    t=$(date +%s.%N)
    head -c "$SIZE" /dev/urandom >"$DOCS/big.bin"
    note "big.bin: $SIZE bytes of /dev/urandom data, written in $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s (in the page cache from here on)"
fi
chmod 644 "$DOCS/big.bin" "$DOCS/small.txt"

start_nginx || { note "client_bench: nginx did not start"; exit 1; }
up=()
for c in $CLIENTS; do
    if available "$c"; then up+=("$c"); else note "== $c: SKIPPED: ${SKIP[$c]}"; fi
done
for load in $LOADS; do
    rounds=$RUNS; [ "$load" != small ] && rounds=$BULK_RUNS
    note "== $load: $rounds rounds, clients in turn"
    for c in "${up[@]}"; do client_cmd "$c" "$load" "$COUNT"; note "   $c: $(show_cmd)"; done
    for c in "${up[@]}"; do run_one "$c" "$load" warm-up >/dev/null; done   # not kept
    for ((r = 1; r <= rounds; r++)); do
        for c in "${up[@]}"; do run_one "$c" "$load"; done
    done
done

if [ "$CG" = 1 ] && command -v valgrind >/dev/null; then
    note "== callgrind: client instructions per keep-alive GET of 13 bytes, (Ir($CG_COUNT) - Ir($CG_BASE)) / $((CG_COUNT - CG_BASE))"
    for c in "${up[@]}"; do [ "$c" != python ] && run_callgrind "$c"; done
else
    note "== callgrind: skipped (CLIENT_BENCH_CALLGRIND=0 or no valgrind)"
fi

if [ "$PERF" = 1 ] && [ -z "${SKIP[sockit_get]:-}" ] && command -v perf >/dev/null; then
    note "== perf: sockit_get, $COUNT GETs (perf record -g; top symbols, self time)"
    client_cmd sockit_get small "$COUNT"
    # shellcheck disable=SC2086
    $PIN_CL perf record -q -g -o "$BUILD/bench/perf.client.sockit_get.data" "${CMD[@]}" >/dev/null 2>&1
    perf report -q -i "$BUILD/bench/perf.client.sockit_get.data" --no-children --sort dso,symbol 2>/dev/null |
        grep -v '^$' | grep -v '^ *|' | grep -v '^ *-' | head -25
    note "   profile kept: perf report -i $BUILD/bench/perf.client.sockit_get.data"
fi

# ---- the tables ----------------------------------------------------------------------------------
declare -A M   # M[load.client.metric]: rate (MB/s or req/s), cpu (client, µs/req or s), srv
for load in $LOADS; do
    for c in "${up[@]}"; do
        w=$(figure min_of 1 "$load.$c"); [ -z "$w" ] && continue
        cpu=$(figure median_of 2 "$load.$c"); srv=$(figure median_of 3 "$load.$c")
        if [ "$load" = small ]; then
            M[$load.$c.rate]=$(awk -v n="$COUNT" -v w="$w" 'BEGIN{printf "%.0f", n / w}')
            M[$load.$c.cpu]=$(awk -v n="$COUNT" -v c="$cpu" 'BEGIN{printf "%.2f", c * 1e6 / n}')
            M[$load.$c.srv]=$(awk -v n="$COUNT" -v c="$srv" 'BEGIN{printf "%.2f", c * 1e6 / n}')
        else
            M[$load.$c.rate]=$(awk -v s="$SIZE" -v w="$w" 'BEGIN{printf "%.0f", s / w / 1048576}')
            M[$load.$c.cpu]=$(awk -v s="$SIZE" -v c="$cpu" 'BEGIN{printf "%.3f", c * 1073741824 / s}')
            M[$load.$c.srv]=$(awk -v s="$SIZE" -v c="$srv" 'BEGIN{printf "%.3f", c * 1073741824 / s}')
        fi
        M[$load.$c.wall]="$(printf "%.3f / %.3f" "$w" "$(figure median_of 1 "$load.$c")")"
    done
done

note ""
note "== results (same run, same machine; $PINNING)"
note "   rate from the best round (the shortest wall time: the one least disturbed by other work on the machine);"
note "   CPU figures are the medians of the rounds. bulk: MiB/s (+), client and nginx CPU seconds per GiB (-);"
note "   small: requests/s (+), client and nginx CPU µs per request (-)"
note ""
note "| load | client | wall s best / median | rate | client CPU | nginx CPU | callgrind Ir/req |"
note "|---|---|---|---|---|---|---|"
for load in $LOADS; do
    for c in "${up[@]}"; do
        [ -z "${M[$load.$c.rate]:-}" ] && continue
        cg=-; [ "$load" = small ] && cg=${CGR[$c]:--}
        unit="MiB/s"; cu="s/GiB"; [ "$load" = small ] && { unit="req/s"; cu="µs/req"; }
        note "| $load | $c | ${M[$load.$c.wall]} | ${M[$load.$c.rate]} $unit | ${M[$load.$c.cpu]} $cu | ${M[$load.$c.srv]} $cu | $cg |"
    done
done
note ""
note "== sockit / peer (same run): rate ratio (+, ≥ 1 means sockit is faster), client CPU ratio (-, ≤ 1 means sockit uses less)"
note "| load | sockit client | ÷curl rate | ÷libcurl rate | ÷python rate | ÷curl CPU | ÷libcurl CPU | ÷libcurl Ir |"
note "|---|---|---|---|---|---|---|---|"
for load in $LOADS; do
    for s in sockit sockit_get; do
        [ -z "${M[$load.$s.rate]:-}" ] && continue
        ir=-; [ "$load" = small ] && ir=$(ratio "${CGR[$s]:-}" "${CGR[libcurl]:-}")
        note "| $load | $s | $(ratio "${M[$load.$s.rate]}" "${M[$load.curl.rate]:-}") | $(ratio "${M[$load.$s.rate]}" "${M[$load.libcurl.rate]:-}") | $(ratio "${M[$load.$s.rate]}" "${M[$load.python.rate]:-}") | $(ratio "${M[$load.$s.cpu]}" "${M[$load.curl.cpu]:-}") | $(ratio "${M[$load.$s.cpu]}" "${M[$load.libcurl.cpu]:-}") | $ir |"
    done
done
note ""
note "== targets (issue 10)"
target() {   # target TEXT VALUE OP LIMIT
    local verdict="-"
    if [ "$2" != "-" ] && [ -n "$2" ]; then
        if awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN{ exit !((op == ">=") ? v + 0 >= l + 0 : v + 0 <= l + 0) }'; then verdict=MET; else verdict=MISSED; fi
    fi
    note "   $1: $2 (target $3 $4): $verdict"
}
for load in bulk-null bulk-file; do
    case " $LOADS " in *" $load "*) ;; *) continue ;; esac
    target "$load, sockit http get ÷ curl, MiB/s" "$(ratio "${M[$load.sockit.rate]:-}" "${M[$load.curl.rate]:-}")" ">=" 1.0
done
case " $LOADS " in *" small "*)
    target "small, sockit http get ÷ curl, req/s" "$(ratio "${M[small.sockit.rate]:-}" "${M[small.curl.rate]:-}")" ">=" 1.5
    target "small, sockit_get ÷ libcurl in-process, req/s" "$(ratio "${M[small.sockit_get.rate]:-}" "${M[small.libcurl.rate]:-}")" ">=" 1.0
    target "small, sockit_get ÷ libcurl, client CPU per request" "$(ratio "${M[small.sockit_get.cpu]:-}" "${M[small.libcurl.cpu]:-}")" "<=" 1.0
    target "small, sockit_get ÷ libcurl, callgrind Ir per request" "$(ratio "${CGR[sockit_get]:-}" "${CGR[libcurl]:-}")" "<=" 1.0
    ;;
esac
for c in "${!SKIP[@]}"; do note "   (skipped: $c: ${SKIP[$c]})"; done
note ""
note "results as tab-separated values: $TSV"
note "http client benchmark took $(( $(date +%s) - T0 ))s"
exit "$STATUS"
