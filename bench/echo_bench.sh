#!/usr/bin/env bash
# Echo benchmark: `sockit echo` against a hand-written epoll server (the limit for this design),
# libuv and Python's asyncio, all measured in this run on this machine, and the ratios between
# them. Usage: bench/echo_bench.sh BUILD_DIR
#
# Builds nothing: CMake builds bench_loadgen, bench_raw_epoll_echo and bench_libuv_echo into
# BUILD_DIR/bench/. Each server in turn is started on 127.0.0.1 port 0 with one worker, pinned to
# one core, while the load generator is pinned to the other; then:
#   rr    64-byte request/response at 1, 50 and 1000 connections (round trips/s, p50/p99 latency)
#   conn  new connections/s (connect, 1-byte echo, reset-close), CONN_CONC in flight
#   idle  10,000 idle connections: the server's VmRSS growth per connection
#   callgrind  instructions per round trip (Ir / round trips) at one connection, exact count
# The servers take turns, ECHO_BENCH_ROUNDS times (interleaved, so a burst of background load
# hits every server alike); for each test the run with the highest throughput is kept, with its
# own latencies and CPU figures. srv_cpu is the server's CPU use (% of its one core) over the
# measured window: well below 100% means the server was not the bottleneck (on a machine shared
# with other work it is what the server got). "per server CPU-second" divides the rate by that
# use: the server's efficiency, which other load on the machine disturbs far less than the rate.
# Knobs (environment): ECHO_BENCH_SECS (measured seconds per rr/conn run, default 3),
# ECHO_BENCH_WARMUP (default 1), ECHO_BENCH_ROUNDS (default 3), ECHO_BENCH_IDLE (default 10000),
# ECHO_BENCH_CONN_CONC (default 32), ECHO_BENCH_CALLGRIND=0 skips the callgrind step,
# ECHO_BENCH_CG_COUNT (default 20000).
# Exit status: non-zero only if a peer fails to start (a missing `sockit echo` is skipped).
set -u

