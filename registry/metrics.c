/* metrics.c - technical metrics as scikit-learn defines them. Every metric
 * is computed on prepared rows (sorted once by score; ranking groups
 * found once) under a weighting, so one code path serves a plain call and
 * each paired-bootstrap resample, in O(n) (O(groups) for ranking). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/metrics.h"
#include "registry/registry_int.h"

/* scikit-learn 1.2 clips probabilities to the float64 machine epsilon in
 * log_loss, and divides by at least it in mape (see TRAPS.md). */
#define EPS64 2.220446049250313e-16

struct trl_metric_prep {
    trl_metric m;
    size_t n;
    /* classification and regression: rows, for auc and pr_auc by score
     * descending (ties in row order) with perm mapping back to the row a
     * bootstrap count belongs to (else NULL: row order) */
    double *y, *s, *w;
    size_t *perm;
    double *loss;  /* mean-loss metrics: each row's loss, computed once */
    /* the bootstrap's hot path when every sample weight is 1: labels and
     * ties as bytes (tie[i]: row i+1 has the same score), so a resample of
     * auc or a mean loss is integer counting */
    int unweighted;
    uint8_t *y8, *tie;
    uint32_t *perm32;
    /* ranking: one value per group (NaN = not counted, e.g. no relevant
     * rows for recall@k) */
    double *per_group;
    size_t ngroups;
};

/* ---- names ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    trl_metric_id id;
    trl_metric_kind kind;
    int higher, at;  /* at: takes @k (1 optional, 2 required) */
} table[] = {
    {"auc", TRL_METRIC_AUC, TRL_METRIC_CLASSIFICATION, 1, 0},
    {"pr_auc", TRL_METRIC_PR_AUC, TRL_METRIC_CLASSIFICATION, 1, 0},
    {"logloss", TRL_METRIC_LOGLOSS, TRL_METRIC_CLASSIFICATION, 0, 0},
    {"brier", TRL_METRIC_BRIER, TRL_METRIC_CLASSIFICATION, 0, 0},
    {"accuracy", TRL_METRIC_ACCURACY, TRL_METRIC_CLASSIFICATION, 1, 0},
    {"precision", TRL_METRIC_PRECISION, TRL_METRIC_CLASSIFICATION, 1, 0},
    {"recall", TRL_METRIC_RECALL, TRL_METRIC_CLASSIFICATION, 1, 0},
    {"f1", TRL_METRIC_F1, TRL_METRIC_CLASSIFICATION, 1, 0},
    {"ece", TRL_METRIC_ECE, TRL_METRIC_CLASSIFICATION, 0, 0},
    {"rmse", TRL_METRIC_RMSE, TRL_METRIC_REGRESSION, 0, 0},
    {"mae", TRL_METRIC_MAE, TRL_METRIC_REGRESSION, 0, 0},
    {"r2", TRL_METRIC_R2, TRL_METRIC_REGRESSION, 1, 0},
    {"mape", TRL_METRIC_MAPE, TRL_METRIC_REGRESSION, 0, 0},
    {"ndcg", TRL_METRIC_NDCG, TRL_METRIC_RANKING, 1, 1},
    {"precision", TRL_METRIC_PRECISION_AT, TRL_METRIC_RANKING, 1, 2},
    {"recall", TRL_METRIC_RECALL_AT, TRL_METRIC_RANKING, 1, 2},
    {"map", TRL_METRIC_MAP_AT, TRL_METRIC_RANKING, 1, 2},
    {"mrr", TRL_METRIC_MRR, TRL_METRIC_RANKING, 1, 0},
    {"hit_rate", TRL_METRIC_HIT_RATE, TRL_METRIC_RANKING, 1, 2},
};

const char *trl_metric_list(size_t i, char *buf, size_t size)
{
    if (i >= sizeof table / sizeof *table)
        return NULL;
    snprintf(buf, size, "%s%s", table[i].name, table[i].at ? "@k" : "");
    return buf;
}

