/* test_metrics.c - metrics.c against scikit-learn: every case of
 * fixtures/metrics/metrics.json (written by gen_metrics.py) to 1e-9
 * relative, errors where scikit-learn raises; then the weighted form the
 * bootstrap uses, which must equal repeating rows (or groups). */
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

#include "trellis/metrics.h"

static json_t *load_cases(void)
{
    /* fixtures/ sits beside this file */
    char path[4096];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof path, "%.*s/fixtures/metrics/metrics.json",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("%s line %d: %s", path, jerr.line, jerr.text);
    return root;
}

/* The metric a case names: "ndcg@k" with params {"k": 3} is ndcg@3, and
 * without k the whole group. */
static void case_metric(const json_t *c, trl_metric *m)
{
    const char *name = json_string_value(json_object_get(c, "metric"));
    json_t *params = json_object_get(c, "params");
    json_t *k = json_object_get(params, "k");
    char text[64];
    const char *at = strstr(name, "@k");
    if (at)
        snprintf(text, sizeof text, "%.*s@%lld", (int)(at - name), name,
                 k ? (long long)json_integer_value(k) : 1);
    else
        snprintf(text, sizeof text, "%s", name);
    trl_error err = {0};
    if (trl_metric_parse(text, m, &err) != 0)
        fail_msg("%s: %s", text, err.message);
    if (at && !k)
        m->k = 0;
    if (json_object_get(params, "threshold"))
        m->threshold = json_number_value(json_object_get(params,
                                                         "threshold"));
    if (json_object_get(params, "bins"))
        m->bins = (int)json_integer_value(json_object_get(params, "bins"));
}

/* The case's rows without the ones missing a label, score or weight. */
typedef struct rows {
    double *y, *s, *w;
    int64_t *g;
    trl_metric_data d;
} rows;

static void case_rows(const json_t *c, rows *r)
{
    json_t *y = json_object_get(c, "y"), *s = json_object_get(c, "score");
    json_t *w = json_object_get(c, "weight"), *g = json_object_get(c,
                                                                   "group");
    size_t n = json_array_size(y);
    r->y = malloc((n + 1) * sizeof *r->y);
    r->s = malloc((n + 1) * sizeof *r->s);
    r->w = w ? malloc((n + 1) * sizeof *r->w) : NULL;
    r->g = g ? malloc((n + 1) * sizeof *r->g) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *yi = json_array_get(y, i), *si = json_array_get(s, i);
        json_t *wi = w ? json_array_get(w, i) : NULL;
        if (json_is_null(yi) || json_is_null(si) || (w && json_is_null(wi)))
            continue;
        r->y[k] = json_number_value(yi);
        r->s[k] = json_number_value(si);
        if (w)
            r->w[k] = json_number_value(wi);
        if (g)
            r->g[k] = json_integer_value(json_array_get(g, i));
        k++;
    }
    r->d = (trl_metric_data){r->y, r->s, r->w, r->g, k};
}

static void rows_free(rows *r)
{
    free(r->y);
    free(r->s);
    free(r->w);
    free(r->g);
}

static void test_fixture_cases(void **state)
{
    (void)state;
    json_t *root = load_cases();
    json_t *cases = json_object_get(root, "cases");
    size_t i, failures = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *want_err = json_string_value(json_object_get(c,
                                                                 "error"));
        trl_metric m;
        case_metric(c, &m);
        rows r;
        case_rows(c, &r);
        trl_error err = {0};
        double got = NAN;
        int rc = trl_metric_compute(&m, &r.d, &got, &err);
        if (want_err) {
            if (rc == 0 || !strstr(err.message, want_err)) {
                print_error("%s: expected an error with '%s', got %s "
                            "(%.17g)\n", name, want_err,
                            rc ? err.message : "a value", got);
                failures++;
            }
        } else {
            double want = json_number_value(json_object_get(c, "expected"));
            if (rc != 0) {
                print_error("%s: %s\n", name, err.message);
                failures++;
            } else if (!(fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want)))) {
                print_error("%s: %.17g, scikit-learn %.17g\n", name, got,
                            want);
                failures++;
            }
        }
        rows_free(&r);
    }
    json_decref(root);
    if (failures)
        fail_msg("%zu of %zu cases disagree", failures,
                 json_array_size(cases));
}

