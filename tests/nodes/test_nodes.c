/*
 * tests/nodes/test_nodes.c -- the built-in node types other than trade:
 * constant, price_feed (seeded walk, injected faults, hang, latency), math and
 * condition over upstream outputs (and their errors), delay, log, the
 * uniform entry points and the outputs encoder.  Plans come from real
 * workflow JSON parsed against the built-in registry.
 */
#include "nodes_test.h"

static void constant_outputs(void **state)
{
    (void)state;
    tr_wf_plan *plan = parse(
        "{\"id\":\"w\",\"nodes\":["
        "{\"id\":\"k\",\"type\":\"constant\",\"config\":{\"value\":42}},"
        "{\"id\":\"o\",\"type\":\"constant\",\"config\":{\"outputs\":"
        "{\"a\":1.5,\"b\":\"x\",\"c\":true,\"d\":null}}},"
        "{\"id\":\"s\",\"type\":\"constant\",\"value\":\"hello\"}]}");
    exec x;
    char js[256];
    exec_init(&x, plan, NULL);
    assert_int_equal(run(&x, "k"), 0);
    const tr_node_output *v = tr_node_result_find(result(&x, "k"), "value");
    assert_non_null(v);
    assert_int_equal(v->kind, TR_NODE_OUT_INT);
    assert_int_equal(v->i, 42);
    assert_true(v->num == 42.0);
    assert_int_equal(run(&x, "o"), 0);
    assert_int_equal(result(&x, "o")->noutputs, 3); /* null has no output */
    assert_string_equal(outputs_json(result(&x, "o"), js, sizeof js),
                        "{\"a\":1.5,\"b\":\"x\",\"c\":true}");
    assert_int_equal(run(&x, "s"), 0);
    assert_string_equal(outputs_json(result(&x, "s"), js, sizeof js), "{\"value\":\"hello\"}");
    assert_true(result(&x, "s")->delay_ms == 0);
    tr_wf_plan_free(plan);
}

#define FEED(id, cfg) "{\"id\":\"" id "\",\"type\":\"price_feed\",\"config\":" cfg "}"

static void price_feed_walk_is_seeded(void **state)
{
    (void)state;
    tr_wf_plan *plan = parse("{\"id\":\"w\",\"nodes\":["
        FEED("f", "{\"symbol\":\"BTC/USDT\",\"start\":50000,\"seed\":7,\"volatility\":0.01}") ","
        FEED("g", "{\"symbol\":\"BTC/USDT\",\"start\":50000,\"seed\":8,\"volatility\":0.01}") "]}");
    exec a, b;
    exec_init(&a, plan, NULL);
    exec_init(&b, plan, NULL);
    /* The documented algorithm, replayed: tick 1 is start and draws a volume;
     * tick 2 draws z (Box-Muller, two uniforms), then a volume. */
    uint64_t s = 7;
    double vol1 = 500.0 + 1000.0 * tr_rng_unit(&s);
    double u1 = tr_rng_unit(&s), u2 = tr_rng_unit(&s);
    double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    double p2 = 50000.0 * exp(0.01 * z);
    /* Quoted to exchange ticks: price 0.01, volume 0.0001. */
    vol1 = round(vol1 * 10000.0) / 10000.0;
    p2 = round(p2 * 100.0) / 100.0;

    assert_int_equal(run(&a, "f"), 0);
    assert_true(num(&a, "f", "price") == 50000.0);
    assert_true(num(&a, "f", "volume") == vol1);
    assert_true(num(&a, "f", "timestamp") == 1769300000.0);
    assert_true(num(&a, "f", "tick") == 1.0);
    size_t len = 0;
    const tr_node_result *r = result(&a, "f");
    const char *sym = tr_node_output_str(r, tr_node_result_find(r, "symbol"), &len);
    assert_int_equal(len, 8);
    assert_memory_equal(sym, "BTC/USDT", 8);
    assert_int_equal(run(&a, "f"), 0);
    assert_true(num(&a, "f", "price") == p2);
    assert_true(p2 != 50000.0);

    /* Same seed, another env: the same sequence.  Another seed: another. */
    double pa[20], pb[20];
    for (int i = 0; i < 20; i++) {
        assert_int_equal(run(&a, "f"), 0);
        pa[i] = num(&a, "f", "price");
        assert_true(pa[i] > 0);
    }
    assert_int_equal(run(&b, "f"), 0);
    assert_int_equal(run(&b, "f"), 0);
    assert_true(num(&b, "f", "price") == p2);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(run(&b, "f"), 0);
        pb[i] = num(&b, "f", "price");
    }
    assert_memory_equal(pa, pb, sizeof pa);
    assert_int_equal(run(&b, "g"), 0);
    assert_int_equal(run(&b, "g"), 0);
    assert_true(num(&b, "g", "price") != p2);
    tr_wf_plan_free(plan);
}

