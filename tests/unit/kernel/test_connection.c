/* test_connection.c - connection.c: connection files and endpoints. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/connection.h"

/* What jupyter_client writes, with the extra keys it adds. */
static const char full_file[] =
    "{\n"
    "  \"shell_port\": 50001,\n"
    "  \"iopub_port\": 50002,\n"
    "  \"stdin_port\": 50003,\n"
    "  \"control_port\": 50004,\n"
    "  \"hb_port\": 50005,\n"
    "  \"ip\": \"127.0.0.1\",\n"
    "  \"key\": \"a0436f6c-1916-498b-8eb9-e81ab9368e84\",\n"
    "  \"transport\": \"tcp\",\n"
    "  \"signature_scheme\": \"hmac-sha256\",\n"
    "  \"kernel_name\": \"trellis\"\n"
    "}\n";

#define PORTS                                                              \
    "\"shell_port\": 5, \"iopub_port\": 6, \"stdin_port\": 7, "            \
    "\"control_port\": 8, \"hb_port\": 9"

static int parse(const char *text, trl__connection *c, trl_error *err)
{
    return trl__connection_parse(text, strlen(text), c, err);
}

static void assert_endpoint(const trl__connection *c, trl__channel ch,
                            const char *want)
{
    char buf[512];
    assert_int_equal(trl__connection_endpoint(c, ch, buf, sizeof buf), 0);
    assert_string_equal(buf, want);
}

/* Parses text, expects TRL_EINVAL with needle in the message and nothing
 * left to free. */
static void assert_parse_fails(const char *text, const char *needle)
{
    trl__connection c;
    trl_error err = {0};
    int rc = parse(text, &c, &err);
    if (rc != TRL_EINVAL || !strstr(err.message, needle))
        print_error("parse gave %d '%s', expected '%s'\n", rc, err.message,
                    needle);
    assert_int_equal(rc, TRL_EINVAL);
    assert_int_equal(err.code, TRL_EINVAL);
    assert_non_null(strstr(err.message, needle));
    assert_null(c.key);
    trl__connection_free(&c);  /* safe after a failed parse */
}

/* ---- valid files --------------------------------------------------------- */

static void test_parse_full_tcp_file(void **state)
{
    (void)state;
    trl__connection c;
    trl_error err = {0};
    assert_int_equal(parse(full_file, &c, &err), 0);
    assert_string_equal(c.transport, "tcp");
    assert_string_equal(c.ip, "127.0.0.1");
    assert_string_equal(c.key, "a0436f6c-1916-498b-8eb9-e81ab9368e84");
    assert_string_equal(c.scheme, "hmac-sha256");
    assert_int_equal(c.ports[TRL__CH_SHELL], 50001);
    assert_int_equal(c.ports[TRL__CH_IOPUB], 50002);
    assert_int_equal(c.ports[TRL__CH_STDIN], 50003);
    assert_int_equal(c.ports[TRL__CH_CONTROL], 50004);
    assert_int_equal(c.ports[TRL__CH_HB], 50005);
    assert_endpoint(&c, TRL__CH_SHELL, "tcp://127.0.0.1:50001");
    assert_endpoint(&c, TRL__CH_IOPUB, "tcp://127.0.0.1:50002");
    assert_endpoint(&c, TRL__CH_STDIN, "tcp://127.0.0.1:50003");
    assert_endpoint(&c, TRL__CH_CONTROL, "tcp://127.0.0.1:50004");
    assert_endpoint(&c, TRL__CH_HB, "tcp://127.0.0.1:50005");
    trl__connection_free(&c);
    assert_null(c.key);
}

static void test_channel_port_names(void **state)
{
    (void)state;
    assert_string_equal(trl__channel_port_name(TRL__CH_SHELL), "shell_port");
    assert_string_equal(trl__channel_port_name(TRL__CH_IOPUB), "iopub_port");
    assert_string_equal(trl__channel_port_name(TRL__CH_STDIN), "stdin_port");
    assert_string_equal(trl__channel_port_name(TRL__CH_CONTROL),
                        "control_port");
    assert_string_equal(trl__channel_port_name(TRL__CH_HB), "hb_port");
}

