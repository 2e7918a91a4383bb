/* lua_importance.c - models.importance(model, {...}) and m:importance{...}:
 * the feature importance %importance computes, recorded against the model
 * version, returned as a value that displays as %importance shows it
 * (r:value("x1") gives one feature's number); and
 * models.importance_history(name, {...}), each version's latest run side
 * by side. */
#include <math.h>
#include <string.h>

#include <lauxlib.h>

#include "trellis/display.h"
#include "trellis/importance.h"
#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"

#define RESULT_MT "trellis.importance"
#define HISTORY_MT "trellis.importance_history"

typedef struct lresult {
    json_t *r;      /* owned; NULL until filled */
    size_t top;     /* display: features shown, 0 = all */
    int inputs;     /* display: also the table per encoded input */
} lresult;

/* ---- arguments -------------------------------------------------------------------- */

/* The model at index i, a model value or a registry spec: a new
 * reference, or NULL with err set. Never raises. */
static trl_model *model_at(lua_State *L, int i, trl_error *err)
{
    trl_model *m = trl__lua_to_model(L, i);
    if (m) {
        trl_model_incref(m);
        return m;
    }
    if (lua_type(L, i) != LUA_TSTRING) {
        trl_error_set(err, TRL_EINVAL, "importance: give a model or a "
                      "registered name such as 'churn_xgb@2'");
        return NULL;
    }
    trl_registry *r = trl__lua_of(L)->registry;
    if (!r) {
        trl_error_set(err, TRL_EINVAL, "the model registry is not available");
        return NULL;
    }
    return trl_registry_get_model(r, lua_tostring(L, i), err);
}

/* Field key of the options table at opt (0: none) as a string, or NULL;
 * raises when it is another type. The string stays anchored in the
 * table. */
static const char *opt_string(lua_State *L, int opt, const char *key)
{
    if (!opt)
        return NULL;
    lua_getfield(L, opt, key);
    const char *s = NULL;
    if (lua_type(L, -1) == LUA_TSTRING)
        s = lua_tostring(L, -1);
    else if (!lua_isnil(L, -1))
        luaL_error(L, "importance: %s must be a string", key);
    lua_pop(L, 1);
    return s;
}

/* Field key as a whole number in [lo, hi] (dflt when absent); raises
 * naming the range otherwise (5.0 counts as 5). */
static lua_Integer opt_integer(lua_State *L, int opt, const char *key,
                               lua_Integer dflt, lua_Integer lo,
                               lua_Integer hi)
{
    if (!opt)
        return dflt;
    lua_getfield(L, opt, key);
    int whole;
    lua_Integer x = lua_tointegerx(L, -1, &whole);
    if (lua_isnil(L, -1))
        x = dflt;
    else if (!whole || lua_type(L, -1) != LUA_TNUMBER || x < lo || x > hi)
        luaL_error(L, "importance: %s is a whole number from %I to %I", key,
                   lo, hi);
    lua_pop(L, 1);
    return x;
}

/* The frame in field `on` (a frame or a registered name), left on the
 * stack so it stays alive while the importance runs; NULL when absent. */
static trl_frame *opt_frame(lua_State *L, int opt)
{
    if (!opt)
        return NULL;
    lua_getfield(L, opt, "on");
    if (lua_isnil(L, -1))
        return NULL;
    if (lua_type(L, -1) == LUA_TSTRING) {
        trl_registry *r = trl__lua_of(L)->registry;
        int box = trl__lf_push_box(L);
        trl_error err = {0};
        if (!r)
            luaL_error(L, "the registry is not available");
        trl_frame *f = trl_registry_get(r, lua_tostring(L, -2), &err);
        if (!f)
            trl__lf_fail(L, &err);  /* raises */
        trl__lf_finish(L, box, f);
    }
    lframe *lf = luaL_testudata(L, -1, FRAME_MT);
    if (!lf || !lf->f)
        luaL_error(L, "importance: on must be a frame or a registered "
                   "'name@N'");
    return lf->f;
}

/* Keeps the result against the model version, noting in it the run's
 * number or why it was not kept. */
