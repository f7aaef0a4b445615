/*
 * sockit ftp — an FTP and FTPS client (Python's ftplib), blocking and deadline-bounded.
 *
 * A session (sockit_ftp) is one control connection. Every call sends its command(s), waits for
 * the reply and, for transfers and listings, moves the data over a data connection of its own:
 *   - passive by default: EPSV (RFC 2428), falling back to PASV when EPSV is refused or its data
 *     connection cannot be made; the address in a 227 reply is ignored and the control
 *     connection's peer is used (NAT-safe, as curl and ftplib do) unless use_pasv_address is set;
 *   - active on request: EPRT (PORT for IPv4 servers that refuse it) on the control connection's
 *     local address; the server's connection is accepted within the timeout;
 *   - FTPS explicit (AUTH TLS, PBSZ 0, PROT P; RFC 4217) or implicit (TLS from the first byte,
 *     port 990); every data connection resumes the control connection's TLS session (TLS 1.2 and
 *     1.3), so servers that require it (vsftpd require_ssl_reuse=YES) accept the transfers.
 *     Verification is on by default, as in the TLS layer (tls.h).
 *
 * Timeouts: opts.timeout (seconds; 0: 60, < 0: none) bounds connecting with the greeting and
 * login steps, each command with its reply, and during a transfer each wait for progress (data to
 * read or room to write, the data connection, the final reply). A long transfer that keeps moving
 * never times out; a stalled one does. opts.deadline (absolute, from sockit_deadline_after; 0:
 * none) also bounds everything the session does, all its commands and transfers together (curl's
 * --max-time): each wait ends at the earlier of the two, with -ETIMEDOUT.
 *
 * Errors (the core's model: >= 0 success, a negative code):
 *   - a reply the operation does not accept (4xx/5xx, or an unexpected code) is SOCKIT_EPROTO and
 *     sockit_errmsg() carries the server's text: "login failed: 530 Login incorrect.";
 *     sockit_ftp_reply_code / sockit_ftp_reply_text give the reply itself;
 *   - a reply that is not FTP (no 3-digit code), a line over 8 KiB or a reply over 64 KiB is
 *     SOCKIT_EPROTO (the session cannot go on: close it);
 *   - network failures keep the core's codes (-ETIMEDOUT, -ECONNRESET, SOCKIT_ECLOSED,
 *     SOCKIT_ETLS, SOCKIT_ENOHOST ...); a callback's abort is its own negative code, or
 *     -ECANCELED for a progress callback;
 *   - a transfer is never reported complete when it is not: a data connection that breaks, a
 *     426/451 reply, or fewer bytes than SIZE (or the 150 reply's "(N bytes)") announced is an
 *     error (SOCKIT_EPROTO "short transfer: ..." or the network code); the bytes already handed
 *     to a callback or written to a file stay there, so the transfer can be resumed. More bytes
 *     than announced (binary type) is SOCKIT_EPROTO too ("... more than the N announced": the
 *     file changed while read, or the server is wrong), as curl's "partial file". The control
 *     connection is watched during a transfer: a 4xx/5xx said there while the data connection
 *     stays open ends the transfer at once with that reply (SOCKIT_EPROTO), not after a timeout;
 *     an early 226 does not end it (the data is read to its end).
 * After a network error or a malformed reply the control connection's state is unknown: close
 * the session. After an error reply (SOCKIT_EPROTO with a reply code) the session goes on.
 *
 * Thread safety: one session is used by one thread at a time; sessions are independent.
 * Strings passed in (paths, names) must not contain CR or LF (-EINVAL): they would inject
 * commands. Paths are sent as they are (UTF-8 when the server offers UTF8).
 */
#ifndef SOCKIT_FTP_H
#define SOCKIT_FTP_H

#include <sockit/sockit.h>
#include <sockit/tls.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sockit_ftp sockit_ftp; /* opaque: one control connection and its state */

