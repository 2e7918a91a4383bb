/* test_drift.c - drift_stats.c, ks.c, kolmogorov.c and drift.c against
 * NumPy and SciPy: every case of fixtures/drift/drift.json (written by
 * gen_drift.py) to 1e-9 relative (the KS statistic to the last bit),
 * SciPy's one-sample distributions on each of their branches, then
 * whole-frame runs: which features, in what order, flagged how, and
 * every bad input refused with a message naming it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "trellis/guard.h"
#include "registry/guard_int.h"

/* ---- fixtures ------------------------------------------------------------------ */

static json_t *load_fixture(void)
{
    char path[4096];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof path, "%.*s/fixtures/drift/drift.json",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("%s line %d: %s", path, jerr.line, jerr.text);
    return root;
}

/* gen_drift.py's lcg(): the same integers, so the same doubles. */
static json_t *lcg(const json_t *g)
{
    size_t n = (size_t)json_integer_value(json_object_get(g, "n"));
    uint64_t x = (uint64_t)json_integer_value(json_object_get(g, "seed"));
    double levels = json_number_value(json_object_get(g, "levels"));
    double scale = json_number_value(json_object_get(g, "scale"));
    double shift = json_number_value(json_object_get(g, "shift"));
    json_int_t every = json_integer_value(json_object_get(g,
                                                          "missing_every"));
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(x >> 11) / 9007199254740992.0;
        double v = floor(u * levels) / levels * scale + shift;
        int missing = every && (json_int_t)(i + 1) % every == 0;
        json_array_append_new(out, missing ? json_null() : json_real(v));
    }
    return out;
}

/* A column of the case's type from a JSON list (null = missing). */
static trl_column *column_of(const char *type, const json_t *values)
{
    size_t n = json_array_size(values);
    trl_dtype t = strcmp(type, "i64") == 0    ? TRL_I64
                  : strcmp(type, "str") == 0  ? TRL_STR
                  : strcmp(type, "bool") == 0 ? TRL_BOOL
                                              : TRL_F64;
    trl_column *c = trl_column_new(t, n, NULL);
    assert_non_null(c);
    if (t == TRL_I64)
        c->valid = calloc(n ? n : 1, 1);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(values, i);
        switch (t) {
        case TRL_F64:
            c->v.f64[i] = json_is_null(v) ? NAN : json_number_value(v);
            break;
        case TRL_I64:
            c->valid[i] = !json_is_null(v);
            c->v.i64[i] = (int64_t)json_number_value(v);
            break;
        case TRL_BOOL:
            c->v.b[i] = json_is_null(v) ? TRL_BOOL_MISSING
                                        : (uint8_t)json_is_true(v);
            break;
        case TRL_STR:
            c->v.codes[i] = json_is_null(v) ? -1
                : trl_strdict_intern(c->dict, json_string_value(v),
                                     strlen(json_string_value(v)));
            break;
        }
    }
    return c;
}

/* |got - want| within rel of want (abs below tiny), NaN only for null. */
static int close_to(double got, const json_t *want, double rel, double tiny)
{
    if (json_is_null(want))
        return isnan(got);
    double w = json_number_value(want);
    return fabs(got - w) <= fmax(rel * fabs(w), tiny);
}

