# shellcheck shell=bash
# Helpers the benchmark scripts share (sourced: `. "$HERE/lib.sh"`; bash).
#   note TEXT...            print a line
#   free_port               a TCP port free on 127.0.0.1 a moment ago
#   cpu_ticks PGID          CPU time of a process group, in clock ticks
#   stop_group PGID         SIGTERM the group, up to 5 s, then SIGKILL what is left; reap
#   wait_ready URL PID      polls URL with curl until it answers (20 s at most, while PID lives)
#   field LINE KEY          the value of key=value in a line
#   ratio A B               A/B to two decimals, "-" when either is missing or B is not > 0
#   median_of V...          the median of the numbers given ("" for none)
#   min_of V...             the smallest of the numbers given ("" for none)
#   nginx_conf DIR HOST PORT WORKERS ROOT   an nginx configuration (below)
#   bench_tmpdir BYTES      a new temp dir on tmpfs (/dev/shm) when it has BYTES free, else in
#                           $TMPDIR or /tmp; $BENCH_TMPDIR, when set, is where it is made
#   set_pinning SERVER CLIENT   sets PIN_SRV and PIN_CL (taskset -c 0 / -c 1 on 2+ CPUs) and
#                           PINNING, a sentence naming what was pinned (SERVER, CLIENT: names)

note() { printf '%s\n' "$*"; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_ticks PGID: utime+stime+cutime+cstime of every process in the group, in clock ticks
# (getconf CLK_TCK per second). Reads only the group's own /proc entries: a glob over all of
# /proc races with processes that exit meanwhile (other jobs on the machine), and mawk stops at
# the first file it cannot open.
cpu_ticks() {
    local p line sum=0
    for p in $(pgrep -g "$1"); do
        { read -r line <"/proc/$p/stat"; } 2>/dev/null || continue   # exited meanwhile
        line=${line##*) }   # the fields after "(comm) ": state is 1, utime 12 ... cstime 15
        # shellcheck disable=SC2086
        set -- $line
        sum=$((sum + ${12} + ${13} + ${14} + ${15}))
    done
    echo "$sum"
}

# stop_group PGID: the group was started with setsid from a script without job control, so the
# pid held is the group id. SIGTERM, up to 5 s, then SIGKILL to what is left of it.
stop_group() {
    local pg=$1 tries=100
    kill -TERM -- "-$pg" 2>/dev/null || return 0
    while kill -0 -- "-$pg" 2>/dev/null && [ "$tries" -gt 0 ]; do sleep 0.05; tries=$((tries - 1)); done
    kill -KILL -- "-$pg" 2>/dev/null
    wait "$pg" 2>/dev/null
    return 0
}

# wait_ready URL PID: polls URL with curl until it answers (0), PID exits or 20 s pass (1).
wait_ready() {
    local tries=400
    while [ "$tries" -gt 0 ]; do
        curl -sf -o /dev/null --max-time 2 "$1" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05; tries=$((tries - 1))
    done
    return 1
}

field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

ratio() {
    awk -v a="${1:-}" -v b="${2:-}" 'BEGIN{ if (a == "" || a == "-" || b == "" || b == "-" || b + 0 <= 0) print "-"; else printf "%.2f", a/b }'
}

median_of() {
    printf '%s\n' "$@" | grep . | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2];
                                  else printf "%.6f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

min_of() {
    printf '%s\n' "$@" | grep . | sort -g | head -1
}

# bench_tmpdir BYTES: files that are written and removed at every run (uploads, downloads to a
# file) on tmpfs stay in memory: no disk writeback, whose timing is not the client's, in the
# figures.
bench_tmpdir() {
    local base=${BENCH_TMPDIR:-}
    if [ -z "$base" ]; then
        base=${TMPDIR:-/tmp}
        if [ -d /dev/shm ] && [ -w /dev/shm ] &&
           [ "$(df -k --output=avail /dev/shm 2>/dev/null | tail -1)" -gt $(( $1 / 1024 + 65536 )) ] 2>/dev/null; then
            base=/dev/shm
        fi
    fi
    mktemp -d -p "$base" bench.XXXXXX
}

# shellcheck disable=SC2034  # PIN_SRV, PIN_CL and PINNING are for the sourcing script
set_pinning() {
    if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
        PIN_SRV="taskset -c 0"; PIN_CL="taskset -c 1"
        PINNING="$1 pinned to CPU 0, $2 to CPU 1 (taskset)"
    else
        PIN_SRV=""; PIN_CL=""
        PINNING="NOT pinned (fewer than 2 cores or no taskset): $1 and $2 share CPUs"
    fi
}

# nginx_conf DIR HOST PORT WORKERS ROOT: writes DIR/nginx.conf, nginx serving ROOT on HOST:PORT
# with the fast static-file settings its documentation gives (sendfile, tcp_nopush,
# open_file_cache), in the foreground (daemon off), no access log, everything else in DIR.
# keepalive_requests is raised from its default 1000 so that one client connection lasts a whole
# run (wrk's in http_bench.sh, the 10,000-request loop in client_bench.sh). Start it with
# `nginx -p DIR/ -e DIR/error.log -c DIR/nginx.conf`.
nginx_conf() {
    cat >"$1/nginx.conf" <<EOF
user root;
worker_processes $4;
daemon off;
master_process on;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    keepalive_requests 100000;
    client_body_temp_path $1/client_body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    server {
        listen $2:$3;
        root $5;
    }
}
EOF
}
