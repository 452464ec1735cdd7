/*
 * tests/workflow/test_workflow_problems.c -- every validation problem kind
 * with its exact formatted line (file:line:col: node 'x': field: message),
 * several problems reported together, unreadable files.
 */
#include "wf_test.h"

#define W(nodes) "{\"id\":\"w\",\"nodes\":[" nodes "]}"
/* Problems, one kind at a time. */
#define K "{\"id\":\"k\",\"type\":\"constant\",\"value\":1}"

static void duplicate_id(void **state)
{
    (void)state;
    parse_bad(W(K "," K), (const char *const[]){
        ": node 'k': id: duplicate node id (first defined as nodes[0])", NULL});
}

static void unknown_depends_on(void **state)
{
    (void)state;
    parse_bad(W(K ",{\"id\":\"x\",\"type\":\"delay\",\"depends_on\":[\"k\",\"ghost\",7],"
                "\"config\":{\"ms\":1}}"),
              (const char *const[]){": node 'x': depends_on[1]: unknown node 'ghost'",
                                    ": node 'x': depends_on[2]: expected a node id (string), got number",
                                    NULL});
}

static void unknown_expression_reference(void **state)
{
    (void)state;
    parse_bad(W(K ",{\"id\":\"m\",\"type\":\"math\",\"config\":{\"expr\":\"k.value * ghost.price\"}}"),
              (const char *const[]){
                  ": node 'm': config.expr: unknown node 'ghost' in reference 'ghost.price' at column 11",
                  NULL});
}

static void cycle_reports_its_path(void **state)
{
    (void)state;
    bad_file("tests/workflow/bad/cycle.json",
             (const char *const[]){": node 'a': dependency cycle: a -> c -> b -> a", NULL});
    parse_bad(W("{\"id\":\"self\",\"type\":\"math\",\"config\":{\"expr\":\"self + 1\"}}"),
              (const char *const[]){": node 'self': dependency cycle: self -> self", NULL});
    /* two separate cycles are both reported */
    parse_bad(W("{\"id\":\"p\",\"type\":\"delay\",\"depends_on\":[\"q\"],\"config\":{\"ms\":1}},"
                "{\"id\":\"q\",\"type\":\"delay\",\"depends_on\":[\"p\"],\"config\":{\"ms\":1}},"
                "{\"id\":\"r\",\"type\":\"delay\",\"depends_on\":[\"s\"],\"config\":{\"ms\":1}},"
                "{\"id\":\"s\",\"type\":\"delay\",\"depends_on\":[\"r\"],\"config\":{\"ms\":1}}"),
              (const char *const[]){": node 'p': dependency cycle: p -> q -> p",
                                    ": node 'r': dependency cycle: r -> s -> r", NULL});
}

static void unknown_type_and_category(void **state)
{
    (void)state;
    parse_bad(W("{\"id\":\"t\",\"type\":\"teleport\"},"
                "{\"id\":\"u\",\"type\":\"constant\",\"category\":\"magic\",\"value\":1},"
                "{\"id\":\"v\",\"category\":\"trading\"}"),
              (const char *const[]){
                  ": node 't': type: unknown node type 'teleport' (known: constant, price_feed, "
                  "math, condition, trade, delay, log)",
                  ": node 'u': category: unknown category 'magic' (expected one of providers, "
                  "indicators, conditions, logic, trading, actions, utilities)",
                  ": node 'v': type: required field missing", NULL});
}

static void config_field_types_and_ranges(void **state)
{
    (void)state;
    parse_bad(
        W("{\"id\":\"p\",\"type\":\"price_feed\",\"config\":{\"symbol\":42,\"start\":0,"
          "\"seed\":1.5,\"simulate\":{\"latency_ms\":-1,\"failure_rate\":1.5,\"hang\":\"no\","
          "\"error_type\":\"Oops\",\"fail_frist\":1}}},"
          "{\"id\":\"t\",\"type\":\"trade\",\"config\":{\"side\":\"hold\",\"symbol\":\"\","
          "\"quantitiy\":1}},"
          "{\"id\":\"l\",\"type\":\"log\",\"config\":[1]},"
          "{\"id\":\"m\",\"type\":\"math\",\"config\":{\"expr\":7}},"
          "{\"id\":\"c\",\"type\":\"constant\",\"config\":{}}"),
        (const char *const[]){
            ": node 'p': config.symbol: expected a string, got number",
            ": node 'p': config.start: must be > 0 (got 0)",
            ": node 'p': config.seed: expected an integer, got number",
            ": node 'p': config.simulate.latency_ms: must be >= 0 (got -1)",
            ": node 'p': config.simulate.failure_rate: must be <= 1 (got 1.5)",
            ": node 'p': config.simulate.hang: expected true or false, got string",
            ": node 'p': config.simulate.error_type: must be one of ConnectionError, "
            "TimeoutError, ValueError, RuntimeError (got 'Oops')",
            ": node 'p': config.simulate.fail_frist: unknown field",
            ": node 't': config.side: must be one of buy, sell (got 'hold')",
            ": node 't': config.symbol: must not be empty",
            ": node 't': config.quantity: required field missing",
            ": node 't': config.quantitiy: unknown field",
            ": node 'l': config: expected an object, got array",
            ": node 'm': config.expr: expected an expression string, got number",
            ": node 'c': config: a constant node needs 'value' or 'outputs'", NULL});
}

