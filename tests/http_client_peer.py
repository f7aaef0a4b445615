#!/usr/bin/env python3
"""The HTTP client tests' peer (tests/test_http_client*.c start it): a small HTTP/1.1 server on
127.0.0.1, port 0, written on raw sockets so each route controls its bytes exactly (framing
errors, early closes, stalls), plus a CONNECT proxy and an absolute-form proxy. Prints
"PORT <n>" once it listens. Each route is a case of the tests; see route() for the list.
"""
import gzip
import hashlib
import json
import random
import socket
import socketserver
import sys
import threading
import zlib
from urllib.parse import urlsplit, parse_qs

lock = threading.Lock()
stats = {"connections": 0, "connects": 0, "requests": 0}
BOMB = gzip.compress(b"\0" * (64 << 20), 9)


def payload(n, seed):
    return random.Random(seed).randbytes(n)


def read_head(f):
    lines = []
    while True:
        line = f.readline(65536)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            if lines:
                break
            continue
        lines.append(line.decode("latin-1").rstrip("\r\n"))
    method, target, _ = lines[0].split(" ", 2)
    headers = []
    for h in lines[1:]:
        name, _, value = h.partition(":")
        headers.append((name.strip(), value.strip()))
    return method, target, headers


def hget(headers, name):
    for n, v in headers:
        if n.lower() == name:
            return v
    return None


def read_body(f, headers):
    te = hget(headers, "transfer-encoding")
    if te and "chunked" in te.lower():
        out = b""
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return out
            out += f.read(size)
            f.readline()
    n = int(hget(headers, "content-length") or 0)
    return f.read(n) if n else b""


def response(status, body=b"", headers=(), reason="X", sha=None):
    head = "HTTP/1.1 %d %s\r\n" % (status, reason)
    if sha:
        head += "X-Sha256: %s\r\n" % sha
    head += "".join("%s: %s\r\n" % h for h in headers)
    if not any(h[0].lower() in ("content-length", "transfer-encoding") for h in headers):
        head += "Content-Length: %d\r\n" % len(body)
    return head.encode() + b"\r\n" + body