static void test_fixture_cases(void **state)
{
    (void)state;
    json_t *root = load_fixture();
    size_t i, failures = 0;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *type = json_string_value(json_object_get(c, "type"));
        json_t *gen = json_object_get(c, "gen");
        json_t *rv = gen ? lcg(json_object_get(gen, "ref"))
                         : json_incref(json_object_get(c, "ref"));
        json_t *nv = gen ? lcg(json_object_get(gen, "new"))
                         : json_incref(json_object_get(c, "new"));
        trl_column *ref = column_of(type, rv), *cur = column_of(type, nv);
        json_decref(rv);
        json_decref(nv);
        json_t *want = json_object_get(c, "expected");
        trl_drift_stats s;
        trl_error err = {0};
        if (trl_drift_column(ref, cur, &s, &err) != 0) {
            print_error("%s: %s\n", name, err.message);
            failures++;
        } else {
            const char *method = json_string_value(json_object_get(
                want, "ks_method"));
            int bad = !close_to(s.psi, json_object_get(want, "psi"), 1e-9,
                                1e-13) ||
                      !close_to(s.ks, json_object_get(want, "ks"), 0, 0) ||
                      !close_to(s.ks_p, json_object_get(want, "ks_p"), 1e-9,
                                1e-300) ||
                      !close_to(s.js, json_object_get(want, "js"), 1e-9,
                                1e-13) ||
                      s.bins != (size_t)json_integer_value(
                                    json_object_get(want, "bins")) ||
                      s.ref_missing != (size_t)json_integer_value(
                                           json_object_get(want,
                                                           "missing_ref")) ||
                      s.new_missing != (size_t)json_integer_value(
                                           json_object_get(want,
                                                           "missing_new")) ||
                      (method && s.ks_exact != (strcmp(method, "exact") == 0));
            if (bad) {
                print_error("%s: psi %.17g ks %.17g p %.17g (%s) js %.17g "
                            "bins %zu; want %s\n", name, s.psi, s.ks, s.ks_p,
                            s.ks_exact ? "exact" : "asymp", s.js, s.bins,
                            json_dumps(want, JSON_COMPACT));
                failures++;
            }
        }
        trl_column_decref(ref);
        trl_column_decref(cur);
    }
    size_t n = json_array_size(json_object_get(root, "cases"));
    json_decref(root);
    if (failures)
        fail_msg("%zu of %zu cases disagree with NumPy/SciPy", failures, n);
}

/* scipy.stats.kstwo.sf and scipy.special.smirnov on every branch. */
static void test_distribution_points(void **state)
{
    (void)state;
    json_t *root = load_fixture();
    static const char *const tables[] = {"kolmogorov_sf", "smirnov_sf"};
    size_t failures = 0;
    for (int t = 0; t < 2; t++) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(root, tables[t]), i, p) {
            long n = (long)json_integer_value(json_array_get(p, 0));
            double x = json_number_value(json_array_get(p, 1));
            double got = t == 0 ? trl__kolmogorov_sf(n, x)
                                : trl__smirnov_sf(n, x);
            if (!close_to(got, json_array_get(p, 2), 1e-9, 1e-300)) {
                print_error("%s(n=%ld, x=%.17g) = %.17g, SciPy %.17g\n",
                            tables[t], n, x, got,
                            json_number_value(json_array_get(p, 2)));
                failures++;
            }
        }
    }
    json_decref(root);
    if (failures)
        fail_msg("%zu points disagree with SciPy", failures);
}

static void test_ks_2samp_refuses_empty_and_nan(void **state)
{
    (void)state;
    double a[] = {1, 2, 3}, b[] = {1, NAN}, d, p;
    int exact;
    trl_error err = {0};
    assert_int_equal(trl_ks_2samp(a, 3, b, 0, &d, &p, &exact, &err),
                     TRL_EINVAL);
    assert_non_null(strstr(err.message, "values in both samples"));
    assert_int_equal(trl_ks_2samp(a, 3, b, 2, &d, &p, &exact, &err),
                     TRL_EINVAL);
    assert_non_null(strstr(err.message, "NaN"));
    assert_int_equal(trl_ks_2samp(a, 3, a, 3, &d, &p, &exact, &err), 0);
    assert_true(d == 0 && p == 1 && exact == 1);
}

static void test_column_kinds_must_match(void **state)
{
    (void)state;
    trl_column *s = trl_column_new(TRL_STR, 3, NULL);
    trl_column *f = trl_column_new(TRL_F64, 3, NULL);
    trl_column *e = trl_column_new(TRL_F64, 0, NULL);
    trl_drift_stats st;
    trl_error err = {0};
    assert_int_equal(trl_drift_column(s, f, &st, &err), TRL_EINVAL);
    assert_non_null(strstr(err.message, "str in the reference, f64"));
    assert_int_equal(trl_drift_column(f, e, &st, &err), TRL_EINVAL);
    assert_non_null(strstr(err.message, "rows on both sides"));
    trl_column_decref(s);
    trl_column_decref(f);
    trl_column_decref(e);
}

