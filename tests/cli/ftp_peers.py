#!/usr/bin/env python3
"""The FTP servers the end-to-end tests of `sockit ftp` talk to (tests/cli/test_ftp*.py).

Three kinds, all on 127.0.0.1 with ports the kernel or the test chooses:

  PyFtpd   pyftpdlib (Debian's python3-pyftpdlib; its TLS handler needs python3-openssl), run as
           a child process: this file is also its program (`ftp_peers.py pyftpd ...`, below).
           A user with a password and full rights, anonymous read-only, a read-only directory,
           and the misbehaving variants the tests need: no EPSV, no MLSD, a 227 reply carrying a
           wrong address, data connections aborted mid-transfer (426) or cut short while the
           server still says 226, explicit FTPS.
  Vsftpd   Debian's vsftpd in the foreground with a configuration of the test's own: anonymous
           with anon_root and uploads, deletes and directories allowed; optionally FTPS with
           require_ssl_reuse=YES, explicit or implicit. Needs root (chroot, privilege drop).
  Fake     a scripted server in threads of the test process, for the hostile cases (an endless
           line, a huge multi-line reply, a reply that never ends, a data port that never opens).

The test's Python may not be the one pyftpdlib is installed for (ctest runs the Python CMake
found, e.g. a pyenv one; Debian installs the module for /usr/bin/python3): pyftpd_python() finds
an interpreter that imports it, and the server runs under that one. Nothing here sleeps to order
events: readiness is a printed line or an accepted connection; every wait has a bound.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

TIMEOUT = 30  # the longest any single wait may take, in seconds

USER, PASSWORD = "alice", "s3cret"


# ---- the pyftpdlib program (runs under an interpreter that has the module) -------------------

def pyftpd_main(argv):
    """`ftp_peers.py pyftpd [options]`: serves until killed; prints "listening on ADDR" on
    standard output once the socket listens."""
    import argparse
    import logging
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.filesystems import AbstractedFS
    from pyftpdlib.handlers import DTPHandler, FTPHandler
    from pyftpdlib.servers import FTPServer

    ap = argparse.ArgumentParser(prog="ftp_peers.py pyftpd")
    ap.add_argument("--user", help="NAME:PASSWORD:HOME, full rights")
    ap.add_argument("--anon", help="anonymous home, read-only")
    ap.add_argument("--ro", action="append", default=[], help="a directory the user may not change")
    ap.add_argument("--no-epsv", action="store_true", help="EPSV is an unknown command")
    ap.add_argument("--no-mlsd", action="store_true", help="MLSD and MLST are unknown commands")
    ap.add_argument("--pasv-address", help="the address a 227 reply names")
    ap.add_argument("--drop-after", type=int, help="abort data connections after N bytes (426)")
    ap.add_argument("--short-after", type=int, help="RETR sends N bytes, then 226")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="explicit FTPS")
    ap.add_argument("--log", help="the server's log file")
    ap.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    a = ap.parse_args(argv)
    # INFO: one line per command with its reply code, one per transfer with its byte count (the
    # tests read them to see which commands the client chose).
    logging.basicConfig(filename=a.log or os.devnull, level=logging.INFO)

    auth = DummyAuthorizer()
    if a.user:
        name, rest = a.user.split(":", 1)
        password, home = rest.rsplit(":", 1)  # a password may hold ':', a name may not
        auth.add_user(name, password, home, perm="elradfmwMT")
        for d in a.ro:
            auth.override_perm(name, d, perm="elr", recursive=True)
    if a.anon:
        auth.add_anonymous(a.anon, perm="elr")

    if a.tls:
        from pyftpdlib.handlers import TLS_FTPHandler
        base = TLS_FTPHandler
    else:
        base = FTPHandler
    attrs = {"authorizer": auth, "banner": "sockit test pyftpdlib ready", "timeout": 60}
    cmds = dict(base.proto_cmds)
    if a.no_epsv:
        cmds.pop("EPSV", None)
    if a.no_mlsd:
        cmds.pop("MLSD", None)
        cmds.pop("MLST", None)
    attrs["proto_cmds"] = cmds
    attrs["log_cmds_list"] = sorted(cmds)
    if a.pasv_address:
        attrs["masquerade_address"] = a.pasv_address
    if a.tls:
        attrs["certfile"], attrs["keyfile"] = a.tls
    if a.drop_after is not None:
        attrs["use_sendfile"] = False
        attrs["dtp_handler"] = dropping_dtp(DTPHandler, a.drop_after)
    if a.short_after is not None:
        attrs["use_sendfile"] = False
        attrs["abstracted_fs"] = short_fs(AbstractedFS, a.short_after)
    handler = type("TestHandler", (base,), attrs)
    server = FTPServer((a.host, 0), handler)
    host, port = server.socket.getsockname()[:2]
    sys.stdout.write("listening on %s:%d\n" % ("[%s]" % host if ":" in host else host, port))
    sys.stdout.flush()
    server.serve_forever()


def dropping_dtp(base, limit):
    """A data channel that resets the connection once limit bytes went either way; the server
    then replies 426."""

    class DroppingDTP(base):
        def drop(self):
            try:
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            raise RuntimeError("the test server drops the data connection")

        def initiate_send(self):
            if self.tot_bytes_sent >= limit:
                self.drop()
            base.initiate_send(self)

        def handle_read(self):
            base.handle_read(self)
            if self.tot_bytes_received >= limit:
                self.drop()

        handle_read_event = handle_read  # the base binds its own handle_read to the event

    return DroppingDTP


class ShortFile:
    """A file whose reads end after limit bytes (from where reading started)."""

    def __init__(self, f, limit):
        self.f, self.left = f, limit
        self.name = f.name

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        return data

    def seek(self, *args):
        return self.f.seek(*args)

    def tell(self):
        return self.f.tell()

    def close(self):
        self.f.close()

    @property
    def closed(self):
        return self.f.closed


def short_fs(base, limit):
    """A file system whose files read as limit bytes long while SIZE tells the real size: the
    server ends RETR early and still replies 226."""

    class ShortFS(base):
        def open(self, filename, mode):
            f = base.open(self, filename, mode)
            return ShortFile(f, limit) if "r" in mode else f

    return ShortFS


# ---- helpers for the tests --------------------------------------------------------------------

def die_with_parent():
    """In the child before exec: SIGKILL when the test process goes, however it goes."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:
        pass


