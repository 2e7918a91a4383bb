/* py_bridge_models.c - models, metrics and other languages' globals for
 * the trellis module: registered models by handle and their predictions
 * (new columns NumPy views), the C metrics over NumPy arrays, and what a
 * Lua global holds. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/python/py_bridge_int.h"
#include "trellis/metrics.h"
#include "trellis/model.h"
#include "trellis/registry.h"

#define PY (trl__py_fns())

/* peer(engine, name) -> (kind, handle, scalar json): kind "frame",
 * "model", "value" or "none": what the other engine's global holds. */
py_object *trl__pyb_peer(py_object *self, py_object *args)
{
    (void)self;
    const char *engine, *name;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, "ss", &engine, &name))
        return NULL;
    const trl__py_bridge_env *env = trl__pyb_env(0, &reply);
    if (!env)
        return reply;
    trl_engine *e = trl_engine_find(env->peers, env->npeers ? *env->npeers
                                                            : 0, engine);
    if (!e || e == env->self)
        return trl__pyb_fail(TRL_ENOTFOUND, "no engine called '%s'", engine);
    trl_frame *f = NULL;
    trl_model *m = NULL;
    if (e->ops->lookup)
        e->ops->lookup(e, name, &f, &m);
    if (f && m) {  /* lookup gives one; keep the frame if ever both */
        trl_model_decref(m);
        m = NULL;
    }
    unsigned long long h = f   ? trl__pyh_new(TRL__PYH_FRAME, f)
                           : m ? trl__pyh_new(TRL__PYH_MODEL, m)
                               : 0;
    if ((f || m) && !h) {
        trl_frame_decref(f);
        trl_model_decref(m);
        return trl__pyb_fail(TRL_ENOMEM, "out of memory");
    }
    if (h) {
        py_object *r = PY->Py_BuildValue("(issKs)", 0, "", f ? "frame"
                                                             : "model",
                                         h, "");
        if (!r)  /* Python never saw it */
            trl__pyh_release(h);
        return r;
    }
    json_t *v = e->ops->scalar ? e->ops->scalar(e, name) : NULL;
    char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(v);
    if (v && !text)
        return trl__pyb_fail(TRL_EINVAL, "the global '%s' (%s) holds a "
                             "string that is not valid UTF-8, which Python "
                             "cannot take", name, engine);
    py_object *r = PY->Py_BuildValue("(issKs)", 0, "", text ? "value"
                                                            : "none",
                                     0ULL, text ? text : "");
    free(text);
    return r;
}

/* model_get(spec) */
py_object *trl__pyb_model_get(py_object *self, py_object *args)
{
    (void)self;
    const char *spec;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, "s", &spec))
        return NULL;
    const trl__py_bridge_env *env = trl__pyb_env(1, &reply);
    if (!env)
        return reply;
    trl_error err = {0};
    trl_model *m = trl_registry_get_model(env->registry, spec, &err);
    return m ? trl__pyb_ok_handle(TRL__PYH_MODEL, m)
             : trl__pyb_fail_err(&err);
}

/* model_info(h) -> what the model is and was trained on. */
py_object *trl__pyb_model_info(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, "K", &h))
        return NULL;
    if (!trl__pyb_env(0, &reply))
        return reply;
    trl_model *m = trl__pyh_get(h, TRL__PYH_MODEL);
    if (!m)
        return trl__pyb_fail(TRL_EINVAL, "this model was released");
    json_t *j = json_pack("{s:s?, s:s, s:s, s:O?, s:O?, s:s, s:s?, s:O?, "
                          "s:O?, s:O?, s:s, s:i, s:o?}",
                          "ref", m->ref, "algo", m->algo, "objective",
                          m->objective, "params", m->params, "features",
                          m->features, "target", m->target, "group",
                          m->group, "metrics", m->metrics, "tags", m->tags,
                          "data", m->data, "created", m->created,
                          "noutputs", m->noutputs, "inputs",
                          trl_model_input_names(m));
    trl_model_decref(m);
    return trl__pyb_ok_json(j);
}

/* Releases every handle of wrap_outputs' rows and frees them: for what
 * Python never saw. */
static void release_rows(json_t *hs)
{
    size_t i;
    json_t *row;
    json_array_foreach(hs, i, row)
        trl__pyh_release((unsigned long long)json_integer_value(
            json_array_get(row, 0)));
    json_decref(hs);
}

/* [[handle, address, rows]...] of the k prediction columns, each handle
 * owning its column; NULL when out of memory, with none kept. */
