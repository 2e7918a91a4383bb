/* sql.c - %sql: one SQL statement from a cell of another language, run
 * as a %%sql cell would run it (its rows shown as the value). */
#include <stdlib.h>
#include <string.h>

#include "magics/magic_int.h"

/* The options of %%sql, which the line magic passes on. */
static const char *const options[] = {"--save", "--lua", "--python"};

/* Whether the word at p (of length len) is an option the line magic
 * takes, in any spelling: "--save", "--lua", "--save=x"; *bare is set
 * when no "=value" is attached. */
static int option_word(const char *p, size_t len, int *bare)
{
    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
        size_t k = strlen(options[i]);
        if (len >= k && strncmp(p, options[i], k) == 0 &&
            (len == k || p[k] == '=')) {
            *bare = len == k;
            return 1;
        }
    }
    return 0;
}

/* Length of the leading options in args ("--save NAME --python NAME"), which
 * belong on the %%sql header line. Options can only lead: after the
 * statement, "--" starts an SQL comment. */
static size_t leading_options(const char *args)
{
    const char *p = args;
    for (;;) {
        const char *q = p + strspn(p, " \t");
        size_t len = strcspn(q, " \t");
        int bare;
        if (!option_word(q, len, &bare))
            return (size_t)(p - args);
        q += len;                           /* the option */
        if (bare) {
            q += strspn(q, " \t");
            q += strcspn(q, " \t");        /* its value */
        }
        p = q;
    }
}

/* A one-line statement holding an option word lost it to an SQL comment
 * ("SELECT 1 --save x"), and one that starts with "--" is all comment:
 * both would run and silently not do what was asked. (A value that is
 * another option, "--lua --save", the %%sql header refuses.) */
static const char *misplaced_option(const char *stmt)
{
    int bare;
    for (const char *p = stmt; (p = strstr(p, "--")) != NULL; p += 2)
        if (p == stmt || option_word(p, strcspn(p, " \t"), &bare))
            return "options go before the statement (after it, -- starts "
                   "an SQL comment), and a statement is needed";
    return NULL;
}

static int run(trl_magic_env *env, const char *args, trl_exec_ctx *ctx)
{
    size_t opts = leading_options(args);
    const char *stmt = args + opts + strspn(args + opts, " \t");
    const char *why = *stmt ? misplaced_option(stmt)
                            : "a statement is needed";
    if (why) {
        char msg[300];
        snprintf(msg, sizeof msg, "%%sql: %s; usage: %%sql [--save NAME] "
                 "[--lua NAME] [--python NAME] SELECT count(*) FROM churn",
                 why);
        trl_ctx_fail(ctx, "UsageError", msg, NULL);
        return TRL_EINVAL;
    }
    return trl__magic_run_as_cell(env, "sql", args, opts, stmt, ctx);
}

const trl_magic trl__magic_sql = {
    "sql", "%sql [--save NAME] [--lua NAME] [--python NAME] STATEMENT",
    "run one SQL statement (SQLite) over the registry's frames and the "
    "frame variables of Lua and Python; --save NAME registers its rows, "
    "--lua / --python NAME binds them (options go before the statement); "
    "a %%sql cell runs many",
    run, NULL};
