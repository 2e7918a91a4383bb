/* drift.c - %drift REF NEW [--features a,b] [--threshold 0.2] [--model M]:
 * how far a new frame has moved from a reference, feature by feature
 * (or, with a model, its predictions), shown as a table with histograms
 * of the flagged features, recorded in the registry for promotion gates,
 * and bound to `_`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"
#include "trellis/guard.h"
#include "magics/magic_int.h"

#define MAX_FEATURES 512

typedef struct args {
    char buf[8192];                  /* the tokens, NUL-separated */
    const char *frames[2];
    size_t nframes;
    const char *features[MAX_FEATURES];
    size_t nfeatures;
    int has_features;
    double threshold;
    const char *model;
} args;

static int usage(trl_exec_ctx *ctx, const char *why)
{
    char msg[400];
    snprintf(msg, sizeof msg, "%s; usage: %%drift REF NEW [--features a,b] "
             "[--threshold 0.2] [--model MODEL]", why);
    trl_ctx_fail(ctx, "UsageError", msg, NULL);
    return TRL_EINVAL;
}

/* Splits text into the fields of a; a message in *why when it is wrong. */
static int parse(const char *text, args *a, const char **why)
{
    memset(a, 0, sizeof *a);
    a->threshold = TRL_DRIFT_THRESHOLD;
    if (strlen(text) >= sizeof a->buf)
        return *why = "the arguments are too long", -1;
    strcpy(a->buf, text);
    char *save = NULL;
    for (char *t = strtok_r(a->buf, " \t", &save); t;
         t = strtok_r(NULL, " \t", &save)) {
        if (strncmp(t, "--", 2) != 0) {
            if (a->nframes == 2)
                return *why = "name two frames: the reference, then the "
                              "new one", -1;
            a->frames[a->nframes++] = t;
            continue;
        }
        char *v = strtok_r(NULL, " \t", &save);
        if (!v)
            return *why = "an option lacks its value", -1;
        if (strcmp(t, "--threshold") == 0) {
            char *end;
            a->threshold = strtod(v, &end);
            if (*end || !(a->threshold > 0) || !isfinite(a->threshold))
                return *why = "--threshold takes a PSI above 0, such as "
                              "0.2", -1;
        } else if (strcmp(t, "--model") == 0) {
            a->model = v;
        } else if (strcmp(t, "--features") == 0) {
            a->has_features = 1;
            char *fsave = NULL;
            for (char *f = strtok_r(v, ",", &fsave); f;
                 f = strtok_r(NULL, ",", &fsave)) {
                if (a->nfeatures == MAX_FEATURES)
                    return *why = "at most 512 features", -1;
                a->features[a->nfeatures++] = f;
            }
            if (!a->nfeatures)
                return *why = "--features takes column names, such as "
                              "age,plan", -1;
        } else {
            return *why = "unknown option", -1;
        }
    }
    if (a->nframes != 2)
        return *why = "name two frames: the reference, then the new one",
               -1;
    return 0;
}

/* Keeps the result in the registry, noting its number in it; a registry
 * that cannot take it (read-only) does not fail the magic. */
static void record(trl_registry *r, json_t *result)
{
    long long id;
    trl_error err = {0};
    if (!r)
        return;
    if (trl_registry_record_drift(r, result, &id, &err) == 0)
        json_object_set_new(result, "recorded", json_integer(id));
    else
        fprintf(stderr, "[trellis] %s\n", err.message);
}

static int drift(trl_magic_env *env, const char *text, trl_exec_ctx *ctx)
{
    args *a = malloc(sizeof *a);
    const char *why = NULL;
    if (!a) {
        trl_ctx_fail(ctx, "MemoryError", "out of memory", NULL);
        return TRL_ENOMEM;
    }
    if (parse(text ? text : "", a, &why) != 0) {
        free(a);
        return usage(ctx, why);
    }
    trl_error err = {0};
    trl_frame *ref = NULL, *cur = NULL;
    trl_model *model = NULL;
    json_t *result = NULL;
    if (!(ref = trl__magic_find_frame(env, a->frames[0], &err)) ||
        !(cur = trl__magic_find_frame(env, a->frames[1], &err)) ||
        (a->model && !(model = trl__magic_find_model(env, a->model, &err))))
        goto done;
    trl_drift_request rq = {
        .ref = ref, .new_frame = cur, .ref_name = a->frames[0],
        .new_name = a->frames[1],
        .features = a->has_features ? a->features : NULL,
        .nfeatures = a->nfeatures, .threshold = a->threshold,
        .model = model};
    if (!(result = trl_drift_run(&rq, &err)))
        goto done;
    record(trl_magic_registry(env), result);
    json_t *bundle = trl_display_drift(result);
    if (!bundle)
        trl_error_set(&err, TRL_ENOMEM, "out of memory");
    else
        trl_ctx_display(ctx, bundle, NULL, NULL);
    {
        /* the result as `_`, for code after the magic */
        trl_engine *e = trl_magic_engine(env);
        if (e && e->ops->set_last)
            e->ops->set_last(e, result);
    }
done:
    trl_frame_decref(ref);
    trl_frame_decref(cur);
    trl_model_decref(model);
    json_decref(result);
    free(a);
    if (err.code) {
        trl_ctx_fail(ctx, err.code == TRL_EINTR ? "KeyboardInterrupt"
                                                : "DriftError",
                     err.message, NULL);
        return err.code;
    }
    return 0;
}

const trl_magic trl__magic_drift = {
    "drift", "%drift REF NEW [--features a,b] [--threshold 0.2] "
    "[--model MODEL]",
    "how far NEW has moved from REF, feature by feature: PSI over REF's "
    "deciles (and missing), the two-sample Kolmogorov-Smirnov statistic "
    "and p-value for numbers, the Jensen-Shannon distance for categories; "
    "a table by PSI with features over the threshold flagged and their "
    "histograms drawn. --model compares the model's predictions on the "
    "two frames instead. Recorded in the registry for promotion gates; "
    "the result is also `_`", drift, NULL};
