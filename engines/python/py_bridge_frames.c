/* py_bridge_frames.c - frames for the trellis module: registry versions
 * and working frames by handle, their columns as addresses NumPy views
 * (the handle of each column holds it while a view lives), columns set
 * from NumPy arrays (copied once), and registering. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/python/py_bridge_int.h"
#include "trellis/display.h"
#include "trellis/model.h"
#include "trellis/registry.h"

#define PY (trl__py_fns())

/* The frame handle h names (a new reference), or NULL with *reply set. */
static trl_frame *frame_of(unsigned long long h, py_object **reply)
{
    trl_frame *f = trl__pyh_get(h, TRL__PYH_FRAME);
    if (!f)
        *reply = trl__pyb_fail(TRL_EINVAL, "this frame was released");
    return f;
}

/* The frame of a call whose one argument is its handle (a new
 * reference), or NULL with *reply set (a refusal or a bad argument). */
static trl_frame *frame_call(py_object *args, py_object **reply)
{
    unsigned long long h;
    *reply = NULL;  /* NULL with an exception pending: a bad argument */
    if (!PY->PyArg_ParseTuple(args, "K", &h))
        return NULL;
    return trl__pyb_env(0, reply) ? frame_of(h, reply) : NULL;
}

/* frame_get(spec, working): the version spec names ("name", "name@N");
 * working: a working frame on it (as features.get in Lua), else the
 * frozen version itself. */
py_object *trl__pyb_frame_get(py_object *self, py_object *args)
{
    (void)self;
    const char *spec;
    int working;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, "si", &spec, &working))
        return NULL;
    const trl__py_bridge_env *env = trl__pyb_env(1, &reply);
    if (!env)
        return reply;
    trl_error err = {0};
    trl_frame *f = working ? trl_registry_checkout(env->registry, spec, &err)
                           : trl_registry_get(env->registry, spec, &err);
    return f ? trl__pyb_ok_handle(TRL__PYH_FRAME, f) : trl__pyb_fail_err(&err);
}

/* frame_new(): an empty working frame built in this cell. */
py_object *trl__pyb_frame_new(py_object *self, py_object *args)
{
    (void)self;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, ""))
        return NULL;
    if (!trl__pyb_env(0, &reply))
        return reply;
    trl_frame *f = trl_frame_new();
    json_t *lin = json_pack("{s:s, s:i}", "source", "python cell", "cell",
                            trl__py_execution_count());
    if (!f || !lin) {
        trl_frame_decref(f);
        json_decref(lin);
        return trl__pyb_fail(TRL_ENOMEM, "out of memory");
    }
    trl_frame_set_lineage(f, lin);
    return trl__pyb_ok_handle(TRL__PYH_FRAME, f);
}

/* frame_info(h) -> {"nrows", "ref", "frozen", "lineage", "columns":
 * [[name, type]...]} */
py_object *trl__pyb_frame_info(py_object *self, py_object *args)
{
    (void)self;
    py_object *reply;
    trl_frame *f = frame_call(args, &reply);
    if (!f)
        return reply;
    json_t *cols = json_array();
    for (size_t i = 0; cols && i < f->ncols; i++) {
        json_t *name = json_string(f->names[i]);
        if (!name) {  /* a Lua name may be any bytes; JSON wants UTF-8 */
            json_decref(cols);
            trl_frame_decref(f);
            return trl__pyb_fail(TRL_EINVAL, "column %zu's name '%s' is not "
                                 "valid UTF-8: rename it where it was made",
                                 i + 1, f->names[i]);
        }
        if (json_array_append_new(cols, json_pack("[os]", name,
                                  trl_dtype_name(f->cols[i]->type))) != 0) {
            json_decref(cols);
            cols = NULL;
        }
    }
    json_t *j = cols ? json_pack("{s:I, s:s?, s:b, s:O?, s:o}", "nrows",
                                 (json_int_t)f->nrows, "ref", f->ref,
                                 "frozen", f->frozen, "lineage", f->lineage,
                                 "columns", cols)
                     : NULL;
    trl_frame_decref(f);
    return trl__pyb_ok_json(j);
}

/* The strings of a str column's dictionary, a new array; NULL with err
 * set when one is not UTF-8 (Lua strings are bytes) or out of memory. */
static json_t *categories(const trl_column *c, const char *name,
                          trl_error *err)
{
    json_t *cats = json_array();
    for (size_t i = 0; cats && i < c->dict->n; i++) {
        json_t *s = json_stringn(c->dict->strs[i], c->dict->lens[i]);
        if (!s) {
            trl_error_set(err, TRL_EINVAL, "column '%s' holds a string that "
                          "is not valid UTF-8 (\"%s\"), which Python cannot "
                          "take", name, c->dict->strs[i]);
            json_decref(cats);
            return NULL;
        }
        if (json_array_append_new(cats, s) != 0) {
            json_decref(cats);
            cats = NULL;
        }
    }
    if (!cats && !err->code)
        trl_error_set(err, TRL_ENOMEM, "out of memory");
    return cats;
}

