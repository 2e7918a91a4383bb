/* test_ops.c - ops.c: arithmetic over f64/i64/bool mixes, scalars on
 * either side, comparisons and Kleene logic with missing values, string
 * equality within and across dictionaries, unary functions, clip,
 * fill_missing, filter, take, error messages and interrupts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry/registry_int.h"

#define M TRL_BOOL_MISSING
#define N(a) (sizeof(a) / sizeof *(a))

/* ---- building and checking columns ------------------------------------------ */

static trl_column *f64_col(const double *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_F64, n, NULL);
    assert_non_null(c);
    memcpy(c->v.f64, v, n * sizeof *v);
    return c;
}

/* valid may be NULL (none missing). */
static trl_column *i64_col(const int64_t *v, const uint8_t *valid, size_t n)
{
    trl_column *c = trl_column_new(TRL_I64, n, NULL);
    assert_non_null(c);
    memcpy(c->v.i64, v, n * sizeof *v);
    if (valid) {
        assert_non_null(c->valid = malloc(n));
        memcpy(c->valid, valid, n);
    }
    return c;
}

static trl_column *bool_col(const uint8_t *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_BOOL, n, NULL);
    assert_non_null(c);
    memcpy(c->v.b, v, n);
    return c;
}

/* Strings interned into dict (NULL: a new one); NULL entries are missing. */
static trl_column *str_col(trl_strdict *dict, const char *const *s, size_t n)
{
    trl_column *c = trl_column_new(TRL_STR, n, dict);
    assert_non_null(c);
    for (size_t i = 0; i < n; i++)
        c->v.codes[i] = s[i] ? trl_strdict_intern(c->dict, s[i], strlen(s[i]))
                             : -1;
    return c;
}

/* c is f64 with exactly the values want (NaN matches NaN, and the sign of
 * zero is ignored); then c is released. */
static void expect_f64(trl_column *c, const double *want, size_t n)
{
    assert_non_null(c);
    assert_int_equal(c->type, TRL_F64);
    assert_int_equal(c->len, n);
    assert_int_equal(c->refcount, 1);
    for (size_t i = 0; i < n; i++) {
        double got = c->v.f64[i];
        if (isnan(want[i]) ? !isnan(got) : got != want[i])
            fail_msg("row %zu: got %.17g, want %.17g", i, got, want[i]);
    }
    trl_column_decref(c);
}

static void expect_bool(trl_column *c, const uint8_t *want, size_t n)
{
    assert_non_null(c);
    assert_int_equal(c->type, TRL_BOOL);
    assert_int_equal(c->len, n);
    assert_int_equal(c->refcount, 1);
    for (size_t i = 0; i < n; i++)
        if (c->v.b[i] != want[i])
            fail_msg("row %zu: got %d, want %d", i, c->v.b[i], want[i]);
    trl_column_decref(c);
}

/* The call failed with code and a message containing part. */
static void expect_error(trl_column *c, const trl_error *err, int code,
                         const char *part)
{
    assert_null(c);
    assert_int_equal(err->code, code);
    if (!strstr(err->message, part))
        fail_msg("message '%s' lacks '%s'", err->message, part);
}

/* ---- arithmetic --------------------------------------------------------------- */

static void test_arith_f64(void **state)
{
    (void)state;
    double a[] = {1, -5, 5, NAN, 2.5, 7};
    double b[] = {2, 3, -3, 1, 0, NAN};
    trl_column *x = f64_col(a, 6), *y = f64_col(b, 6);
    trl_error err = {0};
    expect_f64(trl_column_binop(TRL_OP_ADD, x, y, &err),
               (double[]){3, -2, 2, NAN, 2.5, NAN}, 6);
    expect_f64(trl_column_binop(TRL_OP_SUB, x, y, &err),
               (double[]){-1, -8, 8, NAN, 2.5, NAN}, 6);
    expect_f64(trl_column_binop(TRL_OP_MUL, x, y, &err),
               (double[]){2, -15, -15, NAN, 0, NAN}, 6);
    expect_f64(trl_column_binop(TRL_OP_DIV, x, y, &err),
               (double[]){0.5, -5.0 / 3, -5.0 / 3, NAN, INFINITY, NAN}, 6);
    expect_f64(trl_column_binop(TRL_OP_POW, x, y, &err),
               (double[]){1, -125, pow(5, -3), NAN, 1, NAN}, 6);
    /* Lua's modulo: the sign of the divisor; x % 0 is NaN for floats */
    expect_f64(trl_column_binop(TRL_OP_MOD, x, y, &err),
               (double[]){1, 1, -1, NAN, NAN, NAN}, 6);
    /* operands never change */
    assert_true(x->v.f64[1] == -5 && y->v.f64[2] == -3);
    assert_int_equal(x->refcount, 1);
    trl_column_decref(x);
    trl_column_decref(y);
}