static void test_parse_ipc_transport_formats_path_dash_port(void **state)
{
    (void)state;
    trl__connection c;
    trl_error err = {0};
    assert_int_equal(parse("{\"transport\": \"ipc\", \"ip\": "
                           "\"/tmp/kernel-ipc\", " PORTS "}",
                           &c, &err), 0);
    assert_string_equal(c.transport, "ipc");
    assert_endpoint(&c, TRL__CH_SHELL, "ipc:///tmp/kernel-ipc-5");
    assert_endpoint(&c, TRL__CH_HB, "ipc:///tmp/kernel-ipc-9");
    trl__connection_free(&c);

    /* a relative path, as jupyter_client's default "kernel-ipc" */
    assert_int_equal(parse("{\"transport\": \"ipc\", \"ip\": \"kernel-ipc\", "
                           PORTS "}", &c, &err), 0);
    assert_endpoint(&c, TRL__CH_SHELL, "ipc://kernel-ipc-5");
    trl__connection_free(&c);
}

static void test_parse_ipv6_ip_is_bracketed_in_endpoint(void **state)
{
    (void)state;
    trl__connection c;
    trl_error err = {0};
    assert_int_equal(parse("{\"ip\": \"::1\", \"shell_port\": 5555, "
                           "\"iopub_port\": 6, \"stdin_port\": 7, "
                           "\"control_port\": 8, \"hb_port\": 9}",
                           &c, &err), 0);
    assert_endpoint(&c, TRL__CH_SHELL, "tcp://[::1]:5555");
    trl__connection_free(&c);
}

static void test_parse_defaults_for_missing_fields(void **state)
{
    (void)state;
    trl__connection c;
    trl_error err = {0};
    assert_int_equal(parse("{" PORTS "}", &c, &err), 0);
    assert_string_equal(c.transport, "tcp");
    assert_string_equal(c.ip, "127.0.0.1");
    assert_string_equal(c.scheme, "hmac-sha256");
    assert_non_null(c.key);
    assert_string_equal(c.key, "");
    assert_endpoint(&c, TRL__CH_CONTROL, "tcp://127.0.0.1:8");
    trl__connection_free(&c);
}

static void test_parse_accepts_port_bounds_1_and_65535(void **state)
{
    (void)state;
    trl__connection c;
    trl_error err = {0};
    assert_int_equal(parse("{\"shell_port\": 1, \"iopub_port\": 65535, "
                           "\"stdin_port\": 7, \"control_port\": 8, "
                           "\"hb_port\": 9}", &c, &err), 0);
    assert_int_equal(c.ports[TRL__CH_SHELL], 1);
    assert_int_equal(c.ports[TRL__CH_IOPUB], 65535);
    trl__connection_free(&c);
}

static void test_parse_ignores_scheme_when_unsigned(void **state)
{
    (void)state;
    trl__connection c;
    trl_error err = {0};
    /* with no key nothing is signed, so the scheme does not matter */
    assert_int_equal(parse("{\"signature_scheme\": \"hmac-md5\", \"key\": "
                           "\"\", " PORTS "}", &c, &err), 0);
    assert_string_equal(c.key, "");
    trl__connection_free(&c);
}

static void test_endpoint_reports_small_buffer(void **state)
{
    (void)state;
    trl__connection c;
    trl_error err = {0};
    assert_int_equal(parse(full_file, &c, &err), 0);
    char buf[12];
    assert_int_equal(trl__connection_endpoint(&c, TRL__CH_SHELL, buf,
                                              sizeof buf), TRL_EINVAL);
    /* exactly big enough: "tcp://127.0.0.1:50001" is 21 + NUL */
    char exact[22];
    assert_int_equal(trl__connection_endpoint(&c, TRL__CH_SHELL, exact,
                                              sizeof exact), 0);
    assert_string_equal(exact, "tcp://127.0.0.1:50001");
    trl__connection_free(&c);
}

/* ---- bad files ----------------------------------------------------------- */

