/*
 * Datagram servers: each worker reads its socket and calls on_datagram once per datagram.
 */
#include "internal/server.h"

#include <sys/socket.h>

#define DGRAMS_PER_EVENT 64

ssize_t sockit_dgram_sendto(sockit_dgram *d, const void *data, size_t len, const sockit_addr *to)
{
    for (;;) {
        ssize_t n = sendto(d->w->lfd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT,
                           (const struct sockaddr *)&to->sa, to->len);
        if (n >= 0) {
            sockit__count(&d->w->bytes_out, (uint64_t)n);
            return n;
        }
        if (errno != EINTR) return sockit__fail(-errno, "sendto");
    }
}

ssize_t sockit_dgram_reply(sockit_dgram *d, const void *data, size_t len)
{
    return sockit_dgram_sendto(d, data, len, d->from);
}

sockit_server *sockit_dgram_server(const sockit_dgram *d) { return d->w->srv; }

void sockit__on_datagram_ready(sockit_loop *loop, int fd, int events, void *arg)
{
    struct worker *w = arg;
    sockit_addr from;
    sockit_dgram d = {w, &from};
    (void)loop, (void)events;
    for (int i = 0; i < DGRAMS_PER_EVENT; i++) {
        from.len = sizeof from.sa;
        ssize_t n = recvfrom(fd, w->rbuf, w->rsize, MSG_DONTWAIT, (struct sockaddr *)&from.sa, &from.len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return; /* EAGAIN; or an ICMP error from an earlier reply: nothing to do here */
        }
        sockit__count(&w->accepted, 1);
        sockit__count(&w->bytes_in, (uint64_t)n);
        w->srv->cbs.on_datagram(&d, w->rbuf, (size_t)n, &from);
    }
}
