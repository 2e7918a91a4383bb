/* importance.c - feature importance: checks what was asked against the
 * model, reads what the model itself says of its encoded inputs (the
 * backend's importance), gathers the inputs back into the user's features
 * and builds the result, most important first. Permutation importance is
 * importance_perm.c; keeping runs in the registry, importance_store.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/importance_int.h"
#include "registry/model_int.h"
#include "registry/registry_int.h"

static const char *const xgb_methods[] = {"gain", "weight", "cover",
                                          "total_gain", "total_cover"};
#define NXGB (sizeof xgb_methods / sizeof *xgb_methods)

static int is_xgb(const trl_model *m)
{
    return strcmp(m->algo, "xgboost") == 0;
}

static int is_xgb_method(const char *s)
{
    for (size_t i = 0; i < NXGB; i++)
        if (strcmp(s, xgb_methods[i]) == 0)
            return 1;
    return 0;
}

const char *trl_importance_default_method(const trl_model *m)
{
    return is_xgb(m) ? "gain" : "coef";
}

static const char *method_of(const trl_importance_request *rq)
{
    return rq->method ? rq->method
                      : trl_importance_default_method(rq->model);
}

/* ---- checking ------------------------------------------------------------------- */

typedef enum { KIND_CLASSIFIER, KIND_REGRESSION, KIND_RANKER } model_kind;

static model_kind kind_of(const trl_model *m)
{
    if (strncmp(m->objective, "binary:", 7) == 0 ||
        strcmp(m->objective, "logistic") == 0)
        return KIND_CLASSIFIER;
    if (strncmp(m->objective, "rank:", 5) == 0)
        return KIND_RANKER;
    return KIND_REGRESSION;
}

static const char *ref_of(const trl_model *m)
{
    return m->ref ? m->ref : "the model";
}

/* The built-in metric permutation computes, checked against the model's
 * objective: a classifier's scores are probabilities of a 0/1 label, a
 * regression's are values, a ranker's are ordered within groups. */
static int perm_metric(const trl_importance_request *rq, trl_metric *out,
                       trl_error *err)
{
    const trl_model *m = rq->model;
    model_kind kind = kind_of(m);
    const char *name = rq->metric;
    if (!name)
        name = kind == KIND_CLASSIFIER ? "auc"
               : kind == KIND_RANKER   ? "ndcg@10"
                                       : "rmse";
    if (trl_metric_parse(name, out, err) != 0)
        return err ? err->code : TRL_EINVAL;
    static const char *const suggest[] = {
        "auc, logloss, pr_auc, brier, accuracy or f1", "rmse, mae, r2 or mape",
        "ndcg@k, map@k, mrr, precision@k or recall@k"};
    static const char *const what[] = {"a classifier", "a regression",
                                       "a ranker"};
    int fits = out->kind == TRL_METRIC_CLASSIFICATION
                   ? kind == KIND_CLASSIFIER
               : out->kind == TRL_METRIC_REGRESSION ? kind == KIND_REGRESSION
                                                    : kind == KIND_RANKER;
    if (!fits)
        return trl_error_set(err, TRL_EINVAL, "metric %s does not fit %s, "
                             "%s (%s): use %s", out->name, ref_of(m),
                             what[kind], m->objective, suggest[kind]);
    if (out->kind == TRL_METRIC_RANKING && !m->group)
        return trl_error_set(err, TRL_EINVAL, "metric %s needs the query "
                             "groups, and %s was trained without one",
                             out->name, ref_of(m));
    return 0;
}

