/*
 * test_c14n.c - ICX's exclusive canonicalizer (gateway/sig/c14n.c) against
 * libxml2's: for each document below, the whole document, the document
 * without each of its elements (the enveloped-signature case) and the
 * subtree of each element (the SignedInfo case) must come out as the same
 * bytes; and what c14n.h says is refused is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../c14n_ref.h"
#include "err.h"
#include "xml.h"
#include "xmlsig.h"

static const char *const docs[] = {
    "<a/>",
    "<a>text</a>",
    /* escaping of text and attribute values, CR and TAB by reference */
    "<a b=\"x &amp; &lt; &gt; &quot; ' &#9; &#10; &#13;\">"
    "&amp; &lt; &gt; \" ' &#13; &#9;\n tail</a>",
    "<a><![CDATA[<not> & markup]]>after</a>",
    /* default namespace, unused declarations dropped */
    "<Envelope xmlns=\"urn:icx:envelope:1\" xmlns:unused=\"urn:x\">"
    "<Header><MessageId>1</MessageId></Header>"
    "<Payload><Case xmlns=\"urn:icx:case:1\"><Id>7</Id></Case></Payload>"
    "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"
    "<ds:SignedInfo><ds:Reference URI=\"\"/></ds:SignedInfo>"
    "<ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature></Envelope>",
    /* signature in the default namespace under a default namespace */
    "<e:Envelope xmlns:e=\"urn:e\" xmlns=\"urn:d\"><p>1</p>"
    "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">"
    "<SignedInfo><Reference URI=\"\"/></SignedInfo></Signature></e:Envelope>",
    /* undeclaring the default namespace; no-namespace children */
    "<a xmlns=\"urn:a\"><b xmlns=\"\"><c/></b><d/></a>",
    "<r><a xmlns=\"urn:a\"><b xmlns=\"\"/></a><c xmlns=\"\"/></r>",
    /* prefixed attributes, sorted by namespace URI then local name */
    "<a xmlns:z=\"urn:1\" xmlns:y=\"urn:2\" z:b=\"1\" y:a=\"2\" c=\"3\" "
    "a=\"4\" xml:lang=\"en\" z:a=\"5\"/>",
    /* the same prefix redeclared deeper, and used again */
    "<p:a xmlns:p=\"urn:1\"><p:b xmlns:p=\"urn:2\"><p:c/></p:b>"
    "<p:d/></p:a>",
    /* a prefix utilized only by an attribute of a child */
    "<a xmlns:q=\"urn:q\"><b q:x=\"1\"><c q:y=\"2\"/></b></a>",
    /* non-ASCII names and text */
    "<\xc3\xa9l\xc3\xa9ment \xc3\xa9=\"\xe2\x82\xac\" a=\"b\">"
    "\xe6\x97\xa5\xe6\x9c\xac</\xc3\xa9l\xc3\xa9ment>",
    /* whitespace between elements is text */
    "<a>\n  <b> x </b>\n  <c/>\n</a>",
    /* many attributes and namespaces (past the on-stack arrays) */
    "<a xmlns:n1=\"urn:1\" xmlns:n2=\"urn:2\" xmlns:n3=\"urn:3\" "
    "xmlns:n4=\"urn:4\" xmlns:n5=\"urn:5\" xmlns:n6=\"urn:6\" "
    "xmlns:n7=\"urn:7\" xmlns:n8=\"urn:8\" xmlns:n9=\"urn:9\" "
    "xmlns:n10=\"urn:10\" xmlns:n11=\"urn:11\" xmlns:n12=\"urn:12\" "
    "xmlns:n13=\"urn:13\" xmlns:n14=\"urn:14\" xmlns:n15=\"urn:15\" "
    "xmlns:n16=\"urn:16\" xmlns:n17=\"urn:17\" "
    "n17:a=\"1\" n16:a=\"1\" n15:a=\"1\" n14:a=\"1\" n13:a=\"1\" n12:a=\"1\" "
    "n11:a=\"1\" n10:a=\"1\" n9:a=\"1\" n8:a=\"1\" n7:a=\"1\" n6:a=\"1\" "
    "n5:a=\"1\" n4:a=\"1\" n3:a=\"1\" n2:a=\"1\" n1:a=\"1\" z=\"0\" y=\"0\"/>",
    /* namespace names with characters that need escaping, declared and
     * never utilized: not rendered, so nothing to escape ('  needs none) */
    "<a xmlns:x=\"urn:a&amp;b\" xmlns:y=\"urn:a&#38;b\"><b "
    "xmlns:z=\"urn:q?a=1&amp;b=2\">t</b><c xmlns:q=\"urn:a'b\" q:a=\"&amp;\"/>"
    "</a>",
};

