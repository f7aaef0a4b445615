#!/usr/bin/env python3
"""The docs/ sections on the commands keep up with them: every flag that `sockit http get --help`
lists is named in docs/http-client.md's "The command: sockit http get", every flag of
`sockit ftp --help` in docs/ftp.md's "The command: sockit ftp", and each section gives the exit
statuses and examples (```sh blocks).
By hand: SOCKIT_BIN=build/bin/sockit python3 tests/cli/test_command_docs.py
"""
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_cli  # noqa: E402

SRC = os.environ.get("SOCKIT_SOURCE_DIR", os.path.join(HERE, "..", ".."))


def section(doc, title):
    """The text of `## title` in docs/doc, up to the next `## ` heading."""
    with open(os.path.join(SRC, "docs", doc)) as f:
        text = f.read()
    start = text.index("\n## " + title + "\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def help_flags(*args):
    """Each option line of the command's --help as its list of spellings (["-L", "--location"])."""
    r = subprocess.run([test_cli.BIN, *args, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, r.stderr
    out = []
    for line in r.stdout.decode().splitlines():
        m = re.match(r"^\s+((?:-\w|--[\w.-]+)(?:, (?:-\w|--[\w.-]+))*)\s", line)
        if m:
            out.append(m.group(1).split(", "))
    return out


class TestCommandDocs(unittest.TestCase):
    def check(self, doc, title, *cmd):
        text = section(doc, title)
        flags = help_flags(*cmd)
        self.assertGreater(len(flags), 5)
        for spellings in flags:
            with self.subTest(flag=spellings[0]):
                self.assertTrue(any(re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(f), text)
                                    for f in spellings), spellings)
        self.assertIn("Exit status", text)
        self.assertIn("```sh\n", text)
        self.assertIn("sockit " + " ".join(cmd), text.split("```sh\n", 1)[1])

    def test_http_get(self):
        self.check("http-client.md", "The command: sockit http get", "http", "get")

    def test_ftp(self):
        self.check("ftp.md", "The command: sockit ftp", "ftp")


if __name__ == "__main__":
    sys.exit(test_cli.main())
