/* test_store.c - store.c: registering, reloading and listing frozen frame
 * versions in SQLite, and every way a name, a file or a blob can be bad. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "trellis/registry.h"

/* ---- fixtures ------------------------------------------------------------ */

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/trl_store_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

/* Removes dir and everything under it. */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            chmod(p, 0700);
            remove_tree(p);
        } else {
            unlink(p);
        }
    }
    closedir(d);
    rmdir(dir);
}

static int group_teardown(void **state)
{
    (void)state;
    remove_tree(tmpdir);
    return 0;
}

/* A fresh file name in the temporary directory. */
static void temp_path(char *out, size_t n, const char *stem)
{
    static int counter;
    snprintf(out, n, "%s/%s_%d.sqlite", tmpdir, stem, counter++);
}

/* ---- building frames ----------------------------------------------------- */

static const char *const strings[] = {"café", "日本語", "🙂 ok", "", "plain"};

static trl_column *f64_col(const double *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_F64, n, NULL);
    assert_non_null(c);
    if (n)
        memcpy(c->v.f64, v, n * sizeof *v);
    return c;
}

/* i64 values; present[i] == 0 marks row i missing (NULL: none missing). */
static trl_column *i64_col(const int64_t *v, const uint8_t *present,
                           size_t n)
{
    trl_column *c = trl_column_new(TRL_I64, n, NULL);
    assert_non_null(c);
    if (n)
        memcpy(c->v.i64, v, n * sizeof *v);
    if (present) {
        c->valid = malloc(n ? n : 1);
        assert_non_null(c->valid);
        memcpy(c->valid, present, n);
    }
    return c;
}

static trl_column *bool_col(const uint8_t *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_BOOL, n, NULL);
    assert_non_null(c);
    if (n)
        memcpy(c->v.b, v, n);
    return c;
}

/* idx[i] indexes strings[], -1 is missing. */
static trl_column *str_col(const int *idx, size_t n)
{
    trl_column *c = trl_column_new(TRL_STR, n, NULL);
    assert_non_null(c);
    for (size_t i = 0; i < n; i++)
        c->v.codes[i] = idx[i] < 0 ? -1
                        : trl_strdict_intern(c->dict, strings[idx[i]],
                                             strlen(strings[idx[i]]));
    return c;
}

static void add(trl_frame *f, const char *name, trl_column *c)
{
    assert_int_equal(trl_frame_set(f, name, c, NULL), 0);
    trl_column_decref(c);
}

/* Five rows of every type with missing values in each; seed varies the
 * numbers so versions differ. */
static trl_frame *sample_frame(int seed)
{
    trl_frame *f = trl_frame_new();
    assert_non_null(f);
    double x[5] = {1.5 * seed, NAN, -0.0, 1e300, -2.25};
    int64_t n[5] = {seed, -7, INT64_MAX, INT64_MIN, 0};
    uint8_t present[5] = {1, 0, 1, 1, 0};
    uint8_t b[5] = {1, 0, TRL_BOOL_MISSING, 1, (uint8_t)(seed & 1)};
    int s[5] = {0, -1, 1, 2, 3};
    add(f, "x", f64_col(x, 5));
    add(f, "n", i64_col(n, present, 5));
    add(f, "b", bool_col(b, 5));
    add(f, "s", str_col(s, 5));
    return f;
}

/* ---- comparing ------------------------------------------------------------ */

static void assert_columns_equal(const trl_column *a, const trl_column *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->len, b->len);
    for (size_t i = 0; i < a->len; i++) {
        int ma = trl_column_is_missing(a, i);
        assert_int_equal(ma, trl_column_is_missing(b, i));
        if (ma)
            continue;
        switch (a->type) {
        case TRL_F64:
            /* bit for bit, so -0.0 stays -0.0 */
            assert_memory_equal(&a->v.f64[i], &b->v.f64[i], sizeof(double));
            break;
        case TRL_I64:
            assert_true(a->v.i64[i] == b->v.i64[i]);
            break;
        case TRL_BOOL:
            assert_int_equal(a->v.b[i], b->v.b[i]);
            break;
        case TRL_STR: {
            int32_t ca = a->v.codes[i], cb = b->v.codes[i];
            assert_int_equal(a->dict->lens[ca], b->dict->lens[cb]);
            assert_memory_equal(a->dict->strs[ca], b->dict->strs[cb],
                                a->dict->lens[ca]);
            break;
        }
        }
    }
}

static void assert_frames_equal(const trl_frame *a, const trl_frame *b)
{
    assert_int_equal(a->nrows, b->nrows);
    assert_int_equal(a->ncols, b->ncols);
    for (size_t i = 0; i < a->ncols; i++) {
        assert_string_equal(a->names[i], b->names[i]);
        assert_columns_equal(a->cols[i], b->cols[i]);
    }
}

/* ---- a second connection, as another process would have ------------------ */

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}

