/*
 * codecs/wf_config.c -- a node's `config` object against its type's schema,
 * and the three read-only views the plan keeps of it.
 *
 * Checking.  Every declared field is looked up by its dotted path; a present
 * field must have the declared type, range and choice; a required one must
 * be present (a nested one only when its parent object is).  Keys nobody
 * declared are refused at the top level (unless the type is open_config)
 * and inside declared objects that declare children, because a misspelt
 * "quantity" silently falling back to a default is the kind of error a
 * trading system must not have.  EXPR fields are compiled here, once.
 * Every problem is reported; checking never stops at the first.
 *
 * Views (built only for valid plans): the typed scalar leaves
 * (tr_wf_value, for runners), the compact JSON text (events, logs, hosts),
 * and one msgpack map in a tr_payload (to send to a runner actor without
 * re-encoding).  msgpack-c is used directly here so this module does not
 * wait on the codec module.
 */
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/wf_internal.h"

#define CONFIG_MAX_DEPTH 16
#define CONFIG_MAX_PATH 512

/* Walk a dotted path.  *parent_ok: every parent exists and is an object. */
static json_t *lookup_path(json_t *cfg, const char *path, bool *parent_ok)
{
    json_t *cur = cfg;
    const char *p = path;
    *parent_ok = true;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        json_t *v = json_object_getn(cur, p, n);
        if (dot == NULL)
            return v;
        if (v == NULL || !json_is_object(v)) {
            *parent_ok = false;
            return NULL;
        }
        cur = v;
        p = dot + 1;
    }
}

static bool has_children(const tr_node_type *t, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < t->nfields; i++)
        if (strncmp(t->fields[i].name, name, n) == 0 && t->fields[i].name[n] == '.')
            return true;
    return false;
}

static const tr_wf_field *declared(const tr_node_type *t, const char *path)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (strcmp(t->fields[i].name, path) == 0)
            return &t->fields[i];
    return NULL;
}

static void check_bounds(tr__wf_build *b, const tr__wf_bnode *n, const char *field,
                         const tr_wf_field *f, double v, bool is_len)
{
    const char *what = is_len ? "length " : "";
    if (f->has_min && (f->min_exclusive ? !(v > f->min) : !(v >= f->min))) {
        if (is_len && f->min == 1 && !f->min_exclusive)
            tr__wf_problem(&b->rep, n->label, field, 0, 0, "must not be empty");
        else
            tr__wf_problem(&b->rep, n->label, field, 0, 0, "%smust be %s %g (got %g)", what,
                           f->min_exclusive ? ">" : ">=", f->min, v);
    } else if (f->has_max && (f->max_exclusive ? !(v < f->max) : !(v <= f->max))) {
        tr__wf_problem(&b->rep, n->label, field, 0, 0, "%smust be %s %g (got %g)", what,
                       f->max_exclusive ? "<" : "<=", f->max, v);
    }
}

static void check_choices(tr__wf_build *b, const tr__wf_bnode *n, const char *field,
                          const tr_wf_field *f, const char *s)
{
    char list[256] = "";
    size_t len = 0;
    for (size_t i = 0; f->choices[i] != NULL; i++) {
        if (strcmp(f->choices[i], s) == 0)
            return;
        int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", f->choices[i]);
        if (w > 0 && (size_t)w < sizeof list - len)
            len += (size_t)w;
    }
    tr__wf_problem(&b->rep, n->label, field, 0, 0, "must be one of %s (got '%.64s')", list, s);
}

static void compile_expr(tr__wf_build *b, tr__wf_bnode *n, const char *field,
                         const tr_wf_field *f, json_t *v)
{
    tr_expr *e = NULL;
    tr_expr_error err;
    int rc = tr_expr_compile(json_string_value(v), json_string_length(v), &e, &err);
    if (rc == TR_ENOMEM) {
        b->rep.nomem = true;
        return;
    }
    if (rc != 0) {
        tr__wf_problem(&b->rep, n->label, field, 0, 0, "%s", err.message);
        return;
    }
    tr__wf_expr_slot *s = realloc(n->exprs, (n->nexprs + 1) * sizeof *s);
    if (s == NULL) {
        tr_expr_free(e);
        b->rep.nomem = true;
        return;
    }
    n->exprs = s;
    s[n->nexprs++] = (tr__wf_expr_slot){f->name, e};
}

