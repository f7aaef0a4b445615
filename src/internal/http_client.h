/*
 * Private to the HTTP client (src/http/client*.c): the session, its pooled connections, the
 * state of one call, and the entry point the fuzz target drives.
 *
 * The files split by job: client.c (session, pool, the request loop: retries and redirects),
 * client_send.c (the request head and body), client_recv.c (response heads, framing, sinks),
 * client_decode.c (gzip/deflate), client_proxy.c (proxy choice and CONNECT).
 */
#ifndef SOCKIT_INTERNAL_HTTP_CLIENT_H
#define SOCKIT_INTERNAL_HTTP_CLIENT_H

#include "internal/core.h"
#include "internal/tls.h"
#include <sockit/http.h>
#include <sockit/http_client.h>
#include <sockit/tls.h>
#include <sockit/url.h>

#include <zlib.h>

#define HC_BUFSIZE (128 * 1024) /* a connection's receive buffer: bulk bodies pass through it */
#define HC_KEYLEN 560           /* "https|host|port|proxyhost|proxyport" */

/* One connection: the socket and its receive buffer (pending bytes are buf[off, off + len)). */
typedef struct hc_conn {
    sockit_sock *s;
    char *buf;
    size_t off, len;
    int64_t idle_since;   /* when it went back to the pool */
    unsigned uses;        /* requests sent over it */
    char key[HC_KEYLEN];  /* the pool key it was made for */
} hc_conn;

/* A proxy: host and port (NUL-terminated) and the Proxy-Authorization value ("" if none). */
typedef struct hc_proxy {
    char host[256];
    char port[12];
    char auth[720];
} hc_proxy;

struct sockit_http_client {
    sockit_http_client_opts o; /* with every default filled in; strings point to copies below */
    char ua[64];               /* the default User-Agent */
    sockit_tls_ctx *tls;       /* made with the first https request (or at once with a CA file) */
    hc_proxy http_proxy, https_proxy; /* host "" when none */
    char *no_proxy;            /* owned; NULL: none */
    hc_conn **idle;            /* the pool: o.max_idle slots */
    int nidle;
    char *out;                 /* the request head under construction (reused) */
    size_t out_cap;
    char *io;                  /* a body buffer for files and callbacks (HC_BUFSIZE, lazily) */
};

/* The response's private storage (resp->priv_), kept across calls that reuse the response. */
typedef struct hc_resp_priv {
    char *head;            /* raw head, then a NUL, then the copy the fields point into */
    size_t head_cap;
    sockit_http_field *fields;
    size_t fields_cap;
    sockit_http_header *hdrs; /* the parser's array */
    size_t hdrs_cap;
    char *url;
    size_t url_cap;
    char *body;            /* the memory sink's buffer (resp->body points here for that sink) */
    size_t body_cap;
} hc_resp_priv;

/* The state of one sockit_http_client_do. */
typedef struct hc_call {
    sockit_http_client *c;
    const sockit_http_client_req *req;
    sockit_http_resp *resp;
    hc_resp_priv *p;
    int64_t deadline;
    const char *method;    /* this hop's */
    int head_only;         /* HEAD: no body whatever the head says */
    int send_body;         /* this hop sends the request body */
    int body_in_head;      /* ... appended to the head (small, from memory): one send */
    int dropped_body;      /* a redirect turned the request into a GET without its body */
    int expect_refused;    /* this hop asked "Expect: 100-continue" and got 417, the body unsent */
    int no_expect;         /* the server answered that with 417: ask no more */
    int resuming;          /* resume_from > 0 and this body continues or restarts the sink */
    int sink_off;          /* this hop's body is read and discarded (redirects, refused resume) */
    int framing;           /* the final head's (sockit_http_framing) */
    uint64_t length;       /* its Content-Length */
    int conn_close;        /* the connection ends with this response */
    uint64_t body_got;     /* body bytes received as sent (before decoding) */
    uint64_t sink_base;    /* progress counts from here (resume_from on a 206) */
    int64_t total;         /* progress total, -1 unknown */
    /* the low-speed limit */
    uint64_t ls_limit;
    int64_t ls_window, ls_start;
    uint64_t ls_bytes;
    /* decoding */
    z_stream z;
    int z_on;              /* 1 while z is initialised */
    int z_kind;            /* 1 gzip/zlib (auto), 2 deflate (zlib, then raw) */
    int z_started, z_ended;
    uint64_t decoded;
    char *zout;            /* HC_BUFSIZE */
    /* body */
    uint64_t body_start;   /* BODY_FD: the offset the body starts at (for 307/308) */
    int body_fd;           /* the fd bodies are read from (BODY_FD / BODY_PATH), -1 none */
    const char *url;       /* the current URL, NUL-terminated (for messages) */
} hc_call;

