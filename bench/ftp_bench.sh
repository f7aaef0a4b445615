#!/usr/bin/env bash
# FTP client benchmark (issue 11): `sockit ftp get/put` against curl and Python's ftplib,
# downloading and uploading one big file from/to vsftpd and pyftpdlib, plain FTP and explicit
# FTPS, all measured in this run on this machine, with the ratios between them.
# Usage: bench/ftp_bench.sh BUILD_DIR          (run by `make bench` through bench/run.sh)
#
# Servers (both started by this script, each on a free port, in its own process group, pinned
# to CPU 0; every client pinned to CPU 1):
#   vsftpd     Debian's, in the foreground (background=NO) with a config of this script's own:
#              anonymous login, uploads allowed into up/ (owned by the ftp user), passive mode,
#              ssl_enable=YES with require_ssl_reuse=YES (vsftpd's default: an FTPS data
#              connection must resume the control connection's TLS session) — plain and FTPS
#              both allowed, so one server takes both kinds of client
#   pyftpdlib  bench/peers/pyftpd_server.py (Debian's python3-pyftpdlib + pyOpenSSL): one
#              process, user bench:bench, TLS_FTPHandler with TLS offered, not required
# The certificate (RSA 2048, CN and subjectAltName 127.0.0.1, 2 days) is made by the script; every
# client verifies it (curl --cacert, ftplib's --cafile, sockit: --cacert when the command has it,
# else SSL_CERT_FILE).
# File: big.bin, SIZE bytes (default 1 GiB) of /dev/urandom data, written once per run (so it
# is in the page cache; FTP_BENCH_SPARSE=1: a sparse file instead).
# Rows: server × mode (plain, tls) × direction:
#   get  RETR big.bin, to /dev/null (FTP_BENCH_DEST=file: to a file in the temp dir, size checked
#        and removed after each run)
#   put  STOR of big.bin into up/ on the server (the server's copy's size checked, then removed)
# Everything (big.bin, the servers' roots) is in one temp dir, on tmpfs (/dev/shm) when it has
# room (bench_tmpdir in bench/lib.sh): an upload then costs no disk writeback, whose timing is the
# server's and the kernel's, not the client's.
# Clients:
#   sockit   BUILD/bin/sockit ftp get -s [--tls --cacert CERT] -o DEST URL
#                             | ftp put -s [--tls --cacert CERT] FILE URL
#   curl     curl -s [--ssl-reqd --cacert CERT] -o DEST URL | -T FILE URL
#   ftplib   python3 bench/peers/ftplib_xfer.py [--tls --cafile CERT] get URL DEST | put FILE URL
#            (256 KiB blocks; data connections resume the TLS session, see the peer)
# Measurement: bench_rusage_run around each client (wall time, user+sys CPU at µs resolution) and
# the server's CPU (utime+stime+reaped children of its process group from /proc, ticks; vsftpd's
# session processes are waited for before it is read, yet they are often not reaped into the
# listener's counts: vsftpd's column is not printed). Clients take
# turns, FTP_BENCH_RUNS rounds (default 3); MiB/s from each client's best round (shortest wall
# time: the least disturbed by other work on a shared machine), CPU figures the medians.
# Knobs (environment): SIZE (bytes, default 1073741824), FTP_BENCH_RUNS (3), FTP_BENCH_SERVERS
# ("vsftpd pyftpdlib"), FTP_BENCH_MODES ("plain tls"), FTP_BENCH_DIRS ("get put"),
# FTP_BENCH_CLIENTS ("sockit curl ftplib"), FTP_BENCH_DEST (null), FTP_BENCH_SPARSE (0),
# FTP_BENCH_SOCKIT (the sockit binary; default BUILD/bin/sockit).
# Exit status: non-zero only if an installed server fails to start or an installed client fails
# a run.
set -u
set +m   # no job control: setsid must exec in place, so the pid we hold is the group id

