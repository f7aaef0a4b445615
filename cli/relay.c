/*
 * The relay of connect and listen: standard input to the socket, the socket to standard output.
 *
 * The socket is non-blocking and every wait is one poll() of ours over standard input, the socket
 * and the stop pipe (signals.c). That is what lets both directions flow at once (a blocking send
 * while the peer is itself blocked sending to us would deadlock), lets -w measure idleness, and
 * lets SIGINT/SIGTERM end a server at any moment. Standard input and output keep their blocking
 * mode, since they are shared with other processes: input is read only once poll() says it is
 * readable, output is written with a loop over short writes.
 */
#include "cli.h"

#include <sockit/tls.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RELAY_BUF 65536
#define DGRAM_MAX 65507 /* the largest UDP payload over IPv4 */
#define MORE (-1)       /* a step's result: keep relaying (anything else is the exit status) */

int cli_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR && !cli_stopped())
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* poll()'s timeout for an absolute deadline (< 0: none), rounded up so we never spin. */
static int poll_timeout(double deadline)
{
    if (deadline < 0)
        return -1;
    double left = deadline - cli_now();
    if (left <= 0)
        return 0;
    double ms = left * 1000.0 + 1.0; /* truncated below: this rounds up, without libm */
    return ms > 2147483647.0 ? 2147483647 : (int)ms;
}

/* The peer's address, taken once at the start: after a reset the socket no longer knows it. */
static void peer_name(const sockit_sock *s, char *buf, size_t len)
{
    sockit_addr a;
    if (sockit_getpeername(s, &a) < 0 || !*sockit_addr_format(&a, buf, len))
        snprintf(buf, len, "peer");
}

/* A failed send or recv, as one line naming the peer ("recv from 127.0.0.1:9: Connection
 * refused"); the library's own message for these has no address to give. */
static int io_fail(int code, const char *op, const char *name)
{
    return cli_error(cli_exit_code(code), "%s %s: %s", op, name, sockit_strerror(code));
}

static int idle_timeout(const char *name, double idle)
{
    return cli_error(CLI_NET, "%s: no traffic for %g s: timed out", name, idle);
}

/* Output of what the peer sent. A reader that went away (EPIPE), or a stop signal while blocked
 * writing, ends the relay normally; any other failure is a local file error. */
static int to_stdout(const void *buf, size_t len)
{
    int rc = cli_write_all(STDOUT_FILENO, buf, len);
    if (rc == 0)
        return MORE;
    if (rc == -EPIPE || rc == -EINTR)
        return CLI_OK;
    return cli_error(CLI_FILE, "write standard output: %s", strerror(-rc));
}

/* One read of standard input into buf: its length, 0 at end of input, MORE for "nothing yet"
 * (EINTR, or a non-blocking input someone else set up) or -(exit status) after the message. */
static ssize_t from_stdin(void *buf, size_t len)
{
    ssize_t n = read(STDIN_FILENO, buf, len);
    if (n >= 0)
        return n;
    if (errno == EINTR || errno == EAGAIN)
        return MORE;
    return -cli_error(CLI_FILE, "read standard input: %s", strerror(errno));
}

/* ---- stream --------------------------------------------------------------------------------- */

typedef struct stream_relay {
    sockit_sock *s;
    int *in_eof;                  /* standard input ended (the caller's, kept across peers) */
    int shut;                     /* our sending side is shut down */
    int peer_eof;                 /* the peer shut down its sending side: nothing more to read */
    int sent_after_eof;           /* input went out after that (a reset then means it was lost) */
    char name[SOCKIT_ADDRSTRLEN]; /* the peer, for messages */
    size_t up_off;                /* up[up_off..up_len) is standard input not yet sent */
    size_t up_len;
    char up[RELAY_BUF];
    char down[RELAY_BUF];
} stream_relay;

static int stream_send(stream_relay *r)
{
    ssize_t n = sockit_send(r->s, r->up + r->up_off, r->up_len - r->up_off, 0);
    if (n == -EAGAIN)
        return MORE;
    if (n < 0)
        return io_fail((int)n, "send to", r->name);
    r->up_off += (size_t)n;
    r->sent_after_eof |= r->peer_eof;
    if (r->up_off == r->up_len)
        r->up_off = r->up_len = 0;
    return MORE;
}

static int stream_read_stdin(stream_relay *r)
{
    ssize_t n = from_stdin(r->up, sizeof r->up);
    if (n == MORE)
        return MORE;
    if (n < 0)
        return (int)-n;
    if (n == 0) {
        *r->in_eof = 1;
        return MORE;
    }
    r->up_len = (size_t)n;
    return stream_send(r); /* usually there is room: save a poll() round */
}

