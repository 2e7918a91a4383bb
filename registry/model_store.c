/* model_store.c - models in the registry's SQLite file: one row per
 * version with its metadata as JSON text and the library's artifact as a
 * BLOB, the stage each version holds, and every stage change. The schema
 * below also has the tables comparison_store.c writes (comparisons,
 * model_metrics, business_metrics): format version 2 is one unit. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "registry/model_int.h"
#include "registry/registry_int.h"

/* Format version 2 (see store.c). As there, plain tables and types that
 * move to PostgreSQL unchanged. JSON columns hold what trl_model holds;
 * artifact_hash is the hex SHA-256 of the artifact, checked on load.
 * model_stages keeps every change: seq counts per name. comparisons
 * keeps each %compare/compare{} result whole; model_metrics the value of
 * each metric of each registered model in it, on which frame (NULL when
 * the frame is not registered), for gates that need evidence. */
const char trl__model_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS models("
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " created TEXT NOT NULL,"
    " algo TEXT NOT NULL,"
    " objective TEXT NOT NULL,"
    " params TEXT NOT NULL,"
    " features TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " grp TEXT,"
    " data TEXT NOT NULL,"
    " metrics TEXT NOT NULL,"
    " tags TEXT NOT NULL,"
    " encoding TEXT NOT NULL,"
    " train_seconds REAL NOT NULL,"
    " noutputs INTEGER NOT NULL,"
    " format TEXT NOT NULL,"
    " artifact BLOB NOT NULL,"
    " artifact_hash TEXT NOT NULL,"
    " stage TEXT NOT NULL,"
    " PRIMARY KEY(name, version));"
    "CREATE TABLE IF NOT EXISTS model_stages("
    " name TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " version INTEGER NOT NULL,"
    " stage TEXT NOT NULL,"
    " changed TEXT NOT NULL,"
    " PRIMARY KEY(name, seq));"
    "CREATE TABLE IF NOT EXISTS comparisons("
    " id INTEGER NOT NULL,"
    " created TEXT NOT NULL,"
    " frame TEXT,"
    " models TEXT NOT NULL,"
    " result TEXT NOT NULL,"
    " PRIMARY KEY(id));"
    "CREATE TABLE IF NOT EXISTS model_metrics("
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " comparison INTEGER NOT NULL,"
    " frame TEXT,"
    " metric TEXT NOT NULL,"
    " value REAL,"
    " lo REAL,"
    " hi REAL,"
    " resamples INTEGER NOT NULL,"
    " created TEXT NOT NULL,"
    " PRIMARY KEY(name, version, comparison, metric));"
    "CREATE TABLE IF NOT EXISTS business_metrics("
    " name TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " higher_is_better INTEGER NOT NULL,"
    " columns TEXT NOT NULL,"
    " created TEXT NOT NULL,"
    " PRIMARY KEY(name));";

/* ---- the cache ------------------------------------------------------------------- */

void trl__model_cache_clear(trl__model_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        trl_model_decref(c->items[i]);
    free(c->items);
    memset(c, 0, sizeof *c);
}

static trl_model *cache_find(trl__model_cache *c, const char *ref)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->items[i]->ref, ref) == 0)
            return c->items[i];
    return NULL;
}

/* Keeps a reference to m (a registered version never changes), for the
 * next get of the same ref. Bounded: a sweep that loads hundreds of
 * models keeps only the most recent, and the rest are freed as soon as Lua
 * drops them. */
#define CACHE_MAX 16

static void cache_add(trl__model_cache *c, trl_model *m)
{
    if (!c->items && !(c->items = calloc(CACHE_MAX, sizeof *c->items)))
        return;  /* not cached: only slower */
    c->cap = CACHE_MAX;
    if (c->n == CACHE_MAX) {
        trl_model_decref(c->items[0]);
        memmove(c->items, c->items + 1, (CACHE_MAX - 1) * sizeof *c->items);
        c->n--;
    }
    trl_model_incref(m);
    c->items[c->n++] = m;
}

/* ---- small helpers ------------------------------------------------------------------ */

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int name_error(const char *name, trl_error *err)
{
    if (!name || !*name)
        return trl_error_set(err, TRL_EINVAL, "a model needs a name, such "
                             "as 'churn_xgb'");
    return trl_error_set(err, TRL_EINVAL, "'%.100s' is not a valid model "
                         "name: use letters, digits and _, not starting "
                         "with a digit, at most %d characters (as in "
                         "'churn_xgb')", name, TRL__MODEL_NAME_MAX);
}