int trl_metric_parse(const char *name, trl_metric *out, trl_error *err)
{
    if (!name || !*name)
        return trl_error_set(err, TRL_EINVAL, "which metric? e.g. auc, "
                             "logloss, rmse, ndcg@10");
    const char *at = strchr(name, '@');
    size_t len = at ? (size_t)(at - name) : strlen(name);
    long k = 0;
    if (at) {
        char *end;
        k = strtol(at + 1, &end, 10);
        if (end == at + 1 || *end || k < 1 || k > 1000000)
            return trl_error_set(err, TRL_EINVAL, "'%.60s': the cut-off "
                                 "after '@' must be a whole number from 1, "
                                 "as in ndcg@10", name);
    }
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        if (strlen(table[i].name) != len ||
            strncmp(table[i].name, name, len) != 0 ||
            (at ? table[i].at == 0 : table[i].at == 2))
            continue;
        memset(out, 0, sizeof *out);
        out->id = table[i].id;
        out->kind = table[i].kind;
        out->higher_is_better = table[i].higher;
        out->threshold = 0.5;
        out->bins = 10;
        out->k = (int)k;
        snprintf(out->name, sizeof out->name, "%.*s", (int)len, name);
        if (at)
            snprintf(out->name + len, sizeof out->name - len, "@%ld", k);
        return 0;
    }
    return trl_error_set(err, TRL_EINVAL, "unknown metric '%.60s': use auc, "
                         "pr_auc, logloss, brier, accuracy, precision, "
                         "recall, f1, ece, rmse, mae, r2, mape, ndcg@k, "
                         "precision@k, recall@k, map@k, mrr or hit_rate@k",
                         name);
}

/* ---- preparing ------------------------------------------------------------------ */

typedef struct keyed {
    int64_t group;
    double s;
    size_t row;
} keyed;

/* Score descending, ties in row order: the order every rank-based metric
 * and the stable tie-break of the ranking metrics use. */
