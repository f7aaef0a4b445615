"""Peers of the end-to-end tests of `sockit http get` (test_http_get*.py): servers of the tests'
own, and the real ones the tests start (nginx, `python3 -m http.server`, `openssl s_server -WWW`).

Every server listens on 127.0.0.1 with a port the kernel picks (nginx, which cannot report one,
gets a port found free by binding, retried if another process takes it first). Every wait is
bounded; stop() ends each server and its connections. A peer binary that is missing raises
unittest.SkipTest (`make test` installs them: scripts/deps.sh test).

ScriptServer, the tests' own HTTP/1.1 server, answers by path (see ScriptServer.ROUTES): redirect
chains and loops, redirects to any URL (cross-origin), bodies of exact bytes with Content-Length,
chunked in random chunk sizes, or read-to-close, slow and stalled bodies, early close and wrong
lengths, gzip bodies, 1xx before the answer, statuses that turn to 200 after K tries (with
Retry-After), Range for resume. It records every request (method, target, headers, body) with the
number of the connection it came on, so a test sees keep-alive reuse from the server side, and
it answers `Expect: 100-continue` with `100 Continue` before reading the body.
ConnectProxy relays CONNECT tunnels (and absolute-form plain requests) and records them.
"""
import gzip
import hashlib
import os
import random
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import zlib

TIMEOUT = 30          # the longest any single wait may take, in seconds
MAX_HEAD = 64 * 1024  # a request head over this closes the connection


