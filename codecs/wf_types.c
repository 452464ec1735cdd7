/*
 * codecs/wf_types.c -- node categories, the node-type registry, and the
 * built-in node types' config schemas.
 *
 * Design.  The registry is a growable array of borrowed descriptors
 * (tr_node_type is caller-owned, normally static const), looked up by name
 * with a linear scan: registries hold tens of types and lookups happen at
 * validation time only, never per execution.  Registration checks a
 * descriptor completely before adding it, so a bad descriptor is refused
 * whole and the registry is unchanged.
 *
 * The built-in schemas below are the single source of truth for their config
 * fields; docs/workflows.md describes them and the node runners read them
 * through tr_wf_node_cfg_* with the defaults documented there.
 */
#include <stdlib.h>
#include <string.h>

#include "codecs/wf_internal.h"

/* ---------------------------------------------------------------------------
 * Categories
 * ------------------------------------------------------------------------ */

static const char *const category_names[TR_WF_CAT_COUNT] = {
    "providers", "indicators", "conditions", "logic", "trading", "actions", "utilities",
};

const char *tr_wf_category_name(tr_wf_category c)
{
    return (unsigned)c < TR_WF_CAT_COUNT ? category_names[c] : "unknown";
}

int tr_wf_category_parse(const char *name, tr_wf_category *out)
{
    if (name == NULL)
        return TR_ENOENT;
    for (int i = 0; i < TR_WF_CAT_COUNT; i++)
        if (strcmp(name, category_names[i]) == 0) {
            *out = (tr_wf_category)i;
            return 0;
        }
    return TR_ENOENT;
}

bool tr_wf_category_trades(tr_wf_category c)
{
    return c == TR_WF_CAT_TRADING || c == TR_WF_CAT_ACTIONS;
}

const char *tr__wf_category_list(void)
{
    return "providers, indicators, conditions, logic, trading, actions, utilities";
}

bool tr__wf_is_ident(const char *s, size_t maxlen)
{
    if (s == NULL || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (c >= '0' && c <= '9')))
            return false;
    }
    return n <= maxlen;
}

/* ---------------------------------------------------------------------------
 * Registry
 * ------------------------------------------------------------------------ */

struct tr_node_type_registry {
    const tr_node_type **types;
    size_t n, cap;
};

int tr_node_type_registry_new(tr_node_type_registry **out)
{
    if (out == NULL)
        return TR_EINVAL;
    tr_node_type_registry *r = calloc(1, sizeof *r);
    if (r == NULL)
        return TR_ENOMEM;
    *out = r;
    return 0;
}

void tr_node_type_registry_free(tr_node_type_registry *reg)
{
    if (reg == NULL)
        return;
    free(reg->types);
    free(reg);
}

const tr_node_type *tr_node_type_find(const tr_node_type_registry *reg, const char *name)
{
    if (reg == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->types[i]->name, name) == 0)
            return reg->types[i];
    return NULL;
}

size_t tr_node_type_count(const tr_node_type_registry *reg) { return reg ? reg->n : 0; }

const tr_node_type *tr_node_type_at(const tr_node_type_registry *reg, size_t i)
{
    return reg != NULL && i < reg->n ? reg->types[i] : NULL;
}

/* Each '.'-separated segment an identifier; returns the parent length (0 for
 * a top-level name) or -1 when malformed. */
static long field_parent_len(const char *name)
{
    char seg[65];
    const char *p = name;
    long parent = 0;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof seg)
            return -1;
        memcpy(seg, p, n);
        seg[n] = '\0';
        if (!tr__wf_is_ident(seg, 64))
            return -1;
        if (dot == NULL)
            return parent;
        parent = (long)(dot - name);
        p = dot + 1;
    }
}

static const tr_wf_field *find_field(const tr_node_type *t, const char *name, size_t n)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (strlen(t->fields[i].name) == n && memcmp(t->fields[i].name, name, n) == 0)
            return &t->fields[i];
    return NULL;
}