int trl_importance_check(const trl_importance_request *rq, trl_error *err)
{
    const trl_model *m = rq->model;
    if (!m || !m->impl)
        return trl_error_set(err, TRL_EINVAL, "which model? Give a model or "
                             "a registered 'name@N'");
    const char *method = method_of(rq);
    int perm = strcmp(method, "permutation") == 0;
    if (!perm && !is_xgb_method(method) && strcmp(method, "coef") != 0)
        return trl_error_set(err, TRL_EINVAL, "unknown importance method "
                             "'%.40s': use gain, weight, cover, total_gain, "
                             "total_cover (XGBoost), coef (linear models) or "
                             "permutation", method);
    if (is_xgb_method(method) && !is_xgb(m))
        return trl_error_set(err, TRL_EINVAL, "%s is an XGBoost importance "
                             "and %s is %s: use coef or permutation",
                             method, ref_of(m), m->algo);
    if (strcmp(method, "coef") == 0 && is_xgb(m))
        return trl_error_set(err, TRL_EINVAL, "coef is the importance of "
                             "linear models and %s is xgboost: use gain, "
                             "weight, cover, total_gain, total_cover or "
                             "permutation", ref_of(m));
    if (!perm) {
        if (rq->on || rq->metric || rq->external || rq->repeats)
            return trl_error_set(err, TRL_EINVAL, "a frame, a metric and "
                                 "repeats are for permutation importance; "
                                 "%s reads the model alone", method);
        return 0;
    }
    if (!rq->on)
        return trl_error_set(err, TRL_EINVAL, "permutation importance needs "
                             "a frame whose rows it shuffles (with the "
                             "target '%s')", m->target);
    if (rq->repeats < 0 || rq->repeats > TRL_IMPORTANCE_MAX_REPEATS)
        return trl_error_set(err, TRL_EINVAL, "repeats is a whole number "
                             "from 1 to %d, not %d",
                             TRL_IMPORTANCE_MAX_REPEATS, rq->repeats);
    if (m->noutputs != 1)
        return trl_error_set(err, TRL_EINVAL, "%s predicts %d classes; "
                             "permutation importance takes single-score "
                             "models", ref_of(m), m->noutputs);
    if (rq->external && rq->metric)
        return trl_error_set(err, TRL_EINVAL, "give one metric: a built-in "
                             "or a business metric, not both");
    trl_metric metric;
    return rq->external ? 0 : perm_metric(rq, &metric, err);
}

/* ---- features and inputs --------------------------------------------------------- */

size_t trl__importance_feature_inputs(const trl_model *m, size_t i)
{
    const trl__encoder *enc = ((const trl__model_impl *)m->impl)->enc;
    size_t end = i + 1 < enc->nfeat ? enc->feat[i + 1].first : enc->width;
    return end - enc->feat[i].first;
}

/* The backend's importance of each input under type: a malloc'd array of
 * width values, or NULL with err set. */
static double *per_input(const trl_model *m, const char *type,
                         trl_error *err)
{
    const trl__model_impl *impl = m->impl;
    size_t w = impl->enc->width;
    double *v = malloc((w ? w : 1) * sizeof *v);
    if (!v) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    if (impl->be->importance(m, type, v, err) != 0) {
        free(v);
        return NULL;
    }
    return v;
}

/* The "features" and "inputs" of a model method. A feature's value is the
 * sum over its inputs, except for gain and cover, averages per split,
 * where it is the inputs' total over their number of splits (a feature of
 * one input keeps XGBoost's own value). */
static int model_method(const trl_model *m, const char *method,
                        json_t *features, json_t *inputs, trl_error *err)
{
    const trl__encoder *enc = ((const trl__model_impl *)m->impl)->enc;
    int average = strcmp(method, "gain") == 0 || strcmp(method, "cover") == 0;
    double *v = per_input(m, method, err), *total = NULL, *splits = NULL;
    int rc = v ? 0 : err->code;
    if (rc == 0 && average &&
        (!(total = per_input(m, method[0] == 'g' ? "total_gain"
                                                 : "total_cover", err)) ||
         !(splits = per_input(m, "weight", err))))
        rc = err->code;
    for (size_t i = 0; rc == 0 && i < enc->nfeat; i++) {
        size_t first = enc->feat[i].first;
        size_t k = trl__importance_feature_inputs(m, i);
        double sum = 0, t = 0, c = 0;
        for (size_t q = first; q < first + k; q++) {
            sum += v[q];
            if (average) {
                t += total[q];
                c += splits[q];
            }
            char *name = trl__encoder_input_name(enc, q);
            json_t *o = name ? json_pack("{s:s, s:s, s:f}", "input", name,
                                         "feature", enc->feat[i].name,
                                         "value", v[q])
                             : NULL;
            free(name);
            if (!o || json_array_append_new(inputs, o) != 0) {
                rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
                break;
            }
        }
        double value = k == 1 ? v[first]
                       : average ? (c > 0 ? t / c : 0.0)
                                 : sum;
        if (rc == 0 &&
            json_array_append_new(features, json_pack(
                "{s:s, s:f, s:I}", "feature", enc->feat[i].name, "value",
                value, "inputs", (json_int_t)k)) != 0)
            rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    free(v);
    free(total);
    free(splits);
    return rc;
}

/* ---- the result ------------------------------------------------------------------ */

typedef struct ranked {
    json_t *o;
    double value;
    size_t order;
} ranked;

/* Most important first; NaN (a metric undefined under every shuffle)
 * last; ties keep the model's order. */
static int by_value_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    int xn = isnan(x->value), yn = isnan(y->value);
    if (xn != yn)
        return xn - yn;
    if (!xn && x->value != y->value)
        return x->value < y->value ? 1 : -1;
    return (x->order > y->order) - (x->order < y->order);
}

