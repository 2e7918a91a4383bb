/* guard_int.h - private: what the guard rails' files share (ks.c,
 * kolmogorov.c, drift*.c, validate*.c, guard_store.c). */
#ifndef TRELLIS_REGISTRY_GUARD_INT_H
#define TRELLIS_REGISTRY_GUARD_INT_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "trellis/guard.h"
#include "registry/registry_int.h"

/* ---- Kolmogorov-Smirnov distributions (kolmogorov.c) ----------------------- */

/* P(D+_n >= x), the one-sided one-sample statistic: scipy.special.smirnov
 * (Birnbaum-Tingey's sum, its closed forms for x <= 1/n and x >= 1 - 1/n,
 * and its approximation past n = 10^6). */
double trl__smirnov_sf(long n, double x);

/* P(D_n >= x), the two-sided one-sample statistic, with the method
 * scipy.stats.kstwo.sf picks (Simard and L'Ecuyer): Ruben-Gambino,
 * Durbin's matrix, Pomeranz, Pelz-Good or twice Smirnov's. */
double trl__kolmogorov_sf(long n, double x);

/* ---- two-sample KS on sorted values (ks.c) --------------------------------- */

/* D of two ascending arrays without NaN, n1, n2 >= 1, as SciPy computes
 * it: the largest of max(F1 - F2) and max(F2 - F1), each ECDF difference
 * evaluated as i / n1 - j / n2. */
double trl__ks_statistic(const double *a, size_t n1, const double *b,
                         size_t n2);

/* The two-sided p-value of d for samples of n1 and n2 values, as
 * ks_2samp(method='auto'): exact up to 10000 values each, where *d is
 * moved to the lattice value SciPy reports; *exact says which. */
double trl__ks_pvalue(double *d, size_t n1, size_t n2, int *exact);

/* ---- one feature's drift, with what the display draws (drift_stats.c) ----- */

/* Arrays a thread keeps from one column to the next: a fresh 8 MB array
 * costs a page fault per 4 KB, every time. Zero it to start. */
typedef struct trl__sortbuf {
    uint64_t *keys, *tmp;
    size_t cap;
} trl__sortbuf;

void trl__sortbuf_free(trl__sortbuf *b);


/* Equal-width bins of a numeric feature's histogram. */
#define TRL__HIST_BINS 20
/* Categories a categorical histogram names; the rest are "(other)". */
#define TRL__HIST_CATS 11
/* Categories only NEW has that a result names. */
#define TRL__UNSEEN_MAX 10

typedef struct trl__drift_detail {
    trl_drift_stats s;
    int nhist;                              /* bars (0: no values) */
    double edges[TRL__HIST_BINS + 1];       /* numeric: nhist + 1 */
    const char *labels[TRL__HIST_CATS + 2]; /* categorical: borrowed from
                                             * the columns' dictionaries
                                             * or static */
    double ref_share[TRL__HIST_BINS + 2];   /* per bar */
    double new_share[TRL__HIST_BINS + 2];
    const char *unseen[TRL__UNSEEN_MAX];    /* categories only NEW has,
                                             * most rows first (borrowed) */
    size_t nunseen;                         /* how many there are in all */
    double unseen_share;                    /* of NEW's rows */
} trl__drift_detail;

/* Who may ask the interrupt callback (only the thread that runs the
 * cell: it is not thread-safe) and the flag that tells the others. */
typedef struct trl__stop {
    atomic_int *flag;
    int polls;
} trl__stop;

static inline int trl__stopped(trl__stop *s)
{
    if (s->polls && trl__registry_interrupted())
        atomic_store(s->flag, 1);
    return atomic_load(s->flag);
}

/* One feature's statistics and histogram (see trl_drift_column, which
 * it is, plus the histogram), sorting in bufs. Fails with TRL_EINVAL on types of
 * different kinds or an empty column, TRL_ENOMEM, TRL_EINTR. */
int trl__drift_detail_of(const trl_column *ref, const trl_column *new_col,
                         trl__drift_detail *out, trl__sortbuf bufs[2],
                         trl__stop *stop, trl_error *err);

/* "numeric" or "categorical" for a column type; -1 for a pair of types
 * drift cannot compare. */
int trl__drift_kind(trl_dtype ref, trl_dtype new_type);

/* ---- shared by drift and validation ------------------------------------------ */

/* A key that orders doubles ascending as unsigned integers (-0.0 as 0.0),
 * and back. */
static inline uint64_t trl__asc_key(double x)
{
    if (x == 0)
        x = 0;
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u >> 63 ? ~u : u | 0x8000000000000000ull;
}

static inline double trl__asc_value(uint64_t k)
{
    uint64_t u = k >> 63 ? k & 0x7fffffffffffffffull : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}


/* The present values of a numeric column (f64, i64; bool as 0/1), sorted
 * ascending: *n doubles in b's array (valid until b is used again or
 * freed); *missing counts the rest. NULL when out of memory. */
double *trl__sorted_values(const trl_column *c, trl__sortbuf *b, size_t *n,
                           size_t *missing);

/* NumPy's quantile of sorted values v[0..n-1] (n >= 1), method "linear":
 * the same arithmetic, so the same double. */
double trl__np_quantile(const double *v, size_t n, double q);

/* The registry's schema for the guard rails' tables (guard_store.c). */
extern const char trl__guard_schema_sql[];

/* Non-zero when the open registry file lacks the guard rails' tables. */
struct trl_registry;
int trl__guard_tables_missing(struct trl_registry *r);

/* Whether a column is an id: named id or *_id, i64 or str, every value
 * present and distinct. Drift leaves such columns out (a new month's ids
 * are new by design); 0 also when memory runs out. */
int trl__column_is_id(const char *name, const trl_column *col);

#endif
