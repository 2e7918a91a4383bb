/* sql.h - frames as SQLite tables with no copy, and SQL results back as
 * frames: the layer the SQL engine (cells, %%sql --save) is built on.
 * Knows SQLite and the registry's frames; nothing of Jupyter. */
#ifndef TRELLIS_SQL_H
#define TRELLIS_SQL_H

#include <stddef.h>
#include <sqlite3.h>

#include "trellis/error.h"
#include "trellis/registry.h"

/* ---- frames as tables ------------------------------------------------------
 *
 * How it works. trl_sql_attach registers the virtual table module
 * "trellis_frame" on one connection. trl_sql_bind(t, "churn@3", f) then runs
 *
 *     CREATE VIRTUAL TABLE temp."churn@3" USING trellis_frame
 *
 * and the module's constructor takes a snapshot of f: a new frame sharing
 * f's columns (no values copied; columns are immutable and reference-
 * counted), so a working frame that later gains or replaces a column does
 * not change the table under a prepared statement. The table reads the
 * columns' arrays in place: nothing is copied into SQLite rows (rows read
 * in a sorted index's order are gathered 2048 values of each used column
 * at a time, so the cache misses overlap).
 *
 * - Names: any non-empty string, exactly as SQL spells the table after
 *   quoting ("churn@3", "my table"); SQLite compares table names without
 *   regard to ASCII case, so binding "Churn" replaces "churn". Tables live
 *   in the temp schema, which SQLite searches first: a main-schema table of
 *   the same name is still reachable as main.name.
 * - Columns: the frame's, in order, declared f64 REAL, i64 INTEGER, str
 *   TEXT and bool BOOLEAN (NUMERIC affinity, and the name trl_sql_collect
 *   recognises to map 0/1 back to bool). Missing values are NULL (f64 NaN,
 *   i64 invalid, bool 255, str -1). A column name equal to an earlier one
 *   without regard to case is declared "name:1" ("name:2", ...), as SQLite
 *   names clashing result columns. The rowid is the 1-based row number, as
 *   in a native table filled in row order and as Lua's col[i].
 * - Read-only: INSERT, UPDATE and DELETE fail with "frames are immutable:
 *   ...". DROP TABLE in SQL removes the binding (the frame is untouched);
 *   ALTER TABLE ... RENAME is refused.
 * - WHERE terms =, <, <=, >, >=, !=, IS, IS NOT, IS NULL, IS NOT NULL and
 *   IN on any column or the rowid are evaluated in the cursor over the
 *   typed arrays, with SQLite's comparison rules (affinity, NULL, mixed
 *   INTEGER/REAL compared exactly, BINARY collation); terms the cursor
 *   cannot decide exactly are also left for SQLite to check; LIKE, GLOB
 *   and other collations (NOCASE) are SQLite's alone. A column filtered
 *   over and over (the inner side of a join) or ordered (ORDER BY / GROUP
 *   BY on one column) gets a sorted index: a row permutation, 4 bytes a
 *   row, built once and kept while the table is bound.
 * - Lifetime: the table holds its snapshot until it is dropped, replaced
 *   or the connection closes. Binding or unbinding is refused while any
 *   statement of the connection is running (stepped and not reset), so a
 *   value SQLite handed out (text points into the frame's dictionary) is
 *   never freed under it. Inside the user's open transaction the CREATE
 *   and DROP are part of it: after a ROLLBACK a table whose binding was
 *   undone says so when queried, and binding again repairs it.
 * - Interrupts: besides SQLite's own checks between rows, a cursor that
 *   skips many rows polls the registry's interrupt callback (and
 *   sqlite3_is_interrupted when the library has it, 3.41 on) every 2^17
 *   rows, and fails the statement with SQLITE_INTERRUPT.
 */

/* The frames one connection sees as tables. Owned by the connection. */
typedef struct trl_sql_tables trl_sql_tables;

