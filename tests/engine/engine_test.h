/*
 * tests/engine/engine_test.h -- shared fixture of the engine suites.
 *
 * A fixture is one engine (own runtime, bus, state store) built from the
 * development preset with per-suite resilience tweaks, plus:
 *   - an event log: a bus callback on workflow_events that keeps a reference
 *     to every stamped event, in delivery order, under a mutex;
 *   - a done log: every tr_exec_done_fn call (exec id, status, duration),
 *     with a condition variable to wait for N of them.
 * After fx_wait_done() the bus and the state store have been synced, so the
 * events and state writes of every finished execution are visible (the
 * executor publishes its terminal event and queues its state writes before
 * it calls done).
 *
 * Waits are bounded only to turn a hang into a failure (generous: 60 s);
 * no test asserts an upper bound on elapsed time.
 */
#ifndef TR_TESTS_ENGINE_TEST_H
#define TR_TESTS_ENGINE_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "troupe/codec.h"
#include "troupe/engine.h"

#define FX_WAIT_MS 60000u

typedef struct fx_done {
    char id[TR_EXEC_ID_MAX];
    tr_exec_status status;
    double duration_ms;
} fx_done;

typedef struct fx {
    tr_engine *e;
    tr_config cfg;
    uint64_t sub;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tr_payload **ev; /* every workflow event, delivery order (refs held) */
    size_t nev, evcap;
    fx_done *done;   /* every done callback, call order */
    size_t ndone, donecap;
    uint64_t alloc_fail; /* allocation failures inside callbacks */
    char dir[64];        /* the engine's state_dir (kill-switch files) */
} fx;

/* Remove the fixture's state directory and the files in it. */
static inline void fx_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *de;
        char path[512];
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                remove(path);
            }
        }
        closedir(d);
    }
    remove(dir); /* empty by now */
}

/* ---- callbacks (run on workers: quick, no blocking beyond the mutex) ---- */

static inline void fx_on_event(void *arg, uint32_t channel, tr_payload *event)
{
    fx *f = arg;
    pthread_mutex_lock(&f->mu);
    if (f->nev == f->evcap) {
        size_t cap = f->evcap ? f->evcap * 2 : 256;
        tr_payload **n = realloc(f->ev, cap * sizeof(*n));
        if (n == NULL) {
            f->alloc_fail++;
        } else {
            f->ev = n;
            f->evcap = cap;
        }
    }
    if (f->nev < f->evcap)
        f->ev[f->nev++] = tr_payload_ref(event);
    pthread_mutex_unlock(&f->mu);
}

