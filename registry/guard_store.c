/* guard_store.c - the guard rails in the registry's SQLite file: every
 * %drift and %validate run (which frames, the verdict, the whole result),
 * a row per drifted feature, and the expectation sets saved by name; and
 * the reads a promotion gate makes ("drift(holdout, live) < 0.2",
 * "validate(holdout)"). The tables are format version 4 (store.c runs
 * the migration). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/guard_int.h"

/* Plain tables and types that move to PostgreSQL unchanged, as the other
 * formats. A run's frames are kept twice: `*_frame` the registered
 * version it ran on ("holdout@2", NULL for a working frame) and `*_name`
 * what the user called it (a registry name or a variable), which is what
 * a gate names. */
const char trl__guard_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS drift_runs("
    " id INTEGER NOT NULL,"
    " created TEXT NOT NULL,"
    " ref_frame TEXT,"
    " ref_name TEXT,"
    " new_frame TEXT,"
    " new_name TEXT,"
    " model TEXT,"
    " threshold REAL NOT NULL,"
    " max_psi REAL,"
    " flagged INTEGER NOT NULL,"
    " ok INTEGER NOT NULL,"
    " result TEXT NOT NULL,"
    " PRIMARY KEY(id));"
    "CREATE TABLE IF NOT EXISTS drift_features("
    " run INTEGER NOT NULL,"
    " feature TEXT NOT NULL,"
    " position INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " psi REAL,"
    " ks REAL,"
    " ks_p REAL,"
    " js REAL,"
    " flagged INTEGER NOT NULL,"
    " PRIMARY KEY(run, feature),"
    " FOREIGN KEY(run) REFERENCES drift_runs(id));"
    "CREATE TABLE IF NOT EXISTS validations("
    " id INTEGER NOT NULL,"
    " created TEXT NOT NULL,"
    " frame TEXT,"
    " name TEXT,"
    " against TEXT,"
    " ok INTEGER NOT NULL,"
    " checks INTEGER NOT NULL,"
    " failed INTEGER NOT NULL,"
    " result TEXT NOT NULL,"
    " PRIMARY KEY(id));"
    "CREATE TABLE IF NOT EXISTS expectations("
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " created TEXT NOT NULL,"
    " spec TEXT NOT NULL,"
    " PRIMARY KEY(name, version));";

int trl__guard_tables_missing(trl_registry *r)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), "SELECT 1 FROM sqlite_master "
                           "WHERE type = 'table' AND name = 'drift_runs'",
                           -1, &st, NULL))
        return 1;
    int missing = sqlite3_step(st) != SQLITE_ROW;
    sqlite3_finalize(st);
    return missing;
}

/* ---- small helpers ------------------------------------------------------------ */

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT)
             : sqlite3_bind_null(st, i);
}