enum sockit_ftp_tls_mode {
    SOCKIT_FTP_TLS_NONE = 0,     /* plain FTP */
    SOCKIT_FTP_TLS_EXPLICIT = 1, /* AUTH TLS after the greeting, then PBSZ 0 + PROT P at login */
    SOCKIT_FTP_TLS_IMPLICIT = 2  /* TLS from the first byte (ftps://, port 990) */
};

/* Progress of a transfer: done is the byte count of the file now present on the receiving side
 * (a resume's offset included), total the whole file's size, -1 when unknown. Return 0 to go on,
 * anything else to abort the transfer (ABOR is sent; the call returns -ECANCELED). Called once at
 * the start, then once per buffer moved (so the last call has the final count). */
typedef int (*sockit_ftp_progress_fn)(void *arg, uint64_t done, int64_t total);

/* The control connection as it goes (curl -v): called with sent 1 for every command line sent
 * (before it is sent; a PASS command is given as "PASS ****", never the password), and sent 0
 * for every line of every reply received (each line of a multi-line reply on its own) — plain,
 * or TLS-protected after AUTH TLS or with implicit TLS alike. line is len bytes without its CR LF
 * (not NUL-terminated), valid only during the call. Called on the session's thread, from within
 * the call that talks; it must not call back into the session. */
typedef void (*sockit_ftp_trace_fn)(void *arg, int sent, const char *line, size_t len);

typedef struct sockit_ftp_opts {
    double timeout;            /* seconds, see "Timeouts" above; 0: 60; < 0: none */
    int tls;                   /* enum sockit_ftp_tls_mode */
    sockit_tls_ctx *tls_ctx;   /* NULL: the session makes one from cafile/insecure. Borrowed:
                                  it must outlive the session (it may be shared by sessions) */
    const char *cafile;        /* trust these CAs (PEM) instead of the system store */
    int insecure;              /* 1: skip certificate and host name checks (curl -k) */
    const char *tls_host;      /* name to verify and send as SNI; NULL: the host connected to */
    int active;                /* 1: active mode (EPRT/PORT); 0: passive (EPSV, then PASV) */
    int no_epsv;               /* 1: passive mode starts with PASV (old servers and middleboxes) */
    int use_pasv_address;      /* 1: connect to the address in the 227 reply (not NAT-safe) */
    int family;                /* 0: any; AF_INET or AF_INET6 for the control connection */
    sockit_ftp_progress_fn progress; /* NULL: none; applies to every transfer of the session */
    void *progress_arg;
    double keepalive;          /* > 0: during transfers, send NOOP on the control connection
                                  after this many idle seconds (firewalls that drop idle control
                                  connections on long transfers); 0: never */
    size_t bufsize;            /* transfer buffer; 0: 256 KiB (at least 16 KiB is used) */
    int64_t deadline;          /* 0: none; else the session's whole life ends by then (see
                                  "Timeouts" above) */
    int use_sendfile;          /* 1: uploads from a descriptor over a plain data connection use
                                  sendfile(2) (no copy through user space); 0: pread + send
                                  through the transfer buffer, which measured faster end to end
                                  against vsftpd and pyftpdlib on loopback (bench/RESULTS.md) */
    sockit_ftp_trace_fn trace; /* NULL: none; see sockit_ftp_trace_fn */
    void *trace_arg;
} sockit_ftp_opts;

/* ---- sessions ------------------------------------------------------------------------------ */

/* Connects to host:port (port NULL or "": 21, or 990 with SOCKIT_FTP_TLS_IMPLICIT; a service
 * name or number as in sockit.h), reads the greeting (220) and, for explicit TLS, does AUTH TLS
 * and the handshake. Does not log in. opts NULL: defaults (copied: the strings in it must stay
 * valid only for this call, tls_ctx for the session's life). On success *out is the caller's:
 * end it with sockit_ftp_close. Errors: the core's connect/TLS codes; SOCKIT_EPROTO for a
 * greeting other than 220 ("ftp greeting: 421 Too many users") or an AUTH TLS refused. Blocks up
 * to the timeout. */
