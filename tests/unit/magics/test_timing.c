/* test_timing.c - timing.c against IPython 8.5: every case of
 * fixtures/timing/timing.json (written by gen_timing.py from IPython's own
 * _format_time, TimeitResult, parse_options and the real %timeit / %time
 * magics with scripted clocks), byte for byte and, for the statistics, bit
 * for bit; then what the fixtures cannot show: cut buffers, failing and
 * interrupted runs, argument errors. No real time is measured. */
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

#include "trellis/timing.h"

/* Mismatches reported before a fixture test gives up. */
#define MAX_REPORTED 20

static json_t *fixture(void)
{
    /* fixtures/ sits beside this file */
    char path[4096];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof path, "%.*s/fixtures/timing/timing.json",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("%s line %d: %s", path, jerr.line, jerr.text);
    return root;
}

static json_t *section(json_t *root, const char *key)
{
    json_t *a = json_object_get(root, key);
    if (!json_is_array(a) || json_array_size(a) == 0)
        fail_msg("timing.json has no \"%s\" cases", key);
    return a;
}

/* A number, or "nan" / "inf" / "-inf" (JSON has none). */
static double num(const json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return strcmp(s, "nan") == 0 ? NAN
             : strcmp(s, "-inf") == 0 ? -INFINITY : INFINITY;
    }
    return json_number_value(v);
}

/* An integer, which gen_timing.py writes as text beyond int64. */
static uint64_t u64(const json_t *v)
{
    if (json_is_string(v))
        return strtoull(json_string_value(v), NULL, 10);
    return (uint64_t)json_integer_value(v);
}

static const char *str(const json_t *c, const char *key)
{
    const char *s = json_string_value(json_object_get(c, key));
    if (!s)
        fail_msg("case without \"%s\"", key);
    return s;
}

/* Same double, bit for bit (NaN equal to NaN). */
static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

/* ---- fixtures ----------------------------------------------------------- */

static void test_format_matches_ipython(void **state)
{
    (void)state;
    json_t *root = fixture();
    json_t *cases = section(root, "format"), *c;
    size_t i, bad = 0;
    json_array_foreach(cases, i, c) {
        double s = num(json_object_get(c, "s"));
        int p = (int)json_integer_value(json_object_get(c, "p"));
        int a = (int)json_integer_value(json_object_get(c, "a"));
        const char *want = str(c, "t");
        char got[TRL_TIMING_FORMAT_MAX];
        size_t n = trl_timing_format(s, p, a, got, sizeof got);
        if (strcmp(got, want) != 0 || n != strlen(want)) {
            if (bad++ < MAX_REPORTED)
                print_error("_format_time(%.17g, %d) ascii=%d: want '%s' "
                            "got '%s' (%zu)\n", s, p, a, want, got, n);
        }
    }
    json_decref(root);
    if (bad)
        fail_msg("%zu of %zu format cases differ", bad, i);
}

static void test_results_match_ipython(void **state)
{
    (void)state;
    json_t *root = fixture();
    json_t *cases = section(root, "results"), *c;
    size_t i, bad = 0, needed_fsum = 0;
    json_array_foreach(cases, i, c) {
        json_t *runs = json_object_get(c, "all_runs");
        size_t n = json_array_size(runs);
        double *all = malloc(n * sizeof *all);
        assert_non_null(all);
        for (size_t k = 0; k < n; k++)
            all[k] = num(json_array_get(runs, k));
        trl_timeit_result r = {0};
        trl_error err = {0};
        assert_int_equal(trl_timeit_result_init(
            &r, u64(json_object_get(c, "loops")), all, (int)n,
            (int)json_integer_value(json_object_get(c, "precision")), &err), 0);
        free(all);
        needed_fsum += json_is_true(json_object_get(c, "naive_differs"));
        char u[512], a[512];
        trl_timeit_summary(&r, 0, u, sizeof u);
        trl_timeit_summary(&r, 1, a, sizeof a);
        if (!same(r.average, num(json_object_get(c, "average"))) ||
            !same(r.stdev, num(json_object_get(c, "stdev"))) ||
            !same(r.best, num(json_object_get(c, "best"))) ||
            !same(r.worst, num(json_object_get(c, "worst"))) ||
            strcmp(u, str(c, "utf8")) != 0 || strcmp(a, str(c, "ascii")) != 0) {
            if (bad++ < MAX_REPORTED)
                print_error("%s: average %.17g (want %.17g), stdev %.17g "
                            "(want %.17g)\n  '%s'\n  '%s'\n", str(c, "name"),
                            r.average, num(json_object_get(c, "average")),
                            r.stdev, num(json_object_get(c, "stdev")), u,
                            str(c, "utf8"));
        }
        assert_int_equal(r.repeat, (int)n);
        trl_timeit_result_free(&r);
    }
    json_decref(root);
    if (bad)
        fail_msg("%zu of %zu result cases differ", bad, i);
    /* the fixture proves something only if a plain sum would have failed */
    assert_true(needed_fsum > 0);
}

