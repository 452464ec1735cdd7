/*
 * codecs/wf_def.c -- workflow definitions: JSON in, problems or a plan out.
 *
 * Pipeline (tr_wf_parse_json):
 *   1. jansson parses the text (duplicate keys refused: a duplicated
 *      "quantity" must not silently win).  Malformed JSON is one problem
 *      carrying jansson's line and column; nothing else is checked.
 *   2. The workflow's own fields, then every node on its own: id, type,
 *      category, timeout, retry, depends_on shape, and config against the
 *      type's schema (wf_config.c, which also compiles expressions).
 *   3. References: each depends_on entry and each node an expression names
 *      must exist; together they are the node's dependencies.
 *   4. wf_plan.c orders the graph, reports every cycle with its path, and
 *      builds the plan only when nothing at all was reported.
 * Every step keeps going after a problem, so one run reports them all.
 * The list form ([{"id":..}, ..]) and the seed plan's map form
 * ({"id": {..}, ..}, order kept as written) go through the same code.
 * The problems list itself is wf_problems.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/wf_internal.h"

#define MAX_FILE_BYTES (16u << 20)
#define MAX_NODES 100000u

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

/* The JSON type's name as problems say it ("expected a string, got array"). */
const char *tr__wf_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

static bool in_list(const char *key, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(key, list[i]) == 0)
            return true;
    return false;
}

/* Report keys of obj not in allowed as "<prefix><key>: unknown field". */
static void unknown_keys(tr__wf_build *b, const char *node, json_t *obj, const char *prefix,
                         const char *const *allowed, const char *also)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (in_list(key, allowed) || (also != NULL && strcmp(key, also) == 0))
            continue;
        char field[160];
        snprintf(field, sizeof field, "%s%.120s", prefix, key);
        tr__wf_problem(&b->rep, node, field, 0, 0, "unknown field");
    }
}

/* An optional string field; NULL when absent or wrong (reported). */
static const char *opt_string(tr__wf_build *b, const char *node, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return NULL;
    if (!json_is_string(v)) {
        tr__wf_problem(&b->rep, node, key, 0, 0, "expected a string, got %s", tr__wf_json_kind(v));
        return NULL;
    }
    return json_string_value(v);
}

static bool workflow_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* A number in (lo, +inf) or [lo, +inf); false (reported) otherwise. */
static bool number_field(tr__wf_build *b, const char *node, const char *field, json_t *v,
                         double lo, bool exclusive, double *out)
{
    if (!json_is_number(v)) {
        tr__wf_problem(&b->rep, node, field, 0, 0, "expected a number, got %s", tr__wf_json_kind(v));
        return false;
    }
    double d = json_number_value(v);
    if (exclusive ? !(d > lo) : !(d >= lo)) {
        tr__wf_problem(&b->rep, node, field, 0, 0, "must be %s %g (got %g)",
                       exclusive ? ">" : ">=", lo, d);
        return false;
    }
    *out = d;
    return true;
}

/* ---------------------------------------------------------------------------
 * Workflow level
 * ------------------------------------------------------------------------ */

static const char *const top_keys[] = {"id", "name", "bot_id", "strategy_id", "description",
                                       "schedule", "nodes", "version", "metadata", NULL};
static const char *const node_keys[] = {"id", "name", "description", "category", "type",
                                        "depends_on", "config", "timeout", "retry", NULL};
static const char *const retry_keys[] = {"max_attempts", "min_wait_seconds",
                                         "max_wait_seconds", NULL};

