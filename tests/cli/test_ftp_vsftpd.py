#!/usr/bin/env python3
"""End-to-end tests of `sockit ftp` against Debian's vsftpd, plain and FTPS.

vsftpd runs in the foreground with a configuration of the test's own (tests/cli/ftp_peers.py):
anonymous, rooted at a temporary directory whose pub/ the 'ftp' user owns (uploads, deletes and
new directories allowed there), a root-owned ro/ where writes are refused; FTPS with
require_ssl_reuse=YES, explicit (AUTH TLS) and implicit (ftps://). vsftpd has no MLSD, so `ls`
goes through NLST here. The 256 MiB round trip, both resumes, active and passive, and the ftplib
equivalence run here too. Without vsftpd or root the tests skip, saying so (make test installs
vsftpd). By hand: SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_ftp_vsftpd.py
The last line printed is "N passed, N failed"; the exit status is non-zero on any failure.
"""
import ftplib
import hashlib
import os
import pwd
import ssl
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ftp_peers  # noqa: E402
import test_ftp  # noqa: E402
from ftp_peers import Vsftpd  # noqa: E402
from test_ftp import CERTS, FtpBase, sha  # noqa: E402

setUpModule = test_ftp.setUpModule
tearDownModule = test_ftp.tearDownModule

BIG = 256 * 1024 * 1024


class VsftpdBase(FtpBase):
    tls = None

    def setUp(self):
        why = ftp_peers.vsftpd_missing()
        if why:
            raise unittest.SkipTest(why)
        super().setUp()
        self.root = self.path("root")
        os.makedirs(os.path.join(self.root, "pub"))
        os.makedirs(os.path.join(self.root, "ro"))
        os.chmod(self.root, 0o755)
        os.chmod(os.path.join(self.root, "ro"), 0o755)
        self.write(os.path.join(self.root, "ro", "locked.txt"), b"locked\n")
        ftp = pwd.getpwnam("ftp")
        os.chown(os.path.join(self.root, "pub"), ftp.pw_uid, ftp.pw_gid)
        cert = (test_ftp.CERTS["srv"], test_ftp.CERTS["srv_key"]) if self.tls else None
        self.server = Vsftpd(self.tmp, self.root, tls=self.tls, cert=cert)
        self.servers.append(self.server)

    def url(self, path, scheme="ftp"):
        return self.server.url(path, scheme)

    def pub(self, *parts):
        return os.path.join(self.root, "pub", *parts)

    def put_in_pub(self, name, data):
        """A file in pub/ as if uploaded (owned by 'ftp': anonymous may replace or delete it)."""
        p = self.write(self.pub(name), data)
        ftp = pwd.getpwnam("ftp")
        os.chown(p, ftp.pw_uid, ftp.pw_gid)
        return p


