/*
 * troupe/resilience.h -- circuit breakers, retry backoff and a tiny seeded
 * random number generator: the resilience primitives of the seed plan
 * (ResilienceConfig), as plain data structures with no clock and no locks.
 *
 * Time is always passed in (now_ms, any monotonic millisecond clock), so tests
 * drive a manual clock and the executor uses its timer wheel.  Nothing here
 * sleeps, blocks or allocates, except the optional breaker map.
 *
 * Threads: a tr_breaker has one writer (the actor that owns it: every call
 * that changes it must come from one thread at a time).  Other threads may
 * read a consistent snapshot of its statistics at any time with
 * tr_breaker_stats_read (a seqlock; the writer never waits for readers).
 * The backoff and rng functions are pure over their arguments: any thread,
 * one thread per rng state.
 *
 * docs/resilience.md has the state diagram and the rationale.
 */
#ifndef TROUPE_RESILIENCE_H
#define TROUPE_RESILIENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tr_config_resilience; /* troupe/config.h */

/* ---------------------------------------------------------------------------
 * Seeded random numbers (splitmix64).  The state is a plain uint64_t owned by
 * the caller; any value is a valid seed (0 included).  The sequence is the
 * same on every platform, so seeded runs are reproducible.
 * ------------------------------------------------------------------------ */

/* The next 64 random bits; advances *state.  Cannot fail. */
TR_EXTERN uint64_t tr_rng_next(uint64_t *state);
/* A double uniform in [0, 1) with 53 random bits; advances *state. */
TR_EXTERN double tr_rng_unit(uint64_t *state);

/* ---------------------------------------------------------------------------
 * Retry backoff
 * ------------------------------------------------------------------------ */

/* The delay before retry number `attempt` (1 = the wait after the first
 * failed attempt), in whole milliseconds:
 *
 *     d = min(max_wait_ms, min_wait_ms * exponential_base^(attempt - 1))
 *     jitter false:  floor(d)
 *     jitter true:   floor(u * d), u uniform in [0, 1) from *rng_state
 *                    ("full jitter": the AWS/tenacity wait_random_exponential
 *                    scheme; a jittered delay may be below min_wait_ms)
 *
 * The result is never negative and never above max_wait_ms.  attempt 0 counts
 * as 1; a negative or NaN wait counts as 0; a base below 1 (or NaN) counts as
 * 1; overflow saturates at max_wait_ms.  rng_state is advanced only when
 * jitter is true (it may be NULL when jitter is false; with jitter and a NULL
 * state the upper bound d is returned).  Pure; any thread. */
TR_EXTERN uint64_t tr_backoff_delay_ms(uint32_t attempt, double min_wait_ms,
                                       double max_wait_ms, double exponential_base,
                                       bool jitter, uint64_t *rng_state);

/* Whether a node failure of this error_type is retried: the seed plan's
 * retry_on=(ConnectionError, TimeoutError), with Python's subclasses
 * (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError,
 * BrokenPipeError).  NULL and every other name: false.  Any thread. */
TR_EXTERN bool tr_error_type_retryable(const char *error_type);

/* ---------------------------------------------------------------------------
 * Circuit breaker
 *
 *   CLOSED --failure_threshold consecutive failures--> OPEN
 *   OPEN --timeout_ms elapsed, at the next tr_breaker_allow--> HALF_OPEN
 *   HALF_OPEN --success--> CLOSED        HALF_OPEN --failure--> OPEN
 *
 * While OPEN every tr_breaker_allow fails fast with TR_EAGAIN; in HALF_OPEN
 * at most half_open_max_calls trial calls are admitted at a time.
 * ------------------------------------------------------------------------ */

typedef enum tr_breaker_state {
    TR_BREAKER_CLOSED = 0,
    TR_BREAKER_OPEN = 1,
    TR_BREAKER_HALF_OPEN = 2,
} tr_breaker_state;

/* The error_type a node fails with when its breaker rejects the call (not
 * retryable). */
#define TR_BREAKER_ERROR_TYPE "CircuitBreakerError"

/* "closed", "open", "half_open" ("unknown" otherwise).  Static; any thread. */
TR_EXTERN const char *tr_breaker_state_name(tr_breaker_state s);

typedef struct tr_breaker_config {
    uint32_t failure_threshold;   /* >= 1: consecutive failures that open  */
    uint64_t timeout_ms;          /* open -> half-open after this          */
    uint32_t half_open_max_calls; /* trial calls admitted at once; 0 means 1 */
} tr_breaker_config;

/* Fill cfg from the configuration's resilience section
 * (circuit_failure_threshold, circuit_timeout_seconds; one trial call).
 * Returns 0, or TR_EINVAL when r or cfg is NULL or a value is out of range
 * (cfg untouched).  Any thread. */
TR_EXTERN int tr_breaker_config_from(const struct tr_config_resilience *r,
                                     tr_breaker_config *cfg);