/* Counts c on rows equal the metric on the rows repeated c times: what
 * makes a bootstrap resample a weighting. */
static void test_counts_are_repetition(void **state)
{
    (void)state;
    static const char *const names[] = {
        "auc", "pr_auc", "logloss", "brier", "accuracy", "f1", "ece",
        "rmse", "mae", "r2", "mape"};
    enum { N = 200 };
    double y[N], s[N], ry[3 * N], rs[3 * N];
    uint8_t counts[N];
    size_t k = 0;
    uint64_t x = 42;
    for (size_t i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        s[i] = (double)((x >> 33) % 100) / 100.0;
        y[i] = ((x >> 20) % 100) / 100.0 < s[i] ? 1.0 : 0.0;
        counts[i] = (uint8_t)((x >> 45) % 3);
        for (uint8_t r = 0; r < counts[i]; r++) {
            ry[k] = y[i];
            rs[k++] = s[i];
        }
    }
    for (size_t j = 0; j < sizeof names / sizeof *names; j++) {
        trl_metric m;
        trl_error err = {0};
        assert_int_equal(trl_metric_parse(names[j], &m, &err), 0);
        trl_metric_data d = {y, s, NULL, NULL, N};
        trl_metric_data rep = {ry, rs, NULL, NULL, k};
        trl_metric_prep *p = trl_metric_prepare(&m, &d, &err);
        assert_non_null(p);
        double weighted = trl_metric_eval(p, counts), repeated;
        assert_int_equal(trl_metric_compute(&m, &rep, &repeated, &err), 0);
        if (!(fabs(weighted - repeated) <= 1e-12 * fmax(1, fabs(repeated))))
            fail_msg("%s: weighted %.17g, repeated %.17g", names[j],
                     weighted, repeated);
        trl_metric_prep_free(p);
    }
}

/* auc and pr_auc of unweighted rows take a path of their own (labels
 * sorted apart, two threads past 100k rows each): it must give the
 * general path's value exactly, ties and -0.0 included. */
static void test_single_value_path_is_exact(void **state)
{
    (void)state;
    enum { N = 300000 };
    double *y = malloc(N * sizeof *y), *s = malloc(N * sizeof *s);
    uint8_t *ones = malloc(N);
    assert_true(y && s && ones);
    uint64_t x = 7;
    for (size_t i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        s[i] = (double)((x >> 33) % 2001) / 1000.0 - 1.0;  /* ties, -0.0 */
        if (s[i] == 0.0 && (i & 1))
            s[i] = -0.0;
        y[i] = ((x >> 20) % 1000) / 500.0 - 1.0 < s[i] ? 1.0 : 0.0;
        ones[i] = 1;
    }
    static const char *const names[] = {"auc", "pr_auc"};
    for (size_t j = 0; j < 2; j++) {
        trl_metric m;
        trl_error err = {0};
        assert_int_equal(trl_metric_parse(names[j], &m, &err), 0);
        trl_metric_data d = {y, s, NULL, NULL, N};
        double single;
        assert_int_equal(trl_metric_compute(&m, &d, &single, &err), 0);
        trl_metric_prep *p = trl_metric_prepare(&m, &d, &err);
        assert_non_null(p);
        /* counts of one: the prepared (sorted rows) path, same sums */
        double general = trl_metric_eval(p, ones);
        trl_metric_prep_free(p);
        if (single != general)
            fail_msg("%s: single %.17g, general %.17g", names[j], single,
                     general);
    }
    free(y);
    free(s);
    free(ones);
}

