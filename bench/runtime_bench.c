/*
 * bench/runtime_bench.c -- `troupe bench runtime`: throughput, spawn cost,
 * memory per idle actor and idle CPU of the actor runtime, next to bare
 * ck_ring ceilings measured in the same run.
 *
 * DESIGN
 * Every workload runs `runs` times (default 5) on a fresh runtime (default
 * options: one worker per CPU), freed with tr_runtime_free between runs so
 * runs are independent; the table shows median, min and max, the JSON the
 * medians.  Messages carry no payload: type and corr_id are all they need.
 *
 *   pingpong  pinger sends PING(seq) to ponger, which answers PONG(seq) to
 *             the sender; N round trips.  Rate = N / elapsed.
 *   fanin     4 producers x M messages into one consumer whose mailbox is
 *             TR_MBOX_BACKPRESSURE (65536).  A producer sends a chunk (256)
 *             per turn, then a CONTINUE to itself; on TR_EFULL it ends the
 *             chunk early and retries on its next turn (the runtime mutes it
 *             meanwhile).  corr_id = producer << 40 | seq.
 *   ring      R actors in a ring; one token, corr_id = hops left + 1 (0 means
 *             "inherit" to tr_ctx_send_msg), goes laps x R hops.
 *   spawn     the bench thread spawns S actors (8 bytes of state each) and
 *             sends each one message; timed until every message is handled.
 *             Bytes per idle actor = RSS growth / S with the actors alive and
 *             idle (heap trimmed before the first reading only, so freed
 *             envelopes still resident count against the runtime).
 *   idle      a fresh runtime sits for ~1 s; process CPU time / wall time.
 *
 * Correctness is checked, not assumed: every receiver verifies per-sender
 * sequence numbers and counts, sends must not fail (except the TR_EFULL the
 * fanin protocol expects), and each wait has a deadline.  Any violation
 * prints what was seen plus the runtime's counters and fails the command
 * (exit 1) -- a benchmark that loses messages must not report a rate.
 * Completion is signalled to the bench thread through a mutex/condvar latch;
 * the end time is taken by the actor that finishes, before it signals.
 *
 * Output: the table (and progress) on stdout, or on stderr with --json, in
 * which case stdout carries exactly one JSON object (built with jansson).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "bench/runtime_bench.h"
/* ------------------------------------------------------------------------ */
/* Parameters                                                                */
/* ------------------------------------------------------------------------ */


static const char *const workload_names[W_COUNT] = {
    "ceiling_pingpong", "pingpong", "ceiling_fanin", "fanin", "ring", "spawn", "idle",
};



static void params_default(struct params *p, bool quick)
{
    p->quick = quick;
    p->runs = quick ? 1 : 5;
    p->pp_round_trips = quick ? 20000 : 1000000;
    p->fanin_producers = 4;
    p->fanin_per_producer = quick ? 50000 : 2500000;
    p->fanin_chunk = 256;
    p->fanin_mailbox = 65536;
    p->ring_actors = quick ? 100 : 1000;
    p->ring_laps = quick ? 100 : 1000;
    p->spawn_actors = quick ? 20000 : 1000000;
    p->idle_ms = quick ? 250 : 1000;
    p->timeout_ms = 120000;
}


/* ------------------------------------------------------------------------ */
/* Driver                                                                    */
/* ------------------------------------------------------------------------ */

/* One reported figure: runs, and how it compares. */
enum {
    F_CEIL_PP, F_PP, F_PP_NS, F_CEIL_FANIN, F_FANIN, F_RING, F_SPAWN, F_BYTES,
    F_IDLE, F_FANIN_EFULL, F_SPAWN_FREE, F_COUNT
};

struct figure {
    const char *key;      /* JSON key of the median */
    const char *workload; /* table row label */
    const char *unit;
    double target;        /* 0 = none */
    bool lower_is_better;
    double caf, erlang;   /* reference figures; 0 = none */
    double v[MAX_RUNS];
    unsigned n;
    tr__bench_stat st;
};

#define FIG(k, wl, u, t, lower, c, e)                                          \
    {.key = (k), .workload = (wl), .unit = (u), .target = (t),                 \
     .lower_is_better = (lower), .caf = (c), .erlang = (e)}

