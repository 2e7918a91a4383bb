/* sql_tables.c - frames bound to table names on one SQLite connection: the
 * trellis_frame module's constructors and destructors, and the bind/unbind
 * API that creates and drops its tables. */
#include <stdlib.h>
#include <string.h>

#include "engines/sql/sql_int.h"

#define MODULE "trellis_frame"

/* ---- the table set ------------------------------------------------------------ */

trl__sql_entry *trl__sql_find(trl_sql_tables *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (sqlite3_stricmp(t->items[i]->name, name) == 0)
            return t->items[i];
    return NULL;
}

static void entry_free(trl__sql_entry *e)
{
    if (!e)
        return;
    free(e->name);
    trl_frame_decref(e->snap);
    free(e);
}

void trl__sql_forget(trl_sql_tables *t, trl__sql_entry *e)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i] == e) {
            memmove(t->items + i, t->items + i + 1,
                    (t->n - i - 1) * sizeof *t->items);
            t->n--;
            entry_free(e);
            return;
        }
}

/* The module's client data destructor: runs at sqlite3_close, after
 * every table of the connection was disconnected. */
static void tables_free(void *p)
{
    trl_sql_tables *t = p;
    for (size_t i = 0; i < t->n; i++)
        entry_free(t->items[i]);
    free(t->items);
    free(t);
}

size_t trl_sql_count(const trl_sql_tables *t)
{
    return t->n;
}

const char *trl_sql_name(const trl_sql_tables *t, size_t i)
{
    return i < t->n ? t->items[i]->name : NULL;
}

const trl_frame *trl_sql_bound(const trl_sql_tables *t, const char *name)
{
    trl__sql_entry *e = trl__sql_find((trl_sql_tables *)t, name);
    return e ? e->snap : NULL;
}

/* ---- the virtual table's life ------------------------------------------------- */

static const char *decl_type(trl_dtype t)
{
    switch (t) {
    case TRL_F64: return "REAL";
    case TRL_I64: return "INTEGER";
    case TRL_BOOL: return "BOOLEAN";
    case TRL_STR: return "TEXT";
    }
    return "";
}

/* CREATE TABLE x(...) for snap's columns, names unique without regard to
 * ASCII case as SQLite requires ("a", "A" -> "a", "A:1"). */
static char *schema_sql(const trl_frame *snap)
{
    char **decl = calloc(snap->ncols ? snap->ncols : 1, sizeof *decl);
    sqlite3_str *s = sqlite3_str_new(NULL);
    if (!decl) {
        sqlite3_free(sqlite3_str_finish(s));
        return NULL;
    }
    sqlite3_str_appendall(s, "CREATE TABLE x(");
    int ok = 1;
    for (size_t j = 0; ok && j < snap->ncols; j++) {
        const char *base = snap->names[j];
        char *name = sqlite3_mprintf("%s", base);
        for (unsigned k = 1; name; k++) {
            size_t i = 0;
            while (i < j && sqlite3_stricmp(decl[i], name) != 0)
                i++;
            if (i == j)
                break;
            sqlite3_free(name);
            name = sqlite3_mprintf("%s:%u", base, k);
        }
        ok = name != NULL;
        decl[j] = name;
        if (ok)
            sqlite3_str_appendf(s, "%s\"%w\" %s", j ? ", " : "", name,
                                decl_type(snap->cols[j]->type));
    }
    sqlite3_str_appendall(s, ")");
    for (size_t j = 0; j < snap->ncols; j++)
        sqlite3_free(decl[j]);
    free(decl);
    char *sql = sqlite3_str_finish(s);
    if (!ok) {
        sqlite3_free(sql);
        return NULL;
    }
    return sql;
}

static void vtab_free(trl__sql_vtab *vt)
{
    if (!vt)
        return;
    if (vt->index && vt->snap)
        for (size_t j = 0; j < vt->snap->ncols; j++)
            trl__sql_index_free(vt->index[j]);
    free(vt->index);
    free(vt->scans);
    trl_frame_decref(vt->snap);
    free(vt->name);
    sqlite3_free(vt->base.zErrMsg);
    free(vt);
}

/* A vtab over e's snapshot, or (e NULL) one whose binding is gone: it
 * declares a placeholder column so DROP TABLE still works, and its
 * queries fail with a message. */
static int vtab_make(sqlite3 *db, trl_sql_tables *t, const char *name,
                     trl__sql_entry *e, sqlite3_vtab **out, char **err)
{
    trl__sql_vtab *vt = calloc(1, sizeof *vt);
    if (!vt || !(vt->name = strdup(name)))
        goto oom;
    vt->db = db;
    vt->tables = t;
    if (e) {
        size_t nc = e->snap->ncols;
        vt->snap = e->snap;
        trl_frame_incref(vt->snap);
        vt->index = calloc(nc, sizeof *vt->index);
        vt->scans = calloc(nc, sizeof *vt->scans);
        if (!vt->index || !vt->scans)
            goto oom;
    }
    char *sql = e ? schema_sql(e->snap)
                  : sqlite3_mprintf("CREATE TABLE x(frame_unbound)");
    if (!sql)
        goto oom;
    int rc = sqlite3_declare_vtab(db, sql);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
        *err = sqlite3_mprintf("table \"%s\": cannot declare its columns: "
                               "%s", name, sqlite3_errmsg(db));
        vtab_free(vt);
        return rc;
    }
    /* Reading a frame has no side effects: usable from triggers and
     * views even with trusted_schema off. */
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
    *out = &vt->base;
    return SQLITE_OK;
