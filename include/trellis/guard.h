/* guard.h - guard rails over frames: drift of a new frame from a reference
 * (population stability index, two-sample Kolmogorov-Smirnov, Jensen-
 * Shannon distance), and validation of a frame against expectations
 * inferred from a reference frame or saved under a name. Both are kept in
 * the registry's SQLite file, where promotion gates read them back. Knows
 * nothing of Jupyter or of any engine. */
#ifndef TRELLIS_GUARD_H
#define TRELLIS_GUARD_H

#include <stddef.h>
#include <jansson.h>

#include "trellis/error.h"
#include "trellis/model.h"
#include "trellis/registry.h"

/* ---- drift statistics --------------------------------------------------- */

/* PSI bins a numeric feature at REF's deciles: the cut points are
 * np.unique(np.quantile(ref, [0.1, ..., 0.9])) over REF's present values
 * (NumPy's default linear interpolation), a value v falls in bin
 * np.searchsorted(cuts, v, side='right') (so the outer bins reach to
 * -inf and +inf and a tied decile keeps its ties together), and missing
 * values form one more bin. A categorical feature has a bin per category
 * seen in either frame, and one for missing. Each side's share of its
 * rows is raised to at least TRL_PSI_EPSILON before
 * PSI = sum (new - ref) * ln(new / ref): an empty bin costs a bounded
 * amount instead of infinity. Bands: < 0.1 insignificant, 0.1 to 0.25
 * moderate, > 0.25 major. */
#define TRL_PSI_DECILES 10
#define TRL_PSI_EPSILON 1e-4

/* The default PSI above which %drift flags a feature. */
#define TRL_DRIFT_THRESHOLD 0.2

typedef enum {
    TRL_DRIFT_NUMERIC = 0,     /* f64, i64: PSI and Kolmogorov-Smirnov */
    TRL_DRIFT_CATEGORICAL = 1  /* str, bool: PSI and Jensen-Shannon */
} trl_drift_kind;

/* One feature's drift. Statistics that do not apply are NaN. */
typedef struct trl_drift_stats {
    trl_drift_kind kind;
    size_t ref_rows, new_rows;        /* every row, missing included */
    size_t ref_missing, new_missing;
    size_t bins;                      /* PSI bins, the missing bin included */
    double psi;
    double ks, ks_p;                  /* numeric, both sides with values */
    int ks_exact;                     /* 1: the exact p-value, 0: Smirnov's
                                       * asymptotic one (as SciPy chooses) */
    double js;                        /* categorical: Jensen-Shannon
                                       * distance, base 2 (0 to 1) */
} trl_drift_stats;

/* The two-sided two-sample Kolmogorov-Smirnov test of a and b (values,
 * no NaN; neither array is modified) as SciPy 1.10's
 * scipy.stats.ks_2samp(a, b, method='auto') computes it: the statistic
 * D = max |F_a - F_b| over the pooled values, and its p-value exact when
 * both samples have at most 10000 values (Hodges' lattice-path counts;
 * D is then rounded to the lattice as SciPy does), else from the
 * distribution of the one-sample statistic for n = round(na nb /
 * (na + nb)) (scipy.stats.kstwo). Fails with TRL_EINVAL on an empty
 * sample or a NaN, TRL_ENOMEM. */
int trl_ks_2samp(const double *a, size_t na, const double *b, size_t nb,
                 double *statistic, double *pvalue, int *exact,
                 trl_error *err);

/* The drift of one column from ref to new (see the definitions above):
 * numeric when both are f64 or i64, categorical when both are str (the
 * strings compared by content, each side with its own dictionary) or
 * both bool. Other pairs fail with TRL_EINVAL naming the two types, an
 * empty column with TRL_EINVAL. Stops with TRL_EINTR when the registry's
 * interrupt callback fires. */
int trl_drift_column(const trl_column *ref, const trl_column *new_col,
                     trl_drift_stats *out, trl_error *err);

/* ---- drift of frames ------------------------------------------------------ */

typedef struct trl_drift_request {
    const trl_frame *ref;             /* borrowed: the reference */
    const trl_frame *new_frame;       /* borrowed: the frame judged */
    const char *ref_name, *new_name;  /* as the user named them ("holdout",
                                       * a variable); NULL: the frames'
                                       * refs */
    const char *const *features;      /* NULL: every column both frames
                                       * have, in REF's order */
    size_t nfeatures;
    double threshold;                 /* PSI above which a feature is
                                       * flagged; 0 means the default */
    const trl_model *model;           /* borrowed, may be NULL: compare its
                                       * predictions on the two frames
                                       * (prediction drift) */
} trl_drift_request;

/* Runs every feature (on the CPUs, each sorted once) and returns a new
 * object:
 * {"ref": "holdout@2" or null, "ref_name", "new", "new_name", "model":
 *  ref or null, "threshold", "rows": {"ref", "new"}, "bins": 10,
 *  "epsilon": 1e-4, "features": [{"name", "kind": "numeric" |
 *  "categorical", "type": "f64"..., "psi", "band": "insignificant" |
 *  "moderate" | "major", "ks", "ks_p", "ks_method": "exact" | "asymp",
 *  "js", "missing_ref", "missing_new" (shares), "bins", "flagged",
 *  "unseen": [categories only NEW has] (categorical), "hist": {"edges",
 *  "ref", "new"} (numeric: shares of present values in 20 equal bins
 *  from the 0.5th to the 99.5th percentile of both, the outer bins taking
 *  the tails) or {"categories", "ref", "new"} (categorical: shares of
 *  rows, the 11 most common then "(other)" and "(missing)")}...] sorted
 *  by PSI, largest first, "flagged": count, "max_psi", "ok": no feature
 *  flagged, "skipped": [{"name", "only_in": "ref"|"new"} for a column
 *  one frame has, {"name", "reason": "id"} for an id column (named id or
 *  *_id, every REF value present and distinct) left out unless asked
 *  for]}; absent statistics are null. With a model the features are its predictions, named
 * "prediction" (or "prediction[k]" per class), followed by any features
 * asked for. Errors: an empty frame, a feature one frame lacks, types
 * that differ in kind (str in one, f64 in the other), no feature in
 * common, a model that cannot predict on a frame; TRL_EINTR. */
