/* bench.h - serving benchmarks of models: how long one request takes (a
 * batch of raw feature rows encoded and predicted), at several batch sizes
 * and numbers of concurrent callers, as percentiles of every call; and the
 * benchmarks kept in the registry against each model version, which
 * promotion gates read. Knows nothing of Jupyter. */
#ifndef TRELLIS_BENCH_H
#define TRELLIS_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "trellis/error.h"
#include "trellis/model.h"
#include "trellis/registry.h"

/* ---- limits ------------------------------------------------------------------ */

#define TRL_BENCH_MAX_BATCH 1000000   /* rows in one call */
#define TRL_BENCH_MAX_DURATION 600.0  /* seconds per configuration */
#define TRL_BENCH_MAX_LIST 16         /* batch sizes, and thread counts */
/* Samples kept per configuration (8 bytes each): a configuration that
 * reaches it ends early, and its result says so ("capped"). */
#define TRL_BENCH_MAX_SAMPLES (1u << 23)

/* The largest thread count a benchmark takes: 4 per online CPU, at most
 * 64. More callers than that measure the scheduler, not the model. */
int trl_bench_max_threads(void);

/* ---- running ----------------------------------------------------------------- */

typedef struct trl_bench_request {
    trl_model *const *models;  /* 1 or 2; the second (--vs) is set beside
                                * the first, as ratios other / first */
    size_t nmodels;
    trl_frame *on;             /* rows the calls send, cycling through
                                * them; needs every model's features */
    const size_t *batches;     /* rows per call, each 1..TRL_BENCH_MAX_BATCH */
    size_t nbatches;           /* 1..TRL_BENCH_MAX_LIST */
    const int *threads;        /* concurrent callers, each
                                * 1..trl_bench_max_threads() */
    size_t nthreads;           /* 1..TRL_BENCH_MAX_LIST */
    double duration;           /* seconds measured per configuration,
                                * (0, TRL_BENCH_MAX_DURATION] */
} trl_bench_request;

/* 0 when rq is well-formed (the limits above, a frame with rows), else
 * TRL_EINVAL with err saying which value is wrong. Models are not
 * checked against the frame here: trl_bench_run does that. */
int trl_bench_check(const trl_bench_request *rq, trl_error *err);

/* Runs the benchmark. For each thread count, batch size and model, in
 * that nesting (so both models of a --vs run meet the same machine
 * state), `threads` threads call the model concurrently: each call
 * encodes `batch` rows of the frame (its columns bound to the model's
 * encoding once, outside the timed part) and predicts them, which is
 * what a serving system pays per request. A warm-up (a tenth of the
 * duration, 0.02 to 0.5 s, not recorded) precedes each configuration.
 * Every call is timed with a pair of clock_gettime(CLOCK_MONOTONIC)
 * reads and kept; percentiles come from all of them, interpolated
 * linearly between order statistics (NumPy's default). The peak memory
 * of a configuration is the process's VmHWM after resetting it through
 * /proc/self/clear_refs, or, where that is refused, the largest VmRSS
 * sampled every 2 ms. Also measures the cost of the measurement itself
 * (timer and loop around an empty call) in the same run.
 *
 * Returns a new object:
 *   {"models": [ref or null...], "on": frame ref or null, "rows": frame
 *    rows, "duration": s, "warmup": s, "batches": [...], "threads":
 *    [...], "percentiles": how they are computed, "memory": how the peak
 *    is measured, "overhead": {"timer_ns", "empty_call_ns", "loop_ns"},
 *    "host": {"cpus", "cpu", "system", "hostname"},
 *    "results": [{"model": index, "ref", "threads", "batch", "calls",
 *      "rows", "seconds", "capped", "p50_ms", "p90_ms", "p99_ms",
 *      "p99_9_ms", "mean_ms", "max_ms", "row_p50_us", "row_p90_us",
 *      "row_p99_us", "row_p99_9_us", "row_mean_us", "rows_per_s",
 *      "peak_rss_mb", "rss_growth_mb", "curve": [[q, ms]...]}...],
 *    "ratios": [{"threads", "batch", "p50", "p90", "p99", "p99_9",
 *      "rows_per_s"}...] (other / first; empty with one model)}
 * (per row = per call / batch; a memory figure is null when /proc could
 * not be read). NULL with err set when the request is bad, a model reads
 * a column the frame lacks (or holds an infinity where it reads), a
 * prediction fails, or memory runs out; TRL_EINTR when the registry's
 * interrupt callback fires (polled on the calling thread only). */
json_t *trl_bench_run(const trl_bench_request *rq, trl_error *err);

/* Latency statistics of n timings in ns (sorted here, in place), as a
 * configuration of trl_bench_run reports its calls: a new object
 * {"calls", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "mean_ms",
 * "min_ms", "max_ms", "curve": [[q, ms]...]}; NULL when out of memory.
 * %%bench reports a cell's runs with it. */
json_t *trl_bench_latency(uint64_t *ns, size_t n);

/* ---- benchmarks in the registry ------------------------------------------------ */

/* Keeps a trl_bench_run result: one row per configuration of each
 * registered model, against that model's version, with the frame, the
 * requested duration and the host. *id_out (may be NULL) is the
 * benchmark's number, shared by its rows. TRL_EINVAL when no model in it
 * is registered (there is nothing to keep it against); TRL_EIO naming
 * the file when the registry cannot be written (read-only). */
int trl_registry_record_benchmark(trl_registry *r, const json_t *result,
                                  long long *id_out, trl_error *err);

/* The recorded benchmarks of a model ("name", "name@N",
 * "name@production"): a new array, oldest first, of {"id", "model",
 * "frame", "created", "threads", "batch", "duration", "seconds", "calls",
 * "capped", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "mean_ms",
 * "max_ms", "rows_per_s", "peak_rss_mb", "rss_growth_mb", "host"}. An
 * empty array when there are none (also in a read-only registry older
 * than the benchmarks table); NULL with err set for an unknown model or
 * an unreadable file. */
json_t *trl_registry_benchmarks(trl_registry *r, const char *model_spec,
                                trl_error *err);

/* The latest recorded value of stat (a column above: "p99_ms",
 * "rows_per_s", ...) for a model at one batch size and thread count:
 * what a gate such as `p99_ms@batch1 <= 2` compares. TRL_ENOTFOUND,
 * saying which %bench to run, when there is none; TRL_EINVAL for an
 * unknown stat. */
int trl_registry_benchmark_stat(trl_registry *r, const char *model_spec,
                                const char *stat, long long batch,
                                int threads, double *out, trl_error *err);

#endif
