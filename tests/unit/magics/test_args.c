/* test_args.c - the magics' shared argument parser (magics/args.c): every
 * kind of option, quoting, --name=value, the messages and the usage line
 * built from a spec, the length limits; then each real magic's spec (its
 * usage line is the one %lsmagic shows), the fuzz corpus, and inputs the
 * fuzzer found. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "magics/args.h"
#include "magics/magic_int.h"
#include "trellis/timing.h"

enum { T_FLAG, T_WORD, T_TEXT, T_COLOUR, T_COUNT, T_RATIO, T_NAMES,
       T_SIZES, T_TAG, T_LEFT, T_RIGHT };

static const char *const colours[] = {"red", "green", "blue", NULL};
static const char *const pos_names[] = {"FIRST", "REST", NULL};

static long long four(void)
{
    return 4;
}

static const trl__arg_opt opts[] = {
    [T_FLAG] = {.name = "flag", .kind = TRL__ARG_FLAG},
    [T_WORD] = {.name = "word", .kind = TRL__ARG_WORD, .meta = "W",
                .flags = TRL__ARG_REQUIRED, .missing = "--word names it"},
    [T_TEXT] = {.name = "text", .kind = TRL__ARG_TEXT, .meta = "TEXT"},
    [T_COLOUR] = {.name = "colour", .kind = TRL__ARG_CHOICE,
                  .choices = colours},
    [T_COUNT] = {.name = "count", .kind = TRL__ARG_INT, .meta = "N",
                 .min = -5, .max = 10},
    [T_RATIO] = {.name = "ratio", .kind = TRL__ARG_DOUBLE, .meta = "0.5",
                 .what = "a share", .lo = 0, .lo_open = 1, .hi = 1,
                 .example = "0.5"},
    [T_NAMES] = {.name = "names", .kind = TRL__ARG_LIST, .meta = "a,b",
                 .max_items = 3},
    [T_SIZES] = {.name = "sizes", .kind = TRL__ARG_INT_LIST, .meta = "1,2",
                 .min = 1, .max = 999, .max_now = four, .max_items = 4},
    [T_TAG] = {.name = "tag", .kind = TRL__ARG_WORD, .meta = "TAG",
               .flags = TRL__ARG_REPEAT, .max_items = 2},
    [T_LEFT] = {.name = "left", .kind = TRL__ARG_WORD, .meta = "L",
                .group = 1},
    [T_RIGHT] = {.name = "right", .kind = TRL__ARG_FLAG, .group = 1},
};

/* a rule across options, as %importance has */
static int no_flag_with_count(const trl__args *a, trl_error *err)
{
    if (trl__args_given(a, T_FLAG) && trl__args_given(a, T_COUNT))
        return trl_error_set(err, TRL_EINVAL, "--flag and --count do not "
                             "mix");
    return 0;
}

static const trl__args_spec spec = {
    .magic = "%t", .pos_names = pos_names, .min_pos = 1, .max_pos = 3,
    .opts = opts, .nopts = sizeof opts / sizeof *opts,
    .check = no_flag_with_count};

#define USAGE "%t FIRST [REST]... [--flag] --word W [--text TEXT] " \
              "[--colour red|green|blue] [--count N] [--ratio 0.5] " \
              "[--names a,b] [--sizes 1,2] [--tag TAG]... [--left L | --right]"

/* Parses line, which must succeed, into *a. */
static void ok(const char *line, trl__args *a)
{
    trl_error err = {0};
    if (trl__args_parse(&spec, line, a, &err) != 0)
        fail_msg("'%s': %s", line, err.message);
}

/* Parses line, which must fail with why, then the usage line. */
static void bad_with(const trl__args_spec *s, const char *line,
                     const char *why)
{
    trl__args a;
    trl_error err = {0};
    char want[2 * TRL_ERROR_MAX], usage[TRL_ERROR_MAX];
    trl__args_usage(s, usage, sizeof usage);
    snprintf(want, sizeof want, "%s; usage: %s", why, usage);
    int rc = trl__args_parse(s, line, &a, &err);
    if (rc != TRL_EINVAL || strcmp(err.message, want) != 0)
        fail_msg("'%s' gave %d '%s', not '%s'", line, rc, err.message, want);
    assert_null(a.buf);   /* nothing left to free */
}

static void bad(const char *line, const char *why)
{
    bad_with(&spec, line, why);
}

