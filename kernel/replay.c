/* replay.c - the set of signatures already accepted, so that a captured
 * message cannot be sent again (jupyter_client does the same). */
#include <stdlib.h>
#include <string.h>

#include "kernel/wire.h"

/* Keys are a digest folded to 64 bits: an HMAC is uniformly distributed,
 * so two different messages share a key with odds of 2^-64 per pair, and
 * the table stays small (it grows with the traffic, not at start). */
#define FIRST_CAP 1024

static uint64_t key_of(const unsigned char d[32])
{
    uint64_t k = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t part;
        memcpy(&part, d + 8 * i, sizeof part);
        k ^= part;
    }
    return k ? k : 1;  /* 0 marks an empty slot */
}

int trl__replay_init(trl__replay *r, size_t max_entries)
{
    memset(r, 0, sizeof *r);
    if (max_entries == 0)
        return TRL_EINVAL;
    r->cap = FIRST_CAP;
    r->slots = calloc(r->cap, sizeof *r->slots);
    /* calloc'd pages are only touched as the ring fills */
    r->order = calloc(max_entries, sizeof *r->order);
    if (!r->slots || !r->order) {
        free(r->slots);
        free(r->order);
        memset(r, 0, sizeof *r);
        return TRL_ENOMEM;
    }
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

static int lookup(const trl__replay *r, uint64_t k)
{
    for (size_t i = k & (r->cap - 1);; i = (i + 1) & (r->cap - 1)) {
        if (r->slots[i] == 0)
            return 0;
        if (r->slots[i] == k)
            return 1;
    }
}

static void insert(uint64_t *slots, size_t cap, uint64_t k)
{
    size_t i = k & (cap - 1);
    while (slots[i] != 0)
        i = (i + 1) & (cap - 1);
    slots[i] = k;
}

/* Doubles the table while it would be over half full. On out of memory
 * the table stays as it is: still correct, only fuller. */
static void grow(trl__replay *r)
{
    size_t cap = r->cap * 2;
    uint64_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return;
    for (size_t i = 0; i < r->cap; i++)
        if (r->slots[i])
            insert(slots, cap, r->slots[i]);
    free(r->slots);
    r->slots = slots;
    r->cap = cap;
}

/* Forgets the oldest half: rebuilds the table from the newest entries. */
static void evict_half(trl__replay *r)
{
    size_t max = r->max, keep = max / 2;
    memset(r->slots, 0, r->cap * sizeof *r->slots);
    size_t start = (r->order_head + max - keep) % max;
    uint64_t *tmp = malloc((keep ? keep : 1) * sizeof *tmp);
    for (size_t k = 0; k < keep; k++) {
        uint64_t key = r->order[(start + k) % max];
        insert(r->slots, r->cap, key);
        if (tmp)
            tmp[k] = key;
    }
    if (tmp) {
        memcpy(r->order, tmp, keep * sizeof *tmp);
        free(tmp);
        r->order_head = keep % max;
    } else {
        /* the ring is still coherent, just not compacted */
        r->order_head = (start + keep) % max;
    }
    r->count = keep;
}

int trl__replay_check_add(trl__replay *r, const unsigned char digest[32])
{
    static const unsigned char zero[32];
    if (memcmp(digest, zero, 32) == 0)
        return 0;  /* unsigned messages carry no digest to remember */
    uint64_t k = key_of(digest);
    pthread_mutex_lock(&r->lock);
    int seen = lookup(r, k);
    if (!seen) {
        if (r->count >= r->max)
            evict_half(r);
        while ((r->count + 1) * 2 > r->cap) {
            size_t before = r->cap;
            grow(r);
            if (r->cap == before)
                break;
        }
        if (r->count + 1 < r->cap) {
            insert(r->slots, r->cap, k);
            r->order[r->order_head] = k;
            r->order_head = (r->order_head + 1) % r->max;
            r->count++;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return seen;
}