static void record(trl_registry *r, json_t *result)
{
    long long id;
    trl_error err = {0};
    if (!r)
        json_object_set_new(result, "not_recorded",
                            json_string("the registry is not available"));
    else if (trl_registry_record_importance(r, result, &id, &err) == 0)
        json_object_set_new(result, "recorded", json_integer(id));
    else
        json_object_set_new(result, "not_recorded",
                            json_string(err.message));
}

/* models.importance(model, {method=, on=, metric=, repeats=, seed=, top=,
 * inputs=}), also m:importance{...}. A frame or a metric without a method
 * asks for permutation, as %importance --on does. */
int trl__lua_models_importance(lua_State *L)
{
    int opt = lua_istable(L, 2) ? 2 : 0;
    if (!opt && !lua_isnoneornil(L, 2))
        return luaL_error(L, "importance: options are a table {method=, "
                          "on=, metric=, repeats=, seed=}");
    lua_settop(L, 2);
    const char *method = opt_string(L, opt, "method");
    const char *metric = opt_string(L, opt, "metric");
    lua_Integer repeats = opt_integer(L, opt, "repeats", 0, 1,
                                      TRL_IMPORTANCE_MAX_REPEATS);
    lua_Integer seed = opt_integer(L, opt, "seed", 1, 0, LUA_MAXINTEGER);
    lua_Integer top = opt_integer(L, opt, "top", 0, 1, 100000);
    int inputs = 0;
    if (opt) {
        lua_getfield(L, opt, "inputs");
        inputs = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    trl_frame *on = opt_frame(L, opt);  /* anchored on the stack */
    if (!method && (on || metric))
        method = "permutation";
    lresult *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->r = NULL;
    box->top = (size_t)top;
    box->inputs = inputs;
    luaL_setmetatable(L, RESULT_MT);
    /* a business metric, looked up without raising */
    trl_metric_external external;
    int has_external = 0;
    trl_metric parsed;
    trl_error err = {0};
    if (metric && trl_metric_parse(metric, &parsed, &err) != 0) {
        trl_error lerr = {0};
        int rc = trl__lua_business_metric(L, metric, &external, &lerr);
        if (rc != 0)
            return trl__lf_fail(L, rc == TRL_ENOTFOUND ? &err : &lerr);
        has_external = 1;
        trl_error_clear(&err);
    }
    /* counted references from here: nothing raises until released */
    trl_model *m = model_at(L, 1, &err);
    if (m) {
        trl_importance_request rq = {
            .model = m, .method = method, .on = on,
            .metric = has_external ? NULL : metric,
            .external = has_external ? &external : NULL,
            .repeats = (int)repeats, .seed = (uint64_t)seed};
        if ((box->r = trl_importance_run(&rq, &err)))
            record(trl__lua_of(L)->registry, box->r);
    }
    if (has_external && external.release)
        external.release(external.ctx);
    trl_model_decref(m);
    if (!box->r)
        return trl__lf_fail(L, &err);
    return 1;
}

/* models.importance_history(name | model [, {method=, metric=, top=}]) */
int trl__lua_models_importance_history(lua_State *L)
{
    int opt = lua_istable(L, 2) ? 2 : 0;
    lua_settop(L, 2);
    const char *method = opt_string(L, opt, "method");
    const char *metric = opt_string(L, opt, "metric");
    lua_Integer top = opt_integer(L, opt, "top", 0, 1, 100000);
    trl_model *m = trl__lua_to_model(L, 1);
    const char *name = m ? m->ref : luaL_checkstring(L, 1);
    if (!name)
        return luaL_error(L, "importance_history: the model is not "
                          "registered, so it has no versions to follow");
    trl_registry *r = trl__lua_of(L)->registry;
    if (!r)
        return luaL_error(L, "the model registry is not available");
    lresult *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->r = NULL;
    box->top = (size_t)top;
    box->inputs = 0;
    luaL_setmetatable(L, HISTORY_MT);
    trl_error err = {0};
    if (!(box->r = trl_registry_importance_history(r, name, method, metric,
                                                   &err)))
        return trl__lf_fail(L, &err);
    return 1;
}

/* ---- the result values ------------------------------------------------------------- */

static lresult *check(lua_State *L, int history)
{
    lresult *b = luaL_checkudata(L, 1, history ? HISTORY_MT : RESULT_MT);
    if (!b->r)
        luaL_error(L, "empty importance");
    return b;
}

/* r:value(feature) -> the feature's importance (and its std for
 * permutation); for a history, its values per version as a list. */
static int value_of(lua_State *L, int history)
{
    lresult *b = check(L, history);
    const char *name = luaL_checkstring(L, 2);
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(b->r, "features"), i, f) {
        if (strcmp(json_string_value(json_object_get(f, "feature")), name))
            continue;
        if (history) {
            trl__lua_push_json(L, json_object_get(f, "values"));
            return 1;
        }
        json_t *v = json_object_get(f, "value"), *s = json_object_get(f,
                                                                      "std");
        lua_pushnumber(L, json_is_number(v) ? json_number_value(v) : NAN);
        if (!s)
            return 1;
        lua_pushnumber(L, json_is_number(s) ? json_number_value(s) : NAN);
        return 2;
    }
    return luaL_error(L, "no feature '%s' in this importance", name);
}

