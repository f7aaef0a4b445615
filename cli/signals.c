/*
 * Signals for the command.
 *
 * The library retries EINTR inside its calls (PEP 475), so a signal cannot be noticed through
 * them. Servers therefore do all their waiting in poll() calls of their own, with the read end
 * of a self-pipe in the set: the handler sets a flag and writes one byte, so a signal arriving
 * just before poll() still wakes it (a flag alone would be lost in that window).
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stopped;
static int stop_pipe[2] = {-1, -1};

void cli_ignore_sigpipe(void)
{
    /* The library never raises SIGPIPE on sockets; this covers writes to standard output. */
    signal(SIGPIPE, SIG_IGN);
}

static void on_stop(int sig)
{
    int saved = errno; /* the interrupted code may be about to read errno */
    stopped = 1;
    if (stop_pipe[1] >= 0) {
        ssize_t n = write(stop_pipe[1], "x", 1); /* non-blocking: a full pipe is awake anyway */
        (void)n;
    }
    errno = saved;
}

int cli_stop_on_signals(void)
{
    if (stop_pipe[0] < 0 && pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking write to standard output returns EINTR */
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return -errno;
    return 0;
}

int cli_stop_fd(void)
{
    return stop_pipe[0];
}

int cli_stopped(void)
{
    return stopped != 0;
}
