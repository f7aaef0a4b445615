#!/usr/bin/env python3
"""pyftpd_server: the pyftpdlib server of bench/ftp_bench.sh (Debian's python3-pyftpdlib).

One process (pyftpdlib's default async loop), binding 127.0.0.1:PORT, serving DIR to the user
USER:PASS with every permission (list, read, write, delete, rename, mkdir). With --cert and
--key it is TLS_FTPHandler (pyOpenSSL): explicit FTPS (AUTH TLS) is offered but not required,
so one server takes both the plain and the FTPS clients; the FTPS clients ask for PROT P. Plain
downloads use sendfile (pyftpdlib's default when there is no TLS on the data connection).
pyftpdlib 1.5.7 (Debian 12) closes a TLS data connection whose client starts the handshake before
the transfer command, as curl does (giampaolo/pyftpdlib#604: "curl: (13) Bad PASV/EPSV response");
the data handler here carries upstream's one-line fix (#612, after 1.5.7).

Usage: pyftpd_server.py PORT DIR USER PASS [--cert FILE --key FILE]
Prints "listening on 127.0.0.1:PORT" on stderr once it accepts; runs until SIGTERM.
"""
import argparse
import logging
import signal
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("dir")
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    auth = DummyAuthorizer()
    auth.add_user(a.user, a.password, a.dir, perm="elradfmwMT")
    handler = FTPHandler
    if a.cert:
        from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler

        class DTPHandler(TLS_DTPHandler):
            """pyftpdlib's fix #612: readable while the TLS handshake is being accepted."""

            def readable(self):
                return self._ssl_accepting or super().readable()

        handler = TLS_FTPHandler
        handler.dtp_handler = DTPHandler
        handler.certfile = a.cert
        handler.keyfile = a.key
        handler.tls_control_required = False
        handler.tls_data_required = False
    handler.authorizer = auth
    handler.banner = "pyftpdlib bench server"
    server = FTPServer(("127.0.0.1", a.port), handler)
    signal.signal(signal.SIGTERM, lambda *_: server.close_all() or sys.exit(0))
    print(f"listening on 127.0.0.1:{server.address[1]}", file=sys.stderr, flush=True)
    server.serve_forever(handle_exit=False)


if __name__ == "__main__":
    main()
