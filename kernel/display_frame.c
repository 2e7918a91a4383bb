/* display_frame.c - a frame as text and as an HTML table, the same for
 * every language: pandas' layout (a header with each column's type, the
 * first and last rows of long frames, a shape line). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"
#include "trellis/registry.h"

#define SHOW_ALL 20  /* frames up to this many rows show whole */
#define SHOW_HEAD 10
#define SHOW_TAIL 5
#define CELL_MAX 40  /* longer strings are cut, with "..." */

/* The display text of row i of c, into buf (at least 64 bytes). */
static const char *cell_text(const trl_column *c, size_t i, char *buf,
                             size_t size)
{
    if (trl_column_is_missing(c, i))
        return c->type == TRL_F64 ? "NaN" : "<NA>";
    switch (c->type) {
    case TRL_F64:
        snprintf(buf, size, "%.6g", c->v.f64[i]);
        return buf;
    case TRL_I64:
        snprintf(buf, size, "%lld", (long long)c->v.i64[i]);
        return buf;
    case TRL_BOOL:
        return c->v.b[i] ? "true" : "false";
    default: {
        int32_t code = c->v.codes[i];
        size_t n = c->dict->lens[code];
        if (n > CELL_MAX)
            snprintf(buf, size, "%.37s...", c->dict->strs[code]);
        else
            snprintf(buf, size, "%s", c->dict->strs[code]);
        return buf;
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

char *trl_frame_html(const trl_frame *f)
{
    size_t rows[SHOW_ALL + 1], k = shown_rows(f->nrows, rows);
    char buf[64];
    trl_strbuf b;
    trl_strbuf_init(&b);
    trl_strbuf_printf(&b, "<div><table class=\"dataframe\" border=\"1\">\n"
                          "<thead><tr style=\"text-align: right;\"><th></th>");
    for (size_t c = 0; c < f->ncols; c++) {
        trl_strbuf_printf(&b, "<th>");
        trl_strbuf_html(&b, f->names[c]);
        trl_strbuf_printf(&b, "<br><small>%s</small></th>",
                          trl_dtype_name(f->cols[c]->type));
    }
    trl_strbuf_printf(&b, "</tr></thead>\n<tbody>\n");
    for (size_t r = 0; r < k; r++) {
        if (rows[r] == SIZE_MAX)
            trl_strbuf_printf(&b, "<tr><th>...</th>");
        else
            trl_strbuf_printf(&b, "<tr><th>%zu</th>", rows[r] + 1);
        for (size_t c = 0; c < f->ncols; c++) {
            trl_strbuf_printf(&b, "<td>");
            trl_strbuf_html(&b, rows[r] == SIZE_MAX
                                    ? "..."
                                    : cell_text(f->cols[c], rows[r], buf,
                                                sizeof buf));
            trl_strbuf_printf(&b, "</td>");
        }
        trl_strbuf_printf(&b, "</tr>\n");
    }
    trl_strbuf_printf(&b, "</tbody>\n</table>\n<p>%zu rows \xc3\x97 %zu "
                          "columns%s</p></div>\n", f->nrows, f->ncols,
                      f->ref ? "" : " (working copy)");
    if (f->ref) {
        trl_strbuf_printf(&b, "<p><small>");
        trl_strbuf_html(&b, f->ref);
        trl_strbuf_printf(&b, "</small></p>\n");
    }
    return b.p;
}

char *trl_frame_text(const trl_frame *f)
{
    size_t rows[SHOW_ALL + 1], k = shown_rows(f->nrows, rows);
    size_t nc = f->ncols + 1, nr = k + 2;
    /* every cell's text first: the widths need them all */
    char **cells = calloc(nr * nc, sizeof *cells);
    size_t *w = calloc(nc, sizeof *w);
    trl_strbuf b;
    trl_strbuf_init(&b);
    int ok = cells && w;
    char buf[64];
    for (size_t r = 0; ok && r < nr; r++)
        for (size_t c = 0; ok && c < nc; c++) {
            const char *s;
            if (c == 0) {
                if (r < 2)
                    s = "";
                else if (rows[r - 2] == SIZE_MAX)
                    s = "...";
                else
                    s = (snprintf(buf, sizeof buf, "%zu", rows[r - 2] + 1),
                         buf);
            } else if (r == 0) {
                s = f->names[c - 1];
            } else if (r == 1) {
                s = trl_dtype_name(f->cols[c - 1]->type);
            } else if (rows[r - 2] == SIZE_MAX) {
                s = "...";
            } else {
                s = cell_text(f->cols[c - 1], rows[r - 2], buf, sizeof buf);
            }
            ok = (cells[r * nc + c] = strdup(s)) != NULL;
            size_t len = ok ? strlen(s) : 0;
            if (r == 0 || len > w[c])
                w[c] = len;
        }
    for (size_t r = 0; ok && r < nr; r++) {
        for (size_t c = 0; c < nc; c++) {
            const char *s = cells[r * nc + c];
            trl_strbuf_printf(&b, "%*s%s", (int)w[c], s,
                              c + 1 < nc ? "  " : "\n");
        }
    }
    trl_strbuf_printf(&b, "[%zu rows x %zu columns]", f->nrows, f->ncols);
    for (size_t i = 0; cells && i < nr * nc; i++)
        free(cells[i]);
    free(cells);
    free(w);
    if (!ok) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
