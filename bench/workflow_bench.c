/*
 * bench/workflow_bench.c -- `troupe bench workflow`: executions/s, events/s,
 * execution latency and per-node CPU cost of the workflow engine on the
 * 5-node arbitrage workflow (examples/workflows/arb_btc.json's nodes, inline,
 * with zero simulated latency and a fixed seed).
 *
 * DESIGN
 * Each run starts a fresh engine (memory state store, default workers: one
 * per CPU), subscribes ONE C callback to workflow_events that classifies and
 * counts every event, runs one workload, and frees the engine.
 *
 *   sequential  one workflow, N executions back to back: the bench thread
 *               starts the first; each execution's done callback (on a
 *               worker) starts the next (tr_engine_execute is callable from
 *               workers), so there is no thread hop between executions.
 *   concurrent  W workflows (arb_0000.., each with its own bot, so trades
 *               contend on W books, not one), E executions each: the bench
 *               thread starts one execution per workflow, and each done
 *               callback starts its workflow's next -- W in flight at most.
 *
 * Time runs from the first tr_engine_execute until the last done callback
 * AND the bus and state store have drained (tr_bus_sync, tr_state_sync):
 * work still queued in them is not counted as done.  Latency is each
 * execution's duration_ms as reported to its done callback (kept in a
 * preallocated array; p50/p99 nearest-rank).  Per-node overhead is process
 * CPU time (CLOCK_PROCESS_CPUTIME_ID, every thread: workers, bus, state
 * store, I/O) over the window / (executions x 5 nodes), in us.
 *
 * Correctness is checked, not assumed: every execution must complete; the
 * subscriber must see exactly one execution_started and one
 * execution_completed per execution, node_started == node_completed, and
 * node_started + node_skipped == 5 per execution (11 events when worth_it
 * is false and `buy` is skipped, 12 when it trades; trades are read from the
 * bots' books), with no other type.  A failed execution or a hang fails the
 * command (exit 1) with no figures; missing events also exit 1, but the
 * figures are printed, marked as counting only what arrived.
 * Each figure is the median over `runs` runs (default 3).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "troupe/engine.h"

#define NODES 5u
#define MAX_RUNS 50u
#define RUN_TIMEOUT_MS 300000u

static const char plan_fmt[] =
    "{\"id\":\"%s\",\"name\":\"BTC arbitrage (bench)\",\"bot_id\":\"%s\","
    "\"strategy_id\":\"arbitrage_btc\",\"nodes\":["
    "{\"id\":\"price_binance\",\"name\":\"Binance Price Feed\",\"category\":\"providers\","
    "\"type\":\"price_feed\",\"config\":{\"symbol\":\"BTC/USDT\",\"start\":50000,"
    "\"seed\":%u,\"simulate\":{\"latency_ms\":0,\"fail_first\":0}},\"timeout\":30.0},"
    "{\"id\":\"price_coinbase\",\"category\":\"providers\",\"type\":\"price_feed\","
    "\"config\":{\"symbol\":\"BTC/USD\",\"start\":50050,\"seed\":%u,"
    "\"simulate\":{\"latency_ms\":0}}},"
    "{\"id\":\"spread\",\"type\":\"math\","
    "\"config\":{\"expr\":\"price_coinbase.price - price_binance.price\"}},"
    "{\"id\":\"worth_it\",\"type\":\"condition\",\"config\":{\"expr\":\"spread.value > 25\"}},"
    "{\"id\":\"buy\",\"category\":\"trading\",\"type\":\"trade\",\"depends_on\":[\"worth_it\"],"
    "\"config\":{\"side\":\"buy\",\"symbol\":\"BTC/USDT\",\"quantity\":0.01}}]}";

/* ---- events --------------------------------------------------------------- */

enum { EV_EX_STARTED, EV_EX_COMPLETED, EV_N_STARTED, EV_N_COMPLETED, EV_N_SKIPPED,
       EV_OTHER, EV_COUNT };

/* One writer (the bus actor); read by the bench thread after tr_bus_sync. */
struct evcount {
    uint64_t n[EV_COUNT];
    uint64_t total;
};

static void bump(uint64_t *c)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* The event's "type": the bus keeps "type" as the first key, so read it
 * straight from the bytes (map header, fixstr "type", str value). */
