/* test_frame.c - frame.c: set/get/drop, copies that share columns, frozen
 * frames, select, filter, head, sample, split and lineage. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry/registry_int.h"

#define M TRL_BOOL_MISSING

/* ---- helpers ------------------------------------------------------------------- */

/* An i64 column 0, 1, ..., n-1: row ids to follow rows through. */
static trl_column *ids(size_t n)
{
    trl_column *c = trl_column_new(TRL_I64, n, NULL);
    assert_non_null(c);
    for (size_t i = 0; i < n; i++)
        c->v.i64[i] = (int64_t)i;
    return c;
}

static trl_column *f64_col(const double *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_F64, n, NULL);
    assert_non_null(c);
    memcpy(c->v.f64, v, n * sizeof *v);
    return c;
}

static trl_column *bool_col(const uint8_t *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_BOOL, n, NULL);
    assert_non_null(c);
    memcpy(c->v.b, v, n);
    return c;
}

/* Sets c as name and drops the caller's reference. */
static void put(trl_frame *f, const char *name, trl_column *c)
{
    trl_error err = {0};
    if (trl_frame_set(f, name, c, &err) != 0)
        fail_msg("set %s: %s", name, err.message);
    trl_column_decref(c);
}

/* A frame of n rows: "id" (0..n-1), "x" (id * 1.5, every 4th missing) and
 * "s" (strings "r<id % 3>", every 5th missing). */
static trl_frame *sample_frame(size_t n)
{
    trl_frame *f = trl_frame_new();
    assert_non_null(f);
    put(f, "id", ids(n));
    trl_column *x = trl_column_new(TRL_F64, n, NULL);
    trl_column *s = trl_column_new(TRL_STR, n, NULL);
    assert_true(x && s);
    for (size_t i = 0; i < n; i++) {
        x->v.f64[i] = i % 4 == 3 ? NAN : (double)i * 1.5;
        char buf[8] = {'r', (char)('0' + i % 3), 0};
        s->v.codes[i] = i % 5 == 4 ? -1 : trl_strdict_intern(s->dict, buf, 2);
    }
    put(f, "x", x);
    put(f, "s", s);
    return f;
}

/* Every column of g agrees, row by row, with f's row id g.id. */
static void expect_rows_of(const trl_frame *g, const trl_frame *f)
{
    trl_column *gid = trl_frame_get(g, "id");
    assert_non_null(gid);
    assert_int_equal(g->ncols, f->ncols);
    for (size_t c = 0; c < g->ncols; c++) {
        assert_string_equal(g->names[c], f->names[c]);
        const trl_column *a = g->cols[c], *b = f->cols[c];
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->len, g->nrows);
        assert_ptr_equal(a->dict, b->dict);
        for (size_t i = 0; i < g->nrows; i++) {
            size_t j = (size_t)gid->v.i64[i];
            assert_true(j < f->nrows);
            assert_int_equal(trl_column_is_missing(a, i),
                             trl_column_is_missing(b, j));
            if (a->type == TRL_STR)
                assert_int_equal(a->v.codes[i], b->v.codes[j]);
            else if (!trl_column_is_missing(a, i))
                assert_true(trl_column_get_f64(a, i) ==
                            trl_column_get_f64(b, j));
        }
    }
}

static void expect_error(int rc, const trl_error *err, int code,
                         const char *part)
{
    assert_int_equal(rc, code);
    assert_int_equal(err->code, code);
    if (!strstr(err->message, part))
        fail_msg("message '%s' lacks '%s'", err->message, part);
}

/* ---- set, get, drop, copy ---------------------------------------------------------------- */

