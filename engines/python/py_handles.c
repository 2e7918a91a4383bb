/* py_handles.c - the references the kernel keeps for Python: a handle is
 * a small integer naming one (a frame, a column or a model), so Python
 * code holds no pointer, and a stale or made-up handle names nothing
 * rather than freed memory. Release may come from any Python thread (a
 * NumPy view dropped in a user's thread), so the table is locked; the
 * references themselves are atomic. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "engines/python/py_bridge_int.h"
#include "trellis/model.h"
#include "trellis/registry.h"

typedef struct slot {
    int kind;         /* a trl__pyh_kind, 0 when free */
    uint32_t gen;     /* 1 .. 2^31 - 1, bumped on release: an old handle
                       * stops matching */
    void *p;          /* the reference this slot owns */
    size_t next_free; /* index + 1 of the next free slot, 0 at the end */
} slot;

/* A handle is gen << 32 | (index + 1): never 0. */
static struct {
    pthread_mutex_t lock;
    slot *slots;
    size_t n, cap;
    size_t free_head;  /* index + 1 of a free slot, 0 when none */
} table = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};

static void take(int kind, void *p)
{
    if (kind == TRL__PYH_FRAME)
        trl_frame_incref(p);
    else if (kind == TRL__PYH_COLUMN)
        trl_column_incref(p);
    else if (kind == TRL__PYH_MODEL)
        trl_model_incref(p);
}

void trl__pyh_drop(trl__pyh_kind kind, void *p)
{
    if (kind == TRL__PYH_FRAME)
        trl_frame_decref(p);
    else if (kind == TRL__PYH_COLUMN)
        trl_column_decref(p);
    else if (kind == TRL__PYH_MODEL)
        trl_model_decref(p);
}

/* The slot h names, when it is in use; the table is locked. */
static slot *find(unsigned long long h)
{
    size_t i = (size_t)(h & 0xffffffffu) - 1;
    if (i >= table.n || table.slots[i].gen != (uint32_t)(h >> 32) ||
        !table.slots[i].kind)
        return NULL;
    return &table.slots[i];
}

unsigned long long trl__pyh_new(trl__pyh_kind kind, void *p)
{
    pthread_mutex_lock(&table.lock);
    size_t i;
    if (table.free_head) {
        i = table.free_head - 1;
        table.free_head = table.slots[i].next_free;
    } else {
        if (table.n == table.cap) {
            size_t cap = table.cap ? table.cap * 2 : 64;
            slot *s = cap < UINT32_MAX ? realloc(table.slots, cap * sizeof *s)
                                       : NULL;
            if (!s) {
                pthread_mutex_unlock(&table.lock);
                return 0;
            }
            table.slots = s;
            table.cap = cap;
        }
        i = table.n++;
        table.slots[i].gen = 1;
    }
    table.slots[i].kind = kind;
    table.slots[i].p = p;
    unsigned long long h = (unsigned long long)table.slots[i].gen << 32 |
                           (unsigned long long)(i + 1);
    pthread_mutex_unlock(&table.lock);
    return h;
}

void *trl__pyh_get(unsigned long long h, trl__pyh_kind kind)
{
    pthread_mutex_lock(&table.lock);
    slot *s = find(h);
    void *p = s && s->kind == (int)kind ? s->p : NULL;
    take(p ? (int)kind : 0, p);  /* under the lock: release may be racing */
    pthread_mutex_unlock(&table.lock);
    return p;
}

int trl__pyh_release(unsigned long long h)
{
    pthread_mutex_lock(&table.lock);
    slot *s = find(h);
    int kind = s ? s->kind : 0;
    void *p = s ? s->p : NULL;
    if (s) {
        s->kind = 0;
        s->p = NULL;
        /* 31 bits, never 0: a handle stays a positive JSON integer */
        s->gen = s->gen % 0x7fffffffu + 1;
        s->next_free = table.free_head;
        table.free_head = (size_t)(s - table.slots) + 1;
    }
    pthread_mutex_unlock(&table.lock);
    /* outside the lock: freeing an 80 MB column takes a while */
    trl__pyh_drop((trl__pyh_kind)kind, p);
    return s ? 0 : TRL_ENOTFOUND;
}
