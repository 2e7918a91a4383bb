/* lua_guard.c - the guard rails in Lua: validate.infer / save / get /
 * check and drift.compare. Expectations are plain tables (edit them, save
 * them); results are values a notebook asserts on (r.ok, r.failures,
 * r.features[1].psi) that display as %validate's and %drift's tables, and
 * are recorded in the registry as the magics' runs are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "trellis/display.h"
#include "trellis/guard.h"
#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"

#define DRIFT_MT "trellis.drift"
#define VALIDATION_MT "trellis.validation"

typedef struct lresult {
    json_t *r;  /* owned; NULL until filled */
} lresult;

/* A result box, pushed before the result exists so that an error can
 * never leak it. */
static lresult *push_result(lua_State *L, const char *mt)
{
    lresult *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->r = NULL;
    luaL_setmetatable(L, mt);
    return b;
}

/* The frame at i: a frame value, or a registered "name"/"name@N" loaded
 * and anchored on top of the stack. *name is the string given, else
 * NULL. Raises when it is neither. */
static trl_frame *frame_arg(lua_State *L, int i, const char *fn,
                            const char *what, const char **name)
{
    *name = NULL;
    if (lua_type(L, i) == LUA_TSTRING) {
        trl_registry *r = trl__lua_of(L)->registry;
        if (!r)
            luaL_error(L, "%s: the registry is not available to find '%s'",
                       fn, lua_tostring(L, i));
        int box = trl__lf_push_box(L);
        trl_error err = {0};
        trl_frame *f = trl_registry_get(r, lua_tostring(L, i), &err);
        if (!f)
            trl__lf_fail(L, &err);
        trl__lf_finish(L, box, f);
        *name = lua_tostring(L, i);
        return f;
    }
    lframe *b = luaL_testudata(L, i, FRAME_MT);
    if (!b || !b->f)
        luaL_error(L, "%s: %s must be a frame or a registered 'name@N'", fn,
                   what);
    return b->f;
}

/* Keeps a result in the registry, noting its number; a registry that
 * cannot take it (read-only) does not fail the call. */
static void record(lua_State *L, json_t *result, int drift)
{
    trl_registry *r = trl__lua_of(L)->registry;
    long long id;
    trl_error err = {0};
    if (!r)
        return;
    int rc = drift ? trl_registry_record_drift(r, result, &id, &err)
                   : trl_registry_record_validation(r, result, &id, &err);
    if (rc == 0)
        json_object_set_new(result, "recorded", json_integer(id));
    else
        fprintf(stderr, "[trellis] %s\n", err.message);
}

/* ---- validate.* ------------------------------------------------------------------ */

/* validate.infer(frame) -> expectations table */
static int l_infer(lua_State *L)
{
    const char *name;
    trl_frame *f = frame_arg(L, 1, "validate.infer", "the frame", &name);
    trl_error err = {0};
    json_t *spec = trl_validate_infer(f, &err);
    if (!spec)
        return trl__lf_fail(L, &err);
    trl__lua_push_json(L, spec);
    json_decref(spec);
    return 1;
}

/* The expectations at i: a table as JSON (a new value), or raises
 * naming what is wrong. */
static json_t *spec_arg(lua_State *L, int i, const char *fn)
{
    const char *why = NULL;
    json_t *spec = trl__lua_to_json(L, i, 0, &why);
    trl_error err = {0};
    if (!spec) {
        luaL_error(L, "%s: the expectations %s", fn,
                   why ? why : "cannot be read");
        return NULL;
    }
    if (trl_validate_spec_check(spec, &err) != 0) {
        json_decref(spec);
        trl__lf_fail(L, &err);
    }
    return spec;
}

/* validate.save(name, expectations | frame) -> "name@N" */
static int l_save(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    trl_registry *r = trl__lua_of(L)->registry;
    if (!r)
        return luaL_error(L, "validate.save: the registry is not available");
    json_t *spec;
    trl_error err = {0};
    if (lua_istable(L, 2)) {
        spec = spec_arg(L, 2, "validate.save");
    } else {
        const char *given;
        trl_frame *f = frame_arg(L, 2, "validate.save", "the expectations "
                                 "(a table, or a frame to infer them from)",
                                 &given);
        if (!(spec = trl_validate_infer(f, &err)))
            return trl__lf_fail(L, &err);
    }
    int version = 0;
    int rc = trl_registry_save_expectations(r, name, spec, &version, &err);
    json_decref(spec);
    if (rc != 0)
        return trl__lf_fail(L, &err);
    lua_pushfstring(L, "%s@%d", name, version);
    return 1;
}