static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static char *raw_text(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *t = (const char *)sqlite3_column_text(st, 0);
    char *copy = strdup(t ? t : "(null)");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return copy;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static trl_registry *open_ok(const char *path)
{
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    if (!r)
        fail_msg("open %s: %s", path, err.message);
    return r;
}

static int register_ok(trl_registry *r, const char *name, trl_frame *f)
{
    trl_error err = {0};
    int v = 0;
    if (trl_registry_register(r, name, f, &v, &err) != 0)
        fail_msg("register %s: %s", name, err.message);
    return v;
}

static trl_frame *get_ok(trl_registry *r, const char *spec)
{
    trl_error err = {0};
    trl_frame *f = trl_registry_get(r, spec, &err);
    if (!f)
        fail_msg("get %s: %s", spec, err.message);
    return f;
}

/* Asserts get(spec) fails with code and a message containing want. */
static void get_fails(trl_registry *r, const char *spec, int code,
                      const char *want)
{
    trl_error err = {0};
    trl_frame *f = trl_registry_get(r, spec, &err);
    if (f)
        fail_msg("get '%s' succeeded", spec ? spec : "(null)");
    assert_int_equal(err.code, code);
    if (want && !strstr(err.message, want))
        fail_msg("get '%s': message '%s' lacks '%s'", spec ? spec : "(null)",
                 err.message, want);
}

/* ---- round trips ----------------------------------------------------------- */

static void test_round_trip_every_dtype_through_the_file(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "roundtrip");
    trl_frame *f = sample_frame(1);
    /* a string with a NUL inside: the dictionary is length-prefixed */
    trl_column *odd = trl_column_new(TRL_STR, 5, NULL);
    odd->v.codes[0] = trl_strdict_intern(odd->dict, "a\0b", 3);
    odd->v.codes[4] = odd->v.codes[0];
    add(f, "odd", odd);
    trl_registry *r = open_ok(path);
    assert_int_equal(register_ok(r, "every_type", f), 1);
    trl_registry_close(r);

    r = open_ok(path);
    trl_frame *g = get_ok(r, "every_type@1");
    assert_frames_equal(f, g);
    assert_true(g->frozen);
    assert_string_equal(g->ref, "every_type@1");
    assert_true(isnan(g->cols[0]->v.f64[1]));
    assert_true(signbit(g->cols[0]->v.f64[2]));
    assert_non_null(g->cols[1]->valid);
    assert_int_equal(g->cols[2]->v.b[2], TRL_BOOL_MISSING);
    assert_int_equal(g->cols[3]->v.codes[1], -1);
    trl_frame_decref(g);
    trl_registry_close(r);
    trl_frame_decref(f);
}

static void test_blobs_are_little_endian_arrays_and_prefixed_strings(
    void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "format");
    trl_frame *f = trl_frame_new();
    double x[2] = {1.0, -2.0};
    int64_t n[2] = {1, 258};
    uint8_t all[2] = {1, 1};
    int s[2] = {4, -1};
    add(f, "x", f64_col(x, 2));
    add(f, "n", i64_col(n, all, 2));
    add(f, "s", str_col(s, 2));
    trl_registry *r = open_ok(path);
    register_ok(r, "fmt", f);
    trl_registry_close(r);

    char *hex = raw_text(path, "SELECT hex(data) FROM columns WHERE "
                               "col_name = 'x'");
    assert_string_equal(hex, "000000000000F03F00000000000000C0");
    free(hex);
    hex = raw_text(path, "SELECT hex(data) FROM columns WHERE col_name='n'");
    assert_string_equal(hex, "01000000000000000201000000000000");
    free(hex);
    /* nothing missing: no validity map at all */
    assert_int_equal(raw_int(path, "SELECT valid IS NULL FROM columns "
                                   "WHERE col_name = 'n'"), 1);
    hex = raw_text(path, "SELECT hex(data) || ' ' || hex(dictionary) FROM "
                         "columns WHERE col_name = 's'");
    assert_string_equal(hex, "00000000FFFFFFFF 05000000706C61696E");
    free(hex);
    /* one row per column, never one per value */
    assert_int_equal(raw_int(path, "SELECT count(*) FROM columns"), 3);
    trl_frame_decref(f);
}

/* A filtered column keeps its parent's dictionary; the stored one holds
 * only the strings in use, and codes are renumbered to match. */
static void test_dictionary_keeps_only_used_strings(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "dict");
    trl_strdict *d = trl_strdict_new();
    for (int i = 0; i < 5; i++)
        trl_strdict_intern(d, strings[i], strlen(strings[i]));
    trl_column *c = trl_column_new(TRL_STR, 3, d);
    c->v.codes[0] = 4;
    c->v.codes[1] = 1;
    c->v.codes[2] = 4;
    trl_frame *f = trl_frame_new();
    add(f, "s", c);
    trl_registry *r = open_ok(path);
    register_ok(r, "filtered", f);
    trl_registry_close(r);
    assert_int_equal(raw_int(path, "SELECT length(dictionary) FROM columns"),
                     4 + strlen(strings[1]) + 4 + strlen(strings[4]));
    r = open_ok(path);
    trl_frame *g = get_ok(r, "filtered");
    assert_frames_equal(f, g);
    assert_int_equal(g->cols[0]->dict->n, 2);
    trl_frame_decref(g);
    trl_registry_close(r);
    trl_frame_decref(f);
    trl_strdict_decref(d);
}