static bool descriptor_ok(const tr_node_type *t)
{
    if (t == NULL || !tr__wf_is_ident(t->name, 64) ||
        (unsigned)t->default_category >= TR_WF_CAT_COUNT ||
        (t->nfields > 0 && t->fields == NULL))
        return false;
    for (size_t i = 0; i < t->nfields; i++) {
        const tr_wf_field *f = &t->fields[i];
        if (f->name == NULL || (unsigned)f->type > TR_WF_FIELD_EXPR)
            return false;
        long plen = field_parent_len(f->name);
        if (plen < 0)
            return false;
        const tr_wf_field *dup = find_field(t, f->name, strlen(f->name));
        if (dup != f)
            return false;
        if (plen > 0) {
            /* the parent must be an OBJECT declared before this field */
            const tr_wf_field *parent = find_field(t, f->name, (size_t)plen);
            if (parent == NULL || parent > f || parent->type != TR_WF_FIELD_OBJECT)
                return false;
        }
        if (f->choices != NULL && (f->type != TR_WF_FIELD_STRING || f->choices[0] == NULL))
            return false;
        if (f->has_min && f->has_max && f->min > f->max)
            return false;
    }
    if (t->require_one_of != NULL) {
        if (t->require_one_of[0] == NULL)
            return false;
        for (size_t i = 0; t->require_one_of[i] != NULL; i++)
            if (find_field(t, t->require_one_of[i], strlen(t->require_one_of[i])) == NULL)
                return false;
    }
    return true;
}

int tr_node_type_register(tr_node_type_registry *reg, const tr_node_type *type)
{
    if (reg == NULL || !descriptor_ok(type))
        return TR_EINVAL;
    if (tr_node_type_find(reg, type->name) != NULL)
        return TR_EEXIST;
    if (reg->n == reg->cap) {
        size_t ncap = reg->cap ? reg->cap * 2 : 16;
        const tr_node_type **p = realloc(reg->types, ncap * sizeof *p);
        if (p == NULL)
            return TR_ENOMEM;
        reg->types = p;
        reg->cap = ncap;
    }
    reg->types[reg->n++] = type;
    return 0;
}

void tr__node_type_names(const tr_node_type_registry *reg, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < reg->n; i++) {
        const char *name = reg->types[i]->name;
        size_t need = strlen(name) + (i ? 2 : 0);
        if (len + need + 4 >= cap) {
            if (len + 5 < cap)
                memcpy(buf + len, ", ...", 6);
            return;
        }
        if (i) {
            memcpy(buf + len, ", ", 2);
            len += 2;
        }
        memcpy(buf + len, name, strlen(name) + 1);
        len += strlen(name);
    }
}

/* ---------------------------------------------------------------------------
 * Built-in types
 * ------------------------------------------------------------------------ */

#define REQ true
#define OPT false
/* value bounds: >= lo */
#define GE(lo) .has_min = true, .min = (lo)
/* > lo */
#define GT(lo) .has_min = true, .min_exclusive = true, .min = (lo)
#define LE(hi) .has_max = true, .max = (hi)

static const char *const error_types[] = {
    "ConnectionError", "TimeoutError", "ValueError", "RuntimeError", NULL,
};
static const char *const sides[] = {"buy", "sell", NULL};
static const char *const levels[] = {"debug", "info", "warning", "error", NULL};
static const char *const constant_outputs[] = {"value", "outputs", NULL};

static const tr_wf_field constant_fields[] = {
    {"value", TR_WF_FIELD_ANY, OPT, .doc = "emitted as output `value`"},
    {"outputs", TR_WF_FIELD_OBJECT, OPT, .doc = "each key emitted as an output"},
};

