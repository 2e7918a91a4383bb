/* lua_int.h - private: the Lua engine's state, shared by its files. */
#ifndef TRELLIS_ENGINES_LUA_INT_H
#define TRELLIS_ENGINES_LUA_INT_H

#include <signal.h>

#include <lua.h>

#include "trellis/engine.h"

typedef struct trl__lua {
    trl_engine base;        /* first: the engine interface */
    lua_State *L;
    trl_exec_ctx *ctx;      /* the running cell, NULL between cells */
    size_t mem_used;        /* bytes the Lua allocator holds */
    size_t mem_limit;       /* bytes; 0 = no limit */
    volatile sig_atomic_t hooked;  /* the interrupt hook is installed; set
                                    * by the SIGINT handler */
    struct trl_registry *registry;  /* borrowed from the kernel, may be NULL */
    char registry_error[TRL_ERROR_MAX];  /* why registry is NULL, or "" */
    int enforce;            /* user code runs: the memory limit binds */
    lua_State *volatile running;  /* the coroutine user code runs in, for
                                   * the SIGINT handler; NULL = L */
    int settled;            /* the cell's code has returned and its result
                             * is published: an interrupt is too late */
    trl_engine *const *peers;  /* the kernel's engines, for `python.x`;
                                * borrowed, may be NULL */
    const size_t *npeers;
} trl__lua;

/* Calls fn(L) with ud as its only argument inside lua_pcall; returns the
 * pcall status. The stack is as before on return. */
int trl__lua_protect(lua_State *L, lua_CFunction fn, void *ud);
/* Runs fn(L) with ud as a cell runs: ctx set for output, a stale
 * interrupt hook removed, protected; an error outside user code is
 * reported through ctx. 0 or a negative code (fn reports its own user
 * errors with trl__lua_call_user). */
int trl__lua_exec(trl__lua *e, trl_exec_ctx *ctx, lua_CFunction fn,
                  void *ud);

/* Calls the function below nargs arguments on e->L as user code (the
 * memory limit binds); an error is reported through e->ctx with its
 * traceback. Inside trl__lua_exec only. Returns the pcall status. */
int trl__lua_call_user(trl__lua *e, int nargs, int nresults);

/* Records the error on top of e->L (a msgh table or a message) as the
 * cell's failure; ename_override replaces its name when not NULL. */
void trl__lua_report(trl__lua *e, int status, const char *ename_override);

/* The engine's %timeit ops and `_` (lua_timer.c). */
int trl__lua_timer_new(trl_engine *self, const char *setup,
                       const char *stmt, int clock, trl_exec_ctx *ctx,
                       void **timer_out);
int trl__lua_timer_run(trl_engine *self, void *timer,
                       unsigned long long loops, double *seconds,
                       trl_exec_ctx *ctx);
void trl__lua_timer_free(trl_engine *self, void *timer);
int trl__lua_set_last(trl_engine *self, const json_t *value);

/* The engine's scalar and bind_frame ops (lua_share.c). */
struct trl_frame;
json_t *trl__lua_scalar(trl_engine *self, const char *name);
int trl__lua_bind_frame(trl_engine *self, const char *name,
                        struct trl_frame *f, trl_error *err);

/* The message of the last failed trl__lua_protect (valid until the
 * next). */
const char *trl__lua_protect_error(void);

/* Sorts the array at idx with the standard table.sort saved at start (a
 * user's replacement is never called by the kernel). */
void trl__lua_sort(lua_State *L, int idx);

/* Raises the error value that reports as KeyboardInterrupt. */
int trl__lua_raise_interrupt(lua_State *L);

/* Builds the table of docs for the kernel's functions (after every
 * library is installed). */
void trl__lua_open_docs(lua_State *L);

/* The doc of the function at idx, or NULL (borrowed, lives as long as L). */
const char *trl__lua_doc_of(lua_State *L, int idx);

/* Installs the `features` library: frames, columns, the registry. */
void trl__lua_open_features(lua_State *L);
/* The registry, or a Lua error "WHAT is not available: why" (why the
 * kernel could not open it). Never returns NULL. */
struct trl_registry *trl__lua_registry(lua_State *L, const char *what);

/* Installs the `models` library: training, predicting, model versions. */
void trl__lua_open_models(lua_State *L);

