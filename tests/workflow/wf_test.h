/*
 * tests/workflow/wf_test.h -- helpers shared by the workflow-definition
 * suites: the registry fixture, parsing that must succeed or fail with
 * exact problem lines, and paths into the source tree.
 */
#ifndef TR_TESTS_WF_TEST_H
#define TR_TESTS_WF_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "troupe/workflow.h"

static tr_node_type_registry *reg; /* one per test binary */

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

static inline const char *source_path(const char *rel, char *buf, size_t cap)
{
    const char *root = getenv("TROUPE_TEST_SOURCE_DIR");
    snprintf(buf, cap, "%s/%s", root ? root : ".", rel);
    return buf;
}

static inline void dump(const tr_wf_problems *p)
{
    for (size_t i = 0; i < tr_wf_problems_count(p); i++) {
        char line[1024];
        tr_wf_problem_format(tr_wf_problems_at(p, i), line, sizeof line);
        print_message("  problem: %s\n", line);
    }
}

static inline tr_wf_plan *parse_ok(const char *json)
{
    tr_wf_problems *p = NULL;
    assert_int_equal(tr_wf_problems_new(&p), 0);
    tr_wf_plan *plan = NULL;
    int rc = tr_wf_parse_json(reg, json, strlen(json), "t.json", &plan, p);
    if (rc != 0) {
        dump(p);
        fail_msg("parse failed: %s", tr_err_name(rc));
    }
    assert_int_equal(tr_wf_problems_count(p), 0);
    tr_wf_problems_free(p);
    assert_non_null(plan);
    return plan;
}

/* The formatted problems must be exactly `expected` (NULL-terminated), in
 * order; each expected line omits the "FILE" prefix, which is `file`. */
static inline void check_lines(const tr_wf_problems *p, const char *file, const char *const *expected)
{
    size_t n = 0;
    while (expected[n] != NULL)
        n++;
    if (tr_wf_problems_count(p) != n) {
        dump(p);
        fail_msg("expected %zu problems, got %zu", n, tr_wf_problems_count(p));
    }
    for (size_t i = 0; i < n; i++) {
        char line[1024], want[1024];
        tr_wf_problem_format(tr_wf_problems_at(p, i), line, sizeof line);
        snprintf(want, sizeof want, "%s%s", file, expected[i]);
        assert_string_equal(line, want);
    }
}

static inline void parse_bad(const char *json, const char *const *expected)
{
    tr_wf_problems *p = NULL;
    assert_int_equal(tr_wf_problems_new(&p), 0);
    tr_wf_plan *plan = (tr_wf_plan *)0x1;
    assert_int_equal(tr_wf_parse_json(reg, json, strlen(json), "t.json", &plan, p), TR_EINVAL);
    assert_ptr_equal(plan, (tr_wf_plan *)0x1); /* untouched */
    check_lines(p, "t.json", expected);
    tr_wf_problems_free(p);
}

static inline void bad_file(const char *rel, const char *const *expected)
{
    char path[1024];
    source_path(rel, path, sizeof path);
    tr_wf_problems *p = NULL;
    assert_int_equal(tr_wf_problems_new(&p), 0);
    tr_wf_plan *plan = NULL;
    assert_int_equal(tr_wf_parse_file(reg, path, &plan, p), TR_EINVAL);
    assert_null(plan);
    check_lines(p, path, expected);
    tr_wf_problems_free(p);
}

static inline const char *dep_id(const tr_wf_plan *plan, const tr_wf_node *n, uint32_t i)
{
    return tr_wf_plan_node(plan, n->deps[i])->id;
}

#endif
