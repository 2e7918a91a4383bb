/* who.c - %who: the names (and types) the user has defined. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/magic.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int run(trl_magic_env *env, const char *args, trl_exec_ctx *ctx)
{
    (void)args;
    trl_engine *e = trl_magic_engine(env);
    json_t *vars = e->ops->variables ? e->ops->variables(e) : NULL;
    if (!vars || json_object_size(vars) == 0) {
        const char *none = "Interactive namespace is empty.\n";
        trl_ctx_stream(ctx, TRL_STDOUT, none, strlen(none));
        json_decref(vars);
        return 0;
    }
    /* Sorted, as IPython's %who */
    size_t n = json_object_size(vars), i = 0;
    const char **names = malloc(n * sizeof *names);
    if (!names) {
        json_decref(vars);
        trl_ctx_fail(ctx, "MemoryError", "out of memory", NULL);
        return TRL_ENOMEM;
    }
    const char *key;
    json_t *v;
    json_object_foreach(vars, key, v) names[i++] = key;
    qsort(names, n, sizeof *names, by_name);
    trl_ctx_printf(ctx, "%-24s %s\n%-24s %s\n", "Variable", "Type",
                   "--------", "----");
    for (i = 0; i < n; i++)
        trl_ctx_printf(ctx, "%-24s %s\n", names[i],
                       json_string_value(json_object_get(vars, names[i])));
    free(names);
    json_decref(vars);
    return 0;
}

const trl_magic trl__magic_who = {
    "who", "%who", "list the names defined in this session, with types",
    run, NULL};
