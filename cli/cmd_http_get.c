/*
 * sockit http get [curl's flags] URL...
 *
 * An HTTP/1.1 and HTTPS client with curl's flags, on the library's client (http_client.h): one
 * session for every URL of the call, so URLs of one origin share a keep-alive connection. The
 * body goes to standard output unless -o/-O name a file (paired with the URLs in order, as
 * curl pairs them); -i and -I put the response heads there too; -v shows the heads on stderr
 * with "> " and "< " prefixes. A progress bar shows on stderr when it is a terminal, the body
 * goes to a file, and -s is not given.
 *
 * Exit status (spec/cli.md): 0; 1 usage; 2 network or timeout; 3 protocol or TLS; 4 --fail and a
 * status >= 400; 5 a local file. A transfer that breaks keeps what it received on disk (as curl
 * does) and never exits 0. With several URLs the last transfer's result is the exit status (as
 * curl's); every failure before it still prints its one-line error.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sockit/http_client.h>
#include <sockit/url.h>

#define CMD "http get"
#define RETRY_AFTER_CAP 60.0  /* seconds: the longest Retry-After we wait */
#define BACKOFF_CAP 600.0     /* seconds: curl's cap of its doubling backoff */

static const char usage[] =
    "usage: sockit http get [options] URL...\n"
    "\n"
    "An HTTP/1.1 and HTTPS client with curl's flags. The body goes to standard output unless\n"
    "-o or -O names a file; several URLs share one session (keep-alive connections), each\n"
    "taking the next -o/-O in order. A progress bar shows on stderr when it is a terminal and\n"
    "the body goes to a file.\n"
    "\n"
    "  -o, --output FILE        write the body to FILE ('-': standard output)\n"
    "  -O, --remote-name        write the body to a file named like the URL's last path part\n"
    "  -L, --location           follow redirects (at most 20; credentials are dropped when the\n"
    "                           scheme, host or port changes)\n"
    "      --max-redirs N       with -L, follow at most N redirects (0: none; -1, curl's\n"
    "                           unlimited, is 1000 here); one more is exit 3\n"
    "  -I, --head               send HEAD; print the status line and headers\n"
    "  -i, --include            print the response headers before the body\n"
    "  -X, --request METHOD     the request method; -X HEAD awaits no body (curl would wait\n"
    "                           for one until -m) and, unlike -I, writes nothing\n"
    "  -H, --header 'Name: value'  an extra header (repeatable; 'Name:' removes a default one)\n"
    "  -d, --data DATA          request body, joined with '&' when repeated; @FILE reads FILE\n"
    "                           (@- standard input) without its CR and LF; implies POST and\n"
    "                           Content-Type: application/x-www-form-urlencoded\n"
    "      --data-binary DATA   the same, @FILE sent exactly as it is\n"
    "      --data-raw DATA      the same, a leading @ is not special\n"
    "  -u, --user USER:PASS     Basic authentication (no ':': an empty password)\n"
    "  -A, --user-agent UA      the User-Agent header (default sockit/VERSION)\n"
    "  -e, --referer URL        the Referer header\n"
    "      --compressed         ask for gzip or deflate and decode the body\n"
    "  -C, --continue-at -|N    resume: '-' from the output file's size, or from byte N (needs\n"
    "                           -o FILE or -O)\n"
    "      --cacert FILE        trust the CA certificates in FILE (PEM)\n"
    "  -k, --insecure           skip certificate and host name verification\n"
    "  -m, --max-time SECS      timeout of each whole transfer (default and 0: none)\n"
    "      --connect-timeout SECS  timeout of resolving, connecting and the TLS handshake\n"
    "  -Y, --speed-limit BYTES  abort when fewer than BYTES per second arrive for the\n"
    "                           speed time\n"
    "  -y, --speed-time SECS    the speed time (default 30 s; only with -Y)\n"
    "      --retry N            retry transient failures N times, as curl: timeouts, a host\n"
    "                           not resolved, 408, 429, 500, 502, 503, 504; waits Retry-After\n"
    "                           (at most 60 s), else 1 s doubling\n"
    "      --retry-connrefused  with --retry, also retry a refused connection\n"
    "  -f, --fail               exit 4, writing no body, when the status is 400 or more\n"
    "                           (-i, -I: the head is still written, as curl)\n"
    "  -w, --write-out FORMAT   print FORMAT after each transfer: %{http_code},\n"
    "                           %{size_download}, %{time_total}, %{url_effective},\n"
    "                           %{num_redirects}, %{content_type}; \\n \\t \\r \\\\ escapes\n"
    "  -x, --proxy URL          use this HTTP proxy (https through CONNECT); by default\n"
    "                           http_proxy, https_proxy and no_proxy are honoured\n"
    "      --noproxy LIST       hosts that go direct (comma-separated; '*' all)\n"
    "  -4, --ipv4               only IPv4 addresses\n"
    "  -6, --ipv6               only IPv6 addresses\n"
    "  -s, --silent             no progress bar and no error messages\n"
    "  -S, --show-error         with -s, still print errors\n"
    "  -v, --verbose            the request and response heads on stderr ('> ', '< ')\n"
    "      --url URL            a URL (as an argument)\n"
    "      --http1.1            accepted for curl's sake: HTTP/1.1 is what is spoken\n"
    "  -h, --help               show this help\n"
    "\n"
    "Exit status: 0 success, 1 usage error, 2 network error or timeout, 3 protocol or TLS error\n"
    "(also a body cut short), 4 --fail and a status >= 400, 5 local file error. With several\n"
    "URLs, the last transfer's (as curl).\n";