static void parse_top(tr__wf_build *b)
{
    json_t *root = b->root;
    json_t *id = json_object_get(root, "id");
    if (id == NULL)
        tr__wf_problem(&b->rep, NULL, "id", 0, 0, "required field missing");
    else if (!json_is_string(id))
        tr__wf_problem(&b->rep, NULL, "id", 0, 0, "expected a string, got %s", tr__wf_json_kind(id));
    else if (!workflow_id_ok(json_string_value(id)))
        tr__wf_problem(&b->rep, NULL, "id", 0, 0,
                       "invalid workflow id '%.64s': use 1-128 of [A-Za-z0-9_.-]",
                       json_string_value(id));
    else
        b->id = json_string_value(id);
    b->name = opt_string(b, NULL, root, "name");
    b->bot_id = opt_string(b, NULL, root, "bot_id");
    b->strategy_id = opt_string(b, NULL, root, "strategy_id");
    b->description = opt_string(b, NULL, root, "description");
    json_t *meta = json_object_get(root, "metadata");
    if (meta != NULL && !json_is_object(meta))
        tr__wf_problem(&b->rep, NULL, "metadata", 0, 0, "expected an object, got %s",
                       tr__wf_json_kind(meta));

    json_t *sched = json_object_get(root, "schedule");
    if (sched != NULL && !json_is_object(sched)) {
        tr__wf_problem(&b->rep, NULL, "schedule", 0, 0, "expected an object, got %s",
                       tr__wf_json_kind(sched));
    } else if (sched != NULL) {
        static const char *const sched_keys[] = {"every_ms", NULL};
        unknown_keys(b, NULL, sched, "schedule.", sched_keys, NULL);
        json_t *every = json_object_get(sched, "every_ms");
        if (every == NULL)
            tr__wf_problem(&b->rep, NULL, "schedule.every_ms", 0, 0, "required field missing");
        else if (!json_is_integer(every))
            tr__wf_problem(&b->rep, NULL, "schedule.every_ms", 0, 0,
                           "expected an integer, got %s", tr__wf_json_kind(every));
        else if (json_integer_value(every) <= 0)
            tr__wf_problem(&b->rep, NULL, "schedule.every_ms", 0, 0, "must be > 0 (got %lld)",
                           (long long)json_integer_value(every));
        else
            b->every_ms = (uint64_t)json_integer_value(every);
    }
    unknown_keys(b, NULL, root, "", top_keys, NULL);
}

/* ---------------------------------------------------------------------------
 * One node (first pass: everything but references)
 * ------------------------------------------------------------------------ */

static void parse_retry(tr__wf_build *b, tr__wf_bnode *n, json_t *r)
{
    if (!json_is_object(r)) {
        tr__wf_problem(&b->rep, n->label, "retry", 0, 0, "expected an object, got %s", tr__wf_json_kind(r));
        return;
    }
    unknown_keys(b, n->label, r, "retry.", retry_keys, NULL);
    json_t *v = json_object_get(r, "max_attempts");
    if (v != NULL) {
        if (!json_is_integer(v))
            tr__wf_problem(&b->rep, n->label, "retry.max_attempts", 0, 0,
                           "expected an integer, got %s", tr__wf_json_kind(v));
        else if (json_integer_value(v) < 1 || json_integer_value(v) > 100)
            tr__wf_problem(&b->rep, n->label, "retry.max_attempts", 0, 0,
                           "must be between 1 and 100 (got %lld)",
                           (long long)json_integer_value(v));
        else
            n->retry.max_attempts = (int32_t)json_integer_value(v);
    }
    v = json_object_get(r, "min_wait_seconds");
    if (v != NULL)
        number_field(b, n->label, "retry.min_wait_seconds", v, 0, false, &n->retry.min_wait_s);
    v = json_object_get(r, "max_wait_seconds");
    if (v != NULL)
        number_field(b, n->label, "retry.max_wait_seconds", v, 0, false, &n->retry.max_wait_s);
    if (n->retry.min_wait_s >= 0 && n->retry.max_wait_s >= 0 &&
        n->retry.max_wait_s < n->retry.min_wait_s)
        tr__wf_problem(&b->rep, n->label, "retry.max_wait_seconds", 0, 0,
                       "must be >= retry.min_wait_seconds (%g < %g)", n->retry.max_wait_s,
                       n->retry.min_wait_s);
}