static void test_lua_modulo(void **state)
{
    (void)state;
    double a[] = {-5, 5, -5, 5, 5.5, -0.5, 6, -6, 1e300, 3};
    double b[] = {3, -3, -3, 3, 2, 1, 3, 3, 7, INFINITY};
    trl_column *x = f64_col(a, N(a)), *y = f64_col(b, N(b));
    expect_f64(trl_column_binop(TRL_OP_MOD, x, y, NULL),
               (double[]){1, -1, -2, 2, 1.5, 0.5, 0, 0, fmod(1e300, 7), 3},
               N(a));
    trl_column_decref(x);
    trl_column_decref(y);

    /* the same through i64 columns and scalars */
    int64_t ia[] = {-5, 5, -7};
    trl_column *i = i64_col(ia, NULL, 3);
    expect_f64(trl_column_binop_scalar(TRL_OP_MOD, i, 3, 0, NULL),
               (double[]){1, 2, 2}, 3);
    expect_f64(trl_column_binop_scalar(TRL_OP_MOD, i, -3, 0, NULL),
               (double[]){-2, -1, -1}, 3);
    /* scalar on the left: 7 % col */
    expect_f64(trl_column_binop_scalar(TRL_OP_MOD, i, 7, 1, NULL),
               (double[]){-3, 2, 0}, 3);
    trl_column_decref(i);
}

/* i64 and bool act as numbers; every result is f64, missing gives NaN. */
static void test_arith_mixed_types(void **state)
{
    (void)state;
    int64_t iv[] = {10, -5, 7, 3, 0};
    uint8_t valid[] = {1, 1, 0, 1, 1};
    uint8_t bv[] = {1, 0, 1, M, 1};
    double fv[] = {0.5, NAN, 2, 2, -1};
    trl_column *i = i64_col(iv, valid, 5), *b = bool_col(bv, 5),
               *f = f64_col(fv, 5);
    trl_error err = {0};
    expect_f64(trl_column_binop(TRL_OP_ADD, i, b, &err),
               (double[]){11, -5, NAN, NAN, 1}, 5);
    expect_f64(trl_column_binop(TRL_OP_MUL, b, f, &err),
               (double[]){0.5, NAN, 2, NAN, -1}, 5);
    expect_f64(trl_column_binop(TRL_OP_SUB, f, i, &err),
               (double[]){-9.5, NAN, NAN, -1, -1}, 5);
    expect_f64(trl_column_binop(TRL_OP_DIV, i, f, &err),
               (double[]){20, NAN, NAN, 1.5, -0.0}, 5);
    expect_f64(trl_column_binop(TRL_OP_DIV, i, i, &err),
               (double[]){1, 1, NAN, 1, NAN}, 5);  /* 0 / 0 */
    expect_f64(trl_column_binop(TRL_OP_ADD, b, b, &err),
               (double[]){2, 0, 2, NAN, 2}, 5);
    expect_f64(trl_column_binop(TRL_OP_POW, i, b, &err),
               (double[]){10, 1, NAN, NAN, 0}, 5);
    expect_f64(trl_column_binop(TRL_OP_MOD, i, f, &err),
               (double[]){0, NAN, NAN, 1, 0}, 5);
    trl_column_decref(i);
    trl_column_decref(b);
    trl_column_decref(f);
}

/* pow follows C, NumPy and pandas: x^0 is 1 and 1^y is 1 even when the
 * other side is missing; every other arithmetic op keeps it missing. */
static void test_pow_with_missing(void **state)
{
    (void)state;
    double a[] = {NAN, 1, 2};
    double b[] = {0, NAN, NAN};
    trl_column *x = f64_col(a, 3), *y = f64_col(b, 3);
    expect_f64(trl_column_binop(TRL_OP_POW, x, y, NULL),
               (double[]){1, 1, NAN}, 3);
    for (trl_binop op = TRL_OP_ADD; op <= TRL_OP_MOD; op++) {
        if (op == TRL_OP_POW)
            continue;
        trl_column *r = trl_column_binop(op, x, y, NULL);
        assert_non_null(r);
        for (size_t i = 0; i < 3; i++)
            assert_true(isnan(r->v.f64[i]));
        trl_column_decref(r);
    }
    trl_column_decref(x);
    trl_column_decref(y);
}

/* x op col and col op x for every arithmetic op, through the fast f64 path
 * and the generic one (i64 with missing). */
