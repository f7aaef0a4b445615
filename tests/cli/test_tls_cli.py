#!/usr/bin/env python3
"""End-to-end tests of `sockit connect --tls` and `sockit echo --tls`.

Peers: openssl s_server and s_client, and Python's ssl module, on 127.0.0.1 (port 0 / a port
the peer reports). The CA and certificates (valid for localhost + 127.0.0.1, self-signed, for
other.test, expired) are made at start with the openssl command in a temporary directory.
Every wait is bounded; every child is killed in tearDown. Run by ctest with SOCKIT_BIN set; by
hand: SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_tls_cli.py
The last line printed is "N passed, N failed"; the exit status is non-zero on any failure.
"""
import hashlib
import os
import re
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
SOURCE_DIR = os.environ.get("SOCKIT_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
BIN = os.environ.get("SOCKIT_BIN", os.path.join(SOURCE_DIR, "build", "bin", "sockit"))
TIMEOUT = 30  # the longest any single wait may take, in seconds
CERTS = {}    # name -> path, filled by make_certs()
TMP = None

KEYGEN = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def openssl(*args, cwd=None):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=TIMEOUT)


def make_certs(d):
    """The test CA, and leaf certificates: srv (localhost + 127.0.0.1, by the CA), self
    (self-signed), other (other.test, by the CA), expired (by the CA, in 2020)."""
    openssl("req", "-x509", *KEYGEN, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
            "-subj", "/CN=sockit cli test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    san = "subjectAltName=DNS:localhost,IP:127.0.0.1"
    for name, ext, serial in (("srv", san, "2"), ("other", "subjectAltName=DNS:other.test", "3")):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext + "\n")
        openssl("req", *KEYGEN, "-keyout", name + ".key", "-out", name + ".csr", "-subj",
                "/CN=" + name, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-set_serial", serial, "-days", "30", "-extfile", name + ".ext", "-out",
                name + ".pem", cwd=d)
    openssl("req", "-x509", *KEYGEN, "-keyout", "self.key", "-out", "self.pem", "-days", "30",
            "-subj", "/CN=localhost", "-addext", san, cwd=d)
    # OpenSSL 3.0's x509 cannot back-date: `openssl ca` with explicit dates can.
    os.makedirs(os.path.join(d, "cadb"))
    open(os.path.join(d, "cadb", "index.txt"), "w").close()
    with open(os.path.join(d, "cadb", "serial"), "w") as f:
        f.write("10\n")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca=d\n[d]\ndir=.\ndatabase=cadb/index.txt\nserial=cadb/serial\n"
                "new_certs_dir=cadb\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n"
                "unique_subject=no\n[p]\ncommonName=supplied\n")
    openssl("req", *KEYGEN, "-keyout", "expired.key", "-out", "expired.csr", "-subj",
            "/CN=localhost", "-addext", san, cwd=d)
    openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in",
            "expired.csr", "-out", "expired.pem", "-notext", "-startdate", "20200101000000Z",
            "-enddate", "20200102000000Z", cwd=d)
    for n in ("ca", "srv", "self", "other", "expired"):
        CERTS[n] = os.path.join(d, n + ".pem")
        CERTS[n + "_key"] = os.path.join(d, n + ".key")


