/*
 * sockit — the command. Dispatches to one subcommand and holds the helpers they share: exit
 * statuses, the one-line error and usage messages, and number parsing.
 *
 * Adding a subcommand: write cli/cmd_<name>.c with int cli_<name>_main(int argc, char **argv),
 * declare it in cli.h and add one row to the table below; `sockit --help` lists the table.
 */
#include "cli.h"

#include <sockit/tls.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const cli_command commands[] = {
    {"resolve", "print the addresses a host name resolves to", cli_resolve_main},
    {"connect", "connect to a server, relay standard input and output (like nc)", cli_connect_main},
    {"listen", "accept a peer, relay standard input and output (like nc -l)", cli_listen_main},
    {"echo", "echo server on the event-driven server core (TCP, UDP, Unix)", cli_echo_main},
    {"http", "HTTP/1.1 static file server (http serve; http get is not built yet)", cli_http_main},
    {"ftp", "FTP and FTPS client: ls, get, put, rm, mkdir", cli_ftp_main},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *f)
{
    fputs("usage: sockit [--help] [--version] COMMAND [ARGS...]\n\n"
          "Python's socket module, as a command. Commands:\n",
          f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'sockit COMMAND --help' (or 'sockit help COMMAND') shows a command's options.\n"
          "Exit status: 0 success, 1 usage error (also a value that is wrong without asking the\n"
          "network: port 70000, host 1.2.3), 2 network error (resolve, connect, bind, timeout,\n"
          "reset), 3 protocol error, 5 local file error.\n",
          f);
}

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    if (name[0] == '-')
        return cli_error(CLI_USAGE, "unknown option '%s' (try 'sockit --help')", name);
    return cli_error(CLI_USAGE, "unknown command '%s' (try 'sockit --help')", name);
}

/* sockit help [COMMAND]: the same text as --help. */
static int help_main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stdout);
        return CLI_OK;
    }
    if (argc > 2)
        return cli_usage_error("help", "too many arguments");
    const cli_command *cmd = find_command(argv[1]);
    if (!cmd)
        return unknown_command(argv[1]);
    char *args[] = {(char *)cmd->name, "--help", NULL};
    return cmd->run(2, args);
}

/* A closed standard input, output or error would be the lowest free descriptor, so the first
 * socket would take it over: `sockit connect ... <&-` would send the peer's bytes back to the
 * peer. Each closed one is opened on /dev/null first (input: at end; output: discarded). */
static int open_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        int got = open("/dev/null", O_RDWR);
        if (got != fd) { /* only when /dev/null is missing: nothing sensible is left to do */
            if (got >= 0)
                close(got);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (open_std_fds() < 0)
        return CLI_FILE; /* no standard error to say it on either */
    cli_ignore_sigpipe();
    if (argc < 2)
        return cli_error(CLI_USAGE, "missing command (try 'sockit --help')");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_help(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("sockit %s\n", sockit_version());
        return CLI_OK;
    }
    if (strcmp(name, "help") == 0)
        return help_main(argc - 1, argv + 1);
    const cli_command *cmd = find_command(name);
    return cmd ? cmd->run(argc - 1, argv + 1) : unknown_command(name);
}

/* ---- helpers shared by the subcommands ------------------------------------------------------ */

int cli_exit_code(int code)
{
    switch (code) {
    case SOCKIT_EBADADDR:   /* host 1.2.3, [::1 */
    case SOCKIT_ENOSERVICE: /* port 70000, abc: services are a local file, not the network */
    case -ENAMETOOLONG:     /* a Unix socket path over the limit */
        return CLI_USAGE;
    case SOCKIT_EPROTO:
    case SOCKIT_ETLS:
    case SOCKIT_ETOOLONG:
    case SOCKIT_EINCOMPLETE:
        return CLI_PROTO;
    default:
        return code < 0 ? CLI_NET : CLI_OK;
    }
}

