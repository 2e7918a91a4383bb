/* bench_cell.c - %%bench: a whole cell timed run after run, reported as
 * percentiles of every run (as %bench reports calls), never as a mean
 * alone: the tail is what a notebook's reader waits on. The cell runs
 * through the engine's timer ops, one loop per run, so its setup-free
 * body is what is timed, in any language. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "magics/args.h"
#include "magics/magic_int.h"
#include "trellis/bench.h"
#include "trellis/display.h"
#include "trellis/timing.h"

#define MAX_RUNS 1000000

typedef struct cell_opts {
    double duration;  /* seconds of runs after the first (warm-up) one */
    long runs;        /* at least this many, even past the duration */
} cell_opts;

enum { OPT_DURATION, OPT_RUNS };

static const trl__arg_opt options[] = {
    [OPT_DURATION] = {.name = "duration", .kind = TRL__ARG_DOUBLE,
                      .meta = "SECONDS", .what = "seconds", .lo = 0,
                      .lo_open = 1, .hi = TRL_BENCH_MAX_DURATION},
    [OPT_RUNS] = {.name = "runs", .kind = TRL__ARG_INT, .meta = "N",
                  .min = 1, .max = MAX_RUNS},
};

const trl__args_spec trl__bench_cell_args = {
    .magic = "%%bench", .opts = options,
    .nopts = sizeof options / sizeof *options};

static int parse(const char *line, cell_opts *o, trl_exec_ctx *ctx)
{
    trl__args a;
    trl_error err = {0};
    o->duration = 2.0;
    o->runs = 5;
    if (trl__args_parse(&trl__bench_cell_args, line, &a, &err) != 0)
        return trl__args_fail(ctx, &err);
    o->duration = trl__args_double(&a, OPT_DURATION, o->duration);
    o->runs = (long)trl__args_int(&a, OPT_RUNS, o->runs);
    trl__args_free(&a);
    return 0;
}

/* The statistics as a table: IPython's units, p50 to p99.9. */
static json_t *render(const json_t *r, const cell_opts *o)
{
    static const char *const keys[] = {"p50_ms", "p90_ms", "p99_ms",
                                       "p99_9_ms", "min_ms", "max_ms",
                                       "mean_ms"};
    static const char *const heads[] = {"p50", "p90", "p99", "p99.9",
                                        "min", "max", "mean"};
    enum { N = sizeof keys / sizeof *keys };
    char cells[N][TRL_TIMING_FORMAT_MAX];
    for (size_t i = 0; i < N; i++) {
        json_t *v = json_object_get(r, keys[i]);
        if (json_is_number(v))
            trl_timing_format(json_number_value(v) * 1e-3, 3, 0, cells[i],
                              sizeof cells[i]);
        else
            snprintf(cells[i], sizeof cells[i], "-");
    }
    long long runs = json_integer_value(json_object_get(r, "calls"));
    trl_strbuf t, h;
    trl_strbuf_init(&t);
    trl_strbuf_init(&h);
    trl_strbuf_printf(&t, "%lld runs of the cell (after a warm-up run; "
                      "--duration %g):\n", runs, o->duration);
    trl_strbuf_printf(&h, "<table><thead><tr>");
    for (size_t i = 0; i < N; i++) {
        trl_strbuf_printf(&t, "  %-6s %s\n", heads[i], cells[i]);
        trl_strbuf_printf(&h, "<th>%s</th>", heads[i]);
    }
    trl_strbuf_printf(&h, "</tr></thead><tbody><tr>");
    for (size_t i = 0; i < N; i++)
        trl_strbuf_printf(&h, "<td>%s</td>", cells[i]);
    trl_strbuf_printf(&h, "</tr></tbody></table><p>%lld runs of the cell, "
                      "after a warm-up run; percentiles of every run</p>",
                      runs);
    json_t *bundle = t.p && h.p ? json_pack("{s:s, s:s, s:O}", "text/plain",
                                            t.p, "text/html", h.p,
                                            "application/vnd.trellis."
                                            "bench+json", r)
                                : NULL;
    free(t.p);
    free(h.p);
    return bundle;
}

int trl__magic_bench_cell(trl_magic_env *env, const char *line,
                          const char *body, trl_exec_ctx *ctx)
{
    cell_opts o;
    if (parse(line, &o, ctx) != 0)
        return TRL_EINVAL;
    const char *code;
    trl_engine *e = trl_magic_cell_engine(env, body, &code, ctx);
    if (!e)
        return TRL_EINVAL;
    if (!e->ops->timer_new) {
        trl_error err = {0};
        trl__args_error(&trl__bench_cell_args, &err, "%s cells cannot be "
                        "timed", e->ops->name);
        return trl__args_fail(ctx, &err);
    }
    void *timer;
    int rc = e->ops->timer_new(e, " ", code, TRL_TIMING_CLOCK_PERF, ctx,
                               &timer);
    if (rc != 0)
        return rc;
    size_t cap = 1024, n = 0;
    uint64_t *ns = malloc(cap * sizeof *ns);
    double spent = 0, s;
    if (!ns)
        rc = TRL_ENOMEM;
    /* the first run warms caches and is not kept */
    if (rc == 0)
        rc = e->ops->timer_run(e, timer, 1, &s, ctx);
    while (rc == 0 && (spent < o.duration || n < (size_t)o.runs) &&
           n < MAX_RUNS) {
        if (trl_ctx_interrupted(ctx)) {
            trl_ctx_fail(ctx, "KeyboardInterrupt", "interrupted by the user",
                         NULL);
            rc = TRL_EINTR;
            break;
        }
        if ((rc = e->ops->timer_run(e, timer, 1, &s, ctx)) != 0)
            break;
        if (n == cap) {
            uint64_t *g = realloc(ns, 2 * cap * sizeof *g);
            if (!g) {
                rc = TRL_ENOMEM;
                break;
            }
            ns = g;
            cap *= 2;
        }
        ns[n++] = (uint64_t)(s > 0 ? s * 1e9 + 0.5 : 0);
        spent += s;
    }
    e->ops->timer_free(e, timer);
    json_t *r = rc == 0 ? trl_bench_latency(ns, n) : NULL;
    free(ns);
    if (rc == 0 && r) {
        json_object_set_new(r, "duration", json_real(o.duration));
        json_t *bundle = render(r, &o);
        if (e->ops->set_last)
            e->ops->set_last(e, r);
        if (bundle)
            trl_ctx_display(ctx, bundle, NULL, NULL);
        else
            rc = TRL_ENOMEM;
    } else if (rc == 0) {
        rc = TRL_ENOMEM;
    }
    json_decref(r);
    if (rc == TRL_ENOMEM)
        trl_ctx_fail(ctx, "MemoryError", "out of memory", NULL);
    return rc;
}
