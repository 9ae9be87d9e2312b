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
 * Ownership: icx_signer and icx_verkey own their xmlSecKey; free with the
 * matching _free().  Both are read-only after load and may be shared by
 * threads (OpenSSL 3 allows one EVP_PKEY to sign or verify in several
 * threads at once).
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

/* Loads a private key (refused when readable by group or others). */
int icx_signer_load(icx_signer **out, const char *key_path, icx_err *err);
void icx_signer_free(icx_signer **sp);
/* "rsa-sha256" or "ecdsa-sha256". */
const char *icx_signer_alg(const icx_signer *s);

/* Loads the public key of a PEM certificate. */
int icx_verkey_load(icx_verkey **out, const char *cert_path, icx_err *err);
void icx_verkey_free(icx_verkey **kp);

/* Signs doc in place (its root gets the Signature as last child). */
int icx_xmlsig_sign(icx_xmldoc *doc, const icx_signer *s, icx_err *err);
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
