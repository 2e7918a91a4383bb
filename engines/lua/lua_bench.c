/* lua_bench.c - bench{model=, on=, ...}: the serving benchmark %bench
 * runs, recorded against the model version in the registry, returned as a
 * value that displays as %bench shows it (r:at(batch) gives one
 * configuration's numbers); and models.benchmarks(spec), the benchmarks
 * recorded for a model version. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "trellis/bench.h"
#include "trellis/display.h"
#include "trellis/model.h"
#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"

#define RESULT_MT "trellis.bench"

typedef struct lresult {
    json_t *r;  /* owned; NULL until filled */
} lresult;

/* ---- bench{...} ----------------------------------------------------------------- */

/* The model in field key of the table at 1 (a model value or a registry
 * spec): a new reference; NULL with err set. Never raises. */
static trl_model *model_field(lua_State *L, const char *key, trl_error *err)
{
    lua_getfield(L, 1, key);
    trl_model *m = trl__lua_to_model(L, -1);
    if (m) {
        trl_model_incref(m);
    } else if (lua_type(L, -1) != LUA_TSTRING) {
        trl_error_set(err, TRL_EINVAL, "bench: %s must be a model or a "
                      "registered name such as 'churn_xgb@2'", key);
    } else if (!trl__lua_of(L)->registry) {
        trl_error_set(err, TRL_EINVAL, "the model registry is not "
                      "available");
    } else {
        m = trl_registry_get_model(trl__lua_of(L)->registry,
                                   lua_tostring(L, -1), err);
    }
    lua_pop(L, 1);
    return m;
}

/* Field key of the table at 1 as whole numbers: one, or a list of up to
 * TRL_BENCH_MAX_LIST; dflt (n_dflt of them) when absent. Raises when the
 * field is anything else; the ranges are trl_bench_check's. */
static size_t list_field(lua_State *L, const char *key, long long *out,
                         const long long *dflt, size_t n_dflt)
{
    lua_getfield(L, 1, key);
    size_t n = 0;
    int whole;
    /* 32.0 counts as 32, as Lua's own integer conversions do */
    lua_Integer x = lua_tointegerx(L, -1, &whole);
    if (lua_isnil(L, -1)) {
        memcpy(out, dflt, n_dflt * sizeof *out);
        n = n_dflt;
    } else if (whole && lua_type(L, -1) == LUA_TNUMBER) {
        out[n++] = (long long)x;
    } else if (lua_istable(L, -1)) {
        lua_Integer len = (lua_Integer)lua_rawlen(L, -1);
        if (len < 1 || len > TRL_BENCH_MAX_LIST)
            luaL_error(L, "bench: %s is a list of 1 to %d whole numbers", key,
                       TRL_BENCH_MAX_LIST);
        for (lua_Integer i = 1; i <= len; i++) {
            lua_rawgeti(L, -1, i);
            x = lua_tointegerx(L, -1, &whole);
            if (!whole || lua_type(L, -1) != LUA_TNUMBER)
                luaL_error(L, "bench: %s is a list of whole numbers", key);
            out[n++] = (long long)x;
            lua_pop(L, 1);
        }
    } else {
        luaL_error(L, "bench: %s is a whole number or a list of them", key);
    }
    lua_pop(L, 1);
    return n;
}

/* The frame in field `on`, a frame or a registered name, left on the
 * stack (anchored while bench runs). */
static trl_frame *on_field(lua_State *L)
{
    lua_getfield(L, 1, "on");
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
        luaL_error(L, "bench: on must be a frame or a registered 'name@N'");
    return lf->f;
}

/* Keeps the result against the model version, noting in it the
 * benchmark's number or why it was not kept. */
static void record(trl_registry *r, json_t *result)
{
    long long id;
    trl_error err = {0};
    if (!r)
        json_object_set_new(result, "not_recorded",
                            json_string("the registry is not available"));
    else if (trl_registry_record_benchmark(r, result, &id, &err) == 0)
        json_object_set_new(result, "recorded", json_integer(id));
    else
        json_object_set_new(result, "not_recorded",
                            json_string(err.message));
}

