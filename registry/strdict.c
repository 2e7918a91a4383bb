/* strdict.c - the dictionary of a string column: each distinct string once,
 * found by hash. */
#include <stdlib.h>
#include <string.h>

#include "registry/registry_int.h"

trl_strdict *trl_strdict_new(void)
{
    trl_strdict *d = calloc(1, sizeof *d);
    if (d)
        d->refcount = 1;
    return d;
}

void trl_strdict_incref(trl_strdict *d)
{
    if (d)
        trl__ref_inc(&d->refcount);
}

void trl_strdict_decref(trl_strdict *d)
{
    if (!d || trl__ref_dec(&d->refcount))
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->strs[i]);
    free(d->strs);
    free(d->lens);
    free(d->index);
    free(d);
}

static uint64_t hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;  /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static size_t slot(const trl_strdict *d, const char *s, size_t len)
{
    size_t mask = d->index_cap - 1;
    for (size_t i = hash(s, len) & mask;; i = (i + 1) & mask) {
        int32_t c = d->index[i];
        if (c < 0 || (d->lens[c] == len && memcmp(d->strs[c], s, len) == 0))
            return i;
    }
}

int32_t trl_strdict_find(const trl_strdict *d, const char *s, size_t len)
{
    if (!d->index_cap)
        return -1;
    return d->index[slot(d, s, len)];
}

static int rehash(trl_strdict *d, size_t cap)
{
    int32_t *idx = malloc(cap * sizeof *idx);
    if (!idx)
        return TRL_ENOMEM;
    memset(idx, 0xff, cap * sizeof *idx);
    free(d->index);
    d->index = idx;
    d->index_cap = cap;
    for (size_t c = 0; c < d->n; c++)
        d->index[slot(d, d->strs[c], d->lens[c])] = (int32_t)c;
    return 0;
}

int32_t trl_strdict_intern(trl_strdict *d, const char *s, size_t len)
{
    if ((d->n + 1) * 2 > d->index_cap &&
        rehash(d, d->index_cap ? d->index_cap * 2 : 64) != 0)
        return -1;
    size_t i = slot(d, s, len);
    if (d->index[i] >= 0)
        return d->index[i];
    if (d->n >= INT32_MAX)
        return -1;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        char **strs = realloc(d->strs, cap * sizeof *strs);
        if (!strs)
            return -1;
        d->strs = strs;
        size_t *lens = realloc(d->lens, cap * sizeof *lens);
        if (!lens)
            return -1;
        d->lens = lens;
        d->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    d->strs[d->n] = copy;
    d->lens[d->n] = len;
    d->index[i] = (int32_t)d->n;
    return (int32_t)d->n++;
}
