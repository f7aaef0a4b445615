#!/usr/bin/env python3
"""The front door: `make run` needs and builds only what running needs.

- scripts/deps.sh has three profiles: run (build and run), test (+ what tests and the other
  builds need), bench (+ the benchmarks' peers); each larger one contains the smaller.
- `make run` asks for the run profile and builds only the library and the command it starts
  (`sockit http serve` on www/): no tests, benchmarks or fuzz replays (checked with make's dry
  run on this build).
- .ci/run keeps its four builds and repeats the gcc suite, so that a new flake turns CI red.
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get("SOCKIT_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("SOCKIT_BUILD_DIR", os.path.join(SRC, "build"))


def profile(name):
    """The packages deps.sh would install for a profile on a machine that has none of them:
    dpkg-query and id are replaced (nothing installed, not root), so it only names them."""
    with tempfile.TemporaryDirectory() as fake:
        for tool, body in (("dpkg-query", "exit 1"), ("id", "echo 1000")):
            path = os.path.join(fake, tool)
            with open(path, "w") as f:
                f.write("#!/bin/sh\n%s\n" % body)
            os.chmod(path, 0o755)
        env = dict(os.environ, PATH=fake + os.pathsep + os.environ.get("PATH", ""))
        r = subprocess.run(["sh", os.path.join(SRC, "scripts", "deps.sh"), name], env=env,
                           capture_output=True, text=True, timeout=60)
    m = re.search(r"missing Debian packages:([^(]*)\(", r.stderr)
    if r.returncode != 0 or not m:
        raise AssertionError("deps.sh %s: %d %r" % (name, r.returncode, r.stderr))
    return set(m.group(1).split())


class DepsProfiles(unittest.TestCase):
    def test_run_needs_only_running(self):
        run = profile("run")
        self.assertEqual(run, {"build-essential", "cmake", "pkg-config", "libssl-dev", "python3",
                               "netbase", "zlib1g-dev"})  # zlib: the HTTP client's gzip

    def test_each_profile_contains_the_smaller(self):
        run, test, bench = profile("run"), profile("test"), profile("bench")
        self.assertLess(run, test)
        self.assertLess(test, bench)
        for p in ("clang", "libclang-rt-14-dev", "openssl", "curl"):
            self.assertIn(p, test)
        for p in ("clang", "valgrind", "libuv1-dev"):
            self.assertNotIn(p, run)
        for p in ("valgrind", "libuv1-dev"):
            self.assertNotIn(p, test)
            self.assertIn(p, bench)

    def test_bad_profile(self):
        r = subprocess.run(["sh", os.path.join(SRC, "scripts", "deps.sh"), "nosuch"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("usage", r.stderr)


class MakeRun(unittest.TestCase):
    def dry(self, *args, cwd=SRC):
        r = subprocess.run(["make", "-n", *args], cwd=cwd, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_run_uses_the_run_profile_and_builds_the_command(self):
        out = self.dry("run", "BUILD=" + BUILD)
        self.assertIn("scripts/deps.sh run", out)
        self.assertRegex(out, r"--target sockit_cli -")
        self.assertRegex(out, r"/bin/sockit http serve -d www -p 8000\b")
        self.assertIn("http://localhost:8000/", out)
        self.assertRegex(self.dry("run", "BUILD=" + BUILD, "PORT=8123"), r"sockit http serve .*-p 8123\b")
        self.assertTrue(os.path.isfile(os.path.join(SRC, "www", "index.html")))
        self.assertIn("scripts/deps.sh test", self.dry("test", "BUILD=" + BUILD))
        self.assertIn("scripts/deps.sh bench", self.dry("bench", "BUILD=" + BUILD))

    def test_run_build_has_no_tests_benchmarks_or_fuzz(self):
        if not os.path.exists(os.path.join(BUILD, "Makefile")):
            self.skipTest("not a Makefile build")
        out = self.dry("sockit_cli", cwd=BUILD)
        targets = set(re.findall(r"Built target (\w+)", out))
        self.assertIn("sockit_cli", targets)
        self.assertEqual(targets - {"sockit_cli", "sockit_objs", "sockit_static"}, set())


class CI(unittest.TestCase):
    def test_ci_repeats_the_gcc_suite(self):
        with open(os.path.join(SRC, ".ci", "run")) as f:
            steps = [l.strip() for l in f if l.strip() and not l.lstrip().startswith(("#", "echo"))]
        makes = [l for l in steps if l.startswith("make ")]
        self.assertEqual([m.split()[1] for m in makes], ["test", "clang", "sanitize", "tsan"])
        repeat = [l for l in steps if "ctest" in l]
        self.assertEqual(len(repeat), 1, steps)
        self.assertRegex(repeat[0], r"--repeat until-fail:[2-9]")
        self.assertIn("cd build", repeat[0])
        self.assertLess(steps.index(repeat[0]), steps.index(makes[1]))  # right after make test


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
