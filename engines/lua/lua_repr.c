/* lua_repr.c - how Lua values look in the notebook: text/plain for all,
 * text/html for tables of records, and the __repr_html / __repr_svg
 * metamethods a value may define. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "engines/lua/lua_int.h"
#include "trellis/display.h"

#define MAX_DEPTH 3
#define MAX_ITEMS 100
#define MAX_STRING 10000
#define MAX_HTML_ROWS 50

/* A C string builder: luaL_Buffer forbids touching the stack between its
 * calls, and walking nested tables needs the stack. */
typedef struct sb {
    char *s;
    size_t len, cap;
    int oom;
} sb;

static void sb_addlstring(sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *t = realloc(b->s, cap);
        if (!t) {
            b->oom = 1;
            return;
        }
        b->s = t;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_addstring(sb *b, const char *s)
{
    sb_addlstring(b, s, strlen(s));
}

static void sb_addchar(sb *b, char c)
{
    sb_addlstring(b, &c, 1);
}

/* Appends the string at the top of the stack and pops it. */
static void sb_addvalue(lua_State *L, sb *b)
{
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    sb_addlstring(b, s ? s : "", s ? n : 0);
    lua_pop(L, 1);
}

/* Pushes the built string and frees the builder. */
static void sb_push(lua_State *L, sb *b)
{
    if (b->oom)
        lua_pushliteral(L, "<out of memory>");
    else
        lua_pushlstring(L, b->s ? b->s : "", b->len);
    free(b->s);
    memset(b, 0, sizeof *b);
}

static void add_repr(lua_State *L, sb *b, int idx, int depth);

static int tolstring(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    return 1;
}

static void add_quoted(sb *b, const char *s, size_t n)
{
    sb_addchar(b, '"');
    size_t shown = n > MAX_STRING ? MAX_STRING : n;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        switch (c) {
        case '"': sb_addstring(b, "\\\""); break;
        case '\\': sb_addstring(b, "\\\\"); break;
        case '\n': sb_addstring(b, "\\n"); break;
        case '\t': sb_addstring(b, "\\t"); break;
        case '\r': sb_addstring(b, "\\r"); break;
        default:
            if (c < 32 || c == 127) {
                snprintf(esc, sizeof esc, "\\%d", c);
                sb_addstring(b, esc);
            } else {
                sb_addchar(b, (char)c);
            }
        }
    }
    sb_addchar(b, '"');
    if (shown < n) {
        char more[64];
        snprintf(more, sizeof more, "... (%zu bytes)", n);
        sb_addstring(b, more);
    }
}

static int is_identifier(const char *s)
{
    static const char *const kw[] = {
        "and", "break", "do", "else", "elseif", "end", "false", "for",
        "function", "goto", "if", "in", "local", "nil", "not", "or",
        "repeat", "return", "then", "true", "until", "while", NULL};
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (const char *p = s; *p; p++)
        if (!(*p == '_' || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return 0;
    for (int i = 0; kw[i]; i++)
        if (strcmp(s, kw[i]) == 0)
            return 0;
    return 1;
}

/* Pushes a sorted array of the table's non-sequence keys. */
static void sorted_keys(lua_State *L, int t, lua_Integer seq_len)
{
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_isinteger(L, -1)) {
            lua_Integer i = lua_tointeger(L, -1);
            if (i >= 1 && i <= seq_len)
                continue;
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++n);
    }
    trl__lua_sort(L, keys);
}