static int stream_recv(stream_relay *r)
{
    ssize_t n = sockit_recv(r->s, r->down, sizeof r->down, 0);
    if (n == -EAGAIN)
        return MORE;
    if (n < 0)
        return io_fail((int)n, "recv from", r->name);
    if (n == 0) {
        /* The peer's end of stream ends the receiving direction only: input that is left still
         * goes out (a server may shut down its side and go on reading), as nc does. */
        r->peer_eof = 1;
        return MORE;
    }
    int rc = to_stdout(r->down, (size_t)n);
    /* TLS may hold decrypted bytes that poll() cannot see: take them now. */
    if (rc == MORE && sockit_tls_pending(r->s) > 0)
        return stream_recv(r);
    return rc;
}

/* Shuts our sending side down once input ended and all of it went out, so the peer sees EOF. */
static void stream_maybe_shut(stream_relay *r)
{
    if (*r->in_eof && r->up_len == 0 && !r->shut) {
        /* A peer that already reset makes this fail; the recv that follows reports it. Over TLS,
         * close_notify first (its reply, if any, is read as the end of the stream). */
        if (sockit_tls_active(r->s))
            (void)sockit_tls_shutdown(r->s);
        (void)sockit_shutdown(r->s, SHUT_WR);
        r->shut = 1;
    }
}

/* After the peer's end of stream the socket is polled for errors only: a reset (the peer
 * closed entirely, and what we send cannot arrive) is reported, not spun on. */
static int stream_error(stream_relay *r)
{
    int err = 0;
    if (sockit_getsockopt_int(r->s, SOL_SOCKET, SO_ERROR, &err) < 0 || err == 0)
        err = EPIPE; /* hung up with no error recorded: nothing sent can arrive either */
    return io_fail(-err, "send to", r->name);
}

static int stream_step(stream_relay *r, double idle, double *deadline)
{
    short sock_events = (short)((r->peer_eof ? 0 : POLLIN) | (r->up_len ? POLLOUT : 0));
    struct pollfd p[3] = {
        {.fd = cli_stop_fd(), .events = POLLIN},
        {.fd = (*r->in_eof || r->up_len) ? -1 : STDIN_FILENO, .events = POLLIN},
        {.fd = sockit_fileno(r->s), .events = sock_events},
    };
    int n = poll(p, 3, poll_timeout(*deadline));
    if (n < 0)
        return errno == EINTR ? MORE : cli_error(CLI_NET, "poll: %s", strerror(errno));
    if (n == 0)
        return cli_now() >= *deadline ? idle_timeout(r->name, idle) : MORE;
    if (p[0].revents)
        return MORE; /* a stop signal: the caller sees cli_stopped() */
    int rc = MORE;
    if (p[1].revents & POLLNVAL)
        *r->in_eof = 1; /* no standard input at all: nothing to send */
    else if (p[1].revents)
        rc = stream_read_stdin(r);
    short ev = p[2].revents;
    if (rc == MORE && (ev & (POLLOUT | POLLERR | POLLHUP)) && r->up_len)
        rc = stream_send(r);
    else if (rc == MORE && r->peer_eof && (ev & (POLLERR | POLLHUP)))
        rc = stream_error(r);
    if (rc == MORE && !r->peer_eof && (ev & (POLLIN | POLLERR | POLLHUP)))
        rc = stream_recv(r);
    if (idle >= 0)
        *deadline = cli_now() + idle; /* something moved (or failed): idleness starts over */
    return rc;
}

int cli_relay_stream(sockit_sock *s, double idle, int *stdin_eof)
{
    static stream_relay r; /* 128 KiB of buffers: not on the stack; one relay at a time */
    memset(&r, 0, offsetof(stream_relay, up));
    r.s = s;
    r.in_eof = stdin_eof;
    peer_name(s, r.name, sizeof r.name);
    cli_errmsg_mark();
    int rc = sockit_settimeout(s, 0);
    if (rc < 0)
        return cli_fail(rc, "settimeout");
    double deadline = idle >= 0 ? cli_now() + idle : -1;
    for (;;) {
        if (cli_stopped())
            return CLI_OK;
        stream_maybe_shut(&r);
        if (r.shut && r.peer_eof) {
            /* Both directions ended. A reset seen by now lost input sent after the peer's end
             * of stream (one answering only our FIN or close_notify lost nothing). */
            int err = 0;
            if (r.sent_after_eof && sockit_getsockopt_int(s, SOL_SOCKET, SO_ERROR, &err) == 0 &&
                err != 0)
                return io_fail(-err, "send to", r.name);
            return CLI_OK;
        }
        rc = stream_step(&r, idle, &deadline);
        if (rc != MORE)
            return rc;
    }
}

