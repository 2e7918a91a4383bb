/* lua_features.c - frames and columns as Lua values, and the `features`
 * library over the registry. Columns carry the expression that built them,
 * which becomes the lineage of the frames they are stored in. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engines/lua/lua_int.h"
#include "trellis/registry.h"

#define FRAME_MT "trellis.frame"
#define COLUMN_MT "trellis.column"

typedef struct lframe {
    trl_frame *f;  /* a reference */
} lframe;

typedef struct lcolumn {
    trl_column *c; /* a reference */
} lcolumn;

/* ---- errors ----------------------------------------------------------------- */

static int fail_with(lua_State *L, const trl_error *err)
{
    if (err->code == TRL_EINTR)
        return trl__lua_raise_interrupt(L);
    return luaL_error(L, "%s", err->message);
}

/* ---- wrapping ----------------------------------------------------------------- */

/* Pushes an empty frame value. Made before the C object it will own, so a
 * Lua error (out of memory) can never leak that object: once the box
 * holds it, the garbage collector frees it. */
static lframe *new_frame_box(lua_State *L)
{
    lframe *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->f = NULL;
    luaL_setmetatable(L, FRAME_MT);
    return u;
}

/* Pushes an empty column value; its uservalue will hold the expression. */
static lcolumn *new_column_box(lua_State *L)
{
    lcolumn *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->c = NULL;
    luaL_setmetatable(L, COLUMN_MT);
    return u;
}

/* Sets the expression of the column box at index box. */
static void set_expr(lua_State *L, int box, const char *expr)
{
    box = lua_absindex(L, box);
    lua_pushstring(L, expr ? expr : "?");
    lua_setiuservalue(L, box, 1);
}

/* Pushes a column value owning c with expression expr. */
static void push_column(lua_State *L, trl_column *c, const char *expr)
{
    lcolumn *u = new_column_box(L);
    u->c = c;
    set_expr(L, -1, expr);
}

/* Pushes s as a Lua-quoted string literal ("a\"b"). */
static void push_quoted(lua_State *L, const char *s, size_t n)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '"');
    for (size_t i = 0; i < n && i < 200; i++) {
        if (s[i] == '"' || s[i] == '\\')
            luaL_addchar(&b, '\\');
        if (s[i] == '\n')
            luaL_addstring(&b, "\\n");
        else
            luaL_addchar(&b, s[i]);
    }
    if (n > 200)
        luaL_addstring(&b, "...");
    luaL_addchar(&b, '"');
    luaL_pushresult(&b);
}

static trl_frame *check_frame(lua_State *L, int i)
{
    return ((lframe *)luaL_checkudata(L, i, FRAME_MT))->f;
}

static trl_column *check_column(lua_State *L, int i)
{
    return ((lcolumn *)luaL_checkudata(L, i, COLUMN_MT))->c;
}

static trl_column *to_column(lua_State *L, int i)
{
    lcolumn *u = luaL_testudata(L, i, COLUMN_MT);
    return u ? u->c : NULL;
}

/* The expression text of the value at i (a column's, or a literal). */
static const char *expr_of(lua_State *L, int i)
{
    i = lua_absindex(L, i);
    if (luaL_testudata(L, i, COLUMN_MT)) {
        lua_getiuservalue(L, i, 1);
        const char *s = lua_tostring(L, -1);
        lua_pop(L, 1);  /* still anchored by the uservalue */
        return s ? s : "?";
    }
    if (lua_type(L, i) == LUA_TSTRING) {
        push_quoted(L, lua_tostring(L, i), lua_rawlen(L, i));
        lua_replace(L, i);
        return lua_tostring(L, i);
    }
    luaL_tolstring(L, i, NULL);
    lua_replace(L, i);  /* anchored where the argument was */
    return lua_tostring(L, i);
}

/* ---- columns ----------------------------------------------------------------- */

static int col_gc(lua_State *L)
{
    lcolumn *u = luaL_checkudata(L, 1, COLUMN_MT);
    trl_column_decref(u->c);
    u->c = NULL;
    return 0;
}

/* a op b where either may be a number (or, for == and ~=, a string). */
static int binop(lua_State *L, trl_binop op, const char *sym)
{
    lua_settop(L, 2);
    trl_column *a = to_column(L, 1), *b = to_column(L, 2);
    trl_error err = {0};
    trl_column *out;
    lcolumn *box = new_column_box(L);
    if (a && b)
        out = trl_column_binop(op, a, b, &err);
    else if (a && lua_type(L, 2) == LUA_TSTRING)
        out = trl_column_cmp_str(op, a, lua_tostring(L, 2),
                                 lua_rawlen(L, 2), &err);
    else if (a && lua_isnumber(L, 2))
        out = trl_column_binop_scalar(op, a, lua_tonumber(L, 2), 0, &err);
    else if (b && lua_isnumber(L, 1))
        out = trl_column_binop_scalar(op, b, lua_tonumber(L, 1), 1, &err);
    else
        return luaL_error(L, "'%s' needs a column and a column or number "
                          "(got %s and %s)", sym, luaL_typename(L, 1),
                          luaL_typename(L, 2));
    if (!out)
        return fail_with(L, &err);
    box->c = out;
    const char *x = expr_of(L, 1), *y = expr_of(L, 2);
    lua_pushfstring(L, "(%s %s %s)", x, sym, y);
    set_expr(L, 3, lua_tostring(L, -1));
    lua_settop(L, 3);
    return 1;
}

static int col_add(lua_State *L) { return binop(L, TRL_OP_ADD, "+"); }
static int col_sub(lua_State *L) { return binop(L, TRL_OP_SUB, "-"); }
static int col_mul(lua_State *L) { return binop(L, TRL_OP_MUL, "*"); }
static int col_div(lua_State *L) { return binop(L, TRL_OP_DIV, "/"); }
static int col_pow(lua_State *L) { return binop(L, TRL_OP_POW, "^"); }
static int col_mod(lua_State *L) { return binop(L, TRL_OP_MOD, "%"); }
/* Lua turns the results of __eq/__lt/__le into booleans, so comparisons
 * that give a column are methods: col:gt(3), col:eq("a"). */
