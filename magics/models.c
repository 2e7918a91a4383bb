/* models.c - %models [name]: every registered model version with its
 * stage, algorithm, key metrics and what it was trained on, as an HTML
 * table (text in consoles); %models --history NAME: a model's stage
 * changes and its promotion attempts from the audit log. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"
#include "trellis/gate.h"
#include "trellis/magic.h"
#include "trellis/model.h"
#include "magics/args.h"
#include "magics/magic_int.h"

/* "eval-auc 0.91 · train-auc 0.95 · rounds 40" (at most size bytes). */
static void metrics_line(const json_t *metrics, char *out, size_t size)
{
    size_t used = 0;
    const char *k;
    json_t *v;
    out[0] = '\0';
    json_object_foreach((json_t *)metrics, k, v) {
        if (used >= size)
            break;
        if (json_is_integer(v))
            used += (size_t)snprintf(out + used, size - used, "%s%s %lld",
                                     used ? " \xc2\xb7 " : "", k,
                                     (long long)json_integer_value(v));
        else if (json_is_number(v))
            used += (size_t)snprintf(out + used, size - used, "%s%s %.4g",
                                     used ? " \xc2\xb7 " : "", k,
                                     json_number_value(v));
    }
}

/* Appends printf output to a growing buffer; returns -1 when out of
 * memory (the buffer is then freed). */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

__attribute__((format(printf, 2, 3)))
static int add(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        if (!b->p)
            return -1;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return 0;
        }
        char *bigger = realloc(b->p, b->cap * 2 + (size_t)n);
        if (!bigger) {
            free(b->p);
            b->p = NULL;
            return -1;
        }
        b->p = bigger;
        b->cap = b->cap * 2 + (size_t)n;
    }
}

enum { OPT_HISTORY };

static const char *const positionals[] = {"NAME", NULL};

static const trl__arg_opt options[] = {
    [OPT_HISTORY] = {.name = "history", .kind = TRL__ARG_WORD,
                     .meta = "NAME"},
};

static int check(const trl__args *a, trl_error *err)
{
    if (a->npos && trl__args_given(a, OPT_HISTORY))
        return trl_error_set(err, TRL_EINVAL, "name the model once: "
                             "%%models NAME lists its versions, %%models "
                             "--history NAME its stage changes and "
                             "promotion attempts");
    return 0;
}

const trl__args_spec trl__models_args = {
    .magic = "%models", .pos_names = positionals, .max_pos = 1,
    .pos_extra = "name one model, or none for all", .opts = options,
    .nopts = sizeof options / sizeof *options, .check = check};

/* %models --history NAME */
static int history(trl_registry *r, const char *name, trl_exec_ctx *ctx)
{
    trl_error err = {0};
    json_t *h = trl_registry_model_history(r, name, &err);
    json_t *bundle = h ? trl_display_model_history(h) : NULL;
    if (h && !bundle)
        trl_error_set(&err, TRL_ENOMEM, "out of memory");
    json_decref(h);
    if (!bundle) {
        trl_ctx_fail(ctx, "RegistryError", err.message, NULL);
        return err.code;
    }
    trl_ctx_display(ctx, bundle, NULL, NULL);
    return 0;
}

