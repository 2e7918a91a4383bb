/* test_python_engine.c - the Python engine through the engine interface,
 * with a recording context instead of sockets: results and `_`, streams,
 * tracebacks at the cell's lines, interrupt, rich display, input,
 * is_complete, completion, inspection and the %timeit ops. Skipped where
 * libpython is not installed (test_python_api.c checks that message). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cmocka.h>

#include "kernel/kernel_int.h"
#include "trellis/model.h"
#include "trellis/registry.h"
#include "trellis/timing.h"

typedef struct recorder {
    json_t *msgs;      /* [[msg_type, content], ...] */
    char out[8192];
    char err[8192];
} recorder;

static int rec_publish(void *ud, const char *type, json_t *content)
{
    recorder *r = ud;
    json_array_append_new(r->msgs, json_pack("[s, o]", type, content));
    return 0;
}

static int rec_stream(void *ud, trl_stream which, const char *text,
                      size_t len)
{
    recorder *r = ud;
    char *buf = which == TRL_STDERR ? r->err : r->out;
    size_t room = sizeof r->out - 1 - strlen(buf);
    strncat(buf, text, len < room ? len : room);
    return 0;
}

static int rec_input(void *ud, const char *prompt, int password,
                     char **line_out, trl_error *err)
{
    (void)ud; (void)err;
    *line_out = strdup(password ? "secret" : prompt);
    return 0;
}

typedef struct fixture {
    trl_engine *e;
    trl_registry *reg;
    trl_engine *peers[1];
    size_t npeers;
    recorder rec;
    trl_exec_ctx ctx;
    int count;
} fixture;

static fixture *F;

/* Runs code as cell number ++count; cell, when not NULL, is the whole
 * cell code lies in (for its line numbers). */
static int run_in(fixture *f, const char *cell, const char *code)
{
    trl__ctx_release(&f->ctx);
    json_decref(f->rec.msgs);
    memset(&f->rec, 0, sizeof f->rec);
    f->rec.msgs = json_array();
    trl__ctx_sink sink = {rec_publish, rec_stream, rec_input, &f->rec};
    trl__ctx_init_sink(&f->ctx, &sink);
    f->ctx.execution_count = ++f->count;
    f->ctx.allow_stdin = 1;
    f->ctx.cell = cell;
    return f->e->ops->execute(f->e, code, &f->ctx);
}

static int run(fixture *f, const char *code)
{
    return run_in(f, NULL, code);
}

static json_t *first(fixture *f, const char *type)
{
    size_t i;
    json_t *m;
    json_array_foreach(f->rec.msgs, i, m)
        if (strcmp(json_string_value(json_array_get(m, 0)), type) == 0)
            return json_array_get(m, 1);
    return NULL;
}

static const char *result_mime(fixture *f, const char *mime)
{
    json_t *r = first(f, "execute_result");
    return r ? json_string_value(json_object_get(json_object_get(r, "data"),
                                                 mime))
             : NULL;
}

static const char *traceback(fixture *f, char *buf, size_t size)
{
    size_t i, used = 0;
    json_t *line;
    buf[0] = '\0';
    json_array_foreach(f->ctx.traceback, i, line)
        used += (size_t)snprintf(buf + used, used < size ? size - used : 0,
                                 "%s\n", json_string_value(line));
    return buf;
}

static int group_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    trl_error err = {0};
    f->reg = trl_registry_open(":memory:", &err);
    assert_non_null(f->reg);
    trl_engine_config cfg = {0};
    cfg.registry = f->reg;
    cfg.peers = f->peers;
    cfg.npeers = &f->npeers;
    f->e = trl_python_engine_new(&cfg, &err);
    assert_non_null(f->e);
    f->peers[0] = f->e;
    f->npeers = 1;
    *state = F = f;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *f = *state;
    trl__ctx_release(&f->ctx);
    json_decref(f->rec.msgs);
    f->e->ops->destroy(f->e);
    trl_registry_close(f->reg);
    free(f);
    return 0;
}

