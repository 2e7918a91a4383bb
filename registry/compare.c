/* compare.c - models side by side on one frame: each model predicts, the
 * rows every model can be judged on are kept, and bootstrap.c compares
 * them on each metric, overall and per segment. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/metrics.h"
#include "registry/model_int.h"
#include "registry/registry_int.h"

/* Segments past this are refused: a table of hundreds of row groups
 * answers no question. */
#define MAX_SEGMENTS 50

static const char *const classification_defaults[] = {"auc", "logloss",
                                                      "pr_auc", "brier"};
static const char *const regression_defaults[] = {"rmse", "mae", "r2"};
static const char *const ranking_defaults[] = {"ndcg@10", "map@10", "mrr"};

/* What the comparison reads: labels, each model's scores, weights and
 * groups, for the rows kept. All malloc'd. */
typedef struct table {
    size_t n, dropped;
    double *y, *w;
    int64_t *group;
    double **scores;
    size_t nmodels;
    size_t *rows;  /* frame row of each kept row */
} table;

static void table_free(table *t)
{
    for (size_t i = 0; t->scores && i < t->nmodels; i++)
        free(t->scores[i]);
    free(t->scores);
    free(t->y);
    free(t->w);
    free(t->group);
    free(t->rows);
}

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
        memcpy(&k, &x, sizeof k);  /* equal doubles, equal keys */
        return k;
    }
    }
}

static int build_table(const trl_compare_request *rq, const char *group,
                       table *t, trl_error *err)
{
    const trl_model *m0 = rq->models[0];
    const trl_frame *f = rq->on;
    size_t n = f->nrows, nm = rq->nmodels;
    memset(t, 0, sizeof *t);
    const trl_column *y = trl_frame_get(f, m0->target);
    if (!y)
        return trl_error_set(err, TRL_ENOTFOUND, "the frame has no column "
                             "'%s', the target of %s", m0->target,
                             m0->ref ? m0->ref : "the first model");
    const trl_column *w = rq->weight ? trl_frame_get(f, rq->weight) : NULL;
    const trl_column *g = group ? trl_frame_get(f, group) : NULL;
    if (rq->weight && !w)
        return trl_error_set(err, TRL_ENOTFOUND, "no weight column '%s'",
                             rq->weight);
    if (group && !g)
        return trl_error_set(err, TRL_ENOTFOUND, "no group column '%s'",
                             group);
    t->nmodels = nm;
    t->scores = calloc(nm, sizeof *t->scores);
    t->y = malloc((n ? n : 1) * sizeof *t->y);
    t->w = w ? malloc((n ? n : 1) * sizeof *t->w) : NULL;
    t->group = g ? malloc((n ? n : 1) * sizeof *t->group) : NULL;
    t->rows = malloc((n ? n : 1) * sizeof *t->rows);
    if (!t->scores || !t->y || (w && !t->w) || (g && !t->group) || !t->rows)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    trl_column *pred[1];
    for (size_t k = 0; k < nm; k++) {
        const trl_model *m = rq->models[k];
        if (m->noutputs != 1)
            return trl_error_set(err, TRL_EINVAL, "%s predicts %d classes; "
                                 "compare takes single-score models",
                                 m->ref ? m->ref : "a model", m->noutputs);
        if (strcmp(m->target, m0->target) != 0)
            return trl_error_set(err, TRL_EINVAL, "%s predicts '%s' but %s "
                                 "predicts '%s': compare models of one "
                                 "target", m->ref ? m->ref : "a model",
                                 m->target, m0->ref ? m0->ref : "the first",
                                 m0->target);
        if (trl_model_predict(m, f, pred, err) != 0)
            return err->code;
        t->scores[k] = malloc((n ? n : 1) * sizeof **t->scores);
        if (t->scores[k])
            memcpy(t->scores[k], pred[0]->v.f64, n * sizeof **t->scores);
        trl_column_decref(pred[0]);
        if (!t->scores[k])
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    /* keep the rows with a label, a weight, a group and every score */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        double yi = trl_column_get_f64(y, i);
        int ok = !isnan(yi) && (!w || !trl_column_is_missing(w, i)) &&
                 (!g || !trl_column_is_missing(g, i));
        for (size_t k = 0; ok && k < nm; k++)
            ok = !isnan(t->scores[k][i]);
        if (!ok)
            continue;
        for (size_t k = 0; k < nm; k++)
            t->scores[k][kept] = t->scores[k][i];
        t->y[kept] = yi;
        if (w)
            t->w[kept] = trl_column_get_f64(w, i);
        if (g)
            t->group[kept] = key_of(g, i);
        t->rows[kept++] = i;
    }
    t->n = kept;
    t->dropped = n - kept;
    return 0;
}

