/*
 * socket.create_connection and socket.create_server.
 *
 * create_connection races the resolved addresses Happy-Eyeballs style (RFC 8305): addresses are
 * interleaved by family starting with the resolver's first, a new attempt starts every 250 ms (or
 * at once when one fails) while earlier attempts stay pending, the first to connect wins and the
 * rest are closed. One deadline bounds resolution and every attempt.
 */
#include "internal/core.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_ADDRS 32
#define ATTEMPT_DELAY_NS 250000000 /* RFC 8305's recommended Connection Attempt Delay */

/* Interleaves families, starting with the family of the first address (RFC 8305, section 4). */
static size_t interleave(const sockit_addr *in, size_t n, const sockit_addr **out)
{
    size_t k = 0, i = 0, j = 0;
    int first = in[0].sa.ss_family;
    while (k < n) {
        while (i < n && in[i].sa.ss_family != first) i++;
        if (i < n) out[k++] = &in[i++];
        while (j < n && in[j].sa.ss_family == first) j++;
        if (j < n) out[k++] = &in[j++];
    }
    return k;
}

struct attempt {
    int fd;
    const sockit_addr *addr;
};

/* The list of failures that becomes the message: "ADDR: reason; ADDR: reason". */
struct failures {
    char text[900];
    size_t len;
    int last;
};

static void record(struct failures *f, const sockit_addr *a, int code)
{
    char b[SOCKIT_ADDRSTRLEN];
    if (f->len < sizeof f->text)
        f->len += (size_t)snprintf(f->text + f->len, sizeof f->text - f->len, "%s%s: %s",
                                   f->len ? "; " : "", sockit_addr_format(a, b, sizeof b),
                                   sockit_strerror(code));
    if (f->len >= sizeof f->text) f->len = sizeof f->text - 1;
    f->last = code;
}

/* The local address each attempt binds to (sockit_connect_opts.source_*), resolved once per
 * family as attempts of that family start. */
struct source {
    const char *host, *port;
    int have[2];    /* [0] AF_INET, [1] AF_INET6: 0 not yet resolved, 1 resolved, < 0 a code */
    sockit_addr addr[2];
};

static int source_for(struct source *src, int family, int type, int64_t deadline,
                      const sockit_addr **out)
{
    int i = family == AF_INET6;
    *out = NULL;
    if (!src->host && !src->port) return 0;
    if (src->have[i] == 0) {
        int r = sockit__resolve_all(src->host, src->port, family, type, 1, &src->addr[i], 1, deadline);
        src->have[i] = r < 0 ? r : 1;
    }
    if (src->have[i] < 0) return src->have[i];
    *out = &src->addr[i];
    return 0;
}

/* Starts one non-blocking attempt, bound to src first when there is one. Returns the fd
 * (connected or in progress), or a code. */