/* ---- datagram ------------------------------------------------------------------------------- */

typedef struct dgram_relay {
    sockit_sock *s;
    int server;
    int in_eof;
    int have_peer;                /* server: a datagram arrived, so we know where to send */
    sockit_addr peer;             /* server: the last sender */
    char name[SOCKIT_ADDRSTRLEN]; /* the peer (server: the last sender), for messages */
    size_t pending;               /* out[0..pending) is one datagram waiting for room to send */
    char out[DGRAM_MAX];
    char in[RELAY_BUF];
} dgram_relay;

static int dgram_send(dgram_relay *r)
{
    ssize_t n = r->server ? sockit_sendto_addr(r->s, r->out, r->pending, 0, &r->peer)
                          : sockit_send(r->s, r->out, r->pending, 0);
    if (n == -EAGAIN)
        return MORE;
    r->pending = 0; /* sent, or failed: a datagram is never half sent */
    if (n >= 0)
        return MORE;
    int status = io_fail((int)n, "send to", r->name);
    /* A server outlives one peer's error (it may have gone away); a client does not. */
    return r->server ? MORE : status;
}

static int dgram_read_stdin(dgram_relay *r)
{
    ssize_t n = from_stdin(r->out, sizeof r->out);
    if (n == MORE)
        return MORE;
    if (n < 0)
        return (int)-n;
    if (n == 0) {
        r->in_eof = 1;
        return MORE;
    }
    r->pending = (size_t)n;
    return dgram_send(r);
}

static int dgram_recv(dgram_relay *r)
{
    sockit_addr from;
    ssize_t n = sockit_recvfrom(r->s, r->in, sizeof r->in, 0, &from);
    if (n == -EAGAIN)
        return MORE;
    if (n < 0)
        return io_fail((int)n, "recv from", r->name);
    if (r->server) {
        /* An unbound Unix datagram client has no address to answer to ("" when formatted). */
        char name[SOCKIT_ADDRSTRLEN];
        if (*sockit_addr_format(&from, name, sizeof name)) {
            r->peer = from;
            r->have_peer = 1;
            memcpy(r->name, name, sizeof name);
        }
    }
    return n > 0 ? to_stdout(r->in, (size_t)n) : MORE; /* an empty datagram is not an EOF */
}

static int dgram_step(dgram_relay *r, double idle, double *deadline)
{
    int want_in = !r->in_eof && !r->pending && r->have_peer;
    struct pollfd p[3] = {
        {.fd = cli_stop_fd(), .events = POLLIN},
        {.fd = want_in ? STDIN_FILENO : -1, .events = POLLIN},
        {.fd = sockit_fileno(r->s), .events = POLLIN | (r->pending ? POLLOUT : 0)},
    };
    int n = poll(p, 3, poll_timeout(*deadline));
    if (n < 0)
        return errno == EINTR ? MORE : cli_error(CLI_NET, "poll: %s", strerror(errno));
    if (n == 0) {
        if (cli_now() < *deadline)
            return MORE;
        /* After the end of input, silence is how a UDP exchange ends; before, it is a timeout. */
        return r->in_eof ? CLI_OK : idle_timeout(r->name, idle);
    }
    if (p[0].revents)
        return MORE;
    int rc = MORE;
    if (p[1].revents & POLLNVAL)
        r->in_eof = 1;
    else if (p[1].revents)
        rc = dgram_read_stdin(r);
    if (rc == MORE && r->pending && (p[2].revents & (POLLOUT | POLLERR)))
        rc = dgram_send(r);
    if (rc == MORE && (p[2].revents & (POLLIN | POLLERR)))
        rc = dgram_recv(r);
    if (idle >= 0)
        *deadline = cli_now() + idle;
    return rc;
}

int cli_relay_dgram(sockit_sock *s, double idle, int server)
{
    static dgram_relay r;
    memset(&r, 0, offsetof(dgram_relay, out));
    r.s = s;
    r.server = server;
    r.have_peer = !server;
    peer_name(s, r.name, sizeof r.name); /* a server has none yet: "peer" */
    if (server)
        idle = -1; /* a server waits for peers as long as it runs */
    cli_errmsg_mark();
    int rc = sockit_settimeout(s, 0);
    if (rc < 0)
        return cli_fail(rc, "settimeout");
    double deadline = idle >= 0 ? cli_now() + idle : -1;
    for (;;) {
        if (cli_stopped())
            return CLI_OK;
        /* A client without -w is done as soon as its input is out, as nc -u would be. */
        if (!server && r.in_eof && !r.pending && idle < 0)
            return CLI_OK;
        rc = dgram_step(&r, idle, &deadline);
        if (rc != MORE)
            return rc;
    }
}
