/* test_promote.c - gate_registry.c, promote.c and audit_store.c with
 * real recorded rows: metrics written by trl_registry_record_comparison
 * from crafted results, benchmarks by trl_registry_record_benchmark,
 * drift and validation by the guard's own runs. Gates read them (and say
 * what to run when they are missing), default gates come from the
 * evidence candidate and production share, promotions are refused or
 * accepted (or forced, with a reason), every attempt is in the audit
 * log, a refusal changes no stage, and the log survives reopening. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "trellis/bench.h"
#include "trellis/gate.h"
#include "trellis/guard.h"

static char tmpdir[64];
static char path[128];
static trl_frame *data;

static trl_frame *csv(const char *text)
{
    trl_error err = {0};
    trl_frame *f = trl_csv_parse(text, strlen(text), "test", NULL, &err);
    if (!f)
        fail_msg("%s", err.message);
    return f;
}

static int raw_int(const char *sql)
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

/* Registers a small logistic model as the next version of name. */
static void register_model(trl_registry *r, const char *name)
{
    trl_error err = {0};
    trl_train_spec spec = {.algo = "logistic", .data = data,
                           .target = "label"};
    trl_model *m = trl_model_train(&spec, &err);
    if (!m)
        fail_msg("training: %s", err.message);
    int v;
    assert_int_equal(trl_registry_register_model(r, name, m, &v, &err), 0);
    trl_model_decref(m);
}

/* Records a comparison as %compare would: json is the result. */
static void record(trl_registry *r, const char *json)
{
    json_error_t jerr;
    json_t *res = json_loads(json, 0, &jerr);
    if (!res)
        fail_msg("%s: %s", json, jerr.text);
    trl_error err = {0};
    int rc = strstr(json, "\"results\"")
                 ? trl_registry_record_benchmark(r, res, NULL, &err)
                 : trl_registry_record_comparison(r, res, NULL, &err);
    if (rc != 0)
        fail_msg("recording %s: %s", json, err.message);
    json_decref(res);
}

