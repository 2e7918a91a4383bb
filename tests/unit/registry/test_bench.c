/* test_bench.c - bench.c, bench_run.c, bench_stats.c and
 * benchmark_store.c: percentiles agree with NumPy's default on known
 * samples; a run's result has the shape bench.h promises (never a
 * timing); bad requests are refused naming the value; an interrupt
 * returns TRL_EINTR; benchmarks are kept against the model version and
 * read back, in a format 2 file once it is opened (and read as none while
 * it is read-only), and a read-only registry refuses to record. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "trellis/bench.h"
#include "registry/bench_int.h"

/* ---- helpers ----------------------------------------------------------------- */

static char fixture[4096];
static char tmpdir[64];
static trl_frame *data;
static trl_model *xgb, *logistic;

static trl_model *train(const char *algo, const char *params)
{
    trl_error err = {0};
    json_t *p = json_loads(params, 0, NULL);
    trl_train_spec spec = {.algo = algo, .data = data, .target = "label",
                           .params = p};
    trl_model *m = trl_model_train(&spec, &err);
    json_decref(p);
    if (!m)
        fail_msg("training: %s", err.message);
    return m;
}

static int group_setup(void **state)
{
    (void)state;
    const char *slash = strrchr(__FILE__, '/');
    snprintf(fixture, sizeof fixture, "%.*s/fixtures/models/binary.csv",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/trl_bench_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    trl_error err = {0};
    if (!(data = trl_csv_read(fixture, NULL, &err)))
        return -1;
    xgb = train("xgboost", "{\"num_boost_round\": 5, \"max_depth\": 2, "
                           "\"nthread\": 1}");
    logistic = train("logistic", "{}");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    trl_model_decref(xgb);
    trl_model_decref(logistic);
    trl_frame_decref(data);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static double num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("'%s' is not a number", key);
    return json_number_value(v);
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static int raw_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A short run: every configuration measures for 20 ms. */
static json_t *run(trl_model *a, trl_model *b, const size_t *batches,
                   size_t nb, const int *threads, size_t nt)
{
    trl_model *ms[2] = {a, b};
    trl_bench_request rq = {ms, b ? 2 : 1, data, batches, nb, threads, nt,
                            0.02};
    trl_error err = {0};
    json_t *r = trl_bench_run(&rq, &err);
    if (!r)
        fail_msg("bench: %s", err.message);
    return r;
}

/* ---- percentiles ------------------------------------------------------------- */

static void test_quantile_matches_numpy(void **state)
{
    (void)state;
    uint64_t ten[10];
    for (int i = 0; i < 10; i++)
        ten[i] = (uint64_t)i + 1;
    /* numpy.quantile([1..10], q) */
    assert_true(trl__bench_quantile(ten, 10, 0.5) == 5.5);
    assert_true(fabs(trl__bench_quantile(ten, 10, 0.9) - 9.1) < 1e-12);
    assert_true(fabs(trl__bench_quantile(ten, 10, 0.99) - 9.91) < 1e-12);
    assert_true(fabs(trl__bench_quantile(ten, 10, 0.999) - 9.991) < 1e-12);
    /* 1000 values from an LCG, shuffled: numpy.quantile of the same
     * values (NumPy 1.24), sorted here by trl__bench_sort */
    uint64_t v[1000], x = 12345;
    for (int i = 0; i < 1000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (x >> 33) % 5000000 + 1000;
    }
    assert_int_equal(trl__bench_sort(v, 1000), 0);
    for (int i = 1; i < 1000; i++)
        assert_true(v[i - 1] <= v[i]);
    static const double q[] = {0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999};
    static const double want[] = {2648418.0, 3777033.5, 4573272.100000001,
                                  4761781.75, 4951148.71, 4974528.275,
                                  4997608.081};
    for (int i = 0; i < 7; i++) {
        double got = trl__bench_quantile(v, 1000, q[i]);
        if (fabs(got - want[i]) > 1e-6)
            fail_msg("q=%g: %.9f, numpy %.9f", q[i], got, want[i]);
    }
    /* a tail of one slow call: numpy.quantile([7, 7, 7, 100], q) */
    uint64_t tail[4] = {7, 7, 7, 100};
    assert_true(trl__bench_quantile(tail, 4, 0.5) == 7.0);
    assert_true(fabs(trl__bench_quantile(tail, 4, 0.9) - 72.1) < 1e-9);
    assert_true(fabs(trl__bench_quantile(tail, 4, 0.999) - 99.721) < 1e-9);
}

static void test_quantile_edges(void **state)
{
    (void)state;
    uint64_t one = 42, two[2] = {10, 20};
    assert_true(isnan(trl__bench_quantile(NULL, 0, 0.5)));
    assert_true(trl__bench_quantile(&one, 1, 0.999) == 42.0);
    assert_true(trl__bench_quantile(two, 2, 0) == 10.0);
    assert_true(trl__bench_quantile(two, 2, 1) == 20.0);
    assert_true(trl__bench_quantile(two, 2, 0.5) == 15.0);
    /* huge values stay exact in a double (ns of an hour fit) */
    uint64_t big[2] = {3600000000000ull, 3600000000002ull};
    assert_true(trl__bench_quantile(big, 2, 0.5) == 3600000000001.0);
}

/* ---- a run's result ----------------------------------------------------------- */

static void check_row(const json_t *row, long long batch)
{
    long long calls = json_integer_value(json_object_get(row, "calls"));
    assert_true(calls >= 1);
    assert_int_equal(json_integer_value(json_object_get(row, "rows")),
                     calls * batch);
    assert_int_equal(json_integer_value(json_object_get(row, "batch")),
                     batch);
    double p50 = num(row, "p50_ms"), p90 = num(row, "p90_ms");
    double p99 = num(row, "p99_ms"), p999 = num(row, "p99_9_ms");
    double max = num(row, "max_ms");
    assert_true(p50 > 0 && p50 <= p90 && p90 <= p99 && p99 <= p999 &&
                p999 <= max);
    /* per row is per call over the batch, in microseconds */
    assert_true(fabs(num(row, "row_p50_us") - p50 * 1000 / (double)batch) <=
                1e-9 * p50 * 1000);
    assert_true(fabs(num(row, "row_p99_9_us") - p999 * 1000 /
                                                    (double)batch) <=
                1e-9 * p999 * 1000);
    assert_true(num(row, "seconds") > 0);
    assert_true(num(row, "rows_per_s") > 0);
    assert_true(fabs(num(row, "rows_per_s") * num(row, "seconds") -
                     (double)(calls * batch)) < 1e-6 * (double)(calls *
                                                                 batch));
    assert_true(json_is_false(json_object_get(row, "capped")));
    json_t *curve = json_object_get(row, "curve");
    assert_int_equal(json_array_size(curve), 7);
    double last = 0;
    for (size_t i = 0; i < 7; i++) {
        double v = json_number_value(json_array_get(json_array_get(curve, i),
                                                    1));
        assert_true(v >= last);
        last = v;
    }
    assert_true(json_number_value(json_array_get(json_array_get(curve, 0),
                                                 1)) == p50);
    /* /proc is there on Linux: the peak is known and at least the start */
    assert_true(num(row, "peak_rss_mb") > 0);
    assert_true(num(row, "rss_growth_mb") >= 0);
}

static void test_result_shape_with_vs_and_threads(void **state)
{
    (void)state;
    size_t batches[2] = {1, 7};
    int threads[2] = {1, 2};
    json_t *r = run(xgb, logistic, batches, 2, threads, 2);
    const json_t *results = json_object_get(r, "results");
    assert_int_equal(json_array_size(results), 8);
    /* nested threads, then batch, then model */
    for (size_t i = 0; i < 8; i++) {
        const json_t *row = json_array_get(results, i);
        assert_int_equal(json_integer_value(json_object_get(row, "threads")),
                         threads[i / 4]);
        assert_int_equal(json_integer_value(json_object_get(row, "model")),
                         (json_int_t)(i % 2));
        assert_true(json_is_null(json_object_get(row, "ref")));
        check_row(row, (long long)batches[(i / 2) % 2]);
        if (i >= 4)  /* each of the two threads makes a call at least */
            assert_true(json_integer_value(json_object_get(row, "calls")) >=
                        2);
    }
    const json_t *ratios = json_object_get(r, "ratios");
    assert_int_equal(json_array_size(ratios), 4);
    for (size_t i = 0; i < 4; i++) {
        const json_t *q = json_array_get(ratios, i);
        const json_t *a = json_array_get(results, 2 * i);
        const json_t *b = json_array_get(results, 2 * i + 1);
        assert_true(fabs(num(q, "p99") - num(b, "p99_ms") / num(a, "p99_ms"))
                    < 1e-12 * num(q, "p99"));
        assert_true(fabs(num(q, "rows_per_s") - num(b, "rows_per_s") /
                                                    num(a, "rows_per_s")) <
                    1e-12 * num(q, "rows_per_s"));
        assert_int_equal(json_integer_value(json_object_get(q, "batch")),
                         json_integer_value(json_object_get(a, "batch")));
    }
    const json_t *o = json_object_get(r, "overhead");
    assert_true(num(o, "timer_ns") > 0);
    assert_true(num(o, "empty_call_ns") >= 0);
    assert_true(num(o, "loop_ns") > 0);
    const json_t *host = json_object_get(r, "host");
    assert_true(json_integer_value(json_object_get(host, "cpus")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(r, "rows")),
                     data->nrows);
    assert_true(json_is_null(json_object_get(r, "on")));
    assert_true(num(r, "duration") == 0.02);
    assert_true(num(r, "warmup") == 0.02);
    assert_non_null(strstr(json_string_value(json_object_get(r,
                                                             "percentiles")),
                           "NumPy"));
    assert_int_equal(json_array_size(json_object_get(r, "models")), 2);
    json_decref(r);
}

/* A batch larger than the frame cycles through its rows. */
static void test_batch_larger_than_the_frame(void **state)
{
    (void)state;
    size_t batches[1] = {data->nrows * 2 + 3};
    int threads[1] = {1};
    json_t *r = run(logistic, NULL, batches, 1, threads, 1);
    check_row(json_array_get(json_object_get(r, "results"), 0),
              (long long)batches[0]);
    assert_int_equal(json_array_size(json_object_get(r, "ratios")), 0);
    json_decref(r);
}

/* ---- bad requests --------------------------------------------------------------- */

static void refused(trl_bench_request *rq, int code, const char *needle)
{
    trl_error err = {0};
    assert_null(trl_bench_run(rq, &err));
    assert_int_equal(err.code, code);
    if (!strstr(err.message, needle))
        fail_msg("'%s' lacks '%s'", err.message, needle);
}

static void test_bad_requests(void **state)
{
    (void)state;
    trl_model *ms[3] = {xgb, logistic, xgb};
    size_t batches[2] = {1, 32}, zero[1] = {0};
    size_t huge[1] = {TRL_BENCH_MAX_BATCH + 1};
    int threads[1] = {1}, none[1] = {0}, many[1] = {trl_bench_max_threads() +
                                                     1};
    trl_bench_request ok = {ms, 1, data, batches, 2, threads, 1, 0.02};
    trl_bench_request rq = ok;
    rq.nmodels = 0;
    refused(&rq, TRL_EINVAL, "one model");
    rq.nmodels = 3;
    refused(&rq, TRL_EINVAL, "one model");
    rq = ok;
    rq.on = NULL;
    refused(&rq, TRL_EINVAL, "which rows");
    rq = ok;
    rq.batches = zero;
    rq.nbatches = 1;
    refused(&rq, TRL_EINVAL, "from 1 to 1000000, not 0");
    rq.batches = huge;
    refused(&rq, TRL_EINVAL, "not 1000001");
    rq = ok;
    rq.nbatches = 0;
    refused(&rq, TRL_EINVAL, "batch sizes");
    rq = ok;
    rq.threads = none;
    refused(&rq, TRL_EINVAL, "thread count runs from 1");
    rq.threads = many;
    refused(&rq, TRL_EINVAL, "4 per CPU");
    rq = ok;
    rq.duration = 0;
    refused(&rq, TRL_EINVAL, "above 0 and at most 600");
    rq.duration = 601;
    refused(&rq, TRL_EINVAL, "not 601");
    rq.duration = NAN;
    refused(&rq, TRL_EINVAL, "duration");
    /* the frame lacks a column the model reads: the error names both */
    trl_error err = {0};
    trl_frame *f = trl_frame_copy(data);
    assert_int_equal(trl_frame_drop(f, "x2", &err), 0);
    rq = ok;
    rq.on = f;
    refused(&rq, TRL_ENOTFOUND, "no column 'x2'");
    trl_frame_decref(f);
    /* no rows */
    trl_frame *empty = trl_frame_head(data, 0, &err);
    assert_non_null(empty);
    rq = ok;
    rq.on = empty;
    refused(&rq, TRL_EINVAL, "no rows");
    trl_frame_decref(empty);
    /* an infinity where the model reads: the call fails, naming it */
    trl_column *x1 = trl_column_new(TRL_F64, data->nrows, NULL);
    for (size_t i = 0; i < data->nrows; i++)
        x1->v.f64[i] = i == 5 ? INFINITY : 0.5;
    f = trl_frame_copy(data);
    assert_int_equal(trl_frame_set(f, "x1", x1, &err), 0);
    trl_column_decref(x1);
    rq = ok;
    rq.on = f;
    rq.nbatches = 1;
    refused(&rq, TRL_EINVAL, "column 'x1' is infinite in row 6");
    trl_frame_decref(f);
}

/* ---- interrupts ------------------------------------------------------------------- */

static int polls;

static int interrupt_after_some(void)
{
    return ++polls > 20;
}

static void test_interrupt(void **state)
{
    (void)state;
    trl_model *ms[1] = {logistic};
    size_t batches[1] = {1};
    int threads[1] = {2};
    trl_bench_request rq = {ms, 1, data, batches, 1, threads, 1, 60};
    trl_error err = {0};
    polls = 0;
    trl_registry_set_interrupt(interrupt_after_some);
    json_t *r = trl_bench_run(&rq, &err);
    trl_registry_set_interrupt(NULL);
    assert_null(r);
    assert_int_equal(err.code, TRL_EINTR);
    assert_string_equal(err.message, "interrupted");
}

/* ---- the registry ------------------------------------------------------------------ */

static trl_registry *open_with_models(const char *path)
{
    trl_error err = {0};
    trl_registry *r = trl_registry_open(path, &err);
    if (!r)
        fail_msg("%s", err.message);
    return r;
}

/* Registers fresh copies of the two models as bt_a and bt_b. */
static void register_models(trl_registry *r, trl_model **a, trl_model **b)
{
    trl_error err = {0};
    int v;
    *a = train("xgboost", "{\"num_boost_round\": 3, \"nthread\": 1}");
    *b = train("logistic", "{}");
    assert_int_equal(trl_registry_register_model(r, "bt_a", *a, &v, &err),
                     0);
    assert_int_equal(trl_registry_register_model(r, "bt_b", *b, &v, &err),
                     0);
}

static void test_recorded_against_the_model_version(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/record.sqlite", tmpdir);
    trl_registry *r = open_with_models(path);
    trl_model *a, *b;
    register_models(r, &a, &b);
    size_t batches[2] = {1, 4};
    int threads[1] = {1};
    json_t *res = run(a, b, batches, 2, threads, 1);
    long long id = 0;
    trl_error err = {0};
    assert_int_equal(trl_registry_record_benchmark(r, res, &id, &err), 0);
    assert_int_equal(id, 1);
    json_t *again = run(a, NULL, batches, 1, threads, 1);
    assert_int_equal(trl_registry_record_benchmark(r, again, &id, &err), 0);
    assert_int_equal(id, 2);

    json_t *list = trl_registry_benchmarks(r, "bt_a", &err);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 3);  /* 2 of run 1, 1 of 2 */
    const json_t *e = json_array_get(list, 0);
    assert_int_equal(json_integer_value(json_object_get(e, "id")), 1);
    assert_string_equal(json_string_value(json_object_get(e, "model")),
                        "bt_a@1");
    assert_int_equal(json_integer_value(json_object_get(e, "batch")), 1);
    assert_int_equal(json_integer_value(json_object_get(e, "threads")), 1);
    assert_true(json_is_null(json_object_get(e, "frame")));
    const json_t *row = json_array_get(json_object_get(res, "results"), 0);
    static const char *const same[] = {"p50_ms", "p90_ms", "p99_ms",
                                       "p99_9_ms", "mean_ms", "max_ms",
                                       "rows_per_s", "seconds"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        assert_true(num(e, same[i]) == num(row, same[i]));
    assert_int_equal(json_integer_value(json_object_get(e, "calls")),
                     json_integer_value(json_object_get(row, "calls")));
    assert_true(num(e, "duration") == 0.02);
    assert_true(json_integer_value(json_object_get(json_object_get(e, "host"),
                                                   "cpus")) >= 1);
    json_decref(list);
    list = trl_registry_benchmarks(r, "bt_b@1", &err);
    assert_int_equal(json_array_size(list), 2);
    json_decref(list);

    /* the gate's question: the latest p99 at batch 1, one thread */
    double p99 = 0;
    assert_int_equal(trl_registry_benchmark_stat(r, "bt_a@1", "p99_ms", 1, 1,
                                                 &p99, &err), 0);
    assert_true(p99 == num(json_array_get(json_object_get(again, "results"),
                                          0), "p99_ms"));
    assert_int_equal(trl_registry_benchmark_stat(r, "bt_a", "p99_ms", 1, 2,
                                                 &p99, &err), TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "run %bench bt_a@1 --on FRAME "
                                        "--batch 1 --threads 2"));
    assert_int_equal(trl_registry_benchmark_stat(r, "bt_a", "p99", 1, 1,
                                                 &p99, &err), TRL_EINVAL);
    assert_non_null(strstr(err.message, "unknown benchmark figure 'p99'"));
    assert_null(trl_registry_benchmarks(r, "nope", &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    assert_null(trl_registry_benchmarks(r, "bt_a@7", &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);

    /* unregistered models have no version to keep it against */
    json_t *loose = run(xgb, NULL, batches, 1, threads, 1);
    assert_int_equal(trl_registry_record_benchmark(r, loose, NULL, &err),
                     TRL_EINVAL);
    assert_non_null(strstr(err.message, "registered"));
    json_decref(loose);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM benchmarks"), 5);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 6);

    /* a restarted kernel reads them back */
    trl_registry_close(r);
    r = open_with_models(path);
    list = trl_registry_benchmarks(r, "bt_a@1", &err);
    assert_int_equal(json_array_size(list), 3);
    json_decref(list);
    trl_registry_close(r);
    json_decref(res);
    json_decref(again);
    trl_model_decref(a);
    trl_model_decref(b);
}

/* A file written before benchmarks existed (format 2): read-only, it
 * stays format 2, serves its models and has no benchmarks; opened for
 * writing, it gains the table and keeps what it had. */
static void test_format_2_file_gains_the_table(void **state)
{
    (void)state;
    char path[256], uri[300];
    snprintf(path, sizeof path, "%s/v2.sqlite", tmpdir);
    trl_registry *r = open_with_models(path);
    trl_model *a, *b;
    register_models(r, &a, &b);
    trl_registry_close(r);
    raw_exec(path, "DROP TABLE benchmarks; PRAGMA user_version = 2");

    snprintf(uri, sizeof uri, "file:%s?mode=ro", path);
    r = open_with_models(uri);
    trl_error err = {0};
    trl_model *m = trl_registry_get_model(r, "bt_a@1", &err);
    assert_non_null(m);
    trl_model_decref(m);
    json_t *list = trl_registry_benchmarks(r, "bt_a@1", &err);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    double v;
    assert_int_equal(trl_registry_benchmark_stat(r, "bt_a@1", "p50_ms", 1, 1,
                                                 &v, &err), TRL_ENOTFOUND);
    size_t batches[1] = {1};
    int threads[1] = {1};
    json_t *res = run(a, NULL, batches, 1, threads, 1);
    assert_int_equal(trl_registry_record_benchmark(r, res, NULL, &err),
                     TRL_EIO);
    assert_non_null(strstr(err.message, path));
    trl_registry_close(r);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 2);

    r = open_with_models(path);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 6);
    assert_int_equal(trl_registry_record_benchmark(r, res, NULL, &err), 0);
    list = trl_registry_benchmarks(r, "bt_a@1", &err);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    m = trl_registry_get_model(r, "bt_b@1", &err);
    assert_non_null(m);
    trl_model_decref(m);
    trl_registry_close(r);
    json_decref(res);
    trl_model_decref(a);
    trl_model_decref(b);
}

/* A read-only registry of format 3 reads its benchmarks and refuses a
 * new one with the file's name and SQLite's reason. */
static void test_read_only_registry(void **state)
{
    (void)state;
    char path[256], uri[300];
    snprintf(path, sizeof path, "%s/ro.sqlite", tmpdir);
    trl_registry *r = open_with_models(path);
    trl_model *a, *b;
    register_models(r, &a, &b);
    size_t batches[1] = {1};
    int threads[1] = {1};
    json_t *res = run(a, NULL, batches, 1, threads, 1);
    trl_error err = {0};
    assert_int_equal(trl_registry_record_benchmark(r, res, NULL, &err), 0);
    trl_registry_close(r);
    snprintf(uri, sizeof uri, "file:%s?mode=ro", path);
    r = open_with_models(uri);
    json_t *list = trl_registry_benchmarks(r, "bt_a", &err);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    assert_int_equal(trl_registry_record_benchmark(r, res, NULL, &err),
                     TRL_EIO);
    assert_non_null(strstr(err.message, "readonly"));
    assert_non_null(strstr(err.message, "cannot record the benchmark"));
    trl_registry_close(r);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM benchmarks"), 1);
    json_decref(res);
    trl_model_decref(a);
    trl_model_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantile_matches_numpy),
        cmocka_unit_test(test_quantile_edges),
        cmocka_unit_test(test_result_shape_with_vs_and_threads),
        cmocka_unit_test(test_batch_larger_than_the_frame),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_recorded_against_the_model_version),
        cmocka_unit_test(test_format_2_file_gains_the_table),
        cmocka_unit_test(test_read_only_registry),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
