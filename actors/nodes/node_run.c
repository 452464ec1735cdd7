/*
 * actors/nodes/node_run.c -- the uniform entry points of the built-in node
 * types: type lookup, preparation (config resolved once per plan node),
 * dispatch, and the tr_node_result helpers.
 *
 * Design
 * ------
 * The executor calls tr_node_prepare once per node when it loads a plan and
 * keeps the tr_node_prep array beside the plan; every run is then
 * tr_node_run(prep, inputs, env, result): a switch on the type, config values
 * already in the prep, outputs written into the caller's result with static
 * or plan-owned names.  No allocation, no JSON, no locks.  The result is
 * relocatable (strings of its own are offsets into its text buffer), so an
 * executor may copy it into its per-execution storage or a message.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "actors/nodes/nodes_internal.h"

static const struct {
    const char *name;
    tr_node_builtin kind;
} builtin_names[] = {
    {"constant", TR_NODE_CONSTANT}, {"price_feed", TR_NODE_PRICE_FEED},
    {"math", TR_NODE_MATH},         {"condition", TR_NODE_CONDITION},
    {"trade", TR_NODE_TRADE},       {"delay", TR_NODE_DELAY},
    {"log", TR_NODE_LOG},
};

tr_node_builtin tr_node_builtin_of(const char *type_name)
{
    if (type_name == NULL)
        return TR_NODE_NONE;
    for (size_t i = 0; i < sizeof builtin_names / sizeof builtin_names[0]; i++)
        if (strcmp(type_name, builtin_names[i].name) == 0)
            return builtin_names[i].kind;
    return TR_NODE_NONE;
}

/* ---------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------ */

void tr__node_begin(tr_node_result *out)
{
    out->status = 0;
    out->error_type = NULL;
    out->delay_ms = 0;
    out->hang = false;
    out->skip_dependants = false;
    out->noutputs = 0;
    out->error[0] = '\0';
    out->text_len = 0;
}

int tr__node_fail(tr_node_result *out, int code, const char *error_type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof out->error, fmt, ap);
    va_end(ap);
    out->status = code;
    out->error_type = error_type;
    out->noutputs = 0;
    out->skip_dependants = false;
    return code;
}

static tr_node_output *add(tr_node_result *out, const char *name, tr_node_out_kind kind)
{
    if (out->noutputs >= TR_NODE_MAX_OUTPUTS)
        return NULL;
    tr_node_output *o = &out->outputs[out->noutputs++];
    o->name = name;
    o->kind = kind;
    o->str = NULL;
    o->str_len = 0;
    o->str_off = 0;
    o->i = 0;
    return o;
}

int tr__node_add_num(tr_node_result *out, const char *name, double v)
{
    tr_node_output *o = add(out, name, TR_NODE_OUT_NUMBER);
    if (o == NULL)
        return TR_ELIMIT;
    o->num = v;
    return 0;
}

int tr__node_add_int(tr_node_result *out, const char *name, int64_t v)
{
    tr_node_output *o = add(out, name, TR_NODE_OUT_INT);
    if (o == NULL)
        return TR_ELIMIT;
    o->i = v;
    o->num = (double)v;
    return 0;
}

int tr__node_add_bool(tr_node_result *out, const char *name, bool v)
{
    tr_node_output *o = add(out, name, TR_NODE_OUT_BOOL);
    if (o == NULL)
        return TR_ELIMIT;
    o->i = v;
    o->num = v ? 1.0 : 0.0;
    return 0;
}

int tr__node_add_str(tr_node_result *out, const char *name, const char *s, size_t len)
{
    tr_node_output *o = add(out, name, TR_NODE_OUT_STRING);
    if (o == NULL)
        return TR_ELIMIT;
    o->num = NAN;
    o->str = s;
    o->str_len = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
    return 0;
}

const tr_node_output *tr_node_result_find(const tr_node_result *r, const char *name)
{
    if (r == NULL || name == NULL || r->status != 0)
        return NULL;
    for (uint32_t i = 0; i < r->noutputs; i++)
        if (strcmp(r->outputs[i].name, name) == 0)
            return &r->outputs[i];
    return NULL;
}

const char *tr_node_output_str(const tr_node_result *r, const tr_node_output *o, size_t *len)
{
    if (o == NULL || o->kind != TR_NODE_OUT_STRING)
        return NULL;
    if (len != NULL)
        *len = o->str_len;
    if (o->str != NULL)
        return o->str;
    return r != NULL ? r->text + o->str_off : NULL;
}

