/* display_compare.c - a model comparison as a table: a row per metric, a
 * column per model, each value with its 95% interval, and each model's
 * difference from the baseline with its paired interval and p-value; the
 * best value of a row in bold. HTML for notebooks, text for consoles. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"

static double num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "0.9203 [0.9198, 0.9209]", or the value alone without resamples. */
static void value_text(const json_t *c, char *out, size_t size)
{
    double v = num(c, "value"), lo = num(c, "lo"), hi = num(c, "hi");
    if (isnan(v))
        snprintf(out, size, "undefined");
    else if (isnan(lo))
        snprintf(out, size, "%.4f", v);
    else
        snprintf(out, size, "%.4f [%.4f, %.4f]", v, lo, hi);
}

/* "+0.0004 [-0.0001, 0.0009] p=0.32", or "" for the baseline. */
static void delta_text(const json_t *c, char *out, size_t size)
{
    double d = num(c, "delta"), lo = num(c, "delta_lo");
    double hi = num(c, "delta_hi"), p = num(c, "p");
    out[0] = '\0';
    if (isnan(d))
        return;
    if (isnan(lo))
        snprintf(out, size, "\xce\x94 %+.4f", d);
    else
        snprintf(out, size, "\xce\x94 %+.4f [%+.4f, %+.4f] p=%.3g", d, lo,
                 hi, p);
}

static void header(trl_strbuf *b, const json_t *r, int html)
{
    char on[200];
    const char *ref = json_string_value(json_object_get(r, "on"));
    snprintf(on, sizeof on, "%s", ref ? ref : "an unregistered frame");
    long long rows = json_integer_value(json_object_get(r, "rows"));
    long long dropped = json_integer_value(json_object_get(r, "dropped"));
    long long B = json_integer_value(json_object_get(r, "resamples"));
    char text[400];
    int n = snprintf(text, sizeof text, "compared on %s: %lld rows", on,
                     rows);
    if (dropped)
        n += snprintf(text + n, sizeof text - (size_t)n, " (%lld without a "
                      "label or score left out)", dropped);
    if (B)
        n += snprintf(text + n, sizeof text - (size_t)n, "; 95%% intervals "
                      "from %lld paired bootstrap resamples (seed %lld)", B,
                      (long long)json_integer_value(json_object_get(r,
                                                                    "seed")));
    json_t *id = json_object_get(r, "recorded");
    if (id && n > 0 && (size_t)n < sizeof text)
        snprintf(text + n, sizeof text - (size_t)n, "; recorded as "
                 "comparison %lld", (long long)json_integer_value(id));
    if (html) {
        trl_strbuf_printf(b, "<p>");
        trl_strbuf_html(b, text);
        trl_strbuf_printf(b, "</p>\n");
    } else {
        trl_strbuf_printf(b, "%s\n", text);
    }
}

static void table(trl_strbuf *b, const json_t *models, const json_t *metrics,
                  int html)
{
    size_t nm = json_array_size(models), i, j;
    json_t *m, *row;
    char name[160], v[96], d[96];
    if (html) {
        trl_strbuf_printf(b, "<table><thead><tr><th>metric</th>");
        json_array_foreach(models, i, m) {
            trl_strbuf_printf(b, "<th>");
            trl_strbuf_html(b, json_is_string(m) ? json_string_value(m)
                                                 : "(unregistered)");
            trl_strbuf_printf(b, "%s</th>", i == 0 ? " (baseline)" : "");
        }
        trl_strbuf_printf(b, "</tr></thead><tbody>\n");
    } else {
        trl_strbuf_printf(b, "%-12s", "metric");
        json_array_foreach(models, i, m) {
            snprintf(name, sizeof name, "%s%s", json_is_string(m)
                     ? json_string_value(m) : "(unregistered)",
                     i == 0 ? " (baseline)" : "");
            trl_strbuf_printf(b, "  %-53s", name);
        }
        trl_strbuf_printf(b, "\n");
    }
    json_array_foreach(metrics, i, row) {
        const char *metric = json_string_value(json_object_get(row, "name"));
        int up = json_is_true(json_object_get(row, "higher_is_better"));
        int best = (int)json_integer_value(json_object_get(row, "best"));
        json_t *cells = json_object_get(row, "cells");
        if (html) {
            trl_strbuf_printf(b, "<tr><th>");
            trl_strbuf_html(b, metric ? metric : "?");
            trl_strbuf_printf(b, " %s</th>", up ? "\xe2\x86\x91"
                                                 : "\xe2\x86\x93");
        } else {
            snprintf(name, sizeof name, "%s %s", metric ? metric : "?",
                     up ? "\xe2\x86\x91" : "\xe2\x86\x93");
            trl_strbuf_printf(b, "%-14s", name);
        }
        for (j = 0; j < nm; j++) {
            json_t *c = json_array_get(cells, j);
            value_text(c, v, sizeof v);
            delta_text(c, d, sizeof d);
            int is_best = (int)j == best && nm > 1;
            int shows_delta = j > 0 && d[0];
            if (html)
                trl_strbuf_printf(b, "<td>%s%s%s%s%s%s</td>",
                                  is_best ? "<b>" : "", v,
                                  is_best ? "</b>" : "",
                                  shows_delta ? "<br><small>" : "",
                                  shows_delta ? d : "",
                                  shows_delta ? "</small>" : "");
            else
                trl_strbuf_printf(b, "  %s%-25s%-27s", is_best ? "*" : " ",
                                  v, shows_delta ? d : "");
        }
        trl_strbuf_printf(b, html ? "</tr>\n" : "\n");
    }
    if (html)
        trl_strbuf_printf(b, "</tbody></table>\n");
}

json_t *trl_display_comparison(const json_t *r)
{
    trl_strbuf text, html;
    trl_strbuf_init(&text);
    trl_strbuf_init(&html);
    json_t *models = json_object_get(r, "models");
    header(&text, r, 0);
    header(&html, r, 1);
    table(&text, models, json_object_get(r, "metrics"), 0);
    table(&html, models, json_object_get(r, "metrics"), 1);
    size_t i;
    json_t *seg;
    json_array_foreach(json_object_get(r, "segments"), i, seg) {
        json_t *v = json_object_get(seg, "value");
        char label[200];
        if (json_is_string(v))
            snprintf(label, sizeof label, "segment %s", json_string_value(v));
        else
            snprintf(label, sizeof label, "segment %g", num(seg, "value"));
        long long rows = json_integer_value(json_object_get(seg, "rows"));
        const char *why = json_string_value(json_object_get(seg, "error"));
        trl_strbuf_printf(&text, "\n%s: %lld rows%s%s\n", label, rows,
                          why ? ": " : "", why ? why : "");
        trl_strbuf_printf(&html, "<h4>");
        trl_strbuf_html(&html, label);
        trl_strbuf_printf(&html, " (%lld rows)</h4>\n", rows);
        if (why) {
            trl_strbuf_printf(&html, "<p>");
            trl_strbuf_html(&html, why);
            trl_strbuf_printf(&html, "</p>\n");
            continue;
        }
        table(&text, models, json_object_get(seg, "metrics"), 0);
        table(&html, models, json_object_get(seg, "metrics"), 1);
    }
    json_t *bundle = NULL;
    if (text.p && html.p && (bundle = trl_display_text(text.p, text.len)) &&
        trl_display_add(bundle, "text/html", html.p, html.len) != 0) {
        json_decref(bundle);
        bundle = NULL;
    }
    free(text.p);
    free(html.p);
    return bundle;
}
