/* test_model.c - model.c, encode.c, xgb.c, linear.c and model_store.c:
 * training on the fixtures in fixtures/models (written by gen_models.py
 * with Debian's python3-xgboost and scikit-learn) gives their predictions
 * within 1e-6; a registered model predicts bit-identically after the
 * registry is closed and opened again; every bad request is refused with
 * a message naming the problem, and registers nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "trellis/model.h"

/* ---- helpers ----------------------------------------------------------------- */

static char fixture_dir[4096];
static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    /* fixtures/models sits beside this file */
    const char *slash = strrchr(__FILE__, '/');
    snprintf(fixture_dir, sizeof fixture_dir, "%.*s/fixtures/models",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/trl_model_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static trl_frame *fixture(const char *file)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", fixture_dir, file);
    trl_error err = {0};
    trl_frame *f = trl_csv_read(path, NULL, &err);
    if (!f)
        fail_msg("%s: %s", path, err.message);
    return f;
}

static json_t *params_of(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("bad params in the test: %s", jerr.text);
    return j;
}

/* Splits "a,b,c" into names (static storage, enough for these tests). */
static size_t split(const char *list, const char **names, char *buf,
                    size_t size)
{
    snprintf(buf, size, "%s", list);
    size_t n = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
        names[n++] = tok;
    return n;
}

static trl_model *train(const char *algo, trl_frame *data, const char *feats,
                        const char *target, const char *params,
                        trl_frame *eval, const char *group, trl_error *err)
{
    const char *names[16];
    char buf[256];
    json_t *p = params ? params_of(params) : NULL;
    trl_train_spec s = {0};
    s.algo = algo;
    s.data = data;
    s.target = target;
    s.features = feats ? names : NULL;
    s.nfeatures = feats ? split(feats, names, buf, sizeof buf) : 0;
    s.params = p;
    s.eval = eval;
    s.group = group;
    trl_model *m = trl_model_train(&s, err);
    json_decref(p);
    return m;
}

static trl_model *train_ok(const char *algo, trl_frame *data,
                           const char *feats, const char *target,
                           const char *params, trl_frame *eval,
                           const char *group)
{
    trl_error err = {0};
    trl_model *m = train(algo, data, feats, target, params, eval, group,
                         &err);
    if (!m)
        fail_msg("training failed: %s", err.message);
    return m;
}