def run(*args, stdin=b"", timeout=TIMEOUT):
    return subprocess.run([BIN, *args], input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Pipe(threading.Thread):
    """Collects everything a child writes on one pipe, so tests can wait for it with a bound."""

    def __init__(self, f):
        super().__init__(daemon=True)
        self.f = f
        self.data = bytearray()
        self.eof = False
        self.cond = threading.Condition()
        self.start()

    def run(self):
        fd = self.f.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self.cond:
                if chunk:
                    self.data += chunk
                else:
                    self.eof = True
                self.cond.notify_all()
            if not chunk:
                return

    def wait_for(self, pred, timeout=TIMEOUT):
        with self.cond:
            self.cond.wait_for(lambda: pred(bytes(self.data)) or self.eof, timeout)
            return bytes(self.data)


def die_with_parent():
    """In the child before exec: SIGKILL when the test process goes, however it goes."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:
        pass


class Child:
    """A running process with its stdout and stderr collected."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, preexec_fn=die_with_parent)
        self.out = Pipe(self.p.stdout)
        self.err = Pipe(self.p.stderr)

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(10)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            try:
                f.close()
            except OSError:
                pass


class Base(unittest.TestCase):
    def setUp(self):
        self.children = []
        self.closers = []

    def tearDown(self):
        for c in self.children:
            c.kill()
        for f in self.closers:
            f()

    def child(self, argv):
        c = Child(argv)
        self.children.append(c)
        return c

    def s_server(self, cert, *extra):
        """openssl s_server on 127.0.0.1, port 0; returns its port (from its ACCEPT line)."""
        c = self.child(["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", CERTS[cert],
                        "-key", CERTS[cert + "_key"], *extra])
        out = c.out.wait_for(lambda d: re.search(rb"ACCEPT 127\.0\.0\.1:\d+\n", d) is not None)
        m = re.search(rb"ACCEPT 127\.0\.0\.1:(\d+)\n", out)
        if not m:
            raise AssertionError("s_server did not start: %r %r" % (out, c.err.data))
        return m.group(1).decode()

    def echo_tls(self, *extra):
        """sockit echo --tls on 127.0.0.1:0; returns (child, port)."""
        c = self.child([BIN, "echo", "--tls", "--cert", CERTS["srv"], "--key", CERTS["srv_key"],
                        *extra, "127.0.0.1", "0"])
        err = c.err.wait_for(lambda d: b"\n" in d).decode(errors="replace")
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)\n", err)
        if not m:
            raise AssertionError("no 'listening on' line; stderr: %r" % err)
        return c, m.group(1)

    def assertOneLineError(self, r, status, *needles):
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, status, "stderr: %r" % err)
        self.assertEqual(err.count("\n"), 1, "not one line: %r" % err)
        self.assertTrue(err.startswith("sockit"), err)
        for n in needles:
            self.assertIn(n, err)
        return err


# ---- sockit connect --tls ------------------------------------------------------------------------