/* The command line. */
typedef struct get_opts {
    const char *method;
    int head, include, fail, silent, show_error, verbose, follow, insecure, compressed, family;
    const char *cacert, *user_agent, *userpwd, *write_out, *proxy, *noproxy, *resume;
    double max_time, connect_timeout, speed_time;
    long speed_limit;
    long retry;
    int max_redirects; /* the client's max_redirects: 0 its default (20), < 0 none */
    int retry_connrefused; /* --retry also retries -ECONNREFUSED */
    sockit_http_field *headers;
    size_t nheaders;
    char *data; /* the request body from -d/--data-*, or NULL */
    size_t data_len;
    const char **outputs; /* per URL in order: a path, "-", or NULL for -O */
    size_t noutputs;
    char **urls;
    size_t nurls;
} get_opts;

/* One transfer (one URL, all its attempts). */
typedef struct transfer {
    const get_opts *o;
    const char *path;   /* the output file, or NULL for standard output */
    int fd;             /* -1 until opened (files are opened at the first byte) */
    int truncate;       /* open with O_TRUNC (not resuming, or the server restarted) */
    int status;         /* the status of the latest response head */
    int discard;        /* the current body is not written (--fail, or a status retried) */
    int werr;           /* errno of a failed write, 0 */
    int retrying;       /* attempts are left: retryable statuses are discarded */
    uint64_t written;   /* bytes written to the output this attempt */
    cli_progress prog;
    int progress_on, progress_started;
} transfer;

/* ---- parsing ---------------------------------------------------------------------------------- */

static int grow(void *arrayp, size_t *n, size_t size)
{
    void **a = arrayp;
    void *p = realloc(*a, (*n + 1) * size);
    if (!p)
        return cli_error(CLI_FILE, "out of memory");
    *a = p;
    return 0;
}

