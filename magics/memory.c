/* memory.c - %memory: the engine's memory in use and its limit, and
 * changing the limit (TRELLIS_LUA_MEMORY sets it at start). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/magic.h"

/* "512M", "2G", "1.5GiB", "100000" -> bytes; 0 when unparsable. */
static size_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return 0;
    double mult = 1;
    int unit = tolower((unsigned char)*end);
    if (unit == 'k' || unit == 'm' || unit == 'g') {
        mult = unit == 'k' ? 1024.0 : unit == 'm' ? 1048576.0 : 1073741824.0;
        end++;
        if (tolower((unsigned char)*end) == 'i')
            end++;
        if (tolower((unsigned char)*end) == 'b')
            end++;
    }
    double bytes = v * mult;
    /* "inf" or "1e30G" would not fit a size_t */
    if (*end || !(bytes < 1e18))
        return 0;
    return (size_t)bytes;
}

static void human(char *buf, size_t size, size_t bytes)
{
    if (bytes >= (size_t)1 << 30)
        snprintf(buf, size, "%.2f GiB", bytes / 1073741824.0);
    else if (bytes >= (size_t)1 << 20)
        snprintf(buf, size, "%.1f MiB", bytes / 1048576.0);
    else
        snprintf(buf, size, "%.1f KiB", bytes / 1024.0);
}

static int run(trl_magic_env *env, const char *args, trl_exec_ctx *ctx)
{
    trl_engine *e = trl_magic_engine(env);
    if (!e->ops->memory) {
        trl_ctx_fail(ctx, "UsageError", "this engine has no memory limit",
                     NULL);
        return TRL_EUNSUPPORTED;
    }
    size_t used, limit, want = 0;
    if (*args) {
        want = parse_size(args);
        if (!want) {
            char msg[300];
            snprintf(msg, sizeof msg, "%%memory: '%s' is not a size (try "
                     "512M or 2G)", args);
            trl_ctx_fail(ctx, "UsageError", msg, NULL);
            return TRL_EINVAL;
        }
    }
    e->ops->memory(e, want != 0, want, &used, &limit);
    char u[32], l[32];
    human(u, sizeof u, used);
    human(l, sizeof l, limit);
    trl_ctx_printf(ctx, "%s memory: %s in use, limit %s\n", e->ops->name, u,
                   limit ? l : "none");
    return 0;
}

const trl_magic trl__magic_memory = {
    "memory", "%memory [LIMIT]",
    "show the engine's memory and limit; with LIMIT (512M, 2G) change it",
    run, NULL};
