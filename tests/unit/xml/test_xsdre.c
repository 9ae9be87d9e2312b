/*
 * test_xsdre.c - XML Schema patterns as automata (xsdre.c).
 *
 * A table of patterns and values with the answer XML Schema gives; the
 * patterns the subset refuses; and, for every pattern under schemas/, the
 * answer compared with libxml2's own regexp engine over the values found
 * in the example documents and random edits of them.
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
#include <libxml/xmlregexp.h>

#include "err.h"
#include "testutil.h"
#include "util.h"
#include "xml.h"
#include "xsdre.h"

static const struct {
    const char *pattern, *value;
    int want;
} CASES[] = {
    {"[0-9a-f]{8}-[0-9a-f]{4}", "0123abcd-ef01", ICX_XSDRE_YES},
    {"[0-9a-f]{8}-[0-9a-f]{4}", "0123abcd-ef0", ICX_XSDRE_NO},
    {"[0-9a-f]{8}-[0-9a-f]{4}", "0123abcd-ef012", ICX_XSDRE_NO},
    {"[0-9a-f]{8}-[0-9a-f]{4}", "0123ABCD-ef01", ICX_XSDRE_NO},
    {"[A-Z]{2}-[A-Z0-9]{2,16}|INT-[A-Z0-9]{2,16}", "JP-NPA", ICX_XSDRE_YES},
    {"[A-Z]{2}-[A-Z0-9]{2,16}|INT-[A-Z0-9]{2,16}", "INT-ICPO", ICX_XSDRE_YES},
    {"[A-Z]{2}-[A-Z0-9]{2,16}|INT-[A-Z0-9]{2,16}", "JP-N", ICX_XSDRE_NO},
    {"[A-Z]{2}-[A-Z0-9]{2,16}|INT-[A-Z0-9]{2,16}",
     "JP-ABCDEFGHIJKLMNOPQ", ICX_XSDRE_NO},
    {"\\S(.*\\S)?", "a", ICX_XSDRE_YES},
    {"\\S(.*\\S)?", "a b", ICX_XSDRE_YES},
    {"\\S(.*\\S)?", " a", ICX_XSDRE_NO},
    {"\\S(.*\\S)?", "a ", ICX_XSDRE_NO},
    {"\\S(.*\\S)?", "a\nb", ICX_XSDRE_NO},      /* "." stops at newlines */
    {"\\S(.*\\S)?", "\xe4\xba\x8b\xe4\xbb\xb6", ICX_XSDRE_YES},
    {".*\\S.*", "   ", ICX_XSDRE_NO},
    {".*\\S.*", "  x ", ICX_XSDRE_YES},
    {"", "", ICX_XSDRE_YES},
    {"", "a", ICX_XSDRE_NO},
    {"a*", "", ICX_XSDRE_YES},
    {"a+", "", ICX_XSDRE_NO},
    {"(ab)+c?", "ababc", ICX_XSDRE_YES},
    {"(ab)+c?", "abac", ICX_XSDRE_NO},
    {"a{2,}", "a", ICX_XSDRE_NO},
    {"a{2,}", "aaaaa", ICX_XSDRE_YES},
    {"a{0}b", "b", ICX_XSDRE_YES},
    {"[^@\\s]+@[^@\\s]+", "a@b", ICX_XSDRE_YES},
    {"[^@\\s]+@[^@\\s]+", "a@@b", ICX_XSDRE_NO},
    {"[^@\\s]+@[^@\\s]+", "a b@c", ICX_XSDRE_NO},
    {"[-a]+", "-a-", ICX_XSDRE_YES},
    {"[a\\-z]+", "-", ICX_XSDRE_YES},
    {"[a\\-z]+", "b", ICX_XSDRE_NO},
    {"\\d{2}", "12", ICX_XSDRE_YES},
    {"\\d{2}", "1a", ICX_XSDRE_NO},
    /* \d is Unicode Nd: a full-width digit is for libxml2 to judge. */
    {"\\d{2}", "1\xef\xbc\x91", ICX_XSDRE_UNSURE},
    {"\\D", "\xef\xbc\x91", ICX_XSDRE_UNSURE},
    {"[0-9a-f]+", "\xc3\xa9", ICX_XSDRE_NO},
    {"\\.\\?\\*\\+\\(\\)\\{\\}\\|\\[\\]\\^\\\\", ".?*+(){}|[]^\\",
     ICX_XSDRE_YES},
    {"\\t\\n\\r", "\t\n\r", ICX_XSDRE_YES},
    {"((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|"
     "[1-9]?\\d)", "192.168.0.255", ICX_XSDRE_YES},
    {"((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|"
     "[1-9]?\\d)", "192.168.0.256", ICX_XSDRE_NO},
    {"((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|"
     "[1-9]?\\d)", "01.1.1.1", ICX_XSDRE_NO},
    {"[a-z]{200}x?", "", ICX_XSDRE_NO},
    /* Too many states for a table (2^11): the position automaton is
     * simulated instead. */
    {"[ab]*a[ab]{10}", "abbbbbbbbbb", ICX_XSDRE_YES},
    {"[ab]*a[ab]{10}", "bbabbbbbbbbb", ICX_XSDRE_NO},
    {"[ab]*a[ab]{10}", "bbabbbbbbbbbb", ICX_XSDRE_YES},
    {"\\d[ab]*a[ab]{10}", "\xd9\xa3" "abbbbbbbbbb", ICX_XSDRE_UNSURE},
};

