/* importance.c - %importance MODEL [--method M] [--on FRAME ...]: the
 * feature importance of a model (XGBoost's gain, weight or cover; a linear
 * model's standardised coefficients; permutation importance on a frame
 * with any metric, business metrics included), recorded against the model
 * version; and --history, each version's latest importance side by side.
 * Models and frames are named as code names them (magic_int.h). */
#include <string.h>

#include "trellis/display.h"
#include "trellis/importance.h"
#include "trellis/magic.h"
#include "magics/args.h"
#include "magics/magic_int.h"

/* A client reading the result as data finds it under this type in the
 * display bundle; notebooks ignore a type they have no renderer for. */
#define RESULT_MIME "application/vnd.trellis.importance+json"

enum {
    OPT_METHOD, OPT_ON, OPT_METRIC, OPT_REPEATS, OPT_SEED, OPT_TOP,
    OPT_INPUTS, OPT_HISTORY
};

static const char *const methods[] = {"gain", "weight", "cover",
                                      "total_gain", "total_cover", "coef",
                                      "permutation", NULL};

static const char *const positionals[] = {"MODEL", NULL};

static const trl__arg_opt options[] = {
    [OPT_METHOD] = {.name = "method", .kind = TRL__ARG_CHOICE,
                    .choices = methods,
                    .what = "gain, weight, cover, total_gain or total_cover "
                            "(XGBoost), coef (linear models) or "
                            "permutation"},
    [OPT_ON] = {.name = "on", .kind = TRL__ARG_WORD, .meta = "FRAME"},
    [OPT_METRIC] = {.name = "metric", .kind = TRL__ARG_WORD,
                    .meta = "auc"},
    [OPT_REPEATS] = {.name = "repeats", .kind = TRL__ARG_INT, .meta = "5",
                     .min = 1, .max = TRL_IMPORTANCE_MAX_REPEATS},
    [OPT_SEED] = {.name = "seed", .kind = TRL__ARG_INT, .meta = "1",
                  .min = 0, .max = 999999999999999999ll},
    [OPT_TOP] = {.name = "top", .kind = TRL__ARG_INT, .meta = "N",
                 .min = 1, .max = 100000},
    [OPT_INPUTS] = {.name = "inputs", .kind = TRL__ARG_FLAG},
    [OPT_HISTORY] = {.name = "history", .kind = TRL__ARG_FLAG},
};

/* The method asked for: --method, else permutation when a frame, metric,
 * repeats or seed is given (they are what it takes), else NULL: the
 * model's own default. */
static const char *method_of(const trl__args *a)
{
    int perm_opts = trl__args_given(a, OPT_ON) ||
                    trl__args_given(a, OPT_METRIC) ||
                    trl__args_given(a, OPT_REPEATS) ||
                    trl__args_given(a, OPT_SEED);
    return trl__args_str(a, OPT_METHOD, perm_opts ? "permutation" : NULL);
}

static int check(const trl__args *a, trl_error *err)
{
    int on = trl__args_given(a, OPT_ON) != 0;
    int run_opts = on || trl__args_given(a, OPT_REPEATS) ||
                   trl__args_given(a, OPT_SEED);
    if (trl__args_given(a, OPT_HISTORY)) {
        if (run_opts || trl__args_given(a, OPT_INPUTS))
            return trl_error_set(err, TRL_EINVAL, "--history shows the "
                                 "recorded runs: --on, --repeats, --seed "
                                 "and --inputs are for a new run");
        return 0;
    }
    const char *method = method_of(a);
    int perm = method && strcmp(method, "permutation") == 0;
    if (perm && !on)
        return trl_error_set(err, TRL_EINVAL, "permutation importance needs "
                             "--on FRAME, the rows it shuffles");
    if (!perm && (run_opts || trl__args_given(a, OPT_METRIC)))
        return trl_error_set(err, TRL_EINVAL, "--on, --metric, --repeats "
                             "and --seed are for --method permutation; %s "
                             "reads the model alone", method);
    return 0;
}

const trl__args_spec trl__importance_args = {
    .magic = "%importance", .pos_names = positionals, .min_pos = 1,
    .max_pos = 1, .pos_missing = "name the model",
    .pos_extra = "name one model", .opts = options,
    .nopts = sizeof options / sizeof *options, .check = check};

/* Keeps the result against the model version, noting in it the run's
 * number or why it was not kept (an unregistered model, a read-only
 * registry: the importance is still shown). */
static void record(trl_registry *r, json_t *result)
{
    long long id;
    trl_error err = {0};
    if (!r)
        json_object_set_new(result, "not_recorded",
                            json_string("the registry is not available"));
    else if (trl_registry_record_importance(r, result, &id, &err) == 0)
        json_object_set_new(result, "recorded", json_integer(id));
    else
        json_object_set_new(result, "not_recorded",
                            json_string(err.message));
}

