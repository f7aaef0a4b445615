/*
 * The HTTP client's session (include/sockit/http_client.h): options, the keep-alive pool, and the
 * request loop — one deadline from entry, a connection from the pool or a new one (proxy and TLS
 * included), the exchange with its one retry on a broken idle connection, redirects with their
 * method and credential rules, resume, and the body to the sink.
 */
#include "internal/http_client.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define SMALL_BODY (16 * 1024)      /* a memory body up to this goes out with the head */
#define EXPECT_BODY (1024 * 1024)   /* a body from this size on waits for 100 Continue */
#define EXPECT_WAIT 1.0             /* ... at most this long */

/* ---- the session ------------------------------------------------------------------------------ */

static char *dup_opt(const char *s, int *err)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *err = 1;
    return d;
}

/* The proxies: the explicit one for both schemes, else (when asked) the environment's. */
static int setup_proxies(sockit_http_client *c)
{
    const sockit_http_client_opts *o = &c->o;
    int r = 0;
    if (o->proxy && *o->proxy) {
        if ((r = sockit__hc_proxy_parse(&c->http_proxy, o->proxy)) < 0) return r;
        c->https_proxy = c->http_proxy;
        if (o->no_proxy && !(c->no_proxy = strdup(o->no_proxy))) return -ENOMEM;
        return 0;
    }
    if (!o->proxy_from_env) return 0;
    /* HTTP_PROXY is not read: a CGI program's environment has it from the request (httpoxy). */
    const char *hp = getenv("http_proxy");
    const char *sp = getenv("https_proxy");
    const char *np = getenv("no_proxy");
    if (!sp) sp = getenv("HTTPS_PROXY");
    if (!np) np = getenv("NO_PROXY");
    if (hp && (r = sockit__hc_proxy_parse(&c->http_proxy, hp)) < 0) return r;
    if (sp && (r = sockit__hc_proxy_parse(&c->https_proxy, sp)) < 0) return r;
    if (np && *np && !(c->no_proxy = strdup(np))) return -ENOMEM;
    return 0;
}

static int make_tls(sockit_http_client *c)
{
    if (c->tls) return 0;
    sockit_tls_opts t = {0};
    t.cafile = c->o.ca_file;
    t.capath = c->o.ca_path;
    t.insecure = c->o.insecure;
    return sockit_tls_ctx_new(&c->tls, &t);
}

int sockit_http_client_new(sockit_http_client **out, const sockit_http_client_opts *opts)
{
    if (!out) return sockit__failmsg(-EINVAL, "sockit_http_client_new: out is NULL");
    *out = NULL;
    sockit_http_client *c = calloc(1, sizeof *c);
    if (!c) return sockit__failmsg(-ENOMEM, "http client: no memory");
    if (opts) c->o = *opts;
    sockit_http_client_opts *o = &c->o;
    int err = 0, r;
    if (o->timeout == 0) o->timeout = 300;
    if (o->low_speed_limit && o->low_speed_time <= 0) o->low_speed_time = 30;
    if (o->max_redirects == 0) o->max_redirects = 20;
    else if (o->max_redirects < 0) o->max_redirects = 0; /* none: the first redirect is too many */
    if (!o->max_decoded) o->max_decoded = (uint64_t)1 << 30;
    if (!o->max_header_bytes) o->max_header_bytes = 64 * 1024;
    if (o->max_header_bytes > HC_BUFSIZE / 2) o->max_header_bytes = HC_BUFSIZE / 2;
    if (!o->max_idle) o->max_idle = 8;
    if (o->idle_timeout <= 0) o->idle_timeout = 60;
    snprintf(c->ua, sizeof c->ua, "sockit/%s", sockit_version());
    o->ca_file = dup_opt(o->ca_file, &err);
    o->ca_path = dup_opt(o->ca_path, &err);
    o->proxy = dup_opt(o->proxy, &err);
    o->user_agent = opts && opts->user_agent ? dup_opt(opts->user_agent, &err) : c->ua;
    if (o->max_idle > 0 && !(c->idle = calloc((size_t)o->max_idle, sizeof *c->idle))) err = 1;
    if (err) {
        sockit_http_client_free(c);
        return sockit__failmsg(-ENOMEM, "http client: no memory");
    }
    r = setup_proxies(c);          /* copies o->no_proxy (still the caller's) when it is used */
    o->no_proxy = c->no_proxy;
    /* A CA file or directory is loaded now, so a bad one fails here; the system store only with
     * the first https request (a plain-HTTP client never pays for it). */
    if (r >= 0 && (o->ca_file || o->ca_path)) r = make_tls(c);
    if (r < 0) {
        sockit_http_client_free(c);
        return r == -ENOMEM ? sockit__failmsg(r, "http client: no memory") : r;
    }
    *out = c;
    return 0;
}

