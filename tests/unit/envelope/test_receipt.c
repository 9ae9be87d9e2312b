/*
 * test_receipt.c - receipts: built and signed, verified like any envelope,
 * then read back field by field; what is not a receipt is refused.
 *
 * Keys for PH-NBI (ECDSA, the issuer) are made in a temporary folder.
 * Each table row is a receipt the broker issues (positive, relayed with a
 * Hop, negative with a reason and text that needs escaping); reading the
 * signed envelope must give back exactly what was put in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "envelope.h"
#include "keys.h"
#include "receipt.h"
#include "testutil.h"
#include "trust.h"
#include "util.h"

static char *dir;
static icx_schemas *schemas;
static icx_trust *trust;
static icx_signer *ph;

static int setup(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    assert_int_equal(icx_xmlsig_init(&err), 0);
    dir = icx_test_mkdtemp();
    assert_int_equal(icx_keys_generate("PH-NBI", icx_test_path("%s/ph", dir),
                                       ICX_ALG_ECDSA_P256, 30, &err), 0);
    assert_int_equal(icx_signer_load(&ph, icx_test_path("%s/ph/key.pem", dir),
                                     &err), 0);
    assert_int_equal(icx_trust_new(&trust, &err), 0);
    assert_int_equal(icx_trust_add(trust, "PH-NBI",
                                   icx_test_path("%s/ph/cert.pem", dir), &err), 0);
    if (icx_schemas_load(&schemas, icx_test_path("%s/schemas", icx_test_srcdir()),
                         &err) < 0)
        fail_msg("schemas: %s", err.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    icx_signer_free(&ph);
    icx_trust_free(&trust);
    icx_schemas_free(&schemas);
    icx_test_rmrf(dir);
    free(dir);
    icx_xmlsig_shutdown();
    return 0;
}

static const icx_xml_limits LIMITS = {.max_bytes = 1024 * 1024, .max_depth = 64};

#define DIGEST "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void expect_str(const char *what, const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", what, got, want);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int positive;
        const char *reason, *detail, *hop;
    } cases[] = {
        {"positive, final", 1, "", "", ""},
        {"positive, from a hub", 1, "", "", "INT-ICPO"},
        {"negative", 0, "REPLAY", "MessageId reused with different bytes", ""},
        {"negative, text to escape", 0, "SCHEMA",
         "element <Offence> & 'code' \"X\" > limit", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        icx_receipt r, got;
        icx_err err;
        icx_buf out;
        icx_header h;
        memset(&r, 0, sizeof r);
        r.positive = cases[i].positive;
        snprintf(r.ref_message_id, sizeof r.ref_message_id,
                 "1b4e28ba-2fa1-41d2-883f-0016d3cca42%zu", i);
        snprintf(r.ref_sender, sizeof r.ref_sender, "JP-NPA");
        snprintf(r.digest, sizeof r.digest, "%s", DIGEST);
        icx_time_format(r.received_at, sizeof r.received_at, time(NULL));
        snprintf(r.reason, sizeof r.reason, "%s", cases[i].reason);
        snprintf(r.detail, sizeof r.detail, "%s", cases[i].detail);
        snprintf(r.hop, sizeof r.hop, "%s", cases[i].hop);
        icx_buf_init(&out, 1 << 20);
        icx_err_clear(&err);
        if (icx_receipt_envelope(&out, &r, "PH-NBI", "JP-NPA", schemas, ph,
                                 &err) < 0)
            fail_msg("%s: build: %s", cases[i].name, err.msg);
        icx_verify_policy p = {
            .limits = LIMITS, .schemas = schemas, .trust = icx_trust_get,
            .ctx = trust, .self = "JP-NPA", .created_past_s = 900,
            .created_future_s = 300,
        };
        if (icx_envelope_verify(&h, out.data, out.len, &p, &err) < 0)
            fail_msg("%s: verify: %s", cases[i].name, err.msg);
        expect_str("category", h.category, "receipt");
        expect_str("RefToMessageId header", h.ref_to_message_id,
                   r.ref_message_id);
        if (icx_receipt_read(&got, out.data, out.len, &LIMITS, &err) < 0)
            fail_msg("%s: read: %s", cases[i].name, err.msg);
        if (got.positive != r.positive)
            fail_msg("%s: positive: got %d, want %d", cases[i].name,
                     got.positive, r.positive);
        expect_str("ref_message_id", got.ref_message_id, r.ref_message_id);
        expect_str("ref_sender", got.ref_sender, r.ref_sender);
        expect_str("digest", got.digest, r.digest);
        expect_str("received_at", got.received_at, r.received_at);
        expect_str("reason", got.reason, r.reason);
        expect_str("detail", got.detail, r.detail);
        expect_str("hop", got.hop, r.hop);

        /* The broker's way: read from the tree the verification parsed. */
        icx_xmldoc *tree = NULL;
        icx_receipt from_tree;
        if (icx_envelope_verify_tree(&h, &tree, out.data, out.len, &p,
                                     &err) < 0)
            fail_msg("%s: verify (tree): %s", cases[i].name, err.msg);
        assert_non_null(tree);
        if (icx_receipt_read_tree(&from_tree, tree, &err) < 0)
            fail_msg("%s: read (tree): %s", cases[i].name, err.msg);
        assert_memory_equal(&from_tree, &got, sizeof got);
        icx_xml_free(&tree);

        /* A refused envelope hands out no tree. */
        p.self = "PH-NBI";
        assert_int_equal(icx_envelope_verify_tree(&h, &tree, out.data, out.len,
                                                  &p, &err), ICX_EBADSIG);
        assert_int_equal(err.reason, ICX_REASON_WRONG_RECIPIENT);
        assert_null(tree);
        icx_buf_free(&out);
    }
}

