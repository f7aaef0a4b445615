"""Shared helpers of the end-to-end tests of `sockit http serve` (test_http_hostile.py,
test_http_load.py): start and stop the server (or the reference peer), a raw socket client
with deadlines, and the descriptor count and resident size of a server process from /proc.

Which server: SOCKIT_HTTP_TEST_PEER selects it.
  unset or "sockit"  `$SOCKIT_BIN http serve -b 127.0.0.1 -p 0 -d DIR -t 2 [-q]`; the port comes
                     from its `listening on 127.0.0.1:PORT` line on stderr; SIGTERM stops it and
                     it must exit 0. A command that is missing or whose --help fails fails
                     every test file (see main()).
  "nginx"            Debian's nginx, started on 127.0.0.1 with a free port and a temporary config
                     (daemon off, user root) — only to prove that the tests themselves are right.
                     Rows where nginx may legitimately differ carry a per-peer expectation.
"""
import errno
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_cli  # noqa: E402
from test_cli import BIN, Pipe  # noqa: E402

PEER = os.environ.get("SOCKIT_HTTP_TEST_PEER", "sockit") or "sockit"
SANITIZED = "ON" in os.environ.get("SOCKIT_SANITIZED", "")
TIMEOUT = 30  # the longest any single wait may take, in seconds
THREADS = 2   # -t for sockit, worker_processes for nginx
# The reference peer's header deadline (client_header_timeout); sockit uses its own default.
NGINX_HEADER_TIMEOUT = 10


def raise_nofile():
    """Raises this process's soft RLIMIT_NOFILE to its hard limit (the servers started here
    inherit it); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def sockit_serve_state():
    """("yes", help text), or ("broken", why): the command is built, so nothing is skipped."""
    if not os.access(BIN, os.X_OK):
        return "broken", "sockit binary not found at %s (set SOCKIT_BIN)" % BIN
    r = subprocess.run([BIN, "http", "serve", "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode == 0:
        return "yes", r.stdout.decode(errors="replace")
    return "broken", "sockit http serve --help exits %d: %s" % (r.returncode, err)


def free_port():
    """A loopback port nobody listens on (for nginx only, which cannot report a port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid):
    """The pids whose parent is pid (nginx's workers)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: parse after the last ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(name))
    return sorted(out)


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes {threads};
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 10000; }}
http {{
    access_log {access};
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ text/html html; text/plain txt; }}
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    client_header_timeout {header_timeout}s;
    disable_symlinks on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        autoindex on;
    }}
}}
"""