static int l_bench(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    static const long long batch_dflt[] = {1, 32, 1024}, threads_dflt[] = {1};
    long long bl[TRL_BENCH_MAX_LIST], tl[TRL_BENCH_MAX_LIST];
    size_t nb = list_field(L, "batch", bl, batch_dflt, 3);
    size_t nt = list_field(L, "threads", tl, threads_dflt, 1);
    lua_getfield(L, 1, "duration");
    if (!lua_isnil(L, -1) && !lua_isnumber(L, -1))
        return luaL_error(L, "bench: duration is seconds (a number)");
    double duration = lua_isnil(L, -1) ? 2.0 : lua_tonumber(L, -1);
    lua_pop(L, 1);
    trl_frame *on = on_field(L);
    size_t batches[TRL_BENCH_MAX_LIST];
    int threads[TRL_BENCH_MAX_LIST];
    for (size_t i = 0; i < nb; i++)
        batches[i] = bl[i] < 1 ? 0 : (size_t)bl[i];
    for (size_t i = 0; i < nt; i++)
        threads[i] = tl[i] < -1 ? -1 : tl[i] > 1 << 20 ? 1 << 20
                                                       : (int)tl[i];
    lua_getfield(L, 1, "vs");
    int has_vs = !lua_isnil(L, -1);
    lua_pop(L, 1);
    lresult *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->r = NULL;
    luaL_setmetatable(L, RESULT_MT);
    /* models are counted references from here: nothing raises until they
     * are released */
    trl_error err = {0};
    trl_model *models[2] = {NULL, NULL};
    if ((models[0] = model_field(L, "model", &err)) &&
        (!has_vs || (models[1] = model_field(L, "vs", &err)))) {
        trl_bench_request rq = {models, has_vs ? 2 : 1, on, batches, nb,
                                threads, nt, duration};
        if ((box->r = trl_bench_run(&rq, &err)))
            record(trl__lua_of(L)->registry, box->r);
    }
    trl_model_decref(models[0]);
    trl_model_decref(models[1]);
    if (!box->r)
        return trl__lf_fail(L, &err);
    return 1;
}

/* ---- the result value ---------------------------------------------------------------- */

static json_t *check_result(lua_State *L)
{
    lresult *b = luaL_checkudata(L, 1, RESULT_MT);
    if (!b->r)
        luaL_error(L, "empty benchmark");
    return b->r;
}

/* r:at(batch [, threads [, model]]): that configuration's row; threads
 * defaults to the first thread count, model to 1. */
static int r_at(lua_State *L)
{
    json_t *r = check_result(L);
    lua_Integer batch = luaL_checkinteger(L, 2);
    lua_Integer threads = luaL_optinteger(
        L, 3, json_integer_value(json_array_get(json_object_get(r, "threads"),
                                                0)));
    lua_Integer model = luaL_optinteger(L, 4, 1);
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(r, "results"), i, row) {
        if (json_integer_value(json_object_get(row, "batch")) == batch &&
            json_integer_value(json_object_get(row, "threads")) == threads &&
            json_integer_value(json_object_get(row, "model")) == model - 1) {
            trl__lua_push_json(L, row);
            return 1;
        }
    }
    return luaL_error(L, "no configuration of batch %d, %d thread%s and "
                      "model %d in this benchmark", (int)batch, (int)threads,
                      threads == 1 ? "" : "s", (int)model);
}

static int r_index(lua_State *L)
{
    json_t *r = check_result(L);
    const char *key = luaL_checkstring(L, 2);
    if (strcmp(key, "at") == 0) {
        lua_pushcfunction(L, r_at);
        return 1;
    }
    json_t *v = json_object_get(r, key);
    if (!v)
        return luaL_error(L, "a benchmark has no field '%s'", key);
    trl__lua_push_json(L, v);
    return 1;
}

/* The bundle's text or HTML, for the repr machinery. */
static int push_rendered(lua_State *L, const char *mime)
{
    json_t *bundle = trl_display_bench(check_result(L));
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
    static const char *const names[] = {
        "models", "on", "rows", "duration", "warmup", "batches", "threads",
        "results", "ratios", "overhead", "host", "memory", "percentiles",
        "recorded", "not_recorded", "at"};
    int n = (int)(sizeof names / sizeof *names);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* ---- models.benchmarks ---------------------------------------------------------------- */

int trl__lua_models_benchmarks(lua_State *L)
{
    const char *spec = luaL_checkstring(L, 1);
    trl_registry *r = trl__lua_of(L)->registry;
    if (!r)
        return luaL_error(L, "the model registry is not available");
    trl_error err = {0};
    json_t *list = trl_registry_benchmarks(r, spec, &err);
    if (!list)
        return trl__lf_fail(L, &err);
    /* records, so the list displays as a table; the host as one cell */
    lua_createtable(L, (int)json_array_size(list), 0);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        json_t *host = json_object_get(e, "host");
        char where[300];
        const char *cpu = json_string_value(json_object_get(host, "cpu"));
        snprintf(where, sizeof where, "%s, %lld CPUs%s%s",
                 json_string_value(json_object_get(host, "hostname"))
                     ? json_string_value(json_object_get(host, "hostname"))
                     : "?",
                 (long long)json_integer_value(json_object_get(host,
                                                               "cpus")),
                 cpu ? ", " : "", cpu ? cpu : "");
        json_object_set_new(e, "host", json_string(where));
        trl__lua_push_json(L, e);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    json_decref(list);
    return 1;
}

void trl__lua_open_bench(lua_State *L)
{
    luaL_newmetatable(L, RESULT_MT);
    static const luaL_Reg mt[] = {
        {"__index", r_index},       {"__gc", r_gc},
        {"__tostring", r_tostring}, {"__repr_html", r_html},
        {"__fields", r_fields},     {NULL, NULL}};
    luaL_setfuncs(L, mt, 0);
    lua_pop(L, 1);
    lua_pushcfunction(L, l_bench);
    lua_setglobal(L, "bench");
}
