/*
 * signkey.c - opens the gateway's signing key as configured (signkey.h).
 *
 * A key file goes to icx_signer_load (mode rule, strength rule).  A token
 * key: the PIN from its one configured source (p11.h), icx_p11_open
 * (module, token, login, key, strength, test signature), then the token's
 * public key compared with keys.certificate's, then a signer over it.
 * Fails with the first problem; everything opened is closed again.
 */
#include "signkey.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keys.h"
#include "p11.h"
#include "util.h"

int icx_signkey_in_token(const icx_config *cfg)
{
    return cfg != NULL && icx_p11_uri_is(cfg->private_key);
}

void icx_signkey_args(const icx_config *cfg,
                      const char *out[ICX_SIGNKEY_ARGS])
{
    size_t n = 0;
    if (icx_signkey_in_token(cfg)) {
        const char *const named[][2] = {
            {"--module", cfg->pkcs11_module},
            {"--certificate", cfg->certificate},
            {"--pin-file", cfg->pin_file},
            {"--pin-env", cfg->pin_env},
        };
        for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
            if (named[i][1] != NULL) {
                out[n++] = named[i][0];
                out[n++] = named[i][1];
            }
    }
    out[n] = NULL;
}

/* 0 when cert_path holds the certificate of pub. */
static int check_cert_matches(const char *cert_path, EVP_PKEY *pub,
                              const char *token, icx_err *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = icx_file_read(&data, &len, cert_path, 256 * 1024, err);
    if (rc < 0)
        return icx_err_wrap(err, "keys.certificate");
    BIO *b = BIO_new_mem_buf(data, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    free(data);
    if (x == NULL)
        return icx_err_set(err, ICX_EINVAL, "%s: not a PEM X.509 certificate",
                           cert_path);
    if (EVP_PKEY_eq(X509_get0_pubkey(x), pub) != 1)
        rc = icx_err_set(err, ICX_ECONFIG, "keys.certificate %s is not the "
                         "certificate of the key in PKCS#11 token \"%s\"; "
                         "partners would refuse every envelope.  Make it "
                         "with icx keys gen --pkcs11, or name the right key",
                         cert_path, token);
    X509_free(x);
    return rc;
}

int icx_signkey_open(icx_signer **out, const icx_config *cfg, icx_err *err)
{
    char pin[ICX_P11_PIN_MAX + 1] = "";
    icx_p11_uri u;
    icx_p11 *p = NULL;
    EVP_PKEY *pub = NULL;
    *out = NULL;
    if (!icx_signkey_in_token(cfg))
        return icx_signer_load(out, cfg->private_key, err);
    int rc = icx_p11_uri_parse(&u, cfg->private_key, err);
    if (rc < 0)
        return icx_err_wrap(err, "keys.private_key");
    rc = icx_p11_pin_read(pin, cfg->pin_file != NULL ? cfg->pin_file
                               : u.pin_source[0]   ? u.pin_source
                                                   : NULL,
                          cfg->pin_env, err);
    if (rc == ICX_OK)
        rc = icx_p11_open(&p, cfg->pkcs11_module, cfg->private_key, pin, err);
    OPENSSL_cleanse(pin, sizeof pin);
    if (rc < 0)
        goto out;
    pub = icx_p11_public_key(p);
    if (pub == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    rc = check_cert_matches(cfg->certificate, pub,
                            u.token[0] ? u.token : u.serial, err);
    if (rc == ICX_OK)
        rc = icx_p11_signer(out, &p, err);
out:
    EVP_PKEY_free(pub);
    icx_p11_free(&p);
    return rc;
}
