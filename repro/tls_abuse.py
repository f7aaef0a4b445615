#!/usr/bin/env python3
"""TLS abuse against `sockit http serve --cert --key`. usage: tls_abuse.py PORT PID"""
import socket, ssl, sys, time, os, struct
P, PID = int(sys.argv[1]), int(sys.argv[2])
def stat():
    fds = len(os.listdir(f"/proc/{PID}/fd"))
    rss = [l for l in open(f"/proc/{PID}/status") if l.startswith("VmRSS")][0].split()[1]
    return f"fds={fds} rss={rss}kB"
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def probe():
    t = time.time()
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", P), timeout=3))
        s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); d = s.recv(100); s.close()
        return f"probe {d[:15]!r} {time.time()-t:.3f}s"
    except Exception as e: return f"probe FAILED {e!r} {time.time()-t:.3f}s"
print("before", stat(), probe())
# 1. malformed records
junk = {
 "huge_record_len": b"\x16\x03\x01\xff\xff" + b"\x01" * 100,
 "zero_len": b"\x16\x03\x01\x00\x00",
 "bad_type": b"\x99\x03\x03\x00\x05hello",
 "sslv2_hello": b"\x80\x2e\x01\x00\x02\x00\x15" + b"\x00" * 48,
 "hs_len_lies": b"\x16\x03\x01\x00\x08\x01\xff\xff\xff\x03\x03\x00\x00",
 "alert_first": b"\x15\x03\x03\x00\x02\x02\x28",
 "ccs_first": b"\x14\x03\x03\x00\x01\x01",
 "appdata_first": b"\x17\x03\x03\x00\x10" + b"A" * 16,
}
for n, j in junk.items():
    s = socket.create_connection(("127.0.0.1", P), timeout=2); s.sendall(j)
    try: r = s.recv(100)
    except Exception as e: r = repr(e).encode()
    print(f"{n:16s} -> {r[:20]!r}"); s.close()
# 2. 1500 connections each holding a partial ClientHello
socks = []
for k in range(1500):
    s = socket.create_connection(("127.0.0.1", P), timeout=2); s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"); socks.append(s)
time.sleep(0.5); print("partial-hello x1500", stat(), probe())
for s in socks: s.close()
# 3. full handshake flood, bounded: 300 handshakes, 10 s max
t0 = time.time(); n = 0
while n < 300 and time.time() - t0 < 10:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", P), timeout=3)); s.close(); n += 1
print(f"{n} handshakes in {time.time()-t0:.1f}s", stat(), probe())
# 4. 300 completed handshakes held open without a request
socks = []
for k in range(300):
    socks.append(ctx.wrap_socket(socket.create_connection(("127.0.0.1", P), timeout=3)))
print("300 idle TLS", stat(), probe())
for s in socks: s.close()
# 5. renegotiation-ish: client sends a second ClientHello inside established session (TLS1.2)
c12 = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); c12.check_hostname=False; c12.verify_mode=ssl.CERT_NONE; c12.maximum_version=ssl.TLSVersion.TLSv1_2
try:
    s = c12.wrap_socket(socket.create_connection(("127.0.0.1", P), timeout=3)); print("tls1.2 ok", s.version()); s.close()
except Exception as e: print("tls1.2", e)
time.sleep(1.5); print("after", stat(), probe())
