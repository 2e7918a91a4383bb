/* benchmark_store.c - serving benchmarks kept in the registry's SQLite
 * file against each model version (format version 3), and read back: the
 * evidence a latency gate (`p99_ms@batch1 <= 2`) compares. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "trellis/bench.h"
#include "registry/model_int.h"
#include "registry/registry_int.h"

/* Format version 3 (see store.c): plain tables and types that move to
 * PostgreSQL unchanged, as the others. A row is one configuration (model
 * version, thread count, batch size) of benchmark `id`; the latencies are
 * per call, in milliseconds, percentiles of every call; host is JSON
 * {cpus, cpu, system, hostname}: a latency means little without the
 * machine it was measured on. */
const char trl__bench_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS benchmarks("
    " id INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " threads INTEGER NOT NULL,"
    " batch BIGINT NOT NULL,"
    " created TEXT NOT NULL,"
    " frame TEXT,"
    " duration REAL NOT NULL,"
    " seconds REAL NOT NULL,"
    " calls BIGINT NOT NULL,"
    " capped INTEGER NOT NULL,"
    " p50_ms REAL,"
    " p90_ms REAL,"
    " p99_ms REAL,"
    " p99_9_ms REAL,"
    " mean_ms REAL,"
    " max_ms REAL,"
    " rows_per_s REAL,"
    " peak_rss_mb REAL,"
    " rss_growth_mb REAL,"
    " host TEXT NOT NULL,"
    " PRIMARY KEY(id, name, version, threads, batch));";

/* The numeric columns a reader may ask for by name, in table order. */
static const char *const stats[] = {
    "duration", "seconds", "calls", "p50_ms", "p90_ms", "p99_ms",
    "p99_9_ms", "mean_ms", "max_ms", "rows_per_s", "peak_rss_mb",
    "rss_growth_mb"};
#define NSTATS (sizeof stats / sizeof *stats)

static int bind_number(sqlite3_stmt *st, int i, const json_t *v)
{
    return json_is_number(v) ? sqlite3_bind_double(st, i,
                                                   json_number_value(v))
                             : sqlite3_bind_null(st, i);
}

/* One row per configuration of a registered model; *kept counts them. */
static int insert_rows(trl_registry *r, const json_t *result,
                       sqlite3_int64 id, const char *now, size_t *kept)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), "INSERT INTO benchmarks "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                           "?)", -1, &st, NULL))
        return -1;
    const char *frame = json_string_value(json_object_get(result, "on"));
    const json_t *host = json_object_get(result, "host");
    size_t i;
    json_t *row;
    int rc = 0;
    json_array_foreach(json_object_get(result, "results"), i, row) {
        const char *ref = json_string_value(json_object_get(row, "ref"));
        trl__model_spec s;
        if (!ref || trl__model_spec_parse(ref, &s, NULL) != 0 ||
            s.version == 0)
            continue;  /* an unregistered model: nowhere to keep it */
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, s.name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, s.version);
        sqlite3_bind_int64(st, 4, json_integer_value(
                                      json_object_get(row, "threads")));
        sqlite3_bind_int64(st, 5, json_integer_value(
                                      json_object_get(row, "batch")));
        sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
        if (frame)
            sqlite3_bind_text(st, 7, frame, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 7);
        bind_number(st, 8, json_object_get(result, "duration"));
        bind_number(st, 9, json_object_get(row, "seconds"));
        sqlite3_bind_int64(st, 10, json_integer_value(
                                       json_object_get(row, "calls")));
        sqlite3_bind_int(st, 11, json_is_true(json_object_get(row,
                                                              "capped")));
        static const char *const cols[] = {
            "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "mean_ms", "max_ms",
            "rows_per_s", "peak_rss_mb", "rss_growth_mb"};
        for (int c = 0; c < 9; c++)
            bind_number(st, 12 + c, json_object_get(row, cols[c]));
        if (trl__db_bind_json(st, 21, host) != 0 ||
            sqlite3_step(st) != SQLITE_DONE) {
            rc = -1;
            break;
        }
        (*kept)++;
    }
    sqlite3_finalize(st);
    return rc;
}

int trl_registry_record_benchmark(trl_registry *r, const json_t *result,
                                  long long *id_out, trl_error *err)
{
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    sqlite3 *db = trl__registry_db(r);
    char now[32];
    trl__now_iso8601(now);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
        return trl__registry_db_error(r, "cannot record the benchmark", err);
    sqlite3_stmt *st = NULL;
    sqlite3_int64 id = 0;
    size_t kept = 0;
    int bad = sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM "
                                 "benchmarks", -1, &st, NULL) ||
              sqlite3_step(st) != SQLITE_ROW;
    if (!bad)
        id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    bad = bad || insert_rows(r, result, id, now, &kept) != 0;
    if (bad) {
        trl__registry_db_error(r, "cannot record the benchmark", err);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return err ? err->code : TRL_EIO;
    }
    if (kept == 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return trl_error_set(err, TRL_EINVAL, "no model in it is registered,"
                             " so there is no version to keep it against");
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) {
        trl__registry_db_error(r, "cannot record the benchmark", err);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return err ? err->code : TRL_EIO;
    }
    if (id_out)
        *id_out = id;
    return 0;
}

