/*
 * test_translate.c - the shipped mapping profiles on the shipped fixtures
 * (tests/data/translate/, all fictional), withholding per partner, all or
 * nothing with every error reported, --skip-invalid, list duplicates and
 * digests, YAML records, and profile errors.
 *
 * The test runs from tests/data/translate so messages carry the bare file
 * names that cases-bad.expect holds.
 *
 * Large lists take the spill path: tiny sorted runs (spill_rows) and tiny
 * pages (page_bytes) make a few hundred generated URLs exercise merges
 * over many runs, duplicates across runs and output in many pages; the
 * pages are then applied by the lists module's receiver, which must
 * reassemble them and verify the Digest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signal.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "lists.h"
#include "mapping.h"
#include "testutil.h"
#include "translate.h"
#include "util.h"

static icx_schemas *schemas;

static const char *profile(const char *name)
{
    return icx_test_path("%s/config/mappings/%s.yaml", icx_test_srcdir(), name);
}

static int setup(void **state)
{
    (void)state;
    icx_err err;
    if (chdir(icx_test_path("%s/tests/data/translate", icx_test_srcdir())) != 0)
        return -1;
    return icx_schemas_load(&schemas, icx_schemas_default_dir(), &err);
}

static int teardown(void **state)
{
    (void)state;
    icx_schemas_free(&schemas);
    return 0;
}

struct run {
    int rc;
    icx_buf payload, report;
    icx_translate_result res;
    icx_err err;
};

static void run(struct run *r, const char *prof, const char *file,
                const char *partner, int skip)
{
    icx_mapping *m = NULL;
    icx_buf errs;
    icx_buf_init(&errs, 1 << 20);
    icx_buf_init(&r->payload, 1 << 24);
    icx_buf_init(&r->report, 1 << 20);
    icx_err_clear(&r->err);
    if (icx_mapping_load(&m, prof, &errs, &r->err) != 0)
        fail_msg("profile %s: %s", prof, errs.data);
    icx_translate_opts o = {.partner = partner, .skip_invalid = skip,
                            .schemas = schemas, .now = 1767225600};
    r->rc = icx_translate_run(&r->payload, &r->res, m, file, &o, &r->report,
                              &r->err);
    icx_mapping_free(&m);
    icx_buf_free(&errs);
}

static void done(struct run *r)
{
    icx_buf_free(&r->payload);
    icx_buf_free(&r->report);
}

static void has(const struct run *r, const char *s)
{
    if (r->payload.data == NULL || strstr(r->payload.data, s) == NULL)
        fail_msg("payload lacks \"%s\":\n%s\nreport:\n%s", s,
                 r->payload.data ? r->payload.data : "(none)",
                 r->report.data ? r->report.data : "");
}

static void lacks(const struct run *r, const char *s)
{
    if (r->payload.data && strstr(r->payload.data, s) != NULL)
        fail_msg("payload has \"%s\", want it absent", s);
}

static void test_profiles_load(void **state)
{
    (void)state;
    static const char *const names[] = {"npa-case", "npa-urls",
                                        "npa-urls-lines", "npa-hashes"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        icx_mapping *m = NULL;
        icx_buf errs;
        icx_err err;
        icx_buf_init(&errs, 1 << 20);
        if (icx_mapping_load(&m, profile(names[i]), &errs, &err) != 0)
            fail_msg("%s: %s", names[i], errs.data);
        assert_string_equal(m->profile, names[i]);
        icx_mapping_free(&m);
        assert_null(m);
        icx_buf_free(&errs);
    }
}

static void test_case_for_partners(void **state)
{
    (void)state;
    struct run r;
    run(&r, profile("npa-case"), "cases.csv", "PH-NBI", 0);
    if (r.rc != 0)
        fail_msg("got %d (%s), want success:\n%s", r.rc, r.err.msg, r.report.data);
    has(&r, "<Referral xmlns=\"urn:icx:case:1\">");
    has(&r, "<CaseReference>NPA-2025-CSE-00417</CaseReference>"); /* NFKC */
    has(&r, "<Offence crosswalkVersion=\"jp-iccs-2026.1\"><DomesticCode "
            "system=\"JP-ACT52-1999\">art7-3</DomesticCode>");
    has(&r, "<IccsCode>030221</IccsCode>");
    has(&r, "<DomesticCode system=\"JP-PENALCODE\">art182</DomesticCode>");
    has(&r, "<IccsCode>030223</IccsCode>");
    has(&r, "<OccurredFrom>2025-02-28T15:00:00Z</OccurredFrom>"); /* JST */
    has(&r, "Place: JP-27 (Osaka, Japan)");
    has(&r, "<BirthDate>1981-05-17</BirthDate>");                 /* 昭和 */
    has(&r, ">2001:db8:4a1:f00::7c</IpAddress>");
    has(&r, "port=\"51724\" observedAt=\"2025-09-02T14:14:05Z\"");
    has(&r, "<Url person=\"p2\">https://files.example/s/8Kq2xZ</Url>");
    /* The victim's name, birth date and (for PH-NBI) e-mail stay home. */
    lacks(&r, "花子");
    lacks(&r, "2016-01-01");
    lacks(&r, "hanako.v@mail.example");
    has(&r, "<Person role=\"victim\" id=\"v1\"><Name script=\"Latn\" "
            "kind=\"alias\">v1</Name>");
    has(&r, "<Withheld><Field>Persons/Person/Name</Field><Field>Persons/"
            "Person/BirthDate</Field><Field>OnlineIdentifiers/Email</Field>"
            "</Withheld>");
    assert_string_equal(r.res.category, "case-referral");
    assert_int_equal(r.res.rows, 4);
    assert_int_equal(r.res.accepted, 4);
    done(&r);

    /* INT-ICPO is released the birth date, not the name. */
    run(&r, profile("npa-case"), "cases.csv", "INT-ICPO", 0);
    assert_int_equal(r.rc, 0);
    has(&r, "<BirthDate>2016-01-01</BirthDate>");
    has(&r, "hanako.v@mail.example");
    lacks(&r, "花子");
    has(&r, "<Withheld><Field>Persons/Person/Name</Field></Withheld>");
    done(&r);
}