static int start_attempt(const sockit_addr *a, const sockit_addr *src, int type)
{
    int fd = socket(a->sa.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    if (src && bind(fd, (const struct sockaddr *)&src->sa, src->len) < 0) goto fail;
    if (connect(fd, (const struct sockaddr *)&a->sa, a->len) == 0 || errno == EINPROGRESS)
        return fd;
fail:;
    int e = errno;
    close(fd);
    return -e;
}

/* Waits for the pending attempts until one connects (returns its index), all in flight failed
 * (returns -1: the caller may start the next), or the wait limit passes (returns -1 too). */
static int poll_attempts(struct attempt *att, size_t *natt, struct failures *f, int ms)
{
    struct pollfd p[MAX_ADDRS];
    for (size_t i = 0; i < *natt; i++) p[i] = (struct pollfd){.fd = att[i].fd, .events = POLLOUT};
    int r = poll(p, *natt, ms);
    if (r <= 0) return -1; /* timeout, or EINTR: the caller recomputes its limits */
    for (size_t i = 0; i < *natt;) {
        if (!p[i].revents) {
            i++;
            continue;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(att[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
        if (err == 0) return (int)i;
        record(f, att[i].addr, -err);
        close(att[i].fd);
        att[i] = att[--*natt];
        p[i] = p[*natt];
    }
    return -1;
}

int sockit__connect_many(sockit_sock **out, const sockit_addr *addrs, size_t n, int type,
                         const sockit_connect_opts *o, double timeout, int64_t deadline,
                         const char *what)
{
    const sockit_addr *order[MAX_ADDRS];
    struct attempt att[MAX_ADDRS];
    struct failures f = {.last = -ECONNREFUSED};
    struct source src = {.host = o ? o->source_host : NULL, .port = o ? o->source_port : NULL};
    size_t natt = 0, next = 0;
    int64_t next_at = 0;
    if (n == 0) return sockit__failmsg(SOCKIT_ENOHOST, "%s: no address to connect to", what);
    if (n > MAX_ADDRS) n = MAX_ADDRS;
    if (type == 0) type = SOCK_STREAM;
    n = interleave(addrs, n, order);
    for (;;) {
        int64_t now = sockit__now();
        if (next < n && (natt == 0 || now >= next_at)) {
            const sockit_addr *from;
            int fd = source_for(&src, order[next]->sa.ss_family, type, deadline, &from);
            if (fd == 0) fd = start_attempt(order[next], from, type);
            if (fd >= 0) att[natt++] = (struct attempt){fd, order[next]};
            else record(&f, order[next], fd);
            next++;
            next_at = now + ATTEMPT_DELAY_NS;
            continue;
        }
        if (natt == 0) break; /* every address failed */
        if (deadline != SOCKIT__NEVER && now >= deadline) {
            for (size_t i = 0; i < natt; i++) {
                record(&f, att[i].addr, -ETIMEDOUT);
                close(att[i].fd);
            }
            f.last = -ETIMEDOUT;
            break;
        }
        int64_t until = next < n && next_at < deadline ? next_at : deadline;
        int w = poll_attempts(att, &natt, &f, sockit__remaining_ms(until));
        if (w < 0) continue;
        for (size_t i = 0; i < natt; i++) /* the winner stays; the others are closed */
            if ((int)i != w) close(att[i].fd);
        int r = sockit__sock_new(out, att[w].fd, att[w].addr->sa.ss_family, type, 0, timeout);
        if (r < 0) close(att[w].fd);
        return r;
    }
    return sockit__failmsg(f.last, "%s: %s", what, f.text);
}

int sockit_create_connection_addrs(sockit_sock **out, const sockit_addr *addrs, size_t n,
                                   int type, double timeout)
{
    return sockit__connect_many(out, addrs, n, type, NULL, timeout, sockit__deadline(timeout),
                                "connect");
}

int sockit__create_connection_dl(sockit_sock **out, const char *host, const char *port,
                                 double timeout, const sockit_connect_opts *o, int64_t deadline)
{
    sockit_addr addrs[MAX_ADDRS];
    char what[256], qh[96], qp[96];
    int family = o ? o->family : 0;
    if (family != 0 && family != AF_INET && family != AF_INET6)
        return sockit__failmsg(-EAFNOSUPPORT, "connect: address family %d (0, AF_INET or AF_INET6)", family);
    int n = sockit__resolve_all(host, port, family, SOCK_STREAM, 0, addrs, MAX_ADDRS, deadline);
    if (n < 0) return n;
    snprintf(what, sizeof what, "connect %s port %s", sockit__quote(host ? host : "", qh, sizeof qh),
             sockit__quote(port ? port : "", qp, sizeof qp));
    return sockit__connect_many(out, addrs, (size_t)n, SOCK_STREAM, o, timeout, deadline, what);
}

int sockit_create_connection_ex(sockit_sock **out, const char *host, const char *port,
                                double timeout, const sockit_connect_opts *o)
{
    int64_t deadline = o && o->deadline ? o->deadline : sockit__deadline(timeout);
    return sockit__create_connection_dl(out, host, port, timeout, o, deadline);
}

int sockit_create_connection(sockit_sock **out, const char *host, const char *port,
                             double timeout)
{
    return sockit_create_connection_ex(out, host, port, timeout, NULL);
}

/* ---- create_server ----------------------------------------------------------------------- */

/* Makes room for a Unix socket at path: nothing there is fine; a socket nobody accepts on is
 * stale and removed; a live socket (-EADDRINUSE) or another kind of file (-EEXIST) is left. */
static int clear_unix_path(const char *path, int type)
{
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : sockit__fail(-errno, "stat %s", path);
    if (!S_ISSOCK(st.st_mode))
        return sockit__failmsg(-EEXIST, "bind %s: a file that is not a socket is in the way", path);
    sockit_addr a;
    int r = sockit_addr_unix(&a, path);
    if (r < 0) return r;
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return sockit__fail(-errno, "socket(unix)");
    r = connect(fd, (struct sockaddr *)&a.sa, a.len);
    int e = errno;
    close(fd);
    if (r == 0 || e == EAGAIN || e == EINPROGRESS)
        return sockit__failmsg(-EADDRINUSE, "bind %s: a server is already listening there", path);
    if (e != ECONNREFUSED) return sockit__fail(-e, "bind %s: probing the existing socket", path);
    if (unlink(path) < 0 && errno != ENOENT) return sockit__fail(-errno, "unlink stale %s", path);
    return 0;
}

static int server_options(sockit_sock *s, int family, int dualstack, const sockit_server_opts *o)
{
    int r = 0;
    if (family == AF_UNIX) return 0;
    r = sockit_setsockopt_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
    if (r == 0 && o->reuse_port) r = sockit_setsockopt_int(s, SOL_SOCKET, SO_REUSEPORT, 1);
    if (r == 0 && family == AF_INET6)
        r = sockit_setsockopt_int(s, IPPROTO_IPV6, IPV6_V6ONLY, dualstack ? 0 : 1);
    return r;
}

int sockit_create_server(sockit_sock **out, const char *host, const char *port,
                         const sockit_server_opts *opts)
{
    sockit_server_opts o = opts ? *opts : (sockit_server_opts){0};
    int type = o.type ? o.type : SOCK_STREAM;
    int family = o.family;
    int wildcard = !host || !*host;
    if (family == 0 && host && (host[0] == '/' || host[0] == '@')) family = AF_UNIX;
    int dualstack = family == 0 && wildcard;
    sockit_addr a;
    sockit_sock *s = NULL;
    int r;
    if (dualstack) {
        r = sockit_addr_resolve(&a, AF_INET6, type, NULL, port, 1);
        if (r < 0) return r;
        r = sockit_socket(&s, AF_INET6, type, 0);
        if (r == -EAFNOSUPPORT) { /* no IPv6 on this system: the IPv4 wildcard it is */
            dualstack = 0;
            family = AF_INET;
            r = sockit_addr_resolve(&a, AF_INET, type, NULL, port, 1);
            if (r == 0) r = sockit_socket(&s, AF_INET, type, 0);
        }
    } else {
        r = sockit_addr_resolve(&a, family, type, host, port, 1);
        if (r == 0) r = sockit_socket(&s, a.sa.ss_family, type, 0);
    }
    if (r < 0) return r;
    family = a.sa.ss_family;
    int is_path = family == AF_UNIX && host && host[0] && host[0] != '@';
    r = server_options(s, family, dualstack, &o);
    mode_t mode = o.unix_mode ? (mode_t)o.unix_mode : 0660;
    if (r == 0 && is_path) r = clear_unix_path(host, type);
    /* Linux creates the socket file with the socket inode's mode less the umask: set it first, so
     * the file is never more open than asked for, even between bind and the chmod below. */
    if (r == 0 && is_path) fchmod(sockit_fileno(s), mode);
    if (r == 0) r = sockit_bind_addr(s, &a);
    int bound = r == 0;
    if (r == 0 && is_path && chmod(host, mode) < 0)
        r = sockit__fail(-errno, "chmod %s", host);
    if (r == 0 && (type == SOCK_STREAM || type == SOCK_SEQPACKET))
        r = sockit_listen(s, o.backlog > 0 ? o.backlog : -1);
    if (r < 0) {
        if (is_path && bound) unlink(host); /* do not leave our half-made socket file behind */
        sockit_close(s);
        return r;
    }
    *out = s;
    return 0;
}
