/* lua_complete.c - completion and inspection of Lua names: globals, fields
 * of tables after `.`, methods after `:`, keywords. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engines/lua/lua_int.h"
#include "trellis/display.h"
#include "trellis/model.h"
#include "trellis/registry.h"

static const char *const keywords[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for",
    "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat",
    "return", "then", "true", "until", "while", NULL};

static int is_name_char(int c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

/* Pushes the value a dotted path ("string.rep", "t.a:b") names, or nil.
 * Only raw table lookups and metatable __index tables: completion must
 * never run user code. */
static void resolve(lua_State *L, const char *path, size_t len)
{
    lua_pushglobaltable(L);
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && path[j] != '.' && path[j] != ':')
            j++;
        if (j == i) {
            lua_pop(L, 1);
            lua_pushnil(L);
            return;
        }
        int t = lua_gettop(L);
        int found = 0;
        for (int hops = 0; hops < 8 && !found; hops++) {
            if (lua_type(L, -1) == LUA_TTABLE) {
                lua_pushlstring(L, path + i, j - i);
                if (lua_rawget(L, -2) != LUA_TNIL) {
                    found = 1;
                    break;
                }
                lua_pop(L, 1);
            }
            if (!luaL_getmetafield(L, -1, "__index"))
                break;
            if (lua_type(L, -1) == LUA_TTABLE)
                continue;
            /* the kernel's own userdata (frames, columns): their C __index
             * looks up columns and methods without user code */
            if (lua_iscfunction(L, -1) && lua_type(L, -2) == LUA_TUSERDATA) {
                lua_pushvalue(L, -2);
                lua_pushlstring(L, path + i, j - i);
                if (lua_pcall(L, 2, 1, 0) == LUA_OK && !lua_isnil(L, -1))
                    found = 1;
            }
            break;
        }
        if (!found)
            lua_pushnil(L);
        lua_replace(L, t);
        lua_settop(L, t);
        if (lua_isnil(L, -1))
            return;
        i = j + 1;
    }
}

/* Adds the string keys of the table at idx (and its __index tables)
 * starting with prefix to the set at set_idx. */
static void collect(lua_State *L, int idx, const char *prefix, size_t plen,
                    int set_idx, int methods_only)
{
    idx = lua_absindex(L, idx);
    lua_pushvalue(L, idx);
    for (int hops = 0; hops < 8; hops++) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                if (lua_type(L, -2) == LUA_TSTRING &&
                    (!methods_only || lua_isfunction(L, -1))) {
                    size_t kl;
                    const char *k = lua_tolstring(L, -2, &kl);
                    if (kl >= plen && strncmp(k, prefix, plen) == 0 &&
                        !(k[0] == '_' && k[1] == '_')) {
                        lua_pushvalue(L, -2);
                        lua_pushboolean(L, 1);
                        lua_rawset(L, set_idx);
                    }
                }
                lua_pop(L, 1);
            }
        }
        if (lua_type(L, -1) == LUA_TUSERDATA) {
            /* the kernel's userdata list their fields and methods */
            if (luaL_getmetafield(L, -1, "__fields")) {
                lua_pushvalue(L, -2);
                if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1) &&
                    !methods_only) {
                    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
                    for (lua_Integer k = 1; k <= n; k++) {
                        lua_rawgeti(L, -1, k);
                        size_t kl;
                        const char *key = lua_tolstring(L, -1, &kl);
                        if (key && kl >= plen &&
                            strncmp(key, prefix, plen) == 0) {
                            lua_pushboolean(L, 1);
                            lua_rawset(L, set_idx);
                        } else {
                            lua_pop(L, 1);
                        }
                    }
                }
                lua_pop(L, 1);
            }
            if (luaL_getmetafield(L, -1, "methods")) {
                lua_remove(L, -2);
                continue;
            }
        }
        if (!luaL_getmetafield(L, -1, "__index"))
            break;
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
}

/* features.get("ch -> registered frame names, models.get("ch -> model
 * names: a string literal opened as the first argument of a call on the
 * features or models library. Names go into set as "name" and "name@N".
 * Returns whether the cursor is in such a string. */
