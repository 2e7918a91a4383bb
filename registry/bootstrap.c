/* bootstrap.c - paired comparisons of models on one set of rows: each
 * resample is a vector of Poisson(1) counts (the large-sample form of
 * drawing rows with replacement) shared by every model, so a difference is
 * measured on the same resampled rows; resamples run on every CPU, each
 * seeded from (seed, index) so the answer does not depend on the split. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trellis/metrics.h"
#include "registry/registry_int.h"

#define MAX_THREADS 8

/* P(Poisson(1) <= k) * 2^32, k = 0..8; past that the count is 9. */
static const uint64_t poisson_cdf[] = {
    1580030168ull, 3160060337ull, 3950075421ull, 4213413783ull,
    4279248373ull, 4292415291ull, 4294609777ull, 4294923276ull,
    4294962463ull};

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Count for the top byte of u when the whole byte's range falls in one
 * count (255 = look further): most draws end here. */
static uint8_t fast[256];
static pthread_once_t fast_once = PTHREAD_ONCE_INIT;

static uint8_t poisson1_slow(uint32_t u)
{
    uint8_t k = 0;
    while (k < 9 && u >= poisson_cdf[k])
        k++;
    return k;
}

static void fill_fast(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint8_t lo = poisson1_slow(b << 24), hi = poisson1_slow(
                                                 (b << 24) | 0xffffffu);
        fast[b] = lo == hi ? lo : 255;
    }
}

static inline uint8_t poisson1(uint32_t u)
{
    uint8_t k = fast[u >> 24];
    return k != 255 ? k : poisson1_slow(u);
}

/* Counts for n units, two per 64-bit draw. */
static void draw(uint64_t *state, uint8_t *counts, size_t n)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        uint64_t r = splitmix(state);
        counts[i] = poisson1((uint32_t)r);
        counts[i + 1] = poisson1((uint32_t)(r >> 32));
    }
    if (i < n)
        counts[i] = poisson1((uint32_t)splitmix(state));
}

/* One resample's counts: per row then per group from one state, or, when
 * rows are clustered in groups, per group with every row taking its
 * group's count. */
static void draw_counts(uint64_t *state, const uint32_t *row_group,
                        uint8_t *rc, size_t rows, uint8_t *gc, size_t groups)
{
    if (!row_group && rows)
        draw(state, rc, rows);
    if (groups)
        draw(state, gc, groups);
    for (size_t i = 0; row_group && i < rows; i++)
        rc[i] = gc[row_group[i]];
}

/* Each row's group as an index into the groups in ascending key order
 * (the order ranking metrics keep their groups in), into out; *ngroups
 * receives their number. 0 or TRL_ENOMEM. */
static int index_groups(const int64_t *group, size_t n, uint32_t *out,
                        size_t *ngroups)
{
    uint64_t *key = malloc((n ? n : 1) * sizeof *key);
    int32_t *row = malloc((n ? n : 1) * sizeof *row);
    int rc = key && row && n <= INT32_MAX ? 0 : TRL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        key[i] = (uint64_t)group[i] ^ 0x8000000000000000ull;
        row[i] = (int32_t)i;
    }
    if (rc == 0)
        rc = trl__radix_sort(key, row, n);
    size_t g = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        g += i > 0 && key[i] != key[i - 1];
        out[row[i]] = (uint32_t)g;
    }
    *ngroups = n ? g + 1 : 0;
    free(key);
    free(row);
    return rc;
}

typedef struct job {
    const trl_compare_input *in;
    trl_metric_prep **preps;      /* [metric * nmodels + model] */
    size_t rows, groups;          /* units of each kind */
    const uint32_t *row_group;    /* clustered: each row's group, whose
                                   * count the row takes; else NULL */
    double *values;               /* [resample][metric][model] */
    int first, step;              /* resamples first, first+step, ... */
    int stopped;
    int polls;                    /* on the calling thread: may ask the
                                   * interrupt callback, which is not
                                   * thread-safe */
    atomic_int *stop;             /* set there, read by every share */
} job;

