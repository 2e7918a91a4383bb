/* promote.c - %promote MODEL@V STAGE [--gate EXPR]... [--force --reason
 * TEXT]: a model version moves to staging or production only when its
 * gates pass (the default: not worse than production on the evidence
 * both have), shown as a table of gates with their values; every attempt
 * is in the registry's audit log (%models --history NAME). A refusal is
 * an error after the table, so a notebook run stops at it; the result is
 * also `_`. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"
#include "trellis/gate.h"
#include "trellis/magic.h"
#include "trellis/model.h"

#define USAGE                                                             \
    "usage: %promote MODEL@V staging|production [--gate EXPR]... "      \
    "[--force --reason TEXT]"

typedef struct args {
    char buf[4096];   /* the values, NUL-terminated, in place */
    const char *pos[2];
    size_t npos;
    const char *gates[TRL_GATE_MAX_GATES];
    size_t ngates;
    const char *reason;
    int force;
} args;

static int usage(trl_exec_ctx *ctx, const char *why)
{
    char msg[600];
    snprintf(msg, sizeof msg, "%s; %s", why, USAGE);
    trl_ctx_fail(ctx, "UsageError", msg, NULL);
    return TRL_EINVAL;
}

static const char *const options[] = {"--gate", "--reason", "--force",
                                      NULL};

/* The option at s (followed by a space or the end), or -1. */
static int option_at(const char *s)
{
    for (int i = 0; options[i]; i++) {
        size_t n = strlen(options[i]);
        if (strncmp(s, options[i], n) == 0 &&
            (s[n] == '\0' || isspace((unsigned char)s[n])))
            return i;
    }
    return -1;
}

/* An option's value at *p: 'quoted' or "quoted", else everything up to
 * the next option (gates hold spaces: --gate auc@holdout >= 0.8). Cut
 * out of the buffer in place; *p moves past it. */
static char *value(char **p, const char **why)
{
    char *s = *p;
    while (isspace((unsigned char)*s))
        s++;
    if (option_at(s) >= 0 || !*s)
        return *why = "an option lacks its value", NULL;
    if (*s == '\'' || *s == '"') {
        char *close = strchr(s + 1, *s);
        if (!close)
            return *why = "a quoted value is never closed", NULL;
        *close = '\0';
        *p = close + 1;
        return s + 1;
    }
    char *stop = s;
    while (*stop && !(stop > s && isspace((unsigned char)stop[-1]) &&
                      option_at(stop) >= 0))
        stop++;
    char *end = stop;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    if (end == s)
        return *why = "an option lacks its value", NULL;
    /* end is a space before the next option, or the string's end */
    *end = '\0';
    *p = stop;
    return s;
}

static int parse(const char *text, args *a, const char **why)
{
    memset(a, 0, sizeof *a);
    if (strlen(text) >= sizeof a->buf)
        return *why = "the arguments are too long", -1;
    strcpy(a->buf, text);
    char *p = a->buf;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        int opt = option_at(p);
        if (opt >= 0)
            p += strlen(options[opt]);
        if (opt == 2) {
            a->force = 1;
        } else if (opt >= 0) {
            char *v = value(&p, why);
            if (!v)
                return -1;
            if (opt == 1)
                a->reason = v;
            else if (a->ngates == TRL_GATE_MAX_GATES)
                return *why = "too many gates (at most 32)", -1;
            else
                a->gates[a->ngates++] = v;
        } else if (strncmp(p, "--", 2) == 0) {
            return *why = "unknown option (use --gate, --force, --reason)",
                   -1;
        } else {
            if (a->npos == 2)
                return *why = "name one model version and one stage", -1;
            a->pos[a->npos++] = p;
            while (*p && !isspace((unsigned char)*p))
                p++;
            if (*p)
                *p++ = '\0';
        }
    }
    if (a->npos != 2)
        return *why = "name the model version and the stage", -1;
    return 0;
}

/* The spec to promote: "name@V" as given, or the registered model a
 * variable holds. A bare registry name stays as it is (and is refused
 * for not naming a version: promoting "the latest" is too easy a slip). */
