/* test_guard_store.c - guard_store.c and the format 4 step of store.c:
 * drift and validation runs kept and read back as a gate reads them
 * (after the registry is closed and opened again), expectation sets by
 * name and version, and older files - writable ones step up to format 4,
 * read-only ones still open and read as having no records. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "trellis/guard.h"

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/trl_guard_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s.sqlite", tmpdir, name);
}

static trl_registry *open_reg(const char *path)
{
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    if (!r)
        fail_msg("%s", err.message);
    return r;
}

static trl_frame *csv(const char *text)
{
    trl_error err = {0};
    trl_frame *f = trl_csv_parse(text, strlen(text), "test", NULL, &err);
    if (!f)
        fail_msg("%s", err.message);
    return f;
}

static int raw_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* A drift result of ref against cur, named as a magic names them. */
static json_t *drift(trl_registry *r, const char *ref_spec, trl_frame *cur,
                     const char *cur_name)
{
    trl_error err = {0};
    trl_frame *ref = trl_registry_get(r, ref_spec, &err);
    assert_non_null(ref);
    trl_drift_request rq = {.ref = ref, .new_frame = cur,
                            .ref_name = ref_spec, .new_name = cur_name};
    json_t *res = trl_drift_run(&rq, &err);
    if (!res)
        fail_msg("%s", err.message);
    trl_frame_decref(ref);
    return res;
}

static void test_drift_and_validation_survive_a_restart(void **state)
{
    (void)state;
    char path[128];
    path_of(path, sizeof path, "records");
    trl_registry *r = open_reg(path);
    trl_error err = {0};
    trl_frame *a = csv("x,plan\n1,a\n2,a\n3,b\n4,b\n5,c\n6,c\n");
    trl_frame *b = csv("x,plan\n4,c\n5,c\n6,c\n7,c\n8,b\n9,c\n");
    int v;
    assert_int_equal(trl_registry_register(r, "holdout", a, &v, &err), 0);
    assert_int_equal(trl_registry_register(r, "holdout", a, &v, &err), 0);
    assert_int_equal(v, 2);
    /* nothing recorded yet: the gate is told what to run */
    double psi;
    assert_int_equal(trl_registry_latest_drift(r, "holdout", "live", NULL,
                                               &psi, &err), TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "run %drift holdout live"));
    json_t *res = drift(r, "holdout@1", b, "live");
    long long id1, id2;
    assert_int_equal(trl_registry_record_drift(r, res, &id1, &err), 0);
    double want = json_number_value(json_object_get(res, "max_psi"));
    double want_x = json_number_value(json_object_get(
        json_array_get(json_object_get(res, "features"), 0), "psi"));
    json_decref(res);
    /* an identical second frame: no drift, recorded later */
    res = drift(r, "holdout@2", a, "live");
    assert_int_equal(trl_registry_record_drift(r, res, &id2, &err), 0);
    assert_int_equal(id2, id1 + 1);
    json_decref(res);
    json_t *spec = trl_validate_infer(a, &err);
    res = trl_validate_check(b, spec, "live", "holdout@1", &err);
    assert_int_equal(trl_registry_record_validation(r, res, NULL, &err), 0);
    json_decref(res);
    json_decref(spec);
    trl_registry_close(r);

    r = open_reg(path);
    /* "holdout" matches any version: the latest run has no drift */
    assert_int_equal(trl_registry_latest_drift(r, "holdout", "live", NULL,
                                               &psi, &err), 0);
    assert_true(psi < 1e-12);
    /* "holdout@1" that version only */
    assert_int_equal(trl_registry_latest_drift(r, "holdout@1", "live", NULL,
                                               &psi, &err), 0);
    assert_true(psi == want && psi > 0.2);
    assert_int_equal(trl_registry_latest_drift(r, "holdout@1", "live", "x",
                                               &psi, &err), 0);
    assert_true(psi == want_x || psi <= want);
    assert_int_equal(trl_registry_latest_drift(r, "holdout@1", "live",
                                               "nope", &psi, &err),
                     TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "with feature 'nope'"));
    /* a similar name is not the same frame */
    assert_int_equal(trl_registry_latest_drift(r, "hold", "live", NULL,
                                               &psi, &err), TRL_ENOTFOUND);
    int ok = -1;
    assert_int_equal(trl_registry_latest_validation(r, "live", &ok, &err), 0);
    assert_int_equal(ok, 0);
    assert_int_equal(trl_registry_latest_validation(r, "holdout", &ok, &err),
                     TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "%validate holdout"));
    trl_registry_close(r);
    assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM drift_features"),
                     4);
    trl_frame_decref(a);
    trl_frame_decref(b);
}

