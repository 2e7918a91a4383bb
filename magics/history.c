/* history.c - %history: this session's inputs, or a search of all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/magic.h"

static int run(trl_magic_env *env, const char *args, trl_exec_ctx *ctx)
{
    int numbers = 0, last = 0;
    const char *pattern = NULL;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", args);
    char *save = NULL;
    for (char *t = strtok_r(buf, " \t", &save); t;
         t = strtok_r(NULL, " \t", &save)) {
        if (strcmp(t, "-n") == 0) {
            numbers = 1;
        } else if (strcmp(t, "-l") == 0) {
            char *v = strtok_r(NULL, " \t", &save);
            last = v ? atoi(v) : 10;
        } else if (strcmp(t, "-g") == 0) {
            pattern = strtok_r(NULL, "", &save);
            numbers = 1;
        } else {
            trl_ctx_fail(ctx, "UsageError",
                         "usage: %history [-n] [-l N] [-g PATTERN]", NULL);
            return TRL_EINVAL;
        }
    }
    json_t *rows;
    if (pattern) {
        char glob[600];
        snprintf(glob, sizeof glob, "*%s*", pattern);
        rows = trl_magic_history_search(env, glob, 0);
    } else {
        rows = trl_magic_history_session(env);
    }
    if (!rows) {
        const char *off = "History is disabled (see the kernel log).\n";
        trl_ctx_stream(ctx, TRL_STDOUT, off, strlen(off));
        return 0;
    }
    size_t n = json_array_size(rows);
    size_t first = last > 0 && (size_t)last < n ? n - (size_t)last : 0;
    for (size_t i = first; i < n; i++) {
        json_t *row = json_array_get(rows, i);
        const char *src = json_string_value(json_array_get(row, 2));
        int session = (int)json_integer_value(json_array_get(row, 0));
        int line = (int)json_integer_value(json_array_get(row, 1));
        if (numbers && pattern)
            trl_ctx_printf(ctx, "%d/%d: ", session, line);
        else if (numbers)
            trl_ctx_printf(ctx, "%3d: ", line);
        trl_ctx_stream(ctx, TRL_STDOUT, src, strlen(src));
        trl_ctx_stream(ctx, TRL_STDOUT, "\n", 1);
    }
    json_decref(rows);
    return 0;
}

const trl_magic trl__magic_history = {
    "history", "%history [-n] [-l N] [-g PAT]",
    "print this session's inputs (-n numbered, -l last N, -g search all "
    "sessions)",
    run, NULL};
