/* lua_engine.c - the default engine: Lua 5.4 cells with IPython-like
 * results, errors, interrupts and a memory limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "engines/lua/lua_int.h"
#include "trellis/display.h"

static const trl_language_info lua_info = {
    "lua", LUA_VERSION_MAJOR "." LUA_VERSION_MINOR "." LUA_VERSION_RELEASE,
    "text/x-lua", ".lua", "lua", "lua"};

/* A unique address: the error value the interrupt hook raises. */
static char interrupt_sentinel;
static const char engine_key = 'L';

/* Instructions between interrupt checks once an interrupt is pending. */
#define HOOK_COUNT 1000

trl__lua *trl__lua_of(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &engine_key);
    trl__lua *e = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return e;
}

/* ---- memory -------------------------------------------------------------- */

static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    trl__lua *e = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        e->mem_used -= old;
        return NULL;
    }
    /* Only growth can hit the limit; shrinking must always succeed. */
    if (e->mem_limit && nsize > old &&
        e->mem_used - old + nsize > e->mem_limit)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        e->mem_used = e->mem_used - old + nsize;
    return p;
}

static size_t default_limit(void)
{
    const char *env = getenv("TRELLIS_LUA_MEMORY");
    if (env && *env) {
        char *end;
        double v = strtod(env, &end);
        double mult = 1;
        switch (*end) {
        case 'k': case 'K': mult = 1024.0; break;
        case 'm': case 'M': mult = 1024.0 * 1024; break;
        case 'g': case 'G': mult = 1024.0 * 1024 * 1024; break;
        }
        if (v > 0)
            return (size_t)(v * mult);
    }
    /* A quarter of RAM: a runaway cell fails long before the machine
     * starts swapping, and real work still has room. */
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psize > 0)
        return (size_t)pages * (size_t)psize / 4;
    return (size_t)1 << 30;
}

/* ---- interrupt ----------------------------------------------------------- */

static void interrupt_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    /* Stays installed until the cell ends, so a pcall that swallows the
     * interrupt is interrupted again a moment later. */
    lua_pushlightuserdata(L, &interrupt_sentinel);
    lua_error(L);
}

static void lua_interrupt(trl_engine *self)
{
    trl__lua *e = (trl__lua *)self;
    /* lua_sethook is safe to call from a signal handler (lua.c does). */
    e->hooked = 1;
    lua_sethook(e->L, interrupt_hook,
                LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, HOOK_COUNT);
}

static void unhook(trl__lua *e)
{
    if (e->hooked) {
        lua_sethook(e->L, NULL, 0, 0);
        e->hooked = 0;
    }
}

/* ---- errors -------------------------------------------------------------- */

/* Message handler: turns any error value into a table {ename, evalue,
 * traceback} while the stack is still there to walk. */
static int msgh(lua_State *L)
{
    const char *ename = "LuaError";
    if (lua_touserdata(L, 1) == &interrupt_sentinel) {
        ename = "KeyboardInterrupt";
        lua_pushstring(L, "interrupted by the user");
    } else if (lua_type(L, 1) == LUA_TSTRING) {
        lua_pushvalue(L, 1);
    } else {
        trl__lua_repr_text(L, 1);
    }
    const char *msg = lua_tostring(L, -1);
    luaL_traceback(L, L, NULL, 1);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, ename);
    lua_setfield(L, -2, "ename");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "evalue");
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "traceback");
    return 1;
}

/* "In [7]:3: boom" -> "In [7], line 3: boom", the form tracebacks use. */
static void pretty_location(luaL_Buffer *b, const char *s)
{
    while (*s) {
        const char *p = strstr(s, "]:");
        if (!p || strncmp(s, "In [", 4) != 0) {
            const char *next = strstr(s, "In [");
            if (!next) {
                luaL_addstring(b, s);
                return;
            }
            luaL_addlstring(b, s, (size_t)(next - s));
            s = next;
            continue;
        }
        const char *digits = p + 2;
        const char *end = digits;
        while (*end >= '0' && *end <= '9')
            end++;
        if (end == digits || *end != ':') {
            luaL_addlstring(b, s, (size_t)(p + 2 - s));
            s = p + 2;
            continue;
        }
        luaL_addlstring(b, s, (size_t)(p + 1 - s));
        luaL_addstring(b, ", line ");
        luaL_addlstring(b, digits, (size_t)(end - digits));
        s = end;
    }
}

