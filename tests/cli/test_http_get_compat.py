#!/usr/bin/env python3
"""`sockit http get` against curl (issue 10: flags curl users type behave as curl's do). Each
test runs both on the same tests' server (http_peers.ScriptServer) and compares what they do:
the exit status of several URLs (the last transfer's), what --retry retries, -I/-i with --fail,
-X HEAD, and a -H without a colon. curl's exit codes map to cli.md's: 0 -> 0, 7 and 28 -> 2,
22 -> 4.

Every wait is bounded; nothing sleeps to order events. By hand:
SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_http_get_compat.py
"""
import os
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import http_peers as hp  # noqa: E402
from http_peers import data, get  # noqa: E402

CURL = shutil.which("curl")
CURL_TO_OURS = {0: 0, 7: 2, 28: 2, 22: 4}


def curl(*args):
    """Runs curl -sS ARGS to completion (no progress meter; errors shown, as sockit's are); its
    CompletedProcess."""
    return subprocess.run([CURL, "-sS", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=hp.TIMEOUT, env=hp.clean_env())


@unittest.skipUnless(CURL, "curl is not installed (a test dependency)")
class Base(hp.GetTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = hp.ScriptServer()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def url(self, path):
        return self.srv.url(path)

    def refused(self):
        return "http://127.0.0.1:%d/" % hp.free_port()

    def reqs(self, token):
        with self.srv.lock:
            return [r for r in self.srv.requests if token in r.target]

    def assertSameExit(self, ours, theirs):
        self.assertIn(theirs.returncode, CURL_TO_OURS, theirs.stderr)
        self.assertEqual(ours.returncode, CURL_TO_OURS[theirs.returncode],
                         "sockit: %r; curl: %r" % (ours.stderr, theirs.stderr))

    def lines(self, r):
        return r.stderr.decode(errors="replace").splitlines()


class TestSeveralUrls(Base):
    """curl's exit status is the last transfer's; each failure still says why on one line."""

    def test_last_transfer_decides(self):
        ok, nope = self.url("/bytes?n=3&seed=1"), self.url("/nope")
        cases = ((("-f", nope, ok), 0, 1), (("-f", ok, nope), 4, 1), ((self.refused(), ok), 0, 1),
                 (("-f", self.refused(), nope), 4, 2), ((ok, self.refused()), 2, 1))
        for args, status, nerr in cases:
            with self.subTest(args=args):
                ours, theirs = get(*args), curl(*args)
                self.assertEqual(ours.returncode, status, ours.stderr)
                self.assertSameExit(ours, theirs)
                self.assertEqual(len(self.lines(ours)), nerr, ours.stderr)
                self.assertEqual(len(self.lines(theirs)), nerr, theirs.stderr)


class TestRetry(Base):
    """curl retries timeouts and 408, 429, 500, 502, 503, 504; refused connections only with
    --retry-connrefused."""

    def test_501_is_not_retried(self):
        for prog, key in ((get, "n501s"), (curl, "n501c")):
            r = prog("--retry", "2", self.url("/status?code=501&times=1&retry_after=0&key=" + key))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"try again\n")
            self.assertEqual(len(self.reqs("key=" + key)), 1, prog)

    def test_502_is_retried(self):
        for prog, key in ((get, "r502s"), (curl, "r502c")):
            r = prog("--retry", "2", self.url("/status?code=502&times=1&retry_after=0&key=" + key))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.endswith(b"ok after 1\n"), r.stdout)
            self.assertEqual(len(self.reqs("key=" + key)), 2, prog)

    def test_refused_is_retried_only_with_retry_connrefused(self):
        u = self.refused()
        ours, theirs = get("--retry", "1", u), curl("--retry", "1", u)
        self.assertSameExit(ours, theirs)
        self.assertOneLineError(ours, 2, "refused")
        self.assertEqual(len(self.lines(theirs)), 1, theirs.stderr)
        ours = get("--retry", "1", "--retry-connrefused", u)
        theirs = curl("--retry", "1", "--retry-connrefused", u)
        self.assertSameExit(ours, theirs)
        self.assertEqual(len(self.lines(ours)), 2, ours.stderr)  # retrying..., the error
        self.assertIn("retrying", self.lines(ours)[0])
        self.assertEqual(len(self.lines(theirs)), 2, theirs.stderr)


class TestFailWithHeads(Base):
    """-I --fail and -i --fail on a 404: the head is written, not the body, then exit 4."""

    def test_head_and_include_with_fail(self):
        for flag in ("-I", "-i"):
            with self.subTest(flag=flag):
                u = self.url("/nope?t=" + flag)
                ours, theirs = get(flag, "--fail", u), curl(flag, "--fail", u)
                self.assertSameExit(ours, theirs)
                self.assertOneLineError(ours, 4, "404")
                self.assertTrue(ours.stdout.startswith(b"HTTP/1.1 404 "), ours.stdout)
                self.assertTrue(ours.stdout.endswith(b"\r\n\r\n"), ours.stdout)
                self.assertEqual(ours.stdout, theirs.stdout)


class TestMethodHead(Base):
    """-X HEAD: curl waits for the body a HEAD never gets (until -m); sockit reads it as a HEAD
    (no body awaited, nothing written), which --help says."""

    def test_x_head_does_not_wait_for_a_body(self):
        ours = get("-m", "20", "-X", "HEAD", self.url("/head?t=xhead"))
        self.assertOK(ours, b"")
        self.assertEqual(ours.stderr, b"")
        (req,) = self.reqs("t=xhead")
        self.assertEqual(req.method, "HEAD")
        theirs = curl("-m", "1", "-X", "HEAD", self.url("/head?t=xheadc"))
        self.assertEqual(theirs.returncode, 28)  # the difference, on purpose

    def test_help_says_so(self):
        out = get("--help").stdout.decode()
        self.assertRegex(out, r"-X HEAD")


class TestHeaderWithoutColon(Base):
    """-H nocolon (also ':x' and ''): curl sends nothing for it and says nothing."""

    def test_ignored(self):
        for prog, t in ((get, "ncs"), (curl, "ncc")):
            r = prog("-H", "nocolon", "-H", ":x", "-H", "", "-H", "X-A: 1",
                     self.url("/echo?t=" + t))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, b"")
            (req,) = self.reqs("t=" + t)
            self.assertEqual(req.header("X-A"), "1")
            self.assertNotIn(b"nocolon", r.stdout)
            self.assertNotIn(b": x", r.stdout)


if __name__ == "__main__":
    sys.exit(hp.main(__name__))