class TestConnectTLS(Base):
    def test_valid_with_cacert(self):
        port = self.s_server("srv", "-rev")
        for host in ("127.0.0.1", "localhost"):
            with self.subTest(host=host):
                r = run("connect", "--tls", "--cacert", CERTS["ca"], "-w", "10", host, port,
                        stdin=b"hello tls\n")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, b"slt olleh\n")
                self.assertEqual(r.stderr, b"")

    def test_self_signed_without_k_fails(self):
        port = self.s_server("self", "-rev")
        r = run("connect", "--tls", "-w", "10", "127.0.0.1", port, stdin=b"x\n")
        err = self.assertOneLineError(r, 3)
        self.assertEqual(err, "sockit: tls handshake with 127.0.0.1: certificate verify failed: "
                              "self-signed certificate\n")
        self.assertEqual(r.stdout, b"")

    def test_self_signed_with_k_works(self):
        port = self.s_server("self", "-rev")
        r = run("connect", "--tls", "-k", "-w", "10", "127.0.0.1", port, stdin=b"abc\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"cba\n")

    def test_bad_certificates(self):
        cases = [
            ("other", "localhost", "tls handshake with localhost: host name mismatch: "
                                   "the certificate is for other.test"),
            ("expired", "localhost", "tls handshake with localhost: certificate verify failed: "
                                     "certificate has expired"),
            ("srv", "localhost", "certificate verify failed: unable to get local issuer "
                                 "certificate"),  # the system store does not know our CA
        ]
        for cert, host, msg in cases:
            with self.subTest(cert=cert):
                port = self.s_server(cert, "-rev")
                args = ["--cacert", CERTS["ca"]] if cert != "srv" else []
                r = run("connect", "--tls", *args, "-w", "10", host, port, stdin=b"x\n")
                self.assertOneLineError(r, 3, msg)
                # -k accepts all of them.
                r = run("connect", "--tls", "-k", "-w", "10", host, port, stdin=b"xy\n")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, b"yx\n")

    def test_plaintext_server(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(TIMEOUT)
        self.closers.append(srv.close)

        def serve():
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                conn.recv(4096)
                conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
                try:
                    while conn.recv(4096):
                        pass
                except OSError:
                    pass

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        start = time.monotonic()
        r = run("connect", "--tls", "-w", "10", "127.0.0.1", str(srv.getsockname()[1]))
        self.assertOneLineError(r, 3, "tls handshake with 127.0.0.1: the peer is not speaking TLS")
        self.assertLess(time.monotonic() - start, 5)
        t.join(TIMEOUT)

    def test_silent_server_times_out(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        self.closers.append(srv.close)
        start = time.monotonic()
        r = run("connect", "--tls", "-w", "1", "127.0.0.1", str(srv.getsockname()[1]))
        took = time.monotonic() - start
        self.assertOneLineError(r, 2, "timed out")
        self.assertGreater(took, 0.8)
        self.assertLess(took, 5)

    def test_big_exchange_with_python_ssl_server(self):
        """2 MiB up, echoed back by Python's ssl server, compared by hash."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(CERTS["srv"], CERTS["srv_key"])
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(TIMEOUT)
        self.closers.append(srv.close)

        def serve():
            conn, _ = srv.accept()
            conn.settimeout(TIMEOUT)
            with ctx.wrap_socket(conn, server_side=True) as tls:
                while True:
                    b = tls.recv(65536)
                    if not b:
                        break
                    tls.sendall(b)
                tls.unwrap()  # answers sockit's close_notify with ours

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        data = os.urandom(2 * 1024 * 1024)
        r = run("connect", "--tls", "--cacert", CERTS["ca"], "-w", "20", "localhost",
                str(srv.getsockname()[1]), stdin=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), len(data))
        self.assertEqual(sha(r.stdout), sha(data))
        t.join(TIMEOUT)

    def test_server_closes_without_close_notify(self):
        """Many servers close TCP without close_notify (Python's does, unless unwrap): like
        `openssl s_client` and Python's suppress_ragged_eofs, that is the end of the stream."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(CERTS["srv"], CERTS["srv_key"])
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(TIMEOUT)
        self.closers.append(srv.close)

        def serve():
            conn, _ = srv.accept()
            conn.settimeout(TIMEOUT)
            tls = ctx.wrap_socket(conn, server_side=True)
            tls.sendall(b"bye\n")
            tls.close()  # no close_notify

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        c = self.child([BIN, "connect", "--tls", "--cacert", CERTS["ca"], "-w", "10",
                        "localhost", str(srv.getsockname()[1])])  # stdin stays open
        self.assertEqual(c.out.wait_for(lambda d: d == b"bye\n"), b"bye\n")
        # The peer's end ends what sockit receives; its own input still decides the rest
        # (the close_notify sent then to a closed peer is no failure).
        c.p.stdin.close()
        self.assertEqual(c.p.wait(TIMEOUT), 0, c.err.wait_for(lambda d: False, 1))
        self.assertEqual(c.out.wait_for(lambda d: False, 1), b"bye\n")
        t.join(TIMEOUT)

    def test_usage_errors(self):
        r = run("connect", "--cacert", CERTS["ca"], "127.0.0.1", "1")
        self.assertEqual(r.returncode, 1)

    def test_unreadable_cacert_is_a_local_file_error(self):
        # Exit 5 as for echo --cert, and before any connect (port 1 is refused: it is not reached).
        r = run("connect", "--tls", "--cacert", "/nonexistent/ca.pem", "127.0.0.1", "1")
        self.assertOneLineError(r, 5, "/nonexistent/ca.pem")
        r = run("connect", "--tls", "--cacert", CERTS["srv_key"], "127.0.0.1", "1")
        self.assertOneLineError(r, 5, CERTS["srv_key"])  # readable, but no certificate in it


# ---- sockit echo --tls ---------------------------------------------------------------------------

class TestEchoTLS(Base):
    def client_ctx(self):
        ctx = ssl.create_default_context(cafile=CERTS["ca"])
        return ctx

    def test_python_ssl_client(self):
        _, port = self.echo_tls()
        data = os.urandom(1024 * 1024)
        with socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT) as raw:
            with self.client_ctx().wrap_socket(raw, server_hostname="localhost") as tls:
                self.assertEqual(tls.version(), "TLSv1.3")
                got = bytearray()
                # 64 KiB at a time, each read back before the next: one SSLSocket must not be
                # read and written by two threads at once (OpenSSL's SSL objects are not).
                for off in range(0, len(data), 65536):
                    tls.sendall(data[off:off + 65536])
                    while len(got) < off + 65536:
                        b = tls.recv(65536)
                        if not b:
                            break
                        got += b
                self.assertEqual(len(got), len(data))
                self.assertEqual(sha(bytes(got)), sha(data))

    def test_many_python_clients(self):
        _, port = self.echo_tls()
        results = []

        def one(i):
            msg = ("client %d\n" % i).encode() * 100
            with socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT) as raw:
                with self.client_ctx().wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(msg)
                    got = b""
                    while len(got) < len(msg):
                        b = tls.recv(65536)
                        if not b:
                            break
                        got += b
                    results.append(got == msg)

        ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(20)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(TIMEOUT)
        self.assertEqual(results, [True] * 20)

    def test_openssl_s_client(self):
        _, port = self.echo_tls()
        c = self.child(["openssl", "s_client", "-connect", "127.0.0.1:" + port, "-CAfile",
                        CERTS["ca"], "-verify_return_error", "-verify_hostname", "localhost",
                        "-quiet"])
        c.send(b"hello from s_client\n")
        out = c.out.wait_for(lambda d: b"hello from s_client\n" in d)
        self.assertEqual(out, b"hello from s_client\n", c.err.data)

    def test_sockit_connect_to_sockit_echo(self):
        _, port = self.echo_tls()
        data = os.urandom(256 * 1024)
        r = run("connect", "--tls", "--cacert", CERTS["ca"], "-w", "10", "localhost", port,
                stdin=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sha(r.stdout), sha(data))

    def test_plaintext_and_garbage_clients_do_not_disturb(self):
        c, port = self.echo_tls()
        for junk in (b"GET / HTTP/1.0\r\n\r\n", os.urandom(4096)):
            with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as s:
                s.sendall(junk)
                try:
                    got = s.recv(4096)
                except ConnectionResetError:
                    got = b""
                # Closed with nothing sent — or, when the random bytes happen to look enough like
                # a TLS record (1 run in ~30), with one TLS alert record first: never any data.
                is_alert = len(got) == 7 and got[:2] == b"\x15\x03" and got[3:5] == b"\x00\x02"
                self.assertTrue(got == b"" or is_alert, got)
        with socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT) as raw:
            with self.client_ctx().wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"still here\n")
                self.assertEqual(tls.recv(100), b"still here\n")
        self.assertIsNone(c.p.poll())  # the server lives on
        err = c.err.wait_for(lambda d: b"tls handshake failed" in d, 5)
        self.assertIn(b"tls handshake failed", err)

    def test_bad_cert_path(self):
        r = run("echo", "--tls", "--cert", "/nonexistent/cert.pem", "--key", CERTS["srv_key"],
                "127.0.0.1", "0", timeout=10)
        self.assertOneLineError(r, 5, "/nonexistent/cert.pem")

    def test_bad_key_path(self):
        r = run("echo", "--tls", "--cert", CERTS["srv"], "--key", "/nonexistent/key.pem",
                "127.0.0.1", "0", timeout=10)
        self.assertOneLineError(r, 5, "/nonexistent/key.pem")

    def test_key_not_matching(self):
        r = run("echo", "--tls", "--cert", CERTS["srv"], "--key", CERTS["other_key"],
                "127.0.0.1", "0", timeout=10)
        self.assertOneLineError(r, 5, CERTS["other_key"])

    def test_usage(self):
        r = run("echo", "--tls", "127.0.0.1", "0", timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"--cert", r.stderr)
        r = run("echo", "--cert", CERTS["srv"], "--key", CERTS["srv_key"], "127.0.0.1", "0",
                timeout=10)
        self.assertEqual(r.returncode, 1)