static void check_field(tr__wf_build *b, tr__wf_bnode *n, const tr_wf_field *f, json_t *v)
{
    char field[CONFIG_MAX_PATH + 8];
    snprintf(field, sizeof field, "config.%s", f->name);
    bool ok = true;
    const char *want = NULL;
    switch (f->type) {
    case TR_WF_FIELD_STRING: ok = json_is_string(v); want = "a string"; break;
    case TR_WF_FIELD_EXPR: ok = json_is_string(v); want = "an expression string"; break;
    case TR_WF_FIELD_NUMBER: ok = json_is_number(v); want = "a number"; break;
    case TR_WF_FIELD_BOOL: ok = json_is_boolean(v); want = "true or false"; break;
    case TR_WF_FIELD_OBJECT: ok = json_is_object(v); want = "an object"; break;
    case TR_WF_FIELD_ARRAY: ok = json_is_array(v); want = "an array"; break;
    case TR_WF_FIELD_ANY: ok = !json_is_null(v); want = "a value"; break;
    case TR_WF_FIELD_INT:
        want = "an integer";
        if (json_is_real(v)) {
            double d = json_real_value(v);
            ok = d == floor(d) && fabs(d) < 9.2e18;
        } else {
            ok = json_is_integer(v);
        }
        break;
    }
    if (!ok) {
        tr__wf_problem(&b->rep, n->label, field, 0, 0, "expected %s, got %s", want, tr__wf_json_kind(v));
        return;
    }
    if (f->type == TR_WF_FIELD_NUMBER || f->type == TR_WF_FIELD_INT)
        check_bounds(b, n, field, f, json_number_value(v), false);
    if (f->type == TR_WF_FIELD_STRING || f->type == TR_WF_FIELD_EXPR)
        check_bounds(b, n, field, f, (double)json_string_length(v), true);
    if (f->type == TR_WF_FIELD_STRING && f->choices != NULL)
        check_choices(b, n, field, f, json_string_value(v));
    if (f->type == TR_WF_FIELD_EXPR && json_string_length(v) > 0)
        compile_expr(b, n, field, f, v);
}

/* Unknown keys of obj (whose path is prefix, "" for config itself). */
static void check_keys(tr__wf_build *b, tr__wf_bnode *n, json_t *obj, const char *prefix)
{
    const tr_node_type *t = n->type;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char field[CONFIG_MAX_PATH + 8];
        int w = snprintf(field, sizeof field, "config.%s%s%s", prefix, *prefix ? "." : "", key);
        if (w < 0 || (size_t)w >= sizeof field)
            continue; /* reported by the shape check */
        const char *path = field + 7;
        const tr_wf_field *f = declared(t, path);
        if (f == NULL) {
            if (*prefix != '\0' || !t->open_config)
                tr__wf_problem(&b->rep, n->label, field, 0, 0, "unknown field");
            continue;
        }
        if (f->type == TR_WF_FIELD_OBJECT && json_is_object(v) && has_children(t, path))
            check_keys(b, n, v, path);
    }
}

/* Depth and path length of the config tree (bounds for the views). */
static bool shape_ok(json_t *v, int depth, size_t pathlen)
{
    if (depth > CONFIG_MAX_DEPTH || pathlen > CONFIG_MAX_PATH - 24)
        return false;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c) {
            if (!shape_ok(c, depth + 1, pathlen + strlen(k) + 1))
                return false;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) {
            if (!shape_ok(c, depth + 1, pathlen + 22))
                return false;
        }
    }
    return true;
}

