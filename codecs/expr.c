/*
 * codecs/expr.c -- compiler and evaluator for troupe/expr.h.
 *
 * Design.  A recursive-descent parser (one function per precedence level,
 * recursion bounded by TR_EXPR_MAX_DEPTH since only '(' , unary '-' and
 * 'not' re-enter the top) emits a postfix program directly: no AST is kept.
 * `and`/`or` compile to conditional jumps so the right operand is skipped
 * when the left decides the result:
 *     a and b  =>  <a> AND L <b> BOOL L:     AND: top==0 ? (top=0, jump) : pop
 *     a or b   =>  <a> OR  L <b> BOOL L:     OR:  top!=0 ? (top=1, jump) : pop
 * The compiler tracks the stack height of every instruction, so the program
 * is known to fit TR_EXPR_MAX_STACK and the evaluator needs no bounds checks
 * beyond that one compile-time proof.  The compiled form is one allocation:
 * header, code, constants, reference table, then the strings.
 *
 * Every instruction carries the source column of its operator so a runtime
 * fault (division by zero, missing reference) can point at it.  The program
 * format is in expr_impl.h; the evaluator is expr_eval.c.
 */
#include <locale.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/expr_impl.h"

/* ---------------------------------------------------------------------------
 * Compiler
 * ------------------------------------------------------------------------ */

enum tok {
    T_END, T_NUM, T_IDENT, T_LPAREN, T_RPAREN, T_DOT,
    T_PLUS, T_MINUS, T_STAR, T_SLASH,
    T_LT, T_LE, T_GT, T_GE, T_EQ, T_NE,
    T_AND, T_OR, T_NOT, T_TRUE, T_FALSE, T_BAD,
};

typedef struct ref_tmp {
    uint32_t node_off, node_len, out_off, out_len; /* into src; out_len 0 = "value" */
    uint32_t column;
} ref_tmp;

typedef struct compiler {
    const char *src;
    size_t len, pos;
    /* current token */
    enum tok tok;
    size_t tstart, tlen;
    double num;
    /* output */
    instr *code;
    uint32_t ncode, capcode;
    double *consts;
    uint32_t nconst, capconst;
    ref_tmp *refs;
    uint32_t nrefs, caprefs;
    int height, max_height;
    int depth;
    bool last_boolean;
    /* failure */
    int rc;
    tr_expr_error *err;
} compiler;

static bool is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

static bool is_ident_char(int c) { return is_ident_start(c) || is_digit(c); }

static uint32_t col_of(const compiler *c, size_t off) { return (uint32_t)off + 1; }

/* Record the first error; later ones are ignored (the parse unwinds). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void fail_at(compiler *c, size_t off, const char *fmt, ...)
{
    if (c->rc != 0)
        return;
    c->rc = TR_EINVAL;
    if (c->err == NULL)
        return;
    char what[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    c->err->column = col_of(c, off);
    snprintf(c->err->message, sizeof c->err->message, "%s at column %u", what,
             (unsigned)c->err->column);
}

static void fail_nomem(compiler *c)
{
    if (c->rc == 0)
        c->rc = TR_ENOMEM;
    if (c->err != NULL) {
        c->err->column = 0;
        snprintf(c->err->message, sizeof c->err->message, "out of memory");
    }
}

static double parse_number_text(const char *s, size_t n)
{
    char buf[64];
    if (n >= sizeof buf)
        n = sizeof buf - 1; /* caller refuses longer literals */
    memcpy(buf, s, n);
    buf[n] = '\0';
    /* strtod honours LC_NUMERIC; a host may have set one whose decimal
     * point is not '.', so translate (as jansson does). */
    const char *dp = localeconv()->decimal_point;
    if (dp != NULL && dp[0] != '\0' && dp[0] != '.' && dp[1] == '\0') {
        char *p = strchr(buf, '.');
        if (p != NULL)
            *p = dp[0];
    }
    return strtod(buf, NULL);
}