/* Registers the trellis_frame module on db. Call once per connection.
 * Returns the connection's table set, owned by db and freed by
 * sqlite3_close (which also releases every snapshot); NULL with err set
 * when out of memory or when SQLite refuses the module. */
trl_sql_tables *trl_sql_attach(sqlite3 *db, trl_error *err);

/* Exposes f as the table name, replacing a table of that name bound
 * before. f is borrowed: the table keeps its own snapshot of f's columns.
 * When name is already bound to the same columns (same names, same column
 * objects, same order) nothing happens, so a caller may bind every visible
 * frame before each cell: about 10 us a name (a comparison and a lookup
 * in the temp schema); a replacement, which drops and creates the table,
 * takes about 60 us. Errors: an empty name, a frame with no columns or
 * more than 2^32 - 2 rows, a temp table of that name that is not a frame,
 * a running statement, SQLite's own refusals (a reserved "sqlite_" name).
 * On error the previous binding, if any, may be gone. */
int trl_sql_bind(trl_sql_tables *t, const char *name, trl_frame *f,
                 trl_error *err);

/* Removes the table name (TRL_ENOTFOUND when no frame is bound under
 * it). Refused while a statement is running. */
int trl_sql_unbind(trl_sql_tables *t, const char *name, trl_error *err);

/* The snapshot bound as name (borrowed, valid until the name is rebound,
 * unbound or the connection closed), or NULL. */
const trl_frame *trl_sql_bound(const trl_sql_tables *t, const char *name);

/* Number of bound tables, and the i-th table name (i < count, borrowed,
 * in binding order): for completion and listings. */
size_t trl_sql_count(const trl_sql_tables *t);
const char *trl_sql_name(const trl_sql_tables *t, size_t i);

/* ---- results as frames -----------------------------------------------------
 *
 * Each result column becomes a frame column, its type decided by every
 * value in it:
 *   only INTEGER (and NULL)          -> i64 (NULL missing); bool when the
 *                                       declared type contains BOOL and
 *                                       every value is 0 or 1
 *   INTEGER and REAL (and NULL)      -> f64 (integers beyond 2^53 rounded,
 *                                       as pandas does)
 *   TEXT, alone or with numbers      -> str; numbers rendered as SQLite
 *                                       renders them (CAST(x AS TEXT))
 *   only NULL, or no rows            -> from the declared type when the
 *                                       column comes straight from a table
 *                                       (INTEGER -> i64, TEXT -> str,
 *                                       BOOLEAN -> bool), else f64 of NaN
 *   any BLOB                         -> an error naming the column and row
 * Names are sqlite3_column_name's ("a", "count(*)", "1+1"); an empty name
 * becomes "columnN" (N the 1-based position) and a name equal to an
 * earlier one without regard to case gets ":1", ":2", ... as SQLite's
 * CREATE TABLE ... AS SELECT does. */

/* Steps st (freshly prepared or reset) to its end and returns its rows as
 * a new frame (refcount 1, unfrozen, lineage {"source": "sql", "sql":
 * text, "rows": n}). A statement without result columns runs and gives a
 * frame of no columns. The caller still resets or finalizes st. Polls the
 * registry's interrupt callback between rows; sqlite3_interrupt stops it
 * too. NULL with err set: the statement's error (see trl_sql_error), a
 * BLOB, TRL_EINTR "interrupted", TRL_ENOMEM. */
trl_frame *trl_sql_collect(sqlite3_stmt *st, trl_error *err);

/* Fills err from db's last error after rc (a failed prepare or step on
 * the statement text sql, which may be NULL) and returns the code:
 * SQLITE_INTERRUPT -> TRL_EINTR "interrupted", SQLITE_NOMEM -> TRL_ENOMEM,
 * otherwise TRL_EINVAL with sqlite3_errmsg, plus "(line L, column C)" in
 * sql when SQLite knows the byte offset of the fault (sqlite3_error_offset;
 * C counts characters, not bytes). Call it before any other use of db. */
int trl_sql_error(sqlite3 *db, int rc, const char *sql, trl_error *err);

#endif
