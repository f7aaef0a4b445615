#!/usr/bin/env python3
"""End-to-end tests of examples/*.c against Python's socket module, both ways.

Each example server is driven by a Python client, each example client talks to a Python server,
and each pair talks to itself: the tutorial's TCP server and client, the UDP echo pair and the
Unix-domain echo pair. Servers bind port 0 and the tests read the port from their `listening on
ADDR` line. Every wait is bounded (WAIT seconds) and every child is killed and reaped when its
test ends, passed or not.

SOCKIT_EXAMPLES names the directory of the example binaries (ctest sets it); without it the tests
look in build/examples of this checkout. Prints "N passed, N failed" last; exits 1 on a failure.
"""
import os
import queue
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.environ.get("SOCKIT_EXAMPLES") or os.path.join(HERE, "..", "..", "build", "examples")
WAIT = 10.0  # seconds: the bound on every wait in these tests
THANKS = b"Thank you for connecting"  # what the tutorial's server sends


def exe(name):
    path = os.path.join(EXAMPLES, name)
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is not built (set SOCKIT_EXAMPLES to the examples directory)")
    return path


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


IPV6 = have_ipv6()


def recv_all(sock):
    """Everything until the peer closes (the socket's timeout bounds each recv)."""
    chunks = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def port_of(addr):
    """The port of a sockit_addr_format string: "0.0.0.0:80", "[::]:80"."""
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        raise AssertionError(f"not HOST:PORT: {addr!r}")
    return int(port)


def run(name, *args, timeout=WAIT):
    """Runs an example to its end (killed if it outlives timeout); returns CompletedProcess."""
    return subprocess.run([exe(name), *args], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout)


class Child:
    """An example server in the background. Its stdout and stderr lines are read by threads into
    queues, so no pipe fills up and every wait for a line has a deadline."""

    def __init__(self, name, *args):
        self.name = name
        self.proc = subprocess.Popen([exe(name), *args], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out, self.err = queue.Queue(), queue.Queue()
        self.err_seen = []
        for pipe, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(pipe, q), daemon=True).start()

    @staticmethod
    def _pump(pipe, q):
        for line in iter(pipe.readline, b""):
            q.put(line.decode("utf-8", "replace").rstrip("\n"))
        q.put(None)  # end of output

    def _line(self, q, what, timeout):
        try:
            line = q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{self.name}: no {what} line within {timeout}s") from None
        if line is None:
            raise AssertionError(f"{self.name}: exited ({self.proc.poll()}) before a {what} "
                                 f"line; stderr: {self.err_seen}")
        return line

    def stdout_line(self, timeout=WAIT):
        return self._line(self.out, "stdout", timeout)

    def stderr_line(self, timeout=WAIT):
        line = self._line(self.err, "stderr", timeout)
        self.err_seen.append(line)
        return line

    def listening(self):
        """Waits for "listening on ADDR" on stderr and returns ADDR."""
        deadline = time.monotonic() + WAIT
        while True:
            line = self.stderr_line(max(0.01, deadline - time.monotonic()))
            if line.startswith("listening on "):
                return line[len("listening on "):]

    def wait(self, timeout=WAIT):
        return self.proc.wait(timeout=timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=WAIT)
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()


class PyServer:
    """A Python server on a thread: handler(sock) runs for each of `count` peers (stream) or
    gets the bound socket itself (datagram). Errors are kept and re-raised by check()."""

    def __init__(self, family, type_, address, handler, count=1):
        self.sock = socket.socket(family, type_)
        self.sock.settimeout(WAIT)
        self.sock.bind(address)
        if type_ == socket.SOCK_STREAM:
            self.sock.listen(8)
        self.address = self.sock.getsockname()
        self.error = None
        self.thread = threading.Thread(target=self._serve, args=(type_, handler, count),
                                       daemon=True)
        self.thread.start()

    def _serve(self, type_, handler, count):
        try:
            if type_ != socket.SOCK_STREAM:
                handler(self.sock)
                return
            for _ in range(count):
                conn, _ = self.sock.accept()
                with conn:
                    conn.settimeout(WAIT)
                    handler(conn)
        except Exception as e:  # reported by check(), in the test's own thread
            self.error = e

    def close(self):
        try:  # wakes a thread blocked in accept or recvfrom (close alone would not, on Linux)
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(WAIT)

    def check(self):
        self.thread.join(WAIT)
        if self.thread.is_alive():
            raise AssertionError("the Python server did not finish")
        if self.error:
            raise self.error