static int col_eq(lua_State *L) { return binop(L, TRL_OP_EQ, "=="); }
static int col_ne(lua_State *L) { return binop(L, TRL_OP_NE, "~="); }
static int col_lt(lua_State *L) { return binop(L, TRL_OP_LT, "<"); }
static int col_le(lua_State *L) { return binop(L, TRL_OP_LE, "<="); }
static int col_gt(lua_State *L) { return binop(L, TRL_OP_GT, ">"); }
static int col_ge(lua_State *L) { return binop(L, TRL_OP_GE, ">="); }
static int col_and(lua_State *L) { return binop(L, TRL_OP_AND, "and"); }
static int col_or(lua_State *L) { return binop(L, TRL_OP_OR, "or"); }

static int unop(lua_State *L, trl_unop op, const char *name)
{
    trl_error err = {0};
    lua_settop(L, 1);
    trl_column *in = check_column(L, 1);
    lcolumn *box = new_column_box(L);
    if (!(box->c = trl_column_unop(op, in, &err)))
        return fail_with(L, &err);
    const char *x = expr_of(L, 1);
    if (op == TRL_FN_NEG)
        lua_pushfstring(L, "(-%s)", x);
    else
        lua_pushfstring(L, "%s(%s)", name, x);
    set_expr(L, 2, lua_tostring(L, -1));
    lua_settop(L, 2);
    return 1;
}

static int col_unm(lua_State *L) { return unop(L, TRL_FN_NEG, "-"); }
static int col_log(lua_State *L) { return unop(L, TRL_FN_LOG, "log"); }
static int col_exp(lua_State *L) { return unop(L, TRL_FN_EXP, "exp"); }
static int col_sqrt(lua_State *L) { return unop(L, TRL_FN_SQRT, "sqrt"); }
static int col_abs(lua_State *L) { return unop(L, TRL_FN_ABS, "abs"); }
static int col_not(lua_State *L) { return unop(L, TRL_FN_NOT, "not"); }

static int col_clip(lua_State *L)
{
    trl_column *c = check_column(L, 1);
    double lo = luaL_optnumber(L, 2, -HUGE_VAL);
    double hi = luaL_optnumber(L, 3, HUGE_VAL);
    trl_error err = {0};
    lua_settop(L, 3);
    lcolumn *box = new_column_box(L);
    if (!(box->c = trl_column_clip(c, lo, hi, &err)))
        return fail_with(L, &err);
    lua_pushfstring(L, "clip(%s, %f, %f)", expr_of(L, 1), lo, hi);
    set_expr(L, 4, lua_tostring(L, -1));
    lua_settop(L, 4);
    return 1;
}

static int col_fill(lua_State *L)
{
    trl_column *c = check_column(L, 1);
    double v = luaL_checknumber(L, 2);
    trl_error err = {0};
    lua_settop(L, 2);
    lcolumn *box = new_column_box(L);
    if (!(box->c = trl_column_fill_missing(c, v, &err)))
        return fail_with(L, &err);
    lua_pushfstring(L, "fill_missing(%s, %f)", expr_of(L, 1), v);
    set_expr(L, 3, lua_tostring(L, -1));
    lua_settop(L, 3);
    return 1;
}

static void push_value(lua_State *L, const trl_column *c, size_t i)
{
    if (trl_column_is_missing(c, i)) {
        lua_pushnil(L);
        return;
    }
    switch (c->type) {
    case TRL_F64: lua_pushnumber(L, c->v.f64[i]); break;
    case TRL_I64: lua_pushinteger(L, c->v.i64[i]); break;
    case TRL_BOOL: lua_pushboolean(L, c->v.b[i]); break;
    case TRL_STR: {
        int32_t code = c->v.codes[i];
        lua_pushlstring(L, c->dict->strs[code], c->dict->lens[code]);
        break;
    }
    }
}

static int stats_field(lua_State *L, const char *field)
{
    trl_column *c = check_column(L, 1);
    trl_stats st;
    trl_error err = {0};
    if (trl_column_stats(c, &st, &err) != 0)
        return fail_with(L, &err);
    if (!strcmp(field, "count")) lua_pushinteger(L, (lua_Integer)st.count);
    else if (!strcmp(field, "n_missing")) lua_pushinteger(L, (lua_Integer)st.n_missing);
    else if (!strcmp(field, "n_unique")) lua_pushinteger(L, (lua_Integer)st.n_unique);
    else if (!strcmp(field, "sum")) lua_pushnumber(L, st.sum);
    else if (!strcmp(field, "mean")) lua_pushnumber(L, st.mean);
    else if (!strcmp(field, "std")) lua_pushnumber(L, st.std);
    else if (!strcmp(field, "min")) lua_pushnumber(L, st.min);
    else lua_pushnumber(L, st.max);
    return 1;
}

static int col_count(lua_State *L) { return stats_field(L, "count"); }
static int col_n_missing(lua_State *L) { return stats_field(L, "n_missing"); }
static int col_n_unique(lua_State *L) { return stats_field(L, "n_unique"); }
static int col_sum(lua_State *L) { return stats_field(L, "sum"); }
static int col_mean(lua_State *L) { return stats_field(L, "mean"); }
static int col_std(lua_State *L) { return stats_field(L, "std"); }
static int col_min(lua_State *L) { return stats_field(L, "min"); }
static int col_max(lua_State *L) { return stats_field(L, "max"); }

static int col_quantile(lua_State *L)
{
    trl_column *c = check_column(L, 1);
    double q = luaL_checknumber(L, 2), v;
    trl_error err = {0};
    if (trl_column_quantile(c, q, &v, &err) != 0)
        return fail_with(L, &err);
    lua_pushnumber(L, v);
    return 1;
}