static void missing_required_fields(void **state)
{
    (void)state;
    parse_bad("{\"name\":\"x\",\"nodes\":[{\"type\":\"price_feed\",\"config\":{}},"
              "{\"id\":\"m\",\"type\":\"math\"}]}",
              (const char *const[]){": id: required field missing",
                                    ": node 'nodes[0]': id: required field missing",
                                    ": node 'nodes[0]': config.symbol: required field missing",
                                    ": node 'nodes[0]': config.start: required field missing",
                                    ": node 'm': config.expr: required field missing", NULL});
    parse_bad("{\"id\":\"x\"}", (const char *const[]){": nodes: required field missing", NULL});
    parse_bad("{\"id\":\"x\",\"nodes\":[]}",
              (const char *const[]){": nodes: a workflow needs 1 to 100000 nodes (got 0)", NULL});
}

static void timeouts_must_be_positive(void **state)
{
    (void)state;
    parse_bad(W("{\"id\":\"a\",\"type\":\"constant\",\"value\":1,\"timeout\":0},"
                "{\"id\":\"b\",\"type\":\"constant\",\"value\":1,\"timeout\":-2.5},"
                "{\"id\":\"c\",\"type\":\"constant\",\"value\":1,\"timeout\":\"30\"}"),
              (const char *const[]){": node 'a': timeout: must be > 0 (got 0)",
                                    ": node 'b': timeout: must be > 0 (got -2.5)",
                                    ": node 'c': timeout: expected a number, got string", NULL});
}

static void bad_expression_has_column(void **state)
{
    (void)state;
    bad_file("tests/workflow/bad/bad_expr.json",
             (const char *const[]){": node 'spread': config.expr: unexpected ')' at column 24",
                                   NULL});
}

static void malformed_json_has_line_and_column(void **state)
{
    (void)state;
    bad_file("tests/workflow/bad/malformed.json",
             (const char *const[]){":5:21: invalid JSON: '}' expected near '\"type\"'", NULL});
    parse_bad("{\"id\":\"x\",\n \"id\":\"y\"}",
              (const char *const[]){":2:5: invalid JSON: duplicate object key near '\"id\"'",
                                    NULL});
    parse_bad("", (const char *const[]){":1: invalid JSON: unexpected token near end of file",
                                        NULL});
    parse_bad("[1]",
              (const char *const[]){": a workflow definition must be a JSON object, got array",
                                    NULL});
}

static void many_problems_reported_together(void **state)
{
    (void)state;
    bad_file("tests/workflow/bad/many.json",
             (const char *const[]){
                 ": id: invalid workflow id 'many problems': use 1-128 of [A-Za-z0-9_.-]",
                 ": schedule.every_ms: must be > 0 (got 0)",
                 ": node 'feed': timeout: must be > 0 (got 0)",
                 ": node 'feed': config.symbol: expected a string, got number",
                 ": node 'feed': config.start: must be > 0 (got -1)",
                 ": node 'feed': id: duplicate node id (first defined as nodes[0])",
                 ": node 'gate': category: unknown category 'magic' (expected one of providers, "
                 "indicators, conditions, logic, trading, actions, utilities)",
                 ": node 'order': config.side: must be one of buy, sell (got 'hold')",
                 ": node 'order': config.quantity: required field missing",
                 ": node 'mystery': type: unknown node type 'teleport' (known: constant, "
                 "price_feed, math, condition, trade, delay, log)",
                 ": node 'gate': config.expr: unknown node 'ghost' in reference 'ghost.price' "
                 "at column 14",
                 ": node 'order': depends_on[1]: unknown node 'nowhere'", NULL});
}

