/* reset.c - %reset: forget the user's names, keep everything else. */
#include <string.h>

#include "trellis/magic.h"

static int run(trl_magic_env *env, const char *args, trl_exec_ctx *ctx)
{
    /* IPython asks for confirmation unless -f; a notebook has nowhere to
     * answer, so -f is accepted and implied. */
    if (*args && strcmp(args, "-f") != 0) {
        trl_ctx_fail(ctx, "UsageError", "usage: %reset [-f]", NULL);
        return TRL_EINVAL;
    }
    trl_engine *e = trl_magic_engine(env);
    if (!e->ops->reset) {
        trl_ctx_fail(ctx, "UsageError", "this engine cannot be reset", NULL);
        return TRL_EUNSUPPORTED;
    }
    e->ops->reset(e);
    return 0;
}

const trl_magic trl__magic_reset = {
    "reset", "%reset [-f]",
    "remove every name the user defined (the registry is kept)", run, NULL};