void tr__wf_check_config(tr__wf_build *b, tr__wf_bnode *n)
{
    const tr_node_type *t = n->type;
    if (!shape_ok(n->config, 0, 0)) {
        tr__wf_problem(&b->rep, n->label, "config", 0, 0,
                       "nested too deeply (limit %d levels, %d-byte paths)", CONFIG_MAX_DEPTH,
                       CONFIG_MAX_PATH - 24);
        return;
    }
    for (size_t i = 0; i < t->nfields; i++) {
        const tr_wf_field *f = &t->fields[i];
        bool parent_ok;
        json_t *v = lookup_path(n->config, f->name, &parent_ok);
        if (v != NULL)
            check_field(b, n, f, v);
        else if (f->required && parent_ok) {
            char field[CONFIG_MAX_PATH + 8];
            snprintf(field, sizeof field, "config.%s", f->name);
            tr__wf_problem(&b->rep, n->label, field, 0, 0, "required field missing");
        }
    }
    check_keys(b, n, n->config, "");
    if (t->require_one_of != NULL) {
        char list[256] = "";
        size_t len = 0;
        for (size_t i = 0; t->require_one_of[i] != NULL; i++) {
            bool parent_ok;
            if (lookup_path(n->config, t->require_one_of[i], &parent_ok) != NULL)
                return;
            int w = snprintf(list + len, sizeof list - len, "%s'%s'", i ? " or " : "",
                             t->require_one_of[i]);
            if (w > 0 && (size_t)w < sizeof list - len)
                len += (size_t)w;
        }
        tr__wf_problem(&b->rep, n->label, "config", 0, 0, "a %s node needs %s", t->name, list);
    }
}

/* ---------------------------------------------------------------------------
 * Views
 * ------------------------------------------------------------------------ */

static size_t count_leaves(json_t *v)
{
    size_t n = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c) n += count_leaves(c);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) n += count_leaves(c);
    } else {
        n = 1;
    }
    return n;
}

typedef struct flat {
    struct tr__arena *a;
    tr_wf_value *out;
    uint32_t n;
    char path[CONFIG_MAX_PATH];
} flat;

static int flatten(flat *f, json_t *v, size_t plen)
{
    if (json_is_object(v) || json_is_array(v)) {
        const char *k;
        json_t *c;
        size_t i;
        if (json_is_object(v)) {
            json_object_foreach(v, k, c) {
                snprintf(f->path + plen, sizeof f->path - plen, "%s%s", plen ? "." : "", k);
                if (flatten(f, c, strlen(f->path)) != 0)
                    return TR_ENOMEM;
            }
        } else {
            json_array_foreach(v, i, c) {
                snprintf(f->path + plen, sizeof f->path - plen, "[%zu]", i);
                if (flatten(f, c, strlen(f->path)) != 0)
                    return TR_ENOMEM;
            }
        }
        f->path[plen] = '\0';
        return 0;
    }
    tr_wf_value *o = &f->out[f->n++];
    o->path = tr__arena_strndup(f->a, f->path, plen);
    if (o->path == NULL)
        return TR_ENOMEM;
    switch (json_typeof(v)) {
    case JSON_STRING:
        o->type = TR_WF_V_STRING;
        o->len = json_string_length(v);
        o->u.s = tr__arena_strndup(f->a, json_string_value(v), o->len);
        if (o->u.s == NULL)
            return TR_ENOMEM;
        break;
    case JSON_INTEGER: o->type = TR_WF_V_INT; o->u.i = json_integer_value(v); break;
    case JSON_REAL: o->type = TR_WF_V_REAL; o->u.d = json_real_value(v); break;
    case JSON_TRUE: o->type = TR_WF_V_BOOL; o->u.b = true; break;
    case JSON_FALSE: o->type = TR_WF_V_BOOL; o->u.b = false; break;
    default: o->type = TR_WF_V_NULL; break;
    }
    return 0;
}