int trl__db_prepare(trl_registry *r, const char *sql, sqlite3_stmt **st,
                    trl_error *err)
{
    if (sqlite3_prepare_v2(trl__registry_db(r), sql, -1, st, NULL) !=
        SQLITE_OK)
        return trl__registry_db_error(r, "cannot read", err);
    return 0;
}

int trl__db_bind_json(sqlite3_stmt *st, int i, const json_t *j)
{
    char *s = json_dumps(j ? j : json_null(),
                         JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    if (!s)
        return -1;
    return sqlite3_bind_text(st, i, s, -1, free) == SQLITE_OK ? 0 : -1;
}

/* Latest version of name, 0 when none, -1 on a database error. */
static int latest_version(trl_registry *r, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), "SELECT MAX(version) FROM "
                           "models WHERE name = ?", -1, &st, NULL))
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

static int record_stage(trl_registry *r, const char *name, int version,
                        trl_stage stage)
{
    sqlite3_stmt *st;
    char now[32];
    trl__now_iso8601(now);
    if (sqlite3_prepare_v2(trl__registry_db(r), "INSERT INTO model_stages "
                           "SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4 "
                           "FROM model_stages WHERE name = ?1", -1, &st,
                           NULL))
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    sqlite3_bind_text(st, 3, trl_stage_name(stage), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

/* ---- registering ------------------------------------------------------------------------ */

static int insert_model(trl_registry *r, const char *name, int version,
                        const trl_model *m)
{
    static const char sql[] =
        "INSERT INTO models(name, version, created, algo, objective, params,"
        " features, target, grp, data, metrics, tags, encoding,"
        " train_seconds, noutputs, format, artifact, artifact_hash, stage)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'none')";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(trl__registry_db(r), sql, -1, &st, NULL))
        return -1;
    char hash[65];
    sha256_hex(m->artifact, m->artifact_len, hash);
    int bad = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) ||
              sqlite3_bind_int(st, 2, version) ||
              sqlite3_bind_text(st, 3, m->created, -1, SQLITE_STATIC) ||
              sqlite3_bind_text(st, 4, m->algo, -1, SQLITE_STATIC) ||
              sqlite3_bind_text(st, 5, m->objective, -1, SQLITE_STATIC) ||
              trl__db_bind_json(st, 6, m->params) ||
              trl__db_bind_json(st, 7, m->features) ||
              sqlite3_bind_text(st, 8, m->target, -1, SQLITE_STATIC) ||
              (m->group ? sqlite3_bind_text(st, 9, m->group, -1,
                                            SQLITE_STATIC)
                        : sqlite3_bind_null(st, 9)) ||
              trl__db_bind_json(st, 10, m->data) ||
              trl__db_bind_json(st, 11, m->metrics) ||
              trl__db_bind_json(st, 12, m->tags) ||
              trl__db_bind_json(st, 13, m->encoding) ||
              sqlite3_bind_double(st, 14, m->train_seconds) ||
              sqlite3_bind_int(st, 15, m->noutputs) ||
              sqlite3_bind_text(st, 16, m->format, -1, SQLITE_STATIC) ||
              sqlite3_bind_blob64(st, 17, m->artifact, m->artifact_len,
                                  SQLITE_STATIC) ||
              sqlite3_bind_text(st, 18, hash, -1, SQLITE_STATIC);
    int rc = !bad && sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

int trl_model_name_check(const char *name, trl_error *err)
{
    if (!name || !trl__registry_valid_name(name, strlen(name)))
        return name_error(name, err);
    return 0;
}

int trl_registry_register_model(trl_registry *r, const char *name,
                                trl_model *m, int *version_out,
                                trl_error *err)
{
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    if (!name || !trl__registry_valid_name(name, strlen(name)))
        return name_error(name, err);
    if (m->ref)
        return trl_error_set(err, TRL_EINVAL, "this model is already "
                             "registered as %s", m->ref);
    sqlite3 *db = trl__registry_db(r);
    char what[TRL__MODEL_NAME_MAX + 40];
    snprintf(what, sizeof what, "cannot register model '%s'", name);
    /* room for the ref is made first: once committed, nothing may fail */
    char *ref = malloc(strlen(name) + 16);
    if (!ref)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) {
        free(ref);
        return trl__registry_db_error(r, what, err);
    }
    int version = latest_version(r, name);
    if (version < 0 || insert_model(r, name, version + 1, m) != 0 ||
        record_stage(r, name, version + 1, TRL_STAGE_NONE) != 0 ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) {
        trl__registry_db_error(r, what, err);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        free(ref);
        return err ? err->code : TRL_EIO;
    }
    version++;
    sprintf(ref, "%s@%d", name, version);
    m->ref = ref;
    *version_out = version;
    return 0;
}

