/*
 * test_xml.c - the hardened parser (gateway/xml/xml.c, gateway/xml/xmlscan.c) on
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
    icx_xml_limits lim = {.max_bytes = 1 << 20, .max_depth = 64};
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
    icx_xml_limits lim = {.max_bytes = 1 << 20, .max_depth = 64};
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

/* ---- shape limits ---------------------------------------------------------- */

/* <r> with n attributes a0="" ... (and decls xmlns:pN="u" after them). */
static char *element(int nattrs, int ndecls, const char *body)
{
    icx_buf b;
    icx_buf_init(&b, 8u << 20);
    icx_buf_puts(&b, "<r");
    for (int i = 0; i < nattrs; i++)
        icx_buf_printf(&b, " a%d=\"\"", i);
    for (int i = 0; i < ndecls; i++)
        icx_buf_printf(&b, i == 0 ? " xmlns=\"urn:d\"" : " xmlns:p%d=\"u\"",
                       i);
    if (body == NULL)
        icx_buf_puts(&b, "/>");
    else
        icx_buf_printf(&b, ">%s</r>", body);
    return icx_buf_steal(&b, NULL);
}

/* <r> holding elements of per attributes each, total in all. */
static char *spread(long total, int per)
{
    icx_buf b;
    icx_buf_init(&b, 16u << 20);
    icx_buf_puts(&b, "<r>");
    for (long i = 0; i < total; i += per) {
        icx_buf_puts(&b, "<e");
        for (long k = i; k < total && k < i + per; k++)
            icx_buf_printf(&b, " a%ld=\"\"", k - i);
        icx_buf_puts(&b, "/>");
    }
    icx_buf_puts(&b, "</r>");
    return icx_buf_steal(&b, NULL);
}

static char *text_of(size_t n, char c)
{
    char *t = malloc(n + 1);
    assert_non_null(t);
    memset(t, c, n);
    t[n] = '\0';
    return t;
}

static void expect_doc(const char *name, char *doc, const icx_xml_limits *lim,
                       int want)
{
    expect_lim(name, doc, strlen(doc), lim, want);
    free(doc);
}

/* Each limit: at the limit the document parses, one over it is
 * PARSER_LIMIT; with the defaults (0 fields) and with values set. */
