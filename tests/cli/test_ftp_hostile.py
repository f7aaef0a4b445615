#!/usr/bin/env python3
"""A hostile review of `sockit ftp`: scripted servers (tests/cli/ftp_peers.py's Fake) that lie
in replies, data connections and TLS negotiation, and a new user's habits (curl, ftplib, lftp).

Each case checks what a user sees: the exit status of cli.md (2 network/timeout, 3 FTP reply,
protocol or TLS, 5 local file, 1 usage), one line on stderr naming the server's reply, the file
on disk (never a silently short one), and what the server was sent (never a password in clear
after a refused AUTH TLS, never a command smuggled through a %0d%0a in a URL).
Every wait is bounded; no sleep orders events. By hand:
SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_ftp_hostile.py
"""
import os
import socket
import ssl
import struct
import sys
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ftp_peers  # noqa: E402
import test_cli  # noqa: E402
import test_ftp  # noqa: E402
from ftp_peers import Fake, dialogue, epsv_reply, pasv_reply  # noqa: E402

TIMEOUT = ftp_peers.TIMEOUT
CERTS = test_ftp.test_tls_cli.CERTS


def setUpModule():
    test_ftp.setUpModule()


def tearDownModule():
    test_ftp.tearDownModule()
BOUND = 30 if test_ftp.SANITIZED else 15  # seconds a failing command may take; -m is far below
BODY = bytes(range(256)) * 64  # 16 KiB


class DataPort:
    """A passive data port on host: accepts connections (at most count) and hands each to
    action(conn) in a thread; accepted is set after the first."""

    def __init__(self, action, host="127.0.0.1", count=1):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(4)
        self.sock.settimeout(TIMEOUT)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(action, count), daemon=True)
        self.thread.start()

    def _run(self, action, count):
        for _ in range(count):
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.set()
            with c:
                try:
                    action(c)
                except OSError:
                    pass

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone does not)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(TIMEOUT)


def send_body(data):
    def action(c):
        c.sendall(data)
    return action


def reset_after(data):
    """Sends data, then resets the connection (SO_LINGER 0): an RST, not a FIN."""
    def action(c):
        c.sendall(data)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return action


class Recorded:
    """Replies for dialogue() that also record every command (verb, argument) received."""

    VERBS = ("USER", "PASS", "AUTH", "PBSZ", "PROT", "FEAT", "TYPE", "OPTS", "SIZE", "EPSV",
             "PASV", "EPRT", "PORT", "RETR", "STOR", "APPE", "REST", "DELE", "MKD", "MLSD",
             "NLST", "LIST", "CWD", "PWD", "NOOP", "ABOR", "MDTM")

    def __init__(self, replies):
        self.log = []
        self.replies = {}
        defaults = {"SIZE": "550 no size", "EPSV": "500 no", "PASV": "500 no", "EPRT": "500 no",
                    "PORT": "500 no", "USER": "331 password please", "PASS": "230 logged in",
                    "TYPE": "200 ok", "FEAT": "211-Features:\r\n SIZE\r\n REST STREAM\r\n211 End", "REST": "350 ok",
                    "DELE": "250 deleted", "MKD": '257 "x" created', "NOOP": "200 ok",
                    "ABOR": "226 aborted", "OPTS": "200 ok", "PBSZ": "200 ok", "PROT": "200 ok",
                    "AUTH": "500 no"}
        for verb in self.VERBS:
            self.replies[verb] = self._wrap(verb, replies.get(verb, defaults.get(verb, "502 no")))

    def _wrap(self, verb, reply):
        def answer(arg):
            self.log.append((verb, arg))
            return reply(arg) if callable(reply) else reply
        return answer

    def verbs(self):
        return [v for v, _ in self.log]


