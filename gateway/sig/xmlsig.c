/*
 * xmlsig.c - enveloped XML-DSig in the one shape ICX signs and accepts
 * (see xmlsig.h and DESIGN.md "Verification policy"): the profile check,
 * signing and verification, with OpenSSL for the cryptography, c14n.c for
 * the canonical bytes and xmlsec for keys and the signature template.
 *
 * Why the profile is checked by hand, first: general XML-DSig processing
 * is permissive (any reference URI, key from KeyInfo, manifests digested
 * but not required, references digested before the signature value is
 * checked).  Checking the tree first keeps every fetch, transform and key
 * lookup out of reach of an unauthenticated peer, and leaves one shape to
 * verify.
 *
 * Signing hands only the SHA-256 digest of SignedInfo to the signer's
 * backend (icx_sign_backend): the key file's here, another process's or a
 * token's elsewhere.
 *
 * Threads: init/shutdown from the main thread only; sign/verify may run
 * concurrently on different documents (per-call OpenSSL contexts over the
 * key's EVP_PKEY, read-only, which OpenSSL 3 allows from several threads
 * at once; backends are thread-safe by contract).  Errors: ICX_EBADSIG with err->reason for a refused document,
 * ICX_ECRYPTO/ICX_ENOMEM for library failures.
 */
#include "xmlsig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmltree.h>

#include "c14n.h"
#include "keys.h"
#include "log.h"
#include "util.h"
#include "xmlnode.h"

#define DS_NS "http://www.w3.org/2000/09/xmldsig#"
#define ALG_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define ALG_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

static const char *const sig_algs[] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    NULL,
};

static const char *const digest_algs[] = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
    NULL,
};

/* Signing and verification contexts are made once per key and copied
 * for each operation: initializing one makes OpenSSL 3 look up the
 * algorithm implementations, under locks the worker threads share. */
struct icx_signer {
    icx_sign_backend b;
};

/* The key-file backend's ctx. */
struct file_key {
    xmlSecKeyPtr key;
    EVP_PKEY_CTX *tmpl; /* EVP_PKEY_sign_init, PKCS#1 padding, SHA-256 */
    int ecdsa;
    size_t field;
};

struct icx_verkey {
    xmlSecKeyPtr key;
    EVP_PKEY *pkey;  /* key's, borrowed */
    int ecdsa;
    size_t field;    /* ECDSA: bytes of r and of s */
    EVP_MD_CTX *tmpl[3]; /* EVP_DigestVerifyInit with SHA-256, -384, -512 */
};

/* A context initialized for verifying with pkey and SHA-bits, to be
 * copied per operation; NULL when OpenSSL refuses. */
static EVP_MD_CTX *sigctx_template(EVP_PKEY *pkey, int bits)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL &&
             EVP_DigestVerifyInit(md, NULL, icx_sha(bits), NULL, pkey) == 1;
    if (!ok) {
        EVP_MD_CTX_free(md);
        return NULL;
    }
    return md;
}

/* A copy of tmpl, ready for the data (NULL when out of memory). */
static EVP_MD_CTX *sigctx_copy(const EVP_MD_CTX *tmpl)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md != NULL && EVP_MD_CTX_copy_ex(md, tmpl) != 1) {
        EVP_MD_CTX_free(md);
        md = NULL;
    }
    return md;
}

static int initialized;

static void xmlsec_quiet(const char *file, int line, const char *func,
                         const char *obj, const char *subj, int reason,
                         const char *msg)
{
    (void)file;
    (void)line;
    (void)func;
    (void)obj;
    (void)subj;
    (void)reason;
    (void)msg;
}

int icx_xmlsig_init(icx_err *err)
{
    if (initialized)
        return ICX_OK;
    xmlInitParser();
    if (xmlSecInit() < 0)
        return icx_err_set(err, ICX_ECRYPTO, "xmlsec initialization failed");
    if (xmlSecCheckVersion() != 1) {
        xmlSecShutdown();
        return icx_err_set(err, ICX_ECRYPTO, "xmlsec library version "
                                             "mismatch");
    }
    if (xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0) {
        xmlSecShutdown();
        return icx_err_set(err, ICX_ECRYPTO, "xmlsec OpenSSL initialization "
                                             "failed");
    }
    /* xmlsec reports every refused signature on stderr by default; the
     * caller gets the reason through icx_err instead.  Set after the
     * crypto init, which installs its own callback. */
    xmlSecErrorsSetCallback(xmlsec_quiet);
    initialized = 1;
    return ICX_OK;
}

void icx_xmlsig_shutdown(void)
{
    if (!initialized)
        return;
    xmlSecCryptoShutdown();
    xmlSecCryptoAppShutdown();
    xmlSecShutdown();
    icx_xml_thread_release();
    xmlCleanupParser();
    initialized = 0;
}

/* True (err set) when data holds a key or certificate OpenSSL can read
 * whose key is below the minimum strength. */
static int strength_refused(const char *data, size_t len,
                            xmlSecKeyDataFormat fmt, const char *path,
                            icx_err *err)
{
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    int refused = 0;
    if (bio == NULL)
        goto out;
    if (fmt == xmlSecKeyDataFormatPem) {
        pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        refused = pkey != NULL &&
                  icx_keys_check_strength(pkey, path, err) < 0;
    } else {
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        refused = x != NULL && icx_keys_check_strength(X509_get0_pubkey(x),
                                                       path, err) < 0;
    }
out:
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    X509_free(x);
    BIO_free(bio);
    return refused;
}

static xmlSecKeyPtr load_key_file(const char *path, xmlSecKeyDataFormat fmt,
                                  icx_err *err)
{
    char *data = NULL;
    size_t len = 0;
    if (icx_file_read(&data, &len, path, 256 * 1024, err) < 0)
        return NULL;
    xmlSecKeyPtr key = xmlSecCryptoAppKeyLoadMemory(
        (const xmlSecByte *)data, (xmlSecSize)len, fmt, NULL, NULL, NULL);
    /* xmlsec refuses some key types outright: when OpenSSL reads the key,
     * the message names the key and the strength rule instead. */
    if (key == NULL && strength_refused(data, len, fmt, path, err)) {
        OPENSSL_cleanse(data, len);
        free(data);
        return NULL;
    }
    OPENSSL_cleanse(data, len);
    free(data);
    if (key == NULL)
        icx_err_set(err, ICX_EINVAL, "%s: cannot load %s", path,
                    fmt == xmlSecKeyDataFormatPem ? "PEM private key"
                                                  : "PEM certificate");
    return key;
}

