/* group.c - group-by aggregation: rows hashed to groups in one pass, each
 * aggregate accumulated per group in one more, groups ordered by key. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_int.h"

static const char *const agg_names[] = {"count", "sum", "mean", "std",
                                        "min", "max", "n_unique", "first"};
#define N_AGGS (sizeof agg_names / sizeof *agg_names)

int trl_agg_parse(const char *name)
{
    for (size_t i = 0; name && i < N_AGGS; i++)
        if (strcmp(name, agg_names[i]) == 0)
            return (int)i;
    return -1;
}

/* ---- group assignment ---------------------------------------------------- */

/* One slot of the group table: key and group side by side, so a probe
 * touches one cache line. */
typedef struct slot {
    uint64_t key;
    int32_t id;         /* the group, -1 when empty */
} slot;

/* The groups found so far: an open-addressing table (linear probing) from
 * a key's 64 bits to its group number, numbers given in order of first
 * appearance, and the first row of each group, which holds its key for
 * the output. */
typedef struct groups {
    slot *slots;
    size_t cap;         /* slots, a power of two */
    size_t *first_row;  /* per group */
    size_t n, rows_cap;
} groups;

static int groups_init(groups *gs, size_t cap)
{
    memset(gs, 0, sizeof *gs);
    if (!(gs->slots = malloc(cap * sizeof *gs->slots)))
        return TRL_ENOMEM;
    for (size_t s = 0; s < cap; s++)
        gs->slots[s].id = -1;
    gs->cap = cap;
    return 0;
}

static void groups_free(groups *gs)
{
    free(gs->slots);
    free(gs->first_row);
}

static size_t groups_slot(const groups *gs, uint64_t key)
{
    size_t mask = gs->cap - 1;
    size_t s = trl__mix64(key) & mask;
    while (gs->slots[s].id >= 0 && gs->slots[s].key != key)
        s = (s + 1) & mask;
    return s;
}

static int groups_grow(groups *gs)
{
    groups bigger;
    if (groups_init(&bigger, gs->cap * 2) != 0)
        return TRL_ENOMEM;
    for (size_t s = 0; s < gs->cap; s++)
        if (gs->slots[s].id >= 0)
            bigger.slots[groups_slot(&bigger, gs->slots[s].key)] =
                gs->slots[s];
    free(gs->slots);
    gs->slots = bigger.slots;
    gs->cap = bigger.cap;
    return 0;
}

/* A new group for key at empty slot s, first seen at row. Returns its
 * number, -1 when out of memory, -2 past INT32_MAX groups. */
static int32_t groups_add(groups *gs, size_t s, uint64_t key, size_t row)
{
    if (gs->n == INT32_MAX)
        return -2;
    if (gs->n == gs->rows_cap) {
        size_t cap = gs->rows_cap ? gs->rows_cap * 2 : 256;
        size_t *rows = realloc(gs->first_row, cap * sizeof *rows);
        if (!rows)
            return -1;
        gs->first_row = rows;
        gs->rows_cap = cap;
    }
    /* small tables (cache-resident) stay sparse: fewer probes mispredict */
    size_t load = gs->cap <= ((size_t)1 << 16) ? 4 : 2;
    if ((gs->n + 1) * load > gs->cap) {
        if (groups_grow(gs) != 0)
            return -1;
        s = groups_slot(gs, key);
    }
    gs->slots[s].key = key;
    gs->slots[s].id = (int32_t)gs->n;
    gs->first_row[gs->n] = row;
    return (int32_t)gs->n++;
}

/* The group of key, made when new (see groups_add for errors). */
static inline int32_t group_of(groups *gs, uint64_t key, size_t row)
{
    size_t s = groups_slot(gs, key);
    return gs->slots[s].id >= 0 ? gs->slots[s].id
                                : groups_add(gs, s, key, row);
}

/* Row i's value as 64 bits, equal bits for equal values: i64 and bool by
 * value, f64 by its bits with -0.0 folded onto 0.0 (they compare equal),
 * str by dictionary code (a dictionary holds each string once). Returns 0
 * when the value is missing. */
