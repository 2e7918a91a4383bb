/* sql_filter.c - WHERE terms as predicates over a frame's typed arrays:
 * compiled once per xFilter from the term and its value with SQLite's
 * comparison rules, then applied to blocks of row numbers in tight loops
 * (no sqlite3_value per row). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engines/sql/sql_int.h"

#define TWO63 9223372036854775808.0

int trl__sql_int_real_cmp(int64_t i, double r)
{
    /* as SQLite's sqlite3IntFloatCompare without long double: beyond the
     * int64 range the answer is known; inside, compare the integer parts,
     * then the fraction */
    if (r < -TWO63)
        return 1;
    if (r >= TWO63)
        return -1;
    int64_t y = (int64_t)r;
    if (i < y)
        return -1;
    if (i > y)
        return 1;
    double s = (double)y;
    return s < r ? -1 : s > r ? 1 : 0;
}

void trl__sql_pred_clear(trl__sql_pred *p)
{
    free(p->pass);
    free(p->iset);
    free(p->dset);
    memset(p, 0, sizeof *p);
}

/* ---- what a value means to a column ----------------------------------------- */

/* A right-hand value after the comparison's affinity. */
typedef enum { V_NULL, V_INT, V_REAL, V_TEXT, V_BLOB } vkind;

typedef struct val {
    vkind kind;
    int64_t i;
    double r;
    const char *s;
    int len;
    int numeric_text; /* TEXT that numeric affinity would turn into a number */
} val;

/* Reads v as a numeric column sees it: numeric affinity turns TEXT that
 * looks like a number into one (SQLite applies it to any TEXT operand
 * compared with a column of INTEGER, REAL or NUMERIC affinity). */
static int read_value(sqlite3_value *v, int numeric, val *out)
{
    memset(out, 0, sizeof *out);
    int t = sqlite3_value_type(v);
    if (t == SQLITE_TEXT) {
        out->kind = V_TEXT;
        out->s = (const char *)sqlite3_value_text(v);
        out->len = sqlite3_value_bytes(v);
        if (!out->s)
            return SQLITE_NOMEM;
        /* a copy: argv values belong to SQLite */
        sqlite3_value *d = sqlite3_value_dup(v);
        if (!d)
            return SQLITE_NOMEM;
        int nt = sqlite3_value_numeric_type(d);
        if (nt == SQLITE_INTEGER || nt == SQLITE_FLOAT) {
            out->numeric_text = 1;
            if (numeric) {
                out->kind = nt == SQLITE_INTEGER ? V_INT : V_REAL;
                out->i = sqlite3_value_int64(d);
                out->r = sqlite3_value_double(d);
            }
        }
        sqlite3_value_free(d);
        return SQLITE_OK;
    }
    switch (t) {
    case SQLITE_INTEGER:
        out->kind = V_INT;
        out->i = sqlite3_value_int64(v);
        break;
    case SQLITE_FLOAT:
        out->r = sqlite3_value_double(v);
        out->kind = isnan(out->r) ? V_NULL : V_REAL;
        break;
    case SQLITE_BLOB:
        out->kind = V_BLOB;
        break;
    default:
        out->kind = V_NULL;
    }
    return SQLITE_OK;
}

/* Terms whose value is NULL, or of a class that sorts entirely above the
 * column's values (TEXT and BLOB above numbers, BLOB above TEXT): the
 * answer does not depend on the row's value, only on whether it is NULL. */
static trl__sql_pkind above_all(trl__sql_op op)
{
    switch (op) {
    case TRL__OP_LT: case TRL__OP_LE: case TRL__OP_NE:
        return TRL__P_NOTNULL;
    case TRL__OP_ISNOT:
        return TRL__P_ALL;
    default:
        return TRL__P_NONE; /* =, IS, >, >= */
    }
}

static trl__sql_pkind null_value(trl__sql_op op)
{
    return op == TRL__OP_IS ? TRL__P_NULL
         : op == TRL__OP_ISNOT ? TRL__P_NOTNULL : TRL__P_NONE;
}

/* ---- integer columns (i64, bool, the rowid) --------------------------------- */

