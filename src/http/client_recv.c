/*
 * The HTTP client's receiving side: response heads (1xx skipped), body framing (Content-Length,
 * chunked, read to the close) and the sinks. Bodies are handed on in the largest pieces the
 * socket gives: a Content-Length body to memory is received straight into the response's buffer,
 * everything else passes once through the connection's 128 KiB buffer (no per-byte work: the
 * chunked decoder runs in place, and only over chunk boundaries byte by byte).
 */
#include "internal/http_client.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- receiving, with the low-speed limit ------------------------------------------------------ */

/* The low-speed limit: fewer than ls_limit bytes per second over a whole window is -ETIMEDOUT. */
static int low_speed(hc_call *call, uint64_t got)
{
    int64_t now = sockit__now();
    call->ls_bytes += got;
    if (now < call->ls_start + call->ls_window)
        return 0;
    double secs = (double)(now - call->ls_start) / 1e9;
    if ((double)call->ls_bytes < (double)call->ls_limit * secs)
        return sockit__failmsg(-ETIMEDOUT, "http: too slow: %llu bytes in %.1f s, below the "
                               "low-speed limit of %llu bytes/s, from %s",
                               (unsigned long long)call->ls_bytes, secs,
                               (unsigned long long)call->ls_limit, call->url);
    call->ls_start = now;
    call->ls_bytes = 0;
    return 0;
}

/* One receive into dst within deadline (and the low-speed window): the count, 0 at the end of
 * the stream, or a code with a message naming the URL. */
static ssize_t hc_recv(hc_call *call, hc_conn *k, void *dst, size_t n, int64_t deadline)
{
    unsigned mark = sockit__errmark();
    for (;;) {
        int64_t dl = deadline;
        if (call->ls_limit && call->ls_start + call->ls_window < dl)
            dl = call->ls_start + call->ls_window;
        ssize_t r = sockit__recv_dl(k->s, dst, n, 0, dl);
        if (r >= 0) {
            call->resp->wire_bytes += (uint64_t)r;
            int e = call->ls_limit ? low_speed(call, (uint64_t)r) : 0;
            return e < 0 ? e : r;
        }
        if (r == -ETIMEDOUT && dl != deadline) {
            int e = low_speed(call, 0);
            if (e < 0) return e;
            continue;
        }
        if (r == -ETIMEDOUT)
            return sockit__failmsg(-ETIMEDOUT, "http: timed out waiting for the response from %s",
                                   call->url);
        return (ssize_t)sockit__fail_ctx(mark, (int)r, "http: receiving from %s", call->url);
    }
}

ssize_t sockit__hc_fill(hc_call *call, hc_conn *k, int64_t deadline)
{
    if (k->len == 0)
        k->off = 0;
    else if (k->off + k->len == HC_BUFSIZE) {
        if (k->off == 0)
            return sockit__failmsg(SOCKIT_ETOOLONG, "http: receive buffer full");
        memmove(k->buf, k->buf + k->off, k->len);
        k->off = 0;
    }
    ssize_t r = hc_recv(call, k, k->buf + k->off + k->len, HC_BUFSIZE - k->off - k->len, deadline);
    if (r > 0)
        k->len += (size_t)r;
    return r;
}

static void consume(hc_conn *k, size_t n)
{
    k->off += n;
    k->len -= n;
}

/* Interim responses (1xx) one request may get before its final one: a peer that sends them
 * without end would otherwise hold the call until its deadline. */
#define MAX_INTERIM 32

/* ---- the head ------------------------------------------------------------------------------- */

/* Makes sure p's arrays hold a head of n bytes with nh headers. */
static int reserve_head(hc_resp_priv *p, size_t n, size_t nh)
{
    if (2 * n + 2 > p->head_cap) {
        size_t cap = 2 * n + 2 < 1024 ? 1024 : 2 * n + 2;
        char *h = realloc(p->head, cap);
        if (!h) return -ENOMEM;
        p->head = h, p->head_cap = cap;
    }
    if (nh > p->fields_cap) {
        sockit_http_field *f = realloc(p->fields, nh * sizeof *f);
        if (!f) return -ENOMEM;
        p->fields = f, p->fields_cap = nh;
    }
    return 0;
}

