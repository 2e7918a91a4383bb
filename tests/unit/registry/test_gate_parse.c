/* test_gate_parse.c - gate_lex.c, gate_term.c and gate_parse.c: every
 * kind of gate parses; every wrong one is refused with its column and a
 * message that says what to write; the length and depth limits hold;
 * and the fuzzing entry point survives prefixes of good gates, random
 * bytes and the seed corpus of tests/fuzz/gate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trellis/gate.h"

static const char *const good[] = {
    "auc@holdout >= production + 0.002",
    "p99_ms@batch1 <= 5",
    "p99_ms@batch32@threads4 < 10",
    "rows_per_s@batch1024 >= 0.9 * production",
    "drift(holdout, live) < 0.2",
    "drift(holdout@2, live, 'plan type') < 0.1",
    "drift(holdout, live, x1) < 0.1 and drift(holdout, live, \"x 2\") < 1",
    "validate(holdout)",
    "validate(holdout@3) and not (logloss@holdout > 0.5)",
    "ndcg@10@holdout@2 >= 0.3",
    "-auc@holdout < -0.5",
    "auc@holdout - logloss@holdout >= production",
    "(auc@holdout >= 0.8) or false",
    "1e-3 < 2 and .5 == 0.5 and 2E+2 != 1",
    "production - 0.01 <= auc@holdout",
    "auc@holdout >= (production + staging) / 2",
    "not not true",
    "auc@holdout>=production+0.002",
    "auc@holdout >= production and p99_ms@batch1 <= 1.1 * production",
    "my_metric@holdout@12 > 0 or retention_proxy@eval > production",
};

static void test_good_gates_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        trl_error err = {0};
        trl_gate *g = trl_gate_parse(good[i], strlen(good[i]), &err);
        if (!g)
            fail_msg("'%s': %s", good[i], err.message);
        assert_string_equal(trl_gate_text(g), good[i]);
        trl_gate_free(g);
    }
}

/* The error of text, which must not parse. */
static void refused(const char *text, size_t len, const char *needle)
{
    trl_error err = {0};
    trl_gate *g = trl_gate_parse(text, len, &err);
    if (g) {
        trl_gate_free(g);
        fail_msg("'%s' parsed", text);
    }
    assert_int_equal(err.code, TRL_EINVAL);
    if (!strstr(err.message, needle))
        fail_msg("'%s': '%s' lacks '%s'", text, err.message, needle);
}

