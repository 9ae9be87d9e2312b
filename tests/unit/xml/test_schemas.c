/*
 * test_schemas.c - the XSDs under schemas/ against their examples.
 *
 * Every .xml file under schemas/examples/valid must parse and validate against
 * schemas/icx.xsd; every schemas/examples/invalid/NAME.xml must parse (the
 * examples are well-formed) and fail validation with a message containing
 * the text of NAME.expect.  The payload examples are also validated inside
 * an envelope, and the sample payloads under docs/samples/ must validate.
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

#include "err.h"
#include "testutil.h"
#include "util.h"
#include "xml.h"

#define MAX_FILES 256
#define MAX_DOC (1024 * 1024)

static icx_schemas *g_schemas;

static int setup(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    const char *dir = icx_test_path("%s/schemas", icx_test_srcdir());
    if (icx_schemas_load(&g_schemas, dir, &err) != ICX_OK) {
        fprintf(stderr, "loading %s: %s\n", dir, err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    icx_schemas_free(&g_schemas);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the files in dir ending in suffix; returns the count. */
static size_t list_files(const char *dir, const char *suffix, char **names,
                         size_t max)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fail_msg("cannot open %s", dir);
        return 0;
    }
    size_t n = 0, sl = strlen(suffix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l <= sl || strcmp(e->d_name + l - sl, suffix) != 0)
            continue;
        assert_true(n < max);
        names[n] = strdup(e->d_name);
        assert_non_null(names[n]);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    return n;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
}

static char *read_text(const char *path, size_t *len)
{
    char *data = NULL;
    size_t l = 0;
    icx_err err;
    icx_err_clear(&err);
    if (icx_file_read(&data, &l, path, MAX_DOC, &err) != ICX_OK)
        fail_msg("%s: %s", path, err.msg);
    if (len != NULL)
        *len = l;
    return data;
}

/* Parses and validates; returns the validation rc, err holds the detail.
 * A parse failure fails the test: examples are always well-formed. */
static int validate_text(const char *what, const char *data, size_t len,
                         icx_err *err)
{
    icx_xmldoc *doc = NULL;
    icx_xml_limits lim = ICX_XML_DEFAULT_LIMITS;
    icx_err_clear(err);
    int rc = icx_xml_parse(&doc, data, len, &lim, err);
    if (rc != ICX_OK)
        fail_msg("%s: does not parse: %s", what, err->msg);
    icx_err_clear(err);
    rc = icx_schemas_validate(g_schemas, doc, err);
    icx_xml_free(&doc);
    return rc;
}

static int validate_file(const char *path, icx_err *err)
{
    size_t len = 0;
    char *data = read_text(path, &len);
    int rc = validate_text(path, data, len, err);
    free(data);
    return rc;
}

static void test_load_missing_dir(void **state)
{
    (void)state;
    icx_schemas *s = NULL;
    icx_err err;
    icx_err_clear(&err);
    assert_int_not_equal(icx_schemas_load(&s, "/nonexistent/icx-schemas", &err),
                         ICX_OK);
    assert_null(s);
    assert_true(err.msg[0] != '\0');
}

static void test_valid_examples(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/schemas/examples/valid", icx_test_srcdir());
    char *names[MAX_FILES];
    size_t n = list_files(dir, ".xml", names, MAX_FILES);
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        icx_err err;
        const char *path = icx_test_path("%s/%s", dir, names[i]);
        if (validate_file(path, &err) != ICX_OK) {
            fprintf(stderr, "%s: got invalid (%s), want valid\n", names[i],
                    err.msg);
            failures++;
        }
    }
    free_names(names, n);
    assert_true(n >= 11);
    assert_int_equal(failures, 0);
}

