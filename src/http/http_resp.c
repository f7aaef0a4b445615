/*
 * The request object's accessors and the responses: heads built from a small stack buffer and
 * the handler's header lines, sent with the body in one sendv (copied), lent, or as a file range.
 * Streamed bodies use chunked coding unless the handler set a Content-Length; sockit_http_write
 * says SOCKIT_HTTP_FULL once stream_limit bytes are queued, so no queue grows without bound.
 *
 * Every public call made from a blocking handler's pool thread is relayed to the connection's
 * worker (http_pool.c), which does all socket I/O; the *_loop functions are the worker's side.
 */
#include "internal/core.h"
#include "internal/http_file.h"
#include "internal/http_server.h"
#include "internal/server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define RH_MAX 16384 /* the handler's header lines at most */

/* ---- reasons --------------------------------------------------------------------------------- */

const char *sockit__http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

static int no_body_status(int status) { return status < 200 || status == 204 || status == 304; }

/* ---- accessors ------------------------------------------------------------------------------- */

sockit_str sockit_http_method(const sockit_http_req *r) { return r->msg.method; }
sockit_str sockit_http_target(const sockit_http_req *r) { return r->msg.target; }
const char *sockit_http_path(const sockit_http_req *r) { return r->path; }
sockit_str sockit_http_query(const sockit_http_req *r) { return r->query; }
int sockit_http_version(const sockit_http_req *r) { return r->msg.version; }
int sockit_http_is_tls(const sockit_http_req *r) { return r->tls; }
const char *sockit_http_match(const sockit_http_req *r) { return r->match ? r->match : ""; }
sockit_http_server *sockit_http_server_of(const sockit_http_req *r) { return r->hs; }
void sockit_http_set_data(sockit_http_req *r, void *data) { r->data = data; }
void *sockit_http_data(const sockit_http_req *r) { return r->data; }
void sockit_http_set_max_body(sockit_http_req *r, uint64_t max) { r->max_body = max; }
sockit_loop *sockit_http_loop(const sockit_http_req *r) { return r->loop; }
int sockit_http_responded(const sockit_http_req *r) { return r->resp != R_NONE; }

int sockit_http_peer(const sockit_http_req *r, sockit_addr *out)
{
    *out = r->peer;
    return 0;
}

uint64_t sockit_http_body_length(const sockit_http_req *r)
{
    return r->framing == SOCKIT_HTTP_CHUNKED ? UINT64_MAX : r->framing == SOCKIT_HTTP_LENGTH ? r->clen : 0;
}

sockit_str sockit_http_req_header(const sockit_http_req *r, const char *name)
{
    const sockit_http_header *h = sockit_http_header_find(r->msg.headers, r->msg.nheaders, name);
    return h ? h->value : (sockit_str){NULL, 0};
}

const sockit_http_header *sockit_http_req_headers(const sockit_http_req *r, size_t *n)
{
    *n = r->msg.nheaders;
    return r->msg.headers;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes a form-encoded piece into out (cap bytes, NUL-terminated when cap > 0). Returns the
 * full decoded length, or SOCKIT_EBADURL. */
static ssize_t form_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++, k++) {
        char ch = s[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) return sockit__failmsg(SOCKIT_EBADURL, "http query: bad %% escape at byte %zu", i);
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (cap && k < cap - 1) out[k] = ch;
    }
    if (cap) out[k < cap - 1 ? k : cap - 1] = 0;
    return (ssize_t)k;
}

ssize_t sockit_http_query_get(const sockit_http_req *r, const char *name, char *buf, size_t len)
{
    if (!r || !name || (!buf && len)) return sockit__failmsg(-EINVAL, "http query: NULL argument");
    const char *q = r->query.p, *end = q + r->query.n;
    if (!q) return sockit__failmsg(-ENOENT, "http query: no parameter %s", name);
    size_t nlen = strlen(name);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q));
        const char *kend = eq ? eq : stop;
        char key[256];
        ssize_t kl = form_decode(q, (size_t)(kend - q), key, sizeof key);
        if (kl >= 0 && (size_t)kl == nlen && (size_t)kl < sizeof key && memcmp(key, name, nlen) == 0) {
            const char *v = eq ? eq + 1 : stop;
            ssize_t vl = form_decode(v, (size_t)(stop - v), buf, len);
            if (vl < 0) return vl;
            if ((size_t)vl >= len) return sockit__failmsg(-ENOSPC, "http query: %s: %zd bytes do not fit", name, vl);
            return vl;
        }
        q = stop + 1;
    }
    return sockit__failmsg(-ENOENT, "http query: no parameter %s", name);
}

