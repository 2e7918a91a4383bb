/* test_wire.c - wire.c and hmac.c: round trips, signatures, bad frames. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/wire.h"

#define TEST_KEY "trellis-test-key"

/* Four parts the known-answer tests sign. */
#define KAT_HEADER "{\"msg_id\":\"a1\",\"msg_type\":\"kernel_info_request\"}"
#define KAT_PARENT "{}"
#define KAT_METADATA "{}"
#define KAT_CONTENT "{\"x\":1}"

/* Computed with Debian's Python, independently of OpenSSL's C API:
 *   /usr/bin/python3 -c 'import hmac, hashlib
 *   h = hmac.new(b"trellis-test-key", digestmod=hashlib.sha256)
 *   for p in [b"{\"msg_id\":\"a1\",\"msg_type\":\"kernel_info_request\"}",
 *             b"{}", b"{}", b"{\"x\":1}"]:
 *       h.update(p)
 *   print(h.hexdigest())'                                                  */
#define KAT_HEX "ea992bbf7a7997d3b29165d0554d5b4cbba3ccbfbf4ff11a9b6311cd34d40905"

/* Same command with the content part b"{\"s\":\"" + b"a" * 5000 + b"\"}",
 * larger than hmac.c's 4096-byte stack buffer. */
#define KAT_BIG_HEX \
    "ea08a48bb6f021e6a2c989e2912910c9aad069efe1a2e0db66a6bb13a27424b5"

/* ---- helpers ------------------------------------------------------------- */

static int setup_signer(void **state)
{
    trl__signer *s = malloc(sizeof *s);
    trl_error err = {0};
    if (!s || trl__signer_init(s, "hmac-sha256", TEST_KEY, &err) != 0) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int teardown_signer(void **state)
{
    trl__signer *s = *state;
    trl__signer_destroy(s);
    free(s);
    return 0;
}

static void push_str(trl__frames *f, const char *s)
{
    assert_int_equal(trl__frames_push(f, s, strlen(s)), 0);
}

/* Replaces frame i's data with s. */
static void set_frame(trl__frames *f, size_t i, const char *s)
{
    assert_true(i < f->n);
    size_t len = strlen(s);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, s, len);
    free(f->v[i].data);
    f->v[i].data = copy;
    f->v[i].size = len;
}

/* Index of the signature frame in frames made by make_frames. */
#define SIG_AT 2

/* Builds [ident, delimiter, signature, header, parent, metadata, content,
 * buffer] with a signature that s computes over the four parts, so tests
 * of the JSON checks get past the signature check. */
static void make_frames(trl__frames *f, const trl__signer *s,
                        const char *header, const char *parent,
                        const char *metadata, const char *content)
{
    trl__frame parts[4] = {
        {(char *)header, strlen(header)},
        {(char *)parent, strlen(parent)},
        {(char *)metadata, strlen(metadata)},
        {(char *)content, strlen(content)},
    };
    char sig[TRL__SIG_HEX + 1];
    assert_int_equal(trl__sign(s, parts, sig), 0);
    memset(f, 0, sizeof *f);
    push_str(f, "client-ident");
    push_str(f, TRL__DELIMITER);
    push_str(f, sig);
    for (int i = 0; i < 4; i++)
        push_str(f, parts[i].data);
    push_str(f, "raw-buffer");
}

static void make_kat_frames(trl__frames *f, const trl__signer *s)
{
    make_frames(f, s, KAT_HEADER, KAT_PARENT, KAT_METADATA, KAT_CONTENT);
}

static void assert_msg_empty(const trl__msg *m)
{
    assert_int_equal(m->idents.n, 0);
    assert_null(m->idents.v);
    assert_int_equal(m->buffers.n, 0);
    assert_null(m->buffers.v);
    assert_null(m->header);
    assert_null(m->parent_header);
    assert_null(m->metadata);
    assert_null(m->content);
}