class ExampleTest(unittest.TestCase):
    def child(self, name, *args):
        c = Child(name, *args)
        self.addCleanup(c.close)
        return c

    def py_server(self, *args, **kw):
        s = PyServer(*args, **kw)
        self.addCleanup(s.close)
        return s

    def assertOneErrorLine(self, proc, name, code):
        """The example's error contract: exit code, and one line "name: <message>" on stderr."""
        err = proc.stderr.decode("utf-8", "replace")
        self.assertEqual(proc.returncode, code, f"stderr: {err!r}")
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, f"expected one stderr line, got {err!r}")
        self.assertTrue(lines[0].startswith(name + ": ") or lines[0].startswith("usage: "), err)
        self.assertGreater(len(lines[0]), len(name) + 2, err)
        return lines[0]


def free_port(family=socket.AF_INET, type_=socket.SOCK_STREAM):
    """A port that nothing listens on (bound then closed: the kernel just gave it out)."""
    with socket.socket(family, type_) as s:
        s.bind(("127.0.0.1" if family == socket.AF_INET else "::1", 0))
        return s.getsockname()[1]


# ---- the tutorial's TCP server and client ----------------------------------------------------

class SimpleServerTest(ExampleTest):
    def test_python_client_gets_thanks(self):
        srv = self.child("simple_server", "0")
        port = port_of(srv.listening())
        for _ in range(3):  # it serves one peer after another
            with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as c:
                mine = c.getsockname()[1]
                self.assertEqual(recv_all(c), THANKS)
            line = srv.stdout_line()
            self.assertTrue(line.startswith("Got connection from "), line)
            self.assertTrue(line.endswith(f":{mine}"), f"{line!r} should name port {mine}")
            self.assertIn("127.0.0.1", line)

    @unittest.skipUnless(IPV6, "no IPv6 loopback")
    def test_python_client_over_ipv6(self):
        srv = self.child("simple_server", "0")
        port = port_of(srv.listening())
        with socket.create_connection(("::1", port), timeout=WAIT) as c:
            self.assertEqual(recv_all(c), THANKS)
        self.assertIn("[::1]:", srv.stdout_line())

    def test_listening_line_names_the_wildcard_and_the_chosen_port(self):
        srv = self.child("simple_server", "0")
        addr = srv.listening()
        self.assertIn(addr.rpartition(":")[0], ("[::]", "0.0.0.0"))
        self.assertGreater(port_of(addr), 0)

    def test_client_that_sends_and_leaves_does_not_stop_it(self):
        srv = self.child("simple_server", "0")
        port = port_of(srv.listening())
        c = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")  # RST on close
        c.close()
        srv.stdout_line()
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as c:
            self.assertEqual(recv_all(c), THANKS)

    def test_sigterm_and_sigint_exit_zero(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            srv = self.child("simple_server", "0")
            srv.listening()
            srv.proc.send_signal(sig)
            self.assertEqual(srv.wait(), 0, f"after {sig.name}")

    def test_port_in_use_is_one_error_line(self):
        first = self.child("simple_server", "0")
        port = port_of(first.listening())
        proc = run("simple_server", str(port))
        line = self.assertOneErrorLine(proc, "simple_server", 2)
        self.assertIn("in use", line)

    def test_bad_port(self):
        proc = run("simple_server", "no-such-service-here")
        self.assertOneErrorLine(proc, "simple_server", 2)


class SimpleClientTest(ExampleTest):
    def thanks_server(self, family=socket.AF_INET, host="127.0.0.1", payload=THANKS):
        def handler(conn):
            conn.sendall(payload)
        return self.py_server(family, socket.SOCK_STREAM, (host, 0), handler)

    def test_prints_what_a_python_server_sends(self):
        srv = self.thanks_server()
        proc = run("simple_client", "127.0.0.1", str(srv.address[1]))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, THANKS + b"\n")  # print()'s newline, as in Python
        srv.check()

    @unittest.skipUnless(IPV6, "no IPv6 loopback")
    def test_ipv6_literal(self):
        srv = self.thanks_server(socket.AF_INET6, "::1")
        proc = run("simple_client", "::1", str(srv.address[1]))
        self.assertEqual((proc.returncode, proc.stdout), (0, THANKS + b"\n"), proc.stderr)
        srv.check()

    def test_host_name(self):
        srv = self.thanks_server()
        proc = run("simple_client", "localhost", str(srv.address[1]))
        self.assertEqual((proc.returncode, proc.stdout), (0, THANKS + b"\n"), proc.stderr)

    def test_a_megabyte_arrives_whole(self):
        payload = bytes(range(256)) * 4096
        srv = self.thanks_server(payload=payload)
        proc = run("simple_client", "127.0.0.1", str(srv.address[1]))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, payload + b"\n")
        srv.check()

    def test_silent_server_that_closes_prints_nothing(self):
        srv = self.thanks_server(payload=b"")
        proc = run("simple_client", "127.0.0.1", str(srv.address[1]))
        self.assertEqual((proc.returncode, proc.stdout), (0, b""), proc.stderr)

    def test_refused(self):
        proc = run("simple_client", "127.0.0.1", str(free_port()))
        line = self.assertOneErrorLine(proc, "simple_client", 2)
        self.assertIn("refused", line)

    def test_unknown_service(self):
        proc = run("simple_client", "127.0.0.1", "no-such-service-here")
        self.assertOneErrorLine(proc, "simple_client", 2)

    def test_usage(self):
        self.assertOneErrorLine(run("simple_client"), "simple_client", 1)
        self.assertOneErrorLine(run("simple_client", "127.0.0.1"), "simple_client", 1)


