/*
 * bench/runtime_bench.h -- shared by the runtime benchmark's harness
 * (runtime_bench.c: runs, medians, table, JSON) and its workloads
 * (runtime_workloads.c: pingpong, fanin, ring, spawn, idle).
 */
#ifndef TR_BENCH_RUNTIME_BENCH_H
#define TR_BENCH_RUNTIME_BENCH_H

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "troupe/runtime.h"

#define MAX_RUNS 100u
#define FANIN_MAX 16u
#define SEQ_BITS 40

enum { W_CEIL_PP, W_PINGPONG, W_CEIL_FANIN, W_FANIN, W_RING, W_SPAWN, W_IDLE, W_COUNT };

struct params {
    bool json, quick;
    unsigned runs;
    unsigned only; /* bit mask of workloads; 0 = all */
    uint64_t pp_round_trips;
    unsigned fanin_producers;
    uint64_t fanin_per_producer;
    unsigned fanin_chunk;
    uint32_t fanin_mailbox;
    unsigned ring_actors, ring_laps;
    uint64_t spawn_actors;
    unsigned idle_ms;
    uint64_t timeout_ms; /* per run; a hang fails the command */
    FILE *out;           /* table and progress */
};

/* Each returns 0 (figures filled) or non-zero after printing what failed. */
int tr__rb_pingpong(const struct params *p, double *per_s);
int tr__rb_fanin(const struct params *p, double *per_s, uint64_t *efull_out,
                 uint32_t *hwm_out);
int tr__rb_ring(const struct params *p, double *per_s);
int tr__rb_spawn(const struct params *p, double *per_s, double *bytes_per_actor,
                 double *free_s);
int tr__rb_idle(const struct params *p, double *pct);

#endif
