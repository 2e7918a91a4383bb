/* importance_perm.c - permutation importance: the model scored on a frame,
 * then on copies of it where one feature's column is shuffled, repeat
 * after repeat; a feature matters as much as the metric drops. The copies
 * share every other column with the frame (columns are immutable), and
 * the shuffled column is the original's rows in a permuted order, so one
 * feature's shuffle costs one column, never the frame. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/importance_int.h"
#include "registry/model_int.h"
#include "registry/registry_int.h"

/* Rows per prediction call, and the most a call's encoded rows may take.
 * Each XGBoost call with more than one thread opens and joins a parallel
 * region, and on a busy machine a join waits for a descheduled thread:
 * the permutation's many whole-frame predictions of 100,000 rows took
 * 9.7 s in trl_model_predict's calls of 4096 rows and 3.7 to 6.5 s in
 * calls of 65536, with nthread 2 on a busy 2-CPU machine
 * (bench/importance). */
#define PERM_BATCH 65536
#define PERM_BATCH_BYTES (64u << 20)

/* What every scoring reads, for the rows kept (those with a label, and a
 * group for ranking metrics). */
typedef struct perm_job {
    const trl_importance_request *rq;
    const trl_metric *metric;   /* NULL: rq->external */
    trl_frame *work;            /* the model's feature columns of the rows
                                 * kept: shared with rq->on when every row
                                 * is kept; one column at a time replaced */
    double *y;                  /* labels */
    int64_t *group;             /* ranking metrics only */
    size_t *rows;               /* the frame row of each kept row */
    size_t *perm;               /* the current shuffle */
    size_t n;
    size_t batch;               /* rows per prediction call */
} perm_job;

static void job_free(perm_job *j)
{
    trl_frame_decref(j->work);
    free(j->y);
    free(j->group);
    free(j->rows);
    free(j->perm);
}

/* splitmix64, as frame sampling uses: a shuffle depends on the seed and
 * the repeat only, the same on every machine. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Shuffle number r of 0 .. n-1 (Fisher-Yates). Every feature gets the
 * same shuffle r, as scikit-learn's permutation_importance gives each
 * column the same random state. */
static void shuffle(size_t *p, size_t n, uint64_t seed, int r)
{
    uint64_t s = seed ^ trl__mix64((uint64_t)r + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t k = (size_t)(next(&s) % i);
        size_t t = p[i - 1];
        p[i - 1] = p[k];
        p[k] = t;
    }
}

/* A group key per row: equal values, equal keys (as compare.c). */
static int64_t key_of(const trl_column *c, size_t i)
{
    switch (c->type) {
    case TRL_STR:
        return c->v.codes[i];
    case TRL_I64:
        return c->v.i64[i];
    case TRL_BOOL:
        return c->v.b[i];
    default: {
        double x = c->v.f64[i];
        int64_t k;
        memcpy(&k, &x, sizeof k);
        return k;
    }
    }
}

/* Keeps the rows with a label (and a group), and the model's feature
 * columns of them in j->work. */
static int job_init(perm_job *j, const trl_importance_request *rq,
                    const trl_metric *metric, trl_error *err)
{
    const trl_model *m = rq->model;
    const trl_frame *f = rq->on;
    size_t n = f->nrows, nf = json_array_size(m->features);
    memset(j, 0, sizeof *j);
    j->rq = rq;
    j->metric = metric;
    const trl_column *y = trl_frame_get(f, m->target);
    if (!y)
        return trl_error_set(err, TRL_ENOTFOUND, "the frame has no column "
                             "'%s', the target of %s", m->target,
                             m->ref ? m->ref : "the model");
    const char *gname = metric && metric->kind == TRL_METRIC_RANKING
                            ? m->group : NULL;
    const trl_column *g = gname ? trl_frame_get(f, gname) : NULL;
    if (gname && !g)
        return trl_error_set(err, TRL_ENOTFOUND, "the frame has no column "
                             "'%s', the query groups %s needs", gname,
                             metric->name);
    const char **names = malloc((nf ? nf : 1) * sizeof *names);
    if (!names)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    for (size_t i = 0; i < nf; i++) {
        names[i] = json_string_value(json_array_get(m->features, i));
        if (!trl_frame_get(f, names[i])) {
            trl_error_set(err, TRL_ENOTFOUND, "the frame has no column "
                          "'%s', which %s reads", names[i],
                          m->ref ? m->ref : "the model");
            free(names);
            return err->code;
        }
    }
    trl_frame *all = trl_frame_select(f, names, nf, err);
    free(names);
    j->y = malloc((n ? n : 1) * sizeof *j->y);
    j->rows = malloc((n ? n : 1) * sizeof *j->rows);
    j->perm = malloc((n ? n : 1) * sizeof *j->perm);
    j->group = g ? malloc((n ? n : 1) * sizeof *j->group) : NULL;
    if (!all || !j->y || !j->rows || !j->perm || (g && !j->group)) {
        trl_frame_decref(all);
        return all ? trl_error_set(err, TRL_ENOMEM, "out of memory")
                   : err->code;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        double yi = trl_column_get_f64(y, i);
        if (isnan(yi) || (g && trl_column_is_missing(g, i)))
            continue;
        j->y[kept] = yi;
        if (g)
            j->group[kept] = key_of(g, i);
        j->rows[kept++] = i;
    }
    j->n = kept;
    size_t width = ((const trl__model_impl *)m->impl)->enc->width;
    j->batch = width && PERM_BATCH_BYTES / (width * sizeof(double)) <
                            PERM_BATCH
                   ? PERM_BATCH_BYTES / (width * sizeof(double)) + 1
                   : PERM_BATCH;
    if (kept == 0) {
        trl_frame_decref(all);
        return trl_error_set(err, TRL_EINVAL, "no rows to score: every row "
                             "misses the target '%s'%s", m->target,
                             g ? " or the group" : "");
    }
    /* every row kept: the frame's own columns, no copy at all */
    j->work = kept == n ? all : trl_frame_take(all, j->rows, kept, err);
    if (kept != n)
        trl_frame_decref(all);
    return j->work ? 0 : err->code;
}