static void test_names(void **state)
{
    (void)state;
    trl_metric m;
    trl_error err = {0};
    assert_int_equal(trl_metric_parse("ndcg@10", &m, &err), 0);
    assert_int_equal(m.id, TRL_METRIC_NDCG);
    assert_int_equal(m.k, 10);
    assert_string_equal(m.name, "ndcg@10");
    assert_int_equal(trl_metric_parse("precision", &m, &err), 0);
    assert_int_equal(m.kind, TRL_METRIC_CLASSIFICATION);
    assert_int_equal(trl_metric_parse("precision@5", &m, &err), 0);
    assert_int_equal(m.kind, TRL_METRIC_RANKING);
    assert_int_equal(trl_metric_parse("logloss", &m, &err), 0);
    assert_false(m.higher_is_better);
    assert_int_not_equal(trl_metric_parse("auc@3", &m, &err), 0);
    assert_int_not_equal(trl_metric_parse("map", &m, &err), 0);
    assert_int_not_equal(trl_metric_parse("ndcg@0", &m, &err), 0);
    assert_int_not_equal(trl_metric_parse("accuracy2", &m, &err), 0);
    assert_non_null(strstr(err.message, "unknown metric 'accuracy2'"));
}

/* Two models on rows where the second is the first plus noise. */
static void compare_input(trl_compare_input *in, double *y, double *s0,
                          double *s1, const double **scores, size_t n,
                          const trl_metric *metrics, size_t nmetrics)
{
    uint64_t x = 7;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(x >> 11) / 9007199254740992.0;
        y[i] = u < 0.3;
        s0[i] = fmin(1, fmax(0, 0.3 + (y[i] ? 0.3 : 0) + (u - 0.5) * 0.4));
        s1[i] = fmin(1, fmax(0, s0[i] + ((x >> 7) % 100) / 250.0 - 0.2));
    }
    scores[0] = s0;
    scores[1] = s1;
    *in = (trl_compare_input){.metrics = metrics, .nmetrics = nmetrics,
                              .scores = scores, .nmodels = 2, .y = y,
                              .n = n, .resamples = 200, .seed = 1};
}

static void test_bootstrap_is_deterministic_and_paired(void **state)
{
    (void)state;
    enum { N = 3000 };
    static double y[N], s0[N], s1[N];
    const double *scores[2];
    trl_metric ms[2];
    trl_error err = {0};
    trl_metric_parse("auc", &ms[0], &err);
    trl_metric_parse("logloss", &ms[1], &err);
    trl_compare_input in;
    compare_input(&in, y, s0, s1, scores, N, ms, 2);
    trl_compare_cell a[4], b[4], c[4];
    assert_int_equal(trl_compare_run(&in, a, &err), 0);
    assert_int_equal(trl_compare_run(&in, b, &err), 0);
    assert_memory_equal(a, b, sizeof a);
    in.seed = 2;
    assert_int_equal(trl_compare_run(&in, c, &err), 0);
    assert_true(a[1].lo != c[1].lo);
    for (int i = 0; i < 4; i++) {
        /* the value sits inside its interval; values equal compute's */
        assert_true(a[i].lo <= a[i].value && a[i].value <= a[i].hi);
        trl_metric_data d = {y, i % 2 ? s1 : s0, NULL, NULL, N};
        double v;
        assert_int_equal(trl_metric_compute(&ms[i / 2], &d, &v, &err), 0);
        assert_true(v == a[i].value);
    }
    /* the baseline has no p-value; the other's delta is paired */
    assert_true(isnan(a[0].p));
    assert_true(a[1].delta == a[1].value - a[0].value);
    assert_true(a[1].delta_lo <= a[1].delta && a[1].delta <= a[1].delta_hi);
    /* a model compared with itself: delta 0, p = 1 */
    scores[1] = s0;
    assert_int_equal(trl_compare_run(&in, c, &err), 0);
    assert_true(c[1].delta == 0 && c[1].p == 1.0);
}

