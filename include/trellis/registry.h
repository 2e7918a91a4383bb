/* registry.h - the feature registry: typed columnar frames, their versions
 * and lineage, kept in SQLite. Knows nothing of Jupyter or of any engine;
 * Lua (and later SQL and Python) reach it through this header only. */
#ifndef TRELLIS_REGISTRY_H
#define TRELLIS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "trellis/error.h"

/* ---- columns ------------------------------------------------------------- */

typedef enum {
    TRL_F64 = 0,  /* double; NaN is missing */
    TRL_I64 = 1,  /* int64; missing marked in `valid` */
    TRL_BOOL = 2, /* uint8 0/1; TRL_BOOL_MISSING is missing */
    TRL_STR = 3   /* int32 codes into a dictionary; -1 is missing */
} trl_dtype;

#define TRL_BOOL_MISSING 255

/* Dictionary of a string column: distinct strings, each once, shared by
 * the columns derived from one another. Reference-counted, immutable once
 * a column uses it. */
typedef struct trl_strdict {
    int refcount;      /* private (atomic: any thread may drop one) */
    size_t n;          /* read-only: number of strings */
    char **strs;       /* read-only: NUL-terminated UTF-8, owned */
    size_t *lens;      /* read-only: byte lengths */
    size_t cap;        /* private */
    int32_t *index;    /* private: open-addressing hash of codes, -1 empty */
    size_t index_cap;  /* private */
} trl_strdict;

/* A column: contiguous values of one type. Immutable after creation and
 * reference-counted, so frames share columns instead of copying them. */
typedef struct trl_column {
    int refcount;          /* private: use trl_column_incref/decref
                            * (atomic: any thread may drop one) */
    trl_dtype type;        /* read-only */
    size_t len;            /* read-only: number of rows */
    union {
        double *f64;
        int64_t *i64;
        uint8_t *b;
        int32_t *codes;
    } v;                   /* read-only: the values, owned */
    uint8_t *valid;        /* read-only: TRL_I64 only; NULL = none missing,
                            * else 1 present / 0 missing per row, owned */
    trl_strdict *dict;     /* read-only: TRL_STR only, a reference */
} trl_column;

/* Creates a column of len rows of type, values zeroed (strings missing,
 * i64 all present). For TRL_STR, dict is borrowed (incref'd); NULL makes a
 * new empty dictionary. Returns NULL when out of memory. Free with
 * trl_column_decref. The creator may fill the values before sharing it. */
trl_column *trl_column_new(trl_dtype type, size_t len, trl_strdict *dict);
void trl_column_incref(trl_column *c);
void trl_column_decref(trl_column *c);

/* Name of a type: "f64", "i64", "bool", "str". */
const char *trl_dtype_name(trl_dtype t);

/* Whether row i is missing. */
int trl_column_is_missing(const trl_column *c, size_t i);

/* Returns row i as a double (missing -> NaN, bool 0/1, str -> NaN). */
double trl_column_get_f64(const trl_column *c, size_t i);

trl_strdict *trl_strdict_new(void);
void trl_strdict_incref(trl_strdict *d);
void trl_strdict_decref(trl_strdict *d);
/* Code of s (interned when new). Returns -1 when out of memory. */
int32_t trl_strdict_intern(trl_strdict *d, const char *s, size_t len);
/* Code of s if present, else -1. */
int32_t trl_strdict_find(const trl_strdict *d, const char *s, size_t len);

/* ---- column operations ---------------------------------------------------- */
/* Every operation returns a new column (refcount 1) or NULL with err set
 * ("columns have 10 and 12 rows"). Operands are never modified. Numeric
 * operations treat i64/bool as numbers and give f64 (NaN propagates);
 * comparisons give bool (missing where an operand is missing). Long loops
 * poll the interrupt callback set with trl_registry_set_interrupt. */

typedef enum {
    TRL_OP_ADD, TRL_OP_SUB, TRL_OP_MUL, TRL_OP_DIV, TRL_OP_POW, TRL_OP_MOD,
    TRL_OP_EQ, TRL_OP_NE, TRL_OP_LT, TRL_OP_LE, TRL_OP_GT, TRL_OP_GE,
    TRL_OP_AND, TRL_OP_OR
} trl_binop;

/* a op b for two columns of equal length. Strings compare with EQ/NE only
 * (by content, even across dictionaries). */
trl_column *trl_column_binop(trl_binop op, const trl_column *a,
                             const trl_column *b, trl_error *err);
/* a op x (scalar_left = 0) or x op a (scalar_left = 1). */
trl_column *trl_column_binop_scalar(trl_binop op, const trl_column *a,
                                    double x, int scalar_left,
                                    trl_error *err);
/* String column compared with one string (EQ/NE). */
trl_column *trl_column_cmp_str(trl_binop op, const trl_column *a,
                               const char *s, size_t len, trl_error *err);

