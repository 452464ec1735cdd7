/*
 * tests/nodes/nodes_test.h -- shared fixture of the node suites: a registry
 * with the built-in types, parsing a workflow JSON string into a plan, and an
 * "execution" (one result slot per plan node plus the pointer array that
 * tr_node_inputs reads) to run nodes by id.
 */
#ifndef TR_TESTS_NODES_TEST_H
#define TR_TESTS_NODES_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "troupe/codec.h"
#include "troupe/nodes.h"
#include "troupe/resilience.h"
#include "troupe/workflow.h"

#define EXEC_MAX 16

static tr_node_type_registry *reg;

static inline int setup(void **state)
{
    (void)state;
    if (tr_node_type_registry_new(&reg) != 0)
        return -1;
    return tr_node_type_register_builtins(reg);
}

static inline int teardown(void **state)
{
    (void)state;
    tr_node_type_registry_free(reg);
    return 0;
}

static inline tr_wf_plan *parse(const char *json)
{
    tr_wf_problems *p = NULL;
    assert_int_equal(tr_wf_problems_new(&p), 0);
    tr_wf_plan *plan = NULL;
    int rc = tr_wf_parse_json(reg, json, strlen(json), "t.json", &plan, p);
    if (rc != 0) {
        for (size_t i = 0; i < tr_wf_problems_count(p); i++) {
            char line[512];
            tr_wf_problem_format(tr_wf_problems_at(p, i), line, sizeof line);
            print_message("problem: %s\n", line);
        }
        fail_msg("parse failed: %s", tr_err_name(rc));
    }
    tr_wf_problems_free(p);
    return plan;
}

/* One execution of a plan: results by plan index, NULL until run OK. */
typedef struct exec {
    tr_wf_plan *plan;
    tr_node_result res[EXEC_MAX];
    const tr_node_result *done[EXEC_MAX];
    tr_node_inputs in;
    tr_price_feed_state feeds[EXEC_MAX];
    tr_node_env env;
} exec;

static inline void exec_init(exec *x, tr_wf_plan *plan, tr_paper_book *book)
{
    memset(x, 0, sizeof *x);
    assert_true(tr_wf_plan_node_count(plan) <= EXEC_MAX);
    x->plan = plan;
    x->in.plan = plan;
    x->in.results = x->done;
    x->in.count = tr_wf_plan_node_count(plan);
    x->env.now_ms = 1769300000000ull; /* 2026-01-25, UTC day 20478 */
    x->env.feeds = x->feeds;
    x->env.nfeeds = EXEC_MAX;
    x->env.book = book;
}

/* Run node `id`; its result becomes visible to later nodes only on success. */
static inline int run(exec *x, const char *id)
{
    const tr_wf_node *n = tr_wf_plan_find(x->plan, id);
    assert_non_null(n);
    x->done[n->index] = NULL;
    int rc = tr_node_run_builtin(n, &x->in, &x->env, &x->res[n->index]);
    assert_int_equal(rc, x->res[n->index].status);
    if (rc == 0 && !x->res[n->index].hang)
        x->done[n->index] = &x->res[n->index];
    return rc;
}

static inline const tr_node_result *result(exec *x, const char *id)
{
    return &x->res[tr_wf_plan_find(x->plan, id)->index];
}

static inline double num(exec *x, const char *id, const char *name)
{
    const tr_node_output *o = tr_node_result_find(result(x, id), name);
    if (o == NULL)
        fail_msg("node %s has no output %s", id, name);
    return o->num;
}

/* The outputs as JSON text, into buf. */
static inline const char *outputs_json(const tr_node_result *r, char *buf, size_t cap)
{
    tr_buf mp, js;
    tr_buf_init(&mp);
    tr_buf_init(&js);
    tr_node_result_write_outputs(&mp, r);
    assert_int_equal(tr_buf_error(&mp), 0);
    assert_int_equal(tr_json_from_mp(&js, mp.data, mp.len, NULL), 0);
    snprintf(buf, cap, "%.*s", (int)js.len, (const char *)js.data);
    tr_buf_fini(&mp);
    tr_buf_fini(&js);
    return buf;
}

#endif /* TR_TESTS_NODES_TEST_H */