_PYTHON = {}


def pyftpd_python(tls=False):
    """An interpreter that imports pyftpdlib (and pyOpenSSL when tls), or None."""
    key = "tls" if tls else "plain"
    if key not in _PYTHON:
        _PYTHON[key] = None
        code = "import pyftpdlib.handlers" + ("; from pyftpdlib.handlers import TLS_FTPHandler"
                                              if tls else "")
        for py in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
            if not py or not os.access(py, os.X_OK):
                continue
            try:
                r = subprocess.run([py, "-c", code], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, timeout=TIMEOUT)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if r.returncode == 0:
                _PYTHON[key] = py
                break
    return _PYTHON[key]


class PyFtpd:
    """pyftpdlib as a child process; options as pyftpd_main takes them (without "--")."""

    def __init__(self, tmp, **opts):
        py = pyftpd_python(tls="tls" in opts)
        if py is None:
            raise RuntimeError("pyftpdlib not importable")
        fd, self.log = tempfile.mkstemp(prefix="pyftpd-", suffix=".log", dir=tmp)
        os.close(fd)
        argv = [py, os.path.abspath(__file__), "pyftpd", "--log", self.log]
        for k, v in opts.items():
            flag = "--" + k.replace("_", "-")
            if v is True:
                argv.append(flag)
            elif isinstance(v, (list, tuple)):
                if k == "tls":
                    argv += [flag, *v]
                else:
                    for item in v:
                        argv += [flag, str(item)]
            elif v is not None and v is not False:
                argv += [flag, str(v)]
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, preexec_fn=die_with_parent)
        line = self._first_line()
        if not line.startswith("listening on "):
            err = self.stop()
            raise RuntimeError("pyftpdlib did not start: %r %s" % (line, err))
        self.host, port = line[len("listening on "):].rsplit(":", 1)
        self.port = int(port)

    def _first_line(self):
        """The first line of standard output, waited for with a bound."""
        box = []
        t = threading.Thread(target=lambda: box.append(self.p.stdout.readline()), daemon=True)
        t.start()
        t.join(TIMEOUT)
        return box[0].decode(errors="replace").strip() if box else ""

    def url(self, path="/", user=USER, password=PASSWORD, scheme="ftp"):
        cred = "" if user is None else "%s:%s@" % (user, password)
        return "%s://%s%s:%d%s" % (scheme, cred, self.host, self.port, path)

    def stop(self):
        """Kills the server; returns what it wrote on standard error."""
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(TIMEOUT)
        err = self.p.stderr.read().decode(errors="replace")
        self.p.stdout.close()
        self.p.stderr.close()
        return err


