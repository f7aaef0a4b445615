/*
 * test_conn.c — the conveniences: sockit_create_connection (every address, Happy Eyeballs,
 * errors that name what was tried) and sockit_create_server (dual stack, V6ONLY, UDP,
 * SO_REUSEPORT, Unix paths with their permissions, live/stale/foreign files at the path).
 */
#include "testutil.h"

#include "internal/core.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

/* A loopback port nobody listens on: bound, never listening, so connects are refused and no one
 * else can take it. The socket must be closed by the caller. */
static sockit_sock *hold_port(int family, const char *host, const char *port, char *out)
{
    sockit_sock *s = NULL;
    out[0] = '\0';
    if (sockit_socket(&s, family, SOCK_STREAM, 0) != 0)
        return NULL;
    if (sockit_bind(s, host, port) != 0) {
        sockit_close(s);
        return NULL;
    }
    tu_portstr(s, out);
    return s;
}

static int sockopt(sockit_sock *s, int level, int name)
{
    int v = -1;
    if (sockit_getsockopt_int(s, level, name, &v) != 0)
        return -1;
    return v;
}

/* Accepts from server and checks one byte each way with client. Every call has a timeout, so a
 * wrong connection fails the check instead of hanging. Returns 1 if the bytes went through. */
static int exchange(sockit_sock *server, sockit_sock *client)
{
    sockit_sock *a = NULL;
    char ch = 0;
    int ok = 0;
    sockit_settimeout(server, 5.0);
    sockit_settimeout(client, 5.0);
    if (sockit_accept(server, &a, NULL) != 0)
        return 0;
    sockit_settimeout(a, 5.0);
    if (sockit_send(client, "c", 1, 0) == 1 && sockit_recv(a, &ch, 1, 0) == 1 && ch == 'c' &&
        sockit_send(a, "s", 1, 0) == 1 && sockit_recv(client, &ch, 1, 0) == 1 && ch == 's')
        ok = 1;
    sockit_close(a);
    return ok;
}

/* The same as one check: the next connection accepted is client's and carries bytes both ways. */
#define CHECK_ROUNDTRIP(server, client) CHECK_INT(exchange(server, client), ==, 1)

/* ---- create_connection ------------------------------------------------------------------- */

static void test_create_connection(void)
{
    sockit_sock *l = NULL, *c = NULL;
    sockit_addr la, pa;
    char port[8];

    CHECK_OK(sockit_create_server(&l, "127.0.0.1", "0", NULL));
    CHECK_INT(sockit_family(l), ==, AF_INET);
    CHECK_INT(sockit_type(l), ==, SOCK_STREAM);
    CHECK_INT(sockopt(l, SOL_SOCKET, SO_ACCEPTCONN), ==, 1);
    CHECK_INT(sockopt(l, SOL_SOCKET, SO_REUSEADDR), ==, 1);
    CHECK_INT(sockopt(l, SOL_SOCKET, SO_REUSEPORT), ==, 0);
    CHECK_OK(sockit_getsockname(l, &la));
    tu_portstr(l, port);

    TU_CTX("create_connection(\"127.0.0.1\", %s, 5.0)", port);
    CHECK_OK(sockit_create_connection(&c, "127.0.0.1", port, 5.0));
    CHECK_TRUE(c != NULL);
    if (c) {
        CHECK_DBL(sockit_gettimeout(c), ==, 5.0);
        CHECK_INT(sockit_type(c), ==, SOCK_STREAM);
        CHECK_OK(sockit_getpeername(c, &pa));
        CHECK_INT(sockit_addr_equal(&pa, &la), ==, 1);
        CHECK_ROUNDTRIP(l, c);
    }
    sockit_close(c);

    TU_CTX("create_connection(\"localhost\", %s, none)", port);
    c = NULL;
    CHECK_OK(sockit_create_connection(&c, "localhost", port, -1));
    if (c) {
        CHECK_DBL(sockit_gettimeout(c), <, 0);
        CHECK_OK(sockit_getpeername(c, &pa));
        CHECK_INT(sockit_addr_equal(&pa, &la), ==, 1);
        CHECK_ROUNDTRIP(l, c);
    }
    sockit_close(c);
    sockit_close(l);

    /* IPv6. */
    TU_CTX("create_connection(\"::1\")");
    CHECK_OK(sockit_create_server(&l, "::1", "0", NULL));
    CHECK_INT(sockit_family(l), ==, AF_INET6);
    tu_portstr(l, port);
    c = NULL;
    CHECK_OK(sockit_create_connection(&c, "::1", port, 5.0));
    if (c) {
        CHECK_INT(sockit_family(c), ==, AF_INET6);
        CHECK_ROUNDTRIP(l, c);
    }
    sockit_close(c);
    c = NULL;
    CHECK_OK(sockit_create_connection(&c, "[::1]", port, 5.0));
    sockit_close(c);
    sockit_close(l);
}

