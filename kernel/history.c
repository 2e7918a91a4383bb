/* history.c - input history in SQLite: one row per stored cell, one session
 * per kernel start, so history_request can look across restarts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "kernel/history.h"
#include "kernel/kernel_int.h"

struct trl__history {
    sqlite3 *db;
    int session;
    sqlite3_stmt *insert;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    /* a lost last line of history after a power cut is acceptable; an fsync
     * per cell on the round-trip path is not */
    "PRAGMA synchronous=NORMAL;"
    /* rows are appended and read back a few at a time: SQLite's default
     * 2 MB page cache only filled up as the table grew (the kernel's
     * memory rose for 40,000 cells, tests/soak) */
    "PRAGMA cache_size=-256;"
    "CREATE TABLE IF NOT EXISTS sessions(session INTEGER PRIMARY KEY "
    "AUTOINCREMENT, start TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS history(session INTEGER NOT NULL, line "
    "INTEGER NOT NULL, source TEXT NOT NULL, output TEXT, "
    "PRIMARY KEY(session, line));";

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

char *trl__history_default_path(void)
{
    const char *env = getenv("TRELLIS_HISTORY");
    if (env && *env)
        return strdup(env);
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    char buf[4096];
    if (xdg && *xdg)
        snprintf(buf, sizeof buf, "%s/trellis/history.sqlite", xdg);
    else if (home && *home)
        snprintf(buf, sizeof buf, "%s/.local/share/trellis/history.sqlite",
                 home);
    else
        return NULL;
    return strdup(buf);
}

trl__history *trl__history_open(const char *path, trl_error *err)
{
    trl__history *h = calloc(1, sizeof *h);
    char *dir = strdup(path);
    if (!h || !dir) {
        free(h);
        free(dir);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    mkdirs(dir);
    free(dir);
    /* made private before SQLite writes a line into it (open's mode is
     * filtered by the umask, hence fchmod) */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (fchmod(fd, 0600) != 0)
            trl__log("history '%s': cannot make it private: %s", path,
                     strerror(errno));
        close(fd);
    }
    if (sqlite3_open_v2(path, &h->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(h->db, 2000);
    if (sqlite3_exec(h->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(h->db,
                     "INSERT INTO sessions(start) VALUES "
                     "(strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                     NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    h->session = (int)sqlite3_last_insert_rowid(h->db);
    if (sqlite3_prepare_v2(h->db,
                           "INSERT OR REPLACE INTO history VALUES(?,?,?,?)",
                           -1, &h->insert, NULL) != SQLITE_OK)
        goto fail;
    return h;
fail:
    trl_error_set(err, TRL_EIO, "history database '%s': %s", path,
                  h->db ? sqlite3_errmsg(h->db) : "cannot open");
    trl__history_close(h);
    return NULL;
}

void trl__history_close(trl__history *h)
{
    if (!h)
        return;
    sqlite3_finalize(h->insert);
    sqlite3_close(h->db);
    free(h);
}

int trl__history_session(const trl__history *h)
{
    return h->session;
}

int trl__history_store(trl__history *h, int line, const char *source,
                       const char *output)
{
    sqlite3_bind_int(h->insert, 1, h->session);
    sqlite3_bind_int(h->insert, 2, line);
    sqlite3_bind_text(h->insert, 3, source, -1, SQLITE_STATIC);
    if (output)
        sqlite3_bind_text(h->insert, 4, output, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(h->insert, 4);
    int rc = sqlite3_step(h->insert);
    sqlite3_reset(h->insert);
    sqlite3_clear_bindings(h->insert);
    return rc == SQLITE_DONE ? 0 : TRL_EIO;
}

/* Runs stmt (columns session, line, source, output) into an array. */
static json_t *collect(sqlite3_stmt *stmt, int output, int reverse)
{
    json_t *rows = json_array();
    while (rows && sqlite3_step(stmt) == SQLITE_ROW) {
        json_t *src = json_string((const char *)sqlite3_column_text(stmt, 2));
        json_t *input = src;
        if (output) {
            const char *out = (const char *)sqlite3_column_text(stmt, 3);
            input = json_pack("[o, o]", src, out ? json_string(out)
                                                 : json_null());
        }
        json_t *row = json_pack("[i, i, o]", sqlite3_column_int(stmt, 0),
                                sqlite3_column_int(stmt, 1), input);
        if (reverse)
            json_array_insert_new(rows, 0, row);
        else
            json_array_append_new(rows, row);
    }
    sqlite3_finalize(stmt);
    return rows;
}

json_t *trl__history_tail(trl__history *h, int n, int output)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(h->db,
                           "SELECT session, line, source, output FROM "
                           "history ORDER BY session DESC, line DESC "
                           "LIMIT ?",
                           -1, &stmt, NULL) != SQLITE_OK)
        return json_array();
    sqlite3_bind_int(stmt, 1, n > 0 ? n : 10);
    return collect(stmt, output, 1);
}

json_t *trl__history_range(trl__history *h, int session, int start, int stop,
                           int output)
{
    /* IPython's numbering: session 0 is this one, negative counts back. */
    if (session <= 0)
        session += h->session;
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(h->db,
                           "SELECT session, line, source, output FROM "
                           "history WHERE session = ? AND line >= ? AND "
                           "(? <= 0 OR line < ?) ORDER BY line",
                           -1, &stmt, NULL) != SQLITE_OK)
        return json_array();
    sqlite3_bind_int(stmt, 1, session);
    sqlite3_bind_int(stmt, 2, start);
    sqlite3_bind_int(stmt, 3, stop);
    sqlite3_bind_int(stmt, 4, stop);
    return collect(stmt, output, 0);
}

json_t *trl__history_search(trl__history *h, const char *pattern, int n,
                            int unique, int output)
{
    /* Newest first, so LIMIT keeps the n most recent matches; unique keeps
     * the newest occurrence of each input, as IPython does. */
    const char *sql =
        unique ? "SELECT session, line, source, output FROM history "
                 "WHERE rowid IN (SELECT max(rowid) FROM history "
                 "WHERE source GLOB ? GROUP BY source) "
                 "ORDER BY session DESC, line DESC LIMIT ?"
               : "SELECT session, line, source, output FROM history "
                 "WHERE source GLOB ? ORDER BY session DESC, line DESC "
                 "LIMIT ?";
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(h->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return json_array();
    sqlite3_bind_text(stmt, 1, pattern, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, 2, n > 0 ? n : -1);
    return collect(stmt, output, 1);
}
