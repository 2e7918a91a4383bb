/* drift_stats.c - one feature's drift from a reference column to a new
 * one: PSI over REF's deciles and the two-sample Kolmogorov-Smirnov test
 * for numbers, PSI and the Jensen-Shannon distance over category shares
 * for strings and booleans, and the histograms %drift draws. A numeric
 * column is sorted once (radix sort); everything else is a pass over it
 * or a binary search in it. The definitions are guard.h's; the NumPy /
 * SciPy expressions they match are in tests/unit/registry/fixtures/drift/
 * gen_drift.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "registry/guard_int.h"

/* ---- shared helpers --------------------------------------------------------- */

int trl__drift_kind(trl_dtype ref, trl_dtype new_type)
{
    int num_ref = ref == TRL_F64 || ref == TRL_I64;
    int num_new = new_type == TRL_F64 || new_type == TRL_I64;
    if (num_ref && num_new)
        return TRL_DRIFT_NUMERIC;
    if (ref == new_type)
        return TRL_DRIFT_CATEGORICAL;  /* str and str, bool and bool */
    return -1;
}

void trl__sortbuf_free(trl__sortbuf *b)
{
    free(b->keys);
    free(b->tmp);
    memset(b, 0, sizeof *b);
}

double *trl__sorted_values(const trl_column *c, trl__sortbuf *b, size_t *n,
                           size_t *missing)
{
    if (b->cap < c->len || !b->keys) {
        size_t cap = c->len ? c->len : 1;
        uint64_t *k = realloc(b->keys, cap * sizeof *k);
        if (k)
            b->keys = k;
        uint64_t *t = realloc(b->tmp, cap * sizeof *t);
        if (t)
            b->tmp = t;
        if (!k || !t)
            return NULL;
        b->cap = cap;
    }
    uint64_t *k = b->keys;
    size_t m = 0;
    switch (c->type) {
    case TRL_F64:
        for (size_t i = 0; i < c->len; i++)
            if (!isnan(c->v.f64[i]))
                k[m++] = trl__asc_key(c->v.f64[i]);
        break;
    case TRL_I64:
        for (size_t i = 0; i < c->len; i++)
            if (!c->valid || c->valid[i])
                k[m++] = trl__asc_key((double)c->v.i64[i]);
        break;
    case TRL_BOOL:
        for (size_t i = 0; i < c->len; i++)
            if (c->v.b[i] != TRL_BOOL_MISSING)
                k[m++] = trl__asc_key(c->v.b[i]);
        break;
    default:
        break;
    }
    if (trl__radix_sort_keys_into(k, b->tmp, m) != 0)
        return NULL;
    double *v = (double *)k;  /* the same size: converted in place */
    for (size_t i = 0; i < m; i++)
        v[i] = trl__asc_value(k[i]);
    *n = m;
    *missing = c->len - m;
    return v;
}

