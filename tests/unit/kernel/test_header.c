/* test_header.c - header.c: dates, UUIDs, headers, replies to a parent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/wire.h"

/* Checks s against a pattern where '9' is any digit, 'h' any lowercase hex
 * digit, and every other character stands for itself; lengths must match. */
static int matches(const char *s, const char *pattern)
{
    if (strlen(s) != strlen(pattern))
        return 0;
    for (size_t i = 0; pattern[i]; i++) {
        char c = s[i];
        switch (pattern[i]) {
        case '9':
            if (c < '0' || c > '9')
                return 0;
            break;
        case 'h':
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                return 0;
            break;
        default:
            if (c != pattern[i])
                return 0;
        }
    }
    return 1;
}

#define ISO_PATTERN "9999-99-99T99:99:99.999999Z"
#define UUID_PATTERN "hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh"

static void assert_iso_date(const char *s)
{
    if (!matches(s, ISO_PATTERN))
        print_error("'%s' does not look like %s\n", s, ISO_PATTERN);
    assert_true(matches(s, ISO_PATTERN));
    assert_int_equal(strlen(s), 27);
    int month = atoi(s + 5), day = atoi(s + 8), hour = atoi(s + 11),
        minute = atoi(s + 14), second = atoi(s + 17);
    assert_in_range(month, 1, 12);
    assert_in_range(day, 1, 31);
    assert_in_range(hour, 0, 23);
    assert_in_range(minute, 0, 59);
    assert_in_range(second, 0, 60);
}

static void assert_uuid(const char *s)
{
    if (!matches(s, UUID_PATTERN))
        print_error("'%s' does not look like %s\n", s, UUID_PATTERN);
    assert_true(matches(s, UUID_PATTERN));
}

/* "YYYY-MM-DDTHH:MM:SS" of a CLOCK_REALTIME reading, the clock iso_now
 * uses, so the two cannot disagree by a coarse tick. */
static void realtime_prefix(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* ---- trl__iso_now -------------------------------------------------------- */

static void test_iso_now_has_six_fractional_digits_and_z(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        char out[32];
        memset(out, 'x', sizeof out);
        trl__iso_now(out);
        assert_iso_date(out);
        assert_int_equal(out[26], 'Z');
        assert_int_equal(out[27], '\0');
    }
}

/* xeus once wrote ".1234Z" for 1234 microseconds. Sleeps to just past a
 * second boundary so the microseconds are below 100000 and need padding. */
static void test_iso_now_zero_pads_microseconds(void **state)
{
    (void)state;
    for (int attempt = 0; attempt < 5; attempt++) {
        struct timespec now, before, after;
        clock_gettime(CLOCK_REALTIME, &now);
        struct timespec wait = {0, 1000000000L - now.tv_nsec + 2000000L};
        if (wait.tv_nsec >= 1000000000L) {
            wait.tv_sec = 1;
            wait.tv_nsec -= 1000000000L;
        }
        nanosleep(&wait, NULL);
        char out[32];
        clock_gettime(CLOCK_REALTIME, &before);
        trl__iso_now(out);
        clock_gettime(CLOCK_REALTIME, &after);
        if (before.tv_sec == after.tv_sec && after.tv_nsec < 100000000L) {
            assert_iso_date(out);
            assert_int_equal(out[20], '0');
            return;
        }
    }
    fail_msg("could not sample the first 100 ms of a second in 5 tries");
}

static void test_iso_now_is_current_utc_time(void **state)
{
    (void)state;
    char before[32], now[32], after[32];
    realtime_prefix(before);
    trl__iso_now(now);
    realtime_prefix(after);
    now[19] = '\0';  /* compare up to the seconds */
    assert_true(strcmp(now, before) == 0 || strcmp(now, after) == 0);
}

/* ---- trl__uuid ----------------------------------------------------------- */

