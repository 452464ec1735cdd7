/*
 * actors/executor/engine.c -- the engine: runtime, bus, state store,
 * registered workflows and bots; starting executions.
 *
 * tr_engine_execute looks the workflow up (engine lock, a hash lookup),
 * takes a reference on it for the execution, makes the execution id
 * (exec_<workflow_id>_<8 hex>) and spawns one executor actor, then sends it
 * EX_START.  Everything after that happens in the executor (executor.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/executor/exec_internal.h"

int tr__executor_begin(tr_runtime *rt, tr_actor_ref ref, uint64_t corr);

/* The blocking pool: a few threads (these nodes wait, they do not compute)
 * and a queue bounded so a flood fails fast instead of growing. */
#define BLOCKING_THREADS 4u
#define BLOCKING_QUEUE 4096u

const char *tr_exec_status_name(tr_exec_status s)
{
    switch (s) {
    case TR_EXEC_COMPLETED: return "completed";
    case TR_EXEC_FAILED: return "failed";
    case TR_EXEC_HALTED: return "halted";
    }
    return "unknown";
}

uint64_t tr__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t tr__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------- */
/* Workflows and bots                                                      */
/* ---------------------------------------------------------------------- */

void tr__wf_unref(tr__wf *wf)
{
    if (wf == NULL || __atomic_fetch_sub(&wf->refs, 1, __ATOMIC_ACQ_REL) != 1)
        return;
    pthread_mutex_destroy(&wf->lock);
    free(wf->preps);
    free(wf->host);
    free(wf->feeds);
    free(wf->breaker_of);
    free(wf->breakers);
    free(wf->services);
    tr_wf_plan_free(wf->plan);
    free(wf);
}

/* The bot's record, created on first use.  Engine lock held. */
static tr__bot *bot_get(tr_engine *e, const char *id)
{
    tr__strval *v;
    bool created;
    if (tr__strmap_put(&e->bots, id, strlen(id), &v, &created) != 0)
        return NULL;
    if (!created)
        return v->p;
    tr__bot *b = calloc(1, sizeof(*b));
    if (b == NULL || (b->id = strdup(id)) == NULL) {
        free(b);
        tr__strmap_del(&e->bots, id, strlen(id), NULL);
        return NULL;
    }
    pthread_mutex_init(&b->lock, NULL);
    tr_paper_book_init(&b->book);
    v->p = b;
    return b;
}

static const tr__host_type *host_find(tr_engine *e, const tr_node_type *desc)
{
    for (size_t i = 0; i < e->nhosts; i++)
        if (e->hosts[i].desc == desc)
            return &e->hosts[i];
    return NULL;
}

/* A breaker per provider node: the service is config.service or the id. */
static const char *service_of(const tr_wf_node *node)
{
    const char *svc = NULL;
    if (node->category != TR_WF_CAT_PROVIDERS)
        return NULL;
    if (tr_wf_node_cfg_string(node, "service", &svc) == 0 && svc != NULL && *svc)
        return svc;
    return node->id;
}