/* DER ECDSA-Sig-Value -> r || s, each padded to the field size. */
static int ecdsa_raw(unsigned char *out, size_t *outlen, size_t field,
                     const unsigned char *der, size_t derlen)
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    const BIGNUM *r = NULL, *sv = NULL;
    int ok = es != NULL && 2 * field <= *outlen;
    if (ok) {
        ECDSA_SIG_get0(es, &r, &sv);
        ok = BN_bn2binpad(r, out, (int)field) == (int)field &&
             BN_bn2binpad(sv, out + field, (int)field) == (int)field;
    }
    ECDSA_SIG_free(es);
    *outlen = 2 * field;
    return ok ? 0 : -1;
}

/* The key-file backend: the prepared context copied per call, so threads
 * share only the read-only key. */
static int file_sign_digest(void *ctx, const unsigned char *digest,
                            size_t dlen, unsigned char *sig, size_t *siglen,
                            icx_err *err)
{
    struct file_key *fk = ctx;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_dup(fk->tmpl);
    unsigned char der[ICX_SIG_MAX];
    size_t dl = sizeof der;
    int rc = ICX_OK;
    if (pc == NULL || EVP_PKEY_sign(pc, fk->ecdsa ? der : sig,
                                    fk->ecdsa ? &dl : siglen, digest,
                                    dlen) != 1) {
        rc = icx_err_set(err, ICX_ECRYPTO, "signing failed");
        goto out;
    }
    if (fk->ecdsa && ecdsa_raw(sig, siglen, fk->field, der, dl) < 0)
        rc = icx_err_set(err, ICX_ECRYPTO, "malformed ECDSA signature");
out:
    ERR_clear_error();
    EVP_PKEY_CTX_free(pc);
    return rc;
}

static void file_free(void *ctx)
{
    struct file_key *fk = ctx;
    if (fk == NULL)
        return;
    EVP_PKEY_CTX_free(fk->tmpl);
    xmlSecKeyDestroy(fk->key);
    free(fk);
}

/* A signing context for pkey with SHA-256 (PKCS#1 v1.5 for RSA), to be
 * copied per operation; NULL when OpenSSL refuses. */
static EVP_PKEY_CTX *sign_template_ctx(EVP_PKEY *pkey, int ecdsa)
{
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pkey, NULL);
    int ok = pc != NULL && EVP_PKEY_sign_init(pc) == 1 &&
             (ecdsa || EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) ==
                           1) &&
             EVP_PKEY_CTX_set_signature_md(pc, icx_sha(256)) == 1;
    if (!ok) {
        EVP_PKEY_CTX_free(pc);
        return NULL;
    }
    return pc;
}

int icx_signer_from_backend(icx_signer **out, const icx_sign_backend *b,
                            icx_err *err)
{
    *out = NULL;
    if (b == NULL || b->sign_digest == NULL || b->field == 0 ||
        (b->ecdsa ? 2 * b->field : b->field) > ICX_SIG_MAX)
        return icx_err_set(err, ICX_EINVAL, "signing backend: no operation "
                           "or a signature size outside 1..%d bytes",
                           ICX_SIG_MAX);
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    (*out)->b = *b;
    return ICX_OK;
}

