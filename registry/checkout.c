/* checkout.c - a working frame on a registered version: what
 * features.get gives Lua and Python, to derive the next version from. */
#include "registry/registry_int.h"

trl_frame *trl_registry_checkout(trl_registry *r, const char *spec,
                                 trl_error *err)
{
    trl_frame *v = trl_registry_get(r, spec, err);
    if (!v)
        return NULL;
    trl_frame *g = trl_frame_copy(v);
    /* no step yet: a model trained on it records the version itself */
    json_t *lin = g ? json_pack("{s:s, s:[s], s:[]}", "source", "derived",
                                "parents", v->ref ? v->ref : spec,
                                "derivation")
                    : NULL;
    trl_frame_decref(v);
    if (!lin) {
        trl_frame_decref(g);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    trl_frame_set_lineage(g, lin);
    return g;
}
