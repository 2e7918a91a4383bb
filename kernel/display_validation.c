/* display_validation.c - a validation result (trl_validate_check) as a
 * table: a summary line with the verdict, then a row per check - pass or
 * fail, the column, what was observed and what was expected - failed
 * rows marked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void summary(const json_t *r, char *out, size_t size)
{
    const char *name = str(r, "name"), *ref = str(r, "frame");
    const char *against = str(r, "against");
    long long failed = json_integer_value(json_object_get(r, "failed"));
    long long passed = json_integer_value(json_object_get(r, "passed"));
    char frame[220];
    if (name && ref && strcmp(name, ref) != 0)
        snprintf(frame, sizeof frame, "%.100s (%.100s)", name, ref);
    else
        snprintf(frame, sizeof frame, "%.200s",
                 name ? name : ref ? ref : "an unregistered frame");
    int k = snprintf(out, size, "validation of %s", frame);
    if (against && k > 0 && (size_t)k < size)
        k += snprintf(out + k, size - (size_t)k, " against %.200s", against);
    if (k > 0 && (size_t)k < size && failed)
        k += snprintf(out + k, size - (size_t)k, ": FAILED %lld of %lld "
                      "checks", failed, failed + passed);
    else if (k > 0 && (size_t)k < size)
        k += snprintf(out + k, size - (size_t)k, ": passed all %lld checks",
                      passed);
    json_t *id = json_object_get(r, "recorded");
    if (id && k > 0 && (size_t)k < size)
        snprintf(out + k, size - (size_t)k, "; recorded as validation %lld",
                 (long long)json_integer_value(id));
    const char *why = json_string_value(json_object_get(r, "not_recorded"));
    if (!id && why && k > 0 && (size_t)k < size)
        snprintf(out + k, size - (size_t)k, "; not recorded: %s", why);
}

static void table(trl_strbuf *b, const json_t *r, int html)
{
    if (html)
        trl_strbuf_printf(b, "<table><thead><tr><th></th><th>check</th>"
                          "<th>column</th><th>observed</th><th>expected</th>"
                          "</tr></thead><tbody>\n");
    else
        trl_strbuf_printf(b, "       %-11s %-20s %-36s %s\n", "check",
                          "column", "observed", "expected");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r, "checks"), i, c) {
        int ok = json_is_true(json_object_get(c, "ok"));
        const char *col = str(c, "column"), *check = str(c, "check");
        const char *obs = str(c, "observed"), *exp = str(c, "expected");
        if (!html) {
            trl_strbuf_printf(b, "%s  %-11s %-20.20s %-36s %s\n",
                              ok ? "pass " : "FAIL ", check ? check : "?",
                              col ? col : "(frame)", obs ? obs : "",
                              exp ? exp : "");
            continue;
        }
        trl_strbuf_printf(b, "<tr%s><td>%s</td><td>", ok ? ""
                          : " style=\"background:#fde0dc\"",
                          ok ? "\xe2\x9c\x93" : "<b>\xe2\x9c\x97</b>");
        trl_strbuf_html(b, check ? check : "?");
        trl_strbuf_printf(b, "</td><td>");
        trl_strbuf_html(b, col ? col : "(frame)");
        trl_strbuf_printf(b, "</td><td>");
        trl_strbuf_html(b, obs ? obs : "");
        trl_strbuf_printf(b, "</td><td>");
        trl_strbuf_html(b, exp ? exp : "");
        trl_strbuf_printf(b, "</td></tr>\n");
    }
    if (html)
        trl_strbuf_printf(b, "</tbody></table>\n");
}

json_t *trl_display_validation(const json_t *r)
{
    trl_strbuf text, html;
    trl_strbuf_init(&text);
    trl_strbuf_init(&html);
    char line[700];
    summary(r, line, sizeof line);
    int ok = json_is_true(json_object_get(r, "ok"));
    trl_strbuf_printf(&text, "%s\n", line);
    trl_strbuf_printf(&html, "<p style=\"color:%s\"><b>",
                      ok ? "#2a7a2a" : "#b22222");
    trl_strbuf_html(&html, line);
    trl_strbuf_printf(&html, "</b></p>\n");
    table(&text, r, 0);
    table(&html, r, 1);
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
