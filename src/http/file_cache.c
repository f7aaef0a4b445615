/*
 * The static handler's open-file cache (internal/http_fcache.h): a fixed array of entries, a
 * chained hash table of indices over it, and a doubly linked LRU list. Everything is allocated
 * when the cache is made; a steady hit allocates nothing and makes no system call (the clock is
 * CLOCK_MONOTONIC_COARSE, read through the vDSO).
 */
#include "internal/core.h"
#include "internal/http_fcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NIL 0xffffffffu

struct sockit__fcache {
    unsigned cap, used, mask, valid_ms;
    unsigned head, tail;   /* LRU list: head the most recent */
    unsigned freelist;     /* unused entries, chained through next */
    unsigned *table;       /* mask + 1 buckets */
    sockit__fentry *e;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

sockit__fcache *sockit__fcache_new(unsigned cap, unsigned valid_ms)
{
    if (cap < 1) cap = 1;
    unsigned buckets = 1;
    while (buckets < cap * 2) buckets <<= 1;
    sockit__fcache *fc = calloc(1, sizeof *fc);
    if (!fc) return NULL;
    fc->table = malloc(buckets * sizeof *fc->table);
    fc->e = calloc(cap, sizeof *fc->e);
    if (!fc->table || !fc->e) {
        free(fc->table);
        free(fc->e);
        free(fc);
        return NULL;
    }
    fc->cap = cap;
    fc->mask = buckets - 1;
    fc->valid_ms = valid_ms;
    fc->head = fc->tail = NIL;
    for (unsigned i = 0; i < buckets; i++) fc->table[i] = NIL;
    for (unsigned i = 0; i < cap; i++) {
        fc->e[i].fd = -1;
        fc->e[i].next = i + 1 < cap ? i + 1 : NIL;
    }
    fc->freelist = 0;
    return fc;
}

static void lru_unlink(sockit__fcache *fc, unsigned i)
{
    sockit__fentry *e = &fc->e[i];
    if (e->prev != NIL) fc->e[e->prev].next = e->next; else fc->head = e->next;
    if (e->next != NIL) fc->e[e->next].prev = e->prev; else fc->tail = e->prev;
}

static void lru_front(sockit__fcache *fc, unsigned i)
{
    sockit__fentry *e = &fc->e[i];
    e->prev = NIL;
    e->next = fc->head;
    if (fc->head != NIL) fc->e[fc->head].prev = i;
    fc->head = i;
    if (fc->tail == NIL) fc->tail = i;
}

/* Unlinks entry i from its chain and the LRU list, closes its descriptor, frees its names. */
static void drop(sockit__fcache *fc, unsigned i)
{
    sockit__fentry *e = &fc->e[i];
    unsigned *pp = &fc->table[hash(e->key) & fc->mask];
    while (*pp != i) pp = &fc->e[*pp].hnext;
    *pp = e->hnext;
    lru_unlink(fc, i);
    close(e->fd);
    if (e->file != e->key) free(e->file);
    free(e->key);
    e->key = e->file = NULL;
    e->fd = -1;
    e->next = fc->freelist;
    fc->freelist = i;
    fc->used--;
}

void sockit__fcache_free(sockit__fcache *fc)
{
    if (!fc) return;
    while (fc->head != NIL) drop(fc, fc->head);
    free(fc->table);
    free(fc->e);
    free(fc);
}

static unsigned find(const sockit__fcache *fc, const char *key, unsigned h)
{
    unsigned i = fc->table[h & fc->mask];
    while (i != NIL && strcmp(fc->e[i].key, key) != 0) i = fc->e[i].hnext;
    return i;
}

const sockit__fentry *sockit__fcache_get(sockit__fcache *fc, const char *key)
{
    unsigned i = find(fc, key, hash(key));
    if (i == NIL) return NULL;
    if (now_ms() - fc->e[i].born_ms >= fc->valid_ms) {
        drop(fc, i);
        return NULL;
    }
    if (fc->head != i) {
        lru_unlink(fc, i);
        lru_front(fc, i);
    }
    return &fc->e[i];
}

const sockit__fentry *sockit__fcache_put(sockit__fcache *fc, const char *key, const char *file, int fd,
                                         const struct stat *st, int siblings)
{
    unsigned h = hash(key), i = find(fc, key, h);
    if (i != NIL) drop(fc, i);
    char *k = strdup(key);
    if (!k) return NULL;
    char *f = strcmp(key, file) == 0 ? k : strdup(file);
    if (!f) {
        free(k);
        return NULL;
    }
    if (fc->freelist == NIL) drop(fc, fc->tail);
    i = fc->freelist;
    sockit__fentry *e = &fc->e[i];
    fc->freelist = e->next;
    e->key = k;
    e->file = f;
    e->fd = fd;
    e->st = *st;
    e->siblings = siblings;
    const char *name = strrchr(file, '/');
    name = name ? name + 1 : file;
    e->ctype = sockit__http_content_type(name, strlen(name));
    sockit__http_etag(e->etag, st);
    sockit__http_date_format(e->lastmod, (int64_t)st->st_mtim.tv_sec);
    int n = snprintf(e->head, sizeof e->head, "ETag: %s\r\nLast-Modified: %s\r\n%sAccept-Ranges: bytes\r\n",
                     e->etag, e->lastmod, siblings ? "Vary: Accept-Encoding\r\n" : "");
    e->head_len = n > 0 && (size_t)n < sizeof e->head ? (size_t)n : 0;
    e->born_ms = now_ms();
    e->hnext = fc->table[h & fc->mask];
    fc->table[h & fc->mask] = i;
    lru_front(fc, i);
    fc->used++;
    return e;
}

unsigned sockit__fcache_sweep(sockit__fcache *fc)
{
    uint64_t now = now_ms();
    /* From the least recently used end: a stale entry anywhere is dropped, the list is short. */
    for (unsigned i = fc->tail, prev; i != NIL; i = prev) {
        prev = fc->e[i].prev;
        if (now - fc->e[i].born_ms >= fc->valid_ms) drop(fc, i);
    }
    return fc->used;
}

unsigned sockit__fcache_count(const sockit__fcache *fc) { return fc ? fc->used : 0; }
