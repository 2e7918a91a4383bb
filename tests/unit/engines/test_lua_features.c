/* test_lua_features.c - frames, columns and the registry from Lua: the
 * `features` library end to end over an in-memory registry. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel/kernel_int.h"
#include "trellis/registry.h"

typedef struct fixture {
    trl_registry *reg;
    trl_engine *e;
    json_t *msgs;
    char out[16384];
    trl_exec_ctx ctx;
    int count;
    char csv[64];
} fixture;

static int rec_publish(void *ud, const char *type, json_t *content)
{
    fixture *f = ud;
    json_array_append_new(f->msgs, json_pack("[s, o]", type, content));
    return 0;
}

static int rec_stream(void *ud, trl_stream which, const char *text,
                      size_t len)
{
    fixture *f = ud;
    (void)which;
    size_t have = strlen(f->out);
    if (have + len < sizeof f->out - 1)
        strncat(f->out, text, len);
    return 0;
}

static int rec_input(void *ud, const char *prompt, int password,
                     char **line_out, trl_error *err)
{
    (void)ud; (void)prompt; (void)password;
    *line_out = NULL;
    return trl_error_set(err, TRL_EINVAL, "no stdin in tests");
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    trl_error err;
    f->reg = trl_registry_open(":memory:", &err);
    assert_non_null(f->reg);
    trl_engine_config cfg = {.memory_limit = 256u << 20, .registry = f->reg};
    f->e = trl_lua_engine_new(&cfg, &err);
    assert_non_null(f->e);
    snprintf(f->csv, sizeof f->csv, "/tmp/trellis-test-%d.csv", getpid());
    FILE *fp = fopen(f->csv, "w");
    fputs("id,plan,tenure,spend,churned\n"
          "1,basic,3,10.5,true\n"
          "2,pro,12,30.0,false\n"
          "3,basic,,12.25,true\n"
          "4,team,24,99.5,false\n", fp);
    fclose(fp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    trl__ctx_release(&f->ctx);
    json_decref(f->msgs);
    f->e->ops->destroy(f->e);
    trl_registry_close(f->reg);
    unlink(f->csv);
    free(f);
    return 0;
}

static void run(fixture *f, const char *code)
{
    trl__ctx_release(&f->ctx);
    json_decref(f->msgs);
    f->msgs = json_array();
    f->out[0] = '\0';
    trl__ctx_sink sink = {rec_publish, rec_stream, rec_input, f};
    trl__ctx_init_sink(&f->ctx, &sink);
    f->ctx.execution_count = ++f->count;
    f->e->ops->execute(f->e, code, &f->ctx);
}

/* Runs code and fails the test with the Lua error if it fails. */
static void ok(fixture *f, const char *code)
{
    run(f, code);
    if (f->ctx.failed)
        fail_msg("%s\n-> %s: %s", code, f->ctx.ename, f->ctx.evalue);
}

static json_t *result_data(fixture *f)
{
    size_t i;
    json_t *m;
    json_array_foreach(f->msgs, i, m)
        if (strcmp(json_string_value(json_array_get(m, 0)),
                   "execute_result") == 0)
            return json_object_get(json_array_get(m, 1), "data");
    return NULL;
}

static const char *result(fixture *f)
{
    return json_string_value(json_object_get(result_data(f), "text/plain"));
}

static void load(fixture *f)
{
    char code[256];
    snprintf(code, sizeof code, "f = features.read_csv(%s%s%s)", "\"",
             f->csv, "\"");
    ok(f, code);
}

static void test_read_csv_infers_types(void **state)
{
    fixture *f = *state;
    load(f);
    ok(f, "d = f:dtypes()\nprint(d.id, d.plan, d.tenure, d.spend, "
          "d.churned, #f)");
    assert_string_equal(f->out, "i64\tstr\ti64\tf64\tbool\t4\n");
    ok(f, "f.tenure[3]");
    assert_null(result_data(f));  /* missing is nil */
    ok(f, "f.plan[2]");
    assert_string_equal(result(f), "\"pro\"");
}