static inline int row_key(const trl_column *c, size_t i, uint64_t *key)
{
    switch (c->type) {
    case TRL_F64: {
        double x = c->v.f64[i];
        if (isnan(x))
            return 0;
        *key = 0;
        if (x != 0)
            memcpy(key, &x, sizeof *key);
        return 1;
    }
    case TRL_I64:
        *key = (uint64_t)c->v.i64[i];
        return !c->valid || c->valid[i];
    case TRL_BOOL:
        *key = c->v.b[i];
        return c->v.b[i] != TRL_BOOL_MISSING;
    case TRL_STR:
        *key = (uint64_t)(uint32_t)c->v.codes[i];
        return c->v.codes[i] >= 0;
    }
    return 0;
}

/* Sets gid[i] to row i's group in order of first appearance, -1 where the
 * key is missing (pandas' dropna). */
static int assign_groups(const trl_column *kc, int32_t *gid, groups *gs,
                         trl_error *err)
{
    size_t n = kc->len;
    for (size_t s = 0; s < n; s += TRL__POLL_ROWS) {
        if (s && trl__registry_interrupted())
            return trl__registry_interrupt_error(err);
        size_t e = n - s > TRL__POLL_ROWS ? s + TRL__POLL_ROWS : n;
        for (size_t i = s; i < e; i++) {
            uint64_t key;
            if (!row_key(kc, i, &key)) {
                gid[i] = -1;
                continue;
            }
            int32_t g = group_of(gs, key, i);
            if (g == -1)
                return trl_error_set(err, TRL_ENOMEM, "out of memory");
            if (g == -2)
                return trl_error_set(err, TRL_EINVAL, "group_by: more "
                                     "than %d groups", INT32_MAX);
            gid[i] = g;
        }
    }
    return 0;
}

/* ---- key order --------------------------------------------------------- */

/* A number's 64 bits rearranged so that unsigned order is numeric order:
 * i64 with the sign bit flipped; f64 with the sign bit flipped when
 * positive and every bit flipped when negative (NaN never gets here). */
static uint64_t ordered_bits(const trl_column *kc, size_t row)
{
    const uint64_t sign = (uint64_t)1 << 63;
    switch (kc->type) {
    case TRL_F64: {
        uint64_t b;
        memcpy(&b, &kc->v.f64[row], sizeof b);
        return b & sign ? ~b : b | sign;
    }
    case TRL_I64: return (uint64_t)kc->v.i64[row] ^ sign;
    case TRL_BOOL: return kc->v.b[row];
    case TRL_STR: break;
    }
    return 0;
}

typedef struct strkey {
    const char *s;
    size_t len;
    int32_t group;
} strkey;

/* By bytes, a prefix first: "B" < "a" < "ab" < "b" < "é". Keys are
 * distinct, so no two compare equal. */
static int cmp_str(const void *pa, const void *pb)
{
    const strkey *a = pa, *b = pb;
    int r = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return r ? r : (a->len < b->len ? -1 : a->len > b->len);
}