static void test_limits_exact(void **state)
{
    (void)state;
    icx_xml_limits def = {.max_bytes = 1u << 20, .max_depth = 64};
    icx_xml_limits set = {.max_bytes = 1u << 20, .max_depth = 64,
                          .max_attrs = 8, .max_ns_decls = 4,
                          .max_attrs_total = 1000, .max_name = 32,
                          .max_text = 1024};
    const int ok = ICX_REASON_NONE, over = ICX_REASON_PARSER_LIMIT;

    /* Attributes of one element (namespace declarations apart). */
    expect_doc("64 attributes", element(64, 32, NULL), &def, ok);
    expect_doc("65 attributes", element(65, 0, NULL), &def, over);
    expect_doc("8 attributes, limit 8", element(8, 0, NULL), &set, ok);
    expect_doc("9 attributes, limit 8", element(9, 0, NULL), &set, over);
    /* Namespace declarations of one element (xmlns= counts). */
    expect_doc("32 declarations", element(0, 32, NULL), &def, ok);
    expect_doc("33 declarations", element(0, 33, NULL), &def, over);
    expect_doc("4 declarations, limit 4", element(0, 4, NULL), &set, ok);
    expect_doc("5 declarations, limit 4", element(0, 5, NULL), &set, over);
    /* Attributes in the document, declarations included. */
    expect_doc("100,000 attributes in all", spread(100000, 50), &def, ok);
    expect_doc("100,001 attributes in all", spread(100001, 50), &def, over);
    icx_xml_limits two = {.max_bytes = 2u << 20, .max_depth = 64};
    expect_doc("200,000 in all, size limit 2 MiB", spread(200000, 50), &two,
               ok);
    expect_doc("200,001 in all, size limit 2 MiB", spread(200001, 50), &two,
               over);
    expect_doc("1,000 in all, limit 1,000", spread(1000, 8), &set, ok);
    expect_doc("1,001 in all, limit 1,000", spread(1001, 8), &set, over);
    {
        /* 996 attributes and 5 declarations: over by a declaration. */
        icx_buf b;
        icx_buf_init(&b, 1 << 20);
        icx_buf_puts(&b, "<r xmlns=\"urn:d\" xmlns:p=\"u\" xmlns:q=\"u\" "
                         "xmlns:s=\"u\" xmlns:t=\"u\">");
        char *inner = spread(996, 8);
        icx_buf_printf(&b, "%s</r>", inner);
        free(inner);
        expect_doc("996 attributes and 5 declarations, limit 1,000",
                   icx_buf_steal(&b, NULL), &set, over);
    }
    /* Name length: element, attribute, end tag, prefixed. */
    char *n256 = text_of(256, 'n'), *n257 = text_of(257, 'n');
    char *n32 = text_of(32, 'n'), *n33 = text_of(33, 'n');
    char doc[1024];
    snprintf(doc, sizeof doc, "<%s/>", n256);
    expect_lim("element name of 256 bytes", doc, strlen(doc), &def, ok);
    snprintf(doc, sizeof doc, "<%s/>", n257);
    expect_lim("element name of 257 bytes", doc, strlen(doc), &def, over);
    snprintf(doc, sizeof doc, "<r %s=\"1\"/>", n256);
    expect_lim("attribute name of 256 bytes", doc, strlen(doc), &def, ok);
    snprintf(doc, sizeof doc, "<r %s=\"1\"/>", n257);
    expect_lim("attribute name of 257 bytes", doc, strlen(doc), &def, over);
    snprintf(doc, sizeof doc, "<%s></%s>", n32, n32);
    expect_lim("name of 32 bytes, limit 32", doc, strlen(doc), &set, ok);
    snprintf(doc, sizeof doc, "<r xmlns:%.*s=\"u\"/>", 26, n32);
    expect_lim("xmlns: and 26 bytes, limit 32", doc, strlen(doc), &set, ok);
    snprintf(doc, sizeof doc, "<r xmlns:%.*s=\"u\"/>", 27, n33);
    expect_lim("xmlns: and 27 bytes, limit 32", doc, strlen(doc), &set,
               over);
    snprintf(doc, sizeof doc, "<r>x</r%s>", "");
    expect_lim("short end tag", doc, strlen(doc), &set, ok);
    snprintf(doc, sizeof doc, "<r></%s>", n33);
    expect_lim("end tag name of 33 bytes, limit 32", doc, strlen(doc), &set,
               over);
    free(n256);
    free(n257);
    free(n32);
    free(n33);
    /* Text node: character data between two tags, CDATA included, and
     * attribute values. */
    char *t = text_of(256 * 1024, 't');
    expect_doc("text of 256 KiB", element(0, 0, t), &def, ok);
    free(t);
    t = text_of(256 * 1024 + 1, 't');
    expect_doc("text of 256 KiB + 1", element(0, 0, t), &def, over);
    free(t);
    t = text_of(1024, 't');
    expect_doc("text of 1,024, limit 1,024", element(0, 0, t), &set, ok);
    memcpy(t + 500, "<![CDATA[", 9);
    memcpy(t + 1024 - 3, "]]>", 3);
    expect_doc("text and CDATA of 1,024, limit 1,024", element(0, 0, t), &set,
               ok);
    free(t);
    t = text_of(1025, 't');
    memcpy(t + 500, "<![CDATA[", 9);
    memcpy(t + 1025 - 3, "]]>", 3);
    expect_doc("text and CDATA of 1,025, limit 1,024", element(0, 0, t), &set,
               over);
    free(t);
    t = text_of(1024, 'v');
    char *d = malloc(2048);
    snprintf(d, 2048, "<r a='%s'/>", t);
    expect_doc("attribute value of 1,024, limit 1,024", d, &set, ok);
    free(t);
    t = text_of(1025, 'v');
    d = malloc(2048);
    snprintf(d, 2048, "<r a='%s'/>", t);
    expect_doc("attribute value of 1,025, limit 1,024", d, &set, over);
    free(t);
    expect_no_failures("limits");
}

/* The refusal names the limit and its key, and the line. */
static void test_limits_message(void **state)
{
    (void)state;
    icx_buf b;
    icx_buf_init(&b, 1 << 20);
    icx_buf_puts(&b, "<r>\n\n<e");
    for (int i = 0; i < 65; i++)
        icx_buf_printf(&b, " a%d=\"\"", i);
    icx_buf_puts(&b, "/></r>");
    icx_xml_limits lim = {.max_bytes = 1 << 20, .max_depth = 64};
    icx_xmldoc *d = NULL;
    icx_err err;
    icx_err_clear(&err);
    assert_int_equal(icx_xml_parse(&d, b.data, b.len, &lim, &err),
                     ICX_EBADSIG);
    assert_int_equal(err.reason, ICX_REASON_PARSER_LIMIT);
    if (strstr(err.msg, "line 3") == NULL ||
        strstr(err.msg, "more than 64 attributes") == NULL ||
        strstr(err.msg, "limits.max_attributes_per_element") == NULL)
        fail_msg("got \"%s\", want line 3, the limit and its key", err.msg);
    icx_buf_free(&b);
}

