/* bench_int.h - private: what the benchmark's files share. bench_run.c
 * times calls on worker threads; bench_stats.c turns the samples into
 * percentiles and reads the process's memory; bench.c drives them per
 * configuration and builds the result; benchmark_store.c keeps it. */
#ifndef TRELLIS_REGISTRY_BENCH_INT_H
#define TRELLIS_REGISTRY_BENCH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "trellis/error.h"

/* ---- measuring (bench_run.c) ----------------------------------------------- */

/* One measured call: sends `batch` rows starting at *cursor (cycling
 * through the rows) and advances it. in and out are the calling thread's
 * own buffers of in_bytes and out_count doubles. 0, or an error code with
 * err filled. Called on several threads at once: it may only read arg. */
typedef int (*trl__bench_fn)(const void *arg, void *in, double *out,
                             size_t *cursor, trl_error *err);

typedef struct trl__bench_call {
    trl__bench_fn fn;      /* NULL: an empty call (measuring the
                            * measurement) */
    const void *arg;
    size_t in_bytes;       /* per thread */
    size_t out_count;      /* doubles per thread */
    size_t nrows;          /* rows the cursors cycle through: threads
                            * start spread over them */
} trl__bench_call;

/* What one configuration measured. */
typedef struct trl__bench_samples {
    uint64_t *ns;          /* every measured call's latency, sorted
                            * ascending; malloc'd */
    size_t n;
    double seconds;        /* wall time from the start of measuring to
                            * the end of the last call */
    int capped;            /* stopped at TRL_BENCH_MAX_SAMPLES */
    double rss_before_mb;  /* VmRSS when measuring began; NaN unknown */
    double peak_rss_mb;    /* the peak during it; NaN unknown */
    int peak_from_hwm;     /* 1: VmHWM after clear_refs; 0: sampled */
} trl__bench_samples;

/* Runs c on `threads` threads: warmup seconds unrecorded, then duration
 * seconds (or until the sample cap) with every call timed. Polls the
 * registry's interrupt callback on this thread: TRL_EINTR. A failed call
 * stops every thread and its error is returned. On success out->ns is
 * the caller's to free. */
int trl__bench_measure(const trl__bench_call *c, int threads, double warmup,
                       double duration, trl__bench_samples *out,
                       trl_error *err);

/* The cost of one clock_gettime(CLOCK_MONOTONIC), in ns: the mean of
 * back-to-back reads over about `seconds`. */
double trl__bench_timer_ns(double seconds);

/* ---- statistics and the process (bench_stats.c) ------------------------------ */

/* The q-quantile (q in [0, 1]) of n ascending values, interpolated
 * linearly between order statistics as NumPy's default ("linear",
 * including its rounding-stable form for the upper half); NaN when n is
 * 0. */
double trl__bench_quantile(const uint64_t *sorted, size_t n, double q);

/* Sorts ns ascending in place. 0 or TRL_ENOMEM. */
int trl__bench_sort(uint64_t *ns, size_t n);

/* A line of /proc/self/status ("VmRSS", "VmHWM") in MiB, or NaN. */
double trl__bench_status_mb(const char *key);

/* Resets the process's VmHWM to its current RSS (Linux 4.0+): 0, or -1
 * when refused. */
int trl__bench_reset_peak(void);

/* A new object {"cpus", "cpu", "system", "hostname"} describing the
 * machine, or NULL when out of memory. */
struct json_t;
struct json_t *trl__bench_host(void);

/* Seconds on CLOCK_MONOTONIC (as trl__now) and sleeping. */
void trl__bench_sleep(double seconds);

#endif
