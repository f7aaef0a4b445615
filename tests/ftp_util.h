/*
 * ftp_util.h — the FTP tests' real server: pyftpdlib (Debian's python3-pyftpdlib), started by the
 * test from a script of its own, on 127.0.0.1 port 0 (the port read back from its stdout).
 *
 * Server layout under the fixture's directory:
 *   home/   the user "user" (password "secret"), every permission
 *   home/pub/  the anonymous root, read-only
 * Flags (comma-separated) change the handler:
 *   noepsv   EPSV answers 502 (the client must fall back to PASV)
 *   noeprt   EPRT answers 500 (active mode must fall back to PORT)
 *   badpasv  the 227 reply carries 127.0.0.2 instead of the server's address
 *   nomlsd   no MLSD/MLST (the client must list with LIST)
 *   tls      TLS_FTPHandler, TLS required on control and data connections
 *   short    RETR of a name starting with "short" sends half the file, then 226
 *   v6       listen on ::1 instead of 127.0.0.1
 */
#ifndef SOCKIT_FTP_UTIL_H
#define SOCKIT_FTP_UTIL_H

#include "tls_util.h"

#include <sockit/ftp.h>

#include <fcntl.h>
#include <sys/stat.h>

#define FTPU_PYTHON "/usr/bin/python3"

static const char ftpu_script[] =
    "import os, sys\n"
    "from pyftpdlib.authorizers import DummyAuthorizer\n"
    "from pyftpdlib import handlers\n"
    "from pyftpdlib.servers import FTPServer\n"
    "root, flags = sys.argv[1], sys.argv[2].split(',')\n"
    "a = DummyAuthorizer()\n"
    "a.add_user('user', 'secret', os.path.join(root, 'home'), perm='elradfmwMT')\n"
    "a.add_anonymous(os.path.join(root, 'home', 'pub'))\n"
    "base = handlers.TLS_FTPHandler if 'tls' in flags else handlers.FTPHandler\n"
    "class Half:\n"
    "    def __init__(self, f):\n"
    "        self.f = f; self.left = os.fstat(f.fileno()).st_size // 2; self.name = f.name\n"
    "        self.closed = False\n"
    "    def read(self, n):\n"
    "        n = min(n, self.left); self.left -= n\n"
    "        return self.f.read(n) if n > 0 else b''\n"
    "    def seek(self, *a): return self.f.seek(*a)\n"
    "    def fileno(self): raise OSError('no fileno: no sendfile')\n"
    "    def close(self): self.closed = True; self.f.close()\n"
    "class H(base):\n"
    "    if 'noepsv' in flags:\n"
    "        def ftp_EPSV(self, line): self.respond('502 EPSV not implemented here.')\n"
    "    if 'noeprt' in flags:\n"
    "        def ftp_EPRT(self, line): self.respond('500 EPRT not understood.')\n"
    "    if 'short' in flags:\n"
    "        def ftp_RETR(self, file):\n"
    "            if not os.path.basename(file).startswith('short'):\n"
    "                return base.ftp_RETR(self, file)\n"
    "            fd = Half(open(file, 'rb'))\n"
    "            self.push_dtp_data(handlers.FileProducer(fd, self._current_type),\n"
    "                               isproducer=True, file=fd, cmd='RETR')\n"
    "            return file\n"
    "if 'badpasv' in flags: H.masquerade_address = '127.0.0.2'\n"
    "if 'nomlsd' in flags:\n"
    "    H.proto_cmds = {k: v for k, v in H.proto_cmds.items() if k not in ('MLSD', 'MLST')}\n"
    "if 'tls' in flags:\n"
    "    H.certfile, H.keyfile = sys.argv[3], sys.argv[4]\n"
    "    H.tls_control_required = H.tls_data_required = True\n"
    "H.authorizer = a\n"
    "H.timeout = 60\n"
    "s = FTPServer(('::1' if 'v6' in flags else '127.0.0.1', 0), H)\n"
    "s.max_cons = 64\n"
    "print('PORT', s.address[1], flush=True)\n"
    "s.serve_forever(handle_exit=False)\n";

typedef struct ftpu_server {
    tlsu_child ch;
    char dir[64];
    char home[128];  /* the user's root */
    char pub[160];   /* the anonymous root */
    char port[8];
} ftpu_server;

/* 1 if pyftpdlib can run here. */
static inline int ftpu_available(void)
{
    return tlsu_sh(FTPU_PYTHON " -c 'import pyftpdlib, OpenSSL'") == 0;
}

