/*
 * test_envelope.c - envelope build, sign and the strict verification policy.
 *
 * Keys for JP-NPA (RSA), PH-NBI (ECDSA) and an outsider XX-EVIL are made in
 * a temporary folder.  Every hostile case starts from a correctly signed
 * envelope and changes it the way an attacker would; each must be refused
 * with its own reason.
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
#include "testutil.h"
#include "trust.h"
#include "util.h"
#include "../xmlsec_ref.h"

#include <sys/stat.h>

#include <libxml/tree.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

static char *dir;
static icx_schemas *schemas;
static icx_trust *trust;
static icx_signer *jp, *ph, *evil;
static char *payload;
static size_t payload_len;

static int setup(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    assert_int_equal(icx_xmlsig_init(&err), 0);
    dir = icx_test_mkdtemp();
    assert_int_equal(icx_keys_generate("JP-NPA", icx_test_path("%s/jp", dir),
                                       ICX_ALG_RSA2048, 30, &err), 0);
    assert_int_equal(icx_keys_generate("PH-NBI", icx_test_path("%s/ph", dir),
                                       ICX_ALG_ECDSA_P256, 30, &err), 0);
    assert_int_equal(icx_keys_generate("XX-EVIL", icx_test_path("%s/evil", dir),
                                       ICX_ALG_RSA2048, 30, &err), 0);
    assert_int_equal(icx_signer_load(&jp, icx_test_path("%s/jp/key.pem", dir), &err), 0);
    assert_int_equal(icx_signer_load(&ph, icx_test_path("%s/ph/key.pem", dir), &err), 0);
    assert_int_equal(icx_signer_load(&evil, icx_test_path("%s/evil/key.pem", dir), &err), 0);
    assert_int_equal(icx_trust_new(&trust, &err), 0);
    assert_int_equal(icx_trust_add(trust, "JP-NPA", icx_test_path("%s/jp/cert.pem", dir), &err), 0);
    assert_int_equal(icx_trust_add(trust, "PH-NBI", icx_test_path("%s/ph/cert.pem", dir), &err), 0);
    int rc = icx_schemas_load(&schemas, icx_test_path("%s/schemas", icx_test_srcdir()), &err);
    if (rc < 0)
        fail_msg("schemas: %s", err.msg);
    rc = icx_file_read(&payload, &payload_len,
                       icx_test_path("%s/docs/samples/case-referral-payload.xml",
                                     icx_test_srcdir()), 1 << 20, &err);
    if (rc < 0)
        fail_msg("payload: %s", err.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    icx_signer_free(&jp);
    icx_signer_free(&ph);
    icx_signer_free(&evil);
    icx_trust_free(&trust);
    icx_schemas_free(&schemas);
    free(payload);
    icx_test_rmrf(dir);
    free(dir);
    icx_xmlsig_shutdown();
    return 0;
}

static void header(icx_header *h, const char *from, const char *to)
{
    icx_err err;
    memset(h, 0, sizeof *h);
    snprintf(h->sender, sizeof h->sender, "%s", from);
    snprintf(h->recipient, sizeof h->recipient, "%s", to);
    snprintf(h->category, sizeof h->category, "case-referral");
    snprintf(h->tlp, sizeof h->tlp, "AMBER");
    snprintf(h->hcode, sizeof h->hcode, "H2");
    snprintf(h->legal_basis, sizeof h->legal_basis, "MLAT JP-PH art. 3");
    snprintf(h->retain_until, sizeof h->retain_until, "2031-12-31");
    assert_int_equal(icx_header_stamp(h, time(NULL), &err), 0);
}

/* A signed envelope from -> to, signed by signer; caller frees. */
static char *signed_env(const icx_header *h, const icx_signer *signer)
{
    icx_err err;
    icx_buf unsigned_env, out;
    icx_err_clear(&err);
    icx_buf_init(&unsigned_env, 1 << 20);
    icx_buf_init(&out, 1 << 20);
    int rc = icx_envelope_build(&unsigned_env, h, payload, payload_len, schemas, &err);
    if (rc < 0)
        fail_msg("build: %s", err.msg);
    rc = icx_envelope_sign(&out, unsigned_env.data, unsigned_env.len, schemas, signer, &err);
    if (rc < 0)
        fail_msg("sign: %s", err.msg);
    icx_buf_free(&unsigned_env);
    return icx_buf_steal(&out, NULL);
}

static char *make(const char *from, const char *to, const icx_signer *s)
{
    icx_header h;
    header(&h, from, to);
    return signed_env(&h, s);
}

static int verify_as(const char *self, const char *xml, size_t len,
                     icx_header *h, icx_err *err)
{
    icx_verify_policy p = {
        .limits = {.max_bytes = 64 * 1024, .max_depth = 64}, .schemas = schemas, .trust = icx_trust_get,
        .ctx = trust, .self = self, .created_past_s = 900,
        .created_future_s = 300,
    };
    icx_err_clear(err);
    return icx_envelope_verify(h, xml, len, &p, err);
}

/* Replaces the first occurrence of from by to; asserts it was found. */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    if (p == NULL)
        fail_msg("mutation anchor \"%s\" not found", from);
    size_t n = strlen(s) - strlen(from) + strlen(to);
    char *r = malloc(n + 1);
    size_t pre = (size_t)(p - s);
    memcpy(r, s, pre);
    memcpy(r + pre, to, strlen(to));
    memcpy(r + pre + strlen(to), p + strlen(from), strlen(p + strlen(from)) + 1);
    return r;
}

/* The <ds:Signature ...>...</ds:Signature> block of s, malloc'ed. */
static char *sig_block(const char *s)
{
    const char *a = strstr(s, "<ds:Signature");
    const char *b = strstr(s, "</ds:Signature>");
    assert_non_null(a);
    assert_non_null(b);
    b += strlen("</ds:Signature>");
    char *r = malloc((size_t)(b - a) + 1);
    memcpy(r, a, (size_t)(b - a));
    r[b - a] = '\0';
    return r;
}

static void expect_reason(const char *name, const char *xml, size_t len,
                          int want)
{
    icx_header h;
    icx_err err;
    int rc = verify_as("PH-NBI", xml, len, &h, &err);
    if (rc != ICX_EBADSIG || err.reason != want)
        fail_msg("%s: got rc %s reason %s (%s), want %s", name,
                 icx_rc_name(rc), icx_reason_name(err.reason), err.msg,
                 icx_reason_name(want));
}

static void test_sign_verify_rsa_and_ecdsa(void **state)
{
    (void)state;
    icx_header h;
    icx_err err;
    char *a = make("JP-NPA", "PH-NBI", jp);
    int rc = verify_as("PH-NBI", a, strlen(a), &h, &err);
    if (rc != 0)
        fail_msg("RSA envelope: got %s (%s), want ok", icx_reason_name(err.reason), err.msg);
    assert_string_equal(h.sender, "JP-NPA");
    assert_string_equal(h.recipient, "PH-NBI");
    assert_string_equal(h.category, "case-referral");
    assert_string_equal(h.payload_name, "Referral");
    assert_non_null(strstr(a, "rsa-sha256"));
    char *b = make("PH-NBI", "JP-NPA", ph);
    rc = verify_as("JP-NPA", b, strlen(b), &h, &err);
    if (rc != 0)
        fail_msg("ECDSA envelope: got %s (%s), want ok", icx_reason_name(err.reason), err.msg);
    assert_non_null(strstr(b, "ecdsa-sha256"));
    assert_null(strstr(b, "KeyInfo"));
    assert_null(strstr(b, "InclusiveNamespaces"));
    free(a);
    free(b);
}