/* Reads all of path ("-": standard input) into a new buffer. 0 or CLI_FILE after the message. */
static int slurp(const char *path, char **out, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_error(CLI_FILE, "%s: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    int err = buf ? 0 : ENOMEM;
    while (!err) {
        if (n == cap && !(buf = realloc(buf, cap *= 2))) {
            err = ENOMEM;
            break;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            err = errno;
        else if (r == 0)
            break;
        else
            n += (size_t)r;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    if (err) {
        free(buf);
        return cli_error(CLI_FILE, "%s: %s", path, strerror(err));
    }
    *out = buf;
    *len = n;
    return 0;
}

/* -d, --data-binary, --data-raw: appends one piece ('&' between pieces, as curl). kind 'd' reads
 * @FILE without CR and LF, 'b' reads it exactly, 'r' takes the text as it is. */
static int add_data(get_opts *o, const char *arg, int kind)
{
    char *piece = NULL;
    size_t len = strlen(arg);
    if (kind != 'r' && arg[0] == '@') {
        int rc = slurp(arg + 1, &piece, &len);
        if (rc)
            return rc;
        if (kind == 'd') {
            size_t k = 0;
            for (size_t i = 0; i < len; i++)
                if (piece[i] != '\r' && piece[i] != '\n')
                    piece[k++] = piece[i];
            len = k;
        }
    }
    size_t sep = o->data ? 1 : 0;
    char *p = realloc(o->data, o->data_len + sep + len + 1);
    if (!p) {
        free(piece);
        return cli_error(CLI_FILE, "out of memory");
    }
    if (sep)
        p[o->data_len] = '&';
    memcpy(p + o->data_len + sep, piece ? piece : arg, len);
    o->data = p;
    o->data_len += sep + len;
    free(piece);
    return 0;
}

/* -H 'Name: value' as curl reads it: 'Name:' with nothing after removes the default header,
 * 'Name;' sends the header with an empty value, and one with no colon or no name ('nocolon',
 * ':x', '') is ignored without a word. */
static int add_header(get_opts *o, const char *arg)
{
    const char *colon = strchr(arg, ':');
    size_t alen = strlen(arg);
    int empty = !colon && alen > 1 && arg[alen - 1] == ';';
    if (empty)
        colon = arg + alen - 1;
    if (!colon || colon == arg)
        return 0;
    if (grow(&o->headers, &o->nheaders, sizeof *o->headers))
        return CLI_FILE;
    char *name = strndup(arg, (size_t)(colon - arg));
    if (!name)
        return cli_error(CLI_FILE, "out of memory");
    const char *value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (!empty && !*value)
        value = NULL; /* removes the client's header of that name */
    o->headers[o->nheaders++] = (sockit_http_field){name, value};
    static const char *const framing[] = {"Content-Length", "Transfer-Encoding"};
    for (size_t i = 0; i < 2; i++)
        if (strcasecmp(name, framing[i]) == 0)
            return cli_usage_error(CMD, "-H '%s': the %s header is the client's to send", arg,
                                   framing[i]);
    return 0;
}

/* -e URL: a Referer header like any -H. */
static int add_referer(get_opts *o, const char *url)
{
    if (grow(&o->headers, &o->nheaders, sizeof *o->headers))
        return CLI_FILE;
    char *name = strdup("Referer");
    if (!name)
        return cli_error(CLI_FILE, "out of memory");
    o->headers[o->nheaders++] = (sockit_http_field){name, url};
    return 0;
}

static int add_output(get_opts *o, const char *path)
{
    if (grow(&o->outputs, &o->noutputs, sizeof *o->outputs))
        return CLI_FILE;
    o->outputs[o->noutputs++] = path;
    return 0;
}

static int parse_count(const char *flag, const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < 0 || v > 1000000)
        return cli_usage_error(CMD, "bad number for %s: '%s'", flag, text);
    *out = v;
    return 0;
}

/* 1 if arg starts with "scheme://" (RFC 3986 3.1: a letter, then letters, digits, + - .). A
 * "://" further on, as in "example.org/?to=http://x", is not a scheme. */
static int has_scheme(const char *arg)
{
    size_t n = strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
    return n > 0 && strchr("0123456789+-.", arg[0]) == NULL && strncmp(arg + n, "://", 3) == 0;
}

/* --max-redirs N: N >= 0 exactly (0 none), -1 (curl's "unlimited") 1000, a finite bound. */
static int parse_max_redirs(get_opts *o, const char *text)
{
    long v = 1000;
    if (strcmp(text, "-1") != 0 && parse_count("--max-redirs", text, &v))
        return CLI_USAGE;
    o->max_redirects = v == 0 ? -1 : (int)v;
    return 0;
}

/* A URL without "scheme://" is http, as curl takes "example.org/x". */
static int add_url(get_opts *o, const char *arg)
{
    if (grow(&o->urls, &o->nurls, sizeof *o->urls))
        return CLI_FILE;
    char *u;
    if (has_scheme(arg))
        u = strdup(arg);
    else if (asprintf(&u, "http://%s", arg) < 0)
        u = NULL;
    if (!u)
        return cli_error(CLI_FILE, "out of memory");
    o->urls[o->nurls++] = u;
    return 0;
}

static void free_opts(get_opts *o)
{
    for (size_t i = 0; i < o->nheaders; i++)
        free((char *)o->headers[i].name);
    for (size_t i = 0; i < o->nurls; i++)
        free(o->urls[i]);
    free(o->headers);
    free(o->urls);
    free(o->outputs);
    free(o->data);
}

/* -w: checked before anything is sent, so a typo costs no transfer. */
static const char *const wvars[] = {"http_code", "response_code", "size_download", "time_total",
                                    "url_effective", "num_redirects", "content_type", "exitcode"};
#define NWVARS (sizeof wvars / sizeof wvars[0])

static int check_write_out(const char *fmt)
{
    for (const char *p = fmt; (p = strstr(p, "%{")) != NULL; p++) {
        const char *end = strchr(p, '}');
        if (!end)
            return cli_usage_error(CMD, "-w: unterminated '%%{' in '%s'", fmt);
        size_t n = (size_t)(end - p - 2), i = 0;
        while (i < NWVARS && !(strlen(wvars[i]) == n && strncmp(wvars[i], p + 2, n) == 0))
            i++;
        if (i == NWVARS)
            return cli_usage_error(CMD, "-w: unknown variable '%.*s'", (int)n, p + 2);
    }
    return 0;
}

static int check_opts(get_opts *o)
{
    if (o->nurls == 0)
        return cli_usage_error(CMD, "missing URL");
    if (o->noutputs > o->nurls)
        return cli_usage_error(CMD, "more -o/-O than URLs (%zu for %zu)", o->noutputs, o->nurls);
    if (o->resume) {
        char *end;
        if (strcmp(o->resume, "-") != 0 && (strtoll(o->resume, &end, 10) < 0 || *end || end == o->resume))
            return cli_usage_error(CMD, "bad value for -C: '%s' (want '-' or a byte offset)", o->resume);
        for (size_t i = 0; i < o->nurls; i++)
            if (i >= o->noutputs || (o->outputs[i] && strcmp(o->outputs[i], "-") == 0))
                return cli_usage_error(CMD, "-C resumes into a file: give -o FILE or -O");
    }
    if (o->userpwd && !*o->userpwd)
        return cli_usage_error(CMD, "empty -u");
    if (o->write_out)
        return check_write_out(o->write_out);
    return 0;
}

/* -m and --connect-timeout as curl reads them: seconds > 0, or 0 for no limit (0 stored). */
static int seconds_or_zero(const char *cmd, const char *flag, const char *text, double *out)
{
    if (strspn(text, "0.") == strlen(text) && strchr(text, '0')) {
        *out = 0;
        return 0;
    }
    return cli_parse_seconds(cmd, flag, text, out);
}

static int parse_args(get_opts *o, int argc, char **argv)
{
    enum {
        OPT_DATA_BINARY = 256, OPT_DATA_RAW, OPT_CACERT, OPT_CONNECT_TIMEOUT, OPT_COMPRESSED,
        OPT_RETRY, OPT_RETRY_CONNREFUSED, OPT_NOPROXY, OPT_URL, OPT_HTTP11, OPT_MAX_REDIRS
    };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"remote-name", no_argument, NULL, 'O'},
        {"location", no_argument, NULL, 'L'}, {"head", no_argument, NULL, 'I'},
        {"max-redirs", required_argument, NULL, OPT_MAX_REDIRS},
        {"include", no_argument, NULL, 'i'}, {"request", required_argument, NULL, 'X'},
        {"header", required_argument, NULL, 'H'}, {"data", required_argument, NULL, 'd'},
        {"data-binary", required_argument, NULL, OPT_DATA_BINARY},
        {"data-raw", required_argument, NULL, OPT_DATA_RAW},
        {"user", required_argument, NULL, 'u'}, {"user-agent", required_argument, NULL, 'A'},
        {"compressed", no_argument, NULL, OPT_COMPRESSED},
        {"continue-at", required_argument, NULL, 'C'},
        {"cacert", required_argument, NULL, OPT_CACERT}, {"insecure", no_argument, NULL, 'k'},
        {"max-time", required_argument, NULL, 'm'},
        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
        {"retry", required_argument, NULL, OPT_RETRY}, {"fail", no_argument, NULL, 'f'},
        {"retry-connrefused", no_argument, NULL, OPT_RETRY_CONNREFUSED},
        {"write-out", required_argument, NULL, 'w'}, {"proxy", required_argument, NULL, 'x'},
        {"noproxy", required_argument, NULL, OPT_NOPROXY}, {"ipv4", no_argument, NULL, '4'},
        {"ipv6", no_argument, NULL, '6'}, {"silent", no_argument, NULL, 's'},
        {"show-error", no_argument, NULL, 'S'}, {"verbose", no_argument, NULL, 'v'},
        {"speed-limit", required_argument, NULL, 'Y'},
        {"speed-time", required_argument, NULL, 'y'}, {"referer", required_argument, NULL, 'e'},
        {"url", required_argument, NULL, OPT_URL}, {"http1.1", no_argument, NULL, OPT_HTTP11},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    int c, rc = 0;
    opterr = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, ":o:OLIiX:H:d:u:A:C:km:fw:x:46sSvY:y:e:h", longopts,
                                       NULL)) != -1) {
        switch (c) {
        case 'o': rc = add_output(o, optarg); break;
        case 'O': rc = add_output(o, NULL); break;
        case 'L': o->follow = 1; break;
        case OPT_MAX_REDIRS: rc = parse_max_redirs(o, optarg); break;
        case 'I': o->head = 1; break;
        case 'i': o->include = 1; break;
        case 'X':
            if (!*optarg)
                return cli_usage_error(CMD, "empty method for -X");
            o->method = optarg;
            break;
        case 'H': rc = add_header(o, optarg); break;
        case 'd': rc = add_data(o, optarg, 'd'); break;
        case OPT_DATA_BINARY: rc = add_data(o, optarg, 'b'); break;
        case OPT_DATA_RAW: rc = add_data(o, optarg, 'r'); break;
        case 'u': o->userpwd = optarg; break;
        case 'A': o->user_agent = optarg; break;
        case OPT_COMPRESSED: o->compressed = 1; break;
        case 'C': o->resume = optarg; break;
        case OPT_CACERT: o->cacert = optarg; break;
        case 'k': o->insecure = 1; break;
        case 'm': rc = seconds_or_zero(CMD, "-m", optarg, &o->max_time); break;
        case OPT_CONNECT_TIMEOUT:
            rc = seconds_or_zero(CMD, "--connect-timeout", optarg, &o->connect_timeout);
            break;
        case OPT_RETRY: rc = parse_count("--retry", optarg, &o->retry); break;
        case OPT_RETRY_CONNREFUSED: o->retry_connrefused = 1; break;
        case 'f': o->fail = 1; break;
        case 'w': o->write_out = optarg; break;
        case 'x': o->proxy = optarg; break;
        case OPT_NOPROXY: o->noproxy = optarg; break;
        case '4': rc = cli_one_family(CMD, &o->family, AF_INET); break;
        case '6': rc = cli_one_family(CMD, &o->family, AF_INET6); break;
        case 's': o->silent = 1; break;
        case 'S': o->show_error = 1; break;
        case 'v': o->verbose = 1; break;
        case 'Y': rc = parse_count("-Y", optarg, &o->speed_limit); break;
        case 'y': rc = cli_parse_seconds(CMD, "-y", optarg, &o->speed_time); break;
        case 'e': rc = add_referer(o, optarg); break;
        case OPT_URL: rc = add_url(o, optarg); break;
        case OPT_HTTP11: break;
        case 'h': fputs(usage, stdout); return -1;
        default: return cli_option_error(CMD, c, argv, longopts);
        }
    }
    for (int i = optind; rc == 0 && i < argc; i++)
        rc = add_url(o, argv[i]);
    return rc ? rc : check_opts(o);
}