/* The statement's stand-in: each call takes the next scripted time and
 * records the loops it was asked for. */
typedef struct script {
    const double *seconds;
    size_t n, next;
    uint64_t calls[64];
    int fail_at;        /* fail on this call (0-based), -1 never */
    int fail_code;
    int set_message;
} script;

static int scripted(void *arg, uint64_t loops, double *seconds,
                    trl_error *err)
{
    script *s = arg;
    if (s->next < sizeof s->calls / sizeof s->calls[0])
        s->calls[s->next] = loops;
    if ((int)s->next == s->fail_at) {
        s->next++;
        if (s->set_message)
            return trl_error_set(err, s->fail_code, "KeyboardInterrupt");
        return s->fail_code;
    }
    if (s->next >= s->n)
        fail_msg("the driver asked for call %zu of a %zu-call script",
                 s->next + 1, s->n);
    *seconds = s->seconds[s->next++];
    return 0;
}

static void test_timeit_magic_matches_ipython(void **state)
{
    (void)state;
    json_t *root = fixture();
    json_t *cases = section(root, "timeit"), *c;
    size_t i;
    json_array_foreach(cases, i, c) {
        const char *name = str(c, "name");
        trl_timeit_opts o;
        trl_error err = {0};
        if (trl_timeit_parse(str(c, "line"), &o, &err) != 0)
            fail_msg("%s: %s", name, err.message);
        json_t *js = json_object_get(c, "script");
        json_t *jc = json_object_get(c, "calls");
        double times[64];
        script s = {.seconds = times, .n = json_array_size(js),
                    .fail_at = -1};
        assert_true(s.n <= 64);
        for (size_t k = 0; k < s.n; k++)
            times[k] = num(json_array_get(js, k));
        trl_timeit_result r = {0};
        if (trl_timeit_run(&o, scripted, &s, &r, &err) != 0)
            fail_msg("%s: %s", name, err.message);
        /* the same calls with the same loop counts, auto-range included */
        if (s.next != json_array_size(jc))
            fail_msg("%s: %zu calls, IPython made %zu", name, s.next,
                     json_array_size(jc));
        for (size_t k = 0; k < s.next; k++)
            if (s.calls[k] != u64(json_array_get(jc, k)))
                fail_msg("%s: call %zu with %llu loops, IPython %llu", name,
                         k, (unsigned long long)s.calls[k],
                         (unsigned long long)u64(json_array_get(jc, k)));
        assert_true(r.loops == u64(json_object_get(c, "loops")));
        assert_int_equal(r.repeat,
                         json_integer_value(json_object_get(c, "repeat")));
        if (!same(r.average, num(json_object_get(c, "average"))) ||
            !same(r.stdev, num(json_object_get(c, "stdev"))) ||
            !same(r.best, num(json_object_get(c, "best"))) ||
            !same(r.worst, num(json_object_get(c, "worst"))))
            fail_msg("%s: statistics differ", name);
        r.compile_time = num(json_object_get(c, "compile_time"));
        for (int ascii = 0; ascii <= 1; ascii++) {
            const char *want = str(c, ascii ? "ascii" : "utf8");
            char got[1024];
            size_t n = trl_timeit_report(&r, ascii, got, sizeof got);
            if (o.quiet)   /* -q: the magic prints nothing */
                got[0] = '\0', n = 0;
            if (strcmp(got, want) != 0 || n != strlen(want))
                fail_msg("%s (ascii=%d):\nwant '%s'\ngot  '%s'", name, ascii,
                         want, got);
        }
        trl_timeit_result_free(&r);
    }
    json_decref(root);
}

