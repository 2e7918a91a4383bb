/* sql_int.h - private structures of the trellis_frame virtual table,
 * shared by its files: tables (sql_tables.c), plans (sql_plan.c),
 * predicates (sql_filter.c), cursors (sql_cursor.c), sorted indexes
 * (sql_index.c). */
#ifndef TRELLIS_SQL_INT_H
#define TRELLIS_SQL_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "trellis/sql.h"

/* Rows a cursor examines per block: predicates run over a block of row
 * numbers at a time, in tight loops on the typed arrays. */
#define TRL__SQL_BLOCK 2048

/* Blocks between two interrupt polls (2^17 rows). */
#define TRL__SQL_POLL_BLOCKS 64

/* Filtered scans of one column after which its sorted index is built. */
#define TRL__SQL_INDEX_AFTER 3

/* ---- the connection's table set -------------------------------------------- */

typedef struct trl__sql_entry {
    char *name;        /* as bound, owned */
    trl_frame *snap;   /* owned: a copy sharing the bound frame's columns */
} trl__sql_entry;

struct trl_sql_tables {
    sqlite3 *db;
    trl__sql_entry **items; /* owned, each owned: stable addresses */
    size_t n, cap;
    /* The entry whose CREATE VIRTUAL TABLE is running: xCreate accepts
     * only it, so a user's own CREATE ... USING trellis_frame fails. */
    trl__sql_entry *pending;
};

/* The entry bound as name (ASCII case ignored), or NULL. */
trl__sql_entry *trl__sql_find(trl_sql_tables *t, const char *name);
/* Removes the entry e (releasing its snapshot). */
void trl__sql_forget(trl_sql_tables *t, trl__sql_entry *e);

/* ---- the virtual table ------------------------------------------------------ */

struct trl__sql_index;

typedef struct trl__sql_vtab {
    sqlite3_vtab base;
    sqlite3 *db;
    trl_sql_tables *tables;  /* the connection's set: outlives the vtab */
    char *name;              /* owned */
    trl_frame *snap;         /* own reference; NULL: binding lost (after
                              * a ROLLBACK undid it): queries fail */
    struct trl__sql_index **index; /* per column, lazily built, owned */
    unsigned *scans;         /* per column: filtered scans so far */
} trl__sql_vtab;

/* xBestIndex and the plan it hands xFilter through idxStr (sql_plan.c). */
int trl__sql_best_index(sqlite3_vtab *vt, sqlite3_index_info *info);

typedef enum {
    TRL__OP_EQ, TRL__OP_LT, TRL__OP_LE, TRL__OP_GT, TRL__OP_GE, TRL__OP_NE,
    TRL__OP_IS, TRL__OP_ISNOT, TRL__OP_ISNULL, TRL__OP_NOTNULL
} trl__sql_op;

typedef struct trl__sql_term {
    int col;          /* frame column, -1 the rowid */
    trl__sql_op op;
    int in_list;      /* argv is an IN list (all-at-once) */
    int omitted;      /* SQLite does not check it again: be exact */
} trl__sql_term;

typedef struct trl__sql_plan {
    trl__sql_term terms[64]; /* in argv order */
    int nterms;
    int order_col;    /* ORDER BY consumed on this column (-1 rowid) ... */
    int ordered;      /* ... when set */
    int order_desc;
    uint64_t col_used;  /* xBestIndex's colUsed: bit j column j, bit 63
                         * any column from 63 on */
} trl__sql_plan;

/* Parses idxStr; -1 when it is not one of ours (never expected). */
int trl__sql_plan_parse(const char *idx_str, trl__sql_plan *p);

/* ---- predicates -------------------------------------------------------------- */

