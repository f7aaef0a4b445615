/*
 * sockit ftp ls    [--active] [--tls] [-l] URL
 * sockit ftp get   [--active] [--tls] [-C] [-o FILE] URL...
 * sockit ftp put   [--active] [--tls] [-C] FILE URL
 * sockit ftp rm    [--tls] URL
 * sockit ftp mkdir [--tls] URL
 *
 * An FTP and FTPS client on the library's session (ftp.h): one session per URL origin (several
 * URLs of one server share it), the transfer through callbacks of our own so that a local file
 * error (status 5) is told from the network's (2) and the server's (3). get writes the file only
 * once the first byte arrives (a refused RETR leaves no empty file and an older file untouched);
 * a transfer that breaks keeps what arrived, for -C, and exits non-zero.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sockit/ftp.h>
#include <sockit/url.h>

#define PATH_CAP 4096

static const char usage[] =
    "usage: sockit ftp ls    [--active] [--tls] [-l] [OPTIONS] URL\n"
    "       sockit ftp get   [--active] [--tls] [-C] [-o FILE|DIR|-] [OPTIONS] URL...\n"
    "       sockit ftp put   [--active] [--tls] [-C] [OPTIONS] FILE URL\n"
    "       sockit ftp rm    [--tls] [OPTIONS] URL\n"
    "       sockit ftp mkdir [--tls] [OPTIONS] URL\n"
    "OPTIONS: [-m SECS] [-s] [-v] [--cacert FILE] [-k]\n"
    "\n"
    "FTP and FTPS client. URL is ftp://[USER[:PASS]@]HOST[:PORT]/PATH, PATH relative to the\n"
    "login directory (%2F starts an absolute one: ftp://h/%2Fetc/x is /etc/x); ftps:// is\n"
    "implicit FTPS (port 990). No user means anonymous (password anonymous@). Passive mode by\n"
    "default: EPSV, then PASV (the address in a 227 reply is ignored; the server's address is\n"
    "used). Transfers are binary (TYPE I).\n"
    "\n"
    "  ls     one name per line (MLSD when the server offers it, else NLST); with -l one entry\n"
    "         per line: TYPE SIZE MODIFIED NAME (MLSD facts, else the server's LIST parsed;\n"
    "         '-' for what is unknown, MODIFIED in UTC); a file's URL lists that file\n"
    "  get    downloads each URL into a file of the URL's last name in the current directory\n"
    "         (as curl -O and wget do: FTP users fetch files); -o FILE writes to FILE instead,\n"
    "         -o DIR into the directory DIR, -o - to standard output\n"
    "  put    uploads FILE (- : standard input) to URL; a URL ending in '/' (or with no path)\n"
    "         puts it under FILE's name\n"
    "  rm     deletes the file URL (DELE)\n"
    "  mkdir  creates the directory URL (MKD)\n"
    "\n"
    "  --active       active mode: the server connects back to us (EPRT, or PORT)\n"
    "  --tls          explicit FTPS (AUTH TLS, PROT P): control and data encrypted, every data\n"
    "                 connection resuming the control connection's TLS session\n"
    "  --cacert FILE  with TLS: trust the certificates in FILE instead of the system store\n"
    "  -k             with TLS: skip certificate and host name verification\n"
    "  -C             get: resume a partial download (REST the local file's size, appending);\n"
    "                 put: upload only what the server lacks (REST + STOR, or APPE)\n"
    "  -o FILE        get: where to write (see above)\n"
    "  -l             ls: the long listing\n"
    "  -m SECS        give up after SECS seconds: the whole command, and each wait for the\n"
    "                 server (default: no limit on the whole; 60 s for each wait)\n"
    "  -s             silent: no progress bar (errors are still said)\n"
    "  -v             verbose, on stderr: the connection (address, TLS version), what the\n"
    "                 server offers, every command sent ('> ') and reply line received\n"
    "                 ('< ') as curl -v shows them, how each data connection was made (EPSV,\n"
    "                 PASV or active; TLS session resumed); never a password (PASS ****)\n"
    "  -h, --help     show this help\n"
    "\n"
    "A progress bar (bytes, rate, ETA) shows on stderr when it is a terminal, the data goes to\n"
    "or comes from a file, and -s is not given. A transfer that breaks is an error, never a\n"
    "silently short file: the bytes received stay, and -C resumes. get of several URLs goes on\n"
    "after a failed one and exits with the first failure's status.\n"
    "Exit status: 0 done, 1 usage error or malformed URL, 2 network error or timeout, 3 FTP\n"
    "error reply, protocol or TLS error (the message carries the server's reply), 5 local file\n"
    "error.\n";

enum { OPT_ACTIVE = 256, OPT_TLS, OPT_CACERT };

typedef struct ftp_cli {
    const char *sub;     /* "ls", "get" ... */
    char name[16];       /* "ftp get": the usage errors' prefix */
    int active, tls, resume, silent, verbose, insecure, long_list;
    const char *cacert;
    const char *output;  /* get -o */
    double max_time;     /* -m; 0: none */
    double deadline;     /* cli_now() at start + max_time */
    int timed_out;       /* the -m deadline stopped a transfer */
    sockit_tls_ctx *ctx; /* made once, for every TLS session of the command */
    sockit_ftp *f;       /* the open session, kept for the next URL of the same origin */
    char origin[1024];   /* its scheme://userinfo@host:port */
    int in_fd;           /* put: FILE, open (-1: standard input, or not put) */
    struct stat in_st;
    int show_progress;   /* the current transfer draws a bar */
    cli_progress prog;
} ftp_cli;

