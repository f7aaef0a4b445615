#!/usr/bin/env python3
"""End-to-end tests of `sockit ftp ls|get|put|rm|mkdir` against pyftpdlib and a hostile server.

Peers (tests/cli/ftp_peers.py): pyftpdlib as a child process (a user with a password, anonymous
read-only, a read-only directory; variants without EPSV, without MLSD, with a wrong address in
227, dropping or cutting short data connections, explicit FTPS), and scripted servers in threads
of this process for what no real server does (an endless line, a huge reply, a reply that never
ends, data ports that never open). What sockit does is also done with Python's ftplib on a second
fresh tree, and both trees must end identical. test_ftp_vsftpd.py runs the vsftpd cases.
Without pyftpdlib (make test installs it) its tests skip, saying so. Every wait is bounded; no
sleep orders events. By hand: SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_ftp.py
The last line printed is "N passed, N failed"; the exit status is non-zero on any failure.
"""
import ftplib
import hashlib
import io
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ftp_peers  # noqa: E402
import test_cli  # noqa: E402
import test_tls_cli  # noqa: E402
from ftp_peers import PASSWORD, USER, Fake, PyFtpd, dialogue, epsv_reply, pasv_reply  # noqa: E402

BIN = test_cli.BIN
TIMEOUT = 60  # the longest any single run may take, in seconds
CERTS = test_tls_cli.CERTS  # filled by setUpModule
CERT_DIR = None
SANITIZED = "ON" in os.environ.get("SOCKIT_SANITIZED", "")


def setUpModule():
    global CERT_DIR
    CERT_DIR = tempfile.mkdtemp(prefix="sockit-ftp-certs-")
    os.chmod(CERT_DIR, 0o755)
    test_tls_cli.make_certs(CERT_DIR)
    for name in os.listdir(CERT_DIR):  # vsftpd reads them after dropping privileges
        os.chmod(os.path.join(CERT_DIR, name), 0o644)


def tearDownModule():
    shutil.rmtree(CERT_DIR, ignore_errors=True)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def tree(root):
    """{relative path: "dir" or (size, sha256)} of everything under root."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs:
            out[os.path.relpath(os.path.join(d, name), root)] = "dir"
        for name in files:
            p = os.path.join(d, name)
            with open(p, "rb") as f:
                data = f.read()
            out[os.path.relpath(p, root)] = (len(data), sha(data))
    return out


class FtpBase(unittest.TestCase):
    """A temporary directory per test (the servers' trees and the command's working directory),
    servers stopped and everything removed at the end."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sockit-ftp-")
        os.chmod(self.tmp, 0o755)
        self.cwd = os.path.join(self.tmp, "cwd")
        os.mkdir(self.cwd)
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def write(self, path, data):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def sockit(self, *args, stdin=b"", timeout=TIMEOUT, cwd=None, stderr=subprocess.PIPE):
        return subprocess.run([BIN, "ftp", *args], input=stdin, stdout=subprocess.PIPE,
                              stderr=stderr, timeout=timeout, cwd=cwd or self.cwd)

    def ok(self, r):
        self.assertEqual(r.returncode, 0, "stderr: %r" % r.stderr)
        return r

    def assertOneLineError(self, r, status, *needles):
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, status, "stderr: %r" % err)
        self.assertEqual(err.count("\n"), 1, "not one line: %r" % err)
        self.assertTrue(err.startswith("sockit"), err)
        for n in needles:
            self.assertIn(n, err)
        return err

    def assertFailsWithin(self, args, status, bound, *needles):
        """The command fails with status and one line holding needles, within bound seconds."""
        start = time.monotonic()
        r = self.sockit(*args)
        took = time.monotonic() - start
        err = self.assertOneLineError(r, status, *needles)
        self.assertLess(took, bound, "took %.1f s: %r" % (took, err))
        return err

    # ---- the ftplib side of the equivalence ------------------------------------------------

    def equivalence(self, url_of, login, home, mine, theirs):
        """The same operations, by sockit under mine/ and by ftplib under theirs/ (both relative
        to the login directory, which is home on disk); the trees must end identical, and what
        each downloaded and listed too. url_of(path) is the sockit URL of a remote path; login()
        an ftplib session."""
        big = os.urandom(3 * 1024 * 1024 + 12345)
        small = b"small file\n" * 100
        src = self.write(self.path("src", "big.bin"), big)
        small_f = self.write(self.path("src", "small.txt"), small)
        head = 1000003
        # sockit
        for args in (("mkdir", url_of(mine)), ("mkdir", url_of(mine + "/sub/")),
                     ("put", src, url_of(mine + "/sub/")),
                     ("put", small_f, url_of(mine + "/small.txt")),
                     ("put", small_f, url_of(mine + "/gone.txt")),
                     ("rm", url_of(mine + "/gone.txt"))):
            with self.subTest(args=args):
                self.ok(self.sockit(*args))
        self.ok(self.sockit("put", "-", url_of(mine + "/piped.bin"), stdin=big[:777777]))
        part = self.write(self.path("src", "part"), big[:head])
        self.ok(self.sockit("put", part, url_of(mine + "/resumed.bin")))
        self.ok(self.sockit("put", "-C", src, url_of(mine + "/resumed.bin")))
        out = self.path("got-sockit")
        os.mkdir(out)
        self.ok(self.sockit("get", "-o", out, url_of(mine + "/sub/big.bin"),
                            url_of(mine + "/small.txt")))
        names_sockit = self.ok(self.sockit("ls", url_of(mine + "/"))).stdout.decode().split("\n")
        # ftplib
        f = login()
        try:
            f.mkd(theirs)
            f.mkd(theirs + "/sub")
            with open(src, "rb") as fp:
                f.storbinary("STOR %s/sub/big.bin" % theirs, fp)
            with open(small_f, "rb") as fp:
                f.storbinary("STOR %s/small.txt" % theirs, fp)
            with open(small_f, "rb") as fp:
                f.storbinary("STOR %s/gone.txt" % theirs, fp)
            f.delete(theirs + "/gone.txt")
            f.storbinary("STOR %s/piped.bin" % theirs, io.BytesIO(big[:777777]))
            f.storbinary("STOR %s/resumed.bin" % theirs, io.BytesIO(big[:head]))
            with open(src, "rb") as fp:
                fp.seek(head)
                f.storbinary("STOR %s/resumed.bin" % theirs, fp, rest=head)
            got = {}
            for name in ("sub/big.bin", "small.txt"):
                buf = bytearray()
                f.retrbinary("RETR %s/%s" % (theirs, name), buf.extend)
                got[os.path.basename(name)] = bytes(buf)
            names_ftplib = [n.rsplit("/", 1)[-1] for n in f.nlst(theirs)]
            f.quit()
        finally:
            f.close()
        self.assertEqual(tree(os.path.join(home, mine)), tree(os.path.join(home, theirs)))
        self.assertEqual(self.read(os.path.join(home, mine, "resumed.bin")), big)
        for name, data in got.items():
            self.assertEqual(self.read(os.path.join(out, name)), data, name)
        self.assertEqual(sorted(n for n in names_sockit if n), sorted(names_ftplib))