static void test_scalar_both_sides(void **state)
{
    (void)state;
    double v[] = {4, -2, NAN, 0.5};
    trl_column *f = f64_col(v, 4);
    int64_t iv[] = {4, -2, 99, 1};
    uint8_t valid[] = {1, 1, 0, 1};
    trl_column *i = i64_col(iv, valid, 4);
    trl_error err = {0};

    expect_f64(trl_column_binop_scalar(TRL_OP_SUB, f, 10, 0, &err),
               (double[]){-6, -12, NAN, -9.5}, 4);
    expect_f64(trl_column_binop_scalar(TRL_OP_SUB, f, 10, 1, &err),
               (double[]){6, 12, NAN, 9.5}, 4);
    expect_f64(trl_column_binop_scalar(TRL_OP_DIV, f, 1, 1, &err),
               (double[]){0.25, -0.5, NAN, 2}, 4);
    expect_f64(trl_column_binop_scalar(TRL_OP_DIV, f, 2, 0, &err),
               (double[]){2, -1, NAN, 0.25}, 4);
    expect_f64(trl_column_binop_scalar(TRL_OP_ADD, f, 1, 1, &err),
               (double[]){5, -1, NAN, 1.5}, 4);
    expect_f64(trl_column_binop_scalar(TRL_OP_MUL, f, -2, 0, &err),
               (double[]){-8, 4, NAN, -1}, 4);
    expect_f64(trl_column_binop_scalar(TRL_OP_POW, f, 2, 0, &err),
               (double[]){16, 4, NAN, 0.25}, 4);
    expect_f64(trl_column_binop_scalar(TRL_OP_POW, f, 2, 1, &err),
               (double[]){16, 0.25, NAN, pow(2, 0.5)}, 4);

    expect_f64(trl_column_binop_scalar(TRL_OP_SUB, i, 10, 0, &err),
               (double[]){-6, -12, NAN, -9}, 4);
    expect_f64(trl_column_binop_scalar(TRL_OP_SUB, i, 10, 1, &err),
               (double[]){6, 12, NAN, 9}, 4);
    expect_f64(trl_column_binop_scalar(TRL_OP_DIV, i, 1, 1, &err),
               (double[]){0.25, -0.5, NAN, 1}, 4);
    expect_f64(trl_column_binop_scalar(TRL_OP_DIV, i, 4, 0, &err),
               (double[]){1, -0.5, NAN, 0.25}, 4);

    uint8_t bv[] = {1, 0, M};
    trl_column *b = bool_col(bv, 3);
    expect_f64(trl_column_binop_scalar(TRL_OP_SUB, b, 1, 1, &err),
               (double[]){0, 1, NAN}, 3);
    trl_column_decref(b);
    trl_column_decref(f);
    trl_column_decref(i);
}

/* ---- comparisons and logic -------------------------------------------------------- */

static void test_comparisons(void **state)
{
    (void)state;
    double a[] = {1, 2, 3, NAN, 5};
    int64_t bv[] = {2, 2, 2, 2, 0};
    uint8_t valid[] = {1, 1, 1, 1, 0};
    trl_column *x = f64_col(a, 5), *y = i64_col(bv, valid, 5);
    trl_error err = {0};
    expect_bool(trl_column_binop(TRL_OP_EQ, x, y, &err),
                (uint8_t[]){0, 1, 0, M, M}, 5);
    expect_bool(trl_column_binop(TRL_OP_NE, x, y, &err),
                (uint8_t[]){1, 0, 1, M, M}, 5);
    expect_bool(trl_column_binop(TRL_OP_LT, x, y, &err),
                (uint8_t[]){1, 0, 0, M, M}, 5);
    expect_bool(trl_column_binop(TRL_OP_LE, x, y, &err),
                (uint8_t[]){1, 1, 0, M, M}, 5);
    expect_bool(trl_column_binop(TRL_OP_GT, x, y, &err),
                (uint8_t[]){0, 0, 1, M, M}, 5);
    expect_bool(trl_column_binop(TRL_OP_GE, x, y, &err),
                (uint8_t[]){0, 1, 1, M, M}, 5);

    /* with a scalar, on either side */
    expect_bool(trl_column_binop_scalar(TRL_OP_LT, x, 2, 0, &err),
                (uint8_t[]){1, 0, 0, M, 0}, 5);
    expect_bool(trl_column_binop_scalar(TRL_OP_LT, x, 2, 1, &err),
                (uint8_t[]){0, 0, 1, M, 1}, 5);
    expect_bool(trl_column_binop_scalar(TRL_OP_GE, y, 2, 1, &err),
                (uint8_t[]){1, 1, 1, 1, M}, 5);
    expect_bool(trl_column_binop_scalar(TRL_OP_EQ, y, 2, 0, &err),
                (uint8_t[]){1, 1, 1, 1, M}, 5);
    expect_bool(trl_column_binop_scalar(TRL_OP_NE, x, 3, 0, &err),
                (uint8_t[]){1, 1, 0, M, 1}, 5);

    /* bool compared with numbers: 0/1 */
    uint8_t bb[] = {1, 0, M, 1, 0};
    trl_column *b = bool_col(bb, 5);
    expect_bool(trl_column_binop(TRL_OP_GT, b, x, &err),
                (uint8_t[]){0, 0, M, M, 0}, 5);
    expect_bool(trl_column_binop_scalar(TRL_OP_EQ, b, 1, 0, &err),
                (uint8_t[]){1, 0, M, 1, 0}, 5);
    trl_column_decref(b);
    trl_column_decref(x);
    trl_column_decref(y);
}

