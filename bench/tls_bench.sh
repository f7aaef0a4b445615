#!/usr/bin/env bash
# TLS benchmark: sockit's TLS against OpenSSL's own tools, measured in this run on this machine.
# Usage: bench/tls_bench.sh BUILD_DIR        (needs BUILD_DIR/bench/bench_tls and bin/sockit)
#
# One ECDSA P-256 certificate (made here). Servers are pinned to CPU 0, clients to CPU 1
# (taskset, when there are 2 cores). Each pair below takes turns TLS_BENCH_ROUNDS times and the
# best run of each side is kept (a burst of background load then hits both alike):
#   client, full handshakes     openssl s_time -new       vs  bench_tls full     -> s_server -www
#   client, resumed (TLS 1.3)   s_time -reuse -www /      vs  bench_tls resume --www
#   server, full handshakes     s_server -www             vs  sockit echo --tls -t 1, both
#                               driven by s_time -new
#   server, resumed (TLS 1.2)   the same with s_time -reuse -tls1_2 (a TLS 1.2 ticket comes in
#                               the handshake, so s_time can resume without a request)
#   bulk, client -> sink        openssl s_client < FILE   vs  bench_tls bulk (8 KiB writes, as
#                               s_client's), into s_server -quiet writing to /dev/null
# "wall" is the rate over the process's wall time (s_time's own window is whole seconds, so its
# run is timed from outside); "per CPU-s" divides the count by the measured process's user+system
# CPU time (for servers: the server's), which other load disturbs far less. Ratios are
# sockit/openssl: 1.00 is parity, above is better; the target is >= 0.90.
# Knobs: TLS_BENCH_SECS (per run, default 3), TLS_BENCH_ROUNDS (default 2), TLS_BENCH_MIB
# (bulk size, default 1024). Total time at the defaults: about 90 seconds; every step is bounded
# by `timeout`.
# $PIN_SRV / $PIN_CLI are "taskset -c N" or empty: split on purpose (file-wide).
# shellcheck disable=SC2086
set -u

