/* test_lua_engine.c - the Lua engine through the engine interface, with a
 * recording context instead of sockets: results, streams, errors, rich
 * display, limits, interrupt, is_complete, completion, inspection. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cmocka.h>

#include "kernel/kernel_int.h"

typedef struct recorder {
    json_t *msgs;      /* [[msg_type, content], ...] */
    char out[8192];    /* stdout text */
    char err[8192];    /* stderr text */
} recorder;

typedef struct fixture fixture;
static fixture *F;
static void interrupt_engine(void);

/* Set by a test: the next execute_result is followed at once by an
 * interrupt, as a SIGINT landing just after the cell's result went out. */
static int interrupt_on_result;

static int rec_publish(void *ud, const char *type, json_t *content)
{
    recorder *r = ud;
    json_array_append_new(r->msgs, json_pack("[s, o]", type, content));
    if (interrupt_on_result && strcmp(type, "execute_result") == 0) {
        interrupt_on_result = 0;
        interrupt_engine();
    }
    return 0;
}

static int rec_stream(void *ud, trl_stream which, const char *text,
                      size_t len)
{
    recorder *r = ud;
    char *buf = which == TRL_STDERR ? r->err : r->out;
    strncat(buf, text, len < 8000 - strlen(buf) ? len : 8000 - strlen(buf));
    return 0;
}

static int rec_input(void *ud, const char *prompt, int password,
                     char **line_out, trl_error *err)
{
    (void)ud; (void)prompt; (void)password; (void)err;
    *line_out = strdup("typed");
    return 0;
}

struct fixture {
    trl_engine *e;
    recorder rec;
    trl_exec_ctx ctx;
    int count;
};

static void interrupt_engine(void)
{
    F->e->ops->interrupt(F->e);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    trl_error err;
    trl_engine_config cfg = {.memory_limit = 64u << 20};
    f->e = trl_lua_engine_new(&cfg, &err);
    assert_non_null(f->e);
    *state = F = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    trl__ctx_release(&f->ctx);
    json_decref(f->rec.msgs);
    f->e->ops->destroy(f->e);
    free(f);
    return 0;
}

/* Runs code as cell number ++count; returns the engine's return code. */
static int run(fixture *f, const char *code, int allow_stdin)
{
    trl__ctx_release(&f->ctx);
    json_decref(f->rec.msgs);
    memset(&f->rec, 0, sizeof f->rec);
    f->rec.msgs = json_array();
    trl__ctx_sink sink = {rec_publish, rec_stream, rec_input, &f->rec};
    trl__ctx_init_sink(&f->ctx, &sink);
    f->ctx.execution_count = ++f->count;
    f->ctx.allow_stdin = allow_stdin;
    return f->e->ops->execute(f->e, code, &f->ctx);
}

/* The content of the first message of type, or NULL. */
static json_t *first(fixture *f, const char *type)
{
    size_t i;
    json_t *m;
    json_array_foreach(f->rec.msgs, i, m)
        if (strcmp(json_string_value(json_array_get(m, 0)), type) == 0)
            return json_array_get(m, 1);
    return NULL;
}

static const char *result_text(fixture *f)
{
    json_t *r = first(f, "execute_result");
    return r ? json_string_value(json_object_get(
                   json_object_get(r, "data"), "text/plain"))
             : NULL;
}

static void test_last_expression_is_the_result(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "1 + 2", 0), 0);
    assert_string_equal(result_text(f), "3");
    run(f, "x = 6\nx * 7", 0);
    assert_string_equal(result_text(f), "42");
    run(f, "return 1, 'a'", 0);
    assert_string_equal(result_text(f), "1\t\"a\"");
    run(f, "{1, 2, k = 'v'}", 0);
    assert_string_equal(result_text(f), "{1, 2, k = \"v\"}");
}