/* v op x over integers v, for an integer x. */
static void int_op(trl__sql_pred *p, trl__sql_op op, int64_t x)
{
    p->ilo = INT64_MIN;
    p->ihi = INT64_MAX;
    p->kind = TRL__P_IRANGE;
    switch (op) {
    case TRL__OP_EQ: case TRL__OP_IS: p->ilo = p->ihi = x; break;
    case TRL__OP_LT:
        if (x == INT64_MIN)
            p->kind = TRL__P_NONE;
        else
            p->ihi = x - 1;
        break;
    case TRL__OP_LE: p->ihi = x; break;
    case TRL__OP_GT:
        if (x == INT64_MAX)
            p->kind = TRL__P_NONE;
        else
            p->ilo = x + 1;
        break;
    case TRL__OP_GE: p->ilo = x; break;
    case TRL__OP_NE: case TRL__OP_ISNOT:
        p->kind = TRL__P_INE;
        p->ine = x;
        p->null_passes = op == TRL__OP_ISNOT;
        break;
    default: p->kind = TRL__P_NONE;
    }
}

/* v op r over integers v, for a real r: the same set as an integer bound
 * (v < 2.5 is v <= 2; v = 2.5 is nothing), compared exactly. */
static void int_op_real(trl__sql_pred *p, trl__sql_op op, double r)
{
    int integral = r == floor(r) && r >= -TWO63 && r < TWO63;
    switch (op) {
    case TRL__OP_EQ: case TRL__OP_IS:
        if (integral)
            int_op(p, op, (int64_t)r);
        else
            p->kind = TRL__P_NONE;
        return;
    case TRL__OP_NE: case TRL__OP_ISNOT:
        if (integral)
            int_op(p, op, (int64_t)r);
        else
            p->kind = op == TRL__OP_NE ? TRL__P_NOTNULL : TRL__P_ALL;
        return;
    case TRL__OP_LT: case TRL__OP_LE: case TRL__OP_GT: case TRL__OP_GE:
        break;
    default:
        p->kind = TRL__P_NONE;
        return;
    }
    if (r >= TWO63) { /* above every int64 */
        p->kind = op == TRL__OP_LT || op == TRL__OP_LE ? TRL__P_NOTNULL
                                                       : TRL__P_NONE;
        return;
    }
    if (r < -TWO63) {
        p->kind = op == TRL__OP_GT || op == TRL__OP_GE ? TRL__P_NOTNULL
                                                       : TRL__P_NONE;
        return;
    }
    /* -2^63 <= r < 2^63: floor and ceil are int64 */
    switch (op) {
    case TRL__OP_LT: /* v < r  <=>  v < ceil(r) */
        int_op(p, TRL__OP_LT, (int64_t)ceil(r));
        break;
    case TRL__OP_LE: int_op(p, TRL__OP_LE, (int64_t)floor(r)); break;
    case TRL__OP_GT: int_op(p, TRL__OP_GT, (int64_t)floor(r)); break;
    default: int_op(p, TRL__OP_GE, (int64_t)ceil(r)); break;
    }
}

/* ---- real columns (f64) --------------------------------------------------------- */

static void real_op(trl__sql_pred *p, trl__sql_op op, double x)
{
    p->kind = TRL__P_DRANGE;
    p->dlo = -INFINITY;
    p->dhi = INFINITY;
    p->lo_incl = p->hi_incl = 1;
    switch (op) {
    case TRL__OP_EQ: case TRL__OP_IS: p->dlo = p->dhi = x; break;
    case TRL__OP_LT: p->dhi = x; p->hi_incl = 0; break;
    case TRL__OP_LE: p->dhi = x; break;
    case TRL__OP_GT: p->dlo = x; p->lo_incl = 0; break;
    case TRL__OP_GE: p->dlo = x; break;
    case TRL__OP_NE: case TRL__OP_ISNOT:
        p->kind = TRL__P_DNE;
        p->dne = x;
        p->null_passes = op == TRL__OP_ISNOT;
        break;
    default: p->kind = TRL__P_NONE;
    }
}

/* v op i over doubles v, for an integer i that a double may not hold
 * (beyond 2^53): d is the nearest double; no double lies between i and d,
 * so each bound on i is a bound on d, open or closed. */
static void real_op_int(trl__sql_pred *p, trl__sql_op op, int64_t i)
{
    double d = (double)i;
    int c = trl__sql_int_real_cmp(i, d); /* <0: i < d */
    if (c == 0) {
        real_op(p, op, d);
        return;
    }
    switch (op) {
    case TRL__OP_EQ: case TRL__OP_IS: p->kind = TRL__P_NONE; return;
    case TRL__OP_NE: p->kind = TRL__P_NOTNULL; return;
    case TRL__OP_ISNOT: p->kind = TRL__P_ALL; return;
    case TRL__OP_LT: case TRL__OP_LE:
        /* i < d: v < i <=> v < d; i > d: v < i <=> v <= d */
        real_op(p, c < 0 ? TRL__OP_LT : TRL__OP_LE, d);
        return;
    case TRL__OP_GT: case TRL__OP_GE:
        /* i < d: v > i <=> v >= d; i > d: v > i <=> v > d */
        real_op(p, c < 0 ? TRL__OP_GE : TRL__OP_GT, d);
        return;
    default: p->kind = TRL__P_NONE;
    }
}