static char *serialized(icx_xmldoc *doc)
{
    icx_buf b;
    icx_err err;
    icx_buf_init(&b, 1 << 20);
    if (icx_xml_serialize(doc, &b, &err) < 0)
        fail_msg("serialize: %s", err.msg);
    return icx_buf_steal(&b, NULL);
}

/* The text between open and close, without line breaks (xmlsec breaks
 * base64 lines; ICX does not); caller frees. */
static char *between(const char *s, const char *open, const char *close)
{
    const char *a = strstr(s, open), *b = a ? strstr(a, close) : NULL;
    if (b == NULL)
        fail_msg("no %s in the signed envelope", open);
    a += strlen(open);
    char *out = malloc((size_t)(b - a) + 1);
    size_t n = 0;
    assert_non_null(out);
    for (; a < b; a++)
        if (*a != '\n' && *a != '\r')
            out[n++] = *a;
    out[n] = '\0';
    return out;
}

/* ICX makes its signature itself (xmlsig.c); xmlsec, signing the same
 * template over the same document, must get the same digest, and for RSA
 * (PKCS #1 v1.5 is deterministic) the same bytes altogether; xmlsec's
 * library verifies both (the xmlsec1 program does in xmlsec1_interop). */
static void test_signature_matches_xmlsec(void **state)
{
    (void)state;
    static const struct { const char *who; int ecdsa; } cases[] = {
        {"jp", 0}, {"ph", 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        icx_header h;
        icx_err err;
        icx_buf env;
        icx_buf_init(&env, 1 << 20);
        header(&h, cases[c].ecdsa ? "PH-NBI" : "JP-NPA",
               cases[c].ecdsa ? "JP-NPA" : "PH-NBI");
        if (icx_envelope_build(&env, &h, payload, payload_len, schemas,
                               &err) < 0)
            fail_msg("build: %s", err.msg);
        icx_xmldoc *mine = NULL, *theirs = NULL;
        icx_xml_limits lim = {.max_bytes = 1 << 20, .max_depth = 64};
        assert_int_equal(icx_xml_parse(&mine, env.data, env.len, &lim, &err), 0);
        assert_int_equal(icx_xml_parse(&theirs, env.data, env.len, &lim, &err), 0);
        if (icx_xmlsig_sign(mine, cases[c].ecdsa ? ph : jp, &err) < 0)
            fail_msg("icx sign: %s", err.msg);
        assert_int_equal(icx_xmlsig_add_template(theirs, cases[c].ecdsa, &err), 0);
        xmlSecKeyPtr key = xmlSecCryptoAppKeyLoad(
            icx_test_path("%s/%s/key.pem", dir, cases[c].who),
            xmlSecKeyDataFormatPem, NULL, NULL, NULL);
        xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
        assert_non_null(key);
        assert_non_null(ctx);
        ctx->signKey = key;
        xmlNodePtr sig = xmlSecFindNode(
            xmlDocGetRootElement(icx_xml_raw(theirs)), xmlSecNodeSignature,
            xmlSecDSigNs);
        assert_non_null(sig);
        assert_int_equal(xmlSecDSigCtxSign(ctx, sig), 0);
        xmlSecDSigCtxDestroy(ctx);
        char *a = serialized(mine), *b = serialized(theirs);
        char *da = between(a, "<ds:DigestValue>", "</ds:DigestValue>");
        char *db = between(b, "<ds:DigestValue>", "</ds:DigestValue>");
        assert_string_equal(da, db);
        char *sa = between(a, "<ds:SignatureValue>", "</ds:SignatureValue>");
        char *sb = between(b, "<ds:SignatureValue>", "</ds:SignatureValue>");
        if (!cases[c].ecdsa)
            assert_string_equal(sa, sb);
        assert_int_equal(strlen(sa), strlen(sb));
        /* Outside the two values the documents are the same bytes. */
        const char *end_a = strstr(a, "</ds:SignatureValue>");
        const char *end_b = strstr(b, "</ds:SignatureValue>");
        assert_string_equal(end_a, end_b);
        assert_int_equal(strstr(a, "<ds:DigestValue>") - a,
                         strstr(b, "<ds:DigestValue>") - b);
        assert_memory_equal(a, b, (size_t)(strstr(a, "<ds:DigestValue>") - a));
        free(sa);
        free(sb);
        icx_header got;
        const char *self = cases[c].ecdsa ? "JP-NPA" : "PH-NBI";
        if (verify_as(self, a, strlen(a), &got, &err) != 0)
            fail_msg("%s: ICX's signature does not verify: %s",
                     cases[c].who, err.msg);
        if (verify_as(self, b, strlen(b), &got, &err) != 0)
            fail_msg("%s: xmlsec's signature does not verify: %s",
                     cases[c].who, err.msg);
        free(da);
        free(db);
        free(a);
        free(b);
        icx_xml_free(&mine);
        icx_xml_free(&theirs);
        icx_buf_free(&env);
    }
}

/* Every occurrence of from replaced by to; caller frees. */
static char *replace_all(const char *s, const char *from, const char *to)
{
    char *r = strdup(s);
    for (const char *p; (p = strstr(r, from)) != NULL;) {
        char *next = replace(r, from, to);
        free(r);
        r = next;
        (void)p;
    }
    return r;
}

/* xmlsec's verdict on xml with the key of cert, hardened as the
 * differential test runs it (tests/xmlsec_ref.h): 1 verified, 0 not. */
static int xmlsec_verifies(const char *xml, const char *cert)
{
    xmlSecKeyPtr key = xmlsec_ref_key(cert);
    assert_non_null(key);
    int ok = xmlsec_ref_verify(xml, strlen(xml), key);
    xmlSecKeyDestroy(key);
    assert_true(ok >= 0);
    return ok;
}

/* ICX's own verdict (profile and signature, no header policy). */
static int icx_verifies(const char *xml, const char *cert, icx_err *err)
{
    icx_xml_limits lim = {.max_bytes = 1 << 20, .max_depth = 64};
    icx_xmldoc *doc = NULL;
    icx_verkey *key = NULL;
    assert_int_equal(icx_verkey_load(&key, cert, err), 0);
    int ok = icx_xml_parse(&doc, xml, strlen(xml), &lim, err) == 0 &&
             icx_xmlsig_verify(doc, key, err) == 0;
    icx_xml_free(&doc);
    icx_verkey_free(&key);
    return ok;
}

/* ICX verifies its one signature shape itself (xmlsig.c); on documents
 * within the profile its verdict must be xmlsec's: accepted where the
 * canonical form is unchanged (attribute order, empty-element form,
 * redundant declarations, character references, whitespace inside
 * base64), refused wherever a signed byte or the signature changed. */
static void test_verifier_agrees_with_xmlsec(void **state)
{
    (void)state;
    static const struct {
        const char *name, *from, *to;
        int all, ok;
    } cases[] = {
        {"unchanged", "<Sender>", "<Sender>", 0, 1},
        {"attributes reordered", "tlp=\"AMBER\" code=\"H2\"",
         "code=\"H2\"  tlp=\"AMBER\"", 0, 1},
        {"empty-element form", "retainUntil=\"2031-12-31\"/>",
         "retainUntil=\"2031-12-31\"></Handling>", 0, 1},
        {"redundant default namespace", "<Header>",
         "<Header xmlns=\"urn:icx:envelope:1\">", 0, 1},
        {"unused prefix declared", "<Header>",
         "<Header xmlns:u=\"urn:unused\">", 0, 1},
        {"character reference", "<Category>c", "<Category>&#99;", 0, 1},
        {"line breaks in SignatureValue", "<ds:SignatureValue>",
         "<ds:SignatureValue>\n  ", 0, 1},
        {"payload text", "<CaseReference>JP", "<CaseReference>XP", 0, 0},
        {"whitespace after the Signature", "</ds:Signature>",
         "</ds:Signature>\n", 0, 0},
        {"Id added to Reference", "<ds:Reference URI=\"\">",
         "<ds:Reference URI=\"\" Id=\"r\">", 0, 0},
        {"ds prefix renamed", "ds:", "dsig:", 1, 0},
        {"DigestValue", "<ds:DigestValue>", "<ds:DigestValue>AAAA", 0, 0},
        {"SignatureValue", "<ds:SignatureValue>", "<ds:SignatureValue>AAAA",
         0, 0},
    };
    static const struct { const char *from, *to, *cert; } who[] = {
        {"JP-NPA", "PH-NBI", "jp"}, {"PH-NBI", "JP-NPA", "ph"},
    };
    for (size_t w = 0; w < 2; w++) {
        const icx_signer *s = w == 0 ? jp : ph;
        char *good = make(who[w].from, who[w].to, s);
        const char *cert = icx_test_path("%s/%s/cert.pem", dir, who[w].cert);
        char certpath[4096];
        snprintf(certpath, sizeof certpath, "%s", cert);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char *m;
            if (cases[i].all) {
                char *t = replace_all(good, cases[i].from, cases[i].to);
                m = replace_all(t, "xmlns:ds=", "xmlns:dsig=");
                free(t);
            } else {
                m = replace(good, cases[i].from, cases[i].to);
            }
            icx_err err;
            icx_err_clear(&err);
            int mine = icx_verifies(m, certpath, &err);
            int theirs = xmlsec_verifies(m, certpath);
            if (mine != cases[i].ok || theirs != cases[i].ok)
                fail_msg("%s, %s: ICX %s (%s), xmlsec %s, want %s",
                         who[w].cert, cases[i].name,
                         mine ? "verified" : "refused", err.msg,
                         theirs ? "verified" : "refused",
                         cases[i].ok ? "verified" : "refused");
            free(m);
        }
        free(good);
    }
}

