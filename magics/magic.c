/* magic.c - the table of line magics, the splitting of a cell's leading
 * magic lines from its code, and running a line as its language's cell. */
#include <stdlib.h>
#include <string.h>

#include "magics/magic_int.h"

extern const trl_magic trl__magic_lsmagic, trl__magic_who, trl__magic_reset,
    trl__magic_history, trl__magic_memory, trl__magic_features,
    trl__magic_models, trl__magic_compare, trl__magic_metrics,
    trl__magic_time, trl__magic_timeit, trl__magic_sql, trl__magic_python;
extern const trl_magic trl__magic_bench, trl__magic_drift,
    trl__magic_validate, trl__magic_importance, trl__magic_promote,
    trl__magic_matplotlib;

/* Sorted by name: %lsmagic prints them in this order. */
static const trl_magic *const magics[] = {
    &trl__magic_bench,
    &trl__magic_compare, &trl__magic_drift,    &trl__magic_features,
    &trl__magic_history, &trl__magic_importance, &trl__magic_lsmagic,
    &trl__magic_matplotlib,
    &trl__magic_memory,  &trl__magic_metrics,  &trl__magic_models,
    &trl__magic_promote, &trl__magic_python,   &trl__magic_reset,
    &trl__magic_sql,
    &trl__magic_time,    &trl__magic_timeit,   &trl__magic_validate,
    &trl__magic_who};

const trl_magic *const *trl_magic_all(size_t *n)
{
    *n = sizeof magics / sizeof magics[0];
    return magics;
}

const trl_magic *trl_magic_find(const char *name)
{
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        if (strcmp(magics[i]->name, name) == 0)
            return magics[i];
    return NULL;
}

size_t trl_magic_leading(const char *code)
{
    const char *p = code;
    for (;;) {
        const char *q = p;
        while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
            q++;
        /* `%%` starts a cell magic, which the kernel handles itself */
        if (q[0] != '%' || q[1] == '%')
            return (size_t)(p - code);
        const char *eol = strchr(q, '\n');
        p = eol ? eol + 1 : q + strlen(q);
        if (!eol)
            return (size_t)(p - code);
    }
}

int trl__magic_run_as_cell(trl_magic_env *env, const char *language,
                           const char *options, size_t len, const char *body,
                           trl_exec_ctx *ctx)
{
    size_t lang = strlen(language), n = strlen(body);
    char *cell = malloc(lang + len + n + 5);
    if (!cell) {
        trl_ctx_fail(ctx, "MemoryError", "out of memory", NULL);
        return TRL_ENOMEM;
    }
    char *p = cell;
    memcpy(p, "%%", 2);
    memcpy(p += 2, language, lang);
    *(p += lang) = ' ';
    memcpy(++p, options, len);
    *(p += len) = '\n';
    memcpy(++p, body, n + 1);
    int rc = trl_magic_run_cell(env, cell, ctx);
    free(cell);
    return rc;
}