static void test_usage_is_built_from_the_spec(void **state)
{
    (void)state;
    char buf[TRL_ERROR_MAX];
    assert_int_equal(trl__args_usage(&spec, buf, sizeof buf),
                     strlen(USAGE));
    assert_string_equal(buf, USAGE);
    /* snprintf's contract: cut, NUL-terminated, whole length returned */
    assert_int_equal(trl__args_usage(&spec, buf, 5), strlen(USAGE));
    assert_string_equal(buf, "%t F");
    assert_int_equal(trl__args_usage(&spec, NULL, 0), strlen(USAGE));
    static const trl__arg_opt both[] = {
        {.name = "a", .kind = TRL__ARG_WORD, .group = 2,
         .flags = TRL__ARG_REQUIRED},
        {.name = "b", .kind = TRL__ARG_FLAG, .group = 2}};
    static const trl__args_spec g = {.magic = "%g", .opts = both,
                                     .nopts = 2};
    trl__args_usage(&g, buf, sizeof buf);
    assert_string_equal(buf, "%g --a VALUE | --b");
    bad_with(&g, "", "%g needs --a");
    bad_with(&g, "--a x --b", "give --a VALUE or --b, not both");
}

static void test_every_kind_of_value(void **state)
{
    (void)state;
    trl__args a;
    ok("one two --word w --text a  b   c --colour blue --count -5 "
       "--ratio 1 --names x,y,z --sizes 4,1 --tag p --tag q --left l three",
       &a);
    assert_int_equal(a.npos, 3);
    assert_string_equal(a.pos[0], "one");
    assert_string_equal(a.pos[2], "three");
    assert_int_equal(trl__args_given(&a, T_FLAG), 0);
    assert_string_equal(trl__args_str(&a, T_WORD, NULL), "w");
    /* a text keeps its inner blanks as typed */
    assert_string_equal(trl__args_str(&a, T_TEXT, NULL), "a  b   c");
    assert_int_equal(trl__args_int(&a, T_COLOUR, -1), 2);
    assert_int_equal(trl__args_int(&a, T_COUNT, 0), -5);
    assert_true(trl__args_double(&a, T_RATIO, 0) == 1.0);
    const char *names[3];
    assert_int_equal(trl__args_texts(&a, T_NAMES, names, 3), 3);
    assert_string_equal(names[2], "z");
    assert_int_equal(a.opt[T_SIZES].n, 2);
    assert_int_equal(a.opt[T_SIZES].items[0].i, 4);
    assert_int_equal(trl__args_texts(&a, T_TAG, names, 1), 2);
    assert_string_equal(names[0], "p");
    assert_int_equal(trl__args_given(&a, T_TAG), 2);
    assert_string_equal(trl__args_str(&a, T_LEFT, NULL), "l");
    trl__args_free(&a);
    assert_null(a.buf);
    trl__args_free(&a);   /* safe twice */

    /* defaults, --name=value, quotes of both kinds, negative values */
    ok("-1 --word='a b' --text=\"x --y\" --count=3 - --ratio .5", &a);
    assert_string_equal(a.pos[0], "-1");
    assert_string_equal(a.pos[1], "-");
    assert_string_equal(trl__args_str(&a, T_WORD, NULL), "a b");
    assert_string_equal(trl__args_str(&a, T_TEXT, NULL), "x --y");
    assert_int_equal(trl__args_int(&a, T_COUNT, 0), 3);
    assert_true(trl__args_double(&a, T_RATIO, 0) == 0.5);
    assert_string_equal(trl__args_str(&a, T_TAG, "dflt"), "dflt");
    assert_int_equal(trl__args_int(&a, T_COLOUR, 7), 7);
    assert_true(trl__args_double(&a, T_COLOUR, 2.5) == 2.5);
    assert_int_equal(trl__args_texts(&a, T_NAMES, names, 3), 0);
    trl__args_free(&a);

    /* a text runs to the next --option and keeps quotes inside it */
    ok("x --word w --text drift(a, 'b c') < 0.1 --flag", &a);
    assert_string_equal(trl__args_str(&a, T_TEXT, NULL),
                        "drift(a, 'b c') < 0.1");
    assert_int_equal(trl__args_given(&a, T_FLAG), 1);
    trl__args_free(&a);
    ok("\t x \t --word\tw  ", &a);   /* blanks of any kind, at either end */
    assert_string_equal(a.pos[0], "x");
    trl__args_free(&a);
}