static void conn_close(hc_conn *k)
{
    if (!k) return;
    sockit_close(k->s);
    free(k->buf);
    free(k);
}

void sockit_http_client_close_idle(sockit_http_client *c)
{
    if (!c) return;
    for (int i = 0; i < c->nidle; i++) conn_close(c->idle[i]);
    c->nidle = 0;
}

void sockit_http_client_free(sockit_http_client *c)
{
    if (!c) return;
    sockit_http_client_close_idle(c);
    free(c->idle);
    sockit_tls_ctx_free(c->tls);
    free((char *)c->o.ca_file);
    free((char *)c->o.ca_path);
    free((char *)c->o.proxy);
    if (c->o.user_agent != c->ua) free((char *)c->o.user_agent);
    free(c->no_proxy);
    free(c->out);
    free(c->io);
    free(c);
}

/* ---- the pool ----------------------------------------------------------------------------------- */

/* The peer of an idle connection closed it (or sent something unasked): it cannot carry a
 * request whose failure could not be retried. */
static int conn_dead(hc_conn *k)
{
    char b;
    ssize_t r = recv(sockit_fileno(k->s), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* An idle connection for key, the newest first; expired ones are closed on the way. */
static hc_conn *pool_take(sockit_http_client *c, const char *key, int check)
{
    int64_t now = sockit__now(), max_idle = (int64_t)(c->o.idle_timeout * 1e9);
    for (int i = c->nidle - 1; i >= 0; i--) {
        hc_conn *k = c->idle[i];
        int expired = now - k->idle_since > max_idle;
        if (!expired && strcmp(k->key, key) != 0) continue;
        memmove(&c->idle[i], &c->idle[i + 1], (size_t)(c->nidle - i - 1) * sizeof *c->idle);
        c->nidle--;
        if (expired || (check && conn_dead(k))) {
            conn_close(k);
            continue;
        }
        return k;
    }
    return NULL;
}

/* Gives k back to the pool (the oldest idle one leaves when it is full) or closes it. */
static void pool_give(sockit_http_client *c, hc_conn *k, int reusable)
{
    if (!k) return;
    if (!reusable || c->o.max_idle <= 0) {
        conn_close(k);
        return;
    }
    if (c->nidle == c->o.max_idle) {
        conn_close(c->idle[0]);
        memmove(&c->idle[0], &c->idle[1], (size_t)(c->nidle - 1) * sizeof *c->idle);
        c->nidle--;
    }
    k->idle_since = sockit__now();
    c->idle[c->nidle++] = k;
}

/* ---- the response's storage ------------------------------------------------------------------- */

/* Empties resp for a new call, keeping its buffers. */
static hc_resp_priv *resp_reset(sockit_http_resp *resp)
{
    hc_resp_priv *p = resp->priv_;
    if (!p && !(p = calloc(1, sizeof *p))) return NULL;
    memset(resp, 0, sizeof *resp);
    resp->priv_ = p;
    resp->content_length = -1;
    resp->reason = "";
    return p;
}

void sockit_http_resp_free(sockit_http_resp *resp)
{
    if (!resp) return;
    hc_resp_priv *p = resp->priv_;
    if (p) {
        free(p->head);
        free(p->fields);
        free(p->hdrs);
        free(p->url);
        free(p->body);
        free(p);
    }
    memset(resp, 0, sizeof *resp);
}

const char *sockit_http_resp_header_next(const sockit_http_resp *resp, const char *name,
                                         size_t *pos)
{
    if (!resp || !name || !pos) return NULL;
    for (; *pos < resp->nheaders; ++*pos)
        if (strcasecmp(resp->headers[*pos].name, name) == 0) return resp->headers[(*pos)++].value;
    return NULL;
}

const char *sockit_http_resp_header(const sockit_http_resp *resp, const char *name)
{
    size_t pos = 0;
    return sockit_http_resp_header_next(resp, name, &pos);
}

/* Sets the call's current URL (a copy in the response's storage). */
static int set_url(hc_call *call, const char *url, size_t n)
{
    hc_resp_priv *p = call->p;
    if (n + 1 > p->url_cap) {
        size_t cap = n + 1 < 256 ? 256 : 2 * (n + 1);
        char *u = malloc(cap);
        if (!u) return sockit__failmsg(-ENOMEM, "http: no memory for the URL");
        free(p->url);
        p->url = u, p->url_cap = cap;
    }
    memmove(p->url, url, n);
    p->url[n] = 0;
    call->url = call->resp->url = p->url;
    return 0;
}

/* ---- connecting ------------------------------------------------------------------------------- */

/* Where a URL goes: host and port as text, https or not; the pool key. */
typedef struct hc_target {
    char host[256];
    char port[12];
    int https;
    const hc_proxy *px;
    char key[HC_KEYLEN];
} hc_target;

/* 1 if a percent-decoded host name holds a byte no host name has: a control character or a
 * space (a CR LF went into the CONNECT request line and Host header as it was: a smuggled
 * header for the proxy), or a ':', '[' or ']' outside an IPv6 literal. */
static int bad_host(const char *h, size_t n, int ipv6)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (ch <= ' ' || ch == 0x7f || ch == '[' || ch == ']' || (ch == ':' && !ipv6)) return 1;
    }
    return 0;
}

