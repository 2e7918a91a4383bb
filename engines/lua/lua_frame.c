/* lua_frame.c - frames as Lua values: columns by name, derived frames with
 * lineage, pandas-like display, describe and hist. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"
#include "trellis/display.h"

/* ---- lineage ----------------------------------------------------------------- */

/* Appends a derivation step to f's (working) lineage. Steals step_new. */
static void add_step(trl_frame *f, json_t *step_new)
{
    trl_frame_add_step(f, "lua", step_new);  /* out of memory: no step */
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
    trl_frame *f = trl__lf_check_frame(L, 1);
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *key = lua_tostring(L, 2);
        trl_column *c = trl_frame_get(f, key);
        if (c) {
            trl_column_incref(c);
            trl__lf_push_column(L, c, key);
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
int trl__lf_frame_newindex(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
    const char *name = luaL_checkstring(L, 2);
    trl_error err = {0};
    if (lua_isnil(L, 3)) {
        if (trl_frame_drop(f, name, &err) != 0)
            return trl__lf_fail(L, &err);
        add_step(f, json_pack("{s:s, s:s}", "op", "drop", "column", name));
        return 0;
    }
    if (lua_type(L, 3) == LUA_TTABLE && f->ncols == 0) {
        /* the first column of an empty frame sets the row count */
        trl_column *c = trl__lf_column_from(L, 3, (size_t)-1, &err);
        if (!c || trl_frame_set(f, name, c, &err) != 0) {
            trl_column_decref(c);
            return trl__lf_fail(L, &err);
        }
        trl_column_decref(c);
        add_step(f, json_pack("{s:s, s:s}", "column", name, "expr",
                              "(values)"));
        return 0;
    }
    if (f->ncols == 0 && !trl__lf_to_column(L, 3))
        return luaL_error(L, "an empty frame needs a column or a table of "
                          "values first, not a single %s",
                          luaL_typename(L, 3));
    size_t n = f->ncols ? f->nrows : trl__lf_to_column(L, 3)->len;
    trl_column *c = trl__lf_column_from(L, 3, n, &err);
    if (!c || trl_frame_set(f, name, c, &err) != 0) {
        trl_column_decref(c);
        return trl__lf_fail(L, &err);
    }
    trl_column_decref(c);
    const char *expr = lua_type(L, 3) == LUA_TTABLE ? "(values)"
                                                     : trl__lf_expr_of(L, 3);
    add_step(f, json_pack("{s:s, s:s}", "column", name, "expr", expr));
    return 0;
}

static int frame_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)trl__lf_check_frame(L, 1)->nrows);
    return 1;
}