/* validate.get("name" | "name@N") -> expectations table */
static int l_get(lua_State *L)
{
    const char *spec_name = luaL_checkstring(L, 1);
    trl_registry *r = trl__lua_of(L)->registry;
    if (!r)
        return luaL_error(L, "validate.get: the registry is not available");
    trl_error err = {0};
    json_t *spec = trl_registry_get_expectations(r, spec_name, NULL, &err);
    if (!spec)
        return trl__lf_fail(L, &err);
    trl__lua_push_json(L, spec);
    json_decref(spec);
    return 1;
}

/* What validate.check's second argument names, as expectations (a new
 * value) and what they came from (*against, malloc'd); NULL with err. */
static json_t *expectations_of(lua_State *L, int i, char **against,
                               trl_error *err)
{
    trl_registry *r = trl__lua_of(L)->registry;
    if (lua_type(L, i) == LUA_TSTRING) {
        /* a saved set first, then a registered frame of that name */
        const char *s = lua_tostring(L, i);
        char *ref = NULL;
        json_t *spec = r ? trl_registry_get_expectations(r, s, &ref, err)
                         : NULL;
        if (spec) {
            size_t n = strlen(ref) + 8;
            if ((*against = malloc(n)))
                snprintf(*against, n, "schema %s", ref);
            free(ref);
            return spec;
        }
        trl_error ferr = {0};
        trl_frame *f = r && err->code == TRL_ENOTFOUND
                           ? trl_registry_get(r, s, &ferr) : NULL;
        if (!f) {
            if (!r)
                trl_error_set(err, TRL_EINVAL, "validate.check: the "
                              "registry is not available to find '%s'", s);
            else if (err->code == TRL_ENOTFOUND &&
                     ferr.code == TRL_ENOTFOUND)
                trl_error_set(err, TRL_ENOTFOUND, "no expectation set or "
                              "registered frame called '%s'", s);
            return NULL;
        }
        trl_error_clear(err);
        spec = trl_validate_infer(f, err);
        *against = strdup(f->ref);
        trl_frame_decref(f);
        return spec;
    }
    lframe *b = luaL_testudata(L, i, FRAME_MT);
    if (b && b->f) {
        *against = strdup(b->f->ref ? b->f->ref : "a working frame");
        return trl_validate_infer(b->f, err);
    }
    return NULL;  /* a table: the caller reads it */
}

/* validate.check(frame, expectations | "set" | ref_frame) -> result */
static int l_check(lua_State *L)
{
    const char *name;
    trl_frame *f = frame_arg(L, 1, "validate.check", "the frame", &name);
    if (!lua_istable(L, 2) && lua_type(L, 2) != LUA_TSTRING &&
        !luaL_testudata(L, 2, FRAME_MT))
        return luaL_error(L, "validate.check: give expectations (a table), "
                          "the name of a saved set, or a reference frame");
    json_t *spec = lua_istable(L, 2) ? spec_arg(L, 2, "validate.check")
                                     : NULL;
    lresult *box = push_result(L, VALIDATION_MT);  /* raises nothing now */
    char *against = NULL;
    trl_error err = {0};
    if (!spec)
        spec = expectations_of(L, 2, &against, &err);
    else
        against = strdup("expectations");
    if (spec)
        box->r = trl_validate_check(f, spec, name, against, &err);
    json_decref(spec);
    free(against);
    if (!box->r)
        return trl__lf_fail(L, &err);
    record(L, box->r, 0);
    return 1;
}

/* ---- drift.compare ------------------------------------------------------------------ */

/* drift.compare(ref, new [, {features = {...}, threshold = 0.2,
 * model = m}]) -> result */