/* A new array of features' objects, most important first. */
static json_t *sorted(const json_t *features)
{
    size_t n = json_array_size(features);
    ranked *r = malloc((n ? n : 1) * sizeof *r);
    json_t *out = r ? json_array() : NULL;
    for (size_t i = 0; out && i < n; i++) {
        json_t *v = json_object_get(json_array_get(features, i), "value");
        r[i] = (ranked){json_array_get(features, i),
                        json_is_number(v) ? json_number_value(v) : NAN, i};
    }
    if (out)
        qsort(r, n, sizeof *r, by_value_desc);
    for (size_t i = 0; out && i < n; i++)
        if (json_array_append(out, r[i].o) != 0) {
            json_decref(out);
            out = NULL;
        }
    free(r);
    return out;
}

json_t *trl_importance_run(const trl_importance_request *rq, trl_error *err)
{
    if (trl_importance_check(rq, err) != 0)
        return NULL;
    const trl_model *m = rq->model;
    const char *method = method_of(rq);
    int perm = strcmp(method, "permutation") == 0;
    trl_metric metric;
    if (perm && !rq->external && perm_metric(rq, &metric, err) != 0)
        return NULL;
    double t0 = trl__now();
    json_t *features = json_array(), *inputs = json_array();
    json_t *result = json_pack(
        "{s:s?, s:s, s:s, s:s, s:o, s:o, s:s?, s:o, s:I, s:o, s:o, s:o}",
        "model", m->ref, "algo", m->algo, "objective", m->objective,
        "method", method, "metric",
        perm ? json_string(rq->external ? rq->external->name : metric.name)
             : json_null(),
        "higher_is_better",
        perm ? json_boolean(rq->external ? rq->external->higher_is_better
                                         : metric.higher_is_better)
             : json_null(),
        "on", perm ? rq->on->ref : NULL, "rows", json_null(), "dropped",
        (json_int_t)0, "repeats",
        perm ? json_integer(rq->repeats ? rq->repeats
                                        : TRL_IMPORTANCE_REPEATS)
             : json_null(),
        "seed", perm ? json_integer((json_int_t)rq->seed) : json_null(),
        "baseline", json_null());
    int rc = features && inputs && result
                 ? 0 : trl_error_set(err, TRL_ENOMEM, "out of memory");
    if (rc == 0 && perm) {
        trl_importance_request r = *rq;
        r.repeats = rq->repeats ? rq->repeats : TRL_IMPORTANCE_REPEATS;
        rc = trl__importance_permutation(&r, rq->external ? NULL : &metric,
                                         features, result, err);
    } else if (rc == 0) {
        rc = model_method(m, method, features, inputs, err);
    }
    json_t *ordered = rc == 0 ? sorted(features) : NULL;
    if (rc == 0 && (!ordered ||
                    json_object_set_new(result, "features", ordered) != 0 ||
                    json_object_set(result, "inputs", inputs) != 0 ||
                    json_object_set_new(result, "seconds",
                                        json_real(trl__now() - t0)) != 0))
        rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
    json_decref(features);
    json_decref(inputs);
    if (rc != 0) {
        json_decref(result);
        return NULL;
    }
    return result;
}