int icx_signer_load(icx_signer **out, const char *key_path, icx_err *err)
{
    *out = NULL;
    struct file_key *fk = NULL;
    int rc = icx_keys_check_private_mode(key_path, err);
    if (rc < 0)
        return rc;
    xmlSecKeyPtr key = load_key_file(key_path, xmlSecKeyDataFormatPem, err);
    if (key == NULL)
        return err ? err->rc : ICX_EINVAL;
    xmlSecKeyDataId id = xmlSecKeyGetValue(key) ? xmlSecKeyGetValue(key)->id
                                                : xmlSecKeyDataIdUnknown;
    int ecdsa = id == xmlSecOpenSSLKeyDataEcdsaId;
    EVP_PKEY *pkey = xmlSecKeyGetValue(key)
                         ? xmlSecOpenSSLEvpKeyDataGetEvp(xmlSecKeyGetValue(key))
                         : NULL;
    rc = icx_keys_check_strength(pkey, key_path, err);
    if (rc < 0)
        goto out;
    if (!ecdsa && id != xmlSecOpenSSLKeyDataRsaId) {
        rc = icx_err_set(err, ICX_EINVAL, "%s: key is neither RSA nor "
                                          "ECDSA", key_path);
        goto out;
    }
    fk = calloc(1, sizeof *fk);
    if (fk == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    fk->key = key;
    key = NULL;
    fk->ecdsa = ecdsa;
    fk->field = ecdsa ? (size_t)(EVP_PKEY_get_bits(pkey) + 7) / 8
                      : (size_t)EVP_PKEY_get_size(pkey);
    fk->tmpl = pkey ? sign_template_ctx(pkey, ecdsa) : NULL;
    if (fk->tmpl == NULL) {
        ERR_clear_error();
        rc = icx_err_set(err, ICX_ECRYPTO, "%s: cannot prepare signing with "
                         "the key", key_path);
        goto out;
    }
    icx_sign_backend b = {ecdsa, fk->field, file_sign_digest, NULL, file_free,
                          fk};
    rc = icx_signer_from_backend(out, &b, err);
    if (rc == ICX_OK)
        fk = NULL;
out:
    file_free(fk);
    xmlSecKeyDestroy(key);
    return rc;
}

void icx_signer_free(icx_signer **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    if ((*sp)->b.free_ctx != NULL)
        (*sp)->b.free_ctx((*sp)->b.ctx);
    free(*sp);
    *sp = NULL;
}

const char *icx_signer_alg(const icx_signer *s)
{
    return s->b.ecdsa ? "ecdsa-sha256" : "rsa-sha256";
}

int icx_signer_ecdsa(const icx_signer *s)
{
    return s->b.ecdsa;
}

size_t icx_signer_field(const icx_signer *s)
{
    return s->b.field;
}

/* The size of every signature of s: RSA signatures are exactly the
 * modulus size (PKCS#1 I2OSP), ECDSA r||s twice the field. */
static size_t sig_size(const icx_signer *s)
{
    return s->b.ecdsa ? 2 * s->b.field : s->b.field;
}

/* ICX_OK when a backend's signature has that size. */
static int check_size(const icx_signer *s, size_t got, icx_err *err)
{
    if (got != sig_size(s))
        return icx_err_set(err, ICX_ECRYPTO, "signing backend returned %zu "
                           "bytes, want %zu", got, sig_size(s));
    return ICX_OK;
}

int icx_signer_sign_digest(unsigned char *sig, size_t *siglen,
                           const icx_signer *s, const unsigned char *digest,
                           icx_err *err)
{
    if (*siglen < sig_size(s))
        return icx_err_set(err, ICX_EINVAL, "signature buffer too small");
    int rc = s->b.sign_digest(s->b.ctx, digest, 32, sig, siglen, err);
    return rc < 0 ? rc : check_size(s, *siglen, err);
}

int icx_signer_sign_digests(unsigned char *sigs, size_t *siglen,
                            const icx_signer *s, const unsigned char *digests,
                            int n, icx_err *err)
{
    int rc = ICX_OK;
    if (n < 1 || n > ICX_SIGN_BATCH)
        return icx_err_set(err, ICX_EINVAL, "%d digests to sign at once "
                           "(1..%d)", n, ICX_SIGN_BATCH);
    if (s->b.sign_digests == NULL) {
        for (int i = 0; i < n && rc == ICX_OK; i++) {
            *siglen = ICX_SIG_MAX;
            rc = icx_signer_sign_digest(sigs + (size_t)i * ICX_SIG_MAX, siglen,
                                        s, digests + (size_t)i * ICX_SIGN_DIGEST,
                                        err);
        }
        return rc;
    }
    *siglen = 0;
    rc = s->b.sign_digests(s->b.ctx, digests, n, sigs, siglen, err);
    return rc < 0 ? rc : check_size(s, *siglen, err);
}

int icx_verkey_load(icx_verkey **out, const char *cert_path, icx_err *err)
{
    *out = NULL;
    xmlSecKeyPtr cert = load_key_file(cert_path, xmlSecKeyDataFormatCertPem,
                                      err);
    if (cert == NULL)
        return err ? err->rc : ICX_EINVAL;
    /* Keep the public key alone: every verification duplicates the key,
     * and a key that still carries its certificate would copy the
     * certificate each time for nothing (KeyInfo is never consulted). */
    xmlSecKeyDataPtr value = xmlSecKeyGetValue(cert);
    xmlSecKeyDataPtr dup = value ? xmlSecKeyDataDuplicate(value) : NULL;
    xmlSecKeyPtr key = xmlSecKeyCreate();
    if (dup == NULL || key == NULL || xmlSecKeySetValue(key, dup) < 0) {
        if (dup != NULL)
            xmlSecKeyDataDestroy(dup);
        if (key != NULL)
            xmlSecKeyDestroy(key);
        xmlSecKeyDestroy(cert);
        return icx_err_set(err, ICX_ECRYPTO, "%s: cannot extract the public "
                           "key", cert_path);
    }
    xmlSecKeyDestroy(cert);
    EVP_PKEY *pkey = xmlSecOpenSSLEvpKeyDataGetEvp(xmlSecKeyGetValue(key));
    int type = pkey ? EVP_PKEY_get_base_id(pkey) : EVP_PKEY_NONE;
    int rc = icx_keys_check_strength(pkey, cert_path, err);
    if (rc < 0) {
        xmlSecKeyDestroy(key);
        return rc;
    }
    if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
        xmlSecKeyDestroy(key);
        return icx_err_set(err, ICX_EINVAL, "%s: the key is neither RSA nor "
                           "ECDSA", cert_path);
    }
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        xmlSecKeyDestroy(key);
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    }
    (*out)->key = key;
    (*out)->pkey = pkey;
    (*out)->ecdsa = type == EVP_PKEY_EC;
    (*out)->field = (size_t)(EVP_PKEY_get_bits(pkey) + 7) / 8;
    static const int bits[3] = {256, 384, 512};
    for (int i = 0; i < 3; i++)
        if (((*out)->tmpl[i] = sigctx_template(pkey, bits[i])) == NULL) {
            icx_verkey_free(out);
            return icx_err_set(err, ICX_ECRYPTO, "%s: cannot prepare "
                               "verification with the key", cert_path);
        }
    return ICX_OK;
}

void icx_verkey_free(icx_verkey **kp)
{
    if (kp == NULL || *kp == NULL)
        return;
    xmlSecKeyDestroy((*kp)->key);
    for (int i = 0; i < 3; i++)
        EVP_MD_CTX_free((*kp)->tmpl[i]);
    free(*kp);
    *kp = NULL;
}

/* Appends the Signature template to the root; returns it in *sigp. */
static int add_template(xmlDocPtr d, int ecdsa, xmlNodePtr *sigp,
                        icx_err *err)
{
    xmlNodePtr root = xmlDocGetRootElement(d);
    xmlNodePtr sig, ref;
    if (root == NULL)
        return icx_err_set(err, ICX_EINVAL, "empty document");
    sig = xmlSecTmplSignatureCreateNsPref(
        d, xmlSecTransformExclC14NId,
        ecdsa ? xmlSecTransformEcdsaSha256Id : xmlSecTransformRsaSha256Id,
        NULL, BAD_CAST "ds");
    if (sig == NULL)
        return icx_err_set(err, ICX_ECRYPTO, "cannot create signature "
                                             "template");
    xmlAddChild(root, sig);
    ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL,
                                          BAD_CAST "", NULL);
    if (ref == NULL ||
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) ==
            NULL ||
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) ==
            NULL) {
        xmlUnlinkNode(sig);
        xmlFreeNode(sig);
        return icx_err_set(err, ICX_ECRYPTO, "cannot build reference");
    }
    *sigp = sig;
    return ICX_OK;
}

