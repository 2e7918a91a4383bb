/* model.h - the model half of the registry: training XGBoost and liblinear
 * models on frames, predicting with them, and keeping their versions,
 * stages and lineage in the registry's SQLite file. Like registry.h it
 * knows nothing of Jupyter or of any engine. */
#ifndef TRELLIS_MODEL_H
#define TRELLIS_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "trellis/error.h"
#include "trellis/registry.h"

/* ---- stages --------------------------------------------------------------- */

typedef enum {
    TRL_STAGE_NONE = 0,
    TRL_STAGE_STAGING,
    TRL_STAGE_PRODUCTION,
    TRL_STAGE_ARCHIVED
} trl_stage;

/* "none", "staging", "production", "archived". */
const char *trl_stage_name(trl_stage s);
/* The stage called name (case-insensitive), or -1. */
int trl_stage_parse(const char *name);

/* ---- models --------------------------------------------------------------- */

/* A trained model and what it was trained on. Immutable once trained
 * (registering fills name, version and ref; the stage lives in the
 * registry, see trl_registry_model_stage). Reference-counted. */
typedef struct trl_model {
    int refcount;        /* private (atomic: any thread may drop one) */
    char *ref;           /* read-only: "name@N" once registered, else NULL */
    char *algo;          /* read-only: "xgboost", "logistic", "linear" */
    char *objective;     /* read-only: "binary:logistic", ..., "logistic" */
    json_t *params;      /* read-only: every parameter, defaults filled */
    json_t *features;    /* read-only: array of the input column names */
    char *target;        /* read-only */
    char *group;         /* read-only: rank objectives' query column, or NULL */
    json_t *data;        /* read-only: {"frame": "churn@2" or null, "rows":
                          * n, "lineage": ...}: what it was trained on */
    json_t *metrics;     /* read-only: {"train-logloss": x, ...} at the
                          * kept round, plus "best_iteration" when early
                          * stopping chose it */
    json_t *tags;        /* read-only: {"key": "value"} */
    json_t *encoding;    /* read-only: how columns become model inputs */
    char created[32];    /* read-only: ISO 8601 UTC */
    double train_seconds;/* read-only: wall time of training */
    int noutputs;        /* read-only: predictions per row (classes for
                          * multi:softprob, else 1) */
    uint8_t *artifact;   /* read-only: the library's own model bytes */
    size_t artifact_len; /* read-only */
    char *format;        /* read-only: "ubj" (XGBoost) or "liblinear" */
    void *impl;          /* private: the loaded booster or model */
} trl_model;

void trl_model_incref(trl_model *m);
void trl_model_decref(trl_model *m);

/* Progress of training, reported after every round (XGBoost) or once at
 * the end (liblinear). */
typedef struct trl_train_progress {
    int round;           /* rounds done */
    int total;           /* rounds asked for */
    const char *metric;  /* "eval-logloss", or NULL before any evaluation */
    double value;        /* that metric's latest value */
    double elapsed;      /* seconds since training began */
} trl_train_progress;

typedef struct trl_train_spec {
    const char *algo;              /* "xgboost", "logistic" or "linear" */
    trl_frame *data;               /* borrowed */
    const char *target;
    const char *const *features;   /* NULL: every column but target/group */
    size_t nfeatures;
    json_t *params;                /* borrowed object; may be NULL */
    trl_frame *eval;               /* borrowed; may be NULL */
    const char *group;             /* query column for rank:*; may be NULL */
    json_t *tags;                  /* borrowed object; may be NULL */
    /* Called after each round; may be NULL. */
    void (*progress)(void *arg, const trl_train_progress *p);
    void *progress_arg;
} trl_train_spec;

/* Trains a model (not yet registered). XGBoost parameters go to the
 * library as they are, plus num_boost_round (default 100) and
 * early_stopping_rounds (needs eval; keeps the best round). The objective
 * defaults to binary:logistic for a 0/1 or bool target, rank:ndcg with a
 * group, else reg:squarederror. logistic and linear take C (default 1),
 * eps and bias (default 1: an intercept). String features are one-hot
 * coded (codes when XGBoost sees more than 32 categories); logistic and
 * linear standardise every input. Errors name the problem: unknown
 * column or parameter, a target that does not suit the objective, no
 * rows, a missing target. Stops with TRL_EINTR when the registry's
 * interrupt callback fires. */
trl_model *trl_model_train(const trl_train_spec *spec, trl_error *err);

/* Predictions for f's rows into out[0 .. m->noutputs - 1], each a new f64
 * column: probabilities for classifiers (the class's for multi:softprob),
 * values for regressions, scores for rankers. f needs every feature
 * column, of a compatible type. */
