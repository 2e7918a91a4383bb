/* lua_metrics.c - the `metrics` library (one metric of scores against
 * labels) and compare{...}, whose result is a value a notebook can assert
 * on and that displays as the %compare table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "trellis/display.h"
#include "trellis/metrics.h"
#include "trellis/model.h"
#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"

#define RESULT_MT "trellis.comparison"

typedef struct lresult {
    json_t *r;  /* owned; NULL until filled */
} lresult;

/* ---- metrics.compute ------------------------------------------------------------ */

/* The optional column field key of the table at opts (NULL when absent). */
static trl_column *opt_column(lua_State *L, int opts, const char *key)
{
    if (!lua_istable(L, opts))
        return NULL;
    lua_getfield(L, opts, key);
    if (lua_isnil(L, -1))
        return NULL;
    trl_column *c = trl__lf_to_column(L, -1);
    if (!c)
        luaL_error(L, "metrics.compute: %s must be a column", key);
    return c;  /* anchored on the stack */
}

static int64_t group_key(const trl_column *c, size_t i)
{
    if (c->type == TRL_STR)
        return c->v.codes[i];
    if (c->type == TRL_I64)
        return c->v.i64[i];
    if (c->type == TRL_BOOL)
        return c->v.b[i];
    return (int64_t)c->v.f64[i];
}

/* The rows with a label, a score (and a weight and group when given):
 * malloc'd arrays in one block owned by a userdata on the stack. */
static trl_metric_data gather(lua_State *L, const trl_column *y,
                              const trl_column *s, const trl_column *w,
                              const trl_column *g)
{
    size_t n = y->len;
    /* room only for what is given: at 10M rows each array is 80 MB */
    size_t bytes = n * sizeof(double) * (2 + (w != NULL)) +
                   (g ? n * sizeof(int64_t) : 0) + 1;
    char *mem = lua_newuserdatauv(L, bytes, 0);
    double *ys = (double *)mem, *ss = ys + n;
    double *ws = w ? ss + n : NULL;
    int64_t *gs = g ? (int64_t *)(ss + n + (w ? n : 0)) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        double yi = trl_column_get_f64(y, i), si = trl_column_get_f64(s, i);
        if (isnan(yi) || isnan(si) || (w && trl_column_is_missing(w, i)) ||
            (g && trl_column_is_missing(g, i)))
            continue;
        ys[k] = yi;
        ss[k] = si;
        if (w)
            ws[k] = trl_column_get_f64(w, i);
        if (g)
            gs[k] = group_key(g, i);
        k++;
    }
    return (trl_metric_data){ys, ss, w ? ws : NULL, g ? gs : NULL, k};
}

/* metrics.compute(name, labels, scores [, {weight=, group=, threshold=,
 * bins=}]) -> number */
static int l_compute(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    trl_column *y = trl__lf_check_column(L, 2);
    trl_column *s = trl__lf_check_column(L, 3);
    if (y->len != s->len)
        return luaL_error(L, "metrics.compute: labels have %d rows, scores "
                          "%d", (int)y->len, (int)s->len);
    trl_metric m;
    trl_error err = {0};
    if (trl_metric_parse(name, &m, &err) != 0)
        return trl__lf_fail(L, &err);
    lua_settop(L, 4);
    trl_column *w = opt_column(L, 4, "weight");
    trl_column *g = opt_column(L, 4, "group");
    if ((w && w->len != y->len) || (g && g->len != y->len))
        return luaL_error(L, "metrics.compute: weight and group need as "
                          "many rows as the labels");
    if (lua_istable(L, 4)) {
        lua_getfield(L, 4, "threshold");
        if (lua_isnumber(L, -1))
            m.threshold = lua_tonumber(L, -1);
        lua_getfield(L, 4, "bins");
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0 &&
            lua_tointeger(L, -1) <= 10000)
            m.bins = (int)lua_tointeger(L, -1);
    }
    trl_metric_data d = gather(L, y, s, w, g);
    double v;
    if (trl_metric_compute(&m, &d, &v, &err) != 0)
        return trl__lf_fail(L, &err);
    lua_pushnumber(L, v);
    return 1;
}