int icx_xmlsig_add_template(icx_xmldoc *doc, int ecdsa, icx_err *err)
{
    xmlNodePtr sig;
    return add_template(icx_xml_raw(doc), ecdsa, &sig, err);
}

/* ---- signing ---------------------------------------------------------- */

/* Why ICX computes its one signature shape itself rather than through
 * xmlSecDSigCtxSign: xmlsec runs the reference through its general
 * node-set and transform machinery, whose visibility test walks the node
 * set for every node of the document (a quarter of all signing work for a
 * 16 KiB envelope) and whose canonical bytes pass through a chain of
 * transform buffers before the digest.  The profile allows exactly one
 * shape (DESIGN.md), so the signer makes it directly: exclusive c14n
 * (c14n.c) of the document without the Signature element, SHA-256 as the
 * bytes come out, the digest into the xmlsec template, exclusive c14n of
 * SignedInfo into SHA-256, and that digest to the signer's backend (the
 * key file's: EVP_PKEY_sign, and for ECDSA the r || s form of XML-DSig).  Tests check that xmlsec (library and command line)
 * verifies what this signs and that RSA signatures, being deterministic,
 * come out byte for byte as xmlsec makes them. */

/* c14n output straight into a digest or signature context: update is
 * EVP_DigestUpdate, EVP_DigestSignUpdate or EVP_DigestVerifyUpdate. */
struct c14n_sink {
    EVP_MD_CTX *md;
    int (*update)(EVP_MD_CTX *md, const void *data, size_t len);
};

/* c14n.c's writer for a c14n_sink. */
static int sink_write(void *ctx, const char *buf, size_t len)
{
    struct c14n_sink *k = ctx;
    return k->update(k->md, buf, len) == 1 ? 0 : -1;
}

static int set_base64(xmlNodePtr node, const unsigned char *bin, size_t len)
{
    char b64[4 * ((1024 + 2) / 3) + 1];
    if (len > 1024)
        return -1;
    EVP_EncodeBlock((unsigned char *)b64, bin, (int)len);
    xmlNodeSetContent(node, BAD_CAST b64);
    return 0;
}

static int check_names(const xmlDoc *d, icx_err *err);

/* Fills DigestValue of the template sig in d and gives SignedInfo's
 * SHA-256 digest, the one thing the backend signs. */
static int digest_template(xmlDocPtr d, xmlNodePtr sig,
                           unsigned char digest[ICX_SIGN_DIGEST], icx_err *err)
{
    xmlNodePtr si = xmlSecFindChild(sig, xmlSecNodeSignedInfo, xmlSecDSigNs);
    xmlNodePtr ref = si ? xmlSecFindChild(si, xmlSecNodeReference,
                                          xmlSecDSigNs) : NULL;
    xmlNodePtr dv = ref ? xmlSecFindChild(ref, xmlSecNodeDigestValue,
                                          xmlSecDSigNs) : NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char dd[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int rc = ICX_OK;

    if (dv == NULL || md == NULL) {
        rc = icx_err_set(err, ICX_ECRYPTO, "cannot prepare the signature");
        goto out;
    }
    /* A document c14n refuses is the caller's input, not a library
     * failure: say which namespace name, as the verifier would. */
    if (check_names(d, err) < 0) {
        rc = ICX_EINVAL;
        if (err != NULL) {
            err->rc = ICX_EINVAL;
            err->reason = ICX_REASON_NONE;
            icx_err_wrap(err, "cannot be signed");
        }
        goto out;
    }
    struct c14n_sink k = {md, EVP_DigestUpdate};
    if (EVP_DigestInit_ex(md, icx_sha(256), NULL) != 1 ||
        icx_c14n_document(d, sig, sink_write, &k) != ICX_OK ||
        EVP_DigestFinal_ex(md, dd, &dlen) != 1 ||
        set_base64(dv, dd, dlen) < 0) {
        rc = icx_err_set(err, ICX_ECRYPTO, "cannot digest the document");
        goto out;
    }
    /* SignedInfo (now holding the digest) hashed here; the backend sees
     * only that hash. */
    if (EVP_DigestInit_ex(md, icx_sha(256), NULL) != 1 ||
        icx_c14n_subtree(si, sink_write, &k) != ICX_OK ||
        EVP_DigestFinal_ex(md, dd, &dlen) != 1 || dlen != ICX_SIGN_DIGEST) {
        rc = icx_err_set(err, ICX_ECRYPTO, "cannot digest SignedInfo");
        goto out;
    }
    memcpy(digest, dd, ICX_SIGN_DIGEST);
out:
    EVP_MD_CTX_free(md);
    return rc;
}

/* The Signature icx_xmlsig_prepare appended: the root's last element. */
static xmlNodePtr added_signature(xmlDocPtr d)
{
    xmlNodePtr root = xmlDocGetRootElement(d);
    xmlNodePtr last = root ? xmlGetLastChild(root) : NULL;
    while (last != NULL && last->type != XML_ELEMENT_NODE)
        last = last->prev;
    if (last == NULL || !xmlSecCheckNodeName(last, xmlSecNodeSignature,
                                             xmlSecDSigNs))
        return NULL;
    return last;
}

static void drop_signature(xmlDocPtr d)
{
    xmlNodePtr sig = added_signature(d);
    if (sig != NULL) {
        xmlUnlinkNode(sig);
        xmlFreeNode(sig);
    }
}

int icx_xmlsig_prepare(icx_xmldoc *doc, int ecdsa,
                       unsigned char digest[ICX_SIGN_DIGEST], icx_err *err)
{
    xmlNodePtr sig = NULL;
    int rc = add_template(icx_xml_raw(doc), ecdsa, &sig, err);
    if (rc < 0)
        return rc;
    rc = digest_template(icx_xml_raw(doc), sig, digest, err);
    if (rc < 0) {
        xmlUnlinkNode(sig);
        xmlFreeNode(sig);
    }
    return rc;
}

int icx_xmlsig_finish(icx_xmldoc *doc, const unsigned char *sig,
                      size_t siglen, icx_err *err)
{
    xmlNodePtr s = added_signature(icx_xml_raw(doc));
    xmlNodePtr sv = s ? xmlSecFindChild(s, xmlSecNodeSignatureValue,
                                        xmlSecDSigNs) : NULL;
    if (sv == NULL)
        return icx_err_set(err, ICX_EINVAL, "no prepared signature to finish");
    if (set_base64(sv, sig, siglen) < 0)
        return icx_err_set(err, ICX_ECRYPTO, "signature too long");
    return ICX_OK;
}

int icx_xmlsig_sign(icx_xmldoc *doc, const icx_signer *s, icx_err *err)
{
    unsigned char digest[ICX_SIGN_DIGEST], raw[ICX_SIG_MAX];
    size_t rlen = sizeof raw;
    int rc = icx_xmlsig_prepare(doc, s->b.ecdsa, digest, err);
    if (rc < 0)
        return rc;
    rc = icx_signer_sign_digest(raw, &rlen, s, digest, err);
    if (rc == ICX_OK)
        rc = icx_xmlsig_finish(doc, raw, rlen, err);
    if (rc < 0)
        drop_signature(icx_xml_raw(doc));
    return rc;
}

/* ---- profile ---------------------------------------------------------- */

/* The checks below run on every signature made and every one received, so
 * they copy nothing and format a message only on the way out: attribute
 * values are read in place and the namespace URI is compared once per
 * signature (its elements share one xmlNs). */

/* True when ns is the XML-DSig namespace; known, when not NULL, is one
 * already found to be. */
static int ds_ns(const xmlNs *ns, const xmlNs *known)
{
    return ns != NULL &&
           (ns == known || (ns->href != NULL &&
                            strcmp((const char *)ns->href, DS_NS) == 0));
}

/* An XML-DSig element named name (any name when NULL). */
static int is_ds_in(xmlNodePtr n, const char *name, const xmlNs *known)
{
    return n != NULL && n->type == XML_ELEMENT_NODE &&
           ds_ns(n->ns, known) &&
           (name == NULL || xmlStrEqual(n->name, BAD_CAST name));
}

static int is_ds(xmlNodePtr n, const char *name)
{
    return is_ds_in(n, name, NULL);
}

static xmlNodePtr first_elem(xmlNodePtr parent)
{
    return parent ? icx_xn_elem_from(parent->children) : NULL;
}

static int in_list(const xmlChar *v, const char *const *list)
{
    for (size_t i = 0; v != NULL && list[i] != NULL; i++)
        if (strcmp((const char *)v, list[i]) == 0)
            return 1;
    return 0;
}

/* True when the element has an attribute other than those named. */
static int has_other_attr(xmlNodePtr n, const char *allowed1,
                          const char *allowed2)
{
    for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
        if (allowed1 && xmlStrEqual(a->name, BAD_CAST allowed1) && !a->ns)
            continue;
        if (allowed2 && xmlStrEqual(a->name, BAD_CAST allowed2) && !a->ns)
            continue;
        return 1;
    }
    return 0;
}

