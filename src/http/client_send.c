/*
 * The HTTP client's sending side: the request head (built in the client's reused buffer, the
 * caller's headers checked so none can smuggle a line break) and the request body from memory,
 * a file or a callback (with its length, or in the chunked coding when the length is unknown).
 */
#include "internal/http_client.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a growing buffer over c->out ------------------------------------------------------------- */

typedef struct sb {
    sockit_http_client *c;
    size_t n;
    int err;
} sb;

static int sb_room(sb *b, size_t more)
{
    sockit_http_client *c = b->c;
    if (b->err) return -1;
    if (b->n + more + 1 <= c->out_cap) return 0;
    size_t cap = c->out_cap ? c->out_cap : 1024;
    while (cap < b->n + more + 1) cap *= 2;
    char *p = realloc(c->out, cap);
    if (!p) return b->err = -1;
    c->out = p, c->out_cap = cap;
    return 0;
}

/* Inline with the room check first: a request head is a dozen short pieces, and the call and
 * the growth check showed in the client's profile. */
static inline __attribute__((always_inline)) void sb_put(sb *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->c->out_cap && sb_room(b, n) < 0) return;
    if (b->err) return;
    memcpy(b->c->out + b->n, s, n);
    b->n += n;
}

static void sb_str(sb *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_sv(sb *b, sockit_str s)
{
    if (s.n) sb_put(b, s.p, s.n);
}

static void sb_header(sb *b, const char *name, const char *value)
{
    sb_str(b, name);
    sb_put(b, ": ", 2);
    sb_str(b, value);
    sb_put(b, "\r\n", 2);
}

/* ---- headers ---------------------------------------------------------------------------------- */

/* A token character (RFC 9110 5.6.2). */
static int tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Validates the caller's header i: -EINVAL with a message for a name that is not a token, a value
 * with a control character (a line break would smuggle a header), or a framing header (Connection
 * is the caller's to give: "close" is sent as given and the connection is not pooled). */
static int check_header(const sockit_http_field *f, size_t i)
{
    if (!f->name || !*f->name)
        return sockit__failmsg(-EINVAL, "http: request header %zu has no name", i + 1);
    for (const char *p = f->name; *p; p++)
        if (!tchar((unsigned char)*p))
            return sockit__failmsg(-EINVAL, "http: request header %zu: the name \"%.40s\" is "
                                   "not a token", i + 1, f->name);
    for (const char *p = f->value ? f->value : ""; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
            return sockit__failmsg(-EINVAL, "http: request header %zu (%.40s): a control "
                                   "character in its value", i + 1, f->name);
    if (!strcasecmp(f->name, "content-length") || !strcasecmp(f->name, "transfer-encoding"))
        return sockit__failmsg(-EINVAL, "http: request header %s is the client's to send "
                               "(framing)", f->name);
    return 0;
}

/* A value of the caller's that goes into the head outside `headers` (the client's User-Agent, the
 * request's Content-Type): -EINVAL for a control character, which would end the line and smuggle
 * a header of the value's choosing. */
static int check_value(const char *what, const char *v)
{
    for (const char *p = v ? v : ""; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
            return sockit__failmsg(-EINVAL, "http: the %s has a control character", what);
    return 0;
}

/* The method is a token (RFC 9110 9.1): a space or a line break would rewrite the request line. */
static int check_method(const char *m)
{
    const char *p = m;
    while (*p && tchar((unsigned char)*p)) p++;
    if (!*m || *p)
        return sockit__failmsg(-EINVAL, "http: the method \"%.40s\" is not a token", m);
    return 0;
}

int sockit__hc_check_line_values(const hc_call *call)
{
    int r;
    if ((r = check_method(call->method)) < 0 || (r = check_value("user agent", call->c->o.user_agent)) < 0 ||
        (r = check_value("content type", call->req->content_type)) < 0)
        return r;
    return 0;
}

/* 1 if the caller's headers name `name` (then the client's own is not sent). */
static int caller_has(const sockit_http_client_req *q, const char *name)
{
    for (size_t i = 0; i < q->nheaders; i++)
        if (!strcasecmp(q->headers[i].name, name)) return 1;
    return 0;
}

/* Credentials that go no further than their origin. */
static int credential(const char *name)
{
    return !strcasecmp(name, "authorization") || !strcasecmp(name, "cookie") ||
           !strcasecmp(name, "proxy-authorization");
}

int sockit__hc_basic(char *out, size_t cap, const char *user, size_t ulen, const char *pass,
                     size_t plen)
{
    unsigned char in[768];
    if (ulen + 1 + plen > sizeof in || 4 * ((ulen + plen + 3) / 3) + 1 > cap) return -ENOBUFS;
    memcpy(in, user, ulen);
    in[ulen] = ':';
    memcpy(in + ulen + 1, pass, plen);
    EVP_EncodeBlock((unsigned char *)out, in, (int)(ulen + 1 + plen));
    return 0;
}

uint64_t sockit__hc_body_length(const hc_call *call)
{
    const sockit_http_client_req *q = call->req;
    switch (q->body_kind) {
    case SOCKIT_HTTP_BODY_MEMORY:
        return q->body_len;
    case SOCKIT_HTTP_BODY_FD:
    case SOCKIT_HTTP_BODY_PATH: {
        if (q->body_kind == SOCKIT_HTTP_BODY_FD && q->body_len != UINT64_MAX) return q->body_len;
        struct stat st;
        if (fstat(call->body_fd, &st) == 0 && S_ISREG(st.st_mode))
            return (uint64_t)st.st_size > call->body_start ? (uint64_t)st.st_size - call->body_start : 0;
        return UINT64_MAX;
    }
    case SOCKIT_HTTP_BODY_CALLBACK:
        return q->body_len;
    default:
        return 0;
    }
}

/* The request line's target: origin-form "/p?q", or absolute-form for a plain-HTTP proxy. */
static void put_target(sb *b, const sockit_url *u, int absolute_form)
{
    if (absolute_form) {
        sb_sv(b, u->scheme);
        sb_put(b, "://", 3);
        if (u->host_is_ipv6) sb_put(b, "[", 1);
        sb_sv(b, u->host);
        if (u->host_is_ipv6) sb_put(b, "]", 1);
        if (u->port.p) {
            sb_put(b, ":", 1);
            sb_sv(b, u->port);
        }
    }
    if (u->path.n) sb_sv(b, u->path);
    else sb_put(b, "/", 1);
    if (u->query.p) {
        sb_put(b, "?", 1);
        sb_sv(b, u->query);
    }
}

/* Host: the host, and the port when it is not the scheme's default. */
static void put_host(sb *b, const sockit_url *u)
{
    sb_put(b, "Host: ", 6);
    if (u->host_is_ipv6) sb_put(b, "[", 1);
    sb_sv(b, u->host);
    if (u->host_is_ipv6) sb_put(b, "]", 1);
    int dflt = sockit_url_is(u, "https") ? 443 : 80;
    if (u->port.p && u->port_num != dflt) {
        sb_put(b, ":", 1);
        sb_sv(b, u->port);
    }
    sb_put(b, "\r\n", 2);
}

/* Authorization: Basic from the request's user, else the URL's userinfo (percent-decoded). */
static int put_auth(sb *b, const hc_call *call, const sockit_url *u)
{
    const sockit_http_client_req *q = call->req;
    char user[256], pass[256], b64[1100];
    ssize_t ul, pl;
    if (q->user) {
        ul = (ssize_t)strlen(q->user), pl = q->password ? (ssize_t)strlen(q->password) : 0;
        if ((size_t)ul >= sizeof user || (size_t)pl >= sizeof pass)
            return sockit__failmsg(-EINVAL, "http: user name or password too long");
        memcpy(user, q->user, (size_t)ul);
        if (pl) memcpy(pass, q->password, (size_t)pl);
    } else if (u->user.p && (u->user.n || u->password.p)) {
        ul = sockit_url_decode(user, sizeof user, u->user.p, u->user.n, 0);
        pl = u->password.p ? sockit_url_decode(pass, sizeof pass, u->password.p, u->password.n, 0) : 0;
        if (ul < 0 || pl < 0)
            return sockit__failmsg(SOCKIT_EBADURL, "http: the user name or password in the URL "
                                   "does not decode");
    } else
        return 0;
    if (sockit__hc_basic(b64, sizeof b64, user, (size_t)ul, pass, (size_t)pl) < 0)
        return sockit__failmsg(-EINVAL, "http: user name or password too long");
    sb_str(b, "Authorization: Basic ");
    sb_str(b, b64);
    sb_put(b, "\r\n", 2);
    return 0;
}

ssize_t sockit__hc_build_head(hc_call *call, const sockit_url *u, int absolute_form, int auth,
                              const char *proxy_auth, int expect)
{
    const sockit_http_client_req *q = call->req;
    sockit_http_client *c = call->c;
    sb b = {c, 0, 0};
    int r;
    for (size_t i = 0; i < q->nheaders; i++)
        if ((r = check_header(&q->headers[i], i)) < 0) return r;
    sb_str(&b, call->method);
    sb_put(&b, " ", 1);
    put_target(&b, u, absolute_form);
    sb_put(&b, " HTTP/1.1\r\n", 11);
    if (!auth || !caller_has(q, "host")) put_host(&b, u); /* a Host of the caller's is for the
                                                            first origin only */
    if (*c->o.user_agent && !caller_has(q, "user-agent")) sb_header(&b, "User-Agent", c->o.user_agent);
    if (!caller_has(q, "accept")) sb_put(&b, "Accept: */*\r\n", 13);
    if (c->o.accept_encoding && !caller_has(q, "accept-encoding"))
        sb_put(&b, "Accept-Encoding: gzip, deflate\r\n", 32);
    if (auth && !caller_has(q, "authorization") && (r = put_auth(&b, call, u)) < 0) return r;
    if (proxy_auth && *proxy_auth && !caller_has(q, "proxy-authorization"))
        sb_header(&b, "Proxy-Authorization", proxy_auth);
    if (q->resume_from) {
        char range[48];
        snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)q->resume_from);
        sb_header(&b, "Range", range);
    }
    if (call->send_body) {
        uint64_t len = sockit__hc_body_length(call);
        char num[24];
        if (q->content_type && !caller_has(q, "content-type")) sb_header(&b, "Content-Type", q->content_type);
        if (len == UINT64_MAX)
            sb_put(&b, "Transfer-Encoding: chunked\r\n", 28);
        else {
            snprintf(num, sizeof num, "%llu", (unsigned long long)len);
            sb_header(&b, "Content-Length", num);
        }
        if (expect && !caller_has(q, "expect")) sb_put(&b, "Expect: 100-continue\r\n", 22);
    } else if (!strcmp(call->method, "POST") || !strcmp(call->method, "PUT") ||
               !strcmp(call->method, "PATCH"))
        sb_put(&b, "Content-Length: 0\r\n", 19);
    if (c->o.max_idle < 0 && !caller_has(q, "connection")) sb_put(&b, "Connection: close\r\n", 19);
    for (size_t i = 0; i < q->nheaders; i++) {
        const sockit_http_field *f = &q->headers[i];
        if (!f->value || (!auth && (credential(f->name) || !strcasecmp(f->name, "host"))))
            continue;
        if (!call->send_body && !strcasecmp(f->name, "content-type") && call->dropped_body) continue;
        sb_header(&b, f->name, f->value);
    }
    sb_put(&b, "\r\n", 2);
    if (b.err) return sockit__failmsg(-ENOMEM, "http: no memory for the request head");
    return (ssize_t)b.n;
}

/* ---- the body ---------------------------------------------------------------------------------- */

static int send_all(hc_call *call, hc_conn *k, const void *p, size_t n)
{
    unsigned mark = sockit__errmark();
    int r = sockit__sendall_dl(k->s, p, n, 0, NULL, call->deadline);
    if (r == -ETIMEDOUT)
        return sockit__failmsg(-ETIMEDOUT, "http: timed out sending the request to %s", call->url);
    if (r < 0) return sockit__fail_ctx(mark, r, "http: sending the request to %s", call->url);
    return 0;
}

/* Reads up to n bytes of the body from its file or callback. */
static ssize_t body_read(hc_call *call, char *buf, size_t n)
{
    const sockit_http_client_req *q = call->req;
    if (q->body_kind == SOCKIT_HTTP_BODY_CALLBACK) {
        ssize_t r = q->body_read(q->body_arg, buf, n);
        if (r < 0)
            return sockit__failmsg(r == -1 ? -ECANCELED : (int)r,
                                   "http: the read callback stopped the request to %s", call->url);
        return r;
    }
    for (;;) {
        ssize_t r = read(call->body_fd, buf, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return sockit__fail(-errno, "http: reading the request body");
        return r;
    }
}

#define CHUNK_HEAD 18 /* room before the data for "ffffffffffffffff\r\n" */

int sockit__hc_send_body(hc_call *call, hc_conn *k)
{
    const sockit_http_client_req *q = call->req;
    sockit_http_client *c = call->c;
    if (!call->send_body || call->body_in_head) return 0;
    if (q->body_kind == SOCKIT_HTTP_BODY_MEMORY)
        return send_all(call, k, q->body, (size_t)q->body_len);
    if (!c->io && !(c->io = malloc(HC_BUFSIZE)))
        return sockit__failmsg(-ENOMEM, "http: no memory for the request body");
    uint64_t left = sockit__hc_body_length(call);
    int chunked = left == UINT64_MAX;
    char *data = c->io + CHUNK_HEAD;
    size_t room = HC_BUFSIZE - CHUNK_HEAD - 2;
    int r;
    for (;;) {
        size_t want = !chunked && left < room ? (size_t)left : room;
        ssize_t n = want ? body_read(call, data, want) : 0;
        if (n < 0) return (int)n;
        if (!chunked) {
            if (n == 0 && left)
                return sockit__failmsg(-EIO, "http: the request body ended %llu bytes short of "
                                       "its length", (unsigned long long)left);
            if (n == 0) return 0;
            if ((r = send_all(call, k, data, (size_t)n)) < 0) return r;
            left -= (uint64_t)n;
            continue;
        }
        char head[CHUNK_HEAD + 1];
        int hl = snprintf(head, sizeof head, "%zx\r\n", (size_t)n);
        memcpy(data - hl, head, (size_t)hl);
        memcpy(data + n, "\r\n", 2);
        /* The last chunk is "0\r\n" and the empty trailer section's "\r\n". */
        if ((r = send_all(call, k, data - hl, (size_t)hl + (size_t)n + 2)) < 0)
            return r;
        if (n == 0) return 0;
    }
}