static int col_totable(lua_State *L)
{
    trl_column *c = check_column(L, 1);
    lua_createtable(L, (int)(c->len < INT32_MAX ? c->len : 0), 0);
    for (size_t i = 0; i < c->len; i++) {
        push_value(L, c, i);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int col_dtype(lua_State *L)
{
    lua_pushstring(L, trl_dtype_name(check_column(L, 1)->type));
    return 1;
}

static int col_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)check_column(L, 1)->len);
    return 1;
}

static const luaL_Reg col_methods[] = {
    {"eq", col_eq}, {"ne", col_ne}, {"lt", col_lt}, {"le", col_le},
    {"gt", col_gt}, {"ge", col_ge}, {"and_", col_and}, {"or_", col_or},
    {"not_", col_not}, {"log", col_log}, {"exp", col_exp},
    {"sqrt", col_sqrt}, {"abs", col_abs}, {"clip", col_clip},
    {"fill_missing", col_fill}, {"sum", col_sum}, {"mean", col_mean},
    {"std", col_std}, {"min", col_min}, {"max", col_max},
    {"count", col_count}, {"n_missing", col_n_missing},
    {"n_unique", col_n_unique}, {"quantile", col_quantile},
    {"totable", col_totable}, {"dtype", col_dtype}, {NULL, NULL}};

/* col[i] (1-based) or a method. */
static int col_index(lua_State *L)
{
    trl_column *c = check_column(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer i = luaL_checkinteger(L, 2);
        if (i < 1 || (size_t)i > c->len)
            lua_pushnil(L);
        else
            push_value(L, c, (size_t)i - 1);
        return 1;
    }
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int col_tostring(lua_State *L)
{
    trl_column *c = check_column(L, 1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "column %s [%d rows]: ", trl_dtype_name(c->type),
                    (int)c->len);
    luaL_addvalue(&b);
    size_t shown = c->len < 10 ? c->len : 10;
    for (size_t i = 0; i < shown; i++) {
        push_value(L, c, i);
        if (lua_type(L, -1) == LUA_TSTRING) {
            push_quoted(L, lua_tostring(L, -1), lua_rawlen(L, -1));
            lua_remove(L, -2);
        } else {
            luaL_tolstring(L, -1, NULL);
            lua_remove(L, -2);
        }
        luaL_addvalue(&b);
        if (i + 1 < c->len)
            luaL_addstring(&b, ", ");
    }
    if (shown < c->len)
        luaL_addstring(&b, "...");
    luaL_pushresult(&b);
    return 1;
}

/* ---- building columns from Lua values ------------------------------------ */

/* A column of n rows from the value at i: a column (borrowed + incref),
 * a number or boolean or string broadcast, or a Lua sequence of n values. */
static trl_column *column_from(lua_State *L, int i, size_t n, trl_error *err)
{
    trl_column *c = to_column(L, i);
    if (c) {
        trl_column_incref(c);
        return c;
    }
    int t = lua_type(L, i);
    if (t == LUA_TNUMBER) {
        int is_int = lua_isinteger(L, i);
        c = trl_column_new(is_int ? TRL_I64 : TRL_F64, n, NULL);
        if (!c)
            goto oom;
        for (size_t k = 0; k < n; k++) {
            if (is_int)
                c->v.i64[k] = lua_tointeger(L, i);
            else
                c->v.f64[k] = lua_tonumber(L, i);
        }
        return c;
    }
    if (t == LUA_TBOOLEAN) {
        if (!(c = trl_column_new(TRL_BOOL, n, NULL)))
            goto oom;
        memset(c->v.b, lua_toboolean(L, i), n);
        return c;
    }
    if (t == LUA_TSTRING) {
        if (!(c = trl_column_new(TRL_STR, n, NULL)))
            goto oom;
        int32_t code = trl_strdict_intern(c->dict, lua_tostring(L, i),
                                          lua_rawlen(L, i));
        for (size_t k = 0; k < n; k++)
            c->v.codes[k] = code;
        return c;
    }
    if (t == LUA_TTABLE) {
        size_t len = lua_rawlen(L, i);
        if (n != (size_t)-1 && len != n) {
            trl_error_set(err, TRL_EINVAL, "the table has %zu values, the "
                          "frame has %zu rows", len, n);
            return NULL;
        }
        /* the type of the first non-nil value decides */
        int kind = LUA_TNIL, ints = 1;
        for (size_t k = 1; k <= len; k++) {
            int vt = lua_rawgeti(L, i, (lua_Integer)k);
            if (vt != LUA_TNIL && kind == LUA_TNIL)
                kind = vt;
            if (vt == LUA_TNUMBER && !lua_isinteger(L, -1))
                ints = 0;
            lua_pop(L, 1);
        }
        trl_dtype type = kind == LUA_TSTRING    ? TRL_STR
                         : kind == LUA_TBOOLEAN ? TRL_BOOL
                         : ints && kind == LUA_TNUMBER ? TRL_I64
                                                       : TRL_F64;
        if (!(c = trl_column_new(type, len, NULL)))
            goto oom;
        for (size_t k = 0; k < len; k++) {
            int vt = lua_rawgeti(L, i, (lua_Integer)k + 1);
            int ok = vt == LUA_TNIL ||
                     (type == TRL_STR && vt == LUA_TSTRING) ||
                     (type == TRL_BOOL && vt == LUA_TBOOLEAN) ||
                     ((type == TRL_F64 || type == TRL_I64) &&
                      vt == LUA_TNUMBER);
            if (!ok) {
                lua_pop(L, 1);
                trl_column_decref(c);
                trl_error_set(err, TRL_EINVAL, "value %zu is a %s in a "
                              "column of %s", k + 1, lua_typename(L, vt),
                              trl_dtype_name(type));
                return NULL;
            }
            if (vt == LUA_TNIL) {
                if (type == TRL_F64)
                    c->v.f64[k] = NAN;
                else if (type == TRL_BOOL)
                    c->v.b[k] = TRL_BOOL_MISSING;
                else if (type == TRL_I64) {
                    if (!c->valid) {
                        if (!(c->valid = malloc(len))) {
                            lua_pop(L, 1);
                            trl_column_decref(c);
                            goto oom;
                        }
                        memset(c->valid, 1, len);
                    }
                    c->valid[k] = 0;
                }
            } else if (type == TRL_STR) {
                c->v.codes[k] = trl_strdict_intern(c->dict,
                                                   lua_tostring(L, -1),
                                                   lua_rawlen(L, -1));
            } else if (type == TRL_BOOL) {
                c->v.b[k] = (uint8_t)lua_toboolean(L, -1);
            } else if (type == TRL_I64) {
                c->v.i64[k] = lua_tointeger(L, -1);
            } else {
                c->v.f64[k] = lua_tonumber(L, -1);
            }
            lua_pop(L, 1);
        }
        return c;
    }
    trl_error_set(err, TRL_EINVAL, "cannot make a column from a %s",
                  lua_typename(L, t));
    return NULL;
oom:
    trl_error_set(err, TRL_ENOMEM, "out of memory");
    return NULL;
}

/* ---- lineage ----------------------------------------------------------------- */

/* {"source": "derived", "parents": [...], "derivation": [step]}: parents are
 * registered refs ("churn@2"), or the parent's own lineage when it was never
 * registered. Steals step_new. */
static json_t *derived_lineage(const trl_frame *parent, json_t *step_new)
{
    json_t *p = parent->ref ? json_string(parent->ref)
                : parent->lineage ? json_deep_copy(parent->lineage)
                                  : json_pack("{s:s}", "source", "lua");
    return json_pack("{s:s, s:[o], s:[o]}", "source", "derived", "parents", p,
                     "derivation", step_new);
}

/* Appends a derivation step to f's (working) lineage. Steals step_new. */
static void add_step(trl_frame *f, json_t *step_new)
{
    if (!f->lineage)
        f->lineage = json_pack("{s:s}", "source", "lua");
    json_t *d = json_object_get(f->lineage, "derivation");
    if (!json_is_array(d)) {
        d = json_array();
        json_object_set_new(f->lineage, "derivation", d);
    }
    json_array_append_new(d, step_new);
}

/* ---- frames ---------------------------------------------------------------- */

static int frame_gc(lua_State *L)
{
    lframe *u = luaL_checkudata(L, 1, FRAME_MT);
    trl_frame_decref(u->f);
    u->f = NULL;
    return 0;
}

static int frame_index(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *key = lua_tostring(L, 2);
        trl_column *c = trl_frame_get(f, key);
        if (c) {
            trl_column_incref(c);
            push_column(L, c, key);
            return 1;
        }
    }
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    if (lua_isnil(L, -1) && lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L, "frame has no column or method '%s' (columns: "
                          "see frame:columns())", lua_tostring(L, 2));
    return 1;
}