class Server:
    """The server under test, serving root on 127.0.0.1. start() returns the port."""

    def __init__(self, root, quiet=True, threads=THREADS):
        self.root = root
        self.quiet = quiet
        self.threads = threads
        self.proc = None
        self.err = None
        self.port = None
        self.tmp = None

    @property
    def header_timeout(self):
        """The header deadline the server is expected to enforce, in seconds, or None when the
        command's own default is unknown or above 60 s (the slowloris cut-off is then skipped).
        SOCKIT_HTTP_HEADER_TIMEOUT overrides it for sockit."""
        if PEER == "nginx":
            return NGINX_HEADER_TIMEOUT
        env = os.environ.get("SOCKIT_HTTP_HEADER_TIMEOUT")
        if env:
            return float(env)
        state, text = sockit_serve_state()
        # "--header-timeout SECS ... (default 30)" or "header deadline: 30 s" in --help.
        for line in text.splitlines():
            if re.search(r"header", line, re.I) and re.search(r"timeout|deadline", line, re.I):
                m = re.search(r"(\d+(?:\.\d+)?)\s*(?:s\b|sec|seconds)|default:?\s*(\d+(?:\.\d+)?)",
                              line)
                if m:
                    value = float(m.group(1) or m.group(2))
                    return value if value <= 60 else None
        return 60.0  # issue 9: finite by default; the test waits for at most this much

    def start(self):
        if PEER == "nginx":
            return self._start_nginx()
        args = [BIN, "http", "serve", "-b", "127.0.0.1", "-p", "0", "-d", self.root,
                "-t", str(self.threads)]
        if self.quiet:
            args.append("-q")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.err = Pipe(self.proc.stderr)
        text = self.err.wait_for(lambda d: b"\n" in d, TIMEOUT).decode(errors="replace")
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)\n", text)
        if not m:
            self.kill()
            raise AssertionError("no 'listening on 127.0.0.1:PORT' line; stderr: %r" % text)
        self.port = int(m.group(1))
        return self.port

    def _start_nginx(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(nginx, os.X_OK):
            raise unittest.SkipTest("nginx is not installed (apt-get install nginx-light)")
        self.tmp = tempfile.mkdtemp(prefix="sockit-nginx-")
        self.port = free_port()
        conf = os.path.join(self.tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(threads=self.threads, tmp=self.tmp, port=self.port,
                                      root=self.root, header_timeout=NGINX_HEADER_TIMEOUT,
                                      access="off" if self.quiet else "/dev/stderr"))
        self.proc = subprocess.Popen([nginx, "-p", self.tmp, "-c", conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.err = Pipe(self.proc.stderr)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if len(children_of(self.proc.pid)) >= self.threads:
                    return self.port
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise AssertionError("nginx did not start: %r" % self.err.wait_eof(5))

    def pids(self):
        """The processes that serve connections (sockit itself; nginx's workers)."""
        if PEER == "nginx":
            return children_of(self.proc.pid)
        return [self.proc.pid]

    def fds(self):
        return sum(fd_count(p) for p in self.pids())

    def rss(self):
        """Resident size in KiB, summed over the serving processes."""
        return sum(rss_kib(p) for p in self.pids())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM (nginx: SIGQUIT, its graceful stop); returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT if PEER == "nginx" else signal.SIGTERM)
        try:
            rc = self.proc.wait(TIMEOUT)
        finally:
            self.kill()
        return rc

    def kill(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(10)
            if self.err is not None:
                self.err.wait_eof(5)
            self.proc.stderr.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def log(self):
        """Everything the server wrote on stderr so far."""
        return bytes(self.err.data) if self.err else b""


# ---- a raw client with deadlines ------------------------------------------------------------

def connect(port, timeout=TIMEOUT):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def exchange(port, data, half_close=True, timeout=TIMEOUT):
    """Sends data on a new connection (then shuts down the sending side, half_close), and reads
    until the server closes. Returns (bytes received, how): how is "eof", "reset" (RST, also
    while sending: the server stopped reading and closed) or "timeout" (the server neither
    answered nor closed within timeout)."""
    s = connect(port, timeout)
    got = bytearray()
    deadline = time.monotonic() + timeout
    try:
        try:
            s.settimeout(timeout / 2)
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed while we sent; what it answered before is still readable
        except OSError as e:
            if e.errno != errno.ENOTCONN:
                raise
            # The server reset the connection while we sent (it answered and closed with our
            # bytes unread): shutdown finds no connection. A reset is a clean close here.
        except socket.timeout:
            pass  # the server stopped reading: its answer (or its close) must come anyway
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(got), "timeout"
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return bytes(got), "reset"
            except socket.timeout:
                return bytes(got), "timeout"
            if not chunk:
                return bytes(got), "eof"
            got += chunk
    finally:
        s.close()


STATUS_LINE = re.compile(rb"(?:^|\r?\n)HTTP/(\d+)\.(\d+) (\d{3})")


def status_codes(data):
    """Every status code of a status line in data (at its start or at a line start)."""
    return [int(m.group(3)) for m in STATUS_LINE.finditer(data)]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value (the last one)
        self.body = body


def read_response(sock, buf=b"", head_only=False, timeout=TIMEOUT):
    """Reads one response from sock (buf: bytes already read). Content-Length or chunked bodies,
    else until close; head_only for a response to HEAD. Returns (Response, the bytes after it).
    Raises AssertionError if the server closes before a whole response."""
    deadline = time.monotonic() + timeout
    buf = bytearray(buf)

    def more():
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no whole response within %s s; have %r" % (timeout, bytes(buf[:300])))
        sock.settimeout(left)
        try:
            chunk = sock.recv(262144)
        except socket.timeout:
            chunk = None
        if chunk is None:
            raise AssertionError("no whole response within %s s; have %r" % (timeout, bytes(buf[:300])))
        return chunk

    while b"\r\n\r\n" not in buf:
        chunk = more()
        if not chunk:
            raise AssertionError("closed before a whole head: %r" % bytes(buf[:300]))
        buf += chunk
    end = buf.index(b"\r\n\r\n")
    lines = bytes(buf[:end]).split(b"\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
    if not m:
        raise AssertionError("not a status line: %r" % lines[0])
    status = int(m.group(1))
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode(errors="replace")
    rest = bytes(buf[end + 4:])
    if head_only or status in (204, 304) or 100 <= status < 200:
        return Response(status, headers, b""), rest
    if "content-length" in headers:
        n = int(headers["content-length"])
        data = bytearray(rest)
        while len(data) < n:
            chunk = more()
            if not chunk:
                raise AssertionError("closed after %d of %d body bytes" % (len(data), n))
            data += chunk
        return Response(status, headers, bytes(data[:n])), bytes(data[n:])
    if "chunked" in headers.get("transfer-encoding", "").lower():
        data = bytearray(rest)
        body = bytearray()
        while True:
            while b"\r\n" not in data:
                chunk = more()
                if not chunk:
                    raise AssertionError("closed inside a chunked body")
                data += chunk
            i = data.index(b"\r\n")
            size = int(bytes(data[:i]).split(b";")[0], 16)
            need = i + 2 + size + 2
            while len(data) < need:
                chunk = more()
                if not chunk:
                    raise AssertionError("closed inside a chunked body")
                data += chunk
            body += data[i + 2:i + 2 + size]
            data = data[need:]
            if size == 0:  # no trailers are expected from these servers
                return Response(status, headers, bytes(body)), bytes(data)
    data = bytearray(rest)
    while True:
        chunk = more()
        if not chunk:
            return Response(status, headers, bytes(data)), b""
        data += chunk


def get(port, path, extra=b"", timeout=TIMEOUT):
    """One GET on a new connection (Connection: close); returns the Response."""
    s = connect(port, timeout)
    try:
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  + extra + b"\r\n")
        return read_response(s, timeout=timeout)[0]
    finally:
        s.close()


def recv_queued(sock):
    """Bytes waiting in sock's receive queue (SIOCINQ)."""
    import fcntl
    import struct
    import termios
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def wait_until(pred, timeout=TIMEOUT, step=0.05):
    """Polls pred until it is true or timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def main(module="__main__"):
    """Runs the tests of module; a missing or broken `sockit http serve` fails them all. The last
    line printed is "N passed, N failed"."""
    if PEER == "sockit":
        state, why = sockit_serve_state()
        if state == "broken":
            print(why)
            print("0 passed, 1 failed")
            return 1
    elif PEER != "nginx":
        print("SOCKIT_HTTP_TEST_PEER=%r: not sockit or nginx" % PEER)
        print("0 passed, 1 failed")
        return 1
    print("server under test: %s" % PEER)
    return test_cli.main(module)


__all__ = ["BIN", "PEER", "SANITIZED", "TIMEOUT", "Server", "Response", "connect", "exchange",
           "status_codes", "read_response", "get", "recv_queued", "wait_until", "raise_nofile",
           "fd_count", "rss_kib", "main"]


def stop_class_server(cls):
    """A test class's tearDownClass: stops cls.server (SIGTERM must give exit 0) and removes
    cls.tmp whatever happens."""
    try:
        rc = cls.server.stop()
    finally:
        shutil.rmtree(cls.tmp, ignore_errors=True)
    if rc != 0:
        raise AssertionError("the server exited %r on SIGTERM, not 0" % rc)
