#!/usr/bin/env python3
"""The test harnesses of the built commands never skip: `sockit http get` and `sockit http serve`
are built, so a command that says "not built yet" (or any stub text), or a binary that is
missing, fails the suites (http_peers.main, http_harness.main, test_http_serve.py,
test_http_browser.py) instead of passing them with a SKIP line. Each case runs a harness in a
child Python with SOCKIT_BIN pointing at a stub script (or at nothing).
By hand: SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_no_skips.py
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_cli  # noqa: E402

TIMEOUT = 60

# A module with one test of the command, run by a harness's main().
CHILD = {
    "http_peers": "import http_peers as hp\n"
                  "class T(hp.GetTest):\n"
                  "    def test_refused(self):\n"
                  "        self.assertEqual(hp.get('-sS', 'http://127.0.0.1:1/').returncode, 2)\n"
                  "sys.exit(hp.main(__name__))\n",
    "http_harness": "import http_harness as hh\n"
                    "class T(unittest.TestCase):\n"
                    "    def test_nothing(self):\n"
                    "        pass\n"
                    "sys.exit(hh.main(__name__))\n",
}


class TestNoSkips(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sockit-noskip-")
        cls.stub = os.path.join(cls.tmp, "sockit")
        with open(cls.stub, "w") as f:
            f.write("#!/bin/sh\necho 'sockit: this command is not built yet' >&2\nexit 1\n")
        os.chmod(cls.stub, 0o755)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_child(self, args, binary):
        env = dict(os.environ, SOCKIT_BIN=binary, SOCKIT_HTTP_TEST_PEER="sockit")
        return subprocess.run([sys.executable, *args], env=env, cwd=HERE, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=TIMEOUT)

    def assertFails(self, r):
        out = r.stdout.decode(errors="replace")
        self.assertNotEqual(r.returncode, 0, out)
        self.assertNotIn("SKIP", out)
        self.assertRegex(out, r"\d+ passed, [1-9]\d* failed")

    def test_harnesses_fail_a_stub_command(self):
        for name, body in CHILD.items():
            with self.subTest(harness=name):
                code = "import sys, unittest\nsys.path.insert(0, %r)\n%s" % (HERE, body)
                self.assertFails(self.run_child(["-c", code], self.stub))

    def test_missing_binary_fails(self):
        missing = os.path.join(self.tmp, "nothing-here")
        for name, body in CHILD.items():
            with self.subTest(harness=name):
                code = "import sys, unittest\nsys.path.insert(0, %r)\n%s" % (HERE, body)
                self.assertFails(self.run_child(["-c", code], missing))
        for script in ("test_http_serve.py", "test_http_browser.py"):
            with self.subTest(script=script):
                self.assertFails(self.run_child([os.path.join(HERE, script)], missing))


if __name__ == "__main__":
    sys.exit(test_cli.main())
