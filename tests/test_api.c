/*
 * test_api.c — the public API matches the fixed contract (spec/core-api.md) to the letter.
 *
 * Every function of the spec is assigned to a pointer of its exact type from the spec, and its
 * type is compared with __builtin_types_compatible_p in a _Static_assert, so a signature that
 * drifts (a lost const, a size_t that became an int, swapped arguments of different types) stops
 * the build. The project's additions are pinned the same way against sockit.h and reader.h.
 * At run time: the sockit_addr layout, the constants, the error codes' range and uniqueness,
 * the option struct's fields, and the exported symbols of the built libraries.
 *
 * sockit.h is included first and alone, so it must be self-contained.
 */
#include <sockit/sockit.h>

#include "testutil.h"

#include <stddef.h>
#include <sys/un.h>

/* Pins fn to the type `ret args`, at compile time and by assignment; counts one check. */
#define SIG(fn, ret, args)                                                                       \
    do {                                                                                         \
        _Static_assert(__builtin_types_compatible_p(__typeof__(fn), ret args),                   \
                       #fn ": signature differs from the contract");                             \
        ret (*volatile p_) args = fn;                                                            \
        CHECK_TRUE(p_ != NULL);                                                                  \
    } while (0)

#define SAME_TYPE(a, b) __builtin_types_compatible_p(__typeof__(a), b)

/* The functions of spec/core-api.md, each with the spec's exact prototype. */
static void test_spec_signatures(void)
{
    /* errors */
    SIG(sockit_strerror, const char *, (int));
    SIG(sockit_errmsg, const char *, (void));

    /* addresses */
    SIG(sockit_addr_resolve, int, (sockit_addr *, int, int, const char *, const char *, int));
    SIG(sockit_addr_ipv4, int, (sockit_addr *, uint32_t, uint16_t));
    SIG(sockit_addr_unix, int, (sockit_addr *, const char *));
    SIG(sockit_addr_format, const char *, (const sockit_addr *, char *, size_t));
    SIG(sockit_addr_port, int, (const sockit_addr *));
    SIG(sockit_getaddrinfo, int, (const char *, const char *, int, int, sockit_addr *, size_t));
    SIG(sockit_gethostname, int, (char *, size_t));

    /* creating and ending */
    SIG(sockit_socket, int, (sockit_sock **, int, int, int));
    SIG(sockit_socketpair, int, (sockit_sock **, sockit_sock **, int, int));
    SIG(sockit_fromfd, int, (sockit_sock **, int));
    SIG(sockit_fileno, int, (const sockit_sock *));
    SIG(sockit_detach, int, (sockit_sock *));
    SIG(sockit_close, int, (sockit_sock *));
    SIG(sockit_family, int, (const sockit_sock *));
    SIG(sockit_type, int, (const sockit_sock *));
    SIG(sockit_proto, int, (const sockit_sock *));

    /* server side */
    SIG(sockit_bind, int, (sockit_sock *, const char *, const char *));
    SIG(sockit_listen, int, (sockit_sock *, int));
    SIG(sockit_accept, int, (sockit_sock *, sockit_sock **, sockit_addr *));

    /* client side */
    SIG(sockit_connect, int, (sockit_sock *, const char *, const char *));

    /* data */
    SIG(sockit_send, ssize_t, (sockit_sock *, const void *, size_t, int));
    SIG(sockit_recv, ssize_t, (sockit_sock *, void *, size_t, int));
    SIG(sockit_sendall, int, (sockit_sock *, const void *, size_t, int));
    SIG(sockit_sendall_ex, int, (sockit_sock *, const void *, size_t, int, size_t *));
    SIG(sockit_sendto, ssize_t,
        (sockit_sock *, const void *, size_t, int, const char *, const char *));
    SIG(sockit_recvfrom, ssize_t, (sockit_sock *, void *, size_t, int, sockit_addr *));
    SIG(sockit_shutdown, int, (sockit_sock *, int));

    /* resolved addresses */
    SIG(sockit_bind_addr, int, (sockit_sock *, const sockit_addr *));
    SIG(sockit_connect_addr, int, (sockit_sock *, const sockit_addr *));
    SIG(sockit_sendto_addr, ssize_t, (sockit_sock *, const void *, size_t, int, const sockit_addr *));

    /* options and names */
    SIG(sockit_settimeout, int, (sockit_sock *, double));
    SIG(sockit_gettimeout, double, (const sockit_sock *));
    SIG(sockit_setsockopt, int, (sockit_sock *, int, int, const void *, socklen_t));
    SIG(sockit_getsockopt, int, (sockit_sock *, int, int, void *, socklen_t *));
    SIG(sockit_setsockopt_int, int, (sockit_sock *, int, int, int));
    SIG(sockit_getsockopt_int, int, (sockit_sock *, int, int, int *));
    SIG(sockit_getsockname, int, (const sockit_sock *, sockit_addr *));
    SIG(sockit_getpeername, int, (const sockit_sock *, sockit_addr *));

    /* conveniences */
    SIG(sockit_create_connection, int, (sockit_sock **, const char *, const char *, double));
    SIG(sockit_create_server, int,
        (sockit_sock **, const char *, const char *, const sockit_server_opts *));
}

/* The project's additions, as sockit.h and reader.h declare them. */
static void test_addition_signatures(void)
{
    SIG(sockit_version, const char *, (void));
    SIG(sockit_errname, const char *, (int));
    SIG(sockit_addr_parse, int, (sockit_addr *, int, int, const char *, int));
    SIG(sockit_addr_equal, int, (const sockit_addr *, const sockit_addr *));
    SIG(sockit_getaddrinfo_timeout, int,
        (const char *, const char *, int, int, sockit_addr *, size_t, double));
    SIG(sockit_setdefaulttimeout, int, (double));
    SIG(sockit_getdefaulttimeout, double, (void));
    SIG(sockit_create_connection_addrs, int,
        (sockit_sock **, const sockit_addr *, size_t, int, double));

    SIG(sockit_reader_new, int, (sockit_reader **, sockit_sock *, size_t));
    SIG(sockit_reader_free, void, (sockit_reader *));
    SIG(sockit_reader_line, ssize_t, (sockit_reader *, const char **, size_t));
    SIG(sockit_reader_getline, ssize_t, (sockit_reader *, char *, size_t, int));
    SIG(sockit_reader_read, ssize_t, (sockit_reader *, void *, size_t));
    SIG(sockit_reader_read_exact, ssize_t, (sockit_reader *, void *, size_t, size_t *));
    SIG(sockit_reader_pending, size_t, (const sockit_reader *, const void **));
    SIG(sockit_reader_consume, void, (sockit_reader *, size_t));
    SIG(sockit_reader_sock, sockit_sock *, (const sockit_reader *));
}

/* sockit_addr is { struct sockaddr_storage sa; socklen_t len; }, a plain copyable value. */
static void test_addr_layout(void)
{
    sockit_addr a;
    _Static_assert(SAME_TYPE(a.sa, struct sockaddr_storage), "sockit_addr.sa is sockaddr_storage");
    _Static_assert(SAME_TYPE(a.len, socklen_t), "sockit_addr.len is socklen_t");
    CHECK_INT(offsetof(sockit_addr, sa), ==, 0);
    CHECK_INT(offsetof(sockit_addr, len), >=, sizeof(struct sockaddr_storage));
    CHECK_INT(sizeof a.sa, ==, sizeof(struct sockaddr_storage));
    CHECK_INT(sizeof a.len, ==, sizeof(socklen_t));
    /* Room for the largest sockaddr the library handles. */
    CHECK_INT(sizeof a.sa, >=, sizeof(struct sockaddr_un));
    CHECK_INT(sizeof a.sa, >=, sizeof(struct sockaddr_in6));

    /* A plain value: a struct copy is a usable, equal address. */
    sockit_addr b;
    CHECK_OK(sockit_addr_ipv4(&a, 0x7f000001, 8080));
    b = a;
    CHECK_INT(sockit_addr_equal(&a, &b), ==, 1);
    CHECK_INT(sockit_addr_port(&b), ==, 8080);

    CHECK_INT(SOCKIT_ADDRSTRLEN, ==, 128);
    char buf[SOCKIT_ADDRSTRLEN];
    CHECK_INT(sizeof buf, ==, 128);
}

/* The library's own codes: the spec's five exist, every code is below -4096, all distinct. */
static void test_error_codes(void)
{
    /* Named here so that a constant that disappears stops the build. */
    const int spec_codes[] = {SOCKIT_ENOHOST, SOCKIT_ENOSERVICE, SOCKIT_EBADADDR, SOCKIT_EPROTO,
                              SOCKIT_ETLS};
    const int project_codes[] = {SOCKIT_ETOOLONG, SOCKIT_ECLOSED, SOCKIT_EINCOMPLETE};
    (void)project_codes;

    for (size_t i = 0; i < sizeof spec_codes / sizeof spec_codes[0]; i++)
        CHECK_INT(spec_codes[i], <, -4096);
    CHECK_INT(SOCKIT_ERRNO_MIN, ==, -4096);

    /* Every code of the table, however many there are. */
#define X(name, value, text) {SOCKIT_##name, #name},
    static const struct {
        int code;
        const char *name;
    } all[] = {SOCKIT_ERRNO_MAP(X)};
#undef X
    size_t n = sizeof all / sizeof all[0];
    CHECK_INT(n, >=, 8);
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(all[i].code, <, -4096);
        CHECK_INT(all[i].code, <, SOCKIT_ERRNO_MIN);
        for (size_t j = i + 1; j < n; j++)
            CHECK_INT(all[i].code, !=, all[j].code);
    }
    /* The spec's codes are all in the table (strerror/errname are generated from it). */
    for (size_t i = 0; i < sizeof spec_codes / sizeof spec_codes[0]; i++) {
        int found = 0;
        for (size_t j = 0; j < n; j++)
            found += all[j].code == spec_codes[i];
        CHECK_INT(found, ==, 1);
    }
}

