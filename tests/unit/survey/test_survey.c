/*
 * test_survey.c - survey definitions (YAML, groups, every error at
 * file:line:col), the Request payload, answers checked against question
 * types, received responses checked again, status and the compiled
 * comparison (CSV, Markdown, HTML) with the changes between two rounds.
 *
 * Fixtures are in tests/data/survey/ (every answer there is fictional);
 * the test runs from that folder so messages carry bare file names, as
 * the .expect files hold them.  ICX_SURVEY_WRITE_EXPECT=1 rewrites the
 * expected files from what the code produces (then review the diff).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "survey.h"
#include "testutil.h"
#include "util.h"

static int setup(void **state)
{
    (void)state;
    return chdir(icx_test_path("%s/tests/data/survey", icx_test_srcdir()));
}

/* Compares text with the file `name`, or writes it when asked to. */
static void expect_file(const char *name, const char *text)
{
    char *want = NULL;
    size_t len = 0;
    icx_err err;
    if (getenv("ICX_SURVEY_WRITE_EXPECT") != NULL) {
        assert_int_equal(icx_file_write_atomic(name, text, strlen(text), 0644,
                                               &err), 0);
        return;
    }
    assert_int_equal(icx_file_read(&want, &len, name, 1 << 22, &err), 0);
    if (strcmp(want, text) != 0)
        fail_msg("%s: got\n%s\nwant\n%s", name, text, want);
    free(want);
}

static icx_survey *load_ok(const char *path)
{
    icx_survey *s = NULL;
    icx_buf errs;
    icx_err err;
    icx_buf_init(&errs, 1 << 20);
    int rc = icx_survey_load(&s, path, NULL, "JP-NPA", &errs, &err);
    if (rc != 0)
        fail_msg("%s: got %d, want 0:\n%s", path, rc, errs.data);
    icx_buf_free(&errs);
    return s;
}

static void test_values(void **state)
{
    (void)state;
    static const struct { int type; const char *v; int ok; } t[] = {
        {ICX_SQ_YES_NO_PARTIAL, "yes", 1}, {ICX_SQ_YES_NO_PARTIAL, "no", 1},
        {ICX_SQ_YES_NO_PARTIAL, "partial", 1},
        {ICX_SQ_YES_NO_PARTIAL, "Yes", 0}, {ICX_SQ_YES_NO_PARTIAL, "maybe", 0},
        {ICX_SQ_NUMBER, "10", 1}, {ICX_SQ_NUMBER, "-2.5", 1},
        {ICX_SQ_NUMBER, "+3", 1}, {ICX_SQ_NUMBER, "many", 0},
        {ICX_SQ_NUMBER, "1e3", 0}, {ICX_SQ_NUMBER, "1.", 0},
        {ICX_SQ_NUMBER, ".5", 0}, {ICX_SQ_NUMBER, "", 0},
        {ICX_SQ_DATE, "2025-09-01", 1}, {ICX_SQ_DATE, "2024-02-29", 1},
        {ICX_SQ_DATE, "2025-02-29", 0}, {ICX_SQ_DATE, "2025-9-1", 0},
        {ICX_SQ_DATE, "2025-09-01Z", 0}, {ICX_SQ_TEXT, "anything", 1},
        {ICX_SQ_TEXT, "", 0}, {ICX_SQ_CITATIONS, "summary", 1},
    };
    char why[128];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int got = icx_survey_check_value(t[i].type, t[i].v, why, sizeof why) == 0;
        if (got != t[i].ok)
            fail_msg("%s \"%s\": got %s, want %s", icx_sq_type_name(t[i].type),
                     t[i].v, got ? "ok" : why, t[i].ok ? "ok" : "refused");
    }
    assert_int_equal(icx_sq_type_from_name("citations"), ICX_SQ_CITATIONS);
    assert_int_equal(icx_sq_type_from_name("list"), -1);
}

