/*
 * test_xsdv.c - the schema fast path (xsdv.c) against libxml2.
 *
 * The shipped schemas compile into the fast path; it proves every valid
 * example valid and never calls an invalid example valid; and over
 * thousands of random edits of the valid examples (elements dropped,
 * doubled, swapped, renamed or moved, text and attributes changed, added
 * or removed) it never says "valid" where libxml2 says "invalid".  A schema
 * set outside the subset is refused with the file and line, and
 * icx_schemas_load then validates with libxml2 alone.
 *
 * ICX_TEST_EDITS (edited copies per example, default 400) and
 * ICX_TEST_SEED widen the search when the fast path changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "err.h"
#include "testutil.h"
#include "util.h"
#include "xml.h"
#include "xsdv.h"

#define MAX_FILES 256
#define MAX_NODES 4096

static icx_schemas *g_schemas;
static icx_xsdv *g_fast;

static int setup(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    const char *dir = icx_test_path("%s/schemas", icx_test_srcdir());
    if (icx_schemas_load(&g_schemas, dir, &err) != ICX_OK ||
        icx_xsdv_compile(&g_fast, icx_test_path("%s/icx.xsd", dir), &err) !=
            ICX_OK) {
        fprintf(stderr, "loading %s: %s\n", dir, err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    icx_xsdv_free(&g_fast);
    icx_schemas_free(&g_schemas);
    return 0;
}

static icx_xmldoc *parse_file(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    icx_err err;
    icx_err_clear(&err);
    assert_int_equal(icx_file_read(&data, &len, path, 1024 * 1024, &err),
                     ICX_OK);
    icx_xmldoc *doc = NULL;
    icx_xml_limits lim = ICX_XML_DEFAULT_LIMITS;
    if (icx_xml_parse(&doc, data, len, &lim, &err) != ICX_OK)
        fail_msg("%s: %s", path, err.msg);
    free(data);
    return doc;
}

static int slow_valid(icx_xmldoc *doc)
{
    icx_err err;
    icx_err_clear(&err);
    return icx_schemas_validate_slow(g_schemas, doc, &err) == ICX_OK;
}

/* Names of the .xml files of dir (relative to the source tree). */
static int list_xml(const char *rel, char **out)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", icx_test_srcdir(), rel);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".xml") != 0)
            continue;
        assert_true(n < MAX_FILES);
        size_t cap = strlen(dir) + l + 2;
        out[n] = malloc(cap);
        assert_non_null(out[n]);
        snprintf(out[n], cap, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static void test_shipped_schemas_compile(void **state)
{
    (void)state;
    const char *why = icx_schemas_fast(g_schemas);
    if (why != NULL)
        fail_msg("fast path off for the shipped schemas: %s", why);
}

static void test_examples(void **state)
{
    (void)state;
    static const char *const dirs[] = {"schemas/examples/valid",
                                       "schemas/examples/invalid",
                                       "docs/samples"};
    int valid_seen = 0, invalid_seen = 0;
    for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
        char *files[MAX_FILES];
        int n = list_xml(dirs[k], files);
        for (int i = 0; i < n; i++) {
            icx_xmldoc *doc = parse_file(files[i]);
            int slow = slow_valid(doc);
            int fast = icx_xsdv_valid(g_fast, icx_xml_raw(doc));
            if (k == 1 && slow)
                fail_msg("%s: libxml2 accepts an invalid example", files[i]);
            if (fast && !slow)
                fail_msg("%s: fast path says valid, libxml2 says invalid",
                         files[i]);
            /* Every valid example takes the fast path (a slower path for
             * ordinary documents would be a silent regression). */
            if (slow && !fast)
                fail_msg("%s: valid but not proved so by the fast path",
                         files[i]);
            valid_seen += slow;
            invalid_seen += !slow;
            icx_xml_free(&doc);
            free(files[i]);
        }
    }
    assert_true(valid_seen >= 15);
    assert_true(invalid_seen >= 50);
}

/* ---- random edits ---------------------------------------------------- */

static int collect(xmlNode *n, xmlNode **out, int cap, int have)
{
    for (; n != NULL && have < cap; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        out[have++] = n;
        have = collect(n->children, out, cap, have);
    }
    return have;
}

