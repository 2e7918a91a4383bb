/* display_promote.c - a promotion attempt (trl_registry_promote) as a
 * table of its gates - pass, fail or no evidence, with the values each
 * compared - under what was asked and over the verdict; and a model's
 * history (trl_registry_model_history): its stage changes, then every
 * promotion attempt in the audit log with its gates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static long long num(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* Text and HTML marks of a gate outcome. */
static const char *mark(const char *outcome, int html)
{
    if (strcmp(outcome, "pass") == 0)
        return html ? "\xe2\x9c\x93" : "pass ";
    if (strcmp(outcome, "fail") == 0)
        return html ? "<b>\xe2\x9c\x97</b>" : "FAIL ";
    return html ? "<b>?</b>" : "ERROR";
}

static const char *colour(const char *outcome)
{
    return strcmp(outcome, "promoted") == 0 ? "#2a7a2a"
           : strcmp(outcome, "forced") == 0 ? "#c06000" : "#b22222";
}

/* The bundle of text and html (both freed here), with data (a copy) as
 * mime when not NULL, for clients that want the numbers. */
static json_t *bundle_of(trl_strbuf *text, trl_strbuf *html,
                         const char *mime, const json_t *data)
{
    json_t *bundle = NULL;
    if (text->p && html->p &&
        (bundle = trl_display_text(text->p, text->len)) &&
        (trl_display_add(bundle, "text/html", html->p, html->len) != 0 ||
         (data && json_object_set_new(bundle, mime,
                                      json_deep_copy(data)) != 0))) {
        json_decref(bundle);
        bundle = NULL;
    }
    free(text->p);
    free(html->p);
    return bundle;
}

/* ---- one attempt ------------------------------------------------------------------ */

static void gate_rows(trl_strbuf *text, trl_strbuf *html, const json_t *gates)
{
    size_t i;
    json_t *g;
    if (!json_array_size(gates))
        return;
    trl_strbuf_printf(html, "<table><thead><tr><th></th><th>gate</th>"
                      "<th>values</th></tr></thead><tbody>\n");
    json_array_foreach(gates, i, g) {
        const char *o = str(g, "outcome"), *gate = str(g, "gate");
        trl_strbuf_printf(text, "  %s  %-40s %s\n", mark(o, 0), gate,
                          str(g, "detail"));
        trl_strbuf_printf(html, "<tr%s><td>%s</td><td><code>",
                          strcmp(o, "pass") == 0
                              ? "" : " style=\"background:#fde0dc\"",
                          mark(o, 1));
        trl_strbuf_html(html, gate);
        trl_strbuf_printf(html, "</code></td><td>");
        trl_strbuf_html(html, str(g, "detail"));
        trl_strbuf_printf(html, "</td></tr>\n");
    }
    trl_strbuf_printf(html, "</tbody></table>\n");
}

json_t *trl_display_promotion(const json_t *r)
{
    trl_strbuf text, html;
    trl_strbuf_init(&text);
    trl_strbuf_init(&html);
    const json_t *gates = json_object_get(r, "gates");
    const char *prod = str(r, "production"), *outcome = str(r, "outcome");
    int dflt = json_is_true(json_object_get(json_array_get(gates, 0),
                                            "default"));
    char head[600];
    size_t n = json_array_size(gates);
    snprintf(head, sizeof head, "promote %s from %s to %s%s%s%s: %zu %sgate%s",
             str(r, "model"), str(r, "from"), str(r, "to"),
             *prod ? " (production is " : "", prod, *prod ? ")" : "", n,
             dflt ? "default " : "", n == 1 ? "" : "s");
    trl_strbuf_printf(&text, "%s\n", head);
    trl_strbuf_printf(&html, "<p>");
    trl_strbuf_html(&html, head);
    if (dflt)
        trl_strbuf_printf(&html, " (not worse than production on the "
                          "evidence both have)");
    trl_strbuf_printf(&html, "</p>\n");
    gate_rows(&text, &html, gates);
    const char *note = str(r, "note");
    if (*note) {
        trl_strbuf_printf(&text, "note: %s\n", note);
        trl_strbuf_printf(&html, "<p><i>note: ");
        trl_strbuf_html(&html, note);
        trl_strbuf_printf(&html, "</i></p>\n");
    }
    trl_strbuf_printf(&text, "%s\n", str(r, "message"));
    trl_strbuf_printf(&html, "<p style=\"color:%s\"><b>", colour(outcome));
    trl_strbuf_html(&html, str(r, "message"));
    trl_strbuf_printf(&html, "</b></p>\n");
    char audit[400];
    snprintf(audit, sizeof audit, "audit log entry %lld: %s@%s, %s",
             num(r, "audit"), str(r, "who"), str(r, "host"), str(r, "when"));
    trl_strbuf_printf(&text, "%s\n", audit);
    trl_strbuf_printf(&html, "<p><small>");
    trl_strbuf_html(&html, audit);
    trl_strbuf_printf(&html, "</small></p>\n");
    return bundle_of(&text, &html, "application/vnd.trellis.promotion+json",
                     r);
}