/* Every test needs Python; the first cell starts it. */
static int needs_python(void **state)
{
    fixture *f = *state;
    if (run(f, "pass") != 0 &&
        strcmp(f->ctx.ename, "PythonUnavailable") == 0) {
        print_message("skipped: %s\n", f->ctx.evalue);
        return -1;
    }
    return 0;
}

static void test_last_expression_and_underscore(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "1 + 2"), 0);
    assert_string_equal(result_mime(f, "text/plain"), "3");
    run(f, "x = 6");
    assert_null(first(f, "execute_result"));
    run(f, "x * 7");
    assert_string_equal(result_mime(f, "text/plain"), "42");
    run(f, "_ + 1");
    assert_string_equal(result_mime(f, "text/plain"), "43");
    run(f, "x  ;  # hidden");
    assert_null(first(f, "execute_result"));
    run(f, "'a;'");  /* a ; inside a string is no trailing ; */
    assert_string_equal(result_mime(f, "text/plain"), "'a;'");
}

static void test_streams(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "import sys\nprint('out', 1)\n"
                            "print('err', file=sys.stderr)\n"
                            "sys.stdout.write('x\\u00e9\\ud800')"), 0);
    assert_string_equal(f->rec.out, "out 1\nx\xc3\xa9?");  /* valid UTF-8 */
    assert_string_equal(f->rec.err, "err\n");
}

static void test_traceback_names_the_cells_lines(void **state)
{
    fixture *f = *state;
    static const char cell[] = "%%python\ndef g():\n    return 1/0\ng()";
    assert_int_equal(run_in(f, cell, cell + 9), TRL_EINVAL);
    assert_string_equal(f->ctx.ename, "ZeroDivisionError");
    assert_string_equal(f->ctx.evalue, "division by zero");
    char tb[4096], want[64];
    traceback(f, tb, sizeof tb);
    snprintf(want, sizeof want, "In [%d], line 4, in <module>", f->count);
    assert_non_null(strstr(tb, want));
    snprintf(want, sizeof want, "In [%d], line 3, in g", f->count);
    assert_non_null(strstr(tb, want));
    assert_non_null(strstr(tb, "    return 1/0"));
    assert_null(strstr(tb, "<trellis>"));
}

static void test_syntax_error(void **state)
{
    fixture *f = *state;
    static const char cell[] = "%%python\nok = 1\nnot ok = 2";
    run_in(f, cell, cell + 9);
    assert_string_equal(f->ctx.ename, "SyntaxError");
    char want[64];
    snprintf(want, sizeof want, "(In [%d], line 3)", f->count);
    assert_non_null(strstr(f->ctx.evalue, want));
}

static void on_alarm(int sig)
{
    (void)sig;
    F->e->ops->interrupt(F->e);
}

static void test_interrupt_stops_an_endless_loop(void **state)
{
    fixture *f = *state;
    signal(SIGALRM, on_alarm);
    struct itimerval t = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &t, NULL);
    /* a bare except would swallow one interrupt: the loop goes on, so
     * the test shows KeyboardInterrupt is what stops it */
    assert_int_equal(run(f, "while True:\n    pass"), TRL_EINTR);
    assert_string_equal(f->ctx.ename, "KeyboardInterrupt");
    assert_int_equal(run(f, "'after'"), 0);
    assert_string_equal(result_mime(f, "text/plain"), "'after'");
}

static void test_an_interrupt_between_cells_is_forgotten(void **state)
{
    fixture *f = *state;
    f->e->ops->interrupt(f->e);  /* idle: ipykernel ignores it too */
    assert_int_equal(run(f, "sum(range(100000))"), 0);
    assert_string_equal(result_mime(f, "text/plain"), "4999950000");
}