/* metrics.list() -> {"auc", ...} */
static int l_list(lua_State *L)
{
    static const char *const names[] = {
        "auc", "pr_auc", "logloss", "brier", "accuracy", "precision",
        "recall", "f1", "ece", "rmse", "mae", "r2", "mape", "ndcg@k",
        "precision@k", "recall@k", "map@k", "mrr", "hit_rate@k"};
    lua_createtable(L, (int)(sizeof names / sizeof *names), 0);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* ---- business metrics ------------------------------------------------------------ */

/* Registry table of the session's business metrics: name -> {fn = ...,
 * higher = bool, columns = {...}}. */
static const char business_key = 'B';

static void push_business_table(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &business_key) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &business_key);
}

/* Compiles a function expression ("function(y, p, w) ... end"). Pushes the
 * function, or raises naming the problem. */
static void compile_metric(lua_State *L, const char *name, const char *src)
{
    lua_pushfstring(L, "return %s", src);
    if (luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), name) !=
        LUA_OK)
        luaL_error(L, "metric '%s' does not compile: %s", name,
                   lua_tostring(L, -1));
    lua_call(L, 0, 1);
    if (!lua_isfunction(L, -1))
        luaL_error(L, "metric '%s': its source must be a function "
                      "expression, as in \"function(y, p, w) ... end\"",
                   name);
    lua_remove(L, -2);
}

/* Pushes the entry of a business metric (the session's, else one whose
 * source the registry keeps) or nil. */
static void push_business(lua_State *L, const char *name)
{
    push_business_table(L);
    if (lua_getfield(L, -1, name) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    trl_registry *r = trl__lua_of(L)->registry;
    json_t *def = r ? trl_registry_get_metric(r, name, NULL) : NULL;
    if (!def) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return;
    }
    /* Lua copies of everything first, so the JSON is freed before any
     * call that can raise */
    lua_createtable(L, 0, 3);
    lua_pushstring(L, json_string_value(json_object_get(def, "source")));
    lua_pushboolean(L, json_is_true(json_object_get(def,
                                                     "higher_is_better")));
    lua_setfield(L, -3, "higher");
    trl__lua_push_json(L, json_object_get(def, "columns"));
    lua_setfield(L, -3, "columns");
    json_decref(def);
    compile_metric(L, name, lua_tostring(L, -1));
    lua_setfield(L, -3, "fn");
    lua_pop(L, 1);                   /* the source */
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);       /* cached for the session */
    lua_remove(L, -2);
}

/* metrics.define(name, fn | "function(y, p, w) ... end" [, {
 * higher_is_better = true, columns = {"revenue"}}]) -> name. Source text
 * is kept in the registry; a function value lasts for the session. */
static int l_define(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    trl_metric builtin;
    if (trl_metric_parse(name, &builtin, NULL) == 0)
        return luaL_error(L, "'%s' is a built-in metric: choose another "
                          "name", name);
    int is_src = lua_type(L, 2) == LUA_TSTRING;
    if (!is_src && !lua_isfunction(L, 2))
        return luaL_error(L, "metrics.define: give a function or its source "
                          "text");
    lua_settop(L, 3);
    int higher = 1;
    lua_newtable(L);
    int cols = lua_gettop(L);
    if (lua_istable(L, 3)) {
        if (lua_getfield(L, 3, "higher_is_better") == LUA_TBOOLEAN)
            higher = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (lua_getfield(L, 3, "columns") == LUA_TTABLE) {
            for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1);
                 i++) {
                if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
                    return luaL_error(L, "metrics.define: columns is a list "
                                      "of column names");
                lua_rawseti(L, cols, i);
            }
        }
        lua_pop(L, 1);
    }
    lua_createtable(L, 0, 3);
    int entry = lua_gettop(L);
    if (is_src)
        compile_metric(L, name, lua_tostring(L, 2));
    else
        lua_pushvalue(L, 2);
    lua_setfield(L, entry, "fn");
    lua_pushboolean(L, higher);
    lua_setfield(L, entry, "higher");
    lua_pushvalue(L, cols);
    lua_setfield(L, entry, "columns");
    trl_registry *r = trl__lua_of(L)->registry;
    if (is_src && r) {
        json_t *jc = json_array();
        for (lua_Integer i = 1; jc && i <= (lua_Integer)lua_rawlen(L, cols);
             i++) {
            lua_rawgeti(L, cols, i);
            json_array_append_new(jc, json_string(lua_tostring(L, -1)));
            lua_pop(L, 1);
        }
        trl_error err = {0};
        int rc = trl_registry_define_metric(r, name, lua_tostring(L, 2),
                                            higher, jc, &err);
        json_decref(jc);
        if (rc != 0)
            return trl__lf_fail(L, &err);
    }
    push_business_table(L);
    lua_pushvalue(L, entry);
    lua_setfield(L, -2, name);
    lua_pushstring(L, name);
    return 1;
}

