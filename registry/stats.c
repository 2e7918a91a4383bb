/* stats.c - column reductions as NumPy's nan-functions: count, missing,
 * distinct values, sum, mean, sample deviation, extremes and quantiles. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_int.h"

/* Present values are read in blocks of BLOCK doubles. Each block is summed
 * pairwise exactly as NumPy sums up to its 128-element block, and blocks are
 * combined with Neumaier's compensated sum: the error stays a few ulps of
 * sum |x|, so results agree with np.nansum to ~1e-13 relative. */
#define BLOCK 128

/* Fills buf with up to BLOCK present values of c from *pos on, as doubles
 * (bool 0/1), and advances *pos past the rows read. Reads at most
 * TRL__POLL_ROWS rows per call so callers can poll between calls, even in
 * a column that is all missing. Returns the number of values, 0 only when
 * *pos reached the end or the call ran out of rows. */
static size_t next_block(const trl_column *c, size_t *pos, double *buf)
{
    size_t i = *pos, k = 0;
    size_t end = c->len - i > TRL__POLL_ROWS ? i + TRL__POLL_ROWS : c->len;
    switch (c->type) {
    case TRL_F64:
        for (; i < end && k < BLOCK; i++)
            if (!isnan(c->v.f64[i]))
                buf[k++] = c->v.f64[i];
        break;
    case TRL_I64:
        for (; i < end && k < BLOCK; i++)
            if (!c->valid || c->valid[i])
                buf[k++] = (double)c->v.i64[i];
        break;
    case TRL_BOOL:
        for (; i < end && k < BLOCK; i++)
            if (c->v.b[i] != TRL_BOOL_MISSING)
                buf[k++] = c->v.b[i];
        break;
    case TRL_STR:
        i = c->len;
        break;
    }
    *pos = i;
    return k;
}

/* Advances *polled and asks the interrupt hook once pos has moved
 * TRL__POLL_ROWS rows past it. Non-zero: the user asked to stop. */
static int should_stop(size_t pos, size_t *polled)
{
    if (pos - *polled < TRL__POLL_ROWS)
        return 0;
    *polled = pos;
    return trl__registry_interrupted();
}

/* NumPy's pairwise_sum below its block size: eight running sums combined
 * as a tree, then the tail. */
static double block_sum(const double *x, size_t n)
{
    if (n < 8) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += x[i];
        return s;
    }
    double r[8];
    memcpy(r, x, sizeof r);
    size_t i;
    for (i = 8; i < n - n % 8; i += 8)
        for (size_t j = 0; j < 8; j++)
            r[j] += x[i + j];
    double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++)
        s += x[i];
    return s;
}


/* ---- distinct values -------------------------------------------------- */

/* An open-addressing set of 64-bit keys (linear probing, load <= 3/4) that
 * grows with the number of distinct values, not rows: 0 marks an empty
 * slot, so key 0 is kept apart in has_zero. */
typedef struct keyset {
    uint64_t *slots;
    size_t cap, n;
    int has_zero;
} keyset;

static size_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;  /* splitmix64's finaliser */
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (size_t)(z ^ (z >> 31));
}

static void keyset_put(keyset *s, uint64_t key)
{
    size_t mask = s->cap - 1;
    for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
        if (s->slots[i] == key)
            return;
        if (s->slots[i] == 0) {
            s->slots[i] = key;
            s->n++;
            return;
        }
    }
}

static int keyset_add(keyset *s, uint64_t key)
{
    if (key == 0) {
        s->has_zero = 1;
        return 0;
    }
    if ((s->n + 1) * 4 > s->cap * 3) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *old = s->slots;
        size_t old_cap = s->cap;
        if (!(s->slots = calloc(cap, sizeof *s->slots))) {
            s->slots = old;
            return TRL_ENOMEM;
        }
        s->cap = cap;
        s->n = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i])
                keyset_put(s, old[i]);
        free(old);
    }
    keyset_put(s, key);
    return 0;
}

/* The key of a double: its bits, with -0.0 folded onto 0.0 as == does. */
static uint64_t f64_key(double x)
{
    uint64_t k = 0;
    if (x != 0)
        memcpy(&k, &x, sizeof k);
    return k;
}

