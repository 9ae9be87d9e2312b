/*
 * test_audit.c - RFC 6962 hashing, the incremental tree, inclusion proofs,
 * the verifier's naming of damage, and checkpoints signed in two halves
 * (digest here, signature by a key held elsewhere).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include "audit.h"
#include "keys.h"
#include "testutil.h"
#include "util.h"
#include "xmlsig.h"

/* MTH straight from RFC 6962 section 2.1, recursively. */
static void mth(unsigned char out[32], unsigned char (*leaves)[32], uint64_t n)
{
    if (n == 0) {
        icx_merkle_root_of(out, NULL, 0);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    unsigned char l[32], r[32];
    mth(l, leaves, k);
    mth(r, leaves + k, n - k);
    icx_merkle_node(out, l, r);
}

static unsigned char leaves[70][32];

static void make_leaves(void)
{
    for (int i = 0; i < 70; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "record %d", i);
        icx_audit_leaf(leaves[i], line, (size_t)n);
    }
}

static void test_leaf_is_rfc6962(void **state)
{
    (void)state;
    /* The leaf of "" is SHA-256 of the single byte 0x00. */
    unsigned char leaf[32];
    char hex[65];
    icx_audit_leaf(leaf, "", 0);
    icx_hex(hex, leaf, 32);
    assert_string_equal(hex, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

static void test_incremental_root_matches_definition(void **state)
{
    (void)state;
    make_leaves();
    icx_merkle m;
    icx_merkle_init(&m);
    for (uint64_t n = 1; n <= 70; n++) {
        icx_merkle_append(&m, leaves[n - 1]);
        unsigned char a[32], b[32];
        icx_merkle_root(&m, a);
        mth(b, leaves, n);
        if (memcmp(a, b, 32) != 0)
            fail_msg("root of %llu leaves: incremental differs from RFC 6962 MTH",
                     (unsigned long long)n);
    }
}

static void test_every_inclusion_proof(void **state)
{
    (void)state;
    make_leaves();
    for (uint64_t n = 1; n <= 70; n++) {
        unsigned char root[32];
        mth(root, leaves, n);
        for (uint64_t m = 0; m < n; m++) {
            unsigned char path[64][32];
            char sides[64];
            int np = 0;
            assert_int_equal(icx_merkle_path(path, sides, &np,
                             (const unsigned char (*)[32])leaves, n, m), 0);
            int rc = icx_merkle_check_path(leaves[m], (const unsigned char (*)[32])path,
                                           sides, np, m, n, root);
            if (rc != 0)
                fail_msg("proof of leaf %llu in %llu: got %d, want 0",
                         (unsigned long long)m, (unsigned long long)n, rc);
            /* The proof of one leaf does not prove another. */
            if (n > 1) {
                uint64_t other = (m + 1) % n;
                rc = icx_merkle_check_path(leaves[other], (const unsigned char (*)[32])path,
                                           sides, np, m, n, root);
                assert_int_not_equal(rc, 0);
            }
            /* A flipped side is refused. */
            if (np > 0) {
                sides[0] = sides[0] == 'L' ? 'R' : 'L';
                rc = icx_merkle_check_path(leaves[m], (const unsigned char (*)[32])path,
                                           sides, np, m, n, root);
                assert_int_not_equal(rc, 0);
            }
        }
    }
}

/* A valid chain of n records. */
static void chain(icx_audit_rec *r, int n)
{
    char prev[65];
    memset(prev, '0', 64);
    prev[64] = '\0';
    icx_buf b;
    icx_buf_init(&b, 4096);
    for (int i = 0; i < n; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].seq = i + 1;
        snprintf(r[i].ts, sizeof r[i].ts, "2026-11-26T00:00:%02d.000Z", i % 60);
        snprintf(r[i].event, sizeof r[i].event, "event.%d", i % 1000);
        snprintf(r[i].detail, sizeof r[i].detail, "n=%d", i % 1000);
        memcpy(r[i].prev, prev, 65);
        icx_buf_reset(&b);
        icx_audit_line(&b, &r[i]);
        unsigned char leaf[32];
        icx_audit_leaf(leaf, b.data, b.len);
        icx_hex(r[i].hash, leaf, 32);
        memcpy(prev, r[i].hash, 65);
    }
    icx_buf_free(&b);
}

static int run(icx_audit_rec *r, int n, int64_t *seq)
{
    icx_audit_verifier *v = NULL;
    icx_err err;
    uint64_t a, b;
    int kind;
    assert_int_equal(icx_audit_verifier_new(&v, NULL, 0, &err), 0);
    for (int i = 0; i < n; i++)
        icx_audit_verifier_record(v, &r[i]);
    int rc = icx_audit_verifier_finish(v, &a, &b, &kind, seq, &err);
    icx_audit_verifier_free(&v);
    return rc == 0 ? ICX_DAMAGE_NONE : kind;
}

/* RFC 6962 SUBPROOF straight from section 2.1.2, recursively. */
static void subproof_def(unsigned char (*out)[32], int *n, uint64_t m,
                         unsigned char (*d)[32], uint64_t nd, int b)
{
    if (m == nd) {
        if (!b)
            mth(out[(*n)++], d, nd);
        return;
    }
    uint64_t k = 1;
    while (k * 2 < nd)
        k *= 2;
    if (m <= k) {
        subproof_def(out, n, m, d, k, b);
        mth(out[(*n)++], d + k, nd - k);
    } else {
        subproof_def(out, n, m - k, d + k, nd - k, 0);
        mth(out[(*n)++], d, k);
    }
}

static void test_every_consistency_proof(void **state)
{
    (void)state;
    make_leaves();
    for (uint64_t n = 1; n <= 70; n++) {
        unsigned char rn[32];
        mth(rn, leaves, n);
        for (uint64_t m = 1; m <= n; m++) {
            unsigned char rm[32], proof[ICX_CONSISTENCY_MAX][32];
            unsigned char want[ICX_CONSISTENCY_MAX][32];
            int np = -1, nw = 0;
            mth(rm, leaves, m);
            assert_int_equal(icx_merkle_consistency(proof, &np,
                                 (const unsigned char (*)[32])leaves, n, m),
                             ICX_OK);
            subproof_def(want, &nw, m, leaves, n, 1);
            if (np != nw || memcmp(proof, want, (size_t)np * 32) != 0)
                fail_msg("PROOF(%llu, D[%llu]): got %d hashes, want %d as "
                         "RFC 6962 defines them", (unsigned long long)m,
                         (unsigned long long)n, np, nw);
            if (icx_merkle_check_consistency(
                    m, rm, n, rn, (const unsigned char (*)[32])proof, np) !=
                ICX_OK)
                fail_msg("check of PROOF(%llu, D[%llu]): got refused, want "
                         "ok", (unsigned long long)m, (unsigned long long)n);
            /* Each hash changed, a root changed, a size changed: refused. */
            for (int i = 0; i < np; i++) {
                proof[i][i % 32] ^= 1;
                if (icx_merkle_check_consistency(
                        m, rm, n, rn, (const unsigned char (*)[32])proof,
                        np) == ICX_OK)
                    fail_msg("PROOF(%llu, D[%llu]) with hash %d changed: got "
                             "ok, want refused", (unsigned long long)m,
                             (unsigned long long)n, i);
                proof[i][i % 32] ^= 1;
            }
            rm[0] ^= 1;
            assert_int_not_equal(icx_merkle_check_consistency(
                m, rm, n, rn, (const unsigned char (*)[32])proof, np), ICX_OK);
            rm[0] ^= 1;
            rn[5] ^= 1;
            assert_int_not_equal(icx_merkle_check_consistency(
                m, rm, n, rn, (const unsigned char (*)[32])proof, np), ICX_OK);
            rn[5] ^= 1;
            if (m > 1 && m < n)
                assert_int_not_equal(icx_merkle_check_consistency(
                    m - 1, rm, n, rn, (const unsigned char (*)[32])proof, np),
                    ICX_OK);
            if (np > 0)
                assert_int_not_equal(icx_merkle_check_consistency(
                    m, rm, n, rn, (const unsigned char (*)[32])proof, np - 1),
                    ICX_OK);
        }
    }
    /* A fork: another tree of the same size n is not an extension. */
    unsigned char forked[70][32], rf[32], rm[32], proof[ICX_CONSISTENCY_MAX][32];
    int np = 0;
    memcpy(forked, leaves, sizeof forked);
    forked[10][0] ^= 1;
    mth(rf, forked, 40);
    mth(rm, leaves, 20);
    assert_int_equal(icx_merkle_consistency(proof, &np,
                         (const unsigned char (*)[32])forked, 40, 20), ICX_OK);
    assert_int_equal(icx_merkle_check_consistency(
        20, rm, 40, rf, (const unsigned char (*)[32])proof, np), ICX_EBADSIG);
    unsigned char r0[32];
    assert_int_equal(icx_merkle_check_consistency(
        0, r0, 40, rf, (const unsigned char (*)[32])proof, np), ICX_EINVAL);
    assert_int_equal(icx_merkle_check_consistency(
        41, rm, 40, rf, (const unsigned char (*)[32])proof, np), ICX_EINVAL);
}

static void test_damage_is_named(void **state)
{
    (void)state;
    icx_audit_rec r[10], t[11];
    int64_t seq;
    chain(r, 10);
    assert_int_equal(run(r, 10, &seq), ICX_DAMAGE_NONE);
    /* edited */
    memcpy(t, r, sizeof r);
    snprintf(t[4].detail, sizeof t[4].detail, "n=99");
    assert_int_equal(run(t, 10, &seq), ICX_DAMAGE_EDITED);
    assert_int_equal(seq, 5);
    /* deleted */
    memcpy(t, r, 4 * sizeof r[0]);
    memcpy(t + 4, r + 5, 5 * sizeof r[0]);
    assert_int_equal(run(t, 9, &seq), ICX_DAMAGE_DELETED);
    assert_int_equal(seq, 5);
    /* reordered */
    memcpy(t, r, sizeof r);
    t[5] = r[6];
    t[6] = r[5];
    assert_int_equal(run(t, 10, &seq), ICX_DAMAGE_REORDERED);
    assert_int_equal(seq, 7);
    /* inserted: a copy of record 3 slipped in after it */
    memcpy(t, r, 3 * sizeof r[0]);
    t[3] = r[2];
    memcpy(t + 4, r + 3, 7 * sizeof r[0]);
    assert_int_not_equal(run(t, 11, &seq), ICX_DAMAGE_NONE);
}

/* A key held elsewhere: signs digests, ECDSA as r||s. */
static int ec_sign_raw(void *ctx, const unsigned char *dg, size_t dlen,
                       unsigned char *sig, size_t *siglen, icx_err *err)
{
    unsigned char der[128];
    size_t dl = sizeof der;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ctx, NULL);
    int ok = c != NULL && EVP_PKEY_sign_init(c) == 1 &&
             EVP_PKEY_sign(c, der, &dl, dg, dlen) == 1;
    EVP_PKEY_CTX_free(c);
    const unsigned char *p = der;
    ECDSA_SIG *es = ok ? d2i_ECDSA_SIG(NULL, &p, (long)dl) : NULL;
    if (es == NULL)
        return icx_err_set(err, ICX_ECRYPTO, "sign failed");
    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
    *siglen = 64;
    ECDSA_SIG_free(es);
    return ICX_OK;
}