static int bind_number(sqlite3_stmt *st, int i, const json_t *v)
{
    return json_is_number(v) ? sqlite3_bind_double(st, i,
                                                   json_number_value(v))
                             : sqlite3_bind_null(st, i);
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Runs a write of several statements as one transaction: body returns
 * 0 or non-zero after a failed step. */
static int in_transaction(trl_registry *r, const char *what,
                          int (*body)(trl_registry *, const json_t *,
                                      sqlite3_int64 *),
                          const json_t *result, long long *id_out,
                          trl_error *err)
{
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    sqlite3 *db = trl__registry_db(r);
    sqlite3_int64 id = 0;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
        return trl__registry_db_error(r, what, err);
    if (body(r, result, &id) != 0 ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) {
        trl__registry_db_error(r, what, err);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return err ? err->code : TRL_EIO;
    }
    if (id_out)
        *id_out = id;
    return 0;
}

/* ---- drift --------------------------------------------------------------------- */

static int insert_drift(trl_registry *r, const json_t *res,
                        sqlite3_int64 *id)
{
    sqlite3 *db = trl__registry_db(r);
    char now[32];
    trl__now_iso8601(now);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO drift_runs SELECT "
                           "COALESCE(MAX(id), 0) + 1, ?, ?, ?, ?, ?, ?, ?, "
                           "?, ?, ?, ? FROM drift_runs", -1, &st, NULL))
        return -1;
    int bad = sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT) ||
              bind_text(st, 2, str(res, "ref")) ||
              bind_text(st, 3, str(res, "ref_name")) ||
              bind_text(st, 4, str(res, "new")) ||
              bind_text(st, 5, str(res, "new_name")) ||
              bind_text(st, 6, str(res, "model")) ||
              bind_number(st, 7, json_object_get(res, "threshold")) ||
              bind_number(st, 8, json_object_get(res, "max_psi")) ||
              sqlite3_bind_int64(st, 9, json_integer_value(
                                            json_object_get(res, "flagged")))
              || sqlite3_bind_int(st, 10, json_is_true(json_object_get(
                                              res, "ok"))) ||
              trl__db_bind_json(st, 11, res) ||
              sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    if (bad)
        return -1;
    *id = sqlite3_last_insert_rowid(db);
    if (sqlite3_prepare_v2(db, "INSERT INTO drift_features VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL))
        return -1;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(res, "features"), i, f) {
        sqlite3_reset(st);
        bad = sqlite3_bind_int64(st, 1, *id) ||
              bind_text(st, 2, str(f, "name")) ||
              sqlite3_bind_int64(st, 3, (sqlite3_int64)i) ||
              bind_text(st, 4, str(f, "kind")) ||
              bind_number(st, 5, json_object_get(f, "psi")) ||
              bind_number(st, 6, json_object_get(f, "ks")) ||
              bind_number(st, 7, json_object_get(f, "ks_p")) ||
              bind_number(st, 8, json_object_get(f, "js")) ||
              sqlite3_bind_int(st, 9, json_is_true(json_object_get(
                                          f, "flagged"))) ||
              sqlite3_step(st) != SQLITE_DONE;
        if (bad)
            break;
    }
    sqlite3_finalize(st);
    return bad ? -1 : 0;
}

int trl_registry_record_drift(trl_registry *r, const json_t *result,
                              long long *id_out, trl_error *err)
{
    return in_transaction(r, "cannot record the drift", insert_drift,
                          result, id_out, err);
}

/* ---- validation ---------------------------------------------------------------- */

static int insert_validation(trl_registry *r, const json_t *res,
                             sqlite3_int64 *id)
{
    sqlite3 *db = trl__registry_db(r);
    char now[32];
    trl__now_iso8601(now);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO validations SELECT "
                           "COALESCE(MAX(id), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ? "
                           "FROM validations", -1, &st, NULL))
        return -1;
    json_int_t passed = json_integer_value(json_object_get(res, "passed"));
    json_int_t failed = json_integer_value(json_object_get(res, "failed"));
    int bad = sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT) ||
              bind_text(st, 2, str(res, "frame")) ||
              bind_text(st, 3, str(res, "name")) ||
              bind_text(st, 4, str(res, "against")) ||
              sqlite3_bind_int(st, 5, json_is_true(json_object_get(res,
                                                                   "ok"))) ||
              sqlite3_bind_int64(st, 6, passed + failed) ||
              sqlite3_bind_int64(st, 7, failed) ||
              trl__db_bind_json(st, 8, res) ||
              sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    *id = sqlite3_last_insert_rowid(db);
    return bad ? -1 : 0;
}

int trl_registry_record_validation(trl_registry *r, const json_t *result,
                                   long long *id_out, trl_error *err)
{
    return in_transaction(r, "cannot record the validation",
                          insert_validation, result, id_out, err);
}

/* ---- what gates read -------------------------------------------------------------- */

/* SQL matching a frame spec (parameter ?N) against a run's frame and
 * name columns: "name@N" that version (or what the user typed), "name"
 * any version of it, or a working frame called so. */
#define MATCH(frame, name, p)                                              \
    "(" frame " = ?" p " OR " name " = ?" p " OR (instr(?" p ", '@') = 0" \
    " AND substr(" frame ", 1, length(?" p ") + 1) = ?" p " || '@'))"

/* TRL_ENOTFOUND with what to run, or the database's error. */
static int none_recorded(trl_registry *r, const char *what, trl_error *err)
{
    return trl_error_set(err, TRL_ENOTFOUND, "%s is recorded%s", what,
                         trl__guard_tables_missing(r)
                             ? " (this registry file is read-only and "
                               "older than drift and validation records)"
                             : "");
}

