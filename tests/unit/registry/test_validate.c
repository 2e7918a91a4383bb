/* test_validate.c - validate_infer.c, validate_spec.c, validate_check.c:
 * the inference rules of guard.h on a small frame, a frame passing its
 * own expectations, each kind of check failing with what was observed
 * and expected, and hand-edited expectations with a typo refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "trellis/guard.h"

static trl_frame *csv(const char *text)
{
    trl_error err = {0};
    trl_frame *f = trl_csv_parse(text, strlen(text), "test", NULL, &err);
    if (!f)
        fail_msg("%s", err.message);
    return f;
}

/* 40 customers: user_id unique, age 18..57 with two missing, plan of
 * three categories, spend >= 0, a flag. */
static trl_frame *customers(int rows, int age_shift, const char *extra)
{
    char *text = malloc((size_t)rows * 80 + 200);
    size_t n = (size_t)sprintf(text, "user_id,age,plan,spend,active%s\n",
                               extra ? extra : "");
    static const char *const plans[] = {"basic", "pro", "team"};
    for (int i = 0; i < rows; i++) {
        char age[16] = "";
        if (i % 20 != 7)
            snprintf(age, sizeof age, "%d", 18 + i + age_shift);
        n += (size_t)sprintf(text + n, "%d,%s,%s,%.2f,%s%s\n", 1000 + i, age,
                             plans[i % 3], (double)(i % 10) * 10.5,
                             i % 2 ? "true" : "false", extra ? ",1" : "");
    }
    trl_frame *f = csv(text);
    free(text);
    return f;
}

static json_t *col(json_t *spec, const char *name)
{
    return json_object_get(json_object_get(spec, "columns"), name);
}

static void test_infer_rules(void **state)
{
    (void)state;
    trl_frame *f = customers(40, 0, NULL);
    trl_error err = {0};
    json_t *spec = trl_validate_infer(f, &err);
    if (!spec)
        fail_msg("%s", err.message);
    assert_int_equal(trl_validate_spec_check(spec, &err), 0);
    assert_true(json_is_false(json_object_get(spec, "allow_extra_columns")));
    assert_int_equal(json_integer_value(json_object_get(spec, "min_rows")),
                     1);
    /* an id: all present and distinct in 40 rows */
    json_t *id = col(spec, "user_id");
    assert_string_equal(json_string_value(json_object_get(id, "type")),
                        "i64");
    assert_true(json_is_true(json_object_get(id, "unique")));
    assert_true(json_number_value(json_object_get(id, "max_missing")) == 0);
    /* ...and no range: next month's ids are new ones */
    assert_null(json_object_get(id, "min"));
    assert_null(json_object_get(id, "max"));
    /* age 18..57, two missing of 40: 2 x 5% + 1% = 11%; range widened by
     * 10% of 39 each side and rounded outwards to whole years */
    json_t *age = col(spec, "age");
    assert_true(fabs(json_number_value(json_object_get(age, "max_missing")) -
                     0.11) < 1e-12);
    assert_int_equal(json_integer_value(json_object_get(age, "min")), 14);
    assert_int_equal(json_integer_value(json_object_get(age, "max")), 61);
    assert_null(json_object_get(age, "unique"));  /* has missing values */
    /* spend 0..94.5 never negative: the floor stays at 0 */
    json_t *spend = col(spec, "spend");
    assert_true(json_number_value(json_object_get(spend, "min")) == 0);
    double hi = json_number_value(json_object_get(spend, "max"));
    assert_true(hi >= 94.5 + 9.45 && hi < 94.5 + 9.45 + 1);
    json_t *plan = col(spec, "plan");
    assert_int_equal(json_array_size(json_object_get(plan, "categories")),
                     3);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(plan, "categories"), 0)),
                        "basic");
    assert_null(json_object_get(col(spec, "active"), "min"));
    json_decref(spec);
    trl_frame_decref(f);
    /* a unique column not named as an id (cents, times) keeps its range;
     * ids past 2^53, distinct as integers, are still unique */
    char text[1024] = "user_id,cents\n9007199254740993,5\n"
                      "9007199254740992,6\n";
    for (int i = 0; i < 20; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text),
                 "%d,%d\n", i, 100 + i);
    f = csv(text);
    spec = trl_validate_infer(f, &err);
    assert_true(json_is_true(json_object_get(col(spec, "user_id"),
                                             "unique")));
    assert_null(json_object_get(col(spec, "user_id"), "max"));
    assert_true(json_is_true(json_object_get(col(spec, "cents"), "unique")));
    assert_non_null(json_object_get(col(spec, "cents"), "max"));
    json_decref(spec);
    trl_frame_decref(f);
    /* a few distinct rows prove nothing about ids, unless named so */
    f = csv("id,n\n1,5\n2,6\n3,7\n");
    spec = trl_validate_infer(f, &err);
    assert_true(json_is_true(json_object_get(col(spec, "id"), "unique")));
    assert_null(json_object_get(col(spec, "n"), "unique"));
    json_decref(spec);
    trl_frame_decref(f);
    f = csv("a\n");
    assert_null(trl_validate_infer(f, &err));
    assert_non_null(strstr(err.message, "no rows"));
    trl_frame_decref(f);
}