/* ---- URLs ----------------------------------------------------------------------------------- */

/* The URL with its password replaced by "****", for messages. */
static const char *masked(const char *url, char *buf, size_t cap)
{
    sockit_url u;
    if (sockit_url_parse(&u, url, strlen(url)) < 0 || !u.password.p) return url;
    size_t head = (size_t)(u.password.p - url);
    const char *tail = u.password.p + u.password.n;
    snprintf(buf, cap, "%.*s****%s", (int)head, url, tail);
    return buf;
}

/* Parses an ftp:// or ftps:// URL: its origin length (the part before the path: a session
 * serves every URL with the same one) and its path as RFC 1738 reads it, %-decoded, without the
 * leading '/' and any ";type=" suffix. 0, or CLI_USAGE after the message. */
static int parse_url(ftp_cli *c, const char *url, size_t *origin_len, char *path, size_t cap)
{
    sockit_url u;
    char shown[PATH_CAP + 64]; /* the URL as messages show it: never its password */
    cli_errmsg_mark();
    int rc = sockit_url_parse(&u, url, strlen(url));
    if (rc < 0) {
        (void)cli_fail(rc, "url");
        return CLI_USAGE; /* a malformed URL is the user's to fix, whatever the library's code */
    }
    const char *safe = masked(url, shown, sizeof shown);
    if (!sockit_url_is(&u, "ftp") && !sockit_url_is(&u, "ftps"))
        return cli_usage_error(c->name, "not an ftp:// or ftps:// URL: '%s'", safe);
    if (!u.host.p || u.host.n == 0) return cli_usage_error(c->name, "no host in '%s'", safe);
    const char *p = u.path.p;
    size_t n = u.path.n;
    if (n > 0 && p[0] == '/') p++, n--;
    const char *type = memchr(p, ';', n);
    if (type && n - (size_t)(type - p) >= 6 && strncmp(type, ";type=", 6) == 0)
        n = (size_t)(type - p);
    ssize_t got = sockit_url_decode(path, cap, p, n, 0);
    if (got < 0 || strlen(path) != (size_t)got || strpbrk(path, "\r\n"))
        return cli_usage_error(c->name, "bad path in '%s'", safe);
    *origin_len = (size_t)(u.path.p - url);
    return 0;
}

/* The last name of a path ("pub/a.txt" -> "a.txt"); "" when it ends in '/'. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- the session ---------------------------------------------------------------------------- */

/* Ends the session: politely (QUIT, and its reply waited for) after success; after a failure
 * without waiting, since a server that stalled or broke would make us wait once more. */
static void close_session(ftp_cli *c, int polite)
{
    if (c->f) {
        if (polite) (void)sockit_ftp_quit(c->f);
        sockit_ftp_close(c->f);
    }
    c->f = NULL;
    c->origin[0] = '\0';
}

/* -v: the control connection as curl -v shows it: "> " before each command sent (the library
 * masks the password: "PASS ****"), "< " before each reply line received; control characters
 * (a server's terminal escapes) shown as '?', as the error messages show them. A progress bar
 * being drawn is ended first (the next update draws it anew below). */
static void on_trace(void *arg, int sent, const char *line, size_t len)
{
    ftp_cli *c = arg;
    if (c->prog.drawn_len > 0) {
        fputc('\n', stderr);
        c->prog.drawn_len = 0;
    }
    fputs(sent ? "> " : "< ", stderr);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)line[i];
        fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, stderr);
    }
    fputc('\n', stderr);
}

static int on_progress(void *arg, uint64_t done, int64_t total)
{
    ftp_cli *c = arg;
    cli_progress_update(&c->prog, done, total);
    if (c->max_time > 0 && cli_now() >= c->deadline) {
        c->timed_out = 1;
        return 1;
    }
    return 0;
}