static void test_cell_ending_in_a_block_runs_whole(void **state)
{
    fixture *f = *state;
    run(f, "for i = 1, 3 do\n  print(i)\nend", 0);
    assert_string_equal(f->rec.out, "1\n2\n3\n");
    assert_null(first(f, "execute_result"));
    run(f, "for i = 1, 3 do\n  i\nend", 0);
    assert_true(f->ctx.failed);
    assert_string_equal(f->ctx.ename, "SyntaxError");
    run(f, "do\n  local y = 2\n  y = y * 3\nend\nq = 1\nq +\n 1", 0);
    assert_string_equal(result_text(f), "2");
}

static void test_trailing_semicolon_and_nil_show_nothing(void **state)
{
    fixture *f = *state;
    run(f, "1 + 2;", 0);
    assert_null(first(f, "execute_result"));
    run(f, "nil", 0);
    assert_null(first(f, "execute_result"));
    run(f, "print('x')", 0);
    assert_null(first(f, "execute_result"));
}

static void test_globals_persist_top_level_locals_do_not(void **state)
{
    fixture *f = *state;
    run(f, "g = 10\nlocal l = 5", 0);
    run(f, "g", 0);
    assert_string_equal(result_text(f), "10");
    run(f, "l", 0);
    assert_null(first(f, "execute_result"));
}

static void test_print_and_io_go_to_streams(void **state)
{
    fixture *f = *state;
    run(f, "print('hello', 1, nil)\nio.write('a', 2)\n"
           "io.stderr:write('oops\\n')", 0);
    assert_string_equal(f->rec.out, "hello\t1\tnil\na2");
    assert_string_equal(f->rec.err, "oops\n");
    assert_null(first(f, "execute_result"));
    assert_false(f->ctx.failed);
}

static void test_runtime_error_names_cell_and_line(void **state)
{
    fixture *f = *state;
    assert_int_not_equal(run(f, "local a = 1\nerror('boom')", 0), 0);
    assert_true(f->ctx.failed);
    assert_string_equal(f->ctx.ename, "LuaError");
    char want[64];
    snprintf(want, sizeof want, "In [%d], line 2: boom", f->count);
    assert_string_equal(f->ctx.evalue, want);
    assert_true(json_array_size(f->ctx.traceback) >= 1);
    assert_string_equal(f->rec.out, "");
}

static void test_syntax_error(void **state)
{
    fixture *f = *state;
    run(f, "x = = 1", 0);
    assert_true(f->ctx.failed);
    assert_string_equal(f->ctx.ename, "SyntaxError");
    assert_non_null(strstr(f->ctx.evalue, "line 1"));
}

static void test_records_display_as_html_table(void **state)
{
    fixture *f = *state;
    run(f, "display({{a = 1, b = 'x<'}, {a = 2, b = 'y'}})", 0);
    json_t *d = first(f, "display_data");
    assert_non_null(d);
    const char *html = json_string_value(
        json_object_get(json_object_get(d, "data"), "text/html"));
    assert_non_null(html);
    assert_non_null(strstr(html, "<th>a</th><th>b</th>"));
    assert_non_null(strstr(html, "<td>x&lt;</td>"));
    assert_true(json_is_object(json_object_get(d, "metadata")));
    /* display()'s handle is not the cell's result */
    assert_null(first(f, "execute_result"));
}

static void test_repr_metamethods(void **state)
{
    fixture *f = *state;
    run(f, "setmetatable({}, {__repr_html = function() return '<i>v</i>' "
           "end, __repr_svg = function() return '<svg/>' end, "
           "__tostring = function() return 'V' end})", 0);
    json_t *data = json_object_get(first(f, "execute_result"), "data");
    assert_string_equal(json_string_value(json_object_get(data, "text/html")),
                        "<i>v</i>");
    assert_string_equal(
        json_string_value(json_object_get(data, "image/svg+xml")), "<svg/>");
    assert_string_equal(json_string_value(json_object_get(data, "text/plain")),
                        "V");
}

static void test_display_handle_updates_in_place(void **state)
{
    fixture *f = *state;
    run(f, "h = display('1%')\nh:update('50%')", 0);
    json_t *d = first(f, "display_data"), *u = first(f, "update_display_data");
    assert_non_null(d);
    assert_non_null(u);
    const char *id1 = json_string_value(
        json_object_get(json_object_get(d, "transient"), "display_id"));
    const char *id2 = json_string_value(
        json_object_get(json_object_get(u, "transient"), "display_id"));
    assert_string_equal(id1, id2);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(u, "data"), "text/plain")),
                        "\"50%\"");
}

