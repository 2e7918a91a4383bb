/* promote.c - %promote MODEL@V STAGE [--gate EXPR]... [--force --reason
 * TEXT]: a model version moves to staging or production only when its
 * gates pass (the default: not worse than production on the evidence
 * both have), shown as a table of gates with their values; every attempt
 * is in the registry's audit log (%models --history NAME). A refusal is
 * an error after the table, so a notebook run stops at it; the result is
 * also `_`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"
#include "trellis/gate.h"
#include "trellis/magic.h"
#include "trellis/model.h"
#include "magics/args.h"
#include "magics/magic_int.h"

enum { OPT_GATE, OPT_FORCE, OPT_REASON };

static const char *const positionals[] = {"MODEL@V", "staging|production",
                                          NULL};

/* gates and reasons hold spaces: each runs to the next --option unless
 * quoted (--gate auc@holdout >= 0.8 --reason 'rollback: incident 42') */
static const trl__arg_opt options[] = {
    [OPT_GATE] = {.name = "gate", .kind = TRL__ARG_TEXT, .meta = "EXPR",
                  .flags = TRL__ARG_REPEAT,
                  .max_items = TRL_GATE_MAX_GATES},
    [OPT_FORCE] = {.name = "force", .kind = TRL__ARG_FLAG},
    [OPT_REASON] = {.name = "reason", .kind = TRL__ARG_TEXT,
                    .meta = "TEXT"},
};

static int check(const trl__args *a, trl_error *err)
{
    int stage = trl_stage_parse(a->pos[1]);
    char shown[TRL__ARGS_ECHO_BUF];
    if (stage != TRL_STAGE_STAGING && stage != TRL_STAGE_PRODUCTION)
        return trl_error_set(err, TRL_EINVAL, "the stage is staging or "
                             "production, not '%s'",
                             trl__args_echo(a->pos[1], strlen(a->pos[1]),
                                            shown));
    return 0;
}

const trl__args_spec trl__promote_args = {
    .magic = "%promote", .pos_names = positionals, .min_pos = 2,
    .max_pos = 2, .pos_missing = "name the model version and the stage",
    .pos_extra = "name one model version and one stage", .opts = options,
    .nopts = sizeof options / sizeof *options, .check = check};

/* The spec to promote: "name@V" as given, or the registered model a
 * variable holds. A bare registry name stays as it is (and is refused
 * for not naming a version: promoting "the latest" is too easy a slip). */
static int spec_of(trl_magic_env *env, const char *name, char *out,
                   size_t size, trl_error *err)
{
    trl_frame *f = NULL;
    trl_model *m = NULL;
    if (!strchr(name, '@'))
        trl__magic_lookup_var(env, name, &f, &m);
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
    trl__args a;
    trl_error err = {0};
    if (trl__args_parse(&trl__promote_args, text, &a, &err) != 0)
        return trl__args_fail(ctx, &err);
    const char *gates[TRL_GATE_MAX_GATES];
    size_t ngates = trl__args_texts(&a, OPT_GATE, gates, TRL_GATE_MAX_GATES);
    trl_registry *r = trl_magic_registry(env);
    char spec[TRL_GATE_REF_MAX], session[64];
    json_t *res = NULL;
    if (!r) {
        trl_error_set(&err, TRL_EIO, "the model registry is not available "
                      "(see the kernel log)");
        goto done;
    }
    if (spec_of(env, a.pos[0], spec, sizeof spec, &err) != 0)
        goto done;
    session_of(env, session, sizeof session);
    trl_promote_request rq = {
        .model = spec, .to = (trl_stage)trl_stage_parse(a.pos[1]),
        .gates = gates, .ngates = ngates,
        .force = trl__args_given(&a, OPT_FORCE) != 0,
        .reason = trl__args_str(&a, OPT_REASON, NULL),
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
    trl__args_free(&a);
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
    "[--force] [--reason TEXT]",
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