/* Seconds left of -m (0 when there is no -m), or -1 when they ran out. */
static double time_left(const ftp_cli *c)
{
    if (c->max_time <= 0) return 0;
    double left = c->deadline - cli_now();
    return left > 0.001 ? left : -1;
}

static int timed_out(const ftp_cli *c)
{
    return cli_error(CLI_NET, "timed out after %g s (-m)", c->max_time);
}

static void show_session(ftp_cli *c)
{
    if (!c->verbose) return;
    sockit_sock *s = sockit_ftp_sock(c->f);
    sockit_addr a;
    char text[SOCKIT_ADDRSTRLEN] = "?";
    if (s && sockit_getpeername(s, &a) == 0) sockit_addr_format(&a, text, sizeof text);
    const char *tls = s ? sockit_tls_version(s) : NULL;
    fprintf(stderr, "* connected to %s%s%s, logged in\n", text, tls ? ", " : " (plain FTP)",
            tls ? tls : "");
    int feat = sockit_ftp_features(c->f);
    fprintf(stderr, "* server offers:%s%s%s%s%s%s\n", feat & SOCKIT_FTP_FEAT_MLSD ? " MLSD" : "",
            feat & SOCKIT_FTP_FEAT_EPSV ? " EPSV" : "", feat & SOCKIT_FTP_FEAT_REST ? " REST" : "",
            feat & SOCKIT_FTP_FEAT_SIZE ? " SIZE" : "", feat & SOCKIT_FTP_FEAT_UTF8 ? " UTF8" : "",
            feat & SOCKIT_FTP_FEAT_FEAT ? "" : " (no FEAT)");
}

/* -v, after a transfer or listing: how its data connection was made. */
static void show_data(ftp_cli *c)
{
    if (!c->verbose) return;
    int pasv = sockit_ftp_used_pasv(c->f), resumed = sockit_ftp_data_resumed(c->f);
    if (pasv < 0) return;
    fprintf(stderr, "* data connection: %s%s\n", c->active ? "active" : pasv ? "PASV" : "EPSV",
            sockit_tls_version(sockit_ftp_sock(c->f)) == NULL ? ""
            : resumed > 0 ? ", TLS session resumed" : ", TLS session not resumed");
}

/* A session for url (origin_len bytes of it name the server and the login): the open one if it
 * has the same origin, else a new one. 0, or the exit status after the message. */
static int use_session(ftp_cli *c, const char *url, size_t origin_len)
{
    if (c->f && strlen(c->origin) == origin_len && strncmp(c->origin, url, origin_len) == 0)
        return 0;
    close_session(c, 1);
    double left = time_left(c);
    if (left < 0) return timed_out(c);
    sockit_ftp_opts o = {.timeout = left, .deadline = left > 0 ? sockit_deadline_after(left) : 0,
                         .tls = c->tls ? SOCKIT_FTP_TLS_EXPLICIT : 0,
                         .tls_ctx = c->ctx, .active = c->active, .progress = on_progress,
                         .progress_arg = c, .trace = c->verbose ? on_trace : NULL, .trace_arg = c};
    char shown[PATH_CAP + 64];
    if (c->verbose) fprintf(stderr, "* opening %s\n", masked(url, shown, sizeof shown));
    cli_errmsg_mark();
    int rc = sockit_ftp_open_url(&c->f, url, &o, NULL, 0);
    if (rc < 0) {
        c->f = NULL;
        int status = cli_fail(rc, "ftp");
        return rc == SOCKIT_EBADURL ? CLI_USAGE : status;
    }
    if (origin_len < sizeof c->origin) snprintf(c->origin, sizeof c->origin, "%.*s",
                                                (int)origin_len, url);
    show_session(c);
    return 0;
}

/* The TLS context when any URL may use TLS (--tls, or an ftps:// URL): made here so that a bad
 * --cacert is a local file error (5), as for the other commands. 0 or the exit status. */
static int make_ctx(ftp_cli *c, int nurls, char **urls)
{
    int tls = c->tls;
    for (int i = 0; i < nurls; i++)
        if (strncasecmp(urls[i], "ftps:", 5) == 0) tls = 1;
    if (!tls) return c->cacert || c->insecure ?
                     cli_usage_error(c->name, "--cacert and -k need --tls or an ftps:// URL") : 0;
    sockit_tls_opts to = {.cafile = c->cacert, .insecure = c->insecure};
    return cli_tls_ctx_new(&c->ctx, &to);
}

/* A failed library call: the message (the server's reply in it), and the session closed (its
 * state is unknown after anything but an error reply; a fresh one costs one connection). */
