/*
 * actors/nodes/node_basic.c -- the built-in types with no state of their own:
 * constant, math, condition and log (delay is one line in node_run.c).
 *
 * constant   every scalar leaf of config.value / config.outputs becomes an
 *            output; names and strings are borrowed from the plan.
 * math       node->expr evaluated over upstream numeric outputs -> `value`.
 * condition  the same -> `value` (1/0, an integer) and `passed` (bool); a
 *            false condition sets skip_dependants.
 * log        config.message with {node.output} placeholders substituted from
 *            upstream results into the result's text buffer; outputs
 *            `message` and `level` for the executor to log.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/nodes/nodes_internal.h"

/* ---------------------------------------------------------------------------
 * constant
 * ------------------------------------------------------------------------ */

static int add_value(tr_node_result *out, const char *name, const tr_wf_value *v)
{
    switch (v->type) {
    case TR_WF_V_BOOL: return tr__node_add_bool(out, name, v->u.b);
    case TR_WF_V_INT: return tr__node_add_int(out, name, v->u.i);
    case TR_WF_V_REAL: return tr__node_add_num(out, name, v->u.d);
    case TR_WF_V_STRING: return tr__node_add_str(out, name, v->u.s, v->len);
    case TR_WF_V_NULL:
    default: return 0; /* a JSON null has no output */
    }
}

int tr__node_run_constant(const tr_wf_node *node, tr_node_result *out)
{
    for (uint32_t i = 0; i < node->nconfig; i++) {
        const tr_wf_value *v = &node->config[i];
        const char *name = NULL;
        if (strcmp(v->path, "value") == 0 || strncmp(v->path, "value.", 6) == 0 ||
            strncmp(v->path, "value[", 6) == 0)
            name = v->path;
        else if (strncmp(v->path, "outputs.", 8) == 0)
            name = v->path + 8;
        if (name == NULL)
            continue;
        if (add_value(out, name, v) != 0)
            return tr__node_fail(out, TR_ELIMIT, "ValueError",
                                 "more than %d outputs", TR_NODE_MAX_OUTPUTS);
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * math, condition
 * ------------------------------------------------------------------------ */

static int lookup(void *arg, const tr_expr_ref *ref, uint32_t ref_index, double *out)
{
    (void)ref_index;
    return tr__node_input_num(arg, ref->node_index, ref->output, out);
}

int tr__node_run_expr(const tr_node_prep *p, const tr_node_inputs *in, tr_node_result *out)
{
    const tr_expr *e = p->node->expr;
    if (e == NULL)
        return tr__node_fail(out, TR_EINVAL, "ValueError", "node has no expression");
    double v = 0;
    tr_expr_fault f;
    int rc = tr_expr_eval(e, lookup, (void *)(uintptr_t)in, &v, &f);
    if (rc != 0) {
        const tr_expr_ref *r = f.ref_index >= 0 ? tr_expr_ref_at(e, (uint32_t)f.ref_index) : NULL;
        const char *type = rc == TR_ENOENT ? "KeyError"
                           : strstr(f.message, "division") ? "ZeroDivisionError"
                                                           : "ArithmeticError";
        if (r != NULL)
            return tr__node_fail(out, rc, type, "%s '%s.%s' at column %u", f.message, r->node,
                                 r->output, f.column);
        return tr__node_fail(out, rc, type, "%s at column %u", f.message, f.column);
    }
    if (p->kind == TR_NODE_MATH) {
        tr__node_add_num(out, "value", v);
    } else {
        bool passed = v != 0.0;
        tr__node_add_int(out, "value", passed ? 1 : 0);
        tr__node_add_bool(out, "passed", passed);
        out->skip_dependants = !passed;
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * log
 * ------------------------------------------------------------------------ */

typedef struct text {
    char *p;
    size_t len, cap; /* cap excludes the NUL */
    bool truncated;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (n > t->cap - t->len) {
        n = t->cap - t->len;
        t->truncated = true;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

/* Shortest of %.15g / %.17g that reads back exactly. */
static void put_double(text *t, double v)
{
    char b[40];
    int n = snprintf(b, sizeof b, "%.15g", v);
    if (strtod(b, NULL) != v)
        n = snprintf(b, sizeof b, "%.17g", v);
    put(t, b, (size_t)n);
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

/* Substitute {id.output} (or {id}: id.value) at s[0..n), s[0] == '{'.
 * Returns the bytes consumed, or 0 when it is not a resolvable placeholder. */
static size_t placeholder(text *t, const char *s, size_t n, const tr_node_inputs *in)
{
    size_t i = 1, dot = 0;
    for (; i < n; i++) {
        if (s[i] == '.' && dot == 0 && i > 1)
            dot = i;
        else if (!ident_char(s[i]))
            break;
    }
    if (i >= n || s[i] != '}' || i == 1 || dot == i - 1)
        return 0;
    char id[129], name[129];
    size_t idlen = (dot ? dot : i) - 1;
    size_t outlen = dot ? i - dot - 1 : 5;
    if (idlen >= sizeof id || outlen >= sizeof name || in == NULL || in->plan == NULL ||
        in->results == NULL)
        return 0;
    memcpy(id, s + 1, idlen);
    id[idlen] = '\0';
    memcpy(name, dot ? s + dot + 1 : "value", outlen);
    name[outlen] = '\0';
    const tr_wf_node *src = tr_wf_plan_find(in->plan, id);
    if (src == NULL || src->index >= in->count)
        return 0;
    const tr_node_result *r = in->results[src->index];
    const tr_node_output *o = tr_node_result_find(r, name);
    if (o == NULL)
        return 0;
    switch (o->kind) {
    case TR_NODE_OUT_INT: {
        char b[24];
        int len = snprintf(b, sizeof b, "%" PRId64, o->i);
        put(t, b, (size_t)len);
        break;
    }
    case TR_NODE_OUT_BOOL: put(t, o->i ? "true" : "false", o->i ? 4 : 5); break;
    case TR_NODE_OUT_STRING: {
        size_t len = 0;
        const char *str = tr_node_output_str(r, o, &len);
        put(t, str, len);
        break;
    }
    case TR_NODE_OUT_NUMBER:
    default: put_double(t, o->num); break;
    }
    return i + 1;
}

int tr__node_run_log(const tr_node_prep *p, const tr_node_inputs *in, tr_node_result *out)
{
    const char *m = p->u.log.message;
    size_t n = p->u.log.message_len;
    const char *level = p->u.log.level;
    if (memchr(m, '{', n) == NULL) { /* nothing to substitute: borrow the plan's */
        tr__node_add_str(out, "message", m, n);
    } else {
        text t = {out->text, 0, TR_NODE_TEXT_MAX - 1, false};
        for (size_t i = 0; i < n;) {
            size_t used = m[i] == '{' ? placeholder(&t, m + i, n - i, in) : 0;
            if (used) {
                i += used;
                continue;
            }
            const char *next = memchr(m + i + 1, '{', n - i - 1);
            size_t run = next ? (size_t)(next - (m + i)) : n - i;
            put(&t, m + i, run);
            i += run;
        }
        t.p[t.len] = '\0';
        out->text_len = (uint32_t)t.len + 1;
        tr__node_add_str(out, "message", NULL, t.len);
        out->outputs[out->noutputs - 1].str_off = 0; /* text[0..len) */
    }
    tr__node_add_str(out, "level", level, strlen(level));
    return 0;
}
