/* features.c - %features: every registered frame version, with its shape,
 * creation time and lineage, as an HTML table (text in consoles). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"
#include "trellis/magic.h"
#include "trellis/registry.h"
#include "magics/args.h"
#include "magics/magic_int.h"

/* One line of lineage: "csv data/churn.csv (sha256 1a2b3c4d...)" or
 * "from churn@1: ratio = (a / b)". malloc'd. */
static char *summary(json_t *lin)
{
    char buf[512];
    const char *src = json_string_value(json_object_get(lin, "source"));
    if (src && strcmp(src, "csv") == 0) {
        const char *path = json_string_value(json_object_get(lin, "path"));
        const char *sha = json_string_value(json_object_get(lin, "sha256"));
        snprintf(buf, sizeof buf, "csv %s (sha256 %.12s...)",
                 path ? path : "?", sha ? sha : "?");
        return strdup(buf);
    }
    size_t off = 0;
    json_t *parents = json_object_get(lin, "parents");
    off += (size_t)snprintf(buf, sizeof buf, "%s", src ? src : "?");
    if (json_array_size(parents)) {
        off += (size_t)snprintf(buf + off, sizeof buf - off, " from");
        size_t i;
        json_t *p;
        json_array_foreach(parents, i, p) {
            if (off >= sizeof buf)
                break;
            const char *ref = json_string_value(p);
            off += (size_t)snprintf(buf + off, sizeof buf - off, " %s",
                                    ref ? ref : "(unregistered)");
        }
    }
    json_t *steps = json_object_get(lin, "derivation");
    size_t i;
    json_t *st;
    json_array_foreach(steps, i, st) {
        if (off >= sizeof buf)
            break;
        const char *col = json_string_value(json_object_get(st, "column"));
        const char *expr = json_string_value(json_object_get(st, "expr"));
        const char *op = json_string_value(json_object_get(st, "op"));
        if (col && expr)
            off += (size_t)snprintf(buf + off, sizeof buf - off, "%s %s = %s",
                                    i ? ";" : ":", col, expr);
        else if (op)
            off += (size_t)snprintf(buf + off, sizeof buf - off, "%s %s",
                                    i ? ";" : ":", op);
    }
    return strdup(buf);
}

/* no arguments: a word after %features is a mistake, not ignored */
const trl__args_spec trl__features_args = {.magic = "%features"};

static int run(trl_magic_env *env, const char *args, trl_exec_ctx *ctx)
{
    trl__args a;
    trl_error err = {0};
    if (trl__args_parse(&trl__features_args, args, &a, &err) != 0)
        return trl__args_fail(ctx, &err);
    trl__args_free(&a);
    trl_registry *r = trl_magic_registry(env);
    if (!r) {
        trl_ctx_fail(ctx, "RegistryError", "the feature registry is not "
                     "available (see the kernel log)", NULL);
        return TRL_EIO;
    }
    json_t *list = trl_registry_list(r);
    if (!list) {
        trl_ctx_fail(ctx, "RegistryError", "the feature registry cannot be "
                     "read", NULL);
        return TRL_EIO;
    }
    size_t n = json_array_size(list);
    size_t cap = 4096 + n * 512;
    char *html = malloc(cap), *text = malloc(cap);
    if (!html || !text) {
        free(html);
        free(text);
        json_decref(list);
        trl_ctx_fail(ctx, "MemoryError", "out of memory", NULL);
        return TRL_ENOMEM;
    }
    size_t h = 0, t = 0;
    h += (size_t)snprintf(html + h, cap - h,
                          "<table><thead><tr><th>name</th><th>version</th>"
                          "<th>rows</th><th>columns</th><th>created</th>"
                          "<th>lineage</th></tr></thead><tbody>\n");
    t += (size_t)snprintf(text + t, cap - t, "%-20s %7s %10s %7s  %-24s %s\n",
                          "name", "version", "rows", "columns", "created",
                          "lineage");
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *created = json_string_value(json_object_get(e,
                                                                "created"));
        long long ver = json_integer_value(json_object_get(e, "version"));
        long long rows = json_integer_value(json_object_get(e, "rows"));
        long long cols = json_integer_value(json_object_get(e, "columns"));
        char *lin = summary(json_object_get(e, "lineage"));
        char *lin_html = lin ? trl_html_escape(lin, strlen(lin)) : NULL;
        char *name_html = trl_html_escape(name ? name : "",
                                          strlen(name ? name : ""));
        if (h < cap)
            h += (size_t)snprintf(html + h, cap - h,
                                  "<tr><td>%s</td><td>%lld</td><td>%lld</td>"
                                  "<td>%lld</td><td>%s</td><td>%s</td></tr>\n",
                                  name_html ? name_html : "", ver, rows, cols,
                                  created ? created : "",
                                  lin_html ? lin_html : "");
        if (t < cap)
            t += (size_t)snprintf(text + t, cap - t,
                                  "%-20s %7lld %10lld %7lld  %-24s %s\n",
                                  name ? name : "", ver, rows, cols,
                                  created ? created : "", lin ? lin : "");
        free(lin);
        free(lin_html);
        free(name_html);
    }
    if (h < cap)
        h += (size_t)snprintf(html + h, cap - h, "</tbody></table>\n<p>%zu "
                              "registered version%s</p>\n", n,
                              n == 1 ? "" : "s");
    if (n == 0 && t < cap)
        t += (size_t)snprintf(text + t, cap - t, "(nothing registered yet: "
                              "features.register(name, frame))\n");
    if (h > cap - 1)
        h = cap - 1;
    if (t > cap - 1)
        t = cap - 1;
    json_t *bundle = trl_display_text(text, t);
    trl_display_add(bundle, "text/html", html, h);
    trl_ctx_display(ctx, bundle, NULL, NULL);
    free(html);
    free(text);
    json_decref(list);
    return 0;
}

const trl_magic trl__magic_features = {
    "features", "%features",
    "list every registered feature frame version with rows, columns, "
    "created time and lineage", run, NULL};
