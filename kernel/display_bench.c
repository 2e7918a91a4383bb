/* display_bench.c - a serving benchmark as a table (a row per model,
 * thread count and batch size: latency percentiles per call and per row,
 * throughput, peak memory; with a second model, its ratio to the first
 * under each configuration) and as percentile curves, one panel per batch
 * size. HTML with the SVG inside for notebooks, text for consoles. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/bench.h"
#include "trellis/display.h"

#define MICRO "\xc2\xb5"
#define TIMES "\xc3\x97"

static double num(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static long long integer(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static const char *ref_of(const json_t *r, size_t k)
{
    const char *s = json_string_value(json_array_get(
        json_object_get(r, "models"), k));
    return s ? s : "(unregistered)";
}

/* About four significant digits without an exponent: latencies run from
 * 0.0003 ms (a linear model, one row) to seconds. */
static void fixed4(double x, char *out, size_t size)
{
    double a = fabs(x);
    int decimals = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 10 ? 2 : a >= 1 ? 3
                 : a >= 0.1 ? 4 : a >= 0.01 ? 5 : 6;
    if (isnan(x))
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.*f", decimals, x);
}

/* 1.94M, 573k, 812: three digits, the unit chosen after rounding (so
 * 999,960 reads 1M, not 1e+03k) */
static void rate(double x, char *out, size_t size)
{
    static const char *const units[] = {"", "k", "M", "G"};
    int u = 0;
    while (u < 3 && x >= 999.5)
        x /= 1000, u++;
    if (isnan(x))
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.3g%s", x, units[u]);
}

/* "1.82x" (text: one byte a column) or "1.82×" (HTML). */
static void ratio(double x, char *out, size_t size, int html)
{
    if (isnan(x))
        snprintf(out, size, "-");
    else
        snprintf(out, size, "%.3g%s", x, html ? TIMES : "x");
}

/* ---- header ---------------------------------------------------------------- */

static void header(trl_strbuf *b, const json_t *r, int html)
{
    size_t nm = json_array_size(json_object_get(r, "models"));
    const char *on = json_string_value(json_object_get(r, "on"));
    char text[1200];
    int n = snprintf(text, sizeof text, "%s%s%s on %s (%lld rows): %g s "
                     "per configuration after a %g s warm-up",
                     ref_of(r, 0), nm > 1 ? " vs " : "",
                     nm > 1 ? ref_of(r, 1) : "",
                     on ? on : "an unregistered frame", integer(r, "rows"),
                     num(r, "duration"), num(r, "warmup"));
    json_t *id = json_object_get(r, "recorded");
    const char *why = json_string_value(json_object_get(r, "not_recorded"));
    if (n > 0 && (size_t)n < sizeof text && id)
        snprintf(text + n, sizeof text - (size_t)n, "; recorded as "
                 "benchmark %lld", (long long)json_integer_value(id));
    else if (n > 0 && (size_t)n < sizeof text && why)
        snprintf(text + n, sizeof text - (size_t)n, "; not recorded: %s",
                 why);
    const json_t *o = json_object_get(r, "overhead");
    const json_t *host = json_object_get(r, "host");
    const char *cpu = json_string_value(json_object_get(host, "cpu"));
    char how[800];
    snprintf(how, sizeof how, "Each call encodes a batch of the frame's rows "
             "and predicts; latencies are percentiles of every call "
             "(interpolated as NumPy's default); the timer reads in %.0f ns "
             "and an empty call measures %.0f ns. Peak RSS: %s. %lld "
             "CPU%s%s%s.", num(o, "timer_ns"), num(o, "empty_call_ns"),
             json_string_value(json_object_get(r, "memory"))
                 ? json_string_value(json_object_get(r, "memory"))
                 : "unknown",
             integer(host, "cpus"), integer(host, "cpus") == 1 ? "" : "s",
             cpu ? ", " : "", cpu ? cpu : "");
    if (html) {
        trl_strbuf_printf(b, "<p>");
        trl_strbuf_html(b, text);
        trl_strbuf_printf(b, "<br><small>");
        trl_strbuf_html(b, how);
        trl_strbuf_printf(b, "</small></p>\n");
    } else {
        trl_strbuf_printf(b, "%s\n%s\n\n", text, how);
    }
}

