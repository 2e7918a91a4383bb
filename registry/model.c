/* model.c - trained models: checks what the user asked for (columns,
 * target, parameters) before any library sees it, drives a backend, and
 * predicts on frames. The artifact the backend serialises is loaded back
 * at once, so the model in memory is exactly the one stored. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "registry/model_int.h"
#include "registry/registry_int.h"

/* XGBoost one-hot codes strings up to this many categories; past it,
 * category codes keep the input narrow. */
#define MAX_ONEHOT 32

/* Linear models one-hot code every category; past this many, an id-like
 * column would make an input per row, so it is refused. */
#define MAX_LINEAR_CATEGORIES 1000

/* Rows encoded per batch when predicting on a frame: a few MB of inputs,
 * and XGBoost's in-place prediction sized to its thread blocks. */
#define PREDICT_BATCH 4096

static const char *const stage_names[] = {"none", "staging", "production",
                                          "archived"};

const char *trl_stage_name(trl_stage s)
{
    return (unsigned)s < 4 ? stage_names[s] : "?";
}

int trl_stage_parse(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (strcasecmp(name, stage_names[i]) == 0)
            return i;
    return -1;
}

double trl__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const trl__backend *trl__backend_of(const char *algo)
{
    if (!algo)
        return NULL;
    if (strcmp(algo, "xgboost") == 0)
        return &trl__xgb_backend;
    if (strcmp(algo, "logistic") == 0 || strcmp(algo, "linear") == 0)
        return &trl__linear_backend;
    return NULL;
}

/* ---- lifetime --------------------------------------------------------------------- */

trl_model *trl__model_alloc(void)
{
    trl_model *m = calloc(1, sizeof *m);
    if (m)
        m->refcount = 1;
    return m;
}

void trl_model_incref(trl_model *m)
{
    if (m)
        trl__ref_inc(&m->refcount);
}

void trl_model_decref(trl_model *m)
{
    if (!m || trl__ref_dec(&m->refcount))
        return;
    trl__model_impl *impl = m->impl;
    if (impl) {
        trl__encoder_free(impl->enc);
        impl->be->free_impl(impl);
    }
    free(m->ref);
    free(m->algo);
    free(m->objective);
    free(m->target);
    free(m->group);
    free(m->format);
    free(m->artifact);
    json_decref(m->params);
    json_decref(m->features);
    json_decref(m->data);
    json_decref(m->metrics);
    json_decref(m->tags);
    json_decref(m->encoding);
    free(m);
}

/* ---- checking the request ------------------------------------------------------------ */

/* "no column 'x' in data (columns: a, b, c)". */
static int no_column(const trl_frame *f, const char *what, const char *name,
                     trl_error *err)
{
    char cols[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < f->ncols && used < sizeof cols - 8; i++)
        used += (size_t)snprintf(cols + used, sizeof cols - used, "%s%s",
                                 i ? ", " : "", f->names[i]);
    if (used >= sizeof cols - 8)
        snprintf(cols + sizeof cols - 8, 8, ", ...");
    return trl_error_set(err, TRL_ENOTFOUND, "no column '%s' in %s "
                         "(columns: %s)", name, what, cols);
}

/* The feature names: given, or every column but target and group. */
static json_t *feature_list(const trl_train_spec *s, trl_error *err)
{
    json_t *list = json_array();
    if (!list) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    const trl_frame *f = s->data;
    size_t n = s->features ? s->nfeatures : f->ncols;
    for (size_t i = 0; i < n; i++) {
        const char *name = s->features ? s->features[i] : f->names[i];
        int is_target = strcmp(name, s->target) == 0;
        int is_group = s->group && strcmp(name, s->group) == 0;
        if (!s->features && (is_target || is_group))
            continue;
        if (is_target || is_group) {
            trl_error_set(err, TRL_EINVAL, "'%s' is the %s; it cannot also "
                          "be a feature", name, is_target ? "target"
                                                          : "group column");
            goto fail;
        }
        if (!trl_frame_get(f, name)) {
            no_column(f, "data", name, err);
            goto fail;
        }
        for (size_t k = 0; k < json_array_size(list); k++)
            if (strcmp(json_string_value(json_array_get(list, k)),
                       name) == 0) {
                trl_error_set(err, TRL_EINVAL, "feature '%s' is listed "
                              "twice", name);
                goto fail;
            }
        if (json_array_append_new(list, json_string(name)) != 0) {
            trl_error_set(err, TRL_EINVAL, "feature name '%.60s' is not "
                          "UTF-8 text", name);
            goto fail;
        }
    }
    if (json_array_size(list) == 0) {
        trl_error_set(err, TRL_EINVAL, "no features to train on: the data "
                      "has only the target");
        goto fail;
    }
    return list;
fail:
    json_decref(list);
    return NULL;
}

