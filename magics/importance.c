/* importance.c - %importance MODEL [--method M] [--on FRAME ...]: the
 * feature importance of a model (XGBoost's gain, weight or cover; a linear
 * model's standardised coefficients; permutation importance on a frame
 * with any metric, business metrics included), recorded against the model
 * version; and --history, each version's latest importance side by side.
 * Models and frames are named as code names them (magic_int.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"
#include "trellis/importance.h"
#include "trellis/magic.h"
#include "magics/magic_int.h"

#define USAGE "%importance MODEL [--method gain|weight|cover|total_gain|" \
              "total_cover|coef|permutation] [--on FRAME] [--metric auc] " \
              "[--repeats 5] [--seed 1] [--top N] [--inputs] [--history]"

/* A client reading the result as data finds it under this type in the
 * display bundle; notebooks ignore a type they have no renderer for. */
#define RESULT_MIME "application/vnd.trellis.importance+json"

static const char *const methods[] = {"gain", "weight", "cover",
                                      "total_gain", "total_cover", "coef",
                                      "permutation"};

typedef struct args {
    char buf[2048];              /* the tokens, NUL-separated */
    const char *model, *method, *on, *metric;
    long repeats;                /* 0: the default */
    long long seed;
    int seed_given;
    long top;                    /* 0: all */
    int inputs, history;
    char why[300];               /* what is wrong, for the usage error */
} args;

static int usage(trl_exec_ctx *ctx, const char *why)
{
    char msg[700];
    snprintf(msg, sizeof msg, "%s; usage: %s", why, USAGE);
    trl_ctx_fail(ctx, "UsageError", msg, NULL);
    return TRL_EINVAL;
}