/* Predictions on f equal the fixture's columns within 1e-6. */
static void check_predictions(const trl_model *m, trl_frame *f,
                              const char *expected_file)
{
    trl_frame *want = fixture(expected_file);
    trl_column *out[8];
    trl_error err = {0};
    assert_int_equal(trl_model_predict(m, f, out, &err), 0);
    assert_int_equal((int)want->ncols, m->noutputs);
    for (int j = 0; j < m->noutputs; j++) {
        const trl_column *w = want->cols[j];
        assert_int_equal(w->len, f->nrows);
        double worst = 0;
        size_t at = 0;
        for (size_t i = 0; i < f->nrows; i++) {
            double d = fabs(out[j]->v.f64[i] - trl_column_get_f64(w, i));
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        if (!(worst <= 1e-6))
            fail_msg("%s column %d row %zu: trellis %.17g, reference %.17g",
                     expected_file, j, at + 1, out[j]->v.f64[at],
                     trl_column_get_f64(w, at));
        trl_column_decref(out[j]);
    }
    trl_frame_decref(want);
}

/* ---- agreement with the reference libraries ------------------------------------ */

static void test_xgb_binary(void **state)
{
    (void)state;
    trl_frame *d = fixture("binary.csv"), *n = fixture("binary_new.csv");
    trl_model *m = train_ok("xgboost", d, "x1,x2,x3,plan,city", "label",
                            "{\"objective\": \"binary:logistic\", "
                            "\"max_depth\": 3, \"eta\": 0.3, \"seed\": 0, "
                            "\"nthread\": 1, \"num_boost_round\": 20}",
                            NULL, NULL);
    assert_string_equal(m->objective, "binary:logistic");
    assert_int_equal(m->noutputs, 1);
    check_predictions(m, d, "expected_xgb_binary.csv");
    /* unseen categories and a missing plan: zeros / NaN as Python got */
    check_predictions(m, n, "expected_xgb_binary_new.csv");
    /* 40 cities are past the one-hot limit: coded, one input */
    json_t *inputs = trl_model_input_names(m);
    assert_int_equal(json_array_size(inputs), 3 + 4 + 1);
    json_decref(inputs);
    trl_model_decref(m);
    trl_frame_decref(d);
    trl_frame_decref(n);
}

static void test_xgb_binary_hist(void **state)
{
    (void)state;
    trl_frame *d = fixture("binary.csv"), *n = fixture("binary_new.csv");
    trl_model *m = train_ok("xgboost", d, "x1,x2,x3,plan,city", "label",
                            "{\"objective\": \"binary:logistic\", "
                            "\"tree_method\": \"hist\", \"max_bin\": 64, "
                            "\"subsample\": 0.8, \"colsample_bytree\": 0.8, "
                            "\"max_depth\": 3, \"eta\": 0.3, \"seed\": 0, "
                            "\"nthread\": 2, \"num_boost_round\": 30}",
                            NULL, NULL);
    check_predictions(m, d, "expected_xgb_binary_hist.csv");
    check_predictions(m, n, "expected_xgb_binary_hist_new.csv");
    trl_model_decref(m);
    trl_frame_decref(d);
    trl_frame_decref(n);
}

static void test_xgb_early_stopping(void **state)
{
    (void)state;
    trl_frame *d = fixture("binary.csv"), *e = fixture("binary_eval.csv");
    trl_model *m = train_ok("xgboost", d, "x1,x2,x3,plan,city", "label",
                            "{\"objective\": \"binary:logistic\", "
                            "\"max_depth\": 4, \"eta\": 0.5, \"seed\": 0, "
                            "\"nthread\": 1, \"eval_metric\": \"logloss\", "
                            "\"num_boost_round\": 200, "
                            "\"early_stopping_rounds\": 5}", e, NULL);
    check_predictions(m, e, "expected_xgb_early.csv");
    char path[4200];
    snprintf(path, sizeof path, "%s/expected_xgb_early.json", fixture_dir);
    json_t *want = json_load_file(path, 0, NULL);
    assert_non_null(want);
    json_t *best = json_object_get(m->metrics, "best_iteration");
    assert_int_equal(json_integer_value(best),
                     json_integer_value(json_object_get(want,
                                                        "best_iteration")));
    assert_int_equal(json_integer_value(json_object_get(m->metrics,
                                                        "rounds")),
                     json_integer_value(json_object_get(want,
                                                        "num_boosted_rounds")));
    assert_non_null(json_object_get(m->metrics, "eval-logloss"));
    json_decref(want);
    trl_model_decref(m);
    trl_frame_decref(d);
    trl_frame_decref(e);
}

static void test_xgb_regression(void **state)
{
    (void)state;
    trl_frame *d = fixture("regression.csv");
    trl_model *m = train_ok("xgboost", d, "x1,x2,x3,plan", "y",
                            "{\"objective\": \"reg:squarederror\", "
                            "\"max_depth\": 4, \"eta\": 0.1, \"seed\": 0, "
                            "\"nthread\": 1, \"num_boost_round\": 50}",
                            NULL, NULL);
    check_predictions(m, d, "expected_xgb_regression.csv");
    trl_model_decref(m);
    trl_frame_decref(d);
}

static void test_xgb_multiclass(void **state)
{
    (void)state;
    trl_frame *d = fixture("multiclass.csv");
    trl_model *m = train_ok("xgboost", d, "x1,x2,x3", "label",
                            "{\"objective\": \"multi:softprob\", "
                            "\"num_class\": 3, \"max_depth\": 3, "
                            "\"eta\": 0.3, \"seed\": 0, \"nthread\": 1, "
                            "\"num_boost_round\": 15}", NULL, NULL);
    assert_int_equal(m->noutputs, 3);
    check_predictions(m, d, "expected_xgb_multiclass.csv");
    trl_model_decref(m);
    trl_frame_decref(d);
}

static void test_xgb_rank(void **state)
{
    (void)state;
    trl_frame *d = fixture("rank.csv");
    trl_model *m = train_ok("xgboost", d, "x1,x2,x3", "rel",
                            "{\"objective\": \"rank:ndcg\", \"max_depth\": 3,"
                            " \"eta\": 0.3, \"seed\": 0, \"nthread\": 1, "
                            "\"num_boost_round\": 20}", NULL, "qid");
    check_predictions(m, d, "expected_xgb_rank.csv");
    trl_model_decref(m);
    trl_frame_decref(d);
}

static void test_logistic(void **state)
{
    (void)state;
    trl_frame *d = fixture("binary.csv"), *n = fixture("binary_new.csv");
    trl_model *m = train_ok("logistic", d, "x1,x2,x3,plan", "label",
                            "{\"C\": 0.5, \"eps\": 1e-10}", NULL, NULL);
    check_predictions(m, d, "expected_logistic.csv");
    /* train-logloss is the mean log-loss of those predictions */
    trl_frame *want = fixture("expected_logistic.csv");
    const trl_column *y = trl_frame_get(d, "label"), *p = want->cols[0];
    double sum = 0;
    for (size_t i = 0; i < d->nrows; i++)
        sum -= trl_column_get_f64(y, i) == 1.0
                   ? log(trl_column_get_f64(p, i))
                   : log(1 - trl_column_get_f64(p, i));
    double got = json_real_value(json_object_get(m->metrics,
                                                 "train-logloss"));
    assert_true(fabs(got - sum / (double)d->nrows) < 1e-6);
    trl_frame_decref(want);
    check_predictions(m, n, "expected_logistic_new.csv");
    trl_model_decref(m);
    trl_frame_decref(d);
    trl_frame_decref(n);
}

/* The lineage a model records is a copy: a step taken on the frame after
 * training (a column set) does not rewrite what the model was trained on. */
static void test_recorded_lineage_is_a_copy(void **state)
{
    (void)state;
    trl_frame *d = fixture("binary.csv");
    assert_int_equal(trl_frame_add_step(d, "lua", json_pack("{s:s}", "op",
                                                            "first")), 0);
    trl_model *m = train_ok("logistic", d, "x1,x2", "label", NULL, NULL,
                            NULL);
    assert_int_equal(trl_frame_add_step(d, "python cell",
                                        json_pack("{s:s}", "op", "later")),
                     0);
    json_t *steps = json_object_get(json_object_get(m->data, "lineage"),
                                    "derivation");
    assert_int_equal(json_array_size(steps), 1);
    assert_int_equal(json_array_size(json_object_get(d->lineage,
                                                     "derivation")), 2);
    trl_model_decref(m);
    trl_frame_decref(d);
}

static void test_linear(void **state)
{
    (void)state;
    trl_frame *d = fixture("regression.csv");
    trl_model *m = train_ok("linear", d, "x1,x2,x3,plan", "y",
                            "{\"C\": 2.0, \"eps\": 1e-10}", NULL, NULL);
    check_predictions(m, d, "expected_linear.csv");
    trl_model_decref(m);
    trl_frame_decref(d);
}

/* ---- the registry ------------------------------------------------------------------ */

static void predict_all(const trl_model *m, trl_frame *f, double *out)
{
    trl_column *c[8];
    trl_error err = {0};
    assert_int_equal(trl_model_predict(m, f, c, &err), 0);
    for (int j = 0; j < m->noutputs; j++) {
        memcpy(out + j * f->nrows, c[j]->v.f64, f->nrows * sizeof *out);
        trl_column_decref(c[j]);
    }
}

static void test_persistence_bit_identical(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/persist.sqlite", tmpdir);
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    assert_non_null(r);
    trl_frame *d = fixture("binary.csv"), *mc = fixture("multiclass.csv");
    int v;
    /* a registered frame: the model records its version */
    assert_int_equal(trl_registry_register(r, "churn", d, &v, &err), 0);
    trl_frame *churn = trl_registry_get(r, "churn@1", &err);
    trl_model *ms[3] = {
        train_ok("xgboost", churn, NULL, "label", "{\"num_boost_round\": 7,"
                 " \"nthread\": 2}", NULL, NULL),
        train_ok("logistic", d, "x1,x2,x3,plan", "label", NULL, NULL, NULL),
        train_ok("xgboost", mc, NULL, "label", "{\"objective\": "
                 "\"multi:softprob\", \"num_boost_round\": 4}", NULL, NULL)};
    const char *names[3] = {"churn_xgb", "churn_lr", "classes"};
    trl_frame *on[3] = {d, d, mc};
    double *before[3];
    for (int i = 0; i < 3; i++) {
        size_t n = on[i]->nrows * (size_t)ms[i]->noutputs;
        before[i] = malloc(n * sizeof(double));
        predict_all(ms[i], on[i], before[i]);
        assert_int_equal(trl_registry_register_model(r, names[i], ms[i], &v,
                                                     &err), 0);
        assert_int_equal(v, 1);
    }
    assert_string_equal(json_string_value(json_object_get(ms[0]->data,
                                                          "frame")),
                        "churn@1");
    assert_string_equal(json_string_value(json_array_get(ms[0]->features,
                                                         0)), "x1");
    for (int i = 0; i < 3; i++)
        trl_model_decref(ms[i]);
    trl_frame_decref(churn);
    trl_registry_close(r);

    r = trl_registry_open(path, &err);
    assert_non_null(r);
    for (int i = 0; i < 3; i++) {
        trl_model *m = trl_registry_get_model(r, names[i], &err);
        if (!m)
            fail_msg("%s: %s", names[i], err.message);
        size_t n = on[i]->nrows * (size_t)m->noutputs;
        double *after = malloc(n * sizeof(double));
        predict_all(m, on[i], after);
        assert_memory_equal(before[i], after, n * sizeof(double));
        free(after);
        free(before[i]);
        trl_model_decref(m);
    }
    trl_model *m = trl_registry_get_model(r, "churn_xgb@1", &err);
    assert_string_equal(m->target, "label");
    assert_string_equal(m->algo, "xgboost");
    assert_int_equal(json_integer_value(json_object_get(m->params,
                                                        "num_boost_round")),
                     7);
    trl_model_decref(m);
    trl_registry_close(r);
    trl_frame_decref(d);
    trl_frame_decref(mc);
}

static void expect_stage(trl_registry *r, const char *ref, trl_stage want)
{
    trl_stage s;
    trl_error err = {0};
    assert_int_equal(trl_registry_model_stage(r, ref, &s, &err), 0);
    assert_int_equal(s, want);
}

static void test_stages(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_registry *r = trl_registry_open(":memory:", &err);
    trl_frame *d = fixture("binary.csv");
    int v;
    for (int i = 0; i < 3; i++) {
        trl_model *m = train_ok("xgboost", d, "x1,x2", "label",
                                "{\"num_boost_round\": 2}", NULL, NULL);
        assert_int_equal(trl_registry_register_model(r, "m", m, &v, &err),
                         0);
        assert_int_equal(v, i + 1);
        trl_model_decref(m);
    }
    assert_null(trl_registry_get_model(r, "m@production", &err));
    assert_non_null(strstr(err.message, "no version in stage production"));
    assert_int_equal(trl_registry_stage_model(r, "m@1", TRL_STAGE_PRODUCTION,
                                              &err), 0);
    assert_int_equal(trl_registry_stage_model(r, "m@2", TRL_STAGE_STAGING,
                                              &err), 0);
    trl_model *m = trl_registry_get_model(r, "m@production", &err);
    assert_string_equal(m->ref, "m@1");
    trl_model_decref(m);
    /* a new production version archives the old one */
    assert_int_equal(trl_registry_stage_model(r, "m@2", TRL_STAGE_PRODUCTION,
                                              &err), 0);
    expect_stage(r, "m@1", TRL_STAGE_ARCHIVED);
    expect_stage(r, "m@2", TRL_STAGE_PRODUCTION);
    expect_stage(r, "m@3", TRL_STAGE_NONE);
    m = trl_registry_get_model(r, "m", &err);
    assert_string_equal(m->ref, "m@3");
    trl_model_decref(m);
    json_t *list = trl_registry_list_models(r);
    assert_int_equal(json_array_size(list), 3);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(list, 1), "stage")),
                        "production");
    json_decref(list);
    /* bad specs */
    assert_null(trl_registry_get_model(r, "m@9", &err));
    assert_non_null(strstr(err.message, "versions 1..3, not 9"));
    assert_null(trl_registry_get_model(r, "nope", &err));
    assert_non_null(strstr(err.message, "no model 'nope'"));
    assert_null(trl_registry_get_model(r, "m@prod", &err));
    assert_non_null(strstr(err.message, "version number or a stage"));
    assert_null(trl_registry_get_model(r, "1x", &err));
    assert_non_null(strstr(err.message, "not a valid model name"));
    assert_int_not_equal(trl_registry_stage_model(r, "m@7",
                                                  TRL_STAGE_STAGING, &err),
                         0);
    trl_registry_close(r);
    trl_frame_decref(d);
}

