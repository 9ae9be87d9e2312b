/*
 * test_p11.c - PKCS#11 keys (p11.h): RFC 7512 URIs (good ones and the
 * exact error of bad ones), PIN sources, and a SoftHSM2 token made in a
 * temporary folder: key generation inside the token, signatures that
 * OpenSSL verifies as RSA-SHA256 and ECDSA-SHA256 (raw r||s), signing
 * from several threads, and the errors of a wrong PIN, a missing token,
 * a missing or removed key and a module that cannot be loaded; the same
 * token key in the signer process (`icx signer`, as icx serve starts
 * it), with the token's errors passed on word for word.
 *
 * The module is /usr/lib/softhsm/libsofthsm2.so (Debian softhsm2,
 * installed by scripts/deps.sh) or ICX_TEST_PKCS11_MODULE.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include "keys.h"
#include "p11.h"
#include "signerproc.h"
#include "testutil.h"

#define TOKEN "icx-test"
#define PIN "4711-test"

static char *dir;
static const char *module;

/* ---- URIs ---------------------------------------------------------------- */

static void test_uri_good(void **state)
{
    (void)state;
    icx_p11_uri u;
    icx_err err;
    icx_err_clear(&err);

    CHECK_RC(icx_p11_uri_parse(&u, "pkcs11:token=ICX%20Test;object=jp-sign;"
                               "type=private", &err), ICX_OK, &err);
    assert_string_equal(u.token, "ICX Test");
    assert_string_equal(u.object, "jp-sign");
    assert_int_equal(u.id_len, 0);
    assert_string_equal(u.pin_source, "");

    CHECK_RC(icx_p11_uri_parse(&u, "PKCS11:id=%01%02%ff;serial=12ab",
                               &err), ICX_OK, &err);
    assert_int_equal(u.id_len, 3);
    assert_memory_equal(u.id, "\x01\x02\xff", 3);
    assert_string_equal(u.serial, "12ab");
    assert_string_equal(u.token, "");

    CHECK_RC(icx_p11_uri_parse(&u, "pkcs11:object=k;token=a=b;manufacturer="
                               "SoftHSM%20project;model=SoftHSM%20v2"
                               "?pin-source=file:/etc/icx/pin", &err),
             ICX_OK, &err);
    assert_string_equal(u.token, "a=b");
    assert_string_equal(u.manufacturer, "SoftHSM project");
    assert_string_equal(u.model, "SoftHSM v2");
    assert_string_equal(u.pin_source, "/etc/icx/pin");

    CHECK_RC(icx_p11_uri_parse(&u, "pkcs11:token=t;object=k?pin-source="
                               "%2Frun%2Fpin", &err), ICX_OK, &err);
    assert_string_equal(u.pin_source, "/run/pin");

    assert_true(icx_p11_uri_is("pkcs11:token=t"));
    assert_true(icx_p11_uri_is("PKCS11:"));
    assert_false(icx_p11_uri_is("keys/key.pem"));
    assert_false(icx_p11_uri_is("pkcs11"));
}