static void next(compiler *c)
{
    const char *s = c->src;
    while (c->pos < c->len && (s[c->pos] == ' ' || s[c->pos] == '\t' ||
                               s[c->pos] == '\n' || s[c->pos] == '\r'))
        c->pos++;
    c->tstart = c->pos;
    if (c->pos >= c->len) {
        c->tok = T_END;
        c->tlen = 0;
        return;
    }
    char ch = s[c->pos];
    char nx = c->pos + 1 < c->len ? s[c->pos + 1] : '\0';
    size_t n = 1;
    switch (ch) {
    case '(': c->tok = T_LPAREN; break;
    case ')': c->tok = T_RPAREN; break;
    case '.': c->tok = T_DOT; break;
    case '+': c->tok = T_PLUS; break;
    case '-': c->tok = T_MINUS; break;
    case '*': c->tok = T_STAR; break;
    case '/': c->tok = T_SLASH; break;
    case '<': c->tok = nx == '=' ? (n = 2, T_LE) : T_LT; break;
    case '>': c->tok = nx == '=' ? (n = 2, T_GE) : T_GT; break;
    case '=': c->tok = nx == '=' ? (n = 2, T_EQ) : T_BAD; break;
    case '!': c->tok = nx == '=' ? (n = 2, T_NE) : T_BAD; break;
    default:
        if (is_digit(ch)) {
            size_t p = c->pos;
            while (p < c->len && is_digit(s[p]))
                p++;
            bool ok = true;
            if (p < c->len && s[p] == '.') {
                p++;
                if (p >= c->len || !is_digit(s[p]))
                    ok = false;
                while (p < c->len && is_digit(s[p]))
                    p++;
            }
            if (ok && p < c->len && (s[p] == 'e' || s[p] == 'E')) {
                p++;
                if (p < c->len && (s[p] == '+' || s[p] == '-'))
                    p++;
                if (p >= c->len || !is_digit(s[p]))
                    ok = false;
                while (p < c->len && is_digit(s[p]))
                    p++;
            }
            while (p < c->len && (is_ident_char(s[p]) || s[p] == '.')) {
                ok = false; /* 12abc, 1.2.3 */
                p++;
            }
            n = p - c->pos;
            if (ok && n < 64) {
                c->num = parse_number_text(s + c->pos, n);
                ok = isfinite(c->num);
            }
            c->tok = ok ? T_NUM : T_BAD;
        } else if (is_ident_start(ch)) {
            size_t p = c->pos;
            while (p < c->len && is_ident_char(s[p]))
                p++;
            n = p - c->pos;
            const char *w = s + c->pos;
            c->tok = T_IDENT;
            if (n == 3 && memcmp(w, "and", 3) == 0) c->tok = T_AND;
            else if (n == 2 && memcmp(w, "or", 2) == 0) c->tok = T_OR;
            else if (n == 3 && memcmp(w, "not", 3) == 0) c->tok = T_NOT;
            else if (n == 4 && memcmp(w, "true", 4) == 0) c->tok = T_TRUE;
            else if (n == 5 && memcmp(w, "false", 5) == 0) c->tok = T_FALSE;
        } else {
            c->tok = T_BAD;
        }
    }
    c->tlen = n;
    c->pos += n;
}

/* "unexpected ')'" / "unexpected end of expression" / "invalid number '1e'" */
static void fail_unexpected(compiler *c)
{
    char quoted[48];
    size_t n = c->tlen < 32 ? c->tlen : 32;
    if (c->tok == T_END) {
        fail_at(c, c->tstart, "%s", "unexpected end of expression");
        return;
    }
    snprintf(quoted, sizeof quoted, "%.*s", (int)n, c->src + c->tstart);
    if (c->tok == T_BAD && (unsigned char)quoted[0] >= 0x80)
        fail_at(c, c->tstart, "unexpected non-ASCII character");
    else if (c->tok == T_BAD && is_digit((unsigned char)quoted[0]))
        fail_at(c, c->tstart, "invalid number '%s'", quoted);
    else if (c->tok == T_BAD)
        fail_at(c, c->tstart, "unexpected character '%s'", quoted);
    else
        fail_at(c, c->tstart, "unexpected '%s'", quoted);
}

