/*
 * troupe/workflow.h -- workflow definitions, node types, and the immutable
 * plan an executor runs.
 *
 * A definition (JSON, docs/workflows.md) is parsed and validated against a
 * node-type registry into a tr_wf_plan.  Validation is all-or-nothing: either
 * every check passes and a plan exists, or no plan is built and every problem
 * found is reported (one tr_wf_problem each, naming file, node and field).
 *
 * The plan is immutable once built and reference counted, so many executions
 * on many threads can walk one plan concurrently with no locking.  Its nodes
 * are stored in a topological order (every dependency of node i has an index
 * below i; ties keep definition order), each with index-based dependency and
 * dependant lists.
 *
 * Node types live in a tr_node_type_registry: the built-ins (constant,
 * price_feed, math, condition, trade, delay, log) are registered with
 * tr_node_type_register_builtins, and host programs register their own
 * descriptors next to them.  A descriptor declares the config schema (field
 * path, type, required, range, allowed strings), a default category and
 * whether the type may block (then it must run on the blocking pool).
 *
 * Threads: a registry is filled on one thread; once no registration is in
 * progress, any number of threads may parse against it concurrently.  Plans
 * and their nodes may be read from any thread.  A tr_wf_problems list is
 * owned by one thread at a time.
 */
#ifndef TROUPE_WORKFLOW_H
#define TROUPE_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"
#include "troupe/expr.h"
#include "troupe/payload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Categories (the seed plan's node_category values)
 * ------------------------------------------------------------------------ */

/* The executor checks the emergency controller's can_trade before every node
 * whose category is TRADING or ACTIONS (tr_wf_category_trades). */
typedef enum tr_wf_category {
    TR_WF_CAT_PROVIDERS = 0, /* "providers": market data, external feeds  */
    TR_WF_CAT_INDICATORS,    /* "indicators": derived numbers (math)       */
    TR_WF_CAT_CONDITIONS,    /* "conditions": gates (condition)            */
    TR_WF_CAT_LOGIC,         /* "logic": other control flow                */
    TR_WF_CAT_TRADING,       /* "trading": orders (trade)                  */
    TR_WF_CAT_ACTIONS,       /* "actions": side effects outside troupe     */
    TR_WF_CAT_UTILITIES,     /* "utilities": constant, delay, log          */
    TR_WF_CAT_COUNT
} tr_wf_category;

/* The category's JSON name ("providers"), or "unknown".  Static; any thread. */
TR_EXTERN const char *tr_wf_category_name(tr_wf_category c);
/* Parse a JSON name.  Returns 0 and *out, or TR_ENOENT.  Any thread. */
TR_EXTERN int tr_wf_category_parse(const char *name, tr_wf_category *out);
/* Whether nodes of this category need can_trade (TRADING, ACTIONS). */
TR_EXTERN bool tr_wf_category_trades(tr_wf_category c);

/* ---------------------------------------------------------------------------
 * Node types and the registry
 * ------------------------------------------------------------------------ */

typedef enum tr_wf_field_type {
    TR_WF_FIELD_STRING = 0,
    TR_WF_FIELD_NUMBER,  /* any JSON number                               */
    TR_WF_FIELD_INT,     /* a JSON number with no fractional part         */
    TR_WF_FIELD_BOOL,
    TR_WF_FIELD_OBJECT,
    TR_WF_FIELD_ARRAY,
    TR_WF_FIELD_ANY,     /* any JSON value but null                        */
    TR_WF_FIELD_EXPR,    /* a string compiled with tr_expr_compile; the
                            nodes it references become dependencies       */
} tr_wf_field_type;

/* One config field.  name is a path inside `config`: "symbol", or
 * "simulate.latency_ms" for a field of the OBJECT field "simulate" (which
 * must be declared before it).  A nested field's `required` applies when its
 * parent object is present.  An OBJECT field with declared children accepts
 * only those keys; one without children accepts anything. */
typedef struct tr_wf_field {
    const char *name;
    tr_wf_field_type type;
    bool required;
    /* NUMBER/INT: value bounds.  STRING/EXPR: length bounds. */
    bool has_min, min_exclusive;
    bool has_max, max_exclusive;
    double min, max;
    /* STRING: NULL-terminated list of allowed values, or NULL for any. */
    const char *const *choices;
    const char *doc; /* one line for docs and `troupe validate --types` */
} tr_wf_field;

/* A node type.  The descriptor and everything it points to are borrowed:
 * they must stay valid and unchanged while the registry or any plan built
 * with it exists (static const data is the usual choice). */
typedef struct tr_node_type {
    const char *name;                 /* [A-Za-z_][A-Za-z0-9_]*            */
    tr_wf_category default_category;  /* when a node gives no category     */
    bool blocking;                    /* may block: run on the blocking pool */
    bool open_config;                 /* accept undeclared top-level keys  */
    const tr_wf_field *fields;
    size_t nfields;
    /* NULL, or a NULL-terminated list of field names of which at least one
     * must be present (constant: "value", "outputs"). */
    const char *const *require_one_of;
    void *user;                       /* the host's; troupe never reads it */
} tr_node_type;