static void test_uri_bad(void **state)
{
    (void)state;
    char label65[80], id65[300], longuri[1100];
    memset(label65, 'x', 65);
    label65[65] = '\0';
    char *w = id65;
    for (int i = 0; i < 65; i++)
        w += snprintf(w, 4, "%%%02x", i);
    snprintf(longuri, sizeof longuri, "pkcs11:token=t;object=%01020d", 7);
    static char obj65[120], id65uri[400];
    snprintf(obj65, sizeof obj65, "pkcs11:token=t;object=%s", label65);
    snprintf(id65uri, sizeof id65uri, "pkcs11:token=t;id=%s", id65);
    const struct {
        const char *uri;
        const char *says;
    } bad[] = {
        {"pkcs:token=a;object=k", "not a pkcs11: URI"},
        {"pkcs11:token=a", "names no key"},
        {"pkcs11:object=k", "names no token"},
        {"pkcs11:", "names no token"},
        {"pkcs11:token=a;object=k;object=j", "object given twice"},
        {"pkcs11:token=a;object=k;colour=red", "unknown attribute \"colour\""},
        {"pkcs11:token=a%2;object=k", "token: bad percent-encoding"},
        {"pkcs11:token=a%zz;object=k", "token: bad percent-encoding"},
        {"pkcs11:token=a b;object=k", "character 0x20 must be percent-encoded"},
        {"pkcs11:token=a\xc3\xa9;object=k", "character 0xc3 must be"},
        {"pkcs11:token=a/b;object=k", "character 0x2f must be"},
        {"pkcs11:token=a%00b;object=k", "token: holds a NUL byte"},
        {"pkcs11:token=;object=k", "token: empty"},
        {"pkcs11:token=a;id=;object=k", "id: empty"},
        {"pkcs11:token=a;;object=k", "empty attribute"},
        {"pkcs11:token=a;object=k;", "empty attribute"},
        {"pkcs11:token;object=k", "\"token\" has no value"},
        {"pkcs11:token=a;object=k;type=public", "type=private"},
        {"pkcs11:token=a;object=k?pin-value=1234", "pin-value is refused"},
        {"pkcs11:token=a;object=k?module-path=/x.so", "module-path is not used"},
        {"pkcs11:token=a;object=k?pin-source=pin.txt", "want an absolute"},
        {"pkcs11:token=a;object=k?pin-source=/a&pin-source=/b",
         "pin-source given twice"},
        {"pkcs11:token=a;object=k?", "empty query"},
        {"pkcs11:token=a;object=k?colour=red", "unknown query attribute"},
        {obj65, "object: longer than 64 bytes"},
        {id65uri, "id: longer than 64 bytes"},
        {longuri, "longer than 1024 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        icx_p11_uri u;
        icx_err err;
        icx_err_clear(&err);
        int rc = icx_p11_uri_parse(&u, bad[i].uri, &err);
        if (rc != ICX_EINVAL || strstr(err.msg, bad[i].says) == NULL)
            fail_msg("%.60s: got %s \"%s\", want EINVAL \"...%s...\"",
                     bad[i].uri, icx_rc_name(rc), err.msg, bad[i].says);
    }
}

static void test_pin_read(void **state)
{
    (void)state;
    char pin[ICX_P11_PIN_MAX + 1];
    icx_err err;
    icx_err_clear(&err);
    const char *f = icx_test_path("%s/pin", dir);
    icx_test_write(f, "s3cret\n");
    chmod(f, 0644);
    CHECK_RC(icx_p11_pin_read(pin, f, NULL, &err), ICX_EPERM, &err);
    assert_non_null(strstr(err.msg, "chmod 600"));
    chmod(f, 0600);
    CHECK_RC(icx_p11_pin_read(pin, f, NULL, &err), ICX_OK, &err);
    assert_string_equal(pin, "s3cret");
    icx_test_write(f, "\n");
    chmod(f, 0600);
    CHECK_RC(icx_p11_pin_read(pin, f, NULL, &err), ICX_EINVAL, &err);

    unsetenv("ICX_TEST_PIN");
    CHECK_RC(icx_p11_pin_read(pin, NULL, "ICX_TEST_PIN", &err), ICX_ENOTFOUND,
             &err);
    assert_non_null(strstr(err.msg, "ICX_TEST_PIN"));
    setenv("ICX_TEST_PIN", "from-env", 1);
    CHECK_RC(icx_p11_pin_read(pin, NULL, "ICX_TEST_PIN", &err), ICX_OK, &err);
    assert_string_equal(pin, "from-env");
    unsetenv("ICX_TEST_PIN");
    CHECK_RC(icx_p11_pin_read(pin, NULL, NULL, &err), ICX_ENOTFOUND, &err);
}

/* ---- the token ----------------------------------------------------------- */

static int token_setup(void **state)
{
    (void)state;
    char out[4096];
    dir = icx_test_mkdtemp();
    module = getenv("ICX_TEST_PKCS11_MODULE");
    if (module == NULL)
        module = "/usr/lib/softhsm/libsofthsm2.so";
    if (mkdir(icx_test_path("%s/tokens", dir), 0700) != 0)
        return -1;
    const char *conf = icx_test_path("%s/softhsm2.conf", dir);
    icx_test_write(conf, icx_test_path("directories.tokendir = %s/tokens\n"
                                       "objectstore.backend = file\n"
                                       "log.level = ERROR\n", dir));
    setenv("SOFTHSM2_CONF", conf, 1);
    const char *init[] = {"softhsm2-util", "--init-token", "--free", "--label",
                          TOKEN, "--pin", PIN, "--so-pin", "so-4711", NULL};
    if (icx_test_run(out, sizeof out, init) != 0) {
        fprintf(stderr, "softhsm2-util --init-token failed (install softhsm2 "
                "with scripts/deps.sh): %s\n", out);
        return -1;
    }
    icx_err err;
    icx_err_clear(&err);
    if (icx_p11_generate(module, "pkcs11:token=" TOKEN ";object=rsa", PIN,
                         ICX_ALG_RSA2048, &err) < 0 ||
        icx_p11_generate(module, "pkcs11:token=" TOKEN ";object=ec;id=%0e",
                         PIN, ICX_ALG_ECDSA_P256, &err) < 0) {
        fprintf(stderr, "key generation in the token failed: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int token_teardown(void **state)
{
    (void)state;
    icx_test_rmrf(dir);
    free(dir);
    return 0;
}

/* Verifies sig (raw r||s for EC) over msg with pub as OpenSSL's
 * RSA-SHA256 or ECDSA-SHA256. */
static int openssl_verifies(EVP_PKEY *pub, int ecdsa, size_t field,
                            const unsigned char *msg, size_t mlen,
                            const unsigned char *sig, size_t siglen)
{
    unsigned char der[256];
    const unsigned char *s = sig;
    size_t slen = siglen;
    if (ecdsa) {
        ECDSA_SIG *es = ECDSA_SIG_new();
        assert_non_null(es);
        assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)field, NULL),
                                        BN_bin2bn(sig + field, (int)field,
                                                  NULL)), 1);
        unsigned char *w = der;
        int n = i2d_ECDSA_SIG(es, &w);
        ECDSA_SIG_free(es);
        assert_true(n > 0);
        s = der;
        slen = (size_t)n;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
             EVP_DigestVerify(md, s, slen, msg, mlen) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

static void sign_and_check(icx_p11 *p, const char *msg)
{
    unsigned char dg[32], sig[512];
    size_t siglen = sizeof sig;
    icx_err err;
    icx_err_clear(&err);
    EVP_Digest(msg, strlen(msg), dg, NULL, EVP_sha256(), NULL);
    CHECK_RC(icx_p11_sign_digest(p, dg, sizeof dg, sig, &siglen, &err), ICX_OK,
             &err);
    EVP_PKEY *pub = icx_p11_public_key(p);
    assert_non_null(pub);
    size_t field = icx_p11_field(p);
    assert_int_equal(siglen, icx_p11_is_ecdsa(p) ? 2 * field : field);
    assert_true(openssl_verifies(pub, icx_p11_is_ecdsa(p), field,
                                 (const unsigned char *)msg, strlen(msg), sig,
                                 siglen));
    /* One bit changed: refused. */
    sig[siglen / 2] ^= 0x01;
    assert_false(openssl_verifies(pub, icx_p11_is_ecdsa(p), field,
                                  (const unsigned char *)msg, strlen(msg), sig,
                                  siglen));
    EVP_PKEY_free(pub);
}

static void test_sign_rsa(void **state)
{
    (void)state;
    icx_p11 *p = NULL;
    icx_err err;
    icx_err_clear(&err);
    CHECK_RC(icx_p11_open(&p, module, "pkcs11:token=" TOKEN ";object=rsa;"
                          "type=private", PIN, &err), ICX_OK, &err);
    assert_int_equal(icx_p11_is_ecdsa(p), 0);
    assert_int_equal(icx_p11_field(p), 256);
    sign_and_check(p, "<SignedInfo>rsa</SignedInfo>");

    /* Not a SHA-256 digest, or a buffer too small: refused. */
    unsigned char sig[512];
    size_t siglen = sizeof sig;
    CHECK_RC(icx_p11_sign_digest(p, sig, 20, sig, &siglen, &err), ICX_EINVAL,
             &err);
    siglen = 100;
    CHECK_RC(icx_p11_sign_digest(p, sig, 32, sig, &siglen, &err), ICX_EINVAL,
             &err);
    icx_p11_free(&p);
    assert_null(p);
    icx_p11_free(&p);
}

static void test_sign_ecdsa(void **state)
{
    (void)state;
    icx_p11 *p = NULL;
    icx_err err;
    icx_err_clear(&err);
    /* By id alone, and by the label. */
    CHECK_RC(icx_p11_open(&p, module, "pkcs11:token=" TOKEN ";id=%0E", PIN,
                          &err), ICX_OK, &err);
    assert_int_equal(icx_p11_is_ecdsa(p), 1);
    assert_int_equal(icx_p11_field(p), 32);
    sign_and_check(p, "<SignedInfo>ec</SignedInfo>");
    icx_p11_free(&p);
    CHECK_RC(icx_p11_open(&p, module, "pkcs11:token=" TOKEN ";object=ec", PIN,
                          &err), ICX_OK, &err);
    sign_and_check(p, "another");
    icx_p11_free(&p);
}

struct burst {
    icx_p11 *p;
    int ok;
};

static void *signer_thread(void *arg)
{
    struct burst *b = arg;
    EVP_PKEY *pub = icx_p11_public_key(b->p);
    for (int i = 0; i < 25; i++) {
        unsigned char msg[32], dg[32], sig[512];
        size_t siglen = sizeof sig;
        icx_err err;
        icx_err_clear(&err);
        RAND_bytes(msg, sizeof msg);
        EVP_Digest(msg, sizeof msg, dg, NULL, EVP_sha256(), NULL);
        if (icx_p11_sign_digest(b->p, dg, sizeof dg, sig, &siglen, &err) < 0 ||
            !openssl_verifies(pub, icx_p11_is_ecdsa(b->p), icx_p11_field(b->p),
                              msg, sizeof msg, sig, siglen))
            b->ok = 0;
    }
    EVP_PKEY_free(pub);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    icx_p11 *p = NULL;
    icx_err err;
    icx_err_clear(&err);
    CHECK_RC(icx_p11_open(&p, module, "pkcs11:token=" TOKEN ";object=ec", PIN,
                          &err), ICX_OK, &err);
    pthread_t t[4];
    struct burst b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = (struct burst){p, 1};
        assert_int_equal(pthread_create(&t[i], NULL, signer_thread, &b[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(b[i].ok);
    }
    icx_p11_free(&p);
}

static void expect_open_fails(const char *mod, const char *uri, const char *pin,
                              int want, const char *says)
{
    icx_p11 *p = NULL;
    icx_err err;
    icx_err_clear(&err);
    int rc = icx_p11_open(&p, mod, uri, pin, &err);
    if (rc != want || strstr(err.msg, says) == NULL)
        fail_msg("%s: got %s \"%s\", want %s \"...%s...\"", uri,
                 icx_rc_name(rc), err.msg, icx_rc_name(want), says);
    assert_null(p);
}

static void test_open_errors(void **state)
{
    (void)state;
    const char *rsa = "pkcs11:token=" TOKEN ";object=rsa";
    expect_open_fails(module, rsa, "wrong-pin", ICX_EPERM,
                      "PKCS#11 token \"icx-test\": wrong PIN");
    expect_open_fails(module, "pkcs11:token=nope;object=rsa", PIN,
                      ICX_ENOTFOUND, "no token labelled \"nope\" (tokens "
                      "present: \"icx-test\")");
    expect_open_fails(module, "pkcs11:token=" TOKEN ";object=absent", PIN,
                      ICX_ENOTFOUND, "no private key object=\"absent\"");
    expect_open_fails(module, "pkcs11:token=" TOKEN ";object=rsa;id=%0e", PIN,
                      ICX_ENOTFOUND, "no private key object=\"rsa\" id=0e");
    expect_open_fails("/nonexistent/libnope.so", rsa, PIN, ICX_ECONFIG,
                      "PKCS#11 module /nonexistent/libnope.so: cannot load");
    expect_open_fails("libm.so.6", rsa, PIN, ICX_ECONFIG,
                      "not a PKCS#11 module");
    expect_open_fails(NULL, rsa, PIN, ICX_ECONFIG, "no PKCS#11 module");
    expect_open_fails(module, "pkcs11:token=" TOKEN, PIN, ICX_EINVAL,
                      "names no key");
    /* The right PIN still works after wrong ones. */
    icx_p11 *p = NULL;
    icx_err err;
    icx_err_clear(&err);
    CHECK_RC(icx_p11_open(&p, module, rsa, PIN, &err), ICX_OK, &err);
    icx_p11_free(&p);
}

static void test_generate_refuses_existing(void **state)
{
    (void)state;
    icx_err err;
    icx_err_clear(&err);
    CHECK_RC(icx_p11_generate(module, "pkcs11:token=" TOKEN ";object=rsa", PIN,
                              ICX_ALG_RSA2048, &err), ICX_EEXIST, &err);
    assert_non_null(strstr(err.msg, "exists; refusing"));
    /* The id is taken too, whatever the label. */
    CHECK_RC(icx_p11_generate(module, "pkcs11:token=" TOKEN ";object=new;"
                              "id=%0e", PIN, ICX_ALG_ECDSA_P256, &err),
             ICX_EEXIST, &err);
    CHECK_RC(icx_p11_generate(module, "pkcs11:token=" TOKEN ";id=%0f", PIN,
                              ICX_ALG_ECDSA_P256, &err), ICX_EINVAL, &err);
    CHECK_RC(icx_p11_generate(module, "pkcs11:token=" TOKEN ";object=x",
                              "wrong", ICX_ALG_ECDSA_P256, &err), ICX_EPERM,
             &err);
}

/* The token's own API, to take a key out from under an open icx_p11. */
static void destroy_key(const char *label)
{
    void *dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(dl);
    CK_C_GetFunctionList get = NULL;
    *(void **)&get = dlsym(dl, "C_GetFunctionList");
    CK_FUNCTION_LIST *fl = NULL;
    assert_int_equal(get(&fl), CKR_OK);
    /* Initialized already when an icx_p11 of this process is open. */
    CK_RV irv = fl->C_Initialize(NULL);
    assert_true(irv == CKR_OK || irv == CKR_CRYPTOKI_ALREADY_INITIALIZED);
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    assert_int_equal(fl->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    CK_SLOT_ID slot = 0;
    int found = 0;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
            strncmp((char *)ti.label, TOKEN " ", strlen(TOKEN) + 1) == 0)
            slot = slots[i], found = 1;
    }
    assert_true(found);
    CK_SESSION_HANDLE s;
    assert_int_equal(fl->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                       NULL, NULL, &s), CKR_OK);
    CK_RV rv = fl->C_Login(s, CKU_USER, (CK_UTF8CHAR *)PIN, strlen(PIN));
    assert_true(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                        {CKA_LABEL, (void *)label, strlen(label)}};
    CK_OBJECT_HANDLE h;
    CK_ULONG got = 0;
    assert_int_equal(fl->C_FindObjectsInit(s, t, 2), CKR_OK);
    assert_int_equal(fl->C_FindObjects(s, &h, 1, &got), CKR_OK);
    fl->C_FindObjectsFinal(s);
    assert_int_equal(got, 1);
    assert_int_equal(fl->C_DestroyObject(s, h), CKR_OK);
    fl->C_CloseSession(s);
    if (irv == CKR_OK)
        fl->C_Finalize(NULL);
    dlclose(dl);
}

static void test_removed_key(void **state)
{
    (void)state;
    icx_p11 *p = NULL;
    icx_err err;
    icx_err_clear(&err);
    const char *uri = "pkcs11:token=" TOKEN ";object=doomed";
    CHECK_RC(icx_p11_generate(module, uri, PIN, ICX_ALG_ECDSA_P256, &err),
             ICX_OK, &err);
    CHECK_RC(icx_p11_open(&p, module, uri, PIN, &err), ICX_OK, &err);
    sign_and_check(p, "before");
    destroy_key("doomed");
    unsigned char dg[32] = {0}, sig[128];
    size_t siglen = sizeof sig;
    CHECK_RC(icx_p11_sign_digest(p, dg, sizeof dg, sig, &siglen, &err),
             ICX_ENOTFOUND, &err);
    assert_non_null(strstr(err.msg, "the signing key is gone"));
    icx_p11_free(&p);
    expect_open_fails(module, uri, PIN, ICX_ENOTFOUND,
                      "no private key object=\"doomed\"");
}

/* The public key of the certificate in path. */
static EVP_PKEY *cert_key(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    EVP_PKEY *pub = X509_get_pubkey(x);
    X509_free(x);
    assert_non_null(pub);
    return pub;
}

static void test_remote_token(void **state)
{
    (void)state;
    char out[4096];
    const char *uri = "pkcs11:token=" TOKEN ";object=remote";
    char *pinf = strdup(icx_test_path("%s/remote.pin", dir));
    char *kdir = strdup(icx_test_path("%s/remote", dir));
    char *cert = strdup(icx_test_path("%s/remote/cert.pem", dir));
    icx_test_write(pinf, PIN "\n");
    assert_int_equal(chmod(pinf, 0600), 0);
    const char *gen[] = {icx_test_bin(), "keys", "gen", "JP-NPA", "--out",
                         kdir, "--alg", "ecdsa-p256", "--pkcs11", uri,
                         "--module", module, "--pin-file", pinf, NULL};
    if (icx_test_run(out, sizeof out, gen) != 0)
        fail_msg("icx keys gen --pkcs11: %s", out);
    const char *extra[] = {"--module", module, "--certificate", cert,
                           "--pin-file", pinf, NULL};
    icx_signer *s = NULL;
    icx_signer_remote *r = NULL;
    icx_err err;
    icx_err_clear(&err);
    CHECK_RC(icx_signer_remote_start(&s, &r, icx_test_bin(), uri, extra, 1,
                                     &err), ICX_OK, &err);
    assert_true(icx_signer_remote_pid(r) > 0);
    assert_true(icx_signer_ecdsa(s));

    const char *msg = "signed in the signer process";
    unsigned char dg[32], sig[ICX_SIG_MAX];
    size_t siglen = sizeof sig;
    EVP_Digest(msg, strlen(msg), dg, NULL, EVP_sha256(), NULL);
    CHECK_RC(icx_signer_sign_digest(sig, &siglen, s, dg, &err), ICX_OK, &err);
    EVP_PKEY *pub = cert_key(cert);
    assert_int_equal(siglen, 64);
    assert_true(openssl_verifies(pub, 1, 32, (const unsigned char *)msg,
                                 strlen(msg), sig, siglen));
    EVP_PKEY_free(pub);

    /* The key taken out of the token: the signer's refusal, in its words. */
    destroy_key("remote");
    siglen = sizeof sig;
    CHECK_RC(icx_signer_sign_digest(sig, &siglen, s, dg, &err), ICX_ENOTFOUND,
             &err);
    assert_non_null(strstr(err.msg, "the signing key is gone"));
    icx_signer_free(&s);

    /* A wrong PIN: the signer does not start, and says why. */
    icx_test_write(pinf, "not-the-pin\n");
    assert_true(icx_signer_remote_start(&s, &r, icx_test_bin(), uri, extra, 1,
                                        &err) < 0);
    assert_null(s);
    if (strstr(err.msg, "wrong PIN") == NULL)
        fail_msg("wrong PIN through the signer process: %s", err.msg);
    free(pinf);
    free(kdir);
    free(cert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_good),
        cmocka_unit_test(test_uri_bad),
        cmocka_unit_test(test_pin_read),
        cmocka_unit_test(test_sign_rsa),
        cmocka_unit_test(test_sign_ecdsa),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_generate_refuses_existing),
        cmocka_unit_test(test_removed_key),
        cmocka_unit_test(test_remote_token),
    };
    return cmocka_run_group_tests(tests, token_setup, token_teardown);
}
