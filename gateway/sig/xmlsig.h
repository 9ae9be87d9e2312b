/*
 * xmlsig.h - the one user of xmlsec: enveloped XML-DSig signing and strict
 * verification.
 *
 * Signing adds <ds:Signature> as the last child of the document element:
 * one Reference URI="", transforms enveloped-signature and exclusive c14n,
 * digest SHA-256, RSA-SHA256 or ECDSA-SHA256 (r||s form), no KeyInfo.
 *
 * Verification enforces the signature profile on the tree first (exactly
 * one Signature, last child of the root, exactly one Reference with
 * URI="", only enveloped + exc-c14n transforms, allowed algorithms, no
 * Object/Manifest, KeyInfo limited to KeyName/X509Data and never used),
 * then verifies that one shape with the key the caller chose (the
 * configured certificate of the claimed Sender): SignedInfo's signature
 * (OpenSSL), then the Reference digest of the document without the
 * Signature, both over exclusive c14n (c14n.h).  Signing makes the same
 * shape the same way; xmlsec provides the template and loads keys.
 *
 * The private-key operation is a backend (icx_sign_backend): signing
 * canonicalizes and hashes SignedInfo here and hands the backend only its
 * SHA-256 digest.  icx_signer_load makes the OpenSSL key-file backend;
 * icx_signer_from_backend wraps any other (a key held by another process,
 * a hardware token).
 *
 * Ownership: icx_signer owns its backend's ctx, icx_verkey its xmlSecKey;
 * free with the matching _free().  Both are read-only after load and may
 * be shared by threads (OpenSSL 3 allows one EVP_PKEY to sign or verify in
 * several threads at once; a backend's sign_digest is thread-safe).
 * icx_xmlsig_init() runs once per process before any other call.
 */
#ifndef ICX_XMLSIG_H
#define ICX_XMLSIG_H

#include "err.h"
#include "xml.h"

int icx_xmlsig_init(icx_err *err);
void icx_xmlsig_shutdown(void);

typedef struct icx_signer icx_signer;
typedef struct icx_verkey icx_verkey;

typedef struct icx_sign_backend {
    int ecdsa;          /* 1: ECDSA, signature out as raw r||s; 0: RSA PKCS#1 v1.5 */
    size_t field;       /* ECDSA: bytes of r and of s; RSA: modulus bytes */
    /* Signs a SHA-256 digest (32 bytes); writes at most *siglen bytes and sets *siglen. Thread-safe. */
    int (*sign_digest)(void *ctx, const unsigned char *digest, size_t dlen,
                       unsigned char *sig, size_t *siglen, icx_err *err);
    /* Optional: n (1..ICX_SIGN_BATCH) digests back to back, signed at
     * once (one request to another process); signature i written at
     * sigs + i * ICX_SIG_MAX, *siglen set to their length (all equal).
     * NULL: sign_digest is called for each.  Thread-safe. */
    int (*sign_digests)(void *ctx, const unsigned char *digests, int n,
                        unsigned char *sigs, size_t *siglen, icx_err *err);
    void (*free_ctx)(void *ctx);
    void *ctx;          /* owned by the signer after icx_signer_from_backend succeeds */
} icx_sign_backend;

/* Largest signature a backend may return (RSA-8192). */
#define ICX_SIG_MAX 1024
/* The digest a backend signs: SHA-256 of SignedInfo's c14n. */
#define ICX_SIGN_DIGEST 32
/* Most digests signed by one icx_signer_sign_digests call. */
#define ICX_SIGN_BATCH 8

/* A signer over backend b (copied).  Refused (ICX_EINVAL, b->ctx still the
 * caller's) when sign_digest is missing or field is out of range. */
int icx_signer_from_backend(icx_signer **out, const icx_sign_backend *b,
                            icx_err *err);
/* Loads a private key file (refused when readable by group or others) as
 * the OpenSSL backend. */
