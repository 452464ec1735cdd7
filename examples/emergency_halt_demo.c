/*
 * examples/emergency_halt_demo.c -- the kill switch stopping a losing bot.
 *
 * The C version of the integration plan's emergency_halt_demo.py:
 *
 *   1. an engine (development preset) with emergency.daily_loss_limit -500
 *      and auto_halt on, its emergency state in a fresh temporary state_dir;
 *   2. a C subscriber on the emergency controllers prints every change
 *      ("EMERGENCY: ..."), a bus subscriber collects the workflow events;
 *   3. workflow `loss_then_trade` (bot `bot_demo`) buys 1 DEMO/USD at 1000,
 *      sells it at 450 -- the bot's daily P&L is now -550, below the -500
 *      limit -- and then wants to trade again.  The executor checks
 *      daily_loss after every fill: the sell trips the limit and halts the
 *      bot's controller, so the next trade node never starts and the
 *      execution ends as execution_halted naming the reason;
 *   4. the controller's status JSON is printed, and one more execution of a
 *      plain trading workflow is refused (halted before its trade).
 *
 * Exit status: 0 when all of that happened, 1 otherwise (so it doubles as a
 * test: ctest runs it, label `examples`).  Run: build/examples/emergency_halt_demo
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "troupe/codec.h"
#include "troupe/engine.h"

static const char loss_then_trade[] =
    "{\"id\":\"loss_then_trade\",\"bot_id\":\"bot_demo\",\"nodes\":["
    "{\"id\":\"buy_high\",\"category\":\"trading\",\"type\":\"trade\","
    " \"config\":{\"side\":\"buy\",\"symbol\":\"DEMO/USD\",\"quantity\":1,\"price\":1000}},"
    "{\"id\":\"sell_low\",\"category\":\"trading\",\"type\":\"trade\",\"depends_on\":[\"buy_high\"],"
    " \"config\":{\"side\":\"sell\",\"symbol\":\"DEMO/USD\",\"quantity\":1,\"price\":450}},"
    "{\"id\":\"trade_again\",\"category\":\"trading\",\"type\":\"trade\",\"depends_on\":[\"sell_low\"],"
    " \"config\":{\"side\":\"buy\",\"symbol\":\"DEMO/USD\",\"quantity\":1,\"price\":455}}]}";

static const char next_trade[] =
    "{\"id\":\"next_trade\",\"bot_id\":\"bot_demo\",\"nodes\":["
    "{\"id\":\"buy\",\"category\":\"trading\",\"type\":\"trade\","
    " \"config\":{\"side\":\"buy\",\"symbol\":\"DEMO/USD\",\"quantity\":1,\"price\":460}}]}";

/* What the callbacks saw (workers write, main reads after the waits). */
struct demo {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    tr_exec_status status;
    char lines[64][640];
    int nlines;
    int halted_events, trade_again_started;
    char halt_reason[TR_EMERGENCY_REASON_MAX];
};

static void on_emergency(void *arg, const tr_emergency_event *ev)
{
    (void)arg;
    printf("EMERGENCY: controller %s: %s -> %s (version %llu): %s\n", ev->controller_id,
           tr_emergency_state_name(ev->previous_state), tr_emergency_state_name(ev->new_state),
           (unsigned long long)ev->version, ev->reason);
    fflush(stdout);
}

static void on_event(void *arg, uint32_t channel, tr_payload *p)
{
    struct demo *d = arg;
    tr_mp_val ev, v;
    const char *s;
    size_t n;
    double pnl = 0;
    (void)channel;
    if (tr_mp_read_payload(p, &ev, NULL) != 0)
        return;
    char type[32] = "", node[64] = "", extra[512] = "";
    if (tr_mp_map_get(ev, "type", &v) == 0 && tr_mp_get_str(v, &s, &n) == 0)
        snprintf(type, sizeof type, "%.*s", (int)n, s);
    if (tr_mp_map_get(ev, "node_id", &v) == 0 && tr_mp_get_str(v, &s, &n) == 0)
        snprintf(node, sizeof node, "%.*s", (int)n, s);
    if (tr_mp_map_get(ev, "reason", &v) == 0 && tr_mp_get_str(v, &s, &n) == 0)
        snprintf(extra, sizeof extra, "reason: %.*s", (int)n, s);
    else if (tr_mp_path(ev, "outputs.daily_pnl", &v) == 0 && tr_mp_get_double(v, &pnl) == 0)
        snprintf(extra, sizeof extra, "daily_pnl %.2f", pnl);
    pthread_mutex_lock(&d->mu);
    if (!strcmp(type, "execution_halted")) {
        d->halted_events++;
        snprintf(d->halt_reason, sizeof d->halt_reason, "%s", extra + 8);
    }
    if (!strcmp(type, "node_started") && !strcmp(node, "trade_again"))
        d->trade_again_started++;
    if (d->nlines < 64)
        snprintf(d->lines[d->nlines++], sizeof d->lines[0], "  %-20s %-12s %s", type, node,
                 extra);
    pthread_mutex_unlock(&d->mu);
}