static void *run_resamples(void *arg)
{
    job *j = arg;
    const trl_compare_input *in = j->in;
    size_t cells = in->nmetrics * in->nmodels;
    size_t stride = (in->nmetrics + in->nexternal) * in->nmodels;
    uint8_t *rc = malloc(j->rows ? j->rows : 1);
    uint8_t *gc = malloc(j->groups ? j->groups : 1);
    if (!rc || !gc) {
        free(rc);
        free(gc);
        j->stopped = TRL_ENOMEM;
        return NULL;
    }
    for (int b = j->first; b < in->resamples; b += j->step) {
        if (j->polls && trl__registry_interrupted())
            atomic_store(j->stop, 1);
        if (atomic_load(j->stop)) {
            j->stopped = TRL_EINTR;
            break;
        }
        uint64_t state = in->seed ^ trl__mix64((uint64_t)b + 1);
        draw_counts(&state, j->row_group, rc, j->rows, gc, j->groups);
        for (size_t c = 0; c < cells; c++) {
            const trl_metric *m = &in->metrics[c / in->nmodels];
            j->values[(size_t)b * stride + c] = trl_metric_eval(
                j->preps[c], m->kind == TRL_METRIC_RANKING ? gc : rc);
        }
    }
    free(rc);
    free(gc);
    return NULL;
}

static int cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

/* Linear interpolation between order statistics (NumPy's default) of the
 * finite values among v[0], v[stride], ... (n of them), sorted in place
 * into tmp. */
static double percentile(const double *v, size_t n, size_t stride,
                         double *tmp, double q)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i * stride]))
            tmp[k++] = v[i * stride];
    if (k == 0)
        return NAN;
    qsort(tmp, k, sizeof *tmp, trl__cmp_double);
    double pos = q * (double)(k - 1);
    size_t lo = (size_t)floor(pos);
    size_t hi = lo + 1 < k ? lo + 1 : lo;
    return tmp[lo] + (tmp[hi] - tmp[lo]) * (pos - (double)lo);
}

/* Intervals and p-values from the resampled values. */
static int summarise(const trl_compare_input *in, const double *values,
                     trl_compare_cell *out)
{
    size_t B = (size_t)in->resamples, nm = in->nmodels;
    size_t cells = (in->nmetrics + in->nexternal) * nm;
    double *tmp = malloc(B * sizeof *tmp), *diff = malloc(B * sizeof *diff);
    if (!tmp || !diff) {
        free(tmp);
        free(diff);
        return TRL_ENOMEM;
    }
    for (size_t c = 0; c < cells; c++) {
        trl_compare_cell *o = &out[c];
        size_t base = c - c % nm;
        o->defined = 0;
        for (size_t b = 0; b < B; b++)
            o->defined += isfinite(values[b * cells + c]) != 0;
        o->lo = percentile(values + c, B, cells, tmp, 0.025);
        o->hi = percentile(values + c, B, cells, tmp, 0.975);
        if (c == base) {
            o->delta_lo = o->delta_hi = 0;
            o->p = NAN;
            continue;
        }
        size_t below = 0, above = 0, k = 0;
        for (size_t b = 0; b < B; b++) {
            double d = values[b * cells + c] - values[b * cells + base];
            if (!isfinite(d))
                continue;
            diff[k++] = d;
            below += d <= 0;
            above += d >= 0;
        }
        o->delta_lo = percentile(diff, k, 1, tmp, 0.025);
        o->delta_hi = percentile(diff, k, 1, tmp, 0.975);
        double p = k ? 2.0 * (double)(below < above ? below : above) /
                           (double)k
                     : NAN;
        o->p = p > 1.0 ? 1.0 : p;
    }
    free(tmp);
    free(diff);
    return 0;
}

/* One evaluation of every external metric for every model under weights
 * w (NULL: the sample weights), into vals[e * nmodels + k]. */