BUILD=${1:?usage: ftp_bench.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SIZE=${SIZE:-1073741824}
RUNS=${FTP_BENCH_RUNS:-3}
SERVERS=${FTP_BENCH_SERVERS:-vsftpd pyftpdlib}
MODES=${FTP_BENCH_MODES:-plain tls}
DIRS=${FTP_BENCH_DIRS:-get put}
CLIENTS=${FTP_BENCH_CLIENTS:-sockit curl ftplib}
DEST_KIND=${FTP_BENCH_DEST:-null}
SPARSE=${FTP_BENCH_SPARSE:-0}
HOST=127.0.0.1
TICK=$(getconf CLK_TCK)
SOCKIT=${FTP_BENCH_SOCKIT:-$BUILD/bin/sockit}
RUSAGE=$BUILD/bench/bench_rusage_run
FTPLIB=$HERE/peers/ftplib_xfer.py
PYFTPD=$HERE/peers/pyftpd_server.py
TSV=$BUILD/bench/ftp_results.tsv
RUN_BOUND=600    # seconds any one client run may take before it is killed

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
TMP=$(bench_tmpdir $((2 * SIZE)))   # the file, downloads to a file and uploads: tmpfs when it has room
declare -A PG PORT ROOT SKIP   # per server: process group, port, served directory; why skipped
STATUS=0
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    local s
    for s in "${!PG[@]}"; do stop_group "${PG[$s]}"; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
set_pinning "the servers" "the client"

# ---- the files, the certificate, the servers ---------------------------------------------------
chmod 755 "$TMP"
CERT=$TMP/cert.pem KEY=$TMP/key.pem

# A Python that has pyftpdlib: Debian's package is for Debian's python3, which is not always the
# first python3 on PATH.
pyftpd_python() {
    local py
    for py in python3 /usr/bin/python3; do
        "$py" -c 'import pyftpdlib, OpenSSL' 2>/dev/null && { echo "$py"; return 0; }
    done
    return 1
}

vsftpd_conf() {   # vsftpd_conf DIR PORT ROOT
    cat >"$1/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=$HOST
listen_port=$2
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$3
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_other_write_enable=YES
anon_umask=022
secure_chroot_dir=$1/empty
seccomp_sandbox=NO
pasv_enable=YES
pasv_address=$HOST
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=NO
force_anon_data_ssl=NO
require_ssl_reuse=YES
ssl_ciphers=HIGH
rsa_cert_file=$CERT
rsa_private_key_file=$KEY
ssl_tlsv1=NO
ssl_sslv2=NO
ssl_sslv3=NO
xferlog_enable=NO
vsftpd_log_file=$1/vsftpd.log
syslog_enable=NO
EOF
}

# url SERVER PATH: the URL of PATH on SERVER (with its login).
url() {
    case $1 in
        vsftpd) echo "ftp://$HOST:${PORT[$1]}/$2" ;;
        pyftpdlib) echo "ftp://bench:bench@$HOST:${PORT[$1]}/$2" ;;
    esac
}

# start SERVER: on a free port, in its own process group, pinned; ready when curl lists its root
# (20 s at most). A port taken between free_port and the bind is retried, twice.
start() {
    local name=$1 attempt port dir root pid py
    for attempt in 1 2 3; do
        port=$(free_port)
        dir=$TMP/$name.$attempt root=$dir/root
        mkdir -p "$root/up" "$dir/empty"
        chmod 755 "$dir" "$root"
        ln "$TMP/big.bin" "$root/big.bin"
        case $name in
            vsftpd)
                chown ftp "$root/up"   # anonymous sessions run as the ftp user
                vsftpd_conf "$dir" "$port" "$root"
                # shellcheck disable=SC2086
                setsid $PIN_SRV vsftpd "$dir/vsftpd.conf" >"$dir/out" 2>"$dir/err" </dev/null & ;;
            pyftpdlib)
                py=$(pyftpd_python)
                # shellcheck disable=SC2086
                setsid $PIN_SRV "$py" "$PYFTPD" "$port" "$root" bench bench --cert "$CERT" --key "$KEY" \
                    >"$dir/out" 2>"$dir/err" </dev/null & ;;
        esac
        pid=$!
        PORT[$name]=$port
        if wait_ready "$(url "$name" "")" "$pid"; then
            PG[$name]=$pid; ROOT[$name]=$root
            note "$name: port $port, pid $pid, serving $root"
            return 0
        fi
        stop_group "$pid"
        note "$name attempt $attempt on port $port failed: $(tail -c 300 "$dir/err")"
    done
    return 1
}

