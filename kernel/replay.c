/* replay.c - the set of signatures already accepted, so that a captured
 * message cannot be sent again (jupyter_client does the same). */
#include <stdlib.h>
#include <string.h>

#include "kernel/wire.h"

static const unsigned char zero[32];

int trl__replay_init(trl__replay *r, size_t max_entries)
{
    memset(r, 0, sizeof *r);
    if (max_entries == 0)
        return TRL_EINVAL;
    size_t cap = 16;
    while (cap < max_entries * 2)  /* load factor <= 1/2 */
        cap <<= 1;
    r->slots = calloc(cap, 32);
    r->order = calloc(max_entries, 32);
    if (!r->slots || !r->order) {
        free(r->slots);
        free(r->order);
        return TRL_ENOMEM;
    }
    r->cap = cap;
    r->max = max_entries;
    pthread_mutex_init(&r->lock, NULL);
    return 0;
}

void trl__replay_destroy(trl__replay *r)
{
    if (r->slots) {
        pthread_mutex_destroy(&r->lock);
        free(r->slots);
        free(r->order);
    }
    memset(r, 0, sizeof *r);
}

static size_t slot_of(const trl__replay *r, const unsigned char d[32])
{
    size_t h;
    memcpy(&h, d, sizeof h);  /* an HMAC is already uniformly distributed */
    return h & (r->cap - 1);
}

static int lookup(const trl__replay *r, const unsigned char d[32])
{
    for (size_t i = slot_of(r, d);; i = (i + 1) & (r->cap - 1)) {
        if (memcmp(r->slots[i], zero, 32) == 0)
            return 0;
        if (memcmp(r->slots[i], d, 32) == 0)
            return 1;
    }
}

static void insert(trl__replay *r, const unsigned char d[32])
{
    size_t i = slot_of(r, d);
    while (memcmp(r->slots[i], zero, 32) != 0)
        i = (i + 1) & (r->cap - 1);
    memcpy(r->slots[i], d, 32);
}

/* Forgets the oldest half: rebuilds the table from the newest entries. */
static void evict_half(trl__replay *r)
{
    size_t max = r->max, keep = max / 2;
    memset(r->slots, 0, r->cap * 32);
    unsigned char (*tmp)[32] = malloc(keep * 32);
    size_t start = (r->order_head + max - keep) % max;
    for (size_t k = 0; k < keep; k++) {
        const unsigned char *d = r->order[(start + k) % max];
        insert(r, d);
        if (tmp)
            memcpy(tmp[k], d, 32);
    }
    if (tmp) {
        memcpy(r->order, tmp, keep * 32);
        free(tmp);
        r->order_head = keep;
    } else {
        /* out of memory: the ring is still coherent, just not compacted */
        r->order_head = (start + keep) % max;
    }
    r->count = keep;
}

int trl__replay_check_add(trl__replay *r, const unsigned char digest[32])
{
    if (memcmp(digest, zero, 32) == 0)
        return 0;  /* unsigned messages carry no digest to remember */
    pthread_mutex_lock(&r->lock);
    int seen = lookup(r, digest);
    if (!seen) {
        size_t max = r->max;
        if (r->count >= max)
            evict_half(r);
        insert(r, digest);
        memcpy(r->order[r->order_head], digest, 32);
        r->order_head = (r->order_head + 1) % max;
        r->count++;
    }
    pthread_mutex_unlock(&r->lock);
    return seen;
}
