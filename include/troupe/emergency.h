/*
 * troupe/emergency.h -- the emergency controller: the kill switch.
 *
 * A tr_emergency is the set of controllers of one engine/host: one GLOBAL
 * controller (config emergency.controller_id, "default" by default) and one
 * per bot (controller_id = bot id), created on demand and kept until
 * tr_emergency_free, so controller pointers stay valid for the set's life.
 *
 * States, from least to most restrictive: normal, alert, halt, shutdown.
 * can_trade is true in normal and alert; can_operate is false only in
 * shutdown.  A bot's EFFECTIVE state is the more restrictive of its own and
 * the global one: a global halt stops every bot, a bot halt only that bot.
 *
 * Transitions (docs/emergency.md has the table and the reasons):
 *
 *   from \ call   halt      alert     resume    shutdown   reset
 *   normal        halt      alert     no-op     shutdown   refused
 *   alert         halt      no-op     normal    shutdown   refused
 *   halt          no-op     refused   normal    shutdown   refused
 *   shutdown      refused   refused   refused   no-op      normal
 *
 * "no-op" returns 0 and changes nothing (no event, reason kept); "refused"
 * returns TR_ESTATE and tr_emergency_last_error() says why.
 *
 * Hot path.  Each controller publishes its state as ONE 64-bit word,
 * (version << 2) | state, written only by transitions (serialized by the
 * controller's mutex) and read with one acquire load: the tr_emergency_can_*
 * checks below are static inline, lock-free, and cost about a nanosecond.
 * Guarantee: once a transition function returns, every check made on any
 * thread afterwards observes the new state (the word is stored before
 * persistence and event delivery, followed by a full fence).  NOT promised:
 * work that already passed its check (a running node) finishes.
 *
 * Persistence.  Every change is written to <state_dir>/emergency-<id>.json
 * (temp file, fsync, rename, fsync dir) and to the state store key
 * emergency:{id}, and restored by tr_emergency_new.  Fail closed: a state
 * that cannot be read (corrupt file, store error) restores as halt.
 *
 * Events.  Every change publishes {"type":"emergency_state_changed",
 * controller_id, previous_state, new_state, reason, timestamp, version
 * [, context]} on TR_BUS_CH_EMERGENCY (the bus adds seq per controller) and
 * calls the C subscribers.
 *
 * Errors: 0 or a negative TR_E* code.  Threads: any thread unless noted.
 */
#ifndef TROUPE_EMERGENCY_H
#define TROUPE_EMERGENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/bus.h"
#include "troupe/config.h"
#include "troupe/error.h"
#include "troupe/state.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tr_emergency tr_emergency;
typedef struct tr_emergency_controller tr_emergency_controller;

/* Ordered by restrictiveness (the effective state is the max). */
typedef enum tr_emergency_state {
    TR_EMERGENCY_NORMAL = 0,
    TR_EMERGENCY_ALERT = 1,
    TR_EMERGENCY_HALT = 2,
    TR_EMERGENCY_SHUTDOWN = 3,
} tr_emergency_state;

/* "normal", "alert", "halt", "shutdown" (or "unknown").  Static; any thread. */
TR_EXTERN const char *tr_emergency_state_name(tr_emergency_state s);
/* Parse one of those names: 0 and *out, or TR_ENOENT. */
TR_EXTERN int tr_emergency_state_parse(const char *name,
                                       tr_emergency_state *out);

#define TR_EMERGENCY_ID_MAX 129     /* controller id, NUL included */
#define TR_EMERGENCY_REASON_MAX 512 /* longer reasons are truncated */
#define TR_EMERGENCY_LIMIT_NAME_MAX 64

/* ---------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------ */

/* Wall clock for timestamps, ms since the Unix epoch (tests fake it). */
typedef uint64_t (*tr_emergency_clock_fn)(void *arg);

typedef struct tr_emergency_opts {
    const char *state_dir;  /* required; created (mkdir -p) if missing   */
    /* controller_id (NULL = "default") and the built-in limits' bounds.
     * NULL = the development preset's values (-100, 10000, 10). */
    const tr_config_emergency *limits;
    tr_bus *bus;            /* NULL: no bus events                        */
    tr_state *state;        /* NULL: no store writes or reads             */
    uint64_t store_timeout_ms;  /* restore's store reads; 0 = 5000        */
    tr_emergency_clock_fn clock; /* NULL: CLOCK_REALTIME                  */
    void *clock_arg;
} tr_emergency_opts;

