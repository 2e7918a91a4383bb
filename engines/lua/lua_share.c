/* lua_share.c - what other engines read and write of Lua's globals: a
 * number, string or boolean for a SQL parameter (`:threshold`), and a
 * frame bound by `%%sql --lua NAME`. Raw table access only: no user
 * metamethod runs on another engine's behalf. And the other way: the
 * `python` table reads Python's globals. */
#include <lauxlib.h>

#include "trellis/model.h"

#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"

typedef struct share_call {
    const char *name;
    json_t *value;
    trl_frame *frame;
} share_call;

static int scalar_main(lua_State *L)
{
    share_call *c = lua_touserdata(L, 1);
    lua_pushglobaltable(L);
    lua_pushstring(L, c->name);
    lua_rawget(L, -2);
    size_t n;
    const char *s;
    switch (lua_type(L, -1)) {
    case LUA_TNUMBER:
        c->value = lua_isinteger(L, -1)
                       ? json_integer((json_int_t)lua_tointeger(L, -1))
                       : json_real(lua_tonumber(L, -1));
        break;
    case LUA_TSTRING:
        s = lua_tolstring(L, -1, &n);
        c->value = json_stringn_nocheck(s, n);
        break;
    case LUA_TBOOLEAN:
        c->value = json_boolean(lua_toboolean(L, -1));
        break;
    default:
        break;
    }
    return 0;
}

json_t *trl__lua_scalar(trl_engine *self, const char *name)
{
    share_call c = {name, NULL, NULL};
    if (trl__lua_protect(((trl__lua *)self)->L, scalar_main, &c) != LUA_OK)
        return NULL;
    return c.value;
}

static int bind_main(lua_State *L)
{
    share_call *c = lua_touserdata(L, 1);
    int box = trl__lf_push_box(L);
    trl_frame_incref(c->frame);
    trl__lf_finish(L, box, c->frame);
    lua_pushglobaltable(L);
    lua_pushstring(L, c->name);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    return 0;
}

int trl__lua_bind_frame(trl_engine *self, const char *name, trl_frame *f,
                        trl_error *err)
{
    share_call c = {name, NULL, f};
    if (trl__lua_protect(((trl__lua *)self)->L, bind_main, &c) != LUA_OK)
        return trl_error_set(err, TRL_ENOMEM, "cannot bind '%.60s' in Lua: "
                             "%s", name, trl__lua_protect_error());
    return 0;
}

/* ---- python.name: Python's globals from Lua ---------------------------------------- */

/* python.name -> the frame or model the Python global holds (shared, not
 * copied), or its number, string or boolean; an error when it holds
 * none of these. */
static int python_index(lua_State *L)
{
    const char *name = luaL_checkstring(L, 2);
    trl__lua *e = trl__lua_of(L);
    trl_engine *py = trl_engine_find(e->peers, e->npeers ? *e->npeers : 0,
                                     "python");
    if (!py)
        return luaL_error(L, "this kernel has no Python engine");
    /* both boxes first: once lookup hands over a reference, nothing may
     * raise before a box owns it */
    int box = trl__lf_push_box(L);
    trl_model **model_slot = trl__lua_push_model_box(L);
    trl_frame *f = NULL;
    py->ops->lookup(py, name, &f, model_slot);
    if (f) {
        lua_pop(L, 1);
        return trl__lf_finish(L, box, f);
    }
    if (*model_slot)
        return 1;
    json_t *v = py->ops->scalar(py, name);
    if (!v)
        return luaL_error(L, "Python has no global '%s' holding a "
                          "trellis.Frame, a trellis.Model, a number, a "
                          "string or a boolean (a DataFrame crosses as "
                          "trellis.Frame(df))", name);
    trl__lua_push_json(L, v);
    json_decref(v);
    return 1;
}

static int python_newindex(lua_State *L)
{
    return luaL_error(L, "python.%s is read-only: set it in a Python cell",
                      luaL_checkstring(L, 2));
}

void trl__lua_open_peers(lua_State *L)
{
    lua_newtable(L);
    luaL_newmetatable(L, "trellis.python");
    lua_pushcfunction(L, python_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, python_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_setmetatable(L, -2);
    lua_setglobal(L, "python");
}