static void test_partner_file_withhold(void **state)
{
    (void)state;
    icx_mapping *m = NULL;
    icx_buf errs, out, rep;
    icx_err err;
    char *items[] = {"suspect.ip"};
    icx_strlist extra = {items, 1};
    icx_buf_init(&errs, 1 << 20);
    icx_buf_init(&out, 1 << 24);
    icx_buf_init(&rep, 1 << 20);
    assert_int_equal(icx_mapping_load(&m, profile("npa-case"), &errs, &err), 0);
    icx_translate_opts o = {.partner = "INT-ICPO", .partner_withhold = &extra,
                            .schemas = schemas};
    assert_int_equal(icx_translate_run(&out, NULL, m, "cases.csv", &o, &rep,
                                       &err), 0);
    assert_null(strstr(out.data, "<IpAddress"));
    assert_non_null(strstr(out.data, "<Field>OnlineIdentifiers/IpAddress</Field>"));
    icx_mapping_free(&m);
    icx_buf_free(&errs);
    icx_buf_free(&out);
    icx_buf_free(&rep);
}

/* The partner file's withhold as submit and translate -c take it from a
 * loaded configuration (tests/data/config/good: PH-NBI withholds
 * victim.name, INT-ICPO names nothing); a recipient that is no partner is
 * refused, naming it and the configuration. */
static void test_partner_withhold_from_config(void **state)
{
    (void)state;
    static const struct {
        const char *partner;
        int rc;
        size_t count;       /* items in its withhold */
        const char *msg;    /* in err.msg when refused */
    } cases[] = {
        {"PH-NBI", ICX_OK, 1, NULL},
        {"INT-ICPO", ICX_OK, 0, NULL},
        {"XX-NONE", ICX_ENOTFOUND, 0,
         "XX-NONE is not a partner in ../config/good/gateway.yaml"},
        {NULL, ICX_ENOTFOUND, 0, "is not a partner in"},
    };
    icx_config *cfg = NULL;
    icx_buf errs;
    icx_err err;
    icx_buf_init(&errs, 1 << 20);
    if (icx_config_load(&cfg, "../config/good/gateway.yaml", &errs, &err) != 0)
        fail_msg("config: %s", errs.data ? errs.data : err.msg);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static const icx_strlist stale;
        const icx_strlist *w = &stale; /* a refusal must clear it */
        icx_err_clear(&err);
        int rc = icx_mapping_partner_withhold(&w, cfg, cases[i].partner, &err);
        if (rc != cases[i].rc)
            fail_msg("%s: got %d, want %d (%s)", cases[i].partner
                     ? cases[i].partner : "(null)", rc, cases[i].rc, err.msg);
        if (rc < 0) {
            assert_null(w);
            if (strstr(err.msg, cases[i].msg) == NULL)
                fail_msg("got \"%s\", want \"%s\" in it", err.msg,
                         cases[i].msg);
            continue;
        }
        assert_non_null(w);
        if (w->count != cases[i].count)
            fail_msg("%s: got %zu fields withheld, want %zu", cases[i].partner,
                     w->count, cases[i].count);
    }

    /* PH-NBI's file withholds victim.name: with a profile that withholds
     * nothing, the partner file alone keeps the name out and records it. */
    const icx_strlist *w = NULL;
    icx_mapping *m = NULL;
    icx_buf out, rep;
    icx_buf_init(&out, 1 << 24);
    icx_buf_init(&rep, 1 << 20);
    assert_int_equal(icx_mapping_partner_withhold(&w, cfg, "PH-NBI", &err), 0);
    assert_int_equal(icx_mapping_load(&m, profile("npa-case"), &errs, &err), 0);
    icx_strlist none = {NULL, 0}, keep = m->withhold;
    size_t npartners = m->npartners;
    m->withhold = none;
    m->npartners = 0;
    icx_translate_opts o = {.partner = "PH-NBI", .partner_withhold = w,
                            .schemas = schemas};
    assert_int_equal(icx_translate_run(&out, NULL, m, "cases.csv", &o, &rep,
                                       &err), 0);
    assert_null(strstr(out.data, "花子"));
    assert_non_null(strstr(out.data, "架空 太郎"));
    assert_non_null(strstr(out.data, "<Withheld><Field>Persons/Person/Name"
                                     "</Field></Withheld>"));
    m->withhold = keep;
    m->npartners = npartners;
    icx_mapping_free(&m);
    icx_config_free(&cfg);
    icx_buf_free(&errs);
    icx_buf_free(&out);
    icx_buf_free(&rep);
}

