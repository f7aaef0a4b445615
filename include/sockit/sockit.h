/*
 * sockit — Python's network programming, in C.
 *
 * This is the core: the socket object, the address vocabulary, the error model and timeouts.
 * docs/core.md summarises the contract and tours every function; this header is the contract
 * in full. Including it brings in <errno.h> (for -ETIMEDOUT and friends) and, at the end, every
 * other sockit header (reader, loop, server, tls, url, http).
 *
 * Error model (one rule for the whole library):
 *   - functions returning int or ssize_t return >= 0 on success and a negative code on failure;
 *   - OS failures are -errno; an elapsed timeout is -ETIMEDOUT; a non-blocking call that would
 *     block is -EAGAIN (a non-blocking connect in progress is -EINPROGRESS, as the OS says);
 *   - a signal never surfaces as -EINTR: the call is retried with the time that remains;
 *   - the library's own codes (SOCKIT_E*) are below -4096 and never collide with -errno;
 *   - sockit_errmsg() returns the calling thread's sentence for its most recent failure.
 * Nothing here prints, aborts on bad input or raises SIGPIPE; every descriptor is close-on-exec.
 *
 * Thread safety: functions may be called from many threads at once on different objects; one
 * object is used by one thread at a time. sockit_errmsg() is per thread.
 */
#ifndef SOCKIT_SOCKIT_H
#define SOCKIT_SOCKIT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SOCKIT_BUILDING) && defined(__GNUC__)
#define SOCKIT_API __attribute__((visibility("default")))
#else
#define SOCKIT_API
#endif

#define SOCKIT_VERSION_MAJOR 0
#define SOCKIT_VERSION_MINOR 1
#define SOCKIT_VERSION_PATCH 0
#define SOCKIT_VERSION "0.1.0"

/* The library's version string, e.g. "0.1.0" (may differ from SOCKIT_VERSION if the program
 * was built against another header than the library it runs with). */
SOCKIT_API const char *sockit_version(void);

/* ---------------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------------- */

/* The library's own codes: one table generates the constants, sockit_strerror and sockit_errname.
 * X(NAME, value, description) */
#define SOCKIT_ERRNO_MAP(X)                                                                      \
    X(ENOHOST, -5001, "Name does not resolve")                                                  \
    X(ENOSERVICE, -5002, "Unknown service name or port out of range")                           \
    X(EBADADDR, -5003, "Malformed address or address that does not fit the family")             \
    X(EPROTO, -5004, "Peer broke the protocol")                                                 \
    X(ETLS, -5005, "TLS handshake or verification failed")                                      \
    X(ETOOLONG, -5006, "Line longer than the limit")                                            \
    X(ECLOSED, -5007, "Connection closed before the expected data arrived")                     \
    X(EINCOMPLETE, -5008, "Input is incomplete")                                                \
    X(EBADURL, -5009, "Malformed URL")

enum {
#define SOCKIT__ERRENUM(name, value, text) SOCKIT_##name = value,
    SOCKIT_ERRNO_MAP(SOCKIT__ERRENUM)
#undef SOCKIT__ERRENUM
    SOCKIT_ERRNO_MIN = -4096 /* every library code is below this */
};

/* Names any code: a library code by its table text, a -errno through the C library ("Connection
 * refused"), 0 as "Success". Never NULL; the string is static and must not be freed. */
SOCKIT_API const char *sockit_strerror(int code);

/* The symbolic name of a code: "SOCKIT_ENOHOST", "ECONNREFUSED", "0"; "UNKNOWN" if it has none. */
SOCKIT_API const char *sockit_errname(int code);

/* The calling thread's message for its most recent failure, with the context a person needs:
 *   connect [::1]:8080: Connection refused
 * The string is thread-local; it stays valid until this thread's next failing sockit call.
 * Before any failure it is "". */
SOCKIT_API const char *sockit_errmsg(void);