/* ---- frames ---------------------------------------------------------------------- */

static trl_frame *csv(const char *text)
{
    trl_error err = {0};
    trl_frame *f = trl_csv_parse(text, strlen(text), "test", NULL, &err);
    if (!f)
        fail_msg("%s", err.message);
    return f;
}

/* n rows: a (the same distribution both times), b (shifted in NEW),
 * plan (categories moving), and one column only this side has. */
static trl_frame *sample(int n, int shifted, const char *own)
{
    size_t cap = (size_t)n * 64 + 128, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "a,b,plan,%s\n", own);
    static const char *const plans[] = {"basic", "pro", "team"};
    for (int i = 0; i < n; i++) {
        int j = (i * 7919) % n;
        double a = (double)j / n, b = a + (shifted ? 0.5 : 0);
        const char *plan = plans[shifted ? (i % 5 == 0 ? 0 : i % 3)
                                         : (i % 2 ? 0 : 1 + i % 4 % 2)];
        len += (size_t)snprintf(text + len, cap - len, "%.6f,%.6f,%s,%d\n",
                                a, b, plan, i);
    }
    trl_frame *f = csv(text);
    free(text);
    return f;
}

static void test_run_sorts_flags_and_skips(void **state)
{
    (void)state;
    trl_frame *ref = sample(400, 0, "only_ref"), *cur = sample(300, 1,
                                                                "only_new");
    trl_drift_request rq = {.ref = ref, .new_frame = cur, .ref_name = "ref",
                            .new_name = "cur"};
    trl_error err = {0};
    json_t *r = trl_drift_run(&rq, &err);
    if (!r)
        fail_msg("%s", err.message);
    json_t *fs = json_object_get(r, "features");
    assert_int_equal(json_array_size(fs), 3);
    /* b moved wholesale: the largest PSI, flagged and "major"; a did not */
    json_t *first = json_array_get(fs, 0), *last = json_array_get(fs, 2);
    assert_string_equal(json_string_value(json_object_get(first, "name")),
                        "b");
    assert_true(json_is_true(json_object_get(first, "flagged")));
    assert_string_equal(json_string_value(json_object_get(first, "band")),
                        "major");
    assert_string_equal(json_string_value(json_object_get(last, "name")),
                        "a");
    assert_true(json_is_false(json_object_get(last, "flagged")));
    double prev = INFINITY;
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f) {
        double psi = json_number_value(json_object_get(f, "psi"));
        assert_true(psi <= prev);
        prev = psi;
        /* the histogram's shares of each side add up to 1 */
        json_t *h = json_object_get(f, "hist");
        for (int side = 0; side < 2; side++) {
            double sum = 0;
            size_t k;
            json_t *v;
            json_array_foreach(json_object_get(h, side ? "new" : "ref"), k,
                               v) sum += json_number_value(v);
            assert_true(fabs(sum - 1) < 1e-9);
        }
    }
    json_t *plan = json_array_get(fs, 1);
    assert_string_equal(json_string_value(json_object_get(plan, "kind")),
                        "categorical");
    assert_true(json_is_null(json_object_get(plan, "ks")));
    assert_true(json_number_value(json_object_get(plan, "js")) > 0);
    assert_true(json_is_false(json_object_get(r, "ok")));
    assert_true(json_number_value(json_object_get(r, "max_psi")) ==
                json_number_value(json_object_get(first, "psi")));
    json_t *skipped = json_object_get(r, "skipped");
    assert_int_equal(json_array_size(skipped), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(skipped, 0), "name")),
                        "only_ref");
    assert_string_equal(json_string_value(json_object_get(r, "new_name")),
                        "cur");
    json_decref(r);
    /* a higher threshold flags nothing */
    rq.threshold = 100;
    r = trl_drift_run(&rq, &err);
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "flagged")), 0);
    json_decref(r);
    trl_frame_decref(ref);
    trl_frame_decref(cur);
}

