/* importance_store.c - feature importances kept in the registry's SQLite
 * file against each model version (format version 5), and read back: a
 * version's runs, and each version's latest run side by side, which is how
 * a feature's importance is followed from version to version. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "trellis/importance.h"
#include "registry/model_int.h"
#include "registry/registry_int.h"

/* Format version 5 (see store.c): plain tables and types that move to
 * PostgreSQL unchanged, as the others. A run is one row of importances,
 * with its result whole (JSON); importance_values has one row per feature
 * of it, so a gate or a query can ask for one feature's importance
 * without parsing JSON. rank is 1 for the most important. */
const char trl__importance_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS importances("
    " id INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " created TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    " metric TEXT,"
    " frame TEXT,"
    " nrows BIGINT,"
    " repeats INTEGER,"
    " seed BIGINT,"
    " baseline REAL,"
    " result TEXT NOT NULL,"
    " PRIMARY KEY(id));"
    "CREATE TABLE IF NOT EXISTS importance_values("
    " id INTEGER NOT NULL,"
    " feature TEXT NOT NULL,"
    " rank INTEGER NOT NULL,"
    " value REAL,"
    " std REAL,"
    " PRIMARY KEY(id, feature));";

/* 1 when the file has the importance tables: a read-only file of an
 * older format has none, and so no importances. */
static int has_tables(trl_registry *r)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), "SELECT count(*) FROM "
                           "sqlite_master WHERE type = 'table' AND name IN "
                           "('importances', 'importance_values')", -1, &st,
                           NULL))
        return 1;  /* let the query itself report the problem */
    int found = sqlite3_step(st) == SQLITE_ROW &&
                sqlite3_column_int(st, 0) == 2;
    sqlite3_finalize(st);
    return found;
}

/* ---- recording ------------------------------------------------------------------ */

static int bind_number(sqlite3_stmt *st, int i, const json_t *v)
{
    return json_is_number(v) ? sqlite3_bind_double(st, i,
                                                   json_number_value(v))
                             : sqlite3_bind_null(st, i);
}

static int bind_text(sqlite3_stmt *st, int i, const json_t *v)
{
    return json_is_string(v) ? sqlite3_bind_text(st, i, json_string_value(v),
                                                 -1, SQLITE_STATIC)
                             : sqlite3_bind_null(st, i);
}

static int bind_int(sqlite3_stmt *st, int i, const json_t *v)
{
    return json_is_integer(v) ? sqlite3_bind_int64(st, i,
                                                   json_integer_value(v))
                              : sqlite3_bind_null(st, i);
}

static int insert_run(sqlite3 *db, const trl__model_spec *s,
                      sqlite3_int64 id, const char *now,
                      const json_t *result)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO importances VALUES "
                           "(?,?,?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL))
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, s->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, s->version);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    bind_text(st, 5, json_object_get(result, "method"));
    bind_text(st, 6, json_object_get(result, "metric"));
    bind_text(st, 7, json_object_get(result, "on"));
    bind_int(st, 8, json_object_get(result, "rows"));
    bind_int(st, 9, json_object_get(result, "repeats"));
    bind_int(st, 10, json_object_get(result, "seed"));
    bind_number(st, 11, json_object_get(result, "baseline"));
    int bad = trl__db_bind_json(st, 12, result) ||
              sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    if (bad)
        return -1;
    if (sqlite3_prepare_v2(db, "INSERT INTO importance_values VALUES "
                           "(?,?,?,?,?)", -1, &st, NULL))
        return -1;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(result, "features"), i, f) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, json_object_get(f, "feature"));
        sqlite3_bind_int64(st, 3, (sqlite3_int64)i + 1);
        bind_number(st, 4, json_object_get(f, "value"));
        bind_number(st, 5, json_object_get(f, "std"));
        if ((bad = sqlite3_step(st) != SQLITE_DONE))
            break;
    }
    sqlite3_finalize(st);
    return bad ? -1 : 0;
}

int trl_registry_record_importance(trl_registry *r, const json_t *result,
                                   long long *id_out, trl_error *err)
{
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    const char *ref = json_string_value(json_object_get(result, "model"));
    trl__model_spec s;
    if (!ref || trl__model_spec_parse(ref, &s, NULL) != 0 || s.version == 0)
        return trl_error_set(err, TRL_EINVAL, "the model is not registered,"
                             " so there is no version to keep it against");
    if (!json_is_string(json_object_get(result, "method")))
        return trl_error_set(err, TRL_EINVAL, "not an importance result");
    sqlite3 *db = trl__registry_db(r);
    char now[32];
    trl__now_iso8601(now);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
        return trl__registry_db_error(r, "cannot record the importance",
                                      err);
    sqlite3_stmt *st = NULL;
    sqlite3_int64 id = 0;
    int bad = sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM "
                                 "importances", -1, &st, NULL) ||
              sqlite3_step(st) != SQLITE_ROW;
    if (!bad)
        id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    bad = bad || insert_run(db, &s, id, now, result) != 0 ||
          sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (bad) {
        trl__registry_db_error(r, "cannot record the importance", err);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return err ? err->code : TRL_EIO;
    }
    if (id_out)
        *id_out = id;
    return 0;
}