static void unknown_fields_and_shorthand(void **state)
{
    (void)state;
    parse_bad("{\"id\":\"w\",\"shedule\":{},\"schedule\":{\"every\":5},\"nodes\":["
              "{\"id\":\"a\",\"type\":\"delay\",\"depend_on\":[\"b\"],\"config\":{\"ms\":1}},"
              "{\"id\":\"b\",\"type\":\"constant\",\"value\":1,\"config\":{\"value\":2}},"
              "{\"id\":\"c\",\"type\":\"log\",\"value\":1,\"config\":{\"message\":\"m\"},"
              "\"retry\":{\"max_attempts\":0,\"min_wait_seconds\":2,\"max_wait_seconds\":1,"
              "\"jitter\":true}},"
              "{\"id\":\"9lives\",\"type\":\"constant\",\"value\":1}]}",
              (const char *const[]){
                  ": schedule.every: unknown field",
                  ": schedule.every_ms: required field missing",
                  ": shedule: unknown field",
                  ": node 'a': depend_on: unknown field",
                  ": node 'b': value: given both on the node and in config",
                  ": node 'c': retry.jitter: unknown field",
                  ": node 'c': retry.max_attempts: must be between 1 and 100 (got 0)",
                  ": node 'c': retry.max_wait_seconds: must be >= retry.min_wait_seconds (1 < 2)",
                  ": node 'c': value: unknown field",
                  ": node '9lives': id: invalid node id: use letters, digits and '_', not "
                  "starting with a digit, at most 128 (ids appear in expressions)",
                  NULL});
}

static void unreadable_file(void **state)
{
    (void)state;
    tr_wf_problems *p = NULL;
    tr_wf_plan *plan = NULL;
    assert_int_equal(tr_wf_problems_new(&p), 0);
    assert_int_equal(tr_wf_parse_file(reg, "/nonexistent/wf.json", &plan, p), TR_EIO);
    check_lines(p, "/nonexistent/wf.json",
                (const char *const[]){": cannot open: No such file or directory", NULL});
    /* problems accumulate across parses until cleared */
    assert_int_equal(tr_wf_parse_json(reg, "{", 1, NULL, &plan, p), TR_EINVAL);
    assert_int_equal(tr_wf_problems_count(p), 2);
    assert_string_equal(tr_wf_problems_at(p, 1)->file, "<input>");
    assert_null(tr_wf_problems_at(p, 2));
    tr_wf_problems_clear(p);
    assert_int_equal(tr_wf_problems_count(p), 0);
    /* probs may be NULL: the result code still says invalid */
    assert_int_equal(tr_wf_parse_json(reg, "{}", 2, "x", &plan, NULL), TR_EINVAL);
    tr_wf_problems_free(p);
}

static void problem_format(void **state)
{
    (void)state;
    tr_wf_problem pr = {"examples/workflows/bad.json", "spread", "config.expr", 12, 5,
                        "unexpected ')' at column 14"};
    char buf[256];
    int n = tr_wf_problem_format(&pr, buf, sizeof buf);
    assert_string_equal(buf,
                        "examples/workflows/bad.json:12:5: node 'spread': config.expr: "
                        "unexpected ')' at column 14");
    assert_int_equal(n, (int)strlen(buf));
    char small[10];
    assert_int_equal(tr_wf_problem_format(&pr, small, sizeof small), n);
    assert_string_equal(small, "examples/");
    tr_wf_problem bare = {NULL, NULL, NULL, 0, 0, "oops"};
    tr_wf_problem_format(&bare, buf, sizeof buf);
    assert_string_equal(buf, "<input>: oops");
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duplicate_id),
        cmocka_unit_test(unknown_depends_on),
        cmocka_unit_test(unknown_expression_reference),
        cmocka_unit_test(cycle_reports_its_path),
        cmocka_unit_test(unknown_type_and_category),
        cmocka_unit_test(config_field_types_and_ranges),
        cmocka_unit_test(missing_required_fields),
        cmocka_unit_test(timeouts_must_be_positive),
        cmocka_unit_test(bad_expression_has_column),
        cmocka_unit_test(malformed_json_has_line_and_column),
        cmocka_unit_test(many_problems_reported_together),
        cmocka_unit_test(unknown_fields_and_shorthand),
        cmocka_unit_test(unreadable_file),
        cmocka_unit_test(problem_format),
    };
    return cmocka_run_group_tests_name("workflow.problems", tests, setup, teardown);
}