static void test_rich_display(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "class R:\n"
                            "    def _repr_svg_(self): return '<svg/>'\n"
                            "    def _repr_png_(self): return b'ab'\n"
                            "display(R(), display_id='d1')\n"
                            "clear_output(wait=True)\nR()"), 0);
    json_t *d = first(f, "display_data");
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(
        json_object_get(d, "transient"), "display_id")), "d1");
    assert_non_null(first(f, "clear_output"));
    assert_string_equal(result_mime(f, "image/svg+xml"), "<svg/>");
    assert_string_equal(result_mime(f, "image/png"), "YWI=");
    /* a mimebundle's bytes are base64 too; what JSON cannot carry goes */
    assert_int_equal(run(f, "class M:\n"
                            "    def _repr_mimebundle_(self):\n"
                            "        return {'image/png': b'ab', "
                            "'text/plain': 'm', 'x/y': object()}\n"
                            "M()"), 0);
    assert_string_equal(result_mime(f, "image/png"), "YWI=");
    assert_string_equal(result_mime(f, "text/plain"), "m");
    assert_null(result_mime(f, "x/y"));
}

static void test_input_and_getpass(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "import getpass\n"
                            "input('typed '), getpass.getpass()"), 0);
    assert_string_equal(result_mime(f, "text/plain"), "('typed ', 'secret')");
}

static void test_is_complete(void **state)
{
    fixture *f = *state;
    char indent[16];
    assert_int_equal(f->e->ops->is_complete(f->e, "x = 1", indent, 16),
                     TRL_CODE_COMPLETE);
    assert_int_equal(f->e->ops->is_complete(f->e, "if x:", indent, 16),
                     TRL_CODE_INCOMPLETE);
    assert_string_equal(indent, "    ");
    assert_int_equal(f->e->ops->is_complete(f->e, "if x:\n    y = (1,",
                                            indent, 16),
                     TRL_CODE_INCOMPLETE);
    assert_int_equal(f->e->ops->is_complete(f->e, "if x:\n    y = 1\n",
                                            indent, 16),
                     TRL_CODE_COMPLETE);
    assert_int_equal(f->e->ops->is_complete(f->e, "x = )", indent, 16),
                     TRL_CODE_INVALID);
}

static void test_completion_and_inspection(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "import os\nn\xc3\xa4me_value = 1"), 0);
    trl_completion c = {0};
    const char *code = "os.path.jo";
    f->e->ops->complete(f->e, code, strlen(code), &c);
    assert_non_null(c.matches);
    int found = 0;
    for (size_t i = 0; i < json_array_size(c.matches); i++)
        found |= strcmp(json_string_value(json_array_get(c.matches, i)),
                        "join") == 0;
    assert_true(found);
    assert_int_equal(c.cursor_start, 8);
    assert_int_equal(c.cursor_end, 10);
    json_decref(c.matches);
    /* offsets are bytes for C: "x = nä" is 7 bytes, the name starts at 4 */
    memset(&c, 0, sizeof c);
    code = "x = n\xc3\xa4";
    f->e->ops->complete(f->e, code, strlen(code), &c);
    assert_int_equal(c.cursor_start, 4);
    assert_int_equal(c.cursor_end, 7);
    assert_string_equal(json_string_value(json_array_get(c.matches, 0)),
                        "n\xc3\xa4me_value");
    json_decref(c.matches);

    json_t *data = NULL;
    code = "os.path.join(";
    f->e->ops->inspect(f->e, code, strlen(code), 0, &data);
    assert_non_null(data);
    assert_non_null(strstr(json_string_value(json_object_get(
                               data, "text/plain")), "Signature: "
                               "os.path.join(a, *p)"));
    json_decref(data);
    data = NULL;
    f->e->ops->inspect(f->e, "nothing_here", 3, 0, &data);
    assert_null(data);
}