/* The port as decimal text into out (12 bytes): no snprintf, as this runs for every request. */
static void port_text(char out[12], int port)
{
    char tmp[12], *p = tmp + sizeof tmp;
    unsigned v = port < 0 ? 0u - (unsigned)port : (unsigned)port;
    do *--p = (char)('0' + v % 10); while ((v /= 10) && p > tmp + 1);
    if (port < 0) *--p = '-';
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    out[n] = 0;
}

/* Appends "|s" at k (the pool key's fields; each fits, see HC_KEYLEN) and returns the new end. */
static char *key_field(char *k, const char *s)
{
    size_t n = strlen(s);
    *k++ = '|';
    memcpy(k, s, n);
    return k + n;
}

_Static_assert(HC_KEYLEN >= 1 + 2 * (1 + 255 + 1 + 11) + 1, "the pool key fits HC_KEYLEN");

/* The URL's target into t. The pool key is "https|host|port|proxyhost|proxyport" (host and port
 * empty for plain HTTP through a proxy); every field is NUL-terminated text of bounded size (host
 * names 255 bytes, ports 11), so the key always fits HC_KEYLEN. */
static int target_of(hc_call *call, const sockit_url *u, hc_target *t)
{
    t->https = sockit_url_is(u, "https");
    if (!t->https && !sockit_url_is(u, "http"))
        return sockit__failmsg(SOCKIT_EBADURL, "http: %s: only http and https URLs are supported",
                               call->url);
    if (!u->host.p || !u->host.n)
        return sockit__failmsg(SOCKIT_EBADURL, "http: %s: no host", call->url);
    ssize_t n = sockit_url_decode(t->host, sizeof t->host, u->host.p, u->host.n, 0);
    if (n < 0 || bad_host(t->host, (size_t)n, u->host_is_ipv6))
        return sockit__failmsg(SOCKIT_EBADURL, "http: %s: bad host name", call->url);
    port_text(t->port, sockit_url_port(u));
    t->px = sockit__hc_proxy_for(call->c, t->https, t->host);
    /* Plain HTTP through a proxy: one connection to it serves every host. */
    int via_px = t->px && !t->https;
    char *k = t->key;
    *k++ = t->https ? '1' : '0';
    k = key_field(k, via_px ? "" : t->host);
    k = key_field(k, via_px ? "" : t->port);
    k = key_field(k, t->px ? t->px->host : "");
    k = key_field(k, t->px ? t->px->port : "");
    *k = 0;
    return 0;
}

/* A new connection for t: to the proxy or the origin, the CONNECT tunnel, TLS. Bounded by the
 * connect timeout as well as the request's deadline. */