/* ---- string columns ------------------------------------------------------------ */

/* SQLite's BINARY collation: bytes, then length. */
static int binary_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : na < nb ? -1 : na > nb ? 1 : 0;
}

static int op_holds(trl__sql_op op, int c)
{
    switch (op) {
    case TRL__OP_EQ: case TRL__OP_IS: return c == 0;
    case TRL__OP_LT: return c < 0;
    case TRL__OP_LE: return c <= 0;
    case TRL__OP_GT: return c > 0;
    case TRL__OP_GE: return c >= 0;
    case TRL__OP_NE: case TRL__OP_ISNOT: return c != 0;
    default: return 0;
    }
}

/* A pass table over the dictionary: slot 0 for missing, code + 1 else. */
static int codes_alloc(trl__sql_pred *p, const trl_strdict *d, int null_passes)
{
    p->kind = TRL__P_CODES;
    p->pass = calloc(d->n + 1, 1);
    if (!p->pass)
        return SQLITE_NOMEM;
    p->pass[0] = (uint8_t)null_passes;
    return SQLITE_OK;
}

static int str_op(trl__sql_pred *p, const trl_column *c, trl__sql_op op,
                  const val *x, int omitted)
{
    switch (x->kind) {
    case V_NULL: p->kind = null_value(op); return SQLITE_OK;
    case V_BLOB: p->kind = above_all(op); return SQLITE_OK;
    case V_INT: case V_REAL:
        /* a literal number is compared as text, an INTEGER column's value
         * numerically: SQLite checks (the term is never omitted); keep
         * every row it could accept */
        p->kind = op == TRL__OP_ISNOT ? TRL__P_ALL : TRL__P_NOTNULL;
        return SQLITE_OK;
    default:
        break;
    }
    /* TEXT. Not omitted, the other side may have numeric affinity, and
     * then SQLite compares numbers: only equality of text that does not
     * look like a number is the same under both readings. */
    int ordered = op != TRL__OP_EQ && op != TRL__OP_IS && op != TRL__OP_NE &&
                  op != TRL__OP_ISNOT;
    if (!omitted && (x->numeric_text || ordered)) {
        p->kind = op == TRL__OP_ISNOT ? TRL__P_ALL : TRL__P_NOTNULL;
        return SQLITE_OK;
    }
    const trl_strdict *d = c->dict;
    if (op == TRL__OP_EQ || op == TRL__OP_IS) {
        p->code = trl_strdict_find(d, x->s, (size_t)x->len);
        p->kind = p->code < 0 ? TRL__P_NONE : TRL__P_CODE;
        return SQLITE_OK;
    }
    int rc = codes_alloc(p, d, op == TRL__OP_ISNOT);
    for (size_t k = 0; rc == SQLITE_OK && k < d->n; k++)
        p->pass[k + 1] = (uint8_t)op_holds(
            op, binary_cmp(d->strs[k], d->lens[k], x->s, (size_t)x->len));
    return rc;
}