static int parse_node(tr__wf_build *b, json_t *ids, uint32_t idx, json_t *obj,
                      const char *map_key)
{
    tr__wf_bnode *n = &b->nodes[idx];
    n->timeout_s = 0; /* none given: the engine applies its configured default */
    n->retry = (tr_wf_retry){-1, -1, -1};
    n->category = TR_WF_CAT_UTILITIES;
    char *where = n->where;
    snprintf(where, sizeof n->where, "nodes[%u]", (unsigned)idx);
    n->label = map_key ? map_key : where;
    if (!json_is_object(obj)) {
        tr__wf_problem(&b->rep, n->label, NULL, 0, 0,
                       "a node must be an object, got %s", tr__wf_json_kind(obj));
        return 0;
    }

    /* id */
    json_t *idv = json_object_get(obj, "id");
    if (map_key != NULL) {
        n->id = map_key;
        if (idv != NULL && (!json_is_string(idv) || strcmp(json_string_value(idv), map_key)))
            tr__wf_problem(&b->rep, map_key, "id", 0, 0, "does not match the node's key '%s'",
                           map_key);
    } else if (idv == NULL) {
        tr__wf_problem(&b->rep, where, "id", 0, 0, "required field missing");
    } else if (!json_is_string(idv)) {
        tr__wf_problem(&b->rep, where, "id", 0, 0, "expected a string, got %s", tr__wf_json_kind(idv));
    } else {
        n->id = json_string_value(idv);
    }
    if (n->id != NULL) {
        json_t *seen = json_object_get(ids, n->id);
        if (!tr__wf_is_ident(n->id, 128)) {
            tr__wf_problem(&b->rep, n->id, "id", 0, 0,
                           "invalid node id: use letters, digits and '_', not starting "
                           "with a digit, at most 128 (ids appear in expressions)");
        } else if (seen != NULL) {
            tr__wf_problem(&b->rep, n->id, "id", 0, 0,
                           "duplicate node id (first defined as nodes[%lld])",
                           (long long)json_integer_value(seen));
        } else {
            if (json_object_set_new(ids, n->id, json_integer(idx)) != 0)
                return TR_ENOMEM;
            n->usable = true;
        }
    }
    /* problems below name the node by its id, or by its position without one */
    const char *label = n->label = n->id ? n->id : where;

    n->name = opt_string(b, label, obj, "name");
    if (n->name == NULL)
        n->name = n->id;
    opt_string(b, label, obj, "description");

    /* type and category */
    json_t *tv = json_object_get(obj, "type");
    if (tv == NULL) {
        tr__wf_problem(&b->rep, label, "type", 0, 0, "required field missing");
    } else if (!json_is_string(tv)) {
        tr__wf_problem(&b->rep, label, "type", 0, 0, "expected a string, got %s", tr__wf_json_kind(tv));
    } else {
        n->type = tr_node_type_find(b->reg, json_string_value(tv));
        if (n->type == NULL) {
            char known[256];
            tr__node_type_names(b->reg, known, sizeof known);
            tr__wf_problem(&b->rep, label, "type", 0, 0, "unknown node type '%.64s' (known: %s)",
                           json_string_value(tv), known);
        } else {
            n->category = n->type->default_category;
        }
    }
    json_t *cv = json_object_get(obj, "category");
    if (cv != NULL && !json_is_string(cv))
        tr__wf_problem(&b->rep, label, "category", 0, 0, "expected a string, got %s", tr__wf_json_kind(cv));
    else if (cv != NULL && tr_wf_category_parse(json_string_value(cv), &n->category) != 0)
        tr__wf_problem(&b->rep, label, "category", 0, 0,
                       "unknown category '%.64s' (expected one of %s)", json_string_value(cv),
                       tr__wf_category_list());

    /* timeout, retry, depends_on shape */
    json_t *to = json_object_get(obj, "timeout");
    if (to != NULL)
        number_field(b, label, "timeout", to, 0, true, &n->timeout_s);
    json_t *rv = json_object_get(obj, "retry");
    if (rv != NULL)
        parse_retry(b, n, rv);
    json_t *deps = json_object_get(obj, "depends_on");
    if (deps != NULL && !json_is_array(deps))
        tr__wf_problem(&b->rep, label, "depends_on", 0, 0,
                       "expected an array of node ids, got %s", tr__wf_json_kind(deps));

    /* config (and the seed plan's constant shorthand {"type":"constant","value":42}) */
    bool shorthand = n->type != NULL && strcmp(n->type->name, "constant") == 0;
    unknown_keys(b, label, obj, "", node_keys, shorthand ? "value" : NULL);
    json_t *cfg = json_object_get(obj, "config");
    json_t *value = shorthand ? json_object_get(obj, "value") : NULL;
    bool cfg_ok = true;
    if (cfg != NULL && !json_is_object(cfg)) {
        tr__wf_problem(&b->rep, label, "config", 0, 0, "expected an object, got %s", tr__wf_json_kind(cfg));
        cfg_ok = false;
    }
    n->config = cfg_ok && cfg != NULL ? json_copy(cfg) : json_object();
    if (n->config == NULL)
        return TR_ENOMEM;
    if (value != NULL) {
        if (json_object_get(n->config, "value") != NULL)
            tr__wf_problem(&b->rep, label, "value", 0, 0,
                           "given both on the node and in config");
        else if (json_object_set(n->config, "value", value) != 0)
            return TR_ENOMEM;
    }
    if (n->type != NULL && cfg_ok)
        tr__wf_check_config(b, n);
    return b->rep.nomem ? TR_ENOMEM : 0;
}