/* Decodes f with s, expects failure with code and a message containing
 * needle, and checks that the output message was left empty. */
static void assert_decode_fails(const trl__frames *f, trl__signer *s,
                                int code, const char *needle)
{
    trl__msg out;
    trl_error err = {0};
    /* junk, so a decoder that forgot to reset out would be caught */
    memset(&out, 0x5a, sizeof out);
    int rc = trl__wire_decode(f->v, f->n, s, &out, &err);
    if (rc != code || !strstr(err.message, needle))
        print_error("decode gave %d '%s', expected %d and '%s'\n", rc,
                    err.message, code, needle);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_non_null(strstr(err.message, needle));
    assert_msg_empty(&out);
}

static void assert_decode_ok(const trl__frames *f, trl__signer *s)
{
    trl__msg out;
    trl_error err = {0};
    int rc = trl__wire_decode(f->v, f->n, s, &out, &err);
    if (rc != 0)
        print_error("decode failed: %d '%s'\n", rc, err.message);
    assert_int_equal(rc, 0);
    assert_non_null(out.header);
    trl__msg_clear(&out);
}

static void assert_frame_eq(const trl__frame *a, const trl__frame *b)
{
    assert_int_equal(a->size, b->size);
    if (a->size)
        assert_memory_equal(a->data, b->data, a->size);
}

static void assert_frame_str(const trl__frame *f, const char *s)
{
    trl__frame want = {(char *)s, strlen(s)};
    assert_frame_eq(f, &want);
}

/* ---- signing ------------------------------------------------------------- */

static void test_sign_matches_python_hmac_known_answer(void **state)
{
    trl__signer *s = *state;
    trl__frame parts[4] = {
        {KAT_HEADER, strlen(KAT_HEADER)},
        {KAT_PARENT, strlen(KAT_PARENT)},
        {KAT_METADATA, strlen(KAT_METADATA)},
        {KAT_CONTENT, strlen(KAT_CONTENT)},
    };
    char hex[TRL__SIG_HEX + 1];
    assert_int_equal(trl__sign(s, parts, hex), 0);
    assert_string_equal(hex, KAT_HEX);
}

static void test_sign_matches_python_hmac_for_parts_over_4096_bytes(
    void **state)
{
    trl__signer *s = *state;
    const char prefix[] = "{\"s\":\"";
    size_t len = sizeof prefix - 1 + 5000 + 2;
    char *big = malloc(len + 1);
    assert_non_null(big);
    memcpy(big, prefix, sizeof prefix - 1);
    memset(big + sizeof prefix - 1, 'a', 5000);
    memcpy(big + len - 2, "\"}", 3);
    trl__frame parts[4] = {
        {KAT_HEADER, strlen(KAT_HEADER)},
        {KAT_PARENT, strlen(KAT_PARENT)},
        {KAT_METADATA, strlen(KAT_METADATA)},
        {big, len},
    };
    char hex[TRL__SIG_HEX + 1];
    assert_int_equal(trl__sign(s, parts, hex), 0);
    assert_string_equal(hex, KAT_BIG_HEX);
    free(big);
}

static void test_sign_without_key_writes_empty_signature(void **state)
{
    (void)state;
    trl__signer s;
    trl_error err = {0};
    assert_int_equal(trl__signer_init(&s, "hmac-sha256", "", &err), 0);
    trl__frame parts[4] = {{"{}", 2}, {"{}", 2}, {"{}", 2}, {"{}", 2}};
    char hex[TRL__SIG_HEX + 1];
    memset(hex, 'x', sizeof hex);
    assert_int_equal(trl__sign(&s, parts, hex), 0);
    assert_string_equal(hex, "");
    trl__signer_destroy(&s);
}

static void test_signer_init_rejects_unsupported_scheme_with_key(
    void **state)
{
    (void)state;
    trl__signer s;
    trl_error err = {0};
    assert_int_equal(trl__signer_init(&s, "hmac-md5", TEST_KEY, &err),
                     TRL_EUNSUPPORTED);
    assert_int_equal(err.code, TRL_EUNSUPPORTED);
    assert_non_null(strstr(err.message, "hmac-md5"));
    trl__signer_destroy(&s);  /* must be safe after a failed init */
}

