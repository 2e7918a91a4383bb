/* test_stats.c - stats.c against NumPy: every case of fixtures/stats.json
 * (written by fixtures/make_fixtures.py), then the edges the fixtures cannot
 * hold: bad q, strings, signed zeros, huge integers, infinities, the
 * selection against a sort, and interrupts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry/registry_int.h"

/* ---- helpers ------------------------------------------------------------- */

static trl_column *f64_column(const double *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_F64, n, NULL);
    assert_non_null(c);
    if (n)
        memcpy(c->v.f64, v, n * sizeof *v);
    return c;
}

/* Knuth's MMIX LCG, the same as make_fixtures.py's Lcg. */
static uint64_t lcg_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s;
}

/* make_fixtures.py's lcg_values, bit for bit: fills c (f64 or i64, n rows)
 * from seed. */
static void lcg_fill(trl_column *c, const char *kind, uint64_t seed)
{
    uint64_t s = seed;
    if (c->type == TRL_I64) {
        assert_non_null(c->valid = malloc(c->len ? c->len : 1));
        memset(c->valid, 1, c->len);
    }
    for (size_t i = 0; i < c->len; i++) {
        uint64_t tag = (lcg_next(&s) >> 33) % 50;
        double u = (double)(lcg_next(&s) >> 11) * 0x1.0p-53;
        uint64_t r = lcg_next(&s);
        if (tag == 0) {
            if (c->type == TRL_F64)
                c->v.f64[i] = NAN;
            else
                c->valid[i] = 0;
        } else if (tag == 1 && i > 0 && !trl_column_is_missing(c, i - 1)) {
            if (c->type == TRL_F64)
                c->v.f64[i] = c->v.f64[i - 1];
            else
                c->v.i64[i] = c->v.i64[i - 1];
        } else if (strcmp(kind, "lcg_f64") == 0) {
            int e = (int)((r >> 33) % 12) - 3;
            double m = 1.0 + 9.0 * u, p = 1;
            for (int j = 0; j < (e < 0 ? -e : e); j++)
                p *= 10;  /* exact: at most 1e9 */
            double x = e >= 0 ? m * p : m / p;
            c->v.f64[i] = (r >> 63) ? -x : x;
        } else {
            assert_string_equal(kind, "lcg_i64");
            c->v.i64[i] = (int64_t)((r >> 33) % 2000001) - 1000000;
        }
    }
}

/* A column from a fixture case: "values" (null missing) or "generator". */
static trl_column *case_column(json_t *cs)
{
    const char *dtype = json_string_value(json_object_get(cs, "dtype"));
    json_t *values = json_object_get(cs, "values");
    json_t *gen = json_object_get(cs, "generator");
    trl_dtype t = strcmp(dtype, "f64") == 0 ? TRL_F64
                : strcmp(dtype, "i64") == 0 ? TRL_I64
                : strcmp(dtype, "bool") == 0 ? TRL_BOOL : TRL_STR;
    if (gen) {
        size_t n = (size_t)json_integer_value(json_object_get(gen, "n"));
        trl_column *c = trl_column_new(t, n, NULL);
        assert_non_null(c);
        lcg_fill(c, json_string_value(json_object_get(gen, "kind")),
                 (uint64_t)json_integer_value(json_object_get(gen, "seed")));
        return c;
    }
    size_t n = json_array_size(values);
    trl_strdict *dict = NULL;
    if (t == TRL_STR) {
        assert_non_null(dict = trl_strdict_new());
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(cs, "dict_extra"), i, s)
            assert_true(trl_strdict_intern(dict, json_string_value(s),
                                           json_string_length(s)) >= 0);
    }
    trl_column *c = trl_column_new(t, n, dict);
    assert_non_null(c);
    trl_strdict_decref(dict);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(values, i);
        int missing = json_is_null(v);
        switch (t) {
        case TRL_F64:
            c->v.f64[i] = missing ? NAN : json_number_value(v);
            break;
        case TRL_I64:
            if (missing && !c->valid) {
                assert_non_null(c->valid = malloc(n));
                memset(c->valid, 1, n);
            }
            if (missing)
                c->valid[i] = 0;
            else
                c->v.i64[i] = json_integer_value(v);
            break;
        case TRL_BOOL:
            c->v.b[i] = missing ? TRL_BOOL_MISSING : json_is_true(v);
            break;
        case TRL_STR:
            c->v.codes[i] = missing ? -1
                : trl_strdict_intern(c->dict, json_string_value(v),
                                     json_string_length(v));
            break;
        }
    }
    return c;
}