static int l_compare(lua_State *L)
{
    const char *ref_name, *new_name;
    lua_settop(L, 3);
    trl_frame *ref = frame_arg(L, 1, "drift.compare", "the reference",
                               &ref_name);
    trl_frame *cur = frame_arg(L, 2, "drift.compare", "the new frame",
                               &new_name);
    trl_drift_request rq = {.ref = ref, .new_frame = cur,
                            .ref_name = ref_name, .new_name = new_name};
    if (!lua_isnil(L, 3) && !lua_istable(L, 3))
        return luaL_error(L, "drift.compare: options are a table {features "
                          "= {...}, threshold = 0.2, model = m}");
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "threshold");
        if (!lua_isnil(L, -1)) {
            if (!lua_isnumber(L, -1) || !(lua_tonumber(L, -1) > 0))
                return luaL_error(L, "drift.compare: threshold must be a "
                                  "PSI above 0, such as 0.2");
            rq.threshold = lua_tonumber(L, -1);
        }
        lua_getfield(L, 3, "features");
        if (!lua_isnil(L, -1)) {
            int t = lua_gettop(L);
            size_t n = lua_istable(L, t) ? (size_t)lua_rawlen(L, t) : 0;
            if (!n)
                return luaL_error(L, "drift.compare: features is a list of "
                                  "column names");
            /* a scratch array the collector frees; the names stay
             * anchored in the options table */
            const char **names = lua_newuserdatauv(L, n * sizeof *names, 0);
            for (size_t k = 0; k < n; k++) {
                lua_rawgeti(L, t, (lua_Integer)k + 1);
                if (lua_type(L, -1) != LUA_TSTRING)
                    return luaL_error(L, "drift.compare: features is a list "
                                      "of column names");
                names[k] = lua_tostring(L, -1);
                lua_pop(L, 1);
            }
            rq.features = names;
            rq.nfeatures = n;
        }
        lua_getfield(L, 3, "model");
    } else {
        lua_pushnil(L);
    }
    /* the model last: a counted reference, so nothing may raise until it
     * is released */
    trl_model *m = NULL;
    trl_error err = {0};
    if (!lua_isnil(L, -1)) {
        trl_model *held = trl__lua_to_model(L, -1);
        trl_registry *r = trl__lua_of(L)->registry;
        if (held)
            trl_model_incref(m = held);
        else if (lua_type(L, -1) == LUA_TSTRING && r)
            m = trl_registry_get_model(r, lua_tostring(L, -1), &err);
        else
            return luaL_error(L, "drift.compare: model must be a model or "
                              "a registered 'name@N'");
        if (!m)
            return trl__lf_fail(L, &err);
    }
    rq.model = m;
    lresult *box = push_result(L, DRIFT_MT);
    box->r = trl_drift_run(&rq, &err);
    trl_model_decref(m);
    if (!box->r)
        return trl__lf_fail(L, &err);
    record(L, box->r, 1);
    return 1;
}

/* ---- the result values ---------------------------------------------------------------- */

static json_t *check_result(lua_State *L)
{
    lresult *b = luaL_testudata(L, 1, DRIFT_MT);
    if (!b)
        b = luaL_checkudata(L, 1, VALIDATION_MT);
    if (!b->r)
        luaL_error(L, "an empty result");
    return b->r;
}

/* r.ok, r.failures, r.features, ...: the result's fields as Lua values. */
static int r_index(lua_State *L)
{
    json_t *r = check_result(L);
    const char *key = luaL_checkstring(L, 2);
    json_t *v = json_object_get(r, key);
    if (!v)
        return luaL_error(L, "a %s result has no field '%s'",
                          luaL_testudata(L, 1, DRIFT_MT) ? "drift"
                                                         : "validation",
                          key);
    trl__lua_push_json(L, v);
    return 1;
}

static int push_rendered(lua_State *L, const char *mime)
{
    json_t *r = check_result(L);
    json_t *bundle = luaL_testudata(L, 1, DRIFT_MT) ? trl_display_drift(r)
                                                     : trl_display_validation(
                                                           r);
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
    lresult *b = lua_touserdata(L, 1);
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

void trl__lua_open_guard(lua_State *L)
{
    static const luaL_Reg mt[] = {
        {"__index", r_index},       {"__gc", r_gc},
        {"__tostring", r_tostring}, {"__repr_html", r_html},
        {"__fields", r_fields},     {NULL, NULL}};
    luaL_newmetatable(L, DRIFT_MT);
    luaL_setfuncs(L, mt, 0);
    lua_pop(L, 1);
    luaL_newmetatable(L, VALIDATION_MT);
    luaL_setfuncs(L, mt, 0);
    lua_pop(L, 1);
    static const luaL_Reg validate[] = {{"infer", l_infer},
                                        {"save", l_save},
                                        {"get", l_get},
                                        {"check", l_check},
                                        {NULL, NULL}};
    luaL_newlib(L, validate);
    lua_setglobal(L, "validate");
    static const luaL_Reg drift[] = {{"compare", l_compare}, {NULL, NULL}};
    luaL_newlib(L, drift);
    lua_setglobal(L, "drift");
}
