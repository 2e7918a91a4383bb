/* lookup.c - how magics find the models and frames they are given: as
 * code names them, a global variable first (the cell's language's, then
 * the other languages'), then the registry. */
#include "magics/magic_int.h"

void trl__magic_lookup_var(trl_magic_env *env, const char *name,
                           trl_frame **f, trl_model **m)
{
    trl_engine *e = trl_magic_engine(env);
    *f = NULL;
    *m = NULL;
    if (e && e->ops->lookup)
        e->ops->lookup(e, name, f, m);
    /* then the other engines' (a Python trellis.Frame) */
    trl_engine *const *all;
    size_t n = trl_magic_engines(env, &all);
    for (size_t i = 0; i < n && !*f && !*m; i++)
        if (all[i] != e && all[i]->ops->lookup)
            all[i]->ops->lookup(all[i], name, f, m);
}

/* What a variable called name holds (a new reference in *f or *m); the
 * registry to look in otherwise, or NULL with err set saying neither has
 * a `what` called name. */
static trl_registry *look_up(trl_magic_env *env, const char *name,
                             const char *what, trl_frame **f, trl_model **m,
                             trl_error *err)
{
    trl__magic_lookup_var(env, name, f, m);
    trl_registry *r = trl_magic_registry(env);
    if (!r)
        trl_error_set(err, TRL_ENOTFOUND, "no variable holds a %s called "
                      "'%s', and the registry is not available", what, name);
    return r;
}

trl_model *trl__magic_find_model(trl_magic_env *env, const char *name,
                                 trl_error *err)
{
    trl_frame *f;
    trl_model *m;
    trl_error none = {0};
    trl_registry *r = look_up(env, name, "model", &f, &m, &none);
    trl_frame_decref(f);
    if (m || !r) {
        if (!m && err)
            *err = none;
        return m;
    }
    return trl_registry_get_model(r, name, err);
}

trl_frame *trl__magic_find_frame(trl_magic_env *env, const char *name,
                                 trl_error *err)
{
    trl_frame *f;
    trl_model *m;
    trl_error none = {0};
    trl_registry *r = look_up(env, name, "frame", &f, &m, &none);
    trl_model_decref(m);
    if (f || !r) {
        if (!f && err)
            *err = none;
        return f;
    }
    return trl_registry_get(r, name, err);
}