static icx_xmldoc *parse(const char *s)
{
    icx_xml_limits lim = {.max_bytes = 1 << 20, .max_depth = 64};
    icx_xmldoc *d = NULL;
    icx_err err;
    if (icx_xml_parse(&d, s, strlen(s), &lim, &err) != 0)
        fail_msg("parse: %s: %s", err.msg, s);
    return d;
}

/* Ours and libxml2's agree on one way of rendering d. */
static void same_bytes(xmlDocPtr d, xmlNodePtr omit, xmlNodePtr apex,
                       const char *doc)
{
    char *want = NULL, *got = NULL;
    int rc;
    long lw = c14n_ref(d, omit, apex, &want);
    long lg = c14n_icx(d, omit, apex, &got, &rc);
    if (lw < 0)
        fail_msg("libxml2 refused %s", doc);
    if (lg < 0)
        fail_msg("icx_c14n refused (%s) %s", icx_rc_name(rc), doc);
    if (lw != lg || memcmp(want, got, (size_t)lw) != 0)
        fail_msg("%s %s of\n  %s\nlibxml2: %s\nicx:     %s",
                 apex ? "subtree" : "document without", 
                 apex ? (const char *)apex->name
                      : omit ? (const char *)omit->name : "(nothing)",
                 doc, want, got);
    free(want);
    free(got);
}

static void test_same_as_libxml2(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        icx_xmldoc *x = parse(docs[i]);
        xmlDocPtr d = icx_xml_raw(x);
        same_bytes(d, NULL, NULL, docs[i]);
        /* Every element, in document order. */
        for (xmlNodePtr n = xmlDocGetRootElement(d); n != NULL;
             n = c14n_ref_next(n))
            if (n->type == XML_ELEMENT_NODE) {
                same_bytes(d, n, NULL, docs[i]);
                same_bytes(d, NULL, n, docs[i]);
            }
        icx_xml_free(&x);
    }
}

/* A known rendering, so that agreeing with libxml2 is not the only
 * thing held: the apex declares what it utilizes, no more. */
static void test_known_bytes(void **state)
{
    (void)state;
    icx_xmldoc *x = parse(docs[4]);
    xmlDocPtr d = icx_xml_raw(x);
    xmlNodePtr root = xmlDocGetRootElement(d), sig = root->last;
    char *got = NULL;
    int rc;
    assert_true(c14n_icx(d, sig, NULL, &got, &rc) > 0);
    assert_string_equal(got,
        "<Envelope xmlns=\"urn:icx:envelope:1\"><Header><MessageId>1"
        "</MessageId></Header><Payload><Case xmlns=\"urn:icx:case:1\"><Id>7"
        "</Id></Case></Payload></Envelope>");
    free(got);
    assert_true(c14n_icx(d, NULL, sig->children, &got, &rc) > 0);
    assert_string_equal(got,
        "<ds:SignedInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">"
        "<ds:Reference URI=\"\"></ds:Reference></ds:SignedInfo>");
    free(got);
    icx_xml_free(&x);
}

