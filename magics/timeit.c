/* timeit.c - %timeit, %%timeit, %time and %%time as IPython has them. The
 * statement runs in the cell's language through the engine's timer ops
 * (one compiled loop per run); the measuring, the statistics and every
 * printed word come from timing.c, which matches IPython 8.5. */
#include <stdio.h>
#include <string.h>

#include "trellis/magic.h"
#include "trellis/timing.h"

typedef struct loop_arg {
    trl_engine *e;
    void *timer;
    trl_exec_ctx *ctx;
} loop_arg;

/* One run of the driver: the statement `loops` times, in one call. */
static int run_loops(void *arg, uint64_t loops, double *seconds,
                     trl_error *err)
{
    loop_arg *a = arg;
    int rc = a->e->ops->timer_run(a->e, a->timer, loops, seconds, a->ctx);
    if (rc != 0)  /* the engine has recorded the failure in ctx */
        return trl_error_set(err, rc, "the statement failed");
    return 0;
}

/* IPython's TimeitResult as JSON: what -o hands the language as `_`. */
static json_t *result_json(const trl_timeit_result *r)
{
    json_t *runs = json_array(), *timings = json_array();
    for (int i = 0; i < r->repeat; i++) {
        json_array_append_new(runs, json_real(r->all_runs[i]));
        json_array_append_new(timings,
                              json_real(r->all_runs[i] / (double)r->loops));
    }
    return json_pack("{s:I, s:i, s:f, s:f, s:f, s:f, s:f, s:o, s:o}",
                     "loops", (json_int_t)r->loops, "repeat", r->repeat,
                     "best", r->best, "worst", r->worst, "average",
                     r->average, "stdev", r->stdev, "compile_time",
                     r->compile_time, "all_runs", runs, "timings", timings);
}

/* -o: the result becomes `_` and the cell's value, shown as IPython
 * shows it: <TimeitResult : 3.21 µs ± ...>. */
static int give_result(trl_engine *e, const trl_timeit_result *r,
                       trl_exec_ctx *ctx)
{
    json_t *value = result_json(r);
    if (!value)
        return TRL_ENOMEM;
    if (e->ops->set_last)
        e->ops->set_last(e, value);
    json_decref(value);
    char summary[TRL_TIMING_FORMAT_MAX], text[TRL_TIMING_FORMAT_MAX + 32];
    trl_timeit_summary(r, 0, summary, sizeof summary);
    snprintf(text, sizeof text, "<TimeitResult : %s>", summary);
    return trl_ctx_result(ctx, json_pack("{s:s}", "text/plain", text), NULL);
}

static int timeit_in(trl_engine *e, const trl_timeit_opts *o,
                     const char *setup, const char *stmt, trl_exec_ctx *ctx)
{
    if (!e->ops->timer_new) {
        char msg[160];
        snprintf(msg, sizeof msg, "%%timeit cannot time %s cells",
                 e->ops->name);
        trl_ctx_fail(ctx, "UsageError", msg, NULL);
        return TRL_EUNSUPPORTED;
    }
    loop_arg a = {e, NULL, ctx};
    int rc = e->ops->timer_new(e, setup, stmt, (int)o->clock, ctx, &a.timer);
    if (rc != 0)
        return rc;
    trl_timeit_result r;
    trl_error err = {0};
    rc = trl_timeit_run(o, run_loops, &a, &r, &err);
    e->ops->timer_free(e, a.timer);
    if (rc != 0) {
        /* a statement's own failure is in ctx already */
        trl_ctx_fail(ctx, rc == TRL_EINTR ? "KeyboardInterrupt" : "Error",
                     err.message, NULL);
        return rc;
    }
    if (!o->quiet) {
        char text[2 * TRL_TIMING_FORMAT_MAX];
        trl_timeit_report(&r, 0, text, sizeof text);
        trl_ctx_printf(ctx, "%s\n", text);
    }
    if (o->return_result)
        rc = give_result(e, &r, ctx);
    trl_timeit_result_free(&r);
    return rc;
}

static int usage(trl_exec_ctx *ctx, const trl_error *err)
{
    trl_ctx_fail(ctx, "UsageError", err->message, NULL);
    return TRL_EINVAL;
}

/* %timeit [-n N -r R -p P -q -o -t -c] statement */
static int timeit_line(trl_magic_env *env, const char *args,
                       trl_exec_ctx *ctx)
{
    trl_timeit_opts o;
    trl_error err = {0};
    if (trl_timeit_parse(args, &o, &err) != 0)
        return usage(ctx, &err);
    if (!*o.stmt)
        return 0;  /* IPython prints nothing for a bare %timeit */
    return timeit_in(trl_magic_engine(env), &o, "", o.stmt, ctx);
}

/* %%timeit [options] [setup]: the line after the options is setup, run
 * once and not timed; the body is timed. */
static int timeit_cell(trl_magic_env *env, const char *line,
                       const char *body, trl_exec_ctx *ctx)
{
    trl_timeit_opts o;
    trl_error err = {0};
    if (trl_timeit_parse(line, &o, &err) != 0)
        return usage(ctx, &err);
    const char *code;
    trl_engine *e = trl_magic_cell_engine(env, body, &code, ctx);
    if (!e)
        return TRL_EINVAL;
    /* setup is the cell's line 1 even when blank: the body's line
     * numbers in errors then match the cell's */
    return timeit_in(e, &o, *o.stmt ? o.stmt : " ", code, ctx);
}

/* Runs code as a cell and prints IPython's CPU and wall times before the
 * cell's value. A failing cell prints no times, as in IPython. */
static int time_code(trl_magic_env *env, const char *code,
                     trl_exec_ctx *ctx)
{
    double u0, s0, u1, s1;
    trl_ctx_hold_result(ctx);
    trl_timing_cpu(&u0, &s0);
    double w0 = trl_timing_now(TRL_TIMING_CLOCK_WALL);
    int rc = trl_magic_run_cell(env, code, ctx);
    double w1 = trl_timing_now(TRL_TIMING_CLOCK_WALL);
    trl_timing_cpu(&u1, &s1);
    if (rc == 0) {
        char text[2 * TRL_TIMING_FORMAT_MAX];
        trl_timing_time_report(u1 - u0, s1 - s0, w1 - w0, 0, 0, 0, text,
                               sizeof text);
        trl_ctx_printf(ctx, "%s\n", text);
    }
    trl_ctx_flush_result(ctx);
    return rc;
}

/* %time statement */
static int time_line(trl_magic_env *env, const char *args,
                     trl_exec_ctx *ctx)
{
    return time_code(env, args, ctx);
}

/* %%time: the whole body; IPython refuses code on the magic's line. */
static int time_cell(trl_magic_env *env, const char *line, const char *body,
                     trl_exec_ctx *ctx)
{
    if (*line) {
        trl_ctx_fail(ctx, "UsageError", "Can't use statement directly after "
                     "'%%time'!", NULL);
        return TRL_EINVAL;
    }
    return time_code(env, body, ctx);
}

const trl_magic trl__magic_timeit = {
    "timeit", TRL_TIMEIT_USAGE,
    "time a statement as IPython does: loops chosen until a run takes 0.2 "
    "s, 7 runs, mean \xc2\xb1 std. dev. per loop; -o makes the result `_`. "
    "%%timeit times the cell, its first line being untimed setup",
    timeit_line, timeit_cell};

const trl_magic trl__magic_time = {
    "time", "%time statement",
    "run a statement (or, as %%time, the cell) once and print its CPU and "
    "wall time, then its value",
    time_line, time_cell};
