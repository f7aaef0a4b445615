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
#define SOCKIT__NEVER INT64_MAX

int64_t sockit__now(void);
/* timeout seconds (< 0: none) -> deadline. 0 gives "now" (a non-blocking call). */
int64_t sockit__deadline(double timeout);
/* Milliseconds left for poll(): -1 for SOCKIT__NEVER, 0 once passed, rounded up otherwise. */
int sockit__remaining_ms(int64_t deadline);

/* Waits until fd is ready for events (POLLIN/POLLOUT) or the deadline passes.
 * Returns 0 when ready, -ETIMEDOUT, or -errno. EINTR is retried with the remaining time. */
int sockit__wait(int fd, short events, int64_t deadline);

/* The socket's timeout as a deadline from now. */
int64_t sockit__sock_deadline(const sockit_sock *s);

/* Plain send/recv with a deadline (no layer): the EINTR/EAGAIN/poll loop lives here, once. */
ssize_t sockit__sys_send(sockit_sock *s, const void *buf, size_t len, int flags, int64_t deadline);
ssize_t sockit__sys_recv(sockit_sock *s, void *buf, size_t len, int flags, int64_t deadline);
/* Through the layer if there is one. */
ssize_t sockit__send_dl(sockit_sock *s, const void *buf, size_t len, int flags, int64_t deadline);
ssize_t sockit__recv_dl(sockit_sock *s, void *buf, size_t len, int flags, int64_t deadline);

/* ---- errors ------------------------------------------------------------------------------- */
/* Sets the thread's message to "<context>: <strerror(code)>" and returns code. */
int sockit__fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the thread's message to exactly the formatted text and returns code. */
int sockit__failmsg(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends "; <formatted>" to the thread's message (for lists of attempts). */
void sockit__errmsg_append(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- addresses ---------------------------------------------------------------------------- */
/* Resolution within a deadline: numeric forms are parsed here, names go to the resolver. */
int sockit__resolve_all(const char *host, const char *port, int family, int type, int passive,
                        sockit_addr *out, size_t max, int64_t deadline);
/* A host name through the system resolver, bounded by the deadline (the lookup runs on a helper
 * thread when there is one, and is abandoned, not waited for, when it passes). */
int sockit__resolve_name(const char *host, const char *port_text, uint16_t port, int family, int type, int passive,
                         sockit_addr *out, size_t max, int64_t deadline);
/* Port string -> number for the type: 0..65535, or SOCKIT_ENOSERVICE with a message. */
int sockit__parse_port(const char *port, int type, uint16_t *out);
/* A printable, bounded rendering of untrusted text for error messages. */
const char *sockit__quote(const char *s, char *buf, size_t len);

/* A new object over fd (owned from now on), with the given timeout applied to fd's mode. */
int sockit__sock_new(sockit_sock **out, int fd, int family, int type, int proto, double timeout);
/* Sets O_NONBLOCK on or off. */
int sockit__set_nonblock(int fd, int on);

#endif
