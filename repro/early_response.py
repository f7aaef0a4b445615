#!/usr/bin/env python3
"""A GET with a chunked body is answered 200 before its body is parsed; then the body turns out malformed.
usage: early_response.py PORT"""
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(1)
s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
time.sleep(0.3)
try: print("before body complete:", s.recv(4096)[:40])
except socket.timeout: print("no response before body complete (good)")
s.sendall(b"ZZZZZZ garbage not chunked\r\n\r\n")
time.sleep(0.3)
try: print("after garbage:", s.recv(4096)[:60])
except socket.timeout: print("open, nothing")
