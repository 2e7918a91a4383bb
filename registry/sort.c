/* sort.c - the registry's one radix sort: group-by orders its keys with it
 * and the rank metrics their scores. */
#include <stdlib.h>
#include <string.h>

#include "registry/registry_int.h"

int trl__radix_sort(uint64_t *key, int32_t *group, size_t n)
{
    uint64_t *key2 = malloc((n ? n : 1) * sizeof *key2);
    int32_t *group2 = malloc((n ? n : 1) * sizeof *group2);
    if (!key2 || !group2) {
        free(key2);
        free(group2);
        return TRL_ENOMEM;
    }
    uint64_t *k = key, *k2 = key2;
    int32_t *g = group, *g2 = group2;
    for (unsigned shift = 0; n && shift < 64; shift += 8) {
        size_t pos[256] = {0};
        for (size_t i = 0; i < n; i++)
            pos[(k[i] >> shift) & 255]++;
        if (pos[(k[0] >> shift) & 255] == n)
            continue;
        for (size_t d = 0, sum = 0; d < 256; d++) {
            size_t c = pos[d];
            pos[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t p = pos[(k[i] >> shift) & 255]++;
            k2[p] = k[i];
            g2[p] = g[i];
        }
        uint64_t *tk = k;
        k = k2;
        k2 = tk;
        int32_t *tg = g;
        g = g2;
        g2 = tg;
    }
    if (g != group)
        memcpy(group, g, n * sizeof *group);
    free(key2);
    free(group2);
    return 0;
}

/* 11-bit digits: six passes over 64 bits, and 2048 counters stay in L1
 * (16-bit digits scatter over too many pages to be faster). */
#define KEY_BITS 11
#define KEY_PASSES 6

int trl__radix_sort_keys(uint64_t *key, size_t n)
{
    uint64_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    int rc = tmp ? trl__radix_sort_keys_into(key, tmp, n) : TRL_ENOMEM;
    free(tmp);
    return rc;
}

int trl__radix_sort_keys_into(uint64_t *key, uint64_t *tmp, size_t n)
{
    size_t (*count)[1 << KEY_BITS] = calloc(KEY_PASSES, sizeof *count);
    if (!count)
        return TRL_ENOMEM;
    /* every digit's counts in one read of the keys */
    for (size_t i = 0; i < n; i++)
        for (unsigned d = 0; d < KEY_PASSES; d++)
            count[d][(key[i] >> (d * KEY_BITS)) & ((1u << KEY_BITS) - 1)]++;
    uint64_t *src = key, *dst = tmp;
    for (unsigned d = 0; n && d < KEY_PASSES; d++) {
        unsigned shift = d * KEY_BITS;
        size_t *pos = count[d];
        if (pos[(src[0] >> shift) & ((1u << KEY_BITS) - 1)] == n)
            continue;  /* every key has this digit */
        for (size_t b = 0, sum = 0; b < (1u << KEY_BITS); b++) {
            size_t c = pos[b];
            pos[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[pos[(src[i] >> shift) & ((1u << KEY_BITS) - 1)]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != key)
        memcpy(key, src, n * sizeof *key);
    free(count);
    return 0;
}