static int eval_external(const trl_compare_input *in, const double *w,
                         double *vals, trl_error *err)
{
    for (size_t e = 0; e < in->nexternal; e++) {
        const trl_metric_external *x = &in->external[e];
        for (size_t k = 0; k < in->nmodels; k++) {
            trl_metric_call call = {in->y, in->scores[k], w ? w : in->w,
                                    in->n, in->rows, in->frame, k};
            if (x->eval(x->ctx, &call, &vals[e * in->nmodels + k], err) != 0)
                return err ? err->code : TRL_EINVAL;
        }
    }
    return 0;
}

/* Growing buffers for a resample's rows, repeated as counted. */
typedef struct expanded {
    double *y, *s, *w;
    size_t *rows;
    size_t cap;
} expanded;

static int expand_reserve(expanded *x, size_t n)
{
    if (n <= x->cap)
        return 0;
    double *y = realloc(x->y, n * sizeof *y);
    if (y)
        x->y = y;
    double *s2 = realloc(x->s, n * sizeof *s2);
    if (s2)
        x->s = s2;
    double *w = realloc(x->w, n * sizeof *w);
    if (w)
        x->w = w;
    size_t *r = realloc(x->rows, n * sizeof *r);
    if (r)
        x->rows = r;
    if (!y || !s2 || !w || !r)
        return -1;
    x->cap = n;
    return 0;
}

/* The external metrics under every resample, on this thread (a Lua
 * function cannot run elsewhere). A business metric sees the resample as
 * rows, each repeated as often as it was drawn, so a function that ignores
 * its weights is still resampled; the counts are those the workers drew
 * for resample b (rows first, or groups when clustered), from the state
 * seeded by (seed, b). */
