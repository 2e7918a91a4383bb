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
 *  flagged, "skipped": [columns only one frame has]}; absent statistics
 * are null. With a model the features are its predictions, named
 * "prediction" (or "prediction[k]" per class), followed by any features
 * asked for. Errors: an empty frame, a feature one frame lacks, types
 * that differ in kind (str in one, f64 in the other), no feature in
 * common, a model that cannot predict on a frame; TRL_EINTR. */
json_t *trl_drift_run(const trl_drift_request *rq, trl_error *err);

#endif
