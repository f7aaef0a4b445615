#!/usr/bin/env bash
# HTTP server benchmark (issue 9): `sockit http serve` against h2o, nginx and `python3 -m
# http.server` on static files, and sockit's dynamic "hello" example against libmicrohttpd and
# Go's net/http, all measured in this run on this machine, with the ratios between them.
# Usage: bench/http_bench.sh BUILD_DIR          (run by `make bench` through bench/run.sh)
#
# Load: Debian's wrk (`wrk -t T -c C -d S --latency`), keep-alive, one URL per run. Matrix:
#   static  a 13-byte file and a 1 MiB file × 50 and 500 connections × 1 and 2 server workers,
#           for sockit, h2o, nginx; python3 -m http.server has no worker setting (one process,
#           a thread per connection) and runs once, its rows listed under 1 worker
#   hello   GET /hello → "hello world\n" × 50 and 500 connections × HTTP_BENCH_HELLO_WORKERS
#           (default 1) for sockit (bench/peers/sockit_hello.c), libmicrohttpd, Go net/http
# Figures per run: requests/s, p50 and p99 latency (wrk's), and the server's CPU time per
# request: utime+stime (+ reaped children) of every process in the server's process group, read
# from /proc before and after the measured run, divided by wrk's request count — the steady
# figure on a shared machine (it does not depend on how much CPU the server was given).
# Fairness: each worker count starts every server at once (each on its own port), then the
# servers take turns on each (file, connections) pair, so a burst of background load hits all
# alike; before each measured run, a warm-up run of the same shape. Servers are pinned to the
# first half of the CPUs and wrk to the second half (taskset: CPU 0 and CPU 1 on a 2-core
# machine, so 2 server workers share one core there: the 2-worker rows measure the cost of
# several workers, not scaling).
#
# How each server runs (PORT: a free port found at run time, never a fixed one; DIR: a temp
# directory holding small.txt (13 bytes) and big.bin (1 MiB)):
#   sockit   BUILD/bin/sockit http serve -q -b 127.0.0.1 -p PORT -d DIR -t N
#            (skipped with a note while the http command is not built)
#   h2o      h2o -c h2o.conf         (num-threads N, file.dir DIR, no access log, user root)
#   nginx    nginx -p T -e T/error.log -c nginx.conf   (worker_processes N, sendfile on,
#            tcp_nopush on, open_file_cache, access_log off, keepalive_requests 100000, user root)
#   python   python3 -m http.server -b 127.0.0.1 -d DIR PORT
#   hello:
#   sockit   BUILD/bench/bench_sockit_hello PORT [N]   (bench/peers/sockit_hello.c: the same
#            route as the peers, GET /hello -> 200 "hello world\n", no access log; the documented
#            examples/http_hello logs every request, which the peers do not)
#   mhd      BUILD/bench/bench_mhd_hello PORT N   (bench/peers/mhd_hello.c, epoll internal thread)
#   go       GOMAXPROCS=N bench_go_hello PORT     (bench/peers/go_hello.go, built here with
#            `go build`, offline: standard library only, GOCACHE/GOPATH in a temp dir)
# A peer that is not installed is skipped with the Debian package to install (all are in
# `scripts/deps.sh bench`).
#
# Output: the tables (markdown), ratios sockit/peer, BUILD/bench/http_results.tsv (one line per
# run) and the requests/s-vs-connections chart HTTP_BENCH_CHART (default bench/http_chart.svg,
# next to RESULTS.md; gnuplot).
# Knobs (environment): BENCH_SECONDS (measured seconds per run, default 5), BENCH_WARMUP (default
# 1), HTTP_BENCH_CONNS (default "50 500"), HTTP_BENCH_WORKERS (default "1 2"),
# HTTP_BENCH_HELLO_WORKERS (default "1"), HTTP_BENCH_SERVERS (default "sockit h2o nginx python"),
# HTTP_BENCH_HELLO (default "sockit mhd go"; an empty list runs none), HTTP_BENCH_CHART (path;
# "" draws none).
# Exit status: non-zero only if an installed peer fails to start or to answer.
set -u
set +m   # no job control: setsid must exec in place, so the pid we hold is the group id

