/*
 * tests/nodes/test_trade.c -- the trade node and the paper book: the fill
 * price rule, exact realized P&L (long, short, averaging, crossing zero),
 * daily P&L across a UTC day boundary, pre-trade refusal before the fill
 * (book unchanged), and the book's msgpack/JSON round trip.
 */
#include "nodes_test.h"

#define DAY 86400000ull
#define NOW 1769300000000ull /* UTC day 20478 */

/* A macro, so the format stays a literal the compiler can check. */
#define BUY_SELL_PLAN \
    "{\"id\":\"w\",\"nodes\":[" \
    "{\"id\":\"feed\",\"type\":\"price_feed\",\"config\":{\"symbol\":\"BTC/USDT\",\"start\":%s}}," \
    "{\"id\":\"other\",\"type\":\"price_feed\",\"config\":{\"symbol\":\"ETH/USDT\",\"start\":3000}}," \
    "{\"id\":\"spread\",\"type\":\"math\",\"config\":{\"expr\":\"feed.price - other.price\"}}," \
    "{\"id\":\"gate\",\"type\":\"condition\",\"config\":{\"expr\":\"spread > 0\"}}," \
    "{\"id\":\"order\",\"type\":\"trade\",\"depends_on\":[\"gate\"]," \
    "\"config\":{\"side\":\"%s\",\"symbol\":\"BTC/USDT\",\"quantity\":0.01}}]}"

static tr_wf_plan *plan_for(const char *start, const char *side)
{
    char def[1024];
    snprintf(def, sizeof def, BUY_SELL_PLAN, start, side);
    return parse(def);
}

/* Run the whole plan in order. */
static int run_all(exec *x)
{
    static const char *const ids[] = {"feed", "other", "spread", "gate", "order"};
    int rc = 0;
    for (size_t i = 0; i < 5 && rc == 0; i++)
        rc = run(x, ids[i]);
    return rc;
}

static void buy_then_sell_realizes_pnl_exactly(void **state)
{
    (void)state;
    tr_paper_book book;
    tr_paper_book_init(&book);
    tr_wf_plan *buy = plan_for("50000", "buy"), *sell = plan_for("50100", "sell");
    exec x;
    char js[512];
    exec_init(&x, buy, &book);
    assert_int_equal(run_all(&x), 0);
    assert_string_equal(outputs_json(result(&x, "order"), js, sizeof js),
                        "{\"filled_quantity\":0.01,\"fill_price\":50000.0,\"position\":0.01,"
                        "\"avg_price\":50000.0,\"realized_pnl\":0.0,\"total_realized_pnl\":0.0,"
                        "\"daily_pnl\":0.0,\"side\":\"buy\",\"symbol\":\"BTC/USDT\"}");
    exec_init(&x, sell, &book);
    assert_int_equal(run_all(&x), 0);
    assert_true(num(&x, "order", "fill_price") == 50100.0);
    assert_true(num(&x, "order", "realized_pnl") == 1.0);
    assert_true(num(&x, "order", "position") == 0.0);
    assert_true(num(&x, "order", "avg_price") == 0.0);
    assert_true(num(&x, "order", "daily_pnl") == 1.0);
    assert_true(book.realized_pnl == 1.0);
    assert_int_equal(book.trades, 2);
    const tr_paper_position *p = tr_paper_book_find(&book, "BTC/USDT");
    assert_non_null(p);
    assert_true(p->quantity == 0.0);
    assert_true(p->realized_pnl == 1.0);
    assert_true(p->last_price == 50100.0);
    assert_null(tr_paper_book_find(&book, "ETH/USDT")); /* feeds do not touch the book */
    tr_wf_plan_free(buy);
    tr_wf_plan_free(sell);
}

