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
    """Runs curl ARGS to completion; its CompletedProcess."""
    return subprocess.run([CURL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
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
        for args, status, nerr in ((("-f", nope, ok), 0, 1), (("-f", ok, nope), 4, 1),
                                   ((self.refused(), ok), 0, 1), (("-f", self.refused(), nope), 4, 2),
                                   ((ok, self.refused()), 2, 1)):
            with self.subTest(args=args):
                ours, theirs = get(*args), curl("-sS", *args)
                self.assertEqual(ours.returncode, status, ours.stderr)
                self.assertSameExit(ours, theirs)
                self.assertEqual(len(self.lines(ours)), nerr, ours.stderr)
                self.assertEqual(len(self.lines(theirs)), nerr, theirs.stderr)


if __name__ == "__main__":
    sys.exit(hp.main(__name__))