/* ---- headers -------------------------------------------------------------------------------- */

static int value_ok(const char *v)
{
    for (; *v; v++) {
        unsigned char ch = (unsigned char)*v;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) return 0;
    }
    return 1;
}

/* Room for n more bytes of header lines. */
static int rh_room(sockit_http_req *r, size_t more, const char *name)
{
    size_t need = r->rh_len + more;
    if (need > RH_MAX) return sockit__failmsg(-ENOSPC, "http header %s: the head would exceed 16 KiB", name);
    if (need > r->rh_cap) {
        size_t cap = need < 512 ? 512 : need * 2;
        char *n = realloc(r->rh, cap);
        if (!n) return sockit__fail(-ENOMEM, "http header");
        r->rh = n;
        r->rh_cap = cap;
    }
    return 0;
}

static int rh_append(sockit_http_req *r, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value), need = r->rh_len + nl + vl + 4;
    int rc = rh_room(r, nl + vl + 4, name);
    if (rc < 0) return rc;
    char *p = r->rh + r->rh_len;
    memcpy(p, name, nl);
    p[nl] = ':';
    p[nl + 1] = ' ';
    memcpy(p + nl + 2, value, vl);
    p[nl + 2 + vl] = '\r';
    p[nl + 3 + vl] = '\n';
    r->rh_len = need;
    return 0;
}

int sockit__http_add_lines(sockit_http_req *r, const char *lines, size_t n)
{
    if (r->resp != R_NONE) return sockit__failmsg(-EALREADY, "http header: the head is sent");
    int rc = rh_room(r, n, "lines");
    if (rc < 0) return rc;
    memcpy(r->rh + r->rh_len, lines, n);
    r->rh_len += n;
    return 0;
}

/* Whether name is one of the fields the server writes or interprets itself (checked before the
 * strcasecmp calls by its first letter: most names are none of them). */
static int special_name(const char *name)
{
    switch (name[0] | 0x20) {
    case 't': case 'd': case 'c': case 's': return 1;
    default: return 0;
    }
}

/* Runs on the handler's own thread in both styles: the worker only reads these fields once the
 * handler asks for the head to be sent (through the relay, which orders the two). */
int sockit_http_add_header(sockit_http_req *r, const char *name, const char *value)
{
    if (!r || !name || !value) return sockit__failmsg(-EINVAL, "http header: NULL argument");
    if (r->resp != R_NONE) return sockit__failmsg(-EALREADY, "http header %s: the head is sent", name);
    if (!*name) return sockit__failmsg(-EINVAL, "http header: empty name");
    for (const char *p = name; *p; p++)
        if (!sockit__http_tchar((unsigned char)*p)) return sockit__failmsg(-EINVAL, "http header: name \"%s\" is not a token", name);
    if (!value_ok(value)) return sockit__failmsg(-EINVAL, "http header %s: a control byte in the value", name);
    if (!special_name(name)) return rh_append(r, name, value);
    if (strcasecmp(name, "Transfer-Encoding") == 0 || strcasecmp(name, "Date") == 0)
        return sockit__failmsg(-EPERM, "http header: %s is the server's", name);
    if (strcasecmp(name, "Connection") == 0) { /* the server writes it: close is all we take */
        struct sockit_str v = {value, strlen(value)};
        if (!sockit_http_value_has(v, "close"))
            return sockit__failmsg(-EPERM, "http header: Connection is the server's (only \"close\" is taken)");
        r->want_close = 1;
        return 0;
    }
    if (strcasecmp(name, "Server") == 0) r->own_server = 1; /* instead of the server's */
    if (strcasecmp(name, "Content-Length") == 0) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (!*value || *end || errno || value[0] == '-' || value[0] == '+' || value[0] == ' ')
            return sockit__failmsg(-EINVAL, "http header: Content-Length \"%s\" is not a number", value);
        r->has_clen = 1;
        r->resp_clen = v;
        return 0;
    }
    return rh_append(r, name, value);
}