static void test_create_connection_refused(void)
{
    char port[8], expect[64];
    sockit_sock *h = hold_port(AF_INET, "127.0.0.1", "0", port), *c = NULL;
    CHECK_TRUE(h != NULL);
    snprintf(expect, sizeof expect, "127.0.0.1:%s", port);

    double t0 = tu_now();
    CHECK_CODE(sockit_create_connection(&c, "127.0.0.1", port, 5.0), -ECONNREFUSED);
    CHECK_DBL(tu_now() - t0, <, 1.0);
    CHECK_TRUE(c == NULL);
    CHECK_CONTAINS(sockit_errmsg(), expect);
    CHECK_CONTAINS(sockit_errmsg(), "Connection refused");

    /* By name: every address "localhost" gives is named. */
    sockit_addr all[8];
    int n = sockit_getaddrinfo("localhost", port, 0, SOCK_STREAM, all, 8);
    CHECK_INT(n, >=, 1);
    int rc = sockit_create_connection(&c, "localhost", port, 5.0);
    /* Every address refused (::1 might in theory have a listener of someone else on it). */
    CHECK_CODE(rc, -ECONNREFUSED);
    char msg[4096];
    snprintf(msg, sizeof msg, "%s", sockit_errmsg());
    for (int i = 0; i < n && i < 8; i++) {
        char f[SOCKIT_ADDRSTRLEN];
        sockit_addr_format(&all[i], f, sizeof f);
        TU_CTX("errmsg names %s", f);
        CHECK_CONTAINS(msg, f);
    }
    if (rc == 0)
        sockit_close(c);
    sockit_close(h);
}

