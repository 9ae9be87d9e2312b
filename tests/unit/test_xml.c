/*
 * test_xml.c - the hardened parser (gateway/xml.c, gateway/xmlscan.c) on
 * its own: the XML declaration and the encoding rule, and the shape
 * limits checked before libxml2 builds anything.
 *
 * Each case is a document and the exact reason it must get (NONE when it
 * must parse).  Documents are built in memory; timing is never asserted
 * here (bench/bench_parser.c measures it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "xml.h"
#include "xmlsig.h"

static int setup(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    return icx_xmlsig_init(&err) == ICX_OK ? 0 : -1;
}

static int failures; /* cases that went wrong in the current test */

/* Parses doc (len bytes) under lim and checks the reason; a wrong one is
 * printed and counted, so one run shows every case that fails. */
static void expect_lim(const char *name, const char *doc, size_t len,
                       const icx_xml_limits *lim, int want)
{
    icx_xmldoc *d = NULL;
    icx_err err;
    icx_err_clear(&err);
    int rc = icx_xml_parse(&d, doc, len, lim, &err);
    int got = rc == ICX_OK ? ICX_REASON_NONE : err.reason;
    icx_xml_free(&d);
    if ((rc != ICX_OK && rc != ICX_EBADSIG) || got != want) {
        print_error("%s: got %s %s (%s), want %s\n", name, icx_rc_name(rc),
                    icx_reason_name(got), err.msg, icx_reason_name(want));
        failures++;
    }
}

static void expect(const char *name, const char *doc, size_t len, int want)
{
    icx_xml_limits lim = {1 << 20, 64};
    expect_lim(name, doc, len, &lim, want);
}

static void expect_no_failures(const char *what)
{
    int n = failures;
    failures = 0;
    if (n > 0)
        fail_msg("%s: %d case(s) wrong, see above", what, n);
}

/* A string of n copies of unit, then tail, in a malloc'ed buffer. */
static char *repeat(const char *head, const char *unit, size_t n,
                    const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * n + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + hl + ul * i, unit, ul);
    memcpy(s + hl + ul * n, tail, tl + 1);
    return s;
}

/* ---- the XML declaration ------------------------------------------------ */

struct decl_case {
    const char *name;
    const char *head;   /* before the filler */
    const char *fill;   /* repeated */
    size_t nfill;
    const char *tail;   /* after it, up to and including the document */
    int reason;
};

#define BOM "\xef\xbb\xbf"
#define V10 "<?xml version=\"1.0\""