static json_t *number(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* Runs the comparison on rows idx (all when NULL) of t: a new array of
 * metric objects. */
static json_t *compare_rows(const trl_compare_request *rq, const table *t,
                            const trl_metric *ms, size_t nmetrics,
                            const size_t *idx, size_t n, trl_error *err)
{
    size_t nm = t->nmodels;
    table sub = *t;
    double *buf = NULL;
    if (idx) {
        /* the segment's rows, gathered */
        size_t cols = 1 + nm + (t->w ? 1 : 0);
        buf = malloc((n ? n : 1) * cols * sizeof *buf);
        sub.scores = malloc(nm * sizeof *sub.scores);
        sub.group = t->group ? malloc((n ? n : 1) * sizeof *sub.group)
                             : NULL;
        sub.rows = malloc((n ? n : 1) * sizeof *sub.rows);
        if (!buf || !sub.scores || (t->group && !sub.group) || !sub.rows) {
            free(buf);
            free(sub.scores);
            free(sub.group);
            free(sub.rows);
            trl_error_set(err, TRL_ENOMEM, "out of memory");
            return NULL;
        }
        sub.y = buf;
        for (size_t k = 0; k < nm; k++)
            sub.scores[k] = buf + n * (1 + k);
        sub.w = t->w ? buf + n * (1 + nm) : NULL;
        for (size_t i = 0; i < n; i++) {
            sub.y[i] = t->y[idx[i]];
            for (size_t k = 0; k < nm; k++)
                sub.scores[k][i] = t->scores[k][idx[i]];
            if (t->w)
                sub.w[i] = t->w[idx[i]];
            if (t->group)
                sub.group[i] = t->group[idx[i]];
            sub.rows[i] = t->rows[idx[i]];
        }
    }
    trl_compare_input in = {
        .metrics = ms, .nmetrics = nmetrics, .external = rq->external,
        .nexternal = rq->nexternal, .rows = sub.rows, .frame = rq->on,
        .scores = (const double *const *)sub.scores, .nmodels = nm,
        .y = sub.y, .w = sub.w, .group = sub.group, .n = n,
        .resamples = rq->resamples, .seed = rq->seed};
    size_t nall = nmetrics + rq->nexternal;
    trl_compare_cell *cells = malloc((nall ? nall : 1) * nm * sizeof *cells);
    json_t *out = NULL;
    if (!cells)
        trl_error_set(err, TRL_ENOMEM, "out of memory");
    else if (trl_compare_run(&in, cells, err) == 0)
        out = json_array();
    for (size_t j = 0; out && j < nall; j++) {
        const trl_metric_external *x = j < nmetrics
                                           ? NULL
                                           : &rq->external[j - nmetrics];
        const char *name = x ? x->name : ms[j].name;
        int higher = x ? x->higher_is_better : ms[j].higher_is_better;
        json_t *row = json_array();
        int best = -1;
        for (size_t k = 0; k < nm; k++) {
            const trl_compare_cell *c = &cells[j * nm + k];
            json_array_append_new(row, json_pack(
                "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i}", "value",
                number(c->value), "lo", number(c->lo), "hi", number(c->hi),
                "delta", number(c->delta), "delta_lo", number(c->delta_lo),
                "delta_hi", number(c->delta_hi), "p", number(c->p),
                "defined", c->defined));
            const trl_compare_cell *b = best < 0 ? NULL
                                                 : &cells[j * nm + best];
            if (isfinite(c->value) &&
                (!b || (higher ? c->value > b->value : c->value < b->value)))
                best = (int)k;
        }
        json_array_append_new(out, json_pack(
            "{s:s, s:b, s:i, s:o}", "name", name, "higher_is_better", higher,
            "best", best, "cells", row));
    }
    free(cells);
    if (idx) {
        free(buf);
        free(sub.scores);
        free(sub.group);
        free(sub.rows);
    }
    return out;
}

/* The metrics asked for, or the first model's objective's defaults. */
static trl_metric *parse_metrics(const trl_compare_request *rq,
                                 size_t *n, trl_error *err)
{
    const char *const *names = rq->metrics;
    size_t count = rq->nmetrics;
    if ((!names || count == 0) && rq->nexternal) {
        *n = 0;
        return calloc(1, sizeof(trl_metric));  /* business metrics only */
    }
    if (!names || count == 0) {
        const char *obj = rq->models[0]->objective;
        if (strncmp(obj, "rank:", 5) == 0) {
            names = ranking_defaults;
            count = sizeof ranking_defaults / sizeof *ranking_defaults;
        } else if (strncmp(obj, "binary:", 7) == 0 ||
                   strcmp(obj, "logistic") == 0) {
            names = classification_defaults;
            count = sizeof classification_defaults /
                    sizeof *classification_defaults;
        } else {
            names = regression_defaults;
            count = sizeof regression_defaults / sizeof *regression_defaults;
        }
    }
    trl_metric *ms = calloc(count, sizeof *ms);
    if (!ms) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        if (trl_metric_parse(names[i], &ms[i], err) != 0) {
            free(ms);
            return NULL;
        }
    *n = count;
    return ms;
}

/* Distinct values of the segment column among the kept rows, sorted:
 * adds one object per segment to segs. */
static int add_segments(const trl_compare_request *rq, const table *t,
                        const trl_metric *ms, size_t nmetrics, json_t *segs,
                        trl_error *err)
{
    const trl_column *c = trl_frame_get(rq->on, rq->by);
    if (!c)
        return trl_error_set(err, TRL_ENOTFOUND, "no segment column '%s'",
                             rq->by);
    trl_agg count = {rq->by, TRL_AGG_COUNT, "n"};
    trl_frame *groups = trl_frame_group_by(rq->on, rq->by, &count, 1, err);
    if (!groups)
        return err->code;
    int rc = 0;
    if (groups->nrows > MAX_SEGMENTS)
        rc = trl_error_set(err, TRL_EINVAL, "'%s' has %zu values; segments "
                           "are for at most %d", rq->by, groups->nrows,
                           MAX_SEGMENTS);
    size_t *idx = malloc((t->n ? t->n : 1) * sizeof *idx);
    if (!idx && !rc)
        rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
    const trl_column *keys = groups->cols[0];
    for (size_t s = 0; !rc && s < groups->nrows; s++) {
        size_t n = 0;
        for (size_t i = 0; i < t->n; i++) {
            size_t r = t->rows[i];
            int same = c->type == TRL_STR
                           ? !trl_column_is_missing(c, r) &&
                                 strcmp(c->dict->strs[c->v.codes[r]],
                                        keys->dict->strs[keys->v.codes[s]])
                                     == 0
                           : trl_column_get_f64(c, r) ==
                                 trl_column_get_f64(keys, s);
            if (same)
                idx[n++] = i;
        }
        json_t *value = keys->type == TRL_STR
                            ? json_string(keys->dict->strs[keys->v.codes[s]])
                            : json_real(trl_column_get_f64(keys, s));
        trl_error serr = {0};
        json_t *m = n ? compare_rows(rq, t, ms, nmetrics, idx, n, &serr)
                      : NULL;
        if (!m && serr.code == TRL_EINTR) {
            json_decref(value);
            rc = trl__registry_interrupt_error(err);
            break;
        }
        /* a segment where a metric is undefined (one class) says why */
        json_array_append_new(segs, json_pack(
            "{s:o, s:I, s:o, s:s?}", "value", value ? value : json_null(),
            "rows", (json_int_t)n, "metrics", m ? m : json_null(), "error",
            m ? NULL : (n ? serr.message : "no rows")));
    }
    free(idx);
    trl_frame_decref(groups);
    return rc;
}

/* ---- curves for the plots --------------------------------------------------- */

/* Points kept per curve: enough for a smooth line in a 300-pixel plot. */
#define CURVE_POINTS 200
#define CALIBRATION_BINS 10

typedef struct ranked {
    double s, y, w;
} ranked;

static int by_score_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return (x->s < y->s) - (x->s > y->s);
}

