/* py_engine.c - %%python cells: the engine interface over an embedded
 * CPython (py_runtime.c starts it on the first Python cell; py_helper.py
 * does the Python-side work). Each op takes the GIL, calls one helper
 * function and releases the GIL. */
#include <stdlib.h>
#include <string.h>

#include "engines/python/py_int.h"
#include "trellis/model.h"
#include "trellis/registry.h"

static const trl_language_info py_info = {
    "python", "3", "text/x-python", ".py", "ipython3", "python"};

typedef struct trl__pye {
    trl_engine base;          /* first: the engine interface */
    trl__py_bridge_env env;   /* what the trellis module reaches */
    char *registry_error;     /* env's, owned */
} trl__pye;

/* Enter, call the helper's name with Py_BuildValue's fmt, leave. Output
 * goes to ctx (NULL: nowhere). 0, TRL_EUNSUPPORTED when Python cannot
 * run (err says why and how to enable it), or another code with err. */
static int helper(trl_exec_ctx *ctx, const char *name, json_t **res,
                  trl_error *err, const char *fmt, ...)
{
    *res = NULL;
    if (trl__py_enter(ctx, err) != 0)
        return err->code = TRL_EUNSUPPORTED;
    va_list ap;
    va_start(ap, fmt);
    int rc = trl__py_vcall(name, res, err, fmt, ap);
    va_end(ap);
    trl__py_leave();
    return rc;
}

/* A failure of the engine itself as the cell's error. */
static int fail_err(const trl_error *err, trl_exec_ctx *ctx)
{
    const char *ename = err->code == TRL_EUNSUPPORTED ? "PythonUnavailable"
                                                      : "PythonError";
    trl_ctx_fail(ctx, ename, err->message,
                 json_pack("[s+++]", "\x1b[0;31m", ename, "\x1b[0m: ",
                           err->message));
    return err->code ? err->code : TRL_EINVAL;
}

/* The helper's {"ename", "evalue", "traceback"} as the cell's error;
 * 0 when res is no error. */
static int fail_json(json_t *res, trl_exec_ctx *ctx)
{
    const char *ename = json_string_value(json_object_get(res, "ename"));
    if (!ename)
        return 0;
    const char *evalue = json_string_value(json_object_get(res, "evalue"));
    json_t *tb = json_object_get(res, "traceback");
    trl_ctx_fail(ctx, ename, evalue ? evalue : "",
                 json_is_array(tb) ? json_incref(tb) : NULL);
    return strcmp(ename, "KeyboardInterrupt") == 0 ? TRL_EINTR
                                                   : TRL_EINVAL;
}

static int py_execute(trl_engine *self, const char *code, trl_exec_ctx *ctx)
{
    (void)self;
    json_t *res;
    trl_error err = {0};
    if (*trl_ctx_cell_args(ctx)) {
        /* rather than ignore what the user meant to ask for */
        trl_ctx_fail(ctx, "UsageError", "%%python takes no options: put "
                     "the code on the lines below it", NULL);
        return TRL_EINVAL;
    }
    if (helper(ctx, "run_cell", &res, &err, "(sii)", code,
               trl_ctx_execution_count(ctx),
               trl_ctx_code_line(ctx, code)) != 0)
        return fail_err(&err, ctx);
    int rc = fail_json(res, ctx);
    json_decref(res);
    return rc;
}

static int py_evaluate(trl_engine *self, const char *expr, json_t **data_out,
                       trl_error *err)
{
    (void)self;
    json_t *res;
    *data_out = NULL;
    if (helper(NULL, "evaluate", &res, err, "(s)", expr) != 0)
        return err->code;
    json_t *data = json_object_get(res, "data");
    if (json_is_object(data))
        *data_out = json_incref(data);
    else
        trl_error_set(err, TRL_EINVAL, "%s: %s",
                      json_string_value(json_object_get(res, "ename")),
                      json_string_value(json_object_get(res, "evalue")));
    json_decref(res);
    return *data_out ? 0 : err->code;
}

/* Completion, inspection and is_complete start Python too: they are
 * asked about a %%python cell, which will need it. Without Python they
 * find nothing (the cell's run says why). */