static void test_timer(void **state)
{
    fixture *f = *state;
    run(f, "acc = []");
    void *t = NULL;
    assert_int_equal(f->e->ops->timer_new(f->e, "acc.clear()",
                                          "acc.append(1)",
                                          TRL_TIMING_CLOCK_PERF, &f->ctx,
                                          &t), 0);
    double s = -1;
    assert_int_equal(f->e->ops->timer_run(f->e, t, 1000, &s, &f->ctx), 0);
    assert_true(s > 0);
    f->e->ops->timer_free(f->e, t);
    run(f, "len(acc)");  /* setup ran before the run */
    assert_string_equal(result_mime(f, "text/plain"), "1000");
    /* errors are the cell's */
    assert_int_equal(f->e->ops->timer_new(f->e, "", "x +",
                                          TRL_TIMING_CLOCK_PERF, &f->ctx,
                                          &t), TRL_EINVAL);
    assert_string_equal(f->ctx.ename, "SyntaxError");
    assert_null(t);
    run(f, "pass");
    assert_int_equal(f->e->ops->timer_new(f->e, NULL, "1/0",
                                          TRL_TIMING_CLOCK_CPU, &f->ctx,
                                          &t), 0);
    assert_int_equal(f->e->ops->timer_run(f->e, t, 1, &s, &f->ctx),
                     TRL_EINVAL);
    assert_string_equal(f->ctx.ename, "ZeroDivisionError");
    f->e->ops->timer_free(f->e, t);
}

static void test_variables_set_last_reset(void **state)
{
    fixture *f = *state;
    run(f, "kept = 1");
    json_t *v = f->e->ops->variables(f->e);
    assert_string_equal(json_string_value(json_object_get(v, "kept")),
                        "int");
    assert_null(json_object_get(v, "__builtins__"));
    json_decref(v);
    json_t *last = json_pack("{s:i, s:[f]}", "loops", 10, "all_runs", 0.5);
    assert_int_equal(f->e->ops->set_last(f->e, last), 0);
    json_decref(last);
    run(f, "_.loops, _['all_runs']");
    assert_string_equal(result_mime(f, "text/plain"), "(10, [0.5])");
    f->e->ops->reset(f->e);
    assert_int_equal(run(f, "kept"), TRL_EINVAL);
    assert_string_equal(f->ctx.ename, "NameError");
    json_t *data = NULL;
    trl_error err = {0};
    assert_int_equal(f->e->ops->evaluate(f->e, "6 * 7", &data, &err), 0);
    assert_string_equal(json_string_value(json_object_get(data,
                                                          "text/plain")),
                        "42");
    json_decref(data);
    assert_int_equal(f->e->ops->evaluate(f->e, "kept", &data, &err),
                     TRL_EINVAL);
    assert_non_null(strstr(err.message, "NameError"));
}

/* ---- the trellis module and the ops other engines call ------------------------ */

/* A frame C made, bound in Python: the NumPy array Python sees starts at
 * the column's own address (a view, not a copy), and stays read-only. */
static void test_bound_frame_is_viewed_in_place(void **state)
{
    fixture *f = *state;
    trl_frame *fr = trl_frame_new();
    trl_column *c = trl_column_new(TRL_F64, 3, NULL);
    for (int i = 0; i < 3; i++)
        c->v.f64[i] = i + 1.5;
    assert_int_equal(trl_frame_set(fr, "x", c, NULL), 0);
    trl_error err = {0};
    assert_int_equal(f->e->ops->bind_frame(f->e, "h", fr, &err), 0);
    assert_int_equal(run(f, "v = h['x']\n"
                            "(v.__array_interface__['data'][0], "
                            "v.flags.writeable, float(v.sum()))"), 0);
    char want[128];
    snprintf(want, sizeof want, "(%llu, False, 7.5)",
             (unsigned long long)(uintptr_t)c->v.f64);
    assert_string_equal(result_mime(f, "text/plain"), want);
    trl_column_decref(c);
    trl_frame_decref(fr);
    /* the view holds the column after C let go of it */
    assert_int_equal(run(f, "del h\nfloat(v[2])"), 0);
    assert_string_equal(result_mime(f, "text/plain"), "3.5");
}