/* ---- table ----------------------------------------------------------------- */

/* p99.9 of fewer calls than this is interpolated among the slowest few */
#define TAIL_CALLS 1000

static void table_head(trl_strbuf *b, int html)
{
    if (html) {
        trl_strbuf_printf(b, "<table><thead><tr><th>model</th><th>threads"
                          "</th><th>batch</th><th>calls</th><th>p50 ms</th>"
                          "<th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th>"
                          "<th>mean ms</th><th>p50 " MICRO "s/row</th>"
                          "<th>p99 " MICRO "s/row</th><th>rows/s</th>"
                          "<th>peak RSS MiB</th></tr></thead><tbody>\n");
        return;
    }
    trl_strbuf_printf(b, "%-22s %7s %7s %9s %9s %9s %9s %10s %9s %11s "
                      "%11s %8s %9s\n", "model", "threads", "batch",
                      "calls", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
                      "mean ms", "p50 us/row", "p99 us/row", "rows/s",
                      "peak MiB");
}

static void table_row(trl_strbuf *b, const json_t *row, const char *ref,
                      int html)
{
    static const char *const keys[] = {"p50_ms", "p90_ms", "p99_ms",
                                       "p99_9_ms", "mean_ms", "row_p50_us",
                                       "row_p99_us"};
    char v[7][32], rows[32], peak[48];
    for (int i = 0; i < 7; i++)
        fixed4(num(row, keys[i]), v[i], sizeof v[i]);
    long long calls = integer(row, "calls");
    /* marked: interpolated among the slowest calls (see the note) */
    if (calls < TAIL_CALLS)
        strcat(v[3], "*");
    if (json_is_true(json_object_get(row, "capped")))
        strcat(v[0], "+");
    rate(num(row, "rows_per_s"), rows, sizeof rows);
    double p = num(row, "peak_rss_mb"), g = num(row, "rss_growth_mb");
    if (isnan(p))
        snprintf(peak, sizeof peak, "-");
    else if (isnan(g))
        snprintf(peak, sizeof peak, "%.1f", p);
    else
        snprintf(peak, sizeof peak, "%.1f (+%.1f)", p, g < 0 ? 0.0 : g);
    if (html) {
        trl_strbuf_printf(b, "<tr><td>");
        trl_strbuf_html(b, ref);
        trl_strbuf_printf(b, "</td><td>%lld</td><td>%lld</td><td>%lld</td>",
                          integer(row, "threads"), integer(row, "batch"),
                          calls);
        for (int i = 0; i < 7; i++)
            trl_strbuf_printf(b, "<td>%s</td>", v[i]);
        trl_strbuf_printf(b, "<td>%s</td><td>%s</td></tr>\n", rows, peak);
        return;
    }
    trl_strbuf_printf(b, "%-22.22s %7lld %7lld %9lld %9s %9s %9s %10s %9s "
                      "%11s %11s %8s %s\n", ref, integer(row, "threads"),
                      integer(row, "batch"), calls, v[0], v[1], v[2], v[3],
                      v[4], v[5], v[6], rows, peak);
}

