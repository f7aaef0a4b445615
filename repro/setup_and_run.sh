#!/bin/sh
# Reproducers from the w/review pass over `sockit http serve` (loopback only, bounded loads).
# usage: repro/setup_and_run.sh [BUILD_DIR]   (default build; use build-asan for the sanitizer run)
# Makes /tmp/sockit-repro/{root,secret.txt,cert.pem,key.pem}, starts plain and TLS servers on
# 127.0.0.1 -p 0, runs every probe, stops the servers with SIGINT and prints their stderr
# (ASan/UBSan reports would be there).
set -u
B=${1:-build}; HERE=$(cd "$(dirname "$0")" && pwd); S=$HERE/../$B/bin/sockit; T=/tmp/sockit-repro
rm -rf $T; mkdir -p $T/root/sub; cd $T
echo secret > secret.txt; echo hello > root/a.txt; echo '<h1>hi</h1>' > root/index2.html
echo plain > root/p.txt; gzip -k root/p.txt; echo '{}' > root/d.json
head -c 50000000 /dev/zero > root/big.bin; ln -s $T/secret.txt root/sub/out.txt; ln -s $T root/sub/outdir
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=localhost 2>/dev/null
$S http serve -b 127.0.0.1 -p 0 -d root 2> plain.err & PP=$!
$S http serve -b 127.0.0.1 -p 0 -d root -q --cert cert.pem --key key.pem 2> tls.err & TP=$!
sleep 1; P=$(grep -o '[0-9]*$' plain.err | head -1); Q=$(grep -o '[0-9]*$' tls.err | head -1)
python3 $HERE/raw.py $P
python3 $HERE/early_response.py $P
python3 $HERE/connect_keepalive.py $P
python3 $HERE/paths.py $P
python3 $HERE/split.py $P | tail -2
for c in pipeline flood floodhalf slowread headers; do echo "== $c"; timeout 60 python3 $HERE/exhaust.py $P $PP $c; done
timeout 90 python3 $HERE/tls_abuse.py $Q $TP
sh $HERE/log_bytes.sh $P $T/plain.err
kill -INT $PP $TP; wait $PP $TP
echo "== server stderr (non-log lines)"; grep -v '^127.0.0.1 - -\|tls handshake failed' plain.err tls.err