static void test_decode_accepts_python_signed_message(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    set_frame(&f, SIG_AT, KAT_HEX);  /* the Python digest, not ours */
    assert_decode_ok(&f, s);
    trl__frames_clear(&f);
}

/* ---- round trip ---------------------------------------------------------- */

static void test_encode_decode_round_trip_preserves_everything(void **state)
{
    trl__signer *s = *state;
    trl__msg m = {0};
    static const char ident_bin[] = {'\0', 'k', '\xff', '\0'};
    static const char buf_bin[] = {'\x01', '\0', '\x02', '\xfe'};

    push_str(&m.idents, "routing-id-1");
    assert_int_equal(trl__frames_push(&m.idents, ident_bin, sizeof ident_bin),
                     0);
    m.header = trl__header_new("execute_request", "sess-1", "alice");
    m.parent_header = json_pack("{s:s, s:s}", "msg_id", "p1", "msg_type",
                                "kernel_info_request");
    m.metadata = json_pack("{s:b}", "trusted", 1);
    m.content = json_pack("{s:s, s:[i, f, n], s:s}", "code", "print(1)",
                          "list", 1, 2.5, "unicode", "caf\xc3\xa9 \xe2\x82\xac");
    assert_non_null(m.header);
    assert_non_null(m.parent_header);
    assert_non_null(m.metadata);
    assert_non_null(m.content);
    assert_int_equal(trl__frames_push(&m.buffers, buf_bin, sizeof buf_bin), 0);
    assert_int_equal(trl__frames_push(&m.buffers, "", 0), 0);

    trl__frames f = {0};
    trl_error err = {0};
    assert_int_equal(trl__wire_encode(&m, s, &f, &err), 0);

    /* layout: 2 idents, delimiter, signature, 4 parts, 2 buffers */
    assert_int_equal(f.n, 2 + 1 + 1 + 4 + 2);
    assert_frame_str(&f.v[2], TRL__DELIMITER);
    assert_int_equal(f.v[3].size, TRL__SIG_HEX);
    for (size_t i = 0; i < TRL__SIG_HEX; i++)
        assert_non_null(strchr("0123456789abcdef", f.v[3].data[i]));

    trl__msg out;
    assert_int_equal(trl__wire_decode(f.v, f.n, s, &out, &err), 0);
    assert_int_equal(out.idents.n, 2);
    assert_frame_eq(&out.idents.v[0], &m.idents.v[0]);
    assert_frame_eq(&out.idents.v[1], &m.idents.v[1]);
    assert_int_equal(out.buffers.n, 2);
    assert_frame_eq(&out.buffers.v[0], &m.buffers.v[0]);
    assert_frame_eq(&out.buffers.v[1], &m.buffers.v[1]);
    assert_true(json_equal(out.header, m.header));
    assert_true(json_equal(out.parent_header, m.parent_header));
    assert_true(json_equal(out.metadata, m.metadata));
    assert_true(json_equal(out.content, m.content));
    assert_string_equal(trl__msg_type(&out), "execute_request");

    trl__msg_clear(&out);
    trl__frames_clear(&f);
    trl__msg_clear(&m);
}

