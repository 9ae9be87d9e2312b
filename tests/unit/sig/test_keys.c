/*
 * test_keys.c - the minimum key strength (keys.h) on every path that loads
 * a key or a certificate: the rule itself, the certificate check, the
 * trust store (partner certificates, `icx envelope verify --trust`), the
 * signer (the gateway's own private key) and key generation.
 *
 * Weak keys are made here with OpenSSL: RSA 1024, EC on P-224 and on
 * secp256k1, DSA 2048 and Ed25519; each must be refused with a message
 * that names the file, the key and the rule.  The strong kinds must load.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "keys.h"
#include "util.h"
#include "testutil.h"
#include "trust.h"
#include "xmlsig.h"

#define RULE "; the minimum is RSA 2048 or ECDSA P-256/P-384/P-521"

static const struct weak {
    const char *kind;
    const char *says; /* what the message says of the key */
} weak[] = {
    {"rsa1024", "RSA 1024 bits"},
    {"p224", "EC on curve P-224 (secp224r1)"},
    {"secp256k1", "EC on curve secp256k1"},
    {"dsa2048", "DSA 2048 bits"},
    {"ed25519", "ED25519 256 bits"},
};

static const char *const strong[] = {"rsa2048", "p256", "p384", "p521"};

static int setup(void **state)
{
    icx_err err;
    icx_err_clear(&err);
    assert_int_equal(icx_xmlsig_init(&err), 0);
    *state = icx_test_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    icx_test_rmrf(*state);
    free(*state);
    icx_xmlsig_shutdown();
    return 0;
}

static void expect_refused(const char *what, int rc, const icx_err *err,
                           const char *want)
{
    if (rc != ICX_EPOLICY || strcmp(err->msg, want) != 0)
        fail_msg("%s: got %s \"%s\", want EPOLICY \"%s\"", what,
                 icx_rc_name(rc), err->msg, want);
}

/* The rule alone, on keys in memory. */
static void test_strength_rule(void **state)
{
    (void)state;
    icx_err err;
    for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++) {
        EVP_PKEY *k = icx_test_key(weak[i].kind);
        icx_err_clear(&err);
        int rc = icx_keys_check_strength(k, "certs/x.pem", &err);
        char want[256];
        snprintf(want, sizeof want, "certs/x.pem: %s" RULE, weak[i].says);
        expect_refused(weak[i].kind, rc, &err, want);
        EVP_PKEY_free(k);
    }
    for (size_t i = 0; i < sizeof strong / sizeof strong[0]; i++) {
        EVP_PKEY *k = icx_test_key(strong[i]);
        icx_err_clear(&err);
        int rc = icx_keys_check_strength(k, "certs/x.pem", &err);
        if (rc != ICX_OK)
            fail_msg("%s: got %s \"%s\", want OK", strong[i], icx_rc_name(rc),
                     err.msg);
        EVP_PKEY_free(k);
    }
    icx_err_clear(&err);
    expect_refused("no key", icx_keys_check_strength(NULL, "k.pem", &err),
                   &err, "k.pem: no public key" RULE);
}

/* Every loader refuses each weak kind with the same words. */
static void test_loaders_refuse_weak(void **state)
{
    const char *dir = *state;
    icx_err err;
    for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++) {
        char key[PATH_MAX], cert[PATH_MAX], want[PATH_MAX + 256];
        snprintf(key, sizeof key, "%s/%s.key", dir, weak[i].kind);
        snprintf(cert, sizeof cert, "%s/%s.pem", dir, weak[i].kind);
        EVP_PKEY *k = icx_test_key(weak[i].kind);
        icx_test_write_key(key, cert, k, "PH-NBI");
        EVP_PKEY_free(k);

        snprintf(want, sizeof want, "%s: %s" RULE, cert, weak[i].says);
        icx_err_clear(&err);
        expect_refused("icx_keys_check_cert", icx_keys_check_cert(cert, &err),
                       &err, want);

        icx_verkey *vk = NULL;
        icx_err_clear(&err);
        expect_refused("icx_verkey_load", icx_verkey_load(&vk, cert, &err),
                       &err, want);
        assert_null(vk);

        icx_trust *t = NULL;
        assert_int_equal(icx_trust_new(&t, &err), ICX_OK);
        icx_err_clear(&err);
        int rc = icx_trust_add(t, "PH-NBI", cert, &err);
        char wrapped[PATH_MAX + 300];
        snprintf(wrapped, sizeof wrapped, "certificate of PH-NBI: %s", want);
        expect_refused("icx_trust_add", rc, &err, wrapped);
        assert_null(icx_trust_get(t, "PH-NBI"));
        icx_trust_free(&t);

        snprintf(want, sizeof want, "%s: %s" RULE, key, weak[i].says);
        icx_signer *s = NULL;
        icx_err_clear(&err);
        expect_refused("icx_signer_load", icx_signer_load(&s, key, &err), &err,
                       want);
        assert_null(s);
    }
}

