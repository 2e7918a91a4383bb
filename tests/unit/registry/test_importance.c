/* test_importance.c - importance.c, importance_perm.c and
 * importance_store.c: XGBoost's gain, weight and cover agree with Python's
 * Booster.get_score on the same models, and liblinear's coefficients with
 * scikit-learn's (fixtures/importance, written by gen_importance.py);
 * permutation importance agrees with scikit-learn's permutation_importance
 * where the RNGs cannot matter (a constant column is exactly 0, the leaked
 * label matters most) and within a few standard errors elsewhere, is the
 * same for the same seed, points the right way for lower-is-better and
 * business metrics, and leaves rows without a label out; bad requests are
 * refused naming what to use; an interrupt stops it; runs are kept
 * against the model version and followed across versions, after a restart
 * too, and an older file gains the tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "trellis/importance.h"

/* ---- helpers ----------------------------------------------------------------- */

static char here[4096];
static char tmpdir[64];
static json_t *expected;   /* importance.json */
static json_t *perm_ref;   /* perm.json */

static trl_frame *csv(const char *rel)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/fixtures/%s", here, rel);
    trl_error err = {0};
    trl_frame *f = trl_csv_read(path, NULL, &err);
    if (!f)
        fail_msg("%s: %s", path, err.message);
    return f;
}

static json_t *load_json(const char *rel)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/fixtures/%s", here, rel);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j)
        fail_msg("%s: %s", path, jerr.text);
    return j;
}

static int group_setup(void **state)
{
    (void)state;
    const char *slash = strrchr(__FILE__, '/');
    snprintf(here, sizeof here, "%.*s", slash ? (int)(slash - __FILE__) : 1,
             slash ? __FILE__ : ".");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/trl_importance_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    expected = load_json("importance/importance.json");
    perm_ref = load_json("importance/perm.json");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    json_decref(expected);
    json_decref(perm_ref);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Trains algo on data with the features of the comma list (NULL: all). */
static trl_model *train(const char *algo, trl_frame *data, const char *feats,
                        const char *target, const char *params,
                        const char *group)
{
    const char *names[16];
    char buf[256];
    size_t n = 0;
    if (feats) {
        snprintf(buf, sizeof buf, "%s", feats);
        for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","))
            names[n++] = t;
    }
    json_t *p = json_loads(params, 0, NULL);
    trl_train_spec spec = {.algo = algo, .data = data, .target = target,
                           .features = feats ? names : NULL,
                           .nfeatures = n, .params = p, .group = group};
    trl_error err = {0};
    trl_model *m = trl_model_train(&spec, &err);
    json_decref(p);
    if (!m)
        fail_msg("training: %s", err.message);
    return m;
}

static json_t *run(trl_importance_request *rq)
{
    trl_error err = {0};
    json_t *r = trl_importance_run(rq, &err);
    if (!r)
        fail_msg("importance: %s", err.message);
    return r;
}

static double num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("'%s' is not a number", key);
    return json_number_value(v);
}

/* The entry of array a whose key is name. */
static json_t *find(const json_t *a, const char *key, const char *name)
{
    size_t i;
    json_t *o;
    json_array_foreach(a, i, o)
        if (strcmp(json_string_value(json_object_get(o, key)), name) == 0)
            return o;
    fail_msg("no %s '%s'", key, name);
    return NULL;
}

static void close_to(double got, double want, double rel, const char *what)
{
    if (!(fabs(got - want) <= rel * fmax(fabs(want), 1e-12) + 1e-12))
        fail_msg("%s: %.17g, expected %.17g", what, got, want);
}

/* ---- XGBoost: get_score ---------------------------------------------------------- */

/* Every type of one model against the fixture: each input's value (0 for
 * those get_score leaves out) and each feature's. */
