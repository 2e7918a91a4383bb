/* ks.c - the two-sample Kolmogorov-Smirnov test as SciPy 1.10's
 * scipy.stats.ks_2samp(method='auto') computes it: the statistic over
 * the pooled values, an exact p-value from lattice-path counts (Hodges
 * 1958) when neither sample passes 10000 values, else the two-sided
 * one-sample distribution (kolmogorov.c) at n = round(n1 n2 / (n1 + n2)).
 * The arithmetic follows SciPy's step by step (the same divisions and
 * roundings), so statistics are the same doubles and p-values agree far
 * inside 1e-9. */
#include <math.h>
#include <stdlib.h>

#include "registry/guard_int.h"
#include "registry/registry_int.h"

/* ks_2samp's 'auto' is exact when neither sample is larger. */
#define EXACT_MAX_N 10000

double trl__ks_statistic(const double *a, size_t n1, const double *b,
                         size_t n2)
{
    /* F1 - F2 at each pooled value, ties taken whole on both sides (what
     * searchsorted(side='right') gives). SciPy divides at every value;
     * here the extremes are found on the exact numerators i n2 - j n1
     * (no division), and only values that reach one are divided as SciPy
     * does: pairs with equal numerators may round apart, so each is. */
    double dn1 = (double)n1, dn2 = (double)n2, hi = 0, lo = 0;
    int64_t best_hi = 0, best_lo = 0, sn1 = (int64_t)n1, sn2 = (int64_t)n2;
    size_t i = 0, j = 0;
    while (i < n1 || j < n2) {
        double v = j == n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
        while (i < n1 && a[i] <= v)
            i++;
        while (j < n2 && b[j] <= v)
            j++;
        int64_t num = (int64_t)i * sn2 - (int64_t)j * sn1;
        if (num >= best_hi) {
            double d = (double)i / dn1 - (double)j / dn2;
            hi = num > best_hi || d > hi ? d : hi;
            best_hi = num;
        }
        if (num <= best_lo) {
            double d = (double)i / dn1 - (double)j / dn2;
            lo = num < best_lo || d < lo ? d : lo;
            best_lo = num;
        }
    }
    double min_s = -lo > 1 ? 1 : -lo;
    return min_s > hi ? min_s : hi;
}