static void test_save_native_formats(void **state)
{
    (void)state;
    trl_frame *d = fixture("binary.csv");
    trl_model *x = train_ok("xgboost", d, "x1,x2", "label",
                            "{\"num_boost_round\": 3}", NULL, NULL);
    trl_model *l = train_ok("logistic", d, "x1,x2", "label", NULL, NULL,
                            NULL);
    char path[128];
    trl_error err = {0};
    snprintf(path, sizeof path, "%s/m.json", tmpdir);
    assert_int_equal(trl_model_save(x, path, &err), 0);
    json_t *j = json_load_file(path, 0, NULL);
    assert_non_null(json_object_get(j, "learner"));
    json_decref(j);
    snprintf(path, sizeof path, "%s/m.liblinear", tmpdir);
    assert_int_equal(trl_model_save(l, path, &err), 0);
    FILE *fp = fopen(path, "r");
    char line[64] = "";
    assert_non_null(fgets(line, sizeof line, fp));
    fclose(fp);
    assert_string_equal(line, "solver_type L2R_LR\n");
    /* under a regular file: no directory can be made there, even by root
     * (a path like /nonexistent/dir is only missing until something
     * makes it) */
    snprintf(path, sizeof path, "%s/m.liblinear/m.json", tmpdir);
    assert_int_not_equal(trl_model_save(x, path, &err), 0);
    assert_non_null(strstr(err.message, path));
    trl_model_decref(x);
    trl_model_decref(l);
    trl_frame_decref(d);
}

