/* lua_column.c - columns as Lua values: arithmetic metamethods, comparison
 * methods, reductions, and the expression each column carries into the
 * lineage of the frames it is stored in. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"

/* ---- errors ----------------------------------------------------------------- */

int trl__lf_fail(lua_State *L, const trl_error *err)
{
    if (err->code == TRL_EINTR)
        return trl__lua_raise_interrupt(L);
    return luaL_error(L, "%s", err->message);
}

/* ---- wrapping ----------------------------------------------------------------- */

/* Pushes an empty frame value. Made before the C object it will own, so a
 * Lua error (out of memory) can never leak that object: once the box
 * holds it, the garbage collector frees it. */
lframe *trl__lf_new_frame_box(lua_State *L)
{
    lframe *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->f = NULL;
    luaL_setmetatable(L, FRAME_MT);
    return u;
}

/* Pushes an empty column value; its uservalue will hold the expression. */
lcolumn *trl__lf_new_column_box(lua_State *L)
{
    lcolumn *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->c = NULL;
    luaL_setmetatable(L, COLUMN_MT);
    return u;
}

/* Sets the expression of the column box at index box. */
void trl__lf_set_expr(lua_State *L, int box, const char *expr)
{
    box = lua_absindex(L, box);
    lua_pushstring(L, expr ? expr : "?");
    lua_setiuservalue(L, box, 1);
}

/* Pushes a column value owning c with expression expr. */
void trl__lf_push_column(lua_State *L, trl_column *c, const char *expr)
{
    lcolumn *u = trl__lf_new_column_box(L);
    u->c = c;
    trl__lf_set_expr(L, -1, expr);
}

/* Pushes s as a Lua-quoted string literal ("a\"b"). */
void trl__lf_push_quoted(lua_State *L, const char *s, size_t n)
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

trl_frame *trl__lf_check_frame(lua_State *L, int i)
{
    return ((lframe *)luaL_checkudata(L, i, FRAME_MT))->f;
}

trl_column *trl__lf_check_column(lua_State *L, int i)
{
    return ((lcolumn *)luaL_checkudata(L, i, COLUMN_MT))->c;
}

trl_column *trl__lf_to_column(lua_State *L, int i)
{
    lcolumn *u = luaL_testudata(L, i, COLUMN_MT);
    return u ? u->c : NULL;
}

