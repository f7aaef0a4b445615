#!/usr/bin/env python3
"""`sockit http get` downloads 1 GiB from Debian's nginx over loopback into a file, and the file's
sha256 is the served file's (its own ctest entry, so its time budget is its own). The file is
made here, 1 MiB blocks of pseudo-random bytes each stamped with its index (a block repeated or
out of place changes the checksum), in a temporary directory removed at the end.
By hand: SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_http_get_big.py
"""
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import http_peers as hp  # noqa: E402

SIZE = 1 << 30
BLOCK = 1 << 20
TMP = None


def make_file(path):
    """Writes SIZE bytes; returns their sha256."""
    base = bytearray(hp.data(BLOCK, 31))
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(SIZE // BLOCK):
            base[0:8] = struct.pack("<Q", i)
            f.write(base)
            h.update(base)
    return h.hexdigest()


class TestBig(hp.GetTest):
    def test_one_gib_from_nginx_exact(self):
        root = os.path.join(TMP, "root")
        os.makedirs(root)
        digest = make_file(os.path.join(root, "big.bin"))
        srv = hp.Nginx(root)
        try:
            out = os.path.join(TMP, "big.out")
            r = hp.get("-o", out, "-w", "%{size_download} %{http_code}", srv.url("/big.bin"),
                       timeout=240)
            self.assertOK(r)
            self.assertEqual(r.stdout, b"%d 200" % SIZE)
            self.assertEqual(os.path.getsize(out), SIZE)
            self.assertFileSha(out, digest)
            print("1 GiB in %.2f s" % r.elapsed)
        finally:
            srv.stop()


def main():
    return hp.main_with_tmp(__name__, "sockit-http-get-big-")


if __name__ == "__main__":
    sys.exit(main())
