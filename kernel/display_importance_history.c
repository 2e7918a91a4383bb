/* display_importance_history.c - a feature's importance followed across a
 * model's versions: a table of features by versions (each version's latest
 * run of one method), with the change from the version before the latest,
 * and grouped horizontal bars, one per version, under each feature. HTML
 * with the SVG inside for notebooks, text for consoles. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"

#define DELTA "\xce\x94"

static const char *str(const json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

static double at(const json_t *feature, size_t v)
{
    json_t *x = json_array_get(json_object_get(feature, "values"), v);
    return json_is_number(x) ? json_number_value(x) : NAN;
}

static void cell(char *out, size_t size, double v)
{
    if (isnan(v))
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.4g", v);
}

static void header(trl_strbuf *b, const json_t *h, int html)
{
    const json_t *versions = json_object_get(h, "versions");
    const char *metric = str(h, "metric", NULL);
    char text[600];
    int n = snprintf(text, sizeof text, "%s importance%s%s of %s across %zu "
                     "version%s (each version's latest run: ",
                     str(h, "method", "?"), metric ? " by " : "",
                     metric ? metric : "", str(h, "model", "?"),
                     json_array_size(versions),
                     json_array_size(versions) == 1 ? "" : "s");
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v) {
        if (n <= 0 || (size_t)n >= sizeof text - 40)
            break;
        const char *on = str(v, "on", NULL);
        n += snprintf(text + n, sizeof text - (size_t)n, "%s%s run %lld%s%s",
                      i ? ", " : "", str(v, "ref", "?"),
                      (long long)json_integer_value(json_object_get(v,
                                                                    "id")),
                      on ? " on " : "", on ? on : "");
    }
    if (n > 0 && (size_t)n < sizeof text - 2)
        snprintf(text + n, sizeof text - (size_t)n, ")");
    if (html) {
        trl_strbuf_printf(b, "<p>");
        trl_strbuf_html(b, text);
        trl_strbuf_printf(b, "</p>\n");
    } else {
        trl_strbuf_printf(b, "%s\n\n", text);
    }
}

static void table(trl_strbuf *b, const json_t *h, size_t shown, int html)
{
    const json_t *versions = json_object_get(h, "versions");
    const json_t *features = json_object_get(h, "features");
    size_t nv = json_array_size(versions), i;
    json_t *v, *f;
    char c[48];
    if (html) {
        trl_strbuf_printf(b, "<table><thead><tr><th>feature</th>");
        json_array_foreach(versions, i, v) {
            trl_strbuf_printf(b, "<th>");
            trl_strbuf_html(b, str(v, "ref", "?"));
            trl_strbuf_printf(b, "</th>");
        }
        trl_strbuf_printf(b, "%s</tr></thead><tbody>\n",
                          nv > 1 ? "<th>" DELTA " latest</th>" : "");
    } else {
        trl_strbuf_printf(b, "%-28s", "feature");
        json_array_foreach(versions, i, v)
            trl_strbuf_printf(b, " %12.12s", str(v, "ref", "?"));
        trl_strbuf_printf(b, "%s\n", nv > 1 ? "     " DELTA " latest" : "");
    }
    json_array_foreach(features, i, f) {
        if (i == shown)
            break;
        if (html) {
            trl_strbuf_printf(b, "<tr><td>");
            trl_strbuf_html(b, str(f, "feature", "?"));
            trl_strbuf_printf(b, "</td>");
        } else {
            trl_strbuf_printf(b, "%-28.28s", str(f, "feature", "?"));
        }
        for (size_t k = 0; k < nv; k++) {
            cell(c, sizeof c, at(f, k));
            trl_strbuf_printf(b, html ? "<td>%s</td>" : " %12s", c);
        }
        if (nv > 1) {
            double d = at(f, nv - 1) - at(f, nv - 2);
            if (isnan(d))
                snprintf(c, sizeof c, "-");
            else
                snprintf(c, sizeof c, "%+.4g", d);
            trl_strbuf_printf(b, html ? "<td>%s</td>" : " %12s", c);
        }
        trl_strbuf_printf(b, html ? "</tr>\n" : "\n");
    }
    if (html)
        trl_strbuf_printf(b, "</tbody></table>\n");
    size_t n = json_array_size(features);
    if (shown < n) {
        char more[100];
        snprintf(more, sizeof more, "... and %zu more feature%s (--top shows "
                 "more)", n - shown, n - shown == 1 ? "" : "s");
        if (html) {
            trl_strbuf_printf(b, "<p><small>");
            trl_strbuf_html(b, more);
            trl_strbuf_printf(b, "</small></p>\n");
        } else {
            trl_strbuf_printf(b, "%s\n", more);
        }
    }
}

/* ---- grouped bars ------------------------------------------------------------ */

