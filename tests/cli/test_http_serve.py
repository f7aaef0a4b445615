#!/usr/bin/env python3
"""End-to-end tests of `sockit http serve` (the static-file mount, src/http/static.c).

Peers: curl and Python's http.client / urllib / ssl, on 127.0.0.1 with `-p 0` (the port is read
from the `listening on` line). The served tree is made in a temporary directory: small files of
every content type, a 1 GiB sparse file (checked by sha256), precompressed siblings, awkward
names, an index page, symlinks in and out of the root, a FIFO. Every wait is bounded; no
timing decides a result (the server's state is observed with ss and its log, read to EOF).
Run by ctest with SOCKIT_BIN set; by hand: SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_http_serve.py
The last line printed is "N passed, N failed"; the exit status is non-zero on any failure.
"""
import hashlib
import html.parser
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("SOCKIT_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
BIN = os.environ.get("SOCKIT_BIN", os.path.join(SOURCE_DIR, "build", "bin", "sockit"))
SANITIZED = "ON" in os.environ.get("SOCKIT_SANITIZED", "")
TIMEOUT = 120 if SANITIZED else 30
TMP = None
ROOT = None
GIB = 1 << 30
BIG_SHA = None
ROOT_USER = os.geteuid() == 0

CTYPES = {
    "page.html": "text/html; charset=utf-8", "style.css": "text/css; charset=utf-8",
    "app.mjs": "text/javascript; charset=utf-8", "data.json": "application/json",
    "pic.png": "image/png", "pic.svg": "image/svg+xml", "notes.txt": "text/plain; charset=utf-8",
    "blob.xyz": "application/octet-stream", "mod.wasm": "application/wasm",
    "noext": "application/octet-stream",
}
SMALL = {"empty.bin": 0, "one.bin": 1, "edge.bin": 16384, "edge1.bin": 16385, "mid.bin": 100000}
AWKWARD = ["a&b.txt", "<x>.txt", "space name.txt", "quote\"s.txt", "\u00fcn\u00ef.txt", "hash#.txt",
           "pct%41.txt", "q?.txt"]


def make_tree(d):
    """The served tree; returns the sha256 of the 1 GiB file."""
    for name, n in SMALL.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes((i * 7 + 3) % 251 for i in range(n)))
    for name in CTYPES:
        with open(os.path.join(d, name), "wb") as f:
            f.write(("content of %s\n" % name).encode())
    with open(os.path.join(d, "ten.txt"), "wb") as f:
        f.write(b"0123456789")
    # Precompressed: a real gzip sibling (curl --compressed must get the original back), and a
    # .br sibling whose bytes say what they are (only compared raw).
    plain = b"console.log('hello from app.js');\n" * 50
    with open(os.path.join(d, "app.js"), "wb") as f:
        f.write(plain)
    import gzip
    with open(os.path.join(d, "app.js.gz"), "wb") as f:
        f.write(gzip.compress(plain))
    with open(os.path.join(d, "app.js.br"), "wb") as f:
        f.write(b"BROTLI-BYTES-OF-app.js")
    with open(os.path.join(d, "only.css"), "wb") as f:
        f.write(b"body{}\n")
    with open(os.path.join(d, "only.css.gz"), "wb") as f:
        f.write(gzip.compress(b"body{}\n"))
    os.makedirs(os.path.join(d, "site"))
    with open(os.path.join(d, "site", "index.html"), "wb") as f:
        f.write(b"<!DOCTYPE html><title>site</title><p>the index</p>\n")
    os.makedirs(os.path.join(d, "list"))
    os.makedirs(os.path.join(d, "list", "inner dir"))
    for name in AWKWARD:
        with open(os.path.join(d, "list", name), "wb") as f:
            f.write(name.encode())
    os.makedirs(os.path.join(d, "d ir"))
    # Symlinks: in (relative, stays beneath) and out (absolute, and relative through ..).
    outside = os.path.join(TMP, "outside.txt")
    with open(outside, "wb") as f:
        f.write(b"secret outside the root\n")
    os.symlink("ten.txt", os.path.join(d, "link-in.txt"))
    os.symlink(outside, os.path.join(d, "link-abs.txt"))
    os.symlink("../outside.txt", os.path.join(d, "link-up.txt"))
    os.symlink(TMP, os.path.join(d, "link-dir"))
    os.mkfifo(os.path.join(d, "fifo"))
    with open(os.path.join(d, "unreadable.txt"), "wb") as f:
        f.write(b"no\n")
    os.chmod(os.path.join(d, "unreadable.txt"), 0)
    # 1 GiB, sparse, with data at its start, middle and end.
    h = hashlib.sha256()
    big = os.path.join(d, "big.bin")
    marks = {0: b"start" * 100, GIB // 2 - 3: b"middle" * 1000, GIB - 700: b"end!" * 175}
    with open(big, "wb") as f:
        f.truncate(GIB)
        for off, data in marks.items():
            f.seek(off)
            f.write(data)
    with open(big, "rb") as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                break
            h.update(b)
    # A 32 MiB file (more than the socket buffers hold) for the in-flight request at a graceful stop.
    with open(os.path.join(d, "inflight.bin"), "wb") as f:
        f.write(os.urandom(1 << 20) * 32)
    return h.hexdigest()


class Server:
    """`sockit http serve ARGS` with stderr collected line by line."""

    def __init__(self, *args, directory=None, bind="127.0.0.1", port="0"):
        argv = [BIN, "http", "serve"]
        if bind is not None:
            argv += ["-b", bind]
        if port is not None:
            argv += ["-p", port]
        argv += ["-d", directory or ROOT, *args]
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.lines = []
        self.cond = threading.Condition()
        self.eof = False
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()
        ok = self.wait_for(lambda: any(l.startswith("listening on") for l in self.lines) or self.eof)
        first = [l for l in self.lines if l.startswith("listening on")]
        if not ok or not first:
            self.kill()
            raise AssertionError("no 'listening on' line; stderr: %r" % self.lines)
        self.listening = first[0]
        self.port = int(re.search(r":(\d+)$", first[0]).group(1))

    def _read(self):
        for raw in self.p.stderr:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_for(self, pred, timeout=TIMEOUT):
        with self.cond:
            return self.cond.wait_for(pred, timeout)

    def log_lines(self):
        with self.cond:
            return [l for l in self.lines if not l.startswith("listening on")]

    def stop(self, sig=signal.SIGTERM):
        """Signals the server, waits for its exit; returns the status (stderr read to EOF)."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
        rc = self.p.wait(TIMEOUT)
        self.t.join(TIMEOUT)
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(TIMEOUT)

    def url(self, path, scheme="http"):
        return "%s://127.0.0.1:%d%s" % (scheme, self.port, path)


def get(port, path, headers=None, method="GET"):
    """One request on a new http.client connection: (status, headers dict lowercased, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def curl(*args, timeout=TIMEOUT):
    return subprocess.run(["curl", "-sS", "--max-time", str(timeout), *args], capture_output=True,
                          timeout=timeout + 10)


def ss_established(port):
    """Server-side sockets of established connections on port (the ss lines)."""
    r = subprocess.run(["ss", "-Htn", "state", "established", "( sport = :%d )" % port],
                       capture_output=True, text=True, timeout=TIMEOUT)
    return [l for l in r.stdout.splitlines() if l.strip()]


def content(name):
    with open(os.path.join(ROOT, name), "rb") as f:
        return f.read()


class Base(unittest.TestCase):
    srv = None

    @classmethod
    def setUpClass(cls):
        cls.srv = Server()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        assert rc == 0, "server exit status %r" % rc


class TestFiles(Base):
    def test_small_files_exact_bytes(self):
        for name in SMALL:
            with urllib.request.urlopen(self.srv.url("/" + name), timeout=TIMEOUT) as r:
                self.assertEqual(r.status, 200, name)
                self.assertEqual(r.read(), content(name), name)
                self.assertEqual(int(r.headers["Content-Length"]), SMALL[name], name)
                self.assertEqual(r.headers["Accept-Ranges"], "bytes")

    def test_big_file_sha256_with_curl(self):
        p = subprocess.Popen(["curl", "-sS", "--max-time", str(TIMEOUT * 4), self.srv.url("/big.bin")],
                             stdout=subprocess.PIPE)
        h, n = hashlib.sha256(), 0
        while True:
            b = p.stdout.read(1 << 22)
            if not b:
                break
            h.update(b)
            n += len(b)
        self.assertEqual(p.wait(TIMEOUT), 0)
        self.assertEqual(n, GIB)
        self.assertEqual(h.hexdigest(), BIG_SHA)

    def test_big_file_ranges_with_http_client(self):
        with open(os.path.join(ROOT, "big.bin"), "rb") as f:
            for first, last in ((GIB // 2 - 100, GIB // 2 + 9000), (GIB - 1000, GIB - 1)):
                f.seek(first)
                want = f.read(last - first + 1)
                st, h, body = get(self.srv.port, "/big.bin", {"Range": "bytes=%d-%d" % (first, last)})
                self.assertEqual(st, 206)
                self.assertEqual(h["content-range"], "bytes %d-%d/%d" % (first, last, GIB))
                self.assertEqual(body, want)

    def test_content_types(self):
        for name, ctype in CTYPES.items():
            st, h, body = get(self.srv.port, "/" + name)
            self.assertEqual((st, h["content-type"]), (200, ctype), name)
            self.assertEqual(body, content(name))
        r = curl("-o", "/dev/null", "-w", "%{content_type}", self.srv.url("/style.css"))
        self.assertEqual(r.stdout.decode(), "text/css; charset=utf-8")

    def test_head(self):
        for name in ("edge1.bin", "page.html", "big.bin"):
            st, g, _ = get(self.srv.port, "/" + name)  # GET first: same headers
            c = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=TIMEOUT)
            c.request("HEAD", "/" + name)
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.read(), b"")
            self.assertEqual(int(r.getheader("Content-Length")), os.path.getsize(os.path.join(ROOT, name)))
            self.assertEqual(r.getheader("ETag"), g["etag"])
            self.assertEqual(r.getheader("Last-Modified"), g["last-modified"])
            # The connection is still usable: HEAD sent no body bytes.
            c.request("GET", "/ten.txt")
            self.assertEqual(c.getresponse().read(), b"0123456789")
            c.close()
        r = curl("-I", self.srv.url("/ten.txt"))
        self.assertIn(b"Content-Length: 10", r.stdout)

    def test_missing_404(self):
        self.assertEqual(get(self.srv.port, "/nope.txt")[0], 404)
        self.assertEqual(get(self.srv.port, "/ten.txt/")[0], 404)  # a file is not a directory
        self.assertEqual(get(self.srv.port, "/nodir/x")[0], 404)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(self.srv.url("/nope"), timeout=TIMEOUT)
        self.assertEqual(e.exception.code, 404)

    def test_methods(self):
        for m in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            st, h, _ = get(self.srv.port, "/ten.txt", method=m)
            self.assertEqual(st, 405, m)
            self.assertEqual(h["allow"], "GET, HEAD", m)
        self.assertEqual(get(self.srv.port, "/ten.txt", method="BREW")[0], 501)
        r = curl("-X", "DELETE", "-o", "/dev/null", "-w", "%{http_code}", self.srv.url("/ten.txt"))
        self.assertEqual(r.stdout, b"405")


class TestRange(Base):
    CASES = [  # Range value, status, Content-Range, body of "0123456789"
        ("bytes=0-0", 206, "bytes 0-0/10", b"0"),
        ("bytes=2-5", 206, "bytes 2-5/10", b"2345"),
        ("bytes=5-", 206, "bytes 5-9/10", b"56789"),
        ("bytes=-3", 206, "bytes 7-9/10", b"789"),
        ("bytes=-30", 206, "bytes 0-9/10", b"0123456789"),
        ("bytes=5-1000", 206, "bytes 5-9/10", b"56789"),
        ("bytes=9-9", 206, "bytes 9-9/10", b"9"),
        ("bytes=10-", 416, "bytes */10", None),
        ("bytes=100-200", 416, "bytes */10", None),
        ("bytes=-0", 416, "bytes */10", None),
        ("bytes=0-1,3-4", 200, None, b"0123456789"),
        ("bytes=abc", 200, None, b"0123456789"),
        ("bytes=5-2", 200, None, b"0123456789"),
        ("items=0-1", 200, None, b"0123456789"),
        ("bytes=", 200, None, b"0123456789"),
    ]

    def test_table(self):
        for value, status, crange, body in self.CASES:
            st, h, b = get(self.srv.port, "/ten.txt", {"Range": value})
            self.assertEqual(st, status, value)
            self.assertEqual(h.get("content-range"), crange, value)
            if body is not None:
                self.assertEqual(b, body, value)
                self.assertEqual(int(h["content-length"]), len(body), value)

    def test_curl_ranges(self):
        r = curl("-r", "2-5", self.srv.url("/ten.txt"))
        self.assertEqual(r.stdout, b"2345")
        r = curl("-r", "0-0", "-o", "/dev/null", "-w", "%{http_code}", self.srv.url("/ten.txt"))
        self.assertEqual(r.stdout, b"206")
        r = curl("-r", "20-30", "-o", "/dev/null", "-w", "%{http_code}", self.srv.url("/ten.txt"))
        self.assertEqual(r.stdout, b"416")

    def test_range_on_head_and_large(self):
        st, h, b = get(self.srv.port, "/mid.bin", {"Range": "bytes=99990-"})
        self.assertEqual((st, b), (206, content("mid.bin")[99990:]))
        st, h, b = get(self.srv.port, "/mid.bin", {"Range": "bytes=1-50000"})
        self.assertEqual((st, b), (206, content("mid.bin")[1:50001]))
        # Range is defined for GET only (RFC 9110 14.2): HEAD answers the whole representation.
        st, h, b = get(self.srv.port, "/ten.txt", {"Range": "bytes=1-2"}, method="HEAD")
        self.assertEqual((st, h["content-length"], b), (200, "10", b""))

    def test_if_range(self):
        _, h, _ = get(self.srv.port, "/ten.txt")
        etag, lm = h["etag"], h["last-modified"]
        for ir, status in ((etag, 206), ('"stale"', 200), ("W/" + etag, 200), (lm, 206),
                           ("Thu, 01 Jan 1970 00:00:01 GMT", 200), ("garbage", 200)):
            st, h2, b = get(self.srv.port, "/ten.txt", {"Range": "bytes=1-2", "If-Range": ir})
            self.assertEqual(st, status, ir)
            self.assertEqual(b, b"12" if status == 206 else b"0123456789", ir)


class TestValidators(Base):
    def setUp(self):
        _, h, _ = get(self.srv.port, "/ten.txt")
        self.etag, self.lm = h["etag"], h["last-modified"]
        self.assertTrue(re.match(r'^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$', self.etag), self.etag)
        self.assertTrue(re.match(r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$", self.lm), self.lm)

    def check(self, headers, status, method="GET"):
        st, h, b = get(self.srv.port, "/ten.txt", headers, method)
        self.assertEqual(st, status, headers)
        if status == 304:
            self.assertEqual(b, b"")
            self.assertEqual(h["etag"], self.etag)
            self.assertNotIn("content-length", h)
        elif status == 412:
            self.assertEqual(h["etag"], self.etag)
        return h

    def test_if_none_match(self):
        self.check({"If-None-Match": self.etag}, 304)
        self.check({"If-None-Match": '"a", %s, "b"' % self.etag}, 304)
        self.check({"If-None-Match": "*"}, 304)
        self.check({"If-None-Match": "W/" + self.etag}, 304)  # weak comparison
        self.check({"If-None-Match": '"other"'}, 200)
        self.check({"If-None-Match": self.etag}, 304, method="HEAD")
        r = curl("-H", "If-None-Match: " + self.etag, "-o", "/dev/null", "-w", "%{http_code}",
                 self.srv.url("/ten.txt"))
        self.assertEqual(r.stdout, b"304")

    def test_if_modified_since(self):
        self.check({"If-Modified-Since": self.lm}, 304)
        self.check({"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}, 200)
        self.check({"If-Modified-Since": "not a date"}, 200)
        # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
        self.check({"If-None-Match": '"other"', "If-Modified-Since": self.lm}, 200)
        r = curl("-z", self.lm, "-o", "/dev/null", "-w", "%{http_code}", self.srv.url("/ten.txt"))
        self.assertEqual(r.stdout, b"304")

    def test_if_match_and_unmodified_since(self):
        self.check({"If-Match": '"other"'}, 412)
        self.check({"If-Match": "W/" + self.etag}, 412)  # strong comparison
        self.check({"If-Match": self.etag}, 200)
        self.check({"If-Match": "*"}, 200)
        self.check({"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}, 412)
        self.check({"If-Unmodified-Since": self.lm}, 200)
        # A failed If-Match decides before Range.
        self.check({"If-Match": '"other"', "Range": "bytes=0-1"}, 412)


class TestPrecompressed(Base):
    def test_selection_and_vary(self):
        plain = content("app.js")
        cases = [({"Accept-Encoding": "gzip"}, "gzip", content("app.js.gz")),
                 ({"Accept-Encoding": "br, gzip"}, "br", content("app.js.br")),
                 ({"Accept-Encoding": "gzip;q=1, br;q=0.5"}, "gzip", content("app.js.gz")),
                 ({"Accept-Encoding": "gzip;q=0"}, None, plain),
                 ({"Accept-Encoding": "identity"}, None, plain),
                 ({}, None, plain)]
        etags = set()
        for hdrs, enc, body in cases:
            st, h, b = get(self.srv.port, "/app.js", hdrs)
            self.assertEqual(st, 200, hdrs)
            self.assertEqual(h.get("content-encoding"), enc, hdrs)
            self.assertEqual(h["vary"], "Accept-Encoding", hdrs)
            self.assertEqual(h["content-type"], "text/javascript; charset=utf-8", hdrs)
            self.assertEqual(b, body, hdrs)
            etags.add((enc, h["etag"]))
        self.assertEqual(len({e for _, e in etags}), 3)  # each representation its own ETag
        st, h, b = get(self.srv.port, "/only.css", {"Accept-Encoding": "br"})
        self.assertEqual((h.get("content-encoding"), h["vary"], b), (None, "Accept-Encoding", b"body{}\n"))
        st, h, b = get(self.srv.port, "/ten.txt", {"Accept-Encoding": "gzip, br"})
        self.assertNotIn("vary", h)
        self.assertNotIn("content-encoding", h)

    def test_curl_compressed_and_range(self):
        # (gzip only: the .br sibling holds marker bytes, not brotli.)
        r = curl("--compressed", "-H", "Accept-Encoding: gzip", self.srv.url("/app.js"))
        self.assertEqual(r.stdout, content("app.js"))
        # Range applies to the bytes of the representation chosen (docs/http-server.md).
        st, h, b = get(self.srv.port, "/app.js", {"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
        self.assertEqual((st, b), (206, content("app.js.gz")[:10]))
        self.assertEqual(h["content-range"], "bytes 0-9/%d" % len(content("app.js.gz")))
        # The sibling itself is an ordinary file.
        st, h, b = get(self.srv.port, "/app.js.gz")
        self.assertEqual((st, h["content-type"], b), (200, "application/gzip", content("app.js.gz")))


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])

    def handle_data(self, data):
        self.text.append(data)


class TestDirectories(Base):
    def test_redirect_to_slash(self):
        for path, loc in (("/site", "/site/"), ("/site?a=b&c", "/site/?a=b&c"), ("/d%20ir", "/d%20ir/"),
                          ("/list/inner%20dir", "/list/inner%20dir/")):
            st, h, _ = get(self.srv.port, path)
            self.assertEqual((st, h["location"]), (301, loc), path)
        r = curl("-L", self.srv.url("/site"))
        self.assertIn(b"the index", r.stdout)

    def test_index_html(self):
        st, h, b = get(self.srv.port, "/site/")
        self.assertEqual((st, h["content-type"], b), (200, "text/html; charset=utf-8", content("site/index.html")))
        self.assertIn("etag", h)

    def test_listing(self):
        st, h, b = get(self.srv.port, "/list/")
        self.assertEqual((st, h["content-type"]), (200, "text/html; charset=utf-8"))
        page = b.decode()
        p = Links()
        p.feed(page)
        text = "".join(p.text)
        for name in AWKWARD:
            self.assertIn(name, text, name)  # shown (HTML-unescaped by the parser) ...
        self.assertNotIn("<x>", page)  # ... and escaped in the page itself
        self.assertIn("&lt;x&gt;", page)
        self.assertIn("../", p.hrefs)
        self.assertIn("inner%20dir/", p.hrefs)
        # Every file link fetches that file.
        got = {}
        for href in p.hrefs:
            if href.endswith("/"):
                continue
            s2, _, body = get(self.srv.port, "/list/" + href)
            self.assertEqual(s2, 200, href)
            got[body.decode()] = href
        self.assertEqual(sorted(got), sorted(AWKWARD))
        # Directories first, then files, each in byte order.
        order = [h for h in p.hrefs if h != "../"]
        self.assertEqual(order[0], "inner%20dir/")
        self.assertEqual([urllib.request.unquote(h) for h in order[1:]], sorted(AWKWARD, key=lambda s: s.encode()))

    def test_root_listing_with_urllib(self):
        with urllib.request.urlopen(self.srv.url("/"), timeout=TIMEOUT) as r:
            page = r.read().decode()
        self.assertIn("ten.txt", page)
        self.assertIn('href="site/"', page)


class TestSafety(Base):
    def test_symlinks(self):
        st, _, b = get(self.srv.port, "/link-in.txt")
        self.assertEqual((st, b), (200, b"0123456789"))
        for path in ("/link-abs.txt", "/link-up.txt", "/link-dir/outside.txt", "/link-dir/"):
            st, _, b = get(self.srv.port, path)
            self.assertIn(st, (403, 404), path)
            self.assertNotIn(b"secret", b, path)
        r = curl("--path-as-is", self.srv.url("/../outside.txt"))
        self.assertNotIn(b"secret", r.stdout)

    def test_fifo_and_unreadable(self):
        self.assertEqual(get(self.srv.port, "/fifo")[0], 403)
        if not ROOT_USER:  # root reads a mode-0 file
            self.assertEqual(get(self.srv.port, "/unreadable.txt")[0], 403)

    def test_symlinks_in_listing_not_followed(self):
        st, _, b = get(self.srv.port, "/")
        self.assertIn(b"link-abs.txt", b)


class TestConnections(Base):
    def test_keep_alive_one_connection_on_the_server(self):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=TIMEOUT)
        for name in ("ten.txt", "page.html", "edge1.bin"):
            c.request("GET", "/" + name)
            self.assertEqual(c.getresponse().read(), content(name))
        local = c.sock.getsockname()[1]
        # The server holds exactly one connection from this client, the one all three used.
        lines = [l for l in ss_established(self.srv.port) if re.search(r":%d\s*$" % local, l)]
        self.assertEqual(len(lines), 1, ss_established(self.srv.port))
        c.close()

    def test_curl_reuses_connection(self):
        # Two URLs in one curl: the second transfer made no new connection.
        r = curl("-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects}\n",
                 self.srv.url("/ten.txt"), self.srv.url("/page.html"))
        self.assertEqual(r.stdout.split(), [b"1", b"0"])

    def test_pipelined_in_order(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=TIMEOUT)
        names = ["ten.txt", "one.bin", "page.html", "ten.txt"]
        s.sendall(b"".join(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % n.encode() for n in names))
        f = s.makefile("rb")
        for n in names:
            status = f.readline()
            self.assertTrue(status.startswith(b"HTTP/1.1 200"), status)
            length = None
            while True:
                line = f.readline()
                if line == b"\r\n":
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.assertEqual(f.read(length), content(n))
        s.close()


def make_cert(d):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-days", "30", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], cwd=d, check=True,
                   capture_output=True, timeout=TIMEOUT)
    return os.path.join(d, "c.pem"), os.path.join(d, "k.pem")


class TestHTTPS(unittest.TestCase):
    def test_https_alpn(self):
        cert, key = make_cert(TMP)
        srv = Server("--cert", cert, "--key", key)
        try:
            ctx = ssl.create_default_context(cafile=cert)
            ctx.set_alpn_protocols(["h2", "http/1.1"])
            c = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=TIMEOUT, context=ctx)
            c.request("GET", "/ten.txt")
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"0123456789"))
            self.assertEqual(c.sock.selected_alpn_protocol(), "http/1.1")
            c.request("GET", "/mid.bin")  # sendfile's path through TLS, same connection
            self.assertEqual(c.getresponse().read(), content("mid.bin"))
            c.close()
            r = curl("--cacert", cert, "--http1.1", self.srv_url(srv, "/edge1.bin"))
            self.assertEqual(r.stdout, content("edge1.bin"))
            r = curl("--cacert", cert, "-r", "1-3", self.srv_url(srv, "/ten.txt"))
            self.assertEqual(r.stdout, b"123")
        finally:
            self.assertEqual(srv.stop(), 0)

    @staticmethod
    def srv_url(srv, path):
        return srv.url(path, "https")


class TestProcess(unittest.TestCase):
    def test_clf_lines(self):
        srv = Server()
        try:
            get(srv.port, "/ten.txt")
            get(srv.port, "/nope", method="HEAD")
            get(srv.port, "/ten.txt", {"Range": "bytes=0-1"})
        finally:
            self.assertEqual(srv.stop(), 0)
        log = srv.log_lines()
        clf = r'^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] "%s" %s$'
        self.assertEqual(len(log), 3, log)
        # One line each; the connections were different, and their workers log in any order.
        for want in (("GET /ten.txt HTTP/1.1", "200 10"), ("HEAD /nope HTTP/1.1", "404 -"),
                     ("GET /ten.txt HTTP/1.1", "206 2")):
            self.assertEqual(len([l for l in log if re.match(clf % want, l)]), 1, (want, log))

    def test_quiet(self):
        srv = Server("-q")
        try:
            self.assertEqual(get(srv.port, "/ten.txt")[0], 200)
            self.assertEqual(get(srv.port, "/nope")[0], 404)
        finally:
            self.assertEqual(srv.stop(), 0)
        self.assertEqual(srv.log_lines(), [])

    def test_sigint_and_sigterm_finish_in_flight(self):
        want = content("inflight.bin")
        for sig in (signal.SIGINT, signal.SIGTERM):
            srv = Server("-q")
            try:
                idle = socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT)
                idle.sendall(b"GET /one.bin HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(idle.recv(4096).startswith(b"HTTP/1.1 200"))
                c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=TIMEOUT)
                c.request("GET", "/inflight.bin")
                r = c.getresponse()
                first = r.read(1)  # the response is under way: 32 MiB cannot all be in buffers
                srv.p.send_signal(sig)
                rest = r.read()
                self.assertEqual(len(first + rest), len(want))
                self.assertEqual(hashlib.sha256(first + rest).digest(), hashlib.sha256(want).digest())
                self.assertEqual(r.getheader("Connection"), None)  # sent before the stop
                self.assertEqual(idle.recv(4096), b"")  # the idle keep-alive connection was closed
                self.assertEqual(srv.p.wait(TIMEOUT), 0)
                c.close()
                idle.close()
            finally:
                srv.kill()

    def test_default_port_python_aliases_and_positional_port(self):
        # --directory / --bind / a positional PORT, as python3 -m http.server takes them.
        p = subprocess.Popen([BIN, "http", "serve", "--bind", "127.0.0.1", "--directory", ROOT + "/site", "0"],
                             stderr=subprocess.PIPE)
        try:
            line = p.stderr.readline().decode()
            m = re.match(r"listening on 127\.0\.0\.1:(\d+)\n", line)
            self.assertTrue(m, line)
            st, _, b = get(int(m.group(1)), "/")
            self.assertEqual((st, b), (200, content("site/index.html")))
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(TIMEOUT), 0)
            p.stderr.close()

    def test_wildcard_bind_by_default(self):
        srv = Server("-q", bind=None)
        try:
            self.assertRegex(srv.listening, r"^listening on (\[::\]|0\.0\.0\.0):\d+$")
            self.assertEqual(get(srv.port, "/ten.txt")[0], 200)
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_help_lists_limits(self):
        r = subprocess.run([BIN, "http", "serve", "--help"], capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0)
        for needle in ("--directory", "--bind", "--cert", "16384", "10.0", "RLIMIT_NOFILE", "default 8000"):
            self.assertIn(needle, r.stdout)
        r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=TIMEOUT)
        self.assertIn("http", r.stdout)

    def test_raises_nofile(self):
        srv = Server("-q")
        try:
            with open("/proc/%d/limits" % srv.p.pid) as f:
                row = [l for l in f if l.startswith("Max open files")][0].split()
            self.assertEqual(row[3], row[4])  # soft == hard
        finally:
            self.assertEqual(srv.stop(), 0)

    def assertFails(self, argv, status, *needles):
        r = subprocess.run([BIN, "http", *argv], capture_output=True, text=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, status, (argv, r.stderr))
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("sockit"), r.stderr)
        for n in needles:
            self.assertIn(n, lines[0])

    def test_exit_codes(self):
        self.assertFails(["serve", "--bogus"], 1, "--bogus")
        self.assertFails(["serve", "-p", "70000"], 1, "70000")
        self.assertFails(["serve", "-p", "80x"], 1, "80x")
        self.assertFails(["serve", "-t", "0"], 1)
        self.assertFails(["serve", "-p", "1", "2"], 1)
        self.assertFails(["serve", "-d"], 1)
        self.assertFails(["serve", "--cert", "x.pem"], 1, "--key")
        self.assertFails(["serve", "-p", "0", "-d", os.path.join(TMP, "missing")], 5, "missing")
        self.assertFails(["serve", "-p", "0", "-d", os.path.join(ROOT, "ten.txt")], 5, "ten.txt")
        self.assertFails(["serve", "-b", "127.0.0.1", "-p", "0", "-d", ROOT, "--cert",
                          os.path.join(TMP, "nocert.pem"), "--key", os.path.join(TMP, "nokey.pem")], 5)
        self.assertFails(["get"], 1, "missing URL")  # http get: its own tests in test_http_get*.py
        self.assertFails(["bogus"], 1, "bogus")
        held = socket.socket()
        held.bind(("127.0.0.1", 0))
        held.listen()
        try:
            self.assertFails(["serve", "-b", "127.0.0.1", "-p", str(held.getsockname()[1]), "-d", ROOT], 2,
                             "bind", "Address already in use")
        finally:
            held.close()
        if not ROOT_USER:
            locked = os.path.join(TMP, "locked")
            os.makedirs(locked, exist_ok=True)
            os.chmod(locked, 0)
            self.assertFails(["serve", "-p", "0", "-d", locked], 5, "locked")


def run_suite(module):
    """Runs module's tests and prints the closing line ctest's log shows: the exit status."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module])
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(res.failures) + len(res.errors)
    print("%d passed, %d failed" % (res.testsRun - failed, failed))
    return 0 if res.wasSuccessful() else 1


def main():
    global TMP, ROOT, BIG_SHA
    if not os.path.exists(BIN):
        print("%s not built" % BIN)
        print("0 passed, 1 failed")
        return 1
    TMP = tempfile.mkdtemp(prefix="sockit-http-")
    ROOT = os.path.join(TMP, "root")
    os.makedirs(ROOT)
    try:
        BIG_SHA = make_tree(ROOT)
        return run_suite(__name__)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
