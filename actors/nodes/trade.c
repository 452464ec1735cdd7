/*
 * actors/nodes/trade.c -- the paper-trading `trade` node and the default
 * pre-trade check.
 *
 * Design
 * ------
 * Fill price rule (first that applies):
 *   1. config `price`, when the node has one (finite, > 0; the built-in
 *      schema does not declare it yet, host types with open config may);
 *   2. the numeric `price` output of the price source: the ancestor (a node
 *      this trade depends on, directly or transitively) that comes last in
 *      plan order among those whose config `symbol` equals the trade's
 *      symbol and that are not trades themselves.  Resolved once by
 *      tr_node_prepare, so a run costs one lookup;
 *   3. the book's last price for the symbol (its last fill or
 *      tr_paper_book_mark);
 *   otherwise the node fails with TR_ENOENT / ValueError ("no price").
 * Then the pre-trade check (env->pre_trade) sees the order and the position
 * before and after; a refusal fails the node with "RiskLimitExceeded" and the
 * book is not touched.  Then tr_paper_book_fill.
 * Outputs: filled_quantity, fill_price, position, avg_price, realized_pnl
 * (this fill), total_realized_pnl, daily_pnl, side and symbol (strings).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/nodes/nodes_internal.h"

#define STACK_BITS 8192u

static bool bit_get(const uint64_t *b, uint32_t i) { return (b[i >> 6] >> (i & 63)) & 1u; }
static void bit_set(uint64_t *b, uint32_t i) { b[i >> 6] |= (uint64_t)1 << (i & 63); }

/* Walk ancestors in decreasing plan index: a node is an ancestor when a marked
 * node depends on it, and every dependency has a lower index, so one pass
 * from index-1 down to 0 sees each ancestor after all its dependants. */
static int find_price_source(const tr_wf_plan *plan, const tr_wf_node *node,
                             const char *symbol, uint32_t *src)
{
    uint64_t stack_bits[STACK_BITS / 64];
    uint64_t *bits = stack_bits;
    if (node->index > STACK_BITS) {
        bits = calloc(((size_t)node->index + 63) / 64, sizeof *bits);
        if (bits == NULL)
            return TR_ENOMEM;
    } else {
        memset(stack_bits, 0, sizeof stack_bits);
    }
    for (uint32_t d = 0; d < node->ndeps; d++)
        bit_set(bits, node->deps[d]);
    *src = UINT32_MAX;
    for (uint32_t k = node->index; k-- > 0;) {
        if (!bit_get(bits, k))
            continue;
        const tr_wf_node *a = tr_wf_plan_node(plan, k);
        const char *sym = NULL;
        if (a == NULL)
            continue;
        if (tr_node_builtin_of(a->type) != TR_NODE_TRADE &&
            tr_wf_node_cfg_string(a, "symbol", &sym) == 0 && strcmp(sym, symbol) == 0) {
            *src = k;
            break;
        }
        for (uint32_t d = 0; d < a->ndeps; d++)
            bit_set(bits, a->deps[d]);
    }
    if (bits != stack_bits)
        free(bits);
    return 0;
}

int tr__node_prepare_trade(const tr_wf_plan *plan, const tr_wf_node *node, tr_node_prep *out)
{
    tr_node_prep_trade *t = &out->u.trade;
    const char *side = NULL;
    t->side = tr_wf_node_cfg_string(node, "side", &side) == 0 && strcmp(side, "sell") == 0
                  ? TR_PAPER_SELL : TR_PAPER_BUY;
    if (tr_wf_node_cfg_string(node, "symbol", &t->symbol) != 0)
        t->symbol = "";
    if (tr_wf_node_cfg_number(node, "quantity", &t->quantity) != 0)
        t->quantity = 0; /* refused at run time */
    if (tr_wf_node_cfg_number(node, "price", &t->price) != 0 || !(t->price > 0) ||
        !isfinite(t->price))
        t->price = NAN;
    t->price_src = UINT32_MAX;
    if (plan != NULL)
        return find_price_source(plan, node, t->symbol, &t->price_src);
    return 0;
}