static void check_tree_case(const char *name, trl_model *m)
{
    const json_t *ref = json_object_get(expected, name);
    static const char *const types[] = {"weight", "gain", "cover",
                                        "total_gain", "total_cover"};
    for (size_t t = 0; t < 5; t++) {
        trl_importance_request rq = {.model = m, .method = types[t]};
        json_t *r = run(&rq);
        assert_string_equal(json_string_value(json_object_get(r, "method")),
                            types[t]);
        assert_true(json_is_null(json_object_get(r, "metric")));
        const json_t *inputs = json_object_get(r, "inputs");
        const json_t *names = json_object_get(ref, "inputs");
        assert_int_equal(json_array_size(inputs), json_array_size(names));
        size_t i;
        json_t *nm;
        json_array_foreach(names, i, nm) {
            const json_t *in = json_array_get(inputs, i);
            assert_string_equal(json_string_value(json_object_get(in,
                                                                  "input")),
                                json_string_value(nm));
            json_t *want = json_object_get(json_object_get(ref, types[t]),
                                           json_string_value(nm));
            char what[128];
            snprintf(what, sizeof what, "%s %s %s", name, types[t],
                     json_string_value(nm));
            close_to(num(in, "value"), want ? json_number_value(want) : 0.0,
                     1e-6, what);
        }
        const char *key;
        json_t *fv;
        json_object_foreach(json_object_get(ref, "features"), key, fv) {
            const json_t *f = find(json_object_get(r, "features"), "feature",
                                   key);
            char what[128];
            snprintf(what, sizeof what, "%s %s feature %s", name, types[t],
                     key);
            close_to(num(f, "value"), num(fv, types[t]), 1e-6, what);
        }
        /* most important first */
        const json_t *fs = json_object_get(r, "features");
        for (size_t k = 1; k < json_array_size(fs); k++)
            assert_true(num(json_array_get(fs, k - 1), "value") >=
                        num(json_array_get(fs, k), "value"));
        json_decref(r);
    }
}

static void test_xgboost_matches_get_score(void **state)
{
    (void)state;
    trl_frame *b = csv("models/binary.csv");
    trl_model *m = train("xgboost", b, "x1,x2,x3,plan,city", "label",
                         "{\"max_depth\": 3, \"eta\": 0.3, \"seed\": 0, "
                         "\"nthread\": 1, \"num_boost_round\": 20}", NULL);
    check_tree_case("xgb_binary", m);
    /* plan=family is in no split: 0, and the feature counts 4 inputs */
    trl_importance_request rq = {.model = m};
    json_t *r = run(&rq);
    assert_string_equal(json_string_value(json_object_get(r, "method")),
                        "gain");
    assert_true(num(find(json_object_get(r, "inputs"), "input",
                         "plan=family"), "value") == 0.0);
    assert_int_equal(json_integer_value(json_object_get(
                         find(json_object_get(r, "features"), "feature",
                              "plan"), "inputs")), 4);
    json_decref(r);
    trl_model_decref(m);
    trl_frame_decref(b);

    trl_frame *reg = csv("models/regression.csv");
    m = train("xgboost", reg, "x1,x2,x3,plan", "y",
              "{\"objective\": \"reg:squarederror\", \"max_depth\": 4, "
              "\"eta\": 0.1, \"seed\": 0, \"nthread\": 1, "
              "\"num_boost_round\": 50}", NULL);
    check_tree_case("xgb_regression", m);
    trl_model_decref(m);
    trl_frame_decref(reg);

    trl_frame *mc = csv("models/multiclass.csv");
    m = train("xgboost", mc, "x1,x2,x3", "label",
              "{\"objective\": \"multi:softprob\", \"num_class\": 3, "
              "\"max_depth\": 3, \"eta\": 0.3, \"seed\": 0, \"nthread\": 1, "
              "\"num_boost_round\": 15}", NULL);
    check_tree_case("xgb_multiclass", m);
    trl_model_decref(m);
    trl_frame_decref(mc);
}

/* ---- liblinear: coefficients -------------------------------------------------------- */

