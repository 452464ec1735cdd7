/*
 * tests/workflow/test_workflow_def.c -- workflow definitions: parsing both
 * forms, the plan (order, indexes, config views, expressions), the
 * registry, and the example files (problems: test_workflow_problems.c).
 */
#include "wf_test.h"


/* ---------------------------------------------------------------------------
 * Valid definitions
 * ------------------------------------------------------------------------ */

static double plan_lookup_vals[8];

static int plan_lookup(void *arg, const tr_expr_ref *ref, uint32_t i, double *out)
{
    (void)i;
    const tr_wf_plan *plan = arg;
    /* node_index is bound to the plan: index straight into per-node outputs */
    assert_string_equal(tr_wf_plan_node(plan, ref->node_index)->id, ref->node);
    *out = plan_lookup_vals[ref->node_index];
    return 0;
}

static void arb_btc_example(void **state)
{
    (void)state;
    char path[1024];
    tr_wf_problems *p = NULL;
    tr_wf_plan *plan = NULL;
    assert_int_equal(tr_wf_problems_new(&p), 0);
    int rc = tr_wf_parse_file(reg, source_path("examples/workflows/arb_btc.json", path,
                                               sizeof path), &plan, p);
    if (rc != 0)
        dump(p);
    assert_int_equal(rc, 0);
    tr_wf_problems_free(p);

    assert_string_equal(tr_wf_plan_id(plan), "arb_btc_001");
    assert_string_equal(tr_wf_plan_name(plan), "BTC arbitrage");
    assert_string_equal(tr_wf_plan_bot_id(plan), "bot_001");
    assert_string_equal(tr_wf_plan_strategy_id(plan), "arbitrage_btc");
    assert_null(tr_wf_plan_description(plan));
    assert_int_equal(tr_wf_plan_every_ms(plan), 1000);
    assert_int_equal(tr_wf_plan_node_count(plan), 5);

    static const char *const order[] = {"price_binance", "price_coinbase", "spread",
                                        "worth_it", "buy"};
    for (uint32_t i = 0; i < 5; i++) {
        assert_string_equal(tr_wf_plan_node(plan, i)->id, order[i]);
        assert_int_equal(tr_wf_plan_node(plan, i)->index, i);
        assert_int_equal(tr_wf_plan_node(plan, i)->def_index, i);
        assert_ptr_equal(tr_wf_plan_find(plan, order[i]), tr_wf_plan_node(plan, i));
    }
    assert_null(tr_wf_plan_node(plan, 5));
    assert_null(tr_wf_plan_find(plan, "nope"));

    const tr_wf_node *pb = tr_wf_plan_find(plan, "price_binance");
    const tr_wf_node *pc = tr_wf_plan_find(plan, "price_coinbase");
    const tr_wf_node *spread = tr_wf_plan_find(plan, "spread");
    const tr_wf_node *worth = tr_wf_plan_find(plan, "worth_it");
    const tr_wf_node *buy = tr_wf_plan_find(plan, "buy");

    /* dependencies: spread <- {price_binance, price_coinbase} (from its
     * expression), worth_it <- spread (expression), buy <- worth_it */
    assert_int_equal(pb->ndeps, 0);
    assert_int_equal(pc->ndeps, 0);
    assert_int_equal(spread->ndeps, 2);
    assert_string_equal(dep_id(plan, spread, 0), "price_binance");
    assert_string_equal(dep_id(plan, spread, 1), "price_coinbase");
    assert_int_equal(worth->ndeps, 1);
    assert_string_equal(dep_id(plan, worth, 0), "spread");
    assert_int_equal(buy->ndeps, 1);
    assert_string_equal(dep_id(plan, buy, 0), "worth_it");
    /* dependants mirror them */
    assert_int_equal(pb->ndependants, 1);
    assert_int_equal(pb->dependants[0], spread->index);
    assert_int_equal(pc->ndependants, 1);
    assert_int_equal(spread->ndependants, 1);
    assert_int_equal(spread->dependants[0], worth->index);
    assert_int_equal(worth->ndependants, 1);
    assert_int_equal(worth->dependants[0], buy->index);
    assert_int_equal(buy->ndependants, 0);

    /* names, types, categories (given or the type's default), timeouts */
    assert_string_equal(pb->name, "Binance Price Feed");
    assert_string_equal(pc->name, "price_coinbase");
    assert_string_equal(pb->type, "price_feed");
    assert_ptr_equal(pb->type_desc, tr_node_type_find(reg, "price_feed"));
    assert_int_equal(pb->category, TR_WF_CAT_PROVIDERS);
    assert_int_equal(spread->category, TR_WF_CAT_INDICATORS);
    assert_int_equal(worth->category, TR_WF_CAT_CONDITIONS);
    assert_int_equal(buy->category, TR_WF_CAT_TRADING);
    assert_true(tr_wf_category_trades(buy->category));
    assert_false(tr_wf_category_trades(spread->category));
    assert_false(pb->blocking);
    assert_true(pb->timeout_s == 30.0);
    assert_true(buy->timeout_s == 0.0); /* none given: the engine's default applies */
    assert_int_equal(buy->retry.max_attempts, -1);
    assert_true(buy->retry.min_wait_s == -1);

    /* config views */
    assert_string_equal(pb->config_json,
                        "{\"symbol\":\"BTC/USDT\",\"start\":50000,\"simulate\":"
                        "{\"latency_ms\":2,\"fail_first\":0}}");
    assert_int_equal(pb->config_json_len, strlen(pb->config_json));
    assert_int_equal(pb->nconfig, 4);
    assert_string_equal(pb->config[2].path, "simulate.latency_ms");
    const char *s = NULL;
    double d = 0;
    int64_t i64 = -1;
    bool bv = true;
    assert_int_equal(tr_wf_node_cfg_string(pb, "symbol", &s), 0);
    assert_string_equal(s, "BTC/USDT");
    assert_int_equal(tr_wf_node_cfg_number(pb, "start", &d), 0);
    assert_true(d == 50000.0);
    assert_int_equal(tr_wf_node_cfg_int(pb, "simulate.latency_ms", &i64), 0);
    assert_int_equal(i64, 2);
    assert_int_equal(tr_wf_node_cfg_int(pb, "simulate.fail_first", &i64), 0);
    assert_int_equal(i64, 0);
    assert_int_equal(tr_wf_node_cfg_number(pb, "volatility", &d), TR_ENOENT);
    assert_int_equal(tr_wf_node_cfg_bool(pb, "symbol", &bv), TR_EINVAL);
    assert_true(bv); /* untouched */
    assert_int_equal(tr_wf_node_cfg_number(buy, "quantity", &d), 0);
    assert_true(d == 0.01);
    assert_int_equal(tr_wf_node_cfg_int(buy, "quantity", &i64), TR_EINVAL);
    /* msgpack: fixmap of 3, first key fixstr "symbol" */
    const uint8_t *mp = tr_payload_data(pb->config_msgpack);
    assert_int_equal(mp[0], 0x83);
    assert_int_equal(mp[1], 0xa6);
    assert_memory_equal(mp + 2, "symbol", 6);
    assert_int_equal(tr_payload_refs(pb->config_msgpack), 1);

    /* expressions: compiled, bound to plan indexes, evaluable */
    assert_null(pb->expr);
    assert_null(buy->expr);
    assert_non_null(spread->expr);
    assert_string_equal(tr_expr_source(spread->expr), "price_coinbase.price - price_binance.price");
    assert_int_equal(tr_expr_ref_count(spread->expr), 2);
    assert_int_equal(tr_expr_ref_at(spread->expr, 0)->node_index, pc->index);
    assert_int_equal(tr_expr_ref_at(spread->expr, 1)->node_index, pb->index);
    assert_string_equal(tr_expr_ref_at(worth->expr, 0)->output, "value");
    plan_lookup_vals[pb->index] = 50000;
    plan_lookup_vals[pc->index] = 50030.5;
    plan_lookup_vals[spread->index] = 30.5;
    double out = 0;
    assert_int_equal(tr_expr_eval(spread->expr, plan_lookup, plan, &out, NULL), 0);
    assert_true(out == 30.5);
    assert_int_equal(tr_expr_eval(worth->expr, plan_lookup, plan, &out, NULL), 0);
    assert_true(out == 1.0);

    /* reference counting: the plan outlives its first owner */
    assert_ptr_equal(tr_wf_plan_ref(plan), plan);
    tr_wf_plan_free(plan);
    assert_string_equal(tr_wf_plan_node(plan, 0)->id, "price_binance");
    tr_wf_plan_free(plan);
    tr_wf_plan_free(NULL);
}

