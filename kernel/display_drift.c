/* display_drift.c - a drift result (trl_drift_run) as a table: a row per
 * feature, largest PSI first, flagged rows marked, with the PSI band, the
 * Kolmogorov-Smirnov statistic and p-value or the Jensen-Shannon
 * distance, and the missing shares; then, for each flagged feature, REF's
 * and NEW's histograms overlaid in an inline SVG (inside the HTML:
 * Debian's nbconvert drops image/svg+xml from its HTML export). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"

/* Flagged features drawn; a note counts the rest. */
#define MAX_PLOTS 12
#define PLOTS_PER_ROW 3
#define PLOT_W 300
#define PLOT_H 170
#define PAD_L 12
#define PAD_B 34
#define PAD_T 30

static const char *const REF_COLOR = "#1f77b4", *const NEW_COLOR = "#ff7f0e";

static double num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* "live (live@3)", "live@3", or "an unregistered frame". */
static void frame_label(const json_t *r, const char *ref_key,
                        const char *name_key, char *out, size_t size)
{
    const char *ref = str(r, ref_key), *name = str(r, name_key);
    if (name && ref && strcmp(name, ref) != 0)
        snprintf(out, size, "%.100s (%.100s)", name, ref);
    else if (name || ref)
        snprintf(out, size, "%.200s", name ? name : ref);
    else
        snprintf(out, size, "an unregistered frame");
}

/* The header line and the verdict. */
static void summary(const json_t *r, char *out, size_t size)
{
    char ref[220], cur[220];
    frame_label(r, "ref", "ref_name", ref, sizeof ref);
    frame_label(r, "new", "new_name", cur, sizeof cur);
    const json_t *fs = json_object_get(r, "features");
    size_t n = json_array_size(fs);
    long long flagged = json_integer_value(json_object_get(r, "flagged"));
    double threshold = num(r, "threshold");
    const char *model = str(r, "model");
    int k = snprintf(out, size, "drift of %s from %s", cur, ref);
    if (model && k > 0 && (size_t)k < size)
        k += snprintf(out + k, size - (size_t)k, ", predictions of %.100s",
                      model);
    if (k > 0 && (size_t)k < size) {
        if (flagged)
            k += snprintf(out + k, size - (size_t)k, ": %lld of %zu "
                          "feature%s over PSI %.3g", flagged, n,
                          n == 1 ? "" : "s", threshold);
        else
            k += snprintf(out + k, size - (size_t)k, ": no feature of %zu "
                          "over PSI %.3g (largest %.3f, %s)", n, threshold,
                          num(r, "max_psi"),
                          str(json_array_get(fs, 0), "name")
                              ? str(json_array_get(fs, 0), "name") : "?");
    }
    json_t *id = json_object_get(r, "recorded");
    if (id && k > 0 && (size_t)k < size)
        snprintf(out + k, size - (size_t)k, "; recorded as drift run %lld",
                 (long long)json_integer_value(id));
    const char *why = json_string_value(json_object_get(r, "not_recorded"));
    if (!id && why && k > 0 && (size_t)k < size)
        snprintf(out + k, size - (size_t)k, "; not recorded: %s", why);
}

/* "0.1234", or "-" where the statistic does not apply. */
static void cell_number(char *out, size_t size, double x)
{
    if (isnan(x))
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.4f", x);
}

/* "1.2e-45", "0.032", "< 1e-300" for p-values. */
static void p_text(char *out, size_t size, double p)
{
    if (isnan(p))
        snprintf(out, size, "-");
    else if (p == 0)
        snprintf(out, size, "< 1e-300");
    else if (p < 1e-3)
        snprintf(out, size, "%.2g", p);
    else
        snprintf(out, size, "%.3f", p);
}