static int op_fail(ftp_cli *c, int rc, const char *what)
{
    int status = c->timed_out || (rc == -ETIMEDOUT && time_left(c) < 0) ? timed_out(c)
                                                                          : cli_fail(rc, what);
    c->timed_out = 0;
    close_session(c, 0);
    return status;
}

/* ---- ls ------------------------------------------------------------------------------------- */

typedef struct lister {
    ftp_cli *c;
    const char *dir; /* the directory listed ("" for the login directory) */
    int out_err;     /* standard output failed */
} lister;

#define OUT_ABORT (-ECANCELED)

/* One name and a newline on standard output; a listing that trickles on past -m ends here. */
static int put_line(lister *l, const char *s, size_t n)
{
    if (l->c->max_time > 0 && cli_now() >= l->c->deadline) {
        l->c->timed_out = 1;
        return OUT_ABORT;
    }
    if (fwrite(s, 1, n, stdout) != n || putchar('\n') == EOF) {
        l->out_err = errno ? errno : EIO;
        return OUT_ABORT;
    }
    return 0;
}

static int on_mlsd(void *arg, const sockit_ftp_entry *e)
{
    if (e->type == SOCKIT_FTP_CDIR || e->type == SOCKIT_FTP_PDIR) return 0;
    return put_line(arg, e->name.p, e->name.n);
}

/* NLST lines are names, or (some servers, for a directory argument) "DIR/name": the name is
 * what is printed. */
static int on_nlst(void *arg, const char *line, size_t len)
{
    lister *l = arg;
    size_t dl = strlen(l->dir);
    while (dl > 0 && l->dir[dl - 1] == '/') dl--;
    if (dl > 0 && len > dl + 1 && strncmp(line, l->dir, dl) == 0 && line[dl] == '/')
        line += dl + 1, len -= dl + 1;
    if ((len == 1 && line[0] == '.') || (len == 2 && strncmp(line, "..", 2) == 0)) return 0;
    return put_line(l, line, len);
}

static const char *type_name(int type)
{
    switch (type) {
    case SOCKIT_FTP_FILE: return "file";
    case SOCKIT_FTP_DIR: return "dir";
    case SOCKIT_FTP_LINK: return "link";
    case SOCKIT_FTP_OTHER: return "other";
    default: return "-";
    }
}