/* Happy Eyeballs over a list: the first address (::1) refuses, the second (127.0.0.1) listens. */
static void test_create_connection_addrs(void)
{
    sockit_sock *l = NULL, *c = NULL;
    char port[8];
    CHECK_OK(sockit_create_server(&l, "127.0.0.1", "0", NULL));
    tu_portstr(l, port);
    char p6[8];
    sockit_sock *h6 = hold_port(AF_INET6, "::1", port, p6);
    if (!h6) {
        TU_SKIP("[::1]:%s is taken by someone else", port);
        sockit_close(l);
        return;
    }
    sockit_addr addrs[2], want, peer;
    CHECK_OK(sockit_addr_resolve(&addrs[0], AF_INET6, SOCK_STREAM, "::1", port, 0));
    CHECK_OK(sockit_addr_resolve(&addrs[1], AF_INET, SOCK_STREAM, "127.0.0.1", port, 0));
    want = addrs[1];

    TU_CTX("create_connection_addrs([::1]:%s refused, 127.0.0.1:%s listening)", port, port);
    double t0 = tu_now();
    CHECK_OK(sockit_create_connection_addrs(&c, addrs, 2, SOCK_STREAM, 5.0));
    CHECK_DBL(tu_now() - t0, <, 1.0);
    if (c) {
        CHECK_OK(sockit_getpeername(c, &peer));
        CHECK_INT(sockit_addr_equal(&peer, &want), ==, 1);
        CHECK_INT(sockit_family(c), ==, AF_INET);
        CHECK_DBL(sockit_gettimeout(c), ==, 5.0);
        CHECK_ROUNDTRIP(l, c);
    }
    sockit_close(c);

    /* The other order, and type 0. */
    TU_CTX("create_connection_addrs([127.0.0.1, ::1])");
    sockit_addr rev[2] = {addrs[1], addrs[0]};
    c = NULL;
    CHECK_OK(sockit_create_connection_addrs(&c, rev, 2, 0, -1));
    if (c) {
        CHECK_OK(sockit_getpeername(c, &peer));
        CHECK_INT(sockit_addr_equal(&peer, &want), ==, 1);
        CHECK_DBL(sockit_gettimeout(c), <, 0);
        CHECK_ROUNDTRIP(l, c);
    }
    sockit_close(c);

    /* Many refusals before the one that listens: every address is tried. */
    TU_CTX("create_connection_addrs(4 refusing, then the listener)");
    char q1[8], q2[8];
    sockit_sock *h1 = hold_port(AF_INET, "127.0.0.1", "0", q1);
    sockit_sock *h2 = hold_port(AF_INET6, "::1", "0", q2);
    sockit_addr many[5];
    CHECK_OK(sockit_addr_resolve(&many[0], AF_INET, 0, "127.0.0.1", q1, 0));
    CHECK_OK(sockit_addr_resolve(&many[1], AF_INET6, 0, "::1", q2, 0));
    CHECK_OK(sockit_addr_resolve(&many[2], AF_INET6, 0, "::1", port, 0));
    CHECK_OK(sockit_addr_resolve(&many[3], AF_INET, 0, "127.0.0.2", q1, 0));
    many[4] = want;
    c = NULL;
    t0 = tu_now();
    CHECK_OK(sockit_create_connection_addrs(&c, many, 5, SOCK_STREAM, 5.0));
    CHECK_DBL(tu_now() - t0, <, 2.0);
    if (c) {
        CHECK_OK(sockit_getpeername(c, &peer));
        CHECK_INT(sockit_addr_equal(&peer, &want), ==, 1);
        CHECK_ROUNDTRIP(l, c);
    }
    sockit_close(c);

    /* All refused: the last error, and every address named in the message. */
    TU_CTX("create_connection_addrs(all refusing)");
    sockit_addr none[3] = {many[0], many[1], many[2]};
    c = NULL;
    CHECK_CODE(sockit_create_connection_addrs(&c, none, 3, SOCK_STREAM, 5.0), -ECONNREFUSED);
    CHECK_TRUE(c == NULL);
    char msg[4096], e[64];
    snprintf(msg, sizeof msg, "%s", sockit_errmsg());
    snprintf(e, sizeof e, "127.0.0.1:%s", q1);
    CHECK_CONTAINS(msg, e);
    snprintf(e, sizeof e, "[::1]:%s", q2);
    CHECK_CONTAINS(msg, e);
    snprintf(e, sizeof e, "[::1]:%s", port);
    CHECK_CONTAINS(msg, e);
    /* ... each with its error. */
    int refusals = 0;
    for (const char *m = msg; (m = strstr(m, "refused")) != NULL; m++)
        refusals++;
    CHECK_INT(refusals, >=, 3);

    /* No address at all: an error, not a crash. */
    TU_CTX("create_connection_addrs(n = 0)");
    c = NULL;
    CHECK_INT(sockit_create_connection_addrs(&c, none, 0, SOCK_STREAM, 1.0), <, 0);
    CHECK_TRUE(c == NULL);

    sockit_close(h1);
    sockit_close(h2);
    sockit_close(h6);
    sockit_close(l);
}

static void test_create_connection_errors(void)
{
    sockit_sock *c = NULL;
    /* The name fails at once, or after one of the resolver's own retries (this machine's DNS
     * drops a query now and then and glibc waits 5 s to retry): well within a 10 s timeout. */
    TU_CTX("create_connection(\"nosuch.invalid\", 10.0)");
    double t0 = tu_now();
    CHECK_CODE(sockit_create_connection(&c, "nosuch.invalid", "80", 10.0), SOCKIT_ENOHOST);
    CHECK_DBL(tu_now() - t0, <, 7.0);
    CHECK_CONTAINS(sockit_errmsg(), "nosuch.invalid");
    CHECK_TRUE(c == NULL);
    /* With a timeout shorter than a resolver retry: SOCKIT_ENOHOST, or -ETIMEDOUT on time. */
    TU_CTX("create_connection(\"nosuch.invalid\", 2.0)");
    t0 = tu_now();
    int rc = sockit_create_connection(&c, "nosuch.invalid", "80", 2.0);
    double el = tu_now() - t0;
    CHECK_TRUE(rc == SOCKIT_ENOHOST || (rc == -ETIMEDOUT && el >= 1.9));
    CHECK_DBL(el, <, 2.5);
    CHECK_CONTAINS(sockit_errmsg(), "nosuch.invalid");
    TU_CTX("create_connection(\"nosuch.invalid\", none)");
    CHECK_CODE(sockit_create_connection(&c, "nosuch.invalid", "80", -1), SOCKIT_ENOHOST);
    TU_CTX("create_connection(port \"70000\")");
    CHECK_CODE(sockit_create_connection(&c, "127.0.0.1", "70000", 2.0), SOCKIT_ENOSERVICE);
    CHECK_CONTAINS(sockit_errmsg(), "70000");
    TU_CTX("create_connection(\"1.2.3\")");
    CHECK_CODE(sockit_create_connection(&c, "1.2.3", "80", 2.0), SOCKIT_EBADADDR);
    CHECK_TRUE(c == NULL);
}

