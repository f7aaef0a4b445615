/*
 * The HTTP server object: its config with the limits' defaults, the route table, the life cycle
 * (over the server core's) and the Common Log Format helper.
 */
#include "internal/core.h"
#include "internal/http_server.h"
#include "internal/server.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SECS (86400.0 * 365)
#define MAX_HEADERS_CAP 10000
#define MAX_TARGET_CAP (1u << 20)
#define MAX_HEADER_BYTES_CAP (1u << 24)

static double secs_or(double t, double dflt)
{
    if (!(t > 0) || isnan(t)) return dflt;
    return t > MAX_SECS ? MAX_SECS : t;
}

static void apply_defaults(sockit_http_config *c)
{
    c->header_timeout = secs_or(c->header_timeout, SOCKIT_HTTP_HEADER_TIMEOUT);
    c->idle_timeout = secs_or(c->idle_timeout, SOCKIT_HTTP_IDLE_TIMEOUT);
    c->body_timeout = secs_or(c->body_timeout, SOCKIT_HTTP_BODY_TIMEOUT);
    c->send_timeout = secs_or(c->send_timeout, SOCKIT_HTTP_SEND_TIMEOUT);
    if (!c->max_header_bytes) c->max_header_bytes = SOCKIT_HTTP_MAX_HEADER_BYTES;
    if (c->max_header_bytes > MAX_HEADER_BYTES_CAP) c->max_header_bytes = MAX_HEADER_BYTES_CAP;
    if (!c->max_headers) c->max_headers = SOCKIT_HTTP_MAX_HEADERS;
    if (c->max_headers > MAX_HEADERS_CAP) c->max_headers = MAX_HEADERS_CAP;
    if (!c->max_target) c->max_target = SOCKIT_HTTP_MAX_TARGET;
    if (c->max_target > MAX_TARGET_CAP) c->max_target = MAX_TARGET_CAP;
    if (!c->max_body) c->max_body = SOCKIT_HTTP_MAX_BODY;
    if (!c->max_requests_per_conn) c->max_requests_per_conn = SOCKIT_HTTP_MAX_REQUESTS;
    if (!c->max_pipelined) c->max_pipelined = SOCKIT_HTTP_MAX_PIPELINED;
    if (c->blocking_threads <= 0) c->blocking_threads = SOCKIT_HTTP_BLOCKING_THREADS;
    if (c->blocking_threads > SOCKIT_SERVER_MAX_THREADS) c->blocking_threads = SOCKIT_SERVER_MAX_THREADS;
    if (c->blocking_queue <= 0) c->blocking_queue = SOCKIT_HTTP_BLOCKING_QUEUE;
    if (c->blocking_queue > 1 << 20) c->blocking_queue = 1 << 20;
    if (!c->retry_after) c->retry_after = 1;
    if (!c->stream_limit) c->stream_limit = SOCKIT_HTTP_STREAM_LIMIT;
    if (c->stream_limit > (size_t)1 << 30) c->stream_limit = (size_t)1 << 30;
}

static char *dup_or_null(const char *s, int *failed)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *failed = 1;
    return d;
}

static int core_new(sockit_http_server *hs)
{
    const sockit_http_config *c = &hs->cfg;
    sockit_server_config sc = {0};
    sc.host = c->host;
    sc.port = c->port;
    sc.family = c->family;
    sc.workers = c->workers;
    sc.max_conns = c->max_conns;
    sc.backlog = c->backlog;
    sc.stop_grace = c->stop_grace;
    /* Our own timer does the idle, header and body deadlines; the core's "no traffic at all"
     * sweep is the send timeout's backstop, and it waits for a first request as we do. With
     * TLS, the core's first-byte deadline also covers the handshake (run before on_open, so
     * before our timer exists): a half-done handshake holds ~46 KB of OpenSSL state, so it is
     * bounded by header_timeout, like a half-sent head. */
    sc.idle_timeout = c->send_timeout;
    sc.first_byte_timeout = c->idle_timeout;
    if (c->tls && c->header_timeout > 0 && c->header_timeout < c->idle_timeout)
        sc.first_byte_timeout = c->header_timeout;
    sc.out_limit = c->stream_limit;
    sc.in_limit = c->max_header_bytes + 64 * 1024;
    sc.conn_state_size = sizeof(struct hconn);
    sc.cbs = &sockit__http_cbs;
    sc.user = hs;
    sc.tls = c->tls;
    sc.log = c->log;
    return sockit_server_new(&hs->srv, &sc);
}

