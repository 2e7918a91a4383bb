/* sql_fixture.h - helpers shared by the SQL layer's tests: frames built
 * from C arrays, a connection with the trellis_frame module, and queries
 * whose answers come back as text to compare. Include after cmocka.h. */
#ifndef TRELLIS_TEST_SQL_FIXTURE_H
#define TRELLIS_TEST_SQL_FIXTURE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "trellis/registry.h"
#include "trellis/sql.h"

#define M TRL_BOOL_MISSING

static inline trl_column *f64s(const double *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_F64, n, NULL);
    if (n)
        memcpy(c->v.f64, v, n * sizeof *v);
    return c;
}

/* missing: NULL, or 1 per missing row */
static inline trl_column *i64s(const int64_t *v, size_t n, const int *missing)
{
    trl_column *c = trl_column_new(TRL_I64, n, NULL);
    if (n)
        memcpy(c->v.i64, v, n * sizeof *v);
    if (missing) {
        c->valid = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            c->valid[i] = !missing[i];
    }
    return c;
}

static inline trl_column *bools(const uint8_t *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_BOOL, n, NULL);
    if (n)
        memcpy(c->v.b, v, n);
    return c;
}

/* NULL entries are missing; dict NULL makes a new dictionary. */
static inline trl_column *strs_in(const char *const *v, size_t n,
                                  trl_strdict *dict)
{
    trl_column *c = trl_column_new(TRL_STR, n, dict);
    for (size_t i = 0; i < n; i++)
        c->v.codes[i] = v[i] ? trl_strdict_intern(c->dict, v[i], strlen(v[i]))
                             : -1;
    return c;
}

static inline trl_column *strs(const char *const *v, size_t n)
{
    return strs_in(v, n, NULL);
}

static inline void put(trl_frame *f, const char *name, trl_column *c)
{
    assert_int_equal(trl_frame_set(f, name, c, NULL), 0);
    trl_column_decref(c);
}

static inline sqlite3 *open_db(trl_sql_tables **tables)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    trl_error err;
    *tables = trl_sql_attach(db, &err);
    assert_non_null(*tables);
    return db;
}

static inline void bind_ok(trl_sql_tables *t, const char *name, trl_frame *f)
{
    trl_error err = {0};
    int rc = trl_sql_bind(t, name, f, &err);
    if (rc)
        fail_msg("bind %s: %s", name, err.message);
}

static inline void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, msg);
        sqlite3_free(msg);
        fail();
    }
}

/* Every row of sql, values as SQLite's text (NULL as "NULL"), columns
 * separated by '|', rows by '\n'; a failed statement gives "ERROR: msg".
 * The caller frees the result. */
static inline char *query(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    sqlite3_str *s = sqlite3_str_new(db);
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_str_appendf(s, "ERROR: %s", sqlite3_errmsg(db));
    } else {
        int nc = sqlite3_column_count(st);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            for (int j = 0; j < nc; j++) {
                const char *v = (const char *)sqlite3_column_text(st, j);
                sqlite3_str_appendf(s, "%s%s", j ? "|" : "", v ? v : "NULL");
            }
            sqlite3_str_appendall(s, "\n");
        }
        if (rc != SQLITE_DONE) {
            sqlite3_str_reset(s);
            sqlite3_str_appendf(s, "ERROR: %s", sqlite3_errmsg(db));
        }
        sqlite3_finalize(st);
    }
    char *out = sqlite3_str_finish(s);
    char *copy = strdup(out ? out : "");
    sqlite3_free(out);
    return copy;
}

static inline void query_is(sqlite3 *db, const char *sql, const char *want)
{
    char *got = query(db, sql);
    if (strcmp(got, want) != 0)
        fail_msg("%s\n got: [%s]\nwant: [%s]", sql, got, want);
    free(got);
}

/* The frame of sql's rows (trl_sql_collect), or NULL with err. */
static inline trl_frame *collect(sqlite3 *db, const char *sql, trl_error *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        trl_sql_error(db, rc, sql, err);
        return NULL;
    }
    trl_frame *f = trl_sql_collect(st, err);
    sqlite3_finalize(st);
    return f;
}

#endif