typedef struct tr_node_type_registry tr_node_type_registry;

/* An empty registry.  Returns 0 and *out (free with
 * tr_node_type_registry_free), or TR_ENOMEM. */
TR_EXTERN int tr_node_type_registry_new(tr_node_type_registry **out);
/* Free a registry; NULL is ignored.  Plans built with it stay valid (they
 * hold the descriptors, which the registry never owned). */
TR_EXTERN void tr_node_type_registry_free(tr_node_type_registry *reg);
/* Register the seven built-in types.  Returns 0, TR_EEXIST (a type of the
 * same name is already registered; nothing is added), or TR_ENOMEM. */
TR_EXTERN int tr_node_type_register_builtins(tr_node_type_registry *reg);
/* Register one type (borrowed, see tr_node_type).  Returns 0, TR_EEXIST,
 * TR_EINVAL (bad name, undeclared parent object, min > max, choices on a
 * non-string, unknown category or field type), or TR_ENOMEM.  On failure the
 * registry is unchanged.  Not concurrent with parsing or other registration. */
TR_EXTERN int tr_node_type_register(tr_node_type_registry *reg, const tr_node_type *type);
/* Look a type up by name; NULL when unknown.  Concurrent lookups are safe. */
TR_EXTERN const tr_node_type *tr_node_type_find(const tr_node_type_registry *reg,
                                                const char *name);
/* Registered types in registration order (i < tr_node_type_count). */
TR_EXTERN size_t tr_node_type_count(const tr_node_type_registry *reg);
TR_EXTERN const tr_node_type *tr_node_type_at(const tr_node_type_registry *reg, size_t i);

/* ---------------------------------------------------------------------------
 * Problems
 * ------------------------------------------------------------------------ */

/* One problem.  Strings are owned by the list (NULL when not applicable);
 * line/column are 1-based, 0 when unknown (jansson reports positions only
 * for malformed JSON, so validation problems carry file, node and field). */
typedef struct tr_wf_problem {
    const char *file;     /* the file or name given to the parse call       */
    const char *node_id;  /* NULL for workflow-level problems               */
    const char *field;    /* "config.expr", "depends_on[1]", "schedule.every_ms" */
    uint32_t line, column;
    const char *message;
} tr_wf_problem;

typedef struct tr_wf_problems tr_wf_problems;

/* An empty list.  Returns 0 and *out, or TR_ENOMEM. */
TR_EXTERN int tr_wf_problems_new(tr_wf_problems **out);
/* Free the list and its problems; NULL is ignored. */
TR_EXTERN void tr_wf_problems_free(tr_wf_problems *p);
/* Remove every problem (pointers from tr_wf_problems_at become invalid). */
TR_EXTERN void tr_wf_problems_clear(tr_wf_problems *p);
TR_EXTERN size_t tr_wf_problems_count(const tr_wf_problems *p);
/* Problem i (borrowed; valid until clear or free), NULL when out of range. */
TR_EXTERN const tr_wf_problem *tr_wf_problems_at(const tr_wf_problems *p, size_t i);
/* Format one line, no newline:
 *   FILE[:LINE[:COL]]: [node 'ID': ][FIELD: ]MESSAGE
 * e.g. "bad.json: node 'spread': config.expr: unexpected ')' at column 14".
 * snprintf semantics: writes at most cap bytes (NUL-terminated when cap > 0)
 * and returns the length the full line needs. */
TR_EXTERN int tr_wf_problem_format(const tr_wf_problem *p, char *buf, size_t cap);

/* ---------------------------------------------------------------------------
 * The plan
 * ------------------------------------------------------------------------ */

typedef struct tr_wf_plan tr_wf_plan;

/* Per-node retry overrides; unset members defer to the resilience config. */
typedef struct tr_wf_retry {
    int32_t max_attempts;  /* >= 1, or -1 when not set                   */
    double min_wait_s;     /* >= 0, or -1 when not set                   */
    double max_wait_s;     /* >= 0, or -1 when not set                   */
} tr_wf_retry;

typedef enum tr_wf_vtype {
    TR_WF_V_NULL = 0,
    TR_WF_V_BOOL,
    TR_WF_V_INT,    /* a JSON integer                                     */
    TR_WF_V_REAL,   /* a JSON number with a fraction or exponent          */
    TR_WF_V_STRING,
} tr_wf_vtype;

/* One scalar leaf of a node's config.  Objects are flattened with '.',
 * arrays with "[i]": {"simulate":{"latency_ms":2},"levels":[1,2]} gives
 * "simulate.latency_ms", "levels[0]", "levels[1]".  Empty objects and
 * arrays leave no entry.  Order is the definition's.  Owned by the plan. */
typedef struct tr_wf_value {
    const char *path;
    tr_wf_vtype type;
    union {
        bool b;
        int64_t i;
        double d;
        const char *s; /* NUL-terminated; len below */
    } u;
    size_t len;        /* string length in bytes (strings may hold NUL)   */
} tr_wf_value;

/* A node of a plan.  Everything is owned by the plan and read-only: never
 * write through these pointers. */
