/* bench.c - %bench MODEL --on FRAME: the serving benchmark of a model
 * (latency percentiles per call and per row, throughput, peak memory at
 * each batch size and thread count), optionally beside a second model,
 * recorded against the model version in the registry. Models and frames
 * are named as code names them (magic_int.h). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/bench.h"
#include "trellis/display.h"
#include "trellis/magic.h"
#include "magics/magic_int.h"

#define USAGE "%bench MODEL[@V] --on FRAME [--batch 1,32,1024] " \
              "[--duration 2] [--threads 1,2] [--vs MODEL]"

/* A client reading the result as data finds it under this type in the
 * display bundle; notebooks ignore a type they have no renderer for. */
#define RESULT_MIME "application/vnd.trellis.bench+json"

static const size_t default_batches[] = {1, 32, 1024};
#define DEFAULT_DURATION 2.0

typedef struct args {
    char buf[2048];              /* the tokens, NUL-separated */
    const char *model, *vs, *on;
    size_t batches[TRL_BENCH_MAX_LIST];
    size_t nbatches;
    int threads[TRL_BENCH_MAX_LIST];
    size_t nthreads;
    double duration;
    char why[300];               /* what is wrong, for the usage error */
} args;

static int usage(trl_exec_ctx *ctx, const char *why)
{
    char msg[600];
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

/* "1,32,1024" into out: each a whole number from 1 to max. */
static int parse_list(args *a, const char *opt, char *v, long long max,
                      long long *out, size_t *n)
{
    *n = 0;
    const char *p = v;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        long long x = 0;
        int ok = len > 0 && len <= 9;
        for (size_t i = 0; ok && i < len; i++)
            ok = isdigit((unsigned char)p[i]);
        for (size_t i = 0; ok && i < len; i++)
            x = x * 10 + (p[i] - '0');
        if (!ok || x < 1 || x > max)
            return wrong(a, "%s takes whole numbers from 1 to %lld separated "
                         "by commas, not '%.40s'", opt, max, v);
        if (*n == TRL_BENCH_MAX_LIST)
            return wrong(a, "%s takes at most %d values", opt,
                         TRL_BENCH_MAX_LIST);
        out[(*n)++] = x;
        if (!end)
            return 0;
        p = end + 1;
    }
}

static int parse_duration(args *a, const char *v)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !isfinite(d) || d <= 0 ||
        d > TRL_BENCH_MAX_DURATION)
        return wrong(a, "--duration takes seconds per configuration, above "
                     "0 and at most %g, not '%.40s'", TRL_BENCH_MAX_DURATION,
                     v);
    a->duration = d;
    return 0;
}

/* One option and its value (given as "--opt value" or "--opt=value"). */
static int option(args *a, const char *opt, char *v)
{
    long long list[TRL_BENCH_MAX_LIST];
    size_t n;
    if (strcmp(opt, "--on") == 0) {
        a->on = v;
    } else if (strcmp(opt, "--vs") == 0) {
        a->vs = v;
    } else if (strcmp(opt, "--duration") == 0) {
        return parse_duration(a, v);
    } else if (strcmp(opt, "--batch") == 0) {
        if (parse_list(a, opt, v, TRL_BENCH_MAX_BATCH, list, &n) != 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            a->batches[i] = (size_t)list[i];
        a->nbatches = n;
    } else if (strcmp(opt, "--threads") == 0) {
        if (parse_list(a, opt, v, trl_bench_max_threads(), list, &n) != 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            a->threads[i] = (int)list[i];
        a->nthreads = n;
    } else {
        return wrong(a, "unknown option %.40s", opt);
    }
    return 0;
}

/* Splits text into the fields of a; a->why says what is wrong. */
static int parse(const char *text, args *a)
{
    memset(a, 0, sizeof *a);
    a->duration = DEFAULT_DURATION;
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
                return wrong(a, "name one model (--vs sets a second beside "
                             "it), not '%.40s' too", t);
            a->model = t;
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
        return wrong(a, "name the model to benchmark");
    if (!a->on)
        return wrong(a, "--on names the frame whose rows the calls send");
    if (!a->nbatches) {
        a->nbatches = sizeof default_batches / sizeof *default_batches;
        memcpy(a->batches, default_batches, sizeof default_batches);
    }
    if (!a->nthreads) {
        a->nthreads = 1;
        a->threads[0] = 1;
    }
    return 0;
}

/* Keeps the result against the model version, noting in it the
 * benchmark's number or why it was not kept (a read-only registry does
 * not fail the benchmark, but the user should know). */
static void record(trl_registry *r, json_t *result)
{
    long long id;
    trl_error err = {0};
    if (!r)
        json_object_set_new(result, "not_recorded",
                            json_string("the registry is not available"));
    else if (trl_registry_record_benchmark(r, result, &id, &err) == 0)
        json_object_set_new(result, "recorded", json_integer(id));
    else
        json_object_set_new(result, "not_recorded",
                            json_string(err.message));
}

static int bench(trl_magic_env *env, const char *text, trl_exec_ctx *ctx)
{
    args a;
    if (parse(text ? text : "", &a) != 0)
        return usage(ctx, a.why);
    trl_error err = {0};
    trl_model *models[2] = {NULL, NULL};
    size_t nmodels = a.vs ? 2 : 1;
    trl_frame *on = NULL;
    json_t *result = NULL;
    if (!(models[0] = trl__magic_find_model(env, a.model, &err)) ||
        (a.vs && !(models[1] = trl__magic_find_model(env, a.vs, &err))) ||
        !(on = trl__magic_find_frame(env, a.on, &err)))
        goto done;
    trl_bench_request rq = {models, nmodels, on, a.batches, a.nbatches,
                            a.threads, a.nthreads, a.duration};
    if (!(result = trl_bench_run(&rq, &err)))
        goto done;
    record(trl_magic_registry(env), result);
    json_t *bundle = trl_display_bench(result);
    if (!bundle || json_object_set(bundle, RESULT_MIME, result) != 0) {
        json_decref(bundle);
        trl_error_set(&err, TRL_ENOMEM, "out of memory");
    } else {
        trl_ctx_display(ctx, bundle, NULL, NULL);
    }
done:
    trl_model_decref(models[0]);
    trl_model_decref(models[1]);
    trl_frame_decref(on);
    json_decref(result);
    if (err.code) {
        trl_ctx_fail(ctx, err.code == TRL_EINTR ? "KeyboardInterrupt"
                                                : "BenchError",
                     err.message, NULL);
        return err.code;
    }
    return 0;
}

const trl_magic trl__magic_bench = {
    "bench", USAGE,
    "the serving benchmark of a model: after a warm-up, concurrent callers "
    "(--threads, default 1) send batches of the frame's rows (--batch, "
    "default 1,32,1024) for --duration seconds (default 2) per "
    "configuration; each call encodes the rows and predicts. Shows p50, "
    "p90, p99 and p99.9 latency per call and per row (percentiles of every "
    "call), throughput and peak memory, as a table and percentile curves; "
    "--vs sets a second model beside the first with their ratios. Recorded "
    "against the model version in the registry, where promotion gates "
    "read it; bench{...} returns the same as a value. %%bench [--duration "
    "S] [--runs N] times a whole cell instead: run after run for the "
    "duration (default 2 s, at least 5 runs), as percentiles",
    bench, trl__magic_bench_cell};