static int spec_of(trl_magic_env *env, const char *name, char *out,
                   size_t size, trl_error *err)
{
    trl_frame *f = NULL;
    trl_model *m = NULL;
    trl_engine *e = trl_magic_engine(env);
    if (!strchr(name, '@') && e && e->ops->lookup)
        e->ops->lookup(e, name, &f, &m);
    trl_frame_decref(f);
    snprintf(out, size, "%s", m && m->ref ? m->ref : name);
    int unregistered = m && !m->ref;
    trl_model_decref(m);
    if (unregistered)
        return trl_error_set(err, TRL_EINVAL, "'%s' holds a model that is "
                             "not registered: only registered versions "
                             "are promoted", name);
    return 0;
}

/* "history session 12": this kernel's session in the input history. */
static void session_of(trl_magic_env *env, char *out, size_t size)
{
    json_t *h = trl_magic_history_session(env);
    json_t *first = json_array_get(json_array_get(h, 0), 0);
    out[0] = '\0';
    if (json_is_integer(first))
        snprintf(out, size, "history session %lld",
                 (long long)json_integer_value(first));
    json_decref(h);
}

static int promote(trl_magic_env *env, const char *text, trl_exec_ctx *ctx)
{
    args *a = malloc(sizeof *a);
    const char *why = NULL;
    if (!a) {
        trl_ctx_fail(ctx, "MemoryError", "out of memory", NULL);
        return TRL_ENOMEM;
    }
    if (parse(text ? text : "", a, &why) != 0) {
        free(a);
        return usage(ctx, why);
    }
    int stage = trl_stage_parse(a->pos[1]);
    if (stage != TRL_STAGE_STAGING && stage != TRL_STAGE_PRODUCTION) {
        free(a);
        return usage(ctx, "the stage is staging or production");
    }
    trl_error err = {0};
    trl_registry *r = trl_magic_registry(env);
    char spec[TRL_GATE_REF_MAX], session[64];
    json_t *res = NULL;
    if (!r) {
        trl_error_set(&err, TRL_EIO, "the model registry is not available "
                      "(see the kernel log)");
        goto done;
    }
    if (spec_of(env, a->pos[0], spec, sizeof spec, &err) != 0)
        goto done;
    session_of(env, session, sizeof session);
    trl_promote_request rq = {
        .model = spec, .to = (trl_stage)stage, .gates = a->gates,
        .ngates = a->ngates, .force = a->force, .reason = a->reason,
        .session = session[0] ? session : NULL};
    if (!(res = trl_registry_promote(r, &rq, &err)))
        goto done;
    json_t *bundle = trl_display_promotion(res);
    if (!bundle) {
        trl_error_set(&err, TRL_ENOMEM, "out of memory");
        goto done;
    }
    trl_ctx_display(ctx, bundle, NULL, NULL);
    trl_engine *e = trl_magic_engine(env);
    if (e && e->ops->set_last)
        e->ops->set_last(e, res);
done:
    free(a);
    int refused = res && !json_is_true(json_object_get(res, "ok"));
    if (refused)
        trl_ctx_fail(ctx, "PromotionRefused",
                     json_string_value(json_object_get(res, "message")),
                     NULL);
    json_decref(res);
    if (err.code) {
        trl_ctx_fail(ctx, "PromotionError", err.message, NULL);
        return err.code;
    }
    return refused ? TRL_EINVAL : 0;
}

const trl_magic trl__magic_promote = {
    "promote", "%promote MODEL@V staging|production [--gate EXPR]... "
    "[--force --reason TEXT]",
    "move a model version to staging or production when its gates pass. "
    "A gate is an expression over recorded results: auc@holdout >= "
    "production + 0.002 (a %compare metric on a registered frame; "
    "'production' is the same for the production version), "
    "p99_ms@batch1 <= 5 (a %bench figure), drift(holdout, live) < 0.2, "
    "validate(holdout); join with and/or/not. Without --gate: not worse "
    "than production on every metric and frame both have. A refusal "
    "says why and changes nothing; --force --reason TEXT promotes anyway "
    "and is logged as forced. Every attempt goes to the audit log "
    "(%models --history NAME); the result is also `_`", promote, NULL};