static inline void fx_on_done(void *arg, const char *exec_id, tr_exec_status status,
                              double duration_ms)
{
    fx *f = arg;
    pthread_mutex_lock(&f->mu);
    if (f->ndone == f->donecap) {
        size_t cap = f->donecap ? f->donecap * 2 : 64;
        fx_done *n = realloc(f->done, cap * sizeof(*n));
        if (n == NULL) {
            f->alloc_fail++;
            pthread_cond_broadcast(&f->cv);
            pthread_mutex_unlock(&f->mu);
            return;
        }
        f->done = n;
        f->donecap = cap;
    }
    fx_done *d = &f->done[f->ndone++];
    snprintf(d->id, sizeof(d->id), "%s", exec_id);
    d->status = status;
    d->duration_ms = duration_ms;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* ---- lifecycle ---------------------------------------------------------- */

typedef void (*fx_tweak_fn)(tr_config *cfg);

/* A new fixture (NULL on failure, for cmocka setup functions).
 * history_cap: executions kept per workflow (0: the engine's default, 100). */
static inline fx *fx_new_cap(fx_tweak_fn tweak, unsigned workers, uint32_t history_cap)
{
    fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (tr_config_load(&f->cfg, "development", NULL, (char *[]){NULL}, NULL) != 0)
        goto fail;
    /* Each engine keeps its kill-switch state in a fresh directory, and the
     * position limit is out of the way of these tests' trades (the kill
     * switch has suites of its own in tests/emergency). */
    snprintf(f->dir, sizeof(f->dir), "/tmp/troupe-engine-test-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        goto fail;
    f->cfg.emergency.max_position_size = 1e12;
    if (tweak != NULL)
        tweak(&f->cfg);
    tr_engine_opts eo = {.config = &f->cfg, .workers = workers ? workers : 4,
                         .history_cap = history_cap, .state_dir = f->dir};
    if (tr_engine_new(&f->e, &eo) != 0)
        goto fail;
    tr_bus_filter filt = {.channel = TR_BUS_CH_WORKFLOW};
    if (tr_bus_subscribe_cb(tr_engine_bus(f->e), &filt, fx_on_event, f, &f->sub) != 0 ||
        tr_bus_sync(tr_engine_bus(f->e), FX_WAIT_MS) != 0) {
        tr_engine_free(f->e, 1000);
        goto fail;
    }
    return f;
fail:
    tr_config_fini(&f->cfg);
    if (f->dir[0] != '\0')
        fx_rmdir(f->dir);
    free(f);
    return NULL;
}

static inline fx *fx_new(fx_tweak_fn tweak, unsigned workers)
{
    return fx_new_cap(tweak, workers, 0);
}

static inline int fx_free(fx *f)
{
    if (f == NULL)
        return 0;
    int rc = tr_engine_free(f->e, 5000);
    for (size_t i = 0; i < f->nev; i++)
        tr_payload_unref(f->ev[i]);
    free(f->ev);
    free(f->done);
    tr_config_fini(&f->cfg);
    fx_rmdir(f->dir);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
    return rc;
}

/* Parse json with the engine's registry and register it.  On a parse
 * failure every problem is printed and the test fails. */
static inline void fx_add(fx *f, const char *json)
{
    tr_wf_problems *probs = NULL;
    assert_int_equal(tr_wf_problems_new(&probs), 0);
    tr_wf_plan *plan = NULL;
    int rc = tr_wf_parse_json(tr_engine_registry(f->e), json, strlen(json), "test.json",
                              &plan, probs);
    if (rc != 0) {
        for (size_t i = 0; i < tr_wf_problems_count(probs); i++) {
            char line[512];
            tr_wf_problem_format(tr_wf_problems_at(probs, i), line, sizeof line);
            print_message("problem: %s\n", line);
        }
        tr_wf_problems_free(probs);
        fail_msg("parse failed: %s", tr_err_name(rc));
    }
    tr_wf_problems_free(probs);
    rc = tr_engine_add_plan(f->e, plan);
    tr_wf_plan_free(plan);
    assert_int_equal(rc, 0);
}

/* Start one execution; its id goes to id (TR_EXEC_ID_MAX bytes, may be NULL). */
static inline void fx_exec(fx *f, const char *wf, char *id)
{
    char tmp[TR_EXEC_ID_MAX];
    int rc = tr_engine_execute(f->e, wf, fx_on_done, f, id ? id : tmp);
    if (rc != 0)
        fail_msg("tr_engine_execute(%s): %s", wf, tr_err_name(rc));
}

/* Wait until `count` executions in all have called done, then sync the bus
 * and the state store. */
static inline void fx_wait_done(fx *f, size_t count)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += FX_WAIT_MS / 1000;
    pthread_mutex_lock(&f->mu);
    int rc = 0;
    while (f->ndone < count && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&f->cv, &f->mu, &dl);
    size_t n = f->ndone;
    pthread_mutex_unlock(&f->mu);
    if (n < count)
        fail_msg("only %zu of %zu executions ended (hang?)", n, count);
    assert_int_equal(tr_bus_sync(tr_engine_bus(f->e), FX_WAIT_MS), 0);
    assert_int_equal(tr_state_sync(tr_engine_state(f->e), FX_WAIT_MS), 0);
}

/* Start one execution and wait for it; returns its done record (by value). */
static inline fx_done fx_run(fx *f, const char *wf, char *id)
{
    pthread_mutex_lock(&f->mu);
    size_t before = f->ndone;
    pthread_mutex_unlock(&f->mu);
    char tmp[TR_EXEC_ID_MAX];
    char *xid = id ? id : tmp;
    fx_exec(f, wf, xid);
    fx_wait_done(f, before + 1);
    pthread_mutex_lock(&f->mu);
    fx_done d = f->done[before];
    pthread_mutex_unlock(&f->mu);
    assert_string_equal(d.id, xid);
    return d;
}

/* ---- reading events ------------------------------------------------------ */

static inline tr_mp_val ev_root(tr_payload *p)
{
    tr_mp_val root;
    assert_int_equal(tr_mp_read_payload(p, &root, NULL), 0);
    assert_int_equal(tr_mp_typeof(root), TR_MP_MAP);
    return root;
}

/* Whether event p has string field key equal to val. */
static inline bool ev_is(tr_payload *p, const char *key, const char *val)
{
    tr_mp_val v;
    return tr_mp_map_get(ev_root(p), key, &v) == 0 && tr_mp_str_eq(v, val);
}

static inline bool ev_has(tr_payload *p, const char *key)
{
    tr_mp_val v;
    return tr_mp_map_get(ev_root(p), key, &v) == 0;
}

/* String field into buf (fails the test when absent or not a string). */
static inline const char *ev_str(tr_payload *p, const char *key, char *buf, size_t cap)
{
    tr_mp_val v;
    const char *s;
    size_t n;
    if (tr_mp_map_get(ev_root(p), key, &v) != 0 || tr_mp_get_str(v, &s, &n) != 0)
        fail_msg("event has no string field '%s'", key);
    snprintf(buf, cap, "%.*s", (int)n, s);
    return buf;
}

/* Numeric field at a dotted path ("outputs.price"). */
static inline double ev_num(tr_payload *p, const char *path)
{
    tr_mp_val v;
    double d;
    if (tr_mp_path(ev_root(p), path, &v) != 0 || tr_mp_get_double(v, &d) != 0)
        fail_msg("event has no number at '%s'", path);
    return d;
}

static inline int64_t ev_int(tr_payload *p, const char *path)
{
    tr_mp_val v;
    int64_t i;
    if (tr_mp_path(ev_root(p), path, &v) != 0 || tr_mp_get_int(v, &i) != 0)
        fail_msg("event has no integer at '%s'", path);
    return i;
}

/* The events of one execution, delivery order: a malloc'd array of borrowed
 * pointers (the fixture keeps the references).  *n = count. */
/* A snapshot of the whole log (malloc'd array of borrowed pointers; the
 * payloads stay referenced by the fixture).  Reading it needs no lock, so an
 * assertion failing while it is read never leaves the mutex held. */
static inline tr_payload **fx_events_all(fx *f, size_t *n)
{
    pthread_mutex_lock(&f->mu);
    tr_payload **out = malloc((f->nev + 1) * sizeof(*out));
    size_t k = out ? f->nev : 0;
    if (out != NULL && k > 0)
        memcpy(out, f->ev, k * sizeof(*out));
    pthread_mutex_unlock(&f->mu);
    assert_non_null(out);
    *n = k;
    return out;
}

static inline tr_payload **fx_events_of(fx *f, const char *exec_id, size_t *n)
{
    size_t all;
    tr_payload **out = fx_events_all(f, &all);
    size_t k = 0;
    for (size_t i = 0; i < all; i++)
        if (ev_is(out[i], "execution_id", exec_id))
            out[k++] = out[i];
    *n = k;
    return out;
}

/* Index in evs of the first event of `type` (and node_id when non-NULL), or
 * -1. */
static inline long ev_find(tr_payload **evs, size_t n, const char *type, const char *node)
{
    for (size_t i = 0; i < n; i++)
        if (ev_is(evs[i], "type", type) && (node == NULL || ev_is(evs[i], "node_id", node)))
            return (long)i;
    return -1;
}

static inline size_t ev_count(tr_payload **evs, size_t n, const char *type, const char *node)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (ev_is(evs[i], "type", type) && (node == NULL || ev_is(evs[i], "node_id", node)))
            c++;
    return c;
}