/* sockit_server_opts has int family, type, backlog, reuse_port (and the addition unix_mode). */
static void test_server_opts(void)
{
    sockit_server_opts o = {.family = AF_INET6, .type = SOCK_DGRAM, .backlog = 7, .reuse_port = 1,
                            .unix_mode = 0600};
    _Static_assert(SAME_TYPE(o.family, int), "opts.family is int");
    _Static_assert(SAME_TYPE(o.type, int), "opts.type is int");
    _Static_assert(SAME_TYPE(o.backlog, int), "opts.backlog is int");
    _Static_assert(SAME_TYPE(o.reuse_port, int), "opts.reuse_port is int");
    _Static_assert(SAME_TYPE(o.unix_mode, int), "opts.unix_mode is int");
    /* The spec's order: family, type, backlog, reuse_port (positional initialisers rely on it). */
    CHECK_INT(offsetof(sockit_server_opts, family), <, offsetof(sockit_server_opts, type));
    CHECK_INT(offsetof(sockit_server_opts, type), <, offsetof(sockit_server_opts, backlog));
    CHECK_INT(offsetof(sockit_server_opts, backlog), <, offsetof(sockit_server_opts, reuse_port));
    sockit_server_opts p = {AF_INET6, SOCK_DGRAM, 7, 1, 0600};
    CHECK_INT(p.family, ==, o.family);
    CHECK_INT(p.type, ==, o.type);
    CHECK_INT(p.backlog, ==, o.backlog);
    CHECK_INT(p.reuse_port, ==, o.reuse_port);
    CHECK_INT(p.unix_mode, ==, o.unix_mode);
}