static void table(trl_strbuf *b, const json_t *r, int html)
{
    const json_t *fs = json_object_get(r, "features");
    if (html)
        trl_strbuf_printf(b, "<table><thead><tr><th></th><th>feature</th>"
                          "<th>kind</th><th>PSI</th><th>band</th>"
                          "<th>KS</th><th>KS p-value</th><th>JS</th>"
                          "<th>missing ref / new</th></tr></thead><tbody>\n");
    else
        trl_strbuf_printf(b, "  %-24s %-12s %8s %-14s %7s %10s %7s  %s\n",
                          "feature", "kind", "PSI", "band", "KS",
                          "p-value", "JS", "missing ref / new");
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f) {
        int flagged = json_is_true(json_object_get(f, "flagged"));
        char psi[32], ks[32], p[32], js[32], miss[64];
        cell_number(psi, sizeof psi, num(f, "psi"));
        cell_number(ks, sizeof ks, num(f, "ks"));
        p_text(p, sizeof p, num(f, "ks_p"));
        cell_number(js, sizeof js, num(f, "js"));
        snprintf(miss, sizeof miss, "%.1f%% / %.1f%%",
                 100 * num(f, "missing_ref"), 100 * num(f, "missing_new"));
        const char *name = str(f, "name"), *kind = str(f, "kind");
        const char *band = str(f, "band");
        if (html) {
            trl_strbuf_printf(b, "<tr%s><td>%s</td><td>", flagged
                              ? " style=\"background:#fde0dc\"" : "",
                              flagged ? "\xe2\x9a\xa0" : "");
            trl_strbuf_html(b, name ? name : "?");
            trl_strbuf_printf(b, "</td><td>%s</td><td>%s%s%s</td><td>%s"
                              "</td><td>%s</td><td>%s</td><td>%s</td>"
                              "<td>%s</td></tr>\n", kind ? kind : "",
                              flagged ? "<b>" : "", psi,
                              flagged ? "</b>" : "", band ? band : "", ks, p,
                              js, miss);
        } else {
            trl_strbuf_printf(b, "%s %-24.24s %-12s %8s %-14s %7s %10s %7s  "
                              "%s\n", flagged ? "!" : " ", name ? name : "?",
                              kind ? kind : "", psi, band ? band : "", ks, p,
                              js, miss);
        }
    }
    if (html)
        trl_strbuf_printf(b, "</tbody></table>\n");
}

/* One line naming the columns left out for one reason: in one frame
 * only, or ids (every value distinct: nothing to compare). */
static void skipped_note(trl_strbuf *b, const json_t *skipped, int ids,
                         int html)
{
    size_t i, shown = 0;
    json_t *s;
    json_array_foreach(skipped, i, s) {
        if ((str(s, "reason") != NULL) != ids)
            continue;
        char one[160];
        if (ids)
            snprintf(one, sizeof one, "%s%.100s", shown ? ", " : "",
                     str(s, "name") ? str(s, "name") : "?");
        else
            snprintf(one, sizeof one, "%s%.100s (%s)", shown ? ", " : "",
                     str(s, "name") ? str(s, "name") : "?",
                     str(s, "only_in") && strcmp(str(s, "only_in"), "ref")
                         == 0 ? "REF" : "NEW");
        if (!shown++)
            trl_strbuf_printf(b, "%s%s", html ? "<p>" : "", ids
                              ? "left out (ids, every value distinct; "
                                "--features compares them): "
                              : "left out (in one frame only): ");
        if (html)
            trl_strbuf_html(b, one);
        else
            trl_strbuf_printf(b, "%s", one);
    }
    if (shown)
        trl_strbuf_printf(b, html ? "</p>\n" : "\n");
}