static void test_shift_jis_same_payload(void **state)
{
    (void)state;
    struct run u, s;
    run(&u, profile("npa-case"), "cases.csv", "PH-NBI", 0);
    run(&s, profile("npa-case"), "cases-sjis.csv", "PH-NBI", 0);
    assert_int_equal(s.rc, 0);
    assert_non_null(strstr(s.report.data, "(cp932)"));
    if (u.payload.len != s.payload.len ||
        memcmp(u.payload.data, s.payload.data, u.payload.len) != 0)
        fail_msg("Shift_JIS payload differs:\n%s\nwant:\n%s", s.payload.data,
                 u.payload.data);
    done(&u);
    done(&s);
}

static void test_bad_rows_all_or_nothing(void **state)
{
    (void)state;
    struct run r;
    char *want = NULL;
    size_t len;
    icx_err err;
    run(&r, profile("npa-case"), "cases-bad.csv", NULL, 0);
    assert_int_equal(r.rc, ICX_EINVAL);
    assert_int_equal(r.payload.len, 0);
    assert_int_equal(icx_file_read(&want, &len, "cases-bad.expect", 1 << 20,
                                   &err), 0);
    for (char *line = want, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strstr(r.report.data, line) == NULL)
            fail_msg("report lacks \"%s\":\n%s", line, r.report.data);
    }
    assert_non_null(strstr(r.report.data, "refused: 7 errors in 2 of 4 rows; "
                                          "nothing written"));
    free(want);
    done(&r);

    run(&r, profile("npa-case"), "cases-bad.csv", NULL, 1);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.accepted, 2);
    assert_int_equal(r.res.rejected, 2);
    assert_non_null(strstr(r.report.data, "cases-bad.csv: rejected rows: 3, 4"));
    has(&r, "<IccsCode>030221</IccsCode>");
    lacks(&r, "00999");
    lacks(&r, "架空 次郎");
    done(&r);
}

static void check_digest(const struct run *r, const char *const *lines,
                         size_t n)
{
    char want[65], tag[128];
    icx_buf b;
    icx_buf_init(&b, 1 << 20);
    for (size_t i = 0; i < n; i++) /* lines are given sorted */
        icx_buf_printf(&b, "%s\n", lines[i]);
    icx_sha256_hex(want, b.data, b.len);
    snprintf(tag, sizeof tag, "<Digest algorithm=\"sha256\">%s</Digest>", want);
    has(r, tag);
    icx_buf_free(&b);
}

static void test_url_list(void **state)
{
    (void)state;
    struct run r;
    run(&r, profile("npa-urls"), "urls.csv", NULL, 0);
    if (r.rc != 0)
        fail_msg("%s", r.report.data);
    has(&r, "<ListId>csam-urls</ListId><Kind>url</Kind>");
    has(&r, "<Value>http://bad.example/a/B?x=1</Value>");
    has(&r, "<Value>https://xn--r8jz45g.xn--zckzah/パス/Ａ</Value>");
    has(&r, "<Value>https://files.example/s/a,b</Value>");
    lacks(&r, "gone.example"); /* status 削除済 */
    has(&r, "<EntryCount>3</EntryCount>");
    assert_int_equal(r.res.duplicates, 1);
    assert_non_null(strstr(r.report.data, "urls.csv:4: duplicate of row 2"));
    const char *const lines[] = {"http://bad.example/a/B?x=1",
                                 "https://files.example/s/a,b",
                                 "https://xn--r8jz45g.xn--zckzah/パス/Ａ"};
    check_digest(&r, lines, 3);
    assert_string_equal(r.res.category, "list-update");
    done(&r);

    run(&r, profile("npa-urls-lines"), "urls.txt", NULL, 0);
    assert_int_equal(r.rc, 0);
    has(&r, "<Value>https://mirror.example/x/Y</Value><DetectedAt>2026-01-01T00:00:00Z");
    has(&r, "<Value>http://[2001:db8::1]:8080/p</Value>");
    has(&r, "<EntryCount>2</EntryCount>");
    done(&r);
}

