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

static double num_at(const json_t *a, size_t i)
{
    json_t *v = json_array_get(a, i);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

/* "0.9203 [0.9198, 0.9209]", or the value alone without resamples; a
 * trailing "(k/B)" when only k resamples had a value (one class in a
 * small segment), as the interval then rests on those alone. */
static void value_text(const json_t *c, long long resamples, char *out,
                       size_t size)
{
    double v = num(c, "value"), lo = num(c, "lo"), hi = num(c, "hi");
    long long defined = json_integer_value(json_object_get(c, "defined"));
    if (isnan(v))
        snprintf(out, size, "undefined");
    else if (isnan(lo))
        snprintf(out, size, "%.4f", v);
    else if (defined < resamples)
        snprintf(out, size, "%.4f [%.4f, %.4f] (%lld/%lld)", v, lo, hi,
                 defined, resamples);
    else
        snprintf(out, size, "%.4f [%.4f, %.4f]", v, lo, hi);
}

/* "+0.0004 [-0.0001, 0.0009] p=0.32", or "" for the baseline. A p-value
 * of 0 means no resample crossed zero: the smallest two-sided value B
 * resamples can show is 2/B, so it reads p<2/B. */
static void delta_text(const json_t *c, long long resamples, char *out,
                       size_t size)
{
    double d = num(c, "delta"), lo = num(c, "delta_lo");
    double hi = num(c, "delta_hi"), p = num(c, "p");
    out[0] = '\0';
    if (isnan(d))
        return;
    if (isnan(lo))
        snprintf(out, size, "\xce\x94 %+.4f", d);
    else if (p == 0 && resamples > 0)
        snprintf(out, size, "\xce\x94 %+.4f [%+.4f, %+.4f] p<%.2g", d, lo,
                 hi, 2.0 / (double)resamples);
    else
        snprintf(out, size, "\xce\x94 %+.4f [%+.4f, %+.4f] p=%.2g", d, lo,
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
    const char *by = json_string_value(json_object_get(r, "resampled_by"));
    if (dropped)
        n += snprintf(text + n, sizeof text - (size_t)n, " (%lld without a "
                      "label, %s left out)", dropped,
                      by ? "a score or a group" : "or a score");
    if (B)
        n += snprintf(text + n, sizeof text - (size_t)n, "; 95%% intervals "
                      "from %lld paired bootstrap resamples%s%.64s%s (seed "
                      "%lld)", B, by ? " of " : "", by ? by : "",
                      by ? " groups" : "",
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
                  long long resamples, int html)
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
    }
    /* the text column fits the longest name and its arrow (one column,
     * three bytes, so printf's byte widths would misalign it) */
    int width = 12;
    json_array_foreach(html ? NULL : metrics, i, row) {
        const char *metric = json_string_value(json_object_get(row, "name"));
        int len = (int)strlen(metric ? metric : "?") + 2;
        width = len > width && len < 120 ? len : width;
    }
    if (!html) {
        trl_strbuf_printf(b, "%-*s", width, "metric");
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
            trl_strbuf_printf(b, "%-*s", width + 2, name);
        }
        for (j = 0; j < nm; j++) {
            json_t *c = json_array_get(cells, j);
            value_text(c, resamples, v, sizeof v);
            delta_text(c, resamples, d, sizeof d);
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

/* ---- plots ------------------------------------------------------------------- */

#define PANEL_W 280
#define PANEL_H 240
#define PAD 36
#define LEGEND_PER_LINE 4

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                      "#d62728", "#9467bd", "#8c564b",
                                      "#e377c2", "#7f7f7f"};

static const char *color(size_t k)
{
    return palette[k % (sizeof palette / sizeof *palette)];
}

/* Axes of a unit-square panel at (x, y): a frame, the title, 0 and 1. */
static void panel(trl_strbuf *b, int x, int y, const char *title,
                  const char *xlabel, const char *ylabel, int diagonal)
{
    int w = PANEL_W - 2 * PAD, h = PANEL_H - 2 * PAD;
    trl_strbuf_printf(b, "<g transform=\"translate(%d,%d)\"><rect x=\"%d\" "
                      "y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                      "stroke=\"#999\"/><text x=\"%d\" y=\"%d\" "
                      "text-anchor=\"middle\" font-size=\"13\">%s</text>"
                      "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
                      "font-size=\"11\">%s</text><text x=\"12\" y=\"%d\" "
                      "font-size=\"11\" transform=\"rotate(-90 12 %d)\" "
                      "text-anchor=\"middle\">%s</text>",
                      x, y, PAD, PAD, w, h, PANEL_W / 2, PAD - 10, title,
                      PANEL_W / 2, PANEL_H - 8, xlabel, PANEL_H / 2,
                      PANEL_H / 2, ylabel);
    if (diagonal)
        trl_strbuf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
                          "y2=\"%d\" stroke=\"#ccc\" "
                          "stroke-dasharray=\"4 3\"/>", PAD, PAD + h,
                          PAD + w, PAD);
}

/* A polyline of (xs[i], ys[i]) in [0, 1]^2 inside the current panel. */
static void line(trl_strbuf *b, const json_t *xs, const json_t *ys,
                 size_t k, int dots)
{
    int w = PANEL_W - 2 * PAD, h = PANEL_H - 2 * PAD;
    size_t n = json_array_size(xs);
    trl_strbuf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" "
                      "stroke-width=\"1.6\" points=\"", color(k));
    for (size_t i = 0; i < n; i++)
        trl_strbuf_printf(b, "%.1f,%.1f ",
                          PAD + w * num_at(xs, i),
                          PAD + h * (1 - num_at(ys, i)));
    trl_strbuf_printf(b, "\"/>");
    for (size_t i = 0; dots && i < n; i++)
        trl_strbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" "
                          "fill=\"%s\"/>", PAD + w * num_at(xs, i),
                          PAD + h * (1 - num_at(ys, i)), color(k));
}