int sockit_http_set_status(sockit_http_req *r, int status)
{
    if (status < 200 || status > 999) return sockit__failmsg(-EINVAL, "http status %d: 200..999", status);
    if (r->resp != R_NONE) return sockit__failmsg(-EALREADY, "http status: the head is sent");
    r->status = status;
    return 0;
}

/* ---- heads ----------------------------------------------------------------------------------- */

/* Whether the connection goes on after this response. */
static int decide_keep(sockit_http_req *r)
{
    struct hconn *hc = r->hc;
    sockit_http_server *hs = r->hs;
    if (!r->keep_alive || r->want_close || hc->closing || atomic_load(&hs->srv->stopping) ||
        hc->nreq + 1 >= hs->cfg.max_requests_per_conn)
        r->keep_alive = 0;
    if (r->framing == SOCKIT_HTTP_LENGTH && (r->body == B_NONE || r->body == B_HELD) &&
        r->left > SOCKIT_HTTP_DISCARD_MAX)
        r->keep_alive = 0;
    if (r->expect_continue && !r->continue_sent && r->body != B_DONE) r->keep_alive = 0;
    return r->keep_alive;
}

enum { LEN_NONE, LEN_FIXED, LEN_CHUNKED, LEN_CLOSE };

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}
#define PUT(p, lit) put(p, lit, sizeof lit - 1)

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n) *p++ = tmp[--n];
    return p;
}

/* The head's first part into buf (640 bytes: a Content-Type under 200 bytes, a Server line under
 * 128, the rest bounded): status line, Date, Server, Content-Type, the framing, Connection.
 * Built with copies, not snprintf: this runs once per response. Returns its length. */
static size_t head_prefix(sockit_http_req *r, char *buf, int status, const char *ctype, int lenmode,
                          uint64_t len)
{
    const char *reason = sockit__http_reason(status);
    int keep = decide_keep(r);
    char *p = PUT(buf, "HTTP/1.1 ");
    p = put_u64(p, (uint64_t)status);
    *p++ = ' ';
    p = put(p, reason, strlen(reason));
    p = PUT(p, "\r\nDate: ");
    sockit__http_date_now(p);
    p += SOCKIT__DATE_LEN;
    p = PUT(p, "\r\n");
    if (!r->own_server) p = put(p, r->hs->server_line, r->hs->server_line_len);
    if (ctype && *ctype) {
        p = PUT(p, "Content-Type: ");
        p = put(p, ctype, strlen(ctype));
        p = PUT(p, "\r\n");
    }
    if (lenmode == LEN_FIXED) {
        p = PUT(p, "Content-Length: ");
        p = put_u64(p, len);
        p = PUT(p, "\r\n");
    } else if (lenmode == LEN_CHUNKED) {
        p = PUT(p, "Transfer-Encoding: chunked\r\n");
    }
    if (!keep) p = PUT(p, "Connection: close\r\n");
    else if (r->msg.version < 11) p = PUT(p, "Connection: keep-alive\r\n");
    return (size_t)(p - buf);
}

static int ctype_ok(const char *ctype)
{
    return !ctype || (strlen(ctype) < 200 && value_ok(ctype));
}

static int gone(const sockit_http_req *r) { return !r->hc || r->hc->dying; }

/* Counts bytes queued on the connection (see struct hconn's `queued`): rc is the send's result. */
static int counted(sockit_http_req *r, int rc, uint64_t n)
{
    if (rc == 0 && r->hc) r->hc->queued += n;
    return rc;
}

static int sendv_counted(sockit_http_req *r, const struct iovec *iov, int n)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++) total += iov[i].iov_len;
    return counted(r, sockit_conn_sendv(r->c, iov, n), total);
}

