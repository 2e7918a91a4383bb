/* test_gate_eval.c - gate_eval.c against a made-up resolver: values
 * compared and shown, 'production'/'staging' as the other side read for
 * that version on the candidate's own frames, missing evidence as an
 * error with Kleene's logic around it, NaN and infinities, and memory
 * running out in a resolver. No registry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/gate.h"

/* ---- the fake evidence --------------------------------------------------------- */

typedef struct fact {
    trl_gate_subject who;
    const char *metric, *frame;  /* frame: the exact ref recorded */
    double value;
} fact;

static const fact facts[] = {
    {TRL_GATE_CANDIDATE, "auc", "holdout@2", 0.8312},
    {TRL_GATE_CANDIDATE, "logloss", "holdout@2", 0.41},
    {TRL_GATE_PRODUCTION, "auc", "holdout@1", 0.99},  /* an older frame */
    {TRL_GATE_PRODUCTION, "auc", "holdout@2", 0.827},
    {TRL_GATE_PRODUCTION, "logloss", "holdout@2", 0.45},
    {TRL_GATE_STAGING, "auc", "holdout@2", 0.84},
    {TRL_GATE_CANDIDATE, "ndcg@10", "ranked@1", 0.5},
    {TRL_GATE_CANDIDATE, "undefined", "holdout@2", NAN},
};

typedef struct fake {
    char asked[8][64];   /* the frames asked for, in order */
    int nasked;
    int bench_batch, bench_threads;
    char feature[64];
    int oom;             /* the metric callback runs out of memory */
    int no_staging;
} fake;

static const char *label(void *ctx, trl_gate_subject who)
{
    fake *f = ctx;
    static const char *const refs[] = {"churn@3", "churn@2", "churn@4"};
    return who == TRL_GATE_STAGING && f->no_staging ? NULL : refs[who];
}

/* "holdout" matches any version: the last fact listed wins, as the
 * latest comparison does in the registry. */
static int metric(void *ctx, trl_gate_subject who, const char *name,
                  const char *frame, double *out, char *used, size_t size,
                  trl_error *err)
{
    fake *f = ctx;
    if (f->oom)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    if (!label(ctx, who))
        return trl_error_set(err, TRL_ENOTFOUND, "churn has no version in "
                             "staging");
    if (f->nasked < 8)
        snprintf(f->asked[f->nasked++], 64, "%s:%s", label(ctx, who),
                 frame);
    const fact *hit = NULL;
    size_t fl = strlen(frame);
    for (size_t i = 0; i < sizeof facts / sizeof *facts; i++) {
        const fact *x = &facts[i];
        if (x->who != who || strcmp(x->metric, name) != 0)
            continue;
        if (strcmp(x->frame, frame) == 0 ||
            (!strchr(frame, '@') && strncmp(x->frame, frame, fl) == 0 &&
             x->frame[fl] == '@'))
            hit = x;
    }
    if (!hit)
        return trl_error_set(err, TRL_ENOTFOUND, "no %%compare of %s on %s "
                             "is recorded", label(ctx, who), frame);
    *out = hit->value;
    snprintf(used, size, "%s", hit->frame);
    return 0;
}

static int bench(void *ctx, trl_gate_subject who, const char *stat,
                 long long batch, int threads, double *out, trl_error *err)
{
    fake *f = ctx;
    f->bench_batch = (int)batch;
    f->bench_threads = threads;
    if (strcmp(stat, "p99_ms") != 0)
        return trl_error_set(err, TRL_ENOTFOUND, "no %s", stat);
    *out = who == TRL_GATE_CANDIDATE ? 3.5 : 3.0;
    return 0;
}

static int drift(void *ctx, const char *ref, const char *new_frame,
                 const char *feature, double *out, trl_error *err)
{
    fake *f = ctx;
    snprintf(f->feature, sizeof f->feature, "%s", feature ? feature : "");
    if (strcmp(ref, "holdout") != 0 || strcmp(new_frame, "live") != 0)
        return trl_error_set(err, TRL_ENOTFOUND, "no %%drift of %s against "
                             "%s is recorded", ref, new_frame);
    *out = feature ? 0.05 : 0.13;
    return 0;
}

static int validate(void *ctx, const char *frame, int *ok, trl_error *err)
{
    (void)ctx;
    if (strcmp(frame, "missing") == 0)
        return trl_error_set(err, TRL_ENOTFOUND, "no %%validate of missing");
    *ok = strcmp(frame, "holdout") == 0;
    return 0;
}

static fake the_fake;
static const trl_gate_resolver resolver = {&the_fake, label, metric, bench,
                                           drift, validate};