int trl_registry_latest_drift(trl_registry *r, const char *ref_spec,
                              const char *new_spec, const char *feature,
                              double *max_psi_out, trl_error *err)
{
    if (!r || !ref_spec || !new_spec)
        return trl_error_set(err, TRL_EINVAL, "drift evidence needs a "
                             "registry and two frames");
    char what[700];
    if (feature)
        snprintf(what, sizeof what, "no %%drift of %.100s against %.100s "
                 "with feature '%.100s'", ref_spec, new_spec, feature);
    else
        snprintf(what, sizeof what, "no %%drift of %.100s against %.100s "
                 "(run %%drift %.100s %.100s)", ref_spec, new_spec,
                 ref_spec, new_spec);
    const char *sql =
        feature ? "SELECT f.psi FROM drift_features f JOIN drift_runs r ON "
                  "f.run = r.id WHERE " MATCH("r.ref_frame", "r.ref_name",
                                              "1")
                  " AND " MATCH("r.new_frame", "r.new_name", "2")
                  " AND f.feature = ?3 ORDER BY r.id DESC LIMIT 1"
                : "SELECT max_psi FROM drift_runs WHERE "
                  MATCH("ref_frame", "ref_name", "1")
                  " AND " MATCH("new_frame", "new_name", "2")
                  " AND model IS NULL ORDER BY id DESC LIMIT 1";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), sql, -1, &st, NULL))
        return trl__guard_tables_missing(r)
                   ? none_recorded(r, what, err)
                   : trl__registry_db_error(r, "cannot read", err);
    sqlite3_bind_text(st, 1, ref_spec, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, new_spec, -1, SQLITE_STATIC);
    if (feature)
        sqlite3_bind_text(st, 3, feature, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *max_psi_out = sqlite3_column_type(st, 0) == SQLITE_NULL
                           ? NAN : sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? none_recorded(r, what, err)
                             : trl__registry_db_error(r, "cannot read", err);
}

int trl_registry_latest_validation(trl_registry *r, const char *frame_spec,
                                   int *ok_out, trl_error *err)
{
    if (!r || !frame_spec)
        return trl_error_set(err, TRL_EINVAL, "validation evidence needs a "
                             "registry and a frame");
    char what[300];
    snprintf(what, sizeof what, "no %%validate of %.100s (run %%validate "
             "%.100s --against REF or --schema NAME)", frame_spec,
             frame_spec);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), "SELECT ok FROM validations "
                           "WHERE " MATCH("frame", "name", "1")
                           " ORDER BY id DESC LIMIT 1", -1, &st, NULL))
        return trl__guard_tables_missing(r)
                   ? none_recorded(r, what, err)
                   : trl__registry_db_error(r, "cannot read", err);
    sqlite3_bind_text(st, 1, frame_spec, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ok_out = sqlite3_column_int(st, 0) != 0;
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? none_recorded(r, what, err)
                             : trl__registry_db_error(r, "cannot read", err);
}

/* ---- expectation sets ---------------------------------------------------------------- */

/* "name" or "name@N" into name and *version (0: latest). */
static int split_spec(const char *spec, char name[129], int *version,
                      trl_error *err)
{
    const char *at = spec ? strchr(spec, '@') : NULL;
    size_t len = spec ? (at ? (size_t)(at - spec) : strlen(spec)) : 0;
    if (!spec || !trl__registry_valid_name(spec, len))
        return trl_error_set(err, TRL_EINVAL, "'%.100s' is not an "
                             "expectation set: name one as 'churn' or "
                             "'churn@2' (letters, digits and _)",
                             spec ? spec : "");
    memcpy(name, spec, len);
    name[len] = '\0';
    *version = 0;
    if (!at)
        return 0;
    char *end;
    long v = strtol(at + 1, &end, 10);
    if (!at[1] || *end || v < 1 || v > INT_MAX)
        return trl_error_set(err, TRL_EINVAL, "'%.100s': the version after "
                             "'@' must be a number from 1 (as in '%s@2')",
                             spec, name);
    *version = (int)v;
    return 0;
}

