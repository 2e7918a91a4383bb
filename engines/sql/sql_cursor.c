/* sql_cursor.c - the trellis_frame cursor: xFilter picks the rows to visit
 * (a row range, or a stretch of a sorted index), the predicates keep a
 * block of them at a time, and xColumn hands values straight from the
 * typed arrays. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engines/sql/sql_int.h"

trl__sql_counters trl__sql_stats;

#if SQLITE_VERSION_NUMBER >= 3041000
int trl__sql_interrupted(sqlite3 *db)
{
    return sqlite3_is_interrupted(db) || trl_registry_interrupted();
}
#else
/* SQLite 3.40 cannot tell whether sqlite3_interrupt was called (3.41 added
 * sqlite3_is_interrupted); a newer library loaded at run time may have
 * it, so ask for it weakly. Without it, a cursor still stops for the
 * registry's interrupt, and SQLite itself stops between rows. */
extern int sqlite3_is_interrupted(sqlite3 *db) __attribute__((weak));

int trl__sql_interrupted(sqlite3 *db)
{
    return (sqlite3_is_interrupted && sqlite3_is_interrupted(db)) ||
           trl_registry_interrupted();
}
#endif

typedef struct cursor {
    sqlite3_vtab_cursor base;
    trl__sql_vtab *vt;
    trl__sql_pred *preds;   /* owned, npreds of them */
    size_t npreds;
    /* candidate rows: lo..hi-1 (perm NULL), or perm[lo..hi-1] */
    const uint32_t *perm;
    size_t lo, hi, next;    /* next: how many candidates were taken */
    int desc;
    unsigned blocks;
    uint32_t sel[TRL__SQL_BLOCK]; /* the current block's kept rows */
    size_t nsel, isel;
    int eof;
    /* In index order the rows of a group lie far apart, and xColumn, one
     * row at a time, would wait for a cache miss on every value. A tight
     * loop gathers the block's values of the columns the query reads
     * instead, overlapping the misses; xColumn then reads them in order. */
    uint64_t gather_cols;   /* bit j: column j is gathered */
    int8_t slot[63];        /* column -> its buffers */
    uint64_t *gval;         /* owned: TRL__SQL_BLOCK per slot */
    uint8_t *gmissing;      /* owned: TRL__SQL_BLOCK per slot (i64) */
    int nslots;
    trl_column *const *cols; /* the snapshot's, for xColumn */
    uint32_t row;            /* the current row: sel[isel] */
} cursor;

static void clear_preds(cursor *c)
{
    for (size_t k = 0; k < c->npreds; k++)
        trl__sql_pred_clear(&c->preds[k]);
    free(c->preds);
    c->preds = NULL;
    c->npreds = 0;
}

