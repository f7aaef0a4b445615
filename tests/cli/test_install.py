#!/usr/bin/env python3
"""make install into a temporary prefix, then build a program against the installed library with
pkg-config, linked dynamically and statically, and run both. Also checks the CMake package."""
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