static void test_encode_appends_and_leaves_message_unchanged(void **state)
{
    trl__signer *s = *state;
    trl__msg m = {0};
    m.header = json_pack("{s:s, s:s}", "msg_id", "m1", "msg_type", "status");
    m.parent_header = json_object();
    m.metadata = json_object();
    m.content = json_pack("{s:s}", "execution_state", "idle");
    json_t *content_copy = json_deep_copy(m.content);

    trl__frames f = {0};
    push_str(&f, "already-there");
    trl_error err = {0};
    assert_int_equal(trl__wire_encode(&m, s, &f, &err), 0);
    assert_int_equal(f.n, 1 + 1 + 1 + 4);
    assert_frame_str(&f.v[0], "already-there");
    assert_frame_str(&f.v[1], TRL__DELIMITER);
    assert_frame_str(&f.v[4], "{}");  /* compact JSON */
    assert_frame_str(&f.v[6], "{\"execution_state\":\"idle\"}");
    assert_true(json_equal(m.content, content_copy));
    assert_int_equal(m.idents.n, 0);

    json_decref(content_copy);
    trl__frames_clear(&f);
    trl__msg_clear(&m);
}

static void test_encode_unsigned_writes_empty_signature_frame(void **state)
{
    (void)state;
    trl__signer s;
    trl_error err = {0};
    assert_int_equal(trl__signer_init(&s, NULL, "", &err), 0);
    trl__msg m = {0};
    m.header = json_pack("{s:s, s:s}", "msg_id", "m1", "msg_type", "status");
    m.parent_header = json_object();
    m.metadata = json_object();
    m.content = json_object();
    trl__frames f = {0};
    assert_int_equal(trl__wire_encode(&m, &s, &f, &err), 0);
    assert_int_equal(f.n, 6);
    assert_frame_str(&f.v[0], TRL__DELIMITER);
    assert_int_equal(f.v[1].size, 0);

    trl__msg out;
    assert_int_equal(trl__wire_decode(f.v, f.n, &s, &out, &err), 0);
    assert_int_equal(out.idents.n, 0);
    assert_int_equal(out.buffers.n, 0);
    assert_true(json_equal(out.header, m.header));
    trl__msg_clear(&out);
    trl__frames_clear(&f);
    trl__msg_clear(&m);
    trl__signer_destroy(&s);
}

static void test_encode_rejects_message_without_content(void **state)
{
    trl__signer *s = *state;
    trl__msg m = {0};
    m.header = json_pack("{s:s, s:s}", "msg_id", "m1", "msg_type", "status");
    m.parent_header = json_object();
    m.metadata = json_object();
    trl__frames f = {0};
    trl_error err = {0};
    assert_int_equal(trl__wire_encode(&m, s, &f, &err), TRL_EINVAL);
    assert_int_equal(err.code, TRL_EINVAL);
    assert_non_null(strstr(err.message, "content"));
    assert_int_equal(f.n, 0);
    trl__frames_clear(&f);
    trl__msg_clear(&m);
}

static void test_encode_rejects_invalid_utf8(void **state)
{
    trl__signer *s = *state;
    trl__msg m = {0};
    m.header = json_pack("{s:s, s:s}", "msg_id", "m1", "msg_type", "stream");
    m.parent_header = json_object();
    m.metadata = json_object();
    m.content = json_object();
    json_object_set_new(m.content, "text", json_stringn_nocheck("\xff\xfe", 2));
    trl__frames f = {0};
    trl_error err = {0};
    assert_int_equal(trl__wire_encode(&m, s, &f, &err), TRL_EINVAL);
    assert_non_null(strstr(err.message, "content"));
    assert_int_equal(f.n, 0);
    trl__frames_clear(&f);
    trl__msg_clear(&m);
}

/* ---- decode: framing ----------------------------------------------------- */

static void test_decode_accepts_message_without_identities(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    trl_error err = {0};
    trl__msg out;
    /* skip the identity frame */
    assert_int_equal(trl__wire_decode(f.v + 1, f.n - 1, s, &out, &err), 0);
    assert_int_equal(out.idents.n, 0);
    assert_int_equal(out.buffers.n, 1);
    assert_frame_str(&out.buffers.v[0], "raw-buffer");
    trl__msg_clear(&out);
    trl__frames_clear(&f);
}

static void test_decode_rejects_missing_delimiter(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    set_frame(&f, 1, "<IDS|MSG");  /* one byte short */
    assert_decode_fails(&f, s, TRL_EPROTO, "delimiter");
    trl__frames_clear(&f);
}