static void test_definition(void **state)
{
    (void)state;
    icx_survey *s = load_ok("g7-r2.yaml");
    assert_string_equal(s->round, "2026-csam-law-r2");
    assert_string_equal(s->previous, "2025-csam-law-r1");
    assert_string_equal(s->deadline, "2099-01-31");
    assert_string_equal(s->tlp, "GREEN");
    assert_int_equal(s->nquestions, 8);
    /* G7 minus this gateway (JP-NPA); GB-NCA named again is one recipient. */
    static const char *const want[] = {"CA-RCMP", "DE-BKA", "FR-OFMIN",
                                       "GB-NCA", "IT-POLPOST", "US-FBI"};
    assert_int_equal(s->nrecipients, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(s->recipients[i].id, want[i]);
        assert_string_equal(s->recipients[i].group, "G7");
        assert_int_equal(s->recipients[i].line, 7);
    }
    const icx_survey_question *q = icx_survey_question_find(s, "q01");
    assert_non_null(q);
    assert_int_equal(q->ntexts, 2);
    assert_string_equal(icx_survey_question_text(q, "ja"),
                        "児童ポルノに特化した法律はありますか。");
    assert_int_equal(q->ntags, 2);
    assert_string_equal(q->tags[0].scheme, "iccs");
    assert_string_equal(q->tags[0].value, "030221");
    assert_string_equal(q->tags[1].value, "specific-legislation");
    assert_int_equal(icx_survey_question_find(s, "q05")->type, ICX_SQ_CITATIONS);
    icx_survey_free(&s);
    assert_null(s);
}

static void test_definition_errors(void **state)
{
    (void)state;
    icx_survey *s = NULL;
    icx_buf errs;
    icx_err err;
    icx_buf_init(&errs, 1 << 20);
    int rc = icx_survey_load(&s, "bad-survey.yaml", NULL, "JP-NPA", &errs, &err);
    assert_int_equal(rc, ICX_ECONFIG);
    assert_null(s);
    expect_file("bad-survey.expect", errs.data);
    icx_buf_free(&errs);
}

static void test_request_payload(void **state)
{
    (void)state;
    icx_survey *s = load_ok("g7-r2.yaml"), *back = NULL;
    icx_buf a, b;
    icx_err err;
    icx_buf_init(&a, 1 << 20);
    icx_buf_init(&b, 1 << 20);
    assert_int_equal(icx_survey_request_xml(&a, s, &err), 0);
    /* Schema-valid (from_xml validates) and read back whole. */
    if (icx_survey_from_xml(&back, a.data, a.len, &err) != 0)
        fail_msg("request refused: %s", err.msg);
    assert_int_equal(icx_survey_request_xml(&b, back, &err), 0);
    assert_string_equal(a.data, b.data);
    assert_non_null(strstr(a.data, "<Text lang=\"ja\">"));
    assert_non_null(strstr(a.data, "<Tag scheme=\"icmec\">isp-reporting</Tag>"));
    /* A response is not a request. */
    char *x = NULL;
    size_t len = 0;
    assert_int_equal(icx_file_read(&x, &len, "us-r2-bad-response.xml", 1 << 20,
                                   &err), 0);
    icx_survey_free(&back);
    assert_int_equal(icx_survey_from_xml(&back, x, len, &err), ICX_EINVAL);
    free(x);
    icx_survey_free(&s);
    icx_buf_free(&a);
    icx_buf_free(&b);
}

/* The response payload of an answers file, checked. */
static char *answers(const icx_survey *req, const char *path, size_t *len)
{
    icx_buf out, errs;
    icx_err err;
    icx_buf_init(&out, 1 << 20);
    icx_buf_init(&errs, 1 << 20);
    if (icx_survey_answers_load(&out, req, path, &errs, &err) != 0)
        fail_msg("%s refused:\n%s", path, errs.data);
    icx_buf_free(&errs);
    return icx_buf_steal(&out, len);
}