static json_t *check_of(json_t *result, const char *column, const char *what)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(result, "checks"), i, c) {
        const char *name = json_string_value(json_object_get(c, "column"));
        if (strcmp(json_string_value(json_object_get(c, "check")), what) ==
                0 &&
            (column ? name && strcmp(name, column) == 0 : !name))
            return c;
    }
    fail_msg("no %s check of %s", what, column ? column : "the frame");
    return NULL;
}

static void test_a_frame_passes_its_own_expectations(void **state)
{
    (void)state;
    trl_frame *f = customers(40, 0, NULL);
    trl_error err = {0};
    json_t *spec = trl_validate_infer(f, &err);
    json_t *r = trl_validate_check(f, spec, "customers", "customers@1",
                                   &err);
    if (!r)
        fail_msg("%s", err.message);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "failed")), 0);
    assert_int_equal(json_array_size(json_object_get(r, "failures")), 0);
    /* rows, 5 types, 5 missing, 2 ranges (none for the id), 1 category
     * set, 1 unique, the column set */
    assert_int_equal(json_integer_value(json_object_get(r, "passed")), 16);
    assert_string_equal(json_string_value(json_object_get(r, "against")),
                        "customers@1");
    json_decref(r);
    json_decref(spec);
    trl_frame_decref(f);
}

static void test_each_check_fails_with_what_it_saw(void **state)
{
    (void)state;
    trl_frame *ref = customers(40, 0, NULL);
    trl_error err = {0};
    json_t *spec = trl_validate_infer(ref, &err);
    /* older customers, a duplicated id, an unseen plan, a missing spend
     * column replaced by text, an extra column */
    trl_frame *bad = csv("user_id,age,plan,active,spend,note\n"
                         "1,90,basic,true,lots,x\n"
                         "1,,gold,false,some,y\n"
                         "2,,,true,none,z\n");
    json_t *r = trl_validate_check(bad, spec, "batch", NULL, &err);
    if (!r)
        fail_msg("%s", err.message);
    assert_true(json_is_false(json_object_get(r, "ok")));
    json_t *c = check_of(r, "user_id", "unique");
    assert_true(json_is_false(json_object_get(c, "ok")));
    assert_int_equal(json_integer_value(json_object_get(c, "duplicates")), 1);
    c = check_of(r, "age", "range");
    assert_true(json_is_false(json_object_get(c, "ok")));
    assert_int_equal(json_integer_value(json_object_get(c, "outside")), 1);
    assert_non_null(strstr(json_string_value(json_object_get(c, "observed")),
                           "1 row outside"));
    c = check_of(r, "age", "missing");
    assert_true(json_is_false(json_object_get(c, "ok")));
    assert_string_equal(json_string_value(json_object_get(c, "observed")),
                        "66.7% (2 of 3 rows)");
    c = check_of(r, "plan", "categories");
    assert_true(json_is_false(json_object_get(c, "ok")));
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(c, "unseen"), 0)),
                        "gold");
    c = check_of(r, "spend", "type");
    assert_true(json_is_false(json_object_get(c, "ok")));
    assert_string_equal(json_string_value(json_object_get(c, "observed")),
                        "str");
    c = check_of(r, NULL, "columns");
    assert_true(json_is_false(json_object_get(c, "ok")));
    assert_string_equal(json_string_value(json_object_get(c, "observed")),
                        "extra: note");
    /* a string column is not also range-checked */
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "checks"), i, x) {
        const char *name = json_string_value(json_object_get(x, "column"));
        assert_false(name && strcmp(name, "spend") == 0 &&
                     strcmp(json_string_value(json_object_get(x, "check")),
                            "range") == 0);
    }
    assert_int_equal(json_array_size(json_object_get(r, "failures")),
                     json_integer_value(json_object_get(r, "failed")));
    json_decref(r);
    trl_frame_decref(bad);
    /* an absent column, and an empty frame */
    trl_frame *empty = csv("user_id,age,plan,spend\n");
    r = trl_validate_check(empty, spec, NULL, NULL, &err);
    assert_non_null(r);
    c = check_of(r, NULL, "rows");
    assert_true(json_is_false(json_object_get(c, "ok")));
    c = check_of(r, "active", "present");
    assert_true(json_is_false(json_object_get(c, "ok")));
    json_decref(r);
    trl_frame_decref(empty);
    json_decref(spec);
    trl_frame_decref(ref);
}

