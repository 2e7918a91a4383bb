/* lua_models.c - the `models` library: training, predicting, stages and
 * the registry of model versions, from Lua; with a progress bar in the
 * notebook while a model trains. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "trellis/display.h"
#include "trellis/model.h"
#include "engines/lua/lua_features_int.h"
#include "engines/lua/lua_int.h"

#define MODEL_MT "trellis.model"

typedef struct lmodel {
    trl_model *m;  /* a reference; NULL until the box is filled */
} lmodel;

static trl_registry *registry_of(lua_State *L)
{
    return trl__lua_registry(L, "the model registry");
}

trl_model *trl__lua_to_model(lua_State *L, int i)
{
    lmodel *b = luaL_testudata(L, i, MODEL_MT);
    return b ? b->m : NULL;
}

static trl_model *check_model(lua_State *L, int i)
{
    lmodel *b = luaL_checkudata(L, i, MODEL_MT);
    if (!b->m)
        luaL_error(L, "empty model");
    return b->m;
}

/* Pushes a box for a model before the model exists, so a Lua error can
 * never leak it (see lua_features_int.h). */
static lmodel *new_box(lua_State *L)
{
    lmodel *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->m = NULL;
    luaL_setmetatable(L, MODEL_MT);
    return b;
}

trl_model **trl__lua_push_model_box(lua_State *L)
{
    return &new_box(L)->m;
}

/* ---- JSON <-> Lua -------------------------------------------------------------- */

void trl__lua_push_json(lua_State *L, const json_t *j)
{
    luaL_checkstack(L, 4, "nested too deeply");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        lua_createtable(L, 0, (int)json_object_size(j));
        json_object_foreach((json_t *)j, k, v) {
            trl__lua_push_json(L, v);
            lua_setfield(L, -2, k);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *v;
        lua_createtable(L, (int)json_array_size(j), 0);
        json_array_foreach(j, i, v) {
            trl__lua_push_json(L, v);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(j));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(j));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        lua_pushboolean(L, json_is_true(j));
        break;
    default:
        lua_pushnil(L);
    }
}