static void test_bad_gates_say_where_and_what(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"auc@holdout >=",
         "column 15: expected a number or a term after '>='"},
        {"", "column 1: the gate is empty"},
        {"   ", "column 4: the gate is empty"},
        {"auc >= 0.8", "column 1: 'auc' needs a frame: write auc@FRAME"},
        {"p99_ms <= 5", "column 1: 'p99_ms' needs a batch size"},
        {"p99_ms@holdout <= 5", "column 1: a benchmark figure names its "
                                "batch size"},
        {"p99_ms@batch0 <= 5", "column 8: batch sizes go from 1"},
        {"p99_ms@batch1@cores2 <= 5", "column 15: after the batch size"},
        {"p99_ms@batch1@threads0 <= 5", "thread counts go from 1"},
        {"auc@holdout", "column 1: a gate must be a condition, and this "
                        "is a number"},
        {"production >= 0.8", "column 1: 'production' and 'staging' "
                              "stand for the other side"},
        {"auc@h > 1 and production > 1", "column 15: 'production'"},
        {"production", "column 1: 'production' and 'staging' stand for "
                       "the other side of a comparison"},
        {"production >= staging", "only one side"},
        {"auc@x < auc@y < auc@z", "column 15: comparisons do not chain"},
        {"auc@holdout = 0.8", "column 13: '=' alone is not an operator"},
        {"auc@holdout >= 0.8 && true", "column 20: write 'and'"},
        {"auc@holdout >= 0.8 || true", "column 20: write 'or'"},
        {"!validate(h)", "column 1: write 'not'"},
        {"p99_ms@batch1 < 5ms", "column 17: this is not a number"},
        {"auc@holdout >= 0.8)", "column 19: unexpected ')' after a "
                                "complete condition"},
        {"(auc@holdout >= 0.8", "column 20: expected ')' to close the '(' "
                                "at column 1"},
        {"drift(holdout) < 1", "column 14: expected ',' and the new frame "
                               "in drift()"},
        {"drift < 1", "column 1: drift needs its frames"},
        {"drift(a, b, c@d) < 1", "column 13: expected a feature name"},
        {"drift(a, 3) < 1", "column 10: drift() takes registered frames"},
        {"validate(production)", "column 10: 'production' is a keyword, "
                                 "not a frame"},
        {"auc@production >= 1", "column 5: 'production' is a keyword"},
        {"drift@h > 1", "column 1: 'drift' is a keyword"},
        {"auc@holdout@x > 1", "column 13: a frame's version is a whole "
                              "number"},
        {"auc@holdout@0 > 1", "column 13: frame versions go from 1"},
        {"auc@h@1@2 > 1", "column 8: unexpected '@' part"},
        {"ndcg@10 > 1", "column 1: 'ndcg@10' needs a frame"},
        {"ndcg@10@3 > 1", "column 9: expected a frame name"},
        {"validate(holdout) + 1 > 0", "column 1: '+' and '-' take numbers"},
        {"not auc@holdout", "column 5: 'not' takes a condition"},
        {"auc@holdout > true", "column 15: comparisons take numbers"},
        {"-validate(h)", "column 2: '-' takes a number"},
        {"auc@h > 1 and 2", "column 15: 'and' joins conditions"},
        {"auc@ holdout > 1", "column 4: expected a name or a number after "
                             "'@'"},
        {"auc@1x > 1", "column 5: after '@' give a name"},
        {"drift(a, b, 'unclosed", "column 13: this quote is never closed"},
        {"drift(a, b, '') < 1", "column 13: an empty name in quotes"},
        {"drift(a, b, 'x\x01') < 1", "column 13: a control character"},
        {"auc@holdout >= 0.8 \xc3\xa9", "column 20: unexpected character: "
                                        "outside quotes"},
        {"drift(a, b, '\xc3\xa9\xc3\xa9') <", "column 20: expected a number "
                                              "or a term after '<'"},
        {"auc@holdout > #", "column 15: unexpected character '#'"},
        {"1e999 > 0", "column 1: this number is out of range"},
        {"1. > .", "column 6: unexpected character '.'"},
        {"and > 1", "column 1: expected a number or a term, not 'and'"},
        {"auc@h > or", "column 9: expected a number or a term after '>', "
                       "not 'or'"},
        {"auc@h > 1 2", "column 11: unexpected '2'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        refused(cases[i][0], strlen(cases[i][0]), cases[i][1]);
    refused("\xff > 1", 5, "column 1: not UTF-8 text");
    refused("1 > 0\0", 6, "column 6: a NUL byte");
    refused("auc@h > \xed\xa0\x80", 11, "column 9: not UTF-8");
}