/* ---- client_recv.c ------------------------------------------------------------------------ */
/* Receives into k's buffer (sliding its pending bytes to the front when the end is full): the
 * count, 0 at end of stream, or a code with the message set. Applies the low-speed limit. */
ssize_t sockit__hc_fill(hc_call *call, hc_conn *k, int64_t deadline);
/* Reads one response head (after skipping 1xx ones, each passed to trace) into call->resp and
 * consumes it from k. *got_any is set to 1 once any byte arrived (for the retry rule). stop_at_100:
 * return 100 when a 100 Continue arrives (the body can go now) instead of skipping it. Returns
 * the status or a code. */
int sockit__hc_read_head(hc_call *call, hc_conn *k, int *got_any, int stop_at_100, int64_t deadline);
/* Reads the body of the response whose head sockit__hc_read_head left in call->resp, to the sink
 * (or nowhere with call->sink_off). *reusable: the connection may carry another request. */
int sockit__hc_read_body(hc_call *call, hc_conn *k, int *reusable);
/* Room for n more body bytes (and a NUL) in the memory sink: 0, SOCKIT_ETOOLONG past max_body,
 * -ENOMEM. */
int sockit__hc_body_reserve(hc_call *call, uint64_t n);
/* The fuzz target's entry: s is a connected socket whose peer sends a response to a request with
 * method; reads it with decoding on, the body to memory (at most 1 MiB). Returns as
 * sockit_http_client_do; resp as there. */
int sockit__http_client_read_response(sockit_sock *s, const char *method, sockit_http_resp *resp);

/* ---- client_decode.c ---------------------------------------------------------------------- */
/* Chooses the decoder for the final response's codings (Transfer-Encoding codings before chunked,
 * always; Content-Encoding with accept_encoding): 0, or SOCKIT_EPROTO for a coding we cannot
 * undo in Transfer-Encoding. */
int sockit__hc_decode_setup(hc_call *call, int accept_encoding);
/* Passes body bytes through the decoder (if any) to the sink. */
int sockit__hc_deliver(hc_call *call, const char *data, size_t n);
/* At the end of the body: SOCKIT_EPROTO if the compressed stream did not end. */
int sockit__hc_decode_finish(hc_call *call);
void sockit__hc_decode_free(hc_call *call);
/* The sink itself (after decoding). */
int sockit__hc_sink(hc_call *call, const char *data, size_t n);

/* ---- client_send.c ------------------------------------------------------------------------ */
/* Builds the request head for this hop into c->out: returns its length or a code. target_url
 * is the parsed current URL; absolute_form for a plain-HTTP proxy; auth is 0 once credentials
 * must no longer be sent (another origin). */
/* The method (a token), the client's user agent and the request's content type (no control
 * character): 0 or -EINVAL with a message. Checked before any connection is made, so that nothing
 * of them reaches a server or a proxy (CONNECT carries the user agent). */
int sockit__hc_check_line_values(const hc_call *call);
ssize_t sockit__hc_build_head(hc_call *call, const sockit_url *u, int absolute_form, int auth,
                              const char *proxy_auth, int expect);
/* Sends the request body of this hop over k. */
int sockit__hc_send_body(hc_call *call, hc_conn *k);
/* The length of the body, or UINT64_MAX for chunked (unknown). */
uint64_t sockit__hc_body_length(const hc_call *call);
/* Base64 of "user:pass" into out (cap bytes): 0, or -ENOBUFS. */
int sockit__hc_basic(char *out, size_t cap, const char *user, size_t ulen, const char *pass,
                     size_t plen);

/* ---- client_proxy.c ----------------------------------------------------------------------- */
/* The proxy for host under scheme (https 1, http 0), or NULL to go direct. */
const hc_proxy *sockit__hc_proxy_for(const sockit_http_client *c, int https, const char *host);
/* Parses a proxy URL ("http://[user:pass@]host[:port]", or "host:port") into p: 0 or -EINVAL. */
int sockit__hc_proxy_parse(hc_proxy *p, const char *url);
/* Sends CONNECT host:port over k (connected to the proxy) and reads the answer: 0 once it is 2xx,
 * else SOCKIT_EPROTO naming the proxy's status, or a code. */
int sockit__hc_connect_tunnel(hc_call *call, hc_conn *k, const hc_proxy *px, const char *host,
                              const char *port);

#endif