static void test_compare_is_recorded_as_evidence(void **state)
{
    (void)state;
    trl_error err = {0};
    char path[128];
    snprintf(path, sizeof path, "%s/compare.sqlite", tmpdir);
    trl_registry *r = trl_registry_open(path, &err);
    trl_frame *d = fixture("binary.csv"), *e = fixture("binary_eval.csv");
    int v;
    assert_int_equal(trl_registry_register(r, "holdout", e, &v, &err), 0);
    trl_frame *on = trl_registry_get(r, "holdout@1", &err);
    trl_model *ms[2] = {
        train_ok("xgboost", d, "x1,x2,plan", "label",
                 "{\"num_boost_round\": 5}", NULL, NULL),
        train_ok("logistic", d, "x1,x2,plan", "label", NULL, NULL, NULL)};
    assert_int_equal(trl_registry_register_model(r, "base", ms[0], &v, &err),
                     0);
    assert_int_equal(trl_registry_register_model(r, "cand", ms[1], &v, &err),
                     0);
    const char *names[2] = {"auc", "logloss"};
    trl_compare_request rq = {.models = ms, .nmodels = 2, .on = on,
                              .metrics = names, .nmetrics = 2,
                              .resamples = 50, .seed = 3};
    json_t *res = trl_compare_models(&rq, &err);
    if (!res)
        fail_msg("%s", err.message);
    assert_string_equal(json_string_value(json_object_get(res, "on")),
                        "holdout@1");
    assert_int_equal(json_integer_value(json_object_get(res, "rows")), 150);
    /* curves: ROC from (0, 0) to (1, 1), precision starting at 1 */
    json_t *cv = json_object_get(res, "curves");
    assert_int_equal(json_array_size(cv), 2);
    for (size_t k = 0; k < 2; k++) {
        json_t *c = json_array_get(cv, k);
        json_t *fpr = json_object_get(c, "fpr"), *tpr = json_object_get(c,
                                                                     "tpr");
        size_t n = json_array_size(fpr);
        assert_true(n > 2 && n == json_array_size(tpr));
        assert_true(json_real_value(json_array_get(fpr, 0)) == 0.0);
        assert_true(json_real_value(json_array_get(fpr, n - 1)) == 1.0);
        assert_true(json_real_value(json_array_get(tpr, n - 1)) == 1.0);
        for (size_t i = 1; i < n; i++)
            assert_true(json_real_value(json_array_get(fpr, i)) >=
                        json_real_value(json_array_get(fpr, i - 1)));
        assert_true(json_array_size(json_object_get(c, "calibration")) > 0);
    }
    long long id;
    assert_int_equal(trl_registry_record_comparison(r, res, &id, &err), 0);
    assert_int_equal(id, 1);
    json_decref(res);
    trl_registry_close(r);

    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT name, version, frame, "
                                        "metric"
                                        " FROM model_metrics ORDER BY name, "
                                        "metric", -1, &st, NULL), SQLITE_OK);
    const char *want[4][2] = {{"base", "auc"}, {"base", "logloss"},
                              {"cand", "auc"}, {"cand", "logloss"}};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0),
                            want[i][0]);
        assert_string_equal((const char *)sqlite3_column_text(st, 2),
                            "holdout@1");
        assert_string_equal((const char *)sqlite3_column_text(st, 3),
                            want[i][1]);
    }
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    for (int i = 0; i < 2; i++)
        trl_model_decref(ms[i]);
    trl_frame_decref(on);
    trl_frame_decref(d);
    trl_frame_decref(e);
}