/* Each model's difference from the baseline per metric, with its
 * interval: a row per metric and model, scaled to the row's widest
 * interval so metrics of any range share the panel. */
static void deltas(trl_strbuf *b, const json_t *r, int x, int y)
{
    const json_t *metrics = json_object_get(r, "metrics");
    size_t nm = json_array_size(json_object_get(r, "models"));
    int w = 2 * PANEL_W - 2 * PAD - 120;
    int row_h = 16, rows = 0;
    size_t i, k;
    json_t *m;
    trl_strbuf_printf(b, "<g transform=\"translate(%d,%d)\"><text x=\"%d\" "
                      "y=\"16\" font-size=\"13\" text-anchor=\"middle\">"
                      "difference from the baseline, 95%% paired interval"
                      "</text>", x, y, PANEL_W);
    json_array_foreach(metrics, i, m) {
        json_t *cells = json_object_get(m, "cells");
        double span = 0;
        for (k = 1; k < nm; k++) {
            const json_t *c = json_array_get(cells, k);
            span = fmax(span, fabs(num(c, "delta_lo")));
            span = fmax(span, fabs(num(c, "delta_hi")));
            span = fmax(span, fabs(num(c, "delta")));
        }
        if (!(span > 0))
            span = 1;
        for (k = 1; k < nm; k++, rows++) {
            const json_t *c = json_array_get(cells, k);
            double cy = 34 + rows * row_h, mid = 120 + w / 2.0;
            double d = num(c, "delta"), lo = num(c, "delta_lo");
            double hi = num(c, "delta_hi");
            trl_strbuf_printf(b, "<text x=\"4\" y=\"%.0f\" font-size=\"11\">",
                              cy + 4);
            trl_strbuf_html(b, json_string_value(json_object_get(m, "name")));
            trl_strbuf_printf(b, " %+.4f</text>", isnan(d) ? 0.0 : d);
            if (!isnan(lo))
                trl_strbuf_printf(b, "<line x1=\"%.1f\" y1=\"%.0f\" "
                                  "x2=\"%.1f\" y2=\"%.0f\" stroke=\"%s\" "
                                  "stroke-width=\"2\"/>",
                                  mid + lo / span * w / 2, cy,
                                  mid + hi / span * w / 2, cy, color(k));
            if (!isnan(d))
                trl_strbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.0f\" "
                                  "r=\"3.5\" fill=\"%s\"/>",
                                  mid + d / span * w / 2, cy, color(k));
        }
    }
    trl_strbuf_printf(b, "<line x1=\"%.1f\" y1=\"26\" x2=\"%.1f\" "
                      "y2=\"%d\" stroke=\"#999\"/></g>", 120 + w / 2.0,
                      120 + w / 2.0, 30 + rows * row_h);
}