static void price_comes_from_the_nearest_ancestor_on_the_symbol(void **state)
{
    (void)state;
    tr_wf_plan *plan = parse(
        "{\"id\":\"w\",\"nodes\":["
        "{\"id\":\"far\",\"type\":\"price_feed\",\"config\":{\"symbol\":\"X\",\"start\":10}},"
        "{\"id\":\"near\",\"type\":\"price_feed\",\"config\":{\"symbol\":\"X\",\"start\":20}},"
        "{\"id\":\"unrelated\",\"type\":\"price_feed\",\"config\":{\"symbol\":\"X\",\"start\":30}},"
        "{\"id\":\"m\",\"type\":\"math\",\"config\":{\"expr\":\"far.price + near.price\"}},"
        "{\"id\":\"t\",\"type\":\"trade\",\"depends_on\":[\"m\"],"
        "\"config\":{\"side\":\"buy\",\"symbol\":\"X\",\"quantity\":1}},"
        "{\"id\":\"lone\",\"type\":\"trade\",\"config\":{\"side\":\"buy\",\"symbol\":\"X\",\"quantity\":1}}]}");
    tr_paper_book book;
    tr_paper_book_init(&book);
    exec x;
    exec_init(&x, plan, &book);
    tr_node_prep prep;
    assert_int_equal(tr_node_prepare(plan, tr_wf_plan_find(plan, "t"), &prep), 0);
    assert_int_equal(prep.u.trade.price_src, tr_wf_plan_find(plan, "near")->index);
    assert_int_equal(run(&x, "far"), 0);
    assert_int_equal(run(&x, "near"), 0);
    assert_int_equal(run(&x, "unrelated"), 0);
    assert_int_equal(run(&x, "m"), 0);
    assert_int_equal(run(&x, "t"), 0);
    assert_true(num(&x, "t", "fill_price") == 20.0);
    /* No ancestor: the book's last price for the symbol (the fill above). */
    assert_int_equal(run(&x, "lone"), 0);
    assert_true(num(&x, "lone", "fill_price") == 20.0);
    assert_true(num(&x, "lone", "position") == 2.0);
    tr_wf_plan_free(plan);
}

static void no_price_fails_until_marked(void **state)
{
    (void)state;
    tr_wf_plan *plan = parse("{\"id\":\"w\",\"nodes\":[{\"id\":\"t\",\"type\":\"trade\","
                             "\"config\":{\"side\":\"sell\",\"symbol\":\"ETH\",\"quantity\":2}}]}");
    tr_paper_book book;
    tr_paper_book_init(&book);
    exec x;
    exec_init(&x, plan, &book);
    assert_int_equal(run(&x, "t"), TR_ENOENT);
    assert_string_equal(result(&x, "t")->error_type, "ValueError");
    assert_string_equal(result(&x, "t")->error, "no price for ETH");
    assert_int_equal(book.npositions, 0);
    assert_int_equal(tr_paper_book_mark(&book, "ETH", 3000), 0);
    assert_int_equal(run(&x, "t"), 0);
    assert_true(num(&x, "t", "position") == -2.0);
    assert_true(num(&x, "t", "avg_price") == 3000.0);
    x.env.book = NULL;
    assert_int_equal(run(&x, "t"), TR_EINVAL);
    tr_wf_plan_free(plan);
}