static int conn_open(hc_call *call, const hc_target *t, hc_conn **out)
{
    sockit_http_client *c = call->c;
    int64_t dl = call->deadline;
    if (c->o.connect_timeout > 0) {
        int64_t cdl = sockit_deadline_after(c->o.connect_timeout);
        if (cdl < dl) dl = cdl;
    }
    hc_conn *k = calloc(1, sizeof *k);
    if (!k || !(k->buf = malloc(HC_BUFSIZE))) {
        free(k);
        return sockit__failmsg(-ENOMEM, "http: no memory for a connection");
    }
    snprintf(k->key, sizeof k->key, "%s", t->key);
    sockit_connect_opts co = {0};
    co.family = c->o.family;
    co.deadline = dl;
    const char *host = t->px ? t->px->host : t->host, *port = t->px ? t->px->port : t->port;
    int r = sockit__create_connection_dl(&k->s, host, port, -1, &co, dl);
    if (r >= 0) {
        int one = 1;
        setsockopt(sockit_fileno(k->s), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (t->px && t->https) r = sockit__hc_connect_tunnel(call, k, t->px, t->host, t->port);
    }
    if (r >= 0 && t->https && (r = make_tls(c)) >= 0)
        r = sockit__tls_connect_dl(k->s, c->tls, t->host, NULL, dl);
    if (r == -ETIMEDOUT && dl != call->deadline && sockit__now() >= dl)
        r = sockit__failmsg(-ETIMEDOUT, "http: connect timeout (%g s) reaching %s:%s",
                            c->o.connect_timeout, host, port);
    if (r < 0) {
        conn_close(k);
        return r;
    }
    *out = k;
    return 0;
}

/* ---- one exchange ------------------------------------------------------------------------------ */

static int idempotent(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS") ||
           !strcmp(m, "TRACE") || !strcmp(m, "PUT") || !strcmp(m, "DELETE");
}

/* Puts the request body back at its start (for a retry or a 307/308). */
static int body_rewind(hc_call *call)
{
    const sockit_http_client_req *q = call->req;
    if (!call->send_body || q->body_kind == SOCKIT_HTTP_BODY_MEMORY) return 0;
    if (q->body_kind == SOCKIT_HTTP_BODY_CALLBACK ||
        lseek(call->body_fd, (off_t)call->body_start, SEEK_SET) < 0)
        return sockit__failmsg(-EINVAL, "http: the request body cannot be sent again (%s)",
                               q->body_kind == SOCKIT_HTTP_BODY_CALLBACK ? "it comes from a callback"
                                                                          : "its file cannot seek");
    return 0;
}

/* Waits for the first byte of the answer on a plain socket before reading it: the answer is
 * hardly ever there the moment the request left, and a receive that finds nothing costs a
 * system call per request. (TLS holding bytes poll cannot see, and the low-speed limit, which
 * needs its window, read at once.) */
static int wait_answer(hc_call *call, hc_conn *k)
{
    if (k->len || call->ls_limit || sockit__tls_has_pending(k->s)) return 0;
    int r = sockit__wait(sockit_fileno(k->s), POLLIN, call->deadline);
    if (r == -ETIMEDOUT)
        return sockit__failmsg(r, "http: timed out waiting for the response from %s", call->url);
    return r < 0 ? sockit__fail(r, "http: waiting for the response from %s", call->url) : 0;
}

/* Sends the head (and a small body with it); then the body, after a 100 Continue or a second's
 * wait when the head asked for one; and reads the final head. Returns the status or a code;
 * *got_any tells whether any byte of a response arrived. */
static int send_and_read(hc_call *call, hc_conn *k, const sockit_url *u, const hc_target *t,
                         int auth, int *got_any)
{
    sockit_http_client *c = call->c;
    uint64_t blen = call->send_body ? sockit__hc_body_length(call) : 0;
    int expect = call->send_body && blen >= EXPECT_BODY && !call->no_expect;
    call->expect_refused = 0;
    call->body_in_head = call->send_body && call->req->body_kind == SOCKIT_HTTP_BODY_MEMORY &&
                         blen <= SMALL_BODY;
    ssize_t n = sockit__hc_build_head(call, u, t->px && !t->https, auth,
                                      t->px && !t->https ? t->px->auth : NULL, expect);
    if (n < 0) return (int)n;
    if (call->req->trace) call->req->trace(call->req->trace_arg, 1, c->out, (size_t)n);
    if (call->body_in_head && blen) {
        if ((size_t)n + blen > c->out_cap) {
            char *o = realloc(c->out, (size_t)n + blen);
            if (!o) return sockit__failmsg(-ENOMEM, "http: no memory for the request");
            c->out = o, c->out_cap = (size_t)n + blen;
        }
        memcpy(c->out + n, call->req->body, blen);
        n += (ssize_t)blen;
    }
    unsigned mark = sockit__errmark();
    int r = sockit__sendall_dl(k->s, c->out, (size_t)n, 0, NULL, call->deadline);
    if (r == -ETIMEDOUT)
        return sockit__failmsg(r, "http: timed out sending the request to %s", call->url);
    if (r < 0) return sockit__fail_ctx(mark, r, "http: sending the request to %s", call->url);
    k->uses++;
    if (expect) {
        int64_t wait = sockit_deadline_after(EXPECT_WAIT);
        int st = sockit__hc_read_head(call, k, got_any, 1, wait < call->deadline ? wait : call->deadline);
        if (st >= 200) {
            call->conn_close = 1; /* the body was not sent: the server may still expect it */
            call->expect_refused = st == 417;
            return st;
        }
        if (st < 0 && !(st == -ETIMEDOUT && sockit__now() < call->deadline)) return st;
    }
    if ((r = sockit__hc_send_body(call, k)) < 0) {
        /* A server may answer and close before taking the whole body (413, 401): its answer,
         * when one is there, says more than the broken pipe. */
        if (r != -EPIPE && r != -ECONNRESET) return r;
        char msg[400];
        snprintf(msg, sizeof msg, "%s", sockit_errmsg());
        int st = sockit__hc_read_head(call, k, got_any, 0, call->deadline);
        if (st < 0) return sockit__failmsg(r, "%s", msg);
        call->conn_close = 1;
        return st;
    }
    if ((r = wait_answer(call, k)) < 0) return r;
    return sockit__hc_read_head(call, k, got_any, 0, call->deadline);
}

/* One request and its response head over a pooled or new connection; a pooled connection that
 * turns out closed by the server (nothing came back) is replaced once, when the request may be
 * repeated. *kp is the connection the response is on. */
static int exchange(hc_call *call, const sockit_url *u, const hc_target *t, int auth, hc_conn **kp)
{
    int retry_ok = idempotent(call->method) &&
                   (!call->send_body || call->req->body_kind != SOCKIT_HTTP_BODY_CALLBACK);
    for (int attempt = 0;; attempt++) {
        hc_conn *k = attempt == 0 ? pool_take(call->c, t->key, !retry_ok) : NULL;
        int r, got = 0, reused = k != NULL;
        if (!k && (r = conn_open(call, t, &k)) < 0) return r;
        call->resp->reused = reused;
        r = send_and_read(call, k, u, t, auth, &got);
        if (r >= 0) {
            *kp = k;
            return r;
        }
        conn_close(k);
        if (reused && !got && retry_ok && r != -ETIMEDOUT && r != -ECANCELED && body_rewind(call) >= 0)
            continue;
        return r;
    }
}

/* ---- redirects ------------------------------------------------------------------------------- */

static int is_redirect(int s)
{
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/* 1 if a and b differ in scheme, host or port. */
static int other_origin(const sockit_url *a, const sockit_url *b)
{
    return a->scheme.n != b->scheme.n || strncasecmp(a->scheme.p, b->scheme.p, a->scheme.n) ||
           a->host.n != b->host.n || (a->host.n && strncasecmp(a->host.p, b->host.p, a->host.n)) ||
           sockit_url_port(a) != sockit_url_port(b);
}

/* A Location as browsers and curl take it: spaces and bytes over 0x7e, which servers do send raw,
 * percent-encoded; control bytes stay as they are (the URL parser refuses them). NULL: no memory. */
static char *location_escaped(const char *loc)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(loc) * 3 + 1), *o = out;
    if (!out) return NULL;
    for (const unsigned char *p = (const unsigned char *)loc; *p; p++) {
        if (*p == ' ' || *p > 0x7e) {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        } else
            *o++ = (char)*p;
    }
    *o = 0;
    return out;
}

