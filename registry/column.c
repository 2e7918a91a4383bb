/* column.c - typed columns: creation, reference counts, element access,
 * and the interrupt hook long loops poll. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "registry/registry_int.h"

static int (*interrupt_poll)(void);

void trl_registry_set_interrupt(int (*poll)(void))
{
    interrupt_poll = poll;
}

int trl__registry_interrupted(void)
{
    return interrupt_poll && interrupt_poll();
}

int trl_registry_interrupted(void)
{
    return trl__registry_interrupted();
}

int trl__registry_interrupt_error(trl_error *err)
{
    return trl_error_set(err, TRL_EINTR, "interrupted");
}

const char *trl_dtype_name(trl_dtype t)
{
    static const char *names[] = {"f64", "i64", "bool", "str"};
    return (unsigned)t < 4 ? names[t] : "?";
}

static size_t width(trl_dtype t)
{
    switch (t) {
    case TRL_F64: return sizeof(double);
    case TRL_I64: return sizeof(int64_t);
    case TRL_BOOL: return 1;
    case TRL_STR: return sizeof(int32_t);
    }
    return 8;
}

static trl_column *column_alloc(trl_dtype type, size_t len,
                                trl_strdict *dict, int zero);

trl_column *trl_column_new(trl_dtype type, size_t len, trl_strdict *dict)
{
    return column_alloc(type, len, dict, 1);
}

trl_column *trl__column_new_uninit(trl_dtype type, size_t len,
                                   trl_strdict *dict)
{
    return column_alloc(type, len, dict, 0);
}

/* Column data of 4 MiB or more asks for transparent huge pages, as NumPy
 * asks for its own arrays (numpy/core/src/multiarray/alloc.c, same
 * threshold). Where THP is "madvise" (Debian's default) a scan over 4 KiB
 * pages is much slower: np.sum over 10M doubles took 4.3 ms against 2.8
 * on the bench machine, so a Python view of a column lagged an array
 * NumPy allocated itself (bench/python_view). Before the first touch, so
 * the page faults take huge pages; only whole pages inside the block are
 * advised, and a refusal (no THP in this kernel) changes nothing. */
static void advise_huge_pages(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
    long page = sysconf(_SC_PAGESIZE);
    if (size < ((size_t)1 << 22) || page <= 0)
        return;
    uintptr_t mask = (uintptr_t)page - 1;
    uintptr_t lo = ((uintptr_t)p + mask) & ~mask;
    uintptr_t hi = ((uintptr_t)p + size) & ~mask;
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)size;
#endif
}

static trl_column *column_alloc(trl_dtype type, size_t len,
                                trl_strdict *dict, int zero)
{
    trl_column *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->refcount = 1;
    c->type = type;
    c->len = len;
    size_t w = width(type);
    if (len && len > SIZE_MAX / w) {
        free(c);
        return NULL;
    }
    /* calloc: fresh pages are zero without touching them; outputs that
     * are written whole take malloc, whose freed pages glibc reuses
     * without new page faults */
    c->v.f64 = zero ? calloc(len ? len : 1, w) : malloc((len ? len : 1) * w);
    if (!c->v.f64) {
        free(c);
        return NULL;
    }
    advise_huge_pages(c->v.f64, len * w);
    if (type == TRL_STR) {
        if (zero)
            memset(c->v.codes, 0xff, len * sizeof(int32_t));  /* missing */
        if (dict) {
            trl_strdict_incref(dict);
            c->dict = dict;
        } else if (!(c->dict = trl_strdict_new())) {
            free(c->v.f64);
            free(c);
            return NULL;
        }
    }
    return c;
}

void trl_column_incref(trl_column *c)
{
    if (c)
        trl__ref_inc(&c->refcount);
}

void trl_column_decref(trl_column *c)
{
    if (!c || trl__ref_dec(&c->refcount))
        return;
    free(c->v.f64);
    free(c->valid);
    trl_strdict_decref(c->dict);
    free(c);
}

int trl_column_is_missing(const trl_column *c, size_t i)
{
    switch (c->type) {
    case TRL_F64: return isnan(c->v.f64[i]);
    case TRL_I64: return c->valid && !c->valid[i];
    case TRL_BOOL: return c->v.b[i] == TRL_BOOL_MISSING;
    case TRL_STR: return c->v.codes[i] < 0;
    }
    return 1;
}

double trl_column_get_f64(const trl_column *c, size_t i)
{
    if (trl_column_is_missing(c, i))
        return NAN;
    switch (c->type) {
    case TRL_F64: return c->v.f64[i];
    case TRL_I64: return (double)c->v.i64[i];
    case TRL_BOOL: return c->v.b[i];
    case TRL_STR: return NAN;
    }
    return NAN;
}