static void price_feed_default_seed_comes_from_the_node_id(void **state)
{
    (void)state;
    const char *def = "{\"id\":\"w\",\"nodes\":["
        FEED("f", "{\"symbol\":\"X\",\"start\":10}") ","
        FEED("h", "{\"symbol\":\"X\",\"start\":10}") "]}";
    tr_wf_plan *p1 = parse(def), *p2 = parse(def);
    exec a, b;
    exec_init(&a, p1, NULL);
    exec_init(&b, p2, NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(run(&a, "f"), 0);
        assert_int_equal(run(&b, "f"), 0);
        assert_int_equal(run(&a, "h"), 0);
    }
    assert_true(num(&a, "f", "price") == num(&b, "f", "price"));
    assert_true(num(&a, "f", "price") != num(&a, "h", "price"));
    tr_wf_plan_free(p1);
    tr_wf_plan_free(p2);
}

static void price_feed_fail_first_then_succeeds(void **state)
{
    (void)state;
    tr_wf_plan *plan = parse("{\"id\":\"w\",\"nodes\":["
        FEED("f", "{\"symbol\":\"S\",\"start\":100,\"simulate\":"
                  "{\"fail_first\":2,\"latency_ms\":25}}") "]}");
    exec x;
    exec_init(&x, plan, NULL);
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(run(&x, "f"), TR_EIO);
        const tr_node_result *r = result(&x, "f");
        assert_string_equal(r->error_type, "ConnectionError");
        assert_true(tr_error_type_retryable(r->error_type));
        assert_int_equal(r->noutputs, 0);
        assert_true(r->delay_ms == 25.0);
        assert_false(r->hang);
        char want[80];
        snprintf(want, sizeof want, "simulated failure %d of 2 (fail_first)", i);
        assert_string_equal(r->error, want);
    }
    assert_int_equal(run(&x, "f"), 0);
    assert_true(num(&x, "f", "price") == 100.0); /* failures do not move the walk */
    assert_true(result(&x, "f")->delay_ms == 25.0);
    assert_null(result(&x, "f")->error_type);
    assert_int_equal(run(&x, "f"), 0);
    tr_wf_plan_free(plan);
}