static void test_decode_rejects_no_frames(void **state)
{
    trl__signer *s = *state;
    trl__frames f = {0};
    assert_decode_fails(&f, s, TRL_EPROTO, "delimiter");
}

static void test_decode_rejects_too_few_frames_after_delimiter(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    /* ident, delimiter, signature + 3 parts: content missing */
    assert_decode_fails(&(trl__frames){f.v, 6, 6}, s, TRL_EPROTO,
                        "4 frames after the delimiter");
    /* nothing after the delimiter */
    assert_decode_fails(&(trl__frames){f.v, 2, 2}, s, TRL_EPROTO,
                        "0 frames after the delimiter");
    trl__frames_clear(&f);
}

/* ---- decode: JSON parts -------------------------------------------------- */

static const char *const part_name[4] = {"header", "parent_header",
                                         "metadata", "content"};

/* For each of the four parts in turn, replaces it with bad (signing the
 * result so only the JSON check can fail) and expects TRL_EPROTO naming
 * that part. */
static void check_each_part_rejected(trl__signer *s, const char *bad)
{
    const char *good[4] = {KAT_HEADER, KAT_PARENT, KAT_METADATA, KAT_CONTENT};
    for (int i = 0; i < 4; i++) {
        const char *p[4] = {good[0], good[1], good[2], good[3]};
        p[i] = bad;
        trl__frames f;
        make_frames(&f, s, p[0], p[1], p[2], p[3]);
        char needle[64];
        snprintf(needle, sizeof needle, "%s is not a JSON object",
                 part_name[i]);
        assert_decode_fails(&f, s, TRL_EPROTO, needle);
        /* "header" is inside "parent_header": the message must start
         * with the right name */
        trl_error err = {0};
        trl__msg out;
        assert_int_equal(trl__wire_decode(f.v, f.n, s, &out, &err),
                         TRL_EPROTO);
        assert_memory_equal(err.message, needle, strlen(needle));
        trl__frames_clear(&f);
    }
}

static void test_decode_rejects_invalid_json_in_each_part(void **state)
{
    check_each_part_rejected(*state, "{\"a\":");
    check_each_part_rejected(*state, "not json");
    check_each_part_rejected(*state, "");
}

static void test_decode_rejects_array_in_each_part(void **state)
{
    check_each_part_rejected(*state, "[1,2]");
}

static void test_decode_rejects_string_in_each_part(void **state)
{
    check_each_part_rejected(*state, "\"msg\"");
}

static void test_decode_rejects_number_in_each_part(void **state)
{
    check_each_part_rejected(*state, "42");
}

static void test_decode_rejects_null_in_each_part(void **state)
{
    check_each_part_rejected(*state, "null");
}

static void check_header_rejected(trl__signer *s, const char *header)
{
    trl__frames f;
    make_frames(&f, s, header, KAT_PARENT, KAT_METADATA, KAT_CONTENT);
    assert_decode_fails(&f, s, TRL_EPROTO, "msg_id or msg_type");
    trl__frames_clear(&f);
}

static void test_decode_rejects_header_without_msg_id(void **state)
{
    check_header_rejected(*state, "{\"msg_type\":\"kernel_info_request\"}");
}

static void test_decode_rejects_header_without_msg_type(void **state)
{
    check_header_rejected(*state, "{\"msg_id\":\"a1\"}");
}

static void test_decode_rejects_header_with_non_string_msg_id(void **state)
{
    check_header_rejected(*state,
                          "{\"msg_id\":7,\"msg_type\":\"kernel_info_request\"}");
    check_header_rejected(
        *state, "{\"msg_id\":null,\"msg_type\":\"kernel_info_request\"}");
}

static void test_decode_rejects_header_with_non_string_msg_type(void **state)
{
    check_header_rejected(*state, "{\"msg_id\":\"a1\",\"msg_type\":[]}");
    check_header_rejected(*state, "{\"msg_id\":\"a1\",\"msg_type\":{}}");
}