static void on_done(void *arg, const char *id, tr_exec_status st, double ms)
{
    struct demo *d = arg;
    (void)id;
    (void)ms;
    pthread_mutex_lock(&d->mu);
    d->status = st;
    d->done++;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static int add(tr_engine *e, const char *json)
{
    tr_wf_plan *plan = NULL;
    int rc = tr_wf_parse_json(tr_engine_registry(e), json, strlen(json), "demo", &plan, NULL);
    if (rc == 0) {
        rc = tr_engine_add_plan(e, plan);
        tr_wf_plan_free(plan);
    }
    return rc;
}

/* Run wf once, print its events; returns its status (or -1). */
static int run(tr_engine *e, struct demo *d, const char *wf)
{
    pthread_mutex_lock(&d->mu);
    int want = d->done + 1;
    d->nlines = 0;
    pthread_mutex_unlock(&d->mu);
    printf("\n$ execute %s\n", wf);
    if (tr_engine_execute(e, wf, on_done, d, NULL) != 0)
        return -1;
    pthread_mutex_lock(&d->mu);
    while (d->done < want)
        pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
    tr_bus_sync(tr_engine_bus(e), 10000); /* every event delivered */
    pthread_mutex_lock(&d->mu);
    for (int i = 0; i < d->nlines; i++)
        printf("%s\n", d->lines[i]);
    int st = (int)d->status;
    pthread_mutex_unlock(&d->mu);
    printf("  => %s\n", tr_exec_status_name((tr_exec_status)st));
    return st;
}

int main(void)
{
    char dir[] = "/tmp/troupe-demo-XXXXXX";
    tr_config cfg;
    if (mkdtemp(dir) == NULL ||
        tr_config_load(&cfg, "development", NULL, (char *[]){NULL}, NULL) != 0) {
        fprintf(stderr, "demo: cannot prepare a state dir or the configuration\n");
        return 1;
    }
    cfg.emergency.daily_loss_limit = -500;
    cfg.emergency.auto_halt = true;
    tr_engine *e = NULL;
    tr_engine_opts eo = {.config = &cfg, .state_dir = dir};
    if (tr_engine_new(&e, &eo) != 0) {
        fprintf(stderr, "demo: cannot start the engine\n");
        return 1;
    }
    struct demo d = {.status = TR_EXEC_COMPLETED};
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    uint64_t esub = 0, bsub = 0;
    tr_bus_filter filt = {.channel = TR_BUS_CH_WORKFLOW};
    tr_emergency *em = tr_engine_emergency(e);
    tr_emergency_controller *bot = NULL;
    int ok = add(e, loss_then_trade) == 0 && add(e, next_trade) == 0 &&
             tr_emergency_subscribe(em, on_emergency, NULL, &esub) == 0 &&
             tr_bus_subscribe_cb(tr_engine_bus(e), &filt, on_event, &d, &bsub) == 0 &&
             tr_bus_sync(tr_engine_bus(e), 10000) == 0 &&
             tr_emergency_controller_get(em, "bot_demo", &bot) == 0;
    printf("daily_loss_limit %.0f, auto_halt on; state_dir %s\n",
           cfg.emergency.daily_loss_limit, dir);
    printf("bot_demo can_trade: %s\n", ok && tr_emergency_can_trade(bot) ? "yes" : "no");

    /* 1. Buy high, sell low (daily P&L -550 < -500): the limit halts the bot
     *    and the workflow stops before its next trade. */
    int st1 = ok ? run(e, &d, "loss_then_trade") : -1;
    tr_paper_book book = {0};
    tr_engine_book(e, "bot_demo", &book);
    printf("bot_demo daily P&L: %.2f (limit %.2f)\n", book.daily_pnl,
           cfg.emergency.daily_loss_limit);
    pthread_mutex_lock(&d.mu);
    int halted1 = d.halted_events, again = d.trade_again_started;
    char reason1[TR_EMERGENCY_REASON_MAX];
    snprintf(reason1, sizeof reason1, "%s", d.halt_reason);
    pthread_mutex_unlock(&d.mu);

    char *js = NULL;
    if (ok && tr_emergency_status_json(bot, &js, NULL) == 0)
        printf("\nstatus of bot_demo:\n%s\n", js);
    free(js);

    /* 2. The next trade is refused: the halt holds until an operator resumes. */
    int st2 = ok ? run(e, &d, "next_trade") : -1;
    pthread_mutex_lock(&d.mu);
    int halted2 = d.halted_events;
    pthread_mutex_unlock(&d.mu);

    bool pass = st1 == TR_EXEC_HALTED && halted1 == 1 && again == 0 &&
                strstr(reason1, "risk limit daily_loss exceeded") != NULL &&
                book.daily_pnl == -550.0 && !tr_emergency_can_trade(bot) &&
                st2 == TR_EXEC_HALTED && halted2 == 2;
    printf("\n%s: %s\n", pass ? "OK" : "UNEXPECTED",
           pass ? "the daily loss limit halted bot_demo and its workflows stopped"
                : "the kill switch did not behave as described");
    if (esub)
        tr_emergency_unsubscribe(em, esub);
    tr_engine_free(e, 5000);
    tr_config_fini(&cfg);
    pthread_mutex_destroy(&d.mu);
    pthread_cond_destroy(&d.cv);
    DIR *dd = opendir(dir); /* the state files, then the directory */
    for (struct dirent *de; dd != NULL && (de = readdir(dd)) != NULL;) {
        char p[sizeof dir + 300];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (de->d_name[0] != '.' || strlen(de->d_name) > 2)
            unlink(p);
    }
    if (dd != NULL)
        closedir(dd);
    rmdir(dir);
    return pass ? 0 : 1;
}
