/* test_python_handles.c - py_handles.c: the references the kernel keeps
 * for Python. A handle names one reference of one kind; a released,
 * reused, made-up or wrong-kind handle names nothing; release from two
 * threads at once loses no count. No Python needed. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "engines/python/py_bridge_int.h"
#include "trellis/registry.h"

static void test_a_handle_names_its_reference(void **state)
{
    (void)state;
    trl_column *c = trl_column_new(TRL_F64, 4, NULL);
    trl_column_incref(c);  /* the handle's */
    unsigned long long h = trl__pyh_new(TRL__PYH_COLUMN, c);
    assert_true(h != 0);
    trl_column *got = trl__pyh_get(h, TRL__PYH_COLUMN);
    assert_ptr_equal(got, c);
    assert_int_equal(c->refcount, 3);  /* ours, the handle's, got */
    trl_column_decref(got);
    /* the wrong kind is nothing, not a cast */
    assert_null(trl__pyh_get(h, TRL__PYH_FRAME));
    assert_null(trl__pyh_get(h, TRL__PYH_MODEL));
    assert_int_equal(trl__pyh_release(h), 0);
    assert_int_equal(c->refcount, 1);
    /* twice, and after: nothing */
    assert_int_equal(trl__pyh_release(h), TRL_ENOTFOUND);
    assert_null(trl__pyh_get(h, TRL__PYH_COLUMN));
    trl_column_decref(c);
}

static void test_a_reused_slot_does_not_answer_the_old_handle(void **state)
{
    (void)state;
    trl_frame *a = trl_frame_new(), *b = trl_frame_new();
    unsigned long long ha = trl__pyh_new(TRL__PYH_FRAME, a);
    trl__pyh_release(ha);  /* frees a */
    unsigned long long hb = trl__pyh_new(TRL__PYH_FRAME, b);
    assert_true((hb & 0xffffffffu) == (ha & 0xffffffffu));  /* same slot */
    assert_true(hb != ha);
    assert_null(trl__pyh_get(ha, TRL__PYH_FRAME));
    trl_frame *got = trl__pyh_get(hb, TRL__PYH_FRAME);
    assert_ptr_equal(got, b);
    trl_frame_decref(got);
    assert_int_equal(trl__pyh_release(ha), TRL_ENOTFOUND);  /* b stays */
    assert_int_equal(b->refcount, 1);
    trl__pyh_release(hb);
}

static void test_made_up_handles_name_nothing(void **state)
{
    (void)state;
    static const unsigned long long made_up[] = {
        0, 1, 0xffffffffull, 0xffffffffffffffffull, 12345, 1ull << 32};
    for (size_t i = 0; i < sizeof made_up / sizeof *made_up; i++) {
        assert_null(trl__pyh_get(made_up[i], TRL__PYH_FRAME));
        assert_int_equal(trl__pyh_release(made_up[i]), TRL_ENOTFOUND);
    }
}

/* A user's thread drops views while the cell's thread makes new ones. */
#define ROUNDS 200000

static void *churn(void *arg)
{
    trl_column *c = arg;
    for (int i = 0; i < ROUNDS; i++) {
        trl_column_incref(c);
        unsigned long long h = trl__pyh_new(TRL__PYH_COLUMN, c);
        trl_column *got = trl__pyh_get(h, TRL__PYH_COLUMN);
        trl_column_decref(got);
        trl__pyh_release(h);
    }
    return NULL;
}

static void test_two_threads_lose_no_count(void **state)
{
    (void)state;
    trl_column *c = trl_column_new(TRL_I64, 8, NULL);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, c), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(c->refcount, 1);
    trl_column_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_handle_names_its_reference),
        cmocka_unit_test(test_a_reused_slot_does_not_answer_the_old_handle),
        cmocka_unit_test(test_made_up_handles_name_nothing),
        cmocka_unit_test(test_two_threads_lose_no_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