/* The target as doubles; NULL with an error when a row is missing or the
 * column is not numeric. what is "data" or "eval". */
static double *target_values(const trl_frame *f, const char *what,
                             const char *target, trl_error *err)
{
    const trl_column *c = trl_frame_get(f, target);
    if (!c) {
        no_column(f, what, target, err);
        return NULL;
    }
    if (c->type == TRL_STR) {
        trl_error_set(err, TRL_EINVAL, "target '%s' is a str column: models "
                      "need numbers (0/1 or bool for a classifier); derive "
                      "one, e.g. f.y = f.%s:eq(\"yes\")", target, target);
        return NULL;
    }
    double *y = malloc((f->nrows ? f->nrows : 1) * sizeof *y);
    if (!y) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    size_t missing = 0, first = 0;
    for (size_t i = 0; i < f->nrows; i++) {
        y[i] = trl_column_get_f64(c, i);
        if (!isfinite(y[i]) && missing++ == 0)
            first = i;
    }
    if (missing) {
        trl_error_set(err, TRL_EINVAL, "target '%s' in %s is missing (or "
                      "not finite) in %zu row%s, first in row %zu: drop "
                      "those rows first", target, what, missing,
                      missing == 1 ? "" : "s", first + 1);
        free(y);
        return NULL;
    }
    return y;
}

/* XGBoost reads an infinity as missing when it builds a DMatrix but as a
 * number when it predicts, and computes in float32; an infinity ruins a
 * linear model's scaling: refuse values past limit, naming where. */
static int check_finite(const trl_frame *f, const char *what,
                        const json_t *features, double limit, trl_error *err)
{
    size_t i;
    json_t *name;
    json_array_foreach(features, i, name) {
        const trl_column *c = trl_frame_get(f, json_string_value(name));
        if (!c || c->type != TRL_F64)
            continue;
        for (size_t r = 0; r < c->len; r++)
            if (fabs(c->v.f64[r]) > limit)
                return trl_error_set(err, TRL_EINVAL, "column '%s' in %s is "
                                     "%s in row %zu: clip it or make it "
                                     "missing first", json_string_value(
                                         name), what,
                                     isinf(c->v.f64[r])
                                         ? "infinite"
                                         : "beyond the float32 range XGBoost "
                                           "computes in", r + 1);
    }
    return 0;
}

/* What the model was trained on: the registered version when the frame is
 * one (or an untouched copy of one), else its lineage. */
static json_t *data_record(const trl_frame *f)
{
    const char *ref = f->ref;
    json_t *lin = f->lineage;
    json_t *parents = json_object_get(lin, "parents");
    json_t *steps = json_object_get(lin, "derivation");
    if (!ref && json_array_size(parents) == 1 && json_is_array(steps) &&
        json_array_size(steps) == 0)
        ref = json_string_value(json_array_get(parents, 0));
    /* a copy: the frame may gain columns (and steps) after training */
    return json_pack("{s:s?, s:I, s:o?}", "frame", ref, "rows",
                     (json_int_t)f->nrows, "lineage",
                     lin ? json_deep_copy(lin) : NULL);
}

static int check_spec(const trl_train_spec *s, trl_error *err)
{
    if (!trl__backend_of(s->algo))
        return trl_error_set(err, TRL_EINVAL, "unknown algo '%s': use "
                             "\"xgboost\", \"logistic\" or \"linear\"",
                             s->algo ? s->algo : "");
    if (!s->data)
        return trl_error_set(err, TRL_EINVAL, "which data? Give data = a "
                             "frame or a registered 'name@N'");
    if (!s->target || !*s->target)
        return trl_error_set(err, TRL_EINVAL, "which column is the target? "
                             "Give target = \"name\"");
    if (s->data->nrows == 0 || s->data->ncols == 0)
        return trl_error_set(err, TRL_EINVAL, "the data has no rows to "
                             "train on");
    if (s->eval && s->eval->nrows == 0)
        return trl_error_set(err, TRL_EINVAL, "the eval frame has no rows");
    if (s->params && !json_is_object(s->params))
        return trl_error_set(err, TRL_EINVAL, "params must be a table of "
                             "name = value");
    if (s->group && strcmp(s->algo, "xgboost") != 0)
        return trl_error_set(err, TRL_EINVAL, "group= is for ranking with "
                             "xgboost (rank:* objectives), not %s", s->algo);
    if (s->group && !trl_frame_get(s->data, s->group))
        return no_column(s->data, "data", s->group, err);
    if (s->group && s->eval && !trl_frame_get(s->eval, s->group))
        return no_column(s->eval, "eval", s->group, err);
    return 0;
}