static const struct figure figures_init[F_COUNT] = {
    [F_CEIL_PP] = FIG("ceiling_pingpong_round_trips_per_s", "ck pingpong", "round trips/s", 0, false, 0, 0),
    [F_PP] = FIG("pingpong_round_trips_per_s", "pingpong", "round trips/s", 3.5e6, false, 1.34e6, 1.76e6),
    [F_PP_NS] = FIG("pingpong_ns_per_round_trip", "pingpong", "ns/round trip", 0, true, 1e9 / 1.34e6, 1e9 / 1.76e6),
    [F_CEIL_FANIN] = FIG("ceiling_fanin_msgs_per_s", "ck fanin", "msgs/s", 0, false, 0, 0),
    [F_FANIN] = FIG("fanin_msgs_per_s", "fanin", "msgs/s", 6e6, false, 5.49e6, 3.47e6),
    [F_RING] = FIG("ring_hops_per_s", "ring", "hops/s", 7e6, false, 2.72e6, 3.56e6),
    [F_SPAWN] = FIG("spawn_per_s", "spawn", "spawns/s", 1e6, false, 241e3, 146e3),
    [F_BYTES] = FIG("bytes_per_idle_actor", "spawn", "bytes/idle actor", 256, true, 1224, 2657),
    [F_IDLE] = FIG("idle_cpu_pct", "idle", "% of one core", 1.0, true, 0, 0),
    [F_FANIN_EFULL] = FIG("fanin_efull_per_run", "fanin", "TR_EFULL/run", 0, true, 0, 0),
    [F_SPAWN_FREE] = FIG("spawn_runtime_free_s", "spawn", "s to free all", 0, true, 0, 0),
};

static void add(struct figure *f, double v)
{
    if (f->n < MAX_RUNS)
        f->v[f->n++] = v;
}

static bool pass(const struct figure *f)
{
    return f->lower_is_better ? f->st.median <= f->target : f->st.median >= f->target;
}

static const char *fmt(char *buf, size_t len, const struct figure *f, double v)
{
    if (f->lower_is_better && f->target != 0 && f->target < 10)
        snprintf(buf, len, "%.2f", v);
    else
        tr__bench_fmt_si(buf, len, v);
    return buf;
}

static bool want(const struct params *p, int w) { return p->only == 0 || (p->only & (1u << w)); }

static void progress(const struct params *p, const char *name, unsigned run, const char *detail)
{
    fprintf(p->out, "  %-17s run %u/%u  %s\n", name, run + 1, p->runs, detail);
    fflush(p->out);
}

