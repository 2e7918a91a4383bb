/* join.c - joining frames on a key column: a hash table over the right
 * frame's keys, probed with the left's, rows gathered column by column. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_int.h"

#define NO_ROW SIZE_MAX

static int numeric(const trl_column *c)
{
    return c->type != TRL_STR;
}

/* The join key of row i as 64 bits: both i64 -> the integer; numbers
 * otherwise -> the double's bits (-0.0 as 0.0); strings -> a code in the
 * right frame's dictionary (map translates left codes). */
static int key_of(const trl_column *c, size_t i, int as_int,
                  const int32_t *map, uint64_t *out)
{
    if (trl_column_is_missing(c, i))
        return 0;
    if (c->type == TRL_STR) {
        int32_t code = map ? map[c->v.codes[i]] : c->v.codes[i];
        if (code < 0)
            return 0;  /* a string the right side never has */
        *out = (uint64_t)(uint32_t)code;
        return 1;
    }
    if (as_int) {
        *out = (uint64_t)c->v.i64[i];
        return 1;
    }
    double v = trl_column_get_f64(c, i);
    if (v == 0)
        v = 0;
    memcpy(out, &v, sizeof *out);
    return 1;
}

/* A column of rows idx of c, missing where idx is NO_ROW. */
static trl_column *gather(const trl_column *c, const size_t *idx, size_t n,
                          trl_error *err)
{
    trl_column *out = trl_column_new(c->type, n, c->dict);
    if (!out)
        goto oom;
    int need_valid = c->valid != NULL;
    for (size_t i = 0; i < n && !need_valid; i++)
        need_valid = c->type == TRL_I64 && idx[i] == NO_ROW;
    if (need_valid) {
        if (!(out->valid = malloc(n ? n : 1))) {
            trl_column_decref(out);
            goto oom;
        }
        memset(out->valid, 1, n);
    }
    for (size_t i = 0; i < n; i++) {
        if ((i & (TRL__POLL_ROWS - 1)) == 0 && i &&
            trl__registry_interrupted()) {
            trl_column_decref(out);
            trl__registry_interrupt_error(err);
            return NULL;
        }
        size_t j = idx[i];
        if (j == NO_ROW) {
            switch (c->type) {
            case TRL_F64: out->v.f64[i] = NAN; break;
            case TRL_I64: out->valid[i] = 0; break;
            case TRL_BOOL: out->v.b[i] = TRL_BOOL_MISSING; break;
            case TRL_STR: out->v.codes[i] = -1; break;
            }
            continue;
        }
        switch (c->type) {
        case TRL_F64: out->v.f64[i] = c->v.f64[j]; break;
        case TRL_I64: out->v.i64[i] = c->v.i64[j]; break;
        case TRL_BOOL: out->v.b[i] = c->v.b[j]; break;
        case TRL_STR: out->v.codes[i] = c->v.codes[j]; break;
        }
        if (c->valid)
            out->valid[i] = c->valid[j];
    }
    return out;
oom:
    trl_error_set(err, TRL_ENOMEM, "out of memory");
    return NULL;
}

/* Appends pair (l, r) to the growing index arrays. */
static int push_pair(size_t **li, size_t **ri, size_t *n, size_t *cap,
                     size_t l, size_t r)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        size_t *a = realloc(*li, c * sizeof *a);
        if (!a)
            return TRL_ENOMEM;
        *li = a;
        size_t *b = realloc(*ri, c * sizeof *b);
        if (!b)
            return TRL_ENOMEM;
        *ri = b;
        *cap = c;
    }
    (*li)[*n] = l;
    (*ri)[*n] = r;
    (*n)++;
    return 0;
}