/* An unsigned envelope signed by xmlsec with other hashes of the profile
 * (SHA-384, SHA-512); malloc'ed. */
static char *xmlsec_signed_edit(const char *who, int ecdsa,
                                xmlSecTransformId sig_alg,
                                xmlSecTransformId digest_alg,
                                const char *from, const char *to);

static char *xmlsec_signed(const char *who, int ecdsa, xmlSecTransformId sig_alg,
                           xmlSecTransformId digest_alg)
{
    return xmlsec_signed_edit(who, ecdsa, sig_alg, digest_alg, NULL, NULL);
}

/* The same with the unsigned envelope's text changed from -> to first
 * (none when from is NULL). */
static char *xmlsec_signed_edit(const char *who, int ecdsa,
                                xmlSecTransformId sig_alg,
                                xmlSecTransformId digest_alg,
                                const char *from, const char *to)
{
    icx_header h;
    icx_err err;
    icx_buf env;
    icx_buf_init(&env, 1 << 20);
    header(&h, ecdsa ? "PH-NBI" : "JP-NPA", ecdsa ? "JP-NPA" : "PH-NBI");
    assert_int_equal(icx_envelope_build(&env, &h, payload, payload_len, schemas,
                                        &err), 0);
    icx_xml_limits lim = {.max_bytes = 1 << 20, .max_depth = 64};
    icx_xmldoc *doc = NULL;
    char *edited = from != NULL ? replace(env.data, from, to) : NULL;
    if (edited != NULL) {
        icx_buf_reset(&env);
        assert_int_equal(icx_buf_puts(&env, edited), 0);
        free(edited);
    }
    assert_int_equal(icx_xml_parse(&doc, env.data, env.len, &lim, &err), 0);
    xmlDocPtr d = icx_xml_raw(doc);
    xmlNodePtr sig = xmlSecTmplSignatureCreateNsPref(
        d, xmlSecTransformExclC14NId, sig_alg, NULL, BAD_CAST "ds");
    assert_non_null(sig);
    xmlAddChild(xmlDocGetRootElement(d), sig);
    xmlNodePtr ref = xmlSecTmplSignatureAddReference(sig, digest_alg, NULL,
                                                     BAD_CAST "", NULL);
    assert_non_null(ref);
    assert_non_null(xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId));
    assert_non_null(xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId));
    xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
    assert_non_null(ctx);
    ctx->signKey = xmlSecCryptoAppKeyLoad(
        icx_test_path("%s/%s/key.pem", dir, who), xmlSecKeyDataFormatPem,
        NULL, NULL, NULL);
    assert_non_null(ctx->signKey);
    assert_int_equal(xmlSecDSigCtxSign(ctx, sig), 0);
    xmlSecDSigCtxDestroy(ctx);
    char *out = serialized(doc);
    icx_xml_free(&doc);
    icx_buf_free(&env);
    return out;
}

/* The other hashes the profile allows go through the same two steps:
 * xmlsec signs with RSA-SHA512 over a SHA-384 digest and ECDSA-SHA384
 * over SHA-512; ICX verifies, and refuses once a signed byte changes. */
static void test_verifier_other_hashes(void **state)
{
    (void)state;
    static const struct { const char *who; int ecdsa; } cases[] = {
        {"jp", 0}, {"ph", 1},
    };
    for (size_t c = 0; c < 2; c++) {
        char *xml = xmlsec_signed(
            cases[c].who, cases[c].ecdsa,
            cases[c].ecdsa ? xmlSecTransformEcdsaSha384Id
                           : xmlSecTransformRsaSha512Id,
            cases[c].ecdsa ? xmlSecTransformSha512Id : xmlSecTransformSha384Id);
        assert_non_null(strstr(xml, cases[c].ecdsa ? "ecdsa-sha384" : "rsa-sha512"));
        char cert[4096];
        snprintf(cert, sizeof cert, "%s",
                 icx_test_path("%s/%s/cert.pem", dir, cases[c].who));
        icx_err err;
        icx_err_clear(&err);
        if (!icx_verifies(xml, cert, &err))
            fail_msg("%s: refused: %s", cases[c].who, err.msg);
        char *bad = replace(xml, "<CaseReference>JP", "<CaseReference>XP");
        assert_false(icx_verifies(bad, cert, &err));
        assert_int_equal(err.reason, ICX_REASON_SIG_INVALID);
        assert_false(xmlsec_verifies(bad, cert));
        free(bad);
        free(xml);
    }
}

/* h built and signed by s in one pass into out, then verified as self
 * into *got; either failing fails the test. */
static void signed_and_verified(icx_buf *out, const icx_header *h,
                                const icx_signer *s, const char *self,
                                icx_header *got)
{
    icx_err err;
    int rc = icx_envelope_build_signed(out, h, payload, payload_len, schemas,
                                       s, &err);
    if (rc != 0)
        fail_msg("build_signed: got %s (%s), want ok", icx_rc_name(rc),
                 err.msg);
    rc = verify_as(self, out->data, out->len, got, &err);
    if (rc != 0)
        fail_msg("verify: got %s (%s), want ok", icx_reason_name(err.reason),
                 err.msg);
}

static void test_build_signed_in_one_pass(void **state)
{
    (void)state;
    icx_header h, got;
    icx_err err;
    icx_buf out;
    icx_buf_init(&out, 1 << 20);
    header(&h, "PH-NBI", "JP-NPA");
    signed_and_verified(&out, &h, ph, "JP-NPA", &got);
    assert_string_equal(got.message_id, h.message_id);
    /* An invalid header is refused before anything is signed. */
    icx_buf_reset(&out);
    snprintf(h.hcode, sizeof h.hcode, "H9");
    int rc = icx_envelope_build_signed(&out, &h, payload, payload_len, schemas, ph, &err);
    assert_int_equal(rc, ICX_EINVAL);
    assert_int_equal(out.len, 0);
    icx_buf_free(&out);
}