static bool grow(compiler *c, void **arr, uint32_t *cap, size_t elem, uint32_t need)
{
    if (need <= *cap)
        return true;
    uint32_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (p == NULL) {
        fail_nomem(c);
        return false;
    }
    *arr = p;
    *cap = ncap;
    return true;
}

/* Emit one instruction; delta = its effect on the stack height. */
static uint32_t emit(compiler *c, enum op op, size_t off, uint32_t arg, int delta)
{
    if (c->rc != 0 || !grow(c, (void **)&c->code, &c->capcode, sizeof(instr), c->ncode + 1))
        return 0;
    c->code[c->ncode] = (instr){(uint8_t)op, (uint16_t)col_of(c, off), arg};
    c->height += delta;
    if (c->height > c->max_height)
        c->max_height = c->height;
    if (c->max_height > TR_EXPR_MAX_STACK)
        fail_at(c, off, "%s", "expression too complex");
    return c->ncode++;
}

static void emit_const(compiler *c, size_t off, double v)
{
    if (c->rc != 0 || !grow(c, (void **)&c->consts, &c->capconst, sizeof(double), c->nconst + 1))
        return;
    c->consts[c->nconst] = v;
    emit(c, OP_CONST, off, c->nconst++, +1);
}

/* A reference's output name as (text, length): "value" when it is bare. */
static void out_name(const compiler *c, size_t off, size_t len, const char **s, size_t *n)
{
    if (len == 0) {
        *s = "value";
        *n = 5;
    } else {
        *s = c->src + off;
        *n = len;
    }
}

static void emit_ref(compiler *c, size_t node_off, size_t node_len, size_t out_off,
                     size_t out_len)
{
    const char *os, *rs;
    size_t on, rn;
    out_name(c, out_off, out_len, &os, &on);
    uint32_t i;
    for (i = 0; i < c->nrefs; i++) {
        const ref_tmp *r = &c->refs[i];
        out_name(c, r->out_off, r->out_len, &rs, &rn);
        if (r->node_len == node_len &&
            memcmp(c->src + r->node_off, c->src + node_off, node_len) == 0 && rn == on &&
            memcmp(rs, os, on) == 0)
            break;
    }
    if (i == c->nrefs) {
        if (c->rc != 0 || !grow(c, (void **)&c->refs, &c->caprefs, sizeof(ref_tmp), c->nrefs + 1))
            return;
        c->refs[c->nrefs++] = (ref_tmp){(uint32_t)node_off, (uint32_t)node_len,
                                        (uint32_t)out_off, (uint32_t)out_len,
                                        col_of(c, node_off)};
    }
    emit(c, OP_REF, node_off, i, +1);
}

static void parse_or(compiler *c);

static bool enter(compiler *c)
{
    if (++c->depth > TR_EXPR_MAX_DEPTH) {
        fail_at(c, c->tstart, "expression nested too deeply (limit %d)", TR_EXPR_MAX_DEPTH);
        return false;
    }
    return true;
}

