/* encode.c - turns frame columns into the numeric inputs a model reads, the
 * same way at training and at prediction: numbers as they are, strings
 * one-hot or as category codes, optionally standardised. The encoding is
 * learned once from the training frame and stored with the model, so a
 * frame seen later (with new categories, say) is encoded as training was. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/model_int.h"
#include "registry/registry_int.h"

/* One feature's inputs in the float path: XGBoost one-hot codes at most
 * 32 categories, and past that uses one code. */
#define MAX_VALUES_PER_FEATURE 32

struct trl__enc_binding {
    const trl_column **cols;  /* per feature, borrowed from the frame */
    int32_t **code_map;       /* per str feature: frame code -> category
                               * index, -1 when unseen */
    size_t nfeat;
};

static int cmp_bytes(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

void trl__encoder_free(trl__encoder *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nfeat; i++) {
        trl__enc_feature *ft = &e->feat[i];
        for (size_t k = 0; k < ft->ncats; k++)
            free(ft->cats[k]);
        free(ft->cats);
        free(ft->cat_lens);
        free(ft->name);
    }
    free(e->feat);
    free(e->mean);
    free(e->scale);
    free(e);
}

/* A category while sorting: its bytes, no global state. */
typedef struct cat_ref {
    const char *s;
    size_t len;
} cat_ref;

static int cmp_cats(const void *a, const void *b)
{
    const cat_ref *x = a, *y = b;
    return cmp_bytes(x->s, x->len, y->s, y->len);
}

/* The categories a str column uses (not every dictionary entry: a filtered
 * frame shares its parent's dictionary), sorted. */
static int fit_categories(trl__enc_feature *ft, const trl_column *c,
                          trl_error *err)
{
    const trl_strdict *d = c->dict;
    uint8_t *used = calloc(d->n ? d->n : 1, 1);
    cat_ref *order = malloc((d->n ? d->n : 1) * sizeof *order);
    if (!used || !order) {
        free(used);
        free(order);
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < c->len; r++)
        if (c->v.codes[r] >= 0)
            used[c->v.codes[r]] = 1;
    size_t n = 0;
    for (size_t k = 0; k < d->n; k++)
        if (used[k])
            order[n++] = (cat_ref){d->strs[k], d->lens[k]};
    qsort(order, n, sizeof *order, cmp_cats);
    ft->cats = calloc(n ? n : 1, sizeof *ft->cats);
    ft->cat_lens = calloc(n ? n : 1, sizeof *ft->cat_lens);
    int rc = ft->cats && ft->cat_lens ? 0 : TRL_ENOMEM;
    for (size_t k = 0; k < n && rc == 0; k++) {
        size_t len = order[k].len;
        if (!(ft->cats[k] = malloc(len + 1))) {
            rc = TRL_ENOMEM;
            break;
        }
        memcpy(ft->cats[k], order[k].s, len);
        ft->cats[k][len] = '\0';
        ft->cat_lens[k] = len;
        ft->ncats = k + 1;
    }
    free(used);
    free(order);
    return rc ? trl_error_set(err, rc, "out of memory") : 0;
}

/* Categories become input names and JSON text in the registry: they
 * must be UTF-8 without NUL. */
static int check_text(const trl__enc_feature *ft, trl_error *err)
{
    for (size_t k = 0; k < ft->ncats; k++) {
        json_t *t = memchr(ft->cats[k], '\0', ft->cat_lens[k])
                        ? NULL : json_stringn(ft->cats[k], ft->cat_lens[k]);
        if (!t)
            return trl_error_set(err, TRL_EINVAL, "str column '%s' has a "
                                 "value that is not UTF-8 text (or holds a "
                                 "NUL byte): a category must be text",
                                 ft->name);
        json_decref(t);
    }
    return 0;
}