static void check_coef(const char *name, trl_model *m)
{
    const json_t *ref = json_object_get(expected, name);
    trl_importance_request rq = {.model = m};
    json_t *r = run(&rq);
    assert_string_equal(json_string_value(json_object_get(r, "method")),
                        "coef");
    const json_t *inputs = json_object_get(r, "inputs");
    const json_t *want = json_object_get(ref, "coef");
    assert_int_equal(json_array_size(inputs), json_array_size(want));
    double plan = 0;
    for (size_t i = 0; i < json_array_size(want); i++) {
        const json_t *in = json_array_get(inputs, i);
        assert_string_equal(json_string_value(json_object_get(in, "input")),
                            json_string_value(json_array_get(
                                json_object_get(ref, "inputs"), i)));
        /* two liblinear builds at eps 1e-10 (see the models README) */
        double w = json_number_value(json_array_get(want, i));
        if (fabs(num(in, "value") - w) > 1e-6)
            fail_msg("%s input %zu: %.12g, scikit-learn %.12g", name, i,
                     num(in, "value"), w);
        if (i >= 3)
            plan += num(in, "value");
    }
    close_to(num(find(json_object_get(r, "features"), "feature", "plan"),
                  "value"), plan, 1e-12, "plan summed");
    close_to(num(find(json_object_get(r, "features"), "feature", "x1"),
                  "value"), num(json_array_get(inputs, 0), "value"), 0,
             "x1 alone");
    json_decref(r);
}

static void test_linear_coefficients_match_sklearn(void **state)
{
    (void)state;
    trl_frame *b = csv("models/binary.csv");
    trl_model *m = train("logistic", b, "x1,x2,x3,plan", "label",
                         "{\"C\": 0.5, \"eps\": 1e-10}", NULL);
    check_coef("logistic", m);
    trl_model_decref(m);
    trl_frame_decref(b);
    trl_frame *reg = csv("models/regression.csv");
    m = train("linear", reg, "x1,x2,x3,plan", "y",
              "{\"C\": 2, \"eps\": 1e-10}", NULL);
    check_coef("linear", m);
    trl_model_decref(m);
    trl_frame_decref(reg);
}

/* ---- permutation ------------------------------------------------------------------ */

static trl_model *perm_model(trl_frame *f)
{
    return train("xgboost", f, "x,noise,leak,const", "label",
                 "{\"max_depth\": 2, \"eta\": 0.3, \"seed\": 0, "
                 "\"nthread\": 1, \"num_boost_round\": 15}", NULL);
}

static void test_permutation_agrees_with_sklearn(void **state)
{
    (void)state;
    trl_frame *f = csv("importance/perm.csv");
    trl_model *m = perm_model(f);
    trl_importance_request rq = {.model = m, .method = "permutation",
                                 .on = f, .metric = "auc", .repeats = 30,
                                 .seed = 0};
    json_t *r = run(&rq);
    /* the same model: the same unshuffled AUC */
    close_to(num(r, "baseline"), num(perm_ref, "baseline_auc"), 1e-12,
             "baseline");
    assert_int_equal(json_integer_value(json_object_get(r, "rows")), 800);
    assert_int_equal(json_integer_value(json_object_get(r, "repeats")), 30);
    assert_true(json_is_true(json_object_get(r, "higher_is_better")));
    const json_t *fs = json_object_get(r, "features");
    /* what no RNG changes: the leak first, the constant exactly 0 */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(fs, 0), "feature")), "leak");
    const json_t *c = find(fs, "feature", "const");
    assert_true(num(c, "value") == 0.0 && num(c, "std") == 0.0);
    assert_int_equal(json_array_size(json_object_get(c, "values")), 30);
    const json_t *mean = json_object_get(perm_ref, "mean");
    const json_t *sd = json_object_get(perm_ref, "std");
    assert_true(fabs(num(find(fs, "feature", "noise"), "value")) <
                num(find(fs, "feature", "x"), "value") / 4);
    /* the rest within 4 standard errors of the difference of two means
     * of 30 shuffles each */
    static const char *const names[] = {"x", "noise", "leak"};
    for (int i = 0; i < 3; i++) {
        const json_t *o = find(fs, "feature", names[i]);
        double s1 = num(o, "std"), s2 = num(sd, names[i]);
        double se = sqrt((s1 * s1 + s2 * s2) / 30);
        double d = fabs(num(o, "value") - num(mean, names[i]));
        if (d > 4 * se)
            fail_msg("%s: %.5f against scikit-learn's %.5f (se %.5f)",
                     names[i], num(o, "value"), num(mean, names[i]), se);
        /* and each value is the mean of its repeats */
        double sum = 0;
        for (size_t k = 0; k < 30; k++)
            sum += json_number_value(json_array_get(json_object_get(o,
                                                                    "values"),
                                                    k));
        close_to(num(o, "value"), sum / 30, 1e-12, "mean of repeats");
    }
    assert_int_equal(json_array_size(json_object_get(r, "inputs")), 0);
    json_decref(r);
    trl_model_decref(m);
    trl_frame_decref(f);
}