static json_t *load_fixtures(void)
{
    /* fixtures/ sits beside this file */
    char path[4096];
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) : 1;
    snprintf(path, sizeof path, "%.*s/fixtures/stats.json", dir,
             slash ? __FILE__ : ".");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("%s line %d: %s", path, jerr.line, jerr.text);
    return root;
}

static int failures;

/* Agreement to 1e-9 relative; where the value is near 0 after cancellation
 * the allowance is instead absolute, floor (a few ulps of the inputs). null
 * in the fixture is NaN. */
static void check(const char *name, const char *field, double actual,
                  json_t *expected, double floor)
{
    if (json_is_null(expected)) {
        if (!isnan(actual)) {
            print_message("%s: %s is %.17g, expected NaN\n", name, field,
                          actual);
            failures++;
        }
        return;
    }
    double e = json_number_value(expected);
    double tol = fmax(1e-9 * fabs(e), floor);
    if (!(fabs(actual - e) <= tol || actual == e)) {
        print_message("%s: %s is %.17g, expected %.17g\n", name, field,
                      actual, e);
        failures++;
    }
}

static void check_count(const char *name, const char *field, size_t actual,
                        json_t *expected)
{
    if ((json_int_t)actual != json_integer_value(expected)) {
        print_message("%s: %s is %zu, expected %lld\n", name, field, actual,
                      (long long)json_integer_value(expected));
        failures++;
    }
}

/* ---- the fixtures ---------------------------------------------------------- */

static void test_fixtures(void **state)
{
    (void)state;
    json_t *root = load_fixtures();
    json_t *cases = json_object_get(root, "cases");
    assert_true(json_array_size(cases) >= 20);
    size_t ci;
    json_t *cs;
    failures = 0;
    json_array_foreach(cases, ci, cs) {
        const char *name = json_string_value(json_object_get(cs, "name"));
        json_t *exp = json_object_get(cs, "expected");
        trl_column *c = case_column(cs);

        /* the C generator makes what Python made */
        size_t i;
        json_t *h;
        json_array_foreach(json_object_get(cs, "head"), i, h) {
            double v = trl_column_get_f64(c, i);
            if (json_is_null(h) ? !isnan(v) : v != json_number_value(h)) {
                print_message("%s: generated row %zu is %.17g\n", name, i, v);
                failures++;
            }
        }

        double maxabs = 0, sumabs = 0;
        for (i = 0; i < c->len; i++) {
            double v = trl_column_get_f64(c, i);
            if (!isnan(v)) {
                maxabs = fmax(maxabs, fabs(v));
                sumabs += fabs(v);
            }
        }
        trl_stats st;
        trl_error err = {0};
        assert_int_equal(trl_column_stats(c, &st, &err), 0);
        check_count(name, "count", st.count, json_object_get(exp, "count"));
        check_count(name, "n_missing", st.n_missing,
                    json_object_get(exp, "n_missing"));
        check_count(name, "n_unique", st.n_unique,
                    json_object_get(exp, "n_unique"));
        /* moments: the same numbers, bit for bit, without n_unique of
         * numbers (strings count theirs for free) */
        trl_stats mo;
        assert_int_equal(trl_column_moments(c, &mo, &err), 0);
        if (c->type != TRL_STR)
            assert_int_equal(mo.n_unique, 0);
        mo.n_unique = st.n_unique;
        assert_memory_equal(&mo, &st, sizeof st);
        if (c->type == TRL_STR) {
            assert_true(isnan(st.sum) && isnan(st.mean) && isnan(st.std) &&
                        isnan(st.min) && isnan(st.max));
            double q;
            assert_int_equal(trl_column_quantile(c, 0.5, &q, &err),
                             TRL_EINVAL);
            trl_column_decref(c);
            continue;
        }
        check(name, "sum", st.sum, json_object_get(exp, "sum"),
              1e-13 * sumabs);
        check(name, "mean", st.mean, json_object_get(exp, "mean"),
              1e-13 * maxabs);
        check(name, "std", st.std, json_object_get(exp, "std"),
              1e-13 * maxabs);
        check(name, "min", st.min, json_object_get(exp, "min"), 0);
        check(name, "max", st.max, json_object_get(exp, "max"), 0);

        json_t *pair;
        json_array_foreach(json_object_get(exp, "quantiles"), i, pair) {
            double q = json_number_value(json_array_get(pair, 0)), v = -1;
            char field[32];
            snprintf(field, sizeof field, "quantile(%g)", q);
            assert_int_equal(trl_column_quantile(c, q, &v, &err), 0);
            check(name, field, v, json_array_get(pair, 1), 1e-13 * maxabs);
        }
        trl_column_decref(c);
    }
    json_decref(root);
    assert_int_equal(failures, 0);
}

