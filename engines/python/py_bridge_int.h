/* py_bridge_int.h - private to the trellis module's C half: the handle
 * table (py_handles.c), the replies and checks every call shares
 * (py_bridge.c), and the calls themselves (py_bridge_frames.c,
 * py_bridge_models.c), which py_bridge.c lists for the module.
 *
 * Every call returns (rc, message, result...): rc 0, or a TRL_E* code
 * the module raises as the exception errors() names for it. */
#ifndef TRELLIS_ENGINES_PY_BRIDGE_INT_H
#define TRELLIS_ENGINES_PY_BRIDGE_INT_H

#include <stddef.h>

#include "engines/python/py_int.h"

/* ---- handles (py_handles.c) ------------------------------------------------ */

typedef enum {
    TRL__PYH_FRAME = 1,
    TRL__PYH_COLUMN,
    TRL__PYH_MODEL
} trl__pyh_kind;

/* A handle owning the reference p; 0 when out of memory (the caller
 * still owns p then). Never 0 otherwise. */
unsigned long long trl__pyh_new(trl__pyh_kind kind, void *p);

/* A new reference to what h names when it is of kind, else NULL
 * (released, never made, or another kind). */
void *trl__pyh_get(unsigned long long h, trl__pyh_kind kind);

/* Drops the reference h owns and retires h (any thread). 0, or
 * TRL_ENOTFOUND when h names nothing. */
int trl__pyh_release(unsigned long long h);

/* Drops a reference of kind (frame, column or model decref). */
void trl__pyh_drop(trl__pyh_kind kind, void *p);

/* ---- shared by the calls (py_bridge.c) -------------------------------------- */

py_object *trl__pyb_fail(int rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
py_object *trl__pyb_fail_err(const trl_error *err);
/* (0, "") */
py_object *trl__pyb_ok(void);
/* (0, "", text of j), freeing j; out of memory when j is NULL. */
py_object *trl__pyb_ok_json(json_t *j);
/* (0, "", a handle owning p), or out of memory (p dropped). */
py_object *trl__pyb_ok_handle(trl__pyh_kind kind, void *p);

/* What the module reaches, when the call may go on: on the cell's thread
 * (the registry is that thread's alone: another language's cell may use
 * it while a Python thread runs), and with a registry when need_registry.
 * Otherwise NULL, and *refusal is the reply saying why. */
const trl__py_bridge_env *trl__pyb_env(int need_registry,
                                       py_object **refusal);

/* Whether o is None. */
int trl__pyb_is_none(py_object *o);

/* The memory of arr, a one-dimensional C-contiguous array of n items of
 * typestr ("f8", "i8", "u1", "i4"; native byte order) by its
 * __array_interface__, or NULL with err saying what it is instead: the
 * module passes arrays, never bare addresses. n = (size_t)-1 accepts
 * any length, written to *n_out. */
const void *trl__pyb_array(py_object *arr, const char *typestr, size_t n,
                           size_t *n_out, trl_error *err);

/* ---- the calls --------------------------------------------------------------- */

#define TRL__PYB_CALLS(X)                                                     \
    X(errors) X(release)                                                      \
    X(frame_get) X(frame_new) X(frame_info) X(column) X(frame_set)            \
    X(frame_drop) X(frame_derive) X(frame_bundle) X(register) X(list)         \
    X(csv)                                                                    \
    X(peer) X(model_get) X(model_info) X(model_predict) X(metric)             \
    X(metric_names)

#define TRL__PYB_DECLARE(name)                                                \
    py_object *trl__pyb_##name(py_object *self, py_object *args);
TRL__PYB_CALLS(TRL__PYB_DECLARE)

#endif
