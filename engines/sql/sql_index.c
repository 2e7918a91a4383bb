/* sql_index.c - a column's rows in sorted order, built once per table when
 * a column is filtered again and again (the inner side of a join) or an
 * ORDER BY / GROUP BY wants it: a permutation of row numbers, so the
 * values themselves are never copied. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engines/sql/sql_int.h"

void trl__sql_index_free(trl__sql_index *ix)
{
    if (!ix)
        return;
    free(ix->perm);
    free(ix->rank);
    free(ix);
}

/* ---- keys that sort as SQLite orders the values ----------------------------- */

static uint64_t key_i64(int64_t v)
{
    return (uint64_t)v ^ 0x8000000000000000ull;
}

static uint64_t key_f64(double x)
{
    if (x == 0)
        x = 0; /* -0.0 sorts with 0.0: SQLite says they are equal */
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u >> 63 ? ~u : u | 0x8000000000000000ull;
}

typedef struct dict_entry {
    const char *s;
    size_t len;
    uint32_t code;
} dict_entry;

static int by_binary(const void *a, const void *b)
{
    const dict_entry *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* rank[code]: the position of the code's string in BINARY order. */
static uint32_t *dict_ranks(const trl_strdict *d)
{
    dict_entry *e = malloc((d->n ? d->n : 1) * sizeof *e);
    uint32_t *rank = malloc((d->n ? d->n : 1) * sizeof *rank);
    if (!e || !rank) {
        free(e);
        free(rank);
        return NULL;
    }
    for (size_t k = 0; k < d->n; k++)
        e[k] = (dict_entry){d->strs[k], d->lens[k], (uint32_t)k};
    qsort(e, d->n, sizeof *e, by_binary);
    for (size_t k = 0; k < d->n; k++)
        rank[e[k].code] = (uint32_t)k;
    free(e);
    return rank;
}

/* ---- LSD radix sort of (key, row) pairs --------------------------------------- */

/* Sorts m pairs stably by key, 8 bits a pass, skipping the bytes every key
 * shares (a key of 1000 small integers takes 2 passes, not 8). The result
 * lands in rows_out. SQLITE_OK, SQLITE_NOMEM or SQLITE_INTERRUPT. */
static int radix_sort(uint64_t *keys, uint32_t *rows, size_t m,
                      uint32_t *rows_out, sqlite3 *db)
{
    uint64_t all_or = 0, all_and = ~0ull;
    for (size_t j = 0; j < m; j++) {
        all_or |= keys[j];
        all_and &= keys[j];
    }
    uint64_t differ = all_or ^ all_and;
    uint64_t *k2 = malloc((m ? m : 1) * sizeof *k2);
    uint32_t *r2 = malloc((m ? m : 1) * sizeof *r2);
    if (!k2 || !r2) {
        free(k2);
        free(r2);
        return SQLITE_NOMEM;
    }
    uint64_t *ks = keys, *kd = k2;
    uint32_t *rs = rows, *rd = r2;
    for (int shift = 0; shift < 64; shift += 8) {
        if (!((differ >> shift) & 0xff))
            continue;
        if (trl__sql_interrupted(db)) {
            free(k2);
            free(r2);
            return SQLITE_INTERRUPT;
        }
        size_t count[257] = {0};
        for (size_t j = 0; j < m; j++)
            count[((ks[j] >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (size_t j = 0; j < m; j++) {
            size_t to = count[(ks[j] >> shift) & 0xff]++;
            kd[to] = ks[j];
            rd[to] = rs[j];
        }
        uint64_t *kt = ks;
        ks = kd;
        kd = kt;
        uint32_t *rt = rs;
        rs = rd;
        rd = rt;
    }
    memcpy(rows_out, rs, m * sizeof *rows_out);
    free(k2);
    free(r2);
    return SQLITE_OK;
}

/* ---- building ---------------------------------------------------------------- */

static trl__sql_index *build(const trl_column *c, size_t n, sqlite3 *db,
                             int *rc)
{
    trl__sql_index *ix = calloc(1, sizeof *ix);
    uint64_t *keys = malloc((n ? n : 1) * sizeof *keys);
    uint32_t *rows = malloc((n ? n : 1) * sizeof *rows);
    *rc = SQLITE_NOMEM;
    if (!ix || !keys || !rows ||
        !(ix->perm = malloc((n ? n : 1) * sizeof *ix->perm)))
        goto fail;
    ix->n = n;
    if (c->type == TRL_STR) {
        if (!(ix->rank = dict_ranks(c->dict)))
            goto fail;
        ix->ndict = c->dict->n;
    }
    /* missing rows first, in row order (SQLite sorts NULL first); the
     * others gathered with their keys */
    size_t m = 0, nn = 0;
    for (size_t r = 0; r < n; r++) {
        uint64_t key;
        int missing;
        switch (c->type) {
        case TRL_F64:
            missing = isnan(c->v.f64[r]);
            key = missing ? 0 : key_f64(c->v.f64[r]);
            break;
        case TRL_I64:
            missing = c->valid && !c->valid[r];
            key = key_i64(c->v.i64[r]);
            break;
        case TRL_BOOL:
            missing = c->v.b[r] == TRL_BOOL_MISSING;
            key = c->v.b[r];
            break;
        default:
            missing = c->v.codes[r] < 0;
            key = missing ? 0 : ix->rank[c->v.codes[r]];
            break;
        }
        if (missing) {
            ix->perm[nn++] = (uint32_t)r;
        } else {
            keys[m] = key;
            rows[m++] = (uint32_t)r;
        }
    }
    ix->n_null = nn;
    if ((*rc = radix_sort(keys, rows, m, ix->perm + nn, db)) != SQLITE_OK)
        goto fail;
    free(keys);
    free(rows);
    return ix;
fail:
    free(keys);
    free(rows);
    trl__sql_index_free(ix);
    return NULL;
}

trl__sql_index *trl__sql_index_get(trl__sql_vtab *vt, int col, int *rc)
{
    if (vt->index[col])
        return vt->index[col];
    trl__sql_index *ix = build(vt->snap->cols[col], vt->snap->nrows, vt->db,
                               rc);
    if (ix) {
        vt->index[col] = ix;
        trl__sql_stats.index_builds++;
    }
    return ix;
}

/* ---- narrowing to a predicate ---------------------------------------------------- */

/* The first position in [lo, hi) where before(pos) turns false. */
#define PARTITION(lo, hi, before)                 \
    do {                                          \
        size_t a_ = (lo), b_ = (hi);              \
        while (a_ < b_) {                         \
            size_t pos = a_ + (b_ - a_) / 2;      \
            if (before)                           \
                a_ = pos + 1;                     \
            else                                  \
                b_ = pos;                         \
        }                                         \
        result = a_;                              \
    } while (0)

int trl__sql_index_narrow(const trl__sql_index *ix, const trl_frame *snap,
                          const trl__sql_pred *p, size_t *lo, size_t *hi)
{
    const trl_column *c = snap->cols[p->col];
    const uint32_t *perm = ix->perm;
    size_t from = ix->n_null, to = ix->n, a, b, result;
    switch (p->kind) {
    case TRL__P_NULL:
        a = 0;
        b = ix->n_null;
        break;
    case TRL__P_IRANGE:
        if (c->type == TRL_I64) {
            const int64_t *v = c->v.i64;
            PARTITION(from, to, v[perm[pos]] < p->ilo);
            a = result;
            PARTITION(a, to, v[perm[pos]] <= p->ihi);
            b = result;
        } else if (c->type == TRL_BOOL) {
            const uint8_t *v = c->v.b;
            PARTITION(from, to, v[perm[pos]] < p->ilo);
            a = result;
            PARTITION(a, to, v[perm[pos]] <= p->ihi);
            b = result;
        } else {
            return 0;
        }
        break;
    case TRL__P_DRANGE: {
        if (c->type != TRL_F64)
            return 0;
        const double *v = c->v.f64;
        if (p->lo_incl)
            PARTITION(from, to, v[perm[pos]] < p->dlo);
        else
            PARTITION(from, to, v[perm[pos]] <= p->dlo);
        a = result;
        if (p->hi_incl)
            PARTITION(a, to, v[perm[pos]] <= p->dhi);
        else
            PARTITION(a, to, v[perm[pos]] < p->dhi);
        b = result;
        break;
    }
    case TRL__P_CODE: {
        if (c->type != TRL_STR)
            return 0;
        if ((size_t)p->code >= ix->ndict) { /* interned after the index:
                                              * no row of this column */
            a = b = from;
            break;
        }
        const int32_t *v = c->v.codes;
        const uint32_t *rank = ix->rank;
        uint32_t want = rank[p->code];
        PARTITION(from, to, rank[v[perm[pos]]] < want);
        a = result;
        PARTITION(a, to, rank[v[perm[pos]]] <= want);
        b = result;
        break;
    }
    default:
        return 0;
    }
    if (a > *lo)
        *lo = a;
    if (b < *hi)
        *hi = b;
    if (*hi < *lo)
        *hi = *lo;
    return 1;
}
