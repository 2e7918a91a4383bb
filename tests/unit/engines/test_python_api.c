/* test_python_api.c - finding libpython without linking it: the names
 * tried, the version read, the standard library's prefix, and the
 * messages when it is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engines/python/py_int.h"

static void test_system_python_is_tried_first(void **state)
{
    (void)state;
    char names[16][64];
    size_t n = trl__py_candidates("python3.11", names, 16);
    assert_true(n >= 4);
    assert_string_equal(names[0], "libpython3.11.so.1.0");
    assert_string_equal(names[1], "libpython3.11.so");
    /* an absolute target names the same version; 3.11 is not tried twice */
    size_t m = trl__py_candidates("/usr/bin/python3.11", names, 16);
    assert_int_equal(m, n);
    for (size_t i = 2; i < m; i++)
        assert_null(strstr(names[i], "3.11."));
}

static void test_unknown_python_tries_every_supported_version(void **state)
{
    (void)state;
    char names[16][64];
    size_t n = trl__py_candidates(NULL, names, 16);
    assert_int_equal(n, 10);  /* 3.14 down to 3.10, two names each */
    assert_string_equal(names[0], "libpython3.14.so.1.0");
    assert_string_equal(names[n - 1], "libpython3.10.so");
    /* not a versioned python3.X: ignored, not misread */
    assert_int_equal(trl__py_candidates("python3.11-dbg", names, 16), n);
    assert_int_equal(trl__py_candidates("pypy3", names, 16), n);
    /* never past the array */
    assert_int_equal(trl__py_candidates("python3.11", names, 3), 3);
}

static void test_version_text(void **state)
{
    (void)state;
    assert_int_equal(trl__py_minor("3.11.2 (main, Mar 13 2023) [GCC]"), 11);
    assert_int_equal(trl__py_minor("3.9.0"), 9);
    assert_int_equal(trl__py_minor("2.7.18"), -1);
    assert_int_equal(trl__py_minor("garbage"), -1);
    assert_int_equal(trl__py_minor(NULL), -1);
}

static void mkdirs(const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0700);
            *p = '/';
        }
    mkdir(buf, 0700);
}

static void test_prefix_is_found_above_the_library(void **state)
{
    (void)state;
    char root[] = "/tmp/trellis-pyprefix-XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[512], file[600], prefix[512];
    /* Debian: /usr/lib/x86_64-linux-gnu/libpython3.11.so, /usr/lib/python3.11 */
    snprintf(dir, sizeof dir, "%s/usr/lib/python3.11", root);
    mkdirs(dir);
    snprintf(file, sizeof file, "%s/os.py", dir);
    fclose(fopen(file, "w"));
    snprintf(dir, sizeof dir, "%s/usr/lib/x86_64-linux-gnu", root);
    mkdirs(dir);
    assert_int_equal(trl__py_find_prefix(dir, 11, prefix, sizeof prefix), 0);
    char want[512];
    snprintf(want, sizeof want, "%s/usr", root);
    assert_string_equal(prefix, want);
    /* another version has no standard library there */
    assert_int_equal(trl__py_find_prefix(dir, 12, prefix, sizeof prefix),
                     TRL_ENOTFOUND);
    /* three levels up at most: a stray landmark far above is not it */
    snprintf(dir, sizeof dir, "%s/usr/lib/a/b/c", root);
    mkdirs(dir);
    assert_int_equal(trl__py_find_prefix(dir, 11, prefix, sizeof prefix),
                     TRL_ENOTFOUND);
    /* a prefix that does not fit is not cut */
    snprintf(dir, sizeof dir, "%s/usr/lib", root);
    assert_int_equal(trl__py_find_prefix(dir, 11, prefix, 8), TRL_ENOTFOUND);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void test_missing_library_says_how_to_enable_python(void **state)
{
    (void)state;
    trl__py_api api;
    trl_error err = {0};
    setenv("TRELLIS_LIBPYTHON", "/nonexistent/libpython3.99.so", 1);
    assert_int_equal(trl__py_api_load(&api, &err), TRL_ENOTFOUND);
    unsetenv("TRELLIS_LIBPYTHON");
    assert_null(api.lib);
    assert_non_null(strstr(err.message, "/nonexistent/libpython3.99.so"));
    assert_non_null(strstr(err.message, "apt-get install libpython3-dev"));
    assert_non_null(strstr(err.message, "TRELLIS_LIBPYTHON"));
}

static void test_a_library_that_is_not_python_is_refused(void **state)
{
    (void)state;
    trl__py_api api;
    trl_error err = {0};
    /* a real shared library without Python's functions */
    setenv("TRELLIS_LIBPYTHON", "libm.so.6", 1);
    assert_int_equal(trl__py_api_load(&api, &err), TRL_EUNSUPPORTED);
    unsetenv("TRELLIS_LIBPYTHON");
    assert_null(api.lib);
    assert_non_null(strstr(err.message, "libm.so.6 has no Py_GetVersion"));
    assert_non_null(strstr(err.message, "3.10 or newer"));
}

static void test_the_system_python_loads(void **state)
{
    (void)state;
    trl__py_api api;
    trl_error err = {0};
    if (trl__py_api_load(&api, &err) != 0) {
        /* a machine without libpython: the message is the feature */
        assert_non_null(strstr(err.message, "apt-get install"));
        skip();
    }
    assert_true(api.minor >= 10);
    char landmark[600];
    snprintf(landmark, sizeof landmark, "%s/lib/python3.%d/os.py",
             api.prefix, api.minor);
    assert_int_equal(access(landmark, R_OK), 0);
    assert_non_null(api.Py_InitializeEx);
    assert_non_null(api.PyErr_SetInterruptEx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_system_python_is_tried_first),
        cmocka_unit_test(test_unknown_python_tries_every_supported_version),
        cmocka_unit_test(test_version_text),
        cmocka_unit_test(test_prefix_is_found_above_the_library),
        cmocka_unit_test(test_missing_library_says_how_to_enable_python),
        cmocka_unit_test(test_a_library_that_is_not_python_is_refused),
        cmocka_unit_test(test_the_system_python_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