BUILD=${1:?usage: tls_bench.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
SECS=${TLS_BENCH_SECS:-3}
ROUNDS=${TLS_BENCH_ROUNDS:-2}
MIB=${TLS_BENCH_MIB:-1024}
BT=$BUILD/bench/bench_tls
SOCKIT=$BUILD/bin/sockit
HOST=127.0.0.1
LIMIT=$((SECS * 3 + 20)) # timeout for any one measured step
TICK=$(getconf CLK_TCK)

for f in "$BT" "$SOCKIT"; do
    [ -x "$f" ] || { echo "tls_bench: $f not built" >&2; exit 1; }
done
command -v openssl >/dev/null || { echo "tls_bench: the openssl command is needed" >&2; exit 1; }

TMP=$(mktemp -d)
SRV_PID=""
stop_server() {
    if [ -n "$SRV_PID" ]; then kill -KILL "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; fi
    SRV_PID=""
}
cleanup() { stop_server; exec 3>&- 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    PIN_SRV="taskset -c 0"; PIN_CLI="taskset -c 1"
    PINNING="servers pinned to CPU 0, clients to CPU 1"
else
    PIN_SRV=""; PIN_CLI=""
    PINNING="NOT pinned (fewer than 2 cores or no taskset)"
fi

CERT=$TMP/cert.pem KEY=$TMP/key.pem
timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$KEY" \
    -out "$CERT" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1 ||
    { echo "tls_bench: cannot make a certificate" >&2; exit 1; }
# s_server reads commands from stdin: give it one that never ends (a FIFO we hold open).
mkfifo "$TMP/stdin" && exec 3<>"$TMP/stdin"

# start_s_server ARGS...: s_server on HOST port 0, pinned; sets SRV_PID and PORT from its
# "ACCEPT host:port" line.
start_s_server() {
    : >"$TMP/srv.out"
    $PIN_SRV openssl s_server -accept "$HOST:0" -cert "$CERT" -key "$KEY" "$@" <&3 \
        >"$TMP/srv.out" 2>"$TMP/srv.err" &
    SRV_PID=$!
    PORT=""
    for _ in $(seq 200); do
        PORT=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$TMP/srv.out")
        [ -n "$PORT" ] && return 0
        sleep 0.05
    done
    echo "tls_bench: s_server did not start: $(cat "$TMP/srv.err")" >&2
    return 1
}

# start_s_server_quiet: -quiet hides the ACCEPT line: a free port is picked and probed.
start_s_server_quiet() {
    for _ in 1 2 3 4 5; do
        PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
               echo $((20000 + RANDOM % 20000)))
        $PIN_SRV openssl s_server -quiet -accept "$HOST:$PORT" -cert "$CERT" -key "$KEY" \
            <&3 >/dev/null 2>"$TMP/srv.err" &
        SRV_PID=$!
        for _ in $(seq 100); do
            if timeout 1 bash -c "exec 5<>/dev/tcp/$HOST/$PORT" 2>/dev/null; then return 0; fi
            kill -0 "$SRV_PID" 2>/dev/null || break
            sleep 0.05
        done
        stop_server
    done
    echo "tls_bench: s_server -quiet did not start" >&2
    return 1
}

start_sockit_echo() {
    $PIN_SRV "$SOCKIT" echo -t 1 --tls --cert "$CERT" --key "$KEY" "$HOST" 0 \
        >/dev/null 2>"$TMP/srv.err" &
    SRV_PID=$!
    PORT=""
    for _ in $(seq 200); do
        PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$TMP/srv.err")
        [ -n "$PORT" ] && return 0
        sleep 0.05
    done
    echo "tls_bench: sockit echo --tls did not start: $(cat "$TMP/srv.err")" >&2
    return 1
}

server_cpu() { # the server's user+system CPU so far, in ticks
    awk '{print $14 + $15}' "/proc/$SRV_PID/stat" 2>/dev/null || echo 0
}

# timed CMD...: runs CMD (bounded), output in $TMP/out; sets REAL and CPU (seconds).
timed() {
    local TIMEFORMAT='%R %U %S'
    { time timeout "$LIMIT" "$@" >"$TMP/out" 2>&1; } 2>"$TMP/time"
    local rc=$?
    read -r REAL U S <"$TMP/time"
    CPU=$(awk -v u="$U" -v s="$S" 'BEGIN{print u+s}')
    return $rc
}

declare -A BEST # BEST[key] = best value seen
keep() { # keep KEY VALUE: remember the larger
    local k=$1 v=$2
    if [ -z "${BEST[$k]:-}" ] || awk -v a="$v" -v b="${BEST[$k]}" 'BEGIN{exit !(a>b)}'; then
        BEST[$k]=$v
    fi
}
div() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.1f", a/b; else print 0 }'; }

# s_time_run ARGS...: one s_time run; keeps rates under the key prefix $KEYP.
s_time_run() {
    timed $PIN_CLI openssl s_time -connect "$HOST:$PORT" -time "$SECS" "$@"
    local n reused
    n=$(sed -n 's/^\([0-9][0-9]*\) connections in [0-9.]*s;.*/\1/p' "$TMP/out" | head -1)
    reused=$(tr -cd 'r' <"$TMP/out" | wc -c)
    if [ -z "$n" ] || [ "$n" -eq 0 ]; then
        echo "tls_bench: s_time failed: $(tail -3 "$TMP/out")" >&2
        return 1
    fi
    keep "$KEYP.wall" "$(div "$n" "$REAL")"
    keep "$KEYP.cpu" "$(div "$n" "$CPU")"
    LAST_N=$n LAST_REUSED=$reused
}

# bench_run ARGS...: one bench_tls run; keeps its wall and per-CPU rates under $KEYP.
bench_run() {
    timed $PIN_CLI "$BT" "$@" || { echo "tls_bench: bench_tls $*: $(cat "$TMP/out")" >&2; return 1; }
    keep "$KEYP.wall" "$(awk '{print $2}' "$TMP/out")"
    keep "$KEYP.cpu" "$(awk '{print $5}' "$TMP/out")"
}

echo "TLS benchmark: ECDSA P-256, TLS 1.3 unless said; $PINNING; $ROUNDS rounds of ${SECS} s, best kept"
echo "openssl: $(openssl version)"

# ---- 1, 2: the client side, against one s_server ---------------------------------------------
if start_s_server -www; then
    for _ in $(seq "$ROUNDS"); do
        KEYP=cf.openssl s_time_run -new
        KEYP=cf.sockit bench_run full "$HOST" "$PORT" "$SECS"
        KEYP=cr.openssl s_time_run -reuse -www /
        [ "$LAST_REUSED" -ge $((LAST_N - 1)) ] || echo "  note: s_time resumed only $LAST_REUSED of $LAST_N"
        KEYP=cr.sockit bench_run resume "$HOST" "$PORT" "$SECS" --www
    done
fi
stop_server

# ---- 3: the server side, driven by s_time ---------------------------------------------------
server_round() { # server_round NAME START_FN S_TIME_ARGS...
    local name=$1 start=$2; shift 2
    $start || return 1
    local c0
    c0=$(server_cpu)
    KEYP=$KEYS.$name s_time_run "$@"
    local used
    used=$(awk -v a="$(server_cpu)" -v b="$c0" -v t="$TICK" 'BEGIN{print (a-b)/t}')
    keep "$KEYS.$name.srvcpu" "$(div "$LAST_N" "$used")"
    stop_server
}
for _ in $(seq "$ROUNDS"); do
    KEYS=sf server_round openssl "start_s_server -www" -new
    KEYS=sf server_round sockit start_sockit_echo -new
    KEYS=sr server_round openssl "start_s_server -www" -reuse -tls1_2
    KEYS=sr server_round sockit start_sockit_echo -reuse -tls1_2
done

# ---- 4: bulk, client to a sink ---------------------------------------------------------------
head -c "$((MIB * 1048576))" /dev/zero >"$TMP/bulk.bin"
if start_s_server_quiet; then
    for _ in $(seq "$ROUNDS"); do
        timed $PIN_CLI openssl s_client -connect "$HOST:$PORT" <"$TMP/bulk.bin" &&
            { keep bulk.openssl.wall "$(div "$MIB" "$REAL")"; keep bulk.openssl.cpu "$(div "$MIB" "$CPU")"; }
        KEYP=bulk.sockit bench_run bulk "$HOST" "$PORT" "$MIB" --chunk 8192
        KEYP=bulk16.sockit bench_run bulk "$HOST" "$PORT" "$MIB" --chunk 16384
        CIPHER=$(sed -n 's/.*writes, \(.*\))$/\1/p' "$TMP/out")
    done
fi
stop_server
# The ceiling: the cipher alone on one core (16 KiB blocks), as `openssl speed` measures it.
case "${CIPHER:-}" in
    TLS_AES_256_GCM_SHA384) EVP=aes-256-gcm ;;
    TLS_AES_128_GCM_SHA256) EVP=aes-128-gcm ;;
    TLS_CHACHA20_POLY1305_SHA256) EVP=chacha20-poly1305 ;;
    *) EVP="" ;;
