/* py_bridge.c - what the `trellis` Python module (py_trellis.py) calls:
 * registry frames and models, their columns, other engines' variables and
 * the C metrics. Python holds handles, small integers naming a reference
 * the bridge keeps, rather than pointers: a stale or made-up handle is an
 * error, not a crash. A column handle is what a NumPy array's base holds,
 * so the array views the column's own memory for as long as it lives.
 *
 * Every function returns (rc, message, result...): rc 0, or a TRL_E* code
 * the module turns into an exception carrying message. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engines/python/py_int.h"
#include "trellis/display.h"
#include "trellis/metrics.h"
#include "trellis/model.h"
#include "trellis/registry.h"

/* ---- handles ----------------------------------------------------------------- */

typedef enum { H_FREE = 0, H_FRAME, H_COLUMN, H_MODEL } h_kind;

typedef struct h_slot {
    h_kind kind;
    uint32_t gen;     /* bumped on release: an old handle stops matching */
    void *p;          /* the reference this slot owns */
    size_t next_free;
} h_slot;

/* A handle is gen << 32 | (index + 1). Release may come from any Python
 * thread (a NumPy array dropped in a user's thread), so the table is
 * locked; the references are atomic. */
static struct {
    pthread_mutex_t lock;
    h_slot *slots;
    size_t n, cap;
    size_t free_head;  /* index + 1 of a free slot, 0 when none */
} handles = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};

/* The engine whose registry and peers the module reaches. */
static const trl__py_bridge_env *env;

void trl__py_bridge_attach(const trl__py_bridge_env *e) { env = e; }

void trl__py_bridge_detach(const trl__py_bridge_env *e)
{
    if (env == e)
        env = NULL;
}

/* Takes ownership of the reference p; 0 when out of memory (the caller
 * still owns p then). */
static unsigned long long h_new(h_kind kind, void *p)
{
    pthread_mutex_lock(&handles.lock);
    size_t i;
    if (handles.free_head) {
        i = handles.free_head - 1;
        handles.free_head = handles.slots[i].next_free;
    } else {
        if (handles.n == handles.cap) {
            size_t cap = handles.cap ? handles.cap * 2 : 64;
            h_slot *s = realloc(handles.slots, cap * sizeof *s);
            if (!s) {
                pthread_mutex_unlock(&handles.lock);
                return 0;
            }
            handles.slots = s;
            handles.cap = cap;
        }
        i = handles.n++;
        handles.slots[i].gen = 1;
    }
    handles.slots[i].kind = kind;
    handles.slots[i].p = p;
    unsigned long long h = (unsigned long long)handles.slots[i].gen << 32 |
                           (unsigned long long)(i + 1);
    pthread_mutex_unlock(&handles.lock);
    return h;
}

/* A new reference to what handle h names, when it is of kind; NULL when
 * it names nothing (released, or never made). */
static void *h_get(unsigned long long h, h_kind kind)
{
    size_t i = (size_t)(h & 0xffffffffu) - 1;
    uint32_t gen = (uint32_t)(h >> 32);
    void *p = NULL;
    pthread_mutex_lock(&handles.lock);
    if (i < handles.n && handles.slots[i].gen == gen &&
        handles.slots[i].kind == kind) {
        p = handles.slots[i].p;
        if (kind == H_FRAME)
            trl_frame_incref(p);
        else if (kind == H_COLUMN)
            trl_column_incref(p);
        else
            trl_model_incref(p);
    }
    pthread_mutex_unlock(&handles.lock);
    return p;
}

static void drop(h_kind kind, void *p)
{
    if (kind == H_FRAME)
        trl_frame_decref(p);
    else if (kind == H_COLUMN)
        trl_column_decref(p);
    else if (kind == H_MODEL)
        trl_model_decref(p);
}

/* ---- results ----------------------------------------------------------------- */

