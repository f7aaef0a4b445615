#!/usr/bin/env python3
"""Every public header compiles on its own, first in a translation unit, as C11 and as C++
(each says what it needs; none depends on include order)."""
import glob
import os
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get("SOCKIT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
INCLUDE = os.path.join(SRC, "include")
HEADERS = sorted(os.path.basename(h) for h in glob.glob(os.path.join(INCLUDE, "sockit", "*.h")))


def compile_alone(header, compiler, flags):
    with tempfile.NamedTemporaryFile("w", suffix=".c" if compiler == "cc" else ".cc", delete=False) as f:
        f.write("#include <sockit/%s>\nint main(void) { return 0; }\n" % header)
        name = f.name
    try:
        return subprocess.run([compiler, "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-I", INCLUDE]
                              + flags + [name], capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(name)


class Headers(unittest.TestCase):
    def test_found(self):
        self.assertIn("sockit.h", HEADERS)
        self.assertGreaterEqual(len(HEADERS), 7)

    def test_each_alone_c(self):
        for h in HEADERS:
            with self.subTest(header=h):
                r = compile_alone(h, "cc", ["-std=c11", "-D_GNU_SOURCE"])
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_each_alone_cxx(self):
        if subprocess.run(["sh", "-c", "command -v c++"], capture_output=True).returncode != 0:
            self.skipTest("no C++ compiler")
        for h in HEADERS:
            with self.subTest(header=h):
                r = compile_alone(h, "c++", [])
                self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