static void test_ids_are_left_out_unless_asked_for(void **state)
{
    (void)state;
    /* user_id is distinct in REF: new rows bring new ids, not drift */
    trl_frame *ref = csv("user_id,x,order_id\n1,0.1,7\n2,0.2,7\n3,0.3,8\n"
                         "4,0.4,9\n");
    trl_frame *cur = csv("user_id,x,order_id\n11,0.1,1\n12,0.2,2\n"
                         "13,0.3,3\n");
    trl_drift_request rq = {.ref = ref, .new_frame = cur};
    trl_error err = {0};
    json_t *r = trl_drift_run(&rq, &err);
    if (!r)
        fail_msg("%s", err.message);
    /* order_id repeats in REF: not an id, compared */
    assert_int_equal(json_array_size(json_object_get(r, "features")), 2);
    json_t *skipped = json_object_get(r, "skipped");
    assert_int_equal(json_array_size(skipped), 1);
    json_t *s = json_array_get(skipped, 0);
    assert_string_equal(json_string_value(json_object_get(s, "name")),
                        "user_id");
    assert_string_equal(json_string_value(json_object_get(s, "reason")),
                        "id");
    json_decref(r);
    /* string ids too; "paid" ends in id but is not one */
    trl_frame *sref = csv("order_id,paid\na,1\nb,2\nc,3\n");
    trl_frame *snew = csv("order_id,paid\nd,1\ne,2\n");
    trl_drift_request srq = {.ref = sref, .new_frame = snew};
    json_t *sr = trl_drift_run(&srq, &err);
    assert_non_null(sr);
    assert_string_equal(json_string_value(json_object_get(json_array_get(
                            json_object_get(sr, "features"), 0), "name")),
                        "paid");
    json_decref(sr);
    trl_frame_decref(sref);
    trl_frame_decref(snew);
    /* frames sharing only ids say so */
    sref = csv("user_id\n1\n2\n3\n");
    snew = csv("user_id\n4\n5\n");
    srq = (trl_drift_request){.ref = sref, .new_frame = snew};
    assert_null(trl_drift_run(&srq, &err));
    assert_non_null(strstr(err.message, "share only ids (user_id)"));
    trl_frame_decref(sref);
    trl_frame_decref(snew);
    const char *asked[] = {"user_id"};
    rq.features = asked;
    rq.nfeatures = 1;
    r = trl_drift_run(&rq, &err);
    assert_non_null(r);
    assert_int_equal(json_array_size(json_object_get(r, "features")), 1);
    assert_true(json_number_value(json_object_get(r, "max_psi")) > 1);
    json_decref(r);
    trl_frame_decref(ref);
    trl_frame_decref(cur);
}

static void expect_error(const trl_drift_request *rq, int code,
                         const char *needle)
{
    trl_error err = {0};
    json_t *r = trl_drift_run(rq, &err);
    if (r)
        fail_msg("expected an error with '%s'", needle);
    assert_int_equal(err.code, code);
    if (!strstr(err.message, needle))
        fail_msg("'%s' does not say '%s'", err.message, needle);
}