static void test_answers(void **state)
{
    (void)state;
    icx_survey *req = load_ok("g7-r2.yaml");
    icx_survey_response *r = NULL;
    icx_buf why;
    icx_err err;
    size_t len;
    char *x = answers(req, "gb-r2.yaml", &len);
    icx_buf_init(&why, 4096);
    if (icx_survey_response_from_xml(&r, x, len, &err) != 0)
        fail_msg("response refused: %s\n%s", err.msg, x);
    assert_int_equal(icx_survey_response_check(req, r, &why), 0);
    assert_int_equal(r->nanswers, 8);
    const icx_survey_answer *a = icx_survey_response_find(r, "q01");
    assert_string_equal(a->since, "2025-csam-law-r1");
    assert_null(a->value);
    assert_string_equal(icx_survey_response_find(r, "q02")->since,
                        "2025-csam-law-r1");
    a = icx_survey_response_find(r, "q05");
    assert_int_equal(a->ncitations, 2);
    assert_string_equal(a->citations[0].url,
                        "https://law.example/gb/fictional-osa#s66");
    assert_null(a->citations[1].url);
    /* A citations question answered with citations alone. */
    assert_string_equal(a->value, "2 provisions cited");
    assert_string_equal(icx_survey_response_find(r, "q04")->note,
                        "Possession without intent became an offence "
                        "(fictional amendment).");
    icx_survey_response_free(&r);
    free(x);
    /* "Partial" is taken as partial. */
    icx_survey *r1 = load_ok("g7-r1.yaml");
    x = answers(r1, "ca-r1.yaml", &len);
    assert_non_null(strstr(x, "<Value>partial</Value>"));
    free(x);
    icx_survey_free(&r1);
    icx_survey_free(&req);
    icx_buf_free(&why);
}

static void test_answer_errors(void **state)
{
    (void)state;
    icx_survey *req = load_ok("g7-r2.yaml");
    icx_buf out, errs;
    icx_err err;
    icx_buf_init(&out, 1 << 20);
    icx_buf_init(&errs, 1 << 20);
    assert_int_equal(icx_survey_answers_load(&out, req, "us-r2-bad.yaml", &errs,
                                             &err), ICX_ECONFIG);
    assert_int_equal(out.len, 0);
    expect_file("bad-answers.expect", errs.data);
    /* Answers for another round. */
    icx_buf_reset(&errs);
    assert_int_equal(icx_survey_answers_load(&out, req, "gb-r1.yaml", &errs,
                                             &err), ICX_ECONFIG);
    assert_non_null(strstr(errs.data, "gb-r1.yaml:3:8: round: \"2025-csam-law-r1\" "
                           "is not the round of the request (2026-csam-law-r2)"));
    icx_survey_free(&req);
    icx_buf_free(&out);
    icx_buf_free(&errs);
}

static void test_response_check(void **state)
{
    (void)state;
    icx_survey *req = load_ok("g7-r2.yaml");
    icx_survey_response *r = NULL;
    icx_buf why;
    icx_err err;
    char *x = NULL;
    size_t len = 0;
    icx_buf_init(&why, 4096);
    assert_int_equal(icx_file_read(&x, &len, "us-r2-bad-response.xml", 1 << 20,
                                   &err), 0);
    assert_int_equal(icx_survey_response_from_xml(&r, x, len, &err), 0);
    assert_int_equal(icx_survey_response_check(req, r, &why), 2);
    assert_string_equal(why.data, "q06: \"many\" is not a number; "
                        "q99: unknown question");
    icx_survey_response_free(&r);
    icx_survey_free(&req);
    icx_buf_free(&why);
    free(x);
}

/* ---- rounds as the ministry's gateway holds them ----------------------- */

static void add(icx_survey_round *r, const char *agency, const char *msgid,
                int64_t at, const char *answers_file, const char *xml_file)
{
    char *x = NULL;
    size_t len = 0;
    icx_err err;
    int mine = 0;
    if (answers_file != NULL) {
        x = answers(r->request, answers_file, &len);
    } else {
        assert_int_equal(icx_file_read(&x, &len, xml_file, 1 << 20, &err), 0);
    }
    assert_int_equal(icx_survey_round_add_response(r, agency, msgid, at, x, len,
                                                   NULL, &mine, &err), 0);
    assert_int_equal(mine, 1);
    free(x);
}