class SimplePairTest(ExampleTest):
    def test_client_and_server(self):
        srv = self.child("simple_server", "0")
        port = port_of(srv.listening())
        for host in ["127.0.0.1", "localhost"] + (["::1"] if IPV6 else []):
            proc = run("simple_client", host, str(port))
            self.assertEqual((proc.returncode, proc.stdout), (0, THANKS + b"\n"), proc.stderr)
            self.assertTrue(srv.stdout_line().startswith("Got connection from "))


# ---- UDP echo ----------------------------------------------------------------------------------

class UdpServerTest(ExampleTest):
    def echo(self, family, host, port, data):
        with socket.socket(family, socket.SOCK_DGRAM) as c:
            c.settimeout(WAIT)
            c.sendto(data, (host, port))
            reply, peer = c.recvfrom(65536)
            self.assertEqual(peer[1], port)
            return reply

    def test_python_client(self):
        srv = self.child("udp_server", "0")
        port = port_of(srv.listening())
        for data in (b"hello", b"", bytes(range(256)) * 200):  # empty and a 51 KB datagram too
            self.assertEqual(self.echo(socket.AF_INET, "127.0.0.1", port, data), data)
            self.assertIn(f"echoed {len(data)} bytes to ", srv.stdout_line())

    @unittest.skipUnless(IPV6, "no IPv6 loopback")
    def test_python_client_over_ipv6(self):
        srv = self.child("udp_server", "0")
        port = port_of(srv.listening())
        self.assertEqual(self.echo(socket.AF_INET6, "::1", port, b"six"), b"six")


