/* validate.c - %validate FRAME --against REF | --schema NAME: a frame
 * checked against expectations inferred from a reference frame or saved
 * under a name (validate.save in Lua), shown as a table of checks,
 * recorded in the registry for promotion gates, and bound to `_`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"
#include "trellis/guard.h"
#include "magics/magic_int.h"

typedef struct args {
    char buf[1024];
    const char *frame, *against, *schema;
} args;

static int usage(trl_exec_ctx *ctx, const char *why)
{
    char msg[400];
    snprintf(msg, sizeof msg, "%s; usage: %%validate FRAME --against "
             "REF_FRAME | --schema NAME", why);
    trl_ctx_fail(ctx, "UsageError", msg, NULL);
    return TRL_EINVAL;
}

static int parse(const char *text, args *a, const char **why)
{
    memset(a, 0, sizeof *a);
    if (strlen(text) >= sizeof a->buf)
        return *why = "the arguments are too long", -1;
    strcpy(a->buf, text);
    char *save = NULL;
    for (char *t = strtok_r(a->buf, " \t", &save); t;
         t = strtok_r(NULL, " \t", &save)) {
        if (strncmp(t, "--", 2) != 0) {
            if (a->frame)
                return *why = "name one frame to validate", -1;
            a->frame = t;
            continue;
        }
        char *v = strtok_r(NULL, " \t", &save);
        if (!v)
            return *why = "an option lacks its value", -1;
        if (strcmp(t, "--against") == 0)
            a->against = v;
        else if (strcmp(t, "--schema") == 0)
            a->schema = v;
        else
            return *why = "unknown option", -1;
    }
    if (!a->frame)
        return *why = "name the frame to validate", -1;
    if (!a->against == !a->schema)
        return *why = "give --against REF_FRAME (expectations inferred from "
                      "it) or --schema NAME (saved with validate.save)", -1;
    return 0;
}

static void record(trl_registry *r, json_t *result)
{
    long long id;
    trl_error err = {0};
    if (!r)
        return;
    if (trl_registry_record_validation(r, result, &id, &err) == 0)
        json_object_set_new(result, "recorded", json_integer(id));
    else
        fprintf(stderr, "[trellis] %s\n", err.message);
}

/* The expectations and what they came from ("holdout@2", "schema
 * churn@1"), into a malloc'd *against. */
static json_t *expectations(trl_magic_env *env, const args *a,
                            char **against, trl_error *err)
{
    if (a->schema) {
        trl_registry *r = trl_magic_registry(env);
        char *ref = NULL;
        json_t *spec = r ? trl_registry_get_expectations(r, a->schema, &ref,
                                                         err) : NULL;
        if (!r)
            trl_error_set(err, TRL_ENOTFOUND, "saved expectations live in "
                          "the registry, which is not available");
        if (spec) {
            size_t n = strlen(ref) + 8;
            if ((*against = malloc(n)))
                snprintf(*against, n, "schema %s", ref);
        }
        free(ref);
        return spec;
    }
    trl_frame *ref = trl__magic_find_frame(env, a->against, err);
    if (!ref)
        return NULL;
    json_t *spec = trl_validate_infer(ref, err);
    *against = strdup(ref->ref ? ref->ref : a->against);
    trl_frame_decref(ref);
    return spec;
}

static int validate(trl_magic_env *env, const char *text, trl_exec_ctx *ctx)
{
    args a;
    const char *why = NULL;
    if (parse(text ? text : "", &a, &why) != 0)
        return usage(ctx, why);
    trl_error err = {0};
    char *against = NULL;
    json_t *spec = NULL, *result = NULL;
    trl_frame *f = trl__magic_find_frame(env, a.frame, &err);
    if (!f || !(spec = expectations(env, &a, &against, &err)))
        goto done;
    if (!(result = trl_validate_check(f, spec, a.frame, against, &err)))
        goto done;
    record(trl_magic_registry(env), result);
    json_t *bundle = trl_display_validation(result);
    if (!bundle)
        trl_error_set(&err, TRL_ENOMEM, "out of memory");
    else
        trl_ctx_display(ctx, bundle, NULL, NULL);
    {
        /* the result as `_`, for code after the magic */
        trl_engine *e = trl_magic_engine(env);
        if (e && e->ops->set_last)
            e->ops->set_last(e, result);
    }
done:
    trl_frame_decref(f);
    json_decref(spec);
    json_decref(result);
    free(against);
    if (err.code) {
        trl_ctx_fail(ctx, err.code == TRL_EINTR ? "KeyboardInterrupt"
                                                : "ValidationError",
                     err.message, NULL);
        return err.code;
    }
    return 0;
}

const trl_magic trl__magic_validate = {
    "validate", "%validate FRAME --against REF_FRAME | --schema NAME",
    "checks FRAME against expectations - inferred from REF_FRAME (column "
    "set and types, missing-share ceilings, numeric ranges with a margin, "
    "categories, unique ids) or saved as NAME with validate.save - as a "
    "table of checks with what was observed and expected. Recorded in the "
    "registry for promotion gates; the result (ok, failures, checks) is "
    "also `_`", validate, NULL};
