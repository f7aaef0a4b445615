/*
 * The server's listening (or datagram) sockets.
 *
 * IP servers with several workers give each worker its own SO_REUSEPORT socket, so the kernel
 * spreads connections over them. SO_REUSEPORT would also let a second server — another
 * process's, or this process's — bind the same port and take a share of the traffic, silently.
 * So the port is first claimed by a probe socket WITHOUT SO_REUSEPORT: if anything listens there
 * (with or without SO_REUSEPORT), the probe's bind fails with -EADDRINUSE, as Python's
 * socketserver would. The probe is then closed and the workers' sockets bound on that exact port
 * (for "0", the one the kernel chose for the probe). A one-worker server needs no probe: its one
 * socket is bound without SO_REUSEPORT. Unix sockets are one socket shared by all workers.
 *
 * What this cannot see: a server that binds the port with SO_REUSEPORT in the moment between
 * the probe's close and our binds; and, for UDP, sockets that let others share their port with
 * SO_REUSEADDR (Linux allows that for UDP whatever we do).
 */
#include "internal/server.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Port "0" chosen by the kernel for the probe may be taken by someone else before the workers
 * bind it: then the probe runs again, this many times at most. */
#define PROBE_TRIES 4

static int open_listener(sockit_server *srv, const char *port, int reuse_port, int *fd)
{
    sockit_server_opts o = {.family = srv->family, .type = srv->type, .backlog = srv->cfg.backlog,
                            .reuse_port = reuse_port, .unix_mode = srv->cfg.unix_mode};
    sockit_sock *s;
    int r = sockit_create_server(&s, srv->host, port, &o);
    if (r < 0) return r;
    *fd = sockit_detach(s);
    fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* The address to probe: the one sockit_create_server binds for the same host and family (the
 * dual-stack IPv6 wildcard for no host, unless the system has no IPv6). *v6only: -1 leave, 0/1. */
static int probe_addr(sockit_server *srv, const char *port, sockit_addr *a, int *v6only)
{
    *v6only = srv->family == AF_INET6 ? 1 : -1;
    if (srv->host && *srv->host) return sockit_addr_resolve(a, srv->family, srv->type, srv->host, port, 1);
    if (srv->family) return sockit_addr_resolve(a, srv->family, srv->type, NULL, port, 1);
    int fd = socket(AF_INET6, srv->type | SOCK_CLOEXEC, 0);
    if (fd < 0) return sockit_addr_resolve(a, AF_INET, srv->type, NULL, port, 1);
    close(fd);
    *v6only = 0;
    return sockit_addr_resolve(a, AF_INET6, srv->type, NULL, port, 1);
}

/* Binds a probe socket without SO_REUSEPORT on the port and closes it: -EADDRINUSE ("bind
 * 127.0.0.1:8080: Address already in use") if anything holds the port, else 0 and the port in
 * `out` (the kernel's choice for "0"). TCP probes have SO_REUSEADDR (so that connections in
 * TIME_WAIT do not count) and never listen; UDP probes have no option at all. */
static int probe_port(sockit_server *srv, const char *port, char out[16])
{
    sockit_addr a, bound;
    int v6only;
    int r = probe_addr(srv, port, &a, &v6only);
    sockit_sock *s = NULL;
    if (r == 0) r = sockit_socket(&s, a.sa.ss_family, srv->type, 0);
    if (r == 0 && srv->type == SOCK_STREAM) r = sockit_setsockopt_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
    if (r == 0 && v6only >= 0) r = sockit_setsockopt_int(s, IPPROTO_IPV6, IPV6_V6ONLY, v6only);
    if (r == 0) r = sockit_bind_addr(s, &a);
    if (r == 0) r = sockit_getsockname(s, &bound);
    sockit_close(s);
    if (r == 0) snprintf(out, 16, "%d", sockit_addr_port(&bound));
    return r;
}

/* Records the Unix path just bound as ours to remove at the end — and only this very file, not
 * one put there since (sockit_server_free compares device and inode). */
static void own_path(sockit_server *srv)
{
    struct stat st;
    if (!srv->is_unix_path || srv->host[0] != '/' || lstat(srv->host, &st) != 0) return;
    srv->path_dev = st.st_dev;
    srv->path_ino = st.st_ino;
    srv->owns_path = 1;
}

static void close_listeners(sockit_server *srv)
{
    for (int i = 0; i < srv->nworkers; i++)
        if (srv->w[i].own_lfd && srv->w[i].lfd >= 0) {
            close(srv->w[i].lfd);
            srv->w[i].lfd = -1;
            srv->w[i].own_lfd = 0;
        }
}

/* One SO_REUSEPORT socket per worker on `port`; on failure none is left open. */
static int bind_workers(sockit_server *srv, const char *port)
{
    for (int i = 0; i < srv->nworkers; i++) {
        int r = open_listener(srv, port, 1, &srv->w[i].lfd);
        if (r < 0) {
            srv->w[i].lfd = -1;
            close_listeners(srv);
            return r;
        }
        srv->w[i].own_lfd = 1;
    }
    return 0;
}

/* Several workers on an IP port: probe, then bind them all on the probed port. */
static int bind_shared_port(sockit_server *srv)
{
    int any = !srv->port || !*srv->port || !strcmp(srv->port, "0");
    int r = 0;
    for (int tries = 0; tries < PROBE_TRIES; tries++) {
        char port[16];
        if ((r = probe_port(srv, srv->port, port)) < 0) return r;
        r = bind_workers(srv, port);
        if (r != -EADDRINUSE || !any) return r; /* (a port of ours was taken between the two) */
    }
    return r;
}

static int is_unix(const sockit_server *srv)
{
    return srv->is_unix_path || srv->addr.sa.ss_family == AF_UNIX;
}

static int read_addr(sockit_server *srv)
{
    sockit_sock *tmp;
    int r = sockit_fromfd(&tmp, srv->w[0].lfd);
    if (r < 0) return r;
    r = sockit_getsockname(tmp, &srv->addr);
    sockit_detach(tmp);
    return r;
}

int sockit__listen_all(sockit_server *srv)
{
    int r;
    if (srv->nworkers > 1 && !srv->is_unix_path && srv->family != AF_UNIX) {
        if ((r = bind_shared_port(srv)) < 0) return r;
        return read_addr(srv);
    }
    /* One worker, or a Unix socket: one socket, without SO_REUSEPORT, that all workers watch. */
    if ((r = open_listener(srv, srv->port, 0, &srv->w[0].lfd)) < 0) return r;
    srv->w[0].own_lfd = 1;
    own_path(srv);
    if ((r = read_addr(srv)) < 0) return r;
    for (int i = 1; i < srv->nworkers && is_unix(srv); i++) {
        srv->w[i].lfd = srv->w[0].lfd;
        srv->shared_lfd = srv->w[0].lfd;
    }
    return 0;
}
