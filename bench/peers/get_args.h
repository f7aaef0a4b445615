/*
 * get_args.h: the command line the two in-process GET loops share (bench/peers/libcurl_get.c and
 * bench/peers/sockit_get.c), so that they take the same arguments the same way:
 *   PROG [-n COUNT] [-o FILE] [-e BYTES] URL
 *   -n COUNT  requests (default 1); -o FILE  write every body to FILE (truncated first);
 *   -e BYTES  the body size each response must have (checked when given, else -1).
 */
#ifndef BENCH_GET_ARGS_H
#define BENCH_GET_ARGS_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct get_args {
    long count;         /* requests */
    long long expect;   /* body bytes each response must have; -1: not checked */
    const char *url;
    int fd;             /* -o FILE opened for writing, or -1 */
};

/* Parses the command line into a and opens -o's file. Returns 0, or the exit status to end with
 * (2 for a usage error, 1 when the file cannot be opened), having said why on stderr. */
static int get_args_parse(struct get_args *a, int argc, char **argv, const char *prog)
{
    const char *out = NULL;
    int opt;
    *a = (struct get_args){.count = 1, .expect = -1, .fd = -1};
    while ((opt = getopt(argc, argv, "n:o:e:")) != -1) {
        if (opt == 'n') a->count = strtol(optarg, NULL, 10);
        else if (opt == 'o') out = optarg;
        else if (opt == 'e') a->expect = strtoll(optarg, NULL, 10);
        else optind = argc + 1;
    }
    if (optind != argc - 1 || a->count < 1) {
        fprintf(stderr, "usage: %s [-n COUNT] [-o FILE] [-e BYTES] URL\n", prog);
        return 2;
    }
    a->url = argv[optind];
    if (out && (a->fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        fprintf(stderr, "%s: open %s: %s\n", prog, out, strerror(errno));
        return 1;
    }
    return 0;
}

#endif /* BENCH_GET_ARGS_H */