static int on_entry(void *arg, const sockit_ftp_entry *e)
{
    if (e->type == SOCKIT_FTP_CDIR || e->type == SOCKIT_FTP_PDIR) return 0;
    char size[24] = "-", when[24] = "-", line[96];
    if (e->size >= 0) snprintf(size, sizeof size, "%lld", (long long)e->size);
    time_t t = (time_t)e->mtime;
    struct tm tm;
    if (e->mtime >= 0 && gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int n = snprintf(line, sizeof line, "%-5s %12s %-20s ", type_name(e->type), size, when);
    if (fwrite(line, 1, (size_t)n, stdout) != (size_t)n) {
        ((lister *)arg)->out_err = errno ? errno : EIO;
        return OUT_ABORT;
    }
    return put_line(arg, e->name.p, e->name.n);
}

/* ls of a file where the server has MLSD, which lists directories only: MLST path gives its
 * facts on the reply's second line (" type=file;size=5; /a.txt"), shown as a listing of the one
 * entry under its last name. rc (the MLSD's failure) when MLST fails too. */
static int ls_one(ftp_cli *c, lister *l, const char *path, int rc)
{
    char cmd[PATH_CAP + 8];
    sockit_ftp_reply reply;
    snprintf(cmd, sizeof cmd, "MLST %s", path);
    if (sockit_ftp_cmd(c->f, cmd, &reply) < 0) return rc;
    const char *line = strchr(reply.text, '\n');
    sockit_ftp_entry e;
    if (!line || line[1] != ' ') return rc;
    line += 2;
    if (sockit_ftp_parse_mlsd(line, strcspn(line, "\n"), &e) < 0) return rc;
    const char *name = memrchr(e.name.p, '/', e.name.n);
    if (name && (size_t)(name + 1 - e.name.p) < e.name.n) {
        e.name.n -= (size_t)(name + 1 - e.name.p);
        e.name.p = name + 1;
    }
    return c->long_list ? on_entry(l, &e) : on_mlsd(l, &e);
}

static int do_ls(ftp_cli *c, const char *path)
{
    lister l = {.c = c, .dir = path};
    const char *dir = *path ? path : NULL;
    if (c->verbose) fprintf(stderr, "* listing %s\n", *path ? path : "the login directory");
    cli_errmsg_mark();
    int rc;
    if (c->long_list)
        rc = sockit_ftp_ls(c->f, dir, on_entry, &l);
    else if (sockit_ftp_features(c->f) & SOCKIT_FTP_FEAT_MLSD)
        rc = sockit_ftp_mlsd(c->f, dir, on_mlsd, &l);
    else
        rc = sockit_ftp_nlst(c->f, dir, on_nlst, &l);
    /* An error reply (the session goes on after one) to listing a path with MLSD: a file? */
    int mlsd = sockit_ftp_features(c->f) & SOCKIT_FTP_FEAT_MLSD;
    if (rc == SOCKIT_EPROTO && mlsd && dir && sockit_ftp_reply_code(c->f) >= 500 && !l.out_err) {
        char first[512]; /* the listing's failure is the one to tell, not MLST's */
        snprintf(first, sizeof first, "%s", sockit_errmsg());
        if ((rc = ls_one(c, &l, path, rc)) < 0 && !l.out_err && !c->timed_out) {
            close_session(c, 0);
            return cli_error(cli_exit_code(rc), "%s", first);
        }
    }
    if (fflush(stdout) != 0 && !l.out_err) l.out_err = errno ? errno : EIO;
    if (l.out_err) {
        close_session(c, 0);
        return cli_error(CLI_FILE, "standard output: %s", strerror(l.out_err));
    }
    if (rc < 0) return op_fail(c, rc, "ls");
    show_data(c);
    return CLI_OK;
}

/* ---- get ------------------------------------------------------------------------------------ */

typedef struct sink {
    const char *local; /* the file, or NULL: standard output */
    int fd;            /* -1 until the first byte arrives */
    int append;        /* -C: the file continues */
    int err;           /* errno of a local failure */
} sink;

static int sink_open(sink *k)
{
    if (!k->local) {
        k->fd = STDOUT_FILENO;
        return 0;
    }
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (k->append ? O_APPEND : O_TRUNC);
    k->fd = open(k->local, flags, 0644);
    if (k->fd < 0) k->err = errno;
    return k->fd;
}

static int on_data(void *arg, const void *data, size_t len)
{
    sink *k = arg;
    if (k->fd < 0 && sink_open(k) < 0) return OUT_ABORT;
    int rc = cli_write_all(k->fd, data, len);
    if (rc < 0) {
        k->err = -rc;
        return OUT_ABORT;
    }
    return 0;
}

/* Closes the output; a file never opened (nothing arrived) is created now when ok, so that an
 * empty remote file gives an empty local one. 0, or the errno. */
static int sink_close(sink *k, int ok)
{
    if (k->fd < 0 && ok && !k->err) sink_open(k);
    if (k->fd >= 0 && k->fd != STDOUT_FILENO && close(k->fd) < 0 && !k->err) k->err = errno;
    k->fd = -1;
    return k->err;
}

/* Where get writes path's file: -o FILE, -o DIR/name, or name in the current directory; NULL
 * for standard output. 0, or CLI_USAGE after the message. */
static int local_name(ftp_cli *c, const char *path, char *out, size_t cap, const char **local)
{
    const char *name = base_name(path);
    if (c->output && strcmp(c->output, "-") == 0) {
        *local = NULL;
        return 0;
    }
    struct stat st;
    int into_dir = c->output && stat(c->output, &st) == 0 && S_ISDIR(st.st_mode);
    if (c->output && !into_dir) {
        *local = c->output;
        return 0;
    }
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return cli_usage_error(c->name, "the URL names no file ('%s'): give -o FILE", path);
    if ((size_t)snprintf(out, cap, "%s%s%s", into_dir ? c->output : "", into_dir ? "/" : "",
                         name) >= cap)
        return cli_usage_error(c->name, "file name too long");
    *local = out;
    return 0;
}

/* -C: where the download continues (the local file's size; 0 when it does not exist yet), and
 * whether there is anything left to fetch (SIZE, when the server answers it). 0 to go on, -1
 * when the file is already complete, or the exit status. */
static int resume_point(ftp_cli *c, const char *path, sink *k, uint64_t *offset)
{
    struct stat st;
    *offset = 0;
    if (!k->local || stat(k->local, &st) < 0) return 0;
    if (!S_ISREG(st.st_mode)) return cli_error(CLI_FILE, "%s: not a regular file", k->local);
    *offset = (uint64_t)st.st_size;
    k->append = 1;
    uint64_t size;
    if (*offset == 0 || sockit_ftp_size(c->f, path, &size) < 0) return 0; /* REST decides */
    if (size == *offset) {
        if (c->verbose) fprintf(stderr, "* %s is complete (%llu bytes)\n", k->local,
                                (unsigned long long)size);
        return -1;
    }
    if (size < *offset)
        return cli_error(CLI_FILE, "%s: the local file (%llu bytes) is larger than the remote "
                         "one (%llu bytes): cannot resume", k->local,
                         (unsigned long long)*offset, (unsigned long long)size);
    return 0;
}

/* A failed download: a local file error (5) before anything the network did; with -v, where
 * the bytes that arrived are. */
static int get_fail(ftp_cli *c, int rc, const sink *k, uint64_t offset, uint64_t got)
{
    if (k->err) {
        close_session(c, 0);
        return cli_error(CLI_FILE, "%s: %s", k->local ? k->local : "standard output",
                         strerror(k->err));
    }
    int status = op_fail(c, rc, "get");
    if (c->verbose && got > 0 && k->local)
        fprintf(stderr, "* %s keeps %llu bytes: -C resumes\n", k->local,
                (unsigned long long)(offset + got));
    return status;
}

/* Downloads path into local (NULL: standard output). */
static int do_get(ftp_cli *c, const char *path, const char *local)
{
    sink k = {.fd = -1, .local = local};
    int rc;
    uint64_t offset = 0, got = 0;
    if (c->resume && (rc = resume_point(c, path, &k, &offset)) != 0)
        return rc < 0 ? CLI_OK : rc;
    if (c->verbose) fprintf(stderr, "* get %s -> %s%s\n", path, k.local ? k.local : "stdout",
                            offset ? " (resuming)" : "");
    c->show_progress = k.local && !c->silent && isatty(STDERR_FILENO);
    cli_progress_start(&c->prog, c->show_progress, -1, offset);
    cli_errmsg_mark();
    rc = sockit_ftp_retr(c->f, path, offset, on_data, &k, &got);
    if (rc == 0) cli_progress_end(&c->prog);
    else if (c->prog.drawn_len > 0) fputc('\n', stderr); /* the error goes on a line of its own */
    int err = sink_close(&k, rc == 0);
    if (rc < 0 || err) return get_fail(c, rc, &k, offset, got);
    show_data(c);
    return CLI_OK;
}

/* ---- put ------------------------------------------------------------------------------------ */

typedef struct source {
    int fd;
    int err;
} source;

static ssize_t on_read(void *arg, void *buf, size_t cap)
{
    source *s = arg;
    for (;;) {
        ssize_t n = read(s->fd, buf, cap);
        if (n >= 0) return n;
        if (errno != EINTR) {
            s->err = errno;
            return OUT_ABORT;
        }
    }
}

/* After an upload of a regular file: the server's SIZE must be the file's (when it answers
 * SIZE at all), so that a short remote file is never a success. */
static int check_upload(ftp_cli *c, const char *path, uint64_t want)
{
    uint64_t size;
    if (!(sockit_ftp_features(c->f) & SOCKIT_FTP_FEAT_SIZE)) return CLI_OK;
    if (sockit_ftp_size(c->f, path, &size) < 0) return CLI_OK;
    if (size == want) return CLI_OK;
    close_session(c, 0);
    return cli_error(CLI_PROTO, "upload incomplete: the server has %llu bytes of %s, not %llu",
                     (unsigned long long)size, path, (unsigned long long)want);
}

/* Uploads what fd gives, read as a stream: standard input, a pipe, a device (no size known, no
 * pread). name names it in messages. */
static int put_stream(ftp_cli *c, const char *path, int fd, const char *name)
{
    source s = {.fd = fd};
    uint64_t sent = 0;
    c->show_progress = 0;
    cli_progress_start(&c->prog, 0, -1, 0);
    cli_errmsg_mark();
    int rc = sockit_ftp_stor(c->f, path, SOCKIT_FTP_STORE, 0, on_read, &s, &sent);
    if (s.err) {
        close_session(c, 0);
        return cli_error(CLI_FILE, "%s: %s", name, strerror(s.err));
    }
    if (rc < 0) return op_fail(c, rc, "put");
    show_data(c);
    return CLI_OK;
}

/* put's FILE, opened before any connection is made (a missing file costs none): into c->in_fd
 * and c->in_st. 0, or the exit status 5 after the message. */
static int open_input(ftp_cli *c, const char *file)
{
    if (strcmp(file, "-") == 0) return 0;
    c->in_fd = open(file, O_RDONLY | O_CLOEXEC);
    if (c->in_fd < 0 || fstat(c->in_fd, &c->in_st) < 0)
        return cli_error(CLI_FILE, "%s: %s", file, strerror(errno));
    if (S_ISDIR(c->in_st.st_mode)) return cli_error(CLI_FILE, "%s: %s", file, strerror(EISDIR));
    return 0;
}

/* Uploads a regular file (pread/sendfile in the library), then checks the server's size. */
static int put_file(ftp_cli *c, const char *path)
{
    const struct stat st = c->in_st;
    uint64_t sent = 0;
    c->show_progress = !c->silent && isatty(STDERR_FILENO);
    cli_progress_start(&c->prog, c->show_progress, (int64_t)st.st_size, 0);
    cli_errmsg_mark();
    int rc = sockit_ftp_stor_fd(c->f, path, c->resume ? SOCKIT_FTP_RESUME : SOCKIT_FTP_STORE, 0,
                                c->in_fd, &sent);
    if (rc == 0) cli_progress_end(&c->prog);
    else if (c->prog.drawn_len > 0) fputc('\n', stderr); /* the error goes on a line of its own */
    if (rc < 0) return op_fail(c, rc, "put");
    show_data(c);
    return check_upload(c, path, (uint64_t)st.st_size);
}

/* The remote path of put: a URL ending in '/' (or without a path) gets FILE's name. 0, or
 * CLI_USAGE after the message. */
static int put_path(ftp_cli *c, const char *file, char *path, size_t cap)
{
    int from_stdin = strcmp(file, "-") == 0;
    size_t n = strlen(path);
    if (n == 0 || path[n - 1] == '/') {
        const char *name = base_name(file);
        if (from_stdin || !*name)
            return cli_usage_error(c->name, "the URL ends in '/': it needs a file name");
        if (n + strlen(name) + 1 > cap) return cli_usage_error(c->name, "path too long");
        strcat(path, name);
    }
    if (c->resume && (from_stdin || !S_ISREG(c->in_st.st_mode)))
        return cli_usage_error(c->name, "-C needs a regular file (%s cannot seek)", file);
    return 0;
}

static int do_put(ftp_cli *c, const char *file, const char *path)
{
    int from_stdin = strcmp(file, "-") == 0;
    if (c->verbose) fprintf(stderr, "* put %s -> %s%s\n", from_stdin ? "stdin" : file, path,
                            c->resume ? " (resuming)" : "");
    if (from_stdin) return put_stream(c, path, STDIN_FILENO, "standard input");
    return S_ISREG(c->in_st.st_mode) ? put_file(c, path) : put_stream(c, path, c->in_fd, file);
}

/* ---- rm, mkdir ------------------------------------------------------------------------------ */

/* rm and mkdir need a path (a trailing '/' is dropped). 0, or CLI_USAGE after the message. */
static int target_path(ftp_cli *c, char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') path[--n] = '\0';
    if (n == 0 || strcmp(path, "/") == 0)
        return cli_usage_error(c->name, "the URL names no %s",
                               strcmp(c->sub, "rm") == 0 ? "file" : "directory");
    return 0;
}

static int do_simple(ftp_cli *c, const char *path)
{
    cli_errmsg_mark();
    int rc = strcmp(c->sub, "rm") == 0 ? sockit_ftp_dele(c->f, path) : sockit_ftp_mkd(c->f, path);
    if (rc < 0) return op_fail(c, rc, c->sub);
    return CLI_OK;
}

/* ---- the command ---------------------------------------------------------------------------- */

/* Which options each subcommand takes (the short ones, and the long ones as letters: a = --active,
 * t = --tls, c = --cacert). */
static int allowed(const ftp_cli *c, int opt)
{
    static const struct { const char *sub, *opts; } table[] = {
        {"ls", "atlmsvkc"}, {"get", "atComsvkc"}, {"put", "atCmsvkc"},
        {"rm", "tmsvkc"},   {"mkdir", "tmsvkc"},
    };
    int letter = opt == OPT_ACTIVE ? 'a' : opt == OPT_TLS ? 't' : opt == OPT_CACERT ? 'c' : opt;
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(c->sub, table[i].sub) == 0) return strchr(table[i].opts, letter) != NULL;
    return 0;
}