/* The expression text of the value at i (a column's, or a literal). */
const char *trl__lf_expr_of(lua_State *L, int i)
{
    i = lua_absindex(L, i);
    if (luaL_testudata(L, i, COLUMN_MT)) {
        lua_getiuservalue(L, i, 1);
        const char *s = lua_tostring(L, -1);
        lua_pop(L, 1);  /* still anchored by the uservalue */
        return s ? s : "?";
    }
    if (lua_type(L, i) == LUA_TSTRING) {
        trl__lf_push_quoted(L, lua_tostring(L, i), lua_rawlen(L, i));
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
    trl_column *a = trl__lf_to_column(L, 1), *b = trl__lf_to_column(L, 2);
    trl_error err = {0};
    trl_column *out;
    lcolumn *box = trl__lf_new_column_box(L);
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
        return trl__lf_fail(L, &err);
    box->c = out;
    const char *x = trl__lf_expr_of(L, 1), *y = trl__lf_expr_of(L, 2);
    lua_pushfstring(L, "(%s %s %s)", x, sym, y);
    trl__lf_set_expr(L, 3, lua_tostring(L, -1));
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
int trl__lf_col_and(lua_State *L) { return binop(L, TRL_OP_AND, "and"); }
int trl__lf_col_or(lua_State *L) { return binop(L, TRL_OP_OR, "or"); }

static int unop(lua_State *L, trl_unop op, const char *name)
{
    trl_error err = {0};
    lua_settop(L, 1);
    trl_column *in = trl__lf_check_column(L, 1);
    lcolumn *box = trl__lf_new_column_box(L);
    if (!(box->c = trl_column_unop(op, in, &err)))
        return trl__lf_fail(L, &err);
    const char *x = trl__lf_expr_of(L, 1);
    if (op == TRL_FN_NEG)
        lua_pushfstring(L, "(-%s)", x);
    else
        lua_pushfstring(L, "%s(%s)", name, x);
    trl__lf_set_expr(L, 2, lua_tostring(L, -1));
    lua_settop(L, 2);
    return 1;
}

static int col_unm(lua_State *L) { return unop(L, TRL_FN_NEG, "-"); }
static int col_log(lua_State *L) { return unop(L, TRL_FN_LOG, "log"); }
static int col_exp(lua_State *L) { return unop(L, TRL_FN_EXP, "exp"); }
static int col_sqrt(lua_State *L) { return unop(L, TRL_FN_SQRT, "sqrt"); }
static int col_abs(lua_State *L) { return unop(L, TRL_FN_ABS, "abs"); }
int trl__lf_col_not(lua_State *L) { return unop(L, TRL_FN_NOT, "not"); }

static int col_clip(lua_State *L)
{
    trl_column *c = trl__lf_check_column(L, 1);
    double lo = luaL_optnumber(L, 2, -HUGE_VAL);
    double hi = luaL_optnumber(L, 3, HUGE_VAL);
    trl_error err = {0};
    lua_settop(L, 3);
    lcolumn *box = trl__lf_new_column_box(L);
    if (!(box->c = trl_column_clip(c, lo, hi, &err)))
        return trl__lf_fail(L, &err);
    lua_pushfstring(L, "clip(%s, %f, %f)", trl__lf_expr_of(L, 1), lo, hi);
    trl__lf_set_expr(L, 4, lua_tostring(L, -1));
    lua_settop(L, 4);
    return 1;
}

static int col_fill(lua_State *L)
{
    trl_column *c = trl__lf_check_column(L, 1);
    double v = luaL_checknumber(L, 2);
    trl_error err = {0};
    lua_settop(L, 2);
    lcolumn *box = trl__lf_new_column_box(L);
    if (!(box->c = trl_column_fill_missing(c, v, &err)))
        return trl__lf_fail(L, &err);
    lua_pushfstring(L, "fill_missing(%s, %f)", trl__lf_expr_of(L, 1), v);
    trl__lf_set_expr(L, 3, lua_tostring(L, -1));
    lua_settop(L, 3);
    return 1;
}

void trl__lf_push_value(lua_State *L, const trl_column *c, size_t i)
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
    trl_column *c = trl__lf_check_column(L, 1);
    trl_stats st;
    trl_error err = {0};
    int rc = strcmp(field, "n_unique") == 0 ? trl_column_stats(c, &st, &err)
                                            : trl_column_moments(c, &st, &err);
    if (rc != 0)
        return trl__lf_fail(L, &err);
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
    trl_column *c = trl__lf_check_column(L, 1);
    double q = luaL_checknumber(L, 2), v;
    trl_error err = {0};
    if (trl_column_quantile(c, q, &v, &err) != 0)
        return trl__lf_fail(L, &err);
    lua_pushnumber(L, v);
    return 1;
}

static int col_totable(lua_State *L)
{
    trl_column *c = trl__lf_check_column(L, 1);
    lua_createtable(L, (int)(c->len < INT32_MAX ? c->len : 0), 0);
    for (size_t i = 0; i < c->len; i++) {
        trl__lf_push_value(L, c, i);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int col_dtype(lua_State *L)
{
    lua_pushstring(L, trl_dtype_name(trl__lf_check_column(L, 1)->type));
    return 1;
}

static int col_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)trl__lf_check_column(L, 1)->len);
    return 1;
}

static const luaL_Reg col_methods[] = {
    {"eq", col_eq}, {"ne", col_ne}, {"lt", col_lt}, {"le", col_le},
    {"gt", col_gt}, {"ge", col_ge}, {"and_", trl__lf_col_and}, {"or_", trl__lf_col_or},
    {"not_", trl__lf_col_not}, {"log", col_log}, {"exp", col_exp},
    {"sqrt", col_sqrt}, {"abs", col_abs}, {"clip", col_clip},
    {"fill_missing", col_fill}, {"sum", col_sum}, {"mean", col_mean},
    {"std", col_std}, {"min", col_min}, {"max", col_max},
    {"count", col_count}, {"n_missing", col_n_missing},
    {"n_unique", col_n_unique}, {"quantile", col_quantile},
    {"totable", col_totable}, {"dtype", col_dtype}, {NULL, NULL}};

/* col[i] (1-based) or a method. */
static int col_index(lua_State *L)
{
    trl_column *c = trl__lf_check_column(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer i = luaL_checkinteger(L, 2);
        if (i < 1 || (size_t)i > c->len)
            lua_pushnil(L);
        else
            trl__lf_push_value(L, c, (size_t)i - 1);
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
    trl_column *c = trl__lf_check_column(L, 1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "column %s [%d rows]: ", trl_dtype_name(c->type),
                    (int)c->len);
    luaL_addvalue(&b);
    size_t shown = c->len < 10 ? c->len : 10;
    for (size_t i = 0; i < shown; i++) {
        trl__lf_push_value(L, c, i);
        if (lua_type(L, -1) == LUA_TSTRING) {
            trl__lf_push_quoted(L, lua_tostring(L, -1), lua_rawlen(L, -1));
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
trl_column *trl__lf_column_from(lua_State *L, int i, size_t n, trl_error *err)
{
    trl_column *c = trl__lf_to_column(L, i);
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

void trl__lf_open_column(lua_State *L)
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
}
