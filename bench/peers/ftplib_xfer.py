#!/usr/bin/env python3
"""ftplib_xfer: the Python ftplib peer of bench/ftp_bench.sh.

get: RETR the URL's file into LOCAL (/dev/null or a file); put: STOR LOCAL to the URL's path.
Binary transfers (retrbinary/storbinary) with 256 KiB blocks (ftplib's default is 8 KiB; sockit's
transfer buffer is 256 KiB). Passive mode (ftplib's default: EPSV on IPv6, PASV on IPv4).
--tls: explicit FTPS with FTP_TLS (AUTH TLS, PBSZ 0, PROT P), the certificate checked against
--cafile. ftplib does not resume the control connection's TLS session on the data connection,
so servers requiring it (vsftpd require_ssl_reuse=YES) refuse its transfers; ntransfercmd is
overridden the usual way (wrap_socket(..., session=self.sock.session)) so that it works.
The byte count is checked against SIZE for get, and the remote SIZE after put.

Usage: ftplib_xfer.py [--tls] [--cafile FILE] get URL LOCAL
       ftplib_xfer.py [--tls] [--cafile FILE] put LOCAL URL
Exit 0 on success, 1 otherwise (the reason on stderr).
"""
import argparse
import ftplib
import os
import ssl
import sys
import urllib.parse

BLOCK = 256 * 1024


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("op", choices=["get", "put"])
    ap.add_argument("a")
    ap.add_argument("b")
    a = ap.parse_args()
    url, local = (a.a, a.b) if a.op == "get" else (a.b, a.a)
    u = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(u.path.lstrip("/"))
    if a.tls:
        ctx = ssl.create_default_context(cafile=a.cafile)
        ftp = ReusingFTP_TLS(context=ctx)
    else:
        ftp = ftplib.FTP()
    ftp.connect(u.hostname, u.port or 21)
    ftp.login(urllib.parse.unquote(u.username or "anonymous"),
              urllib.parse.unquote(u.password or "anonymous@"))
    if a.tls:
        ftp.prot_p()
    ftp.voidcmd("TYPE I")   # SIZE is refused in ASCII mode by some servers (pyftpdlib)
    if a.op == "get":
        size = ftp.size(path)
        got = 0
        with open(local, "wb", buffering=0) as f:
            def sink(data):
                nonlocal got
                got += len(data)
                f.write(data)
            ftp.retrbinary("RETR " + path, sink, blocksize=BLOCK)
        if got != size:
            print(f"ftplib_xfer: {got} of {size} bytes", file=sys.stderr)
            return 1
    else:
        size = os.path.getsize(local)
        with open(local, "rb") as f:
            ftp.storbinary("STOR " + path, f, blocksize=BLOCK)
        remote = ftp.size(path)
        if remote != size:
            print(f"ftplib_xfer: the server has {remote} of {size} bytes", file=sys.stderr)
            return 1
    ftp.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