static void test_version(void)
{
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", SOCKIT_VERSION_MAJOR, SOCKIT_VERSION_MINOR,
             SOCKIT_VERSION_PATCH);
    CHECK_STR(SOCKIT_VERSION, expect);
    CHECK_STR(sockit_version(), SOCKIT_VERSION);
}

/* The destroy functions accept NULL. */
static void test_null_destroy(void)
{
    CHECK_OK(sockit_close(NULL));
    sockit_reader_free(NULL);
    CHECK_TRUE(1); /* reached: freeing NULL did not crash */
}

/* Runs cmd and checks every line it prints is a symbol starting with one of the prefixes.
 * Returns the number of lines read, or -1 if cmd could not run. */
static int check_symbols(const char *cmd, const char *const *prefixes, size_t nprefixes)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        /* nm output: "<value> <type> <name>" or, for undefined, "<type> <name>". */
        line[strcspn(line, "\n")] = '\0';
        const char *name = strrchr(line, ' ');
        name = name ? name + 1 : line;
        if (!*name || strchr(line, ':')) /* archive member headers "file.o:" */
            continue;
        lines++;
        int ok = 0;
        for (size_t i = 0; i < nprefixes; i++)
            ok |= strncmp(name, prefixes[i], strlen(prefixes[i])) == 0;
        if (!ok)
            fprintf(stderr, "     symbol outside the sockit namespace: %s\n", name);
        CHECK_TRUE(ok);
    }
    int rc = pclose(f);
    return rc == 0 ? lines : -1;
}