static py_object *fail(int rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static py_object *fail(int rc, const char *fmt, ...)
{
    char msg[TRL_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return trl__py_fns()->Py_BuildValue("(is)", rc, msg);
}

static py_object *fail_err(const trl_error *err)
{
    return fail(err->code ? err->code : TRL_EINVAL, "%s", err->message);
}

/* (0, "", json text) and frees j; out of memory when j is NULL. */
static py_object *ok_json(json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!text)
        return fail(TRL_ENOMEM, "out of memory");
    py_object *r = trl__py_fns()->Py_BuildValue("(isy)", 0, "", text);
    free(text);
    return r;
}

/* (0, "", handle) owning p, or out of memory (p dropped). */
static py_object *ok_handle(h_kind kind, void *p)
{
    unsigned long long h = h_new(kind, p);
    if (!h) {
        drop(kind, p);
        return fail(TRL_ENOMEM, "out of memory");
    }
    return trl__py_fns()->Py_BuildValue("(isK)", 0, "", h);
}

/* Whether the call may go on: on the engine's thread (the registry is
 * that thread's alone: another engine's cell may be using it while a
 * Python thread runs), and with a registry when it needs one. When not,
 * *refusal is the reply saying why. */
static int usable(py_object **refusal, int need_registry)
{
    if (!env) {
        *refusal = fail(TRL_EINVAL, "no Trellis kernel is running");
        return 0;
    }
    if (!trl__py_on_engine_thread()) {
        *refusal = fail(TRL_EINVAL, "trellis is usable from the cell's own "
                        "thread only: another cell may be using the "
                        "registry while this thread runs");
        return 0;
    }
    if (need_registry && !env->registry) {
        *refusal = fail(TRL_EUNSUPPORTED, "this kernel has no registry%s%s",
                        env->registry_error ? ": " : "",
                        env->registry_error ? env->registry_error : "");
        return 0;
    }
    return 1;
}

#define PARSE(...)                                                          \
    do {                                                                    \
        if (!trl__py_fns()->PyArg_ParseTuple(args, __VA_ARGS__))            \
            return NULL;                                                    \
    } while (0)

#define REQUIRE(need_registry)                                              \
    do {                                                                    \
        py_object *refusal_;                                                \
        if (!usable(&refusal_, need_registry))                              \
            return refusal_;                                                \
    } while (0)

/* ---- frames ------------------------------------------------------------------ */

/* release(handle): drops the reference; any thread. */
static py_object *b_release(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    PARSE("K", &h);
    size_t i = (size_t)(h & 0xffffffffu) - 1;
    h_kind kind = H_FREE;
    void *p = NULL;
    pthread_mutex_lock(&handles.lock);
    if (i < handles.n && handles.slots[i].gen == (uint32_t)(h >> 32) &&
        handles.slots[i].kind != H_FREE) {
        kind = handles.slots[i].kind;
        p = handles.slots[i].p;
        handles.slots[i].kind = H_FREE;
        handles.slots[i].p = NULL;
        handles.slots[i].gen++;
        handles.slots[i].next_free = handles.free_head;
        handles.free_head = i + 1;
    }
    pthread_mutex_unlock(&handles.lock);
    drop(kind, p);  /* outside the lock: freeing 80 MB takes a while */
    return trl__py_fns()->Py_BuildValue("(is)", 0, "");
}

/* frame_get(spec, working): the version spec names ("name", "name@N");
 * working: a new unfrozen frame sharing its columns, as features.get in
 * Lua, else the frozen version itself. */
static py_object *b_frame_get(py_object *self, py_object *args)
{
    (void)self;
    const char *spec;
    int working;
    PARSE("si", &spec, &working);
    REQUIRE(1);
    trl_error err = {0};
    trl_frame *v = trl_registry_get(env->registry, spec, &err);
    if (!v)
        return fail_err(&err);
    if (!working)
        return ok_handle(H_FRAME, v);
    trl_frame *g = trl_frame_copy(v);
    json_t *lin = g ? json_pack("{s:s, s:[s], s:[]}", "source", "derived",
                                "parents", v->ref ? v->ref : spec,
                                "derivation")
                    : NULL;
    trl_frame_decref(v);
    if (!g || !lin) {
        trl_frame_decref(g);
        json_decref(lin);
        return fail(TRL_ENOMEM, "out of memory");
    }
    trl_frame_set_lineage(g, lin);
    return ok_handle(H_FRAME, g);
}

/* frame_new(): an empty working frame built in this cell. */
static py_object *b_frame_new(py_object *self, py_object *args)
{
    (void)self;
    PARSE("");
    REQUIRE(0);
    trl_frame *f = trl_frame_new();
    json_t *lin = json_pack("{s:s, s:i}", "source", "python cell", "cell",
                            trl__py_execution_count());
    if (!f || !lin) {
        trl_frame_decref(f);
        json_decref(lin);
        return fail(TRL_ENOMEM, "out of memory");
    }
    trl_frame_set_lineage(f, lin);
    return ok_handle(H_FRAME, f);
}

/* frame_info(h) -> {"nrows", "ref", "frozen", "lineage", "columns":
 * [[name, type]...]} */
static py_object *b_frame_info(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    PARSE("K", &h);
    REQUIRE(0);
    trl_frame *f = h_get(h, H_FRAME);
    if (!f)
        return fail(TRL_EINVAL, "this frame was released");
    json_t *cols = json_array();
    for (size_t i = 0; cols && i < f->ncols; i++)
        json_array_append_new(cols, json_pack("[ss]", f->names[i],
                              trl_dtype_name(f->cols[i]->type)));
    json_t *j = json_pack("{s:I, s:s?, s:b, s:O?, s:o}", "nrows",
                          (json_int_t)f->nrows, "ref", f->ref, "frozen",
                          f->frozen, "lineage", f->lineage, "columns", cols);
    trl_frame_decref(f);
    return ok_json(j);
}

/* Whether a bool column holds a missing value (scanned: the values do
 * not say, as NaN does for f64). */
static int bool_missing(const trl_column *c)
{
    return c->len && memchr(c->v.b, TRL_BOOL_MISSING, c->len) != NULL;
}

/* column(h, name) -> handle of the column, and {"type", "len", "data",
 * "valid", "missing", "categories"}: addresses for NumPy to view, valid
 * 0 when no i64 row is missing, categories the strings codes index. */
static py_object *b_column(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    const char *name;
    PARSE("Ks", &h, &name);
    REQUIRE(0);
    trl_frame *f = h_get(h, H_FRAME);
    if (!f)
        return fail(TRL_EINVAL, "this frame was released");
    trl_column *c = trl_frame_get(f, name);
    if (c)
        trl_column_incref(c);
    trl_frame_decref(f);
    if (!c)
        return fail(TRL_ENOTFOUND, "the frame has no column '%s'", name);
    json_t *cats = NULL;
    if (c->type == TRL_STR) {
        cats = json_array();
        for (size_t i = 0; cats && i < c->dict->n; i++)
            if (json_array_append_new(cats, json_stringn(c->dict->strs[i],
                                      c->dict->lens[i])) != 0) {
                json_decref(cats);
                cats = NULL;
            }
        if (!cats) {
            trl_column_decref(c);
            return fail(TRL_ENOMEM, "out of memory");
        }
    }
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:b, s:o?}", "type",
                          trl_dtype_name(c->type), "len", (json_int_t)c->len,
                          "data", (json_int_t)(uintptr_t)c->v.f64, "valid",
                          (json_int_t)(uintptr_t)c->valid, "missing",
                          c->type == TRL_BOOL && bool_missing(c),
                          "categories", cats);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    unsigned long long ch = text ? h_new(H_COLUMN, c) : 0;
    if (!ch) {
        free(text);
        trl_column_decref(c);
        return fail(TRL_ENOMEM, "out of memory");
    }
    py_object *r = trl__py_fns()->Py_BuildValue("(isKy)", 0, "", ch, text);
    free(text);
    return r;
}

