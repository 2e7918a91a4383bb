/* test_group.c - group.c: every aggregate of f64/i64/bool/str columns with
 * missing values, keys of every type and their order, missing keys dropped,
 * errors; a generated frame against NumPy (fixtures/group_expected.json,
 * written by fixtures/group_make.py), a million rows, interrupts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "trellis/registry.h"

#define M TRL_BOOL_MISSING

/* ---- building frames ------------------------------------------------------- */

static trl_column *f64s(const double *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_F64, n, NULL);
    memcpy(c->v.f64, v, n * sizeof *v);
    return c;
}

/* missing: NULL, or 1 per missing row */
static trl_column *i64s(const int64_t *v, size_t n, const int *missing)
{
    trl_column *c = trl_column_new(TRL_I64, n, NULL);
    if (n)
        memcpy(c->v.i64, v, n * sizeof *v);
    if (missing) {
        c->valid = malloc(n);
        for (size_t i = 0; i < n; i++)
            c->valid[i] = !missing[i];
    }
    return c;
}

static trl_column *bools(const uint8_t *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_BOOL, n, NULL);
    memcpy(c->v.b, v, n);
    return c;
}

/* NULL entries are missing */
static trl_column *strs(const char *const *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_STR, n, NULL);
    for (size_t i = 0; i < n; i++)
        c->v.codes[i] = v[i] ? trl_strdict_intern(c->dict, v[i], strlen(v[i]))
                             : -1;
    return c;
}

/* Adds c to f and drops the caller's reference. */
static void put(trl_frame *f, const char *name, trl_column *c)
{
    assert_int_equal(trl_frame_set(f, name, c, NULL), 0);
    trl_column_decref(c);
}

static const char *str_at(const trl_column *c, size_t i)
{
    assert_int_equal(c->type, TRL_STR);
    return c->v.codes[i] < 0 ? NULL : c->dict->strs[c->v.codes[i]];
}

static trl_frame *group(const trl_frame *f, const char *key,
                        const trl_agg *aggs, size_t n)
{
    trl_error err = {0};
    trl_frame *g = trl_frame_group_by(f, key, aggs, n, &err);
    if (!g)
        fail_msg("group_by failed: %s", err.message);
    return g;
}

static const trl_column *col(const trl_frame *g, const char *name)
{
    const trl_column *c = trl_frame_get(g, name);
    if (!c)
        fail_msg("no output column '%s'", name);
    return c;
}