/* The next hop of a redirect: the resolved Location becomes the current URL; the method and body
 * change as the status says; credentials stop at another origin (*auth becomes 0 for good). */
static int redirect(hc_call *call, const sockit_url *cur, int status, int *auth)
{
    const char *raw = sockit_http_resp_header(call->resp, "location");
    char *loc = location_escaped(raw);
    size_t cap = loc ? strlen(call->url) + strlen(loc) + 16 : 0;
    char *next = loc ? malloc(cap) : NULL;
    if (!next) {
        free(loc);
        return sockit__failmsg(-ENOMEM, "http: no memory for the redirect");
    }
    ssize_t n = sockit_url_resolve(call->url, loc, next, cap);
    sockit_url nu;
    int r = 0;
    if (n < 0 || sockit_url_parse(&nu, next, (size_t)n) < 0)
        r = sockit__failmsg(SOCKIT_EBADURL, "http: redirect %d from %s to a bad Location: %.200s",
                            status, call->url, raw);
    else if (!sockit_url_is(&nu, "http") && !sockit_url_is(&nu, "https"))
        r = sockit__failmsg(SOCKIT_EBADURL, "http: redirect %d from %s to %.200s: only http and "
                            "https are followed", status, call->url, next);
    else {
        if (other_origin(cur, &nu)) *auth = 0;
        /* The fragment stays the client's (RFC 9110 10.2.2); it is never sent anyway. */
        size_t len = nu.fragment.p ? (size_t)(nu.fragment.p - 1 - next) : (size_t)n;
        r = set_url(call, next, len);
    }
    free(next);
    free(loc);
    if (r < 0) return r;
    if ((status == 303 && strcmp(call->method, "HEAD")) ||
        ((status == 301 || status == 302) && !strcmp(call->method, "POST"))) {
        call->method = "GET";
        call->dropped_body = call->dropped_body || call->send_body;
        call->send_body = 0;
    } else if ((r = body_rewind(call)) < 0)
        return r;
    return 0;
}

