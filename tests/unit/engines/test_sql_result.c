/* test_sql_result.c - sql_result.c and sql_error.c: statement rows as
 * frames (the type of every mix of values, declared types, names SQLite
 * would give, BLOBs refused), frames through SQL and back unchanged,
 * errors with their position, interrupts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/unit/engines/sql_fixture.h"

static trl_frame *ok_collect(sqlite3 *db, const char *sql)
{
    trl_error err = {0};
    trl_frame *f = collect(db, sql, &err);
    if (!f)
        fail_msg("%s: %s", sql, err.message);
    return f;
}

static const trl_column *col(const trl_frame *f, size_t j)
{
    assert_true(j < f->ncols);
    return f->cols[j];
}

static const char *str_at(const trl_column *c, size_t r)
{
    assert_int_equal(c->type, TRL_STR);
    return c->v.codes[r] < 0 ? NULL : c->dict->strs[c->v.codes[r]];
}

static void test_types_from_values(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    trl_frame *f = ok_collect(db,
        "SELECT * FROM (VALUES "
        "(1, 1,    1,   'a', 'a', NULL, 1,    9007199254740993), "
        "(2, NULL, 2.5, 'b', 2,   NULL, 0,    1), "
        "(3, 3,    3,   NULL, 2.5, NULL, 1,   2.5))");
    assert_int_equal(f->nrows, 3);
    assert_int_equal(f->ncols, 8);
    /* only INTEGER: i64 */
    assert_int_equal(col(f, 0)->type, TRL_I64);
    assert_null(col(f, 0)->valid);
    assert_int_equal(col(f, 0)->v.i64[2], 3);
    /* INTEGER and NULL: i64 with a missing row */
    assert_int_equal(col(f, 1)->type, TRL_I64);
    assert_non_null(col(f, 1)->valid);
    assert_true(trl_column_is_missing(col(f, 1), 1));
    assert_int_equal(col(f, 1)->v.i64[2], 3);
    /* INTEGER and REAL: f64 */
    assert_int_equal(col(f, 2)->type, TRL_F64);
    assert_true(col(f, 2)->v.f64[1] == 2.5 && col(f, 2)->v.f64[2] == 3.0);
    /* TEXT and NULL: str */
    assert_int_equal(col(f, 3)->type, TRL_STR);
    assert_null(str_at(col(f, 3), 2));
    /* TEXT with numbers: str, numbers as CAST(x AS TEXT) renders them */
    assert_string_equal(str_at(col(f, 4), 0), "a");
    assert_string_equal(str_at(col(f, 4), 1), "2");
    assert_string_equal(str_at(col(f, 4), 2), "2.5");
    /* only NULL, no declared type: f64 of NaN */
    assert_int_equal(col(f, 5)->type, TRL_F64);
    assert_true(isnan(col(f, 5)->v.f64[0]));
    /* 0/1 from an expression (no BOOLEAN declared): i64 */
    assert_int_equal(col(f, 6)->type, TRL_I64);
    /* a large integer with a REAL: f64, rounded as pandas rounds it */
    assert_int_equal(col(f, 7)->type, TRL_F64);
    assert_true(col(f, 7)->v.f64[0] == 9007199254740992.0);
    trl_frame_decref(f);

    /* numbers rendered as SQLite renders them */
    f = ok_collect(db, "SELECT column1, CAST(column1 AS TEXT) FROM (VALUES ('x'), (0.1), "
                       "(1.0), (1e100), (-0.0), (123456789012345678), "
                       "(1.5e-7), (100.0), (3.0e15), (1e15))");
    for (size_t r = 1; r < f->nrows; r++)
        assert_string_equal(str_at(col(f, 0), r), str_at(col(f, 1), r));
    trl_frame_decref(f);
    sqlite3_close(db);
}