static void test_clear_output(void **state)
{
    fixture *f = *state;
    run(f, "clear_output(true)", 0);
    assert_true(json_is_true(json_object_get(first(f, "clear_output"),
                                             "wait")));
}

static void test_input_needs_allow_stdin(void **state)
{
    fixture *f = *state;
    run(f, "name = input('who? ')", 0);
    assert_true(f->ctx.failed);
    assert_non_null(strstr(f->ctx.evalue, "does not accept input"));
    run(f, "name = input('who? ')\nname", 1);
    assert_false(f->ctx.failed);
    assert_string_equal(result_text(f), "\"typed\"");
}

static void test_memory_limit_is_an_error_not_a_crash(void **state)
{
    fixture *f = *state;
    run(f, "t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end",
        0);
    assert_true(f->ctx.failed);
    assert_string_equal(f->ctx.ename, "MemoryError");
    run(f, "t = nil\ncollectgarbage()\n1 + 1", 0);
    assert_false(f->ctx.failed);
    assert_string_equal(result_text(f), "2");
}

static void on_alarm(int sig)
{
    (void)sig;
    F->e->ops->interrupt(F->e);
}

static void test_interrupt_stops_an_infinite_loop(void **state)
{
    fixture *f = *state;
    signal(SIGALRM, on_alarm);
    struct itimerval t = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &t, NULL);
    /* pcall must not be able to swallow it for good */
    run(f, "while true do pcall(function() while true do end end) end", 0);
    assert_true(f->ctx.failed);
    assert_string_equal(f->ctx.ename, "KeyboardInterrupt");
    run(f, "2 * 21", 0);
    assert_string_equal(result_text(f), "42");
}

static void test_interrupt_stops_a_long_string_rep(void **state)
{
    fixture *f = *state;
    size_t used, limit;
    f->e->ops->memory(f->e, 1, (size_t)2 << 30, &used, &limit);
    signal(SIGALRM, on_alarm);
    struct itimerval t = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &t, NULL);
    run(f, "s = string.rep('ab', 4e8, ',')", 0);
    assert_true(f->ctx.failed);
    assert_string_equal(f->ctx.ename, "KeyboardInterrupt");
    run(f, "string.rep('ab', 3, '-')", 0);
    assert_string_equal(result_text(f), "\"ab-ab-ab\"");
}

/* The interrupt storm (tests/soak) found a cell reported with both its
 * execute_result and a KeyboardInterrupt: the signal came after the result
 * was out, and the hook raised at the cell's own return. */
static void test_interrupt_after_the_result_is_too_late(void **state)
{
    fixture *f = *state;
    interrupt_on_result = 1;
    assert_int_equal(run(f, "x = 6\nx * 7", 0), 0);
    assert_int_equal(interrupt_on_result, 0);  /* it did fire */
    assert_false(f->ctx.failed);
    assert_string_equal(result_text(f), "42");
    run(f, "x + 1", 0);  /* and nothing is left to stop the next cell */
    assert_false(f->ctx.failed);
    assert_string_equal(result_text(f), "7");
}

static void on_alarm_sigint(int sig)
{
    (void)sig;
    raise(SIGINT);  /* the kernel's own handler: flag, then the engine */
}

/* The storm found a short cell's result shown as `<number (tostring
 * failed)>`: the repr's pcall had caught the interrupt, and the cell went
 * on as if __tostring had failed. A repr interrupted stops the cell, and
 * frees what it had built (the nested table leaked under ASan). */