static json_t *wrap_outputs(trl_column **out, int k)
{
    json_t *hs = json_array();
    int ok = hs != NULL;
    for (int i = 0; i < k; i++) {
        unsigned long long h = ok ? trl__pyh_new(TRL__PYH_COLUMN, out[i]) : 0;
        if (!h) {
            trl_column_decref(out[i]);
            ok = 0;
            continue;
        }
        if (json_array_append_new(hs, json_pack("[III]", (json_int_t)h,
                                  (json_int_t)(uintptr_t)out[i]->v.f64,
                                  (json_int_t)out[i]->len)) != 0 ||
            json_array_size(hs) != (size_t)i + 1) {
            trl__pyh_release(h);
            ok = 0;
        }
    }
    if (ok)
        return hs;
    release_rows(hs);
    return NULL;
}

/* model_predict(model, frame) -> [[column handle, address, rows]...],
 * one f64 column per output. */
py_object *trl__pyb_model_predict(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long hm, hf;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, "KK", &hm, &hf))
        return NULL;
    if (!trl__pyb_env(0, &reply))
        return reply;
    trl_model *m = trl__pyh_get(hm, TRL__PYH_MODEL);
    trl_frame *f = trl__pyh_get(hf, TRL__PYH_FRAME);
    if (!m || !f) {
        trl_model_decref(m);
        trl_frame_decref(f);
        return trl__pyb_fail(TRL_EINVAL, "this %s was released",
                             m ? "frame" : "model");
    }
    int k = m->noutputs;
    trl_column **out = calloc((size_t)k, sizeof *out);
    trl_error err = {TRL_ENOMEM, "out of memory"};
    int rc = TRL_ENOMEM;
    if (out) {
        py_thread *unlocked = PY->PyEval_SaveThread();
        rc = trl_model_predict(m, f, out, &err);
        PY->PyEval_RestoreThread(unlocked);
    }
    trl_model_decref(m);
    trl_frame_decref(f);
    json_t *hs = rc == 0 ? wrap_outputs(out, k) : NULL;
    free(out);
    if (rc != 0)
        return trl__pyb_fail_err(&err);  /* "out of memory" when no out */
    char *text = hs ? json_dumps(hs, JSON_COMPACT) : NULL;
    py_object *r = text ? PY->Py_BuildValue("(isy)", 0, "", text) : NULL;
    int pending = text && !r;  /* Py_BuildValue's MemoryError is set */
    free(text);
    if (!r) {
        release_rows(hs);  /* Python never saw them */
        return pending ? NULL : trl__pyb_fail(TRL_ENOMEM, "out of memory");
    }
    json_decref(hs);
    return r;
}

/* metric(name, y, s, w, group, threshold, bins): the C metric over the
 * rows of arrays y and s (f8), w (f8) and group (i8) or None, already
 * free of missing values; threshold NaN and bins <= 0 keep the defaults
 * (a negative threshold is a real one: scores may be margins). */
py_object *trl__pyb_metric(py_object *self, py_object *args)
{
    (void)self;
    const char *name;
    py_object *ya, *sa, *wa, *ga, *reply;
    double threshold;
    int bins;
    if (!PY->PyArg_ParseTuple(args, "sOOOOdi", &name, &ya, &sa, &wa, &ga,
                              &threshold, &bins))
        return NULL;
    if (!trl__pyb_env(0, &reply))
        return reply;
    trl_metric m;
    trl_error err = {0};
    if (trl_metric_parse(name, &m, &err) != 0)
        return trl__pyb_fail_err(&err);
    if (!isnan(threshold))
        m.threshold = threshold;
    if (bins > 0)
        m.bins = bins;
    size_t n;
    trl_metric_data d = {0};
    d.y = trl__pyb_array(ya, "f8", (size_t)-1, &n, &err);
    d.s = d.y ? trl__pyb_array(sa, "f8", n, NULL, &err) : NULL;
    if (d.s && !trl__pyb_is_none(wa))
        d.w = trl__pyb_array(wa, "f8", n, NULL, &err);
    if (d.s && !err.code && !trl__pyb_is_none(ga))
        d.group = trl__pyb_array(ga, "i8", n, NULL, &err);
    if (err.code)
        return trl__pyb_fail_err(&err);
    d.n = n;
    double v;
    py_thread *unlocked = PY->PyEval_SaveThread();
    int rc = trl_metric_compute(&m, &d, &v, &err);
    PY->PyEval_RestoreThread(unlocked);
    return rc == 0 ? PY->Py_BuildValue("(isd)", 0, "", v)
                   : trl__pyb_fail_err(&err);
}

/* metric_names() -> ["auc", ..., "ndcg@k", ...]: C's own list. */
py_object *trl__pyb_metric_names(py_object *self, py_object *args)
{
    (void)self;
    if (!PY->PyArg_ParseTuple(args, ""))
        return NULL;
    json_t *names = json_array();
    char name[48];
    for (size_t i = 0; names && trl_metric_list(i, name, sizeof name); i++)
        json_array_append_new(names, json_string(name));
    return trl__pyb_ok_json(names);
}