static void test_types_from_declarations(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    trl_frame *src = trl_frame_new();
    int64_t k[] = {1, 2};
    double x[] = {0.5, 1.5};
    uint8_t b[] = {1, 0};
    const char *s[] = {"a", "b"};
    put(src, "k", i64s(k, 2, NULL));
    put(src, "x", f64s(x, 2));
    put(src, "b", bools(b, 2));
    put(src, "s", strs(s, 2));
    bind_ok(t, "t", src);
    exec_ok(db, "CREATE TABLE n(k INTEGER, x REAL, b BOOLEAN, s VARCHAR(9), "
                "u)");
    exec_ok(db, "INSERT INTO n VALUES (1, 2, 1, 'a', 1), (NULL, NULL, 2, "
                "NULL, NULL)");
    /* no rows: the declared types decide */
    trl_frame *f = ok_collect(db, "SELECT k, x, b, s, k + 1 FROM t WHERE 0");
    assert_int_equal(f->nrows, 0);
    assert_int_equal(col(f, 0)->type, TRL_I64);
    assert_int_equal(col(f, 1)->type, TRL_F64);
    assert_int_equal(col(f, 2)->type, TRL_BOOL);
    assert_int_equal(col(f, 3)->type, TRL_STR);
    assert_int_equal(col(f, 4)->type, TRL_F64);
    trl_frame_decref(f);
    /* a frame's bool comes back as bool, through a join too */
    f = ok_collect(db, "SELECT t.b, n.b, t.b + 0 FROM t JOIN n USING (k)");
    assert_int_equal(col(f, 0)->type, TRL_BOOL);
    assert_int_equal(col(f, 0)->v.b[0], 1);
    assert_int_equal(col(f, 1)->type, TRL_BOOL); /* BOOLEAN, 0/1 */
    assert_int_equal(col(f, 2)->type, TRL_I64);  /* an expression */
    trl_frame_decref(f);
    /* BOOLEAN holding 2 is not a bool; all-NULL columns of a table */
    f = ok_collect(db, "SELECT b, k, x, s, u FROM n WHERE rowid = 2");
    assert_int_equal(col(f, 0)->type, TRL_I64);
    assert_int_equal(col(f, 1)->type, TRL_I64);
    assert_true(trl_column_is_missing(col(f, 1), 0));
    assert_int_equal(col(f, 2)->type, TRL_F64);
    assert_int_equal(col(f, 3)->type, TRL_STR);
    assert_true(trl_column_is_missing(col(f, 3), 0));
    assert_int_equal(col(f, 4)->type, TRL_F64);
    trl_frame_decref(f);
    f = ok_collect(db, "SELECT b FROM n WHERE b IS NULL");
    assert_int_equal(col(f, 0)->type, TRL_BOOL);
    trl_frame_decref(f);
    trl_frame_decref(src);
    sqlite3_close(db);
}

/* A frame through SELECT * and back: same types, values, missing rows. */
static void test_round_trip(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    trl_frame *src = trl_frame_new();
    int64_t k[] = {1, INT64_MAX, INT64_MIN, 0};
    int km[] = {0, 0, 0, 1};
    double x[] = {NAN, -0.0, INFINITY, 1e-300};
    uint8_t b[] = {1, M, 0, 1};
    const char *s[] = {"", NULL, "h\xc3\xa9", "a\"b'c"};
    put(src, "k", i64s(k, 4, km));
    put(src, "x", f64s(x, 4));
    put(src, "b", bools(b, 4));
    put(src, "s", strs(s, 4));
    bind_ok(t, "src@1", src);
    trl_frame *f = ok_collect(db, "SELECT * FROM \"src@1\"");
    assert_int_equal(f->ncols, 4);
    for (size_t j = 0; j < 4; j++) {
        assert_string_equal(f->names[j], src->names[j]);
        assert_int_equal(f->cols[j]->type, src->cols[j]->type);
        for (size_t r = 0; r < 4; r++)
            assert_int_equal(trl_column_is_missing(f->cols[j], r),
                             trl_column_is_missing(src->cols[j], r));
    }
    assert_memory_equal(col(f, 0)->v.i64, k, 3 * sizeof *k);
    assert_true(signbit(col(f, 1)->v.f64[1]) && col(f, 1)->v.f64[1] == 0);
    assert_true(isinf(col(f, 1)->v.f64[2]));
    assert_true(col(f, 1)->v.f64[3] == 1e-300);
    assert_memory_equal(col(f, 2)->v.b, b, 4);
    for (size_t r = 0; r < 4; r++)
        if (s[r])
            assert_string_equal(str_at(col(f, 3), r), s[r]);
    /* a result bound as a table in turn (%%sql --save then SQL again) */
    bind_ok(t, "r", f);
    query_is(db, "SELECT count(*), count(k), count(x), sum(b), "
                 "group_concat(s, '/') FROM r", "4|3|3|2|/h\xc3\xa9/a\"b'c\n");
    json_t *sql = json_object_get(f->lineage, "sql");
    assert_string_equal(json_string_value(sql), "SELECT * FROM \"src@1\"");
    assert_string_equal(json_string_value(json_object_get(f->lineage,
                                                          "source")), "sql");
    trl_frame_decref(f);
    trl_frame_decref(src);
    sqlite3_close(db);
}