BUILD=${1:?usage: http_bench.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SECS=${BENCH_SECONDS:-5}
WARM=${BENCH_WARMUP:-1}
CONNS=${HTTP_BENCH_CONNS:-50 500}
WORKERS=${HTTP_BENCH_WORKERS:-1 2}
HELLO_WORKERS=${HTTP_BENCH_HELLO_WORKERS:-1}
STATIC_SERVERS=${HTTP_BENCH_SERVERS-sockit h2o nginx python}   # set but empty: none
HELLO_SERVERS=${HTTP_BENCH_HELLO-sockit mhd go}
CHART=${HTTP_BENCH_CHART-$HERE/http_chart.svg}
HOST=127.0.0.1
TICK=$(getconf CLK_TCK)
SOCKIT=$BUILD/bin/sockit
SOCKIT_HELLO=$BUILD/bench/bench_sockit_hello
MHD_HELLO=$BUILD/bench/bench_mhd_hello
GO_HELLO=$BUILD/bench/bench_go_hello
TSV=$BUILD/bench/http_results.tsv

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"   # note, free_port, cpu_ticks, stop_group, wait_ready, nginx_conf
# Every server runs in its own process group (setsid: the script is not a group leader, so setsid
# execs in place and the group id is the pid we hold); stop_group stops it.
TMP=$(mktemp -d)
declare -A PID PORT SKIP   # per server instance (name.workers): process (group) id, port; per name: why skipped
STATUS=0

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    local k
    for k in "${!PID[@]}"; do stop_group "${PID[$k]}"; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n "$(ulimit -Hn)" 2>/dev/null

NCPU=$(nproc)
if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
    HALF=$((NCPU / 2))
    SRV_CPUS="0-$((HALF - 1))"; LG_CPUS="$HALF-$((NCPU - 1))"
    PIN_SRV="taskset -c $SRV_CPUS"; PIN_LG="taskset -c $LG_CPUS"
    WRK_THREADS=$((NCPU - HALF))
    PINNING="servers pinned to CPU $SRV_CPUS, wrk to CPU $LG_CPUS (taskset)"
else
    PIN_SRV=""; PIN_LG=""; WRK_THREADS=1
    PINNING="NOT pinned (fewer than 2 cores or no taskset): servers and wrk share CPUs"
fi

# ---- the files and the peers' configurations ------------------------------------------------
DOCS=$TMP/www
mkdir -p "$DOCS"
printf 'hello world!\n' >"$DOCS/small.txt"                       # 13 bytes
head -c 1048576 /dev/urandom >"$DOCS/big.bin"                     # 1 MiB
declare -A URLPATH=([small]=/small.txt [big]=/big.bin [hello]=/hello)
declare -A FILELABEL=([small]="13 B file" [big]="1 MiB file" [hello]="dynamic hello")

# h2o_conf DIR PORT WORKERS: h2o's configuration (no access-log directive: no access log). As
# root h2o would switch to "nobody", who may not read the files: it stays root.
h2o_conf() {
    [ "$(id -u)" = 0 ] && echo "user: root" >"$1/h2o.conf"
    cat >>"$1/h2o.conf" <<EOF
num-threads: $3
pid-file: $1/h2o.pid
error-log: $1/error.log
listen:
  host: $HOST
  port: $2
hosts:
  default:
    paths:
      /:
        file.dir: $DOCS
EOF
}

# server_cmd NAME PORT WORKERS DIR: prints the command line that starts NAME (env assignments
# first, as `env` arguments), writing any configuration it needs into DIR.
server_cmd() {
    local name=$1 port=$2 n=$3 dir=$4
    case $name in
        sockit) echo "$SOCKIT http serve -q -b $HOST -p $port -d $DOCS -t $n" ;;
        h2o) h2o_conf "$dir" "$port" "$n"; echo "h2o -c $dir/h2o.conf" ;;
        nginx) nginx_conf "$dir" "$HOST" "$port" "$n" "$DOCS"; echo "nginx -p $dir/ -e $dir/error.log -c $dir/nginx.conf" ;;
        python) echo "python3 -m http.server -b $HOST -d $DOCS $port" ;;
        hello_sockit) if [ "$n" = 1 ]; then echo "$SOCKIT_HELLO $port"; else echo "$SOCKIT_HELLO $port $n"; fi ;;
        hello_mhd) echo "$MHD_HELLO $port $n" ;;
        hello_go) echo "env GOMAXPROCS=$n $GO_HELLO $port" ;;
    esac
}