/* A PEM bundle of certificates (keys.audit_certificates after a key
 * rollover) verifies a checkpoint when one of its certificates does, for
 * checkpoints signed from a file and from a digest by a key elsewhere. */
static void test_checkpoint_keys(void **state)
{
    (void)state;
    char *dir = icx_test_mkdtemp();
    icx_err err;
    icx_err_clear(&err);
    EVP_PKEY *old = icx_test_key("rsa2048"), *new = icx_test_key("p256"),
             *other = icx_test_key("p256");
    const char *oldc = icx_test_path("%s/old.pem", dir);
    const char *newc = icx_test_path("%s/new.pem", dir);
    const char *otherc = icx_test_path("%s/other.pem", dir);
    const char *oldk = icx_test_path("%s/old.key", dir);
    icx_test_write_key(oldk, oldc, old, "JP-NPA");
    icx_test_write_key(NULL, newc, new, "JP-NPA");
    icx_test_write_key(NULL, otherc, other, "JP-NPA");
    char *a = NULL, *b = NULL, *c = NULL;
    size_t al, bl, cl;
    assert_int_equal(icx_file_read(&a, &al, oldc, 1 << 16, &err), 0);
    assert_int_equal(icx_file_read(&b, &bl, newc, 1 << 16, &err), 0);
    assert_int_equal(icx_file_read(&c, &cl, otherc, 1 << 16, &err), 0);
    char bundle[3 * 4096], wrong[3 * 4096];
    int n = snprintf(bundle, sizeof bundle, "%s%s", a, b);
    int m = snprintf(wrong, sizeof wrong, "%s%s", a, c);

    icx_checkpoint cp1, cp2;
    memset(&cp1, 0, sizeof cp1);
    snprintf(cp1.gateway, sizeof cp1.gateway, "JP-NPA");
    cp1.size = 7;
    snprintf(cp1.root, sizeof cp1.root, "%064d", 0);
    snprintf(cp1.time, sizeof cp1.time, "2026-12-04T00:00:00.000Z");
    cp2 = cp1;
    cp2.size = 9;
    CHECK_RC(icx_checkpoint_sign(&cp1, oldk, &err), ICX_OK, &err);
    unsigned char dg[32], sig[64];
    size_t siglen = sizeof sig;
    CHECK_RC(icx_checkpoint_digest(dg, &cp2, &err), ICX_OK, &err);
    CHECK_RC(ec_sign_raw(new, dg, sizeof dg, sig, &siglen, &err), ICX_OK,
             &err);
    CHECK_RC(icx_checkpoint_set_signature(&cp2, sig, siglen, 32, &err),
             ICX_OK, &err);

    CHECK_RC(icx_checkpoint_verify(&cp1, a, al, &err), ICX_OK, &err);
    CHECK_RC(icx_checkpoint_verify(&cp2, b, bl, &err), ICX_OK, &err);
    CHECK_RC(icx_checkpoint_verify(&cp2, a, al, &err), ICX_EBADSIG, &err);
    CHECK_RC(icx_checkpoint_verify(&cp1, bundle, (size_t)n, &err), ICX_OK,
             &err);
    CHECK_RC(icx_checkpoint_verify(&cp2, bundle, (size_t)n, &err), ICX_OK,
             &err);
    CHECK_RC(icx_checkpoint_verify(&cp2, wrong, (size_t)m, &err), ICX_EBADSIG,
             &err);
    assert_non_null(strstr(err.msg, "gateway certificates"));
    cp2.size = 10; /* what was signed no longer */
    CHECK_RC(icx_checkpoint_verify(&cp2, bundle, (size_t)n, &err),
             ICX_EBADSIG, &err);
    free(a);
    free(b);
    free(c);
    EVP_PKEY_free(old);
    EVP_PKEY_free(new);
    EVP_PKEY_free(other);
    icx_test_rmrf(dir);
    free(dir);
}

