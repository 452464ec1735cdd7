/*
 * cli/cmd_run.c -- `troupe run FILE... [--repeat N] [--concurrency K]
 *                  [--events jsonl|pretty|none] [--config FILE] [--env NAME]`
 *
 * Runs each workflow N times (K executions in flight at most, across all
 * files), streams its events and prints a summary.  With --events jsonl,
 * stdout carries only the events, one JSON object per line; the summary and
 * logs go to stderr.  Exit: 0 every execution completed, 1 one failed,
 * 2 bad usage or an invalid definition/configuration, 3 one was halted by
 * the emergency controller.
 *
 * Threads: events arrive on the bus's worker through a callback that only
 * converts the event to a line and appends it to an output queue; the main
 * thread writes the queue to stdout (a slow reader of stdout never blocks a
 * worker).  Completions signal the main thread, which keeps K in flight.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "troupe/codec.h"
#include "troupe/engine.h"
#include "troupe/log.h"

const char tr_cmd_run_help[] = "run workflows once (or N times) and stream their events";
int tr_cmd_run(int argc, char **argv);

static const char usage_text[] =
    "usage: troupe run FILE... [--repeat N] [--concurrency K]\n"
    "                  [--events jsonl|pretty|none] [--config FILE]\n"
    "                  [--env development|production]\n";

enum ev_mode { EV_JSONL, EV_PRETTY, EV_NONE };

#define OUT_MAX (64u << 20) /* queued output bytes before events are dropped */

typedef struct run_ctx {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum ev_mode mode;
    tr_buf out;            /* pending output (under mu) */
    uint64_t dropped_lines;
    uint64_t events;
    uint64_t in_flight, done;
    uint64_t completed, failed, halted;
    double *lat;           /* per finished execution */
    uint64_t nlat;
} run_ctx;

/* ---- events ---------------------------------------------------------- */

static void pretty_line(tr_buf *line, tr_mp_val ev)
{
    tr_mp_val v;
    const char *s;
    size_t n;
    char tmp[256];
#define FIELD(name) (tr_mp_map_get(ev, name, &v) == 0 && tr_mp_get_str(v, &s, &n) == 0)
    if (FIELD("timestamp") && n >= 23)
        tr_buf_append(line, s + 11, 12); /* HH:MM:SS.mmm */
    tr_buf_append(line, "  ", 2);
    if (FIELD("type")) {
        int w = snprintf(tmp, sizeof tmp, "%-20.*s", (int)n, s);
        tr_buf_append(line, tmp, (size_t)w);
    }
    if (FIELD("execution_id"))
        tr_buf_append(line, s, n);
    if (FIELD("node_id")) {
        tr_buf_append(line, "  ", 2);
        tr_buf_append(line, s, n);
    }
    double d;
    if (tr_mp_map_get(ev, "attempt", &v) == 0 && tr_mp_get_double(v, &d) == 0 && d > 1) {
        int w = snprintf(tmp, sizeof tmp, " (attempt %.0f)", d);
        tr_buf_append(line, tmp, (size_t)w);
    }
    if (tr_mp_map_get(ev, "duration_ms", &v) == 0 && tr_mp_get_double(v, &d) == 0) {
        int w = snprintf(tmp, sizeof tmp, "  %.2f ms", d);
        tr_buf_append(line, tmp, (size_t)w);
    }
    if (tr_mp_map_get(ev, "outputs", &v) == 0) {
        tr_buf_append(line, "  ", 2);
        tr_json_write(line, v);
    }
    if (FIELD("error_type")) {
        tr_buf_append(line, "  ", 2);
        tr_buf_append(line, s, n);
        if (FIELD("error")) {
            tr_buf_append(line, ": ", 2);
            tr_buf_append(line, s, n);
        }
    }
#undef FIELD
}