static int body_release(const struct sockit__body *b, int rc)
{
    if (b->release) b->release(b->arg);
    if (b->fd >= 0) close(b->fd);
    return rc;
}

/* Sends the body after the head: lent, from a file, or (a large copy behind queued output) our
 * own copy lent, rather than be refused by the core's 4 x out_limit rule. */
static int send_body(sockit_http_req *r, const struct sockit__body *b)
{
    if (b->fd >= 0) return counted(r, sockit_conn_sendfile(r->c, b->fd, b->off, b->flen, 0), b->flen);
    if (b->lend) return counted(r, sockit_conn_send_borrowed(r->c, b->p, b->len, b->release, b->arg), b->len);
    void *copy = malloc(b->len);
    if (!copy) return sockit__fail(-ENOMEM, "http respond");
    memcpy(copy, b->p, b->len);
    return counted(r, sockit_conn_send_borrowed(r->c, copy, b->len, free, copy), b->len);
}

/* Whether a whole response must wait for the request body: the handler answered without taking
 * a body that is still to come (B_NONE / B_HELD). The body is then read and dropped first, and
 * the answer goes out only if it ends validly (issue 9: no response for a request that was not
 * fully and validly parsed). Not held: answers on a connection that closes after them (errors
 * about the head; the body is never read as anything), and a Content-Length body too large to
 * drop (SOCKIT_HTTP_DISCARD_MAX) — it cannot be malformed, so its answer goes now with
 * Connection: close. */
static int must_hold(const sockit_http_req *r)
{
    return (r->body == B_NONE || r->body == B_HELD) && r->hc && !r->hc->closing &&
           !(r->framing == SOCKIT_HTTP_LENGTH && r->left > SOCKIT_HTTP_DISCARD_MAX);
}

/* Keeps the response (copying a copied body and the Content-Type) and starts dropping the body. */
static int hold(sockit_http_req *r, int status, const char *ctype, const struct sockit__body *b)
{
    struct sockit__body k = *b;
    char *ct = NULL;
    if (ctype && !(ct = strdup(ctype))) return body_release(b, sockit__fail(-ENOMEM, "http respond"));
    if (k.fd < 0 && !k.lend && k.len) {
        void *copy = malloc(k.len);
        if (!copy) {
            free(ct);
            return body_release(b, sockit__fail(-ENOMEM, "http respond"));
        }
        memcpy(copy, k.p, k.len);
        k = (struct sockit__body){copy, k.len, free, copy, -1, 0, 0, 1};
    }
    r->held_body = k;
    r->held_ctype = ct;
    r->held_status = status;
    r->status = status;
    r->resp = R_HELD;
    sockit__http_body_want(r, B_DISCARD);
    if (r->body == B_DONE && r->resp == R_HELD) sockit__http_held_send(r); /* no body will come */
    return 0;
}

void sockit__http_held_send(sockit_http_req *r)
{
    if (r->resp != R_HELD) return;
    struct sockit__body b = r->held_body;
    char *ct = r->held_ctype;
    r->held_ctype = NULL;
    r->resp = R_NONE;
    sockit__http_respond_loop(r, r->held_status, ct, &b);
    free(ct);
}

void sockit__http_held_drop(sockit_http_req *r)
{
    if (r->resp != R_HELD) return;
    body_release(&r->held_body, 0);
    free(r->held_ctype);
    r->held_ctype = NULL;
    r->resp = R_NONE;
    r->status = 200;
}

