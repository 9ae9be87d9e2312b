/*
 * test_xmlsig.c - the signing backend seam (icx_sign_backend): a signer
 * made from a backend signs what the key-file signer signs, the backend
 * sees only the 32-byte SHA-256 digest, its errors pass through unchanged
 * and leave no Signature behind, and backends of the wrong shape are
 * refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keys.h"
#include "testutil.h"
#include "util.h"
#include "xml.h"
#include "xmlsig.h"

static char *dir;
static icx_signer *rsa, *ec;
static icx_verkey *rsa_pub, *ec_pub;

static const char doc_text[] =
    "<r xmlns=\"urn:t\"><a>one</a><b x=\"2\">two</b></r>";

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
    assert_int_equal(icx_signer_load(&rsa, icx_test_path("%s/jp/key.pem", dir), &err), 0);
    assert_int_equal(icx_signer_load(&ec, icx_test_path("%s/ph/key.pem", dir), &err), 0);
    assert_int_equal(icx_verkey_load(&rsa_pub, icx_test_path("%s/jp/cert.pem", dir), &err), 0);
    assert_int_equal(icx_verkey_load(&ec_pub, icx_test_path("%s/ph/cert.pem", dir), &err), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    icx_signer_free(&rsa);
    icx_signer_free(&ec);
    icx_verkey_free(&rsa_pub);
    icx_verkey_free(&ec_pub);
    icx_test_rmrf(dir);
    free(dir);
    icx_xmlsig_shutdown();
    return 0;
}

/* A backend that forwards to a key-file signer and records what it saw. */
struct relay {
    const icx_signer *inner;
    int calls;
    size_t dlen;
    int fail_rc;        /* nonzero: return this instead of signing */
    size_t cut;         /* nonzero: return this many bytes only */
    int freed;
};

static int relay_sign(void *ctx, const unsigned char *digest, size_t dlen,
                      unsigned char *sig, size_t *siglen, icx_err *err)
{
    struct relay *r = ctx;
    r->calls++;
    r->dlen = dlen;
    if (r->fail_rc != 0)
        return icx_err_set(err, r->fail_rc, "relay: signer away");
    int rc = icx_signer_sign_digest(sig, siglen, r->inner, digest, err);
    if (rc == 0 && r->cut != 0)
        *siglen = r->cut;
    return rc;
}

static void relay_free(void *ctx)
{
    ((struct relay *)ctx)->freed++;
}

static icx_signer *relay_signer(struct relay *r, const icx_signer *inner)
{
    icx_err err;
    icx_err_clear(&err);
    r->inner = inner;
    icx_sign_backend b = {.ecdsa = icx_signer_ecdsa(inner),
                          .field = icx_signer_field(inner),
                          .sign_digest = relay_sign, .free_ctx = relay_free,
                          .ctx = r};
    icx_signer *s = NULL;
    assert_int_equal(icx_signer_from_backend(&s, &b, &err), 0);
    return s;
}

static icx_xmldoc *parse(void)
{
    icx_err err;
    icx_err_clear(&err);
    icx_xml_limits lim = ICX_XML_DEFAULT_LIMITS;
    icx_xmldoc *doc = NULL;
    assert_int_equal(icx_xml_parse(&doc, doc_text, strlen(doc_text), &lim,
                                   &err), 0);
    return doc;
}

static void serialize(icx_buf *out, icx_xmldoc *doc)
{
    icx_err err;
    icx_err_clear(&err);
    icx_buf_init(out, 1 << 20);
    assert_int_equal(icx_xml_serialize(doc, out, &err), 0);
}

static void test_shape(void **state)
{
    (void)state;
    assert_string_equal(icx_signer_alg(rsa), "rsa-sha256");
    assert_int_equal(icx_signer_ecdsa(rsa), 0);
    assert_int_equal(icx_signer_field(rsa), 256);
    assert_string_equal(icx_signer_alg(ec), "ecdsa-sha256");
    assert_int_equal(icx_signer_ecdsa(ec), 1);
    assert_int_equal(icx_signer_field(ec), 32);
}

/* RSA PKCS#1 v1.5 is deterministic: the backend path gives the very bytes
 * the key-file signer gives, and the backend saw a 32-byte digest. */
