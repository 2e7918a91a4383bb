/* sql_result.c - a statement's rows as a new frame: values gathered per
 * column as SQLite returns them, each column's type decided once every
 * value is known (see sql.h for the mapping). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/sql.h"

/* Rows between two polls of the registry's interrupt callback. */
#define POLL_ROWS 65536

/* What a column's declared type suggests when its values cannot say (all
 * NULL, or no rows); BOOL also allows 0/1 back to bool. Mirrors SQLite's
 * affinity rules, with BOOL first. */
typedef enum { H_NONE, H_BOOL, H_INT, H_TEXT, H_REAL } hint;

typedef union cell {
    int64_t i;
    double r;
    int32_t code;
} cell;

typedef struct colbuf {
    char *name;             /* owned, unique without regard to case */
    hint decl;
    uint8_t *type;          /* owned: SQLITE_INTEGER ... SQLITE_NULL */
    cell *v;                /* owned */
    size_t n_int, n_real, n_text;
    int only01;             /* every INTEGER is 0 or 1 */
    trl_strdict *dict;      /* owned reference, made at the first TEXT */
} colbuf;

static int contains(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s; s++)
        if (sqlite3_strnicmp(s, word, (int)n) == 0)
            return 1;
    return 0;
}

static hint decl_hint(const char *decl)
{
    if (!decl)
        return H_NONE;
    if (contains(decl, "BOOL"))
        return H_BOOL;
    if (contains(decl, "INT"))
        return H_INT;
    if (contains(decl, "CHAR") || contains(decl, "CLOB") ||
        contains(decl, "TEXT"))
        return H_TEXT;
    if (contains(decl, "BLOB"))
        return H_NONE;
    if (contains(decl, "REAL") || contains(decl, "FLOA") ||
        contains(decl, "DOUB"))
        return H_REAL;
    return H_NONE;
}

/* Result names: sqlite3_column_name's, "columnN" when empty, ":k" added
 * to a name an earlier column has (ASCII case ignored, as SQL sees
 * names), as CREATE TABLE ... AS SELECT names them. */
static int name_columns(sqlite3_stmt *st, colbuf *cols, int nc)
{
    for (int j = 0; j < nc; j++) {
        const char *base = sqlite3_column_name(st, j);
        char *name = base && *base ? sqlite3_mprintf("%s", base)
                                   : sqlite3_mprintf("column%d", j + 1);
        if (!name)
            return -1;
        base = NULL;
        for (unsigned k = 1;; k++) {
            int clash = 0;
            for (int i = 0; i < j && !clash; i++)
                clash = sqlite3_stricmp(cols[i].name, name) == 0;
            if (!clash)
                break;
            if (!base)
                base = sqlite3_mprintf("%s", name);
            sqlite3_free(name);
            if (!base || !(name = sqlite3_mprintf("%s:%u", base, k))) {
                sqlite3_free((char *)base);
                return -1;
            }
        }
        sqlite3_free((char *)base);
        cols[j].name = strdup(name);
        sqlite3_free(name);
        if (!cols[j].name)
            return -1;
        cols[j].decl = decl_hint(sqlite3_column_decltype(st, j));
        cols[j].only01 = 1;
    }
    return 0;
}

static void colbufs_free(colbuf *cols, int nc)
{
    for (int j = 0; cols && j < nc; j++) {
        free(cols[j].name);
        free(cols[j].type);
        free(cols[j].v);
        trl_strdict_decref(cols[j].dict);
    }
    free(cols);
}

static int grow(colbuf *cols, int nc, size_t cap)
{
    for (int j = 0; j < nc; j++) {
        uint8_t *t = realloc(cols[j].type, cap);
        if (!t)
            return -1;
        cols[j].type = t;
        cell *v = realloc(cols[j].v, cap * sizeof *v);
        if (!v)
            return -1;
        cols[j].v = v;
    }
    return 0;
}

/* Stores row's value of column j; TRL_EINVAL for a BLOB. */
static int take(sqlite3_stmt *st, int j, colbuf *b, size_t row,
                trl_error *err)
{
    int t = sqlite3_column_type(st, j);
    b->type[row] = (uint8_t)t;
    switch (t) {
    case SQLITE_INTEGER:
        b->v[row].i = sqlite3_column_int64(st, j);
        b->only01 &= b->v[row].i == 0 || b->v[row].i == 1;
        b->n_int++;
        return 0;
    case SQLITE_FLOAT:
        b->v[row].r = sqlite3_column_double(st, j);
        b->n_real++;
        return 0;
    case SQLITE_TEXT: {
        const char *s = (const char *)sqlite3_column_text(st, j);
        int len = sqlite3_column_bytes(st, j);
        if (!s || (!b->dict && !(b->dict = trl_strdict_new())) ||
            (b->v[row].code = trl_strdict_intern(b->dict, s, (size_t)len)) <
                0)
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
        b->n_text++;
        return 0;
    }
    case SQLITE_BLOB:
        return trl_error_set(err, TRL_EINVAL,
                             "column '%s' (result column %d), row %zu: a BLOB "
                             "cannot go into a frame; convert it in the query, "
                             "e.g. hex(...) or CAST(... AS TEXT)",
                             b->name, j + 1, row + 1);
    default:
        return 0;
    }
}

