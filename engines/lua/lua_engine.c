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

#define LOAD_HEADROOM ((size_t)64 << 20)

static void *eng_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    trl__lua *e = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        e->mem_used -= old;
        return NULL;
    }
    /* Only growth can hit the limit; shrinking must always succeed. The
     * limit binds user code; compiling the next cell and reporting an
     * error get headroom above it, so `t = nil` can still run when a
     * runaway cell filled the heap. */
    size_t limit = e->mem_limit;
    if (limit && !e->enforce)
        limit += LOAD_HEADROOM;
    if (limit && nsize > old && e->mem_used - old + nsize > limit)
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

int trl__lua_raise_interrupt(lua_State *L)
{
    lua_pushlightuserdata(L, &interrupt_sentinel);
    return lua_error(L);
}

static void eng_interrupt(trl_engine *self)
{
    trl__lua *e = (trl__lua *)self;
    /* lua_sethook is safe to call from a signal handler (lua.c does).
     * Hooks are per thread: the coroutine running now needs its own. */
    e->hooked = 1;
    lua_sethook(e->L, interrupt_hook,
                LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, HOOK_COUNT);
    lua_State *co = e->running;
    if (co)
        lua_sethook(co, interrupt_hook,
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
    for (;;) {
        const char *at = strstr(s, "In [");
        if (!at) {
            luaL_addstring(b, s);
            return;
        }
        luaL_addlstring(b, s, (size_t)(at - s));
        /* "In [<digits>]:<digits>:" becomes "In [<digits>], line <digits>:" */
        const char *p = at + 4;
        while (*p >= '0' && *p <= '9')
            p++;
        const char *digits = NULL, *end = NULL;
        if (p[0] == ']' && p[1] == ':') {
            digits = end = p + 2;
            while (*end >= '0' && *end <= '9')
                end++;
        }
        if (digits && end > digits && *end == ':') {
            luaL_addlstring(b, at, (size_t)(p + 1 - at));
            luaL_addstring(b, ", line ");
            luaL_addlstring(b, digits, (size_t)(end - digits));
            s = end;
        } else {
            luaL_addlstring(b, at, 4);  /* not a location: keep, move on */
            s = at + 4;
        }
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
void trl__lua_report(trl__lua *e, int status, const char *ename_override)
{
    lua_State *L = e->L;
    const char *ename = "LuaError", *evalue = NULL, *tb = NULL;
    if (status == LUA_ERRMEM) {
        ename = "MemoryError";
        evalue = "not enough memory (the Lua memory limit is reached: free "
                 "some values, e.g. t = nil, or raise it with %memory 4G)";
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
        char *clean = trl_utf8_sanitize(line, strlen(line), NULL);
        json_array_append_new(trace, json_string(clean ? clean : ""));
        free(clean);
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
                char *clean = trl_utf8_sanitize(l, strlen(l), NULL);
                json_array_append_new(trace, json_string(clean ? clean : ""));
                free(clean);
            }
            free(ptb);
        }
    }
    trl_ctx_fail(e->ctx, ename, value ? value : evalue, trace);
    free(value);
    lua_settop(L, 0);
}

/* ---- execute ------------------------------------------------------------- */

/* How many final lines may form the cell's result expression. */
#define MAX_TAIL_LINES 64

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
         * the tail must be an expression (checked first: it is short) and
         * the head a complete chunk on its own (else the split is inside a
         * block or an expression). Only the last lines are tried, so a
         * long pasted cell loads in linear time. */
        int tries = 0;
        for (size_t i = len; i > 0 && tries < MAX_TAIL_LINES; i--) {
            if (code[i - 1] != '\n' || i == len)
                continue;
            tries++;
            luaL_buffinit(L, &b);
            luaL_addstring(&b, "return ");
            luaL_addlstring(&b, code + i, len - i);
            luaL_pushresult(&b);
            s = lua_tolstring(L, -1, &n);
            st = luaL_loadbuffer(L, s, n, name);
            lua_pop(L, 2);
            if (st == LUA_ERRMEM)
                return st;
            if (st != LUA_OK)
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

/* ---- guarded library functions ----------------------------------------------- */

/* load/loadfile/dofile (and require, below) take text only: precompiled
 * chunks are not checked by Lua and a forged one crashes the interpreter
 * (and the kernel). */
static int safe_load(lua_State *L)
{
    int has_env = !lua_isnone(L, 4);
    lua_settop(L, 4);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "t");
    if (has_env)
        lua_pushvalue(L, 4);
    lua_call(L, has_env ? 4 : 3, LUA_MULTRET);
    return lua_gettop(L) - 4;
}

static int safe_loadfile(lua_State *L)
{
    const char *fname = luaL_optstring(L, 1, NULL);
    int has_env = !lua_isnone(L, 3);
    if (luaL_loadfilex(L, fname, "t") != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (has_env) {
        lua_pushvalue(L, 3);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
    }
    return 1;
}

static int safe_dofile(lua_State *L)
{
    const char *fname = luaL_optstring(L, 1, NULL);
    lua_settop(L, 1);
    if (luaL_loadfilex(L, fname, "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

/* require's searcher for Lua files, text only as loadfile: Lua's own
 * loads binary chunks too. Upvalue 1 is the package table. */
static int safe_searcher(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, lua_upvalueindex(1), "searchpath");
    lua_pushstring(L, name);
    lua_getfield(L, lua_upvalueindex(1), "path");
    if (!lua_isfunction(L, -3) || !lua_isstring(L, -1))
        return luaL_error(L, "package.path must be a string");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2))
        return 1;  /* where it looked, for require's message */
    const char *file = lua_tostring(L, -2);
    if (luaL_loadfilex(L, file, "t") != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n"
                          "\t%s", name, file, lua_tostring(L, -1));
    lua_pushstring(L, file);
    return 2;
}

/* A finalizer runs with hooks off, where no interrupt can stop it. */
static int safe_setmetatable(lua_State *L)
{
    if (lua_istable(L, 2)) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc finalizers are not "
                              "allowed in the kernel (they run where an "
                              "interrupt cannot stop them)");
        lua_pop(L, 1);
    }
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

/* coroutine.resume that tells the SIGINT handler which coroutine runs. */
static int tracked_resume(lua_State *L)
{
    trl__lua *e = trl__lua_of(L);
    lua_State *co = lua_tothread(L, 1);
    lua_State *prev = e->running;
    if (co) {
        e->running = co;
        if (e->hooked)  /* an interrupt is pending: this thread too */
            lua_sethook(co, interrupt_hook,
                        LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT,
                        HOOK_COUNT);
    }
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    int st = lua_pcall(L, n, LUA_MULTRET, 0);
    e->running = prev;
    if (st != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

/* coroutine.wrap through tracked_resume: errors propagate as with the
 * standard wrap. */
static int tracked_wrap_call(lua_State *L)
{
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(2));  /* tracked resume */
    lua_pushvalue(L, lua_upvalueindex(1));  /* the coroutine */
    lua_rotate(L, 1, 2);
    lua_call(L, n + 1, LUA_MULTRET);
    if (!lua_toboolean(L, 1)) {
        lua_settop(L, 2);
        return lua_error(L);
    }
    return lua_gettop(L) - 1;
}

static int tracked_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, tracked_wrap_call, 2);
    return 1;
}

