/* group.c - group-by aggregation: rows hashed to groups in one pass, each
 * aggregate accumulated per group in one more, groups ordered by key. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_int.h"

int trl_agg_parse(const char *name)
{
    static const char *names[] = {"count", "sum", "mean", "std", "min",
                                  "max", "n_unique", "first"};
    for (int i = 0; i < 8; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

static const char *agg_name(trl_agg_fn fn)
{
    static const char *names[] = {"count", "sum", "mean", "std", "min",
                                  "max", "n_unique", "first"};
    return names[fn];
}

/* ---- a map from 64-bit keys to small integers --------------------------- */

typedef struct keymap {
    uint64_t *keys;
    int64_t *vals;   /* -1 = empty slot */
    size_t cap, n;
} keymap;

static int keymap_init(keymap *m, size_t cap)
{
    m->cap = 16;
    while (m->cap < cap * 2)
        m->cap <<= 1;
    m->n = 0;
    m->keys = malloc(m->cap * sizeof *m->keys);
    m->vals = malloc(m->cap * sizeof *m->vals);
    if (!m->keys || !m->vals) {
        free(m->keys);
        free(m->vals);
        return TRL_ENOMEM;
    }
    memset(m->vals, 0xff, m->cap * sizeof *m->vals);
    return 0;
}

static void keymap_free(keymap *m)
{
    free(m->keys);
    free(m->vals);
}

/* Slot of key: holding it, or the empty one where it would go. */
static size_t keymap_slot(const keymap *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    for (size_t i = trl__mix64(key) & mask;; i = (i + 1) & mask)
        if (m->vals[i] < 0 || m->keys[i] == key)
            return i;
}

static int keymap_grow(keymap *m)
{
    keymap g;
    if (keymap_init(&g, m->cap) != 0)  /* doubles: cap * 2 slots */
        return TRL_ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->vals[i] >= 0) {
            size_t s = keymap_slot(&g, m->keys[i]);
            g.keys[s] = m->keys[i];
            g.vals[s] = m->vals[i];
        }
    g.n = m->n;
    keymap_free(m);
    *m = g;
    return 0;
}

/* The value of key, inserting next_val when absent (*added set). */
static int64_t keymap_get_or_add(keymap *m, uint64_t key, int64_t next_val,
                                 int *added)
{
    *added = 0;
    if ((m->n + 1) * 2 > m->cap && keymap_grow(m) != 0)
        return -2;
    size_t s = keymap_slot(m, key);
    if (m->vals[s] >= 0)
        return m->vals[s];
    m->keys[s] = key;
    m->vals[s] = next_val;
    m->n++;
    *added = 1;
    return next_val;
}

/* ---- keys -------------------------------------------------------------------- */

/* A row's key as 64 bits (equal values give equal bits); 0 when missing,
 * *present tells which. */
static uint64_t row_key(const trl_column *c, size_t i, int *present)
{
    *present = !trl_column_is_missing(c, i);
    if (!*present)
        return 0;
    switch (c->type) {
    case TRL_F64: {
        double v = c->v.f64[i];
        if (v == 0)
            v = 0;  /* -0.0 and 0.0 are one group */
        uint64_t k;
        memcpy(&k, &v, sizeof k);
        return k;
    }
    case TRL_I64: return (uint64_t)c->v.i64[i];
    case TRL_BOOL: return c->v.b[i];
    case TRL_STR: return (uint64_t)(uint32_t)c->v.codes[i];
    }
    return 0;
}

static const trl_column *sort_col;

static int cmp_rows(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const trl_column *c = sort_col;
    switch (c->type) {
    case TRL_F64: {
        double x = c->v.f64[a], y = c->v.f64[b];
        return x < y ? -1 : x > y;
    }
    case TRL_I64: {
        int64_t x = c->v.i64[a], y = c->v.i64[b];
        return x < y ? -1 : x > y;
    }
    case TRL_BOOL: return (int)c->v.b[a] - (int)c->v.b[b];
    case TRL_STR: {
        int32_t x = c->v.codes[a], y = c->v.codes[b];
        size_t lx = c->dict->lens[x], ly = c->dict->lens[y];
        int r = memcmp(c->dict->strs[x], c->dict->strs[y], lx < ly ? lx : ly);
        return r ? r : (lx < ly ? -1 : lx > ly);
    }
    }
    return 0;
}

/* ---- aggregates -------------------------------------------------------------- */

/* out (ngroups) from the values of c in each row's group. gid[i] < 0 for
 * rows without a group. */