/* Both refuse, ours with ICX_EINVAL, one way of rendering d. */
static void both_refuse(xmlDocPtr d, xmlNodePtr omit, xmlNodePtr apex,
                        const char *doc)
{
    char *out = NULL;
    int rc = ICX_OK;
    if (c14n_ref(d, omit, apex, &out) >= 0)
        fail_msg("libxml2 rendered %s: %s", doc, out);
    if (c14n_icx(d, omit, apex, &out, &rc) >= 0)
        fail_msg("icx_c14n rendered %s %s of %s: %s",
                 apex ? "subtree" : "document without",
                 apex ? (const char *)apex->name
                      : omit ? (const char *)omit->name : "(nothing)",
                 doc, out);
    assert_int_equal(rc, ICX_EINVAL);
}

static void test_refused(void **state)
{
    (void)state;
    /* Relative namespace names anywhere in the document, rendered or
     * not: both refuse every rendering, the document without any element
     * (the enveloped signature) and the subtree of any element
     * (SignedInfo) included. */
    static const char *const relative[] = {
        "<a xmlns=\"rel\"/>",
        "<a xmlns:p=\"../x\"><p:b/></a>",
        "<a xmlns:p=\"../x\"><b/></a>",
        "<a><b/><s xmlns:r=\"rel\"><i/></s></a>",
        "<a><b/><s><i/><v xmlns=\"rel\"/></s></a>",
        "<a><b/><s><i xmlns:r=\"#frag\"><r/></i><v/></s></a>",
        "<a><b xmlns:p=\"p\"/></a>",
    };
    for (size_t i = 0; i < sizeof relative / sizeof relative[0]; i++) {
        icx_xmldoc *x = parse(relative[i]);
        xmlDocPtr d = icx_xml_raw(x);
        both_refuse(d, NULL, NULL, relative[i]);
        for (xmlNodePtr n = xmlDocGetRootElement(d); n != NULL;
             n = c14n_ref_next(n))
            if (n->type == XML_ELEMENT_NODE) {
                both_refuse(d, n, NULL, relative[i]);
                both_refuse(d, NULL, n, relative[i]);
            }
        icx_xml_free(&x);
    }
    /* A namespace name with &, utilized: libxml2 writes it as its parser
     * left it in the tree, "&#38;", not the "&amp;" of Exclusive C14N;
     * ICX refuses to render it (and renders the parts that do not). */
    {
        static const char doc[] =
            "<a><x:b xmlns:x=\"urn:a&amp;b\"/><c/></a>";
        icx_xmldoc *xa = parse(doc);
        xmlDocPtr d = icx_xml_raw(xa);
        xmlNodePtr b = xmlDocGetRootElement(d)->children;
        char *o = NULL;
        int r;
        assert_true(c14n_ref(d, NULL, NULL, &o) >= 0);
        assert_string_equal(o, "<a><x:b xmlns:x=\"urn:a&#38;b\"></x:b><c></c>"
                               "</a>");
        free(o);
        assert_true(c14n_icx(d, NULL, NULL, &o, &r) < 0);
        assert_int_equal(r, ICX_EINVAL);
        assert_true(c14n_icx(d, NULL, b, &o, &r) < 0);
        assert_int_equal(r, ICX_EINVAL);
        same_bytes(d, b, NULL, doc);
        same_bytes(d, NULL, b->next, doc);
        const xmlNode *where = NULL;
        const xmlNs *ns = NULL;
        const char *why = NULL;
        assert_int_equal(icx_c14n_check_names(&where, &ns, &why, d), ICX_EINVAL);
        assert_ptr_equal(where, b);
        assert_string_equal((const char *)ns->href, "urn:a&#38;b");
        assert_non_null(strstr(why, "escape"));
        icx_xml_free(&xa);
    }
    /* The check of a whole document names the first element declaring a
     * relative name, wherever it is, and passes the rest. */
    {
        icx_xmldoc *xr = parse("<a><b/><s><i/><v xmlns:r=\"rel\"/></s></a>");
        xmlDocPtr d = icx_xml_raw(xr);
        const xmlNode *where = NULL;
        const xmlNs *ns = NULL;
        const char *why = NULL;
        assert_int_equal(icx_c14n_check_names(&where, &ns, &why, d), ICX_EINVAL);
        assert_string_equal((const char *)where->name, "v");
        assert_string_equal((const char *)ns->href, "rel");
        assert_non_null(strstr(why, "relative"));
        icx_xml_free(&xr);
        for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
            icx_xmldoc *xo = parse(docs[i]);
            assert_int_equal(icx_c14n_check_names(&where, &ns, &why,
                                                  icx_xml_raw(xo)), ICX_OK);
            icx_xml_free(&xo);
        }
    }
    /* An element in the xml namespace: libxml2 renders it without
     * declaring the namespace as a whole document and refuses it as a
     * subtree; ICX refuses it either way. */
    {
        icx_xmldoc *xe = parse("<a><xml:M/></a>");
        char *o = NULL;
        int r;
        xmlNodePtr m = xmlDocGetRootElement(icx_xml_raw(xe))->children;
        assert_true(c14n_icx(icx_xml_raw(xe), NULL, NULL, &o, &r) < 0);
        assert_int_equal(r, ICX_EINVAL);
        assert_true(c14n_icx(icx_xml_raw(xe), NULL, m, &o, &r) < 0);
        assert_int_equal(r, ICX_EINVAL);
        assert_true(c14n_icx(icx_xml_raw(xe), m, NULL, &o, &r) >= 0);
        assert_string_equal(o, "<a></a>");
        free(o);
        icx_xml_free(&xe);
    }
    /* A comment or processing instruction added to a tree, and a second
     * top-level element: not rendered by guess. */
    icx_xmldoc *x = parse("<a><b/></a>");
    xmlDocPtr d = icx_xml_raw(x);
    xmlNodePtr root = xmlDocGetRootElement(d);
    char *out = NULL;
    int rc;
    xmlNodePtr com = xmlNewDocComment(d, BAD_CAST "c");
    xmlAddChild(root, com);
    assert_true(c14n_icx(d, NULL, NULL, &out, &rc) < 0);
    assert_int_equal(rc, ICX_EINVAL);
    /* ... unless it lies in the part left out. */
    xmlNodePtr b = root->children;
    xmlUnlinkNode(com);
    xmlAddChild(b, com);
    assert_true(c14n_icx(d, b, NULL, &out, &rc) >= 0);
    assert_string_equal(out, "<a></a>");
    free(out);
    xmlNodePtr pi = xmlNewDocPI(d, BAD_CAST "t", BAD_CAST "x");
    xmlAddChild(root, pi);
    assert_true(c14n_icx(d, b, NULL, &out, &rc) < 0);
    assert_int_equal(rc, ICX_EINVAL);
    xmlUnlinkNode(pi);
    xmlFreeNode(pi);
    xmlNodePtr second = xmlNewDocNode(d, NULL, BAD_CAST "z", NULL);
    xmlAddSibling(root, second);
    assert_true(c14n_icx(d, NULL, NULL, &out, &rc) < 0);
    assert_int_equal(rc, ICX_EINVAL);
    icx_xml_free(&x);
}

/* A writer that fails stops the walk with ICX_EIO. */
static int failing_write(void *ctx, const char *data, size_t len)
{
    (void)data;
    (void)len;
    (*(int *)ctx)++;
    return -1;
}

static void test_write_failure(void **state)
{
    (void)state;
    icx_xmldoc *x = parse(docs[4]);
    int calls = 0;
    assert_int_equal(icx_c14n_document(icx_xml_raw(x), NULL, failing_write,
                                       &calls), ICX_EIO);
    assert_int_equal(calls, 1);
    icx_xml_free(&x);
}

/* libxml2 prints why it refuses a relative namespace; the test checks it. */
static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

int main(void)
{
    icx_err err;
    xmlSetGenericErrorFunc(NULL, quiet);
    if (icx_xmlsig_init(&err) != 0) {
        fprintf(stderr, "init: %s\n", err.msg);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_libxml2),
        cmocka_unit_test(test_known_bytes),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_write_failure),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    icx_xmlsig_shutdown();
    return r;
}
