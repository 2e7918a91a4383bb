/* matplotlib.c - %matplotlib: accepted for notebooks written for IPython.
 * Python cells show figures inline already (engines/python/py_mpl.py), so
 * `%matplotlib inline` changes nothing; a GUI backend is not available. */
#include <stdio.h>
#include <string.h>

#include "trellis/magic.h"

static int run(trl_magic_env *env, const char *args, trl_exec_ctx *ctx)
{
    (void)env;
    if (!*args || strcmp(args, "inline") == 0)
        return 0;
    if (strcmp(args, "-l") == 0 || strcmp(args, "--list") == 0) {
        trl_ctx_printf(ctx, "Available matplotlib backends: ['inline']\n");
        return 0;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "%%matplotlib %.100s: only the inline backend "
             "is available (figures show in the cell's output; "
             "`%%matplotlib inline` is the default)", args);
    trl_ctx_fail(ctx, "UsageError", msg, json_pack("[s]", msg));
    return TRL_EINVAL;
}

const trl_magic trl__magic_matplotlib = {
    "matplotlib", "%matplotlib [inline]",
    "accepted as in IPython: Python cells show matplotlib figures inline "
    "(the only backend)",
    run, NULL};
