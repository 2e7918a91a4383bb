/* kolmogorov.c - tail probabilities of the one-sample Kolmogorov-Smirnov
 * statistics of n values, D+_n (Smirnov's, one-sided) and D_n (two-
 * sided), computed by the methods SciPy 1.10 picks at the points where it
 * picks them (scipy.special.smirnov, scipy.stats.kstwo.sf), so that a
 * two-sample p-value built on them agrees with scipy.stats.ks_2samp.
 *
 * References: Birnbaum and Tingey (1951) for Smirnov's sum; Simard and
 * L'Ecuyer (2011) for the choice of method for D_n; Durbin (1968) with
 * Marsaglia, Tsang and Wang (2003) for the matrix method; Pomeranz (1974);
 * Pelz and Good (1976); Ruben and Gambino (1982) for the closed forms. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "registry/guard_int.h"

/* exp() of anything below this is 0 (log of the least normal double). */
#define MIN_LOG -708.3964185322641
/* SciPy sums Smirnov's series up to this n and approximates past it. */
#define SMIRNOV_SUM_MAX_N 1000000
/* Intermediate results are rescaled by 2^128 to stay inside double. */
#define SCALE_EXP 128

static const double PI = 3.14159265358979323846;
static const double LN2 = 0.69314718055994530942;