SOCKIT_API int sockit_ftp_connect(sockit_ftp **out, const char *host, const char *port,
                                  const sockit_ftp_opts *opts);

/* Logs in: USER, then PASS when asked (331), then, with TLS, PBSZ 0 and PROT P; then FEAT (to
 * learn what the server offers; a refusal is not an error) and TYPE I. user NULL or "" is
 * "anonymous"; pass NULL is "anonymous@" for anonymous and "" otherwise. 0, or SOCKIT_EPROTO with
 * the server's text ("login failed: 530 Login incorrect."), or a network code. */
SOCKIT_API int sockit_ftp_login(sockit_ftp *f, const char *user, const char *pass);

/* Connects and logs in as a URL says: ftp://[USER[:PASS]@]HOST[:PORT]/PATH (implicit TLS for
 * ftps://; opts->tls EXPLICIT upgrades an ftp:// URL; user and password are %-decoded; no user is
 * anonymous). The URL's path, %-decoded and without its leading '/', is written NUL-terminated
 * to path (pathcap bytes; path may be NULL): it is relative to the login directory as RFC 1738
 * says ("ftp://h/pub/a.txt" -> "pub/a.txt"; "ftp://h/%2Fetc/x" -> "/etc/x"). An ";type=" suffix
 * is dropped. Errors: SOCKIT_EBADURL (not ftp/ftps, no host, a path with CR/LF or NUL), -ENOBUFS
 * (path does not fit), and those of sockit_ftp_connect and sockit_ftp_login. */
SOCKIT_API int sockit_ftp_open_url(sockit_ftp **out, const char *url, const sockit_ftp_opts *opts,
                                   char *path, size_t pathcap);

/* QUIT: sends it and waits for the reply (within the timeout), then closes the control
 * connection. The session stays allocated for sockit_ftp_close. 0 or a code. */
SOCKIT_API int sockit_ftp_quit(sockit_ftp *f);

/* Closes the connections and frees the session. Sends QUIT first if the connection seems healthy
 * (without waiting for its reply). NULL is a no-op. */
SOCKIT_API void sockit_ftp_close(sockit_ftp *f);

/* ---- replies and raw commands -------------------------------------------------------------- */

/* The last reply received: its code (0 before any), and its text: every line of it, CR LF turned
 * into "\n", the last line's end removed, NUL-terminated ("230 Login successful." or
 * "211-Features:\n MLSD\n EPSV\n211 End"). The text is the session's: valid until the next call
 * on f. */
SOCKIT_API int sockit_ftp_reply_code(const sockit_ftp *f);
SOCKIT_API const char *sockit_ftp_reply_text(const sockit_ftp *f);

/* Sends one command line (without CR LF; "SITE CHMOD 644 a.txt") and reads its reply, a
 * preliminary 1xx followed by the final one. Returns the final code (200..399), or SOCKIT_EPROTO
 * for 4xx/5xx (the text in the message), or a network code. reply (may be NULL) receives the
 * code and text as sockit_ftp_reply_code/text give them. Commands that open a data connection
 * (RETR, LIST ...) need the dedicated calls. */
typedef struct sockit_ftp_reply {
    int code;
    const char *text; /* the session's, as sockit_ftp_reply_text */
} sockit_ftp_reply;
SOCKIT_API int sockit_ftp_cmd(sockit_ftp *f, const char *cmd, sockit_ftp_reply *reply);

/* ---- what the server offers ---------------------------------------------------------------- */

enum sockit_ftp_feature {
    SOCKIT_FTP_FEAT_MLSD = 1 << 0,  /* MLST/MLSD (RFC 3659) */
    SOCKIT_FTP_FEAT_EPSV = 1 << 1,
    SOCKIT_FTP_FEAT_REST = 1 << 2,  /* REST STREAM */
    SOCKIT_FTP_FEAT_SIZE = 1 << 3,
    SOCKIT_FTP_FEAT_MDTM = 1 << 4,
    SOCKIT_FTP_FEAT_UTF8 = 1 << 5,
    SOCKIT_FTP_FEAT_TVFS = 1 << 6,
    SOCKIT_FTP_FEAT_AUTH_TLS = 1 << 7,
    SOCKIT_FTP_FEAT_EPRT = 1 << 8,
    SOCKIT_FTP_FEAT_FEAT = 1 << 15  /* the server answered FEAT at all */
};