int icx_signer_load(icx_signer **out, const char *key_path, icx_err *err);
void icx_signer_free(icx_signer **sp);
/* "rsa-sha256" or "ecdsa-sha256". */
const char *icx_signer_alg(const icx_signer *s);
/* Backend shape: 1 for ECDSA; bytes of r and s (ECDSA) or the modulus. */
int icx_signer_ecdsa(const icx_signer *s);
size_t icx_signer_field(const icx_signer *s);
/* The backend's signature of a SHA-256 digest (32 bytes) into sig (cap
 * *siglen, at least ICX_SIG_MAX is always enough), *siglen set: RSA
 * PKCS#1 v1.5, ECDSA as r||s of 2 * field bytes (checked).  The backend's
 * error code passes through (ICX_EAGAIN: try again later). */
int icx_signer_sign_digest(unsigned char *sig, size_t *siglen,
                           const icx_signer *s, const unsigned char *digest,
                           icx_err *err);

/* n (1..ICX_SIGN_BATCH) digests of ICX_SIGN_DIGEST bytes, back to back,
 * signed in one go: signature i at sigs + i * ICX_SIG_MAX (sigs holds n *
 * ICX_SIG_MAX bytes), *siglen set to their length, the same for all.  A
 * backend that signs in another process takes them in one request (one
 * round trip instead of n); others sign one after another.  All or none:
 * on failure no signature is valid. */
int icx_signer_sign_digests(unsigned char *sigs, size_t *siglen,
                            const icx_signer *s, const unsigned char *digests,
                            int n, icx_err *err);

/* Loads the public key of a PEM certificate. */
int icx_verkey_load(icx_verkey **out, const char *cert_path, icx_err *err);
void icx_verkey_free(icx_verkey **kp);

/* Signs doc in place (its root gets the Signature as last child). */
int icx_xmlsig_sign(icx_xmldoc *doc, const icx_signer *s, icx_err *err);
/* icx_xmlsig_sign in two steps, so that several documents can be signed
 * with one icx_signer_sign_digests call.  prepare appends the Signature
 * (RSA-SHA256, or ECDSA-SHA256 when ecdsa), fills its DigestValue and
 * gives SignedInfo's digest; finish writes the signature of that digest
 * (from a signer of the same algorithm) as SignatureValue.  prepare
 * leaves doc as it was on failure; after a failed finish, or when the
 * signature cannot be had, the caller frees doc. */
int icx_xmlsig_prepare(icx_xmldoc *doc, int ecdsa,
                       unsigned char digest[ICX_SIGN_DIGEST], icx_err *err);
int icx_xmlsig_finish(icx_xmldoc *doc, const unsigned char *sig,
                      size_t siglen, icx_err *err);
/* Appends an empty signature template (for signing by another XML-DSig
 * implementation, e.g. the xmlsec1 command line). */
int icx_xmlsig_add_template(icx_xmldoc *doc, int ecdsa, icx_err *err);
/* Profile check only (no crypto); err->reason names the broken rule. */
int icx_xmlsig_check_profile(icx_xmldoc *doc, icx_err *err);
/* The same for a document this process has just signed: doc was valid
 * against schemas/ before signing, so it held no ds: element, and the only
 * one is the Signature icx_xmlsig_sign appended; its place and shape are
 * checked without scanning the rest of the tree again. */
int icx_xmlsig_check_added(icx_xmldoc *doc, icx_err *err);
/* Profile check, then cryptographic verification with key. */
int icx_xmlsig_verify(icx_xmldoc *doc, const icx_verkey *key, icx_err *err);
/* The verification alone, for a tree that icx_xmlsig_check_profile has
 * just passed (icx_envelope_verify checks the profile first, to name the
 * exact rule broken, and does not scan the document a second time). */
int icx_xmlsig_verify_checked(icx_xmldoc *doc, const icx_verkey *key,
                              icx_err *err);

#endif
