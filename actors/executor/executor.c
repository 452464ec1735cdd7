/*
 * actors/executor/executor.c -- one actor per execution.
 *
 * PROTOCOL
 * Accepts:
 *   EX_START                 begin: execution_started, state "running", run
 *                            every node without dependencies.
 *   EX_DUE (status = gen<<20 | node, corr = the execution's)
 *                            a wheel timer for a node: its result is now due
 *                            (flags EX_F_READY), its deadline passed
 *                            (EX_F_TIMEOUT), or its retry wait is over
 *                            (EX_F_RETRY).  A timer whose generation is not
 *                            the node's current one is stale and ignored.
 *   EX_FLUSH                 the outbox asks to retry sends a full bus or
 *                            state store refused (outbox.h).
 *   EX_JOB (status = gen<<20 | node, corr = the job)
 *                            a blocking node's job finished on the blocking
 *                            pool (blocking.h); stale attempts are dropped.
 * Emits (bus, workflow_events): execution_started, node_started,
 *   node_completed, node_retrying, node_failed, node_skipped,
 *   execution_completed, execution_failed.
 * Persists (state store): status running -> completed|failed, the result
 *   {status, duration_ms, outputs, error?}, latest_execution, history.
 *
 * Nodes run inline when ready (built-in types are ~100 ns functions); what a
 * node says is not due yet (simulated latency, delay, a hang) waits on ONE
 * wheel timer: min(delay, timeout), or the timeout for a hang.  So a node's
 * deadline costs a wheel insertion, never a thread hop, and independent
 * slow nodes overlap.  Events and state writes go through an outbox, so a
 * full bus or store delays them but never loses one.  The done callback runs
 * once every event of the execution has been handed to the bus, and the
 * actor stops once, in addition, no timer of its own is still pending (so
 * none becomes a dead letter).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/executor/exec_internal.h"
#include "actors/executor/exec_state.h"
#include "troupe/log.h"


static int exec_init(tr_runtime *rt, void *state, void *arg)
{
    exec *x = state;
    tr__exec_arg *a = arg;
    x->eng = a->eng;
    x->wf = a->wf;
    memcpy(x->id, a->id, sizeof(x->id));
    x->corr = a->corr;
    x->done = a->done;
    x->done_arg = a->done_arg;
    x->n = x->wf->n;
    x->rng = a->corr ^ 0x9E3779B97F4A7C15ull;
    tr__outbox_init(&x->out, EX_FLUSH);
    size_t n = x->n;
    size_t bytes = n * (sizeof(tr_node_result) + sizeof(tr_wheel_timer) +
                        sizeof(void *) + sizeof(uint64_t) + 2 * sizeof(uint32_t) +
                        2 * sizeof(uint16_t) + 3);
    char *m = malloc(bytes ? bytes : 1);
    if (m == NULL)
        return TR_ENOMEM;
    /* Largest alignment first. */
    x->res = (tr_node_result *)m;
    m += n * sizeof(tr_node_result);
    x->tm = (tr_wheel_timer *)m;
    m += n * sizeof(tr_wheel_timer);
    x->done_res = (const tr_node_result **)m;
    m += n * sizeof(void *);
    x->node_t0 = (uint64_t *)m;
    m += n * sizeof(uint64_t);
    x->waiting = (uint32_t *)m;
    m += n * sizeof(uint32_t);
    x->stack = (uint32_t *)m;
    m += n * sizeof(uint32_t);
    x->attempt = (uint16_t *)m;
    m += n * sizeof(uint16_t);
    x->gen = (uint16_t *)m;
    m += n * sizeof(uint16_t);
    x->st = (uint8_t *)m;
    m += n;
    x->trial = (uint8_t *)m;
    m += n;
    x->tm_live = (uint8_t *)m;
    for (uint32_t i = 0; i < x->n; i++) {
        const tr_wf_node *node = tr_wf_plan_node(x->wf->plan, i);
        x->waiting[i] = node->ndeps;
        x->attempt[i] = 0;
        x->gen[i] = 0;
        x->st[i] = N_PENDING;
        x->trial[i] = 0;
        x->tm_live[i] = 0;
        x->done_res[i] = NULL;
    }
    return 0;
}