static void fill_accounting(void **state)
{
    (void)state;
    tr_paper_book b;
    tr_paper_fill f;
    tr_paper_book_init(&b);
    /* Averaging up, then a partial close keeps the average. */
    assert_int_equal(tr_paper_book_fill(&b, "A", 1, 100, NOW, &f), 0);
    assert_int_equal(tr_paper_book_fill(&b, "A", 3, 200, NOW, &f), 0);
    assert_true(f.avg_price == 175.0);
    assert_int_equal(tr_paper_book_fill(&b, "A", -2, 150, NOW, &f), 0);
    assert_true(f.realized_pnl == -50.0);
    assert_true(f.position == 2.0);
    assert_true(f.avg_price == 175.0);
    /* Crossing zero: close 2, open -1 at the fill price. */
    assert_int_equal(tr_paper_book_fill(&b, "A", -3, 180, NOW, &f), 0);
    assert_true(f.realized_pnl == 10.0);
    assert_true(f.position == -1.0);
    assert_true(f.avg_price == 180.0);
    /* Shorts profit when the price falls. */
    assert_int_equal(tr_paper_book_fill(&b, "S", -2, 100, NOW, &f), 0);
    assert_int_equal(tr_paper_book_fill(&b, "S", 1, 90, NOW, &f), 0);
    assert_true(f.realized_pnl == 10.0);
    assert_true(f.position == -1.0);
    assert_true(f.avg_price == 100.0);
    assert_int_equal(tr_paper_book_fill(&b, "S", 2, 80, NOW, &f), 0);
    assert_true(f.realized_pnl == 20.0);
    assert_true(f.position == 1.0);
    assert_true(f.avg_price == 80.0);
    assert_true(b.realized_pnl == -10.0);
    assert_true(b.daily_pnl == -10.0);
    /* Residue from binary fractions closes flat. */
    assert_int_equal(tr_paper_book_fill(&b, "R", 0.1, 10, NOW, NULL), 0);
    assert_int_equal(tr_paper_book_fill(&b, "R", 0.2, 10, NOW, NULL), 0);
    assert_int_equal(tr_paper_book_fill(&b, "R", -0.3, 10, NOW, &f), 0);
    assert_true(f.position == 0.0);
    assert_true(f.avg_price == 0.0);
    /* Bad fills change nothing. */
    tr_paper_book before = b;
    assert_int_equal(tr_paper_book_fill(&b, "A", 0, 10, NOW, NULL), TR_EINVAL);
    assert_int_equal(tr_paper_book_fill(&b, "A", 1, -10, NOW, NULL), TR_EINVAL);
    assert_int_equal(tr_paper_book_fill(&b, "A", NAN, 10, NOW, NULL), TR_EINVAL);
    assert_int_equal(tr_paper_book_fill(&b, "", 1, 10, NOW, NULL), TR_EINVAL);
    assert_memory_equal(&before, &b, sizeof b);
}

static void daily_pnl_restarts_each_utc_day(void **state)
{
    (void)state;
    tr_paper_book b;
    tr_paper_book_init(&b);
    assert_int_equal(tr_paper_book_fill(&b, "A", 1, 100, NOW, NULL), 0);
    assert_int_equal(tr_paper_book_fill(&b, "A", -0.5, 104, NOW + 1000, NULL), 0);
    assert_true(b.daily_pnl == 2.0);
    assert_int_equal(b.day, 20478);
    /* Next day: a loss; the all-time total keeps both. */
    assert_int_equal(tr_paper_book_fill(&b, "A", -0.5, 99, NOW + DAY, NULL), 0);
    assert_int_equal(b.day, 20479);
    assert_true(b.daily_pnl == -0.5);
    assert_true(b.realized_pnl == 1.5);
    tr_paper_book_roll_day(&b, NOW + 2 * DAY);
    assert_true(b.daily_pnl == 0.0);
    tr_paper_book_roll_day(&b, NOW); /* never back */
    assert_int_equal(b.day, 20480);

    /* Through the node: daily_pnl output follows env.now_ms. */
    tr_paper_book book;
    tr_paper_book_init(&book);
    tr_wf_plan *buy = plan_for("50000", "buy"), *sell = plan_for("50100", "sell");
    exec x;
    exec_init(&x, buy, &book);
    assert_int_equal(run_all(&x), 0);
    exec_init(&x, sell, &book);
    x.env.now_ms = NOW + DAY;
    assert_int_equal(run_all(&x), 0);
    assert_true(num(&x, "order", "daily_pnl") == 1.0);
    assert_int_equal(run_all(&x), 0); /* opens a short at 50100: no P&L */
    assert_true(num(&x, "order", "daily_pnl") == 1.0);
    x.env.now_ms = NOW + 2 * DAY;
    assert_int_equal(run_all(&x), 0);
    assert_true(num(&x, "order", "daily_pnl") == 0.0);
    assert_true(num(&x, "order", "total_realized_pnl") == 1.0);
    tr_wf_plan_free(buy);
    tr_wf_plan_free(sell);
}