typedef struct tr_wf_node {
    const char *id;
    const char *name;                 /* the definition's, or the id       */
    const char *type;                 /* type name                         */
    const tr_node_type *type_desc;    /* the registered descriptor         */
    tr_wf_category category;
    bool blocking;                    /* from the type                     */
    double timeout_s;                 /* > 0, or 0 when the definition has none:
                                         the engine then applies
                                         resilience.node_timeout_seconds (30) */
    tr_wf_retry retry;
    uint32_t index;                   /* position in plan (topological) order */
    uint32_t def_index;               /* position in the definition        */
    const uint32_t *deps;             /* plan indexes, ascending, all < index */
    uint32_t ndeps;
    const uint32_t *dependants;       /* plan indexes, ascending, all > index */
    uint32_t ndependants;
    /* Config, three views of the same JSON object: */
    const tr_wf_value *config;        /* typed scalar leaves (tr_wf_node_cfg_*) */
    uint32_t nconfig;
    const char *config_json;          /* compact JSON text, NUL-terminated */
    size_t config_json_len;
    tr_payload *config_msgpack;       /* one msgpack map; borrowed from the
                                         plan: tr_payload_ref to keep it   */
    /* The compiled expression of the type's first EXPR field (math and
     * condition: config.expr), or NULL.  Its references carry node_index =
     * the referenced node's plan index. */
    const tr_expr *expr;
} tr_wf_node;

/* Parse and validate JSON text against reg.  file names the source in
 * problems (may be NULL: "<input>").  Returns:
 *   0          *out is a new plan (refcount 1; tr_wf_plan_free);
 *   TR_EINVAL  the definition is invalid: every problem found was appended
 *              to probs (when non-NULL) and *out is untouched;
 *   TR_ENOMEM  (a problem "out of memory" is appended when possible).
 * Reentrant; see the header comment for the registry rule. */
TR_EXTERN int tr_wf_parse_json(const tr_node_type_registry *reg, const char *text,
                               size_t len, const char *file, tr_wf_plan **out,
                               tr_wf_problems *probs);

/* The same for a file.  An unreadable file returns TR_EIO with one problem
 * naming it and the system's reason. */
TR_EXTERN int tr_wf_parse_file(const tr_node_type_registry *reg, const char *path,
                               tr_wf_plan **out, tr_wf_problems *probs);

/* Take another reference (returns plan).  Any thread. */
TR_EXTERN tr_wf_plan *tr_wf_plan_ref(tr_wf_plan *plan);
/* Drop a reference; the last one frees the plan, its nodes, expressions and
 * its references to the config payloads.  NULL is ignored.  Any thread. */
TR_EXTERN void tr_wf_plan_free(tr_wf_plan *plan);

/* Workflow-level fields (borrowed from the plan).  id is always set; the
 * others are NULL when the definition has none. */
TR_EXTERN const char *tr_wf_plan_id(const tr_wf_plan *plan);
TR_EXTERN const char *tr_wf_plan_name(const tr_wf_plan *plan);
TR_EXTERN const char *tr_wf_plan_bot_id(const tr_wf_plan *plan);
TR_EXTERN const char *tr_wf_plan_strategy_id(const tr_wf_plan *plan);
TR_EXTERN const char *tr_wf_plan_description(const tr_wf_plan *plan);
/* schedule.every_ms, or 0 when the workflow has no schedule. */
TR_EXTERN uint64_t tr_wf_plan_every_ms(const tr_wf_plan *plan);

TR_EXTERN uint32_t tr_wf_plan_node_count(const tr_wf_plan *plan);
/* Node i in plan order (i < count), else NULL.  Borrowed from the plan. */
TR_EXTERN const tr_wf_node *tr_wf_plan_node(const tr_wf_plan *plan, uint32_t i);
/* Node by id, or NULL (binary search: O(log n)). */
TR_EXTERN const tr_wf_node *tr_wf_plan_find(const tr_wf_plan *plan, const char *id);

/* ---------------------------------------------------------------------------
 * Typed config access.  path as in tr_wf_value.  All return 0 and *out, or
 * TR_ENOENT (absent: apply the documented default) or TR_EINVAL (present but
 * of another type); *out is untouched on failure.  Linear in the node's
 * config size: look up once per node, not per evaluation.  Any thread.
 * ------------------------------------------------------------------------ */

TR_EXTERN const tr_wf_value *tr_wf_node_cfg(const tr_wf_node *node, const char *path);
/* INT or REAL. */
TR_EXTERN int tr_wf_node_cfg_number(const tr_wf_node *node, const char *path, double *out);
/* INT, or REAL with no fractional part within int64 range. */
TR_EXTERN int tr_wf_node_cfg_int(const tr_wf_node *node, const char *path, int64_t *out);
TR_EXTERN int tr_wf_node_cfg_bool(const tr_wf_node *node, const char *path, bool *out);
/* Borrowed from the plan. */
TR_EXTERN int tr_wf_node_cfg_string(const tr_wf_node *node, const char *path,
                                    const char **out);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_WORKFLOW_H */