/* ---- resume ------------------------------------------------------------------------------------ */

/* After the final head of a request with resume_from: a 206 must continue at resume_from, a 200
 * restarts the sink, anything else keeps the sink out of it. */
static int resume_check(hc_call *call)
{
    const sockit_http_client_req *q = call->req;
    sockit_http_resp *resp = call->resp;
    if (resp->status == 206) {
        const char *cr = sockit_http_resp_header(resp, "content-range");
        unsigned long long start = 0;
        int used = 0;
        if (!cr || sscanf(cr, " bytes %llu-%*u/%*s%n", &start, &used) < 1 || start != q->resume_from)
            return sockit__failmsg(SOCKIT_EPROTO, "http: resume at byte %llu of %s answered 206 "
                                   "with Content-Range \"%.80s\"", (unsigned long long)q->resume_from,
                                   call->url, cr ? cr : "(none)");
        call->sink_base = q->resume_from;
        resp->resumed = 1;
        return 0;
    }
    if (resp->status != 200) {
        call->sink_off = 1;
        return 0;
    }
    switch (q->sink_kind) {
    case SOCKIT_HTTP_SINK_FD:
        if (ftruncate(q->sink_fd, 0) < 0 || lseek(q->sink_fd, 0, SEEK_SET) < 0)
            return sockit__fail(-errno, "http: %s sent the whole body again (200): starting the "
                                "file over", call->url);
        break;
    case SOCKIT_HTTP_SINK_CALLBACK:
        if (!q->sink_restart)
            return sockit__failmsg(SOCKIT_EPROTO, "http: %s sent the whole body again (200) "
                                   "and the sink cannot start over", call->url);
        if (q->sink_restart(q->sink_arg))
            return sockit__failmsg(-ECANCELED, "http: the restart callback stopped the transfer");
        break;
    default:
        break;
    }
    return 0;
}

/* ---- the call --------------------------------------------------------------------------------- */

static int check_req(const sockit_http_client_req *q)
{
    int bad = 0;
    switch (q->body_kind) {
    case SOCKIT_HTTP_BODY_NONE: break;
    case SOCKIT_HTTP_BODY_MEMORY: bad = !q->body && q->body_len; break;
    case SOCKIT_HTTP_BODY_FD: bad = q->body_fd < 0; break;
    case SOCKIT_HTTP_BODY_PATH: bad = !q->body_path; break;
    case SOCKIT_HTTP_BODY_CALLBACK: bad = !q->body_read; break;
    default: bad = 1;
    }
    if (bad) return sockit__failmsg(-EINVAL, "http: the request's body fields do not match its kind");
    switch (q->sink_kind) {
    case SOCKIT_HTTP_SINK_MEMORY: case SOCKIT_HTTP_SINK_DISCARD: break;
    case SOCKIT_HTTP_SINK_FD: bad = q->sink_fd < 0; break;
    case SOCKIT_HTTP_SINK_CALLBACK: bad = !q->sink_write; break;
    default: bad = 1;
    }
    if (bad) return sockit__failmsg(-EINVAL, "http: the request's sink fields do not match its kind");
    if (q->nheaders && !q->headers) return sockit__failmsg(-EINVAL, "http: headers is NULL");
    return 0;
}