/* ---------------------------------------------------------------------------
 * References (second pass)
 * ------------------------------------------------------------------------ */

static int add_dep(tr__wf_bnode *n, uint32_t dep)
{
    for (uint32_t i = 0; i < n->ndeps; i++)
        if (n->deps[i] == dep)
            return 0;
    if (n->ndeps == n->capdeps) {
        uint32_t ncap = n->capdeps ? n->capdeps * 2 : 4;
        uint32_t *p = realloc(n->deps, ncap * sizeof *p);
        if (p == NULL)
            return TR_ENOMEM;
        n->deps = p;
        n->capdeps = ncap;
    }
    n->deps[n->ndeps++] = dep;
    return 0;
}

static int resolve(tr__wf_build *b, json_t *ids, tr__wf_bnode *n, json_t *obj)
{
    json_t *deps = json_is_object(obj) ? json_object_get(obj, "depends_on") : NULL;
    if (json_is_array(deps)) {
        size_t i;
        json_t *d;
        json_array_foreach(deps, i, d) {
            char field[40];
            snprintf(field, sizeof field, "depends_on[%zu]", i);
            json_t *at = json_is_string(d) ? json_object_get(ids, json_string_value(d)) : NULL;
            if (!json_is_string(d))
                tr__wf_problem(&b->rep, n->label, field, 0, 0,
                               "expected a node id (string), got %s", tr__wf_json_kind(d));
            else if (at == NULL)
                tr__wf_problem(&b->rep, n->label, field, 0, 0, "unknown node '%.128s'",
                               json_string_value(d));
            else if (n->usable && add_dep(n, (uint32_t)json_integer_value(at)) != 0)
                return TR_ENOMEM;
        }
    }
    for (uint32_t s = 0; s < n->nexprs; s++) {
        const tr_expr *e = n->exprs[s].expr;
        char field[80];
        snprintf(field, sizeof field, "config.%s", n->exprs[s].field);
        for (uint32_t r = 0; r < tr_expr_ref_count(e); r++) {
            const tr_expr_ref *ref = tr_expr_ref_at(e, r);
            json_t *at = json_object_get(ids, ref->node);
            if (at == NULL)
                tr__wf_problem(&b->rep, n->label, field, 0, 0,
                               "unknown node '%s' in reference '%s.%s' at column %u", ref->node,
                               ref->node, ref->output, (unsigned)ref->column);
            else if (n->usable && add_dep(n, (uint32_t)json_integer_value(at)) != 0)
                return TR_ENOMEM;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------ */

static void build_free(tr__wf_build *b)
{
    for (uint32_t i = 0; i < b->nnodes; i++) {
        tr__wf_bnode *n = &b->nodes[i];
        json_decref(n->config);
        free(n->deps);
        for (uint32_t s = 0; s < n->nexprs; s++)
            tr_expr_free(n->exprs[s].expr);
        free(n->exprs);
    }
    free(b->nodes);
    json_decref(b->root);
}

static int parse_nodes(tr__wf_build *b)
{
    json_t *nodes = json_object_get(b->root, "nodes");
    if (nodes == NULL) {
        tr__wf_problem(&b->rep, NULL, "nodes", 0, 0, "required field missing");
        return 0;
    }
    if (!json_is_array(nodes) && !json_is_object(nodes)) {
        tr__wf_problem(&b->rep, NULL, "nodes", 0, 0,
                       "expected an array of nodes or an object of id -> node, got %s",
                       tr__wf_json_kind(nodes));
        return 0;
    }
    size_t count = json_is_array(nodes) ? json_array_size(nodes) : json_object_size(nodes);
    if (count == 0 || count > MAX_NODES) {
        tr__wf_problem(&b->rep, NULL, "nodes", 0, 0, "a workflow needs 1 to %u nodes (got %zu)",
                       MAX_NODES, count);
        return 0;
    }
    b->nodes = calloc(count, sizeof *b->nodes);
    json_t **objs = calloc(count, sizeof *objs);
    json_t *ids = json_object();
    int rc = (b->nodes == NULL || objs == NULL || ids == NULL) ? TR_ENOMEM : 0;
    if (rc == 0) {
        b->nnodes = (uint32_t)count;
        if (json_is_array(nodes)) {
            for (uint32_t i = 0; i < count && rc == 0; i++) {
                objs[i] = json_array_get(nodes, i);
                rc = parse_node(b, ids, i, objs[i], NULL);
            }
        } else {
            const char *key;
            json_t *v;
            uint32_t i = 0;
            json_object_foreach(nodes, key, v) {
                objs[i] = v;
                if (rc == 0)
                    rc = parse_node(b, ids, i, v, key);
                i++;
            }
        }
    }
    for (uint32_t i = 0; rc == 0 && i < b->nnodes; i++)
        rc = resolve(b, ids, &b->nodes[i], objs[i]);
    json_decref(ids);
    free(objs);
    return rc;
}

int tr_wf_parse_json(const tr_node_type_registry *reg, const char *text, size_t len,
                     const char *file, tr_wf_plan **out, tr_wf_problems *probs)
{
    if (reg == NULL || (text == NULL && len > 0) || out == NULL)
        return TR_EINVAL;
    tr__wf_build b = {.reg = reg, .rep = {.probs = probs, .file = file}};
    json_error_t jerr;
    b.root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (b.root == NULL) {
        tr__wf_problem(&b.rep, NULL, NULL, jerr.line > 0 ? (uint32_t)jerr.line : 0,
                       jerr.column > 0 ? (uint32_t)jerr.column : 0, "invalid JSON: %s",
                       jerr.text);
        return TR_EINVAL;
    }
    int rc = 0;
    if (!json_is_object(b.root)) {
        tr__wf_problem(&b.rep, NULL, NULL, 0, 0,
                       "a workflow definition must be a JSON object, got %s", tr__wf_json_kind(b.root));
    } else {
        parse_top(&b);
        rc = parse_nodes(&b);
        if (rc == 0)
            rc = tr__wf_plan_build(&b, out);
    }
    if (rc == 0 && (b.rep.count > 0 || b.rep.nomem))
        rc = b.rep.nomem ? TR_ENOMEM : TR_EINVAL;
    if (rc == TR_ENOMEM)
        tr__wf_problem(&b.rep, NULL, NULL, 0, 0, "out of memory");
    build_free(&b);
    return rc;
}

int tr_wf_parse_file(const tr_node_type_registry *reg, const char *path, tr_wf_plan **out,
                     tr_wf_problems *probs)
{
    if (reg == NULL || path == NULL || out == NULL)
        return TR_EINVAL;
    tr__wf_report rep = {.probs = probs, .file = path};
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        tr__wf_problem(&rep, NULL, NULL, 0, 0, "cannot open: %s", strerror(errno));
        return TR_EIO;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_FILE_BYTES) {
                tr__wf_problem(&rep, NULL, NULL, 0, 0, "file larger than %u bytes",
                               MAX_FILE_BYTES);
                rc = TR_EINVAL;
                break;
            }
            cap = cap ? cap * 2 : 8192;
            char *p = realloc(buf, cap);
            if (p == NULL) {
                rc = TR_ENOMEM;
                break;
            }
            buf = p;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                tr__wf_problem(&rep, NULL, NULL, 0, 0, "cannot read: %s", strerror(errno));
                rc = TR_EIO;
            }
            break;
        }
    }
    fclose(f);
    if (rc == 0)
        rc = tr_wf_parse_json(reg, buf, len, path, out, probs);
    else if (rc == TR_ENOMEM)
        tr__wf_problem(&rep, NULL, NULL, 0, 0, "out of memory");
    free(buf);
    return rc;
}