static void test_time_magic_matches_ipython(void **state)
{
    (void)state;
    json_t *root = fixture();
    json_t *cases = section(root, "time"), *c;
    size_t i;
    json_array_foreach(cases, i, c) {
        for (int ascii = 0; ascii <= 1; ascii++) {
            const char *want = str(c, ascii ? "ascii" : "utf8");
            char got[512];
            size_t n = trl_timing_time_report(
                num(json_object_get(c, "user")), num(json_object_get(c, "sys")),
                num(json_object_get(c, "wall")),
                num(json_object_get(c, "compile")),
                num(json_object_get(c, "parse")), ascii, got, sizeof got);
            if (strcmp(got, want) != 0 || n != strlen(want))
                fail_msg("%s (ascii=%d):\nwant '%s'\ngot  '%s'",
                         str(c, "name"), ascii, want, got);
        }
    }
    json_decref(root);
}

static trl_timing_clock clock_named(const char *name)
{
    return strcmp(name, "cpu") == 0 ? TRL_TIMING_CLOCK_CPU
         : strcmp(name, "wall") == 0 ? TRL_TIMING_CLOCK_WALL
                                     : TRL_TIMING_CLOCK_PERF;
}

static void test_options_match_ipython(void **state)
{
    (void)state;
    json_t *root = fixture();
    json_t *cases = section(root, "options"), *c;
    size_t i, errors = 0;
    json_array_foreach(cases, i, c) {
        const char *line = str(c, "line");
        json_t *e = json_object_get(c, "expect");
        trl_timeit_opts o;
        trl_error err = {0};
        int rc = trl_timeit_parse(line, &o, &err);
        const char *want_err = json_string_value(json_object_get(e, "error"));
        if (want_err) {
            errors++;
            if (rc != TRL_EINVAL || err.code != TRL_EINVAL ||
                !strstr(err.message, want_err))
                fail_msg("'%s': want error '%s', got %d '%s'", line, want_err,
                         rc, err.message);
            continue;
        }
        if (rc != 0)
            fail_msg("'%s': %s", line, err.message);
        const char *stmt = str(e, "stmt");
        if (o.loops != u64(json_object_get(e, "loops")) ||
            o.repeat != json_integer_value(json_object_get(e, "repeat")) ||
            o.precision != json_integer_value(json_object_get(e,
                                                              "precision")) ||
            o.quiet != json_integer_value(json_object_get(e, "quiet")) ||
            o.return_result != json_integer_value(json_object_get(e,
                                                   "return_result")) ||
            o.clock != clock_named(str(e, "clock")) || strcmp(o.stmt, stmt))
            fail_msg("'%s': got -n %llu -r %d -p %d q%d o%d clock %d stmt "
                     "'%s'; want stmt '%s'", line,
                     (unsigned long long)o.loops, o.repeat, o.precision,
                     o.quiet, o.return_result, (int)o.clock, o.stmt, stmt);
        /* the statement is the caller's text, not a copy */
        assert_true(o.stmt >= line && o.stmt <= line + strlen(line));
    }
    json_decref(root);
    assert_true(errors > 10);
}

/* ---- beyond the fixtures ------------------------------------------------ */

static void test_format_cuts_like_snprintf(void **state)
{
    (void)state;
    char buf[8];
    /* "1h 2min 3s" needs 10 bytes */
    assert_int_equal(trl_timing_format(3723.0, 3, 0, buf, sizeof buf), 10);
    assert_string_equal(buf, "1h 2min");
    assert_int_equal(trl_timing_format(3723.0, 3, 0, NULL, 0), 10);
    assert_int_equal(trl_timing_format(3.21e-6, 3, 0, buf, 5), 8);  /* µ: 2 */
    assert_string_equal(buf, "3.21");
    /* where IPython raises OverflowError */
    assert_int_equal(trl_timing_format(INFINITY, 3, 0, buf, sizeof buf), 5);
    assert_string_equal(buf, "inf s");
    /* any NaN, whatever its sign bit, as Python prints it */
    trl_timing_format(-NAN, 3, 0, buf, sizeof buf);
    assert_string_equal(buf, "nan ns");
}