static trl_column *aggregate(const trl_column *c, trl_agg_fn fn,
                             const int64_t *gid, size_t ngroups,
                             const size_t *rank, trl_error *err)
{
    size_t n = c->len;
    trl_dtype type = fn == TRL_AGG_COUNT || fn == TRL_AGG_N_UNIQUE ? TRL_I64
                     : fn == TRL_AGG_FIRST ? c->type
                                           : TRL_F64;
    trl_column *out = trl_column_new(type, ngroups, c->dict);
    double *acc = calloc(ngroups ? ngroups : 1, sizeof *acc);
    double *comp = calloc(ngroups ? ngroups : 1, sizeof *comp);
    size_t *cnt = calloc(ngroups ? ngroups : 1, sizeof *cnt);
    size_t *first = NULL;
    if (!out || !acc || !comp || !cnt)
        goto oom;
    if (fn == TRL_AGG_FIRST) {
        first = malloc((ngroups ? ngroups : 1) * sizeof *first);
        if (!first)
            goto oom;
        for (size_t g = 0; g < ngroups; g++)
            first[g] = SIZE_MAX;
    }
    if (fn == TRL_AGG_MIN || fn == TRL_AGG_MAX)
        for (size_t g = 0; g < ngroups; g++)
            acc[g] = NAN;
    keymap seen = {0};
    if (fn == TRL_AGG_N_UNIQUE && keymap_init(&seen, 1024) != 0)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if ((i & (TRL__POLL_ROWS - 1)) == 0 && i &&
            trl__registry_interrupted()) {
            trl__registry_interrupt_error(err);
            goto fail;
        }
        if (gid[i] < 0 || trl_column_is_missing(c, i))
            continue;
        size_t g = rank[gid[i]];
        cnt[g]++;
        if (fn == TRL_AGG_FIRST) {
            if (first[g] == SIZE_MAX)
                first[g] = i;
            continue;
        }
        if (fn == TRL_AGG_N_UNIQUE) {
            int present, added;
            uint64_t k = row_key(c, i, &present);
            /* one key per (group, value) pair, folded to 64 bits: two
             * pairs collide with odds of 2^-64 */
            uint64_t pair = trl__mix64(k) ^ (trl__mix64((uint64_t)g + 0x9E37ull) << 1);
            if (keymap_get_or_add(&seen, pair, 0, &added) == -2)
                goto oom_map;
            if (added)
                out->v.i64[g]++;
            continue;
        }
        if (fn == TRL_AGG_COUNT)
            continue;
        double v = trl_column_get_f64(c, i);
        if (fn == TRL_AGG_MIN) {
            if (isnan(acc[g]) || v < acc[g])
                acc[g] = v;
        } else if (fn == TRL_AGG_MAX) {
            if (isnan(acc[g]) || v > acc[g])
                acc[g] = v;
        } else {
            /* Neumaier summation: agrees with NumPy's pairwise sum far
             * inside 1e-9 */
            double t = acc[g] + v;
            if (fabs(acc[g]) >= fabs(v))
                comp[g] += (acc[g] - t) + v;
            else
                comp[g] += (v - t) + acc[g];
            acc[g] = t;
        }
    }
    if (fn == TRL_AGG_STD) {
        /* two passes, as NumPy: the mean first, then squared deviations */
        double *mean = malloc((ngroups ? ngroups : 1) * sizeof *mean);
        if (!mean)
            goto oom;
        for (size_t g = 0; g < ngroups; g++) {
            mean[g] = cnt[g] ? (acc[g] + comp[g]) / (double)cnt[g] : NAN;
            acc[g] = comp[g] = 0;
        }
        for (size_t i = 0; i < n; i++) {
            if (gid[i] < 0 || trl_column_is_missing(c, i))
                continue;
            size_t g = rank[gid[i]];
            double d = trl_column_get_f64(c, i) - mean[g];
            double v = d * d, t = acc[g] + v;
            comp[g] += (acc[g] - t) + v;
            acc[g] = t;
        }
        free(mean);
    }
    for (size_t g = 0; g < ngroups; g++) {
        double s = acc[g] + comp[g];
        switch (fn) {
        case TRL_AGG_COUNT: out->v.i64[g] = (int64_t)cnt[g]; break;
        case TRL_AGG_SUM: out->v.f64[g] = s; break;
        case TRL_AGG_MEAN: out->v.f64[g] = cnt[g] ? s / (double)cnt[g] : NAN;
            break;
        case TRL_AGG_STD:
            out->v.f64[g] = cnt[g] > 1 ? sqrt(s / (double)(cnt[g] - 1)) : NAN;
            break;
        case TRL_AGG_MIN: case TRL_AGG_MAX: out->v.f64[g] = acc[g]; break;
        case TRL_AGG_N_UNIQUE: break;
        case TRL_AGG_FIRST: {
            size_t r = first[g];
            if (r == SIZE_MAX) {
                if (type == TRL_F64)
                    out->v.f64[g] = NAN;
                else if (type == TRL_BOOL)
                    out->v.b[g] = TRL_BOOL_MISSING;
                else if (type == TRL_STR)
                    out->v.codes[g] = -1;
                else {
                    if (!out->valid) {
                        if (!(out->valid = malloc(ngroups)))
                            goto oom;
                        memset(out->valid, 1, ngroups);
                    }
                    out->valid[g] = 0;
                }
                break;
            }
            switch (type) {
            case TRL_F64: out->v.f64[g] = c->v.f64[r]; break;
            case TRL_I64: out->v.i64[g] = c->v.i64[r]; break;
            case TRL_BOOL: out->v.b[g] = c->v.b[r]; break;
            case TRL_STR: out->v.codes[g] = c->v.codes[r]; break;
            }
            break;
        }
        }
    }
    if (fn == TRL_AGG_N_UNIQUE)
        keymap_free(&seen);
    free(acc);
    free(comp);
    free(cnt);
    free(first);
    return out;
