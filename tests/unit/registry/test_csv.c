/* test_csv.c - csv.c: type inference, quoting, options, lineage, and every
 * kind of bad input, from inline strings and the files in csv/. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trellis/registry.h"

/* csv/ beside this file, found from __FILE__ so the tests run from any
 * build directory. */
static char data_dir[4096];

static const char *data_path(const char *rel)
{
    static char path[4096 + 256];
    if (snprintf(path, sizeof path, "%s%s", data_dir, rel) >=
        (int)sizeof path)
        fail_msg("path too long: %s%s", data_dir, rel);
    return path;
}

/* ---- helpers ------------------------------------------------------------- */

static trl_frame *parse_opts(const char *csv, const trl_csv_options *o)
{
    trl_error err = {0};
    trl_frame *f = trl_csv_parse(csv, strlen(csv), "t.csv", o, &err);
    if (!f)
        fail_msg("unexpected error: %s", err.message);
    return f;
}

static trl_frame *parse(const char *csv)
{
    return parse_opts(csv, NULL);
}

static trl_frame *parse_types(const char *csv, const char *types_json)
{
    json_t *types = json_loads(types_json, 0, NULL);
    assert_non_null(types);
    trl_csv_options o = {',', 1, types};
    trl_frame *f = parse_opts(csv, &o);
    json_decref(types);
    return f;
}