/* ---- decode: signatures -------------------------------------------------- */

static void test_decode_rejects_wrong_signature(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    /* one nibble off, at every position: all 32 bytes are compared */
    for (size_t i = 0; i < TRL__SIG_HEX; i++) {
        char sig[TRL__SIG_HEX + 1];
        memcpy(sig, KAT_HEX, sizeof sig);
        sig[i] = sig[i] == '0' ? '1' : '0';
        set_frame(&f, SIG_AT, sig);
        assert_decode_fails(&f, s, TRL_EAUTH, "invalid signature");
    }
    trl__frames_clear(&f);
}

static void test_decode_rejects_message_signed_with_other_key(void **state)
{
    trl__signer *s = *state;
    trl__signer other;
    trl_error err = {0};
    assert_int_equal(trl__signer_init(&other, "hmac-sha256", "other-key",
                                      &err), 0);
    trl__frames f;
    make_kat_frames(&f, &other);
    assert_decode_fails(&f, s, TRL_EAUTH, "invalid signature");
    trl__frames_clear(&f);
    trl__signer_destroy(&other);
}

static void test_decode_rejects_tampered_content(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    set_frame(&f, SIG_AT + 4, "{\"x\":2}");
    assert_decode_fails(&f, s, TRL_EAUTH, "invalid signature");
    trl__frames_clear(&f);
}

static void test_decode_rejects_empty_signature_when_key_set(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    set_frame(&f, SIG_AT, "");
    assert_decode_fails(&f, s, TRL_EAUTH, "not signed");
    trl__frames_clear(&f);
}

static void test_decode_rejects_missing_signature_frame_when_key_set(
    void **state)
{
    trl__signer *s = *state;
    trl__frames f = {0};
    /* a client that sends no signature frame at all: the header lands
     * where the signature belongs, and there are only 4 frames left */
    push_str(&f, TRL__DELIMITER);
    push_str(&f, KAT_HEADER);
    push_str(&f, KAT_PARENT);
    push_str(&f, KAT_METADATA);
    push_str(&f, KAT_CONTENT);
    assert_decode_fails(&f, s, TRL_EPROTO, "4 frames after the delimiter");
    trl__frames_clear(&f);
}

static void test_decode_rejects_signature_of_wrong_length(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    char sig[TRL__SIG_HEX + 2];
    memcpy(sig, KAT_HEX, TRL__SIG_HEX + 1);
    sig[TRL__SIG_HEX - 1] = '\0';  /* 63 characters */
    set_frame(&f, SIG_AT, sig);
    assert_decode_fails(&f, s, TRL_EAUTH, "63 characters");
    memcpy(sig, KAT_HEX "0", TRL__SIG_HEX + 2);  /* 65 characters */
    set_frame(&f, SIG_AT, sig);
    assert_decode_fails(&f, s, TRL_EAUTH, "65 characters");
    /* the raw 32-byte digest instead of its hex */
    set_frame(&f, SIG_AT, "0123456789abcdef0123456789abcdef");
    assert_decode_fails(&f, s, TRL_EAUTH, "32 characters");
    trl__frames_clear(&f);
}

static void test_decode_rejects_non_hex_signature(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    char sig[TRL__SIG_HEX + 1];
    static const char bad_chars[] = {'g', 'G', ' ', 'x', '-', '\0', '\xc3'};
    for (size_t i = 0; i < sizeof bad_chars; i++) {
        memcpy(sig, KAT_HEX, sizeof sig);
        sig[TRL__SIG_HEX - 1 - i] = bad_chars[i];
        /* set the frame by size: a NUL must not shorten it */
        free(f.v[SIG_AT].data);
        f.v[SIG_AT].data = malloc(TRL__SIG_HEX);
        assert_non_null(f.v[SIG_AT].data);
        memcpy(f.v[SIG_AT].data, sig, TRL__SIG_HEX);
        f.v[SIG_AT].size = TRL__SIG_HEX;
        assert_decode_fails(&f, s, TRL_EAUTH, "not hex");
    }
    trl__frames_clear(&f);
}