static void test_names(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    exec_ok(db, "CREATE TABLE n(a, b)");
    exec_ok(db, "INSERT INTO n VALUES (1, 2)");
    /* SQLite names a column reference after the column: A is "a" */
    trl_frame *f = ok_collect(db, "SELECT a, a, A, 1+1, b AS \"\", count(*), "
                                  "a AS \"a:1\", x.a FROM n AS x");
    const char *want[] = {"a", "a:1", "a:2", "1+1", "column5", "count(*)",
                          "a:1:1", "a:3"};
    assert_int_equal(f->ncols, 8);
    for (size_t j = 0; j < 8; j++)
        assert_string_equal(f->names[j], want[j]);
    /* every name usable: the frame binds as a table */
    bind_ok(t, "f", f);
    query_is(db, "SELECT \"a:1\" + \"1+1\" + \"column5\" FROM f", "5\n");
    trl_frame_decref(f);
    sqlite3_close(db);
}

static void test_blobs_and_statements_without_rows(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    trl_error err;
    assert_null(collect(db, "SELECT 1 AS a, x'00' AS payload UNION ALL "
                            "SELECT 2, 'x'", &err));
    assert_int_equal(err.code, TRL_EINVAL);
    assert_non_null(strstr(err.message, "column 'payload' (result column 2), "
                                        "row 1: a BLOB"));
    assert_non_null(strstr(err.message, "hex("));
    /* no result columns: runs, and gives a frame of no columns */
    trl_frame *f = ok_collect(db, "CREATE TABLE made(a)");
    assert_int_equal(f->ncols, 0);
    trl_frame_decref(f);
    query_is(db, "SELECT count(*) FROM made", "0\n");
    sqlite3_close(db);
}

static void test_errors_say_where(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    trl_error err;
    assert_null(collect(db, "SELECT * FORM t", &err));
    assert_int_equal(err.code, TRL_EINVAL);
    assert_string_equal(err.message,
                        "near \"FORM\": syntax error (line 1, column 10)");
    /* lines, and columns in characters: é is one */
    assert_null(collect(db, "SELECT 'é',\n  1 +* 2", &err));
    assert_string_equal(err.message,
                        "near \"*\": syntax error (line 2, column 6)");
    assert_null(collect(db, "SELECT nope FROM (SELECT 1 AS a)", &err));
    assert_non_null(strstr(err.message, "no such column: nope"));
    /* errors while running: no position */
    assert_null(collect(db, "SELECT abs(-9223372036854775807 - 1)", &err));
    assert_string_equal(err.message, "integer overflow");
    assert_int_equal(trl_sql_error(db, SQLITE_INTERRUPT, NULL, &err),
                     TRL_EINTR);
    assert_int_equal(trl_sql_error(db, SQLITE_NOMEM, NULL, &err), TRL_ENOMEM);
    sqlite3_close(db);
}

static int polls;
static int stop_on_second_poll(void)
{
    return ++polls >= 2;
}

static void test_large_results_and_interrupts(void **state)
{
    (void)state;
    trl_sql_tables *t;
    sqlite3 *db = open_db(&t);
    const char *gen =
        "WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g "
        "WHERE i < 299999) SELECT i, i * 0.5 AS h, 'k' || (i % 1000) AS s "
        "FROM g";
    trl_frame *f = ok_collect(db, gen);
    assert_int_equal(f->nrows, 300000);
    assert_int_equal(col(f, 0)->type, TRL_I64);
    assert_int_equal(col(f, 0)->v.i64[299999], 299999);
    assert_true(col(f, 1)->v.f64[3] == 1.5);
    assert_int_equal(col(f, 2)->dict->n, 1000);
    assert_string_equal(str_at(col(f, 2), 1234), "k234");
    trl_frame_decref(f);

    trl_error err;
    trl_registry_set_interrupt(stop_on_second_poll);
    assert_null(collect(db, gen, &err));
    trl_registry_set_interrupt(NULL);
    assert_int_equal(err.code, TRL_EINTR);
    assert_int_equal(polls, 2);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_from_values),
        cmocka_unit_test(test_types_from_declarations),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_blobs_and_statements_without_rows),
        cmocka_unit_test(test_errors_say_where),
        cmocka_unit_test(test_large_results_and_interrupts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
