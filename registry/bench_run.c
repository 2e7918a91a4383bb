/* bench_run.c - timing calls on worker threads: a warm-up, then every call
 * timed with two clock_gettime(CLOCK_MONOTONIC) reads and kept. Workers
 * keep their own time (they read the clock around every call anyway), so
 * a configuration ends on time even when the calling thread is not
 * scheduled; that thread only hands over between warm-up and measuring
 * (where it resets the peak memory) and watches for an interrupt. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trellis/bench.h"
#include "registry/bench_int.h"
#include "registry/registry_int.h"

/* How often the calling thread looks at the interrupt flag, the workers
 * and (where VmHWM cannot be reset) the memory. */
#define POLL_SECONDS 0.002

/* How long a prepared worker sleeps between looks at the start signal:
 * a sleep, not a spin, so the calling thread gets a CPU to give it. */
#define WAIT_SECONDS 50e-6

/* Room for samples beyond the warm-up's estimate, so the array rarely
 * grows while measuring (growing touches pages the peak then counts). */
#define ROOM_FACTOR 1.5
#define MIN_ROOM 1024

typedef struct shared {
    const trl__bench_call *c;
    trl__bench_fn fn;
    double duration;
    size_t cap;            /* samples per worker, at most */
    int threads;
    uint64_t warm_until;   /* monotonic ns: the warm-up's end */
    uint64_t until;        /* the measuring's end; set before `go` */
    atomic_int ready;      /* workers that have prepared */
    atomic_int finished;   /* workers that have ended */
    atomic_int go;         /* 1: measure (until is set) */
    atomic_int stop;       /* interrupted, a call failed, or a worker
                            * reached its cap: every worker ends */
} shared;

