#!/bin/sh
# Installs the Debian packages one use of sockit needs, when any is missing. One profile each:
#   run    build the library and the command, and run them (make, make run, make install)
#   test   run + what the tests and the other builds need (make test, clang, sanitize, tsan, fuzz)
#   bench  test + the peers the benchmarks measure against (make bench)
# Usage: scripts/deps.sh [run|test|bench] (default: run). As root it uses apt-get; otherwise it
# names what is missing and carries on (the build says what fails). Cheap when nothing is
# missing: one dpkg query per package.
set -eu
RUN="build-essential cmake pkg-config libssl-dev zlib1g-dev python3 netbase"
# curl and openssl: peers in the TLS and HTTP tests; clang + its runtime: make clang, the
# sanitizers, TSan and the fuzzers; iproute2: ss for socket checks; vsftpd: the FTP tests' server;
# netcat-openbsd: the reference the relay's delivery is compared with.
# nginx-light: the HTTP client tests' real server; python3-pyftpdlib + python3-openssl: the FTP
# tests' second server (and its TLS handler).
# chromium: the real browser of tests/cli/test_http_browser.py (it skips without one).
TEST="$RUN curl openssl clang libclang-rt-14-dev iproute2 vsftpd netcat-openbsd chromium nginx-light python3-pyftpdlib python3-openssl"
# The echo benchmark's libuv peer and callgrind; the HTTP peers (h2o, nginx, libmicrohttpd,
# http-parser, Go's net/http), the load generator (wrk) and the plots (gnuplot).
# libcurl4-openssl-dev: the in-process libcurl peer of the client benchmarks.
BENCH="$TEST libcurl4-openssl-dev libuv1-dev valgrind libh2o-evloop-dev libhttp-parser-dev wrk h2o libmicrohttpd-dev golang-go gnuplot"
case "${1:-run}" in
run) PKGS=$RUN ;;
test) PKGS=$TEST ;;
bench) PKGS=$BENCH ;;
*) echo "usage: scripts/deps.sh [run|test|bench]" >&2; exit 1 ;;
esac
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || echo "deps: apt-get update failed; trying the cached lists" >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "deps: missing Debian packages:$missing (run 'make deps DEPS=${1:-run}' as root to install them)" >&2
fi