static double clip01(double p)
{
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

/* ---- Smirnov: P(D+_n >= x) ---------------------------------------------- */

/* floor(n x) and the remainder of n x past it, from the product held
 * exactly as hi + lo (an FMA gives lo). A remainder that rounds to 1
 * counts as a whole step, as SciPy's double-double version does. */
static long floor_nx(long n, double x, double *hi, double *lo,
                     double *alpha)
{
    *hi = (double)n * x;
    *lo = fma((double)n, x, -*hi);
    double fl = floor(*hi);
    if (*hi == fl && *lo < 0)
        fl -= 1;  /* the exact product is just below the integer */
    double a = (*hi - fl) + *lo;
    if (a >= 1) {
        fl += 1;
        a = 0;
    }
    *alpha = a;
    return (long)fl;
}

/* A double-double: hi + lo, |lo| <= half an ulp of hi. Smirnov's terms
 * are logs of size up to n log 2 (about 7e5 at n = 10^6), whose last bit
 * in a plain double is already 1e-10: the sum keeps them in two doubles
 * (long double would do on x86 but not everywhere, nor under valgrind). */
typedef struct dd {
    double hi, lo;
} dd;

static dd dd_norm(double s, double e)
{
    double hi = s + e;
    return (dd){hi, e - (hi - s)};
}

/* a + b exactly, as a double-double (Knuth's two-sum). */
static dd two_sum(double a, double b)
{
    double s = a + b, bb = s - a;
    return (dd){s, (a - (s - bb)) + (b - bb)};
}

static dd dd_add(dd a, dd b)
{
    dd s = two_sum(a.hi, b.hi);
    return dd_norm(s.hi, s.lo + a.lo + b.lo);
}

/* a * b exactly (an FMA gives the rounding error). */
static dd dd_prod(double a, double b)
{
    double p = a * b;
    return (dd){p, fma(a, b, -p)};
}

static double dd_diff(dd a, dd b)
{
    dd d = two_sum(a.hi, -b.hi);
    return d.hi + (d.lo + (a.lo - b.lo));
}

/* Birnbaum and Tingey's sum, x * sum over v = 0 .. last of
 * C(n, v) (x + v/n)^(v-1) (1 - x - v/n)^(n-v), in logarithms so that no
 * term overflows. The terms rise to a peak and fall; the sum stops once
 * what is left cannot reach the last bit, as SciPy's does. The factors
 * x + v/n and 1 - x - v/n come from n x held in two doubles, so the
 * second keeps its accuracy where it nears 0. */
static double smirnov_sum(long n, double x, long last, double nx_hi,
                          double nx_lo)
{
    dd log_c = {0, 0}, top = {-INFINITY, 0};  /* log C(n, v); largest t */
    double sum = 0, dn = (double)n;
    for (long v = 0; v <= last; v++) {
        double up = ((double)v + nx_hi + nx_lo) / dn;
        double rest = (((double)(n - v) - nx_hi) - nx_lo) / dn;
        dd t = dd_add(log_c, dd_add(dd_prod((double)(v - 1), log(up)),
                                    dd_prod((double)(n - v), log(rest))));
        if (v == 0 || dd_diff(t, top) > 0) {
            sum = v == 0 ? 1 : sum * exp(dd_diff(top, t)) + 1;
            top = t;
        } else {
            double e = exp(dd_diff(t, top));
            sum += e;
            if (4.0 * (double)(last - v) * e < DBL_EPSILON * sum)
                break;
        }
        log_c = dd_add(log_c, (dd){log((double)(n - v) / (double)(v + 1)),
                                   0});
    }
    return exp(top.hi + (top.lo + log(sum) + log(x)));
}

double trl__smirnov_sf(long n, double x)
{
    if (!(n > 0 && x >= 0 && x <= 1))
        return NAN;
    if (n == 1)
        return 1 - x;
    if (x == 0)
        return 1;
    if (x == 1)
        return 0;
    double hi, lo, alpha;
    long nxfl = floor_nx(n, x, &hi, &lo, &alpha);
    if (nxfl == 0 || (nxfl == 1 && alpha == 0)) {
        /* x <= 1/n: the sum has one term, x (1 + x)^(n-1) of the CDF */
        return clip01(1 - x * exp((double)(n - 1) * log1p(x)));
    }
    if (-2.0 * (double)n * x * x < MIN_LOG)
        return 0;
    if (nxfl >= n - 1)
        return clip01(pow(1 - x, (double)n));  /* 1 - x is exact here */
    if (n > SMIRNOV_SUM_MAX_N) {
        /* SciPy's approximation: p ~ exp(-(6nx + 1)^2 / 18n) */
        double logp = -pow(6.0 * (double)n * x + 1, 2) / 18.0 / (double)n;
        return logp < -LN2 ? exp(logp) : 1 - -expm1(logp);
    }
    return clip01(smirnov_sum(n, x, n - nxfl - 1, hi, lo));
}

/* ---- Durbin's matrix (Marsaglia, Tsang and Wang) -------------------------- */

/* c = a b for m x m row-major matrices. */
static void matmul(const double *a, const double *b, double *c, int m)
{
    for (int i = 0; i < m; i++) {
        double *row = c + (size_t)i * m;
        for (int j = 0; j < m; j++)
            row[j] = 0;
        for (int k = 0; k < m; k++) {
            double aik = a[(size_t)i * m + k];
            const double *brow = b + (size_t)k * m;
            for (int j = 0; j < m; j++)
                row[j] += aik * brow[j];
        }
    }
}

/* P(D_n <= d) as the k-th diagonal entry of n!/n^n H^n, H of order
 * 2k - 1 where d = (k - h)/n; NaN when out of memory. */
static double durbin_cdf(long n, double d)
{
    if (d >= 1)
        return 1;
    double nd = (double)n * d;
    if (nd <= 0.5)
        return 0;
    int k = (int)ceil(nd), m = 2 * k - 1;
    double h = k - nd;
    size_t mm = (size_t)m * m;
    double *buf = calloc(4 * mm + 2 * (size_t)m, sizeof *buf);
    if (!buf)
        return NAN;
    double *H = buf, *P = buf + mm, *tmp = buf + 2 * mm, *tmp2 = buf + 3 * mm;
    double *v = buf + 4 * mm, *w = v + m;
    double fac = 1;
    for (int j = 1; j <= m; j++) {
        w[j - 1] = fac;
        fac /= j;
        v[j - 1] = (1.0 - pow(h, j)) * fac;
    }
    double tt = pow(fmax(2 * h - 1.0, 0), m) - 2 * pow(h, m);
    v[m - 1] = (1.0 + tt) * fac;
    for (int i = 1; i < m; i++)
        for (int r = i - 1; r < m; r++)
            H[(size_t)r * m + i] = w[r - (i - 1)];
    for (int r = 0; r < m; r++)
        H[(size_t)r * m] = v[r];
    for (int c = 0; c < m; c++)
        H[(size_t)(m - 1) * m + c] = v[m - 1 - c];
    for (int i = 0; i < m; i++)
        P[(size_t)i * m + i] = 1;
    long nn = n;
    int expnt = 0, h_expnt = 0;
    while (nn > 0) {
        if (nn % 2) {
            matmul(P, H, tmp, m);
            memcpy(P, tmp, mm * sizeof *P);
            expnt += h_expnt;
        }
        matmul(H, H, tmp2, m);
        memcpy(H, tmp2, mm * sizeof *H);
        h_expnt *= 2;
        if (fabs(H[(size_t)(k - 1) * m + (k - 1)]) > ldexp(1, SCALE_EXP)) {
            for (size_t i = 0; i < mm; i++)
                H[i] = ldexp(H[i], -SCALE_EXP);
            h_expnt += SCALE_EXP;
        }
        nn /= 2;
    }
    double p = P[(size_t)(k - 1) * m + (k - 1)];
    free(buf);
    for (long i = 1; i <= n; i++) {
        p = (double)i * p / (double)n;
        if (fabs(p) < ldexp(1, -SCALE_EXP)) {
            p = ldexp(p, SCALE_EXP);
            expnt -= SCALE_EXP;
        }
    }
    return clip01(expnt ? ldexp(p, expnt) : p);
}

/* ---- Pomeranz's recursion --------------------------------------------------- */

/* The non-zero stretch [*j1, *j2] of row i. */
static void pomeranz_span(long i, long n, long ll, int ceilf, int roundf,
                          long *j1, long *j2)
{
    long a, b;
    if (i == 0) {
        a = -ll - ceilf - 1;
        b = ll + ceilf - 1;
    } else {
        long half = (i + 1) / 2;
        if ((i + 1) % 2 == 0) {
            if (half == n + 1) {
                a = n - ll - ceilf - 1;
                b = n + ll + ceilf - 1;
            } else {
                a = half - 1 - ll - roundf - 1;
                b = half + ll - 1 + ceilf - 1;
            }
        } else {
            a = half - 1 - ll - 1;
            b = half + ll + roundf - 1;
        }
    }
    *j1 = a + 2 > 0 ? a + 2 : 0;
    *j2 = b < n ? b : n;
}

/* P(D_n <= x) for the small n (<= 140) SciPy uses it for: rows of a
 * matrix, each the previous convolved with Poisson-like weights. NaN when
 * out of memory. */
static double pomeranz_cdf(long n, double x)
{
    double t = (double)n * x;
    long ll = (long)floor(t);
    double f = t - (double)ll, g = fmin(f, 1.0 - f);
    int ceilf = f > 0, roundf = f > 0.5;
    long np = 2 * (ll + 1);
    double *buf = calloc((size_t)np * 5, sizeof *buf);
    if (!buf)
        return NAN;
    double *gp = buf, *g2p = gp + np, *g12p = g2p + np;
    double *V0 = g12p + np, *V1 = V0 + np;
    gp[0] = g2p[0] = g12p[0] = 1;
    double g_n = g / n, g2_n = 2 * g / n, g12_n = (1 - 2 * g) / n;
    for (long m = 1; m < np; m++) {
        gp[m] = gp[m - 1] * g_n / m;
        g2p[m] = g2p[m - 1] * g2_n / m;
        g12p[m] = g12p[m - 1] * g12_n / m;
    }
    V1[0] = 1;
    long s0 = 0, s1 = 0, j1, j2;
    int expnt = 0;
    pomeranz_span(0, n, ll, ceilf, roundf, &j1, &j2);
    for (long i = 1; i < 2 * n + 2; i++) {
        long k1 = j1;
        double *sw = V0;
        V0 = V1;
        V1 = sw;
        long ss = s0;
        s0 = s1;
        s1 = ss;
        memset(V1, 0, (size_t)np * sizeof *V1);
        pomeranz_span(i, n, ll, ceilf, roundf, &j1, &j2);
        const double *w = i == 1 || i == 2 * n + 1 ? gp : i % 2 ? g2p : g12p;
        long len = j2 - k1 + 1;
        if (len <= 0)
            continue;
        /* the stretch of V0 from k1 on (as a slice: cut at the end) */
        long from = k1 - s0, alen = len;
        if (from + alen > np)
            alen = np - from;
        long blen = len < np ? len : np;
        long start = j1 - k1, count = j2 - j1 + 1;
        double top = 0;
        for (long c = 0; c < count; c++) {
            long o = start + c;  /* full-convolution index */
            double s = 0;
            for (long a = o - blen + 1 > 0 ? o - blen + 1 : 0;
                 a < alen && a <= o; a++)
                s += V0[from + a] * w[o - a];
            V1[c] = s;
            top = fmax(top, s);
        }
        if (top > 0 && top < ldexp(1, -SCALE_EXP)) {
            for (long c = 0; c < np; c++)
                V1[c] = ldexp(V1[c], SCALE_EXP);
            expnt -= SCALE_EXP;
        }
        s1 = s0 + j1 - k1;
    }
    double ans = V1[n - s1];
    free(buf);
    for (long m = 1; m <= n; m++) {
        if (fabs(ans) > ldexp(1, SCALE_EXP)) {
            ans = ldexp(ans, -SCALE_EXP);
            expnt += SCALE_EXP;
        }
        ans *= (double)m;
    }
    return clip01(expnt ? ldexp(ans, expnt) : ans);
}

/* ---- Pelz and Good's approximation ------------------------------------------- */

static double pelz_good_cdf(long n, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double z = sqrt((double)n) * x, z2 = z * z, z3 = pow(z, 3);
    double z4 = pow(z, 4), z6 = pow(z, 6);
    double pi2 = PI * PI, pi4 = pow(PI, 4), pi6 = pow(PI, 6);
    double qlog = -pi2 / 8 / z2;
    if (qlog < -708)
        return 0;
    double q = exp(qlog);
    double k1a = -z2, k1b = pi2 / 4;
    double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4;
    double k2c = pi4 * (1 - 2 * z2) / 16;
    double k3d = pi6 * (5 - 30 * z2) / 64;
    double k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
    double k3b = pi2 * (135 * z4 - 96 * z6) / 4;
    double k3a = -30 * z6 - 90 * pow(z, 8);
    double K[4] = {0, 0, 0, 0};
    long maxk = (long)ceil(16 * z / PI);
    /* Horner in q^8k over the odd integers 2k - 1 */
    for (long k = maxk; k > 0; k--) {
        double m = (double)(2 * k - 1), m2 = m * m, m4 = pow(m, 4);
        double m6 = pow(m, 6), qp = pow(q, (double)(8 * k));
        double c[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                       k3a + k3b * m2 + k3c * m4 + k3d * m6};
        for (int i = 0; i < 4; i++)
            K[i] = K[i] * qp + c[i];
    }
    double root2pi = sqrt(2 * PI);
    double div[4] = {z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)};
    for (int i = 0; i < 4; i++)
        K[i] = K[i] * q * root2pi / div[i];
    /* the sums over every integer k that K2 and K3 gain */
    double q2 = exp(-pi2 / 2 / z2), r3z = sqrt(3.0) * z;
    double k2x = 0, k3x = 0;
    for (long k = maxk; k > 0; k--) {
        double kk = (double)k * (double)k, qk = pow(q2, kk), kpi = PI * k;
        k2x += kk * qk;
        k3x += (r3z + kpi) * (r3z - kpi) * kk * qk;
    }
    K[2] += k2x * (pi2 * root2pi / (-36 * z3));
    K[3] += k3x * (pi2 * root2pi / (216 * z6));
    double sum = 0;
    for (int i = 0; i < 4; i++)
        sum += K[i] / pow((double)n, i / 2.0);
    return sum;
}

