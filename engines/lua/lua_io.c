/* lua_io.c - the kernel's Lua library: print and io.* go to the notebook's
 * streams, display() and clear_output() make rich output, io.read() and
 * input() ask the notebook for a line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <uuid/uuid.h>

#include "engines/lua/lua_int.h"
#include "trellis/display.h"

static trl_exec_ctx *ctx_of(lua_State *L)
{
    return trl__lua_of(L)->ctx;
}

static void emit(lua_State *L, trl_stream which, const char *s, size_t n)
{
    trl_exec_ctx *ctx = ctx_of(L);
    if (ctx)
        trl_ctx_stream(ctx, which, s, n);
}

static int l_print(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
        if (i < n)
            luaL_addchar(&b, '\t');
    }
    luaL_addchar(&b, '\n');
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    emit(L, TRL_STDOUT, s, len);
    return 0;
}

/* Writes args 'first'.. as io.write does (strings and numbers only). */
static int write_args(lua_State *L, int first, trl_stream which)
{
    int n = lua_gettop(L);
    for (int i = first; i <= n; i++) {
        size_t len;
        if (lua_type(L, i) == LUA_TNUMBER) {
            luaL_tolstring(L, i, &len);
            emit(L, which, lua_tostring(L, -1), len);
            lua_pop(L, 1);
        } else {
            const char *s = luaL_checklstring(L, i, &len);
            emit(L, which, s, len);
        }
    }
    return 0;
}

static int l_io_write(lua_State *L)
{
    write_args(L, 1, TRL_STDOUT);
    lua_getglobal(L, "io");
    lua_getfield(L, -1, "stdout");
    return 1;
}

/* Methods of the io.stdout / io.stderr stand-ins. */
static int l_stream_write(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "_stream");
    trl_stream which = lua_tointeger(L, -1) == 2 ? TRL_STDERR : TRL_STDOUT;
    lua_pop(L, 1);
    write_args(L, 2, which);
    lua_settop(L, 1);
    return 1;
}

static int l_stream_noop(lua_State *L)
{
    lua_settop(L, 1);
    return 1;
}

static int l_stream_close(lua_State *L)
{
    return luaL_error(L, "the notebook's output streams cannot be closed");
}

static int read_line(lua_State *L, const char *prompt)
{
    trl_exec_ctx *ctx = ctx_of(L);
    if (!ctx)
        return luaL_error(L, "input is only available while a cell runs");
    char *line = NULL;
    trl_error err;
    trl_error_clear(&err);
    int rc = trl_ctx_input(ctx, prompt, 0, &line, &err);
    if (rc == TRL_EINTR) {
        /* let the interrupt hook (armed by the signal) raise it */
        lua_pushstring(L, "");
        return 1;
    }
    if (rc)
        return luaL_error(L, "%s", err.message);
    lua_pushstring(L, line);
    free(line);
    return 1;
}

static int l_input(lua_State *L)
{
    return read_line(L, luaL_optstring(L, 1, ""));
}

static int l_io_read(lua_State *L)
{
    /* Formats "l" (default), "L" and "n"; each asks for one line. */
    const char *fmt = luaL_optstring(L, 1, "l");
    if (*fmt == '*')
        fmt++;
    read_line(L, "");
    if (*fmt == 'n') {
        lua_Number v;
        const char *s = lua_tostring(L, -1);
        char *end;
        v = strtod(s, &end);
        if (end == s)
            lua_pushnil(L);
        else
            lua_pushnumber(L, v);
        return 1;
    }
    if (*fmt == 'L') {
        lua_pushliteral(L, "\n");
        lua_concat(L, 2);
    }
    return 1;
}