/* Copies the parsed head (n bytes at base) into the response: the raw bytes, and a second copy
 * whose names and values are NUL-terminated in place (each is followed by ':' or a line end). */
static int keep_head(hc_call *call, const char *base, size_t n, const sockit_http_response *pr)
{
    hc_resp_priv *p = call->p;
    sockit_http_resp *resp = call->resp;
    if (reserve_head(p, n, pr->nheaders) < 0)
        return sockit__failmsg(-ENOMEM, "http: no memory for the response head");
    char *raw = p->head, *cp = p->head + n + 1;
    memcpy(raw, base, n);
    raw[n] = 0;
    memcpy(cp, base, n);
    for (size_t i = 0; i < pr->nheaders; i++) {
        const sockit_http_header *h = &pr->headers[i];
        char *name = cp + (h->name.p - base), *value = cp + (h->value.p - base);
        name[h->name.n] = 0;
        value[h->value.n] = 0;
        p->fields[i].name = name;
        p->fields[i].value = value;
    }
    char *reason = pr->reason.p ? cp + (pr->reason.p - base) : cp + n;
    reason[pr->reason.p ? pr->reason.n : 0] = 0;
    cp[n] = 0;
    resp->head = raw, resp->head_len = n;
    resp->headers = p->fields, resp->nheaders = pr->nheaders;
    resp->status = pr->status, resp->version = pr->version, resp->reason = reason;
    return 0;
}

/* Parses the head at base (n bytes) into pr, growing the header array as needed. */
static int parse_head(hc_call *call, const char *base, size_t n, sockit_http_response *pr)
{
    hc_resp_priv *p = call->p;
    for (;;) {
        if (!p->hdrs_cap) {
            p->hdrs = malloc(64 * sizeof *p->hdrs);
            if (!p->hdrs) return -ENOMEM;
            p->hdrs_cap = 64;
        }
        pr->headers = p->hdrs;
        pr->nheaders = p->hdrs_cap;
        ssize_t r = sockit_http_parse_response(base, n, pr);
        if (r >= 0) return 0;
        if (r != SOCKIT_ETOOLONG || p->hdrs_cap >= n) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", sockit_errmsg());
            return sockit__failmsg(r == SOCKIT_ETOOLONG ? SOCKIT_EPROTO : (int)r,
                                   "http: bad response head from %s: %s", call->url, msg);
        }
        sockit_http_header *h = realloc(p->hdrs, 2 * p->hdrs_cap * sizeof *h);
        if (!h) return -ENOMEM;
        p->hdrs = h, p->hdrs_cap *= 2;
    }
}

/* 1 if the caller's Connection header says close (the connection then ends with the response). */
static int caller_closes(const sockit_http_client_req *q)
{
    for (size_t i = 0; i < q->nheaders; i++) {
        const char *v = q->headers[i].value;
        if (v && !strcasecmp(q->headers[i].name, "connection") &&
            sockit_http_value_has((sockit_str){v, strlen(v)}, "close"))
            return 1;
    }
    return 0;
}

/* Framing, keep-alive and codings of the head just parsed (while pr still points into k). */
static int head_facts(hc_call *call, const sockit_http_response *pr)
{
    uint64_t len = 0;
    int f = sockit_http_response_framing(pr, call->head_only ? "HEAD" : call->method, &len);
    if (f < 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", sockit_errmsg());
        return sockit__failmsg(SOCKIT_EPROTO, "http: %s from %s", msg, call->url);
    }
    call->framing = f;
    call->length = len;
    call->resp->content_length = f == SOCKIT_HTTP_LENGTH ? (int64_t)len : -1;
    uint64_t hl = 0; /* a HEAD response says the length a GET's body would have */
    if (call->head_only && sockit_http_response_framing(pr, "GET", &hl) == SOCKIT_HTTP_LENGTH)
        call->resp->content_length = (int64_t)hl;
    const sockit_http_header *conn = sockit_http_header_find(pr->headers, pr->nheaders, "connection");
    call->conn_close = pr->version < 11;
    if (conn && sockit_http_value_has(conn->value, "close")) call->conn_close = 1;
    if (conn && pr->version < 11 && sockit_http_value_has(conn->value, "keep-alive")) call->conn_close = 0;
    if (caller_closes(call->req)) call->conn_close = 1; /* the server may keep it open all the same */
    return 0;
}