static void test_interrupt_in_a_repr_stops_the_cell(void **state)
{
    fixture *f = *state;
    static const char *const cells[] = {
        "setmetatable({}, {__tostring = function() while true do end end})",
        "setmetatable({}, {__repr_html = function() while true do end end})",
        "{1, setmetatable({}, {__tostring = function() while true do end "
        "end})}",
        "return 1, setmetatable({}, {__tostring = function() while true do "
        "end end})",
        /* a userdata: no records table is tried after its __repr_html */
        "u = io.tmpfile()\n"
        "debug.setmetatable(u, {__repr_html = function() while true do end "
        "end})\nu",
    };
    assert_int_equal(trl__interrupt_install(), 0);
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++) {
        signal(SIGALRM, on_alarm_sigint);  /* C11's signal() is one-shot */
        trl__interrupt_clear();
        trl__interrupt_arm(f->e);
        struct itimerval t = {{0, 0}, {0, 100000}};
        setitimer(ITIMER_REAL, &t, NULL);
        run(f, cells[i], 0);
        trl__interrupt_disarm();
        assert_true(f->ctx.failed);
        assert_string_equal(f->ctx.ename, "KeyboardInterrupt");
        assert_null(first(f, "execute_result"));
    }
    trl__interrupt_clear();
    signal(SIGINT, SIG_DFL);
    run(f, "2 * 21", 0);
    assert_string_equal(result_text(f), "42");
}

static void test_os_exit_is_refused(void **state)
{
    fixture *f = *state;
    run(f, "os.exit(1)", 0);
    assert_true(f->ctx.failed);
    assert_non_null(strstr(f->ctx.evalue, "os.exit is disabled"));
}

static void test_is_complete(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *code;
        trl_code_status want;
    } cases[] = {
        {"", TRL_CODE_COMPLETE},
        {"1", TRL_CODE_COMPLETE},
        {"x = 1", TRL_CODE_COMPLETE},
        {"for i = 1, 3 do", TRL_CODE_INCOMPLETE},
        {"function f()\n  return 1", TRL_CODE_INCOMPLETE},
        {"x = {", TRL_CODE_INCOMPLETE},
        {"s = [[abc", TRL_CODE_INCOMPLETE},
        {"--[[ comment", TRL_CODE_INCOMPLETE},
        {"x = = 1", TRL_CODE_INVALID},
        {"end", TRL_CODE_INVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char indent[16] = "";
        trl_code_status st =
            f->e->ops->is_complete(f->e, cases[i].code, indent, sizeof indent);
        if (st != cases[i].want)
            fail_msg("is_complete(%s) = %d, want %d", cases[i].code, st,
                     cases[i].want);
    }
}

static int has_match(trl_completion *c, const char *m)
{
    size_t i;
    json_t *v;
    json_array_foreach(c->matches, i, v)
        if (strcmp(json_string_value(v), m) == 0)
            return 1;
    return 0;
}

static void test_completion(void **state)
{
    fixture *f = *state;
    run(f, "tbl = {alpha = 1, beta = 2}\ns = 'x'", 0);
    trl_completion c = {0};
    f->e->ops->complete(f->e, "pri", 3, &c);
    assert_true(has_match(&c, "print"));
    assert_int_equal(c.cursor_start, 0);
    json_decref(c.matches);
    memset(&c, 0, sizeof c);
    const char *code = "y = tbl.al";
    f->e->ops->complete(f->e, code, strlen(code), &c);
    assert_true(has_match(&c, "alpha"));
    assert_false(has_match(&c, "beta"));
    assert_int_equal(c.cursor_start, strlen("y = tbl."));
    json_decref(c.matches);
    memset(&c, 0, sizeof c);
    code = "s:up";
    f->e->ops->complete(f->e, code, strlen(code), &c);
    assert_true(has_match(&c, "upper"));
    json_decref(c.matches);
    memset(&c, 0, sizeof c);
    code = "wh";
    f->e->ops->complete(f->e, code, strlen(code), &c);
    assert_true(has_match(&c, "while"));
    json_decref(c.matches);
    memset(&c, 0, sizeof c);
    run(f, "tbl['two words'] = 1", 0);
    code = "tbl[\"tw";
    f->e->ops->complete(f->e, code, strlen(code), &c);
    assert_true(has_match(&c, "two words"));
    assert_int_equal(c.cursor_start, strlen("tbl[\""));
    json_decref(c.matches);
}

