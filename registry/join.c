/* join.c - joining frames on a key column: a hash table over the right
 * frame's keys, probed with the left's, rows gathered column by column. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_int.h"

#define NO_ROW SIZE_MAX

/* How two key columns compare: both i64 by value (exact past 2^53);
 * other numbers as doubles, as pandas, so i64 1 matches f64 1.0 and bool
 * true; strings by the right dictionary's code, the left's codes
 * translated by content. */
typedef enum { KEYS_I64, KEYS_F64, KEYS_STR } key_mode;

/* Row i's key as 64 bits in mode; 0 when it can match nothing (missing,
 * or a string the right dictionary lacks). map translates str codes. */
static inline int key_of(const trl_column *c, size_t i, key_mode mode,
                         const int32_t *map, uint64_t *key)
{
    if (mode == KEYS_STR) {
        int32_t code = c->v.codes[i];
        if (code < 0 || (map && (code = map[code]) < 0))
            return 0;
        *key = (uint64_t)(uint32_t)code;
        return 1;
    }
    if (mode == KEYS_I64) {
        *key = (uint64_t)c->v.i64[i];
        return !c->valid || c->valid[i];
    }
    double x = trl_column_get_f64(c, i);
    if (isnan(x))
        return 0;
    *key = 0;
    if (x != 0)  /* -0.0 == 0.0 */
        memcpy(key, &x, sizeof *key);
    return 1;
}

/* The right frame's rows by key: distinct keys in an open-addressing table
 * (load <= 1/2) numbered in order of appearance; key k's rows, in right
 * order, are rows[start[k] .. start[k + 1]). */
typedef struct rowindex {
    uint64_t *keys;
    size_t *ids;        /* per slot: the key's number, NO_ROW when empty */
    size_t cap, nkeys;
    size_t *start;      /* nkeys + 1 */
    size_t *rows;
} rowindex;

static void index_free(rowindex *x)
{
    free(x->keys);
    free(x->ids);
    free(x->start);
    free(x->rows);
}

static size_t index_slot(const rowindex *x, uint64_t key)
{
    size_t mask = x->cap - 1;
    size_t s = trl__mix64(key) & mask;
    while (x->ids[s] != NO_ROW && x->keys[s] != key)
        s = (s + 1) & mask;
    return s;
}

/* The number of key, NO_ROW when absent. */
static size_t index_find(const rowindex *x, uint64_t key)
{
    return x->ids[index_slot(x, key)];
}

