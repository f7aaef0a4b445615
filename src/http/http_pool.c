/*
 * Blocking handlers: a bounded pool of threads, and the relay that lets them read and write
 * while the connection's worker loop keeps doing all socket I/O.
 *
 * A relayed call is an op on the pool thread's stack, posted to the worker's loop
 * (sockit_loop_post); the pool thread waits on the pool's condition until the worker completes
 * it. A read completes when body bytes arrive, a write once the queue is under stream_limit, so
 * a slow client holds its own pool thread and never the worker. When the connection ends, its
 * waiting op fails with -EPIPE and the request is detached (the pool frees it when the handler
 * returns). Once the workers are joined nothing completes ops any more: pool_stop marks the
 * pool so, and every wait ends with -EPIPE.
 */
#include "internal/core.h"
#include "internal/http_server.h"
#include "internal/server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OP_RESPOND, OP_START, OP_WRITE, OP_END, OP_READ, OP_DONE };

struct relay {
    int kind;
    sockit_http_req *r;
    int status;
    const char *ctype;
    struct sockit__body body;
    const void *p;
    size_t n;
    char *buf;
    ssize_t result;
    int done;
};

struct hpool {
    sockit_http_server *hs;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    sockit_http_req **q;
    size_t qcap, qhead, qn;
    pthread_t *tids;
    int nthreads;
    int stop, core_gone;
};

static __thread sockit_http_req *tl_req; /* the request whose handler runs on this thread */

int sockit__http_on_pool(const sockit_http_req *r) { return tl_req && tl_req == r; }

/* ---- the worker's side ----------------------------------------------------------------------- */

static void complete(struct hpool *p, struct relay *op, ssize_t result)
{
    pthread_mutex_lock(&p->mu);
    op->result = result;
    op->done = 1;
    pthread_cond_broadcast(&p->done);
    pthread_mutex_unlock(&p->mu);
}

void sockit__http_op_complete(sockit_http_req *r, ssize_t result)
{
    struct relay *op = r->op;
    if (!op) return;
    r->op = NULL;
    complete(r->hs->pool, op, result);
}

char *sockit__http_read_want(sockit_http_req *r, size_t *room)
{
    if (!r->op || r->op->kind != OP_READ) return NULL;
    *room = r->op->n;
    return r->op->buf;
}

void sockit__http_op_writable(sockit_http_req *r)
{
    if (r->op && r->op->kind == OP_WRITE) sockit__http_op_complete(r, 0);
}

/* The handler returned: answer for it if it did not, end what it streamed, then the request
 * finishes like any other (or is freed if its connection is gone). */
static void handler_done(sockit_http_req *r, int rc)
{
    r->in_pool = 0;
    if (!r->hc) {
        sockit__http_req_free(r);
        return;
    }
    if (r->resp == R_NONE) {
        int status = r->body_err == SOCKIT_ETOOLONG ? 413 : r->body_err == -ETIMEDOUT ? 408
                     : r->body_err ? 400 : 500;
        if (rc < 0 || !r->body_err) {
            char msg[96];
            snprintf(msg, sizeof msg, "http: blocking handler returned %d without a response", rc);
            if (r->hs->cfg.log) r->hs->cfg.log(r->hs->cfg.user, msg);
        }
        sockit__http_error(r, status, NULL);
    } else if (r->resp == R_STREAM) {
        if (rc < 0) {
            sockit__http_no_keep(r);
            sockit_conn_abort(r->c);
            sockit__http_resp_done(r);
        } else {
            sockit__http_end_loop(r);
        }
    } else if (r->resp != R_HELD) { /* a held answer goes out when the body has ended */
        sockit__http_resp_done(r); /* finishes the request now that the pool let go of it */
    }
}

static void run_op(sockit_loop *loop, void *arg)
{
    struct relay *op = arg;
    sockit_http_req *r = op->r;
    struct hpool *p = r->hs->pool;
    (void)loop;
    if (op->kind == OP_DONE) {
        handler_done(r, (int)op->result);
        complete(p, op, 0);
        return;
    }
    if (!r->hc || r->hc->dying) {
        if (op->kind == OP_RESPOND) {
            if (op->body.release) op->body.release(op->body.arg);
            if (op->body.fd >= 0) close(op->body.fd);
        }
        complete(p, op, sockit__failmsg(-EPIPE, "http: the connection is gone"));
        return;
    }
    switch (op->kind) {
    case OP_RESPOND: complete(p, op, sockit__http_respond_loop(r, op->status, op->ctype, &op->body)); return;
    case OP_START: complete(p, op, sockit__http_start_loop(r, op->status)); return;
    case OP_END: complete(p, op, sockit__http_end_loop(r)); return;
    case OP_WRITE: {
        int rc = sockit__http_write_loop(r, op->p, op->n);
        if (rc == SOCKIT_HTTP_FULL) { /* taken; the handler waits until the queue drains */
            r->op = op;
            sockit_conn_want_writable(r->c);
            return;
        }
        complete(p, op, rc);
        return;
    }
    case OP_READ:
        if (r->body == B_DONE) {
            complete(p, op, r->body_err);
            return;
        }
        r->op = op;
        sockit__http_body_want(r, B_READ); /* sends 100 Continue the first time; resumes reading */
        return;
    }
}

/* ---- the pool thread's side ------------------------------------------------------------------- */