static char *pretty(lua_State *L, const char *s)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    pretty_location(&b, s);
    luaL_pushresult(&b);
    char *out = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    return out;
}

/* Reports the error at the top of the stack (a msgh table, or a raw value
 * when the failure was in loading or out of memory) to the context. */
static void report(trl__lua *e, int status, const char *ename_override)
{
    lua_State *L = e->L;
    const char *ename = "LuaError", *evalue = NULL, *tb = NULL;
    if (status == LUA_ERRMEM) {
        ename = "MemoryError";
        evalue = "not enough memory (the Lua memory limit is reached; raise "
                 "TRELLIS_LUA_MEMORY or free some values)";
    } else if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "ename");
        lua_getfield(L, -2, "evalue");
        lua_getfield(L, -3, "traceback");
        ename = lua_tostring(L, -3);
        evalue = lua_tostring(L, -2);
        tb = lua_tostring(L, -1);
    } else {
        evalue = lua_tostring(L, -1);
    }
    if (ename_override)
        ename = ename_override;
    if (!evalue)
        evalue = "(error object is not a string)";
    char *value = pretty(L, evalue);
    json_t *trace = json_array();
    char *line = NULL;
    size_t cap = strlen(ename) + strlen(value ? value : "") + 32;
    line = malloc(cap);
    if (line) {
        /* Red ename as IPython's tracebacks, so consoles colour it. */
        snprintf(line, cap, "\x1b[0;31m%s\x1b[0m: %s", ename,
                 value ? value : "");
        json_array_append_new(trace, json_string(line));
        free(line);
    }
    if (tb) {
        char *ptb = pretty(L, tb);
        if (ptb) {
            /* Drop the frames of the kernel's own C functions. */
            char *save = NULL;
            for (char *l = strtok_r(ptb, "\n", &save); l;
                 l = strtok_r(NULL, "\n", &save)) {
                if (strstr(l, "[C]: in ?"))
                    continue;
                json_array_append_new(trace, json_string(l));
            }
            free(ptb);
        }
    }
    trl_ctx_fail(e->ctx, ename, value ? value : evalue, trace);
    free(value);
    lua_settop(L, 0);
}

/* ---- execute ------------------------------------------------------------- */

static int ends_with_semicolon(const char *code)
{
    size_t n = strlen(code);
    while (n && (code[n - 1] == ' ' || code[n - 1] == '\t' ||
                 code[n - 1] == '\n' || code[n - 1] == '\r'))
        n--;
    return n && code[n - 1] == ';';
}

/* Loads code so that the value of a final expression is returned, as in
 * IPython: first the whole cell as an expression, then the cell with
 * "return" before its last line(s). Falls back to the plain chunk. */
static int load_cell(lua_State *L, const char *code, const char *name,
                     int *returns)
{
    *returns = 0;
    size_t len = strlen(code);
    if (!ends_with_semicolon(code)) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        luaL_addstring(&b, "return ");
        luaL_addlstring(&b, code, len);
        luaL_pushresult(&b);
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        int st = luaL_loadbuffer(L, s, n, name);
        lua_remove(L, -2);
        if (st == LUA_OK) {
            *returns = 1;
            return LUA_OK;
        }
        lua_pop(L, 1);
        if (st == LUA_ERRMEM)
            return st;
        /* Split before each line start, from the last line backwards:
         * the head must be a complete chunk on its own (else the split is
         * inside a block or an expression) and the tail an expression. */
        for (size_t i = len; i > 0; i--) {
            if (code[i - 1] != '\n' || i == len)
                continue;
            st = luaL_loadbuffer(L, code, i, name);
            lua_pop(L, 1);
            if (st == LUA_ERRMEM)
                return st;
            if (st != LUA_OK)
                continue;
            luaL_buffinit(L, &b);
            luaL_addlstring(&b, code, i);
            luaL_addstring(&b, "return ");
            luaL_addlstring(&b, code + i, len - i);
            luaL_pushresult(&b);
            s = lua_tolstring(L, -1, &n);
            st = luaL_loadbuffer(L, s, n, name);
            lua_remove(L, -2);
            if (st == LUA_OK) {
                *returns = 1;
                return LUA_OK;
            }
            lua_pop(L, 1);
            /* the tail is a statement: the cell has no final expression */
            break;
        }
    }
    /* An explicit top-level `return` shows its values too. */
    *returns = !ends_with_semicolon(code);
    return luaL_loadbuffer(L, code, len, name);
}

