/*
 * Private to the library: the socket object's layout, deadlines, error helpers.
 * Internal non-static names are sockit__*.
 */
#ifndef SOCKIT_INTERNAL_CORE_H
#define SOCKIT_INTERNAL_CORE_H

#include <sockit/sockit.h>

#include <errno.h>
#include <stdint.h>
#include <time.h>

/* A layer over the socket's byte stream (TLS wraps a socket this way). NULL means plain
 * syscalls. Each hook follows the core's error model and honours the deadline it is given. */
typedef struct sockit__layer {
    ssize_t (*send)(sockit_sock *s, const void *buf, size_t len, int flags, int64_t deadline);
    ssize_t (*recv)(sockit_sock *s, void *buf, size_t len, int flags, int64_t deadline);
    int (*close)(sockit_sock *s); /* frees the layer's state; the fd is closed by the core */
} sockit__layer;

struct sockit_sock {
    int fd;
    int family, type, proto;
    double timeout;              /* < 0 none, 0 non-blocking, > 0 seconds per call */
    const sockit__layer *layer;  /* NULL: plain */
    void *layer_ctx;
};

/* ---- deadlines: absolute CLOCK_MONOTONIC nanoseconds; SOCKIT__NEVER for none ---------------- */
/* A deadline is computed once, at a public call's entry, and handed down to every step. Two
 * values are special: SOCKIT__NEVER (no limit) and SOCKIT__NOWAIT (0: a non-blocking call, which
 * answers -EAGAIN instead of waiting; as a time it is long past, so every bound treats it as
 * expired). The public SOCKIT_DEADLINE_NONE and sockit_deadline_after are the same values. */
#define SOCKIT__NEVER INT64_MAX
#define SOCKIT__NOWAIT 0

int64_t sockit__now(void);
/* timeout seconds (< 0: none) -> deadline. 0 gives SOCKIT__NOWAIT (a non-blocking call). */
int64_t sockit__deadline(double timeout);
/* Milliseconds left for poll(): -1 for SOCKIT__NEVER, 0 once passed, rounded up otherwise. */
int sockit__remaining_ms(int64_t deadline);

/* Waits until fd is ready for events (POLLIN/POLLOUT) or the deadline passes.
 * Returns 0 when ready, -ETIMEDOUT, or -errno. EINTR is retried with the remaining time. */
int sockit__wait(int fd, short events, int64_t deadline);

/* The socket's timeout as a deadline from now. */
int64_t sockit__sock_deadline(const sockit_sock *s);

/* One system call on s's fd (send, recv, sendto, recvfrom, accept4): returns >= 0, or -1 with
 * errno set. nowait is 1 when the call must not block even on a blocking fd (MSG_DONTWAIT). */
typedef ssize_t (*sockit__io_fn)(sockit_sock *s, void *arg, int nowait);

/* THE retry loop: runs op until it succeeds, fails, or the deadline passes. EINTR is retried;
 * EAGAIN waits for events within the deadline unless the caller asked not to wait (flags has
 * MSG_DONTWAIT, or the deadline is SOCKIT__NOWAIT), or the socket blocks and has no deadline (then
 * EAGAIN is a user's SO_RCVTIMEO speaking: passed on). A blocking socket given a finite deadline
 * is driven without blocking, so the deadline holds whatever the socket's mode. Returns op's
 * result or a negative code (-ETIMEDOUT, -EAGAIN, -errno); sets no message. */
ssize_t sockit__io(sockit_sock *s, short events, int flags, int64_t deadline, sockit__io_fn op,
                   void *arg);

/* Plain send/recv with a deadline (no layer), through sockit__io. */
ssize_t sockit__sys_send(sockit_sock *s, const void *buf, size_t len, int flags, int64_t deadline);
ssize_t sockit__sys_recv(sockit_sock *s, void *buf, size_t len, int flags, int64_t deadline);
/* Through the layer if there is one. */
ssize_t sockit__send_dl(sockit_sock *s, const void *buf, size_t len, int flags, int64_t deadline);
ssize_t sockit__recv_dl(sockit_sock *s, void *buf, size_t len, int flags, int64_t deadline);

