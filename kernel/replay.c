/* replay.c - the set of signatures already accepted, so that a captured
 * message cannot be sent again (jupyter_client does the same). */
#include <stdlib.h>
#include <string.h>

#include "kernel/wire.h"

/* Keys are a digest folded to 64 bits: an HMAC is uniformly distributed,
 * so two different messages share a key with odds of 2^-63 per pair (the
 * top bit is the generation's). Entries come in two generations of
 * max/2: when the current one is full, the older is dropped, so the newest
 * max/2 are always kept with no second array recording their order.
 *
 * The table is allocated once, for max entries at most half full. Random
 * keys touch all its pages within the first few thousand messages, after
 * which resident memory stays flat; a table that grew with use kept
 * growing until the 65536th message (tests/soak). */
#define GEN_BIT ((uint64_t)1 << 63)

static uint64_t key_of(const unsigned char d[32])
{
    uint64_t k = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t part;
        memcpy(&part, d + 8 * i, sizeof part);
        k ^= part;
    }
    k &= ~GEN_BIT;
    return k ? k : 1;  /* 0 marks an empty slot */
}

static size_t home(const trl__replay *r, uint64_t k)
{
    return (size_t)k & (r->cap - 1);
}

int trl__replay_init(trl__replay *r, size_t max_entries)
{
    memset(r, 0, sizeof *r);
    if (max_entries == 0 || max_entries > SIZE_MAX / 4 / sizeof *r->slots)
        return TRL_EINVAL;
    size_t cap = 16;
    while (cap < max_entries * 2)
        cap <<= 1;
    /* calloc'd pages are only touched as keys land in them */
    r->slots = calloc(cap, sizeof *r->slots);
    if (!r->slots)
        return TRL_ENOMEM;
    r->cap = cap;
    r->max = max_entries;
    r->gen_size = max_entries / 2;
    pthread_mutex_init(&r->lock, NULL);
    return 0;
}

void trl__replay_destroy(trl__replay *r)
{
    if (r->slots) {
        pthread_mutex_destroy(&r->lock);
        free(r->slots);
    }
    memset(r, 0, sizeof *r);
}

static int lookup(const trl__replay *r, uint64_t k)
{
    for (size_t i = home(r, k);; i = (i + 1) & (r->cap - 1)) {
        if (r->slots[i] == 0)
            return 0;
        if ((r->slots[i] & ~GEN_BIT) == k)
            return 1;
    }
}

static void insert(trl__replay *r, uint64_t entry)
{
    size_t i = home(r, entry);
    while (r->slots[i] != 0)
        i = (i + 1) & (r->cap - 1);
    r->slots[i] = entry;
}

/* Removes generation gen's entries in place, with no allocation. The walk
 * starts after an empty slot (the table is at most half full), so each
 * run of full slots is taken from its start; every entry kept is put back
 * where a lookup from its home meets it first, never later than where it
 * was, so the slots before it are all final. */
static void drop_generation(trl__replay *r, uint64_t gen)
{
    size_t mask = r->cap - 1, start = 0;
    while (r->slots[start] != 0)
        start++;
    for (size_t n = 1; n < r->cap; n++) {
        size_t i = (start + n) & mask;
        uint64_t e = r->slots[i];
        if (e == 0)
            continue;
        r->slots[i] = 0;
        if ((e & GEN_BIT) == gen)
            r->count--;
        else
            insert(r, e);
    }
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
        if (r->current >= r->gen_size) {
            /* the current generation is full: the older one goes, and
             * its tag is the new current one's */
            r->gen ^= GEN_BIT;
            drop_generation(r, r->gen);
            r->current = 0;
            if (r->count >= r->max)  /* max 1: no room for two */
                drop_generation(r, r->gen ^ GEN_BIT);
        }
        insert(r, k | r->gen);
        r->current++;
        r->count++;
    }
    pthread_mutex_unlock(&r->lock);
    return seen;
}