static void test_parse_rejects_non_json_with_line_and_column(void **state)
{
    (void)state;
    assert_parse_fails("not json", "line 1, column");
    assert_parse_fails("{\n  \"shell_port\": 5,\n  oops\n}", "line 3, column");
    assert_parse_fails("", "line");
    assert_parse_fails("{\"shell_port\": 5,}", "column");
}

static void test_parse_rejects_non_object(void **state)
{
    (void)state;
    assert_parse_fails("[1, 2, 3]", "not a JSON object");
}

static void test_parse_rejects_missing_port(void **state)
{
    (void)state;
    assert_parse_fails("{\"shell_port\": 5, \"iopub_port\": 6, "
                       "\"stdin_port\": 7, \"control_port\": 8}",
                       "'hb_port' must be an integer port from 1 to 65535");
}

static void test_parse_rejects_port_0(void **state)
{
    (void)state;
    assert_parse_fails("{\"shell_port\": 0, \"iopub_port\": 6, "
                       "\"stdin_port\": 7, \"control_port\": 8, "
                       "\"hb_port\": 9}",
                       "'shell_port' must be an integer port");
}

static void test_parse_rejects_port_70000(void **state)
{
    (void)state;
    assert_parse_fails("{\"shell_port\": 5, \"iopub_port\": 70000, "
                       "\"stdin_port\": 7, \"control_port\": 8, "
                       "\"hb_port\": 9}",
                       "'iopub_port' must be an integer port");
    assert_parse_fails("{\"shell_port\": 5, \"iopub_port\": 65536, "
                       "\"stdin_port\": 7, \"control_port\": 8, "
                       "\"hb_port\": 9}",
                       "'iopub_port' must be an integer port");
}

static void test_parse_rejects_negative_and_huge_port(void **state)
{
    (void)state;
    assert_parse_fails("{\"shell_port\": 5, \"iopub_port\": 6, "
                       "\"stdin_port\": -7, \"control_port\": 8, "
                       "\"hb_port\": 9}",
                       "'stdin_port' must be an integer port");
    /* would wrap to a valid int if cast before the range check */
    assert_parse_fails("{\"shell_port\": 5, \"iopub_port\": 6, "
                       "\"stdin_port\": 7, \"control_port\": 4294972296, "
                       "\"hb_port\": 9}",
                       "'control_port' must be an integer port");
}

static void test_parse_rejects_port_as_string(void **state)
{
    (void)state;
    assert_parse_fails("{\"shell_port\": \"5555\", \"iopub_port\": 6, "
                       "\"stdin_port\": 7, \"control_port\": 8, "
                       "\"hb_port\": 9}",
                       "'shell_port' must be an integer port");
}

static void test_parse_rejects_port_as_real(void **state)
{
    (void)state;
    assert_parse_fails("{\"shell_port\": 5555.0, \"iopub_port\": 6, "
                       "\"stdin_port\": 7, \"control_port\": 8, "
                       "\"hb_port\": 9}",
                       "'shell_port' must be an integer port");
}

static void test_parse_rejects_unknown_transport(void **state)
{
    (void)state;
    assert_parse_fails("{\"transport\": \"udp\", " PORTS "}",
                       "transport 'udp' is not supported");
    /* a longer name still says it is unsupported, not "too long" */
    assert_parse_fails("{\"transport\": \"websocket\", " PORTS "}",
                       "transport 'websocket' is not supported");
}

static void test_parse_rejects_non_string_transport_and_ip(void **state)
{
    (void)state;
    assert_parse_fails("{\"transport\": 1, " PORTS "}",
                       "'transport' must be a string");
    assert_parse_fails("{\"ip\": null, " PORTS "}", "'ip' must be a string");
    assert_parse_fails("{\"signature_scheme\": [], " PORTS "}",
                       "'signature_scheme' must be a string");
}

static void test_parse_rejects_empty_ip(void **state)
{
    (void)state;
    assert_parse_fails("{\"ip\": \"\", " PORTS "}", "'ip' is empty");
}