static icx_survey_round *round_of(const char *def)
{
    icx_survey_round *r = NULL;
    icx_survey *s = load_ok(def), *wire = NULL;
    icx_buf b;
    icx_err err;
    /* As compile sees it: the request read back from the wire. */
    icx_buf_init(&b, 1 << 20);
    assert_int_equal(icx_survey_request_xml(&b, s, &err), 0);
    assert_int_equal(icx_survey_from_xml(&wire, b.data, b.len, &err), 0);
    assert_int_equal(icx_survey_round_new(&r, wire, &err), 0);
    for (size_t i = 0; i < s->nrecipients; i++) {
        if (strcmp(s->recipients[i].id, "CA-RCMP") != 0 &&
            strcmp(s->recipients[i].id, "GB-NCA") != 0 &&
            strcmp(s->recipients[i].id, "US-FBI") != 0)
            continue;
        icx_survey_party *p = icx_survey_round_party(r, s->recipients[i].id);
        snprintf(p->request_id, sizeof p->request_id,
                 "00000000-0000-4000-8000-%012u", (unsigned)i % 1000);
        snprintf(p->request_state, sizeof p->request_state, "delivered");
    }
    icx_survey_free(&s);
    icx_buf_free(&b);
    return r;
}

static icx_survey_round *round1(void)
{
    icx_survey_round *r = round_of("g7-r1.yaml");
    add(r, "GB-NCA", "11111111-0000-4000-8000-000000000001", 1750000000,
        "gb-r1.yaml", NULL);
    add(r, "US-FBI", "11111111-0000-4000-8000-000000000002", 1750000100,
        "us-r1.yaml", NULL);
    add(r, "CA-RCMP", "11111111-0000-4000-8000-000000000003", 1750000200,
        "ca-r1.yaml", NULL);
    return r;
}

static icx_survey_round *round2(void)
{
    icx_survey_round *r = round_of("g7-r2.yaml");
    add(r, "GB-NCA", "22222222-0000-4000-8000-000000000001", 1780000000,
        "gb-r2.yaml", NULL);
    add(r, "US-FBI", "22222222-0000-4000-8000-000000000002", 1780000100, NULL,
        "us-r2-bad-response.xml");
    return r;
}

static int load_r1(void *ctx, const char *id, icx_survey_round **out,
                   icx_err *err)
{
    int *calls = ctx;
    (*calls)++;
    if (strcmp(id, "2025-csam-law-r1") != 0)
        return icx_err_set(err, ICX_ENOTFOUND, "round %s: unknown", id);
    *out = round1();
    return ICX_OK;
}

static void compile(icx_buf *out, const icx_survey_round *r, int format,
                    const char *since, int *calls)
{
    icx_err err;
    icx_survey_compile_opts o = {.format = format, .since = since,
                                 .load = load_r1, .ctx = calls,
                                 .now = 1780500000};
    icx_buf_reset(out);
    if (icx_survey_compile(out, r, &o, &err) != 0)
        fail_msg("compile: %s", err.msg);
}

