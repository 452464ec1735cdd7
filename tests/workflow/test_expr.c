/*
 * tests/workflow/test_expr.c -- the expression language (troupe/expr.h):
 * numbers, precedence and associativity, comparisons, short-circuit logic,
 * references, runtime faults, compile errors with columns, and the limits.
 * Every assertion is on an exact value or message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "troupe/expr.h"

/* ---- a lookup table of node.output -> value, counting calls ------------- */

typedef struct kv {
    const char *node, *output;
    double v;
} kv;

static const kv values[] = {
    {"a", "x", 2.0},         {"a", "value", 10.0},      {"b", "y", -3.5},
    {"spread", "value", 30}, {"price_coinbase", "price", 50080.25},
    {"price_binance", "price", 50030.0}, {"zero", "value", 0.0},
    {"huge", "value", 1e308}, {"bad", "value", NAN},
};

static int lookups;

static int lookup(void *arg, const tr_expr_ref *ref, uint32_t i, double *out)
{
    (void)arg;
    (void)i;
    lookups++;
    for (size_t k = 0; k < sizeof values / sizeof values[0]; k++)
        if (strcmp(values[k].node, ref->node) == 0 && strcmp(values[k].output, ref->output) == 0) {
            *out = values[k].v;
            return 0;
        }
    return TR_ENOENT;
}

static double ev(const char *src)
{
    tr_expr *e = NULL;
    tr_expr_error err;
    int rc = tr_expr_compile(src, strlen(src), &e, &err);
    if (rc != 0)
        fail_msg("compile '%s' failed: %s", src, err.message);
    double out = -12345;
    tr_expr_fault f;
    rc = tr_expr_eval(e, lookup, NULL, &out, &f);
    if (rc != 0)
        fail_msg("eval '%s' failed: %s", src, f.message);
    tr_expr_free(e);
    return out;
}

/* Compile must succeed; evaluation must fail with code at column. */
static void ev_fault(const char *src, int code, uint32_t column, int32_t ref,
                     const char *message)
{
    tr_expr *e = NULL;
    assert_int_equal(tr_expr_compile(src, strlen(src), &e, NULL), 0);
    double out = -12345;
    tr_expr_fault f = {0};
    assert_int_equal(tr_expr_eval(e, lookup, NULL, &out, &f), code);
    assert_int_equal(f.code, code);
    assert_int_equal(f.column, column);
    assert_int_equal(f.ref_index, ref);
    assert_string_equal(f.message, message);
    assert_true(out == -12345); /* untouched on failure */
    tr_expr_free(e);
}

static void compile_err(const char *src, uint32_t column, const char *message)
{
    tr_expr *e = (tr_expr *)0x1;
    tr_expr_error err;
    assert_int_equal(tr_expr_compile(src, strlen(src), &e, &err), TR_EINVAL);
    assert_ptr_equal(e, (tr_expr *)0x1); /* untouched */
    assert_string_equal(err.message, message);
    assert_int_equal(err.column, column);
}

/* ---- tests --------------------------------------------------------------- */

static void numbers_and_booleans(void **state)
{
    (void)state;
    assert_true(ev("42") == 42.0);
    assert_true(ev("3.5") == 3.5);
    assert_true(ev("0.1") == 0.1);
    assert_true(ev("1e3") == 1000.0);
    assert_true(ev("2.5E-1") == 0.25);
    assert_true(ev("7e+2") == 700.0);
    assert_true(ev("true") == 1.0);
    assert_true(ev("false") == 0.0);
    assert_true(ev("  \t 5 \n") == 5.0);
}