static void test_hash_list(void **state)
{
    (void)state;
    struct run r;
    run(&r, profile("npa-hashes"), "hashes.csv", NULL, 0);
    if (r.rc != 0)
        fail_msg("%s", r.report.data);
    has(&r, "<Value algorithm=\"md5\">fe1984f7c23760d247eaabc220348599</Value>"
            "<Category>baseline</Category>");
    has(&r, "<Value algorithm=\"photodna\">QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=</Value>");
    has(&r, "<Category>national</Category>");
    has(&r, "<EntryCount>5</EntryCount>");
    assert_int_equal(r.res.duplicates, 1);
    const char *const lines[] = {
        "md5:fe1984f7c23760d247eaabc220348599",
        "pdq:3afbd5577a879d3382d92b187b738d91526e47ae1834218e4538afd30ff85554",
        "photodna:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=",
        "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "sha256:31844e716d0e0bcc5235d1c9a35ce663101f3f521106cdce427208346463f2b9"};
    check_digest(&r, lines, 5);
    done(&r);
}

static void test_yaml_records(void **state)
{
    (void)state;
    struct run r;
    run(&r, "npa-case-yaml.yaml", "case.yaml", NULL, 0);
    if (r.rc != 0)
        fail_msg("%s", r.report.data);
    has(&r, "<CaseReference>NPA-2025-CSE-00501</CaseReference>");
    has(&r, "<DomesticCode system=\"JP-ACT83-2003\">art6</DomesticCode>");
    has(&r, "<OccurredFrom>2025-05-01T11:00:00Z</OccurredFrom>");
    lacks(&r, "五子");
    lacks(&r, "2010-07-07");
    done(&r);
}

static void test_bad_profile(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    const char *p = icx_test_path("%s/bad.yaml", dir);
    icx_test_write(p,
                   "profile: bad\n"
                   "kind: case\n"
                   "version: v1\n"
                   "colour: blue\n"
                   "fields:\n"
                   "  - {column: A, field: case.reference}\n"
                   "  - {column: B, field: offence.code}\n"
                   "  - {column: C, field: entry.url}\n"
                   "  - {column: D, field: person.shoe_size}\n"
                   "withhold: [victim.shoe_size]\n");
    icx_mapping *m = NULL;
    icx_buf errs;
    icx_err err;
    icx_buf_init(&errs, 1 << 20);
    assert_int_equal(icx_mapping_load(&m, p, &errs, &err), ICX_ECONFIG);
    assert_null(m);
    static const char *const want[] = {
        "bad.yaml:4:1: colour: unknown key",
        "bad.yaml:7:5: fields[1]: field offence.code needs a table",
        "bad.yaml:8:24: fields[2]: field \"entry.url\" does not belong to a case profile",
        "bad.yaml:9:24: field: unknown field \"person.shoe_size\"",
        "withhold: cannot withhold \"victim.shoe_size\" in a case profile",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(errs.data, want[i]) == NULL)
            fail_msg("errors lack \"%s\":\n%s", want[i], errs.data);
    icx_buf_free(&errs);
    icx_test_rmrf(dir);
    free(dir);
}

static void test_hook(void **state)
{
    (void)state;
    icx_buf out, rep;
    icx_err err;
    icx_buf_init(&out, 1 << 24);
    icx_buf_init(&rep, 1 << 20);
    assert_int_equal(icx_translate_file(&out, "hashes.csv", profile("npa-hashes"),
                                        "PH-NBI", &rep, &err), 0);
    assert_non_null(strstr(out.data, "<ListId>csam-hashes</ListId>"));
    icx_buf_reset(&out);
    icx_buf_reset(&rep);
    assert_int_equal(icx_translate_file(&out, "cases-bad.csv", profile("npa-case"),
                                        "PH-NBI", &rep, &err), ICX_EINVAL);
    assert_int_equal(out.len, 0);
    assert_non_null(strstr(rep.data, "cases-bad.csv:3:18:person.ip:"));
    assert_true(icx_translate_file(&out, "none.csv", profile("npa-case"),
                                   NULL, &rep, &err) < 0);
    assert_non_null(strstr(err.msg, "none.csv"));
    icx_buf_free(&out);
    icx_buf_free(&rep);
}

/* Received payloads (and envelopes) back to the domestic CSV; the CSV
 * translates forward again to the same content. */
static void test_back(void **state)
{
    (void)state;
    struct run r, again;
    icx_mapping *m = NULL;
    icx_buf csv, errs;
    icx_err err;
    icx_buf_init(&csv, 1 << 24);
    icx_buf_init(&errs, 1 << 20);
    run(&r, profile("npa-case"), "cases.csv", "INT-ICPO", 0);
    assert_int_equal(r.rc, 0);
    assert_int_equal(icx_mapping_load(&m, profile("npa-case"), &errs, &err), 0);
    assert_int_equal(icx_translate_back(&csv, m, r.payload.data, r.payload.len,
                                        &err), 0);
    const char *want[] = {
        "\xEF\xBB\xBF事件番号,件名,概要,罪名,",
        "\r\nNPA-2025-CSE-00417,【架空データ】児童ポルノ提供事件,\"架空の事例: "
        "大阪府在住の被疑者が、児童ポルノを製造し \"\"メッセージ\"\" "
        "アカウントで提供した。\n被害児童はフィリピン在住とみられる。\","
        "児童ポルノ提供目的製造,2025-03-01T00:00:00+09:00,"
        "2025-10-14T09:30:00+09:00,JP-27,",
        "\r\nNPA-2025-CSE-00417,,,面会要求,",
        ",p1,被疑者,架空 太郎,カクウ タロウ,KAKUU Taro,1981-05-17,日本,",
        ",p2,,,,,,,,,,2001:db8:4a1:f00::7c,51724,2025-09-02T23:14:05+09:00,\r\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(csv.data, want[i]) == NULL)
            fail_msg("CSV lacks \"%s\":\n%s", want[i], csv.data);
    char *dir = icx_test_mkdtemp();
    const char *path = icx_test_path("%s/back.csv", dir);
    assert_int_equal(icx_file_write_atomic(path, csv.data, csv.len, 0600, &err), 0);
    run(&again, profile("npa-case"), path, "INT-ICPO", 0);
    if (again.rc != 0)
        fail_msg("%s", again.report.data);
    has(&again, "<DomesticCode system=\"JP-PENALCODE\">art182</DomesticCode>");
    has(&again, "Place: JP-27 (Osaka, Japan)");
    has(&again, "<BirthDate>2016-01-01</BirthDate>");
    done(&again);

    /* A list payload does not fit a case profile; the URL profile reads it. */
    icx_mapping_free(&m);
    assert_int_equal(icx_mapping_load(&m, profile("npa-case"), &errs, &err), 0);
    icx_buf_reset(&csv);
    done(&r);
    run(&r, profile("npa-urls"), "urls.csv", NULL, 0);
    assert_int_equal(icx_translate_back(&csv, m, r.payload.data, r.payload.len,
                                        &err), ICX_EINVAL);
    assert_non_null(strstr(err.msg, "does not fit a case profile"));
    icx_mapping_free(&m);
    assert_int_equal(icx_mapping_load(&m, profile("npa-urls"), &errs, &err), 0);
    assert_int_equal(icx_translate_back(&csv, m, r.payload.data, r.payload.len,
                                        &err), 0);
    assert_non_null(strstr(csv.data, "\"https://files.example/s/a,b\","
                                     "2025-04-04T00:00:00+09:00,児童ポルノ,公開中\r\n"));
    done(&r);
    icx_mapping_free(&m);
    icx_buf_free(&csv);
    icx_buf_free(&errs);
    icx_test_rmrf(dir);
    free(dir);
}

/* A received Response: Status, Answer and the answering agency's own case
 * number in their columns, one row per evidence item with its hash (an
 * item with two hashes continues on a second row with the same id), our
 * case number joining the rows; such a file is refused going forward. */
static const char response_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Response xmlns=\"urn:icx:case:1\">"
    "<RefCaseReference>NPA-2025-CSE-00417</RefCaseReference>"
    "<CaseReference>PH-NBI-CCD-2026-1187</CaseReference>"
    "<Status>partial</Status>"
    "<Answer>Account preserved, subscriber follows</Answer>"
    "<Evidence>"
    "<Item id=\"ph-01\"><Description>Preservation letter (PDF)</Description>"
    "<Hash algorithm=\"sha256\">b63e7d137d65e8d094a29fb3786b69f45ce0c655a2ea7ef5404b59f682bc1e0d</Hash>"
    "<SizeBytes>184220</SizeBytes></Item>"
    "<Item id=\"ph-02\">"
    "<Hash algorithm=\"md5\">0123456789abcdef0123456789abcdef</Hash>"
    "<Hash algorithm=\"sha1\">875daa615c2bfed951ea90a55b787260363ca4b2</Hash>"
    "<Grading scheme=\"interpol\">baseline</Grading></Item>"
    "</Evidence></Response>\n";

static void test_back_response(void **state)
{
    (void)state;
    icx_mapping *m = NULL;
    icx_buf csv, errs;
    icx_err err;
    struct run r;
    icx_buf_init(&csv, 1 << 24);
    icx_buf_init(&errs, 1 << 20);
    assert_int_equal(icx_mapping_load(&m, profile("npa-case"), &errs, &err), 0);
    assert_int_equal(icx_translate_back(&csv, m, response_xml,
                                        sizeof response_xml - 1, &err), 0);
    const char *want =
        "\xEF\xBB\xBF事件番号,件名,概要,罪名,発生日時,発生日時至,都道府県,"
        "相手方事件番号,回答状況,回答内容,証拠番号,証拠説明,ハッシュ方式,"
        "ハッシュ値,ファイルサイズ,等級区分,等級,"
        "人物番号,区分,氏名,フリガナ,ローマ字,生年月日,国籍,アカウント,"
        "サービス,メールアドレス,IPアドレス,ポート,観測日時,URL\r\n"
        "NPA-2025-CSE-00417,,,,,,,PH-NBI-CCD-2026-1187,partial,"
        "\"Account preserved, subscriber follows\",ph-01,"
        "Preservation letter (PDF),sha256,"
        "b63e7d137d65e8d094a29fb3786b69f45ce0c655a2ea7ef5404b59f682bc1e0d,"
        "184220,,,,,,,,,,,,,,,,\r\n"
        "NPA-2025-CSE-00417,,,,,,,,,,ph-02,,md5,"
        "0123456789abcdef0123456789abcdef,,interpol,baseline,,,,,,,,,,,,,,\r\n"
        "NPA-2025-CSE-00417,,,,,,,,,,ph-02,,sha1,"
        "875daa615c2bfed951ea90a55b787260363ca4b2,,,,,,,,,,,,,,,,,\r\n";
    if (csv.data == NULL || strcmp(csv.data, want) != 0)
        fail_msg("CSV:\n%s\nwant:\n%s", csv.data ? csv.data : "(none)", want);

    /* Going forward, a Referral has no place for response data. */
    char *dir = icx_test_mkdtemp();
    const char *path = icx_test_path("%s/response.csv", dir);
    assert_int_equal(icx_file_write_atomic(path, csv.data, csv.len, 0600, &err), 0);
    run(&r, profile("npa-case"), path, NULL, 0);
    assert_int_not_equal(r.rc, 0);
    if (strstr(r.report.data, "response.status is data of a received "
                              "Response; a Referral has no place for it") == NULL ||
        strstr(r.report.data, "evidence.hash is data of a received") == NULL)
        fail_msg("report:\n%s", r.report.data);
    done(&r);

    /* A profile without the response columns keeps Status as the title... */
    icx_mapping_free(&m);
    icx_buf_reset(&csv);
    assert_int_equal(icx_mapping_load(&m, "npa-case-yaml.yaml", &errs, &err), 0);
    assert_int_equal(icx_translate_back(&csv, m, response_xml,
                                        sizeof response_xml - 1, &err), 0);
    /* ... and, having no evidence column, gets no rows of empty cells. */
    assert_non_null(strstr(csv.data, "\r\nNPA-2025-CSE-00417,partial,,,,,,,\r\n"));
    assert_null(strstr(csv.data, "\r\nNPA-2025-CSE-00417,,"));
    icx_mapping_free(&m);
    icx_buf_free(&csv);
    icx_buf_free(&errs);
    icx_test_rmrf(dir);
    free(dir);
}

/* ---- large lists: spilled rows, paged output ------------------------------ */

#define MAX_PAGES 64

struct pages {
    char *xml[MAX_PAGES];
    unsigned long n, total;
    unsigned long fail_at;   /* the sink fails on this page (0: never) */
};

static int collect(void *ctx, unsigned long page, unsigned long pages,
                   const char *xml, size_t len, icx_err *err)
{
    struct pages *p = ctx;
    if (page == p->fail_at)
        return icx_err_set(err, ICX_EIO, "sink: disk gone at page %lu", page);
    if (page != p->n + 1 || p->n >= MAX_PAGES || (p->total && p->total != pages))
        fail_msg("got page %lu of %lu after %lu of %lu", page, pages, p->n,
                 p->total);
    p->xml[p->n] = malloc(len + 1);
    memcpy(p->xml[p->n], xml, len);
    p->xml[p->n][len] = '\0';
    p->n++;
    p->total = pages;
    return 0;
}

static void pages_free(struct pages *p)
{
    for (unsigned long i = 0; i < p->n; i++)
        free(p->xml[i]);
    memset(p, 0, sizeof *p);
}

/* URL lines: n rows, every tenth row (from row 12 on) the URL of the row
 * five above in capitals (the same entry once normalized), comments and
 * blank lines between; bad_row (0: none) is not a URL.  *unique is set to
 * the number of entries, *dups to the duplicates. */
static const char *url_file(const char *dir, int n, int bad_row, size_t *unique,
                            size_t *dups)
{
    const char *path = icx_test_path("%s/urls-%d-%d.txt", dir, n, bad_row);
    FILE *f = fopen(path, "w");
    *unique = *dups = 0;
    fputs("# FICTIONAL blocking list\n\n", f);
    for (int i = 1; i <= n; i++) {
        if (i == bad_row) {
            fputs("not a url\n", f);
        } else if (i >= 12 && i % 10 == 2) {
            fprintf(f, "HTTPS://H%d.EXAMPLE/p/%d\n", (i - 5) % 37, i - 5);
            (*dups)++;
        } else {
            fprintf(f, "https://h%d.example/p/%d\n", i % 37, i);
            (*unique)++;
        }
        if (i % 50 == 0)
            fputs("# a comment\n", f);
    }
    fclose(f);
    return path;
}

/* The line of generated row i: after two header lines and a comment
 * every fifty rows. */
static unsigned line_of(int i)
{
    return (unsigned)(i + 2 + (i - 1) / 50);
}

static int run_list(struct pages *p, icx_buf *report, icx_translate_result *res,
                    icx_err *err, const char *file, size_t spill_rows,
                    size_t page_bytes, int skip, const char *tmpdir)
{
    icx_mapping *m = NULL;
    icx_buf errs, payload;
    icx_buf_init(&errs, 1 << 20);
    icx_buf_init(&payload, 1 << 24);
    icx_buf_reset(report);
    if (icx_mapping_load(&m, profile("npa-urls-lines"), &errs, err) != 0)
        fail_msg("profile: %s", errs.data);
    icx_translate_opts o = {.schemas = schemas, .now = 1767225600,
                            .session_id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
                            .skip_invalid = skip, .sink = collect,
                            .sink_ctx = p, .page_bytes = page_bytes,
                            .spill_rows = spill_rows, .tmpdir = tmpdir};
    int rc = icx_translate_run(&payload, res, m, file, &o, report, err);
    assert_int_equal(payload.len, 0); /* everything went to the sink */
    icx_mapping_free(&m);
    icx_buf_free(&errs);
    icx_buf_free(&payload);
    return rc;
}

static const char *between(const char *s, const char *open, const char *close,
                           char *out, size_t outlen)
{
    const char *a = strstr(s, open), *b;
    if (a == NULL || (b = strstr(a + strlen(open), close)) == NULL)
        return NULL;
    a += strlen(open);
    snprintf(out, outlen, "%.*s", (int)(b - a), a);
    return b + strlen(close);
}

static void test_list_spilled_pages(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    size_t unique, dups;
    const char *file = url_file(dir, 400, 0, &unique, &dups);
    struct pages p = {0}, mem = {0};
    icx_translate_result res;
    icx_buf report, lines;
    icx_err err;
    char digest[65], want_tag[128], v[256], last[256] = "";
    icx_buf_init(&report, 1 << 20);
    icx_buf_init(&lines, 1 << 20);

    /* Runs of 4 rows (about 100 runs, merged in two levels), 4 KiB pages. */
    int rc = run_list(&p, &report, &res, &err, file, 4, 4096, 0, dir);
    if (rc != 0)
        fail_msg("got %d (%s):\n%s", rc, err.msg, report.data);
    assert_int_equal(res.duplicates, dups);
    assert_int_equal(res.rows, unique + dups);
    if (p.n < 3 || res.pages != p.n)
        fail_msg("got %lu pages (result %lu), want several", p.n, res.pages);
    /* Every entry once, in canonical order, across the pages. */
    size_t seen = 0;
    for (unsigned long i = 0; i < p.n; i++) {
        char tag[64], want[64];
        assert_true(strlen(p.xml[i]) <= 4096);
        snprintf(want, sizeof want, "<Page>%lu</Page><PageCount>%lu</PageCount>",
                 i + 1, p.n);
        if (strstr(p.xml[i], want) == NULL)
            fail_msg("page %lu lacks %s", i + 1, want);
        snprintf(tag, sizeof tag, "<EntryCount>%zu</EntryCount>", unique);
        assert_non_null(strstr(p.xml[i], tag));
        assert_non_null(strstr(p.xml[i], "<SessionId>0f1e2d3c-4b5a-4978-8695-"
                                         "a4b3c2d1e0f9</SessionId>"));
        if ((strstr(p.xml[i], "<Cursor>") != NULL) != (i + 1 < p.n))
            fail_msg("page %lu of %lu: a Cursor %s", i + 1, p.n,
                     i + 1 < p.n ? "missing" : "on the last page");
        for (const char *q = p.xml[i];
             (q = between(q, "<Value>", "</Value>", v, sizeof v)) != NULL;) {
            if (strcmp(last, v) >= 0)
                fail_msg("\"%s\" after \"%s\"", v, last);
            snprintf(last, sizeof last, "%s", v);
            icx_buf_printf(&lines, "%s\n", v);
            seen++;
        }
    }
    assert_int_equal(seen, unique);
    icx_sha256_hex(digest, lines.data, lines.len);
    snprintf(want_tag, sizeof want_tag, "<Digest algorithm=\"sha256\">%s"
             "</Digest>", digest);
    for (unsigned long i = 0; i < p.n; i++)
        assert_non_null(strstr(p.xml[i], want_tag));
    /* Duplicates reported in the order of the file, naming the first row. */
    unsigned prev = 0;
    size_t ndup = 0;
    for (const char *q = report.data; (q = strstr(q, "urls-400-0.txt:")) != NULL;
         q++) {
        unsigned row, first;
        if (sscanf(q, "urls-400-0.txt:%u: duplicate of row %u", &row,
                   &first) != 2)
            continue;
        int i = (int)row - 2 - ((int)row - 3) / 51; /* the generated row */
        if (row <= prev || line_of(i) != row || first != line_of(i - 5))
            fail_msg("duplicate line for row %u (of row %u) after row %u",
                     row, first, prev);
        prev = row;
        ndup++;
    }
    assert_int_equal(ndup, dups);
    assert_non_null(strstr(report.data, "pages of at most 4096 bytes"));
    assert_int_equal(icx_test_entries(dir), 1); /* the input: spill files unlinked */

    /* The same pages, byte for byte, when the rows stay in memory. */
    rc = run_list(&mem, &report, &res, &err, file, 0, 4096, 0, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(mem.n, p.n);
    for (unsigned long i = 0; i < p.n; i++)
        if (strcmp(mem.xml[i], p.xml[i]) != 0)
            fail_msg("page %lu differs between spilled and in-memory rows", i + 1);

    /* The lists module's receiver reassembles them and verifies the Digest. */
    icx_listdb *db = NULL;
    icx_buf req, next;
    icx_lists_sub sub;
    int64_t seq;
    icx_buf_init(&req, 1 << 16);
    icx_buf_init(&next, 1 << 16);
    assert_int_equal(icx_listdb_open(&db, icx_test_path("%s/sub.db", dir), &err), 0);
    assert_int_equal(icx_lists_pull_begin(&req, &seq, db, "JP-NPA", "csam-urls",
                                          1000, &err), 0);
    for (unsigned long i = 0; i < p.n; i++)
        if (icx_lists_apply(&next, db, "JP-NPA", p.xml[i], strlen(p.xml[i]),
                            1000, &err) != 0)
            fail_msg("page %lu: %s", i + 1, err.msg);
    assert_int_equal(icx_lists_sub_get(&sub, db, "JP-NPA", "csam-urls", &err), 0);
    if (strcmp(sub.state, "ok") != 0)
        fail_msg("receiver: got state %s (%s), want ok", sub.state, sub.detail);
    assert_int_equal(sub.count, unique);
    assert_string_equal(sub.digest, digest);
    icx_listdb_free(&db);
    icx_buf_free(&req);
    icx_buf_free(&next);

    pages_free(&p);
    pages_free(&mem);
    icx_buf_free(&report);
    icx_buf_free(&lines);
    icx_test_rmrf(dir);
    free(dir);
}

static void test_list_pages_refused(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    size_t unique, dups;
    const char *good = url_file(dir, 200, 0, &unique, &dups);
    const char *bad = url_file(dir, 200, 133, &unique, &dups);
    struct pages p = {0};
    icx_translate_result res;
    icx_buf report, payload, errs;
    icx_mapping *m = NULL;
    icx_err err;
    int rc;
    icx_buf_init(&report, 1 << 20);
    icx_buf_init(&payload, 1 << 24);
    icx_buf_init(&errs, 1 << 20);

    /* One invalid row among spilled rows: nothing reaches the sink. */
    assert_int_equal(run_list(&p, &report, &res, &err, bad, 3, 4096, 0, NULL),
                     ICX_EINVAL);
    assert_int_equal(p.n, 0);
    char at[64];
    snprintf(at, sizeof at, ":%u:1:entry.url:", line_of(133));
    assert_non_null(strstr(report.data, at));
    assert_non_null(strstr(report.data, "refused: 1 error in 1 of 200 rows"));
    /* --skip-invalid: the others, and the rejected row named. */
    assert_int_equal(run_list(&p, &report, &res, &err, bad, 3, 4096, 1, NULL), 0);
    assert_true(p.n > 1);
    assert_int_equal(res.rejected, 1);
    snprintf(at, sizeof at, "urls-200-133.txt: rejected rows: %u\n",
             line_of(133));
    assert_non_null(strstr(report.data, at));
    pages_free(&p);

    /* The sink fails on page 2: the translation stops with its error. */
    p.fail_at = 2;
    assert_int_equal(run_list(&p, &report, &res, &err, good, 3, 4096, 0, NULL),
                     ICX_EIO);
    assert_non_null(strstr(err.msg, "disk gone at page 2"));
    pages_free(&p);

    /* No folder for the spill file: a clear error, nothing handed over. */
    assert_int_equal(run_list(&p, &report, &res, &err, good, 3, 4096, 0,
                              "/nonexistent/icx-tmp"), ICX_EIO);
    assert_int_equal(p.n, 0);
    if (strstr(err.msg, "urls-200-0.txt") == NULL ||
        strstr(err.msg, "/nonexistent/icx-tmp") == NULL)
        fail_msg("got \"%s\", want the file and the folder named", err.msg);

    /* The disk refuses the spill file (here the file size limit): a clear
     * error naming the folder, nothing handed over. */
    struct rlimit old, lim;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = run_list(&p, &report, &res, &err, good, 2, 4096, 0, dir);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    if (rc != ICX_EFULL || strstr(err.msg, dir) == NULL ||
        strstr(err.msg, "urls-200-0.txt") == NULL)
        fail_msg("got %d \"%s\", want ICX_EFULL naming the file and %s", rc,
                 err.msg, dir);
    assert_int_equal(p.n, 0);

    /* Pages too small for one entry. */
    assert_int_equal(run_list(&p, &report, &res, &err, good, 0, 600, 0, NULL),
                     ICX_EINVAL);
    assert_non_null(strstr(report.data, "does not fit in a page of 600 bytes"));
    assert_int_equal(p.n, 0);

    /* Without a sink only one page can be returned. */
    assert_int_equal(icx_mapping_load(&m, profile("npa-urls-lines"), &errs,
                                      &err), 0);
    icx_translate_opts o = {.schemas = schemas, .page_bytes = 4096};
    icx_buf_reset(&report);
    assert_int_equal(icx_translate_run(&payload, &res, m, good, &o, &report,
                                       &err), ICX_EINVAL);
    assert_int_equal(payload.len, 0);
    assert_non_null(strstr(report.data, "entries need "));
    o.page_bytes = 0;
    assert_int_equal(icx_translate_run(&payload, &res, m, good, &o, &report,
                                       &err), 0);
    assert_non_null(strstr(payload.data, "<Page>1</Page><PageCount>1</PageCount>"));
    assert_null(strstr(payload.data, "<Cursor>"));
    icx_mapping_free(&m);
    icx_buf_free(&report);
    icx_buf_free(&payload);
    icx_buf_free(&errs);
    icx_test_rmrf(dir);
    free(dir);
}

/* A hash list whose duplicate lies in another run: the same payload as
 * with every row in memory. */
static void test_hash_list_runs(void **state)
{
    (void)state;
    icx_mapping *m = NULL;
    icx_buf errs, a, b, rep;
    icx_err err;
    icx_translate_result res;
    icx_buf_init(&errs, 1 << 20);
    icx_buf_init(&a, 1 << 24);
    icx_buf_init(&b, 1 << 24);
    icx_buf_init(&rep, 1 << 20);
    assert_int_equal(icx_mapping_load(&m, profile("npa-hashes"), &errs, &err), 0);
    icx_translate_opts o = {.schemas = schemas, .now = 1767225600,
                            .session_id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"};
    assert_int_equal(icx_translate_run(&a, &res, m, "hashes.csv", &o, &rep,
                                       &err), 0);
    o.spill_rows = 1;
    assert_int_equal(icx_translate_run(&b, &res, m, "hashes.csv", &o, &rep,
                                       &err), 0);
    assert_int_equal(res.duplicates, 1);
    assert_string_equal(a.data, b.data);
    /* The duplicate is named by its value, as the file writes it. */
    assert_non_null(strstr(rep.data, "hashes.csv:7: duplicate of row 2 "
                                     "(fe1984f7c23760d247eaabc220348599), "
                                     "collapsed"));
    icx_mapping_free(&m);
    icx_buf_free(&errs);
    icx_buf_free(&a);
    icx_buf_free(&b);
    icx_buf_free(&rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profiles_load),
        cmocka_unit_test(test_case_for_partners),
        cmocka_unit_test(test_partner_file_withhold),
        cmocka_unit_test(test_partner_withhold_from_config),
        cmocka_unit_test(test_shift_jis_same_payload),
        cmocka_unit_test(test_bad_rows_all_or_nothing),
        cmocka_unit_test(test_url_list),
        cmocka_unit_test(test_hash_list),
        cmocka_unit_test(test_yaml_records),
        cmocka_unit_test(test_bad_profile),
        cmocka_unit_test(test_hook),
        cmocka_unit_test(test_back),
        cmocka_unit_test(test_back_response),
        cmocka_unit_test(test_list_spilled_pages),
        cmocka_unit_test(test_list_pages_refused),
        cmocka_unit_test(test_hash_list_runs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