/* Prediction drift is asked for by feature; without one a gate reads
 * feature drift only. */
static void test_model_runs_answer_by_feature(void **state)
{
    (void)state;
    char path[128];
    path_of(path, sizeof path, "model_runs");
    trl_registry *r = open_reg(path);
    trl_error err = {0};
    json_t *res = json_loads(
        "{\"ref\": \"h@1\", \"ref_name\": \"h\", \"new\": null, \"new_name\":"
        " \"live\", \"model\": \"m@1\", \"threshold\": 0.2, \"max_psi\": 0.7,"
        " \"flagged\": 1, \"ok\": false, \"features\": [{\"name\": "
        "\"prediction\", \"kind\": \"numeric\", \"psi\": 0.7, \"ks\": 0.3, "
        "\"ks_p\": 0.01, \"js\": null, \"flagged\": true}]}", 0, NULL);
    assert_int_equal(trl_registry_record_drift(r, res, NULL, &err), 0);
    json_decref(res);
    double psi;
    assert_int_equal(trl_registry_latest_drift(r, "h", "live", NULL, &psi,
                                               &err), TRL_ENOTFOUND);
    assert_int_equal(trl_registry_latest_drift(r, "h", "live", "prediction",
                                               &psi, &err), 0);
    assert_true(psi == 0.7);
    trl_registry_close(r);
}