/* Starts pyftpdlib with flags (see above); cert and key for "tls". 0 or -1 (the reason printed). */
static inline int ftpu_start(ftpu_server *s, const char *flags, const char *cert, const char *key)
{
    char script[160], buf[4096];
    memset(s, 0, sizeof *s);
    if (!*tu_tempdir(s->dir, sizeof s->dir)) return -1;
    snprintf(s->home, sizeof s->home, "%s/home", s->dir);
    snprintf(s->pub, sizeof s->pub, "%s/home/pub", s->dir);
    snprintf(script, sizeof script, "%s/server.py", s->dir);
    if (tlsu_sh("mkdir -p %s", s->pub) != 0) return -1;
    FILE *f = fopen(script, "w");
    if (!f) return -1;
    fputs(ftpu_script, f);
    fclose(f);
    char *argv[] = {FTPU_PYTHON, script, s->dir, (char *)flags, (char *)(cert ? cert : "-"),
                    (char *)(key ? key : "-"), NULL};
    if (tlsu_spawn(&s->ch, s->dir, "pyftpdlib", "/dev/null", argv) < 0) return -1;
    double end = tu_now() + 20;
    while (tu_now() < end) {
        if (tlsu_slurp(s->ch.out, buf, sizeof buf) > 0) {
            const char *p = strstr(buf, "PORT ");
            if (p && strchr(p, '\n')) {
                snprintf(s->port, sizeof s->port, "%d", atoi(p + 5));
                return 0;
            }
        }
        if (tlsu_reap(&s->ch, 0.02) >= 0) break;
    }
    tlsu_slurp(s->ch.err, buf, sizeof buf);
    fprintf(stderr, "pyftpdlib did not start: %s\n", buf);
    return -1;
}

static inline void ftpu_stop(ftpu_server *s)
{
    tlsu_kill(&s->ch);
    tlsu_rmdir(s->dir);
}

/* Writes n bytes of the seeded stream to path; 0 or -1. */
static inline int ftpu_make_file(const char *path, uint64_t seed, size_t n)
{
    return tlsu_stream_file(path, seed, n);
}

/* In a test case: declares and starts server s (flags as ftpu_start, certificates from the
 * tlsu_certs C), or SKIPs the case without pyftpdlib; a failed start fails it. */
#define FTPU_NEED_SERVER(s, flags, C)                                                            \
    ftpu_server s;                                                                               \
    if (!ftpu_available()) {                                                                     \
        TU_SKIP("pyftpdlib is not installed (apt-get install python3-pyftpdlib python3-openssl)"); \
        return;                                                                                  \
    }                                                                                            \
    if (ftpu_start(&s, flags, (C).srv, (C).srv_key) < 0) {                                       \
        CHECK_TRUE(0);                                                                           \
        return;                                                                                  \
    }

/* Connects and logs in to 127.0.0.1:port (user NULL: anonymous). NULL on failure (printed). */
static inline sockit_ftp *ftpu_login(const char *port, const char *user, const char *pass,
                                     const sockit_ftp_opts *o)
{
    sockit_ftp *f = NULL;
    if (sockit_ftp_connect(&f, "127.0.0.1", port, o) < 0 || sockit_ftp_login(f, user, pass) < 0) {
        fprintf(stderr, "ftp login to %s: %s\n", port, sockit_errmsg());
        sockit_ftp_close(f);
        return NULL;
    }
    return f;
}

/* Collects a listing's names, "\n"-separated, sorted by the caller's order of arrival. */
typedef struct ftpu_names {
    char buf[8192];
    size_t n;
    int count;
} ftpu_names;

static inline int ftpu_add_name(void *arg, const sockit_ftp_entry *e)
{
    ftpu_names *x = arg;
    if (x->n + e->name.n + 2 < sizeof x->buf) {
        memcpy(x->buf + x->n, e->name.p, e->name.n);
        x->n += e->name.n;
        x->buf[x->n++] = '\n';
        x->buf[x->n] = 0;
    }
    x->count++;
    return 0;
}

static inline int ftpu_add_line(void *arg, const char *line, size_t len)
{
    ftpu_names *x = arg;
    if (x->n + len + 2 < sizeof x->buf) {
        memcpy(x->buf + x->n, line, len);
        x->n += len;
        x->buf[x->n++] = '\n';
        x->buf[x->n] = 0;
    }
    x->count++;
    return 0;
}

#endif