static void price_feed_failure_rate_extremes(void **state)
{
    (void)state;
    tr_wf_plan *plan = parse("{\"id\":\"w\",\"nodes\":["
        FEED("never", "{\"symbol\":\"S\",\"start\":100,\"seed\":3,\"simulate\":{\"failure_rate\":0}}") ","
        FEED("always", "{\"symbol\":\"S\",\"start\":100,\"simulate\":"
                       "{\"failure_rate\":1,\"error_type\":\"TimeoutError\"}}") ","
        FEED("half", "{\"symbol\":\"S\",\"start\":100,\"seed\":3,\"simulate\":{\"failure_rate\":0.5}}") ","
        FEED("half2", "{\"symbol\":\"S\",\"start\":100,\"seed\":3,\"simulate\":{\"failure_rate\":0.5}}") "]}");
    exec x;
    exec_init(&x, plan, NULL);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(run(&x, "never"), 0);
        assert_int_equal(run(&x, "always"), TR_ETIMEDOUT);
        assert_string_equal(result(&x, "always")->error_type, "TimeoutError");
    }
    /* failure_rate 0.5, seeded: a reproducible count near 500, and the
     * prices of successful calls are the no-fault feed's prices in order. */
    exec y;
    exec_init(&y, plan, NULL);
    int fails = 0, fails2 = 0, ok = 0;
    double want[1000];
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(run(&y, "never"), 0);
        want[i] = num(&y, "never", "price");
    }
    for (int i = 0; i < 1000; i++) {
        if (run(&y, "half") != 0) {
            fails++;
        } else {
            assert_true(num(&y, "half", "price") == want[ok]);
            ok++;
        }
        fails2 += run(&y, "half2") != 0;
    }
    assert_int_equal(fails, fails2);
    assert_true(fails > 430 && fails < 570);
    tr_wf_plan_free(plan);
}

static void price_feed_hang_and_missing_state(void **state)
{
    (void)state;
    tr_wf_plan *plan = parse("{\"id\":\"w\",\"nodes\":["
        FEED("f", "{\"symbol\":\"S\",\"start\":1,\"simulate\":{\"hang\":true,\"latency_ms\":5}}") "]}");
    exec x;
    exec_init(&x, plan, NULL);
    assert_int_equal(run(&x, "f"), 0);
    assert_true(result(&x, "f")->hang);
    assert_int_equal(result(&x, "f")->noutputs, 0);
    assert_true(result(&x, "f")->delay_ms == 5.0);
    assert_int_equal(x.feeds[0].calls, 1);
    x.env.feeds = NULL;
    assert_int_equal(run(&x, "f"), TR_EINVAL);
    assert_string_equal(result(&x, "f")->error_type, "ValueError");
    tr_wf_plan_free(plan);
}

static const char *const expr_plan =
    "{\"id\":\"w\",\"nodes\":["
    "{\"id\":\"a\",\"type\":\"constant\",\"value\":10},"
    "{\"id\":\"b\",\"type\":\"constant\",\"value\":4},"
    "{\"id\":\"s\",\"type\":\"constant\",\"value\":\"text\"},"
    "{\"id\":\"m\",\"type\":\"math\",\"config\":{\"expr\":\"a.value - b * 2\"}},"
    "{\"id\":\"z\",\"type\":\"math\",\"config\":{\"expr\":\"a / (b - 4)\"}},"
    "{\"id\":\"t\",\"type\":\"math\",\"config\":{\"expr\":\"s + 1\"}},"
    "{\"id\":\"yes\",\"type\":\"condition\",\"config\":{\"expr\":\"m.value > 1\"}},"
    "{\"id\":\"no\",\"type\":\"condition\",\"config\":{\"expr\":\"m > 2 and 1 / 0\"}},"
    "{\"id\":\"ar\",\"type\":\"condition\",\"config\":{\"expr\":\"a - 9.5\"}}]}";

static void math_and_condition(void **state)
{
    (void)state;
    tr_wf_plan *plan = parse(expr_plan);
    exec x;
    char js[128];
    exec_init(&x, plan, NULL);
    assert_int_equal(run(&x, "a"), 0);
    assert_int_equal(run(&x, "b"), 0);
    assert_int_equal(run(&x, "s"), 0);
    assert_int_equal(run(&x, "m"), 0);
    assert_true(num(&x, "m", "value") == 2.0);
    assert_string_equal(outputs_json(result(&x, "m"), js, sizeof js), "{\"value\":2.0}");
    assert_int_equal(run(&x, "yes"), 0);
    assert_string_equal(outputs_json(result(&x, "yes"), js, sizeof js),
                        "{\"value\":1,\"passed\":true}");
    assert_false(result(&x, "yes")->skip_dependants);
    assert_int_equal(run(&x, "no"), 0); /* short-circuit: 1 / 0 never runs */
    assert_string_equal(outputs_json(result(&x, "no"), js, sizeof js),
                        "{\"value\":0,\"passed\":false}");
    assert_true(result(&x, "no")->skip_dependants);
    assert_int_equal(run(&x, "ar"), 0); /* non-zero is true */
    assert_true(num(&x, "ar", "passed") == 1.0);
    tr_wf_plan_free(plan);
}