static int registry_names(trl__lua *e, const char *code, size_t q,
                          size_t cursor, int set)
{
    lua_State *L = e->L;
    if (q < 2 || code[q - 2] != '(' || !e->registry)
        return 0;
    size_t end = q - 2, begin = end;
    while (begin > 0 && (is_name_char((unsigned char)code[begin - 1]) ||
                         code[begin - 1] == '.' || code[begin - 1] == ':'))
        begin--;
    int frames = end - begin > 9 && strncmp(code + begin, "features.", 9) == 0;
    int models = end - begin > 7 && strncmp(code + begin, "models.", 7) == 0;
    if (!frames && !models)
        return 0;
    json_t *list = frames ? trl_registry_list(e->registry)
                          : trl_registry_list_models(e->registry);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        char spec[300];
        snprintf(spec, sizeof spec, "%s@%lld", name ? name : "",
                 (long long)json_integer_value(json_object_get(v, "version")));
        for (int k = 0; name && k < 2; k++) {
            const char *m = k ? spec : name;
            if (strncmp(m, code + q, cursor - q) == 0) {
                lua_pushboolean(L, 1);
                lua_setfield(L, set, m);
            }
        }
    }
    json_decref(list);
    return 1;
}

static int complete_impl(trl_engine *self, const char *code, size_t cursor,
                         trl_completion *out)
{
    trl__lua *e = (trl__lua *)self;
    lua_State *L = e->L;
    size_t start = cursor;
    while (start > 0 && is_name_char((unsigned char)code[start - 1]))
        start--;
    size_t path_start = start;
    while (path_start > 0 &&
           (is_name_char((unsigned char)code[path_start - 1]) ||
            code[path_start - 1] == '.' || code[path_start - 1] == ':'))
        path_start--;
    const char *prefix = code + start;
    size_t plen = cursor - start;
    out->cursor_start = start;
    out->cursor_end = cursor;
    out->matches = json_array();
    if (!out->matches)
        return TRL_ENOMEM;

    lua_settop(L, 0);
    lua_newtable(L);
    int set = lua_gettop(L);
    /* t["ke -> the string keys of t (any key text, not only names) */
    size_t q = cursor;
    while (q > 0 && code[q - 1] != '"' && code[q - 1] != '\'' &&
           code[q - 1] != '\n' && code[q - 1] != '[')
        q--;
    int in_string = q >= 1 && (code[q - 1] == '"' || code[q - 1] == '\'');
    if (in_string && registry_names(e, code, q, cursor, set)) {
        out->cursor_start = q;
    } else if (in_string && q >= 2 && code[q - 2] == '[') {
        size_t tend = q - 2, tstart = tend;
        while (tstart > 0 && (is_name_char((unsigned char)code[tstart - 1]) ||
                              code[tstart - 1] == '.' ||
                              code[tstart - 1] == ':'))
            tstart--;
        out->cursor_start = q;
        resolve(L, code + tstart, tend - tstart);
        if (lua_istable(L, -1))
            collect(L, -1, code + q, cursor - q, set, 0);
        lua_pop(L, 1);
    } else if (path_start == start) {
        lua_pushglobaltable(L);
        collect(L, -1, prefix, plen, set, 0);
        lua_pop(L, 1);
        for (int i = 0; keywords[i]; i++)
            if (strncmp(keywords[i], prefix, plen) == 0) {
                lua_pushboolean(L, 1);
                lua_setfield(L, set, keywords[i]);
            }
    } else {
        int method = code[start - 1] == ':';
        resolve(L, code + path_start, start - 1 - path_start);
        if (!lua_isnil(L, -1))
            collect(L, -1, prefix, plen, set, method);
        lua_pop(L, 1);
    }
    /* sorted, so the frontend shows a stable list */
    lua_newtable(L);
    int arr = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, set)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, arr, ++n);
    }
    trl__lua_sort(L, arr);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, arr, i);
        json_array_append_new(out->matches, json_string(lua_tostring(L, -1)));
        lua_pop(L, 1);
    }
    lua_settop(L, 0);
    return 0;
}

