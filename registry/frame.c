/* frame.c - frames: named columns of one length, shared by reference;
 * selections that build new frames without touching the old. */
#include <stdlib.h>
#include <string.h>

#include "registry/registry_int.h"

trl_frame *trl_frame_new(void)
{
    trl_frame *f = calloc(1, sizeof *f);
    if (f)
        f->refcount = 1;
    return f;
}

void trl_frame_incref(trl_frame *f)
{
    if (f)
        trl__ref_inc(&f->refcount);
}

void trl_frame_decref(trl_frame *f)
{
    if (!f || trl__ref_dec(&f->refcount))
        return;
    for (size_t i = 0; i < f->ncols; i++) {
        free(f->names[i]);
        trl_column_decref(f->cols[i]);
    }
    free(f->names);
    free(f->cols);
    json_decref(f->lineage);
    free(f->ref);
    free(f);
}

static long find(const trl_frame *f, const char *name)
{
    for (size_t i = 0; i < f->ncols; i++)
        if (strcmp(f->names[i], name) == 0)
            return (long)i;
    return -1;
}

trl_column *trl_frame_get(const trl_frame *f, const char *name)
{
    long i = find(f, name);
    return i < 0 ? NULL : f->cols[i];
}

int trl_frame_set(trl_frame *f, const char *name, trl_column *c,
                  trl_error *err)
{
    if (f->frozen)
        return trl_error_set(err, TRL_EINVAL, "%s is a registered version "
                             "and cannot change: copy it first",
                             f->ref ? f->ref : "this frame");
    if (!name || !*name)
        return trl_error_set(err, TRL_EINVAL, "a column needs a name");
    if (f->ncols && c->len != f->nrows)
        return trl_error_set(err, TRL_EINVAL, "column '%s' has %zu rows, "
                             "the frame has %zu", name, c->len, f->nrows);
    long i = find(f, name);
    trl_column_incref(c);
    if (i >= 0) {
        trl_column_decref(f->cols[i]);
        f->cols[i] = c;
        return 0;
    }
    if (f->ncols == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        char **names = realloc(f->names, cap * sizeof *names);
        trl_column **cols = names ? realloc(f->cols, cap * sizeof *cols)
                                  : NULL;
        if (names)
            f->names = names;
        if (!cols) {
            trl_column_decref(c);
            return trl_error_set(err, TRL_ENOMEM, "out of memory");
        }
        f->cols = cols;
        f->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        trl_column_decref(c);
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    }
    f->names[f->ncols] = copy;
    f->cols[f->ncols] = c;
    if (f->ncols++ == 0)
        f->nrows = c->len;
    return 0;
}

int trl_frame_drop(trl_frame *f, const char *name, trl_error *err)
{
    if (f->frozen)
        return trl_error_set(err, TRL_EINVAL, "%s is a registered version "
                             "and cannot change: copy it first",
                             f->ref ? f->ref : "this frame");
    long i = find(f, name);
    if (i < 0)
        return trl_error_set(err, TRL_ENOTFOUND, "no column '%s'", name);
    free(f->names[i]);
    trl_column_decref(f->cols[i]);
    memmove(f->names + i, f->names + i + 1,
            (f->ncols - (size_t)i - 1) * sizeof *f->names);
    memmove(f->cols + i, f->cols + i + 1,
            (f->ncols - (size_t)i - 1) * sizeof *f->cols);
    f->ncols--;
    return 0;
}

trl_frame *trl_frame_copy(const trl_frame *f)
{
    trl_frame *g = trl_frame_new();
    if (!g)
        return NULL;
    for (size_t i = 0; i < f->ncols; i++)
        if (trl_frame_set(g, f->names[i], f->cols[i], NULL) != 0) {
            trl_frame_decref(g);
            return NULL;
        }
    g->nrows = f->nrows;
    if (f->lineage)
        g->lineage = json_deep_copy(f->lineage);
    return g;
}

void trl_frame_set_lineage(trl_frame *f, json_t *lineage_new)
{
    json_decref(f->lineage);
    f->lineage = lineage_new;
}

json_t *trl_frame_derived_lineage(const trl_frame *parent, const char *source,
                                  json_t *step_new)
{
    json_t *p = parent->ref ? json_string(parent->ref)
                : parent->lineage ? json_deep_copy(parent->lineage)
                                  : json_pack("{s:s}", "source", source);
    /* o steals p and step_new, also when packing fails */
    return json_pack("{s:s, s:[o], s:[o]}", "source", "derived", "parents", p,
                     "derivation", step_new);
}