/* column(h, name) -> handle of the column, and {"type", "len", "data",
 * "valid", "missing", "categories"}: addresses for NumPy to view, valid
 * 0 when no i64 row is missing, missing whether a bool row is (the
 * values do not say, as NaN does), categories the strings codes index. */
py_object *trl__pyb_column(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    const char *name;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, "Ks", &h, &name))
        return NULL;
    trl_frame *f = trl__pyb_env(0, &reply) ? frame_of(h, &reply) : NULL;
    if (!f)
        return reply;
    trl_column *c = trl_frame_get(f, name);
    trl_column_incref(c);
    trl_frame_decref(f);
    if (!c)
        return trl__pyb_fail(TRL_ENOTFOUND, "the frame has no column '%s'",
                             name);
    trl_error err = {0};
    json_t *cats = c->type == TRL_STR ? categories(c, name, &err) : NULL;
    if (err.code) {
        trl_column_decref(c);
        return trl__pyb_fail_err(&err);
    }
    int missing = c->type == TRL_BOOL && c->len &&
                  memchr(c->v.b, TRL_BOOL_MISSING, c->len);
    json_t *j = c->type != TRL_STR || cats
                    ? json_pack("{s:s, s:I, s:I, s:I, s:b, s:o?}", "type",
                                trl_dtype_name(c->type), "len",
                                (json_int_t)c->len, "data",
                                (json_int_t)(uintptr_t)c->v.f64, "valid",
                                (json_int_t)(uintptr_t)c->valid, "missing",
                                missing, "categories", cats)
                    : NULL;
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    unsigned long long ch = text ? trl__pyh_new(TRL__PYH_COLUMN, c) : 0;
    if (!ch) {
        free(text);
        trl_column_decref(c);
        return trl__pyb_fail(TRL_ENOMEM, "out of memory");
    }
    py_object *r = PY->Py_BuildValue("(isKy)", 0, "", ch, text);
    free(text);
    if (!r)  /* Python never saw it */
        trl__pyh_release(ch);
    return r;
}

/* Codes into cats mapped to c's dictionary (cats may repeat a string):
 * every code checked, as a wrong one would index past the dictionary. */
static int copy_codes(trl_column *c, const int32_t *codes, json_t *cats,
                      trl_error *err)
{
    size_t ncat = json_array_size(cats);
    int32_t *map = malloc((ncat ? ncat : 1) * sizeof *map);
    if (!map)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ncat; i++) {
        json_t *s = json_array_get(cats, i);
        if (!json_is_string(s))
            rc = trl_error_set(err, TRL_EINVAL, "categories must be "
                               "strings");
        else if ((map[i] = trl_strdict_intern(c->dict, json_string_value(s),
                                              json_string_length(s))) < 0)
            rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < c->len; i++) {
        if (codes[i] < -1 || codes[i] >= (int64_t)ncat)
            rc = trl_error_set(err, TRL_EINVAL, "row %zu has code %d, but "
                               "there are %zu categories", i, codes[i],
                               ncat);
        else
            c->v.codes[i] = codes[i] < 0 ? -1 : map[codes[i]];
    }
    free(map);
    return rc;
}

/* A new column of n rows copied from Python's arrays: f64 doubles, i64
 * int64 (valid, when not NULL, a byte per row: 1 present), bool bytes
 * 0/1/255, str int32 codes into cats (-1 missing). */