/* ---- create_server: IP ------------------------------------------------------------------- */

static void test_server_dual_stack(void)
{
    const char *hosts[] = {NULL, ""};
    for (int i = 0; i < 2; i++) {
        sockit_sock *l = NULL, *c = NULL, *a = NULL;
        sockit_addr peer;
        char port[8];
        TU_CTX("create_server(%s, family 0)", tu_esc(hosts[i]));
        sockit_server_opts o = {0, 0, 0, 0, 0};
        CHECK_OK(sockit_create_server(&l, hosts[i], "0", i ? &o : NULL));
        if (!l)
            continue;
        CHECK_INT(sockit_family(l), ==, AF_INET6);
        CHECK_INT(sockopt(l, IPPROTO_IPV6, IPV6_V6ONLY), ==, 0);
        CHECK_INT(sockopt(l, SOL_SOCKET, SO_ACCEPTCONN), ==, 1);
        CHECK_OK(sockit_settimeout(l, 5.0)); /* a failed connect must not hang the accept */
        tu_portstr(l, port);

        /* Over IPv4: the peer is the mapped ::ffff:127.0.0.1. */
        CHECK_OK(sockit_create_connection(&c, "127.0.0.1", port, 5.0));
        CHECK_OK(sockit_accept(l, &a, &peer));
        CHECK_INT(peer.sa.ss_family, ==, AF_INET6);
        CHECK_TRUE(IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&peer.sa)->sin6_addr));
        if (a && c) {
            CHECK_INT(sockit_send(c, "4", 1, 0), ==, 1);
            char ch = 0;
            CHECK_INT(sockit_recv(a, &ch, 1, 0), ==, 1);
            CHECK_INT(ch, ==, '4');
        }
        sockit_close(a);
        sockit_close(c);

        /* Over IPv6. */
        a = c = NULL;
        CHECK_OK(sockit_create_connection(&c, "::1", port, 5.0));
        CHECK_OK(sockit_accept(l, &a, &peer));
        CHECK_INT(peer.sa.ss_family, ==, AF_INET6);
        CHECK_TRUE(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&peer.sa)->sin6_addr));
        sockit_close(a);
        sockit_close(c);
        sockit_close(l);
    }
}

static void test_server_v6only(void)
{
    sockit_sock *l = NULL, *c = NULL;
    char port[8];
    sockit_server_opts o = {AF_INET6, 0, 0, 0, 0};
    CHECK_OK(sockit_create_server(&l, "", "0", &o));
    if (!l)
        return;
    CHECK_INT(sockit_family(l), ==, AF_INET6);
    CHECK_INT(sockopt(l, IPPROTO_IPV6, IPV6_V6ONLY), ==, 1);
    tu_portstr(l, port);
    CHECK_OK(sockit_create_connection(&c, "::1", port, 5.0));
    if (c)
        CHECK_ROUNDTRIP(l, c);
    sockit_close(c);
    c = NULL;
    /* IPv4 does not reach it. */
    CHECK_CODE(sockit_create_connection(&c, "127.0.0.1", port, 5.0), -ECONNREFUSED);
    sockit_close(c);
    sockit_close(l);

    /* AF_INET with the wildcard: 0.0.0.0. */
    sockit_server_opts o4 = {AF_INET, 0, 0, 0, 0};
    sockit_addr la;
    CHECK_OK(sockit_create_server(&l, NULL, "0", &o4));
    CHECK_INT(sockit_family(l), ==, AF_INET);
    CHECK_OK(sockit_getsockname(l, &la));
    CHECK_INT(((struct sockaddr_in *)&la.sa)->sin_addr.s_addr, ==, htonl(INADDR_ANY));
    sockit_close(l);
}