/* Compare two plans field by field. */
static void assert_same_plan(const tr_wf_plan *a, const tr_wf_plan *b)
{
    assert_string_equal(tr_wf_plan_id(a), tr_wf_plan_id(b));
    assert_int_equal(tr_wf_plan_every_ms(a), tr_wf_plan_every_ms(b));
    assert_int_equal(tr_wf_plan_node_count(a), tr_wf_plan_node_count(b));
    for (uint32_t i = 0; i < tr_wf_plan_node_count(a); i++) {
        const tr_wf_node *x = tr_wf_plan_node(a, i), *y = tr_wf_plan_node(b, i);
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->type, y->type);
        assert_int_equal(x->category, y->category);
        assert_true(x->timeout_s == y->timeout_s);
        assert_int_equal(x->retry.max_attempts, y->retry.max_attempts);
        assert_int_equal(x->def_index, y->def_index);
        assert_int_equal(x->ndeps, y->ndeps);
        assert_memory_equal(x->deps, y->deps, x->ndeps * sizeof(uint32_t));
        assert_int_equal(x->ndependants, y->ndependants);
        assert_memory_equal(x->dependants, y->dependants, x->ndependants * sizeof(uint32_t));
        assert_string_equal(x->config_json, y->config_json);
        assert_int_equal(tr_payload_len(x->config_msgpack), tr_payload_len(y->config_msgpack));
        assert_memory_equal(tr_payload_data(x->config_msgpack), tr_payload_data(y->config_msgpack),
                            tr_payload_len(x->config_msgpack));
        assert_true((x->expr == NULL) == (y->expr == NULL));
        if (x->expr != NULL)
            assert_string_equal(tr_expr_source(x->expr), tr_expr_source(y->expr));
    }
}