int trl_frame_add_step(trl_frame *f, const char *source, json_t *step_new)
{
    if (!step_new)
        return TRL_ENOMEM;
    if (!f->lineage && !(f->lineage = json_pack("{s:s}", "source", source))) {
        json_decref(step_new);
        return TRL_ENOMEM;
    }
    json_t *d = json_object_get(f->lineage, "derivation");
    if (!json_is_array(d) &&
        json_object_set_new(f->lineage, "derivation", d = json_array()) != 0) {
        json_decref(step_new);
        return TRL_ENOMEM;
    }
    return json_array_append_new(d, step_new) == 0 ? 0 : TRL_ENOMEM;
}

trl_frame *trl_frame_select(const trl_frame *f, const char *const *names,
                            size_t n, trl_error *err)
{
    trl_frame *g = trl_frame_new();
    if (!g) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        trl_column *c = trl_frame_get(f, names[i]);
        if (!c) {
            trl_error_set(err, TRL_ENOTFOUND, "no column '%s'", names[i]);
            trl_frame_decref(g);
            return NULL;
        }
        if (trl_frame_set(g, names[i], c, err) != 0) {
            trl_frame_decref(g);
            return NULL;
        }
    }
    g->nrows = n ? g->nrows : f->nrows;
    return g;
}

/* A new frame whose every column is rows idx of f's. */
trl_frame *trl_frame_take(const trl_frame *f, const size_t *idx, size_t n,
                          trl_error *err)
{
    trl_frame *g = trl_frame_new();
    if (!g) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < f->ncols; i++) {
        trl_column *c = trl_column_take(f->cols[i], idx, n, err);
        int rc = c ? trl_frame_set(g, f->names[i], c, err) : -1;
        trl_column_decref(c);
        if (rc) {
            trl_frame_decref(g);
            return NULL;
        }
    }
    g->nrows = n;
    return g;
}

trl_frame *trl_frame_filter(const trl_frame *f, const trl_column *mask,
                            trl_error *err)
{
    size_t n;
    size_t *idx = trl__mask_rows(mask, f->nrows, &n, err);
    if (!idx)
        return NULL;
    trl_frame *g = trl_frame_take(f, idx, n, err);
    free(idx);
    return g;
}

trl_frame *trl_frame_head(const trl_frame *f, size_t n, trl_error *err)
{
    if (n > f->nrows)
        n = f->nrows;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    trl_frame *g = trl_frame_take(f, idx, n, err);
    free(idx);
    return g;
}

/* splitmix64: a small, well-mixed generator; the same seed gives the same
 * rows on every machine. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A permutation of 0..n-1 (Fisher-Yates), malloc'd. */
static size_t *shuffled(size_t n, uint64_t seed)
{
    size_t *p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = i;
    uint64_t s = seed;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(next(&s) % i);
        size_t t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    return p;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

trl_frame *trl_frame_sample(const trl_frame *f, size_t n, uint64_t seed,
                            trl_error *err)
{
    if (n > f->nrows) {
        trl_error_set(err, TRL_EINVAL, "sample of %zu rows from a frame of "
                      "%zu (sampling is without replacement)", n, f->nrows);
        return NULL;
    }
    size_t *p = shuffled(f->nrows, seed);
    if (!p) {
        trl_error_set(err, TRL_ENOMEM, "out of memory");
        return NULL;
    }
    trl_frame *g = trl_frame_take(f, p, n, err);
    free(p);
    return g;
}

int trl_frame_split(const trl_frame *f, const double *fractions, size_t k,
                    uint64_t seed, trl_frame **out, trl_error *err)
{
    double total = 0;
    for (size_t i = 0; i < k; i++) {
        if (!(fractions[i] >= 0))
            return trl_error_set(err, TRL_EINVAL, "split fractions must be "
                                 ">= 0");
        total += fractions[i];
    }
    if (k == 0 || total > 1 + 1e-9)
        return trl_error_set(err, TRL_EINVAL, "split needs fractions that "
                             "sum to at most 1 (got %g)", total);
    size_t *p = shuffled(f->nrows, seed);
    if (!p)
        return trl_error_set(err, TRL_ENOMEM, "out of memory");
    size_t start = 0;
    int rc = 0;
    for (size_t i = 0; i < k; i++) {
        size_t n = (size_t)(fractions[i] * (double)f->nrows + 0.5);
        if (i == k - 1 && total > 1 - 1e-9)
            n = f->nrows - start;  /* the rounding rest goes to the last */
        if (start + n > f->nrows)
            n = f->nrows - start;
        /* rows keep their original order inside each part */
        qsort(p + start, n, sizeof *p, cmp_size);
        out[i] = trl_frame_take(f, p + start, n, err);
        if (!out[i]) {
            for (size_t j = 0; j < i; j++)
                trl_frame_decref(out[j]);
            rc = err ? err->code : TRL_ENOMEM;
            break;
        }
        start += n;
    }
    free(p);
    return rc;
}
