#!/usr/bin/env python3
"""A CONNECT is answered 400 but the connection stays open and the next pipelined request is
answered (docs: every error status closes the connection). usage: connect_keepalive.py PORT"""
import socket, sys, re
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n"
          b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d: break
        out += d
except socket.timeout: out += b"<<open>>"
print(re.findall(rb"HTTP/1\.1 \d+[^\r]*|Connection: \w+|<<open>>", out))
