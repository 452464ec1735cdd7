/*
 * codecs/expr_impl.h -- the compiled form of a tr_expr, shared by the
 * compiler (expr.c) and the evaluator (expr_eval.c).  Not installed.
 *
 * One allocation: this header, then the constants (doubles first for
 * alignment), the code, the reference table and the strings (source text,
 * then each reference's node and output names).
 */
#ifndef TR_CODECS_EXPR_IMPL_H
#define TR_CODECS_EXPR_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "troupe/expr.h"

enum op {
    OP_CONST, OP_REF, OP_NEG, OP_NOT, OP_BOOL,
    OP_ADD, OP_SUB, OP_MUL, OP_DIV,
    OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE,
    OP_AND, OP_OR,
};

typedef struct instr {
    uint8_t op;
    uint16_t column;
    uint32_t arg; /* constant index, reference index, or jump target */
} instr;

struct tr_expr {
    uint32_t ncode, nconst, nrefs;
    bool boolean;
    instr *code;
    double *consts;
    tr_expr_ref *refs;
    const char *src;
};

/* Set reference `ref`'s node_index (wf_plan.c, before the plan is
 * published). */
void tr__expr_bind(tr_expr *e, uint32_t ref, uint32_t node_index);

#endif /* TR_CODECS_EXPR_IMPL_H */
