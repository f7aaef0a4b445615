/*
 * tls_util.h — helpers for test_tls.c, on top of testutil.h: certificates made at test start with
 * the openssl command, OpenSSL's own tools (s_server, s_client) run as child processes with
 * bounded waits, and the byte stream the bulk tests send (chunks of tu_fill, hashed with FNV-1a).
 *
 * Every wait here has a bound; a child that outstays it is killed.
 */
#ifndef SOCKIT_TLS_UTIL_H
#define SOCKIT_TLS_UTIL_H

#include "testutil.h"

#include <sockit/server.h>
#include <sockit/tls.h>

#include <poll.h>
#include <stdarg.h>
#include <sys/prctl.h>

/* ---- certificates -------------------------------------------------------------------------- */

typedef struct tlsu_certs {
    char dir[64];
    char ca[128], ca_key[128];       /* the test CA */
    char srv[128], srv_key[128];     /* localhost + IP 127.0.0.1, signed by the CA */
    char self[128], self_key[128];   /* self-signed, localhost + 127.0.0.1 */
    char other[128], other_key[128]; /* other.test, signed by the CA */
    char expired[128], expired_key[128]; /* localhost + 127.0.0.1, CA-signed, expired in 2020 */
} tlsu_certs;

/* Runs a shell command (formatted), its output discarded; the exit status, -1 if it did not run. */
static inline int tlsu_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[4200];
    snprintf(full, sizeof full, "(%s) >/dev/null 2>&1", cmd);
    int st = system(full);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

#define TLSU_KEYGEN "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

/* Makes the CA and the four leaf certificates in a fresh directory under /tmp. 0 or -1. */
static inline int tlsu_make_certs(tlsu_certs *c)
{
    memset(c, 0, sizeof *c);
    if (!*tu_tempdir(c->dir, sizeof c->dir)) return -1;
#define TLSU_PATH(f, name) snprintf(c->f, sizeof c->f, "%s/" name, c->dir)
    TLSU_PATH(ca, "ca.pem");
    TLSU_PATH(ca_key, "ca.key");
    TLSU_PATH(srv, "srv.pem");
    TLSU_PATH(srv_key, "srv.key");
    TLSU_PATH(self, "self.pem");
    TLSU_PATH(self_key, "self.key");
    TLSU_PATH(other, "other.pem");
    TLSU_PATH(other_key, "other.key");
    TLSU_PATH(expired, "expired.pem");
    TLSU_PATH(expired_key, "expired.key");
#undef TLSU_PATH
    const char *d = c->dir;
    int r = 0;
    r |= tlsu_sh("cd %s && openssl req -x509 " TLSU_KEYGEN " -keyout ca.key -out ca.pem -days 30"
                 " -subj '/CN=sockit test CA' -addext basicConstraints=critical,CA:TRUE"
                 " -addext keyUsage=critical,keyCertSign,cRLSign", d);
    r |= tlsu_sh("cd %s && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > srv.ext &&"
                 " openssl req " TLSU_KEYGEN " -keyout srv.key -out srv.csr -subj /CN=localhost &&"
                 " openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 30"
                 " -extfile srv.ext -out srv.pem", d);
    r |= tlsu_sh("cd %s && openssl req -x509 " TLSU_KEYGEN " -keyout self.key -out self.pem -days 30"
                 " -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1", d);
    r |= tlsu_sh("cd %s && printf 'subjectAltName=DNS:other.test\\n' > other.ext &&"
                 " openssl req " TLSU_KEYGEN " -keyout other.key -out other.csr -subj /CN=other.test &&"
                 " openssl x509 -req -in other.csr -CA ca.pem -CAkey ca.key -set_serial 3 -days 30"
                 " -extfile other.ext -out other.pem", d);
    /* OpenSSL 3.0's x509 has no -not_before/-not_after: `openssl ca` with explicit dates does it. */
    r |= tlsu_sh("cd %s && mkdir -p cadb && : > cadb/index.txt && echo 10 > cadb/serial &&"
                 " printf '[ca]\\ndefault_ca=d\\n[d]\\ndir=.\\ndatabase=cadb/index.txt\\n"
                 "serial=cadb/serial\\nnew_certs_dir=cadb\\ndefault_md=sha256\\npolicy=p\\n"
                 "copy_extensions=copy\\nunique_subject=no\\n[p]\\ncommonName=supplied\\n' > ca.cnf &&"
                 " openssl req " TLSU_KEYGEN " -keyout expired.key -out expired.csr -subj /CN=localhost"
                 " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 &&"
                 " openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr"
                 " -out expired.pem -notext -startdate 20200101000000Z -enddate 20200102000000Z", d);
    return r ? -1 : 0;
}