static int lua_execute(trl_engine *self, const char *code, trl_exec_ctx *ctx)
{
    trl__lua *e = (trl__lua *)self;
    lua_State *L = e->L;
    char name[48];
    snprintf(name, sizeof name, "=In [%d]", trl_ctx_execution_count(ctx));
    e->ctx = ctx;
    lua_settop(L, 0);
    int returns;
    int st = load_cell(L, code, name, &returns);
    if (st != LUA_OK) {
        report(e, st, st == LUA_ERRSYNTAX ? "SyntaxError" : NULL);
        e->ctx = NULL;
        return TRL_EINVAL;
    }
    lua_pushcfunction(L, msgh);
    lua_insert(L, 1);
    st = lua_pcall(L, 0, LUA_MULTRET, 1);
    unhook(e);
    int rc = 0;
    if (st != LUA_OK) {
        report(e, st, NULL);
        rc = trl_ctx_interrupted(ctx) ? TRL_EINTR : TRL_EINVAL;
    } else if (returns && lua_gettop(L) > 1) {
        int top = lua_gettop(L), any = 0;
        for (int i = 2; i <= top; i++)
            any |= !lua_isnil(L, i);
        /* Values that are side effects' leftovers (the file io.write
         * returns, display()'s handle) are not results, as None is not
         * in IPython. */
        if (top == 2 && luaL_getmetafield(L, 2, "__trellis_silent")) {
            any = 0;
            lua_pop(L, 1);
        }
        if (any) {
            json_t *bundle;
            if (top == 2) {
                bundle = trl__lua_repr(L, 2);
            } else {
                /* several values: shown as the Lua REPL, tab-separated */
                luaL_Buffer b;
                luaL_buffinit(L, &b);
                for (int i = 2; i <= top; i++) {
                    trl__lua_repr_text(L, i);
                    luaL_addvalue(&b);
                    if (i < top)
                        luaL_addchar(&b, '\t');
                }
                luaL_pushresult(&b);
                size_t n;
                const char *s = lua_tolstring(L, -1, &n);
                bundle = trl_display_text(s, n);
            }
            /* `_` holds the last result, as in IPython */
            lua_pushvalue(L, 2);
            lua_setglobal(L, "_");
            trl_ctx_result(ctx, bundle, NULL);
        }
    }
    lua_settop(L, 0);
    e->ctx = NULL;
    /* A cell's garbage should not count against the next one's limit. */
    lua_gc(L, LUA_GCSTEP, 0);
    return rc;
}

static int lua_evaluate(trl_engine *self, const char *expr, json_t **data_out,
                        trl_error *err)
{
    trl__lua *e = (trl__lua *)self;
    lua_State *L = e->L;
    *data_out = NULL;
    lua_settop(L, 0);
    lua_pushstring(L, "return ");
    lua_pushstring(L, expr);
    lua_concat(L, 2);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    int st = luaL_loadbuffer(L, s, n, "=expression");
    if (st == LUA_OK)
        st = lua_pcall(L, 0, 1, 0);
    if (st != LUA_OK) {
        trl_error_set(err, TRL_EINVAL, "%s",
                      lua_isstring(L, -1) ? lua_tostring(L, -1) : "error");
        lua_settop(L, 0);
        return TRL_EINVAL;
    }
    *data_out = trl__lua_repr(L, -1);
    lua_settop(L, 0);
    return *data_out ? 0 : trl_error_set(err, TRL_ENOMEM, "out of memory");
}

/* ---- is_complete ---------------------------------------------------------- */

static trl_code_status lua_is_complete(trl_engine *self, const char *code,
                                       char *indent, size_t indent_size)
{
    trl__lua *e = (trl__lua *)self;
    lua_State *L = e->L;
    size_t len = strlen(code);
    lua_settop(L, 0);
    if (luaL_loadbuffer(L, code, len, "=cell") == LUA_OK) {
        lua_settop(L, 0);
        return TRL_CODE_COMPLETE;
    }
    /* An expression cell (`1 +` is incomplete, `x` complete). */
    lua_pushstring(L, "return ");
    lua_pushlstring(L, code, len);
    lua_concat(L, 2);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    int st = luaL_loadbuffer(L, s, n, "=cell");
    if (st == LUA_OK) {
        lua_settop(L, 0);
        return TRL_CODE_COMPLETE;
    }
    lua_pop(L, 2);
    luaL_loadbuffer(L, code, len, "=cell");
    const char *msg = lua_tostring(L, -1);
    /* The parser stops at end of input inside an open block, string,
     * comment or expression: more lines can complete the cell. */
    size_t ml = msg ? strlen(msg) : 0;
    int at_eof = ml >= 5 && strcmp(msg + ml - 5, "<eof>") == 0;
    lua_settop(L, 0);
    if (!at_eof)
        return TRL_CODE_INVALID;
    snprintf(indent, indent_size, "  ");
    return TRL_CODE_INCOMPLETE;
}