int sockit__http_respond_loop(sockit_http_req *r, int status, const char *ctype, const struct sockit__body *b)
{
    if (gone(r)) return body_release(b, sockit__failmsg(-EPIPE, "http respond: the connection is gone"));
    if (r->resp != R_NONE) return body_release(b, sockit__failmsg(-EALREADY, "http respond: a response was started"));
    if (status < 200 || status > 999 || !ctype_ok(ctype))
        return body_release(b, sockit__failmsg(-EINVAL, "http respond: status %d or Content-Type invalid", status));
    if (must_hold(r)) return hold(r, status, ctype, b);
    uint64_t blen = b->fd >= 0 ? b->flen : b->len;
    int nobody = no_body_status(status);
    char pre[640];
    size_t pn = head_prefix(r, pre, status, ctype, nobody ? LEN_NONE : LEN_FIXED, blen);
    struct iovec iov[4] = {{pre, pn}, {r->rh ? r->rh : (char *)"", r->rh_len}, {(void *)"\r\n", 2}, {(void *)b->p, 0}};
    int with_body = !nobody && !r->is_head && blen;
    r->status = status;
    r->resp = R_DONE;
    r->bytes = with_body ? blen : 0;
    r->body_from = r->hc->queued + pn + r->rh_len + 2;
    r->body_to = r->body_from + r->bytes;
    int rc;
    if (with_body && b->fd < 0 && !b->lend && !(b->len > r->hs->cfg.stream_limit && sockit_conn_pending(r->c))) {
        iov[3].iov_len = b->len; /* one sendv: head and body */
        rc = sendv_counted(r, iov, 4);
    } else {
        rc = sendv_counted(r, iov, 3);
        if (!with_body || rc < 0) body_release(b, 0);
        else rc = send_body(r, b);
    }
    sockit__http_resp_done(r);
    return rc < 0 ? rc : 0;
}

/* ---- streaming ------------------------------------------------------------------------------- */

int sockit__http_start_loop(sockit_http_req *r, int status)
{
    if (gone(r)) return sockit__failmsg(-EPIPE, "http start: the connection is gone");
    if (r->resp != R_NONE) return sockit__failmsg(-EALREADY, "http start: a response was started");
    if (status < 200 || status > 999) return sockit__failmsg(-EINVAL, "http start: status %d", status);
    if (must_hold(r))
        return sockit__failmsg(-EBUSY, "http start: the request body is unread (take it with "
                               "sockit_http_on_body or sockit_http_read first, or respond whole)");
    int mode = no_body_status(status) ? LEN_NONE
               : r->has_clen           ? LEN_FIXED
               : r->msg.version >= 11  ? LEN_CHUNKED
                                       : LEN_CLOSE;
    if (mode == LEN_CLOSE) sockit__http_no_keep(r);
    char pre[640];
    size_t pn = head_prefix(r, pre, status, NULL, mode, r->resp_clen);
    struct iovec iov[3] = {{pre, pn}, {r->rh ? r->rh : (char *)"", r->rh_len}, {(void *)"\r\n", 2}};
    r->status = status;
    r->resp = R_STREAM;
    r->chunked = mode == LEN_CHUNKED;
    r->until_close = mode == LEN_CLOSE;
    r->head_sent = 1;
    r->resp_sent = 0;
    int rc = sendv_counted(r, iov, 3);
    r->body_from = r->body_to = r->hc->queued;
    return rc;
}

int sockit__http_write_loop(sockit_http_req *r, const void *data, size_t len)
{
    int rc;
    if (r->resp == R_NONE && (rc = sockit__http_start_loop(r, r->status)) < 0) return rc;
    if (gone(r)) return sockit__failmsg(-EPIPE, "http write: the connection is gone");
    if (r->resp != R_STREAM) return sockit__failmsg(-EPIPE, "http write: the response has ended");
    if (!len) return 0;
    if (r->has_clen && len > r->resp_clen - r->resp_sent)
        return sockit__failmsg(-EMSGSIZE, "http write: past the Content-Length %" PRIu64, r->resp_clen);
    r->resp_sent += len;
    if (r->is_head || no_body_status(r->status)) return 0;
    if (r->chunked) {
        char size[24];
        int sn = snprintf(size, sizeof size, "%zx\r\n", len);
        struct iovec iov[3] = {{size, (size_t)sn}, {(void *)data, len}, {(void *)"\r\n", 2}};
        rc = sendv_counted(r, iov, 3);
    } else {
        rc = counted(r, sockit_conn_send(r->c, data, len), len);
    }
    if (rc < 0) {
        r->resp_sent -= len;
        return rc;
    }
    r->bytes += len;
    r->body_to = r->hc->queued;
    return sockit_conn_pending(r->c) >= r->hs->cfg.stream_limit ? SOCKIT_HTTP_FULL : 0;
}