static inline void tlsu_rmdir(const char *dir)
{
    if (dir && !strncmp(dir, "/tmp/sockit-test-", 17)) tlsu_sh("rm -rf '%s'", dir);
}

/* ---- child processes ------------------------------------------------------------------------ */

typedef struct tlsu_child {
    pid_t pid;
    int in;          /* our end of the child's standard input (a socketpair: no SIGPIPE), or -1 */
    int status;      /* exit status once reaped (-1: killed or unknown) */
    char out[160];   /* the child's standard output and error go to these files */
    char err[160];
} tlsu_child;

/* Starts argv[0] with stdin from in_file (NULL: a socketpair whose other end is ch->in, kept open
 * so the child never sees end of input until we close it), stdout and stderr to files in dir. */
static inline int tlsu_spawn(tlsu_child *ch, const char *dir, const char *tag, const char *in_file,
                             char *const argv[])
{
    static int seq;
    int n = __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED);
    memset(ch, 0, sizeof *ch);
    ch->in = -1;
    ch->status = -1;
    snprintf(ch->out, sizeof ch->out, "%s/%s-%d.out", dir, tag, n);
    snprintf(ch->err, sizeof ch->err, "%s/%s-%d.err", dir, tag, n);
    int sp[2] = {-1, -1};
    if (!in_file && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        /* Dies with us, even when the watchdog ends the test (spawned from the main thread). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int in = in_file ? open(in_file, O_RDONLY) : sp[1];
        int out = open(ch->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(ch->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0) _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        _exit(127);
    }
    ch->pid = pid;
    if (!in_file) {
        close(sp[1]);
        ch->in = sp[0];
    }
    return 0;
}

/* Waits up to secs for the child to exit: its exit status (128+sig if killed by a signal), or
 * -1 if it is still running. */
static inline int tlsu_reap(tlsu_child *ch, double secs)
{
    if (ch->pid <= 0) return ch->status;
    double end = tu_now() + secs;
    for (;;) {
        int st;
        pid_t r = waitpid(ch->pid, &st, WNOHANG);
        if (r == ch->pid) {
            ch->pid = 0;
            ch->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return ch->status;
        }
        if (r < 0 || tu_now() >= end) return -1;
        tu_sleep(0.005);
    }
}

static inline void tlsu_kill(tlsu_child *ch)
{
    if (ch->pid > 0) {
        kill(ch->pid, SIGKILL);
        waitpid(ch->pid, NULL, 0);
        ch->pid = 0;
    }
    if (ch->in >= 0) close(ch->in);
    ch->in = -1;
}

/* Sends all of buf to the child's standard input (MSG_NOSIGNAL: a child that died is -EPIPE). */
static inline int tlsu_feed(tlsu_child *ch, const void *buf, size_t len)
{
    const char *p = (const char *)buf;
    while (len > 0) {
        ssize_t n = send(ch->in, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The whole of a (small) file, NUL-terminated, into buf; its length or -1. */
static inline ssize_t tlsu_slurp(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        buf[0] = '\0';
        return -1;
    }
    size_t o = 0;
    ssize_t n;
    while (o + 1 < len && (n = read(fd, buf + o, len - 1 - o)) > 0) o += (size_t)n;
    buf[o] = '\0';
    close(fd);
    return (ssize_t)o;
}

static inline long long tlsu_fsize(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Waits until the file holds needle (or secs pass); 1 if it does. */
static inline int tlsu_wait_file(const char *path, const char *needle, double secs)
{
    static __thread char buf[65536];
    double end = tu_now() + secs;
    do {
        if (tlsu_slurp(path, buf, sizeof buf) >= 0 && strstr(buf, needle)) return 1;
        tu_sleep(0.01);
    } while (tu_now() < end);
    return 0;
}

/* A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, then released). */
static inline int tlsu_free_port(void)
{
    sockit_sock *s;
    char p[8];
    if (sockit_create_server(&s, "127.0.0.1", "0", NULL) < 0) return -1;
    int port = atoi(tu_portstr(s, p));
    sockit_close(s);
    return port;
}

/* openssl s_server on 127.0.0.1 with cert/key and extra arguments (NULL-terminated). Without
 * -quiet, port 0 is asked for and s_server's "ACCEPT 127.0.0.1:PORT" line read back; with -quiet
 * (which hides that line) a free port is picked and probed until s_server accepts, retrying on
 * the rare collision. port receives the port as text. 0 or -1. */
static inline int tlsu_s_server(tlsu_child *ch, const char *dir, const char *cert, const char *key,
                                int quiet, const char *const extra[], char port[8])
{
    for (int attempt = 0; attempt < 5; attempt++) {
        char accept[32];
        int p = quiet ? tlsu_free_port() : 0;
        snprintf(accept, sizeof accept, "127.0.0.1:%d", p);
        const char *argv[40] = {"openssl", "s_server", "-accept", accept, "-cert", cert, "-key", key};
        int n = 8;
        if (quiet) argv[n++] = "-quiet";
        for (int i = 0; extra && extra[i] && n < 38; i++) argv[n++] = extra[i];
        argv[n] = NULL;
        if (tlsu_spawn(ch, dir, "s_server", NULL, (char *const *)argv) < 0) return -1;
        if (!quiet) {
            char buf[4096];
            double end = tu_now() + 10;
            while (tu_now() < end) {
                tlsu_slurp(ch->out, buf, sizeof buf);
                const char *a = strstr(buf, "ACCEPT 127.0.0.1:");
                if (a && strchr(a, '\n')) {
                    snprintf(port, 8, "%d", atoi(a + 17));
                    return 0;
                }
                if (tlsu_reap(ch, 0) >= 0) break;
                tu_sleep(0.01);
            }
            tlsu_kill(ch);
            return -1;
        }
        snprintf(port, 8, "%d", p);
        double end = tu_now() + 10;
        while (tu_now() < end) {
            sockit_sock *probe;
            if (sockit_create_connection(&probe, "127.0.0.1", port, 1) == 0) {
                sockit_close(probe); /* s_server logs a failed handshake and goes on */
                return 0;
            }
            if (tlsu_reap(ch, 0) >= 0) break; /* it could not bind: another port */
            tu_sleep(0.02);
        }
        tlsu_kill(ch);
    }
    return -1;
}

/* ---- the bulk byte stream --------------------------------------------------------------------- */

#define TLSU_CHUNK (256 * 1024)

/* Chunk i of the stream with this seed (TLSU_CHUNK bytes). */
static inline void tlsu_chunk(void *buf, uint64_t seed, size_t i)
{
    tu_fill(buf, TLSU_CHUNK, seed * 1000003u + i + 1);
}

/* The FNV-1a of the first total bytes of the stream (total a multiple of TLSU_CHUNK). */
static inline uint64_t tlsu_stream_hash(uint64_t seed, size_t total)
{
    char *buf = (char *)malloc(TLSU_CHUNK);
    uint64_t h = TU_FNV_INIT;
    for (size_t i = 0; buf && i < total / TLSU_CHUNK; i++) {
        tlsu_chunk(buf, seed, i);
        h = tu_fnv1a(h, buf, TLSU_CHUNK);
    }
    free(buf);
    return h;
}

/* Writes the stream to a file. 0 or -1. */
static inline int tlsu_stream_file(const char *path, uint64_t seed, size_t total)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    char *buf = (char *)malloc(TLSU_CHUNK);
    int r = fd >= 0 && buf ? 0 : -1;
    for (size_t i = 0; r == 0 && i < total / TLSU_CHUNK; i++) {
        tlsu_chunk(buf, seed, i);
        if (write(fd, buf, TLSU_CHUNK) != TLSU_CHUNK) r = -1;
    }
    free(buf);
    if (fd >= 0) close(fd);
    return r;
}

/* The FNV-1a and size of a file. */
static inline uint64_t tlsu_file_hash(const char *path, long long *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = (char *)malloc(TLSU_CHUNK);
    uint64_t h = TU_FNV_INIT;
    *size = fd >= 0 && buf ? 0 : -1;
    ssize_t n;
    while (fd >= 0 && buf && (n = read(fd, buf, TLSU_CHUNK)) > 0) {
        h = tu_fnv1a(h, buf, (size_t)n);
        *size += n;
    }
    free(buf);
    if (fd >= 0) close(fd);
    return h;
}


/* ---- an event-driven TLS server (test_tls.c, test_server.c) ------------------------------------ */

typedef struct tlsu_es {
    sockit_server *srv;
    sockit_tls_ctx *sctx, *cctx; /* the server's context; a client context that trusts the CA */
    char port[8];
} tlsu_es;

/* Makes and starts an event-driven server on 127.0.0.1, port 0, serving c->srv over TLS with the
 * callbacks and limits in cfg (its host, port and tls are filled in here), no session resumption,
 * ALPN alpn (NULL: none; the client context offers the same). 0, or -1 after a failed check
 * (then tlsu_es_stop still cleans up). */
static inline int tlsu_es_start(tlsu_es *f, const tlsu_certs *c, sockit_server_config *cfg,
                                const char *alpn)
{
    memset(f, 0, sizeof *f);
    sockit_tls_opts so = {.server = 1, .cert = c->srv, .key = c->srv_key, .alpn = alpn, .no_resumption = 1};
    sockit_tls_opts co = {.cafile = c->ca, .alpn = alpn, .no_resumption = 1};
    CHECK_OK(sockit_tls_ctx_new(&f->sctx, &so));
    CHECK_OK(sockit_tls_ctx_new(&f->cctx, &co));
    if (!f->sctx || !f->cctx) return -1;
    cfg->host = "127.0.0.1";
    cfg->port = "0";
    cfg->tls = f->sctx;
    CHECK_OK(sockit_server_new(&f->srv, cfg));
    if (!f->srv) return -1;
    sockit_addr a;
    sockit_server_addr(f->srv, &a);
    snprintf(f->port, sizeof f->port, "%d", sockit_addr_port(&a));
    int r = sockit_server_start(f->srv);
    CHECK_OK(r);
    return r < 0 ? -1 : 0;
}

/* A client of the fixture's server, handshaken as "localhost": 0 and *out, or a code (*out NULL). */
static inline int tlsu_es_dial(const tlsu_es *f, sockit_sock **out, double timeout)
{
    int r = sockit_create_connection(out, "127.0.0.1", f->port, timeout);
    if (r == 0) r = sockit_tls_connect(*out, f->cctx, "localhost");
    if (r < 0) {
        sockit_close(*out);
        *out = NULL;
    }
    return r;
}

/* Stops, waits for and frees the server and both contexts. */
static inline void tlsu_es_stop(tlsu_es *f)
{
    if (f->srv) {
        sockit_server_stop(f->srv);
        CHECK_OK(sockit_server_wait(f->srv));
    }
    sockit_server_free(f->srv);
    sockit_tls_ctx_free(f->sctx);
    sockit_tls_ctx_free(f->cctx);
    memset(f, 0, sizeof *f);
}

#endif /* SOCKIT_TLS_UTIL_H */
