/* peers.c - finding a language's engine among the kernel's, for an engine
 * that reads or binds another's globals (%%sql --python, python.x in Lua,
 * trellis.lua.x in Python). */
#include <string.h>

#include "trellis/engine.h"

trl_engine *trl_engine_find(trl_engine *const *engines, size_t n,
                            const char *name)
{
    for (size_t i = 0; engines && i < n; i++)
        if (strcmp(engines[i]->ops->name, name) == 0)
            return engines[i];
    return NULL;
}