/* ---------------------------------------------------------------------------------------------
 * Deadlines: one limit for a sequence of calls
 *
 * A socket's timeout bounds each call. A protocol client that must finish DNS + connect + TLS +
 * request + response within one limit takes a deadline instead: an absolute CLOCK_MONOTONIC time
 * in nanoseconds, computed once, handed to every *_until call (and to the opts of
 * sockit_create_connection_ex and sockit_tls_connect_ex). A call given a deadline waits until it,
 * whatever the socket's own timeout or blocking mode, and returns -ETIMEDOUT once it has passed.
 *   SOCKIT_DEADLINE_NONE  no limit
 *   0                     do not wait at all: -EAGAIN where a call would block
 * ------------------------------------------------------------------------------------------- */

#define SOCKIT_DEADLINE_NONE INT64_MAX

/* The deadline seconds from now: < 0 (or NaN) is SOCKIT_DEADLINE_NONE, 0 is 0 (do not wait). */
SOCKIT_API int64_t sockit_deadline_after(double seconds);

/* ---------------------------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------------------------- */

typedef struct sockit_sock sockit_sock; /* opaque socket object: fd, family, type, proto, timeout */

typedef struct sockit_addr { /* one endpoint, a plain value you may copy */
    struct sockaddr_storage sa;
    socklen_t len;
} sockit_addr;

#define SOCKIT_ADDRSTRLEN 128 /* room for any formatted address, NUL included */

/* A piece of a caller's buffer, as the zero-copy parsers (url.h, http.h) return them:
 * p == NULL means "absent", which is not the same as present and empty (n == 0). */
typedef struct sockit_str {
    const char *p;
    size_t n;
} sockit_str;

/* ---------------------------------------------------------------------------------------------
 * The address vocabulary
 *
 * host:  NULL or ""        the wildcard (INADDR_ANY / in6addr_any)
 *        "<broadcast>"     INADDR_BROADCAST (also "255.255.255.255"); SOCKIT_EBADADDR for AF_INET6
 *        "192.0.2.7"       strict dotted quad, never sent to DNS. Any other numeric IPv4 form the
 *                          C library would accept (inet_aton: "127.1", "1.2.3", "0x7f.0.0.1",
 *                          octal "010.0.0.1", "2130706433") is not a host name either: it is
 *                          SOCKIT_EBADADDR ("bad address "127.1": not a dotted quad"), never
 *                          resolved
 *        "::1", "[::1]", "fe80::1%lo", "::ffff:192.0.2.7"
 *                          IPv6, never sent to DNS; the %zone becomes the scope id
 *        "example.org"     resolved with the system resolver
 *        AF_UNIX:          "/path" or "@abstract"; NULL or "" asks for an autobound name
 *        (with family 0, a host starting with '/' or '@' is AF_UNIX)
 * port:  "8080", "http" (looked up for the socket type), NULL / "" / "0" for any free port.
 *        Anything else is SOCKIT_ENOSERVICE. For AF_UNIX the port must be NULL or "".
 * family 0 (AF_UNSPEC) lets the host decide; type 0 means SOCK_STREAM.
 * ------------------------------------------------------------------------------------------- */

/* Resolves host and port to the first matching address. passive=1 asks for an address to bind
 * (the wildcard for NULL/""), passive=0 for one to connect or send to. Returns 0 or a code:
 * SOCKIT_ENOHOST, SOCKIT_ENOSERVICE, SOCKIT_EBADADDR, -ENAMETOOLONG (AF_UNIX path too long). */
SOCKIT_API int sockit_addr_resolve(sockit_addr *out, int family, int type, const char *host,
                                   const char *port, int passive);

/* The integer form: an IPv4 address in host byte order (0 is "", 0xFFFFFFFF is "<broadcast>"). */
SOCKIT_API int sockit_addr_ipv4(sockit_addr *out, uint32_t host_order, uint16_t port);

/* An AF_UNIX address: "/path", "@abstract", or NULL/"" for an unnamed (autobind) address.
 * -ENAMETOOLONG if the path does not fit sun_path; never truncated. */
SOCKIT_API int sockit_addr_unix(sockit_addr *out, const char *path);