/* ---- IN lists --------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_f64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* col IN (list), all values at once: the rows equal to any of them. */
static int in_list(trl__sql_pred *p, const trl_column *c, sqlite3_value *list,
                   int omitted)
{
    int numeric = !c || c->type != TRL_STR;
    int is_real = c && c->type == TRL_F64;
    size_t cap = 16, n = 0;
    void *set = NULL;
    int rc;
    if (!numeric && (rc = codes_alloc(p, c->dict, 0)) != SQLITE_OK)
        return rc;
    if (numeric && !(set = malloc(cap * 8)))
        return SQLITE_NOMEM;
    sqlite3_value *v;
    for (rc = sqlite3_vtab_in_first(list, &v); rc == SQLITE_OK && v;
         rc = sqlite3_vtab_in_next(list, &v)) {
        val x;
        if ((rc = read_value(v, numeric, &x)) != SQLITE_OK)
            break;
        if (!numeric) {
            if (x.kind == V_TEXT && (omitted || !x.numeric_text)) {
                int32_t code = trl_strdict_find(c->dict, x.s, (size_t)x.len);
                if (code >= 0)
                    p->pass[code + 1] = 1;
            } else if (x.kind != V_NULL && x.kind != V_BLOB) {
                /* a number, or text SQLite may read as one: keep all */
                free(p->pass);
                p->pass = NULL;
                p->kind = TRL__P_NOTNULL;
                numeric = -1;
            }
            continue;
        }
        if (numeric < 0 || (x.kind != V_INT && x.kind != V_REAL))
            continue; /* NULL, TEXT, BLOB: equal to no number */
        if (n == cap) {
            void *grown = realloc(set, 2 * cap * 8);
            if (!grown) {
                rc = SQLITE_NOMEM;
                break;
            }
            set = grown;
            cap *= 2;
        }
        if (is_real) {
            double d = x.kind == V_REAL ? x.r : (double)x.i;
            if (x.kind == V_INT && trl__sql_int_real_cmp(x.i, d) != 0)
                continue; /* no double equals it */
            ((double *)set)[n++] = d == 0 ? 0.0 : d;
        } else {
            int64_t i = x.i;
            if (x.kind == V_REAL) {
                if (!(x.r == floor(x.r) && x.r >= -TWO63 && x.r < TWO63))
                    continue;
                i = (int64_t)x.r;
            }
            ((int64_t *)set)[n++] = i;
        }
    }
    if (rc != SQLITE_DONE && rc != SQLITE_OK) {
        free(set);
        return rc;
    }
    if (numeric > 0) {
        qsort(set, n, 8, is_real ? cmp_f64 : cmp_i64);
        p->kind = n == 0 ? TRL__P_NONE : is_real ? TRL__P_DSET : TRL__P_ISET;
        if (is_real)
            p->dset = set;
        else
            p->iset = set;
        p->nset = n;
    } else {
        free(set);
    }
    return SQLITE_OK;
}

/* ---- compile ---------------------------------------------------------------------- */

int trl__sql_pred_compile(const trl_frame *snap, const trl__sql_term *term,
                          sqlite3_value *v, trl__sql_pred *p, char **msg)
{
    memset(p, 0, sizeof *p);
    p->col = term->col;
    const trl_column *c = term->col >= 0 ? snap->cols[term->col] : NULL;
    trl__sql_op op = term->op;
    if (op == TRL__OP_ISNULL || op == TRL__OP_NOTNULL) {
        p->kind = op == TRL__OP_ISNULL ? TRL__P_NULL : TRL__P_NOTNULL;
        return SQLITE_OK;
    }
    if (term->in_list) {
        sqlite3_value *first;
        /* SQLite may still hand one value at a time: then it is an =
         * (and sqlite3_vtab_in_first says SQLITE_MISUSE or ERROR) */
        int rc = sqlite3_vtab_in_first(v, &first);
        if (rc == SQLITE_OK || rc == SQLITE_DONE)
            return in_list(p, c, v, term->omitted);
    }
    int numeric = !c || c->type != TRL_STR;
    val x;
    int rc = read_value(v, numeric, &x);
    if (rc != SQLITE_OK) {
        *msg = sqlite3_mprintf("out of memory");
        return rc;
    }
    if (!numeric)
        return str_op(p, c, op, &x, term->omitted);
    switch (x.kind) {
    case V_NULL: p->kind = null_value(op); break;
    case V_TEXT: case V_BLOB: p->kind = above_all(op); break;
    case V_INT:
        if (c && c->type == TRL_F64)
            real_op_int(p, op, x.i);
        else
            int_op(p, op, x.i);
        break;
    case V_REAL:
        if (c && c->type == TRL_F64)
            real_op(p, op, x.r);
        else
            int_op_real(p, op, x.r);
        break;
    }
    return SQLITE_OK;
}

/* ---- apply ------------------------------------------------------------------------- */

/* Keeps the rows r of rows[0..n) for which cond holds, branch-free. */
#define KEEP(cond)                                 \
    do {                                           \
        size_t m_ = 0;                             \
        for (size_t k_ = 0; k_ < n; k_++) {        \
            uint32_t r = rows[k_];                 \
            rows[m_] = r;                          \
            m_ += (cond) ? 1 : 0;                  \
        }                                          \
        return m_;                                 \
    } while (0)

static int in_iset(const int64_t *s, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && s[lo] == x;
}

static int in_dset(const double *s, size_t n, double x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && s[lo] == x;
}