/* Posts op to the request's worker and waits for it. -EPIPE when the workers are gone. */
static ssize_t relay(struct hpool *p, struct relay *op)
{
    sockit_http_req *r = op->r;
    op->done = 0;
    pthread_mutex_lock(&p->mu);
    int gone = p->core_gone;
    pthread_mutex_unlock(&p->mu);
    if (gone || sockit_loop_post(r->loop, run_op, op) < 0) return sockit__failmsg(-EPIPE, "http: the server has stopped");
    pthread_mutex_lock(&p->mu);
    while (!op->done && !p->core_gone) pthread_cond_wait(&p->done, &p->mu);
    int done = op->done;
    pthread_mutex_unlock(&p->mu);
    if (!done) return sockit__failmsg(-EPIPE, "http: the server has stopped");
    if (op->result < 0) sockit__failmsg((int)op->result, "http: %s", sockit_strerror((int)op->result));
    return op->result;
}

int sockit__http_relay_respond(sockit_http_req *r, int status, const char *ctype, const struct sockit__body *b)
{
    struct relay op = {.kind = OP_RESPOND, .r = r, .status = status, .ctype = ctype, .body = *b};
    ssize_t rc = relay(r->hs->pool, &op);
    if (rc == -EPIPE && !op.done) { /* never reached the worker: release here */
        if (b->release) b->release(b->arg);
        if (b->fd >= 0) close(b->fd);
    }
    return (int)rc;
}

int sockit__http_relay_start(sockit_http_req *r, int status)
{
    struct relay op = {.kind = OP_START, .r = r, .status = status};
    return (int)relay(r->hs->pool, &op);
}

int sockit__http_relay_write(sockit_http_req *r, const void *data, size_t len)
{
    struct relay op = {.kind = OP_WRITE, .r = r, .p = data, .n = len};
    return (int)relay(r->hs->pool, &op);
}

int sockit__http_relay_end(sockit_http_req *r)
{
    struct relay op = {.kind = OP_END, .r = r};
    return (int)relay(r->hs->pool, &op);
}

ssize_t sockit__http_relay_read(sockit_http_req *r, void *buf, size_t len)
{
    if (!len) return 0;
    struct relay op = {.kind = OP_READ, .r = r, .buf = buf, .n = len};
    return relay(r->hs->pool, &op);
}

static void run_handler(struct hpool *p, sockit_http_req *r)
{
    tl_req = r;
    int rc = r->route->fn(r, r->route->arg);
    tl_req = NULL;
    struct relay op = {.kind = OP_DONE, .r = r, .result = rc};
    if (relay(p, &op) < 0 && !op.done) sockit__http_req_free(r); /* the workers are gone */
}

static void *pool_main(void *arg)
{
    struct hpool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->qn && !p->stop) pthread_cond_wait(&p->work, &p->mu);
        if (p->stop) break;
        sockit_http_req *r = p->q[p->qhead];
        p->qhead = (p->qhead + 1) % p->qcap;
        p->qn--;
        pthread_mutex_unlock(&p->mu);
        run_handler(p, r);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int sockit__http_pool_submit(sockit_http_server *hs, sockit_http_req *r)
{
    struct hpool *p = hs->pool;
    pthread_mutex_lock(&p->mu);
    int ok = !p->stop && p->qn < p->qcap;
    if (ok) {
        p->q[(p->qhead + p->qn) % p->qcap] = r;
        p->qn++;
        r->in_pool = 1;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->mu);
    return ok ? 0 : -EBUSY;
}

int sockit__http_pool_new(sockit_http_server *hs)
{
    struct hpool *p = calloc(1, sizeof *p);
    if (!p) return sockit__fail(-ENOMEM, "http pool");
    p->hs = hs;
    /* Waiting requests: the queue, plus one per thread that is between two of them. */
    p->qcap = (size_t)hs->cfg.blocking_queue;
    p->q = calloc(p->qcap, sizeof *p->q);
    p->tids = calloc((size_t)hs->cfg.blocking_threads, sizeof *p->tids);
    if (!p->q || !p->tids) {
        free(p->q);
        free(p->tids);
        free(p);
        return sockit__fail(-ENOMEM, "http pool");
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    hs->pool = p;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old); /* signals go to the program's threads, not these */
    for (int i = 0; i < hs->cfg.blocking_threads; i++) {
        int e = pthread_create(&p->tids[i], NULL, pool_main, p);
        if (e) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            sockit__http_pool_stop(hs);
            return sockit__fail(-e, "http pool: thread %d", i);
        }
        p->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}

void sockit__http_pool_stop(sockit_http_server *hs)
{
    struct hpool *p = hs->pool;
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = p->core_gone = 1;
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->done);
    /* Requests that never reached a thread: their connections are gone (the workers closed
     * them and detached the requests). */
    while (p->qn) {
        sockit__http_req_free(p->q[p->qhead]);
        p->qhead = (p->qhead + 1) % p->qcap;
        p->qn--;
    }
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->tids[i], NULL);
    p->nthreads = 0;
}

void sockit__http_pool_free(sockit_http_server *hs)
{
    struct hpool *p = hs->pool;
    if (!p) return;
    sockit__http_pool_stop(hs);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p->q);
    free(p->tids);
    free(p);
    hs->pool = NULL;
}
