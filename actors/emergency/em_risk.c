/*
 * actors/emergency/em_risk.c -- risk limits and the status of a controller.
 *
 * DESIGN
 *
 * Each controller keeps a small array of limits (name, last value, bound,
 * utilization, exceeded), seeded with the three built-ins so the status
 * always lists them, grown when a new name is checked.  It lives under the
 * controller's mutex: a check is a lock, a linear scan of a handful of
 * names and a store -- tens of nanoseconds, fine for a per-trade check, not
 * meant for a per-node one (that is what the inline can_trade is for).
 *
 * Rules (also in docs/emergency.md): built-ins take their bound from the
 * configuration and ignore the caller's `limit`, so no caller can loosen
 * them; daily_loss is exceeded strictly below its (negative) bound, every
 * other limit strictly above its bound; equal is within.  NaN anywhere is
 * exceeded (fail closed).  Exceeding with auto_halt halts the controller
 * through the ordinary transition (event, persistence and all).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/emergency/emergency_internal.h"
#include "troupe/codec.h"
#include "troupe/log.h"

enum { L_DAILY_LOSS, L_POSITION, L_DRAWDOWN, L_CUSTOM };
static const char *const builtin_names[] = {
    "daily_loss", "max_position_size", "max_drawdown_percent"};

static int builtin(const char *name)
{
    for (int i = 0; i < L_CUSTOM; i++)
        if (strcmp(name, builtin_names[i]) == 0)
            return i;
    return L_CUSTOM;
}

static double configured(const tr_emergency *em, int kind)
{
    switch (kind) {
    case L_DAILY_LOSS: return em->limits.daily_loss_limit;
    case L_POSITION: return em->limits.max_position_size;
    default: return em->limits.max_drawdown_percent;
    }
}

static tr__em_limit *find(tr_emergency_controller *ctl, const char *name,
                          bool add)
{
    for (size_t i = 0; i < ctl->nlimits; i++)
        if (strcmp(ctl->limits[i].name, name) == 0)
            return &ctl->limits[i];
    if (!add)
        return NULL;
    if (ctl->nlimits == ctl->caplimits) {
        size_t cap = ctl->caplimits ? ctl->caplimits * 2 : 4;
        tr__em_limit *l = realloc(ctl->limits, cap * sizeof(*l));
        if (!l)
            return NULL;
        ctl->limits = l;
        ctl->caplimits = cap;
    }
    tr__em_limit *l = &ctl->limits[ctl->nlimits++];
    memset(l, 0, sizeof(*l));
    tr__em_copy(l->name, sizeof(l->name), name);
    return l;
}

int tr__em_limits_seed(tr_emergency_controller *ctl)
{
    for (int i = 0; i < L_CUSTOM; i++) {
        tr__em_limit *l = find(ctl, builtin_names[i], true);
        if (!l)
            return TR_ENOMEM;
        l->limit = configured(ctl->em, i);
    }
    return 0;
}

int tr_emergency_check_risk_limit(tr_emergency_controller *ctl,
                                  const char *name, double value, double limit,
                                  bool auto_halt, tr_emergency_risk_result *out)
{
    tr__em_clear_error();
    tr_emergency_risk_result local;
    if (!out)
        out = &local;
    memset(out, 0, sizeof(*out));
    size_t nlen = name ? strlen(name) : 0;
    if (!ctl || nlen == 0 || nlen >= TR_EMERGENCY_LIMIT_NAME_MAX)
        return tr__em_fail(TR_EINVAL, "emergency: risk limit name must be "
                           "1..%d bytes", TR_EMERGENCY_LIMIT_NAME_MAX - 1);
    int kind = builtin(name);
    double bound = kind == L_CUSTOM ? limit : configured(ctl->em, kind);
    bool below = kind == L_DAILY_LOSS;
    bool exceeded = isnan(value) || isnan(bound) ||
                    (below ? value < bound : value > bound);
    double util;
    if (below)
        util = !(value < 0) ? 0.0 : bound != 0 ? value / bound : INFINITY;
    else
        util = bound != 0 ? value / bound : value > 0 ? INFINITY : 0.0;
    if (isnan(value) || isnan(bound))
        util = NAN;
    out->exceeded = exceeded;
    out->value = value;
    out->limit = bound;
    out->utilization = util;
    if (exceeded) {
        tr__em_copy(out->error_type, sizeof(out->error_type),
                    "RiskLimitExceeded");
        snprintf(out->message, sizeof(out->message),
                 "risk limit %s exceeded on controller %s: value %.10g is %s "
                 "the limit %.10g", name, ctl->id, value,
                 isnan(value) || isnan(bound) ? "not comparable with"
                 : below                      ? "below"
                                              : "above", bound);
    }

    pthread_mutex_lock(&ctl->mu);
    tr__em_limit *l = find(ctl, name, true);
    if (l) {
        l->value = value;
        l->limit = bound;
        l->utilization = util;
        l->exceeded = exceeded;
    }
    pthread_mutex_unlock(&ctl->mu);

    if (exceeded && auto_halt) {
        tr_emergency_state before;
        tr_emergency_snapshot(ctl, &before, NULL);
        int hrc = tr_emergency_halt(ctl, out->message);
        out->halted = hrc == 0 && before < TR_EMERGENCY_HALT;
        if (hrc != 0)
            tr_log(TR_LOG_LEVEL_WARN, TR__EM_MODULE,
                   "controller %s: auto-halt after %s not applied: %s",
                   ctl->id, name, tr_emergency_last_error());
    }
    if (exceeded)
        return tr__em_fail(TR_ELIMIT, "%s", out->message);
    return l ? 0 : TR_ENOMEM;
}

/* ---------------------------------------------------------------------------
 * Status
 * ------------------------------------------------------------------------ */