/* The whole of sendall within a deadline; *sent as sockit_sendall_ex. Sets the message. */
int sockit__sendall_dl(sockit_sock *s, const void *buf, size_t len, int flags, size_t *sent,
                       int64_t deadline);

/* ---- connecting within a deadline --------------------------------------------------------- */
/* Happy Eyeballs over addrs (see sockit_create_connection); the socket gets timeout; what names
 * the target in the message. */
int sockit__connect_many(sockit_sock **out, const sockit_addr *addrs, size_t n, int type,
                         const sockit_connect_opts *o, double timeout, int64_t deadline,
                         const char *what);
/* Resolve and connect, all within the deadline (sockit_create_connection_ex's body). */
int sockit__create_connection_dl(sockit_sock **out, const char *host, const char *port,
                                 double timeout, const sockit_connect_opts *o, int64_t deadline);

/* ---- errors ------------------------------------------------------------------------------- */
/* Sets the thread's message to "<context>: <strerror(code)>" and returns code. */
int sockit__fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the thread's message to exactly the formatted text and returns code. */
int sockit__failmsg(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the thread's message to "<head><n><tail>" (n in decimal) and returns code: the same text
 * as sockit__failmsg(code, "<head>%zu<tail>", n) without printf, for results frequent enough that
 * formatting would show in a profile (the HTTP parser's "incomplete message"). head and tail are
 * short literals. */
int sockit__failmsg_num(int code, const char *head, size_t n, const char *tail);
/* Context for a failure from a lower layer, in ONE place: a call notes sockit__errmark() at its
 * start; when a step fails, sockit__fail_ctx keeps the message if a layer below set one since the
 * mark (TLS and the resolver say it precisely), and otherwise sets "<context>: <strerror(code)>".
 * So every negative return has a message, and none is stale. */
unsigned sockit__errmark(void);
int sockit__fail_ctx(unsigned mark, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- addresses ---------------------------------------------------------------------------- */
/* Resolution within a deadline: numeric forms are parsed here, names go to the resolver. */
int sockit__resolve_all(const char *host, const char *port, int family, int type, int passive,
                        sockit_addr *out, size_t max, int64_t deadline);
/* A host name through the system resolver, bounded by the deadline (the lookup runs on a helper
 * thread when there is one, and is abandoned, not waited for, when it passes). */
/* Lookups abandoned at their deadline whose helper threads still run (tests wait for 0 before
 * counting descriptors: the resolver's socket is the helper's until it returns). */
int sockit__lookups_running(void);
/* Waits until none runs, at most seconds; returns how many still do. */
int sockit__lookups_wait(double seconds);
int sockit__resolve_name(const char *host, const char *port_text, uint16_t port, int family, int type, int passive,
                         sockit_addr *out, size_t max, int64_t deadline);
/* Port string -> number for the type: 0..65535, or SOCKIT_ENOSERVICE with a message. */
int sockit__parse_port(const char *port, int type, uint16_t *out);
/* A printable, bounded rendering of untrusted text for error messages. */
const char *sockit__quote(const char *s, char *buf, size_t len);

/* The peer as messages name it: its address, "unnamed unix peer (fd 5)" for a socketpair's
 * other end, or "unconnected socket (fd 5)". Returns buf. */
const char *sockit__peer_name(const sockit_sock *s, char *buf, size_t len);

/* A new object over fd (owned from now on), with the given timeout applied to fd's mode. */
int sockit__sock_new(sockit_sock **out, int fd, int family, int type, int proto, double timeout);
/* Sets O_NONBLOCK on or off. */
int sockit__set_nonblock(int fd, int on);

#endif