typedef enum {
    TRL_FN_NEG, TRL_FN_LOG, TRL_FN_EXP, TRL_FN_SQRT, TRL_FN_ABS, TRL_FN_NOT
} trl_unop;

trl_column *trl_column_unop(trl_unop op, const trl_column *a, trl_error *err);
trl_column *trl_column_clip(const trl_column *a, double lo, double hi,
                            trl_error *err);
trl_column *trl_column_fill_missing(const trl_column *a, double value,
                                    trl_error *err);
/* Rows of a where mask (bool, same length) is true; missing counts false. */
trl_column *trl_column_filter(const trl_column *a, const trl_column *mask,
                              trl_error *err);
/* Rows at the given indices (each < a->len). */
trl_column *trl_column_take(const trl_column *a, const size_t *idx, size_t n,
                            trl_error *err);

/* ---- reductions ----------------------------------------------------------- */
/* Over present values, as NumPy's nan-functions: sum of nothing is 0, mean
 * and the rest of nothing are NaN. std is the sample deviation (ddof = 1,
 * as pandas). quantile interpolates linearly between order statistics
 * (NumPy's default), q in [0, 1]. Strings: count, n_missing, n_unique. */

typedef struct trl_stats {
    size_t count, n_missing, n_unique;
    double sum, mean, std, min, max;
} trl_stats;

int trl_column_stats(const trl_column *c, trl_stats *out, trl_error *err);
/* The same but n_unique of a numeric column, which is left 0: counting
 * distinct numbers hashes every one, many times the cost of the rest
 * (col:mean() needs none of it). */
int trl_column_moments(const trl_column *c, trl_stats *out, trl_error *err);
int trl_column_quantile(const trl_column *c, double q, double *out,
                        trl_error *err);

/* ---- frames --------------------------------------------------------------- */

/* A table of named columns of one length. A working frame may gain or
 * replace columns; a registered version is frozen and never changes.
 * Reference-counted: engines share frames. */
typedef struct trl_frame {
    int refcount;        /* private (atomic: any thread may drop one) */
    size_t nrows;        /* read-only */
    size_t ncols;        /* read-only */
    char **names;        /* read-only: column names, owned */
    trl_column **cols;   /* read-only: references */
    size_t cap;          /* private */
    int frozen;          /* read-only: 1 for registered versions */
    json_t *lineage;     /* read-only: where it came from, owned; may be NULL */
    char *ref;           /* read-only: "name@N" once registered, else NULL */
} trl_frame;

/* An empty frame with no columns (nrows fixed by the first column). */
trl_frame *trl_frame_new(void);
void trl_frame_incref(trl_frame *f);
void trl_frame_decref(trl_frame *f);

/* Adds column c (borrowed, incref'd) as name, replacing a column of that
 * name. Fails on a frozen frame or when the length differs from nrows. */
int trl_frame_set(trl_frame *f, const char *name, trl_column *c,
                  trl_error *err);
/* The column called name (borrowed), or NULL. */
trl_column *trl_frame_get(const trl_frame *f, const char *name);
/* Removes a column; TRL_ENOTFOUND when absent. */
int trl_frame_drop(trl_frame *f, const char *name, trl_error *err);
/* A new unfrozen frame sharing f's columns (cheap: no data copied). */
trl_frame *trl_frame_copy(const trl_frame *f);
/* Replaces the lineage (steals lineage_new). */
void trl_frame_set_lineage(trl_frame *f, json_t *lineage_new);
/* The lineage of a frame made from parent by one step (stolen):
 * {"source": "derived", "parents": [parent's "name@N", or its own lineage
 * when it was never registered, or {"source": source}], "derivation":
 * [step]}. NULL when out of memory. */
json_t *trl_frame_derived_lineage(const trl_frame *parent, const char *source,
                                  json_t *step_new);
/* Appends a step (stolen) to a working frame's "derivation", giving it
 * {"source": source} first when it has no lineage. A frame's lineage is
 * its own: a model trained on it keeps a copy. 0 or TRL_ENOMEM. */
int trl_frame_add_step(trl_frame *f, const char *source, json_t *step_new);

/* New frames from f's rows; f is never modified. */
trl_frame *trl_frame_select(const trl_frame *f, const char *const *names,
                            size_t n, trl_error *err);
trl_frame *trl_frame_filter(const trl_frame *f, const trl_column *mask,
                            trl_error *err);
trl_frame *trl_frame_take(const trl_frame *f, const size_t *idx, size_t n,
                          trl_error *err);
trl_frame *trl_frame_head(const trl_frame *f, size_t n, trl_error *err);
/* n rows without replacement, deterministic for a seed. */
trl_frame *trl_frame_sample(const trl_frame *f, size_t n, uint64_t seed,
                            trl_error *err);
/* Splits into k parts with the given fractions (summing to <= 1; the last
 * part takes the rounding rest), rows shuffled with seed. out receives k
 * new frames. */