/* Formats a as "127.0.0.1:80", "[::1]:443", "[fe80::1%lo]:22", "/run/app.sock", "@name"
 * (an unnamed AF_UNIX address is "", an empty address "(none)"). In a Unix name, control
 * characters and backslashes are written as \xNN (so only such a name can need more than
 * SOCKIT_ADDRSTRLEN). Truncates to len (always NUL-terminated when len > 0). Returns buf. sockit_addr_parse reads every such string back to the same address;
 * for IP addresses, the host part before the last ':' and the port after it also resolve back. */
SOCKIT_API const char *sockit_addr_format(const sockit_addr *a, char *buf, size_t len);

/* The port of an AF_INET/AF_INET6 address; -1 for AF_UNIX or an empty address. */
SOCKIT_API int sockit_addr_port(const sockit_addr *a);

/* Parses "HOST:PORT", "[V6]:PORT" or, for AF_UNIX or a string starting with '/' or '@', a path,
 * exactly as sockit_addr_format writes them (a Unix name's \xNN escapes are decoded), then
 * resolves as sockit_addr_resolve does. A string with no ':' is a host with port "0". Returns 0
 * or a code as sockit_addr_resolve. */
SOCKIT_API int sockit_addr_parse(sockit_addr *out, int family, int type, const char *hostport,
                                 int passive);

/* 1 if a and b are the same endpoint (family, address, port, scope; path for AF_UNIX), else 0. */
SOCKIT_API int sockit_addr_equal(const sockit_addr *a, const sockit_addr *b);

/* Every address host and port resolve to, in resolver order, duplicates removed. Stores at most
 * max of them in out and returns how many it stored (>= 1), or a code as sockit_addr_resolve.
 * type 0 is SOCK_STREAM. A numeric host gives exactly one address. */
SOCKIT_API int sockit_getaddrinfo(const char *host, const char *port, int family, int type,
                                  sockit_addr *out, size_t max);

/* The same, with the resolution bounded by timeout seconds (< 0: none). A resolver that does not
 * answer in time gives -ETIMEDOUT; the lookup is abandoned, never waited for. Timeout 0 (or a
 * deadline already passed, in the deadline forms) asks no resolver: numeric hosts only, a name is
 * -ETIMEDOUT. */
SOCKIT_API int sockit_getaddrinfo_timeout(const char *host, const char *port, int family, int type,
                                          sockit_addr *out, size_t max, double timeout);

/* The machine's host name into buf (NUL-terminated). -ENAMETOOLONG if it does not fit. */
SOCKIT_API int sockit_gethostname(char *buf, size_t len);

/* ---------------------------------------------------------------------------------------------
 * The socket object
 * ------------------------------------------------------------------------------------------- */

/* socket.socket(): a new socket (family 0 is AF_INET, type 0 is SOCK_STREAM), close-on-exec, with
 * the default timeout (sockit_getdefaulttimeout). On success *out owns it: end it with sockit_close. */
SOCKIT_API int sockit_socket(sockit_sock **out, int family, int type, int proto);

/* A connected pair (family 0 is AF_UNIX, type 0 is SOCK_STREAM). Both are the caller's. */
SOCKIT_API int sockit_socketpair(sockit_sock **a, sockit_sock **b, int family, int type);

/* Adopts fd (the object owns it from now on, also closing it): learns family, type and proto from
 * it and makes it close-on-exec. Its timeout is 0 if the fd is non-blocking, else "none".
 * -ENOTSOCK if fd is not a socket, -EBADF if it is not open; on failure fd is left untouched. */
SOCKIT_API int sockit_fromfd(sockit_sock **out, int fd);

/* The descriptor (still owned by s). Every call taking a socket answers a NULL one with -EBADF
 * and a message ("fileno: no socket (NULL)"), never a crash (sockit_close(NULL) is a no-op). */
SOCKIT_API int sockit_fileno(const sockit_sock *s);

/* Frees the object and returns its fd, still open and now the caller's. */
SOCKIT_API int sockit_detach(sockit_sock *s);

/* Closes the fd and frees the object, also when closing reports an error (which it returns).
 * NULL is a no-op returning 0. */
