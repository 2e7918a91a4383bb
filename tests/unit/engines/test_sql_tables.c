/* test_sql_tables.c - sql_tables.c and sql_cursor.c: frames bound as
 * tables, every column type and missing value as SQL sees them, names
 * that need quotes, tables replaced and dropped, snapshots, writes
 * refused, joins, GROUP BY, window functions and CTEs over frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/unit/engines/sql_fixture.h"

/* k i64 (row 3 missing), x f64 (NaN, -0.0, inf), ok bool (missing), s str
 * (missing, empty, non-ASCII) */
static trl_frame *typed_frame(void)
{
    trl_frame *f = trl_frame_new();
    int64_t k[] = {1, 2, 0, INT64_MAX, INT64_MIN};
    int km[] = {0, 0, 1, 0, 0};
    double x[] = {1.5, NAN, -0.0, INFINITY, 0.1};
    uint8_t ok[] = {1, 0, M, 1, 0};
    const char *s[] = {"a", NULL, "", "h\xc3\xa9llo", "a"};
    put(f, "k", i64s(k, 5, km));
    put(f, "x", f64s(x, 5));
    put(f, "ok", bools(ok, 5));
    put(f, "s", strs(s, 5));
    return f;
}

static void test_every_type_and_missing_value(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    trl_frame *f = typed_frame();
    bind_ok(t, "t", f);
    query_is(db, "SELECT rowid, k, x, ok, s FROM t",
             "1|1|1.5|1|a\n"
             "2|2|NULL|0|NULL\n"
             "3|NULL|0.0|NULL|\n"
             "4|9223372036854775807|Inf|1|h\xc3\xa9llo\n"
             "5|-9223372036854775808|0.1|0|a\n");
    query_is(db, "SELECT typeof(k), typeof(x), typeof(ok), typeof(s) FROM t",
             "integer|real|integer|text\n"
             "integer|null|integer|null\n"
             "null|real|null|text\n"
             "integer|real|integer|text\n"
             "integer|real|integer|text\n");
    /* declared types: what CREATE TABLE AS and decltype see */
    query_is(db, "SELECT name, type FROM pragma_table_info('t')",
             "k|INTEGER\nx|REAL\nok|BOOLEAN\ns|TEXT\n");
    /* -0.0 (which SQLite prints as 0.0) equals 0 */
    query_is(db, "SELECT x = 0, x < 0 FROM t WHERE rowid = 3", "1|0\n");
    trl_frame_decref(f);
    sqlite3_close(db);
}

static void test_string_dictionaries(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    /* two columns sharing one dictionary, one with a code unused by it */
    trl_strdict *d = trl_strdict_new();
    const char *a[] = {"x", "y", NULL, "x"};
    const char *b[] = {"z", "z", "y", NULL};
    trl_frame *f = trl_frame_new();
    put(f, "a", strs_in(a, 4, d));
    put(f, "b", strs_in(b, 4, d));
    trl_strdict_decref(d);
    bind_ok(t, "t", f);
    query_is(db, "SELECT a, b, a = b FROM t",
             "x|z|0\ny|z|0\nNULL|y|NULL\nx|NULL|NULL\n");
    query_is(db, "SELECT count(*) FROM t WHERE a = 'z'", "0\n");
    query_is(db, "SELECT group_concat(a, ',') FROM t WHERE a = 'x'", "x,x\n");
    query_is(db, "SELECT a FROM t WHERE a > 'x'", "y\n");
    /* text is a view of the dictionary: equal bytes, right lengths */
    query_is(db, "SELECT length(b), hex(b) FROM t WHERE rowid = 1", "1|7A\n");
    trl_frame_decref(f);
    sqlite3_close(db);
}