static int run_all(const struct params *p, struct figure *F)
{
    char b1[32], b2[32], line[128];
    for (int w = 0; w < W_COUNT; w++) {
        if (!want(p, w))
            continue;
        for (unsigned r = 0; r < p->runs; r++) {
            double x = 0, y = 0, z = 0;
            uint64_t efull = 0;
            uint32_t hwm = 0;
            int rc = 0;
            switch (w) {
            case W_CEIL_PP:
                rc = tr__ceiling_pingpong(p->pp_round_trips, &x);
                if (rc == 0) {
                    add(&F[F_CEIL_PP], x);
                    snprintf(line, sizeof(line), "%s round trips/s", tr__bench_fmt_si(b1, sizeof(b1), x));
                }
                break;
            case W_PINGPONG:
                rc = tr__rb_pingpong(p, &x);
                if (rc == 0) {
                    add(&F[F_PP], x);
                    add(&F[F_PP_NS], 1e9 / x);
                    snprintf(line, sizeof(line), "%s round trips/s (%.0f ns)",
                             tr__bench_fmt_si(b1, sizeof(b1), x), 1e9 / x);
                }
                break;
            case W_CEIL_FANIN:
                rc = tr__ceiling_fanin(p->fanin_producers, p->fanin_per_producer,
                                       p->fanin_chunk, &x);
                if (rc == 0) {
                    add(&F[F_CEIL_FANIN], x);
                    snprintf(line, sizeof(line), "%s msgs/s", tr__bench_fmt_si(b1, sizeof(b1), x));
                }
                break;
            case W_FANIN:
                rc = tr__rb_fanin(p, &x, &efull, &hwm);
                if (rc == 0) {
                    add(&F[F_FANIN], x);
                    add(&F[F_FANIN_EFULL], (double)efull);
                    snprintf(line, sizeof(line),
                             "%s msgs/s (consumer depth high-water %u, %llu TR_EFULL retries)",
                             tr__bench_fmt_si(b1, sizeof(b1), x), hwm, (unsigned long long)efull);
                }
                break;
            case W_RING:
                rc = tr__rb_ring(p, &x);
                if (rc == 0) {
                    add(&F[F_RING], x);
                    snprintf(line, sizeof(line), "%s hops/s", tr__bench_fmt_si(b1, sizeof(b1), x));
                }
                break;
            case W_SPAWN:
                rc = tr__rb_spawn(p, &x, &y, &z);
                if (rc == 0) {
                    add(&F[F_SPAWN], x);
                    add(&F[F_BYTES], y);
                    add(&F[F_SPAWN_FREE], z);
                    snprintf(line, sizeof(line), "%s spawns/s, %s B/actor, freed in %.2f s",
                             tr__bench_fmt_si(b1, sizeof(b1), x),
                             tr__bench_fmt_si(b2, sizeof(b2), y), z);
                }
                break;
            case W_IDLE:
                rc = tr__rb_idle(p, &x);
                if (rc == 0) {
                    add(&F[F_IDLE], x);
                    snprintf(line, sizeof(line), "%.3f%% of one core", x);
                }
                break;
            default:
                break;
            }
            if (rc != 0) {
                fprintf(stderr, "bench runtime: %s failed on run %u; no figures reported\n",
                        workload_names[w], r + 1);
                return -1;
            }
            progress(p, workload_names[w], r, line);
        }
    }
    for (int i = 0; i < F_COUNT; i++)
        F[i].st = tr__bench_summarize(F[i].v, F[i].n);
    return 0;
}

static double ratio(const struct figure *a, const struct figure *b)
{
    return (a->n > 0 && b->n > 0 && b->st.median > 0) ? a->st.median / b->st.median : 0;
}