/* Sends FEAT and returns the features it lists (enum sockit_ftp_feature bits; a server that
 * refuses FEAT has none: 0), or a network code. Login does this once; sockit_ftp_features gives
 * the result without asking again. MLSD is used for sockit_ftp_ls only when offered; UTF8 makes
 * the session send OPTS UTF8 ON at login. */
SOCKIT_API int sockit_ftp_feat(sockit_ftp *f);
SOCKIT_API int sockit_ftp_features(const sockit_ftp *f);

/* SYST: the system type ("UNIX Type: L8") into buf (cap bytes, NUL-terminated, truncated).
 * 0 or a code. */
SOCKIT_API int sockit_ftp_syst(sockit_ftp *f, char *buf, size_t cap);

/* NOOP. 0 or a code. */
SOCKIT_API int sockit_ftp_noop(sockit_ftp *f);

/* ---- directories and files ----------------------------------------------------------------- */

/* PWD: the current directory (the 257 reply's quoted name, "" unescaped) into buf (cap bytes,
 * NUL-terminated). Returns its length, -ENOBUFS if it does not fit, SOCKIT_EPROTO if the reply
 * holds no quoted name. */
SOCKIT_API int sockit_ftp_pwd(sockit_ftp *f, char *buf, size_t cap);
SOCKIT_API int sockit_ftp_cwd(sockit_ftp *f, const char *dir);   /* CWD; 0 or a code */
SOCKIT_API int sockit_ftp_cdup(sockit_ftp *f);                   /* CDUP; 0 or a code */
SOCKIT_API int sockit_ftp_mkd(sockit_ftp *f, const char *dir);   /* MKD; 0 or a code */
SOCKIT_API int sockit_ftp_rmd(sockit_ftp *f, const char *dir);   /* RMD; 0 or a code */
SOCKIT_API int sockit_ftp_dele(sockit_ftp *f, const char *path); /* DELE; 0 or a code */
/* RNFR from, then RNTO to. 0 or a code. */
SOCKIT_API int sockit_ftp_rename(sockit_ftp *f, const char *from, const char *to);

/* SIZE (in the current type; binary after login): the file's size in bytes. 0 or a code
 * (SOCKIT_EPROTO "size a.txt: 550 ..." for a missing file or a server without SIZE). */
SOCKIT_API int sockit_ftp_size(sockit_ftp *f, const char *path, uint64_t *size);

/* MDTM: the file's modification time, seconds since the epoch (UTC). 0 or a code. */
SOCKIT_API int sockit_ftp_mdtm(sockit_ftp *f, const char *path, int64_t *mtime);

/* TYPE: binary (1, TYPE I, the default after login) or ASCII (0, TYPE A). 0 or a code. Transfers
 * and listings use the current type; the client itself converts nothing (in ASCII the server
 * sends CR LF line ends and turns those it receives into its own). SIZE is not trusted in ASCII,
 * so downloads are then not checked against it. */
SOCKIT_API int sockit_ftp_type(sockit_ftp *f, int binary);

/* ABOR outside a transfer (transfers abort themselves when a callback asks): sends ABOR and reads
 * its reply (and a 426 before it, if any). 0 or a code. */
SOCKIT_API int sockit_ftp_abor(sockit_ftp *f);

/* ---- listings ------------------------------------------------------------------------------ */

enum sockit_ftp_type {
    SOCKIT_FTP_UNKNOWN = 0,
    SOCKIT_FTP_FILE,
    SOCKIT_FTP_DIR,
    SOCKIT_FTP_LINK,
    SOCKIT_FTP_CDIR,  /* MLSD type=cdir: the directory listed itself */
    SOCKIT_FTP_PDIR,  /* MLSD type=pdir: its parent */
    SOCKIT_FTP_OTHER  /* a device, a socket, an OS-specific type */
};

