/*
 * runtime/runtime.c -- creating, stopping and measuring a runtime.
 *
 * Shutdown order (tr_runtime_free), each step a precondition of the next:
 *   1. closing: external sends and all spawns are refused; actors keep
 *      sending to each other, so work in flight can finish;
 *   2. timers are cancelled (a periodic timer would keep the system busy
 *      forever) and new ones refused;
 *   3. wait until every worker is parked with nothing queued (drain);
 *   4. every live actor gets a STOP behind what is in its mailbox: stop
 *      hooks run, monitors get DOWN(TR_ECLOSED); wait for quiet again;
 *   5. workers exit and are joined, the I/O loop stops;
 *   6. anything left (only if a deadline passed) is reaped and counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "troupe/log.h"

static uint32_t pow2_at_least(uint32_t v)
{
    uint32_t p = 1;
    while (p < v && p < (1u << 29))
        p <<= 1;
    return p;
}

int tr_runtime_new(tr_runtime **out, const tr_runtime_opts *opts)
{
    if (out == NULL)
        return TR_EINVAL;
    tr_runtime *rt = aligned_alloc(TR__CACHELINE, sizeof(*rt));
    if (rt == NULL)
        return TR_ENOMEM;
    memset(rt, 0, sizeof(*rt));
    unsigned n = opts && opts->workers ? opts->workers : 0;
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (unsigned)cpus : 1;
    }
    if (n > 256)
        n = 256;
    rt->nworkers = n;
    rt->default_mailbox =
        pow2_at_least(opts && opts->default_mailbox ? opts->default_mailbox : 1024);
    rt->batch = opts && opts->batch ? opts->batch : 64;
    snprintf(rt->name, sizeof(rt->name), "%s",
             opts && opts->name ? opts->name : "troupe");

    int rc = tr__registry_init(rt);
    if (rc != 0) {
        free(rt);
        return rc;
    }
    rt->workers = aligned_alloc(TR__CACHELINE, n * sizeof(tr__worker));
    if (rt->workers == NULL) {
        tr__registry_fini(rt);
        free(rt);
        return TR_ENOMEM;
    }
    memset(rt->workers, 0, n * sizeof(tr__worker));
    if ((rc = tr__io_start(rt)) != 0 || (rc = tr__sched_start(rt)) != 0) {
        tr__store_u32_relaxed(&rt->closing, 1);
        tr__io_cancel_timers(rt);
        tr__sched_join(rt);
        tr__io_stop(rt);
        tr__env_pools_fini(rt);
        free(rt->workers);
        tr__registry_fini(rt);
        free(rt);
        return rc;
    }
    TR_LOG_DEBUG("runtime", "%s: started %u workers", rt->name, n);
    *out = rt;
    return 0;
}

unsigned tr_runtime_workers(const tr_runtime *rt) { return rt->nworkers; }

int tr_runtime_free(tr_runtime *rt, uint64_t drain_ms)
{
    if (rt == NULL)
        return 0;
    uint64_t deadline = tr__now_ms() + drain_ms;
    tr__store_u32_release(&rt->closing, 1);
    tr__io_cancel_timers(rt);
    int rc = tr__sched_wait_quiet(rt, deadline);
    if (rc != 0) {
        TR_LOG_WARN("runtime", "%s: drain deadline of %llu ms passed; stopping "
                    "actors now, queued messages become dead letters",
                    rt->name, (unsigned long long)drain_ms);
        tr__store_u32_release(&rt->abandon, 1);
    }
    tr__stop_all(rt);
    /* Stop hooks run even when the drain deadline passed: give them a
     * moment of their own. */
    uint64_t stop_deadline = tr__now_ms() + (rc == 0 ? drain_ms : 0) + 1000;
    int rc2 = tr__sched_wait_quiet(rt, stop_deadline);
    tr__sched_join(rt);
    tr__io_stop(rt);
    tr__reap_all(rt);
    tr__env_pools_fini(rt);
    for (unsigned i = 0; i < rt->nworkers; i++) {
        tr__worker *w = &rt->workers[i];
        while (w->free_slots != NULL)
            w->free_slots = (tr__actor *)w->free_slots->run_node.next;
    }
    free(rt->workers);
    tr__registry_fini(rt);
    free(rt);
    return rc != 0 ? rc : rc2;
}

void tr_runtime_stats_get(tr_runtime *rt, tr_runtime_stats *out,
                          tr_worker_stats *per_worker)
{
    memset(out, 0, sizeof(*out));
    out->workers = rt->nworkers;
    out->sent = tr__load_u64_relaxed(&rt->ext_sent);
    out->dead_letters = tr__load_u64_relaxed(&rt->ext_dead) +
                        tr__load_u64_relaxed(&rt->dead_stop);
    out->rejected = tr__load_u64_relaxed(&rt->ext_rejected);
    out->late_replies = tr__load_u64_relaxed(&rt->late_replies);
    out->spawned = tr__load_u64_relaxed(&rt->spawned);
    out->depth_hwm = tr__load_u32_relaxed(&rt->ext_hwm);
    for (unsigned i = 0; i < rt->nworkers; i++) {
        tr__worker *w = &rt->workers[i];
        tr_worker_stats s = {
            .handled = tr__load_u64_relaxed(&w->handled),
            .sent = tr__load_u64_relaxed(&w->sent),
            .steals = tr__load_u64_relaxed(&w->steals),
            .parks = tr__load_u64_relaxed(&w->parks),
            .depth_hwm = tr__load_u32_relaxed(&w->depth_hwm),
        };
        out->sent += s.sent;
        out->handled += s.handled;
        out->steals += s.steals;
        out->dead_letters += tr__load_u64_relaxed(&w->dead);
        out->rejected += tr__load_u64_relaxed(&w->rejected);
        out->spawned += tr__load_u64_relaxed(&w->spawned);
        out->stopped += tr__load_u64_relaxed(&w->stopped);
        if (s.depth_hwm > out->depth_hwm)
            out->depth_hwm = s.depth_hwm;
        if (per_worker != NULL)
            per_worker[i] = s;
    }
    out->live_actors = out->spawned > out->stopped ? out->spawned - out->stopped : 0;
}