/* The value xmlGetNoNsProp(n, name) would return, read in place when it
 * is held by one text node (as the parser and xmlsec store it); otherwise
 * *copy receives xmlGetNoNsProp's copy, which the caller frees with
 * xmlFree (*copy is NULL when nothing was copied).  NULL when n has no
 * such attribute. */
static const xmlChar *attr_value(xmlNodePtr n, const char *name,
                                 xmlChar **copy)
{
    *copy = NULL;
    xmlAttrPtr a = xmlHasNsProp(n, BAD_CAST name, NULL);
    if (a == NULL)
        return NULL;
    if (a->type == XML_ATTRIBUTE_NODE) {
        xmlNodePtr t = a->children;
        if (t == NULL)
            return BAD_CAST "";
        if (t->next == NULL &&
            (t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE))
            return t->content;
    }
    *copy = xmlGetNoNsProp(n, BAD_CAST name);
    return *copy;
}

static int attr_is(xmlNodePtr n, const char *name, const char *want)
{
    xmlChar *copy;
    const xmlChar *v = attr_value(n, name, &copy);
    int ok = v != NULL && strcmp((const char *)v, want) == 0;
    xmlFree(copy);
    return ok;
}

static int bad(icx_err *err, int reason, const char *fmt, const char *what)
{
    return icx_err_reason(err, ICX_EBADSIG, reason, fmt, what);
}

/* Refuses with a message naming n's Algorithm attribute (cut at 255
 * bytes), or none when n is NULL or has no such attribute. */
static int bad_alg(icx_err *err, int reason, const char *fmt, xmlNodePtr n,
                   const char *none)
{
    xmlChar *copy = NULL;
    const xmlChar *alg = n != NULL ? attr_value(n, "Algorithm", &copy) : NULL;
    int rc = bad(err, reason, fmt, alg ? (const char *)alg : none);
    xmlFree(copy);
    return rc;
}

/* Counts ds:Signature and finds ds:Object/Manifest anywhere (iterative). */
static int scan_doc(xmlNodePtr root, xmlNodePtr *first_sig, int *nsig,
                    xmlNodePtr *object)
{
    xmlNodePtr n = root;
    const xmlNs *other = NULL; /* last namespace seen not to be ds: */
    *nsig = 0;
    *first_sig = NULL;
    *object = NULL;
    while (n != NULL) {
        if (n->type != XML_ELEMENT_NODE || n->ns == NULL || n->ns == other) {
            /* not a ds element */
        } else if (!is_ds(n, NULL)) {
            other = n->ns; /* elements of one namespace share its xmlNs */
        } else if (is_ds(n, "Signature")) {
            if ((*nsig)++ == 0)
                *first_sig = n;
        } else if (is_ds(n, "Object") || is_ds(n, "Manifest")) {
            if (*object == NULL)
                *object = n;
        }
        if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
            n = n->children;
            continue;
        }
        while (n != NULL && n != root && n->next == NULL)
            n = n->parent;
        if (n == NULL || n == root)
            break;
        n = n->next;
    }
    return 0;
}