static const struct decl_case decl_cases[] = {
    /* Accepted: UTF-8 named or implied, however laid out. */
    {"plain", V10 " encoding=\"UTF-8\"?>", "", 0, "<a/>", ICX_REASON_NONE},
    {"lower case, single quotes", "<?xml version='1.0' encoding='utf-8'?>",
     "", 0, "<a/>", ICX_REASON_NONE},
    {"no encoding", V10 "?>", "", 0, "<a/>", ICX_REASON_NONE},
    {"no declaration", "", "", 0, "<a>\xc3\xa9</a>", ICX_REASON_NONE},
    {"BOM, no declaration", BOM, "", 0, "<a/>", ICX_REASON_NONE},
    {"BOM and UTF-8", BOM V10 " encoding=\"UTF-8\"?>", "", 0, "<a/>",
     ICX_REASON_NONE},
    {"UTF-8 after 5000 spaces", V10, " ", 5000, "encoding=\"UTF-8\"?><a/>",
     ICX_REASON_NONE},
    {"tabs and line breaks around =", "<?xml\tversion\t=\t'1.0'", "\r\n\t",
     100, "encoding\n=\n\"UTF-8\"\n standalone = 'yes' \n?><a/>",
     ICX_REASON_NONE},
    {"standalone, no encoding", V10 " standalone='no'?>", "", 0, "<a/>",
     ICX_REASON_NONE},
    {"version 1.1 (VersionNum is 1.[0-9]+)", "<?xml version=\"1.1\"?>", "",
     0, "<a/>", ICX_REASON_NONE},
    /* Another encoding, wherever it is named. */
    {"ISO-8859-1", V10 " encoding=\"ISO-8859-1\"?>", "", 0, "<a/>",
     ICX_REASON_NOT_UTF8},
    {"ISO-8859-1 after 5000 spaces", V10, " ", 5000,
     "encoding=\"ISO-8859-1\"?><a/>", ICX_REASON_NOT_UTF8},
    {"Shift_JIS after 300 tabs and line breaks", V10, "\t\n", 300,
     "encoding=\"Shift_JIS\"?><a/>", ICX_REASON_NOT_UTF8},
    {"single quotes after 300 CRLF", "<?xml version='1.0'", "\r\n", 300,
     "encoding='windows-1252'?><a/>", ICX_REASON_NOT_UTF8},
    {"ISO-8859-1 then standalone", V10, " ", 400,
     "encoding=\"ISO-8859-1\" standalone=\"yes\"?><a/>",
     ICX_REASON_NOT_UTF8},
    {"standalone before ISO-8859-1", V10 " standalone=\"yes\"", " ", 400,
     "encoding=\"ISO-8859-1\"?><a/>", ICX_REASON_NOT_UTF8},
    {"BOM and a late ISO-8859-1", BOM V10, " ", 1000,
     "encoding=\"ISO-8859-1\"?><a/>", ICX_REASON_NOT_UTF8},
    {"UTF-16 named", V10 " encoding=\"UTF-16\"?>", "", 0, "<a/>",
     ICX_REASON_NOT_UTF8},
    {"UTF-16LE named late", V10, "\n", 600, "encoding='UTF-16LE'?><a/>",
     ICX_REASON_NOT_UTF8},
    {"UTF8 without the dash", V10 " encoding=\"UTF8\"?>", "", 0, "<a/>",
     ICX_REASON_NOT_UTF8},
    {"UTF-8 with a space inside the quotes",
     V10 " encoding=\"UTF-8 \"?>", "", 0, "<a/>", ICX_REASON_NOT_UTF8},
    {"UTF-8 then ISO-8859-1", V10 " encoding=\"UTF-8\"", " ", 300,
     "encoding=\"ISO-8859-1\"?><a/>", ICX_REASON_NOT_UTF8},
    /* A declaration outside the grammar. */
    {"not closed", V10 " encoding=\"UTF-8\">", "", 0, "<a/>",
     ICX_REASON_MALFORMED},
    {"ends inside", V10, " ", 3000, "", ICX_REASON_MALFORMED},
    {"no version", "<?xml encoding=\"UTF-8\"?>", "", 0, "<a/>",
     ICX_REASON_MALFORMED},
    {"encoding before version",
     "<?xml encoding=\"UTF-8\" version=\"1.0\"?>", "", 0, "<a/>",
     ICX_REASON_MALFORMED},
    {"standalone before UTF-8", V10 " standalone=\"no\" encoding=\"UTF-8\"?>",
     "", 0, "<a/>", ICX_REASON_MALFORMED},
    {"version twice", V10 " version=\"1.0\"?>", "", 0, "<a/>",
     ICX_REASON_MALFORMED},
    {"unknown pseudo-attribute", V10 " charset=\"UTF-8\"?>", "", 0, "<a/>",
     ICX_REASON_MALFORMED},
    {"no space between", V10 "encoding=\"UTF-8\"?>", "", 0, "<a/>",
     ICX_REASON_MALFORMED},
    {"unquoted", "<?xml version=1.0?>", "", 0, "<a/>", ICX_REASON_MALFORMED},
    {"mixed quotes", "<?xml version=\"1.0'?>", "", 0, "<a x=\"1\"/>",
     ICX_REASON_MALFORMED},
    {"version 2.0", "<?xml version=\"2.0\"?>", "", 0, "<a/>",
     ICX_REASON_MALFORMED},
    {"standalone maybe", V10 " standalone=\"maybe\"?>", "", 0, "<a/>",
     ICX_REASON_MALFORMED},
};

static void test_declaration(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof decl_cases / sizeof decl_cases[0]; i++) {
        const struct decl_case *c = &decl_cases[i];
        char *doc = repeat(c->head, c->fill, c->nfill, c->tail);
        expect(c->name, doc, strlen(doc), c->reason);
        free(doc);
    }
    expect_no_failures("declaration");
}

/* The refusal names the encoding and the line it is on. */
static void test_declaration_message(void **state)
{
    (void)state;
    char *doc = repeat(V10, "\n", 3, "encoding=\"ISO-8859-1\"?><a/>");
    icx_xml_limits lim = {1 << 20, 64};
    icx_xmldoc *d = NULL;
    icx_err err;
    icx_err_clear(&err);
    assert_int_equal(icx_xml_parse(&d, doc, strlen(doc), &lim, &err),
                     ICX_EBADSIG);
    if (strstr(err.msg, "ISO-8859-1") == NULL || strstr(err.msg, "line 4") ==
                                                     NULL)
        fail_msg("got \"%s\", want the encoding and line 4 named", err.msg);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declaration),
        cmocka_unit_test(test_declaration_message),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