static const char *const REFUSED[] = {
    "^a", "a$", "\\p{L}", "\\w", "[a-z-[aeiou]]", "a{,3}", "a{3,2}", "(a",
    "a)", "[a", "[]", "[z-a]", "[a-b-c]", "\xc3\xa9", "a{100001}",
    "[0-9a-z.\\-]{1,8400}",
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        icx_xsdre *re = NULL;
        icx_err err;
        icx_err_clear(&err);
        if (icx_xsdre_compile(&re, CASES[i].pattern, &err) != ICX_OK)
            fail_msg("%s: %s", CASES[i].pattern, err.msg);
        int got = icx_xsdre_match(re, CASES[i].value, strlen(CASES[i].value));
        if (got != CASES[i].want)
            fail_msg("%s on \"%s\": got %d, want %d", CASES[i].pattern,
                     CASES[i].value, got, CASES[i].want);
        icx_xsdre_free(&re);
        assert_null(re);
    }
}

static void test_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof REFUSED / sizeof REFUSED[0]; i++) {
        icx_xsdre *re = NULL;
        icx_err err;
        icx_err_clear(&err);
        int rc = icx_xsdre_compile(&re, REFUSED[i], &err);
        if (rc != ICX_ENOTFOUND)
            fail_msg("%s: got %d, want ICX_ENOTFOUND", REFUSED[i], rc);
        assert_null(re);
        assert_non_null(strstr(err.msg, "outside the fast subset"));
    }
}

/* ---- against libxml2 ---------------------------------------------------- */

#define MAX_VALUES 4096

struct values {
    char *v[MAX_VALUES];
    int n;
};

static void add_value(struct values *vs, const char *s)
{
    if (vs->n < MAX_VALUES && strlen(s) < 512) {
        vs->v[vs->n] = strdup(s);
        assert_non_null(vs->v[vs->n]);
        vs->n++;
    }
}

static void collect(struct values *vs, const xmlNode *n)
{
    for (; n != NULL; n = n->next) {
        if (n->type == XML_TEXT_NODE && n->content != NULL)
            add_value(vs, (const char *)n->content);
        if (n->type != XML_ELEMENT_NODE)
            continue;
        for (const xmlAttr *a = n->properties; a != NULL; a = a->next)
            if (a->children != NULL && a->children->content != NULL)
                add_value(vs, (const char *)a->children->content);
        collect(vs, n->children);
    }
}

/* Calls fn with the contents of each file of dir whose name ends in
 * suffix. */
static void each_file(const char *where, const char *suffix,
                      void (*fn)(const char *data, size_t len, void *ctx),
                      void *ctx)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", where); /* icx_test_path's ring turns */
    size_t sl = strlen(suffix);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l <= sl || strcmp(e->d_name + l - sl, suffix) != 0)
            continue;
        char *data = NULL;
        size_t len = 0;
        icx_err err;
        icx_err_clear(&err);
        assert_int_equal(icx_file_read(&data, &len,
                                       icx_test_path("%s/%s", dir, e->d_name),
                                       1024 * 1024, &err), ICX_OK);
        fn(data, len, ctx);
        free(data);
    }
    closedir(d);
}

static void collect_doc(const char *data, size_t len, void *ctx)
{
    icx_xmldoc *doc = NULL;
    icx_xml_limits lim = ICX_XML_DEFAULT_LIMITS;
    icx_err err;
    icx_err_clear(&err);
    if (icx_xml_parse(&doc, data, len, &lim, &err) == 0) {
        collect(ctx, xmlDocGetRootElement(icx_xml_raw(doc)));
        icx_xml_free(&doc);
    }
}

