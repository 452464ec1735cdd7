/*
 * cli/cmd_bench.c -- `troupe bench <benchmark> [options]`.
 *
 * A table maps each benchmark name to its entry point in bench/ (declared in
 * bench/bench_util.h; argv[0] is the benchmark's name).  Adding a benchmark
 * is one row here.  Without -DTROUPE_BUILD_BENCH the command still exists and
 * says the benchmarks were not built (exit 2).
 */
#include <stdio.h>
#include <string.h>

#ifdef TROUPE_HAVE_BENCH
#include "bench/bench_util.h"
#endif

const char tr_cmd_bench_help[] = "run benchmarks (`troupe bench runtime|workflow|emergency|fanout`)";
int tr_cmd_bench(int argc, char **argv);

struct bench {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct bench benches[] = {
#ifdef TROUPE_HAVE_BENCH
    {"runtime", tr__bench_runtime_main,
     "actor runtime: pingpong, fanin, ring, spawn, idle CPU vs ck_ring ceilings"},
    {"workflow", tr__bench_workflow_main,
     "workflow engine: arbitrage workflow back to back and 1,000 concurrent"},
    {"emergency", tr__bench_emergency_main,
     "kill switch: check cost, halt-to-stopped under 1,000 executions, overhead"},
    {"fanout", tr__bench_fanout_main,
     "/ws fan-out: deliveries/s, latency, CPU per delivery vs write() floor, idle RSS"},
#endif
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: troupe bench <benchmark> [options]\n\nbenchmarks:\n");
    for (const struct bench *b = benches; b->name != NULL; b++)
        fprintf(out, "  %-10s %s\n", b->name, b->help);
    if (benches[0].name == NULL)
        fprintf(out, "  (none: built with TROUPE_BUILD_BENCH=OFF)\n");
    fprintf(out, "\n`troupe bench <benchmark> --help` describes its options.\n");
}

int tr_cmd_bench(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (const struct bench *b = benches; b->name != NULL; b++)
        if (strcmp(argv[1], b->name) == 0)
            return b->run(argc - 1, argv + 1);
    fprintf(stderr, "troupe bench: unknown benchmark '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
