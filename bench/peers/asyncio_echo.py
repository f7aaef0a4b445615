#!/usr/bin/env python3
"""asyncio_echo: Python's asyncio echo server, one process, as a peer for sockit's echo benchmark.

Written with a Protocol (not streams): data_received writes the bytes straight back, which is
the fastest pure-asyncio echo; pause/resume_writing stop reading while the transport's buffer is
above its high-water mark (backpressure), like the C peers.

Usage: asyncio_echo.py [-t THREADS] HOST PORT   (PORT 0 picks a free port; -t is accepted for a
common command line but asyncio runs one loop in one thread, so it must be 1 or is ignored with
a note.) Prints "listening on ADDR:PORT" on stderr once accepting; exits 0 on SIGTERM/SIGINT.
"""
import argparse
import asyncio
import resource
import signal
import socket
import sys


class Echo(asyncio.Protocol):
    __slots__ = ("transport",)

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.transport.write(data)

    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


async def serve(host, port):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    server = await loop.create_server(Echo, host, port, backlog=socket.SOMAXCONN,
                                      reuse_address=True)
    sockname = server.sockets[0].getsockname()
    if server.sockets[0].family == socket.AF_INET6:
        print(f"listening on [{sockname[0]}]:{sockname[1]}", file=sys.stderr, flush=True)
    else:
        print(f"listening on {sockname[0]}:{sockname[1]}", file=sys.stderr, flush=True)
    await stop
    server.close()


def main():
    ap = argparse.ArgumentParser(description="asyncio echo server (benchmark peer)")
    ap.add_argument("-t", type=int, default=1, help="threads (asyncio: always 1)")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    args = ap.parse_args()
    if args.t != 1:
        print(f"asyncio_echo: -t {args.t} ignored: asyncio runs one loop in one thread",
              file=sys.stderr, flush=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
