/*
 * diff_sign.c - signing mutated envelope bytes for the differential test
 * (see diff_sign.h).  Single-threaded test code.
 */
#include "diff_sign.h"

#include <string.h>

#include <libxml/tree.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "c14n.h"

/* ICX signs what it parses of t (as the signer would) and the Signature
 * it made goes into t before the root's end tag: the rest of the bytes
 * stay as mutated.  -1 when ICX cannot parse or sign t. */
int dv_resign(struct dm_text *t, const icx_signer *s)
{
    icx_xml_limits lim = {.max_bytes = 256 * 1024, .max_depth = 64};
    icx_xmldoc *doc = NULL;
    icx_err err;
    icx_buf out;
    int rc = -1;
    icx_buf_init(&out, 1 << 20);
    if (icx_xml_parse(&doc, t->s, t->n, &lim, &err) < 0 ||
        icx_xmlsig_sign(doc, s, &err) < 0 ||
        icx_xml_serialize(doc, &out, &err) < 0)
        goto out;
    const char *a = strstr(out.data, "<ds:Signature");
    const char *b = strstr(out.data, "</ds:Signature>");
    size_t at = t->n;
    while (at >= 2 && !(t->s[at - 2] == '<' && t->s[at - 1] == '/'))
        at--;
    if (a == NULL || b == NULL || at < 2)
        goto out;
    b += strlen("</ds:Signature>");
    dm_text_splice(t, at - 2, 0, a, (size_t)(b - a));
    rc = 0;
out:
    icx_buf_free(&out);
    icx_xml_free(&doc);
    return rc;
}

/* c14n.c's output into an OpenSSL context: a digest or a signature. */
struct evp_sink {
    EVP_MD_CTX *md;
    int sign;
};

static int evp_write(void *ctx, const char *data, size_t len)
{
    struct evp_sink *k = ctx;
    int ok = k->sign ? EVP_DigestSignUpdate(k->md, data, len)
                     : EVP_DigestUpdate(k->md, data, len);
    return ok == 1 ? 0 : -1;
}

/* The first ds:Signature of ICX's parse of t (in *doc, caller frees). */
static xmlNodePtr parsed_signature(icx_xmldoc **doc, const struct dm_text *t)
{
    icx_xml_limits lim = {.max_bytes = 256 * 1024, .max_depth = 64};
    icx_err err;
    if (icx_xml_parse(doc, t->s, t->n, &lim, &err) < 0)
        return NULL;
    xmlNodePtr root = xmlDocGetRootElement(icx_xml_raw(*doc));
    return root ? xmlSecFindNode(root, xmlSecNodeSignature, xmlSecDSigNs)
                : NULL;
}

/* Replaces the text of the first element named local inside the first
 * Signature of t by b64. */
static int put_value(struct dm_text *t, const char *local, const char *b64)
{
    size_t sa, sb, a, b;
    if (dm_element_content(t, "Signature", 0, &sa, &sb) < 0 ||
        dm_element_content(t, local, sa, &a, &b) < 0 || b > sb)
        return -1;
    dm_text_splice(t, a, b - a, b64, strlen(b64));
    return 0;
}

/* DigestValue and SignatureValue of the first Signature in t made anew
 * with who's key, over what c14n.c renders of the bytes as they now are
 * (SHA-256 both): what a signer canonicalizing as ICX does would send for
 * this shape.  A mutated signature (prefixes, declarations, whitespace,
 * references in SignedInfo) is then signed, not merely broken, and ICX
 * must not accept one whose canonical form it gets wrong.  -1 when ICX
 * cannot parse t or the Signature lacks a part. */
int dv_refill(struct dm_text *t, EVP_PKEY *key)
{
    icx_xmldoc *doc = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char dig[EVP_MAX_MD_SIZE], der[1024], raw[1024];
    char b64[1400];
    unsigned int dlen = 0;
    size_t slen = sizeof der, rlen;
    ECDSA_SIG *es = NULL;
    int rc = -1;
    xmlNodePtr sig = parsed_signature(&doc, t), si;
    struct evp_sink k = {md, 0};
    if (sig == NULL || md == NULL ||
        EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        icx_c14n_document(icx_xml_raw(doc), sig, evp_write, &k) != 0 ||
        EVP_DigestFinal_ex(md, dig, &dlen) != 1)
        goto out;
    EVP_EncodeBlock((unsigned char *)b64, dig, (int)dlen);
    icx_xml_free(&doc);
    if (put_value(t, "DigestValue", b64) < 0)
        goto out;
    sig = parsed_signature(&doc, t);
    si = sig ? xmlSecFindChild(sig, xmlSecNodeSignedInfo, xmlSecDSigNs)
             : NULL;
    k = (struct evp_sink){md, 1};
    if (si == NULL || EVP_MD_CTX_reset(md) != 1 ||
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
                           key) != 1 ||
        icx_c14n_subtree(si, evp_write, &k) != 0 ||
        EVP_DigestSignFinal(md, der, &slen) != 1)
        goto out;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        const unsigned char *p = der;
        const BIGNUM *r = NULL, *sv = NULL;
        size_t field = (size_t)(EVP_PKEY_get_bits(key) + 7) / 8;
        es = d2i_ECDSA_SIG(NULL, &p, (long)slen);
        if (es == NULL)
            goto out;
        ECDSA_SIG_get0(es, &r, &sv);
        if (BN_bn2binpad(r, raw, (int)field) != (int)field ||
            BN_bn2binpad(sv, raw + field, (int)field) != (int)field)
            goto out;
        rlen = 2 * field;
    } else {
        memcpy(raw, der, slen);
        rlen = slen;
    }
    EVP_EncodeBlock((unsigned char *)b64, raw, (int)rlen);
    rc = put_value(t, "SignatureValue", b64);
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    icx_xml_free(&doc);
    return rc;
}
