/*
 * cli/cmd_serve.c -- `troupe serve [--config FILE] [--env NAME]
 *                    [--listen HOST:PORT] [--workflows DIR]`
 *
 * The host process: load the configuration, start the engine (state_dir
 * from the config), load and validate every *.json in DIR (any invalid one:
 * list the problems, exit 2 before anything runs), register them, start the
 * schedules, start the HTTP server (include/troupe/serve.h), and wait for
 * SIGINT/SIGTERM.  Then: stop the schedules, stop the server (closes its
 * connections), let running executions finish (tr_engine_free's drain) and
 * exit 0.  docs/serve.md.
 *
 * Signals: SIGINT and SIGTERM are blocked in every thread (the mask is set
 * before any thread starts and inherited), and the main thread takes them
 * with sigwait: no handler, no async-signal-safety questions.
 *
 * Schedules: one thread sleeps on a condition variable (CLOCK_MONOTONIC)
 * until the earliest due workflow; a tick whose workflow's previous
 * execution is still running is skipped and counted, never queued (the
 * completion callback clears the flag; it runs on a worker and only takes
 * the scheduler's mutex).  Ticks keep a fixed cadence (next += every) and
 * do not pile up after a stall (missed ticks are counted as skipped).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_util.h"
#include "troupe/engine.h"
#include "troupe/log.h"
#include "troupe/serve.h"

const char tr_cmd_serve_help[] = "host workflows: HTTP API, schedules (until SIGINT/SIGTERM)";
int tr_cmd_serve(int argc, char **argv);

static const char usage_text[] =
    "usage: troupe serve [--config FILE] [--env development|production]\n"
    "                    [--listen HOST:PORT] [--workflows DIR]\n";

typedef struct sched_item {
    char *id;
    uint64_t every_ms, next_ms;
    bool running;
    uint64_t runs, skipped;
} sched_item;

typedef struct sched {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    tr_engine *eng;
    sched_item *items;
    size_t n;
    pthread_t thread;
    bool started;
} sched;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_done(void *arg, const char *exec_id, tr_exec_status status, double ms)
{
    (void)exec_id, (void)status, (void)ms;
    sched_item *it = arg;
    /* The item's scheduler outlives every execution (engine freed first). */
    __atomic_store_n(&it->running, false, __ATOMIC_RELEASE);
}

static void *sched_main(void *arg)
{
    sched *s = arg;
    pthread_setname_np(pthread_self(), "tr-schedule");
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        uint64_t now = mono_ms(), due = UINT64_MAX;
        for (size_t i = 0; i < s->n; i++) {
            sched_item *it = &s->items[i];
            if (it->next_ms <= now) {
                if (__atomic_load_n(&it->running, __ATOMIC_ACQUIRE)) {
                    it->skipped++;
                } else {
                    __atomic_store_n(&it->running, true, __ATOMIC_RELEASE);
                    pthread_mutex_unlock(&s->mu);
                    int rc = tr_engine_execute(s->eng, it->id, on_done, it, NULL);
                    pthread_mutex_lock(&s->mu);
                    if (rc != 0)
                        __atomic_store_n(&it->running, false, __ATOMIC_RELEASE);
                    else
                        it->runs++;
                }
                it->next_ms += it->every_ms;
                if (it->next_ms <= now) { /* a stall: count the missed ticks */
                    uint64_t missed = (now - it->next_ms) / it->every_ms + 1;
                    it->skipped += missed;
                    it->next_ms += missed * it->every_ms;
                }
            }
            if (it->next_ms < due)
                due = it->next_ms;
        }
        if (s->stop)
            break;
        if (due == UINT64_MAX) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t wait = due > mono_ms() ? due - mono_ms() : 0;
        ts.tv_sec += (time_t)(wait / 1000);
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int json_name(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

/* Parse every *.json in DIR (all problems reported), register the valid ones
 * and add the scheduled ones to s.  Returns 0 or 2. */
static int load_dir(tr_engine *eng, const char *dir, sched *s)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, json_name, alphasort);
    if (n < 0) {
        fprintf(stderr, "troupe serve: cannot read %s: %s\n", dir, strerror(errno));
        return 2;
    }
    tr_wf_plan **plans = calloc((size_t)n + 1, sizeof(*plans));
    s->items = calloc((size_t)n + 1, sizeof(*s->items));
    int status = plans && s->items ? 0 : 2;
    for (int i = 0; i < n && plans; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
        if (tr__cli_parse_workflow(tr_engine_registry(eng), path, &plans[i]) != 0)
            status = 2;
    }
    uint64_t now = mono_ms();
    for (int i = 0; i < n && plans && status == 0; i++) {
        int rc = tr_engine_add_plan(eng, plans[i]);
        if (rc != 0) {
            fprintf(stderr, "troupe serve: %s: cannot register: %s\n", ents[i]->d_name,
                    tr_strerror(rc));
            status = 2;
            break;
        }
        uint64_t every = tr_wf_plan_every_ms(plans[i]);
        if (every > 0) {
            sched_item *it = &s->items[s->n];
            it->id = strdup(tr_wf_plan_id(plans[i]));
            it->every_ms = every;
            it->next_ms = now + every;
            if (it->id != NULL)
                s->n++;
        }
        fprintf(stderr, "troupe serve: loaded %s (%s)%s\n", tr_wf_plan_id(plans[i]),
                ents[i]->d_name, every ? ", scheduled" : "");
    }
    for (int i = 0; i < n; i++) {
        if (plans)
            tr_wf_plan_free(plans[i]);
        free(ents[i]);
    }
    free(ents);
    free(plans);
    return status;
}