/* A model with two distinct scores still draws its ROC corner. */
static void test_curves_with_few_distinct_scores(void **state)
{
    (void)state;
    trl_frame *d = fixture("binary.csv");
    trl_model *m = train_ok("xgboost", d, "x1,x2", "label",
                            "{\"num_boost_round\": 1, \"max_depth\": 1}",
                            NULL, NULL);
    trl_model *ms[1] = {m};
    trl_error err = {0};
    trl_compare_request rq = {.models = ms, .nmodels = 1, .on = d};
    json_t *res = trl_compare_models(&rq, &err);
    assert_non_null(res);
    json_t *fpr = json_object_get(json_array_get(json_object_get(res,
                                                                 "curves"),
                                                 0), "fpr");
    /* (0, 0), the corner between the two scores, (1, 1) */
    assert_int_equal(json_array_size(fpr), 3);
    json_decref(res);
    trl_model_decref(m);
    trl_frame_decref(d);
}

/* ---- bad input ------------------------------------------------------------------------- */

static void expect_refused(const char *algo, trl_frame *d, const char *feats,
                           const char *target, const char *params,
                           trl_frame *eval, const char *group,
                           const char *needle)
{
    trl_error err = {0};
    trl_model *m = train(algo, d, feats, target, params, eval, group, &err);
    if (m)
        fail_msg("trained, but expected an error containing '%s'", needle);
    if (!strstr(err.message, needle))
        fail_msg("error '%s' does not contain '%s'", err.message, needle);
}

