#!/usr/bin/env python3
"""make install into a temporary prefix, then build a program against the installed library with
pkg-config, linked dynamically and statically, and run both. Also checks the CMake package, what
the README says about other prefixes (LD_LIBRARY_PATH or -Wl,-rpath), and -- as root, when no
sockit is installed there already -- that an install into /usr/local runs ldconfig, so that the
first run of a program built with `pkg-config --libs sockit` finds libsockit.so.0; that install
is removed again (and ldconfig run) at the end."""
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = os.environ.get("SOCKIT_BUILD_DIR", "build")

PROGRAM = r'''
#include <sockit/sockit.h>
#include <stdio.h>
#include <string.h>
int main(void) {
    sockit_sock *srv, *c, *conn;
    sockit_addr a;
    char port[16], buf[32], text[SOCKIT_ADDRSTRLEN];
    if (sockit_create_server(&srv, "127.0.0.1", "0", NULL) < 0) { puts(sockit_errmsg()); return 2; }
    sockit_getsockname(srv, &a);
    snprintf(port, sizeof port, "%d", sockit_addr_port(&a));
    if (sockit_create_connection(&c, "127.0.0.1", port, 5) < 0) { puts(sockit_errmsg()); return 2; }
    if (sockit_accept(srv, &conn, NULL) < 0) return 2;
    sockit_sendall(c, "ping", 4, 0);
    ssize_t n = sockit_recv(conn, buf, sizeof buf, 0);
    printf("%s got %.*s from %s\n", sockit_version(), (int)n, buf,
           sockit_addr_format(&a, text, sizeof text));
    sockit_close(c); sockit_close(conn); sockit_close(srv);
    return n == 4 && !memcmp(buf, "ping", 4) ? 0 : 1;
}
'''