/* ---- a model's history --------------------------------------------------------------- */

static void stages(trl_strbuf *text, trl_strbuf *html, const json_t *h)
{
    const char *name = str(h, "name");
    trl_strbuf_printf(text, "%s: stage history\n  %-5s %-24s %-11s %s\n",
                      name, "seq", "version", "stage", "changed");
    trl_strbuf_printf(html, "<p><b>");
    trl_strbuf_html(html, name);
    trl_strbuf_printf(html, "</b>: stage history</p>\n<table><thead><tr>"
                      "<th>seq</th><th>version</th><th>stage</th>"
                      "<th>changed</th></tr></thead><tbody>\n");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(h, "stages"), i, s) {
        char ref[300];
        snprintf(ref, sizeof ref, "%s@%lld", name, num(s, "version"));
        trl_strbuf_printf(text, "  %-5lld %-24s %-11s %s\n", num(s, "seq"),
                          ref, str(s, "stage"), str(s, "changed"));
        trl_strbuf_printf(html, "<tr><td>%lld</td><td>", num(s, "seq"));
        trl_strbuf_html(html, ref);
        trl_strbuf_printf(html, "</td><td>");
        trl_strbuf_html(html, str(s, "stage"));
        trl_strbuf_printf(html, "</td><td>");
        trl_strbuf_html(html, str(s, "changed"));
        trl_strbuf_printf(html, "</td></tr>\n");
    }
    trl_strbuf_printf(html, "</tbody></table>\n");
}

static void attempt(trl_strbuf *text, trl_strbuf *html, const json_t *p)
{
    char who[300], move[100];
    snprintf(who, sizeof who, "%s@%s", str(p, "who"), str(p, "host"));
    snprintf(move, sizeof move, "%s -> %s", str(p, "from"), str(p, "to"));
    const char *outcome = str(p, "outcome");
    trl_strbuf_printf(text, "  %-4lld %-25s %-20s %-16s %-24s %s\n",
                      num(p, "id"), str(p, "when"), who, str(p, "model"),
                      move, outcome);
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(p, "gates"), i, g)
        trl_strbuf_printf(text, "         %s %s: %s\n",
                          mark(str(g, "outcome"), 0), str(g, "gate"),
                          str(g, "detail"));
    trl_strbuf_printf(text, "         %s\n", str(p, "message"));
    trl_strbuf_printf(html, "<tr><td>%lld</td><td>", num(p, "id"));
    const char *cells[] = {str(p, "when"), who, str(p, "model"), move};
    for (size_t c = 0; c < 4; c++) {
        trl_strbuf_html(html, cells[c]);
        trl_strbuf_printf(html, "</td><td>");
    }
    trl_strbuf_printf(html, "<b style=\"color:%s\">", colour(outcome));
    trl_strbuf_html(html, outcome);
    trl_strbuf_printf(html, "</b></td><td>");
    json_array_foreach(json_object_get(p, "gates"), i, g) {
        trl_strbuf_printf(html, "%s%s <code>", i ? "<br>" : "",
                          mark(str(g, "outcome"), 1));
        trl_strbuf_html(html, str(g, "gate"));
        trl_strbuf_printf(html, "</code>: ");
        trl_strbuf_html(html, str(g, "detail"));
    }
    trl_strbuf_printf(html, "</td><td>");
    trl_strbuf_html(html, str(p, "message"));
    trl_strbuf_printf(html, "</td></tr>\n");
}

json_t *trl_display_model_history(const json_t *h)
{
    trl_strbuf text, html;
    trl_strbuf_init(&text);
    trl_strbuf_init(&html);
    stages(&text, &html, h);
    const json_t *log = json_object_get(h, "promotions");
    const char *name = str(h, "name");
    trl_strbuf_printf(&text, "%s: promotion attempts (audit log)\n", name);
    trl_strbuf_printf(&html, "<p><b>");
    trl_strbuf_html(&html, name);
    trl_strbuf_printf(&html, "</b>: promotion attempts (audit log)</p>\n");
    if (!json_array_size(log)) {
        trl_strbuf_printf(&text, "  (none yet: %%promote %s@N production)\n",
                          name);
        trl_strbuf_printf(&html, "<p>(none yet)</p>\n");
        return bundle_of(&text, &html, NULL, NULL);
    }
    trl_strbuf_printf(&text, "  %-4s %-25s %-20s %-16s %-24s %s\n", "#",
                      "when", "who", "model", "stages", "outcome");
    trl_strbuf_printf(&html, "<table><thead><tr><th>#</th><th>when</th>"
                      "<th>who</th><th>model</th><th>stages</th>"
                      "<th>outcome</th><th>gates</th><th>message</th>"
                      "</tr></thead><tbody>\n");
    size_t i;
    json_t *p;
    json_array_foreach(log, i, p)
        attempt(&text, &html, p);
    trl_strbuf_printf(&html, "</tbody></table>\n");
    return bundle_of(&text, &html, NULL, NULL);
}