/* f.x = column | number | string | boolean | {values} | nil (drop). */
static int frame_newindex(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    const char *name = luaL_checkstring(L, 2);
    trl_error err = {0};
    if (lua_isnil(L, 3)) {
        if (trl_frame_drop(f, name, &err) != 0)
            return fail_with(L, &err);
        add_step(f, json_pack("{s:s, s:s}", "op", "drop", "column", name));
        return 0;
    }
    if (lua_type(L, 3) == LUA_TTABLE && f->ncols == 0) {
        /* the first column of an empty frame sets the row count */
        trl_column *c = column_from(L, 3, (size_t)-1, &err);
        if (!c || trl_frame_set(f, name, c, &err) != 0) {
            trl_column_decref(c);
            return fail_with(L, &err);
        }
        trl_column_decref(c);
        add_step(f, json_pack("{s:s, s:s}", "column", name, "expr",
                              "(values)"));
        return 0;
    }
    if (f->ncols == 0 && !to_column(L, 3))
        return luaL_error(L, "an empty frame needs a column or a table of "
                          "values first, not a single %s",
                          luaL_typename(L, 3));
    size_t n = f->ncols ? f->nrows : to_column(L, 3)->len;
    trl_column *c = column_from(L, 3, n, &err);
    if (!c || trl_frame_set(f, name, c, &err) != 0) {
        trl_column_decref(c);
        return fail_with(L, &err);
    }
    trl_column_decref(c);
    const char *expr = lua_type(L, 3) == LUA_TTABLE ? "(values)"
                                                     : expr_of(L, 3);
    add_step(f, json_pack("{s:s, s:s}", "column", name, "expr", expr));
    return 0;
}

static int frame_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)check_frame(L, 1)->nrows);
    return 1;
}