/* Create the set and restore every controller found: the global one and
 * each <state_dir>/emergency-*.json.  Per controller: the file if it parses,
 * else (exists but unreadable or corrupt) halt with reason "state file
 * <path> unreadable: <why>" (the bad file is kept as <path>.corrupt); with a
 * store, also the key emergency:{id} (TR_ENOENT = nothing; any other error =
 * halt "state store key ... unreadable: ..."), taking the more restrictive
 * of the two; no file and no key = normal.  Fail-closed states are persisted.
 * Opts (strings included) are copied; bus and state are borrowed and must
 * outlive the set.  Call it from a thread OUTSIDE the runtime (it uses
 * tr_state_get_sync).  Returns 0 and *out (caller frees with
 * tr_emergency_free), TR_EINVAL (no opts/state_dir, bad controller_id),
 * TR_EIO (state_dir cannot be created or listed; tr_emergency_last_error()
 * names it), TR_ENOMEM.  On failure nothing is left allocated. */
TR_EXTERN int tr_emergency_new(tr_emergency **out,
                               const tr_emergency_opts *opts);

/* Free the set and every controller.  No other thread may use it or its
 * controllers any more, and no callback may be running.  em may be NULL. */
TR_EXTERN void tr_emergency_free(tr_emergency *em);

/* The controller id (NULL or the global id = the global controller), created
 * on first use (state normal: bots with a persisted state were restored by
 * tr_emergency_new).  *out stays valid until tr_emergency_free.  Takes the
 * set's mutex and may allocate: look it up once per execution, not per
 * node.  Returns 0, TR_EINVAL (id not 1..128 of A-Z a-z 0-9 _ . -),
 * TR_ENOMEM. */
TR_EXTERN int tr_emergency_controller_get(tr_emergency *em, const char *id,
                                          tr_emergency_controller **out);

/* The controller's id (valid for its life) and the global controller. */
TR_EXTERN const char *tr_emergency_controller_id(
    const tr_emergency_controller *ctl);
TR_EXTERN tr_emergency_controller *tr_emergency_global(tr_emergency *em);

/* ---------------------------------------------------------------------------
 * Transitions (any thread; serialized per controller by its mutex).  Rare
 * operations, NOT a hot path: each writes and fsyncs a file (~ms).  reason
 * is copied (NULL = ""; truncated to TR_EMERGENCY_REASON_MAX - 1 bytes).
 * Order inside one call: validate -> store the snapshot word (visible to
 * every checker from here) -> persist (file, store key) -> bus event -> C
 * callbacks.  Resume and reset persist FIRST and are refused with TR_EIO if
 * the file cannot be written (so a durable halt is never lifted only in
 * memory); halt/alert/shutdown never fail for persistence (a write error is
 * logged and shown in the status as "persist_error").
 * Returns 0 (changed, or no-op), TR_ESTATE (refused by the table),
 * TR_EINVAL (ctl NULL, context_json not JSON), TR_EIO (resume/reset not
 * persisted), TR_ENOMEM.  A failed call changes nothing.
 * ------------------------------------------------------------------------ */

TR_EXTERN int tr_emergency_halt(tr_emergency_controller *ctl,
                                const char *reason);
/* context_json: a JSON value (NULL = none) carried in the event and status
 * as "context" (the seed's alert(reason, **context)). */
TR_EXTERN int tr_emergency_alert(tr_emergency_controller *ctl,
                                 const char *reason, const char *context_json);
TR_EXTERN int tr_emergency_resume(tr_emergency_controller *ctl,
                                  const char *reason);
TR_EXTERN int tr_emergency_shutdown(tr_emergency_controller *ctl,
                                    const char *reason);
/* The only way out of shutdown (an operator's deliberate act, e.g. the next
 * trading day): shutdown -> normal.  Refused from any other state (use
 * resume). */
TR_EXTERN int tr_emergency_reset(tr_emergency_controller *ctl,
                                 const char *reason);

/* Why the last failed tr_emergency_* call on THIS thread failed (a refused
 * transition, a directory that cannot be created, ...); "" if none.  Valid
 * until the next tr_emergency_* call on this thread. */
TR_EXTERN const char *tr_emergency_last_error(void);