/* Kleene logic: the full 3 x 3 truth tables. */
static void test_kleene_logic(void **state)
{
    (void)state;
    uint8_t l[] = {0, 0, 0, 1, 1, 1, M, M, M};
    uint8_t r[] = {0, 1, M, 0, 1, M, 0, 1, M};
    trl_column *a = bool_col(l, 9), *b = bool_col(r, 9);
    trl_error err = {0};
    expect_bool(trl_column_binop(TRL_OP_AND, a, b, &err),
                (uint8_t[]){0, 0, 0, 0, 1, M, 0, M, M}, 9);
    expect_bool(trl_column_binop(TRL_OP_OR, a, b, &err),
                (uint8_t[]){0, 1, M, 1, 1, 1, M, 1, M}, 9);
    /* symmetric */
    expect_bool(trl_column_binop(TRL_OP_AND, b, a, &err),
                (uint8_t[]){0, 0, 0, 0, 1, M, 0, M, M}, 9);
    expect_bool(trl_column_binop(TRL_OP_OR, b, a, &err),
                (uint8_t[]){0, 1, M, 1, 1, 1, M, 1, M}, 9);

    /* logic with a number is refused */
    trl_column *c = trl_column_binop_scalar(TRL_OP_AND, a, 1, 0, &err);
    expect_error(c, &err, TRL_EINVAL, "'and' needs two bool columns");
    trl_column_decref(a);
    trl_column_decref(b);
}

/* ---- strings ------------------------------------------------------------------------- */

static void test_string_equality(void **state)
{
    (void)state;
    const char *s1[] = {"apple", "pear", NULL, "fig", "pear", "apple"};
    const char *s2[] = {"apple", "apple", "fig", NULL, "pear", "fig"};
    trl_error err = {0};

    /* one dictionary */
    trl_strdict *d = trl_strdict_new();
    trl_column *a = str_col(d, s1, 6), *b = str_col(d, s2, 6);
    assert_ptr_equal(a->dict, b->dict);
    expect_bool(trl_column_binop(TRL_OP_EQ, a, b, &err),
                (uint8_t[]){1, 0, M, M, 1, 0}, 6);
    expect_bool(trl_column_binop(TRL_OP_NE, a, b, &err),
                (uint8_t[]){0, 1, M, M, 0, 1}, 6);
    trl_column_decref(b);
    trl_strdict_decref(d);

    /* another dictionary, interned in another order, with a prefix of a
     * string and a string of the same length */
    trl_strdict *d2 = trl_strdict_new();
    assert_int_equal(trl_strdict_intern(d2, "fig", 3), 0);
    assert_int_equal(trl_strdict_intern(d2, "app", 3), 1);
    assert_int_equal(trl_strdict_intern(d2, "peas", 4), 2);
    const char *s3[] = {"apple", "peas", "fig", "app", "pear", "fig"};
    b = str_col(d2, s3, 6);
    assert_ptr_not_equal(a->dict, b->dict);
    expect_bool(trl_column_binop(TRL_OP_EQ, a, b, &err),
                (uint8_t[]){1, 0, M, 0, 1, 0}, 6);
    expect_bool(trl_column_binop(TRL_OP_NE, b, a, &err),
                (uint8_t[]){0, 1, M, 1, 0, 1}, 6);
    trl_column_decref(b);
    trl_strdict_decref(d2);

    /* with a literal */
    expect_bool(trl_column_cmp_str(TRL_OP_EQ, a, "pear", 4, &err),
                (uint8_t[]){0, 1, M, 0, 1, 0}, 6);
    expect_bool(trl_column_cmp_str(TRL_OP_NE, a, "pear", 4, &err),
                (uint8_t[]){1, 0, M, 1, 0, 1}, 6);
    /* length counts, not the NUL: "pea" of "pear" */
    expect_bool(trl_column_cmp_str(TRL_OP_EQ, a, "pear", 3, &err),
                (uint8_t[]){0, 0, M, 0, 0, 0}, 6);
    /* a string the dictionary does not hold */
    expect_bool(trl_column_cmp_str(TRL_OP_EQ, a, "kiwi", 4, &err),
                (uint8_t[]){0, 0, M, 0, 0, 0}, 6);
    expect_bool(trl_column_cmp_str(TRL_OP_NE, a, "kiwi", 4, &err),
                (uint8_t[]){1, 1, M, 1, 1, 1}, 6);

    /* an empty dictionary, all missing */
    trl_column *e = trl_column_new(TRL_STR, 2, NULL);
    expect_bool(trl_column_cmp_str(TRL_OP_EQ, e, "x", 1, &err),
                (uint8_t[]){M, M}, 2);

    /* only == and ~=, only on str columns */
    trl_column *c = trl_column_cmp_str(TRL_OP_LT, a, "x", 1, &err);
    expect_error(c, &err, TRL_EINVAL, "'<' with a string");
    double v[] = {1, 2};
    trl_column *f = f64_col(v, 2);
    c = trl_column_cmp_str(TRL_OP_EQ, f, "x", 1, &err);
    expect_error(c, &err, TRL_EINVAL, "needs a str column");
    c = trl_column_binop(TRL_OP_LT, a, a, &err);
    expect_error(c, &err, TRL_EINVAL, "'<' is not defined for str and str");
    c = trl_column_binop(TRL_OP_EQ, e, f, &err);
    expect_error(c, &err, TRL_EINVAL, "'==' is not defined for str and f64");
    trl_column_decref(f);
    trl_column_decref(e);
    trl_column_decref(a);
}