static void test_permutation_is_deterministic_for_a_seed(void **state)
{
    (void)state;
    trl_frame *f = csv("importance/perm.csv");
    trl_model *m = perm_model(f);
    trl_importance_request rq = {.model = m, .method = "permutation",
                                 .on = f, .repeats = 3, .seed = 42};
    json_t *a = run(&rq), *b = run(&rq);
    assert_string_equal(json_string_value(json_object_get(a, "metric")),
                        "auc");  /* a classifier's default */
    assert_true(json_equal(json_object_get(a, "features"),
                           json_object_get(b, "features")));
    rq.seed = 43;
    json_t *c = run(&rq);
    assert_false(json_equal(json_object_get(a, "features"),
                            json_object_get(c, "features")));
    /* the frame is never modified */
    trl_frame *g = csv("importance/perm.csv");
    for (size_t k = 0; k < f->ncols; k++)
        assert_memory_equal(f->cols[k]->v.f64, g->cols[k]->v.f64,
                            f->nrows * 8);
    trl_frame_decref(g);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    trl_model_decref(m);
    trl_frame_decref(f);
}

static void test_lower_is_better_metric_points_the_same_way(void **state)
{
    (void)state;
    trl_frame *f = csv("importance/perm.csv");
    trl_model *m = perm_model(f);
    trl_importance_request rq = {.model = m, .method = "permutation",
                                 .on = f, .metric = "logloss",
                                 .repeats = 3, .seed = 1};
    json_t *r = run(&rq);
    assert_false(json_is_true(json_object_get(r, "higher_is_better")));
    const json_t *fs = json_object_get(r, "features");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(fs, 0), "feature")), "leak");
    assert_true(num(json_array_get(fs, 0), "value") > 0.1);
    assert_true(num(find(fs, "feature", "const"), "value") == 0.0);
    json_decref(r);
    trl_model_decref(m);
    trl_frame_decref(f);
}

/* A business metric, computed in C: how far the mean score of the
 * positives stands above the negatives'. It must run on the caller's
 * thread, with the frame's rows. */
typedef struct biz {
    pthread_t thread;
    int calls, wrong_thread;
    const trl_frame *frame;
} biz;

static int separation(void *ctx, const trl_metric_call *c, double *out,
                      trl_error *err)
{
    (void)err;
    biz *b = ctx;
    b->calls++;
    b->wrong_thread |= !pthread_equal(pthread_self(), b->thread);
    assert_ptr_equal(c->frame, b->frame);
    assert_non_null(c->rows);
    double sp = 0, sn = 0, np = 0, nn = 0;
    for (size_t i = 0; i < c->n; i++) {
        sp += c->y[i] * c->s[i];
        np += c->y[i];
        sn += (1 - c->y[i]) * c->s[i];
        nn += 1 - c->y[i];
    }
    *out = np && nn ? sp / np - sn / nn : NAN;
    return 0;
}

