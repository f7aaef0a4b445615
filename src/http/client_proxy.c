/*
 * The HTTP client's proxies: parsing a proxy URL, choosing the proxy for a host (no_proxy), and
 * the CONNECT tunnel that carries HTTPS through an HTTP proxy.
 */
#include "internal/http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int sockit__hc_proxy_parse(hc_proxy *p, const char *url)
{
    char buf[1024];
    sockit_url u;
    memset(p, 0, sizeof *p);
    if (!url || !*url) return 0;
    /* "host:port" without a scheme is how many environments write it. */
    if (!strstr(url, "://")) {
        if (snprintf(buf, sizeof buf, "http://%s", url) >= (int)sizeof buf) return -EINVAL;
        url = buf;
    }
    if (sockit_url_parse(&u, url, strlen(url)) < 0 || !sockit_url_is(&u, "http") || !u.host.p ||
        !u.host.n || u.host.n >= sizeof p->host)
        return sockit__failmsg(-EINVAL, "http: proxy %.200s: only http://host[:port] proxies "
                               "are supported", url);
    memcpy(p->host, u.host.p, u.host.n);
    snprintf(p->port, sizeof p->port, "%d", u.port_num > 0 ? u.port_num : 80);
    if (u.user.p && u.user.n) {
        char user[256], pass[256], b64[700];
        ssize_t ul = sockit_url_decode(user, sizeof user, u.user.p, u.user.n, 0);
        ssize_t pl = u.password.p ? sockit_url_decode(pass, sizeof pass, u.password.p, u.password.n, 0) : 0;
        if (ul < 0 || pl < 0 || sockit__hc_basic(b64, sizeof b64, user, (size_t)ul, pass, (size_t)pl) < 0)
            return sockit__failmsg(-EINVAL, "http: proxy %.200s: bad user name or password", url);
        snprintf(p->auth, sizeof p->auth, "Basic %s", b64);
    }
    return 0;
}

/* 1 if host matches an entry of the no_proxy list: "*", the host itself, or a domain suffix
 * ("example.org" and ".example.org" both match "www.example.org"). Case-insensitive; a ":port" in
 * an entry is ignored. */
static int no_proxy_match(const char *list, const char *host)
{
    size_t hl = strlen(host);
    while (list && *list) {
        while (*list == ',' || *list == ' ' || *list == '\t') list++;
        const char *s = list;
        while (*list && *list != ',' && *list != ' ' && *list != '\t') list++;
        size_t n = (size_t)(list - s);
        const char *colon = memchr(s, ':', n);
        if (colon && !memchr(colon + 1, ':', n - (size_t)(colon + 1 - s))) n = (size_t)(colon - s);
        if (n == 1 && *s == '*') return 1;
        if (n && *s == '.') s++, n--;
        if (!n || n > hl) continue;
        if (!strncasecmp(host + hl - n, s, n) && (n == hl || host[hl - n - 1] == '.')) return 1;
    }
    return 0;
}

const hc_proxy *sockit__hc_proxy_for(const sockit_http_client *c, int https, const char *host)
{
    const hc_proxy *p = https ? &c->https_proxy : &c->http_proxy;
    if (!p->host[0]) return NULL;
    if (c->no_proxy && no_proxy_match(c->no_proxy, host)) return NULL;
    return p;
}

int sockit__hc_connect_tunnel(hc_call *call, hc_conn *k, const hc_proxy *px, const char *host,
                              const char *port)
{
    char req[1400], hp[300];
    int v6 = strchr(host, ':') != NULL;
    snprintf(hp, sizeof hp, "%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
    const char *ua = call->c->o.user_agent;
    int n = snprintf(req, sizeof req, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s%s%s%s%s%s\r\n", hp,
                     hp, *ua ? "User-Agent: " : "", ua, *ua ? "\r\n" : "",
                     px->auth[0] ? "Proxy-Authorization: " : "", px->auth, px->auth[0] ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof req) return sockit__failmsg(-EINVAL, "http: CONNECT request too long");
    if (call->req->trace) call->req->trace(call->req->trace_arg, 1, req, (size_t)n);
    unsigned mark = sockit__errmark();
    int r = sockit__sendall_dl(k->s, req, (size_t)n, 0, NULL, call->deadline);
    if (r < 0) return sockit__fail_ctx(mark, r, "http: sending CONNECT to proxy %s:%s", px->host, px->port);
    const char *saved = call->method;
    call->method = "CONNECT";
    int got = 0;
    int status = sockit__hc_read_head(call, k, &got, 0, call->deadline);
    call->method = saved;
    if (status < 0) return status;
    if (status < 200 || status > 299)
        return sockit__failmsg(SOCKIT_EPROTO, "http: proxy %s:%s refused CONNECT to %s: %d %s",
                               px->host, px->port, hp, status, call->resp->reason);
    return 0;
}
