/*
 * actors/emergency/emergency.c -- the controller set, transitions and C
 * subscribers (troupe/emergency.h).
 *
 * DESIGN
 *
 * The controller is not an actor: its readers are every worker, at every
 * node, and a message round trip there would cost microseconds and could be
 * starved by the very overload a halt is meant to stop.  Instead each
 * controller owns one 64-bit word, (version << 2) | state, that only its
 * transitions write (holding ctl->mu) and that anyone reads with one acquire
 * load (the inline checks in the header).  One word means no torn reads and
 * no seqlock retry: state and version always belong together.
 *
 * A transition (rare; serialized per controller by ctl->mu):
 *   1. looks the (state, op) pair up in TABLE: a target state, NOOP or
 *      REFUSED (TR_ESTATE with a reason in the thread's error text);
 *   2. for a lifting op (resume, reset): writes the state file first and
 *      refuses with TR_EIO if it cannot, so memory never says "normal"
 *      while the disk still says "halt" -- the other way round is the safe
 *      one;
 *   3. stores the word (release, then a full fence: once the function
 *      returns the store is globally visible, so every later check on any
 *      thread sees it), updates the text fields under ctl->mu;
 *   4. for a restricting op (halt, alert, shutdown): persists now; a failure
 *      is logged and kept in persist_error but does not undo the halt;
 *   5. publishes the bus event, still under ctl->mu, so the bus receives one
 *      controller's events in version order (it stamps seq in that order);
 *   6. drops ctl->mu and calls the C subscribers under subs_lock (read).
 *
 * Ownership: the set owns every controller; controllers are freed only by
 * tr_emergency_free, so pointers handed out stay valid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/emergency/emergency_internal.h"
#include "runtime/atomics.h"
#include "troupe/codec.h"
#include "troupe/log.h"

void tr__em_publish(tr_emergency_controller *ctl, tr_emergency_state s,
                    uint64_t version)
{
    /* Release: a checker whose acquire load sees this word also sees what
     * this controller wrote before it.  The seq_cst fence then drains the
     * store buffer before the transition goes on, so the word is globally
     * visible before the function returns (the halt guarantee). */
    tr__store_u64_release(&ctl->head.word, (version << 2) | (uint64_t)s);
    tr__fence_seq_cst();
}

bool tr_emergency_can_trade_fn(const tr_emergency_controller *ctl)
{
    return tr_emergency_can_trade(ctl);
}

bool tr_emergency_can_operate_fn(const tr_emergency_controller *ctl)
{
    return tr_emergency_can_operate(ctl);
}

/* ---------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------ */

int tr__em_ctl_create(tr_emergency *em, const char *id,
                      tr_emergency_controller **out)
{
    tr_emergency_controller *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return TR_ENOMEM;
    ctl->em = em;
    tr__em_copy(ctl->id, sizeof(ctl->id), id);
    ctl->head.global = em->global ? &em->global->head : NULL;
    ctl->updated_ms = tr__em_now(em);
    tr__em_copy(ctl->reason, sizeof(ctl->reason), "initial state");
    if (tr__em_limits_seed(ctl) != 0) {
        free(ctl);
        return TR_ENOMEM;
    }
    tr__strval *v;
    bool created;
    if (tr__strmap_put(&em->by_id, id, strlen(id), &v, &created) != 0) {
        free(ctl->limits);
        free(ctl);
        return TR_ENOMEM;
    }
    pthread_mutex_init(&ctl->mu, NULL);
    v->p = ctl;
    *out = ctl;
    return 0;
}

static void ctl_free(tr_emergency_controller *ctl)
{
    pthread_mutex_destroy(&ctl->mu);
    free(ctl->limits);
    free(ctl->context);
    free(ctl);
}

void tr_emergency_free(tr_emergency *em)
{
    if (!em)
        return;
    size_t i = 0;
    const char *k;
    size_t kl;
    tr__strval v;
    while (tr__strmap_next(&em->by_id, &i, &k, &kl, &v))
        ctl_free(v.p);
    tr__strmap_fini(&em->by_id);
    pthread_mutex_destroy(&em->mu);
    pthread_rwlock_destroy(&em->subs_lock);
    free(em->subs);
    free(em->state_dir);
    free(em);
}