static void exec_stop(tr_ctx *ctx, void *state, int reason)
{
    exec *x = state;
    if (!x->done_called) { /* stopped from outside (shutdown) */
        if (!x->over)
            __atomic_fetch_add(&x->eng->failed, 1, __ATOMIC_RELAXED);
        if (x->done != NULL)
            x->done(x->done_arg, x->id, x->over ? x->status : TR_EXEC_FAILED,
                    x->duration_ms);
    }
    tr__outbox_fini(&x->out);
    free(x->res);
    tr__wf_unref(x->wf);
}


/* ---------------------------------------------------------------------- */
/* Events                                                                  */
/* ---------------------------------------------------------------------- */






/* After the end: report once every event is out, stop once nothing of
 * ours (timer, queued send) is left. */
static void settle(tr_ctx *ctx, exec *x)
{
    if (!x->over || !tr__outbox_empty(&x->out))
        return;
    if (!x->done_called) {
        x->done_called = true;
        if (x->done != NULL)
            x->done(x->done_arg, x->id, x->status, x->duration_ms);
    }
    if (x->timers == 0 && x->jobs == 0)
        tr_ctx_stop(ctx, 0);
}

/* Stop node i's pending timer if it has not fired yet. */
static void disarm(exec *x, uint32_t i)
{
    if (x->tm_live[i] && tr_wheel_timer_cancel(x->tm[i])) {
        x->tm_live[i] = 0;
        x->timers--;
    }
}

/* End the execution.  failed: the node that failed (FAILED), the node it
 * stopped before (HALTED) or UINT32_MAX; halt_reason: HALTED only. */
static void finish(tr_ctx *ctx, exec *x, tr_exec_status status, uint32_t failed,
                   const char *halt_reason)
{
    if (x->over)
        return;
    x->over = true;
    double dur = tr__ex_ms_since(x->t0_ns);
    const char *sname = tr_exec_status_name(status);
    bool halted = status == TR_EXEC_HALTED;
    const tr_node_result *fr =
        failed < x->n && !halted ? &x->res[failed] : NULL;
    const char *fnode = failed < x->n ? tr_wf_plan_node(x->wf->plan, failed)->id : NULL;
    const char *err = halted ? halt_reason : fr ? fr->error : NULL;
    const char *etype = halted ? "EmergencyHalt" : fr ? fr->error_type : NULL;

    const char *type = status == TR_EXEC_COMPLETED ? "execution_completed"
                       : halted                    ? "execution_halted"
                                                   : "execution_failed";
    tr_buf *b = tr__ev_begin(x->wf, x->id, type,
                             2 + (err ? 2 : 0) + (halted ? 1 : 0) + (fnode ? 1 : 0));
    if (b != NULL) {
        tr_mp_write_cstr(b, "status");
        tr_mp_write_cstr(b, sname);
        tr_mp_write_cstr(b, "duration_ms");
        tr_mp_write_double(b, dur);
        if (err) {
            tr_mp_write_cstr(b, "error");
            tr_mp_write_cstr(b, err);
            tr_mp_write_cstr(b, "error_type");
            tr_mp_write_cstr(b, etype ? etype : "Error");
        }
        if (halted) {
            tr_mp_write_cstr(b, "reason");
            tr_mp_write_cstr(b, halt_reason ? halt_reason : "");
        }
        if (fnode) {
            tr_mp_write_cstr(b, "node_id");
            tr_mp_write_cstr(b, fnode);
        }
        tr__ev_publish(ctx, x->eng, &x->out, b);
    }

    tr_buf mp, js;
    tr_buf_init(&mp);
    tr_buf_init(&js);
    tr__ex_write_result(x, &mp, sname, dur, err, etype, fnode ? fnode : "");
    tr_mp_val v;
    tr_state_req req = {.wf = x->wf->id, .exec = x->id, .status = sname};
    if (tr_buf_error(&mp) == 0 && tr_mp_read(mp.data, mp.len, &v, NULL) == 0 &&
        tr_json_write(&js, v) == 0) {
        req.value = (const char *)js.data;
        req.value_len = js.len;
    }
    tr__ex_state_write(ctx, x, TR_STATE_MSG_EXEC_END, &req);
    tr_buf_fini(&mp);
    tr_buf_fini(&js);

    uint64_t *counter = status == TR_EXEC_COMPLETED ? &x->eng->completed
                        : status == TR_EXEC_FAILED  ? &x->eng->failed
                                                    : &x->eng->halted;
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    /* Attempts still running will never report an outcome: give back the
     * half-open trials they hold, or their breakers would refuse every call
     * from now on (docs/resilience.md, "Abandoned calls"). */
    for (uint32_t i = 0; i < x->n; i++) {
        if (x->st[i] != N_RUNNING || !x->trial[i])
            continue;
        x->trial[i] = 0;
        pthread_mutex_lock(&x->wf->lock);
        tr_breaker_release(&x->wf->breakers[x->wf->breaker_of[i]]);
        pthread_mutex_unlock(&x->wf->lock);
    }
    if (fr)
        TR_LOG_INFO("executor", "execution %s failed at node %s: %s (%s)", x->id,
                    fnode, fr->error, fr->error_type ? fr->error_type : "Error");
    else if (halted) /* the controller logged the halt itself; events carry each */
        TR_LOG_DEBUG("executor", "execution %s halted%s%s: %s", x->id,
                    fnode ? " before node " : "", fnode ? fnode : "",
                    halt_reason ? halt_reason : "");
    /* Timers still pending (latency, deadlines, retry waits) would keep
     * this actor -- and a shutdown's drain -- waiting for nothing. */
    for (uint32_t i = 0; i < x->n; i++)
        disarm(x, i);
    x->status = status;
    x->duration_ms = dur;
    settle(ctx, x);
}

