/* display_importance.c - a feature importance run as a table, most
 * important first (a bar in the text too, so a console reads it at a
 * glance), optionally the table per encoded input, and as a horizontal
 * bar chart with error bars for permutation importance. HTML with the SVG
 * inside for notebooks (nbconvert 6.5 drops image/svg+xml from its HTML
 * export), text for consoles. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"

#define PLUSMINUS "\xc2\xb1"
#define BLOCK "\xe2\x96\x88"
#define TEXT_BAR 24   /* blocks for the most important feature */

static double num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

static int is_perm(const json_t *r)
{
    return strcmp(str(r, "method", ""), "permutation") == 0;
}

/* What the numbers mean, per method. */
static const char *meaning(const char *method)
{
    static const struct {
        const char *method, *text;
    } m[] = {
        {"gain", "the average gain of the splits on it (XGBoost)"},
        {"total_gain", "the total gain of its splits (XGBoost)"},
        {"weight", "the number of splits on it (XGBoost)"},
        {"cover", "the average cover (hessian weight of the rows) of its "
                  "splits (XGBoost)"},
        {"total_cover", "the total cover of its splits (XGBoost)"},
        {"coef", "|coefficient| per standard deviation of each input (the "
                 "model standardises its inputs)"}};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        if (strcmp(method, m[i].method) == 0)
            return m[i].text;
    return "";
}

static void header(trl_strbuf *b, const json_t *r, int html)
{
    char text[900];
    const char *model = str(r, "model", "an unregistered model");
    const char *method = str(r, "method", "?");
    int n;
    if (is_perm(r)) {
        long long dropped = json_integer_value(json_object_get(r,
                                                               "dropped"));
        char left[80] = "";
        if (dropped)
            snprintf(left, sizeof left, ", %lld without a label left out",
                     dropped);
        n = snprintf(text, sizeof text, "permutation importance of %s on %s "
                     "(%lld rows%s): the drop in %s (%.4f unshuffled%s) "
                     "when a feature is shuffled, mean " PLUSMINUS " std "
                     "over %lld shuffles (seed %lld)", model,
                     str(r, "on", "an unregistered frame"),
                     (long long)json_integer_value(json_object_get(r,
                                                                   "rows")),
                     left, str(r, "metric", "?"), num(r, "baseline"),
                     json_is_false(json_object_get(r, "higher_is_better"))
                         ? ", lower is better" : "",
                     (long long)json_integer_value(json_object_get(r,
                                                                   "repeats")),
                     (long long)json_integer_value(json_object_get(r,
                                                                   "seed")));
    } else {
        n = snprintf(text, sizeof text, "%s importance of %s: %s; a "
                     "feature's encoded inputs %s", method, model,
                     meaning(method),
                     strcmp(method, "gain") == 0 ||
                             strcmp(method, "cover") == 0
                         ? "pooled (its total over its splits)"
                         : "summed");
    }
    json_t *id = json_object_get(r, "recorded");
    const char *why = str(r, "not_recorded", NULL);
    if (n > 0 && (size_t)n < sizeof text && id)
        snprintf(text + n, sizeof text - (size_t)n, "; recorded as "
                 "importance run %lld", (long long)json_integer_value(id));
    else if (n > 0 && (size_t)n < sizeof text && why)
        snprintf(text + n, sizeof text - (size_t)n, "; not recorded: %s",
                 why);
    if (html) {
        trl_strbuf_printf(b, "<p>");
        trl_strbuf_html(b, text);
        trl_strbuf_printf(b, "</p>\n");
    } else {
        trl_strbuf_printf(b, "%s\n\n", text);
    }
}

/* "0.2559 ± 0.0146", "4.387", "28" */
static void value_text(const json_t *f, int perm, char *out, size_t size)
{
    double v = num(f, "value"), s = num(f, "std");
    if (isnan(v))
        snprintf(out, size, "undefined");
    else if (perm)
        snprintf(out, size, "%.4f " PLUSMINUS " %.4f", v, isnan(s) ? 0 : s);
    else
        snprintf(out, size, "%.4g", v);
}

/* The largest value among the first n entries: the bars' scale. */
static double largest(const json_t *list, size_t n)
{
    double top = 0;
    for (size_t i = 0; i < n && i < json_array_size(list); i++) {
        double v = num(json_array_get(list, i), "value");
        if (v > top)
            top = v;
    }
    return top;
}

static void text_bar(trl_strbuf *b, double v, double top)
{
    int k = top > 0 && v > 0 ? (int)lround(TEXT_BAR * v / top) : 0;
    for (int i = 0; i < k; i++)
        trl_strbuf_printf(b, BLOCK);
}