static void test_integers_meet_a_float_expectation(void **state)
{
    (void)state;
    trl_frame *f = csv("x\n1\n2\n3\n");
    json_t *spec = json_loads("{\"columns\": {\"x\": {\"type\": \"f64\", "
                              "\"min\": 0, \"max\": 2.5}}}", 0, NULL);
    trl_error err = {0};
    json_t *r = trl_validate_check(f, spec, "f", NULL, &err);
    assert_true(json_is_true(json_object_get(check_of(r, "x", "type"),
                                             "ok")));
    assert_true(json_is_false(json_object_get(check_of(r, "x", "range"),
                                              "ok")));
    json_decref(r);
    json_decref(spec);
    trl_frame_decref(f);
}

static void test_hand_edited_expectations_are_checked(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *needle;
    } cases[] = {
        {"[]", "must be a table"},
        {"{}", "need columns"},
        {"{\"columns\": {}, \"min_row\": 1}", "unknown key 'min_row'"},
        {"{\"columns\": {\"a\": {\"max_mising\": 0.1}}}",
         "column 'a': unknown key 'max_mising'"},
        {"{\"columns\": {\"a\": {\"type\": \"int\"}}}", "type must be"},
        {"{\"columns\": {\"a\": {\"max_missing\": 2}}}", "from 0 to 1"},
        {"{\"columns\": {\"a\": {\"min\": 5, \"max\": 1}}}",
         "min (5) is above max (1)"},
        {"{\"columns\": {\"a\": {\"categories\": [1, 2]}}}",
         "list of strings"},
        {"{\"columns\": {\"a\": {\"unique\": 1}}}", "true or false"},
        {"{\"columns\": {\"a\": 3}}", "column 'a' must be a table"},
        {"{\"columns\": {}, \"min_rows\": 1.5}", "whole number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *spec = json_loads(cases[i].spec, JSON_DECODE_ANY, NULL);
        trl_error err = {0};
        assert_int_equal(trl_validate_spec_check(spec, &err), TRL_EINVAL);
        if (!strstr(err.message, cases[i].needle))
            fail_msg("%s: '%s' lacks '%s'", cases[i].spec, err.message,
                     cases[i].needle);
        json_decref(spec);
    }
    /* Lua's empty table arrives as {} (no categories) or [] (columns) */
    json_t *spec = json_loads("{\"columns\": {\"a\": {\"categories\": {}}}, "
                              "\"allow_extra_columns\": true}", 0, NULL);
    trl_error err = {0};
    assert_int_equal(trl_validate_spec_check(spec, &err), 0);
    trl_frame *f = csv("a,b\nx,1\n");
    json_t *r = trl_validate_check(f, spec, NULL, NULL, &err);
    assert_true(json_is_false(json_object_get(check_of(r, "a",
                                                       "categories"),
                                              "ok")));
    json_decref(r);
    json_decref(spec);
    spec = json_loads("{\"columns\": []}", 0, NULL);
    r = trl_validate_check(f, spec, NULL, NULL, &err);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(
                            check_of(r, NULL, "columns"), "observed")),
                        "extra: a, b");
    json_decref(r);
    json_decref(spec);
    trl_frame_decref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_infer_rules),
        cmocka_unit_test(test_a_frame_passes_its_own_expectations),
        cmocka_unit_test(test_each_check_fails_with_what_it_saw),
        cmocka_unit_test(test_integers_meet_a_float_expectation),
        cmocka_unit_test(test_hand_edited_expectations_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