static int refuse_all(void *arg, const tr_paper_book *book, const tr_paper_order *o,
                      char *why, size_t cap)
{
    (void)book;
    int *calls = arg;
    (*calls)++;
    snprintf(why, cap, "halted: %s %g", o->symbol, o->quantity);
    return TR_EHALTED;
}

static void position_limit_refuses_before_the_fill(void **state)
{
    (void)state;
    tr_paper_book book;
    tr_paper_book_init(&book);
    tr_paper_limits lim = {.max_position_size = 600.0};
    tr_wf_plan *buy = plan_for("50000", "buy"), *sell = plan_for("50000", "sell");
    exec x;
    exec_init(&x, buy, &book);
    x.env.pre_trade = tr_paper_check_limits;
    x.env.pre_trade_arg = &lim;
    assert_int_equal(run_all(&x), 0); /* 0.01 @ 50000 = 500 <= 600 */
    tr_paper_book before = book;
    exec_init(&x, buy, &book); /* a fresh feed: 50000 again */
    x.env.pre_trade = tr_paper_check_limits;
    x.env.pre_trade_arg = &lim;
    assert_int_equal(run_all(&x), TR_ELIMIT); /* 0.02 -> 1000 > 600 */
    const tr_node_result *r = result(&x, "order");
    assert_string_equal(r->error_type, "RiskLimitExceeded");
    assert_string_equal(r->error, "position size 1000.00 (0.02 BTC/USDT at 50000) would exceed "
                                  "max_position_size 600.00");
    assert_int_equal(r->noutputs, 0);
    assert_false(tr_error_type_retryable(r->error_type));
    assert_memory_equal(&before, &book, sizeof book);
    /* Reducing exposure passes even above the limit. */
    lim.max_position_size = 100.0;
    exec_init(&x, sell, &book);
    x.env.pre_trade = tr_paper_check_limits;
    x.env.pre_trade_arg = &lim;
    assert_int_equal(run_all(&x), 0);
    assert_true(num(&x, "order", "position") == 0.0);
    /* Quantity limit. */
    lim = (tr_paper_limits){.max_position_quantity = 0.005};
    assert_int_equal(run_all(&x), TR_ELIMIT);
    assert_string_equal(result(&x, "order")->error,
                        "position 0.01 BTC/USDT would exceed max_position_quantity 0.005");
    /* A host hook's code and reason pass through. */
    int calls = 0;
    x.env.pre_trade = refuse_all;
    x.env.pre_trade_arg = &calls;
    before = book;
    assert_int_equal(run_all(&x), TR_EHALTED);
    assert_string_equal(result(&x, "order")->error, "halted: BTC/USDT 0.01");
    assert_int_equal(calls, 1);
    assert_memory_equal(&before, &book, sizeof book);
    tr_wf_plan_free(buy);
    tr_wf_plan_free(sell);
}

static void book_full(void **state)
{
    (void)state;
    tr_paper_book b;
    tr_paper_book_init(&b);
    char sym[16];
    for (int i = 0; i < TR_PAPER_MAX_SYMBOLS; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        assert_int_equal(tr_paper_book_fill(&b, sym, 1, 1, NOW, NULL), 0);
    }
    tr_paper_book before = b;
    assert_int_equal(tr_paper_book_fill(&b, "NEW", 1, 1, NOW, NULL), TR_ELIMIT);
    assert_int_equal(tr_paper_book_mark(&b, "NEW", 1), TR_ELIMIT);
    assert_memory_equal(&before, &b, sizeof b);
    assert_int_equal(tr_paper_book_fill(&b, "S0", 1, 1, NOW, NULL), 0);
}