# available NAME: 0 when NAME can run; otherwise sets SKIP[NAME] to the reason.
available() {
    local name=$1
    case $name in
        sockit)
            if [ ! -x "$SOCKIT" ]; then SKIP[$name]="$SOCKIT not built"
            elif timeout 5 "$SOCKIT" http serve --help </dev/null 2>&1 | grep -qi "not built"; then
                SKIP[$name]="'sockit http serve' is not built yet ($(timeout 5 "$SOCKIT" http serve --help </dev/null 2>&1 | head -1))"
            fi ;;
        h2o) command -v h2o >/dev/null || SKIP[$name]="h2o not installed (Debian package h2o)" ;;
        nginx) command -v nginx >/dev/null || SKIP[$name]="nginx not installed (Debian package nginx-light or nginx)" ;;
        python) command -v python3 >/dev/null || SKIP[$name]="python3 not installed" ;;
        hello_sockit) [ -x "$SOCKIT_HELLO" ] || SKIP[$name]="bench_sockit_hello not built ($SOCKIT_HELLO absent)" ;;
        hello_mhd) [ -x "$MHD_HELLO" ] || SKIP[$name]="$MHD_HELLO not built (Debian package libmicrohttpd-dev, then re-run cmake)" ;;
        hello_go)
            if ! command -v go >/dev/null; then SKIP[$name]="go not installed (Debian package golang-go)"
            elif [ ! -x "$GO_HELLO" ] || [ "$HERE/peers/go_hello.go" -nt "$GO_HELLO" ]; then
                # Standard library only: no module download, GOPROXY=off makes sure of it.
                if ! (cd "$HERE/peers" && env GOCACHE="$TMP/gocache" GOPATH="$TMP/gopath" GOPROXY=off \
                        GOFLAGS= GO111MODULE=off go build -o "$GO_HELLO" go_hello.go) >"$TMP/go.err" 2>&1; then
                    SKIP[$name]="go build of bench/peers/go_hello.go failed: $(head -c 300 "$TMP/go.err")"
                fi
            fi ;;
        *) SKIP[$name]="unknown server (static: sockit h2o nginx python; hello: sockit mhd go)" ;;
    esac
    [ -z "${SKIP[$name]:-}" ]
}

# start NAME WORKERS: starts NAME on a free port, pinned, in its own process group, and polls it
# with curl until it answers (20 s at most). Sets PID[NAME.WORKERS] and PORT[NAME.WORKERS].
# A port taken between free_port and the server's bind (another job on the machine) is retried
# with a new port, twice.
start() {
    local name=$1 n=$2 attempt port dir cmd pid url
    local what=${name#hello_}
    local path=${URLPATH[small]}; [ "$name" != "$what" ] && path=${URLPATH[hello]}
    for attempt in 1 2 3; do
        port=$(free_port)
        dir=$TMP/$name.$n.$attempt; mkdir -p "$dir"
        cmd=$(server_cmd "$name" "$port" "$n" "$dir")
        # shellcheck disable=SC2086
        setsid $PIN_SRV $cmd >"$dir/out" 2>"$dir/err" </dev/null &
        pid=$!
        url="http://$HOST:$port$path"
        if wait_ready "$url" "$pid"; then
            PID[$name.$n]=$pid; PORT[$name.$n]=$port
            note "   $name, $n worker(s): port $port, pid $pid: $cmd"
            return 0
        fi
        stop_group "$pid"
        note "   $name, $n worker(s), attempt $attempt: no answer from $url ($cmd): $(tail -c 300 "$dir/err")"
    done
    return 1
}

# to_us VALUE: wrk's duration ("812.00us", "1.20ms", "2.01s", "1.00m") in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
        m = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1000000 : (u == "m") ? 60000000 : 0;
        if (m == 0) print "-"; else printf "%.0f", n * m }'
}