/* A receipt signed with its Status padded by whitespace (" positive",
 * "positive\n") was schema-valid (xs:token collapses it) and then read as
 * negative (the code compares the text as it is): the schema now refuses
 * it, naming Status, before anything is read. */
static void test_status_whitespace(void **state)
{
    (void)state;
    static const char *const padded[] = {
        "<Status> positive</Status>", "<Status>positive\n</Status>",
        "<Status>positive&#9;</Status>", "<Status>\tnegative </Status>",
    };
    icx_receipt r;
    icx_err err;
    icx_buf out, sig;
    memset(&r, 0, sizeof r);
    r.positive = 1;
    snprintf(r.ref_message_id, sizeof r.ref_message_id,
             "1b4e28ba-2fa1-41d2-883f-0016d3cca420");
    snprintf(r.ref_sender, sizeof r.ref_sender, "JP-NPA");
    snprintf(r.digest, sizeof r.digest, "%s", DIGEST);
    icx_time_format(r.received_at, sizeof r.received_at, time(NULL));
    icx_buf_init(&out, 1 << 20);
    icx_buf_init(&sig, 1 << 20);
    icx_err_clear(&err);
    if (icx_receipt_envelope(&out, &r, "PH-NBI", "JP-NPA", schemas, ph,
                             &err) < 0)
        fail_msg("build: %s", err.msg);
    /* The unsigned envelope, Status changed, then signed for real. */
    char *a = strstr(out.data, "<ds:Signature");
    char *b = strstr(out.data, "</ds:Signature>");
    char *st = strstr(out.data, "<Status>positive</Status>");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(st);
    for (size_t i = 0; i < sizeof padded / sizeof padded[0]; i++) {
        icx_buf_reset(&sig);
        size_t pre = (size_t)(st - out.data);
        size_t stlen = strlen("<Status>positive</Status>");
        assert_int_equal(icx_buf_append(&sig, out.data, pre), 0);
        assert_int_equal(icx_buf_puts(&sig, padded[i]), 0);
        assert_int_equal(icx_buf_append(&sig, st + stlen,
                                        (size_t)(a - st) - stlen), 0);
        assert_int_equal(icx_buf_puts(&sig, b + strlen("</ds:Signature>")),
                         0);
        icx_xmldoc *doc = NULL;
        assert_int_equal(icx_xml_parse(&doc, sig.data, sig.len, &LIMITS,
                                       &err), 0);
        assert_int_equal(icx_xmlsig_sign(doc, ph, &err), 0);
        icx_buf_reset(&sig);
        assert_int_equal(icx_xml_serialize(doc, &sig, &err), 0);
        icx_xml_free(&doc);
        icx_verify_policy p = {
            .limits = LIMITS, .schemas = schemas, .trust = icx_trust_get,
            .ctx = trust, .self = "JP-NPA", .created_past_s = 900,
            .created_future_s = 300,
        };
        icx_header h;
        icx_err_clear(&err);
        int rc = icx_envelope_verify(&h, sig.data, sig.len, &p, &err);
        if (rc != ICX_EBADSIG || err.reason != ICX_REASON_SCHEMA ||
            strstr(err.msg, "Status") == NULL)
            fail_msg("%s: got %s %s (%s), want SCHEMA naming Status",
                     padded[i], icx_rc_name(rc), icx_reason_name(err.reason),
                     err.msg);
    }
    icx_buf_free(&sig);
    icx_buf_free(&out);
}

/* An envelope whose payload is not a Receipt, and bytes that are not an
 * envelope, are refused with the reason named. */
/* A refused envelope's MessageId that is not a UUID (a path, any text,
 * upper case) is answered by digest: the receipt carries the nil UUID,
 * in the header and in the payload, and verifies like any other. */