/* ---- looking up ---------------------------------------------------------------------------- */

int trl__model_spec_parse(const char *spec, trl__model_spec *out,
                          trl_error *err)
{
    if (!spec || !*spec)
        return trl_error_set(err, TRL_EINVAL, "which model? Give a name "
                             "such as 'churn_xgb', 'churn_xgb@2' or "
                             "'churn_xgb@production'");
    const char *at = strchr(spec, '@');
    size_t len = at ? (size_t)(at - spec) : strlen(spec);
    if (!trl__registry_valid_name(spec, len)) {
        char bad[TRL__MODEL_NAME_MAX + 1];
        snprintf(bad, sizeof bad, "%.*s",
                 (int)(len < TRL__MODEL_NAME_MAX ? len : TRL__MODEL_NAME_MAX),
                 spec);
        return name_error(bad, err);
    }
    memcpy(out->name, spec, len);
    out->name[len] = '\0';
    out->version = 0;
    out->stage = -1;
    if (!at)
        return 0;
    const char *v = at + 1;
    if (*v >= '0' && *v <= '9') {
        long n = 0;
        for (const char *p = v; *p; p++) {
            if (*p < '0' || *p > '9' || (n = n * 10 + (*p - '0')) > INT_MAX)
                return trl_error_set(err, TRL_EINVAL, "'%.100s': the version "
                                     "after '@' must be a number", spec);
        }
        if (n == 0)
            return trl_error_set(err, TRL_EINVAL, "'%s': versions start at "
                                 "1", spec);
        out->version = (int)n;
        return 0;
    }
    out->stage = trl_stage_parse(v);
    if (out->stage <= TRL_STAGE_NONE)
        return trl_error_set(err, TRL_EINVAL, "'%.100s': after '@' give a "
                             "version number or a stage (staging, "
                             "production, archived)", spec);
    return 0;
}

/* The version a spec names: explicit, latest, or the latest in a stage.
 * 0 with err set when there is none. */
static int resolve(trl_registry *r, const trl__model_spec *s, trl_error *err)
{
    int latest = latest_version(r, s->name);
    if (latest < 0)
        return trl__registry_db_error(r, "cannot read", err), 0;
    if (latest == 0) {
        trl_error_set(err, TRL_ENOTFOUND, "no model '%s' (models.list() "
                      "shows the registered ones)", s->name);
        return 0;
    }
    if (s->stage < 0 && s->version == 0)
        return latest;
    if (s->stage < 0) {
        if (s->version <= latest)
            return s->version;
        if (latest == 1)
            trl_error_set(err, TRL_ENOTFOUND, "model '%s' has only version "
                          "1, not %d", s->name, s->version);
        else
            trl_error_set(err, TRL_ENOTFOUND, "model '%s' has versions "
                          "1..%d, not %d", s->name, latest, s->version);
        return 0;
    }
    sqlite3_stmt *st;
    if (trl__db_prepare(r, "SELECT MAX(version) FROM models WHERE name = ? "
                        "AND stage = ?", &st, err) != 0)
        return 0;
    sqlite3_bind_text(st, 1, s->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, trl_stage_name((trl_stage)s->stage), -1,
                      SQLITE_STATIC);
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (v == 0)
        trl_error_set(err, TRL_ENOTFOUND, "model '%s' has no version in "
                      "stage %s (models.stage(\"%s@N\", \"%s\") puts one "
                      "there)", s->name, trl_stage_name((trl_stage)s->stage),
                      s->name, trl_stage_name((trl_stage)s->stage));
    return v;
}

int trl__model_version_of(trl_registry *r, const char *spec,
                          trl__model_spec *out, trl_error *err)
{
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    if (trl__model_spec_parse(spec, out, err) != 0)
        return err ? err->code : TRL_EINVAL;
    int version = resolve(r, out, err);
    if (version == 0)
        return err ? err->code : TRL_ENOTFOUND;
    out->version = version;
    out->stage = -1;
    return 0;
}

