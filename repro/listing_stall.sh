#!/bin/sh
# 40 concurrent listings of a 30000-entry directory stall an unrelated 6-byte GET for ~1 s:
# the listing is built (readdir, stat, sort, HTML) on the event-loop worker.
# usage: listing_stall.sh PORT DIR   (DIR = the served directory; makes and removes DIR/many)
P=$1; D=$2; mkdir -p "$D/many"; (cd "$D/many" && seq 1 30000 | xargs touch)
curl -s -o /dev/null -w 'probe idle: %{time_total}s\n' http://127.0.0.1:$P/a.txt
for i in $(seq 40); do curl -s -o /dev/null http://127.0.0.1:$P/many/ & done
sleep 0.05; curl -s -o /dev/null -w 'probe during listing storm: %{time_total}s\n' http://127.0.0.1:$P/a.txt
wait; rm -rf "$D/many"