class HostileBase(test_ftp.FtpBase):
    def setUp(self):
        super().setUp()
        self.ports = []

    def tearDown(self):
        for p in self.ports:
            p.stop()
        super().tearDown()
        for s in self.servers:
            if isinstance(s, Fake):
                self.assertEqual(s.errors, [])

    def fake(self, replies, banner="220 fake ready"):
        rec = Recorded(replies)
        f = Fake(lambda conn, fake: dialogue(conn, rec.replies, banner=banner))
        self.servers.append(f)
        return f, rec

    def raw(self, handler):
        f = Fake(handler)
        self.servers.append(f)
        return f

    def data(self, action, **kw):
        p = DataPort(action, **kw)
        self.ports.append(p)
        return p

    def get(self, *args):
        return self.sockit("get", "-m", "10", *args)


# ---- (1) replies a real server never sends ------------------------------------------------------

class TestBadReplies(HostileBase):
    def greeting(self, raw, status, *needles):
        f = self.raw(lambda conn, fake: (conn.sendall(raw), ftp_peers.read_line(conn)))
        return self.assertFailsWithin(("ls", "-m", "3", f.url("/")), status, BOUND, *needles)

    def test_bad_codes(self):
        for raw in (b"2\r\n", b"abc\r\n", b"1234 x\r\n", b"620 six\r\n", b"22\r\n", b"\r\n",
                    b"099 zero\r\n"):
            with self.subTest(raw=raw):
                self.greeting(raw, 3, "malformed reply")

    def test_unclosed_multiline_greeting(self):
        # "221 " closes nothing that "220-" opened: the reply never ends, the deadline does.
        self.greeting(b"220-hello\r\n221 not the same code\r\n 220 indented\r\n", 2)

    def test_cr_without_lf_never_ends_a_line(self):
        self.greeting(b"220 hello\r", 2)

    def test_nul_and_controls_in_the_reply_are_shown_printable(self):
        f, _ = self.fake({"PASS": "530 bad\x00user\x1b[31m red"})
        err = self.assertFailsWithin(("ls", "-m", "5", f.url("/")), 3, BOUND, "530 bad?user?[31m")
        self.assertNotIn("\x1b", err)

    def test_verbose_shows_no_terminal_escapes(self):
        f, _ = self.fake({"DELE": "250-gone \x1b]0;pwned\x07\x1b[2J\r\n250 ok"})
        r = self.ok(self.sockit("rm", "-v", "-m", "5", f.url("/x")))
        err = r.stderr.decode(errors="replace")
        self.assertNotIn("\x1b", err)
        self.assertNotIn("\x07", err)
        self.assertIn("< 250-gone ?]0;pwned??[2J\n< 250 ok\n", err)

    def test_multiline_error_reply_is_one_line(self):
        f, _ = self.fake({"PASS": "530-Login incorrect.\r\n530-second line\r\n530 end"})
        err = self.assertFailsWithin(("ls", "-m", "5", f.url("/")), 3, BOUND, "login failed",
                                     "530", "Login incorrect.")
        self.assertIn("second line", err)


# ---- passive and active data connections ----------------------------------------------------