static int frame_columns(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    lua_createtable(L, (int)f->ncols, 0);
    for (size_t i = 0; i < f->ncols; i++) {
        lua_pushstring(L, f->names[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int frame_dtypes(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    lua_createtable(L, 0, (int)f->ncols);
    for (size_t i = 0; i < f->ncols; i++) {
        lua_pushstring(L, trl_dtype_name(f->cols[i]->type));
        lua_setfield(L, -2, f->names[i]);
    }
    return 1;
}

static int frame_shape(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    lua_pushinteger(L, (lua_Integer)f->nrows);
    lua_pushinteger(L, (lua_Integer)f->ncols);
    return 2;
}

/* Pushes an empty frame box and returns its stack index: callers make the
 * box before the frame, so no Lua error can leak the frame. */
static int push_box(lua_State *L)
{
    new_frame_box(L);
    return lua_gettop(L);
}

/* Gives g to the box at index box and pushes the box. */
static int finish(lua_State *L, int box, trl_frame *g)
{
    ((lframe *)lua_touserdata(L, box))->f = g;
    lua_pushvalue(L, box);
    return 1;
}

/* Puts a frame made by an operation in its box, with derived lineage. */
static int push_derived(lua_State *L, int box, trl_frame *parent,
                        trl_frame *g, json_t *step_new, const trl_error *err)
{
    if (!g) {
        json_decref(step_new);
        return fail_with(L, err);
    }
    trl_frame_set_lineage(g, derived_lineage(parent, step_new));
    return finish(L, box, g);
}

static int frame_copy(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    int box = push_box(L);
    trl_frame *g = trl_frame_copy(f);
    trl_error err;
    trl_error_set(&err, TRL_ENOMEM, "out of memory");
    return push_derived(L, box, f, g, json_pack("{s:s}", "op", "copy"),
                        &err);
}

static int frame_select(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t n = lua_rawlen(L, 2);
    int box = push_box(L);
    const char **names = lua_newuserdatauv(L, (n ? n : 1) * sizeof *names, 0);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        /* only real strings: a converted number would not stay anchored */
        names[i] = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                  : NULL;
        if (!names[i])
            return luaL_error(L, "select: column names must be strings");
        lua_pop(L, 1);  /* anchored in the argument table */
    }
    json_t *cols = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(cols, json_string(names[i]));
    trl_error err = {0};
    trl_frame *g = trl_frame_select(f, names, n, &err);
    return push_derived(L, box, f, g,
                        json_pack("{s:s, s:o}", "op", "select", "columns",
                                  cols),
                        &err);
}

static int frame_filter(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    trl_column *mask = check_column(L, 2);
    lua_settop(L, 2);
    const char *mexpr = expr_of(L, 2);
    int box = push_box(L);
    trl_error err = {0};
    trl_frame *g = trl_frame_filter(f, mask, &err);
    return push_derived(L, box, f, g,
                        json_pack("{s:s, s:s}", "op", "filter", "mask",
                                  mexpr),
                        &err);
}

static int frame_head(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    lua_Integer n = luaL_optinteger(L, 2, 5);
    int box = push_box(L);
    trl_error err = {0};
    trl_frame *g = trl_frame_head(f, n < 0 ? 0 : (size_t)n, &err);
    return push_derived(L, box, f, g,
                        json_pack("{s:s, s:I}", "op", "head", "n",
                                  (json_int_t)n),
                        &err);
}

static int frame_sample(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    lua_Integer seed = luaL_optinteger(L, 3, 0);
    trl_error err = {0};
    if (n < 0)
        return luaL_error(L, "sample: n must be >= 0");
    int box = push_box(L);
    trl_frame *g = trl_frame_sample(f, (size_t)n, (uint64_t)seed, &err);
    return push_derived(L, box, f, g,
                        json_pack("{s:s, s:I, s:I}", "op", "sample", "n",
                                  (json_int_t)n, "seed", (json_int_t)seed),
                        &err);
}

/* f:split{0.8, 0.2, seed = 1} -> frames, one per fraction. */
static int frame_split(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t k = lua_rawlen(L, 2);
    if (k == 0 || k > 64)
        return luaL_error(L, "split needs 1 to 64 fractions, e.g. "
                          "f:split{0.8, 0.2, seed = 1}");
    double fr[64];
    for (size_t i = 0; i < k; i++) {
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        if (!lua_isnumber(L, -1))
            return luaL_error(L, "split: fraction %d is not a number",
                              (int)i + 1);
        fr[i] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    lua_getfield(L, 2, "seed");
    lua_Integer seed = luaL_optinteger(L, -1, 0);
    lua_pop(L, 1);
    luaL_checkstack(L, 2 * (int)k + 4, "too many parts");
    lua_settop(L, 2);
    for (size_t i = 0; i < k; i++)
        push_box(L);
    trl_frame *parts[64];
    trl_error err = {0};
    if (trl_frame_split(f, fr, k, (uint64_t)seed, parts, &err) != 0)
        return fail_with(L, &err);
    for (size_t i = 0; i < k; i++) {
        ((lframe *)lua_touserdata(L, 3 + (int)i))->f = parts[i];
        trl_frame_set_lineage(
            parts[i], derived_lineage(f, json_pack("{s:s, s:I, s:f, s:I}", "op",
                                                   "split", "part",
                                                   (json_int_t)i + 1,
                                                   "fraction", fr[i], "seed",
                                                   (json_int_t)seed)));
    }
    return (int)k;
}

static int frame_drop(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushnil(L);
    return frame_newindex(L);
}

static int frame_lineage(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    char *s = f->lineage ? json_dumps(f->lineage, JSON_COMPACT) : NULL;
    lua_pushstring(L, s ? s : "{}");
    free(s);
    return 1;
}

static int frame_ref(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    if (f->ref)
        lua_pushstring(L, f->ref);
    else
        lua_pushnil(L);
    return 1;
}

/* ---- display ---------------------------------------------------------------- */

#define SHOW_ALL 20  /* frames up to this many rows show whole */
#define SHOW_HEAD 10
#define SHOW_TAIL 5

/* Pushes the display text of row i of c. */
static void push_cell(lua_State *L, const trl_column *c, size_t i)
{
    if (trl_column_is_missing(c, i)) {
        lua_pushstring(L, c->type == TRL_F64 ? "NaN" : "<NA>");
        return;
    }
    switch (c->type) {
    case TRL_F64: {
        char buf[32];
        snprintf(buf, sizeof buf, "%.6g", c->v.f64[i]);
        lua_pushstring(L, buf);
        break;
    }
    case TRL_I64: lua_pushfstring(L, "%I", (lua_Integer)c->v.i64[i]); break;
    case TRL_BOOL: lua_pushstring(L, c->v.b[i] ? "true" : "false"); break;
    case TRL_STR: {
        int32_t code = c->v.codes[i];
        size_t n = c->dict->lens[code];
        if (n > 40) {
            lua_pushlstring(L, c->dict->strs[code], 37);
            lua_pushliteral(L, "...");
            lua_concat(L, 2);
        } else {
            lua_pushlstring(L, c->dict->strs[code], n);
        }
        break;
    }
    }
}

/* Row indices shown for a frame of n rows; SIZE_MAX marks the gap. */
static size_t shown_rows(size_t n, size_t *rows)
{
    size_t k = 0;
    if (n <= SHOW_ALL) {
        for (size_t i = 0; i < n; i++)
            rows[k++] = i;
        return k;
    }
    for (size_t i = 0; i < SHOW_HEAD; i++)
        rows[k++] = i;
    rows[k++] = SIZE_MAX;
    for (size_t i = n - SHOW_TAIL; i < n; i++)
        rows[k++] = i;
    return k;
}

static void add_escaped(lua_State *L, luaL_Buffer *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': luaL_addstring(b, "&amp;"); break;
        case '<': luaL_addstring(b, "&lt;"); break;
        case '>': luaL_addstring(b, "&gt;"); break;
        case '"': luaL_addstring(b, "&quot;"); break;
        default: luaL_addchar(b, *s);
        }
    }
    (void)L;
}

static int frame_html(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    size_t rows[SHOW_ALL + 1], k = shown_rows(f->nrows, rows);
    /* Cells are formatted first: luaL_Buffer forbids other stack use
     * between its calls. */
    lua_createtable(L, (int)(k * f->ncols), 0);
    int cells = lua_gettop(L);
    int idx = 0;
    for (size_t r = 0; r < k; r++)
        for (size_t c = 0; c < f->ncols; c++) {
            if (rows[r] == SIZE_MAX)
                lua_pushliteral(L, "...");
            else
                push_cell(L, f->cols[c], rows[r]);
            lua_rawseti(L, cells, ++idx);
        }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "<div><table class=\"dataframe\" border=\"1\">\n"
                       "<thead><tr style=\"text-align: right;\"><th></th>");
    for (size_t c = 0; c < f->ncols; c++) {
        luaL_addstring(&b, "<th>");
        add_escaped(L, &b, f->names[c]);
        luaL_addstring(&b, "<br><small>");
        luaL_addstring(&b, trl_dtype_name(f->cols[c]->type));
        luaL_addstring(&b, "</small></th>");
    }
    luaL_addstring(&b, "</tr></thead>\n<tbody>\n");
    idx = 0;
    for (size_t r = 0; r < k; r++) {
        char th[48];
        if (rows[r] == SIZE_MAX)
            snprintf(th, sizeof th, "<tr><th>...</th>");
        else
            snprintf(th, sizeof th, "<tr><th>%zu</th>", rows[r] + 1);
        luaL_addstring(&b, th);
        for (size_t c = 0; c < f->ncols; c++) {
            luaL_addstring(&b, "<td>");
            lua_rawgeti(L, cells, ++idx);
            const char *s = lua_tostring(L, -1);
            lua_pop(L, 1);  /* anchored in cells */
            add_escaped(L, &b, s);
            luaL_addstring(&b, "</td>");
        }
        luaL_addstring(&b, "</tr>\n");
    }
    char foot[128];
    snprintf(foot, sizeof foot, "</tbody>\n</table>\n<p>%zu rows × %zu "
             "columns%s</p></div>\n", f->nrows, f->ncols,
             f->ref ? "" : " (working copy)");
    luaL_addstring(&b, foot);
    if (f->ref) {
        luaL_addstring(&b, "<p><small>");
        add_escaped(L, &b, f->ref);
        luaL_addstring(&b, "</small></p>\n");
    }
    luaL_pushresult(&b);
    return 1;
}

static int frame_tostring(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    size_t rows[SHOW_ALL + 1], k = shown_rows(f->nrows, rows);
    size_t *w = lua_newuserdatauv(L, (f->ncols + 1) * sizeof *w, 0);
    lua_createtable(L, (int)((k + 2) * (f->ncols + 1)), 0);
    int cells = lua_gettop(L), idx = 0;
    /* header, dtypes, then rows; column 0 is the row number */
    for (size_t r = 0; r < k + 2; r++)
        for (size_t c = 0; c <= f->ncols; c++) {
            if (c == 0) {
                if (r < 2)
                    lua_pushliteral(L, "");
                else if (rows[r - 2] == SIZE_MAX)
                    lua_pushliteral(L, "...");
                else
                    lua_pushfstring(L, "%d", (int)rows[r - 2] + 1);
            } else if (r == 0) {
                lua_pushstring(L, f->names[c - 1]);
            } else if (r == 1) {
                lua_pushstring(L, trl_dtype_name(f->cols[c - 1]->type));
            } else if (rows[r - 2] == SIZE_MAX) {
                lua_pushliteral(L, "...");
            } else {
                push_cell(L, f->cols[c - 1], rows[r - 2]);
            }
            size_t len = lua_rawlen(L, -1);
            if (r == 0 || len > w[c])
                w[c] = len;
            lua_rawseti(L, cells, ++idx);
        }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    idx = 0;
    for (size_t r = 0; r < k + 2; r++) {
        for (size_t c = 0; c <= f->ncols; c++) {
            lua_rawgeti(L, cells, ++idx);
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            lua_pop(L, 1);
            for (size_t p = len; p < w[c]; p++)
                luaL_addchar(&b, ' ');
            luaL_addlstring(&b, s, len);
            if (c < f->ncols)
                luaL_addstring(&b, "  ");
        }
        luaL_addchar(&b, '\n');
    }
    lua_pushfstring(L, "[%d rows x %d columns]", (int)f->nrows,
                    (int)f->ncols);
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    return 1;
}

/* ---- describe and hist ------------------------------------------------------ */

static const char describe_cache_key = 'D';

/* f:describe() -> a frame with one row per column: dtype, count, missing,
 * mean, std, min, 25%, 50%, 75%, max, unique. Cached per registered
 * version (versions never change). */
static int frame_describe(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    if (f->ref) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &describe_cache_key);
        lua_getfield(L, -1, f->ref);
        if (!lua_isnil(L, -1))
            return 1;
        lua_pop(L, 2);
    }
    int box = push_box(L);
    static const char *names[] = {"column", "dtype", "count", "missing",
                                  "mean", "std", "min", "25%", "50%", "75%",
                                  "max", "unique"};
    enum { NSTAT = 12 };
    size_t n = f->ncols;
    trl_column *cols[NSTAT];
    static const trl_dtype types[NSTAT] = {
        TRL_STR, TRL_STR, TRL_I64, TRL_I64, TRL_F64, TRL_F64, TRL_F64,
        TRL_F64, TRL_F64, TRL_F64, TRL_F64, TRL_I64};
    int ok = 1;
    for (int s = 0; s < NSTAT; s++)
        ok &= (cols[s] = trl_column_new(types[s], n, NULL)) != NULL;
    trl_error err = {0};
    if (!ok)
        trl_error_set(&err, TRL_ENOMEM, "out of memory");
    static const double qs[3] = {0.25, 0.5, 0.75};
    for (size_t i = 0; ok && i < n; i++) {
        trl_column *c = f->cols[i];
        trl_stats st;
        if (trl_column_stats(c, &st, &err) != 0) {
            ok = 0;
            break;
        }
        cols[0]->v.codes[i] = trl_strdict_intern(cols[0]->dict, f->names[i],
                                                 strlen(f->names[i]));
        const char *dt = trl_dtype_name(c->type);
        cols[1]->v.codes[i] = trl_strdict_intern(cols[1]->dict, dt,
                                                 strlen(dt));
        cols[2]->v.i64[i] = (int64_t)st.count;
        cols[3]->v.i64[i] = (int64_t)st.n_missing;
        cols[4]->v.f64[i] = st.mean;
        cols[5]->v.f64[i] = st.std;
        cols[6]->v.f64[i] = st.min;
        for (int q = 0; q < 3; q++) {
            double v = NAN;
            if (c->type != TRL_STR &&
                trl_column_quantile(c, qs[q], &v, &err) != 0) {
                ok = 0;
                break;
            }
            cols[7 + q]->v.f64[i] = v;
        }
        cols[10]->v.f64[i] = st.max;
        cols[11]->v.i64[i] = (int64_t)st.n_unique;
    }
    trl_frame *g = ok ? trl_frame_new() : NULL;
    for (int s = 0; g && s < NSTAT; s++)
        if (trl_frame_set(g, names[s], cols[s], &err) != 0) {
            trl_frame_decref(g);
            g = NULL;
        }
    for (int s = 0; s < NSTAT; s++)
        trl_column_decref(cols[s]);
    if (!g) {
        if (!err.code)
            trl_error_set(&err, TRL_ENOMEM, "out of memory");
        return fail_with(L, &err);
    }
    trl_frame_set_lineage(g, derived_lineage(f, json_pack("{s:s}", "op",
                                                          "describe")));
    finish(L, box, g);
    if (f->ref) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &describe_cache_key);
        lua_pushvalue(L, -2);
        lua_setfield(L, -2, f->ref);
        lua_pop(L, 1);
    }
    return 1;
}