/* Serialises the trained impl, then replaces it with one loaded from those
 * bytes: what is predicted now is what a restarted kernel predicts. Takes
 * enc. */
static int freeze(trl_model *m, trl__encoder *enc, const trl__backend *be,
                  trl_error *err)
{
    trl__model_impl *impl = m->impl;
    impl->be = be;
    impl->enc = enc;
    if (be->serialise(m, err) != 0)
        return err->code;
    if (!(m->encoding = trl__encoder_to_json(enc)) ||
        !(m->format = strdup(be->format)))
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    trl__encoder_free(enc);
    impl->enc = NULL;
    be->free_impl(impl);
    m->impl = NULL;
    return trl__model_load(m, err);
}

trl_model *trl_model_train(const trl_train_spec *s, trl_error *err)
{
    if (check_spec(s, err) != 0)
        return NULL;
    const trl__backend *be = trl__backend_of(s->algo);
    int linear = be == &trl__linear_backend;
    trl_model *m = trl__model_alloc();
    double *label = NULL, *eval_label = NULL;
    trl__encoder *enc = NULL;
    const char **names = NULL;
    if (!m || !(m->algo = strdup(s->algo)) ||
        !(m->target = strdup(s->target)) ||
        (s->group && !(m->group = strdup(s->group))) ||
        !(m->params = s->params ? json_deep_copy(s->params) : json_object()) ||
        !(m->tags = s->tags ? json_deep_copy(s->tags) : json_object())) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto fail;
    }
    if (!(m->features = feature_list(s, err)) ||
        !(label = target_values(s->data, "data", s->target, err)) ||
        (s->eval && !(eval_label = target_values(s->eval, "eval", s->target,
                                                 err))))
        goto fail;
    double limit = linear ? DBL_MAX : FLT_MAX;
    if (check_finite(s->data, "data", m->features, limit, err) != 0 ||
        (s->eval &&
         check_finite(s->eval, "eval", m->features, limit, err) != 0))
        goto fail;
    size_t nf = json_array_size(m->features);
    if (!(names = malloc(nf * sizeof *names))) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < nf; i++)
        names[i] = json_string_value(json_array_get(m->features, i));
    if (!(enc = trl__encoder_fit(s->data, names, nf,
                                 linear ? MAX_LINEAR_CATEGORIES : MAX_ONEHOT,
                                 linear, err)))
        goto fail;
    if (s->eval) {
        /* checks the eval frame has every feature, of the same kind */
        trl__enc_binding *b = trl__encoder_bind(enc, s->eval, err);
        if (!b)
            goto fail;
        trl__enc_binding_free(b);
    }
    trl__train_job job = {s, enc, label, eval_label, m->params};
    double t0 = trl__now();
    if (be->train(m, &job, err) != 0)
        goto fail;
    m->train_seconds = trl__now() - t0;
    char stamp[32];
    trl__now_iso8601(stamp);
    memcpy(m->created, stamp, sizeof m->created);
    if (!(m->data = data_record(s->data))) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        goto fail;
    }
    if (s->eval) {
        json_t *ev = data_record(s->eval);
        json_object_set_new(m->data, "eval", ev ? ev : json_null());
    }
    int rc = freeze(m, enc, be, err);
    enc = NULL;  /* freeze took it */
    if (rc != 0)
        goto fail;
    free(names);
    free(label);
    free(eval_label);
    return m;

fail:
    if (m && m->impl && !((trl__model_impl *)m->impl)->be) {
        /* trained but not frozen: the backend's impl, no encoder yet */
        ((trl__model_impl *)m->impl)->be = be;
        ((trl__model_impl *)m->impl)->enc = NULL;
    }
    trl__encoder_free(enc);
    trl_model_decref(m);
    free(names);
    free(label);
    free(eval_label);
    return NULL;
}

int trl__model_load(trl_model *m, trl_error *err)
{
    const trl__backend *be = trl__backend_of(m->algo);
    if (!be || !m->format || strcmp(m->format, be->format) != 0)
        return trl_error_set(err, TRL_EIO, "model %s: unknown algo or "
                             "artifact format", m->ref ? m->ref : "");
    trl__encoder *enc = trl__encoder_from_json(m->encoding, err);
    if (!enc)
        return err->code;
    if (be->load(m, err) != 0) {
        trl__encoder_free(enc);
        return err->code;
    }
    trl__model_impl *impl = m->impl;
    impl->be = be;
    impl->enc = enc;
    return 0;
}

/* ---- predicting ------------------------------------------------------------------------ */

int trl_model_predict_rows(const trl_model *m, const double *rows, size_t n,
                           double *out, trl_error *err)
{
    const trl__model_impl *impl = m->impl;
    return impl->be->predict_rows(m, rows, n, out, err);
}

