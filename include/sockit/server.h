/*
 * sockit server — Python's socketserver for C: stream (TCP, Unix) and datagram (UDP, Unix dgram)
 * servers, in two modes.
 *
 * Event-driven mode (the default): N worker threads, each with its own sockit_loop and — for
 * TCP and UDP — its own SO_REUSEPORT socket, so throughput scales with cores. Your callbacks run on
 * the worker that owns the connection, one at a time per worker; they must not block. Data arrives
 * in on_data straight from the worker's read buffer (zero copy, and writable: a protocol may
 * decode in place); what you do not consume is kept for the next call. Output that the kernel does
 * not take at once is queued as a list of segments — bytes copied, bytes you lend (released by a
 * callback once sent) and file ranges (sent with sendfile(2), or read and encrypted by TLS) —
 * written with writev. Above `out_limit` bytes queued the server stops reading from that peer
 * until the queue drains (backpressure), so a peer that never reads cannot grow memory without
 * bound. An idle connection holds no buffers: its slot is 88 bytes on 64-bit Linux (a
 * _Static_assert in the source keeps it so) plus `conn_state_size`, the protocol's own state.
 * Steady traffic allocates nothing: output queues and 16 KiB copy chunks are reused per worker.
 * TLS (cfg.tls) is a layer under the connection: callbacks see plain bytes either way.
 *
 * Threaded mode (`threads > 0`, at most SOCKIT_SERVER_MAX_THREADS): Python's ThreadingTCPServer.
 * An acceptor hands each connection to a bounded pool of threads that call your blocking `handle`
 * with a sockit_sock that has the server's timeout — SOCKIT_SERVER_THREADED_TIMEOUT (60 s) unless
 * you set one, so that a silent peer cannot hold a thread forever; a negative `timeout` asks for
 * none. With `tls`, the handshake is bounded by the same timeout, and its failures are logged (at
 * most one line a second). When every thread is busy and the queue is full, new connections are
 * refused (closed) and logged.
 *
 * Both modes: a connection limit (over it: refused cleanly, logged, never a crash), graceful stop
 * (sockit_server_stop, or SIGINT/SIGTERM under sockit_server_run): listeners close at once, idle
 * connections close, busy ones get `stop_grace` seconds to finish, then everything is closed.
 * Errors follow the core's model. The library never prints: it calls `log` if you give one.
 */
#ifndef SOCKIT_SERVER_H
#define SOCKIT_SERVER_H

#include <sockit/loop.h>
#include <sockit/sockit.h>

#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Threaded mode (see above): the most handler threads a server may ask for (more is -EINVAL), and
 * the handed socket's timeout in seconds when the config leaves it 0. */
#define SOCKIT_SERVER_MAX_THREADS 1024
#define SOCKIT_SERVER_THREADED_TIMEOUT 60.0

typedef struct sockit_server sockit_server;
typedef struct sockit_conn sockit_conn;
typedef struct sockit_tls_ctx sockit_tls_ctx; /* tls.h */
typedef struct sockit_loop sockit_loop;       /* loop.h (declared here too: any include order works) */
typedef struct sockit_dgram sockit_dgram;