int tr_emergency_new(tr_emergency **out, const tr_emergency_opts *opts)
{
    tr__em_clear_error();
    if (!out || !opts || !opts->state_dir || !opts->state_dir[0])
        return tr__em_fail(TR_EINVAL, "emergency: opts.state_dir is required");
    const char *gid = opts->limits && opts->limits->controller_id
                          ? opts->limits->controller_id
                          : "default";
    if (!tr__em_valid_id(gid))
        return tr__em_fail(TR_EINVAL,
                           "emergency: controller_id '%s' must be 1..128 "
                           "characters of A-Z a-z 0-9 _ . -", gid);
    tr_emergency *em = calloc(1, sizeof(*em));
    if (!em || !(em->state_dir = strdup(opts->state_dir))) {
        free(em);
        return TR_ENOMEM;
    }
    pthread_mutex_init(&em->mu, NULL);
    pthread_rwlock_init(&em->subs_lock, NULL);
    tr__strmap_init(&em->by_id);
    if (opts->limits) {
        em->limits = *opts->limits;
    } else {
        em->limits.daily_loss_limit = -100.0;
        em->limits.max_position_size = 10000.0;
        em->limits.max_drawdown_percent = 10.0;
        em->limits.auto_halt = true;
    }
    em->bus = opts->bus;
    em->state = opts->state;
    em->store_timeout_ms = opts->store_timeout_ms ? opts->store_timeout_ms
                                                  : 5000;
    em->clock = opts->clock ? opts->clock : tr__em_realtime_ms;
    em->clock_arg = opts->clock ? opts->clock_arg : NULL;
    em->next_sub = 1;

    int rc = tr__em_mkdirs(em->state_dir);
    if (rc == 0)
        rc = tr__em_ctl_create(em, gid, &em->global);
    if (rc == 0) {
        em->limits.controller_id = em->global->id;
        rc = tr__em_restore_all(em);
    }
    if (rc != 0) {
        tr_emergency_free(em);
        return rc;
    }
    *out = em;
    return 0;
}

int tr_emergency_controller_get(tr_emergency *em, const char *id,
                                tr_emergency_controller **out)
{
    if (!em || !out)
        return TR_EINVAL;
    if (!id) {
        *out = em->global;
        return 0;
    }
    if (!tr__em_valid_id(id))
        return tr__em_fail(TR_EINVAL,
                           "emergency: controller id '%.140s' must be 1..128 "
                           "characters of A-Z a-z 0-9 _ . -", id);
    pthread_mutex_lock(&em->mu);
    tr__strval *v = tr__strmap_get(&em->by_id, id, strlen(id));
    int rc = 0;
    if (v)
        *out = v->p;
    else
        rc = tr__em_ctl_create(em, id, out);
    pthread_mutex_unlock(&em->mu);
    return rc;
}

const char *tr_emergency_controller_id(const tr_emergency_controller *ctl)
{
    return ctl ? ctl->id : NULL;
}

tr_emergency_controller *tr_emergency_global(tr_emergency *em)
{
    return em ? em->global : NULL;
}

/* ---------------------------------------------------------------------------
 * Transitions
 * ------------------------------------------------------------------------ */

typedef enum op { OP_HALT, OP_ALERT, OP_RESUME, OP_SHUTDOWN, OP_RESET } op;
static const char *const op_names[] = {"halt", "alert", "resume", "shutdown",
                                       "reset"};

enum { NOOP = -1, REFUSED = -2 };
#define N TR_EMERGENCY_NORMAL
#define A TR_EMERGENCY_ALERT
#define H TR_EMERGENCY_HALT
#define S TR_EMERGENCY_SHUTDOWN
/* TABLE[from][op]: the target state, NOOP or REFUSED (docs/emergency.md). */
static const int TABLE[4][5] = {
    /*            halt  alert    resume   shutdown reset   */
    /* normal */ {H, A, NOOP, S, REFUSED},
    /* alert  */ {H, NOOP, N, S, REFUSED},
    /* halt   */ {NOOP, REFUSED, N, S, REFUSED},
    /* shutdn */ {REFUSED, REFUSED, REFUSED, NOOP, N},
};
#undef N
#undef A
#undef H
#undef S

static const char *refusal(tr_emergency_state from, op o)
{
    if (from == TR_EMERGENCY_SHUTDOWN)
        return "shutdown is final; only reset leaves it";
    if (o == OP_ALERT)
        return "alert would lift the halt; resume first";
    return "only a controller in shutdown can be reset; use resume";
}