static int py_complete(trl_engine *self, const char *code, size_t cursor,
                       trl_completion *out)
{
    (void)self;
    json_t *res;
    trl_error err = {0};
    if (helper(NULL, "complete", &res, &err, "(sn)", code,
               (py_ssize_t)cursor) != 0)
        return err.code;
    json_t *m = json_object_get(res, "matches");
    json_t *start = json_object_get(res, "start");
    json_t *end = json_object_get(res, "end");
    if (json_is_array(m) && json_is_integer(start) && json_is_integer(end)) {
        out->matches = json_incref(m);
        out->cursor_start = (size_t)json_integer_value(start);
        out->cursor_end = (size_t)json_integer_value(end);
    }
    json_decref(res);
    return 0;
}

static int py_inspect(trl_engine *self, const char *code, size_t cursor,
                      int detail_level, json_t **data_out)
{
    (void)self;
    json_t *res;
    trl_error err = {0};
    *data_out = NULL;
    if (helper(NULL, "inspect_at", &res, &err, "(sni)", code,
               (py_ssize_t)cursor, detail_level) != 0)
        return err.code;
    json_t *data = json_object_get(res, "data");
    if (json_is_object(data))
        *data_out = json_incref(data);
    json_decref(res);
    return 0;
}

static trl_code_status py_is_complete(trl_engine *self, const char *code,
                                      char *indent, size_t indent_size)
{
    (void)self;
    json_t *res;
    trl_error err = {0};
    if (helper(NULL, "is_complete", &res, &err, "(s)", code) != 0)
        return TRL_CODE_COMPLETE;  /* so it runs, and says what is wrong */
    const char *st = json_string_value(json_object_get(res, "status"));
    const char *ind = json_string_value(json_object_get(res, "indent"));
    trl_code_status s = TRL_CODE_UNKNOWN;
    if (st && strcmp(st, "complete") == 0)
        s = TRL_CODE_COMPLETE;
    else if (st && strcmp(st, "invalid") == 0)
        s = TRL_CODE_INVALID;
    else if (st && strcmp(st, "incomplete") == 0)
        s = TRL_CODE_INCOMPLETE;
    if (indent_size)
        snprintf(indent, indent_size, "%s", ind ? ind : "");
    json_decref(res);
    return s;
}

static json_t *py_variables(trl_engine *self)
{
    (void)self;
    json_t *res;
    trl_error err = {0};
    if (helper(NULL, "variables", &res, &err, "()") != 0)
        return NULL;
    return res;
}

static void py_reset(trl_engine *self)
{
    (void)self;
    json_t *res;
    trl_error err = {0};
    helper(NULL, "reset", &res, &err, "()");
    json_decref(res);
}

static int py_set_last(trl_engine *self, const json_t *value)
{
    (void)self;
    char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!text)
        return TRL_ENOMEM;
    json_t *res;
    trl_error err = {0};
    int rc = helper(NULL, "set_last", &res, &err, "(s)", text);
    free(text);
    json_decref(res);
    return rc;
}

/* ---- %timeit: the statement compiled once into timeit's loop --------------- */

typedef struct py_timer {
    long id;  /* the helper's handle */
} py_timer;

static int py_timer_new(trl_engine *self, const char *setup,
                        const char *stmt, int clock, trl_exec_ctx *ctx,
                        void **timer_out)
{
    (void)self;
    *timer_out = NULL;
    json_t *res;
    trl_error err = {0};
    if (helper(ctx, "timer_new", &res, &err, "(ssiii)", setup ? setup : "",
               stmt, clock, trl_ctx_execution_count(ctx),
               trl_ctx_code_line(ctx, stmt)) != 0)
        return fail_err(&err, ctx);
    int rc = fail_json(res, ctx);
    json_t *id = json_object_get(res, "id");
    py_timer *t = rc == 0 ? malloc(sizeof *t) : NULL;
    if (t) {
        t->id = (long)json_integer_value(id);
        *timer_out = t;
    } else if (rc == 0) {
        trl_ctx_fail(ctx, "MemoryError", "out of memory", NULL);
        rc = TRL_ENOMEM;
    }
    json_decref(res);
    return rc;
}

static int py_timer_run(trl_engine *self, void *timer,
                        unsigned long long loops, double *seconds,
                        trl_exec_ctx *ctx)
{
    (void)self;
    py_timer *t = timer;
    json_t *res;
    trl_error err = {0};
    *seconds = 0;
    if (helper(ctx, "timer_run", &res, &err, "(lK)", t->id, loops) != 0)
        return fail_err(&err, ctx);
    int rc = fail_json(res, ctx);
    if (rc == 0)
        *seconds = json_number_value(json_object_get(res, "seconds"));
    json_decref(res);
    return rc;
}

