/*
 * tests/serve/ws_test.h -- fixtures for the /ws tests: an engine + server
 * (serve_test.h's sfx) with a configuration hook, and helpers to register
 * and run workflows over HTTP and to read their events over /ws.
 */
#ifndef TR_WS_TEST_H
#define TR_WS_TEST_H

#include "serve/serve_test.h"
#include "serve/ws_client.h"
#include "troupe/bus.h"
#include "troupe/codec.h"

typedef void (*wsfx_tweak)(tr_config *cfg);

/* Like sfx_new, with tweak(cfg) applied before the server starts. */
static inline sfx *wsfx_new(const char *token, wsfx_tweak tweak)
{
    sfx *f = calloc(1, sizeof(*f));
    if (f == NULL || tr_config_load(&f->cfg, "development", NULL, (char *[]){NULL}, NULL) != 0)
        return NULL;
    snprintf(f->dir, sizeof f->dir, "/tmp/troupe-ws-test-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return NULL;
    free(f->cfg.server.auth_token);
    f->cfg.server.auth_token = strdup(token ? token : "");
    if (tweak)
        tweak(&f->cfg);
    tr_engine_opts eo = {.config = &f->cfg, .workers = 2, .state_dir = f->dir};
    if (tr_engine_new(&f->e, &eo) != 0)
        return NULL;
    tr_serve_opts so = {.engine = f->e, .config = &f->cfg, .listen = "127.0.0.1:0"};
    if (tr_serve_start(&f->srv, &so) != 0)
        return NULL;
    f->port = tr_serve_port(f->srv);
    return f;
}

/* Register workflow id (2 nodes: 6 events per execution) for bot, strategy. */
static inline int ws_register(sfx *f, const char *id, const char *bot, const char *strat)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"id\":\"%s\",\"name\":\"%s\",\"bot_id\":\"%s\",\"strategy_id\":\"%s\","
             "\"nodes\":[{\"id\":\"n1\",\"type\":\"constant\",\"config\":{\"outputs\":"
             "{\"v\":7}}},{\"id\":\"n2\",\"type\":\"math\",\"config\":{\"expr\":\"n1.v * 6\"}}]}",
             id, id, bot, strat);
    json_t *j = NULL;
    int st = http1(f->port, "POST", "/api/workflows", NULL, body, &j);
    json_decref(j);
    return st;
}

static inline int ws_execute(sfx *f, const char *id)
{
    char path[256];
    snprintf(path, sizeof path, "/api/workflows/%s/execute", id);
    json_t *j = NULL;
    int st = http1(f->port, "POST", path, NULL, NULL, &j);
    json_decref(j);
    return st;
}

#define WS_EVENTS_PER_RUN 6

/* Read workflow_event frames until an execution_completed of wf; check
 * every event is of wf, consecutive from *next_seq.  Returns the number of
 * events read, or -1 (wrong workflow, gap, close, timeout). */
static inline int ws_read_run(wsc *c, const char *wf, uint64_t *next_seq)
{
    for (int n = 0; n < 1000;) {
        json_t *j = wsc_json(c);
        if (j == NULL)
            return -1;
        const char *ev = wsc_event(j);
        if (ev == NULL || strcmp(ev, "workflow_event") != 0) {
            json_decref(j);
            continue;
        }
        n++;
        const char *w = json_string_value(wsc_data(j, "workflow_id"));
        const char *type = json_string_value(wsc_data(j, "type"));
        uint64_t seq = (uint64_t)json_integer_value(wsc_data(j, "seq"));
        bool ok = w && strcmp(w, wf) == 0 && seq == *next_seq;
        bool done = type && strcmp(type, "execution_completed") == 0;
        json_decref(j);
        if (!ok)
            return -1;
        (*next_seq)++;
        if (done)
            return n;
    }
    return -1;
}

/* Publish one event on the bus from the test thread: {type, workflow_id,
 * pad} (pad: padding bytes to make frames big). */
static inline int ws_bus_publish(sfx *f, const char *wf, size_t pad)
{
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_map(&b, 3);
    tr_mp_write_cstr(&b, "type");
    tr_mp_write_cstr(&b, "tick");
    tr_mp_write_cstr(&b, "workflow_id");
    tr_mp_write_cstr(&b, wf);
    tr_mp_write_cstr(&b, "pad");
    char *p = malloc(pad + 1);
    memset(p, 'x', pad);
    tr_mp_write_str(&b, p, pad);
    free(p);
    tr_payload *pl = NULL;
    int rc = tr_buf_finish(&b, &pl);
    tr_buf_fini(&b);
    if (rc == 0)
        rc = tr_bus_publish(tr_engine_bus(f->e), TR_BUS_CH_WORKFLOW, pl);
    tr_payload_unref(pl);
    return rc;
}

#endif