/* Print an execution's events (for failure diagnosis). */
static inline void ev_dump(tr_payload **evs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tr_buf js;
        tr_buf_init(&js);
        if (tr_json_write(&js, ev_root(evs[i])) == 0)
            print_message("  %.*s\n", (int)js.len, (const char *)js.data);
        tr_buf_fini(&js);
    }
}

/* ---- regular expressions and state -------------------------------------- */

static inline bool fx_re_match(const char *pattern, const char *s)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* A state value as msgpack (JSON text parsed); fails the test if missing.
 * b must be tr_buf_init'ed; the returned value borrows it. */
static inline tr_mp_val state_get(fx *f, const char *key, tr_buf *b, char **json_out)
{
    char *json = NULL;
    size_t len = 0;
    int rc = tr_state_get_sync(tr_engine_state(f->e), key, &json, &len, FX_WAIT_MS);
    if (rc != 0)
        fail_msg("state key %s: %s", key, tr_err_name(rc));
    tr_buf_reset(b);
    assert_int_equal(tr_json_to_mp(b, json, len, NULL), 0);
    tr_mp_val v;
    assert_int_equal(tr_mp_read(b->data, b->len, &v, NULL), 0);
    if (json_out != NULL)
        *json_out = json;
    else
        free(json);
    return v;
}

static inline void state_key(char *buf, size_t cap, tr_state_key_kind kind, const char *wf,
                             const char *exec)
{
    assert_true(tr_state_key(buf, cap, kind, wf, exec) > 0);
}

#endif /* TR_TESTS_ENGINE_TEST_H */