/* ---- one frame column from the gathered values -------------------------------- */

static trl_column *as_str(colbuf *b, size_t n)
{
    if (!b->dict && !(b->dict = trl_strdict_new()))
        return NULL;
    trl_column *c = trl_column_new(TRL_STR, n, b->dict);
    for (size_t r = 0; c && r < n; r++) {
        char buf[64];
        switch (b->type[r]) {
        case SQLITE_TEXT:
            c->v.codes[r] = b->v[r].code;
            continue;
        case SQLITE_INTEGER:
            sqlite3_snprintf(sizeof buf, buf, "%lld", (long long)b->v[r].i);
            break;
        case SQLITE_FLOAT:
            /* as SQLite renders a REAL as TEXT (CAST, ||) */
            sqlite3_snprintf(sizeof buf, buf, "%!.15g", b->v[r].r);
            break;
        default:
            continue; /* NULL: missing already */
        }
        if ((c->v.codes[r] = trl_strdict_intern(b->dict, buf, strlen(buf))) <
            0) {
            trl_column_decref(c);
            return NULL;
        }
    }
    return c;
}

static trl_column *as_f64(const colbuf *b, size_t n)
{
    trl_column *c = trl_column_new(TRL_F64, n, NULL);
    for (size_t r = 0; c && r < n; r++)
        c->v.f64[r] = b->type[r] == SQLITE_FLOAT     ? b->v[r].r
                      : b->type[r] == SQLITE_INTEGER ? (double)b->v[r].i
                                                     : NAN;
    return c;
}

static trl_column *as_i64(const colbuf *b, size_t n)
{
    trl_column *c = trl_column_new(TRL_I64, n, NULL);
    if (!c)
        return NULL;
    size_t missing = n - b->n_int;
    if (missing && !(c->valid = malloc(n))) {
        trl_column_decref(c);
        return NULL;
    }
    for (size_t r = 0; r < n; r++) {
        int present = b->type[r] == SQLITE_INTEGER;
        c->v.i64[r] = present ? b->v[r].i : 0;
        if (missing)
            c->valid[r] = (uint8_t)present;
    }
    return c;
}

static trl_column *as_bool(const colbuf *b, size_t n)
{
    trl_column *c = trl_column_new(TRL_BOOL, n, NULL);
    for (size_t r = 0; c && r < n; r++)
        c->v.b[r] = b->type[r] == SQLITE_INTEGER ? (uint8_t)b->v[r].i
                                                 : TRL_BOOL_MISSING;
    return c;
}

static trl_column *finish(colbuf *b, size_t n)
{
    if (b->n_text)
        return as_str(b, n);
    if (b->n_real)
        return as_f64(b, n);
    if (b->n_int)
        return b->decl == H_BOOL && b->only01 ? as_bool(b, n) : as_i64(b, n);
    switch (b->decl) { /* only NULL, or no rows */
    case H_BOOL: return as_bool(b, n);
    case H_INT: return as_i64(b, n);
    case H_TEXT: return as_str(b, n);
    default: return as_f64(b, n);
    }
}

static trl_frame *build(sqlite3_stmt *st, colbuf *cols, int nc, size_t n,
                        trl_error *err)
{
    trl_frame *f = trl_frame_new();
    if (!f) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (int j = 0; j < nc; j++) {
        trl_column *c = finish(&cols[j], n);
        int rc = c ? trl_frame_set(f, cols[j].name, c, err)
                   : trl_error_set(err, TRL_ENOMEM, "out of memory");
        trl_column_decref(c);
        if (rc) {
            trl_frame_decref(f);
            return NULL;
        }
    }
    const char *sql = sqlite3_sql(st);
    json_t *text = sql ? json_string(sql) : NULL;
    trl_frame_set_lineage(f, json_pack("{s:s, s:o, s:I}", "source", "sql",
                                       "sql", text ? text : json_null(),
                                       "rows", (json_int_t)n));
    return f;
}

trl_frame *trl_sql_collect(sqlite3_stmt *st, trl_error *err)
{
    sqlite3 *db = sqlite3_db_handle(st);
    int nc = sqlite3_column_count(st);
    colbuf *cols = calloc(nc ? (size_t)nc : 1, sizeof *cols);
    if (!cols || name_columns(st, cols, nc) != 0) {
        colbufs_free(cols, nc);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            if (grow(cols, nc, cap) != 0) {
                trl_error_set(err, TRL_ENOMEM, "out of memory");
                goto fail;
            }
        }
        for (int j = 0; j < nc; j++)
            if (take(st, j, &cols[j], n, err) != 0)
                goto fail;
        if (++n % POLL_ROWS == 0 && trl_registry_interrupted()) {
            trl_error_set(err, TRL_EINTR, "interrupted");
            goto fail;
        }
    }
    if (rc != SQLITE_DONE) {
        trl_sql_error(db, rc, sqlite3_sql(st), err);
        goto fail;
    }
    trl_frame *f = build(st, cols, nc, n, err);
    colbufs_free(cols, nc);
    return f;
fail:
    colbufs_free(cols, nc);
    return NULL;
}
