/*
 * The sockit command: declarations shared by its files.
 *
 * main.c holds the dispatch table and the helpers every subcommand uses (exit codes, error lines,
 * option errors, numbers); signals.c the SIGPIPE / SIGINT / SIGTERM handling; relay.c the
 * stdin <-> socket relay of connect and listen; cmd_<name>.c one subcommand each.
 * The command uses the library's public API only.
 */
#ifndef SOCKIT_CLI_H
#define SOCKIT_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <sockit/sockit.h>
#include <sockit/tls.h>

/* Exit statuses, the contract of spec/cli.md. */
enum {
    CLI_OK = 0,
    CLI_USAGE = 1, /* unknown flag, missing argument: one-line hint on stderr */
    CLI_NET = 2,   /* cannot resolve, connect, bind; timeout; connection reset */
    CLI_PROTO = 3, /* malformed reply, TLS handshake or certificate failure */
    CLI_HTTP = 4,  /* --fail and an HTTP status >= 400 */
    CLI_FILE = 5   /* cannot read or write a local file (or standard input/output) */
};

#if defined(__GNUC__)
#define CLI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CLI_PRINTF(fmt, args)
#endif

/* One subcommand: argv[0] is its name, the options follow. Returns the exit status. */
typedef struct cli_command {
    const char *name;
    const char *summary; /* one line for `sockit --help` */
    int (*run)(int argc, char **argv);
} cli_command;

/* ---- main.c: errors, usage, numbers --------------------------------------------------------- */

/* The exit status for a library code: a malformed host, an unknown service or a port out of
 * range, a Unix path too long (SOCKIT_EBADADDR, SOCKIT_ENOSERVICE, -ENAMETOOLONG) are wrong
 * without asking the network: usage errors (1). SOCKIT_EPROTO / SOCKIT_ETLS and the parser
 * codes are protocol errors (3); everything else (a name that does not resolve, -errno) is a
 * network error (2). */
int cli_exit_code(int code);

/* Prints "sockit: " and sockit_errmsg() (or, if the library left no new message since the last
 * cli_errmsg_mark() or cli_fail(), what and sockit_strerror(code)) as one line on stderr.
 * Returns cli_exit_code(code). */
int cli_fail(int code, const char *what);

/* Remembers the library's current message, so that a failure that sets none is not reported
 * with an older failure's sentence. Call it before a library call whose failure cli_fail reports
 * when earlier calls may have failed and been handled (tried addresses, a peer's reset). */
void cli_errmsg_mark(void);

/* sockit_tls_ctx_new on the command line's files (--cert, --key, --cacert): 0, or after the
 * library's sentence (naming the file and the reason) the exit status: 5, a local file error,
 * for anything wrong with the files, whether unreadable (-ENOENT, -EACCES) or not usable
 * (SOCKIT_ETLS). */
int cli_tls_ctx_new(sockit_tls_ctx **ctx, const sockit_tls_opts *opts);

/* Prints "sockit: " and the formatted text as one line on stderr and returns status. */
int cli_error(int status, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Prints "sockit CMD: TEXT (try 'sockit CMD --help')" on stderr; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Turns what getopt_long returned for a bad option (':' or '?', with opterr 0 and an optstring
 * starting with ':') into the one-line hint. Long options must use values >= 256, so that
 * optopt tells them from short ones. Returns CLI_USAGE. */
int cli_option_error(const char *cmd, int c, char **argv, const struct option *longopts);

/* -4 / -6: sets *family to want, or (the other one was given) the usage error. 0 or CLI_USAGE. */
int cli_one_family(const char *cmd, int *family, int want);

/* A Unix socket path or @name that fits sockaddr_un: 0, or CLI_USAGE after the hint naming the
 * limit. */
int cli_check_unix_path(const char *cmd, const char *path);

/* Parses a number of seconds > 0 ("3", "0.5") given to flag. 0, or CLI_USAGE after the hint. */
int cli_parse_seconds(const char *cmd, const char *flag, const char *text, double *out);

/* Monotonic clock, in seconds. */
double cli_now(void);

/* ---- signals.c ------------------------------------------------------------------------------ */

/* SIGPIPE ignored: a closed standard output is EPIPE, handled as the end of the output. */
void cli_ignore_sigpipe(void);

/* From now on SIGINT and SIGTERM set a flag (cli_stopped) and make cli_stop_fd readable,
 * so a poll() that includes it wakes up; blocking reads and writes of our own fail with EINTR
 * (no SA_RESTART). Servers call it; 0 or -errno. */
int cli_stop_on_signals(void);

/* The read end of the self-pipe the handler writes to, or -1 before cli_stop_on_signals. */
int cli_stop_fd(void);

/* 1 once SIGINT or SIGTERM arrived. */
int cli_stopped(void);

/* ---- relay.c -------------------------------------------------------------------------------- */

/* Writes all of buf to fd, retrying short writes. 0, or -errno (-EINTR only once stopped). */
int cli_write_all(int fd, const void *buf, size_t len);

/* Relays a connected stream socket s (made non-blocking here) with standard input and output
 * until both directions ended (our input all sent and our sending side shut down, and the
 * peer's end of stream received: a peer's half-close ends only the receiving direction), a
 * signal stops us, standard output is closed by its reader, or idle seconds (< 0: never) pass
 * without traffic. A reset or any other failure is exit status 2. *stdin_eof says whether
 * standard input already ended (listen -k keeps it across peers) and is updated. Returns the
 * exit status, having printed the error line if it is not 0. */
int cli_relay_stream(sockit_sock *s, double idle, int *stdin_eof);

/* Datagram relay: each read of standard input is one datagram, each datagram received goes to
 * standard output. server 0: s is connected; input ends it at once, or (idle >= 0) after idle
 * seconds without a datagram; idle seconds without traffic before that are a timeout.
 * server 1: s is bound; input goes to the last peer that sent a datagram (and is not read
 * before there is one); only a signal ends it. Returns the exit status. */
int cli_relay_dgram(sockit_sock *s, double idle, int server);

/* ---- progress.c ----------------------------------------------------------------------------- */

/* The progress bar of http get and ftp get/put (one stderr line redrawn at most 10 times a
 * second). Drawn only when on; the caller decides (stderr a terminal, body to a file, not -s). */
typedef struct cli_progress {
    int on, ended, drawn_len;
    int64_t total;    /* bytes in all (including already), -1 unknown */
    uint64_t already; /* bytes a resumed transfer had before this run: not in the rate */
    uint64_t done;    /* bytes so far, including already */
    double start, last_draw;
} cli_progress;

/* Starts the clock; total -1 when unknown. */
void cli_progress_start(cli_progress *p, int on, int64_t total, uint64_t already);
/* done bytes so far (including already); total >= 0 sets or corrects the total. */
void cli_progress_update(cli_progress *p, uint64_t done, int64_t total);
/* Draws the final line and a newline (once; nothing when off). */
void cli_progress_end(cli_progress *p);

/* ---- subcommands ---------------------------------------------------------------------------- */

int cli_resolve_main(int argc, char **argv);
int cli_connect_main(int argc, char **argv);
int cli_listen_main(int argc, char **argv);
int cli_echo_main(int argc, char **argv);
int cli_http_main(int argc, char **argv);
int cli_ftp_main(int argc, char **argv);

#endif /* SOCKIT_CLI_H */
