#!/usr/bin/env python3
"""End-to-end tests of the `sockit` command: --help/--version, resolve, connect, listen.

Real peers are Python sockets on loopback with port 0 (never a fixed port). Every wait is
bounded (subprocess and socket timeouts), every child is killed in tearDown. Run by ctest with
SOCKIT_BIN set; by hand: SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_cli.py
The last line printed is "N passed, N failed"; the exit status is non-zero on any failure.
"""
import hashlib
import os
import re
import signal
import socket
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
LINE = re.compile(r"^(inet|inet6|unix) (stream|dgram) (\S+)$")


def run(*args, stdin=b"", timeout=TIMEOUT):
    """Runs sockit to completion with stdin as input; returns the CompletedProcess."""
    return subprocess.run([BIN, *args], input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
                if not chunk:
                    self.eof = True
                else:
                    self.data += chunk
                self.cond.notify_all()
            if not chunk:
                return

    def wait_for(self, pred, timeout=TIMEOUT):
        """Waits until pred(data) is true (or EOF); returns the data so far as bytes."""
        with self.cond:
            self.cond.wait_for(lambda: pred(bytes(self.data)) or self.eof, timeout)
            return bytes(self.data)

    def wait_eof(self, timeout=TIMEOUT):
        with self.cond:
            self.cond.wait_for(lambda: self.eof, timeout)
            return bytes(self.data)


class Child:
    """A running sockit with its stdout and stderr collected."""

    def __init__(self, *args, stdin=subprocess.PIPE):
        self.p = subprocess.Popen([BIN, *args], stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.out = Pipe(self.p.stdout)
        self.err = Pipe(self.p.stderr)

    def listening(self, timeout=TIMEOUT):
        """Waits for the 'listening on ADDR' line; returns ADDR."""
        err = self.err.wait_for(lambda d: b"\n" in d, timeout).decode(errors="replace")
        m = re.match(r"listening on (\S+)\n", err)
        if not m:
            raise AssertionError("no 'listening on' line; stderr: %r" % err)
        return m.group(1)

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def close_stdin(self):
        if self.p.stdin:
            self.p.stdin.close()

    def wait(self, timeout=TIMEOUT):
        return self.p.wait(timeout)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(10)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            if f:
                try:
                    f.close()
                except OSError:
                    pass


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


class Base(unittest.TestCase):
    def setUp(self):
        self.children = []
        self.threads = []
        self.socks = []

    def tearDown(self):
        for c in self.children:
            c.kill()
        for s in self.socks:
            s.close()
        for t in self.threads:
            t.join(TIMEOUT)

    def child(self, *args, stdin=subprocess.PIPE):
        c = Child(*args, stdin=stdin)
        self.children.append(c)
        return c

    def sock(self, *args):
        s = socket.socket(*args)
        s.settimeout(TIMEOUT)
        self.socks.append(s)
        return s

    def thread(self, fn, *args):
        """Runs fn in a thread; the result (or exception) is checked with self.result(t)."""
        box = {}

        def body():
            try:
                box["value"] = fn(*args)
            except BaseException as e:  # handed to the test thread
                box["error"] = e

        t = threading.Thread(target=body, daemon=True)
        t.box = box
        t.start()
        self.threads.append(t)
        return t

    def result(self, t):
        t.join(TIMEOUT)
        self.assertFalse(t.is_alive(), "peer thread still running")
        if "error" in t.box:
            raise t.box["error"]
        return t.box.get("value")

    def server(self, family=socket.AF_INET, host="127.0.0.1"):
        s = self.sock(family, socket.SOCK_STREAM)
        s.bind((host, 0))
        s.listen(8)
        return s, s.getsockname()[1]

    def assertOneLineError(self, r, status, *needles):
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, status, "stderr: %r" % err)
        self.assertEqual(err.count("\n"), 1, "not one line: %r" % err)
        self.assertTrue(err.startswith("sockit"), err)
        for n in needles:
            self.assertIn(n, err)
        return err


def recv_all(conn):
    chunks = []
    while True:
        b = conn.recv(65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


# ---- the command itself --------------------------------------------------------------------------

class TestCommand(Base):
    def test_help_lists_commands_each_with_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        self.assertTrue(out.startswith("usage: sockit"), out)
        names = re.findall(r"^  (\w+) ", out, re.M)
        for name in ("resolve", "connect", "listen"):
            self.assertIn(name, names)
        for name in names:  # everything listed exists and has its own help
            r = run(name, "--help")
            self.assertEqual(r.returncode, 0, name)
            self.assertTrue(r.stdout.decode().startswith("usage: sockit " + name), name)
            self.assertEqual(r.stderr, b"")

    def test_version(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode(), r"^sockit \d+\.\d+\.\d+\S*\n$")

    def test_no_command(self):
        self.assertOneLineError(run(), 1, "--help")

    def test_unknown_command(self):
        self.assertOneLineError(run("nosuchcommand"), 1, "nosuchcommand", "--help")

    def test_help_command(self):
        r = run("help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, run("--help").stdout)
        for name in ("connect", "listen", "resolve", "echo"):
            with self.subTest(name=name):
                r = run("help", name)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, run(name, "--help").stdout)
        self.assertOneLineError(run("help", "nosuch"), 1, "nosuch")

    def test_planned_commands_say_not_built_yet(self):
        for name in ("http",):
            with self.subTest(name=name):
                err = self.assertOneLineError(run(name, "get", "http://127.0.0.1/"), 1,
                                              "not built yet")
                self.assertIn(name, err)
                self.assertNotIn("unknown", err)

    def test_long_option_with_a_value_it_does_not_take(self):
        for cmd in ("connect", "listen", "resolve", "echo"):
            with self.subTest(cmd=cmd):
                self.assertOneLineError(run(cmd, "--help=foo"), 1, "'--help'",
                                        "takes no argument")
        self.assertOneLineError(run("connect", "--tls=1", "h", "1"), 1, "'--tls'")
        # A short option after a long one is still named as the short one.
        self.assertOneLineError(run("connect", "--tls", "-Zu", "h", "1"), 1, "'-Z'")

    def test_unknown_flags(self):
        self.assertOneLineError(run("--bogus"), 1, "--bogus")
        self.assertOneLineError(run("connect", "--bogus", "127.0.0.1", "1"), 1, "--bogus",
                                "sockit connect --help")
        self.assertOneLineError(run("resolve", "-x", "localhost"), 1, "-x", "--help")
        self.assertOneLineError(run("listen", "-uZ", "0"), 1, "-Z", "--help")

    def test_missing_arguments(self):
        for args in (("resolve",), ("connect",), ("connect", "127.0.0.1"), ("listen",),
                     ("connect", "127.0.0.1", "1", "-w"), ("connect", "--unix"),
                     ("resolve", "a", "b", "c")):
            with self.subTest(args=args):
                self.assertOneLineError(run(*args), 1, "--help")

    def test_bad_timeout(self):
        for w in ("abc", "0", "-1", "1x", "", "nan"):
            with self.subTest(w=w):
                self.assertOneLineError(run("connect", "-w", w, "127.0.0.1", "1"), 1, "-w")

    def test_every_failure_is_one_full_sentence(self):
        # "sockit: " and a sentence with its context: never empty, never a bare "error", never
        # an older failure's message (connect to localhost tries ::1 first and fails there).
        busy, busy_port = self.server()
        cases = [
            (("connect", "127.0.0.1", str(free_closed_port())), 2, "Connection refused"),
            (("connect", "--unix", "/nonexistent/x"), 2, "/nonexistent/x"),
            (("listen", "127.0.0.1", str(busy_port)), 2, "Address already in use"),
            (("listen", "--unix", "/nonexistent/x"), 2, "/nonexistent/x"),
            (("echo", "--unix", "/nonexistent/x"), 2, "/nonexistent/x"),
            (("echo", "127.0.0.1", str(busy_port)), 2, "Address already in use"),
            (("resolve", "nosuch.invalid"), 2, "nosuch.invalid"),
            (("connect", "127.0.0.1", "99999"), 1, "99999"),
        ]
        for args, status, needle in cases:
            with self.subTest(args=args):
                err = self.assertOneLineError(run(*args, timeout=10), status, needle)
                self.assertRegex(err, r"^sockit( \w+)?: \S.*\S\n$")
                self.assertNotIn(": :", err)
                self.assertNotRegex(err, r"(?i)^sockit: error\b")

    def test_tls_refused_is_a_network_error(self):
        # TLS comes after the connect: a refused port is still exit 2 with the connect message.
        r = run("connect", "--tls", "-k", "127.0.0.1", "1")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"Connection refused", r.stderr)

    def test_tls_to_plain_server_is_a_protocol_error(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        def answer():
            c, _ = srv.accept()
            c.recv(4096)
            c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
            c.close()
        t = threading.Thread(target=answer)
        t.start()
        r = run("connect", "-w", "5", "--tls", "-k", "127.0.0.1", str(port))
        t.join(10)
        srv.close()
        self.assertOneLineError(r, 3, "sockit: tls handshake with 127.0.0.1: the peer is not speaking TLS")


# ---- resolve -------------------------------------------------------------------------------------

class TestResolve(Base):
    def lines(self, *args):
        r = run("resolve", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode().splitlines()
        self.assertTrue(out)
        for line in out:
            self.assertRegex(line, LINE)
        return out

    def test_ipv4(self):
        self.assertEqual(self.lines("127.0.0.1", "80"), ["inet stream 127.0.0.1:80"])

    def test_ipv6_dgram(self):
        self.assertEqual(self.lines("-u", "::1", "53"), ["inet6 dgram [::1]:53"])

    def test_no_port(self):
        self.assertEqual(self.lines("127.0.0.1"), ["inet stream 127.0.0.1:0"])

    def test_service_name(self):
        self.assertEqual(self.lines("127.0.0.1", "http"), ["inet stream 127.0.0.1:80"])

    def test_localhost_matches_python(self):
        want = set()
        for fam, _, _, _, sa in socket.getaddrinfo("localhost", 80, 0, socket.SOCK_STREAM):
            want.add("inet stream %s:80" % sa[0] if fam == socket.AF_INET
                     else "inet6 stream [%s]:80" % sa[0])
        got = self.lines("localhost", "80")
        self.assertEqual(set(got), want)
        self.assertEqual(len(got), len(set(got)), "duplicates")

    def test_family_filter(self):
        for line in self.lines("-4", "localhost", "80"):
            self.assertTrue(line.startswith("inet "), line)
        r = run("resolve", "-6", "127.0.0.1", "80")  # an IPv4 literal has no IPv6 address
        self.assertOneLineError(r, 1, "127.0.0.1")
        self.assertOneLineError(run("resolve", "-4", "-6", "localhost"), 1, "-4", "-6")

    def test_bad_port(self):
        # Wrong without asking the network: usage errors (1) naming the value.
        self.assertOneLineError(run("resolve", "127.0.0.1", "70000"), 1, "70000")
        self.assertOneLineError(run("resolve", "127.0.0.1", "nosuchservice"), 1, "nosuchservice")

    def test_unresolvable(self):
        self.assertOneLineError(run("resolve", "nosuch.invalid", "80"), 2, "nosuch.invalid")


# ---- connect -------------------------------------------------------------------------------------

class TestConnect(Base):
    def test_request_reply(self):
        srv, port = self.server()

        def peer():
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                data = recv_all(conn)  # sockit shuts down its side at end of input
                conn.sendall(b"got " + sha(data).encode() + b"\n")
                return data

        t = self.thread(peer)
        data = os.urandom(3 << 20)
        r = run("connect", "127.0.0.1", str(port), stdin=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.result(t), data)
        self.assertEqual(r.stdout, b"got " + sha(data).encode() + b"\n")
        self.assertEqual(r.stderr, b"")

    def test_both_directions_at_once(self):
        srv, port = self.server()
        down = os.urandom(3 << 20)

        def peer():
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                sender = threading.Thread(target=conn.sendall, args=(down,), daemon=True)
                sender.start()
                data = recv_all(conn)
                sender.join(TIMEOUT)
                return data  # closing now ends sockit

        t = self.thread(peer)
        up = os.urandom(3 << 20)
        r = run("connect", "127.0.0.1", str(port), stdin=up)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sha(self.result(t)), sha(up))
        self.assertEqual(sha(r.stdout), sha(down))

    def test_echo_no_deadlock(self):
        # The server echoes as it reads: sockit must read while it writes, or both stall.
        srv, port = self.server()

        def peer():
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                while True:
                    b = conn.recv(65536)
                    if not b:
                        return
                    conn.sendall(b)

        t = self.thread(peer)
        data = os.urandom(4 << 20)
        r = run("connect", "-w", "10", "127.0.0.1", str(port), stdin=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.result(t)
        self.assertEqual(sha(r.stdout), sha(data))

    def test_peer_closes_first(self):
        srv, port = self.server()

        def peer():
            conn, _ = srv.accept()
            with conn:
                conn.sendall(b"bye\n")

        t = self.thread(peer)
        c = self.child("connect", "127.0.0.1", str(port))  # stdin stays open
        self.assertEqual(c.out.wait_for(lambda d: d == b"bye\n"), b"bye\n")
        self.result(t)
        # The peer's close ends only what sockit receives: it still waits for its input.
        with self.assertRaises(subprocess.TimeoutExpired):
            c.wait(0.3)
        c.close_stdin()
        self.assertEqual(c.wait(), 0)
        self.assertEqual(c.out.wait_eof(), b"bye\n")

    def test_closed_stdout_is_not_fatal(self):
        srv, port = self.server()

        def peer():
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                try:
                    for _ in range(256):
                        conn.sendall(b"x" * 65536)
                except OSError:
                    pass

        self.thread(peer)
        p = subprocess.Popen([BIN, "connect", "127.0.0.1", str(port)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertEqual(p.stdout.read(10), b"x" * 10)
            p.stdout.close()  # like `| head -c 10`
            self.assertEqual(p.wait(TIMEOUT), 0)  # not killed by SIGPIPE
        finally:
            if p.poll() is None:
                p.kill()
            p.wait(10)
            p.stdin.close()
            p.stderr.close()

    def test_signals_kill_connect(self):
        # Decided and documented: a client stopped by SIGINT/SIGTERM did not finish its
        # transfer, so it dies by the signal (the shell's 130/143), unlike the servers' 0.
        self.assertIn("status 130 or 143", run("connect", "--help").stdout.decode())
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(sig=sig):
                srv, port = self.server()
                accepted = threading.Event()
                conns = []
                self.thread(lambda: (conns.append(srv.accept()[0]), accepted.set()))
                p = subprocess.Popen([BIN, "connect", "127.0.0.1", str(port)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL))
                try:
                    self.assertTrue(accepted.wait(TIMEOUT))
                    p.send_signal(sig)
                    self.assertEqual(p.wait(TIMEOUT), -sig)
                finally:
                    if p.poll() is None:
                        p.kill()
                    p.wait(10)
                    for f in (p.stdin, p.stdout, p.stderr):
                        f.close()
                    for conn in conns:
                        conn.close()

    def test_localhost_tries_every_address(self):
        srv, port = self.server()  # IPv4 only: a ::1 from the resolver must be skipped
        t = self.thread(lambda: srv.accept()[0].close())
        r = run("connect", "-w", "10", "localhost", str(port))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.result(t)

    def test_refused(self):
        port = free_closed_port()
        err = self.assertOneLineError(run("connect", "127.0.0.1", str(port)), 2,
                                      "Connection refused")
        self.assertIn(str(port), err)

    def test_bad_port_and_host(self):
        self.assertOneLineError(run("connect", "127.0.0.1", "70000"), 1, "70000")
        self.assertOneLineError(run("connect", "127.0.0.1", "abc"), 1, "abc")
        self.assertOneLineError(run("connect", "1.2.3", "80"), 1, "1.2.3")
        self.assertOneLineError(run("connect", "-4", "-6", "127.0.0.1", "80"), 1, "-4", "-6")
        self.assertOneLineError(run("connect", "--unix", "/tmp/" + "x" * 200), 1, "107")
        # A name the resolver does not know needs the network to say so: exit 2.
        self.assertOneLineError(run("connect", "nosuch.invalid", "80"), 2, "nosuch.invalid")

    def test_idle_timeout(self):
        srv, port = self.server()
        conns = []
        t = self.thread(lambda: conns.append(srv.accept()[0]))  # accepts, then says nothing
        c = self.child("connect", "-w", "1", "127.0.0.1", str(port))  # stdin stays open
        start = time.monotonic()
        status = c.wait(15)
        elapsed = time.monotonic() - start
        self.result(t)
        for conn in conns:
            conn.close()
        self.assertEqual(status, 2)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 10)
        err = c.err.wait_eof().decode()
        self.assertIn("timed out", err)
        self.assertEqual(err.count("\n"), 1, err)

    def test_traffic_keeps_idle_timer_alive(self):
        srv, port = self.server()

        def peer():
            conn, _ = srv.accept()
            with conn:
                for i in range(4):  # 2 s in all, never 1 s of silence
                    conn.sendall(b"%d\n" % i)
                    time.sleep(0.5)

        t = self.thread(peer)
        c = self.child("connect", "-w", "1", "127.0.0.1", str(port), stdin=subprocess.DEVNULL)
        self.assertEqual(c.wait(), 0, c.err.wait_eof())
        self.result(t)
        self.assertEqual(c.out.wait_eof(), b"0\n1\n2\n3\n")

    @unittest.skipUnless(have_ipv6(), "no IPv6 loopback")
    def test_ipv6(self):
        srv, port = self.server(socket.AF_INET6, "::1")

        def peer():
            conn, addr = srv.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                return recv_all(conn), addr[0]

        t = self.thread(peer)
        r = run("connect", "-6", "::1", str(port), stdin=b"six\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.result(t), (b"six\n", "::1"))

    def test_family_mismatch(self):
        srv, port = self.server()
        self.assertOneLineError(run("connect", "-6", "127.0.0.1", str(port)), 1, "127.0.0.1")

    def test_udp(self):
        s = self.sock(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))

        def peer():
            data, addr = s.recvfrom(65536)
            s.sendto(b"reply to " + data, addr)
            return data

        t = self.thread(peer)
        r = run("connect", "-u", "-w", "1", "127.0.0.1", str(s.getsockname()[1]),
                stdin=b"hello\n")
        self.assertEqual(r.returncode, 0, r.stderr)  # silence after end of input is the end
        self.assertEqual(self.result(t), b"hello\n")
        self.assertEqual(r.stdout, b"reply to hello\n")

    def test_udp_without_wait_exits_after_input(self):
        s = self.sock(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        r = run("connect", "-u", "127.0.0.1", str(s.getsockname()[1]), stdin=b"one shot",
                timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(s.recvfrom(100)[0], b"one shot")

    def test_unix(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.sock")
            srv = self.sock(socket.AF_UNIX, socket.SOCK_STREAM)
            srv.bind(path)
            srv.listen(1)

            def peer():
                conn, _ = srv.accept()
                with conn:
                    conn.settimeout(TIMEOUT)
                    data = recv_all(conn)
                    conn.sendall(data.upper())
                    return data

            t = self.thread(peer)
            r = run("connect", "--unix", path, stdin=b"over unix\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.result(t), b"over unix\n")
            self.assertEqual(r.stdout, b"OVER UNIX\n")

    def test_unix_missing(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "nobody.sock")
            self.assertOneLineError(run("connect", "--unix", path), 2, path)

    def test_unix_dgram(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "d.sock")
            s = self.sock(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(path)

            def peer():
                data, addr = s.recvfrom(65536)
                s.sendto(data[::-1], addr)  # sockit autobound a name we can answer
                return data

            t = self.thread(peer)
            r = run("connect", "-u", "-w", "1", "--unix", path, stdin=b"abc")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(self.result(t), b"abc")
            self.assertEqual(r.stdout, b"cba")


# ---- listen --------------------------------------------------------------------------------------

class TestListen(Base):
    def connect_to(self, addr, family=socket.AF_INET):
        host, port = addr.rsplit(":", 1)
        s = self.sock(family, socket.SOCK_STREAM)
        s.connect((host.strip("[]"), int(port)))
        return s

    def test_exchange(self):
        c = self.child("listen", "127.0.0.1", "0")
        addr = c.listening()
        self.assertRegex(addr, r"^127\.0\.0\.1:\d+$")
        self.assertNotEqual(port_of(addr), 0)
        s = self.connect_to(addr)
        c.send(b"from server\n")
        got = b""
        while not got.endswith(b"\n"):
            got += s.recv(100)
        self.assertEqual(got, b"from server\n")
        s.sendall(b"from client\n")
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(c.out.wait_for(lambda d: d.endswith(b"\n")), b"from client\n")
        c.close_stdin()  # both directions ended: listen exits
        self.assertEqual(c.wait(), 0)

    def test_binary_both_ways(self):
        c = self.child("listen", "127.0.0.1", "0")
        s = self.connect_to(c.listening())
        up, down = os.urandom(2 << 20), os.urandom(2 << 20)
        feeder = threading.Thread(target=lambda: (c.send(down), c.close_stdin()), daemon=True)
        feeder.start()
        self.threads.append(feeder)
        t = self.thread(recv_all, s)  # ends when sockit shuts down its side (end of input)
        s.sendall(up)
        self.assertEqual(sha(self.result(t)), sha(down))
        s.close()
        self.assertEqual(c.wait(), 0)
        self.assertEqual(sha(c.out.wait_eof()), sha(up))

    def test_wildcard_default(self):
        c = self.child("listen", "0", stdin=subprocess.DEVNULL)
        addr = c.listening()
        self.assertRegex(addr, r"^(\[::\]|0\.0\.0\.0):\d+$")
        s = self.sock()
        s.connect(("127.0.0.1", port_of(addr)))
        s.sendall(b"via v4\n")
        s.close()
        self.assertEqual(c.wait(), 0)
        self.assertEqual(c.out.wait_eof(), b"via v4\n")

    def test_keep_two_clients(self):
        c = self.child("listen", "-k", "127.0.0.1", "0", stdin=subprocess.DEVNULL)
        addr = c.listening()
        for i, word in enumerate((b"one\n", b"two\n")):
            s = self.connect_to(addr)
            s.sendall(word)
            self.assertEqual(s.recv(10), b"")  # no input: sockit's side is shut down
            s.close()
            want = b"one\n" if i == 0 else b"one\ntwo\n"
            self.assertEqual(c.out.wait_for(lambda d: d == want, 10), want)
        s = self.connect_to(addr)  # a third peer is still served: -k keeps listening
        self.assertEqual(s.recv(10), b"")
        self.assertIsNone(c.p.poll(), "-k must keep listening")
        c.p.send_signal(signal.SIGTERM)
        self.assertEqual(c.wait(10), 0)

    def test_sigterm_while_waiting(self):
        c = self.child("listen", "127.0.0.1", "0")
        c.listening()
        c.p.send_signal(signal.SIGTERM)
        self.assertEqual(c.wait(10), 0)
        self.assertEqual(c.err.wait_eof().count(b"\n"), 1)  # nothing after the ready line

    def test_sigint_during_relay(self):
        c = self.child("listen", "127.0.0.1", "0")
        s = self.connect_to(c.listening())
        s.sendall(b"hi\n")
        self.assertEqual(c.out.wait_for(lambda d: d == b"hi\n", 10), b"hi\n")
        c.p.send_signal(signal.SIGINT)
        self.assertEqual(c.wait(10), 0)
        self.assertEqual(s.recv(10), b"")  # the connection was closed

    def test_bind_in_use(self):
        srv, port = self.server()
        r = run("listen", "127.0.0.1", str(port), timeout=10)
        self.assertOneLineError(r, 2, "Address already in use")

    def test_bad_port(self):
        self.assertOneLineError(run("listen", "70000", timeout=10), 1, "70000")
        self.assertOneLineError(run("listen", "1.2.3", "0", timeout=10), 1, "1.2.3")
        self.assertOneLineError(run("listen", "--unix", "/tmp/" + "x" * 200, timeout=10), 1,
                                "107")

    def test_udp(self):
        c = self.child("listen", "-u", "127.0.0.1", "0")
        addr = c.listening()
        s = self.sock(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"ping\n", ("127.0.0.1", port_of(addr)))
        self.assertEqual(c.out.wait_for(lambda d: d == b"ping\n", 10), b"ping\n")
        c.send(b"pong\n")
        data, frm = s.recvfrom(100)
        self.assertEqual(data, b"pong\n")
        self.assertEqual(frm[1], port_of(addr))
        c.p.send_signal(signal.SIGTERM)
        self.assertEqual(c.wait(10), 0)

    def test_unix(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "l.sock")
            c = self.child("listen", "--unix", path)
            self.assertEqual(c.listening(), path)
            s = self.sock(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            c.send(b"to client\n")
            c.close_stdin()
            self.assertEqual(recv_all(s), b"to client\n")
            s.sendall(b"to server\n")
            s.close()
            self.assertEqual(c.wait(), 0)
            self.assertEqual(c.out.wait_eof(), b"to server\n")
            self.assertFalse(os.path.exists(path), "socket file left behind")

    def test_unix_dgram(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ld.sock")
            c = self.child("listen", "-u", "--unix", path)
            self.assertEqual(c.listening(), path)
            s = self.sock(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(os.path.join(d, "client.sock"))
            s.sendto(b"dgram\n", path)
            self.assertEqual(c.out.wait_for(lambda x: x == b"dgram\n", 10), b"dgram\n")
            c.send(b"back\n")
            self.assertEqual(s.recv(100), b"back\n")
            c.p.send_signal(signal.SIGTERM)
            self.assertEqual(c.wait(10), 0)

    @unittest.skipUnless(have_ipv6(), "no IPv6 loopback")
    def test_ipv6(self):
        c = self.child("listen", "::1", "0")
        addr = c.listening()
        self.assertRegex(addr, r"^\[::1\]:\d+$")
        s = self.connect_to(addr, socket.AF_INET6)
        c.send(b"v6\n")
        c.close_stdin()
        self.assertEqual(recv_all(s), b"v6\n")
        s.close()
        self.assertEqual(c.wait(), 0)

    @unittest.skipUnless(have_ipv6(), "no IPv6 loopback")
    def test_listen_and_connect_together(self):
        # sockit to sockit over [::1]: the two halves agree with each other too.
        c = self.child("listen", "[::1]", "0")
        addr = c.listening()
        c.send(b"hello connect\n")
        c.close_stdin()
        host, port = addr.rsplit(":", 1)
        r = run("connect", "-w", "10", host.strip("[]"), port, stdin=b"hello listen\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"hello connect\n")
        self.assertEqual(c.wait(), 0)
        self.assertEqual(c.out.wait_eof(), b"hello listen\n")


def main(module="__main__"):
    """Runs the tests of module (another test file imports this one and passes its own)."""
    if not os.access(BIN, os.X_OK):
        print("sockit binary not found at %s (set SOCKIT_BIN)" % BIN)
        print("0 passed, 1 failed")
        return 1
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    if result.skipped:
        print("%d skipped" % len(result.skipped))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