/* ---- D_n: Simard and L'Ecuyer's choice, as SciPy makes it -------------------- */

/* log(n! / n^n) by Stirling's series with n log n taken out first. */
static double log_nfact_over_npown(long n)
{
    static const double coef[] = {
        -2.955065359477124183e-2, 6.4102564102564102564e-3,
        -1.9175269175269175269e-3, 8.4175084175084175084e-4,
        -5.952380952380952381e-4, 7.9365079365079365079e-4,
        -2.7777777777777777778e-3, 8.3333333333333333333e-2};
    double rn = 1.0 / (double)n, x = rn / (double)n, poly = 0;
    for (size_t i = 0; i < sizeof coef / sizeof *coef; i++)
        poly = poly * x + coef[i];
    return log((double)n) / 2 - (double)n + log(2 * PI) / 2 + rn * poly;
}

double trl__kolmogorov_sf(long n, double x)
{
    if (n <= 0 || isnan(x))
        return NAN;
    if (x >= 1)
        return 0;
    if (x <= 0)
        return 1;
    double t = (double)n * x;
    if (t <= 1.0) {
        if (t <= 0.5)
            return 1;
        double prob;
        if (n <= 140) {
            prob = 1;
            for (long i = 1; i <= n; i++)
                prob *= (double)i * (1.0 / (double)n) * (2 * t - 1);
        } else {
            prob = exp(log_nfact_over_npown(n) + (double)n * log(2 * t - 1));
        }
        return clip01(1.0 - prob);
    }
    if (t >= (double)(n - 1))
        return clip01(2 * pow(1.0 - x, (double)n));
    if (x >= 0.5)
        return clip01(2 * trl__smirnov_sf(n, x));
    double nxx = t * x;
    if (n <= 140) {
        if (nxx <= 0.754693)
            return clip01(1.0 - durbin_cdf(n, x));
        if (nxx <= 4)
            return clip01(1.0 - pomeranz_cdf(n, x));
        return clip01(2 * trl__smirnov_sf(n, x));
    }
    if (nxx >= 370.0)
        return 0;
    if (nxx >= 2.2)
        return clip01(2 * trl__smirnov_sf(n, x));
    double cdf = n <= 100000 && (double)n * pow(x, 1.5) <= 1.4
                     ? durbin_cdf(n, x)
                     : pelz_good_cdf(n, x);
    return clip01(1.0 - cdf);
}