static int by_score(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int by_group_score(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return by_score(a, b);
}

void trl_metric_prep_free(trl_metric_prep *p)
{
    if (!p)
        return;
    free(p->y);
    free(p->s);
    free(p->w);
    free(p->perm);
    free(p->loss);
    free(p->y8);
    free(p->tie);
    free(p->perm32);
    free(p->per_group);
    free(p);
}

static int check_labels(const trl_metric *m, const trl_metric_data *d,
                        trl_error *err)
{
    for (size_t i = 0; i < d->n; i++) {
        double y = d->y[i];
        if (m->kind == TRL_METRIC_CLASSIFICATION && y != 0.0 && y != 1.0)
            return trl_error_set(err, TRL_EINVAL, "%s needs labels 0/1 (or "
                                 "bool); row %zu has %g", m->name, i + 1, y);
        if (m->kind == TRL_METRIC_RANKING && !(y >= 0.0))
            return trl_error_set(err, TRL_EINVAL, "%s needs relevance >= 0; "
                                 "row %zu has %g", m->name, i + 1, y);
        if ((m->id == TRL_METRIC_BRIER || m->id == TRL_METRIC_ECE) &&
            !(d->s[i] >= 0.0 && d->s[i] <= 1.0))
            return trl_error_set(err, TRL_EINVAL, "%s needs probabilities "
                                 "in [0, 1]; row %zu has %g (a margin?)",
                                 m->name, i + 1, d->s[i]);
        if (d->w && !(d->w[i] >= 0.0))
            return trl_error_set(err, TRL_EINVAL, "weights must be >= 0; row "
                                 "%zu has %g", i + 1, d->w[i]);
    }
    return 0;
}

/* The rows in score-descending order, ties in row order (the radix sort
 * is stable): qsort with a comparison callback was most of auc's time at
 * 10M rows. A new array of n row numbers, or NULL when out of memory or
 * past 2^31 rows. */
static size_t *sort_by_score(const double *s, size_t n)
{
    if (n > INT32_MAX)
        return NULL;
    uint64_t *key = malloc((n ? n : 1) * sizeof *key);
    int32_t *row = malloc((n ? n : 1) * sizeof *row);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    int ok = key && row && order;
    for (size_t i = 0; ok && i < n; i++) {
        key[i] = trl__desc_key(s[i]);
        row[i] = (int32_t)i;
    }
    ok = ok && trl__radix_sort(key, row, n) == 0;
    for (size_t i = 0; ok && i < n; i++)
        order[i] = (size_t)row[i];
    free(key);
    free(row);
    if (!ok) {
        free(order);
        return NULL;
    }
    return order;
}

static double group_value(const trl_metric *m, const keyed *rows, size_t n,
                          const double *y);
static double row_loss(trl_metric_id id, double y, double s);
static int is_mean_loss(trl_metric_id id);

trl_metric_prep *trl_metric_prepare(const trl_metric *m,
                                    const trl_metric_data *d,
                                    trl_error *err)
{
    if (d->n == 0) {
        trl_error_set(err, TRL_EINVAL, "%s: no rows with both a label and a "
                      "score", m->name);
        return NULL;
    }
    if (m->kind == TRL_METRIC_RANKING && !d->group) {
        trl_error_set(err, TRL_EINVAL, "%s is a ranking metric: give the "
                      "column that groups rows into queries or users",
                      m->name);
        return NULL;
    }
    if (m->kind == TRL_METRIC_RANKING && d->w) {
        trl_error_set(err, TRL_EINVAL, "%s: ranking metrics take no sample "
                      "weights", m->name);
        return NULL;
    }
    if (check_labels(m, d, err) != 0)
        return NULL;
    /* only the rank metrics need score order; the rest keep row order,
     * so a resample's counts are read in sequence and no sort records
     * are made */
    int ranked = m->id == TRL_METRIC_AUC || m->id == TRL_METRIC_PR_AUC;
    int sorts = m->kind == TRL_METRIC_RANKING;
    trl_metric_prep *p = calloc(1, sizeof *p);
    keyed *k = sorts ? malloc(d->n * sizeof *k) : NULL;
    if (!p || (sorts && !k))
        goto oom;
    p->m = *m;
    p->n = d->n;
    for (size_t i = 0; k && i < d->n; i++)
        k[i] = (keyed){d->group ? d->group[i] : 0, d->s[i], i};
    if (m->kind == TRL_METRIC_RANKING) {
        qsort(k, d->n, sizeof *k, by_group_score);
        size_t ng = 0;
        for (size_t i = 0; i < d->n; i++)
            ng += i == 0 || k[i].group != k[i - 1].group;
        if (!(p->per_group = malloc(ng * sizeof *p->per_group)))
            goto oom;
        size_t g = 0;
        for (size_t a = 0, b; a < d->n; a = b) {
            for (b = a + 1; b < d->n && k[b].group == k[a].group; b++)
                ;
            /* a query of one row has no order to judge: scikit-learn
             * refuses it, and one such user must not void a comparison
             * of thousands, so it is left out like an empty recall@k */
            p->per_group[g++] = m->id == TRL_METRIC_NDCG && b - a < 2
                                    ? NAN
                                    : group_value(m, k + a, b - a, d->y);
        }
        p->ngroups = ng;
        free(k);
        return p;
    }
    p->y = malloc(d->n * sizeof *p->y);
    p->s = malloc(d->n * sizeof *p->s);
    p->w = malloc(d->n * sizeof *p->w);
    if (!p->y || !p->s || !p->w ||
        (ranked && !(p->perm = sort_by_score(d->s, d->n))))
        goto oom;
    for (size_t i = 0; i < d->n; i++) {
        size_t r = p->perm ? p->perm[i] : i;
        p->y[i] = d->y[r];
        p->s[i] = d->s[r];
        p->w[i] = d->w ? d->w[r] : 1.0;
    }
    if (is_mean_loss(m->id)) {
        if (!(p->loss = malloc(d->n * sizeof *p->loss)))
            goto oom;
        for (size_t i = 0; i < d->n; i++)
            p->loss[i] = row_loss(m->id, p->y[i], p->s[i]);
    }
    p->unweighted = 1;
    for (size_t i = 0; d->w && i < d->n; i++)
        p->unweighted &= d->w[i] == 1.0;
    if (ranked && p->unweighted && d->n <= UINT32_MAX) {
        p->y8 = malloc(d->n);
        p->tie = malloc(d->n);
        p->perm32 = malloc(d->n * sizeof *p->perm32);
        if (!p->y8 || !p->tie || !p->perm32)
            goto oom;
        for (size_t i = 0; i < d->n; i++) {
            p->y8[i] = p->y[i] == 1.0;
            p->tie[i] = i + 1 < d->n && p->s[i + 1] == p->s[i];
            p->perm32[i] = (uint32_t)p->perm[i];
        }
    }
    free(k);
    return p;

oom:
    trl_error_set(err, TRL_ENOMEM, "out of memory");
    free(k);
    trl_metric_prep_free(p);
    return NULL;
}

size_t trl_metric_units(const trl_metric_prep *p)
{
    return p->m.kind == TRL_METRIC_RANKING ? p->ngroups : p->n;
}

/* ---- ranking: one value per group --------------------------------------------------- */

/* NDCG as scikit-learn's ndcg_score: linear gain, log2 discount cut at k,
 * tied scores sharing their block's mean gain; the ideal ranking ignores
 * ties. An all-zero group scores 0. rows: score-descending. */
static double ndcg(const keyed *rows, size_t n, const double *y, int k)
{
    size_t cut = k > 0 && (size_t)k < n ? (size_t)k : n;
    double dcg = 0;
    for (size_t a = 0, b; a < n && a < cut; a = b) {
        double gain = 0, disc = 0;
        for (b = a; b < n && rows[b].s == rows[a].s; b++) {
            gain += y[rows[b].row];
            if (b < cut)
                disc += 1.0 / log2((double)b + 2.0);
        }
        dcg += gain / (double)(b - a) * disc;
    }
    double *ideal = malloc(n * sizeof *ideal);
    if (!ideal)
        return NAN;
    for (size_t i = 0; i < n; i++)
        ideal[i] = -y[rows[i].row];
    qsort(ideal, n, sizeof *ideal, trl__cmp_double);
    double idcg = 0;
    for (size_t i = 0; i < cut; i++)
        idcg -= ideal[i] / log2((double)i + 2.0);
    free(ideal);
    return idcg > 0 ? dcg / idcg : 0.0;
}

static double group_value(const trl_metric *m, const keyed *rows, size_t n,
                          const double *y)
{
    if (m->id == TRL_METRIC_NDCG)
        return ndcg(rows, n, y, m->k);
    size_t k = m->k > 0 ? (size_t)m->k : n;
    size_t relevant = 0, hits = 0, first = 0;
    double ap = 0;
    for (size_t i = 0; i < n; i++) {
        int rel = y[rows[i].row] > 0;
        relevant += rel;
        if (rel && !first)
            first = i + 1;
        if (rel && i < k) {
            hits++;
            ap += (double)hits / (double)(i + 1);
        }
    }
    switch (m->id) {
    case TRL_METRIC_PRECISION_AT:
        return (double)hits / (double)k;
    case TRL_METRIC_RECALL_AT:
        return relevant ? (double)hits / (double)relevant : NAN;
    case TRL_METRIC_MAP_AT:
        return relevant ? ap / (double)(relevant < k ? relevant : k) : NAN;
    case TRL_METRIC_MRR:
        return first ? 1.0 / (double)first : 0.0;
    case TRL_METRIC_HIT_RATE:
        return hits > 0;
    default:
        return NAN;
    }
}

/* ---- classification and regression under a weighting ------------------------------- */

typedef struct wsum {
    double w, wy, ws;  /* total weight, of labels, of scores */
} wsum;

/* The weight of sorted row i: its sample weight times its row's count. */
static inline double weight(const trl_metric_prep *p, const uint8_t *c,
                            size_t i)
{
    return c ? p->w[i] * (double)c[p->perm ? p->perm[i] : i] : p->w[i];
}

/* Mann-Whitney over blocks of tied scores: a tie counts 1/2. */
/* auc under bootstrap counts with unit weights: whole numbers until the
 * area, summed once per block of tied scores. */
static double auc_counts(const trl_metric_prep *p, const uint8_t *c)
{
    uint64_t tp = 0, fp = 0, btp = 0, bfp = 0;
    double area = 0;
    for (size_t i = 0; i < p->n; i++) {
        uint64_t cnt = c[p->perm32[i]], y = p->y8[i];
        btp += cnt * y;
        bfp += cnt * (1 - y);
        if (!p->tie[i]) {
            area += (double)bfp * ((double)tp + (double)btp / 2.0);
            tp += btp;
            fp += bfp;
            btp = bfp = 0;
        }
    }
    return tp > 0 && fp > 0 ? area / ((double)tp * (double)fp) : NAN;
}

static double auc(const trl_metric_prep *p, const uint8_t *c)
{
    if (c && p->y8)
        return auc_counts(p, c);
    double tp = 0, fp = 0, area = 0;
    for (size_t a = 0, b; a < p->n; a = b) {
        double btp = 0, bfp = 0;
        for (b = a; b < p->n && p->s[b] == p->s[a]; b++) {
            double w = weight(p, c, b);
            btp += w * p->y[b];
            bfp += w * (1.0 - p->y[b]);
        }
        area += bfp * (tp + btp / 2.0);
        tp += btp;
        fp += bfp;
    }
    return tp > 0 && fp > 0 ? area / (tp * fp) : NAN;
}

/* average_precision under bootstrap counts with unit weights. */
static double ap_counts(const trl_metric_prep *p, const uint8_t *c)
{
    uint64_t pos = 0, tp = 0, fp = 0, btp = 0;
    for (size_t i = 0; i < p->n; i++)
        pos += (uint64_t)c[p->perm32[i]] * p->y8[i];
    if (pos == 0)
        return 0.0;
    double ap = 0;
    for (size_t i = 0; i < p->n; i++) {
        uint64_t cnt = c[p->perm32[i]], y = p->y8[i];
        btp += cnt * y;
        fp += cnt * (1 - y);
        if (!p->tie[i]) {
            tp += btp;
            if (btp)
                ap += (double)btp / (double)pos *
                      ((double)tp / (double)(tp + fp));
            btp = 0;
        }
    }
    return ap;
}

/* Average precision: sum over thresholds of (R_n - R_n-1) * P_n. */
static double average_precision(const trl_metric_prep *p, const uint8_t *c)
{
    if (c && p->y8)
        return ap_counts(p, c);
    double tp = 0, fp = 0, ap = 0, pos = 0;
    for (size_t i = 0; i < p->n; i++)
        pos += weight(p, c, i) * p->y[i];
    if (!(pos > 0))
        return 0.0;  /* scikit-learn warns and returns 0 */
    for (size_t a = 0, b; a < p->n; a = b) {
        double btp = 0;
        for (b = a; b < p->n && p->s[b] == p->s[a]; b++) {
            double w = weight(p, c, b);
            btp += w * p->y[b];
            fp += w * (1.0 - p->y[b]);
        }
        tp += btp;
        if (btp > 0)
            ap += btp / pos * (tp / (tp + fp));
    }
    return ap;
}

/* accuracy, precision, recall, f1 from the weighted confusion matrix. */
static double confusion(const trl_metric_prep *p, const uint8_t *c)
{
    double tp = 0, fp = 0, fn = 0, tn = 0;
    for (size_t i = 0; i < p->n; i++) {
        double w = weight(p, c, i);
        int pred = p->s[i] >= p->m.threshold, y = p->y[i] == 1.0;
        tp += w * (pred && y);
        fp += w * (pred && !y);
        fn += w * (!pred && y);
        tn += w * (!pred && !y);
    }
    switch (p->m.id) {
    case TRL_METRIC_ACCURACY:
        return tp + fp + fn + tn > 0 ? (tp + tn) / (tp + fp + fn + tn) : NAN;
    case TRL_METRIC_PRECISION:
        return tp + fp > 0 ? tp / (tp + fp) : 0.0;  /* zero_division=0 */
    case TRL_METRIC_RECALL:
        return tp + fn > 0 ? tp / (tp + fn) : 0.0;
    default:
        return 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : 0.0;
    }
}

/* Expected calibration error over equal-width bins on [0, 1]. */
static double ece(const trl_metric_prep *p, const uint8_t *c)
{
    int nb = p->m.bins > 0 ? p->m.bins : 10;
    wsum *bins = calloc((size_t)nb, sizeof *bins);
    if (!bins)
        return NAN;
    double total = 0;
    for (size_t i = 0; i < p->n; i++) {
        double w = weight(p, c, i);
        int b = (int)floor(p->s[i] * nb);
        b = b < 0 ? 0 : b >= nb ? nb - 1 : b;
        bins[b].w += w;
        bins[b].wy += w * p->y[i];
        bins[b].ws += w * p->s[i];
        total += w;
    }
    double e = 0;
    for (int b = 0; b < nb; b++)
        if (bins[b].w > 0)
            e += bins[b].w / total *
                 fabs(bins[b].wy / bins[b].w - bins[b].ws / bins[b].w);
    free(bins);
    return total > 0 ? e : NAN;
}

/* The loss of one row under a mean-loss metric. */
static double row_loss(trl_metric_id id, double y, double s)
{
    switch (id) {
    case TRL_METRIC_LOGLOSS: {
        double q = fmin(fmax(s, EPS64), 1.0 - EPS64);
        return -(y * log(q) + (1.0 - y) * log1p(-q));
    }
    case TRL_METRIC_BRIER:
    case TRL_METRIC_RMSE:
        return (y - s) * (y - s);
    case TRL_METRIC_MAE:
        return fabs(y - s);
    default: /* mape */
        return fabs(y - s) / fmax(fabs(y), EPS64);
    }
}

static int is_mean_loss(trl_metric_id id)
{
    return id == TRL_METRIC_LOGLOSS || id == TRL_METRIC_BRIER ||
           id == TRL_METRIC_RMSE || id == TRL_METRIC_MAE ||
           id == TRL_METRIC_MAPE;
}

/* The weighted mean of the rows' losses (its root for rmse): one
 * multiply-add per row, as every bootstrap resample pays it. */
static double mean_loss(const trl_metric_prep *p, const uint8_t *c)
{
    if (c && p->unweighted) {
        double sum = 0;
        uint64_t total = 0;
        for (size_t i = 0; i < p->n; i++) {
            sum += c[i] * p->loss[i];
            total += c[i];
        }
        if (total == 0)
            return NAN;
        double mean = sum / (double)total;
        return p->m.id == TRL_METRIC_RMSE ? sqrt(mean) : mean;
    }
    double sum = 0, total = 0;
    for (size_t i = 0; i < p->n; i++) {
        double w = weight(p, c, i);
        sum += w * p->loss[i];
        total += w;
    }
    if (!(total > 0))
        return NAN;
    return p->m.id == TRL_METRIC_RMSE ? sqrt(sum / total) : sum / total;
}

/* r2 as scikit-learn with force_finite: a constant target scores 1 when
 * predicted exactly, else 0. */
static double r2(const trl_metric_prep *p, const uint8_t *c)
{
    double total = 0, wy = 0, res = 0, tot = 0;
    for (size_t i = 0; i < p->n; i++) {
        double w = weight(p, c, i);
        total += w;
        wy += w * p->y[i];
    }
    if (!(total > 0))
        return NAN;
    double mean = wy / total;
    for (size_t i = 0; i < p->n; i++) {
        double w = weight(p, c, i), d = p->y[i] - p->s[i];
        res += w * d * d;
        tot += w * (p->y[i] - mean) * (p->y[i] - mean);
    }
    if (tot == 0)
        return res == 0 ? 1.0 : 0.0;
    return 1.0 - res / tot;
}

double trl_metric_eval(const trl_metric_prep *p, const uint8_t *counts)
{
    if (p->m.kind == TRL_METRIC_RANKING) {
        double sum = 0, n = 0;
        for (size_t g = 0; g < p->ngroups; g++) {
            double v = p->per_group[g];
            double cnt = counts ? (double)counts[g] : 1.0;
            if (isnan(v) || cnt == 0)
                continue;
            sum += cnt * v;
            n += cnt;
        }
        return n > 0 ? sum / n : NAN;
    }
    switch (p->m.id) {
    case TRL_METRIC_AUC:
        return auc(p, counts);
    case TRL_METRIC_PR_AUC:
        return average_precision(p, counts);
    case TRL_METRIC_ACCURACY:
    case TRL_METRIC_PRECISION:
    case TRL_METRIC_RECALL:
    case TRL_METRIC_F1:
        return confusion(p, counts);
    case TRL_METRIC_ECE:
        return ece(p, counts);
    case TRL_METRIC_R2:
        return r2(p, counts);
    default:
        return mean_loss(p, counts);
    }
}

int trl_metric_compute(const trl_metric *m, const trl_metric_data *d,
                       double *out, trl_error *err)
{
    if (m->id == TRL_METRIC_R2 && d->n < 2)
        return trl_error_set(err, TRL_EINVAL, "r2 needs at least 2 rows");
    if (m->kind == TRL_METRIC_REGRESSION && d->w) {
        double total = 0;
        for (size_t i = 0; i < d->n; i++)
            total += d->w[i];
        if (d->n && total == 0)
            return trl_error_set(err, TRL_EINVAL, "%s: the weights sum to "
                                 "zero", m->name);
    }
    double v;
    int rc;
    if (is_mean_loss(m->id) && d->n > 0) {
        /* one pass, nothing prepared: what a single value needs */
        if (check_labels(m, d, err) != 0)
            return err ? err->code : TRL_EINVAL;
        double sum = 0, total = 0;
        for (size_t i = 0; i < d->n; i++) {
            double w = d->w ? d->w[i] : 1.0;
            sum += w * row_loss(m->id, d->y[i], d->s[i]);
            total += w;
        }
        v = !(total > 0) ? NAN
            : m->id == TRL_METRIC_RMSE ? sqrt(sum / total) : sum / total;
    } else if (d->n > 0 && (rc = trl__rank_metric_fast(m, d, &v)) <= 0) {
        if (rc < 0)
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
    } else {
        trl_metric_prep *p = trl_metric_prepare(m, d, err);
        if (!p)
            return err ? err->code : TRL_EINVAL;
        v = trl_metric_eval(p, NULL);
        trl_metric_prep_free(p);
    }
    if (isnan(v)) {
        if (m->id == TRL_METRIC_AUC)
            return trl_error_set(err, TRL_EINVAL, "auc is undefined: only "
                                 "one class is present in the labels");
        if (m->id == TRL_METRIC_NDCG)
            return trl_error_set(err, TRL_EINVAL, "%s is undefined: every "
                                 "group has a single row (NDCG needs at "
                                 "least 2 per group)", m->name);
        if (m->id == TRL_METRIC_RECALL_AT || m->id == TRL_METRIC_MAP_AT)
            return trl_error_set(err, TRL_EINVAL, "%s is undefined: no "
                                 "relevant rows in any group", m->name);
        return trl_error_set(err, TRL_EINVAL, "%s is undefined on these "
                             "rows: the weights sum to zero", m->name);
    }
    *out = v;
    return 0;
}