class TestDataConnections(HostileBase):
    def retr_server(self, port_action=None, retr="150 here\r\n226 done", size="550 no", **replies):
        p = self.data(port_action or send_body(BODY))
        base = {"EPSV": epsv_reply(p.port), "PASV": pasv_reply(p.port), "RETR": retr,
                "SIZE": size}
        base.update(replies)
        f, rec = self.fake(base)
        return f, rec, p

    def test_epsv_bad_then_pasv(self):
        # Malformed 229s (wrong delimiters, port 0, port 70000): PASV instead, which works.
        for bad in ("229 x (|||%d!)", "229 x (|||0|)", "229 x (|||70000|)", "229 x (!!|%d|)",
                    "229 x (|||%d|", "229 x"):
            with self.subTest(bad=bad):
                p = self.data(send_body(BODY))
                text = bad % p.port if "%d" in bad else bad
                f, rec = self.fake({"EPSV": text, "PASV": pasv_reply(p.port), "RETR": "150 here\r\n226 done"})
                r = self.ok(self.get("-o", "-", f.url("/file")))
                self.assertEqual(r.stdout, BODY)
                self.assertIn("PASV", rec.verbs())

    def test_epsv_data_connection_fails_then_pasv(self):
        closed = test_cli.free_closed_port()
        p = self.data(send_body(BODY))
        f, rec = self.fake({"EPSV": epsv_reply(closed), "PASV": pasv_reply(p.port),
                            "RETR": "150 here\r\n226 done"})
        r = self.ok(self.get("-o", "-", f.url("/file")))
        self.assertEqual(r.stdout, BODY)
        self.assertEqual(rec.verbs().count("EPSV"), 1)
        self.assertIn("PASV", rec.verbs())

    def test_pasv_numbers_over_255(self):
        f, _ = self.fake({"PASV": "227 Entering Passive Mode (127,0,0,1,256,1)"})
        self.assertFailsWithin(("get", "-m", "5", "-o", "-", f.url("/file")), 3, BOUND, "PASV")

    def test_pasv_address_of_another_host_is_ignored(self):
        # The data port listens on 127.0.0.1 only; the 227 names 127.0.0.2. A client that
        # believed the 227 would be refused there; the control peer's address is used.
        p = self.data(send_body(BODY))
        f, _ = self.fake({"PASV": pasv_reply(p.port, host="127,0,0,2"), "RETR": "150 here\r\n226 done"})
        r = self.ok(self.get("-o", "-", f.url("/file")))
        self.assertEqual(r.stdout, BODY)

    def test_150_size_larger_than_what_came(self):
        f, _, _ = self.retr_server(retr="150 Opening (%d bytes)\r\n226 done" % (len(BODY) + 1))
        out = os.path.join(self.cwd, "file")
        self.assertFailsWithin(("get", "-m", "5", f.url("/file")), 3, BOUND, "short transfer")
        self.assertEqual(self.read(out), BODY)  # kept for -C, but the status said it failed

    def test_size_larger_than_what_came(self):
        f, _, _ = self.retr_server(size="213 %d" % (len(BODY) * 2))
        self.assertFailsWithin(("get", "-m", "5", "-o", "-", f.url("/file")), 3, BOUND,
                               "short transfer")

    def test_more_than_size(self):
        # SIZE said half of what came: a file that grew, or a server that lies. curl calls any
        # difference a partial file (exit 18); sockit must not say "done" silently either.
        f, _, _ = self.retr_server(size="213 %d" % (len(BODY) // 2))
        self.assertFailsWithin(("get", "-m", "5", "-o", "-", f.url("/file")), 3, BOUND)

    def test_rest_ignored_on_resume_is_not_a_success(self):
        # -C with half the file here: the server says 350 to REST but sends the whole file from
        # byte 0. Appended, that is a corrupt file of 1.5x the size: SIZE shows it.
        f, rec, _ = self.retr_server(size="213 %d" % len(BODY))
        self.write(os.path.join(self.cwd, "file"), BODY[:8192])
        self.assertFailsWithin(("get", "-C", "-m", "5", f.url("/file")), 3, BOUND, "more than")
        self.assertIn(("REST", "8192"), rec.log)

    def test_active_425_after_150_is_told_at_once(self):
        # The server says 150, fails to connect back, says 425: the client must not wait for a
        # connection that the control connection already said will never come.
        f, _ = self.fake({"EPRT": "200 ok", "RETR": "150 connecting\r\n425 Can't open data connection."})
        self.assertFailsWithin(("get", "--active", "-m", "8", "-o", "-", f.url("/file")), 3, 6,
                               "425", "Can't open data connection")

    def test_passive_426_while_data_stays_open(self):
        # The server gives up on the control connection while the data connection stays open
        # and silent: told at once with its reply (exit 3), not as a timeout after -m (exit 2).
        f, _, _ = self.retr_server(port_action=lambda c: c.recv(1),  # until the client leaves
                                   retr="150 here\r\n426 Transfer aborted by the operator")
        self.assertFailsWithin(("get", "-m", "8", "-o", "-", f.url("/file")), 3, 6, "426")

    def test_reset_mid_transfer_is_an_error(self):
        # An RST after half the file, the server still claiming 226, no size known anywhere.
        # The data flows once RETR came (as a server does), so the connection is not reset
        # while the client is still connecting (which would make it try PASV instead).
        retr_seen = threading.Event()
        reset = reset_after(BODY[:8192])

        def action(c):
            retr_seen.wait(TIMEOUT)
            reset(c)

        def retr(arg):
            retr_seen.set()
            return "150 here\r\n226 all done"

        f, _, _ = self.retr_server(port_action=action, retr=retr)
        r = self.get(f.url("/file"))
        self.assertOneLineError(r, 2, "data connection")
        local = os.path.join(self.cwd, "file")
        if os.path.exists(local):
            self.assertLess(len(self.read(local)), len(BODY))

    def test_226_before_the_data(self):
        f, _, _ = self.retr_server(retr="150 here\r\n226 done already")
        r = self.ok(self.get("-o", "-", f.url("/file")))
        self.assertEqual(r.stdout, BODY)

    def test_426_and_451_after_the_data(self):
        for final in ("426 Connection closed; transfer aborted", "451 local error"):
            with self.subTest(final=final):
                f, _, _ = self.retr_server(retr="150 here\r\n" + final)
                self.assertFailsWithin(("get", "-m", "5", "-o", "-", f.url("/file")), 3, BOUND,
                                       final[:3], final[4:])

    def test_control_closed_instead_of_226(self):
        # All the data came, but the server hung up without its final reply: not a success.
        def handler(conn, fake):
            p = self.data(send_body(BODY))
            replies = Recorded({"EPSV": epsv_reply(p.port), "RETR": "150 here"}).replies
            replies["RETR"] = lambda arg: (conn.sendall(b"150 here\r\n"), conn.close())[1]
            dialogue(conn, replies)

        f = self.raw(handler)
        self.assertFailsWithin(("get", "-m", "5", "-o", "-", f.url("/file")), 2, BOUND,
                               "closed the control connection")

    def test_nothing_came_though_size_said_so(self):
        f, _, _ = self.retr_server(port_action=lambda c: None, size="213 100")
        self.assertFailsWithin(("get", "-m", "5", f.url("/file")), 3, BOUND,
                               "short transfer: 0 of 100")
        # Nothing arrived: no file was made.
        self.assertFalse(os.path.exists(os.path.join(self.cwd, "file")))

    def test_550_on_retr_leaves_no_file(self):
        f, _, _ = self.retr_server(retr="550 No such file or directory.")
        self.write(os.path.join(self.cwd, "file"), b"older")
        self.assertFailsWithin(("get", "-m", "5", f.url("/file")), 3, BOUND, "550",
                               "No such file")
        self.assertEqual(self.read(os.path.join(self.cwd, "file")), b"older")

    def test_active_connection_from_another_host_is_refused(self):
        # The server's side of EPRT: first a connection from 127.0.0.2 (not the control
        # connection's peer) carrying junk, then the real one from 127.0.0.1.
        def eprt(arg):
            port = int(arg.split("|")[3])

            def connect_both():
                evil = socket.socket()
                evil.bind(("127.0.0.2", 0))
                evil.settimeout(TIMEOUT)
                try:
                    evil.connect(("127.0.0.1", port))
                    evil.sendall(b"INJECTED")
                    evil.recv(1)  # until the client closes it
                except OSError:
                    pass
                evil.close()
                with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as good:
                    good.sendall(BODY)
            threading.Thread(target=connect_both, daemon=True).start()
            return "200 EPRT ok"

        f, _ = self.fake({"EPRT": eprt, "RETR": "150 here\r\n226 done"})
        r = self.ok(self.sockit("get", "--active", "-m", "10", "-o", "-", f.url("/file")))
        self.assertEqual(r.stdout, BODY)


class TestWholeDeadline(HostileBase):
    def test_slow_replies_add_up_within_m(self):
        # Each reply takes 0.8 s, under -m 2 alone, but login, FEAT, TYPE, EPSV, PASV ... add
        # up: -m bounds the whole command, not each wait (as curl --max-time does).
        stop = threading.Event()
        self.addCleanup(stop.set)

        def slow(reply):
            def answer(arg):
                stop.wait(0.8)  # the server's pace, not an ordering wait
                return reply
            return answer

        f, _ = self.fake({v: slow(r) for v, r in (
            ("USER", "331 pw"), ("PASS", "230 ok"), ("FEAT", "211 none"), ("TYPE", "200 ok"),
            ("EPSV", "500 no"), ("PASV", "500 no"), ("SIZE", "550 no"))})
        self.assertFailsWithin(("get", "-m", "2", "-o", "-", f.url("/file")), 2, 5, "timed out")


# ---- TLS negotiation ----------------------------------------------------------------------------

class TestTlsRefused(HostileBase):
    def test_auth_tls_refused_never_falls_back_to_plaintext(self):
        for reply in ("500 AUTH not understood", "530 Please login with USER and PASS.",
                      "23x not a code"):
            with self.subTest(reply=reply):
                f, rec = self.fake({"AUTH": reply})
                self.assertFailsWithin(("ls", "--tls", "-k", "-m", "5",
                                        "ftp://alice:secret@127.0.0.1:%d/" % f.port), 3, BOUND)
                self.assertNotIn("USER", rec.verbs())
                self.assertNotIn("PASS", rec.verbs())


    def test_no_tls_behind_234(self):
        f, rec = self.fake({"AUTH": "234 go ahead"})
        # No TLS server behind the 234: the handshake fails (3), nothing else is sent.
        self.assertFailsWithin(("ls", "--tls", "-k", "-m", "5", f.url("/")), 3, BOUND)
        self.assertEqual(rec.verbs(), ["AUTH"])

    def tls_fake(self, replies):
        """A server that does AUTH TLS for real (the test CA's certificate for localhost and
        127.0.0.1), then answers as replies say over TLS."""
        rec = Recorded(replies)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERTS["srv"], CERTS["srv_key"])

        def handler(conn, fake):
            conn.sendall(b"220 tls fake\r\n")
            if ftp_peers.read_line(conn) != "AUTH TLS":
                return
            conn.sendall(b"234 go\r\n")
            tls = fake.track(ctx.wrap_socket(conn, server_side=True))
            dialogue(tls, rec.replies, banner=None)

        f = Fake(handler)
        self.servers.append(f)
        return f, rec

    def test_prot_p_or_pbsz_refused(self):
        for verb in ("PBSZ", "PROT"):
            with self.subTest(verb=verb):
                f, rec = self.tls_fake({verb: "536 not with this server"})
                self.assertFailsWithin(("ls", "--tls", "--cacert", CERTS["ca"], "-m", "5",
                                        f.url("/")), 3, BOUND, verb, "536 not with this server")
                for never in ("EPSV", "PASV", "MLSD", "NLST", "RETR"):
                    self.assertNotIn(never, rec.verbs())

    def test_plaintext_data_after_prot_p(self):
        # PROT P was accepted, but the data connection speaks plain bytes: a TLS failure (3),
        # and none of those bytes reach the output.
        p = self.data(send_body(b"NOT TLS " * 100))
        f, _ = self.tls_fake({"EPSV": epsv_reply(p.port), "RETR": "150 here\r\n226 done"})
        r = self.sockit("get", "--tls", "--cacert", CERTS["ca"], "-m", "5", "-o", "-",
                        f.url("/file"))
        self.assertOneLineError(r, 3)
        self.assertEqual(r.stdout, b"")


# ---- paths and logins in URLs ---------------------------------------------------------------

class TestUrls(HostileBase):
    def test_crlf_in_the_path_is_refused_before_connecting(self):
        f, rec = self.fake({})
        for path in ("/a%0d%0aDELE%20x", "/a%0aDELE%20x", "/a%0dDELE", "/a%00b"):
            for sub in ("get", "rm", "mkdir", "ls"):
                with self.subTest(sub=sub, path=path):
                    args = (sub, "-m", "5") + (("-o", "-") if sub == "get" else ())
                    r = self.sockit(*args, f.url(path))
                    self.assertOneLineError(r, 1)
        r = self.sockit("put", "-m", "5", self.write(self.path("up"), b"x"), f.url("/a%0d%0aDELE%20x"))
        self.assertOneLineError(r, 1)
        self.assertNotIn("DELE", rec.verbs())
        self.assertEqual(rec.log, [])

    def test_crlf_in_user_or_password_is_refused(self):
        f, rec = self.fake({})
        for userinfo in ("a%0d%0aDELE%20x:p", "a:p%0d%0aDELE%20x", "a%00:p"):
            with self.subTest(userinfo=userinfo):
                r = self.sockit("ls", "-m", "5", "ftp://%s@127.0.0.1:%d/" % (userinfo, f.port))
                self.assertOneLineError(r, 1)
        self.assertNotIn("DELE", rec.verbs())
        self.assertNotIn("PASS", rec.verbs())

    def test_usage_errors_never_show_the_password(self):
        for url in ("http://u:SECRETPW@h/", "ftp://u:SECRETPW@h/a%0d%0ab"):
            with self.subTest(url=url):
                err = self.assertOneLineError(self.sockit("ls", url), 1)
                self.assertNotIn("SECRETPW", err)
                self.assertIn("****", err)

    def test_spaces_and_utf8_in_paths(self):
        p = self.data(send_body(BODY))
        f, rec = self.fake({"EPSV": epsv_reply(p.port), "RETR": "150 here\r\n226 done"})
        r = self.ok(self.get("-o", "-", f.url("/dir%20one/caf%C3%A9%20menu.txt")))
        self.assertEqual(r.stdout, BODY)
        # Latin-1 decoding of what came: the UTF-8 bytes, sent as they are.
        self.assertIn(("RETR", "dir one/caf\u00c3\u00a9 menu.txt"), rec.log)

    def test_special_characters_in_user_and_password(self):
        f, rec = self.fake({"LIST": "550 nothing"})
        self.sockit("rm", "-m", "5", "ftp://us%%40er%%3Ax:p%%3Aa%%40ss%%25@127.0.0.1:%d/f" % f.port)
        self.assertIn(("USER", "us@er:x"), rec.log)
        self.assertIn(("PASS", "p:a@ss%"), rec.log)


# ---- (2) a new user's habits, on pyftpdlib ----------------------------------------------------

class TestUserHabits(test_ftp.PyftpdBase):
    def setUp(self):
        super().setUp()
        self.write(os.path.join(self.home, "a.txt"), b"hello\n")
        self.s = self.pyftpd()

    def test_ls_of_a_file_names_it(self):
        # ls(1), lftp and ftplib's nlst() list a file as itself; MLSD alone would say "501"
        # (found by this review; w/ftpcli fixed it with MLST, d625503).
        r = self.ok(self.sockit("ls", "-m", "10", self.s.url("/a.txt")))
        self.assertEqual(r.stdout, b"a.txt\n")
        r = self.ok(self.sockit("ls", "-l", "-m", "10", self.s.url("/a.txt")))
        self.assertRegex(r.stdout.decode(), r"^file +6 \S+ a.txt\n$")
        # A missing path: an error reply, one line.
        self.assertOneLineError(self.sockit("ls", "-m", "10", self.s.url("/nope")), 3, "nope")

    def test_get_habits(self):
        url = self.s.url("/a.txt")
        # As curl -O: the file's own name in the current directory, nothing on stdout.
        r = self.ok(self.sockit("get", "-m", "10", url))
        self.assertEqual(r.stdout, b"")
        self.assertEqual(self.read(os.path.join(self.cwd, "a.txt")), b"hello\n")
        # -C on a complete file: nothing to do, success, the file untouched.
        self.ok(self.sockit("get", "-C", "-m", "10", url))
        self.assertEqual(self.read(os.path.join(self.cwd, "a.txt")), b"hello\n")
        # A missing file: the server's 550, and no empty file left behind.
        self.assertOneLineError(self.sockit("get", "-m", "10", self.s.url("/nope.txt")), 3,
                                "550")
        self.assertFalse(os.path.exists(os.path.join(self.cwd, "nope.txt")))
        # Wrong password: the server's 530 in one line.
        bad = self.s.url("/a.txt", password="wrong")
        self.assertOneLineError(self.sockit("get", "-o", "-", "-m", "10", bad), 3,
                                "login failed", "530")


def main(module="__main__"):
    return test_cli.main(module)


if __name__ == "__main__":
    sys.exit(main())