/* order[r] = the group whose key is r-th in ascending order. */
static int sort_groups(const trl_column *kc, const groups *gs,
                       int32_t *order)
{
    size_t n = gs->n;
    if (kc->type != TRL_STR) {
        uint64_t *keys = malloc((n ? n : 1) * sizeof *keys);
        if (!keys)
            return TRL_ENOMEM;
        for (size_t g = 0; g < n; g++) {
            keys[g] = ordered_bits(kc, gs->first_row[g]);
            order[g] = (int32_t)g;
        }
        int rc = trl__radix_sort(keys, order, n);
        free(keys);
        return rc;
    }
    strkey *keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return TRL_ENOMEM;
    for (size_t g = 0; g < n; g++) {
        int32_t code = kc->v.codes[gs->first_row[g]];
        keys[g] = (strkey){kc->dict->strs[code], kc->dict->lens[code],
                           (int32_t)g};
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    for (size_t r = 0; r < n; r++)
        order[r] = keys[r].group;
    free(keys);
    return 0;
}

/* The key column of the output: each group's first row, in key order. */
static trl_column *key_column(const trl_column *kc, const groups *gs,
                              const int32_t *order)
{
    trl_column *out = trl__column_new_uninit(kc->type, gs->n, kc->dict);
    if (!out)
        return NULL;
    for (size_t r = 0; r < gs->n; r++) {
        size_t row = gs->first_row[order[r]];
        switch (kc->type) {
        case TRL_F64: out->v.f64[r] = kc->v.f64[row]; break;
        case TRL_I64: out->v.i64[r] = kc->v.i64[row]; break;
        case TRL_BOOL: out->v.b[r] = kc->v.b[row]; break;
        case TRL_STR: out->v.codes[r] = kc->v.codes[row]; break;
        }
    }
    return out;
}

/* ---- accumulation ------------------------------------------------------ */

/* Rows are read in chunks of CHUNK (a divisor of TRL__POLL_ROWS, so a
 * chunk starts exactly at every poll boundary). */
#define CHUNK 1024

/* Reads rows [*pos, *pos + CHUNK) of c: the present values of rows that
 * have a group, as doubles (bool 0/1, str its code) into v and their
 * groups into g. Returns how many; advances *pos. Branch-free: every row
 * is written, and kept by advancing k only when it counts. */
static size_t next_chunk(const trl_column *c, const int32_t *gid,
                         size_t *pos, double *v, int32_t *g)
{
    size_t i = *pos, end = c->len - i > CHUNK ? i + CHUNK : c->len, k = 0;
    switch (c->type) {
    case TRL_F64:
        for (; i < end; i++) {
            v[k] = c->v.f64[i];
            g[k] = gid[i];
            k += (gid[i] >= 0) & !isnan(c->v.f64[i]);
        }
        break;
    case TRL_I64:
        for (; i < end; i++) {
            v[k] = (double)c->v.i64[i];
            g[k] = gid[i];
            k += (gid[i] >= 0) & (!c->valid || c->valid[i]);
        }
        break;
    case TRL_BOOL:
        for (; i < end; i++) {
            v[k] = c->v.b[i];
            g[k] = gid[i];
            k += (gid[i] >= 0) & (c->v.b[i] != TRL_BOOL_MISSING);
        }
        break;
    case TRL_STR:
        for (; i < end; i++) {
            v[k] = c->v.codes[i];
            g[k] = gid[i];
            k += (gid[i] >= 0) & (c->v.codes[i] >= 0);
        }
        break;
    }
    *pos = end;
    return k;
}

/* Non-zero when pos sits on a poll boundary and the user asked to stop. */
static int stop_at(size_t pos)
{
    return pos && (pos & (TRL__POLL_ROWS - 1)) == 0 &&
           trl__registry_interrupted();
}


/* Per-group state of one numeric aggregate. */
typedef struct acc {
    int64_t *count;
    trl__ksum *sum;        /* sum, mean, std */
    double *lo, *hi;  /* min, max, std */
    trl__ksum *sq;         /* std: squared deviations from the mean */
} acc;

static void acc_free(acc *a)
{
    free(a->count);
    free(a->sum);
    free(a->lo);
    free(a->hi);
    free(a->sq);
}

static int acc_init(acc *a, trl_agg_fn fn, size_t ngroups)
{
    size_t n = ngroups ? ngroups : 1;
    memset(a, 0, sizeof *a);
    a->count = calloc(n, sizeof *a->count);
    int ok = a->count != NULL;
    if (fn == TRL_AGG_SUM || fn == TRL_AGG_MEAN || fn == TRL_AGG_STD)
        ok = ok && (a->sum = calloc(n, sizeof *a->sum));
    if (fn == TRL_AGG_MIN || fn == TRL_AGG_STD)
        ok = ok && (a->lo = malloc(n * sizeof *a->lo));
    if (fn == TRL_AGG_MAX || fn == TRL_AGG_STD)
        ok = ok && (a->hi = malloc(n * sizeof *a->hi));
    if (fn == TRL_AGG_STD)
        ok = ok && (a->sq = calloc(n, sizeof *a->sq));
    if (!ok) {
        acc_free(a);
        return TRL_ENOMEM;
    }
    for (size_t g = 0; a->lo && g < ngroups; g++)
        a->lo[g] = INFINITY;
    for (size_t g = 0; a->hi && g < ngroups; g++)
        a->hi[g] = -INFINITY;
    return 0;
}

/* One pass over c: counts, and sums and extremes where a holds them. */
static int accumulate(const trl_column *c, const int32_t *gid, acc *a,
                      trl_error *err)
{
    double v[CHUNK];
    int32_t g[CHUNK];
    size_t pos = 0;
    while (pos < c->len) {
        if (stop_at(pos))
            return trl__registry_interrupt_error(err);
        size_t k = next_chunk(c, gid, &pos, v, g);
        for (size_t j = 0; j < k; j++)
            a->count[g[j]]++;
        if (a->sum)
            for (size_t j = 0; j < k; j++)
                trl__ksum_add(&a->sum[g[j]], v[j]);
        if (a->lo)
            for (size_t j = 0; j < k; j++)
                a->lo[g[j]] = v[j] < a->lo[g[j]] ? v[j] : a->lo[g[j]];
        if (a->hi)
            for (size_t j = 0; j < k; j++)
                a->hi[g[j]] = v[j] > a->hi[g[j]] ? v[j] : a->hi[g[j]];
    }
    return 0;
}

/* The second pass of std, as NumPy: squared deviations from each group's
 * mean (mean[g]). */
static int accumulate_squares(const trl_column *c, const int32_t *gid,
                              const double *mean, acc *a, trl_error *err)
{
    double v[CHUNK];
    int32_t g[CHUNK];
    size_t pos = 0;
    while (pos < c->len) {
        if (stop_at(pos))
            return trl__registry_interrupt_error(err);
        size_t k = next_chunk(c, gid, &pos, v, g);
        for (size_t j = 0; j < k; j++) {
            double d = v[j] - mean[g[j]];
            trl__ksum_add(&a->sq[g[j]], d * d);
        }
    }
    return 0;
}

/* count, sum, mean, std, min or max of c per group, as NumPy's
 * nan-functions: sum of nothing 0, the rest of nothing NaN, std (ddof 1)
 * of fewer than two values NaN. out is in key order. */
static int numeric_agg(const trl_column *c, trl_agg_fn fn, const int32_t *gid,
                       const int32_t *order, trl_column *out, trl_error *err)
{
    acc a;
    size_t ngroups = out->len;
    double *mean = NULL;
    if (acc_init(&a, fn, ngroups) != 0)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    int rc = accumulate(c, gid, &a, err);
    if (rc == 0 && fn == TRL_AGG_STD) {
        if (!(mean = malloc((ngroups ? ngroups : 1) * sizeof *mean))) {
            rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
        } else {
            for (size_t g = 0; g < ngroups; g++)
                mean[g] = a.count[g] ? trl__ksum_value(&a.sum[g]) /
                                           (double)a.count[g]
                                     : NAN;
            rc = accumulate_squares(c, gid, mean, &a, err);
        }
    }
    for (size_t r = 0; rc == 0 && r < ngroups; r++) {
        size_t g = (size_t)order[r];
        double n = (double)a.count[g];
        switch (fn) {
        case TRL_AGG_COUNT: out->v.i64[r] = a.count[g]; break;
        case TRL_AGG_SUM: out->v.f64[r] = trl__ksum_value(&a.sum[g]); break;
        case TRL_AGG_MEAN:
            out->v.f64[r] = n ? trl__ksum_value(&a.sum[g]) / n : NAN;
            break;
        case TRL_AGG_STD:
            if (n < 2)
                out->v.f64[r] = NAN;
            else if (a.lo[g] == a.hi[g] && isfinite(a.lo[g]))
                out->v.f64[r] = 0;  /* constant: exactly 0, as stats.c */
            else
                out->v.f64[r] = sqrt(trl__ksum_value(&a.sq[g]) / (n - 1));
            break;
        case TRL_AGG_MIN: out->v.f64[r] = n ? a.lo[g] : NAN; break;
        case TRL_AGG_MAX: out->v.f64[r] = n ? a.hi[g] : NAN; break;
        case TRL_AGG_N_UNIQUE:
        case TRL_AGG_FIRST:
            break;
        }
    }
    free(mean);
    acc_free(&a);
    return rc;
}

/* ---- distinct values per group ------------------------------------------ */

/* A set of 64-bit keys for one group at a time (linear probing, load <=
 * 1/2): 0 marks an empty slot, so key 0 is kept apart in has_zero. */
typedef struct keyset {
    uint64_t *slots;
    size_t cap;
    int has_zero;
} keyset;

/* Adds key; 1 when it was new. */
static int keyset_add(keyset *s, uint64_t key)
{
    if (key == 0) {
        int added = !s->has_zero;
        s->has_zero = 1;
        return added;
    }
    size_t mask = s->cap - 1;
    for (size_t i = trl__mix64(key) & mask;; i = (i + 1) & mask) {
        if (s->slots[i] == key)
            return 0;
        if (s->slots[i] == 0) {
            s->slots[i] = key;
            return 1;
        }
    }
}

/* Distinct present values of c per group, exactly: the keys (row_key) are
 * bucketed by group in one pass, then each group's bucket is counted with a
 * set sized for it, which stays in cache where one table over all (group,
 * value) pairs would not. out is in key order. */
static int n_unique_agg(const trl_column *c, const int32_t *gid,
                        const int32_t *order, trl_column *out,
                        trl_error *err)
{
    size_t ngroups = out->len, n = c->len, total = 0;
    size_t *start = calloc(ngroups + 1, sizeof *start);
    size_t *fill = NULL, *distinct = NULL;
    uint64_t *keys = NULL;
    keyset set = {0};
    int rc = 0;
    if (!start)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        uint64_t key;
        if (stop_at(i))
            goto interrupted;
        if (gid[i] >= 0 && row_key(c, i, &key))
            start[gid[i] + 1]++;
    }
    size_t largest = 0;
    for (size_t g = 0; g < ngroups; g++) {
        largest = start[g + 1] > largest ? start[g + 1] : largest;
        start[g + 1] += start[g];
    }
    total = start[ngroups];
    fill = malloc((ngroups ? ngroups : 1) * sizeof *fill);
    distinct = calloc(ngroups ? ngroups : 1, sizeof *distinct);
    keys = malloc((total ? total : 1) * sizeof *keys);
    set.cap = 8;
    while (set.cap < largest * 2)
        set.cap <<= 1;
    set.slots = malloc(set.cap * sizeof *set.slots);
    if (!fill || !distinct || !keys || !set.slots)
        goto oom;
    if (ngroups)
        memcpy(fill, start, ngroups * sizeof *fill);
    for (size_t i = 0; i < n; i++) {
        uint64_t key;
        if (stop_at(i))
            goto interrupted;
        if (gid[i] >= 0 && row_key(c, i, &key))
            keys[fill[gid[i]]++] = key;
    }
    size_t done = 0;
    for (size_t g = 0; g < ngroups; g++) {
        size_t m = start[g + 1] - start[g], cap = 8;
        while (cap < m * 2)
            cap <<= 1;
        keyset s = {set.slots, cap, 0};
        memset(s.slots, 0, cap * sizeof *s.slots);
        for (size_t j = start[g]; j < start[g + 1]; j++) {
            if (stop_at(++done))
                goto interrupted;
            distinct[g] += (size_t)keyset_add(&s, keys[j]);
        }
    }
    for (size_t r = 0; r < ngroups; r++)
        out->v.i64[r] = (int64_t)distinct[order[r]];
    goto done;
oom:
    rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
    goto done;
interrupted:
    rc = trl__registry_interrupt_error(err);
done:
    free(start);
    free(fill);
    free(distinct);
    free(keys);
    free(set.slots);
    return rc;
}

