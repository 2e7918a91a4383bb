/* lua_features_int.h - private: what the Lua bindings of columns
 * (lua_column.c), frames (lua_frame.c) and the features library
 * (lua_features.c) share. */
#ifndef TRELLIS_ENGINES_LUA_FEATURES_INT_H
#define TRELLIS_ENGINES_LUA_FEATURES_INT_H

#include <lua.h>
#include <jansson.h>

#include "trellis/registry.h"

#define FRAME_MT "trellis.frame"
#define COLUMN_MT "trellis.column"

typedef struct lframe {
    trl_frame *f;  /* a reference; NULL until the box is filled */
} lframe;

typedef struct lcolumn {
    trl_column *c; /* a reference; NULL until the box is filled */
} lcolumn;

/* Raises err as a Lua error (TRL_EINTR as KeyboardInterrupt). */
int trl__lf_fail(lua_State *L, const trl_error *err);

/* Boxes are pushed before the C object they will own, so a Lua error can
 * never leak the object: once in a box, the garbage collector frees it. */
lframe *trl__lf_new_frame_box(lua_State *L);
lcolumn *trl__lf_new_column_box(lua_State *L);
/* Pushes a frame box and returns its stack index. */
int trl__lf_push_box(lua_State *L);
/* Gives g to the frame box at index box and pushes the box. */
int trl__lf_finish(lua_State *L, int box, trl_frame *g);
/* Sets the expression text of the column box at index box. */
void trl__lf_set_expr(lua_State *L, int box, const char *expr);
/* Pushes a column value owning c (stolen) with expression expr. */
void trl__lf_push_column(lua_State *L, trl_column *c, const char *expr);
/* Pushes s as a quoted Lua string literal. */
void trl__lf_push_quoted(lua_State *L, const char *s, size_t n);

trl_frame *trl__lf_check_frame(lua_State *L, int i);
trl_column *trl__lf_check_column(lua_State *L, int i);
/* The column at i, or NULL when it is another value. */
trl_column *trl__lf_to_column(lua_State *L, int i);
/* The expression text of the value at i (replaces a non-column argument
 * at i by its text so the result stays anchored). */
const char *trl__lf_expr_of(lua_State *L, int i);
/* Pushes row i of c as a Lua value (nil when missing). */
void trl__lf_push_value(lua_State *L, const trl_column *c, size_t i);
/* A new column of n rows from a column, a scalar (broadcast) or a Lua
 * sequence ((size_t)-1: any length). NULL with err set on failure. */
trl_column *trl__lf_column_from(lua_State *L, int i, size_t n,
                                trl_error *err);

int trl__lf_col_and(lua_State *L);
int trl__lf_col_or(lua_State *L);
int trl__lf_col_not(lua_State *L);
int trl__lf_frame_columns(lua_State *L);
int trl__lf_frame_newindex(lua_State *L);

void trl__lf_open_column(lua_State *L);
void trl__lf_open_frame(lua_State *L);

#endif