/* ---------------------------------------------------------------------- */
/* Nodes                                                                   */
/* ---------------------------------------------------------------------- */

static void start_node(tr_ctx *ctx, exec *x, uint32_t i);

static int arm(tr_ctx *ctx, exec *x, uint32_t i, uint32_t kind, double ms)
{
    if (!(ms >= 0))
        ms = 0;
    tr_send_args a = {.type = EX_DUE, .flags = kind, .corr_id = x->corr,
                      .status = (int32_t)(((uint32_t)(x->gen[i] & 0xFFFu) << NODE_BITS) | i)};
    int rc = tr_ctx_timer_start(ctx, (uint64_t)ceil(ms), tr_self(ctx), &a, &x->tm[i]);
    if (rc == 0) {
        x->timers++;
        x->tm_live[i] = 1;
    }
    return rc;
}


static void skip_from(tr_ctx *ctx, exec *x, uint32_t root)
{
    /* Every descendant of a skipped node is skipped (iteratively). */
    uint32_t top = 0;
    const tr_wf_node *rn = tr_wf_plan_node(x->wf->plan, root);
    for (uint32_t k = 0; k < rn->ndependants; k++)
        x->stack[top++] = rn->dependants[k];
    while (top > 0) {
        uint32_t d = x->stack[--top];
        if (x->st[d] != N_PENDING)
            continue;
        x->st[d] = N_SKIPPED;
        x->terminal++;
        tr__ex_emit_node(ctx, x, d, TR__EV_NODE_SKIPPED);
        const tr_wf_node *dn = tr_wf_plan_node(x->wf->plan, d);
        for (uint32_t k = 0; k < dn->ndependants; k++)
            if (x->st[dn->dependants[k]] == N_PENDING && top < x->n)
                x->stack[top++] = dn->dependants[k];
    }
}

/* A `log` node's message goes to the log, at its level, with the
 * execution id as correlation (the label set in exec_receive). */
static void log_node(exec *x, uint32_t i)
{
    const tr_node_result *r = &x->res[i];
    const tr_node_output *msg = tr_node_result_find(r, "message");
    const tr_node_output *lvl = tr_node_result_find(r, "level");
    size_t mlen = 0, llen = 0;
    const char *m = msg ? tr_node_output_str(r, msg, &mlen) : NULL;
    const char *l = lvl ? tr_node_output_str(r, lvl, &llen) : NULL;
    tr_log_level level = TR_LOG_LEVEL_INFO;
    char lname[16];
    if (l != NULL && llen < sizeof(lname)) {
        memcpy(lname, l, llen);
        lname[llen] = '\0';
        tr_log_level_parse(lname, &level);
    }
    if (m != NULL)
        tr_log(level, "workflow", "%s: %.*s", tr_wf_plan_node(x->wf->plan, i)->id,
               (int)mlen, m);
}