static int check_reference(xmlNodePtr ref, const xmlNs *ds, icx_err *err)
{
    xmlChar *copy;
    const xmlChar *uri = attr_value(ref, "URI", &copy);
    int uri_ok = uri != NULL && uri[0] == '\0';
    xmlFree(copy);
    if (!uri_ok)
        return bad(err, ICX_REASON_SIG_REFERENCE,
                   "Reference must have URI=\"\"%s", "");
    if (has_other_attr(ref, "URI", "Id"))
        return bad(err, ICX_REASON_SIG_REFERENCE,
                   "Reference carries an attribute outside the profile%s", "");
    xmlNodePtr t = first_elem(ref);
    if (!is_ds_in(t, "Transforms", ds))
        return bad(err, ICX_REASON_SIG_TRANSFORM,
                   "Reference must list the enveloped-signature and exc-c14n "
                   "transforms%s", "");
    static const char *const want[] = {ALG_ENVELOPED, ALG_EXC_C14N};
    xmlNodePtr tr = first_elem(t);
    for (int i = 0; i < 2; i++, tr = icx_xn_elem_from(tr->next)) {
        int is_tr = is_ds_in(tr, "Transform", ds);
        if (!is_tr || !attr_is(tr, "Algorithm", want[i]) ||
            first_elem(tr) != NULL || has_other_attr(tr, "Algorithm", NULL))
            return bad_alg(err, ICX_REASON_SIG_TRANSFORM,
                           "transform %.255s not allowed (only "
                           "enveloped-signature then exc-c14n)",
                           is_tr ? tr : NULL, "?");
    }
    if (tr != NULL)
        return bad(err, ICX_REASON_SIG_TRANSFORM,
                   "more than two transforms%s", "");
    xmlNodePtr dm = icx_xn_elem_from(t->next);
    if (!is_ds_in(dm, "DigestMethod", ds))
        return bad(err, ICX_REASON_SIG_STRUCTURE,
                   "Reference without DigestMethod%s", "");
    const xmlChar *alg = attr_value(dm, "Algorithm", &copy);
    int alg_ok = in_list(alg, digest_algs);
    xmlFree(copy);
    if (!alg_ok || first_elem(dm) != NULL)
        return bad_alg(err, ICX_REASON_SIG_DIGEST_ALG,
                       "digest algorithm %.255s not allowed", dm, "(none)");
    xmlNodePtr dv = icx_xn_elem_from(dm->next);
    if (!is_ds_in(dv, "DigestValue", ds) || first_elem(dv) != NULL ||
        icx_xn_elem_from(dv->next) != NULL)
        return bad(err, ICX_REASON_SIG_STRUCTURE,
                   "Reference must end with one DigestValue of text only%s",
                   "");
    return ICX_OK;
}

static int check_keyinfo(xmlNodePtr ki, const xmlNs *ds, icx_err *err)
{
    for (xmlNodePtr c = first_elem(ki); c != NULL; c = icx_xn_elem_from(c->next)) {
        if (is_ds_in(c, "KeyName", ds))
            continue;
        if (is_ds_in(c, "X509Data", ds)) {
            for (xmlNodePtr x = first_elem(c); x; x = icx_xn_elem_from(x->next))
                if (!is_ds_in(x, "X509Certificate", ds))
                    return bad(err, ICX_REASON_SIG_KEYINFO,
                               "X509Data may hold X509Certificate only, not "
                               "%s", (const char *)x->name);
            continue;
        }
        return bad(err, ICX_REASON_SIG_KEYINFO,
                   "KeyInfo/%s not allowed (keys come from the trust store)",
                   (const char *)c->name);
    }
    return ICX_OK;
}

static int check_signature(xmlNodePtr root, xmlNodePtr sig, icx_err *err);

/* Every namespace declaration of the document, the Signature's included,
 * as the two canonicalizations will check them (c14n.h): refused here,
 * with the element and the name, before anything is computed. */
static int check_names(const xmlDoc *d, icx_err *err)
{
    const xmlNode *where;
    const xmlNs *ns;
    const char *why;
    if (icx_c14n_check_names(&where, &ns, &why, d) == ICX_OK)
        return ICX_OK;
    /* The name as the tree holds it: libxml2's parser keeps & in a
     * namespace name as "&#38;". */
    return icx_err_reason(
        err, ICX_EBADSIG, ICX_REASON_NAMESPACE_NAME,
        "%s%s%s: namespace name \"%.200s\" %s",
        where->ns && where->ns->prefix ? (const char *)where->ns->prefix : "",
        where->ns && where->ns->prefix ? ":" : "", (const char *)where->name,
        ns && ns->href ? (const char *)ns->href : "", why);
}

int icx_xmlsig_check_profile(icx_xmldoc *doc, icx_err *err)
{
    xmlNodePtr root = xmlDocGetRootElement(icx_xml_raw(doc));
    xmlNodePtr sig, object;
    int nsig;
    if (root == NULL)
        return bad(err, ICX_REASON_EMPTY, "no document element%s", "");
    scan_doc(root, &sig, &nsig, &object);
    if (nsig == 0)
        return bad(err, ICX_REASON_SIG_MISSING, "no ds:Signature%s", "");
    if (nsig > 1)
        return bad(err, ICX_REASON_SIG_MULTIPLE,
                   "%s ds:Signature elements; exactly one is allowed",
                   "several");
    if (object != NULL)
        return bad(err, ICX_REASON_SIG_OBJECT, "ds:%s not allowed",
                   (const char *)object->name);
    int rc = check_signature(root, sig, err);
    return rc < 0 ? rc : check_names(icx_xml_raw(doc), err);
}

int icx_xmlsig_check_added(icx_xmldoc *doc, icx_err *err)
{
    xmlNodePtr root = xmlDocGetRootElement(icx_xml_raw(doc));
    xmlNodePtr last = NULL;
    if (root == NULL)
        return bad(err, ICX_REASON_EMPTY, "no document element%s", "");
    for (xmlNodePtr c = first_elem(root); c != NULL; c = icx_xn_elem_from(c->next))
        last = c;
    if (!is_ds(last, "Signature"))
        return bad(err, ICX_REASON_SIG_MISSING, "no ds:Signature%s", "");
    return check_signature(root, last, err);
}

