/* sql_complete.c - Tab, Shift-Tab and is_complete in SQL cells. Tab
 * offers the tables a query can name (registered frames, other engines'
 * frame variables, the connection's own tables), a table's columns after
 * `name.`, and SQLite's keywords; a console runs the input once it ends
 * a statement with `;`, which sqlite3_complete decides. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/sql/sql_engine_int.h"
#include "trellis/display.h"
#include "trellis/model.h"

static int word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '@' ||
           (unsigned char)c >= 0x80;
}

/* Adds name to out when it starts with prefix and is not there yet. */
static void offer(json_t *out, const char *name, const char *prefix,
                  size_t n)
{
    if (strncmp(name, prefix, n) != 0)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(out, i, v)
        if (strcmp(json_string_value(v), name) == 0)
            return;
    json_array_append_new(out, json_string(name));
}

static void offer_tables(trl__sqle *s, json_t *out, const char *prefix,
                         size_t n)
{
    if (s->registry) {
        json_t *all = trl_registry_list(s->registry);
        size_t i;
        json_t *v;
        json_array_foreach(all, i, v)
            offer(out, json_string_value(json_object_get(v, "name")),
                  prefix, n);
        json_decref(all);
    }
    size_t np = s->npeers ? *s->npeers : 0;
    for (size_t k = 0; k < np; k++) {
        trl_engine *e = s->peers[k];
        if (e == &s->base || !e->ops->variables)
            continue;
        json_t *vars = e->ops->variables(e);
        const char *name;
        json_t *type;
        json_object_foreach(vars, name, type) {
            if (strncmp(name, prefix, n) != 0 || !e->ops->lookup)
                continue;
            trl_frame *f = NULL;
            struct trl_model *m = NULL;
            e->ops->lookup(e, name, &f, &m);
            if (f)
                offer(out, name, prefix, n);
            trl_frame_decref(f);
            trl_model_decref(m);
        }
        json_decref(vars);
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM sqlite_schema WHERE "
                           "type IN ('table', 'view')", -1, &st,
                           NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            offer(out, (const char *)sqlite3_column_text(st, 0), prefix, n);
        sqlite3_finalize(st);
    }
}

/* The columns of the table SQL would find as `table`, each with its
 * declared type, through the connection (showing the frame first). */
static json_t *columns_of(trl__sqle *s, const char *table)
{
    trl_error err = {0};
    sqlite3_stmt *st = NULL;
    char *q = sqlite3_mprintf("SELECT * FROM \"%w\" LIMIT 0", table);
    const char *tail;
    json_t *cols = json_array();
    if (q && trl__sqle_prepare(s, q, &st, &tail, &err) == SQLITE_OK && st)
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *type = sqlite3_column_decltype(st, i);
            json_array_append_new(cols, json_pack("[s, s]",
                                                  sqlite3_column_name(st, i),
                                                  type ? type : ""));
        }
    sqlite3_finalize(st);
    sqlite3_free(q);
    return cols;
}

int trl__sqle_complete(trl_engine *self, const char *code, size_t cursor,
                      trl_completion *out)
{
    trl__sqle *s = (trl__sqle *)self;
    size_t start = cursor;
    while (start > 0 && word_char(code[start - 1]))
        start--;
    out->matches = json_array();
    out->cursor_start = start;
    out->cursor_end = cursor;
    if (!out->matches)
        return TRL_ENOMEM;
    const char *prefix = code + start;
    size_t n = cursor - start;
    if (start > 0 && code[start - 1] == '.') {
        /* columns of the table before the dot */
        size_t t = start - 1;
        while (t > 0 && word_char(code[t - 1]))
            t--;
        char table[256];
        size_t tn = start - 1 - t;
        if (tn == 0 || tn >= sizeof table)
            return 0;
        memcpy(table, code + t, tn);
        table[tn] = '\0';
        json_t *cols = columns_of(s, table);
        size_t i;
        json_t *c;
        json_array_foreach(cols, i, c)
            offer(out->matches, json_string_value(json_array_get(c, 0)),
                  prefix, n);
        json_decref(cols);
        return 0;
    }
    if (n == 0)
        return 0;
    offer_tables(s, out->matches, prefix, n);
    /* keywords in the case the user types them */
    int upper = isupper((unsigned char)prefix[0]);
    for (int i = 0; i < sqlite3_keyword_count(); i++) {
        const char *kw;
        int len;
        char buf[64];
        if (sqlite3_keyword_name(i, &kw, &len) != SQLITE_OK ||
            len >= (int)sizeof buf)
            continue;
        for (int j = 0; j < len; j++)
            buf[j] = upper ? kw[j] : (char)tolower((unsigned char)kw[j]);
        buf[len] = '\0';
        offer(out->matches, buf, prefix, n);
    }
    return 0;
}

/* Shift-Tab on a table name: its columns and types. */
int trl__sqle_inspect(trl_engine *self, const char *code, size_t cursor,
                     int detail_level, json_t **data_out)
{
    (void)detail_level;
    trl__sqle *s = (trl__sqle *)self;
    size_t a = cursor, b = cursor, len = strlen(code);
    while (a > 0 && word_char(code[a - 1]))
        a--;
    while (b < len && word_char(code[b]))
        b++;
    *data_out = NULL;
    char name[256];
    if (b == a || b - a >= sizeof name)
        return 0;
    memcpy(name, code + a, b - a);
    name[b - a] = '\0';
    json_t *cols = columns_of(s, name);
    if (json_array_size(cols) == 0) {
        json_decref(cols);
        return 0;
    }
    trl_strbuf t;
    trl_strbuf_init(&t);
    trl_strbuf_printf(&t, "table %s (%zu columns)\n", name,
                      json_array_size(cols));
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c)
        trl_strbuf_printf(&t, "  %s %s\n",
                          json_string_value(json_array_get(c, 0)),
                          json_string_value(json_array_get(c, 1)));
    json_decref(cols);
    if (!t.p)
        return TRL_ENOMEM;
    *data_out = json_pack("{s:s}", "text/plain", t.p);
    free(t.p);
    return 0;
}

trl_code_status trl__sqle_is_complete(trl_engine *self, const char *code,
                                     char *indent, size_t indent_size)
{
    (void)self;
    if (indent_size)
        indent[0] = '\0';
    const char *p = code;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return TRL_CODE_COMPLETE;
    return sqlite3_complete(code) ? TRL_CODE_COMPLETE : TRL_CODE_INCOMPLETE;
}