static const char *const ODD_VALUES[] = {
    "", " ", "x", "0", "-1", "99999999999999999999", "2026-02-30",
    "2026-13-01T00:00:00Z", "2026-01-01T24:00:01Z", "2026-01-01T00:00:00",
    "true", "1", "JP-NPA", "INT-ICPO", "p1", "p2", "v1", "item-01",
    "00000000-0000-0000-0000-000000000000", "AMBER", "amber", "H2",
    "http://www.w3.org/2001/10/xml-exc-c14n#", "not a uri %zz", "a b",
    " lead", "trail ", "two  spaces", "tab\there", "\xef\xbc\x91\xef\xbc\x92",
    "\xe4\xba\x8b\xe4\xbb\xb6", "AAAA", "AA==", "A===", "case-referral",
    "sha256", "d41d8cd98f00b204e9800998ecf8427e", "ja-Latn", "x-y-z-toolong1",
    "1.2.3.4", "::1", "1::2::3",
    /* integers around the digit-only check's bounds */
    "00", "65535", "65536", "0000000000000065535", "9999999999999999999",
    "18446744073709551615", "18446744073709551616", "+1", "1 ",
};

static void edit_value(xmlNode *target, unsigned *seed)
{
    char buf[600];
    const char *old = (const char *)(target->content ? target->content
                                                     : (const xmlChar *)"");
    switch (rand_r(seed) % 3) {
    case 0:
        snprintf(buf, sizeof buf, "%s",
                 ODD_VALUES[(size_t)rand_r(seed) %
                            (sizeof ODD_VALUES / sizeof ODD_VALUES[0])]);
        break;
    case 1: { /* change one character */
        snprintf(buf, sizeof buf, "%s", old);
        size_t n = strlen(buf);
        if (n > 0 && (unsigned char)buf[n / 2] < 0x80)
            buf[n / 2] = "0aZ- :"[rand_r(seed) % 6];
        break;
    }
    default: /* double it */
        snprintf(buf, sizeof buf, "%s%s", old, old);
        break;
    }
    xmlNodeSetContent(target, (const xmlChar *)buf);
}

static void edit(xmlDoc *doc, unsigned *seed)
{
    xmlNode *nodes[MAX_NODES];
    int n = collect(xmlDocGetRootElement(doc), nodes, MAX_NODES, 0);
    if (n < 2)
        return;
    xmlNode *e = nodes[1 + rand_r(seed) % (n - 1)]; /* never the root */
    xmlNode *other = nodes[1 + rand_r(seed) % (n - 1)];
    switch (rand_r(seed) % 9) {
    case 0:
        xmlUnlinkNode(e);
        xmlFreeNode(e);
        break;
    case 1:
        xmlAddNextSibling(e, xmlCopyNode(e, 1));
        break;
    case 2: /* swap with the next element */
        for (xmlNode *s = e->next; s != NULL; s = s->next)
            if (s->type == XML_ELEMENT_NODE) {
                xmlUnlinkNode(s);
                xmlAddPrevSibling(e, s);
                break;
            }
        break;
    case 3:
        xmlNodeSetName(e, other->name);
        break;
    case 4: /* move a copy of another element under this one */
        if (other != e)
            xmlAddChild(e, xmlCopyNode(other, 1));
        break;
    case 5:
        if (e->children != NULL && e->children->type == XML_TEXT_NODE)
            edit_value(e->children, seed);
        else if (e->children == NULL)
            xmlNodeSetContent(e, (const xmlChar *)"text");
        break;
    case 6:
        if (e->properties != NULL && e->properties->children != NULL)
            edit_value(e->properties->children, seed);
        break;
    case 7:
        if (e->properties != NULL)
            xmlRemoveProp(e->properties);
        else
            xmlSetProp(e, (const xmlChar *)"id", (const xmlChar *)"p1");
        break;
    default:
        if (other->properties != NULL)
            xmlSetProp(e, other->properties->name,
                       (const xmlChar *)"p9");
        else
            xmlSetNsProp(e, xmlNewNs(e, (const xmlChar *)
                                     "http://www.w3.org/2001/XMLSchema-instance",
                                     (const xmlChar *)"xsi"),
                         (const xmlChar *)"nil", (const xmlChar *)"true");
        break;
    }
}

