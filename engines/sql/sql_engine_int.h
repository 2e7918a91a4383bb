/* sql_engine_int.h - private: the SQL engine's state, shared by its files. */
#ifndef TRELLIS_ENGINES_SQL_ENGINE_INT_H
#define TRELLIS_ENGINES_SQL_ENGINE_INT_H

#include <sqlite3.h>

#include "trellis/engine.h"
#include "trellis/registry.h"

/* A frame shown to SQL as a table, and where the name came from. */
typedef struct trl__sqle_table {
    char *name;       /* as SQL names it: "churn", "churn@3", "d" */
    trl_frame *frame; /* a reference */
    int from_peer;    /* 1: another engine's variable; 0: the registry */
} trl__sqle_table;

typedef struct trl__sqle {
    trl_engine base;          /* first: the engine interface */
    sqlite3 *db;              /* in-memory; frames attach as tables */
    struct trl_sql_tables *bound;  /* the frames db shows (owned by db) */
    trl_registry *registry;   /* borrowed; may be NULL */
    trl_engine *const *peers; /* the kernel's engines (borrowed) */
    const size_t *npeers;
    trl_exec_ctx *ctx;        /* the running cell, NULL between cells */
    trl__sqle_table *tables;
    size_t ntables, cap;
    /* the frames the statement being prepared reads (refs or names),
     * gathered by the authorizer for a saved result's lineage */
    json_t *reads;
} trl__sqle;

/* ---- tables (sql_names.c) ------------------------------------------------ */

/* Installs the authorizer that records which tables statements read. */
void trl__sqle_track_reads(trl__sqle *s);

/* Re-checks every shown table against its source (a variable rebound, a
 * newer registered version) before a cell: replaced or dropped. */
void trl__sqle_refresh(trl__sqle *s);

/* Shows the frame SQL names `name` (another engine's variable first, then
 * the registry's "name" or "name@N") as a table: 1 when one was found and
 * shown, 0 when there is none, a negative code with err filled when it
 * cannot be shown. */
int trl__sqle_resolve(trl__sqle *s, const char *name, trl_error *err);

/* Prepares the first statement of sql (*tail past it), showing the
 * frames it names as tables on the way: SQLite's "no such table" is the
 * cue. SQLITE_OK with *st (NULL for a blank tail) or an SQLite code with
 * the connection's message; err filled for a failure of the kernel's own
 * (a frame that cannot be shown). */
int trl__sqle_prepare(trl__sqle *s, const char *sql, sqlite3_stmt **st,
                     const char **tail, trl_error *err);

/* Binds `:name` parameters to other engines' variables. 0, or TRL_EINVAL
 * with err naming the parameter. */
int trl__sqle_bind(trl__sqle *s, sqlite3_stmt *st, trl_error *err);

/* Frees every shown table. */
void trl__sqle_tables_free(trl__sqle *s);

/* ---- completion and inspection (sql_complete.c) ----------------------------- */

int trl__sqle_complete(trl_engine *self, const char *code, size_t cursor,
                      trl_completion *out);
int trl__sqle_inspect(trl_engine *self, const char *code, size_t cursor,
                     int detail_level, json_t **data_out);
trl_code_status trl__sqle_is_complete(trl_engine *self, const char *code,
                                     char *indent, size_t indent_size);

#endif