/* string.rep that an interrupt can stop: the standard one is a single C
 * call that can run for seconds on a large count. Same results, built in
 * chunks, with the interrupt flag checked between them. */
static int interruptible_rep(lua_State *L)
{
    size_t l, lsep;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    if (l + lsep < l || l + lsep > (size_t)LUA_MAXINTEGER / (size_t)n)
        return luaL_error(L, "resulting string too large");
    size_t total = (size_t)n * l + (size_t)(n - 1) * lsep;
    trl__lua *e = trl__lua_of(L);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, total);
    size_t done = 0;
    for (lua_Integer i = 0; i < n; i++) {
        memcpy(p + done, s, l);
        done += l;
        if (i + 1 < n && lsep) {
            memcpy(p + done, sep, lsep);
            done += lsep;
        }
        if ((i & 0xFFFF) == 0 && e->hooked)
            return trl__lua_raise_interrupt(L);
    }
    luaL_pushresultsize(&b, total);
    return 1;
}

static void guard_library(lua_State *L)
{
    lua_getglobal(L, "string");
    lua_pushcfunction(L, interruptible_rep);
    lua_setfield(L, -2, "rep");
    lua_pop(L, 1);
    lua_getglobal(L, "load");
    lua_pushcclosure(L, safe_load, 1);
    lua_setglobal(L, "load");
    lua_pushcfunction(L, safe_loadfile);
    lua_setglobal(L, "loadfile");
    lua_pushcfunction(L, safe_dofile);
    lua_setglobal(L, "dofile");
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchers");
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, safe_searcher, 1);
    lua_rawseti(L, -2, 2);  /* Lua's own file searcher */
    lua_pop(L, 2);
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, safe_setmetatable, 1);
    lua_setglobal(L, "setmetatable");
    lua_getglobal(L, "coroutine");
    lua_getfield(L, -1, "resume");
    lua_pushcclosure(L, tracked_resume, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "resume");
    lua_pushcclosure(L, tracked_wrap, 1);
    lua_setfield(L, -2, "wrap");
    lua_pop(L, 1);
}