static int resample_external(const trl_compare_input *in,
                             const uint32_t *row_group, size_t groups,
                             double *values, trl_error *err)
{
    size_t n = in->n, nm = in->nmodels;
    size_t stride = (in->nmetrics + in->nexternal) * nm;
    uint8_t *counts = malloc(n ? n : 1), *gc = malloc(groups ? groups : 1);
    expanded x = {0};
    int rc = counts && gc ? 0
                          : trl_error_set(err, TRL_ENOMEM, "out of memory");
    for (int b = 0; rc == 0 && b < in->resamples; b++) {
        if (trl__registry_interrupted()) {
            rc = trl__registry_interrupt_error(err);
            break;
        }
        uint64_t state = in->seed ^ trl__mix64((uint64_t)b + 1);
        draw_counts(&state, row_group, counts, n, gc, row_group ? groups : 0);
        size_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += counts[i];
        if (expand_reserve(&x, total ? total : 1) != 0) {
            rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
            break;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            for (uint8_t c = 0; c < counts[i]; c++, k++) {
                x.y[k] = in->y[i];
                x.w[k] = in->w ? in->w[i] : 1.0;
                x.rows[k] = in->rows ? in->rows[i] : i;
            }
        double *vals = values + (size_t)b * stride + in->nmetrics * nm;
        for (size_t e = 0; rc == 0 && e < in->nexternal; e++) {
            const trl_metric_external *m = &in->external[e];
            for (size_t mk = 0; rc == 0 && mk < nm; mk++) {
                k = 0;
                for (size_t i = 0; i < n; i++)
                    for (uint8_t c = 0; c < counts[i]; c++)
                        x.s[k++] = in->scores[mk][i];
                trl_metric_call call = {x.y, x.s, x.w, total, x.rows,
                                        in->frame, mk};
                if (m->eval(m->ctx, &call, &vals[e * nm + mk], err) != 0)
                    rc = err ? err->code : TRL_EINVAL;
            }
        }
    }
    free(counts);
    free(gc);
    free(x.y);
    free(x.s);
    free(x.w);
    free(x.rows);
    return rc;
}

int trl_compare_run(const trl_compare_input *in, trl_compare_cell *out,
                    trl_error *err)
{
    size_t nm = in->nmodels, cells = in->nmetrics * nm;
    size_t all = (in->nmetrics + in->nexternal) * nm;
    trl_metric_prep **preps = calloc(cells ? cells : 1, sizeof *preps);
    double *values = NULL;
    int rc = 0;
    if (!preps)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    atomic_int stop = 0;
    job j = {in, preps, 0, 0, NULL, NULL, 0, 1, 0, 0, &stop};
    uint32_t *row_group = NULL;
    for (size_t c = 0; c < cells; c++) {
        const trl_metric *m = &in->metrics[c / nm];
        trl_metric_data d = {in->y, in->scores[c % nm], in->w, in->group,
                             in->n};
        if (!(preps[c] = trl_metric_prepare(m, &d, err))) {
            rc = err ? err->code : TRL_EINVAL;
            goto done;
        }
        trl_compare_cell *o = &out[c];
        memset(o, 0, sizeof *o);
        o->value = trl_metric_eval(preps[c], NULL);
        o->lo = o->hi = o->delta_lo = o->delta_hi = o->p = NAN;
        if (m->kind == TRL_METRIC_RANKING)
            j.groups = trl_metric_units(preps[c]);
        else
            j.rows = trl_metric_units(preps[c]);
    }
    if (in->nexternal) {
        double *vals = malloc(in->nexternal * nm * sizeof *vals);
        if (!vals) {
            rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
            goto done;
        }
        rc = eval_external(in, NULL, vals, err);
        for (size_t c = cells; rc == 0 && c < all; c++) {
            out[c] = (trl_compare_cell){vals[c - cells], NAN, NAN, 0,
                                        NAN, NAN, NAN, 0};
        }
        free(vals);
        if (rc)
            goto done;
    }
    for (size_t c = 0; c < all; c++)
        out[c].delta = out[c].value - out[c - c % nm].value;
    if (in->resamples <= 0)
        goto done;
    pthread_once(&fast_once, fill_fast);
    if (in->group) {
        /* rows of one user or query are not independent draws: resample
         * the groups, each row taking its group's count, so an interval
         * is as wide as the groups make it */
        row_group = malloc((in->n ? in->n : 1) * sizeof *row_group);
        if (!row_group ||
            index_groups(in->group, in->n, row_group, &j.groups) != 0) {
            rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
            goto done;
        }
        j.row_group = row_group;
        if (j.rows || in->nexternal)
            j.rows = in->n;
    }
    if (!(values = malloc((size_t)in->resamples * all * sizeof *values))) {
        rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto done;
    }
    j.values = values;
    int nt = cpus();
    if (nt > in->resamples)
        nt = in->resamples;
    job jobs[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 0; t < nt; t++) {
        jobs[t] = j;
        jobs[t].first = t;
        jobs[t].step = nt;
        /* the last share runs here: one thread less to start */
        started[t] = t + 1 < nt &&
                     pthread_create(&threads[t], NULL, run_resamples,
                                    &jobs[t]) == 0;
    }
    for (int t = 0; t < nt; t++)
        if (!started[t]) {
            jobs[t].polls = 1;  /* this thread may ask the callback */
            run_resamples(&jobs[t]);
        }
    for (int t = 0; t < nt; t++) {
        if (started[t])
            pthread_join(threads[t], NULL);
        if (jobs[t].stopped && !rc)
            rc = jobs[t].stopped;
    }
    if (rc == TRL_EINTR)
        trl__registry_interrupt_error(err);
    else if (rc)
        trl_error_set(err, rc, "out of memory");
    else if (in->nexternal &&
             (rc = resample_external(in, row_group, j.groups, values,
                                     err)) != 0)
        ;  /* err says why */
    else if (summarise(in, values, out) != 0)
        rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
done:
    for (size_t c = 0; c < cells; c++)
        trl_metric_prep_free(preps[c]);
    free(preps);
    free(values);
    free(row_group);
    return rc;
}