static void test_length_mismatch(void **state)
{
    (void)state;
    double a[] = {1, 2, 3}, b[] = {1, 2, 3, 4};
    trl_column *x = f64_col(a, 3), *y = f64_col(b, 4);
    trl_error err = {0};
    trl_column *c = trl_column_binop(TRL_OP_ADD, x, y, &err);
    expect_error(c, &err, TRL_EINVAL,
                 "columns have 3 and 4 rows: '+' needs equal lengths");
    c = trl_column_binop(TRL_OP_GE, y, x, &err);
    expect_error(c, &err, TRL_EINVAL,
                 "columns have 4 and 3 rows: '>=' needs equal lengths");
    const char *s[] = {"a", "b"};
    trl_column *t = str_col(NULL, s, 2), *u = str_col(NULL, s, 2);
    c = trl_column_binop(TRL_OP_EQ, t, x, &err);
    expect_error(c, &err, TRL_EINVAL, "columns have 2 and 3 rows");
    trl_column_decref(t);
    trl_column_decref(u);
    trl_column_decref(x);
    trl_column_decref(y);
}

/* Arithmetic on strings fails with a message naming the types. */
static void test_string_arithmetic_errors(void **state)
{
    (void)state;
    const char *s[] = {"1", "2"};
    trl_column *t = str_col(NULL, s, 2);
    double v[] = {1, 2};
    trl_column *f = f64_col(v, 2);
    trl_error err = {0};
    trl_column *c = trl_column_binop(TRL_OP_ADD, t, t, &err);
    expect_error(c, &err, TRL_EINVAL, "'+' is not defined for str and str");
    c = trl_column_binop(TRL_OP_MUL, f, t, &err);
    expect_error(c, &err, TRL_EINVAL, "'*' is not defined for f64 and str");
    c = trl_column_binop(TRL_OP_AND, t, t, &err);
    expect_error(c, &err, TRL_EINVAL, "'and' is not defined");
    c = trl_column_binop_scalar(TRL_OP_SUB, t, 1, 1, &err);
    expect_error(c, &err, TRL_EINVAL, "'-' with a number is not defined "
                 "for a str column");
    c = trl_column_binop_scalar(TRL_OP_EQ, t, 1, 0, &err);
    expect_error(c, &err, TRL_EINVAL, "for a str column");
    c = trl_column_unop(TRL_FN_NEG, t, &err);
    expect_error(c, &err, TRL_EINVAL, "needs a numeric column, not str");
    c = trl_column_unop(TRL_FN_NOT, t, &err);
    expect_error(c, &err, TRL_EINVAL, "numeric column");
    c = trl_column_clip(t, 0, 1, &err);
    expect_error(c, &err, TRL_EINVAL, "clip needs a numeric column");
    c = trl_column_fill_missing(t, 0, &err);
    expect_error(c, &err, TRL_EINVAL, "fill_missing");
    trl_column_decref(t);
    trl_column_decref(f);
}

