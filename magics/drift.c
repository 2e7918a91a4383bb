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
#include "magics/args.h"
#include "magics/magic_int.h"

#define MAX_FEATURES 512

enum { OPT_FEATURES, OPT_THRESHOLD, OPT_MODEL };

static const char *const positionals[] = {"REF", "NEW", NULL};

static const trl__arg_opt options[] = {
    [OPT_FEATURES] = {.name = "features", .kind = TRL__ARG_LIST,
                      .meta = "a,b", .what = "column names",
                      .example = "age,plan", .max_items = MAX_FEATURES},
    [OPT_THRESHOLD] = {.name = "threshold", .kind = TRL__ARG_DOUBLE,
                       .meta = "0.2", .what = "a PSI", .lo = 0,
                       .lo_open = 1, .hi = INFINITY, .example = "0.2"},
    [OPT_MODEL] = {.name = "model", .kind = TRL__ARG_WORD,
                   .meta = "MODEL"},
};

const trl__args_spec trl__drift_args = {
    .magic = "%drift", .pos_names = positionals, .min_pos = 2,
    .max_pos = 2,
    .pos_missing = "name two frames: the reference, then the new one",
    .pos_extra = "name two frames: the reference, then the new one",
    .opts = options, .nopts = sizeof options / sizeof *options};

/* Keeps the result in the registry, noting its number in it; a registry
 * that cannot take it (read-only) does not fail the magic. */
static void record(trl_registry *r, json_t *result)
{
    long long id;
    trl_error err = {0};
    if (!r)
        json_object_set_new(result, "not_recorded",
                            json_string("the registry is not available"));
    else if (trl_registry_record_drift(r, result, &id, &err) == 0)
        json_object_set_new(result, "recorded", json_integer(id));
    else
        json_object_set_new(result, "not_recorded",
                            json_string(err.message));
}

static int drift(trl_magic_env *env, const char *text, trl_exec_ctx *ctx)
{
    trl__args a;
    trl_error err = {0};
    if (trl__args_parse(&trl__drift_args, text, &a, &err) != 0)
        return trl__args_fail(ctx, &err);
    const char *features[MAX_FEATURES];
    size_t nfeatures = trl__args_texts(&a, OPT_FEATURES, features,
                                       MAX_FEATURES);
    const char *model_name = trl__args_str(&a, OPT_MODEL, NULL);
    trl_frame *ref = NULL, *cur = NULL;
    trl_model *model = NULL;
    json_t *result = NULL;
    if (!(ref = trl__magic_find_frame(env, a.pos[0], &err)) ||
        !(cur = trl__magic_find_frame(env, a.pos[1], &err)) ||
        (model_name && !(model = trl__magic_find_model(env, model_name,
                                                       &err))))
        goto done;
    trl_drift_request rq = {
        .ref = ref, .new_frame = cur, .ref_name = a.pos[0],
        .new_name = a.pos[1], .features = nfeatures ? features : NULL,
        .nfeatures = nfeatures,
        .threshold = trl__args_double(&a, OPT_THRESHOLD,
                                      TRL_DRIFT_THRESHOLD),
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
    trl__args_free(&a);
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