/* A copy of f whose column col holds x in row `row` (1-based), or in every
 * row for (size_t)-1. */
static trl_frame *with_value(trl_frame *f, const char *col, size_t row,
                             double x)
{
    trl_error err = {0};
    const trl_column *c = trl_frame_get(f, col);
    trl_column *v = trl_column_new(TRL_F64, f->nrows, NULL);
    for (size_t i = 0; i < f->nrows; i++)
        v->v.f64[i] = row == (size_t)-1 || i + 1 == row
                          ? x : trl_column_get_f64(c, i);
    trl_frame *g = trl_frame_copy(f);
    assert_int_equal(trl_frame_set(g, col, v, &err), 0);
    trl_column_decref(v);
    return g;
}

/* n rows of distinct string ids and a 0/1 label. */
static trl_frame *id_frame(int n)
{
    size_t cap = (size_t)n * 24 + 16, used = 0;
    char *csv = malloc(cap);
    used += (size_t)snprintf(csv, cap, "id,label\n");
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(csv + used, cap - used, "u%05d,%d\n", i,
                                 i % 2);
    trl_error err = {0};
    trl_frame *f = trl_csv_parse(csv, used, "ids", NULL, &err);
    free(csv);
    assert_non_null(f);
    return f;
}

static void test_bad_input(void **state)
{
    (void)state;
    trl_frame *d = fixture("binary.csv"), *reg = fixture("regression.csv");
    trl_frame *rank = fixture("rank.csv");
    expect_refused("xgboost", d, "x1,nope", "label", NULL, NULL, NULL,
                   "no column 'nope' in data");
    expect_refused("xgboost", d, NULL, "nope", NULL, NULL, NULL,
                   "no column 'nope' in data");
    expect_refused("xgboost", d, "x1,x2", "plan", NULL, NULL, NULL,
                   "target 'plan' is a str column");
    expect_refused("logistic", reg, "x1,x2", "y", NULL, NULL, NULL,
                   "logistic needs a target of 0/1");
    expect_refused("xgboost", reg, "x2,x3", "y",
                   "{\"objective\": \"binary:logistic\"}", NULL, NULL,
                   "needs a target of 0/1");
    expect_refused("xgboost", reg, "x2,x3", "x1", NULL, NULL, NULL,
                   "target 'x1' in data is missing");
    expect_refused("xgboost", d, "x1,x2", "label", "{\"max_dpeth\": 3, "
                   "\"num_boost_round\": 2}", NULL, NULL, "\"max_dpeth\"");
    expect_refused("logistic", d, "x1,x2", "label", "{\"gamma\": 1}", NULL,
                   NULL, "'gamma' is not one of them");
    expect_refused("logistic", d, "x1,x2", "label", "{\"C\": -1}", NULL,
                   NULL, "C must be a positive number");
    expect_refused("xgboost", d, "x1,x2", "label", "{\"num_boost_round\": "
                   "0}", NULL, NULL, "num_boost_round must be a whole");
    expect_refused("xgboost", d, "x1,x2", "label",
                   "{\"early_stopping_rounds\": 3}", NULL, NULL,
                   "needs an eval frame");
    expect_refused("xgboost", d, "x1,x2", "label", "{\"objective\": "
                   "\"binary:nonsense\"}", NULL, NULL, "XGBoost");
    expect_refused("xgboost", d, "x1,label", "label", NULL, NULL, NULL,
                   "cannot also be a feature");
    expect_refused("xgboost", d, "x1,x1", "label", NULL, NULL, NULL,
                   "listed twice");
    expect_refused("svm", d, "x1", "label", NULL, NULL, NULL,
                   "unknown algo 'svm'");
    expect_refused("xgboost", rank, "x1,x2", "rel", "{\"objective\": "
                   "\"rank:ndcg\"}", NULL, NULL, "needs group=");
    expect_refused("xgboost", d, "x1,x2", "label", "{\"objective\": "
                   "\"binary:logistic\"}", NULL, "x3", "group= is for rank:*");
    /* a group inferred rank:ndcg, but the queries are not contiguous */
    expect_refused("xgboost", d, "x1,x2", "label", NULL, NULL, "x3",
                   "rows of each query must be together");
    expect_refused("xgboost", d, "x1,x2", "label", NULL, reg, NULL,
                   "no column 'label' in eval");
    /* the eval frame must have the features, of the same kind */
    expect_refused("xgboost", reg, "x1,plan", "y", NULL, d, NULL,
                   "no column 'y' in eval");
    /* eval targets are checked as the data's are */
    trl_frame *bad_eval = with_value(d, "label", 5, 2.0);
    expect_refused("xgboost", d, "x1,x2", "label", "{\"objective\": "
                   "\"binary:logistic\"}", bad_eval, NULL,
                   "'label' in eval is 2 in row 5");
    trl_frame_decref(bad_eval);
    /* infinities, in training and then in prediction */
    trl_frame *inf = with_value(reg, "x2", 3, INFINITY);
    expect_refused("xgboost", inf, "x1,x2", "y", NULL, NULL, NULL,
                   "column 'x2' in data is infinite in row 3");
    expect_refused("linear", inf, "x1,x2", "y", NULL, NULL, NULL,
                   "infinite in row 3");
    trl_model *fin = train_ok("xgboost", reg, "x1,x2", "y",
                              "{\"num_boost_round\": 2}", NULL, NULL);
    trl_column *pout[1];
    trl_error perr = {0};
    assert_int_not_equal(trl_model_predict(fin, inf, pout, &perr), 0);
    assert_non_null(strstr(perr.message, "column 'x2' is infinite in "
                                         "row 3"));
    trl_model_decref(fin);
    /* auc on an eval frame of one class is NaN: early stopping says so */
    trl_frame *ones = trl_frame_filter(d, trl_frame_get(d, "x3"), NULL);
    trl_frame *one_class = with_value(ones, "label", (size_t)-1, 1.0);
    expect_refused("xgboost", d, "x1,x2", "label", "{\"eval_metric\": "
                   "\"auc\", \"early_stopping_rounds\": 2}", one_class,
                   NULL, "eval-auc, which is nan");
    trl_frame_decref(ones);
    trl_frame_decref(one_class);
    trl_frame_decref(inf);
    /* an id-like string column is no feature for a linear model */
    trl_frame *ids = id_frame(1001);
    expect_refused("logistic", ids, "id", "label", NULL, NULL, NULL,
                   "'id' has 1001 categories");
    trl_frame_decref(ids);
    trl_frame *empty = trl_frame_head(d, 0, NULL);
    expect_refused("xgboost", empty, "x1", "label", NULL, NULL, NULL,
                   "no rows");
    trl_frame_decref(empty);

    /* predicting on a frame without a feature, or of another type */
    trl_model *m = train_ok("xgboost", d, "x1,plan", "label",
                            "{\"num_boost_round\": 2}", NULL, NULL);
    trl_column *out[1];
    trl_error err = {0};
    assert_int_not_equal(trl_model_predict(m, rank, out, &err), 0);
    assert_non_null(strstr(err.message, "no column"));
    trl_frame *swapped = trl_frame_copy(d);
    trl_frame_set(swapped, "plan", trl_frame_get(d, "x2"), &err);
    assert_int_not_equal(trl_model_predict(m, swapped, out, &err), 0);
    assert_non_null(strstr(err.message, "was str in training"));
    trl_frame_decref(swapped);
    trl_model_decref(m);
    trl_frame_decref(d);
    trl_frame_decref(reg);
    trl_frame_decref(rank);
}

