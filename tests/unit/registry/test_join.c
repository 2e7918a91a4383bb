/* test_join.c - joining frames: inner and left, one-to-many, missing keys,
 * numbers of mixed types, strings across dictionaries, name clashes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "trellis/registry.h"

static trl_column *i64s(const int64_t *v, size_t n, const int *missing)
{
    trl_column *c = trl_column_new(TRL_I64, n, NULL);
    memcpy(c->v.i64, v, n * sizeof *v);
    if (missing) {
        c->valid = malloc(n);
        for (size_t i = 0; i < n; i++)
            c->valid[i] = !missing[i];
    }
    return c;
}

static trl_column *strs(const char **v, size_t n)
{
    trl_column *c = trl_column_new(TRL_STR, n, NULL);
    for (size_t i = 0; i < n; i++)
        c->v.codes[i] = v[i] ? trl_strdict_intern(c->dict, v[i],
                                                  strlen(v[i]))
                             : -1;
    return c;
}

static void put(trl_frame *f, const char *name, trl_column *c)
{
    trl_frame_set(f, name, c, NULL);
    trl_column_decref(c);
}

/* left: id 1 2 3 <missing> 2, v a b c d e; right: id 2 2 4 1, w 20 21 40 10 */
static void frames(trl_frame **l, trl_frame **r)
{
    *l = trl_frame_new();
    const int64_t lid[] = {1, 2, 3, 0, 2};
    const int lmiss[] = {0, 0, 0, 1, 0};
    put(*l, "id", i64s(lid, 5, lmiss));
    const char *lv[] = {"a", "b", "c", "d", "e"};
    put(*l, "v", strs(lv, 5));
    *r = trl_frame_new();
    const int64_t rid[] = {2, 2, 4, 1};
    put(*r, "id", i64s(rid, 4, NULL));
    const int64_t w[] = {20, 21, 40, 10};
    put(*r, "w", i64s(w, 4, NULL));
    const char *rv[] = {"x", "y", "z", "q"};
    put(*r, "v", strs(rv, 4));
}

static void test_inner_join_one_to_many_in_left_then_right_order(void **s)
{
    (void)s;
    trl_frame *l, *r;
    frames(&l, &r);
    trl_error err = {0};
    trl_frame *j = trl_frame_join(l, r, "id", TRL_JOIN_INNER, &err);
    assert_non_null(j);
    /* 1->10; 2->20,21; 2(e)->20,21 */
    assert_int_equal(j->nrows, 5);
    const int64_t ids[] = {1, 2, 2, 2, 2}, ws[] = {10, 20, 21, 20, 21};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(trl_frame_get(j, "id")->v.i64[i], ids[i]);
        assert_int_equal(trl_frame_get(j, "w")->v.i64[i], ws[i]);
    }
    /* the clashing right column is renamed */
    trl_column *vr = trl_frame_get(j, "v_right");
    assert_non_null(vr);
    assert_string_equal(vr->dict->strs[vr->v.codes[0]], "q");
    assert_int_equal(j->ncols, 4);
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

static void test_left_join_keeps_unmatched_rows_with_missing_values(void **s)
{
    (void)s;
    trl_frame *l, *r;
    frames(&l, &r);
    trl_error err = {0};
    trl_frame *j = trl_frame_join(l, r, "id", TRL_JOIN_LEFT, &err);
    assert_non_null(j);
    assert_int_equal(j->nrows, 7);  /* + c (3) and d (missing key) */
    trl_column *w = trl_frame_get(j, "w"), *vr = trl_frame_get(j, "v_right");
    /* row order: a-10, b-20, b-21, c-none, d-none, e-20, e-21 */
    assert_true(trl_column_is_missing(w, 3));
    assert_true(trl_column_is_missing(w, 4));
    assert_true(trl_column_is_missing(vr, 3));
    assert_false(trl_column_is_missing(w, 5));
    assert_int_equal(w->v.i64[6], 21);
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

static void test_keys_match_across_types_and_dictionaries(void **s)
{
    (void)s;
    trl_frame *l = trl_frame_new(), *r = trl_frame_new();
    trl_column *lf = trl_column_new(TRL_F64, 2, NULL);
    lf->v.f64[0] = 1.0;
    lf->v.f64[1] = 2.5;
    put(l, "k", lf);
    const int64_t rk[] = {1, 2};
    put(r, "k", i64s(rk, 2, NULL));
    trl_error err = {0};
    trl_frame *j = trl_frame_join(l, r, "k", TRL_JOIN_INNER, &err);
    assert_non_null(j);
    assert_int_equal(j->nrows, 1);
    trl_frame_decref(j);
    trl_frame_decref(l);
    trl_frame_decref(r);
    /* strings: separately built dictionaries, same text */
    l = trl_frame_new();
    r = trl_frame_new();
    const char *a[] = {"pro", "basic", "team"}, *b[] = {"team", "pro"};
    put(l, "plan", strs(a, 3));
    put(r, "plan", strs(b, 2));
    j = trl_frame_join(l, r, "plan", TRL_JOIN_INNER, &err);
    assert_non_null(j);
    assert_int_equal(j->nrows, 2);
    trl_frame_decref(j);
    /* number against string: an error */
    trl_frame *n = trl_frame_new();
    put(n, "plan", i64s(rk, 2, NULL));
    assert_null(trl_frame_join(l, n, "plan", TRL_JOIN_INNER, &err));
    assert_int_equal(err.code, TRL_EINVAL);
    assert_null(trl_frame_join(l, n, "nope", TRL_JOIN_INNER, &err));
    assert_int_equal(err.code, TRL_ENOTFOUND);
    trl_frame_decref(n);
    trl_frame_decref(l);
    trl_frame_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inner_join_one_to_many_in_left_then_right_order),
        cmocka_unit_test(test_left_join_keeps_unmatched_rows_with_missing_values),
        cmocka_unit_test(test_keys_match_across_types_and_dictionaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