double trl__np_quantile(const double *v, size_t n, double q)
{
    /* NumPy 1.24 "linear": virtual index (n - 1) q; past the last index
     * both neighbours are the last value; _lerp takes b - (b - a)(1 - t)
     * from t = 0.5 on, so the result is exact at both ends */
    double h = (double)(n - 1) * q;
    if (h >= (double)(n - 1))
        return v[n - 1];
    double fl = floor(h), t = h - fl;
    size_t k = (size_t)fl;
    double a = v[k], b = v[k + 1];
    if (a == b)
        return a;  /* ties (and NumPy's inf - inf = NaN is not wanted) */
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/* The first index of sorted v[0..n-1] whose value is >= x. */
static size_t lower(const double *v, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* sum over bins of (a - e) ln(a / e), shares raised to the epsilon. */
static double psi_of(const size_t *ref, size_t ref_rows, const size_t *cur,
                     size_t new_rows, size_t nbins)
{
    double psi = 0;
    for (size_t b = 0; b < nbins; b++) {
        double e = fmax((double)ref[b] / (double)ref_rows, TRL_PSI_EPSILON);
        double a = fmax((double)cur[b] / (double)new_rows, TRL_PSI_EPSILON);
        psi += (a - e) * log(a / e);
    }
    return psi;
}

/* scipy.spatial.distance.jensenshannon(ref, cur, base=2) of two count
 * vectors: each normalised, m their mean, sqrt of half the summed
 * relative entropies (in bits). */
static double js_of(const size_t *ref, size_t ref_rows, const size_t *cur,
                    size_t new_rows, size_t nbins)
{
    double left = 0, right = 0;
    for (size_t b = 0; b < nbins; b++) {
        double p = (double)ref[b] / (double)ref_rows;
        double q = (double)cur[b] / (double)new_rows, m = (p + q) / 2.0;
        if (p > 0)
            left += p * log(p / m);
        if (q > 0)
            right += q * log(q / m);
    }
    double js = (left + right) / log(2.0);
    return js > 0 ? sqrt(js / 2.0) : 0;  /* -0 or rounding below 0 */
}

/* ---- numeric -------------------------------------------------------------------- */

/* PSI bins of sorted ref (n1 values) and cur (n2): counts per bin, then
 * the missing bin. *nbins receives how many. */
static void decile_counts(const double *ref, size_t n1, const double *cur,
                          size_t n2, size_t *cref, size_t *ccur,
                          size_t *nbins)
{
    double cuts[TRL_PSI_DECILES - 1];
    size_t ncuts = 0;
    for (int i = 1; n1 && i < TRL_PSI_DECILES; i++) {
        double c = trl__np_quantile(ref, n1, (double)i * 0.1);
        /* np.unique: sorted, each once (rounding may unsort by an ulp) */
        size_t at = ncuts;
        while (at > 0 && cuts[at - 1] > c)
            at--;
        if (at > 0 && cuts[at - 1] == c)
            continue;
        memmove(cuts + at + 1, cuts + at, (ncuts - at) * sizeof *cuts);
        cuts[at] = c;
        ncuts++;
    }
    /* bin b holds the values with b cuts <= them (searchsorted
     * side='right'): it ends where values reach cut b */
    size_t prev1 = 0, prev2 = 0;
    for (size_t b = 0; b <= ncuts; b++) {
        size_t end1 = b < ncuts ? lower(ref, n1, cuts[b]) : n1;
        size_t end2 = b < ncuts ? lower(cur, n2, cuts[b]) : n2;
        cref[b] = end1 - prev1;
        ccur[b] = end2 - prev2;
        prev1 = end1;
        prev2 = end2;
    }
    *nbins = ncuts + 1;
}

/* Equal-width bars from the 0.5th to the 99.5th percentile of both
 * sides; the first and last bars take the tails. */
static void numeric_hist(const double *ref, size_t n1, const double *cur,
                         size_t n2, trl__drift_detail *d)
{
    double lo = INFINITY, hi = -INFINITY;
    if (n1) {
        lo = trl__np_quantile(ref, n1, 0.005);
        hi = trl__np_quantile(ref, n1, 0.995);
    }
    if (n2) {
        lo = fmin(lo, trl__np_quantile(cur, n2, 0.005));
        hi = fmax(hi, trl__np_quantile(cur, n2, 0.995));
    }
    if (!isfinite(lo) || !isfinite(hi)) {
        d->nhist = 0;  /* no values, or infinite ones: nothing to draw */
        return;
    }
    int bars = lo < hi ? TRL__HIST_BINS : 1;
    double width = (hi - lo) / bars;
    for (int k = 0; k <= bars; k++)
        d->edges[k] = k == bars ? hi : lo + width * k;
    size_t p1 = 0, p2 = 0;
    for (int k = 0; k < bars; k++) {
        size_t e1 = k + 1 < bars ? lower(ref, n1, d->edges[k + 1]) : n1;
        size_t e2 = k + 1 < bars ? lower(cur, n2, d->edges[k + 1]) : n2;
        d->ref_share[k] = n1 ? (double)(e1 - p1) / (double)n1 : 0;
        d->new_share[k] = n2 ? (double)(e2 - p2) / (double)n2 : 0;
        p1 = e1;
        p2 = e2;
    }
    d->nhist = bars;
}

static int numeric(const trl_column *rc, const trl_column *nc,
                   trl__drift_detail *d, trl__sortbuf bufs[2],
                   trl__stop *stop, trl_error *err)
{
    size_t n1 = 0, n2 = 0, m1 = 0, m2 = 0;
    double *ref = trl__sorted_values(rc, &bufs[0], &n1, &m1);
    double *cur = ref && !trl__stopped(stop)
                      ? trl__sorted_values(nc, &bufs[1], &n2, &m2) : NULL;
    if (!ref || !cur)
        return ref && trl__stopped(stop)
                   ? trl__registry_interrupt_error(err)
                   : trl_error_set(err, TRL_ENOMEM, "out of memory");
    trl_drift_stats *s = &d->s;
    s->ref_missing = m1;
    s->new_missing = m2;
    if (n1 && n2) {
        s->ks = trl__ks_statistic(ref, n1, cur, n2);
        s->ks_p = trl__ks_pvalue(&s->ks, n1, n2, &s->ks_exact);
        if (isnan(s->ks_p))
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    size_t cref[TRL_PSI_DECILES + 1], ccur[TRL_PSI_DECILES + 1], nb;
    decile_counts(ref, n1, cur, n2, cref, ccur, &nb);
    cref[nb] = m1;  /* the missing bin */
    ccur[nb] = m2;
    s->bins = nb + 1;
    s->psi = psi_of(cref, rc->len, ccur, nc->len, s->bins);
    numeric_hist(ref, n1, cur, n2, d);
    return 0;
}

/* ---- categorical ------------------------------------------------------------------ */

/* Counts per category: indices below nref are REF's codes (for bool,
 * false and true), the rest NEW-only strings; labels name them all. */
typedef struct cats {
    size_t *ref, *cur;      /* counts, ncat entries */
    const char **label;     /* borrowed */
    size_t ncat;
} cats;

static int count_str(const trl_column *rc, const trl_column *nc, cats *c)
{
    const trl_strdict *d1 = rc->dict, *d2 = nc->dict;
    size_t nd1 = d1 ? d1->n : 0, nd2 = d2 ? d2->n : 0;
    size_t *raw2 = calloc(nd2 ? nd2 : 1, sizeof *raw2);
    c->ref = calloc(nd1 + nd2 + 1, sizeof *c->ref);
    c->cur = calloc(nd1 + nd2 + 1, sizeof *c->cur);
    c->label = calloc(nd1 + nd2 + 1, sizeof *c->label);
    if (!raw2 || !c->ref || !c->cur || !c->label) {
        free(raw2);
        return TRL_ENOMEM;
    }
    for (size_t i = 0; i < rc->len; i++)
        if (rc->v.codes[i] >= 0)
            c->ref[rc->v.codes[i]]++;
    for (size_t i = 0; i < nc->len; i++)
        if (nc->v.codes[i] >= 0)
            raw2[nc->v.codes[i]]++;
    for (size_t k = 0; k < nd1; k++)
        c->label[k] = d1->strs[k];
    c->ncat = nd1;
    /* NEW's strings by content: REF's code, or a new category */
    for (size_t k = 0; k < nd2; k++) {
        if (!raw2[k])
            continue;
        int32_t at = d1 == d2 ? (int32_t)k
                     : d1 ? trl_strdict_find(d1, d2->strs[k], d2->lens[k])
                          : -1;
        if (at < 0) {
            at = (int32_t)c->ncat++;
            c->label[at] = d2->strs[k];
        }
        c->cur[at] += raw2[k];
    }
    free(raw2);
    return 0;
}

static int count_bool(const trl_column *rc, const trl_column *nc, cats *c)
{
    static const char *const names[] = {"false", "true"};
    c->ref = calloc(3, sizeof *c->ref);
    c->cur = calloc(3, sizeof *c->cur);
    c->label = calloc(3, sizeof *c->label);
    if (!c->ref || !c->cur || !c->label)
        return TRL_ENOMEM;
    for (size_t i = 0; i < rc->len; i++)
        if (rc->v.b[i] <= 1)
            c->ref[rc->v.b[i]]++;
    for (size_t i = 0; i < nc->len; i++)
        if (nc->v.b[i] <= 1)
            c->cur[nc->v.b[i]]++;
    c->label[0] = names[0];
    c->label[1] = names[1];
    c->ncat = 2;
    return 0;
}

/* A category and its rows on both sides, to order the histogram's bars
 * (most rows first, then REF's order). */
typedef struct ranked_cat {
    size_t rows, k;
} ranked_cat;

static int by_rows_desc(const void *a, const void *b)
{
    const ranked_cat *x = a, *y = b;
    if (x->rows != y->rows)
        return (x->rows < y->rows) - (x->rows > y->rows);
    return (x->k > y->k) - (x->k < y->k);
}

static int categorical(const trl_column *rc, const trl_column *nc,
                       trl__drift_detail *d, trl_error *err)
{
    cats c = {0};
    size_t *bins1 = NULL, *bins2 = NULL;
    ranked_cat *order = NULL;
    int rc_ = rc->type == TRL_STR ? count_str(rc, nc, &c)
                                  : count_bool(rc, nc, &c);
    if (rc_ == 0) {
        bins1 = malloc((c.ncat + 1) * sizeof *bins1);
        bins2 = malloc((c.ncat + 1) * sizeof *bins2);
        order = malloc((c.ncat + 1) * sizeof *order);
        if (!bins1 || !bins2 || !order)
            rc_ = TRL_ENOMEM;
    }
    if (rc_) {
        rc_ = trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto done;
    }
    trl_drift_stats *s = &d->s;
    size_t used = 0, present1 = 0, present2 = 0;
    for (size_t k = 0; k < c.ncat; k++) {
        present1 += c.ref[k];
        present2 += c.cur[k];
        if (c.ref[k] || c.cur[k]) {
            bins1[used] = c.ref[k];
            bins2[used] = c.cur[k];
            order[used++] = (ranked_cat){c.ref[k] + c.cur[k], k};
        }
    }
    s->ref_missing = rc->len - present1;
    s->new_missing = nc->len - present2;
    bins1[used] = s->ref_missing;
    bins2[used] = s->new_missing;
    s->bins = used + 1;
    s->psi = psi_of(bins1, rc->len, bins2, nc->len, s->bins);
    s->js = js_of(bins1, rc->len, bins2, nc->len, s->bins);
    qsort(order, used, sizeof *order, by_rows_desc);
    /* the bars: the most common categories, the rest, the missing */
    int bars = 0;
    double other1 = 0, other2 = 0;
    for (size_t i = 0; i < used; i++) {
        size_t k = order[i].k;
        double a = (double)c.ref[k] / (double)rc->len;
        double b = (double)c.cur[k] / (double)nc->len;
        if (bars < TRL__HIST_CATS) {
            d->labels[bars] = c.label[k];
            d->ref_share[bars] = a;
            d->new_share[bars++] = b;
        } else {
            other1 += a;
            other2 += b;
        }
        if (c.ref[k] == 0) {
            if (d->nunseen < TRL__UNSEEN_MAX)
                d->unseen[d->nunseen] = c.label[k];
            d->nunseen++;
            d->unseen_share += b;
        }
    }
    if (used > TRL__HIST_CATS) {
        d->labels[bars] = "(other)";
        d->ref_share[bars] = other1;
        d->new_share[bars++] = other2;
    }
    if (s->ref_missing || s->new_missing) {
        d->labels[bars] = "(missing)";
        d->ref_share[bars] = (double)s->ref_missing / (double)rc->len;
        d->new_share[bars++] = (double)s->new_missing / (double)nc->len;
    }
    d->nhist = bars;
done:
    free(c.ref);
    free(c.cur);
    free(c.label);
    free(bins1);
    free(bins2);
    free(order);
    return rc_;
}

/* ---- one feature ------------------------------------------------------------------- */

int trl__drift_detail_of(const trl_column *ref, const trl_column *new_col,
                         trl__drift_detail *out, trl__sortbuf bufs[2],
                         trl__stop *stop, trl_error *err)
{
    memset(out, 0, sizeof *out);
    trl_drift_stats *s = &out->s;
    s->ref_rows = ref->len;
    s->new_rows = new_col->len;
    s->psi = s->ks = s->ks_p = s->js = NAN;
    int kind = trl__drift_kind(ref->type, new_col->type);
    if (kind < 0)
        return trl_error_set(err, TRL_EINVAL, "drift compares like with "
                             "like: %s in the reference, %s in the new "
                             "frame", trl_dtype_name(ref->type),
                             trl_dtype_name(new_col->type));
    if (ref->len == 0 || new_col->len == 0)
        return trl_error_set(err, TRL_EINVAL, "drift needs rows on both "
                             "sides (the reference has %zu, the new frame "
                             "%zu)", ref->len, new_col->len);
    s->kind = (trl_drift_kind)kind;
    if (trl__stopped(stop))
        return trl__registry_interrupt_error(err);
    return kind == TRL_DRIFT_NUMERIC
               ? numeric(ref, new_col, out, bufs, stop, err)
               : categorical(ref, new_col, out, err);
}

int trl_drift_column(const trl_column *ref, const trl_column *new_col,
                     trl_drift_stats *out, trl_error *err)
{
    atomic_int flag = 0;
    trl__stop stop = {&flag, 1};
    trl__sortbuf bufs[2] = {{0}, {0}};
    trl__drift_detail *d = malloc(sizeof *d);
    if (!d)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    int rc = trl__drift_detail_of(ref, new_col, d, bufs, &stop, err);
    if (rc == 0)
        *out = d->s;
    free(d);
    trl__sortbuf_free(&bufs[0]);
    trl__sortbuf_free(&bufs[1]);
    return rc;
}
