/* test_group.c - group-by aggregation: every aggregate against NumPy's
 * values (computed offline: np.nansum, np.nanmean, np.nanstd(ddof=1),
 * np.nanmin, np.nanmax per group), missing keys, key order, errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "trellis/registry.h"

static int stop_now(void) { return 1; }

/* key: b a a b <missing> a c; x: 1.5 2.0 NaN 4.0 10.0 -3.0 7.25 */
static trl_frame *sample(void)
{
    trl_frame *f = trl_frame_new();
    trl_column *k = trl_column_new(TRL_STR, 7, NULL);
    const char *keys[] = {"b", "a", "a", "b", NULL, "a", "c"};
    for (int i = 0; i < 7; i++)
        k->v.codes[i] = keys[i] ? trl_strdict_intern(k->dict, keys[i], 1) : -1;
    trl_column *x = trl_column_new(TRL_F64, 7, NULL);
    const double xs[] = {1.5, 2.0, NAN, 4.0, 10.0, -3.0, 7.25};
    memcpy(x->v.f64, xs, sizeof xs);
    trl_column *n = trl_column_new(TRL_I64, 7, NULL);
    for (int i = 0; i < 7; i++)
        n->v.i64[i] = i % 2;
    trl_frame_set(f, "key", k, NULL);
    trl_frame_set(f, "x", x, NULL);
    trl_frame_set(f, "n", n, NULL);
    trl_column_decref(k);
    trl_column_decref(x);
    trl_column_decref(n);
    return f;
}

static void assert_close(double got, double want)
{
    if (isnan(want)) {
        assert_true(isnan(got));
        return;
    }
    if (fabs(got - want) > 1e-9 * fmax(1, fabs(want)))
        fail_msg("got %.17g, want %.17g", got, want);
}

