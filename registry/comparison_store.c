/* comparison_store.c - what compare leaves in the registry's SQLite file
 * and what it reads back from it: each comparison whole, each registered
 * model's value of each metric in it (model_metrics, the evidence
 * promotion gates will read), and the source of business metrics, so a
 * restarted kernel can still compare with them. The tables are in
 * model_store.c's schema; models themselves are model_store.c. */
#include <string.h>

#include "registry/model_int.h"
#include "registry/registry_int.h"

/* ---- comparisons ------------------------------------------------------------ */

static int bind_number(sqlite3_stmt *st, int i, const json_t *v)
{
    return json_is_number(v) ? sqlite3_bind_double(st, i,
                                                   json_number_value(v))
                             : sqlite3_bind_null(st, i);
}

/* One model_metrics row per metric of the registered model at index k. */
static int record_metrics(trl_registry *r, const json_t *result, size_t k,
                          sqlite3_int64 id, const char *now)
{
    const char *ref = json_string_value(json_array_get(
        json_object_get(result, "models"), k));
    trl__model_spec s;
    if (!ref || trl__model_spec_parse(ref, &s, NULL) != 0 || s.version == 0)
        return 0;  /* an unregistered model has nowhere to keep them */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), "INSERT OR REPLACE INTO "
                           "model_metrics VALUES (?,?,?,?,?,?,?,?,?,?)", -1,
                           &st, NULL))
        return -1;
    size_t i;
    json_t *m;
    int rc = 0;
    json_array_foreach(json_object_get(result, "metrics"), i, m) {
        json_t *cell = json_array_get(json_object_get(m, "cells"), k);
        const char *frame = json_string_value(json_object_get(result, "on"));
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, s.name, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, s.version);
        sqlite3_bind_int64(st, 3, id);
        if (frame)
            sqlite3_bind_text(st, 4, frame, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 4);
        sqlite3_bind_text(st, 5, json_string_value(json_object_get(m,
                                                                   "name")),
                          -1, SQLITE_STATIC);
        bind_number(st, 6, json_object_get(cell, "value"));
        bind_number(st, 7, json_object_get(cell, "lo"));
        bind_number(st, 8, json_object_get(cell, "hi"));
        sqlite3_bind_int64(st, 9, json_integer_value(
                                      json_object_get(result, "resamples")));
        sqlite3_bind_text(st, 10, now, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = -1;
            break;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int trl_registry_record_comparison(trl_registry *r, const json_t *result,
                                   long long *id_out, trl_error *err)
{
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    sqlite3 *db = trl__registry_db(r);
    char now[32];
    trl__now_iso8601(now);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
        return trl__registry_db_error(r, "cannot record the comparison",
                                      err);
    sqlite3_stmt *st = NULL;
    sqlite3_int64 id = 0;
    int bad = sqlite3_prepare_v2(db, "INSERT INTO comparisons SELECT "
                                 "COALESCE(MAX(id), 0) + 1, ?, ?, ?, ? FROM "
                                 "comparisons", -1, &st, NULL);
    if (!bad) {
        const char *frame = json_string_value(json_object_get(result, "on"));
        sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
        if (frame)
            sqlite3_bind_text(st, 2, frame, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 2);
        bad = trl__db_bind_json(st, 3, json_object_get(result, "models")) ||
              trl__db_bind_json(st, 4, result) ||
              sqlite3_step(st) != SQLITE_DONE;
        id = sqlite3_last_insert_rowid(db);
    }
    sqlite3_finalize(st);
    size_t n = json_array_size(json_object_get(result, "models"));
    for (size_t k = 0; !bad && k < n; k++)
        bad = record_metrics(r, result, k, id, now) != 0;
    if (bad || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) {
        trl__registry_db_error(r, "cannot record the comparison", err);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return err ? err->code : TRL_EIO;
    }
    if (id_out)
        *id_out = id;
    return 0;
}

/* ---- business metrics ------------------------------------------------------------ */

int trl_registry_define_metric(trl_registry *r, const char *name,
                               const char *source, int higher_is_better,
                               const json_t *columns, trl_error *err)
{
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    if (!name || !trl__registry_valid_name(name, strlen(name)))
        return trl_error_set(err, TRL_EINVAL, "'%.100s' is not a valid "
                             "metric name: use letters, digits and _",
                             name ? name : "");
    char now[32];
    trl__now_iso8601(now);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), "INSERT OR REPLACE INTO "
                           "business_metrics VALUES (?, ?, ?, ?, ?)", -1, &st,
                           NULL))
        return trl__registry_db_error(r, "cannot define the metric", err);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, higher_is_better != 0);
    json_t *none = columns ? NULL : json_array();
    int bad = trl__db_bind_json(st, 4, columns ? columns : none);
    json_decref(none);
    sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
    bad = bad || sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    if (bad)
        return trl__registry_db_error(r, "cannot define the metric", err);
    return 0;
}

json_t *trl_registry_get_metric(trl_registry *r, const char *name,
                                trl_error *err)
{
    sqlite3_stmt *st;
    if (!r || trl__db_prepare(r, "SELECT source, higher_is_better, columns "
                              "FROM business_metrics WHERE name = ?", &st,
                              err) != 0)
        return NULL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    json_t *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        out = json_pack("{s:s, s:b, s:o?}", "source",
                        (const char *)sqlite3_column_text(st, 0),
                        "higher_is_better", sqlite3_column_int(st, 1),
                        "columns", trl__db_column_json(st, 2));
    else
        trl_error_set(err, TRL_ENOTFOUND, "no metric '%s'", name);
    sqlite3_finalize(st);
    return out;
}