int sockit_http_server_new(sockit_http_server **out, const sockit_http_config *cfg)
{
    if (!out || !cfg) return sockit__failmsg(-EINVAL, "http server: NULL %s", out ? "config" : "out");
    sockit_http_server *hs = calloc(1, sizeof *hs);
    if (!hs) return sockit__fail(-ENOMEM, "http server");
    hs->cfg = *cfg;
    apply_defaults(&hs->cfg);
    int failed = 0;
    hs->host = dup_or_null(cfg->host, &failed);
    hs->port = dup_or_null(cfg->port, &failed);
    hs->server_name = dup_or_null(cfg->server_name, &failed);
    hs->cfg.host = hs->host;
    hs->cfg.port = hs->port;
    hs->cfg.server_name = hs->server_name;
    int r;
    if (failed) {
        r = sockit__fail(-ENOMEM, "http server");
        goto fail;
    }
    const char *name = cfg->server_name ? cfg->server_name : "sockit/" SOCKIT_VERSION;
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            r = sockit__failmsg(-EINVAL, "http server: a control byte in server_name");
            goto fail;
        }
    if (*name) {
        int n = snprintf(hs->server_line, sizeof hs->server_line, "Server: %s\r\n", name);
        if (n < 0 || (size_t)n >= sizeof hs->server_line) {
            r = sockit__failmsg(-EINVAL, "http server: server_name longer than 100 bytes");
            goto fail;
        }
        hs->server_line_len = (size_t)n;
    }
    if ((r = core_new(hs)) < 0) goto fail;
    *out = hs;
    return 0;
fail:
    sockit_http_server_free(hs);
    return r;
}

int sockit_http_server_addr(const sockit_http_server *hs, sockit_addr *out)
{
    return sockit_server_addr(hs->srv, out);
}

static int has_blocking(const sockit_http_server *hs)
{
    for (size_t i = 0; i < hs->nroutes; i++)
        if (hs->routes[i].blocking) return 1;
    return 0;
}

static int prepare(sockit_http_server *hs)
{
    if (hs->started) return sockit__failmsg(-EALREADY, "http server: already started");
    if (has_blocking(hs) && !hs->pool) {
        int r = sockit__http_pool_new(hs);
        if (r < 0) return r;
    }
    hs->started = 1;
    return 0;
}

int sockit_http_server_start(sockit_http_server *hs)
{
    int r = prepare(hs);
    return r < 0 ? r : sockit_server_start(hs->srv);
}

void sockit_http_server_stop(sockit_http_server *hs) { sockit_server_stop(hs->srv); }

int sockit_http_server_wait(sockit_http_server *hs)
{
    int r = sockit_server_wait(hs->srv);
    sockit__http_pool_stop(hs);
    return r;
}

int sockit_http_server_run(sockit_http_server *hs)
{
    int r = prepare(hs);
    if (r < 0) return r;
    r = sockit_server_run(hs->srv);
    sockit__http_pool_stop(hs);
    return r;
}

void sockit_http_server_free(sockit_http_server *hs)
{
    if (!hs) return;
    if (hs->srv) {
        sockit_server_free(hs->srv); /* stops and joins a server still running */
        sockit__http_pool_stop(hs);
    }
    sockit__http_pool_free(hs);
    for (size_t i = hs->ncleanups; i-- > 0;) hs->cleanups[i].fn(hs->cleanups[i].arg);
    free(hs->cleanups);
    for (size_t i = 0; i < hs->nroutes; i++) {
        free(hs->routes[i].method);
        free(hs->routes[i].pattern);
    }
    free(hs->routes);
    free(hs->host);
    free(hs->port);
    free(hs->server_name);
    free(hs);
}

void sockit__http_req_free(sockit_http_req *r)
{
    if (!r) return;
    free(r->keep);
    free(r->rh);
    free(r);
}

void *sockit_http_server_user(const sockit_http_server *hs) { return hs->cfg.user; }

int sockit__http_on_free(sockit_http_server *hs, void (*fn)(void *arg), void *arg)
{
    struct cleanup *n = realloc(hs->cleanups, (hs->ncleanups + 1) * sizeof *n);
    if (!n) return sockit__fail(-ENOMEM, "http server");
    hs->cleanups = n;
    hs->cleanups[hs->ncleanups++] = (struct cleanup){fn, arg};
    return 0;
}

/* ---- routes ---------------------------------------------------------------------------------- */

static int is_token(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!sockit__http_tchar((unsigned char)*s)) return 0;
    return 1;
}

int sockit_http_route_ex(sockit_http_server *hs, const char *method, const char *pattern,
                         sockit_http_handler handler, void *arg, const sockit_http_route_opts *opts)
{
    if (!hs || !pattern || !handler)
        return sockit__failmsg(-EINVAL, "http route: NULL %s", !hs ? "server" : !pattern ? "pattern" : "handler");
    if (hs->started) return sockit__failmsg(-EBUSY, "http route %s: the server has started", pattern);
    if (pattern[0] != '/' && strcmp(pattern, "*") != 0)
        return sockit__failmsg(-EINVAL, "http route %s: a pattern starts with '/' (or is \"*\")", pattern);
    if (method && !is_token(method))
        return sockit__failmsg(-EINVAL, "http route %s: method \"%s\" is not a token", pattern, method);
    if (hs->nroutes == hs->cap) {
        size_t cap = hs->cap ? hs->cap * 2 : 8;
        struct route *n = realloc(hs->routes, cap * sizeof *n);
        if (!n) return sockit__fail(-ENOMEM, "http route");
        hs->routes = n;
        hs->cap = cap;
    }
    size_t plen = strlen(pattern);
    struct route rt = {0};
    rt.prefix = pattern[plen - 1] == '*';
    rt.plen = rt.prefix ? plen - 1 : plen;
    rt.pattern = strndup(pattern, rt.plen);
    rt.method = method ? strdup(method) : NULL;
    rt.fn = handler;
    rt.arg = arg;
    if (opts) {
        rt.blocking = opts->blocking != 0;
        rt.max_body = opts->max_body;
    }
    if (!rt.max_body) rt.max_body = hs->cfg.max_body;
    if (!rt.pattern || (method && !rt.method)) {
        free(rt.pattern);
        free(rt.method);
        return sockit__fail(-ENOMEM, "http route");
    }
    hs->routes[hs->nroutes++] = rt;
    return 0;
}