static json_t *reals(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_real(isfinite(v[i]) ? v[i] : 0.0));
    return a;
}

/* One model's ROC and precision-recall curves (at most CURVE_POINTS
 * thresholds, evenly spaced through the distinct scores) and its
 * calibration (mean score and positive rate per tenth of [0, 1]). */
static json_t *model_curves(const table *t, size_t k, ranked *buf)
{
    size_t n = t->n;
    double P = 0, N = 0;
    for (size_t i = 0; i < n; i++) {
        double w = t->w ? t->w[i] : 1.0;
        buf[i] = (ranked){t->scores[k][i], t->y[i], w};
        P += w * t->y[i];
        N += w * (1 - t->y[i]);
    }
    qsort(buf, n, sizeof *buf, by_score_desc);
    double fpr[CURVE_POINTS + 2], tpr[CURVE_POINTS + 2];
    double rec[CURVE_POINTS + 2], prec[CURVE_POINTS + 2];
    size_t np = 0, step = n / CURVE_POINTS + 1, next_at = step;
    double tp = 0, fp = 0;
    fpr[np] = tpr[np] = rec[np] = 0;
    prec[np++] = 1;
    for (size_t i = 0; i < n; i++) {
        tp += buf[i].w * buf[i].y;
        fp += buf[i].w * (1 - buf[i].y);
        /* a point at the first threshold (end of a block of tied scores)
         * past each step, and always at the last */
        int block_end = i + 1 == n || buf[i + 1].s != buf[i].s;
        if (block_end && (i + 1 >= next_at || i + 1 == n)) {
            next_at = i + 1 + step;
            if (np == CURVE_POINTS + 2)
                np--;  /* the last point replaces the one before */
            fpr[np] = N > 0 ? fp / N : 0;
            tpr[np] = P > 0 ? tp / P : 0;
            rec[np] = tpr[np];
            prec[np++] = tp + fp > 0 ? tp / (tp + fp) : 1;
        }
    }
    double mean_s[CALIBRATION_BINS] = {0}, rate[CALIBRATION_BINS] = {0};
    double wsum[CALIBRATION_BINS] = {0};
    for (size_t i = 0; i < n; i++) {
        int b = (int)floor(buf[i].s * CALIBRATION_BINS);
        b = b < 0 ? 0 : b >= CALIBRATION_BINS ? CALIBRATION_BINS - 1 : b;
        wsum[b] += buf[i].w;
        mean_s[b] += buf[i].w * buf[i].s;
        rate[b] += buf[i].w * buf[i].y;
    }
    json_t *cal = json_array();
    for (int b = 0; cal && b < CALIBRATION_BINS; b++)
        if (wsum[b] > 0)
            json_array_append_new(cal, json_pack(
                "[f, f, f]", mean_s[b] / wsum[b], rate[b] / wsum[b],
                wsum[b]));
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "fpr", reals(fpr, np),
                     "tpr", reals(tpr, np), "recall", reals(rec, np),
                     "precision", reals(prec, np), "calibration",
                     cal ? cal : json_array());
}