SOCKIT_API int sockit_close(sockit_sock *s);

SOCKIT_API int sockit_family(const sockit_sock *s);
SOCKIT_API int sockit_type(const sockit_sock *s);
SOCKIT_API int sockit_proto(const sockit_sock *s);

/* Server side. bind resolves host/port for the socket's family and type (passive). */
SOCKIT_API int sockit_bind(sockit_sock *s, const char *host, const char *port);
/* backlog < 0: SOMAXCONN. */
SOCKIT_API int sockit_listen(sockit_sock *s, int backlog);
/* Waits (honouring the timeout) for a connection; *conn is a new socket owned by the caller,
 * close-on-exec, with the default timeout. peer may be NULL. */
SOCKIT_API int sockit_accept(sockit_sock *s, sockit_sock **conn, sockit_addr *peer);

/* Client side: resolves host/port (within the timeout) and connects, the whole call bounded by
 * the socket's timeout. With timeout 0 a connect in progress is -EINPROGRESS. */
SOCKIT_API int sockit_connect(sockit_sock *s, const char *host, const char *port);

/* Data. send/recv return the byte count; recv returns 0 at end of stream. MSG_NOSIGNAL is always
 * added to sends: a closed peer is -EPIPE, never SIGPIPE. */
SOCKIT_API ssize_t sockit_send(sockit_sock *s, const void *buf, size_t len, int flags);
SOCKIT_API ssize_t sockit_recv(sockit_sock *s, void *buf, size_t len, int flags);
/* Sends all of buf; the timeout bounds the whole call. 0 or a code. */
SOCKIT_API int sockit_sendall(sockit_sock *s, const void *buf, size_t len, int flags);
/* As sendall; *sent (may be NULL) is the byte count handed to the kernel, also on failure. */
SOCKIT_API int sockit_sendall_ex(sockit_sock *s, const void *buf, size_t len, int flags,
                                 size_t *sent);
/* As sendall_ex, bounded by deadline (see Deadlines) instead of the socket's timeout. */
SOCKIT_API int sockit_sendall_until(sockit_sock *s, const void *buf, size_t len, int flags,
                                    size_t *sent, int64_t deadline);
SOCKIT_API ssize_t sockit_sendto(sockit_sock *s, const void *buf, size_t len, int flags,
                                 const char *host, const char *port);
/* from may be NULL. For a datagram, a buffer too small truncates it (as recvfrom(2) does). */
SOCKIT_API ssize_t sockit_recvfrom(sockit_sock *s, void *buf, size_t len, int flags,
                                   sockit_addr *from);
/* how: SHUT_RD, SHUT_WR or SHUT_RDWR. */
SOCKIT_API int sockit_shutdown(sockit_sock *s, int how);

/* The same with resolved addresses. */
SOCKIT_API int sockit_bind_addr(sockit_sock *s, const sockit_addr *a);
SOCKIT_API int sockit_connect_addr(sockit_sock *s, const sockit_addr *a);
SOCKIT_API ssize_t sockit_sendto_addr(sockit_sock *s, const void *buf, size_t len, int flags,
                                      const sockit_addr *a);

/* Options and names.
 * settimeout: < 0 blocks forever (Python's None); 0 is non-blocking; > 0 limits each call (and
 * bounds the whole of sendall and connect). NaN is -EINVAL. */
SOCKIT_API int sockit_settimeout(sockit_sock *s, double seconds);
SOCKIT_API double sockit_gettimeout(const sockit_sock *s);
/* The timeout new sockets start with (sockit_socket, accept, fromfd keeps the fd's own mode).
 * Process-wide, initially -1 (none). */
SOCKIT_API int sockit_setdefaulttimeout(double seconds);
SOCKIT_API double sockit_getdefaulttimeout(void);
SOCKIT_API int sockit_setsockopt(sockit_sock *s, int level, int name, const void *val,
                                 socklen_t len);