static void test_names_that_need_quotes(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    trl_frame *f = typed_frame();
    bind_ok(t, "churn@3", f);
    bind_ok(t, "my \"odd\" table", f);
    bind_ok(t, "select", f);
    query_is(db, "SELECT count(*) FROM \"churn@3\"", "5\n");
    query_is(db, "SELECT count(*) FROM \"my \"\"odd\"\" table\"", "5\n");
    query_is(db, "SELECT count(*) FROM \"select\"", "5\n");
    assert_int_equal(trl_sql_count(t), 3);
    assert_string_equal(trl_sql_name(t, 0), "churn@3");
    assert_non_null(trl_sql_bound(t, "CHURN@3")); /* SQL ignores case */
    assert_null(trl_sql_bound(t, "churn"));

    /* column names that clash without regard to case, or need quoting */
    trl_frame *g = trl_frame_new();
    double v[] = {1, 2};
    put(g, "a", f64s(v, 2));
    put(g, "A", f64s(v, 2));
    put(g, "a b\"c", f64s(v, 2));
    bind_ok(t, "g", g);
    query_is(db, "SELECT name FROM pragma_table_info('g')",
             "a\nA:1\na b\"c\n");
    query_is(db, "SELECT \"A:1\" + \"a b\"\"c\" FROM g", "2.0\n4.0\n");

    trl_error err;
    assert_int_equal(trl_sql_bind(t, "", f, &err), TRL_EINVAL);
    assert_int_not_equal(trl_sql_bind(t, "sqlite_x", f, &err), 0);
    assert_non_null(strstr(err.message, "reserved"));
    trl_frame *empty = trl_frame_new();
    assert_int_equal(trl_sql_bind(t, "e", empty, &err), TRL_EINVAL);
    assert_non_null(strstr(err.message, "no columns"));
    trl_frame_decref(empty);
    trl_frame_decref(g);
    trl_frame_decref(f);
    sqlite3_close(db);
}

static void test_replace_and_drop(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    double v1[] = {1, 2, 3}, v2[] = {10, 20};
    trl_frame *f1 = trl_frame_new(), *f2 = trl_frame_new();
    put(f1, "v", f64s(v1, 3));
    put(f2, "w", f64s(v2, 2));
    bind_ok(t, "t", f1);
    query_is(db, "SELECT sum(v) FROM t", "6.0\n");

    /* a prepared statement survives the replacement (SQLite re-prepares) */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1,
                                        &st, NULL), SQLITE_OK);
    bind_ok(t, "T", f2); /* same table: names ignore case */
    query_is(db, "SELECT sum(w) FROM t", "30.0\n");
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);

    /* no rebinding while a statement runs */
    trl_error err;
    assert_int_equal(trl_sql_bind(t, "t", f1, &err), TRL_EINVAL);
    assert_non_null(strstr(err.message, "statement is running"));
    assert_int_equal(trl_sql_unbind(t, "t", &err), TRL_EINVAL);
    sqlite3_finalize(st);

    /* same columns: nothing to do, and the table stays */
    bind_ok(t, "t", f2);
    assert_int_equal(trl_sql_count(t), 1);
    assert_int_equal(trl_sql_unbind(t, "t", &err), 0);
    assert_int_equal(trl_sql_count(t), 0);
    query_is(db, "SELECT * FROM t", "ERROR: no such table: t");
    assert_int_equal(trl_sql_unbind(t, "t", &err), TRL_ENOTFOUND);

    /* DROP TABLE in SQL unbinds; the frame is untouched */
    bind_ok(t, "t", f1);
    exec_ok(db, "DROP TABLE t");
    assert_int_equal(trl_sql_count(t), 0);
    assert_int_equal(f1->nrows, 3);

    /* many rebinds: no leak (valgrind), nothing left behind */
    for (int i = 0; i < 50; i++)
        bind_ok(t, "t", i % 2 ? f1 : f2);
    query_is(db, "SELECT count(*) FROM t", "3\n");

    /* a temp table of the user's is not replaced */
    exec_ok(db, "CREATE TEMP TABLE mine(a)");
    assert_int_equal(trl_sql_bind(t, "mine", f1, &err), TRL_EINVAL);
    assert_non_null(strstr(err.message, "is not a frame"));
    trl_frame_decref(f1);
    trl_frame_decref(f2);
    sqlite3_close(db); /* releases the bound snapshots */
}