static void precedence_and_associativity(void **state)
{
    (void)state;
    assert_true(ev("1 + 2 * 3") == 7.0);
    assert_true(ev("(1 + 2) * 3") == 9.0);
    assert_true(ev("2 * 3 + 4 * 5") == 26.0);
    assert_true(ev("10 - 4 - 3") == 3.0);    /* (10-4)-3, not 10-(4-3) */
    assert_true(ev("100 / 10 / 5") == 2.0);  /* (100/10)/5 */
    assert_true(ev("8 / 2 * 4") == 16.0);    /* (8/2)*4 */
    assert_true(ev("-2 * 3") == -6.0);
    assert_true(ev("2 - -3") == 5.0);
    assert_true(ev("--4") == 4.0);
    assert_true(ev("-(1 + 2) * 2") == -6.0);
    assert_true(ev("+5 - 1") == 4.0);
    assert_true(ev("1 + 2 > 2") == 1.0);     /* arithmetic binds tighter */
    assert_true(ev("true or false and false") == 1.0);   /* and before or */
    assert_true(ev("(true or false) and false") == 0.0);
    assert_true(ev("not 1 < 2") == 0.0);     /* not (1 < 2) */
    assert_true(ev("not false and false") == 0.0); /* (not false) and false */
    assert_true(ev("not not 3") == 1.0);
}

static void comparisons(void **state)
{
    (void)state;
    assert_true(ev("1 < 2") == 1.0);
    assert_true(ev("2 < 2") == 0.0);
    assert_true(ev("2 <= 2") == 1.0);
    assert_true(ev("3 > 4") == 0.0);
    assert_true(ev("4 >= 4") == 1.0);
    assert_true(ev("1 == 1") == 1.0);
    assert_true(ev("1 == 1.5") == 0.0);
    assert_true(ev("1 != 1") == 0.0);
    assert_true(ev("1 != 2") == 1.0);
    assert_true(ev("1 + 1 == 2") == 1.0);
    assert_true(ev("(1 < 2) == true") == 1.0);
}

static void logic_and_short_circuit(void **state)
{
    (void)state;
    assert_true(ev("true and false") == 0.0);
    assert_true(ev("true and true") == 1.0);
    assert_true(ev("false or false") == 0.0);
    assert_true(ev("2 and 3") == 1.0);       /* results are 0/1 */
    assert_true(ev("false or 5") == 1.0);
    assert_true(ev("0.5 and 0") == 0.0);
    assert_true(ev("not 0") == 1.0);
    assert_true(ev("not 7") == 0.0);

    /* The right operand is not evaluated when the left decides. */
    lookups = 0;
    assert_true(ev("false and ghost.x > 1") == 0.0);
    assert_true(ev("0 and 1 / 0") == 0.0);
    assert_true(ev("true or ghost.x") == 1.0);
    assert_true(ev("1 or 1 / 0") == 1.0);
    assert_true(ev("zero and ghost.x or a.x > 1") == 1.0);
    assert_int_equal(lookups, 2); /* zero, a.x; never ghost.x */
    /* ...and is evaluated when it does not. */
    ev_fault("true and ghost.x", TR_ENOENT, 10, 0, "missing reference");
    ev_fault("false or 1 / 0", TR_ERANGE, 12, -1, "division by zero");
}