json_t *trl__db_column_json(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
}

static char *column_str(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? strdup(s) : NULL;
}

static trl_model *load(trl_registry *r, const char *name, int version,
                       const char *ref, trl_error *err)
{
    sqlite3_stmt *st;
    if (trl__db_prepare(r, "SELECT created, algo, objective, params, "
                        "features, target, grp, data, metrics, tags, "
                        "encoding, train_seconds, noutputs, format, "
                        "artifact, artifact_hash FROM models WHERE name = ? "
                        "AND version = ?", &st, err) != 0)
        return NULL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    trl_model *m = NULL;
    if (sqlite3_step(st) != SQLITE_ROW) {
        trl__registry_db_error(r, "cannot read", err);
        goto done;
    }
    if (!(m = trl__model_alloc())) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(m->created, sizeof m->created, "%s",
             (const char *)sqlite3_column_text(st, 0));
    m->algo = column_str(st, 1);
    m->objective = column_str(st, 2);
    m->params = trl__db_column_json(st, 3);
    m->features = trl__db_column_json(st, 4);
    m->target = column_str(st, 5);
    m->group = column_str(st, 6);
    m->data = trl__db_column_json(st, 7);
    m->metrics = trl__db_column_json(st, 8);
    m->tags = trl__db_column_json(st, 9);
    m->encoding = trl__db_column_json(st, 10);
    m->train_seconds = sqlite3_column_double(st, 11);
    m->noutputs = sqlite3_column_int(st, 12);
    m->format = column_str(st, 13);
    m->artifact_len = (size_t)sqlite3_column_bytes(st, 14);
    const void *blob = sqlite3_column_blob(st, 14);
    const char *hash = (const char *)sqlite3_column_text(st, 15);
    m->ref = strdup(ref);
    if ((m->artifact = malloc(m->artifact_len ? m->artifact_len : 1)))
        memcpy(m->artifact, blob, m->artifact_len);
    if (!m->algo || !m->objective || !m->params || !m->features ||
        !m->target || !m->data || !m->metrics || !m->tags || !m->encoding ||
        !m->format || !m->artifact || !m->ref || !blob || !hash ||
        m->noutputs < 1) {
        trl_error_set(err, TRL_EIO, "model registry '%s': %s is damaged or "
                      "out of memory", trl__registry_path(r), ref);
        goto fail;
    }
    char actual[65];
    sha256_hex(m->artifact, m->artifact_len, actual);
    if (strcmp(actual, hash) != 0) {
        trl_error_set(err, TRL_EIO, "model registry '%s': the artifact of %s "
                      "is damaged (its SHA-256 differs from the one stored)",
                      trl__registry_path(r), ref);
        goto fail;
    }
    if (trl__model_load(m, err) != 0)
        goto fail;
    goto done;
fail:
    trl_model_decref(m);
    m = NULL;
done:
    sqlite3_finalize(st);
    return m;
}

trl_model *trl_registry_get_model(trl_registry *r, const char *spec,
                                  trl_error *err)
{
    trl__model_spec s;
    if (!r) {
        trl_error_set(err, TRL_EINVAL, "no registry");
        return NULL;
    }
    if (trl__model_spec_parse(spec, &s, err) != 0)
        return NULL;
    int version = resolve(r, &s, err);
    if (version == 0)
        return NULL;
    char ref[TRL__MODEL_NAME_MAX + 16];
    snprintf(ref, sizeof ref, "%s@%d", s.name, version);
    trl__model_cache *cache = trl__registry_models(r);
    trl_model *m = cache_find(cache, ref);
    if (m) {
        trl_model_incref(m);
        return m;
    }
    if ((m = load(r, s.name, version, ref, err)))
        cache_add(cache, m);
    return m;
}

/* ---- stages ------------------------------------------------------------------------------ */