static void ratio_row(trl_strbuf *b, const json_t *q, const json_t *r,
                      int html)
{
    char v[5][32], who[300];
    static const char *const keys[] = {"p50", "p90", "p99", "p99_9",
                                       "rows_per_s"};
    for (int i = 0; i < 5; i++)
        ratio(num(q, keys[i]), v[i], sizeof v[i], html);
    snprintf(who, sizeof who, "%s / %s", ref_of(r, 1), ref_of(r, 0));
    if (html) {
        trl_strbuf_printf(b, "<tr><td colspan=\"4\"><i>");
        trl_strbuf_html(b, who);
        trl_strbuf_printf(b, "</i></td><td><i>%s</i></td><td><i>%s</i></td>"
                          "<td><i>%s</i></td><td><i>%s</i></td><td></td>"
                          "<td></td><td></td><td><i>%s</i></td><td></td>"
                          "</tr>\n", v[0], v[1], v[2], v[3], v[4]);
        return;
    }
    /* the ratios under the columns they divide */
    trl_strbuf_printf(b, "  %-46.46s %9s %9s %9s %10s %9s %11s %11s %8s\n",
                      who, v[0], v[1], v[2], v[3], "", "", "", v[4]);
}

static void table(trl_strbuf *b, const json_t *r, int html)
{
    const json_t *results = json_object_get(r, "results");
    const json_t *ratios = json_object_get(r, "ratios");
    size_t nm = json_array_size(json_object_get(r, "models")), i;
    int few = 0, capped = 0;
    json_t *row;
    table_head(b, html);
    json_array_foreach(results, i, row) {
        table_row(b, row, ref_of(r, (size_t)integer(row, "model")), html);
        few |= integer(row, "calls") < TAIL_CALLS;
        capped |= json_is_true(json_object_get(row, "capped"));
        /* both models of a configuration were measured, one after the
         * other: their ratio follows them */
        if (nm == 2 && i % 2 == 1)
            ratio_row(b, json_array_get(ratios, i / 2), r, html);
    }
    if (html)
        trl_strbuf_printf(b, "</tbody></table>\n");
    char note[300];
    if (few) {
        snprintf(note, sizeof note, "* fewer than %d calls: p99.9 is "
                 "interpolated among the slowest few; a longer --duration "
                 "measures it", TAIL_CALLS);
        if (html) {
            trl_strbuf_printf(b, "<p><small>");
            trl_strbuf_html(b, note);
            trl_strbuf_printf(b, "</small></p>\n");
        } else {
            trl_strbuf_printf(b, "%s\n", note);
        }
    }
    if (capped) {
        snprintf(note, sizeof note, "+ stopped early: the configuration "
                 "reached the limit of %u samples before its duration",
                 (unsigned)TRL_BENCH_MAX_SAMPLES);
        if (html) {
            trl_strbuf_printf(b, "<p><small>");
            trl_strbuf_html(b, note);
            trl_strbuf_printf(b, "</small></p>\n");
        } else {
            trl_strbuf_printf(b, "%s\n", note);
        }
    }
}

/* ---- percentile curves ------------------------------------------------------------ */

#define PANEL_W 270
#define PANEL_H 210
#define PAD_L 52
#define PAD_R 14
#define PAD_T 30
#define PAD_B 34
#define PER_LINE 4

static const char *const palette[] = {"#1f77b4", "#ff7f0e"};
static const char *const dashes[] = {"", "6 3", "2 3", "9 3 2 3", "1 1"};
#define NDASH (sizeof dashes / sizeof *dashes)

/* Where quantile q sits on the x axis: its "nines", so p50, p90, p99 and
 * p99.9 are evenly spaced, as latency percentile plots draw them. */
static double nines(double q)
{
    return -log10(1 - q);
}

/* The smallest 1, 2, 2.5 or 5 times a power of ten at or above x. */
static double nice_ceiling(double x)
{
    if (!(x > 0))
        return 1;
    double e = pow(10, floor(log10(x)));
    static const double steps[] = {1, 2, 2.5, 5, 10};
    for (int i = 0; i < 5; i++)
        if (steps[i] * e >= x * (1 - 1e-12))
            return steps[i] * e;
    return 10 * e;
}

typedef struct scale {
    int log;
    double lo, hi;   /* ms, or log10 ms */
} scale;