/* The strong kinds load on the same paths. */
static void test_loaders_accept_strong(void **state)
{
    const char *dir = *state;
    icx_err err;
    for (size_t i = 0; i < sizeof strong / sizeof strong[0]; i++) {
        char key[PATH_MAX], cert[PATH_MAX];
        snprintf(key, sizeof key, "%s/%s.key", dir, strong[i]);
        snprintf(cert, sizeof cert, "%s/%s.pem", dir, strong[i]);
        EVP_PKEY *k = icx_test_key(strong[i]);
        icx_test_write_key(key, cert, k, "PH-NBI");
        EVP_PKEY_free(k);
        icx_err_clear(&err);
        int rc = icx_keys_check_cert(cert, &err);
        icx_verkey *vk = NULL;
        if (rc == ICX_OK)
            rc = icx_verkey_load(&vk, cert, &err);
        icx_signer *s = NULL;
        if (rc == ICX_OK)
            rc = icx_signer_load(&s, key, &err);
        if (rc != ICX_OK)
            fail_msg("%s: got %s \"%s\", want OK", strong[i], icx_rc_name(rc),
                     err.msg);
        icx_verkey_free(&vk);
        icx_signer_free(&s);
    }
}

/* `icx keys gen` makes only strong keys: both of its algorithms pass the
 * rule, and no weaker name is known. */
static void test_generate(void **state)
{
    const char *dir = *state;
    static const char *const algs[] = {"rsa2048", "ecdsa-p256"};
    icx_err err;
    for (size_t i = 0; i < 2; i++) {
        char out[PATH_MAX];
        snprintf(out, sizeof out, "%s/gen-%s", dir, algs[i]);
        int alg = icx_keys_alg_from_name(algs[i]);
        assert_true(alg >= 0);
        icx_err_clear(&err);
        int rc = icx_keys_generate("JP-NPA", out, alg, 30, &err);
        if (rc == ICX_OK)
            rc = icx_keys_check_cert(icx_test_path("%s/cert.pem", out), &err);
        if (rc != ICX_OK)
            fail_msg("%s: got %s \"%s\", want OK", algs[i], icx_rc_name(rc),
                     err.msg);
    }
    static const char *const unknown[] = {"rsa1024", "ecdsa-p224", "dsa",
                                          "ed25519", "secp256k1"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        if (icx_keys_alg_from_name(unknown[i]) != -1)
            fail_msg("--alg %s: got a known algorithm, want unknown",
                     unknown[i]);
}

/* A key held elsewhere, played by an OpenSSL key through the signer
 * (raw r||s for ECDSA, as a token gives it). */
static int signer_sign(void *ctx, const unsigned char *digest, size_t dlen,
                       unsigned char *sig, size_t *siglen, icx_err *err)
{
    (void)dlen;
    return icx_signer_sign_digest(sig, siglen, ctx, digest, err);
}

/* icx_keys_generate_external (keys gen --pkcs11): cert.pem signed by the
 * outside key over its own public key, CURVE files, no key.pem; an
 * existing folder refused; a signature by another key refused. */
static void test_generate_external(void **state)
{
    const char *dir = *state;
    static const char *const kinds[] = {"rsa2048", "p256"};
    icx_err err;
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *k = icx_test_key(kinds[i]), *other = icx_test_key(kinds[i]);
        const char *keyf = icx_test_path("%s/ext-%s.key", dir, kinds[i]);
        icx_test_write_key(keyf, NULL, k, "JP-NPA");
        icx_signer *s = NULL;
        icx_err_clear(&err);
        CHECK_RC(icx_signer_load(&s, keyf, &err), ICX_OK, &err);
        char out[PATH_MAX];
        snprintf(out, sizeof out, "%s/ext-%s", dir, kinds[i]);
        CHECK_RC(icx_keys_generate_external("JP-NPA", out, k,
                                            icx_signer_ecdsa(s),
                                            icx_signer_field(s), signer_sign,
                                            s, 30, &err), ICX_OK, &err);
        CHECK_RC(icx_keys_check_cert(icx_test_path("%s/cert.pem", out), &err),
                 ICX_OK, &err);
        char cn[64];
        CHECK_RC(icx_keys_cert_subject(cn, sizeof cn,
                                       icx_test_path("%s/cert.pem", out), &err),
                 ICX_OK, &err);
        assert_string_equal(cn, "JP-NPA");
        assert_int_equal(access(icx_test_path("%s/key.pem", out), F_OK), -1);
        assert_int_equal(access(icx_test_path("%s/curve.pub", out), F_OK), 0);
        /* The certificate verifies with the key it names. */
        {
            char *pem = NULL;
            size_t len = 0;
            assert_int_equal(icx_file_read(&pem, &len,
                                           icx_test_path("%s/cert.pem", out),
                                           1 << 16, &err), 0);
            BIO *b = BIO_new_mem_buf(pem, (int)len);
            X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
            assert_non_null(x);
            assert_int_equal(X509_verify(x, k), 1);
            assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), k), 1);
            X509_free(x);
            BIO_free(b);
            free(pem);
        }
        CHECK_RC(icx_keys_generate_external("JP-NPA", out, k,
                                            icx_signer_ecdsa(s),
                                            icx_signer_field(s), signer_sign,
                                            s, 30, &err), ICX_EEXIST, &err);
        /* Signed by a key that is not the one in the certificate. */
        snprintf(out, sizeof out, "%s/ext-%s-other", dir, kinds[i]);
        CHECK_RC(icx_keys_generate_external("JP-NPA", out, other,
                                            icx_signer_ecdsa(s),
                                            icx_signer_field(s), signer_sign,
                                            s, 30, &err), ICX_ECRYPTO, &err);
        assert_int_equal(access(icx_test_path("%s/cert.pem", out), F_OK), -1);
        icx_signer_free(&s);
        EVP_PKEY_free(k);
        EVP_PKEY_free(other);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strength_rule),
        cmocka_unit_test(test_loaders_refuse_weak),
        cmocka_unit_test(test_loaders_accept_strong),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_generate_external),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