/* Two steps with one request for several signatures (what a worker
 * does) make the same envelopes as one pass: byte for byte with RSA
 * (deterministic), verified with ECDSA; a wrong signature value in the
 * batch is caught by the verifier, not passed on silently. */
static void test_prepare_batch_finish(void **state)
{
    (void)state;
    const icx_signer *signers[2] = {jp, ph};
    const char *from[2] = {"JP-NPA", "PH-NBI"}, *to[2] = {"PH-NBI", "JP-NPA"};
    for (int k = 0; k < 2; k++) {
        enum { N = ICX_SIGN_BATCH };
        icx_header h[N], got;
        icx_envelope_pending pend[N];
        unsigned char digests[N * ICX_SIGN_DIGEST], sigs[N * ICX_SIG_MAX];
        size_t siglen = 0;
        icx_err err;
        icx_err_clear(&err);
        for (int i = 0; i < N; i++) {
            header(&h[i], from[k], to[k]);
            memset(&pend[i], 0, sizeof pend[i]);
            assert_int_equal(icx_envelope_prepare(&pend[i], &h[i], payload,
                                                  payload_len, 1 << 20,
                                                  schemas,
                                                  icx_signer_ecdsa(signers[k]),
                                                  &err), 0);
            memcpy(digests + i * ICX_SIGN_DIGEST, pend[i].digest,
                   ICX_SIGN_DIGEST);
        }
        assert_int_equal(icx_signer_sign_digests(sigs, &siglen, signers[k],
                                                 digests, N, &err), 0);
        assert_int_equal(siglen, k == 0 ? 256 : 64);
        if (k == 1) /* one ECDSA signature changed */
            sigs[3 * ICX_SIG_MAX + 5] ^= 0x01;
        for (int i = 0; i < N; i++) {
            icx_buf two, one;
            icx_buf_init(&two, 1 << 20);
            icx_buf_init(&one, 1 << 20);
            assert_int_equal(icx_envelope_finish(&two, &pend[i],
                                                 sigs + i * ICX_SIG_MAX,
                                                 siglen, &err), 0);
            assert_null(pend[i].doc); /* finish released it */
            int rc = verify_as(to[k], two.data, two.len, &got, &err);
            if (k == 1 && i == 3) {
                assert_int_equal(rc, ICX_EBADSIG);
                assert_int_equal(err.reason, ICX_REASON_SIG_INVALID);
            } else if (rc != 0) {
                fail_msg("envelope %d of the batch: got %s, want ok", i,
                         err.msg);
            }
            if (k == 0) {
                assert_int_equal(icx_envelope_build_signed(&one, &h[i],
                                                           payload,
                                                           payload_len,
                                                           schemas, jp,
                                                           &err), 0);
                assert_int_equal(one.len, two.len);
                assert_memory_equal(one.data, two.data, one.len);
            }
            icx_buf_free(&one);
            icx_buf_free(&two);
        }
        /* Outside 1..ICX_SIGN_BATCH: refused, nothing signed. */
        assert_int_equal(icx_signer_sign_digests(sigs, &siglen, signers[k],
                                                 digests, 0, &err),
                         ICX_EINVAL);
        assert_int_equal(icx_signer_sign_digests(sigs, &siglen, signers[k],
                                                 digests, N + 1, &err),
                         ICX_EINVAL);
    }
    /* Nothing prepared: nothing to finish. */
    icx_envelope_pending none = {0};
    icx_buf out;
    icx_err err;
    unsigned char sig[64] = {0};
    icx_buf_init(&out, 1 << 20);
    assert_int_equal(icx_envelope_finish(&out, &none, sig, sizeof sig, &err),
                     ICX_EINVAL);
    assert_int_equal(out.len, 0);
    icx_buf_free(&out);
}

/* A signed envelope larger than the caller's buffer limit is refused with
 * the limit named, and the buffer keeps what it held before.  The limit
 * lets the unsigned envelope in (it bounds the parse too) but not the
 * signature added to it. */
static void test_output_limit(void **state)
{
    (void)state;
    icx_header h;
    icx_err err;
    icx_buf unsigned_env, out;
    icx_err_clear(&err);
    header(&h, "PH-NBI", "JP-NPA");
    icx_buf_init(&unsigned_env, 1 << 20);
    assert_int_equal(icx_envelope_build(&unsigned_env, &h, payload,
                                        payload_len, schemas, &err), ICX_OK);
    size_t max = unsigned_env.len + 100;
    icx_buf_init(&out, max);
    assert_int_equal(icx_buf_puts(&out, "kept"), ICX_OK);
    int rc = icx_envelope_sign(&out, unsigned_env.data, unsigned_env.len,
                               schemas, ph, &err);
    char want[64];
    snprintf(want, sizeof want, "exceeds %zu bytes", max);
    if (rc != ICX_EFULL || strstr(err.msg, want) == NULL)
        fail_msg("got %s (%s), want ICX_EFULL naming the limit",
                 icx_rc_name(rc), err.msg);
    assert_int_equal(out.len, 4);
    assert_string_equal(out.data, "kept");
    icx_buf_free(&out);
    icx_buf_free(&unsigned_env);
}

/* The namespace declarations of the Signature are checked like those of
 * the signed content: a relative namespace name added to a valid
 * envelope on ds:Signature, SignedInfo, SignatureValue or KeyInfo (or in
 * the content) is refused as NAMESPACE_NAME, as libxml2's c14n refuses
 * the document and so xmlsec; the same declaration with an absolute name
 * changes nothing that is signed, and verifies. */
static void test_relative_namespace_in_signature(void **state)
{
    (void)state;
    static const struct {
        const char *where, *from, *to; /* to: %s for the declaration */
    } cases[] = {
        {"ds:Signature", "<ds:Signature ", "<ds:Signature %s "},
        {"ds:SignedInfo", "<ds:SignedInfo>", "<ds:SignedInfo %s>"},
        {"ds:CanonicalizationMethod", "<ds:CanonicalizationMethod ",
         "<ds:CanonicalizationMethod %s "},
        {"ds:SignatureValue", "<ds:SignatureValue>", "<ds:SignatureValue %s>"},
        {"ds:KeyInfo", "</ds:SignatureValue>",
         "</ds:SignatureValue><ds:KeyInfo %s><ds:KeyName>JP-NPA</ds:KeyName>"
         "</ds:KeyInfo>"},
        {"ds:KeyName", "</ds:SignatureValue>",
         "</ds:SignatureValue><ds:KeyInfo><ds:KeyName %s>JP-NPA</ds:KeyName>"
         "</ds:KeyInfo>"},
        {"Header", "<Header>", "<Header %s>"},
    };
    static const char *const names[] = {"rel", "../x", "#frag"};
    char *good = make("JP-NPA", "PH-NBI", jp);
    char cert[4096];
    snprintf(cert, sizeof cert, "%s", icx_test_path("%s/jp/cert.pem", dir));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char to[512], decl[64], what[128];
        snprintf(decl, sizeof decl, "xmlns:r=\"%s\"", "urn:absolute");
        snprintf(to, sizeof to, cases[i].to, decl);
        char *ok = replace(good, cases[i].from, to);
        icx_err err;
        icx_err_clear(&err);
        if (!icx_verifies(ok, cert, &err))
            fail_msg("%s with an absolute name: refused (%s), want verified",
                     cases[i].where, err.msg);
        free(ok);
        for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
            snprintf(decl, sizeof decl, "xmlns:r=\"%s\"", names[n]);
            snprintf(to, sizeof to, cases[i].to, decl);
            snprintf(what, sizeof what, "%s declaring \"%s\"",
                     cases[i].where, names[n]);
            char *bad = replace(good, cases[i].from, to);
            expect_reason(what, bad, strlen(bad), ICX_REASON_NAMESPACE_NAME);
            icx_header h;
            verify_as("PH-NBI", bad, strlen(bad), &h, &err);
            if (strstr(err.msg, names[n]) == NULL)
                fail_msg("%s: \"%s\" does not name the namespace", what,
                         err.msg);
            assert_false(xmlsec_verifies(bad, cert));
            free(bad);
        }
    }
    free(good);
}

