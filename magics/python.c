/* python.c - %python: one Python statement from a cell of another
 * language, run as a %%python cell would run it (its value shown). */
#include "magics/magic_int.h"

static int run(trl_magic_env *env, const char *args, trl_exec_ctx *ctx)
{
    if (!*args) {
        trl_ctx_fail(ctx, "UsageError", "%python: a statement is needed; "
                     "usage: %python import sys; sys.version", NULL);
        return TRL_EINVAL;
    }
    return trl__magic_run_as_cell(env, "python", "", 0, args, ctx);
}

const trl_magic trl__magic_python = {
    "python", "%python STATEMENT",
    "run one line of Python (the embedded interpreter %%python cells "
    "share: same names, same modules) from a cell of any language; its "
    "value is shown",
    run, NULL};