oom:
    vtab_free(vt);
    return SQLITE_NOMEM;
}

/* CREATE VIRTUAL TABLE: only the one trl_sql_bind is running. */
static int x_create(sqlite3 *db, void *aux, int argc, const char *const *argv,
                    sqlite3_vtab **out, char **err)
{
    trl_sql_tables *t = aux;
    trl__sql_entry *e = t->pending;
    if (argc < 3 || sqlite3_stricmp(argv[1], "temp") != 0 || !e ||
        sqlite3_stricmp(e->name, argv[2]) != 0) {
        *err = sqlite3_mprintf(
            MODULE " tables are made by Trellis for frames bound to a name; "
            "to copy rows into a table of your own use CREATE TABLE name AS "
            "SELECT ...");
        return SQLITE_ERROR;
    }
    return vtab_make(db, t, argv[2], e, out, err);
}

/* Reconnects a table after SQLite reloaded the schema. */
static int x_connect(sqlite3 *db, void *aux, int argc,
                     const char *const *argv, sqlite3_vtab **out, char **err)
{
    trl_sql_tables *t = aux;
    if (argc < 3)
        return SQLITE_ERROR;
    return vtab_make(db, t, argv[2], trl__sql_find(t, argv[2]), out, err);
}

static int x_disconnect(sqlite3_vtab *base)
{
    vtab_free((trl__sql_vtab *)base);
    return SQLITE_OK;
}

/* DROP TABLE, from trl_sql_unbind/bind or from the user's SQL. */
static int x_destroy(sqlite3_vtab *base)
{
    trl__sql_vtab *vt = (trl__sql_vtab *)base;
    trl__sql_entry *e = trl__sql_find(vt->tables, vt->name);
    if (e && vt->snap && e->snap == vt->snap)
        trl__sql_forget(vt->tables, e);
    vtab_free(vt);
    return SQLITE_OK;
}

static int x_update(sqlite3_vtab *base, int argc, sqlite3_value **argv,
                    sqlite3_int64 *rowid)
{
    (void)argc;
    (void)argv;
    (void)rowid;
    trl__sql_vtab *vt = (trl__sql_vtab *)base;
    sqlite3_free(base->zErrMsg);
    base->zErrMsg = sqlite3_mprintf(
        "frames are immutable: table \"%w\" cannot be changed by INSERT, "
        "UPDATE or DELETE; copy it with CREATE TABLE new_name AS SELECT * "
        "FROM \"%w\", or save a query's result as a new frame with %%%%sql "
        "--save NAME", vt->name, vt->name);
    return SQLITE_READONLY;
}

static int x_rename(sqlite3_vtab *base, const char *new_name)
{
    (void)new_name;
    sqlite3_free(base->zErrMsg);
    base->zErrMsg = sqlite3_mprintf(
        "a frame's table cannot be renamed: bind the frame under the new "
        "name instead");
    return SQLITE_ERROR;
}

static const sqlite3_module frame_module = {
    .iVersion = 0,
    .xCreate = x_create,
    .xConnect = x_connect,
    .xBestIndex = trl__sql_best_index,
    .xDisconnect = x_disconnect,
    .xDestroy = x_destroy,
    .xOpen = trl__sql_open,
    .xClose = trl__sql_close,
    .xFilter = trl__sql_filter,
    .xNext = trl__sql_next,
    .xEof = trl__sql_eof,
    .xColumn = trl__sql_column,
    .xRowid = trl__sql_rowid,
    .xUpdate = x_update,
    .xRename = x_rename,
};

trl_sql_tables *trl_sql_attach(sqlite3 *db, trl_error *err)
{
    trl_sql_tables *t = calloc(1, sizeof *t);
    if (!t) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    t->db = db;
    /* On failure sqlite3_create_module_v2 calls the destructor itself. */
    int rc = sqlite3_create_module_v2(db, MODULE, &frame_module, t,
                                      tables_free);
    if (rc != SQLITE_OK) {
        trl_sql_error(db, rc, NULL, err);
        return NULL;
    }
    return t;
}

/* ---- bind and unbind ---------------------------------------------------------- */

static int same_columns(const trl_frame *a, const trl_frame *b)
{
    if (a->ncols != b->ncols || a->nrows != b->nrows)
        return 0;
    for (size_t j = 0; j < a->ncols; j++)
        if (a->cols[j] != b->cols[j] || strcmp(a->names[j], b->names[j]))
            return 0;
    return 1;
}

