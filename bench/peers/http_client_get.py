#!/usr/bin/env python3
"""http_client_get: the Python peer of bench/client_bench.sh.

GETs one URL COUNT times on ONE http.client.HTTPConnection (keep-alive, as the standard library
does it), reading each body fully: into memory for small bodies, or with readinto() into one reused 1 MiB
buffer written to FILE for bulk downloads (-o). Every response must be 200 (and EXPECT bytes long when -e is given).

Usage: http_client_get.py [-n COUNT] [-o FILE] [-e BYTES] URL
Prints "requests=N bytes=B" on stderr. Exit 0 on success, 1 otherwise.
"""
import argparse
import http.client
import sys
import urllib.parse

CHUNK = 1 << 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1)
    ap.add_argument("-o")
    ap.add_argument("-e", type=int, default=-1)
    ap.add_argument("url")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80)
    path = u.path or "/"
    out = open(a.o, "wb", buffering=0) if a.o else None
    view = memoryview(bytearray(CHUNK))
    total = 0
    for i in range(a.n):
        conn.request("GET", path)
        resp = conn.getresponse()
        got = 0
        if out is None:
            got = len(resp.read())
        else:
            while True:
                n = resp.readinto(view)
                if not n:
                    break
                out.write(view[:n])
                got += n
        if resp.status != 200 or (a.e >= 0 and got != a.e):
            print(f"http_client_get: request {i + 1}: status {resp.status}, {got} bytes",
                  file=sys.stderr)
            return 1
        total += got
    conn.close()
    if out is not None:
        out.close()
    print(f"requests={a.n} bytes={total}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
