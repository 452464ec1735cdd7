/*
 * troupe/expr.h -- the small, safe expression language of `math` and
 * `condition` nodes (and of any host node type whose config declares a
 * TR_WF_FIELD_EXPR field; see troupe/workflow.h).
 *
 * Language (docs/workflows.md has the full grammar):
 *   numbers       42  3.5  1e-3  2.5E+4          (no leading '.', no hex)
 *   booleans      true  false                    (evaluate to 1 and 0)
 *   references    node_id.output_name            (both [A-Za-z_][A-Za-z0-9_]*)
 *                 node_id                        (means node_id.value)
 *   arithmetic    + - * /   unary -
 *   comparison    < <= > >= == !=                (not chainable: a < b < c is an error)
 *   logic         and  or  not                   (short-circuit; result 1 or 0)
 *   grouping      ( ... )
 * Precedence, lowest first: or, and, not, comparisons, + -, * /, unary -.
 * Binary operators are left-associative.
 *
 * Why public: host programs that register node types with expression fields
 * evaluate them with the same engine; the header has no dependency.
 *
 * An expression is compiled once (validation time) into a flat postfix
 * program with short-circuit jumps, and evaluated with no allocation and no
 * recursion: the value stack is a fixed array on the caller's stack, sized
 * by the compile-time limits below.  A compiled tr_expr is immutable: any
 * number of threads may evaluate it at the same time.
 */
#ifndef TROUPE_EXPR_H
#define TROUPE_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Compile-time limits.  Longer or deeper sources are refused by
 * tr_expr_compile with a message; they are never truncated. */
#define TR_EXPR_MAX_LEN 1024   /* bytes of source                          */
#define TR_EXPR_MAX_DEPTH 32   /* nesting of ( ), unary -, not             */
#define TR_EXPR_MAX_STACK 128  /* evaluation stack slots                   */

typedef struct tr_expr tr_expr;

/* One distinct reference of an expression (duplicates share one entry).
 * Strings are owned by the expression.  node_index is the referenced node's
 * index in a tr_wf_plan's order when the expression belongs to a plan node,
 * or UINT32_MAX for an expression compiled on its own. */
typedef struct tr_expr_ref {
    const char *node;      /* node id                                       */
    const char *output;    /* output name; "value" for a bare reference     */
    uint32_t node_index;
    uint32_t column;       /* 1-based column of its first occurrence        */
} tr_expr_ref;

/* Why a compile failed.  message is NUL-terminated and already ends with
 * "at column N" when a column is known (column 0 means none). */
typedef struct tr_expr_error {
    uint32_t column;
    char message[160];
} tr_expr_error;

/* Why an evaluation failed. */
typedef struct tr_expr_fault {
    int code;            /* TR_ENOENT missing reference, TR_ERANGE division
                            by zero or a non-finite value                 */
    uint32_t column;     /* 1-based column of the operator or reference   */
    int32_t ref_index;   /* the missing or non-finite reference, else -1  */
    const char *message; /* static text, e.g. "division by zero"          */
} tr_expr_fault;

/* Resolve reference `ref` (entry ref_index of the expression's reference
 * table) to a number.  Return 0 and set *out, or any non-zero value when the
 * value is missing.  Called on the evaluating thread, only for references
 * the evaluation actually reaches (short-circuit skips the others). */
typedef int (*tr_expr_lookup_fn)(void *arg, const tr_expr_ref *ref,
                                 uint32_t ref_index, double *out);

/* Compile src[0..len).  Returns 0 and *out (caller owns it: tr_expr_free),
 * TR_EINVAL with *err filled when the source is not a valid expression
 * (err may be NULL), or TR_ENOMEM.  *out is untouched on failure.  Reentrant;
 * any thread. */
TR_EXTERN int tr_expr_compile(const char *src, size_t len, tr_expr **out,
                              tr_expr_error *err);

/* Free a compiled expression; NULL is ignored.  No evaluation may be running
 * on it. */
TR_EXTERN void tr_expr_free(tr_expr *e);

/* Evaluate.  Returns 0 and *out (booleans as 1.0/0.0), or TR_ENOENT (lookup
 * reported a reference missing) / TR_ERANGE (division by zero, a reference
 * or result that is not a finite number) with *fault filled (fault may be
 * NULL); *out is untouched on failure.  Allocates nothing; thread-safe on a
 * shared expression; lookup is called on the calling thread. */
TR_EXTERN int tr_expr_eval(const tr_expr *e, tr_expr_lookup_fn lookup,
                           void *arg, double *out, tr_expr_fault *fault);

/* The reference table (borrowed from e; valid until tr_expr_free). */
TR_EXTERN uint32_t tr_expr_ref_count(const tr_expr *e);
TR_EXTERN const tr_expr_ref *tr_expr_ref_at(const tr_expr *e, uint32_t i);

/* The source text it was compiled from (borrowed, NUL-terminated). */
TR_EXTERN const char *tr_expr_source(const tr_expr *e);

/* Whether the top-level operator yields a boolean (comparison, and, or, not,
 * true, false).  `condition` nodes may use any expression: non-zero is
 * true. */
TR_EXTERN bool tr_expr_is_boolean(const tr_expr *e);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_EXPR_H */
