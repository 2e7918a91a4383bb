/* bench.c - serving benchmarks: checks the request, binds each model's
 * encoding to the frame once, measures every configuration (bench_run.c)
 * and builds the result (bench_stats.c for the percentiles). One measured
 * call is what a serving system pays per request: a batch of raw feature
 * rows encoded, then predicted. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trellis/bench.h"
#include "registry/bench_int.h"
#include "registry/model_int.h"
#include "registry/registry_int.h"

/* The largest batch buffer one thread may ask for: past it the request is
 * refused with its size rather than failing in malloc. */
#define MAX_BATCH_BYTES (1ull << 32)

/* The quantiles kept for the percentile curve the display draws. */
static const double curve_q[] = {0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999};
#define NCURVE (sizeof curve_q / sizeof *curve_q)

int trl_bench_max_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    n = (n < 1 ? 1 : n) * 4;
    return n > 64 ? 64 : (int)n;
}

int trl_bench_check(const trl_bench_request *rq, trl_error *err)
{
    if (!rq->models || rq->nmodels < 1 || rq->nmodels > 2)
        return trl_error_set(err, TRL_EINVAL, "a benchmark takes one model, "
                             "and at most one other to set beside it");
    for (size_t k = 0; k < rq->nmodels; k++)
        if (!rq->models[k])
            return trl_error_set(err, TRL_EINVAL, "which model? Give a "
                                 "model or a registered 'name@N'");
    if (!rq->on)
        return trl_error_set(err, TRL_EINVAL, "which rows? Give the frame "
                             "whose rows the calls send");
    if (rq->on->nrows == 0)
        return trl_error_set(err, TRL_EINVAL, "the frame has no rows to "
                             "send");
    if (!rq->batches || rq->nbatches < 1 ||
        rq->nbatches > TRL_BENCH_MAX_LIST)
        return trl_error_set(err, TRL_EINVAL, "give 1 to %d batch sizes",
                             TRL_BENCH_MAX_LIST);
    for (size_t i = 0; i < rq->nbatches; i++)
        if (rq->batches[i] < 1 || rq->batches[i] > TRL_BENCH_MAX_BATCH)
            return trl_error_set(err, TRL_EINVAL, "a batch size is a whole "
                                 "number of rows from 1 to %d, not %zu",
                                 TRL_BENCH_MAX_BATCH, rq->batches[i]);
    if (!rq->threads || rq->nthreads < 1 ||
        rq->nthreads > TRL_BENCH_MAX_LIST)
        return trl_error_set(err, TRL_EINVAL, "give 1 to %d thread counts",
                             TRL_BENCH_MAX_LIST);
    int max = trl_bench_max_threads();
    for (size_t i = 0; i < rq->nthreads; i++)
        if (rq->threads[i] < 1 || rq->threads[i] > max)
            return trl_error_set(err, TRL_EINVAL, "a thread count runs from "
                                 "1 to %d (4 per CPU here), not %d", max,
                                 rq->threads[i]);
    if (!(rq->duration > 0 && rq->duration <= TRL_BENCH_MAX_DURATION))
        return trl_error_set(err, TRL_EINVAL, "the duration is seconds "
                             "above 0 and at most %g per configuration, not "
                             "%g", TRL_BENCH_MAX_DURATION, rq->duration);
    return 0;
}

/* ---- one model's call -------------------------------------------------------- */

typedef struct model_call {
    const trl_model *m;
    const trl__backend *be;
    const trl__encoder *enc;
    trl__enc_binding *bind;   /* the frame's columns, bound once */
    int f32;                  /* XGBoost reads floats: encode those */
    size_t nrows, width, batch;
} model_call;