static void test_set_get_drop(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_frame *f = trl_frame_new();
    assert_int_equal(f->ncols, 0);
    assert_null(trl_frame_get(f, "a"));

    trl_column *a = ids(3), *b = ids(3);
    assert_int_equal(trl_frame_set(f, "a", a, &err), 0);
    assert_int_equal(f->nrows, 3);
    assert_int_equal(a->refcount, 2);  /* borrowed and incref'd */
    assert_ptr_equal(trl_frame_get(f, "a"), a);
    assert_int_equal(trl_frame_set(f, "b", b, &err), 0);
    assert_int_equal(f->ncols, 2);

    /* replacing keeps the position and releases the old column */
    trl_column *a2 = ids(3);
    assert_int_equal(trl_frame_set(f, "a", a2, &err), 0);
    assert_int_equal(f->ncols, 2);
    assert_string_equal(f->names[0], "a");
    assert_ptr_equal(f->cols[0], a2);
    assert_int_equal(a->refcount, 1);

    /* a column of another length is refused; the frame is unchanged */
    trl_column *c4 = ids(4);
    expect_error(trl_frame_set(f, "c", c4, &err), &err, TRL_EINVAL,
                 "column 'c' has 4 rows, the frame has 3");
    expect_error(trl_frame_set(f, "a", c4, &err), &err, TRL_EINVAL,
                 "column 'a' has 4 rows");
    assert_int_equal(c4->refcount, 1);
    assert_int_equal(f->ncols, 2);
    assert_ptr_equal(trl_frame_get(f, "a"), a2);
    expect_error(trl_frame_set(f, "", a, &err), &err, TRL_EINVAL,
                 "a column needs a name");

    /* drop */
    assert_int_equal(trl_frame_drop(f, "a", &err), 0);
    assert_int_equal(f->ncols, 1);
    assert_string_equal(f->names[0], "b");
    assert_null(trl_frame_get(f, "a"));
    assert_int_equal(a2->refcount, 1);
    expect_error(trl_frame_drop(f, "a", &err), &err, TRL_ENOTFOUND,
                 "no column 'a'");

    /* with no columns left, the next column sets the length */
    assert_int_equal(trl_frame_drop(f, "b", &err), 0);
    assert_int_equal(trl_frame_set(f, "c", c4, &err), 0);
    assert_int_equal(f->nrows, 4);

    /* many columns: the arrays grow */
    char name[16];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "col%d", i);
        assert_int_equal(trl_frame_set(f, name, c4, &err), 0);
    }
    assert_int_equal(f->ncols, 41);
    assert_ptr_equal(trl_frame_get(f, "col39"), c4);
    assert_int_equal(trl_frame_drop(f, "col0", &err), 0);
    assert_string_equal(f->names[1], "col1");
    assert_int_equal(c4->refcount, 41);

    trl_frame_decref(f);
    assert_int_equal(c4->refcount, 1);
    trl_column_decref(a);
    trl_column_decref(a2);
    trl_column_decref(b);
    trl_column_decref(c4);
}

