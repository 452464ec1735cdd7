/*
 * tests/engine/test_engine_blocking.c -- host node types marked blocking run
 * on the engine's blocking pool, not on a worker, and obey the node timeout.
 */
#include "engine_test.h"

#include <unistd.h>

typedef struct slow_type {
    pthread_t worker_seen; /* a thread the fast node ran on (a worker) */
    pthread_t pool_seen;   /* the thread the blocking node ran on      */
    int calls;
} slow_type;

static slow_type slow;

/* Blocking: waits config.ms milliseconds, then outputs value = 7. */
static int slow_run(void *arg, const tr_wf_node *node, const tr_node_inputs *in,
                    tr_node_env *env, tr_node_result *out)
{
    slow_type *s = arg;
    int64_t ms = 0;
    tr_wf_node_cfg_int(node, "ms", &ms);
    __atomic_fetch_add(&s->calls, 1, __ATOMIC_RELAXED);
    s->pool_seen = pthread_self();
    usleep((useconds_t)ms * 1000); /* the point: it blocks */
    out->noutputs = 1;
    out->outputs[0] = (tr_node_output){.name = "value", .kind = TR_NODE_OUT_NUMBER, .num = 7};
    return 0;
}

/* Not blocking: records the worker it ran on. */
static int fast_run(void *arg, const tr_wf_node *node, const tr_node_inputs *in,
                    tr_node_env *env, tr_node_result *out)
{
    ((slow_type *)arg)->worker_seen = pthread_self();
    out->noutputs = 1;
    out->outputs[0] = (tr_node_output){.name = "value", .kind = TR_NODE_OUT_NUMBER, .num = 1};
    return 0;
}

static const tr_wf_field ms_field[] = {
    {"ms", TR_WF_FIELD_INT, true, .has_min = true, .has_max = true, .min = 0, .max = 100000,
     .doc = "milliseconds to block"},
};
static const tr_node_type slow_desc = {.name = "slow_io", .default_category = TR_WF_CAT_ACTIONS,
                                       .blocking = true, .fields = ms_field, .nfields = 1};
static const tr_node_type fast_desc = {.name = "fast_calc",
                                       .default_category = TR_WF_CAT_INDICATORS};

static int setup(void **state)
{
    fx *f = fx_new(NULL, 2);
    if (f == NULL)
        return -1;
    memset(&slow, 0, sizeof slow);
    if (tr_engine_register_node(f->e, &slow_desc, slow_run, &slow) != 0 ||
        tr_engine_register_node(f->e, &fast_desc, fast_run, &slow) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) { return fx_free(*state); }

static void blocking_node_runs_off_the_workers(void **state)
{
    fx *f = *state;
    fx_add(f, "{\"id\":\"blk\",\"nodes\":["
              "{\"id\":\"io\",\"type\":\"slow_io\",\"config\":{\"ms\":30}},"
              "{\"id\":\"calc\",\"type\":\"fast_calc\"},"
              "{\"id\":\"sum\",\"type\":\"math\",\"config\":{\"expr\":\"io.value + calc.value\"}}]}");
    char id[TR_EXEC_ID_MAX];
    fx_done d = fx_run(f, "blk", id);
    assert_int_equal(d.status, TR_EXEC_COMPLETED);
    assert_true(d.duration_ms >= 30.0);
    assert_int_equal(__atomic_load_n(&slow.calls, __ATOMIC_RELAXED), 1);
    /* The blocking node ran on a pool thread, the other on a worker. */
    assert_false(pthread_equal(slow.pool_seen, slow.worker_seen));
}

static void blocking_node_times_out_and_late_result_is_dropped(void **state)
{
    fx *f = *state;
    fx_add(f, "{\"id\":\"late\",\"nodes\":["
              "{\"id\":\"io\",\"type\":\"slow_io\",\"config\":{\"ms\":300},"
              "\"timeout\":0.05,\"retry\":{\"max_attempts\":1}}]}");
    char id[TR_EXEC_ID_MAX];
    fx_done d = fx_run(f, "late", id);
    assert_int_equal(d.status, TR_EXEC_FAILED);
    /* The engine still waits for the job before the executor goes away;
     * freeing the engine (teardown) waits for the pool too: no leak, no
     * write into freed memory (run under ASan). */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(blocking_node_runs_off_the_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(blocking_node_times_out_and_late_result_is_dropped,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("engine.blocking", tests, NULL, NULL);
}