int trl_model_predict(const trl_model *m, const trl_frame *f,
                      trl_column **out, trl_error *err)
{
    return trl__model_predict_batch(m, f, PREDICT_BATCH, out, err);
}

int trl__model_predict_batch(const trl_model *m, const trl_frame *f,
                             size_t max_batch, trl_column **out,
                             trl_error *err)
{
    const trl__model_impl *impl = m->impl;
    const trl__encoder *enc = impl->enc;
    size_t n = f->nrows, k = (size_t)m->noutputs;
    size_t batch = n < max_batch ? n : max_batch;
    size_t w = enc->width ? enc->width : 1;
    trl__enc_binding *b = trl__encoder_bind(enc, f, err);
    if (!b)
        return err->code;
    int f32 = impl->be->predict_f32 != NULL;
    /* room for doubles, which the float path may fall back to */
    void *rows = malloc((batch ? batch : 1) * w * sizeof(double));
    double *res = malloc((batch ? batch : 1) * k * sizeof *res);
    int rc = rows && res ? 0 : trl_error_set(err, TRL_ENOMEM,
                                             "out of memory");
    for (size_t j = 0; j < k; j++)
        out[j] = NULL;
    for (size_t j = 0; rc == 0 && j < k; j++)
        if (!(out[j] = trl__column_new_uninit(TRL_F64, n, NULL)))
            rc = trl_error_set(err, TRL_ENOMEM, "out of memory");
    for (size_t r0 = 0; rc == 0 && r0 < n; r0 += batch) {
        size_t cnt = n - r0 < batch ? n - r0 : batch, q;
        if (trl__registry_interrupted()) {
            rc = trl__registry_interrupt_error(err);
            break;
        }
        if (f32 && trl__encoder_rows_f32(enc, b, r0, cnt, rows, &q) != 0)
            f32 = 0;  /* wide one-hot: the double path below */
        if (!f32)
            q = trl__encoder_rows(enc, b, r0, cnt, rows);
        if (q != (size_t)-1) {
            char *name = trl__encoder_input_name(enc, q % enc->width);
            rc = trl_error_set(err, TRL_EINVAL, "column '%s' is infinite in "
                               "row %zu: clip it or make it missing first",
                               name ? name : "?", r0 + q / enc->width + 1);
            free(name);
            break;
        }
        rc = f32 ? impl->be->predict_f32(m, rows, cnt, res, err)
                 : impl->be->predict_rows(m, rows, cnt, res, err);
        for (size_t i = 0; rc == 0 && i < cnt; i++)
            for (size_t j = 0; j < k; j++)
                out[j]->v.f64[r0 + i] = res[i * k + j];
    }
    if (rc != 0)
        for (size_t j = 0; j < k; j++) {
            trl_column_decref(out[j]);
            out[j] = NULL;
        }
    trl__enc_binding_free(b);
    free(rows);
    free(res);
    return rc;
}

json_t *trl_model_input_names(const trl_model *m)
{
    const trl__model_impl *impl = m->impl;
    json_t *a = json_array();
    for (size_t i = 0; a && i < impl->enc->width; i++) {
        char *s = trl__encoder_input_name(impl->enc, i);
        if (!s || json_array_append_new(a, json_string(s)) != 0) {
            free(s);
            json_decref(a);
            return NULL;
        }
        free(s);
    }
    return a;
}

int trl_model_save(const trl_model *m, const char *path, trl_error *err)
{
    if (!path || !*path)
        return trl_error_set(err, TRL_EINVAL, "save: give a file path");
    const trl__model_impl *impl = m->impl;
    return impl->be->save(m, path, err);
}

/* ---- files ------------------------------------------------------------------------------- */

int trl__write_file(const char *path, const void *data, size_t len,
                    trl_error *err)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return trl_error_set(err, TRL_EIO, "cannot write %s: %s", path,
                             strerror(errno));
    int ok = fwrite(data, 1, len, fp) == len;
    ok = (fclose(fp) == 0) && ok;
    if (!ok)
        return trl_error_set(err, TRL_EIO, "cannot write %s: %s", path,
                             strerror(errno));
    return 0;
}

int trl__read_file(const char *path, uint8_t **data, size_t *len,
                   trl_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return trl_error_set(err, TRL_EIO, "cannot read %s: %s", path,
                             strerror(errno));
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap)
            break;
        uint8_t *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (!buf || bad) {
        free(buf);
        return trl_error_set(err, bad ? TRL_EIO : TRL_ENOMEM, "cannot read "
                             "%s", path);
    }
    *data = buf;
    *len = n;
    return 0;
}
