/*
 * codecs/expr_eval.c -- evaluating a compiled tr_expr (troupe/expr.h).
 *
 * A loop over the postfix program with the value stack in a local array of
 * TR_EXPR_MAX_STACK doubles: the compiler proved the program's maximum
 * height fits, so there are no per-push checks, no allocation and no
 * recursion.  The expression is only read, so any number of threads may
 * evaluate one expression at once.  `and`/`or` jump over their right
 * operand when the left decides (see expr.c), so a reference or division
 * there is never reached.  Division by zero, a reference that is missing or
 * not finite, and an arithmetic result that is not finite are faults with
 * the column of the operator or reference; comparisons of finite numbers
 * are exact IEEE comparisons.
 */
#include <math.h>
#include <stdlib.h>

#include "codecs/expr_impl.h"

void tr_expr_free(tr_expr *e) { free(e); }

void tr__expr_bind(tr_expr *e, uint32_t ref, uint32_t node_index)
{
    e->refs[ref].node_index = node_index;
}

uint32_t tr_expr_ref_count(const tr_expr *e) { return e->nrefs; }

const tr_expr_ref *tr_expr_ref_at(const tr_expr *e, uint32_t i)
{
    return i < e->nrefs ? &e->refs[i] : NULL;
}

const char *tr_expr_source(const tr_expr *e) { return e->src; }

bool tr_expr_is_boolean(const tr_expr *e) { return e->boolean; }

/* ---------------------------------------------------------------------------
 * Evaluator
 * ------------------------------------------------------------------------ */

static int fault_at(tr_expr_fault *f, int code, const instr *in, int32_t ref,
                    const char *msg)
{
    if (f != NULL) {
        f->code = code;
        f->column = in->column;
        f->ref_index = ref;
        f->message = msg;
    }
    return code;
}

int tr_expr_eval(const tr_expr *e, tr_expr_lookup_fn lookup, void *arg, double *out,
                 tr_expr_fault *fault)
{
    /* The compiler proved every program fits (max height <= MAX_STACK). */
    double st[TR_EXPR_MAX_STACK];
    int sp = -1; /* index of the top */
    const instr *code = e->code;
    for (uint32_t pc = 0; pc < e->ncode; pc++) {
        const instr *in = &code[pc];
        double r;
        switch ((enum op)in->op) {
        case OP_CONST:
            st[++sp] = e->consts[in->arg];
            continue;
        case OP_REF: {
            double v = 0;
            if (lookup == NULL || lookup(arg, &e->refs[in->arg], in->arg, &v) != 0)
                return fault_at(fault, TR_ENOENT, in, (int32_t)in->arg,
                                "missing reference");
            if (!isfinite(v))
                return fault_at(fault, TR_ERANGE, in, (int32_t)in->arg,
                                "reference is not a finite number");
            st[++sp] = v;
            continue;
        }
        case OP_NEG: st[sp] = -st[sp]; continue;
        case OP_NOT: st[sp] = st[sp] == 0.0 ? 1.0 : 0.0; continue;
        case OP_BOOL: st[sp] = st[sp] != 0.0 ? 1.0 : 0.0; continue;
        case OP_AND:
            if (st[sp] == 0.0) {
                st[sp] = 0.0;
                pc = in->arg - 1;
            } else {
                sp--;
            }
            continue;
        case OP_OR:
            if (st[sp] != 0.0) {
                st[sp] = 1.0;
                pc = in->arg - 1;
            } else {
                sp--;
            }
            continue;
        case OP_ADD: r = st[sp - 1] + st[sp]; break;
        case OP_SUB: r = st[sp - 1] - st[sp]; break;
        case OP_MUL: r = st[sp - 1] * st[sp]; break;
        case OP_DIV:
            if (st[sp] == 0.0)
                return fault_at(fault, TR_ERANGE, in, -1, "division by zero");
            r = st[sp - 1] / st[sp];
            break;
        case OP_LT: st[sp - 1] = st[sp - 1] < st[sp]; sp--; continue;
        case OP_LE: st[sp - 1] = st[sp - 1] <= st[sp]; sp--; continue;
        case OP_GT: st[sp - 1] = st[sp - 1] > st[sp]; sp--; continue;
        case OP_GE: st[sp - 1] = st[sp - 1] >= st[sp]; sp--; continue;
        case OP_EQ: st[sp - 1] = st[sp - 1] == st[sp]; sp--; continue;
        case OP_NE: st[sp - 1] = st[sp - 1] != st[sp]; sp--; continue;
        default:
            return fault_at(fault, TR_EINVAL, in, -1, "corrupt program");
        }
        /* arithmetic result */
        if (!isfinite(r))
            return fault_at(fault, TR_ERANGE, in, -1, "arithmetic overflow");
        st[--sp] = r;
    }
    *out = st[0];
    return 0;
}