static void test_server_dgram(void)
{
    sockit_sock *u = NULL, *c = NULL;
    char port[8], buf[16];
    sockit_server_opts o = {0, SOCK_DGRAM, 0, 0, 0};
    CHECK_OK(sockit_create_server(&u, "127.0.0.1", "0", &o));
    if (!u)
        return;
    CHECK_INT(sockit_type(u), ==, SOCK_DGRAM);
    CHECK_INT(sockit_family(u), ==, AF_INET);
    CHECK_INT(sockopt(u, SOL_SOCKET, SO_ACCEPTCONN), ==, 0);
    tu_portstr(u, port);
    CHECK_INT(atoi(port), >, 0);
    CHECK_OK(sockit_socket(&c, AF_INET, SOCK_DGRAM, 0));
    CHECK_INT(sockit_sendto(c, "udp", 3, 0, "127.0.0.1", port), ==, 3);
    sockit_addr from, ca;
    CHECK_OK(sockit_settimeout(u, 5.0));
    CHECK_INT(sockit_recvfrom(u, buf, sizeof buf, 0, &from), ==, 3);
    CHECK_MEM(buf, "udp", 3);
    CHECK_OK(sockit_getsockname(c, &ca));
    CHECK_INT(sockit_addr_port(&from), ==, sockit_addr_port(&ca));
    sockit_close(c);
    sockit_close(u);

    /* Dual-stack UDP: family 0, host NULL. */
    CHECK_OK(sockit_create_server(&u, NULL, "0", &o));
    if (!u)
        return;
    CHECK_INT(sockit_family(u), ==, AF_INET6);
    CHECK_INT(sockit_type(u), ==, SOCK_DGRAM);
    CHECK_INT(sockopt(u, IPPROTO_IPV6, IPV6_V6ONLY), ==, 0);
    tu_portstr(u, port);
    CHECK_OK(sockit_socket(&c, AF_INET, SOCK_DGRAM, 0));
    CHECK_INT(sockit_sendto(c, "v4", 2, 0, "127.0.0.1", port), ==, 2);
    CHECK_OK(sockit_settimeout(u, 5.0));
    CHECK_INT(sockit_recvfrom(u, buf, sizeof buf, 0, &from), ==, 2);
    sockit_close(c);
    sockit_close(u);
}

static void test_server_reuse_port(void)
{
    sockit_sock *a = NULL, *b = NULL, *x = NULL;
    char port[8];
    sockit_server_opts o = {AF_INET, 0, 0, 1, 0};
    CHECK_OK(sockit_create_server(&a, "127.0.0.1", "0", &o));
    if (!a)
        return;
    CHECK_INT(sockopt(a, SOL_SOCKET, SO_REUSEPORT), ==, 1);
    tu_portstr(a, port);
    CHECK_OK(sockit_create_server(&b, "127.0.0.1", port, &o));
    if (b) {
        CHECK_INT(sockopt(b, SOL_SOCKET, SO_REUSEPORT), ==, 1);
        CHECK_INT(sockopt(b, SOL_SOCKET, SO_ACCEPTCONN), ==, 1);
    }
    /* Without reuse_port the port is taken. */
    sockit_server_opts plain = {AF_INET, 0, 0, 0, 0};
    CHECK_CODE(sockit_create_server(&x, "127.0.0.1", port, &plain), -EADDRINUSE);
    CHECK_CONTAINS(sockit_errmsg(), port);
    CHECK_TRUE(x == NULL);
    /* Connections reach one of the two. */
    sockit_sock *c = NULL;
    CHECK_OK(sockit_create_connection(&c, "127.0.0.1", port, 5.0));
    sockit_close(c);
    sockit_close(b);
    sockit_close(a);

    /* A backlog of 1 is fine. */
    sockit_server_opts bl = {0, 0, 1, 0, 0};
    CHECK_OK(sockit_create_server(&a, "127.0.0.1", "0", &bl));
    CHECK_INT(sockopt(a, SOL_SOCKET, SO_ACCEPTCONN), ==, 1);
    sockit_close(a);
}

static void test_server_errors(void)
{
    sockit_sock *l = NULL;
    CHECK_CODE(sockit_create_server(&l, "1.2.3", "0", NULL), SOCKIT_EBADADDR);
    CHECK_CODE(sockit_create_server(&l, "127.0.0.1", "nosuchservice", NULL), SOCKIT_ENOSERVICE);
    CHECK_CODE(sockit_create_server(&l, "127.0.0.1", "70000", NULL), SOCKIT_ENOSERVICE);
    sockit_server_opts o6 = {AF_INET6, 0, 0, 0, 0};
    CHECK_CODE(sockit_create_server(&l, "127.0.0.1", "0", &o6), SOCKIT_EBADADDR);
    CHECK_CODE(sockit_create_server(&l, "<broadcast>", "0", &o6), SOCKIT_EBADADDR);
    char longp[300];
    memset(longp, 'L', sizeof longp);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    CHECK_CODE(sockit_create_server(&l, longp, NULL, NULL), -ENAMETOOLONG);
    CHECK_CODE(sockit_create_server(&l, "/nonexistent-dir-sockit/x.sock", NULL, NULL), -ENOENT);
    CHECK_TRUE(l == NULL);
}