static void on_event(void *arg, uint32_t channel, tr_payload *event)
{
    run_ctx *rc = arg;
    tr_buf line;
    tr_buf_init(&line);
    tr_mp_val ev;
    if (tr_mp_read_payload(event, &ev, NULL) != 0)
        return;
    if (rc->mode == EV_JSONL)
        tr_json_write(&line, ev);
    else
        pretty_line(&line, ev);
    tr_buf_append(&line, "\n", 1);
    pthread_mutex_lock(&rc->mu);
    rc->events++;
    if (tr_buf_error(&line) == 0 && rc->out.len + line.len <= OUT_MAX)
        tr_buf_append(&rc->out, line.data, line.len);
    else
        rc->dropped_lines++;
    pthread_cond_signal(&rc->cv);
    pthread_mutex_unlock(&rc->mu);
    tr_buf_fini(&line);
}

static void on_done(void *arg, const char *exec_id, tr_exec_status status,
                    double duration_ms)
{
    run_ctx *rc = arg;
    pthread_mutex_lock(&rc->mu);
    rc->in_flight--;
    rc->done++;
    if (status == TR_EXEC_COMPLETED)
        rc->completed++;
    else if (status == TR_EXEC_HALTED)
        rc->halted++;
    else
        rc->failed++;
    rc->lat[rc->nlat++] = duration_ms;
    pthread_cond_signal(&rc->cv);
    pthread_mutex_unlock(&rc->mu);
}

/* Write what is queued (mu held on entry and exit; released while writing). */
static void flush_out(run_ctx *rc)
{
    if (rc->out.len == 0)
        return;
    tr_buf chunk = rc->out;
    tr_buf_init(&rc->out);
    pthread_mutex_unlock(&rc->mu);
    fwrite(chunk.data, 1, chunk.len, stdout);
    fflush(stdout);
    tr_buf_fini(&chunk);
    pthread_mutex_lock(&rc->mu);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *v, uint64_t n, double p)
{
    if (n == 0)
        return 0;
    uint64_t i = (uint64_t)ceil(p * (double)n) - 1;
    return v[i < n ? i : n - 1];
}

