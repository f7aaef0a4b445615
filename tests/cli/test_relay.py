#!/usr/bin/env python3
"""The relay of `sockit connect` and `sockit listen`: nothing is lost when a peer half-closes,
a real failure is not exit 0, and closed standard descriptors are not taken over by the socket.

A peer's end of stream ends the receiving direction only; the relay keeps sending its input
until that input ends, as nc, `nc -N` and socat do: every test here moves 10,000,000 bytes and
compares checksums (one against OpenBSD nc itself, when it is installed). Run by ctest with SOCKIT_BIN set; by hand:
SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_relay.py
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import BIN, TIMEOUT, Base, main, port_of, recv_all, sha  # noqa: E402

SIZE = 10_000_000


def greeter(test, shut_first=False):
    """A server that greets (then, shut_first, shuts down its sending side), then returns
    everything it receives up to the end of stream. Returns the thread and the port."""
    srv, port = test.server()

    def peer():
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(TIMEOUT)
            conn.sendall(b"220 hello\n")
            if shut_first:
                conn.shutdown(socket.SHUT_WR)
            return recv_all(conn)

    return test.thread(peer), port


class HalfCloseTest(Base):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.src = os.path.join(cls.tmp.name, "src")
        cls.data = os.urandom(SIZE)
        with open(cls.src, "wb") as f:
            f.write(cls.data)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def connect(self, port, *args):
        """sockit connect with the 10 MB file as standard input, run to completion."""
        with open(self.src, "rb") as f:
            return subprocess.run([BIN, "connect", *args, "127.0.0.1", str(port)], stdin=f,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT * 4)

    def test_listen_with_ended_input_to_connect(self):
        # sockit listen 127.0.0.1 0 > dst (input at its end) and sockit connect < src: listen
        # shuts down its side at once, and connect must still send everything.
        dst = os.path.join(self.tmp.name, "dst")
        with open(dst, "wb") as out:
            lis = subprocess.Popen([BIN, "listen", "127.0.0.1", "0"], stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.PIPE)
        try:
            line = lis.stderr.readline().decode()
            self.assertTrue(line.startswith("listening on "), line)
            r = self.connect(port_of(line.split()[2]))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"")
            self.assertEqual(lis.wait(TIMEOUT), 0)
        finally:
            if lis.poll() is None:
                lis.kill()
            lis.wait(10)
            lis.stderr.close()
        with open(dst, "rb") as f:
            got = f.read()
        self.assertEqual(len(got), SIZE)
        self.assertEqual(sha(got), sha(self.data))

    @unittest.skipUnless(shutil.which("nc"), "no nc (netcat-openbsd) to compare with")
    def test_same_delivery_as_nc(self):
        # The reference: OpenBSD nc -N in sockit connect's place, against a server that
        # half-closes first and then reads. Both deliver every byte.
        def deliver(argv):
            t, port = greeter(self, shut_first=True)
            with open(self.src, "rb") as f:
                r = subprocess.run(argv + ["127.0.0.1", str(port)], stdin=f,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=TIMEOUT * 4)
            return r.returncode, r.stdout, sha(self.result(t))

        want = (0, b"220 hello\n", sha(self.data))
        self.assertEqual(deliver(["nc", "-N"]), want)
        self.assertEqual(deliver([BIN, "connect"]), want)

    def test_server_that_shuts_down_first_then_reads(self):
        t, port = greeter(self, shut_first=True)
        r = self.connect(port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"220 hello\n")
        got = self.result(t)
        self.assertEqual(len(got), SIZE)
        self.assertEqual(sha(got), sha(self.data))

    def test_listen_keeps_sending_after_the_client_shuts_down(self):
        with open(self.src, "rb") as f:
            c = self.child("listen", "127.0.0.1", "0", stdin=f)
        s = self.sock()
        s.connect(("127.0.0.1", port_of(c.listening())))
        s.sendall(b"request\n")
        s.shutdown(socket.SHUT_WR)
        got = recv_all(s)
        self.assertEqual(c.wait(), 0, c.err.wait_eof())
        self.assertEqual(c.out.wait_eof(), b"request\n")
        self.assertEqual(len(got), SIZE)
        self.assertEqual(sha(got), sha(self.data))

    def test_reset_while_sending_is_a_failure(self):
        # The server half-closes, reads a little and resets: the rest cannot arrive, and
        # sockit must say so (exit 2), not exit 0 as if everything went out.
        srv = self.sock()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # accepted sockets inherit it
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)

        def peer():
            conn, _ = srv.accept()
            conn.settimeout(TIMEOUT)
            conn.shutdown(socket.SHUT_WR)
            n = 0
            while n < 65536:
                n += len(conn.recv(65536))
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            conn.close()  # with linger 0: a reset

        t = self.thread(peer)
        r = self.connect(srv.getsockname()[1])
        self.result(t)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 2, err)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertTrue(err.startswith("sockit: send to 127.0.0.1:"), err)


class ClosedStdFdsTest(Base):
    """`sockit connect ... <&-`: the socket must not become standard input or output."""

    def closed(self, redirect, *args, stdin=b""):
        return subprocess.run(["sh", "-c", 'exec "$@" ' + redirect, "sh", BIN, *args],
                              input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TIMEOUT)

    def test_closed_stdin(self):
        t, port = greeter(self)
        r = self.closed("<&-", "connect", "127.0.0.1", str(port))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.result(t), b"")  # not its own greeting sent back
        self.assertEqual(r.stdout, b"220 hello\n")

    def test_closed_stdout(self):
        t, port = greeter(self)
        r = self.closed(">&-", "connect", "127.0.0.1", str(port), stdin=b"up\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.result(t), b"up\n")  # the greeting was not written to the socket

    def test_closed_stdin_and_stderr_with_an_error(self):
        t, port = greeter(self)
        r = self.closed("<&- 2>&-", "connect", "127.0.0.1", str(port))
        self.assertEqual(r.returncode, 0)
        self.assertEqual(self.result(t), b"")
        self.assertEqual(r.stdout, b"220 hello\n")
        r = self.closed("<&- 2>&-", "connect", "127.0.0.1", "70000")
        self.assertEqual(r.returncode, 1)

    def test_closed_stdin_for_listen(self):
        p = subprocess.Popen(["sh", "-c", 'exec "$@" <&-', "sh", BIN, "listen", "127.0.0.1", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = p.stderr.readline().decode()
            s = self.sock()
            s.connect(("127.0.0.1", port_of(line.split()[2])))
            s.sendall(b"to listen\n")
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(recv_all(s), b"")  # listen has no input: nothing comes back
            self.assertEqual(p.wait(TIMEOUT), 0)
            self.assertEqual(p.stdout.read(), b"to listen\n")
        finally:
            if p.poll() is None:
                p.kill()
            p.wait(10)
            p.stdout.close()
            p.stderr.close()


if __name__ == "__main__":
    sys.exit(main())