static int ev_type_of(const uint8_t *p, size_t n, const uint8_t **s, size_t *len)
{
    size_t o = (n > 0 && (p[0] & 0xF0) == 0x80) ? 1 : (n > 0 && p[0] == 0xDE) ? 3 : 0;
    if (o == 0 || o + 7 > n || memcmp(p + o, "\xa4type", 5) != 0)
        return -1;
    o += 5;
    if ((p[o] & 0xE0) == 0xA0) {
        *len = p[o] & 0x1Fu;
        o += 1;
    } else if (p[o] == 0xD9) {
        *len = p[o + 1];
        o += 2;
    } else {
        return -1;
    }
    *s = p + o;
    return o + *len <= n ? 0 : -1;
}

static void on_event(void *arg, uint32_t channel, tr_payload *event)
{
    struct evcount *c = arg;
    const uint8_t *s;
    size_t len;
    int k = EV_OTHER;
    (void)channel;
    if (ev_type_of(tr_payload_data(event), tr_payload_len(event), &s, &len) == 0) {
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(s, lit, len) == 0)
        k = IS("node_started")          ? EV_N_STARTED
            : IS("node_completed")      ? EV_N_COMPLETED
            : IS("node_skipped")        ? EV_N_SKIPPED
            : IS("execution_started")   ? EV_EX_STARTED
            : IS("execution_completed") ? EV_EX_COMPLETED
                                        : EV_OTHER;
#undef IS
    }
    bump(&c->n[k]);
    bump(&c->total);
}

/* ---- one run --------------------------------------------------------------- */

struct run;
struct chain { /* one workflow's executions, each started by the previous */
    struct run *r;
    char id[16];
    uint32_t left; /* still to start after the current one */
};

struct run {
    tr_engine *eng;
    uint64_t target, ndone, nfailed;
    int launch_rc;
    int stop; /* set by the bench thread after a failure: stop chaining */
    double *lat;
    uint64_t t_last_ns;
    tr__bench_latch latch; /* 1 = all done (or a launch failed) */
};