static int wf_build(tr_engine *e, tr_wf_plan *plan, tr__wf **out)
{
    tr__wf *wf = calloc(1, sizeof(*wf));
    if (wf == NULL)
        return TR_ENOMEM;
    uint32_t n = tr_wf_plan_node_count(plan);
    wf->refs = 1;
    wf->plan = tr_wf_plan_ref(plan);
    wf->id = tr_wf_plan_id(plan);
    wf->bot_id = tr_wf_plan_bot_id(plan);
    wf->strategy_id = tr_wf_plan_strategy_id(plan);
    wf->n = n;
    pthread_mutex_init(&wf->lock, NULL);
    size_t c = n ? n : 1;
    wf->preps = calloc(c, sizeof(*wf->preps));
    wf->host = calloc(c, sizeof(*wf->host));
    wf->feeds = calloc(c, sizeof(*wf->feeds));
    wf->breaker_of = calloc(c, sizeof(*wf->breaker_of));
    wf->breakers = calloc(c, sizeof(*wf->breakers));
    wf->services = calloc(c, sizeof(*wf->services));
    if (!wf->preps || !wf->host || !wf->feeds || !wf->breaker_of || !wf->breakers ||
        !wf->services) {
        tr__wf_unref(wf);
        return TR_ENOMEM;
    }
    tr_breaker_config bcfg;
    tr_breaker_config_from(&e->res, &bcfg);
    for (uint32_t i = 0; i < n; i++) {
        const tr_wf_node *node = tr_wf_plan_node(plan, i);
        int rc = 0;
        if (tr_node_builtin_of(node->type) != TR_NODE_NONE) {
            rc = tr_node_prepare(plan, node, &wf->preps[i]);
        } else {
            wf->preps[i].node = node;
            wf->preps[i].kind = TR_NODE_NONE;
            wf->host[i] = host_find(e, node->type_desc);
            if (wf->host[i] == NULL)
                rc = TR_ENOENT; /* a type this engine cannot run */
        }
        if (rc != 0) {
            tr__wf_unref(wf);
            return rc;
        }
        wf->breaker_of[i] = -1;
        const char *svc = service_of(node);
        if (svc == NULL)
            continue;
        uint32_t b;
        for (b = 0; b < wf->nbreakers; b++)
            if (strcmp(wf->services[b], svc) == 0)
                break;
        if (b == wf->nbreakers) {
            tr_breaker_init(&wf->breakers[b], &bcfg);
            wf->services[b] = svc;
            wf->nbreakers++;
        }
        wf->breaker_of[i] = (int32_t)b;
    }
    pthread_mutex_lock(&e->lock);
    wf->bot = bot_get(e, wf->bot_id ? wf->bot_id : "default");
    pthread_mutex_unlock(&e->lock);
    if (wf->bot == NULL) {
        tr__wf_unref(wf);
        return TR_ENOMEM;
    }
    /* The bot's controller (it also answers for the global one); a
     * workflow without a bot answers to the global controller alone. */
    int rc = tr_emergency_controller_get(e->em, wf->bot_id, &wf->ctl);
    if (rc != 0) {
        tr__wf_unref(wf);
        return rc;
    }
    *out = wf;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                               */
/* ---------------------------------------------------------------------- */

int tr_engine_new(tr_engine **out, const tr_engine_opts *opts)
{
    if (out == NULL)
        return TR_EINVAL;
    tr_engine *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return TR_ENOMEM;
    tr_config dev;
    const tr_config *cfg = opts != NULL ? opts->config : NULL;
    if (cfg == NULL) {
        int rc = tr_config_load(&dev, "development", NULL, (char *const[]){NULL}, NULL);
        if (rc != 0) {
            free(e);
            return rc;
        }
        cfg = &dev;
    }
    e->res = cfg->resilience;
    e->auto_halt = cfg->emergency.auto_halt;
    tr_emergency_opts emo = {
        .state_dir = opts && opts->state_dir ? opts->state_dir : cfg->state_dir,
        .limits = &cfg->emergency,
    };
    e->history_cap = opts && opts->history_cap ? opts->history_cap : 100;
    uint64_t seed = tr__mono_ns() ^ tr__wall_ms() ^ ((uint64_t)(uintptr_t)e << 16);
    e->id_key = (uint32_t)tr_rng_next(&seed);
    pthread_mutex_init(&e->lock, NULL);
    tr__strmap_init(&e->workflows);
    tr__strmap_init(&e->bots);
    unsigned workers = opts && opts->workers ? opts->workers
                       : opts && opts->config ? (unsigned)opts->config->workers
                                              : 0;
    tr_runtime_opts ro = {.workers = workers, .name = "engine"};
    int rc = tr_runtime_new(&e->rt, &ro);
    if (rc == 0)
        rc = tr_bus_start(e->rt, NULL, &e->bus);
    tr_state_opts so = {.history_cap = e->history_cap};
    if (rc == 0)
        rc = tr_state_start(e->rt, &so, &e->state);
    if (rc == 0) {
        emo.bus = e->bus;
        emo.state = e->state;
        rc = tr_emergency_new(&e->em, &emo);
    }
    if (rc == 0 && (rc = tr_node_type_registry_new(&e->reg)) == 0)
        rc = tr_node_type_register_builtins(e->reg);
    if (rc == 0 && (rc = tr__blocking_start(&e->pool, BLOCKING_THREADS,
                                            BLOCKING_QUEUE)) == 0)
        e->pool_started = true;
    if (cfg == &dev)
        tr_config_fini(&dev);
    if (rc != 0) {
        tr_engine_free(e, 1000);
        return rc;
    }
    *out = e;
    return 0;
}

int tr_engine_free(tr_engine *e, uint64_t drain_ms)
{
    if (e == NULL)
        return 0;
    __atomic_store_n(&e->closing, 1, __ATOMIC_RELEASE);
    int rc = 0;
    /* Blocking jobs first: they report to executors, which must still be
     * running to receive (and to keep alive what the jobs read). */
    if (e->pool_started)
        tr__blocking_stop(&e->pool);
    if (e->rt != NULL)
        rc = tr_runtime_free(e->rt, drain_ms);
    tr_emergency_free(e->em);
    tr_bus_free(e->bus);
    tr_state_free(e->state);
    size_t i = 0;
    const char *k;
    size_t kl;
    tr__strval v;
    while (tr__strmap_next(&e->workflows, &i, &k, &kl, &v))
        tr__wf_unref(v.p);
    i = 0;
    while (tr__strmap_next(&e->bots, &i, &k, &kl, &v)) {
        tr__bot *b = v.p;
        pthread_mutex_destroy(&b->lock);
        free(b->id);
        free(b);
    }
    tr__strmap_fini(&e->workflows);
    tr__strmap_fini(&e->bots);
    tr_node_type_registry_free(e->reg);
    free(e->hosts);
    pthread_mutex_destroy(&e->lock);
    free(e);
    return rc;
}

tr_runtime *tr_engine_runtime(tr_engine *e) { return e->rt; }
tr_bus *tr_engine_bus(tr_engine *e) { return e->bus; }
tr_state *tr_engine_state(tr_engine *e) { return e->state; }
tr_emergency *tr_engine_emergency(tr_engine *e) { return e->em; }
tr_node_type_registry *tr_engine_registry(tr_engine *e) { return e->reg; }

int tr_engine_register_node(tr_engine *e, const tr_node_type *desc,
                            tr_node_fn fn, void *arg)
{
    if (e == NULL || desc == NULL || fn == NULL)
        return TR_EINVAL;
    pthread_mutex_lock(&e->lock);
    int rc = 0;
    if (e->nhosts == e->hosts_cap) {
        size_t cap = e->hosts_cap ? e->hosts_cap * 2 : 8;
        tr__host_type *h = realloc(e->hosts, cap * sizeof(*h));
        if (h == NULL)
            rc = TR_ENOMEM;
        else {
            e->hosts = h;
            e->hosts_cap = cap;
        }
    }
    if (rc == 0 && (rc = tr_node_type_register(e->reg, desc)) == 0)
        e->hosts[e->nhosts++] = (tr__host_type){desc, fn, arg};
    pthread_mutex_unlock(&e->lock);
    return rc;
}

int tr_engine_add_plan(tr_engine *e, tr_wf_plan *plan)
{
    if (e == NULL || plan == NULL)
        return TR_EINVAL;
    tr__wf *wf;
    int rc = wf_build(e, plan, &wf);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&e->lock);
    tr__strval *v;
    bool created;
    rc = tr__strmap_put(&e->workflows, wf->id, strlen(wf->id), &v, &created);
    tr__wf *old = NULL;
    if (rc == 0) {
        old = created ? NULL : v->p;
        v->p = wf;
    }
    pthread_mutex_unlock(&e->lock);
    if (rc != 0)
        tr__wf_unref(wf);
    tr__wf_unref(old);
    return rc;
}