/* Prepares call for req (the body's file opened, the deadline set). */
static int call_init(hc_call *call, sockit_http_client *c, const sockit_http_client_req *q,
                     sockit_http_resp *resp)
{
    memset(call, 0, sizeof *call);
    call->c = c, call->req = q, call->resp = resp;
    call->body_fd = -1;
    call->total = -1;
    if (!(call->p = resp_reset(resp))) return sockit__failmsg(-ENOMEM, "http: no memory");
    double to = q->timeout ? q->timeout : c->o.timeout;
    call->deadline = sockit_deadline_after(to < 0 ? -1 : to);
    if (c->o.low_speed_limit) {
        call->ls_limit = c->o.low_speed_limit;
        call->ls_window = (int64_t)(c->o.low_speed_time * 1e9);
        call->ls_start = sockit__now();
    }
    call->send_body = q->body_kind != SOCKIT_HTTP_BODY_NONE;
    call->method = q->method ? q->method : call->send_body ? "POST" : "GET";
    call->head_only = !strcmp(call->method, "HEAD");
    int bad = sockit__hc_check_line_values(call);
    if (bad < 0) return bad;
    if (q->body_kind == SOCKIT_HTTP_BODY_PATH) {
        call->body_fd = open(q->body_path, O_RDONLY | O_CLOEXEC);
        if (call->body_fd < 0) return sockit__fail(-errno, "http: request body %s", q->body_path);
    } else if (q->body_kind == SOCKIT_HTTP_BODY_FD) {
        call->body_fd = q->body_fd;
        off_t at = lseek(q->body_fd, 0, SEEK_CUR);
        call->body_start = at < 0 ? 0 : (uint64_t)at;
    }
    if (q->sink_kind != SOCKIT_HTTP_SINK_MEMORY) return 0;
    int r = sockit__hc_body_reserve(call, 0);
    if (r >= 0) resp->body[0] = 0;
    return r;
}

static void call_end(hc_call *call)
{
    if (call->req->body_kind == SOCKIT_HTTP_BODY_PATH && call->body_fd >= 0) close(call->body_fd);
    sockit__hc_decode_free(call);
}

/* The final response's body: resume rules, decoding, the sink; the connection back to the pool. */
static int final_body(hc_call *call, hc_conn *k)
{
    int r = 0, reusable = 0;
    const sockit_http_client_req *q = call->req;
    if (q->on_head) {
        int h = q->on_head(q->on_head_arg, call->resp);
        if (h < 0) {
            r = sockit__failmsg(-ECANCELED, "http: the head callback stopped the transfer from %s",
                                call->url);
            goto out;
        }
        call->sink_off = h == 1;
    }
    if (q->resume_from && !call->sink_off && (r = resume_check(call)) < 0) goto out;
    if ((r = sockit__hc_decode_setup(call, call->c->o.accept_encoding)) < 0) goto out;
    if (call->framing == SOCKIT_HTTP_LENGTH && !call->z_kind)
        call->total = (int64_t)(call->sink_base + call->length);
    r = sockit__hc_read_body(call, k, &reusable);
out:
    pool_give(call->c, k, r >= 0 && reusable);
    return r;
}

/* Reads and drops the body of a redirect, keeping the connection when that is cheap. */
static int skip_body(hc_call *call, hc_conn *k)
{
    int reusable = 0, r = 0;
    call->sink_off = 1;
    if (call->framing == SOCKIT_HTTP_LENGTH && call->length > 1024 * 1024)
        call->conn_close = 1, reusable = 0;
    else if (call->framing != SOCKIT_HTTP_UNTIL_CLOSE)
        r = sockit__hc_read_body(call, k, &reusable);
    pool_give(call->c, k, r >= 0 && reusable);
    call->sink_off = 0;
    call->resp->complete = 0;
    return r;
}

static int run(hc_call *call)
{
    const sockit_http_client_req *q = call->req;
    int follow = q->follow_redirects ? q->follow_redirects > 0 : call->c->o.follow_redirects;
    int auth = 1, r;
    if ((r = set_url(call, q->url, strlen(q->url))) < 0) return r;
    for (;;) {
        sockit_url u;
        hc_target t;
        hc_conn *k = NULL;
        if (sockit_url_parse(&u, call->url, strlen(call->url)) < 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s", sockit_errmsg());
            return sockit__failmsg(SOCKIT_EBADURL, "http: %s", msg);
        }
        if ((r = target_of(call, &u, &t)) < 0) return r;
        int status = exchange(call, &u, &t, auth, &k);
        if (status < 0) return status;
        if (status == 417 && call->expect_refused) {
            /* A server that does not do 100-continue (RFC 9110 10.1.1): the body was not sent;
             * ask again without the expectation, as curl does. */
            if ((r = skip_body(call, k)) < 0) return r;
            call->no_expect = 1;
            continue;
        }
        if (!follow || !is_redirect(status) || !sockit_http_resp_header(call->resp, "location"))
            return final_body(call, k);
        if (call->resp->redirects >= call->c->o.max_redirects) {
            pool_give(call->c, k, 0);
            return sockit__failmsg(SOCKIT_EPROTO, "http: too many redirects (limit %d) at %s",
                                   call->c->o.max_redirects, call->url);
        }
        if ((r = skip_body(call, k)) < 0) return r;
        int redirects = call->resp->redirects;
        if ((r = redirect(call, &u, status, &auth)) < 0) return r;
        call->resp->redirects = redirects + 1;
    }
}

