/*
 * The hot-path system calls of the server core and the loop, made directly.
 *
 * In a multi-threaded process glibc wraps recv, send and epoll_wait as thread-cancellation points:
 * two atomic read-modify-writes around every call (about 90 instructions, measured with
 * callgrind). The library never cancels its threads, so it calls the kernel through syscall(2).
 * Sanitizer builds keep the libc calls, whose interceptors check the buffers.
 */
#ifndef SOCKIT_INTERNAL_SYS_H
#define SOCKIT_INTERNAL_SYS_H

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SOCKIT__LIBC_SYSCALLS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SOCKIT__LIBC_SYSCALLS 1
#endif
#endif

#if defined(SOCKIT__LIBC_SYSCALLS) || !defined(SYS_recvfrom) || !defined(SYS_sendto) || !defined(SYS_epoll_wait)
static inline ssize_t sockit__sys_recvb(int fd, void *buf, size_t len, int flags) { return recv(fd, buf, len, flags); }
static inline ssize_t sockit__sys_sendb(int fd, const void *buf, size_t len, int flags) { return send(fd, buf, len, flags); }
static inline int sockit__sys_epoll_wait(int ep, struct epoll_event *ev, int n, int ms) { return epoll_wait(ep, ev, n, ms); }
#else
static inline ssize_t sockit__sys_recvb(int fd, void *buf, size_t len, int flags)
{
    return syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);
}
static inline ssize_t sockit__sys_sendb(int fd, const void *buf, size_t len, int flags)
{
    return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}
static inline int sockit__sys_epoll_wait(int ep, struct epoll_event *ev, int n, int ms)
{
    return (int)syscall(SYS_epoll_wait, ep, ev, n, ms);
}
#endif

#endif