/* Curves of every model when the labels are 0/1, else null. */
static json_t *curves(const table *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->y[i] != 0.0 && t->y[i] != 1.0)
            return json_null();
    ranked *buf = malloc((t->n ? t->n : 1) * sizeof *buf);
    json_t *all = buf ? json_array() : NULL;
    for (size_t k = 0; all && k < t->nmodels; k++)
        json_array_append_new(all, model_curves(t, k, buf));
    free(buf);
    return all ? all : json_null();
}

json_t *trl_compare_models(const trl_compare_request *rq, trl_error *err)
{
    if (rq->nmodels == 0 || !rq->on) {
        trl_error_set(err, TRL_EINVAL, "compare needs models and a frame to "
                      "compare them on");
        return NULL;
    }
    size_t nmetrics = 0;
    trl_metric *ms = parse_metrics(rq, &nmetrics, err);
    if (!ms)
        return NULL;
    const char *group = rq->group ? rq->group : rq->models[0]->group;
    int ranking = 0;
    for (size_t j = 0; j < nmetrics; j++)
        ranking |= ms[j].kind == TRL_METRIC_RANKING;
    table t;
    json_t *result = NULL, *overall = NULL;
    /* an explicit group clusters the resampling even of row metrics */
    const char *cluster = ranking || rq->group ? group : NULL;
    if (build_table(rq, cluster, &t, err) != 0)
        goto done;
    if (t.n == 0) {
        trl_error_set(err, TRL_EINVAL, "no rows to compare on: every row "
                      "misses the target '%s' or a score",
                      rq->models[0]->target);
        goto done;
    }
    if (!(overall = compare_rows(rq, &t, ms, nmetrics, NULL, t.n, err)))
        goto done;
    json_t *refs = json_array();
    for (size_t k = 0; k < rq->nmodels; k++)
        json_array_append_new(refs, rq->models[k]->ref
                                        ? json_string(rq->models[k]->ref)
                                        : json_null());
    result = json_pack("{s:o, s:s?, s:I, s:I, s:i, s:s?, s:I, s:o, s:o, "
                       "s:o}",
                       "models", refs, "on", rq->on->ref, "rows",
                       (json_int_t)t.n, "dropped", (json_int_t)t.dropped,
                       "resamples", rq->resamples, "resampled_by", cluster,
                       "seed",
                       (json_int_t)rq->seed, "metrics", overall, "segments",
                       json_array(), "curves", curves(&t));
    overall = NULL;
    if (result && rq->by &&
        add_segments(rq, &t, ms, nmetrics,
                     json_object_get(result, "segments"), err) != 0) {
        json_decref(result);
        result = NULL;
    }
done:
    json_decref(overall);
    table_free(&t);
    free(ms);
    return result;
}