int trl__sql_open(sqlite3_vtab *base, sqlite3_vtab_cursor **out)
{
    trl__sql_vtab *vt = (trl__sql_vtab *)base;
    if (!vt->snap) {
        sqlite3_free(base->zErrMsg);
        base->zErrMsg = sqlite3_mprintf(
            "table \"%s\" has lost its frame (a ROLLBACK undid its "
            "binding): bind the frame again", vt->name);
        return SQLITE_ERROR;
    }
    cursor *c = calloc(1, sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    c->vt = vt;
    c->cols = vt->snap->cols;
    c->eof = 1;
    *out = &c->base;
    return SQLITE_OK;
}

int trl__sql_close(sqlite3_vtab_cursor *cur)
{
    cursor *c = (cursor *)cur;
    clear_preds(c);
    free(c->gval);
    free(c->gmissing);
    free(c);
    return SQLITE_OK;
}

static int fail(cursor *c, int rc, char *msg)
{
    sqlite3_vtab *base = &c->vt->base;
    sqlite3_free(base->zErrMsg);
    base->zErrMsg = msg;
    c->eof = 1;
    return rc;
}

/* Copies the current block's values of the gathered columns into the
 * cursor's buffers. */
static void gather(cursor *c)
{
    const trl_frame *snap = c->vt->snap;
    const uint32_t *sel = c->sel;
    size_t n = c->nsel;
    for (uint64_t m = c->gather_cols; m; m &= m - 1) {
        int j = __builtin_ctzll(m);
        const trl_column *col = snap->cols[j];
        uint64_t *out = c->gval + (size_t)c->slot[j] * TRL__SQL_BLOCK;
        uint8_t *miss = c->gmissing + (size_t)c->slot[j] * TRL__SQL_BLOCK;
        switch (col->type) {
        case TRL_F64:
            for (size_t k = 0; k < n; k++)
                memcpy(&out[k], &col->v.f64[sel[k]], 8);
            break;
        case TRL_I64:
            for (size_t k = 0; k < n; k++)
                out[k] = (uint64_t)col->v.i64[sel[k]];
            for (size_t k = 0; col->valid && k < n; k++)
                miss[k] = !col->valid[sel[k]];
            break;
        case TRL_BOOL:
            for (size_t k = 0; k < n; k++)
                out[k] = col->v.b[sel[k]];
            break;
        case TRL_STR:
            for (size_t k = 0; k < n; k++)
                out[k] = (uint64_t)(int64_t)col->v.codes[sel[k]];
            break;
        }
    }
}

/* Sets up gathering of the used columns for index-order visits. */
static int gather_setup(cursor *c, uint64_t col_used)
{
    size_t ncols = c->vt->snap->ncols;
    uint64_t cols = col_used & ~(1ull << 63);
    if (ncols < 63)
        cols &= (1ull << ncols) - 1;
    int n = __builtin_popcountll(cols);
    if (n > c->nslots) {
        uint64_t *v = realloc(c->gval, (size_t)n * TRL__SQL_BLOCK * 8);
        if (!v)
            return SQLITE_NOMEM;
        c->gval = v;
        uint8_t *m = realloc(c->gmissing, (size_t)n * TRL__SQL_BLOCK);
        if (!m)
            return SQLITE_NOMEM;
        c->gmissing = m;
        c->nslots = n;
    }
    int k = 0;
    for (uint64_t m = cols; m; m &= m - 1)
        c->slot[__builtin_ctzll(m)] = (int8_t)k++;
    c->gather_cols = cols;
    return SQLITE_OK;
}

/* Takes candidates a block at a time until one survives the predicates
 * (then the cursor is on it) or none are left (eof). */
static int fill(cursor *c)
{
    const trl_frame *snap = c->vt->snap;
    size_t total = c->hi - c->lo;
    for (;;) {
        if (c->next >= total) {
            c->eof = 1;
            return SQLITE_OK;
        }
        if (++c->blocks % TRL__SQL_POLL_BLOCKS == 0 &&
            trl__sql_interrupted(c->vt->db))
            return fail(c, SQLITE_INTERRUPT, sqlite3_mprintf("interrupted"));
        size_t n = total - c->next < TRL__SQL_BLOCK ? total - c->next
                                                     : TRL__SQL_BLOCK;
        for (size_t k = 0; k < n; k++) {
            size_t pos = c->desc ? c->hi - 1 - (c->next + k)
                                 : c->lo + c->next + k;
            c->sel[k] = c->perm ? c->perm[pos] : (uint32_t)pos;
        }
        c->next += n;
        trl__sql_stats.rows_examined += n;
        for (size_t p = 0; p < c->npreds && n; p++)
            n = trl__sql_pred_apply(&c->preds[p], snap, c->sel, n);
        if (n) {
            c->nsel = n;
            c->isel = 0;
            c->row = c->sel[0];
            if (c->gather_cols)
                gather(c);
            trl__sql_stats.rows_returned++;
            return SQLITE_OK;
        }
    }
}

int trl__sql_next(sqlite3_vtab_cursor *cur)
{
    cursor *c = (cursor *)cur;
    if (++c->isel < c->nsel) {
        c->row = c->sel[c->isel];
        trl__sql_stats.rows_returned++;
        return SQLITE_OK;
    }
    return fill(c);
}

int trl__sql_eof(sqlite3_vtab_cursor *cur)
{
    return ((cursor *)cur)->eof;
}

/* Removes predicate k (it was applied another way). */
static void drop_pred(cursor *c, size_t k)
{
    trl__sql_pred_clear(&c->preds[k]);
    memmove(c->preds + k, c->preds + k + 1,
            (c->npreds - k - 1) * sizeof *c->preds);
    c->npreds--;
}

/* Rowid ranges become the row range itself. */
static void rowid_range(cursor *c, size_t nrows)
{
    c->lo = 0;
    c->hi = nrows;
    for (size_t k = 0; k < c->npreds;) {
        trl__sql_pred *p = &c->preds[k];
        if (p->col >= 0 || p->kind != TRL__P_IRANGE) {
            k++;
            continue;
        }
        /* rowid = row + 1 */
        if (p->ihi < 1 || p->ilo > (int64_t)nrows) {
            c->hi = c->lo;
        } else {
            size_t lo = p->ilo < 1 ? 0 : (size_t)(p->ilo - 1);
            size_t hi = p->ihi > (int64_t)nrows ? nrows : (size_t)p->ihi;
            if (lo > c->lo)
                c->lo = lo;
            if (hi < c->hi)
                c->hi = hi;
            if (c->hi < c->lo)
                c->hi = c->lo;
        }
        drop_pred(c, k);
    }
}

/* After a switch to an index, the row range must still hold: as a
 * predicate on the rowid. */
static int keep_row_range(cursor *c, size_t nrows)
{
    if (c->lo == 0 && c->hi == nrows)
        return SQLITE_OK;
    trl__sql_pred *grown = realloc(c->preds,
                                   (c->npreds + 1) * sizeof *grown);
    if (!grown)
        return SQLITE_NOMEM;
    c->preds = grown;
    trl__sql_pred *p = &c->preds[c->npreds++];
    memset(p, 0, sizeof *p);
    p->col = -1;
    p->kind = TRL__P_IRANGE;
    p->ilo = (int64_t)c->lo + 1;
    p->ihi = (int64_t)c->hi;
    return SQLITE_OK;
}

static int narrowable(const trl__sql_pred *p)
{
    return p->col >= 0 &&
           (p->kind == TRL__P_IRANGE || p->kind == TRL__P_DRANGE ||
            p->kind == TRL__P_CODE || p->kind == TRL__P_NULL);
}

/* Visits ix's rows, narrowed by the predicates on its column. */
static int use_index(cursor *c, const trl__sql_index *ix, int col)
{
    size_t nrows = c->vt->snap->nrows;
    int rc = keep_row_range(c, nrows);
    if (rc != SQLITE_OK)
        return rc;
    size_t lo = 0, hi = ix->n;
    for (size_t k = 0; k < c->npreds;) {
        if (c->preds[k].col == col &&
            trl__sql_index_narrow(ix, c->vt->snap, &c->preds[k], &lo, &hi))
            drop_pred(c, k);
        else
            k++;
    }
    c->perm = ix->perm;
    c->lo = lo;
    c->hi = hi;
    trl__sql_stats.index_scans++;
    return SQLITE_OK;
}

/* With no order to keep: the index of a filtered column when it narrows
 * the rows to a quarter or less. A column filtered again and again (the
 * inner side of a join) gets its index built after a few scans. */
static int maybe_index(cursor *c)
{
    trl__sql_vtab *vt = c->vt;
    int best = -1;
    size_t best_n = (c->hi - c->lo) / 4;
    const trl__sql_index *best_ix = NULL;
    for (size_t k = 0; k < c->npreds; k++) {
        const trl__sql_pred *p = &c->preds[k];
        if (!narrowable(p))
            continue;
        size_t first = 0;
        while (c->preds[first].col != p->col || !narrowable(&c->preds[first]))
            first++;
        if (first != k)
            continue; /* each column once, at its first narrowing term */
        const trl__sql_index *ix = vt->index[p->col];
        if (!ix && ++vt->scans[p->col] >= TRL__SQL_INDEX_AFTER) {
            int rc;
            if (!(ix = trl__sql_index_get(vt, p->col, &rc)))
                return rc;
        }
        if (!ix)
            continue;
        /* every term on the column narrows: a < k AND k < b is a range */
        size_t lo = 0, hi = ix->n;
        for (size_t j = k; j < c->npreds; j++)
            if (c->preds[j].col == p->col)
                trl__sql_index_narrow(ix, vt->snap, &c->preds[j], &lo, &hi);
        if (hi - lo <= best_n) {
            best = p->col;
            best_n = hi - lo;
            best_ix = ix;
        }
    }
    return best < 0 ? SQLITE_OK : use_index(c, best_ix, best);
}

int trl__sql_filter(sqlite3_vtab_cursor *cur, int idx_num,
                    const char *idx_str, int argc, sqlite3_value **argv)
{
    (void)idx_num;
    cursor *c = (cursor *)cur;
    trl__sql_vtab *vt = c->vt;
    const trl_frame *snap = vt->snap;
    clear_preds(c);
    c->perm = NULL;
    c->next = c->nsel = c->isel = 0;
    c->desc = 0;
    c->eof = 0;
    c->gather_cols = 0;
    trl__sql_stats.filters++;

    trl__sql_plan plan;
    if (trl__sql_plan_parse(idx_str, &plan) != 0 || argc != plan.nterms)
        return fail(c, SQLITE_ERROR, sqlite3_mprintf(
                        "trellis_frame: bad plan \"%s\"", idx_str));
    if (plan.nterms &&
        !(c->preds = calloc((size_t)plan.nterms, sizeof *c->preds)))
        return fail(c, SQLITE_NOMEM, NULL);
    for (int k = 0; k < plan.nterms; k++) {
        trl__sql_pred *p = &c->preds[c->npreds];
        char *msg = NULL;
        int rc = trl__sql_pred_compile(snap, &plan.terms[k], argv[k], p,
                                       &msg);
        if (rc != SQLITE_OK)
            return fail(c, rc, msg);
        if (p->kind == TRL__P_NONE) {
            trl__sql_pred_clear(p);
            c->eof = 1;
            return SQLITE_OK;
        }
        if (p->kind == TRL__P_ALL)
            trl__sql_pred_clear(p);
        else
            c->npreds++;
    }
    rowid_range(c, snap->nrows);

    int rc = SQLITE_OK;
    if (plan.ordered && plan.order_col >= 0) {
        /* every kept row equal on the column (an exact = on it): any
         * order is sorted; else the column's index gives the order */
        int all_equal = 0;
        for (int k = 0; k < plan.nterms; k++)
            all_equal |= plan.terms[k].col == plan.order_col &&
                         plan.terms[k].omitted && !plan.terms[k].in_list &&
                         (plan.terms[k].op == TRL__OP_EQ ||
                          plan.terms[k].op == TRL__OP_IS);
        if (!all_equal) {
            const trl__sql_index *ix =
                trl__sql_index_get(vt, plan.order_col, &rc);
            if (!ix)
                return fail(c, rc, rc == SQLITE_INTERRUPT
                                       ? sqlite3_mprintf("interrupted")
                                       : NULL);
            rc = use_index(c, ix, plan.order_col);
        }
        c->desc = plan.order_desc;
    } else if (plan.ordered) {
        c->desc = plan.order_desc; /* the rowid: row order */
    } else {
        rc = maybe_index(c);
    }
    if (rc == SQLITE_OK && c->perm)
        rc = gather_setup(c, plan.col_used);
    if (rc != SQLITE_OK)
        return fail(c, rc, rc == SQLITE_INTERRUPT
                               ? sqlite3_mprintf("interrupted") : NULL);
    return fill(c);
}

int trl__sql_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i)
{
    cursor *c = (cursor *)cur;
    const trl_column *col = c->cols[i];
    uint32_t r = c->row;
    if (i < 63 && (c->gather_cols >> i) & 1) {
        size_t at = (size_t)c->slot[i] * TRL__SQL_BLOCK + c->isel;
        uint64_t v = c->gval[at];
        switch (col->type) {
        case TRL_F64: {
            double x;
            memcpy(&x, &v, 8);
            if (isnan(x))
                sqlite3_result_null(ctx);
            else
                sqlite3_result_double(ctx, x);
            return SQLITE_OK;
        }
        case TRL_I64:
            if (col->valid && c->gmissing[at])
                sqlite3_result_null(ctx);
            else
                sqlite3_result_int64(ctx, (int64_t)v);
            return SQLITE_OK;
        case TRL_BOOL:
            if (v == TRL_BOOL_MISSING)
                sqlite3_result_null(ctx);
            else
                sqlite3_result_int(ctx, (int)v);
            return SQLITE_OK;
        case TRL_STR:
            if ((int64_t)v < 0)
                sqlite3_result_null(ctx);
            else
                sqlite3_result_text(ctx, col->dict->strs[v],
                                    (int)col->dict->lens[v], SQLITE_STATIC);
            return SQLITE_OK;
        }
    }
    switch (col->type) {
    case TRL_F64: {
        double x = col->v.f64[r];
        if (isnan(x))
            sqlite3_result_null(ctx);
        else
            sqlite3_result_double(ctx, x);
        break;
    }
    case TRL_I64:
        if (col->valid && !col->valid[r])
            sqlite3_result_null(ctx);
        else
            sqlite3_result_int64(ctx, col->v.i64[r]);
        break;
    case TRL_BOOL:
        if (col->v.b[r] == TRL_BOOL_MISSING)
            sqlite3_result_null(ctx);
        else
            sqlite3_result_int(ctx, col->v.b[r]);
        break;
    case TRL_STR: {
        int32_t code = col->v.codes[r];
        /* SQLITE_STATIC: the table holds the dictionary for longer than
         * any statement can use the value (bind refuses to drop a table
         * while a statement runs) */
        if (code < 0)
            sqlite3_result_null(ctx);
        else
            sqlite3_result_text(ctx, col->dict->strs[code],
                                (int)col->dict->lens[code], SQLITE_STATIC);
        break;
    }
    }
    return SQLITE_OK;
}

int trl__sql_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out)
{
    cursor *c = (cursor *)cur;
    *out = (sqlite3_int64)c->row + 1;
    return SQLITE_OK;
}
