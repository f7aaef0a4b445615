#!/bin/sh
# The access log reports the full Content-Length as "bytes sent" for a download the client aborted.
# usage: log_bytes.sh PORT SERVER_STDERR_FILE   (DIR must hold big.bin, 50 MB)
P=$1; L=$(wc -l < "$2")
curl -s --limit-rate 1M --max-time 1 -o /tmp/sockit-repro-part.bin http://127.0.0.1:$P/big.bin
sleep 0.5; echo "client received: $(stat -c %s /tmp/sockit-repro-part.bin) bytes"
echo "server logged: $(tail -n +$((L+1)) "$2" | grep big.bin)"