def need_pyftpd(tls=False):
    if ftp_peers.pyftpd_python(tls) is None:
        raise unittest.SkipTest("pyftpdlib%s is not installed (make test installs it)"
                                % (" with pyOpenSSL" if tls else ""))


class PyftpdBase(FtpBase):
    """A pyftpdlib server per test: user alice (password s3cret) at home/ with full rights but
    in home/ro, anonymous read-only at home/pub."""

    def setUp(self):
        need_pyftpd()
        super().setUp()
        self.home = self.path("home")
        os.makedirs(os.path.join(self.home, "ro"))
        os.makedirs(os.path.join(self.home, "pub"))
        self.write(os.path.join(self.home, "ro", "locked.txt"), b"locked\n")
        self.write(os.path.join(self.home, "pub", "readme.txt"), b"anonymous can read this\n")

    def pyftpd(self, **opts):
        s = PyFtpd(self.tmp, user="%s:%s:%s" % (USER, PASSWORD, self.home),
                   anon=os.path.join(self.home, "pub"), ro=[os.path.join(self.home, "ro")],
                   **opts)
        self.servers.append(s)
        return s

    def log(self, server):
        """What the server logged: one line per command ("... EPSV 229"), per transfer."""
        with open(server.log, errors="replace") as f:
            return f.read()


class TestUsage(FtpBase):
    def test_help_lists_every_flag(self):
        r = self.ok(self.sockit("--help"))
        text = r.stdout.decode()
        for flag in ("--active", "--tls", "--cacert", "-k", "-C", "-o", "-l", "-m", "-s", "-v",
                     "ls", "get", "put", "rm", "mkdir", "ftps://", "-o -"):
            self.assertIn(flag, text)
        for sub in ("ls", "get", "put", "rm", "mkdir"):
            with self.subTest(sub=sub):
                self.assertEqual(self.ok(self.sockit(sub, "--help")).stdout, r.stdout)
        self.assertEqual(subprocess.run([BIN, "help", "ftp"], stdout=subprocess.PIPE,
                                        timeout=TIMEOUT).stdout, r.stdout)

    def test_usage_errors(self):
        cases = [((), "missing"), (("frob",), "frob"), (("get",), "missing URL"),
                 (("put", "x"), "missing URL"), (("put",), "missing FILE"),
                 (("ls", "a", "b"), "too many"), (("rm", "--active", "ftp://h/x"), "--active"),
                 (("ls", "-C", "ftp://h/"), "-C"), (("get", "-Z", "ftp://h/x"), "-Z"),
                 (("get", "http://h/x"), "ftp://"), (("get", "ftp://h/a b"), "URL"),
                 (("get", "ftp:///x"), "host"), (("get", "-m", "0", "ftp://h/x"), "-m"),
                 (("get", "-C", "-o", "-", "ftp://h/x"), "-C"),
                 (("get", "-o", "file", "ftp://h/x", "ftp://h/y"), "directory"),
                 (("put", "-C", "-", "ftp://h/x"), "-C"), (("put", "-", "ftp://h/d/"), "name"),
                 (("get", "ftp://h/dir/"), "-o FILE"), (("rm", "ftp://h/"), "names no"),
                 (("ls", "--cacert", "ca.pem", "ftp://h/"), "--tls")]
        for args, needle in cases:
            with self.subTest(args=args):
                self.assertOneLineError(self.sockit(*args), 1, needle)

    def test_missing_local_file_and_bad_cacert(self):
        self.assertOneLineError(self.sockit("put", self.path("nope"), "ftp://127.0.0.1:1/x"),
                                5, "nope")
        self.assertOneLineError(self.sockit("put", self.tmp, "ftp://127.0.0.1:1/x"), 5,
                                "directory")
        self.assertOneLineError(self.sockit("ls", "--tls", "--cacert", self.path("nope.pem"),
                                            "ftp://127.0.0.1:1/"), 5, "nope.pem")

    def test_connection_refused(self):
        port = test_cli.free_closed_port()
        self.assertOneLineError(self.sockit("ls", "ftp://127.0.0.1:%d/" % port), 2)