def data(n, seed=0):
    """n deterministic pseudo-random bytes (the same for the same seed)."""
    return random.Random(seed).randbytes(n)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def die_with_parent():
    """In a child before exec: SIGKILL when the test process goes, however it goes."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:
        pass


# ---- the tests' own HTTP/1.1 server -----------------------------------------------------------

class Request:
    def __init__(self, conn_id, method, target, version, headers, body):
        self.conn_id = conn_id  # which connection (1, 2, ...) it came on
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # list of (name, value) as received
        self.body = body
        url = urllib.parse.urlsplit(target)
        self.path = url.path
        self.query = dict(urllib.parse.parse_qsl(url.query))

    def header(self, name):
        """The last value of header name (any case), or None."""
        v = None
        for n, value in self.headers:
            if n.lower() == name.lower():
                v = value
        return v

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]


class Closed(Exception):
    pass


class Conn:
    """One accepted connection: buffered reads with a deadline, and sends."""

    def __init__(self, sock, conn_id, stop):
        self.sock = sock
        self.id = conn_id
        self.stop = stop
        self.buf = b""
        sock.settimeout(0.2)

    def _fill(self, deadline):
        while True:
            if self.stop.is_set() or time.monotonic() > deadline:
                raise Closed()
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                raise Closed()
            if not chunk:
                raise Closed()
            self.buf += chunk
            return

    def read_until(self, sep, limit, deadline):
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise Closed()
            self._fill(deadline)
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, b):
        try:
            self.sock.settimeout(TIMEOUT)
            self.sock.sendall(b)
            self.sock.settimeout(0.2)
        except OSError:
            raise Closed()

    def read_request(self):
        """The next request (waiting at most TIMEOUT for it), or raises Closed."""
        deadline = time.monotonic() + TIMEOUT
        head = self.read_until(b"\r\n\r\n", MAX_HEAD, deadline).decode("latin-1")
        lines = head[:-4].split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        req = Request(self.id, method, target, version, headers, b"")
        if (req.header("Expect") or "").lower() == "100-continue":
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in (req.header("Transfer-Encoding") or "").lower():
            body = b""
            while True:
                size = int(self.read_until(b"\r\n", 1024, deadline).split(b";")[0], 16)
                body += self.read_exact(size, deadline)
                if size == 0:
                    while self.read_until(b"\r\n", 8192, deadline) != b"\r\n":
                        pass
                    break
                self.read_exact(2, deadline)
            req.body = body
        elif req.header("Content-Length"):
            req.body = self.read_exact(int(req.header("Content-Length")), deadline)
        return req

    def respond(self, status, body=b"", headers=(), reason=None, length=True):
        """A whole response: status line, headers, Content-Length (unless length is False or
        a header gives it) and body."""
        reason = reason or {200: "OK", 206: "Partial Content", 301: "Moved Permanently",
                            302: "Found", 303: "See Other", 307: "Temporary Redirect",
                            308: "Permanent Redirect", 404: "Not Found",
                            416: "Range Not Satisfiable"}.get(status, "Status")
        h = "HTTP/1.1 %d %s\r\n" % (status, reason)
        names = {n.lower() for n, _ in headers}
        for n, v in headers:
            h += "%s: %s\r\n" % (n, v)
        if length and "content-length" not in names and "transfer-encoding" not in names:
            h += "Content-Length: %d\r\n" % len(body)
        self.send(h.encode("latin-1") + b"\r\n" + body)


class ScriptServer:
    """The tests' HTTP/1.1 server on 127.0.0.1:0, one thread per connection, keep-alive.
    Routes (query parameters in brackets; n bytes are data(n, seed)):
      /bytes?n&seed           200 with Content-Length
      /chunked?n&seed         chunked, random chunk sizes 1..max (default 5000), extensions
                              and a trailer
      /close?n&seed           no length: the body ends when the server closes
      /slow?n&seed&delay      n bytes in 10 parts, delay seconds apart
      /stall?n                head with Content-Length 2n, n bytes, then nothing (until stop)
      /stallhead              reads the request and answers nothing (until stop)
      /short?n&send           Content-Length n, send bytes, then close (early close)
      /long?n&seed            Content-Length n, then more bytes than that (a whole stray
                              response) on a connection kept open
      /badchunk               chunked with a size line that is not hex
      /gzip?n&seed            gzip-encoded when Accept-Encoding has gzip (Vary), else identity;
                              &deflate=1 answers deflate
      /info                   100 and 102 responses, then 200 "after informational"
      /redirect/K?status      a chain: K-1 ... 0, then 200 "done"; status default 302
      /loop                   302 to itself
      /to?url&status          a redirect to url (another origin, another scheme)
      /status?code&times&key&retry_after
                              answers code for the first `times` requests of key, then 200
                              "ok after N"; Retry-After when retry_after is given
      /file?n&seed&cut        n bytes with Range support (206 with Content-Range, 416); a
                              request without Range gets Content-Length n and, with cut, only
                              cut bytes before a close
      /echo                   200 text/plain: the request's method, target, headers and body
      /head                   the same head for GET and HEAD: Content-Length 5, X-Test: yes
      /conn                   200 "conn N": the number of the connection it came on
      anything else           404
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.connections = 0
        self.counters = {}
        self.stop_event = threading.Event()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.threads = []
        self.conns = []
        self.accepter = threading.Thread(target=self._accept, daemon=True)
        self.accepter.start()

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def _accept(self):
        while not self.stop_event.is_set():
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                cid = self.connections
                self.conns.append(s)
            t = threading.Thread(target=self._serve, args=(Conn(s, cid, self.stop_event),),
                                 daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, c):
        try:
            while True:
                req = c.read_request()
                with self.lock:
                    self.requests.append(req)
                if not self.handle(c, req):
                    break
                if (req.header("Connection") or "").lower() == "close":
                    break
        except Closed:
            pass
        except Exception as e:  # a bug in a route shows in the test's output, not silently
            print("ScriptServer: %r" % e, file=sys.stderr)
        finally:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.sock.close()

    def wait_requests(self, n, timeout=TIMEOUT):
        """Waits until n requests were received; returns the list so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.01)
        with self.lock:
            return list(self.requests)

    def stop(self):
        self.stop_event.set()
        self.sock.close()
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.accepter.join(TIMEOUT)
        for t in self.threads:
            t.join(TIMEOUT)

    # ---- routes: each returns True to keep the connection open ----

    def handle(self, c, req):
        name = req.path.strip("/").split("/")[0] or "root"
        fn = getattr(self, "r_" + name, None)
        if fn is None:
            c.respond(404, b"not found\n")
            return True
        return fn(c, req, req.query)

    @staticmethod
    def _n(q, name="n", default=0):
        return int(q.get(name, default))

    def r_bytes(self, c, req, q):
        body = data(self._n(q), self._n(q, "seed"))
        c.respond(200, b"" if req.method == "HEAD" else body,
                  [("Content-Length", str(len(body))), ("Content-Type", "application/octet-stream")])
        return True

    def r_chunked(self, c, req, q):
        body = data(self._n(q), self._n(q, "seed"))
        rnd = random.Random(self._n(q, "seed") + 1)
        biggest = self._n(q, "max", 5000)
        out = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"]
        i = 0
        while i < len(body):
            k = rnd.randint(1, biggest)
            part = body[i:i + k]
            ext = b";ext=1" if rnd.random() < 0.1 else b""
            out.append(b"%x%s\r\n%s\r\n" % (len(part), ext, part))
            i += k
        out.append(b"0\r\nX-Sum: " + sha(body).encode() + b"\r\n\r\n")
        c.send(b"".join(out))
        return True

    def r_close(self, c, req, q):
        c.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + data(self._n(q), self._n(q, "seed")))
        return False

    def r_slow(self, c, req, q):
        body = data(self._n(q), self._n(q, "seed"))
        delay = float(q.get("delay", "0.1"))
        c.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        step = max(1, len(body) // 10)
        for i in range(0, len(body), step):
            if self.stop_event.wait(delay):
                return False
            c.send(body[i:i + step])
        return True

    def r_stall(self, c, req, q):
        n = self._n(q, "n", 10)
        c.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (2 * n) + data(n))
        self.stop_event.wait(TIMEOUT * 4)
        return False

    def r_stallhead(self, c, req, q):
        self.stop_event.wait(TIMEOUT * 4)
        return False

    def r_short(self, c, req, q):
        n, k = self._n(q), self._n(q, "send")
        c.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n + data(k, self._n(q, "seed")))
        return False

    def r_long(self, c, req, q):
        n = self._n(q)
        c.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n + data(n, self._n(q, "seed"))
               + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray")
        return True

    def r_badchunk(self, c, req, q):
        c.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
        return False

    def r_gzip(self, c, req, q):
        body = data(self._n(q), self._n(q, "seed"))
        accepts = (req.header("Accept-Encoding") or "").lower()
        headers = [("Vary", "Accept-Encoding")]
        if q.get("deflate") and "deflate" in accepts:
            body = zlib.compress(body)
            headers.append(("Content-Encoding", "deflate"))
        elif "gzip" in accepts:
            body = gzip.compress(body)
            headers.append(("Content-Encoding", "gzip"))
        c.respond(200, body, headers)
        return True

    def r_info(self, c, req, q):
        c.send(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-Info: 1\r\n\r\n")
        c.respond(200, b"after informational\n")
        return True

    def r_redirect(self, c, req, q):
        parts = req.path.strip("/").split("/")
        k = int(parts[1]) if len(parts) > 1 else 0
        if k <= 0:
            c.respond(200, b"done\n")
            return True
        status = int(q.get("status", "302"))
        qs = ("?" + urllib.parse.urlencode(q)) if q else ""
        c.respond(status, b"", [("Location", "/redirect/%d%s" % (k - 1, qs))])
        return True

    def r_loop(self, c, req, q):
        c.respond(302, b"again\n", [("Location", "/loop")])
        return True

    def r_to(self, c, req, q):
        c.respond(int(q.get("status", "302")), b"", [("Location", q["url"])])
        return True

    def r_status(self, c, req, q):
        key = q.get("key", "")
        with self.lock:
            seen = self.counters.get(key, 0)
            self.counters[key] = seen + 1
        if seen < self._n(q, "times", 1):
            headers = []
            if "retry_after" in q:
                headers.append(("Retry-After", q["retry_after"]))
            c.respond(int(q.get("code", "503")), b"try again\n", headers)
        else:
            c.respond(200, b"ok after %d\n" % seen)
        return True

    def r_file(self, c, req, q):
        body = data(self._n(q), self._n(q, "seed"))
        rng = req.header("Range")
        if rng:
            m = re.match(r"bytes=(\d+)-$", rng)
            start = int(m.group(1)) if m else len(body)
            if start >= len(body):
                c.respond(416, b"", [("Content-Range", "bytes */%d" % len(body))])
                return True
            part = body[start:]
            c.respond(206, part, [("Content-Range", "bytes %d-%d/%d" % (start, len(body) - 1, len(body)))])
            return True
        cut = q.get("cut")
        if cut is not None:
            c.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nAccept-Ranges: bytes\r\n\r\n" % len(body)
                   + body[:int(cut)])
            return False
        c.respond(200, body, [("Accept-Ranges", "bytes")])
        return True

    def r_echo(self, c, req, q):
        text = "%s %s\n" % (req.method, req.target)
        text += "".join("%s: %s\n" % h for h in req.headers)
        c.respond(200, text.encode("latin-1") + b"\n" + req.body, [("Content-Type", "text/plain")])
        return True

    def r_head(self, c, req, q):
        c.respond(200, b"" if req.method == "HEAD" else b"hello",
                  [("Content-Length", "5"), ("X-Test", "yes")])
        return True

    def r_conn(self, c, req, q):
        c.respond(200, b"conn %d\n" % c.id)
        return True

    def r_root(self, c, req, q):
        c.respond(200, b"root\n")
        return True


# ---- a proxy ------------------------------------------------------------------------------------

class ConnectProxy:
    """An HTTP proxy on 127.0.0.1:0: CONNECT host:port opens a tunnel (200, then bytes relayed
    both ways); an absolute-form request (GET http://host:port/path) is forwarded on a new
    connection with Connection: close. self.log records ("CONNECT", "host:port") and
    ("GET", "http://..."), with the Proxy-Authorization header when one came."""

    def __init__(self):
        self.log = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _accept(self):
        while not self.stop_event.is_set():
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, s):
        c = Conn(s, 0, self.stop_event)
        upstream = None
        try:
            req = c.read_request()
            with self.lock:
                self.log.append((req.method, req.target, req.header("Proxy-Authorization")))
            if req.method == "CONNECT":
                host, _, port = req.target.rpartition(":")
                try:
                    upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=TIMEOUT)
                except OSError:
                    c.respond(502, b"", [("Connection", "close")])
                    return
                c.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if c.buf:
                    upstream.sendall(c.buf)
                self._relay(s, upstream)
                return
            url = urllib.parse.urlsplit(req.target)
            upstream = socket.create_connection((url.hostname, url.port or 80), timeout=TIMEOUT)
            head = "%s %s%s HTTP/1.1\r\n" % (req.method, url.path or "/",
                                             "?" + url.query if url.query else "")
            for n, v in req.headers:
                if n.lower() not in ("connection", "proxy-connection", "proxy-authorization"):
                    head += "%s: %s\r\n" % (n, v)
            upstream.sendall(head.encode("latin-1") + b"Connection: close\r\n\r\n" + req.body)
            self._relay(s, upstream, one_way=True)
        except Closed:
            pass
        finally:
            for x in (s, upstream):
                if x is not None:
                    x.close()

    def _relay(self, a, b, one_way=False):
        """Bytes both ways until either side closes (one_way: b to a only)."""
        a.settimeout(None)
        b.settimeout(None)
        socks = [b] if one_way else [a, b]
        while not self.stop_event.is_set():
            r, _, _ = select.select(socks, [], [], 0.2)
            for x in r:
                try:
                    chunk = x.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    return
                (b if x is a else a).sendall(chunk)

    def stop(self):
        self.stop_event.set()
        self.sock.close()
        for t in self.threads:
            t.join(TIMEOUT)


# ---- real peers ---------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A peer process with its stdout and stderr gathered by threads (bounded waits)."""

    def __init__(self, argv, cwd=None):
        self.p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, preexec_fn=die_with_parent)
        self.out = bytearray()
        self.err = bytearray()
        self.cond = threading.Condition()
        self.readers = [threading.Thread(target=self._read, args=(f, buf), daemon=True)
                        for f, buf in ((self.p.stdout, self.out), (self.p.stderr, self.err))]
        for t in self.readers:
            t.start()

    def _read(self, f, buf):
        while True:
            try:
                chunk = os.read(f.fileno(), 65536)
            except OSError:
                chunk = b""
            with self.cond:
                buf += chunk
                self.cond.notify_all()
            if not chunk:
                return

    def wait_output(self, pattern, timeout=TIMEOUT):
        """Waits until stdout+stderr match the regex pattern (bytes); returns the match or None."""
        with self.cond:
            m = None

            def found():
                nonlocal m
                m = re.search(pattern, bytes(self.out) + bytes(self.err))
                return m is not None or self.p.poll() is not None
            self.cond.wait_for(found, timeout)
            return m

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(10)
        for t in self.readers:
            t.join(10)
        self.p.stdout.close()
        self.p.stderr.close()