int sockit__hc_read_head(hc_call *call, hc_conn *k, int *got_any, int stop_at_100, int64_t deadline)
{
    size_t max = call->c->o.max_header_bytes, blank = 0;
    for (int interim = 0;; interim++) {
        size_t scanned = 0;
        if (interim > MAX_INTERIM)
            return sockit__failmsg(SOCKIT_EPROTO, "http: %s sent more than %d interim (1xx) "
                                   "responses", call->url, MAX_INTERIM);
        ssize_t end = 0;
        for (;;) {
            while (k->len && (k->buf[k->off] == '\r' || k->buf[k->off] == '\n'))
                consume(k, 1), blank++; /* empty lines before a status line (RFC 9112 2.2) */
            if (blank > max) /* a stream of CR LF held a client without a timeout forever */
                return sockit__failmsg(SOCKIT_EPROTO, "http: %s sent over %zu bytes of empty "
                                       "lines before its answer", call->url, max);
            if (k->len) { /* no bytes (the usual case right after sending): nothing to scan */
                end = sockit_http_head_end(k->buf + k->off, k->len, &scanned);
                if (end > 0) break;
                if (end != SOCKIT_EINCOMPLETE) return (int)end;
                if (k->len > max)
                    return sockit__failmsg(SOCKIT_EPROTO, "http: the response head from %s is "
                                           "over %zu bytes (max_header_bytes)", call->url, max);
            }
            if (scanned > k->len) scanned = 0; /* empty lines were skipped: look again */
            ssize_t r = sockit__hc_fill(call, k, deadline);
            if (r == 0 && !*got_any)
                return sockit__failmsg(SOCKIT_EPROTO, "http: %s closed the connection without "
                                       "a response", call->url); /* *got_any 0: retryable */
            if (r == 0)
                return sockit__failmsg(SOCKIT_EPROTO, "http: the response head from %s ended "
                                       "after %zu bytes (the connection closed)", call->url, k->len);
            if (r < 0) return (int)r;
            *got_any = 1;
        }
        if ((size_t)end > max)
            return sockit__failmsg(SOCKIT_EPROTO, "http: the response head from %s is over %zu "
                                   "bytes (max_header_bytes)", call->url, max);
        const char *base = k->buf + k->off;
        sockit_http_response pr;
        int r = parse_head(call, base, (size_t)end, &pr);
        if (r < 0) return r;
        if (call->req->trace)
            call->req->trace(call->req->trace_arg, 0, base, (size_t)end);
        if (pr.status >= 100 && pr.status < 200) {
            consume(k, (size_t)end);
            if (pr.status == 101)
                return sockit__failmsg(SOCKIT_EPROTO, "http: %s switched protocols (101) "
                                       "unasked", call->url);
            if (pr.status == 100 && stop_at_100) return 100;
            continue;
        }
        if ((r = keep_head(call, base, (size_t)end, &pr)) < 0 || (r = head_facts(call, &pr)) < 0)
            return r;
        call->resp->wire_bytes = k->len;
        consume(k, (size_t)end);
        return pr.status;
    }
}

/* ---- sinks ------------------------------------------------------------------------------------ */

static int progress(hc_call *call)
{
    const sockit_http_client_req *q = call->req;
    if (!q->progress || call->sink_off) return 0;
    if (q->progress(q->progress_arg, call->sink_base + call->resp->body_bytes, call->total))
        return sockit__failmsg(-ECANCELED, "http: the progress callback stopped the transfer "
                               "from %s", call->url);
    return 0;
}

