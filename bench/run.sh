#!/bin/sh
# make bench: every benchmark of the project, each reporting ratios against a peer measured in
# the same run on the same machine. Usage: bench/run.sh BUILD_DIR
set -eu
BUILD=${1:-build}
echo "== bench_core: sockit's core vs raw syscalls (same run, same machine)"
"$BUILD/bench/bench_core"
echo
echo "== echo_bench: sockit echo vs raw epoll, libuv and asyncio (same run, same machine)"
"$(dirname "$0")/echo_bench.sh" "$BUILD"
echo; echo "== tls_bench: sockit TLS vs openssl s_time/s_server/s_client (same run, same machine)"; "$(dirname "$0")/tls_bench.sh" "$BUILD"
echo; echo "== parser_bench: sockit's HTTP parser vs picohttpparser and http-parser (same run, same machine)"
if [ -x "$BUILD/bench/bench_parser" ]; then "$(dirname "$0")/parser_bench.sh" "$BUILD"
else echo "bench_parser not built: install libh2o-evloop0.13 (picohttpparser) and libhttp-parser-dev (http-parser)"; fi
echo; echo "== http_bench: sockit http serve vs h2o, nginx, python http.server; hello vs libmicrohttpd, Go (same run, same machine)"
"$(dirname "$0")/http_bench.sh" "$BUILD"
echo; echo "== client_bench: sockit's HTTP client vs curl, libcurl in-process, Python http.client against nginx (same run, same machine)"
"$(dirname "$0")/client_bench.sh" "$BUILD"
echo; echo "== ftp_bench: sockit ftp get/put vs curl and Python ftplib against vsftpd and pyftpdlib, plain and FTPS (same run, same machine)"
"$(dirname "$0")/ftp_bench.sh" "$BUILD"
