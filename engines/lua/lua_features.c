/* lua_features.c - the `features` library: reading CSV files and the
 * registry of frame versions, from Lua. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"

/* ---- the features library ------------------------------------------------- */

trl_registry *trl__lua_registry(lua_State *L, const char *what)
{
    trl__lua *e = trl__lua_of(L);
    if (!e->registry) {
        if (e->registry_error[0])
            luaL_error(L, "%s is not available: %s", what,
                       e->registry_error);
        luaL_error(L, "%s is not available (TRELLIS_REGISTRY sets its "
                      "file)", what);
    }
    return e->registry;
}

static trl_registry *registry_of(lua_State *L)
{
    return trl__lua_registry(L, "the feature registry");
}

/* features.read_csv(path [, {delimiter=",", header=true, types={..}}]) */
static int f_read_csv(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    trl_csv_options o = {',', 1, NULL};
    json_t *types = NULL;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "delimiter");
        if (lua_isstring(L, -1)) {
            size_t n;
            const char *d = lua_tolstring(L, -1, &n);
            if (n != 1)
                return luaL_error(L, "read_csv: delimiter must be one "
                                  "character");
            o.delimiter = d[0];
        }
        lua_getfield(L, 2, "header");
        if (lua_isboolean(L, -1))
            o.header = lua_toboolean(L, -1);
        lua_getfield(L, 2, "types");
        if (lua_istable(L, -1)) {
            types = json_object();
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1))
                    json_object_set_new(types, lua_tostring(L, -2),
                                        json_string(lua_tostring(L, -1)));
                lua_pop(L, 1);
            }
        }
        lua_settop(L, 2);
    }
    o.types = types;
    int box = trl__lf_push_box(L);
    trl_error err = {0};
    trl_frame *f = trl_csv_read(path, &o, &err);
    json_decref(types);
    if (!f)
        return trl__lf_fail(L, &err);
    return trl__lf_finish(L, box, f);
}

/* features.register(name, frame) -> "name@N" */
static int f_register(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    trl_frame *f = trl__lf_check_frame(L, 2);
    int version;
    trl_error err = {0};
    if (trl_registry_register(registry_of(L), name, f, &version, &err) != 0)
        return trl__lf_fail(L, &err);
    lua_pushfstring(L, "%s@%d", name, version);
    return 1;
}

/* features.get("name" | "name@N") -> a working copy of that version. */
static int f_get(lua_State *L)
{
    const char *spec = luaL_checkstring(L, 1);
    trl_registry *r = registry_of(L);
    int box = trl__lf_push_box(L);
    trl_error err = {0};
    trl_frame *g = trl_registry_checkout(r, spec, &err);
    if (!g)
        return trl__lf_fail(L, &err);
    return trl__lf_finish(L, box, g);
}

/* features.version("name@N") -> the frozen version itself (read-only). */
static int f_version(lua_State *L)
{
    const char *spec = luaL_checkstring(L, 1);
    trl_registry *r = registry_of(L);
    int box = trl__lf_push_box(L);
    trl_error err = {0};
    trl_frame *v = trl_registry_get(r, spec, &err);
    if (!v)
        return trl__lf_fail(L, &err);
    return trl__lf_finish(L, box, v);
}

/* features.list() -> {{name=, version=, rows=, columns=, created=,
 * source=}, ...}, which displays as a table. */
static int f_list(lua_State *L)
{
    json_t *list = trl_registry_list(registry_of(L));
    if (!list)
        return luaL_error(L, "the feature registry cannot be read (see the "
                          "kernel log)");
    lua_createtable(L, (int)json_array_size(list), 0);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        lua_createtable(L, 0, 6);
        lua_pushstring(L, json_string_value(json_object_get(e, "name")));
        lua_setfield(L, -2, "name");
        lua_pushinteger(L, json_integer_value(json_object_get(e, "version")));
        lua_setfield(L, -2, "version");
        lua_pushinteger(L, json_integer_value(json_object_get(e, "rows")));
        lua_setfield(L, -2, "rows");
        lua_pushinteger(L, json_integer_value(json_object_get(e, "columns")));
        lua_setfield(L, -2, "columns");
        lua_pushstring(L, json_string_value(json_object_get(e, "created")));
        lua_setfield(L, -2, "created");
        char *lin = json_dumps(json_object_get(e, "lineage"), JSON_COMPACT);
        lua_pushstring(L, lin ? lin : "");
        free(lin);
        lua_setfield(L, -2, "lineage");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    json_decref(list);
    return 1;
}

/* features.frame{a = {1, 2}, b = {"x", "y"}} -> a new working frame;
 * columns in name order (a Lua table has no order). */
static int f_frame(lua_State *L)
{
    lua_settop(L, 1);
    int box = trl__lf_push_box(L);
    trl_frame *f = trl_frame_new();
    if (!f)
        return luaL_error(L, "out of memory");
    trl__lf_finish(L, box, f);
    lua_pop(L, 1);
    if (lua_isnoneornil(L, 1))
        return 1;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_Integer nk = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            return luaL_error(L, "features.frame: column names must be "
                              "strings");
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++nk);
    }
    trl__lua_sort(L, keys);
    int fi = keys - 1;
    for (lua_Integer i = 1; i <= nk; i++) {
        lua_pushcfunction(L, trl__lf_frame_newindex);
        lua_pushvalue(L, fi);
        lua_rawgeti(L, keys, i);
        lua_pushvalue(L, -1);
        lua_gettable(L, 1);
        lua_call(L, 3, 0);
    }
    lua_settop(L, fi);
    trl_frame_set_lineage(trl__lf_check_frame(L, fi),
                          json_pack("{s:s}", "source", "lua"));
    return 1;
}

static int f_and(lua_State *L) { return trl__lf_col_and(L); }
static int f_or(lua_State *L) { return trl__lf_col_or(L); }
static int f_not(lua_State *L) { return trl__lf_col_not(L); }

static const luaL_Reg features_lib[] = {
    {"read_csv", f_read_csv}, {"register", f_register}, {"get", f_get},
    {"version", f_version},   {"list", f_list},         {"frame", f_frame},
    {"and_", f_and},          {"or_", f_or},            {"not_", f_not},
    {NULL, NULL}};

void trl__lua_open_features(lua_State *L)
{
    trl__lf_open_column(L);
    trl__lf_open_frame(L);
    luaL_newlib(L, features_lib);
    lua_setglobal(L, "features");
}