static void book_round_trips(void **state)
{
    (void)state;
    tr_paper_book b, back;
    tr_paper_book_init(&b);
    assert_int_equal(tr_paper_book_fill(&b, "BTC/USDT", 0.01, 50000, NOW, NULL), 0);
    tr_buf js;
    tr_buf_init(&js);
    assert_int_equal(tr_paper_book_to_json(&js, &b), 0);
    assert_string_equal(tr_buf_cstr(&js),
        "{\"version\":1,\"realized_pnl\":0.0,\"daily_pnl\":0.0,\"day\":20478,\"trades\":1,"
        "\"positions\":{\"BTC/USDT\":{\"quantity\":0.01,\"avg_price\":50000.0,"
        "\"realized_pnl\":0.0,\"last_price\":50000.0,\"trades\":1}}}");
    /* A busier book, through JSON and through msgpack. */
    assert_int_equal(tr_paper_book_fill(&b, "BTC/USDT", -0.03, 50123.45, NOW, NULL), 0);
    assert_int_equal(tr_paper_book_fill(&b, "ETH", 1.0 / 3.0, 2999.99, NOW, NULL), 0);
    assert_int_equal(tr_paper_book_mark(&b, "SOL", 101.25), 0);
    tr_buf_reset(&js);
    assert_int_equal(tr_paper_book_to_json(&js, &b), 0);
    memset(&back, 0x77, sizeof back);
    assert_int_equal(tr_paper_book_from_json((const char *)js.data, js.len, &back), 0);
    assert_memory_equal(&b, &back, sizeof b);
    tr_buf mp;
    tr_mp_val root;
    tr_buf_init(&mp);
    tr_paper_book_write(&mp, &b);
    assert_int_equal(tr_mp_read(mp.data, mp.len, &root, NULL), 0);
    memset(&back, 0, sizeof back);
    assert_int_equal(tr_paper_book_read(root, &back), 0);
    assert_memory_equal(&b, &back, sizeof b);
    /* Refused documents leave *out untouched. */
    static const char *const bad[] = {
        "[]", "{\"version\":2}", "{\"realized_pnl\":1}", "{\"version\":1,\"positions\":[]}",
        "{\"version\":1,\"daily_pnl\":\"x\"}",
        "{\"version\":1,\"positions\":{\"\":{}}}", "{\"version\":1,\"positions\":{\"A\":1}}",
        "{\"version\":1,\"trades\":-1}", "{\"version\":1", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tr_paper_book keep = back;
        int rc = tr_paper_book_from_json(bad[i], strlen(bad[i]), &back);
        if (rc != TR_EPROTO)
            fail_msg("'%s': %s", bad[i], tr_err_name(rc));
        assert_memory_equal(&keep, &back, sizeof back);
    }
    /* Duplicate symbols (JSON parsers collapse them, msgpack can carry them). */
    tr_buf_reset(&mp);
    tr_mp_write_map(&mp, 2);
    tr_mp_write_cstr(&mp, "version");
    tr_mp_write_int(&mp, 1);
    tr_mp_write_cstr(&mp, "positions");
    tr_mp_write_map(&mp, 2);
    for (int i = 0; i < 2; i++) {
        tr_mp_write_cstr(&mp, "A");
        tr_mp_write_map(&mp, 1);
        tr_mp_write_cstr(&mp, "quantity");
        tr_mp_write_int(&mp, i + 1);
    }
    assert_int_equal(tr_mp_read(mp.data, mp.len, &root, NULL), 0);
    assert_int_equal(tr_paper_book_read(root, &back), TR_EPROTO);
    mp.data[mp.len - 12] = (uint8_t)'B'; /* the second key: now distinct, ints accepted */
    assert_int_equal(tr_mp_read(mp.data, mp.len, &root, NULL), 0);
    assert_int_equal(tr_paper_book_read(root, &back), 0);
    assert_int_equal(back.npositions, 2);
    assert_true(tr_paper_book_find(&back, "B")->quantity == 2.0);
    tr_buf_fini(&js);
    tr_buf_fini(&mp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buy_then_sell_realizes_pnl_exactly),
        cmocka_unit_test(price_comes_from_the_nearest_ancestor_on_the_symbol),
        cmocka_unit_test(no_price_fails_until_marked),
        cmocka_unit_test(fill_accounting),
        cmocka_unit_test(daily_pnl_restarts_each_utc_day),
        cmocka_unit_test(position_limit_refuses_before_the_fill),
        cmocka_unit_test(book_full),
        cmocka_unit_test(book_round_trips),
    };
    return cmocka_run_group_tests_name("nodes.trade", tests, setup, teardown);
}