static void expression_errors(void **state)
{
    (void)state;
    tr_wf_plan *plan = parse(expr_plan);
    exec x;
    exec_init(&x, plan, NULL);
    assert_int_equal(run(&x, "a"), 0);
    assert_int_equal(run(&x, "s"), 0);
    /* b has not run: a missing reference. */
    assert_int_equal(run(&x, "m"), TR_ENOENT);
    assert_string_equal(result(&x, "m")->error_type, "KeyError");
    assert_string_equal(result(&x, "m")->error, "missing reference 'b.value' at column 11");
    assert_false(tr_error_type_retryable(result(&x, "m")->error_type));
    assert_int_equal(run(&x, "b"), 0);
    assert_int_equal(run(&x, "z"), TR_ERANGE);
    assert_string_equal(result(&x, "z")->error_type, "ZeroDivisionError");
    assert_string_equal(result(&x, "z")->error, "division by zero at column 3");
    /* A string output is not a number. */
    assert_int_equal(run(&x, "t"), TR_ENOENT);
    assert_string_equal(result(&x, "t")->error, "missing reference 's.value' at column 1");
    /* A failed upstream result is not visible. */
    assert_int_equal(run(&x, "yes"), TR_ENOENT);
    tr_wf_plan_free(plan);
}

static void delay_and_log(void **state)
{
    (void)state;
    tr_wf_plan *plan = parse(
        "{\"id\":\"w\",\"nodes\":["
        "{\"id\":\"feed\",\"type\":\"constant\",\"config\":{\"outputs\":"
        "{\"price\":50000.5,\"symbol\":\"BTC/USDT\",\"n\":3,\"ok\":false}}},"
        "{\"id\":\"gate\",\"type\":\"condition\",\"config\":{\"expr\":\"feed.price > 1\"}},"
        "{\"id\":\"wait\",\"type\":\"delay\",\"config\":{\"ms\":250}},"
        "{\"id\":\"plain\",\"type\":\"log\",\"config\":{\"message\":\"hello\"}},"
        "{\"id\":\"say\",\"type\":\"log\",\"depends_on\":[\"gate\"],\"config\":{\"level\":\"warning\","
        "\"message\":\"price {feed.price} on {feed.symbol} n={feed.n} ok={feed.ok} gate {gate}"
        " missing {nope.x} {feed.none} {} {bad\"}}]}");
    exec x;
    char js[512];
    exec_init(&x, plan, NULL);
    assert_int_equal(run(&x, "wait"), 0);
    assert_true(result(&x, "wait")->delay_ms == 250.0);
    assert_int_equal(result(&x, "wait")->noutputs, 0);
    assert_int_equal(run(&x, "plain"), 0);
    assert_string_equal(outputs_json(result(&x, "plain"), js, sizeof js),
                        "{\"message\":\"hello\",\"level\":\"info\"}");
    assert_int_equal(run(&x, "feed"), 0);
    assert_int_equal(run(&x, "gate"), 0);
    assert_int_equal(run(&x, "say"), 0);
    /* The result is relocatable: read it from a copy after the original is gone. */
    tr_node_result copy = *result(&x, "say");
    memset(&x.res[tr_wf_plan_find(plan, "say")->index], 0x5a, sizeof copy);
    assert_string_equal(outputs_json(&copy, js, sizeof js),
                        "{\"message\":\"price 50000.5 on BTC/USDT n=3 ok=false gate 1"
                        " missing {nope.x} {feed.none} {} {bad\",\"level\":\"warning\"}");
    tr_wf_plan_free(plan);
}