int sockit_http_client_do(sockit_http_client *c, const sockit_http_client_req *req,
                          sockit_http_resp *resp)
{
    if (!c || !req || !resp || !req->url)
        return sockit__failmsg(-EINVAL, "sockit_http_client_do: %s is NULL",
                               !c ? "the client" : !req ? "the request" : !resp ? "the response" : "the URL");
    int64_t t0 = sockit__now();
    int r = check_req(req);
    hc_call call;
    if (r >= 0) r = call_init(&call, c, req, resp);
    else memset(&call, 0, sizeof call), call.req = req, call.body_fd = -1;
    if (r >= 0) r = run(&call);
    if (r < 0) resp->complete = 0;
    call_end(&call);
    resp->time_total = (double)(sockit__now() - t0) / 1e9;
    return r < 0 ? r : 0;
}

/* ---- one call, one request ---------------------------------------------------------------------- */

static int one_call(const char *method, const char *url, const char *ctype, const void *body,
                    size_t len, int has_body, sockit_http_resp *resp)
{
    sockit_http_client_opts o = {0};
    o.follow_redirects = 1;
    o.proxy_from_env = 1;
    o.accept_encoding = 1;
    o.max_idle = -1;
    o.max_decoded = SOCKIT_HTTP_HELPER_MAX_BODY;
    sockit_http_client *c;
    int r = sockit_http_client_new(&c, &o);
    if (r < 0) return r;
    sockit_http_client_req q = {0};
    q.method = method;
    q.url = url;
    q.content_type = ctype;
    q.max_body = SOCKIT_HTTP_HELPER_MAX_BODY;
    if (has_body) {
        q.body_kind = SOCKIT_HTTP_BODY_MEMORY;
        q.body = body;
        q.body_len = len;
    }
    r = sockit_http_client_do(c, &q, resp);
    sockit_http_client_free(c);
    return r;
}

int sockit_http_get(const char *url, sockit_http_resp *resp)
{
    return one_call("GET", url, NULL, NULL, 0, 0, resp);
}

int sockit_http_head(const char *url, sockit_http_resp *resp)
{
    return one_call("HEAD", url, NULL, NULL, 0, 0, resp);
}

int sockit_http_delete(const char *url, sockit_http_resp *resp)
{
    return one_call("DELETE", url, NULL, NULL, 0, 0, resp);
}

int sockit_http_post(const char *url, const char *content_type, const void *body, size_t len,
                     sockit_http_resp *resp)
{
    return one_call("POST", url, content_type, body, len, 1, resp);
}

int sockit_http_put(const char *url, const char *content_type, const void *body, size_t len,
                    sockit_http_resp *resp)
{
    return one_call("PUT", url, content_type, body, len, 1, resp);
}

/* ---- the fuzz target's entry ---------------------------------------------------------------------- */

int sockit__http_client_read_response(sockit_sock *s, const char *method, sockit_http_resp *resp)
{
    sockit_http_client_opts o = {0};
    o.accept_encoding = 1;
    o.max_decoded = 4u << 20;
    o.timeout = 10;
    sockit_http_client *c;
    int r = sockit_http_client_new(&c, &o);
    if (r < 0) return r;
    sockit_http_client_req q = {0};
    q.url = "http://fuzz.test/";
    q.method = method;
    q.max_body = 1u << 20;
    hc_call call;
    hc_conn k = {0};
    k.s = s;
    if (!(k.buf = malloc(HC_BUFSIZE))) r = -ENOMEM;
    if (r >= 0) r = call_init(&call, c, &q, resp);
    if (r >= 0) {
        call.url = q.url;
        int got = 0, reusable = 0;
        r = sockit__hc_read_head(&call, &k, &got, 0, call.deadline);
        if (r >= 0 && (r = sockit__hc_decode_setup(&call, 1)) >= 0)
            r = sockit__hc_read_body(&call, &k, &reusable);
        call_end(&call);
    }
    free(k.buf);
    sockit_http_client_free(c);
    return r < 0 ? r : 0;
}