static void test_every_aggregate_matches_numpy(void **state)
{
    (void)state;
    trl_frame *f = sample();
    trl_agg aggs[] = {
        {"x", TRL_AGG_SUM, "sum"},     {"x", TRL_AGG_MEAN, "mean"},
        {"x", TRL_AGG_STD, "std"},     {"x", TRL_AGG_MIN, "min"},
        {"x", TRL_AGG_MAX, "max"},     {"x", TRL_AGG_COUNT, "count"},
        {"n", TRL_AGG_N_UNIQUE, "nu"}, {"x", TRL_AGG_FIRST, "first"}};
    trl_error err = {0};
    trl_frame *g = trl_frame_group_by(f, "key", aggs, 8, &err);
    assert_non_null(g);
    assert_int_equal(g->nrows, 3);  /* the missing key is dropped */
    trl_column *k = trl_frame_get(g, "key");
    const char *order[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        assert_string_equal(k->dict->strs[k->v.codes[i]], order[i]);
    const double sum[] = {-1.0, 5.5, 7.25}, mean[] = {-0.5, 2.75, 7.25};
    const double std[] = {3.5355339059327378, 1.7677669529663689, NAN};
    const double mn[] = {-3.0, 1.5, 7.25}, mx[] = {2.0, 4.0, 7.25};
    const int64_t cnt[] = {2, 2, 1}, nu[] = {2, 2, 1};
    const double first[] = {2.0, 1.5, 7.25};
    for (int i = 0; i < 3; i++) {
        assert_close(trl_frame_get(g, "sum")->v.f64[i], sum[i]);
        assert_close(trl_frame_get(g, "mean")->v.f64[i], mean[i]);
        assert_close(trl_frame_get(g, "std")->v.f64[i], std[i]);
        assert_close(trl_frame_get(g, "min")->v.f64[i], mn[i]);
        assert_close(trl_frame_get(g, "max")->v.f64[i], mx[i]);
        assert_close(trl_frame_get(g, "first")->v.f64[i], first[i]);
        assert_int_equal(trl_frame_get(g, "count")->v.i64[i], cnt[i]);
        assert_int_equal(trl_frame_get(g, "nu")->v.i64[i], nu[i]);
    }
    assert_int_equal(trl_frame_get(g, "count")->type, TRL_I64);
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_numeric_keys_sort_and_merge_signed_zero(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    trl_column *k = trl_column_new(TRL_F64, 5, NULL);
    const double ks[] = {2.5, -0.0, 0.0, -7, 2.5};
    memcpy(k->v.f64, ks, sizeof ks);
    trl_frame_set(f, "k", k, NULL);
    trl_agg a = {"k", TRL_AGG_COUNT, "n"};
    trl_error err = {0};
    trl_frame *g = trl_frame_group_by(f, "k", &a, 1, &err);
    assert_non_null(g);
    assert_int_equal(g->nrows, 3);
    assert_close(trl_frame_get(g, "k")->v.f64[0], -7);
    assert_close(trl_frame_get(g, "k")->v.f64[1], 0);
    assert_int_equal(trl_frame_get(g, "n")->v.i64[1], 2);
    assert_int_equal(trl_frame_get(g, "n")->v.i64[2], 2);
    trl_frame_decref(g);
    trl_column_decref(k);
    trl_frame_decref(f);
}

static void test_errors_name_the_problem(void **state)
{
    (void)state;
    trl_frame *f = sample();
    trl_error err = {0};
    trl_agg bad_col = {"nope", TRL_AGG_SUM, "s"};
    assert_null(trl_frame_group_by(f, "key", &bad_col, 1, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "nope"));
    assert_null(trl_frame_group_by(f, "nokey", &bad_col, 1, &err));
    assert_non_null(strstr(err.message, "nokey"));
    trl_agg str_sum = {"key", TRL_AGG_SUM, "s"};
    assert_null(trl_frame_group_by(f, "n", &str_sum, 1, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    assert_non_null(strstr(err.message, "str"));
    assert_int_equal(trl_agg_parse("mean"), TRL_AGG_MEAN);
    assert_int_equal(trl_agg_parse("median"), -1);
    trl_frame_decref(f);
}

static void test_large_group_sums(void **state)
{
    (void)state;
    size_t n = 1000000;
    trl_frame *f = trl_frame_new();
    trl_column *k = trl_column_new(TRL_I64, n, NULL);
    trl_column *x = trl_column_new(TRL_F64, n, NULL);
    for (size_t i = 0; i < n; i++) {
        k->v.i64[i] = (int64_t)(i % 1000);
        x->v.f64[i] = (double)i;
    }
    trl_frame_set(f, "k", k, NULL);
    trl_frame_set(f, "x", x, NULL);
    trl_agg a = {"x", TRL_AGG_SUM, "s"};
    trl_error err = {0};
    trl_frame *g = trl_frame_group_by(f, "k", &a, 1, &err);
    assert_non_null(g);
    assert_int_equal(g->nrows, 1000);
    for (size_t r = 0; r < 1000; r++) {
        /* rows r, r+1000, ...: 1000 terms, sum = 1000 r + 1000*999*1000/2 */
        double want = 1000.0 * (double)r + 499500000.0;
        assert_close(trl_frame_get(g, "s")->v.f64[r], want);
        assert_int_equal(trl_frame_get(g, "k")->v.i64[r], (int64_t)r);
    }
    trl_frame_decref(g);
    trl_column_decref(k);
    trl_column_decref(x);
    trl_frame_decref(f);
}

static void test_interrupt_stops_a_long_group_by(void **state)
{
    (void)state;
    size_t n = (size_t)1 << 21;  /* past the first poll */
    trl_frame *f = trl_frame_new();
    trl_column *k = trl_column_new(TRL_I64, n, NULL);
    trl_frame_set(f, "k", k, NULL);
    trl_agg a = {"k", TRL_AGG_COUNT, "n"};
    trl_error err = {0};
    trl_registry_set_interrupt(stop_now);
    assert_null(trl_frame_group_by(f, "k", &a, 1, &err));
    assert_int_equal(err.code, TRL_EINTR);
    trl_registry_set_interrupt(NULL);
    trl_column_decref(k);
    trl_frame_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_aggregate_matches_numpy),
        cmocka_unit_test(test_numeric_keys_sort_and_merge_signed_zero),
        cmocka_unit_test(test_errors_name_the_problem),
        cmocka_unit_test(test_large_group_sums),
        cmocka_unit_test(test_interrupt_stops_a_long_group_by),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
