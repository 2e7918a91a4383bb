/* lsmagic.c - %lsmagic: the magics there are. */
#include <stdio.h>
#include <string.h>

#include "trellis/magic.h"

static int run(trl_magic_env *env, const char *args, trl_exec_ctx *ctx)
{
    (void)args;
    size_t n;
    const trl_magic *const *all = trl_magic_all(&n);
    const char *head = "Available line magics:\n";
    trl_ctx_stream(ctx, TRL_STDOUT, head, strlen(head));
    for (size_t i = 0; i < n; i++)
        if (all[i]->run)
            trl_ctx_printf(ctx, "  %-28s %s\n", all[i]->usage, all[i]->doc);
    head = "\nAvailable cell magics (first line of a cell):\n";
    trl_ctx_stream(ctx, TRL_STDOUT, head, strlen(head));
    trl_engine *const *engines;
    size_t ne = trl_magic_engines(env, &engines);
    for (size_t i = 0; i < ne; i++)
        trl_ctx_printf(ctx, "  %%%%%-26s run the cell as %s%s\n",
                       engines[i]->ops->name, engines[i]->ops->info->name,
                       i == 0 ? " (the default)" : "");
    for (size_t i = 0; i < n; i++)
        if (all[i]->run_cell)
            trl_ctx_printf(ctx, "  %%%%%-26s %s\n", all[i]->name,
                           all[i]->doc);
    return 0;
}

const trl_magic trl__magic_lsmagic = {
    "lsmagic", "%lsmagic", "list the line and cell magics", run, NULL};