static void list_and_map_forms_give_the_same_plan(void **state)
{
    (void)state;
    /* Written out of dependency order on purpose. */
    tr_wf_plan *list = parse_ok(
        "{\"id\":\"forms\",\"schedule\":{\"every_ms\":250},\"nodes\":["
        "{\"id\":\"total\",\"type\":\"math\",\"config\":{\"expr\":\"a + b.value\"}},"
        "{\"id\":\"a\",\"type\":\"constant\",\"config\":{\"value\":1}},"
        "{\"id\":\"b\",\"name\":\"Bee\",\"type\":\"constant\",\"value\":2,\"timeout\":5,"
        " \"retry\":{\"max_attempts\":4}},"
        "{\"id\":\"say\",\"type\":\"log\",\"depends_on\":[\"total\"],"
        " \"config\":{\"message\":\"done\"}}]}");
    tr_wf_plan *map = parse_ok(
        "{\"id\":\"forms\",\"schedule\":{\"every_ms\":250},\"nodes\":{"
        "\"total\":{\"type\":\"math\",\"config\":{\"expr\":\"a + b.value\"}},"
        "\"a\":{\"type\":\"constant\",\"config\":{\"value\":1}},"
        "\"b\":{\"id\":\"b\",\"name\":\"Bee\",\"type\":\"constant\",\"value\":2,\"timeout\":5,"
        " \"retry\":{\"max_attempts\":4}},"
        "\"say\":{\"type\":\"log\",\"depends_on\":[\"total\"],"
        " \"config\":{\"message\":\"done\"}}}}");
    assert_same_plan(list, map);
    /* order: a, b (ready, by definition order), then total, then say */
    static const char *const order[] = {"a", "b", "total", "say"};
    for (uint32_t i = 0; i < 4; i++)
        assert_string_equal(tr_wf_plan_node(map, i)->id, order[i]);
    const tr_wf_node *b = tr_wf_plan_find(map, "b");
    assert_string_equal(b->config_json, "{\"value\":2}"); /* seed shorthand */
    assert_true(b->timeout_s == 5.0);
    assert_int_equal(b->retry.max_attempts, 4);
    assert_int_equal(b->def_index, 2);
    assert_int_equal(b->category, TR_WF_CAT_UTILITIES);
    tr_wf_plan_free(list);
    tr_wf_plan_free(map);
}