static trl_column *copy_in(trl_dtype type, const void *data, size_t n,
                           const uint8_t *valid, json_t *cats,
                           trl_error *err)
{
    trl_column *c = trl_column_new(type, n, NULL);
    if (!c || (type == TRL_I64 && valid && !(c->valid = malloc(n ? n : 1)))) {
        trl_column_decref(c);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    int rc = 0;
    if (type == TRL_STR)
        rc = copy_codes(c, data, cats, err);
    else if (n)
        memcpy(c->v.f64, data, n * (type == TRL_BOOL ? 1 : 8));
    for (size_t i = 0; c->valid && i < n; i++)
        c->valid[i] = valid[i] != 0;
    for (size_t i = 0; rc == 0 && type == TRL_BOOL && i < n; i++)
        if (c->v.b[i] > 1 && c->v.b[i] != TRL_BOOL_MISSING)
            rc = trl_error_set(err, TRL_EINVAL, "a bool column holds byte "
                               "%d", c->v.b[i]);
    if (rc != 0) {
        trl_column_decref(c);
        return NULL;
    }
    return c;
}

/* frame_set(h, name, type, values, valid, categories): sets column name
 * of a working frame to a copy of values (an array: f8, i8, u1 or i4
 * codes by type), valid an u1 array or None, categories JSON text for
 * str, else None. */
py_object *trl__pyb_frame_set(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    const char *name, *type, *cats_text;
    py_object *values, *valid_arr, *reply;
    if (!PY->PyArg_ParseTuple(args, "KssOOz", &h, &name, &type, &values,
                              &valid_arr, &cats_text))
        return NULL;
    if (!trl__pyb_env(0, &reply))
        return reply;
    static const char *const typestr[] = {"f8", "i8", "u1", "i4"};
    int t = -1;
    for (int i = 0; i < 4 && t < 0; i++)
        if (strcmp(type, trl_dtype_name((trl_dtype)i)) == 0)
            t = i;
    if (t < 0)
        return trl__pyb_fail(TRL_EINVAL, "frame_set: no column type '%s'",
                             type);
    trl_error err = {0};
    size_t n;
    const void *data = trl__pyb_array(values, typestr[t], (size_t)-1, &n,
                                      &err);
    const void *valid = data && t == TRL_I64 && !trl__pyb_is_none(valid_arr)
                            ? trl__pyb_array(valid_arr, "u1", n, NULL, &err)
                            : NULL;
    json_t *cats = data && t == TRL_STR
                       ? json_loads(cats_text ? cats_text : "",
                                    JSON_ALLOW_NUL, NULL)
                       : NULL;
    if (!data || (err.code && !valid) || (t == TRL_STR && !cats)) {
        json_decref(cats);
        if (!err.code)
            trl_error_set(&err, TRL_EINVAL, "categories must be JSON");
        return trl__pyb_fail_err(&err);
    }
    trl_frame *f = frame_of(h, &reply);
    if (!f || f->frozen) {  /* refused before copying 10M rows for nothing */
        json_decref(cats);
        if (f)
            trl_error_set(&err, TRL_EINVAL, "%s is a registered version and "
                          "cannot change: copy it first", f->ref);
        trl_frame_decref(f);
        return f ? trl__pyb_fail_err(&err) : reply;
    }
    /* a 10M-row copy: other Python threads run meanwhile. The frame is
     * out of their reach (trellis calls are the cell thread's); values is
     * a NumPy array this call holds, which numpy will not resize or free
     * under a reference (short of resize(refcheck=False)). */
    py_thread *unlocked = PY->PyEval_SaveThread();
    trl_column *c = copy_in((trl_dtype)t, data, n, valid, cats, &err);
    PY->PyEval_RestoreThread(unlocked);
    json_decref(cats);
    int rc = c ? trl_frame_set(f, name, c, &err) : err.code;
    if (rc == 0)
        trl_frame_add_step(f, "python cell", json_pack("{s:s, s:s}",
                           "column", name, "expr", "(python)"));
    trl_column_decref(c);
    trl_frame_decref(f);
    return rc == 0 ? trl__pyb_ok() : trl__pyb_fail_err(&err);
}

/* frame_drop(h, name) */
py_object *trl__pyb_frame_drop(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    const char *name;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, "Ks", &h, &name))
        return NULL;
    trl_frame *f = trl__pyb_env(0, &reply) ? frame_of(h, &reply) : NULL;
    if (!f)
        return reply;
    trl_error err = {0};
    int rc = trl_frame_drop(f, name, &err);
    if (rc == 0)
        trl_frame_add_step(f, "python cell", json_pack("{s:s, s:s}", "op",
                           "drop", "column", name));
    trl_frame_decref(f);
    return rc == 0 ? trl__pyb_ok() : trl__pyb_fail_err(&err);
}

/* A new frame of f's: copy (arg ignored), head (arg rows, >= 0), select
 * (arg a JSON array of names). *step_out the lineage step. */
static trl_frame *derive(const trl_frame *f, const char *op, const char *arg,
                         json_t **step_out, trl_error *err)
{
    *step_out = NULL;
    if (strcmp(op, "copy") == 0) {
        *step_out = json_pack("{s:s}", "op", "copy");
        return trl_frame_copy(f);
    }
    if (strcmp(op, "head") == 0) {
        char *end;
        long long rows = strtoll(arg, &end, 10);
        if (*end || rows < 0) {
            trl_error_set(err, TRL_EINVAL, "head takes a count of rows from "
                          "0, not %s", arg);
            return NULL;
        }
        *step_out = json_pack("{s:s, s:I}", "op", "head", "n",
                              (json_int_t)rows);
        return trl_frame_head(f, (size_t)rows, err);
    }
    if (strcmp(op, "select") != 0) {
        trl_error_set(err, TRL_EINVAL, "frame_derive: no operation '%s'", op);
        return NULL;
    }
    json_t *names = json_loads(arg, 0, NULL);
    size_t k = json_array_size(names);
    const char **v = calloc(k ? k : 1, sizeof *v);
    int named = json_is_array(names);
    for (size_t i = 0; v && i < k; i++)
        named &= (v[i] = json_string_value(json_array_get(names, i))) != NULL;
    trl_frame *g = NULL;
    if (!named)
        trl_error_set(err, TRL_EINVAL, "select takes column names (strings)");
    else if (v)
        g = trl_frame_select(f, v, k, err);
    *step_out = json_pack("{s:s, s:O?}", "op", "select", "columns", names);
    free(v);
    json_decref(names);
    return g;
}