static void test_copy_shares_columns(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_frame *f = sample_frame(6);
    trl_frame_set_lineage(f, json_pack("{s:s}", "source", "a.csv"));
    f->frozen = 1;
    f->ref = strdup("churn@3");

    trl_frame *g = trl_frame_copy(f);
    assert_non_null(g);
    assert_int_equal(g->refcount, 1);
    assert_int_equal(g->frozen, 0);
    assert_null(g->ref);
    assert_int_equal(g->nrows, 6);
    assert_int_equal(g->ncols, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(g->names[i], f->names[i]);
        assert_ptr_equal(g->cols[i], f->cols[i]);  /* no data copied */
        assert_int_equal(f->cols[i]->refcount, 2);
    }
    assert_ptr_not_equal(g->lineage, f->lineage);
    assert_true(json_equal(g->lineage, f->lineage));

    /* the copy changes; the original does not */
    assert_int_equal(trl_frame_drop(g, "x", &err), 0);
    put(g, "y", ids(6));
    assert_int_equal(f->ncols, 3);
    assert_non_null(trl_frame_get(f, "x"));
    assert_null(trl_frame_get(f, "y"));
    assert_int_equal(trl_frame_get(f, "x")->refcount, 1);

    trl_frame_decref(g);
    assert_int_equal(f->cols[0]->refcount, 1);
    trl_frame_decref(f);

    /* copy of an empty frame */
    f = trl_frame_new();
    g = trl_frame_copy(f);
    assert_int_equal(g->ncols, 0);
    assert_null(g->lineage);
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_frozen_frame(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_frame *f = sample_frame(4);
    f->frozen = 1;
    f->ref = strdup("churn@2");
    trl_column *c = ids(4);
    expect_error(trl_frame_set(f, "new", c, &err), &err, TRL_EINVAL,
                 "churn@2 is a registered version and cannot change");
    expect_error(trl_frame_set(f, "id", c, &err), &err, TRL_EINVAL,
                 "churn@2");
    expect_error(trl_frame_drop(f, "id", &err), &err, TRL_EINVAL,
                 "churn@2 is a registered version");
    assert_int_equal(c->refcount, 1);
    assert_int_equal(f->ncols, 3);
    assert_ptr_not_equal(trl_frame_get(f, "id"), c);

    free(f->ref);
    f->ref = NULL;
    expect_error(trl_frame_drop(f, "nope", &err), &err, TRL_EINVAL,
                 "this frame is a registered version");

    /* reading a frozen frame makes new, unfrozen frames */
    trl_frame *h = trl_frame_head(f, 2, &err);
    assert_non_null(h);
    assert_int_equal(h->frozen, 0);
    trl_frame_decref(h);
    trl_column_decref(c);
    trl_frame_decref(f);
}

/* ---- selections -------------------------------------------------------------------------- */

static void test_select(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_frame *f = sample_frame(5);
    const char *names[] = {"s", "id"};
    trl_frame *g = trl_frame_select(f, names, 2, &err);
    assert_non_null(g);
    assert_int_equal(g->ncols, 2);
    assert_int_equal(g->nrows, 5);
    assert_string_equal(g->names[0], "s");
    assert_string_equal(g->names[1], "id");
    assert_ptr_equal(g->cols[0], trl_frame_get(f, "s"));
    assert_int_equal(g->frozen, 0);
    trl_frame_decref(g);

    const char *bad[] = {"id", "tenure"};
    trl_error_clear(&err);
    assert_null(trl_frame_select(f, bad, 2, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    assert_string_equal(err.message, "no column 'tenure'");
    assert_int_equal(trl_frame_get(f, "id")->refcount, 1);  /* no leak */

    g = trl_frame_select(f, NULL, 0, &err);
    assert_non_null(g);
    assert_int_equal(g->ncols, 0);
    assert_int_equal(g->nrows, 5);
    trl_frame_decref(g);
    assert_int_equal(f->ncols, 3);
    trl_frame_decref(f);
}

static void test_filter(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_frame *f = sample_frame(6);
    uint8_t mv[] = {1, 0, M, 1, 1, 0};
    trl_column *mask = bool_col(mv, 6);
    trl_frame *g = trl_frame_filter(f, mask, &err);
    assert_non_null(g);
    assert_int_equal(g->nrows, 3);
    trl_column *id = trl_frame_get(g, "id");
    assert_true(id->v.i64[0] == 0 && id->v.i64[1] == 3 &&
                id->v.i64[2] == 4);
    assert_true(isnan(trl_frame_get(g, "x")->v.f64[1]));  /* row 3 */
    assert_int_equal(trl_frame_get(g, "s")->v.codes[2], -1);  /* row 4 */
    expect_rows_of(g, f);
    trl_frame_decref(g);

    /* all false: no rows, same columns */
    uint8_t none[6] = {0};
    trl_column *m0 = bool_col(none, 6);
    g = trl_frame_filter(f, m0, &err);
    assert_non_null(g);
    assert_int_equal(g->nrows, 0);
    assert_int_equal(g->ncols, 3);
    trl_frame_decref(g);
    trl_column_decref(m0);

    /* a mask of another type or length */
    double xv[6] = {1, 1, 1, 1, 1, 1};
    trl_column *fm = f64_col(xv, 6);
    trl_error_clear(&err);
    assert_null(trl_frame_filter(f, fm, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    assert_string_equal(err.message, "filter needs a bool mask of 6 rows "
                        "(got f64, 6 rows)");
    trl_column *m3 = bool_col(mv, 3);
    trl_error_clear(&err);
    assert_null(trl_frame_filter(f, m3, &err));
    assert_non_null(strstr(err.message, "(got bool, 3 rows)"));
    trl_column_decref(m3);
    trl_column_decref(fm);

    assert_int_equal(f->nrows, 6);
    trl_column_decref(mask);
    trl_frame_decref(f);
}

static void test_head(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_frame *f = sample_frame(5);
    trl_frame *g = trl_frame_head(f, 2, &err);
    assert_int_equal(g->nrows, 2);
    assert_int_equal(g->ncols, 3);
    assert_true(trl_frame_get(g, "id")->v.i64[1] == 1);
    expect_rows_of(g, f);
    trl_frame_decref(g);

    g = trl_frame_head(f, 100, &err);  /* more than there are */
    assert_non_null(g);
    assert_int_equal(g->nrows, 5);
    expect_rows_of(g, f);
    trl_frame_decref(g);

    g = trl_frame_head(f, 0, &err);
    assert_int_equal(g->nrows, 0);
    assert_int_equal(g->ncols, 3);
    trl_frame_decref(g);
    trl_frame_decref(f);
}

static void test_sample(void **state)
{
    (void)state;
    trl_error err = {0};
    size_t n = 50;
    trl_frame *f = sample_frame(n);

    trl_frame *a = trl_frame_sample(f, 10, 42, &err);
    trl_frame *b = trl_frame_sample(f, 10, 42, &err);
    trl_frame *c = trl_frame_sample(f, 10, 43, &err);
    assert_true(a && b && c);
    assert_int_equal(a->nrows, 10);
    expect_rows_of(a, f);
    const int64_t *ia = trl_frame_get(a, "id")->v.i64;
    const int64_t *ib = trl_frame_get(b, "id")->v.i64;
    const int64_t *ic = trl_frame_get(c, "id")->v.i64;
    assert_memory_equal(ia, ib, 10 * sizeof *ia);  /* same seed, same rows */
    assert_memory_not_equal(ia, ic, 10 * sizeof *ia);
    trl_frame_decref(a);
    trl_frame_decref(b);
    trl_frame_decref(c);

    /* without replacement: all of them is a permutation, for any seed */
    for (uint64_t seed = 0; seed < 20; seed++) {
        trl_frame *p = trl_frame_sample(f, n, seed, &err);
        assert_non_null(p);
        uint8_t seen[50] = {0};
        const int64_t *id = trl_frame_get(p, "id")->v.i64;
        for (size_t i = 0; i < n; i++) {
            assert_false(seen[id[i]]);
            seen[id[i]] = 1;
        }
        trl_frame_decref(p);
    }

    trl_frame *z = trl_frame_sample(f, 0, 1, &err);
    assert_int_equal(z->nrows, 0);
    trl_frame_decref(z);

    trl_error_clear(&err);
    assert_null(trl_frame_sample(f, n + 1, 1, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    assert_string_equal(err.message, "sample of 51 rows from a frame of 50 "
                        "(sampling is without replacement)");
    trl_frame_decref(f);
}

/* Row ids of a part, checked ascending; marks them in seen. */
static void mark_part(const trl_frame *p, uint8_t *seen)
{
    const int64_t *id = trl_frame_get(p, "id")->v.i64;
    for (size_t i = 0; i < p->nrows; i++) {
        if (i)
            assert_true(id[i] > id[i - 1]);  /* original order kept */
        assert_false(seen[id[i]]);          /* disjoint */
        seen[id[i]] = 1;
    }
}

static void test_split(void **state)
{
    (void)state;
    trl_error err = {0};
    size_t n = 101;
    trl_frame *f = sample_frame(n);
    double fr[] = {0.8, 0.2};
    trl_frame *p[2], *q[2], *r[2];
    assert_int_equal(trl_frame_split(f, fr, 2, 7, p, &err), 0);
    assert_int_equal(p[0]->nrows, 81);  /* round(80.8) */
    assert_int_equal(p[1]->nrows, 20);  /* the rest */
    uint8_t seen[101] = {0};
    mark_part(p[0], seen);
    mark_part(p[1], seen);
    for (size_t i = 0; i < n; i++)
        assert_true(seen[i]);  /* covering */
    expect_rows_of(p[0], f);
    expect_rows_of(p[1], f);

    /* deterministic per seed */
    assert_int_equal(trl_frame_split(f, fr, 2, 7, q, &err), 0);
    assert_int_equal(trl_frame_split(f, fr, 2, 8, r, &err), 0);
    assert_int_equal(q[1]->nrows, 20);
    assert_memory_equal(trl_frame_get(p[1], "id")->v.i64,
                        trl_frame_get(q[1], "id")->v.i64, 20 * 8);
    assert_memory_not_equal(trl_frame_get(p[1], "id")->v.i64,
                            trl_frame_get(r[1], "id")->v.i64, 20 * 8);
    for (int i = 0; i < 2; i++) {
        trl_frame_decref(p[i]);
        trl_frame_decref(q[i]);
        trl_frame_decref(r[i]);
    }

    /* thirds of 10 rows: 3, 3 and the rest */
    double thirds[] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    trl_frame *t[3];
    trl_frame *ten = sample_frame(10);
    assert_int_equal(trl_frame_split(ten, thirds, 3, 1, t, &err), 0);
    assert_int_equal(t[0]->nrows + t[1]->nrows + t[2]->nrows, 10);
    assert_int_equal(t[2]->nrows, 4);
    uint8_t seen10[10] = {0};
    for (int i = 0; i < 3; i++) {
        mark_part(t[i], seen10);
        trl_frame_decref(t[i]);
    }

    /* fractions below 1 leave rows out */
    double part[] = {0.5, 0.3};
    assert_int_equal(trl_frame_split(ten, part, 2, 1, t, &err), 0);
    assert_int_equal(t[0]->nrows, 5);
    assert_int_equal(t[1]->nrows, 3);
    trl_frame_decref(t[0]);
    trl_frame_decref(t[1]);
    trl_frame_decref(ten);

    /* bad fractions */
    double over[] = {0.7, 0.4};
    expect_error(trl_frame_split(f, over, 2, 1, t, &err), &err, TRL_EINVAL,
                 "sum to at most 1 (got 1.1)");
    double neg[] = {1.2, -0.2};
    expect_error(trl_frame_split(f, neg, 2, 1, t, &err), &err, TRL_EINVAL,
                 ">= 0");
    double nan[] = {NAN, 0.5};
    expect_error(trl_frame_split(f, nan, 2, 1, t, &err), &err, TRL_EINVAL,
                 ">= 0");
    expect_error(trl_frame_split(f, fr, 0, 1, t, &err), &err, TRL_EINVAL,
                 "sum to at most 1");
    assert_int_equal(f->nrows, n);
    trl_frame_decref(f);
}

static void test_lineage(void **state)
{
    (void)state;
    trl_frame *f = sample_frame(3);
    assert_null(f->lineage);
    json_t *first = json_pack("{s:s}", "op", "read_csv");
    trl_frame_set_lineage(f, first);
    assert_ptr_equal(f->lineage, first);  /* stolen, not copied */
    json_t *second = json_pack("{s:s, s:[s]}", "op", "filter", "parents",
                               "churn@1");
    trl_frame_set_lineage(f, second);  /* the first is released */
    assert_ptr_equal(f->lineage, second);
    trl_frame *g = trl_frame_copy(f);
    assert_true(json_equal(g->lineage, second));
    trl_frame_set_lineage(f, NULL);
    assert_null(f->lineage);
    assert_non_null(g->lineage);  /* the copy has its own */
    trl_frame_decref(g);
    trl_frame_decref(f);
}

/* ---- interrupts ------------------------------------------------------------------------ */

static int always_interrupt(void)
{
    return 1;
}

/* A split whose second part is interrupted releases the first. */
static void test_interrupt(void **state)
{
    (void)state;
    trl_error err = {0};
    size_t n = TRL__POLL_ROWS + 100;
    trl_frame *f = trl_frame_new();
    put(f, "id", ids(n));
    trl_registry_set_interrupt(always_interrupt);
    trl_error_clear(&err);
    assert_null(trl_frame_head(f, n, &err));
    assert_int_equal(err.code, TRL_EINTR);
    double fr[] = {0.00001, 0.99999};
    trl_frame *out[2] = {NULL, NULL};
    assert_int_equal(trl_frame_split(f, fr, 2, 3, out, &err), TRL_EINTR);
    trl_registry_set_interrupt(NULL);
    trl_frame *g = trl_frame_head(f, n, &err);
    assert_non_null(g);
    trl_frame_decref(g);
    trl_frame_decref(f);
}

/* ---- references from two threads ---------------------------------------------- */

/* A Python thread drops its views of a column while the engine thread
 * shares it: counts taken and dropped by two threads at once must all
 * land (a plain ++ loses some on two cores). */
#define REF_ROUNDS 1000000

static void *churn_refs(void *arg)
{
    trl_frame *f = arg;
    for (int i = 0; i < REF_ROUNDS; i++) {
        trl_column_incref(f->cols[0]);
        trl_frame_incref(f);
        trl_strdict_incref(f->cols[0]->dict);
        trl_strdict_decref(f->cols[0]->dict);
        trl_frame_decref(f);
        trl_column_decref(f->cols[0]);
    }
    return NULL;
}

static void test_refs_across_threads(void **state)
{
    (void)state;
    trl_frame *f = trl_frame_new();
    trl_column *c = trl_column_new(TRL_STR, 4, NULL);
    assert_int_equal(trl_frame_set(f, "s", c, NULL), 0);
    trl_column_decref(c);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn_refs, f), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(f->refcount, 1);
    assert_int_equal(f->cols[0]->refcount, 1);
    assert_int_equal(f->cols[0]->dict->refcount, 1);
    trl_frame_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_drop),
        cmocka_unit_test(test_copy_shares_columns),
        cmocka_unit_test(test_frozen_frame),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_lineage),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_refs_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