/* ---- create_server: Unix ----------------------------------------------------------------- */

static sockit_sock *unix_client(const char *path)
{
    sockit_sock *c = NULL;
    if (sockit_socket(&c, AF_UNIX, SOCK_STREAM, 0) != 0)
        return NULL;
    if (sockit_connect(c, path, NULL) != 0) {
        sockit_close(c);
        return NULL;
    }
    return c;
}

static void test_server_unix_path(void)
{
    char dir[64], p1[128], p2[128];
    tu_tempdir(dir, sizeof dir);
    CHECK_INT(strlen(dir), >, 0);
    snprintf(p1, sizeof p1, "%s/default.sock", dir);
    snprintf(p2, sizeof p2, "%s/private.sock", dir);
    mode_t old = umask(022); /* a umask that would give 0755: the library must set the bits */

    sockit_sock *l = NULL, *c;
    struct stat st;
    TU_CTX("create_server(\"%s\")", p1);
    CHECK_OK(sockit_create_server(&l, p1, NULL, NULL));
    if (l) {
        CHECK_INT(sockit_family(l), ==, AF_UNIX);
        CHECK_INT(sockopt(l, SOL_SOCKET, SO_ACCEPTCONN), ==, 1);
        CHECK_OK(stat(p1, &st));
        CHECK_TRUE(S_ISSOCK(st.st_mode));
        CHECK_INT(st.st_mode & 07777, ==, 0660);
        c = unix_client(p1);
        CHECK_TRUE(c != NULL);
        if (c)
            CHECK_ROUNDTRIP(l, c);
        sockit_close(c);
        sockit_close(l);
    }

    TU_CTX("create_server(\"%s\", unix_mode 0600)", p2);
    sockit_server_opts o = {0, 0, 0, 0, 0600};
    l = NULL;
    CHECK_OK(sockit_create_server(&l, p2, NULL, &o));
    if (l) {
        CHECK_OK(stat(p2, &st));
        CHECK_INT(st.st_mode & 07777, ==, 0600);
        c = unix_client(p2);
        CHECK_TRUE(c != NULL);
        sockit_close(c);
        sockit_close(l);
    }

    /* family AF_UNIX given explicitly, and a datagram server. */
    TU_CTX("create_server(AF_UNIX, SOCK_DGRAM)");
    unlink(p2);
    sockit_server_opts od = {AF_UNIX, SOCK_DGRAM, 0, 0, 0};
    l = NULL;
    CHECK_OK(sockit_create_server(&l, p2, NULL, &od));
    if (l) {
        CHECK_INT(sockit_type(l), ==, SOCK_DGRAM);
        CHECK_OK(stat(p2, &st));
        CHECK_INT(st.st_mode & 07777, ==, 0660);
        sockit_sock *u = NULL;
        CHECK_OK(sockit_socket(&u, AF_UNIX, SOCK_DGRAM, 0));
        CHECK_INT(sockit_sendto(u, "d", 1, 0, p2, NULL), ==, 1);
        char ch = 0;
        CHECK_INT(sockit_recv(l, &ch, 1, 0), ==, 1);
        CHECK_INT(ch, ==, 'd');
        sockit_close(u);
        sockit_close(l);
    }

    umask(old);
    unlink(p1);
    unlink(p2);
    rmdir(dir);
}

