#!/usr/bin/env python3
"""A real browser against `sockit http serve`: headless Chromium (Debian's `chromium`).

The served page pulls a stylesheet, a script and a PNG image; the script (run at the window's
load event, when all three have arrived) adds an element and writes into the DOM what the
browser computed: the image's naturalWidth/naturalHeight and a colour set by the stylesheet.
`chromium --headless --dump-dom` prints the rendered DOM, which the test checks — what a person
would see. A directory listing is loaded the same way, and one screenshot proves the page
renders (kept in a temporary directory, never in the repository). The server's access log shows
every resource was fetched from it. Prints SKIP and passes when chromium is not installed
(scripts/deps.sh test installs it).
Run by ctest with SOCKIT_BIN set; by hand: SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_http_browser.py
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_http_serve as ths  # noqa: E402  (its Server helper)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TIMEOUT = 180 if ths.SANITIZED else 90
TMP = None
WWW = None

INDEX = b"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>sockit browser test</title>
<link rel="stylesheet" href="css/style.css">
<script src="js/app.js"></script></head>
<body><h1 id="title">Served by sockit</h1>
<img id="img" src="img/pic.png" alt="a 7x5 picture">
</body></html>
"""
CSS = b"#title { color: rgb(1, 2, 3); }\n"
JS = b"""window.addEventListener('load', function () {
  var img = document.getElementById('img');
  var p = document.createElement('p');
  p.id = 'js-added';
  p.textContent = 'added by script; image ' + img.naturalWidth + 'x' + img.naturalHeight +
      '; title colour ' + getComputedStyle(document.getElementById('title')).color;
  document.body.appendChild(p);
});
"""


def png(w, h):
    """A valid RGB PNG of w x h pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + bytes([200, 30, 30]) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def chromium(*args):
    """Runs headless chromium with a fresh profile; returns its stdout (text)."""
    profile = tempfile.mkdtemp(prefix="profile-", dir=TMP)
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--virtual-time-budget=10000",
            *args]
    r = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    return r.stdout.decode("utf-8", "replace")


class TestBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ths.Server(directory=WWW)

    @classmethod
    def tearDownClass(cls):
        assert cls.srv.stop() == 0

    def test_page_with_css_js_image(self):
        dom = chromium("--dump-dom", self.srv.url("/"))
        self.assertIn("Served by sockit", dom)
        self.assertIn('id="js-added"', dom, dom)
        self.assertIn("image 7x5", dom)                 # the PNG arrived and decoded
        self.assertIn("title colour rgb(1, 2, 3)", dom)  # the stylesheet applied
        log = "\n".join(self.srv.log_lines())
        for path in ("/css/style.css", "/js/app.js", "/img/pic.png"):
            self.assertRegex(log, r'"GET %s HTTP/1.1" 200 \d+' % path)

    def test_directory_listing(self):
        dom = chromium("--dump-dom", self.srv.url("/files/"))
        self.assertIn("Index of /files/", dom)
        self.assertIn("report &amp; notes.txt", dom)
        self.assertIn('href="report%20%26%20notes.txt"', dom)
        self.assertIn('href="../"', dom)
        self.assertIn('href="sub/"', dom)

    def test_redirect_to_slash_followed(self):
        dom = chromium("--dump-dom", self.srv.url("/files"))
        self.assertIn("Index of /files/", dom)

    def test_screenshot(self):
        shot = os.path.join(TMP, "shot.png")
        chromium("--screenshot=" + shot, "--window-size=800,600", self.srv.url("/"))
        with open(shot, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        w, h = struct.unpack(">II", data[16:24])
        self.assertEqual((w, h), (800, 600))


def main():
    global TMP, WWW
    if not os.path.exists(ths.BIN):  # the command is built: its absence fails
        print("%s not built" % ths.BIN)
        print("0 passed, 1 failed")
        return 1
    if not CHROMIUM:
        print("SKIP: chromium is not installed (scripts/deps.sh test installs it)")
        print("0 passed, 0 failed")
        return 0
    TMP = tempfile.mkdtemp(prefix="sockit-browser-")
    WWW = os.path.join(TMP, "www")
    ths.TIMEOUT = TIMEOUT
    try:
        write(os.path.join(WWW, "index.html"), INDEX)
        write(os.path.join(WWW, "css", "style.css"), CSS)
        write(os.path.join(WWW, "js", "app.js"), JS)
        write(os.path.join(WWW, "img", "pic.png"), png(7, 5))
        write(os.path.join(WWW, "files", "report & notes.txt"), b"notes\n")
        write(os.path.join(WWW, "files", "data.json"), b"{}\n")
        os.makedirs(os.path.join(WWW, "files", "sub"))
        return ths.run_suite(__name__)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
