/*
 * actors/executor/exec_run.c -- running one node's function for an
 * execution: built-in types through tr_node_run with the workflow's shared
 * price feeds and the bot's book (each under its lock), host types directly;
 * the trade pre-check and the after-fill risk checks of the kill switch; and
 * state writes through the execution's outbox.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "actors/executor/exec_state.h"

/* A state store request through the outbox. */
void tr__ex_state_write(tr_ctx *ctx, exec *x, uint32_t type, const tr_state_req *req)
{
    tr_payload *p;
    if (tr_state_req_encode(type, req, &p) == 0)
        tr__outbox_send(&x->out, ctx, tr_state_ref(x->eng->state), type, 0, p);
}

/* Turn r into a failure of the given kind; the caller writes r->error. */
void tr__ex_fail_result(tr_node_result *r, int code, const char *type)
{
    r->status = code;
    r->error_type = type;
    r->noutputs = 0;
    r->delay_ms = 0;
    r->hang = false;
    r->skip_dependants = false;
}

/* The pre-trade check: an order that would take the position's notional
 * past max_position_size is refused before anything is filled (orders that
 * reduce exposure always pass).  arg: the bot's controller. */
static int pre_trade_check(void *arg, const tr_paper_book *book,
                           const tr_paper_order *o, char *why, size_t why_cap)
{
    (void)book;
    if (fabs(o->position_after) <= fabs(o->position_before))
        return 0;
    tr_emergency_risk_result rr;
    int rc = tr_emergency_check_risk_limit(arg, "max_position_size",
                                           fabs(o->position_after) * o->price, 0,
                                           false, &rr);
    if (rc == 0)
        return 0;
    snprintf(why, why_cap, "%s", rr.message);
    return TR_ELIMIT;
}

/* The bot's book as JSON under bot:{bot_id}:book. */
static void persist_book(tr_ctx *ctx, exec *x, const char *bot_id,
                         const tr_paper_book *book)
{
    tr_buf js;
    tr_buf_init(&js);
    char key[200];
    snprintf(key, sizeof(key), "bot:%s:book", bot_id);
    if (tr_paper_book_to_json(&js, book) == 0) {
        tr_state_req req = {.key = key, .value = (const char *)js.data,
                            .value_len = js.len};
        tr__ex_state_write(ctx, x, TR_STATE_MSG_SET, &req);
    }
    tr_buf_fini(&js);
}

int tr__ex_run_node_fn(tr_ctx *ctx, exec *x, uint32_t i, tr_node_result *r)
{
    tr__wf *wf = x->wf;
    const tr_node_prep *prep = &wf->preps[i];
    tr_node_inputs in = {.plan = wf->plan, .results = x->done_res, .count = x->n};
    tr_node_env env = {.now_ms = tr__wall_ms(), .feeds = wf->feeds, .nfeeds = wf->n};
    if (wf->host[i] != NULL) {
        const tr__host_type *h = wf->host[i];
        r->status = 0;
        r->error_type = NULL;
        r->error[0] = '\0';
        r->noutputs = 0;
        r->delay_ms = 0;
        r->hang = false;
        r->skip_dependants = false;
        r->text_len = 0;
        int rc = h->fn(h->arg, prep->node, &in, &env, r);
        r->status = rc;
        return rc;
    }
    switch (prep->kind) {
    case TR_NODE_PRICE_FEED: { /* the walk is shared by the workflow's runs */
        pthread_mutex_lock(&wf->lock);
        int rc = tr_node_run(prep, &in, &env, r);
        pthread_mutex_unlock(&wf->lock);
        return rc;
    }
    case TR_NODE_TRADE: { /* the book is the bot's */
        tr__bot *bot = wf->bot;
        tr_paper_book copy;
        env.pre_trade = pre_trade_check;
        env.pre_trade_arg = wf->ctl;
        pthread_mutex_lock(&bot->lock);
        env.book = &bot->book;
        int rc = tr_node_run(prep, &in, &env, r);
        double drawdown = 0;
        if (rc == 0) {
            bot->traded = true;
            copy = bot->book;
            /* Drawdown: the fall of realized P&L from its high-water mark,
             * in percent of that mark (0 until the bot has been in profit;
             * the paper book has no capital base to measure against). */
            if (copy.realized_pnl > bot->peak_pnl)
                bot->peak_pnl = copy.realized_pnl;
            if (bot->peak_pnl > 0)
                drawdown = (bot->peak_pnl - copy.realized_pnl) / bot->peak_pnl * 100.0;
        }
        pthread_mutex_unlock(&bot->lock);
        if (rc == 0) { /* outside the lock: encoding and a possible halt are slow */
            persist_book(ctx, x, bot->id, &copy);
            tr_emergency_risk_result rr;
            tr_paper_book_roll_day(&copy, env.now_ms);
            tr_emergency_check_risk_limit(wf->ctl, "daily_loss", copy.daily_pnl, 0,
                                          x->eng->auto_halt, &rr);
            tr_emergency_check_risk_limit(wf->ctl, "max_drawdown_percent", drawdown, 0,
                                          x->eng->auto_halt, &rr);
        }
        return rc;
    }
    default:
        return tr_node_run(prep, &in, &env, r);
    }
}
