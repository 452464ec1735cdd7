/*
 * bench/bench_util.h -- helpers shared by troupe's benchmarks, and the entry
 * point of each `troupe bench <name>` subcommand.
 *
 * Everything here is for the benchmark programs, not for libtroupe: the
 * symbols are internal (tr__bench_*) and only the `troupe` executable links
 * them.  Timing uses CLOCK_MONOTONIC; CPU time is the whole process's
 * (CLOCK_PROCESS_CPUTIME_ID); memory is the resident set from /proc/self/statm.
 *
 * Threads: every function may be called from any thread; a latch is the
 * only shared object and is internally locked.
 */
#ifndef TR_BENCH_UTIL_H
#define TR_BENCH_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- clocks and process figures ---- */

/* Monotonic time in nanoseconds. */
uint64_t tr__bench_now_ns(void);
/* CPU time consumed by the whole process (all threads), nanoseconds. */
uint64_t tr__bench_cpu_ns(void);
/* Resident set size in bytes, or -1 if /proc/self/statm is unreadable. */
int64_t tr__bench_rss_bytes(void);
/* Give freed heap memory back to the kernel (malloc_trim), so that a later
 * RSS difference counts only memory that is really in use. */
void tr__bench_trim_heap(void);
void tr__bench_sleep_ms(unsigned ms);

/* ---- CPUs ---- */

/* The CPUs this process may run on: fills up to max ids, returns the count
 * (at least 1; {0} if the affinity mask is unreadable). */
unsigned tr__bench_cpus(int *cpus, unsigned max);
/* Pin the calling thread to one CPU.  0 or -1. */
int tr__bench_pin_self(int cpu);

/* ---- statistics over runs ---- */

typedef struct tr__bench_stat {
    double median, min, max;
    unsigned n;
} tr__bench_stat;

/* Median (mean of the middle two for even n), min and max of v[0..n-1].
 * v is not modified.  n == 0 gives all zeros. */
tr__bench_stat tr__bench_summarize(const double *v, unsigned n);

/* ---- a latch: "the workload is done", from an actor to the bench thread --- */

typedef struct tr__bench_latch {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    uint64_t count;
} tr__bench_latch;

void tr__bench_latch_init(tr__bench_latch *l);
void tr__bench_latch_destroy(tr__bench_latch *l);
void tr__bench_latch_add(tr__bench_latch *l, uint64_t n);
/* Wait until count >= n or timeout_ms passes; returns the count seen. */
uint64_t tr__bench_latch_wait(tr__bench_latch *l, uint64_t n, uint64_t timeout_ms);

/* ---- number formatting for tables ---- */

/* 3.61M, 241k, 950: three significant digits with an SI suffix. */
const char *tr__bench_fmt_si(char *buf, size_t len, double v);

/* ---- bare ck_ring ceilings (ceiling_ck.c) ----
 * Two threads pinned to different CPUs (not pinned if only one is allowed),
 * busy-polling with ck_pr_stall.  Each verifies every item it receives and
 * returns -1 (after printing why to stderr) if one is lost, duplicated or out
 * of order; 0 and *per_s otherwise. */

/* Round trips over a pair of SPSC rings. */
int tr__ceiling_pingpong(uint64_t round_trips, double *per_s);
/* One producer thread taking `producers` producers' turns round-robin (chunk
 * items per turn) into one MPSC ring; one consumer thread.  *per_s is items
 * received per second. */
int tr__ceiling_fanin(unsigned producers, uint64_t per_producer, unsigned chunk,
                      double *per_s);

/* ---- entry points of `troupe bench <name>`: argv[0] is <name> ---- */

int tr__bench_runtime_main(int argc, char **argv);
int tr__bench_workflow_main(int argc, char **argv); /* workflow_bench.c */
int tr__bench_emergency_main(int argc, char **argv); /* emergency_bench.c */
int tr__bench_fanout_main(int argc, char **argv);    /* fanout_bench.c */

/* Wait until an engine's bus and state store have handled everything
 * queued.  A barrier sent while a mailbox is at twice its capacity fails with
 * TR_EFULL: it is retried until accepted (30 s in all).  0 or the error. */
struct tr_engine;
int tr__bench_engine_drain(struct tr_engine *eng);

/* Remove a directory and the files directly in it (best effort). */
void tr__bench_rmdir(const char *dir);

#endif /* TR_BENCH_UTIL_H */