/* Rows of list (features or inputs) up to shown, keyed by key. */
static void table(trl_strbuf *b, const json_t *list, const char *key,
                  size_t shown, int perm, const char *method, int html)
{
    double top = largest(list, shown);
    char v[96];
    /* text columns as wide as their widest entry (names up to 28) */
    int nw = (int)strlen(key), vw = (int)strlen(perm ? "drop" : method);
    for (size_t i = 0; !html && i < shown && i < json_array_size(list);
         i++) {
        const json_t *f = json_array_get(list, i);
        int len = (int)strlen(str(f, key, "?"));
        nw = len > nw ? (len > 28 ? 28 : len) : nw;
        value_text(f, perm, v, sizeof v);
        len = (int)strlen(v) - (perm ? 1 : 0);  /* ± is 2 bytes, 1 column */
        vw = len > vw ? len : vw;
    }
    if (html) {
        trl_strbuf_printf(b, "<table><thead><tr><th>#</th><th>%s</th>"
                          "<th>%s</th>%s</tr></thead><tbody>\n", key,
                          perm ? "drop" : method,
                          strcmp(key, "feature") == 0 ? "<th>inputs</th>"
                          : "<th>feature</th>");
    } else {
        trl_strbuf_printf(b, "%3s  %-*s  %*s  %s\n", "#", nw, key, vw,
                          perm ? "drop" : method,
                          strcmp(key, "feature") == 0 ? "" : "feature");
    }
    for (size_t i = 0; i < shown && i < json_array_size(list); i++) {
        const json_t *f = json_array_get(list, i);
        int is_feature = strcmp(key, "feature") == 0;
        value_text(f, perm, v, sizeof v);
        if (html) {
            trl_strbuf_printf(b, "<tr><td>%zu</td><td>", i + 1);
            trl_strbuf_html(b, str(f, key, "?"));
            trl_strbuf_printf(b, "</td><td>%s</td><td>", v);
            if (is_feature)
                trl_strbuf_printf(b, "%lld", (long long)json_integer_value(
                                                 json_object_get(f,
                                                                 "inputs")));
            else
                trl_strbuf_html(b, str(f, "feature", "?"));
            trl_strbuf_printf(b, "</td></tr>\n");
            continue;
        }
        trl_strbuf_printf(b, "%3zu  %-*.*s  %*s  ", i + 1, nw, nw,
                          str(f, key, "?"), vw + (perm ? 1 : 0), v);
        if (is_feature)
            text_bar(b, num(f, "value"), top);
        else
            trl_strbuf_printf(b, "%s", str(f, "feature", "?"));
        trl_strbuf_printf(b, "\n");
    }
    if (html)
        trl_strbuf_printf(b, "</tbody></table>\n");
    size_t n = json_array_size(list);
    if (shown < n) {
        char more[120];
        snprintf(more, sizeof more, "... and %zu more %s%s (--top shows "
                 "more)", n - shown, key, n - shown == 1 ? "" : "s");
        if (html) {
            trl_strbuf_printf(b, "<p><small>");
            trl_strbuf_html(b, more);
            trl_strbuf_printf(b, "</small></p>\n");
        } else {
            trl_strbuf_printf(b, "%s\n", more);
        }
    }
}

/* ---- the bar chart ------------------------------------------------------------- */

#define LABEL_W 170
#define BAR_W 330
#define ROW_H 22
#define PAD_T 10
#define AXIS_H 30

static const char *const bar_colour = "#1f77b4";

/* The smallest 1, 2, 2.5 or 5 times a power of ten at or above x. */
static double nice_step(double x)
{
    if (!(x > 0) || !isfinite(x))
        return 1;
    double e = pow(10, floor(log10(x)));
    static const double steps[] = {1, 2, 2.5, 5, 10};
    for (int i = 0; i < 5; i++)
        if (steps[i] * e >= x * (1 - 1e-12))
            return steps[i] * e;
    return 10 * e;
}

/* A horizontal bar per feature from 0, the zero line and, for
 * permutation, mean ± std as an error bar: negative drops (shuffling
 * helped, by chance) go left of zero. */
