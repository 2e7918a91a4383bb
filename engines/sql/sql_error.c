/* sql_error.c - SQLite's errors as trl_error: the message, and where in
 * the statement's text it went wrong. */
#include <string.h>

#include "trellis/sql.h"

/* Line and column (1-based, the column in UTF-8 characters) of byte
 * offset off in sql. */
static void position(const char *sql, int off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (int i = 0; i < off && sql[i]; i++) {
        unsigned char ch = (unsigned char)sql[i];
        if (ch == '\n') {
            (*line)++;
            *col = 1;
        } else if ((ch & 0xc0) != 0x80) {
            (*col)++; /* a continuation byte is not a new character */
        }
    }
}

int trl_sql_error(sqlite3 *db, int rc, const char *sql, trl_error *err)
{
    int primary = rc & 0xff;
    if (primary == SQLITE_INTERRUPT)
        return trl_error_set(err, TRL_EINTR, "interrupted");
    if (primary == SQLITE_NOMEM)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int off = db ? sqlite3_error_offset(db) : -1;
    if (sql && off >= 0 && (size_t)off <= strlen(sql)) {
        int line, col;
        position(sql, off, &line, &col);
        return trl_error_set(err, TRL_EINVAL, "%s (line %d, column %d)", msg,
                             line, col);
    }
    return trl_error_set(err, TRL_EINVAL, "%s", msg);
}