static void test_zero_row_frame_round_trips(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "empty_rows");
    trl_frame *f = trl_frame_new();
    add(f, "x", f64_col(NULL, 0));
    add(f, "n", i64_col(NULL, NULL, 0));
    add(f, "b", bool_col(NULL, 0));
    add(f, "s", str_col(NULL, 0));
    trl_registry *r = open_ok(path);
    register_ok(r, "nothing", f);
    trl_registry_close(r);
    r = open_ok(path);
    trl_frame *g = get_ok(r, "nothing@1");
    assert_int_equal(g->nrows, 0);
    assert_frames_equal(f, g);
    trl_frame_decref(g);
    trl_registry_close(r);
    trl_frame_decref(f);
}

/* ---- versions -------------------------------------------------------------- */

static void test_versions_increment_per_name(void **state)
{
    (void)state;
    trl_registry *r = open_ok(":memory:");
    trl_frame *f = sample_frame(1);
    assert_int_equal(register_ok(r, "a", f), 1);
    assert_int_equal(register_ok(r, "a", f), 2);
    assert_int_equal(register_ok(r, "b", f), 1);
    assert_int_equal(register_ok(r, "a", f), 3);
    assert_int_equal(register_ok(r, "_b2", f), 1);
    trl_frame_decref(f);
    trl_registry_close(r);
}

static void test_get_latest_and_exact_version(void **state)
{
    (void)state;
    trl_registry *r = open_ok(":memory:");
    trl_frame *f1 = sample_frame(1), *f2 = sample_frame(2);
    register_ok(r, "churn", f1);
    register_ok(r, "churn", f2);
    trl_frame *latest = get_ok(r, "churn");
    trl_frame *v1 = get_ok(r, "churn@1");
    trl_frame *v2 = get_ok(r, "churn@2");
    assert_string_equal(latest->ref, "churn@2");
    assert_ptr_equal(latest, v2);  /* one cached frame, two references */
    assert_string_equal(v1->ref, "churn@1");
    assert_frames_equal(v1, f1);
    assert_frames_equal(v2, f2);
    trl_frame_decref(latest);
    trl_frame_decref(v1);
    trl_frame_decref(v2);
    trl_frame_decref(f1);
    trl_frame_decref(f2);
    trl_registry_close(r);
}

static void test_registered_version_shares_columns_and_lineage_copy(
    void **state)
{
    (void)state;
    trl_registry *r = open_ok(":memory:");
    trl_frame *f = sample_frame(1);
    json_t *lin = json_pack("{s:s, s:s}", "source", "csv", "path", "a.csv");
    trl_frame_set_lineage(f, lin);
    register_ok(r, "shared", f);
    trl_frame *v = get_ok(r, "shared");
    for (size_t i = 0; i < f->ncols; i++)
        assert_ptr_equal(v->cols[i], f->cols[i]);  /* no data copied */
    assert_true(json_equal(v->lineage, lin));
    assert_ptr_not_equal(v->lineage, lin);
    trl_frame_decref(v);
    trl_frame_decref(f);
    trl_registry_close(r);
}

static void test_frozen_frames_refuse_changes(void **state)
{
    (void)state;
    trl_registry *r = open_ok(":memory:");
    trl_frame *f = sample_frame(1);
    register_ok(r, "ice", f);
    trl_frame *v = get_ok(r, "ice@1");
    trl_column *c = f64_col((double[]){1, 2, 3, 4, 5}, 5);
    trl_error err = {0};
    assert_int_equal(trl_frame_set(v, "y", c, &err), TRL_EINVAL);
    assert_non_null(strstr(err.message, "ice@1"));
    assert_int_equal(trl_frame_set(v, "x", c, &err), TRL_EINVAL);
    assert_int_equal(trl_frame_drop(v, "x", &err), TRL_EINVAL);
    assert_int_equal(v->ncols, 4);
    trl_column_decref(c);
    trl_frame_decref(v);
    trl_frame_decref(f);
    trl_registry_close(r);
}

static void test_working_frame_is_not_frozen_or_changed(void **state)
{
    (void)state;
    trl_registry *r = open_ok(":memory:");
    trl_frame *f = sample_frame(1);
    trl_column *x = f->cols[0];
    register_ok(r, "work", f);
    assert_int_equal(f->frozen, 0);
    assert_null(f->ref);
    assert_null(f->lineage);
    assert_int_equal(f->refcount, 1);
    assert_int_equal(f->ncols, 4);
    assert_ptr_equal(f->cols[0], x);
    /* later edits to the working copy leave the version alone */
    trl_column *y = f64_col((double[]){9, 9, 9, 9, 9}, 5);
    assert_int_equal(trl_frame_set(f, "x", y, NULL), 0);
    assert_int_equal(trl_frame_set(f, "y", y, NULL), 0);
    trl_column_decref(y);
    trl_frame *v = get_ok(r, "work@1");
    assert_int_equal(v->ncols, 4);
    assert_ptr_equal(v->cols[0], x);
    assert_null(trl_frame_get(v, "y"));
    /* no lineage given: recorded as unknown */
    assert_string_equal(json_string_value(json_object_get(v->lineage,
                                                          "source")),
                        "unknown");
    trl_frame_decref(v);
    trl_frame_decref(f);
    trl_registry_close(r);
}