/* lookup gives SQL and magics the very frame a Python global holds. */
static void test_lookup_and_scalar(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "import trellis\n"
                            "g = trellis.Frame({'a': [1, 2, 3], "
                            "'s': ['p', None, 'p']})\n"
                            "k = 5; t = 'x'; big = 2 ** 70; nan = "
                            "float('nan')"), 0);
    trl_frame *fr = NULL;
    trl_model *m = NULL;
    f->e->ops->lookup(f->e, "g", &fr, &m);
    assert_non_null(fr);
    assert_null(m);
    assert_int_equal(fr->nrows, 3);
    trl_column *a = trl_frame_get(fr, "a");
    assert_int_equal(a->type, TRL_I64);
    assert_int_equal(a->v.i64[2], 3);
    trl_column *s = trl_frame_get(fr, "s");
    assert_int_equal(s->type, TRL_STR);
    assert_int_equal(s->v.codes[1], -1);
    assert_string_equal(s->dict->strs[s->v.codes[2]], "p");
    assert_string_equal(json_string_value(json_object_get(fr->lineage,
                                                          "source")),
                        "python cell");
    trl_frame_decref(fr);
    f->e->ops->lookup(f->e, "k", &fr, &m);
    assert_null(fr);
    assert_null(m);
    json_t *v = f->e->ops->scalar(f->e, "k");
    assert_int_equal(json_integer_value(v), 5);
    json_decref(v);
    v = f->e->ops->scalar(f->e, "t");
    assert_string_equal(json_string_value(v), "x");
    json_decref(v);
    assert_null(f->e->ops->scalar(f->e, "big"));   /* past int64 */
    assert_null(f->e->ops->scalar(f->e, "nan"));   /* not JSON */
    assert_null(f->e->ops->scalar(f->e, "g"));
}

/* register writes a version with lineage "python cell". */
static void test_register_from_python(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "import trellis\n"
                            "trellis.features.register('t', {'y': "
                            "[0.5, 1.5]})"), 0);
    assert_string_equal(result_mime(f, "text/plain"), "'t@1'");
    trl_error err = {0};
    trl_frame *v = trl_registry_get(F->reg, "t@1", &err);
    assert_non_null(v);
    assert_int_equal(v->nrows, 2);
    assert_true(v->frozen);
    assert_string_equal(json_string_value(json_object_get(v->lineage,
                                                          "source")),
                        "python cell");
    assert_int_equal(json_integer_value(json_object_get(v->lineage, "cell")),
                     f->count);
    /* Python's view of the version is the registry's memory */
    assert_int_equal(run(f, "trellis.features.version('t@1')['y']"
                            ".__array_interface__['data'][0]"), 0);
    char want[64];
    snprintf(want, sizeof want, "%llu",
             (unsigned long long)(uintptr_t)trl_frame_get(v, "y")->v.f64);
    assert_string_equal(result_mime(f, "text/plain"), want);
    trl_frame_decref(v);
    /* a made-up handle is an error, not a crash */
    assert_int_equal(run(f, "trellis._native['frame_info'](12345)"), 0);
    assert_non_null(strstr(result_mime(f, "text/plain"), "released"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup(name, needs_python)
    const struct CMUnitTest tests[] = {
        T(test_last_expression_and_underscore),
        T(test_streams),
        T(test_traceback_names_the_cells_lines),
        T(test_syntax_error),
        T(test_interrupt_stops_an_endless_loop),
        T(test_an_interrupt_between_cells_is_forgotten),
        T(test_rich_display),
        T(test_input_and_getpass),
        T(test_is_complete),
        T(test_completion_and_inspection),
        T(test_timer),
        T(test_variables_set_last_reset),
        T(test_bound_frame_is_viewed_in_place),
        T(test_lookup_and_scalar),
        T(test_register_from_python),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