/* Evaluates text: its outcome, and its detail compared when want is
 * not NULL. */
static trl_gate_outcome eval(const char *text, const char *want)
{
    trl_error err = {0};
    trl_gate *g = trl_gate_parse(text, strlen(text), &err);
    if (!g)
        fail_msg("'%s': %s", text, err.message);
    trl_gate_result res;
    assert_int_equal(trl_gate_eval(g, &resolver, &res, &err), 0);
    if (want && strcmp(res.detail, want) != 0)
        fail_msg("'%s':\n  got  '%s'\n  want '%s'", text, res.detail, want);
    trl_gate_outcome o = res.outcome;
    trl_gate_result_clear(&res);
    assert_null(res.detail);
    trl_gate_free(g);
    return o;
}

/* ---- tests --------------------------------------------------------------------- */

static void test_values_compared_and_shown(void **state)
{
    (void)state;
    memset(&the_fake, 0, sizeof the_fake);
    assert_int_equal(eval("auc@holdout >= production + 0.002",
                          "auc@holdout = 0.8312 >= production 0.827 + "
                          "0.002 = 0.829 (production is churn@2)"),
                     TRL_GATE_PASS);
    assert_int_equal(eval("auc@holdout >= production + 0.01",
                          "auc@holdout = 0.8312 >= production 0.827 + "
                          "0.01 = 0.837 (production is churn@2)"),
                     TRL_GATE_FAIL);
    assert_int_equal(eval("auc@holdout >= 0.8", "auc@holdout = 0.8312 >= "
                          "0.8"), TRL_GATE_PASS);
    assert_int_equal(eval("production <= auc@holdout",
                          "production 0.827 <= auc@holdout = 0.8312 "
                          "(production is churn@2)"), TRL_GATE_PASS);
    assert_int_equal(eval("auc@holdout >= staging",
                          "auc@holdout = 0.8312 >= staging 0.84 (staging "
                          "is churn@4)"), TRL_GATE_FAIL);
    assert_int_equal(eval("ndcg@010@ranked == 0.5",
                          "ndcg@010@ranked = 0.5 == 0.5"), TRL_GATE_PASS);
    /* several leaves: each with its truth */
    assert_int_equal(eval("auc@holdout > 0.9 or validate(holdout)",
                          "auc@holdout = 0.8312 > 0.9 (false); "
                          "validate(holdout) = true (true)"),
                     TRL_GATE_PASS);
    assert_int_equal(eval("not validate(live)", "validate(live) = false"),
                     TRL_GATE_PASS);
    assert_int_equal(eval("false", "false"), TRL_GATE_FAIL);
}

static void test_production_reads_the_candidates_frame(void **state)
{
    (void)state;
    memset(&the_fake, 0, sizeof the_fake);
    /* "holdout" resolves to holdout@2 for the candidate; production has
     * holdout@1 and holdout@2, and is read on holdout@2 */
    assert_int_equal(eval("auc@holdout >= production", NULL), TRL_GATE_PASS);
    assert_int_equal(the_fake.nasked, 2);
    assert_string_equal(the_fake.asked[0], "churn@3:holdout");
    assert_string_equal(the_fake.asked[1], "churn@2:holdout@2");
    /* a whole side stands for production: auc - logloss for each */
    assert_int_equal(eval("auc@holdout - logloss@holdout >= production",
                          "auc@holdout 0.8312 - logloss@holdout 0.41 = "
                          "0.4212 >= production 0.377 (production is "
                          "churn@2)"), TRL_GATE_PASS);
    assert_int_equal(eval("auc@holdout >= (production + staging) / 2",
                          "auc@holdout = 0.8312 >= (production 0.827 + "
                          "staging 0.84) / 2 = 0.8335 (production is "
                          "churn@2) (staging is churn@4)"), TRL_GATE_FAIL);
    assert_int_equal(eval("-(auc@holdout - 1) * 2 < 1", "-(auc@holdout "
                          "0.8312 - 1) * 2 = 0.3376 < 1"), TRL_GATE_PASS);
    assert_int_equal(eval("auc@holdout - (logloss@holdout - 1) > 0", NULL),
                     TRL_GATE_PASS);
}