/* A Lua value as JSON (see lua_int.h). */
json_t *trl__lua_to_json(lua_State *L, int i, int depth, const char **why)
{
    i = lua_absindex(L, i);
    switch (lua_type(L, i)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, i))
            return json_integer((json_int_t)lua_tointeger(L, i));
        if (!isfinite(lua_tonumber(L, i))) {
            *why = "numbers must be finite";
            return NULL;
        }
        return json_real(lua_tonumber(L, i));
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, i, &n);
        json_t *j = memchr(s, '\0', n) ? NULL : json_stringn(s, n);
        if (!j)
            *why = "strings must be UTF-8 text without NUL bytes";
        return j;
    }
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, i));
    case LUA_TTABLE:
        break;
    default:
        *why = "values must be numbers, strings, booleans or tables of them";
        return NULL;
    }
    if (depth > 4) {
        *why = "tables nest too deeply";
        return NULL;
    }
    /* a list is read in order 1..n (eval_metric's last entry is the one
     * early stopping watches); anything else needs string keys */
    lua_Integer len = (lua_Integer)lua_rawlen(L, i), keys = 0;
    luaL_checkstack(L, 3, "tables nest too deeply");
    lua_pushnil(L);
    while (lua_next(L, i)) {
        keys++;
        lua_pop(L, 1);
    }
    if (len > 0 && keys != len) {
        *why = "a table must be a list or have string keys";
        return NULL;
    }
    json_t *out = len > 0 ? json_array() : json_object();
    if (len > 0) {
        for (lua_Integer k = 1; out && k <= len; k++) {
            lua_rawgeti(L, i, k);
            json_t *v = trl__lua_to_json(L, -1, depth + 1, why);
            lua_pop(L, 1);
            if (!v || json_array_append_new(out, v) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    lua_pushnil(L);
    while (out && lua_next(L, i)) {
        json_t *v = lua_type(L, -2) == LUA_TSTRING
                        ? trl__lua_to_json(L, -1, depth + 1, why) : NULL;
        if (!v && !*why)
            *why = "a table must be a list or have string keys";
        size_t klen = 0;
        const char *key = v ? lua_tolstring(L, -2, &klen) : NULL;
        if (key && strlen(key) != klen) {
            json_decref(v);
            v = NULL;
            *why = "names must not hold NUL bytes";
        }
        int ok = v && json_object_set_new(out, key, v) == 0;
        if (v && !ok && !*why)
            *why = "names must be UTF-8 text";
        lua_pop(L, 1);
        if (!ok) {
            lua_pop(L, 1);
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* ---- the progress bar ---------------------------------------------------------- */

typedef struct progress_ui {
    trl_exec_ctx *ctx;
    char id[64];
    const char *name;
    double shown_at;  /* trl__now() of the last update; < 0: not shown */
    double start;
    int round, total;
    char metric[160];
} progress_ui;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Publishes the bar as display_data (first) or update_display_data. */
static void show(progress_ui *ui, const char *status)
{
    if (!ui->ctx)
        return;
    char text[512], html[1024];
    int filled = ui->total ? 20 * ui->round / ui->total : 0;
    char bar[64 * 3 + 1];
    size_t b = 0;
    for (int i = 0; i < 20; i++) {
        const char *cell = i < filled ? "\xe2\x96\x88" : "\xe2\x96\x91";
        memcpy(bar + b, cell, 3);
        b += 3;
    }
    bar[b] = '\0';
    double elapsed = now_seconds() - ui->start;
    snprintf(text, sizeof text, "%s %s %d/%d%s%s \xc2\xb7 %.1f s%s%s",
             ui->name, bar, ui->round, ui->total, ui->metric[0] ? " \xc2\xb7 "
                                                                : "",
             ui->metric, elapsed, status ? " \xc2\xb7 " : "",
             status ? status : "");
    char *esc = trl_html_escape(text, strlen(text));
    snprintf(html, sizeof html, "<div><progress value=\"%d\" max=\"%d\" "
             "style=\"width: 16em\"></progress> %s</div>", ui->round,
             ui->total ? ui->total : 1, esc ? esc : "");
    free(esc);
    json_t *bundle = trl_display_text(text, strlen(text));
    trl_display_add(bundle, "text/html", html, strlen(html));
    if (ui->shown_at < 0)
        trl_ctx_display(ui->ctx, bundle, NULL, ui->id);
    else
        trl_ctx_update_display(ui->ctx, bundle, NULL, ui->id);
    ui->shown_at = now_seconds();
}

/* The bar appears once training has taken half a second, so a quick model
 * shows one final line (consoles print display_data but not its updates),
 * then updates at most ten times a second: each is a message every client
 * renders. */
static void on_progress(void *arg, const trl_train_progress *p)
{
    progress_ui *ui = arg;
    ui->round = p->round;
    ui->total = p->total;
    if (p->metric)
        snprintf(ui->metric, sizeof ui->metric, "%s %.6g", p->metric,
                 p->value);
    double now = now_seconds();
    if (ui->shown_at < 0 ? now - ui->start >= 0.5 : now - ui->shown_at >= 0.1)
        show(ui, NULL);
}

/* ---- models.train ---------------------------------------------------------------- */

/* The frame at field `key` of the table at 1: a frame value or a
 * registered "name@N". Leaves it on the stack (anchored). */
static trl_frame *frame_field(lua_State *L, const char *key, int required)
{
    lua_getfield(L, 1, key);
    if (lua_isnil(L, -1)) {
        if (required)
            luaL_error(L, "models.train: give %s = a frame or a registered "
                          "'name@N'", key);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING && !luaL_testudata(L, -1, FRAME_MT))
        luaL_error(L, "models.train: %s must be a frame or a registered "
                      "'name@N', not a %s", key, luaL_typename(L, -1));
    if (lua_type(L, -1) == LUA_TSTRING) {
        const char *spec = lua_tostring(L, -1);
        int box = trl__lf_push_box(L);
        trl_error err = {0};
        trl_frame *f = trl_registry_get(registry_of(L), spec, &err);
        if (!f)
            trl__lf_fail(L, &err);
        trl__lf_finish(L, box, f);
        lua_replace(L, -3);
        lua_pop(L, 1);
    }
    return trl__lf_check_frame(L, -1);
}

static const char *string_field(lua_State *L, const char *key, int required)
{
    lua_getfield(L, 1, key);
    if (lua_isnil(L, -1) && !required)
        return NULL;
    size_t len = 0;
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len)
                                                   : NULL;
    if (!s)
        luaL_error(L, "models.train: %s must be a string%s", key,
                   required ? " (it is required)" : "");
    if (strlen(s) != len)
        luaL_error(L, "models.train: %s must not hold NUL bytes", key);
    return s;
}

/* Pushes field key of the table at 1, which must be a table or nil. */
static int table_field(lua_State *L, const char *key)
{
    lua_getfield(L, 1, key);
    if (!lua_isnil(L, -1) && !lua_istable(L, -1))
        luaL_error(L, "models.train: %s must be a table of name = value",
                   key);
    return lua_gettop(L);
}

/* The table at i as a JSON object (NULL for nil). Raises nothing: on a
 * bad value *why says what is wrong and *ok is 0. */
static json_t *object_of(lua_State *L, int i, const char **why, int *ok)
{
    if (lua_isnil(L, i))
        return NULL;
    json_t *j = trl__lua_to_json(L, i, 0, why);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
        *why = "must be a table of name = value";
    }
    if (!j) {
        *ok = 0;
        if (!*why)
            *why = "out of memory";
    }
    return j;
}

/* The features list: strings, anchored in a table on the stack. */
static const char **feature_names(lua_State *L, size_t *n)
{
    lua_getfield(L, 1, "features");
    if (lua_isnil(L, -1)) {
        *n = 0;
        return NULL;
    }
    if (!lua_istable(L, -1))
        luaL_error(L, "models.train: features must be a list of column "
                      "names");
    int t = lua_gettop(L);
    size_t len = (size_t)lua_rawlen(L, t);
    if (len == 0)
        luaL_error(L, "models.train: features is empty");
    const char **names = lua_newuserdatauv(L, len * sizeof *names, 0);
    for (size_t i = 0; i < len; i++) {
        lua_rawgeti(L, t, (lua_Integer)i + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "models.train: features[%d] is not a string",
                       (int)i + 1);
        names[i] = lua_tostring(L, -1);
        lua_pop(L, 1);  /* anchored by the features table */
    }
    *n = len;
    return names;
}

/* models.train{...}: checks everything it can before the (possibly long)
 * training, trains with a progress bar, registers. */
static int l_train(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    trl_registry *r = registry_of(L);
    const char *name = string_field(L, "name", 1);
    trl_error err = {0};
    if (trl_model_name_check(name, &err) != 0)
        return trl__lf_fail(L, &err);
    const char *algo = string_field(L, "algo", 0);
    trl_train_spec spec = {0};
    spec.algo = algo ? algo : "xgboost";
    spec.data = frame_field(L, "data", 1);
    spec.eval = frame_field(L, "eval", 0);
    spec.target = string_field(L, "target", 1);
    spec.group = string_field(L, "group", 0);
    spec.features = feature_names(L, &spec.nfeatures);
    lua_getfield(L, 1, "progress");
    int quiet = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
    int params_at = table_field(L, "params"), tags_at = table_field(L, "tags");
    lmodel *box = new_box(L);
    int box_idx = lua_gettop(L);

    /* JSON from here: nothing may raise until it is freed */
    const char *why = NULL, *bad = NULL;
    int ok = 1;
    json_t *params = object_of(L, params_at, &why, &ok);
    if (!ok)
        bad = "params";
    json_t *tags = ok ? object_of(L, tags_at, &why, &ok) : NULL;
    if (!ok && !bad)
        bad = "tags";
    if (!ok) {
        json_decref(params);
        json_decref(tags);
        return luaL_error(L, "models.train: %s: %s", bad, why);
    }
    spec.params = params;
    spec.tags = tags;
    trl__lua *e = trl__lua_of(L);
    progress_ui ui = {quiet ? NULL : e->ctx, "", name, -1.0, now_seconds(),
                      0, 0, ""};
    static unsigned serial;
    snprintf(ui.id, sizeof ui.id, "trellis-train-%d-%u",
             e->ctx ? trl_ctx_execution_count(e->ctx) : 0, ++serial);
    spec.progress = on_progress;
    spec.progress_arg = &ui;
    trl_model *m = trl_model_train(&spec, &err);
    json_decref(params);
    json_decref(tags);
    int version = 0;
    if (m && trl_registry_register_model(r, name, m, &version, &err) != 0) {
        trl_model_decref(m);
        m = NULL;
    }
    if (!m) {
        if (ui.shown_at >= 0 || err.code == TRL_EINTR)
            show(&ui, err.code == TRL_EINTR ? "interrupted: nothing "
                      "registered" : "failed: nothing registered");
        return trl__lf_fail(L, &err);
    }
    box->m = m;
    char status[256];
    json_t *best = json_object_get(m->metrics, "best_iteration");
    if (best && ui.round < ui.total)
        snprintf(status, sizeof status, "stopped early, kept round %lld "
                 "\xc2\xb7 registered %s",
                 (long long)json_integer_value(best) + 1, m->ref);
    else
        snprintf(status, sizeof status, "registered %s", m->ref);
    show(&ui, status);
    lua_pushvalue(L, box_idx);
    return 1;
}

/* ---- models.get / list / stage ---------------------------------------------------- */

static int l_get(lua_State *L)
{
    const char *spec = luaL_checkstring(L, 1);
    trl_registry *r = registry_of(L);
    lmodel *box = new_box(L);
    trl_error err = {0};
    if (!(box->m = trl_registry_get_model(r, spec, &err)))
        return trl__lf_fail(L, &err);
    return 1;
}

/* models.list() -> {{name=, version=, stage=, algo=, ...}, ...}: records,
 * so it displays as a table. */
static int l_list(lua_State *L)
{
    json_t *list = trl_registry_list_models(registry_of(L));
    if (!list)
        return luaL_error(L, "the model registry cannot be read (see the "
                          "kernel log)");
    lua_createtable(L, (int)json_array_size(list), 0);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        lua_createtable(L, 0, 8);
        static const char *const keys[] = {"name", "version", "stage",
                                           "algo", "objective", "target",
                                           "created"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            trl__lua_push_json(L, json_object_get(e, keys[k]));
            lua_setfield(L, -2, keys[k]);
        }
        json_t *data = json_object_get(e, "data");
        trl__lua_push_json(L, json_object_get(data, "frame"));
        lua_setfield(L, -2, "trained_on");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    json_decref(list);
    return 1;
}

/* models.stage("name@N", "production") -> the stage now held. */
static int l_stage(lua_State *L)
{
    const char *spec = luaL_checkstring(L, 1);
    const char *stage = luaL_checkstring(L, 2);
    int s = trl_stage_parse(stage);
    if (s < 0)
        return luaL_error(L, "models.stage: unknown stage '%s': use none, "
                          "staging, production or archived", stage);
    if (!strchr(spec, '@'))
        return luaL_error(L, "models.stage: name a version, as in "
                          "'%s@2'", spec);
    trl_error err = {0};
    if (trl_registry_stage_model(registry_of(L), spec, (trl_stage)s,
                                 &err) != 0)
        return trl__lf_fail(L, &err);
    lua_pushstring(L, trl_stage_name((trl_stage)s));
    return 1;
}

/* ---- model methods and fields ------------------------------------------------------- */

static int m_predict(lua_State *L)
{
    trl_model *m = check_model(L, 1);
    trl_frame *f = trl__lf_check_frame(L, 2);
    size_t k = (size_t)m->noutputs;
    trl_column **cols = lua_newuserdatauv(L, k * sizeof *cols, 0);
    trl_error err = {0};
    if (k == 1) {
        lcolumn *cb = trl__lf_new_column_box(L);
        if (trl_model_predict(m, f, cols, &err) != 0)
            return trl__lf_fail(L, &err);
        cb->c = cols[0];
        return 1;
    }
    /* one column per class, class_0 .. class_{k-1} */
    int box = trl__lf_push_box(L);
    trl_frame *g = trl_frame_new();
    if (!g)
        return luaL_error(L, "out of memory");
    trl__lf_finish(L, box, g);
    if (trl_model_predict(m, f, cols, &err) != 0)
        return trl__lf_fail(L, &err);
    for (size_t j = 0; j < k; j++) {
        char name[32];
        snprintf(name, sizeof name, "class_%zu", j);
        if (err.code == 0)
            trl_frame_set(g, name, cols[j], &err);
        trl_column_decref(cols[j]);
    }
    if (err.code)
        return trl__lf_fail(L, &err);
    return 1;
}

static int m_save(lua_State *L)
{
    trl_model *m = check_model(L, 1);
    const char *path = luaL_checkstring(L, 2);
    trl_error err = {0};
    if (trl_model_save(m, path, &err) != 0)
        return trl__lf_fail(L, &err);
    lua_pushstring(L, path);
    return 1;
}

static int push_stage(lua_State *L, trl_model *m)
{
    trl_stage s = TRL_STAGE_NONE;
    trl_error err = {0};
    trl__lua *e = trl__lua_of(L);
    if (m->ref && e->registry &&
        trl_registry_model_stage(e->registry, m->ref, &s, &err) != 0)
        return trl__lf_fail(L, &err);
    lua_pushstring(L, trl_stage_name(s));
    return 1;
}

static const char *const fields[] = {
    "ref", "name", "version", "algo", "objective", "params", "features",
    "inputs", "target", "group", "data", "metrics", "tags", "created",
    "train_seconds", "stage", "importance", NULL};

static int m_index(lua_State *L)
{
    trl_model *m = check_model(L, 1);
    const char *key = luaL_checkstring(L, 2);
    if (strcmp(key, "predict") == 0 || strcmp(key, "save") == 0) {
        lua_pushcfunction(L, key[0] == 'p' ? m_predict : m_save);
        return 1;
    }
    if (strcmp(key, "importance") == 0) {
        lua_pushcfunction(L, trl__lua_models_importance);
        return 1;
    }
    const char *at = m->ref ? strchr(m->ref, '@') : NULL;
    if (strcmp(key, "ref") == 0)
        lua_pushstring(L, m->ref);
    else if (strcmp(key, "name") == 0)
        at ? (void)lua_pushlstring(L, m->ref, (size_t)(at - m->ref))
           : lua_pushnil(L);
    else if (strcmp(key, "version") == 0)
        at ? lua_pushinteger(L, atoi(at + 1)) : lua_pushnil(L);
    else if (strcmp(key, "algo") == 0)
        lua_pushstring(L, m->algo);
    else if (strcmp(key, "objective") == 0)
        lua_pushstring(L, m->objective);
    else if (strcmp(key, "params") == 0)
        trl__lua_push_json(L, m->params);
    else if (strcmp(key, "features") == 0)
        trl__lua_push_json(L, m->features);
    else if (strcmp(key, "inputs") == 0) {
        json_t *names = trl_model_input_names(m);
        trl__lua_push_json(L, names);
        json_decref(names);
    } else if (strcmp(key, "target") == 0)
        lua_pushstring(L, m->target);
    else if (strcmp(key, "group") == 0)
        lua_pushstring(L, m->group);
    else if (strcmp(key, "data") == 0)
        trl__lua_push_json(L, m->data);
    else if (strcmp(key, "metrics") == 0)
        trl__lua_push_json(L, m->metrics);
    else if (strcmp(key, "tags") == 0)
        trl__lua_push_json(L, m->tags);
    else if (strcmp(key, "created") == 0)
        lua_pushstring(L, m->created);
    else if (strcmp(key, "train_seconds") == 0)
        lua_pushnumber(L, m->train_seconds);
    else if (strcmp(key, "stage") == 0)
        return push_stage(L, m);
    else
        return luaL_error(L, "a model has no field '%s'", key);
    return 1;
}

/* For completion: the names after `m.` and `m:`. */
static int m_fields(lua_State *L)
{
    lua_newtable(L);
    for (int i = 0; fields[i]; i++) {
        lua_pushstring(L, fields[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_gc(lua_State *L)
{
    lmodel *b = luaL_checkudata(L, 1, MODEL_MT);
    trl_model_decref(b->m);
    b->m = NULL;
    return 0;
}

/* One line: what, trained on what, which stage. */
static void summary(lua_State *L, trl_model *m, char *out, size_t size)
{
    push_stage(L, m);
    const char *stage = lua_tostring(L, -1);
    const char *frame = json_string_value(json_object_get(m->data, "frame"));
    int same = strcmp(m->algo, m->objective) == 0;
    snprintf(out, size, "model %s: %s%s%s, %zu features -> %s, trained on "
             "%s (%lld rows), stage %s", m->ref ? m->ref : "(unregistered)",
             m->algo, same ? "" : " ", same ? "" : m->objective,
             json_array_size(m->features), m->target,
             frame ? frame : "an unregistered frame",
             (long long)json_integer_value(json_object_get(m->data, "rows")),
             stage ? stage : "?");
    lua_pop(L, 1);
}

static int m_tostring(lua_State *L)
{
    char buf[512];
    summary(L, check_model(L, 1), buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

/* A small card: the summary, then the metrics and parameters. */
static int m_html(lua_State *L)
{
    trl_model *m = check_model(L, 1);
    char head[512];
    summary(L, m, head, sizeof head);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char *esc = trl_html_escape(head, strlen(head));
    luaL_addstring(&b, "<div><p><b>");
    luaL_addstring(&b, esc ? esc : "");
    luaL_addstring(&b, "</b></p><table><tbody>");
    free(esc);
    json_t *groups[2] = {m->metrics, m->params};
    const char *titles[2] = {"metric", "param"};
    for (int g = 0; g < 2; g++) {
        const char *k;
        json_t *v;
        json_object_foreach(groups[g], k, v) {
            char *val = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            char *ek = trl_html_escape(k, strlen(k));
            char *ev = val ? trl_html_escape(val, strlen(val)) : NULL;
            luaL_addstring(&b, "<tr><td>");
            luaL_addstring(&b, titles[g]);
            luaL_addstring(&b, "</td><td>");
            luaL_addstring(&b, ek ? ek : "");
            luaL_addstring(&b, "</td><td>");
            luaL_addstring(&b, ev ? ev : "");
            luaL_addstring(&b, "</td></tr>");
            free(val);
            free(ek);
            free(ev);
        }
    }
    luaL_addstring(&b, "</tbody></table></div>");
    luaL_pushresult(&b);
    return 1;
}

typedef struct lookup_call {
    const char *name;
    struct trl_frame *frame;
    struct trl_model *model;
} lookup_call;

static int lookup_main(lua_State *L)
{
    lookup_call *c = lua_touserdata(L, 1);
    /* raw access only: a user's metamethod must not run here */
    lua_pushglobaltable(L);
    lua_pushstring(L, c->name);
    lua_rawget(L, -2);
    lframe *f = luaL_testudata(L, -1, FRAME_MT);
    lmodel *m = f ? NULL : luaL_testudata(L, -1, MODEL_MT);
    if (f && f->f) {
        trl_frame_incref(f->f);
        c->frame = f->f;
    } else if (m && m->m) {
        trl_model_incref(m->m);
        c->model = m->m;
    }
    return 0;
}

void trl__lua_lookup(trl_engine *self, const char *name,
                     struct trl_frame **frame_out,
                     struct trl_model **model_out)
{
    lookup_call c = {name, NULL, NULL};
    trl__lua_protect(((trl__lua *)self)->L, lookup_main, &c);
    *frame_out = c.frame;
    *model_out = c.model;
}

static const luaL_Reg model_lib[] = {
    {"train", l_train}, {"get", l_get}, {"list", l_list},
    {"stage", l_stage}, {"benchmarks", trl__lua_models_benchmarks},
    {"importance", trl__lua_models_importance},
    {"importance_history", trl__lua_models_importance_history},
    {"promote", trl__lua_models_promote},
    {"history", trl__lua_models_history}, {NULL, NULL}};

void trl__lua_open_models(lua_State *L)
{
    luaL_newmetatable(L, MODEL_MT);
    static const luaL_Reg mt[] = {
        {"__index", m_index},       {"__gc", m_gc},
        {"__tostring", m_tostring}, {"__repr_html", m_html},
        {"__fields", m_fields},     {NULL, NULL}};
    luaL_setfuncs(L, mt, 0);
    /* the methods, where lua_docs.c finds them */
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, m_predict);
    lua_setfield(L, -2, "predict");
    lua_pushcfunction(L, m_save);
    lua_setfield(L, -2, "save");
    lua_pushcfunction(L, trl__lua_models_importance);
    lua_setfield(L, -2, "importance");
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);
    luaL_newlib(L, model_lib);
    lua_setglobal(L, "models");
}
