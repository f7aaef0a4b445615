/*
 * The progress bar of http get and ftp get/put: one line on stderr, redrawn in place (at most
 * ten times a second, and once more at the end), showing bytes so far, the total and a bar when
 * the total is known, the rate and the time left:
 *
 *   [#########.............]  41%   42.0 MiB / 102.4 MiB   11.2 MiB/s  ETA 0:05
 *
 * It draws only when asked to (the caller decides: stderr a terminal, the body going to a file,
 * not -s). Bytes a resumed transfer already had count in the total and the percentage, not in the
 * rate.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

/* "123 B", "1.5 KiB", "42.0 MiB": n in a short human form. */
static void human(char *out, size_t cap, double n)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (n >= 1024 && u < 4) {
        n /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%.0f %s", n, unit[u]);
    else
        snprintf(out, cap, "%.1f %s", n, unit[u]);
}

static void duration(char *out, size_t cap, double secs)
{
    if (secs < 0 || secs > 359999) {
        snprintf(out, cap, "--:--");
        return;
    }
    unsigned s = (unsigned)(secs + 0.5);
    if (s >= 3600)
        snprintf(out, cap, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, cap, "%u:%02u", s / 60, s % 60);
}

void cli_progress_start(cli_progress *p, int on, int64_t total, uint64_t already)
{
    memset(p, 0, sizeof *p);
    p->on = on;
    p->total = total;
    p->already = already;
    p->done = already;
    p->start = cli_now();
    p->last_draw = -1;
}

static void draw(cli_progress *p, double now, int final)
{
    char have[32], all[32], rate_s[32], eta[16], line[160];
    double secs = now - p->start;
    double moved = (double)(p->done - (p->done >= p->already ? p->already : p->done));
    double rate = secs > 0.05 ? moved / secs : 0;
    human(have, sizeof have, (double)p->done);
    human(rate_s, sizeof rate_s, rate);
    size_t n = 0;
    if (p->total >= 0) {
        double frac = p->total > 0 ? (double)p->done / (double)p->total : 1.0;
        if (frac > 1)
            frac = 1;
        char bar[24];
        int fill = (int)(frac * 22);
        for (int i = 0; i < 22; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[22] = 0;
        human(all, sizeof all, (double)p->total);
        if (final)
            duration(eta, sizeof eta, secs);
        else if (rate > 0 && (uint64_t)p->total > p->done)
            duration(eta, sizeof eta, ((double)p->total - (double)p->done) / rate);
        else
            duration(eta, sizeof eta, -1);
        n = (size_t)snprintf(line, sizeof line, "[%s] %3d%%  %10s / %-10s %10s/s  %s %s", bar,
                             (int)(frac * 100), have, all, rate_s, final ? "in " : "ETA", eta);
    } else {
        duration(eta, sizeof eta, secs);
        n = (size_t)snprintf(line, sizeof line, "%10s  %10s/s  %s", have, rate_s, eta);
    }
    if (n >= sizeof line)
        n = sizeof line - 1;
    /* Pad over a longer previous line, then return to the start of the line. */
    int pad = p->drawn_len > (int)n ? p->drawn_len - (int)n : 0;
    fprintf(stderr, "\r%s%*s%s", line, pad, "", final ? "\n" : "");
    fflush(stderr);
    p->drawn_len = (int)n;
    p->last_draw = now;
}

void cli_progress_update(cli_progress *p, uint64_t done, int64_t total)
{
    p->done = done;
    if (total >= 0)
        p->total = total;
    if (!p->on)
        return;
    double now = cli_now();
    if (p->last_draw >= 0 && now - p->last_draw < 0.1)
        return;
    draw(p, now, 0);
}

void cli_progress_end(cli_progress *p)
{
    if (!p->on || p->ended)
        return;
    p->ended = 1;
    draw(p, cli_now(), 1);
}