struct patterns {
    char **v;
    int n, max;
};

/* The xs:pattern values of a schema file (they hold no entities). */
static void collect_patterns(const char *data, size_t len, void *ctx)
{
    (void)len;
    struct patterns *ps = ctx;
    const char *key = "<xs:pattern value=\"";
    for (const char *p = strstr(data, key); p != NULL; p = strstr(p + 1, key)) {
        const char *s = p + strlen(key), *q = strchr(s, '"');
        assert_non_null(q);
        assert_true(ps->n < ps->max);
        ps->v[ps->n] = strndup(s, (size_t)(q - s));
        assert_non_null(ps->v[ps->n]);
        assert_null(strchr(ps->v[ps->n], '&'));
        ps->n++;
    }
}

static const char EDIT_CHARS[] = "0aZ9-_.:@/ \t+fF=zT\xef\xbc\x91";

/* One random edit: delete, insert, replace or duplicate a piece. */
static void mutate(char *out, size_t cap, const char *in, unsigned *seed)
{
    size_t n = strlen(in);
    snprintf(out, cap, "%s", in);
    if (n + 8 >= cap)
        return;
    size_t at = n ? (size_t)rand_r(seed) % n : 0;
    char c = EDIT_CHARS[(size_t)rand_r(seed) % (sizeof EDIT_CHARS - 1)];
    switch (rand_r(seed) % 4) {
    case 0:
        if (n > 0)
            memmove(out + at, out + at + 1, n - at);
        break;
    case 1:
        memmove(out + at + 1, out + at, n - at + 1);
        out[at] = c;
        break;
    case 2:
        if (n > 0)
            out[at] = c;
        break;
    default:
        snprintf(out + n, cap - n, "%s", in + at);
        break;
    }
}

/* The edits may cut a multi-byte character: keep whole UTF-8 only. */
static int valid_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        int n = *u < 0x80 ? 0 : (*u & 0xE0) == 0xC0 ? 1
                          : (*u & 0xF0) == 0xE0 ? 2
                          : (*u & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0 || (n == 1 && *u < 0xC2))
            return 0;
        for (u++; n > 0; n--, u++)
            if ((*u & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

static void test_against_libxml2(void **state)
{
    (void)state;
    struct values vs = {.n = 0};
    each_file(icx_test_path("%s/schemas/examples/valid", icx_test_srcdir()),
              ".xml", collect_doc, &vs);
    each_file(icx_test_path("%s/schemas/examples/invalid", icx_test_srcdir()),
              ".xml", collect_doc, &vs);
    assert_true(vs.n > 100);
    char *pats[128];
    struct patterns found = {pats, 0, 128};
    each_file(icx_test_path("%s/schemas", icx_test_srcdir()), ".xsd",
              collect_patterns, &found);
    int np = found.n;
    assert_true(np >= 20);
    unsigned seed = 20261126;
    long compared = 0, yes = 0;
    for (int i = 0; i < np; i++) {
        icx_xsdre *re = NULL;
        icx_err err;
        icx_err_clear(&err);
        int rc = icx_xsdre_compile(&re, pats[i], &err);
        if (rc == ICX_ENOTFOUND) {
            free(pats[i]);
            continue;
        }
        assert_int_equal(rc, ICX_OK);
        xmlRegexpPtr ref = xmlRegexpCompile((const xmlChar *)pats[i]);
        assert_non_null(ref);
        for (int k = 0; k < vs.n; k++) {
            char buf[1100];
            for (int m = 0; m < 8; m++) {
                if (m == 0)
                    snprintf(buf, sizeof buf, "%s", vs.v[k]);
                else
                    mutate(buf, sizeof buf, vs.v[k], &seed);
                if (!valid_utf8(buf))
                    continue;
                int got = icx_xsdre_match(re, buf, strlen(buf));
                if (got == ICX_XSDRE_UNSURE)
                    continue;
                int want = xmlRegexpExec(ref, (const xmlChar *)buf) == 1;
                if (got != want)
                    fail_msg("pattern %s on \"%s\": got %d, libxml2 says %d",
                             pats[i], buf, got, want);
                compared++;
                yes += got;
            }
        }
        xmlRegFreeRegexp(ref);
        icx_xsdre_free(&re);
        free(pats[i]);
    }
    /* Enough of both answers to mean something. */
    assert_true(compared > 10000);
    assert_true(yes > 500);
    for (int k = 0; k < vs.n; k++)
        free(vs.v[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_against_libxml2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