static void test_random_edits(void **state)
{
    (void)state;
    static const char *const dirs[] = {"schemas/examples/valid",
                                       "docs/samples"};
    const char *env_seed = getenv("ICX_TEST_SEED");
    const char *env_edits = getenv("ICX_TEST_EDITS");
    unsigned seed = env_seed ? (unsigned)strtoul(env_seed, NULL, 10)
                             : 26112026;
    long per_file = env_edits ? strtol(env_edits, NULL, 10) : 400;
    long trials = 0, fast_valid = 0, slow_invalid = 0;
    for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
        char *files[MAX_FILES];
        int n = list_xml(dirs[k], files);
        for (int i = 0; i < n; i++) {
            for (long t = 0; t < per_file; t++) {
                icx_xmldoc *doc = parse_file(files[i]);
                xmlDoc *raw = icx_xml_raw(doc);
                int edits = 1 + rand_r(&seed) % 3;
                for (int m = 0; m < edits; m++)
                    edit(raw, &seed);
                int fast = icx_xsdv_valid(g_fast, raw);
                int slow = slow_valid(doc);
                if (fast && !slow) {
                    xmlChar *mem = NULL;
                    int size = 0;
                    xmlDocDumpMemory(raw, &mem, &size);
                    fail_msg("%s, edit %ld: fast path says valid, libxml2 "
                             "says invalid:\n%s", files[i], t,
                             mem ? (const char *)mem : "?");
                }
                trials++;
                fast_valid += fast;
                slow_invalid += !slow;
                icx_xml_free(&doc);
            }
            free(files[i]);
        }
    }
    /* The edits must reach both sides for the comparison to mean much. */
    assert_true(trials >= 15 * per_file);
    assert_true(fast_valid > trials / 20);
    assert_true(slow_invalid > trials / 2);
}

/* ---- refusals ---------------------------------------------------------- */

static void write_schema(const char *dir, const char *body)
{
    icx_test_write(icx_test_path("%s/icx.xsd", dir),
                   "<?xml version=\"1.0\"?>\n"
                   "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"\n"
                   "  xmlns:t=\"urn:t\" targetNamespace=\"urn:t\"\n"
                   "  elementFormDefault=\"qualified\">\n");
    char *data = NULL;
    size_t len = 0;
    icx_err err;
    icx_err_clear(&err);
    assert_int_equal(icx_file_read(&data, &len,
                                   icx_test_path("%s/icx.xsd", dir), 4096,
                                   &err), ICX_OK);
    char all[8192];
    snprintf(all, sizeof all, "%s%s\n</xs:schema>\n", data, body);
    free(data);
    icx_test_write(icx_test_path("%s/icx.xsd", dir), all);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"<xs:element name=\"A\"><xs:complexType><xs:all>"
         "<xs:element name=\"B\" type=\"xs:string\"/></xs:all>"
         "</xs:complexType></xs:element>",
         "icx.xsd:5: complex type outside the subset: all"},
        {"<xs:simpleType name=\"N\"><xs:restriction base=\"xs:int\"/>"
         "</xs:simpleType>",
         "icx.xsd:5: built-in type outside the subset: int"},
        {"<xs:simpleType name=\"S\"><xs:restriction base=\"xs:string\">"
         "<xs:whiteSpace value=\"collapse\"/></xs:restriction>"
         "</xs:simpleType>",
         "facet outside the subset: whiteSpace"},
        {"<xs:element name=\"A\" type=\"xs:string\" nillable=\"true\"/>",
         "attribute outside the subset: nillable"},
        {"<xs:element name=\"A\"><xs:complexType><xs:sequence>"
         "<xs:any/></xs:sequence></xs:complexType></xs:element>",
         "particle outside the subset: any"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = icx_test_mkdtemp();
        write_schema(dir, cases[i].body);
        icx_xsdv *v = NULL;
        icx_err err;
        icx_err_clear(&err);
        int rc = icx_xsdv_compile(&v, icx_test_path("%s/icx.xsd", dir), &err);
        if (rc != ICX_ENOTFOUND || strstr(err.msg, cases[i].want) == NULL)
            fail_msg("case %zu: got %d \"%s\", want ICX_ENOTFOUND \"%s\"", i,
                     rc, err.msg, cases[i].want);
        assert_null(v);
        /* The schema itself is fine: libxml2 alone validates with it. */
        icx_schemas *s = NULL;
        icx_err_clear(&err);
        if (icx_schemas_load(&s, dir, &err) != ICX_OK)
            fail_msg("case %zu: load: %s", i, err.msg);
        const char *why = icx_schemas_fast(s);
        assert_non_null(why);
        assert_non_null(strstr(why, cases[i].want));
        icx_schemas_free(&s);
        icx_test_rmrf(dir);
        free(dir);
    }
}

static void test_switch(void **state)
{
    (void)state;
    icx_schemas_set_fast(g_schemas, 0);
    assert_string_equal(icx_schemas_fast(g_schemas), "switched off");
    icx_schemas_set_fast(g_schemas, 1);
    assert_null(icx_schemas_fast(g_schemas));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_schemas_compile),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_random_edits),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_switch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