static void test_report_cut_keeps_length(void **state)
{
    (void)state;
    double runs[2] = {0.25, 2.0};
    trl_timeit_result r = {0};
    assert_int_equal(trl_timeit_result_init(&r, 1, runs, 2, 3, NULL), 0);
    r.compile_time = 0.5;
    char full[1024];
    size_t n = trl_timeit_report(&r, 0, full, sizeof full);
    assert_int_equal(n, strlen(full));
    assert_non_null(strstr(full, "took 8.00 times"));
    assert_non_null(strstr(full, "\nCompiler time: 0.50 s\n"));
    for (size_t size = 0; size <= n + 1; size += 7) {
        char cut[1024];
        memset(cut, 'x', sizeof cut);
        assert_int_equal(trl_timeit_report(&r, 0, size ? cut : NULL, size), n);
        if (size) {
            assert_int_equal(strlen(cut), size - 1 < n ? size - 1 : n);
            assert_memory_equal(cut, full, strlen(cut));
        }
    }
    char small[16];
    assert_int_equal(trl_timeit_summary(&r, 1, small, sizeof small),
                     trl_timeit_summary(&r, 1, NULL, 0));
    assert_int_equal(trl_timeit_warning(&r, NULL, 0),
                     strlen("The slowest run took 8.00 times longer than the "
                            "fastest. This could mean that an intermediate "
                            "result is being cached."));
    trl_timeit_result_free(&r);
}

static void test_driver_repeats_given_loops(void **state)
{
    (void)state;
    double times[3] = {0.01, 0.02, 0.03};
    script s = {.seconds = times, .n = 3, .fail_at = -1};
    trl_timeit_opts o;
    trl_error err = {0};
    assert_int_equal(trl_timeit_parse("-n 5 -r 3 x = 1", &o, &err), 0);
    trl_timeit_result r = {0};
    assert_int_equal(trl_timeit_run(&o, scripted, &s, &r, &err), 0);
    assert_int_equal(s.next, 3);
    for (int k = 0; k < 3; k++)
        assert_true(s.calls[k] == 5);
    assert_true(r.loops == 5 && r.repeat == 3);
    assert_true(r.all_runs[2] == 0.03);
    assert_true(r.best == 0.01 / 5 && r.worst == 0.03 / 5);
    assert_true(r.compile_time == 0.0 && r.precision == 3);
    trl_timeit_result_free(&r);
    trl_timeit_result_free(&r);   /* harmless twice */
}

static void test_driver_failure_in_auto_range(void **state)
{
    (void)state;
    double times[8] = {0.001, 0.01, 0.1, 0.3, 0.3, 0.3, 0.3, 0.3};
    script s = {.seconds = times, .n = 8, .fail_at = 2,
                .fail_code = TRL_EINTR, .set_message = 1};
    trl_timeit_opts o;
    trl_timeit_opts_init(&o);
    trl_timeit_result r = {0};
    trl_error err = {0};
    assert_int_equal(trl_timeit_run(&o, scripted, &s, &r, &err), TRL_EINTR);
    assert_int_equal(err.code, TRL_EINTR);
    assert_string_equal(err.message, "KeyboardInterrupt");
    assert_int_equal(s.next, 3);   /* nothing runs after the failure */
    assert_true(s.calls[2] == 100);
    assert_null(r.all_runs);
    assert_int_equal(r.repeat, 0);
}

static void test_driver_failure_in_runs(void **state)
{
    (void)state;
    double times[4] = {0.5, 0.5, 0.5, 0.5};
    /* the callback fails without a message: the driver writes one */
    script s = {.seconds = times, .n = 4, .fail_at = 3,
                .fail_code = TRL_EIO};
    trl_timeit_opts o;
    trl_timeit_opts_init(&o);
    o.repeat = 3;
    trl_timeit_result r = {0};
    trl_error err = {0};
    assert_int_equal(trl_timeit_run(&o, scripted, &s, &r, &err), TRL_EIO);
    assert_int_equal(err.code, TRL_EIO);
    assert_non_null(strstr(err.message, "failed"));
    assert_int_equal(s.next, 4);
    assert_null(r.all_runs);

    /* a positive return is a failure too */
    script s2 = {.seconds = times, .n = 4, .fail_at = 0, .fail_code = 1};
    assert_int_equal(trl_timeit_run(&o, scripted, &s2, &r, &err), TRL_EINVAL);
    assert_int_equal(err.code, TRL_EINVAL);
    assert_int_equal(s2.next, 1);
    /* and err may be NULL */
    script s3 = {.seconds = times, .n = 4, .fail_at = 1,
                 .fail_code = TRL_EINTR, .set_message = 1};
    assert_int_equal(trl_timeit_run(&o, scripted, &s3, &r, NULL), TRL_EINTR);
}