available() {   # available CLIENT: 0 when it can run, else SKIP[CLIENT] says why
    case $1 in
        sockit)
            if [ ! -x "$SOCKIT" ]; then SKIP[$1]="$SOCKIT not built"
            elif timeout 5 "$SOCKIT" ftp get --help </dev/null 2>&1 | grep -qi "not built"; then
                SKIP[$1]="'sockit ftp' is not built yet"
            fi ;;
        curl) command -v curl >/dev/null || SKIP[$1]="curl not installed" ;;
        ftplib) command -v python3 >/dev/null || SKIP[$1]="python3 not installed" ;;
        vsftpd) command -v vsftpd >/dev/null || SKIP[$1]="vsftpd not installed (Debian package vsftpd)" ;;
        pyftpdlib) pyftpd_python >/dev/null || SKIP[$1]="pyftpdlib not importable (Debian packages python3-pyftpdlib python3-openssl)" ;;
        *) SKIP[$1]="unknown (clients: sockit curl ftplib; servers: vsftpd pyftpdlib)" ;;
    esac
    [ -z "${SKIP[$1]:-}" ]
}

# client_cmd CLIENT SERVER MODE DIR: fills CMD; sets DEST (get) or REMOTE (put: the server's file).
SOCKIT_CAFLAG=""   # "--cacert" when sockit ftp has it, else "" (then SSL_CERT_FILE tells it)
client_cmd() {
    local c=$1 s=$2 mode=$3 dir=$4 u name
    name="up/$c.bin"
    if [ "$dir" = get ]; then u=$(url "$s" big.bin); else u=$(url "$s" "$name"); REMOTE=${ROOT[$s]}/$name; fi
    DEST=/dev/null; [ "$DEST_KIND" = file ] && DEST=$TMP/dl.bin
    case $c in
        sockit)
            if [ "$mode" = tls ]; then
                if [ -n "$SOCKIT_CAFLAG" ]; then CMD=("$SOCKIT" ftp "$dir" -s --tls --cacert "$CERT")
                else CMD=(env "SSL_CERT_FILE=$CERT" "$SOCKIT" ftp "$dir" -s --tls); fi
            else CMD=("$SOCKIT" ftp "$dir" -s); fi
            if [ "$dir" = get ]; then CMD+=(-o "$DEST" "$u"); else CMD+=("$TMP/big.bin" "$u"); fi ;;
        curl)
            CMD=(curl -s); [ "$mode" = tls ] && CMD+=(--ssl-reqd --cacert "$CERT")
            if [ "$dir" = get ]; then CMD+=(-o "$DEST" "$u"); else CMD+=(-T "$TMP/big.bin" "$u"); fi ;;
        ftplib)
            CMD=(python3 "$FTPLIB"); [ "$mode" = tls ] && CMD+=(--tls --cafile "$CERT")
            if [ "$dir" = get ]; then CMD+=(get "$u" "$DEST"); else CMD+=(put "$TMP/big.bin" "$u"); fi ;;
    esac
}

# settle PG: waits (5 s at most) until the server is back to its listening process alone: vsftpd's
# session processes (which call setsid, so they are not in the group: they are the listener's
# children) have ended and been reaped, so that their CPU time is in the listener's cstime.
settle() {
    local tries=100
    while { [ "$(pgrep -g "$1" | wc -l)" -gt 1 ] || pgrep -P "$1" >/dev/null; } && [ "$tries" -gt 0 ]; do
        sleep 0.05; tries=$((tries - 1))
    done
}

declare -A V   # V[server.mode.dir.client] = "wall,cpu,srv" per round
run_one() {   # run_one CLIENT SERVER MODE DIR
    local c=$1 s=$2 mode=$3 dir=$4 key="$2.$3.$4.$1" before after rc line size rep=$TMP/rusage
    client_cmd "$c" "$s" "$mode" "$dir"
    rm -f "$TMP/dl.bin"
    settle "${PG[$s]}"
    before=$(cpu_ticks "${PG[$s]}")
    # shellcheck disable=SC2086
    $PIN_CL "$RUSAGE" -r "$rep" -t "$RUN_BOUND" -- "${CMD[@]}" >"$TMP/client.out" 2>"$TMP/client.err"
    rc=$?
    settle "${PG[$s]}"
    after=$(cpu_ticks "${PG[$s]}")
    line=$(cat "$rep" 2>/dev/null)
    if [ "$dir" = get ]; then
        size=$SIZE; [ "$DEST" != /dev/null ] && size=$(stat -c %s "$DEST" 2>/dev/null)
        rm -f "$TMP/dl.bin"
    else
        size=$(stat -c %s "$REMOTE" 2>/dev/null); rm -f "$REMOTE"
    fi
    if [ "$rc" != 0 ] || [ -z "$line" ] || [ "$size" != "$SIZE" ]; then
        note "   $s $mode $dir $c: FAILED (status $rc, ${size:-no} of $SIZE bytes): $(head -c 400 "$TMP/client.err")"
        STATUS=1; return 1
    fi
    local wall cpu srv
    wall=$(field "$line" wall); cpu=$(field "$line" cpu)
    srv=$(awk -v a="$before" -v b="$after" -v t="$TICK" 'BEGIN { printf "%.3f", (b - a) / t }')
    V[$key]="${V[$key]:-} $wall,$cpu,$srv"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$mode" "$dir" "$c" "$wall" "$cpu" "$srv" >>"$TSV"
    note "   $s $mode $dir $c: wall $wall s, client CPU $cpu s (user $(field "$line" user), sys $(field "$line" sys)), server CPU $srv s"
}