static void py_timer_free(trl_engine *self, void *timer)
{
    (void)self;
    py_timer *t = timer;
    if (!t)
        return;
    json_t *res;
    trl_error err = {0};
    helper(NULL, "timer_free", &res, &err, "(l)", t->id);
    json_decref(res);
    free(t);
}

/* ---- values other engines read ------------------------------------------------ */

/* A Python global holding a trellis.Frame or trellis.Model: the very
 * frame or model, a new reference (nothing copied). */
static void py_lookup(trl_engine *self, const char *name,
                      struct trl_frame **frame_out,
                      struct trl_model **model_out)
{
    (void)self;
    *frame_out = NULL;
    *model_out = NULL;
    json_t *res = NULL;
    trl_error err = {0};
    /* no Python yet, no globals: a magic looking through every engine
     * must not start an interpreter the user never asked for */
    if (!trl__py_started() || trl__py_enter(NULL, &err) != 0)
        return;
    if (trl__py_call("lookup", &res, &err, "(s)", name) == 0) {
        const char *kind = json_string_value(json_object_get(res, "kind"));
        json_t *h = json_object_get(res, "handle");
        int model = kind && strcmp(kind, "model") == 0;
        /* before the GIL goes: a thread could drop the Frame after */
        void *p = kind && json_is_integer(h)
                      ? trl__py_bridge_ref(
                            (unsigned long long)json_integer_value(h), model)
                      : NULL;
        if (model)
            *model_out = p;
        else
            *frame_out = p;
    }
    trl__py_leave();
    json_decref(res);
}

static json_t *py_scalar(trl_engine *self, const char *name)
{
    (void)self;
    json_t *res;
    trl_error err = {0};
    if (!trl__py_started() ||
        helper(NULL, "scalar", &res, &err, "(s)", name) != 0)
        return NULL;
    json_t *v = json_incref(json_object_get(res, "value"));
    json_decref(res);
    return v;
}

static int py_bind_frame(trl_engine *self, const char *name,
                         struct trl_frame *f, trl_error *err)
{
    (void)self;
    trl_frame_incref(f);
    unsigned long long h = trl__py_bridge_adopt(f, 0);
    if (!h) {
        trl_frame_decref(f);
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    json_t *res;
    int rc = helper(NULL, "bind_frame", &res, err, "(sK)", name, h);
    if (rc == 0 && json_object_get(res, "ename"))
        rc = trl_error_set(err, TRL_EINVAL, "%s",
                           json_string_value(json_object_get(res, "evalue")));
    json_decref(res);
    if (rc != 0)  /* no Python Frame took it (Python could not start) */
        trl__py_bridge_release(h);
    return rc;
}

/* ---- lifetime -------------------------------------------------------------------- */

static void py_interrupt(trl_engine *self)
{
    (void)self;
    trl__py_interrupt();
}

static void py_destroy(trl_engine *self)
{
    /* The interpreter stays: CPython cannot be unloaded, and finalising
     * it would wait for any thread a user started. */
    trl__pye *e = (trl__pye *)self;
    trl__py_bridge_detach(&e->env);
    free(e->registry_error);
    free(e);
}

static const trl_engine_ops py_ops = {
    .name = "python",
    .info = &py_info,
    .execute = py_execute,
    .evaluate = py_evaluate,
    .complete = py_complete,
    .inspect = py_inspect,
    .is_complete = py_is_complete,
    .variables = py_variables,
    .timer_new = py_timer_new,
    .timer_run = py_timer_run,
    .timer_free = py_timer_free,
    .lookup = py_lookup,
    .scalar = py_scalar,
    .bind_frame = py_bind_frame,
    .set_last = py_set_last,
    .reset = py_reset,
    .interrupt = py_interrupt,
    .destroy = py_destroy};

trl_engine *trl_python_engine_new(const trl_engine_config *config,
                                  trl_error *err)
{
    trl__pye *e = calloc(1, sizeof *e);
    if (e && config->registry_error &&
        !(e->registry_error = strdup(config->registry_error))) {
        free(e);
        e = NULL;
    }
    if (!e) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    e->base.ops = &py_ops;
    e->env = (trl__py_bridge_env){config->registry, e->registry_error,
                                  config->peers, config->npeers, &e->base};
    trl__py_bridge_attach(&e->env);
    return &e->base;
}
