/*
 * A log line at most once a second per limiter, from any number of threads, counting the lines
 * held back (the next line says how many). Lock-free: one compare-and-swap decides which caller
 * speaks for the second.
 */
#include "internal/server.h"

#define RATELOG_PERIOD_NS 1000000000

void sockit__ratelog(sockit_server *srv, struct sockit__ratelog *rl, const char *what, const char *why)
{
    int64_t now = sockit__now();
    int64_t last = atomic_load_explicit(&rl->last, memory_order_relaxed);
    if ((last == 0 || now - last >= RATELOG_PERIOD_NS) &&
        atomic_compare_exchange_strong_explicit(&rl->last, &last, now, memory_order_relaxed,
                                                memory_order_relaxed)) {
        uint64_t held = atomic_exchange_explicit(&rl->held, 0, memory_order_relaxed);
        sockit__server_log(srv, "%s: %s (%llu more since last said)", what, why, (unsigned long long)held);
        return;
    }
    atomic_fetch_add_explicit(&rl->held, 1, memory_order_relaxed);
}