esac
SPEED=""
if [ -n "$EVP" ]; then
    SPEED=$(timeout 30 $PIN_CLI openssl speed -seconds 2 -bytes 16384 -evp "$EVP" 2>/dev/null |
            awk 'END{ v=$NF; sub(/k$/, "", v); printf "%.1f", v * 1000 / 1048576 }')
fi
rm -f "$TMP/bulk.bin"

# ---- the table ---------------------------------------------------------------------------------
row() { # row LABEL UNIT KEY_OPENSSL KEY_SOCKIT
    local o=${BEST[$3]:-} s=${BEST[$4]:-} ratio="-" flag=""
    if [ -n "$o" ] && [ -n "$s" ]; then
        ratio=$(awk -v a="$s" -v b="$o" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }')
        awk -v r="$ratio" 'BEGIN{exit !(r < 0.90)}' && flag="  below target"
    fi
    printf '%-44s %12s %12s %8s%s\n' "$1 ($2)" "${o:--}" "${s:--}" "$ratio" "$flag"
}
echo
printf '%-44s %12s %12s %8s\n' "measure" "openssl" "sockit" "ratio"
row "client full handshakes, wall" "/s" cf.openssl.wall cf.sockit.wall
row "client full handshakes, per client CPU-s" "/s" cf.openssl.cpu cf.sockit.cpu
row "client resumed handshakes+GET, wall" "/s" cr.openssl.wall cr.sockit.wall
row "client resumed handshakes+GET, per CPU-s" "/s" cr.openssl.cpu cr.sockit.cpu
row "server full handshakes, wall" "/s" sf.openssl.wall sf.sockit.wall
row "server full handshakes, per server CPU-s" "/s" sf.openssl.srvcpu sf.sockit.srvcpu
row "server resumed TLS 1.2 handshakes, wall" "/s" sr.openssl.wall sr.sockit.wall
row "server resumed TLS 1.2, per server CPU-s" "/s" sr.openssl.srvcpu sr.sockit.srvcpu
row "bulk 8 KiB writes, wall" "MiB/s" bulk.openssl.wall bulk.sockit.wall
row "bulk 8 KiB writes, per client CPU-s" "MiB/s" bulk.openssl.cpu bulk.sockit.cpu
printf '%-44s %12s %12s\n' "bulk 16 KiB writes, wall (MiB/s)" "" "${BEST[bulk16.sockit.wall]:--}"
printf '%-44s %12s\n' "ceiling: $EVP alone, one core (MiB/s)" "${SPEED:--}"
echo "client: openssl s_time / s_client vs bench_tls; server: s_server vs sockit echo --tls -t 1"
