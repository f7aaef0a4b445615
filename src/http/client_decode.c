/*
 * The HTTP client's body decoding: gzip (also x-gzip, and several gzip members in a row) and
 * deflate (zlib-wrapped as RFC 9110 says, or raw as some servers send it), through zlib. Transfer
 * codings before chunked ("gzip, chunked") are always undone (they are the message's framing);
 * Content-Encoding only when the caller asked (accept_encoding). The decoded size is bounded
 * (max_decoded) so a small body cannot expand without limit.
 */
#include "internal/http_client.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The coding of a header value: 0 none/identity, 1 gzip, 2 deflate, -1 other or several.
 * chunked is skipped. */
static int coding_of(const char *v)
{
    int kind = 0, count = 0;
    while (v && *v) {
        while (*v == ' ' || *v == '\t' || *v == ',') v++;
        const char *s = v;
        while (*v && *v != ',' && *v != ' ' && *v != '\t' && *v != ';') v++;
        size_t n = (size_t)(v - s);
        while (*v && *v != ',') v++; /* parameters */
        if (n == 0 || (n == 7 && !strncasecmp(s, "chunked", 7)) ||
            (n == 8 && !strncasecmp(s, "identity", 8)))
            continue;
        count++;
        if ((n == 4 && !strncasecmp(s, "gzip", 4)) || (n == 6 && !strncasecmp(s, "x-gzip", 6)))
            kind = 1;
        else if (n == 7 && !strncasecmp(s, "deflate", 7))
            kind = 2;
        else
            kind = -1;
    }
    return count > 1 ? -1 : kind;
}

/* The caller sent an Accept-Encoding of their own: then the body is theirs to decode. */
static int caller_accepts(const sockit_http_client_req *q)
{
    for (size_t i = 0; i < q->nheaders; i++)
        if (q->headers[i].name && !strcasecmp(q->headers[i].name, "accept-encoding"))
            return 1;
    return 0;
}

int sockit__hc_decode_setup(hc_call *call, int accept_encoding)
{
    sockit_http_resp *resp = call->resp;
    call->z_kind = 0;
    call->decoded = 0;
    if (call->framing == SOCKIT_HTTP_NO_BODY) return 0;
    /* Content-Length framing means no Transfer-Encoding (the parser refuses both): no search. */
    const char *te = call->framing == SOCKIT_HTTP_LENGTH ? NULL
                                                         : sockit_http_resp_header(resp, "transfer-encoding");
    int kind = te ? coding_of(te) : 0;
    if (kind < 0)
        return sockit__failmsg(SOCKIT_EPROTO, "http: a transfer coding this client cannot undo "
                               "(Transfer-Encoding: %.60s) from %s", te, call->url);
    if (!kind && accept_encoding && !caller_accepts(call->req)) {
        const char *ce = sockit_http_resp_header(resp, "content-encoding");
        kind = ce ? coding_of(ce) : 0;
        if (kind < 0) kind = 0; /* an unknown coding passes through untouched */
    }
    call->z_kind = kind;
    call->z_started = call->z_ended = 0;
    return 0;
}

/* Starts zlib for the first bytes of the body: gzip and zlib are told apart by zlib itself (32),
 * a deflate body that has no zlib header is raw deflate. */
static int z_start(hc_call *call, const unsigned char *data)
{
    int bits = 15 + 32;
    if (call->z_kind == 2 && !((data[0] & 0x0f) == 8 && (data[0] >> 4) <= 7))
        bits = -15;
    if (!call->zout && !(call->zout = malloc(HC_BUFSIZE)))
        return sockit__failmsg(-ENOMEM, "http: no memory for decoding");
    if (call->z_on) inflateEnd(&call->z);
    memset(&call->z, 0, sizeof call->z);
    if (inflateInit2(&call->z, bits) != Z_OK)
        return sockit__failmsg(-ENOMEM, "http: zlib: cannot start decoding");
    call->z_on = 1;
    call->z_started = 1;
    return 0;
}

static int bad_body(hc_call *call, const char *why)
{
    return sockit__failmsg(SOCKIT_EPROTO, "http: bad %s body from %s after %llu decoded bytes: %s",
                           call->z_kind == 1 ? "gzip" : "deflate", call->url,
                           (unsigned long long)call->decoded, why ? why : "corrupt data");
}

int sockit__hc_deliver(hc_call *call, const char *data, size_t n)
{
    if (!call->z_kind || call->sink_off) return sockit__hc_sink(call, data, n);
    if (n == 0) return 0;
    int r;
    if (!call->z_started && (r = z_start(call, (const unsigned char *)data)) < 0) return r;
    z_stream *z = &call->z;
    z->next_in = (Bytef *)data;
    z->avail_in = (uInt)n;
    int more = 1; /* zlib may hold output that did not fit: call again until it has none */
    while (z->avail_in || more) {
        if (call->z_ended) {
            /* Another gzip member may follow; anything else after the end is ignored. */
            if (!z->avail_in || call->z_kind != 1 || z->next_in[0] != 0x1f) return 0;
            inflateReset(z);
            call->z_ended = 0;
        }
        z->next_out = (Bytef *)call->zout;
        z->avail_out = HC_BUFSIZE;
        int zr = inflate(z, Z_NO_FLUSH);
        size_t out = HC_BUFSIZE - z->avail_out;
        more = z->avail_out == 0;
        if (zr == Z_BUF_ERROR && !out) {
            if (z->avail_in) return bad_body(call, "no progress");
            break;
        }
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
            return bad_body(call, z->msg);
        call->decoded += out;
        uint64_t max = call->c->o.max_decoded;
        if (call->decoded > max)
            return sockit__failmsg(SOCKIT_ETOOLONG, "http: the decoded body from %s is over %llu "
                                   "bytes (max_decoded; %llu bytes compressed so far)", call->url,
                                   (unsigned long long)max, (unsigned long long)call->body_got);
        if ((r = sockit__hc_sink(call, call->zout, out)) < 0) return r;
        if (zr == Z_STREAM_END) call->z_ended = 1;
    }
    return 0;
}

int sockit__hc_decode_finish(hc_call *call)
{
    if (!call->z_kind || call->sink_off) return 0;
    if (call->z_started && !call->z_ended)
        return bad_body(call, "the compressed stream ended early");
    return 0;
}

void sockit__hc_decode_free(hc_call *call)
{
    if (call->z_on) inflateEnd(&call->z);
    call->z_on = 0;
    free(call->zout);
    call->zout = NULL;
}