static void test_snapshot_is_isolated(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    double v[] = {1, 2}, w[] = {5, 6};
    trl_frame *f = trl_frame_new();
    put(f, "v", f64s(v, 2));
    bind_ok(t, "t", f);
    /* the working frame changes; the table does not until rebound */
    put(f, "v", f64s(w, 2));
    put(f, "extra", f64s(w, 2));
    query_is(db, "SELECT sum(v) FROM t", "3.0\n");
    query_is(db, "SELECT extra FROM t", "ERROR: no such column: extra");
    bind_ok(t, "t", f);
    query_is(db, "SELECT sum(v), sum(extra) FROM t", "11.0|11.0\n");
    /* the snapshot outlives the caller's frame */
    trl_frame_decref(f);
    query_is(db, "SELECT sum(v) FROM t", "11.0\n");
    sqlite3_close(db);
}

static void test_writes_are_refused(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    trl_frame *f = typed_frame();
    bind_ok(t, "churn@3", f);
    const char *writes[] = {
        "INSERT INTO \"churn@3\"(k) VALUES (1)",
        "UPDATE \"churn@3\" SET k = 2",
        "DELETE FROM \"churn@3\"",
    };
    for (size_t i = 0; i < 3; i++) {
        char *got = query(db, writes[i]);
        if (!strstr(got, "frames are immutable: table \"churn@3\" cannot be "
                         "changed") ||
            !strstr(got, "CREATE TABLE") || !strstr(got, "%%sql --save"))
            fail_msg("%s: %s", writes[i], got);
        free(got);
    }
    query_is(db, "SELECT count(*) FROM \"churn@3\"", "5\n");
    char *got = query(db, "ALTER TABLE \"churn@3\" RENAME TO c");
    assert_non_null(strstr(got, "cannot be renamed"));
    free(got);
    got = query(db, "CREATE VIRTUAL TABLE temp.x USING trellis_frame");
    assert_non_null(strstr(got, "made by Trellis"));
    free(got);
    /* copying out is the way to a writable table */
    exec_ok(db, "CREATE TABLE c AS SELECT * FROM \"churn@3\"");
    query_is(db, "SELECT count(*), typeof(k) FROM c WHERE rowid = 1",
             "1|integer\n");
    trl_frame_decref(f);
    sqlite3_close(db);
}

/* A ROLLBACK can undo a binding made inside the user's transaction: the
 * table stays usable or fails with a message, never a crash, and binding
 * again repairs it. */
static void test_binding_inside_a_rolled_back_transaction(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    trl_frame *f = typed_frame();
    bind_ok(t, "a", f);
    exec_ok(db, "BEGIN");
    bind_ok(t, "b", f);
    trl_error err;
    assert_int_equal(trl_sql_unbind(t, "a", &err), 0);
    exec_ok(db, "ROLLBACK");
    /* b never existed, a is back without its binding */
    query_is(db, "SELECT count(*) FROM b", "ERROR: no such table: b");
    char *got = query(db, "SELECT count(*) FROM a");
    assert_non_null(strstr(got, "lost its frame"));
    free(got);
    bind_ok(t, "a", f);
    bind_ok(t, "b", f);
    query_is(db, "SELECT count(*) FROM a JOIN b ON a.rowid = b.rowid", "5\n");
    trl_frame_decref(f);
    sqlite3_close(db);
}

/* ---- SQL over frames ------------------------------------------------------- */

static trl_frame *people(void)
{
    trl_frame *f = trl_frame_new();
    int64_t id[] = {1, 2, 3, 4, 5, 6};
    const char *team[] = {"red", "blue", "red", "green", "blue", NULL};
    double score[] = {10, 20, 30, NAN, 50, 60};
    put(f, "id", i64s(id, 6, NULL));
    put(f, "team", strs(team, 6));
    put(f, "score", f64s(score, 6));
    return f;
}