trl_frame *trl_frame_join(const trl_frame *left, const trl_frame *right,
                          const char *key, trl_join_kind kind,
                          trl_error *err)
{
    const trl_column *lk = trl_frame_get(left, key);
    const trl_column *rk = trl_frame_get(right, key);
    if (!lk || !rk) {
        trl_error_set(err, TRL_ENOTFOUND, "join: the %s frame has no "
                      "column '%s'", lk ? "right" : "left", key);
        return NULL;
    }
    if (numeric(lk) != numeric(rk)) {
        trl_error_set(err, TRL_EINVAL, "join: '%s' is %s on the left and "
                      "%s on the right; keys must both be numbers or both "
                      "strings", key, trl_dtype_name(lk->type),
                      trl_dtype_name(rk->type));
        return NULL;
    }
    int as_int = lk->type == TRL_I64 && rk->type == TRL_I64;
    size_t nr = rk->len, nl = lk->len;
    int32_t *map = NULL;
    size_t *head = NULL, *next = NULL, *li = NULL, *ri = NULL;
    uint64_t *slot_key = NULL;
    trl_frame *out = NULL;
    size_t npairs = 0, cap_pairs = 0;
    if (lk->type == TRL_STR) {
        map = malloc((lk->dict->n ? lk->dict->n : 1) * sizeof *map);
        if (!map)
            goto oom;
        for (size_t c = 0; c < lk->dict->n; c++)
            map[c] = lk->dict == rk->dict
                         ? (int32_t)c
                         : trl_strdict_find(rk->dict, lk->dict->strs[c],
                                            lk->dict->lens[c]);
    }
    /* open addressing: slot -> first right row with that key; next[] chains
     * the rest in right order */
    size_t cap = 16;
    while (cap < nr * 2)
        cap <<= 1;
    head = malloc(cap * sizeof *head);
    slot_key = malloc(cap * sizeof *slot_key);
    next = malloc((nr ? nr : 1) * sizeof *next);
    size_t *tail = malloc(cap * sizeof *tail);
    if (!head || !slot_key || !next || !tail) {
        free(tail);
        goto oom;
    }
    for (size_t s = 0; s < cap; s++)
        head[s] = NO_ROW;
    for (size_t j = 0; j < nr; j++) {
        if ((j & (TRL__POLL_ROWS - 1)) == 0 && j &&
            trl__registry_interrupted()) {
            free(tail);
            trl__registry_interrupt_error(err);
            goto fail;
        }
        next[j] = NO_ROW;
        uint64_t k;
        if (!key_of(rk, j, as_int, NULL, &k))
            continue;
        size_t s = trl__mix64(k) & (cap - 1);
        while (head[s] != NO_ROW && slot_key[s] != k)
            s = (s + 1) & (cap - 1);
        if (head[s] == NO_ROW) {
            head[s] = j;
            slot_key[s] = k;
        } else {
            next[tail[s]] = j;
        }
        tail[s] = j;
    }
    free(tail);
    for (size_t i = 0; i < nl; i++) {
        if ((i & (TRL__POLL_ROWS - 1)) == 0 && i &&
            trl__registry_interrupted()) {
            trl__registry_interrupt_error(err);
            goto fail;
        }
        uint64_t k;
        size_t first = NO_ROW;
        if (key_of(lk, i, as_int, map, &k)) {
            size_t s = trl__mix64(k) & (cap - 1);
            while (head[s] != NO_ROW && slot_key[s] != k)
                s = (s + 1) & (cap - 1);
            first = head[s];
        }
        if (first == NO_ROW) {
            if (kind == TRL_JOIN_LEFT &&
                push_pair(&li, &ri, &npairs, &cap_pairs, i, NO_ROW) != 0)
                goto oom;
            continue;
        }
        for (size_t j = first; j != NO_ROW; j = next[j])
            if (push_pair(&li, &ri, &npairs, &cap_pairs, i, j) != 0)
                goto oom;
    }
    out = trl_frame_new();
    if (!out)
        goto oom;
    for (size_t c = 0; c < left->ncols; c++) {
        trl_column *col = gather(left->cols[c], li, npairs, err);
        if (!col || trl_frame_set(out, left->names[c], col, err) != 0) {
            trl_column_decref(col);
            goto fail;
        }
        trl_column_decref(col);
    }
    for (size_t c = 0; c < right->ncols; c++) {
        if (strcmp(right->names[c], key) == 0)
            continue;
        char name[512];
        snprintf(name, sizeof name, "%s", right->names[c]);
        for (int suffix = 1; trl_frame_get(out, name); suffix++) {
            if (suffix == 1)
                snprintf(name, sizeof name, "%s_right", right->names[c]);
            else
                snprintf(name, sizeof name, "%s_right%d", right->names[c],
                         suffix);
        }
        trl_column *col = gather(right->cols[c], ri, npairs, err);
        if (!col || trl_frame_set(out, name, col, err) != 0) {
            trl_column_decref(col);
            goto fail;
        }
        trl_column_decref(col);
    }
    out->nrows = npairs;
    goto done;
oom:
    trl_error_set(err, TRL_ENOMEM, "out of memory");
fail:
    trl_frame_decref(out);
    out = NULL;
done:
    free(map);
    free(head);
    free(slot_key);
    free(next);
    free(li);
    free(ri);
    return out;
}