figure() {   # figure STAT I KEY: STAT (median_of, min_of) of the I-th figure (1 wall, 2 cpu, 3 srv) of KEY's rounds
    # shellcheck disable=SC2086,SC2046  # split on purpose: one round per word
    "$1" $(printf '%s\n' ${V[$3]:-} | cut -d, -f"$2")
}

# ---- the runs ------------------------------------------------------------------------------------
[ -x "$RUSAGE" ] || { note "ftp_bench: $RUSAGE not built"; exit 1; }
command -v curl >/dev/null || { note "ftp_bench: curl not installed: skipped"; exit 0; }
mkdir -p "$BUILD/bench"
printf 'server\tmode\tdir\tclient\twall_s\tclient_cpu_s\tserver_cpu_s\n' >"$TSV"
note "ftp client benchmark: $(nproc) CPUs, $(uname -r); $PINNING"
note "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
note "versions: vsftpd $(dpkg-query -W -f '${Version}' vsftpd 2>/dev/null || echo -); pyftpdlib $($(pyftpd_python || echo python3) -c 'import pyftpdlib; print(pyftpdlib.__ver__)' 2>/dev/null); $(curl --version | head -1); $(python3 --version 2>&1)"
T0=$(date +%s)
note "files in $TMP ($(stat -f -c %T "$TMP"); BENCH_TMPDIR picks another place)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$KEY" -out "$CERT" -subj "/CN=$HOST" \
    -addext "subjectAltName=IP:$HOST" -days 2 2>"$TMP/openssl.err" >/dev/null ||
    { note "ftp_bench: openssl req failed: $(head -c 300 "$TMP/openssl.err")"; exit 1; }
chmod 644 "$CERT" "$KEY"
if [ "$SPARSE" = 1 ]; then
    truncate -s "$SIZE" "$TMP/big.bin"
    note "big.bin: $SIZE bytes, SPARSE (no data blocks: the servers read zero pages)"
else
    t=$(date +%s.%N)
    head -c "$SIZE" /dev/urandom >"$TMP/big.bin"
    note "big.bin: $SIZE bytes of /dev/urandom data, written in $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s (in the page cache from here on)"
fi
chmod 644 "$TMP/big.bin"
note "downloads go to $([ "$DEST_KIND" = file ] && echo "a file in $TMP" || echo /dev/null); uploads are removed from the server after each run"

up_servers=()
for s in $SERVERS; do
    if ! available "$s"; then note "== $s: SKIPPED: ${SKIP[$s]}"
    elif start "$s"; then up_servers+=("$s")
    else note "== $s: FAILED to start"; STATUS=1; fi
done
up=()
for c in $CLIENTS; do
    if available "$c"; then up+=("$c"); else note "== $c: SKIPPED: ${SKIP[$c]}"; fi
done
if [ -n "${up[*]}" ] && [ "${up[0]}" = sockit ] && "$SOCKIT" ftp get --help 2>&1 | grep -q -- '--cacert'; then
    SOCKIT_CAFLAG=--cacert
fi
for s in "${up_servers[@]}"; do
    for mode in $MODES; do
        for dir in $DIRS; do
            note "== $s $mode $dir: $RUNS rounds, clients in turn"
            for c in "${up[@]}"; do client_cmd "$c" "$s" "$mode" "$dir"; note "   $c: ${CMD[*]}"; done
            for ((r = 1; r <= RUNS; r++)); do
                for c in "${up[@]}"; do run_one "$c" "$s" "$mode" "$dir"; done
            done
        done
    done