/* 1 when the file has the benchmarks table: a read-only file of format
 * 2 has none, and so no benchmarks. */
static int has_table(trl_registry *r)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), "SELECT 1 FROM sqlite_master"
                           " WHERE type = 'table' AND name = 'benchmarks'",
                           -1, &st, NULL))
        return 1;  /* let the query itself report the problem */
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static json_t *column_number(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    double x = sqlite3_column_double(st, i);
    return isfinite(x) ? json_real(x) : json_null();
}

json_t *trl_registry_benchmarks(trl_registry *r, const char *model_spec,
                                trl_error *err)
{
    trl__model_spec s;
    if (trl__model_version_of(r, model_spec, &s, err) != 0)
        return NULL;
    if (!has_table(r))
        return json_array();
    sqlite3_stmt *st;
    if (trl__db_prepare(r, "SELECT id, frame, created, threads, batch, "
                        "duration, seconds, calls, capped, p50_ms, p90_ms, "
                        "p99_ms, p99_9_ms, mean_ms, max_ms, rows_per_s, "
                        "peak_rss_mb, rss_growth_mb, host FROM benchmarks "
                        "WHERE name = ? AND version = ? ORDER BY id, "
                        "threads, batch", &st, err) != 0)
        return NULL;
    sqlite3_bind_text(st, 1, s.name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, s.version);
    char ref[TRL__MODEL_NAME_MAX + 16];
    snprintf(ref, sizeof ref, "%s@%d", s.name, s.version);
    json_t *list = json_array();
    int rc;
    while (list && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *frame = (const char *)sqlite3_column_text(st, 1);
        json_t *e = json_pack(
            "{s:I, s:s, s:s?, s:s, s:I, s:I, s:o, s:o, s:I, s:b}", "id",
            (json_int_t)sqlite3_column_int64(st, 0), "model", ref, "frame",
            frame, "created", (const char *)sqlite3_column_text(st, 2),
            "threads", (json_int_t)sqlite3_column_int64(st, 3), "batch",
            (json_int_t)sqlite3_column_int64(st, 4), "duration",
            column_number(st, 5), "seconds", column_number(st, 6), "calls",
            (json_int_t)sqlite3_column_int64(st, 7), "capped",
            sqlite3_column_int(st, 8));
        static const char *const cols[] = {
            "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "mean_ms", "max_ms",
            "rows_per_s", "peak_rss_mb", "rss_growth_mb"};
        for (int c = 0; e && c < 9; c++)
            json_object_set_new(e, cols[c], column_number(st, 9 + c));
        json_t *host = e ? trl__db_column_json(st, 18) : NULL;
        if (e)
            json_object_set_new(e, "host", host ? host : json_null());
        if (!e || json_array_append_new(list, e) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    if (list && rc != SQLITE_DONE) {
        trl__registry_db_error(r, "cannot read the benchmarks", err);
        json_decref(list);
        list = NULL;
    } else if (!list) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    sqlite3_finalize(st);
    return list;
}

int trl_registry_benchmark_stat(trl_registry *r, const char *model_spec,
                                const char *stat, long long batch,
                                int threads, double *out, trl_error *err)
{
    size_t k = 0;
    while (k < NSTATS && (!stat || strcmp(stat, stats[k]) != 0))
        k++;
    if (k == NSTATS)
        return trl_error_set(err, TRL_EINVAL, "unknown benchmark figure "
                             "'%.60s': use p50_ms, p90_ms, p99_ms, p99_9_ms, "
                             "mean_ms, max_ms, rows_per_s, peak_rss_mb, "
                             "rss_growth_mb, calls, seconds or duration",
                             stat ? stat : "");
    trl__model_spec s;
    if (trl__model_version_of(r, model_spec, &s, err) != 0)
        return err ? err->code : TRL_ENOTFOUND;
    int found = 0;
    if (has_table(r)) {
        char sql[256];
        /* stat is one of the names above, never user text */
        snprintf(sql, sizeof sql, "SELECT %s FROM benchmarks WHERE name = ? "
                 "AND version = ? AND batch = ? AND threads = ? AND %s IS "
                 "NOT NULL ORDER BY id DESC LIMIT 1", stats[k], stats[k]);
        sqlite3_stmt *st;
        if (trl__db_prepare(r, sql, &st, err) != 0)
            return err ? err->code : TRL_EIO;
        sqlite3_bind_text(st, 1, s.name, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, s.version);
        sqlite3_bind_int64(st, 3, batch);
        sqlite3_bind_int(st, 4, threads);
        if ((found = sqlite3_step(st) == SQLITE_ROW))
            *out = sqlite3_column_double(st, 0);
        sqlite3_finalize(st);
    }
    if (!found)
        return trl_error_set(err, TRL_ENOTFOUND, "%s@%d has no benchmark at "
                             "batch %lld with %d thread%s: run %%bench "
                             "%s@%d --on FRAME --batch %lld --threads %d",
                             s.name, s.version, batch, threads,
                             threads == 1 ? "" : "s", s.name, s.version,
                             batch, threads);
    return 0;
}