/* Shows result (bundle from render), leaves it in the engine's `_`. */
static int show(trl_magic_env *env, trl_exec_ctx *ctx, json_t *result,
                json_t *bundle, trl_error *err)
{
    if (!bundle || json_object_set(bundle, RESULT_MIME, result) != 0) {
        json_decref(bundle);
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    trl_engine *e = trl_magic_engine(env);
    if (e && e->ops->set_last)
        e->ops->set_last(e, result);
    trl_ctx_display(ctx, bundle, NULL, NULL);
    return 0;
}

/* The metric named in --metric: a built-in stays a name; one the engine
 * defined (a business metric) becomes external. */
static int resolve_metric(trl_magic_env *env, const char *name,
                          trl_metric_external *out, int *is_external,
                          trl_error *err)
{
    trl_metric m;
    trl_error perr = {0}, lerr = {0};
    *is_external = 0;
    if (!name || trl_metric_parse(name, &m, &perr) == 0)
        return 0;
    trl_engine *e = trl_magic_engine(env);
    int rc = TRL_ENOTFOUND;
    if (e && e->ops->metric &&
        (rc = e->ops->metric(e, name, out, &lerr)) == 0) {
        *is_external = 1;
        return 0;
    }
    /* a defined metric that cannot load says why, not "unknown" */
    *err = rc == TRL_ENOTFOUND ? perr : lerr;
    return err->code;
}

static int history(trl_magic_env *env, const trl__args *a, trl_model *m,
                   trl_exec_ctx *ctx, trl_error *err)
{
    trl_registry *r = trl_magic_registry(env);
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "the registry is not "
                             "available");
    if (!m->ref)
        return trl_error_set(err, TRL_EINVAL, "%s is not registered: its "
                             "importance has no versions to follow",
                             a->pos[0]);
    json_t *h = trl_registry_importance_history(
        r, m->ref, trl__args_str(a, OPT_METHOD, NULL),
        trl__args_str(a, OPT_METRIC, NULL), err);
    if (!h)
        return err->code;
    size_t top = (size_t)trl__args_int(a, OPT_TOP, 0);
    int rc = show(env, ctx, h, trl_display_importance_history(h, top), err);
    json_decref(h);
    return rc;
}

static int importance(trl_magic_env *env, const char *text,
                      trl_exec_ctx *ctx)
{
    trl__args a;
    trl_error err = {0};
    if (trl__args_parse(&trl__importance_args, text, &a, &err) != 0)
        return trl__args_fail(ctx, &err);
    trl_model *m = NULL;
    trl_frame *on = NULL;
    json_t *result = NULL;
    trl_metric_external external;
    int has_external = 0;
    const char *on_name = trl__args_str(&a, OPT_ON, NULL);
    const char *metric = trl__args_str(&a, OPT_METRIC, NULL);
    if (!(m = trl__magic_find_model(env, a.pos[0], &err)))
        goto done;
    if (trl__args_given(&a, OPT_HISTORY)) {
        history(env, &a, m, ctx, &err);
        goto done;
    }
    if ((on_name && !(on = trl__magic_find_frame(env, on_name, &err))) ||
        resolve_metric(env, metric, &external, &has_external, &err) != 0)
        goto done;
    trl_importance_request rq = {
        .model = m, .method = method_of(&a), .on = on,
        .metric = has_external ? NULL : metric,
        .external = has_external ? &external : NULL,
        .repeats = (int)trl__args_int(&a, OPT_REPEATS, 0),
        .seed = (uint64_t)trl__args_int(&a, OPT_SEED, 1)};
    if (!(result = trl_importance_run(&rq, &err)))
        goto done;
    record(trl_magic_registry(env), result);
    show(env, ctx, result,
         trl_display_importance(result,
                                (size_t)trl__args_int(&a, OPT_TOP, 0),
                                trl__args_given(&a, OPT_INPUTS) != 0),
         &err);
done:
    trl__args_free(&a);
    if (has_external && external.release)
        external.release(external.ctx);
    trl_model_decref(m);
    trl_frame_decref(on);
    json_decref(result);
    if (err.code) {
        trl_ctx_fail(ctx, err.code == TRL_EINTR ? "KeyboardInterrupt"
                                                : "ImportanceError",
                     err.message, NULL);
        return err.code;
    }
    return 0;
}

const trl_magic trl__magic_importance = {
    "importance",
    "%importance MODEL [--method gain|weight|cover|total_gain|total_cover|"
    "coef|permutation] [--on FRAME] [--metric auc] [--repeats 5] [--seed 1] "
    "[--top N] [--inputs] [--history]",
    "feature importance of a model, most important first, as a table and a "
    "bar chart. XGBoost models default to gain (also weight, cover, "
    "total_gain, total_cover, as Booster.get_score), linear models to coef "
    "(|coefficient| per standard deviation of each input); a string "
    "feature's one-hot inputs are summed (--inputs shows them one by one). "
    "--method permutation (implied by --on or --metric) shuffles each "
    "feature of FRAME --repeats times (default 5, --seed 1) and reports "
    "the mean drop in --metric (auc, rmse or ndcg@10 by default; any "
    "built-in or business metric) with its std. Recorded against the model "
    "version; --history shows each version's latest run side by side "
    "(--method and --metric choose which). The result is left in _",
    importance, NULL};