static void publish_event(tr_emergency_controller *ctl,
                          const tr_emergency_event *ev, const tr_buf *ctx_mp)
{
    tr_emergency *em = ctl->em;
    if (!em->bus)
        return;
    tr_buf b;
    tr_buf_init(&b);
    tr_mp_write_map(&b, ctx_mp ? 8 : 7);
    tr_mp_write_cstr(&b, "type");
    tr_mp_write_cstr(&b, "emergency_state_changed");
    tr_mp_write_cstr(&b, "controller_id");
    tr_mp_write_cstr(&b, ev->controller_id);
    tr_mp_write_cstr(&b, "previous_state");
    tr_mp_write_cstr(&b, tr_emergency_state_name(ev->previous_state));
    tr_mp_write_cstr(&b, "new_state");
    tr_mp_write_cstr(&b, tr_emergency_state_name(ev->new_state));
    tr_mp_write_cstr(&b, "reason");
    tr_mp_write_cstr(&b, ev->reason);
    tr_mp_write_cstr(&b, "timestamp");
    tr_mp_write_cstr(&b, ev->timestamp);
    tr_mp_write_cstr(&b, "version");
    tr_mp_write_uint(&b, ev->version);
    if (ctx_mp) {
        tr_mp_write_cstr(&b, "context");
        tr_mp_write_raw(&b, ctx_mp->data, ctx_mp->len);
    }
    tr_payload *p = NULL;
    int rc = tr_buf_finish(&b, &p);
    if (rc == 0) {
        rc = tr_bus_publish(em->bus, TR_BUS_CH_EMERGENCY, p);
        tr_payload_unref(p);
    }
    tr_buf_fini(&b);
    if (rc != 0)
        tr_log(TR_LOG_LEVEL_ERROR, TR__EM_MODULE,
               "controller %s: emergency_state_changed %s -> %s not "
               "published: %s", ctl->id,
               tr_emergency_state_name(ev->previous_state),
               tr_emergency_state_name(ev->new_state), tr_err_name(rc));
}

static void notify(tr_emergency *em, const tr_emergency_event *ev)
{
    pthread_rwlock_rdlock(&em->subs_lock);
    for (size_t i = 0; i < em->nsubs; i++)
        em->subs[i].cb(em->subs[i].arg, ev);
    pthread_rwlock_unlock(&em->subs_lock);
}

static int transition(tr_emergency_controller *ctl, op o, const char *reason,
                      const char *context_json)
{
    tr__em_clear_error();
    if (!ctl)
        return tr__em_fail(TR_EINVAL, "emergency: NULL controller");
    tr_buf ctx;
    tr_buf_init(&ctx);
    if (context_json) {
        tr_codec_error ce;
        int rc = tr_json_to_mp(&ctx, context_json, strlen(context_json), &ce);
        if (rc != 0) {
            tr_buf_fini(&ctx);
            return tr__em_fail(rc == TR_ENOMEM ? rc : TR_EINVAL,
                               "emergency: alert context is not JSON: %s",
                               ce.text);
        }
    }
    tr_emergency *em = ctl->em;
    char why[300];
    tr_emergency_event ev = {.controller_id = ctl->id,
                             .reason = reason ? reason : ""};
    char rbuf[TR_EMERGENCY_REASON_MAX], ts[TR__EM_TS_MAX];
    tr__em_copy(rbuf, sizeof(rbuf), ev.reason);
    ev.reason = rbuf;
    char *ctx_text = context_json ? strdup(context_json) : NULL;
    if (context_json && !ctx_text) {
        tr_buf_fini(&ctx);
        return TR_ENOMEM;
    }

    pthread_mutex_lock(&ctl->mu);
    /* Relaxed: we are the word's only writer (mu held). */
    uint64_t w = tr__load_u64_relaxed(&ctl->head.word);
    tr_emergency_state from = TR__EMERGENCY_STATE(w);
    int to = TABLE[from][o];
    if (to < 0) {
        pthread_mutex_unlock(&ctl->mu);
        tr_buf_fini(&ctx);
        free(ctx_text);
        if (to == NOOP)
            return 0;
        return tr__em_fail(TR_ESTATE,
                           "emergency: cannot %s controller %s: it is in "
                           "state %s (%s)", op_names[o], ctl->id,
                           tr_emergency_state_name(from), refusal(from, o));
    }
    uint64_t now = tr__em_now(em);
    bool restricting = to > (int)from;
    tr__em_record rec = {.state = (tr_emergency_state)to,
                         .version = TR__EMERGENCY_VERSION(w) + 1,
                         .updated_ms = now,
                         .reason = rbuf,
                         .halt_reason = to >= TR_EMERGENCY_HALT ? rbuf : ""};
    if (!restricting) {
        int rc = tr__em_persist(ctl, &rec, why, sizeof(why));
        if (rc != 0) {
            pthread_mutex_unlock(&ctl->mu);
            tr_buf_fini(&ctx);
            free(ctx_text);
            return tr__em_fail(rc, "emergency: %s of controller %s refused: "
                               "state not persisted: %s", op_names[o],
                               ctl->id, why);
        }
        ctl->persist_error[0] = '\0';
    }
    tr__em_publish(ctl, rec.state, rec.version);
    tr__em_copy(ctl->reason, sizeof(ctl->reason), rbuf);
    tr__em_copy(ctl->halt_reason, sizeof(ctl->halt_reason), rec.halt_reason);
    ctl->updated_ms = now;
    free(ctl->context); /* only alert has a context; others clear it */
    ctl->context = ctx_text;
    ctx_text = NULL;
    if (restricting) {
        if (tr__em_persist(ctl, &rec, why, sizeof(why)) != 0) {
            tr__em_copy(ctl->persist_error, sizeof(ctl->persist_error), why);
            tr_log(TR_LOG_LEVEL_ERROR, TR__EM_MODULE,
                   "controller %s is %s but the state was NOT persisted: %s",
                   ctl->id, tr_emergency_state_name(rec.state), why);
        } else {
            ctl->persist_error[0] = '\0';
        }
    }
    tr__em_iso8601(now, ts);
    ev.previous_state = from;
    ev.new_state = rec.state;
    ev.timestamp = ts;
    ev.version = rec.version;
    ev.context_json = context_json;
    publish_event(ctl, &ev, context_json ? &ctx : NULL);
    pthread_mutex_unlock(&ctl->mu);
    tr_log(rec.state >= TR_EMERGENCY_HALT ? TR_LOG_LEVEL_WARN
                                          : TR_LOG_LEVEL_INFO,
           TR__EM_MODULE, "controller %s: %s -> %s (version %llu): %s",
           ctl->id, tr_emergency_state_name(from),
           tr_emergency_state_name(rec.state),
           (unsigned long long)rec.version, rbuf);
    notify(em, &ev);
    tr_buf_fini(&ctx);
    free(ctx_text);
    return 0;
}