/* The restarted kernel sees every registered version. */
static void test_reopened_registry_has_every_version(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "restart");
    trl_frame *frames[4] = {sample_frame(1), sample_frame(2), sample_frame(3),
                            sample_frame(4)};
    trl_frame_set_lineage(frames[2], json_pack("{s:s}", "sql", "SELECT 1"));
    const char *names[4] = {"alpha", "alpha", "beta", "alpha"};
    trl_registry *r = open_ok(path);
    for (int i = 0; i < 4; i++)
        register_ok(r, names[i], frames[i]);
    trl_registry_close(r);

    r = open_ok(path);
    const char *specs[4] = {"alpha@1", "alpha@2", "beta@1", "alpha@3"};
    for (int i = 0; i < 4; i++) {
        trl_frame *g = get_ok(r, specs[i]);
        assert_frames_equal(frames[i], g);
        assert_string_equal(g->ref, specs[i]);
        assert_true(g->frozen);
        if (i == 2)
            assert_true(json_equal(g->lineage, frames[2]->lineage));
        trl_frame_decref(g);
    }
    trl_frame *latest = get_ok(r, "alpha");
    assert_string_equal(latest->ref, "alpha@3");
    trl_frame_decref(latest);
    /* and the numbering carries on */
    assert_int_equal(register_ok(r, "alpha", frames[0]), 4);
    trl_registry_close(r);
    for (int i = 0; i < 4; i++)
        trl_frame_decref(frames[i]);
}

/* Two kernels on one file: each sees the other's versions. */
static void test_two_registries_share_one_file(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "shared");
    trl_registry *a = open_ok(path), *b = open_ok(path);
    trl_frame *f1 = sample_frame(1), *f2 = sample_frame(2);
    assert_int_equal(register_ok(a, "t", f1), 1);
    assert_int_equal(register_ok(b, "t", f2), 2);
    trl_frame *g = get_ok(a, "t");
    assert_string_equal(g->ref, "t@2");
    assert_frames_equal(g, f2);
    trl_frame_decref(g);
    trl_registry_close(a);
    trl_registry_close(b);
    trl_frame_decref(f1);
    trl_frame_decref(f2);
}

/* ---- listing --------------------------------------------------------------- */

static void test_list_orders_by_name_then_version(void **state)
{
    (void)state;
    trl_registry *r = open_ok(":memory:");
    json_t *l = trl_registry_list(r);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    trl_frame *f = sample_frame(1);
    trl_frame *small = trl_frame_new();
    add(small, "x", f64_col((double[]){1, 2}, 2));
    trl_frame_set_lineage(small, json_pack("{s:s}", "source", "test"));
    register_ok(r, "zeta", f);
    register_ok(r, "alpha", small);
    register_ok(r, "zeta", small);
    l = trl_registry_list(r);
    assert_int_equal(json_array_size(l), 3);
    const char *want_name[3] = {"alpha", "zeta", "zeta"};
    int want_version[3] = {1, 1, 2}, want_rows[3] = {2, 5, 2};
    int want_cols[3] = {1, 4, 1};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(l, i);
        assert_string_equal(json_string_value(json_object_get(e, "name")),
                            want_name[i]);
        assert_int_equal(json_integer_value(json_object_get(e, "version")),
                         want_version[i]);
        assert_int_equal(json_integer_value(json_object_get(e, "rows")),
                         want_rows[i]);
        assert_int_equal(json_integer_value(json_object_get(e, "columns")),
                         want_cols[i]);
        const char *created = json_string_value(json_object_get(e,
                                                                "created"));
        assert_non_null(created);
        assert_int_equal(strlen(created), 24);  /* 2024-05-01T12:00:00.123Z */
        assert_int_equal(created[10], 'T');
        assert_int_equal(created[23], 'Z');
        assert_true(json_is_object(json_object_get(e, "lineage")));
    }
    json_t *lin = json_object_get(json_array_get(l, 0), "lineage");
    assert_string_equal(json_string_value(json_object_get(lin, "source")),
                        "test");
    lin = json_object_get(json_array_get(l, 1), "lineage");
    assert_string_equal(json_string_value(json_object_get(lin, "source")),
                        "unknown");
    json_decref(l);
    trl_frame_decref(f);
    trl_frame_decref(small);
    trl_registry_close(r);
}

/* ---- bad names and specs --------------------------------------------------- */