/* Refuses while a statement runs: dropping a table it reads would free
 * values (text in the frame's dictionary) it may still hand out. */
static int check_idle(sqlite3 *db, const char *name, trl_error *err)
{
    for (sqlite3_stmt *s = sqlite3_next_stmt(db, NULL); s;
         s = sqlite3_next_stmt(db, s))
        if (sqlite3_stmt_busy(s)) {
            const char *sql = sqlite3_sql(s);
            return trl_error_set(err, TRL_EINVAL,
                                 "cannot change table \"%s\" while a "
                                 "statement is running (%.60s%s): finish "
                                 "or reset it first", name, sql ? sql : "",
                                 sql && strlen(sql) > 60 ? "..." : "");
        }
    return 0;
}

/* 1 when temp has a table called name made by this module, 0 when it has
 * none, TRL_EINVAL when it has another kind (err set). */
static int temp_table(sqlite3 *db, const char *name, trl_error *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT sql FROM temp.sqlite_schema WHERE "
                                "type = 'table' AND name = ?1 COLLATE NOCASE",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return trl_sql_error(db, rc, NULL, err);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int found = 0;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sql = (const char *)sqlite3_column_text(st, 0);
        const char *tail = " USING " MODULE;
        size_t n = sql ? strlen(sql) : 0, k = strlen(tail);
        found = n >= k && sqlite3_stricmp(sql + n - k, tail) == 0 ? 1 : -1;
    } else if (rc != SQLITE_DONE) {
        trl_sql_error(db, rc, NULL, err);
        sqlite3_finalize(st);
        return err ? err->code : TRL_EINVAL;
    }
    sqlite3_finalize(st);
    if (found < 0)
        return trl_error_set(err, TRL_EINVAL,
                             "a temp table named \"%s\" exists and is not a "
                             "frame: drop it (DROP TABLE temp.\"%s\") or "
                             "choose another name", name, name);
    return found;
}

static int exec(sqlite3 *db, const char *fmt, const char *name,
                trl_error *err)
{
    char *sql = sqlite3_mprintf(fmt, name);
    if (!sql)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    int out = rc == SQLITE_OK ? 0 : trl_sql_error(db, rc, NULL, err);
    sqlite3_free(sql);
    return out;
}

/* Drops name's table if it is ours, and forgets a stale entry. */
static int drop(trl_sql_tables *t, const char *name, trl_error *err)
{
    int rc = temp_table(t->db, name, err);
    if (rc < 0)
        return rc;
    if (rc == 1 && (rc = exec(t->db, "DROP TABLE temp.\"%w\"", name, err)))
        return rc;
    trl__sql_entry *e = trl__sql_find(t, name);
    if (e)
        trl__sql_forget(t, e);
    return 0;
}

int trl_sql_bind(trl_sql_tables *t, const char *name, trl_frame *f,
                 trl_error *err)
{
    if (!name || !*name)
        return trl_error_set(err, TRL_EINVAL, "a table needs a name");
    if (!f->ncols)
        return trl_error_set(err, TRL_EINVAL, "\"%s\" has no columns: a SQL "
                             "table needs at least one", name);
    if (f->nrows > (size_t)UINT32_MAX - 1)
        return trl_error_set(err, TRL_EUNSUPPORTED, "\"%s\" has %zu rows: "
                             "SQL reads frames of at most %u rows", name,
                             f->nrows, UINT32_MAX - 1);
    trl__sql_entry *e = trl__sql_find(t, name);
    if (e && same_columns(e->snap, f) && strcmp(e->name, name) == 0 &&
        temp_table(t->db, name, NULL) == 1)
        return 0;
    int rc = check_idle(t->db, name, err);
    if (rc || (rc = drop(t, name, err)))
        return rc;

    trl__sql_entry *n = calloc(1, sizeof *n);
    if (n && t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        trl__sql_entry **items = realloc(t->items, cap * sizeof *items);
        if (items) {
            t->items = items;
            t->cap = cap;
        }
    }
    if (!n || t->n == t->cap || !(n->name = strdup(name)) ||
        !(n->snap = trl_frame_copy(f))) {
        entry_free(n);
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    t->items[t->n++] = n;
    t->pending = n;
    rc = exec(t->db, "CREATE VIRTUAL TABLE temp.\"%w\" USING " MODULE, name,
              err);
    t->pending = NULL;
    if (rc)
        trl__sql_forget(t, n);
    return rc;
}

int trl_sql_unbind(trl_sql_tables *t, const char *name, trl_error *err)
{
    if (!trl__sql_find(t, name))
        return trl_error_set(err, TRL_ENOTFOUND, "no frame is bound as "
                             "table \"%s\"", name);
    int rc = check_idle(t->db, name, err);
    return rc ? rc : drop(t, name, err);
}