/* ---- command --------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t min, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int tr_cmd_run(int argc, char **argv)
{
    uint64_t repeat = 1, conc = 1;
    enum ev_mode mode = EV_JSONL;
    const char *cfg_file = NULL, *preset = NULL;
    const char **files = calloc((size_t)argc, sizeof(*files));
    size_t nfiles = 0;
    if (files == NULL)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            free(files);
            return 0;
        } else if (strcmp(a, "--repeat") == 0 && val && parse_u64(val, 1, &repeat) == 0) {
            i++;
        } else if (strcmp(a, "--concurrency") == 0 && val && parse_u64(val, 1, &conc) == 0) {
            i++;
        } else if (strcmp(a, "--events") == 0 && val &&
                   (!strcmp(val, "jsonl") || !strcmp(val, "pretty") || !strcmp(val, "none"))) {
            mode = !strcmp(val, "jsonl") ? EV_JSONL : !strcmp(val, "pretty") ? EV_PRETTY : EV_NONE;
            i++;
        } else if (strcmp(a, "--config") == 0 && val) {
            cfg_file = val;
            i++;
        } else if (strcmp(a, "--env") == 0 && val) {
            preset = val;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "troupe run: bad option or value: %s%s%s\n%s", a,
                    val ? " " : "", val ? val : "", usage_text);
            free(files);
            return 2;
        } else {
            files[nfiles++] = a;
        }
    }
    if (nfiles == 0) {
        fprintf(stderr, "troupe run: no workflow file given\n%s", usage_text);
        free(files);
        return 2;
    }

    tr_config cfg;
    if (tr__cli_load_config("troupe run", &cfg, preset, cfg_file) != 0) {
        free(files);
        return 2;
    }
    tr_log_config lc = TR_LOG_CONFIG_INIT;
    lc.format = cfg.log_format == TR_CONFIG_LOG_JSON ? TR_LOG_FORMAT_JSON : TR_LOG_FORMAT_CONSOLE;
    tr_log_configure(&lc);

    tr_engine *eng = NULL;
    tr_engine_opts eo = {.config = &cfg};
    int rc = tr_engine_new(&eng, &eo);
    if (rc != 0) {
        fprintf(stderr, "troupe run: cannot start the engine: %s\n", tr_strerror(rc));
        tr_config_fini(&cfg);
        free(files);
        return 2;
    }
    const char **ids = calloc(nfiles, sizeof(*ids));
    tr_wf_plan **plans = calloc(nfiles, sizeof(*plans));
    int status = 0;
    for (size_t f = 0; f < nfiles && ids && plans; f++) {
        if (tr__cli_parse_workflow(tr_engine_registry(eng), files[f], &plans[f]) != 0) {
            status = 2;
            continue;
        }
        ids[f] = tr_wf_plan_id(plans[f]);
        if ((rc = tr_engine_add_plan(eng, plans[f])) != 0) {
            fprintf(stderr, "%s: cannot register: %s\n", files[f], tr_strerror(rc));
            status = 2;
        }
    }
    if (ids == NULL || plans == NULL)
        status = 2;

    run_ctx r = {.mode = mode};
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    tr_buf_init(&r.out);
    uint64_t total = (uint64_t)nfiles * repeat;
    r.lat = calloc(total ? total : 1, sizeof(*r.lat));
    uint64_t sub = 0;
    tr_bus_filter filt = {.channel = TR_BUS_CH_WORKFLOW};
    if (status == 0 && mode != EV_NONE &&
        tr_bus_subscribe_cb(tr_engine_bus(eng), &filt, on_event, &r, &sub) != 0)
        status = 2;
    if (status == 0 && r.lat == NULL)
        status = 2;

    uint64_t launched = 0;
    if (status == 0) {
        pthread_mutex_lock(&r.mu);
        while (r.done < launched || launched < total) {
            while (launched < total && r.in_flight < conc) {
                const char *wf = ids[launched % nfiles];
                r.in_flight++;
                pthread_mutex_unlock(&r.mu);
                rc = tr_engine_execute(eng, wf, on_done, &r, NULL);
                pthread_mutex_lock(&r.mu);
                if (rc != 0) {
                    r.in_flight--;
                    fprintf(stderr, "troupe run: cannot start %s: %s\n", wf, tr_strerror(rc));
                    total = launched; /* stop launching */
                    status = 1;
                    break;
                }
                launched++;
            }
            flush_out(&r);
            if (r.done < launched)
                pthread_cond_wait(&r.cv, &r.mu);
        }
        pthread_mutex_unlock(&r.mu);
        tr_bus_sync(tr_engine_bus(eng), 10000); /* every event reached us */
        pthread_mutex_lock(&r.mu);
        flush_out(&r);
        pthread_mutex_unlock(&r.mu);
    }
    if (sub != 0)
        tr_bus_unsubscribe(tr_engine_bus(eng), sub);
    tr_engine_free(eng, 5000);

    if (launched > 0) {
        qsort(r.lat, r.nlat, sizeof(double), cmp_double);
        fprintf(stderr,
                "troupe run: %llu executions: %llu completed, %llu failed, %llu halted; "
                "%llu events; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                (unsigned long long)r.done, (unsigned long long)r.completed,
                (unsigned long long)r.failed, (unsigned long long)r.halted,
                (unsigned long long)r.events, pct(r.lat, r.nlat, 0.5),
                pct(r.lat, r.nlat, 0.99), r.nlat ? r.lat[r.nlat - 1] : 0.0);
        if (r.dropped_lines)
            fprintf(stderr, "troupe run: %llu event lines dropped (output too slow)\n",
                    (unsigned long long)r.dropped_lines);
        if (status == 0)
            status = r.halted ? 3 : r.failed ? 1 : 0;
    }
    for (size_t f = 0; f < nfiles && plans; f++)
        tr_wf_plan_free(plans[f]);
    free(plans);
    free(ids);
    free(r.lat);
    tr_buf_fini(&r.out);
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
    tr_config_fini(&cfg);
    free(files);
    return status;
}