int sockit__hc_body_reserve(hc_call *call, uint64_t n)
{
    sockit_http_resp *resp = call->resp;
    size_t max = call->req->max_body ? call->req->max_body : (size_t)1 << 30;
    if (resp->body_len + n > max)
        return sockit__failmsg(SOCKIT_ETOOLONG, "http: the body from %s is over %zu bytes "
                               "(max_body)", call->url, max);
    size_t need = resp->body_len + (size_t)n + 1;
    resp->body = call->p->body;
    if (need <= call->p->body_cap) return 0;
    size_t cap = call->p->body_cap ? call->p->body_cap : 4096;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *b = realloc(call->p->body, cap);
    if (!b) return sockit__failmsg(-ENOMEM, "http: no memory for a body of %zu bytes", need);
    resp->body = call->p->body = b;
    call->p->body_cap = cap;
    return 0;
}

static int write_fd(hc_call *call, const char *data, size_t n)
{
    while (n) {
        ssize_t w = write(call->req->sink_fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return sockit__fail(-errno, "http: writing the body from %s", call->url);
        data += w, n -= (size_t)w;
    }
    return 0;
}

int sockit__hc_sink(hc_call *call, const char *data, size_t n)
{
    const sockit_http_client_req *q = call->req;
    sockit_http_resp *resp = call->resp;
    int r = 0;
    if (n == 0 || call->sink_off) return 0;
    switch (q->sink_kind) {
    case SOCKIT_HTTP_SINK_MEMORY:
        if ((r = sockit__hc_body_reserve(call, n)) < 0) return r;
        memcpy(resp->body + resp->body_len, data, n);
        resp->body_len += n;
        resp->body[resp->body_len] = 0;
        break;
    case SOCKIT_HTTP_SINK_FD:
        if ((r = write_fd(call, data, n)) < 0) return r;
        break;
    case SOCKIT_HTTP_SINK_CALLBACK:
        if (q->sink_write && q->sink_write(q->sink_arg, data, n))
            return sockit__failmsg(-ECANCELED, "http: the write callback stopped the transfer "
                                   "from %s", call->url);
        break;
    default:
        break;
    }
    resp->body_bytes += n;
    return progress(call);
}

/* ---- the body ---------------------------------------------------------------------------------- */

/* A Content-Length body to memory, undecoded: received straight into resp->body. */
static int length_to_memory(hc_call *call, hc_conn *k, uint64_t left)
{
    sockit_http_resp *resp = call->resp;
    size_t max = call->req->max_body ? call->req->max_body : (size_t)1 << 30;
    int r = 0;
    if (resp->body_len + left > max) /* refused before a byte is read: it cannot fit */
        return sockit__failmsg(SOCKIT_ETOOLONG, "http: the body from %s is %llu bytes, over %zu "
                               "(max_body)", call->url, (unsigned long long)(resp->body_len + left), max);
    while (left) {
        /* The buffer grows as bytes come (doubling), not to the length the server claims. */
        size_t room = call->p->body_cap - resp->body_len - 1;
        if (room == 0) {
            uint64_t grow = resp->body_len < 65536 ? 65536 : resp->body_len;
            if ((r = sockit__hc_body_reserve(call, grow < left ? grow : left)) < 0) break;
            room = call->p->body_cap - resp->body_len - 1;
        }
        ssize_t n = hc_recv(call, k, resp->body + resp->body_len, room < left ? room : (size_t)left,
                            call->deadline);
        if (n <= 0) {
            r = n < 0 ? (int)n : 1;
            break;
        }
        resp->body_len += (size_t)n;
        resp->body_bytes += (uint64_t)n;
        call->body_got += (uint64_t)n;
        left -= (uint64_t)n;
        if ((r = progress(call)) < 0) break;
    }
    resp->body[resp->body_len] = 0;
    return r;
}

/* Reads a body of `length` bytes (UINT64_MAX: to the close). Returns 0 when it ended as framed,
 * 1 when the stream ended first, or a code. */
static int read_length(hc_call *call, hc_conn *k, uint64_t length)
{
    uint64_t left = length;
    int r;
    if (k->len) {
        size_t n = k->len < left ? k->len : (size_t)left;
        if ((r = sockit__hc_deliver(call, k->buf + k->off, n)) < 0) return r;
        consume(k, n);
        left -= n;
        call->body_got += n;
    }
    if (left && length != UINT64_MAX && !call->z_kind && !call->sink_off &&
        call->req->sink_kind == SOCKIT_HTTP_SINK_MEMORY)
        return length_to_memory(call, k, left);
    while (left) {
        ssize_t n = sockit__hc_fill(call, k, call->deadline);
        if (n < 0) return (int)n;
        if (n == 0) return 1;
        size_t m = k->len < left ? k->len : (size_t)left;
        if ((r = sockit__hc_deliver(call, k->buf + k->off, m)) < 0) return r;
        consume(k, m);
        call->body_got += m;
        if (length != UINT64_MAX) left -= m;
    }
    return 0;
}

/* Reads a chunked body, decoding in place in k's buffer. 0 at its end, 1 if the stream ended
 * first, or a code. */
static int read_chunked(hc_call *call, hc_conn *k)
{
    sockit_http_chunked d;
    sockit_http_chunked_init(&d);
    for (;;) {
        if (k->len) {
            size_t n = k->len, rest = 0;
            int r = sockit_http_chunked_decode(&d, k->buf + k->off, &n, &rest);
            if (r == SOCKIT_EPROTO) {
                char msg[300];
                snprintf(msg, sizeof msg, "%s", sockit_errmsg());
                int e = sockit__hc_deliver(call, k->buf + k->off, n); /* what came before it */
                if (e < 0) return e;
                return sockit__failmsg(SOCKIT_EPROTO, "http: bad chunked body from %s after %llu "
                                       "body bytes: %s", call->url,
                                       (unsigned long long)call->resp->body_bytes, msg);
            }
            if (r < 0 && r != SOCKIT_EINCOMPLETE) return r;
            int e = sockit__hc_deliver(call, k->buf + k->off, n);
            if (e < 0) return e;
            if (r == 1) {
                k->off += n;
                k->len = rest;
                return 0;
            }
            k->len = 0;
        }
        ssize_t n = sockit__hc_fill(call, k, call->deadline);
        if (n < 0) return (int)n;
        if (n == 0) return 1;
    }
}

int sockit__hc_read_body(hc_call *call, hc_conn *k, int *reusable)
{
    sockit_http_resp *resp = call->resp;
    int r = 0;
    *reusable = 0;
    resp->complete = 0;
    if ((r = progress(call)) < 0) return r;
    switch (call->framing) {
    case SOCKIT_HTTP_NO_BODY:
        break;
    case SOCKIT_HTTP_LENGTH:
        r = read_length(call, k, call->length);
        if (r == 1)
            return sockit__failmsg(SOCKIT_EPROTO, "http: body ended after %llu of %llu bytes "
                                   "(Content-Length) from %s",
                                   (unsigned long long)call->body_got,
                                   (unsigned long long)call->length, call->url);
        break;
    case SOCKIT_HTTP_CHUNKED:
        r = read_chunked(call, k);
        if (r == 1)
            return sockit__failmsg(SOCKIT_EPROTO, "http: chunked body ended early (the connection "
                                   "closed after %llu body bytes, before the last chunk) from %s",
                                   (unsigned long long)resp->body_bytes, call->url);
        break;
    default:
        r = read_length(call, k, UINT64_MAX);
        if (r == 1) r = 0;
        call->conn_close = 1;
        break;
    }
    if (r < 0) return r;
    if ((r = sockit__hc_decode_finish(call)) < 0) return r;
    resp->complete = 1;
    *reusable = !call->conn_close && k->len == 0;
    return 0;
}
