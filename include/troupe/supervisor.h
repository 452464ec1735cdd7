/*
 * troupe/supervisor.h -- restart failed children, within a limit.
 *
 * A supervisor is an actor that spawns its children, monitors them, and when
 * one stops with a failure (any non-zero reason other than TR_ECLOSED at
 * shutdown) spawns a replacement from the same spec.  A child that stops
 * normally (reason 0) is not restarted.  If more than max_restarts restarts
 * fall within window_ms, the supervisor gives up: it stops the remaining
 * children and itself with reason TR_ELIMIT (so a supervisor above it, or
 * any monitor, sees the escalation).
 *
 * The handle is owned by the caller and reference counted with the actor, so
 * it stays valid after the supervisor actor stops; tr_supervisor_free stops
 * the actor (if still running) and drops the caller's reference.
 */
#ifndef TROUPE_SUPERVISOR_H
#define TROUPE_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tr_supervisor tr_supervisor;

typedef struct tr_child_spec {
    const tr_actor_ops *ops; /* must outlive the supervisor */
    void *arg;               /* passed to init at every (re)start */
    tr_spawn_opts opts;
} tr_child_spec;

typedef struct tr_supervisor_opts {
    uint32_t max_restarts; /* 0 = 3  */
    uint64_t window_ms;    /* 0 = 5000 */
} tr_supervisor_opts;

/* Spawn the supervisor and its children (children[] is copied).  When it
 * returns 0 every child is running.  On failure nothing is left running. */
TR_EXTERN int tr_supervisor_start(tr_runtime *rt, const tr_child_spec *children,
                                  size_t nchildren,
                                  const tr_supervisor_opts *opts,
                                  tr_supervisor **out);

/* The supervisor actor itself (e.g. to monitor it). */
TR_EXTERN tr_actor_ref tr_supervisor_ref(const tr_supervisor *s);
/* Current ref of child i (changes at each restart; TR_REF_NONE after the
 * supervisor gave up or stopped). Any thread. */
TR_EXTERN tr_actor_ref tr_supervisor_child(const tr_supervisor *s, size_t i);
/* Restarts performed so far. Any thread. */
TR_EXTERN uint64_t tr_supervisor_restarts(const tr_supervisor *s);
/* Whether the supervisor gave up: the restart limit was exceeded (it
 * stopped with TR_ELIMIT), or a restart itself failed (it stopped with that
 * error).  Any thread. */
TR_EXTERN bool tr_supervisor_gave_up(const tr_supervisor *s);
/* Stop the supervisor (children stop with it) and release the handle.  Call
 * it before tr_runtime_free of the runtime it runs on. */
TR_EXTERN void tr_supervisor_free(tr_supervisor *s);

#ifdef __cplusplus
}
#endif
#endif