static void test_decode_accepts_uppercase_hex_signature(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    char sig[TRL__SIG_HEX + 1];
    for (size_t i = 0; i <= TRL__SIG_HEX; i++)
        sig[i] = (char)(KAT_HEX[i] >= 'a' && KAT_HEX[i] <= 'f'
                            ? KAT_HEX[i] - 'a' + 'A'
                            : KAT_HEX[i]);
    assert_string_not_equal(sig, KAT_HEX);
    set_frame(&f, SIG_AT, sig);
    assert_decode_ok(&f, s);
    trl__frames_clear(&f);
}

/* ---- decode: replay ------------------------------------------------------ */

static void test_decode_rejects_replayed_message(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    assert_decode_ok(&f, s);
    assert_decode_fails(&f, s, TRL_EAUTH, "replayed");
    assert_decode_fails(&f, s, TRL_EAUTH, "replayed");
    trl__frames_clear(&f);
}

static void test_decode_rejects_replay_with_uppercased_signature(
    void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    assert_decode_ok(&f, s);
    char sig[TRL__SIG_HEX + 1];
    for (size_t i = 0; i <= TRL__SIG_HEX; i++)
        sig[i] = (char)(KAT_HEX[i] >= 'a' && KAT_HEX[i] <= 'f'
                            ? KAT_HEX[i] - 'a' + 'A'
                            : KAT_HEX[i]);
    set_frame(&f, SIG_AT, sig);
    assert_decode_fails(&f, s, TRL_EAUTH, "replayed");
    trl__frames_clear(&f);
}

static void test_decode_replay_ignores_identities_and_buffers(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    assert_decode_ok(&f, s);
    /* identities and buffers are not signed: changing them does not make
     * a captured message new */
    set_frame(&f, 0, "another-client");
    set_frame(&f, f.n - 1, "another-buffer");
    assert_decode_fails(&f, s, TRL_EAUTH, "replayed");
    trl__frames_clear(&f);
}

static void test_decode_rejected_signature_is_not_remembered(void **state)
{
    trl__signer *s = *state;
    trl__frames f;
    make_kat_frames(&f, s);
    char good[TRL__SIG_HEX + 1];
    memcpy(good, f.v[SIG_AT].data, TRL__SIG_HEX);
    good[TRL__SIG_HEX] = '\0';
    set_frame(&f, SIG_AT, "00000000000000000000000000000000"
                          "00000000000000000000000000000000");
    assert_decode_fails(&f, s, TRL_EAUTH, "invalid signature");
    set_frame(&f, SIG_AT, good);
    assert_decode_ok(&f, s);
    trl__frames_clear(&f);
}

static void test_decode_unsigned_accepts_any_signature_frame(void **state)
{
    (void)state;
    trl__signer s;
    trl_error err = {0};
    assert_int_equal(trl__signer_init(&s, "hmac-sha256", "", &err), 0);
    trl__frames f;
    make_kat_frames(&f, &s);
    assert_int_equal(f.v[SIG_AT].size, 0);
    assert_decode_ok(&f, &s);
    set_frame(&f, SIG_AT, "not-a-signature");
    assert_decode_ok(&f, &s);
    set_frame(&f, SIG_AT, KAT_HEX);
    assert_decode_ok(&f, &s);
    /* without a key there is no digest to remember: the same frames
     * decode again */
    assert_decode_ok(&f, &s);
    /* the JSON checks still apply */
    set_frame(&f, SIG_AT + 1, "[]");
    assert_decode_fails(&f, &s, TRL_EPROTO, "header is not a JSON object");
    trl__frames_clear(&f);
    trl__signer_destroy(&s);
}

/* ---- misc ---------------------------------------------------------------- */