/* Notes under the table: what was left out, unseen categories. */
static void notes(trl_strbuf *b, const json_t *r, int html)
{
    const json_t *skipped = json_object_get(r, "skipped");
    size_t i;
    skipped_note(b, skipped, 0, html);
    skipped_note(b, skipped, 1, html);
    json_t *f;
    json_array_foreach(json_object_get(r, "features"), i, f) {
        long long unseen = json_integer_value(json_object_get(f,
                                                              "unseen_count"));
        if (!unseen)
            continue;
        char line[400];
        int k = snprintf(line, sizeof line, "%.100s: %lld categor%s only "
                         "in NEW (%.1f%% of its rows): ", str(f, "name"),
                         unseen, unseen == 1 ? "y" : "ies",
                         100 * num(f, "unseen_share"));
        size_t j;
        json_t *u;
        json_array_foreach(json_object_get(f, "unseen"), j, u) {
            if (k > 0 && (size_t)k < sizeof line)
                k += snprintf(line + k, sizeof line - (size_t)k, "%s%.40s",
                              j ? ", " : "", json_string_value(u));
        }
        if (unseen > (long long)j && k > 0 && (size_t)k < sizeof line)
            snprintf(line + k, sizeof line - (size_t)k, ", ...");
        if (html) {
            trl_strbuf_printf(b, "<p>");
            trl_strbuf_html(b, line);
            trl_strbuf_printf(b, "</p>\n");
        } else {
            trl_strbuf_printf(b, "%s\n", line);
        }
    }
    char foot[200];
    snprintf(foot, sizeof foot, "PSI over REF's deciles and a missing bin "
             "(shares floored at %g; < 0.1 insignificant, 0.1-0.25 "
             "moderate, > 0.25 major); KS as scipy.stats.ks_2samp; JS "
             "base 2", num(r, "epsilon"));
    if (html) {
        trl_strbuf_printf(b, "<p><small>");
        trl_strbuf_html(b, foot);
        trl_strbuf_printf(b, "</small></p>\n");
    } else {
        trl_strbuf_printf(b, "%s\n", foot);
    }
}

/* ---- the histograms ------------------------------------------------------------ */

/* One panel at (x0, y0): REF's and NEW's shares as overlaid bars. */
static void panel(trl_strbuf *b, const json_t *f, int x0, int y0)
{
    const json_t *h = json_object_get(f, "hist");
    const json_t *ref = json_object_get(h, "ref"), *cur = json_object_get(h,
                                                                          "new");
    const json_t *edges = json_object_get(h, "edges");
    const json_t *cats = json_object_get(h, "categories");
    size_t n = json_array_size(ref);
    int w = PLOT_W - 2 * PAD_L, ht = PLOT_H - PAD_T - PAD_B;
    double top = 0;
    for (size_t k = 0; k < n; k++) {
        top = fmax(top, json_number_value(json_array_get(ref, k)));
        top = fmax(top, json_number_value(json_array_get(cur, k)));
    }
    if (!(top > 0))
        top = 1;
    char title[200];
    snprintf(title, sizeof title, "%.60s: PSI %.3f", str(f, "name"),
             num(f, "psi"));
    trl_strbuf_printf(b, "<g transform=\"translate(%d,%d)\"><text x=\"%d\" "
                      "y=\"16\" font-size=\"12\" text-anchor=\"middle\">",
                      x0, y0, PLOT_W / 2);
    trl_strbuf_html(b, title);
    trl_strbuf_printf(b, "</text><line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
                      "y2=\"%d\" stroke=\"#999\"/>", PAD_L, PAD_T + ht,
                      PAD_L + w, PAD_T + ht);
    double bw = n ? (double)w / (double)n : 0;
    for (size_t k = 0; k < n; k++) {
        for (int side = 0; side < 2; side++) {
            double v = json_number_value(json_array_get(side ? cur : ref, k));
            double bh = ht * v / top;
            trl_strbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                              "height=\"%.1f\" fill=\"%s\" "
                              "fill-opacity=\"0.5\"/>",
                              PAD_L + bw * k + 0.5, PAD_T + ht - bh,
                              bw > 1.5 ? bw - 1 : bw, bh,
                              side ? NEW_COLOR : REF_COLOR);
        }
        if (cats) {
            char label[16];
            snprintf(label, sizeof label, "%.9s",
                     json_string_value(json_array_get(cats, k)));
            trl_strbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\" "
                              "text-anchor=\"end\" transform=\"rotate(-35 "
                              "%.1f %d)\">", PAD_L + bw * (k + 0.5),
                              PAD_T + ht + 10, PAD_L + bw * (k + 0.5),
                              PAD_T + ht + 10);
            trl_strbuf_html(b, label);
            trl_strbuf_printf(b, "</text>");
        }
    }
    if (edges && json_array_size(edges) >= 2) {
        trl_strbuf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"10\">"
                          "%.4g</text><text x=\"%d\" y=\"%d\" "
                          "font-size=\"10\" text-anchor=\"end\">%.4g</text>",
                          PAD_L, PAD_T + ht + 13,
                          json_number_value(json_array_get(edges, 0)),
                          PAD_L + w, PAD_T + ht + 13,
                          json_number_value(json_array_get(
                              edges, json_array_size(edges) - 1)));
    }
    trl_strbuf_printf(b, "</g>");
}