static double y_of(const scale *s, double ms)
{
    int h = PANEL_H - PAD_T - PAD_B;
    double v = s->log ? log10(ms) : ms;
    double t = (v - s->lo) / (s->hi - s->lo);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return PAD_T + h * (1 - t);
}

/* Linear from 0 unless the curves span more than 20x, where a log axis
 * keeps the median readable beside the tail. */
static scale scale_for(const json_t *results, long long batch)
{
    double lo = INFINITY, hi = 0;
    size_t i, j;
    json_t *row, *pt;
    json_array_foreach(results, i, row) {
        if (integer(row, "batch") != batch)
            continue;
        json_array_foreach(json_object_get(row, "curve"), j, pt) {
            double v = json_number_value(json_array_get(pt, 1));
            if (v > 0) {
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
        }
    }
    scale s = {0, 0, nice_ceiling(hi)};
    if (hi > 0 && hi / lo > 20) {
        s.log = 1;
        s.lo = floor(log10(lo));
        s.hi = ceil(log10(hi));
        if (s.hi <= s.lo)
            s.hi = s.lo + 1;
    }
    return s;
}

static void y_ticks(trl_strbuf *b, const scale *s)
{
    char label[32];
    int w = PANEL_W - PAD_L - PAD_R;
    int steps = s->log ? (int)(s->hi - s->lo) : 4;
    for (int i = 0; i <= steps; i++) {
        double v = s->log ? pow(10, s->lo + i) : s->hi * i / steps;
        double y = y_of(s, v);
        snprintf(label, sizeof label, "%g", v);
        trl_strbuf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
                          "y2=\"%.1f\" stroke=\"#eee\"/><text x=\"%d\" "
                          "y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">"
                          "%s</text>", PAD_L, y, PAD_L + w, y, PAD_L - 4,
                          y + 3, label);
    }
}

static double x_of(double q)
{
    int w = PANEL_W - PAD_L - PAD_R;
    return PAD_L + w * (nines(q) - nines(0.5)) / (nines(0.999) -
                                                   nines(0.5));
}

/* One panel: every (model, threads) curve of one batch size. */
static void panel(trl_strbuf *b, const json_t *r, long long batch, int x,
                  int y)
{
    const json_t *results = json_object_get(r, "results");
    const json_t *threads = json_object_get(r, "threads");
    scale s = scale_for(results, batch);
    int h = PANEL_H - PAD_T - PAD_B;
    trl_strbuf_printf(b, "<g transform=\"translate(%d,%d)\"><text x=\"%d\" "
                      "y=\"16\" text-anchor=\"middle\" font-size=\"13\">"
                      "batch %lld</text>", x, y, PANEL_W / 2, batch);
    y_ticks(b, &s);
    static const double marks[] = {0.5, 0.9, 0.99, 0.999};
    static const char *const names[] = {"p50", "p90", "p99", "p99.9"};
    for (int i = 0; i < 4; i++)
        trl_strbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" "
                          "text-anchor=\"middle\">%s</text>",
                          x_of(marks[i]), PAD_T + h + 14, names[i]);
    trl_strbuf_printf(b, "<text x=\"10\" y=\"%d\" font-size=\"10\" "
                      "transform=\"rotate(-90 10 %d)\" "
                      "text-anchor=\"middle\">ms per call%s</text>",
                      PAD_T + h / 2, PAD_T + h / 2, s.log ? " (log)" : "");
    size_t i, j;
    json_t *row, *pt;
    json_array_foreach(results, i, row) {
        if (integer(row, "batch") != batch)
            continue;
        size_t k = (size_t)integer(row, "model") % 2, ti = 0;
        for (j = 0; j < json_array_size(threads); j++)
            if (json_integer_value(json_array_get(threads, j)) ==
                integer(row, "threads"))
                ti = j;
        const char *dash = dashes[ti % NDASH];
        trl_strbuf_printf(b, "<polyline fill=\"none\" stroke=\"%s\" "
                          "stroke-width=\"1.6\"%s%s%s points=\"",
                          palette[k], *dash ? " stroke-dasharray=\"" : "",
                          dash, *dash ? "\"" : "");
        json_array_foreach(json_object_get(row, "curve"), j, pt) {
            double q = json_number_value(json_array_get(pt, 0));
            double v = json_number_value(json_array_get(pt, 1));
            trl_strbuf_printf(b, "%.1f,%.1f ", x_of(q), y_of(&s, v));
        }
        trl_strbuf_printf(b, "\"/>");
        json_array_foreach(json_object_get(row, "curve"), j, pt) {
            double q = json_number_value(json_array_get(pt, 0));
            double v = json_number_value(json_array_get(pt, 1));
            trl_strbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" "
                              "fill=\"%s\"/>", x_of(q), y_of(&s, v),
                              palette[k]);
        }
    }
    trl_strbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" "
                      "height=\"%d\" fill=\"none\" stroke=\"#999\"/></g>",
                      PAD_L, PAD_T, PANEL_W - PAD_L - PAD_R, h);
}

