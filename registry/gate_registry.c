/* gate_registry.c - the registry as a gate's evidence: a candidate and
 * the versions of its name now in production and staging, their metrics
 * from model_metrics (what %compare records), their benchmarks, drift
 * and validation records, each missing piece named with the command
 * that records it; and the default gates, built from the metrics the
 * candidate and production both have on one frame. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/bench.h"
#include "trellis/guard.h"
#include "trellis/metrics.h"
#include "registry/gate_int.h"
#include "registry/model_int.h"
#include "registry/registry_int.h"

static const char *const subject_names[] = {"candidate", "production",
                                            "staging"};

/* "no version in production" for a stage nobody holds. */
static int no_subject(const trl_gate_registry *c, trl_gate_subject who,
                      trl_error *err)
{
    return trl_error_set(err, TRL_ENOTFOUND, "no version of %s is in %s, "
                         "so there is nothing to compare with (gate on "
                         "values instead, as in auc@holdout >= 0.8)",
                         c->name, subject_names[who]);
}

static const char *label(void *ctx, trl_gate_subject who)
{
    const trl_gate_registry *c = ctx;
    return c->refs[who][0] ? c->refs[who] : NULL;
}

/* "name@N" into name and version; -1 (name "", version 0: matching no
 * row) when ref is not one. */
static int split_ref(const char *ref, char *name, size_t size, int *version)
{
    const char *at = strrchr(ref, '@');
    name[0] = '\0';
    *version = 0;
    if (!at || (size_t)(at - ref) >= size)
        return -1;
    memcpy(name, ref, (size_t)(at - ref));
    name[at - ref] = '\0';
    *version = atoi(at + 1);
    return 0;
}

/* SQL matching model_metrics.frame against a spec (parameter ?p):
 * "name@N" exactly, "name" any version of it. Unregistered frames (NULL)
 * never match: they cannot be named again. */
#define FRAME_MATCH(p)                                                    \
    "(frame = ?" p " OR (instr(?" p ", '@') = 0 AND "                     \
    "substr(frame, 1, length(?" p ") + 1) = ?" p " || '@'))"

/* The metric names recorded for a version on frames matching spec, as
 * "auc, logloss" (out empty when none). */
static void metrics_on(trl_registry *r, const char *name, int version,
                       const char *spec, char *out, size_t size)
{
    sqlite3_stmt *st;
    out[0] = '\0';
    if (sqlite3_prepare_v2(trl__registry_db(r), "SELECT DISTINCT metric "
                           "FROM model_metrics WHERE name = ?1 AND "
                           "version = ?2 AND " FRAME_MATCH("3")
                           " ORDER BY metric", -1, &st, NULL))
        return;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    sqlite3_bind_text(st, 3, spec, -1, SQLITE_STATIC);
    size_t used = 0;
    while (sqlite3_step(st) == SQLITE_ROW && used + 1 < size) {
        int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "",
                         (const char *)sqlite3_column_text(st, 0));
        used += n > 0 ? (size_t)n : 0;
    }
    sqlite3_finalize(st);
}

/* What to run to record metric for who on frame. */
static int no_metric(const trl_gate_registry *c, trl_gate_subject who,
                     const char *metric, const char *frame, trl_error *err)
{
    char name[TRL_GATE_REF_MAX], others[300];
    int version;
    split_ref(c->refs[who], name, sizeof name, &version);
    metrics_on(c->r, name, version, frame, others, sizeof others);
    /* compare the candidate with what it is gated against */
    const char *base = c->refs[TRL_GATE_PRODUCTION][0]
                           ? c->refs[TRL_GATE_PRODUCTION]
                           : c->refs[TRL_GATE_STAGING];
    char models[2 * TRL_GATE_REF_MAX + 2];
    if (who == TRL_GATE_CANDIDATE && base[0] &&
        strcmp(base, c->refs[TRL_GATE_CANDIDATE]) != 0)
        snprintf(models, sizeof models, "%s %s", c->refs[who], base);
    else if (who != TRL_GATE_CANDIDATE)
        snprintf(models, sizeof models, "%s %s", c->refs[TRL_GATE_CANDIDATE],
                 c->refs[who]);
    else
        snprintf(models, sizeof models, "%s", c->refs[who]);
    if (others[0])
        return trl_error_set(err, TRL_ENOTFOUND, "%s has no %s on %s (its "
                             "%%compare there recorded %s): run %%compare "
                             "%s --on %s --metrics %s", c->refs[who],
                             metric, frame, others, models, frame, metric);
    return trl_error_set(err, TRL_ENOTFOUND, "no %%compare of %s%s%s on %s "
                         "is recorded: run %%compare %s --on %s (a "
                         "registered frame)", c->refs[who],
                         who ? " " : "", who ? subject_names[who] : "",
                         frame, models, frame);
}

