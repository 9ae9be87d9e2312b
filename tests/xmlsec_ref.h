/*
 * xmlsec_ref.h - the reference ICX's signature verifier (gateway/xmlsig.c)
 * is held to: xmlsec's general XML-DSig verification, hardened the way a
 * careful partner would run it.  Shared by tests/unit/test_envelope.c and
 * tests/diff/diff_verify.c.
 *
 * Hardening, each part on purpose:
 * - its own parse of the bytes (xmlReadMemory with XML_PARSE_NONET and
 *   nothing that substitutes entities or loads a DTD), never ICX's tree,
 *   so a difference in reading the document shows as a difference in the
 *   verdict;
 * - the key is the one of the certificate, set before verification, with
 *   no keys manager: xmlsec asks KeyInfo for a key only when none is set
 *   and a manager is there, so KeyInfo is never resolved; the key data it
 *   may read is narrowed to KeyName as a second fence;
 * - references may only be URI="" (enabledReferenceUris);
 * - reference transforms: enveloped-signature, exclusive c14n and the
 *   profile's digests; SignedInfo: exclusive c14n and the profile's
 *   signature methods (xmlsec reads DigestMethod and SignatureMethod
 *   through the same enabled-transform lists);
 * - the verdict is xmlsec's status: Succeeded, or refused.
 *
 * xmlsec_ref_key() loads a certificate's key (NULL on failure; free with
 * xmlSecKeyDestroy).  xmlsec_ref_verify() returns 1 when xmlsec verifies
 * the first ds:Signature of the document with that key, 0 when it refuses
 * (any parse, profile or cryptographic failure), -1 when the reference
 * itself could not be set up.  icx_xmlsig_init() must have run.
 */
#ifndef ICX_XMLSEC_REF_H
#define ICX_XMLSEC_REF_H

#include <limits.h>
#include <stddef.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <xmlsec/crypto.h>
#include <xmlsec/keyinfo.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

static xmlSecKeyPtr xmlsec_ref_key(const char *cert_path)
{
    return xmlSecCryptoAppKeyLoad(cert_path, xmlSecKeyDataFormatCertPem,
                                  NULL, NULL, NULL);
}

/* The transforms the profile allows, per place. */
static int xmlsec_ref_restrict(xmlSecDSigCtxPtr ctx)
{
    xmlSecTransformId ref[] = {
        xmlSecTransformEnvelopedId, xmlSecTransformExclC14NId,
        xmlSecTransformSha256Id, xmlSecTransformSha384Id,
        xmlSecTransformSha512Id,
    };
    xmlSecTransformId sig[] = {
        xmlSecTransformExclC14NId,
        xmlSecTransformRsaSha256Id, xmlSecTransformRsaSha384Id,
        xmlSecTransformRsaSha512Id, xmlSecTransformEcdsaSha256Id,
        xmlSecTransformEcdsaSha384Id, xmlSecTransformEcdsaSha512Id,
    };
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
        if (xmlSecDSigCtxEnableReferenceTransform(ctx, ref[i]) < 0)
            return -1;
    for (size_t i = 0; i < sizeof sig / sizeof sig[0]; i++)
        if (xmlSecDSigCtxEnableSignatureTransform(ctx, sig[i]) < 0)
            return -1;
    ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
    if (xmlSecPtrListAdd(&ctx->keyInfoReadCtx.enabledKeyData,
                         (void *)xmlSecKeyDataNameId) < 0)
        return -1;
    return 0;
}

static int xmlsec_ref_verify(const char *xml, size_t len, xmlSecKeyPtr key)
{
    if (len > (size_t)INT_MAX)
        return 0;
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR |
                                      XML_PARSE_NOWARNING);
    if (doc == NULL)
        return 0;
    int verdict = -1;
    xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
    if (ctx == NULL || xmlsec_ref_restrict(ctx) < 0)
        goto out;
    ctx->signKey = xmlSecKeyDuplicate(key);
    if (ctx->signKey == NULL)
        goto out;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr sig = root != NULL ? xmlSecFindNode(root, xmlSecNodeSignature,
                                                   xmlSecDSigNs)
                                  : NULL;
    verdict = sig != NULL && xmlSecDSigCtxVerify(ctx, sig) == 0 &&
              ctx->status == xmlSecDSigStatusSucceeded;
out:
    if (ctx != NULL)
        xmlSecDSigCtxDestroy(ctx);
    xmlFreeDoc(doc);
    return verdict;
}

#endif
