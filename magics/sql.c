/* sql.c - %sql: one SQL statement from a cell of another language, run
 * as a %%sql cell would run it (its rows shown as the value). */
#include <stdlib.h>
#include <string.h>

#include "trellis/magic.h"

static int run(trl_magic_env *env, const char *args, trl_exec_ctx *ctx)
{
    if (!*args) {
        trl_ctx_fail(ctx, "UsageError", "%sql needs a statement: %sql "
                     "SELECT count(*) FROM churn", NULL);
        return TRL_EINVAL;
    }
    size_t n = strlen(args);
    char *cell = malloc(n + 8);
    if (!cell) {
        trl_ctx_fail(ctx, "MemoryError", "out of memory", NULL);
        return TRL_ENOMEM;
    }
    memcpy(cell, "%%sql\n", 6);
    memcpy(cell + 6, args, n + 1);
    int rc = trl_magic_run_cell(env, cell, ctx);
    free(cell);
    return rc;
}

const trl_magic trl__magic_sql = {
    "sql", "%sql STATEMENT",
    "run one SQL statement (SQLite) over the registry's frames and Lua's "
    "frame variables; a %%sql cell runs many, and --save NAME / --lua NAME "
    "keep the result",
    run, NULL};