/* Documents built to be expensive are refused before libxml2 builds
 * them (how long they take is measured in bench/bench_parser.c). */
static void test_bad_shapes(void **state)
{
    (void)state;
    icx_xml_limits lim = {.max_bytes = 4u << 20, .max_depth = 64};
    expect_doc("100,000 attributes on one element", element(100000, 0, NULL),
               &lim, ICX_REASON_PARSER_LIMIT);
    expect_doc("100,000 namespace declarations on one element",
               element(0, 100000, NULL), &lim, ICX_REASON_PARSER_LIMIT);
    char *deep = repeat("", "<a>", 100000, "");
    expect_doc("100,000 nested elements", deep, &lim, ICX_REASON_TOO_DEEP);
    char *name = text_of(1 << 20, 'n');
    name[0] = '<';
    expect_doc("a name of 1 MiB", name, &lim, ICX_REASON_PARSER_LIMIT);
    char *text = text_of(1 << 20, 't');
    expect_doc("1 MiB of text in one element", element(0, 0, text), &lim,
               ICX_REASON_PARSER_LIMIT);
    free(text);
    /* libxml2 reads on after an error it does not stop at: an element
     * after a broken tag is measured all the same. */
    icx_buf b;
    icx_buf_init(&b, 4u << 20);
    icx_buf_puts(&b, "<r><a b!c=\"1\"/><e");
    for (int i = 0; i < 100000; i++)
        icx_buf_printf(&b, " a%d=\"\"", i);
    icx_buf_puts(&b, "/></r>");
    expect_doc("100,000 attributes after a broken tag",
               icx_buf_steal(&b, NULL), &lim, ICX_REASON_PARSER_LIMIT);
    expect_no_failures("bad shapes");
}

/* What the scan refuses itself, where libxml2 would read on unmeasured,
 * and what it must let through. */
static void test_scan_markup(void **state)
{
    (void)state;
    static const struct {
        const char *name, *doc;
        int reason;
    } cases[] = {
        {"CDATA, references, quotes, spaces around =",
         "<r a = 'x>y' b=\"&amp;&#x41;\"><![CDATA[<e a='1'>]]>&lt;\xc3\xa9"
         "</r >", ICX_REASON_NONE},
        {"names in UTF-8, prefixes", "<p:\xc3\xa9 xmlns:p=\"urn:p\" "
         "p:a=\"1\"\n\t/>", ICX_REASON_NONE},
        {"comment", "<r><!-- c --></r>", ICX_REASON_FORBIDDEN_NODE},
        {"comment after a broken tag", "<r><a b!c=\"1\"/><!-- c --></r>",
         ICX_REASON_FORBIDDEN_NODE},
        {"processing instruction", "<r><?pi x?></r>",
         ICX_REASON_FORBIDDEN_NODE},
        {"DOCTYPE", "<!DOCTYPE r [<!ENTITY e \"x\">]><r/>",
         ICX_REASON_DOCTYPE},
        {"'<' in an attribute value", "<r a=\"<e/>\"/>",
         ICX_REASON_MALFORMED},
        {"attribute without value", "<r a/>", ICX_REASON_MALFORMED},
        {"attributes without space", "<r a=\"1\"b=\"2\"/>",
         ICX_REASON_MALFORMED},
        {"value not closed", "<r a=\"1/>", ICX_REASON_MALFORMED},
        {"tag not closed", "<r a=\"1\"", ICX_REASON_MALFORMED},
        {"CDATA not closed", "<r><![CDATA[x</r>", ICX_REASON_MALFORMED},
        {"markup declaration in content", "<r><!ELEMENT r ANY></r>",
         ICX_REASON_MALFORMED},
        {"'<' then space", "<r>< e/></r>", ICX_REASON_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect(cases[i].name, cases[i].doc, strlen(cases[i].doc),
               cases[i].reason);
    expect_no_failures("markup");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declaration),
        cmocka_unit_test(test_declaration_message),
        cmocka_unit_test(test_limits_exact),
        cmocka_unit_test(test_limits_message),
        cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_scan_markup),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