int tr_cmd_serve(int argc, char **argv)
{
    const char *cfg_file = NULL, *preset = NULL, *listen = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        const char **dst = !strcmp(a, "--config") ? &cfg_file : !strcmp(a, "--env") ? &preset
                         : !strcmp(a, "--listen") ? &listen : !strcmp(a, "--workflows") ? &dir
                                                                                          : NULL;
        if (dst == NULL || val == NULL) {
            fprintf(stderr, "troupe serve: bad option or missing value: %s\n%s", a, usage_text);
            return 2;
        }
        *dst = val;
        i++;
    }
    tr_config cfg;
    if (tr__cli_load_config("troupe serve", &cfg, preset, cfg_file) != 0)
        return 2;
    tr_log_config lc = TR_LOG_CONFIG_INIT;
    lc.format = cfg.log_format == TR_CONFIG_LOG_JSON ? TR_LOG_FORMAT_JSON : TR_LOG_FORMAT_CONSOLE;
    tr_log_configure(&lc);

    /* Before any thread exists: every thread inherits the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    sched s = {.n = 0};
    pthread_mutex_init(&s.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s.cv, &ca);
    pthread_condattr_destroy(&ca);

    tr_engine *eng = NULL;
    tr_engine_opts eo = {.config = &cfg};
    int rc = tr_engine_new(&eng, &eo);
    int status = 0;
    if (rc != 0) {
        fprintf(stderr, "troupe serve: cannot start the engine: %s\n", tr_strerror(rc));
        status = 2;
    }
    if (status == 0 && dir != NULL)
        status = load_dir(eng, dir, &s);

    tr_serve *srv = NULL;
    if (status == 0) {
        tr_serve_opts so = {.engine = eng, .config = &cfg, .listen = listen};
        rc = tr_serve_start(&srv, &so);
        if (rc != 0) {
            fprintf(stderr, "troupe serve: cannot listen on %s: %s\n",
                    listen ? listen : cfg.server.listen, tr_strerror(rc));
            status = 2;
        }
    }
    if (status == 0) {
        s.eng = eng;
        if (pthread_create(&s.thread, NULL, sched_main, &s) == 0)
            s.started = true;
        const char *l = listen ? listen : cfg.server.listen;
        const char *colon = strrchr(l, ':');
        fprintf(stderr, "troupe serve: listening on http://%.*s:%d\n",
                (int)(colon ? colon - l : 0), l, tr_serve_port(srv));
        int sig = 0;
        sigwait(&sigs, &sig);
        fprintf(stderr, "troupe serve: %s: shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    if (s.started) {
        pthread_mutex_lock(&s.mu);
        s.stop = true;
        pthread_cond_signal(&s.cv);
        pthread_mutex_unlock(&s.mu);
        pthread_join(s.thread, NULL);
    }
    tr_serve_stop(srv);
    if (eng != NULL && tr_engine_free(eng, 10000) != 0)
        fprintf(stderr, "troupe serve: some executions were cut short\n");
    for (size_t i = 0; i < s.n; i++) {
        fprintf(stderr, "troupe serve: schedule %s: %llu runs, %llu skipped ticks\n",
                s.items[i].id, (unsigned long long)s.items[i].runs,
                (unsigned long long)s.items[i].skipped);
        free(s.items[i].id);
    }
    free(s.items);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    tr_config_fini(&cfg);
    return status;
}