static int model_call_fn(const void *arg, void *in, double *out,
                         size_t *cursor, trl_error *err)
{
    const model_call *c = arg;
    size_t done = 0, row = *cursor;
    while (done < c->batch) {
        size_t take = c->batch - done, inf;
        if (take > c->nrows - row)
            take = c->nrows - row;
        if (c->f32)
            trl__encoder_rows_f32(c->enc, c->bind, row, take,
                                  (float *)in + done * c->width, &inf);
        else
            inf = trl__encoder_rows(c->enc, c->bind, row, take,
                                    (double *)in + done * c->width);
        if (inf != (size_t)-1) {
            char *name = trl__encoder_input_name(c->enc, inf % c->width);
            int rc = trl_error_set(err, TRL_EINVAL, "column '%s' is infinite "
                                   "in row %zu: clip it or make it missing "
                                   "first", name ? name : "?",
                                   row + inf / c->width + 1);
            free(name);
            return rc;
        }
        done += take;
        row += take;
        if (row == c->nrows)
            row = 0;
    }
    *cursor = row;
    return c->f32 ? c->be->predict_f32(c->m, in, c->batch, out, err)
                  : c->be->predict_rows(c->m, in, c->batch, out, err);
}

/* Binds m's encoding to f; the error names the model. */
static int model_call_init(model_call *c, const trl_model *m,
                           const trl_frame *f, trl_error *err)
{
    const trl__model_impl *impl = m->impl;
    memset(c, 0, sizeof *c);
    c->m = m;
    c->be = impl->be;
    c->enc = impl->enc;
    c->nrows = f->nrows;
    c->width = impl->enc->width ? impl->enc->width : 1;
    trl_error berr = {0};
    if (!(c->bind = trl__encoder_bind(impl->enc, f, &berr)))
        return trl_error_set(err, berr.code, "%s: %s",
                             m->ref ? m->ref : "the model", berr.message);
    size_t inf;
    float none;
    /* no rows: only asks whether the float path takes this encoding */
    c->f32 = c->be->predict_f32 &&
             trl__encoder_rows_f32(c->enc, c->bind, 0, 0, &none, &inf) == 0;
    return 0;
}

/* ---- results ------------------------------------------------------------------- */