int sockit_http_route(sockit_http_server *hs, const char *method, const char *pattern,
                      sockit_http_handler handler, void *arg)
{
    return sockit_http_route_ex(hs, method, pattern, handler, arg, NULL);
}

int sockit_http_route_blocking(sockit_http_server *hs, const char *method, const char *pattern,
                               sockit_http_handler handler, void *arg)
{
    sockit_http_route_opts o = {.blocking = 1};
    return sockit_http_route_ex(hs, method, pattern, handler, arg, &o);
}

int sockit_http_default(sockit_http_server *hs, sockit_http_handler handler, void *arg)
{
    if (!hs) return sockit__failmsg(-EINVAL, "http default: NULL server");
    if (hs->started) return sockit__failmsg(-EBUSY, "http default: the server has started");
    hs->def = handler;
    hs->def_arg = arg;
    return 0;
}

/* ---- Common Log Format ------------------------------------------------------------------------- */

/* Runs once per request when the command logs: built with copies and a per-thread cache of the
 * formatted second, not snprintf and strftime. */

struct out {
    char *buf;
    size_t len, n;
};

static void put(struct out *o, const char *s, size_t k)
{
    if (o->n + 1 < o->len) {
        size_t room = o->len - 1 - o->n;
        memcpy(o->buf + o->n, s, k < room ? k : room);
    }
    o->n += k;
}

static void put_u64(struct out *o, uint64_t v)
{
    char tmp[20];
    size_t n = sizeof tmp;
    do tmp[--n] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    put(o, tmp + n, sizeof tmp - n);
}

/* A request string, with control bytes, '"', '\\' and bytes >= 0x7f escaped as \xNN. */
static void put_escaped(struct out *o, sockit_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!s.p) {
        put(o, "-", 1);
        return;
    }
    size_t run = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') continue;
        put(o, s.p + run, i - run);
        char e[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
        put(o, e, 4);
        run = i + 1;
    }
    put(o, s.p + run, s.n - run);
}

/* " - - [30/Nov/2026:21:44:16 +0000] \"" for t, formatted once per second per thread. */
static const char *clf_date(int64_t t, size_t *n)
{
    static __thread int64_t last = INT64_MIN;
    static __thread char cached[48];
    static __thread size_t len;
    if (t != last) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        len = strftime(cached, sizeof cached, " - - [%d/%b/%Y:%H:%M:%S +0000] \"", &tm);
        last = t;
    }
    *n = len;
    return cached;
}

size_t sockit_http_log_format(const sockit_http_log_entry *e, char *buf, size_t len)
{
    struct out o = {buf, len, 0};
    char tmp[SOCKIT_ADDRSTRLEN + 64];
    const char *host = "-";
    if (e->peer) {
        sockit_addr_format(e->peer, tmp, sizeof tmp);
        host = tmp;
        /* CLF's host is the address alone: drop ":port" (and the brackets of IPv6). */
        char *colon = strrchr(tmp, ':');
        if (tmp[0] == '[' && colon && colon[-1] == ']') {
            colon[-1] = 0;
            host = tmp + 1;
        } else if (colon && e->peer->sa.ss_family == AF_INET) {
            *colon = 0;
        }
    }
    put(&o, host, strlen(host));
    size_t dn;
    const char *date = clf_date(e->time, &dn);
    put(&o, date, dn);
    put_escaped(&o, e->method);
    put(&o, " ", 1);
    put_escaped(&o, e->target);
    if (e->version) {
        char v[10] = {' ', 'H', 'T', 'T', 'P', '/', (char)('0' + e->version / 10 % 10), '.',
                      (char)('0' + e->version % 10), '"'};
        put(&o, v, sizeof v);
    } else {
        put(&o, "\"", 1);
    }
    if (e->status) {
        put(&o, " ", 1);
        put_u64(&o, (uint64_t)e->status);
        put(&o, " ", 1);
        if (e->bytes) put_u64(&o, e->bytes);
        else put(&o, "-", 1); /* CLF: "-" for no body bytes */
    } else {
        put(&o, " - -", 4);
    }
    if (len) buf[o.n < len ? o.n : len - 1] = 0;
    return o.n;
}