/* The one ds:Signature sig of root, in place and shape. */
static int check_signature(xmlNodePtr root, xmlNodePtr sig, icx_err *err)
{
    const xmlNs *ds = sig->ns; /* the callers found sig to be ds: */
    xmlNodePtr last = NULL;
    for (xmlNodePtr c = first_elem(root); c != NULL; c = icx_xn_elem_from(c->next))
        last = c;
    if (sig->parent != root || sig != last)
        return bad(err, ICX_REASON_SIG_POSITION,
                   "ds:Signature must be the last child of %s",
                   (const char *)root->name);
    if (has_other_attr(sig, "Id", NULL))
        return bad(err, ICX_REASON_SIG_STRUCTURE,
                   "Signature carries an attribute outside the profile%s", "");

    xmlNodePtr si = first_elem(sig);
    if (!is_ds_in(si, "SignedInfo", ds))
        return bad(err, ICX_REASON_SIG_STRUCTURE,
                   "Signature must start with SignedInfo%s", "");
    xmlNodePtr sv = icx_xn_elem_from(si->next);
    if (!is_ds_in(sv, "SignatureValue", ds))
        return bad(err, ICX_REASON_SIG_STRUCTURE,
                   "SignedInfo must be followed by SignatureValue%s", "");
    xmlNodePtr ki = icx_xn_elem_from(sv->next);
    if (ki != NULL && !is_ds_in(ki, "KeyInfo", ds))
        return bad(err, ICX_REASON_SIG_STRUCTURE,
                   "unexpected ds:%s in Signature", (const char *)ki->name);
    if (ki != NULL) {
        int rc = check_keyinfo(ki, ds, err);
        if (rc < 0)
            return rc;
        if (icx_xn_elem_from(ki->next) != NULL)
            return bad(err, ICX_REASON_SIG_STRUCTURE,
                       "unexpected ds:%s after KeyInfo",
                       (const char *)icx_xn_elem_from(ki->next)->name);
    }

    xmlNodePtr c14n = first_elem(si);
    if (!is_ds_in(c14n, "CanonicalizationMethod", ds) ||
        !attr_is(c14n, "Algorithm", ALG_EXC_C14N) || first_elem(c14n) != NULL)
        return bad(err, ICX_REASON_SIG_C14N,
                   "CanonicalizationMethod must be plain exclusive c14n "
                   "without comments or InclusiveNamespaces%s", "");
    xmlNodePtr sm = icx_xn_elem_from(c14n->next);
    if (!is_ds_in(sm, "SignatureMethod", ds))
        return bad(err, ICX_REASON_SIG_STRUCTURE,
                   "SignedInfo without SignatureMethod%s", "");
    xmlChar *copy;
    const xmlChar *alg = attr_value(sm, "Algorithm", &copy);
    int alg_ok = in_list(alg, sig_algs) && first_elem(sm) == NULL;
    xmlFree(copy);
    if (!alg_ok)
        return bad_alg(err, ICX_REASON_SIG_ALGORITHM,
                       "signature algorithm %.255s not allowed (RSA or ECDSA "
                       "with SHA-256 or stronger)", sm, "(none)");
    xmlNodePtr ref = icx_xn_elem_from(sm->next);
    if (!is_ds_in(ref, "Reference", ds))
        return bad(err, ICX_REASON_SIG_REFERENCE,
                   "SignedInfo must hold exactly one Reference%s", "");
    if (icx_xn_elem_from(ref->next) != NULL)
        return bad(err, ICX_REASON_SIG_REFERENCE,
                   "SignedInfo must hold exactly one Reference%s", "");
    return check_reference(ref, ds, err);
}

int icx_xmlsig_verify(icx_xmldoc *doc, const icx_verkey *key, icx_err *err)
{
    int rc = icx_xmlsig_check_profile(doc, err);
    if (rc < 0)
        return rc;
    return icx_xmlsig_verify_checked(doc, key, err);
}

/* ---- verification ---------------------------------------------------- */

/* Why ICX verifies its one signature shape itself, like it signs: with
 * the profile checked (icx_xmlsig_check_profile), what remains is the same
 * two steps for every document, and xmlsec's general machinery (contexts,
 * key copies, transform chains, node sets) was a fifth of a verification.
 * The steps, in the order XML-DSig gives them for a reference checked
 * against a verified SignedInfo: exclusive c14n of SignedInfo verified
 * with the configured key (OpenSSL EVP_DigestVerify; ECDSA's r || s
 * turned into DER first), then exclusive c14n of the document without the
 * Signature hashed with the DigestMethod and compared with DigestValue.
 * c14n.c renders both; tests compare it with libxml2's c14n, and the
 * verdicts with xmlsec's (test_envelope.c, xmlsec1_interop). */

/* Base64 (xs:base64Binary, whitespace allowed anywhere) of an element's
 * text into out; the length, or -1 when it is not base64 or too long. */
static long base64_text(const xmlNode *n, unsigned char *out, size_t cap)
{
    size_t len = 0, pad = 0, quad = 0;
    uint32_t acc = 0;
    for (const xmlNode *t = n->children; t != NULL; t = t->next) {
        if (t->type != XML_TEXT_NODE)
            return -1;
        for (const unsigned char *p = t->content; p && *p; p++) {
            int v;
            unsigned char ch = *p;
            if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
                continue;
            if (ch == '=') {
                if (quad < 2 || ++pad > 2)
                    return -1;
                v = 0;
            } else if (pad > 0) {
                return -1; /* data after padding */
            } else if (ch >= 'A' && ch <= 'Z') {
                v = ch - 'A';
            } else if (ch >= 'a' && ch <= 'z') {
                v = ch - 'a' + 26;
            } else if (ch >= '0' && ch <= '9') {
                v = ch - '0' + 52;
            } else if (ch == '+') {
                v = 62;
            } else if (ch == '/') {
                v = 63;
            } else {
                return -1;
            }
            acc = acc << 6 | (uint32_t)v;
            if (++quad < 4)
                continue;
            size_t n_out = 3 - pad;
            if (len + n_out > cap)
                return -1;
            unsigned char b[3] = {(unsigned char)(acc >> 16),
                                  (unsigned char)(acc >> 8),
                                  (unsigned char)acc};
            memcpy(out + len, b, n_out);
            len += n_out;
            quad = 0;
            acc = 0;
        }
    }
    return quad == 0 ? (long)len : -1;
}