static json_t *number(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* ns -> ms */
static double ms(double ns)
{
    return ns * 1e-6;
}

/* The statistics of n ascending latencies in ns: what a configuration
 * and a %%bench cell report alike. */
static json_t *latency_stats(const uint64_t *v, size_t n)
{
    double p50 = trl__bench_quantile(v, n, 0.5);
    double p90 = trl__bench_quantile(v, n, 0.9);
    double p99 = trl__bench_quantile(v, n, 0.99);
    double p999 = trl__bench_quantile(v, n, 0.999);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    double mean = n ? (double)sum / (double)n : NAN;
    json_t *curve = json_array();
    for (size_t i = 0; curve && i < NCURVE; i++)
        json_array_append_new(curve, json_pack(
            "[f, o]", curve_q[i], number(ms(trl__bench_quantile(
                                      v, n, curve_q[i])))));
    json_t *row = json_object();
    if (!row || !curve) {
        json_decref(row);
        json_decref(curve);
        return NULL;
    }
    json_object_set_new(row, "calls", json_integer((json_int_t)n));
    json_object_set_new(row, "p50_ms", number(ms(p50)));
    json_object_set_new(row, "p90_ms", number(ms(p90)));
    json_object_set_new(row, "p99_ms", number(ms(p99)));
    json_object_set_new(row, "p99_9_ms", number(ms(p999)));
    json_object_set_new(row, "mean_ms", number(ms(mean)));
    json_object_set_new(row, "min_ms", number(ms(n ? (double)v[0] : NAN)));
    json_object_set_new(row, "max_ms", number(ms(n ? (double)v[n - 1]
                                                   : NAN)));
    json_object_set_new(row, "curve", curve);
    return row;
}

json_t *trl_bench_latency(uint64_t *ns, size_t n)
{
    if (trl__bench_sort(ns, n) != 0)
        return NULL;
    return latency_stats(ns, n);
}

/* One configuration's row of the result. */
static json_t *config_row(size_t k, const trl_model *m, int threads,
                          size_t batch, const trl__bench_samples *s)
{
    const uint64_t *v = s->ns;
    size_t n = s->n;
    double p50 = trl__bench_quantile(v, n, 0.5);
    double p90 = trl__bench_quantile(v, n, 0.9);
    double p99 = trl__bench_quantile(v, n, 0.99);
    double p999 = trl__bench_quantile(v, n, 0.999);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    double mean = n ? (double)sum / (double)n : NAN;
    double rows = (double)n * (double)batch;
    double per_row = 1e-3 / (double)batch;  /* ns per call -> us per row */
    json_t *row = latency_stats(v, n);
    if (!row)
        return NULL;
    json_object_set_new(row, "model", json_integer((json_int_t)k));
    json_object_set_new(row, "ref", m->ref ? json_string(m->ref)
                                           : json_null());
    json_object_set_new(row, "threads", json_integer(threads));
    json_object_set_new(row, "batch", json_integer((json_int_t)batch));
    json_object_set_new(row, "rows", json_integer((json_int_t)rows));
    json_object_set_new(row, "seconds", number(s->seconds));
    json_object_set_new(row, "capped", json_boolean(s->capped));
    json_object_set_new(row, "row_p50_us", number(p50 * per_row));
    json_object_set_new(row, "row_p90_us", number(p90 * per_row));
    json_object_set_new(row, "row_p99_us", number(p99 * per_row));
    json_object_set_new(row, "row_p99_9_us", number(p999 * per_row));
    json_object_set_new(row, "row_mean_us", number(mean * per_row));
    json_object_set_new(row, "rows_per_s",
                        number(s->seconds > 0 ? rows / s->seconds : NAN));
    json_object_set_new(row, "peak_rss_mb", number(s->peak_rss_mb));
    /* Linux keeps RSS in per-CPU counters that /proc reads approximately
     * (to about 0.1 MiB here): a peak a little under the start is no
     * growth, not a shrinking peak */
    double growth = s->peak_rss_mb - s->rss_before_mb;
    json_object_set_new(row, "rss_growth_mb",
                        number(growth < 0 ? 0.0 : growth));
    return row;
}

/* other / first for each configuration: rows k*nmodels and k*nmodels+1
 * of results, as they were measured side by side. */
static json_t *ratios(const json_t *results, size_t nmodels)
{
    static const char *const keys[][2] = {
        {"p50", "p50_ms"}, {"p90", "p90_ms"}, {"p99", "p99_ms"},
        {"p99_9", "p99_9_ms"}, {"rows_per_s", "rows_per_s"}};
    json_t *out = json_array();
    for (size_t i = 0; out && nmodels == 2 && i + 1 < json_array_size(
                                                        results); i += 2) {
        const json_t *a = json_array_get(results, i);
        const json_t *b = json_array_get(results, i + 1);
        json_t *r = json_pack("{s:O, s:O}", "threads",
                              json_object_get(a, "threads"), "batch",
                              json_object_get(a, "batch"));
        for (size_t j = 0; r && j < sizeof keys / sizeof *keys; j++) {
            double x = json_number_value(json_object_get(a, keys[j][1]));
            double y = json_number_value(json_object_get(b, keys[j][1]));
            json_object_set_new(r, keys[j][0], number(x > 0 ? y / x : NAN));
        }
        json_array_append_new(out, r);
    }
    return out;
}

/* What the measurement itself costs, measured now: one timer read, the
 * latency an empty call records (the floor under every sample), and
 * one turn of the measuring loop around an empty call. */
static json_t *overhead(trl_error *err)
{
    trl__bench_call empty = {NULL, NULL, 0, 0, 0};
    trl__bench_samples s;
    double timer = trl__bench_timer_ns(0.01);
    if (trl__bench_measure(&empty, 1, 0.01, 0.05, &s, err) != 0)
        return NULL;
    json_t *o = json_pack("{s:o, s:o, s:o}", "timer_ns", number(timer),
                          "empty_call_ns",
                          number(trl__bench_quantile(s.ns, s.n, 0.5)),
                          "loop_ns", number(s.n ? s.seconds * 1e9 /
                                                      (double)s.n
                                                : NAN));
    free(s.ns);
    if (!o)
        trl_error_set(err, TRL_ENOMEM, "out of memory");
    return o;
}

static json_t *sizes(const size_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_integer((json_int_t)v[i]));
    return a;
}

