/* test_join.c - join.c: inner and left joins, one-to-many and many-to-many,
 * output row order, missing keys, numbers of mixed types, strings across
 * dictionaries, name clashes, errors, a large join against a reference,
 * interrupts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trellis/registry.h"

#define M TRL_BOOL_MISSING

/* ---- building frames ------------------------------------------------------- */

static trl_column *f64s(const double *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_F64, n, NULL);
    if (n)
        memcpy(c->v.f64, v, n * sizeof *v);
    return c;
}

/* missing: NULL, or 1 per missing row */
static trl_column *i64s(const int64_t *v, size_t n, const int *missing)
{
    trl_column *c = trl_column_new(TRL_I64, n, NULL);
    if (n)
        memcpy(c->v.i64, v, n * sizeof *v);
    if (missing) {
        c->valid = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            c->valid[i] = !missing[i];
    }
    return c;
}

static trl_column *bools(const uint8_t *v, size_t n)
{
    trl_column *c = trl_column_new(TRL_BOOL, n, NULL);
    if (n)
        memcpy(c->v.b, v, n);
    return c;
}

/* NULL entries are missing; dict NULL makes a new dictionary. */
static trl_column *strs_in(const char *const *v, size_t n, trl_strdict *dict)
{
    trl_column *c = trl_column_new(TRL_STR, n, dict);
    for (size_t i = 0; i < n; i++)
        c->v.codes[i] = v[i] ? trl_strdict_intern(c->dict, v[i], strlen(v[i]))
                             : -1;
    return c;
}

static trl_column *strs(const char *const *v, size_t n)
{
    return strs_in(v, n, NULL);
}

static void put(trl_frame *f, const char *name, trl_column *c)
{
    assert_int_equal(trl_frame_set(f, name, c, NULL), 0);
    trl_column_decref(c);
}

static const char *str_at(const trl_column *c, size_t i)
{
    assert_int_equal(c->type, TRL_STR);
    return c->v.codes[i] < 0 ? NULL : c->dict->strs[c->v.codes[i]];
}

static const trl_column *col(const trl_frame *f, const char *name)
{
    const trl_column *c = trl_frame_get(f, name);
    if (!c)
        fail_msg("no column '%s'", name);
    return c;
}

static trl_frame *join(const trl_frame *l, const trl_frame *r,
                       const char *key, trl_join_kind kind)
{
    trl_error err = {0};
    trl_frame *j = trl_frame_join(l, r, key, kind, &err);
    if (!j)
        fail_msg("join failed: %s", err.message);
    return j;
}

/* left: id 1 2 3 <missing> 2, v a b c d e
 * right: id 2 2 4 1 <missing>, w 20 21 40 10 99, v x y z q m */
static void frames(trl_frame **l, trl_frame **r)
{
    *l = trl_frame_new();
    const int64_t lid[] = {1, 2, 3, 0, 2};
    const int lmiss[] = {0, 0, 0, 1, 0};
    put(*l, "id", i64s(lid, 5, lmiss));
    const char *const lv[] = {"a", "b", "c", "d", "e"};
    put(*l, "v", strs(lv, 5));
    *r = trl_frame_new();
    const int64_t rid[] = {2, 2, 4, 1, 0};
    const int rmiss[] = {0, 0, 0, 0, 1};
    put(*r, "id", i64s(rid, 5, rmiss));
    const int64_t w[] = {20, 21, 40, 10, 99};
    put(*r, "w", i64s(w, 5, NULL));
    const char *const rv[] = {"x", "y", "z", "q", "m"};
    put(*r, "v", strs(rv, 5));
}

/* ---- kinds and order ---------------------------------------------------------- */