/* ---- unary functions, clip, fill_missing -------------------------------------------- */

static void test_unop(void **state)
{
    (void)state;
    double v[] = {4, -1, 0, NAN, -0.0, 1};
    trl_column *f = f64_col(v, 6);
    trl_error err = {0};
    expect_f64(trl_column_unop(TRL_FN_NEG, f, &err),
               (double[]){-4, 1, 0, NAN, 0, -1}, 6);
    expect_f64(trl_column_unop(TRL_FN_LOG, f, &err),
               (double[]){log(4), NAN, -INFINITY, NAN, -INFINITY, 0}, 6);
    expect_f64(trl_column_unop(TRL_FN_EXP, f, &err),
               (double[]){exp(4), exp(-1), 1, NAN, 1, exp(1)}, 6);
    expect_f64(trl_column_unop(TRL_FN_SQRT, f, &err),
               (double[]){2, NAN, 0, NAN, 0, 1}, 6);
    expect_f64(trl_column_unop(TRL_FN_ABS, f, &err),
               (double[]){4, 1, 0, NAN, 0, 1}, 6);
    expect_bool(trl_column_unop(TRL_FN_NOT, f, &err),
                (uint8_t[]){0, 0, 1, M, 1, 0}, 6);
    trl_column *neg = trl_column_unop(TRL_FN_NEG, f, &err);
    assert_false(signbit(neg->v.f64[2]) == signbit(f->v.f64[2]));
    trl_column_decref(neg);
    trl_column_decref(f);

    int64_t iv[] = {-3, 9, 0};
    uint8_t valid[] = {1, 1, 0};
    trl_column *i = i64_col(iv, valid, 3);
    expect_f64(trl_column_unop(TRL_FN_ABS, i, &err),
               (double[]){3, 9, NAN}, 3);
    expect_f64(trl_column_unop(TRL_FN_SQRT, i, &err),
               (double[]){NAN, 3, NAN}, 3);
    expect_bool(trl_column_unop(TRL_FN_NOT, i, &err),
                (uint8_t[]){0, 0, M}, 3);
    trl_column_decref(i);

    uint8_t bv[] = {1, 0, M};
    trl_column *b = bool_col(bv, 3);
    expect_bool(trl_column_unop(TRL_FN_NOT, b, &err),
                (uint8_t[]){0, 1, M}, 3);
    expect_f64(trl_column_unop(TRL_FN_NEG, b, &err),
               (double[]){-1, 0, NAN}, 3);
    trl_column_decref(b);
}

static void test_clip(void **state)
{
    (void)state;
    double v[] = {-5, 0, 2.5, 10, NAN, INFINITY};
    trl_column *f = f64_col(v, 6);
    trl_error err = {0};
    expect_f64(trl_column_clip(f, 0, 3, &err),
               (double[]){0, 0, 2.5, 3, NAN, 3}, 6);
    expect_f64(trl_column_clip(f, 1, 1, &err),
               (double[]){1, 1, 1, 1, NAN, 1}, 6);
    expect_f64(trl_column_clip(f, -INFINITY, INFINITY, &err), v, 6);
    trl_column *c = trl_column_clip(f, 3, 0, &err);
    expect_error(c, &err, TRL_EINVAL,
                 "clip: the lower bound is above the upper one");
    trl_column_decref(f);

    int64_t iv[] = {-7, 4, 100};
    uint8_t valid[] = {1, 0, 1};
    trl_column *i = i64_col(iv, valid, 3);
    expect_f64(trl_column_clip(i, -1, 50, &err), (double[]){-1, NAN, 50}, 3);
    trl_column_decref(i);
}

static void test_fill_missing(void **state)
{
    (void)state;
    double v[] = {NAN, 1.5, NAN, -2};
    trl_column *f = f64_col(v, 4);
    trl_error err = {0};
    expect_f64(trl_column_fill_missing(f, 0, &err),
               (double[]){0, 1.5, 0, -2}, 4);
    assert_true(isnan(f->v.f64[0]));  /* the operand is unchanged */
    trl_column_decref(f);

    int64_t iv[] = {3, 123, 5};
    uint8_t valid[] = {1, 0, 1};
    trl_column *i = i64_col(iv, valid, 3);
    expect_f64(trl_column_fill_missing(i, -1, &err), (double[]){3, -1, 5}, 3);
    trl_column_decref(i);

    uint8_t bv[] = {M, 1, 0};
    trl_column *b = bool_col(bv, 3);
    expect_f64(trl_column_fill_missing(b, 0.5, &err),
               (double[]){0.5, 1, 0}, 3);
    trl_column_decref(b);
}