/* ---- output ----------------------------------------------------------------------------------- */

static int quiet(const get_opts *o) { return o->silent && !o->show_error; }

/* Opens the output file at its first byte (so a failure before the body, a --fail status or a
 * retried status leave an existing file alone, as curl does). 0 or -1 with werr set. */
static int open_output(transfer *t)
{
    if (t->fd >= 0)
        return 0;
    if (!t->path) {
        t->fd = STDOUT_FILENO;
        return 0;
    }
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (t->truncate ? O_TRUNC : 0);
    t->fd = open(t->path, flags, 0666);
    if (t->fd < 0 || (!t->truncate && lseek(t->fd, 0, SEEK_END) < 0)) {
        t->werr = errno;
        return -1;
    }
    return 0;
}

static int output(transfer *t, const void *p, size_t n)
{
    if (t->werr || open_output(t) < 0)
        return -1;
    int rc = cli_write_all(t->fd, p, n);
    if (rc < 0) {
        t->werr = -rc;
        return -1;
    }
    t->written += n;
    return 0;
}

static int sink_write(void *arg, const void *data, size_t len)
{
    transfer *t = arg;
    if (t->discard)
        return 0;
    return output(t, data, len) < 0 ? -1 : 0;
}

/* A resume answered 200: the whole body follows, so the file starts over. */
static int sink_restart(void *arg)
{
    transfer *t = arg;
    t->truncate = 1;
    if (t->fd < 0 || t->fd == STDOUT_FILENO)
        return 0;
    if (ftruncate(t->fd, 0) < 0 || lseek(t->fd, 0, SEEK_SET) < 0) {
        t->werr = errno;
        return -1;
    }
    return 0;
}