/* sockit_errmsg() as it was at the last cli_errmsg_mark(): a failure that leaves it unchanged
 * did not set it, and printing it would name an older failure. */
static char marked[512];

void cli_errmsg_mark(void)
{
    snprintf(marked, sizeof marked, "%s", sockit_errmsg());
}

int cli_fail(int code, const char *what)
{
    const char *msg = sockit_errmsg();
    if (msg && *msg && strncmp(msg, marked, sizeof marked - 1) != 0) {
        /* One line, whatever the message holds. */
        fputs("sockit: ", stderr);
        for (; *msg; msg++)
            fputc(*msg == '\n' || *msg == '\r' ? ' ' : *msg, stderr);
        fputc('\n', stderr);
    } else {
        fprintf(stderr, "sockit: %s: %s\n", what, sockit_strerror(code));
    }
    cli_errmsg_mark();
    return cli_exit_code(code);
}

int cli_tls_ctx_new(sockit_tls_ctx **ctx, const sockit_tls_opts *opts)
{
    cli_errmsg_mark();
    int rc = sockit_tls_ctx_new(ctx, opts);
    if (rc >= 0)
        return 0;
    if (rc == -ENOMEM)
        return cli_fail(rc, "tls");
    /* Whatever went wrong is in a file we were given (or the system store): the library's
     * sentence names it; the status is the local file error's. */
    (void)cli_fail(rc, "tls: loading certificates or key");
    return CLI_FILE;
}

int cli_error(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sockit: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sockit %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (try 'sockit %s --help')\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

int cli_option_error(const char *cmd, int c, char **argv, const struct option *longopts)
{
    /* With opterr 0, getopt_long leaves the offending option in optopt (short ones, and the
     * value of a long one missing its argument or given one it does not take) or, for an
     * unknown long one, in argv[optind-1]. Inside a group like "-ux" optind has not moved, so
     * argv is only trusted when it names a long option with that value ("--help=x" gives 'h'). */
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    size_t arglen = strcspn(arg, "=");
    int is_long = optopt == 0 || optopt >= 256;
    if (!is_long && strncmp(arg, "--", 2) == 0)
        for (const struct option *o = longopts; o && o->name; o++)
            if (o->val == optopt && strlen(o->name) == arglen - 2 &&
                strncmp(o->name, arg + 2, arglen - 2) == 0)
                is_long = 1;
    char name[64];
    if (is_long) /* "--cacert=x" names the option "--cacert" */
        snprintf(name, sizeof name, "%.*s", (int)arglen, arg);
    else
        snprintf(name, sizeof name, "-%c", (char)optopt);
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs an argument", name);
    if (optopt != 0 && is_long) /* a known long option that got "=VALUE" it does not take */
        return cli_usage_error(cmd, "option '%s' takes no argument", name);
    return cli_usage_error(cmd, "unknown option '%s'", name);
}

int cli_one_family(const char *cmd, int *family, int want)
{
    if (*family && *family != want)
        return cli_usage_error(cmd, "-4 and -6 exclude each other");
    *family = want;
    return 0;
}

int cli_check_unix_path(const char *cmd, const char *path)
{
    /* sun_path holds 108 bytes: a path needs its terminator, an abstract name its leading NUL
     * (for which the '@' stands). */
    size_t limit = 107, n = strlen(path);
    if (n == 0)
        return cli_usage_error(cmd, "empty Unix socket path");
    if (n > limit)
        return cli_usage_error(cmd, "Unix socket path '%.40s...' is %zu bytes; the limit is %zu",
                               path, n, limit);
    return 0;
}

int cli_parse_seconds(const char *cmd, const char *flag, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    /* Reject "", "5x", "nan", "inf", 0 and negatives: a timeout is a positive finite number. */
    if (end == text || *end != '\0' || errno != 0 || !isfinite(v) || v <= 0)
        return cli_usage_error(cmd, "bad number of seconds for %s: '%s'", flag, text);
    *out = v;
    return 0;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