class TestVsftpd(VsftpdBase):
    def test_ls_falls_back_to_nlst(self):
        for name in ("b", "a", "c d"):
            self.put_in_pub(name, b"x")
        r = self.ok(self.sockit("ls", "-v", self.url("/pub/")))
        self.assertEqual(sorted(r.stdout.decode().splitlines()), ["a", "b", "c d"])
        self.assertNotIn("MLSD", r.stderr.decode().split("server offers:")[1].split("\n")[0])
        r = self.ok(self.sockit("ls", self.url("/")))
        self.assertEqual(sorted(r.stdout.decode().splitlines()), ["pub", "ro"])
        r = self.ok(self.sockit("ls", "-l", self.url("/pub")))
        lines = sorted(r.stdout.decode().splitlines())
        self.assertEqual([(l.split()[0], l.split()[1]) for l in lines], [("file", "1")] * 3)
        self.assertEqual([l.split(None, 3)[3] for l in lines], ["a", "b", "c d"])

    def test_round_trip_256_mib(self):
        # One bounded load: 256 MiB up and down, checked by SHA-256 (passive, then active down).
        src = self.path("src.bin")
        h = hashlib.sha256()
        block = os.urandom(1024 * 1024)
        with open(src, "wb") as f:
            for i in range(BIG // len(block)):
                chunk = block[:-4] + i.to_bytes(4, "big")  # no two MiB alike
                h.update(chunk)
                f.write(chunk)
        want = h.hexdigest()
        limit = 280 if test_ftp.SANITIZED else 120
        self.ok(self.sockit("put", "-m", str(limit), src, self.url("/pub/")))
        self.assertEqual(os.path.getsize(self.pub("src.bin")), BIG)
        os.remove(src)
        out = self.path("down.bin")
        self.ok(self.sockit("get", "--active", "-m", str(limit), "-o", out,
                            self.url("/pub/src.bin")))
        h = hashlib.sha256()
        with open(out, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        self.assertEqual(h.hexdigest(), want)

    def test_resume_both_ways(self):
        data = os.urandom(3 * 1024 * 1024 + 11)
        self.put_in_pub("f.bin", data)
        out = self.write(self.path("f.bin"), data[:1000000])
        self.ok(self.sockit("get", "-C", "-o", out, self.url("/pub/f.bin")))
        self.assertEqual(sha(self.read(out)), sha(data))
        self.put_in_pub("g.bin", data[:2000001])
        self.ok(self.sockit("put", "-C", out, self.url("/pub/g.bin")))
        self.assertEqual(sha(self.read(self.pub("g.bin"))), sha(data))

    def test_active_and_passive(self):
        data = os.urandom(1024 * 1024)
        src = self.write(self.path("a.bin"), data)
        for mode in ((), ("--active",)):
            with self.subTest(mode=mode):
                name = "m%d.bin" % len(mode)
                self.ok(self.sockit("put", *mode, src, self.url("/pub/" + name)))
                self.assertEqual(self.read(self.pub(name)), data)
                r = self.ok(self.sockit("get", *mode, "-o", "-", self.url("/pub/" + name)))
                self.assertEqual(r.stdout, data)
                r = self.ok(self.sockit("ls", *mode, self.url("/pub/")))
                self.assertIn(name.encode() + b"\n", r.stdout)

    def test_rm_mkdir_and_errors(self):
        self.put_in_pub("victim", b"v")
        self.ok(self.sockit("mkdir", self.url("/pub/newdir")))
        self.assertTrue(os.path.isdir(self.pub("newdir")))
        self.ok(self.sockit("rm", self.url("/pub/victim")))
        self.assertFalse(os.path.exists(self.pub("victim")))
        self.assertOneLineError(self.sockit("rm", self.url("/pub/victim")), 3, "550")
        self.assertOneLineError(self.sockit("get", self.url("/pub/missing")), 3, "550")
        self.assertFalse(os.path.exists(os.path.join(self.cwd, "missing")))
        # Permission denied: ro/ belongs to root.
        src = self.write(self.path("x"), b"x")
        self.assertOneLineError(self.sockit("put", src, self.url("/ro/x")), 3, "553")
        self.assertOneLineError(self.sockit("mkdir", self.url("/ro/d")), 3, "550")
        self.assertOneLineError(self.sockit("rm", self.url("/ro/locked.txt")), 3, "550")
        self.assertTrue(os.path.exists(os.path.join(self.root, "ro", "locked.txt")))
        # vsftpd is anonymous only here: a user is refused at login.
        self.assertOneLineError(self.sockit("ls", self.url("/").replace("//", "//bob:pw@")), 3,
                                "530")

    def test_ftplib_equivalence(self):
        def login():
            f = ftplib.FTP()
            f.connect("127.0.0.1", self.server.port, timeout=test_ftp.TIMEOUT)
            f.login()
            return f

        self.equivalence(lambda p: self.url("/" + p), login, self.root, "pub/A", "pub/B")


class TestVsftpdExplicitTLS(VsftpdBase):
    tls = "explicit"

    def test_transfers_with_session_reuse_required(self):
        data = os.urandom(2 * 1024 * 1024 + 1)
        src = self.write(self.path("s.bin"), data)
        ca = ("--tls", "--cacert", CERTS["ca"])
        for mode in ((), ("--active",)):
            with self.subTest(mode=mode):
                self.ok(self.sockit("put", *ca, *mode, src, self.url("/pub/")))
                self.assertEqual(self.read(self.pub("s.bin")), data)
                r = self.ok(self.sockit("get", *ca, *mode, "-o", "-", self.url("/pub/s.bin")))
                self.assertEqual(sha(r.stdout), sha(data))
                r = self.ok(self.sockit("ls", "-v", *ca, *mode, self.url("/pub/")))
                self.assertEqual(r.stdout, b"s.bin\n")
                self.assertIn("TLS session resumed", r.stderr.decode())
                lines = r.stderr.decode().splitlines()  # the trace goes on after AUTH TLS
                for want in ("> AUTH TLS", "> USER anonymous", "> PBSZ 0", "> PROT P", "> NLST pub/"):
                    self.assertIn(want, lines)
        self.ok(self.sockit("mkdir", *ca, self.url("/pub/d")))
        self.ok(self.sockit("rm", *ca, self.url("/pub/s.bin")))
        self.assertEqual(os.listdir(self.pub()), ["d"])
        # vsftpd refuses plain logins here (force_anon_logins_ssl).
        self.assertOneLineError(self.sockit("ls", self.url("/pub/")), 3, "530")

    def test_ftplib_cannot_do_what_sockit_does(self):
        # The reason for the session reuse: ftplib's data connections do not resume the control
        # connection's session, and vsftpd with require_ssl_reuse=YES refuses them.
        self.put_in_pub("f", b"hello\n")
        ctx = ssl.create_default_context(cafile=CERTS["ca"])
        f = ftplib.FTP_TLS(context=ctx)
        f.connect("127.0.0.1", self.server.port, timeout=test_ftp.TIMEOUT)
        try:
            f.login()
            f.prot_p()
            with self.assertRaises((ftplib.error_temp, ftplib.error_perm, OSError, EOFError)):
                f.retrbinary("RETR pub/f", lambda b: None)
        finally:
            f.close()
        r = self.ok(self.sockit("get", "--tls", "--cacert", CERTS["ca"], "-o", "-",
                                self.url("/pub/f")))
        self.assertEqual(r.stdout, b"hello\n")

    def test_certificate_checks(self):
        self.assertOneLineError(self.sockit("ls", "--tls", self.url("/pub/")), 3)
        self.ok(self.sockit("ls", "--tls", "-k", self.url("/pub/")))


class TestVsftpdImplicitTLS(VsftpdBase):
    tls = "implicit"

    def test_ftps_url(self):
        data = os.urandom(1024 * 1024 + 3)
        src = self.write(self.path("i.bin"), data)
        ca = ("--cacert", CERTS["ca"])
        self.ok(self.sockit("put", *ca, src, self.url("/pub/", "ftps")))
        self.assertEqual(self.read(self.pub("i.bin")), data)
        r = self.ok(self.sockit("get", *ca, "-o", "-", self.url("/pub/i.bin", "ftps")))
        self.assertEqual(r.stdout, data)
        r = self.ok(self.sockit("ls", *ca, "--active", self.url("/pub/", "ftps")))
        self.assertEqual(r.stdout, b"i.bin\n")
        # Plain FTP to an implicit port: a bounded, clean failure.
        start = time.monotonic()
        r = self.sockit("ls", "-m", "3", self.url("/pub/"))
        self.assertIn(r.returncode, (2, 3), r.stderr)
        self.assertLess(time.monotonic() - start, 20)


def main(module="__main__"):
    return test_ftp.main(module)


if __name__ == "__main__":
    sys.exit(main())