/* Appends a derivation step to a working frame's lineage (stolen). */
static void add_step(trl_frame *f, json_t *step_new)
{
    if (!f->lineage)
        f->lineage = json_pack("{s:s}", "source", "python cell");
    json_t *d = json_object_get(f->lineage, "derivation");
    if (!json_is_array(d)) {
        d = json_array();
        json_object_set_new(f->lineage, "derivation", d);
    }
    json_array_append_new(d, step_new);
}

/* A new column of n rows copied from memory Python owns (a contiguous
 * NumPy array the module holds for the call): f64 doubles, i64 int64
 * (valid, when not 0, a byte per row: 1 present), bool bytes 0/1/255,
 * str int32 codes into cats (-1 missing). Codes and bytes are checked:
 * a wrong one must not index past the dictionary. */
static trl_column *copy_in(trl_dtype type, const void *data, size_t n,
                           const uint8_t *valid, json_t *cats,
                           trl_error *err)
{
    trl_column *c = trl_column_new(type, n, NULL);
    if (!c) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    size_t width = type == TRL_F64 || type == TRL_I64 ? 8
                   : type == TRL_STR ? 4 : 1;
    if (type != TRL_STR && n)
        memcpy(c->v.f64, data, n * width);
    if (type == TRL_I64 && valid) {
        c->valid = malloc(n ? n : 1);
        if (!c->valid) {
            trl_column_decref(c);
            trl_error_set(err, TRL_ENOMEM, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < n; i++)
            c->valid[i] = valid[i] != 0;
    }
    if (type == TRL_BOOL)
        for (size_t i = 0; i < n; i++)
            if (c->v.b[i] > 1 && c->v.b[i] != TRL_BOOL_MISSING) {
                trl_column_decref(c);
                trl_error_set(err, TRL_EINVAL, "a bool column holds byte "
                              "%d", c->v.b[i]);
                return NULL;
            }
    if (type != TRL_STR)
        return c;
    /* codes into cats, mapped to the dictionary's (cats may repeat) */
    size_t ncat = json_array_size(cats);
    int32_t *map = malloc((ncat ? ncat : 1) * sizeof *map);
    for (size_t i = 0; map && i < ncat; i++) {
        json_t *s = json_array_get(cats, i);
        map[i] = json_is_string(s)
                     ? trl_strdict_intern(c->dict, json_string_value(s),
                                          json_string_length(s))
                     : -2;
        if (map[i] < 0) {
            trl_error_set(err, map[i] == -2 ? TRL_EINVAL : TRL_ENOMEM,
                          map[i] == -2 ? "categories must be strings"
                                       : "out of memory");
            free(map);
            trl_column_decref(c);
            return NULL;
        }
    }
    if (!map) {
        trl_column_decref(c);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    const int32_t *codes = data;
    for (size_t i = 0; i < n; i++) {
        if (codes[i] < -1 || codes[i] >= (int64_t)ncat) {
            trl_error_set(err, TRL_EINVAL, "row %zu has code %d, but there "
                          "are %zu categories", i, codes[i], ncat);
            free(map);
            trl_column_decref(c);
            return NULL;
        }
        c->v.codes[i] = codes[i] < 0 ? -1 : map[codes[i]];
    }
    free(map);
    return c;
}

static int dtype_parse(const char *s)
{
    static const char *const names[] = {"f64", "i64", "bool", "str"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* frame_set(h, name, type, data, n, valid, categories json or None): sets
 * column name of a working frame to a copy of Python's values. */
static py_object *b_frame_set(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h, data, valid;
    const char *name, *type, *cats_text;
    py_ssize_t n;
    PARSE("KssKnKz", &h, &name, &type, &data, &n, &valid, &cats_text);
    REQUIRE(0);
    int t = dtype_parse(type);
    if (t < 0 || n < 0 || (n > 0 && !data))
        return fail(TRL_EINVAL, "frame_set: bad column description");
    json_t *cats = NULL;
    if (t == TRL_STR && !(cats = json_loads(cats_text ? cats_text : "",
                                            JSON_ALLOW_NUL, NULL)))
        return fail(TRL_EINVAL, "frame_set: categories must be JSON");
    trl_frame *f = h_get(h, H_FRAME);
    if (!f) {
        json_decref(cats);
        return fail(TRL_EINVAL, "this frame was released");
    }
    trl_error err = {0};
    trl_column *c = copy_in((trl_dtype)t, (const void *)(uintptr_t)data,
                            (size_t)n, (const uint8_t *)(uintptr_t)valid,
                            cats, &err);
    json_decref(cats);
    int rc = c ? trl_frame_set(f, name, c, &err) : err.code;
    if (rc == 0)
        add_step(f, json_pack("{s:s, s:s}", "column", name, "expr",
                              "(python)"));
    trl_column_decref(c);
    trl_frame_decref(f);
    return rc == 0 ? trl__py_fns()->Py_BuildValue("(is)", 0, "")
                   : fail_err(&err);
}

/* frame_drop(h, name) */
static py_object *b_frame_drop(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    const char *name;
    PARSE("Ks", &h, &name);
    REQUIRE(0);
    trl_frame *f = h_get(h, H_FRAME);
    if (!f)
        return fail(TRL_EINVAL, "this frame was released");
    trl_error err = {0};
    int rc = f->frozen ? trl_error_set(&err, TRL_EINVAL, "%s is a registered "
                                       "version, which never changes: "
                                       "copy() it first", f->ref)
                       : trl_frame_drop(f, name, &err);
    if (rc == 0)
        add_step(f, json_pack("{s:s, s:s}", "op", "drop", "column", name));
    trl_frame_decref(f);
    return rc == 0 ? trl__py_fns()->Py_BuildValue("(is)", 0, "")
                   : fail_err(&err);
}

/* frame_derive(h, op, arg): copy (arg ignored), head (arg rows), select
 * (arg a JSON array of names): a new working frame sharing columns. */
static py_object *b_frame_derive(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    const char *op, *arg;
    PARSE("Kss", &h, &op, &arg);
    REQUIRE(0);
    trl_frame *f = h_get(h, H_FRAME);
    if (!f)
        return fail(TRL_EINVAL, "this frame was released");
    trl_error err = {0};
    trl_frame *g = NULL;
    json_t *step = NULL;
    if (strcmp(op, "copy") == 0) {
        g = trl_frame_copy(f);
        step = json_pack("{s:s}", "op", "copy");
    } else if (strcmp(op, "head") == 0) {
        long long rows = strtoll(arg, NULL, 10);
        g = trl_frame_head(f, rows < 0 ? 0 : (size_t)rows, &err);
        step = json_pack("{s:s, s:I}", "op", "head", "n", (json_int_t)rows);
    } else if (strcmp(op, "select") == 0) {
        json_t *names = json_loads(arg, 0, NULL);
        size_t k = json_array_size(names);
        const char **v = calloc(k ? k : 1, sizeof *v);
        int named = json_is_array(names);
        for (size_t i = 0; v && i < k; i++)
            named &= (v[i] = json_string_value(json_array_get(names, i))) !=
                     NULL;
        if (!named)
            trl_error_set(&err, TRL_EINVAL, "select takes column names "
                          "(strings)");
        g = v && named ? trl_frame_select(f, v, k, &err) : NULL;
        step = json_pack("{s:s, s:O}", "op", "select", "columns", names);
        free(v);
        json_decref(names);
    } else {
        trl_error_set(&err, TRL_EINVAL, "frame_derive: no operation '%s'",
                      op);
    }
    json_t *parent = !g || !step ? NULL
                     : f->ref ? json_string(f->ref)
                     : f->lineage ? json_deep_copy(f->lineage)
                                  : json_pack("{s:s}", "source",
                                              "python cell");
    /* o steals parent and step, also when packing fails */
    json_t *lin = parent ? json_pack("{s:s, s:[o], s:[o]}", "source",
                                     "derived", "parents", parent,
                                     "derivation", step)
                         : NULL;
    if (!parent)
        json_decref(step);
    trl_frame_decref(f);
    if (!g || !lin) {
        if (!err.code)
            trl_error_set(&err, TRL_ENOMEM, "out of memory");
        json_decref(lin);
        trl_frame_decref(g);
        return fail_err(&err);
    }
    trl_frame_set_lineage(g, lin);
    return ok_handle(H_FRAME, g);
}

/* frame_bundle(h) -> {"text/plain", "text/html"}: how cells show it. */
static py_object *b_frame_bundle(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    PARSE("K", &h);
    REQUIRE(0);
    trl_frame *f = h_get(h, H_FRAME);
    if (!f)
        return fail(TRL_EINVAL, "this frame was released");
    char *text = trl_frame_text(f), *html = trl_frame_html(f);
    trl_frame_decref(f);
    json_t *j = text && html ? json_pack("{s:s, s:s}", "text/plain", text,
                                         "text/html", html)
                             : NULL;
    free(text);
    free(html);
    return ok_json(j);
}

/* register(name, h) -> "name@N" */
static py_object *b_register(py_object *self, py_object *args)
{
    (void)self;
    const char *name;
    unsigned long long h;
    PARSE("sK", &name, &h);
    REQUIRE(1);
    trl_frame *f = h_get(h, H_FRAME);
    if (!f)
        return fail(TRL_EINVAL, "this frame was released");
    trl_error err = {0};
    int version;
    int rc = trl_registry_register(env->registry, name, f, &version, &err);
    trl_frame_decref(f);
    if (rc != 0)
        return fail_err(&err);
    char ref[200];
    snprintf(ref, sizeof ref, "%s@%d", name, version);
    return trl__py_fns()->Py_BuildValue("(iss)", 0, "", ref);
}

/* list(what) -> the registry's frame ("features") or model versions. */
static py_object *b_list(py_object *self, py_object *args)
{
    (void)self;
    const char *what;
    PARSE("s", &what);
    REQUIRE(1);
    json_t *j = strcmp(what, "models") == 0
                    ? trl_registry_list_models(env->registry)
                    : trl_registry_list(env->registry);
    if (!j)
        return fail(TRL_EIO, "the registry cannot be read");
    return ok_json(j);
}

/* csv(path) -> a new working frame read from a CSV file. */
static py_object *b_csv(py_object *self, py_object *args)
{
    (void)self;
    const char *path;
    PARSE("s", &path);
    REQUIRE(0);
    trl_error err = {0};
    trl_frame *f = trl_csv_read(path, NULL, &err);
    return f ? ok_handle(H_FRAME, f) : fail_err(&err);
}

/* ---- other engines' variables ------------------------------------------------- */

/* peer(engine, name) -> (kind, handle, scalar json): kind "frame",
 * "model", "value" or "none": what the other engine's global holds. */
static py_object *b_peer(py_object *self, py_object *args)
{
    (void)self;
    const char *engine, *name;
    PARSE("ss", &engine, &name);
    REQUIRE(0);
    trl_engine *e = NULL;
    size_t n = env->npeers ? *env->npeers : 0;
    for (size_t i = 0; i < n && !e; i++)
        if (strcmp(env->peers[i]->ops->name, engine) == 0 &&
            env->peers[i] != env->self)
            e = env->peers[i];
    if (!e)
        return fail(TRL_ENOTFOUND, "no engine called '%s'", engine);
    trl_frame *f = NULL;
    trl_model *m = NULL;
    if (e->ops->lookup)
        e->ops->lookup(e, name, &f, &m);
    if (f || m) {
        trl_model_decref(f ? m : NULL);
        unsigned long long h = f ? h_new(H_FRAME, f) : h_new(H_MODEL, m);
        if (!h) {
            trl_frame_decref(f);
            trl_model_decref(m);
            return fail(TRL_ENOMEM, "out of memory");
        }
        return trl__py_fns()->Py_BuildValue("(issKs)", 0, "",
                                            f ? "frame" : "model", h, "");
    }
    json_t *v = e->ops->scalar ? e->ops->scalar(e, name) : NULL;
    char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(v);
    py_object *r = trl__py_fns()->Py_BuildValue(
        "(issKs)", 0, "", text ? "value" : "none", 0ULL, text ? text : "");
    free(text);
    return r;
}

/* ---- models ------------------------------------------------------------------- */

/* model_get(spec) */
static py_object *b_model_get(py_object *self, py_object *args)
{
    (void)self;
    const char *spec;
    PARSE("s", &spec);
    REQUIRE(1);
    trl_error err = {0};
    trl_model *m = trl_registry_get_model(env->registry, spec, &err);
    return m ? ok_handle(H_MODEL, m) : fail_err(&err);
}

/* model_info(h) -> what the model is and was trained on. */
static py_object *b_model_info(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long h;
    PARSE("K", &h);
    REQUIRE(0);
    trl_model *m = h_get(h, H_MODEL);
    if (!m)
        return fail(TRL_EINVAL, "this model was released");
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
    return ok_json(j);
}

/* model_predict(model, frame) -> [[column handle, address, rows]...],
 * one f64 column per output. */
static py_object *b_model_predict(py_object *self, py_object *args)
{
    (void)self;
    unsigned long long hm, hf;
    PARSE("KK", &hm, &hf);
    REQUIRE(0);
    trl_model *m = h_get(hm, H_MODEL);
    trl_frame *f = h_get(hf, H_FRAME);
    if (!m || !f) {
        trl_model_decref(m);
        trl_frame_decref(f);
        return fail(TRL_EINVAL, "this %s was released", m ? "frame"
                                                          : "model");
    }
    int k = m->noutputs;
    trl_column **out = calloc((size_t)k, sizeof *out);
    trl_error err = {0};
    int rc = out ? trl_model_predict(m, f, out, &err)
                 : trl_error_set(&err, TRL_ENOMEM, "out of memory");
    trl_model_decref(m);
    trl_frame_decref(f);
    json_t *hs = rc == 0 ? json_array() : NULL;
    for (int i = 0; i < k && out; i++) {
        unsigned long long h = hs && out[i] ? h_new(H_COLUMN, out[i]) : 0;
        if (h)
            json_array_append_new(hs, json_pack("[III]", (json_int_t)h,
                                  (json_int_t)(uintptr_t)out[i]->v.f64,
                                  (json_int_t)out[i]->len));
        else
            trl_column_decref(out[i]);
    }
    free(out);
    if (rc != 0)
        return fail_err(&err);
    /* handles kept in the table are released by Python as it wraps them;
     * a short array (out of memory) leaves the rest to be released here */
    if (json_array_size(hs) != (size_t)k) {
        json_decref(hs);
        return fail(TRL_ENOMEM, "out of memory");
    }
    return ok_json(hs);
}

/* ---- metrics ------------------------------------------------------------------ */

/* metric(name, y, s, w, group, n, threshold, bins): the C metric over n
 * rows of doubles (w 0 for none; group 0 or n int64), already free of
 * missing values; threshold NaN and bins <= 0 keep the defaults (a
 * negative threshold is a real one: scores may be margins). */
static py_object *b_metric(py_object *self, py_object *args)
{
    (void)self;
    const char *name;
    unsigned long long y, s, w, g;
    py_ssize_t n;
    double threshold;
    int bins;
    PARSE("sKKKKndi", &name, &y, &s, &w, &g, &n, &threshold, &bins);
    REQUIRE(0);
    if (n < 0 || (n > 0 && (!y || !s)))
        return fail(TRL_EINVAL, "metric: bad row description");
    trl_metric m;
    trl_error err = {0};
    if (trl_metric_parse(name, &m, &err) != 0)
        return fail_err(&err);
    if (!isnan(threshold))
        m.threshold = threshold;
    if (bins > 0)
        m.bins = bins;
    trl_metric_data d = {(const double *)(uintptr_t)y,
                         (const double *)(uintptr_t)s,
                         (const double *)(uintptr_t)w,
                         (const int64_t *)(uintptr_t)g, (size_t)n};
    double v;
    if (trl_metric_compute(&m, &d, &v, &err) != 0)
        return fail_err(&err);
    return trl__py_fns()->Py_BuildValue("(isd)", 0, "", v);
}

/* ---- the table the module receives --------------------------------------------- */

#define DEF(name, doc) {#name, b_##name, TRL__PY_METH_VARARGS, doc}

static py_method_def defs[] = {
    DEF(release, "release(handle)"),
    DEF(frame_get, "frame_get(spec, working)"),
    DEF(frame_new, "frame_new()"),
    DEF(frame_info, "frame_info(handle)"),
    DEF(column, "column(handle, name)"),
    DEF(frame_set, "frame_set(handle, name, type, data, n, valid, cats)"),
    DEF(frame_drop, "frame_drop(handle, name)"),
    DEF(frame_derive, "frame_derive(handle, op, arg)"),
    DEF(frame_bundle, "frame_bundle(handle)"),
    DEF(register, "register(name, handle)"),
    DEF(list, "list(what)"),
    DEF(csv, "csv(path)"),
    DEF(peer, "peer(engine, name)"),
    DEF(model_get, "model_get(spec)"),
    DEF(model_info, "model_info(handle)"),
    DEF(model_predict, "model_predict(model, frame)"),
    DEF(metric, "metric(name, y, s, w, group, n, threshold, bins)"),
};

size_t trl__py_bridge_defs(py_method_def **out)
{
    *out = defs;
    return sizeof defs / sizeof *defs;
}

/* ---- for the engine's ops ------------------------------------------------------ */

void *trl__py_bridge_ref(unsigned long long h, int model)
{
    return h_get(h, model ? H_MODEL : H_FRAME);
}

unsigned long long trl__py_bridge_adopt(void *p, int model)
{
    return h_new(model ? H_MODEL : H_FRAME, p);
}