static void references(void **state)
{
    (void)state;
    assert_true(ev("price_coinbase.price - price_binance.price") == 50.25);
    assert_true(ev("spread.value > 25") == 1.0);
    assert_true(ev("spread > 25") == 1.0); /* bare id = its value output */
    assert_true(ev("a + a.x * b.y") == 3.0);

    const char *src = "a.x + a.x * a + a.value - b.y";
    tr_expr *e = NULL;
    assert_int_equal(tr_expr_compile(src, strlen(src), &e, NULL), 0);
    assert_int_equal(tr_expr_ref_count(e), 3); /* a.x, a.value (twice), b.y */
    assert_string_equal(tr_expr_ref_at(e, 0)->node, "a");
    assert_string_equal(tr_expr_ref_at(e, 0)->output, "x");
    assert_int_equal(tr_expr_ref_at(e, 0)->column, 1);
    assert_string_equal(tr_expr_ref_at(e, 1)->node, "a");
    assert_string_equal(tr_expr_ref_at(e, 1)->output, "value");
    assert_int_equal(tr_expr_ref_at(e, 1)->column, 13);
    assert_string_equal(tr_expr_ref_at(e, 2)->node, "b");
    assert_string_equal(tr_expr_ref_at(e, 2)->output, "y");
    assert_int_equal(tr_expr_ref_at(e, 2)->node_index, UINT32_MAX);
    assert_null(tr_expr_ref_at(e, 3));
    assert_string_equal(tr_expr_source(e), src);
    assert_false(tr_expr_is_boolean(e));
    double out = 0;
    lookups = 0;
    assert_int_equal(tr_expr_eval(e, lookup, NULL, &out, NULL), 0);
    assert_true(out == 2 + 2 * 10 + 10 + 3.5);
    assert_int_equal(lookups, 5); /* per occurrence reached */
    tr_expr_free(e);

    e = NULL;
    assert_int_equal(tr_expr_compile("a > 1 and b.y < 0", 17, &e, NULL), 0);
    assert_true(tr_expr_is_boolean(e));
    tr_expr_free(e);
    assert_int_equal(tr_expr_compile("not a", 5, &e, NULL), 0);
    assert_true(tr_expr_is_boolean(e));
    tr_expr_free(e);
    assert_int_equal(tr_expr_compile("(a > 1) * 2", 11, &e, NULL), 0);
    assert_false(tr_expr_is_boolean(e));
    tr_expr_free(e);
}

static void runtime_faults(void **state)
{
    (void)state;
    ev_fault("1 / 0", TR_ERANGE, 3, -1, "division by zero");
    ev_fault("a.x / (a.x - 2)", TR_ERANGE, 5, -1, "division by zero");
    ev_fault("1 + ghost.price", TR_ENOENT, 5, 0, "missing reference");
    ev_fault("a.x + a.nope", TR_ENOENT, 7, 1, "missing reference");
    ev_fault("bad + 1", TR_ERANGE, 1, 0, "reference is not a finite number");
    ev_fault("huge * 10", TR_ERANGE, 6, -1, "arithmetic overflow");

    /* No lookup function at all: every reference is missing. */
    tr_expr *e = NULL;
    assert_int_equal(tr_expr_compile("a", 1, &e, NULL), 0);
    double out;
    assert_int_equal(tr_expr_eval(e, NULL, NULL, &out, NULL), TR_ENOENT);
    tr_expr_free(e);
}

static void compile_errors_have_columns(void **state)
{
    (void)state;
    compile_err("a.value - (a.value * 2))", 24, "unexpected ')' at column 24");
    compile_err("1 +", 4, "unexpected end of expression at column 4");
    compile_err("(1 + 2", 7, "missing ')' at column 7");
    compile_err("(1 + 2 3)", 8, "unexpected '3' at column 8");
    compile_err("1 < 2 < 3", 7, "comparisons cannot be chained (use 'and') at column 7");
    compile_err("1 = 2", 3, "unexpected character '=' at column 3");
    compile_err("1 ! 2", 3, "unexpected character '!' at column 3");
    compile_err("x # y", 3, "unexpected character '#' at column 3");
    compile_err("1e", 1, "invalid number '1e' at column 1");
    compile_err("2 * 1.2.3", 5, "invalid number '1.2.3' at column 5");
    compile_err("12abc", 1, "invalid number '12abc' at column 1");
    compile_err("3.", 1, "invalid number '3.' at column 1");
    compile_err(".5", 1, "unexpected '.' at column 1");
    compile_err("a.", 3, "expected an output name after '.' at column 3");
    compile_err("a. b", 4, "expected an output name after '.' at column 4");
    compile_err("a.b.c", 4, "a reference is node.output, unexpected '.' at column 4");
    compile_err("and", 1, "unexpected 'and' at column 1");
    compile_err("a.true", 3, "expected an output name after '.' at column 3");
    compile_err("price >", 8, "unexpected end of expression at column 8");
    compile_err("()", 2, "unexpected ')' at column 2");
    compile_err("", 0, "empty expression");
    compile_err("   ", 0, "empty expression");
    compile_err("1 2", 3, "unexpected '2' at column 3");
    compile_err("a\xc3\xa9", 2, "unexpected non-ASCII character at column 2");
    const char nul[] = {'1', '+', '\0', '2'};
    tr_expr *e = NULL;
    tr_expr_error err;
    assert_int_equal(tr_expr_compile(nul, 4, &e, &err), TR_EINVAL);
    assert_string_equal(err.message, "unexpected NUL byte at column 3");
    /* err may be NULL */
    assert_int_equal(tr_expr_compile(")", 1, &e, NULL), TR_EINVAL);
}