static void test_not_an_id(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "../../etc/passwd", "not-a-uuid", "x y",
        "1B4E28BA-2FA1-41D2-883F-0016D3CCA427",
        "1b4e28ba-2fa1-41d2-883f-0016d3cca4270", "",
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        icx_receipt r, got;
        icx_err err;
        icx_buf out;
        icx_header h;
        memset(&r, 0, sizeof r);
        snprintf(r.ref_message_id, sizeof r.ref_message_id, "%s", ids[i]);
        snprintf(r.ref_sender, sizeof r.ref_sender, "JP-NPA");
        snprintf(r.digest, sizeof r.digest, "%s", DIGEST);
        icx_time_format(r.received_at, sizeof r.received_at, time(NULL));
        snprintf(r.reason, sizeof r.reason, "SCHEMA");
        snprintf(r.detail, sizeof r.detail, "not valid against the schema");
        icx_buf_init(&out, 1 << 20);
        icx_err_clear(&err);
        if (icx_receipt_envelope(&out, &r, "PH-NBI", "JP-NPA", schemas, ph,
                                 &err) < 0)
            fail_msg("\"%s\": build: got \"%s\", want a receipt", ids[i],
                     err.msg);
        icx_verify_policy p = {
            .limits = LIMITS, .schemas = schemas, .trust = icx_trust_get,
            .ctx = trust, .self = "JP-NPA", .created_past_s = 900,
            .created_future_s = 300,
        };
        if (icx_envelope_verify(&h, out.data, out.len, &p, &err) < 0)
            fail_msg("\"%s\": verify: %s", ids[i], err.msg);
        expect_str("RefToMessageId header", h.ref_to_message_id,
                   ICX_RECEIPT_NIL_ID);
        if (icx_receipt_read(&got, out.data, out.len, &LIMITS, &err) < 0)
            fail_msg("\"%s\": read: %s", ids[i], err.msg);
        expect_str("ref_message_id", got.ref_message_id, ICX_RECEIPT_NIL_ID);
        expect_str("digest", got.digest, DIGEST);
        expect_str("reason", got.reason, "SCHEMA");
        icx_buf_free(&out);
    }
}

/* The MessageId shape, exactly the schemas' pattern. */
static void test_uuid_valid(void **state)
{
    (void)state;
    static const struct { const char *id; int want; } cases[] = {
        {"1b4e28ba-2fa1-41d2-883f-0016d3cca427", 1},
        {ICX_RECEIPT_NIL_ID, 1},
        {"1B4E28BA-2FA1-41D2-883F-0016D3CCA427", 0},
        {"1b4e28ba-2fa1-41d2-883f-0016d3cca42", 0},
        {"1b4e28ba-2fa1-41d2-883f-0016d3cca4270", 0},
        {"1b4e28ba2fa1-41d2-883f-0016d3cca427-", 0},
        {"1b4e28ba-2fa1-41d2-883f-0016d3cca42g", 0},
        {"../../etc/passwd", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (icx_uuid_valid(cases[i].id) != cases[i].want)
            fail_msg("\"%s\": got %d, want %d", cases[i].id,
                     icx_uuid_valid(cases[i].id), cases[i].want);
}

static void test_refusals(void **state)
{
    (void)state;
    icx_err err;
    icx_buf out;
    icx_header h;
    char *payload = NULL;
    size_t payload_len = 0;
    icx_receipt got;
    icx_err_clear(&err);
    if (icx_file_read(&payload, &payload_len,
                      icx_test_path("%s/docs/samples/case-referral-payload.xml",
                                    icx_test_srcdir()), 1 << 20, &err) < 0)
        fail_msg("payload: %s", err.msg);
    memset(&h, 0, sizeof h);
    snprintf(h.sender, sizeof h.sender, "PH-NBI");
    snprintf(h.recipient, sizeof h.recipient, "JP-NPA");
    snprintf(h.category, sizeof h.category, "case-referral");
    snprintf(h.tlp, sizeof h.tlp, "AMBER");
    snprintf(h.hcode, sizeof h.hcode, "H2");
    snprintf(h.legal_basis, sizeof h.legal_basis, "MLAT JP-PH art. 3");
    snprintf(h.retain_until, sizeof h.retain_until, "2031-12-31");
    assert_int_equal(icx_header_stamp(&h, time(NULL), &err), 0);
    icx_buf_init(&out, 1 << 20);
    if (icx_envelope_build_signed(&out, &h, payload, payload_len, schemas, ph,
                                  &err) < 0)
        fail_msg("build: %s", err.msg);
    static const struct {
        const char *name;
        const char *xml; /* NULL: the signed case referral */
        const char *want;
    } cases[] = {
        {"case referral", NULL, "payload is not a Receipt"},
        {"a bare Receipt", "<Receipt xmlns=\"urn:icx:receipt:1\"><Status>"
                           "positive</Status></Receipt>",
         "envelope has no payload"},
        {"an envelope without Payload",
         "<Envelope xmlns=\"urn:icx:envelope:1\"><Header/></Envelope>",
         "envelope has no payload"},
        {"not XML", "receipt", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *xml = cases[i].xml ? cases[i].xml : out.data;
        size_t len = cases[i].xml ? strlen(cases[i].xml) : out.len;
        icx_err_clear(&err);
        int rc = icx_receipt_read(&got, xml, len, &LIMITS, &err);
        if (rc >= 0)
            fail_msg("%s: got %d, want a refusal", cases[i].name, rc);
        if (cases[i].want != NULL && strstr(err.msg, cases[i].want) == NULL)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name, err.msg,
                     cases[i].want);
    }
    icx_buf_free(&out);
    free(payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_not_an_id),
        cmocka_unit_test(test_uuid_valid),
        cmocka_unit_test(test_status_whitespace),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