oom_map:
    keymap_free(&seen);
oom:
    trl_error_set(err, TRL_ENOMEM, "out of memory");
fail:
    if (fn == TRL_AGG_N_UNIQUE && seen.keys)
        keymap_free(&seen);
    trl_column_decref(out);
    free(acc);
    free(comp);
    free(cnt);
    free(first);
    return NULL;
}

trl_frame *trl_frame_group_by(const trl_frame *f, const char *key,
                              const trl_agg *aggs, size_t n, trl_error *err)
{
    const trl_column *kc = trl_frame_get(f, key);
    if (!kc) {
        trl_error_set(err, TRL_ENOTFOUND, "group_by: no column '%s'", key);
        return NULL;
    }
    for (size_t a = 0; a < n; a++) {
        const trl_column *c = trl_frame_get(f, aggs[a].column);
        if (!c) {
            trl_error_set(err, TRL_ENOTFOUND, "agg: no column '%s'",
                          aggs[a].column);
            return NULL;
        }
        if (c->type == TRL_STR && aggs[a].fn != TRL_AGG_COUNT &&
            aggs[a].fn != TRL_AGG_N_UNIQUE && aggs[a].fn != TRL_AGG_FIRST) {
            trl_error_set(err, TRL_EINVAL, "%s needs a numeric column; '%s' "
                          "is str", agg_name(aggs[a].fn), aggs[a].column);
            return NULL;
        }
    }
    size_t rows = kc->len;
    int64_t *gid = malloc((rows ? rows : 1) * sizeof *gid);
    size_t *rep = NULL, *order = NULL, *rank = NULL;
    trl_frame *out = NULL;
    keymap m = {0};
    if (!gid || keymap_init(&m, 1024) != 0)
        goto oom;
    size_t ngroups = 0, cap = 0;
    for (size_t i = 0; i < rows; i++) {
        if ((i & (TRL__POLL_ROWS - 1)) == 0 && i &&
            trl__registry_interrupted()) {
            trl__registry_interrupt_error(err);
            goto fail;
        }
        int present, added;
        uint64_t k = row_key(kc, i, &present);
        if (!present) {
            gid[i] = -1;  /* pandas drops missing keys */
            continue;
        }
        int64_t g = keymap_get_or_add(&m, k, (int64_t)ngroups, &added);
        if (g == -2)
            goto oom;
        if (added) {
            if (ngroups == cap) {
                cap = cap ? cap * 2 : 64;
                size_t *r = realloc(rep, cap * sizeof *r);
                if (!r)
                    goto oom;
                rep = r;
            }
            rep[ngroups++] = i;  /* a row that holds the group's key */
        }
        gid[i] = g;
    }
    order = malloc((ngroups ? ngroups : 1) * sizeof *order);
    rank = malloc((ngroups ? ngroups : 1) * sizeof *rank);
    if (!order || !rank)
        goto oom;
    if (ngroups)
        memcpy(order, rep, ngroups * sizeof *order);
    /* groups in key order: sort their representative rows */
    sort_col = kc;
    qsort(order, ngroups, sizeof *order, cmp_rows);
    for (size_t r = 0; r < ngroups; r++) {
        int present, added;
        int64_t g = keymap_get_or_add(&m, row_key(kc, order[r], &present), 0,
                                      &added);
        rank[g] = r;
    }
    out = trl_frame_new();
    if (!out)
        goto oom;
    trl_column *keys = trl_column_take(kc, order, ngroups, err);
    if (!keys || trl_frame_set(out, key, keys, err) != 0) {
        trl_column_decref(keys);
        goto fail;
    }
    trl_column_decref(keys);
    for (size_t a = 0; a < n; a++) {
        trl_column *c = aggregate(trl_frame_get(f, aggs[a].column),
                                  aggs[a].fn, gid, ngroups, rank, err);
        if (!c || trl_frame_set(out, aggs[a].as, c, err) != 0) {
            trl_column_decref(c);
            goto fail;
        }
        trl_column_decref(c);
    }
    goto done;
oom:
    trl_error_set(err, TRL_ENOMEM, "out of memory");
fail:
    trl_frame_decref(out);
    out = NULL;
done:
    keymap_free(&m);
    free(gid);
    free(rep);
    free(order);
    free(rank);
    return out;
}