static void check_error_n(const char *csv, size_t len,
                          const trl_csv_options *o, int code,
                          const char *needle)
{
    trl_error err = {0};
    trl_frame *f = trl_csv_parse(csv, len, "t.csv", o, &err);
    if (f) {
        trl_frame_decref(f);
        fail_msg("parsed, expected an error with \"%s\"", needle);
    }
    assert_int_equal(err.code, code);
    if (!strstr(err.message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
}

static void check_error(const char *csv, int code, const char *needle)
{
    check_error_n(csv, strlen(csv), NULL, code, needle);
}

static void check_types_error(const char *csv, const char *types_json,
                              const char *needle)
{
    json_t *types = json_loads(types_json, 0, NULL);
    assert_non_null(types);
    trl_csv_options o = {',', 1, types};
    check_error_n(csv, strlen(csv), &o, TRL_EINVAL, needle);
    json_decref(types);
}

static void check_file_error(const char *rel, int code, const char *needle)
{
    trl_error err = {0};
    trl_frame *f = trl_csv_read(data_path(rel), NULL, &err);
    if (f) {
        trl_frame_decref(f);
        fail_msg("%s parsed, expected an error", rel);
    }
    assert_int_equal(err.code, code);
    if (!strstr(err.message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
}

static trl_column *col(const trl_frame *f, const char *name, trl_dtype type)
{
    trl_column *c = trl_frame_get(f, name);
    if (!c)
        fail_msg("no column '%s'", name);
    if (c->type != type)
        fail_msg("column '%s' is %s, expected %s", name,
                 trl_dtype_name(c->type), trl_dtype_name(type));
    return c;
}

/* Row i of a string column, NULL when missing. */
static const char *str_at(const trl_column *c, size_t i)
{
    int32_t code = c->v.codes[i];
    return code < 0 ? NULL : c->dict->strs[code];
}

/* ---- inference ----------------------------------------------------------- */

static void infers_i64_from_integers(void **state)
{
    (void)state;
    trl_frame *f = parse("n\n1\n-2\n+3\n007\n");
    trl_column *c = col(f, "n", TRL_I64);
    assert_int_equal(f->nrows, 4);
    assert_int_equal(c->v.i64[0], 1);
    assert_int_equal(c->v.i64[1], -2);
    assert_int_equal(c->v.i64[2], 3);
    assert_int_equal(c->v.i64[3], 7);
    assert_null(c->valid);
    trl_frame_decref(f);
}

static void infers_i64_at_the_int64_limits(void **state)
{
    (void)state;
    trl_frame *f = parse("n\n9223372036854775807\n-9223372036854775808\n");
    trl_column *c = col(f, "n", TRL_I64);
    assert_true(c->v.i64[0] == INT64_MAX);
    assert_true(c->v.i64[1] == INT64_MIN);
    trl_frame_decref(f);
}

static void integer_past_int64_makes_f64(void **state)
{
    (void)state;
    trl_frame *f = parse("n\n1\n9223372036854775808\n");
    trl_column *c = col(f, "n", TRL_F64);
    assert_true(c->v.f64[0] == 1.0);
    assert_true(c->v.f64[1] == 9223372036854775808.0);
    trl_frame_decref(f);
}

static void infers_f64_from_decimals_exponents_inf_nan(void **state)
{
    (void)state;
    trl_frame *f = parse("x\n1.5\n-2e3\n.25\n3.\n1E-2\ninf\n-Infinity\n"
                         "nan\nNaN\n4\n");
    trl_column *c = col(f, "x", TRL_F64);
    assert_int_equal(f->nrows, 10);
    assert_true(c->v.f64[0] == 1.5);
    assert_true(c->v.f64[1] == -2000.0);
    assert_true(c->v.f64[2] == 0.25);
    assert_true(c->v.f64[3] == 3.0);
    assert_true(c->v.f64[4] == 0.01);
    assert_true(isinf(c->v.f64[5]) && c->v.f64[5] > 0);
    assert_true(isinf(c->v.f64[6]) && c->v.f64[6] < 0);
    assert_true(isnan(c->v.f64[7]));
    assert_true(isnan(c->v.f64[8]));
    assert_true(c->v.f64[9] == 4.0);
    trl_frame_decref(f);
}

static void infers_bool_in_any_case(void **state)
{
    (void)state;
    trl_frame *f = parse("b\ntrue\nFalse\nTRUE\nfalse\ntRuE\n");
    trl_column *c = col(f, "b", TRL_BOOL);
    uint8_t want[] = {1, 0, 1, 0, 1};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(c->v.b[i], want[i]);
    trl_frame_decref(f);
}

static void infers_str_with_shared_codes(void **state)
{
    (void)state;
    trl_frame *f = parse("s\nred\nblue\nred\n");
    trl_column *c = col(f, "s", TRL_STR);
    assert_int_equal(c->dict->n, 2);
    assert_int_equal(c->v.codes[0], c->v.codes[2]);
    assert_string_equal(str_at(c, 1), "blue");
    trl_frame_decref(f);
}

static void mixed_int_and_float_is_f64(void **state)
{
    (void)state;
    trl_frame *f = parse("x\n1\n2.5\n3\n");
    trl_column *c = col(f, "x", TRL_F64);
    assert_true(c->v.f64[0] == 1.0 && c->v.f64[2] == 3.0);
    trl_frame_decref(f);
}

static void integers_then_decimal_widen_with_missing_kept(void **state)
{
    (void)state;
    trl_frame *f = parse("a,x\n1,1\n2,\n3,-9007199254740993\n4,2.5\n");
    trl_column *x = col(f, "x", TRL_F64);
    assert_true(x->v.f64[0] == 1.0);
    assert_true(isnan(x->v.f64[1]));
    assert_true(x->v.f64[2] == strtod("-9007199254740993", NULL));
    assert_true(x->v.f64[3] == 2.5);
    assert_null(x->valid);
    trl_frame_decref(f);
}

/* A column that looks numeric for thousands of rows and then holds a
 * word is read again as text: every row keeps its exact spelling. */
static void late_word_makes_column_str_with_original_text(void **state)
{
    (void)state;
    size_t rows = 5000, cap = rows * 40 + 64, n = 0;
    char *csv = malloc(cap);
    assert_non_null(csv);
    n += (size_t)snprintf(csv, cap, "i,x,b\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)snprintf(csv + n, cap - n, "%zu,%s,%s\n", i,
                              i == rows - 1 ? "\"oops, \"\"late\"\"\""
                              : i % 7 == 3 ? "" : i % 2 ? "1.50" : "007",
                              i == 4000 ? "maybe" : i % 5 == 1 ? "" : "true");
    trl_frame *f = parse(csv);
    assert_int_equal(f->nrows, rows);
    trl_column *x = col(f, "x", TRL_STR), *b = col(f, "b", TRL_STR);
    assert_int_equal(col(f, "i", TRL_I64)->v.i64[rows - 1], (int64_t)rows - 1);
    assert_string_equal(str_at(x, 0), "007");
    assert_string_equal(str_at(x, 1), "1.50");
    assert_null(str_at(x, 3));
    assert_string_equal(str_at(x, rows - 1), "oops, \"late\"");
    assert_int_equal(x->dict->n, 3);
    assert_string_equal(str_at(b, 0), "true");
    assert_null(str_at(b, 1));
    assert_string_equal(str_at(b, 4000), "maybe");
    trl_frame_decref(f);
    free(csv);
}

static void leading_missing_values_before_first_value(void **state)
{
    (void)state;
    trl_frame *f = parse("k,i,x,b,s\n1,,,,\n2,,,,\n3,5,0.5,false,z\n");
    trl_column *i = col(f, "i", TRL_I64);
    assert_non_null(i->valid);
    assert_int_equal(i->valid[0], 0);
    assert_int_equal(i->valid[1], 0);
    assert_int_equal(i->valid[2], 1);
    assert_int_equal(i->v.i64[2], 5);
    trl_column *x = col(f, "x", TRL_F64);
    assert_true(isnan(x->v.f64[0]) && x->v.f64[2] == 0.5);
    trl_column *b = col(f, "b", TRL_BOOL);
    assert_int_equal(b->v.b[1], TRL_BOOL_MISSING);
    assert_int_equal(b->v.b[2], 0);
    trl_column *s = col(f, "s", TRL_STR);
    assert_int_equal(s->v.codes[0], -1);
    assert_string_equal(str_at(s, 2), "z");
    trl_frame_decref(f);
}

static void str_codes_follow_first_appearance(void **state)
{
    (void)state;
    trl_frame *f = parse("s\nb\n\"a\"\"q\"\nc\nb\n\"a\"\"q\"\n");
    trl_column *s = col(f, "s", TRL_STR);
    int32_t want[] = {0, 1, 2, 0, 1};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(s->v.codes[i], want[i]);
    assert_string_equal(str_at(s, 1), "a\"q");
    trl_frame_decref(f);
}

/* 60k distinct strings, each twice, some longer than the memo keeps
 * inline: every row must come back as written. */
static void many_distinct_strings_round_trip(void **state)
{
    (void)state;
    size_t distinct = 60000, rows = 2 * distinct, cap = rows * 48 + 8, n = 0;
    char *csv = malloc(cap);
    assert_non_null(csv);
    n += (size_t)snprintf(csv, cap, "s\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)snprintf(csv + n, cap - n, i % 3 ? "u%zu\n"
                              : "a-rather-long-user-name-%zu\n",
                              (i * 7919) % distinct);
    trl_frame *f = parse(csv);
    trl_column *s = col(f, "s", TRL_STR);
    assert_int_equal(f->nrows, rows);
    for (size_t i = 0; i < rows; i++) {
        char want[48];
        snprintf(want, sizeof want, i % 3 ? "u%zu" : "a-rather-long-user-name-%zu",
                 (i * 7919) % distinct);
        assert_string_equal(str_at(s, i), want);
    }
    trl_frame_decref(f);
    free(csv);
}

/* Long rows first make the row-count guess too small: the columns must
 * grow again and keep every value. */
static void short_rows_after_long_ones(void **state)
{
    (void)state;
    size_t rows = 60000, cap = 3000 * 120 + rows * 16 + 64, n = 0;
    char *csv = malloc(cap);
    assert_non_null(csv);
    n += (size_t)snprintf(csv, cap, "i,note\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)snprintf(csv + n, cap - n, "%zu,%s\n", i, i < 3000
                              ? "\"a long note, quoted, to make the early "
                                "rows much wider than the later ones....\""
                              : "x");
    trl_frame *f = parse(csv);
    assert_int_equal(f->nrows, rows);
    trl_column *i = col(f, "i", TRL_I64);
    for (size_t k = 0; k < rows; k++)
        assert_int_equal(i->v.i64[k], (int64_t)k);
    trl_frame_decref(f);
    free(csv);
}

static void mixed_number_and_bool_is_str(void **state)
{
    (void)state;
    trl_frame *f = parse("x,y\n1,true\ntrue,2.5\n");
    col(f, "x", TRL_STR);
    trl_column *y = col(f, "y", TRL_STR);
    assert_string_equal(str_at(y, 1), "2.5");
    trl_frame_decref(f);
}

/* Documented choice: no trimming, so " 1" is text, not a number. */
static void spaces_around_numbers_make_str(void **state)
{
    (void)state;
    trl_frame *f = parse("x,y\n 1,2 \n3,4\n");
    trl_column *x = col(f, "x", TRL_STR);
    col(f, "y", TRL_STR);
    assert_string_equal(str_at(x, 0), " 1");
    trl_frame_decref(f);
}

static void hex_and_nan_payloads_are_str(void **state)
{
    (void)state;
    trl_frame *f = parse("x,y\n0x1A,nan(1)\n");
    col(f, "x", TRL_STR);
    col(f, "y", TRL_STR);
    trl_frame_decref(f);
}

static void not_quite_numbers_are_str(void **state)
{
    (void)state;
    const char *bad[] = {"1e", "1e+", ".", "-", "+", "1.2.3", "e5", "1,5",
                         "--1", "1-", "infinit", "1 000"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char csv[64];
        snprintf(csv, sizeof csv, "x\n\"%s\"\n", bad[i]);
        trl_frame *f = parse(csv);
        trl_column *c = col(f, "x", TRL_STR);
        assert_string_equal(str_at(c, 0), bad[i]);
        trl_frame_decref(f);
    }
}

static void quoted_numbers_are_numbers(void **state)
{
    (void)state;
    trl_frame *f = parse("n,x\n\"12\",\"1.5\"\n");
    assert_int_equal(col(f, "n", TRL_I64)->v.i64[0], 12);
    assert_true(col(f, "x", TRL_F64)->v.f64[0] == 1.5);
    trl_frame_decref(f);
}

/* f64 must equal strtod's correctly rounded result on every path: the
 * 2^53 fast path, the 128-bit path (up to 19 digits, 10^-19..10^19, ties
 * included) and strtod itself for the rest. */
static void f64_values_match_strtod_bit_for_bit(void **state)
{
    (void)state;
    static const char *tricky[] = {
        "0.1", "0.30000000000000004", "2.2250738585072014e-308",
        "4.9e-324", "1.7976931348623157e308", "9007199254740993",
        "9007199254740995", "4503599627370496.5", "4503599627370497.5",
        "4503599627370496.501", "45035996273704965e-1", "9007199254740993e3",
        "123456.789012345678", "1e23", "8.589973e9", "0.000000000000000000001",
        "-0.0", "1234567890123456789012345", "3.14159265358979323846",
        "9999999999999999999", "18446744073709551615", "0.9999999999999999999",
        "1e-19", "1e19", "9.999999999999999999e-20", "1.5e308", "1e400",
        "1e-400", "0e999999999999"};
    size_t nt = sizeof tricky / sizeof *tricky, nr = 20000, n = nt + nr;
    char (*vals)[48] = malloc(n * sizeof *vals);
    char *csv = malloc(n * 48 + 8);
    assert_non_null(vals);
    assert_non_null(csv);
    uint64_t s = 42;
    for (size_t i = 0; i < n; i++) {
        if (i < nt) {
            snprintf(vals[i], sizeof vals[i], "%s", tricky[i]);
            continue;
        }
        /* 1..20 random digits, a point somewhere, maybe an exponent */
        char *v = vals[i];
        size_t k = 0;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned ndig = 1 + (unsigned)(s >> 59) % 20;
        unsigned point = (unsigned)(s >> 40) % (ndig + 1);
        if (s >> 63)
            v[k++] = '-';
        for (unsigned d = 0; d < ndig; d++) {
            if (d == point)
                v[k++] = '.';
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            v[k++] = (char)('0' + (s >> 33) % 10);
        }
        if ((s >> 20) % 3 == 0)
            k += (size_t)snprintf(v + k, 16, "e%d", (int)((s >> 8) % 51) - 25);
        v[k] = '\0';
    }
    size_t len = (size_t)snprintf(csv, 8, "x\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(csv + len, "%s\n", vals[i]);
    trl_frame *f = parse(csv);
    trl_column *c = col(f, "x", TRL_F64);
    assert_int_equal(c->len, n);
    for (size_t i = 0; i < n; i++) {
        double want = strtod(vals[i], NULL);
        if (memcmp(&want, &c->v.f64[i], sizeof want) != 0)
            fail_msg("'%s': got %.17g, strtod gives %.17g", vals[i],
                     c->v.f64[i], want);
    }
    trl_frame_decref(f);
    free(vals);
    free(csv);
}

/* ---- missing values ------------------------------------------------------ */

static void empty_fields_are_missing_in_every_type(void **state)
{
    (void)state;
    trl_frame *f = parse("i,x,b,s\n1,1.5,true,a\n,,,\n3,,false,\n");
    trl_column *i = col(f, "i", TRL_I64);
    trl_column *x = col(f, "x", TRL_F64);
    trl_column *b = col(f, "b", TRL_BOOL);
    trl_column *s = col(f, "s", TRL_STR);
    assert_non_null(i->valid);
    assert_int_equal(i->valid[0], 1);
    assert_int_equal(i->valid[1], 0);
    assert_int_equal(i->valid[2], 1);
    assert_int_equal(i->v.i64[2], 3);
    assert_true(trl_column_is_missing(i, 1));
    assert_true(isnan(x->v.f64[1]) && isnan(x->v.f64[2]));
    assert_int_equal(b->v.b[1], TRL_BOOL_MISSING);
    assert_int_equal(b->v.b[2], 0);
    assert_int_equal(s->v.codes[1], -1);
    assert_int_equal(s->v.codes[2], -1);
    assert_string_equal(str_at(s, 0), "a");
    trl_frame_decref(f);
}

static void quoted_empty_field_is_missing(void **state)
{
    (void)state;
    trl_frame *f = parse("n,s\n\"\",\"\"\n2,x\n");
    trl_column *n = col(f, "n", TRL_I64);
    assert_true(trl_column_is_missing(n, 0));
    assert_int_equal(col(f, "s", TRL_STR)->v.codes[0], -1);
    trl_frame_decref(f);
}

static void column_with_no_values_is_f64_nan(void **state)
{
    (void)state;
    trl_frame *f = parse("a,b\n1,\n2,\n");
    trl_column *b = col(f, "b", TRL_F64);
    assert_true(isnan(b->v.f64[0]) && isnan(b->v.f64[1]));
    trl_frame_decref(f);
}

/* ---- structure ----------------------------------------------------------- */

static void without_header_columns_are_c1_c2(void **state)
{
    (void)state;
    trl_csv_options o = {',', 0, NULL};
    trl_frame *f = parse_opts("1,x\n2,y\n", &o);
    assert_int_equal(f->nrows, 2);
    assert_int_equal(f->ncols, 2);
    assert_string_equal(f->names[0], "c1");
    assert_string_equal(f->names[1], "c2");
    assert_int_equal(col(f, "c1", TRL_I64)->v.i64[1], 2);
    trl_frame_decref(f);
}

static void quoted_fields_keep_delimiters_newlines_and_quotes(void **state)
{
    (void)state;
    trl_frame *f = parse("id,s\n1,\"a,b\"\n2,\"two\nlines\"\n3,\"say \"\"hi\"\"\"\n"
                         "4,\"\"\"\"\n5,\"crlf\r\ninside\"\n");
    trl_column *s = col(f, "s", TRL_STR);
    assert_int_equal(f->nrows, 5);
    assert_string_equal(str_at(s, 0), "a,b");
    assert_string_equal(str_at(s, 1), "two\nlines");
    assert_string_equal(str_at(s, 2), "say \"hi\"");
    assert_string_equal(str_at(s, 3), "\"");
    assert_string_equal(str_at(s, 4), "crlf\r\ninside");
    trl_frame_decref(f);
}

static void quoted_header_names_are_unquoted(void **state)
{
    (void)state;
    trl_frame *f = parse("\"a,b\",\"say \"\"x\"\"\"\n1,2\n");
    assert_string_equal(f->names[0], "a,b");
    assert_string_equal(f->names[1], "say \"x\"");
    trl_frame_decref(f);
}

static void crlf_line_ends(void **state)
{
    (void)state;
    trl_frame *f = parse("a,b\r\n1,x\r\n2,y\r\n");
    assert_int_equal(f->nrows, 2);
    assert_string_equal(str_at(col(f, "b", TRL_STR), 1), "y");
    trl_frame_decref(f);
}

static void lone_cr_ends_a_line(void **state)
{
    (void)state;
    trl_frame *f = parse("a,b\r1,2\r3,4\r");
    assert_int_equal(f->nrows, 2);
    assert_int_equal(col(f, "b", TRL_I64)->v.i64[1], 4);
    trl_frame_decref(f);
}

static void utf8_bom_is_skipped(void **state)
{
    (void)state;
    trl_frame *f = parse("\xEF\xBB\xBFid,v\n1,2\n");
    assert_string_equal(f->names[0], "id");
    col(f, "id", TRL_I64);
    trl_frame_decref(f);
}

static void last_line_without_newline(void **state)
{
    (void)state;
    trl_frame *f = parse("a,b\n1,2\n3,4");
    assert_int_equal(f->nrows, 2);
    assert_int_equal(col(f, "b", TRL_I64)->v.i64[1], 4);
    trl_frame_decref(f);
    f = parse("a,s\n1,\"x\"");
    assert_string_equal(str_at(col(f, "s", TRL_STR), 0), "x");
    trl_frame_decref(f);
}

static void trailing_delimiter_gives_empty_last_field(void **state)
{
    (void)state;
    trl_frame *f = parse("a,b\n1,\n2,");
    assert_int_equal(f->nrows, 2);
    col(f, "b", TRL_F64);
    trl_frame_decref(f);
}

static void blank_lines_are_skipped(void **state)
{
    (void)state;
    trl_frame *f = parse("\n\na,b\n\n1,2\r\n\r\n3,4\n\n");
    assert_int_equal(f->nrows, 2);
    assert_int_equal(col(f, "a", TRL_I64)->v.i64[1], 3);
    trl_frame_decref(f);
}

static void header_only_gives_zero_rows(void **state)
{
    (void)state;
    trl_frame *f = parse("x,y,z\n");
    assert_int_equal(f->nrows, 0);
    assert_int_equal(f->ncols, 3);
    trl_frame_decref(f);
}

static void semicolon_and_tab_delimiters(void **state)
{
    (void)state;
    trl_csv_options semi = {';', 1, NULL}, tab = {'\t', 1, NULL};
    trl_frame *f = parse_opts("a;b\n1;x,y\n", &semi);
    assert_string_equal(str_at(col(f, "b", TRL_STR), 0), "x,y");
    trl_frame_decref(f);
    f = parse_opts("a\tb\n1\t\"p\tq\"\n", &tab);
    assert_string_equal(str_at(col(f, "b", TRL_STR), 0), "p\tq");
    trl_frame_decref(f);
}

static void zero_delimiter_means_comma(void **state)
{
    (void)state;
    trl_csv_options o = {0, 1, NULL};
    trl_frame *f = parse_opts("a,b\n1,2\n", &o);
    assert_int_equal(f->ncols, 2);
    trl_frame_decref(f);
}

static void utf8_text_is_kept(void **state)
{
    (void)state;
    trl_frame *f = parse("s\nJos\xC3\xA9\n\xE6\x97\xA5\n\xF0\x9F\x8E\x89\n");
    trl_column *s = col(f, "s", TRL_STR);
    assert_string_equal(str_at(s, 0), "Jos\xC3\xA9");
    assert_string_equal(str_at(s, 2), "\xF0\x9F\x8E\x89");
    trl_frame_decref(f);
}

/* ---- type overrides ------------------------------------------------------ */

static void override_str_keeps_text_of_numbers(void **state)
{
    (void)state;
    trl_frame *f = parse_types("zip,n\n007,1\n,2\n", "{\"zip\": \"str\"}");
    trl_column *z = col(f, "zip", TRL_STR);
    assert_string_equal(str_at(z, 0), "007");
    assert_int_equal(z->v.codes[1], -1);
    col(f, "n", TRL_I64);
    trl_frame_decref(f);
}

static void override_i64_with_leading_missing(void **state)
{
    (void)state;
    trl_frame *f = parse_types("n,m\n,1\n,2\n3,4\n", "{\"n\": \"i64\"}");
    trl_column *n = col(f, "n", TRL_I64);
    assert_true(trl_column_is_missing(n, 0) && trl_column_is_missing(n, 1));
    assert_int_equal(n->v.i64[2], 3);
    trl_frame_decref(f);
    f = parse_types("n,m\n,1\n", "{\"n\": \"bool\"}");
    assert_int_equal(col(f, "n", TRL_BOOL)->v.b[0], TRL_BOOL_MISSING);
    trl_frame_decref(f);
}

static void override_f64_and_bool(void **state)
{
    (void)state;
    trl_frame *f = parse_types("x,b\n1,true\n2,\n",
                               "{\"x\": \"f64\", \"b\": \"bool\"}");
    assert_true(col(f, "x", TRL_F64)->v.f64[1] == 2.0);
    assert_int_equal(col(f, "b", TRL_BOOL)->v.b[1], TRL_BOOL_MISSING);
    trl_frame_decref(f);
}

static void override_names_columns_without_header(void **state)
{
    (void)state;
    json_t *types = json_pack("{s:s}", "c2", "str");
    trl_csv_options o = {',', 0, types};
    trl_frame *f = parse_opts("1,2\n", &o);
    assert_string_equal(str_at(col(f, "c2", TRL_STR), 0), "2");
    trl_frame_decref(f);
    json_decref(types);
}

static void override_unknown_column_is_an_error(void **state)
{
    (void)state;
    check_types_error("a\n1\n", "{\"nope\": \"str\"}", "column 'nope'");
}

static void override_unknown_type_is_an_error(void **state)
{
    (void)state;
    check_types_error("a\n1\n", "{\"a\": \"float\"}",
                      "must be \"f64\", \"i64\", \"bool\" or \"str\"");
    check_types_error("a\n1\n", "{\"a\": 3}", "type of column 'a'");
}

static void override_that_is_not_an_object_is_an_error(void **state)
{
    (void)state;
    check_types_error("a\n1\n", "[\"a\"]", "types must be an object");
}

static void override_bad_number_names_line_and_column(void **state)
{
    (void)state;
    check_types_error("id,tenure\n1,3\n2,abc\n", "{\"tenure\": \"f64\"}",
                      "t.csv line 3, column 'tenure': 'abc' is not a number");
}

static void override_bad_integer_names_line_and_column(void **state)
{
    (void)state;
    check_types_error("n\n1\n1.0\n", "{\"n\": \"i64\"}",
                      "t.csv line 3, column 'n': '1.0' is not an integer");
    check_types_error("n\n99999999999999999999\n", "{\"n\": \"i64\"}",
                      "is out of the int64 range");
}

static void override_bad_bool_names_line_and_column(void **state)
{
    (void)state;
    check_types_error("b\ntrue\nyes\n", "{\"b\": \"bool\"}",
                      "t.csv line 3, column 'b': 'yes' is not true/false");
}

static void override_error_counts_crlf_and_quoted_lines(void **state)
{
    (void)state;
    check_types_error("s,n\r\n\"x\r\ny\",1\r\nz,oops\r\n", "{\"n\": \"i64\"}",
                      "line 4, column 'n': 'oops' is not an integer");
}

static void override_error_shortens_long_values(void **state)
{
    (void)state;
    char csv[256] = "n\n";
    memset(csv + 2, 'z', 100);
    check_types_error(csv, "{\"n\": \"f64\"}",
                      "'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz...' is not");
}

/* ---- bad input ----------------------------------------------------------- */

static void ragged_row_names_line_and_counts(void **state)
{
    (void)state;
    check_file_error("invalid/ragged.csv", TRL_EINVAL,
                     "ragged.csv line 7: 4 fields, expected 3");
    check_error("a,b,c\n1,2,3\n1,2\n", TRL_EINVAL,
                "t.csv line 3: 2 fields, expected 3");
}

/* An error after thousands of rows, with every kind of column under way:
 * nothing leaks (the sanitizer and valgrind runs check). */
static void error_late_in_a_big_input_frees_everything(void **state)
{
    (void)state;
    size_t rows = 5000, cap = rows * 40 + 64, n = 0;
    char *csv = malloc(cap);
    assert_non_null(csv);
    n += (size_t)snprintf(csv, cap, "i,x,b,s,t\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)snprintf(csv + n, cap - n, "%zu,%zu.5,true,s%zu,%s\n",
                              i, i, i, i > 100 ? "word" : "1");
    n += (size_t)snprintf(csv + n, cap - n, "1,2,true,x\n");
    check_error_n(csv, n, NULL, TRL_EINVAL, "t.csv line 5002: 4 fields, "
                  "expected 5");
    free(csv);
}

static void ragged_row_after_multiline_field_names_its_line(void **state)
{
    (void)state;
    check_error("a,b\n1,\"x\ny\"\n1,2,3\n", TRL_EINVAL,
                "t.csv line 4: 3 fields, expected 2");
}

static void unclosed_quote_names_the_line_it_opened(void **state)
{
    (void)state;
    check_file_error("invalid/unclosed_quote.csv", TRL_EINVAL,
                     "line 3, column 'b': quote opened here is never closed");
    check_error("a,b\n1,\"x\ny\nz\"\n2,\"abc\n", TRL_EINVAL,
                "t.csv line 5, column 'b': quote opened here is never closed");
}

static void quote_inside_unquoted_field_is_an_error(void **state)
{
    (void)state;
    check_file_error("invalid/stray_quote.csv", TRL_EINVAL,
                     "line 2, column 'b': quote inside an unquoted field");
}

static void text_after_closing_quote_is_an_error(void **state)
{
    (void)state;
    check_file_error("invalid/after_quote.csv", TRL_EINVAL,
                     "line 2, column 'b': text after the closing quote");
}

static void missing_file_is_an_error(void **state)
{
    (void)state;
    trl_error err = {0};
    assert_null(trl_csv_read("no-such-dir/x.csv", NULL, &err));
    assert_int_equal(err.code, TRL_EIO);
    assert_string_equal(err.message, "cannot open 'no-such-dir/x.csv': "
                        "No such file or directory");
}

static void directory_is_an_error(void **state)
{
    (void)state;
    check_file_error("valid", TRL_EIO, "Is a directory");
}

static void empty_file_is_an_error(void **state)
{
    (void)state;
    check_file_error("invalid/empty.csv", TRL_EINVAL,
                     "empty.csv is empty: no header row");
    check_file_error("invalid/bom_only.csv", TRL_EINVAL, "is empty");
    check_error("", TRL_EINVAL, "t.csv is empty");
    trl_csv_options o = {',', 0, NULL};
    check_error_n("\n\r\n", 3, &o, TRL_EINVAL, "t.csv is empty");
}

static void duplicate_header_names_are_an_error(void **state)
{
    (void)state;
    check_file_error("invalid/duplicate_header.csv", TRL_EINVAL,
                     "line 1: duplicate column name 'a' (columns 1 and 3)");
}

static void empty_header_name_is_an_error(void **state)
{
    (void)state;
    check_file_error("invalid/empty_header.csv", TRL_EINVAL,
                     "line 1: column 2 has an empty name");
    check_error("a,\"\"\n1,2\n", TRL_EINVAL, "column 2 has an empty name");
}

static void nul_byte_names_line_and_column(void **state)
{
    (void)state;
    check_file_error("invalid/nul.csv", TRL_EINVAL,
                     "nul.csv line 4, column 'name': contains a NUL byte: "
                     "not a text CSV file");
    check_error_n("a,b\n\"x\0\",1\n", 10, NULL, TRL_EINVAL,
                  "line 2, column 'a': contains a NUL byte");
    check_error_n("a\0b\n", 4, NULL, TRL_EINVAL,
                  "line 1, column 1: contains a NUL byte");
}

static void invalid_utf8_names_line_and_column(void **state)
{
    (void)state;
    check_file_error("invalid/bad_utf8.csv", TRL_EINVAL,
                     "bad_utf8.csv line 3, column 'name': invalid UTF-8");
    /* overlong, surrogate, past U+10FFFF, lone continuation, cut short */
    const char *bad[] = {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                         "\x80", "\xE6\x97", "\"\xFF\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char csv[64];
        snprintf(csv, sizeof csv, "a,b\n1,%s", bad[i]);
        check_error(csv, TRL_EINVAL, "t.csv line 2, column 'b': invalid UTF-8");
    }
}

static void bad_delimiter_is_an_error(void **state)
{
    (void)state;
    trl_csv_options o = {'"', 1, NULL};
    check_error_n("a\n1\n", 4, &o, TRL_EINVAL, "delimiter");
    o.delimiter = '\n';
    check_error_n("a\n1\n", 4, &o, TRL_EINVAL, "delimiter");
}

/* ---- lineage, files, scale ----------------------------------------------- */

static void lineage_records_name_sha256_and_rows(void **state)
{
    (void)state;
    trl_frame *f = parse("a,b\n1,2\n");
    json_t *l = f->lineage;
    assert_non_null(l);
    assert_string_equal(json_string_value(json_object_get(l, "source")), "csv");
    assert_string_equal(json_string_value(json_object_get(l, "path")), "t.csv");
    /* python3 -c 'import hashlib; print(hashlib.sha256(b"a,b\n1,2\n")
     *             .hexdigest())' */
    assert_string_equal(json_string_value(json_object_get(l, "sha256")),
                        "492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470");
    assert_int_equal(json_integer_value(json_object_get(l, "rows")), 1);
    trl_frame_decref(f);
}

static void read_file_gives_values_and_absolute_path(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_frame *f = trl_csv_read(data_path("valid/basic.csv"), NULL, &err);
    if (!f)
        fail_msg("%s", err.message);
    assert_int_equal(f->nrows, 4);
    assert_int_equal(col(f, "id", TRL_I64)->v.i64[3], 4);
    trl_column *score = col(f, "score", TRL_F64);
    assert_true(score->v.f64[1] == 1.25 && isnan(score->v.f64[2]));
    trl_column *active = col(f, "active", TRL_BOOL);
    assert_int_equal(active->v.b[1], 0);
    assert_int_equal(active->v.b[3], TRL_BOOL_MISSING);
    trl_column *name = col(f, "name", TRL_STR);
    assert_int_equal(name->dict->n, 2);
    assert_int_equal(name->v.codes[2], -1);
    const char *path = json_string_value(json_object_get(f->lineage, "path"));
    assert_non_null(path);
    assert_int_equal(path[0], '/');
    assert_non_null(strstr(path, "/csv/valid/basic.csv"));
    assert_string_equal(json_string_value(json_object_get(f->lineage, "sha256")),
                        "e76ac7ff69ce2f1c221a9abdf416b0d14dd8141fe8ffb910ce4e432fd8f9b7b1");
    trl_frame_decref(f);
}

static void read_file_with_bom_crlf_and_quotes(void **state)
{
    (void)state;
    trl_error err = {0};
    trl_frame *f = trl_csv_read(data_path("valid/bom_crlf.csv"), NULL, &err);
    if (!f)
        fail_msg("%s", err.message);
    assert_string_equal(f->names[0], "id");
    trl_column *city = col(f, "city", TRL_STR);
    assert_string_equal(str_at(city, 0), "Paris, France");
    assert_string_equal(str_at(city, 1), "multi\r\nline");
    assert_string_equal(str_at(city, 2), "say \"hi\"");
    trl_frame_decref(f);
}

/* What cannot be mapped is read: a FIFO fed by a child process. */
static void read_file_from_a_pipe(void **state)
{
    (void)state;
    char dir[] = "/tmp/trellis_csv_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/fifo.csv", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *w = fopen(path, "w");
        for (int i = 0; w && i < 30000; i++)
            fprintf(w, i ? "%d,x%d\n" : "n,s\n", i, i % 7);
        _exit(w && fclose(w) == 0 ? 0 : 1);
    }
    trl_error err = {0};
    trl_frame *f = trl_csv_read(path, NULL, &err);
    int status;
    waitpid(pid, &status, 0);
    unlink(path);
    rmdir(dir);
    if (!f)
        fail_msg("%s", err.message);
    assert_int_equal(f->nrows, 29999);
    assert_int_equal(col(f, "n", TRL_I64)->v.i64[29998], 29999);
    assert_int_equal(col(f, "s", TRL_STR)->dict->n, 7);
    trl_frame_decref(f);
}

/* Delimiter of a file in csv/valid, by its extension. */
static char delimiter_for(const char *file)
{
    const char *dot = strrchr(file, '.');
    return dot && !strcmp(dot, ".tsv") ? '\t' : dot && !strcmp(dot, ".ssv")
                                                    ? ';' : ',';
}

static void every_valid_file_parses(void **state)
{
    (void)state;
    DIR *d = opendir(data_path("valid"));
    assert_non_null(d);
    int seen = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char rel[300];
        snprintf(rel, sizeof rel, "valid/%s", e->d_name);
        trl_csv_options o = {delimiter_for(e->d_name), 1, NULL};
        trl_error err = {0};
        trl_frame *f = trl_csv_read(data_path(rel), &o, &err);
        if (!f)
            fail_msg("%s: %s", rel, err.message);
        assert_true(f->ncols >= 2);
        trl_frame_decref(f);
        seen++;
    }
    closedir(d);
    assert_true(seen >= 7);
}

static void every_invalid_file_is_rejected(void **state)
{
    (void)state;
    DIR *d = opendir(data_path("invalid"));
    assert_non_null(d);
    int seen = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char rel[300];
        snprintf(rel, sizeof rel, "invalid/%s", e->d_name);
        trl_error err = {0};
        trl_frame *f = trl_csv_read(data_path(rel), NULL, &err);
        if (f)
            fail_msg("%s parsed", rel);
        assert_int_equal(err.code, TRL_EINVAL);
        /* every message names the file */
        assert_non_null(strstr(err.message, e->d_name));
        seen++;
    }
    closedir(d);
    assert_true(seen >= 10);
}

/* 200k generated rows, parsed from memory and from a temporary file:
 * sums prove every row landed in its place. */
static void large_generated_csv_sums(void **state)
{
    (void)state;
    size_t rows = 200000, cap = rows * 48 + 64, n = 0;
    char *csv = malloc(cap);
    assert_non_null(csv);
    n += (size_t)snprintf(csv, cap, "id,x,flag,name\n");
    for (size_t i = 0; i < rows; i++) {
        if (i % 1000 == 7)  /* some missing x */
            n += (size_t)snprintf(csv + n, cap - n, "%zu,,%s,\"n%zu\"\r\n",
                                  i, i % 3 ? "false" : "true", i % 100);
        else
            n += (size_t)snprintf(csv + n, cap - n, "%zu,%zu.25,%s,n%zu\n",
                                  i, i, i % 3 ? "false" : "TRUE", i % 100);
    }
    char tmp[] = "/tmp/trellis_csv_XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, csv, n), (ssize_t)n);
    close(fd);
    for (int from_file = 0; from_file < 2; from_file++) {
        trl_error err = {0};
        trl_frame *f = from_file ? trl_csv_read(tmp, NULL, &err)
                                 : trl_csv_parse(csv, n, "big.csv", NULL, &err);
        if (!f)
            fail_msg("%s", err.message);
        assert_int_equal(f->nrows, rows);
        trl_column *id = col(f, "id", TRL_I64), *x = col(f, "x", TRL_F64);
        trl_column *flag = col(f, "flag", TRL_BOOL);
        trl_column *name = col(f, "name", TRL_STR);
        int64_t id_sum = 0;
        double x_sum = 0, want_x = 0;
        size_t x_missing = 0, trues = 0;
        for (size_t i = 0; i < rows; i++) {
            id_sum += id->v.i64[i];
            if (isnan(x->v.f64[i]))
                x_missing++;
            else
                x_sum += x->v.f64[i];
            if (i % 1000 != 7)
                want_x += (double)i + 0.25;
            trues += flag->v.b[i] == 1;
            assert_int_equal(atoi(str_at(name, i) + 1), i % 100);
        }
        assert_true(id_sum == (int64_t)(rows * (rows - 1) / 2));
        assert_int_equal(x_missing, rows / 1000);
        assert_true(x_sum == want_x);
        assert_int_equal(trues, (rows + 2) / 3);
        assert_int_equal(name->dict->n, 100);
        assert_string_equal(str_at(name, 12345), "n45");
        trl_frame_decref(f);
    }
    unlink(tmp);
    free(csv);
}

static int always_interrupt(void)
{
    return 1;
}

static void interrupt_stops_a_long_read(void **state)
{
    (void)state;
    size_t rows = (1u << 20) + 10, n = 0;
    char *csv = malloc(2 * rows + 8);
    assert_non_null(csv);
    memcpy(csv, "a\n", 2);
    n = 2;
    for (size_t i = 0; i < rows; i++, n += 2)
        memcpy(csv + n, "1\n", 2);
    trl_registry_set_interrupt(always_interrupt);
    trl_error err = {0};
    trl_frame *f = trl_csv_parse(csv, n, "t.csv", NULL, &err);
    trl_registry_set_interrupt(NULL);
    assert_null(f);
    assert_int_equal(err.code, TRL_EINTR);
    f = trl_csv_parse(csv, n, "t.csv", NULL, &err);
    assert_non_null(f);
    assert_int_equal(f->nrows, rows);
    trl_frame_decref(f);
    free(csv);
}

int main(void)
{
    snprintf(data_dir, sizeof data_dir, "%s", __FILE__);
    char *slash = strrchr(data_dir, '/');
    if (slash)
        strcpy(slash + 1, "csv/");
    else
        strcpy(data_dir, "csv/");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(infers_i64_from_integers),
        cmocka_unit_test(infers_i64_at_the_int64_limits),
        cmocka_unit_test(integer_past_int64_makes_f64),
        cmocka_unit_test(infers_f64_from_decimals_exponents_inf_nan),
        cmocka_unit_test(infers_bool_in_any_case),
        cmocka_unit_test(infers_str_with_shared_codes),
        cmocka_unit_test(mixed_int_and_float_is_f64),
        cmocka_unit_test(integers_then_decimal_widen_with_missing_kept),
        cmocka_unit_test(late_word_makes_column_str_with_original_text),
        cmocka_unit_test(leading_missing_values_before_first_value),
        cmocka_unit_test(str_codes_follow_first_appearance),
        cmocka_unit_test(many_distinct_strings_round_trip),
        cmocka_unit_test(short_rows_after_long_ones),
        cmocka_unit_test(mixed_number_and_bool_is_str),
        cmocka_unit_test(spaces_around_numbers_make_str),
        cmocka_unit_test(hex_and_nan_payloads_are_str),
        cmocka_unit_test(not_quite_numbers_are_str),
        cmocka_unit_test(quoted_numbers_are_numbers),
        cmocka_unit_test(f64_values_match_strtod_bit_for_bit),
        cmocka_unit_test(empty_fields_are_missing_in_every_type),
        cmocka_unit_test(quoted_empty_field_is_missing),
        cmocka_unit_test(column_with_no_values_is_f64_nan),
        cmocka_unit_test(without_header_columns_are_c1_c2),
        cmocka_unit_test(quoted_fields_keep_delimiters_newlines_and_quotes),
        cmocka_unit_test(quoted_header_names_are_unquoted),
        cmocka_unit_test(crlf_line_ends),
        cmocka_unit_test(lone_cr_ends_a_line),
        cmocka_unit_test(utf8_bom_is_skipped),
        cmocka_unit_test(last_line_without_newline),
        cmocka_unit_test(trailing_delimiter_gives_empty_last_field),
        cmocka_unit_test(blank_lines_are_skipped),
        cmocka_unit_test(header_only_gives_zero_rows),
        cmocka_unit_test(semicolon_and_tab_delimiters),
        cmocka_unit_test(zero_delimiter_means_comma),
        cmocka_unit_test(utf8_text_is_kept),
        cmocka_unit_test(override_str_keeps_text_of_numbers),
        cmocka_unit_test(override_i64_with_leading_missing),
        cmocka_unit_test(override_f64_and_bool),
        cmocka_unit_test(override_names_columns_without_header),
        cmocka_unit_test(override_unknown_column_is_an_error),
        cmocka_unit_test(override_unknown_type_is_an_error),
        cmocka_unit_test(override_that_is_not_an_object_is_an_error),
        cmocka_unit_test(override_bad_number_names_line_and_column),
        cmocka_unit_test(override_bad_integer_names_line_and_column),
        cmocka_unit_test(override_bad_bool_names_line_and_column),
        cmocka_unit_test(override_error_counts_crlf_and_quoted_lines),
        cmocka_unit_test(override_error_shortens_long_values),
        cmocka_unit_test(ragged_row_names_line_and_counts),
        cmocka_unit_test(error_late_in_a_big_input_frees_everything),
        cmocka_unit_test(ragged_row_after_multiline_field_names_its_line),
        cmocka_unit_test(unclosed_quote_names_the_line_it_opened),
        cmocka_unit_test(quote_inside_unquoted_field_is_an_error),
        cmocka_unit_test(text_after_closing_quote_is_an_error),
        cmocka_unit_test(missing_file_is_an_error),
        cmocka_unit_test(directory_is_an_error),
        cmocka_unit_test(empty_file_is_an_error),
        cmocka_unit_test(duplicate_header_names_are_an_error),
        cmocka_unit_test(empty_header_name_is_an_error),
        cmocka_unit_test(nul_byte_names_line_and_column),
        cmocka_unit_test(invalid_utf8_names_line_and_column),
        cmocka_unit_test(bad_delimiter_is_an_error),
        cmocka_unit_test(lineage_records_name_sha256_and_rows),
        cmocka_unit_test(read_file_gives_values_and_absolute_path),
        cmocka_unit_test(read_file_with_bom_crlf_and_quotes),
        cmocka_unit_test(read_file_from_a_pipe),
        cmocka_unit_test(every_valid_file_parses),
        cmocka_unit_test(every_invalid_file_is_rejected),
        cmocka_unit_test(large_generated_csv_sums),
        cmocka_unit_test(interrupt_stops_a_long_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