static int metric(void *ctx, trl_gate_subject who, const char *name,
                  const char *frame, double *out, char *used, size_t size,
                  trl_error *err)
{
    const trl_gate_registry *c = ctx;
    if (!c->refs[who][0])
        return no_subject(c, who, err);
    char model[TRL_GATE_REF_MAX];
    int version;
    split_ref(c->refs[who], model, sizeof model, &version);
    sqlite3_stmt *st;
    if (trl__db_prepare(c->r, "SELECT value, frame FROM model_metrics "
                        "WHERE name = ?1 AND version = ?2 AND metric = ?3 "
                        "AND " FRAME_MATCH("4") " ORDER BY comparison DESC "
                        "LIMIT 1", &st, err) != 0)
        return err ? err->code : TRL_EIO;
    sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, frame, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        /* NULL: undefined in that comparison; the evaluator says so */
        *out = sqlite3_column_type(st, 0) == SQLITE_NULL
                   ? NAN : sqlite3_column_double(st, 0);
        snprintf(used, size, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc != SQLITE_DONE)
        return trl__registry_db_error(c->r, "cannot read", err);
    return no_metric(c, who, name, frame, err);
}

static int bench(void *ctx, trl_gate_subject who, const char *stat,
                 long long batch, int threads, double *out, trl_error *err)
{
    const trl_gate_registry *c = ctx;
    if (!c->refs[who][0])
        return no_subject(c, who, err);
    return trl_registry_benchmark_stat(c->r, c->refs[who], stat, batch,
                                       threads, out, err);
}

static int drift(void *ctx, const char *ref, const char *new_frame,
                 const char *feature, double *out, trl_error *err)
{
    const trl_gate_registry *c = ctx;
    return trl_registry_latest_drift(c->r, ref, new_frame, feature, out,
                                     err);
}

static int validate(void *ctx, const char *frame, int *ok, trl_error *err)
{
    const trl_gate_registry *c = ctx;
    return trl_registry_latest_validation(c->r, frame, ok, err);
}

/* refs[who] = name's version in stage, or "" when none. */
static int stage_ref(trl_gate_registry *c, trl_gate_subject who,
                     trl_error *err)
{
    char spec[TRL_GATE_REF_MAX + 16];
    trl__model_spec s;
    trl_error none = {0};
    snprintf(spec, sizeof spec, "%s@%s", c->name, subject_names[who]);
    int rc = trl__model_version_of(c->r, spec, &s, &none);
    if (rc == TRL_ENOTFOUND) {
        c->refs[who][0] = '\0';
        return 0;
    }
    if (rc != 0) {
        if (err)
            *err = none;
        return rc;
    }
    snprintf(c->refs[who], TRL_GATE_REF_MAX, "%s@%d", s.name, s.version);
    return 0;
}

int trl_gate_registry_init(trl_gate_registry *ctx, trl_registry *r,
                           const char *candidate, trl_gate_resolver *out,
                           trl_error *err)
{
    memset(ctx, 0, sizeof *ctx);
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "no registry");
    if (!candidate || !strchr(candidate, '@'))
        return trl_error_set(err, TRL_EINVAL, "name the version to "
                             "promote, as in %.100s@2",
                             candidate && *candidate ? candidate : "churn");
    trl__model_spec s;
    if (trl__model_version_of(r, candidate, &s, err) != 0)
        return err ? err->code : TRL_ENOTFOUND;
    ctx->r = r;
    snprintf(ctx->name, sizeof ctx->name, "%s", s.name);
    snprintf(ctx->refs[TRL_GATE_CANDIDATE], TRL_GATE_REF_MAX, "%s@%d",
             s.name, s.version);
    int rc;
    if ((rc = stage_ref(ctx, TRL_GATE_PRODUCTION, err)) != 0 ||
        (rc = stage_ref(ctx, TRL_GATE_STAGING, err)) != 0)
        return rc;
    *out = (trl_gate_resolver){ctx, label, metric, bench, drift, validate};
    return 0;
}

/* ---- default gates -------------------------------------------------------------- */

/* 1 higher is better, 0 lower, -1 unknown. */
static int direction(trl_registry *r, const char *metric_name)
{
    trl_metric m;
    if (trl_metric_parse(metric_name, &m, NULL) == 0)
        return m.higher_is_better;
    json_t *def = trl_registry_get_metric(r, metric_name, NULL);
    int d = def ? json_is_true(json_object_get(def, "higher_is_better"))
                : -1;
    json_decref(def);
    return d;
}

/* The registered frames a version has metrics on, as "holdout@1,
 * eval@2" (or "none"); *latest the most recent one ("" when none). */