static void test_round_and_status(void **state)
{
    (void)state;
    icx_survey_round *r = round2();
    icx_buf out;
    icx_buf_init(&out, 1 << 20);
    assert_int_equal(r->nparties, 3);
    const icx_survey_party *us = icx_survey_round_party(r, "US-FBI");
    assert_null(us->answer);
    assert_string_equal(us->rejected, "q06: \"many\" is not a number; q99: "
                        "unknown question");
    /* A response for another round is not this round's. */
    char *x = answers(r->request, "gb-r2.yaml", NULL);
    icx_survey *r1 = load_ok("g7-r1.yaml");
    icx_survey_round *other = NULL;
    icx_err err;
    int mine = 1;
    assert_int_equal(icx_survey_round_new(&other, r1, &err), 0);
    assert_int_equal(icx_survey_round_add_response(other, "GB-NCA", "x", 1, x,
                                                   strlen(x), NULL, &mine,
                                                   &err), 0);
    assert_int_equal(mine, 0);
    assert_int_equal(other->nparties, 0);
    icx_survey_round_free(&other);
    free(x);
    /* Before the deadline CA-RCMP is waiting, after it late. */
    assert_int_equal(icx_survey_status(&out, r, 1780500000, 0) > 0 ||
                     out.len > 0, 1);
    assert_non_null(strstr(out.data, "CA-RCMP          delivered  waiting"));
    icx_buf_reset(&out);
    time_t after;
    icx_date_parse(&after, "2099-02-01");
    icx_survey_status(&out, r, after, 0);
    expect_file("status-r2.expect", out.data);
    icx_buf_reset(&out);
    icx_survey_status(&out, r, after, 1);
    assert_non_null(strstr(out.data, "\"agency\":\"CA-RCMP\",\"request_id\":"));
    assert_non_null(strstr(out.data, "\"state\":\"late\""));
    assert_non_null(strstr(out.data, "\"answered\":1,\"rejected\":1,\"late\":1"));
    icx_survey_round_free(&r);
    icx_buf_free(&out);
}

static void test_compile(void **state)
{
    (void)state;
    icx_survey_round *r = round2();
    icx_buf out;
    int calls = 0;
    icx_buf_init(&out, 4 << 20);

    compile(&out, r, ICX_SURVEY_MD, "2025-csam-law-r1", &calls);
    expect_file("compile-r2.md", out.data);
    /* Round 1 loaded once, for the unchanged answers and --since alike. */
    assert_int_equal(calls, 1);

    compile(&out, r, ICX_SURVEY_CSV, "2025-csam-law-r1", &calls);
    expect_file("compile-r2.csv", out.data);

    compile(&out, r, ICX_SURVEY_HTML, "2025-csam-law-r1", &calls);
    assert_non_null(strstr(out.data, "<!DOCTYPE html>"));
    assert_non_null(strstr(out.data, "@media print"));
    assert_non_null(strstr(out.data, "<span class=\"missing\">rejected</span>"));
    assert_non_null(strstr(out.data, "<h2>Changes since 2025-csam-law-r1</h2>"));
    assert_non_null(strstr(out.data, "<a href=\"https://law.example/gb/"
                           "fictional-osa#s66\">"));
    /* One self-contained file: nothing fetched from elsewhere. */
    assert_null(strstr(out.data, "<script"));
    assert_null(strstr(out.data, "<link"));
    assert_null(strstr(out.data, "src="));
    assert_non_null(strstr(out.data, "</html>\n"));

    /* Round 1 alone: nothing unchanged, CA-RCMP's missing answers marked. */
    icx_survey_round *r1 = round1();
    compile(&out, r1, ICX_SURVEY_MD, NULL, &calls);
    assert_non_null(strstr(out.data, "| CA (CA-RCMP) | partial | yes | "
                           "**missing** | yes |"));

    /* Without a loader unchanged answers stay unresolved, and --since
     * needs one. */
    icx_err err;
    icx_survey_compile_opts o = {.format = ICX_SURVEY_MD, .now = 1};
    icx_buf_reset(&out);
    assert_int_equal(icx_survey_compile(&out, r, &o, &err), 0);
    assert_non_null(strstr(out.data, "unchanged since 2025-csam-law-r1 "
                           "(answer not on record)"));
    o.since = "2024-csam-law-r0";
    assert_int_equal(icx_survey_compile(&out, r, &o, &err), ICX_ENOTFOUND);
    icx_survey_round_free(&r1);
    icx_survey_round_free(&r);
    icx_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_definition),
        cmocka_unit_test(test_definition_errors),
        cmocka_unit_test(test_request_payload),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_answer_errors),
        cmocka_unit_test(test_response_check),
        cmocka_unit_test(test_round_and_status),
        cmocka_unit_test(test_compile),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