static void test_business_metric_on_the_calling_thread(void **state)
{
    (void)state;
    trl_frame *f = csv("importance/perm.csv");
    trl_model *m = perm_model(f);
    biz b = {pthread_self(), 0, 0, f};
    trl_metric_external x = {"separation", 1, separation, &b, NULL};
    trl_importance_request rq = {.model = m, .method = "permutation",
                                 .on = f, .external = &x, .repeats = 2,
                                 .seed = 5};
    json_t *r = run(&rq);
    assert_string_equal(json_string_value(json_object_get(r, "metric")),
                        "separation");
    assert_int_equal(b.calls, 1 + 4 * 2);
    assert_false(b.wrong_thread);
    const json_t *fs = json_object_get(r, "features");
    assert_true(num(find(fs, "feature", "leak"), "value") > 0);
    assert_true(num(find(fs, "feature", "const"), "value") == 0.0);
    json_decref(r);
    trl_model_decref(m);
    trl_frame_decref(f);
}

static void test_rows_without_label_are_left_out(void **state)
{
    (void)state;
    trl_frame *f = csv("importance/perm.csv");
    trl_model *m = perm_model(f);
    /* labels of the first 50 rows missing, in a copy */
    trl_frame *g = trl_frame_copy(f);
    trl_column *y = trl_column_new(TRL_F64, f->nrows, NULL);
    for (size_t i = 0; i < f->nrows; i++)
        y->v.f64[i] = i < 50 ? NAN : trl_column_get_f64(
                                         trl_frame_get(f, "label"), i);
    trl_error err = {0};
    assert_int_equal(trl_frame_set(g, "label", y, &err), 0);
    trl_column_decref(y);
    trl_importance_request rq = {.model = m, .method = "permutation",
                                 .on = g, .repeats = 2};
    json_t *r = run(&rq);
    assert_int_equal(json_integer_value(json_object_get(r, "rows")), 750);
    assert_int_equal(json_integer_value(json_object_get(r, "dropped")), 50);
    json_decref(r);
    trl_frame_decref(g);
    trl_model_decref(m);
    trl_frame_decref(f);
}

/* ---- refusals ----------------------------------------------------------------------- */

static void refused(trl_importance_request *rq, int code, const char *needle)
{
    trl_error err = {0};
    json_t *r = trl_importance_run(rq, &err);
    if (r)
        fail_msg("accepted; expected '%s'", needle);
    assert_int_equal(err.code, code);
    if (!strstr(err.message, needle))
        fail_msg("'%s' lacks '%s'", err.message, needle);
}