/* Number of distinct present values of a numeric column into *out. */
static int count_unique_numeric(const trl_column *c, size_t *out,
                                trl_error *err)
{
    if (c->type == TRL_BOOL) {
        uint8_t seen[256] = {0};
        size_t n = 0;
        for (size_t i = 0; i < c->len; i++)
            seen[c->v.b[i]] = 1;
        seen[TRL_BOOL_MISSING] = 0;
        for (size_t v = 0; v < 256; v++)
            n += seen[v];
        *out = n;
        return 0;
    }
    keyset s = {0};
    int rc = 0;
    for (size_t i = 0; i < c->len && rc == 0; i++) {
        if ((i & (TRL__POLL_ROWS - 1)) == 0 && i &&
            trl__registry_interrupted()) {
            rc = trl__registry_interrupt_error(err);
            break;
        }
        if (c->type == TRL_F64) {
            if (!isnan(c->v.f64[i]))
                rc = keyset_add(&s, f64_key(c->v.f64[i]));
        } else if (!c->valid || c->valid[i]) {
            rc = keyset_add(&s, (uint64_t)c->v.i64[i]);
        }
        if (rc == TRL_ENOMEM)
            trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    *out = s.n + (size_t)s.has_zero;
    free(s.slots);
    return rc;
}

/* count, n_missing and n_unique of a str column; codes may use only part
 * of the dictionary. */
static int string_stats(const trl_column *c, trl_stats *out, trl_error *err)
{
    size_t ndict = c->dict ? c->dict->n : 0;
    uint8_t *seen = calloc(ndict ? ndict : 1, 1);
    if (!seen)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    size_t count = 0, unique = 0;
    for (size_t i = 0; i < c->len; i++) {
        if ((i & (TRL__POLL_ROWS - 1)) == 0 && i &&
            trl__registry_interrupted()) {
            free(seen);
            return trl__registry_interrupt_error(err);
        }
        int32_t code = c->v.codes[i];
        if (code < 0)
            continue;
        assert((size_t)code < ndict);
        count++;
        if ((size_t)code < ndict && !seen[code]) {
            seen[code] = 1;
            unique++;
        }
    }
    free(seen);
    out->count = count;
    out->n_missing = c->len - count;
    out->n_unique = unique;
    return 0;
}

/* ---- reductions --------------------------------------------------------- */

int trl_column_stats(const trl_column *c, trl_stats *out, trl_error *err)
{
    trl_stats st;
    int rc = trl_column_moments(c, &st, err);
    if (rc == 0 && c->type != TRL_STR)  /* strings have theirs */
        rc = count_unique_numeric(c, &st.n_unique, err);
    if (rc == 0)
        *out = st;
    return rc;
}

int trl_column_moments(const trl_column *c, trl_stats *out, trl_error *err)
{
    trl_stats st = {0, 0, 0, NAN, NAN, NAN, NAN, NAN};
    if (c->type == TRL_STR) {
        int rc = string_stats(c, &st, err);
        if (rc == 0)
            *out = st;
        return rc;
    }

    /* first pass: count, sum, extremes */
    double buf[BLOCK];
    trl__ksum sum = {0, 0};
    double lo = INFINITY, hi = -INFINITY;
    size_t count = 0, pos = 0, polled = 0;
    while (pos < c->len) {
        size_t k = next_block(c, &pos, buf);
        if (should_stop(pos, &polled))
            return trl__registry_interrupt_error(err);
        for (size_t i = 0; i < k; i++) {
            lo = buf[i] < lo ? buf[i] : lo;
            hi = buf[i] > hi ? buf[i] : hi;
        }
        if (k)
            trl__ksum_add(&sum, block_sum(buf, k));
        count += k;
    }
    st.count = count;
    st.n_missing = c->len - count;
    st.sum = trl__ksum_value(&sum);
    if (count) {
        st.min = lo;
        st.max = hi;
        st.mean = st.sum / (double)count;
    }

    /* second pass: squared deviations from the mean (two-pass, as NumPy) */
    if (count >= 2 && lo == hi && isfinite(lo)) {
        st.mean = lo;  /* a constant column has exactly its value and 0 */
        st.std = 0;
    } else if (count >= 2) {
        trl__ksum sq = {0, 0};
        pos = polled = 0;
        while (pos < c->len) {
            size_t k = next_block(c, &pos, buf);
            if (should_stop(pos, &polled))
                return trl__registry_interrupt_error(err);
            for (size_t i = 0; i < k; i++) {
                double d = buf[i] - st.mean;
                buf[i] = d * d;
            }
            if (k)
                trl__ksum_add(&sq, block_sum(buf, k));
        }
        st.std = sqrt(trl__ksum_value(&sq) / (double)(count - 1));
    }
    *out = st;
    return 0;
}

int trl__cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void swap(double *a, ptrdiff_t i, ptrdiff_t j)
{
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* Reorders a[0..n) (no NaN) so that a[k] is the value a sort would put
 * there, everything before it <= a[k] and everything after >= a[k]:
 * Hoare's quickselect with a median-of-three pivot, O(n) expected. Should a
 * bad input defeat the pivots, the remaining range is sorted instead, so
 * the worst case stays O(n log n). Returns TRL_EINTR when interrupted. */
static int select_kth(double *a, size_t n, size_t k, trl_error *err)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    int budget = 16;
    for (size_t m = n; m > 1; m >>= 1)
        budget += 2;
    while (hi > lo) {
        if ((size_t)(hi - lo) >= TRL__POLL_ROWS &&
            trl__registry_interrupted())
            return trl__registry_interrupt_error(err);
        if (budget-- == 0) {
            qsort(a + lo, (size_t)(hi - lo + 1), sizeof *a, trl__cmp_double);
            return 0;
        }
        ptrdiff_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            swap(a, mid, lo);
        if (a[hi] < a[lo])
            swap(a, hi, lo);
        if (a[hi] < a[mid])
            swap(a, hi, mid);
        /* a[lo] <= pivot <= a[hi]: both scans below stop inside the range */
        double pivot = a[mid];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j)
                swap(a, i++, j--);
        }
        /* now a[lo..j] <= pivot, a[i..hi] >= pivot, a(j..i) == pivot */
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            return 0;
    }
    return 0;
}

