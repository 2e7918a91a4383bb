/* bench.c - %bench MODEL --on FRAME: the serving benchmark of a model
 * (latency percentiles per call and per row, throughput, peak memory at
 * each batch size and thread count), optionally beside a second model,
 * recorded against the model version in the registry. Models and frames
 * are named as code names them (magic_int.h). */
#include <string.h>

#include "trellis/bench.h"
#include "trellis/display.h"
#include "trellis/magic.h"
#include "magics/args.h"
#include "magics/magic_int.h"

/* A client reading the result as data finds it under this type in the
 * display bundle; notebooks ignore a type they have no renderer for. */
#define RESULT_MIME "application/vnd.trellis.bench+json"

static const size_t default_batches[] = {1, 32, 1024};
#define DEFAULT_DURATION 2.0

enum { OPT_ON, OPT_BATCH, OPT_DURATION, OPT_THREADS, OPT_VS };

/* 4 per CPU, at most 64: read when the line is parsed */
static long long max_threads(void)
{
    return trl_bench_max_threads();
}

static const char *const positionals[] = {"MODEL[@V]", NULL};

static const trl__arg_opt options[] = {
    [OPT_ON] = {.name = "on", .kind = TRL__ARG_WORD, .meta = "FRAME",
                .flags = TRL__ARG_REQUIRED,
                .missing = "--on names the frame whose rows the calls send"},
    [OPT_BATCH] = {.name = "batch", .kind = TRL__ARG_INT_LIST,
                   .meta = "1,32,1024", .min = 1,
                   .max = TRL_BENCH_MAX_BATCH,
                   .max_items = TRL_BENCH_MAX_LIST},
    [OPT_DURATION] = {.name = "duration", .kind = TRL__ARG_DOUBLE,
                      .meta = "2", .what = "seconds per configuration",
                      .lo = 0, .lo_open = 1,
                      .hi = TRL_BENCH_MAX_DURATION},
    [OPT_THREADS] = {.name = "threads", .kind = TRL__ARG_INT_LIST,
                     .meta = "1,2", .min = 1, .max_now = max_threads,
                     .max_items = TRL_BENCH_MAX_LIST},
    [OPT_VS] = {.name = "vs", .kind = TRL__ARG_WORD, .meta = "MODEL"},
};

const trl__args_spec trl__bench_args = {
    .magic = "%bench", .pos_names = positionals, .min_pos = 1,
    .max_pos = 1, .pos_missing = "name the model to benchmark",
    .pos_extra = "name one model (--vs sets a second beside it)",
    .opts = options, .nopts = sizeof options / sizeof *options};

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
    trl__args a;
    trl_error err = {0};
    if (trl__args_parse(&trl__bench_args, text, &a, &err) != 0)
        return trl__args_fail(ctx, &err);
    size_t batches[TRL_BENCH_MAX_LIST];
    int threads[TRL_BENCH_MAX_LIST] = {1};
    size_t nbatches = a.opt[OPT_BATCH].n, nthreads = a.opt[OPT_THREADS].n;
    for (size_t i = 0; i < nbatches; i++)
        batches[i] = (size_t)a.opt[OPT_BATCH].items[i].i;
    if (!nbatches) {
        nbatches = sizeof default_batches / sizeof *default_batches;
        memcpy(batches, default_batches, sizeof default_batches);
    }
    for (size_t i = 0; i < nthreads; i++)
        threads[i] = (int)a.opt[OPT_THREADS].items[i].i;
    nthreads += !nthreads;
    const char *vs = trl__args_str(&a, OPT_VS, NULL);
    trl_model *models[2] = {NULL, NULL};
    size_t nmodels = vs ? 2 : 1;
    trl_frame *on = NULL;
    json_t *result = NULL;
    if (!(models[0] = trl__magic_find_model(env, a.pos[0], &err)) ||
        (vs && !(models[1] = trl__magic_find_model(env, vs, &err))) ||
        !(on = trl__magic_find_frame(env, trl__args_str(&a, OPT_ON, NULL),
                                     &err)))
        goto done;
    trl_bench_request rq = {models, nmodels, on, batches, nbatches, threads,
                            nthreads, trl__args_double(&a, OPT_DURATION,
                                                       DEFAULT_DURATION)};
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
    trl__args_free(&a);
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
    "bench",
    "%bench MODEL[@V] --on FRAME [--batch 1,32,1024] [--duration 2] "
    "[--threads 1,2] [--vs MODEL]",
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
