/* lua_compare.c - compare{...}: models scored on one frame with paired
 * bootstrap intervals, recorded in the registry, and its result, a value
 * a notebook can assert on (r:value(metric, model)) that displays as the
 * %compare table. The metrics themselves are lua_metrics.c and
 * lua_business.c. */
#include <stdio.h>
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
        trl_error lerr = {0};
        int rc = trl__lua_business_metric(L, c.metrics[i],
                                          &c.external[c.nexternal], &lerr);
        if (rc == 0) {
            c.nexternal++;
            continue;
        }
        compare_call_free(&c);
        return trl__lf_fail(L, rc == TRL_ENOTFOUND ? &perr : &lerr);
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

void trl__lua_open_compare(lua_State *L)
{
    luaL_newmetatable(L, RESULT_MT);
    static const luaL_Reg mt[] = {
        {"__index", r_index},       {"__gc", r_gc},
        {"__tostring", r_tostring}, {"__repr_html", r_html},
        {"__fields", r_fields},     {NULL, NULL}};
    luaL_setfuncs(L, mt, 0);
    lua_pop(L, 1);
    lua_pushcfunction(L, l_compare);
    lua_setglobal(L, "compare");
}