static int progress(void *arg, uint64_t now, int64_t total)
{
    transfer *t = arg;
    if (!t->progress_on || t->discard)
        return 0;
    if (!t->progress_started) {
        cli_progress_start(&t->prog, 1, total, now);
        t->progress_started = 1;
    }
    cli_progress_update(&t->prog, now, total);
    return 0;
}

/* The statuses curl's --retry retries (not 501, 505 ...: those will not change). */
static int retryable_status(int status)
{
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

static int head_status(const char *head, size_t len)
{
    if (len < 12 || strncmp(head, "HTTP/", 5) != 0)
        return 0;
    const char *sp = memchr(head, ' ', len);
    return sp && sp + 4 <= head + len ? atoi(sp + 1) : 0;
}

/* -v: each line of a head with its prefix, on stderr. */
static void show_head(const char *prefix, const char *head, size_t len)
{
    const char *p = head, *end = head + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t shown = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
        fprintf(stderr, "%s%.*s\n", prefix, (int)shown, p);
        if (shown == 0)
            break;
        p += n + 1;
    }
}

/* Every head sent and received: -v shows them, -i and -I write the response heads to the
 * output, and the status of each decides whether its body is written. A --fail status still has
 * its head written (curl does: -I --fail shows why it failed); a status about to be retried
 * does not. */