/* What evaluating a business metric needs: the engine's state and a
 * reference to the metric's entry. */
typedef struct business_ctx {
    lua_State *L;
    int ref;
} business_ctx;

typedef struct business_job {
    business_ctx *ctx;
    const trl_metric_call *call;
    double out;
} business_job;

static void push_f64(lua_State *L, const double *v, size_t n, double fill,
                     const char *expr)
{
    trl_column *c = trl_column_new(TRL_F64, n, NULL);
    if (!c)
        luaL_error(L, "out of memory");
    for (size_t i = 0; i < n; i++)
        c->v.f64[i] = v ? v[i] : fill;
    trl__lf_push_column(L, c, expr);
}

/* Calls fn(y, p, w, extra columns...) on the rows of the call. */
static int business_main(lua_State *L)
{
    business_job *j = lua_touserdata(L, 1);
    const trl_metric_call *c = j->call;
    lua_rawgeti(L, LUA_REGISTRYINDEX, j->ctx->ref);
    int entry = lua_gettop(L);
    lua_getfield(L, entry, "columns");
    int cols = lua_gettop(L);
    luaL_checkstack(L, 8 + (int)lua_rawlen(L, cols), "too many columns");
    if (lua_rawlen(L, cols) && (!c->rows || !c->frame))
        return luaL_error(L, "it reads columns, which only compare can "
                          "give it");
    lua_getfield(L, entry, "fn");
    push_f64(L, c->y, c->n, 0, "y");
    push_f64(L, c->s, c->n, 0, "p");
    push_f64(L, c->w, c->n, 1.0, "w");
    int nargs = 3;
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, cols); i++) {
        lua_rawgeti(L, cols, i);
        const char *col = lua_tostring(L, -1);
        const trl_column *src = c->frame && col
                                    ? trl_frame_get(c->frame, col) : NULL;
        if (!src)
            return luaL_error(L, "the frame has no column '%s', which the "
                              "metric reads", col ? col : "?");
        lua_pop(L, 1);
        trl_error err = {0};
        trl_column *t = trl_column_take(src, c->rows, c->n, &err);
        if (!t)
            return luaL_error(L, "%s", err.message);
        trl__lf_push_column(L, t, col);
        nargs++;
    }
    lua_call(L, nargs, 1);
    if (!lua_isnumber(L, -1))
        return luaL_error(L, "it returned %s, not a number",
                          luaL_typename(L, -1));
    j->out = lua_tonumber(L, -1);
    return 0;
}