SOCKIT_API int sockit_getsockopt(sockit_sock *s, int level, int name, void *val, socklen_t *len);
SOCKIT_API int sockit_setsockopt_int(sockit_sock *s, int level, int name, int val);
SOCKIT_API int sockit_getsockopt_int(sockit_sock *s, int level, int name, int *val);
SOCKIT_API int sockit_getsockname(const sockit_sock *s, sockit_addr *out);
SOCKIT_API int sockit_getpeername(const sockit_sock *s, sockit_addr *out);

/* ---------------------------------------------------------------------------------------------
 * Conveniences (socket.create_connection / socket.create_server)
 * ------------------------------------------------------------------------------------------- */

/* TCP client. Resolves host (within the timeout) and tries every address: Happy Eyeballs
 * (RFC 8305) — addresses interleaved by family starting with the resolver's first, a new attempt
 * started every 250 ms while earlier ones are still pending, the first to connect wins and the
 * others are closed. One timeout (< 0: none) bounds resolution and all attempts. On total failure
 * returns the last error and sockit_errmsg() names every address tried with its error. The
 * returned socket keeps the timeout. */
SOCKIT_API int sockit_create_connection(sockit_sock **out, const char *host, const char *port,
                                        double timeout);

/* The same over addresses already resolved (tried in the order given, Happy Eyeballs as above;
 * type 0 is SOCK_STREAM). */
SOCKIT_API int sockit_create_connection_addrs(sockit_sock **out, const sockit_addr *addrs,
                                              size_t n, int type, double timeout);

typedef struct sockit_connect_opts {
    int family;              /* 0: every address; AF_INET or AF_INET6: only that family (-4/-6) */
    const char *source_host; /* NULL: any. Bind each attempt to this local address first */
    const char *source_port; /* NULL: any free port */
    int64_t deadline;        /* 0: the timeout bounds the call; else this deadline does (see
                                Deadlines) and the socket still gets the timeout */
} sockit_connect_opts;

/* sockit_create_connection with options (opts NULL: the same call). With a family, a numeric
 * host of the other family is SOCKIT_EBADADDR and a name with no address of that family is
 * SOCKIT_ENOHOST (the resolver's reason in the message); another family value is -EAFNOSUPPORT.
 * The source address is resolved (numeric or a name) for each attempt's family; an attempt whose
 * family has no source address fails with SOCKIT_EBADADDR like any other attempt, and is named
 * in the message. */
SOCKIT_API int sockit_create_connection_ex(sockit_sock **out, const char *host, const char *port,
                                           double timeout, const sockit_connect_opts *opts);

typedef struct sockit_server_opts {
    int family;     /* 0: any. With host NULL/"" and family 0: one dual-stack IPv6 socket
                       (IPV6_V6ONLY off); AF_INET6 alone sets IPV6_V6ONLY on. A host starting with
                       '/' or '@' with family 0 is AF_UNIX. */
    int type;       /* 0: SOCK_STREAM; SOCK_DGRAM gives a bound UDP socket (no listen) */
    int backlog;    /* <= 0: a sane default (SOMAXCONN) */
    int reuse_port; /* SO_REUSEPORT, for one listener per worker */
    /* Additions to the contract: */
    int unix_mode;  /* AF_UNIX path: permission bits of the socket file, set before listen.
                       0: 0660 (owner and group; never world-writable by accident). */
} sockit_server_opts;

/* Creates, binds and (for stream types) listens. SO_REUSEADDR on for IP. For an AF_UNIX path: a
 * live socket already there is -EADDRINUSE (never clobbered), a stale one (nobody accepting) is
 * removed, a non-socket file there is -EEXIST. opts NULL: defaults. */
SOCKIT_API int sockit_create_server(sockit_sock **out, const char *host, const char *port,
                                    const sockit_server_opts *opts);

#ifdef __cplusplus
}
#endif

/* The umbrella: one include for the whole library. */
#include <sockit/reader.h>
#include <sockit/loop.h>
#include <sockit/server.h>
#include <sockit/tls.h>
#include <sockit/url.h>
#include <sockit/http.h>
#include <sockit/http_server.h>
#include <sockit/ftp.h>

#endif /* SOCKIT_SOCKIT_H */