BUILD=${1:?usage: echo_bench.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SECS=${ECHO_BENCH_SECS:-3}
WARM=${ECHO_BENCH_WARMUP:-1}
ROUNDS=${ECHO_BENCH_ROUNDS:-3}
IDLE_N=${ECHO_BENCH_IDLE:-10000}
CONN_CONC=${ECHO_BENCH_CONN_CONC:-32}
CG=${ECHO_BENCH_CALLGRIND:-1}
CG_COUNT=${ECHO_BENCH_CG_COUNT:-20000}
CG_BASE=1000     # the short callgrind run whose cost (start-up, connect) is subtracted
LG=$BUILD/bench/bench_loadgen
HOST=127.0.0.1

TMP=$(mktemp -d)
SRV_PID=""
cleanup() {
    if [ -n "$SRV_PID" ]; then kill -KILL "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n "$(ulimit -Hn)" 2>/dev/null   # 10k idle connections need 10k fds in the server too

if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    PIN_SRV="taskset -c 0"; PIN_LG="taskset -c 1"
    PINNING="server pinned to CPU 0, load generator pinned to CPU 1 (taskset)"
else
    PIN_SRV=""; PIN_LG=""
    PINNING="NOT pinned (fewer than 2 cores or no taskset): server and load generator share CPUs"
fi

declare -A R          # R[server.metric] = value
declare -A CMD        # CMD[server] = command line, without HOST PORT
SERVERS=(sockit raw_epoll libuv asyncio)
CMD[sockit]="$BUILD/bin/sockit echo -t 1"
CMD[raw_epoll]="$BUILD/bench/bench_raw_epoll_echo -t 1"
CMD[libuv]="$BUILD/bench/bench_libuv_echo -t 1"
CMD[asyncio]="python3 $HERE/peers/asyncio_echo.py -t 1"
declare -A SKIPPED FAILED
STATUS=0

note() { printf '%s\n' "$*"; }

# start_server NAME WAITSECS WRAPPER...: starts CMD[NAME] on HOST port 0 under the given wrapper (taskset,
# valgrind), waits for "listening on", sets SRV_PID and PORT. Returns 0 when up, 2 when NAME is
# sockit and its echo subcommand does not exist yet, 1 on any other failure.
start_server() {
    local name=$1 waitsecs=$2; shift 2
    local err=$TMP/$name.err
    : >"$err"   # truncate here: the child's own 2> happens after fork, too late for the poll below
    # shellcheck disable=SC2086
    "$@" ${CMD[$name]} "$HOST" 0 2>"$err" >/dev/null &
    SRV_PID=$!
    local tries=$((waitsecs * 20))
    while [ "$tries" -gt 0 ]; do
        if grep -q 'listening on' "$err" 2>/dev/null; then
            PORT=$(grep -m1 'listening on' "$err" | sed -n 's/.*:\([0-9][0-9]*\).*$/\1/p')
            [ -n "$PORT" ] && return 0
        fi
        if ! kill -0 "$SRV_PID" 2>/dev/null; then
            wait "$SRV_PID"; local rc=$?
            SRV_PID=""
            if [ "$name" = sockit ] && { [ "$rc" = 1 ] || grep -qi unknown "$err"; }; then return 2; fi
            note "   $name exited with status $rc before listening: $(head -c 300 "$err")"
            return 1
        fi
        sleep 0.05; tries=$((tries - 1))
    done
    note "   $name did not print 'listening on' within ${waitsecs}s: $(head -c 300 "$err")"
    kill -KILL "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=""
    return 1
}

# stop_server NAME: SIGTERM, then up to 10 s for a clean exit; says how it went.
stop_server() {
    local name=$1 tries=200
    [ -z "$SRV_PID" ] && return
    kill -TERM "$SRV_PID" 2>/dev/null
    while kill -0 "$SRV_PID" 2>/dev/null && [ "$tries" -gt 0 ]; do sleep 0.05; tries=$((tries - 1)); done
    if kill -0 "$SRV_PID" 2>/dev/null; then
        note "   $name ignored SIGTERM for 10 s: killed"
        kill -KILL "$SRV_PID" 2>/dev/null
    fi
    wait "$SRV_PID" 2>/dev/null; local rc=$?
    [ "$rc" != 0 ] && note "   $name exited with status $rc on SIGTERM (expected 0)"
    SRV_PID=""
}

# field LINE KEY: the value of key=value in a result line.
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# load NAME TAG SECONDS_BOUND LOADGEN-ARGS...: runs the load generator pinned, records the line.
load() {
    local name=$1 tag=$2 bound=$3; shift 3
    local line
    # shellcheck disable=SC2086
    line=$(timeout "$bound" $PIN_LG "$LG" "$@" "$HOST" "$PORT" 2>"$TMP/lg.err" | grep '^result')
    if [ -z "$line" ]; then
        note "   $name $tag: no result ($(head -c 200 "$TMP/lg.err"))"
        return 1
    fi
    note "   $name $tag: ${line#result }"
    local key=rps; [ "$tag" = conn ] && key=cps
    case $tag in
        rr*|conn)  # keep the run with the highest throughput, with its own latencies and CPU
            local new; new=$(field "$line" $key)
            if awk -v a="$new" -v b="${R[$name.$tag.$key]:-}" 'BEGIN{exit !(b == "" || a + 0 > b + 0)}'; then
                R[$name.$tag.$key]=$new
                R[$name.$tag.p50]=$(field "$line" p50_us); R[$name.$tag.p99]=$(field "$line" p99_us)
                R[$name.$tag.cpu]=$(field "$line" srv_cpu | tr -d %)
                R[$name.$tag.eff]=$(awk -v r="$new" -v c="${R[$name.$tag.cpu]}" \
                    'BEGIN{ if (c + 0 > 0) printf "%.0f", r * 100 / c }')
            fi ;;
        idle) R[$name.idle.bytes]=$(field "$line" bytes_per_conn) ;;
    esac
    local errs; errs=$(field "$line" errors)
    [ "${errs:-0}" != 0 ] && note "   $name $tag: $errs errors (the figure above excludes them)"
    return 0
}

run_server() {
    local name=$1 round=$2 rc
    note "== $name (round $round of $ROUNDS): ${CMD[$name]} $HOST 0"
    start_server "$name" 10 $PIN_SRV; rc=$?
    if [ "$rc" = 2 ]; then
        note "   SKIPPED: 'sockit echo' does not exist yet ($(head -c 120 "$TMP/$name.err"))"
        SKIPPED[$name]=1; return
    elif [ "$rc" != 0 ]; then
        FAILED[$name]=1; STATUS=1; return
    fi
    local bound=$(( ${SECS%.*} + ${WARM%.*} + 30 ))
    for c in 1 50 1000; do
        load "$name" "rr$c" "$bound" rr -c "$c" -d "$SECS" -w "$WARM" -p "$SRV_PID"
    done
    load "$name" conn "$bound" conn -c "$CONN_CONC" -d "$SECS" -w "$WARM" -p "$SRV_PID"
    # Memory per connection does not depend on the machine's load: measured once.
    [ "$round" = 1 ] && load "$name" idle 60 idle -c "$IDLE_N" -p "$SRV_PID"
    kill -0 "$SRV_PID" 2>/dev/null || note "   $name died during the run"
    stop_server "$name"
}

