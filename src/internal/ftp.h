/*
 * Private to the FTP client: the session's layout, the control connection's helpers shared by
 * src/ftp/, and the parsers' internal entry points (fuzzed by fuzz/fuzz_ftp_<name>.c).
 *
 * Files: control.c (reply parser, commands and replies on the control connection), session.c
 * (connect, login, URL, simple commands), data.c (data connections: EPSV/PASV/EPRT/PORT, TLS),
 * transfer.c (RETR/STOR/APPE), list.c (MLSD and LIST parsers, listings).
 */
#ifndef SOCKIT_INTERNAL_FTP_H
#define SOCKIT_INTERNAL_FTP_H

#include "internal/core.h"
#include "internal/tls.h"
#include <sockit/ftp.h>
#include <sockit/reader.h>
#include <sockit/tls.h>

#include <stdio.h>

#define SOCKIT__FTP_LINE_MAX 8192    /* one reply or listing line, its end included */
#define SOCKIT__FTP_REPLY_MAX 65536  /* one whole reply */
#define SOCKIT__FTP_DEFAULT_TIMEOUT 60.0
#define SOCKIT__FTP_DEFAULT_BUF (256 * 1024)

struct sockit_ftp {
    sockit_sock *ctl;          /* the control connection */
    sockit_reader *rd;         /* its reader (replies) */
    sockit_tls_ctx *tls_ctx;   /* NULL: plain */
    int own_ctx;               /* tls_ctx is ours to free */
    int tls_mode;              /* enum sockit_ftp_tls_mode */
    int prot_p;                /* data connections speak TLS (PROT P accepted) */
    int broken;                /* the control connection's state is unknown: no more commands */
    int features;              /* FEAT's answer (enum sockit_ftp_feature) */
    int epsv_refused;          /* EPSV failed once: PASV from now on */
    int eprt_refused;          /* EPRT refused once: PORT from now on */
    int data_resumed, used_pasv;
    int binary;                /* TYPE I is in effect */
    int noops;                 /* keep-alive NOOPs sent during a transfer, replies not read yet */
    double timeout;            /* < 0: none */
    sockit_ftp_opts o;         /* the caller's options (strings not kept) */
    char host[256];            /* connected to, for messages */
    char tls_host[256];        /* SNI and verification; "" with an insecure context: none */
    int code;                  /* the last reply */
    size_t text_len;
    char text[SOCKIT__FTP_REPLY_MAX + 1];
    char *buf;                 /* transfer buffer, o.bufsize bytes */
    sockit__tls_session *data_sess; /* the last data connection's newest TLS session: the next
                                       one resumes it (a TLS 1.3 ticket resumes only once) */
};

/* ---- the control connection (control.c) ---------------------------------------------------- */

/* The deadline for one command, or one wait for progress in a transfer (never past opts.deadline). */
int64_t sockit__ftp_deadline(const sockit_ftp *f);

/* Sends "verb[ arg]\r\n" within deadline. arg with CR, LF or NUL: -EINVAL (nothing sent). */
int sockit__ftp_send(sockit_ftp *f, const char *verb, const char *arg, int64_t deadline);

/* Gives a command line (n bytes, no CR LF) to the trace hook, if any, a password masked. */
void sockit__ftp_trace_sent(const sockit_ftp *f, const char *line, size_t n);

/* Reads one reply into f->code / f->text within deadline. Returns its code, or a negative code
 * (with the message; the session is then marked broken). */
int sockit__ftp_reply(sockit_ftp *f, int64_t deadline);

/* Reads replies while they are preliminary (1xx): the final code or a negative code. */
int sockit__ftp_final(sockit_ftp *f, int64_t deadline);

/* Sends verb arg and reads the final reply. Returns its code when its first digit is in ok
 * (a string of digits, e.g. "2" or "23"), else SOCKIT_EPROTO with the message
 * "<what>: <reply>"; or a network code. */
int sockit__ftp_command(sockit_ftp *f, const char *what, const char *verb, const char *arg,
                        const char *ok);

/* A failure of the layers below, in the FTP operation's words: "<ctx>: <reason>". TLS's own
 * message is kept when it set one since mark (it says more: an alert, a certificate); the core's
 * generic ones ("reader fill: ...", "sendall ...") are replaced. Returns code. */
int sockit__ftp_fail_io(unsigned mark, int code, const char *ctx);

/* The same for a data connection: "<what>: data connection: <reason>". */
static inline int sockit__ftp_data_fail(unsigned mark, int code, const char *what)
{
    char ctx[400];
    snprintf(ctx, sizeof ctx, "%s: data connection", what);
    return sockit__ftp_fail_io(mark, code, ctx);
}

/* The reply as a message: "<what>: 530 Login incorrect." (lines joined, made printable, capped).
 * Returns SOCKIT_EPROTO. */
int sockit__ftp_fail_reply(const sockit_ftp *f, const char *what);

/* ---- parsers (control.c, data.c, list.c): internal entry points for tests and fuzzing -------- */