/* frame_derive(h, op, arg): a new working frame sharing f's columns. */
py_object *trl__pyb_frame_derive(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    const char *op, *arg;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, "Kss", &h, &op, &arg))
        return NULL;
    trl_frame *f = trl__pyb_env(0, &reply) ? frame_of(h, &reply) : NULL;
    if (!f)
        return reply;
    trl_error err = {0};
    json_t *step;
    trl_frame *g = derive(f, op, arg, &step, &err);
    json_t *lin = g ? trl_frame_derived_lineage(f, "python cell", step)
                    : NULL;
    if (!g)
        json_decref(step);
    trl_frame_decref(f);
    if (!g || !lin) {
        if (!err.code)
            trl_error_set(&err, TRL_ENOMEM, "out of memory");
        trl_frame_decref(g);
        return trl__pyb_fail_err(&err);
    }
    trl_frame_set_lineage(g, lin);
    return trl__pyb_ok_handle(TRL__PYH_FRAME, g);
}

/* frame_bundle(h) -> {"text/plain", "text/html"}: how cells show it. */
py_object *trl__pyb_frame_bundle(py_object *self, py_object *args)
{
    (void)self;
    py_object *reply;
    trl_frame *f = frame_call(args, &reply);
    if (!f)
        return reply;
    char *text = trl_frame_text(f), *html = trl_frame_html(f);
    trl_frame_decref(f);
    /* names and strings from Lua may be any bytes */
    char *clean_text = text ? trl_utf8_sanitize(text, strlen(text), NULL)
                            : NULL;
    char *clean_html = html ? trl_utf8_sanitize(html, strlen(html), NULL)
                            : NULL;
    json_t *j = clean_text && clean_html
                    ? json_pack("{s:s, s:s}", "text/plain", clean_text,
                                "text/html", clean_html)
                    : NULL;
    free(text);
    free(html);
    free(clean_text);
    free(clean_html);
    return trl__pyb_ok_json(j);
}

/* register(name, h) -> "name@N" */
py_object *trl__pyb_register(py_object *self, py_object *args)
{
    (void)self;
    const char *name;
    unsigned long long h;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, "sK", &name, &h))
        return NULL;
    const trl__py_bridge_env *env = trl__pyb_env(1, &reply);
    trl_frame *f = env ? frame_of(h, &reply) : NULL;
    if (!f)
        return reply;
    trl_error err = {0};
    int version;
    /* hashing and writing 80 MB: other Python threads run meanwhile */
    py_thread *unlocked = PY->PyEval_SaveThread();
    int rc = trl_registry_register(env->registry, name, f, &version, &err);
    PY->PyEval_RestoreThread(unlocked);
    trl_frame_decref(f);
    if (rc != 0)
        return trl__pyb_fail_err(&err);
    char ref[200];
    snprintf(ref, sizeof ref, "%s@%d", name, version);
    return PY->Py_BuildValue("(iss)", 0, "", ref);
}

/* list(what) -> the registry's frame ("features") or model versions. */
py_object *trl__pyb_list(py_object *self, py_object *args)
{
    (void)self;
    const char *what;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, "s", &what))
        return NULL;
    const trl__py_bridge_env *env = trl__pyb_env(1, &reply);
    if (!env)
        return reply;
    json_t *j = strcmp(what, "models") == 0
                    ? trl_registry_list_models(env->registry)
                    : trl_registry_list(env->registry);
    if (!j)
        return trl__pyb_fail(TRL_EIO, "the registry cannot be read");
    return trl__pyb_ok_json(j);
}

/* csv(path) -> a new working frame read from a CSV file; path as bytes
 * (os.fsencode), since a file name need not be UTF-8. */
py_object *trl__pyb_csv(py_object *self, py_object *args)
{
    (void)self;
    const char *path;
    py_object *reply;
    if (!PY->PyArg_ParseTuple(args, "y", &path))
        return NULL;
    if (!trl__pyb_env(0, &reply))
        return reply;
    trl_error err = {0};
    py_thread *unlocked = PY->PyEval_SaveThread();
    trl_frame *f = trl_csv_read(path, NULL, &err);
    PY->PyEval_RestoreThread(unlocked);
    return f ? trl__pyb_ok_handle(TRL__PYH_FRAME, f)
             : trl__pyb_fail_err(&err);
}