/* ---------------------------------------------------------------------------
 * Hot-path checks: lock-free, any thread, ~1 ns (static inline).
 * ------------------------------------------------------------------------ */

/* INTERNAL layout, exposed only for the inline checks below: the head of
 * every controller.  word = (version << 2) | state; written only by the
 * controller's transitions (release store + full fence), read with one
 * acquire load.  global points to the global controller's head (NULL in the
 * global controller itself).  Never write these fields. */
typedef struct tr__emergency_head {
    uint64_t word;
    const struct tr__emergency_head *global;
} tr__emergency_head;

#define TR__EMERGENCY_STATE(w) ((tr_emergency_state)((w) & 3u))
#define TR__EMERGENCY_VERSION(w) ((w) >> 2)

static inline uint64_t tr__emergency_load(const tr__emergency_head *h)
{
#if defined(__GNUC__)
    /* Acquire: pairs with the transition's release store; whoever sees the
     * new word also sees everything the transition wrote before it. */
    return __atomic_load_n(&h->word, __ATOMIC_ACQUIRE);
#else
#error "troupe/emergency.h needs GCC or Clang atomics"
#endif
}

/* The effective state of ctl (the max of its own and the global one) and a
 * combined version (global version + own version; for the global controller
 * its version): monotonic, so "version >= V" means a change published with
 * version V or later was visible.  The two words are loaded one after the
 * other, each atomically.  ctl NULL: TR_EMERGENCY_SHUTDOWN and version 0
 * (fail closed; there is no set to take a global controller from).
 * version may be NULL. */
static inline tr_emergency_state tr_emergency_effective(
    const tr_emergency_controller *ctl, uint64_t *version)
{
    const tr__emergency_head *h = (const tr__emergency_head *)(const void *)ctl;
    if (!h) {
        if (version)
            *version = 0;
        return TR_EMERGENCY_SHUTDOWN;
    }
    uint64_t w = tr__emergency_load(h);
    uint64_t s = w & 3u, v = w >> 2;
    if (h->global) {
        uint64_t g = tr__emergency_load(h->global);
        if ((g & 3u) > s)
            s = g & 3u;
        v += g >> 2;
    }
    if (version)
        *version = v;
    return (tr_emergency_state)s;
}

/* True in normal and alert (effective state).  NULL: false. */
static inline bool tr_emergency_can_trade(const tr_emergency_controller *ctl)
{
    return tr_emergency_effective(ctl, NULL) <= TR_EMERGENCY_ALERT;
}

/* False only in shutdown (effective state).  NULL: false. */
static inline bool tr_emergency_can_operate(const tr_emergency_controller *ctl)
{
    return tr_emergency_effective(ctl, NULL) != TR_EMERGENCY_SHUTDOWN;
}

/* This controller's own state and version (not combined with the global).
 * Either output may be NULL.  Returns TR_EINVAL for ctl NULL. */
static inline int tr_emergency_snapshot(const tr_emergency_controller *ctl,
                                        tr_emergency_state *state,
                                        uint64_t *version)
{
    const tr__emergency_head *h = (const tr__emergency_head *)(const void *)ctl;
    if (!h)
        return TR_EINVAL;
    uint64_t w = tr__emergency_load(h);
    if (state)
        *state = TR__EMERGENCY_STATE(w);
    if (version)
        *version = TR__EMERGENCY_VERSION(w);
    return 0;
}

/* Out-of-line twins for foreign-function callers (same semantics). */
TR_EXTERN bool tr_emergency_can_trade_fn(const tr_emergency_controller *ctl);
TR_EXTERN bool tr_emergency_can_operate_fn(const tr_emergency_controller *ctl);

/* ---------------------------------------------------------------------------
 * Risk limits
 * ------------------------------------------------------------------------ */

typedef struct tr_emergency_risk_result {
    bool exceeded;
    bool halted;       /* this call moved the controller to halt          */
    double value;
    double limit;      /* the bound applied (configured one for built-ins) */
    double utilization;
    char error_type[24]; /* "RiskLimitExceeded" when exceeded, else ""   */
    char message[320];   /* names the limit, the value and the bound      */
} tr_emergency_risk_result;