static void limits(void **state)
{
    (void)state;
    char buf[TR_EXPR_MAX_LEN + 64];
    /* 32 levels of parentheses are fine, 33 are not. */
    int n = 0;
    for (int i = 0; i < TR_EXPR_MAX_DEPTH; i++)
        buf[n++] = '(';
    buf[n++] = '7';
    for (int i = 0; i < TR_EXPR_MAX_DEPTH; i++)
        buf[n++] = ')';
    buf[n] = '\0';
    assert_true(ev(buf) == 7.0);
    n = 0;
    for (int i = 0; i < TR_EXPR_MAX_DEPTH + 1; i++)
        buf[n++] = '(';
    buf[n++] = '7';
    for (int i = 0; i < TR_EXPR_MAX_DEPTH + 1; i++)
        buf[n++] = ')';
    buf[n] = '\0';
    compile_err(buf, 33, "expression nested too deeply (limit 32) at column 33");
    /* unary chains count as nesting too (no unbounded recursion) */
    n = 0;
    for (int i = 0; i < 40; i++)
        buf[n++] = '-';
    buf[n++] = '1';
    buf[n] = '\0';
    compile_err(buf, 33, "expression nested too deeply (limit 32) at column 33");
    n = 0;
    for (int i = 0; i < 40; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "not ");
    buf[n++] = '1';
    buf[n] = '\0';
    compile_err(buf, 129, "expression nested too deeply (limit 32) at column 129");

    /* A long flat chain is not nesting: 400 terms, small stack. */
    n = 0;
    for (int i = 0; i < 400; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s1", i ? "+" : "");
    assert_true(n <= TR_EXPR_MAX_LEN);
    assert_true(ev(buf) == 400.0);
    /* Right-leaning chains within the depth limit fit the stack. */
    n = 0;
    for (int i = 0; i < 31; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "1 + 2 * (");
    n += snprintf(buf + n, sizeof buf - (size_t)n, "1");
    for (int i = 0; i < 31; i++)
        buf[n++] = ')';
    buf[n] = '\0';
    assert_true(ev(buf) > 0);

    memset(buf, '1', TR_EXPR_MAX_LEN + 1);
    tr_expr *e = NULL;
    tr_expr_error err;
    assert_int_equal(tr_expr_compile(buf, TR_EXPR_MAX_LEN + 1, &e, &err), TR_EINVAL);
    assert_string_equal(err.message, "expression too long (1025 bytes, limit 1024)");
}

static void shared_across_evaluations(void **state)
{
    (void)state;
    /* The compiled form is reusable and stateless: many evaluations agree. */
    tr_expr *e = NULL;
    const char *src = "spread.value > 25 and not (a.x == 3)";
    assert_int_equal(tr_expr_compile(src, strlen(src), &e, NULL), 0);
    for (int i = 0; i < 100000; i++) {
        double out = -1;
        assert_int_equal(tr_expr_eval(e, lookup, NULL, &out, NULL), 0);
        if (out != 1.0)
            fail_msg("iteration %d gave %g", i, out);
    }
    tr_expr_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers_and_booleans),
        cmocka_unit_test(precedence_and_associativity),
        cmocka_unit_test(comparisons),
        cmocka_unit_test(logic_and_short_circuit),
        cmocka_unit_test(references),
        cmocka_unit_test(runtime_faults),
        cmocka_unit_test(compile_errors_have_columns),
        cmocka_unit_test(limits),
        cmocka_unit_test(shared_across_evaluations),
    };
    return cmocka_run_group_tests_name("workflow.expr", tests, NULL, NULL);
}