int sockit__http_end_loop(sockit_http_req *r)
{
    int rc = 0;
    if (r->resp == R_NONE && (rc = sockit__http_start_loop(r, r->status)) < 0) return rc;
    if (gone(r)) return sockit__failmsg(-EPIPE, "http end: the connection is gone");
    if (r->resp != R_STREAM) return sockit__failmsg(-EALREADY, "http end: the response has ended");
    if (r->chunked && !r->is_head) rc = counted(r, sockit_conn_send(r->c, "0\r\n\r\n", 5), 5);
    if ((r->has_clen && r->resp_sent < r->resp_clen && !r->is_head && !no_body_status(r->status)) ||
        r->until_close) {
        sockit__http_no_keep(r); /* the length is not what the head said (or marks the end) */
        sockit_conn_close(r->c);
    }
    r->wcb = NULL;
    sockit__http_resp_done(r);
    return rc < 0 ? rc : 0;
}

void sockit__http_writable(sockit_http_req *r)
{
    if (r->op) sockit__http_op_writable(r);
    if (r->wcb && r->resp == R_STREAM) {
        void (*cb)(sockit_http_req *, void *) = r->wcb;
        r->wcb = NULL;
        cb(r, r->warg);
    }
}

void sockit__http_resp_reset(sockit_http_req *r)
{
    sockit__http_held_drop(r);
    r->status = 200;
    r->resp = R_NONE;
    r->rh_len = 0;
    r->has_clen = r->chunked = r->until_close = r->head_sent = r->want_close = r->own_server = 0;
    r->resp_clen = r->resp_sent = r->bytes = r->body_from = r->body_to = 0;
    r->wcb = NULL;
}

/* ---- public response calls: the worker does them, a blocking handler relays them ------------ */

static int respond(sockit_http_req *r, int status, const char *ctype, const struct sockit__body *b)
{
    if (sockit__http_on_pool(r)) return sockit__http_relay_respond(r, status, ctype, b);
    return sockit__http_respond_loop(r, status, ctype, b);
}

int sockit_http_respond(sockit_http_req *r, int status, const char *ctype, const void *body, size_t len)
{
    if (!body && len) return sockit__failmsg(-EINVAL, "http respond: NULL body");
    struct sockit__body b = {body, len, NULL, NULL, -1, 0, 0, 0};
    return respond(r, status, ctype, &b);
}

int sockit_http_respond_borrowed(sockit_http_req *r, int status, const char *ctype, const void *body,
                                 size_t len, void (*release)(void *arg), void *arg)
{
    if (!body && len) {
        if (release) release(arg);
        return sockit__failmsg(-EINVAL, "http respond: NULL body");
    }
    struct sockit__body b = {body, len, release, arg, -1, 0, 0, 1};
    return respond(r, status, ctype, &b);
}

int sockit_http_respond_file(sockit_http_req *r, int status, const char *ctype, int fd, uint64_t offset,
                             uint64_t length)
{
    if (fd < 0) return sockit__failmsg(-EINVAL, "http respond_file: fd %d", fd);
    struct sockit__body b = {NULL, 0, NULL, NULL, fd, offset, length, 0};
    return respond(r, status, ctype, &b);
}

int sockit_http_start(sockit_http_req *r, int status)
{
    if (sockit__http_on_pool(r)) return sockit__http_relay_start(r, status);
    return sockit__http_start_loop(r, status);
}

int sockit_http_write(sockit_http_req *r, const void *data, size_t len)
{
    if (!data && len) return sockit__failmsg(-EINVAL, "http write: NULL data");
    if (sockit__http_on_pool(r)) return sockit__http_relay_write(r, data, len);
    return sockit__http_write_loop(r, data, len);
}

int sockit_http_end(sockit_http_req *r)
{
    if (sockit__http_on_pool(r)) return sockit__http_relay_end(r);
    return sockit__http_end_loop(r);
}