typedef struct sockit_server_cbs {
    /* Event-driven stream servers. All optional except on_data. */
    /* A connection was accepted. Return < 0 to refuse it (it is closed, on_close not called). */
    int (*on_open)(sockit_conn *c);
    /* Bytes arrived: data/len are valid only during the call, and yours to modify (decode in
     * place) during it. Return how many you consumed; the rest is kept and offered again, with
     * what follows, when more arrives (or once when reading resumes after pause or backpressure,
     * also after the end of the peer's stream when on_eof kept the connection open; never twice
     * in one loop round). A connection that holds `in_limit` bytes unconsumed is
     * closed with SOCKIT_ETOOLONG. At the end of the peer's stream held input is offered one last
     * time with sockit_conn_eof(c) true; what is still unconsumed then makes the close reason
     * SOCKIT_EINCOMPLETE — received bytes are never dropped silently. */
    size_t (*on_data)(sockit_conn *c, char *data, size_t len);
    /* The output queue drained: after backpressure (pending reached out_limit), or after
     * sockit_conn_want_writable. You may send more now. */
    void (*on_writable)(sockit_conn *c);
    /* The peer shut down its sending side (half-close). Without on_eof the connection is closed
     * once its output is sent. With it, the connection stays open for writing until you close. */
    void (*on_eof)(sockit_conn *c);
    /* The connection is gone. reason: 0 closed by you or by the peer in order; -ETIMEDOUT idle or
     * first-byte timeout; -ECONNRESET/-EPIPE/... the peer failed; SOCKIT_ETOOLONG input limit;
     * SOCKIT_EINCOMPLETE the peer ended its stream with input you left unconsumed; -EIO a file
     * given to sockit_conn_sendfile could not be read to the end; -ESHUTDOWN the server
     * stopped. From here on every send fails with -EPIPE. The conn must not be used after this
     * returns. */
    void (*on_close)(sockit_conn *c, int reason);

    /* Event-driven datagram servers: one call per datagram; reply with sockit_dgram_reply. */
    void (*on_datagram)(sockit_dgram *d, const char *data, size_t len, const sockit_addr *from);

    /* Threaded mode: serves one connection, blocking as it likes. conn has the server's timeout
     * and is closed by the server after handle returns (do not close it yourself). */
    void (*handle)(sockit_sock *conn, const sockit_addr *peer, void *user);
} sockit_server_cbs;

/* Event-driven workers per server at most. */
#define SOCKIT_SERVER_MAX_WORKERS 1024

typedef struct sockit_server_config {
    const char *host;   /* the core's vocabulary: NULL/"" wildcard (dual-stack), "127.0.0.1",
                           "::1", a name, "/path" or "@name" for AF_UNIX */
    const char *port;   /* "8080", "http", NULL/"0" for any free port */
    int family;         /* 0: from host (as sockit_create_server) */
    int type;           /* 0: SOCK_STREAM; SOCK_DGRAM for datagram servers */
    int workers;        /* event-driven: worker threads; 0: one per core; at most
                           SOCKIT_SERVER_MAX_WORKERS */
    int threads;        /* > 0: threaded mode with this many handler threads */
    int queue;          /* threaded mode: accepted connections waiting for a thread (0: threads) */
    int max_conns;      /* open connections at most (0: 10000); over it new ones are refused */
    int backlog;        /* listen backlog (0: SOMAXCONN) */
    int unix_mode;      /* AF_UNIX socket file mode (0: 0660) */
    /* Event-driven mode, safe by default. 0: the default; < 0: none; huge values are clamped.
     * idle: close a connection with no traffic for this long (default 300 s). first byte: close
     * a new connection that sends nothing (or does not finish its TLS handshake) for this long
     * (default 30 s). */
    double idle_timeout;
    double first_byte_timeout;
    double timeout;            /* threaded mode: the handed socket's timeout, which also bounds
                                  the TLS handshake (0: SOCKIT_SERVER_THREADED_TIMEOUT; < 0: none,
                                  the socket blocks) */
    double stop_grace;         /* graceful stop: seconds busy connections may finish (0: 5) */
    size_t out_limit;   /* queued output above which reading pauses (0: 256 KiB) */
    size_t in_limit;    /* unconsumed input kept per connection at most (0: 64 KiB) */
    size_t read_size;   /* bytes per read into the worker's buffer (0: 64 KiB) */
    size_t conn_state_size; /* event-driven: bytes of protocol state kept in each connection's
                               slot (sockit_conn_state), zeroed at each accept; 0: none */
    const sockit_server_cbs *cbs;
    void *user;         /* yours: sockit_server_user(), and `handle`'s last argument */
    /* A server context (tls.h) to serve TLS with; NULL: plain. Event-driven mode: handshakes,
     * reads and writes are non-blocking, driven by the loop; on_open runs once the handshake is
     * done, and a failed handshake closes the connection without on_open/on_close (logged).
     * Threaded mode: the handed socket already speaks TLS. The server holds a reference to the
     * context: you may free yours after sockit_server_new. */
    sockit_tls_ctx *tls;
    /* Optional: the library's one way to speak (refusals, accept failures, TLS handshake
     * failures; each kind at most once a second per worker). Called from the worker threads,
     * possibly from several at once. */
    void (*log)(void *user, const char *message);
} sockit_server_config;

/* Creates the server and binds its socket(s) (so the port is known, and a bind failure is
 * reported here): nothing runs yet. The config is copied (host/port strings too). -EINVAL for a
 * NULL or inconsistent config (sockit_errmsg says what). */