static void test_register_rejects_bad_names(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "badnames");
    trl_registry *r = open_ok(path);
    trl_frame *f = sample_frame(1);
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *bad[] = {"", "1abc", "a-b", "a b", "café", "a@1", "a.b",
                         " a", longname, NULL};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        trl_error err = {0};
        int v = -5;
        assert_int_equal(trl_registry_register(r, bad[i], f, &v, &err),
                         TRL_EINVAL);
        assert_int_equal(v, -5);
        assert_true(strlen(err.message) > 10);
    }
    trl_error err = {0};
    trl_registry_register(r, "a-b", f, NULL, &err);
    assert_non_null(strstr(err.message, "'a-b' is not a valid feature frame "
                                        "name"));
    assert_int_equal(raw_int(path, "SELECT count(*) FROM frames"), 0);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM columns"), 0);
    trl_frame_decref(f);
    trl_registry_close(r);
}

static void test_get_rejects_malformed_specs(void **state)
{
    (void)state;
    trl_registry *r = open_ok(":memory:");
    trl_frame *f = sample_frame(1);
    register_ok(r, "x", f);
    get_fails(r, "x@", TRL_EINVAL, "a version number must follow '@'");
    get_fails(r, "x@abc", TRL_EINVAL, "must be a number");
    get_fails(r, "@1", TRL_EINVAL, "name must come before '@'");
    get_fails(r, "", TRL_EINVAL, "Give a name");
    get_fails(r, NULL, TRL_EINVAL, NULL);
    get_fails(r, "x@0", TRL_EINVAL, "versions start at 1");
    get_fails(r, "x@1@2", TRL_EINVAL, "must be a number");
    get_fails(r, "x@-1", TRL_EINVAL, "must be a number");
    get_fails(r, "x@ 1", TRL_EINVAL, "must be a number");
    get_fails(r, "x@1 ", TRL_EINVAL, "must be a number");
    get_fails(r, "x@99999999999", TRL_EINVAL, "out of range");
    get_fails(r, "1x", TRL_EINVAL, "not a valid feature frame name");
    get_fails(r, "a b@1", TRL_EINVAL, "'a b' is not a valid");
    trl_frame_decref(f);
    trl_registry_close(r);
}

static void test_get_unknown_names_and_versions(void **state)
{
    (void)state;
    trl_registry *r = open_ok(":memory:");
    get_fails(r, "nope", TRL_ENOTFOUND,
              "no feature frame 'nope' (none registered yet)");
    trl_frame *f = sample_frame(1);
    for (int i = 0; i < 3; i++)
        register_ok(r, "c", f);
    register_ok(r, "b", f);
    register_ok(r, "a", f);
    get_fails(r, "x", TRL_ENOTFOUND,
              "no feature frame 'x' (registered: a, b, c)");
    get_fails(r, "x@2", TRL_ENOTFOUND,
              "no feature frame 'x' (registered: a, b, c)");
    get_fails(r, "c@7", TRL_ENOTFOUND, "'c' has versions 1..3, not 7");
    get_fails(r, "a@2", TRL_ENOTFOUND, "'a' has only version 1, not 2");
    trl_frame_decref(f);
    trl_registry_close(r);
}

/* ---- failures leave nothing behind ------------------------------------------ */

static void test_failed_register_leaves_no_rows(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "partial");
    trl_registry *r = open_ok(path);
    trl_frame *f = sample_frame(1);
    assert_int_equal(register_ok(r, "p", f), 1);

    trl_frame *empty = trl_frame_new();
    trl_error err = {0};
    assert_int_equal(trl_registry_register(r, "p", empty, NULL, &err),
                     TRL_EINVAL);
    assert_non_null(strstr(err.message, "frame has no columns"));
    trl_frame_decref(empty);

    /* A failure after the frame row and some columns are written: the
     * trigger stands in for a disk that fills up mid-transaction. */
    raw_exec(path, "CREATE TRIGGER boom BEFORE INSERT ON columns WHEN "
                   "NEW.col_name = 's' BEGIN SELECT RAISE(ABORT, "
                   "'simulated disk failure'); END");
    int v = -5;
    assert_int_equal(trl_registry_register(r, "p", f, &v, &err), TRL_EIO);
    assert_int_equal(v, -5);
    assert_non_null(strstr(err.message, "simulated disk failure"));
    assert_non_null(strstr(err.message, path));
    assert_int_equal(raw_int(path, "SELECT count(*) FROM frames"), 1);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM columns"), 4);
    get_fails(r, "p@2", TRL_ENOTFOUND, "'p' has only version 1, not 2");
    trl_frame *g = get_ok(r, "p");
    assert_string_equal(g->ref, "p@1");
    trl_frame_decref(g);

    /* the version number was not used up */
    raw_exec(path, "DROP TRIGGER boom");
    assert_int_equal(register_ok(r, "p", f), 2);
    trl_frame_decref(f);
    trl_registry_close(r);
}

/* A column that breaks the column contract is refused before anything is
 * written, rather than stored and refused at every load. */