static void parse_primary(compiler *c)
{
    size_t off = c->tstart;
    switch (c->tok) {
    case T_NUM:
        emit_const(c, off, c->num);
        c->last_boolean = false;
        next(c);
        return;
    case T_TRUE:
    case T_FALSE:
        emit_const(c, off, c->tok == T_TRUE ? 1.0 : 0.0);
        c->last_boolean = true;
        next(c);
        return;
    case T_LPAREN: {
        if (!enter(c))
            return;
        next(c);
        parse_or(c);
        if (c->rc != 0)
            return;
        if (c->tok != T_RPAREN) {
            if (c->tok == T_END)
                fail_at(c, c->tstart, "%s", "missing ')'");
            else
                fail_unexpected(c);
            return;
        }
        c->depth--;
        next(c);
        return;
    }
    case T_IDENT: {
        size_t node_len = c->tlen, out_off = 0, out_len = 0;
        next(c);
        if (c->tok == T_DOT && c->tstart == off + node_len) {
            next(c);
            if (c->tok != T_IDENT || c->tstart != off + node_len + 1) {
                fail_at(c, c->tstart, "%s", "expected an output name after '.'");
                return;
            }
            out_off = c->tstart;
            out_len = c->tlen;
            next(c);
            if (c->tok == T_DOT) {
                fail_at(c, c->tstart, "%s", "a reference is node.output, unexpected '.'");
                return;
            }
        }
        if (node_len > 255 || out_len > 255) {
            fail_at(c, off, "%s", "name too long");
            return;
        }
        emit_ref(c, off, node_len, out_off, out_len);
        c->last_boolean = false;
        return;
    }
    default:
        fail_unexpected(c);
    }
}

static void parse_unary(compiler *c)
{
    if (c->tok == T_MINUS || c->tok == T_PLUS) {
        size_t off = c->tstart;
        bool neg = c->tok == T_MINUS;
        if (!enter(c))
            return;
        next(c);
        parse_unary(c);
        c->depth--;
        if (neg)
            emit(c, OP_NEG, off, 0, 0);
        c->last_boolean = false;
        return;
    }
    parse_primary(c);
}

static void parse_binary_level(compiler *c, int level);

/* level 0: * /   level 1: + - */
static void parse_binary_level(compiler *c, int level)
{
    if (level == 0)
        parse_unary(c);
    else
        parse_binary_level(c, level - 1);
    for (;;) {
        enum op op;
        if (level == 0 && c->tok == T_STAR) op = OP_MUL;
        else if (level == 0 && c->tok == T_SLASH) op = OP_DIV;
        else if (level == 1 && c->tok == T_PLUS) op = OP_ADD;
        else if (level == 1 && c->tok == T_MINUS) op = OP_SUB;
        else return;
        if (c->rc != 0)
            return;
        size_t off = c->tstart;
        next(c);
        if (level == 0)
            parse_unary(c);
        else
            parse_binary_level(c, level - 1);
        emit(c, op, off, 0, -1);
        c->last_boolean = false;
    }
}

static bool cmp_op(enum tok t, enum op *op)
{
    switch (t) {
    case T_LT: *op = OP_LT; return true;
    case T_LE: *op = OP_LE; return true;
    case T_GT: *op = OP_GT; return true;
    case T_GE: *op = OP_GE; return true;
    case T_EQ: *op = OP_EQ; return true;
    case T_NE: *op = OP_NE; return true;
    default: return false;
    }
}

static void parse_cmp(compiler *c)
{
    parse_binary_level(c, 1);
    enum op op;
    if (c->rc != 0 || !cmp_op(c->tok, &op))
        return;
    size_t off = c->tstart;
    next(c);
    parse_binary_level(c, 1);
    emit(c, op, off, 0, -1);
    c->last_boolean = true;
    if (c->rc == 0 && cmp_op(c->tok, &op))
        fail_at(c, c->tstart, "%s",
                "comparisons cannot be chained (use 'and')");
}

static void parse_not(compiler *c)
{
    if (c->tok == T_NOT) {
        size_t off = c->tstart;
        if (!enter(c))
            return;
        next(c);
        parse_not(c);
        c->depth--;
        emit(c, OP_NOT, off, 0, 0);
        c->last_boolean = true;
        return;
    }
    parse_cmp(c);
}