def vsftpd_path():
    for p in ("/usr/sbin/vsftpd", "/usr/local/sbin/vsftpd", "/sbin/vsftpd"):
        if os.access(p, os.X_OK):
            return p
    return None


def vsftpd_missing():
    """Why vsftpd tests cannot run here, or None."""
    if vsftpd_path() is None:
        return "vsftpd is not installed (make test installs it)"
    if os.geteuid() != 0:
        return "vsftpd needs root (chroot, privilege separation)"
    try:
        import pwd
        pwd.getpwnam("ftp")
    except KeyError:
        return "no 'ftp' user for vsftpd's anonymous sessions"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Vsftpd:
    """vsftpd in the foreground on 127.0.0.1, anonymous, rooted at root (which must exist, be
    owned by root and not writable by others: vsftpd refuses a writable chroot). Uploads, deletes
    and new directories are allowed where the 'ftp' user may write (the caller chowns those).
    tls: None, "explicit" or "implicit" (FTPS with require_ssl_reuse=YES, certificate and key
    given as cert=(CERT, KEY))."""

    def __init__(self, tmp, root, tls=None, cert=None):
        self.tmp, self.root, self.tls = tmp, root, tls
        empty = os.path.join(tmp, "vsftpd-empty")
        os.makedirs(empty, exist_ok=True)
        os.chmod(tmp, 0o755)
        err = ""
        for _ in range(3):  # the chosen port may be taken before vsftpd binds it: try another
            self.port = free_port()
            conf = os.path.join(tmp, "vsftpd.conf")
            with open(conf, "w") as f:
                f.write(self._config(empty, cert))
            self.p = subprocess.Popen([vsftpd_path(), conf], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      cwd=tmp, preexec_fn=die_with_parent)
            if self._ready():
                return
            err = self.stop()
        raise RuntimeError("vsftpd did not start: %s" % err)

    def _config(self, empty, cert):
        lines = [
            "listen=YES", "listen_ipv6=NO", "listen_address=127.0.0.1",
            "listen_port=%d" % self.port, "background=NO",
            "anonymous_enable=YES", "no_anon_password=YES", "anon_root=" + self.root,
            "local_enable=NO", "write_enable=YES", "anon_upload_enable=YES",
            "anon_mkdir_write_enable=YES", "anon_other_write_enable=YES", "anon_umask=022",
            "secure_chroot_dir=" + empty, "run_as_launching_user=NO",
            "seccomp_sandbox=NO", "isolate=NO", "isolate_network=NO",
            "pasv_enable=YES", "pasv_address=127.0.0.1", "port_enable=YES",
            "connect_from_port_20=NO", "xferlog_enable=NO", "syslog_enable=NO",
            "dual_log_enable=NO", "vsftpd_log_file=" + os.path.join(self.tmp, "vsftpd.log"),
            "log_ftp_protocol=YES", "use_localtime=NO", "idle_session_timeout=120",
            "data_connection_timeout=60",
        ]
        if self.tls:
            lines += [
                "ssl_enable=YES", "allow_anon_ssl=YES", "force_anon_logins_ssl=YES",
                "force_anon_data_ssl=YES", "require_ssl_reuse=YES", "ssl_ciphers=HIGH",
                "rsa_cert_file=" + cert[0], "rsa_private_key_file=" + cert[1],
                "ssl_tlsv1=NO", "ssl_sslv2=NO", "ssl_sslv3=NO", "debug_ssl=YES",
            ]
            if self.tls == "implicit":
                lines.append("implicit_ssl=YES")
        return "\n".join(lines) + "\n"

    def _ready(self):
        """True once vsftpd accepts connections (probed with a bound), False once it exited."""
        import time
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                pass
            try:
                self.p.wait(0.05)  # exited: its reason is on stderr
                return False
            except subprocess.TimeoutExpired:
                pass
        return False

    def url(self, path="/", scheme="ftp"):
        return "%s://127.0.0.1:%d%s" % (scheme, self.port, path)

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(TIMEOUT)
        err = self.p.stderr.read().decode(errors="replace")
        self.p.stderr.close()
        return err