void tr_node_result_write_outputs(tr_buf *b, const tr_node_result *r)
{
    uint32_t n = r->status == 0 ? r->noutputs : 0;
    tr_mp_write_map(b, n);
    for (uint32_t i = 0; i < n; i++) {
        const tr_node_output *o = &r->outputs[i];
        tr_mp_write_cstr(b, o->name);
        switch (o->kind) {
        case TR_NODE_OUT_INT: tr_mp_write_int(b, o->i); break;
        case TR_NODE_OUT_BOOL: tr_mp_write_bool(b, o->i != 0); break;
        case TR_NODE_OUT_STRING: {
            size_t len = 0;
            const char *s = tr_node_output_str(r, o, &len);
            tr_mp_write_str(b, s, len);
            break;
        }
        case TR_NODE_OUT_NUMBER:
        default: tr_mp_write_double(b, o->num); break;
        }
    }
}

int tr__node_input_num(const tr_node_inputs *in, uint32_t index, const char *name, double *v)
{
    if (in == NULL || in->results == NULL || index >= in->count)
        return TR_ENOENT;
    const tr_node_output *o = tr_node_result_find(in->results[index], name);
    if (o == NULL || o->kind == TR_NODE_OUT_STRING)
        return TR_ENOENT;
    *v = o->num;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Preparation and dispatch
 * ------------------------------------------------------------------------ */

int tr_node_prepare(const tr_wf_plan *plan, const tr_wf_node *node, tr_node_prep *out)
{
    if (node == NULL || out == NULL)
        return TR_EINVAL;
    tr_node_builtin kind = tr_node_builtin_of(node->type);
    if (kind == TR_NODE_NONE)
        return TR_ENOENT;
    tr_node_prep p;
    memset(&p, 0, sizeof p);
    p.node = node;
    p.kind = kind;
    int rc = 0;
    switch (kind) {
    case TR_NODE_PRICE_FEED: rc = tr__node_prepare_feed(node, &p); break;
    case TR_NODE_TRADE: rc = tr__node_prepare_trade(plan, node, &p); break;
    case TR_NODE_DELAY:
        if (tr_wf_node_cfg_number(node, "ms", &p.u.delay.ms) != 0 || !(p.u.delay.ms >= 0))
            p.u.delay.ms = 0; /* validation requires ms >= 0 */
        break;
    case TR_NODE_LOG:
        if (tr_wf_node_cfg_string(node, "message", &p.u.log.message) != 0)
            p.u.log.message = "";
        p.u.log.message_len = strlen(p.u.log.message);
        if (tr_wf_node_cfg_string(node, "level", &p.u.log.level) != 0)
            p.u.log.level = "info";
        break;
    default:
        break; /* constant reads its leaves at run time; math/condition: node->expr */
    }
    if (rc != 0)
        return rc;
    *out = p;
    return 0;
}

int tr_node_run(const tr_node_prep *p, const tr_node_inputs *in, tr_node_env *env,
                tr_node_result *out)
{
    if (out == NULL)
        return TR_EINVAL;
    tr__node_begin(out);
    if (p == NULL || p->node == NULL)
        return tr__node_fail(out, TR_EINVAL, "ValueError", "no node");
    switch (p->kind) {
    case TR_NODE_CONSTANT:
        return tr__node_run_constant(p->node, out);
    case TR_NODE_PRICE_FEED:
        if (env == NULL)
            return tr__node_fail(out, TR_EINVAL, "ValueError", "no environment");
        return tr__node_run_feed(p, env, out);
    case TR_NODE_MATH:
    case TR_NODE_CONDITION:
        return tr__node_run_expr(p, in, out);
    case TR_NODE_TRADE:
        if (env == NULL)
            return tr__node_fail(out, TR_EINVAL, "ValueError", "no environment");
        return tr__node_run_trade(p, in, env, out);
    case TR_NODE_DELAY:
        out->delay_ms = p->u.delay.ms;
        return 0;
    case TR_NODE_LOG:
        return tr__node_run_log(p, in, out);
    case TR_NODE_NONE:
    default:
        break;
    }
    return tr__node_fail(out, TR_ENOENT, "ValueError", "node type '%s' is not built in",
                         p->node->type);
}

int tr_node_run_builtin(const tr_wf_node *node, const tr_node_inputs *in, tr_node_env *env,
                        tr_node_result *out)
{
    if (out == NULL)
        return TR_EINVAL;
    tr_node_prep p;
    int rc = tr_node_prepare(in != NULL ? in->plan : NULL, node, &p);
    if (rc != 0) {
        tr__node_begin(out);
        if (rc == TR_ENOENT)
            return tr__node_fail(out, rc, "ValueError", "node type '%s' is not built in",
                                 node->type);
        return tr__node_fail(out, rc, "ValueError", "cannot prepare node: %s",
                             tr_strerror(rc));
    }
    return tr_node_run(&p, in, env, out);
}