/* The model's metric on j->work as it stands. */
static int score(const perm_job *j, double *out, trl_error *err)
{
    const trl_importance_request *rq = j->rq;
    trl_column *pred[1];
    if (trl__model_predict_batch(rq->model, j->work, j->batch, pred,
                                 err) != 0)
        return err->code;
    int rc;
    if (j->metric) {
        trl_metric_data d = {j->y, pred[0]->v.f64, NULL, j->group, j->n};
        rc = trl_metric_compute(j->metric, &d, out, err);
    } else {
        const trl_metric_external *x = rq->external;
        trl_metric_call c = {j->y, pred[0]->v.f64, NULL, j->n, j->rows,
                             rq->on, 0};
        rc = x->eval(x->ctx, &c, out, err);
    }
    trl_column_decref(pred[0]);
    return rc;
}

/* mean and population deviation (ddof 0, as scikit-learn's
 * importances_std) of the defined values; NaN when none is. */
static void mean_std(const double *v, int n, double *mean, double *std)
{
    double s = 0, q = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) {
            s += v[i];
            k++;
        }
    *mean = k ? s / k : NAN;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i]))
            q += (v[i] - *mean) * (v[i] - *mean);
    *std = k ? sqrt(q / k) : NAN;
}

static json_t *number(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* Feature i's drops under every shuffle, into drops[0 .. R-1]. */
static int feature_drops(perm_job *j, size_t i, double baseline,
                         int higher, double *drops, trl_error *err)
{
    const trl_importance_request *rq = j->rq;
    const char *name = json_string_value(json_array_get(rq->model->features,
                                                        i));
    trl_column *orig = trl_frame_get(j->work, name);
    trl_column_incref(orig);  /* the work frame lets go of it below */
    int rc = 0;
    for (int r = 0; rc == 0 && r < rq->repeats; r++) {
        if (trl__registry_interrupted()) {
            rc = trl__registry_interrupt_error(err);
            break;
        }
        shuffle(j->perm, j->n, rq->seed, r);
        trl_column *shuffled = trl_column_take(orig, j->perm, j->n, err);
        double v = NAN;
        if (!shuffled || trl_frame_set(j->work, name, shuffled, err) != 0 ||
            score(j, &v, err) != 0)
            rc = err->code;
        trl_column_decref(shuffled);
        /* bigger is more important whichever way the metric points */
        drops[r] = higher ? baseline - v : v - baseline;
    }
    trl_error ignored = {0};
    trl_frame_set(j->work, name, orig, &ignored);  /* same length: cannot
                                                   * fail */
    trl_column_decref(orig);
    return rc;
}

int trl__importance_permutation(const trl_importance_request *rq,
                                const trl_metric *metric, json_t *features,
                                json_t *result, trl_error *err)
{
    perm_job j;
    int rc = job_init(&j, rq, metric, err);
    double baseline = NAN;
    int higher = metric ? metric->higher_is_better
                        : rq->external->higher_is_better;
    double *drops = malloc((size_t)rq->repeats * sizeof *drops);
    if (rc == 0 && !drops)
        rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
    if (rc == 0 && (rc = score(&j, &baseline, err)) == 0 && isnan(baseline))
        rc = trl_error_set(err, TRL_EINVAL, "%s is undefined on these rows: "
                           "nothing to measure a drop from",
                           metric ? metric->name : rq->external->name);
    if (rc == 0) {
        json_object_set_new(result, "rows", json_integer((json_int_t)j.n));
        json_object_set_new(result, "dropped", json_integer(
                                (json_int_t)(rq->on->nrows - j.n)));
        json_object_set_new(result, "baseline", number(baseline));
    }
    size_t nf = json_array_size(rq->model->features);
    for (size_t i = 0; rc == 0 && i < nf; i++) {
        if ((rc = feature_drops(&j, i, baseline, higher, drops, err)) != 0)
            break;
        double mean, std;
        mean_std(drops, rq->repeats, &mean, &std);
        json_t *values = json_array();
        for (int r = 0; values && r < rq->repeats; r++)
            json_array_append_new(values, number(drops[r]));
        json_t *o = values ? json_pack(
            "{s:O, s:o, s:o, s:o, s:I}", "feature",
            json_array_get(rq->model->features, i), "value", number(mean),
            "std", number(std), "values", values, "inputs",
            (json_int_t)trl__importance_feature_inputs(rq->model, i))
                           : NULL;
        if (!o || json_array_append_new(features, o) != 0)
            rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    free(drops);
    job_free(&j);  /* job_init zeroes j first: safe after its failure */
    return rc;
}
