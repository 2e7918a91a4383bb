/* magic_env.c - what the kernel lends magics, and running a cell's leading
 * line magics. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_int.h"
#include "trellis/display.h"
#include "trellis/magic.h"

struct trl_magic_env {
    trl__kernel *k;
    trl_engine *engine;
    int depth;  /* cell magics around this one */
};

trl_engine *trl_magic_engine(trl_magic_env *env)
{
    return env->engine;
}

size_t trl_magic_engines(trl_magic_env *env, trl_engine *const **out)
{
    *out = env->k->engines;
    return env->k->n_engines;
}

struct trl_registry *trl_magic_registry(trl_magic_env *env)
{
    return env->k->registry;
}

json_t *trl_magic_history_session(trl_magic_env *env)
{
    return env->k->history ? trl__history_range(env->k->history, 0, 1, 0, 0)
                           : NULL;
}

json_t *trl_magic_history_search(trl_magic_env *env, const char *pattern,
                                 int n)
{
    return env->k->history
               ? trl__history_search(env->k->history, pattern, n, 0, 0)
               : NULL;
}

/* Runs one `%name args` line. Returns 0 or a negative code (the failure is
 * already recorded in ctx). */
static int run_line(trl_magic_env *env, const char *line, size_t len,
                    trl_exec_ctx *ctx)
{
    char buf[4096];
    if (len >= sizeof buf) {
        trl_ctx_fail(ctx, "UsageError", "magic line is too long", NULL);
        return TRL_EINVAL;
    }
    memcpy(buf, line, len);
    buf[len] = '\0';
    char *name = buf + 1;  /* past the % */
    char *end = name;
    while (*end && !isspace((unsigned char)*end))
        end++;
    char *args = end;
    if (*args)
        *args++ = '\0';
    while (isspace((unsigned char)*args))
        args++;
    for (char *t = args + strlen(args); t > args && isspace((unsigned char)t[-1]);)
        *--t = '\0';
    size_t nl = strlen(name);
    int help = nl > 0 && name[nl - 1] == '?';
    if (help)
        name[nl - 1] = '\0';
    const trl_magic *m = trl_magic_find(name);
    if (m && !m->run && !help) {
        char msg[256];
        snprintf(msg, sizeof msg, "`%%%%%s` is a cell magic: put it on the "
                 "first line of the cell, above the code it applies to.",
                 name);
        trl_ctx_fail(ctx, "UsageError", msg, json_pack("[s]", msg));
        return TRL_EINVAL;
    }
    if (!m) {
        char msg[256];
        snprintf(msg, sizeof msg, "Line magic function `%%%s` not found.",
                 name);
        trl_ctx_fail(ctx, "UsageError", msg, json_pack("[s]", msg));
        return TRL_ENOTFOUND;
    }
    if (help) {
        char doc[2048];
        int n = snprintf(doc, sizeof doc, "%s\n\n%s\n", m->usage, m->doc);
        if (n < 0)
            n = 0;
        if ((size_t)n >= sizeof doc)
            n = (int)sizeof doc - 1;
        trl_ctx_page(ctx, trl_display_text(doc, (size_t)n));
        return 0;
    }
    return m->run(env, args, ctx);
}

size_t trl__run_line_magics(trl__kernel *k, trl_engine *e, const char *code,
                            int depth, trl_exec_ctx *ctx)
{
    size_t n = trl_magic_leading(code);
    trl_magic_env env = {k, e, depth};
    const char *p = code, *end = code + n;
    while (p < end) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p >= end)
            break;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (run_line(&env, p, len, ctx) != 0 || ctx->failed)
            break;
        p += len;
    }
    return n;
}

int trl__run_cell_magic(trl__kernel *k, trl_engine *e, const trl_magic *m,
                        const char *line, size_t line_len, const char *body,
                        int depth, trl_exec_ctx *ctx)
{
    char buf[4096];
    while (line_len && isspace((unsigned char)*line))
        line++, line_len--;
    while (line_len && isspace((unsigned char)line[line_len - 1]))
        line_len--;
    if (line_len >= sizeof buf) {
        trl_ctx_fail(ctx, "UsageError", "magic line is too long", NULL);
        return TRL_EINVAL;
    }
    memcpy(buf, line, line_len);
    buf[line_len] = '\0';
    trl_magic_env env = {k, e, depth};
    int rc = m->run_cell(&env, buf, body, ctx);
    return rc < 0 || ctx->failed ? (rc < 0 ? rc : TRL_EINVAL) : 0;
}

int trl_magic_run_cell(trl_magic_env *env, const char *code,
                       trl_exec_ctx *ctx)
{
    return trl__run_cell(env->k, code, env->depth, ctx);
}

trl_engine *trl_magic_cell_engine(trl_magic_env *env, const char *code,
                                  const char **body, trl_exec_ctx *ctx)
{
    const trl_magic *cell;
    const char *line;
    size_t len;
    trl_engine *e = trl__cell_engine(env->k, code, body, &cell, &line, &len,
                                     ctx);
    if (e && cell) {
        char msg[200];
        snprintf(msg, sizeof msg, "`%%%%%s` is a magic, not a language: "
                 "put it first, above this one", cell->name);
        trl_ctx_fail(ctx, "UsageError", msg, json_pack("[s]", msg));
        return NULL;
    }
    if (e && *body == code)
        e = env->engine;  /* no %%language: this cell's engine */
    return e;
}