static int group_setup(void **state)
{
    (void)state;
    char fixture[4096];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(fixture, sizeof fixture, "%.*s/fixtures/models/binary.csv",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/trl_promote_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(path, sizeof path, "%s/reg.sqlite", tmpdir);
    trl_error err = {0};
    if (!(data = trl_csv_read(fixture, NULL, &err)))
        return -1;
    /* pm@1 in production; pm@2 and pm@3 candidates; frames holdout@1,
     * holdout@2 and live */
    trl_registry *r = trl_registry_open(path, &err);
    if (!r)
        return -1;
    for (int i = 0; i < 3; i++)
        register_model(r, "pm");
    register_model(r, "solo");
    trl_frame *h1 = csv("x,plan\n1,a\n2,a\n3,b\n4,b\n5,c\n6,c\n");
    trl_frame *h2 = csv("x,plan\n1,a\n2,b\n3,b\n4,b\n5,c\n6,c\n");
    int v;
    trl_registry_register(r, "holdout", h1, &v, &err);
    trl_registry_register(r, "holdout", h2, &v, &err);
    trl_registry_stage_model(r, "pm@1", TRL_STAGE_PRODUCTION, &err);
    /* pm@2 against pm@1 on holdout@1; pm@2 alone, later, on holdout@2 */
    record(r, "{\"models\": [\"pm@2\", \"pm@1\"], \"on\": \"holdout@1\", "
              "\"resamples\": 0, \"metrics\": ["
              "{\"name\": \"auc\", \"cells\": [{\"value\": 0.80}, "
              "{\"value\": 0.78}]},"
              "{\"name\": \"logloss\", \"cells\": [{\"value\": 0.50}, "
              "{\"value\": 0.55}]}]}");
    record(r, "{\"models\": [\"pm@2\"], \"on\": \"holdout@2\", "
              "\"resamples\": 0, \"metrics\": [{\"name\": \"auc\", "
              "\"cells\": [{\"value\": 0.9}]}]}");
    /* an unregistered frame keeps nothing a gate can name */
    record(r, "{\"models\": [\"pm@3\", \"pm@1\"], \"on\": null, "
              "\"resamples\": 0, \"metrics\": [{\"name\": \"auc\", "
              "\"cells\": [{\"value\": 0.99}, {\"value\": 0.78}]}]}");
    record(r, "{\"on\": \"holdout@1\", \"duration\": 1, \"host\": {}, "
              "\"results\": [{\"ref\": \"pm@2\", \"threads\": 1, "
              "\"batch\": 1, \"calls\": 100, \"seconds\": 1, \"p99_ms\": 3.5, "
              "\"rows_per_s\": 5000}, {\"ref\": \"pm@1\", \"threads\": 1, "
              "\"batch\": 1, \"calls\": 100, \"seconds\": 1, \"p99_ms\": 3.0}]}");
    /* drift of live from holdout, and validation of live and holdout */
    trl_frame *live = csv("x,plan\n40,c\n50,c\n60,c\n70,c\n80,b\n90,c\n");
    trl_drift_request rq = {.ref = h1, .new_frame = live,
                            .ref_name = "holdout", .new_name = "live"};
    json_t *d = trl_drift_run(&rq, &err);
    trl_registry_record_drift(r, d, NULL, &err);
    json_t *spec = trl_validate_infer(h1, &err);
    json_t *bad = trl_validate_check(live, spec, "live", "holdout@1", &err);
    json_t *good = trl_validate_check(h2, spec, "holdout", "holdout@1",
                                      &err);
    trl_registry_record_validation(r, bad, NULL, &err);
    trl_registry_record_validation(r, good, NULL, &err);
    json_decref(d);
    json_decref(spec);
    json_decref(bad);
    json_decref(good);
    trl_frame_decref(h1);
    trl_frame_decref(h2);
    trl_frame_decref(live);
    trl_registry_close(r);
    return err.code ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    trl_frame_decref(data);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- gates over the registry ------------------------------------------------- */

static trl_gate_outcome gate(trl_registry *r, const char *candidate,
                             const char *text, const char *needle)
{
    trl_gate_registry ctx;
    trl_gate_resolver rs;
    trl_error err = {0};
    assert_int_equal(trl_gate_registry_init(&ctx, r, candidate, &rs, &err),
                     0);
    trl_gate *g = trl_gate_parse(text, strlen(text), &err);
    if (!g)
        fail_msg("%s: %s", text, err.message);
    trl_gate_result res;
    assert_int_equal(trl_gate_eval(g, &rs, &res, &err), 0);
    if (needle && !strstr(res.detail, needle))
        fail_msg("'%s': '%s' lacks '%s'", text, res.detail, needle);
    trl_gate_outcome o = res.outcome;
    trl_gate_result_clear(&res);
    trl_gate_free(g);
    return o;
}

static void test_gates_read_recorded_rows(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    assert_non_null(r);
    /* metrics, with 'production' on the candidate's frame */
    assert_int_equal(gate(r, "pm@2", "auc@holdout@1 >= production + 0.01",
                          "auc@holdout@1 = 0.8 >= production 0.78 + 0.01 = "
                          "0.79 (production is pm@1)"), TRL_GATE_PASS);
    assert_int_equal(gate(r, "pm@2", "logloss@holdout <= production",
                          NULL), TRL_GATE_PASS);
    /* "holdout" is the latest comparison's version, holdout@2, where
     * production has nothing */
    assert_int_equal(gate(r, "pm@2", "auc@holdout >= production",
                          "no %compare of pm@1 production on holdout@2 is "
                          "recorded: run %compare pm@2 pm@1 --on "
                          "holdout@2"), TRL_GATE_ERROR);
    assert_int_equal(gate(r, "pm@2", "auc@holdout > 0.85", "= 0.9"),
                     TRL_GATE_PASS);
    assert_int_equal(gate(r, "pm@2", "brier@holdout@1 < 1",
                          "pm@2 has no brier on holdout@1 (its %compare "
                          "there recorded auc, logloss): run %compare pm@2 "
                          "pm@1 --on holdout@1 --metrics brier"),
                     TRL_GATE_ERROR);
    assert_int_equal(gate(r, "pm@3", "auc@holdout > 0.5",
                          "no %compare of pm@3 on holdout is recorded: run "
                          "%compare pm@3 pm@1 --on holdout"),
                     TRL_GATE_ERROR);
    assert_int_equal(gate(r, "pm@2", "auc@holdout@1 >= staging",
                          "no version of pm is in staging"),
                     TRL_GATE_ERROR);
    /* benchmarks */
    assert_int_equal(gate(r, "pm@2", "p99_ms@batch1 <= 1.1 * production",
                          "p99_ms@batch1 = 3.5 <= 1.1 * production 3 = "
                          "3.3"), TRL_GATE_FAIL);
    assert_int_equal(gate(r, "pm@2", "rows_per_s@batch1 > 1000", NULL),
                     TRL_GATE_PASS);
    assert_int_equal(gate(r, "pm@2", "p99_ms@batch8 < 5", "run %bench "
                          "pm@2 --on FRAME --batch 8 --threads 1"),
                     TRL_GATE_ERROR);
    /* drift and validation */
    assert_int_equal(gate(r, "pm@2", "drift(holdout, live) < 0.2",
                          "drift(holdout, live) = "), TRL_GATE_FAIL);
    assert_int_equal(gate(r, "pm@2", "drift(holdout, live, plan) < 5",
                          NULL), TRL_GATE_PASS);
    assert_int_equal(gate(r, "pm@2", "drift(live, holdout) < 5",
                          "run %drift live holdout"), TRL_GATE_ERROR);
    assert_int_equal(gate(r, "pm@2", "validate(holdout)",
                          "validate(holdout) = true"), TRL_GATE_PASS);
    assert_int_equal(gate(r, "pm@2", "validate(live)", NULL),
                     TRL_GATE_FAIL);
    /* the candidate must be a version that exists */
    trl_gate_registry ctx;
    trl_gate_resolver rs;
    assert_int_equal(trl_gate_registry_init(&ctx, r, "pm", &rs, &err),
                     TRL_EINVAL);
    assert_non_null(strstr(err.message, "name the version to promote, as "
                           "in pm@2"));
    assert_int_equal(trl_gate_registry_init(&ctx, r, "nope@1", &rs, &err),
                     TRL_ENOTFOUND);
    assert_int_equal(trl_gate_registry_init(&ctx, r, "pm@9", &rs, &err),
                     TRL_ENOTFOUND);
    trl_registry_close(r);
}

static void test_default_gates_from_common_evidence(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    trl_gate_registry ctx;
    trl_gate_resolver rs;
    char *note;
    assert_int_equal(trl_gate_registry_init(&ctx, r, "pm@2", &rs, &err), 0);
    json_t *g = trl_gate_defaults(&ctx, &note, &err);
    assert_non_null(g);
    assert_null(note);
    assert_int_equal(json_array_size(g), 2);
    assert_string_equal(json_string_value(json_array_get(g, 0)),
                        "auc@holdout@1 >= production");
    assert_string_equal(json_string_value(json_array_get(g, 1)),
                        "logloss@holdout@1 <= production");
    json_decref(g);
    /* pm@3 has nothing on a registered frame */
    assert_int_equal(trl_gate_registry_init(&ctx, r, "pm@3", &rs, &err), 0);
    assert_null(trl_gate_defaults(&ctx, &note, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "no evidence on a common frame: "
                           "pm@3 has metrics on none, pm@1 (production) on "
                           "holdout@1; run %compare pm@3 pm@1 --on FRAME"));
    /* no production version: nothing to be worse than */
    assert_int_equal(trl_gate_registry_init(&ctx, r, "solo@1", &rs, &err),
                     0);
    assert_non_null(g = trl_gate_defaults(&ctx, &note, &err));
    assert_int_equal(json_array_size(g), 0);
    assert_non_null(strstr(note, "no version of solo is in production"));
    free(note);
    json_decref(g);
    trl_registry_close(r);
}

static void test_business_metrics_direction(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "%s/business.sqlite", tmpdir);
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    register_model(r, "bm");
    register_model(r, "bm");
    trl_frame *h = csv("x\n1\n2\n");
    int v;
    trl_registry_register(r, "eval", h, &v, &err);
    trl_frame_decref(h);
    trl_registry_stage_model(r, "bm@1", TRL_STAGE_PRODUCTION, &err);
    assert_int_equal(trl_registry_define_metric(r, "churn_cost", "function "
                                                "(y, s) return 0 end", 0,
                                                NULL, &err), 0);
    record(r, "{\"models\": [\"bm@2\", \"bm@1\"], \"on\": \"eval@1\", "
              "\"resamples\": 0, \"metrics\": ["
              "{\"name\": \"churn_cost\", \"cells\": [{\"value\": 10}, "
              "{\"value\": 12}]},"
              "{\"name\": \"mystery\", \"cells\": [{\"value\": 1}, "
              "{\"value\": 2}]}]}");
    trl_gate_registry ctx;
    trl_gate_resolver rs;
    char *note;
    assert_int_equal(trl_gate_registry_init(&ctx, r, "bm@2", &rs, &err), 0);
    json_t *g = trl_gate_defaults(&ctx, &note, &err);
    assert_non_null(g);
    assert_int_equal(json_array_size(g), 1);
    assert_string_equal(json_string_value(json_array_get(g, 0)),
                        "churn_cost@eval@1 <= production");
    assert_non_null(strstr(note, "whether higher is better: mystery"));
    free(note);
    json_decref(g);
    /* the promotion: lower cost passes */
    trl_promote_request rq = {.model = "bm@2", .to = TRL_STAGE_PRODUCTION,
                              .who = "tester", .host = "box"};
    json_t *res = trl_registry_promote(r, &rq, &err);
    assert_non_null(res);
    assert_string_equal(json_string_value(json_object_get(res, "outcome")),
                        "promoted");
    assert_non_null(strstr(json_string_value(json_object_get(res, "note")),
                           "mystery"));
    json_decref(res);
    trl_registry_close(r);
    snprintf(path, sizeof path, "%s/reg.sqlite", tmpdir);
}

/* ---- promotions ------------------------------------------------------------------- */

static json_t *promote(trl_registry *r, const char *model, trl_stage to,
                       const char *const *gates, size_t n, int force,
                       const char *reason)
{
    trl_promote_request rq = {model, to, gates, n, force, reason,
                              "tester", "box", "history 7"};
    trl_error err = {0};
    json_t *res = trl_registry_promote(r, &rq, &err);
    if (!res)
        fail_msg("promote %s: %s", model, err.message);
    return res;
}

static const char *field(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *stage_of(trl_registry *r, const char *ref)
{
    trl_stage s;
    trl_error err = {0};
    assert_int_equal(trl_registry_model_stage(r, ref, &s, &err), 0);
    return trl_stage_name(s);
}

static void test_refused_and_accepted_promotions(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    /* no evidence in common: refused, saying what to run */
    json_t *res = promote(r, "pm@3", TRL_STAGE_PRODUCTION, NULL, 0, 0, NULL);
    assert_string_equal(field(res, "outcome"), "refused");
    assert_false(json_is_true(json_object_get(res, "ok")));
    assert_non_null(strstr(field(res, "message"), "refused: no evidence on "
                           "a common frame"));
    assert_non_null(strstr(field(res, "message"), "; pm@3 stays in none"));
    assert_int_equal(json_integer_value(json_object_get(res, "audit")), 1);
    json_decref(res);
    assert_string_equal(stage_of(r, "pm@3"), "none");
    assert_string_equal(stage_of(r, "pm@1"), "production");
    /* a gate that fails: refused, stages unchanged */
    const char *strict[] = {"auc@holdout@1 >= production + 0.05",
                            "p99_ms@batch1 <= 5", "validate(nowhere)"};
    res = promote(r, "pm@2", TRL_STAGE_PRODUCTION, strict, 3, 0, NULL);
    assert_string_equal(field(res, "outcome"), "refused");
    assert_string_equal(field(res, "message"), "refused: 1 of 3 gates "
                        "failed (auc@holdout@1 >= production + 0.05) and 1 "
                        "had no evidence (validate(nowhere)); pm@2 stays in "
                        "none");
    json_t *gates = json_object_get(res, "gates");
    assert_int_equal(json_array_size(gates), 3);
    assert_string_equal(field(json_array_get(gates, 1), "outcome"), "pass");
    assert_string_equal(field(json_array_get(gates, 1), "detail"),
                        "p99_ms@batch1 = 3.5 <= 5");
    assert_false(json_is_true(json_object_get(json_array_get(gates, 0),
                                              "default")));
    assert_string_equal(field(res, "production"), "pm@1");
    assert_string_equal(field(res, "who"), "tester");
    json_decref(res);
    assert_string_equal(stage_of(r, "pm@2"), "none");
    assert_string_equal(stage_of(r, "pm@1"), "production");
    /* to staging with the defaults (not worse than production) */
    res = promote(r, "pm@2", TRL_STAGE_STAGING, NULL, 0, 0, NULL);
    assert_string_equal(field(res, "message"), "promoted pm@2 to staging");
    json_decref(res);
    assert_string_equal(stage_of(r, "pm@2"), "staging");
    /* then production: pm@1 is archived */
    res = promote(r, "pm@staging", TRL_STAGE_PRODUCTION, NULL, 0, 0, NULL);
    assert_string_equal(field(res, "outcome"), "promoted");
    assert_string_equal(field(res, "from"), "staging");
    assert_string_equal(field(res, "message"), "promoted pm@2 to production "
                        "(pm@1 archived)");
    assert_string_equal(field(res, "archived"), "pm@1");
    gates = json_object_get(res, "gates");
    assert_int_equal(json_array_size(gates), 2);
    assert_true(json_is_true(json_object_get(json_array_get(gates, 0),
                                             "default")));
    assert_string_equal(field(json_array_get(gates, 0), "detail"),
                        "auc@holdout@1 = 0.8 >= production 0.78 "
                        "(production is pm@1)");
    json_decref(res);
    assert_string_equal(stage_of(r, "pm@2"), "production");
    assert_string_equal(stage_of(r, "pm@1"), "archived");
    /* an override needs a reason, and is logged as forced */
    const char *hard[] = {"auc@holdout@1 >= 0.99"};
    trl_promote_request rq = {"pm@3", TRL_STAGE_PRODUCTION, hard, 1, 1,
                              NULL, NULL, NULL, NULL};
    assert_null(trl_registry_promote(r, &rq, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    assert_non_null(strstr(err.message, "an override needs a reason"));
    res = promote(r, "pm@3", TRL_STAGE_PRODUCTION, hard, 1, 1,
                  "rollback of incident 42");
    assert_string_equal(field(res, "outcome"), "forced");
    assert_true(json_is_true(json_object_get(res, "ok")));
    assert_string_equal(field(res, "message"), "FORCED: promoted pm@3 to "
                        "production although 1 of 1 gate had no evidence "
                        "(auc@holdout@1 >= 0.99) (reason: rollback of "
                        "incident 42) (pm@2 archived)");
    json_decref(res);
    assert_string_equal(stage_of(r, "pm@3"), "production");
    /* no production version of solo: promoted with a note */
    res = promote(r, "solo@1", TRL_STAGE_PRODUCTION, NULL, 0, 0, NULL);
    assert_string_equal(field(res, "outcome"), "promoted");
    assert_non_null(strstr(field(res, "note"), "nothing to be worse than"));
    json_decref(res);
    trl_registry_close(r);
    /* six attempts so far, one per call that reached its gates */
    assert_int_equal(raw_int("SELECT COUNT(*) FROM promotions"), 6);
}

static void test_requests_that_are_not_attempts(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    int before = raw_int("SELECT COUNT(*) FROM promotions");
    const char *bad[] = {"auc@holdout >= 0.8", "auc@holdout >="};
    trl_promote_request rq = {"pm@2", TRL_STAGE_PRODUCTION, bad, 2, 0,
                              NULL, NULL, NULL, NULL};
    assert_null(trl_registry_promote(r, &rq, &err));
    assert_string_equal(err.message, "gate 2 'auc@holdout >=': column 15: "
                        "expected a number or a term after '>='");
    rq.ngates = 0;
    rq.to = TRL_STAGE_ARCHIVED;
    assert_null(trl_registry_promote(r, &rq, &err));
    assert_non_null(strstr(err.message, "to staging or production"));
    rq.to = TRL_STAGE_STAGING;
    rq.model = "pm@7";
    assert_null(trl_registry_promote(r, &rq, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    rq.model = "pm";
    assert_null(trl_registry_promote(r, &rq, &err));
    assert_non_null(strstr(err.message, "name the version"));
    rq.model = "pm@2";
    rq.ngates = TRL_GATE_MAX_GATES + 1;
    assert_null(trl_registry_promote(r, &rq, &err));
    rq.ngates = 0;
    rq.reason = "\xff";
    assert_null(trl_registry_promote(r, &rq, &err));
    assert_non_null(strstr(err.message, "UTF-8"));
    trl_registry_close(r);
    assert_int_equal(raw_int("SELECT COUNT(*) FROM promotions"), before);
    /* a read-only registry refuses: an attempt it cannot log does not
     * happen */
    char uri[200];
    snprintf(uri, sizeof uri, "file:%s?mode=ro", path);
    r = trl_registry_open(uri, &err);
    assert_non_null(r);
    rq.reason = NULL;
    rq.model = "pm@1";
    assert_null(trl_registry_promote(r, &rq, &err));
    assert_int_equal(err.code, TRL_EIO);
    assert_non_null(strstr(err.message, path));
    trl_registry_close(r);
    assert_int_equal(raw_int("SELECT COUNT(*) FROM promotions"), before);
}

static void test_history_after_reopening(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    json_t *h = trl_registry_model_history(r, "pm", &err);
    assert_non_null(h);
    json_t *stages = json_object_get(h, "stages");
    json_t *log = json_object_get(h, "promotions");
    /* 3 registrations, pm@1 to production, pm@2 to staging, pm@2 to
     * production (+ pm@1 archived), pm@3 to production (+ pm@2 archived) */
    assert_int_equal(json_array_size(stages), 9);
    assert_int_equal(json_array_size(log), 5);
    json_t *forced = json_array_get(log, 4);
    assert_string_equal(field(forced, "outcome"), "forced");
    assert_string_equal(field(forced, "reason"), "rollback of incident 42");
    assert_string_equal(field(forced, "model"), "pm@3");
    assert_string_equal(field(forced, "who"), "tester");
    assert_string_equal(field(forced, "host"), "box");
    assert_string_equal(field(forced, "session"), "history 7");
    assert_string_equal(field(forced, "from"), "none");
    assert_string_equal(field(forced, "to"), "production");
    assert_string_equal(field(forced, "archived"), "pm@2");
    assert_true(json_is_true(json_object_get(forced, "forced")));
    assert_int_equal(json_integer_value(json_object_get(forced, "pid")),
                     getpid());
    json_t *g = json_array_get(json_object_get(forced, "gates"), 0);
    assert_string_equal(field(g, "gate"), "auc@holdout@1 >= 0.99");
    assert_string_equal(field(g, "outcome"), "error");
    json_t *first = json_array_get(log, 0);
    assert_string_equal(field(first, "outcome"), "refused");
    assert_int_equal(json_array_size(json_object_get(first, "gates")), 0);
    json_decref(h);
    assert_null(trl_registry_model_history(r, "nobody", &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    assert_null(trl_registry_model_history(r, "9x", &err));
    assert_int_equal(err.code, TRL_EINVAL);
    trl_registry_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gates_read_recorded_rows),
        cmocka_unit_test(test_default_gates_from_common_evidence),
        cmocka_unit_test(test_business_metrics_direction),
        cmocka_unit_test(test_refused_and_accepted_promotions),
        cmocka_unit_test(test_requests_that_are_not_attempts),
        cmocka_unit_test(test_history_after_reopening),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