def chunked(data, rnd, ext=False):
    out, i = b"", 0
    while i < len(data):
        n = rnd.randint(1, 5000)
        part = data[i:i + n]
        out += b"%x%s\r\n" % (len(part), b";x=y" if ext and rnd.random() < 0.2 else b"") + part + b"\r\n"
        i += n
    return out + b"0\r\nX-Trailer: 1\r\n\r\n"


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        with lock:
            stats["connections"] += 1
            self.conn_id = stats["connections"]
        self.nreq = 0
        f = self.request.makefile("rb")
        try:
            while True:
                head = read_head(f)
                if not head:
                    return
                self.nreq += 1
                with lock:
                    stats["requests"] += 1
                if not self.route(f, *head):
                    return
        except (ConnectionError, ValueError, OSError):
            return

    def send(self, data):
        self.request.sendall(data)

    def echo(self, method, target, headers, body, extra=()):
        info = {"method": method, "target": target, "body_len": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(), "conn": self.conn_id,
                "headers": {n.lower(): v for n, v in headers}}
        return response(200, json.dumps(info).encode(), [("Content-Type", "application/json")] + list(extra))

    def route(self, f, method, target, headers):
        """Answers one request; False ends the connection."""
        if method == "CONNECT":
            return self.tunnel(target, headers)
        u = urlsplit(target)
        path, q = u.path, {k: v[0] for k, v in parse_qs(u.query).items()}
        n, seed = int(q.get("n", 0)), int(q.get("seed", 1))
        ids = [("X-Conn", str(self.conn_id)), ("X-Req", str(self.nreq))]
        expect = (hget(headers, "expect") or "").lower() == "100-continue"
        if path == "/expect-final":
            self.send(response(413, b"too big", [("Connection", "close")]))
            return False
        if expect:
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = read_body(f, headers)
        if target.startswith("http://"):
            self.send(self.echo(method, target, headers, body, [("X-Via", "proxy")]))
            return True
        if path == "/hello":
            self.send(response(200, b"hello" if method != "HEAD" else b"", ids))
        elif path == "/echo":
            self.send(self.echo(method, target, headers, body, ids))
        elif path == "/info":
            with lock:
                self.send(response(200, json.dumps(stats).encode()))
        elif path == "/bytes":
            data = payload(n, seed)
            sha = [("X-Sha256", hashlib.sha256(data).hexdigest())]
            if method == "HEAD":
                self.send(response(200, b"", [("Content-Length", str(n))]))
            else:
                self.send(response(200, data, ids + sha))
        elif path == "/chunked":
            rnd = random.Random(seed)
            sha = [("X-Sha256", hashlib.sha256(payload(n, seed)).hexdigest())]
            self.send(response(200, b"", [("Transfer-Encoding", "chunked")] + ids + sha)
                      + chunked(payload(n, seed), rnd, ext=True))
        elif path == "/close":
            self.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + payload(n, seed))
            return False
        elif path == "/http10":
            self.send(b"HTTP/1.0 200 OK\r\n\r\n" + payload(n, seed))
            return False
        elif path == "/redir":
            code = int(q.get("code", 302))
            if n > 0:
                loc = "/redir?n=%d&code=%d" % (n - 1, code)
                self.send(response(code, b"moved", [("Location", loc)]))
            else:
                self.send(self.echo(method, target, headers, body))
        elif path == "/abs":
            self.send(response(int(q.get("code", 302)), b"", [("Location", q["to"])]))
        elif path == "/loop":
            self.send(response(302, b"", [("Location", "/loop")]))
        elif path == "/stall":
            self.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0123456789")
            f.read()
            return False
        elif path == "/nohead":
            f.read()
            return False
        elif path == "/short":
            self.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 1000)
            return False
        elif path == "/liar":
            self.send(b"HTTP/1.1 200 OK\r\nContent-Length: 900000000\r\n\r\n0123456789")
            return False
        elif path == "/early":
            return False
        elif path == "/badstatus":
            self.send(b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n")
            return False
        elif path == "/badchunk":
            self.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
            return False
        elif path == "/chunkclose":
            self.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            return False
        elif path == "/bighead":
            self.send(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100000 + b"\r\nContent-Length: 0\r\n\r\n")
            return False
        elif path in ("/gzip", "/deflate", "/rawdeflate", "/te-gzip", "/bomb"):
            data = payload(n, seed) * 3
            ae = hget(headers, "accept-encoding") or ""
            self.send_sha = hashlib.sha256(data).hexdigest()
            if path == "/gzip" and "gzip" in ae:
                self.send(response(200, gzip.compress(data), [("Content-Encoding", "gzip")], sha=self.send_sha))
            elif path == "/deflate" and "deflate" in ae:
                self.send(response(200, zlib.compress(data), [("Content-Encoding", "deflate")], sha=self.send_sha))
            elif path == "/rawdeflate" and "deflate" in ae:
                c = zlib.compressobj(6, zlib.DEFLATED, -15)
                self.send(response(200, c.compress(data) + c.flush(), [("Content-Encoding", "deflate")], sha=self.send_sha))
            elif path == "/te-gzip":
                self.send(response(200, b"", [("Transfer-Encoding", "gzip, chunked")], sha=self.send_sha)
                          + chunked(gzip.compress(data), random.Random(seed)))
            elif path == "/bomb":
                self.send(response(200, BOMB, [("Content-Encoding", "gzip")], sha=self.send_sha))
            else:
                self.send(response(200, data, sha=self.send_sha))
        elif path == "/range":
            data = payload(n, seed)
            rng = hget(headers, "range")
            mode = q.get("mode", "ok")
            if rng and mode != "ignore":
                start = int(rng.split("=")[1].rstrip("-"))
                if mode == "bad":
                    start += 1
                self.send(response(206, data[start:], [("Content-Range", "bytes %d-%d/%d" % (start, n - 1, n))]))
            else:
                self.send(response(200, data))
        elif path == "/dropidle":
            self.send(response(200, b"bye", ids))
            return False
        elif path == "/unasked100":
            self.send(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n"
                      + response(200, b"after 1xx", ids))
        elif path == "/endless1xx":
            for _ in range(1000):
                self.send(b"HTTP/1.1 102 Processing\r\n\r\n")
            return False
        elif path == "/204":
            self.send(b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n")
        elif path == "/304":
            self.send(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
        elif path == "/repeat":
            self.send(b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n")
        else:
            self.send(response(404, b"no such route"))
        return True

    def tunnel(self, target, headers):
        with lock:
            stats["connects"] += 1
            stats["last_proxy_auth"] = hget(headers, "proxy-authorization")
        host, _, port = target.rpartition(":")
        try:
            up = socket.create_connection((host.strip("[]"), int(port)))
        except OSError:
            self.send(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return False
        self.send(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pump(a, b):
            try:
                while True:
                    d = a.recv(65536)
                    if not d:
                        break
                    b.sendall(d)
            except OSError:
                pass
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        t = threading.Thread(target=pump, args=(up, self.request), daemon=True)
        t.start()
        pump(self.request, up)
        t.join()
        up.close()
        return False


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    srv = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()
