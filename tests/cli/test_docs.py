#!/usr/bin/env python3
"""Every whole program in the documentation compiles, and those that can run on loopback run.

A whole program is a ```c block in docs/*.md or README.md that contains `int main`. Each is
compiled against the built library (include/ and the build's libsockit.a) with
-Wall -Wextra -Werror (and -Wno-unused-parameter, as the project builds itself: a callback's
unused parameters are the API's shape, not a mistake). A marker comment in the block says how
to run it; without one it is compiled and linked only (it needs a peer or the Internet):

    /* doc-test: run ARGS... */          runs with ARGS, must exit 0 within 30 s
    /* doc-test: echo-server ARGS... */  runs with ARGS (use port 0); once it listens on a
                                         loopback TCP port (found through /proc), "ping\\n"
                                         must come back, and SIGINT must end it with status 0
    /* doc-test: skip */                 not even compiled (a fragment that has `int main`)

Failures name the file, the block's number in that file and its first line, e.g.
"docs/loop.md block 1 (line 12)". Sanitizer builds compile without linking (their libsockit.a
needs the sanitizer runtime). Run by ctest; by hand:
SOCKIT_BUILD_DIR=build python3 tests/cli/test_docs.py
"""
import glob
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SRC = os.environ.get("SOCKIT_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("SOCKIT_BUILD_DIR", os.path.join(SRC, "build"))
SANITIZED = "ON" in os.environ.get("SOCKIT_SANITIZED", "")
CC = os.environ.get("CC", "cc")
TIMEOUT = 30
FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]
MARKER = re.compile(r"/\*\s*doc-test:\s*([\w-]+)([^*]*)\*/")


def doc_files():
    return sorted(glob.glob(os.path.join(SRC, "docs", "*.md"))) + [os.path.join(SRC, "README.md")]


def programs():
    """Yields (label, code, kind, args) for each whole program in the documentation."""
    for path in doc_files():
        rel = os.path.relpath(path, SRC)
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        block, start, body = 0, None, []
        for i, line in enumerate(lines, 1):
            if start is None:
                if line.strip() == "```c":
                    block += 1
                    start, body = i + 1, []
            elif line.strip() == "```":
                code = "\n".join(body) + "\n"
                if re.search(r"\bint\s+main\s*\(", code):
                    m = MARKER.search(code)
                    kind, args = (m.group(1), shlex.split(m.group(2))) if m else ("compile", [])
                    yield "%s block %d (line %d)" % (rel, block, start), code, kind, args
                start = None
            else:
                body.append(line)


def listening_port(pid):
    """The loopback or wildcard TCP port process pid listens on, or None (yet)."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        for table in ("tcp", "tcp6"):
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                for row in f.read().splitlines()[1:]:
                    cols = row.split()
                    if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                        return int(cols[1].rsplit(":", 1)[1], 16)
    except OSError:
        return None
    return None


class DocPrograms(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="sockit-docs-")
        cls.lib = os.path.join(BUILD, "libsockit.a")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def build(self, label, code):
        """Compiles (and unless sanitized links) one program; returns the binary's path."""
        name = re.sub(r"\W+", "_", label)
        src = os.path.join(self.tmp.name, name + ".c")
        exe = os.path.join(self.tmp.name, name)
        with open(src, "w") as f:
            f.write(code)
        cmd = [CC, *FLAGS, "-I", os.path.join(SRC, "include"), src]
        if SANITIZED:
            cmd += ["-c", "-o", exe + ".o"]
        else:
            cmd += ["-o", exe, self.lib, "-lssl", "-lcrypto", "-lz", "-lpthread"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, "%s does not compile:\n%s" % (label, r.stderr))
        return exe

    def run_program(self, label, exe, args):
        r = subprocess.run([exe, *args], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, "%s exited %d: %r" % (label, r.returncode, r.stderr))

    def run_echo_server(self, label, exe, args):
        p = subprocess.Popen([exe, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + TIMEOUT
            port = None
            while port is None and p.poll() is None and time.monotonic() < deadline:
                port = listening_port(p.pid)
                if port is None:
                    time.sleep(0.01)  # polling a condition (/proc), not ordering by sleep
            self.assertIsNotNone(port, "%s never listened (status %r)" % (label, p.poll()))
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
                s.sendall(b"ping\n")
                got = b""
                while len(got) < 5:
                    b = s.recv(100)
                    if not b:
                        break
                    got += b
            self.assertEqual(got, b"ping\n", "%s did not echo" % label)
            p.send_signal(signal.SIGINT)
            status = p.wait(TIMEOUT)
            self.assertEqual(status, 0, "%s: SIGINT gave status %d: %r"
                             % (label, status, p.stderr.read()))
        finally:
            if p.poll() is None:
                p.kill()
            p.wait(10)
            p.stdout.close()
            p.stderr.close()

    def test_found(self):
        found = list(programs())
        self.assertGreaterEqual(len(found), 3, [x[0] for x in found])
        self.assertIn("docs/loop.md", " ".join(x[0] for x in found))

    def test_every_program(self):
        if not SANITIZED and not os.path.exists(self.lib):
            self.fail("no %s (set SOCKIT_BUILD_DIR)" % self.lib)
        for label, code, kind, args in programs():
            with self.subTest(block=label):
                self.assertIn(kind, ("compile", "run", "echo-server", "skip"),
                              "%s: unknown doc-test marker %r" % (label, kind))
                if kind == "skip":
                    continue
                exe = self.build(label, code)
                if SANITIZED or kind == "compile":
                    continue
                if kind == "run":
                    self.run_program(label, exe, args)
                else:
                    self.run_echo_server(label, exe, args)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