static void topological_order_is_stable(void **state)
{
    (void)state;
    /* d depends on b and c, which depend on a; e is independent; f on d, e. */
    tr_wf_plan *plan = parse_ok(
        "{\"id\":\"topo\",\"nodes\":["
        "{\"id\":\"f\",\"type\":\"math\",\"config\":{\"expr\":\"d + e\"}},"
        "{\"id\":\"d\",\"type\":\"math\",\"config\":{\"expr\":\"b * c\"}},"
        "{\"id\":\"c\",\"type\":\"math\",\"depends_on\":[\"a\"],\"config\":{\"expr\":\"a.value\"}},"
        "{\"id\":\"b\",\"type\":\"delay\",\"depends_on\":[\"a\",\"a\"],\"config\":{\"ms\":0}},"
        "{\"id\":\"e\",\"type\":\"constant\",\"value\":5},"
        "{\"id\":\"a\",\"type\":\"constant\",\"value\":1}]}");
    /* Ready set by definition index: e(4), a(5) -> e; a -> b(3), c(2) ready:
     * c first; then b; then d; then f. */
    static const char *const order[] = {"e", "a", "c", "b", "d", "f"};
    for (uint32_t i = 0; i < 6; i++) {
        const tr_wf_node *n = tr_wf_plan_node(plan, i);
        assert_string_equal(n->id, order[i]);
        for (uint32_t k = 0; k < n->ndeps; k++) {
            assert_true(n->deps[k] < i);
            if (k > 0)
                assert_true(n->deps[k - 1] < n->deps[k]);
        }
        for (uint32_t k = 0; k < n->ndependants; k++)
            assert_true(n->dependants[k] > i);
    }
    const tr_wf_node *b = tr_wf_plan_find(plan, "b");
    assert_int_equal(b->ndeps, 1); /* duplicates collapse */
    const tr_wf_node *c = tr_wf_plan_find(plan, "c");
    assert_int_equal(c->ndeps, 1); /* depends_on and expression agree */
    const tr_wf_node *a = tr_wf_plan_find(plan, "a");
    assert_int_equal(a->ndependants, 2);
    assert_string_equal(tr_wf_plan_node(plan, a->dependants[0])->id, "c");
    assert_string_equal(tr_wf_plan_node(plan, a->dependants[1])->id, "b");
    const tr_wf_node *f = tr_wf_plan_find(plan, "f");
    assert_string_equal(dep_id(plan, f, 0), "e");
    assert_string_equal(dep_id(plan, f, 1), "d");
    tr_wf_plan_free(plan);
}

static void other_examples_validate(void **state)
{
    (void)state;
    static const char *const files[] = {"examples/workflows/constant.json",
                                        "examples/workflows/flaky_provider.json"};
    for (size_t i = 0; i < 2; i++) {
        char path[1024];
        tr_wf_problems *p = NULL;
        tr_wf_plan *plan = NULL;
        assert_int_equal(tr_wf_problems_new(&p), 0);
        int rc = tr_wf_parse_file(reg, source_path(files[i], path, sizeof path), &plan, p);
        if (rc != 0)
            dump(p);
        assert_int_equal(rc, 0);
        if (i == 1) {
            const tr_wf_node *n = tr_wf_plan_find(plan, "flaky_feed");
            int64_t v = 0;
            const char *s = NULL;
            assert_int_equal(tr_wf_node_cfg_int(n, "simulate.fail_first", &v), 0);
            assert_int_equal(v, 2);
            assert_int_equal(tr_wf_node_cfg_string(n, "simulate.error_type", &s), 0);
            assert_string_equal(s, "ConnectionError");
            assert_int_equal(n->retry.max_attempts, 3);
            assert_true(n->retry.min_wait_s == 0.05);
            assert_true(n->retry.max_wait_s == 0.5);
            assert_true(n->timeout_s == 2.0);
        } else {
            const tr_wf_node *n = tr_wf_plan_find(plan, "limits");
            int64_t v = 0;
            assert_int_equal(tr_wf_node_cfg_int(n, "outputs.max_spread", &v), 0);
            assert_int_equal(v, 25);
        }
        tr_wf_plan_free(plan);
        tr_wf_problems_free(p);
    }
}