static void test_msg_type_is_empty_without_header(void **state)
{
    (void)state;
    trl__msg m = {0};
    assert_string_equal(trl__msg_type(&m), "");
    m.header = json_pack("{s:i}", "msg_type", 3);
    assert_string_equal(trl__msg_type(&m), "");
    trl__msg_clear(&m);
}

static void test_frames_copy_duplicates_data(void **state)
{
    (void)state;
    trl__frames a = {0}, b = {0};
    for (unsigned i = 0; i < 20; i++) {  /* past the initial capacity */
        char s[32];
        snprintf(s, sizeof s, "frame-%u", i);
        push_str(&a, s);
    }
    assert_int_equal(trl__frames_push(&a, NULL, 0), 0);
    assert_int_equal(trl__frames_copy(&b, &a), 0);
    assert_int_equal(b.n, 21);
    for (size_t i = 0; i < a.n; i++) {
        assert_ptr_not_equal(a.v[i].data, b.v[i].data);
        assert_frame_eq(&a.v[i], &b.v[i]);
    }
    trl__frames_clear(&a);
    assert_int_equal(a.n, 0);
    assert_null(a.v);
    trl__frames_clear(&b);
}

#define KEYED(t) cmocka_unit_test_setup_teardown(t, setup_signer, teardown_signer)

int main(void)
{
    const struct CMUnitTest tests[] = {
        KEYED(test_sign_matches_python_hmac_known_answer),
        KEYED(test_sign_matches_python_hmac_for_parts_over_4096_bytes),
        cmocka_unit_test(test_sign_without_key_writes_empty_signature),
        cmocka_unit_test(test_signer_init_rejects_unsupported_scheme_with_key),
        KEYED(test_decode_accepts_python_signed_message),
        KEYED(test_encode_decode_round_trip_preserves_everything),
        KEYED(test_encode_appends_and_leaves_message_unchanged),
        cmocka_unit_test(test_encode_unsigned_writes_empty_signature_frame),
        KEYED(test_encode_rejects_message_without_content),
        KEYED(test_encode_rejects_invalid_utf8),
        KEYED(test_decode_accepts_message_without_identities),
        KEYED(test_decode_rejects_missing_delimiter),
        KEYED(test_decode_rejects_no_frames),
        KEYED(test_decode_rejects_too_few_frames_after_delimiter),
        KEYED(test_decode_rejects_invalid_json_in_each_part),
        KEYED(test_decode_rejects_array_in_each_part),
        KEYED(test_decode_rejects_string_in_each_part),
        KEYED(test_decode_rejects_number_in_each_part),
        KEYED(test_decode_rejects_null_in_each_part),
        KEYED(test_decode_rejects_header_without_msg_id),
        KEYED(test_decode_rejects_header_without_msg_type),
        KEYED(test_decode_rejects_header_with_non_string_msg_id),
        KEYED(test_decode_rejects_header_with_non_string_msg_type),
        KEYED(test_decode_rejects_wrong_signature),
        KEYED(test_decode_rejects_message_signed_with_other_key),
        KEYED(test_decode_rejects_tampered_content),
        KEYED(test_decode_rejects_empty_signature_when_key_set),
        KEYED(test_decode_rejects_missing_signature_frame_when_key_set),
        KEYED(test_decode_rejects_signature_of_wrong_length),
        KEYED(test_decode_rejects_non_hex_signature),
        KEYED(test_decode_accepts_uppercase_hex_signature),
        KEYED(test_decode_rejects_replayed_message),
        KEYED(test_decode_rejects_replay_with_uppercased_signature),
        KEYED(test_decode_replay_ignores_identities_and_buffers),
        KEYED(test_decode_rejected_signature_is_not_remembered),
        cmocka_unit_test(test_decode_unsigned_accepts_any_signature_frame),
        cmocka_unit_test(test_msg_type_is_empty_without_header),
        cmocka_unit_test(test_frames_copy_duplicates_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
