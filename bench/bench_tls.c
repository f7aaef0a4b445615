/*
 * bench_tls — sockit's TLS client, for bench/tls_bench.sh to set against OpenSSL's own tools.
 *
 *   bench_tls full   HOST PORT SECS [options]   new connections with full handshakes (no session
 *                                               reuse), one after another, for SECS seconds
 *   bench_tls resume HOST PORT SECS [options]   the same, resuming the first connection's session
 *   bench_tls bulk   HOST PORT MIB  [options]   one connection sending MIB MiB (16 KiB writes)
 *
 * Options: --cafile FILE (verify against it; default: -k, no verification, as s_time does),
 * --name NAME (SNI and the name to verify; default HOST), --www (each connection sends
 * "GET / HTTP/1.0" and reads the reply to its end, as `s_time -www /` does), --chunk BYTES
 * (bulk: bytes per sockit_sendall, default 16384; s_client writes 8192 at a time).
 *
 * Each connection is what s_time does: TCP connect, handshake, (request), close. In resume mode
 * close_notify is sent before closing: a TLS 1.3 session is offered again only if the connection
 * ended cleanly (see the report: without it sockit does not resume).
 *
 * Output, one line: "<mode> <rate> <unit> wall <rate per CPU-second> per-cpu-s <detail>", where
 * the CPU is this process's user+system time (s_time's "connections/user sec" counts user time
 * only). Exit 1 on any failure, with sockit_errmsg(). Bounded: SECS (at most 60) or MIB (at most
 * 65536), every socket with a 10 s timeout.
 */
#include <sockit/sockit.h>
#include <sockit/tls.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_tls: %s: %s\n", what, sockit_errmsg());
    return 1;
}

struct opts {
    const char *mode, *host, *port, *cafile, *name;
    double amount; /* seconds or MiB */
    int www;
    size_t chunk;
};

static int parse(int argc, char **argv, struct opts *o)
{
    if (argc < 5) return -1;
    o->mode = argv[1];
    o->host = argv[2];
    o->port = argv[3];
    o->amount = atof(argv[4]);
    for (int i = 5; i < argc; i++) {
        if (!strcmp(argv[i], "--cafile") && i + 1 < argc) o->cafile = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc) o->name = argv[++i];
        else if (!strcmp(argv[i], "--www")) o->www = 1;
        else if (!strcmp(argv[i], "--chunk") && i + 1 < argc) o->chunk = (size_t)atol(argv[++i]);
        else return -1;
    }
    if (!o->name) o->name = o->host;
    if (!o->chunk) o->chunk = 16384;
    if (o->chunk > 1 << 20) return -1;
    int bulk = !strcmp(o->mode, "bulk");
    if (!bulk && strcmp(o->mode, "full") && strcmp(o->mode, "resume")) return -1;
    if (o->amount <= 0 || o->amount > (bulk ? 65536 : 60)) return -1;
    return 0;
}

/* One connection as s_time makes it. *resumed says whether the session was resumed. */
static int one_connection(const struct opts *o, sockit_tls_ctx *ctx, int clean, int *resumed)
{
    static const char req[] = "GET / HTTP/1.0\r\n\r\n";
    static char buf[16384];
    sockit_sock *s;
    int r = sockit_create_connection(&s, o->host, o->port, 10);
    if (r < 0) return fail("connect");
    if ((r = sockit_tls_connect(s, ctx, o->name)) < 0) {
        sockit_close(s);
        return fail("handshake");
    }
    *resumed = sockit_tls_resumed(s);
    if (o->www) {
        ssize_t n = sockit_sendall(s, req, sizeof req - 1, 0);
        while (n >= 0 && (n = sockit_recv(s, buf, sizeof buf, 0)) > 0) {
        }
        if (n < 0) {
            sockit_close(s);
            return fail("www reply");
        }
    }
    if (clean) (void)sockit_tls_shutdown(s);
    sockit_close(s);
    return 0;
}

static int handshakes(const struct opts *o, sockit_tls_ctx *ctx, int resume)
{
    int resumed = 0, count = 0, nres = 0;
    if (resume && one_connection(o, ctx, 1, &resumed)) return 1; /* the session to resume */
    double c0 = cpu(), t0 = now(), end = t0 + o->amount;
    while (now() < end) {
        if (one_connection(o, ctx, resume, &resumed)) return 1;
        count++;
        nres += resumed;
    }
    double wall = now() - t0, used = cpu() - c0;
    printf("%s %.1f handshakes/s wall %.1f per-cpu-s (%d in %.2f s, cpu %.2f s, resumed %d)\n",
           o->mode, count / wall, used > 0 ? count / used : 0, count, wall, used, nres);
    if (resume && nres < count) {
        fprintf(stderr, "bench_tls: only %d of %d connections resumed\n", nres, count);
        return 1;
    }
    return 0;
}

static int bulk(const struct opts *o, sockit_tls_ctx *ctx)
{
    static char buf[1 << 20];
    memset(buf, 'x', o->chunk);
    double c0 = cpu(), t0 = now();
    sockit_sock *s;
    if (sockit_create_connection(&s, o->host, o->port, 10) < 0) return fail("connect");
    if (sockit_tls_connect(s, ctx, o->name) < 0) {
        sockit_close(s);
        return fail("handshake");
    }
    char cipher[64];
    snprintf(cipher, sizeof cipher, "%s", sockit_tls_cipher(s));
    size_t total = (size_t)(o->amount * 1048576.0), sent = 0;
    while (sent < total) {
        size_t n = total - sent < o->chunk ? total - sent : o->chunk;
        if (sockit_sendall(s, buf, n, 0) < 0) {
            sockit_close(s);
            return fail("send");
        }
        sent += n;
    }
    (void)sockit_tls_shutdown(s);
    sockit_close(s);
    double wall = now() - t0, used = cpu() - c0;
    printf("bulk %.1f MiB/s wall %.1f per-cpu-s (%.0f MiB in %.2f s, cpu %.2f s, %zu-byte writes, "
           "%s)\n", o->amount / wall, used > 0 ? o->amount / used : 0, o->amount, wall, used,
           o->chunk, cipher);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    if (parse(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: bench_tls full|resume HOST PORT SECS [--cafile F] [--name N] "
                        "[--www]\n       bench_tls bulk HOST PORT MIB [--cafile F] [--name N] [--chunk BYTES]\n");
        return 2;
    }
    int resume = !strcmp(o.mode, "resume");
    sockit_tls_opts to = {.cafile = o.cafile, .insecure = !o.cafile, .no_resumption = !resume};
    sockit_tls_ctx *ctx;
    if (sockit_tls_ctx_new(&ctx, &to) < 0) return fail("tls context");
    int r = !strcmp(o.mode, "bulk") ? bulk(&o, ctx) : handshakes(&o, ctx, resume);
    sockit_tls_ctx_free(ctx);
    return r;
}
