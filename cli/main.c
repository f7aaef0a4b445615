/*
 * sockit — the command. Dispatches to one subcommand and holds the helpers they share: exit
 * statuses, the one-line error and usage messages, and number parsing.
 *
 * Adding a subcommand: write cli/cmd_<name>.c with int cli_<name>_main(int argc, char **argv),
 * declare it in cli.h and add one row to the table below; `sockit --help` lists the table.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const cli_command commands[] = {
    {"resolve", "print the addresses a host name resolves to", cli_resolve_main},
    {"connect", "connect to a server, relay standard input and output (like nc)", cli_connect_main},
    {"listen", "accept a peer, relay standard input and output (like nc -l)", cli_listen_main},
    {"echo", "echo server on the event-driven server core (TCP, UDP, Unix)", cli_echo_main},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *f)
{
    fputs("usage: sockit [--help] [--version] COMMAND [ARGS...]\n\n"
          "Python's socket module, as a command. Commands:\n",
          f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'sockit COMMAND --help' shows a command's options.\n"
          "Exit status: 0 success, 1 usage error, 2 network error (resolve, connect, bind,\n"
          "timeout, reset), 3 protocol error, 5 local file error.\n",
          f);
}

int main(int argc, char **argv)
{
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
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    if (name[0] == '-')
        return cli_error(CLI_USAGE, "unknown option '%s' (try 'sockit --help')", name);
    return cli_error(CLI_USAGE, "unknown command '%s' (try 'sockit --help')", name);
}

/* ---- helpers shared by the subcommands ------------------------------------------------------ */

int cli_exit_code(int code)
{
    switch (code) {
    case SOCKIT_EPROTO:
    case SOCKIT_ETLS:
    case SOCKIT_ETOOLONG:
    case SOCKIT_EINCOMPLETE:
        return CLI_PROTO;
    default:
        return code < 0 ? CLI_NET : CLI_OK;
    }
}

int cli_fail(int code, const char *what)
{
    const char *msg = sockit_errmsg();
    if (msg && *msg)
        fprintf(stderr, "sockit: %s\n", msg);
    else
        fprintf(stderr, "sockit: %s: %s\n", what, sockit_strerror(code));
    return cli_exit_code(code);
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

int cli_option_error(const char *cmd, int c, char **argv)
{
    /* With opterr 0, getopt_long leaves the offending option in optopt (short ones, and the
     * value of a long one missing its argument) or, for an unknown long one, in argv[optind-1].
     * Inside a group like "-ux" optind has not moved, so argv is only trusted for long ones. */
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    char shortopt[3] = {'-', (char)optopt, '\0'};
    const char *name = (optopt > 0 && optopt < 256) ? shortopt : arg;
    char longname[64];
    if (name == arg) { /* "--cacert=x" names the option "--cacert" */
        snprintf(longname, sizeof longname, "%.*s", (int)strcspn(arg, "="), arg);
        name = longname;
    }
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs an argument", name);
    if (optopt >= 256) /* a known long option that got "=VALUE" it does not take */
        return cli_usage_error(cmd, "option '%s' takes no argument", name);
    return cli_usage_error(cmd, "unknown option '%s'", name);
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