static void test_bench_and_drift_terms(void **state)
{
    (void)state;
    memset(&the_fake, 0, sizeof the_fake);
    assert_int_equal(eval("p99_ms@batch32@threads2 <= 5",
                          "p99_ms@batch32@threads2 = 3.5 <= 5"),
                     TRL_GATE_PASS);
    assert_int_equal(the_fake.bench_batch, 32);
    assert_int_equal(the_fake.bench_threads, 2);
    assert_int_equal(eval("p99_ms@batch1 <= 1.1 * production",
                          "p99_ms@batch1 = 3.5 <= 1.1 * production 3 = 3.3 "
                          "(production is churn@2)"), TRL_GATE_FAIL);
    assert_int_equal(the_fake.bench_threads, 1);
    assert_int_equal(eval("drift(holdout, live) < 0.2",
                          "drift(holdout, live) = 0.13 < 0.2"),
                     TRL_GATE_PASS);
    assert_string_equal(the_fake.feature, "");
    assert_int_equal(eval("drift(holdout, live, 'plan type') < 0.01", NULL),
                     TRL_GATE_FAIL);
    assert_string_equal(the_fake.feature, "plan type");
}

static void test_missing_evidence_is_an_error(void **state)
{
    (void)state;
    memset(&the_fake, 0, sizeof the_fake);
    assert_int_equal(eval("pr_auc@holdout >= production",
                          "no %compare of churn@3 on holdout is recorded "
                          "(production is churn@2)"),
                     TRL_GATE_ERROR);
    the_fake.no_staging = 1;
    assert_int_equal(eval("logloss@holdout <= staging",
                          "churn has no version in staging"),
                     TRL_GATE_ERROR);
    the_fake.no_staging = 0;
    assert_int_equal(eval("p90_ms@batch1 < 1", "no p90_ms"), TRL_GATE_ERROR);
    assert_int_equal(eval("drift(holdout, other) < 1",
                          "no %drift of holdout against other is "
                          "recorded"), TRL_GATE_ERROR);
    assert_int_equal(eval("undefined@holdout > 0",
                          "undefined@holdout is undefined (NaN) in the "
                          "recorded result"), TRL_GATE_ERROR);
    /* Kleene: a decisive side decides; otherwise the error stands */
    assert_int_equal(eval("validate(missing) or auc@holdout > 0.5", NULL),
                     TRL_GATE_PASS);
    assert_int_equal(eval("validate(missing) and auc@holdout > 0.9",
                          "no %validate of missing (error); auc@holdout = "
                          "0.8312 > 0.9 (false)"), TRL_GATE_FAIL);
    assert_int_equal(eval("validate(missing) and auc@holdout > 0.5", NULL),
                     TRL_GATE_ERROR);
    assert_int_equal(eval("validate(missing) or auc@holdout > 0.9", NULL),
                     TRL_GATE_ERROR);
    assert_int_equal(eval("not validate(missing)", NULL), TRL_GATE_ERROR);
    /* a division by zero is not a number to compare */
    assert_int_equal(eval("auc@holdout / 0 > 1",
                          "auc@holdout 0.8312 / 0 = inf > 1: not a finite "
                          "number (a division by zero?)"), TRL_GATE_ERROR);
    assert_int_equal(eval("(auc@holdout - auc@holdout) / 0 < 1", NULL),
                     TRL_GATE_ERROR);
}

static void test_out_of_memory_in_a_resolver(void **state)
{
    (void)state;
    memset(&the_fake, 0, sizeof the_fake);
    the_fake.oom = 1;
    trl_error err = {0};
    const char *text = "auc@holdout > 0.5 or true";
    trl_gate *g = trl_gate_parse(text, strlen(text), &err);
    assert_non_null(g);
    trl_gate_result res;
    assert_int_equal(trl_gate_eval(g, &resolver, &res, &err), TRL_ENOMEM);
    assert_null(res.detail);
    trl_gate_free(g);
    /* a resolver without some callbacks: those terms are errors */
    trl_gate_resolver bare = {NULL, NULL, NULL, NULL, NULL, NULL};
    text = "validate(holdout) or p99_ms@batch1 < 1";
    assert_non_null(g = trl_gate_parse(text, strlen(text), &err));
    assert_int_equal(trl_gate_eval(g, &bare, &res, &err), 0);
    assert_int_equal(res.outcome, TRL_GATE_ERROR);
    assert_non_null(strstr(res.detail, "no source"));
    trl_gate_result_clear(&res);
    trl_gate_free(g);
    assert_string_equal(trl_gate_outcome_name(TRL_GATE_FAIL), "fail");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_compared_and_shown),
        cmocka_unit_test(test_production_reads_the_candidates_frame),
        cmocka_unit_test(test_bench_and_drift_terms),
        cmocka_unit_test(test_missing_evidence_is_an_error),
        cmocka_unit_test(test_out_of_memory_in_a_resolver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