static int r_value(lua_State *L)
{
    return value_of(L, 0);
}

static int h_value(lua_State *L)
{
    return value_of(L, 1);
}

static int index_of(lua_State *L, int history)
{
    lresult *b = check(L, history);
    const char *key = luaL_checkstring(L, 2);
    if (strcmp(key, "value") == 0) {
        lua_pushcfunction(L, history ? h_value : r_value);
        return 1;
    }
    json_t *v = json_object_get(b->r, key);
    if (!v)
        return luaL_error(L, "an importance%s has no field '%s'",
                          history ? " history" : "", key);
    trl__lua_push_json(L, v);
    return 1;
}

static int r_index(lua_State *L)
{
    return index_of(L, 0);
}

static int h_index(lua_State *L)
{
    return index_of(L, 1);
}

/* The bundle's text or HTML, for the repr machinery. */
static int push_rendered(lua_State *L, int history, const char *mime)
{
    lresult *b = check(L, history);
    json_t *bundle = history
                         ? trl_display_importance_history(b->r, b->top)
                         : trl_display_importance(b->r, b->top, b->inputs);
    json_t *v = json_object_get(bundle, mime);
    lua_pushstring(L, json_string_value(v) ? json_string_value(v) : "");
    json_decref(bundle);
    return 1;
}

static int r_tostring(lua_State *L)
{
    return push_rendered(L, 0, "text/plain");
}

static int r_html(lua_State *L)
{
    return push_rendered(L, 0, "text/html");
}

static int h_tostring(lua_State *L)
{
    return push_rendered(L, 1, "text/plain");
}

static int h_html(lua_State *L)
{
    return push_rendered(L, 1, "text/html");
}

static int gc(lua_State *L)
{
    lresult *b = lua_touserdata(L, 1);
    json_decref(b->r);
    b->r = NULL;
    return 0;
}

static int push_names(lua_State *L, const char *const *names, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int r_fields(lua_State *L)
{
    static const char *const names[] = {
        "model", "algo", "objective", "method", "metric",
        "higher_is_better", "on", "rows", "dropped", "repeats", "seed",
        "baseline", "seconds", "features", "inputs", "recorded",
        "not_recorded", "value"};
    return push_names(L, names, (int)(sizeof names / sizeof *names));
}

static int h_fields(lua_State *L)
{
    static const char *const names[] = {"model", "method", "metric",
                                        "versions", "features", "value"};
    return push_names(L, names, (int)(sizeof names / sizeof *names));
}

void trl__lua_open_importance(lua_State *L)
{
    static const luaL_Reg result_mt[] = {
        {"__index", r_index},       {"__gc", gc},
        {"__tostring", r_tostring}, {"__repr_html", r_html},
        {"__fields", r_fields},     {NULL, NULL}};
    static const luaL_Reg history_mt[] = {
        {"__index", h_index},       {"__gc", gc},
        {"__tostring", h_tostring}, {"__repr_html", h_html},
        {"__fields", h_fields},     {NULL, NULL}};
    luaL_newmetatable(L, RESULT_MT);
    luaL_setfuncs(L, result_mt, 0);
    lua_pop(L, 1);
    luaL_newmetatable(L, HISTORY_MT);
    luaL_setfuncs(L, history_mt, 0);
    lua_pop(L, 1);
}