/* ---- filter and take ----------------------------------------------------------------------- */

static void test_filter(void **state)
{
    (void)state;
    uint8_t mv[] = {1, 0, M, 1, 1};
    trl_column *mask = bool_col(mv, 5);
    trl_error err = {0};

    double fv[] = {10, 20, 30, 40, NAN};
    trl_column *f = f64_col(fv, 5);
    expect_f64(trl_column_filter(f, mask, &err), (double[]){10, 40, NAN}, 3);

    int64_t iv[] = {1, 2, 3, 4, 5};
    uint8_t valid[] = {1, 1, 1, 0, 1};
    trl_column *i = i64_col(iv, valid, 5);
    trl_column *r = trl_column_filter(i, mask, &err);
    assert_non_null(r);
    assert_int_equal(r->type, TRL_I64);
    assert_int_equal(r->len, 3);
    assert_non_null(r->valid);
    assert_true(r->v.i64[0] == 1 && r->v.i64[2] == 5);
    assert_true(r->valid[0] == 1 && r->valid[1] == 0 && r->valid[2] == 1);
    trl_column_decref(r);

    const char *s[] = {"a", "b", "c", NULL, "a"};
    trl_column *t = str_col(NULL, s, 5);
    r = trl_column_filter(t, mask, &err);
    assert_non_null(r);
    assert_int_equal(r->type, TRL_STR);
    assert_ptr_equal(r->dict, t->dict);
    assert_int_equal(r->len, 3);
    assert_true(r->v.codes[0] == t->v.codes[0] && r->v.codes[1] == -1 &&
                r->v.codes[2] == t->v.codes[4]);
    trl_column_decref(r);

    r = trl_column_filter(mask, mask, &err);
    expect_bool(r, (uint8_t[]){1, 1, 1}, 3);

    /* nothing kept */
    uint8_t none[] = {0, 0, M, 0, 0};
    trl_column *m0 = bool_col(none, 5);
    expect_f64(trl_column_filter(f, m0, &err), NULL, 0);
    trl_column_decref(m0);

    /* errors */
    r = trl_column_filter(f, f, &err);
    expect_error(r, &err, TRL_EINVAL, "needs a bool mask of 5 rows (got f64");
    r = trl_column_filter(f, i, &err);
    expect_error(r, &err, TRL_EINVAL, "(got i64");
    uint8_t shortv[] = {1, 1};
    trl_column *m2 = bool_col(shortv, 2);
    r = trl_column_filter(f, m2, &err);
    expect_error(r, &err, TRL_EINVAL, "rows");
    trl_column_decref(m2);

    trl_column_decref(mask);
    trl_column_decref(f);
    trl_column_decref(i);
    trl_column_decref(t);
}

static void test_take(void **state)
{
    (void)state;
    double fv[] = {10, 20, NAN, 40};
    trl_column *f = f64_col(fv, 4);
    size_t idx[] = {3, 0, 0, 2};
    trl_error err = {0};
    expect_f64(trl_column_take(f, idx, 4, &err), (double[]){40, 10, 10, NAN},
               4);
    expect_f64(trl_column_take(f, idx, 0, &err), NULL, 0);

    int64_t iv[] = {1, 2, 3, 4};
    uint8_t valid[] = {1, 1, 0, 1};
    trl_column *i = i64_col(iv, valid, 4);
    trl_column *r = trl_column_take(i, idx, 4, &err);
    assert_non_null(r);
    assert_int_equal(r->type, TRL_I64);
    assert_true(r->v.i64[0] == 4 && r->v.i64[1] == 1 && r->v.i64[2] == 1);
    assert_true(r->valid[0] && r->valid[1] && r->valid[2] && !r->valid[3]);
    trl_column_decref(r);
    trl_column *i2 = i64_col(iv, NULL, 4);
    r = trl_column_take(i2, idx, 2, &err);
    assert_null(r->valid);
    trl_column_decref(r);
    trl_column_decref(i2);

    uint8_t bv[] = {1, 0, M, 1};
    trl_column *b = bool_col(bv, 4);
    expect_bool(trl_column_take(b, idx, 4, &err), (uint8_t[]){1, 1, 1, M}, 4);
    trl_column_decref(b);

    const char *s[] = {"x", "y", NULL, "z"};
    trl_column *t = str_col(NULL, s, 4);
    int refs = t->dict->refcount;
    r = trl_column_take(t, idx, 4, &err);
    assert_ptr_equal(r->dict, t->dict);
    assert_int_equal(t->dict->refcount, refs + 1);  /* shared, not copied */
    assert_string_equal(r->dict->strs[r->v.codes[0]], "z");
    assert_int_equal(r->v.codes[3], -1);
    trl_column_decref(r);
    assert_int_equal(t->dict->refcount, refs);

    trl_column_decref(t);
    trl_column_decref(i);
    trl_column_decref(f);
}