/* and (is_or false) / or (is_or true) */
static void parse_logic(compiler *c, bool is_or)
{
    if (is_or)
        parse_logic(c, false);
    else
        parse_not(c);
    while (c->rc == 0 && c->tok == (is_or ? T_OR : T_AND)) {
        size_t off = c->tstart;
        next(c);
        /* Taken: the left value (rewritten to 0/1) stays; not taken: popped. */
        uint32_t j = emit(c, is_or ? OP_OR : OP_AND, off, 0, -1);
        if (is_or)
            parse_logic(c, false);
        else
            parse_not(c);
        emit(c, OP_BOOL, off, 0, 0);
        if (c->rc == 0)
            c->code[j].arg = c->ncode;
        c->last_boolean = true;
    }
}

static void parse_or(compiler *c) { parse_logic(c, true); }

static const char value_name[] = "value";

int tr_expr_compile(const char *src, size_t len, tr_expr **out, tr_expr_error *err)
{
    if (err != NULL) {
        err->column = 0;
        err->message[0] = '\0';
    }
    if (src == NULL || out == NULL)
        return TR_EINVAL;
    compiler c = {.src = src, .len = len, .err = err};
    if (len > TR_EXPR_MAX_LEN) {
        if (err != NULL)
            snprintf(err->message, sizeof err->message,
                     "expression too long (%zu bytes, limit %d)", len, TR_EXPR_MAX_LEN);
        return TR_EINVAL;
    }
    if (memchr(src, '\0', len) != NULL) {
        fail_at(&c, (size_t)((const char *)memchr(src, '\0', len) - src), "%s",
                "unexpected NUL byte");
        return TR_EINVAL;
    }
    next(&c);
    if (c.tok == T_END) {
        if (err != NULL)
            snprintf(err->message, sizeof err->message, "empty expression");
        return TR_EINVAL;
    }
    parse_or(&c);
    if (c.rc == 0 && c.tok != T_END)
        fail_unexpected(&c);

    tr_expr *e = NULL;
    if (c.rc == 0) {
        size_t strbytes = len + 1;
        for (uint32_t i = 0; i < c.nrefs; i++)
            strbytes += c.refs[i].node_len + 1 + c.refs[i].out_len + 1;
        size_t size = sizeof(tr_expr) + c.ncode * sizeof(instr) +
                      c.nconst * sizeof(double) + c.nrefs * sizeof(tr_expr_ref) + strbytes;
        e = malloc(size);
        if (e == NULL) {
            fail_nomem(&c);
        } else {
            char *p = (char *)(e + 1);
            e->ncode = c.ncode;
            e->nconst = c.nconst;
            e->nrefs = c.nrefs;
            e->boolean = c.last_boolean;
            /* instr (8 bytes, 4-aligned) then doubles: keep doubles first. */
            e->consts = (double *)p;
            p += c.nconst * sizeof(double);
            e->code = (instr *)p;
            p += c.ncode * sizeof(instr);
            e->refs = (tr_expr_ref *)p;
            p += c.nrefs * sizeof(tr_expr_ref);
            if (c.nconst)
                memcpy(e->consts, c.consts, c.nconst * sizeof(double));
            if (c.ncode)
                memcpy(e->code, c.code, c.ncode * sizeof(instr));
            memcpy(p, src, len);
            p[len] = '\0';
            e->src = p;
            p += len + 1;
            for (uint32_t i = 0; i < c.nrefs; i++) {
                const ref_tmp *r = &c.refs[i];
                tr_expr_ref *d = &e->refs[i];
                memcpy(p, src + r->node_off, r->node_len);
                p[r->node_len] = '\0';
                d->node = p;
                p += r->node_len + 1;
                if (r->out_len == 0) {
                    d->output = value_name;
                    *p++ = '\0';
                } else {
                    memcpy(p, src + r->out_off, r->out_len);
                    p[r->out_len] = '\0';
                    d->output = p;
                    p += r->out_len + 1;
                }
                d->node_index = UINT32_MAX;
                d->column = r->column;
            }
        }
    }
    free(c.code);
    free(c.consts);
    free(c.refs);
    if (c.rc != 0)
        return c.rc;
    *out = e;
    return 0;
}