static void plots(trl_strbuf *b, const json_t *r)
{
    const json_t *fs = json_object_get(r, "features");
    size_t flagged = 0, i;
    json_t *f;
    json_array_foreach(fs, i, f) flagged += json_is_true(
        json_object_get(f, "flagged")) && json_array_size(
        json_object_get(json_object_get(f, "hist"), "ref"));
    if (!flagged)
        return;
    size_t drawn = flagged < MAX_PLOTS ? flagged : MAX_PLOTS;
    size_t rows = (drawn + PLOTS_PER_ROW - 1) / PLOTS_PER_ROW;
    size_t cols = drawn < PLOTS_PER_ROW ? drawn : PLOTS_PER_ROW;
    trl_strbuf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"%zu\" height=\"%zu\" font-family=\"sans-serif\">"
                      "<rect x=\"8\" y=\"6\" width=\"10\" height=\"10\" "
                      "fill=\"%s\" fill-opacity=\"0.5\"/><text x=\"22\" "
                      "y=\"15\" font-size=\"11\">REF</text><rect x=\"60\" "
                      "y=\"6\" width=\"10\" height=\"10\" fill=\"%s\" "
                      "fill-opacity=\"0.5\"/><text x=\"74\" y=\"15\" "
                      "font-size=\"11\">NEW</text>",
                      cols * PLOT_W, rows * PLOT_H + 20, REF_COLOR,
                      NEW_COLOR);
    size_t k = 0;
    json_array_foreach(fs, i, f) {
        if (k == drawn)
            break;
        if (!json_is_true(json_object_get(f, "flagged")) ||
            !json_array_size(json_object_get(json_object_get(f, "hist"),
                                             "ref")))
            continue;
        panel(b, f, (int)(k % PLOTS_PER_ROW) * PLOT_W,
              20 + (int)(k / PLOTS_PER_ROW) * PLOT_H);
        k++;
    }
    trl_strbuf_printf(b, "</svg>\n");
    if (flagged > drawn)
        trl_strbuf_printf(b, "<p>%zu more flagged feature%s not drawn</p>\n",
                          flagged - drawn, flagged - drawn == 1 ? "" : "s");
}

json_t *trl_display_drift(const json_t *r)
{
    trl_strbuf text, html;
    trl_strbuf_init(&text);
    trl_strbuf_init(&html);
    char line[800];
    summary(r, line, sizeof line);
    trl_strbuf_printf(&text, "%s\n", line);
    trl_strbuf_printf(&html, "<p>");
    trl_strbuf_html(&html, line);
    trl_strbuf_printf(&html, "</p>\n");
    table(&text, r, 0);
    table(&html, r, 1);
    notes(&text, r, 0);
    notes(&html, r, 1);
    plots(&html, r);
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