void tr_engine_workflows(tr_engine *e, tr_engine_wf_fn fn, void *arg)
{
    if (e == NULL || fn == NULL)
        return;
    pthread_mutex_lock(&e->lock);
    size_t i = 0;
    const char *k;
    size_t kl;
    tr__strval v;
    while (tr__strmap_next(&e->workflows, &i, &k, &kl, &v))
        fn(arg, ((tr__wf *)v.p)->plan);
    pthread_mutex_unlock(&e->lock);
}

int tr_engine_plan_get(tr_engine *e, const char *workflow_id, tr_wf_plan **out)
{
    if (e == NULL || workflow_id == NULL || out == NULL)
        return TR_EINVAL;
    pthread_mutex_lock(&e->lock);
    tr__strval *v = tr__strmap_get(&e->workflows, workflow_id, strlen(workflow_id));
    tr_wf_plan *p = v ? tr_wf_plan_ref(((tr__wf *)v->p)->plan) : NULL;
    pthread_mutex_unlock(&e->lock);
    if (p == NULL)
        return TR_ENOENT;
    *out = p;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Executions                                                              */
/* ---------------------------------------------------------------------- */

/* A bijection on 32-bit values (xorshift-multiply rounds are invertible). */
static uint32_t mix32(uint32_t v)
{
    v ^= v >> 16;
    v *= 0x7feb352du;
    v ^= v >> 15;
    v *= 0x846ca68bu;
    v ^= v >> 16;
    return v;
}

int tr_engine_execute(tr_engine *e, const char *workflow_id,
                      tr_exec_done_fn done, void *arg, char *exec_id)
{
    if (e == NULL || workflow_id == NULL)
        return TR_EINVAL;
    if (__atomic_load_n(&e->closing, __ATOMIC_ACQUIRE))
        return TR_ECLOSED;
    tr__exec_arg a = {.eng = e, .done = done, .done_arg = arg};
    pthread_mutex_lock(&e->lock);
    tr__strval *v = tr__strmap_get(&e->workflows, workflow_id, strlen(workflow_id));
    if (v != NULL) {
        a.wf = v->p;
        __atomic_fetch_add(&a.wf->refs, 1, __ATOMIC_RELAXED);
    }
    uint64_t seq = e->exec_seq++;
    pthread_mutex_unlock(&e->lock);
    if (a.wf == NULL)
        return TR_ENOENT;
    /* The 8 hex digits of the id: a bijection of a per-engine counter mixed
     * with a random key (distinct for 2^32 executions of this engine, and
     * unpredictable across restarts), not a random draw that repeats after
     * ~2^16 executions. */
    uint32_t hex = mix32((uint32_t)seq ^ e->id_key) ^ e->id_key;
    a.corr = ((uint64_t)e->id_key << 32 | hex) | 1; /* never 0: no correlation */
    snprintf(a.id, sizeof(a.id), "exec_%s_%08x", a.wf->id, hex);
    tr_actor_ref ref;
    int rc = tr_spawn(e->rt, tr__executor_ops(), &a, NULL, &ref);
    if (rc != 0) {
        tr__wf_unref(a.wf);
        return rc;
    }
    __atomic_fetch_add(&e->started, 1, __ATOMIC_RELAXED);
    if (exec_id != NULL)
        memcpy(exec_id, a.id, TR_EXEC_ID_MAX);
    rc = tr__executor_begin(e->rt, ref, a.corr);
    if (rc != 0) /* the actor owns the workflow reference now */
        tr_stop(e->rt, ref);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Observing                                                               */
/* ---------------------------------------------------------------------- */

static tr__wf *wf_get(tr_engine *e, const char *workflow_id)
{
    pthread_mutex_lock(&e->lock);
    tr__strval *v = tr__strmap_get(&e->workflows, workflow_id, strlen(workflow_id));
    tr__wf *wf = v ? v->p : NULL;
    if (wf != NULL)
        __atomic_fetch_add(&wf->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&e->lock);
    return wf;
}

static int breaker_find(tr__wf *wf, const char *service)
{
    for (uint32_t b = 0; b < wf->nbreakers; b++)
        if (strcmp(wf->services[b], service) == 0)
            return (int)b;
    return -1;
}

int tr_engine_breaker_stats(tr_engine *e, const char *workflow_id,
                            const char *service, tr_breaker_stats *out)
{
    tr__wf *wf = wf_get(e, workflow_id);
    if (wf == NULL)
        return TR_ENOENT;
    int b = breaker_find(wf, service);
    if (b >= 0)
        tr_breaker_stats_read(&wf->breakers[b], out);
    tr__wf_unref(wf);
    return b >= 0 ? 0 : TR_ENOENT;
}

int tr_engine_breaker_control(tr_engine *e, const char *workflow_id,
                              const char *service, const char *action)
{
    tr__wf *wf = wf_get(e, workflow_id);
    if (wf == NULL)
        return TR_ENOENT;
    int b = breaker_find(wf, service);
    int rc = b >= 0 ? 0 : TR_ENOENT;
    if (b >= 0) {
        pthread_mutex_lock(&wf->lock);
        if (strcmp(action, "force_open") == 0)
            tr_breaker_force_open(&wf->breakers[b], tr__wall_ms());
        else if (strcmp(action, "force_close") == 0)
            tr_breaker_force_close(&wf->breakers[b]);
        else if (strcmp(action, "reset") == 0)
            tr_breaker_reset(&wf->breakers[b]);
        else
            rc = TR_EINVAL;
        pthread_mutex_unlock(&wf->lock);
    }
    tr__wf_unref(wf);
    return rc;
}

int tr_engine_book(tr_engine *e, const char *bot_id, tr_paper_book *out)
{
    pthread_mutex_lock(&e->lock);
    tr__strval *v = tr__strmap_get(&e->bots, bot_id, strlen(bot_id));
    tr__bot *b = v ? v->p : NULL;
    pthread_mutex_unlock(&e->lock);
    if (b == NULL)
        return TR_ENOENT;
    pthread_mutex_lock(&b->lock);
    bool traded = b->traded;
    if (traded)
        *out = b->book;
    pthread_mutex_unlock(&b->lock);
    return traded ? 0 : TR_ENOENT;
}

void tr_engine_stats_get(tr_engine *e, tr_engine_stats *out)
{
    out->started = __atomic_load_n(&e->started, __ATOMIC_RELAXED);
    out->completed = __atomic_load_n(&e->completed, __ATOMIC_RELAXED);
    out->failed = __atomic_load_n(&e->failed, __ATOMIC_RELAXED);
    out->halted = __atomic_load_n(&e->halted, __ATOMIC_RELAXED);
    uint64_t ended = out->completed + out->failed + out->halted;
    out->running = out->started > ended ? out->started - ended : 0;
}