/* ---- edges ------------------------------------------------------------------ */

static void test_quantile_bad_q(void **state)
{
    (void)state;
    double v[] = {1, 2, 3}, out = 7;
    trl_column *c = f64_column(v, 3);
    trl_error err = {0};
    double bad[] = {-0.1, 1.5, NAN, -INFINITY, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        trl_error_clear(&err);
        assert_int_equal(trl_column_quantile(c, bad[i], &out, &err),
                         TRL_EINVAL);
        assert_int_equal(err.code, TRL_EINVAL);
        assert_non_null(strstr(err.message, "between 0 and 1"));
    }
    assert_true(out == 7);  /* untouched on error */
    assert_int_equal(trl_column_quantile(c, 0, &out, &err), 0);
    assert_true(out == 1);
    assert_int_equal(trl_column_quantile(c, 1, &out, &err), 0);
    assert_true(out == 3);
    trl_column_decref(c);
}

static void test_string_column(void **state)
{
    (void)state;
    trl_strdict *d = trl_strdict_new();
    for (int i = 0; i < 10; i++) {
        char s[8];
        snprintf(s, sizeof s, "s%d", i);
        assert_int_equal(trl_strdict_intern(d, s, strlen(s)), i);
    }
    trl_column *c = trl_column_new(TRL_STR, 6, d);
    int32_t codes[] = {9, -1, 3, 9, 9, -1};  /* 2 of 10 strings used */
    memcpy(c->v.codes, codes, sizeof codes);
    trl_stats st;
    trl_error err = {0};
    assert_int_equal(trl_column_stats(c, &st, &err), 0);
    assert_int_equal(st.count, 4);
    assert_int_equal(st.n_missing, 2);
    assert_int_equal(st.n_unique, 2);
    assert_true(isnan(st.sum) && isnan(st.mean) && isnan(st.min));
    double q;
    assert_int_equal(trl_column_quantile(c, 0.5, &q, &err), TRL_EINVAL);
    assert_non_null(strstr(err.message, "str"));
    trl_column_decref(c);
    trl_strdict_decref(d);

    /* no rows, empty dictionary */
    c = trl_column_new(TRL_STR, 0, NULL);
    assert_int_equal(trl_column_stats(c, &st, &err), 0);
    assert_int_equal(st.count + st.n_missing + st.n_unique, 0);
    trl_column_decref(c);
}

static void test_signed_zero_is_one_value(void **state)
{
    (void)state;
    double v[] = {-0.0, 0.0, -0.0, NAN, 0.0};
    trl_column *c = f64_column(v, 5);
    trl_stats st;
    assert_int_equal(trl_column_stats(c, &st, NULL), 0);
    assert_int_equal(st.n_unique, 1);
    assert_int_equal(st.count, 4);
    assert_true(st.std == 0 && st.min == 0 && st.max == 0);
    trl_column_decref(c);
}

/* A constant column has exactly its value as mean and 0 as deviation,
 * though 0.1 * 10 / 10 is not 0.1 in floating point. */
static void test_constant_column(void **state)
{
    (void)state;
    double v[10];
    for (int i = 0; i < 10; i++)
        v[i] = 0.1;
    trl_column *c = f64_column(v, 10);
    trl_stats st;
    assert_int_equal(trl_column_stats(c, &st, NULL), 0);
    assert_true(st.mean == 0.1);
    assert_true(st.std == 0);
    assert_int_equal(st.n_unique, 1);
    trl_column_decref(c);
}