static const struct option longopts[] = {
    {"active", no_argument, NULL, OPT_ACTIVE},   {"tls", no_argument, NULL, OPT_TLS},
    {"cacert", required_argument, NULL, OPT_CACERT}, {"output", required_argument, NULL, 'o'},
    {"continue", no_argument, NULL, 'C'},        {"silent", no_argument, NULL, 's'},
    {"verbose", no_argument, NULL, 'v'},         {"insecure", no_argument, NULL, 'k'},
    {"max-time", required_argument, NULL, 'm'},  {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_opts(ftp_cli *c, int argc, char **argv)
{
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":lCo:m:svkh", longopts, NULL)) != -1) {
        if (ch == 'h') {
            fputs(usage, stdout);
            return -1;
        }
        if (ch == ':' || ch == '?') return cli_option_error(c->name, ch, argv, longopts);
        if (!allowed(c, ch)) {
            const char *arg = argv[optind - 1];
            return cli_usage_error(c->name, "option '%s' does not apply to %s", arg, c->sub);
        }
        switch (ch) {
        case 'l': c->long_list = 1; break;
        case 'C': c->resume = 1; break;
        case 'o': c->output = optarg; break;
        case 'm': if (cli_parse_seconds(c->name, "-m", optarg, &c->max_time)) return CLI_USAGE; break;
        case 's': c->silent = 1; break;
        case 'v': c->verbose = 1; break;
        case 'k': c->insecure = 1; break;
        case OPT_ACTIVE: c->active = 1; break;
        case OPT_TLS: c->tls = 1; break;
        case OPT_CACERT: c->cacert = optarg; break;
        }
    }
    return 0;
}