/* A namespace name with &, which canonical forms write differently
 * (libxml2 "&#38;" or "&", the specification "&amp;"), in an envelope
 * xmlsec signed: declared and never utilized it is not rendered, and the
 * signature verifies; utilized, ICX refuses it as NAMESPACE_NAME, never
 * SIG_INVALID, where xmlsec accepts its own rendering. */
static void test_escaped_namespace_names(void **state)
{
    (void)state;
    static const struct {
        const char *name, *to;
        int used;
    } cases[] = {
        {"unused on Header", "<Header xmlns:x=\"urn:a&amp;b\">", 0},
        {"unused by reference", "<Header xmlns:x=\"urn:q?a=1&#38;b=2\">", 0},
        {"unused, with an apostrophe", "<Header xmlns:x=\"urn:a'b\">", 0},
        {"used by an attribute", "<Header xmlns:x=\"urn:a&amp;b\" x:n=\"1\">",
         1},
    };
    for (int ecdsa = 0; ecdsa < 2; ecdsa++) {
        char cert[4096];
        snprintf(cert, sizeof cert, "%s",
                 icx_test_path("%s/%s/cert.pem", dir, ecdsa ? "ph" : "jp"));
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char *xml = xmlsec_signed_edit(
                ecdsa ? "ph" : "jp", ecdsa,
                ecdsa ? xmlSecTransformEcdsaSha256Id
                      : xmlSecTransformRsaSha256Id,
                xmlSecTransformSha256Id, "<Header>", cases[i].to);
            if (!xmlsec_verifies(xml, cert))
                fail_msg("%s: xmlsec does not verify its own signature",
                         cases[i].name);
            icx_err err;
            icx_err_clear(&err);
            int mine = icx_verifies(xml, cert, &err);
            if (!cases[i].used && !mine)
                fail_msg("%s, %s: refused (%s %s), want verified",
                         ecdsa ? "ECDSA" : "RSA", cases[i].name,
                         icx_reason_name(err.reason), err.msg);
            if (cases[i].used &&
                (mine || err.reason != ICX_REASON_NAMESPACE_NAME))
                fail_msg("%s, %s: got %s (%s), want NAMESPACE_NAME",
                         ecdsa ? "ECDSA" : "RSA", cases[i].name,
                         mine ? "verified" : icx_reason_name(err.reason),
                         err.msg);
            if (cases[i].used) {
                expect_reason(cases[i].name, xml, strlen(xml),
                              ICX_REASON_NAMESPACE_NAME);
            } else if (!ecdsa) {
                icx_header h;
                if (verify_as("PH-NBI", xml, strlen(xml), &h, &err) != 0)
                    fail_msg("%s: envelope refused: %s %s", cases[i].name,
                             icx_reason_name(err.reason), err.msg);
            }
            /* Tampered, it is refused as before. */
            char *bad = replace(xml, "<CaseReference>JP", "<CaseReference>XP");
            assert_false(icx_verifies(bad, cert, &err));
            assert_int_equal(err.reason, cases[i].used
                                             ? ICX_REASON_NAMESPACE_NAME
                                             : ICX_REASON_SIG_INVALID);
            free(bad);
            free(xml);
        }
    }
}

/* What c14n refuses to render after the profile check (an element with
 * the prefix xml) is refused for what it is, never as SIG_INVALID:
 * nothing was compared. */
static void test_unrendered_not_sig_invalid(void **state)
{
    (void)state;
    char *good = make("JP-NPA", "PH-NBI", jp);
    char cert[4096];
    snprintf(cert, sizeof cert, "%s", icx_test_path("%s/jp/cert.pem", dir));
    char *bad = replace(good, "<Header>", "<Header><xml:M/>");
    icx_err err;
    icx_err_clear(&err);
    assert_false(icx_verifies(bad, cert, &err));
    if (err.reason != ICX_REASON_FORBIDDEN_NODE)
        fail_msg("xml-prefixed element: got %s (%s), want FORBIDDEN_NODE",
                 icx_reason_name(err.reason), err.msg);
    free(bad);
    free(good);
}

struct mutation {
    const char *name;
    const char *from, *to; /* textual change to a valid JP-NPA envelope */
    int reason;
};

#define DS "http://www.w3.org/2000/09/xmldsig#"
#define EXC "http://www.w3.org/2001/10/xml-exc-c14n#"