static void add_table(lua_State *L, sb *b, int t, int depth)
{
    if (depth >= MAX_DEPTH) {
        sb_addstring(b, "{...}");
        return;
    }
    lua_Integer len = (lua_Integer)lua_rawlen(L, t);
    int items = 0;
    sb_addchar(b, '{');
    for (lua_Integer i = 1; i <= len && items < MAX_ITEMS; i++, items++) {
        if (items)
            sb_addstring(b, ", ");
        lua_rawgeti(L, t, i);
        add_repr(L, b, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    sorted_keys(L, t, len);
    int keys = lua_gettop(L);
    lua_Integer nk = (lua_Integer)lua_rawlen(L, keys);
    for (lua_Integer i = 1; i <= nk && items < MAX_ITEMS; i++, items++) {
        if (items)
            sb_addstring(b, ", ");
        lua_rawgeti(L, keys, i);
        int k = lua_gettop(L);
        if (lua_type(L, k) == LUA_TSTRING && is_identifier(lua_tostring(L, k))) {
            lua_pushvalue(L, k);
            sb_addvalue(L, b);
        } else {
            sb_addchar(b, '[');
            add_repr(L, b, k, depth + 1);
            sb_addchar(b, ']');
        }
        sb_addstring(b, " = ");
        lua_pushvalue(L, k);
        lua_rawget(L, t);
        add_repr(L, b, lua_gettop(L), depth + 1);
        lua_pop(L, 2);
    }
    if (items >= MAX_ITEMS && (len + nk) > items)
        sb_addstring(b, ", ...");
    lua_pop(L, 1);
    sb_addchar(b, '}');
}

static void add_function(lua_State *L, sb *b, int idx)
{
    lua_Debug ar;
    lua_pushvalue(L, idx);
    char text[160];
    if (lua_getinfo(L, ">S", &ar) && ar.what && strcmp(ar.what, "C") != 0)
        snprintf(text, sizeof text, "function <%s, line %d>", ar.short_src,
                 ar.linedefined);
    else
        snprintf(text, sizeof text, "function: builtin");
    sb_addstring(b, text);
}

/* Appends the repr of the value at idx; the stack is balanced on return
 * (the C builder holds the text, not the stack). */
static void add_repr(lua_State *L, sb *b, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        add_quoted(b, s, n);
        return;
    }
    case LUA_TTABLE:
        if (!luaL_getmetafield(L, idx, "__tostring") &&
            !luaL_getmetafield(L, idx, "__name")) {
            add_table(L, b, idx, depth);
            return;
        }
        lua_pop(L, 1);
        break;
    case LUA_TFUNCTION:
        add_function(L, b, idx);
        return;
    default:
        break;
    }
    /* __tostring may fail: protect the repr from it (and use the
     * metamethod directly, not a global `tostring` the user replaced) */
    lua_pushcfunction(L, tolstring);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_isstring(L, -1)) {
        lua_pop(L, 1);
        lua_pushfstring(L, "<%s (tostring failed)>", luaL_typename(L, idx));
    }
    sb_addvalue(L, b);
}

/* Runs fn (arguments: the builder, the value at idx) under pcall, so that
 * an error on the way, an interrupt above all (the hook fires at any call
 * of a repr that sorts keys or runs __tostring), frees the builder before
 * it goes on. fn's one result is left on the stack. */
static void build_protected(lua_State *L, lua_CFunction fn, sb *b, int idx)
{
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, b);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        free(b->s);
        memset(b, 0, sizeof *b);
        lua_error(L);
    }
}

static int repr_text_main(lua_State *L)
{
    add_repr(L, lua_touserdata(L, 1), 2, 0);
    return 0;
}

void trl__lua_repr_text(lua_State *L, int idx)
{
    sb b = {0};
    build_protected(L, repr_text_main, &b, lua_absindex(L, idx));
    lua_pop(L, 1);
    sb_push(L, &b);
}

static int not_records(lua_State *L)
{
    lua_pushboolean(L, 0);
    return 1;
}

/* A sequence of tables with string keys (argument 2), shown as rows into
 * the builder (argument 1). Returns true, or false when it is not one. */