/* ---- first present value -------------------------------------------------- */

/* Each group's first present value of c in row order; missing (of c's
 * type) for a group that has none. out has c's type and dictionary. */
static int first_agg(const trl_column *c, const int32_t *gid,
                     const int32_t *order, trl_column *out, trl_error *err)
{
    size_t ngroups = out->len, found = 0;
    size_t *first = malloc((ngroups ? ngroups : 1) * sizeof *first);
    if (!first)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    for (size_t g = 0; g < ngroups; g++)
        first[g] = SIZE_MAX;
    for (size_t i = 0; i < c->len && found < ngroups; i++) {
        if (stop_at(i)) {
            free(first);
            return trl__registry_interrupt_error(err);
        }
        int32_t g = gid[i];
        if (g >= 0 && first[g] == SIZE_MAX && !trl_column_is_missing(c, i)) {
            first[g] = i;
            found++;
        }
    }
    if (found < ngroups && c->type == TRL_I64) {
        if (!(out->valid = malloc(ngroups))) {
            free(first);
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
        }
        memset(out->valid, 1, ngroups);
    }
    for (size_t r = 0; r < ngroups; r++) {
        size_t row = first[order[r]];
        int none = row == SIZE_MAX;
        switch (c->type) {
        case TRL_F64: out->v.f64[r] = none ? NAN : c->v.f64[row]; break;
        case TRL_I64:
            out->v.i64[r] = none ? 0 : c->v.i64[row];
            if (none)
                out->valid[r] = 0;
            break;
        case TRL_BOOL:
            out->v.b[r] = none ? TRL_BOOL_MISSING : c->v.b[row];
            break;
        case TRL_STR: out->v.codes[r] = none ? -1 : c->v.codes[row]; break;
        }
    }
    free(first);
    return 0;
}