static void test_register_refuses_impossible_values(void **state)
{
    (void)state;
    trl_registry *r = open_ok(":memory:");
    trl_frame *f = trl_frame_new();
    add(f, "b", bool_col((const uint8_t[]){0, 7}, 2));
    trl_error err = {0};
    assert_int_equal(trl_registry_register(r, "bad", f, NULL, &err),
                     TRL_EINVAL);
    assert_non_null(strstr(err.message, "column 'b' row 2"));
    get_fails(r, "bad", TRL_ENOTFOUND, "none registered yet");
    trl_frame_decref(f);
    trl_registry_close(r);
}

/* ---- the file -------------------------------------------------------------- */

static void test_new_file_is_private_wal_and_versioned(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/nested/deeper/reg.sqlite", tmpdir);
    mode_t old = umask(0);  /* the most permissive umask: still 0600 */
    trl_registry *r = open_ok(path);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    trl_frame *f = sample_frame(1);
    register_ok(r, "w", f);
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", path);
    if (stat(wal, &st) == 0)
        assert_int_equal(st.st_mode & 0777, 0600);
    char *mode = raw_text(path, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 6);
    trl_registry_close(r);
    trl_frame_decref(f);
}

/* A file written before models existed (format 1) gains the model tables
 * when opened, and keeps its frames. */
static void test_format_1_file_gains_model_tables(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/v1.sqlite", tmpdir);
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    trl_frame *f = sample_frame(1);
    register_ok(r, "old", f);
    trl_registry_close(r);
    raw_exec(path, "DROP TABLE models; DROP TABLE model_stages; "
                   "PRAGMA user_version = 1");
    assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master "
                                   "WHERE name = 'models'"), 0);
    /* read-only, it stays format 1 and still serves its frames */
    char uri[300];
    snprintf(uri, sizeof uri, "file:%s?mode=ro", path);
    r = trl_registry_open(uri, &err);
    assert_non_null(r);
    trl_frame *ro = trl_registry_get(r, "old@1", &err);
    assert_non_null(ro);
    trl_frame_decref(ro);
    trl_registry_close(r);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 1);
    r = trl_registry_open(path, &err);
    assert_non_null(r);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 6);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master "
                                   "WHERE name IN ('models', "
                                   "'model_stages')"), 2);
    trl_frame *g = trl_registry_get(r, "old@1", &err);
    assert_non_null(g);
    assert_int_equal(g->nrows, f->nrows);
    trl_frame_decref(g);
    trl_registry_close(r);
    trl_frame_decref(f);
}

static void test_default_path_follows_environment(void **state)
{
    (void)state;
    const char *keys[3] = {"TRELLIS_REGISTRY", "XDG_DATA_HOME", "HOME"};
    char *saved[3];
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(keys[i]);
        saved[i] = v ? strdup(v) : NULL;
    }
    setenv("TRELLIS_REGISTRY", "/srv/team.sqlite", 1);
    setenv("XDG_DATA_HOME", "/xdg", 1);
    setenv("HOME", "/home/u", 1);
    char *p = trl_registry_default_path();
    assert_string_equal(p, "/srv/team.sqlite");
    free(p);
    setenv("TRELLIS_REGISTRY", "", 1);  /* empty counts as unset */
    p = trl_registry_default_path();
    assert_string_equal(p, "/xdg/trellis/registry.sqlite");
    free(p);
    unsetenv("XDG_DATA_HOME");
    p = trl_registry_default_path();
    assert_string_equal(p, "/home/u/.local/share/trellis/registry.sqlite");
    free(p);
    unsetenv("HOME");
    unsetenv("TRELLIS_REGISTRY");
    assert_null(trl_registry_default_path());
    for (int i = 0; i < 3; i++) {
        if (saved[i])
            setenv(keys[i], saved[i], 1);
        else
            unsetenv(keys[i]);
        free(saved[i]);
    }
}

/* A read-only registry: reads work, a register is TRL_EIO naming the file
 * and SQLite's reason, and reads still work afterwards. chmod does not
 * stop root, so root opens the copy through a read-only URI instead. */