/* ---- protected calls -------------------------------------------------------- */

/* Every entry point runs inside lua_pcall: an error outside a cell's own
 * pcall (out of memory while reporting, a user's metamethod, a broken
 * global) would otherwise reach the panic function and abort the kernel. */
static char protect_error[256];

const char *trl__lua_protect_error(void)
{
    return protect_error;
}

int trl__lua_protect(lua_State *L, lua_CFunction fn, void *ud)
{
    int base = lua_gettop(L);
    if (!lua_checkstack(L, 4))
        return LUA_ERRMEM;
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, ud);
    int st = lua_pcall(L, 1, 0, 0);
    if (st != LUA_OK)
        snprintf(protect_error, sizeof protect_error, "%s",
                 lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                : "(error object is not a "
                                                  "string)");
    lua_settop(L, base);
    return st;
}

/* ---- sorting ------------------------------------------------------------------ */

static const char sort_key = 'S';

/* Orders any two values without running user code: numbers by value,
 * strings by bytes, other types by type name. */
static int compare_values(lua_State *L)
{
    int ta = lua_type(L, 1), tb = lua_type(L, 2);
    if (ta == LUA_TNUMBER && tb == LUA_TNUMBER) {
        lua_pushboolean(L, lua_tonumber(L, 1) < lua_tonumber(L, 2));
    } else if (ta == LUA_TSTRING && tb == LUA_TSTRING) {
        size_t na, nb;
        const char *a = lua_tolstring(L, 1, &na), *b = lua_tolstring(L, 2, &nb);
        int c = memcmp(a, b, na < nb ? na : nb);
        lua_pushboolean(L, c < 0 || (c == 0 && na < nb));
    } else {
        lua_pushboolean(L, strcmp(lua_typename(L, ta), lua_typename(L, tb))
                               < 0);
    }
    return 1;
}

void trl__lua_sort(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &sort_key);
    lua_pushvalue(L, idx);
    lua_pushcfunction(L, compare_values);
    lua_call(L, 2, 0);
}

/* ---- execute ---------------------------------------------------------------- */

typedef struct exec_args {
    trl__lua *e;
    const char *code;
    trl_exec_ctx *ctx;
    int rc;
} exec_args;