static void test_length_and_depth_limits(void **state)
{
    (void)state;
    char buf[4 * TRL_GATE_MAX_LEN];
    /* exactly the limit parses; one byte more is refused up front */
    memset(buf, ' ', TRL_GATE_MAX_LEN);
    memcpy(buf, "1 < 2", 5);
    trl_error err = {0};
    trl_gate *g = trl_gate_parse(buf, TRL_GATE_MAX_LEN, &err);
    assert_non_null(g);
    trl_gate_free(g);
    refused(buf, TRL_GATE_MAX_LEN + 1, "a gate is at most 1000 bytes");
    /* parentheses */
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        buf[n++] = '(';
    memcpy(buf + n, "true", 4);
    refused(buf, n + 4, "nested too deeply");
    n = 0;
    for (int i = 0; i < TRL_GATE_MAX_DEPTH - 1; i++)
        buf[n++] = '(';
    n += (size_t)sprintf(buf + n, "true");
    for (int i = 0; i < TRL_GATE_MAX_DEPTH - 1; i++)
        buf[n++] = ')';
    assert_non_null(g = trl_gate_parse(buf, n, &err));
    trl_gate_free(g);
    /* unary chains */
    n = 0;
    for (int i = 0; i < 60; i++)
        n += (size_t)sprintf(buf + n, "not ");
    n += (size_t)sprintf(buf + n, "true");
    refused(buf, n, "nested too deeply");
    n = 0;
    for (int i = 0; i < 60; i++)
        buf[n++] = '-';
    n += (size_t)sprintf(buf + n, "1 < 2");
    refused(buf, n, "nested too deeply");
    /* long chains of operators, which build a tall tree without nesting */
    n = (size_t)sprintf(buf, "0");
    for (int i = 0; i < 60; i++)
        n += (size_t)sprintf(buf + n, "+1");
    n += (size_t)sprintf(buf + n, " > 0");
    refused(buf, n, "too many operators in one expression");
    n = (size_t)sprintf(buf, "true");
    for (int i = 0; i < 60; i++)
        n += (size_t)sprintf(buf + n, " and true");
    refused(buf, n, "too many operators");
    /* a dozen of each is fine */
    n = (size_t)sprintf(buf, "0");
    for (int i = 0; i < 12; i++)
        n += (size_t)sprintf(buf + n, "+1*2");
    n += (size_t)sprintf(buf + n, " > 0");
    assert_non_null(g = trl_gate_parse(buf, n, &err));
    trl_gate_free(g);
}

/* xorshift64*: the same "random" bytes on every run. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void test_fuzz_entry_survives_anything(void **state)
{
    (void)state;
    /* every prefix of every good gate: each parses or has an error */
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        for (size_t n = 0; n <= strlen(good[i]); n++) {
            trl_error err = {0};
            trl_gate *g = trl_gate_parse(good[i], n, &err);
            assert_true(g != NULL || (err.code == TRL_EINVAL &&
                                      strncmp(err.message, "column ", 7) ==
                                          0));
            trl_gate_free(g);
            assert_int_equal(trl_gate_fuzz_one((const uint8_t *)good[i],
                                               n), 0);
        }
    /* random bytes, and random picks from the language's own tokens */
    static const char *const pieces[] = {
        "auc@h", "p99_ms@batch1", "(", ")", "and ", "or ", "not ", "<",
        ">=", "==", "+", "-", "*", "/", "production", "staging", "0.5",
        "drift(a, b", ",", "'x'", "validate(h", " ", "@", "1e5", "true"};
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    uint8_t buf[TRL_GATE_MAX_LEN + 8];
    for (int round = 0; round < 20000; round++) {
        size_t n = 0, want = next_random(&seed) % 80;
        if (round % 2) {
            for (; n < want; n++)
                buf[n] = (uint8_t)next_random(&seed);
        } else {
            while (n < want) {
                const char *p = pieces[next_random(&seed) %
                                       (sizeof pieces / sizeof *pieces)];
                size_t k = strlen(p);
                memcpy(buf + n, p, k);
                n += k;
            }
        }
        trl_error err = {0};
        trl_gate *g = trl_gate_parse((const char *)buf, n, &err);
        assert_true(g != NULL || err.code == TRL_EINVAL);
        trl_gate_free(g);
    }
    /* the seed corpus a fuzzer starts from */
    DIR *d = opendir(TRELLIS_GATE_CORPUS);
    assert_non_null(d);
    struct dirent *ent;
    int files = 0;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", TRELLIS_GATE_CORPUS,
                 ent->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        assert_int_equal(trl_gate_fuzz_one(buf, n), 0);
        files++;
    }
    closedir(d);
    assert_true(files >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_gates_parse),
        cmocka_unit_test(test_bad_gates_say_where_and_what),
        cmocka_unit_test(test_length_and_depth_limits),
        cmocka_unit_test(test_fuzz_entry_survives_anything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