/* Check value against the limit `name` and record value/limit/utilization
 * for the status.  Built-ins take their bound from the configuration and
 * IGNORE `limit` (a caller cannot loosen a configured bound):
 *   daily_loss            exceeded when value <  daily_loss_limit (negative);
 *                         utilization = value/limit if value < 0 else 0
 *   max_position_size     exceeded when value >  bound; utilization value/bound
 *   max_drawdown_percent  exceeded when value >  bound; utilization value/bound
 * Any other name uses `limit`, exceeded when value > limit.  A value EQUAL to
 * the bound is within (utilization 1.0).  A NaN value or bound counts as
 * exceeded (fail closed).  When exceeded and auto_halt, the controller is
 * halted with reason "risk limit <name> exceeded: ..." (a no-op if already
 * halted; not possible in shutdown).  Takes the controller's mutex (tens of
 * ns uncontended; a halt adds file I/O).  out may be NULL.
 * Returns 0 (within), TR_ELIMIT (exceeded; out->error_type
 * "RiskLimitExceeded"), TR_EINVAL (ctl NULL, name empty or longer than
 * TR_EMERGENCY_LIMIT_NAME_MAX - 1), TR_ENOMEM (a new name could not be
 * recorded: nothing recorded, but the check itself still ran and
 * out is filled; an exceeded limit still halts). */
TR_EXTERN int tr_emergency_check_risk_limit(tr_emergency_controller *ctl,
                                            const char *name, double value,
                                            double limit, bool auto_halt,
                                            tr_emergency_risk_result *out);

/* ---------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------ */

typedef struct tr_emergency_status {
    char controller_id[TR_EMERGENCY_ID_MAX];
    tr_emergency_state state;     /* own                                   */
    tr_emergency_state effective; /* combined with the global controller   */
    bool can_trade, can_operate;  /* from the effective state              */
    uint64_t version;             /* own                                   */
    uint64_t updated_ms;          /* last change (or restore), epoch ms    */
    char reason[TR_EMERGENCY_REASON_MAX];      /* of the last change       */
    char halt_reason[TR_EMERGENCY_REASON_MAX]; /* "" unless halt/shutdown  */
} tr_emergency_status;

/* A consistent copy of the controller's status (takes its mutex).
 * Returns 0 or TR_EINVAL. */
TR_EXTERN int tr_emergency_status_get(tr_emergency_controller *ctl,
                                      tr_emergency_status *out);

/* The status as JSON (the seed's get_status):
 *   {"controller_id":..,"state":..,"effective_state":..,"global_state":..,
 *    "can_trade":..,"can_operate":..,"halt_reason":..|null,"reason":..,
 *    "version":..,"updated_at":"ISO-8601",["context":..,]["persist_error":..,]
 *    "risk_limits":{name:{"value":..,"limit":..,"utilization":..,
 *                         "exceeded":..}}}
 * The built-in limits are always listed (value 0 until checked).  *json is
 * malloc'd and NUL-terminated (caller frees), *len its length (may be NULL).
 * Returns 0, TR_EINVAL or TR_ENOMEM. */
TR_EXTERN int tr_emergency_status_json(tr_emergency_controller *ctl,
                                       char **json, size_t *len);

/* ---------------------------------------------------------------------------
 * C subscribers
 * ------------------------------------------------------------------------ */

typedef struct tr_emergency_event {
    const char *controller_id;
    tr_emergency_state previous_state, new_state;
    const char *reason;
    const char *timestamp; /* ISO-8601 UTC with ms                        */
    uint64_t version;      /* the controller's new version               */
    const char *context_json; /* alert context, or NULL                  */
} tr_emergency_event;

/* Called on the thread that made the change, after the new state is
 * visible, persisted and published on the bus; ev is borrowed for the
 * call.  Calls for changes of the same controller made concurrently by two
 * threads may arrive in either order: order by ev->version.  A callback may
 * read status and make transitions, but must not (un)subscribe. */
typedef void (*tr_emergency_cb)(void *arg, const tr_emergency_event *ev);

/* Returns 0 and *id, TR_EINVAL, TR_ENOMEM. */
TR_EXTERN int tr_emergency_subscribe(tr_emergency *em, tr_emergency_cb cb,
                                     void *arg, uint64_t *id);
/* When it returns the callback is not running and will not be called
 * again (so arg may be freed).  Not from a callback.  0 or TR_ENOENT. */
TR_EXTERN int tr_emergency_unsubscribe(tr_emergency *em, uint64_t id);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_EMERGENCY_H */