static void test_wrong_values_say_what_the_option_takes(void **state)
{
    (void)state;
    bad("x --word w --count 11", "--count takes a whole number from -5 to "
        "10, not '11'");
    bad("x --word w --count 1.5", "--count takes a whole number from -5 to "
        "10, not '1.5'");
    bad("x --word w --count 9999999999999999999", "--count takes a whole "
        "number from -5 to 10, not '9999999999999999999'");
    bad("x --word w --count +", "--count takes a whole number from -5 to "
        "10, not '+'");
    bad("x --word w --ratio 0", "--ratio takes a share above 0 and at most "
        "1, such as 0.5, not '0'");
    bad("x --word w --ratio nan", "--ratio takes a share above 0 and at "
        "most 1, such as 0.5, not 'nan'");
    bad("x --word w --ratio 1x", "--ratio takes a share above 0 and at "
        "most 1, such as 0.5, not '1x'");
    bad("x --word w --ratio ' 1'", "--ratio takes a share above 0 and at "
        "most 1, such as 0.5, not ' 1'");
    bad("x --word w --colour pink", "unknown colour 'pink': use red, green "
        "or blue");
    bad("x --word w --names a,,b", "--names takes names separated by "
        "commas, not 'a,,b'");
    bad("x --word w --names a,", "--names takes names separated by commas, "
        "not 'a,'");
    bad("x --word w --names a,b,c,d", "--names takes at most 3 values");
    /* the machine's bound, read at parse time */
    bad("x --word w --sizes 1,5", "--sizes takes whole numbers from 1 to 4 "
        "separated by commas, not '1,5'");
    bad("x --word w --sizes 1,2 --sizes 3,4,1", "--sizes is given twice; "
        "give it once");
    bad("x --word w --tag a --tag b --tag c", "--tag may be given at most 2 "
        "times");
}

static void test_wrong_lines_say_what_to_do(void **state)
{
    (void)state;
    bad("", "%t needs FIRST [REST]...");
    bad("--word w", "%t needs FIRST [REST]...");
    bad("a b c d --word w", "%t takes at most 3 arguments, not 'd' too");
    bad("x", "--word names it");
    bad("x --word", "--word lacks its value (--word W)");
    bad("x --word --flag", "--word lacks its value (--word W)");
    bad("x --word=", "--word lacks its value (--word W)");
    bad("x --word ''", "--word lacks its value (--word W)");
    bad("x --word w --text", "--text lacks its value (--text TEXT)");
    bad("x --word a --word b", "--word is given twice; give it once");
    bad("x --word w --flag=yes", "--flag takes no value, not 'yes'");
    bad("x --word w --frob 1", "unknown option --frob for %t; options: "
        "--flag, --word, --text, --colour, --count, --ratio, --names, "
        "--sizes, --tag, --left, --right");
    bad("x --word w --frob=1", "unknown option --frob for %t; options: "
        "--flag, --word, --text, --colour, --count, --ratio, --names, "
        "--sizes, --tag, --left, --right");
    bad("x --word w -f", "unknown option -f for %t; options: --flag, "
        "--word, --text, --colour, --count, --ratio, --names, --sizes, "
        "--tag, --left, --right");
    bad("x --word w --left l --right", "give --left L or --right, not "
        "both");
    bad("x --word w --flag --count 1", "--flag and --count do not mix");
    bad("'x --word w", "the quote in 'x --word w is never closed: end the "
        "value with '");
    bad("x --word \"w", "the quote in \"w is never closed: end the value "
        "with \"");
    bad("'x'y --word w", "put a space after the closing quote in 'x'y");
    bad("'' --word w", "an empty '' or \"\" names nothing: leave it out or "
        "put a name in it");
    static const trl__args_spec none = {.magic = "%none"};
    bad_with(&none, "x", "%none takes no arguments, not 'x'");
    bad_with(&none, "--x", "%none takes no options, not --x");
    trl__args a;
    trl_error err = {0};
    assert_int_equal(trl__args_parse(&none, NULL, &a, &err), 0);
    trl__args_free(&a);
}

static void test_long_input_is_refused_and_echoes_are_cut(void **state)
{
    (void)state;
    char *line = malloc(TRL__ARGS_MAX_LEN + 2);
    assert_non_null(line);
    /* the longest line read: one positional, then blanks */
    memset(line, ' ', TRL__ARGS_MAX_LEN);
    memcpy(line, "x --word w", 10);
    line[TRL__ARGS_MAX_LEN] = '\0';
    trl__args a;
    ok(line, &a);
    trl__args_free(&a);
    strcat(line, " ");
    char why[200];
    snprintf(why, sizeof why, "the arguments of %%t are %d bytes long; at "
             "most %d are read", TRL__ARGS_MAX_LEN + 1, TRL__ARGS_MAX_LEN);
    bad(line, why);
    free(line);
    /* 40 bytes then "...", never half of a UTF-8 character: each \xc3\xa9
     * is one, and the 40th byte would split the 20th */
    char shown[TRL__ARGS_ECHO_BUF];
    const char *e = "x\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
                    "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
                    "\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
    trl__args_echo(e, strlen(e), shown);
    assert_int_equal(strlen(shown), 39 + 3);
    assert_string_equal(shown + 39, "...");
    trl__args_echo("short", 5, shown);
    assert_string_equal(shown, "short");
    bad("x --word w --count 12345678901234567890123456789012345678901234",
        "--count takes a whole number from -5 to 10, not "
        "'1234567890123456789012345678901234567890...'");
}

/* %lsmagic and %name? show the usage in trl_magic; errors build it from
 * the spec: they must agree. */