/* Every model version, or only those of the model called only. */
static int list(trl_registry *r, const char *only, trl_exec_ctx *ctx)
{
    json_t *models = trl_registry_list_models(r);
    if (!models) {
        trl_ctx_fail(ctx, "RegistryError", "the model registry cannot be "
                     "read", NULL);
        return TRL_EIO;
    }
    sbuf html = {malloc(4096), 0, 4096}, text = {malloc(4096), 0, 4096};
    add(&html, "<table><thead><tr><th>model</th><th>stage</th><th>algo</th>"
        "<th>target</th><th>features</th><th>metrics</th>"
        "<th>trained on</th><th>created</th></tr></thead><tbody>\n");
    add(&text, "%-24s %-10s %-24s %-12s %s\n", "model", "stage", "algo",
        "trained on", "metrics");
    size_t i, shown = 0;
    json_t *e;
    json_array_foreach(models, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!name || (only && strcmp(only, name) != 0))
            continue;
        char ref[200], algo[160], metrics[400];
        snprintf(ref, sizeof ref, "%s@%lld", name,
                 (long long)json_integer_value(json_object_get(e,
                                                               "version")));
        const char *a = json_string_value(json_object_get(e, "algo"));
        const char *obj = json_string_value(json_object_get(e, "objective"));
        snprintf(algo, sizeof algo, "%s%s%s", a ? a : "?",
                 obj && a && strcmp(a, obj) ? " " : "",
                 obj && a && strcmp(a, obj) ? obj : "");
        metrics_line(json_object_get(e, "metrics"), metrics, sizeof metrics);
        const char *stage = json_string_value(json_object_get(e, "stage"));
        const char *target = json_string_value(json_object_get(e, "target"));
        const char *created = json_string_value(json_object_get(e,
                                                                "created"));
        const char *frame = json_string_value(json_object_get(
            json_object_get(e, "data"), "frame"));
        size_t nfeat = json_array_size(json_object_get(e, "features"));
        const char *cells[] = {ref, stage ? stage : "", algo,
                               target ? target : "", NULL, metrics,
                               frame ? frame : "(unregistered frame)",
                               created ? created : ""};
        add(&html, "<tr>");
        for (size_t c = 0; c < sizeof cells / sizeof *cells; c++) {
            if (!cells[c]) {
                add(&html, "<td>%zu</td>", nfeat);
                continue;
            }
            char *esc = trl_html_escape(cells[c], strlen(cells[c]));
            add(&html, "<td>%s</td>", esc ? esc : "");
            free(esc);
        }
        add(&html, "</tr>\n");
        add(&text, "%-24s %-10s %-24s %-12s %s\n", ref, cells[1], algo,
            cells[6], metrics);
        shown++;
    }
    add(&html, "</tbody></table>\n<p>%zu model version%s</p>\n", shown,
        shown == 1 ? "" : "s");
    if (shown == 0 && only)
        add(&text, "(no model called %s)\n", only);
    else if (shown == 0)
        add(&text, "(no models yet: models.train{name = ..., data = ..., "
            "target = ...})\n");
    json_decref(models);
    if (!html.p || !text.p) {
        free(html.p);
        free(text.p);
        trl_ctx_fail(ctx, "MemoryError", "out of memory", NULL);
        return TRL_ENOMEM;
    }
    json_t *bundle = trl_display_text(text.p, text.len);
    trl_display_add(bundle, "text/html", html.p, html.len);
    trl_ctx_display(ctx, bundle, NULL, NULL);
    free(html.p);
    free(text.p);
    return 0;
}

static int run(trl_magic_env *env, const char *text, trl_exec_ctx *ctx)
{
    trl__args a;
    trl_error err = {0};
    if (trl__args_parse(&trl__models_args, text, &a, &err) != 0)
        return trl__args_fail(ctx, &err);
    trl_registry *r = trl_magic_registry(env);
    const char *of = trl__args_str(&a, OPT_HISTORY, NULL);
    int rc;
    if (!r) {
        trl_ctx_fail(ctx, "RegistryError", "the model registry is not "
                     "available (see the kernel log)", NULL);
        rc = TRL_EIO;
    } else {
        rc = of ? history(r, of, ctx)
                : list(r, a.npos ? a.pos[0] : NULL, ctx);
    }
    trl__args_free(&a);
    return rc;
}

const trl_magic trl__magic_models = {
    "models", "%models [NAME] [--history NAME]",
    "list registered model versions with stage, algorithm, key metrics and "
    "the frame each was trained on; with --history, one model's stage "
    "changes and every promotion attempt in the audit log (who, when, "
    "gates and their values, outcome, reason)", run, NULL};