/* Integers beyond 2^53 collapse as doubles but are distinct values. */
static void test_big_integers_distinct(void **state)
{
    (void)state;
    trl_column *c = trl_column_new(TRL_I64, 4, NULL);
    c->v.i64[0] = (int64_t)1 << 53;
    c->v.i64[1] = ((int64_t)1 << 53) + 1;
    c->v.i64[2] = 0;
    c->v.i64[3] = INT64_MIN;
    trl_stats st;
    assert_int_equal(trl_column_stats(c, &st, NULL), 0);
    assert_int_equal(st.n_unique, 4);
    assert_true(st.min == (double)INT64_MIN);
    trl_column_decref(c);
}

static void test_infinities(void **state)
{
    (void)state;
    double a[] = {1, INFINITY, NAN, 2};
    trl_column *c = f64_column(a, 4);
    trl_stats st;
    assert_int_equal(trl_column_stats(c, &st, NULL), 0);
    assert_true(st.sum == INFINITY && st.mean == INFINITY);
    assert_true(isnan(st.std));  /* as NumPy: inf - inf */
    assert_true(st.max == INFINITY && st.min == 1);
    trl_column_decref(c);

    double b[] = {-INFINITY, 5, INFINITY};
    c = f64_column(b, 3);
    assert_int_equal(trl_column_stats(c, &st, NULL), 0);
    assert_true(isnan(st.sum));
    double q;
    assert_int_equal(trl_column_quantile(c, 0.5, &q, NULL), 0);
    assert_true(q == 5);
    trl_column_decref(c);

    double big[] = {1e308, 1e308, -1e308};
    c = f64_column(big, 3);
    assert_int_equal(trl_column_stats(c, &st, NULL), 0);
    assert_true(st.sum == INFINITY);  /* overflows, as NumPy */
    trl_column_decref(c);
}

/* A left-to-right sum of a million 0.1s is off by 1.3e-6; blocked pairwise
 * sums combined with compensation are not. */
static void test_sum_accuracy(void **state)
{
    (void)state;
    size_t n = 1000000;
    trl_column *c = trl_column_new(TRL_F64, n, NULL);
    for (size_t i = 0; i < n; i++)
        c->v.f64[i] = 0.1;
    c->v.f64[17] = NAN;
    trl_stats st;
    assert_int_equal(trl_column_stats(c, &st, NULL), 0);
    assert_true(fabs(st.sum - 99999.9) <= 1e-9);
    assert_true(fabs(st.mean - 0.1) <= 3e-17);
    trl_column_decref(c);
}

static void test_many_distinct(void **state)
{
    (void)state;
    size_t n = 200000;
    trl_column *c = trl_column_new(TRL_I64, n, NULL);
    assert_non_null(c->valid = malloc(n));
    for (size_t i = 0; i < n; i++) {
        c->v.i64[i] = (int64_t)(i % 150001) - 50000;  /* 0 included */
        c->valid[i] = i % 7 != 3;
    }
    size_t expect = 0;
    uint8_t *seen = calloc(150001, 1);
    for (size_t i = 0; i < n; i++)
        if (c->valid[i] && !seen[i % 150001]) {
            seen[i % 150001] = 1;
            expect++;
        }
    free(seen);
    trl_stats st;
    assert_int_equal(trl_column_stats(c, &st, NULL), 0);
    assert_int_equal(st.n_unique, expect);
    assert_int_equal(st.count + st.n_missing, n);
    trl_column_decref(c);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* NumPy's linear quantile from a sorted array, the reference. */
static double sorted_quantile(const double *s, size_t n, double q)
{
    double h = (double)(n - 1) * q, fl = floor(h), t = h - fl;
    size_t k = (size_t)fl, k1 = k + 1 < n ? k + 1 : n - 1;
    double a = s[k], b = s[k1];
    if (t == 0 || a == b)
        return a;
    return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/* The selection gives what a full sort gives, on inputs that trouble
 * quickselects: sorted, reversed, organ pipe, all equal, few values. */
static void test_selection_matches_sort(void **state)
{
    (void)state;
    uint64_t s = 99;
    size_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 100, 1000, 4097};
    double qs[] = {0, 0.001, 0.1, 0.25, 1.0 / 3, 0.5, 0.6, 0.75, 0.9, 0.999,
                   1};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        for (int shape = 0; shape < 6; shape++) {
            trl_column *c = trl_column_new(TRL_F64, n, NULL);
            for (size_t i = 0; i < n; i++) {
                double r = (double)(lcg_next(&s) >> 40);
                switch (shape) {
                case 0: c->v.f64[i] = r; break;
                case 1: c->v.f64[i] = (double)i; break;
                case 2: c->v.f64[i] = (double)(n - i); break;
                case 3: c->v.f64[i] = (double)(i < n / 2 ? i : n - i); break;
                case 4: c->v.f64[i] = 3.0; break;
                default: c->v.f64[i] = fmod(r, 3) - 1; break;
                }
            }
            double *sorted = malloc(n * sizeof *sorted);
            memcpy(sorted, c->v.f64, n * sizeof *sorted);
            qsort(sorted, n, sizeof *sorted, cmp_double);
            for (size_t qi = 0; qi < sizeof qs / sizeof *qs; qi++) {
                double got;
                assert_int_equal(trl_column_quantile(c, qs[qi], &got, NULL),
                                 0);
                double want = sorted_quantile(sorted, n, qs[qi]);
                if (got != want)
                    fail_msg("n=%zu shape=%d q=%g: %.17g, sort gives %.17g",
                             n, shape, qs[qi], got, want);
            }
            /* the column itself is never reordered */
            if (shape == 1)
                for (size_t i = 0; i < n; i++)
                    assert_true(c->v.f64[i] == (double)i);
            free(sorted);
            trl_column_decref(c);
        }
    }
}