json_t *trl_drift_run(const trl_drift_request *rq, trl_error *err);

/* ---- validation ------------------------------------------------------------ */

/* Expectations are JSON, editable by hand (or in Lua):
 * {"from": "holdout@2" (informational), "min_rows": 1,
 *  "allow_extra_columns": false,
 *  "columns": {"age": {"type": "i64", "required": true,
 *              "max_missing": 0.02, "min": 10, "max": 97,
 *              "categories": [...], "unique": false}, ...}}
 * Every key but "columns" is optional; an absent key checks nothing (a
 * column is required unless "required" is false). */

/* Expectations inferred from a reference frame (a new object):
 *  - the column set, each column required, no extra columns allowed;
 *  - each column's type (a f64 expectation also accepts i64 values);
 *  - max_missing: none when REF has none, else min(1, 2 x REF's missing
 *    share + 0.01);
 *  - numeric columns: min and max widened by 10% of REF's range on each
 *    side (10% of |value| for a constant column), rounded outwards to
 *    whole numbers for i64, and never below 0 when REF has no negative
 *    value;
 *  - str columns with at most 50 distinct values: those categories;
 *  - unique: i64 and str columns whose REF values are all present and
 *    distinct, when REF has at least 20 rows or the column is called id
 *    or ends in _id (a few rows are distinct by chance); such a column
 *    gets no range (new rows bring new ids);
 *  - min_rows: 1.
 * Fails on a frame without rows (nothing to learn from). */
json_t *trl_validate_infer(const trl_frame *ref, trl_error *err);

/* 0 when spec is well-formed expectations, else TRL_EINVAL saying which
 * key is wrong ("column 'age': max_missing must be a number from 0 to
 * 1"). */
int trl_validate_spec_check(const json_t *spec, trl_error *err);

/* Checks f against spec (borrowed; checked first with
 * trl_validate_spec_check). name is how the user named f (NULL: its
 * ref) and against what the expectations came from ("holdout@2",
 * "schema churn@1"; may be NULL). A new object:
 * {"frame": ref or null, "name", "against", "rows", "ok", "passed",
 *  "failed", "checks": [{"column" (null for the frame), "check": "rows" |
 *  "present" | "type" | "missing" | "range" | "categories" | "unique" |
 *  "columns", "ok", "observed", "expected" (texts), and per check the
 *  numbers behind them: "rate", "min", "max", "outside", "unseen",
 *  "duplicates", "extra"}...], "failures": [the failed checks],
 *  "expectations": spec}. A column that fails its type check is not
 * range- or category-checked. Stops with TRL_EINTR. */
json_t *trl_validate_check(const trl_frame *f, const json_t *spec,
                           const char *name, const char *against,
                           trl_error *err);

/* ---- kept in the registry ---------------------------------------------------- */

/* Keeps a trl_drift_run result: the run (frames, model, threshold,
 * verdict, time, the whole result) and a row per feature, in one
 * transaction. *id_out (may be NULL) is the run's number. */
int trl_registry_record_drift(trl_registry *r, const json_t *result,
                              long long *id_out, trl_error *err);

/* Keeps a trl_validate_check result. *id_out (may be NULL) is its
 * number. */
int trl_registry_record_validation(trl_registry *r, const json_t *result,
                                   long long *id_out, trl_error *err);

/* What a gate reads. A frame spec "name@N" matches runs on exactly that
 * version; "name" matches any version of name, or a working frame the
 * user named so. The latest matching drift run of ref_spec against
 * new_spec: with feature NULL, the largest PSI of a run without a model
 * (feature drift); with a feature ("age", or "prediction" for a model's
 * scores), that feature's PSI in the latest run that has it. Fills
 * *max_psi_out (NaN when the PSI was undefined) and returns 0, or
 * TRL_ENOTFOUND saying what to run ("no %drift of holdout against live
 * is recorded"). */
int trl_registry_latest_drift(trl_registry *r, const char *ref_spec,
                              const char *new_spec, const char *feature,
                              double *max_psi_out, trl_error *err);

/* The verdict of the latest validation of frame_spec (matched as above):
 * *ok_out 1 or 0, or TRL_ENOTFOUND saying what to run. */
int trl_registry_latest_validation(trl_registry *r, const char *frame_spec,
                                   int *ok_out, trl_error *err);

/* Saves spec (checked with trl_validate_spec_check) as the next version
 * of the expectation set name (an identifier); *version_out (may be
 * NULL) receives N of "name@N". */
int trl_registry_save_expectations(trl_registry *r, const char *name,
                                   const json_t *spec, int *version_out,
                                   trl_error *err);

/* The expectation set "name" (latest) or "name@N": a new object, with
 * *ref_out (may be NULL) a malloc'd "name@N". TRL_ENOTFOUND naming the
 * sets there are. */
json_t *trl_registry_get_expectations(trl_registry *r, const char *spec,
                                      char **ref_out, trl_error *err);

#endif