static int business_eval(void *ctx, const trl_metric_call *call,
                         double *out, trl_error *err)
{
    business_job j = {ctx, call, NAN};
    lua_State *L = ((business_ctx *)ctx)->L;
    if (!lua_checkstack(L, 2))
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    lua_pushcfunction(L, business_main);
    lua_pushlightuserdata(L, &j);
    int st = lua_pcall(L, 1, 0, 0);
    /* the columns it made live outside the Lua heap, where the collector
     * cannot see them: a step sized like them keeps pace */
    lua_gc(L, LUA_GCSTEP, (int)(call->n * sizeof(double) * 8 / 1024 + 1));
    if (st != LUA_OK) {
        int interrupted = lua_type(L, -1) == LUA_TLIGHTUSERDATA;
        const char *msg = lua_tostring(L, -1);
        if (interrupted)
            trl_error_set(err, TRL_EINTR, "interrupted");
        else
            trl_error_set(err, TRL_EINVAL, "business metric: %s",
                          msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
        return err ? err->code : TRL_EINVAL;
    }
    *out = j.out;
    return 0;
}

static void business_release(void *ctx)
{
    business_ctx *c = ctx;
    if (!c)
        return;
    luaL_unref(c->L, LUA_REGISTRYINDEX, c->ref);
    free(c);
}

/* The business metric called name as an external metric: 0, or
 * TRL_ENOTFOUND. Raises on a bad stored definition. */
static int business_metric(lua_State *L, const char *name,
                           trl_metric_external *out)
{
    push_business(L, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return TRL_ENOTFOUND;
    }
    lua_getfield(L, -1, "higher");
    int higher = lua_toboolean(L, -1);
    lua_pop(L, 1);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);  /* pops the entry */
    business_ctx *c = malloc(sizeof *c);
    if (!c) {
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        return luaL_error(L, "out of memory");
    }
    c->L = L;
    c->ref = ref;
    *out = (trl_metric_external){name, higher, business_eval, c,
                                 business_release};
    return 0;
}

typedef struct metric_lookup {
    const char *name;
    trl_metric_external *out;
    int rc;
} metric_lookup;

static int metric_lookup_main(lua_State *L)
{
    metric_lookup *m = lua_touserdata(L, 1);
    m->rc = business_metric(L, m->name, m->out);
    return 0;
}

int trl__lua_metric(trl_engine *self, const char *name,
                    struct trl_metric_external *out)
{
    metric_lookup m = {name, out, TRL_ENOTFOUND};
    if (trl__lua_protect(((trl__lua *)self)->L, metric_lookup_main, &m) !=
        LUA_OK)
        return TRL_EINVAL;
    return m.rc;
}

/* ---- compare{...} ---------------------------------------------------------------- */

/* A model value, or a registry spec, at the top of the stack: a new
 * reference. */
static trl_model *model_at(lua_State *L, trl_error *err)
{
    trl_model *m = trl__lua_to_model(L, -1);
    if (m) {
        trl_model_incref(m);
        return m;
    }
    if (lua_type(L, -1) != LUA_TSTRING) {
        trl_error_set(err, TRL_EINVAL, "compare: models must be models or "
                      "registered names such as 'churn_xgb@2'");
        return NULL;
    }
    trl_registry *r = trl__lua_of(L)->registry;
    if (!r) {
        trl_error_set(err, TRL_EINVAL, "the model registry is not available");
        return NULL;
    }
    return trl_registry_get_model(r, lua_tostring(L, -1), err);
}

static const char *opt_string(lua_State *L, const char *key)
{
    lua_getfield(L, 1, key);
    if (lua_isnil(L, -1))
        return NULL;
    if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "compare: %s must be a string", key);
    return lua_tostring(L, -1);
}

/* Everything compare{} holds while it runs, freed in one place. */
typedef struct compare_call {
    trl_model *models[16];
    size_t nmodels;
    const char *metrics[32];
    size_t nmetrics;
    trl_metric_external external[32];
    size_t nexternal;
} compare_call;

static void compare_call_free(compare_call *c)
{
    for (size_t i = 0; i < c->nmodels; i++)
        trl_model_decref(c->models[i]);
    for (size_t i = 0; i < c->nexternal; i++)
        c->external[i].release(c->external[i].ctx);
    c->nmodels = c->nexternal = 0;
}