/* One complete reply at the start of buf (len bytes): RFC 959 single-line "ddd text" (or "ddd")
 * or multi-line "ddd-..." up to a line starting "ddd " (or just "ddd") with the same code; lines
 * end in LF (a CR before it is part of the end). Returns the bytes it spans (> 0) with *code
 * set, SOCKIT_EINCOMPLETE, or SOCKIT_EPROTO: a line over SOCKIT__FTP_LINE_MAX, a reply over
 * SOCKIT__FTP_REPLY_MAX, or a first line that is not "ddd" with the first digit 1..5 followed by
 * SP, '-' or the line's end (judged from its first four bytes). Sets the message on errors
 * (not for incomplete). */
ssize_t sockit__ftp_parse_reply(const char *buf, size_t len, int *code);

/* "229 Entering Extended Passive Mode (|||6446|)" -> the port (1..65535), or SOCKIT_EPROTO. */
int sockit__ftp_parse_epsv(const char *text, size_t len);
/* "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)" (parentheses optional) -> the IPv4 address
 * (network order bytes) and port. 0 or SOCKIT_EPROTO. */
int sockit__ftp_parse_pasv(const char *text, size_t len, unsigned char ip[4], int *port);
/* "150 Opening BINARY mode data connection for a (1234 bytes)." -> 1234, or -1. */
int64_t sockit__ftp_parse_150_size(const char *text, size_t len);
/* PWD's 257 reply -> the quoted name, "" unescaped, into out. Length, -ENOBUFS or SOCKIT_EPROTO. */
int sockit__ftp_parse_257(const char *text, size_t len, char *out, size_t cap);
/* "YYYYMMDDHHMMSS[.fff]" -> seconds since the epoch (UTC), or -1. */
int64_t sockit__ftp_parse_time(const char *s, size_t len);
/* LIST with the current time given (years of "Mon DD HH:MM" dates are inferred from it). */
int sockit__ftp_parse_list_at(const char *line, size_t len, sockit_ftp_entry *e, int64_t now);
/* FEAT's reply text -> enum sockit_ftp_feature bits (SOCKIT_FTP_FEAT_FEAT included). */
int sockit__ftp_parse_feat(const char *text, size_t len);

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
int64_t sockit__ftp_days(int64_t y, int m, int d);

/* ---- data connections (data.c) ------------------------------------------------------------ */

typedef struct sockit__ftp_data {
    sockit_sock *s;     /* the data connection, once open */
    sockit_sock *lsn;   /* active mode: the listening socket until the server connects */
    int first;          /* the transfer command's first reply code (1xx, or 2xx: already done) */
    int64_t size150;    /* "(N bytes)" in the 1xx reply, -1 if none */
    int ctl_quiet;      /* the control connection ended or failed mid-transfer: no longer watched
                           (told by the final reply's read) */
} sockit__ftp_data;

/* Opens a data connection for "verb arg" (REST rest first when rest > 0) and sends the command:
 * passive (EPSV, then PASV) or active as the session says; reads the first reply; with PROT P,
 * handshakes TLS resuming the control connection's session. On success d->s is connected (or, if
 * the first reply was 2xx, maybe NULL: nothing to transfer). what names the operation in
 * messages. 0 or a code (d is cleaned up then). */
int sockit__ftp_data_open(sockit_ftp *f, sockit__ftp_data *d, const char *what, const char *verb,
                          const char *arg, uint64_t rest);

/* Ends the transfer: closes the data connection (with close_notify first when sending over TLS),
 * then reads the final reply unless the first was already final, and the replies of the
 * keep-alive NOOPs. rc is the transfer's result so far: when negative, it is kept (the reply is
 * read only to keep the session in step). Returns 0 or the error. */
int sockit__ftp_data_finish(sockit_ftp *f, sockit__ftp_data *d, const char *what, int rc,
                            int sending);

/* The transfer was aborted by the caller or failed locally: close the data connection, send
 * ABOR, read what the server says about both. Returns rc. */
int sockit__ftp_data_abort(sockit_ftp *f, sockit__ftp_data *d, int rc);

/* During a transfer, before each read (events POLLIN) or write (POLLOUT) on the data connection:
 * waits until the data connection is ready (0), watching the control connection too while the
 * transfer's final reply is owed. A 4xx/5xx said there ends the wait at once (SOCKIT_EPROTO with
 * the reply; d->first becomes its code); an early 2xx becomes d->first and the data is read to its
 * end; keep-alive NOOP replies are counted off. Bytes already buffered (the reader's, TLS's) are
 * seen before polling. -ETIMEDOUT when dl passes. Sets the message on errors. */
int sockit__ftp_data_wait(sockit_ftp *f, sockit__ftp_data *d, const char *what, short events,
                          int64_t dl);

/* During a transfer: sends NOOP on the control connection if keepalive seconds have passed since
 * *last (then resets it). 0 or a code. */
int sockit__ftp_keepalive(sockit_ftp *f, int64_t *last);

/* Checks a string bound for a command: no CR, LF (0 or -EINVAL with a message). */
int sockit__ftp_check_arg(const char *what, const char *arg);

#endif