static void node_succeeded(tr_ctx *ctx, exec *x, uint32_t i)
{
    if (x->wf->preps[i].kind == TR_NODE_LOG)
        log_node(x, i);
    x->st[i] = N_DONE;
    x->terminal++;
    x->done_res[i] = &x->res[i];
    tr__ex_emit_node(ctx, x, i, TR__EV_NODE_COMPLETED);
    const tr_wf_node *node = tr_wf_plan_node(x->wf->plan, i);
    if (x->res[i].skip_dependants) {
        skip_from(ctx, x, i);
    } else {
        for (uint32_t k = 0; k < node->ndependants && !x->over; k++) {
            uint32_t d = node->dependants[k];
            if (x->st[d] == N_PENDING && --x->waiting[d] == 0)
                start_node(ctx, x, d);
        }
    }
    if (x->terminal == x->n)
        finish(ctx, x, TR_EXEC_COMPLETED, UINT32_MAX, NULL);
}

static int breaker_index(const exec *x, uint32_t i) { return x->wf->breaker_of[i]; }

static void attempt_over(tr_ctx *ctx, exec *x, uint32_t i, int rc)
{
    tr__wf *wf = x->wf;
    int bi = breaker_index(x, i);
    x->trial[i] = 0; /* the outcome is reported (or there was no call) */
    if (bi >= 0 && rc != TR_EAGAIN) { /* TR_EAGAIN: refused by the breaker */
        pthread_mutex_lock(&wf->lock);
        if (rc == 0)
            tr_breaker_success(&wf->breakers[bi], tr__wall_ms());
        else
            tr_breaker_failure(&wf->breakers[bi], tr__wall_ms());
        pthread_mutex_unlock(&wf->lock);
    }
    if (rc == 0) {
        node_succeeded(ctx, x, i);
        return;
    }
    const tr_wf_node *node = tr_wf_plan_node(wf->plan, i);
    const tr_config_resilience *res = &x->eng->res;
    int64_t max_attempts =
        node->retry.max_attempts > 0 ? node->retry.max_attempts : res->retry_max_attempts;
    if (tr_error_type_retryable(x->res[i].error_type) && x->attempt[i] < max_attempts) {
        double min_s = node->retry.min_wait_s >= 0 ? node->retry.min_wait_s
                                                   : res->retry_min_wait_seconds;
        double max_s = node->retry.max_wait_s >= 0 ? node->retry.max_wait_s
                                                   : res->retry_max_wait_seconds;
        uint64_t wait = tr_backoff_delay_ms(x->attempt[i], min_s * 1000.0, max_s * 1000.0,
                                            res->retry_exponential_base,
                                            res->retry_jitter, &x->rng);
        x->st[i] = N_WAIT_RETRY;
        tr__ex_emit_retrying(ctx, x, i, wait);
        if (arm(ctx, x, i, EX_F_RETRY, (double)wait) == 0)
            return;
        /* Could not arm the wait: the node fails now. */
    }
    x->st[i] = N_FAILED;
    x->terminal++;
    tr__ex_emit_node(ctx, x, i, TR__EV_NODE_FAILED);
    finish(ctx, x, TR_EXEC_FAILED, i, NULL);
}





/* The kill switch said no: end as halted, naming the reason of whichever
 * controller is the more restrictive -- the bot's own or the global one
 * (a global shutdown outranks a bot halt). */
static void halt_execution(tr_ctx *ctx, exec *x, uint32_t before)
{
    tr_emergency_controller *bot = x->wf->ctl;
    tr_emergency_controller *global = tr_emergency_global(x->eng->em);
    tr_emergency_state bs = TR_EMERGENCY_NORMAL, gs = TR_EMERGENCY_NORMAL;
    tr_emergency_snapshot(bot, &bs, NULL);
    if (bot != global)
        tr_emergency_snapshot(global, &gs, NULL);
    tr_emergency_status st;
    const char *reason = "emergency stop";
    if (tr_emergency_status_get(gs > bs ? global : bot, &st) == 0 &&
        st.halt_reason[0] != '\0')
        reason = st.halt_reason;
    finish(ctx, x, TR_EXEC_HALTED, before, reason);
}