static void test_driver_rejects_bad_opts(void **state)
{
    (void)state;
    script s = {.n = 0, .fail_at = -1};
    trl_timeit_opts o;
    trl_timeit_opts_init(&o);
    o.repeat = 0;
    trl_timeit_result r = {0};
    trl_error err = {0};
    assert_int_equal(trl_timeit_run(&o, scripted, &s, &r, &err), TRL_EINVAL);
    assert_int_equal(s.next, 0);
    assert_non_null(strstr(err.message, "-r"));

    double one = 1.0;
    assert_int_equal(trl_timeit_result_init(&r, 0, &one, 1, 3, &err),
                     TRL_EINVAL);
    assert_int_equal(trl_timeit_result_init(&r, 1, &one, 0, 3, &err),
                     TRL_EINVAL);
    assert_null(r.all_runs);
}

static void test_parse_defaults_and_messages(void **state)
{
    (void)state;
    trl_timeit_opts o;
    trl_error err = {0};
    assert_int_equal(trl_timeit_parse("", &o, &err), 0);
    assert_true(o.loops == 0 && o.repeat == TRL_TIMEIT_DEFAULT_REPEAT &&
                o.precision == TRL_TIMING_DEFAULT_PRECISION && !o.quiet &&
                !o.return_result && o.clock == TRL_TIMING_CLOCK_PERF);
    assert_string_equal(o.stmt, "");
    /* a value may be the next word even when it looks like an option */
    assert_int_equal(trl_timeit_parse("-p -3 x", &o, &err), TRL_EINVAL);
    assert_non_null(strstr(err.message, "not '-3'; usage: %timeit [-n<N>"));
    /* a long bad value is named, cut, and the message still ends well */
    char line[1200] = "-n ";
    memset(line + 3, 'z', 1000);
    line[1003] = '\0';
    assert_int_equal(trl_timeit_parse(line, &o, &err), TRL_EINVAL);
    assert_true(strlen(err.message) < TRL_ERROR_MAX);
    assert_non_null(strstr(err.message, "'; usage: %timeit"));
    /* -n up to 2^64 - 1, one more is an error */
    assert_int_equal(trl_timeit_parse("-n 18446744073709551615 x", &o, &err),
                     0);
    assert_true(o.loops == UINT64_MAX);
    assert_int_equal(trl_timeit_parse("-n 18446744073709551616 x", &o, &err),
                     TRL_EINVAL);
    /* underscores only between digits, as int() */
    assert_int_equal(trl_timeit_parse("-n 1__0 x", &o, &err), TRL_EINVAL);
    assert_int_equal(trl_timeit_parse("-n _10 x", &o, &err), TRL_EINVAL);
    assert_int_equal(trl_timeit_parse("-n 10_ x", &o, &err), TRL_EINVAL);
    assert_int_equal(trl_timeit_parse("-n + x", &o, &err), TRL_EINVAL);
    assert_int_equal(trl_timeit_parse("-r 2147483648 x", &o, &err),
                     TRL_EINVAL);
    assert_int_equal(trl_timeit_parse("-r 2147483647 x", &o, &err), 0);
}

static void test_clocks_move_forward(void **state)
{
    (void)state;
    /* sanity only: no duration is asserted */
    for (int c = TRL_TIMING_CLOCK_PERF; c <= TRL_TIMING_CLOCK_CPU; c++) {
        double a = trl_timing_now((trl_timing_clock)c);
        double b = trl_timing_now((trl_timing_clock)c);
        assert_true(isfinite(a) && a >= 0 && b >= a);
    }
    double user, sys;
    trl_timing_cpu(&user, &sys);
    assert_true(user >= 0 && sys >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_matches_ipython),
        cmocka_unit_test(test_results_match_ipython),
        cmocka_unit_test(test_timeit_magic_matches_ipython),
        cmocka_unit_test(test_time_magic_matches_ipython),
        cmocka_unit_test(test_options_match_ipython),
        cmocka_unit_test(test_format_cuts_like_snprintf),
        cmocka_unit_test(test_report_cut_keeps_length),
        cmocka_unit_test(test_driver_repeats_given_loops),
        cmocka_unit_test(test_driver_failure_in_auto_range),
        cmocka_unit_test(test_driver_failure_in_runs),
        cmocka_unit_test(test_driver_rejects_bad_opts),
        cmocka_unit_test(test_parse_defaults_and_messages),
        cmocka_unit_test(test_clocks_move_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