static void print_table(const struct params *p, const struct figure *F, unsigned workers)
{
    FILE *o = p->out;
    char b[5][32];
    fprintf(o, "\ntroupe bench runtime: %u workers, %u run%s per figure%s\n\n", workers,
            p->runs, p->runs == 1 ? "" : "s", p->quick ? " (--quick: reduced counts)" : "");
    fprintf(o, "%-12s %-17s %9s %9s %9s %10s  %-6s %10s %10s\n", "workload", "unit",
            "median", "min", "max", "target", "result", "CAF 0.17.6", "OTP 25");
    static const int order[] = {F_PP, F_PP_NS, F_FANIN, F_RING, F_SPAWN, F_BYTES, F_IDLE,
                                F_CEIL_PP, F_CEIL_FANIN};
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        const struct figure *f = &F[order[k]];
        if (f->n == 0)
            continue;
        char target[40] = "", result[8] = "", caf[32] = "", erl[32] = "";
        if (f->target != 0) {
            snprintf(target, sizeof(target), "%s %s", f->lower_is_better ? "<=" : ">=",
                     fmt(b[3], sizeof(b[3]), f, f->target));
            snprintf(result, sizeof(result), "%s", pass(f) ? "PASS" : "MISS");
        }
        if (f->caf != 0)
            snprintf(caf, sizeof(caf), "%s", tr__bench_fmt_si(b[4], sizeof(b[4]), f->caf));
        if (f->erlang != 0)
            snprintf(erl, sizeof(erl), "%s", tr__bench_fmt_si(b[4], sizeof(b[4]), f->erlang));
        fprintf(o, "%-12s %-17s %9s %9s %9s %10s  %-6s %10s %10s\n", f->workload, f->unit,
                fmt(b[0], sizeof(b[0]), f, f->st.median), fmt(b[1], sizeof(b[1]), f, f->st.min),
                fmt(b[2], sizeof(b[2]), f, f->st.max), target, result, caf, erl);
    }

    fprintf(o, "\nagainst the bare ck_ring ceilings (two pinned threads, same run):\n");
    double rp = ratio(&F[F_PP], &F[F_CEIL_PP]), rf = ratio(&F[F_FANIN], &F[F_CEIL_FANIN]);
    if (rp > 0)
        fprintf(o, "  pingpong  %s / %s round trips/s = %.1f%% of the ceiling\n",
                tr__bench_fmt_si(b[0], sizeof(b[0]), F[F_PP].st.median),
                tr__bench_fmt_si(b[1], sizeof(b[1]), F[F_CEIL_PP].st.median), 100 * rp);
    if (rf > 0)
        fprintf(o, "  fanin     %s / %s msgs/s = %.1f%% of the ceiling\n",
                tr__bench_fmt_si(b[0], sizeof(b[0]), F[F_FANIN].st.median),
                tr__bench_fmt_si(b[1], sizeof(b[1]), F[F_CEIL_FANIN].st.median), 100 * rf);
    if (F[F_RING].n > 0 && F[F_CEIL_PP].n > 0)
        fprintf(o, "  ring      %s hops/s = %.1f%% of the ceiling's one-way transfers/s (%s)\n",
                tr__bench_fmt_si(b[0], sizeof(b[0]), F[F_RING].st.median),
                100 * F[F_RING].st.median / (2 * F[F_CEIL_PP].st.median),
                tr__bench_fmt_si(b[1], sizeof(b[1]), 2 * F[F_CEIL_PP].st.median));
    fprintf(o, "\nagainst CAF 0.17.6 / Erlang/OTP 25 (higher is better for rates):\n");
    static const int cmp[] = {F_PP, F_FANIN, F_RING, F_SPAWN, F_BYTES};
    for (size_t k = 0; k < sizeof(cmp) / sizeof(cmp[0]); k++) {
        const struct figure *f = &F[cmp[k]];
        if (f->n == 0 || f->st.median <= 0)
            continue;
        if (f->lower_is_better)
            fprintf(o, "  %-9s %-17s %.2fx less than CAF, %.2fx less than OTP\n", f->workload,
                    f->unit, f->caf / f->st.median, f->erlang / f->st.median);
        else
            fprintf(o, "  %-9s %-17s %.2fx CAF, %.2fx OTP\n", f->workload, f->unit,
                    f->st.median / f->caf, f->st.median / f->erlang);
    }
    fprintf(o, "\n");
    fflush(o);
}

static json_t *build_json(const struct params *p, const struct figure *F, unsigned workers)
{
    json_t *root = json_object();
    json_t *mins = json_object(), *maxs = json_object(), *targets = json_object(),
           *passes = json_object(), *counts = json_object(), *refs = json_object();
    for (int i = 0; i < F_COUNT; i++) {
        const struct figure *f = &F[i];
        if (f->n == 0)
            continue;
        json_object_set_new(root, f->key, json_real(f->st.median));
        json_object_set_new(mins, f->key, json_real(f->st.min));
        json_object_set_new(maxs, f->key, json_real(f->st.max));
        if (f->target != 0) {
            json_object_set_new(targets, f->key, json_real(f->target));
            json_object_set_new(passes, f->key, json_boolean(pass(f)));
        }
    }
    double rp = ratio(&F[F_PP], &F[F_CEIL_PP]), rf = ratio(&F[F_FANIN], &F[F_CEIL_FANIN]);
    if (rp > 0)
        json_object_set_new(root, "pingpong_fraction_of_ceiling", json_real(rp));
    if (rf > 0)
        json_object_set_new(root, "fanin_fraction_of_ceiling", json_real(rf));
    json_object_set_new(counts, "pingpong_round_trips", json_integer((json_int_t)p->pp_round_trips));
    json_object_set_new(counts, "fanin_producers", json_integer(p->fanin_producers));
    json_object_set_new(counts, "fanin_msgs_per_producer", json_integer((json_int_t)p->fanin_per_producer));
    json_object_set_new(counts, "fanin_chunk", json_integer(p->fanin_chunk));
    json_object_set_new(counts, "fanin_mailbox", json_integer(p->fanin_mailbox));
    json_object_set_new(counts, "ring_actors", json_integer(p->ring_actors));
    json_object_set_new(counts, "ring_laps", json_integer(p->ring_laps));
    json_object_set_new(counts, "spawn_actors", json_integer((json_int_t)p->spawn_actors));
    json_object_set_new(counts, "idle_ms", json_integer(p->idle_ms));
    static const int cmp[] = {F_PP, F_FANIN, F_RING, F_SPAWN, F_BYTES};
    json_t *caf = json_object(), *otp = json_object();
    for (size_t k = 0; k < sizeof(cmp) / sizeof(cmp[0]); k++) {
        json_object_set_new(caf, F[cmp[k]].key, json_real(F[cmp[k]].caf));
        json_object_set_new(otp, F[cmp[k]].key, json_real(F[cmp[k]].erlang));
    }
    json_object_set_new(refs, "caf_0.17.6", caf);
    json_object_set_new(refs, "erlang_otp_25", otp);
    json_object_set_new(root, "workers", json_integer(workers));
    json_object_set_new(root, "runs", json_integer(p->runs));
    json_object_set_new(root, "quick", json_boolean(p->quick));
    json_object_set_new(root, "counts", counts);
    json_object_set_new(root, "min", mins);
    json_object_set_new(root, "max", maxs);
    json_object_set_new(root, "targets", targets);
    json_object_set_new(root, "pass", passes);
    json_object_set_new(root, "references", refs);
    return root;
}