__attribute__((format(printf, 2, 3)))
static int wrong(args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->why, sizeof a->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* A whole number from lo to hi, or -1 with a->why set. */
static long long whole(args *a, const char *opt, const char *v, long long lo,
                       long long hi)
{
    long long x = 0;
    size_t len = strlen(v);
    int ok = len > 0 && len <= 18;
    for (size_t i = 0; ok && i < len; i++)
        ok = isdigit((unsigned char)v[i]);
    for (size_t i = 0; ok && i < len; i++)
        x = x * 10 + (v[i] - '0');
    if (!ok || x < lo || x > hi)
        return wrong(a, "%s takes a whole number from %lld to %lld, not "
                     "'%.40s'", opt, lo, hi, v);
    return x;
}

static int option(args *a, const char *opt, const char *v)
{
    long long x;
    if (strcmp(opt, "--on") == 0) {
        a->on = v;
    } else if (strcmp(opt, "--metric") == 0) {
        a->metric = v;
    } else if (strcmp(opt, "--method") == 0) {
        size_t i = 0;
        while (i < sizeof methods / sizeof *methods &&
               strcmp(v, methods[i]) != 0)
            i++;
        if (i == sizeof methods / sizeof *methods)
            return wrong(a, "unknown method '%.40s': use gain, weight, "
                         "cover, total_gain or total_cover (XGBoost), coef "
                         "(linear models) or permutation", v);
        a->method = v;
    } else if (strcmp(opt, "--repeats") == 0) {
        if ((x = whole(a, opt, v, 1, TRL_IMPORTANCE_MAX_REPEATS)) < 0)
            return -1;
        a->repeats = (long)x;
    } else if (strcmp(opt, "--seed") == 0) {
        if ((x = whole(a, opt, v, 0, 999999999999999999ll)) < 0)
            return -1;
        a->seed = x;
        a->seed_given = 1;
    } else if (strcmp(opt, "--top") == 0) {
        if ((x = whole(a, opt, v, 1, 100000)) < 0)
            return -1;
        a->top = (long)x;
    } else {
        return wrong(a, "unknown option %.40s", opt);
    }
    return 0;
}

/* Splits text into the fields of a; a->why says what is wrong. */
static int parse(const char *text, args *a)
{
    memset(a, 0, sizeof *a);
    a->seed = 1;
    if (strlen(text) >= sizeof a->buf)
        return wrong(a, "the arguments are too long");
    strcpy(a->buf, text);
    char *save = NULL;
    for (char *t = strtok_r(a->buf, " \t", &save); t;
         t = strtok_r(NULL, " \t", &save)) {
        if (strncmp(t, "--", 2) != 0) {
            if (t[0] == '-')
                return wrong(a, "unknown option %.40s", t);
            if (a->model)
                return wrong(a, "name one model, not '%.40s' too", t);
            a->model = t;
            continue;
        }
        if (strcmp(t, "--inputs") == 0 || strcmp(t, "--history") == 0) {
            *(t[2] == 'i' ? &a->inputs : &a->history) = 1;
            continue;
        }
        char *v = strchr(t, '=');
        if (v)
            *v++ = '\0';
        else
            v = strtok_r(NULL, " \t", &save);
        if (!v || !*v)
            return wrong(a, "%.40s lacks its value", t);
        if (option(a, t, v) != 0)
            return -1;
    }
    if (!a->model)
        return wrong(a, "name the model");
    int perm_opts = a->on || a->metric || a->repeats || a->seed_given;
    if (a->history) {
        if (a->on || a->repeats || a->seed_given || a->inputs)
            return wrong(a, "--history shows the recorded runs: --on, "
                         "--repeats, --seed and --inputs are for a new run");
        return 0;
    }
    /* a frame or a metric asks for permutation importance */
    if (!a->method && perm_opts)
        a->method = "permutation";
    int perm = a->method && strcmp(a->method, "permutation") == 0;
    if (perm && !a->on)
        return wrong(a, "permutation importance needs --on FRAME, the rows "
                     "it shuffles");
    if (!perm && perm_opts)
        return wrong(a, "--on, --metric, --repeats and --seed are for "
                     "--method permutation; %s reads the model alone",
                     a->method);
    return 0;
}

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

static int history(trl_magic_env *env, const args *a, trl_model *m,
                   trl_exec_ctx *ctx, trl_error *err)
{
    trl_registry *r = trl_magic_registry(env);
    if (!r)
        return trl_error_set(err, TRL_EINVAL, "the registry is not "
                             "available");
    if (!m->ref)
        return trl_error_set(err, TRL_EINVAL, "%s is not registered: its "
                             "importance has no versions to follow",
                             a->model);
    json_t *h = trl_registry_importance_history(r, m->ref, a->method,
                                                a->metric, err);
    if (!h)
        return err->code;
    int rc = show(env, ctx, h, trl_display_importance_history(
                                   h, (size_t)a->top), err);
    json_decref(h);
    return rc;
}

static int importance(trl_magic_env *env, const char *text,
                      trl_exec_ctx *ctx)
{
    args a;
    if (parse(text ? text : "", &a) != 0)
        return usage(ctx, a.why);
    trl_error err = {0};
    trl_model *m = NULL;
    trl_frame *on = NULL;
    json_t *result = NULL;
    trl_metric_external external;
    int has_external = 0;
    if (!(m = trl__magic_find_model(env, a.model, &err)))
        goto done;
    if (a.history) {
        history(env, &a, m, ctx, &err);
        goto done;
    }
    if ((a.on && !(on = trl__magic_find_frame(env, a.on, &err))) ||
        resolve_metric(env, a.metric, &external, &has_external, &err) != 0)
        goto done;
    trl_importance_request rq = {
        .model = m, .method = a.method, .on = on,
        .metric = has_external ? NULL : a.metric,
        .external = has_external ? &external : NULL,
        .repeats = (int)a.repeats, .seed = (uint64_t)a.seed};
    if (!(result = trl_importance_run(&rq, &err)))
        goto done;
    record(trl_magic_registry(env), result);
    show(env, ctx, result, trl_display_importance(result, (size_t)a.top,
                                                  a.inputs), &err);
done:
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
    "importance", USAGE,
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