static trl_frame *teams(void)
{
    trl_frame *f = trl_frame_new();
    const char *name[] = {"red", "blue", "black"};
    int64_t floor[] = {1, 2, 3};
    put(f, "name", strs(name, 3));
    put(f, "floor", i64s(floor, 3, NULL));
    return f;
}

static void test_joins_groups_windows_ctes(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    trl_frame *p = people(), *tm = teams();
    bind_ok(t, "people", p);
    bind_ok(t, "teams@1", tm);
    query_is(db,
             "SELECT p.id, t.floor FROM people p JOIN \"teams@1\" t "
             "ON p.team = t.name ORDER BY p.id",
             "1|1\n2|2\n3|1\n5|2\n");
    query_is(db,
             "SELECT p.id, t.floor FROM people p LEFT JOIN \"teams@1\" t "
             "ON p.team = t.name ORDER BY p.id",
             "1|1\n2|2\n3|1\n4|NULL\n5|2\n6|NULL\n");
    query_is(db,
             "SELECT team, count(*), sum(score), avg(score) FROM people "
             "GROUP BY team ORDER BY team",
             "NULL|1|60.0|60.0\nblue|2|70.0|35.0\ngreen|1|NULL|NULL\n"
             "red|2|40.0|20.0\n");
    query_is(db,
             "SELECT id, rank() OVER (PARTITION BY team ORDER BY score DESC), "
             "sum(score) OVER (ORDER BY id ROWS 1 PRECEDING) FROM people "
             "ORDER BY id",
             "1|2|10.0\n2|2|30.0\n3|1|50.0\n4|1|30.0\n5|1|50.0\n6|1|110.0\n");
    query_is(db,
             "WITH top AS (SELECT team, max(score) AS m FROM people "
             "WHERE team IS NOT NULL GROUP BY team) "
             "SELECT t.name, top.m FROM \"teams@1\" t JOIN top "
             "ON top.team = t.name ORDER BY top.m",
             "red|30.0\nblue|50.0\n");
    query_is(db,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
             "WHERE i < 3) SELECT count(*) FROM n JOIN people ON id = i",
             "3\n");
    /* a frame joined with itself, and with a native table */
    query_is(db,
             "SELECT count(*) FROM people a JOIN people b ON a.team = b.team",
             "9\n");
    exec_ok(db, "CREATE TABLE bonus(id INTEGER, amount REAL)");
    exec_ok(db, "INSERT INTO bonus VALUES (2, 1.5), (5, 2.5), (9, 9)");
    query_is(db,
             "SELECT p.id, p.score * b.amount FROM people p JOIN bonus b "
             "USING (id) ORDER BY 1",
             "2|30.0\n5|125.0\n");
    trl_frame_decref(p);
    trl_frame_decref(tm);
    sqlite3_close(db);
}

static void test_empty_frame(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    trl_frame *f = trl_frame_new();
    put(f, "x", f64s(NULL, 0));
    bind_ok(t, "e", f);
    query_is(db, "SELECT count(*), sum(x) FROM e", "0|NULL\n");
    query_is(db, "SELECT * FROM e WHERE x > 1 ORDER BY x", "");
    query_is(db, "SELECT * FROM e WHERE rowid = 1", "");
    trl_frame_decref(f);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_and_missing_value),
        cmocka_unit_test(test_string_dictionaries),
        cmocka_unit_test(test_names_that_need_quotes),
        cmocka_unit_test(test_replace_and_drop),
        cmocka_unit_test(test_snapshot_is_isolated),
        cmocka_unit_test(test_writes_are_refused),
        cmocka_unit_test(test_binding_inside_a_rolled_back_transaction),
        cmocka_unit_test(test_joins_groups_windows_ctes),
        cmocka_unit_test(test_empty_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
