/* registry_int.h - private helpers shared by the registry's files. */
#ifndef TRELLIS_REGISTRY_INT_H
#define TRELLIS_REGISTRY_INT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "trellis/registry.h"

/* Reference counts of columns, dictionaries, frames and models change
 * atomically: a Python thread may drop its view of a column (a NumPy
 * array's base) while the engine thread runs a Lua cell that shares it. */
static inline void trl__ref_inc(int *refcount)
{
    __atomic_fetch_add(refcount, 1, __ATOMIC_RELAXED);
}

/* Non-zero when references remain; zero when the caller held the last
 * and frees the object (after every other holder's writes, by acq_rel). */
static inline int trl__ref_dec(int *refcount)
{
    return __atomic_sub_fetch(refcount, 1, __ATOMIC_ACQ_REL) > 0;
}

/* Rows between two polls of the interrupt callback in long loops. */
#define TRL__POLL_ROWS (1u << 20)

/* Non-zero when the user asked to stop (see trl_registry_set_interrupt). */
int trl__registry_interrupted(void);

/* As trl_column_new, but the values are left unset: for outputs that
 * write every row. */
trl_column *trl__column_new_uninit(trl_dtype type, size_t len,
                                   trl_strdict *dict);

/* Fills err with "interrupted" and returns TRL_EINTR. */
int trl__registry_interrupt_error(trl_error *err);

/* ---- shared by store.c (frames) and model_store.c (models) ---------------- */

/* Registered models already loaded, by ref. */
struct trl_model;
typedef struct trl__model_cache {
    struct trl_model **items;
    size_t n, cap;
} trl__model_cache;

void trl__model_cache_clear(trl__model_cache *c);

sqlite3 *trl__registry_db(trl_registry *r);
const char *trl__registry_path(const trl_registry *r);
trl__model_cache *trl__registry_models(trl_registry *r);
/* The tables of format version 2 (model_store.c). */
extern const char trl__model_schema_sql[];
/* The table format version 3 adds (benchmark_store.c). */
extern const char trl__bench_schema_sql[];
/* The tables format version 5 adds (importance_store.c). */
extern const char trl__importance_schema_sql[];
/* Fills err from the connection's last error, naming the file. Call it
 * before any ROLLBACK, which replaces the message. */
int trl__registry_db_error(const trl_registry *r, const char *what,
                           trl_error *err);
/* Runs sql and returns a new array of row(st) for each row, or NULL when
 * the database cannot be read (or out of memory). */
json_t *trl__registry_collect(trl_registry *r, const char *sql,
                              json_t *(*row)(sqlite3_stmt *st));

/* SQLite helpers of model_store.c, shared with comparison_store.c. */
/* Prepares sql on r's connection: 0, or err filled ("cannot read"). */
int trl__db_prepare(trl_registry *r, const char *sql, sqlite3_stmt **st,
                    trl_error *err);
/* Binds j (NULL: JSON null) as compact JSON text to parameter i, doubles
 * at full precision. 0, or -1 when out of memory or the bind fails. */
int trl__db_bind_json(sqlite3_stmt *st, int i, const json_t *j);
/* Column i parsed as JSON: a new value, or NULL when SQL NULL or not
 * JSON. */
json_t *trl__db_column_json(sqlite3_stmt *st, int i);

/* Names are identifiers: [A-Za-z_][A-Za-z0-9_]*, at most 128 bytes. */
int trl__registry_valid_name(const char *s, size_t len);
/* ISO 8601 UTC with milliseconds, e.g. 2024-05-01T12:00:00.123Z. */
void trl__now_iso8601(char out[32]);

/* Sorts (key[i], group[i]) by key, stably: LSD radix on bytes, skipping a
 * byte all keys share (small ranges sort in a pass or two). O(n), where a
 * comparison sort of millions of keys takes seconds. 0 or TRL_ENOMEM. */
int trl__radix_sort(uint64_t *key, int32_t *group, size_t n);
/* Sorts keys alone (no payload) ascending. 0 or TRL_ENOMEM. */
int trl__radix_sort_keys(uint64_t *key, size_t n);
/* The same with the caller's n-key scratch array tmp, so a loop of sorts
 * reuses one (fresh large arrays cost a page fault per 4 KB). */
int trl__radix_sort_keys_into(uint64_t *key, uint64_t *tmp, size_t n);

/* A key that orders doubles descending as unsigned integers (-0.0 as
 * 0.0, which == says it is). */
static inline uint64_t trl__desc_key(double x)
{
    if (x == 0)
        x = 0;
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    u = u >> 63 ? ~u : u | 0x8000000000000000ull;
    return ~u;
}

/* auc or pr_auc of unweighted rows as one value, in
 * metrics_rank.c: 0 with *out set, 1 when these rows need the general
 * path (weights, a NaN score, a label other than 0/1), -1 when out of
 * memory. */
struct trl_metric;
struct trl_metric_data;
int trl__rank_metric_fast(const struct trl_metric *m,
                          const struct trl_metric_data *d, double *out);

/* qsort comparison of doubles (no NaN among them). */
int trl__cmp_double(const void *a, const void *b);

/* A 64-bit hash finaliser (MurmurHash3's): spreads keys over a table. */
static inline uint64_t trl__mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* The rows where mask (bool, len rows) is true, missing counting false:
 * a malloc'd array of *n indices, or NULL with err set. */
size_t *trl__mask_rows(const trl_column *mask, size_t len, size_t *n,
                       trl_error *err);

/* Neumaier's compensated sum: within a few ulps of sum |x|, so it agrees
 * with NumPy's pairwise sum far inside 1e-9. Shared by stats and group. */
typedef struct trl__ksum {
    double s, c;
} trl__ksum;

static inline void trl__ksum_add(trl__ksum *k, double x)
{
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

/* Once an infinity entered, the compensation is NaN (inf - inf). */
static inline double trl__ksum_value(const trl__ksum *k)
{
    return isfinite(k->s) ? k->s + k->c : k->s;
}

#endif