static void test_run_refuses_bad_input(void **state)
{
    (void)state;
    trl_frame *ref = sample(50, 0, "x"), *cur = sample(40, 1, "y");
    trl_frame *text = csv("a,b\none,two\nthree,four\n");
    trl_frame *other = csv("c\n1\n2\n");
    trl_frame *empty = csv("a,b,plan\n");
    const char *unknown[] = {"a", "nope"}, *twice[] = {"a", "a"};
    const char *good[] = {"plan"};
    trl_drift_request rq = {.ref = ref, .new_frame = cur, .ref_name = "holdout",
                            .new_name = "live", .features = unknown,
                            .nfeatures = 2};
    expect_error(&rq, TRL_ENOTFOUND, "no column 'nope' in holdout");
    rq.features = twice;
    expect_error(&rq, TRL_EINVAL, "'a' is asked for twice");
    rq.features = NULL;
    rq.new_frame = text;
    expect_error(&rq, TRL_EINVAL, "feature 'a' is f64 in holdout but str "
                 "in live");
    rq.new_frame = other;
    expect_error(&rq, TRL_EINVAL, "holdout and live have no column in "
                 "common");
    rq.new_frame = empty;
    expect_error(&rq, TRL_EINVAL, "live has no rows");
    rq.new_frame = cur;
    rq.threshold = -1;
    expect_error(&rq, TRL_EINVAL, "threshold must be a number above 0");
    /* only the features asked for */
    rq.threshold = 0;
    rq.features = good;
    rq.nfeatures = 1;
    trl_error err = {0};
    json_t *r = trl_drift_run(&rq, &err);
    assert_non_null(r);
    assert_int_equal(json_array_size(json_object_get(r, "features")), 1);
    assert_true(json_number_value(json_object_get(r, "threshold")) == 0.2);
    json_decref(r);
    trl_frame_decref(ref);
    trl_frame_decref(cur);
    trl_frame_decref(text);
    trl_frame_decref(other);
    trl_frame_decref(empty);
}

static int always(void)
{
    return 1;
}

static void test_interrupt_stops_a_run(void **state)
{
    (void)state;
    trl_frame *ref = sample(200, 0, "x"), *cur = sample(200, 1, "x");
    trl_drift_request rq = {.ref = ref, .new_frame = cur};
    trl_error err = {0};
    trl_registry_set_interrupt(always);
    json_t *r = trl_drift_run(&rq, &err);
    trl_registry_set_interrupt(NULL);
    assert_null(r);
    assert_int_equal(err.code, TRL_EINTR);
    assert_string_equal(err.message, "interrupted");
    trl_frame_decref(ref);
    trl_frame_decref(cur);
}

/* A model's predictions on the two frames, as the feature "prediction". */
static void test_prediction_drift(void **state)
{
    (void)state;
    trl_frame *train = csv("x,y\n0.1,0\n0.2,0\n0.3,0\n0.35,1\n0.4,0\n0.6,1\n"
                           "0.7,1\n0.8,1\n0.9,1\n0.65,0\n");
    trl_train_spec spec = {.algo = "logistic", .data = train, .target = "y"};
    trl_error err = {0};
    trl_model *m = trl_model_train(&spec, &err);
    if (!m)
        fail_msg("%s", err.message);
    trl_frame *low = csv("x\n0.1\n0.2\n0.15\n0.3\n0.25\n");
    trl_frame *high = csv("x\n0.8\n0.9\n0.85\n0.7\n0.75\n0.95\n");
    trl_drift_request rq = {.ref = low, .new_frame = high, .model = m};
    json_t *r = trl_drift_run(&rq, &err);
    if (!r)
        fail_msg("%s", err.message);
    json_t *fs = json_object_get(r, "features");
    assert_int_equal(json_array_size(fs), 1);
    json_t *p = json_array_get(fs, 0);
    assert_string_equal(json_string_value(json_object_get(p, "name")),
                        "prediction");
    /* the scores do not overlap: D = 1 */
    assert_true(json_number_value(json_object_get(p, "ks")) == 1.0);
    json_decref(r);
    /* a frame the model cannot read says so */
    trl_frame *wrong = csv("z\n1\n2\n");
    rq.new_frame = wrong;
    r = trl_drift_run(&rq, &err);
    assert_null(r);
    assert_non_null(strstr(err.message, "x"));
    trl_frame_decref(wrong);
    trl_frame_decref(low);
    trl_frame_decref(high);
    trl_frame_decref(train);
    trl_model_decref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_cases),
        cmocka_unit_test(test_distribution_points),
        cmocka_unit_test(test_ks_2samp_refuses_empty_and_nan),
        cmocka_unit_test(test_column_kinds_must_match),
        cmocka_unit_test(test_run_sorts_flags_and_skips),
        cmocka_unit_test(test_ids_are_left_out_unless_asked_for),
        cmocka_unit_test(test_run_refuses_bad_input),
        cmocka_unit_test(test_interrupt_stops_a_run),
        cmocka_unit_test(test_prediction_drift),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