static void test_column_arithmetic_adds_a_column(void **state)
{
    fixture *f = *state;
    load(f);
    ok(f, "f.ratio = f.spend / (f.tenure + 1)\nf.ratio[1]");
    assert_string_equal(result(f), "2.625");
    ok(f, "f.neg = -f.spend\nf.p = f.spend ^ 2 % 7\nf.neg[2], f.p[1]");
    assert_string_equal(result(f), "-30.0\t5.25");
    ok(f, "f.ratio[3]");  /* missing tenure -> NaN -> read as nil */
    assert_null(result_data(f));
}

static void test_comparisons_and_filter(void **state)
{
    fixture *f = *state;
    load(f);
    ok(f, "g = f:filter(f.spend:gt(11):and_(f.plan:eq('basic')))\n#g, "
          "g.id[1]");
    assert_string_equal(result(f), "1\t3");
    ok(f, "#f:filter(features.not_(f.churned))");
    assert_string_equal(result(f), "2");
}

static void test_reductions(void **state)
{
    fixture *f = *state;
    load(f);
    ok(f, "f.spend:sum(), f.tenure:count(), f.tenure:n_missing(), "
          "f.plan:n_unique()");
    assert_string_equal(result(f), "152.25\t3\t1\t3");
    ok(f, "f.tenure:mean(), f.spend:quantile(0.5)");
    assert_string_equal(result(f), "13.0\t21.125");
}

static void test_register_get_versions_and_lineage(void **state)
{
    fixture *f = *state;
    load(f);
    ok(f, "features.register('churn', f)");
    assert_string_equal(result(f), "\"churn@1\"");
    ok(f, "g = features.get('churn')\ng.x2 = g.spend * 2\n"
          "features.register('churn', g)");
    assert_string_equal(result(f), "\"churn@2\"");
    ok(f, "#features.get('churn@1'):columns(), "
          "#features.get('churn'):columns()");
    assert_string_equal(result(f), "5\t6");
    ok(f, "features.version('churn@2'):lineage()");
    const char *lin = result(f);
    assert_non_null(strstr(lin, "churn@1"));
    assert_non_null(strstr(lin, "(spend * 2)"));
    ok(f, "features.version('churn@1'):lineage()");
    assert_non_null(strstr(result(f), "sha256"));
    /* registered versions are immutable */
    run(f, "v = features.version('churn@1')\nv.z = v.id");
    assert_true(f->ctx.failed);
    assert_non_null(strstr(f->ctx.evalue, "cannot change"));
    /* and editing a working copy after registering changes nothing */
    ok(f, "g.x3 = g.x2\n#features.get('churn@2'):columns()");
    assert_string_equal(result(f), "6");
}

static void test_unknown_names_are_clear_errors(void **state)
{
    fixture *f = *state;
    run(f, "features.get('nope')");
    assert_true(f->ctx.failed);
    assert_non_null(strstr(f->ctx.evalue, "nope"));
    load(f);
    run(f, "f.nosuch:mean()");
    assert_true(f->ctx.failed);
    assert_non_null(strstr(f->ctx.evalue, "nosuch"));
    run(f, "f.x = f.plan + 1");
    assert_true(f->ctx.failed);
    assert_non_null(strstr(f->ctx.evalue, "str"));
    run(f, "features.read_csv('/no/such/file.csv')");
    assert_true(f->ctx.failed);
    assert_non_null(strstr(f->ctx.evalue, "/no/such/file.csv"));
}

static void test_frames_display_as_html_tables(void **state)
{
    fixture *f = *state;
    load(f);
    ok(f, "f");
    json_t *data = result_data(f);
    const char *html = json_string_value(json_object_get(data, "text/html"));
    assert_non_null(html);
    assert_non_null(strstr(html, "<th>plan<br><small>str</small></th>"));
    assert_non_null(strstr(html, "4 rows × 5 columns"));
    const char *text = json_string_value(json_object_get(data,
                                                         "text/plain"));
    assert_non_null(strstr(text, "[4 rows x 5 columns]"));
}

static void test_describe_and_hist(void **state)
{
    fixture *f = *state;
    load(f);
    ok(f, "d = f:describe()\n#d, d.column[4], d.mean[4], d.count[3], "
          "d.missing[3]");
    assert_string_equal(result(f), "5\t\"spend\"\t38.0625\t3\t1");
    ok(f, "f:hist('spend')");
    json_t *data = result_data(f);
    assert_non_null(json_object_get(data, "image/svg+xml"));
    run(f, "f:hist('plan')");
    assert_true(f->ctx.failed);
}

