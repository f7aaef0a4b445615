/*
 * Private to the library: the static handler's open-file cache (nginx's open_file_cache, h2o's
 * file cache). One cache belongs to one worker thread and is only ever used by it: no locks.
 *
 * An entry maps a request path (the decoded path beneath the mount's root) to the regular file
 * it resolved to: an open descriptor (O_RDONLY | O_CLOEXEC, opened by sockit__file_open_under, so
 * with every check of that walk), its struct stat, the ETag, Last-Modified and Content-Type
 * strings, and which precompressed siblings (.br, .gz) existed. An entry is trusted for
 * valid_ms after it was made and then dropped, so the next request opens the path again — as
 * nginx's open_file_cache_valid: a file changed, deleted, or replaced by a symlink out of the root
 * may be served as it was for at most that long, never longer. The cache holds at most cap
 * entries (and so cap descriptors); the least recently used goes first, and expired entries are
 * swept (sockit__fcache_sweep) so an idle cache holds none for long.
 */
#ifndef SOCKIT_INTERNAL_HTTP_FCACHE_H
#define SOCKIT_INTERNAL_HTTP_FCACHE_H

#include "internal/http_file.h"

#include <stdint.h>
#include <sys/stat.h>

typedef struct sockit__fcache sockit__fcache;

typedef struct sockit__fentry {
    char *key;                           /* the request path */
    char *file;                          /* the path opened: key, or key + the index name */
    int fd;                              /* owned by the cache */
    int siblings;                        /* SOCKIT__ENC_* that existed when the entry was made */
    struct stat st;
    const char *ctype;                   /* from sockit__http_content_type (static storage) */
    char etag[SOCKIT__ETAG_MAX];
    char lastmod[SOCKIT__DATE_LEN + 1];
    /* The header lines every answer about the file carries, made once: "ETag: ...\r\n
     * Last-Modified: ...\r\n" ("Vary: Accept-Encoding\r\n" with siblings) "Accept-Ranges: bytes\r\n". */
    char head[SOCKIT__ETAG_MAX + SOCKIT__DATE_LEN + 96];
    size_t head_len;
    uint64_t born_ms;                    /* CLOCK_MONOTONIC_COARSE when made */
    unsigned hnext, prev, next;          /* hash chain and LRU list (indices; NIL = none) */
} sockit__fentry;

/* A cache of at most cap entries (at least 1), each trusted for valid_ms. NULL without memory. */
sockit__fcache *sockit__fcache_new(unsigned cap, unsigned valid_ms);

/* Closes every descriptor and frees the cache (NULL is fine). */
void sockit__fcache_free(sockit__fcache *fc);

/* The fresh entry for key, or NULL (none, or expired: an expired entry is dropped and its
 * descriptor closed). The entry stays valid until the next call on this cache. */
const sockit__fentry *sockit__fcache_get(sockit__fcache *fc, const char *key);

/* Adds an entry for key (replacing one with the same key; evicting the least recently used when
 * full) for the regular file fd, opened as file, with its stat and siblings. Takes fd on success
 * and returns the entry (valid until the next call on this cache); on failure (no memory)
 * returns NULL and fd stays the caller's. */
const sockit__fentry *sockit__fcache_put(sockit__fcache *fc, const char *key, const char *file, int fd,
                                         const struct stat *st, int siblings);

/* Drops every expired entry (closing its descriptor); returns the entries left. A timer calls it
 * so that an idle worker does not keep descriptors of files nobody asks for. */
unsigned sockit__fcache_sweep(sockit__fcache *fc);

/* Entries held now (tests). */
unsigned sockit__fcache_count(const sockit__fcache *fc);

#endif
