/* importance.h - feature importance of models: what the model itself says
 * (XGBoost's split gain, weight and cover; a linear model's standardised
 * coefficients) and what shuffling one feature on a frame costs a metric
 * (permutation importance, any model, any metric including a user's
 * business metric); and the importances kept in the registry against each
 * model version, so they can be followed across versions. Knows nothing
 * of Jupyter. */
#ifndef TRELLIS_IMPORTANCE_H
#define TRELLIS_IMPORTANCE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "trellis/error.h"
#include "trellis/metrics.h"
#include "trellis/model.h"
#include "trellis/registry.h"

/* ---- limits and defaults ------------------------------------------------------- */

#define TRL_IMPORTANCE_REPEATS 5        /* permutation repeats by default */
#define TRL_IMPORTANCE_MAX_REPEATS 1000

/* ---- running ------------------------------------------------------------------- */

typedef struct trl_importance_request {
    trl_model *model;          /* borrowed */
    /* "gain", "weight", "cover", "total_gain", "total_cover" (XGBoost),
     * "coef" (logistic, linear) or "permutation" (any single-score
     * model); NULL: the model's own default (see
     * trl_importance_default_method) */
    const char *method;
    /* permutation only: */
    trl_frame *on;             /* borrowed; needs the target and every
                                * feature (and the model's group column
                                * for ranking metrics) */
    const char *metric;        /* a built-in ("auc", "ndcg@10"); NULL: auc
                                * for classifiers, ndcg@10 for rankers,
                                * rmse otherwise */
    const trl_metric_external *external;  /* a business metric, used
                                           * instead of metric; called on
                                           * the calling thread only */
    int repeats;               /* shuffles per feature, 1 to
                                * TRL_IMPORTANCE_MAX_REPEATS; 0: the
                                * default */
    uint64_t seed;             /* the same seed, the same shuffles */
} trl_importance_request;

/* "gain" for XGBoost models, "coef" for logistic and linear ones. */
const char *trl_importance_default_method(const trl_model *m);

/* 0 when rq can run: a known method that suits the model, and for
 * permutation a frame, a single-score model, repeats in range and a metric
 * that fits the objective (auc is for classifiers, rmse for regressions,
 * ndcg@k for rankers with a group). Otherwise TRL_EINVAL with err saying
 * what to use instead. The frame's columns are checked by the run. */
int trl_importance_check(const trl_importance_request *rq, trl_error *err);

/* Computes the importances. Model methods read the model alone: XGBoost's
 * XGBoosterFeatureScore per encoded input (the values Python's
 * Booster.get_score gives, with 0 for inputs no split uses), or the
 * absolute coefficients of a linear model, which are per standard
 * deviation of each input because liblinear trained on standardised
 * inputs. Each user feature then gets the sum over its encoded inputs
 * (one-hot "plan=basic", "plan=pro", ...), except for gain and cover,
 * which are averages per split: a feature's is its total over its inputs
 * divided by its number of splits.
 *
 * Permutation shuffles one feature's column at a time (all its encoded
 * inputs move together), `repeats` times, predicts and computes the
 * metric; a feature's importance is the mean drop from the unshuffled
 * baseline over the repeats, signed so that bigger means more important
 * for metrics where lower is better too, with the standard deviation
 * (ddof 0) and every repeat's drop, as scikit-learn's
 * permutation_importance reports them. Every feature sees the same
 * shuffles of the rows (as scikit-learn). Rows missing the target (or the
 * group, for ranking metrics) are left out first and counted. The frame
 * is never modified: the shuffled column replaces the original in a copy
 * that shares every other column.
 *
 * Returns a new object:
 *   {"model": ref or null, "algo", "objective", "method", "metric": name
 *    or null, "higher_is_better": bool or null, "on": frame ref or null,
 *    "rows": rows used or null, "dropped": rows left out, "repeats": R or
 *    null, "seed": s or null, "baseline": the metric unshuffled or null,
 *    "seconds": wall time,
 *    "features": [{"feature", "value", "std" (permutation), "values":
 *      [per repeat] (permutation), "inputs": number of encoded inputs}...]
 *      most important first (ties in the model's feature order),
 *    "inputs": [{"input", "feature", "value"}...] in the model's input
 *      order (model methods; empty for permutation)}
 * NULL with err set when the request is refused (trl_importance_check),
 * the frame lacks a column the model or metric reads, a prediction or the
 * metric fails, or memory runs out; TRL_EINTR when the registry's
 * interrupt callback fires. */
json_t *trl_importance_run(const trl_importance_request *rq, trl_error *err);

/* ---- importances in the registry ---------------------------------------------------- */

/* Keeps a trl_importance_run result against its model's version, whole
 * and one row per feature. *id_out (may be NULL) is the run's number.
 * TRL_EINVAL when the model is not registered (there is no version to
 * keep it against); TRL_EIO naming the file when the registry cannot be
 * written (read-only). */
int trl_registry_record_importance(trl_registry *r, const json_t *result,
                                   long long *id_out, trl_error *err);

/* The recorded importances of a model version ("name", "name@N",
 * "name@production"): a new array of the results as recorded, oldest
 * first, each with "id" and "created" added. Empty when there are none
 * (also in a read-only registry older than the importance tables); NULL
 * with err set for an unknown model or an unreadable file. */
json_t *trl_registry_importances(trl_registry *r, const char *model_spec,
                                 trl_error *err);

/* Importance across the versions of the model called name (a version or
 * stage in it is ignored): for each version, its latest run of method
 * (NULL: the method of the model's latest run) and, for permutation, of
 * metric (NULL: the metric of the latest permutation run). A new object
 *   {"model": name, "method", "metric": name or null,
 *    "versions": [{"version", "ref", "id", "created", "on", "rows"}...]
 *      oldest first,
 *    "features": [{"feature", "values": [per version, null where that
 *      version has no such feature]}...] ordered by the latest version's
 *      importance, then the features only older versions had}
 * TRL_ENOTFOUND naming the %importance to run when no version has one;
 * NULL with err set for an unknown model or an unreadable file. */
json_t *trl_registry_importance_history(trl_registry *r, const char *name,
                                        const char *method,
                                        const char *metric, trl_error *err);

#endif
