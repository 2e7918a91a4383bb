/* lua_promote.c - models.promote(spec, stage [, {gates = {...}, force =
 * true, reason = "..."}]) and models.history(name): gated promotion from
 * code. A refused promotion is a result, not an error, so a script can
 * branch on r.ok; the result displays as %promote's table. Bad requests
 * (a gate that does not parse, an unknown model) raise. */
#include <string.h>

#include <lauxlib.h>

#include "trellis/display.h"
#include "trellis/gate.h"
#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"

#define PROMOTION_MT "trellis.promotion"

typedef struct lpromotion {
    json_t *r;  /* owned; NULL until filled */
} lpromotion;

static json_t *check_result(lua_State *L)
{
    lpromotion *b = luaL_checkudata(L, 1, PROMOTION_MT);
    if (!b->r)
        luaL_error(L, "an empty promotion result");
    return b->r;
}

/* r.ok, r.outcome, r.gates[1].detail, ...: the fields as Lua values. */
static int r_index(lua_State *L)
{
    json_t *r = check_result(L);
    const char *key = luaL_checkstring(L, 2);
    json_t *v = json_object_get(r, key);
    if (!v)
        return luaL_error(L, "a promotion result has no field '%s'", key);
    trl__lua_push_json(L, v);
    return 1;
}

static int push_rendered(lua_State *L, const char *mime)
{
    json_t *bundle = trl_display_promotion(check_result(L));
    const char *s = json_string_value(json_object_get(bundle, mime));
    lua_pushstring(L, s ? s : "");
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
    lpromotion *b = lua_touserdata(L, 1);
    json_decref(b->r);
    b->r = NULL;
    return 0;
}

static int r_fields(lua_State *L)
{
    json_t *r = check_result(L);
    lua_createtable(L, (int)json_object_size(r), 0);
    const char *key;
    json_t *v;
    lua_Integer i = 1;
    json_object_foreach(r, key, v) {
        lua_pushstring(L, key);
        lua_rawseti(L, -2, i++);
    }
    return 1;
}

static trl_registry *registry_of(lua_State *L, const char *fn)
{
    lua_pushfstring(L, "%s: the model registry", fn);
    trl_registry *r = trl__lua_registry(L, lua_tostring(L, -1));
    lua_pop(L, 1);
    return r;
}

/* The spec at i: "name@N", or a registered model value's ref. */
static const char *spec_arg(lua_State *L, int i)
{
    if (lua_type(L, i) == LUA_TSTRING)
        return lua_tostring(L, i);
    trl_model *m = trl__lua_to_model(L, i);
    if (!m)
        luaL_error(L, "models.promote: the first argument is a model or "
                   "\"name@N\"");
    if (!m->ref)
        luaL_error(L, "models.promote: this model is not registered: only "
                   "registered versions are promoted");
    lua_pushstring(L, m->ref);  /* anchored for the call */
    return lua_tostring(L, -1);
}

/* models.promote(spec, stage [, opts]) -> result */
int trl__lua_models_promote(lua_State *L)
{
    trl_registry *r = registry_of(L, "models.promote");
    lua_settop(L, 3);  /* what is pushed below lands past the arguments */
    const char *spec = spec_arg(L, 1);
    const char *stage = luaL_checkstring(L, 2);
    int s = trl_stage_parse(stage);
    if (s != TRL_STAGE_STAGING && s != TRL_STAGE_PRODUCTION)
        return luaL_error(L, "models.promote: the stage is \"staging\" or "
                          "\"production\", not '%s'", stage);
    trl_promote_request rq = {.model = spec, .to = (trl_stage)s};
    const char *gates[TRL_GATE_MAX_GATES];
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "gates");
        int t = lua_gettop(L);
        if (!lua_isnil(L, t)) {
            if (!lua_istable(L, t))
                return luaL_error(L, "models.promote: gates is a list of "
                                  "expressions");
            size_t n = (size_t)lua_rawlen(L, t);
            if (n > TRL_GATE_MAX_GATES)
                return luaL_error(L, "models.promote: at most %d gates",
                                  TRL_GATE_MAX_GATES);
            for (size_t k = 0; k < n; k++) {
                lua_rawgeti(L, t, (lua_Integer)k + 1);
                if (lua_type(L, -1) != LUA_TSTRING)
                    return luaL_error(L, "models.promote: gate %d is not a "
                                      "string", (int)k + 1);
                gates[k] = lua_tostring(L, -1);  /* anchored in opts */
                lua_pop(L, 1);
            }
            rq.gates = gates;
            rq.ngates = n;
        }
        lua_getfield(L, 3, "force");
        rq.force = lua_toboolean(L, -1);
        lua_getfield(L, 3, "reason");
        if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
            return luaL_error(L, "models.promote: reason is a string");
        rq.reason = lua_tostring(L, -1);
    }
    lpromotion *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->r = NULL;
    if (luaL_newmetatable(L, PROMOTION_MT)) {
        static const luaL_Reg mt[] = {
            {"__index", r_index},       {"__gc", r_gc},
            {"__tostring", r_tostring}, {"__repr_html", r_html},
            {"__fields", r_fields},     {NULL, NULL}};
        luaL_setfuncs(L, mt, 0);
    }
    lua_setmetatable(L, -2);
    trl_error err = {0};
    if (!(box->r = trl_registry_promote(r, &rq, &err)))
        return trl__lf_fail(L, &err);
    return 1;
}

/* models.history(name) -> {name, stages = {...}, promotions = {...}} */
int trl__lua_models_history(lua_State *L)
{
    trl_registry *r = registry_of(L, "models.history");
    const char *name = luaL_checkstring(L, 1);
    trl_error err = {0};
    json_t *h = trl_registry_model_history(r, name, &err);
    if (!h)
        return trl__lf_fail(L, &err);
    trl__lua_push_json(L, h);
    json_decref(h);
    return 1;
}