static void test_inspect(void **state)
{
    fixture *f = *state;
    json_t *data = NULL;
    f->e->ops->inspect(f->e, "display(", 8, 0, &data);
    assert_non_null(data);
    assert_non_null(strstr(json_string_value(json_object_get(data,
                                                             "text/plain")),
                           "display(value [, mime])"));
    json_decref(data);
    data = NULL;
    f->e->ops->inspect(f->e, "no_such_thing", 3, 0, &data);
    assert_null(data);
}

static void test_variables_and_reset(void **state)
{
    fixture *f = *state;
    run(f, "aa = 1\nbb = {}\nprint = print", 0);
    json_t *v = f->e->ops->variables(f->e);
    assert_string_equal(json_string_value(json_object_get(v, "aa")),
                        "number");
    assert_string_equal(json_string_value(json_object_get(v, "bb")), "table");
    assert_null(json_object_get(v, "print"));
    assert_null(json_object_get(v, "string"));
    json_decref(v);
    f->e->ops->reset(f->e);
    v = f->e->ops->variables(f->e);
    assert_int_equal(json_object_size(v), 0);
    json_decref(v);
    run(f, "print(type(string.rep))", 0);
    assert_string_equal(f->rec.out, "function\n");
}

static void test_user_expression_evaluates_without_output(void **state)
{
    fixture *f = *state;
    run(f, "z = 5", 0);
    json_t *data = NULL;
    trl_error err;
    assert_int_equal(f->e->ops->evaluate(f->e, "z * 2", &data, &err), 0);
    assert_string_equal(json_string_value(json_object_get(data,
                                                          "text/plain")),
                        "10");
    json_decref(data);
    assert_int_not_equal(f->e->ops->evaluate(f->e, "nope(", &data, &err), 0);
}

/* Without a registry, a cell that needs one says why the kernel could
 * not open it: the kernel log is not where a notebook user looks. */
static void test_missing_registry_says_why(void **state)
{
    fixture *f = *state;
    run(f, "features.list()", 0);
    assert_true(f->ctx.failed);
    assert_non_null(strstr(f->ctx.evalue, "the feature registry is not "
                                          "available (TRELLIS_REGISTRY"));

    static const char why[] = "feature registry '/full/reg.sqlite': cannot "
                              "create the tables: the disk is full";
    trl_error err;
    trl_engine_config cfg = {.memory_limit = 64u << 20,
                             .registry_error = why};
    f->e->ops->destroy(f->e);
    f->e = trl_lua_engine_new(&cfg, &err);
    assert_non_null(f->e);
    const char *cells[] = {"features.register('x', features.frame{a = {1}})",
                           "models.get('m@1')", "models.history('m')"};
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++) {
        run(f, cells[i], 0);
        assert_true(f->ctx.failed);
        if (!strstr(f->ctx.evalue, "registry is not available: feature "
                                   "registry '/full/reg.sqlite': cannot "
                                   "create the tables: the disk is full"))
            fail_msg("%s: %s", cells[i], f->ctx.evalue);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_last_expression_is_the_result),
        T(test_cell_ending_in_a_block_runs_whole),
        T(test_trailing_semicolon_and_nil_show_nothing),
        T(test_globals_persist_top_level_locals_do_not),
        T(test_print_and_io_go_to_streams),
        T(test_runtime_error_names_cell_and_line),
        T(test_syntax_error),
        T(test_records_display_as_html_table),
        T(test_repr_metamethods),
        T(test_display_handle_updates_in_place),
        T(test_clear_output),
        T(test_input_needs_allow_stdin),
        T(test_memory_limit_is_an_error_not_a_crash),
        T(test_interrupt_stops_an_infinite_loop),
        T(test_interrupt_stops_a_long_string_rep),
        T(test_interrupt_after_the_result_is_too_late),
        T(test_interrupt_in_a_repr_stops_the_cell),
        T(test_os_exit_is_refused),
        T(test_is_complete),
        T(test_completion),
        T(test_inspect),
        T(test_variables_and_reset),
        T(test_user_expression_evaluates_without_output),
        T(test_missing_registry_says_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