# ---- sockit echo: finite timeouts by default -----------------------------------------------------

class TestEchoTimeouts(Base):
    """A client that connects and says nothing, or stalls its TLS handshake, is closed: the
    defaults are finite (shown in --help), and small explicit values show that they act."""

    def echo(self, *extra):
        c = self.child([BIN, "echo", *extra, "127.0.0.1", "0"])
        err = c.err.wait_for(lambda d: b"\n" in d).decode(errors="replace")
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)\n", err)
        if not m:
            raise AssertionError("no 'listening on' line; stderr: %r" % err)
        return c, int(m.group(1))

    def assertClosedWithin(self, sock, low, high):
        """The server closes sock (end of stream or reset) no sooner than low seconds and
        before high (a bound, not a measurement)."""
        start = time.monotonic()
        sock.settimeout(high)
        try:
            got = sock.recv(100)
        except ConnectionResetError:
            got = b""
        elapsed = time.monotonic() - start
        self.assertEqual(got, b"")
        self.assertGreaterEqual(elapsed, low)
        self.assertLess(elapsed, high)

    def test_defaults_are_finite_and_shown(self):
        r = run("echo", "--help")
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        self.assertRegex(out, r"-f SECS[^\n]*\n[^\n]*\(default: 30; 0: as -i\)")
        self.assertRegex(out, r"-i SECS[^\n]*\(default: 300; 0: never\)")

    def test_silent_tcp_client_is_closed(self):
        _, port = self.echo("-f", "0.5")
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            self.assertClosedWithin(s, 0.4, 15)

    def test_idle_client_is_closed_after_traffic(self):
        _, port = self.echo("-i", "0.5", "-f", "60")
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(b"ping\n")
            self.assertEqual(s.recv(100), b"ping\n")
            self.assertClosedWithin(s, 0.4, 15)

    def test_stalled_tls_handshake_is_closed(self):
        _, port = self.echo_tls("-f", "0.5")
        with socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT) as s:
            s.sendall(b"\x16\x03\x01\x02\x00\x01")  # a ClientHello's first bytes, then nothing
            self.assertClosedWithin(s, 0.4, 15)
        with socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT) as s:
            self.assertClosedWithin(s, 0.4, 15)  # and one that sends nothing at all

    def test_values(self):
        r = run("echo", "-t", "100000", "127.0.0.1", "0", timeout=10)
        self.assertOneLineError(r, 1, "-t", "1024")
        r = run("echo", "-f", "x", "127.0.0.1", "0", timeout=10)
        self.assertOneLineError(r, 1, "-f")
        c, port = self.echo("-f", "0", "-i", "0", "-t", "1024")  # 0: none; 1024 is allowed
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            s.sendall(b"x")
            self.assertEqual(s.recv(10), b"x")


def main():
    global TMP
    if not os.access(BIN, os.X_OK):
        print("sockit binary not found at %s (set SOCKIT_BIN)" % BIN)
        print("0 passed, 1 failed")
        return 1
    if shutil.which("openssl") is None:
        print("the openssl command is needed")
        print("0 passed, 1 failed")
        return 1
    TMP = tempfile.mkdtemp(prefix="sockit-tls-cli-")
    try:
        make_certs(TMP)
        suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
        result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    if result.skipped:
        print("%d skipped" % len(result.skipped))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