static void test_quantile_of_integers_and_bools(void **state)
{
    (void)state;
    trl_column *c = trl_column_new(TRL_BOOL, 5, NULL);
    uint8_t b[] = {1, 0, TRL_BOOL_MISSING, 1, 1};
    memcpy(c->v.b, b, sizeof b);
    double q;
    assert_int_equal(trl_column_quantile(c, 0.25, &q, NULL), 0);
    assert_true(q == 0.75);
    trl_column_decref(c);

    c = trl_column_new(TRL_I64, 3, NULL);
    c->valid = calloc(3, 1);  /* all missing */
    assert_int_equal(trl_column_quantile(c, 0.5, &q, NULL), 0);
    assert_true(isnan(q));
    trl_stats st;
    assert_int_equal(trl_column_stats(c, &st, NULL), 0);
    assert_true(st.sum == 0 && isnan(st.mean) && isnan(st.min));
    assert_int_equal(st.n_missing, 3);
    trl_column_decref(c);
}

static int always_interrupt(void)
{
    return 1;
}

static void test_interrupt(void **state)
{
    (void)state;
    size_t n = TRL__POLL_ROWS + 1;
    trl_column *c = trl_column_new(TRL_F64, n, NULL);
    trl_column *s = trl_column_new(TRL_STR, n, NULL);
    trl_stats st;
    double q;
    trl_error err = {0};
    trl_registry_set_interrupt(always_interrupt);
    assert_int_equal(trl_column_stats(c, &st, &err), TRL_EINTR);
    assert_string_equal(err.message, "interrupted");
    assert_int_equal(trl_column_quantile(c, 0.5, &q, &err), TRL_EINTR);
    assert_int_equal(trl_column_stats(s, &st, &err), TRL_EINTR);
    for (size_t i = 0; i < n; i++)
        c->v.f64[i] = NAN;  /* all missing: still polled */
    assert_int_equal(trl_column_stats(c, &st, &err), TRL_EINTR);
    trl_registry_set_interrupt(NULL);
    assert_int_equal(trl_column_stats(c, &st, &err), 0);
    assert_int_equal(st.n_missing, n);
    trl_column_decref(c);
    trl_column_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_quantile_bad_q),
        cmocka_unit_test(test_string_column),
        cmocka_unit_test(test_signed_zero_is_one_value),
        cmocka_unit_test(test_constant_column),
        cmocka_unit_test(test_big_integers_distinct),
        cmocka_unit_test(test_infinities),
        cmocka_unit_test(test_sum_accuracy),
        cmocka_unit_test(test_many_distinct),
        cmocka_unit_test(test_selection_matches_sort),
        cmocka_unit_test(test_quantile_of_integers_and_bools),
        cmocka_unit_test(test_interrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