static void log_message_is_truncated_to_the_text_buffer(void **state)
{
    (void)state;
    char def[2048], msg[1100];
    memset(msg, 'x', 1000);
    memcpy(msg, "{k}", 3);
    msg[1000] = '\0';
    snprintf(def, sizeof def, "{\"id\":\"w\",\"nodes\":[{\"id\":\"k\",\"type\":\"constant\",\"value\":7},"
             "{\"id\":\"l\",\"type\":\"log\",\"depends_on\":[\"k\"],\"config\":{\"message\":\"%s\"}}]}", msg);
    tr_wf_plan *plan = parse(def);
    exec x;
    exec_init(&x, plan, NULL);
    assert_int_equal(run(&x, "k"), 0);
    assert_int_equal(run(&x, "l"), 0);
    const tr_node_result *r = result(&x, "l");
    size_t len = 0;
    const char *m = tr_node_output_str(r, tr_node_result_find(r, "message"), &len);
    assert_int_equal(len, TR_NODE_TEXT_MAX - 1);
    assert_memory_equal(m, "7xxx", 4);
    tr_wf_plan_free(plan);
}

static const tr_wf_field sms_fields[] = {{.name = "to", .type = TR_WF_FIELD_STRING}};
static const tr_node_type sms = {.name = "sms", .default_category = TR_WF_CAT_ACTIONS,
                                 .fields = sms_fields, .nfields = 1};

static void prepared_runs_and_host_types(void **state)
{
    (void)state;
    assert_int_equal(tr_node_type_register(reg, &sms), 0);
    tr_wf_plan *plan = parse("{\"id\":\"w\",\"nodes\":["
        FEED("f", "{\"symbol\":\"S\",\"start\":5,\"seed\":1}") ","
        "{\"id\":\"x\",\"type\":\"sms\",\"config\":{\"to\":\"me\"}}]}");
    exec a, b;
    exec_init(&a, plan, NULL);
    exec_init(&b, plan, NULL);
    const tr_wf_node *f = tr_wf_plan_find(plan, "f");
    tr_node_prep prep;
    assert_int_equal(tr_node_prepare(plan, f, &prep), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tr_node_run(&prep, &a.in, &a.env, &a.res[f->index]), 0);
        assert_int_equal(run(&b, "f"), 0);
        assert_true(tr_node_result_find(&a.res[f->index], "price")->num == num(&b, "f", "price"));
    }
    assert_int_equal(tr_node_builtin_of("price_feed"), TR_NODE_PRICE_FEED);
    assert_int_equal(tr_node_builtin_of("sms"), TR_NODE_NONE);
    assert_int_equal(tr_node_prepare(plan, tr_wf_plan_find(plan, "x"), &prep), TR_ENOENT);
    assert_int_equal(run(&b, "x"), TR_ENOENT);
    assert_string_equal(result(&b, "x")->error, "node type 'sms' is not built in");
    tr_wf_plan_free(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constant_outputs),
        cmocka_unit_test(price_feed_walk_is_seeded),
        cmocka_unit_test(price_feed_default_seed_comes_from_the_node_id),
        cmocka_unit_test(price_feed_fail_first_then_succeeds),
        cmocka_unit_test(price_feed_failure_rate_extremes),
        cmocka_unit_test(price_feed_hang_and_missing_state),
        cmocka_unit_test(math_and_condition),
        cmocka_unit_test(expression_errors),
        cmocka_unit_test(delay_and_log),
        cmocka_unit_test(log_message_is_truncated_to_the_text_buffer),
        cmocka_unit_test(prepared_runs_and_host_types),
    };
    return cmocka_run_group_tests_name("nodes.builtin", tests, setup, teardown);
}