/* The arguments after the options: how many URLs (and the FILE of put) there must be. */
static int check_args(ftp_cli *c, int nargs)
{
    int want = strcmp(c->sub, "put") == 0 ? 2 : 1;
    if (nargs < want)
        return cli_usage_error(c->name, "missing %s", want == 2 && nargs == 0 ? "FILE and URL" : "URL");
    if (nargs > want && strcmp(c->sub, "get") != 0) return cli_usage_error(c->name, "too many arguments");
    if (nargs > 1 && c->output && strcmp(c->output, "-") != 0) {
        struct stat st;
        if (stat(c->output, &st) < 0 || !S_ISDIR(st.st_mode))
            return cli_usage_error(c->name, "-o with several URLs must be a directory or '-'");
    }
    if (c->resume && c->output && strcmp(c->output, "-") == 0)
        return cli_usage_error(c->name, "-C needs a file, not standard output");
    return 0;
}

/* One URL: what it names checked (a usage error costs no connection), its session, then the
 * operation. */
static int run_one(ftp_cli *c, const char *url, const char *file)
{
    char path[PATH_CAP], local_buf[PATH_CAP + 256];
    const char *local = NULL;
    size_t origin_len = 0;
    int rc = parse_url(c, url, &origin_len, path, sizeof path - 256);
    if (rc) return rc;
    int ls = strcmp(c->sub, "ls") == 0, get = strcmp(c->sub, "get") == 0,
        put = strcmp(c->sub, "put") == 0;
    if (get) rc = local_name(c, path, local_buf, sizeof local_buf, &local);
    else if (put) rc = put_path(c, file, path, sizeof path);
    else if (!ls) rc = target_path(c, path);
    if (rc || (rc = use_session(c, url, origin_len)) != 0) return rc;
    if (ls) return do_ls(c, path);
    if (get) return do_get(c, path, local);
    if (put) return do_put(c, file, path);
    return do_simple(c, path);
}

