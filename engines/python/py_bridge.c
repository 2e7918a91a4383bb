/* py_bridge.c - the C half of the `trellis` Python module (py_trellis.py):
 * the calls it receives (frames in py_bridge_frames.c, models, metrics
 * and other engines' globals in py_bridge_models.c), the replies and
 * checks they share, and what the engine's own ops need of handles. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/python/py_bridge_int.h"
#include "trellis/display.h"

/* The engine whose registry and peers the module reaches. */
static const trl__py_bridge_env *attached;

void trl__py_bridge_attach(const trl__py_bridge_env *env) { attached = env; }

void trl__py_bridge_detach(const trl__py_bridge_env *env)
{
    if (attached == env)
        attached = NULL;
}

/* ---- replies -------------------------------------------------------------------- */

py_object *trl__pyb_fail(int rc, const char *fmt, ...)
{
    char msg[TRL_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Python takes UTF-8 only: a message cut inside a character, or
     * quoting a Lua string that is not UTF-8, must still arrive */
    char *clean = trl_utf8_sanitize(msg, strlen(msg), NULL);
    py_object *r = trl__py_fns()->Py_BuildValue("(is)", rc,
                                                clean ? clean : "error");
    free(clean);
    return r;
}

py_object *trl__pyb_fail_err(const trl_error *err)
{
    return trl__pyb_fail(err->code ? err->code : TRL_EINVAL, "%s",
                         err->message);
}

py_object *trl__pyb_ok(void)
{
    return trl__py_fns()->Py_BuildValue("(is)", 0, "");
}

py_object *trl__pyb_ok_json(json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!text)
        return trl__pyb_fail(TRL_ENOMEM, "out of memory");
    py_object *r = trl__py_fns()->Py_BuildValue("(isy)", 0, "", text);
    free(text);
    return r;
}

py_object *trl__pyb_ok_handle(trl__pyh_kind kind, void *p)
{
    unsigned long long h = trl__pyh_new(kind, p);
    if (!h) {
        trl__pyh_drop(kind, p);
        return trl__pyb_fail(TRL_ENOMEM, "out of memory");
    }
    py_object *r = trl__py_fns()->Py_BuildValue("(isK)", 0, "", h);
    if (!r)  /* Python never saw it */
        trl__pyh_release(h);
    return r;
}

/* ---- checks --------------------------------------------------------------------- */

const trl__py_bridge_env *trl__pyb_env(int need_registry,
                                       py_object **refusal)
{
    if (!trl__py_on_engine_thread()) {
        *refusal = trl__pyb_fail(TRL_EINVAL, "trellis is usable from the "
                                 "cell's own thread only: another cell may "
                                 "be using the registry while this thread "
                                 "runs");
        return NULL;
    }
    const trl__py_bridge_env *env = attached;  /* the cell thread's */
    if (!env) {
        *refusal = trl__pyb_fail(TRL_EINVAL, "no Trellis kernel is running");
        return NULL;
    }
    if (need_registry && !env->registry) {
        *refusal = trl__pyb_fail(TRL_EUNSUPPORTED, "this kernel has no "
                                 "registry%s%s", env->registry_error
                                 ? ": " : "", env->registry_error
                                 ? env->registry_error : "");
        return NULL;
    }
    return env;
}

int trl__pyb_is_none(py_object *o)
{
    const trl__py_api *py = trl__py_fns();
    py_object *none = py->Py_BuildValue("");
    py->Py_DecRef(none);  /* None is immortal enough to compare with */
    return o == none;
}

/* The item key of dict d (borrowed); NULL when d is NULL or lacks it. */
static py_object *item(py_object *d, const char *key)
{
    return d ? trl__py_fns()->PyDict_GetItemString(d, key) : NULL;
}

