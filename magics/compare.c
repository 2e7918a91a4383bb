/* compare.c - %compare m1 m2 ... --on FRAME and %metrics MODEL --on FRAME:
 * models side by side on technical metrics with paired bootstrap
 * intervals. Models and frames are named as code names them: a global
 * variable, or a registered "name", "name@N", "name@production". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"
#include "trellis/magic.h"
#include "trellis/metrics.h"
#include "trellis/model.h"
#include "magics/args.h"
#include "magics/magic_int.h"

#define MAX_MODELS 16
#define MAX_METRICS 32
#define DEFAULT_RESAMPLES 1000

enum {
    OPT_ON, OPT_METRICS, OPT_BOOTSTRAP, OPT_SEED, OPT_BY, OPT_GROUP,
    OPT_WEIGHT
};

static const char *const positionals[] = {"MODEL", NULL};

/* %compare and %metrics take the same options */
static const trl__arg_opt options[] = {
    [OPT_ON] = {.name = "on", .kind = TRL__ARG_WORD, .meta = "FRAME",
                .flags = TRL__ARG_REQUIRED,
                .missing = "--on names the frame to compare on"},
    [OPT_METRICS] = {.name = "metrics", .kind = TRL__ARG_LIST,
                     .meta = "auc,logloss", .what = "metric names",
                     .example = "auc,logloss", .max_items = MAX_METRICS},
    [OPT_BOOTSTRAP] = {.name = "bootstrap", .kind = TRL__ARG_INT,
                       .meta = "1000", .what = "a whole number of "
                       "resamples", .min = 0, .max = 100000},
    [OPT_SEED] = {.name = "seed", .kind = TRL__ARG_INT, .meta = "1",
                  .min = 0, .max = 999999999999999999ll},
    [OPT_BY] = {.name = "by", .kind = TRL__ARG_WORD, .meta = "COLUMN"},
    [OPT_GROUP] = {.name = "group", .kind = TRL__ARG_WORD,
                   .meta = "COLUMN"},
    [OPT_WEIGHT] = {.name = "weight", .kind = TRL__ARG_WORD,
                    .meta = "COLUMN"},
};

const trl__args_spec trl__compare_args = {
    .magic = "%compare", .pos_names = positionals, .min_pos = 1,
    .max_pos = MAX_MODELS, .pos_missing = "name the models to compare",
    .pos_extra = "name at most 16 models", .opts = options,
    .nopts = sizeof options / sizeof *options};

const trl__args_spec trl__metrics_args = {
    .magic = "%metrics", .pos_names = positionals, .min_pos = 1,
    .max_pos = 1, .pos_missing = "name one model",
    .pos_extra = "name one model", .opts = options,
    .nopts = sizeof options / sizeof *options};

/* Keeps the result in the registry, noting its number in it; a registry
 * that cannot take it (read-only) does not fail the comparison. */
static void record(trl_registry *r, json_t *result)
{
    long long id;
    trl_error err = {0};
    if (!r)
        return;
    if (trl_registry_record_comparison(r, result, &id, &err) == 0)
        json_object_set_new(result, "recorded", json_integer(id));
    else
        fprintf(stderr, "[trellis] %s\n", err.message);
}

static int run_compare(trl_magic_env *env, const char *text,
                       trl_exec_ctx *ctx, const trl__args_spec *spec)
{
    trl__args a;
    trl_error err = {0};
    if (trl__args_parse(spec, text, &a, &err) != 0)
        return trl__args_fail(ctx, &err);
    const char *names[MAX_METRICS];
    size_t nnames = trl__args_texts(&a, OPT_METRICS, names, MAX_METRICS);
    trl_model *models[MAX_MODELS] = {0};
    trl_metric_external external[MAX_METRICS];
    size_t nexternal = 0;
    trl_frame *on = NULL;
    json_t *result = NULL;
    for (size_t i = 0; i < a.npos; i++)
        if (!(models[i] = trl__magic_find_model(env, a.pos[i], &err)))
            goto done;
    if (!(on = trl__magic_find_frame(env, trl__args_str(&a, OPT_ON, NULL),
                                     &err)))
        goto done;
    /* names the engine defined (business metrics) become external */
    trl_engine *e = trl_magic_engine(env);
    size_t kept = 0;
    for (size_t i = 0; i < nnames; i++) {
        trl_metric m;
        trl_error perr = {0}, lerr = {0};
        int rc = TRL_ENOTFOUND;
        if (trl_metric_parse(names[i], &m, &perr) == 0) {
            names[kept++] = names[i];
        } else if (e && e->ops->metric &&
                   (rc = e->ops->metric(e, names[i],
                                        &external[nexternal], &lerr)) == 0) {
            nexternal++;
        } else {
            /* a defined metric that cannot load says why, not "unknown" */
            err = rc == TRL_ENOTFOUND ? perr : lerr;
            goto done;
        }
    }
    trl_compare_request rq = {
        .models = models, .nmodels = a.npos, .on = on,
        .metrics = kept ? names : NULL, .nmetrics = kept,
        .resamples = (int)trl__args_int(&a, OPT_BOOTSTRAP,
                                        DEFAULT_RESAMPLES),
        .seed = (uint64_t)trl__args_int(&a, OPT_SEED, 1),
        .by = trl__args_str(&a, OPT_BY, NULL),
        .group = trl__args_str(&a, OPT_GROUP, NULL),
        .weight = trl__args_str(&a, OPT_WEIGHT, NULL),
        .external = external, .nexternal = nexternal};
    if (!(result = trl_compare_models(&rq, &err)))
        goto done;
    record(trl_magic_registry(env), result);
    json_t *bundle = trl_display_comparison(result);
    if (!bundle)
        trl_error_set(&err, TRL_ENOMEM, "out of memory");
    else
        trl_ctx_display(ctx, bundle, NULL, NULL);
done:
    for (size_t i = 0; i < MAX_MODELS; i++)
        trl_model_decref(models[i]);
    for (size_t i = 0; i < nexternal; i++)
        if (external[i].release)
            external[i].release(external[i].ctx);
    trl_frame_decref(on);
    json_decref(result);
    trl__args_free(&a);
    if (err.code) {
        trl_ctx_fail(ctx, err.code == TRL_EINTR ? "KeyboardInterrupt"
                                                : "CompareError",
                     err.message, NULL);
        return err.code;
    }
    return 0;
}

static int compare(trl_magic_env *env, const char *text, trl_exec_ctx *ctx)
{
    return run_compare(env, text, ctx, &trl__compare_args);
}

static int metrics(trl_magic_env *env, const char *text, trl_exec_ctx *ctx)
{
    return run_compare(env, text, ctx, &trl__metrics_args);
}

const trl_magic trl__magic_compare = {
    "compare", "%compare MODEL... --on FRAME [--metrics auc,logloss] "
    "[--bootstrap 1000] [--seed 1] [--by COLUMN] [--group COLUMN] "
    "[--weight COLUMN]",
    "compare models on a frame: each metric with a 95% bootstrap interval, "
    "and each model's paired difference from the first with its interval "
    "and p-value; --by adds a table per segment; --group names the user or "
    "query column (ranking metrics need it; with it every metric resamples "
    "whole groups)", compare, NULL};

const trl_magic trl__magic_metrics = {
    "metrics", "%metrics MODEL --on FRAME [--metrics auc,logloss] "
    "[--bootstrap 1000] [--seed 1] [--by COLUMN] [--group COLUMN] "
    "[--weight COLUMN]",
    "one model's metrics on a frame, with 95% bootstrap intervals",
    metrics, NULL};