static void trace(void *arg, int sent, const char *head, size_t len)
{
    transfer *t = arg;
    const get_opts *o = t->o;
    if (o->verbose)
        show_head(sent ? "> " : "< ", head, len);
    if (sent)
        return;
    int status = head_status(head, len);
    if (status >= 200 || status == 0) {
        t->status = status;
        t->discard = (o->fail && status >= 400) || (t->retrying && retryable_status(status));
    }
    if ((o->include || o->head) && !(t->retrying && retryable_status(t->status)))
        (void)output(t, head, len);
}

/* ---- -w --------------------------------------------------------------------------------------- */

static void write_var(FILE *f, const char *name, size_t n, const sockit_http_resp *r, int status,
                      const char *url)
{
#define IS(s) (strlen(s) == n && strncmp(name, s, n) == 0)
    if (IS("http_code") || IS("response_code"))
        fprintf(f, "%03d", r->status);
    else if (IS("size_download"))
        fprintf(f, "%llu", (unsigned long long)r->body_bytes);
    else if (IS("time_total"))
        fprintf(f, "%.6f", r->time_total);
    else if (IS("url_effective"))
        fputs(r->url ? r->url : url, f); /* no response: the URL asked for, as curl */
    else if (IS("num_redirects"))
        fprintf(f, "%d", r->redirects);
    else if (IS("content_type")) {
        const char *ct = sockit_http_resp_header(r, "Content-Type");
        fputs(ct ? ct : "", f);
    } else if (IS("exitcode"))
        fprintf(f, "%d", status);
#undef IS
}

static int write_out(const get_opts *o, const sockit_http_resp *r, int status, const char *url)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return CLI_FILE;
    for (const char *p = o->write_out; *p; p++) {
        if (p[0] == '\\' && p[1]) {
            p++;
            fputc(*p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p, f);
        } else if (p[0] == '%' && p[1] == '%') {
            fputc('%', f);
            p++;
        } else if (p[0] == '%' && p[1] == '{') {
            const char *end = strchr(p, '}');
            write_var(f, p + 2, (size_t)(end - p - 2), r, status, url);
            p = end;
        } else {
            fputc(*p, f);
        }
    }
    fclose(f);
    int rc = cli_write_all(STDOUT_FILENO, text, len);
    free(text);
    return rc < 0 ? cli_error(CLI_FILE, "standard output: %s", strerror(-rc)) : 0;
}

/* ---- one transfer ----------------------------------------------------------------------------- */

/* The name -O takes: the URL's last path segment (no query), or NULL if it has none. */
static char *remote_name(const char *url)
{
    sockit_url u;
    if (sockit_url_parse(&u, url, strlen(url)) < 0 || !u.path.p)
        return NULL;
    const char *p = u.path.p, *end = p + u.path.n, *slash = p;
    for (const char *q = p; q < end; q++)
        if (*q == '/')
            slash = q + 1;
    if (slash >= end || (end - slash == 1 && *slash == '.') ||
        (end - slash == 2 && slash[0] == '.' && slash[1] == '.'))
        return NULL;
    return strndup(slash, (size_t)(end - slash));
}

/* The exit status for a failed call, having said why (unless -s). A bad URL is the command
 * line's (1) unless a response came: then it was a redirect's Location, the server's fault (3).
 * -EINVAL is the library refusing what the command line asked (a method, header or user agent
 * with a control character, a -u too long): a usage error, not the network's. */
static int report(const get_opts *o, transfer *t, int rc, const char *url,
                  const sockit_http_resp *r)
{
    if (t->werr) {
        if (!quiet(o))
            cli_error(0, "%s: %s", t->path ? t->path : "standard output", strerror(t->werr));
        return CLI_FILE;
    }
    int status = rc == SOCKIT_EBADURL ? (r->status ? CLI_PROTO : CLI_USAGE)
                 : rc == -EINVAL      ? CLI_USAGE
                                      : cli_exit_code(rc);
    if (rc == -ENOENT || rc == -EACCES || rc == -EISDIR)
        status = CLI_FILE; /* only local files give these (none do over the network) */
    if (!quiet(o)) {
        const char *msg = sockit_errmsg();
        if (msg && *msg)
            (void)cli_fail(rc, url);
        else
            cli_error(0, "%s: %s", url, sockit_strerror(rc));
    }
    return status;
}