declare -A R           # R[kind.name.workers.conns.metric]: rps p50 p99 cpu errs
declare -A HAVE        # HAVE[name.workers] = 1 when the server ran at that worker count
# measure KIND NAME WORKERS CONNS: one warm-up and one measured wrk run; records the figures.
measure() {
    local kind=$1 name=$2 n=$3 c=$4 key="$1.$2.$3.$4"
    local pg=${PID[$name.$n]} url="http://$HOST:${PORT[$name.$n]}${URLPATH[$kind]}"
    local t=$WRK_THREADS; [ "$t" -gt "$c" ] && t=$c
    local bound=$(( ${SECS%.*} + ${WARM%.*} + 30 )) out=$TMP/wrk.out before after
    # shellcheck disable=SC2086
    [ "$WARM" != 0 ] && timeout "$bound" $PIN_LG wrk -t "$t" -c "$c" -d "${WARM}s" "$url" >/dev/null 2>&1
    before=$(cpu_ticks "$pg")
    # shellcheck disable=SC2086
    timeout "$bound" $PIN_LG wrk -t "$t" -c "$c" -d "${SECS}s" --timeout 5s --latency "$url" >"$out" 2>&1
    after=$(cpu_ticks "$pg")
    local reqs rps p50 p99 errs cpu
    reqs=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out")
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out")
    if [ -z "$reqs" ] || [ -z "$rps" ] || [ "$reqs" = 0 ]; then
        note "   $kind $name w=$n c=$c: no result from wrk: $(head -c 300 "$out")"
        STATUS=1; return
    fi
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")
    errs=$(awk '/Socket errors:/ { gsub(/,/, ""); s += $4 + $6 + $8 + $10 }
                /Non-2xx or 3xx/ { s += $NF } END { print s + 0 }' "$out")
    cpu=$(awk -v a="$before" -v b="$after" -v t="$TICK" -v r="$reqs" \
          'BEGIN { printf "%.1f", (b - a) * 1e6 / t / r }')
    rps=$(printf '%.0f' "$rps")
    R[$key.rps]=$rps; R[$key.p50]=$p50; R[$key.p99]=$p99; R[$key.cpu]=$cpu; R[$key.errs]=$errs
    HAVE[$name.$n]=1
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$name" "$n" "$c" "$rps" "$p50" "$p99" \
        "$cpu" "$errs" "$reqs" >>"$TSV"
    note "   $kind $name w=$n c=$c: $rps req/s, p50 ${p50} us, p99 ${p99} us, server CPU ${cpu} us/req, $reqs requests, $errs errors"
}

# run_set KIND "NAMES" WORKERS: starts the available servers of the set, measures them in turns.
run_set() {
    local kind_set=$1 names=$2 n=$3 name kinds c k up=()
    for name in $names; do
        [ -n "${SKIP[$name]:-}" ] && continue
        [ "$name" = python ] && [ "$n" != 1 ] && continue   # no worker setting: runs once
        if start "$name" "$n"; then up+=("$name"); else note "   FAILED: $name did not start"; STATUS=1; fi
    done
    if [ "$kind_set" = static ]; then kinds="small big"; else kinds=hello; fi
    for k in $kinds; do
        for c in $CONNS; do
            for name in "${up[@]}"; do measure "$k" "$name" "$n" "$c"; done
        done
    done
    for name in "${up[@]}"; do
        kill -0 "${PID[$name.$n]}" 2>/dev/null || note "   $name (w=$n) died during the run"
        stop_group "${PID[$name.$n]}"; unset "PID[$name.$n]"
    done
}

# ---- the runs --------------------------------------------------------------------------------
command -v wrk >/dev/null || { note "http_bench: wrk not installed (Debian package wrk): skipped"; exit 0; }
command -v curl >/dev/null || { note "http_bench: curl not installed: skipped"; exit 0; }
mkdir -p "$BUILD/bench"
printf 'kind\tserver\tworkers\tconns\trps\tp50_us\tp99_us\tcpu_us_per_req\terrors\trequests\n' >"$TSV"
note "http benchmark: $NCPU CPUs, $(uname -r); $PINNING; wrk $WRK_THREADS thread(s), ${WARM}s warm-up + ${SECS}s per run"
note "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
note "versions: $(h2o --version 2>/dev/null | head -1); $(nginx -v 2>&1); $(python3 --version 2>&1); \
libmicrohttpd $(pkg-config --modversion libmicrohttpd 2>/dev/null || echo -); $(go version 2>/dev/null || echo 'no go'); $(wrk -v 2>&1 | head -1)"
T0=$(date +%s)
HS=""; for s in $HELLO_SERVERS; do HS="$HS hello_$s"; done
for s in $STATIC_SERVERS $HS; do available "$s" || note "== $s: SKIPPED: ${SKIP[$s]}"; done
for n in $WORKERS; do
    note "== static files, $n server worker(s)"
    run_set static "$STATIC_SERVERS" "$n"
done
for n in $HELLO_WORKERS; do
    note "== dynamic hello, $n server worker(s)"
    run_set hello "$HS" "$n"
done

# ---- the tables --------------------------------------------------------------------------------
# ratio A B: A/B to two decimals, "-" when either is missing or B is 0.
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN{ if (a == "" || a == "-" || b == "" || b == "-" || b + 0 <= 0) print "-"; else printf "%.2f", a/b }'; }
get() { printf '%s' "${R[$1]:--}"; }

note ""
note "== results (same run, same machine; $PINNING; wrk -t $WRK_THREADS -d ${SECS}s --latency, keep-alive)"
note "   server CPU/req: user+system time of the server's processes over the run / requests (lower is better)"
note ""
note "| load | conns | workers | server | requests/s | p50 µs | p99 µs | server CPU µs/req | errors |"
note "|---|---|---|---|---|---|---|---|---|"
for k in small big hello; do
    if [ "$k" = hello ]; then ws=$HELLO_WORKERS; names=$HS; else ws=$WORKERS; names=$STATIC_SERVERS; fi
    for n in $ws; do for c in $CONNS; do for s in $names; do
        key=$k.$s.$n.$c
        [ -z "${R[$key.rps]:-}" ] && continue
        note "| ${FILELABEL[$k]} | $c | $n | ${s#hello_} | ${R[$key.rps]} | ${R[$key.p50]} | ${R[$key.p99]} | ${R[$key.cpu]} | ${R[$key.errs]} |"
    done; done; done
done

# ratio_rows KIND BASE "PEERS" WORKERS: for each connection count, BASE/peer for requests/s
# (higher is better), CPU per request and p99 (lower is better). python ran once: its 1-worker
# figures are the yardstick at every worker count.
ratio_rows() {
    local k=$1 base=$2 peers=$3 n=$4 c p pn line
    for c in $CONNS; do
        line="| ${FILELABEL[$k]} | $c | $n |"
        for p in $peers; do
            pn=$n; [ "$p" = python ] && pn=1
            local b=$k.$base.$n.$c q=$k.$p.$pn.$c
            line="$line $(ratio "$(get "$b.rps")" "$(get "$q.rps")") | $(ratio "$(get "$b.cpu")" "$(get "$q.cpu")") | $(ratio "$(get "$b.p99")" "$(get "$q.p99")") |"
        done
        note "$line"
    done
}
header() {  # header "PEERS"
    local p h="| load | conns | workers |" u="|---|---|---|"
    for p in $1; do h="$h ÷${p#hello_} req/s | ÷${p#hello_} CPU/req | ÷${p#hello_} p99 |"; u="$u---|---|---|"; done
    note "$h"; note "$u"
}
note ""
note "== sockit / peer (same run): requests/s (target ≥ 1.0 vs h2o, ≥ 25 vs python), CPU/req and p99 (target ≤ 1.0 vs h2o)"
if [ -n "${SKIP[sockit]:-}" ]; then note "   (sockit skipped: ${SKIP[sockit]})"
else
    header "h2o nginx python"
    for k in small big; do for n in $WORKERS; do ratio_rows "$k" sockit "h2o nginx python" "$n"; done; done
fi
note ""
note "== hello: sockit / peer (same run): requests/s (target ≥ 1.5 vs libmicrohttpd, ≥ 1.0 vs Go), CPU/req, p99"
if [ -n "${SKIP[hello_sockit]:-}" ]; then note "   (sockit hello skipped: ${SKIP[hello_sockit]})"
else
    header "hello_mhd hello_go"
    for n in $HELLO_WORKERS; do ratio_rows hello hello_sockit "hello_mhd hello_go" "$n"; done
fi
note ""
note "== peers against h2o (same run; the yardstick for sockit's targets)"
header "nginx python"
for k in small big; do for n in $WORKERS; do
    for c in $CONNS; do
        line="| ${FILELABEL[$k]} | $c | $n |"
        for p in nginx python; do
            pn=$n; [ "$p" = python ] && pn=1
            line="$line $(ratio "$(get "$k.$p.$pn.$c.rps")" "$(get "$k.h2o.$n.$c.rps")") | $(ratio "$(get "$k.$p.$pn.$c.cpu")" "$(get "$k.h2o.$n.$c.cpu")") | $(ratio "$(get "$k.$p.$pn.$c.p99")" "$(get "$k.h2o.$n.$c.p99")") |"
        done
        note "$line"
    done
done; done
note "   (ratios are peer ÷ h2o; python ran once, with one process)"
note ""
note "results as tab-separated values: $TSV"

# ---- the chart: requests/s against connections, one panel per load -----------------------------
draw_chart() {
    # The data and the gnuplot script stay in BUILD/bench, to redraw or restyle the chart.
    local data=$BUILD/bench/http_chart.dat gp=$BUILD/bench/http_chart.gp idx=0 k s n c panel plots
    : >"$data"
    {
        case $CHART in
            *.png) echo "set terminal pngcairo size 1500,520 font 'sans,10'" ;;
            *) echo "set terminal svg size 1500,520 dynamic font 'sans,11'" ;;
        esac
        echo "set output '$CHART'"
        echo "set multiplot layout 1,3 title 'HTTP requests/s vs connections (wrk, $(date -u +%Y-%m-%d), $PINNING)'"
        echo "set logscale xy; set xlabel 'connections'; set ylabel 'requests/s'; set grid"
        echo "set xtics (${CONNS// /,}); set key outside bottom center horizontal"
        echo "set offsets graph 0.1, graph 0.1, 0, 0; set format y '%.0s%c'"
    } >"$gp"
    for k in small big hello; do
        if [ "$k" = hello ]; then ws=$HELLO_WORKERS; names=$HS; else ws=$WORKERS; names=$STATIC_SERVERS; fi
        plots=""
        local color=0
        for s in $names; do color=$((color + 1)); for n in $ws; do   # a colour per server, a dash per worker count
            [ -z "${HAVE[$s.$n]:-}" ] && continue
            for c in $CONNS; do
                [ -n "${R[$k.$s.$n.$c.rps]:-}" ] && echo "$c ${R[$k.$s.$n.$c.rps]}" >>"$data"
            done
            printf '\n\n' >>"$data"
            local dt=1; [ "$n" != 1 ] && dt=2
            plots="$plots, '$data' index $idx using 1:2 with linespoints lw 2 lc $color dt $dt title '${s#hello_} w=$n'"
            idx=$((idx + 1))
        done; done
        panel="${FILELABEL[$k]}"
        echo "set title '$panel'" >>"$gp"
        if [ -n "$plots" ]; then echo "plot ${plots#, }" >>"$gp"
        else echo "set label 1 'no data' at graph 0.5, graph 0.5 center; plot [50:500] [1:10] NaN notitle; unset label 1" >>"$gp"; fi
    done
    echo "unset multiplot" >>"$gp"
    if gnuplot "$gp" 2>"$TMP/gnuplot.err"; then note "chart: $CHART (gnuplot $gp)"
    else note "chart: gnuplot failed: $(head -c 300 "$TMP/gnuplot.err")"; fi
}
if [ -n "$CHART" ]; then
    if command -v gnuplot >/dev/null; then draw_chart
    else note "chart: not drawn (gnuplot not installed: Debian package gnuplot-nox or gnuplot)"; fi
fi
note "http benchmark took $(( $(date +%s) - T0 ))s"
exit "$STATUS"