static void test_read_only_file_reads_but_refuses_register(void **state)
{
    (void)state;
    char path[256], copy[256], uri[300];
    temp_path(path, sizeof path, "src");
    temp_path(copy, sizeof copy, "readonly");
    trl_registry *r = open_ok(path);
    trl_frame *f = sample_frame(1);
    register_ok(r, "ro", f);
    register_ok(r, "ro", f);
    trl_registry_close(r);
    copy_file(path, copy);
    assert_int_equal(chmod(copy, 0400), 0);
    snprintf(uri, sizeof uri, "file:%s?mode=ro", copy);

    const char *opens[2] = {uri, copy};
    int n = geteuid() == 0 ? 1 : 2;
    for (int i = 0; i < n; i++) {
        r = open_ok(opens[i]);
        json_t *l = trl_registry_list(r);
        assert_int_equal(json_array_size(l), 2);
        json_decref(l);
        trl_frame *g = get_ok(r, "ro@1");
        trl_frame_decref(g);
        trl_error err = {0};
        assert_int_equal(trl_registry_register(r, "ro", f, NULL, &err),
                         TRL_EIO);
        assert_non_null(strstr(err.message, copy));
        assert_non_null(strstr(err.message, "readonly"));
        assert_non_null(strstr(err.message, "read-only to this kernel"));
        g = get_ok(r, "ro");
        assert_string_equal(g->ref, "ro@2");
        assert_frames_equal(g, f);
        trl_frame_decref(g);
        trl_registry_close(r);
    }
    struct stat st;
    assert_int_equal(stat(copy, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0400);  /* left as the user set it */
    trl_frame_decref(f);
}

/* A register that runs out of space is TRL_EIO saying the disk is full
 * and what to do; the registry keeps what it had and, with space again,
 * takes the next register. The file size limit stands in for a full disk:
 * past it a write fails with EFBIG (SIGXFSZ ignored, as the kernel does),
 * or is cut short, which SQLite reports as a full disk. */
static void test_full_disk_is_a_clear_error_and_changes_nothing(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "full");
    trl_registry *r = open_ok(path);
    trl_frame *small = sample_frame(1);
    register_ok(r, "kept", small);
    trl_frame *big = trl_frame_new();
    assert_non_null(big);
    add(big, "x", trl_column_new(TRL_F64, (size_t)1 << 20, NULL));  /* 8 MB */

    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim.rlim_cur = (rlim_t)2 << 20;
    lim.rlim_max = old.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    trl_error err = {0};
    int rc = trl_registry_register(r, "big", big, NULL, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);

    assert_int_equal(rc, TRL_EIO);
    if (!strstr(err.message, path) || !strstr(err.message, "disk is full") ||
        !strstr(err.message, "cannot register 'big'") ||
        !strstr(err.message, "TRELLIS_REGISTRY"))
        fail_msg("unclear: %s", err.message);
    get_fails(r, "big", TRL_ENOTFOUND, "(registered: kept)");
    json_t *l = trl_registry_list(r);
    assert_int_equal(json_array_size(l), 1);
    json_decref(l);
    assert_int_equal(register_ok(r, "kept", small), 2);
    assert_int_equal(register_ok(r, "big", big), 1);
    trl_registry_close(r);

    r = open_ok(path);
    trl_frame *g = get_ok(r, "big@1");
    assert_frames_equal(g, big);
    trl_frame_decref(g);
    trl_registry_close(r);
    trl_frame_decref(big);
    trl_frame_decref(small);
}

static void test_damaged_header_is_a_clean_error(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "header");
    trl_registry *r = open_ok(path);
    trl_frame *f = sample_frame(1);
    register_ok(r, "h", f);
    trl_registry_close(r);
    trl_frame_decref(f);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fputs("this is no database at all", fp);
    fclose(fp);
    trl_error err = {0};
    assert_null(trl_registry_open(path, &err));
    assert_int_equal(err.code, TRL_EIO);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "not a database"));
    /* the damaged file is left for the user to inspect, not removed */
    assert_int_equal(access(path, F_OK), 0);
}

static void test_newer_format_is_refused(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "future");
    trl_registry_close(open_ok(path));
    raw_exec(path, "PRAGMA user_version = 9");
    trl_error err = {0};
    assert_null(trl_registry_open(path, &err));
    assert_int_equal(err.code, TRL_EIO);
    assert_non_null(strstr(err.message, "newer Trellis"));
}

/* Each change, made by another connection, damages one stored version. */
static const char *const damages[] = {
    "UPDATE columns SET data = substr(data, 1, 5) WHERE col_name = 'x'",
    "UPDATE columns SET data = x'' WHERE col_name = 'b'",
    "UPDATE columns SET data = 'text' WHERE col_name = 's'",
    "UPDATE columns SET valid = substr(valid, 1, 2) WHERE col_name = 'n'",
    "UPDATE columns SET valid = x'0101010101' WHERE col_name = 'x'",
    "UPDATE columns SET valid = x'0102010101' WHERE col_name = 'n'",
    "UPDATE columns SET dictionary = substr(dictionary, 1, 6) "
    "WHERE col_name = 's'",
    "UPDATE columns SET dictionary = substr(dictionary, 1, 2) "
    "WHERE col_name = 's'",
    "UPDATE columns SET dictionary = NULL WHERE col_name = 's'",
    "UPDATE columns SET dictionary = x'00000000' WHERE col_name = 'x'",
    "UPDATE columns SET dictionary = x'0100000061' || x'0100000061' "
    "WHERE col_name = 's'",
    "UPDATE columns SET data = x'63000000' || substr(data, 5) "
    "WHERE col_name = 's'",
    "UPDATE columns SET data = x'FEFFFFFF' || substr(data, 5) "
    "WHERE col_name = 's'",
    "UPDATE columns SET data = x'07' || substr(data, 2) WHERE col_name = 'b'",
    "UPDATE columns SET data = x'FF' || substr(data, 2) WHERE col_name = 'x'",
    "UPDATE columns SET dtype = 'complex' WHERE col_name = 'x'",
    "UPDATE columns SET dtype = 'i64' WHERE col_name = 'x'",
    "UPDATE columns SET col_name = 'x' WHERE col_name = 'n'",
    "UPDATE columns SET position = 7 WHERE col_name = 'n'",
    "DELETE FROM columns WHERE col_name = 'b'",
    "UPDATE frames SET nrows = 6",
    "UPDATE frames SET nrows = -1",
    "UPDATE frames SET ncols = 3",
    "UPDATE frames SET ncols = 0",
    "UPDATE frames SET lineage = '{not json'",
    "UPDATE frames SET content_hash = 'abc'",
};