int sockit_http_on_writable(sockit_http_req *r, void (*cb)(sockit_http_req *r, void *arg), void *arg)
{
    if (r->blocking) return sockit__failmsg(-EINVAL, "http on_writable: a blocking handler's writes block");
    if (gone(r)) return sockit__failmsg(-EPIPE, "http on_writable: the connection is gone");
    r->wcb = cb;
    r->warg = arg;
    sockit_conn_want_writable(r->c);
    return 0;
}

int sockit_http_on_done(sockit_http_req *r, void (*cb)(sockit_http_req *r, int status, void *arg), void *arg)
{
    if (r->blocking) return sockit__failmsg(-EINVAL, "http on_done: for event-driven handlers");
    r->done_cb = cb;
    r->done_arg = arg;
    return 0;
}

int sockit_http_on_body(sockit_http_req *r, sockit_http_body_cb cb, void *arg)
{
    if (!cb) return sockit__failmsg(-EINVAL, "http on_body: NULL callback");
    if (r->blocking) return sockit__failmsg(-EINVAL, "http on_body: blocking handlers use sockit_http_read");
    if (r->body_cb) return sockit__failmsg(-EALREADY, "http on_body: asked before");
    r->body_cb = cb;
    r->body_arg = arg;
    if (r->body == B_DONE) {
        cb(r, NULL, 0, r->body_err ? r->body_err : 1, arg);
        return 0;
    }
    sockit__http_body_want(r, B_CB);
    return 0;
}

ssize_t sockit_http_read(sockit_http_req *r, void *buf, size_t len)
{
    if (!r->blocking || !sockit__http_on_pool(r))
        return sockit__failmsg(-EINVAL, "http read: for blocking handlers (use sockit_http_on_body)");
    if (!buf && len) return sockit__failmsg(-EINVAL, "http read: NULL buffer");
    return sockit__http_relay_read(r, buf, len);
}

/* ---- the server's own answers ------------------------------------------------------------------ */

int sockit__http_error(sockit_http_req *r, int status, const char *extra)
{
    char body[96];
    int n = no_body_status(status) ? 0 : snprintf(body, sizeof body, "%d %s\n", status, sockit__http_reason(status));
    r->rh_len = 0;
    r->has_clen = 0;
    size_t el = extra ? strlen(extra) : 0;
    if (el > r->rh_cap) {
        char *p = realloc(r->rh, el);
        if (p) {
            r->rh = p;
            r->rh_cap = el;
        }
    }
    if (el <= r->rh_cap && el) {
        memcpy(r->rh, extra, el);
        r->rh_len = el;
    }
    struct sockit__body b = {body, (size_t)n, NULL, NULL, -1, 0, 0, 0};
    return sockit__http_respond_loop(r, status, no_body_status(status) ? NULL : "text/plain; charset=utf-8", &b);
}

void sockit__http_raw_error(struct hconn *hc, int status, sockit_str method, sockit_str target)
{
    sockit_http_server *hs = hc->hs;
    hc->closing = 1;
    sockit_timer_stop(sockit_conn_loop(hc->c), &hc->timer);
    if (status) {
        char buf[1024], date[SOCKIT__DATE_LEN + 1];
        const char *reason = sockit__http_reason(status);
        int n = snprintf(buf, sizeof buf,
                         "HTTP/1.1 %d %s\r\nDate: %s\r\n%sContent-Type: text/plain; charset=utf-8\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%d %s\n",
                         status, reason, sockit__http_date_now(date), hs->server_line, strlen(reason) + 5,
                         status, reason);
        if (sockit_conn_send(hc->c, buf, (size_t)n) == 0) hc->queued += (uint64_t)n;
        if (hs->cfg.access_log) {
            sockit_addr peer;
            sockit_conn_peer(hc->c, &peer);
            sockit_http_log_entry e = {method.p ? method : (sockit_str){"-", 1},
                                       target.p ? target : (sockit_str){"-", 1},
                                       0, status, strlen(reason) + 5, 0, &peer, (int64_t)time(NULL)};
            hs->cfg.access_log(hs->cfg.user, &e);
        }
    }
    sockit_conn_close(hc->c);
}
