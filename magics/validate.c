/* validate.c - %validate FRAME --against REF | --schema NAME: a frame
 * checked against expectations inferred from a reference frame or saved
 * under a name (validate.save in Lua), shown as a table of checks,
 * recorded in the registry for promotion gates, and bound to `_`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/display.h"
#include "trellis/guard.h"
#include "magics/args.h"
#include "magics/magic_int.h"

enum { OPT_AGAINST, OPT_SCHEMA };

static const char *const positionals[] = {"FRAME", NULL};

#define EITHER "give --against REF_FRAME (expectations inferred from it) " \
               "or --schema NAME (saved with validate.save)"

/* one of the two, so they share a group */
static const trl__arg_opt options[] = {
    [OPT_AGAINST] = {.name = "against", .kind = TRL__ARG_WORD,
                     .meta = "REF_FRAME", .flags = TRL__ARG_REQUIRED,
                     .group = 1, .missing = EITHER},
    [OPT_SCHEMA] = {.name = "schema", .kind = TRL__ARG_WORD,
                    .meta = "NAME", .group = 1},
};

const trl__args_spec trl__validate_args = {
    .magic = "%validate", .pos_names = positionals, .min_pos = 1,
    .max_pos = 1, .pos_missing = "name the frame to validate",
    .pos_extra = "name one frame to validate", .opts = options,
    .nopts = sizeof options / sizeof *options};

static void record(trl_registry *r, json_t *result)
{
    long long id;
    trl_error err = {0};
    if (!r)
        json_object_set_new(result, "not_recorded",
                            json_string("the registry is not available"));
    else if (trl_registry_record_validation(r, result, &id, &err) == 0)
        json_object_set_new(result, "recorded", json_integer(id));
    else
        json_object_set_new(result, "not_recorded",
                            json_string(err.message));
}

/* The expectations and what they came from ("holdout@2", "schema
 * churn@1"), into a malloc'd *against. */
static json_t *expectations(trl_magic_env *env, const trl__args *a,
                            char **against, trl_error *err)
{
    const char *schema = trl__args_str(a, OPT_SCHEMA, NULL);
    const char *ref_name = trl__args_str(a, OPT_AGAINST, NULL);
    if (schema) {
        trl_registry *r = trl_magic_registry(env);
        char *ref = NULL;
        json_t *spec = r ? trl_registry_get_expectations(r, schema, &ref,
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
    trl_frame *ref = trl__magic_find_frame(env, ref_name, err);
    if (!ref)
        return NULL;
    json_t *spec = trl_validate_infer(ref, err);
    *against = strdup(ref->ref ? ref->ref : ref_name);
    trl_frame_decref(ref);
    return spec;
}

static int validate(trl_magic_env *env, const char *text, trl_exec_ctx *ctx)
{
    trl__args a;
    trl_error err = {0};
    if (trl__args_parse(&trl__validate_args, text, &a, &err) != 0)
        return trl__args_fail(ctx, &err);
    char *against = NULL;
    json_t *spec = NULL, *result = NULL;
    trl_frame *f = trl__magic_find_frame(env, a.pos[0], &err);
    if (!f || !(spec = expectations(env, &a, &against, &err)))
        goto done;
    if (!(result = trl_validate_check(f, spec, a.pos[0], against, &err)))
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
    trl__args_free(&a);
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