static json_t *counts(const int *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

json_t *trl_bench_run(const trl_bench_request *rq, trl_error *err)
{
    if (trl_bench_check(rq, err) != 0)
        return NULL;
    model_call calls[2];
    size_t bound = 0;
    json_t *results = json_array(), *result = NULL, *over = NULL;
    int hwm = 1;
    if (!results) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto done;
    }
    for (; bound < rq->nmodels; bound++)
        if (model_call_init(&calls[bound], rq->models[bound], rq->on,
                            err) != 0)
            goto done;
    for (size_t k = 0; k < rq->nmodels; k++)
        for (size_t i = 0; i < rq->nbatches; i++) {
            double bytes = (double)rq->batches[i] * (double)calls[k].width *
                           (calls[k].f32 ? 4.0 : 8.0);
            if (bytes > (double)MAX_BATCH_BYTES) {
                trl_error_set(err, TRL_EINVAL, "a batch of %zu rows of %zu "
                              "inputs (%s) takes %.1f GiB per thread; use a "
                              "smaller batch", rq->batches[i],
                              calls[k].width, rq->models[k]->ref
                                                  ? rq->models[k]->ref
                                                  : "the model",
                              bytes / (1u << 30));
                goto done;
            }
        }
    if (!(over = overhead(err)))
        goto done;
    double warmup = rq->duration / 10;
    warmup = warmup < 0.02 ? 0.02 : warmup > 0.5 ? 0.5 : warmup;
    for (size_t t = 0; t < rq->nthreads; t++)
        for (size_t i = 0; i < rq->nbatches; i++)
            for (size_t k = 0; k < rq->nmodels; k++) {
                model_call *c = &calls[k];
                c->batch = rq->batches[i];
                trl__bench_call call = {
                    model_call_fn, c,
                    c->batch * c->width * (c->f32 ? sizeof(float)
                                                  : sizeof(double)),
                    c->batch * (size_t)rq->models[k]->noutputs, c->nrows};
                trl__bench_samples s;
                if (trl__bench_measure(&call, rq->threads[t], warmup,
                                       rq->duration, &s, err) != 0)
                    goto done;
                hwm &= s.peak_from_hwm;
                json_t *row = config_row(k, rq->models[k], rq->threads[t],
                                         c->batch, &s);
                free(s.ns);
                if (!row || json_array_append_new(results, row) != 0) {
                    trl_error_set(err, TRL_ENOMEM, "out of memory");
                    goto done;
                }
            }
    json_t *refs = json_array();
    for (size_t k = 0; refs && k < rq->nmodels; k++)
        json_array_append_new(refs, rq->models[k]->ref
                                        ? json_string(rq->models[k]->ref)
                                        : json_null());
    result = json_pack(
        "{s:o, s:s?, s:I, s:f, s:f, s:o, s:o, s:s, s:s, s:O, s:o, s:O, "
        "s:o}",
        "models", refs ? refs : json_null(), "on", rq->on->ref, "rows",
        (json_int_t)rq->on->nrows, "duration", rq->duration, "warmup",
        warmup, "batches", sizes(rq->batches, rq->nbatches), "threads",
        counts(rq->threads, rq->nthreads), "percentiles",
        "every call's latency, interpolated linearly between order "
        "statistics (NumPy's default)", "memory",
        hwm ? "the process's VmHWM, reset through /proc/self/clear_refs "
              "when each configuration starts"
            : "the largest VmRSS of the process, sampled every 2 ms",
        "overhead", over, "host", trl__bench_host(), "results", results,
        "ratios", ratios(results, rq->nmodels));
    if (!result)
        trl_error_set(err, TRL_ENOMEM, "out of memory");
done:
    for (size_t k = 0; k < bound; k++)
        trl__enc_binding_free(calls[k].bind);
    json_decref(results);
    json_decref(over);
    return result;
}
