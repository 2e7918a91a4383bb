/* python.c - %python: one Python statement from a cell of another
 * language, run as a %%python cell would run it (its value shown). */
#include <stdlib.h>
#include <string.h>

#include "trellis/magic.h"

static int run(trl_magic_env *env, const char *args, trl_exec_ctx *ctx)
{
    if (!*args) {
        trl_ctx_fail(ctx, "UsageError", "%python: a statement is needed; "
                     "usage: %python import sys; sys.version", NULL);
        return TRL_EINVAL;
    }
    size_t n = strlen(args);
    char *cell = malloc(n + 10);
    if (!cell) {
        trl_ctx_fail(ctx, "MemoryError", "out of memory", NULL);
        return TRL_ENOMEM;
    }
    memcpy(cell, "%%python\n", 9);
    memcpy(cell + 9, args, n + 1);
    int rc = trl_magic_run_cell(env, cell, ctx);
    free(cell);
    return rc;
}

const trl_magic trl__magic_python = {
    "python", "%python STATEMENT",
    "run one line of Python (the embedded interpreter %%python cells "
    "share: same names, same modules) from a cell of any language; its "
    "value is shown",
    run, NULL};