static void test_real_specs_and_their_usage_lines(void **state)
{
    (void)state;
    size_t n;
    const trl__args_spec *const *all = trl__magic_args_specs(&n);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        char usage[TRL_ERROR_MAX];
        assert_true(trl__args_usage(all[i], usage, sizeof usage) < 250);
        assert_ptr_equal(trl__magic_args_spec(all[i]->magic), all[i]);
        if (strncmp(all[i]->magic, "%%", 2) == 0)
            continue;
        const trl_magic *m = trl_magic_find(all[i]->magic + 1);
        assert_non_null(m);
        assert_string_equal(m->usage, usage);
        /* the longest message: an unknown option quoted at its cut */
        trl_error err = {0};
        assert_int_equal(trl__magic_args_check(
                             all[i]->magic, "--xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                             "xxxxxxxxxxxxxxxxxxxxxxxxx", &err),
                         TRL_EINVAL);
        assert_true(strlen(err.message) < TRL_ERROR_MAX - 100);
    }
    trl_error err = {0};
    assert_int_equal(trl__magic_args_check("%timeit", "-n 1 x", &err),
                     TRL_ENOTFOUND);
    assert_int_equal(trl__magic_args_check("%promote", "m@2 production "
                                           "--gate auc@h >= production + "
                                           "0.002 --gate p99_ms@batch1 <= 5 "
                                           "--force --reason 'rollback: "
                                           "incident 42'", &err), 0);
    assert_int_equal(trl__magic_args_check("%validate", "f --schema s",
                                           &err), 0);
    assert_int_equal(trl__magic_args_check("%%bench", "--runs 3", &err), 0);
}

/* Found by fuzz_magic_args: the message for text stuck to a closing
 * quote quoted one byte past it, half of a two-byte character - not
 * UTF-8, which a Jupyter message cannot carry. */
static void test_fuzz_text_after_a_quote_is_quoted_whole(void **state)
{
    (void)state;
    static const uint8_t crash[] = "\013odu --on \"c\"\310\233";
    trl_error err = {0};
    assert_int_equal(trl__magic_args_fuzz_one(crash, sizeof crash - 1), 0);
    assert_int_equal(trl__magic_args_check("%bench", (const char *)crash,
                                           &err), TRL_EINVAL);
    assert_non_null(strstr(err.message, "put a space after the closing "
                                        "quote in \"c\"\310\233;"));
    bad("x --word 'w'\xe2\x82\xac", "put a space after the closing quote "
        "in 'w'\xe2\x82\xac");
}

/* Every seed of the fuzzer: named MAGIC.what, each a line MAGIC accepts
 * ("bench_cell" is %%bench, "timeit" IPython's parser, "bad" any
 * magic's mistake); all of them survive the fuzzer's checks. */
static void test_fuzz_corpus(void **state)
{
    (void)state;
    DIR *d = opendir(TRELLIS_MAGIC_ARGS_CORPUS);
    assert_non_null(d);
    struct dirent *ent;
    int files = 0;
    static char buf[65536];
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char path[1024], magic[64];
        snprintf(path, sizeof path, "%s/%s", TRELLIS_MAGIC_ARGS_CORPUS,
                 ent->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        if (n && buf[n - 1] == '\n')
            buf[--n] = '\0';
        assert_int_equal(trl__magic_args_fuzz_one((uint8_t *)buf, n), 0);
        size_t len = strcspn(ent->d_name, ".");
        snprintf(magic, sizeof magic, "%s%.*s",
                 strncmp(ent->d_name, "bench_cell", 10) == 0 ? "%%" : "%",
                 (int)len, ent->d_name);
        if (strcmp(magic, "%%bench_cell") == 0)
            strcpy(magic, "%%bench");
        trl_error err = {0};
        trl_timeit_opts o;
        if (strcmp(magic, "%timeit") == 0) {
            if (trl_timeit_parse(buf, &o, &err) != 0)
                fail_msg("%s: %s", ent->d_name, err.message);
        } else if (strcmp(magic, "%bad") != 0 &&
                   trl__magic_args_check(magic, buf, &err) != 0) {
            fail_msg("%s: %s", ent->d_name, err.message);
        }
        files++;
    }
    closedir(d);
    assert_true(files >= 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_is_built_from_the_spec),
        cmocka_unit_test(test_every_kind_of_value),
        cmocka_unit_test(test_wrong_values_say_what_the_option_takes),
        cmocka_unit_test(test_wrong_lines_say_what_to_do),
        cmocka_unit_test(test_long_input_is_refused_and_echoes_are_cut),
        cmocka_unit_test(test_real_specs_and_their_usage_lines),
        cmocka_unit_test(test_fuzz_text_after_a_quote_is_quoted_whole),
        cmocka_unit_test(test_fuzz_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
