/*
 * rusage_run: runs one command and reports its wall time and the CPU time it used, at microsecond
 * resolution (/usr/bin/time prints hundredths). The client benchmarks (bench/client_bench.sh,
 * bench/ftp_bench.sh) time every client with it, so curl, Python and sockit are measured alike.
 *
 * Usage: rusage_run [-r REPORT] [-t SECONDS] -- COMMAND [ARGS...]
 *   The command inherits stdin, stdout and stderr. When it ends, one line is written to REPORT
 *   (default: stderr, after the command's own output):
 *     rusage wall=S user=S sys=S cpu=S maxrss_kb=N status=N
 *   wall: seconds from just before fork to the reaping (CLOCK_MONOTONIC); user/sys: the child's
 *   ru_utime/ru_stime from wait4 (their sum is the kernel's exact run time; the split between
 *   them is sampled); cpu: user + sys; status: the exit status, or 128 + the signal number.
 *   -t SECONDS: kill the command (SIGKILL) after that long; its status is then 137.
 * Exit status: the command's status; 127 when it cannot be started, 2 on a usage error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static pid_t child;

/* SIGALRM: the -t bound expired. */
static void on_alarm(int sig)
{
    (void)sig;
    if (child > 0) kill(child, SIGKILL);
}

static int usage(void)
{
    fprintf(stderr, "usage: rusage_run [-r REPORT] [-t SECONDS] -- COMMAND [ARGS...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *report = NULL;
    unsigned limit = 0;
    int opt;
    while ((opt = getopt(argc, argv, "+r:t:")) != -1) {
        if (opt == 'r') report = optarg;
        else if (opt == 't') limit = (unsigned)strtoul(optarg, NULL, 10);
        else return usage();
    }
    if (optind >= argc) return usage();

    double start = now();
    child = fork();
    if (child < 0) {
        perror("rusage_run: fork");
        return 127;
    }
    if (child == 0) {
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "rusage_run: %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    if (limit) {
        signal(SIGALRM, on_alarm);
        alarm(limit);
    }
    int wstatus;
    struct rusage ru;
    pid_t got;
    while ((got = wait4(child, &wstatus, 0, &ru)) < 0 && errno == EINTR) {}
    double wall = now() - start;
    if (got < 0) {
        perror("rusage_run: wait4");
        return 127;
    }
    int status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    double user = tv_seconds(ru.ru_utime), sys = tv_seconds(ru.ru_stime);

    FILE *out = stderr;
    if (report && !(out = fopen(report, "w"))) {
        perror("rusage_run: report file");
        return 127;
    }
    fprintf(out, "rusage wall=%.6f user=%.6f sys=%.6f cpu=%.6f maxrss_kb=%ld status=%d\n", wall, user,
            sys, user + sys, ru.ru_maxrss, status);
    if (out != stderr) fclose(out);
    return status;
}