int trl_frame_split(const trl_frame *f, const double *fractions, size_t k,
                    uint64_t seed, trl_frame **out, trl_error *err);

/* ---- group by and join ----------------------------------------------------- */

typedef enum {
    TRL_AGG_COUNT,    /* present values */
    TRL_AGG_SUM,
    TRL_AGG_MEAN,
    TRL_AGG_STD,      /* ddof = 1, as pandas */
    TRL_AGG_MIN,
    TRL_AGG_MAX,
    TRL_AGG_N_UNIQUE,
    TRL_AGG_FIRST     /* first present value in row order */
} trl_agg_fn;

typedef struct trl_agg {
    const char *column;  /* input column */
    trl_agg_fn fn;
    const char *as;      /* output column name */
} trl_agg;

/* Parses "count", "sum", "mean", "std", "min", "max", "n_unique", "first";
 * -1 when unknown. */
int trl_agg_parse(const char *name);

/* One row per distinct key (rows whose key is missing are dropped, as
 * pandas), sorted by key; the key column first, then one column per agg:
 * count and n_unique as i64, first as the input's type, the rest f64.
 * Errors name unknown columns and aggregations that do not apply (sum of
 * a str column). */
trl_frame *trl_frame_group_by(const trl_frame *f, const char *key,
                              const trl_agg *aggs, size_t n,
                              trl_error *err);

typedef enum { TRL_JOIN_INNER, TRL_JOIN_LEFT } trl_join_kind;

/* Rows of left matched with rows of right on the key column (equal values
 * of equal type class: numbers with numbers, strings by content); every
 * match pair gives a row, in left order then right order. LEFT keeps
 * unmatched left rows with missing right values. Output: left's columns,
 * then right's except the key; a right name that clashes gets suffix
 * "_right". */
trl_frame *trl_frame_join(const trl_frame *left, const trl_frame *right,
                          const char *key, trl_join_kind kind,
                          trl_error *err);

/* ---- CSV ------------------------------------------------------------------ */

typedef struct trl_csv_options {
    char delimiter;         /* default ',' */
    int header;             /* 1 (default): the first row names columns */
    json_t *types;          /* borrowed, may be NULL: {"col": "str", ...} */
} trl_csv_options;

/* Reads a CSV file into a new frame: RFC 4180 quoting (embedded delimiters,
 * newlines and doubled quotes), CRLF, a UTF-8 BOM, empty fields as missing;
 * types inferred per column (i64, f64, bool, else str) unless overridden.
 * Errors name the file, line and column ("churn.csv line 1043, column
 * 'tenure': 'abc' is not a number"). The frame's lineage records the path
 * and the SHA-256 of the content. */
trl_frame *trl_csv_read(const char *path, const trl_csv_options *opts,
                        trl_error *err);

/* Same from a buffer; name is used in messages and lineage. */
trl_frame *trl_csv_parse(const char *data, size_t len, const char *name,
                         const trl_csv_options *opts, trl_error *err);

/* ---- the registry ---------------------------------------------------------- */

typedef struct trl_registry trl_registry;

/* Opens (creating) the registry database at path (":memory:" allowed).
 * NULL with err set on failure. */
trl_registry *trl_registry_open(const char *path, trl_error *err);
void trl_registry_close(trl_registry *r);

/* Default path: $TRELLIS_REGISTRY, else the user data dir
 * (~/.local/share/trellis/registry.sqlite). malloc'd. */
char *trl_registry_default_path(void);

/* Freezes a new version of name holding f's columns, in one transaction.
 * f itself is not modified (it stays a working copy). On success
 * *version_out is N of "name@N". Names are [A-Za-z_][A-Za-z0-9_]*. */
int trl_registry_register(trl_registry *r, const char *name, trl_frame *f,
                          int *version_out, trl_error *err);

/* The frozen frame "name" (latest) or "name@N": a new reference. */
trl_frame *trl_registry_get(trl_registry *r, const char *spec,
                            trl_error *err);

/* A working frame on that version: unfrozen, sharing its columns (nothing
 * copied), with lineage {"source": "derived", "parents": ["name@N"],
 * "derivation": []}; the steps taken on it are added there. */
trl_frame *trl_registry_checkout(trl_registry *r, const char *spec,
                                 trl_error *err);

/* A new array of {name, version, rows, columns, created, lineage}, one per
 * version, ordered by name then version; NULL when the database cannot be
 * read (or out of memory). */
json_t *trl_registry_list(trl_registry *r);

/* Sets the function long loops poll; non-zero stops them with TRL_EINTR
 * ("interrupted"). NULL: never interrupted. */
void trl_registry_set_interrupt(int (*poll)(void));

/* Non-zero when that callback says stop: for long loops outside the
 * registry that honour the same interrupt (SQL cursors). */
int trl_registry_interrupted(void);

#endif
