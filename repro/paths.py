#!/usr/bin/env python3
"""Odd targets against `sockit http serve -d ROOT` (ROOT has a.txt; secret.txt is in ROOT/..).
usage: paths.py PORT"""
import socket, sys, time, re
P = int(sys.argv[1])
def req(target, extra=b""):
    s = socket.create_connection(("127.0.0.1", P), timeout=3)
    t = time.time()
    s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + b"\r\n")
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d: break
            out += d
    except socket.timeout: out += b"TIMEOUT"
    s.close()
    m = re.match(rb"HTTP/1\.1 (\d+)", out)
    body = out.split(b"\r\n\r\n", 1)[-1][:30]
    return (m.group(1).decode() if m else "none"), f"{time.time()-t:.3f}s", body
T = [b"/a.txt", b"/A.TXT", b"/a.txt.", b"/a.txt%20", b"/a.txt::$DATA", b"/C:/Windows/win.ini", b"/C:%5cWindows",
     b"/..;/secret.txt", b"/.%2e/secret.txt", b"/%2e%2e%2fsecret.txt", b"/%%32%65%%32%65/secret.txt",
     b"/%u002e%u002e/secret.txt", b"/%e0%80%ae%e0%80%ae/secret.txt", b"/%ef%bc%8e%ef%bc%8e/secret.txt",
     b"/sub/..", b"/sub/../../secret.txt", b"/./a.txt", b"/sub/./../a.txt", b"/a.txt/", b"/a.txt/.", b"/a.txt/..",
     b"//a.txt", b"///a.txt", b"//sub//..//a.txt", b"/sub/outdir", b"/sub/outdir/root/a.txt",
     b"http://[::1]:80/a.txt", b"http://x@/a.txt", b"http:///a.txt", b"http://evil%2f/a.txt", b"HTTP://x/a.txt",
     b"https://x/a.txt", b"http://x:/a.txt", b"http://x:0x50/a.txt", b"http://x/../secret.txt", b"http://x", b"http://x?q",
     b"/a.txt?x=../../secret.txt", b"/" + b"a/" * 4000, b"/" + b"./" * 4000 + b"a.txt", b"/" + b"sub/../" * 1100 + b"a.txt",
     b"/" + b"%2e/" * 2000 + b"a.txt", b"/" + b"x" * 8190, b"/" + b"x" * 9000, b"/" + b"%C3%BC" * 1300,
     b"/%ff%fe.txt", b"/\xc3\xbc.txt", b"/\xff.txt", b"/a b.txt"]
for t in T:
    st, dt, body = req(t)
    print(f"{st:5s} {dt} {t[:60]!r}{'...' if len(t) > 60 else ''}  {body!r}")