static size_t gcd(size_t a, size_t b)
{
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* P(D >= h/n) for two samples of n: 2 * sum over k of alternating
 * binomial ratios, in Horner form so that no term is subtracted from a
 * larger one (SciPy's _compute_prob_outside_square). */
static double prob_outside_square(long n, long h)
{
    double P = 0;
    for (long k = (long)floor((double)n / (double)h); k >= 0; k--) {
        double p1 = 1.0;
        for (long j = 0; j < h; j++)
            p1 = (double)(n - k * h - j) * p1 / (double)(n + k * h + j + 1);
        P = p1 * (1.0 - P);
    }
    return 2 * P;
}

/* P(D >= h / lcm) for samples of m and n: the share of lattice paths from
 * (0, 0) to (m, n) that leave the band |x/m - y/n| < h/lcm, by
 * Viehmann's recursion for that share itself (it stays in [0, 1], where
 * counting paths overflows). One column of the lattice at a time, in a
 * window that slides up with it. NaN when out of memory. */
static double prob_outside_band(long m, long n, long g, long h)
{
    if (m < n) {
        long t = m;
        m = n;
        n = t;
    }
    long mg = m / g, ng = n / g;
    long minj = 0, maxj = (long)ceil((double)h / (double)mg);
    if (maxj > n + 1)
        maxj = n + 1;
    long curlen = maxj - minj;
    /* SciPy's array holds min(2 maxj + 2, n + 1) entries, which the
     * window never passes; n + 2, all 1 past the window, is as good */
    double *A = malloc((size_t)(n + 2) * sizeof *A);
    if (!A)
        return NAN;
    for (long i = 0; i < n + 2; i++)
        A[i] = i < maxj ? 0.0 : 1.0;
    double result = 1.0;
    for (long i = 1; i <= m; i++) {
        long lastminj = minj, lastlen = curlen;
        minj = (long)floor((double)(ng * i - h) / (double)mg) + 1;
        if (minj < 0)
            minj = 0;
        if (minj > n)
            minj = n;
        maxj = (long)ceil((double)(ng * i + h) / (double)mg);
        if (maxj > n + 1)
            maxj = n + 1;
        if (maxj <= minj)
            goto done;  /* every path leaves the band */
        double val = minj == 0 ? 0.0 : 1.0;
        for (long jj = 0; jj < maxj - minj; jj++) {
            long j = jj + minj;
            val = (A[jj + minj - lastminj] * (double)i + val * (double)j) /
                  (double)(i + j);
            A[jj] = val;
        }
        curlen = maxj - minj;
        for (long r = curlen; r < curlen + (lastlen - curlen) && r < n + 2;
             r++)
            A[r] = 1;
    }
    result = A[maxj - minj - 1];
done:
    free(A);
    return result;
}

double trl__ks_pvalue(double *d, size_t n1, size_t n2, int *exact)
{
    *exact = 0;
    if (n1 <= EXACT_MAX_N && n2 <= EXACT_MAX_N) {
        size_t g = gcd(n1, n2);
        double lcm = (double)(n1 / g) * (double)n2;
        long h = (long)nearbyint(*d * lcm);  /* half to even, as np.round */
        *d = (double)h / lcm;
        if (h == 0) {
            *exact = 1;
            return 1.0;
        }
        double p = n1 == n2 ? prob_outside_square((long)n1, h)
                            : prob_outside_band((long)n1, (long)n2,
                                                (long)g, h);
        if (p >= 0 && p <= 1) {
            *exact = 1;
            return p;
        }
        /* SciPy falls back to the asymptotic form, with d as rounded */
    }
    double m = (double)(n1 > n2 ? n1 : n2), n = (double)(n1 > n2 ? n2 : n1);
    double en = m * n / (m + n);
    double p = trl__kolmogorov_sf((long)nearbyint(en), *d);
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

/* Sorts a copy of v (n values, no NaN) ascending; NULL when out of
 * memory or a value is NaN (*nan set). */
static double *sorted_copy(const double *v, size_t n, int *nan)
{
    uint64_t *k = malloc((n ? n : 1) * sizeof *k);
    if (!k)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) {
            *nan = 1;
            free(k);
            return NULL;
        }
        k[i] = trl__asc_key(v[i]);
    }
    if (trl__radix_sort_keys(k, n) != 0) {
        free(k);
        return NULL;
    }
    double *out = (double *)k;  /* same size: convert in place */
    for (size_t i = 0; i < n; i++)
        out[i] = trl__asc_value(k[i]);
    return out;
}

int trl_ks_2samp(const double *a, size_t na, const double *b, size_t nb,
                 double *statistic, double *pvalue, int *exact,
                 trl_error *err)
{
    if (na == 0 || nb == 0)
        return trl_error_set(err, TRL_EINVAL, "the Kolmogorov-Smirnov test "
                             "needs values in both samples (got %zu and "
                             "%zu)", na, nb);
    int nan = 0;
    double *sa = sorted_copy(a, na, &nan);
    double *sb = sa ? sorted_copy(b, nb, &nan) : NULL;
    if (!sa || !sb) {
        free(sa);
        return nan ? trl_error_set(err, TRL_EINVAL, "the Kolmogorov-Smirnov "
                                   "test takes values, not NaN: leave "
                                   "missing values out")
                   : trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    double d = trl__ks_statistic(sa, na, sb, nb);
    int ex = 0;
    double p = trl__ks_pvalue(&d, na, nb, &ex);
    free(sa);
    free(sb);
    if (isnan(p))
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    *statistic = d;
    *pvalue = p;
    if (exact)
        *exact = ex;
    return 0;
}