static void test_damaged_blobs_are_errors_not_crashes(void **state)
{
    (void)state;
    trl_frame *f = sample_frame(1);
    for (size_t i = 0; i < sizeof damages / sizeof *damages; i++) {
        char path[256];
        temp_path(path, sizeof path, "damage");
        trl_registry *r = open_ok(path);
        register_ok(r, "d", f);
        trl_registry_close(r);
        raw_exec(path, damages[i]);
        r = open_ok(path);
        trl_error err = {0};
        trl_frame *g = trl_registry_get(r, "d@1", &err);
        if (g)
            fail_msg("damage %zu (%s) went unnoticed", i, damages[i]);
        assert_int_equal(err.code, TRL_EIO);
        assert_non_null(strstr(err.message, "d@1"));
        assert_non_null(strstr(err.message, "damaged"));
        /* the registry stays usable */
        assert_int_equal(register_ok(r, "d", f), 2);
        trl_frame *ok = get_ok(r, "d");
        assert_frames_equal(ok, f);
        trl_frame_decref(ok);
        trl_registry_close(r);
    }
    trl_frame_decref(f);
}

/* A just-registered version is served from memory: damaging the file
 * behind its back does not affect this registry, only a fresh one. */
static void test_just_registered_version_needs_no_reload(void **state)
{
    (void)state;
    char path[256];
    temp_path(path, sizeof path, "cached");
    trl_registry *r = open_ok(path);
    trl_frame *f = sample_frame(1);
    register_ok(r, "c", f);
    raw_exec(path, "UPDATE columns SET data = substr(data, 1, 5)");
    trl_frame *g = get_ok(r, "c@1");
    assert_frames_equal(g, f);
    trl_frame_decref(g);
    g = get_ok(r, "c");
    trl_frame_decref(g);
    trl_registry *fresh = open_ok(path);
    get_fails(fresh, "c", TRL_EIO, "damaged");
    trl_registry_close(fresh);
    trl_registry_close(r);
    trl_frame_decref(f);
}

static void test_open_rejects_unusable_paths(void **state)
{
    (void)state;
    trl_error err = {0};
    assert_null(trl_registry_open("", &err));
    assert_int_equal(err.code, TRL_EINVAL);
    assert_null(trl_registry_open(NULL, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    char path[300];
    /* a regular file where a directory should be */
    char file[256];
    temp_path(file, sizeof file, "plainfile");
    FILE *fp = fopen(file, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/reg.sqlite", file);
    assert_null(trl_registry_open(path, &err));
    assert_int_equal(err.code, TRL_EIO);
    assert_non_null(strstr(err.message, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_dtype_through_the_file),
        cmocka_unit_test(
            test_blobs_are_little_endian_arrays_and_prefixed_strings),
        cmocka_unit_test(test_dictionary_keeps_only_used_strings),
        cmocka_unit_test(test_zero_row_frame_round_trips),
        cmocka_unit_test(test_versions_increment_per_name),
        cmocka_unit_test(test_get_latest_and_exact_version),
        cmocka_unit_test(
            test_registered_version_shares_columns_and_lineage_copy),
        cmocka_unit_test(test_frozen_frames_refuse_changes),
        cmocka_unit_test(test_working_frame_is_not_frozen_or_changed),
        cmocka_unit_test(test_reopened_registry_has_every_version),
        cmocka_unit_test(test_two_registries_share_one_file),
        cmocka_unit_test(test_list_orders_by_name_then_version),
        cmocka_unit_test(test_register_rejects_bad_names),
        cmocka_unit_test(test_get_rejects_malformed_specs),
        cmocka_unit_test(test_get_unknown_names_and_versions),
        cmocka_unit_test(test_failed_register_leaves_no_rows),
        cmocka_unit_test(test_register_refuses_impossible_values),
        cmocka_unit_test(test_new_file_is_private_wal_and_versioned),
        cmocka_unit_test(test_format_1_file_gains_model_tables),
        cmocka_unit_test(test_default_path_follows_environment),
        cmocka_unit_test(test_read_only_file_reads_but_refuses_register),
        cmocka_unit_test(test_full_disk_is_a_clear_error_and_changes_nothing),
        cmocka_unit_test(test_damaged_header_is_a_clean_error),
        cmocka_unit_test(test_newer_format_is_refused),
        cmocka_unit_test(test_damaged_blobs_are_errors_not_crashes),
        cmocka_unit_test(test_just_registered_version_needs_no_reload),
        cmocka_unit_test(test_open_rejects_unusable_paths),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
