/*
 * The HTTP client's public calls (include/sockit/http_client.h). A first stub: every call
 * answers -ENOSYS until the implementation lands.
 */
#include <sockit/http_client.h>

#include "internal/core.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int sockit_http_client_new(sockit_http_client **out, const sockit_http_client_opts *opts)
{
    (void)opts;
    if (out)
        *out = NULL;
    return sockit__failmsg(-ENOSYS, "http client: not implemented yet");
}

void sockit_http_client_free(sockit_http_client *c) { (void)c; }
void sockit_http_client_close_idle(sockit_http_client *c) { (void)c; }

int sockit_http_client_do(sockit_http_client *c, const sockit_http_client_req *req,
                          sockit_http_resp *resp)
{
    (void)c, (void)req, (void)resp;
    return sockit__failmsg(-ENOSYS, "http client: not implemented yet");
}

const char *sockit_http_resp_header(const sockit_http_resp *resp, const char *name)
{
    size_t pos = 0;
    return sockit_http_resp_header_next(resp, name, &pos);
}

const char *sockit_http_resp_header_next(const sockit_http_resp *resp, const char *name,
                                         size_t *pos)
{
    if (!resp || !name || !pos)
        return NULL;
    for (; *pos < resp->nheaders; ++*pos)
        if (strcasecmp(resp->headers[*pos].name, name) == 0)
            return resp->headers[(*pos)++].value;
    return NULL;
}

void sockit_http_resp_free(sockit_http_resp *resp)
{
    if (resp)
        memset(resp, 0, sizeof *resp);
}

int sockit_http_get(const char *url, sockit_http_resp *resp) { (void)url, (void)resp; return -ENOSYS; }
int sockit_http_head(const char *url, sockit_http_resp *resp) { (void)url, (void)resp; return -ENOSYS; }
int sockit_http_delete(const char *url, sockit_http_resp *resp) { (void)url, (void)resp; return -ENOSYS; }
int sockit_http_post(const char *url, const char *ct, const void *b, size_t n, sockit_http_resp *r)
{
    (void)url, (void)ct, (void)b, (void)n, (void)r;
    return -ENOSYS;
}
int sockit_http_put(const char *url, const char *ct, const void *b, size_t n, sockit_http_resp *r)
{
    (void)url, (void)ct, (void)b, (void)n, (void)r;
    return -ENOSYS;
}