/* The hash of position i of sig_algs or digest_algs (3 per family). */
static const EVP_MD *family_md(int i)
{
    return icx_sha(i % 3 == 0 ? 256 : i % 3 == 1 ? 384 : 512);
}

static int list_index(const xmlNode *n, const char *const *list)
{
    xmlChar *copy;
    const xmlChar *v = attr_value((xmlNodePtr)n, "Algorithm", &copy);
    int found = -1;
    for (int i = 0; v != NULL && list[i] != NULL && found < 0; i++)
        if (strcmp((const char *)v, list[i]) == 0)
            found = i;
    xmlFree(copy);
    return found;
}

/* r || s (each field bytes) -> DER ECDSA-Sig-Value in *der (OPENSSL_free). */
static int ecdsa_der(unsigned char **der, int *derlen,
                     const unsigned char *raw, size_t field)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)field, NULL);
    BIGNUM *sv = BN_bin2bn(raw + field, (int)field, NULL);
    if (es == NULL || r == NULL || sv == NULL || !ECDSA_SIG_set0(es, r, sv)) {
        BN_free(r);
        BN_free(sv);
        ECDSA_SIG_free(es);
        return -1;
    }
    *der = NULL;
    *derlen = i2d_ECDSA_SIG(es, der);
    ECDSA_SIG_free(es);
    return *derlen > 0 ? 0 : -1;
}

static int not_verified(icx_err *err, const char *msg)
{
    return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SIG_INVALID, "%s",
                          msg);
}

/* A canonicalization refused the document: say why, never SIG_INVALID,
 * since nothing was compared.  After the profile check, what c14n.c can
 * still refuse in a parsed document is an element with the prefix xml. */
static int not_rendered(const xmlDoc *d, icx_err *err)
{
    int rc = check_names(d, err);
    if (rc < 0)
        return rc;
    return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_FORBIDDEN_NODE,
                          "the document holds a node exclusive c14n does "
                          "not render (an element with the prefix xml)");
}

int icx_xmlsig_verify_checked(icx_xmldoc *doc, const icx_verkey *key,
                              icx_err *err)
{
    xmlDocPtr d = icx_xml_raw(doc);
    xmlNodePtr root = xmlDocGetRootElement(d), sig = NULL;
    for (xmlNodePtr c = first_elem(root); c != NULL; c = icx_xn_elem_from(c->next))
        sig = c;
    /* The places icx_xmlsig_check_profile has checked. */
    xmlNodePtr si = first_elem(sig);
    xmlNodePtr sv = si ? icx_xn_elem_from(si->next) : NULL;
    xmlNodePtr cm = first_elem(si);
    xmlNodePtr sm = cm ? icx_xn_elem_from(cm->next) : NULL;
    xmlNodePtr ref = sm ? icx_xn_elem_from(sm->next) : NULL;
    xmlNodePtr tr = first_elem(ref);
    xmlNodePtr dm = tr ? icx_xn_elem_from(tr->next) : NULL;
    xmlNodePtr dv = dm ? icx_xn_elem_from(dm->next) : NULL;
    if (sv == NULL || dv == NULL)
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SIG_STRUCTURE,
                              "signature outside the profile");
    int alg = list_index(sm, sig_algs), dalg = list_index(dm, digest_algs);
    if (alg < 0 || dalg < 0)
        return icx_err_reason(err, ICX_EBADSIG, ICX_REASON_SIG_ALGORITHM,
                              "algorithm outside the profile");
    if ((alg >= 3) != key->ecdsa)
        return not_verified(err, key->ecdsa
                                     ? "signed with RSA; the configured key "
                                       "is ECDSA"
                                     : "signed with ECDSA; the configured "
                                       "key is RSA");

    unsigned char value[1024], want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
    unsigned char *der = NULL;
    int derlen = 0, rc = ICX_OK;
    unsigned int glen = 0;
    long vlen = base64_text(sv, value, sizeof value);
    long wlen = base64_text(dv, want, sizeof want);
    EVP_MD_CTX *md = sigctx_copy(key->tmpl[alg % 3]);
    if (md == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    if (vlen <= 0 || wlen <= 0) {
        rc = not_verified(err, vlen <= 0 ? "SignatureValue is not base64"
                                         : "DigestValue is not base64");
        goto out;
    }
    if (key->ecdsa) {
        if ((size_t)vlen != 2 * key->field ||
            ecdsa_der(&der, &derlen, value, key->field) < 0) {
            rc = not_verified(err, "ECDSA SignatureValue has the wrong "
                                   "length for the configured key");
            goto out;
        }
    }
    /* SignedInfo, signed with the configured key. */
    struct c14n_sink k = {md, EVP_DigestVerifyUpdate};
    int c1 = icx_c14n_subtree(si, sink_write, &k);
    if (c1 == ICX_EINVAL) {
        rc = not_rendered(d, err);
        goto out;
    }
    if (c1 != ICX_OK ||
        EVP_DigestVerifyFinal(md, der ? der : value,
                              der ? (size_t)derlen : (size_t)vlen) != 1) {
        rc = not_verified(err, "signature does not verify with the "
                               "configured key");
        goto out;
    }
    /* The document without the Signature, digested as Reference says. */
    EVP_MD_CTX_reset(md);
    k = (struct c14n_sink){md, EVP_DigestUpdate};
    int c2 = ICX_OK;
    if (EVP_DigestInit_ex(md, family_md(dalg), NULL) != 1 ||
        (c2 = icx_c14n_document(d, sig, sink_write, &k)) != ICX_OK ||
        EVP_DigestFinal_ex(md, got, &glen) != 1 || glen != (unsigned)wlen ||
        CRYPTO_memcmp(got, want, glen) != 0)
        rc = c2 == ICX_EINVAL ? not_rendered(d, err)
                              : not_verified(err, "reference digest does "
                                                  "not match");
out:
    ERR_clear_error();
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    return rc;
}