class TestPyftpd(PyftpdBase):
    def test_ls_uses_mlsd_when_offered(self):
        for name in ("b.txt", "a.txt", "with space.bin"):
            self.write(os.path.join(self.home, "dir", name), name.encode())
        os.mkdir(os.path.join(self.home, "dir", "subdir"))
        s = self.pyftpd()
        r = self.ok(self.sockit("ls", s.url("/dir/")))
        self.assertEqual(sorted(r.stdout.decode().splitlines()),
                         ["a.txt", "b.txt", "subdir", "with space.bin"])
        self.assertIn("MLSD", self.log(s))
        self.assertNotIn("NLST", self.log(s))
        # A file: MLSD lists only directories; MLST tells about the one file.
        r = self.ok(self.sockit("ls", s.url("/dir/a.txt")))
        self.assertEqual(r.stdout, b"a.txt\n")
        self.assertIn("MLST", self.log(s))
        r = self.ok(self.sockit("ls", "-l", s.url("/dir/with%20space.bin")))
        self.assertEqual(r.stdout.decode().split()[:2], ["file", "14"])
        self.assertTrue(r.stdout.endswith(b" with space.bin\n"), r.stdout)
        # The login directory, with and without the trailing slash.
        for url in (s.url("/"), s.url("")):
            r = self.ok(self.sockit("ls", url))
            self.assertEqual(sorted(r.stdout.decode().splitlines()), ["dir", "pub", "ro"])

    def test_ls_falls_back_to_nlst(self):
        for name in ("one", "two"):
            self.write(os.path.join(self.home, "d", name), b"x" * 10)
        s = self.pyftpd(no_mlsd=True)
        r = self.ok(self.sockit("ls", s.url("/d")))
        self.assertEqual(sorted(r.stdout.decode().splitlines()), ["one", "two"])
        self.assertIn("NLST", self.log(s))
        self.assertNotIn("MLSD", self.log(s))

    def test_ls_long(self):
        self.write(os.path.join(self.home, "d", "f.bin"), b"x" * 12345)
        os.mkdir(os.path.join(self.home, "d", "sub"))
        os.utime(os.path.join(self.home, "d", "f.bin"), (1700000000, 1700000000))
        for opts in ({}, {"no_mlsd": True}):  # MLSD facts, then the parsed LIST
            with self.subTest(opts=opts):
                s = self.pyftpd(**opts)
                r = self.ok(self.sockit("ls", "-l", s.url("/d/")))
                lines = sorted(r.stdout.decode().splitlines(), key=lambda l: l.split()[-1])
                self.assertEqual(len(lines), 2, lines)
                f = lines[0].split()
                self.assertEqual((f[0], f[1], f[-1]), ("file", "12345", "f.bin"), lines)
                if not opts:  # MLSD gives the exact time; LIST's may lack seconds or the year
                    self.assertEqual(f[2], "2023-11-14T22:13:20Z")
                self.assertEqual((lines[1].split()[0], lines[1].split()[-1]), ("dir", "sub"))
                s.stop()
                self.servers.remove(s)

    def test_get_put_round_trip(self):
        data = os.urandom(5 * 1024 * 1024 + 7)
        src = self.write(self.path("src", "up.bin"), data)
        for mode in ((), ("--active",)):
            with self.subTest(mode=mode):
                s = self.pyftpd()
                self.ok(self.sockit("put", *mode, src, s.url("/up.bin")))
                self.assertEqual(sha(self.read(os.path.join(self.home, "up.bin"))), sha(data))
                out = self.path("down-%d.bin" % len(mode))
                self.ok(self.sockit("get", *mode, "-o", out, s.url("/up.bin")))
                self.assertEqual(sha(self.read(out)), sha(data))
                verbs = self.log(s)
                if mode:
                    self.assertRegex(verbs, r"\b(EPRT|PORT)\b")
                    self.assertNotIn("EPSV", verbs)
                else:
                    self.assertIn("EPSV", verbs)
                    self.assertNotRegex(verbs, r"\b(EPRT|PORT)\b")
                s.stop()
                self.servers.remove(s)

    def test_get_default_name_stdout_and_several(self):
        self.write(os.path.join(self.home, "d", "a.txt"), b"A" * 100)
        self.write(os.path.join(self.home, "d", "b.txt"), b"B" * 200)
        self.write(os.path.join(self.home, "empty"), b"")
        s = self.pyftpd()
        self.ok(self.sockit("get", s.url("/d/a.txt")))  # into the working directory
        self.assertEqual(self.read(os.path.join(self.cwd, "a.txt")), b"A" * 100)
        r = self.ok(self.sockit("get", "-o", "-", s.url("/d/b.txt")))
        self.assertEqual(r.stdout, b"B" * 200)
        self.assertFalse(os.path.exists(os.path.join(self.cwd, "b.txt")))
        out = self.path("out")
        os.mkdir(out)
        self.ok(self.sockit("get", "-o", out, s.url("/d/a.txt"), s.url("/d/b.txt"),
                            s.url("/empty")))
        self.assertEqual(sorted(os.listdir(out)), ["a.txt", "b.txt", "empty"])
        self.assertEqual(self.read(os.path.join(out, "b.txt")), b"B" * 200)
        self.assertEqual(self.read(os.path.join(out, "empty")), b"")
        # Several URLs of one server share one session: one login.
        self.assertEqual(len(re.findall(r"\] USER \S+ 331", self.log(s))), 3, self.log(s))
        # One that fails does not stop the others; the status is the failure's.
        os.remove(os.path.join(out, "a.txt"))
        r = self.sockit("get", "-o", out, s.url("/d/nope"), s.url("/d/a.txt"))
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(b"550", r.stderr)
        self.assertEqual(self.read(os.path.join(out, "a.txt")), b"A" * 100)

    def test_get_resume(self):
        data = os.urandom(2 * 1024 * 1024 + 3)
        self.write(os.path.join(self.home, "big.bin"), data)
        s = self.pyftpd()
        out = self.path("big.bin")
        cut = 777777
        self.write(out, data[:cut])
        self.ok(self.sockit("get", "-C", "-o", out, s.url("/big.bin")))
        self.assertEqual(sha(self.read(out)), sha(data))
        self.assertIn("REST %d" % cut, self.log(s))
        self.assertRegex(self.log(s), r"RETR \S+ completed=1 bytes=%d " % (len(data) - cut))
        # Complete already: nothing to transfer, success.
        self.ok(self.sockit("get", "-C", "-o", out, s.url("/big.bin")))
        self.assertEqual(len(re.findall(r"RETR \S+ completed", self.log(s))), 1)
        # A local file longer than the remote one cannot be resumed: a local file error.
        self.write(out, data + b"extra")
        self.assertOneLineError(self.sockit("get", "-C", "-o", out, s.url("/big.bin")), 5,
                                "larger")
        self.assertEqual(self.read(out), data + b"extra")
        # No local file yet: -C starts at 0.
        os.remove(out)
        self.ok(self.sockit("get", "-C", "-o", out, s.url("/big.bin")))
        self.assertEqual(sha(self.read(out)), sha(data))

    def test_put_resume(self):
        data = os.urandom(2 * 1024 * 1024 + 5)
        src = self.write(self.path("src", "up.bin"), data)
        cut = 1234567
        self.write(os.path.join(self.home, "up.bin"), data[:cut])
        s = self.pyftpd()
        self.ok(self.sockit("put", "-C", src, s.url("/")))
        self.assertEqual(sha(self.read(os.path.join(self.home, "up.bin"))), sha(data))
        self.assertRegex(self.log(s), r"(STOR|APPE) \S+ completed=1 bytes=%d " % (len(data) - cut))
        # Nothing on the server yet: the whole file.
        self.ok(self.sockit("put", "-C", src, s.url("/new.bin")))
        self.assertEqual(sha(self.read(os.path.join(self.home, "new.bin"))), sha(data))

    def test_put_forms(self):
        s = self.pyftpd()
        os.mkdir(os.path.join(self.home, "d"))
        src = self.write(self.path("src", "named.txt"), b"named\n")
        self.ok(self.sockit("put", src, s.url("/d/")))  # under the file's name
        self.assertEqual(self.read(os.path.join(self.home, "d", "named.txt")), b"named\n")
        self.ok(self.sockit("put", src, s.url("")))  # no path at all: the login directory
        self.assertEqual(self.read(os.path.join(self.home, "named.txt")), b"named\n")
        self.ok(self.sockit("put", "-", s.url("/d/piped"), stdin=b"from stdin\n" * 1000))
        self.assertEqual(self.read(os.path.join(self.home, "d", "piped")), b"from stdin\n" * 1000)
        # A pipe named as a file is read as a stream (no pread, no size); -C cannot resume it.
        self.ok(self.sockit("put", "/dev/stdin", s.url("/d/fifo"), stdin=b"through a pipe\n"))
        self.assertEqual(self.read(os.path.join(self.home, "d", "fifo")), b"through a pipe\n")
        self.assertOneLineError(self.sockit("put", "-C", "/dev/stdin", s.url("/d/fifo"),
                                            stdin=b"x"), 1, "-C")
        self.ok(self.sockit("put", "-", s.url("/d/empty"), stdin=b""))
        self.assertEqual(self.read(os.path.join(self.home, "d", "empty")), b"")
        # Replacing a longer file leaves exactly the new bytes.
        self.write(os.path.join(self.home, "d", "long"), b"x" * 100000)
        self.ok(self.sockit("put", src, s.url("/d/long")))
        self.assertEqual(self.read(os.path.join(self.home, "d", "long")), b"named\n")

    def test_rm_and_mkdir(self):
        self.write(os.path.join(self.home, "victim.txt"), b"v")
        s = self.pyftpd()
        self.ok(self.sockit("mkdir", s.url("/newdir/")))
        self.assertTrue(os.path.isdir(os.path.join(self.home, "newdir")))
        self.ok(self.sockit("mkdir", s.url("/newdir/inner")))
        self.assertTrue(os.path.isdir(os.path.join(self.home, "newdir", "inner")))
        self.ok(self.sockit("rm", s.url("/victim.txt")))
        self.assertFalse(os.path.exists(os.path.join(self.home, "victim.txt")))
        self.assertOneLineError(self.sockit("rm", s.url("/victim.txt")), 3, "550")
        self.assertOneLineError(self.sockit("mkdir", s.url("/newdir")), 3, "550")

    @unittest.skipUnless(test_cli.have_ipv6(), "no IPv6 loopback")
    def test_ipv6(self):
        data = os.urandom(200000)
        src = self.write(self.path("src", "v6.bin"), data)
        s = PyFtpd(self.tmp, host="::1", user="%s:%s:%s" % (USER, PASSWORD, self.home))
        self.servers.append(s)
        self.assertTrue(s.url().startswith("ftp://%s:%s@[::1]:" % (USER, PASSWORD)), s.url())
        for mode in ((), ("--active",)):
            with self.subTest(mode=mode):
                self.ok(self.sockit("put", *mode, src, s.url("/")))
                r = self.ok(self.sockit("get", *mode, "-o", "-", s.url("/v6.bin")))
                self.assertEqual(r.stdout, data)
                self.assertIn(b"v6.bin\n", self.ok(self.sockit("ls", *mode, s.url("/"))).stdout)
        self.assertRegex(self.log(s), r"EPRT \[::1\]:\d+ 200")  # as pyftpdlib logs it

    def test_user_and_password_are_percent_decoded(self):
        user, password = "al@ice", "pa:ss/w@rd%"
        s = PyFtpd(self.tmp, user="%s:%s:%s" % (user, password, self.home))
        self.servers.append(s)
        url = s.url("/", user="al%40ice", password="pa%3Ass%2Fw%40rd%25")
        r = self.ok(self.sockit("ls", "-v", url))
        self.assertEqual(sorted(r.stdout.decode().splitlines()), ["pub", "ro"])
        self.assertNotIn("pa%3Ass", r.stderr.decode())
        self.assertIn("USER al@ice 331", self.log(s))

    def test_wrong_password(self):
        s = self.pyftpd()
        err = self.assertOneLineError(
            self.sockit("ls", s.url("/", password="wrong")), 3, "login", "530")
        self.assertNotIn("wrong", err)
        self.assertOneLineError(self.sockit("ls", s.url("/", user="nobody")), 3, "530")

    def test_missing_file_leaves_no_file(self):
        s = self.pyftpd()
        self.assertOneLineError(self.sockit("get", s.url("/nope.bin")), 3, "550")
        self.assertFalse(os.path.exists(os.path.join(self.cwd, "nope.bin")))
        # An existing local file is not truncated by a refused download.
        out = self.write(self.path("keep.bin"), b"precious")
        self.assertOneLineError(self.sockit("get", "-o", out, s.url("/nope.bin")), 3, "550")
        self.assertEqual(self.read(out), b"precious")
        self.assertOneLineError(self.sockit("ls", s.url("/nodir/")), 3, "No such")

    def test_permission_denied(self):
        s = self.pyftpd()
        src = self.write(self.path("src", "x.txt"), b"x")
        self.assertOneLineError(self.sockit("put", src, s.url("/ro/x.txt")), 3, "550")
        self.assertFalse(os.path.exists(os.path.join(self.home, "ro", "x.txt")))
        self.assertOneLineError(self.sockit("rm", s.url("/ro/locked.txt")), 3, "550")
        self.assertOneLineError(self.sockit("mkdir", s.url("/ro/sub")), 3, "550")
        self.assertTrue(os.path.exists(os.path.join(self.home, "ro", "locked.txt")))
        # Anonymous reads, and may not write.
        r = self.ok(self.sockit("ls", s.url("/", user=None)))
        self.assertEqual(r.stdout, b"readme.txt\n")
        self.ok(self.sockit("get", s.url("/readme.txt", user=None)))
        self.assertOneLineError(self.sockit("put", src, s.url("/x.txt", user=None)), 3, "550")
        self.assertIn("USER anonymous", self.log(s))

    def test_local_file_errors(self):
        self.write(os.path.join(self.home, "f"), b"data")
        s = self.pyftpd()
        self.assertOneLineError(self.sockit("get", "-o", self.path("no", "such", "dir"),
                                            s.url("/f")), 5, "such")
        r = subprocess.run("%s ftp get -o - %s >/dev/full" % (BIN, s.url("/f")), shell=True,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 5, r.stderr)

    def test_epsv_refused_falls_back_to_pasv(self):
        data = os.urandom(300000)
        self.write(os.path.join(self.home, "f.bin"), data)
        s = self.pyftpd(no_epsv=True)
        out = self.path("f.bin")
        r = self.ok(self.sockit("get", "-v", "-o", out, s.url("/f.bin")))
        self.assertIn("* data connection: PASV", r.stderr.decode())
        self.assertEqual(self.read(out), data)
        self.ok(self.sockit("put", out, s.url("/g.bin")))
        self.assertEqual(self.read(os.path.join(self.home, "g.bin")), data)
        self.assertIn("PASV", self.log(s))

    def test_wrong_address_in_227_is_ignored(self):
        # Nobody listens on 127.0.0.2 (a client that believed the 227 fails at once, and no
        # traffic ever leaves loopback): the client must use the control connection's peer, as
        # curl and ftplib do.
        data = os.urandom(100000)
        self.write(os.path.join(self.home, "f.bin"), data)
        s = self.pyftpd(no_epsv=True, pasv_address="127.0.0.2")
        r = self.ok(self.sockit("get", "-m", "20", "-o", "-", s.url("/f.bin")))
        self.assertEqual(r.stdout, data)
        self.ok(self.sockit("ls", "-m", "20", s.url("/")))

    def test_data_connection_dropped_mid_transfer(self):
        data = os.urandom(4 * 1024 * 1024)
        self.write(os.path.join(self.home, "f.bin"), data)
        s = self.pyftpd(drop_after=1024 * 1024)
        out = self.path("f.bin")
        r = self.sockit("get", "-o", out, s.url("/f.bin"))
        err = r.stderr.decode(errors="replace")
        self.assertIn(r.returncode, (2, 3), err)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertLess(os.path.getsize(out) if os.path.exists(out) else 0, len(data))
        # And resuming from what arrived completes it (from a server that does not drop).
        s.stop()
        self.servers.remove(s)
        s = self.pyftpd()
        self.ok(self.sockit("get", "-C", "-o", out, s.url("/f.bin")))
        self.assertEqual(sha(self.read(out)), sha(data))

    def test_data_connection_dropped_mid_upload(self):
        src = self.write(self.path("src", "up.bin"), os.urandom(8 * 1024 * 1024))
        s = self.pyftpd(drop_after=1024 * 1024)
        r = self.sockit("put", src, s.url("/up.bin"))
        err = r.stderr.decode(errors="replace")
        self.assertIn(r.returncode, (2, 3), err)
        self.assertEqual(err.count("\n"), 1, err)

    def test_short_transfer_despite_226(self):
        # The server ends the data connection early and still says 226: SIZE told the truth.
        data = os.urandom(1024 * 1024)
        self.write(os.path.join(self.home, "f.bin"), data)
        s = self.pyftpd(short_after=100000)
        out = self.path("f.bin")
        self.assertOneLineError(self.sockit("get", "-o", out, s.url("/f.bin")), 3, "short")
        self.assertEqual(os.path.getsize(out), 100000)
        r = self.sockit("get", "-o", "-", s.url("/f.bin"))
        self.assertEqual(r.returncode, 3, r.stderr)

    def test_verbose_shows_replies_never_the_password(self):
        self.write(os.path.join(self.home, "f"), b"data")
        s = self.pyftpd()
        r = self.ok(self.sockit("get", "-v", "-o", "-", s.url("/f")))
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.stdout, b"data")
        self.assertRegex(err, r"(?m)^< 226")
        self.assertIn("127.0.0.1:%d" % s.port, err)
        self.assertNotIn(PASSWORD, err)
        self.assertIn("****", err)
        # Every command and reply line as curl -v shows them, each reply once.
        lines = err.splitlines()
        for want in ("> USER alice", "> PASS ****", "> TYPE I", "> FEAT", "> RETR f"):
            self.assertIn(want, lines)
        for code in ("220", "331", "230", "226"):
            self.assertEqual(len([l for l in lines if l.startswith("< " + code + " ")]), 1, err)
        self.assertLess(lines.index("> PASS ****"), [l[:5] for l in lines].index("< 230"))
        self.assertTrue([l for l in lines if l.startswith("< 211-")], err)  # FEAT, line by line
        # A failure says it on one line first, the replies follow.
        r = self.sockit("get", "-v", "-o", "-", s.url("/nope"))
        self.assertEqual(r.returncode, 3)
        self.assertNotIn(PASSWORD, r.stderr.decode(errors="replace"))

    def test_progress_bar_on_a_terminal_only(self):
        data = os.urandom(3 * 1024 * 1024)
        self.write(os.path.join(self.home, "f.bin"), data)
        s = self.pyftpd()

        def on_pty(*args):
            master, slave = os.openpty()
            try:
                p = subprocess.Popen([BIN, "ftp", *args], stdout=subprocess.DEVNULL, stderr=slave,
                                     cwd=self.cwd)
            finally:
                os.close(slave)
            err = bytearray()
            end = time.monotonic() + TIMEOUT
            while time.monotonic() < end:  # until the child's end closes the terminal (EIO)
                if not select.select([master], [], [], max(0, end - time.monotonic()))[0]:
                    break
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                err += chunk
            os.close(master)
            self.assertEqual(p.wait(TIMEOUT), 0, err)
            return err.decode(errors="replace")

        err = on_pty("get", "-o", self.path("a.bin"), s.url("/f.bin"))
        self.assertIn("100%", err)
        self.assertIn("3.0 MiB", err)
        self.assertEqual(on_pty("get", "-s", "-o", self.path("b.bin"), s.url("/f.bin")), "")
        self.assertNotIn("%", on_pty("get", "-o", "-", s.url("/f.bin")))
        self.assertIn("100%", on_pty("put", self.path("a.bin"), s.url("/c.bin")))
        # Not a terminal: nothing.
        r = self.ok(self.sockit("get", "-o", self.path("d.bin"), s.url("/f.bin")))
        self.assertEqual(r.stderr, b"")

    def test_ftplib_equivalence(self):
        s = self.pyftpd()

        def login():
            f = ftplib.FTP()
            f.connect("127.0.0.1", s.port, timeout=TIMEOUT)
            f.login(USER, PASSWORD)
            return f

        self.equivalence(lambda p: s.url("/" + p), login, self.home, "A", "B")


