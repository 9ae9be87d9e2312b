/*
 * test_frame.c - the wire frame codec (gateway/base/frame.c).
 *
 * Table-driven: each case is a header, a body length and a limit beside the
 * code and the words of the error it must produce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

#define MAX_BODY 1024

struct parse_case {
    const char *name;
    unsigned char hdr[12];
    size_t hdrlen;
    size_t bodylen;
    int want_rc;
    int want_kind;
    const char *want_msg; /* substring of err.msg; NULL for success */
};

static const struct parse_case parse_cases[] = {
    {"hello", {'I', 'C', 'X', 1, 1, 0, 0, 0}, 8, 5, ICX_OK, 1, NULL},
    {"envelope", {'I', 'C', 'X', 1, 2, 0, 0, 0}, 8, 100, ICX_OK, 2, NULL},
    {"receipt at the limit", {'I', 'C', 'X', 1, 3, 0, 0, 0}, 8, MAX_BODY,
     ICX_OK, 3, NULL},
    {"bad magic", {'I', 'C', 'Y', 1, 2, 0, 0, 0}, 8, 10, ICX_EINVAL, 0,
     "does not start with ICX"},
    {"lowercase magic", {'i', 'c', 'x', 1, 2, 0, 0, 0}, 8, 10, ICX_EINVAL, 0,
     "does not start with ICX"},
    {"version 2", {'I', 'C', 'X', 2, 2, 0, 0, 0}, 8, 10, ICX_EINVAL, 0,
     "frame version 2 is unknown"},
    {"version 0", {'I', 'C', 'X', 0, 2, 0, 0, 0}, 8, 10, ICX_EINVAL, 0,
     "frame version 0 is unknown"},
    {"kind 0", {'I', 'C', 'X', 1, 0, 0, 0, 0}, 8, 10, ICX_EINVAL, 0,
     "frame kind 0 is unknown"},
    {"kind 4", {'I', 'C', 'X', 1, 4, 0, 0, 0}, 8, 10, ICX_EINVAL, 0,
     "frame kind 4 is unknown"},
    {"flags set", {'I', 'C', 'X', 1, 2, 0x80, 0, 0}, 8, 10, ICX_EINVAL, 0,
     "flags 0x80 are not zero"},
    {"reserved byte 6", {'I', 'C', 'X', 1, 2, 0, 1, 0}, 8, 10, ICX_EINVAL, 0,
     "reserved bytes are not zero"},
    {"reserved byte 7", {'I', 'C', 'X', 1, 2, 0, 0, 9}, 8, 10, ICX_EINVAL, 0,
     "reserved bytes are not zero"},
    {"oversize body", {'I', 'C', 'X', 1, 2, 0, 0, 0}, 8, MAX_BODY + 1,
     ICX_EFULL, 0, "envelope frame body is 1025 bytes, limit 1024"},
    {"empty body", {'I', 'C', 'X', 1, 3, 0, 0, 0}, 8, 0, ICX_EINVAL, 0,
     "receipt frame has an empty body"},
    {"short header", {'I', 'C', 'X', 1, 2, 0, 0}, 7, 10, ICX_EINVAL, 0,
     "frame header is 7 bytes, want 8"},
    {"long header", {'I', 'C', 'X', 1, 2, 0, 0, 0, 0}, 9, 10, ICX_EINVAL, 0,
     "frame header is 9 bytes, want 8"},
    {"empty header", {0}, 0, 10, ICX_EINVAL, 0,
     "frame header is 0 bytes, want 8"},
};

static void test_parse_table(void **unused)
{
    (void)unused;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        icx_err err;
        int kind = -1;
        icx_err_clear(&err);
        int rc = icx_frame_parse(&kind, c->hdr, c->hdrlen, c->bodylen,
                                 MAX_BODY, &err);
        if (rc != c->want_rc)
            fail_msg("%s: rc: got %d (%s), want %d", c->name, rc, err.msg,
                     c->want_rc);
        if (kind != c->want_kind)
            fail_msg("%s: kind: got %d, want %d", c->name, kind, c->want_kind);
        if (c->want_msg != NULL && strstr(err.msg, c->want_msg) == NULL)
            fail_msg("%s: message: got \"%s\", want it to contain \"%s\"",
                     c->name, err.msg, c->want_msg);
    }
}

static void test_encode_round_trip(void **unused)
{
    (void)unused;
    for (int kind = ICX_FRAME_KIND_MIN; kind <= ICX_FRAME_KIND_MAX; kind++) {
        unsigned char hdr[ICX_FRAME_HEADER_LEN];
        const unsigned char want[ICX_FRAME_HEADER_LEN] = {
            'I', 'C', 'X', 1, (unsigned char)kind, 0, 0, 0};
        int got = 0;
        assert_int_equal(icx_frame_encode_header(hdr, kind), ICX_OK);
        assert_memory_equal(hdr, want, sizeof want);
        assert_int_equal(icx_frame_parse(&got, hdr, sizeof hdr, 1, 1, NULL),
                         ICX_OK);
        if (got != kind)
            fail_msg("round trip: got kind %d, want %d", got, kind);
    }
    unsigned char hdr[ICX_FRAME_HEADER_LEN];
    assert_int_equal(icx_frame_encode_header(hdr, 0), ICX_EINVAL);
    assert_int_equal(icx_frame_encode_header(hdr, 4), ICX_EINVAL);
}

static void test_hello_body(void **unused)
{
    (void)unused;
    static const struct {
        const char *body;
        size_t len;
        int want;
    } cases[] = {
        {"JP-NPA", 6, ICX_OK},
        {"INT-ICPO", 8, ICX_OK},
        {"", 0, ICX_EINVAL},
        {"JP NPA", 6, ICX_EINVAL},
        {"JP-NPA\n", 7, ICX_EINVAL},
        {"JP\0NPA", 6, ICX_EINVAL},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
         65, ICX_EINVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        icx_err err;
        icx_err_clear(&err);
        int rc = icx_frame_check_hello(cases[i].body, cases[i].len, &err);
        if (rc != cases[i].want)
            fail_msg("hello case %zu: got %d (%s), want %d", i, rc, err.msg,
                     cases[i].want);
    }
}

static void test_kind_names(void **unused)
{
    (void)unused;
    assert_string_equal(icx_frame_kind_name(1), "hello");
    assert_string_equal(icx_frame_kind_name(2), "envelope");
    assert_string_equal(icx_frame_kind_name(3), "receipt");
    assert_string_equal(icx_frame_kind_name(9), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_hello_body),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
