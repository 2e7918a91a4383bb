/* audit_store.c - the audit log of promotions in the registry's SQLite
 * file (format 5): one row per attempt that reached its gates - who,
 * from where, when, which version from which stage to which, every gate
 * with its outcome and values, the outcome, any override and its reason
 * - and a model's history read back: its stage changes and its
 * attempts. Rows are only ever appended. */
#include <stdio.h>
#include <string.h>

#include "registry/gate_int.h"
#include "registry/model_int.h"
#include "registry/registry_int.h"

/* Format version 5 (see store.c). As there, plain tables and types that
 * move to PostgreSQL unchanged; gates is the promotion's gate list as
 * JSON text. production is the version that held production when the
 * gates ran (what 'production' in them read). */
const char trl__audit_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS promotions("
    " id INTEGER NOT NULL,"
    " created TEXT NOT NULL,"
    " who TEXT NOT NULL,"
    " host TEXT NOT NULL,"
    " pid INTEGER NOT NULL,"
    " session TEXT,"
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " from_stage TEXT NOT NULL,"
    " to_stage TEXT NOT NULL,"
    " production TEXT,"
    " outcome TEXT NOT NULL,"
    " forced INTEGER NOT NULL,"
    " reason TEXT,"
    " gates TEXT NOT NULL,"
    " note TEXT,"
    " archived TEXT,"
    " message TEXT NOT NULL,"
    " PRIMARY KEY(id));";

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int bind_str(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT)
             : sqlite3_bind_null(st, i);
}

int trl__audit_append(trl_registry *r, const json_t *res, long long *id_out)
{
    sqlite3 *db = trl__registry_db(r);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO promotions SELECT "
                           "COALESCE(MAX(id), 0) + 1, ?, ?, ?, ?, ?, ?, ?, "
                           "?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM promotions",
                           -1, &st, NULL))
        return -1;
    int bad = bind_str(st, 1, str(res, "when")) ||
              bind_str(st, 2, str(res, "who")) ||
              bind_str(st, 3, str(res, "host")) ||
              sqlite3_bind_int64(st, 4, json_integer_value(
                                            json_object_get(res, "pid"))) ||
              bind_str(st, 5, str(res, "session")) ||
              bind_str(st, 6, str(res, "name")) ||
              sqlite3_bind_int64(st, 7, json_integer_value(json_object_get(
                                            res, "version"))) ||
              bind_str(st, 8, str(res, "from")) ||
              bind_str(st, 9, str(res, "to")) ||
              bind_str(st, 10, str(res, "production")) ||
              bind_str(st, 11, str(res, "outcome")) ||
              sqlite3_bind_int(st, 12, json_is_true(json_object_get(
                                           res, "forced"))) ||
              bind_str(st, 13, str(res, "reason")) ||
              trl__db_bind_json(st, 14, json_object_get(res, "gates")) ||
              bind_str(st, 15, str(res, "note")) ||
              bind_str(st, 16, str(res, "archived")) ||
              bind_str(st, 17, str(res, "message")) ||
              sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    if (bad)
        return -1;
    *id_out = (long long)sqlite3_last_insert_rowid(db);
    return 0;
}

/* ---- reading ------------------------------------------------------------------ */

static json_t *text_or_null(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? json_string(s) : json_null();
}

static json_t *stage_row(sqlite3_stmt *st)
{
    return json_pack("{s:I, s:I, s:o, s:o}", "seq",
                     (json_int_t)sqlite3_column_int64(st, 0), "version",
                     (json_int_t)sqlite3_column_int64(st, 1), "stage",
                     text_or_null(st, 2), "changed", text_or_null(st, 3));
}

static json_t *promotion_row(sqlite3_stmt *st)
{
    static const char *const keys[] = {
        "when", "who", "host", NULL, "session", "name", NULL, "from",
        "to", "production", "outcome", NULL, "reason", NULL, "note",
        "archived", "message"};
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
    for (int i = 0; i < 17; i++)
        if (keys[i])
            json_object_set_new(o, keys[i], text_or_null(st, i + 1));
    json_object_set_new(o, "pid", json_integer(sqlite3_column_int64(st, 4)));
    json_object_set_new(o, "version",
                        json_integer(sqlite3_column_int64(st, 7)));
    json_object_set_new(o, "forced",
                        json_boolean(sqlite3_column_int(st, 12)));
    json_t *gates = trl__db_column_json(st, 14);
    json_object_set_new(o, "gates", gates ? gates : json_array());
    /* "model" as everywhere else: name@N */
    char ref[TRL_GATE_REF_MAX + 16];
    snprintf(ref, sizeof ref, "%s@%lld",
             (const char *)sqlite3_column_text(st, 6),
             (long long)sqlite3_column_int64(st, 7));
    json_object_set_new(o, "model", json_string(ref));
    return o;
}

static int has_log(trl_registry *r)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), "SELECT 1 FROM sqlite_master "
                           "WHERE type = 'table' AND name = 'promotions'",
                           -1, &st, NULL))
        return 0;
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

/* Rows of sql (with ?1 = name) through row(): a new array, or NULL. */
static json_t *rows(trl_registry *r, const char *sql, const char *name,
                    json_t *(*row)(sqlite3_stmt *), trl_error *err)
{
    sqlite3_stmt *st;
    json_t *list = json_array();
    if (!list || trl__db_prepare(r, sql, &st, err) != 0) {
        if (!list)
            trl_error_set(err, TRL_ENOMEM, "out of memory");
        json_decref(list);
        return NULL;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *e = row(st);
        if (!e || json_array_append_new(list, e) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return list;
    json_decref(list);
    if (rc == SQLITE_NOMEM)
        trl_error_set(err, TRL_ENOMEM, "out of memory");
    else
        trl__registry_db_error(r, "cannot read the model's history", err);
    return NULL;
}

json_t *trl_registry_model_history(trl_registry *r, const char *name,
                                   trl_error *err)
{
    if (!r) {
        trl_error_set(err, TRL_EINVAL, "no registry");
        return NULL;
    }
    if (trl_model_name_check(name, err) != 0)
        return NULL;
    json_t *stages = rows(r, "SELECT seq, version, stage, changed FROM "
                          "model_stages WHERE name = ?1 ORDER BY seq", name,
                          stage_row, err);
    if (!stages)
        return NULL;
    if (json_array_size(stages) == 0) {
        json_decref(stages);
        trl_error_set(err, TRL_ENOTFOUND, "no model '%s' (%%models lists "
                      "the registered ones)", name);
        return NULL;
    }
    /* an older read-only file has no log: no promotions yet */
    json_t *log = has_log(r)
                      ? rows(r, "SELECT id, created, who, host, pid, "
                             "session, name, version, from_stage, "
                             "to_stage, production, outcome, forced, "
                             "reason, gates, note, archived, message FROM "
                             "promotions WHERE name = ?1 ORDER BY id",
                             name, promotion_row, err)
                      : json_array();
    if (!log) {
        json_decref(stages);
        return NULL;
    }
    json_t *out = json_pack("{s:s, s:o, s:o}", "name", name, "stages",
                            stages, "promotions", log);
    if (!out)
        trl_error_set(err, TRL_ENOMEM, "out of memory");
    return out;
}