/* What --retry retries, as curl 7.88 does: a timeout, a host not resolved, a status above, and a
 * refused connection only with --retry-connrefused. A reset or a closed connection is not
 * retried (curl retries those only with --retry-all-errors). */
static int transient(const get_opts *o, int rc, int status)
{
    if (rc == 0)
        return retryable_status(status);
    return rc == -ETIMEDOUT || rc == SOCKIT_ENOHOST ||
           (rc == -ECONNREFUSED && o->retry_connrefused);
}

/* Seconds before attempt number `attempt` (1 = the first retry): Retry-After in seconds when
 * the response gave one (at most RETRY_AFTER_CAP), else 1 s doubling. */
static double retry_delay(const sockit_http_resp *r, int rc, long attempt)
{
    const char *ra = rc == 0 ? sockit_http_resp_header(r, "Retry-After") : NULL;
    if (ra) {
        char *end;
        long v = strtol(ra, &end, 10);
        if (end != ra && *end == 0 && v >= 0)
            return (double)v > RETRY_AFTER_CAP ? RETRY_AFTER_CAP : (double)v;
    }
    double d = 1;
    for (long i = 1; i < attempt && d < BACKOFF_CAP; i++)
        d *= 2;
    return d > BACKOFF_CAP ? BACKOFF_CAP : d;
}