# callgrind_ir NAME COUNT: sets CG_IR to the total Ir of a server run under callgrind (one
# worker) that served exactly COUNT round trips on one connection.
callgrind_ir() {
    local name=$1 count=$2 out=$BUILD/bench/callgrind.$1.$2.out got
    CG_IR=""
    start_server "$name" 60 $PIN_SRV valgrind --tool=callgrind --callgrind-out-file="$out" || return 1
    # shellcheck disable=SC2086
    timeout 120 $PIN_LG "$LG" rr -c 1 -n "$count" -d 90 "$HOST" "$PORT" >"$TMP/cg.lg" 2>&1
    got=$(field "$(grep '^result' "$TMP/cg.lg")" rts)
    stop_server "$name"
    if [ "$got" != "$count" ]; then
        note "   $name: ${got:-0} of $count round trips under callgrind: $(head -c 300 "$TMP/cg.lg")"
        return 1
    fi
    CG_IR=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out" | head -1)
    [ -z "$CG_IR" ] && CG_IR=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out" | head -1)
    [ -n "$CG_IR" ]
}

run_callgrind() {
    local name=$1 big small=""
    [ -n "${SKIPPED[$name]:-}${FAILED[$name]:-}" ] && return
    callgrind_ir "$name" "$CG_COUNT" || { note "   callgrind $name: failed"; return; }
    big=$CG_IR
    callgrind_ir "$name" "$CG_BASE" && small=$CG_IR
    R[$name.cg.total]=$(awk -v a="$big" -v n="$CG_COUNT" 'BEGIN{printf "%.0f", a/n}')
    local line="   $name: total Ir $big for $CG_COUNT round trips = ${R[$name.cg.total]} Ir/rt"
    if [ -n "$small" ]; then
        R[$name.cg.marg]=$(awk -v a="$big" -v b="$small" -v n=$((CG_COUNT - CG_BASE)) \
            'BEGIN{printf "%.0f", (a-b)/n}')
        line="$line; marginal ((Ir($CG_COUNT) - Ir($CG_BASE)) / $((CG_COUNT - CG_BASE))) ${R[$name.cg.marg]} Ir/rt"
    fi
    note "$line"
    rm -f "$BUILD/bench/callgrind.$name.$CG_BASE.out"
    note "     profile kept: callgrind_annotate $BUILD/bench/callgrind.$name.$CG_COUNT.out"
}

# ---- the runs ---------------------------------------------------------------------------------
[ -x "$LG" ] || { note "echo_bench: $LG not built"; exit 1; }
note "echo benchmark: $(nproc) CPUs, $(uname -r), fd limit $(ulimit -n); $PINNING"
note "each rr/conn run: ${WARM}s warm-up + ${SECS}s measured, best of $ROUNDS interleaved rounds; idle: $IDLE_N connections; one worker per server"
LOAD1=$(cut -d' ' -f1 /proc/loadavg)
note "load average before the run: $LOAD1 ($(nproc) CPUs)"
if awk -v l="$LOAD1" 'BEGIN{exit !(l > 0.5)}'; then
    note "WARNING: the machine is busy before the benchmark starts; absolute figures will be low and noisy,"
    note "         ratios (same run, servers interleaved) are the figures to read"
fi
note "conn mode closes with SO_LINGER {1,0} (reset): no TIME_WAIT, so loopback ports never run out"
T0=$(date +%s)
for s in "${SERVERS[@]}"; do
    if [ "$s" != sockit ] && [ "$s" != asyncio ] && [ ! -x "${CMD[$s]%% *}" ]; then
        note "== $s: ${CMD[$s]%% *} not built"; FAILED[$s]=1; STATUS=1
    fi
    if [ "$s" = sockit ] && [ ! -x "$BUILD/bin/sockit" ]; then
        note "== sockit: $BUILD/bin/sockit not built: SKIPPED"; SKIPPED[sockit]=1
    fi
done
for round in $(seq 1 "$ROUNDS"); do
    for s in "${SERVERS[@]}"; do
        [ -n "${SKIPPED[$s]:-}${FAILED[$s]:-}" ] && continue
        run_server "$s" "$round"
    done