/* f:hist("col" [, bins]) -> a value that displays as an SVG histogram. */
static int frame_hist(lua_State *L)
{
    trl_frame *f = check_frame(L, 1);
    const char *name = luaL_checkstring(L, 2);
    lua_Integer bins = luaL_optinteger(L, 3, 20);
    trl_column *c = trl_frame_get(f, name);
    if (!c)
        return luaL_error(L, "hist: no column '%s'", name);
    if (c->type == TRL_STR)
        return luaL_error(L, "hist: '%s' is a str column; histograms need "
                          "numbers", name);
    if (bins < 1 || bins > 200)
        return luaL_error(L, "hist: bins must be 1..200");
    trl_stats st;
    trl_error err = {0};
    if (trl_column_stats(c, &st, &err) != 0)
        return fail_with(L, &err);
    size_t counts[200] = {0}, top = 1;
    double lo = st.min, hi = st.max, span = hi - lo;
    if (!isfinite(lo) || !isfinite(hi))
        return luaL_error(L, "hist: '%s' has infinite values; clip them "
                          "first", name);
    if (!(span > 0))
        span = 1;
    for (size_t i = 0; i < c->len; i++) {
        double v = trl_column_get_f64(c, i);
        if (!isfinite(v))
            continue;
        double pos = (v - lo) / span * (double)bins;
        size_t k = pos > 0 ? (size_t)pos : 0;
        if (k >= (size_t)bins)
            k = (size_t)bins - 1;  /* the maximum falls in the last bin */
        if (++counts[k] > top)
            top = counts[k];
    }
    const double W = 360, H = 160, pad = 24;
    double bw = (W - 2 * pad) / (double)bins;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char buf[256];
    snprintf(buf, sizeof buf,
             "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" "
             "height=\"%g\" viewBox=\"0 0 %g %g\" font-family=\"sans-serif\" "
             "font-size=\"10\">", W, H + 20, W, H + 20);
    luaL_addstring(&b, buf);
    for (lua_Integer k = 0; k < bins; k++) {
        double h = (H - 2 * pad) * (double)counts[k] / (double)top;
        snprintf(buf, sizeof buf,
                 "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                 "fill=\"#4c78a8\"><title>%zu</title></rect>",
                 pad + (double)k * bw, H - pad - h, bw > 1 ? bw - 1 : bw, h,
                 counts[k]);
        luaL_addstring(&b, buf);
    }
    snprintf(buf, sizeof buf,
             "<text x=\"%g\" y=\"%g\">%.4g</text><text x=\"%g\" y=\"%g\" "
             "text-anchor=\"end\">%.4g</text>",
             pad, H - pad + 14, lo, W - pad, H - pad + 14, hi);
    luaL_addstring(&b, buf);
    luaL_addstring(&b, "<text x=\"24\" y=\"14\">");
    add_escaped(L, &b, name);
    snprintf(buf, sizeof buf, " (n=%zu, missing=%zu)</text></svg>",
             st.count, st.n_missing);
    luaL_addstring(&b, buf);
    luaL_pushresult(&b);
    /* {svg = ...} with a metatable that displays it */
    lua_createtable(L, 0, 1);
    lua_insert(L, -2);
    lua_setfield(L, -2, "svg");
    luaL_getmetatable(L, "trellis.svg");
    lua_setmetatable(L, -2);
    return 1;
}