/* ---------------------------------------------------------------------------
 * Registry
 * ------------------------------------------------------------------------ */

static const char *const venues[] = {"paper", "live", NULL};
static const tr_wf_field sms_fields[] = {
    {"to", TR_WF_FIELD_STRING, true, .has_min = true, .min = 1},
    {.name = "when", .type = TR_WF_FIELD_EXPR, .required = true},
    {"venue", TR_WF_FIELD_STRING, false, .choices = venues},
    {.name = "opts", .type = TR_WF_FIELD_OBJECT},
    {"opts.retries", TR_WF_FIELD_INT, false, .has_min = true, .min = 0, .has_max = true,
     .max = 5},
};
static int sms_user;
static const tr_node_type sms_type = {"sms", TR_WF_CAT_ACTIONS, true, true, sms_fields,
                                      sizeof sms_fields / sizeof sms_fields[0], NULL, &sms_user};

static void registry_accepts_host_types(void **state)
{
    (void)state;
    tr_node_type_registry *r = NULL;
    assert_int_equal(tr_node_type_registry_new(&r), 0);
    assert_int_equal(tr_node_type_count(r), 0);
    assert_int_equal(tr_node_type_register_builtins(r), 0);
    assert_int_equal(tr_node_type_count(r), 7);
    assert_int_equal(tr_node_type_register_builtins(r), TR_EEXIST);
    assert_int_equal(tr_node_type_count(r), 7);
    assert_int_equal(tr_node_type_register(r, &sms_type), 0);
    assert_int_equal(tr_node_type_register(r, &sms_type), TR_EEXIST);
    assert_ptr_equal(tr_node_type_find(r, "sms"), &sms_type);
    assert_ptr_equal(tr_node_type_at(r, 7), &sms_type);
    assert_null(tr_node_type_at(r, 8));
    assert_null(tr_node_type_find(r, "nope"));

    /* bad descriptors are refused whole */
    static const tr_wf_field orphan[] = {{.name = "a.b", .type = TR_WF_FIELD_INT}};
    static const tr_wf_field badrange[] = {
        {"n", TR_WF_FIELD_NUMBER, false, .has_min = true, .min = 2, .has_max = true, .max = 1}};
    static const char *const ch[] = {"x", NULL};
    static const tr_wf_field badchoice[] = {{"n", TR_WF_FIELD_INT, false, .choices = ch}};
    static const char *const missing[] = {"zz", NULL};
    tr_node_type t1 = {"t1", TR_WF_CAT_LOGIC, false, false, orphan, 1, NULL, NULL};
    tr_node_type t2 = {"t2", TR_WF_CAT_LOGIC, false, false, badrange, 1, NULL, NULL};
    tr_node_type t3 = {"t3", TR_WF_CAT_LOGIC, false, false, badchoice, 1, NULL, NULL};
    tr_node_type t4 = {"bad name", TR_WF_CAT_LOGIC, false, false, NULL, 0, NULL, NULL};
    tr_node_type t5 = {"t5", TR_WF_CAT_COUNT, false, false, NULL, 0, NULL, NULL};
    tr_node_type t6 = {"t6", TR_WF_CAT_LOGIC, false, false, badrange, 0, missing, NULL};
    assert_int_equal(tr_node_type_register(r, &t1), TR_EINVAL);
    assert_int_equal(tr_node_type_register(r, &t2), TR_EINVAL);
    assert_int_equal(tr_node_type_register(r, &t3), TR_EINVAL);
    assert_int_equal(tr_node_type_register(r, &t4), TR_EINVAL);
    assert_int_equal(tr_node_type_register(r, &t5), TR_EINVAL);
    assert_int_equal(tr_node_type_register(r, &t6), TR_EINVAL);
    assert_int_equal(tr_node_type_count(r), 8);

    /* a definition using it */
    const char *ok = "{\"id\":\"h\",\"nodes\":[{\"id\":\"px\",\"type\":\"constant\",\"value\":3},"
                     "{\"id\":\"alert\",\"type\":\"sms\",\"config\":{\"to\":\"+100\","
                     "\"when\":\"px > 2\",\"extra\":[1,{\"k\":true}],\"opts\":{\"retries\":2}}}]}";
    tr_wf_plan *plan = NULL;
    assert_int_equal(tr_wf_parse_json(r, ok, strlen(ok), "h.json", &plan, NULL), 0);
    const tr_wf_node *alert = tr_wf_plan_find(plan, "alert");
    assert_true(alert->blocking);
    assert_int_equal(alert->category, TR_WF_CAT_ACTIONS);
    assert_ptr_equal(alert->type_desc->user, &sms_user);
    assert_int_equal(alert->ndeps, 1);
    assert_string_equal(tr_expr_source(alert->expr), "px > 2");
    /* open_config keeps undeclared keys, flattened */
    assert_int_equal(alert->nconfig, 5);
    assert_string_equal(alert->config[2].path, "extra[0]");
    assert_string_equal(alert->config[3].path, "extra[1].k");
    assert_int_equal(alert->config[3].type, TR_WF_V_BOOL);
    assert_string_equal(alert->config[4].path, "opts.retries");
    tr_wf_plan_free(plan);

    tr_wf_problems *p = NULL;
    assert_int_equal(tr_wf_problems_new(&p), 0);
    const char *bad = "{\"id\":\"h\",\"nodes\":[{\"id\":\"alert\",\"type\":\"sms\",\"config\":"
                      "{\"to\":\"\",\"when\":\"1 +\",\"venue\":\"moon\",\"opts\":{\"retries\":9,"
                      "\"x\":1}}},{\"id\":\"z\",\"type\":\"zap\"}]}";
    assert_int_equal(tr_wf_parse_json(r, bad, strlen(bad), "h.json", &plan, p), TR_EINVAL);
    check_lines(p, "h.json",
                (const char *const[]){
                    ": node 'alert': config.to: must not be empty",
                    ": node 'alert': config.when: unexpected end of expression at column 4",
                    ": node 'alert': config.venue: must be one of paper, live (got 'moon')",
                    ": node 'alert': config.opts.retries: must be <= 5 (got 9)",
                    ": node 'alert': config.opts.x: unknown field",
                    ": node 'z': type: unknown node type 'zap' (known: constant, price_feed, "
                    "math, condition, trade, delay, log, sms)",
                    NULL});
    tr_wf_problems_free(p);
    tr_node_type_registry_free(r);
    /* descriptors are borrowed: the registry is gone, the type is intact */
    assert_string_equal(sms_type.name, "sms");
}