static void wait_seconds(double secs)
{
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Where the output starts for an attempt: resume_from (0: none) and whether the file is
 * truncated on opening. -C - continues from the file's size now (also after a failed attempt). */
static void resume_point(const get_opts *o, transfer *t, uint64_t *from)
{
    *from = 0;
    t->truncate = 1;
    if (!o->resume || !t->path)
        return;
    t->truncate = 0;
    if (strcmp(o->resume, "-") == 0) {
        struct stat st;
        if (stat(t->path, &st) == 0 && S_ISREG(st.st_mode))
            *from = (uint64_t)st.st_size;
    } else {
        *from = (uint64_t)strtoull(o->resume, NULL, 10);
    }
}

static void fill_req(const get_opts *o, transfer *t, sockit_http_client_req *req, const char *url,
                     char *user)
{
    memset(req, 0, sizeof *req);
    req->url = url;
    req->method = o->method ? o->method : o->head ? "HEAD" : NULL;
    req->headers = o->headers;
    req->nheaders = o->nheaders;
    if (o->data) {
        req->body_kind = SOCKIT_HTTP_BODY_MEMORY;
        req->body = o->data;
        req->body_len = o->data_len;
        req->content_type = "application/x-www-form-urlencoded";
    }
    if (user) {
        char *colon = strchr(user, ':');
        if (colon)
            *colon = 0;
        req->user = user;
        req->password = colon ? colon + 1 : "";
    }
    resume_point(o, t, &req->resume_from);
    req->sink_kind = SOCKIT_HTTP_SINK_CALLBACK;
    req->sink_write = sink_write;
    req->sink_restart = sink_restart;
    req->sink_arg = t;
    req->progress = progress;
    req->progress_arg = t;
    req->trace = trace;
    req->trace_arg = t;
}

/* A resume of a file that is already whole: 416 with "bytes *\/N", N the offset asked. */
static int already_whole(const sockit_http_client_req *req, const sockit_http_resp *r)
{
    if (!req->resume_from || r->status != 416)
        return 0;
    const char *cr = sockit_http_resp_header(r, "Content-Range");
    return cr && strncmp(cr, "bytes */", 8) == 0 &&
           strtoull(cr + 8, NULL, 10) == req->resume_from;
}

/* One attempt; returns the library's code and leaves t and r describing it. */
static int attempt(sockit_http_client *c, const get_opts *o, transfer *t, sockit_http_resp *r,
                   const sockit_http_client_req *req)
{
    t->status = 0;
    t->discard = 0;
    t->written = 0;
    t->progress_started = 0;
    cli_errmsg_mark();
    int rc = sockit_http_client_do(c, req, r);
    if (t->progress_started) {
        if (rc == 0 && !t->discard)
            cli_progress_end(&t->prog);
        else if (t->prog.drawn_len) /* end the bar's line so the message gets its own */
            fputc('\n', stderr);
    }
    if (rc == 0 && !t->discard && !t->werr && !already_whole(req, r) &&
        !(o->fail && r->status >= 400))
        (void)open_output(t); /* an empty body still makes its (empty) file */
    return rc;
}

static int finish_file(transfer *t)
{
    if (t->fd < 0 || t->fd == STDOUT_FILENO)
        return 0;
    int rc = close(t->fd);
    t->fd = -1;
    if (rc < 0 && !t->werr)
        t->werr = errno;
    return rc;
}

static int run_one(sockit_http_client *c, const get_opts *o, const char *url, const char *path)
{
    transfer t = {.o = o, .path = path, .fd = -1};
    t.progress_on = path && !o->silent && isatty(STDERR_FILENO);
    sockit_http_resp r = {0};
    sockit_http_client_req req;
    char *user = o->userpwd ? strdup(o->userpwd) : NULL;
    int rc, status = CLI_OK;
    for (long n = 0;; n++) {
        t.retrying = n < o->retry;
        free(user);
        user = o->userpwd ? strdup(o->userpwd) : NULL;
        fill_req(o, &t, &req, url, user);
        rc = attempt(c, o, &t, &r, &req);
        if (t.werr || !t.retrying || !transient(o, rc, r.status))
            break;
        if (t.written && t.fd == STDOUT_FILENO)
            break; /* what went to standard output cannot be taken back */
        double d = retry_delay(&r, rc, n + 1);
        if (!quiet(o) && rc)
            cli_error(0, "%s: %s; retrying in %g s (%ld of %ld)", url, sockit_strerror(rc), d,
                      n + 1, o->retry);
        else if (!quiet(o))
            cli_error(0, "%s: the server answered %d; retrying in %g s (%ld of %ld)", url,
                      r.status, d, n + 1, o->retry);
        finish_file(&t); /* the next attempt opens it anew: truncated, or resumed from its size */
        wait_seconds(d);
    }
    if (rc < 0 || t.werr)
        status = report(o, &t, rc < 0 ? rc : -EIO, url, &r);
    else if (o->fail && r.status >= 400 && !already_whole(&req, &r)) {
        if (!quiet(o))
            cli_error(0, "%s: the server answered %d %s", r.url ? r.url : url, r.status,
                      r.reason ? r.reason : "");
        status = CLI_HTTP;
    }
    if (finish_file(&t) < 0 && status == CLI_OK)
        status = report(o, &t, -EIO, url, &r);
    if (o->write_out) {
        int w = write_out(o, &r, status, url);
        if (w && status == CLI_OK)
            status = w;
    }
    free(user);
    sockit_http_resp_free(&r);
    return status;
}

static int new_client(const get_opts *o, sockit_http_client **c)
{
    sockit_http_client_opts co = {
        .timeout = o->max_time > 0 ? o->max_time : -1, /* curl: no overall timeout by default */
        .connect_timeout = o->connect_timeout,
        .low_speed_limit = (uint64_t)o->speed_limit,
        .low_speed_time = o->speed_limit ? o->speed_time : 0,
        .follow_redirects = o->follow,
        .max_redirects = o->max_redirects,
        .ca_file = o->cacert,
        .insecure = o->insecure,
        .proxy_from_env = 1,
        .proxy = o->proxy,
        .no_proxy = o->noproxy,
        .accept_encoding = o->compressed,
        .user_agent = o->user_agent,
        .family = o->family,
    };
    cli_errmsg_mark();
    int rc = sockit_http_client_new(c, &co);
    if (rc >= 0)
        return 0;
    if (rc == -EINVAL && o->proxy)
        return cli_usage_error(CMD, "bad proxy '%s' (want http://host:port)", o->proxy);
    (void)cli_fail(rc, "http get");
    /* What fails here is the TLS context: a file we were given (--cacert) or the system store. */
    return CLI_FILE;
}

/* The output of URL i: its -o/-O (with -O the name from the URL), or NULL for stdout. */
static int output_path(const get_opts *o, size_t i, char **path)
{
    *path = NULL;
    if (i >= o->noutputs)
        return 0;
    if (o->outputs[i]) {
        if (strcmp(o->outputs[i], "-") != 0 && !(*path = strdup(o->outputs[i])))
            return cli_error(CLI_FILE, "out of memory");
        return 0;
    }
    if (!(*path = remote_name(o->urls[i])))
        return cli_usage_error(CMD, "-O: the URL '%s' has no file name", o->urls[i]);
    return 0;
}

int cli_http_get_main(int argc, char **argv)
{
    get_opts o = {0};
    int status = parse_args(&o, argc, argv);
    if (status) {
        free_opts(&o);
        return status < 0 ? CLI_OK : status;
    }
    sockit_http_client *c = NULL;
    if ((status = new_client(&o, &c)) == 0) {
        for (size_t i = 0; i < o.nurls; i++) {
            char *path;
            int s = output_path(&o, i, &path);
            if (s == 0)
                s = run_one(c, &o, o.urls[i], path);
            free(path);
            /* Every URL is fetched; the last one's result is the exit status, as curl's is
             * (each failure has said why on its own line). */
            status = s;
        }
    }
    sockit_http_client_free(c);
    free_opts(&o);
    return status;
}
