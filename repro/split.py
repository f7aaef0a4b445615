#!/usr/bin/env python3
"""Send the same pipelined byte string split into two writes at every byte boundary; the
responses' status lines must be identical each time. usage: split.py PORT"""
import socket, sys, time, re
P = int(sys.argv[1])
msg = (b"POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       b"3;a=b\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n"
       b"HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
       b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nRange: bytes=1-2\r\n\r\nxyz"
       b"GET /sub HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
def run(i):
    s = socket.create_connection(("127.0.0.1", P), timeout=3)
    s.sendall(msg[:i]); time.sleep(0.002); s.sendall(msg[i:])
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d: break
            out += d
    except socket.timeout: out += b"TIMEOUT"
    s.close()
    return re.findall(rb"HTTP/1\.1 \d\d\d", out) + ([b"TIMEOUT"] if out.endswith(b"TIMEOUT") else [])
ref = run(len(msg)); print("whole:", ref)
bad = 0
for i in range(1, len(msg)):
    r = run(i)
    if r != ref: bad += 1; print("split at", i, repr(msg[max(0,i-10):i]), r)
print("differing splits:", bad, "of", len(msg) - 1)