static int l_compare(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    compare_call c = {0};
    trl_compare_request rq = {0};
    /* the on frame: a frame or a registered name, kept on the stack */
    lua_getfield(L, 1, "on");
    trl_frame *on = NULL;
    if (lua_type(L, -1) == LUA_TSTRING) {
        trl_registry *r = trl__lua_of(L)->registry;
        int box = trl__lf_push_box(L);
        trl_error err = {0};
        trl_frame *f = r ? trl_registry_get(r, lua_tostring(L, -2), &err)
                         : NULL;
        if (!f)
            return r ? trl__lf_fail(L, &err)
                     : luaL_error(L, "the registry is not available");
        trl__lf_finish(L, box, f);
    }
    if (!(on = luaL_testudata(L, -1, FRAME_MT)
                   ? ((lframe *)lua_touserdata(L, -1))->f : NULL))
        return luaL_error(L, "compare: on must be a frame or a registered "
                          "'name@N'");
    lua_getfield(L, 1, "metrics");
    if (lua_istable(L, -1)) {
        int t = lua_gettop(L);
        /* each name stays on the stack (anchored) while compare runs */
        luaL_checkstack(L, 32 + 16, "too many metrics");
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, t); i++) {
            lua_rawgeti(L, t, i);
            if (lua_type(L, -1) != LUA_TSTRING || c.nmetrics == 32)
                return luaL_error(L, "compare: metrics is a list of up to "
                                  "32 names");
            c.metrics[c.nmetrics++] = lua_tostring(L, -1);  /* anchored */
        }
    }
    lua_getfield(L, 1, "bootstrap");
    lua_Integer boot = lua_isnil(L, -1) ? 1000 : lua_tointeger(L, -1);
    lua_getfield(L, 1, "seed");
    lua_Integer seed = lua_isnil(L, -1) ? 1 : lua_tointeger(L, -1);
    if (boot < 0 || boot > 100000 || seed < 0)
        return luaL_error(L, "compare: bootstrap is 0 to 100000 resamples "
                          "and seed a whole number >= 0");
    rq.by = opt_string(L, "by");
    rq.group = opt_string(L, "group");
    rq.weight = opt_string(L, "weight");
    lua_getfield(L, 1, "models");
    int mt = lua_gettop(L);
    if (!lua_istable(L, mt) || lua_rawlen(L, mt) < 1 ||
        lua_rawlen(L, mt) > 16)
        return luaL_error(L, "compare: models is a list of 1 to 16 models");
    lresult *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->r = NULL;
    luaL_setmetatable(L, RESULT_MT);
    int box_idx = lua_gettop(L);
    /* business metrics become external metrics; the rest must parse */
    size_t kept = 0;
    for (size_t i = 0; i < c.nmetrics; i++) {
        trl_metric m;
        trl_error perr = {0};
        if (trl_metric_parse(c.metrics[i], &m, &perr) == 0) {
            c.metrics[kept++] = c.metrics[i];
            continue;
        }
        /* protected: a stored definition that fails to compile must not
         * leak the ones already looked up */
        metric_lookup ml = {c.metrics[i], &c.external[c.nexternal],
                            TRL_ENOTFOUND};
        int st = trl__lua_protect(L, metric_lookup_main, &ml);
        if (st == LUA_OK && ml.rc == 0) {
            c.nexternal++;
            continue;
        }
        compare_call_free(&c);
        if (st != LUA_OK)
            return luaL_error(L, "metric '%s' cannot be loaded from the "
                              "registry", c.metrics[i]);
        return trl__lf_fail(L, &perr);
    }
    c.nmetrics = kept;
    /* models are counted references from here: nothing raises until
     * they are released */
    trl_error err = {0};
    size_t n = (size_t)lua_rawlen(L, mt);
    for (size_t i = 0; i < n && !err.code; i++) {
        lua_rawgeti(L, mt, (lua_Integer)i + 1);
        if ((c.models[i] = model_at(L, &err)))
            c.nmodels++;
        lua_pop(L, 1);
    }
    if (!err.code) {
        rq.models = c.models;
        rq.nmodels = c.nmodels;
        rq.on = on;
        rq.metrics = c.nmetrics ? c.metrics : NULL;
        rq.external = c.external;
        rq.nexternal = c.nexternal;
        rq.nmetrics = c.nmetrics;
        rq.resamples = (int)boot;
        rq.seed = (uint64_t)seed;
        box->r = trl_compare_models(&rq, &err);
    }
    trl_registry *r = trl__lua_of(L)->registry;
    long long id;
    trl_error rerr = {0};
    if (box->r && r) {
        /* kept as evidence; a read-only registry does not fail compare */
        if (trl_registry_record_comparison(r, box->r, &id, &rerr) == 0)
            json_object_set_new(box->r, "recorded", json_integer(id));
        else
            fprintf(stderr, "[trellis] %s\n", rerr.message);
    }
    compare_call_free(&c);
    if (!box->r)
        return trl__lf_fail(L, &err);
    lua_pushvalue(L, box_idx);
    return 1;
}

