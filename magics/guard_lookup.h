/* guard_lookup.h - private: how %drift and %validate find the frames and
 * models they are given, as code names them (a global variable first,
 * then the registry's "name", "name@N", "name@production"). The same as
 * %compare's lookup in magics/compare.c; another branch factors that one
 * into magics/lookup.c, and these two become its callers at the merge. */
#ifndef TRELLIS_MAGICS_GUARD_LOOKUP_H
#define TRELLIS_MAGICS_GUARD_LOOKUP_H

#include "trellis/magic.h"
#include "trellis/model.h"

/* A new reference to the frame called name, or NULL with err set. */
trl_frame *trl__guard_find_frame(trl_magic_env *env, const char *name,
                                 trl_error *err);

/* A new reference to the model called name, or NULL with err set. */
trl_model *trl__guard_find_model(trl_magic_env *env, const char *name,
                                 trl_error *err);

/* Binds result (JSON, objects as tables) to the cell language's `_`, so
 * code after the magic can inspect it, as IPython's magics return
 * values. Nothing when the engine has no `_`. */
void trl__guard_set_last(trl_magic_env *env, const json_t *result);

#endif