typedef enum {
    TRL__P_ALL,       /* every row */
    TRL__P_NONE,      /* no row */
    TRL__P_NOTNULL,   /* rows not missing */
    TRL__P_NULL,      /* missing rows */
    TRL__P_IRANGE,    /* i64/bool/rowid: ilo <= v <= ihi */
    TRL__P_INE,       /* i64/bool/rowid: v != ine */
    TRL__P_DRANGE,    /* f64: dlo <(=) v <(=) dhi */
    TRL__P_DNE,       /* f64: v != dne */
    TRL__P_CODE,      /* str: code == code */
    TRL__P_CODES,     /* str: pass[code] */
    TRL__P_ISET,      /* i64/bool/rowid: v in iset (sorted) */
    TRL__P_DSET       /* f64: v in dset (sorted) */
} trl__sql_pkind;

typedef struct trl__sql_pred {
    int col;                 /* frame column, -1 the rowid */
    trl__sql_pkind kind;
    int null_passes;         /* IS NOT: a missing value passes */
    int64_t ilo, ihi, ine;
    double dlo, dhi, dne;
    int lo_incl, hi_incl;
    int32_t code;
    uint8_t *pass;           /* owned: one byte per dictionary code */
    int64_t *iset;           /* owned */
    double *dset;            /* owned */
    size_t nset;
} trl__sql_pred;

/* Compiles term with its value(s) v for column col of snap into p.
 * 0, or an SQLite error code with *msg (sqlite3_malloc'd) set. */
int trl__sql_pred_compile(const trl_frame *snap, const trl__sql_term *term,
                          sqlite3_value *v, trl__sql_pred *p, char **msg);
void trl__sql_pred_clear(trl__sql_pred *p);

/* Keeps the rows of rows[0..n) that p passes, in order; returns how many. */
size_t trl__sql_pred_apply(const trl__sql_pred *p, const trl_frame *snap,
                           uint32_t *rows, size_t n);

/* SQLite's comparison of an integer with a real: <0, 0, >0, exact (no
 * rounding of i). r is not NaN. */
int trl__sql_int_real_cmp(int64_t i, double r);

/* ---- sorted indexes ----------------------------------------------------------- */

/* One column's rows in SQLite's ascending order: missing rows first, then
 * values ascending (str by BINARY collation). */
typedef struct trl__sql_index {
    uint32_t *perm;     /* owned: nrows row numbers */
    size_t n, n_null;
    uint32_t *rank;     /* str only, owned: rank of each dictionary code */
    size_t ndict;
} trl__sql_index;

/* The index of column col, built on first use. NULL with *rc set
 * (SQLITE_NOMEM, SQLITE_INTERRUPT). */
trl__sql_index *trl__sql_index_get(trl__sql_vtab *vt, int col, int *rc);
void trl__sql_index_free(trl__sql_index *ix);

/* Narrows [*lo, *hi) of ix->perm to the positions whose values p could
 * pass; 1 when p was fully applied that way (it needs no more checks),
 * 0 when it cannot use the index (nothing changed). */
int trl__sql_index_narrow(const trl__sql_index *ix, const trl_frame *snap,
                          const trl__sql_pred *p, size_t *lo, size_t *hi);

/* ---- cursors ------------------------------------------------------------------ */

int trl__sql_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out);
int trl__sql_close(sqlite3_vtab_cursor *cur);
int trl__sql_filter(sqlite3_vtab_cursor *cur, int idx_num,
                    const char *idx_str, int argc, sqlite3_value **argv);
int trl__sql_next(sqlite3_vtab_cursor *cur);
int trl__sql_eof(sqlite3_vtab_cursor *cur);
int trl__sql_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i);
int trl__sql_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out);

/* Whether the cursor's statement should stop: sqlite3_interrupt (when
 * the library can tell, 3.41+) or the registry's interrupt callback. */
int trl__sql_interrupted(sqlite3 *db);

/* Counters for tests: what cursors did since the last reset. */
typedef struct trl__sql_counters {
    uint64_t filters;        /* xFilter calls */
    uint64_t rows_examined;  /* rows a predicate looked at */
    uint64_t rows_returned;  /* rows handed to SQLite */
    uint64_t index_builds;
    uint64_t index_scans;    /* xFilter calls that used an index */
} trl__sql_counters;

extern trl__sql_counters trl__sql_stats;

#endif