#define LABEL_W 170
#define BAR_W 330
#define BAR_H 9
#define GAP 10
#define PAD_T 8
#define LEGEND_H 22

static const char *const palette[] = {"#c6dbef", "#9ecae1", "#6baed6",
                                      "#3182bd", "#08519c"};
#define NPAL (sizeof palette / sizeof *palette)

/* Older versions lighter, the latest darkest (the last colours of the
 * palette, so two versions are a light and a dark blue). */
static const char *colour(size_t k, size_t nv)
{
    size_t from = nv >= NPAL ? 0 : NPAL - nv;
    return palette[(from + k) % NPAL];
}

static void chart(trl_strbuf *b, const json_t *h, size_t shown)
{
    const json_t *versions = json_object_get(h, "versions");
    const json_t *features = json_object_get(h, "features");
    size_t nv = json_array_size(versions);
    size_t nf = shown < json_array_size(features)
                    ? shown : json_array_size(features);
    if (nf == 0 || nv == 0)
        return;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < nf; i++)
        for (size_t k = 0; k < nv; k++) {
            double v = at(json_array_get(features, i), k);
            if (!isnan(v)) {
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
        }
    if (!(hi > lo))
        hi = lo + 1;
    double scale = BAR_W / (hi - lo), zero = LABEL_W - lo * scale;
    int group = (int)nv * BAR_H + GAP;
    int height = PAD_T + (int)nf * group + LEGEND_H * (int)((nv + 4) / 5) +
                 8;
    trl_strbuf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
                      "font-size=\"12\">", LABEL_W + BAR_W + 70, height);
    for (size_t i = 0; i < nf; i++) {
        const json_t *f = json_array_get(features, i);
        int y = PAD_T + (int)i * group;
        trl_strbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
                          LABEL_W - 6, y + (int)nv * BAR_H / 2 + 4);
        trl_strbuf_html(b, str(f, "feature", "?"));
        trl_strbuf_printf(b, "</text>");
        for (size_t k = 0; k < nv; k++) {
            double v = at(f, k);
            if (isnan(v))
                continue;
            trl_strbuf_printf(b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                              "height=\"%d\" fill=\"%s\"><title>",
                              v < 0 ? zero + v * scale : zero,
                              y + (int)k * BAR_H, fabs(v) * scale, BAR_H - 1,
                              colour(k, nv));
            trl_strbuf_html(b, str(json_array_get(versions, k), "ref", "?"));
            trl_strbuf_printf(b, ": %.4g</title></rect>", v);
        }
    }
    int axis = PAD_T + (int)nf * group;
    trl_strbuf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                      "stroke=\"#999\"/>", zero, PAD_T, zero, axis - GAP);
    for (size_t k = 0; k < nv; k++) {
        /* five to a line */
        int x = 10 + (int)(k % 5) * 110, y = axis + 4 + (int)(k / 5) * 16;
        trl_strbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"14\" "
                          "height=\"10\" fill=\"%s\"/><text x=\"%d\" "
                          "y=\"%d\">", x, y, colour(k, nv), x + 18, y + 9);
        trl_strbuf_html(b, str(json_array_get(versions, k), "ref", "?"));
        trl_strbuf_printf(b, "</text>");
    }
    trl_strbuf_printf(b, "</svg>\n");
}

json_t *trl_display_importance_history(const json_t *h, size_t top)
{
    size_t shown = top ? top : json_array_size(json_object_get(h,
                                                               "features"));
    trl_strbuf text, html;
    trl_strbuf_init(&text);
    trl_strbuf_init(&html);
    header(&text, h, 0);
    header(&html, h, 1);
    table(&text, h, shown, 0);
    table(&html, h, shown, 1);
    chart(&html, h, shown);
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
