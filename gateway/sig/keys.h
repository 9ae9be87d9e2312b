/*
 * keys.h - agency keys on disk: generation, permission checks, fingerprints.
 *
 * An agency's key folder holds key.pem (private key, mode 0600), cert.pem
 * (self-signed X.509, subject CN = agency id, O = ICX), curve.key (CURVE
 * public and secret key in Z85, mode 0600) and curve.pub (the public key,
 * to copy into partners' files).
 *
 * A private key file readable or writable by group or others is refused.
 * No function here logs or prints key material; fingerprints are SHA-256 of
 * the DER certificate or of the raw CURVE public key.
 *
 * Ownership: outputs go into caller-provided arrays.  Thread safety: all
 * functions are reentrant.
 */
#ifndef ICX_KEYS_H
#define ICX_KEYS_H

#include <stddef.h>

/* OpenSSL's EVP_PKEY, without its headers. */
struct evp_pkey_st;

#include "err.h"

enum icx_key_alg { ICX_ALG_RSA2048, ICX_ALG_ECDSA_P256 };

#define ICX_Z85_KEY_LEN 40

/* The minimum key strength (DESIGN.md, "Verification policy"): RSA of at
 * least 2048 bits, or ECDSA on P-256, P-384 or P-521.  Every other key
 * (shorter RSA, EC on another or an explicit curve, DSA, EdDSA, ...) is
 * ICX_EPOLICY with a message naming `what` (the file), the key and the
 * rule:  "certs/ph.pem: RSA 1024 bits; the minimum is RSA 2048 or ECDSA
 * P-256/P-384/P-521".  Every path that loads a key or a certificate
 * (configuration check, trust store, signer, key generation) calls it. */
int icx_keys_check_strength(const struct evp_pkey_st *pkey, const char *what,
                            icx_err *err);
/* The same rule's text, for messages that add to it. */
#define ICX_KEYS_RULE "the minimum is RSA 2048 or ECDSA P-256/P-384/P-521"

/* "rsa2048" | "ecdsa-p256"; -1 when unknown. */
int icx_keys_alg_from_name(const char *name);

/* Writes DIR/key.pem, DIR/cert.pem, DIR/curve.key, DIR/curve.pub (creating
 * DIR with mode 0700).  Refuses to overwrite an existing key.pem. */
int icx_keys_generate(const char *agency, const char *dir, int alg,
                      int days, icx_err *err);

/* Signs a SHA-256 digest with a key held elsewhere (a token): RSA
 * PKCS#1 v1.5, or ECDSA as r||s of 2 * field bytes. */
typedef int (*icx_keys_sign_fn)(void *ctx, const unsigned char *digest,
                                size_t dlen, unsigned char *sig,
                                size_t *siglen, icx_err *err);
/* For a key that stays where it is (a PKCS#11 token): writes DIR/cert.pem
 * (self-signed through sign, checked with pub) and the CURVE files, as
 * icx_keys_generate does, without key.pem.  Refuses when DIR holds a
 * key.pem, cert.pem or curve.key already. */
int icx_keys_generate_external(const char *agency, const char *dir,
                               const struct evp_pkey_st *pub, int ecdsa,
                               size_t field, icx_keys_sign_fn sign, void *ctx,
                               int days, icx_err *err);

/* ICX_EPERM with a message saying how to fix it when path is readable or
 * writable by group or others (or is not a regular file). */
int icx_keys_check_private_mode(const char *path, icx_err *err);

/* Checks that path holds one valid PEM X.509 certificate whose key is
 * strong enough (icx_keys_check_strength). */
int icx_keys_check_cert(const char *path, icx_err *err);
/* SHA-256 over the DER certificate, lowercase hex (out >= 65). */
int icx_keys_cert_fingerprint(char *out, const char *cert_path, icx_err *err);
/* The subject CN of the certificate (out >= 64). */
int icx_keys_cert_subject(char *out, size_t outlen, const char *cert_path,
                          icx_err *err);
/* Key algorithm of the certificate, as "rsa2048", "ecdsa-p256", ... */
int icx_keys_cert_alg(char *out, size_t outlen, const char *cert_path,
                      icx_err *err);

/* Reads a curve.key file (mode-checked): "public: Z85\nsecret: Z85\n". */
int icx_keys_load_curve(char pub[ICX_Z85_KEY_LEN + 1],
                        char sec[ICX_Z85_KEY_LEN + 1], const char *path,
                        icx_err *err);
/* True when s is a 40-character Z85 string. */
int icx_keys_z85_valid(const char *s);

#endif