static int sub_main(const char *sub, int argc, char **argv)
{
    ftp_cli c = {.sub = sub, .in_fd = -1};
    snprintf(c.name, sizeof c.name, "ftp %s", sub);
    int rc = parse_opts(&c, argc, argv);
    if (rc) return rc < 0 ? CLI_OK : rc;
    int nargs = argc - optind;
    char **args = argv + optind;
    if ((rc = check_args(&c, nargs)) != 0) return rc;
    char **urls = strcmp(sub, "put") == 0 ? args + 1 : args;
    int nurls = strcmp(sub, "put") == 0 ? 1 : nargs;
    if ((strcmp(sub, "put") == 0 && (rc = open_input(&c, args[0])) != 0) ||
        (rc = make_ctx(&c, nurls, urls)) != 0) {
        if (c.in_fd >= 0) close(c.in_fd);
        return rc;
    }
    c.deadline = cli_now() + c.max_time;
    int status = CLI_OK;
    for (int i = 0; i < nurls; i++) {
        rc = run_one(&c, urls[i], strcmp(sub, "put") == 0 ? args[0] : NULL);
        if (rc && status == CLI_OK) status = rc;
        if (rc == CLI_USAGE) break;
    }
    close_session(&c, 1);
    sockit_tls_ctx_free(c.ctx);
    if (c.in_fd >= 0) close(c.in_fd);
    return status;
}

int cli_ftp_main(int argc, char **argv)
{
    static const char *const subs[] = {"ls", "get", "put", "rm", "mkdir"};
    if (argc < 2) return cli_usage_error("ftp", "missing ls, get, put, rm or mkdir");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
        if (strcmp(sub, subs[i]) == 0) return sub_main(subs[i], argc - 1, argv + 1);
    return cli_usage_error("ftp", "unknown subcommand '%s' (ls, get, put, rm or mkdir)", sub);
}