const void *trl__pyb_array(py_object *arr, const char *typestr, size_t n,
                           size_t *n_out, trl_error *err)
{
    const trl__py_api *py = trl__py_fns();
    py_object *ai = py->PyObject_GetAttrString(arr, "__array_interface__");
    py_object *shape = item(ai, "shape"), *ts = item(ai, "typestr");
    py_object *data = item(ai, "data"), *strides = item(ai, "strides");
    py_ssize_t len = -1, tlen;
    const char *t = ts ? py->PyUnicode_AsUTF8AndSize(ts, &tlen) : NULL;
    if (shape && py->PyTuple_Size(shape) == 1)
        len = py->PyLong_AsSsize_t(py->PyTuple_GetItem(shape, 0));
    void *p = data && py->PyTuple_Size(data) == 2
                  ? py->PyLong_AsVoidPtr(py->PyTuple_GetItem(data, 0))
                  : NULL;
    /* native order: '<' here on little-endian, '|' for single bytes */
    static const char order = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                                  ? '<' : '>';
    int ok = t && tlen == 3 && (t[0] == order || t[0] == '|') &&
             strcmp(t + 1, typestr) == 0 && len >= 0 &&
             (n == (size_t)-1 || (size_t)len == n) &&
             (!strides || trl__pyb_is_none(strides)) && (p || len == 0);
    py->PyErr_Clear();  /* what failed above is reported below */
    if (!ok) {
        char want[64], got[96];
        if (n == (size_t)-1)
            snprintf(want, sizeof want, "'%s' values", typestr);
        else
            snprintf(want, sizeof want, "%zu '%s' values", n, typestr);
        if (!ai || !t)
            snprintf(got, sizeof got, "something that is not an array");
        else
            snprintf(got, sizeof got, "%zd '%.8s' values%s", len, t,
                     strides && !trl__pyb_is_none(strides) ? ", strided"
                                                           : "");
        trl_error_set(err, TRL_EINVAL, "expected a contiguous array of %s, "
                      "got %s", want, got);
    }
    if (ai)
        py->Py_DecRef(ai);  /* t and strides lived in it */
    if (!ok)
        return NULL;
    if (n_out)
        *n_out = (size_t)len;
    return p ? p : "";  /* an empty array may have no memory */
}

/* ---- what the module calls ---------------------------------------------------------- */

/* errors() -> {code: exception name}: how the module raises each TRL_E*
 * code (so it holds no copy of error.h's numbers). */
py_object *trl__pyb_errors(py_object *self, py_object *args)
{
    (void)self;
    if (!trl__py_fns()->PyArg_ParseTuple(args, ""))
        return NULL;
    return trl__pyb_ok_json(json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
        "-1", "MemoryError", "-2", "ValueError", "-3", "OSError",
        "-4", "ValueError", "-5", "PermissionError", "-6",
        "KeyboardInterrupt", "-7", "LookupError", "-8", "RuntimeError"));
}

/* release(handle): drops the reference; any thread. */
py_object *trl__pyb_release(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    if (!trl__py_fns()->PyArg_ParseTuple(args, "K", &h))
        return NULL;
    trl__pyh_release(h);  /* twice is harmless: the second finds nothing */
    return trl__pyb_ok();
}

#define TRL__PYB_DEF(name)                                                    \
    {#name, trl__pyb_##name, TRL__PY_METH_VARARGS, NULL},

static py_method_def defs[] = {TRL__PYB_CALLS(TRL__PYB_DEF)};

size_t trl__py_bridge_defs(py_method_def **out)
{
    *out = defs;
    return sizeof defs / sizeof *defs;
}

/* ---- for the engine's ops ------------------------------------------------------- */

void *trl__py_bridge_ref(unsigned long long h, int model)
{
    return trl__pyh_get(h, model ? TRL__PYH_MODEL : TRL__PYH_FRAME);
}

unsigned long long trl__py_bridge_adopt(void *p, int model)
{
    return trl__pyh_new(model ? TRL__PYH_MODEL : TRL__PYH_FRAME, p);
}

void trl__py_bridge_release(unsigned long long h) { trl__pyh_release(h); }