typedef struct worker {
    shared *sh;
    void *in;
    double *out;
    size_t cursor;
    uint64_t *ns;
    size_t n, room;
    uint64_t end;          /* when its last measured call ended */
    int capped;
    trl_error err;
} worker;

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void trl__bench_sleep(double seconds)
{
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

/* The empty call: called through the same pointer as a real one, so the
 * loop measured around it is the loop every sample pays for. */
static int empty_call(const void *arg, void *in, double *out, size_t *cursor,
                      trl_error *err)
{
    (void)arg;
    (void)in;
    (void)out;
    (void)cursor;
    (void)err;
    return 0;
}

static void stop_all(worker *w)
{
    atomic_store(&w->sh->stop, 1);
}

/* Sizes the sample array from the warm-up's call rate and touches it, so
 * its pages are resident before the peak is reset. */
static int prepare(worker *w, size_t warm_calls, uint64_t warm_ns)
{
    shared *sh = w->sh;
    double rate = (double)warm_calls / ((double)(warm_ns ? warm_ns : 1) *
                                        1e-9);
    double want = rate * sh->duration * ROOM_FACTOR + MIN_ROOM;
    w->room = want >= (double)sh->cap ? sh->cap : (size_t)want;
    if (!(w->ns = malloc(w->room * sizeof *w->ns))) {
        trl_error_set(&w->err, TRL_ENOMEM, "out of memory for %zu samples",
                      w->room);
        return -1;
    }
    /* not 0: the compiler would make malloc + memset a calloc, which
     * leaves fresh pages untouched */
    memset(w->ns, 0xff, w->room * sizeof *w->ns);
    return 0;
}

/* Doubles the sample array, up to the cap: -1 when at the cap. */
static int grow(worker *w)
{
    size_t room = w->room * 2 > w->sh->cap ? w->sh->cap : w->room * 2;
    uint64_t *ns = room > w->room ? realloc(w->ns, room * sizeof *ns) : NULL;
    if (!ns)
        return -1;
    w->ns = ns;
    w->room = room;
    return 0;
}

static void run_worker(worker *w)
{
    shared *sh = w->sh;
    trl__bench_fn fn = sh->fn;
    const void *a = sh->c->arg;
    /* the rate is taken over the warm-up's second half: the first calls
     * pay for cold caches and would make it an underestimate */
    size_t warm_calls = 0, half_calls = 0;
    uint64_t first = now_ns(), last = first, half = 0;
    uint64_t half_at = sh->warm_until > first
                           ? first + (sh->warm_until - first) / 2
                           : first;
    do {  /* one call at least, even when the thread started late */
        if (atomic_load_explicit(&sh->stop, memory_order_relaxed))
            return;
        if (fn(a, w->in, w->out, &w->cursor, &w->err) != 0) {
            stop_all(w);
            return;
        }
        warm_calls++;
        last = now_ns();
        if (!half && last >= half_at) {
            half = last;
            half_calls = warm_calls;
        }
    } while (last < sh->warm_until);
    int steady = half && warm_calls - half_calls >= 16;
    if (prepare(w, steady ? warm_calls - half_calls : warm_calls,
                steady ? last - half : last - first) != 0) {
        stop_all(w);
        return;
    }
    atomic_fetch_add(&sh->ready, 1);
    while (!atomic_load_explicit(&sh->go, memory_order_acquire)) {
        if (atomic_load_explicit(&sh->stop, memory_order_relaxed))
            return;
        trl__bench_sleep(WAIT_SECONDS);
    }
    uint64_t until = sh->until;
    /* at least one measured call per worker, however short the duration */
    for (;;) {
        uint64_t t0 = now_ns();
        int rc = fn(a, w->in, w->out, &w->cursor, &w->err);
        uint64_t t1 = now_ns();
        if (rc != 0) {
            stop_all(w);
            break;
        }
        if (w->n == w->room && grow(w) != 0) {
            w->capped = 1;
            stop_all(w);
            break;
        }
        w->ns[w->n++] = t1 - t0;
        w->end = t1;
        if (t1 >= until || atomic_load_explicit(&sh->stop,
                                                memory_order_relaxed))
            break;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    run_worker(w);
    atomic_fetch_add(&w->sh->finished, 1);
    return NULL;
}

/* Sleeps in short steps until done(sh) or a worker stops them all,
 * watching for an interrupt (which stops them all too): TRL_EINTR, or 0.
 * peak (may be NULL) receives the largest VmRSS seen. */
static int watch(shared *sh, int (*done)(shared *), double *peak)
{
    for (;;) {
        if (trl__registry_interrupted()) {
            atomic_store(&sh->stop, 1);
            return TRL_EINTR;
        }
        if (done(sh) || atomic_load(&sh->stop))
            return 0;
        if (peak) {
            double rss = trl__bench_status_mb("VmRSS");
            if (rss > *peak)
                *peak = rss;
        }
        trl__bench_sleep(POLL_SECONDS);
    }
}

static int all_ready(shared *sh)
{
    return atomic_load(&sh->ready) == sh->threads;
}

static int all_finished(shared *sh)
{
    return atomic_load(&sh->finished) == sh->threads;
}

/* Every worker's samples in one sorted array. */
static int merge(worker *ws, int threads, trl__bench_samples *out)
{
    size_t total = 0;
    for (int t = 0; t < threads; t++)
        total += ws[t].n;
    if (!(out->ns = malloc((total ? total : 1) * sizeof *out->ns)))
        return TRL_ENOMEM;
    size_t at = 0;
    for (int t = 0; t < threads; t++) {
        if (ws[t].n)
            memcpy(out->ns + at, ws[t].ns, ws[t].n * sizeof *out->ns);
        at += ws[t].n;
    }
    out->n = total;
    return trl__bench_sort(out->ns, total);
}

/* The first worker's error, or 0. */
static int worker_error(const worker *ws, int threads, trl_error *err)
{
    for (int t = 0; t < threads; t++)
        if (ws[t].err.code) {
            if (err)
                *err = ws[t].err;
            return ws[t].err.code;
        }
    return 0;
}

int trl__bench_measure(const trl__bench_call *c, int threads, double warmup,
                       double duration, trl__bench_samples *out,
                       trl_error *err)
{
    memset(out, 0, sizeof *out);
    out->rss_before_mb = out->peak_rss_mb = NAN;
    shared sh = {.c = c, .fn = c->fn ? c->fn : empty_call,
                 .duration = duration,
                 .cap = TRL_BENCH_MAX_SAMPLES / (size_t)threads,
                 .threads = threads};
    atomic_init(&sh.ready, 0);
    atomic_init(&sh.finished, 0);
    atomic_init(&sh.go, 0);
    atomic_init(&sh.stop, 0);
    worker *ws = calloc((size_t)threads, sizeof *ws);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    int started = 0, rc = 0, w = 0;
    if (!ws || !tids) {
        rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto done;
    }
    for (int t = 0; t < threads; t++) {
        worker *wk = &ws[t];
        wk->sh = &sh;
        /* threads start spread over the rows, as independent requests */
        wk->cursor = c->nrows ? (size_t)t * c->nrows / (size_t)threads : 0;
        wk->in = malloc(c->in_bytes ? c->in_bytes : 1);
        wk->out = malloc((c->out_count ? c->out_count : 1) *
                         sizeof *wk->out);
        if (!wk->in || !wk->out) {
            rc = trl_error_set(err, TRL_ENOMEM, "out of memory for a batch "
                               "of that size");
            goto done;
        }
    }
    sh.warm_until = now_ns() + (uint64_t)(warmup * 1e9);
    for (; started < threads; started++)
        if (pthread_create(&tids[started], NULL, worker_main,
                           &ws[started]) != 0) {
            rc = trl_error_set(err, TRL_EIO, "cannot start benchmark "
                               "thread %d of %d", started + 1, threads);
            goto done;
        }
    if ((w = watch(&sh, all_ready, NULL)) != 0 || atomic_load(&sh.stop))
        goto stop;
    /* the sample arrays are resident now: the peak from here on is the
     * calls' own */
    out->peak_from_hwm = trl__bench_reset_peak() == 0;
    /* just after the reset VmHWM is the RSS of that moment: the growth
     * measured from it cannot be negative, as from a separate VmRSS read
     * could (memory freed between the two) */
    out->rss_before_mb = trl__bench_status_mb(out->peak_from_hwm ? "VmHWM"
                                                                : "VmRSS");
    double sampled = out->rss_before_mb;
    uint64_t start = now_ns();
    sh.until = start + (uint64_t)(duration * 1e9);
    atomic_store_explicit(&sh.go, 1, memory_order_release);
    if ((w = watch(&sh, all_finished, out->peak_from_hwm ? NULL
                                                        : &sampled)) != 0)
        goto stop;
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    started = 0;
    out->peak_rss_mb = out->peak_from_hwm ? trl__bench_status_mb("VmHWM")
                                          : sampled;
    /* a worker that stopped the others failed (its error) or hit the cap */
    if ((rc = worker_error(ws, threads, err)) != 0)
        goto done;
    uint64_t end = start;
    for (int t = 0; t < threads; t++) {
        out->capped |= ws[t].capped;
        if (ws[t].end > end)
            end = ws[t].end;
    }
    out->seconds = (double)(end - start) * 1e-9;
    if (merge(ws, threads, out) != 0)
        rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
    goto done;
stop:
    atomic_store(&sh.stop, 1);
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    started = 0;
    if ((rc = worker_error(ws, threads, err)) != 0)
        ;  /* the call's own error */
    else if (w == TRL_EINTR)
        rc = trl__registry_interrupt_error(err);
    else
        rc = trl_error_set(err, TRL_EIO, "the benchmark's threads stopped "
                           "before measuring");
done:
    /* only a failed pthread_create leaves threads to stop here */
    if (started) {
        atomic_store(&sh.stop, 1);
        for (int t = 0; t < started; t++)
            pthread_join(tids[t], NULL);
    }
    for (int t = 0; ws && t < threads; t++) {
        free(ws[t].in);
        free(ws[t].out);
        free(ws[t].ns);
    }
    free(ws);
    free(tids);
    if (rc) {
        free(out->ns);
        out->ns = NULL;
        out->n = 0;
    }
    return rc;
}

double trl__bench_timer_ns(double seconds)
{
    uint64_t start = now_ns(), until = start + (uint64_t)(seconds * 1e9);
    uint64_t last = start, reads = 0;
    while (last < until) {
        for (int i = 0; i < 1000; i++)
            last = now_ns();
        reads += 1000;
    }
    return (double)(last - start) / (double)reads;
}