static void test_backend_signs_same_bytes(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    struct relay r = {0};
    icx_signer *s = relay_signer(&r, rsa);
    icx_xmldoc *d1 = parse(), *d2 = parse();
    assert_int_equal(icx_xmlsig_sign(d1, rsa, &err), 0);
    assert_int_equal(icx_xmlsig_sign(d2, s, &err), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.dlen, 32);
    icx_buf b1, b2;
    serialize(&b1, d1);
    serialize(&b2, d2);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.data, b2.data, b1.len);
    assert_int_equal(icx_xmlsig_verify(d2, rsa_pub, &err), 0);
    icx_buf_free(&b1);
    icx_buf_free(&b2);
    icx_xml_free(&d1);
    icx_xml_free(&d2);
    icx_signer_free(&s);
    assert_int_equal(r.freed, 1);
    assert_null(s);
}

static void test_backend_ecdsa_verifies(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    struct relay r = {0};
    icx_signer *s = relay_signer(&r, ec);
    icx_xmldoc *d = parse();
    assert_int_equal(icx_xmlsig_sign(d, s, &err), 0);
    assert_int_equal(icx_xmlsig_verify(d, ec_pub, &err), 0);
    /* the other key does not verify it: the signature is the key's */
    assert_int_equal(icx_xmlsig_verify(d, rsa_pub, &err), ICX_EBADSIG);
    icx_xml_free(&d);
    icx_signer_free(&s);
}

/* A backend that cannot sign now (ICX_EAGAIN) is the caller's to retry:
 * the code passes through and the document is left unsigned. */
static void test_backend_error_passes_through(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    struct relay r = {.fail_rc = ICX_EAGAIN};
    icx_signer *s = relay_signer(&r, rsa);
    icx_xmldoc *d = parse();
    assert_int_equal(icx_xmlsig_sign(d, s, &err), ICX_EAGAIN);
    assert_int_equal(err.rc, ICX_EAGAIN);
    assert_int_equal(icx_xmlsig_check_profile(d, &err), ICX_EBADSIG);
    assert_int_equal(err.reason, ICX_REASON_SIG_MISSING);
    /* and a later attempt on the same document works */
    r.fail_rc = 0;
    assert_int_equal(icx_xmlsig_sign(d, s, &err), 0);
    assert_int_equal(icx_xmlsig_verify(d, rsa_pub, &err), 0);
    icx_xml_free(&d);
    icx_signer_free(&s);
}

/* A backend returning a signature of the wrong length is refused rather
 * than written into the document. */
static void test_backend_wrong_length_refused(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    struct relay r = {.cut = 63};
    icx_signer *s = relay_signer(&r, ec);
    icx_xmldoc *d = parse();
    assert_int_equal(icx_xmlsig_sign(d, s, &err), ICX_ECRYPTO);
    assert_int_equal(icx_xmlsig_check_profile(d, &err), ICX_EBADSIG);
    icx_xml_free(&d);
    icx_signer_free(&s);
}

static void test_backend_shape_refused(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    struct relay r = {0};
    icx_signer *s = NULL;
    const icx_sign_backend cases[] = {
        /* no operation */
        {.ecdsa = 0, .field = 256, .free_ctx = relay_free, .ctx = &r},
        /* no size */
        {.ecdsa = 0, .field = 0, .sign_digest = relay_sign,
         .free_ctx = relay_free, .ctx = &r},
        /* r||s over ICX_SIG_MAX */
        {.ecdsa = 1, .field = 600, .sign_digest = relay_sign,
         .free_ctx = relay_free, .ctx = &r},
        {.ecdsa = 0, .field = ICX_SIG_MAX + 1, .sign_digest = relay_sign,
         .free_ctx = relay_free, .ctx = &r},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(icx_signer_from_backend(&s, &cases[i], &err),
                         ICX_EINVAL);
        assert_null(s);
    }
    assert_int_equal(r.freed, 0); /* a refused backend stays the caller's */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_backend_signs_same_bytes),
        cmocka_unit_test(test_backend_ecdsa_verifies),
        cmocka_unit_test(test_backend_error_passes_through),
        cmocka_unit_test(test_backend_wrong_length_refused),
        cmocka_unit_test(test_backend_shape_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