static int pack(msgpack_packer *pk, json_t *v)
{
    int rc = 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *c;
        rc = msgpack_pack_map(pk, json_object_size(v));
        json_object_foreach(v, k, c) {
            size_t kl = strlen(k);
            if (rc == 0)
                rc = msgpack_pack_str(pk, kl);
            if (rc == 0)
                rc = msgpack_pack_str_body(pk, k, kl);
            if (rc == 0)
                rc = pack(pk, c);
        }
        return rc;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *c;
        rc = msgpack_pack_array(pk, json_array_size(v));
        json_array_foreach(v, i, c) {
            if (rc == 0)
                rc = pack(pk, c);
        }
        return rc;
    }
    case JSON_STRING:
        rc = msgpack_pack_str(pk, json_string_length(v));
        return rc ? rc : msgpack_pack_str_body(pk, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return msgpack_pack_int64(pk, json_integer_value(v));
    case JSON_REAL: return msgpack_pack_double(pk, json_real_value(v));
    case JSON_TRUE: return msgpack_pack_true(pk);
    case JSON_FALSE: return msgpack_pack_false(pk);
    default: return msgpack_pack_nil(pk);
    }
}

int tr__wf_config_views(struct tr__arena *a, json_t *config, tr_wf_node *out)
{
    size_t n = count_leaves(config);
    if (json_object_size(config) == 0)
        n = 0;
    flat f = {.a = a, .n = 0};
    f.out = n ? tr__arena_alloc(a, n * sizeof(tr_wf_value)) : NULL;
    if (n && f.out == NULL)
        return TR_ENOMEM;
    f.path[0] = '\0';
    if (n && flatten(&f, config, 0) != 0)
        return TR_ENOMEM;
    out->config = f.out;
    out->nconfig = f.n;

    char *text = json_dumps(config, JSON_COMPACT);
    if (text == NULL)
        return TR_ENOMEM;
    out->config_json_len = strlen(text);
    out->config_json = tr__arena_strndup(a, text, out->config_json_len);
    free(text);
    if (out->config_json == NULL)
        return TR_ENOMEM;

    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int rc = pack(&pk, config);
    out->config_msgpack = rc == 0 ? tr_payload_copy(sb.data, sb.size) : NULL;
    msgpack_sbuffer_destroy(&sb);
    return out->config_msgpack != NULL ? 0 : TR_ENOMEM;
}

/* ---------------------------------------------------------------------------
 * Typed access
 * ------------------------------------------------------------------------ */

const tr_wf_value *tr_wf_node_cfg(const tr_wf_node *node, const char *path)
{
    if (node == NULL || path == NULL)
        return NULL;
    for (uint32_t i = 0; i < node->nconfig; i++)
        if (strcmp(node->config[i].path, path) == 0)
            return &node->config[i];
    return NULL;
}

int tr_wf_node_cfg_number(const tr_wf_node *node, const char *path, double *out)
{
    const tr_wf_value *v = tr_wf_node_cfg(node, path);
    if (v == NULL)
        return TR_ENOENT;
    if (v->type == TR_WF_V_INT)
        *out = (double)v->u.i;
    else if (v->type == TR_WF_V_REAL)
        *out = v->u.d;
    else
        return TR_EINVAL;
    return 0;
}

int tr_wf_node_cfg_int(const tr_wf_node *node, const char *path, int64_t *out)
{
    const tr_wf_value *v = tr_wf_node_cfg(node, path);
    if (v == NULL)
        return TR_ENOENT;
    if (v->type == TR_WF_V_INT)
        *out = v->u.i;
    else if (v->type == TR_WF_V_REAL && v->u.d == floor(v->u.d) && fabs(v->u.d) < 9.2e18)
        *out = (int64_t)v->u.d;
    else
        return TR_EINVAL;
    return 0;
}

int tr_wf_node_cfg_bool(const tr_wf_node *node, const char *path, bool *out)
{
    const tr_wf_value *v = tr_wf_node_cfg(node, path);
    if (v == NULL)
        return TR_ENOENT;
    if (v->type != TR_WF_V_BOOL)
        return TR_EINVAL;
    *out = v->u.b;
    return 0;
}

int tr_wf_node_cfg_string(const tr_wf_node *node, const char *path, const char **out)
{
    const tr_wf_value *v = tr_wf_node_cfg(node, path);
    if (v == NULL)
        return TR_ENOENT;
    if (v->type != TR_WF_V_STRING)
        return TR_EINVAL;
    *out = v->u.s;
    return 0;
}