done

# ---- the tables ----------------------------------------------------------------------------------
declare -A M
for s in "${up_servers[@]}"; do for mode in $MODES; do for dir in $DIRS; do for c in "${up[@]}"; do
    k=$s.$mode.$dir.$c
    w=$(figure min_of 1 "$k"); [ -z "$w" ] && continue
    M[$k.wall]="$(printf '%.3f / %.3f' "$w" "$(figure median_of 1 "$k")")"
    M[$k.rate]=$(awk -v s="$SIZE" -v w="$w" 'BEGIN{printf "%.0f", s / w / 1048576}')
    M[$k.cpu]=$(awk -v s="$SIZE" -v c="$(figure median_of 2 "$k")" 'BEGIN{printf "%.3f", c * 1073741824 / s}')
    M[$k.srv]=$(awk -v s="$SIZE" -v c="$(figure median_of 3 "$k")" 'BEGIN{printf "%.3f", c * 1073741824 / s}')
    [ "$s" = vsftpd ] && M[$k.srv]="-"   # not reliable: see the note under the table
done; done; done; done

note ""
note "== results (same run, same machine; $PINNING; $RUNS rounds; $SIZE bytes)"
note "   MiB/s (+) from the best round (shortest wall time); client and server CPU seconds per GiB (-), medians"
note ""
note "| server | mode | dir | client | wall s best / median | MiB/s | client CPU s/GiB | server CPU s/GiB |"
note "|---|---|---|---|---|---|---|---|"
for s in "${up_servers[@]}"; do for mode in $MODES; do for dir in $DIRS; do for c in "${up[@]}"; do
    k=$s.$mode.$dir.$c
    [ -z "${M[$k.rate]:-}" ] && continue
    note "| $s | $mode | $dir | $c | ${M[$k.wall]} | ${M[$k.rate]} | ${M[$k.cpu]} | ${M[$k.srv]} |"
done; done; done; done
note "   vsftpd's server CPU is not shown: its session processes (setsid, two per session) are often not"
note "   reaped into the listener's counts, so most runs read ~0; pyftpdlib (one process) is measured"
note ""
note "== sockit / peer (same run): MiB/s ratio (target ≥ 1.0 vs curl on every row), client CPU ratio (≤ 1 means sockit uses less)"
note "| server | mode | dir | ÷curl MiB/s | ÷ftplib MiB/s | ÷curl CPU | ÷ftplib CPU | target |"
note "|---|---|---|---|---|---|---|---|"
met=0 missed=0
for s in "${up_servers[@]}"; do for mode in $MODES; do for dir in $DIRS; do
    k=$s.$mode.$dir
    [ -z "${M[$k.sockit.rate]:-}" ] && continue
    r=$(ratio "${M[$k.sockit.rate]}" "${M[$k.curl.rate]:-}")
    verdict=-
    if [ "$r" != - ]; then
        if awk -v r="$r" 'BEGIN{exit !(r >= 1.0)}'; then verdict=MET; met=$((met + 1)); else verdict=MISSED; missed=$((missed + 1)); fi
    fi
    note "| $s | $mode | $dir | $r | $(ratio "${M[$k.sockit.rate]}" "${M[$k.ftplib.rate]:-}") | $(ratio "${M[$k.sockit.cpu]}" "${M[$k.curl.cpu]:-}") | $(ratio "${M[$k.sockit.cpu]}" "${M[$k.ftplib.cpu]:-}") | $verdict |"
done; done; done
note ""
note "== target (issue 11): sockit ≥ 1.0× curl on every row: $met met, $missed missed"
for c in "${!SKIP[@]}"; do note "   (skipped: $c: ${SKIP[$c]})"; done
note ""
note "== peers (same run): curl ÷ ftplib MiB/s"
for s in "${up_servers[@]}"; do for mode in $MODES; do for dir in $DIRS; do
    k=$s.$mode.$dir
    note "   $s $mode $dir: $(ratio "${M[$k.curl.rate]:-}" "${M[$k.ftplib.rate]:-}")"
done; done; done
note ""
note "results as tab-separated values: $TSV"
note "ftp client benchmark took $(( $(date +%s) - T0 ))s"
exit "$STATUS"