int trl_registry_save_expectations(trl_registry *r, const char *name,
                                   const json_t *spec, int *version_out,
                                   trl_error *err)
{
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    if (!name || !trl__registry_valid_name(name, strlen(name)))
        return trl_error_set(err, TRL_EINVAL, "'%.100s' is not a valid "
                             "expectation set name: use letters, digits "
                             "and _, not starting with a digit",
                             name ? name : "");
    if (trl_validate_spec_check(spec, err) != 0)
        return err->code;
    sqlite3 *db = trl__registry_db(r);
    char now[32];
    trl__now_iso8601(now);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
        return trl__registry_db_error(r, "cannot save the expectations", err);
    sqlite3_stmt *st = NULL;
    int bad = sqlite3_prepare_v2(db, "INSERT INTO expectations SELECT ?, "
                                 "COALESCE(MAX(version), 0) + 1, ?, ? FROM "
                                 "expectations WHERE name = ?", -1, &st,
                                 NULL);
    if (!bad)
        bad = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) ||
              sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC) ||
              trl__db_bind_json(st, 3, spec) ||
              sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC) ||
              sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    st = NULL;
    int version = 0;
    if (!bad && !(bad = sqlite3_prepare_v2(db, "SELECT MAX(version) FROM "
                                           "expectations WHERE name = ?", -1,
                                           &st, NULL))) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        bad = sqlite3_step(st) != SQLITE_ROW;
        version = bad ? 0 : sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    if (bad || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) {
        trl__registry_db_error(r, "cannot save the expectations", err);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return err ? err->code : TRL_EIO;
    }
    if (version_out)
        *version_out = version;
    return 0;
}

/* "no expectation set 'x' (saved: a, b)" or "... has versions 1..3". */
static void set_not_found(trl_registry *r, const char *name, int version,
                          trl_error *err)
{
    char names[300] = "";
    size_t used = 0;
    int latest = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), "SELECT name, MAX(version) "
                           "FROM expectations GROUP BY name ORDER BY name",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *n = (const char *)sqlite3_column_text(st, 0);
            if (n && strcmp(n, name) == 0)
                latest = sqlite3_column_int(st, 1);
            if (n && used + strlen(n) + 8 < sizeof names)
                used += (size_t)snprintf(names + used, sizeof names - used,
                                         "%s%s", used ? ", " : "", n);
        }
        sqlite3_finalize(st);
    }
    if (latest)
        trl_error_set(err, TRL_ENOTFOUND, "expectation set '%s' has "
                      "versions 1..%d, not %d", name, latest, version);
    else if (names[0])
        trl_error_set(err, TRL_ENOTFOUND, "no expectation set '%s' (saved: "
                      "%s)", name, names);
    else
        trl_error_set(err, TRL_ENOTFOUND, "no expectation set '%s' (none "
                      "saved yet: validate.save(name, spec) saves one)",
                      name);
}

json_t *trl_registry_get_expectations(trl_registry *r, const char *spec,
                                      char **ref_out, trl_error *err)
{
    char name[129];
    int version = 0;
    if (!r) {
        trl_error_set(err, TRL_EINVAL, "no registry");
        return NULL;
    }
    if (split_spec(spec, name, &version, err) != 0)
        return NULL;
    sqlite3_stmt *st;
    if (trl__db_prepare(r, version ? "SELECT spec, version FROM expectations "
                                     "WHERE name = ? AND version = ?"
                                   : "SELECT spec, version FROM expectations "
                                     "WHERE name = ? ORDER BY version DESC "
                                     "LIMIT 1", &st, err) != 0) {
        if (trl__guard_tables_missing(r))
            set_not_found(r, name, version, err);
        return NULL;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (version)
        sqlite3_bind_int(st, 2, version);
    json_t *out = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out = trl__db_column_json(st, 0);
        int v = sqlite3_column_int(st, 1);
        if (out && ref_out) {
            size_t n = strlen(name) + 16;
            if ((*ref_out = malloc(n)))
                snprintf(*ref_out, n, "%s@%d", name, v);
        }
        if (!out || (ref_out && !*ref_out)) {
            json_decref(out);
            out = NULL;
            trl_error_set(err, TRL_ENOMEM, "out of memory");
        }
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        set_not_found(r, name, version, err);
    else if (rc != SQLITE_ROW)
        trl__registry_db_error(r, "cannot read", err);
    return out;
}