/* Latency percentile curves, one panel per batch size, as an SVG inside
 * the HTML (nbconvert 6.5 drops image/svg+xml from its HTML export). */
static void plots(trl_strbuf *b, const json_t *r)
{
    const json_t *batches = json_object_get(r, "batches");
    const json_t *threads = json_object_get(r, "threads");
    size_t nb = json_array_size(batches), nm = json_array_size(
                                               json_object_get(r, "models"));
    size_t nt = json_array_size(threads);
    size_t cols = nb < PER_LINE ? nb : PER_LINE;
    size_t lines = (nb + PER_LINE - 1) / PER_LINE;
    int legend_h = 22 * (int)(nm + (nt > 1 ? nt : 0));
    int width = (int)cols * PANEL_W, height = (int)lines * PANEL_H +
                                              legend_h + 8;
    trl_strbuf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"%d\" height=\"%d\" "
                      "font-family=\"sans-serif\">", width < 360 ? 360
                                                                 : width,
                      height);
    for (size_t i = 0; i < nb; i++)
        panel(b, r, json_integer_value(json_array_get(batches, i)),
              (int)(i % PER_LINE) * PANEL_W, (int)(i / PER_LINE) * PANEL_H);
    int y = (int)lines * PANEL_H + 4;
    for (size_t k = 0; k < nm; k++, y += 22) {
        trl_strbuf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                          "stroke=\"%s\" stroke-width=\"3\"/><text x=\"%d\" "
                          "y=\"%d\" font-size=\"12\">", PAD_L, y + 8,
                          PAD_L + 24, y + 8, palette[k % 2], PAD_L + 30,
                          y + 12);
        trl_strbuf_html(b, ref_of(r, k));
        trl_strbuf_printf(b, "</text>");
    }
    for (size_t t = 0; nt > 1 && t < nt; t++, y += 22) {
        const char *dash = dashes[t % NDASH];
        long long n = json_integer_value(json_array_get(threads, t));
        trl_strbuf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                          "stroke=\"#555\" stroke-width=\"1.6\"%s%s%s/>"
                          "<text x=\"%d\" y=\"%d\" font-size=\"12\">%lld "
                          "thread%s</text>", PAD_L, y + 8, PAD_L + 24, y + 8,
                          *dash ? " stroke-dasharray=\"" : "", dash,
                          *dash ? "\"" : "", PAD_L + 30, y + 12, n,
                          n == 1 ? "" : "s");
    }
    trl_strbuf_printf(b, "</svg>\n");
}

json_t *trl_display_bench(const json_t *r)
{
    trl_strbuf text, html;
    trl_strbuf_init(&text);
    trl_strbuf_init(&html);
    header(&text, r, 0);
    header(&html, r, 1);
    table(&text, r, 0);
    table(&html, r, 1);
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