static void test_parse_rejects_too_long_ip(void **state)
{
    (void)state;
    char text[1024];
    char ip[301];
    memset(ip, 'a', 300);
    ip[300] = '\0';
    snprintf(text, sizeof text, "{\"ip\": \"%s\", " PORTS "}", ip);
    assert_parse_fails(text, "'ip' is too long");
}

static void test_parse_rejects_unsupported_scheme_with_key(void **state)
{
    (void)state;
    assert_parse_fails("{\"signature_scheme\": \"hmac-md5\", \"key\": "
                       "\"secret\", " PORTS "}",
                       "signature_scheme 'hmac-md5' is not supported");
}

static void test_parse_rejects_non_string_key(void **state)
{
    (void)state;
    assert_parse_fails("{\"key\": 12345, " PORTS "}",
                       "'key' must be a string");
    assert_parse_fails("{\"key\": null, " PORTS "}",
                       "'key' must be a string");
}

/* ---- loading files ------------------------------------------------------- */

static void test_load_missing_file_is_eio_naming_path(void **state)
{
    (void)state;
    const char *path = "/nonexistent-trellis-dir/kernel-1234.json";
    trl__connection c;
    trl_error err = {0};
    assert_int_equal(trl__connection_load(path, &c, &err), TRL_EIO);
    assert_int_equal(err.code, TRL_EIO);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "No such file"));
    assert_null(c.key);
}