int trl_registry_model_stage(trl_registry *r, const char *ref,
                             trl_stage *out, trl_error *err)
{
    trl__model_spec s;
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    if (trl__model_spec_parse(ref, &s, err) != 0)
        return err->code;
    int version = resolve(r, &s, err);
    if (version == 0)
        return err->code;
    sqlite3_stmt *st;
    if (trl__db_prepare(r, "SELECT stage FROM models WHERE name = ? AND "
                        "version = ?", &st, err) != 0)
        return err->code;
    sqlite3_bind_text(st, 1, s.name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    int rc = sqlite3_step(st);
    int stage = rc == SQLITE_ROW ? trl_stage_parse(
                    (const char *)sqlite3_column_text(st, 0)) : -1;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return trl__registry_db_error(r, "cannot read", err);
    if (stage < 0)
        return trl_error_set(err, TRL_EIO, "model registry '%s': %s has an "
                             "unknown stage", trl__registry_path(r), ref);
    *out = (trl_stage)stage;
    return 0;
}

/* The production version of name other than keep, if any, moves to
 * archived: MLflow's archive_existing_versions, so each name has at most
 * one production version. Inside the caller's transaction. */
static int archive_others(trl_registry *r, const char *name, int keep)
{
    sqlite3 *db = trl__registry_db(r);
    static const char *const sql[] = {
        "INSERT INTO model_stages SELECT ?1, (SELECT COALESCE(MAX(seq), 0) "
        "FROM model_stages WHERE name = ?1) + 1, version, 'archived', ?3 "
        "FROM models WHERE name = ?1 AND stage = 'production' AND "
        "version <> ?2",
        "UPDATE models SET stage = 'archived' WHERE name = ?1 AND "
        "stage = 'production' AND version <> ?2"};
    char now[32];
    trl__now_iso8601(now);
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL))
            return -1;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, keep);
        if (i == 0)
            sqlite3_bind_text(st, 3, now, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

int trl__model_stage_locked(trl_registry *r, const char *name, int version,
                            trl_stage stage)
{
    sqlite3_stmt *st = NULL;
    int bad = (stage == TRL_STAGE_PRODUCTION &&
               archive_others(r, name, version) != 0) ||
              sqlite3_prepare_v2(trl__registry_db(r), "UPDATE models SET "
                                 "stage = ? WHERE name = ? AND version = ?",
                                 -1, &st, NULL);
    if (!bad) {
        sqlite3_bind_text(st, 1, trl_stage_name(stage), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, version);
        bad = sqlite3_step(st) != SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return bad || record_stage(r, name, version, stage) != 0 ? -1 : 0;
}

int trl_registry_stage_model(trl_registry *r, const char *spec,
                             trl_stage stage, trl_error *err)
{
    trl__model_spec s;
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    if ((unsigned)stage > TRL_STAGE_ARCHIVED)
        return trl_error_set(err, TRL_EINVAL, "unknown stage: use none, "
                             "staging, production or archived");
    if (trl__model_spec_parse(spec, &s, err) != 0)
        return err->code;
    sqlite3 *db = trl__registry_db(r);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
        return trl__registry_db_error(r, "cannot change the stage", err);
    int version = resolve(r, &s, err);
    if (version == 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return err->code;
    }
    if (trl__model_stage_locked(r, s.name, version, stage) != 0 ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) {
        trl__registry_db_error(r, "cannot change the stage", err);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return err ? err->code : TRL_EIO;
    }
    return 0;
}

/* ---- listing ------------------------------------------------------------------------------ */

static json_t *model_row(sqlite3_stmt *st)
{
    return json_pack(
        "{s:s, s:I, s:s, s:s, s:s, s:s, s:o?, s:o?, s:o?, s:o?, s:s, s:f}",
        "name", (const char *)sqlite3_column_text(st, 0), "version",
        (json_int_t)sqlite3_column_int(st, 1), "algo",
        (const char *)sqlite3_column_text(st, 2), "objective",
        (const char *)sqlite3_column_text(st, 3), "stage",
        (const char *)sqlite3_column_text(st, 4), "target",
        (const char *)sqlite3_column_text(st, 5), "features",
        trl__db_column_json(st, 6), "data", trl__db_column_json(st, 7),
        "metrics", trl__db_column_json(st, 8), "tags",
        trl__db_column_json(st, 9), "created",
        (const char *)sqlite3_column_text(st, 10), "train_seconds",
        sqlite3_column_double(st, 11));
}

json_t *trl_registry_list_models(trl_registry *r)
{
    return trl__registry_collect(r, "SELECT name, version, algo, objective,"
                                 " stage, target, features, data, metrics, "
                                 "tags, created, train_seconds FROM models "
                                 "ORDER BY name, version", model_row);
}