int trl_model_predict(const trl_model *m, const trl_frame *f,
                      trl_column **out, trl_error *err);

/* Predictions for n rows of doubles, row-major, one value per encoded
 * model input (see trl_model_input_names), into out (n * noutputs). The
 * serving path: no frame and no encoding. */
int trl_model_predict_rows(const trl_model *m, const double *rows, size_t n,
                           double *out, trl_error *err);

/* The encoded input names in order ("tenure", "plan=basic", ...): a new
 * array. */
json_t *trl_model_input_names(const trl_model *m);

/* Writes the library's native format: XGBoost's JSON (or UBJ when the
 * path ends in ".ubj"), liblinear's text model. */
int trl_model_save(const trl_model *m, const char *path, trl_error *err);

/* ---- comparing models -------------------------------------------------------- */

typedef struct trl_compare_request {
    trl_model *const *models;   /* the first is the baseline */
    size_t nmodels;
    trl_frame *on;              /* needs the target and every feature */
    const char *const *metrics; /* names ("auc", "ndcg@10"); NULL: the
                                 * defaults for the first model's
                                 * objective */
    size_t nmetrics;
    int resamples;              /* bootstrap resamples; 0: values only */
    uint64_t seed;
    const char *by;             /* segment column, or NULL */
    const char *group;          /* ranking groups; NULL: the model's */
    const char *weight;         /* sample weight column, or NULL */
    const struct trl_metric_external *external;  /* business metrics,
                                                  * after the built-ins */
    size_t nexternal;
} trl_compare_request;

/* Scores every model on `on` (single-output models with one target) and
 * compares them on each metric with paired bootstrap intervals (see
 * trl_compare_run), overall and per segment of `by`. Rows missing the
 * target are left out and counted. A new object:
 * {"models": [ref...], "on": ref or null, "rows": n, "dropped": k,
 *  "resamples": B, "seed": s, "metrics": [{"name", "higher_is_better",
 *  "best": i, "cells": [{"value", "lo", "hi", "delta", "delta_lo",
 *  "delta_hi", "p"}...]}...], "segments": [{"value", "rows",
 *  "metrics": [...]}...], "curves": null or per model {"fpr", "tpr",
 *  "recall", "precision", "calibration": [[mean score, positive rate,
 *  weight]...]} for 0/1 labels}; intervals are null without resamples. */
json_t *trl_compare_models(const trl_compare_request *rq, trl_error *err);

/* ---- models in the registry ------------------------------------------------ */

/* 0 when name can name a model (letters, digits and _, not starting with
 * a digit, at most 128 bytes), else TRL_EINVAL with that rule: check it
 * before a long training. */
int trl_model_name_check(const char *name, trl_error *err);

/* Registers m as the next version of name, stage none. On success m->ref
 * is set and *version_out is N of "name@N". */
int trl_registry_register_model(trl_registry *r, const char *name,
                                trl_model *m, int *version_out,
                                trl_error *err);

/* "name" (latest), "name@N" or "name@stage" (staging, production,
 * archived: the latest version in that stage): a new reference. */
trl_model *trl_registry_get_model(trl_registry *r, const char *spec,
                                  trl_error *err);

/* Moves a version to a stage. Making one production archives the version
 * that held production before, so each name has at most one. */
int trl_registry_stage_model(trl_registry *r, const char *spec,
                             trl_stage stage, trl_error *err);

/* The current stage of a registered model. */
int trl_registry_model_stage(trl_registry *r, const char *ref,
                             trl_stage *out, trl_error *err);

/* Keeps a trl_compare_models result: whole, and each registered model's
 * value of each metric on that frame (the evidence promotion gates read).
 * *id_out (may be NULL) is the comparison's number. */
int trl_registry_record_comparison(trl_registry *r, const json_t *result,
                                   long long *id_out, trl_error *err);

/* Keeps a business metric's Lua source (a function expression), its
 * direction and the extra columns it reads, replacing one of that name. */
int trl_registry_define_metric(trl_registry *r, const char *name,
                               const char *source, int higher_is_better,
                               const json_t *columns, trl_error *err);

/* {"source", "higher_is_better", "columns"} of a defined metric (new), or
 * NULL with TRL_ENOTFOUND. */
json_t *trl_registry_get_metric(trl_registry *r, const char *name,
                                trl_error *err);

/* A new array, one object per version ordered by name then version:
 * {name, version, algo, objective, stage, target, features, data,
 * metrics, tags, created, train_seconds}. NULL when unreadable. */
json_t *trl_registry_list_models(trl_registry *r);

#endif