static void test_select_head_sample_split(void **state)
{
    fixture *f = *state;
    load(f);
    ok(f, "#f:select{'id', 'plan'}:columns(), #f:head(2), "
          "f:sample(4, 7).id:sum()");
    assert_string_equal(result(f), "2\t2\t10.0");
    ok(f, "a, b = f:split{0.5, 0.5, seed = 1}\n#a + #b");
    assert_string_equal(result(f), "4");
    ok(f, "x = features.frame{a = {1, 2, 3}, b = {'x', nil, 'y'}}\n"
          "#x, x.b:n_missing(), x:dtypes().a");
    assert_string_equal(result(f), "3\t1\t\"i64\"");
}

static void test_group_by_and_join(void **state)
{
    fixture *f = *state;
    load(f);
    ok(f, "g = f:group_by('plan'):agg{spend = 'mean', n = {'id', 'count'}}\n"
          "#g, g.plan[1], g.spend[1], g.n[1], g:columns()[2]");
    assert_string_equal(result(f), "3\t\"basic\"\t11.375\t2\t\"n\"");
    ok(f, "g.n[1]");
    assert_string_equal(result(f), "2");
    ok(f, "plans = features.frame{plan = {'basic', 'pro'}, price = {5, 15}}\n"
          "#f:join(plans, 'plan'), #f:join(plans, 'plan', {how = 'left'})");
    assert_string_equal(result(f), "3\t4");
    ok(f, "j = f:join(plans, 'plan', {how = 'left'})\nj.price[4], j.price[1]");
    assert_string_equal(result(f), "nil\t5");
    run(f, "f:group_by('plan'):agg{plan = 'mean'}");
    assert_true(f->ctx.failed);
    assert_non_null(strstr(f->ctx.evalue, "str"));
    run(f, "f:group_by('plan'):agg{spend = 'median'}");
    assert_true(f->ctx.failed);
    ok(f, "features.version(features.register('by_plan', g)):lineage()");
    assert_non_null(strstr(result(f), "group_by"));
}

static void test_inspect_documents_registry_functions(void **state)
{
    fixture *f = *state;
    load(f);
    json_t *data = NULL;
    const char *code = "features.read_csv";
    f->e->ops->inspect(f->e, code, strlen(code), 0, &data);
    assert_non_null(data);
    assert_non_null(strstr(json_string_value(json_object_get(data,
                                                             "text/plain")),
                           "features.read_csv(path"));
    json_decref(data);
    data = NULL;
    code = "f:describe";
    f->e->ops->inspect(f->e, code, strlen(code), 0, &data);
    assert_non_null(data);
    assert_non_null(strstr(json_string_value(json_object_get(data,
                                                             "text/plain")),
                           "frame:describe()"));
    json_decref(data);
}

static int completes(fixture *f, const char *code, const char *want)
{
    trl_completion c = {0};
    f->e->ops->complete(f->e, code, strlen(code), &c);
    size_t i;
    json_t *v;
    int found = 0;
    json_array_foreach(c.matches, i, v)
        found |= strcmp(json_string_value(v), want) == 0;
    json_decref(c.matches);
    return found;
}

static void test_completion_offers_columns_and_methods(void **state)
{
    fixture *f = *state;
    load(f);
    assert_true(completes(f, "f.sp", "spend"));
    assert_true(completes(f, "f:desc", "describe"));
    assert_true(completes(f, "f.spend:me", "mean"));
    assert_true(completes(f, "features.read", "read_csv"));
    assert_false(completes(f, "f:sp", "spend"));  /* ':' wants methods */
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_read_csv_infers_types),
        T(test_column_arithmetic_adds_a_column),
        T(test_comparisons_and_filter),
        T(test_reductions),
        T(test_register_get_versions_and_lineage),
        T(test_unknown_names_are_clear_errors),
        T(test_frames_display_as_html_tables),
        T(test_describe_and_hist),
        T(test_select_head_sample_split),
        T(test_group_by_and_join),
        T(test_inspect_documents_registry_functions),
        T(test_completion_offers_columns_and_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