int tr_emergency_halt(tr_emergency_controller *ctl, const char *reason)
{
    return transition(ctl, OP_HALT, reason, NULL);
}

int tr_emergency_alert(tr_emergency_controller *ctl, const char *reason,
                       const char *context_json)
{
    return transition(ctl, OP_ALERT, reason, context_json);
}

int tr_emergency_resume(tr_emergency_controller *ctl, const char *reason)
{
    return transition(ctl, OP_RESUME, reason, NULL);
}

int tr_emergency_shutdown(tr_emergency_controller *ctl, const char *reason)
{
    return transition(ctl, OP_SHUTDOWN, reason, NULL);
}

int tr_emergency_reset(tr_emergency_controller *ctl, const char *reason)
{
    return transition(ctl, OP_RESET, reason, NULL);
}

/* ---------------------------------------------------------------------------
 * Subscribers
 * ------------------------------------------------------------------------ */

int tr_emergency_subscribe(tr_emergency *em, tr_emergency_cb cb, void *arg,
                           uint64_t *id)
{
    if (!em || !cb || !id)
        return TR_EINVAL;
    int rc = 0;
    pthread_rwlock_wrlock(&em->subs_lock);
    if (em->nsubs == em->capsubs) {
        size_t cap = em->capsubs ? em->capsubs * 2 : 4;
        tr__em_sub *s = realloc(em->subs, cap * sizeof(*s));
        if (!s)
            rc = TR_ENOMEM;
        else {
            em->subs = s;
            em->capsubs = cap;
        }
    }
    if (rc == 0) {
        *id = em->next_sub++;
        em->subs[em->nsubs++] = (tr__em_sub){*id, cb, arg};
    }
    pthread_rwlock_unlock(&em->subs_lock);
    return rc;
}

int tr_emergency_unsubscribe(tr_emergency *em, uint64_t id)
{
    if (!em)
        return TR_EINVAL;
    int rc = TR_ENOENT;
    /* The write lock waits for every delivery in progress to finish. */
    pthread_rwlock_wrlock(&em->subs_lock);
    for (size_t i = 0; i < em->nsubs; i++)
        if (em->subs[i].id == id) {
            memmove(&em->subs[i], &em->subs[i + 1],
                    (em->nsubs - i - 1) * sizeof(em->subs[0]));
            em->nsubs--;
            rc = 0;
            break;
        }
    pthread_rwlock_unlock(&em->subs_lock);
    return rc;
}