/* ---- the operation ---------------------------------------------------------- */

/* The output column of one aggregate, in key order. */
static trl_column *aggregate(const trl_column *c, trl_agg_fn fn,
                             const int32_t *gid, const int32_t *order,
                             size_t ngroups, trl_error *err)
{
    trl_dtype type = fn == TRL_AGG_COUNT || fn == TRL_AGG_N_UNIQUE ? TRL_I64
                     : fn == TRL_AGG_FIRST                         ? c->type
                                                                   : TRL_F64;
    trl_column *out = trl__column_new_uninit(
        type, ngroups, type == TRL_STR ? c->dict : NULL);
    if (!out) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    int rc = fn == TRL_AGG_N_UNIQUE ? n_unique_agg(c, gid, order, out, err)
             : fn == TRL_AGG_FIRST  ? first_agg(c, gid, order, out, err)
                                    : numeric_agg(c, fn, gid, order, out, err);
    if (rc != 0) {
        trl_column_decref(out);
        return NULL;
    }
    return out;
}

/* Checks every aggregate before any work: known columns and functions,
 * functions that apply to the column's type, output names that are set,
 * distinct, and not the key's. */
static int check_aggs(const trl_frame *f, const char *key,
                      const trl_agg *aggs, size_t n, trl_error *err)
{
    for (size_t a = 0; a < n; a++) {
        const trl_agg *g = &aggs[a];
        if ((unsigned)g->fn >= N_AGGS)
            return trl_error_set(err, TRL_EINVAL, "agg: unknown "
                                 "aggregation %d", (int)g->fn);
        const trl_column *c = g->column ? trl_frame_get(f, g->column) : NULL;
        if (!c)
            return trl_error_set(err, TRL_ENOTFOUND, "agg: no column '%s'",
                                 g->column ? g->column : "(null)");
        if (c->type == TRL_STR && g->fn != TRL_AGG_COUNT &&
            g->fn != TRL_AGG_N_UNIQUE && g->fn != TRL_AGG_FIRST)
            return trl_error_set(err, TRL_EINVAL, "%s needs a numeric "
                                 "column; '%s' is str", agg_names[g->fn],
                                 g->column);
        if (!g->as || !*g->as)
            return trl_error_set(err, TRL_EINVAL, "agg: the %s of '%s' "
                                 "needs an output name", agg_names[g->fn],
                                 g->column);
        if (strcmp(g->as, key) == 0)
            return trl_error_set(err, TRL_EINVAL, "agg: output '%s' would "
                                 "replace the key column; choose another "
                                 "name", g->as);
        for (size_t b = 0; b < a; b++)
            if (strcmp(aggs[b].as, g->as) == 0)
                return trl_error_set(err, TRL_EINVAL, "agg: two outputs "
                                     "are named '%s'", g->as);
    }
    return 0;
}

