/* lua_int.h - private: the Lua engine's state, shared by its files. */
#ifndef TRELLIS_ENGINES_LUA_INT_H
#define TRELLIS_ENGINES_LUA_INT_H

#include <lua.h>

#include "trellis/engine.h"

typedef struct trl__lua {
    trl_engine base;        /* first: the engine interface */
    lua_State *L;
    trl_exec_ctx *ctx;      /* the running cell, NULL between cells */
    size_t mem_used;        /* bytes the Lua allocator holds */
    size_t mem_limit;       /* bytes; 0 = no limit */
    int hooked;             /* the interrupt hook is installed */
} trl__lua;

/* Returns the engine that owns L (stored in the registry). */
trl__lua *trl__lua_of(lua_State *L);

/* Returns a new MIME bundle for the value at idx: text/plain always,
 * text/html for tabular tables and values with __repr_html, image/svg+xml
 * for __repr_svg. Never raises: a failing metamethod is shown as text. */
json_t *trl__lua_repr(lua_State *L, int idx);

/* The text/plain repr of the value at idx, pushed as a string. */
void trl__lua_repr_text(lua_State *L, int idx);

int trl__lua_complete(trl_engine *self, const char *code, size_t cursor,
                      trl_completion *out);
int trl__lua_inspect(trl_engine *self, const char *code, size_t cursor,
                     int detail, json_t **data_out);

/* Installs print, io.write/read, io.stdout/io.stderr, display,
 * clear_output, input and the os.exit guard. */
void trl__lua_open_kernel_lib(lua_State *L);

#endif