static int index_build(rowindex *x, const trl_column *rk, key_mode mode,
                       trl_error *err)
{
    size_t n = rk->len;
    size_t *row_key = malloc((n ? n : 1) * sizeof *row_key);
    memset(x, 0, sizeof *x);
    x->cap = 16;
    while (x->cap < n * 2)
        x->cap <<= 1;
    x->keys = malloc(x->cap * sizeof *x->keys);
    x->ids = malloc(x->cap * sizeof *x->ids);
    x->rows = malloc((n ? n : 1) * sizeof *x->rows);
    if (!row_key || !x->keys || !x->ids || !x->rows) {
        free(row_key);
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    memset(x->ids, 0xff, x->cap * sizeof *x->ids);  /* NO_ROW */
    for (size_t j = 0; j < n; j++) {
        if ((j & (TRL__POLL_ROWS - 1)) == 0 && j &&
            trl__registry_interrupted()) {
            free(row_key);
            return trl__registry_interrupt_error(err);
        }
        uint64_t key;
        row_key[j] = NO_ROW;
        if (!key_of(rk, j, mode, NULL, &key))
            continue;
        size_t s = index_slot(x, key);
        if (x->ids[s] == NO_ROW) {
            x->keys[s] = key;
            x->ids[s] = x->nkeys++;
        }
        row_key[j] = x->ids[s];
    }
    /* a counting sort of the rows by key number, stable */
    x->start = calloc(x->nkeys + 1, sizeof *x->start);
    if (!x->start) {
        free(row_key);
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < n; j++)
        if (row_key[j] != NO_ROW)
            x->start[row_key[j] + 1]++;
    for (size_t k = 0; k < x->nkeys; k++)
        x->start[k + 1] += x->start[k];
    for (size_t j = 0; j < n; j++)
        if (row_key[j] != NO_ROW)
            x->rows[x->start[row_key[j]]++] = j;
    /* the fill moved each start to the next one's: shift back */
    memmove(x->start + 1, x->start, x->nkeys * sizeof *x->start);
    x->start[0] = 0;
    free(row_key);
    return 0;
}

/* map[c] = the right dictionary's code of the left's string c, -1 when the
 * right has no such string; NULL for a shared dictionary (no translation)
 * and on failure (err set, *rc non-zero). */
static int32_t *translate_codes(const trl_column *lk, const trl_column *rk,
                                int *rc, trl_error *err)
{
    *rc = 0;
    if (lk->dict == rk->dict)
        return NULL;
    size_t n = lk->dict ? lk->dict->n : 0;
    int32_t *map = malloc((n ? n : 1) * sizeof *map);
    if (!map) {
        *rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t c = 0; c < n; c++) {
        if ((c & (TRL__POLL_ROWS - 1)) == 0 && c &&
            trl__registry_interrupted()) {
            free(map);
            *rc = trl__registry_interrupt_error(err);
            return NULL;
        }
        map[c] = rk->dict ? trl_strdict_find(rk->dict, lk->dict->strs[c],
                                             lk->dict->lens[c])
                          : -1;
    }
    return map;
}

/* A column of rows idx of c; where idx is NO_ROW, missing (NaN, invalid,
 * TRL_BOOL_MISSING or -1). any_none: whether idx holds NO_ROW at all. */
static trl_column *gather(const trl_column *c, const size_t *idx, size_t n,
                          int any_none, trl_error *err)
{
    trl_column *out = trl__column_new_uninit(c->type, n, c->dict);
    if (!out)
        goto oom;
    if ((c->valid || (c->type == TRL_I64 && any_none)) &&
        !(out->valid = malloc(n ? n : 1))) {
        trl_column_decref(out);
        goto oom;
    }
    for (size_t s = 0; s < n; s += TRL__POLL_ROWS) {
        if (s && trl__registry_interrupted()) {
            trl_column_decref(out);
            trl__registry_interrupt_error(err);
            return NULL;
        }
        size_t e = n - s > TRL__POLL_ROWS ? s + TRL__POLL_ROWS : n;
        switch (c->type) {
        case TRL_F64:
            for (size_t i = s; i < e; i++)
                out->v.f64[i] = idx[i] == NO_ROW ? NAN : c->v.f64[idx[i]];
            break;
        case TRL_I64:
            for (size_t i = s; i < e; i++)
                out->v.i64[i] = idx[i] == NO_ROW ? 0 : c->v.i64[idx[i]];
            break;
        case TRL_BOOL:
            for (size_t i = s; i < e; i++)
                out->v.b[i] = idx[i] == NO_ROW ? TRL_BOOL_MISSING
                                               : c->v.b[idx[i]];
            break;
        case TRL_STR:
            for (size_t i = s; i < e; i++)
                out->v.codes[i] = idx[i] == NO_ROW ? -1
                                                   : c->v.codes[idx[i]];
            break;
        }
        for (size_t i = s; out->valid && i < e; i++)
            out->valid[i] = idx[i] != NO_ROW && (!c->valid || c->valid[idx[i]]);
    }
    return out;
oom:
    trl_error_set(err, TRL_ENOMEM, "out of memory");
    return NULL;
}

/* name, or name_right, name_right2, ... : the first that out lacks.
 * malloc'd; NULL when out of memory. */
static char *free_name(const trl_frame *out, const char *name)
{
    size_t size = strlen(name) + sizeof "_right" + 24;
    char *buf = malloc(size);
    if (!buf)
        return NULL;
    snprintf(buf, size, "%s", name);
    for (unsigned long k = 1; trl_frame_get(out, buf); k++) {
        if (k == 1)
            snprintf(buf, size, "%s_right", name);
        else
            snprintf(buf, size, "%s_right%lu", name, k);
    }
    return buf;
}

/* Adds c gathered at idx to out as name (or its free variant); identity
 * idx (NULL) shares c itself, as columns never change. */
static int add_column(trl_frame *out, const char *name, trl_column *c,
                      const size_t *idx, size_t n, int any_none,
                      trl_error *err)
{
    char *as = free_name(out, name);
    if (!as)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    trl_column *col = idx ? gather(c, idx, n, any_none, err) : c;
    int rc = col ? trl_frame_set(out, as, col, err) : TRL_ENOMEM;
    if (idx)
        trl_column_decref(col);
    free(as);
    return rc;
}

trl_frame *trl_frame_join(const trl_frame *left, const trl_frame *right,
                          const char *key, trl_join_kind kind,
                          trl_error *err)
{
    if (kind != TRL_JOIN_INNER && kind != TRL_JOIN_LEFT) {
        trl_error_set(err, TRL_EINVAL, "join: unknown kind %d", (int)kind);
        return NULL;
    }
    const trl_column *lk = key ? trl_frame_get(left, key) : NULL;
    const trl_column *rk = key ? trl_frame_get(right, key) : NULL;
    if (!lk || !rk) {
        trl_error_set(err, TRL_ENOTFOUND, "join: the %s frame has no "
                      "column '%s'", lk ? "right" : "left",
                      key ? key : "(null)");
        return NULL;
    }
    if ((lk->type == TRL_STR) != (rk->type == TRL_STR)) {
        trl_error_set(err, TRL_EINVAL, "join: '%s' is %s on the left and "
                      "%s on the right; keys must both be numbers or both "
                      "strings", key, trl_dtype_name(lk->type),
                      trl_dtype_name(rk->type));
        return NULL;
    }
    key_mode mode = lk->type == TRL_STR ? KEYS_STR
                    : lk->type == TRL_I64 && rk->type == TRL_I64 ? KEYS_I64
                                                                 : KEYS_F64;
    size_t nl = lk->len, total = 0, unmatched = 0;
    int identity = 1;  /* every left row gives exactly one output row */
    rowindex x = {0};
    size_t *match = NULL, *li = NULL, *ri = NULL;
    trl_frame *out = NULL;
    int rc = 0;
    int32_t *map = NULL;
    if (mode == KEYS_STR)
        map = translate_codes(lk, rk, &rc, err);
    if (rc != 0 || index_build(&x, rk, mode, err) != 0)
        goto fail;

    /* probe: each left row's key number, and the output size */
    if (!(match = malloc((nl ? nl : 1) * sizeof *match)))
        goto oom;
    for (size_t i = 0; i < nl; i++) {
        if ((i & (TRL__POLL_ROWS - 1)) == 0 && i &&
            trl__registry_interrupted()) {
            trl__registry_interrupt_error(err);
            goto fail;
        }
        uint64_t k;
        match[i] = key_of(lk, i, mode, map, &k) ? index_find(&x, k) : NO_ROW;
        size_t m = match[i] == NO_ROW ? 0
                                      : x.start[match[i] + 1] - x.start[match[i]];
        if (m == 0 && kind == TRL_JOIN_LEFT) {
            m = 1;
            unmatched++;
        }
        identity &= m == 1;
        if (m > SIZE_MAX / (2 * sizeof(size_t)) - total) {
            trl_error_set(err, TRL_ENOMEM, "join: the result would have "
                          "more rows than memory can hold");
            goto fail;
        }
        total += m;
    }

    /* the (left row, right row) pairs, in left order then right order */
    li = identity ? NULL : malloc((total ? total : 1) * sizeof *li);
    ri = malloc((total ? total : 1) * sizeof *ri);
    if ((!identity && !li) || !ri)
        goto oom;
    for (size_t i = 0, o = 0; i < nl; i++) {
        if ((i & (TRL__POLL_ROWS - 1)) == 0 && i &&
            trl__registry_interrupted()) {
            trl__registry_interrupt_error(err);
            goto fail;
        }
        if (match[i] == NO_ROW) {
            if (kind == TRL_JOIN_LEFT) {
                if (li)
                    li[o] = i;
                ri[o++] = NO_ROW;
            }
            continue;
        }
        for (size_t r = x.start[match[i]]; r < x.start[match[i] + 1]; r++) {
            if (li)
                li[o] = i;
            ri[o++] = x.rows[r];
        }
    }

    if (!(out = trl_frame_new()))
        goto oom;
    for (size_t c = 0; c < left->ncols; c++)
        if (add_column(out, left->names[c], left->cols[c], li, total, 0,
                       err) != 0)
            goto fail;
    for (size_t c = 0; c < right->ncols; c++)
        if (strcmp(right->names[c], key) != 0 &&
            add_column(out, right->names[c], right->cols[c], ri, total,
                       unmatched > 0, err) != 0)
            goto fail;
    out->nrows = total;
    goto done;
oom:
    trl_error_set(err, TRL_ENOMEM, "out of memory");
fail:
    trl_frame_decref(out);
    out = NULL;
done:
    free(map);
    index_free(&x);
    free(match);
    free(li);
    free(ri);
    return out;
}