done

if [ "$CG" = 1 ] && command -v valgrind >/dev/null; then
    note "== callgrind: instructions per 64-byte round trip in the server (1 worker, 1 connection, exact counts)"
    for s in raw_epoll libuv sockit; do run_callgrind "$s"; done
else
    note "== callgrind: skipped (ECHO_BENCH_CALLGRIND=0 or no valgrind)"
fi

# ---- the table ---------------------------------------------------------------------------------
METRICS=(rr1.rps rr1.p50 rr1.p99 rr1.cpu rr1.eff rr50.rps rr50.p50 rr50.p99 rr50.cpu rr50.eff
         rr1000.rps rr1000.p50 rr1000.p99 rr1000.cpu rr1000.eff conn.cps conn.p50 conn.cpu conn.eff
         idle.bytes cg.total cg.marg)
declare -A LABEL=(
    [rr1.rps]="rr 1 conn: round trips/s (+)" [rr1.p50]="rr 1 conn: p50 us (-)" [rr1.p99]="rr 1 conn: p99 us (-)"
    [rr50.rps]="rr 50 conns: round trips/s (+)" [rr50.p50]="rr 50 conns: p50 us (-)" [rr50.p99]="rr 50 conns: p99 us (-)"
    [rr1000.rps]="rr 1000 conns: round trips/s (+)" [rr1000.p50]="rr 1000 conns: p50 us (-)"
    [rr1000.p99]="rr 1000 conns: p99 us (-)" [conn.cps]="new connections/s (+)" [conn.p50]="connection p50 us (-)"
    [rr1.cpu]="rr 1 conn: server CPU %" [rr50.cpu]="rr 50 conns: server CPU %"
    [rr1000.cpu]="rr 1000 conns: server CPU %" [conn.cpu]="new conns: server CPU %"
    [rr1.eff]="rr 1: rt per server CPU-s (+)" [rr50.eff]="rr 50: rt per server CPU-s (+)"
    [rr1000.eff]="rr 1000: rt per server CPU-s (+)" [conn.eff]="conns per server CPU-s (+)"
    [idle.bytes]="RSS bytes per idle conn (-)" [cg.total]="callgrind Ir per round trip (-)"
    [cg.marg]="  same, start-up subtracted (-)")

# ratio A B: A/B to two decimals, "-" when either is missing or B is 0 (and for CPU rows, where
# a ratio of utilisations means nothing).
ratio() { [ "${m##*.}" = cpu ] && { echo -; return; }
          awk -v a="${1:-}" -v b="${2:-}" 'BEGIN{ if (a == "" || b == "" || b + 0 <= 0) print "-"; else printf "%.2f", a/b }'; }

note ""
note "== results (same run, same machine; $PINNING; best of $ROUNDS rounds)"
note "   (+) higher is better, (-) lower is better; server CPU % is information (100 = its core saturated)"
printf '%-34s' "metric"; for s in "${SERVERS[@]}"; do printf '%12s' "$s"; done
printf '%12s%12s%12s\n' "sockit/raw" "sockit/uv" "sockit/py"
for m in "${METRICS[@]}"; do
    printf '%-34s' "${LABEL[$m]}"
    for s in "${SERVERS[@]}"; do printf '%12s' "${R[$s.$m]:--}"; done
    printf '%12s%12s%12s\n' "$(ratio "${R[sockit.$m]:-}" "${R[raw_epoll.$m]:-}")" \
        "$(ratio "${R[sockit.$m]:-}" "${R[libuv.$m]:-}")" "$(ratio "${R[sockit.$m]:-}" "${R[asyncio.$m]:-}")"
done
note ""
note "peers against the raw epoll baseline (same run): libuv/raw and asyncio/raw"
for m in "${METRICS[@]}"; do
    printf '%-34s%12s%12s\n' "${LABEL[$m]}" "$(ratio "${R[libuv.$m]:-}" "${R[raw_epoll.$m]:-}")" \
        "$(ratio "${R[asyncio.$m]:-}" "${R[raw_epoll.$m]:-}")"
done
[ -n "${SKIPPED[sockit]:-}" ] && note "sockit echo: SKIPPED ('sockit echo' not available yet): its columns are '-'"
for s in "${!FAILED[@]}"; do note "FAILED to start: $s"; done
note "echo benchmark took $(( $(date +%s) - T0 ))s"
exit "$STATUS"