/* NumPy's _lerp: from the nearer end, so t = 1 gives b exactly. */
static double lerp(double a, double b, double t)
{
    if (t == 0 || a == b)
        return a;
    double d = b - a;
    return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

int trl_column_quantile(const trl_column *c, double q, double *out,
                        trl_error *err)
{
    if (c->type == TRL_STR)
        return trl_error_set(err, TRL_EINVAL, "quantile needs a numeric "
                             "column, not str");
    if (!(q >= 0 && q <= 1))
        return trl_error_set(err, TRL_EINVAL, "quantile: q must be between "
                             "0 and 1 (got %g)", q);
    double *v = malloc((c->len ? c->len : 1) * sizeof *v);
    if (!v)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    size_t n = 0, pos = 0, polled = 0;
    while (pos < c->len) {
        n += next_block(c, &pos, v + n);
        if (should_stop(pos, &polled)) {
            free(v);
            return trl__registry_interrupt_error(err);
        }
    }
    if (n == 0) {
        free(v);
        *out = NAN;
        return 0;
    }
    /* method "linear": h = (n - 1) q between order statistics k and k + 1 */
    double h = (double)(n - 1) * q, fl = floor(h);
    size_t k = (size_t)fl < n - 1 ? (size_t)fl : n - 1;
    double t = h - fl;
    int rc = select_kth(v, n, k, err);
    if (rc) {
        free(v);
        return rc;
    }
    double lower = v[k], upper = lower;
    if (t > 0 && k + 1 < n) {
        /* after the selection every value past k is >= v[k]: the next order
         * statistic is their minimum */
        upper = v[k + 1];
        for (size_t i = k + 2; i < n; i++)
            upper = v[i] < upper ? v[i] : upper;
    }
    free(v);
    *out = lerp(lower, upper, t);
    return 0;
}