static int records_main(lua_State *L)
{
    sb *b = lua_touserdata(L, 1);
    int t = 2;
    lua_Integer n = (lua_Integer)lua_rawlen(L, t);
    if (n < 1)
        return not_records(L);
    if (luaL_getmetafield(L, t, "__index")) {
        lua_pop(L, 1);  /* objects with methods are not records */
        return not_records(L);
    }
    lua_newtable(L);  /* set of column names */
    int cols = lua_gettop(L);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, t, i) != LUA_TTABLE) {
            lua_pop(L, 2);
            return not_records(L);
        }
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1);
            if (lua_type(L, -1) != LUA_TSTRING) {
                lua_pop(L, 3);
                return not_records(L);
            }
            lua_pushvalue(L, -1);
            lua_pushboolean(L, 1);
            lua_rawset(L, cols);
        }
        lua_pop(L, 1);
    }
    sorted_keys(L, cols, 0);
    int names = lua_gettop(L);
    lua_Integer nc = (lua_Integer)lua_rawlen(L, names);
    if (nc == 0) {
        lua_pop(L, 2);
        return not_records(L);
    }
    sb_addstring(b, "<table>\n<thead><tr><th></th>");
    for (lua_Integer c = 1; c <= nc; c++) {
        lua_rawgeti(L, names, c);
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        char *h = trl_html_escape(s, len);
        lua_pop(L, 1);
        sb_addstring(b, "<th>");
        sb_addstring(b, h ? h : "");
        sb_addstring(b, "</th>");
        free(h);
    }
    sb_addstring(b, "</tr></thead>\n<tbody>\n");
    lua_Integer shown = n > MAX_HTML_ROWS ? MAX_HTML_ROWS : n;
    for (lua_Integer i = 1; i <= shown; i++) {
        char th[48];
        snprintf(th, sizeof th, "<tr><th>%lld</th>", (long long)i);
        sb_addstring(b, th);
        lua_rawgeti(L, t, i);
        int row = lua_gettop(L);
        for (lua_Integer c = 1; c <= nc; c++) {
            lua_rawgeti(L, names, c);
            lua_rawget(L, row);
            sb_addstring(b, "<td>");
            if (!lua_isnil(L, -1)) {
                int v = lua_gettop(L);
                if (lua_type(L, v) == LUA_TSTRING)
                    lua_pushvalue(L, v);
                else
                    trl__lua_repr_text(L, v);
                size_t len;
                const char *s = lua_tolstring(L, -1, &len);
                char *h = trl_html_escape(s, len);
                lua_pop(L, 1);
                sb_addstring(b, h ? h : "");
                free(h);
            }
            lua_pop(L, 1);
            sb_addstring(b, "</td>");
        }
        lua_pop(L, 1);
        sb_addstring(b, "</tr>\n");
    }
    sb_addstring(b, "</tbody>\n</table>\n");
    if (shown < n) {
        char note[96];
        snprintf(note, sizeof note, "<p>%lld of %lld rows shown</p>\n",
                 (long long)shown, (long long)n);
        sb_addstring(b, note);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* Pushes the HTML table of records_main and returns 1, or pushes nothing
 * and returns 0. */
static int records_html(lua_State *L, int t)
{
    sb b = {0};
    build_protected(L, records_main, &b, t);
    int ok = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!ok) {
        free(b.s);
        return 0;
    }
    sb_push(L, &b);
    return 1;
}

/* Pushes the string metamethod `field` of the value at idx returns, or
 * nil (none, or it failed). */
static void push_meta(lua_State *L, int idx, const char *field)
{
    if (!luaL_getmetafield(L, idx, field)) {
        lua_pushnil(L);
        return;
    }
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
}

static void add_part(lua_State *L, int at, const char *mime, json_t *bundle)
{
    size_t n;
    const char *s = lua_tolstring(L, at, &n);
    if (s)
        trl_display_add(bundle, mime, s, n);
}

json_t *trl__lua_repr(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    /* Every part is made as a Lua string before the bundle exists, so an
     * interrupt while one is made leaves no C memory behind. */
    int top = lua_gettop(L);
    trl__lua_repr_text(L, idx);
    lua_pushnil(L);  /* text/html */
    lua_pushnil(L);  /* image/svg+xml */
    if (lua_type(L, idx) == LUA_TTABLE || lua_type(L, idx) == LUA_TUSERDATA) {
        push_meta(L, idx, "__repr_html");
        lua_replace(L, top + 2);
        push_meta(L, idx, "__repr_svg");
        lua_replace(L, top + 3);
        if (lua_type(L, idx) == LUA_TTABLE && lua_isnil(L, top + 2) &&
            records_html(L, idx))
            lua_replace(L, top + 2);
    }
    size_t n;
    const char *s = lua_tolstring(L, top + 1, &n);
    json_t *bundle = trl_display_text(s, n);
    if (bundle) {
        add_part(L, top + 2, "text/html", bundle);
        add_part(L, top + 3, "image/svg+xml", bundle);
    }
    lua_settop(L, top);
    return bundle;
}