def wait_port(port, proc, timeout=TIMEOUT):
    """Waits until 127.0.0.1:port accepts a connection (False if proc exits first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.p.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format conn '$connection $connection_requests "$request" $status';
    access_log {tmp}/access.log conn;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ text/plain txt; }}
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 100000;
    gzip on;
    gzip_min_length 1;
    gzip_types text/plain;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


class Nginx:
    """Debian's nginx serving root on 127.0.0.1, run as the current user with every path in a
    temporary directory (daemon off, one process). .txt files are gzipped for clients that ask."""

    def __init__(self, root):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(nginx, os.X_OK):
            raise unittest.SkipTest("nginx is not installed (apt-get install nginx-light)")
        self.tmp = tempfile.mkdtemp(prefix="sockit-nginx-")
        conf = os.path.join(self.tmp, "nginx.conf")
        self.proc = None
        for _ in range(5):  # another process may take the free port before nginx binds it
            self.port = free_port()
            with open(conf, "w") as f:
                f.write(NGINX_CONF.format(tmp=self.tmp, port=self.port, root=root))
            self.proc = Process([nginx, "-p", self.tmp, "-c", conf, "-e", os.path.join(self.tmp, "stderr.log")])
            if wait_port(self.port, self.proc):
                return
            self.proc.stop()
        log = open(os.path.join(self.tmp, "error.log"), errors="replace").read() \
            if os.path.exists(os.path.join(self.tmp, "error.log")) else ""
        shutil.rmtree(self.tmp, ignore_errors=True)
        raise AssertionError("nginx did not start: %r" % log[-500:])

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def access_log(self, pred=None, timeout=TIMEOUT):
        """[(connection number, request number on it, request line, status)]: nginx writes a
        line after the response went out, so a client may have it first; with pred, waits
        (bounded) until pred(entries) holds."""
        deadline = time.monotonic() + timeout
        while True:
            entries = self._read_log()
            if pred is None or pred(entries) or time.monotonic() > deadline:
                return entries
            time.sleep(0.02)

    def _read_log(self):
        out = []
        with open(os.path.join(self.tmp, "access.log"), errors="replace") as f:
            for line in f:
                m = re.match(r'(\d+) (\d+) "([^"]*)" (\d+)$', line.strip())
                if m:
                    out.append((int(m.group(1)), int(m.group(2)), m.group(3), int(m.group(4))))
        return out

    def stop(self):
        self.proc.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


class PythonHTTPServer:
    """`python3 -m http.server` serving root on 127.0.0.1, port 0 (read from its first line)."""

    def __init__(self, root):
        self.proc = Process([sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1",
                             "--directory", root, "0"])
        m = self.proc.wait_output(rb"port (\d+)")
        if not m:
            self.proc.stop()
            raise AssertionError("python3 -m http.server did not start: %r" % bytes(self.proc.err))
        self.port = int(m.group(1))

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        self.proc.stop()


class SServer:
    """`openssl s_server -WWW` on 127.0.0.1 (port 0, from its ACCEPT line) serving the files
    of root (the current directory of the process) with cert and key."""

    def __init__(self, root, cert, key):
        if not shutil.which("openssl"):
            raise unittest.SkipTest("openssl is not installed")
        self.proc = Process(["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert,
                             "-key", key, "-WWW"], cwd=root)
        m = self.proc.wait_output(rb"ACCEPT 127\.0\.0\.1:(\d+)")
        if not m:
            self.proc.stop()
            raise AssertionError("s_server did not start: %r" % bytes(self.proc.err))
        self.port = int(m.group(1))

    def url(self, path="/", host="127.0.0.1"):
        return "https://%s:%d%s" % (host, self.port, path)

    def stop(self):
        self.proc.stop()


# ---- certificates -------------------------------------------------------------------------------

def make_certs(d):
    """In directory d: the test CA and leaves made as test_tls_cli makes them -- srv (localhost +
    127.0.0.1, by the CA), self (self-signed: untrusted), other (other.test only: wrong host),
    expired (by the CA, in 2020). Returns name -> path (and name_key -> key path)."""
    if not shutil.which("openssl"):
        raise unittest.SkipTest("openssl is not installed")
    import test_tls_cli
    test_tls_cli.make_certs(d)
    return dict(test_tls_cli.CERTS)


# ---- running `sockit http get` ------------------------------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_cli  # noqa: E402

BIN = os.path.abspath(test_cli.BIN)  # absolute: some tests run it in another directory
SANITIZED = "ON" in os.environ.get("SOCKIT_SANITIZED", "")
PROXY_VARS = ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "NO_PROXY", "ALL_PROXY")


def clean_env(**extra):
    """The environment without proxy settings (the machine's must not reroute loopback tests),
    plus extra."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env.update(extra)
    return env


class Result:
    def __init__(self, p, elapsed):
        self.returncode = p.returncode
        self.stdout = p.stdout
        self.stderr = p.stderr
        self.elapsed = elapsed


def get(*args, stdin=b"", timeout=TIMEOUT, env=None, cwd=None):
    """Runs `sockit http get ARGS` to completion; returns its Result (with elapsed seconds)."""
    t0 = time.monotonic()
    p = subprocess.run([BIN, "http", "get", *args], input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=env or clean_env(), cwd=cwd)
    return Result(p, time.monotonic() - t0)


class GetTest(unittest.TestCase):
    """Assertions the http get tests share."""

    def assertOK(self, r, out=None):
        self.assertEqual(r.returncode, 0, "stderr: %r" % r.stderr[-500:])
        if out is not None:
            self.assertEqual(sha(r.stdout), sha(out), "%d bytes, not the %d expected"
                             % (len(r.stdout), len(out)))

    def assertOneLineError(self, r, status, *needles):
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, status, "stderr: %r" % err)
        self.assertEqual(err.count("\n"), 1, "not one line: %r" % err)
        self.assertTrue(err.startswith("sockit"), err)
        self.assertNotRegex(err, r"^sockit: error$")
        for n in needles:
            self.assertIn(n, err)
        return err

    def assertFileSha(self, path, expected):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
        self.assertEqual(h.hexdigest(), sha(expected) if isinstance(expected, bytes) else expected)


def main(module, setup=None, teardown=None):
    """Runs module's tests (setup/teardown around them). The command is built: one that is
    missing or broken fails (there is no skipping). The last line printed is "N passed, N
    failed"."""
    if not os.access(BIN, os.X_OK):
        print("sockit binary not found at %s (set SOCKIT_BIN)" % BIN)
        print("0 passed, 1 failed")
        return 1
    if setup:
        setup()
    try:
        return test_cli.main(module)
    finally:
        if teardown:
            teardown()


def main_with_tmp(module, prefix):
    """main(module) with module.TMP a fresh temporary directory (named prefix...), removed after
    the tests, whatever they left in it."""
    mod = sys.modules[module]
    mod.TMP = tempfile.mkdtemp(prefix=prefix)
    try:
        return main(module)
    finally:
        shutil.rmtree(mod.TMP, ignore_errors=True)