/* The daemon's way (digest, the signer's raw signature, stored): what
 * icx_checkpoint_verify accepts, for RSA the very signature
 * icx_checkpoint_sign makes, for ECDSA r||s stored as DER. */
static void test_checkpoint_signed_in_two_halves(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    assert_int_equal(icx_xmlsig_init(&err), 0);
    char *dir = icx_test_mkdtemp();
    static const struct {
        const char *id;
        int alg;
    } algs[] = {{"JP-NPA", ICX_ALG_RSA2048}, {"PH-NBI", ICX_ALG_ECDSA_P256}};
    for (size_t a = 0; a < 2; a++) {
        const char *kd = icx_test_path("%s/%s", dir, algs[a].id);
        char key[512], certp[512];
        snprintf(key, sizeof key, "%s/key.pem", kd);
        snprintf(certp, sizeof certp, "%s/cert.pem", kd);
        assert_int_equal(icx_keys_generate(algs[a].id, kd, algs[a].alg, 30,
                                           &err), 0);
        icx_signer *s = NULL;
        assert_int_equal(icx_signer_load(&s, key, &err), 0);
        icx_checkpoint c, ref;
        memset(&c, 0, sizeof c);
        snprintf(c.gateway, sizeof c.gateway, "%s", algs[a].id);
        c.size = 42;
        memset(c.root, 'a', 64);
        snprintf(c.time, sizeof c.time, "2026-01-02T03:04:05.678Z");
        ref = c;
        unsigned char digest[32], sig[ICX_SIG_MAX];
        size_t siglen = sizeof sig;
        assert_int_equal(icx_checkpoint_digest(digest, &c, &err), 0);
        assert_int_equal(icx_signer_sign_digest(sig, &siglen, s, digest, &err), 0);
        assert_int_equal(icx_checkpoint_set_signature(
                             &c, sig, siglen,
                             icx_signer_ecdsa(s) ? icx_signer_field(s) : 0,
                             &err), 0);
        char *cert = NULL;
        size_t cert_len = 0;
        assert_int_equal(icx_file_read(&cert, &cert_len, certp, 1 << 16, &err), 0);
        assert_int_equal(icx_checkpoint_verify(&c, cert, cert_len, &err), 0);
        if (!icx_signer_ecdsa(s)) {
            assert_int_equal(icx_checkpoint_sign(&ref, key, &err), 0);
            assert_string_equal(c.signature, ref.signature);
        } else {
            /* r||s of the wrong length is refused, not stored */
            assert_int_equal(icx_checkpoint_set_signature(&ref, sig, siglen - 1,
                                                          icx_signer_field(s),
                                                          &err), ICX_ECRYPTO);
        }
        c.size = 43; /* the signature covers the text */
        assert_int_equal(icx_checkpoint_verify(&c, cert, cert_len, &err),
                         ICX_EBADSIG);
        free(cert);
        icx_signer_free(&s);
    }
    icx_test_rmrf(dir);
    free(dir);
    icx_xmlsig_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leaf_is_rfc6962),
        cmocka_unit_test(test_incremental_root_matches_definition),
        cmocka_unit_test(test_every_inclusion_proof),
        cmocka_unit_test(test_every_consistency_proof),
        cmocka_unit_test(test_damage_is_named),
        cmocka_unit_test(test_checkpoint_keys),
        cmocka_unit_test(test_checkpoint_signed_in_two_halves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