static void categories(void **state)
{
    (void)state;
    tr_wf_category c;
    assert_int_equal(tr_wf_category_parse("actions", &c), 0);
    assert_int_equal(c, TR_WF_CAT_ACTIONS);
    assert_int_equal(tr_wf_category_parse("Actions", &c), TR_ENOENT);
    for (int i = 0; i < TR_WF_CAT_COUNT; i++) {
        assert_int_equal(tr_wf_category_parse(tr_wf_category_name((tr_wf_category)i), &c), 0);
        assert_int_equal(c, i);
    }
    assert_string_equal(tr_wf_category_name(TR_WF_CAT_COUNT), "unknown");
    assert_true(tr_wf_category_trades(TR_WF_CAT_TRADING));
    assert_true(tr_wf_category_trades(TR_WF_CAT_ACTIONS));
    assert_false(tr_wf_category_trades(TR_WF_CAT_PROVIDERS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arb_btc_example),
        cmocka_unit_test(list_and_map_forms_give_the_same_plan),
        cmocka_unit_test(topological_order_is_stable),
        cmocka_unit_test(other_examples_validate),
        cmocka_unit_test(registry_accepts_host_types),
        cmocka_unit_test(categories),
    };
    return cmocka_run_group_tests_name("workflow.def", tests, setup, teardown);
}