static const struct mutation mutations[] = {
    {"tampered payload", "<CaseReference>JP", "<CaseReference>XP", ICX_REASON_SIG_INVALID},
    {"tampered header", "legalBasis=\"MLAT", "legalBasis=\"NONE", ICX_REASON_SIG_INVALID},
    {"comment splitting Sender", "<Sender>JP-", "<Sender>JP-<!---->", ICX_REASON_FORBIDDEN_NODE},
    {"processing instruction in signed text", "<Sender>JP-", "<Sender>JP-<?x y?>", ICX_REASON_FORBIDDEN_NODE},
    {"reference to an id", "URI=\"\"", "URI=\"#hdr\"", ICX_REASON_SIG_REFERENCE},
    {"reference to a file", "URI=\"\"", "URI=\"file:///etc/passwd\"", ICX_REASON_SIG_REFERENCE},
    {"reference without URI", "URI=\"\"", "", ICX_REASON_SIG_REFERENCE},
    {"RSA-SHA1", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
     "http://www.w3.org/2000/09/xmldsig#rsa-sha1", ICX_REASON_SIG_ALGORITHM},
    {"HMAC", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
     "http://www.w3.org/2000/09/xmldsig#hmac-sha1", ICX_REASON_SIG_ALGORITHM},
    {"HMAC output length", "xmldsig-more#rsa-sha256\"/>",
     "xmldsig-more#hmac-sha256\"><ds:HMACOutputLength>8</ds:HMACOutputLength></ds:SignatureMethod>",
     ICX_REASON_SIG_ALGORITHM},
    {"SHA-1 digest", "http://www.w3.org/2001/04/xmlenc#sha256",
     "http://www.w3.org/2000/09/xmldsig#sha1", ICX_REASON_SIG_DIGEST_ALG},
    {"XSLT transform", "<ds:Transform Algorithm=\"" EXC "\"/>",
     "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>",
     ICX_REASON_SIG_TRANSFORM},
    {"XPath transform", "<ds:Transform Algorithm=\"" EXC "\"/>",
     "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\">"
     "<ds:XPath>not(ancestor-or-self::Payload)</ds:XPath></ds:Transform>",
     ICX_REASON_SIG_TRANSFORM},
    {"third transform", "<ds:Transform Algorithm=\"" EXC "\"/>",
     "<ds:Transform Algorithm=\"" EXC "\"/><ds:Transform Algorithm=\"" EXC "\"/>",
     ICX_REASON_SIG_TRANSFORM},
    {"inclusive c14n", "<ds:CanonicalizationMethod Algorithm=\"" EXC "\"/>",
     "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>",
     ICX_REASON_SIG_C14N},
    {"c14n with comments", "<ds:CanonicalizationMethod Algorithm=\"" EXC "\"/>",
     "<ds:CanonicalizationMethod Algorithm=\"" EXC "WithComments\"/>", ICX_REASON_SIG_C14N},
    {"KeyValue-only key", "</ds:SignatureValue>",
     "</ds:SignatureValue><ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>AQAB</ds:Modulus>"
     "<ds:Exponent>AQAB</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>",
     ICX_REASON_SIG_KEYINFO},
    {"RetrievalMethod file", "</ds:SignatureValue>",
     "</ds:SignatureValue><ds:KeyInfo><ds:RetrievalMethod URI=\"file:///etc/passwd\"/></ds:KeyInfo>",
     ICX_REASON_SIG_KEYINFO},
    {"RetrievalMethod http", "</ds:SignatureValue>",
     "</ds:SignatureValue><ds:KeyInfo><ds:RetrievalMethod URI=\"http://127.0.0.1:9/k\"/></ds:KeyInfo>",
     ICX_REASON_SIG_KEYINFO},
    {"ds:Object", "</ds:SignatureValue>",
     "</ds:SignatureValue><ds:Object><Payload/></ds:Object>", ICX_REASON_SIG_OBJECT},
    {"Manifest", "</ds:SignatureValue>",
     "</ds:SignatureValue><ds:Object><ds:Manifest><ds:Reference URI=\"http://127.0.0.1:9/\"/>"
     "</ds:Manifest></ds:Object>", ICX_REASON_SIG_OBJECT},
    {"two SignedInfo", "<ds:SignedInfo>",
     "<ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"" EXC "\"/></ds:SignedInfo><ds:SignedInfo>",
     ICX_REASON_SIG_STRUCTURE},
    {"comment inside DigestValue", "<ds:DigestValue>", "<ds:DigestValue><!--AAAA-->",
     ICX_REASON_FORBIDDEN_NODE},
    {"DOCTYPE with nested entities", "<Envelope",
     "<!DOCTYPE Envelope [<!ENTITY a \"x\"><!ENTITY b \"&a;&a;&a;&a;\">]><Envelope",
     ICX_REASON_DOCTYPE},
    {"external DTD", "<Envelope",
     "<!DOCTYPE Envelope SYSTEM \"http://127.0.0.1:9/evil.dtd\"><Envelope", ICX_REASON_DOCTYPE},
    {"XXE file", "<Envelope",
     "<!DOCTYPE Envelope [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Envelope", ICX_REASON_DOCTYPE},
    {"XInclude", "<Payload>",
     "<Payload><xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"file:///etc/passwd\"/>",
     ICX_REASON_FORBIDDEN_NODE},
    {"UTF-16 declared", "encoding=\"UTF-8\"", "encoding=\"UTF-16\"", ICX_REASON_NOT_UTF8},
    {"UTF-8 BOM, then Latin-1 declared", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
     "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>", ICX_REASON_NOT_UTF8},
    {"invalid UTF-8", "<Sender>JP-", "<Sender>JP-\xc3\x28", ICX_REASON_NOT_UTF8},
    {"unknown header element", "<Category>", "<Priority>1</Priority><Category>", ICX_REASON_SCHEMA},
    /* Surrounding whitespace the code would compare as it is: the schema
     * refuses it (xs:string enumerations, not xs:token). */
    {"Category with a leading space", "<Category>case-referral",
     "<Category> case-referral", ICX_REASON_SCHEMA},
    {"Category with a line break", "case-referral</Category>",
     "case-referral\n</Category>", ICX_REASON_SCHEMA},
    {"tlp with a line break", "tlp=\"AMBER\"", "tlp=\"AMBER&#10;\"",
     ICX_REASON_SCHEMA},
    {"handling code with spaces", "code=\"H2\"", "code=\" H2 \"",
     ICX_REASON_SCHEMA},
    {"evil element around the payload", "<Payload>", "<Payload><Evil xmlns=\"urn:x\"/>", ICX_REASON_SCHEMA},
};

static void test_mutations(void **state)
{
    (void)state;
    char *good = make("JP-NPA", "PH-NBI", jp);
    for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; i++) {
        const struct mutation *m = &mutations[i];
        char *bad = replace(good, m->from, m->to);
        expect_reason(m->name, bad, strlen(bad), m->reason);
        free(bad);
    }
    free(good);
}

static void test_signature_position_and_count(void **state)
{
    (void)state;
    char *good = make("JP-NPA", "PH-NBI", jp);
    char *sig = sig_block(good);
    /* Two signatures: the same block twice at the end. */
    char *two_tail = malloc(strlen(sig) * 2 + 1);
    snprintf(two_tail, strlen(sig) * 2 + 1, "%s%s", sig, sig);
    char *two = replace(good, sig, two_tail);
    expect_reason("two signatures", two, strlen(two), ICX_REASON_SIG_MULTIPLE);
    /* Signature moved before the payload. */
    char *nosig = replace(good, sig, "");
    char *moved_at = malloc(strlen(sig) + 16);
    snprintf(moved_at, strlen(sig) + 16, "</Header>%s", sig);
    char *moved = replace(nosig, "</Header>", moved_at);
    expect_reason("signature not last", moved, strlen(moved), ICX_REASON_SIG_POSITION);
    /* Signature wrapped inside the payload (XSW) and no signature at all. */
    expect_reason("no signature", nosig, strlen(nosig), ICX_REASON_SIG_MISSING);
    free(two_tail);
    free(two);
    free(nosig);
    free(moved_at);
    free(moved);
    free(sig);
    free(good);
}