/* Writes text to a fresh temporary file; the caller unlinks path. */
static void write_temp(char path[64], const char *text)
{
    snprintf(path, 64, "/tmp/trellis-test-conn-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void test_load_reads_valid_file(void **state)
{
    (void)state;
    char path[64];
    write_temp(path, full_file);
    trl__connection c;
    trl_error err = {0};
    int rc = trl__connection_load(path, &c, &err);
    unlink(path);
    assert_int_equal(rc, 0);
    assert_string_equal(c.key, "a0436f6c-1916-498b-8eb9-e81ab9368e84");
    assert_endpoint(&c, TRL__CH_HB, "tcp://127.0.0.1:50005");
    trl__connection_free(&c);
}

static void test_load_reports_parse_errors(void **state)
{
    (void)state;
    char path[64];
    write_temp(path, "{\"shell_port\": 5");
    trl__connection c;
    trl_error err = {0};
    int rc = trl__connection_load(path, &c, &err);
    unlink(path);
    assert_int_equal(rc, TRL_EINVAL);
    assert_non_null(strstr(err.message, "line 1"));
    assert_null(c.key);
}

static void test_load_notes_the_mode_the_policy_refuses(void **state)
{
    (void)state;
    char path[64];
    write_temp(path, full_file);
    assert_int_equal(chmod(path, 0644), 0);
    trl__connection c;
    trl_error err = {0};
    int rc = trl__connection_load(path, &c, &err);
    unlink(path);
    assert_int_equal(rc, 0);
    assert_int_equal(c.mode & 07777, 0644);
    char warn[512];
    rc = trl__connection_check_mode(&c, path, c.mode, 0, warn, sizeof warn,
                                    &err);
    assert_int_equal(rc, TRL_EAUTH);
    assert_non_null(strstr(err.message, "mode 0644"));
    assert_non_null(strstr(err.message, "read its key"));
    assert_non_null(strstr(err.message, "chmod 600"));
    assert_non_null(strstr(err.message, path));
    trl__connection_free(&c);
}

static void test_load_accepts_world_readable_unsigned_file(void **state)
{
    (void)state;
    char path[64];
    write_temp(path, "{" PORTS ", \"key\": \"\"}");
    assert_int_equal(chmod(path, 0644), 0);
    trl__connection c;
    trl_error err = {0};
    int rc = trl__connection_load(path, &c, &err);
    unlink(path);
    assert_int_equal(rc, 0);
    trl__connection_free(&c);
}

static void test_mode_policy(void **state)
{
    (void)state;
    trl__connection c;
    trl_error err = {0};
    char warn[512];
    assert_int_equal(parse(full_file, &c, &err), 0);
    assert_int_equal(trl__connection_check_mode(&c, "f", 0100600, 0, warn,
                                                sizeof warn, &err), 0);
    assert_string_equal(warn, "");
    assert_int_equal(trl__connection_check_mode(&c, "f", 0100640, 0, warn,
                                                sizeof warn, &err), 0);
    assert_non_null(strstr(warn, "group"));
    assert_int_equal(trl__connection_check_mode(&c, "f", 0100602, 0, warn,
                                                sizeof warn, &err),
                     TRL_EAUTH);
    assert_non_null(strstr(err.message, "rewrite it"));
    assert_int_equal(trl__connection_check_mode(&c, "f", 0100620, 0, warn,
                                                sizeof warn, &err), 0);
    assert_non_null(strstr(warn, "its group rewrite it"));
    assert_int_equal(trl__connection_check_mode(&c, "f", 0100604, 1, warn,
                                                sizeof warn, &err), 0);
    assert_non_null(strstr(warn, "starting anyway"));
    trl__connection_free(&c);

    /* unsigned: the mode does not matter, the address does */
    assert_int_equal(parse("{" PORTS ", \"ip\": \"0.0.0.0\"}", &c, &err),
                     0);
    assert_int_equal(trl__connection_check_mode(&c, "f", 0100644, 0, warn,
                                                sizeof warn, &err), 0);
    assert_non_null(strstr(warn, "not signed"));
    trl__connection_free(&c);
    /* loopback in every spelling, and ipc, need no key */
    const char *local[] = {"{" PORTS "}", "{" PORTS ", \"ip\": \"::1\"}",
                           "{" PORTS ", \"ip\": \"localhost\"}",
                           "{" PORTS ", \"ip\": \"127.0.0.2\"}",
                           "{" PORTS ", \"transport\": \"ipc\", "
                           "\"ip\": \"/tmp/k\"}"};
    for (size_t i = 0; i < sizeof local / sizeof *local; i++) {
        assert_int_equal(parse(local[i], &c, &err), 0);
        assert_int_equal(trl__connection_check_mode(&c, "f", 0100644, 0, warn,
                                                    sizeof warn, &err), 0);
        assert_string_equal(warn, "");
        trl__connection_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full_tcp_file),
        cmocka_unit_test(test_channel_port_names),
        cmocka_unit_test(test_parse_ipc_transport_formats_path_dash_port),
        cmocka_unit_test(test_parse_ipv6_ip_is_bracketed_in_endpoint),
        cmocka_unit_test(test_parse_defaults_for_missing_fields),
        cmocka_unit_test(test_parse_accepts_port_bounds_1_and_65535),
        cmocka_unit_test(test_parse_ignores_scheme_when_unsigned),
        cmocka_unit_test(test_endpoint_reports_small_buffer),
        cmocka_unit_test(test_parse_rejects_non_json_with_line_and_column),
        cmocka_unit_test(test_parse_rejects_non_object),
        cmocka_unit_test(test_parse_rejects_missing_port),
        cmocka_unit_test(test_parse_rejects_port_0),
        cmocka_unit_test(test_parse_rejects_port_70000),
        cmocka_unit_test(test_parse_rejects_negative_and_huge_port),
        cmocka_unit_test(test_parse_rejects_port_as_string),
        cmocka_unit_test(test_parse_rejects_port_as_real),
        cmocka_unit_test(test_parse_rejects_unknown_transport),
        cmocka_unit_test(test_parse_rejects_non_string_transport_and_ip),
        cmocka_unit_test(test_parse_rejects_empty_ip),
        cmocka_unit_test(test_parse_rejects_too_long_ip),
        cmocka_unit_test(test_parse_rejects_unsupported_scheme_with_key),
        cmocka_unit_test(test_parse_rejects_non_string_key),
        cmocka_unit_test(test_load_missing_file_is_eio_naming_path),
        cmocka_unit_test(test_load_reads_valid_file),
        cmocka_unit_test(test_load_reports_parse_errors),
        cmocka_unit_test(test_load_notes_the_mode_the_policy_refuses),
        cmocka_unit_test(test_load_accepts_world_readable_unsigned_file),
        cmocka_unit_test(test_mode_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