static int svg_repr(lua_State *L)
{
    lua_getfield(L, 1, "svg");
    return 1;
}

static int svg_tostring(lua_State *L)
{
    lua_pushliteral(L, "<histogram: SVG>");
    (void)L;
    return 1;
}

/* ---- the features library ------------------------------------------------- */

static trl_registry *registry_of(lua_State *L)
{
    trl_registry *r = trl__lua_of(L)->registry;
    if (!r)
        luaL_error(L, "the feature registry is not available (see the "
                      "kernel log; TRELLIS_REGISTRY sets its file)");
    return r;
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
    int box = push_box(L);
    trl_error err = {0};
    trl_frame *f = trl_csv_read(path, &o, &err);
    json_decref(types);
    if (!f)
        return fail_with(L, &err);
    return finish(L, box, f);
}

/* features.register(name, frame) -> "name@N" */
static int f_register(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    trl_frame *f = check_frame(L, 2);
    int version;
    trl_error err = {0};
    if (trl_registry_register(registry_of(L), name, f, &version, &err) != 0)
        return fail_with(L, &err);
    lua_pushfstring(L, "%s@%d", name, version);
    return 1;
}

/* features.get("name" | "name@N") -> a working copy of that version. */
static int f_get(lua_State *L)
{
    const char *spec = luaL_checkstring(L, 1);
    trl_registry *r = registry_of(L);
    int box = push_box(L);
    trl_error err = {0};
    trl_frame *v = trl_registry_get(r, spec, &err);
    if (!v)
        return fail_with(L, &err);
    trl_frame *g = trl_frame_copy(v);
    if (!g) {
        trl_frame_decref(v);
        return luaL_error(L, "out of memory");
    }
    json_t *lin = json_pack("{s:s, s:[s], s:[]}", "source", "derived",
                            "parents", v->ref ? v->ref : spec, "derivation");
    trl_frame_set_lineage(g, lin);
    trl_frame_decref(v);
    return finish(L, box, g);
}