/* Index of s among the sorted categories, or -1. */
static int32_t find_category(const trl__enc_feature *ft, const char *s,
                             size_t len)
{
    size_t lo = 0, hi = ft->ncats;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_bytes(ft->cats[mid], ft->cat_lens[mid], s, len);
        if (c == 0)
            return (int32_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static size_t feature_width(const trl__enc_feature *ft)
{
    return ft->kind == TRL__ENC_ONEHOT ? ft->ncats : 1;
}

static int fit_scaling(trl__encoder *e, const trl_frame *f, trl_error *err);

/* An encoder with room for n features and none filled yet. */
static trl__encoder *encoder_new(size_t n, trl_error *err)
{
    trl__encoder *e = calloc(1, sizeof *e);
    if (!e || !(e->feat = calloc(n ? n : 1, sizeof *e->feat))) {
        free(e);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    return e;
}

trl__encoder *trl__encoder_fit(const trl_frame *f, const char *const *names,
                               size_t n, size_t max_onehot, int standardize,
                               trl_error *err)
{
    trl__encoder *e = encoder_new(n, err);
    if (!e)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const trl_column *c = trl_frame_get(f, names[i]);
        trl__enc_feature *ft = &e->feat[i];
        e->nfeat = i + 1;
        if (!(ft->name = strdup(names[i]))) {
            trl_error_set(err, TRL_ENOMEM, "out of memory");
            goto fail;
        }
        ft->first = e->width;
        ft->kind = TRL__ENC_NUM;
        if (c->type == TRL_STR) {
            if (fit_categories(ft, c, err) != 0 ||
                check_text(ft, err) != 0)
                goto fail;
            ft->kind = ft->ncats <= max_onehot ? TRL__ENC_ONEHOT
                                               : TRL__ENC_CODE;
            if (standardize && ft->kind == TRL__ENC_CODE) {
                trl_error_set(err, TRL_EINVAL, "str column '%s' has %zu "
                              "categories; a linear model one-hot codes at "
                              "most %zu (group the rare ones, or use "
                              "xgboost)", ft->name, ft->ncats, max_onehot);
                goto fail;
            }
        }
        e->width += feature_width(ft);
    }
    if (standardize && fit_scaling(e, f, err) != 0)
        goto fail;
    return e;

fail:
    trl__encoder_free(e);
    return NULL;
}

/* ---- binding a frame ----------------------------------------------------------- */

void trl__enc_binding_free(trl__enc_binding *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nfeat; i++)
        free(b->code_map[i]);
    free(b->code_map);
    free(b->cols);
    free(b);
}

trl__enc_binding *trl__encoder_bind(const trl__encoder *e,
                                    const trl_frame *f, trl_error *err)
{
    trl__enc_binding *b = calloc(1, sizeof *b);
    if (!b || !(b->cols = calloc(e->nfeat ? e->nfeat : 1, sizeof *b->cols)) ||
        !(b->code_map = calloc(e->nfeat ? e->nfeat : 1,
                               sizeof *b->code_map))) {
        trl__enc_binding_free(b);
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    b->nfeat = e->nfeat;
    for (size_t i = 0; i < e->nfeat; i++) {
        const trl__enc_feature *ft = &e->feat[i];
        const trl_column *c = trl_frame_get(f, ft->name);
        if (!c) {
            trl_error_set(err, TRL_ENOTFOUND, "the frame has no column '%s', "
                          "which the model reads", ft->name);
            goto fail;
        }
        int is_str = c->type == TRL_STR;
        if (is_str != (ft->kind != TRL__ENC_NUM)) {
            trl_error_set(err, TRL_EINVAL, "column '%s' is %s here but was "
                          "%s in training", ft->name,
                          trl_dtype_name(c->type),
                          is_str ? "numeric" : "str");
            goto fail;
        }
        b->cols[i] = c;
        if (!is_str)
            continue;
        const trl_strdict *d = c->dict;
        if (!(b->code_map[i] = malloc((d->n ? d->n : 1) * sizeof(int32_t)))) {
            trl_error_set(err, TRL_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t k = 0; k < d->n; k++)
            b->code_map[i][k] = find_category(ft, d->strs[k], d->lens[k]);
    }
    return b;

fail:
    trl__enc_binding_free(b);
    return NULL;
}

/* Writes feature ft of row r into its inputs. A missing
 * number is NaN; a missing string is onehot_missing in every one-hot input
 * (NaN for trees, 0 for linear models: none of the categories) and NaN as
 * a code; an unseen category is 0 in every one-hot input, NaN as a code. */
static void encode_value(const trl__enc_feature *ft, const trl_column *c,
                         const int32_t *map, size_t r, double *out,
                         double onehot_missing)
{
    if (ft->kind == TRL__ENC_NUM) {
        *out = trl_column_get_f64(c, r);
        return;
    }
    int32_t code = c->v.codes[r];
    int32_t cat = code >= 0 ? map[code] : -1;
    if (ft->kind == TRL__ENC_CODE) {
        *out = cat >= 0 ? (double)cat : NAN;
        return;
    }
    double fill = code < 0 ? onehot_missing : 0.0;
    for (size_t k = 0; k < ft->ncats; k++)
        out[k] = fill;
    if (cat >= 0)
        out[cat] = 1.0;
}

/* Stores value v at o[k] as a double or a float. */
static inline void put(void *o, int f32, size_t k, double v)
{
    if (f32)
        ((float *)o)[k] = (float)v;
    else
        ((double *)o)[k] = v;
}

/* Feature by feature, so a numeric column is one tight strided copy: this
 * runs for every prediction batch, and per-value dispatch cost more than
 * XGBoost's own work on a 4096-row batch. f32 writes floats, which XGBoost
 * reads without converting (it computes in float32 anyway). */
static size_t encode_rows(const trl__encoder *e, const trl__enc_binding *b,
                          size_t row0, size_t n, void *out, int f32)
{
    size_t w = e->width, inf_at = (size_t)-1;
    double tmp[MAX_VALUES_PER_FEATURE];
    for (size_t i = 0; i < e->nfeat; i++) {
        const trl__enc_feature *ft = &e->feat[i];
        const trl_column *c = b->cols[i];
        size_t at = ft->first;
        if (ft->kind == TRL__ENC_NUM && c->type == TRL_F64) {
            /* only f64 columns can hold an infinity: noted while copying */
            const double *v = c->v.f64 + row0;
            int inf = 0;
            if (f32)
                for (size_t r = 0; r < n; r++) {
                    ((float *)out)[r * w + at] = (float)v[r];
                    inf |= isinf(v[r]);
                }
            else
                for (size_t r = 0; r < n; r++) {
                    ((double *)out)[r * w + at] = v[r];
                    inf |= isinf(v[r]);
                }
            for (size_t r = 0; inf && r < n; r++)
                if (isinf(v[r])) {
                    if (r * w + at < inf_at)
                        inf_at = r * w + at;
                    break;
                }
        } else if (!f32) {
            for (size_t r = 0; r < n; r++)
                encode_value(ft, c, b->code_map[i], row0 + r,
                             (double *)out + r * w + at,
                             e->mean ? 0.0 : NAN);
        } else {
            size_t k = feature_width(ft);
            for (size_t r = 0; r < n; r++) {
                encode_value(ft, c, b->code_map[i], row0 + r, tmp, NAN);
                for (size_t q = 0; q < k; q++)
                    put(out, 1, r * w + at + q, tmp[q]);
            }
        }
    }
    return inf_at;
}

size_t trl__encoder_rows(const trl__encoder *e, const trl__enc_binding *b,
                         size_t row0, size_t n, double *out)
{
    return encode_rows(e, b, row0, n, out, 0);
}

int trl__encoder_rows_f32(const trl__encoder *e, const trl__enc_binding *b,
                          size_t row0, size_t n, float *out, size_t *inf_at)
{
    for (size_t i = 0; i < e->nfeat; i++)
        if (feature_width(&e->feat[i]) > MAX_VALUES_PER_FEATURE)
            return -1;
    *inf_at = encode_rows(e, b, row0, n, out, 1);
    return 0;
}

/* Mean and population deviation (ddof 0, as scikit-learn's StandardScaler)
 * of every input over its present values, in two passes for accuracy. A
 * constant input keeps scale 1. One-hot inputs of a missing string count
 * as 0 (the row has none of the categories). */
static int fit_scaling(trl__encoder *e, const trl_frame *f, trl_error *err)
{
    size_t w = e->width, nrows = f->nrows;
    e->mean = calloc(w ? w : 1, sizeof *e->mean);
    e->scale = calloc(w ? w : 1, sizeof *e->scale);
    double *row = malloc((w ? w : 1) * sizeof *row);
    size_t *count = calloc(w ? w : 1, sizeof *count);
    double *m2 = calloc(w ? w : 1, sizeof *m2);
    trl__enc_binding *b = NULL;
    int rc = TRL_ENOMEM;
    if (!e->mean || !e->scale || !row || !count || !m2 ||
        !(b = trl__encoder_bind(e, f, err)))
        goto done;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t r = 0; r < nrows; r++) {
            if ((r & 0xffff) == 0 && trl__registry_interrupted()) {
                rc = trl__registry_interrupt_error(err);
                goto done;
            }
            for (size_t i = 0; i < e->nfeat; i++)
                encode_value(&e->feat[i], b->cols[i], b->code_map[i], r,
                             row + e->feat[i].first, 0.0);
            for (size_t j = 0; j < w; j++) {
                double x = row[j];
                if (isnan(x))
                    continue;
                if (pass == 0) {
                    e->mean[j] += x;
                    count[j]++;
                } else {
                    m2[j] += (x - e->mean[j]) * (x - e->mean[j]);
                }
            }
        }
        for (size_t j = 0; j < w; j++) {
            if (pass == 0)
                e->mean[j] = count[j] ? e->mean[j] / (double)count[j] : 0.0;
            else {
                double sd = count[j] ? sqrt(m2[j] / (double)count[j]) : 0.0;
                e->scale[j] = sd > 0 ? sd : 1.0;
                if (!isfinite(e->mean[j]) || !isfinite(sd)) {
                    char *name = trl__encoder_input_name(e, j);
                    rc = trl_error_set(err, TRL_EINVAL, "column '%s' is too "
                                       "large to standardise (its variance "
                                       "overflows): rescale it first",
                                       name ? name : "?");
                    free(name);
                    goto done;
                }
            }
        }
    }
    rc = 0;
done:
    trl__enc_binding_free(b);
    free(row);
    free(count);
    free(m2);
    if (rc && err && !err->code)
        trl_error_set(err, rc, "out of memory");
    return rc ? (err ? err->code : rc) : 0;
}

/* ---- columns for XGBoost ----------------------------------------------------------- */

void trl__enc_columns_free(trl__enc_columns *c)
{
    for (size_t i = 0; i < c->nowned; i++)
        free(c->owned[i]);
    free(c->owned);
    free(c->ptrs);
    free(c->stypes);
    memset(c, 0, sizeof *c);
}

int trl__encoder_columns(const trl__encoder *e, const trl_frame *f,
                         trl__enc_columns *out, trl_error *err)
{
    size_t w = e->width ? e->width : 1, nrows = f->nrows;
    memset(out, 0, sizeof *out);
    trl__enc_binding *b = trl__encoder_bind(e, f, err);
    if (!b)
        return err ? err->code : TRL_EINVAL;
    out->ptrs = calloc(w, sizeof *out->ptrs);
    out->stypes = calloc(w, sizeof *out->stypes);
    out->owned = calloc(w, sizeof *out->owned);
    if (!out->ptrs || !out->stypes || !out->owned)
        goto oom;
    for (size_t i = 0; i < e->nfeat; i++) {
        const trl__enc_feature *ft = &e->feat[i];
        const trl_column *c = b->cols[i];
        size_t j = ft->first;
        /* XGBoost reads these types in place; it takes NaN as missing,
         * so only i64 with holes and bool with missing need a copy */
        if (c->type == TRL_F64) {
            out->ptrs[j] = c->v.f64;
            out->stypes[j] = "float64";
            continue;
        }
        if (c->type == TRL_I64 && !c->valid) {
            out->ptrs[j] = c->v.i64;
            out->stypes[j] = "int64";
            continue;
        }
        size_t k = feature_width(ft);
        for (size_t q = 0; q < k; q++) {
            double *buf = malloc((nrows ? nrows : 1) * sizeof *buf);
            if (!buf)
                goto oom;
            out->owned[out->nowned++] = buf;
            out->ptrs[j + q] = buf;
            out->stypes[j + q] = "float64";
        }
        for (size_t r = 0; r < nrows; r++) {
            double v[1] = {NAN};  /* -O3 cannot see encode_value write it */
            if (ft->kind == TRL__ENC_ONEHOT) {
                /* write across the k buffers, a row at a time */
                int32_t code = c->v.codes[r];
                int32_t cat = code >= 0 ? b->code_map[i][code] : -1;
                double fill = code < 0 ? NAN : 0.0;
                for (size_t q = 0; q < k; q++)
                    ((double *)out->ptrs[j + q])[r] =
                        (int32_t)q == cat ? 1.0 : fill;
                continue;
            }
            encode_value(ft, c, b->code_map[i], r, v, NAN);
            ((double *)out->ptrs[j])[r] = v[0];
        }
    }
    trl__enc_binding_free(b);
    return 0;

oom:
    trl__enc_binding_free(b);
    trl__enc_columns_free(out);
    return trl_error_set(err, TRL_ENOMEM, "out of memory");
}

/* ---- names and JSON ------------------------------------------------------------------ */

char *trl__encoder_input_name(const trl__encoder *e, size_t i)
{
    for (size_t f = 0; f < e->nfeat; f++) {
        const trl__enc_feature *ft = &e->feat[f];
        if (i < ft->first || i >= ft->first + feature_width(ft))
            continue;
        if (ft->kind != TRL__ENC_ONEHOT)
            return strdup(ft->name);
        const char *cat = ft->cats[i - ft->first];
        size_t len = strlen(ft->name) + strlen(cat) + 2;
        char *s = malloc(len);
        if (s)
            snprintf(s, len, "%s=%s", ft->name, cat);
        return s;
    }
    return NULL;
}

static const char *kind_name(trl__enc_kind k)
{
    return k == TRL__ENC_ONEHOT ? "onehot" : k == TRL__ENC_CODE ? "code"
                                                                 : "number";
}

json_t *trl__encoder_to_json(const trl__encoder *e)
{
    json_t *feats = json_array();
    for (size_t i = 0; feats && i < e->nfeat; i++) {
        const trl__enc_feature *ft = &e->feat[i];
        json_t *o = json_pack("{s:s, s:s}", "column", ft->name, "kind",
                              kind_name(ft->kind));
        if (o && ft->kind != TRL__ENC_NUM) {
            json_t *cats = json_array();
            for (size_t k = 0; cats && k < ft->ncats; k++)
                if (json_array_append_new(cats, json_stringn(
                                                    ft->cats[k],
                                                    ft->cat_lens[k])) != 0) {
                    json_decref(cats);
                    cats = NULL;
                }
            if (!cats || json_object_set_new(o, "categories", cats) != 0) {
                json_decref(o);
                o = NULL;
            }
        }
        if (!o || json_array_append_new(feats, o) != 0) {
            json_decref(feats);
            return NULL;
        }
    }
    json_t *j = json_pack("{s:o}", "features", feats);
    if (j && e->mean) {
        json_t *mean = json_array(), *scale = json_array();
        int bad = !mean || !scale;
        for (size_t k = 0; !bad && k < e->width; k++)
            bad = json_array_append_new(mean, json_real(e->mean[k])) ||
                  json_array_append_new(scale, json_real(e->scale[k]));
        /* each set steals its value, even when it fails */
        bad |= json_object_set_new(j, "mean", mean);
        bad |= json_object_set_new(j, "scale", scale);
        if (bad) {
            json_decref(j);
            return NULL;
        }
    }
    return j;
}

static int bad_encoding(trl_error *err)
{
    return trl_error_set(err, TRL_EIO, "the model's stored encoding is "
                         "damaged");
}

static int read_doubles(const json_t *a, size_t n, double **out)
{
    if (!json_is_array(a) || json_array_size(a) != n ||
        !(*out = malloc((n ? n : 1) * sizeof **out)))
        return -1;
    for (size_t k = 0; k < n; k++) {
        json_t *v = json_array_get(a, k);
        if (!json_is_number(v))
            return -1;
        (*out)[k] = json_number_value(v);
    }
    return 0;
}

trl__encoder *trl__encoder_from_json(const json_t *j, trl_error *err)
{
    json_t *feats = json_object_get(j, "features");
    size_t n = json_array_size(feats);
    trl__encoder *e = encoder_new(n, err);
    if (!e)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(feats, i);
        const char *col = json_string_value(json_object_get(o, "column"));
        const char *kind = json_string_value(json_object_get(o, "kind"));
        trl__enc_feature *ft = &e->feat[i];
        e->nfeat = i + 1;
        if (!col || !kind || !(ft->name = strdup(col)))
            goto bad;
        ft->first = e->width;
        if (strcmp(kind, "number") == 0) {
            ft->kind = TRL__ENC_NUM;
        } else {
            ft->kind = strcmp(kind, "onehot") == 0 ? TRL__ENC_ONEHOT
                                                   : TRL__ENC_CODE;
            json_t *cats = json_object_get(o, "categories");
            size_t k = json_array_size(cats);
            ft->cats = calloc(k ? k : 1, sizeof *ft->cats);
            ft->cat_lens = calloc(k ? k : 1, sizeof *ft->cat_lens);
            if (!ft->cats || !ft->cat_lens)
                goto bad;
            for (size_t q = 0; q < k; q++) {
                json_t *s = json_array_get(cats, q);
                if (!json_is_string(s))
                    goto bad;
                size_t len = json_string_length(s);
                if (!(ft->cats[q] = malloc(len + 1)))
                    goto bad;
                memcpy(ft->cats[q], json_string_value(s), len + 1);
                ft->cat_lens[q] = len;
                ft->ncats = q + 1;
            }
        }
        e->width += feature_width(ft);
    }
    if (json_object_get(j, "mean") &&
        (read_doubles(json_object_get(j, "mean"), e->width, &e->mean) ||
         read_doubles(json_object_get(j, "scale"), e->width, &e->scale)))
        goto bad;
    return e;

bad:
    trl__encoder_free(e);
    bad_encoding(err);
    return NULL;
}