/* ---- interrupts ------------------------------------------------------------------------ */

static int polls;

static int interrupt_after_some(void)
{
    return ++polls > 3;
}

static void test_interrupt_registers_nothing(void **state)
{
    (void)state;
    trl_frame *d = fixture("binary.csv");
    trl_error err = {0};
    polls = 0;
    trl_registry_set_interrupt(interrupt_after_some);
    trl_model *m = train("xgboost", d, "x1,x2", "label",
                         "{\"num_boost_round\": 50}", NULL, NULL, &err);
    trl_registry_set_interrupt(NULL);
    assert_null(m);
    assert_int_equal(err.code, TRL_EINTR);
    trl_frame_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorded_lineage_is_a_copy),
        cmocka_unit_test(test_xgb_binary),
        cmocka_unit_test(test_xgb_binary_hist),
        cmocka_unit_test(test_xgb_early_stopping),
        cmocka_unit_test(test_xgb_regression),
        cmocka_unit_test(test_xgb_multiclass),
        cmocka_unit_test(test_xgb_rank),
        cmocka_unit_test(test_logistic),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_persistence_bit_identical),
        cmocka_unit_test(test_stages),
        cmocka_unit_test(test_save_native_formats),
        cmocka_unit_test(test_compare_is_recorded_as_evidence),
        cmocka_unit_test(test_curves_with_few_distinct_scores),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_interrupt_registers_nothing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