/* One entry of a listing, zero-copy: every string points into the line it was parsed from
 * (p NULL: absent). */
typedef struct sockit_ftp_entry {
    sockit_str name;   /* the file's name (never absent in a parsed entry) */
    int type;          /* enum sockit_ftp_type */
    int64_t size;      /* bytes; -1 unknown */
    int64_t mtime;     /* seconds since the epoch (UTC); -1 unknown. LIST dates without a year
                          are taken as the latest such date not more than a day in the future;
                          LIST times are the server's local time, read as UTC */
    sockit_str perm;   /* MLSD perm fact ("adfrw"), or LIST's mode string ("-rw-r--r--") */
    sockit_str unique; /* MLSD unique fact */
    sockit_str target; /* LIST: a symbolic link's target ("a -> b" gives name "a", target "b") */
    sockit_str owner;  /* LIST (Unix) owner and group; MLSD UNIX.owner / UNIX.group */
    sockit_str group;
} sockit_ftp_entry;

/* Parses one MLSD/MLST line ("type=file;size=12;modify=20240102030405; a.txt", CR LF optional)
 * of len bytes. Returns 0, or SOCKIT_EPROTO (no facts/space/name). Facts are case-insensitive;
 * unknown facts are ignored. */
SOCKIT_API int sockit_ftp_parse_mlsd(const char *line, size_t len, sockit_ftp_entry *e);

/* Parses one LIST line, tolerantly: Unix `ls -l` ("-rw-r--r-- 1 u g 12 Jan  2 03:04 a.txt",
 * also without the group or the link count, and with "a -> b" links) and DOS/IIS
 * ("01-02-24  03:04AM  <DIR>  name" or "... 12 name"). Returns 0 for an entry, 1 for a line
 * that is not one ("total 12", empty), or SOCKIT_EPROTO for a line in neither format. */
SOCKIT_API int sockit_ftp_parse_list(const char *line, size_t len, sockit_ftp_entry *e);

/* Called once per line of a listing, line without its CR LF (NUL-terminated, len bytes), valid
 * during the call. Return 0 to go on, a negative code to abort (the listing call returns it). */
typedef int (*sockit_ftp_line_fn)(void *arg, const char *line, size_t len);
/* Called once per parsed entry; e's strings point into the line, valid during the call. */
typedef int (*sockit_ftp_entry_fn)(void *arg, const sockit_ftp_entry *e);

/* The listings of dir (NULL: the current directory), line by line (at most 8 KiB a line: longer
 * is SOCKIT_EPROTO). LIST gives the server's format, NLST names only. 0 or a code. */
SOCKIT_API int sockit_ftp_list(sockit_ftp *f, const char *dir, sockit_ftp_line_fn fn, void *arg);
SOCKIT_API int sockit_ftp_nlst(sockit_ftp *f, const char *dir, sockit_ftp_line_fn fn, void *arg);
/* MLSD of dir, parsed (a line that does not parse is SOCKIT_EPROTO). 0 or a code (SOCKIT_EPROTO
 * "mlsd: 500 ..." when the server has none). */
SOCKIT_API int sockit_ftp_mlsd(sockit_ftp *f, const char *dir, sockit_ftp_entry_fn fn, void *arg);
/* The best listing the server has, parsed: MLSD when FEAT offers it, else LIST through
 * sockit_ftp_parse_list (lines that are not entries, or in no known format, are skipped;
 * "." and ".." are skipped in both). 0 or a code. */
SOCKIT_API int sockit_ftp_ls(sockit_ftp *f, const char *dir, sockit_ftp_entry_fn fn, void *arg);

/* ---- transfers ----------------------------------------------------------------------------- */

/* Receives downloaded bytes. Return 0 to go on, a negative code to abort (ABOR is sent and the
 * transfer call returns that code). */