static const char usage_text[] =
    "usage: troupe bench runtime [--json] [--runs N] [--quick] [--only W[,W...]]\n"
    "  Actor runtime benchmarks: pingpong, fanin, ring, spawn, idle CPU, and the\n"
    "  bare ck_ring ceilings (ceiling_pingpong, ceiling_fanin); median of N runs.\n"
    "  --json    one JSON object on stdout; progress and table on stderr\n"
    "  --runs N  runs per workload (default 5; 1 with --quick)\n"
    "  --quick   small counts, for smoke tests (figures are not comparable)\n"
    "  --only    run only these workloads (e.g. --only pingpong,ring)\n"
    "  exit status: 0 done (targets may be missed), 1 a workload failed or hung,\n"
    "  2 bad usage\n";

static int parse_only(const char *s, unsigned *mask)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int w = 0; w < W_COUNT; w++)
            if (strcmp(t, workload_names[w]) == 0)
                found = w;
        if (found < 0)
            return -1;
        *mask |= 1u << found;
    }
    return 0;
}

int tr__bench_runtime_main(int argc, char **argv)
{
    bool json = false, quick = false;
    long runs = -1;
    unsigned only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            char *end;
            runs = strtol(argv[++i], &end, 10);
            if (*end != '\0' || runs < 1 || runs > (long)MAX_RUNS) {
                fprintf(stderr, "troupe bench runtime: --runs takes 1..%u\n", MAX_RUNS);
                return 2;
            }
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            if (parse_only(argv[++i], &only) != 0) {
                fprintf(stderr, "troupe bench runtime: unknown workload in '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else {
            fputs(usage_text, stderr);
            return 2;
        }
    }
    struct params p;
    params_default(&p, quick);
    p.json = json;
    p.only = only;
    if (runs > 0)
        p.runs = (unsigned)runs;
    p.out = json ? stderr : stdout;

    struct figure *F = malloc(sizeof(figures_init));
    if (F == NULL)
        return 1;
    memcpy(F, figures_init, sizeof(figures_init));
    unsigned workers;
    {
        tr_runtime *rt;
        if (tr_runtime_new(&rt, NULL) != 0) {
            free(F);
            return 1;
        }
        workers = tr_runtime_workers(rt);
        tr_runtime_free(rt, 1000);
    }
    fprintf(p.out, "troupe bench runtime: %u workers, %u run%s per workload%s\n", workers,
            p.runs, p.runs == 1 ? "" : "s", quick ? " (--quick)" : "");
    if (run_all(&p, F) != 0) {
        free(F);
        return 1;
    }
    print_table(&p, F, workers);
    if (json) {
        json_t *root = build_json(&p, F, workers);
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        json_decref(root);
        if (text == NULL) {
            free(F);
            return 1;
        }
        fputs(text, stdout);
        fputc('\n', stdout);
        free(text);
    }
    free(F);
    return 0;
}

