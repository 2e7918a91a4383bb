/* lua_metrics.c - the `metrics` library: one metric of scores against
 * labels (metrics.compute) and the names of the built-ins (metrics.list).
 * metrics.define and the business metrics it makes live in
 * lua_business.c, compare{...} in lua_compare.c; the opener here installs
 * all of them, so the engine has one call for everything metric. */
#include <math.h>
#include <stdint.h>

#include <lauxlib.h>

#include "trellis/metrics.h"
#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"

/* ---- metrics.compute ------------------------------------------------------------ */

/* The optional column field key of the table at opts (NULL when absent). */
static trl_column *opt_column(lua_State *L, int opts, const char *key)
{
    if (!lua_istable(L, opts))
        return NULL;
    lua_getfield(L, opts, key);
    if (lua_isnil(L, -1))
        return NULL;
    trl_column *c = trl__lf_to_column(L, -1);
    if (!c)
        luaL_error(L, "metrics.compute: %s must be a column", key);
    return c;  /* anchored on the stack */
}

static int64_t group_key(const trl_column *c, size_t i)
{
    if (c->type == TRL_STR)
        return c->v.codes[i];
    if (c->type == TRL_I64)
        return c->v.i64[i];
    if (c->type == TRL_BOOL)
        return c->v.b[i];
    return (int64_t)c->v.f64[i];
}

/* The rows with a label, a score (and a weight and group when given):
 * malloc'd arrays in one block owned by a userdata on the stack. */
static trl_metric_data gather(lua_State *L, const trl_column *y,
                              const trl_column *s, const trl_column *w,
                              const trl_column *g)
{
    size_t n = y->len;
    /* room only for what is given: at 10M rows each array is 80 MB */
    size_t bytes = n * sizeof(double) * (2 + (w != NULL)) +
                   (g ? n * sizeof(int64_t) : 0) + 1;
    char *mem = lua_newuserdatauv(L, bytes, 0);
    double *ys = (double *)mem, *ss = ys + n;
    double *ws = w ? ss + n : NULL;
    int64_t *gs = g ? (int64_t *)(ss + n + (w ? n : 0)) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        double yi = trl_column_get_f64(y, i), si = trl_column_get_f64(s, i);
        if (isnan(yi) || isnan(si) || (w && trl_column_is_missing(w, i)) ||
            (g && trl_column_is_missing(g, i)))
            continue;
        ys[k] = yi;
        ss[k] = si;
        if (w)
            ws[k] = trl_column_get_f64(w, i);
        if (g)
            gs[k] = group_key(g, i);
        k++;
    }
    return (trl_metric_data){ys, ss, w ? ws : NULL, g ? gs : NULL, k};
}

/* metrics.compute(name, labels, scores [, {weight=, group=, threshold=,
 * bins=}]) -> number */
static int l_compute(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    trl_column *y = trl__lf_check_column(L, 2);
    trl_column *s = trl__lf_check_column(L, 3);
    if (y->len != s->len)
        return luaL_error(L, "metrics.compute: labels have %d rows, scores "
                          "%d", (int)y->len, (int)s->len);
    trl_metric m;
    trl_error err = {0};
    if (trl_metric_parse(name, &m, &err) != 0)
        return trl__lf_fail(L, &err);
    lua_settop(L, 4);
    trl_column *w = opt_column(L, 4, "weight");
    trl_column *g = opt_column(L, 4, "group");
    if ((w && w->len != y->len) || (g && g->len != y->len))
        return luaL_error(L, "metrics.compute: weight and group need as "
                          "many rows as the labels");
    if (lua_istable(L, 4)) {
        lua_getfield(L, 4, "threshold");
        if (lua_isnumber(L, -1))
            m.threshold = lua_tonumber(L, -1);
        lua_getfield(L, 4, "bins");
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0 &&
            lua_tointeger(L, -1) <= 10000)
            m.bins = (int)lua_tointeger(L, -1);
    }
    trl_metric_data d = gather(L, y, s, w, g);
    double v;
    if (trl_metric_compute(&m, &d, &v, &err) != 0)
        return trl__lf_fail(L, &err);
    lua_pushnumber(L, v);
    return 1;
}

/* metrics.list() -> {"auc", ...} */
static int l_list(lua_State *L)
{
    lua_newtable(L);
    char name[48];
    for (size_t i = 0; trl_metric_list(i, name, sizeof name); i++) {
        lua_pushstring(L, name);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

void trl__lua_open_metrics(lua_State *L)
{
    static const luaL_Reg lib[] = {{"compute", l_compute},
                                   {"list", l_list},
                                   {"define", trl__lua_metrics_define},
                                   {NULL, NULL}};
    luaL_newlib(L, lib);
    lua_setglobal(L, "metrics");
    trl__lua_open_compare(L);
    trl__lua_open_bench(L);
    trl__lua_open_importance(L);
}