static void test_bad_requests_say_what_to_use(void **state)
{
    (void)state;
    trl_frame *b = csv("models/binary.csv");
    trl_frame *reg = csv("models/regression.csv");
    trl_frame *mc = csv("models/multiclass.csv");
    trl_frame *rk = csv("models/rank.csv");
    trl_model *x = train("xgboost", b, "x1,x2,plan", "label",
                         "{\"num_boost_round\": 3, \"nthread\": 1}", NULL);
    trl_model *lin = train("logistic", b, "x1,x2", "label", "{}", NULL);
    trl_model *r = train("xgboost", reg, "x1,x2", "y",
                         "{\"num_boost_round\": 3, \"nthread\": 1}", NULL);
    trl_model *multi = train("xgboost", mc, "x1,x2", "label",
                             "{\"objective\": \"multi:softprob\", "
                             "\"num_class\": 3, \"num_boost_round\": 2, "
                             "\"nthread\": 1}", NULL);
    trl_model *rank = train("xgboost", rk, "x1,x2,x3", "rel",
                            "{\"num_boost_round\": 2, \"nthread\": 1}",
                            "qid");
    trl_importance_request rq = {.model = x, .method = "shap"};
    refused(&rq, TRL_EINVAL, "unknown importance method 'shap': use gain");
    rq.method = "coef";
    refused(&rq, TRL_EINVAL, "coef is the importance of linear models and "
                             "the model is xgboost: use gain");
    rq = (trl_importance_request){.model = lin, .method = "gain"};
    refused(&rq, TRL_EINVAL, "gain is an XGBoost importance and the model "
                             "is logistic: use coef or permutation");
    rq = (trl_importance_request){.model = x, .on = b};
    refused(&rq, TRL_EINVAL, "a frame, a metric and repeats are for "
                             "permutation importance; gain reads the model");
    rq = (trl_importance_request){.model = x, .method = "permutation"};
    refused(&rq, TRL_EINVAL, "permutation importance needs a frame");
    rq.on = b;
    rq.metric = "rmse";
    refused(&rq, TRL_EINVAL, "metric rmse does not fit the model, a "
                             "classifier (binary:logistic): use auc");
    rq.metric = "ndcg@5";
    refused(&rq, TRL_EINVAL, "does not fit the model, a classifier");
    rq.metric = "aucc";
    refused(&rq, TRL_EINVAL, "aucc");
    rq.metric = NULL;
    rq.repeats = 1001;
    refused(&rq, TRL_EINVAL, "repeats is a whole number from 1 to 1000");
    rq = (trl_importance_request){.model = r, .method = "permutation",
                                  .on = reg, .metric = "auc"};
    refused(&rq, TRL_EINVAL, "metric auc does not fit the model, a "
                             "regression (reg:squarederror): use rmse");
    rq = (trl_importance_request){.model = multi, .method = "permutation",
                                  .on = mc};
    refused(&rq, TRL_EINVAL, "predicts 3 classes; permutation importance "
                             "takes single-score models");
    /* the frame lacks a feature, or the target */
    trl_error err = {0};
    const char *cols[] = {"x1", "label"};
    trl_frame *narrow = trl_frame_select(b, cols, 2, &err);
    rq = (trl_importance_request){.model = x, .method = "permutation",
                                  .on = narrow};
    refused(&rq, TRL_ENOTFOUND, "the frame has no column 'x2', which the "
                                "model reads");
    const char *feats[] = {"x1", "x2", "plan"};
    trl_frame *nolabel = trl_frame_select(b, feats, 3, &err);
    rq.on = nolabel;
    refused(&rq, TRL_ENOTFOUND, "the frame has no column 'label', the "
                                "target of the model");
    /* a ranker: its own metric, with its groups */
    rq = (trl_importance_request){.model = rank, .method = "permutation",
                                  .on = rk, .repeats = 1};
    json_t *res = trl_importance_run(&rq, &err);
    assert_non_null(res);
    assert_string_equal(json_string_value(json_object_get(res, "metric")),
                        "ndcg@10");
    json_decref(res);
    rq.metric = "auc";
    refused(&rq, TRL_EINVAL, "a ranker (rank:ndcg): use ndcg@k");
    trl_frame_decref(narrow);
    trl_frame_decref(nolabel);
    trl_model_decref(x);
    trl_model_decref(lin);
    trl_model_decref(r);
    trl_model_decref(multi);
    trl_model_decref(rank);
    trl_frame_decref(b);
    trl_frame_decref(reg);
    trl_frame_decref(mc);
    trl_frame_decref(rk);
}

static int polls;

static int interrupt_after_some(void)
{
    return ++polls > 3;
}

static void test_interrupt(void **state)
{
    (void)state;
    trl_frame *f = csv("importance/perm.csv");
    trl_model *m = perm_model(f);
    trl_importance_request rq = {.model = m, .method = "permutation",
                                 .on = f, .repeats = 1000};
    trl_error err = {0};
    polls = 0;
    trl_registry_set_interrupt(interrupt_after_some);
    json_t *r = trl_importance_run(&rq, &err);
    trl_registry_set_interrupt(NULL);
    assert_null(r);
    assert_int_equal(err.code, TRL_EINTR);
    assert_string_equal(err.message, "interrupted");
    trl_model_decref(m);
    trl_frame_decref(f);
}