int trl__lf_frame_columns(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
    lua_createtable(L, (int)f->ncols, 0);
    for (size_t i = 0; i < f->ncols; i++) {
        lua_pushstring(L, f->names[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int frame_dtypes(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
    lua_createtable(L, 0, (int)f->ncols);
    for (size_t i = 0; i < f->ncols; i++) {
        lua_pushstring(L, trl_dtype_name(f->cols[i]->type));
        lua_setfield(L, -2, f->names[i]);
    }
    return 1;
}

static int frame_shape(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
    lua_pushinteger(L, (lua_Integer)f->nrows);
    lua_pushinteger(L, (lua_Integer)f->ncols);
    return 2;
}

/* Pushes an empty frame box and returns its stack index: callers make the
 * box before the frame, so no Lua error can leak the frame. */
int trl__lf_push_box(lua_State *L)
{
    trl__lf_new_frame_box(L);
    return lua_gettop(L);
}

/* Gives g to the box at index box and pushes the box. */
int trl__lf_finish(lua_State *L, int box, trl_frame *g)
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
        return trl__lf_fail(L, err);
    }
    trl_frame_set_lineage(g, trl_frame_derived_lineage(parent, "lua", step_new));
    return trl__lf_finish(L, box, g);
}

static int frame_copy(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
    int box = trl__lf_push_box(L);
    trl_frame *g = trl_frame_copy(f);
    trl_error err;
    trl_error_set(&err, TRL_ENOMEM, "out of memory");
    return push_derived(L, box, f, g, json_pack("{s:s}", "op", "copy"),
                        &err);
}

static int frame_select(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t n = lua_rawlen(L, 2);
    int box = trl__lf_push_box(L);
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
    trl_frame *f = trl__lf_check_frame(L, 1);
    trl_column *mask = trl__lf_check_column(L, 2);
    lua_settop(L, 2);
    const char *mexpr = trl__lf_expr_of(L, 2);
    int box = trl__lf_push_box(L);
    trl_error err = {0};
    trl_frame *g = trl_frame_filter(f, mask, &err);
    return push_derived(L, box, f, g,
                        json_pack("{s:s, s:s}", "op", "filter", "mask",
                                  mexpr),
                        &err);
}

static int frame_head(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
    lua_Integer n = luaL_optinteger(L, 2, 5);
    int box = trl__lf_push_box(L);
    trl_error err = {0};
    trl_frame *g = trl_frame_head(f, n < 0 ? 0 : (size_t)n, &err);
    return push_derived(L, box, f, g,
                        json_pack("{s:s, s:I}", "op", "head", "n",
                                  (json_int_t)n),
                        &err);
}

static int frame_sample(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    lua_Integer seed = luaL_optinteger(L, 3, 0);
    trl_error err = {0};
    if (n < 0)
        return luaL_error(L, "sample: n must be >= 0");
    int box = trl__lf_push_box(L);
    trl_frame *g = trl_frame_sample(f, (size_t)n, (uint64_t)seed, &err);
    return push_derived(L, box, f, g,
                        json_pack("{s:s, s:I, s:I}", "op", "sample", "n",
                                  (json_int_t)n, "seed", (json_int_t)seed),
                        &err);
}

/* f:split{0.8, 0.2, seed = 1} -> frames, one per fraction. */
static int frame_split(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
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
        trl__lf_push_box(L);
    trl_frame *parts[64];
    trl_error err = {0};
    if (trl_frame_split(f, fr, k, (uint64_t)seed, parts, &err) != 0)
        return trl__lf_fail(L, &err);
    for (size_t i = 0; i < k; i++) {
        ((lframe *)lua_touserdata(L, 3 + (int)i))->f = parts[i];
        json_t *step = json_pack("{s:s, s:I, s:f, s:I}", "op", "split",
                                 "part", (json_int_t)i + 1, "fraction",
                                 fr[i], "seed", (json_int_t)seed);
        trl_frame_set_lineage(parts[i],
                              trl_frame_derived_lineage(f, "lua", step));
    }
    return (int)k;
}

static int frame_drop(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushnil(L);
    return trl__lf_frame_newindex(L);
}

static int frame_lineage(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
    char *s = f->lineage ? json_dumps(f->lineage, JSON_COMPACT) : NULL;
    lua_pushstring(L, s ? s : "{}");
    free(s);
    return 1;
}

static int frame_ref(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
    if (f->ref)
        lua_pushstring(L, f->ref);
    else
        lua_pushnil(L);
    return 1;
}

/* ---- group by and join ------------------------------------------------------ */

#define GROUPED_MT "trellis.grouped"

/* f:group_by("key") -> a grouping whose :agg{...} makes the frame. */
static int frame_group_by(lua_State *L)
{
    trl__lf_check_frame(L, 1);
    const char *key = luaL_checkstring(L, 2);
    if (!trl_frame_get(trl__lf_check_frame(L, 1), key))
        return luaL_error(L, "group_by: no column '%s'", key);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "frame");
    lua_pushstring(L, key);
    lua_setfield(L, -2, "key");
    luaL_setmetatable(L, GROUPED_MT);
    return 1;
}

/* grouped:agg{out = "fn" | {"column", "fn"}, ...}: out = "fn" aggregates
 * the column called out. Output columns: the key, then the aggregates in
 * name order (a Lua table has no order of its own). */
static int grouped_agg(lua_State *L)
{
    int ok = lua_getmetatable(L, 1);
    if (ok) {
        luaL_getmetatable(L, GROUPED_MT);
        ok = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    if (!ok)
        return luaL_error(L, "agg must be called on f:group_by(key), as "
                          "f:group_by(\"plan\"):agg{...}");
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_getfield(L, 1, "frame");                     /* 3 */
    trl_frame *f = trl__lf_check_frame(L, 3);
    lua_getfield(L, 1, "key");                       /* 4 */
    const char *key = lua_tostring(L, 4);
    lua_newtable(L);                                 /* 5: output names */
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            return luaL_error(L, "agg: keys are output column names");
        lua_pushvalue(L, -1);
        lua_rawseti(L, 5, ++n);
    }
    if (n == 0)
        return luaL_error(L, "agg needs at least one aggregate, e.g. "
                          "agg{spend = \"mean\"}");
    trl__lua_sort(L, 5);
    trl_agg *aggs = lua_newuserdatauv(L, (size_t)n * sizeof *aggs, 0); /* 6 */
    json_t *spec = json_object();
    for (lua_Integer i = 0; i < n; i++) {
        lua_rawgeti(L, 5, i + 1);                    /* name, anchored in 5 */
        const char *as = lua_tostring(L, -1);
        lua_gettable(L, 2);                          /* its spec */
        const char *col = as, *fn = NULL;
        if (lua_type(L, -1) == LUA_TSTRING) {
            fn = lua_tostring(L, -1);
        } else if (lua_istable(L, -1)) {
            lua_rawgeti(L, -1, 1);
            lua_rawgeti(L, -2, 2);
            col = lua_tostring(L, -2);
            fn = lua_tostring(L, -1);
            lua_pop(L, 2);  /* strings stay anchored in the spec table */
        }
        int code = fn ? trl_agg_parse(fn) : -1;
        if (!col || code < 0) {
            json_decref(spec);
            return luaL_error(L, "agg: '%s' needs \"count\", \"sum\", "
                              "\"mean\", \"std\", \"min\", \"max\", "
                              "\"n_unique\" or \"first\" (or {column, "
                              "fn})", as);
        }
        aggs[i].column = col;
        aggs[i].fn = (trl_agg_fn)code;
        aggs[i].as = as;
        json_object_set_new(spec, as, json_pack("[s, s]", col, fn));
        lua_pop(L, 1);
    }
    int box = trl__lf_push_box(L);
    trl_error err = {0};
    trl_frame *g = trl_frame_group_by(f, key, aggs, (size_t)n, &err);
    if (!g) {
        json_decref(spec);
        return trl__lf_fail(L, &err);
    }
    json_t *step = json_pack("{s:s, s:s, s:o}", "op", "group_by", "key", key,
                             "agg", spec);
    trl_frame_set_lineage(g, trl_frame_derived_lineage(f, "lua", step));
    return trl__lf_finish(L, box, g);
}

static json_t *parent_of(const trl_frame *f)
{
    return f->ref ? json_string(f->ref)
           : f->lineage ? json_deep_copy(f->lineage)
                        : json_pack("{s:s}", "source", "lua");
}

/* f:join(other, "key" [, {how = "inner" | "left"}]) */
static int frame_join(lua_State *L)
{
    trl_frame *left = trl__lf_check_frame(L, 1);
    trl_frame *right = trl__lf_check_frame(L, 2);
    const char *key = luaL_checkstring(L, 3);
    trl_join_kind kind = TRL_JOIN_INNER;
    if (lua_istable(L, 4)) {
        lua_getfield(L, 4, "how");
        const char *how = luaL_optstring(L, -1, "inner");
        if (strcmp(how, "left") == 0)
            kind = TRL_JOIN_LEFT;
        else if (strcmp(how, "inner") != 0)
            return luaL_error(L, "join: how must be \"inner\" or \"left\", "
                              "not \"%s\"", how);
        lua_pop(L, 1);
    }
    lua_settop(L, 4);
    int box = trl__lf_push_box(L);
    trl_error err = {0};
    trl_frame *g = trl_frame_join(left, right, key, kind, &err);
    if (!g)
        return trl__lf_fail(L, &err);
    trl_frame_set_lineage(
        g, json_pack("{s:s, s:[o, o], s:[{s:s, s:s, s:s}]}", "source",
                     "derived", "parents", parent_of(left), parent_of(right),
                     "derivation", "op", "join", "on", key, "how",
                     kind == TRL_JOIN_LEFT ? "left" : "inner"));
    return trl__lf_finish(L, box, g);
}

/* ---- display ---------------------------------------------------------------- */

/* Pushes text (malloc'd, freed here) or raises out of memory. */
static int push_owned(lua_State *L, char *text)
{
    if (!text)
        return luaL_error(L, "out of memory");
    lua_pushstring(L, text);
    free(text);
    return 1;
}

static int frame_html(lua_State *L)
{
    return push_owned(L, trl_frame_html(trl__lf_check_frame(L, 1)));
}

static int frame_tostring(lua_State *L)
{
    return push_owned(L, trl_frame_text(trl__lf_check_frame(L, 1)));
}

/* ---- describe and hist ------------------------------------------------------ */

static const char describe_cache_key = 'D';

/* f:describe() -> a frame with one row per column: dtype, count, missing,
 * mean, std, min, 25%, 50%, 75%, max, unique. Cached per registered
 * version (versions never change). */
static int frame_describe(lua_State *L)
{
    trl_frame *f = trl__lf_check_frame(L, 1);
    if (f->ref) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &describe_cache_key);
        lua_getfield(L, -1, f->ref);
        if (!lua_isnil(L, -1))
            return 1;
        lua_pop(L, 2);
    }
    int box = trl__lf_push_box(L);
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
        return trl__lf_fail(L, &err);
    }
    trl_frame_set_lineage(g, trl_frame_derived_lineage(
                                 f, "lua", json_pack("{s:s}", "op",
                                                     "describe")));
    trl__lf_finish(L, box, g);
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
    trl_frame *f = trl__lf_check_frame(L, 1);
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
        return trl__lf_fail(L, &err);
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
    char *escaped = trl_html_escape(name, strlen(name));
    if (escaped)
        luaL_addstring(&b, escaped);
    free(escaped);
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

static const luaL_Reg frame_methods[] = {
    {"columns", trl__lf_frame_columns}, {"dtypes", frame_dtypes},
    {"shape", frame_shape},     {"copy", frame_copy},
    {"select", frame_select},   {"filter", frame_filter},
    {"head", frame_head},       {"sample", frame_sample},
    {"split", frame_split},     {"drop", frame_drop},
    {"describe", frame_describe}, {"hist", frame_hist},
    {"lineage", frame_lineage}, {"ref", frame_ref},
    {"group_by", frame_group_by}, {"join", frame_join},
    {NULL, NULL}};


void trl__lf_open_frame(lua_State *L)
{
    luaL_newmetatable(L, FRAME_MT);
    static const luaL_Reg frame_meta[] = {
        {"__gc", frame_gc},           {"__index", frame_index},
        {"__fields", trl__lf_frame_columns},
        {"__newindex", trl__lf_frame_newindex}, {"__len", frame_len},
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

    luaL_newmetatable(L, GROUPED_MT);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, grouped_agg);
    lua_setfield(L, -2, "agg");
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, "grouped frame (use :agg{...})");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
}