/* A blocking node goes to the pool, with its deadline armed here. */
static void start_blocking(tr_ctx *ctx, exec *x, uint32_t i, double timeout_ms)
{
    const tr__host_type *h = x->wf->host[i];
    tr_node_result *r = &x->res[i];
    tr__job *j = malloc(sizeof(*j));
    int rc = j ? 0 : TR_ENOMEM;
    if (j != NULL) {
        *j = (tr__job){
            .fn = h->fn, .arg = h->arg, .node = tr_wf_plan_node(x->wf->plan, i),
            .in = {.plan = x->wf->plan, .results = x->done_res, .count = x->n},
            .env = {.now_ms = tr__wall_ms()},
            .rt = tr_ctx_runtime(ctx), .reply_to = tr_self(ctx), .done_type = EX_JOB,
            .tag = (int32_t)(((uint32_t)(x->gen[i] & 0xFFFu) << NODE_BITS) | i),
            .corr = x->corr,
        };
        rc = tr__blocking_submit(&x->eng->pool, j);
    }
    if (rc == 0) {
        x->jobs++;
        /* If the deadline cannot be armed, the job's own answer decides. */
        (void)arm(ctx, x, i, EX_F_TIMEOUT, timeout_ms);
        return;
    }
    free(j);
    tr__ex_fail_result(r, rc, "ResourceExhausted");
    snprintf(r->error, sizeof(r->error), "the blocking pool cannot take node '%s': %s",
             tr_wf_plan_node(x->wf->plan, i)->id, tr_strerror(rc));
    attempt_over(ctx, x, i, rc);
}

static void on_job(tr_ctx *ctx, exec *x, const tr_msg *m)
{
    tr__job *j = (tr__job *)(uintptr_t)m->corr_id;
    x->jobs--;
    uint32_t i = (uint32_t)m->status & NODE_MASK;
    uint16_t gen = (uint16_t)((uint32_t)m->status >> NODE_BITS);
    if (!x->over && i < x->n && gen == (uint16_t)(x->gen[i] & 0xFFFu) &&
        x->st[i] == N_RUNNING) {
        disarm(x, i); /* the deadline is moot now */
        memcpy(&x->res[i], &j->res, sizeof(j->res));
        attempt_over(ctx, x, i, j->rc);
    }
    free(j);
    settle(ctx, x);
}

static void start_node(tr_ctx *ctx, exec *x, uint32_t i)
{
    tr__wf *wf = x->wf;
    const tr_wf_node *node = tr_wf_plan_node(wf->plan, i);
    tr_node_result *r = &x->res[i];
    /* Before every node, whatever its category: a halt seen here stops the
     * execution before the node (one atomic load; docs/emergency.md). */
    uint64_t em_version;
    if (tr_emergency_effective(wf->ctl, &em_version) > TR_EMERGENCY_ALERT) {
        halt_execution(ctx, x, i);
        return;
    }
    x->attempt[i]++;
    x->gen[i]++;
    x->st[i] = N_RUNNING;
    x->node_t0[i] = tr__mono_ns();
    x->em_version = em_version;
    tr__ex_emit_node(ctx, x, i, TR__EV_NODE_STARTED);

    int bi = breaker_index(x, i);
    if (bi >= 0) {
        pthread_mutex_lock(&wf->lock);
        int allow = tr_breaker_allow(&wf->breakers[bi], tr__wall_ms());
        x->trial[i] = allow == 0 &&
                      tr_breaker_state_of(&wf->breakers[bi]) == TR_BREAKER_HALF_OPEN;
        pthread_mutex_unlock(&wf->lock);
        if (allow != 0) {
            tr__ex_fail_result(r, TR_EAGAIN, TR_BREAKER_ERROR_TYPE);
            snprintf(r->error, sizeof(r->error), "circuit breaker for '%s' is open",
                     wf->services[bi]);
            attempt_over(ctx, x, i, TR_EAGAIN);
            return;
        }
    }
    double timeout_ms = node->timeout_s > 0 ? node->timeout_s * 1000.0
                                            : x->eng->res.node_timeout_seconds * 1000.0;
    if (wf->host[i] != NULL && node->blocking) {
        start_blocking(ctx, x, i, timeout_ms);
        return;
    }
    int rc = tr__ex_run_node_fn(ctx, x, i, r);
    if (r->hang || r->delay_ms >= timeout_ms) {
        if (arm(ctx, x, i, EX_F_TIMEOUT, timeout_ms) == 0)
            return;
        tr__ex_fail_result(r, TR_ENOMEM, "MemoryError");
        snprintf(r->error, sizeof(r->error), "cannot arm the node's timer");
        attempt_over(ctx, x, i, TR_ENOMEM);
        return;
    }
    if (r->delay_ms > 0) {
        if (arm(ctx, x, i, EX_F_READY, r->delay_ms) == 0)
            return;
        tr__ex_fail_result(r, TR_ENOMEM, "MemoryError");
        snprintf(r->error, sizeof(r->error), "cannot arm the node's timer");
        rc = TR_ENOMEM;
    }
    attempt_over(ctx, x, i, rc);
}