static void frames_of(trl_registry *r, const char *ref, char *out,
                      size_t size, char *latest, size_t lsize)
{
    char name[TRL_GATE_REF_MAX];
    int version;
    snprintf(out, size, "none");
    latest[0] = '\0';
    sqlite3_stmt *st;
    if (split_ref(ref, name, sizeof name, &version) != 0 ||
        sqlite3_prepare_v2(trl__registry_db(r), "SELECT frame FROM "
                           "model_metrics WHERE name = ? AND version = ? "
                           "AND frame IS NOT NULL GROUP BY frame ORDER BY "
                           "MAX(comparison) DESC LIMIT 6", -1, &st, NULL))
        return;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    size_t used = 0;
    while (sqlite3_step(st) == SQLITE_ROW && used + 1 < size) {
        const char *f = (const char *)sqlite3_column_text(st, 0);
        if (!latest[0])
            snprintf(latest, lsize, "%s", f);
        int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "",
                         f);
        used += n > 0 ? (size_t)n : 0;
    }
    sqlite3_finalize(st);
}

static int no_common_evidence(const trl_gate_registry *c, trl_error *err)
{
    const char *cand = c->refs[TRL_GATE_CANDIDATE];
    const char *prod = c->refs[TRL_GATE_PRODUCTION];
    char cf[300], pf[300], latest[TRL_GATE_REF_MAX], ignored[8];
    frames_of(c->r, cand, cf, sizeof cf, latest, sizeof latest);
    frames_of(c->r, prod, pf, sizeof pf, ignored, sizeof ignored);
    return trl_error_set(err, TRL_ENOTFOUND, "no evidence on a common "
                         "frame: %s has metrics on %s, %s (production) on "
                         "%s; run %%compare %s %s --on %s, then promote "
                         "again", cand, cf, prod, pf, cand, prod,
                         latest[0] ? latest : "FRAME");
}

json_t *trl_gate_defaults(const trl_gate_registry *ctx, char **note,
                          trl_error *err)
{
    *note = NULL;
    char buf[600];
    json_t *gates = json_array();
    if (!gates) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    if (!ctx->refs[TRL_GATE_PRODUCTION][0]) {
        snprintf(buf, sizeof buf, "no version of %s is in production: "
                 "there is nothing to be worse than, so no default gate "
                 "applies", ctx->name);
        if (!(*note = strdup(buf))) {
            json_decref(gates);
            trl_error_set(err, TRL_ENOMEM, "out of memory");
            return NULL;
        }
        return gates;
    }
    char name[TRL_GATE_REF_MAX];
    int cv, pv;
    split_ref(ctx->refs[TRL_GATE_CANDIDATE], name, sizeof name, &cv);
    split_ref(ctx->refs[TRL_GATE_PRODUCTION], name, sizeof name, &pv);
    sqlite3_stmt *st;
    if (trl__db_prepare(ctx->r, "SELECT c.metric, c.frame FROM model_metrics"
                        " c WHERE c.name = ?1 AND c.version = ?2 AND "
                        "c.frame IS NOT NULL AND EXISTS (SELECT 1 FROM "
                        "model_metrics p WHERE p.name = ?1 AND p.version = "
                        "?3 AND p.metric = c.metric AND p.frame = c.frame)"
                        " GROUP BY c.metric, c.frame ORDER BY c.frame, "
                        "c.metric", &st, err) != 0) {
        json_decref(gates);
        return NULL;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, cv);
    sqlite3_bind_int(st, 3, pv);
    size_t common = 0, skipped_len = 0;
    char skipped[300] = "";
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);
        const char *f = (const char *)sqlite3_column_text(st, 1);
        common++;
        int d = direction(ctx->r, m);
        if (d < 0) {
            int n = snprintf(skipped + skipped_len,
                             sizeof skipped - skipped_len, "%s%s",
                             skipped_len ? ", " : "", m);
            if (n > 0 && skipped_len + (size_t)n < sizeof skipped)
                skipped_len += (size_t)n;
            continue;
        }
        snprintf(buf, sizeof buf, "%s@%s %s production", m, f,
                 d ? ">=" : "<=");
        if (json_array_append_new(gates, json_string(buf)) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(gates);
        if (rc == SQLITE_NOMEM)
            trl_error_set(err, TRL_ENOMEM, "out of memory");
        else
            trl__registry_db_error(ctx->r, "cannot read", err);
        return NULL;
    }
    if (common == 0) {
        json_decref(gates);
        no_common_evidence(ctx, err);
        return NULL;
    }
    if (skipped_len && json_array_size(gates) == 0) {
        json_decref(gates);
        trl_error_set(err, TRL_ENOTFOUND, "no default gate applies: the "
                      "metrics %s and %s share (%s) have no definition "
                      "saying whether higher is better; give gates with "
                      "--gate", ctx->refs[TRL_GATE_CANDIDATE],
                      ctx->refs[TRL_GATE_PRODUCTION], skipped);
        return NULL;
    }
    if (skipped_len) {
        snprintf(buf, sizeof buf, "left out of the default gates, as "
                 "nothing says whether higher is better: %s", skipped);
        *note = strdup(buf);
    }
    return gates;
}