/* On 4 rows with one positive, many resamples lack a class: auc counts
 * only the resamples where it is defined. */
static void test_undefined_resamples_are_counted(void **state)
{
    (void)state;
    double y[4] = {1, 0, 0, 0}, s0[4] = {0.9, 0.2, 0.4, 0.1};
    const double *scores[1] = {s0};
    trl_metric m;
    trl_error err = {0};
    trl_metric_parse("auc", &m, &err);
    trl_compare_input in = {.metrics = &m, .nmetrics = 1, .scores = scores,
                            .nmodels = 1, .y = y, .n = 4, .resamples = 400,
                            .seed = 5};
    trl_compare_cell c;
    assert_int_equal(trl_compare_run(&in, &c, &err), 0);
    assert_true(c.defined > 0 && c.defined < 400);
}

/* With a group column every metric resamples groups, each row taking its
 * group's count: groups of one row draw exactly what rows would, and
 * groups of two identical rows draw what one row of weight 2 would. */
static void test_groups_are_resampled_as_clusters(void **state)
{
    (void)state;
    enum { N = 2000 };
    static double y[N], s0[N], s1[N], y2[2 * N], a2[2 * N], b2[2 * N];
    static double w[N];
    static int64_t single[N], pairs[2 * N];
    const double *scores[2];
    trl_metric ms[2];
    trl_error err = {0};
    trl_metric_parse("auc", &ms[0], &err);
    trl_metric_parse("brier", &ms[1], &err);
    trl_compare_input in;
    compare_input(&in, y, s0, s1, scores, N, ms, 2);
    for (size_t i = 0; i < N; i++) {
        single[i] = (int64_t)i - 1000;  /* negative keys sort first too */
        w[i] = 2.0;
        for (int r = 0; r < 2; r++) {
            y2[2 * i + r] = y[i];
            a2[2 * i + r] = s0[i];
            b2[2 * i + r] = s1[i];
            pairs[2 * i + r] = 7 * (int64_t)i;
        }
    }
    trl_compare_cell by_row[4], clustered[4];
    assert_int_equal(trl_compare_run(&in, by_row, &err), 0);
    in.group = single;
    assert_int_equal(trl_compare_run(&in, clustered, &err), 0);
    assert_memory_equal(by_row, clustered, sizeof by_row);

    in.group = NULL;
    in.w = w;
    trl_compare_cell weighted[4];
    assert_int_equal(trl_compare_run(&in, weighted, &err), 0);
    const double *scores2[2] = {a2, b2};
    trl_compare_input in2 = in;
    in2.scores = scores2;
    in2.y = y2;
    in2.w = NULL;
    in2.group = pairs;
    in2.n = 2 * N;
    assert_int_equal(trl_compare_run(&in2, clustered, &err), 0);
    for (int i = 0; i < 4; i++) {
        double tol = 1e-12;
        assert_true(fabs(weighted[i].lo - clustered[i].lo) <= tol);
        assert_true(fabs(weighted[i].hi - clustered[i].hi) <= tol);
        assert_true(fabs(weighted[i].delta_lo - clustered[i].delta_lo) <=
                    tol);
        if (i % 2)
            assert_true(weighted[i].p == clustered[i].p);
    }
    /* resampled as rows, the doubled data would look twice as certain */
    in2.group = NULL;
    trl_compare_cell naive[4];
    assert_int_equal(trl_compare_run(&in2, naive, &err), 0);
    assert_true(naive[0].hi - naive[0].lo <
                0.85 * (clustered[0].hi - clustered[0].lo));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_cases),
        cmocka_unit_test(test_counts_are_repetition),
        cmocka_unit_test(test_single_value_path_is_exact),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bootstrap_is_deterministic_and_paired),
        cmocka_unit_test(test_undefined_resamples_are_counted),
        cmocka_unit_test(test_groups_are_resampled_as_clusters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