static void test_expectation_sets_by_name_and_version(void **state)
{
    (void)state;
    char path[128];
    path_of(path, sizeof path, "sets");
    trl_registry *r = open_reg(path);
    trl_error err = {0};
    char *ref = NULL;
    assert_null(trl_registry_get_expectations(r, "churn", &ref, &err));
    assert_non_null(strstr(err.message, "none saved yet"));
    json_t *one = json_loads("{\"columns\": {\"a\": {\"type\": \"f64\"}}}",
                             0, NULL);
    json_t *two = json_loads("{\"columns\": {\"a\": {\"type\": \"i64\"}}}",
                             0, NULL);
    int v;
    assert_int_equal(trl_registry_save_expectations(r, "churn", one, &v,
                                                    &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(trl_registry_save_expectations(r, "churn", two, &v,
                                                    &err), 0);
    assert_int_equal(v, 2);
    json_t *bad = json_loads("{\"columns\": {\"a\": {\"typ\": 1}}}", 0,
                             NULL);
    assert_int_equal(trl_registry_save_expectations(r, "churn", bad, &v,
                                                    &err), TRL_EINVAL);
    assert_int_equal(trl_registry_save_expectations(r, "9x", one, &v, &err),
                     TRL_EINVAL);
    trl_registry_close(r);
    r = open_reg(path);
    json_t *got = trl_registry_get_expectations(r, "churn", &ref, &err);
    assert_true(json_equal(got, two));
    assert_string_equal(ref, "churn@2");
    free(ref);
    json_decref(got);
    got = trl_registry_get_expectations(r, "churn@1", NULL, &err);
    assert_true(json_equal(got, one));
    json_decref(got);
    assert_null(trl_registry_get_expectations(r, "churn@3", NULL, &err));
    assert_non_null(strstr(err.message, "versions 1..2, not 3"));
    assert_null(trl_registry_get_expectations(r, "other", NULL, &err));
    assert_non_null(strstr(err.message, "(saved: churn)"));
    assert_null(trl_registry_get_expectations(r, "churn@x", NULL, &err));
    assert_non_null(strstr(err.message, "must be a number"));
    trl_registry_close(r);
    json_decref(one);
    json_decref(two);
    json_decref(bad);
}

/* A file of format `version` (2: models; 3: and benchmarks), as an
 * older Trellis wrote it: no guard tables. */
static void make_older(const char *path, int version)
{
    unlink(path);
    trl_registry *r = open_reg(path);
    trl_registry_close(r);
    char sql[400];
    snprintf(sql, sizeof sql, "DROP TABLE drift_features; DROP TABLE "
             "drift_runs; DROP TABLE validations; DROP TABLE expectations;"
             " DROP TABLE importances; DROP TABLE importance_values;"
             " DROP TABLE promotions;"
             "%s PRAGMA user_version = %d",
             version < 3 ? " DROP TABLE benchmarks;" : "", version);
    raw_exec(path, sql);
}

static int guard_tables(const char *path)
{
    return raw_int(path, "SELECT COUNT(*) FROM sqlite_master WHERE name IN "
                         "('drift_runs', 'drift_features', 'validations', "
                         "'expectations')");
}

static void test_older_files_gain_the_tables(void **state)
{
    (void)state;
    char path[128];
    path_of(path, sizeof path, "older");
    for (int version = 2; version <= 3; version++) {
        make_older(path, version);
        assert_int_equal(guard_tables(path), 0);
        trl_registry *r = open_reg(path);
        trl_registry_close(r);
        /* step by step: 2 gains the benchmarks, then 3 these tables, then
         * on to the latest format */
        assert_int_equal(raw_int(path, "PRAGMA user_version"), 6);
        assert_int_equal(guard_tables(path), 4);
        assert_int_equal(raw_int(path, "SELECT COUNT(*) FROM sqlite_master "
                                       "WHERE name = 'benchmarks'"), 1);
    }
    /* newer than this Trellis: refused */
    raw_exec(path, "PRAGMA user_version = 99");
    trl_error err = {0};
    assert_null(trl_registry_open(path, &err));
    assert_non_null(strstr(err.message, "newer Trellis"));
}

static void test_a_read_only_older_file_still_opens(void **state)
{
    (void)state;
    char path[128], uri[200];
    path_of(path, sizeof path, "readonly");
    unlink(path);
    trl_frame *f = csv("a\n1\n");
    trl_error err = {0};
    int v;
    /* a frame to read back, in a format 3 file (before these tables) */
    trl_registry *w = open_reg(path);
    assert_int_equal(trl_registry_register(w, "f", f, &v, &err), 0);
    trl_registry_close(w);
    raw_exec(path, "DROP TABLE drift_features; DROP TABLE drift_runs; "
                   "DROP TABLE validations; DROP TABLE expectations; "
                   "PRAGMA user_version = 3");
    /* root ignores file modes: read-only through SQLite's URI instead */
    snprintf(uri, sizeof uri, "file:%s?mode=ro", path);
    trl_registry *r = open_reg(uri);
    trl_frame *back = trl_registry_get(r, "f", &err);
    assert_non_null(back);
    trl_frame_decref(back);
    double psi;
    assert_int_equal(trl_registry_latest_drift(r, "f", "g", NULL, &psi,
                                               &err), TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "read-only"));
    int ok;
    assert_int_equal(trl_registry_latest_validation(r, "f", &ok, &err),
                     TRL_ENOTFOUND);
    assert_null(trl_registry_get_expectations(r, "x", NULL, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    json_t *res = json_loads("{\"ok\": true, \"passed\": 1, \"failed\": 0}",
                             0, NULL);
    assert_int_not_equal(trl_registry_record_validation(r, res, NULL, &err),
                         0);
    json_decref(res);
    trl_registry_close(r);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 3);
    trl_frame_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drift_and_validation_survive_a_restart),
        cmocka_unit_test(test_model_runs_answer_by_feature),
        cmocka_unit_test(test_expectation_sets_by_name_and_version),
        cmocka_unit_test(test_older_files_gain_the_tables),
        cmocka_unit_test(test_a_read_only_older_file_still_opens),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