/* Publishes the cell's returned values (stack 1..top) as its result. */
static void show_result(lua_State *L, trl__lua *e, trl_exec_ctx *ctx)
{
    int top = lua_gettop(L), any = 0;
    for (int i = 1; i <= top; i++)
        any |= !lua_isnil(L, i);
    /* Values that are side effects' leftovers (the file io.write returns,
     * display()'s handle) are not results, as None is not in IPython. */
    if (top == 1 && luaL_getmetafield(L, 1, "__trellis_silent")) {
        any = 0;
        lua_pop(L, 1);
    }
    if (!any)
        return;
    json_t *bundle;
    if (top == 1) {
        bundle = trl__lua_repr(L, 1);
    } else {
        /* several values: shown as the Lua REPL, tab-separated */
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (int i = 1; i <= top; i++) {
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
    /* The repr calls __tostring and __repr_html under pcall, so that a
     * failing one cannot break the display; that pcall also catches the
     * interrupt hook's error. An interrupt that came while the repr ran
     * stops the cell here, rather than publish what the repr made of it
     * ("<number (tostring failed)>"). */
    if (e->hooked) {
        json_decref(bundle);
        trl__lua_raise_interrupt(L);
    }
    /* `_` holds the last result, as in IPython; raw, so no user
     * __newindex on _G can fail here */
    lua_pushglobaltable(L);
    lua_pushliteral(L, "_");
    lua_pushvalue(L, 1);
    lua_rawset(L, -3);
    trl_ctx_result(ctx, bundle, NULL);
}

static int exec_main(lua_State *L)
{
    exec_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    char name[48];
    snprintf(name, sizeof name, "=In [%d]", trl_ctx_execution_count(a->ctx));
    int returns;
    int st = load_cell(L, a->code, name, &returns);
    if (st != LUA_OK) {
        trl__lua_report(a->e, st, st == LUA_ERRSYNTAX ? "SyntaxError" : NULL);
        a->rc = TRL_EINVAL;
        return 0;
    }
    if (trl__lua_call_user(a->e, 0, LUA_MULTRET) != LUA_OK)
        a->rc = trl_ctx_interrupted(a->ctx) ? TRL_EINTR : TRL_EINVAL;
    else if (returns && lua_gettop(L) > 0)
        show_result(L, a->e, a->ctx);
    a->e->settled = 1;
    return 0;
}

int trl__lua_call_user(trl__lua *e, int nargs, int nresults)
{
    lua_State *L = e->L;
    int base = lua_gettop(L) - nargs;  /* the function's slot */
    lua_pushcfunction(L, msgh);
    lua_insert(L, base);
    e->enforce = 1;
    int st = lua_pcall(L, nargs, nresults, base);
    e->enforce = 0;
    lua_remove(L, base);
    if (st != LUA_OK)
        trl__lua_report(e, st, NULL);
    return st;
}

static int eng_execute(trl_engine *self, const char *code, trl_exec_ctx *ctx)
{
    exec_args a = {(trl__lua *)self, code, ctx, 0};
    int rc = trl__lua_exec((trl__lua *)self, ctx, exec_main, &a);
    return rc ? rc : a.rc;
}

int trl__lua_exec(trl__lua *e, trl_exec_ctx *ctx, lua_CFunction fn,
                  void *ud)
{
    lua_State *L = e->L;
    /* A hook left by an interrupt that came after the last cell ended
     * must not stop this one at its first instruction. */
    if (!trl_ctx_interrupted(ctx))
        unhook(e);
    e->ctx = ctx;
    e->settled = 0;
    lua_settop(L, 0);
    int rc = 0;
    int st = trl__lua_protect(L, fn, ud);
    unhook(e);
    /* Once settled, only the interrupt hook can raise (at fn's own
     * return): the cell has finished and its result is out, so it stands,
     * as an interrupt that reaches an idle kernel is ignored. Failing it
     * now would show a result and a KeyboardInterrupt for one cell. */
    if (st != LUA_OK && e->settled)
        st = LUA_OK;
    if (st != LUA_OK) {
        rc = TRL_EINVAL;
        if (st == LUA_ERRMEM)
            trl_ctx_fail(ctx, "MemoryError", "not enough memory (the Lua "
                         "memory limit is reached: free some values, or "
                         "raise it with %memory)", NULL);
        else if (trl_ctx_interrupted(ctx))
            trl_ctx_fail(ctx, "KeyboardInterrupt", "interrupted by the user",
                         NULL);
        else
            trl_ctx_fail(ctx, "LuaError", protect_error,
                         json_pack("[s, s]", "error outside the cell's own "
                                   "code (a hook, a metamethod or a replaced "
                                   "global):", protect_error));
    }
    lua_settop(L, 0);
    e->ctx = NULL;
    /* A cell's garbage should not count against the next one's limit. */
    lua_gc(L, LUA_GCSTEP, 0);
    return rc;
}

typedef struct eval_args {
    const char *expr;
    json_t *data;
    char message[256];
} eval_args;

static int eval_main(lua_State *L)
{
    eval_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_pushstring(L, "return ");
    lua_pushstring(L, a->expr);
    lua_concat(L, 2);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    int st = luaL_loadbuffer(L, s, n, "=expression");
    if (st == LUA_OK)
        st = lua_pcall(L, 0, 1, 0);
    if (st != LUA_OK) {
        snprintf(a->message, sizeof a->message, "%s",
                 lua_isstring(L, -1) ? lua_tostring(L, -1) : "error");
        return 0;
    }
    a->data = trl__lua_repr(L, -1);
    return 0;
}

static int eng_evaluate(trl_engine *self, const char *expr, json_t **data_out,
                        trl_error *err)
{
    trl__lua *e = (trl__lua *)self;
    eval_args a = {expr, NULL, "error"};
    int st = trl__lua_protect(e->L, eval_main, &a);
    *data_out = a.data;
    if (st != LUA_OK || !a.data) {
        json_decref(a.data);
        *data_out = NULL;
        return trl_error_set(err, TRL_EINVAL, "%s",
                             st == LUA_ERRMEM ? "not enough memory"
                                              : a.message);
    }
    return 0;
}

/* ---- is_complete ---------------------------------------------------------- */

typedef struct complete_args {
    const char *code;
    trl_code_status status;
} complete_args;

static int is_complete_main(lua_State *L)
{
    complete_args *a = lua_touserdata(L, 1);
    size_t len = strlen(a->code);
    if (luaL_loadbuffer(L, a->code, len, "=cell") == LUA_OK) {
        a->status = TRL_CODE_COMPLETE;
        return 0;
    }
    lua_pop(L, 1);
    /* An expression cell (`1 +` is incomplete, `x` complete). */
    lua_pushstring(L, "return ");
    lua_pushlstring(L, a->code, len);
    lua_concat(L, 2);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (luaL_loadbuffer(L, s, n, "=cell") == LUA_OK) {
        a->status = TRL_CODE_COMPLETE;
        return 0;
    }
    lua_pop(L, 2);
    luaL_loadbuffer(L, a->code, len, "=cell");
    const char *msg = lua_tostring(L, -1);
    /* The parser stops at end of input inside an open block, string,
     * comment or expression: more lines can complete the cell. */
    size_t ml = msg ? strlen(msg) : 0;
    int at_eof = ml >= 5 && strcmp(msg + ml - 5, "<eof>") == 0;
    a->status = at_eof ? TRL_CODE_INCOMPLETE : TRL_CODE_INVALID;
    return 0;
}

static trl_code_status eng_is_complete(trl_engine *self, const char *code,
                                       char *indent, size_t indent_size)
{
    trl__lua *e = (trl__lua *)self;
    complete_args a = {code, TRL_CODE_UNKNOWN};
    if (trl__lua_protect(e->L, is_complete_main, &a) != LUA_OK)
        return TRL_CODE_UNKNOWN;
    if (a.status == TRL_CODE_INCOMPLETE)
        snprintf(indent, indent_size, "  ");
    return a.status;
}

/* ---- life cycle ----------------------------------------------------------- */

static void eng_destroy(trl_engine *self)
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

static int variables_main(lua_State *L)
{
    json_t *vars = lua_touserdata(L, 1);
    lua_settop(L, 0);
    user_names(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        lua_pushglobaltable(L);
        lua_pushvalue(L, 2);
        lua_rawget(L, -2);
        const char *type = luaL_typename(L, -1);
        if (luaL_getmetafield(L, -1, "__name") == LUA_TSTRING)
            type = lua_tostring(L, -1);
        json_object_set_new(vars, lua_tostring(L, 2), json_string(type));
        lua_settop(L, 1);
    }
    return 0;
}

static json_t *eng_variables(trl_engine *self)
{
    json_t *vars = json_object();
    if (vars && trl__lua_protect(((trl__lua *)self)->L, variables_main,
                                 vars) != LUA_OK) {
        json_decref(vars);
        return NULL;
    }
    return vars;
}

static int reset_main(lua_State *L)
{
    lua_settop(L, 0);
    user_names(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &builtins_key);
    lua_pushglobaltable(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        lua_pushvalue(L, -1);
        lua_rawget(L, 2);  /* the built-in value, or nil */
        lua_rawset(L, 3);
    }
    lua_pushnil(L);
    lua_setfield(L, 3, "_");
    return 0;
}

static void eng_reset(trl_engine *self)
{
    lua_State *L = ((trl__lua *)self)->L;
    trl__lua_protect(L, reset_main, NULL);
    lua_gc(L, LUA_GCCOLLECT);
}

/* Headroom a new limit keeps above what is in use: the engine itself must
 * still be able to report the next MemoryError. */
#define MIN_HEADROOM ((size_t)1 << 20)

static void eng_memory(trl_engine *self, int set, size_t new_limit,
                       size_t *used, size_t *limit)
{
    trl__lua *e = (trl__lua *)self;
    if (set)
        e->mem_limit = new_limit < e->mem_used + MIN_HEADROOM
                           ? e->mem_used + MIN_HEADROOM
                           : new_limit;
    *used = e->mem_used;
    *limit = e->mem_limit;
}

static const trl_engine_ops lua_ops = {
    .name = "lua",
    .info = &lua_info,
    .execute = eng_execute,
    .evaluate = eng_evaluate,
    .complete = trl__lua_complete,
    .inspect = trl__lua_inspect,
    .is_complete = eng_is_complete,
    .variables = eng_variables,
    .lookup = trl__lua_lookup,
    .metric = trl__lua_metric,
    .timer_new = trl__lua_timer_new,
    .timer_run = trl__lua_timer_run,
    .timer_free = trl__lua_timer_free,
    .set_last = trl__lua_set_last,
    .scalar = trl__lua_scalar,
    .bind_frame = trl__lua_bind_frame,
    .reset = eng_reset,
    .memory = eng_memory,
    .interrupt = eng_interrupt,
    .destroy = eng_destroy};

static int panic(lua_State *L)
{
    fprintf(stderr, "[trellis] Lua panic: %s\n", lua_tostring(L, -1));
    return 0;  /* Lua then aborts: every entry point is protected, so only
                * an unprotected call added by mistake gets here */
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
    e->L = lua_newstate(eng_alloc, e);
    if (!e->L) {
        free(e);
        trl_error_set(err, TRL_ENOMEM, "cannot create the Lua state");
        return NULL;
    }
    lua_atpanic(e->L, panic);
    lua_pushlightuserdata(e->L, e);
    lua_rawsetp(e->L, LUA_REGISTRYINDEX, &engine_key);
    luaL_openlibs(e->L);
    lua_getglobal(e->L, "table");
    lua_getfield(e->L, -1, "sort");
    lua_rawsetp(e->L, LUA_REGISTRYINDEX, &sort_key);
    lua_pop(e->L, 1);
    guard_library(e->L);
    e->registry = config ? config->registry : NULL;
    if (config && config->registry_error)
        snprintf(e->registry_error, sizeof e->registry_error, "%s",
                 config->registry_error);
    trl__lua_open_kernel_lib(e->L);
    trl__lua_open_features(e->L);
    trl__lua_open_models(e->L);
    e->peers = config ? config->peers : NULL;
    e->npeers = config ? config->npeers : NULL;
    trl__lua_open_peers(e->L);
    trl__lua_open_metrics(e->L);
    trl__lua_open_guard(e->L);
    trl__lua_open_docs(e->L);
    snapshot_builtins(e->L);
    /* The limit starts after the standard library is loaded. */
    e->mem_limit = config && config->memory_limit ? config->memory_limit
                                                  : default_limit();
    return &e->base;
}
