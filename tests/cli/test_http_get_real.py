#!/usr/bin/env python3
"""End-to-end tests of `sockit http get` against real servers: Debian's nginx (config written
here, run as the current user from a temporary directory), `python3 -m http.server`, and
`openssl s_server -WWW` with certificates made here (trusted CA + leaf, self-signed, another
host's, expired). Keep-alive reuse is read from nginx's access log ($connection). Each peer that
is missing skips its class (`make test` installs them). The 1 GiB download is in
test_http_get_big.py. By hand: SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_http_get_real.py
"""
import gzip
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import http_peers as hp  # noqa: E402
from http_peers import data, get  # noqa: E402

TMP = None


def make_root(d):
    """Files the real servers serve: a.bin (1 MiB + 7), small.txt, text.txt (compressible),
    dir/, empty."""
    os.makedirs(os.path.join(d, "dir"))
    files = {"a.bin": data((1 << 20) + 7, 21), "small.txt": b"small\n",
             "text.txt": b"sockit compresses well. " * 4000, "empty": b"",
             "dir/b.bin": data(1000, 22)}
    for name, body in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(body)
    return files


class RealServer(hp.GetTest):
    peer = None  # a callable: root -> server with url() and stop()

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sockit-real-", dir=TMP)
        cls.root = os.path.join(cls.tmp, "root")
        os.makedirs(cls.root)
        cls.files = make_root(cls.root)
        try:
            cls.srv = cls.peer(cls.root)
        except BaseException:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)


class TestNginx(RealServer):
    peer = hp.Nginx

    def test_exact_bytes(self):
        self.assertOK(get(self.srv.url("/a.bin")), self.files["a.bin"])
        f = self.path("a.out")
        self.assertOK(get("-o", f, self.srv.url("/a.bin")))
        self.assertFileSha(f, self.files["a.bin"])

    def test_several_urls_one_connection(self):
        names = ["/small.txt?k=%d" % i for i in range(6)]
        r = get("-w", "%{http_code}\\n", *[self.srv.url(n) for n in names])
        self.assertOK(r, b"small\n200\n" * 6)
        mine = lambda entries: [e for e in entries if "?k=" in e[2]]  # noqa: E731
        log = mine(self.srv.access_log(lambda entries: len(mine(entries)) >= 6))
        self.assertEqual(len(log), 6, log)
        self.assertEqual(len({e[0] for e in log}), 1, log)  # one connection
        self.assertEqual([e[1] for e in log], list(range(1, 7)), log)

    def test_resume_after_truncation(self):
        f = self.path("resume.bin")
        whole = self.files["a.bin"]
        with open(f, "wb") as fh:
            fh.write(whole[:300001])
        r = get("-C", "-", "-o", f, self.srv.url("/a.bin"))
        self.assertOK(r)
        self.assertFileSha(f, whole)
        log = self.srv.access_log(lambda entries: any(e[3] == 206 for e in entries))
        self.assertIn(206, [e[3] for e in log if "a.bin" in e[2]])

    def test_compressed(self):
        r = get("--compressed", "-i", self.srv.url("/text.txt"))
        self.assertOK(r)
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Encoding: gzip", head)
        self.assertEqual(body, self.files["text.txt"])
        # Without it nothing is decoded: asked with -H, the body stays as it came.
        r = get("-H", "Accept-Encoding: gzip", self.srv.url("/text.txt"))
        self.assertOK(r)
        self.assertEqual(gzip.decompress(r.stdout), self.files["text.txt"])

    def test_head_and_fail(self):
        r = get("-I", self.srv.url("/a.bin"))
        self.assertOK(r)
        self.assertIn(b"Content-Length: %d\r\n" % len(self.files["a.bin"]), r.stdout)
        self.assertOneLineError(get("--fail", self.srv.url("/missing")), 4, "404")
        r = get("-L", "-w", "%{url_effective}", self.srv.url("/dir"))  # nginx: 301 to /dir/
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.endswith(self.srv.url("/dir/").encode()), r.stdout[-200:])

    def test_empty_file(self):
        f = self.path("empty.out")
        self.assertOK(get("-o", f, self.srv.url("/empty")))
        self.assertEqual(os.path.getsize(f), 0)


class TestPythonHTTPServer(RealServer):
    peer = hp.PythonHTTPServer

    def test_exact_bytes_and_listing(self):
        self.assertOK(get(self.srv.url("/a.bin")), self.files["a.bin"])
        r = get(self.srv.url("/dir/"))
        self.assertOK(r)
        self.assertIn(b"b.bin", r.stdout)

    def test_resume_where_range_is_not_supported_starts_over(self):
        # http.server answers 200 to a Range request: the file is written again from its start.
        f = self.path("restart.bin")
        with open(f, "wb") as fh:
            fh.write(b"X" * 5000)
        self.assertOK(get("-C", "-", "-o", f, self.srv.url("/a.bin")))
        self.assertFileSha(f, self.files["a.bin"])

    def test_post_is_refused_by_status(self):
        self.assertOneLineError(get("--fail", "-d", "x", self.srv.url("/")), 4, "501")


class TestTLS(hp.GetTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sockit-tls-", dir=TMP)
        cls.root = os.path.join(cls.tmp, "root")
        os.makedirs(cls.root)
        cls.files = make_root(cls.root)
        cls.certs = hp.make_certs(cls.tmp)
        cls.servers = {}
        try:
            for name in ("srv", "self", "other", "expired"):
                cls.servers[name] = hp.SServer(cls.root, cls.certs[name], cls.certs[name + "_key"])
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers.values():
            s.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def url(self, name, path="/a.bin", host="127.0.0.1"):
        return self.servers[name].url(path, host)

    def test_trusted_with_cacert(self):
        ca = self.certs["ca"]
        self.assertOK(get("--cacert", ca, self.url("srv")), self.files["a.bin"])
        self.assertOK(get("--cacert", ca, self.url("srv", "/small.txt", "localhost")), b"small\n")

    def test_untrusted_fails_with_3_and_k_accepts(self):
        ca = self.certs["ca"]
        for name in ("self", "other", "expired"):
            with self.subTest(cert=name):
                self.assertOneLineError(get("--cacert", ca, self.url(name)), 3)
                self.assertOK(get("-k", self.url(name, "/small.txt")), b"small\n")
        # Without --cacert the system store does not know the test CA either.
        self.assertOneLineError(get(self.url("srv", "/small.txt")), 3)

    def test_https_through_a_connect_proxy(self):
        proxy = hp.ConnectProxy()
        try:
            r = get("-x", proxy.url(), "--cacert", self.certs["ca"], self.url("srv", "/small.txt"))
            self.assertOK(r, b"small\n")
            self.assertEqual(proxy.log[0][:2], ("CONNECT", "127.0.0.1:%d" % self.servers["srv"].port))
            r = get("--cacert", self.certs["ca"], self.url("srv", "/small.txt"),
                    env=hp.clean_env(https_proxy=proxy.url()))
            self.assertOK(r, b"small\n")
            self.assertEqual(len(proxy.log), 2)
            self.assertEqual(proxy.log[1][0], "CONNECT")
        finally:
            proxy.stop()


def main():
    return hp.main_with_tmp(__name__, "sockit-http-get-real-")


if __name__ == "__main__":
    sys.exit(main())
