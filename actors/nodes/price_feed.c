/*
 * actors/nodes/price_feed.c -- the simulated market-data node.
 *
 * Design
 * ------
 * Each price_feed node of a workflow has a tr_price_feed_state in the
 * caller's env (env->feeds[plan index]), so the walk continues from one
 * execution to the next and a seeded workflow replays exactly.  Two
 * independent splitmix64 streams are derived from the seed: `walk_rng` for
 * prices and volumes, `fault_rng` for failure_rate draws, so turning fault
 * injection on or off never changes the prices a feed produces.
 *
 * One call (one attempt, retries included) does, in order:
 *   calls += 1; delay_ms = simulate.latency_ms (failures are late too);
 *   simulate.hang            -> hang = true, nothing else;
 *   calls <= fail_first      -> fail with simulate.error_type;
 *   failure_rate > 0 and a fault_rng draw < failure_rate -> fail;
 *   otherwise a tick: the first tick is `start` exactly, later ticks move
 *   the price by a lognormal step  price *= exp(volatility * z), z ~ N(0,1)
 *   (Box-Muller), so it stays > 0; volume is uniform in [500, 1500).
 *   Outputs are quoted to exchange ticks: price to 0.01, volume to 0.0001.
 * Outputs: price, volume, timestamp (env->now_ms / 1000, seconds), tick (1
 * for the first tick) and symbol (a string output).
 */
#include <math.h>
#include <string.h>

#include "troupe/resilience.h"

#include "actors/nodes/nodes_internal.h"

static const char *const error_types[] = {
    "ConnectionError", "TimeoutError", "ValueError", "RuntimeError",
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* A static copy of the configured error_type (the schema allows only the
 * four names above; anything else falls back to its plan-owned string). */
static const char *static_error_type(const char *t)
{
    for (size_t i = 0; i < sizeof error_types / sizeof error_types[0]; i++)
        if (strcmp(t, error_types[i]) == 0)
            return error_types[i];
    return t;
}

int tr__node_prepare_feed(const tr_wf_node *node, tr_node_prep *out)
{
    const tr_wf_node *n = node;
    tr_node_prep_feed *f = &out->u.feed;
    int64_t i64;
    if (tr_wf_node_cfg_string(n, "symbol", &f->symbol) != 0)
        f->symbol = "";
    if (tr_wf_node_cfg_number(n, "start", &f->start) != 0 || !(f->start > 0))
        f->start = 100.0;
    f->seed = tr_wf_node_cfg_int(n, "seed", &i64) == 0 ? (uint64_t)i64 : fnv1a(n->id);
    if (tr_wf_node_cfg_number(n, "volatility", &f->volatility) != 0 || !(f->volatility >= 0))
        f->volatility = 0.001;
    if (tr_wf_node_cfg_number(n, "simulate.latency_ms", &f->latency_ms) != 0 ||
        !(f->latency_ms >= 0))
        f->latency_ms = 0;
    f->fail_first = tr_wf_node_cfg_int(n, "simulate.fail_first", &i64) == 0 && i64 > 0
                        ? (uint64_t)i64 : 0;
    if (tr_wf_node_cfg_number(n, "simulate.failure_rate", &f->failure_rate) != 0 ||
        !(f->failure_rate >= 0))
        f->failure_rate = 0;
    if (tr_wf_node_cfg_bool(n, "simulate.hang", &f->hang) != 0)
        f->hang = false;
    const char *et = NULL;
    f->error_type = tr_wf_node_cfg_string(n, "simulate.error_type", &et) == 0
                        ? static_error_type(et) : error_types[0];
    return 0;
}

static double gaussian(uint64_t *rng)
{
    double u1 = tr_rng_unit(rng), u2 = tr_rng_unit(rng);
    if (u1 < 0x1.0p-60)
        u1 = 0x1.0p-60; /* log(0) */
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static int fault_code(const char *error_type)
{
    if (strcmp(error_type, "ConnectionError") == 0)
        return TR_EIO;
    if (strcmp(error_type, "TimeoutError") == 0)
        return TR_ETIMEDOUT;
    return TR_EFAILED;
}

int tr__node_run_feed(const tr_node_prep *p, tr_node_env *env, tr_node_result *out)
{
    const tr_node_prep_feed *f = &p->u.feed;
    uint32_t idx = p->node->index;
    if (env->feeds == NULL || idx >= env->nfeeds)
        return tr__node_fail(out, TR_EINVAL, "ValueError",
                             "no feed state for node index %u (env.nfeeds %u)", idx,
                             env->nfeeds);
    tr_price_feed_state *st = &env->feeds[idx];
    if (!st->started) {
        st->walk_rng = f->seed;
        st->fault_rng = f->seed ^ 0xD1B54A32D192ED03ull;
        st->price = f->start;
        st->ticks = 0;
        st->started = true;
    }
    st->calls++;
    out->delay_ms = f->latency_ms;
    if (f->hang) {
        out->hang = true;
        return 0;
    }
    if (st->calls <= f->fail_first)
        return tr__node_fail(out, fault_code(f->error_type), f->error_type,
                             "simulated failure %llu of %llu (fail_first)",
                             (unsigned long long)st->calls, (unsigned long long)f->fail_first);
    if (f->failure_rate > 0 && tr_rng_unit(&st->fault_rng) < f->failure_rate)
        return tr__node_fail(out, fault_code(f->error_type), f->error_type,
                             "simulated failure (failure_rate %g)", f->failure_rate);
    if (st->ticks > 0) {
        double next = st->price * exp(f->volatility * gaussian(&st->walk_rng));
        if (isfinite(next) && next > 0)
            st->price = next;
    }
    st->ticks++;
    double volume = 500.0 + 1000.0 * tr_rng_unit(&st->walk_rng);
    /* Quoted as an exchange would: the price to a tick of 0.01, the volume
     * to 0.0001.  The walk itself keeps full precision. */
    tr__node_add_num(out, "price", round(st->price * 100.0) / 100.0);
    tr__node_add_num(out, "volume", round(volume * 10000.0) / 10000.0);
    tr__node_add_num(out, "timestamp", (double)env->now_ms / 1000.0);
    tr__node_add_int(out, "tick", (int64_t)st->ticks);
    tr__node_add_str(out, "symbol", f->symbol, strlen(f->symbol));
    return 0;
}