static void on_due(tr_ctx *ctx, exec *x, const tr_msg *m)
{
    x->timers--;
    uint32_t i = (uint32_t)m->status & NODE_MASK;
    uint16_t gen = (uint16_t)((uint32_t)m->status >> NODE_BITS);
    if (i < x->n && gen == (uint16_t)(x->gen[i] & 0xFFFu))
        x->tm_live[i] = 0; /* this is the node's current timer: it fired */
    if (x->over || i >= x->n || gen != (uint16_t)(x->gen[i] & 0xFFFu)) {
        settle(ctx, x);
        return;
    }
    switch (m->flags & EX_F_KIND) {
    case EX_F_READY:
        if (x->st[i] == N_RUNNING)
            attempt_over(ctx, x, i, x->res[i].status);
        break;
    case EX_F_TIMEOUT:
        if (x->st[i] == N_RUNNING) {
            const tr_wf_node *node = tr_wf_plan_node(x->wf->plan, i);
            tr__ex_fail_result(&x->res[i], TR_ETIMEDOUT, "TimeoutError");
            snprintf(x->res[i].error, sizeof(x->res[i].error),
                     "node '%s' timed out after %g s", node->id,
                     node->timeout_s > 0 ? node->timeout_s
                                         : x->eng->res.node_timeout_seconds);
            attempt_over(ctx, x, i, TR_ETIMEDOUT);
        }
        break;
    case EX_F_RETRY:
        if (x->st[i] == N_WAIT_RETRY)
            start_node(ctx, x, i);
        break;
    }
    settle(ctx, x);
}

static void on_start(tr_ctx *ctx, exec *x)
{
    x->t0_ns = tr__mono_ns();
    tr_state_req req = {.wf = x->wf->id, .exec = x->id, .cap = x->eng->history_cap};
    tr__ex_state_write(ctx, x, TR_STATE_MSG_EXEC_BEGIN, &req);
    if (!tr_emergency_can_operate(x->wf->ctl)) { /* refused before it starts */
        halt_execution(ctx, x, UINT32_MAX);
        return;
    }
    tr_buf *b = tr__ev_begin(x->wf, x->id, "execution_started", 1);
    if (b != NULL) {
        tr_mp_write_cstr(b, "node_count");
        tr_mp_write_uint(b, x->n);
        tr__ev_publish(ctx, x->eng, &x->out, b);
    }
    if (x->n == 0) {
        finish(ctx, x, TR_EXEC_COMPLETED, UINT32_MAX, NULL);
        return;
    }
    for (uint32_t i = 0; i < x->n && !x->over; i++)
        if (x->st[i] == N_PENDING && x->waiting[i] == 0)
            start_node(ctx, x, i);
}

static int exec_receive(tr_ctx *ctx, void *state, const tr_msg *m)
{
    exec *x = state;
    const char *prev = tr_log_set_label(x->id);
    if (m->type == EX_START)
        on_start(ctx, x);
    else if (m->type == EX_DUE)
        on_due(ctx, x, m);
    else if (m->type == EX_FLUSH && tr__outbox_flush(&x->out, ctx))
        settle(ctx, x);
    else if (m->type == EX_JOB)
        on_job(ctx, x, m);
    tr_log_set_label(prev);
    return 0;
}

static const tr_actor_ops executor_ops = {
    .state_size = sizeof(exec),
    .init = exec_init,
    .receive = exec_receive,
    .stop = exec_stop,
    .name = "executor",
};

const tr_actor_ops *tr__executor_ops(void) { return &executor_ops; }

/* Called by the engine after spawning. */
int tr__executor_begin(tr_runtime *rt, tr_actor_ref ref, uint64_t corr);
int tr__executor_begin(tr_runtime *rt, tr_actor_ref ref, uint64_t corr)
{
    tr_send_args a = {.type = EX_START, .corr_id = corr};
    return tr_send_msg(rt, ref, &a);
}
