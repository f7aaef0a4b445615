/*
 * Host names through the system resolver, within a deadline.
 *
 * getaddrinfo() cannot be interrupted or bounded. With a deadline, the lookup runs on a detached
 * helper thread that shares a reference-counted job with the caller; if the deadline passes the
 * caller drops its reference and returns -ETIMEDOUT, and the helper frees the job whenever the
 * resolver finally answers. Nothing waits for a hung resolver.
 */
#include "internal/core.h"

#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct lookup {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs, done;
    int rc, err;
    char *host;
    struct addrinfo hints;
    struct addrinfo *res;
};

/* Helper threads between the start and the end of their lookup; the lock and condition let
 * sockit__lookups_wait sleep until the count drops (tests only: nothing in the library waits). */
static _Atomic int running;
static pthread_mutex_t running_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t running_cv = PTHREAD_COND_INITIALIZER;

int sockit__lookups_running(void) { return atomic_load(&running); }

int sockit__lookups_wait(double seconds)
{
    int64_t deadline = sockit__deadline(seconds);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* the default condition clock */
    int64_t left = deadline == SOCKIT__NEVER ? (int64_t)3600 * 1000000000 : deadline - sockit__now();
    if (left < 0) left = 0;
    ts.tv_sec += left / 1000000000;
    ts.tv_nsec += left % 1000000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&running_mu);
    while (atomic_load(&running) > 0 && pthread_cond_timedwait(&running_cv, &running_mu, &ts) != ETIMEDOUT) {}
    pthread_mutex_unlock(&running_mu);
    return atomic_load(&running);
}

static void running_done(void)
{
    pthread_mutex_lock(&running_mu);
    if (atomic_fetch_sub(&running, 1) == 1) pthread_cond_broadcast(&running_cv);
    pthread_mutex_unlock(&running_mu);
}

static void lookup_unref(struct lookup *l)
{
    pthread_mutex_lock(&l->mu);
    int left = --l->refs;
    pthread_mutex_unlock(&l->mu);
    if (left) return;
    if (l->res) freeaddrinfo(l->res);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l->host);
    free(l);
}

static void *lookup_run(void *arg)
{
    struct lookup *l = arg;
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(l->host, NULL, &l->hints, &res);
    int err = errno;
    pthread_mutex_lock(&l->mu);
    l->rc = rc;
    l->err = err;
    l->res = res;
    l->done = 1;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    lookup_unref(l);
    running_done();
    return NULL;
}

static struct lookup *lookup_new(const char *host, const struct addrinfo *hints)
{
    struct lookup *l = calloc(1, sizeof *l);
    if (!l || !(l->host = strdup(host))) {
        free(l);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&l->mu, NULL);
    l->hints = *hints;
    l->refs = 2; /* the caller and the helper */
    return l;
}

/* Starts the helper with every signal blocked, so it never takes a signal meant for the caller. */
static int lookup_start(struct lookup *l)
{
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    atomic_fetch_add(&running, 1);
    int r = pthread_create(&tid, &attr, lookup_run, l);
    if (r) running_done();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return -r;
}

/* Runs getaddrinfo bounded by the deadline. Returns its EAI code (0 on success), or
 * EAI_SYSTEM with errno ETIMEDOUT when the deadline passed first. */
static int timed_getaddrinfo(const char *host, const struct addrinfo *hints,
                             struct addrinfo **res, int64_t deadline)
{
    if (deadline == SOCKIT__NEVER) return getaddrinfo(host, NULL, hints, res);
    if (deadline <= sockit__now()) { /* passed already (or "do not wait"): no lookup to race */
        errno = ETIMEDOUT;
        return EAI_SYSTEM;
    }
    struct lookup *l = lookup_new(host, hints);
    if (!l) {
        errno = ENOMEM;
        return EAI_SYSTEM;
    }
    if (lookup_start(l) < 0) { /* no thread to be had: resolve here, unbounded but correct */
        l->refs = 1;
        lookup_unref(l);
        return getaddrinfo(host, NULL, hints, res);
    }
    struct timespec ts = {.tv_sec = deadline / 1000000000, .tv_nsec = deadline % 1000000000};
    pthread_mutex_lock(&l->mu);
    while (!l->done && pthread_cond_timedwait(&l->cv, &l->mu, &ts) != ETIMEDOUT) {}
    int rc = EAI_SYSTEM, err = ETIMEDOUT;
    if (l->done) {
        rc = l->rc;
        err = l->err;
        *res = l->res;
        l->res = NULL;
    }
    pthread_mutex_unlock(&l->mu);
    lookup_unref(l);
    errno = err;
    return rc;
}

static int resolve_error(int rc, const char *host, const char *port)
{
    char qh[96], qp[96];
    const char *where = port && *port ? " port " : "";
    const char *ptext = port && *port ? sockit__quote(port, qp, sizeof qp) : "";
    sockit__quote(host, qh, sizeof qh);
    switch (rc) {
    case EAI_SYSTEM:
        if (errno == ETIMEDOUT)
            return sockit__failmsg(-ETIMEDOUT, "resolve %s%s%s: timed out", qh, where, ptext);
        return sockit__fail(-errno, "resolve %s%s%s", qh, where, ptext);
    case EAI_MEMORY:
        return sockit__fail(-ENOMEM, "resolve %s%s%s", qh, where, ptext);
    case EAI_FAMILY:
        return sockit__failmsg(SOCKIT_EBADADDR, "resolve %s%s%s: %s", qh, where, ptext, gai_strerror(rc));
    default:
        return sockit__failmsg(SOCKIT_ENOHOST, "resolve %s%s%s: %s", qh, where, ptext, gai_strerror(rc));
    }
}

static int contains(const sockit_addr *out, int n, const sockit_addr *a)
{
    for (int i = 0; i < n; i++)
        if (sockit_addr_equal(&out[i], a)) return 1;
    return 0;
}

int sockit__resolve_name(const char *host, const char *port_text, uint16_t port, int family,
                         int type, int passive, sockit_addr *out, size_t max, int64_t deadline)
{
    struct addrinfo hints = {.ai_family = family, .ai_socktype = type,
                             .ai_flags = passive ? AI_PASSIVE : 0};
    struct addrinfo *res = NULL;
    int rc = timed_getaddrinfo(host, &hints, &res, deadline);
    if (rc != 0) return resolve_error(rc, host, port_text);
    int n = 0;
    for (struct addrinfo *ai = res; ai && (size_t)n < max; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof out[n].sa)
            continue;
        sockit_addr a = {0};
        memcpy(&a.sa, ai->ai_addr, ai->ai_addrlen);
        a.len = ai->ai_addrlen;
        if (ai->ai_family == AF_INET) ((struct sockaddr_in *)&a.sa)->sin_port = htons(port);
        else ((struct sockaddr_in6 *)&a.sa)->sin6_port = htons(port);
        if (!contains(out, n, &a)) out[n++] = a;
    }
    freeaddrinfo(res);
    if (n == 0) return resolve_error(EAI_NONAME, host, port_text);
    return n;
}
