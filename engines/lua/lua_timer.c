/* lua_timer.c - %timeit's loop in Lua, and `_` set from C. The statement
 * is compiled once as the body of a numeric for loop inside a function
 * that also runs the setup and reads the clock, so timing n loops is one
 * call: an empty statement costs what Lua's own loop costs (a few
 * nanoseconds), not a C-to-Lua call per loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engines/lua/lua_int.h"
#include "trellis/timing.h"

typedef struct timer {
    int ref;    /* the loop function, in the Lua registry */
    int clock;  /* the clock it is given */
} timer;

typedef struct timer_args {
    trl__lua *e;
    const char *setup, *stmt;
    unsigned long long loops;
    int clock;
    double seconds;
    timer *t;
    int rc;
} timer_args;

/* `return function(n, clock) <setup> local t0 = clock() for i = 1, n do
 * do <body> end end return clock() - t0 end`, as Python's timeit
 * template: setup runs before every run, untimed, and its locals are the
 * loop's; the body is a block of its own, so its locals are fresh each
 * loop; the loop's names are ones user code does not use (not `_`, which
 * holds the last result). No newline but after setup (a comment may end
 * it), so the body keeps its line numbers: line 1 for %timeit, line 2 on
 * for %%timeit, whose setup is line 1. */
static int load_loop(lua_State *L, const char *setup, const char *body,
                     const char *name)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "return function(trellis_loops_, trellis_clock_) ");
    luaL_addstring(&b, setup);
    if (*setup)
        luaL_addchar(&b, '\n');
    luaL_addstring(&b, " local trellis_t0_ = trellis_clock_() "
                       "for trellis_loop_ = 1, trellis_loops_ do do ");
    luaL_addstring(&b, body);
    luaL_addstring(&b, "\nend end return trellis_clock_() - trellis_t0_ "
                       "end");
    luaL_pushresult(&b);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    int st = luaL_loadbuffer(L, s, n, name);
    lua_remove(L, -2);
    return st;
}

/* The clock the timer reads, the kind of trl_timing_clock in upvalue 1. */
static int read_clock(lua_State *L)
{
    int kind = (int)lua_tointeger(L, lua_upvalueindex(1));
    lua_pushnumber(L, trl_timing_now((trl_timing_clock)kind));
    return 1;
}

static int timer_new_main(lua_State *L)
{
    timer_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    char name[48];
    snprintf(name, sizeof name, "=In [%d]",
             trl_ctx_execution_count(a->e->ctx));
    /* a statement as it is; else an expression (`x + 1` is not a Lua
     * statement, but IPython times expressions too) */
    int st = load_loop(L, a->setup, a->stmt, name);
    if (st == LUA_ERRSYNTAX) {
        size_t len = strlen(a->stmt) + 32;
        char *expr = malloc(len);
        if (!expr)
            return luaL_error(L, "out of memory");
        snprintf(expr, len, "local _ = (%s)", a->stmt);
        int st2 = load_loop(L, a->setup, expr, name);
        free(expr);
        if (st2 == LUA_OK) {
            lua_remove(L, -2);  /* the statement's syntax error */
            st = LUA_OK;
        } else {
            lua_pop(L, 1);  /* report the statement's own error */
        }
    }
    if (st != LUA_OK) {
        trl__lua_report(a->e, st, st == LUA_ERRSYNTAX ? "SyntaxError" : NULL);
        a->rc = TRL_EINVAL;
        return 0;
    }
    /* the chunk returns the loop; nothing of the user's runs yet */
    lua_call(L, 0, 1);
    a->t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushinteger(L, a->clock);
    lua_pushcclosure(L, read_clock, 1);
    a->t->clock = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int trl__lua_timer_new(trl_engine *self, const char *setup,
                       const char *stmt, int clock, trl_exec_ctx *ctx,
                       void **timer_out)
{
    trl__lua *e = (trl__lua *)self;
    *timer_out = NULL;
    timer *t = malloc(sizeof *t);
    if (!t) {
        trl_ctx_fail(ctx, "MemoryError", "out of memory", NULL);
        return TRL_ENOMEM;
    }
    t->ref = t->clock = LUA_NOREF;
    timer_args a = {e, setup ? setup : "", stmt, 0, clock, 0, t, 0};
    int rc = trl__lua_exec(e, ctx, timer_new_main, &a);
    if (rc == 0)
        rc = a.rc;
    if (rc != 0) {
        trl__lua_timer_free(self, t);
        return rc;
    }
    *timer_out = t;
    return 0;
}

static int timer_run_main(lua_State *L)
{
    timer_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->t->ref);
    lua_pushinteger(L, (lua_Integer)a->loops);
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->t->clock);
    if (trl__lua_call_user(a->e, 2, 1) != LUA_OK)
        a->rc = trl_ctx_interrupted(a->e->ctx) ? TRL_EINTR : TRL_EINVAL;
    else
        a->seconds = lua_tonumber(L, -1);
    return 0;
}

int trl__lua_timer_run(trl_engine *self, void *handle,
                       unsigned long long loops, double *seconds,
                       trl_exec_ctx *ctx)
{
    trl__lua *e = (trl__lua *)self;
    if (loops > (unsigned long long)LUA_MAXINTEGER) {
        trl_ctx_fail(ctx, "UsageError", "too many loops for Lua's integers",
                     NULL);
        return TRL_EINVAL;
    }
    timer_args a = {e, NULL, NULL, loops, 0, 0, handle, 0};
    int rc = trl__lua_exec(e, ctx, timer_run_main, &a);
    if (rc == 0)
        rc = a.rc;
    *seconds = a.seconds;
    return rc;
}

void trl__lua_timer_free(trl_engine *self, void *handle)
{
    timer *t = handle;
    if (!t)
        return;
    luaL_unref(((trl__lua *)self)->L, LUA_REGISTRYINDEX, t->ref);
    luaL_unref(((trl__lua *)self)->L, LUA_REGISTRYINDEX, t->clock);
    free(t);
}

static int set_last_main(lua_State *L)
{
    const json_t *v = lua_touserdata(L, 1);
    lua_pushglobaltable(L);
    lua_pushliteral(L, "_");
    trl__lua_push_json(L, v);
    lua_rawset(L, -3);  /* raw, as the cell's own `_` */
    return 0;
}

int trl__lua_set_last(trl_engine *self, const json_t *value)
{
    lua_State *L = ((trl__lua *)self)->L;
    return trl__lua_protect(L, set_last_main, (void *)value) == LUA_OK
               ? 0
               : TRL_ENOMEM;
}
