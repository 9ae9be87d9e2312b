/*
 * test_csv.c - the RFC 4180 reader and text decoding.
 *
 * A table of inputs, each with the records it must produce (fields joined
 * by '|', records by '\n', each record prefixed by its starting line), or
 * the exact error it must be refused with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "csv.h"

static char *dump(const icx_csv *c)
{
    icx_buf b;
    icx_buf_init(&b, 1 << 20);
    for (size_t r = 0; r < icx_csv_rows(c); r++) {
        icx_buf_printf(&b, "%u:", icx_csv_line(c, r));
        for (size_t k = 0; k < icx_csv_cols(c, r); k++)
            icx_buf_printf(&b, "%s%s", k ? "|" : "", icx_csv_field(c, r, k));
        icx_buf_puts(&b, "\n");
    }
    return icx_buf_steal(&b, NULL);
}

static const struct {
    const char *name, *in, *want;
} ok_cases[] = {
    {"plain", "a,b,c\n1,2,3\n", "1:a|b|c\n2:1|2|3\n"},
    {"no final newline", "a,b\n1,2", "1:a|b\n2:1|2\n"},
    {"CRLF", "a,b\r\n1,2\r\n", "1:a|b\n2:1|2\n"},
    {"BOM skipped", "\xEF\xBB\xBF" "事件番号,罪名\n1,2\n", "1:事件番号|罪名\n2:1|2\n"},
    {"quoted comma", "a,\"x, y\",c\n", "1:a|x, y|c\n"},
    {"doubled quote", "\"say \"\"hi\"\"\",b\n", "1:say \"hi\"|b\n"},
    {"embedded newline keeps the start line", "h\n\"line1\nline2\",x\nz,w\n",
     "1:h\n2:line1\nline2|x\n4:z|w\n"},
    {"embedded CRLF", "\"a\r\nb\"\r\nc\r\n", "1:a\r\nb\n3:c\n"},
    {"empty fields", ",,\n", "1:||\n"},
    {"quoted empty field is a record", "\"\"\n", "1:\n"},
    {"blank lines skipped", "a\n\n\nb\n", "1:a\n4:b\n"},
    {"empty input", "", ""},
    {"trailing empty field", "a,b,\n", "1:a|b|\n"},
};

static void test_ok_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
        icx_csv *c = NULL;
        icx_err err;
        icx_err_clear(&err);
        int rc = icx_csv_parse(&c, ok_cases[i].in, strlen(ok_cases[i].in),
                               NULL, &err);
        if (rc != 0)
            fail_msg("%s: got error \"%s\", want success", ok_cases[i].name,
                     err.msg);
        char *got = dump(c);
        if (strcmp(got, ok_cases[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", ok_cases[i].name, got,
                     ok_cases[i].want);
        free(got);
        icx_csv_free(&c);
        assert_null(c);
    }
}

static const struct {
    const char *name, *in;
    int rc;
    const char *msg;
} bad_cases[] = {
    {"unterminated quote", "a,b\n1,\"open\n2,3\n", ICX_EINVAL,
     "2:2: unterminated quoted field (the quote opens on line 2)"},
    {"text after closing quote", "\"ab\"c,d\n", ICX_EINVAL,
     "1:1: character after the closing quote"},
    {"bare quote", "a,b\"c\n", ICX_EINVAL, "1:2: quote inside an unquoted field"},
    {"NUL byte", "a,\0b\n", ICX_EINVAL, "1:2: NUL byte"},
};

static void test_bad_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        icx_csv *c = NULL;
        icx_err err;
        icx_err_clear(&err);
        size_t len = strlen(bad_cases[i].in);
        if (strcmp(bad_cases[i].name, "NUL byte") == 0)
            len = 6;
        int rc = icx_csv_parse(&c, bad_cases[i].in, len, NULL, &err);
        if (rc != bad_cases[i].rc)
            fail_msg("%s: got rc %d, want %d", bad_cases[i].name, rc,
                     bad_cases[i].rc);
        if (strncmp(err.msg, bad_cases[i].msg, strlen(bad_cases[i].msg)) != 0)
            fail_msg("%s: got \"%s\", want \"%s...\"", bad_cases[i].name,
                     err.msg, bad_cases[i].msg);
        assert_null(c);
    }
}

static void test_limits(void **state)
{
    (void)state;
    icx_csv *c = NULL;
    icx_err err;
    icx_csv_limits lim = {64, 2, 3, 5};
    const char *rows = "a\nb\nc\n";
    assert_int_equal(icx_csv_parse(&c, rows, strlen(rows), &lim, &err), ICX_EFULL);
    assert_string_equal(err.msg, "3:1: more than 2 rows");
    const char *cols = "a,b,c,d\n";
    assert_int_equal(icx_csv_parse(&c, cols, strlen(cols), &lim, &err), ICX_EFULL);
    assert_string_equal(err.msg, "1:4: more than 3 columns");
    const char *field = "abcdef\n";
    assert_int_equal(icx_csv_parse(&c, field, strlen(field), &lim, &err), ICX_EFULL);
    assert_string_equal(err.msg, "1:1: field longer than 5 bytes");
    char big[100];
    memset(big, 'a', sizeof big);
    assert_int_equal(icx_csv_parse(&c, big, sizeof big, &lim, &err), ICX_EFULL);
    assert_null(c);
}

static void test_decode(void **state)
{
    (void)state;
    char *out = NULL;
    size_t len = 0;
    const char *used = NULL;
    icx_err err;
    /* 事件番号 in Shift_JIS (CP932). */
    const char sjis[] = "\x8E\x96\x8C\x8F\x94\xD4\x8D\x86,\x5C\n";
    assert_int_equal(icx_text_decode(&out, &len, &used, sjis, strlen(sjis),
                                     "auto", &err), 0);
    assert_string_equal(used, "cp932");
    assert_string_equal(out, "事件番号,\\\n");
    free(out);
    assert_int_equal(icx_text_decode(&out, &len, &used, sjis, strlen(sjis),
                                     "shift_jis", &err), 0);
    free(out);
    assert_int_equal(icx_text_decode(&out, &len, &used, sjis, strlen(sjis),
                                     "utf-8", &err), ICX_EINVAL);
    assert_non_null(strstr(err.msg, "byte 0: not valid UTF-8"));
    const char utf[] = "\xEF\xBB\xBF" "罪名\n";
    assert_int_equal(icx_text_decode(&out, &len, &used, utf, strlen(utf),
                                     "auto", &err), 0);
    assert_string_equal(used, "utf-8");
    assert_string_equal(out, "罪名\n");
    free(out);
    assert_int_equal(icx_text_decode(&out, &len, &used, "a", 1, "latin9",
                                     &err), ICX_EINVAL);
    assert_false(icx_utf8_valid("\xC0\x80", 2)); /* overlong NUL */
    assert_false(icx_utf8_valid("\xED\xA0\x80", 3)); /* surrogate */
    assert_true(icx_utf8_valid("令和", strlen("令和")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_table),
        cmocka_unit_test(test_bad_table),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
