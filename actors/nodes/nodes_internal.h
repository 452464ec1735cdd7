/*
 * actors/nodes/nodes_internal.h -- shared helpers of the built-in node types.
 *
 * Result building: tr__node_begin resets a result's header (not the whole
 * struct: outputs beyond noutputs and text beyond text_len are never read),
 * tr__node_add_* append outputs, tr__node_fail records a failure and returns
 * its code so a runner can `return tr__node_fail(...)`.
 */
#ifndef TR_ACTORS_NODES_INTERNAL_H
#define TR_ACTORS_NODES_INTERNAL_H

#include "troupe/nodes.h"

#if defined(__GNUC__)
#define TR__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TR__PRINTF(f, a)
#endif

void tr__node_begin(tr_node_result *out);
int tr__node_fail(tr_node_result *out, int code, const char *error_type,
                  const char *fmt, ...) TR__PRINTF(4, 5);
/* Each returns 0, or TR_ELIMIT when the result is full (nothing added). */
int tr__node_add_num(tr_node_result *out, const char *name, double v);
int tr__node_add_int(tr_node_result *out, const char *name, int64_t v);
int tr__node_add_bool(tr_node_result *out, const char *name, bool v);
/* s borrowed from the plan (or static). */
int tr__node_add_str(tr_node_result *out, const char *name, const char *s, size_t len);
/* The numeric value of output `name` of plan node `index`, when that node
 * has a result with such a non-string output.  0 and *v, or TR_ENOENT. */
int tr__node_input_num(const tr_node_inputs *in, uint32_t index, const char *name,
                       double *v);

/* Runners, one per file (price_feed.c, trade.c, node_basic.c). */
int tr__node_run_feed(const tr_node_prep *p, tr_node_env *env, tr_node_result *out);
int tr__node_run_trade(const tr_node_prep *p, const tr_node_inputs *in, tr_node_env *env,
                       tr_node_result *out);
int tr__node_run_constant(const tr_wf_node *node, tr_node_result *out);
int tr__node_run_expr(const tr_node_prep *p, const tr_node_inputs *in, tr_node_result *out);
int tr__node_run_log(const tr_node_prep *p, const tr_node_inputs *in, tr_node_result *out);

/* Preparation of the types with more than plain config reads. */
int tr__node_prepare_feed(const tr_wf_node *node, tr_node_prep *out);
int tr__node_prepare_trade(const tr_wf_plan *plan, const tr_wf_node *node, tr_node_prep *out);

#endif /* TR_ACTORS_NODES_INTERNAL_H */