/* ---- interrupts -------------------------------------------------------------------------------- */

static int always_interrupt(void)
{
    return 1;
}

/* Every operation over more than TRL__POLL_ROWS rows stops with TRL_EINTR,
 * on the fast f64 paths and the generic ones alike. */
static void test_interrupt(void **state)
{
    (void)state;
    size_t n = TRL__POLL_ROWS + 1;
    trl_column *f = trl_column_new(TRL_F64, n, NULL);
    trl_column *i = trl_column_new(TRL_I64, n, NULL);
    trl_column *b = trl_column_new(TRL_BOOL, n, NULL);
    trl_column *s1 = trl_column_new(TRL_STR, n, NULL);
    trl_column *s2 = trl_column_new(TRL_STR, n, NULL);
    assert_true(f && i && b && s1 && s2);
    memset(b->v.b, 1, n);
    size_t *idx = calloc(n, sizeof *idx);
    assert_non_null(idx);
    trl_error err;

#define EXPECT_EINTR(call)                                                  \
    do {                                                                    \
        trl_error_clear(&err);                                              \
        trl_column *r_ = (call);                                            \
        if (r_)                                                             \
            fail_msg("%s was not interrupted", #call);                      \
        assert_int_equal(err.code, TRL_EINTR);                              \
        assert_string_equal(err.message, "interrupted");                    \
    } while (0)

    trl_registry_set_interrupt(always_interrupt);
    EXPECT_EINTR(trl_column_binop(TRL_OP_ADD, f, f, &err));
    EXPECT_EINTR(trl_column_binop(TRL_OP_DIV, f, f, &err));
    EXPECT_EINTR(trl_column_binop(TRL_OP_MOD, f, f, &err));
    EXPECT_EINTR(trl_column_binop(TRL_OP_ADD, i, f, &err));
    EXPECT_EINTR(trl_column_binop(TRL_OP_LT, i, f, &err));
    EXPECT_EINTR(trl_column_binop(TRL_OP_AND, b, b, &err));
    EXPECT_EINTR(trl_column_binop(TRL_OP_EQ, s1, s2, &err));
    EXPECT_EINTR(trl_column_binop(TRL_OP_EQ, s1, s1, &err));
    EXPECT_EINTR(trl_column_binop_scalar(TRL_OP_SUB, f, 1, 1, &err));
    EXPECT_EINTR(trl_column_binop_scalar(TRL_OP_SUB, i, 1, 0, &err));
    EXPECT_EINTR(trl_column_binop_scalar(TRL_OP_GT, f, 1, 0, &err));
    EXPECT_EINTR(trl_column_cmp_str(TRL_OP_EQ, s1, "x", 1, &err));
    EXPECT_EINTR(trl_column_unop(TRL_FN_LOG, f, &err));
    EXPECT_EINTR(trl_column_unop(TRL_FN_NOT, b, &err));
    EXPECT_EINTR(trl_column_clip(i, 0, 1, &err));
    EXPECT_EINTR(trl_column_fill_missing(f, 0, &err));
    EXPECT_EINTR(trl_column_take(f, idx, n, &err));
    EXPECT_EINTR(trl_column_filter(i, b, &err));
#undef EXPECT_EINTR

    /* short columns are never interrupted; nor anything once reset */
    size_t small_idx[] = {0, 1};
    trl_column *r = trl_column_take(f, small_idx, 2, &err);
    assert_non_null(r);
    trl_column_decref(r);
    trl_registry_set_interrupt(NULL);
    r = trl_column_binop(TRL_OP_ADD, f, f, &err);
    assert_non_null(r);
    assert_int_equal(r->len, n);
    trl_column_decref(r);

    free(idx);
    trl_column_decref(f);
    trl_column_decref(i);
    trl_column_decref(b);
    trl_column_decref(s1);
    trl_column_decref(s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arith_f64),
        cmocka_unit_test(test_lua_modulo),
        cmocka_unit_test(test_arith_mixed_types),
        cmocka_unit_test(test_pow_with_missing),
        cmocka_unit_test(test_scalar_both_sides),
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_kleene_logic),
        cmocka_unit_test(test_string_equality),
        cmocka_unit_test(test_length_mismatch),
        cmocka_unit_test(test_string_arithmetic_errors),
        cmocka_unit_test(test_unop),
        cmocka_unit_test(test_clip),
        cmocka_unit_test(test_fill_missing),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_interrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