class UdpClientTest(ExampleTest):
    def echo_server(self, family=socket.AF_INET, host="127.0.0.1", prefix=b"echo:"):
        def handler(sock):
            data, peer = sock.recvfrom(65536)
            sock.sendto(prefix + data, peer)
        return self.py_server(family, socket.SOCK_DGRAM, (host, 0), handler)

    def test_prints_the_reply_of_a_python_server(self):
        srv = self.echo_server()
        proc = run("udp_client", "127.0.0.1", str(srv.address[1]), "hello")
        self.assertEqual((proc.returncode, proc.stdout), (0, b"echo:hello\n"), proc.stderr)
        srv.check()

    @unittest.skipUnless(IPV6, "no IPv6 loopback")
    def test_ipv6(self):
        srv = self.echo_server(socket.AF_INET6, "::1")
        proc = run("udp_client", "::1", str(srv.address[1]), "six")
        self.assertEqual((proc.returncode, proc.stdout), (0, b"echo:six\n"), proc.stderr)

    def test_no_reply_times_out(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", 0))
            start = time.monotonic()
            proc = run("udp_client", "127.0.0.1", str(silent.getsockname()[1]), "anyone?")
            took = time.monotonic() - start
            self.assertEqual(silent.recv(100), b"anyone?")
        line = self.assertOneErrorLine(proc, "udp_client", 2)
        self.assertIn("timed out", line.lower())
        self.assertGreater(took, 2.5)  # its timeout is 3 s

    def test_usage(self):
        self.assertOneErrorLine(run("udp_client", "127.0.0.1", "9"), "udp_client", 1)


class UdpPairTest(ExampleTest):
    def test_client_and_server(self):
        srv = self.child("udp_server", "0")
        port = str(port_of(srv.listening()))
        for host in ["127.0.0.1", "localhost"] + (["::1"] if IPV6 else []):
            proc = run("udp_client", host, port, f"via {host}")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(proc.stdout, f"via {host}\n".encode())


# ---- Unix-domain stream echo -------------------------------------------------------------------

class UnixTest(ExampleTest):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sockit-ex-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.dir]))
        self.path = os.path.join(self.dir, "echo.sock")

    def py_client(self, address, data):
        """Sends data to an echo server and returns what comes back. The server echoes as it
        reads, so sending and reading run at once: all of data first would fill both socket
        buffers and deadlock with a server blocked sending back what it read."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.settimeout(WAIT)
            c.connect(address)

            def send():
                c.sendall(data)
                c.shutdown(socket.SHUT_WR)

            sender = threading.Thread(target=send, daemon=True)
            sender.start()
            got = recv_all(c)
            sender.join(WAIT)
            self.assertFalse(sender.is_alive(), "the sender is stuck")
            return got


class UnixServerTest(UnixTest):
    def test_python_client(self):
        srv = self.child("unix_server", self.path)
        self.assertEqual(srv.listening(), self.path)
        for data in (b"hello unix", b"", os.urandom(300000)):
            self.assertEqual(self.py_client(self.path, data), data)

    def test_socket_file_is_not_world_writable(self):
        srv = self.child("unix_server", self.path)
        srv.listening()
        st = os.stat(self.path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(st.st_mode & 0o002, 0, oct(st.st_mode))

    def test_abstract_name(self):
        name = f"@sockit-test-{os.getpid()}-{time.monotonic_ns()}"
        srv = self.child("unix_server", name)
        srv.listening()
        self.assertEqual(self.py_client("\0" + name[1:], b"abstract"), b"abstract")

    def test_sigterm_removes_the_socket_file(self):
        srv = self.child("unix_server", self.path)
        srv.listening()
        srv.proc.send_signal(signal.SIGTERM)
        self.assertEqual(srv.wait(), 0)
        self.assertFalse(os.path.exists(self.path))

    def test_stale_socket_file_is_replaced(self):
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(self.path)
        stale.close()  # the file stays, nobody accepts
        srv = self.child("unix_server", self.path)
        srv.listening()
        self.assertEqual(self.py_client(self.path, b"fresh"), b"fresh")

    def test_live_socket_is_not_clobbered(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as live:
            live.bind(self.path)
            live.listen(1)
            proc = run("unix_server", self.path)
            self.assertOneErrorLine(proc, "unix_server", 2)
            self.assertTrue(os.path.exists(self.path))

    def test_usage(self):
        self.assertOneErrorLine(run("unix_server"), "unix_server", 1)


class UnixClientTest(UnixTest):
    def echo_server(self, address, prefix=b"echo:"):
        def handler(conn):
            conn.sendall(prefix + recv_all(conn))
        return self.py_server(socket.AF_UNIX, socket.SOCK_STREAM, address, handler)

    def test_prints_the_reply_of_a_python_server(self):
        srv = self.echo_server(self.path)
        proc = run("unix_client", self.path, "hello")
        self.assertEqual((proc.returncode, proc.stdout), (0, b"echo:hello"), proc.stderr)
        srv.check()

    def test_abstract_name(self):
        name = f"sockit-test-{os.getpid()}-{time.monotonic_ns()}"
        srv = self.echo_server("\0" + name)
        proc = run("unix_client", "@" + name, "hi")
        self.assertEqual((proc.returncode, proc.stdout), (0, b"echo:hi"), proc.stderr)
        srv.check()

    def test_no_server(self):
        proc = run("unix_client", self.path, "hello")
        line = self.assertOneErrorLine(proc, "unix_client", 2)
        self.assertIn("No such file", line)

    def test_usage(self):
        self.assertOneErrorLine(run("unix_client", self.path), "unix_client", 1)


class UnixPairTest(UnixTest):
    def test_client_and_server(self):
        srv = self.child("unix_server", self.path)
        srv.listening()
        for msg in ("one", "two words", "x" * 10000):
            proc = run("unix_client", self.path, msg)
            self.assertEqual((proc.returncode, proc.stdout), (0, msg.encode()), proc.stderr)


class HttpHelloTest(ExampleTest):
    """examples/http_hello.c (the program of docs/http-server.md) against Python's http.client."""

    def start(self):
        srv = self.child("http_hello", "0")
        return srv, port_of(srv.listening())

    def test_routes_keep_alive_and_log(self):
        import http.client
        srv, port = self.start()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        for path, want in (("/hello?name=you%21", b"hello, you!\n"), ("/hello", b"hello, world\n"),
                           ("/items/42", b"item 42\n")):
            conn.request("GET", path)
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, want), path)
            self.assertEqual(r.getheader("Content-Type"), "text/plain; charset=utf-8")
            self.assertTrue(r.getheader("Server", "").startswith("sockit/"))
        mine = conn.sock.getsockname()[1]
        conn.request("POST", "/hello", body=b"x")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 405)
        self.assertEqual(r.getheader("Allow"), "GET, HEAD")
        conn.request("HEAD", "/items/7")
        r = conn.getresponse()
        self.assertEqual((r.status, r.getheader("Content-Length"), r.read()), (200, "7", b""))
        self.assertEqual(conn.sock.getsockname()[1], mine)  # one connection all along
        conn.close()
        line = srv.stderr_line()
        self.assertRegex(line, r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
                               r'"GET /hello\?name=you%21 HTTP/1\.1" 200 12$')

    def test_sigint_exits_zero(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            srv, _ = self.start()
            srv.proc.send_signal(sig)
            self.assertEqual(srv.wait(), 0, f"after {sig.name}")

    def test_port_in_use_is_one_error_line(self):
        _, port = self.start()
        proc = run("http_hello", str(port))
        self.assertIn("in use", self.assertOneErrorLine(proc, "http_hello", 2))


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped) - len(result.expectedFailures)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or result.testsRun == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