static void test_server_unix_in_use(void)
{
    char dir[64], p[128];
    tu_tempdir(dir, sizeof dir);
    snprintf(p, sizeof p, "%s/live.sock", dir);
    sockit_sock *l = NULL, *l2 = NULL, *c;
    struct stat st1, st2;
    CHECK_OK(sockit_create_server(&l, p, NULL, NULL));
    CHECK_OK(stat(p, &st1));

    CHECK_CODE(sockit_create_server(&l2, p, NULL, NULL), -EADDRINUSE);
    CHECK_CONTAINS(sockit_errmsg(), p);
    CHECK_TRUE(l2 == NULL);
    /* Never clobbered: the same file, and the first server still answers. */
    CHECK_OK(stat(p, &st2));
    CHECK_INT(st2.st_ino, ==, st1.st_ino);
    /* The check for a live server may have left its own short connection in the queue: skip
     * connections that end without a byte, at most two. */
    c = unix_client(p);
    CHECK_TRUE(c != NULL);
    if (c && l) {
        int ok = 0;
        sockit_settimeout(l, 5.0);
        sockit_settimeout(c, 5.0);
        CHECK_INT(sockit_send(c, "c", 1, 0), ==, 1);
        for (int i = 0; i < 3 && !ok; i++) {
            sockit_sock *a = NULL;
            char ch = 0;
            if (sockit_accept(l, &a, NULL) != 0)
                break;
            sockit_settimeout(a, 5.0);
            ok = sockit_recv(a, &ch, 1, 0) == 1 && ch == 'c';
            sockit_close(a);
        }
        CHECK_INT(ok, ==, 1);
    }
    sockit_close(c);
    sockit_close(l);
    unlink(p);
    rmdir(dir);
}

static void test_server_unix_stale(void)
{
    char dir[64], p[128];
    tu_tempdir(dir, sizeof dir);
    snprintf(p, sizeof p, "%s/stale.sock", dir);

    /* A socket file nobody accepts on: bound by hand, then closed without unlink. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    CHECK_INT(strlen(p), <, sizeof sun.sun_path);
    if (strlen(p) < sizeof sun.sun_path)
        memcpy(sun.sun_path, p, strlen(p) + 1);
    CHECK_OK(bind(fd, (struct sockaddr *)&sun, sizeof sun));
    close(fd);
    struct stat st;
    CHECK_OK(stat(p, &st));
    CHECK_TRUE(S_ISSOCK(st.st_mode));

    sockit_sock *l = NULL, *c;
    CHECK_OK(sockit_create_server(&l, p, NULL, NULL));
    c = unix_client(p);
    CHECK_TRUE(c != NULL);
    if (c && l)
        CHECK_ROUNDTRIP(l, c);
    sockit_close(c);
    sockit_close(l);

    /* A server of the library's own, closed: its file (if left) is stale too. */
    l = NULL;
    CHECK_OK(sockit_create_server(&l, p, NULL, NULL));
    c = unix_client(p);
    CHECK_TRUE(c != NULL);
    sockit_close(c);
    sockit_close(l);
    unlink(p);
    rmdir(dir);
}

static void test_server_unix_not_a_socket(void)
{
    char dir[64], p[128], d[128];
    tu_tempdir(dir, sizeof dir);
    snprintf(p, sizeof p, "%s/file", dir);
    snprintf(d, sizeof d, "%s/dir", dir);

    FILE *f = fopen(p, "w");
    CHECK_TRUE(f != NULL);
    if (f) {
        fputs("precious\n", f);
        fclose(f);
    }
    chmod(p, 0644);
    struct stat st1, st2;
    CHECK_OK(stat(p, &st1));

    sockit_sock *l = NULL;
    TU_CTX("create_server on a regular file");
    CHECK_CODE(sockit_create_server(&l, p, NULL, NULL), -EEXIST);
    CHECK_TRUE(l == NULL);
    CHECK_CONTAINS(sockit_errmsg(), p);
    CHECK_OK(stat(p, &st2));
    CHECK_TRUE(S_ISREG(st2.st_mode));
    CHECK_INT(st2.st_ino, ==, st1.st_ino);
    CHECK_INT(st2.st_mode & 07777, ==, 0644);
    CHECK_INT(st2.st_size, ==, 9);
    char buf[32] = {0};
    f = fopen(p, "r");
    if (f) {
        CHECK_TRUE(fgets(buf, sizeof buf, f) != NULL);
        fclose(f);
    }
    CHECK_STR(buf, "precious\n");

    TU_CTX("create_server on a directory");
    CHECK_OK(mkdir(d, 0755));
    CHECK_CODE(sockit_create_server(&l, d, NULL, NULL), -EEXIST);
    CHECK_OK(stat(d, &st2));
    CHECK_TRUE(S_ISDIR(st2.st_mode));

    unlink(p);
    rmdir(d);
    rmdir(dir);
}

