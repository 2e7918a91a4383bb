/* metrics.h - technical metrics of scores against labels, with
 * scikit-learn's definitions (ties, weights, degenerate cases), and the
 * weighted form the paired bootstrap resamples. Knows nothing of Jupyter. */
#ifndef TRELLIS_METRICS_H
#define TRELLIS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "trellis/error.h"

typedef enum {
    TRL_METRIC_AUC, TRL_METRIC_PR_AUC, TRL_METRIC_LOGLOSS, TRL_METRIC_BRIER,
    TRL_METRIC_ACCURACY, TRL_METRIC_PRECISION, TRL_METRIC_RECALL,
    TRL_METRIC_F1, TRL_METRIC_ECE,
    TRL_METRIC_RMSE, TRL_METRIC_MAE, TRL_METRIC_R2, TRL_METRIC_MAPE,
    TRL_METRIC_NDCG, TRL_METRIC_PRECISION_AT, TRL_METRIC_RECALL_AT,
    TRL_METRIC_MAP_AT, TRL_METRIC_MRR, TRL_METRIC_HIT_RATE
} trl_metric_id;

typedef enum {
    TRL_METRIC_CLASSIFICATION, TRL_METRIC_REGRESSION, TRL_METRIC_RANKING
} trl_metric_kind;

/* A metric with its parameters, parsed from "auc", "ndcg@10", "f1". */
typedef struct trl_metric {
    trl_metric_id id;
    trl_metric_kind kind;
    char name[40];         /* canonical text: "ndcg@10", "f1" */
    double threshold;      /* accuracy, precision, recall, f1: score >= t
                            * predicts 1 (default 0.5) */
    int k;                 /* ranking cut-off; 0 = the whole group */
    int bins;              /* ece: equal-width bins on [0, 1] (default 10) */
    int higher_is_better;
} trl_metric;

/* Parses name ("auc", "pr_auc", "logloss", "brier", "accuracy",
 * "precision", "recall", "f1", "ece", "rmse", "mae", "r2", "mape",
 * "ndcg@k", "precision@k", "recall@k", "map@k", "mrr", "hit_rate@k"; the
 * @k of ndcg optional). Threshold and bins take their defaults. */
int trl_metric_parse(const char *name, trl_metric *out, trl_error *err);

/* The i-th built-in metric's name as trl_metric_parse reads it, "@k"
 * where a cut-off goes ("ndcg@k"), written to buf; NULL past the last. */
const char *trl_metric_list(size_t i, char *buf, size_t size);

/* The rows a metric reads, already free of missing values (see
 * trl_metric_rows). y are labels (0/1 for classification, relevance >= 0
 * for ranking), s scores; w sample weights or NULL (not for ranking);
 * group the query of each row for ranking, else NULL. */
typedef struct trl_metric_data {
    const double *y;
    const double *s;
    const double *w;
    const int64_t *group;
    size_t n;
} trl_metric_data;

/* Computes the metric. Fails (TRL_EINVAL, saying why) where scikit-learn
 * raises or the value is undefined: one class only for auc, no rows,
 * labels outside 0/1 for classification. */
int trl_metric_compute(const trl_metric *m, const trl_metric_data *d,
                       double *out, trl_error *err);

/* ---- for resampling --------------------------------------------------------- */

/* A metric prepared once on fixed rows (scores sorted, groups found), then
 * evaluated under many weightings in O(n) each: the paired bootstrap
 * draws a count per row (per group for ranking) and asks for the metric
 * with weights w * count. */
typedef struct trl_metric_prep trl_metric_prep;

trl_metric_prep *trl_metric_prepare(const trl_metric *m,
                                    const trl_metric_data *d,
                                    trl_error *err);
void trl_metric_prep_free(trl_metric_prep *p);

/* Number of resampling units: rows, or groups for ranking metrics. */
size_t trl_metric_units(const trl_metric_prep *p);

/* The metric with each unit's weight multiplied by counts[unit] (NULL:
 * all 1; a byte each, as Poisson(1) counts are small and a resample's
 * counts then stay in cache). NaN where the resample leaves it undefined
 * (one class). */
double trl_metric_eval(const trl_metric_prep *p, const uint8_t *counts);

/* ---- paired bootstrap comparison ---------------------------------------------- */

struct trl_frame;

/* What a metric defined outside C (a user's business metric, written in
 * Lua) is called with: the rows of this evaluation (a bootstrap resample
 * repeats each row as often as it was drawn), one model's scores, and
 * the sample weights. */
typedef struct trl_metric_call {
    const double *y;
    const double *s;
    const double *w;
    size_t n;
    const size_t *rows;             /* the frame row of each */
    const struct trl_frame *frame;  /* for extra columns; may be NULL */
    size_t model;
} trl_metric_call;

typedef struct trl_metric_external {
    const char *name;
    int higher_is_better;
    /* The value (NaN: undefined on these rows); non-zero with err set
     * stops the comparison. Called on the caller's thread only. */
    int (*eval)(void *ctx, const trl_metric_call *call, double *out,
                trl_error *err);
    void *ctx;
    /* Frees ctx; the one who obtained the metric calls it. May be NULL. */
    void (*release)(void *ctx);
} trl_metric_external;

/* Several models' scores on the same rows. */
typedef struct trl_compare_input {
    const trl_metric *metrics;
    size_t nmetrics;
    const trl_metric_external *external;  /* after the built-ins */
    size_t nexternal;
    const size_t *rows;                   /* for external metrics */
    const struct trl_frame *frame;
    const double *const *scores;  /* nmodels arrays of n scores */
    size_t nmodels;
    const double *y, *w;          /* labels; weights or NULL */
    const int64_t *group;         /* queries or users: ranking metrics
                                   * need it; when given, resampling is
                                   * by group for every metric */
    size_t n;
    int resamples;                /* 0: values only, no intervals */
    uint64_t seed;
} trl_compare_input;

/* One metric of one model: its value with a 95% percentile interval, and
 * its difference from model 0 (the baseline) with a paired interval and a
 * two-sided bootstrap p-value (NaN for the baseline itself). */
typedef struct trl_compare_cell {
    double value, lo, hi;
    double delta, delta_lo, delta_hi, p;
    int defined;  /* resamples where the metric had a value (auc of a
                   * resample with one class has none): the interval is
                   * drawn from these */
} trl_compare_cell;

/* Fills out[metric * nmodels + model], the external metrics numbered
 * after the built-ins. Every resample draws Poisson(1)
 * weights per row, or per group when group is given (each row taking its
 * group's: a cluster bootstrap), the same for every model, so
 * differences are paired; resamples spread over the CPUs and
 * the result depends only on the seed. Stops with TRL_EINTR when the
 * registry's interrupt callback fires. */
int trl_compare_run(const trl_compare_input *in, trl_compare_cell *out,
                    trl_error *err);

#endif