static size_t apply_int(const trl__sql_pred *p, const int64_t *a,
                        const uint8_t *valid, uint32_t *rows, size_t n)
{
    int64_t lo = p->ilo, hi = p->ihi, ne = p->ine;
    int np = p->null_passes;
    switch (p->kind) {
    case TRL__P_IRANGE:
        if (!valid)
            KEEP((a[r] >= lo) & (a[r] <= hi));
        KEEP(valid[r] & (a[r] >= lo) & (a[r] <= hi));
    case TRL__P_INE:
        if (!valid)
            KEEP(a[r] != ne);
        KEEP(valid[r] ? a[r] != ne : np);
    case TRL__P_ISET:
        KEEP((!valid || valid[r]) && in_iset(p->iset, p->nset, a[r]));
    case TRL__P_NULL:
        if (!valid)
            return 0;
        KEEP(!valid[r]);
    case TRL__P_NOTNULL:
        if (!valid)
            return n;
        KEEP(valid[r]);
    default:
        return n;
    }
}

static size_t apply_bool(const trl__sql_pred *p, const uint8_t *b,
                         uint32_t *rows, size_t n)
{
    int64_t lo = p->ilo, hi = p->ihi, ne = p->ine;
    int np = p->null_passes;
    switch (p->kind) {
    case TRL__P_IRANGE:
        KEEP((b[r] != TRL_BOOL_MISSING) & (b[r] >= lo) & (b[r] <= hi));
    case TRL__P_INE:
        KEEP(b[r] == TRL_BOOL_MISSING ? np : b[r] != ne);
    case TRL__P_ISET:
        KEEP(b[r] != TRL_BOOL_MISSING && in_iset(p->iset, p->nset, b[r]));
    case TRL__P_NULL:
        KEEP(b[r] == TRL_BOOL_MISSING);
    case TRL__P_NOTNULL:
        KEEP(b[r] != TRL_BOOL_MISSING);
    default:
        return n;
    }
}

static size_t apply_real(const trl__sql_pred *p, const double *a,
                         uint32_t *rows, size_t n)
{
    double lo = p->dlo, hi = p->dhi, ne = p->dne;
    switch (p->kind) {
    case TRL__P_DRANGE:
        /* every comparison with NaN (missing) is false */
        if (p->lo_incl && p->hi_incl)
            KEEP((a[r] >= lo) & (a[r] <= hi));
        if (p->lo_incl)
            KEEP((a[r] >= lo) & (a[r] < hi));
        if (p->hi_incl)
            KEEP((a[r] > lo) & (a[r] <= hi));
        KEEP((a[r] > lo) & (a[r] < hi));
    case TRL__P_DNE:
        if (p->null_passes)
            KEEP(a[r] != ne); /* NaN != x: missing passes IS NOT */
        KEEP((a[r] == a[r]) & (a[r] != ne));
    case TRL__P_DSET:
        KEEP(in_dset(p->dset, p->nset, a[r]));
    case TRL__P_NULL:
        KEEP(isnan(a[r]));
    case TRL__P_NOTNULL:
        KEEP(!isnan(a[r]));
    default:
        return n;
    }
}

static size_t apply_str(const trl__sql_pred *p, const int32_t *codes,
                        uint32_t *rows, size_t n)
{
    int32_t code = p->code;
    const uint8_t *pass = p->pass;
    switch (p->kind) {
    case TRL__P_CODE:
        KEEP(codes[r] == code);
    case TRL__P_CODES:
        KEEP(pass[codes[r] + 1]);
    case TRL__P_NULL:
        KEEP(codes[r] < 0);
    case TRL__P_NOTNULL:
        KEEP(codes[r] >= 0);
    default:
        return n;
    }
}

static size_t apply_rowid(const trl__sql_pred *p, uint32_t *rows, size_t n)
{
    int64_t lo = p->ilo, hi = p->ihi, ne = p->ine;
    switch (p->kind) {
    case TRL__P_IRANGE:
        KEEP(((int64_t)r + 1 >= lo) & ((int64_t)r + 1 <= hi));
    case TRL__P_INE:
        KEEP((int64_t)r + 1 != ne);
    case TRL__P_ISET:
        KEEP(in_iset(p->iset, p->nset, (int64_t)r + 1));
    case TRL__P_NULL:
        return 0;
    default:
        return n;
    }
}

size_t trl__sql_pred_apply(const trl__sql_pred *p, const trl_frame *snap,
                           uint32_t *rows, size_t n)
{
    if (p->kind == TRL__P_NONE)
        return 0;
    if (p->kind == TRL__P_ALL)
        return n;
    if (p->col < 0)
        return apply_rowid(p, rows, n);
    const trl_column *c = snap->cols[p->col];
    switch (c->type) {
    case TRL_I64: return apply_int(p, c->v.i64, c->valid, rows, n);
    case TRL_BOOL: return apply_bool(p, c->v.b, rows, n);
    case TRL_F64: return apply_real(p, c->v.f64, rows, n);
    case TRL_STR: return apply_str(p, c->v.codes, rows, n);
    }
    return n;
}