static int inspect_impl(trl_engine *self, const char *code, size_t cursor,
                        int detail, json_t **data_out)
{
    (void)detail;
    trl__lua *e = (trl__lua *)self;
    lua_State *L = e->L;
    size_t len = strlen(code);
    if (cursor > len)
        cursor = len;
    /* the name around the cursor, or just before it (`f(` inspects f) */
    size_t end = cursor;
    while (end < len && is_name_char((unsigned char)code[end]))
        end++;
    size_t start = end;
    while (start > 0 && (is_name_char((unsigned char)code[start - 1]) ||
                         code[start - 1] == '.' || code[start - 1] == ':'))
        start--;
    if (start == end && cursor > 0) {
        size_t p = cursor;
        while (p > 0 && (code[p - 1] == '(' || code[p - 1] == ' '))
            p--;
        end = p;
        start = p;
        while (start > 0 && (is_name_char((unsigned char)code[start - 1]) ||
                             code[start - 1] == '.' ||
                             code[start - 1] == ':'))
            start--;
    }
    *data_out = NULL;
    if (start == end)
        return 0;
    lua_settop(L, 0);
    resolve(L, code + start, end - start);
    if (lua_isnil(L, -1)) {
        lua_settop(L, 0);
        return 0;
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(end - start), code + start);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    const char *doc = trl__lua_doc_of(L, 1);
    if (doc) {
        luaL_addstring(&b, doc);
        luaL_addstring(&b, "\n\n");
    }
    luaL_addstring(&b, name);
    luaL_addstring(&b, ": ");
    luaL_addstring(&b, luaL_typename(L, 1));
    luaL_addstring(&b, "\n");
    trl__lua_repr_text(L, 1);
    luaL_addvalue(&b);
    luaL_pushresult(&b);
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    *data_out = trl_display_text(s, n);
    lua_settop(L, 0);
    return 0;
}

/* ---- protected entry points ------------------------------------------------ */

typedef struct lookup_args {
    trl_engine *self;
    const char *code;
    size_t cursor;
    int detail;
    trl_completion *out;
    json_t **data_out;
} lookup_args;

static int complete_main(lua_State *L)
{
    lookup_args *a = lua_touserdata(L, 1);
    complete_impl(a->self, a->code, a->cursor, a->out);
    return 0;
}

static int inspect_main(lua_State *L)
{
    lookup_args *a = lua_touserdata(L, 1);
    inspect_impl(a->self, a->code, a->cursor, a->detail, a->data_out);
    return 0;
}

/* Lookups run outside cells, where no interrupt reaches them: a budget of
 * instructions stops a user's __tostring or __index that loops. */
#define BUDGET_STEP 100000
#define BUDGET_STEPS 20

static int budget_left;

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (--budget_left <= 0)
        luaL_error(L, "lookup took too long");
}

static int budgeted(lua_State *L, lua_CFunction fn, void *ud)
{
    budget_left = BUDGET_STEPS;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, BUDGET_STEP);
    int st = trl__lua_protect(L, fn, ud);
    lua_sethook(L, NULL, 0, 0);
    return st;
}

int trl__lua_complete(trl_engine *self, const char *code, size_t cursor,
                      trl_completion *out)
{
    lookup_args a = {self, code, cursor, 0, out, NULL};
    out->matches = NULL;
    if (budgeted(((trl__lua *)self)->L, complete_main, &a) != LUA_OK) {
        /* a failed lookup offers nothing rather than failing the request */
        json_decref(out->matches);
        out->matches = json_array();
        out->cursor_start = out->cursor_end = cursor;
    }
    return 0;
}

int trl__lua_inspect(trl_engine *self, const char *code, size_t cursor,
                     int detail, json_t **data_out)
{
    lookup_args a = {self, code, cursor, detail, NULL, data_out};
    *data_out = NULL;
    if (budgeted(((trl__lua *)self)->L, inspect_main, &a) != LUA_OK) {
        json_decref(*data_out);
        *data_out = NULL;
    }
    return 0;
}