SOCKIT_API int sockit_server_new(sockit_server **out, const sockit_server_config *cfg);

/* The bound address (with the real port when "0" was asked for). */
SOCKIT_API int sockit_server_addr(const sockit_server *srv, sockit_addr *out);

/* Starts the workers (or the pool and acceptor) and returns; the server runs on its threads. */
SOCKIT_API int sockit_server_start(sockit_server *srv);

/* Asks the server to stop gracefully. Any thread, and async-signal-safe. */
SOCKIT_API void sockit_server_stop(sockit_server *srv);

/* Waits until the server has stopped (after sockit_server_stop) and its threads are joined. */
SOCKIT_API int sockit_server_wait(sockit_server *srv);

/* start + stop on SIGINT or SIGTERM + wait: the whole life of a server in one call. The two
 * signals are blocked in the calling thread while it runs and restored afterwards. */
SOCKIT_API int sockit_server_run(sockit_server *srv);

/* Frees a stopped (or never started) server. NULL is a no-op. */
SOCKIT_API void sockit_server_free(sockit_server *srv);

SOCKIT_API void *sockit_server_user(const sockit_server *srv);

typedef struct sockit_server_stats {
    uint64_t accepted;  /* connections accepted (or datagrams received, for datagram servers) */
    uint64_t refused;   /* over the connection limit or the threaded queue */
    uint64_t timed_out; /* closed by the idle or first-byte timeout */
    uint64_t active;    /* open now */
    uint64_t bytes_in, bytes_out;
} sockit_server_stats;

/* A snapshot of the counters (any thread; each figure is exact, the set is not atomic). */
SOCKIT_API void sockit_server_stats_get(const sockit_server *srv, sockit_server_stats *out);

/* ---- connections (event-driven mode; only on the connection's worker thread) ---------------- */

/* Sends len bytes: what the kernel does not take now is copied into the queue and sent as the
 * peer reads. Returns 0; -ENOBUFS if bytes are already queued and this send would take the copied
 * bytes queued past 4 x out_limit (the program ignored backpressure; nothing of it is sent or
 * queued — a send into an empty queue is always taken whole, so one large buffer can be handed
 * over at once); -ENOMEM (the connection is then closed: part of the bytes may have been
 * queued); or -EPIPE if the connection is closing, failed, shut down, or on_close has begun. Every failure sets sockit_errmsg(). When a send leaves out_limit or more pending,
 * on_writable is called once the queue drains, so a producer that sends "while pending <
 * out_limit" never stalls. */
SOCKIT_API int sockit_conn_send(sockit_conn *c, const void *data, size_t len);

/* The same for n buffers in order (a head and a body, unjoined): one writev when the queue is
 * empty; what the kernel does not take is copied. Returns and errors as sockit_conn_send. */
SOCKIT_API int sockit_conn_sendv(sockit_conn *c, const struct iovec *iov, int n);

/* Lends len bytes instead of copying them: the queue points at data until the bytes are sent,
 * then calls release(arg) (if release is not NULL) on the worker thread. release is called
 * exactly once whatever happens — after the bytes are sent, when the connection ends, or, on
 * failure, before this returns — and must not call sockit_conn functions. data must stay valid
 * and unchanged until then. Lent bytes do not count against the 4 x out_limit rule (they cost
 * the server no memory). Returns 0, -EPIPE or -ENOMEM (message set). */
SOCKIT_API int sockit_conn_send_borrowed(sockit_conn *c, const void *data, size_t len,
                                         void (*release)(void *arg), void *arg);

/* sockit_conn_sendfile flag: the server sends from a duplicate of fd; the caller keeps its own. */
#define SOCKIT_SENDFILE_DUP 1

/* Queues `length` bytes of the file fd from `offset` on, sent with sendfile(2) (over TLS the
 * layer reads the range with pread and encrypts it); nothing is read into memory beforehand.
 * Ownership: the server takes fd and closes it once the range is sent or the connection ends —
 * also when this call fails. With SOCKIT_SENDFILE_DUP it sends from a duplicate instead and fd
 * stays the caller's. A file shorter than offset + length ends the connection with reason -EIO.
 * The file must not shrink or change until it is sent. Returns 0; -EINVAL (fd < 0, or the range
 * overflows off_t), -EPIPE, -ENOMEM, or dup's failure; the message is set. */