/* ROC, precision-recall and calibration curves of every model, and the
 * differences from the baseline, as one inline SVG (inside the HTML:
 * nbconvert 6.5 drops image/svg+xml from its HTML export). */
static void plots(trl_strbuf *b, const json_t *r)
{
    const json_t *cv = json_object_get(r, "curves");
    const json_t *models = json_object_get(r, "models");
    size_t nm = json_array_size(models), k;
    /* the legend takes a line per LEGEND_PER_LINE models */
    int legend = 20 * (int)((nm + LEGEND_PER_LINE - 1) / LEGEND_PER_LINE);
    int height = PANEL_H + 20 + legend +
                 (nm > 1 ? 40 + 16 * (int)((nm - 1) * json_array_size(
                                               json_object_get(r, "metrics")))
                         : 0);
    trl_strbuf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"%d\" height=\"%d\" font-family=\"sans-serif\">",
                      3 * PANEL_W, height);
    if (json_is_array(cv)) {
        panel(b, 0, 0, "ROC", "false positive rate", "true positive rate", 1);
        for (k = 0; k < nm; k++) {
            const json_t *c = json_array_get(cv, k);
            line(b, json_object_get(c, "fpr"), json_object_get(c, "tpr"), k,
                 0);
        }
        trl_strbuf_printf(b, "</g>");
        panel(b, PANEL_W, 0, "precision-recall", "recall", "precision", 0);
        for (k = 0; k < nm; k++) {
            const json_t *c = json_array_get(cv, k);
            line(b, json_object_get(c, "recall"),
                 json_object_get(c, "precision"), k, 0);
        }
        trl_strbuf_printf(b, "</g>");
        panel(b, 2 * PANEL_W, 0, "calibration", "mean predicted",
              "fraction positive", 1);
        for (k = 0; k < nm; k++) {
            const json_t *cal = json_object_get(json_array_get(cv, k),
                                                "calibration");
            json_t *xs = json_array(), *ys = json_array();
            size_t i;
            json_t *p;
            json_array_foreach(cal, i, p) {
                json_array_append(xs, json_array_get(p, 0));
                json_array_append(ys, json_array_get(p, 1));
            }
            line(b, xs, ys, k, 1);
            json_decref(xs);
            json_decref(ys);
        }
        trl_strbuf_printf(b, "</g>");
    }
    /* the legend */
    for (k = 0; k < nm; k++) {
        const char *ref = json_string_value(json_array_get(models, k));
        int x = 40 + (int)(k % LEGEND_PER_LINE) * 200;
        int y = PANEL_H + 8 + 20 * (int)(k / LEGEND_PER_LINE);
        trl_strbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"12\" "
                          "height=\"12\" fill=\"%s\"/><text x=\"%d\" "
                          "y=\"%d\" font-size=\"12\">", x, y, color(k),
                          x + 16, y + 11);
        trl_strbuf_html(b, ref ? ref : "(unregistered)");
        trl_strbuf_printf(b, "</text>");
    }
    if (nm > 1)
        deltas(b, r, 0, PANEL_H + 16 + legend);
    trl_strbuf_printf(b, "</svg>\n");
}

json_t *trl_display_comparison(const json_t *r)
{
    trl_strbuf text, html;
    trl_strbuf_init(&text);
    trl_strbuf_init(&html);
    json_t *models = json_object_get(r, "models");
    header(&text, r, 0);
    header(&html, r, 1);
    long long B = json_integer_value(json_object_get(r, "resamples"));
    table(&text, models, json_object_get(r, "metrics"), B, 0);
    table(&html, models, json_object_get(r, "metrics"), B, 1);
    plots(&html, r);
    size_t i;
    json_t *seg;
    json_array_foreach(json_object_get(r, "segments"), i, seg) {
        json_t *v = json_object_get(seg, "value");
        char label[200];
        if (json_is_string(v))
            snprintf(label, sizeof label, "segment %s", json_string_value(v));
        else
            snprintf(label, sizeof label, "segment %.15g",
                     num(seg, "value"));
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
        table(&text, models, json_object_get(seg, "metrics"), B, 0);
        table(&html, models, json_object_get(seg, "metrics"), B, 1);
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