static const tr_wf_field price_feed_fields[] = {
    {"symbol", TR_WF_FIELD_STRING, REQ, GE(1), .doc = "instrument, e.g. BTC/USDT"},
    {"start", TR_WF_FIELD_NUMBER, REQ, GT(0), .doc = "first price of the random walk"},
    {"seed", TR_WF_FIELD_INT, OPT, GE(0), .doc = "random seed (default: from the node id)"},
    {"volatility", TR_WF_FIELD_NUMBER, OPT, GE(0), .doc = "relative step stddev (default 0.001)"},
    {"simulate", TR_WF_FIELD_OBJECT, OPT, .doc = "injected latency and faults"},
    {"simulate.latency_ms", TR_WF_FIELD_NUMBER, OPT, GE(0), .doc = "delay before answering"},
    {"simulate.fail_first", TR_WF_FIELD_INT, OPT, GE(0), .doc = "fail the first N attempts"},
    {"simulate.failure_rate", TR_WF_FIELD_NUMBER, OPT, GE(0), LE(1),
     .doc = "probability an attempt fails"},
    {"simulate.hang", TR_WF_FIELD_BOOL, OPT, .doc = "never answer (exercises timeouts)"},
    {"simulate.error_type", TR_WF_FIELD_STRING, OPT, .choices = error_types,
     .doc = "error_type of injected failures (default ConnectionError)"},
};

static const tr_wf_field expr_fields[] = {
    {"expr", TR_WF_FIELD_EXPR, REQ, GE(1), .doc = "expression over upstream outputs"},
};

static const tr_wf_field trade_fields[] = {
    {"side", TR_WF_FIELD_STRING, REQ, .choices = sides, .doc = "buy or sell"},
    {"symbol", TR_WF_FIELD_STRING, REQ, GE(1), .doc = "instrument"},
    {"quantity", TR_WF_FIELD_NUMBER, REQ, GT(0), .doc = "order size"},
    {"price", TR_WF_FIELD_NUMBER, OPT, GT(0), .doc = "fill price (default: the upstream feed on the symbol)"},
};

static const tr_wf_field delay_fields[] = {
    {"ms", TR_WF_FIELD_NUMBER, REQ, GE(0), .doc = "milliseconds to wait (a timer)"},
};

static const tr_wf_field log_fields[] = {
    {"message", TR_WF_FIELD_STRING, REQ, .doc = "text to log"},
    {"level", TR_WF_FIELD_STRING, OPT, .choices = levels, .doc = "default info"},
};

#define FIELDS(a) a, sizeof(a) / sizeof((a)[0])

static const tr_node_type builtins[] = {
    {"constant", TR_WF_CAT_UTILITIES, false, false, FIELDS(constant_fields),
     constant_outputs, NULL},
    {"price_feed", TR_WF_CAT_PROVIDERS, false, false, FIELDS(price_feed_fields), NULL, NULL},
    {"math", TR_WF_CAT_INDICATORS, false, false, FIELDS(expr_fields), NULL, NULL},
    {"condition", TR_WF_CAT_CONDITIONS, false, false, FIELDS(expr_fields), NULL, NULL},
    {"trade", TR_WF_CAT_TRADING, false, false, FIELDS(trade_fields), NULL, NULL},
    {"delay", TR_WF_CAT_UTILITIES, false, false, FIELDS(delay_fields), NULL, NULL},
    {"log", TR_WF_CAT_UTILITIES, false, false, FIELDS(log_fields), NULL, NULL},
};

int tr_node_type_register_builtins(tr_node_type_registry *reg)
{
    if (reg == NULL)
        return TR_EINVAL;
    size_t nb = sizeof builtins / sizeof builtins[0];
    for (size_t i = 0; i < nb; i++)
        if (tr_node_type_find(reg, builtins[i].name) != NULL)
            return TR_EEXIST;
    size_t before = reg->n;
    for (size_t i = 0; i < nb; i++) {
        int rc = tr_node_type_register(reg, &builtins[i]);
        if (rc != 0) {
            reg->n = before; /* all or nothing */
            return rc;
        }
    }
    return 0;
}