static void test_required_examples_present(void **state)
{
    (void)state;
    static const char *const want[] = {
        "valid/envelope-case-referral.xml", "valid/envelope-signed-shape.xml",
        "valid/receipt-positive.xml",       "valid/receipt-negative.xml",
        "valid/case-request.xml",           "valid/case-response.xml",
        "valid/list-update-delta.xml",      "valid/list-update-snapshot.xml",
        "valid/list-sync-request.xml",      "valid/survey-request.xml",
        "valid/survey-response.xml",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *path = icx_test_path("%s/schemas/examples/%s",
                                         icx_test_srcdir(), want[i]);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            fail_msg("missing example %s", path);
        fclose(f);
    }
}

static void test_invalid_examples(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/schemas/examples/invalid",
             icx_test_srcdir());
    char *names[MAX_FILES];
    size_t n = list_files(dir, ".xml", names, MAX_FILES);
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char base[256];
        snprintf(base, sizeof base, "%.*s", (int)(strlen(names[i]) - 4),
                 names[i]);
        char *expect = read_text(icx_test_path("%s/%s.expect", dir, base),
                                 NULL);
        size_t el = strlen(expect);
        while (el > 0 && (expect[el - 1] == '\n' || expect[el - 1] == '\r'))
            expect[--el] = '\0';
        if (el == 0) {
            fprintf(stderr, "%s.expect: empty\n", base);
            failures++;
            free(expect);
            continue;
        }
        icx_err err;
        int rc = validate_file(icx_test_path("%s/%s", dir, names[i]), &err);
        if (rc == ICX_OK) {
            fprintf(stderr, "%s: got valid, want an error containing \"%s\"\n",
                    names[i], expect);
            failures++;
        } else if (err.reason != ICX_REASON_SCHEMA) {
            fprintf(stderr, "%s: got reason %s (%s), want SCHEMA\n", names[i],
                    icx_reason_name(err.reason), err.msg);
            failures++;
        } else if (strstr(err.msg, expect) == NULL) {
            fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", names[i], err.msg,
                    expect);
            failures++;
        }
        free(expect);
    }
    free_names(names, n);
    assert_true(n >= 12);
    assert_int_equal(failures, 0);
}

/* Wraps a standalone payload example in an unsigned envelope. */
static void test_payloads_inside_envelope(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *category;
    } cases[] = {
        {"case-request.xml", "case-request"},
        {"case-response.xml", "case-response"},
        {"list-update-delta.xml", "list-update"},
        {"list-update-snapshot.xml", "list-update"},
        {"list-sync-request.xml", "list-sync-request"},
        {"list-refusal.xml", "list-update"},
        {"survey-request.xml", "survey-request"},
        {"survey-response.xml", "survey-response"},
        {"receipt-positive.xml", "receipt"},
        {"receipt-negative.xml", "receipt"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = icx_test_path("%s/schemas/examples/valid/%s",
                                         icx_test_srcdir(), cases[i].file);
        char *payload = read_text(path, NULL);
        size_t skip = 0; /* past the XML declaration, if any */
        if (strncmp(payload, "<?xml", 5) == 0) {
            skip = strcspn(payload, ">");
            assert_true(payload[skip] == '>' && payload[skip - 1] == '?');
            skip++;
        }
        const char *body = payload + skip;
        size_t cap = strlen(body) + 1024;
        char *env = malloc(cap);
        assert_non_null(env);
        int len = snprintf(
            env, cap,
            "<Envelope xmlns=\"urn:icx:envelope:1\"><Header>"
            "<MessageId>a5f13da2-5711-4e0a-9ff2-374ad21713f0</MessageId>"
            "<Sender>JP-NPA</Sender><Recipient>INT-ICPO</Recipient>"
            "<Created>2026-11-26T01:02:03Z</Created>"
            "<Category>%s</Category>"
            "<Handling tlp=\"AMBER+STRICT\" code=\"H1\" legalBasis=\"test\" "
            "retainUntil=\"2030-01-01\"/></Header><Payload>%s</Payload>"
            "</Envelope>",
            cases[i].category, body);
        assert_true(len > 0 && (size_t)len < cap);
        icx_err err;
        if (validate_text(cases[i].file, env, (size_t)len, &err) != ICX_OK)
            fail_msg("%s inside an envelope: got invalid (%s), want valid",
                     cases[i].file, err.msg);
        free(env);
        free(payload);
    }
}