static void test_uuid_is_lowercase_hex_with_dashes(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        char id[37];
        memset(id, 'x', sizeof id);
        trl__uuid(id);
        assert_uuid(id);
        assert_int_equal(id[36], '\0');
        assert_int_equal(id[8], '-');
        assert_int_equal(id[13], '-');
        assert_int_equal(id[18], '-');
        assert_int_equal(id[23], '-');
        assert_int_equal(id[14], '4');  /* random (version 4) UUID */
        assert_non_null(strchr("89ab", id[19]));
    }
}

static void test_uuid_two_calls_differ(void **state)
{
    (void)state;
    char a[37], b[37];
    trl__uuid(a);
    trl__uuid(b);
    assert_string_not_equal(a, b);
}

/* ---- trl__header_new ----------------------------------------------------- */

static void test_header_new_has_all_fields(void **state)
{
    (void)state;
    json_t *h = trl__header_new("kernel_info_reply", "sess-42", "alice");
    assert_non_null(h);
    assert_true(json_is_object(h));
    assert_int_equal(json_object_size(h), 6);
    const char *id = json_string_value(json_object_get(h, "msg_id"));
    const char *date = json_string_value(json_object_get(h, "date"));
    assert_non_null(id);
    assert_non_null(date);
    assert_uuid(id);
    assert_iso_date(date);
    assert_string_equal(json_string_value(json_object_get(h, "msg_type")),
                        "kernel_info_reply");
    assert_string_equal(json_string_value(json_object_get(h, "session")),
                        "sess-42");
    assert_string_equal(json_string_value(json_object_get(h, "username")),
                        "alice");
    /* jupyter_kernel_test forbids extra keys for minor versions <= 1 */
    assert_string_equal(json_string_value(json_object_get(h, "version")),
                        "5.3");
    json_decref(h);
}

static void test_header_new_gives_each_header_its_own_msg_id(void **state)
{
    (void)state;
    json_t *a = trl__header_new("status", "s", "u");
    json_t *b = trl__header_new("status", "s", "u");
    assert_string_not_equal(json_string_value(json_object_get(a, "msg_id")),
                            json_string_value(json_object_get(b, "msg_id")));
    json_decref(a);
    json_decref(b);
}

/* ---- trl__msg_init_reply ------------------------------------------------- */

static void make_parent(trl__msg *p)
{
    memset(p, 0, sizeof *p);
    p->header = trl__header_new("execute_request", "client-sess", "alice");
    p->parent_header = json_object();
    p->metadata = json_object();
    p->content = json_pack("{s:s}", "code", "1+1");
    assert_non_null(p->header);
    assert_int_equal(trl__frames_push(&p->idents, "id-a", 4), 0);
    assert_int_equal(trl__frames_push(&p->idents, "\0id-b", 5), 0);
}

static void test_init_reply_copies_parent_header(void **state)
{
    (void)state;
    trl__msg parent, reply;
    make_parent(&parent);
    json_t *before = json_deep_copy(parent.header);
    assert_int_equal(trl__msg_init_reply(&reply, &parent, "execute_reply",
                                         NULL, "kernel-sess", 0), 0);
    assert_true(json_equal(reply.parent_header, parent.header));
    /* a copy: changing the reply leaves the parent alone */
    assert_ptr_not_equal(reply.parent_header, parent.header);
    json_object_set_new(reply.parent_header, "msg_type", json_string("x"));
    assert_true(json_equal(parent.header, before));

    assert_string_equal(trl__msg_type(&reply), "execute_reply");
    assert_string_equal(
        json_string_value(json_object_get(reply.header, "session")),
        "kernel-sess");
    assert_string_equal(
        json_string_value(json_object_get(reply.header, "username")),
        "alice");
    assert_string_not_equal(
        json_string_value(json_object_get(reply.header, "msg_id")),
        json_string_value(json_object_get(parent.header, "msg_id")));
    json_decref(before);
    trl__msg_clear(&reply);
    trl__msg_clear(&parent);
}