SOCKIT_API int sockit_conn_sendfile(sockit_conn *c, int fd, uint64_t offset, uint64_t length,
                                    int flags);

/* Asks for one on_writable call once the output queue is empty — at the end of this round if it
 * is empty already. The explicit drain signal for producers that stop for their own reasons. */
SOCKIT_API void sockit_conn_want_writable(sockit_conn *c);

/* Bytes queued and not yet sent (copied, lent and file bytes). */
SOCKIT_API size_t sockit_conn_pending(const sockit_conn *c);

/* 1 once the peer has ended its stream: inside on_data, this is the last offer of held input. */
SOCKIT_API int sockit_conn_eof(const sockit_conn *c);

/* The protocol's state in this connection's slot: cfg.conn_state_size bytes, 16-byte aligned,
 * zeroed at accept, valid until on_close returns. NULL when conn_state_size is 0. */
SOCKIT_API void *sockit_conn_state(const sockit_conn *c);

/* TLS connections (cfg.tls), once on_open has run. The ALPN protocol chosen ("" if none; NULL
 * for a plain connection), in a buffer of the calling thread valid until its next call. */
SOCKIT_API const char *sockit_conn_tls_alpn(const sockit_conn *c);
/* The peer certificate's subject as one line ("/CN=client") into buf: its length, 0 when the
 * peer sent no certificate, -EINVAL for a plain connection. */
SOCKIT_API int sockit_conn_tls_peer_subject(const sockit_conn *c, char *buf, size_t len);
/* The peer certificate in DER: its full length (copied into der only if it fits in len), 0 when
 * the peer sent none, -EINVAL for a plain connection. */
SOCKIT_API ssize_t sockit_conn_tls_peer_cert(const sockit_conn *c, void *der, size_t len);

/* Closes after the queued output is sent (reading stops now). Safe inside any callback. The
 * conn functions are for the connection's worker thread, inside callbacks; all of them are safe
 * to call on the connection whose callback is running. */
SOCKIT_API void sockit_conn_close(sockit_conn *c);

/* Closes now, dropping queued output (a reset if there was any). */
SOCKIT_API void sockit_conn_abort(sockit_conn *c);

/* Half-close: shuts down the sending side once the queue is sent; reading goes on. */
SOCKIT_API void sockit_conn_shutdown(sockit_conn *c);

/* Marks the connection busy (1) or not (0): the protocol has work in flight that shows neither
 * as queued output nor as held input (a request a handler answers later). A graceful stop closes
 * idle connections at once but lets busy ones finish within stop_grace; clearing the mark on a
 * stopping server closes the connection once its output is sent. Not busy at accept. */
SOCKIT_API void sockit_conn_set_busy(sockit_conn *c, int busy);

/* Stops / resumes reading from the peer (your own flow control). */
SOCKIT_API void sockit_conn_pause(sockit_conn *c);
SOCKIT_API void sockit_conn_resume(sockit_conn *c);

SOCKIT_API int sockit_conn_fd(const sockit_conn *c);
SOCKIT_API int sockit_conn_peer(const sockit_conn *c, sockit_addr *out);
SOCKIT_API void sockit_conn_set_data(sockit_conn *c, void *data); /* yours, per connection */
SOCKIT_API void *sockit_conn_data(const sockit_conn *c);
SOCKIT_API sockit_server *sockit_conn_server(const sockit_conn *c);
SOCKIT_API sockit_loop *sockit_conn_loop(const sockit_conn *c);   /* the worker's loop */

/* ---- datagrams -------------------------------------------------------------------------------- */

/* Sends a datagram back to the sender of the one being handled. Returns the byte count or a code. */
SOCKIT_API ssize_t sockit_dgram_reply(sockit_dgram *d, const void *data, size_t len);
/* Sends a datagram to any address from the worker's socket. */
SOCKIT_API ssize_t sockit_dgram_sendto(sockit_dgram *d, const void *data, size_t len,
                                       const sockit_addr *to);
SOCKIT_API sockit_server *sockit_dgram_server(const sockit_dgram *d);

/* The number of CPU cores (the default worker count). */
SOCKIT_API int sockit_ncpu(void);

#ifdef __cplusplus
}
#endif

#endif /* SOCKIT_SERVER_H */
