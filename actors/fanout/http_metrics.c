/*
 * actors/fanout/http_metrics.c -- GET /metrics: Prometheus text exposition.
 *
 * Design.  Every metric is read from the components' lock-free counters at
 * request time (tr_runtime_stats_get, tr_engine_stats_get, tr_bus_stats_get,
 * the emergency controllers' status), written as `# HELP`, `# TYPE` and one
 * `name{labels} value` line per sample, in the text format version 0.0.4.
 * Emergency controllers: the global one and one per bot named by a
 * registered workflow (looked up after the engine lock is released).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/fanout/fanout_internal.h"
#include "troupe/codec.h"

#define BOTS_MAX 256

__attribute__((format(printf, 2, 3))) static void out(tr_buf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        tr_buf_append(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void head(tr_buf *b, const char *name, const char *type, const char *help)
{
    out(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(tr_buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    head(b, name, type, help);
    out(b, "%s %llu\n", name, (unsigned long long)v);
}

typedef struct bots {
    char *id[BOTS_MAX];
    size_t n;
} bots;

static void collect_bot(void *arg, const tr_wf_plan *plan)
{
    bots *bs = arg;
    const char *bot = tr_wf_plan_bot_id(plan);
    if (bot == NULL || bs->n == BOTS_MAX)
        return;
    for (size_t i = 0; i < bs->n; i++)
        if (strcmp(bs->id[i], bot) == 0)
            return;
    if ((bs->id[bs->n] = strdup(bot)) != NULL)
        bs->n++;
}

static void emergency_metrics(const tr__api *api, tr_buf *b)
{
    tr_emergency *em = tr_engine_emergency(api->engine);
    bots bs = {.n = 0};
    tr_engine_workflows(api->engine, collect_bot, &bs);
    tr_emergency_status st[BOTS_MAX + 1];
    size_t n = 0;
    if (tr_emergency_status_get(tr_emergency_global(em), &st[n]) == 0)
        n++;
    for (size_t i = 0; i < bs.n; i++) {
        tr_emergency_controller *ctl;
        if (tr_emergency_controller_get(em, bs.id[i], &ctl) == 0 &&
            strcmp(tr_emergency_controller_id(ctl), st[0].controller_id) != 0 &&
            tr_emergency_status_get(ctl, &st[n]) == 0)
            n++;
        free(bs.id[i]);
    }
    head(b, "troupe_emergency_state", "gauge",
         "Controller state: 0 normal, 1 alert, 2 halt, 3 shutdown (own, not effective).");
    for (size_t i = 0; i < n; i++)
        out(b, "troupe_emergency_state{controller=\"%s\"} %d\n", st[i].controller_id,
            (int)st[i].state);
    head(b, "troupe_emergency_version", "counter", "Transitions made by the controller.");
    for (size_t i = 0; i < n; i++)
        out(b, "troupe_emergency_version{controller=\"%s\"} %llu\n", st[i].controller_id,
            (unsigned long long)st[i].version);
}

void tr__api_metrics(const tr__api *api, tr__http_resp *resp)
{
    tr_runtime *rt = tr_engine_runtime(api->engine);
    unsigned nw = tr_runtime_workers(rt);
    tr_worker_stats *ws = calloc(nw ? nw : 1, sizeof(*ws));
    if (ws == NULL)
        return tr__api_error(resp, 500, "out of memory");
    tr_runtime_stats rs;
    tr_runtime_stats_get(rt, &rs, ws);
    tr_engine_stats es;
    tr_engine_stats_get(api->engine, &es);
    tr_bus_stats bst;
    tr_bus_stats_get(tr_engine_bus(api->engine), &bst);

    tr_buf b;
    tr_buf_init(&b);
    one(&b, "troupe_runtime_messages_sent_total", "counter", "Messages sent between actors.",
        rs.sent);
    one(&b, "troupe_runtime_messages_handled_total", "counter", "Messages handled by actors.",
        rs.handled);
    one(&b, "troupe_runtime_dead_letters_total", "counter",
        "Messages sent to stopped actors or undelivered at stop.", rs.dead_letters);
    one(&b, "troupe_runtime_rejected_total", "counter", "Sends refused by a full mailbox.",
        rs.rejected);
    one(&b, "troupe_runtime_steals_total", "counter", "Actors stolen between workers.",
        rs.steals);
    one(&b, "troupe_runtime_live_actors", "gauge", "Actors alive now.", rs.live_actors);
    one(&b, "troupe_runtime_workers", "gauge", "Worker threads.", nw);
    head(&b, "troupe_runtime_worker_handled_total", "counter",
         "Messages handled per worker.");
    for (unsigned i = 0; i < nw; i++)
        out(&b, "troupe_runtime_worker_handled_total{worker=\"%u\"} %llu\n", i,
            (unsigned long long)ws[i].handled);
    free(ws);
    one(&b, "troupe_executions_started_total", "counter", "Executions started.", es.started);
    one(&b, "troupe_executions_completed_total", "counter", "Executions completed.",
        es.completed);
    one(&b, "troupe_executions_failed_total", "counter", "Executions failed.", es.failed);
    one(&b, "troupe_executions_halted_total", "counter",
        "Executions stopped by the emergency controller.", es.halted);
    one(&b, "troupe_executions_running", "gauge", "Executions running now.", es.running);
    one(&b, "troupe_bus_published_total", "counter", "Events published on the bus.",
        bst.published);
    one(&b, "troupe_bus_delivered_total", "counter", "Event deliveries to subscribers.",
        bst.delivered);
    one(&b, "troupe_bus_dropped_total", "counter", "Event deliveries dropped.", bst.dropped);
    one(&b, "troupe_bus_subscribers", "gauge", "Live bus subscriptions.", bst.subscribers);
    emergency_metrics(api, &b);

    if (tr_buf_error(&b) != 0) {
        tr_buf_fini(&b);
        return tr__api_error(resp, 500, "out of memory");
    }
    free(resp->body);
    resp->body = malloc(b.len + 1);
    if (resp->body == NULL) {
        tr_buf_fini(&b);
        return tr__api_error(resp, 500, "out of memory");
    }
    memcpy(resp->body, b.data, b.len);
    resp->body[b.len] = '\0';
    resp->body_len = b.len;
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    tr_buf_fini(&b);
}