typedef int (*sockit_ftp_write_fn)(void *arg, const void *data, size_t len);
/* Supplies bytes to upload into buf (cap bytes): the count, 0 at the end, or a negative code to
 * abort (the transfer call returns it). */
typedef ssize_t (*sockit_ftp_read_fn)(void *arg, void *buf, size_t cap);

/* RETR path from byte offset (> 0 sends REST offset first: resume). The size is learnt first
 * (SIZE when offered, else the 150 reply's "(N bytes)") and the bytes received are checked
 * against it. *got (may be NULL) is the count of bytes delivered by this call, also on failure.
 * 0 or a code; see "Errors" for short transfers. */
SOCKIT_API int sockit_ftp_retr(sockit_ftp *f, const char *path, uint64_t offset,
                               sockit_ftp_write_fn fn, void *arg, uint64_t *got);
/* The same into fd (written at its current position; fd stays the caller's). A write error is
 * the OS code (-ENOSPC ...). */
SOCKIT_API int sockit_ftp_retr_fd(sockit_ftp *f, const char *path, uint64_t offset, int fd,
                                  uint64_t *got);
/* Downloads path into the file local (created 0644 or truncated — only once the server has
 * agreed to send: a missing remote file leaves local untouched). resume 1: if local exists,
 * continue after its bytes (REST its size), appending; a file already complete (its size equals
 * SIZE) transfers nothing. A local file error is the OS code with the file named. 0 or a code. */
SOCKIT_API int sockit_ftp_download(sockit_ftp *f, const char *path, const char *local, int resume,
                                   uint64_t *got);

enum sockit_ftp_store_mode {
    SOCKIT_FTP_STORE = 0,  /* STOR: the remote file is replaced (REST offset + STOR when the
                              offset is > 0: the server keeps its first offset bytes) */
    SOCKIT_FTP_APPEND = 1, /* APPE: the bytes go after the remote file's end */
    SOCKIT_FTP_RESUME = 2  /* upload only what is missing: the remote SIZE (0 when the file does
                              not exist) is the offset, then REST + STOR (APPE when the server
                              has no REST STREAM). Only for the fd and file forms. */
};

/* STOR/APPE path with bytes from fn. offset as in enum sockit_ftp_store_mode (the bytes fn
 * gives are those after it). *sent (may be NULL) is the count of bytes sent by this call, also
 * on failure. 0 or a code. */
SOCKIT_API int sockit_ftp_stor(sockit_ftp *f, const char *path, int mode, uint64_t offset,
                               sockit_ftp_read_fn fn, void *arg, uint64_t *sent);
/* The same from fd, read from file offset `offset` on (pread, or sendfile with the session's
 * use_sendfile on a plain connection: fd's position is not
 * used or moved; fd stays the caller's); to its end. With SOCKIT_FTP_RESUME the remote size is
 * the offset (the argument is ignored). 0 or a code. */
SOCKIT_API int sockit_ftp_stor_fd(sockit_ftp *f, const char *path, int mode, uint64_t offset,
                                  int fd, uint64_t *sent);
/* Uploads the file local to path (mode as above; offset 0 but for RESUME). 0 or a code. */
SOCKIT_API int sockit_ftp_upload(sockit_ftp *f, const char *path, const char *local, int mode,
                                 uint64_t *sent);

/* ---- about the session --------------------------------------------------------------------- */

/* The control connection's socket (still the session's; for sockit_tls_version and the like). */
SOCKIT_API sockit_sock *sockit_ftp_sock(const sockit_ftp *f);
/* About the last data connection: 1 if it spoke TLS with a resumed session, 0 if not (or plain),
 * -1 before any. */
SOCKIT_API int sockit_ftp_data_resumed(const sockit_ftp *f);
/* 1 if the last data connection was passive through PASV (EPSV refused or failed), 0 for EPSV or
 * active, -1 before any. */
SOCKIT_API int sockit_ftp_used_pasv(const sockit_ftp *f);

#ifdef __cplusplus
}
#endif

#endif /* SOCKIT_FTP_H */