static void chart(trl_strbuf *b, const json_t *features, size_t shown,
                  int perm)
{
    size_t n = shown < json_array_size(features) ? shown
                                                 : json_array_size(features);
    if (n == 0)
        return;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *f = json_array_get(features, i);
        double v = num(f, "value"), s = perm ? num(f, "std") : 0;
        if (isnan(v))
            continue;
        s = isnan(s) ? 0 : s;
        lo = fmin(lo, v - s);
        hi = fmax(hi, v + s);
    }
    if (!(hi > lo))
        hi = lo + 1;
    /* the axis ends on round ticks: 0, 0.05, 0.1, ... */
    double step = nice_step((hi - lo) / 4);
    lo = floor(lo / step) * step;
    hi = ceil(hi / step - 1e-9) * step;
    int height = PAD_T + (int)n * ROW_H + AXIS_H;
    double scale = BAR_W / (hi - lo);
    double zero = LABEL_W + (0 - lo) * scale;
    trl_strbuf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
                      "font-size=\"12\">", LABEL_W + BAR_W + 70, height);
    for (size_t i = 0; i < n; i++) {
        const json_t *f = json_array_get(features, i);
        double v = num(f, "value"), s = perm ? num(f, "std") : NAN;
        int y = PAD_T + (int)i * ROW_H;
        trl_strbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
                          LABEL_W - 6, y + 15);
        trl_strbuf_html(b, str(f, "feature", "?"));
        trl_strbuf_printf(b, "</text>");
        if (isnan(v))
            continue;
        double x0 = v < 0 ? zero + v * scale : zero;
        trl_strbuf_printf(b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                          "height=\"%d\" fill=\"%s\"><title>%.4g</title>"
                          "</rect>", x0, y + 4, fabs(v) * scale, ROW_H - 8,
                          bar_colour, v);
        if (!isnan(s) && s > 0) {
            double a = zero + (v - s) * scale, c = zero + (v + s) * scale;
            int mid = y + ROW_H / 2;
            trl_strbuf_printf(b, "<path d=\"M%.1f %dH%.1fM%.1f %dV%dM%.1f "
                              "%dV%d\" stroke=\"#333\" fill=\"none\"/>", a,
                              mid, c, a, mid - 4, mid + 4, c, mid - 4,
                              mid + 4);
        }
    }
    int axis = PAD_T + (int)n * ROW_H;
    trl_strbuf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                      "stroke=\"#999\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
                      "y2=\"%d\" stroke=\"#999\"/>", zero, PAD_T, zero, axis,
                      LABEL_W, axis, LABEL_W + BAR_W, axis);
    int ticks = (int)lround((hi - lo) / step);
    for (int t = 0; t <= ticks; t++) {
        double v = lo + step * t;
        double x = LABEL_W + (v - lo) * scale;
        trl_strbuf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
                          "y2=\"%d\" stroke=\"#999\"/><text x=\"%.1f\" "
                          "y=\"%d\" text-anchor=\"middle\" "
                          "font-size=\"10\">%.3g</text>", x, axis, x,
                          axis + 4, x, axis + 16,
                          fabs(v) < step * 1e-9 ? 0 : v);
    }
    trl_strbuf_printf(b, "</svg>\n");
}

typedef struct keyed {
    double value;
    size_t order;
} keyed;

static int by_value_desc(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? 1 : -1;
    return (x->order > y->order) - (x->order < y->order);
}

/* The inputs most important first (ties in the model's order): a new
 * array, or NULL when out of memory. */
static json_t *by_value(const json_t *ins)
{
    size_t n = json_array_size(ins);
    keyed *k = malloc(n * sizeof *k);
    json_t *out = k ? json_array() : NULL;
    for (size_t i = 0; out && i < n; i++) {
        double v = num(json_array_get(ins, i), "value");
        k[i] = (keyed){isnan(v) ? -INFINITY : v, i};
    }
    if (out)
        qsort(k, n, sizeof *k, by_value_desc);
    for (size_t i = 0; out && i < n; i++)
        json_array_append(out, json_array_get(ins, k[i].order));
    free(k);
    return out;
}

json_t *trl_display_importance(const json_t *r, size_t top, int inputs)
{
    int perm = is_perm(r);
    const json_t *features = json_object_get(r, "features");
    const json_t *ins = json_object_get(r, "inputs");
    size_t shown = top ? top : json_array_size(features);
    const char *method = str(r, "method", "value");
    trl_strbuf text, html;
    trl_strbuf_init(&text);
    trl_strbuf_init(&html);
    header(&text, r, 0);
    header(&html, r, 1);
    table(&text, features, "feature", shown, perm, method, 0);
    table(&html, features, "feature", shown, perm, method, 1);
    chart(&html, features, shown, perm);
    json_t *sorted = inputs && json_array_size(ins) ? by_value(ins) : NULL;
    if (sorted) {
        size_t in_shown = top ? top : json_array_size(sorted);
        trl_strbuf_printf(&text, "\nper encoded input:\n");
        trl_strbuf_printf(&html, "<p>per encoded input:</p>\n");
        table(&text, sorted, "input", in_shown, 0, method, 0);
        table(&html, sorted, "input", in_shown, 0, method, 1);
        json_decref(sorted);
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
