/* lua_business.c - business metrics: metrics.define, the session's table
 * of them, the definitions the registry keeps as source text, and the
 * adapter that lets compare (and %compare, through the engine's metric
 * op) evaluate one like a built-in. Apart from lua_metrics.c because it
 * runs user Lua code from inside a comparison, with its own rules on
 * errors, interrupts and garbage. */
#include <math.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "trellis/metrics.h"
#include "trellis/model.h"
#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"

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
int trl__lua_metrics_define(lua_State *L)
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

int trl__lua_business_metric(lua_State *L, const char *name,
                             trl_metric_external *out, trl_error *err)
{
    metric_lookup m = {name, out, TRL_ENOTFOUND};
    if (trl__lua_protect(L, metric_lookup_main, &m) != LUA_OK)
        return trl_error_set(err, TRL_EINVAL, "metric '%.60s' cannot be "
                             "loaded from the registry: %s", name,
                             trl__lua_protect_error());
    return m.rc;
}

int trl__lua_metric(trl_engine *self, const char *name,
                    struct trl_metric_external *out, trl_error *err)
{
    return trl__lua_business_metric(((trl__lua *)self)->L, name, out, err);
}