/* Pushes an empty model value; what is put in the slot it returns, the
 * value owns (so a Lua error after cannot leak it). */
struct trl_model;
struct trl_model **trl__lua_push_model_box(lua_State *L);

/* Opens `python`: python.name reads the Python global name (lua_share.c). */
void trl__lua_open_peers(lua_State *L);

/* Pushes a JSON value as Lua values (objects and arrays as tables). */
struct json_t;
void trl__lua_push_json(lua_State *L, const struct json_t *j);

/* The Lua value at i as JSON (lua_models.c): numbers (finite), strings
 * (UTF-8 without NUL), booleans, lists read 1..n and string-keyed tables,
 * at most 4 tables deep from depth; an empty table is an empty object. A
 * new value, or NULL with a message in *why (NULL on entry). */
json_t *trl__lua_to_json(lua_State *L, int i, int depth, const char **why);

/* The model the value at i holds, or NULL (borrowed). */
struct trl_model;
struct trl_model *trl__lua_to_model(lua_State *L, int i);

/* Installs `metrics` and `compare` (lua_metrics.c). */
void trl__lua_open_metrics(lua_State *L);

/* The engine's metric op: business metrics defined with metrics.define. */
struct trl_metric_external;
int trl__lua_metric(trl_engine *self, const char *name,
                    struct trl_metric_external *out, trl_error *err);

/* metrics.define(name, fn | source [, opts]) (lua_business.c), which
 * lua_metrics.c installs in the `metrics` table. */
int trl__lua_metrics_define(lua_State *L);

/* The business metric called name as an external metric, looked up and
 * loaded in a protected call on L (the running thread): 0 with *out
 * filled (the caller calls out->release), TRL_ENOTFOUND when there is
 * none, TRL_EINVAL (err saying why) when a stored definition cannot be
 * loaded. Never raises; the stack is as before. */
int trl__lua_business_metric(lua_State *L, const char *name,
                             struct trl_metric_external *out,
                             trl_error *err);

/* Installs compare{} and the metatable of its results (lua_compare.c). */
void trl__lua_open_compare(lua_State *L);

/* Installs bench{} and the metatable of its results (lua_bench.c). */
void trl__lua_open_bench(lua_State *L);

/* models.benchmarks(spec): the benchmarks recorded for a model version
 * (lua_bench.c), which lua_models.c puts in the `models` table. */
int trl__lua_models_benchmarks(lua_State *L);
/* Installs validate.* and drift.* and the metatables of their results
 * (lua_guard.c). */
void trl__lua_open_guard(lua_State *L);

/* models.importance(model, {...}) (also m:importance{...}) and
 * models.importance_history(name, {...}) (lua_importance.c), which
 * lua_models.c puts in the `models` table and the model's methods; and
 * the metatables of their results. */
int trl__lua_models_importance(lua_State *L);
int trl__lua_models_importance_history(lua_State *L);
void trl__lua_open_importance(lua_State *L);

/* models.promote(spec, stage [, opts]) and models.history(name)
 * (lua_promote.c), which lua_models.c puts in the `models` table. */
int trl__lua_models_promote(lua_State *L);
int trl__lua_models_history(lua_State *L);

/* The engine's lookup op: frames and models in globals (lua_models.c). */
void trl__lua_lookup(trl_engine *self, const char *name,
                     struct trl_frame **frame_out,
                     struct trl_model **model_out);

/* Returns the engine that owns L (stored in the registry). */
trl__lua *trl__lua_of(lua_State *L);

/* Returns a new MIME bundle for the value at idx: text/plain always,
 * text/html for tabular tables and values with __repr_html, image/svg+xml
 * for __repr_svg. Never raises: a failing metamethod is shown as text. */
json_t *trl__lua_repr(lua_State *L, int idx);

/* The text/plain repr of the value at idx, pushed as a string. */
void trl__lua_repr_text(lua_State *L, int idx);

int trl__lua_complete(trl_engine *self, const char *code, size_t cursor,
                      trl_completion *out);
int trl__lua_inspect(trl_engine *self, const char *code, size_t cursor,
                     int detail, json_t **data_out);

/* Installs print, io.write/read, io.stdout/io.stderr, display,
 * clear_output, input and the os.exit guard. */
void trl__lua_open_kernel_lib(lua_State *L);

#endif