/* features.version("name@N") -> the frozen version itself (read-only). */
static int f_version(lua_State *L)
{
    const char *spec = luaL_checkstring(L, 1);
    trl_registry *r = registry_of(L);
    int box = push_box(L);
    trl_error err = {0};
    trl_frame *v = trl_registry_get(r, spec, &err);
    if (!v)
        return fail_with(L, &err);
    return finish(L, box, v);
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
    int box = push_box(L);
    trl_frame *f = trl_frame_new();
    if (!f)
        return luaL_error(L, "out of memory");
    finish(L, box, f);
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
        lua_pushcfunction(L, frame_newindex);
        lua_pushvalue(L, fi);
        lua_rawgeti(L, keys, i);
        lua_pushvalue(L, -1);
        lua_gettable(L, 1);
        lua_call(L, 3, 0);
    }
    lua_settop(L, fi);
    trl_frame_set_lineage(check_frame(L, fi),
                          json_pack("{s:s}", "source", "lua"));
    return 1;
}

static int f_and(lua_State *L) { return col_and(L); }
static int f_or(lua_State *L) { return col_or(L); }
static int f_not(lua_State *L) { return col_not(L); }

static const luaL_Reg frame_methods[] = {
    {"columns", frame_columns}, {"dtypes", frame_dtypes},
    {"shape", frame_shape},     {"copy", frame_copy},
    {"select", frame_select},   {"filter", frame_filter},
    {"head", frame_head},       {"sample", frame_sample},
    {"split", frame_split},     {"drop", frame_drop},
    {"describe", frame_describe}, {"hist", frame_hist},
    {"lineage", frame_lineage}, {"ref", frame_ref},
    {NULL, NULL}};

static const luaL_Reg features_lib[] = {
    {"read_csv", f_read_csv}, {"register", f_register}, {"get", f_get},
    {"version", f_version},   {"list", f_list},         {"frame", f_frame},
    {"and_", f_and},          {"or_", f_or},            {"not_", f_not},
    {NULL, NULL}};

void trl__lua_open_features(lua_State *L)
{
    luaL_newmetatable(L, COLUMN_MT);
    static const luaL_Reg col_meta[] = {
        {"__gc", col_gc},   {"__index", col_index}, {"__len", col_len},
        {"__add", col_add}, {"__sub", col_sub},     {"__mul", col_mul},
        {"__div", col_div}, {"__pow", col_pow},     {"__mod", col_mod},
        {"__unm", col_unm}, {"__tostring", col_tostring}, {NULL, NULL}};
    luaL_setfuncs(L, col_meta, 0);
    luaL_newlib(L, col_methods);
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);

    luaL_newmetatable(L, FRAME_MT);
    static const luaL_Reg frame_meta[] = {
        {"__gc", frame_gc},           {"__index", frame_index},
        {"__fields", frame_columns},
        {"__newindex", frame_newindex}, {"__len", frame_len},
        {"__tostring", frame_tostring}, {"__repr_html", frame_html},
        {NULL, NULL}};
    luaL_setfuncs(L, frame_meta, 0);
    luaL_newlib(L, frame_methods);
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);

    luaL_newmetatable(L, "trellis.svg");
    lua_pushcfunction(L, svg_repr);
    lua_setfield(L, -2, "__repr_svg");
    lua_pushcfunction(L, svg_repr);
    lua_setfield(L, -2, "__repr_html");
    lua_pushcfunction(L, svg_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &describe_cache_key);

    luaL_newlib(L, features_lib);
    lua_setglobal(L, "features");
}
