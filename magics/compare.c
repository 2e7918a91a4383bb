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
#include "magics/magic_int.h"

#define MAX_MODELS 16
#define MAX_METRICS 32
#define DEFAULT_RESAMPLES 1000

typedef struct args {
    char buf[2048];              /* the tokens, NUL-separated */
    const char *models[MAX_MODELS];
    size_t nmodels;
    const char *on, *by, *group, *weight;
    const char *metrics[MAX_METRICS];
    size_t nmetrics;
    long resamples;
    unsigned long long seed;
} args;

static int usage(trl_exec_ctx *ctx, const char *magic, const char *why)
{
    char msg[400];
    snprintf(msg, sizeof msg, "%s; usage: %%%s%s --on FRAME [--metrics "
             "auc,logloss] [--bootstrap 1000] [--seed 1] [--by COLUMN] "
             "[--group COLUMN] [--weight COLUMN]", why, magic,
             strcmp(magic, "compare") == 0 ? " MODEL MODEL..." : " MODEL");
    trl_ctx_fail(ctx, "UsageError", msg, NULL);
    return TRL_EINVAL;
}

/* Splits text into the fields of a; a message in *why when it is wrong. */
static int parse(const char *text, args *a, const char **why)
{
    memset(a, 0, sizeof *a);
    a->resamples = DEFAULT_RESAMPLES;
    a->seed = 1;
    if (strlen(text) >= sizeof a->buf)
        return *why = "the arguments are too long", -1;
    strcpy(a->buf, text);
    char *save = NULL;
    for (char *t = strtok_r(a->buf, " \t", &save); t;
         t = strtok_r(NULL, " \t", &save)) {
        if (strncmp(t, "--", 2) != 0) {
            if (a->nmodels == MAX_MODELS)
                return *why = "at most 16 models", -1;
            a->models[a->nmodels++] = t;
            continue;
        }
        char *v = strtok_r(NULL, " \t", &save);
        if (!v)
            return *why = "an option lacks its value", -1;
        if (strcmp(t, "--on") == 0)
            a->on = v;
        else if (strcmp(t, "--by") == 0)
            a->by = v;
        else if (strcmp(t, "--group") == 0)
            a->group = v;
        else if (strcmp(t, "--weight") == 0)
            a->weight = v;
        else if (strcmp(t, "--bootstrap") == 0 || strcmp(t, "--seed") == 0) {
            char *end;
            unsigned long long n = strtoull(v, &end, 10);
            if (*end || v[0] == '-')
                return *why = "--bootstrap and --seed take whole numbers",
                       -1;
            if (t[2] == 'b' && n > 100000)
                return *why = "--bootstrap takes at most 100000", -1;
            if (t[2] == 'b')
                a->resamples = (long)n;
            else
                a->seed = n;
        } else if (strcmp(t, "--metrics") == 0) {
            char *msave = NULL;
            for (char *m = strtok_r(v, ",", &msave); m;
                 m = strtok_r(NULL, ",", &msave)) {
                if (a->nmetrics == MAX_METRICS)
                    return *why = "at most 32 metrics", -1;
                a->metrics[a->nmetrics++] = m;
            }
        } else {
            return *why = "unknown option", -1;
        }
    }
    return 0;
}

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
                       trl_exec_ctx *ctx, const char *magic, int single)
{
    args a;
    const char *why = NULL;
    if (parse(text ? text : "", &a, &why) != 0)
        return usage(ctx, magic, why);
    if (single ? a.nmodels != 1 : a.nmodels < 1)
        return usage(ctx, magic, single ? "name one model"
                                        : "name the models to compare");
    if (!a.on)
        return usage(ctx, magic, "--on names the frame to compare on");
    trl_error err = {0};
    trl_model *models[MAX_MODELS] = {0};
    trl_metric_external external[MAX_METRICS];
    size_t nexternal = 0;
    trl_frame *on = NULL;
    json_t *result = NULL;
    for (size_t i = 0; i < a.nmodels; i++)
        if (!(models[i] = trl__magic_find_model(env, a.models[i], &err)))
            goto done;
    if (!(on = trl__magic_find_frame(env, a.on, &err)))
        goto done;
    /* names the engine defined (business metrics) become external */
    trl_engine *e = trl_magic_engine(env);
    size_t kept = 0;
    for (size_t i = 0; i < a.nmetrics; i++) {
        trl_metric m;
        trl_error perr = {0}, lerr = {0};
        int rc = TRL_ENOTFOUND;
        if (trl_metric_parse(a.metrics[i], &m, &perr) == 0) {
            a.metrics[kept++] = a.metrics[i];
        } else if (e && e->ops->metric &&
                   (rc = e->ops->metric(e, a.metrics[i],
                                        &external[nexternal], &lerr)) == 0) {
            nexternal++;
        } else {
            /* a defined metric that cannot load says why, not "unknown" */
            err = rc == TRL_ENOTFOUND ? perr : lerr;
            goto done;
        }
    }
    a.nmetrics = kept;
    trl_compare_request rq = {
        .models = models, .nmodels = a.nmodels, .on = on,
        .metrics = a.nmetrics ? a.metrics : NULL, .nmetrics = a.nmetrics,
        .resamples = (int)a.resamples, .seed = a.seed, .by = a.by,
        .group = a.group, .weight = a.weight, .external = external,
        .nexternal = nexternal};
    if (!(result = trl_compare_models(&rq, &err)))
        goto done;
    record(trl_magic_registry(env), result);
    json_t *bundle = trl_display_comparison(result);
    if (!bundle)
        trl_error_set(&err, TRL_ENOMEM, "out of memory");
    else
        trl_ctx_display(ctx, bundle, NULL, NULL);
done:
    for (size_t i = 0; i < a.nmodels; i++)
        trl_model_decref(models[i]);
    for (size_t i = 0; i < nexternal; i++)
        if (external[i].release)
            external[i].release(external[i].ctx);
    trl_frame_decref(on);
    json_decref(result);
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
    return run_compare(env, text, ctx, "compare", 0);
}

static int metrics(trl_magic_env *env, const char *text, trl_exec_ctx *ctx)
{
    return run_compare(env, text, ctx, "metrics", 1);
}

const trl_magic trl__magic_compare = {
    "compare", "%compare MODEL MODEL... --on FRAME [--metrics auc,logloss] "
    "[--bootstrap 1000] [--seed 1] [--by COLUMN] [--group COLUMN] "
    "[--weight COLUMN]",
    "compare models on a frame: each metric with a 95% bootstrap interval, "
    "and each model's paired difference from the first with its interval "
    "and p-value; --by adds a table per segment; --group names the user or "
    "query column (ranking metrics need it; with it every metric resamples "
    "whole groups)", compare, NULL};

const trl_magic trl__magic_metrics = {
    "metrics", "%metrics MODEL --on FRAME [--metrics auc,logloss] "
    "[--bootstrap 1000]",
    "one model's metrics on a frame, with 95% bootstrap intervals",
    metrics, NULL};