/* ---- the registry ------------------------------------------------------------------ */

static trl_registry *open_ok(const char *path)
{
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    if (!r)
        fail_msg("%s", err.message);
    return r;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static int raw_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static long long record(trl_registry *r, trl_importance_request *rq)
{
    json_t *res = run(rq);
    long long id = 0;
    trl_error err = {0};
    if (trl_registry_record_importance(r, res, &id, &err) != 0)
        fail_msg("record: %s", err.message);
    json_decref(res);
    return id;
}

/* The value of feature in version column v of a history. */
static json_t *cell(const json_t *h, const char *feature, size_t v)
{
    return json_array_get(json_object_get(find(json_object_get(h,
                                                               "features"),
                                               "feature", feature),
                                          "values"), v);
}

static void test_history_across_versions_and_a_restart(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/history.sqlite", tmpdir);
    trl_registry *r = open_ok(path);
    trl_frame *b = csv("models/binary.csv");
    trl_model *v1 = train("xgboost", b, "x1,x2,x3", "label",
                          "{\"num_boost_round\": 5, \"nthread\": 1}", NULL);
    trl_model *v2 = train("xgboost", b, "x1,x2,x3,plan", "label",
                          "{\"num_boost_round\": 8, \"nthread\": 1}", NULL);
    trl_error err = {0};
    int version;
    /* unregistered: nowhere to keep it */
    trl_importance_request rq = {.model = v1};
    json_t *loose = run(&rq);
    assert_int_equal(trl_registry_record_importance(r, loose, NULL, &err),
                     TRL_EINVAL);
    assert_non_null(strstr(err.message, "not registered"));
    json_decref(loose);
    assert_int_equal(trl_registry_register_model(r, "imp", v1, &version,
                                                 &err), 0);
    assert_int_equal(trl_registry_register_model(r, "imp", v2, &version,
                                                 &err), 0);
    assert_null(trl_registry_importance_history(r, "imp", NULL, NULL, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "run %importance imp"));

    rq = (trl_importance_request){.model = v1, .method = "weight"};
    assert_int_equal(record(r, &rq), 1);
    rq.method = "gain";
    assert_int_equal(record(r, &rq), 2);
    rq.model = v2;
    assert_int_equal(record(r, &rq), 3);
    json_t *v2gain = run(&rq);
    rq = (trl_importance_request){.model = v2, .method = "permutation",
                                  .on = b, .repeats = 2};
    assert_int_equal(record(r, &rq), 4);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM importance_values "
                                   "WHERE id = 3"), 4);

    for (int pass = 0; pass < 2; pass++) {
        /* the latest run is a permutation: its history by default */
        json_t *h = trl_registry_importance_history(r, "imp@1", NULL, NULL,
                                                    &err);
        assert_non_null(h);
        assert_string_equal(json_string_value(json_object_get(h, "method")),
                            "permutation");
        assert_string_equal(json_string_value(json_object_get(h, "metric")),
                            "auc");
        assert_int_equal(json_array_size(json_object_get(h, "versions")), 1);
        json_decref(h);
        h = trl_registry_importance_history(r, "imp", "gain", NULL, &err);
        assert_non_null(h);
        assert_true(json_is_null(json_object_get(h, "metric")));
        const json_t *vs = json_object_get(h, "versions");
        assert_int_equal(json_array_size(vs), 2);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(vs, 0), "ref")), "imp@1");
        /* version 1's latest gain run (2), not its weight run (1) */
        assert_int_equal(json_integer_value(json_object_get(
                             json_array_get(vs, 0), "id")), 2);
        assert_int_equal(json_integer_value(json_object_get(
                             json_array_get(vs, 1), "id")), 3);
        /* version 2's order, and plan only in version 2 */
        const json_t *fs = json_object_get(h, "features");
        assert_int_equal(json_array_size(fs), 4);
        const json_t *order = json_object_get(v2gain, "features");
        for (size_t i = 0; i < 4; i++) {
            const char *name = json_string_value(json_object_get(
                json_array_get(order, i), "feature"));
            assert_string_equal(json_string_value(json_object_get(
                                    json_array_get(fs, i), "feature")),
                                name);
            assert_true(json_number_value(cell(h, name, 1)) ==
                        num(json_array_get(order, i), "value"));
        }
        assert_true(json_is_null(cell(h, "plan", 0)));
        assert_true(json_is_number(cell(h, "x1", 0)));
        json_decref(h);
        /* nothing recorded of another method */
        assert_null(trl_registry_importance_history(r, "imp", "cover", NULL,
                                                    &err));
        assert_int_equal(err.code, TRL_ENOTFOUND);
        assert_non_null(strstr(err.message, "--method cover"));
        assert_null(trl_registry_importance_history(r, "imp", "permutation",
                                                    "logloss", &err));
        assert_non_null(strstr(err.message, "--metric logloss"));
        json_t *list = trl_registry_importances(r, "imp@1", &err);
        assert_int_equal(json_array_size(list), 2);
        assert_int_equal(json_integer_value(json_object_get(
                             json_array_get(list, 1), "id")), 2);
        assert_non_null(json_object_get(json_array_get(list, 1),
                                        "created"));
        json_decref(list);
        /* a restarted kernel reads the same */
        trl_registry_close(r);
        r = open_ok(path);
    }
    assert_null(trl_registry_importance_history(r, "nope", NULL, NULL,
                                                &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    assert_null(trl_registry_importances(r, "imp@3", &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    trl_registry_close(r);
    json_decref(v2gain);
    trl_model_decref(v1);
    trl_model_decref(v2);
    trl_frame_decref(b);
}

/* A file without the importance tables (as before them): read-only it
 * reads as having none; opened for writing it gains them. */
static void test_older_file_gains_the_tables(void **state)
{
    (void)state;
    char path[256], uri[300];
    snprintf(path, sizeof path, "%s/old.sqlite", tmpdir);
    trl_registry *r = open_ok(path);
    trl_frame *b = csv("models/binary.csv");
    trl_model *m = train("logistic", b, "x1,x2", "label", "{}", NULL);
    trl_error err = {0};
    int version;
    assert_int_equal(trl_registry_register_model(r, "old", m, &version,
                                                 &err), 0);
    trl_registry_close(r);
    raw_exec(path, "DROP TABLE importances; DROP TABLE importance_values; "
                   "DROP TABLE promotions; PRAGMA user_version = 4");
    snprintf(uri, sizeof uri, "file:%s?mode=ro", path);
    r = open_ok(uri);
    json_t *list = trl_registry_importances(r, "old", &err);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    assert_null(trl_registry_importance_history(r, "old", NULL, NULL, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    trl_importance_request rq = {.model = m};
    json_t *res = run(&rq);
    assert_int_equal(trl_registry_record_importance(r, res, NULL, &err),
                     TRL_EIO);
    assert_non_null(strstr(err.message, path));
    trl_registry_close(r);
    r = open_ok(path);
    assert_int_equal(trl_registry_record_importance(r, res, NULL, &err), 0);
    list = trl_registry_importances(r, "old@1", &err);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    trl_registry_close(r);
    json_decref(res);
    trl_model_decref(m);
    trl_frame_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xgboost_matches_get_score),
        cmocka_unit_test(test_linear_coefficients_match_sklearn),
        cmocka_unit_test(test_permutation_agrees_with_sklearn),
        cmocka_unit_test(test_permutation_is_deterministic_for_a_seed),
        cmocka_unit_test(test_lower_is_better_metric_points_the_same_way),
        cmocka_unit_test(test_business_metric_on_the_calling_thread),
        cmocka_unit_test(test_rows_without_label_are_left_out),
        cmocka_unit_test(test_bad_requests_say_what_to_use),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_history_across_versions_and_a_restart),
        cmocka_unit_test(test_older_file_gains_the_tables),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