/* NaN matches NaN; otherwise within 1e-9 relative (absolute near 0). */
static void assert_close(double got, double want)
{
    if (isnan(want)) {
        if (!isnan(got))
            fail_msg("got %.17g, want NaN", got);
        return;
    }
    if (!(got == want || fabs(got - want) <= 1e-9 * fmax(1, fabs(want))))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* The eight aggregates of column name, as "<fn>". */
static void all_aggs(trl_agg *aggs, const char *name)
{
    static const char *fns[] = {"count", "sum", "mean", "std", "min",
                                "max", "n_unique", "first"};
    for (int i = 0; i < 8; i++) {
        aggs[i].column = name;
        aggs[i].fn = (trl_agg_fn)trl_agg_parse(fns[i]);
        aggs[i].as = fns[i];
    }
}

/* ---- aggregates, by input type --------------------------------------------- */

/* key: b a a b <missing> a c d d; the d group has no present value */
static const char *const KEYS9[] = {"b", "a", "a", "b", NULL, "a", "c", "d",
                                    "d"};

static void test_every_aggregate_of_f64_with_missing_values(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    put(f, "key", strs(KEYS9, 9));
    const double x[] = {1.5, NAN, 2.0, 4.0, 10.0, -3.0, 7.25, NAN, NAN};
    put(f, "x", f64s(x, 9));
    trl_agg aggs[8];
    all_aggs(aggs, "x");
    trl_frame *g = group(f, "key", aggs, 8);
    assert_int_equal(g->nrows, 4);
    assert_int_equal(g->ncols, 9);
    assert_string_equal(g->names[0], "key");
    const char *order[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(str_at(col(g, "key"), (size_t)i), order[i]);
    /* NumPy: a = [2.0, -3.0], b = [1.5, 4.0], c = [7.25], d = [] */
    const int64_t count[] = {2, 2, 1, 0}, nu[] = {2, 2, 1, 0};
    const double sum[] = {-1.0, 5.5, 7.25, 0.0};
    const double mean[] = {-0.5, 2.75, 7.25, NAN};
    const double std[] = {3.5355339059327378, 1.7677669529663689, NAN, NAN};
    const double mn[] = {-3.0, 1.5, 7.25, NAN}, mx[] = {2.0, 4.0, 7.25, NAN};
    const double first[] = {2.0, 1.5, 7.25, NAN};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(col(g, "count")->v.i64[i], count[i]);
        assert_int_equal(col(g, "n_unique")->v.i64[i], nu[i]);
        assert_close(col(g, "sum")->v.f64[i], sum[i]);
        assert_close(col(g, "mean")->v.f64[i], mean[i]);
        assert_close(col(g, "std")->v.f64[i], std[i]);
        assert_close(col(g, "min")->v.f64[i], mn[i]);
        assert_close(col(g, "max")->v.f64[i], mx[i]);
        assert_close(col(g, "first")->v.f64[i], first[i]);
    }
    assert_int_equal(col(g, "count")->type, TRL_I64);
    assert_int_equal(col(g, "n_unique")->type, TRL_I64);
    assert_null(col(g, "count")->valid);
    assert_int_equal(col(g, "sum")->type, TRL_F64);
    assert_int_equal(col(g, "first")->type, TRL_F64);
    assert_false(g->frozen);
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_every_aggregate_of_i64_with_missing_values(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    put(f, "key", strs(KEYS9, 9));
    /* 2^53 and 2^53 + 1 are one double but two integers */
    const int64_t big = (int64_t)1 << 53;
    const int64_t n[] = {5, 7, big, -2, 100, big + 1, 9, 1, 2};
    const int miss[] = {1, 0, 0, 0, 0, 0, 0, 1, 1};
    put(f, "n", i64s(n, 9, miss));
    trl_agg aggs[8];
    all_aggs(aggs, "n");
    trl_frame *g = group(f, "key", aggs, 8);
    assert_int_equal(g->nrows, 4);
    /* a = [7, 2^53, 2^53+1], b = [-2], c = [9], d = [] */
    const int64_t count[] = {3, 1, 1, 0}, nu[] = {3, 1, 1, 0};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(col(g, "count")->v.i64[i], count[i]);
        assert_int_equal(col(g, "n_unique")->v.i64[i], nu[i]);
    }
    assert_close(col(g, "sum")->v.f64[0], 7.0 + 2.0 * (double)big + 1.0);
    assert_close(col(g, "sum")->v.f64[3], 0.0);
    assert_close(col(g, "mean")->v.f64[1], -2.0);
    assert_close(col(g, "mean")->v.f64[3], NAN);
    assert_close(col(g, "std")->v.f64[1], NAN);  /* one value, ddof 1 */
    assert_close(col(g, "min")->v.f64[0], 7.0);
    assert_close(col(g, "max")->v.f64[0], (double)big);
    assert_close(col(g, "max")->v.f64[3], NAN);
    const trl_column *first = col(g, "first");
    assert_int_equal(first->type, TRL_I64);
    assert_int_equal(first->v.i64[0], 7);      /* a's first present */
    assert_int_equal(first->v.i64[1], -2);     /* b's row 0 is missing */
    assert_int_equal(first->v.i64[2], 9);
    assert_non_null(first->valid);
    assert_false(trl_column_is_missing(first, 0));
    assert_true(trl_column_is_missing(first, 3));
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_every_aggregate_of_bool_with_missing_values(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    put(f, "key", strs(KEYS9, 9));
    const uint8_t b[] = {M, 1, 0, 1, 1, 1, 0, M, M};
    put(f, "b", bools(b, 9));
    trl_agg aggs[8];
    all_aggs(aggs, "b");
    trl_frame *g = group(f, "key", aggs, 8);
    /* a = [1, 0, 1], b = [1], c = [0], d = [] */
    const int64_t count[] = {3, 1, 1, 0}, nu[] = {2, 1, 1, 0};
    const double sum[] = {2, 1, 0, 0}, mean[] = {2.0 / 3, 1, 0, NAN};
    const double mn[] = {0, 1, 0, NAN}, mx[] = {1, 1, 0, NAN};
    const uint8_t first[] = {1, 1, 0, M};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(col(g, "count")->v.i64[i], count[i]);
        assert_int_equal(col(g, "n_unique")->v.i64[i], nu[i]);
        assert_close(col(g, "sum")->v.f64[i], sum[i]);
        assert_close(col(g, "mean")->v.f64[i], mean[i]);
        assert_close(col(g, "min")->v.f64[i], mn[i]);
        assert_close(col(g, "max")->v.f64[i], mx[i]);
        assert_int_equal(col(g, "first")->v.b[i], first[i]);
    }
    assert_close(col(g, "std")->v.f64[0], 0.57735026918962573);
    assert_int_equal(col(g, "first")->type, TRL_BOOL);
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_count_n_unique_first_of_str(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    put(f, "key", strs(KEYS9, 9));
    const char *const plan[] = {NULL, "pro", "team", "basic", "pro", "pro",
                                NULL, NULL, NULL};
    trl_column *p = strs(plan, 9);
    put(f, "plan", p);
    trl_agg aggs[] = {{"plan", TRL_AGG_COUNT, "n"},
                      {"plan", TRL_AGG_N_UNIQUE, "u"},
                      {"plan", TRL_AGG_FIRST, "first"}};
    trl_frame *g = group(f, "key", aggs, 3);
    /* a = [pro, team, pro], b = [basic], c = [], d = [] */
    const int64_t n[] = {3, 1, 0, 0}, u[] = {2, 1, 0, 0};
    const char *first[] = {"pro", "basic", NULL, NULL};
    const trl_column *fc = col(g, "first");
    assert_int_equal(fc->type, TRL_STR);
    assert_ptr_equal(fc->dict, trl_frame_get(f, "plan")->dict);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(col(g, "n")->v.i64[i], n[i]);
        assert_int_equal(col(g, "u")->v.i64[i], u[i]);
        if (first[i])
            assert_string_equal(str_at(fc, i), first[i]);
        else
            assert_true(trl_column_is_missing(fc, i));
    }
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_numeric_aggregates_of_str_are_refused(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    put(f, "key", strs(KEYS9, 9));
    put(f, "plan", strs(KEYS9, 9));
    static const char *fns[] = {"sum", "mean", "std", "min", "max"};
    for (int i = 0; i < 5; i++) {
        trl_agg a = {"plan", (trl_agg_fn)trl_agg_parse(fns[i]), "out"};
        trl_error err = {0};
        assert_null(trl_frame_group_by(f, "key", &a, 1, &err));
        assert_int_equal(err.code, TRL_EINVAL);
        char want[128];
        snprintf(want, sizeof want, "%s needs a numeric column; 'plan' is "
                 "str", fns[i]);
        assert_string_equal(err.message, want);
    }
    trl_frame_decref(f);
}

static void test_sums_are_compensated_and_carry_infinities(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    const int64_t k[] = {0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4};
    const double x[] = {1e16, 1.0, -1e16,        /* 1, as pandas' Kahan */
                        INFINITY, 1.0, 2.0,      /* inf */
                        INFINITY, -INFINITY,     /* NaN */
                        0.1, 0.1, 0.1,           /* constant: std 0 */
                        -INFINITY, NAN, 5.0};
    put(f, "k", i64s(k, 14, NULL));
    put(f, "x", f64s(x, 14));
    trl_agg aggs[8];
    all_aggs(aggs, "x");
    trl_frame *g = group(f, "k", aggs, 8);
    const trl_column *sum = col(g, "sum"), *mean = col(g, "mean");
    const trl_column *std = col(g, "std");
    assert_true(sum->v.f64[0] == 1.0);
    assert_true(isinf(sum->v.f64[1]) && sum->v.f64[1] > 0);
    assert_true(isinf(mean->v.f64[1]) && mean->v.f64[1] > 0);
    assert_true(isnan(std->v.f64[1]));  /* NumPy: inf - inf */
    assert_true(isnan(sum->v.f64[2]));
    assert_true(std->v.f64[3] == 0.0);
    assert_close(mean->v.f64[3], 0.1);
    assert_true(col(g, "min")->v.f64[4] == -INFINITY);
    assert_true(col(g, "max")->v.f64[4] == 5.0);
    assert_true(col(g, "first")->v.f64[4] == -INFINITY);
    assert_int_equal(col(g, "count")->v.i64[4], 2);
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_n_unique_folds_signed_zero_and_counts_exactly(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    const uint8_t k[] = {1, 1, 1, 1, 0, 0, 0, 0};
    const double x[] = {-0.0, 0.0, NAN, 3.0, 3.0, 3.0, 2.0, 0.0};
    put(f, "k", bools(k, 8));
    put(f, "x", f64s(x, 8));
    trl_agg a = {"x", TRL_AGG_N_UNIQUE, "u"};
    trl_frame *g = group(f, "k", &a, 1);
    assert_int_equal(col(g, "u")->v.i64[0], 3);  /* false: 3, 2, 0 */
    assert_int_equal(col(g, "u")->v.i64[1], 2);  /* true: 0, 3 */
    trl_frame_decref(g);
    trl_frame_decref(f);
}

/* ---- keys ------------------------------------------------------------------- */

static void test_i64_keys_sort_as_numbers_and_drop_missing(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    const int64_t k[] = {5, INT64_MAX, -3, 5, 0, INT64_MIN, -3, 42, 7};
    const int miss[] = {0, 0, 0, 0, 0, 0, 0, 1, 0};
    put(f, "k", i64s(k, 9, miss));
    trl_agg a = {"k", TRL_AGG_COUNT, "n"};
    trl_frame *g = group(f, "k", &a, 1);
    const int64_t want[] = {INT64_MIN, -3, 0, 5, 7, INT64_MAX};
    const int64_t n[] = {1, 2, 1, 2, 1, 1};
    assert_int_equal(g->nrows, 6);
    const trl_column *kc = col(g, "k");
    assert_int_equal(kc->type, TRL_I64);
    for (size_t i = 0; i < 6; i++) {
        assert_true(kc->v.i64[i] == want[i]);
        assert_false(trl_column_is_missing(kc, i));
        assert_int_equal(col(g, "n")->v.i64[i], n[i]);
    }
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_f64_keys_merge_signed_zero_and_drop_nan(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    const double k[] = {2.5, -0.0, 0.0, -7, 2.5, NAN, INFINITY, -INFINITY,
                        1e-300};
    const double x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    put(f, "k", f64s(k, 9));
    put(f, "x", f64s(x, 9));
    trl_agg a = {"x", TRL_AGG_SUM, "s"};
    trl_frame *g = group(f, "k", &a, 1);
    const double want[] = {-INFINITY, -7, 0, 1e-300, 2.5, INFINITY};
    const double sum[] = {8, 4, 5, 9, 6, 7};
    assert_int_equal(g->nrows, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_true(col(g, "k")->v.f64[i] == want[i]);
        assert_close(col(g, "s")->v.f64[i], sum[i]);
    }
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_str_keys_sort_by_bytes_not_dictionary_order(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    /* interned in this order, so codes disagree with byte order */
    const char *const k[] = {"z", "é", "b", "", "B", "ab", "a", NULL, "b",
                             "a"};
    trl_column *kc = strs(k, 10);
    put(f, "k", kc);
    trl_agg a = {"k", TRL_AGG_COUNT, "n"};
    trl_frame *g = group(f, "k", &a, 1);
    const char *want[] = {"", "B", "a", "ab", "b", "z", "é"};
    const int64_t n[] = {1, 1, 2, 1, 2, 1, 1};
    assert_int_equal(g->nrows, 7);
    const trl_column *out = col(g, "k");
    assert_ptr_equal(out->dict, kc->dict);  /* the key keeps its dictionary */
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(str_at(out, i), want[i]);
        assert_int_equal(col(g, "n")->v.i64[i], n[i]);
    }
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_bool_keys_false_before_true(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    const uint8_t k[] = {1, M, 0, 1, M};
    const double x[] = {1, 2, 3, 4, 5};
    put(f, "k", bools(k, 5));
    put(f, "x", f64s(x, 5));
    trl_agg a = {"x", TRL_AGG_SUM, "s"};
    trl_frame *g = group(f, "k", &a, 1);
    assert_int_equal(g->nrows, 2);
    assert_int_equal(col(g, "k")->type, TRL_BOOL);
    assert_int_equal(col(g, "k")->v.b[0], 0);
    assert_int_equal(col(g, "k")->v.b[1], 1);
    assert_close(col(g, "s")->v.f64[0], 3);
    assert_close(col(g, "s")->v.f64[1], 5);
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_no_groups_give_an_empty_typed_frame(void **state)
{
    (void)state;
    /* every key missing */
    trl_frame *f = trl_frame_new();
    const double k[] = {NAN, NAN};
    const char *const p[] = {"x", "y"};
    put(f, "k", f64s(k, 2));
    put(f, "p", strs(p, 2));
    trl_agg aggs[] = {{"k", TRL_AGG_SUM, "s"}, {"p", TRL_AGG_FIRST, "fp"},
                      {"p", TRL_AGG_N_UNIQUE, "u"}};
    trl_frame *g = group(f, "k", aggs, 3);
    assert_int_equal(g->nrows, 0);
    assert_int_equal(g->ncols, 4);
    assert_int_equal(col(g, "k")->type, TRL_F64);
    assert_int_equal(col(g, "s")->type, TRL_F64);
    assert_int_equal(col(g, "fp")->type, TRL_STR);
    assert_int_equal(col(g, "u")->type, TRL_I64);
    trl_frame_decref(g);
    trl_frame_decref(f);
    /* no rows at all; no aggregates: just the distinct keys */
    f = trl_frame_new();
    put(f, "k", i64s(NULL, 0, NULL));
    g = group(f, "k", NULL, 0);
    assert_int_equal(g->nrows, 0);
    assert_int_equal(g->ncols, 1);
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_the_input_frame_is_not_changed(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    put(f, "key", strs(KEYS9, 9));
    const double x[] = {1.5, NAN, 2.0, 4.0, 10.0, -3.0, 7.25, NAN, NAN};
    put(f, "x", f64s(x, 9));
    trl_column *kc = trl_frame_get(f, "key"), *xc = trl_frame_get(f, "x");
    trl_agg aggs[8];
    all_aggs(aggs, "x");
    trl_frame *g = group(f, "key", aggs, 8);
    assert_int_equal(f->ncols, 2);
    assert_int_equal(f->nrows, 9);
    assert_int_equal(kc->refcount, 1);
    assert_int_equal(xc->refcount, 1);
    assert_int_equal(kc->dict->n, 4);
    assert_memory_equal(xc->v.f64, x, sizeof x);
    trl_frame_decref(g);
    trl_frame_decref(f);
}

/* ---- errors ------------------------------------------------------------------ */

static void test_errors_name_the_problem(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    put(f, "key", strs(KEYS9, 9));
    const double x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    put(f, "x", f64s(x, 9));
    trl_error err = {0};
    trl_agg ok = {"x", TRL_AGG_SUM, "s"};
    assert_null(trl_frame_group_by(f, "nokey", &ok, 1, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "'nokey'"));
    trl_agg bad_col = {"nope", TRL_AGG_SUM, "s"};
    assert_null(trl_frame_group_by(f, "key", &bad_col, 1, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "'nope'"));
    trl_agg bad_fn = {"x", (trl_agg_fn)42, "s"};
    assert_null(trl_frame_group_by(f, "key", &bad_fn, 1, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    trl_agg twice[] = {{"x", TRL_AGG_SUM, "s"}, {"x", TRL_AGG_MEAN, "s"}};
    assert_null(trl_frame_group_by(f, "key", twice, 2, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    assert_non_null(strstr(err.message, "'s'"));
    trl_agg over_key = {"x", TRL_AGG_SUM, "key"};
    assert_null(trl_frame_group_by(f, "key", &over_key, 1, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    assert_non_null(strstr(err.message, "key column"));
    trl_agg unnamed = {"x", TRL_AGG_SUM, ""};
    assert_null(trl_frame_group_by(f, "key", &unnamed, 1, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    trl_frame_decref(f);
}

static void test_agg_parse_knows_every_name(void **state)
{
    (void)state;
    static const char *fns[] = {"count", "sum", "mean", "std", "min", "max",
                                "n_unique", "first"};
    static const trl_agg_fn want[] = {
        TRL_AGG_COUNT, TRL_AGG_SUM, TRL_AGG_MEAN, TRL_AGG_STD,
        TRL_AGG_MIN, TRL_AGG_MAX, TRL_AGG_N_UNIQUE, TRL_AGG_FIRST};
    for (int i = 0; i < 8; i++)
        assert_int_equal(trl_agg_parse(fns[i]), want[i]);
    assert_int_equal(trl_agg_parse("median"), -1);
    assert_int_equal(trl_agg_parse("Mean"), -1);
    assert_int_equal(trl_agg_parse(""), -1);
    assert_int_equal(trl_agg_parse(NULL), -1);
}

/* ---- against NumPy -------------------------------------------------------------- */

/* Knuth's MMIX LCG, the same as group_make.py's Lcg. */
static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s;
}

/* group_make.py's make_rows, bit for bit. */
static trl_frame *generated_frame(json_t *gen)
{
    uint64_t s = (uint64_t)json_integer_value(json_object_get(gen, "seed"));
    size_t n = (size_t)json_integer_value(json_object_get(gen, "rows"));
    json_t *str_keys = json_object_get(gen, "str_keys");
    json_t *s_values = json_object_get(gen, "s_values");
    json_t *f64_keys = json_object_get(gen, "f64_keys");
    assert_int_equal(json_array_size(str_keys), 12);
    assert_int_equal(json_array_size(s_values), 5);
    assert_int_equal(json_array_size(f64_keys), 9);
    trl_column *ki = trl_column_new(TRL_I64, n, NULL);
    trl_column *ks = trl_column_new(TRL_STR, n, NULL);
    trl_column *kf = trl_column_new(TRL_F64, n, NULL);
    trl_column *kb = trl_column_new(TRL_BOOL, n, NULL);
    trl_column *x = trl_column_new(TRL_F64, n, NULL);
    trl_column *nc = trl_column_new(TRL_I64, n, NULL);
    trl_column *b = trl_column_new(TRL_BOOL, n, NULL);
    trl_column *sc = trl_column_new(TRL_STR, n, NULL);
    ki->valid = malloc(n);
    nc->valid = malloc(n);
    static const double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    double prev = NAN;
    for (size_t i = 0; i < n; i++) {
        uint64_t r[10];
        for (int j = 0; j < 10; j++)
            r[j] = lcg(&s);
        ki->valid[i] = (r[0] >> 33) % 33 != 0;
        ki->v.i64[i] = ki->valid[i] ? (int64_t)((r[0] >> 40) % 40) - 20 : 0;
        size_t t = (size_t)((r[1] >> 33) % 13);
        if (t < 12) {
            json_t *str = json_array_get(str_keys, t);
            ks->v.codes[i] = trl_strdict_intern(ks->dict,
                                                json_string_value(str),
                                                json_string_length(str));
        }
        kf->v.f64[i] = strtod(json_string_value(json_array_get(
                                  f64_keys, (size_t)((r[2] >> 33) % 9))),
                              NULL);
        t = (size_t)((r[3] >> 33) % 3);
        kb->v.b[i] = t == 2 ? M : (uint8_t)t;
        uint64_t tag = (r[4] >> 33) % 50;
        double v;
        if (tag == 0) {
            v = NAN;
        } else if (tag == 1 && !isnan(prev)) {
            v = prev;
        } else {
            double u = (double)(r[5] >> 11) * 0x1p-53;
            int e = (int)((r[6] >> 33) % 12) - 3;
            double m = 1.0 + 9.0 * u;
            v = e >= 0 ? m * pow10[e] : m / pow10[-e];
            if (r[6] >> 63)
                v = -v;
        }
        x->v.f64[i] = prev = v;
        nc->valid[i] = (r[7] >> 33) % 25 != 0;
        nc->v.i64[i] = nc->valid[i] ? (int64_t)((r[7] >> 40) % 2001) - 1000
                                    : 0;
        t = (size_t)((r[8] >> 33) % 3);
        b->v.b[i] = t == 2 ? M : (uint8_t)t;
        t = (size_t)((r[9] >> 33) % 6);
        if (t < 5) {
            json_t *str = json_array_get(s_values, t);
            sc->v.codes[i] = trl_strdict_intern(sc->dict,
                                                json_string_value(str),
                                                json_string_length(str));
        }
    }
    trl_frame *f = trl_frame_new();
    put(f, "k_i64", ki);
    put(f, "k_str", ks);
    put(f, "k_f64", kf);
    put(f, "k_bool", kb);
    put(f, "x", x);
    put(f, "n", nc);
    put(f, "b", b);
    put(f, "s", sc);
    return f;
}

static json_t *load_fixture(void)
{
    /* fixtures/ sits beside this file */
    char path[4096];
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) : 1;
    snprintf(path, sizeof path, "%.*s/fixtures/group_expected.json", dir,
             slash ? __FILE__ : ".");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("%s line %d: %s", path, jerr.line, jerr.text);
    return root;
}

static int failures;

static void report(const char *key, const char *name, size_t group,
                   const char *what)
{
    if (failures++ < 20)
        print_message("key %s, %s, group %zu: %s\n", key, name, group, what);
}

/* Row r of the key column c equals the fixture's key k. */
static int key_matches(const trl_column *c, size_t r, json_t *k)
{
    switch (c->type) {
    case TRL_I64: return c->v.i64[r] == json_integer_value(k);
    case TRL_F64: return c->v.f64[r] == strtod(json_string_value(k), NULL);
    case TRL_BOOL: return c->v.b[r] == (json_is_true(k) ? 1 : 0);
    case TRL_STR:
        return c->v.codes[r] >= 0 &&
               strcmp(c->dict->strs[c->v.codes[r]], json_string_value(k)) == 0;
    }
    return 0;
}

/* Row r of a first column equals the fixture's value (null: missing). */
static int first_matches(const trl_column *c, size_t r, json_t *v)
{
    if (json_is_null(v))
        return trl_column_is_missing(c, r);
    if (trl_column_is_missing(c, r))
        return 0;
    switch (c->type) {
    case TRL_F64: return c->v.f64[r] == json_number_value(v);
    case TRL_I64: return c->v.i64[r] == json_integer_value(v);
    case TRL_BOOL: return c->v.b[r] == (json_is_true(v) ? 1 : 0);
    case TRL_STR: return strcmp(c->dict->strs[c->v.codes[r]],
                                json_string_value(v)) == 0;
    }
    return 0;
}

/* Sums agree to 1e-9 relative, or to 1e-13 of sum |x| where they cancel
 * (NumPy sums pairwise, group.c with compensation: both are a few ulps of
 * sum |x| from the truth). Means and deviations scale by the count. */
static int float_matches(double got, json_t *want, double floor)
{
    if (json_is_null(want))
        return isnan(got);
    double e = json_number_value(want);
    return got == e || fabs(got - e) <= fmax(1e-9 * fabs(e), floor);
}

static void check_case(const trl_frame *f, json_t *c)
{
    const char *key = json_string_value(json_object_get(c, "key"));
    json_t *groups = json_object_get(c, "groups");
    json_t *columns = json_object_get(c, "columns");
    static const char *fns[] = {"count", "sum", "mean", "std", "min", "max",
                                "n_unique", "first"};
    trl_agg aggs[32];
    char names[32][32];
    size_t n = 0;
    const char *cname;
    json_t *exp;
    json_object_foreach(columns, cname, exp) {
        for (int i = 0; i < 8; i++) {
            if (!json_object_get(exp, fns[i]))
                continue;  /* str: count, n_unique, first */
            snprintf(names[n], sizeof names[n], "%s_%s", cname, fns[i]);
            aggs[n] = (trl_agg){cname, (trl_agg_fn)i, names[n]};
            n++;
        }
    }
    assert_int_equal(n, 3 * 8 + 3);
    trl_frame *g = group(f, key, aggs, n);
    if (g->nrows != json_array_size(groups))
        fail_msg("key %s: %zu groups, expected %zu", key, g->nrows,
                 json_array_size(groups));
    const trl_column *kc = col(g, key);
    for (size_t r = 0; r < g->nrows; r++)
        if (!key_matches(kc, r, json_array_get(groups, r)))
            report(key, "key", r, "wrong key");
    for (size_t a = 0; a < n; a++) {
        json_t *ce = json_object_get(columns, aggs[a].column);
        json_t *want = json_object_get(ce, fns[aggs[a].fn]);
        json_t *scale = json_object_get(ce, "scale");
        json_t *count = json_object_get(ce, "count");
        const trl_column *oc = col(g, aggs[a].as);
        for (size_t r = 0; r < g->nrows; r++) {
            json_t *w = json_array_get(want, r);
            double sc = json_number_value(json_array_get(scale, r));
            double cnt = (double)json_integer_value(json_array_get(count, r));
            char what[160];
            int ok;
            switch (aggs[a].fn) {
            case TRL_AGG_COUNT:
            case TRL_AGG_N_UNIQUE:
                ok = oc->v.i64[r] == json_integer_value(w);
                break;
            case TRL_AGG_FIRST: ok = first_matches(oc, r, w); break;
            case TRL_AGG_SUM:
                ok = float_matches(oc->v.f64[r], w, 1e-13 * sc);
                break;
            case TRL_AGG_MIN:
            case TRL_AGG_MAX:
                ok = float_matches(oc->v.f64[r], w, 0);
                break;
            default:
                ok = float_matches(oc->v.f64[r], w,
                                   1e-13 * sc / (cnt ? cnt : 1));
                break;
            }
            if (!ok) {
                snprintf(what, sizeof what, "got %.17g",
                         oc->type == TRL_I64 ? (double)oc->v.i64[r]
                                             : trl_column_get_f64(oc, r));
                report(key, aggs[a].as, r, what);
            }
        }
    }
    trl_frame_decref(g);
}

static void test_generated_frame_matches_numpy(void **state)
{
    (void)state;
    json_t *root = load_fixture();
    trl_frame *f = generated_frame(json_object_get(root, "generator"));
    json_t *cases = json_object_get(root, "cases");
    assert_int_equal(json_array_size(cases), 4);
    size_t i;
    json_t *c;
    failures = 0;
    json_array_foreach(cases, i, c)
        check_case(f, c);
    trl_frame_decref(f);
    json_decref(root);
    if (failures)
        fail_msg("%d values differ from NumPy's", failures);
}

/* ---- scale ------------------------------------------------------------------ */

static void test_million_rows_sum_per_group(void **state)
{
    (void)state;
    size_t n = 1000000, ngroups = 1000;
    trl_frame *f = trl_frame_new();
    trl_column *k = trl_column_new(TRL_I64, n, NULL);
    trl_column *x = trl_column_new(TRL_F64, n, NULL);
    double *want_sum = calloc(ngroups, sizeof *want_sum);
    int64_t *want_n = calloc(ngroups, sizeof *want_n);
    double *want_first = malloc(ngroups * sizeof *want_first);
    for (size_t g = 0; g < ngroups; g++)
        want_first[g] = NAN;
    uint64_t s = 7;
    for (size_t i = 0; i < n; i++) {
        /* keys scattered, 999 down to 0; integer values, exact in sums */
        size_t g = (size_t)(lcg(&s) >> 33) % ngroups;
        k->v.i64[i] = (int64_t)(ngroups - 1 - g);
        double v = (double)((int64_t)(lcg(&s) >> 40) - (1 << 23));
        x->v.f64[i] = i % 7 == 3 ? NAN : v;
        if (i % 7 != 3) {
            want_sum[ngroups - 1 - g] += v;
            want_n[ngroups - 1 - g]++;
            if (isnan(want_first[ngroups - 1 - g]))
                want_first[ngroups - 1 - g] = v;
        }
    }
    put(f, "k", k);
    put(f, "x", x);
    trl_agg aggs[] = {{"x", TRL_AGG_SUM, "s"}, {"x", TRL_AGG_COUNT, "n"},
                      {"x", TRL_AGG_MEAN, "m"}, {"x", TRL_AGG_FIRST, "f"}};
    trl_frame *g = group(f, "k", aggs, 4);
    assert_int_equal(g->nrows, ngroups);
    for (size_t r = 0; r < ngroups; r++) {
        assert_int_equal(col(g, "k")->v.i64[r], (int64_t)r);
        assert_int_equal(col(g, "n")->v.i64[r], want_n[r]);
        assert_true(col(g, "s")->v.f64[r] == want_sum[r]);  /* exact */
        assert_close(col(g, "m")->v.f64[r], want_sum[r] / (double)want_n[r]);
        assert_true(col(g, "f")->v.f64[r] == want_first[r]);
    }
    trl_frame_decref(g);
    trl_frame_decref(f);
    free(want_sum);
    free(want_n);
    free(want_first);
}

/* Enough distinct keys to grow the group table many times. */
static void test_many_groups(void **state)
{
    (void)state;
    size_t n = 300000, distinct = 100000;
    trl_frame *f = trl_frame_new();
    trl_column *k = trl_column_new(TRL_I64, n, NULL);
    trl_column *x = trl_column_new(TRL_I64, n, NULL);
    for (size_t i = 0; i < n; i++) {
        /* 7919 is prime to 100000: every key, in scrambled order, and
         * (key << 32) so the low bits say nothing */
        int64_t key = (int64_t)((i * 7919) % distinct);
        k->v.i64[i] = key * ((int64_t)1 << 32);
        x->v.i64[i] = (int64_t)(i % 3);
    }
    put(f, "k", k);
    put(f, "x", x);
    trl_agg aggs[] = {{"x", TRL_AGG_COUNT, "n"},
                      {"x", TRL_AGG_N_UNIQUE, "u"}};
    trl_frame *g = group(f, "k", aggs, 2);
    assert_int_equal(g->nrows, distinct);
    for (size_t r = 0; r < distinct; r++) {
        assert_true(col(g, "k")->v.i64[r] == (int64_t)r * ((int64_t)1 << 32));
        assert_int_equal(col(g, "n")->v.i64[r], 3);
        /* rows of key r are i, i + 100000, i + 200000: each of i % 3 */
        assert_int_equal(col(g, "u")->v.i64[r], 3);
    }
    trl_frame_decref(g);
    trl_frame_decref(f);
}

/* ---- interrupts ----------------------------------------------------------------- */

static int polls, stop_at_poll;

/* Says stop on the stop_at_poll-th call (never when 0). */
static int counting_poll(void)
{
    return ++polls == stop_at_poll;
}

static void test_interrupt_stops_every_pass(void **state)
{
    (void)state;
    size_t n = ((size_t)1 << 21) + 5;  /* past two poll boundaries */
    trl_frame *f = trl_frame_new();
    trl_column *k = trl_column_new(TRL_I64, n, NULL);
    trl_column *x = trl_column_new(TRL_F64, n, NULL);
    for (size_t i = 0; i < n; i++) {
        k->v.i64[i] = (int64_t)(i % 100);
        x->v.f64[i] = (double)(i % 1000);
    }
    put(f, "k", k);
    put(f, "x", x);
    trl_agg aggs[] = {{"x", TRL_AGG_MEAN, "m"}, {"x", TRL_AGG_STD, "s"},
                      {"x", TRL_AGG_N_UNIQUE, "u"}, {"x", TRL_AGG_FIRST, "f"}};
    /* how many polls a whole run makes */
    polls = stop_at_poll = 0;
    trl_registry_set_interrupt(counting_poll);
    trl_frame *g = group(f, "k", aggs, 4);
    trl_frame_decref(g);
    int total = polls;
    assert_true(total >= 5);  /* groups, mean, std (2), n_unique (3) */
    /* stopping at each of them fails cleanly (sanitizers: no leak) */
    for (stop_at_poll = 1; stop_at_poll <= total; stop_at_poll++) {
        trl_error err = {0};
        polls = 0;
        assert_null(trl_frame_group_by(f, "k", aggs, 4, &err));
        assert_int_equal(err.code, TRL_EINTR);
        assert_string_equal(err.message, "interrupted");
    }
    trl_registry_set_interrupt(NULL);
    trl_frame_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_aggregate_of_f64_with_missing_values),
        cmocka_unit_test(test_every_aggregate_of_i64_with_missing_values),
        cmocka_unit_test(test_every_aggregate_of_bool_with_missing_values),
        cmocka_unit_test(test_count_n_unique_first_of_str),
        cmocka_unit_test(test_numeric_aggregates_of_str_are_refused),
        cmocka_unit_test(test_sums_are_compensated_and_carry_infinities),
        cmocka_unit_test(test_n_unique_folds_signed_zero_and_counts_exactly),
        cmocka_unit_test(test_i64_keys_sort_as_numbers_and_drop_missing),
        cmocka_unit_test(test_f64_keys_merge_signed_zero_and_drop_nan),
        cmocka_unit_test(test_str_keys_sort_by_bytes_not_dictionary_order),
        cmocka_unit_test(test_bool_keys_false_before_true),
        cmocka_unit_test(test_no_groups_give_an_empty_typed_frame),
        cmocka_unit_test(test_the_input_frame_is_not_changed),
        cmocka_unit_test(test_errors_name_the_problem),
        cmocka_unit_test(test_agg_parse_knows_every_name),
        cmocka_unit_test(test_generated_frame_matches_numpy),
        cmocka_unit_test(test_million_rows_sum_per_group),
        cmocka_unit_test(test_many_groups),
        cmocka_unit_test(test_interrupt_stops_every_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
