#!/usr/bin/env python3
"""End-to-end tests of `sockit http get` against the tests' own HTTP server (http_peers.
ScriptServer): exact bytes (Content-Length, chunked in random sizes, read-to-close), request
bodies received exactly, headers sent and received, -I/-i/-v output, redirects (chains, loops,
the limit, method rules, credentials dropped across origins), keep-alive reuse seen by the server,
--fail, deadlines (-m, --connect-timeout), early close and bad framing, resume, --compressed, -w,
--retry, proxies, usage and local file errors. The real servers (nginx, python3 -m http.server,
openssl s_server) are in test_http_get_real.py.

Every wait is bounded; nothing sleeps to order events. By hand:
SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_http_get.py
"""
import base64
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import http_peers as hp  # noqa: E402
from http_peers import data, get  # noqa: E402

TMP = None


class Base(hp.GetTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = hp.ScriptServer()
        cls.tmp = tempfile.mkdtemp(prefix="sockit-get-", dir=TMP)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def url(self, path):
        return self.srv.url(path)

    def reqs(self, token):
        """The requests received whose target contains token (tests make theirs unique)."""
        with self.srv.lock:
            return [r for r in self.srv.requests if token in r.target]

    def path(self, name):
        return os.path.join(self.tmp, name)


class TestBodies(Base):
    def test_content_length_body_to_stdout(self):
        r = get("-s", self.url("/bytes?n=300000&seed=1"))
        self.assertOK(r, data(300000, 1))
        self.assertEqual(r.stderr, b"")

    def test_chunked_in_random_sizes(self):
        for seed, biggest, n in ((2, 1, 3000), (3, 7, 40000), (4, 5000, 400000), (5, 70000, 1 << 20)):
            with self.subTest(max=biggest):
                r = get(self.url("/chunked?n=%d&seed=%d&max=%d" % (n, seed, biggest)))
                self.assertOK(r, data(n, seed))

    def test_read_to_close(self):
        self.assertOK(get(self.url("/close?n=123457&seed=6")), data(123457, 6))

    def test_informational_responses_are_skipped(self):
        self.assertOK(get(self.url("/info")), b"after informational\n")

    def test_output_file_and_dash(self):
        f = self.path("out.bin")
        r = get("-o", f, self.url("/bytes?n=100000&seed=7"))
        self.assertOK(r, b"")
        self.assertFileSha(f, data(100000, 7))
        self.assertOK(get("-o", "-", self.url("/bytes?n=1000&seed=7")), data(1000, 7))

    def test_remote_name(self):
        d = self.path("remote")
        os.makedirs(d)
        r = get("-O", self.url("/bytes?n=5000&seed=8"), cwd=d)
        self.assertOK(r, b"")
        self.assertEqual(os.listdir(d), ["bytes"])
        self.assertFileSha(os.path.join(d, "bytes"), data(5000, 8))
        self.assertOneLineError(get("-O", self.url("/"), cwd=d), 1, "-O")

    def test_empty_body_makes_an_empty_file(self):
        f = self.path("empty")
        self.assertOK(get("-o", f, self.url("/bytes?n=0")), b"")
        self.assertEqual(os.path.getsize(f), 0)

    def test_early_close_keeps_what_arrived_and_fails(self):
        f = self.path("short")
        r = get("-o", f, self.url("/short?n=100000&send=30000&seed=9"))
        self.assertOneLineError(r, 3)
        self.assertFileSha(f, data(30000, 9))

    def test_bad_chunk_size_is_a_protocol_error(self):
        r = get(self.url("/badchunk"))
        self.assertOneLineError(r, 3)
        # What arrived before the bad size may be written (curl writes it) or not (the client
        # may decode the whole read before delivering): never anything else.
        self.assertIn(r.stdout, (b"", b"hello"))

    def test_connection_refused(self):
        port = hp.free_port()
        self.assertOneLineError(get("http://127.0.0.1:%d/" % port), 2, str(port))


class TestRequests(Base):
    def test_data_joined_and_form_type(self):
        r = get("-d", "a=1", "-d", "b=2", self.url("/echo?t=form"))
        self.assertOK(r)
        (req,) = self.reqs("t=form")
        self.assertEqual(req.method, "POST")
        self.assertEqual(req.body, b"a=1&b=2")
        self.assertEqual(req.header("Content-Type"), "application/x-www-form-urlencoded")

    def test_data_from_file_drops_newlines_data_binary_keeps_bytes(self):
        f = self.path("body.txt")
        raw = b"line1\r\nline2\n\x00\xff" + data(5000, 10)
        with open(f, "wb") as fh:
            fh.write(raw)
        self.assertOK(get("-d", "@" + f, self.url("/echo?t=dfile")))
        self.assertEqual(self.reqs("t=dfile")[0].body, raw.replace(b"\r", b"").replace(b"\n", b""))
        self.assertOK(get("--data-binary", "@" + f, self.url("/echo?t=bfile")))
        self.assertEqual(self.reqs("t=bfile")[0].body, raw)
        self.assertOK(get("--data-raw", "@" + f, self.url("/echo?t=raw")))
        self.assertEqual(self.reqs("t=raw")[0].body, ("@" + f).encode())
        self.assertOK(get("--data-binary", "@-", self.url("/echo?t=stdin"), stdin=raw))
        self.assertEqual(self.reqs("t=stdin")[0].body, raw)

    def test_big_body_with_100_continue_received_exactly(self):
        f = self.path("big.bin")
        raw = data(3 << 20, 11)
        with open(f, "wb") as fh:
            fh.write(raw)
        self.assertOK(get("--data-binary", "@" + f, "-o", "/dev/null", self.url("/echo?t=big")))
        (req,) = self.reqs("t=big")
        self.assertEqual(hp.sha(req.body), hp.sha(raw))
        self.assertEqual(req.header("Expect"), "100-continue")  # the server answered 100

    def test_method_with_x(self):
        self.assertOK(get("-X", "PUT", "-d", "x", self.url("/echo?t=put")))
        self.assertOK(get("-X", "DELETE", self.url("/echo?t=delete")))
        self.assertEqual(self.reqs("t=put")[0].method, "PUT")
        self.assertEqual(self.reqs("t=put")[0].body, b"x")
        self.assertEqual(self.reqs("t=delete")[0].method, "DELETE")

    def test_headers_user_agent_and_basic_auth(self):
        r = get("-H", "X-One: 1", "-H", "X-Two: two words", "-A", "tester/9", "-u", "al:pa:ss",
                self.url("/echo?t=hdr"))
        self.assertOK(r)
        (req,) = self.reqs("t=hdr")
        self.assertEqual(req.header("X-One"), "1")
        self.assertEqual(req.header("X-Two"), "two words")
        self.assertEqual(req.header("User-Agent"), "tester/9")
        self.assertEqual(req.header("Authorization"),
                         "Basic " + base64.b64encode(b"al:pa:ss").decode())
        self.assertIsNone(req.header("Accept-Encoding"))  # only with --compressed
        self.assertOK(get("-e", "http://from/", "--http1.1", "--url", self.url("/echo?t=ref")))
        self.assertEqual(self.reqs("t=ref")[0].header("Referer"), "http://from/")

    def test_connection_header_as_curl(self):
        srv = hp.ScriptServer()
        try:
            # Connection: close is sent as given, and the next URL gets a new connection.
            r = get("-H", "Connection: close", srv.url("/echo?t=close"), srv.url("/conn"))
            self.assertOK(r)
            self.assertEqual(srv.requests[0].header("Connection"), "close")
            self.assertTrue(r.stdout.endswith(b"conn 2\n"), r.stdout)
            self.assertOK(get("-H", "Connection: keep-alive", srv.url("/echo?t=keep")))
            self.assertEqual(srv.requests[2].header("Connection"), "keep-alive")
        finally:
            srv.stop()
        for name in ("Content-Length", "Transfer-Encoding"):
            with self.subTest(name=name):
                self.assertOneLineError(get("-H", name + ": 5", self.url("/")), 1, name)

    def test_default_header_removed_with_empty_value(self):
        self.assertOK(get("-H", "User-Agent:", self.url("/echo?t=noua")))
        self.assertIsNone(self.reqs("t=noua")[0].header("User-Agent"))
        self.assertOK(get(self.url("/echo?t=ua")))
        self.assertRegex(self.reqs("t=ua")[0].header("User-Agent"), r"^sockit/")


class TestOutput(Base):
    def test_head_prints_the_head(self):
        r = get("-I", self.url("/head?t=I"))
        self.assertOK(r)
        out = r.stdout.decode()
        self.assertRegex(out, r"^HTTP/1\.1 200 OK\r\n")
        self.assertIn("X-Test: yes\r\n", out)
        self.assertTrue(out.endswith("\r\n\r\n"), out)
        self.assertEqual(self.reqs("t=I")[0].method, "HEAD")

    def test_include_puts_the_head_before_the_body(self):
        r = get("-i", self.url("/head?t=i"))
        self.assertOK(r)
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\n"), head)
        self.assertIn(b"X-Test: yes", head)
        self.assertEqual(body, b"hello")

    def test_include_with_location_shows_every_head(self):
        r = get("-i", "-L", self.url("/redirect/2"))
        self.assertOK(r)
        self.assertEqual(r.stdout.count(b"HTTP/1.1 302 Found\r\n"), 2, r.stdout)
        self.assertTrue(r.stdout.endswith(b"\r\n\r\ndone\n"), r.stdout)

    def test_closed_standard_output_is_a_local_error(self):
        p = subprocess.Popen([hp.BIN, "http", "get", self.url("/bytes?n=20000000")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=hp.clean_env())
        try:
            self.assertEqual(len(p.stdout.read(10)), 10)
            p.stdout.close()  # the reader goes, as `| head -c 10` does
            err = p.stderr.read()
            self.assertEqual(p.wait(hp.TIMEOUT), 5, err)
            self.assertEqual(err.count(b"\n"), 1, err)
            self.assertIn(b"standard output", err)
        finally:
            if p.poll() is None:
                p.kill()
            p.wait(hp.TIMEOUT)
            p.stderr.close()

    def test_verbose_shows_both_heads_on_stderr(self):
        r = get("-v", self.url("/head?t=v"))
        self.assertOK(r, b"hello")
        err = r.stderr.decode()
        self.assertRegex(err, r"(?m)^> GET /head\?t=v HTTP/1\.1$")
        self.assertRegex(err, r"(?m)^> Host: 127\.0\.0\.1:%d$" % self.srv.port)
        self.assertRegex(err, r"(?m)^< HTTP/1\.1 200 OK$")
        self.assertRegex(err, r"(?m)^< X-Test: yes$")

    def test_write_out(self):
        r = get("-w", "%{http_code} %{size_download} %{url_effective}\\n%%", self.url("/bytes?n=10"))
        self.assertOK(r)
        self.assertEqual(r.stdout[10:], ("200 10 %s\n%%" % self.url("/bytes?n=10")).encode())
        url = "http://127.0.0.1:%d/" % hp.free_port()
        r = get("-s", "-o", "/dev/null", "-w", "%{http_code} %{url_effective} %{exitcode}", url)
        self.assertEqual((r.returncode, r.stdout), (2, b"000 " + url.encode() + b" 2"))
        r = get("-w", "%{time_total}", "-o", "/dev/null", self.url("/bytes?n=1"))
        self.assertGreater(float(r.stdout), 0)

    def test_fail(self):
        f = self.path("fail")
        r = get("--fail", "-o", f, self.url("/nope"))
        self.assertOneLineError(r, 4, "404")
        self.assertFalse(os.path.exists(f))  # no error page saved
        r = get(self.url("/nope"))
        self.assertOK(r, b"not found\n")  # without --fail a 404 is a response
        self.assertOneLineError(get("-f", self.url("/nope")), 4)

    def test_silent_hides_errors_show_error_keeps_them(self):
        url = "http://127.0.0.1:%d/" % hp.free_port()
        r = get("-s", url)
        self.assertEqual((r.returncode, r.stderr), (2, b""))
        self.assertOneLineError(get("-sS", url), 2)
        self.assertOneLineError(get("-s", "-S", url), 2)

    def run_with_tty_stderr(self, *args):
        """Runs sockit http get ARGS with stderr on a pseudo-terminal; returns (status, what
        the terminal showed)."""
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([hp.BIN, "http", "get", *args], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=slave, env=hp.clean_env())
            os.close(slave)
            slave = -1
            shown = bytearray()
            while True:
                r, _, _ = select.select([master], [], [], hp.TIMEOUT)
                if not r:
                    break
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the terminal's last writer is gone
                    break
                if not chunk:
                    break
                shown += chunk
            return p.wait(hp.TIMEOUT), bytes(shown)
        finally:
            os.close(master)
            if slave >= 0:
                os.close(slave)

    def test_progress_bar_on_a_terminal_for_a_file(self):
        f = self.path("progress")
        status, shown = self.run_with_tty_stderr("-o", f, self.url("/slow?n=2000000&delay=0.05"))
        self.assertEqual(status, 0, shown)
        self.assertIn(b"100%", shown)
        self.assertIn(b"MiB", shown)
        self.assertTrue(shown.endswith(b"\n"), shown[-100:])
        self.assertFileSha(f, data(2000000))
        for args in (("-s", "-o", f), ()):  # -s, or the body to standard output: no bar
            with self.subTest(args=args):
                status, shown = self.run_with_tty_stderr(*args, self.url("/bytes?n=100000"))
                self.assertEqual((status, shown), (0, b""))

    def test_no_progress_bar_when_stderr_is_not_a_terminal(self):
        r = get("-o", self.path("quiet"), self.url("/bytes?n=200000"))
        self.assertEqual((r.returncode, r.stderr), (0, b""))


class TestRedirects(Base):
    def test_chain_followed_with_L(self):
        r = get("-L", "-w", "\\n%{num_redirects} %{url_effective}", self.url("/redirect/5"))
        self.assertOK(r, b"done\n\n5 " + self.url("/redirect/0").encode())

    def test_not_followed_without_L(self):
        r = get("-i", self.url("/redirect/3?t=noL"))
        self.assertOK(r)
        self.assertIn(b"Location: /redirect/2", r.stdout)
        self.assertEqual(len(self.reqs("t=noL")), 1)

    def test_limit_is_twenty(self):
        self.assertOK(get("-L", self.url("/redirect/20?t=twenty")), b"done\n")
        r = get("-L", self.url("/redirect/21?t=over"))
        self.assertOneLineError(r, 3, "20")
        self.assertEqual(len(self.reqs("t=over")), 21)

    def test_max_redirs_as_curl(self):
        self.assertOK(get("-L", "--max-redirs", "2", self.url("/redirect/2?t=mr2")), b"done\n")
        r = get("-L", "--max-redirs", "2", self.url("/redirect/3?t=mr3"))
        self.assertOneLineError(r, 3, "limit 2")
        self.assertEqual(len(self.reqs("t=mr3")), 3)
        r = get("-L", "--max-redirs", "0", self.url("/redirect/1?t=mr0"))
        self.assertOneLineError(r, 3, "limit 0")
        self.assertEqual(len(self.reqs("t=mr0")), 1)
        self.assertOK(get("-L", "--max-redirs", "0", self.url("/redirect/0")), b"done\n")
        # -1 is curl's unlimited: past the default 20 here.
        self.assertOK(get("-L", "--max-redirs", "-1", self.url("/redirect/25?t=mrall")), b"done\n")
        for bad in ("x", "-2", ""):
            with self.subTest(bad=bad):
                self.assertOneLineError(get("-L", "--max-redirs", bad, self.url("/")), 1,
                                        "--max-redirs")

    def test_loop_ends(self):
        r = get("-L", self.url("/loop"))
        self.assertOneLineError(r, 3)
        self.assertLess(r.elapsed, hp.TIMEOUT)

    def test_method_rules(self):
        self.assertOK(get("-L", "-d", "x=1", self.url("/redirect/1?status=303&t=r303")))
        self.assertEqual([(q.method, q.body) for q in self.reqs("t=r303")],
                         [("POST", b"x=1"), ("GET", b"")])
        self.assertOK(get("-L", "-d", "x=2", self.url("/redirect/1?status=307&t=r307")))
        self.assertEqual([(q.method, q.body) for q in self.reqs("t=r307")],
                         [("POST", b"x=2"), ("POST", b"x=2")])

    def test_credentials_dropped_across_origins_kept_within(self):
        other = hp.ScriptServer()
        try:
            target = other.url("/echo?t=cross")
            r = get("-L", "-u", "u:p", "-H", "Cookie: c=1", self.url("/to?t=cross1&url=" + target))
            self.assertOK(r)
            (first,) = self.reqs("t=cross1")
            self.assertIsNotNone(first.header("Authorization"))
            self.assertEqual(first.header("Cookie"), "c=1")
            (moved,) = [q for q in other.requests if "t=cross" in q.target]
            self.assertIsNone(moved.header("Authorization"))
            self.assertIsNone(moved.header("Cookie"))
            r = get("-L", "-u", "u:p", self.url("/to?t=same1&url=/echo%3Ft%3Dsame2"))
            self.assertOK(r)
            self.assertIsNotNone(self.reqs("t=same2")[0].header("Authorization"))
        finally:
            other.stop()


class TestSession(Base):
    def test_several_urls_share_one_connection(self):
        srv = hp.ScriptServer()
        try:
            urls = [srv.url("/conn?i=%d" % i) for i in range(5)]
            r = get(*urls)
            self.assertOK(r, b"conn 1\n" * 5)
            self.assertEqual(srv.connections, 1)
            self.assertEqual(len(srv.requests), 5)
        finally:
            srv.stop()

    def test_outputs_pair_with_urls_in_order(self):
        a, b = self.path("pair_a"), self.path("pair_b")
        r = get("-o", a, self.url("/bytes?n=100&seed=1"), "-o", b, self.url("/bytes?n=200&seed=2"),
                self.url("/bytes?n=300&seed=3"))
        self.assertOK(r, data(300, 3))
        self.assertFileSha(a, data(100, 1))
        self.assertFileSha(b, data(200, 2))

    def test_bytes_past_content_length_are_not_the_next_response(self):
        srv = hp.ScriptServer()
        try:
            r = get(srv.url("/long?n=1000&seed=9"), srv.url("/conn"))
            self.assertOK(r)
            self.assertEqual(r.stdout[:1000], data(1000, 9))
            self.assertNotIn(b"stray", r.stdout)  # never taken as the second answer
            self.assertEqual(r.stdout[1000:], b"conn 2\n")  # a new connection for it
        finally:
            srv.stop()

    def test_a_failing_url_does_not_stop_the_others(self):
        r = get("-f", self.url("/nope"), self.url("/bytes?n=50&seed=4"))
        self.assertEqual(r.returncode, 0)  # the last transfer's result, as curl
        self.assertIn(b"404", r.stderr)  # the failure still said why
        self.assertEqual(r.stdout, data(50, 4))
        r = get("-f", self.url("/bytes?n=50&seed=4"), self.url("/nope"))
        self.assertEqual(r.returncode, 4)


class TestDeadlines(Base):
    def test_max_time_on_a_silent_server(self):
        r = get("-m", "0.5", self.url("/stallhead"))
        self.assertOneLineError(r, 2)
        self.assertLess(r.elapsed, 10)

    def test_max_time_mid_body_keeps_the_part(self):
        f = self.path("stalled")
        r = get("-m", "0.5", "-o", f, self.url("/stall?n=1000"))
        self.assertOneLineError(r, 2)
        self.assertLess(r.elapsed, 10)
        self.assertFileSha(f, data(1000))

    def test_connect_timeout_covers_the_tls_handshake(self):
        with socket.socket() as s:  # accepts (the kernel does) and never answers the hello
            s.bind(("127.0.0.1", 0))
            s.listen(8)
            r = get("--connect-timeout", "0.5", "https://127.0.0.1:%d/" % s.getsockname()[1])
        self.assertOneLineError(r, 2)
        self.assertLess(r.elapsed, 10)

    def test_speed_limit_aborts_a_stalled_body(self):
        f = self.path("lowspeed")
        r = get("-Y", "1000", "-y", "0.5", "-o", f, self.url("/stall?n=500"))
        self.assertOneLineError(r, 2)
        self.assertLess(r.elapsed, 10)
        self.assertFileSha(f, data(500))
        self.assertOK(get("-Y", "1", "-y", "5", self.url("/bytes?n=1000&seed=2")), data(1000, 2))

    def test_max_time_bounds_the_whole_transfer_not_each_read(self):
        # Ten parts 0.3 s apart: every read is quick, the whole takes about 3 s.
        r = get("-m", "1", "-o", self.path("whole"), self.url("/slow?n=10000&delay=0.3"))
        self.assertOneLineError(r, 2)
        self.assertLess(r.elapsed, 10)

    def test_connect_timeout_does_not_limit_the_body(self):
        r = get("--connect-timeout", "0.3", self.url("/slow?n=10000&delay=0.1&seed=6"))
        self.assertOK(r, data(10000, 6))

    def test_slow_body_within_max_time(self):
        r = get("-m", "20", self.url("/slow?n=5000&delay=0.05&seed=5"))
        self.assertOK(r, data(5000, 5))


class TestResume(Base):
    def test_resume_after_truncation_gives_identical_bytes(self):
        f = self.path("resume.bin")
        n = 500000
        r = get("-o", f, self.url("/file?n=%d&seed=12&cut=123456&t=cut" % n))
        self.assertOneLineError(r, 3)
        self.assertEqual(os.path.getsize(f), 123456)
        r = get("-C", "-", "-o", f, self.url("/file?n=%d&seed=12&t=rest" % n))
        self.assertOK(r, b"")
        self.assertFileSha(f, data(n, 12))
        self.assertEqual(self.reqs("t=rest")[0].header("Range"), "bytes=123456-")

    def test_resume_of_a_whole_file_changes_nothing(self):
        f = self.path("whole.bin")
        with open(f, "wb") as fh:
            fh.write(data(1000, 13))
        self.assertOK(get("-C", "-", "-o", f, self.url("/file?n=1000&seed=13")))
        self.assertFileSha(f, data(1000, 13))
        r = get("-f", "-C", "-", "-o", f, "-w", "%{http_code}", self.url("/file?n=1000&seed=13"))
        self.assertOK(r, b"416")  # the server's "nothing left" is not a failure
        self.assertFileSha(f, data(1000, 13))

    def test_resume_needs_a_file(self):
        self.assertOneLineError(get("-C", "-", self.url("/file?n=1")), 1, "-C")
        self.assertOneLineError(get("-C", "-", "-o", "-", self.url("/file?n=1")), 1, "-C")


class TestCompressed(Base):
    def test_gzip_and_deflate_decoded(self):
        for q in ("", "&deflate=1"):
            with self.subTest(q=q):
                r = get("--compressed", self.url("/gzip?n=200000&seed=14&t=gz" + q))
                self.assertOK(r, data(200000, 14))
                self.assertIn("gzip", self.reqs("t=gz" + q)[0].header("Accept-Encoding"))

    def test_without_compressed_nothing_is_asked_or_decoded(self):
        r = get(self.url("/gzip?n=1000&seed=15&t=plain"))
        self.assertOK(r, data(1000, 15))
        self.assertIsNone(self.reqs("t=plain")[0].header("Accept-Encoding"))


class TestRetry(Base):
    def test_retry_after_a_503_honours_retry_after(self):
        r = get("--retry", "2", self.url("/status?code=503&times=1&retry_after=1&key=ra"))
        self.assertOK(r, b"ok after 1\n")
        self.assertEqual(len(self.reqs("key=ra")), 2)
        self.assertGreaterEqual(r.elapsed, 0.9)  # it waited Retry-After
        self.assertLess(r.elapsed, 20)

    def test_retries_run_out(self):
        r = get("--retry", "1", "-f", self.url("/status?code=500&times=5&retry_after=0&key=out"))
        self.assertEqual(r.returncode, 4)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(len(self.reqs("key=out")), 2)
        r = get("--retry", "1", self.url("/status?code=429&times=5&retry_after=0&key=out2"))
        self.assertOK(r, b"try again\n")  # the last answer is the response (no --fail)

    def test_no_retry_on_404(self):
        r = get("--retry", "3", self.url("/nope?t=no404"))
        self.assertOK(r, b"not found\n")
        self.assertEqual(len(self.reqs("t=no404")), 1)

    def test_retry_on_connection_refused_backs_off(self):
        r = get("--retry", "1", "--retry-connrefused", "http://127.0.0.1:%d/" % hp.free_port())
        self.assertEqual(r.returncode, 2)
        self.assertGreaterEqual(r.elapsed, 0.9)
        self.assertLess(r.elapsed, 20)
        self.assertEqual(r.stderr.decode().count("\n"), 2, r.stderr)  # retrying..., the error


class TestProxy(Base):
    def test_proxy_flag_and_environment(self):
        proxy = hp.ConnectProxy()
        try:
            url = self.url("/echo?t=viaproxy")
            self.assertOK(get("-x", proxy.url(), url))
            self.assertOK(get(self.url("/echo?t=viaenv"), env=hp.clean_env(http_proxy=proxy.url())))
            self.assertOK(get(self.url("/echo?t=noproxy"),
                              env=hp.clean_env(http_proxy=proxy.url(), no_proxy="127.0.0.1")))
            targets = [t for _, t, _ in proxy.log]
            self.assertIn(url, targets)
            self.assertIn(self.url("/echo?t=viaenv"), targets)
            self.assertFalse([t for t in targets if "noproxy" in t], targets)
            self.assertEqual(len(self.reqs("t=noproxy")), 1)
        finally:
            proxy.stop()


class TestUsage(Base):
    def test_usage_errors_are_one_line_with_a_hint(self):
        u = self.url("/")
        for args in ((), ("--bogus", u), ("-m", "abc", u), ("-m", "-1", u), ("--retry", "x", u),
                     ("-w", "%{bogus}", u), ("-o", "a", "-o", "b", u),
                     ("-X", "", u), ("-o",), ("--connect-timeout", "-1", u), ("-C", "x", "-o", "f", u)):
            with self.subTest(args=args):
                self.assertOneLineError(get(*args), 1, "sockit http get --help")

    def test_bad_urls(self):
        for url in ("http://[::1", "ftp://127.0.0.1/x", "http://127.0.0.1:99999/"):
            with self.subTest(url=url):
                self.assertOneLineError(get(url), 1)

    def test_local_file_errors(self):
        self.assertOneLineError(get("-o", "/nonexistent-dir/x", self.url("/bytes?n=5")), 5,
                                "/nonexistent-dir/x")
        self.assertOneLineError(get("-d", "@/nonexistent-file", self.url("/")), 5,
                                "/nonexistent-file")
        self.assertOneLineError(get("--cacert", "/nonexistent-ca.pem", "https://127.0.0.1:1/"), 5)

    def test_help_lists_every_flag(self):
        r = get("--help")
        self.assertOK(r)
        out = r.stdout.decode()
        self.assertTrue(out.startswith("usage: sockit http get"), out)
        for flag in ("-o", "-O", "-L", "-I", "-i", "-X", "-H", "-d", "--data-binary", "-u", "-A",
                     "--compressed", "-C", "--cacert", "-k", "-m", "--connect-timeout", "--retry",
                     "--fail", "-w", "-s", "-S", "-v", "-x", "--noproxy", "-Y", "-y", "-e",
                     "--url", "--data-raw", "-4", "-6", "--max-redirs"):
            self.assertRegex(out, r"(?m)^\s+(-\w, )?%s\b" % flag.replace("-", r"\-"), flag)


def main():
    return hp.main_with_tmp(__name__, "sockit-http-get-")


if __name__ == "__main__":
    sys.exit(main())