/* The libraries export only sockit names: sockit_ (and, from the static archive, the internal
 * sockit__), nothing that could collide with a program's own symbols. */
static void test_exported_symbols(void)
{
    char lib[1024], cmd[1200];
    struct stat st;

    snprintf(lib, sizeof lib, "%s/libsockit.a", SOCKIT_BIN_DIR);
    if (stat(lib, &st) != 0) {
        TU_SKIP("%s not found", lib);
    } else {
        /* Sanitizer builds add their own instrumentation symbols. */
        static const char *const pre[] = {"sockit_", "__odr_asan", "__asan", "__ubsan", "__tsan",
                                          "__sancov"};
        snprintf(cmd, sizeof cmd, "nm -g --defined-only '%s' 2>/dev/null", lib);
        int n = check_symbols(cmd, pre, sizeof pre / sizeof pre[0]);
        if (n < 0)
            TU_SKIP("nm could not read %s", lib);
        else
            CHECK_INT(n, >, 40);
    }

    snprintf(lib, sizeof lib, "%s/libsockit.so", SOCKIT_BIN_DIR);
    if (stat(lib, &st) != 0) {
        TU_SKIP("%s not found", lib);
    } else {
        /* The shared library hides the internal sockit__ names (-fvisibility=hidden). */
        static const char *const pre[] = {"sockit_", "__odr_asan", "__asan", "__ubsan", "__tsan",
                                          "__sancov"};
        snprintf(cmd, sizeof cmd,
                 "nm -D --defined-only '%s' 2>/dev/null | grep -v ' [_A-Za-z]*@' | "
                 "grep -v -e ' _init$' -e ' _fini$' -e ' _edata$' -e ' _end$' -e ' __bss_start$'",
                 lib);
        FILE *f = popen(cmd, "r");
        char line[512];
        int internal = 0, lines = 0;
        if (f) {
            while (fgets(line, sizeof line, f)) {
                lines++;
                if (strstr(line, " sockit__")) {
                    internal++;
                    fprintf(stderr, "     internal symbol exported: %s", line);
                }
            }
            pclose(f);
        }
        CHECK_INT(internal, ==, 0);
        int n = check_symbols(cmd, pre, sizeof pre / sizeof pre[0]);
        if (n < 0)
            TU_SKIP("nm could not read %s", lib);
        else
            CHECK_INT(n, >, 40);
        (void)lines;
    }
}

int main(void)
{
    TU_RUN(test_spec_signatures, 10);
    TU_RUN(test_addition_signatures, 10);
    TU_RUN(test_addr_layout, 10);
    TU_RUN(test_error_codes, 10);
    TU_RUN(test_server_opts, 10);
    TU_RUN(test_version, 10);
    TU_RUN(test_null_destroy, 10);
    TU_RUN(test_exported_symbols, 30);
    return tu_done();
}