class Fake:
    """A scripted FTP server in threads of the test process: each accepted connection is given
    to handler(conn, fake) in a thread of its own. stop() closes everything and joins."""

    def __init__(self, handler):
        self.handler = handler
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.socks = [self.lsock]
        self.threads = []
        self.stopping = threading.Event()
        self.errors = []
        self.lock = threading.Lock()
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def url(self, path="/file"):
        return "ftp://127.0.0.1:%d%s" % (self.port, path)

    def track(self, s):
        with self.lock:
            self.socks.append(s)
        return s

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            conn.settimeout(TIMEOUT)
            self.track(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            with self.lock:
                self.threads.append(t)

    def _serve(self, conn):
        try:
            self.handler(conn, self)
        except OSError:
            pass  # the client went away: what the hostile cases expect
        except Exception as e:  # a bug in the script: the test sees it
            self.errors.append(e)

    def stop(self):
        self.stopping.set()
        with self.lock:
            socks, threads = list(self.socks), list(self.threads)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in threads:
            t.join(TIMEOUT)


def read_line(conn, limit=4096):
    """One command line from the client (without CRLF), or None at its end."""
    buf = bytearray()
    while not buf.endswith(b"\n"):
        b = conn.recv(1)
        if not b:
            return None
        buf += b
        if len(buf) > limit:
            return None
    return buf.decode("latin-1").rstrip("\r\n")


def dialogue(conn, replies, banner="220 fake ready"):
    """A minimal server: the banner, then for each command the reply replies[VERB] (a string, or
    a callable given the argument returning a string or None for no reply) or a default one.
    Returns when the client closes or after QUIT."""
    defaults = {"USER": "331 password please", "PASS": "230 logged in", "TYPE": "200 ok",
                "FEAT": "211-Features:\r\n SIZE\r\n REST STREAM\r\n211 End",
                "PWD": '257 "/"', "CWD": "250 ok", "OPTS": "200 ok", "PBSZ": "200 ok",
                "SYST": "215 UNIX Type: L8", "NOOP": "200 ok", "QUIT": "221 bye",
                "SIZE": "550 no size", "MDTM": "550 no time", "EPSV": "500 not understood",
                "PASV": "500 not understood", "EPRT": "500 not understood",
                "PORT": "500 not understood", "ABOR": "226 aborted"}
    if banner is not None:
        conn.sendall(banner.encode() + b"\r\n")
    while True:
        line = read_line(conn)
        if line is None:
            return
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        reply = replies.get(verb, defaults.get(verb, "502 not implemented"))
        if callable(reply):
            reply = reply(arg)
        if reply is not None:
            conn.sendall(reply.encode() + b"\r\n")
        if verb == "QUIT":
            return


def pasv_reply(port, host="127,0,0,1"):
    return "227 Entering Passive Mode (%s,%d,%d)" % (host, port >> 8, port & 255)


def epsv_reply(port):
    return "229 Entering Extended Passive Mode (|||%d|)" % port


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "pyftpd":
        pyftpd_main(sys.argv[2:])
    else:
        sys.exit("usage: ftp_peers.py pyftpd [--help]")