/* ---- reading ---------------------------------------------------------------------- */

/* The stored result of the row, with its id and created added. */
static json_t *run_of(sqlite3_stmt *st, int id_col, int created_col,
                      int result_col)
{
    json_t *o = trl__db_column_json(st, result_col);
    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "id", json_integer(
                                     sqlite3_column_int64(st, id_col)));
    json_object_set_new(o, "created", json_string(
        (const char *)sqlite3_column_text(st, created_col)));
    return o;
}

json_t *trl_registry_importances(trl_registry *r, const char *model_spec,
                                 trl_error *err)
{
    trl__model_spec s;
    if (trl__model_version_of(r, model_spec, &s, err) != 0)
        return NULL;
    if (!has_tables(r))
        return json_array();
    sqlite3_stmt *st;
    if (trl__db_prepare(r, "SELECT id, created, result FROM importances "
                        "WHERE name = ? AND version = ? ORDER BY id", &st,
                        err) != 0)
        return NULL;
    sqlite3_bind_text(st, 1, s.name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, s.version);
    json_t *list = json_array();
    int rc;
    while (list && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = run_of(st, 0, 1, 2);
        if (!o || json_array_append_new(list, o) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    if (list && rc != SQLITE_DONE) {
        trl__registry_db_error(r, "cannot read the importances", err);
        json_decref(list);
        list = NULL;
    } else if (!list) {
        trl_error_set(err, TRL_ENOMEM, "out of memory (or a damaged "
                      "importance record)");
    }
    sqlite3_finalize(st);
    return list;
}

/* ---- history ------------------------------------------------------------------------ */

/* The method and metric of the model's latest run (of method, when
 * given): malloc'd into *method and *metric (NULL when it has none). 0,
 * TRL_ENOTFOUND when there is no such run, or an error code. */
static int latest_kind(trl_registry *r, const char *name, const char *method,
                       char **method_out, char **metric_out, trl_error *err)
{
    sqlite3_stmt *st;
    *method_out = *metric_out = NULL;
    if (trl__db_prepare(r, "SELECT method, metric FROM importances WHERE "
                        "name = ?1 AND (?2 IS NULL OR method = ?2) ORDER BY "
                        "id DESC LIMIT 1", &st, err) != 0)
        return err ? err->code : TRL_EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (method)
        sqlite3_bind_text(st, 2, method, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);
        const char *k = (const char *)sqlite3_column_text(st, 1);
        *method_out = m ? strdup(m) : NULL;
        *metric_out = k ? strdup(k) : NULL;
        rc = !*method_out || (k && !*metric_out)
                 ? trl_error_set(err, TRL_ENOMEM, "out of memory") : 0;
    } else if (rc == SQLITE_DONE) {
        rc = TRL_ENOTFOUND;
    } else {
        rc = trl__registry_db_error(r, "cannot read the importances", err);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Index of feature name among out's features, adding it (with nv nulls)
 * when new; -1 when out of memory. */
static long feature_row(json_t *features, const char *name, size_t nv)
{
    size_t i;
    json_t *f;
    json_array_foreach(features, i, f)
        if (strcmp(json_string_value(json_object_get(f, "feature")), name) ==
            0)
            return (long)i;
    json_t *values = json_array();
    for (size_t k = 0; values && k < nv; k++)
        json_array_append_new(values, json_null());
    json_t *row = values ? json_pack("{s:s, s:o}", "feature", name, "values",
                                     values)
                         : NULL;
    if (!row || json_array_append_new(features, row) != 0)
        return -1;
    return (long)json_array_size(features) - 1;
}

/* Fills the features of the history from each version's result (runs,
 * oldest first): the newest version's features first, in its order. */
static int gather(json_t *runs, json_t *features)
{
    size_t nv = json_array_size(runs);
    for (size_t v = nv; v-- > 0;) {
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(json_array_get(runs, v),
                                           "features"), i, f) {
            const char *name = json_string_value(json_object_get(f,
                                                                 "feature"));
            long row = name ? feature_row(features, name, nv) : -1;
            if (row < 0)
                return -1;
            json_t *value = json_object_get(f, "value");
            json_array_set(json_object_get(json_array_get(features,
                                                          (size_t)row),
                                           "values"),
                           v, json_is_number(value) ? value : json_null());
        }
    }
    return 0;
}

json_t *trl_registry_importance_history(trl_registry *r, const char *name,
                                        const char *method,
                                        const char *metric, trl_error *err)
{
    trl__model_spec s;
    if (trl__model_version_of(r, name, &s, err) != 0)
        return NULL;
    char *m = NULL, *k = NULL;
    int rc = has_tables(r) ? latest_kind(r, s.name, method, &m, &k, err)
                           : TRL_ENOTFOUND;
    if (rc == TRL_ENOTFOUND) {
        trl_error_set(err, TRL_ENOTFOUND, "no version of %s has a recorded "
                      "%s importance: run %%importance %s%s%s", s.name,
                      method ? method : "feature", s.name,
                      method ? " --method " : "", method ? method : "");
        return NULL;
    }
    if (rc != 0)
        return NULL;
    if (strcmp(m, "permutation") == 0 && metric) {
        free(k);
        k = strdup(metric);
    } else if (strcmp(m, "permutation") != 0) {
        free(k);
        k = NULL;
    }
    sqlite3_stmt *st = NULL;
    json_t *out = NULL, *runs = json_array(), *versions = json_array();
    json_t *features = json_array();
    if (!runs || !versions || !features ||
        (strcmp(m, "permutation") == 0 && !k)) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto done;
    }
    /* each version's latest run of this method (and metric) */
    if (trl__db_prepare(r, "SELECT i.version, i.id, i.created, i.frame, "
                        "i.nrows, i.result FROM importances i WHERE i.name "
                        "= ?1 AND i.method = ?2 AND i.metric IS ?3 AND i.id "
                        "= (SELECT MAX(j.id) FROM importances j WHERE j.name "
                        "= i.name AND j.version = i.version AND j.method = "
                        "i.method AND j.metric IS i.metric) ORDER BY "
                        "i.version", &st, err) != 0)
        goto done;
    sqlite3_bind_text(st, 1, s.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m, -1, SQLITE_STATIC);
    if (k)
        sqlite3_bind_text(st, 3, k, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int version = sqlite3_column_int(st, 0);
        char ref[TRL__MODEL_NAME_MAX + 16];
        snprintf(ref, sizeof ref, "%s@%d", s.name, version);
        const char *frame = (const char *)sqlite3_column_text(st, 3);
        json_t *run = run_of(st, 1, 2, 5);
        json_t *v = json_pack("{s:i, s:s, s:I, s:s, s:s?, s:o}", "version",
                              version, "ref", ref, "id",
                              (json_int_t)sqlite3_column_int64(st, 1),
                              "created",
                              (const char *)sqlite3_column_text(st, 2), "on",
                              frame, "rows",
                              sqlite3_column_type(st, 4) == SQLITE_NULL
                                  ? json_null()
                                  : json_integer(sqlite3_column_int64(st,
                                                                      4)));
        int bad = !run || !v;
        if (bad) {
            json_decref(run);
            json_decref(v);
        } else {
            /* each steals its value, on failure too */
            bad = json_array_append_new(runs, run) != 0;
            bad = json_array_append_new(versions, v) != 0 || bad;
        }
        if (bad) {
            trl_error_set(err, TRL_ENOMEM, "out of memory (or a damaged "
                          "importance record)");
            goto done;
        }
    }
    if (step != SQLITE_DONE) {
        trl__registry_db_error(r, "cannot read the importances", err);
        goto done;
    }
    if (json_array_size(runs) == 0) {
        trl_error_set(err, TRL_ENOTFOUND, "no version of %s has a recorded "
                      "%s importance%s%s: run %%importance %s --method %s%s%s",
                      s.name, m, k ? " on " : "", k ? k : "", s.name, m,
                      k ? " --metric " : "", k ? k : "");
        goto done;
    }
    if (gather(runs, features) != 0) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto done;
    }
    out = json_pack("{s:s, s:s, s:s?, s:O, s:O}", "model", s.name, "method",
                    m, "metric", k, "versions", versions, "features",
                    features);
    if (!out)
        trl_error_set(err, TRL_ENOMEM, "out of memory");
done:
    sqlite3_finalize(st);
    json_decref(runs);
    json_decref(versions);
    json_decref(features);
    free(m);
    free(k);
    return out;
}