/* ---- life cycle ----------------------------------------------------------- */

static void lua_destroy(trl_engine *self)
{
    trl__lua *e = (trl__lua *)self;
    if (e->L)
        lua_close(e->L);
    free(e);
}

/* ---- user names ------------------------------------------------------------ */

static const char builtins_key = 'B';

/* Remembers the globals as they are before any cell runs: what %who hides
 * and what %reset restores. */
static void snapshot_builtins(lua_State *L)
{
    lua_newtable(L);
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -5);
    }
    lua_pop(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &builtins_key);
}

/* Pushes the array of global names that differ from the snapshot. */
static void user_names(lua_State *L)
{
    lua_newtable(L);
    int out = lua_gettop(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &builtins_key);
    int base = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        lua_rawget(L, base);
        int same = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (!same && lua_type(L, -1) == LUA_TSTRING &&
            strcmp(lua_tostring(L, -1), "_") != 0) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, out, ++n);
        }
    }
    lua_pop(L, 2);
}

static json_t *lua_variables(trl_engine *self)
{
    lua_State *L = ((trl__lua *)self)->L;
    lua_settop(L, 0);
    user_names(L);
    json_t *vars = json_object();
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        lua_getglobal(L, lua_tostring(L, 2));
        const char *type = luaL_typename(L, -1);
        if (luaL_getmetafield(L, -1, "__name") == LUA_TSTRING)
            type = lua_tostring(L, -1);
        json_object_set_new(vars, lua_tostring(L, 2), json_string(type));
        lua_settop(L, 1);
    }
    lua_settop(L, 0);
    return vars;
}

static void lua_reset(trl_engine *self)
{
    lua_State *L = ((trl__lua *)self)->L;
    lua_settop(L, 0);
    user_names(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &builtins_key);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        lua_pushvalue(L, -1);
        lua_rawget(L, 2);  /* the built-in value, or nil */
        lua_setglobal(L, lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    lua_setglobal(L, "_");
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
}

static void lua_memory(trl_engine *self, int set, size_t new_limit,
                       size_t *used, size_t *limit)
{
    trl__lua *e = (trl__lua *)self;
    if (set)
        e->mem_limit = new_limit;
    *used = e->mem_used;
    *limit = e->mem_limit;
}

static const trl_engine_ops lua_ops = {
    .name = "lua",
    .info = &lua_info,
    .execute = lua_execute,
    .evaluate = lua_evaluate,
    .complete = trl__lua_complete,
    .inspect = trl__lua_inspect,
    .is_complete = lua_is_complete,
    .variables = lua_variables,
    .reset = lua_reset,
    .memory = lua_memory,
    .interrupt = lua_interrupt,
    .destroy = lua_destroy};

static int panic(lua_State *L)
{
    fprintf(stderr, "[trellis] Lua panic: %s\n", lua_tostring(L, -1));
    return 0;  /* Lua then aborts: only reachable through a kernel bug */
}

trl_engine *trl_lua_engine_new(const trl_engine_config *config,
                               trl_error *err)
{
    trl__lua *e = calloc(1, sizeof *e);
    if (!e) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    e->base.ops = &lua_ops;
    e->L = lua_newstate(lua_alloc, e);
    if (!e->L) {
        free(e);
        trl_error_set(err, TRL_ENOMEM, "cannot create the Lua state");
        return NULL;
    }
    lua_atpanic(e->L, panic);
    lua_pushlightuserdata(e->L, e);
    lua_rawsetp(e->L, LUA_REGISTRYINDEX, &engine_key);
    luaL_openlibs(e->L);
    trl__lua_open_kernel_lib(e->L);
    snapshot_builtins(e->L);
    /* The limit starts after the standard library is loaded. */
    e->mem_limit = config && config->memory_limit ? config->memory_limit
                                                  : default_limit();
    return &e->base;
}