class TestPyftpdTLS(PyftpdBase):
    def setUp(self):
        need_pyftpd(tls=True)
        super().setUp()

    def test_explicit_tls(self):
        data = os.urandom(1024 * 1024 + 1)
        self.write(os.path.join(self.home, "f.bin"), data)
        s = self.pyftpd(tls=(CERTS["srv"], CERTS["srv_key"]))
        ca = ("--cacert", CERTS["ca"])
        r = self.ok(self.sockit("ls", "--tls", *ca, s.url("/")))
        self.assertIn(b"f.bin\n", r.stdout)
        out = self.path("f.bin")
        for mode in ((), ("--active",)):
            with self.subTest(mode=mode):
                self.ok(self.sockit("get", "--tls", *mode, *ca, "-o", out, s.url("/f.bin")))
                self.assertEqual(self.read(out), data)
                self.ok(self.sockit("put", "--tls", *mode, *ca, out, s.url("/up.bin")))
                self.assertEqual(self.read(os.path.join(self.home, "up.bin")), data)
        self.assertIn("AUTH TLS", self.log(s))
        self.assertIn("PROT P", self.log(s))
        # The system store does not know the test CA: a TLS failure (3); -k skips the check.
        self.assertOneLineError(self.sockit("ls", "--tls", s.url("/")), 3)
        self.ok(self.sockit("ls", "--tls", "-k", s.url("/")))
        # A certificate for another name.
        s2 = self.pyftpd(tls=(CERTS["other"], CERTS["other_key"]))
        self.assertOneLineError(self.sockit("ls", "--tls", *ca, s2.url("/")), 3)

    def test_tls_to_a_plain_server(self):
        s = self.pyftpd()
        self.assertOneLineError(self.sockit("ls", "--tls", "-k", s.url("/")), 3)