/* ---- the result value --------------------------------------------------------------- */

static json_t *check_result(lua_State *L)
{
    lresult *b = luaL_checkudata(L, 1, RESULT_MT);
    if (!b->r)
        luaL_error(L, "empty comparison");
    return b->r;
}

/* r.metrics, r.rows, ...: the result's fields as Lua tables; r.value(
 * metric, model) the shortcut a notebook asserts with. */
static int r_value(lua_State *L)
{
    json_t *r = check_result(L);
    const char *metric = luaL_checkstring(L, 2);
    lua_Integer k = luaL_optinteger(L, 3, 1);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(r, "metrics"), i, m) {
        if (strcmp(json_string_value(json_object_get(m, "name")), metric))
            continue;
        json_t *cell = json_array_get(json_object_get(m, "cells"),
                                      (size_t)k - 1);
        if (!cell)
            return luaL_error(L, "no model %d in this comparison", (int)k);
        trl__lua_push_json(L, cell);
        return 1;
    }
    return luaL_error(L, "no metric '%s' in this comparison", metric);
}

static int r_index(lua_State *L)
{
    json_t *r = check_result(L);
    const char *key = luaL_checkstring(L, 2);
    if (strcmp(key, "value") == 0) {
        lua_pushcfunction(L, r_value);
        return 1;
    }
    json_t *v = json_object_get(r, key);
    if (!v)
        return luaL_error(L, "a comparison has no field '%s'", key);
    trl__lua_push_json(L, v);
    return 1;
}

/* The bundle's text and HTML, for the repr machinery. */
static int push_rendered(lua_State *L, const char *mime)
{
    json_t *bundle = trl_display_comparison(check_result(L));
    json_t *v = json_object_get(bundle, mime);
    lua_pushstring(L, json_string_value(v) ? json_string_value(v) : "");
    json_decref(bundle);
    return 1;
}

static int r_tostring(lua_State *L)
{
    return push_rendered(L, "text/plain");
}

static int r_html(lua_State *L)
{
    return push_rendered(L, "text/html");
}

static int r_gc(lua_State *L)
{
    lresult *b = luaL_checkudata(L, 1, RESULT_MT);
    json_decref(b->r);
    b->r = NULL;
    return 0;
}

static int r_fields(lua_State *L)
{
    static const char *const names[] = {"models", "on", "rows", "dropped",
                                        "resamples", "seed", "metrics",
                                        "segments", "value"};
    lua_createtable(L, 9, 0);
    for (int i = 0; i < 9; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

void trl__lua_open_metrics(lua_State *L)
{
    luaL_newmetatable(L, RESULT_MT);
    static const luaL_Reg mt[] = {
        {"__index", r_index},       {"__gc", r_gc},
        {"__tostring", r_tostring}, {"__repr_html", r_html},
        {"__fields", r_fields},     {NULL, NULL}};
    luaL_setfuncs(L, mt, 0);
    lua_pop(L, 1);
    static const luaL_Reg lib[] = {{"compute", l_compute},
                                   {"list", l_list},
                                   {"define", l_define},
                                   {NULL, NULL}};
    luaL_newlib(L, lib);
    lua_setglobal(L, "metrics");
    lua_pushcfunction(L, l_compare);
    lua_setglobal(L, "compare");
}