int tr_emergency_status_get(tr_emergency_controller *ctl,
                            tr_emergency_status *out)
{
    if (!ctl || !out)
        return TR_EINVAL;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&ctl->mu);
    tr_emergency_snapshot(ctl, &out->state, &out->version);
    out->effective = tr_emergency_effective(ctl, NULL);
    out->can_trade = out->effective <= TR_EMERGENCY_ALERT;
    out->can_operate = out->effective != TR_EMERGENCY_SHUTDOWN;
    out->updated_ms = ctl->updated_ms;
    tr__em_copy(out->controller_id, sizeof(out->controller_id), ctl->id);
    tr__em_copy(out->reason, sizeof(out->reason), ctl->reason);
    tr__em_copy(out->halt_reason, sizeof(out->halt_reason), ctl->halt_reason);
    pthread_mutex_unlock(&ctl->mu);
    return 0;
}

static void kv_str(tr_buf *b, const char *k, const char *v)
{
    tr_mp_write_cstr(b, k);
    tr_mp_write_cstr(b, v);
}

int tr_emergency_status_json(tr_emergency_controller *ctl, char **json,
                             size_t *len)
{
    if (!ctl || !json)
        return TR_EINVAL;
    tr_buf mp, js;
    tr_buf_init(&mp);
    tr_buf_init(&js);
    char ts[TR__EM_TS_MAX];
    pthread_mutex_lock(&ctl->mu);
    tr_emergency_state own, eff;
    uint64_t version;
    tr_emergency_snapshot(ctl, &own, &version);
    eff = tr_emergency_effective(ctl, NULL);
    tr_emergency_state glob = own;
    if (ctl->head.global)
        tr_emergency_snapshot((const tr_emergency_controller *)(const void *)
                                  ctl->head.global, &glob, NULL);
    uint32_t pairs = 11 + (ctl->context ? 1 : 0) +
                     (ctl->persist_error[0] ? 1 : 0);
    tr_mp_write_map(&mp, pairs);
    kv_str(&mp, "controller_id", ctl->id);
    kv_str(&mp, "state", tr_emergency_state_name(own));
    kv_str(&mp, "effective_state", tr_emergency_state_name(eff));
    kv_str(&mp, "global_state", tr_emergency_state_name(glob));
    tr_mp_write_cstr(&mp, "can_trade");
    tr_mp_write_bool(&mp, eff <= TR_EMERGENCY_ALERT);
    tr_mp_write_cstr(&mp, "can_operate");
    tr_mp_write_bool(&mp, eff != TR_EMERGENCY_SHUTDOWN);
    tr_mp_write_cstr(&mp, "halt_reason");
    if (own >= TR_EMERGENCY_HALT)
        tr_mp_write_cstr(&mp, ctl->halt_reason);
    else
        tr_mp_write_nil(&mp);
    kv_str(&mp, "reason", ctl->reason);
    tr_mp_write_cstr(&mp, "version");
    tr_mp_write_uint(&mp, version);
    tr__em_iso8601(ctl->updated_ms, ts);
    kv_str(&mp, "updated_at", ts);
    if (ctl->context) {
        tr_mp_write_cstr(&mp, "context");
        if (tr_json_to_mp(&mp, ctl->context, strlen(ctl->context), NULL) != 0)
            tr_mp_write_nil(&mp);
    }
    if (ctl->persist_error[0])
        kv_str(&mp, "persist_error", ctl->persist_error);
    tr_mp_write_cstr(&mp, "risk_limits");
    tr_mp_write_map(&mp, (uint32_t)ctl->nlimits);
    for (size_t i = 0; i < ctl->nlimits; i++) {
        const tr__em_limit *l = &ctl->limits[i];
        tr_mp_write_cstr(&mp, l->name);
        tr_mp_write_map(&mp, 4);
        tr_mp_write_cstr(&mp, "value");
        tr_mp_write_double(&mp, l->value);
        tr_mp_write_cstr(&mp, "limit");
        tr_mp_write_double(&mp, l->limit);
        tr_mp_write_cstr(&mp, "utilization");
        tr_mp_write_double(&mp, l->utilization); /* NaN/inf print null */
        tr_mp_write_cstr(&mp, "exceeded");
        tr_mp_write_bool(&mp, l->exceeded);
    }
    pthread_mutex_unlock(&ctl->mu);
    int rc = tr_buf_error(&mp);
    if (rc == 0)
        rc = tr_json_from_mp(&js, mp.data, mp.len, NULL);
    const char *text = rc == 0 ? tr_buf_cstr(&js) : NULL;
    if (rc == 0 && !text)
        rc = TR_ENOMEM;
    if (rc == 0) {
        *json = strdup(text);
        if (!*json)
            rc = TR_ENOMEM;
        else if (len)
            *len = js.len;
    }
    tr_buf_fini(&mp);
    tr_buf_fini(&js);
    return rc;
}
