/*
 * p11.h - an agency signing key held in a PKCS#11 token (an HSM, a smart
 * card, SoftHSM2), named by an RFC 7512 URI.
 *
 * The module (a shared object implementing the PKCS#11 C API) is loaded
 * with dlopen from the path the configuration names; nothing of an engine
 * or provider layer sits between.  The key never leaves the token: ICX
 * hands it SHA-256 digests and gets signatures back, RSA as CKM_RSA_PKCS
 * over the DER DigestInfo (the same bytes as OpenSSL's RSA-SHA256) and
 * ECDSA P-256 as CKM_ECDSA (raw r||s, the XML-DSig form).
 *
 * URIs: "pkcs11:" then path attributes separated by ';' (token,
 * manufacturer, serial, model, object, id, type), then optionally '?' and
 * query attributes separated by '&' (pin-source only, a file path or
 * file: URI).  Values are percent-decoded.  A token must be named (token
 * or serial) and a key (object or id); type, when given, is "private".
 * pin-value, module-name and module-path are refused: a PIN must not sit
 * in a configuration file, and the module path has its own key.
 *
 * Ownership: icx_p11 owns the dlopen handle, the module's initialization
 * and its session; free with icx_p11_free().  EVP_PKEYs returned are the
 * caller's.  The PIN is copied nowhere: it is used for C_Login and the
 * caller wipes its buffer.
 *
 * Threads: icx_p11_sign_digest may be called from several threads at
 * once (a mutex guards the one session; PKCS#11 sessions are not meant to
 * be shared by concurrent calls).  Open and free run on one thread.  A
 * process that forks opens the token again in the child (PKCS#11 state
 * does not survive fork).
 */
#ifndef ICX_P11_H
#define ICX_P11_H

#include <stddef.h>

#include "err.h"

struct evp_pkey_st;

#define ICX_P11_URI_MAX 1024
#define ICX_P11_LABEL_MAX 64   /* CKA_LABEL and token fields, decoded */
#define ICX_P11_ID_MAX 64      /* CKA_ID bytes */
#define ICX_P11_PIN_MAX 256

typedef struct icx_p11_uri {
    char token[ICX_P11_LABEL_MAX + 1];        /* "" when absent */
    char manufacturer[ICX_P11_LABEL_MAX + 1];
    char serial[ICX_P11_LABEL_MAX + 1];
    char model[ICX_P11_LABEL_MAX + 1];
    char object[ICX_P11_LABEL_MAX + 1];
    unsigned char id[ICX_P11_ID_MAX];
    size_t id_len;                            /* 0: no id= */
    char pin_source[512];                     /* a file path, "" absent */
} icx_p11_uri;

/* 1 when s starts with "pkcs11:" (the scheme is case-insensitive). */
int icx_p11_uri_is(const char *s);
/* Parses uri into *out.  ICX_EINVAL with a message naming the attribute
 * and what is wrong with it. */
int icx_p11_uri_parse(icx_p11_uri *out, const char *uri, icx_err *err);

/* Reads a PIN: from pin_file (refused when readable by group or others,
 * like a private key; one line, the newline dropped) or else from the
 * environment variable pin_env.  out holds at least ICX_P11_PIN_MAX + 1
 * bytes; wipe it after use. */
int icx_p11_pin_read(char *out, const char *pin_file, const char *pin_env,
                     icx_err *err);

typedef struct icx_p11 icx_p11;

/* Loads module, initializes it for OS threads, finds the token, opens a
 * session, logs in with pin and finds the private key and its public
 * half.  The public key is checked against the minimum strength rule.
 * Errors say which step failed: the module not loadable, no such token
 * (naming the tokens present), wrong PIN, no such key. */
int icx_p11_open(icx_p11 **out, const char *module, const char *uri,
                 const char *pin, icx_err *err);
void icx_p11_free(icx_p11 **pp);

/* 1 for ECDSA, 0 for RSA. */
int icx_p11_is_ecdsa(const icx_p11 *p);
/* RSA: modulus bytes; ECDSA: bytes of r and of s. */
size_t icx_p11_field(const icx_p11 *p);
/* A new reference to the token key's public half; EVP_PKEY_free it. */
struct evp_pkey_st *icx_p11_public_key(const icx_p11 *p);

/* Signs a SHA-256 digest (dlen 32).  sig holds *siglen bytes on entry
 * (at least 2 * field for ECDSA, field for RSA); on return *siglen is the
 * signature length (RSA: field, ECDSA: r||s, each left-padded to field).
 * Thread-safe. */
int icx_p11_sign_digest(icx_p11 *p, const unsigned char *digest, size_t dlen,
                        unsigned char *sig, size_t *siglen, icx_err *err);

/* A signer (xmlsig.h) over the token key: takes *pp over (NULL on
 * success; on failure it stays the caller's). */
struct icx_signer;
int icx_p11_signer(struct icx_signer **out, icx_p11 **pp, icx_err *err);

/* Generates a key pair inside the token named by uri (the URI's object
 * becomes CKA_LABEL of both halves, its id CKA_ID): private half
 * sensitive, not extractable, sign only.  Refuses when a key with that
 * label or id exists already.  alg is enum icx_key_alg (keys.h). */
int icx_p11_generate(const char *module, const char *uri, const char *pin,
                     int alg, icx_err *err);

#endif