static void test_server_abstract(void)
{
    char name[64];
    tu_abstract_name(name, sizeof name);
    sockit_sock *l = NULL, *l2 = NULL, *c;
    CHECK_OK(sockit_create_server(&l, name, NULL, NULL));
    if (!l)
        return;
    CHECK_INT(sockit_family(l), ==, AF_UNIX);
    sockit_addr la;
    char f[SOCKIT_ADDRSTRLEN];
    CHECK_OK(sockit_getsockname(l, &la));
    CHECK_STR(sockit_addr_format(&la, f, sizeof f), name);
    c = unix_client(name);
    CHECK_TRUE(c != NULL);
    if (c)
        CHECK_ROUNDTRIP(l, c);
    sockit_close(c);
    CHECK_CODE(sockit_create_server(&l2, name, NULL, NULL), -EADDRINUSE);
    sockit_close(l);
}

/* Failing conveniences leave no descriptor behind (the probe of a live Unix server, losing
 * Happy Eyeballs attempts, refused connections, taken ports). */
/* A lookup abandoned at its deadline finishes on its helper thread, whose resolver socket is open
 * until then: not a leak, and not ours to count. Waits (bounded) until none runs. */
static void wait_lookups_done(void)
{
    CHECK_INT(sockit__lookups_wait(60), ==, 0);
}

static void test_no_fd_leaks(void)
{
    char dir[64], path[128], file[128], port[8], q[8];
    tu_tempdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/live.sock", dir);
    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    if (f)
        fclose(f);
    sockit_sock *live = NULL, *tcp = NULL, *x = NULL, *hold = NULL;
    CHECK_OK(sockit_create_server(&live, path, NULL, NULL));
    CHECK_OK(sockit_create_server(&tcp, "127.0.0.1", "0", NULL));
    tu_portstr(tcp, port);
    hold = hold_port(AF_INET, "127.0.0.1", "0", q);
    sockit_addr addrs[3];
    CHECK_OK(sockit_addr_resolve(&addrs[0], AF_INET6, 0, "::1", q, 0));
    CHECK_OK(sockit_addr_resolve(&addrs[1], AF_INET, 0, "127.0.0.1", q, 0));
    CHECK_OK(sockit_addr_resolve(&addrs[2], AF_INET, 0, "127.0.0.1", port, 0));
    sockit_create_connection(&x, "nosuch.invalid", "80", 1.0); /* warm up the resolver */

    wait_lookups_done();
    int before = tu_count_fds();
    for (int i = 0; i < 10; i++) {
        x = NULL;
        sockit_create_server(&x, path, NULL, NULL);       /* -EADDRINUSE */
        sockit_create_server(&x, file, NULL, NULL);       /* -EEXIST */
        sockit_create_server(&x, "127.0.0.1", port, NULL); /* -EADDRINUSE */
        sockit_create_server(&x, "1.2.3", "0", NULL);
        sockit_create_connection(&x, "127.0.0.1", q, 1.0); /* refused */
        sockit_create_connection(&x, "localhost", q, -1);
        sockit_create_connection(&x, "nosuch.invalid", "80", 1.0);
        sockit_create_connection_addrs(&x, addrs, 2, 0, 1.0);
        x = NULL;
        if (sockit_create_connection_addrs(&x, addrs, 3, 0, 1.0) == 0) {
            sockit_sock *a = NULL;
            sockit_close(x);
            if (sockit_accept(tcp, &a, NULL) == 0)
                sockit_close(a);
        }
    }
    wait_lookups_done();
    CHECK_INT(tu_count_fds(), ==, before);
    sockit_close(hold);
    sockit_close(tcp);
    sockit_close(live);
    unlink(path);
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    TU_RUN(test_create_connection, 15);
    TU_RUN(test_create_connection_refused, 15);
    TU_RUN(test_create_connection_addrs, 15);
    TU_RUN(test_create_connection_errors, 40);
    TU_RUN(test_server_dual_stack, 15);
    TU_RUN(test_server_v6only, 15);
    TU_RUN(test_server_dgram, 15);
    TU_RUN(test_server_reuse_port, 15);
    TU_RUN(test_server_errors, 10);
    TU_RUN(test_server_unix_path, 10);
    TU_RUN(test_server_unix_in_use, 10);
    TU_RUN(test_server_unix_stale, 10);
    TU_RUN(test_server_unix_not_a_socket, 10);
    TU_RUN(test_server_abstract, 10);
    TU_RUN(test_no_fd_leaks, 30);
    return tu_done();
}