trl_frame *trl_frame_group_by(const trl_frame *f, const char *key,
                              const trl_agg *aggs, size_t n, trl_error *err)
{
    const trl_column *kc = key ? trl_frame_get(f, key) : NULL;
    if (!kc) {
        trl_error_set(err, TRL_ENOTFOUND, "group_by: no column '%s'",
                      key ? key : "(null)");
        return NULL;
    }
    if (check_aggs(f, key, aggs, n, err) != 0)
        return NULL;
    trl_frame *out = NULL;
    int32_t *order = NULL;
    groups gs;
    int32_t *gid = malloc((kc->len ? kc->len : 1) * sizeof *gid);
    if (groups_init(&gs, 1024) != 0 || !gid)
        goto oom;
    if (assign_groups(kc, gid, &gs, err) != 0)
        goto fail;
    order = malloc((gs.n ? gs.n : 1) * sizeof *order);
    if (!order || sort_groups(kc, &gs, order) != 0 || !(out = trl_frame_new()))
        goto oom;
    trl_column *keys = key_column(kc, &gs, order);
    if (!keys)
        goto oom;
    int rc = trl_frame_set(out, key, keys, err);
    trl_column_decref(keys);
    if (rc != 0)
        goto fail;
    for (size_t a = 0; a < n; a++) {
        trl_column *c = aggregate(trl_frame_get(f, aggs[a].column),
                                  aggs[a].fn, gid, order, gs.n, err);
        if (!c)
            goto fail;
        rc = trl_frame_set(out, aggs[a].as, c, err);
        trl_column_decref(c);
        if (rc != 0)
            goto fail;
    }
    goto done;
oom:
    trl_error_set(err, TRL_ENOMEM, "out of memory");
fail:
    trl_frame_decref(out);
    out = NULL;
done:
    groups_free(&gs);
    free(gid);
    free(order);
    return out;
}