static void test_sample_payloads(void **state)
{
    (void)state;
    static const char *const samples[] = {"case-referral-payload.xml",
                                          "case-request-payload.xml"};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        icx_err err;
        const char *path = icx_test_path("%s/docs/samples/%s",
                                         icx_test_srcdir(), samples[i]);
        if (validate_file(path, &err) != ICX_OK)
            fail_msg("%s: got invalid (%s), want valid", path, err.msg);
    }
}

/* A payload element outside the declared list is refused even when its
 * namespace is one of ours. */
static void test_unknown_element_in_known_namespace(void **state)
{
    (void)state;
    static const char doc[] =
        "<Envelope xmlns=\"urn:icx:envelope:1\"><Header>"
        "<MessageId>a5f13da2-5711-4e0a-9ff2-374ad21713f0</MessageId>"
        "<Sender>JP-NPA</Sender><Recipient>PH-NBI</Recipient>"
        "<Created>2026-11-26T01:02:03Z</Created>"
        "<Category>case-referral</Category>"
        "<Handling tlp=\"RED\" code=\"H3\" legalBasis=\"x\" "
        "retainUntil=\"2030-01-01\"/></Header><Payload>"
        "<Note xmlns=\"urn:icx:case:1\">hello</Note></Payload></Envelope>";
    icx_err err;
    assert_int_not_equal(validate_text("inline", doc, sizeof doc - 1, &err),
                         ICX_OK);
    assert_int_equal(err.reason, ICX_REASON_SCHEMA);
    if (strstr(err.msg, "Note") == NULL)
        fail_msg("got \"%s\", want a message naming Note", err.msg);
}

/* text with its first `from` replaced by `to` (malloc'ed). */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t cap = strlen(text) + strlen(to) + 1;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "%.*s%s%s", (int)(at - text), text, to,
             at + strlen(from));
    return out;
}

/* A validation error inside a payload names the element or attribute
 * and its type, never the value the document holds there (payload
 * content stays out of errors, logs and control answers). */
static void test_error_withholds_values(void **state)
{
    (void)state;
    static const struct {
        const char *field, *role, *from, *to;
    } cases[] = {
        {"role", "role=\"SECRETROLE\"", NULL, NULL},
        {"OccurredFrom", "role=\"suspect\"",
         "<OccurredFrom>2026-08-03T00:00:00+09:00<",
         "<OccurredFrom>SECRET-DATE<"},
    };
    const char *path = icx_test_path(
        "%s/schemas/examples/invalid/case-role-whitespace.xml",
        icx_test_srcdir());
    char *orig = read_text(path, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* The file with its one fault replaced by this case's. */
        char *doc = replaced(orig, "role=\"suspect \"", cases[i].role);
        if (cases[i].from != NULL) {
            char *d2 = replaced(doc, cases[i].from, cases[i].to);
            free(doc);
            doc = d2;
        }
        icx_err err;
        assert_int_not_equal(validate_text(path, doc, strlen(doc), &err),
                             ICX_OK);
        assert_int_equal(err.reason, ICX_REASON_SCHEMA);
        if (strstr(err.msg, cases[i].field) == NULL)
            fail_msg("got \"%s\", want a message naming %s", err.msg,
                     cases[i].field);
        if (strstr(err.msg, "SECRET") != NULL)
            fail_msg("got \"%s\", want a message without the value",
                     err.msg);
        free(doc);
    }
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_missing_dir),
        cmocka_unit_test(test_required_examples_present),
        cmocka_unit_test(test_valid_examples),
        cmocka_unit_test(test_invalid_examples),
        cmocka_unit_test(test_payloads_inside_envelope),
        cmocka_unit_test(test_sample_payloads),
        cmocka_unit_test(test_unknown_element_in_known_namespace),
        cmocka_unit_test(test_error_withholds_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