static void on_done(void *arg, const char *exec_id, tr_exec_status status, double ms)
{
    struct chain *c = arg;
    struct run *r = c->r;
    (void)exec_id;
    uint64_t i = __atomic_fetch_add(&r->ndone, 1, __ATOMIC_RELAXED);
    if (i < r->target)
        r->lat[i] = ms;
    if (status != TR_EXEC_COMPLETED)
        __atomic_fetch_add(&r->nfailed, 1, __ATOMIC_RELAXED);
    if (c->left > 0 && !__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
        c->left--;
        int rc = tr_engine_execute(r->eng, c->id, on_done, c, NULL);
        if (rc != 0) {
            __atomic_store_n(&r->launch_rc, rc, __ATOMIC_RELAXED);
            tr__bench_latch_add(&r->latch, 1);
        }
    }
    if (i + 1 == r->target) {
        r->t_last_ns = tr__bench_now_ns();
        tr__bench_latch_add(&r->latch, 1);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least p of them at or below it. */
static double pct(const double *v, uint64_t n, double p)
{
    if (n == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(p * (double)n);
    return v[rank == 0 ? 0 : rank > n ? n - 1 : rank - 1];
}

enum { F_EPS, F_EVPS, F_P50, F_P99, F_NODE_US, F_CORES, F_TRADE, F_DRAIN, F_LOST, F_COUNT };
static const char *const fkeys[F_COUNT] = {
    "executions_per_s", "events_per_s", "p50_ms", "p99_ms", "node_overhead_us",
    "cpu_cores", "trade_fraction", "drain_ms", "events_lost"};


/* workflows x per_wf executions; fills f[F_*].  Returns 0; 1 when events were
 * missing (figures filled, f[F_LOST] > 0); -1 after saying why (no figures). */
static int run_once(const char *what, uint32_t workflows, uint32_t per_wf, double *f)
{
    /* The development preset, with the kill switch's position limit out of
     * the way (the benchmark buys on every pass and never sells) and its
     * state in a directory of its own, removed afterwards. */
    tr_config cfg;
    char dir[] = "/tmp/troupe-bench-XXXXXX";
    if (tr_config_load(&cfg, "development", NULL, (char *const[]){NULL}, NULL) != 0 ||
        mkdtemp(dir) == NULL) {
        fprintf(stderr, "bench workflow: cannot prepare the configuration\n");
        return -1;
    }
    cfg.emergency.max_position_size = 1e12;
    tr_engine *eng = NULL;
    tr_engine_opts eo = {.config = &cfg, .state_dir = dir};
    int rc = tr_engine_new(&eng, &eo);
    tr_config_fini(&cfg);
    if (rc != 0) {
        fprintf(stderr, "bench workflow: tr_engine_new: %s\n", tr_strerror(rc));
        tr__bench_rmdir(dir);
        return -1;
    }
    struct run r = {.eng = eng, .target = (uint64_t)workflows * per_wf};
    struct chain *ch = calloc(workflows, sizeof(*ch));
    struct evcount *ev = calloc(1, sizeof(*ev));
    r.lat = malloc(r.target * sizeof(double));
    tr__bench_latch_init(&r.latch);
    int status = -1;
    uint64_t sub = 0;
    if (ch == NULL || ev == NULL || r.lat == NULL)
        goto out;
    for (uint32_t w = 0; w < workflows; w++) {
        char text[sizeof(plan_fmt) + 64], bot[16];
        ch[w].r = &r;
        ch[w].left = per_wf - 1;
        snprintf(ch[w].id, sizeof(ch[w].id), workflows == 1 ? "arb_btc" : "arb_%04u", w);
        snprintf(bot, sizeof(bot), "bot_%04u", w);
        int n = snprintf(text, sizeof(text), plan_fmt, ch[w].id, bot, 1000 + 2 * w, 1001 + 2 * w);
        tr_wf_plan *plan = NULL;
        tr_wf_problems *probs = NULL;
        tr_wf_problems_new(&probs);
        rc = tr_wf_parse_json(tr_engine_registry(eng), text, (size_t)n, "<bench>", &plan, probs);
        if (rc != 0) {
            char msg[512];
            for (size_t k = 0; probs && k < tr_wf_problems_count(probs); k++)
                if (tr_wf_problem_format(tr_wf_problems_at(probs, k), msg, sizeof(msg)) >= 0)
                    fprintf(stderr, "  %s\n", msg);
        }
        tr_wf_problems_free(probs);
        if (rc == 0) {
            rc = tr_engine_add_plan(eng, plan);
            tr_wf_plan_free(plan);
        }
        if (rc != 0) {
            fprintf(stderr, "bench workflow: plan %s: %s\n", ch[w].id, tr_strerror(rc));
            goto out;
        }
    }
    tr_bus_filter filt = {.channel = TR_BUS_CH_WORKFLOW};
    if ((rc = tr_bus_subscribe_cb(tr_engine_bus(eng), &filt, on_event, ev, &sub)) != 0 ||
        (rc = tr_bus_sync(tr_engine_bus(eng), 10000)) != 0) {
        fprintf(stderr, "bench workflow: subscribe: %s\n", tr_strerror(rc));
        goto out;
    }

    uint64_t t0 = tr__bench_now_ns(), cpu0 = tr__bench_cpu_ns();
    for (uint32_t w = 0; w < workflows; w++)
        if ((rc = tr_engine_execute(eng, ch[w].id, on_done, &ch[w], NULL)) != 0) {
            fprintf(stderr, "bench workflow: %s: execute: %s\n", what, tr_strerror(rc));
            goto out; /* engine free below stops the others */
        }
    if (tr__bench_latch_wait(&r.latch, 1, RUN_TIMEOUT_MS) < 1) {
        fprintf(stderr, "bench workflow: %s: timed out with %llu of %llu executions done\n",
                what, (unsigned long long)__atomic_load_n(&r.ndone, __ATOMIC_RELAXED),
                (unsigned long long)r.target);
        goto out;
    }
    if ((rc = __atomic_load_n(&r.launch_rc, __ATOMIC_RELAXED)) != 0) {
        fprintf(stderr, "bench workflow: %s: execute from a done callback: %s\n", what,
                tr_strerror(rc));
        goto out;
    }
    if ((rc = tr__bench_engine_drain(eng)) != 0) {
        fprintf(stderr, "bench workflow: %s: bus or state store did not drain: %s\n", what,
                tr_strerror(rc));
        goto out;
    }
    uint64_t t1 = tr__bench_now_ns(), cpu1 = tr__bench_cpu_ns();

    uint64_t n = r.target, *e = ev->n, trades = 0;
    for (uint32_t w = 0; w < workflows; w++) {
        char bot[16];
        tr_paper_book book;
        snprintf(bot, sizeof(bot), "bot_%04u", w);
        if (tr_engine_book(eng, bot, &book) == 0)
            trades += book.trades;
    }
    tr_engine_stats es;
    tr_engine_stats_get(eng, &es);
    if (r.nfailed != 0 || es.completed != n) {
        fprintf(stderr, "bench workflow: %s: %llu of %llu executions did not complete "
                        "(engine counts %llu completed)\n", what,
                (unsigned long long)r.nfailed, (unsigned long long)n,
                (unsigned long long)es.completed);
        goto out;
    }
    /* Exactly 11 events per execution, 12 when `buy` traded. */
    uint64_t expected = 11 * n + trades;
    bool exact = ev->total == expected && e[EV_EX_STARTED] == n && e[EV_EX_COMPLETED] == n &&
                 e[EV_N_STARTED] == 4 * n + trades && e[EV_N_COMPLETED] == 4 * n + trades &&
                 e[EV_N_SKIPPED] == n - trades && e[EV_OTHER] == 0;
    if (!exact) {
        tr_runtime_stats rs;
        tr_runtime_stats_get(tr_engine_runtime(eng), &rs, NULL);
        fprintf(stderr,
                "bench workflow: %s: EVENTS MISSING: %llu executions (%llu traded) should give "
                "%llu events, the subscriber saw %llu: execution_started %llu, "
                "execution_completed %llu, node_started %llu, node_completed %llu, "
                "node_skipped %llu, other %llu; runtime: %llu sends rejected (TR_EFULL), "
                "mailbox depth high-water %u\n",
                what, (unsigned long long)n, (unsigned long long)trades,
                (unsigned long long)expected, (unsigned long long)ev->total,
                (unsigned long long)e[EV_EX_STARTED], (unsigned long long)e[EV_EX_COMPLETED],
                (unsigned long long)e[EV_N_STARTED], (unsigned long long)e[EV_N_COMPLETED],
                (unsigned long long)e[EV_N_SKIPPED], (unsigned long long)e[EV_OTHER],
                (unsigned long long)rs.rejected, rs.depth_hwm);
    }
    double secs = (double)(t1 - t0) / 1e9;
    qsort(r.lat, n, sizeof(double), cmp_double);
    f[F_EPS] = (double)n / secs;
    f[F_EVPS] = (double)ev->total / secs;
    f[F_P50] = pct(r.lat, n, 0.50);
    f[F_P99] = pct(r.lat, n, 0.99);
    f[F_NODE_US] = (double)(cpu1 - cpu0) / 1e3 / ((double)n * NODES);
    f[F_CORES] = (double)(cpu1 - cpu0) / (double)(t1 - t0);
    f[F_TRADE] = (double)trades / (double)n;
    f[F_DRAIN] = (double)(t1 - r.t_last_ns) / 1e6;
    f[F_LOST] = expected > ev->total ? (double)(expected - ev->total) : 0;
    status = exact ? 0 : 1;
out:
    if (sub != 0)
        tr_bus_unsubscribe(tr_engine_bus(eng), sub);
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
    tr_engine_free(eng, 10000);
    tr__bench_rmdir(dir);
    tr__bench_latch_destroy(&r.latch);
    free(r.lat);
    free(ev);
    free(ch);
    return status;
}

/* ---- command --------------------------------------------------------------- */

struct part {
    const char *key, *title;
    uint32_t workflows, per_wf;
    double target_eps, python_eps, python_evps;
    double v[F_COUNT][MAX_RUNS];
    tr__bench_stat st[F_COUNT];
};

static const double target_node_us = 1.0, python_node_us = 20.0;

static bool pass_eps(const struct part *p) { return p->st[F_EPS].median >= p->target_eps; }
static bool pass_node(const struct part *p) { return p->st[F_NODE_US].median <= target_node_us; }

static void print_table(FILE *o, const struct part *P, unsigned nparts, unsigned runs,
                        unsigned workers, bool quick)
{
    char b[5][32];
    fprintf(o, "\ntroupe bench workflow: 5-node arbitrage, latency 0, %u workers, median of "
               "%u run%s%s\n",
            workers, runs, runs == 1 ? "" : "s", quick ? " (--quick: figures not comparable)" : "");
    for (unsigned k = 0; k < nparts; k++) {
        const struct part *p = &P[k];
        const tr__bench_stat *s = p->st;
        fprintf(o, "\n%s: %u workflow%s x %u executions\n", p->title, p->workflows,
                p->workflows == 1 ? "" : "s", p->per_wf);
        fprintf(o, "  %-22s %9s %9s %9s   %s\n", "figure", "median", "min", "max", "");
        fprintf(o, "  %-22s %9s %9s %9s   target >= %s: %s (Python asyncio %s, %.1fx)\n",
                "executions/s", tr__bench_fmt_si(b[0], 32, s[F_EPS].median),
                tr__bench_fmt_si(b[1], 32, s[F_EPS].min), tr__bench_fmt_si(b[2], 32, s[F_EPS].max),
                tr__bench_fmt_si(b[3], 32, p->target_eps), pass_eps(p) ? "PASS" : "MISS",
                tr__bench_fmt_si(b[4], 32, p->python_eps), s[F_EPS].median / p->python_eps);
        fprintf(o, "  %-22s %9s %9s %9s   (Python asyncio %s)\n", "events/s",
                tr__bench_fmt_si(b[0], 32, s[F_EVPS].median),
                tr__bench_fmt_si(b[1], 32, s[F_EVPS].min),
                tr__bench_fmt_si(b[2], 32, s[F_EVPS].max),
                tr__bench_fmt_si(b[3], 32, p->python_evps));
        fprintf(o, "  %-22s %9.4f %9.4f %9.4f\n", "p50 latency, ms", s[F_P50].median,
                s[F_P50].min, s[F_P50].max);
        fprintf(o, "  %-22s %9.4f %9.4f %9.4f\n", "p99 latency, ms", s[F_P99].median,
                s[F_P99].min, s[F_P99].max);
        fprintf(o, "  %-22s %9.3f %9.3f %9.3f   target <= %.1f: %s (Python asyncio ~%.0f)\n",
                "CPU us per node", s[F_NODE_US].median, s[F_NODE_US].min, s[F_NODE_US].max,
                target_node_us, pass_node(p) ? "PASS" : "MISS", python_node_us);
        fprintf(o, "  %-22s %9.2f %9.2f %9.2f\n", "CPU cores busy", s[F_CORES].median,
                s[F_CORES].min, s[F_CORES].max);
        fprintf(o, "  %-22s %9.3f %9.3f %9.3f\n", "trade fraction", s[F_TRADE].median,
                s[F_TRADE].min, s[F_TRADE].max);
        fprintf(o, "  %-22s %9.2f %9.2f %9.2f   (bus + state store after the last done)\n",
                "drain, ms", s[F_DRAIN].median, s[F_DRAIN].min, s[F_DRAIN].max);
        if (s[F_LOST].max > 0)
            fprintf(o, "  %-22s %9.0f %9.0f %9.0f   INVALID: figures count only what arrived\n",
                    "events missing", s[F_LOST].median, s[F_LOST].min, s[F_LOST].max);
    }
    fprintf(o, "\n");
    fflush(o);
}

static json_t *part_json(const struct part *p)
{
    json_t *o = json_object(), *mins = json_object(), *maxs = json_object();
    for (int f = 0; f < F_COUNT; f++) {
        json_object_set_new(o, fkeys[f], json_real(p->st[f].median));
        json_object_set_new(mins, fkeys[f], json_real(p->st[f].min));
        json_object_set_new(maxs, fkeys[f], json_real(p->st[f].max));
    }
    json_object_set_new(o, "complete", json_boolean(p->st[F_LOST].max == 0));
    json_object_set_new(o, "workflows", json_integer(p->workflows));
    json_object_set_new(o, "executions_per_workflow", json_integer(p->per_wf));
    json_object_set_new(o, "target_executions_per_s", json_real(p->target_eps));
    json_object_set_new(o, "pass_executions_per_s", json_boolean(pass_eps(p)));
    json_object_set_new(o, "target_node_overhead_us", json_real(target_node_us));
    json_object_set_new(o, "pass_node_overhead_us", json_boolean(pass_node(p)));
    json_object_set_new(o, "python_executions_per_s", json_real(p->python_eps));
    json_object_set_new(o, "python_events_per_s", json_real(p->python_evps));
    json_object_set_new(o, "python_node_overhead_us", json_real(python_node_us));
    json_object_set_new(o, "min", mins);
    json_object_set_new(o, "max", maxs);
    return o;
}

static const char usage_text[] =
    "usage: troupe bench workflow [--json] [--runs N] [--quick] [--only sequential|concurrent]\n"
    "  The 5-node arbitrage workflow, zero simulated latency, memory backends, one\n"
    "  event subscriber: (a) sequential: 100,000 executions back to back; (b)\n"
    "  concurrent: 1,000 workflows x 100 executions, <= 1,000 in flight.\n"
    "  --json    one JSON object on stdout (parts `sequential`, `concurrent`);\n"
    "            progress and table on stderr\n"
    "  --runs N  runs per part (default 3; 1 with --quick); figures are medians\n"
    "  --quick   2,000 back to back, 100 x 20 concurrent: a smoke test\n"
    "  exit status: 0 done (targets may be missed), 1 an execution failed or a run\n"
    "  hung (no figures), or events were missing (figures printed, marked), 2 bad usage\n";

int tr__bench_workflow_main(int argc, char **argv)
{
    bool json = false, quick = false;
    long runs = -1;
    unsigned only = 3;
    bool lost_any = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            char *end;
            runs = strtol(argv[++i], &end, 10);
            if (*end != '\0' || runs < 1 || runs > (long)MAX_RUNS) {
                fprintf(stderr, "troupe bench workflow: --runs takes 1..%u\n", MAX_RUNS);
                return 2;
            }
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc &&
                   (!strcmp(argv[i + 1], "sequential") || !strcmp(argv[i + 1], "concurrent"))) {
            only = !strcmp(argv[++i], "sequential") ? 1 : 2;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else {
            fputs(usage_text, stderr);
            return 2;
        }
    }
    unsigned nruns = runs > 0 ? (unsigned)runs : quick ? 1 : 3;
    FILE *out = json ? stderr : stdout;
    struct part *P = calloc(2, sizeof(*P));
    if (P == NULL)
        return 1;
    P[0] = (struct part){.key = "sequential",
                         .title = "sequential (back to back, chained from the done callback)",
                         .workflows = 1, .per_wf = quick ? 2000 : 100000,
                         .target_eps = 190000, .python_eps = 9400, .python_evps = 113000};
    P[1] = (struct part){.key = "concurrent", .title = "concurrent",
                         .workflows = quick ? 100 : 1000, .per_wf = quick ? 20 : 100,
                         .target_eps = 470000, .python_eps = 9900, .python_evps = 119000};
    unsigned workers = 0;
    {
        tr_runtime *rt;
        if (tr_runtime_new(&rt, NULL) == 0) {
            workers = tr_runtime_workers(rt);
            tr_runtime_free(rt, 1000);
        }
    }
    fprintf(out, "troupe bench workflow: %u workers, %u run%s per part%s\n", workers, nruns,
            nruns == 1 ? "" : "s", quick ? " (--quick)" : "");
    for (unsigned k = 0; k < 2; k++) {
        if (!(only & (1u << k)))
            continue;
        for (unsigned r = 0; r < nruns; r++) {
            double f[F_COUNT];
            int rc = run_once(P[k].key, P[k].workflows, P[k].per_wf, f);
            if (rc > 0)
                lost_any = true;
            if (rc < 0) {
                fprintf(stderr, "bench workflow: %s failed on run %u; no figures reported\n",
                        P[k].key, r + 1);
                free(P);
                return 1;
            }
            for (int i = 0; i < F_COUNT; i++)
                P[k].v[i][r] = f[i];
            char b[2][32];
            fprintf(out, "  %-10s run %u: %s executions/s, %s events/s, p50 %.3f ms, "
                         "p99 %.3f ms, %.3f us CPU/node%s\n",
                    P[k].key, r + 1, tr__bench_fmt_si(b[0], 32, f[F_EPS]),
                    tr__bench_fmt_si(b[1], 32, f[F_EVPS]), f[F_P50], f[F_P99], f[F_NODE_US],
                    rc > 0 ? "  (EVENTS MISSING)" : "");
            fflush(out);
        }
        for (int i = 0; i < F_COUNT; i++)
            P[k].st[i] = tr__bench_summarize(P[k].v[i], nruns);
    }
    struct part shown[2];
    unsigned nshown = 0;
    for (unsigned k = 0; k < 2; k++)
        if (only & (1u << k))
            shown[nshown++] = P[k];
    print_table(out, shown, nshown, nruns, workers, quick);
    int status = lost_any ? 1 : 0;
    if (lost_any)
        fprintf(out, "EVENTS MISSING: the subscriber did not receive every event of every "
                     "execution (see above); exit status 1\n");
    if (json) {
        json_t *root = json_object();
        for (unsigned k = 0; k < 2; k++)
            if (only & (1u << k))
                json_object_set_new(root, P[k].key, part_json(&P[k]));
        json_object_set_new(root, "workers", json_integer(workers));
        json_object_set_new(root, "runs", json_integer(nruns));
        json_object_set_new(root, "quick", json_boolean(quick));
        json_object_set_new(root, "nodes_per_execution", json_integer(NODES));
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        json_decref(root);
        if (text != NULL) {
            fputs(text, stdout);
            fputc('\n', stdout);
            free(text);
        } else {
            status = 1;
        }
    }
    free(P);
    return status;
}