/* A consistent copy of a breaker's counters. */
typedef struct tr_breaker_stats {
    tr_breaker_state state;     /* stored state (OPEN -> HALF_OPEN happens at
                                   the next allow; see retry_at_ms)         */
    bool forced;                /* opened by tr_breaker_force_open          */
    uint32_t failure_count;     /* consecutive failures                     */
    uint32_t failure_threshold;
    uint64_t timeout_ms;
    uint64_t opened_at_ms;      /* when it last opened (0: never)           */
    uint64_t retry_at_ms;       /* opened_at_ms + timeout_ms when OPEN, else 0 */
    uint64_t total_calls;       /* every tr_breaker_allow, admitted or not  */
    uint64_t total_successes;
    uint64_t total_failures;
    uint64_t total_rejections;  /* tr_breaker_allow calls refused           */
    uint64_t times_opened;
} tr_breaker_stats;

/* Caller-allocated (embed it in the owning actor's state).  The fields are
 * private: use the functions below.  `pub` is the seqlock-published copy read
 * by tr_breaker_stats_read; everything else belongs to the writer. */
typedef struct tr_breaker {
    tr_breaker_config cfg;
    tr_breaker_stats s;         /* the writer's working copy                */
    uint32_t in_flight;         /* admitted half-open trial calls           */
    uint32_t seq_;              /* seqlock sequence: odd while publishing   */
    uint64_t pub_[12];          /* published stats, one word each           */
} tr_breaker;

/* Initialize a CLOSED breaker with zeroed counters.  Returns 0, or TR_EINVAL
 * (b or cfg NULL, failure_threshold 0; b untouched).  Owner thread. */
TR_EXTERN int tr_breaker_init(tr_breaker *b, const tr_breaker_config *cfg);

/* Ask to make one call at now_ms.  Returns 0 (go ahead, then report the
 * outcome with tr_breaker_success / tr_breaker_failure, or give the permit
 * back with tr_breaker_release) or TR_EAGAIN (open, or half-open with every
 * trial slot taken: fail fast with TR_BREAKER_ERROR_TYPE and do not call).
 * Moves OPEN to HALF_OPEN once now_ms >= opened_at + timeout (not when
 * forced).  Owner thread; O(1). */
TR_EXTERN int tr_breaker_allow(tr_breaker *b, uint64_t now_ms);

/* Report an admitted call's outcome.  A success closes a half-open breaker
 * and clears the consecutive-failure count; a failure counts, opens a closed
 * breaker at the threshold, and re-opens a half-open one (opened_at = now).
 * Outcomes arriving while OPEN only update the totals.  Owner thread. */
TR_EXTERN void tr_breaker_success(tr_breaker *b, uint64_t now_ms);
TR_EXTERN void tr_breaker_failure(tr_breaker *b, uint64_t now_ms);

/* Give back a permit whose call was abandoned (cancelled, halted) without an
 * outcome: frees its half-open trial slot, counts nothing else. */
TR_EXTERN void tr_breaker_release(tr_breaker *b);

/* Open now and stay open (no half-open) until force_close or reset. */
TR_EXTERN void tr_breaker_force_open(tr_breaker *b, uint64_t now_ms);
/* Close now: failure count 0, not forced; totals kept. */
TR_EXTERN void tr_breaker_force_close(tr_breaker *b);
/* Back to the state tr_breaker_init left: closed, every counter 0. */
TR_EXTERN void tr_breaker_reset(tr_breaker *b);

/* The current state (owner thread; no side effects: an expired OPEN is still
 * reported OPEN until the next allow). */
TR_EXTERN tr_breaker_state tr_breaker_state_of(const tr_breaker *b);

/* Copy a consistent snapshot of the stats.  Any thread, concurrently with the
 * owner: lock-free (retries while the owner is publishing, a few stores), and
 * never delays the owner.  The owner may also read its own. */
TR_EXTERN void tr_breaker_stats_read(const tr_breaker *b, tr_breaker_stats *out);

/* ---------------------------------------------------------------------------
 * Breaker map: (workflow_id, service) -> tr_breaker, for the executor.
 * One thread at a time (the owner); the breakers it hands out keep their
 * address until removed, so other threads may tr_breaker_stats_read them
 * while they exist.
 * ------------------------------------------------------------------------ */

typedef struct tr_breaker_map tr_breaker_map;

/* A map whose new breakers use cfg (copied).  Returns 0 and *out, TR_EINVAL
 * (bad cfg) or TR_ENOMEM. */
TR_EXTERN int tr_breaker_map_new(const tr_breaker_config *cfg, tr_breaker_map **out);
/* Free the map and every breaker in it; NULL is ignored. */
TR_EXTERN void tr_breaker_map_free(tr_breaker_map *m);
/* The breaker for (workflow_id, service), created CLOSED on first use.
 * Returns 0 and *out (owned by the map), TR_EINVAL (NULL argument) or
 * TR_ENOMEM (map unchanged). */
TR_EXTERN int tr_breaker_map_get(tr_breaker_map *m, const char *workflow_id,
                                 const char *service, tr_breaker **out);
/* The breaker, or NULL when none was created.  Never allocates. */
TR_EXTERN tr_breaker *tr_breaker_map_find(const tr_breaker_map *m,
                                          const char *workflow_id, const char *service);
/* Remove and free every breaker of workflow_id; returns how many. */
TR_EXTERN size_t tr_breaker_map_remove_workflow(tr_breaker_map *m, const char *workflow_id);
TR_EXTERN size_t tr_breaker_map_count(const tr_breaker_map *m);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_RESILIENCE_H */