static void test_init_reply_metadata_is_empty_object(void **state)
{
    (void)state;
    trl__msg parent, reply;
    make_parent(&parent);
    json_object_set_new(parent.metadata, "parent-only", json_true());
    assert_int_equal(trl__msg_init_reply(&reply, &parent, "execute_reply",
                                         NULL, "k", 0), 0);
    /* JupyterLab shows no output when metadata is null */
    assert_non_null(reply.metadata);
    assert_true(json_is_object(reply.metadata));
    assert_int_equal(json_object_size(reply.metadata), 0);
    assert_int_equal(reply.buffers.n, 0);
    trl__msg_clear(&reply);
    trl__msg_clear(&parent);
}

static void test_init_reply_null_content_becomes_empty_object(void **state)
{
    (void)state;
    trl__msg parent, reply;
    make_parent(&parent);
    assert_int_equal(trl__msg_init_reply(&reply, &parent, "status", NULL,
                                         "k", 0), 0);
    assert_true(json_is_object(reply.content));
    assert_int_equal(json_object_size(reply.content), 0);
    trl__msg_clear(&reply);
    trl__msg_clear(&parent);
}

static void test_init_reply_steals_content(void **state)
{
    (void)state;
    trl__msg parent, reply;
    make_parent(&parent);
    json_t *content = json_pack("{s:s}", "status", "ok");
    assert_int_equal(trl__msg_init_reply(&reply, &parent, "execute_reply",
                                         content, "k", 0), 0);
    assert_ptr_equal(reply.content, content);
    assert_int_equal(content->refcount, 1);
    trl__msg_clear(&reply);  /* frees content: valgrind checks */
    trl__msg_clear(&parent);
}

static void test_init_reply_copies_idents_only_when_asked(void **state)
{
    (void)state;
    trl__msg parent, reply;
    make_parent(&parent);

    assert_int_equal(trl__msg_init_reply(&reply, &parent, "execute_reply",
                                         NULL, "k", 0), 0);
    assert_int_equal(reply.idents.n, 0);
    trl__msg_clear(&reply);

    assert_int_equal(trl__msg_init_reply(&reply, &parent, "execute_reply",
                                         NULL, "k", 1), 0);
    assert_int_equal(reply.idents.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(reply.idents.v[i].size, parent.idents.v[i].size);
        assert_memory_equal(reply.idents.v[i].data, parent.idents.v[i].data,
                            parent.idents.v[i].size);
        assert_ptr_not_equal(reply.idents.v[i].data, parent.idents.v[i].data);
    }
    trl__msg_clear(&reply);
    assert_int_equal(parent.idents.n, 2);  /* the parent keeps its own */
    trl__msg_clear(&parent);
}

static void test_init_reply_without_parent(void **state)
{
    (void)state;
    trl__msg reply;
    assert_int_equal(trl__msg_init_reply(&reply, NULL, "status", NULL, "k", 1),
                     0);
    assert_true(json_is_object(reply.parent_header));
    assert_int_equal(json_object_size(reply.parent_header), 0);
    assert_int_equal(reply.idents.n, 0);
    assert_string_equal(
        json_string_value(json_object_get(reply.header, "username")),
        "trellis");
    trl__msg_clear(&reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso_now_has_six_fractional_digits_and_z),
        cmocka_unit_test(test_iso_now_zero_pads_microseconds),
        cmocka_unit_test(test_iso_now_is_current_utc_time),
        cmocka_unit_test(test_uuid_is_lowercase_hex_with_dashes),
        cmocka_unit_test(test_uuid_two_calls_differ),
        cmocka_unit_test(test_header_new_has_all_fields),
        cmocka_unit_test(test_header_new_gives_each_header_its_own_msg_id),
        cmocka_unit_test(test_init_reply_copies_parent_header),
        cmocka_unit_test(test_init_reply_metadata_is_empty_object),
        cmocka_unit_test(test_init_reply_null_content_becomes_empty_object),
        cmocka_unit_test(test_init_reply_steals_content),
        cmocka_unit_test(test_init_reply_copies_idents_only_when_asked),
        cmocka_unit_test(test_init_reply_without_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