/* display(value [, mime]) -> handle with :update(value [, mime]). */
static json_t *bundle_for(lua_State *L, int vi, int mi)
{
    const char *mime = luaL_optstring(L, mi, NULL);
    if (!mime)
        return trl__lua_repr(L, vi);
    size_t n;
    const char *s = luaL_checklstring(L, vi, &n);
    json_t *b = json_object();
    trl_display_add(b, mime, s, n);
    if (strcmp(mime, "text/plain") != 0) {
        /* text/plain is always there, for consoles */
        char alt[96];
        snprintf(alt, sizeof alt, "<%s output>", mime);
        trl_display_add(b, "text/plain", alt, strlen(alt));
    }
    return b;
}

static int l_handle_update(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    lua_settop(L, 3);
    lua_getfield(L, 1, "display_id");
    char id[64];
    snprintf(id, sizeof id, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1)
                                                       : "");
    lua_pop(L, 1);
    if (!id[0])
        return luaL_error(L, "update: not a display handle");
    trl_exec_ctx *ctx = ctx_of(L);
    if (ctx)
        trl_ctx_update_display(ctx, bundle_for(L, 2, 3), NULL, id);
    return 0;
}

static int l_display(lua_State *L)
{
    luaL_checkany(L, 1);
    char id[37];
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, id);
    trl_exec_ctx *ctx = ctx_of(L);
    if (ctx)
        trl_ctx_display(ctx, bundle_for(L, 1, 2), NULL, id);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, id);
    lua_setfield(L, -2, "display_id");
    lua_pushcfunction(L, l_handle_update);
    lua_setfield(L, -2, "update");
    if (luaL_newmetatable(L, "trellis.display_handle")) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "__trellis_silent");
    }
    lua_setmetatable(L, -2);
    return 1;
}

static int l_clear_output(lua_State *L)
{
    trl_exec_ctx *ctx = ctx_of(L);
    if (ctx)
        trl_ctx_clear_output(ctx, lua_toboolean(L, 1));
    return 0;
}

static int l_os_exit(lua_State *L)
{
    /* Exiting would look like a crash to the client, which then restarts
     * us and loses the cell's output: refuse with a pointer instead. */
    return luaL_error(L, "os.exit is disabled inside the kernel; use the "
                         "notebook's Kernel > Restart (or %%lua cells end "
                         "by themselves)");
}

static void make_stream(lua_State *L, int which, const char *name)
{
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, which);
    lua_setfield(L, -2, "_stream");
    luaL_newmetatable(L, "trellis.stream");
    static const luaL_Reg methods[] = {{"write", l_stream_write},
                                       {"flush", l_stream_noop},
                                       {"setvbuf", l_stream_noop},
                                       {"close", l_stream_close},
                                       {NULL, NULL}};
    if (lua_getfield(L, -1, "__index") != LUA_TTABLE) {
        lua_pop(L, 1);
        luaL_newlib(L, methods);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, "__index");
        lua_pushstring(L, "file (notebook stream)");
        lua_setfield(L, -3, "__name");
        lua_pushboolean(L, 1);
        lua_setfield(L, -3, "__trellis_silent");
    }
    lua_pop(L, 1);
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, name);
}

void trl__lua_open_kernel_lib(lua_State *L)
{
    static const luaL_Reg globals[] = {{"print", l_print},
                                       {"display", l_display},
                                       {"clear_output", l_clear_output},
                                       {"input", l_input},
                                       {NULL, NULL}};
    lua_pushglobaltable(L);
    luaL_setfuncs(L, globals, 0);
    lua_pop(L, 1);

    lua_getglobal(L, "io");
    lua_pushcfunction(L, l_io_write);
    lua_setfield(L, -2, "write");
    lua_pushcfunction(L, l_io_read);
    lua_setfield(L, -2, "read");
    make_stream(L, 1, "stdout");
    make_stream(L, 2, "stderr");
    lua_pop(L, 1);

    lua_getglobal(L, "os");
    lua_pushcfunction(L, l_os_exit);
    lua_setfield(L, -2, "exit");
    lua_pop(L, 1);
}