int tr_paper_check_limits(void *arg, const tr_paper_book *book, const tr_paper_order *o,
                          char *why, size_t why_cap)
{
    (void)book;
    const tr_paper_limits *lim = arg;
    if (lim == NULL || o == NULL)
        return 0;
    double before = fabs(o->position_before), after = fabs(o->position_after);
    if (!(after > before))
        return 0; /* reduces or keeps exposure: always allowed */
    if (lim->max_position_quantity > 0 && after > lim->max_position_quantity) {
        snprintf(why, why_cap, "position %g %s would exceed max_position_quantity %g", after,
                 o->symbol, lim->max_position_quantity);
        return TR_ELIMIT;
    }
    double notional = after * o->price;
    if (lim->max_position_size > 0 && notional > lim->max_position_size) {
        snprintf(why, why_cap, "position size %.2f (%g %s at %g) would exceed "
                 "max_position_size %.2f", notional, after, o->symbol, o->price,
                 lim->max_position_size);
        return TR_ELIMIT;
    }
    return 0;
}

static bool fill_price(const tr_node_prep_trade *t, const tr_node_inputs *in,
                       const tr_paper_book *book, double *price)
{
    double v;
    if (isfinite(t->price) && t->price > 0) {
        *price = t->price;
        return true;
    }
    if (t->price_src != UINT32_MAX && tr__node_input_num(in, t->price_src, "price", &v) == 0 &&
        isfinite(v) && v > 0) {
        *price = v;
        return true;
    }
    const tr_paper_position *pos = tr_paper_book_find(book, t->symbol);
    if (pos != NULL && pos->last_price > 0) {
        *price = pos->last_price;
        return true;
    }
    return false;
}

int tr__node_run_trade(const tr_node_prep *p, const tr_node_inputs *in, tr_node_env *env,
                       tr_node_result *out)
{
    const tr_node_prep_trade *t = &p->u.trade;
    tr_paper_book *book = env->book;
    if (book == NULL)
        return tr__node_fail(out, TR_EINVAL, "ValueError", "no paper book in the environment");
    if (!(t->quantity > 0) || !isfinite(t->quantity))
        return tr__node_fail(out, TR_EINVAL, "ValueError", "quantity must be > 0");
    double price;
    if (!fill_price(t, in, book, &price))
        return tr__node_fail(out, TR_ENOENT, "ValueError", "no price for %s", t->symbol);

    const tr_paper_position *pos = tr_paper_book_find(book, t->symbol);
    double signed_qty = t->side == TR_PAPER_BUY ? t->quantity : -t->quantity;
    tr_paper_order order = {
        .symbol = t->symbol,
        .side = t->side,
        .quantity = t->quantity,
        .price = price,
        .position_before = pos ? pos->quantity : 0.0,
        .position_after = (pos ? pos->quantity : 0.0) + signed_qty,
    };
    if (env->pre_trade != NULL) {
        char why[TR_NODE_ERROR_MAX] = "refused by the pre-trade check";
        int rc = env->pre_trade(env->pre_trade_arg, book, &order, why, sizeof why);
        if (rc != 0)
            return tr__node_fail(out, rc < 0 ? rc : TR_ELIMIT, "RiskLimitExceeded", "%s", why);
    }
    tr_paper_fill fill;
    int rc = tr_paper_book_fill(book, t->symbol, signed_qty, price, env->now_ms, &fill);
    if (rc != 0)
        return tr__node_fail(out, rc, "ValueError", "fill refused: %s", tr_strerror(rc));
    tr__node_add_num(out, "filled_quantity", t->quantity);
    tr__node_add_num(out, "fill_price", price);
    tr__node_add_num(out, "position", fill.position);
    tr__node_add_num(out, "avg_price", fill.avg_price);
    tr__node_add_num(out, "realized_pnl", fill.realized_pnl);
    tr__node_add_num(out, "total_realized_pnl", book->realized_pnl);
    tr__node_add_num(out, "daily_pnl", book->daily_pnl);
    tr__node_add_str(out, "side", t->side == TR_PAPER_BUY ? "buy" : "sell",
                     t->side == TR_PAPER_BUY ? 3 : 4);
    tr__node_add_str(out, "symbol", t->symbol, strlen(t->symbol));
    return 0;
}