static void test_inner_join_one_to_many_in_left_then_right_order(void **s)
{
    (void)s;
    trl_frame *l, *r;
    frames(&l, &r);
    trl_frame *j = join(l, r, "id", TRL_JOIN_INNER);
    /* a-q(10); b-x(20), b-y(21); e-x(20), e-y(21); c, d unmatched */
    assert_int_equal(j->nrows, 5);
    assert_int_equal(j->ncols, 4);
    const char *names[] = {"id", "v", "w", "v_right"};
    for (size_t c = 0; c < 4; c++)
        assert_string_equal(j->names[c], names[c]);
    const int64_t ids[] = {1, 2, 2, 2, 2}, ws[] = {10, 20, 21, 20, 21};
    const char *lv[] = {"a", "b", "b", "e", "e"};
    const char *rv[] = {"q", "x", "y", "x", "y"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(col(j, "id")->v.i64[i], ids[i]);
        assert_int_equal(col(j, "w")->v.i64[i], ws[i]);
        assert_string_equal(str_at(col(j, "v"), i), lv[i]);
        assert_string_equal(str_at(col(j, "v_right"), i), rv[i]);
    }
    assert_null(col(j, "w")->valid);  /* inner: nothing missing */
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

static void test_left_join_keeps_unmatched_rows_with_missing_values(void **s)
{
    (void)s;
    trl_frame *l, *r;
    frames(&l, &r);
    trl_frame *j = join(l, r, "id", TRL_JOIN_LEFT);
    /* a-10, b-20, b-21, c-none, d(missing key)-none, e-20, e-21 */
    assert_int_equal(j->nrows, 7);
    const trl_column *w = col(j, "w"), *vr = col(j, "v_right");
    const trl_column *id = col(j, "id"), *v = col(j, "v");
    const int none[] = {0, 0, 0, 1, 1, 0, 0};
    const int64_t ws[] = {10, 20, 21, 0, 0, 20, 21};
    const char *lv[] = {"a", "b", "b", "c", "d", "e", "e"};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(trl_column_is_missing(w, i), none[i]);
        assert_int_equal(trl_column_is_missing(vr, i), none[i]);
        if (!none[i])
            assert_int_equal(w->v.i64[i], ws[i]);
        assert_string_equal(str_at(v, i), lv[i]);
    }
    /* the key comes from the left: present except d's */
    assert_int_equal(id->v.i64[3], 3);
    assert_true(trl_column_is_missing(id, 4));
    assert_non_null(w->valid);
    assert_int_equal(vr->v.codes[3], -1);
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

static void test_many_to_many_gives_every_pair(void **s)
{
    (void)s;
    trl_frame *l = trl_frame_new(), *r = trl_frame_new();
    const int64_t lk[] = {7, 8, 7}, la[] = {0, 1, 2};
    const int64_t rk[] = {7, 9, 7, 7}, rb[] = {10, 11, 12, 13};
    put(l, "k", i64s(lk, 3, NULL));
    put(l, "a", i64s(la, 3, NULL));
    put(r, "k", i64s(rk, 4, NULL));
    put(r, "b", i64s(rb, 4, NULL));
    trl_frame *j = join(l, r, "k", TRL_JOIN_INNER);
    assert_int_equal(j->nrows, 6);
    const int64_t a[] = {0, 0, 0, 2, 2, 2}, b[] = {10, 12, 13, 10, 12, 13};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(col(j, "a")->v.i64[i], a[i]);
        assert_int_equal(col(j, "b")->v.i64[i], b[i]);
    }
    trl_frame_decref(j);
    j = join(l, r, "k", TRL_JOIN_LEFT);
    assert_int_equal(j->nrows, 7);  /* + 8, unmatched, in its place */
    assert_int_equal(col(j, "a")->v.i64[3], 1);
    assert_true(trl_column_is_missing(col(j, "b"), 3));
    assert_int_equal(col(j, "a")->v.i64[4], 2);
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

static void test_missing_values_by_type_in_left_joins(void **s)
{
    (void)s;
    trl_frame *l = trl_frame_new(), *r = trl_frame_new();
    const int64_t lk[] = {1, 2};
    put(l, "k", i64s(lk, 2, NULL));
    const int64_t rk[] = {1}, ri[] = {5};
    const double rf[] = {2.5};
    const uint8_t rb[] = {1};
    const char *const rs[] = {"s"};
    put(r, "k", i64s(rk, 1, NULL));
    put(r, "f", f64s(rf, 1));
    put(r, "i", i64s(ri, 1, NULL));
    put(r, "b", bools(rb, 1));
    put(r, "s", strs(rs, 1));
    trl_frame *j = join(l, r, "k", TRL_JOIN_LEFT);
    assert_int_equal(j->nrows, 2);
    assert_true(col(j, "f")->v.f64[0] == 2.5);
    assert_true(isnan(col(j, "f")->v.f64[1]));
    assert_int_equal(col(j, "i")->v.i64[0], 5);
    assert_int_equal(col(j, "i")->valid[0], 1);
    assert_int_equal(col(j, "i")->valid[1], 0);
    assert_int_equal(col(j, "b")->v.b[0], 1);
    assert_int_equal(col(j, "b")->v.b[1], M);
    assert_string_equal(str_at(col(j, "s"), 0), "s");
    assert_int_equal(col(j, "s")->v.codes[1], -1);
    /* types and dictionaries carry over */
    assert_int_equal(col(j, "f")->type, TRL_F64);
    assert_int_equal(col(j, "i")->type, TRL_I64);
    assert_int_equal(col(j, "b")->type, TRL_BOOL);
    assert_ptr_equal(col(j, "s")->dict, col(r, "s")->dict);
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

static void test_missing_validity_of_right_values_is_kept(void **s)
{
    (void)s;
    trl_frame *l = trl_frame_new(), *r = trl_frame_new();
    const int64_t k[] = {1, 2};
    put(l, "k", i64s(k, 2, NULL));
    put(r, "k", i64s(k, 2, NULL));
    const int64_t v[] = {10, 20};
    const int miss[] = {1, 0};
    put(r, "v", i64s(v, 2, miss));
    trl_frame *j = join(l, r, "k", TRL_JOIN_INNER);
    assert_true(trl_column_is_missing(col(j, "v"), 0));
    assert_false(trl_column_is_missing(col(j, "v"), 1));
    assert_int_equal(col(j, "v")->v.i64[1], 20);
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

static void test_an_empty_right_frame(void **s)
{
    (void)s;
    trl_frame *l, *r0;
    frames(&l, &r0);
    trl_frame *r = trl_frame_new();
    put(r, "id", i64s(NULL, 0, NULL));
    put(r, "w", f64s(NULL, 0));
    trl_frame *j = join(l, r, "id", TRL_JOIN_INNER);
    assert_int_equal(j->nrows, 0);
    assert_int_equal(j->ncols, 3);
    trl_frame_decref(j);
    j = join(l, r, "id", TRL_JOIN_LEFT);
    assert_int_equal(j->nrows, 5);
    for (size_t i = 0; i < 5; i++)
        assert_true(isnan(col(j, "w")->v.f64[i]));
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r0);
    trl_frame_decref(r);
}

/* ---- keys ------------------------------------------------------------------- */

static void test_numbers_match_across_types(void **s)
{
    (void)s;
    trl_frame *l = trl_frame_new(), *r = trl_frame_new();
    /* f64 left: 1.0, 2.5, -0.0, NaN, 1.0 */
    const double lk[] = {1.0, 2.5, -0.0, NAN, 1.0};
    put(l, "k", f64s(lk, 5));
    const int64_t rk[] = {1, 2, 0, 0};
    const int rmiss[] = {0, 0, 0, 1};
    put(r, "k", i64s(rk, 4, rmiss));
    const int64_t tag[] = {100, 200, 300, 400};
    put(r, "tag", i64s(tag, 4, NULL));
    trl_frame *j = join(l, r, "k", TRL_JOIN_INNER);
    /* 1.0-1, -0.0-0, 1.0-1; NaN never matches the missing right key */
    assert_int_equal(j->nrows, 3);
    const int64_t want[] = {100, 300, 100};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(col(j, "tag")->v.i64[i], want[i]);
    assert_int_equal(col(j, "k")->type, TRL_F64);
    trl_frame_decref(j);
    trl_frame_decref(r);
    /* bool against i64: true is 1, false is 0 */
    r = trl_frame_new();
    const uint8_t rb[] = {1, M, 0};
    put(r, "k", bools(rb, 3));
    put(r, "tag", i64s(tag, 3, NULL));
    trl_frame *l2 = trl_frame_new();
    const int64_t lk2[] = {0, 1, 2};
    put(l2, "k", i64s(lk2, 3, NULL));
    j = join(l2, r, "k", TRL_JOIN_INNER);
    assert_int_equal(j->nrows, 2);
    assert_int_equal(col(j, "tag")->v.i64[0], 300);
    assert_int_equal(col(j, "tag")->v.i64[1], 100);
    trl_frame_decref(j);
    trl_frame_decref(l2);
    trl_frame_decref(r);
    trl_frame_decref(l);
}

static void test_i64_keys_compare_exactly_past_2_53(void **s)
{
    (void)s;
    trl_frame *l = trl_frame_new(), *r = trl_frame_new();
    const int64_t big = (int64_t)1 << 53;
    const int64_t lk[] = {big, big + 1, INT64_MIN};
    const int64_t rk[] = {big + 1, INT64_MIN, big + 2};
    put(l, "k", i64s(lk, 3, NULL));
    put(r, "k", i64s(rk, 3, NULL));
    const int64_t tag[] = {1, 2, 3};
    put(r, "tag", i64s(tag, 3, NULL));
    trl_frame *j = join(l, r, "k", TRL_JOIN_LEFT);
    assert_int_equal(j->nrows, 3);
    assert_true(trl_column_is_missing(col(j, "tag"), 0));  /* 2^53 alone */
    assert_int_equal(col(j, "tag")->v.i64[1], 1);
    assert_int_equal(col(j, "tag")->v.i64[2], 2);
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

static void test_strings_match_by_content_across_dictionaries(void **s)
{
    (void)s;
    trl_frame *l = trl_frame_new(), *r = trl_frame_new();
    /* built separately: the codes differ for the same text */
    const char *const a[] = {"pro", "basic", NULL, "team", "pro", "é"};
    const char *const b[] = {"team", "pro", "enterprise", NULL, "é"};
    put(l, "plan", strs(a, 6));
    put(r, "plan", strs(b, 5));
    const int64_t price[] = {30, 10, 99, -1, 7};
    put(r, "price", i64s(price, 5, NULL));
    trl_frame *j = join(l, r, "plan", TRL_JOIN_LEFT);
    assert_int_equal(j->nrows, 6);
    const int64_t want[] = {10, -5, -5, 30, 10, 7};  /* -5: missing */
    for (size_t i = 0; i < 6; i++) {
        if (want[i] == -5)
            assert_true(trl_column_is_missing(col(j, "price"), i));
        else
            assert_int_equal(col(j, "price")->v.i64[i], want[i]);
    }
    assert_ptr_equal(col(j, "plan")->dict, col(l, "plan")->dict);
    trl_frame_decref(j);
    trl_frame_decref(r);
    /* one shared dictionary: codes compare directly */
    r = trl_frame_new();
    const char *const c[] = {"basic", "nope"};
    put(r, "plan", strs_in(c, 2, col(l, "plan")->dict));
    put(r, "x", i64s(price, 2, NULL));
    j = join(l, r, "plan", TRL_JOIN_INNER);
    assert_int_equal(j->nrows, 1);
    assert_string_equal(str_at(col(j, "plan"), 0), "basic");
    assert_int_equal(col(j, "x")->v.i64[0], 30);
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

/* ---- names and errors --------------------------------------------------------- */

static void test_clashing_names_get_right_suffixes(void **s)
{
    (void)s;
    trl_frame *l = trl_frame_new(), *r = trl_frame_new();
    const int64_t k[] = {1};
    put(l, "k", i64s(k, 1, NULL));
    put(l, "v", i64s(k, 1, NULL));
    put(l, "v_right", i64s(k, 1, NULL));
    put(r, "v", i64s(k, 1, NULL));
    put(r, "k", i64s(k, 1, NULL));
    put(r, "w", i64s(k, 1, NULL));
    put(r, "v_right", i64s(k, 1, NULL));
    trl_frame *j = join(l, r, "k", TRL_JOIN_INNER);
    /* right's v: v and v_right taken, so v_right2; right's v_right:
     * v_right_right */
    const char *names[] = {"k", "v", "v_right", "v_right2", "w",
                           "v_right_right"};
    assert_int_equal(j->ncols, 6);
    for (size_t c = 0; c < 6; c++)
        assert_string_equal(j->names[c], names[c]);
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
    /* a name longer than any fixed buffer */
    char longname[1500];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    l = trl_frame_new();
    r = trl_frame_new();
    put(l, "k", i64s(k, 1, NULL));
    put(l, longname, i64s(k, 1, NULL));
    put(r, "k", i64s(k, 1, NULL));
    put(r, longname, i64s(k, 1, NULL));
    j = join(l, r, "k", TRL_JOIN_INNER);
    assert_int_equal(strlen(j->names[2]), strlen(longname) + 6);
    assert_string_equal(j->names[2] + strlen(longname), "_right");
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

static void test_errors_name_the_problem(void **s)
{
    (void)s;
    trl_frame *l, *r;
    frames(&l, &r);
    trl_error err = {0};
    assert_null(trl_frame_join(l, r, "nope", TRL_JOIN_INNER, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "'nope'"));
    assert_non_null(strstr(err.message, "left"));
    trl_frame *r2 = trl_frame_new();
    put(r2, "v", f64s((const double[]){1.0}, 1));
    assert_null(trl_frame_join(l, r2, "id", TRL_JOIN_INNER, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    assert_non_null(strstr(err.message, "right"));
    /* str against a number */
    assert_null(trl_frame_join(l, r2, "v", TRL_JOIN_LEFT, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    assert_non_null(strstr(err.message, "str"));
    assert_non_null(strstr(err.message, "f64"));
    assert_null(trl_frame_join(l, r, "id", (trl_join_kind)9, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    trl_frame_decref(r2);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

static void test_inputs_are_not_changed(void **s)
{
    (void)s;
    trl_frame *l, *r;
    frames(&l, &r);
    trl_frame *j = join(l, r, "id", TRL_JOIN_LEFT);
    trl_frame_decref(j);
    assert_int_equal(l->ncols, 2);
    assert_int_equal(r->ncols, 3);
    for (size_t c = 0; c < l->ncols; c++)
        assert_int_equal(l->cols[c]->refcount, 1);
    for (size_t c = 0; c < r->ncols; c++)
        assert_int_equal(r->cols[c]->refcount, 1);
    assert_int_equal(col(l, "v")->dict->n, 5);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

/* ---- scale ------------------------------------------------------------------ */

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s;
}

/* 200k left rows x 50k right rows with duplicate keys on both sides,
 * against counts computed directly. */
static void test_large_join_matches_a_reference(void **s)
{
    (void)s;
    size_t nl = 200000, nr = 50000, keys = 40000;
    trl_frame *l = trl_frame_new(), *r = trl_frame_new();
    trl_column *lk = trl_column_new(TRL_I64, nl, NULL);
    trl_column *li = trl_column_new(TRL_I64, nl, NULL);
    trl_column *rk = trl_column_new(TRL_F64, nr, NULL);
    trl_column *rj = trl_column_new(TRL_I64, nr, NULL);
    size_t *per_key = calloc(keys + 1, sizeof *per_key);
    uint64_t st = 11;
    for (size_t i = 0; i < nl; i++) {
        lk->v.i64[i] = (int64_t)((lcg(&st) >> 33) % (keys + 5000));
        li->v.i64[i] = (int64_t)i;
    }
    for (size_t j = 0; j < nr; j++) {
        size_t k = (size_t)((lcg(&st) >> 33) % keys);
        rk->v.f64[j] = (double)k;  /* f64 keys against i64: as numbers */
        rj->v.i64[j] = (int64_t)j;
        per_key[k]++;
    }
    size_t want_inner = 0, want_left = 0;
    for (size_t i = 0; i < nl; i++) {
        size_t k = (size_t)lk->v.i64[i];
        size_t m = k < keys ? per_key[k] : 0;
        want_inner += m;
        want_left += m ? m : 1;
    }
    put(l, "k", lk);
    put(l, "i", li);
    put(r, "k", rk);
    put(r, "j", rj);
    trl_frame *inner = join(l, r, "k", TRL_JOIN_INNER);
    trl_frame *left = join(l, r, "k", TRL_JOIN_LEFT);
    assert_int_equal(inner->nrows, want_inner);
    assert_int_equal(left->nrows, want_left);
    /* each row pairs equal keys; left rows ascend, right rows ascend
     * within one left row */
    const trl_column *ci = col(inner, "i"), *cj = col(inner, "j");
    for (size_t o = 0; o < inner->nrows; o++) {
        size_t i = (size_t)ci->v.i64[o], j = (size_t)cj->v.i64[o];
        assert_true((double)col(l, "k")->v.i64[i] == col(r, "k")->v.f64[j]);
        if (o) {
            size_t pi = (size_t)ci->v.i64[o - 1];
            assert_true(pi < i || (pi == i && (size_t)cj->v.i64[o - 1] < j));
        }
    }
    /* left: every left row, in order */
    const trl_column *lli = col(left, "i");
    size_t next = 0;
    for (size_t o = 0; o < left->nrows; o++) {
        size_t i = (size_t)lli->v.i64[o];
        assert_true(i == next || i + 1 == next);
        next = i + 1;
    }
    assert_int_equal(next, nl);
    trl_frame_decref(inner);
    trl_frame_decref(left);
    trl_frame_decref(l);
    trl_frame_decref(r);
    free(per_key);
}

/* A left join on unique right keys gives each left row once: the left
 * columns are shared, not copied. */
static void test_lookup_join_shares_left_columns(void **s)
{
    (void)s;
    trl_frame *l = trl_frame_new(), *r = trl_frame_new();
    const int64_t lk[] = {3, 1, 2, 3}, rk[] = {1, 2, 3};
    const double w[] = {0.1, 0.2, 0.3};
    put(l, "k", i64s(lk, 4, NULL));
    put(r, "k", i64s(rk, 3, NULL));
    put(r, "w", f64s(w, 3));
    trl_frame *j = join(l, r, "k", TRL_JOIN_LEFT);
    assert_ptr_equal(col(j, "k"), col(l, "k"));
    const double want[] = {0.3, 0.1, 0.2, 0.3};
    for (size_t i = 0; i < 4; i++)
        assert_true(col(j, "w")->v.f64[i] == want[i]);
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

/* ---- interrupts ----------------------------------------------------------------- */

static int polls, stop_at_poll;

static int counting_poll(void)
{
    return ++polls == stop_at_poll;
}

/* Runs join(l, r) once to count its polls, then stops it at each poll in
 * turn: every stop is TRL_EINTR, and frees what it took (sanitizers and
 * valgrind check). Returns the number of polls. */
static int stop_at_each_poll(const trl_frame *l, const trl_frame *r,
                             trl_join_kind kind)
{
    polls = stop_at_poll = 0;
    trl_registry_set_interrupt(counting_poll);
    trl_frame *j = join(l, r, "k", kind);
    trl_frame_decref(j);
    int total = polls;
    for (stop_at_poll = 1; stop_at_poll <= total; stop_at_poll++) {
        trl_error err = {0};
        polls = 0;
        assert_null(trl_frame_join(l, r, "k", kind, &err));
        assert_int_equal(err.code, TRL_EINTR);
        assert_string_equal(err.message, "interrupted");
    }
    trl_registry_set_interrupt(NULL);
    return total;
}

/* n rows of string keys "k0".."k63" in their own dictionary, code
 * (i * step) % 64 at row i; plus an f64 column v. */
static trl_frame *keyed(size_t n, size_t step)
{
    trl_frame *f = trl_frame_new();
    trl_column *k = trl_column_new(TRL_STR, n, NULL);
    trl_column *v = trl_column_new(TRL_F64, n, NULL);
    char buf[16];
    for (int c = 0; c < 64; c++) {
        int len = snprintf(buf, sizeof buf, "k%d", c);
        trl_strdict_intern(k->dict, buf, (size_t)len);
    }
    for (size_t i = 0; i < n; i++) {
        k->v.codes[i] = (int32_t)((i * step) % 64);
        v->v.f64[i] = (double)i;
    }
    put(f, "k", k);
    put(f, "v", v);
    return f;
}

static void test_interrupt_stops_every_pass(void **s)
{
    (void)s;
    /* 2M left rows against 65 right rows, key k0 twice: probe, pairs and
     * both gathers each pass two poll boundaries */
    trl_frame *l = keyed(((size_t)1 << 21) + 3, 1);
    trl_frame *r = keyed(65, 1);
    assert_true(stop_at_each_poll(l, r, TRL_JOIN_LEFT) >= 8);
    trl_frame_decref(l);
    trl_frame_decref(r);
    /* a right frame of 1M rows: the build polls */
    l = keyed(2, 5);
    r = keyed(((size_t)1 << 20) + 7, 7);
    assert_true(stop_at_each_poll(l, r, TRL_JOIN_INNER) >= 1);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inner_join_one_to_many_in_left_then_right_order),
        cmocka_unit_test(test_left_join_keeps_unmatched_rows_with_missing_values),
        cmocka_unit_test(test_many_to_many_gives_every_pair),
        cmocka_unit_test(test_missing_values_by_type_in_left_joins),
        cmocka_unit_test(test_missing_validity_of_right_values_is_kept),
        cmocka_unit_test(test_an_empty_right_frame),
        cmocka_unit_test(test_numbers_match_across_types),
        cmocka_unit_test(test_i64_keys_compare_exactly_past_2_53),
        cmocka_unit_test(test_strings_match_by_content_across_dictionaries),
        cmocka_unit_test(test_clashing_names_get_right_suffixes),
        cmocka_unit_test(test_errors_name_the_problem),
        cmocka_unit_test(test_inputs_are_not_changed),
        cmocka_unit_test(test_large_join_matches_a_reference),
        cmocka_unit_test(test_lookup_join_shares_left_columns),
        cmocka_unit_test(test_interrupt_stops_every_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