@contextlib.contextmanager
def system_lock():
    """Serialises the tests that install into, or depend on the absence of, a system sockit,
    across every test run on this machine (other build trees may run this file at once)."""
    with open("/tmp/sockit-system-install.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def system_sockit():
    """Whether some sockit is installed where the dynamic linker looks by default."""
    return any(os.path.lexists(os.path.join(d, "libsockit.so.0"))
               for d in ("/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu"))


def run(cmd, env=None, **kw):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, **kw)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (cmd, r.returncode, r.stdout, r.stderr))
    return r.stdout


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if "ON" in os.environ.get("SOCKIT_SANITIZED", ""):
            raise unittest.SkipTest("a sanitizer build is not an installable library")
        cls.tmp = tempfile.mkdtemp(prefix="sockit-install-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        run(["cmake", "--install", BUILD, "--prefix", cls.prefix])
        with open(os.path.join(cls.tmp, "prog.c"), "w") as f:
            f.write(PROGRAM)
        cls.env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(cls.prefix, "lib", "pkgconfig"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_layout(self):
        for rel in ["bin/sockit", "lib/libsockit.a", "lib/libsockit.so", "lib/libsockit.so.0",
                    "include/sockit/sockit.h", "include/sockit/reader.h",
                    "lib/pkgconfig/sockit.pc", "lib/cmake/sockit/sockitConfig.cmake"]:
            self.assertTrue(os.path.exists(os.path.join(self.prefix, rel)), rel)
        soname = run(["objdump", "-p", os.path.join(self.prefix, "lib/libsockit.so")])
        self.assertIn("SONAME               libsockit.so.0", soname)

    def test_exports_only_public_names(self):
        syms = run(["nm", "-D", "--defined-only", os.path.join(self.prefix, "lib/libsockit.so")])
        names = [l.split()[-1] for l in syms.splitlines() if " T " in l]
        self.assertIn("sockit_create_connection", names)
        self.assertEqual([n for n in names if not n.startswith("sockit_")], [])
        self.assertEqual([n for n in names if n.startswith("sockit__")], [])

    def test_dynamic(self):
        cflags = run(["pkg-config", "--cflags", "--libs", "sockit"], env=self.env).split()
        exe = os.path.join(self.tmp, "prog_dyn")
        run(["cc", "-o", exe, os.path.join(self.tmp, "prog.c")] + cflags, env=self.env)
        env = dict(self.env, LD_LIBRARY_PATH=os.path.join(self.prefix, "lib"))
        out = run([exe], env=env)
        self.assertIn("got ping", out)
        self.assertIn("libsockit.so.0", run(["ldd", exe], env=env))

    def test_static(self):
        flags = run(["pkg-config", "--static", "--cflags", "--libs", "sockit"], env=self.env).split()
        exe = os.path.join(self.tmp, "prog_static")
        run(["cc", "-o", exe, os.path.join(self.tmp, "prog.c"), "-static"] + flags, env=self.env)
        self.assertIn("got ping", run([exe]))

    def build_dynamic(self, name, extra=()):
        cflags = run(["pkg-config", "--cflags", "--libs", "sockit"], env=self.env).split()
        exe = os.path.join(self.tmp, name)
        run(["cc", "-o", exe, os.path.join(self.tmp, "prog.c")] + cflags + list(extra), env=self.env)
        return exe

    def test_other_prefix_needs_a_hint(self):
        # What the README says: a prefix the dynamic linker does not search needs
        # LD_LIBRARY_PATH (test_dynamic) or an rpath; without either the program cannot start.
        libdir = run(["pkg-config", "--variable=libdir", "sockit"], env=self.env).strip()
        exe = self.build_dynamic("prog_rpath", ["-Wl,-rpath," + libdir])
        self.assertIn("got ping", run([exe]))
        exe = self.build_dynamic("prog_nohint")
        with system_lock():
            if system_sockit():
                self.skipTest("a sockit installed in the system would be found")
            r = subprocess.run([exe], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("libsockit.so.0", r.stderr)

    def test_system_prefix_runs_ldconfig(self):
        if os.geteuid() != 0:
            self.skipTest("installing into /usr/local needs root")
        with system_lock():
            self.system_install()

    def system_install(self):
        if system_sockit():
            self.skipTest("a sockit is installed in /usr/local already: not touching it")
        # The files of the temporary install, at the same places under /usr/local.
        rels = [os.path.relpath(os.path.join(d, f), self.prefix)
                for d, _, fs in os.walk(self.prefix) for f in fs]
        try:
            out = run(["cmake", "--install", BUILD, "--prefix", "/usr/local"])
            self.assertIn("Running ldconfig", out)
            env = dict(os.environ, PKG_CONFIG_PATH="/usr/local/lib/pkgconfig")
            flags = run(["pkg-config", "--cflags", "--libs", "sockit"], env=env).split()
            exe = os.path.join(self.tmp, "prog_system")
            run(["cc", "-o", exe, os.path.join(self.tmp, "prog.c")] + flags, env=env)
            env.pop("LD_LIBRARY_PATH", None)
            self.assertIn("got ping", run([exe], env=env))  # the first run, no hint
        finally:
            for rel in rels:
                path = os.path.join("/usr/local", rel)
                if os.path.lexists(path):
                    os.unlink(path)
            for d in ("include/sockit", "lib/cmake/sockit"):
                shutil.rmtree(os.path.join("/usr/local", d), ignore_errors=True)
            subprocess.run(["ldconfig"], timeout=120)

    def test_cmake_package(self):
        src = os.path.join(self.tmp, "cmk")
        os.makedirs(src, exist_ok=True)
        shutil.copy(os.path.join(self.tmp, "prog.c"), src)
        with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.18)\nproject(p C)\nfind_package(sockit REQUIRED)\n"
                    "add_executable(p prog.c)\ntarget_link_libraries(p sockit::sockit)\n")
        bld = os.path.join(self.tmp, "cmk-build")
        run(["cmake", "-S", src, "-B", bld, "-DCMAKE_PREFIX_PATH=" + self.prefix])
        run(["cmake", "--build", bld])
        env = dict(self.env, LD_LIBRARY_PATH=os.path.join(self.prefix, "lib"))
        self.assertIn("got ping", run([os.path.join(bld, "p")], env=env))


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed else 0)