# ---- hostile servers ---------------------------------------------------------------------------

class TestHostile(FtpBase):
    """Servers that misbehave in ways no real one does: each must end in a bounded, clean error
    (one line, the right status), never a hang or a crash."""

    BOUND = 30 if SANITIZED else 15  # seconds; the -m given is far below

    def fake(self, handler):
        f = Fake(handler)
        self.servers.append(f)
        return f

    def tearDown(self):
        super().tearDown()
        for s in self.servers:
            self.assertEqual(s.errors, [])

    def test_endless_line(self):
        def handler(conn, fake):
            conn.sendall(b"220 ")
            chunk = b"a" * 65536
            for _ in range(1024):  # 64 MiB at most
                if fake.stopping.is_set():
                    return
                conn.sendall(chunk)

        f = self.fake(handler)
        self.assertFailsWithin(("ls", "-m", "10", f.url("/")), 3, self.BOUND)

    def test_huge_multiline_reply(self):
        def handler(conn, fake):
            conn.sendall(b"220-welcome\r\n")
            chunk = b" this reply goes on and on\r\n" * 2000
            for _ in range(1200):  # about 64 MiB at most
                if fake.stopping.is_set():
                    return
                conn.sendall(chunk)

        f = self.fake(handler)
        self.assertFailsWithin(("ls", "-m", "10", f.url("/")), 3, self.BOUND)

    def test_huge_reply_after_login(self):
        def huge(arg):
            return "211-Features\r\n" + " X\r\n" * 100000 + "211 End"

        f = self.fake(lambda conn, fake: dialogue(conn, {"FEAT": huge}))
        self.assertFailsWithin(("ls", "-m", "10", f.url("/")), 3, self.BOUND)

    def test_reply_that_never_ends(self):
        def handler(conn, fake):
            conn.sendall(b"220-hello\r\n220-still going\r\n")
            fake.stopping.wait(TIMEOUT)  # and nothing more

        f = self.fake(handler)
        self.assertFailsWithin(("ls", "-m", "1", f.url("/")), 2, self.BOUND)

    def test_silent_after_a_command(self):
        f = self.fake(lambda conn, fake: dialogue(conn, {"PASS": lambda a: None}))
        self.assertFailsWithin(("ls", "-m", "1", f.url("/")), 2, self.BOUND)

    def test_not_ftp_at_all(self):
        def handler(conn, fake):
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            ftp_peers.read_line(conn)

        f = self.fake(handler)
        self.assertFailsWithin(("ls", "-m", "5", f.url("/")), 3, self.BOUND)

    def test_greeting_refused(self):
        f = self.fake(lambda conn, fake: conn.sendall(b"421 Too many users, sorry\r\n"))
        self.assertFailsWithin(("ls", "-m", "5", f.url("/")), 3, self.BOUND, "421",
                               "Too many users")

    def test_closed_mid_reply(self):
        f = self.fake(lambda conn, fake: conn.sendall(b"220-hello\r\n220-and th"))
        self.assertFailsWithin(("ls", "-m", "5", f.url("/")), 2, self.BOUND)

    def closed_port(self):
        return test_cli.free_closed_port()

    def test_data_port_that_never_opens(self):
        port = self.closed_port()
        replies = {"EPSV": epsv_reply(port), "PASV": pasv_reply(port),
                   "SIZE": "213 100", "RETR": "150 here it comes", "MLSD": "150 here",
                   "NLST": "150 here"}
        f = self.fake(lambda conn, fake: dialogue(conn, replies))
        self.assertFailsWithin(("get", "-m", "5", "-o", "-", f.url("/file")), 2, self.BOUND)
        self.assertFailsWithin(("ls", "-m", "5", f.url("/")), 2, self.BOUND)

    def test_data_connection_that_never_sends(self):
        # The data port accepts, the server says 150, then nothing flows: the per-wait timeout.
        data = socket.socket()
        data.settimeout(TIMEOUT)
        data.bind(("127.0.0.1", 0))
        data.listen(4)
        self.addCleanup(data.close)
        port = data.getsockname()[1]
        replies = {"EPSV": epsv_reply(port), "PASV": pasv_reply(port), "SIZE": "213 100",
                   "RETR": "150 here it comes"}
        f = self.fake(lambda conn, fake: dialogue(conn, replies))
        self.assertFailsWithin(("get", "-m", "2", "-o", "-", f.url("/file")), 2, self.BOUND)

    def test_active_mode_server_never_connects(self):
        replies = {"EPRT": "200 ok", "PORT": "200 ok", "SIZE": "213 100",
                   "RETR": "150 connecting (not really)"}
        f = self.fake(lambda conn, fake: dialogue(conn, replies))
        self.assertFailsWithin(("get", "--active", "-m", "2", "-o", "-", f.url("/file")), 2,
                               self.BOUND)

    def trickling(self, piece):
        """A data port that, once the client connects, sends piece every 0.1 s (at most 60 s of
        it); returns (port, the 1xx reply maker for the command that opens it)."""
        data = socket.socket()
        data.settimeout(TIMEOUT)
        data.bind(("127.0.0.1", 0))
        data.listen(4)
        self.addCleanup(data.close)
        stop = threading.Event()
        self.addCleanup(stop.set)

        def trickle():
            try:
                c, _ = data.accept()
            except OSError:  # closed by the cleanup: the client never came
                return
            with c:
                for _ in range(600):
                    try:
                        c.sendall(piece)
                    except OSError:
                        return
                    if stop.wait(0.1):  # the trickle's pace, not an ordering wait
                        return

        def opened(arg):
            threading.Thread(target=trickle, daemon=True).start()
            return "150 slowly"

        return data.getsockname()[1], opened

    def test_whole_command_deadline(self):
        # A transfer that keeps trickling never trips the per-wait timeout; -m bounds the whole.
        port, opened = self.trickling(b"x")
        replies = {"EPSV": epsv_reply(port), "SIZE": "213 100000", "RETR": opened}
        f = self.fake(lambda conn, fake: dialogue(conn, replies))
        self.assertFailsWithin(("get", "-m", "2", "-o", "-", f.url("/file")), 2, self.BOUND,
                               "timed out")

    def test_whole_command_deadline_listing(self):
        port, opened = self.trickling(b"name\r\n")
        replies = {"EPSV": epsv_reply(port), "NLST": opened}
        f = self.fake(lambda conn, fake: dialogue(conn, replies))
        self.assertFailsWithin(("ls", "-m", "2", f.url("/")), 2, self.BOUND, "timed out")

def main(module="__main__"):
    return test_cli.main(module)


if __name__ == "__main__":
    sys.exit(main())
