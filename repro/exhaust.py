#!/usr/bin/env python3
"""Resource-exhaustion probes. usage: exhaust.py PORT PID case   (cases: pipeline, flood, slowread, headers)
Prints server fds/RSS before/during/after and whether another client is still answered."""
import socket, sys, time, os
P, PID, case = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def stat():
    fds = len(os.listdir(f"/proc/{PID}/fd"))
    rss = [l for l in open(f"/proc/{PID}/status") if l.startswith("VmRSS")][0].split()[1]
    return f"fds={fds} rss={rss}kB"
def probe():
    t = time.time()
    try:
        s = socket.create_connection(("127.0.0.1", P), timeout=3)
        s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        d = s.recv(100); s.close()
        return f"probe {d[:15]!r} {time.time()-t:.3f}s"
    except Exception as e: return f"probe FAILED {e!r} {time.time()-t:.3f}s"
print("before", stat(), probe())
socks = []
if case == "pipeline":   # many pipelined requests, never read the responses
    for k in range(20):
        s = socket.create_connection(("127.0.0.1", P)); s.setblocking(False); socks.append(s)
        req = b"GET /index2.html HTTP/1.1\r\nHost: x\r\n\r\n" * 20000
        sent = 0; t0 = time.time()
        while sent < len(req) and time.time() - t0 < 2:
            try: sent += s.send(req[sent:sent+65536])
            except BlockingIOError: time.sleep(0.01)
    print("during", stat(), probe())
elif case == "flood":    # ~3000 idle connections
    for k in range(3000):
        try: socks.append(socket.create_connection(("127.0.0.1", P), timeout=2))
        except Exception as e: print("connect", k, e); break
    time.sleep(0.5); print("during", stat(), probe())
elif case == "floodhalf":  # ~3000 connections each with a half request line
    for k in range(3000):
        try:
            s = socket.create_connection(("127.0.0.1", P), timeout=2); s.sendall(b"GET /a.txt HTTP/1.1\r\nHo"); socks.append(s)
        except Exception as e: print("connect", k, e); break
    time.sleep(0.5); print("during", stat(), probe())
elif case == "slowread": # 200 connections each GET the 50 MB file and read nothing
    for k in range(200):
        s = socket.create_connection(("127.0.0.1", P)); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n" * 5); socks.append(s)
    time.sleep(1); print("during", stat(), probe())
elif case == "headers":  # 200 connections, 99 headers of ~160 bytes each (just under 16 KiB), head never finished
    h = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%02d: %s\r\n" % (i, b"a"*150) for i in range(99))
    for k in range(200):
        s = socket.create_connection(("127.0.0.1", P)); s.sendall(h); socks.append(s)
    time.sleep(0.5); print("during", stat(), probe())
for s in socks: s.close()
time.sleep(1.5); print("after", stat(), probe())
