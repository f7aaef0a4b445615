#!/usr/bin/env python3
"""A reviewer's regressions for `sockit http get` and docs/http-client.md: each test is what a
hostile server, a hostile argument or a newcomer's copy of the documentation made go wrong,
with the check that failed before the fix. Tests that describe a problem left open are skipped
with the reason (they fail when run with SOCKIT_RUN_SKIPPED=1).

Peers: http_peers.ScriptServer (the tests' own server, which records every request) and, for
raw replies, RawServer below. Every wait is bounded. By hand:
SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_http_get_hostile.py
"""
import os
import re
import socket
import subprocess
import sys
import threading
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import http_peers as hp  # noqa: E402
from http_peers import get  # noqa: E402
from test_http_get import Base  # noqa: E402  (the ScriptServer, a temporary directory, reqs())

SRC = os.environ.get("SOCKIT_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
BUILD = os.environ.get("SOCKIT_BUILD_DIR", os.path.join(SRC, "build"))
SANITIZED = "ON" in os.environ.get("SOCKIT_SANITIZED", "")
RUN_SKIPPED = os.environ.get("SOCKIT_RUN_SKIPPED") == "1"


def open_issue(reason):
    """Skips a test describing an open problem (unless SOCKIT_RUN_SKIPPED=1)."""
    return unittest.skipUnless(RUN_SKIPPED, reason)


class RawServer:
    """Answers each connection's first request head with reply(head) (raw bytes), then closes.
    Records the heads received."""

    def __init__(self, reply):
        self.reply = reply
        self.heads = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(hp.TIMEOUT)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def _run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(hp.TIMEOUT)
                head = b""
                try:
                    while b"\r\n\r\n" not in head and len(head) < hp.MAX_HEAD:
                        b = c.recv(65536)
                        if not b:
                            break
                        head += b
                    with self.lock:
                        self.heads.append(head)
                    c.sendall(self.reply(head))
                except OSError:
                    pass

    def stop(self):
        self.stopped = True
        self.sock.close()
        self.thread.join(hp.TIMEOUT)


class TestExitCodes(Base):
    def test_bad_redirect_location_is_a_protocol_error(self):
        """A Location the client will not follow is the server's fault: exit 3, not 1 (the
        usage error a script reads as "my command line is wrong")."""
        for loc in ("file:///etc/passwd", "javascript:alert(1)", "ftp://127.0.0.1/x",
                    "http://[::1"):
            with self.subTest(location=loc):
                r = get("-sSL", self.srv.url("/to?url=" + urllib.parse.quote(loc, safe="")))
                self.assertOneLineError(r, 3, "redirect")
        # The URL on the command line stays a usage error.
        self.assertOneLineError(get("-sS", "ftp://127.0.0.1/x"), 1)

    def test_refused_arguments_are_usage_errors(self):
        """A method, header or user agent with a control character, or a -u too long, is the
        command line's fault: exit 1 (it was 2, "network error"), and nothing reaches the
        server (the -A and -X forms once smuggled an "Evil" header into the request)."""
        u = self.srv.url("/echo?t=refused")
        for args in (("-A", "x\r\nEvil: 1"), ("-X", "GET /x HTTP/1.1\r\nEvil: 1\r\nX-A: 2"),
                     ("-H", "X-Ctl: a\x01b"), ("-u", "bob:" + "p" * 1000)):
            with self.subTest(args=args[0]):
                self.assertOneLineError(get("-sS", *args, u), 1)
        self.assertOK(get("-sS", "-A", "ua/1", self.srv.url("/echo?t=refused-control")))
        self.srv.wait_requests(1)
        self.assertEqual(len(self.reqs("t=refused-control")), 1)
        for r in self.reqs("t=refused"):
            self.assertFalse([n for n, _ in r.headers if n.lower() == "evil"], r.headers)


class TestCurlHabits(Base):
    """Differences from curl that a script notices (the open ones skipped: see the report)."""

    def test_schemeless_url_with_a_url_in_its_query(self):
        """curl takes "host/path?to=http://x" as http://host/path?to=http://x; a "://" anywhere
        in the argument made it a URL with a scheme, and a bad one (exit 1)."""
        u = self.srv.url("/echo?t=schemeless&to=http://x")[len("http://"):]
        self.assertOK(get("-sS", u))
        self.assertEqual(len(self.reqs("t=schemeless")), 1)
        self.assertOK(get("-sS", "HTTP://" + self.srv.url("/echo?t=schemeless-upper")[7:]))
        self.assertEqual(len(self.reqs("t=schemeless-upper")), 1)

    def test_empty_header_semicolon(self):
        """curl's -H 'Name;' sends the header with an empty value."""
        r = get("-sS", "-H", "X-Empty;", self.srv.url("/echo?t=emptyhdr"))
        self.assertOK(r)
        self.assertEqual(self.reqs("t=emptyhdr")[0].header("X-Empty"), "")

    def test_location_with_space_followed(self):
        """curl and browsers percent-encode a raw space in a Location (%20) and follow it."""
        r = get("-sSL", self.srv.url("/to?url=" + urllib.parse.quote("/echo?t=sp ace", safe="")))
        self.assertOK(r)
        self.assertEqual(len(self.reqs("t=sp%20ace")), 1)

    def test_max_time_zero_is_no_limit(self):
        self.assertOK(get("-sS", "-m", "0", self.srv.url("/echo?t=m0")))


class TestDocs(Base):
    def doc_block(self, title):
        with open(os.path.join(SRC, "docs", "http-client.md"), encoding="utf-8") as f:
            text = f.read()
        m = re.search(r"^## %s\n.*?```c\n(.*?)```" % re.escape(title), text, re.S | re.M)
        self.assertIsNotNone(m, "no ```c block under '## %s'" % title)
        return m.group(1)

    def build(self, name, code):
        if SANITIZED:
            self.skipTest("the sanitizer build's libsockit.a needs its runtime to link")
        src = os.path.join(self.tmp, name + ".c")
        exe = os.path.join(self.tmp, name)
        with open(src, "w") as f:
            f.write(code)
        r = subprocess.run([os.environ.get("CC", "cc"), "-std=gnu11", "-Wall", "-Wextra", "-Werror",
                            "-Wno-unused-parameter", "-I", os.path.join(SRC, "include"), src,
                            "-o", exe, os.path.join(BUILD, "libsockit.a"), "-lssl", "-lcrypto",
                            "-lz", "-lpthread"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return exe

    def test_post_json_example_fails_on_an_error_status(self):
        """The POST JSON example read resp.status after sockit_http_resp_free (which zeroes it),
        so it exited 0 whatever the server answered."""
        exe = self.build("post_json", self.doc_block("POST JSON"))
        ok = subprocess.run([exe, self.srv.url("/echo?t=docpost")], capture_output=True,
                            timeout=hp.TIMEOUT)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn(b"200: ", ok.stdout)
        bad = subprocess.run([exe, self.srv.url("/status?code=500&times=1000&key=docpost")],
                             capture_output=True, timeout=hp.TIMEOUT)
        self.assertIn(b"500: ", bad.stdout)
        self.assertEqual(bad.returncode, 1, "a 500 reported as success")


def main():
    return hp.main(__name__)


if __name__ == "__main__":
    sys.exit(main())