static void test_wrong_keys(void **state)
{
    (void)state;
    /* Signed by an outsider claiming to be JP-NPA. */
    char *a = make("JP-NPA", "PH-NBI", evil);
    expect_reason("outsider key", a, strlen(a), ICX_REASON_SIG_INVALID);
    /* Same, with the outsider's certificate offered in KeyInfo. */
    char *cert = NULL;
    size_t clen = 0;
    icx_err err;
    assert_int_equal(icx_file_read(&cert, &clen, icx_test_path("%s/evil/cert.pem", dir), 1 << 16, &err), 0);
    char *b64 = strstr(cert, "-----\n") + 6;
    *strstr(b64, "-----END") = '\0';
    icx_buf ki;
    icx_buf_init(&ki, 1 << 16);
    icx_buf_printf(&ki, "</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s"
                        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>", b64);
    char *b = replace(a, "</ds:SignatureValue>", ki.data);
    expect_reason("outsider key with its certificate in KeyInfo", b, strlen(b),
                  ICX_REASON_SIG_INVALID);
    /* A configured partner (PH-NBI) signing as JP-NPA. */
    char *c = make("JP-NPA", "PH-NBI", ph);
    expect_reason("signer is not the Sender", c, strlen(c), ICX_REASON_SIG_INVALID);
    /* An unknown Sender. */
    char *d = make("XX-EVIL", "PH-NBI", evil);
    expect_reason("unknown sender", d, strlen(d), ICX_REASON_UNKNOWN_SENDER);
    free(a);
    free(b);
    free(c);
    free(d);
    free(cert);
    icx_buf_free(&ki);
}

static void test_semantics(void **state)
{
    (void)state;
    icx_header h;
    /* Correctly signed for JP-NPA, presented to PH-NBI. */
    char *a = make("PH-NBI", "JP-NPA", ph);
    expect_reason("wrong recipient", a, strlen(a), ICX_REASON_WRONG_RECIPIENT);
    /* Created two hours ago and an hour ahead. */
    header(&h, "JP-NPA", "PH-NBI");
    icx_time_format(h.created, sizeof h.created, time(NULL) - 7200);
    char *b = signed_env(&h, jp);
    expect_reason("created too old", b, strlen(b), ICX_REASON_CREATED_WINDOW);
    header(&h, "JP-NPA", "PH-NBI");
    icx_time_format(h.created, sizeof h.created, time(NULL) + 3600);
    char *c = signed_env(&h, jp);
    expect_reason("created in the future", c, strlen(c), ICX_REASON_CREATED_WINDOW);
    header(&h, "JP-NPA", "PH-NBI");
    icx_time_format(h.expires, sizeof h.expires, time(NULL) - 1);
    char *d = signed_env(&h, jp);
    expect_reason("expired", d, strlen(d), ICX_REASON_EXPIRED);
    free(a);
    free(b);
    free(c);
    free(d);
}

static void test_bytes_and_limits(void **state)
{
    (void)state;
    char *good = make("JP-NPA", "PH-NBI", jp);
    size_t n = strlen(good);
    expect_reason("empty", "", 0, ICX_REASON_EMPTY);
    expect_reason("truncated", good, n / 2, ICX_REASON_MALFORMED);
    expect_reason("random bytes", "\x01\x02garbage<<", 10, ICX_REASON_MALFORMED);
    expect_reason("NUL byte", "<a>\0</a>", 8, ICX_REASON_NOT_UTF8);
    /* Well-formed, but not namespace-well-formed. */
    expect_reason("undeclared prefix", "<p:a/>", 6, ICX_REASON_MALFORMED);
    expect_reason("one attribute twice by namespace",
                  "<a xmlns:x=\"urn:1\" xmlns:y=\"urn:1\" x:b=\"1\" y:b=\"2\"/>",
                  52, ICX_REASON_MALFORMED);
    expect_reason("UTF-16 BOM", "\xff\xfe<\0a\0/\0>\0", 10, ICX_REASON_NOT_UTF8);
    /* Over the size limit (64 KiB in verify_as). */
    size_t big = 65 * 1024;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    memcpy(huge, "<a>", 3);
    memcpy(huge + big - 4, "</a>", 4);
    huge[big] = '\0';
    expect_reason("over the size limit", huge, big, ICX_REASON_TOO_LARGE);
    free(huge);
    /* 100,000-deep nesting. */
    icx_buf deep;
    icx_buf_init(&deep, 1 << 21);
    for (int i = 0; i < 100000; i++)
        icx_buf_puts(&deep, "<a>");
    icx_header h;
    icx_err err;
    icx_verify_policy p = {
        .limits = {.max_bytes = 1 << 21, .max_depth = 64}, .schemas = schemas, .trust = icx_trust_get,
        .ctx = trust, .self = "PH-NBI", .created_past_s = 900,
        .created_future_s = 300,
    };
    int rc = icx_envelope_verify(&h, deep.data, deep.len, &p, &err);
    if (rc != ICX_EBADSIG || err.reason != ICX_REASON_TOO_DEEP)
        fail_msg("deep nesting: got %s (%s), want TOO_DEEP", icx_reason_name(err.reason), err.msg);
    icx_buf_free(&deep);
    /* Billion laughs never gets past the DOCTYPE. */
    const char *lol =
        "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
        "]><l>&c;&c;&c;&c;&c;&c;&c;&c;</l>";
    expect_reason("billion laughs", lol, strlen(lol), ICX_REASON_DOCTYPE);
    free(good);
}

static void test_build_refuses_bad_input(void **state)
{
    (void)state;
    icx_header h;
    icx_err err;
    icx_buf out;
    icx_buf_init(&out, 1 << 20);
    header(&h, "JP-NPA", "PH-NBI");
    snprintf(h.tlp, sizeof h.tlp, "PURPLE");
    int rc = icx_envelope_build(&out, &h, payload, payload_len, schemas, &err);
    assert_int_equal(rc, ICX_EINVAL);
    assert_non_null(strstr(err.msg, "tlp"));
    header(&h, "JP-NPA", "PH-NBI");
    rc = icx_envelope_build(&out, &h, "<x", 2, schemas, &err);
    assert_int_equal(rc, ICX_EINVAL);
    assert_non_null(strstr(err.msg, "payload"));
    header(&h, "JP-NPA", "PH-NBI");
    snprintf(h.category, sizeof h.category, "survey-request");
    rc = icx_envelope_build(&out, &h, payload, payload_len, schemas, &err);
    if (rc != ICX_EINVAL)
        fail_msg("category/payload mismatch: got %s, want ICX_EINVAL", icx_rc_name(rc));
    /* Header values a parser could not give back: refused by name before
     * anything is signed or serialized. */
    static const struct { const char *value, *field; } not_text[] = {
        {"MLAT \x01 art. 3", "legalBasis"},  /* control character */
        {"MLAT \xc3\x28 art. 3", "legalBasis"}, /* broken UTF-8 */
        {"MLAT \xef\xbf\xbe", "legalBasis"},   /* U+FFFE, not a Char */
    };
    for (size_t i = 0; i < sizeof not_text / sizeof not_text[0]; i++) {
        header(&h, "JP-NPA", "PH-NBI");
        snprintf(h.legal_basis, sizeof h.legal_basis, "%s", not_text[i].value);
        icx_buf_reset(&out);
        rc = icx_envelope_build_signed(&out, &h, payload, payload_len,
                                       schemas, jp, &err);
        assert_int_equal(rc, ICX_EINVAL);
        assert_non_null(strstr(err.msg, not_text[i].field));
        assert_non_null(strstr(err.msg, "not UTF-8 XML text"));
        assert_int_equal(out.len, 0);
    }
    header(&h, "JP-NPA", "PH-NBI");
    snprintf(h.conversation_id, sizeof h.conversation_id, "\x7f\x80");
    rc = icx_envelope_build(&out, &h, payload, payload_len, schemas, &err);
    assert_int_equal(rc, ICX_EINVAL);
    assert_non_null(strstr(err.msg, "ConversationId"));
    /* An unsigned envelope c14n cannot render is the caller's input, not
     * a library failure: ICX_EINVAL naming the namespace name. */
    icx_buf unsigned_env;
    icx_buf_init(&unsigned_env, 1 << 20);
    header(&h, "JP-NPA", "PH-NBI");
    assert_int_equal(icx_envelope_build(&unsigned_env, &h, payload,
                                        payload_len, schemas, &err), 0);
    char *rel = replace(unsigned_env.data, "<Header>",
                        "<Header xmlns:r=\"rel\">");
    icx_buf_reset(&out);
    rc = icx_envelope_sign(&out, rel, strlen(rel), schemas, jp, &err);
    if (rc != ICX_EINVAL || strstr(err.msg, "\"rel\" is relative") == NULL)
        fail_msg("relative namespace name: got %s (%s), want ICX_EINVAL "
                 "naming it", icx_rc_name(rc), err.msg);
    assert_int_equal(out.len, 0);
    free(rel);
    icx_buf_free(&unsigned_env);
    icx_buf_free(&out);
}

/* Header text with markup characters survives build, signature and
 * verification unchanged (the tree is built, not parsed, and escaped when
 * written). */
static void test_header_text_escaped(void **state)
{
    (void)state;
    icx_header h, got;
    icx_buf out;
    icx_buf_init(&out, 1 << 20);
    header(&h, "JP-NPA", "PH-NBI");
    snprintf(h.legal_basis, sizeof h.legal_basis,
             "MLAT <JP-PH> & \"art. 3\" 'ter'\tnach \xc2\xa7 5");
    signed_and_verified(&out, &h, jp, "PH-NBI", &got);
    assert_string_equal(got.legal_basis, h.legal_basis);
    assert_string_equal(got.message_id, h.message_id);
    assert_string_equal(got.retain_until, h.retain_until);
    assert_null(strstr(out.data, "<JP-PH>"));
    icx_buf_free(&out);
}

static void test_signing_key_mode_refused(void **state)
{
    (void)state;
    icx_err err;
    icx_signer *s = NULL;
    const char *key = icx_test_path("%s/jp/key.pem", dir);
    assert_int_equal(chmod(key, 0640), 0);
    int rc = icx_signer_load(&s, key, &err);
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(rc, ICX_EPERM);
    assert_null(s);
    assert_non_null(strstr(err.msg, "chmod 600"));
}

/* MessageIds are version-7 UUIDs: the time in milliseconds up front (so
 * ids made later sort later), the version and variant bits set, the rest
 * random. */
static void test_message_ids_sort_by_time(void **state)
{
    (void)state;
    icx_err err;
    char a[ICX_UUID_LEN + 1], b[ICX_UUID_LEN + 1], c[ICX_UUID_LEN + 1];
    assert_int_equal(icx_uuid7(a, INT64_C(1764115200123), &err), 0);
    assert_int_equal(strlen(a), ICX_UUID_LEN);
    /* 1764115200123 ms = 0x019abd75b87b */
    assert_memory_equal(a, "019abd75-b87b-7", 15);
    assert_true(strchr("89ab", a[19]) != NULL);
    assert_int_equal(icx_uuid7(b, INT64_C(1764115200123), &err), 0);
    assert_string_not_equal(a, b); /* same millisecond, random tail */
    assert_int_equal(icx_uuid7(c, INT64_C(1764115200124), &err), 0);
    assert_true(strcmp(a, c) < 0 && strcmp(b, c) < 0);
    assert_int_equal(icx_uuid7(c, -1, &err), ICX_EINVAL);

    icx_header h1, h2;
    memset(&h1, 0, sizeof h1);
    memset(&h2, 0, sizeof h2);
    assert_int_equal(icx_header_stamp(&h1, time(NULL), &err), 0);
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
    assert_int_equal(icx_header_stamp(&h2, time(NULL), &err), 0);
    assert_int_equal(h1.message_id[14], '7');
    assert_true(strcmp(h1.message_id, h2.message_id) < 0);
}

/* A key rollover: JP-NPA's certificate (RSA) and its next certificate
 * (here PH-NBI's EC key stands in for JP-NPA's new one).  Either key's
 * signature verifies and says which; a third key, a tampered envelope or
 * a policy without trust_next is refused as before. */
static void test_key_rollover(void **state)
{
    (void)state;
    icx_trust *t = NULL;
    icx_err err;
    icx_header h;
    icx_err_clear(&err);
    const char *jpc = icx_test_path("%s/jp/cert.pem", dir);
    const char *next = icx_test_path("%s/ph/cert.pem", dir);
    CHECK_RC(icx_trust_new(&t, &err), ICX_OK, &err);
    CHECK_RC(icx_trust_add_next(t, "JP-NPA", next, &err), ICX_ENOTFOUND, &err);
    CHECK_RC(icx_trust_add(t, "JP-NPA", jpc, &err), ICX_OK, &err);
    CHECK_RC(icx_trust_add_next(t, "JP-NPA", jpc, &err), ICX_EINVAL, &err);
    CHECK_RC(icx_trust_add_next(t, "JP-NPA", next, &err), ICX_OK, &err);
    CHECK_RC(icx_trust_add_next(t, "JP-NPA", next, &err), ICX_EEXIST, &err);
    char fp[65];
    assert_int_equal(icx_keys_cert_fingerprint(fp, jpc, &err), 0);
    assert_string_equal(icx_trust_fingerprint(t, "JP-NPA", 0), fp);
    assert_int_equal(icx_keys_cert_fingerprint(fp, next, &err), 0);
    assert_string_equal(icx_trust_fingerprint(t, "JP-NPA", 1), fp);
    assert_null(icx_trust_fingerprint(t, "PH-NBI", 0));
    assert_null(icx_trust_get_next(trust, "JP-NPA")); /* no rollover there */

    icx_verify_policy p = {
        .limits = {.max_bytes = 64 * 1024, .max_depth = 64},
        .schemas = schemas, .trust = icx_trust_get,
        .trust_next = icx_trust_get_next, .ctx = t, .self = "PH-NBI",
        .created_past_s = 900, .created_future_s = 300,
    };
    char *old = make("JP-NPA", "PH-NBI", jp);
    char *new = make("JP-NPA", "PH-NBI", ph);
    char *forged = make("JP-NPA", "PH-NBI", evil);
    char *tampered = replace(new, "MLAT JP-PH art. 3", "MLAT JP-PH art. 4");

    CHECK_RC(icx_envelope_verify(&h, old, strlen(old), &p, &err), ICX_OK, &err);
    assert_int_equal(h.signer_key, 0);
    CHECK_RC(icx_envelope_verify(&h, new, strlen(new), &p, &err), ICX_OK, &err);
    assert_int_equal(h.signer_key, 1);
    CHECK_RC(icx_envelope_verify(&h, forged, strlen(forged), &p, &err),
             ICX_EBADSIG, &err);
    assert_int_equal(err.reason, ICX_REASON_SIG_INVALID);
    assert_non_null(strstr(err.msg, "certificates (certificate, "
                                    "certificate_next) configured for the "
                                    "Sender JP-NPA"));
    CHECK_RC(icx_envelope_verify(&h, tampered, strlen(tampered), &p, &err),
             ICX_EBADSIG, &err);
    assert_int_equal(err.reason, ICX_REASON_SIG_INVALID);

    /* Without the rollover (no trust_next, or no next key): only the
     * configured certificate. */
    p.trust_next = NULL;
    CHECK_RC(icx_envelope_verify(&h, new, strlen(new), &p, &err), ICX_EBADSIG,
             &err);
    assert_int_equal(err.reason, ICX_REASON_SIG_INVALID);
    p.trust_next = icx_trust_get_next;
    p.ctx = trust;
    CHECK_RC(icx_envelope_verify(&h, new, strlen(new), &p, &err), ICX_EBADSIG,
             &err);
    assert_non_null(strstr(err.msg, "the certificate configured"));
    free(old);
    free(new);
    free(forged);
    free(tampered);
    icx_trust_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_rollover),
        cmocka_unit_test(test_sign_verify_rsa_and_ecdsa),
        cmocka_unit_test(test_signature_matches_xmlsec),
        cmocka_unit_test(test_verifier_agrees_with_xmlsec),
        cmocka_unit_test(test_relative_namespace_in_signature),
        cmocka_unit_test(test_escaped_namespace_names),
        cmocka_unit_test(test_unrendered_not_sig_invalid),
        cmocka_unit_test(test_verifier_other_hashes),
        cmocka_unit_test(test_build_signed_in_one_pass),
        cmocka_unit_test(test_prepare_batch_finish),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_signature_position_and_count),
        cmocka_unit_test(test_wrong_keys),
        cmocka_unit_test(test_semantics),
        cmocka_unit_test(test_bytes_and_limits),
        cmocka_unit_test(test_build_refuses_bad_input),
        cmocka_unit_test(test_signing_key_mode_refused),
        cmocka_unit_test(test_message_ids_sort_by_time),
        cmocka_unit_test(test_header_text_escaped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
