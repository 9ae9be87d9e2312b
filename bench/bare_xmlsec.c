/*
 * bare_xmlsec.c - the bare libxmlsec1 sign and verify (see bare_xmlsec.h).
 */
#include "bare_xmlsec.h"

#include <libxml/parser.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

int bare_xmlsec_sign(xmlSecKeyPtr key, int ecdsa, const char *xml, size_t len,
                     xmlChar **out, size_t *outlen)
{
    int rc = -1;
    xmlSecDSigCtxPtr ctx = NULL;
    xmlChar *mem = NULL;
    int size = 0;
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    xmlNodePtr root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    if (root == NULL)
        goto out;
    xmlNodePtr sig = xmlSecTmplSignatureCreateNsPref(
        doc, xmlSecTransformExclC14NId,
        ecdsa ? xmlSecTransformEcdsaSha256Id : xmlSecTransformRsaSha256Id,
        NULL, BAD_CAST "ds");
    if (sig == NULL)
        goto out;
    xmlAddChild(root, sig);
    xmlNodePtr ref = xmlSecTmplSignatureAddReference(
        sig, xmlSecTransformSha256Id, NULL, BAD_CAST "", NULL);
    if (ref == NULL ||
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) ==
            NULL ||
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) ==
            NULL)
        goto out;
    ctx = xmlSecDSigCtxCreate(NULL);
    if (ctx == NULL)
        goto out;
    ctx->signKey = xmlSecKeyDuplicate(key);
    if (ctx->signKey == NULL || xmlSecDSigCtxSign(ctx, sig) < 0)
        goto out;
    xmlDocDumpMemory(doc, &mem, &size);
    if (mem == NULL || size <= 0)
        goto out;
    *outlen = (size_t)size;
    if (out != NULL) {
        *out = mem;
        mem = NULL;
    }
    rc = 0;
out:
    if (mem != NULL)
        xmlFree(mem);
    if (ctx != NULL)
        xmlSecDSigCtxDestroy(ctx);
    if (doc != NULL)
        xmlFreeDoc(doc);
    return rc;
}

int bare_xmlsec_verify(xmlSecKeyPtr cert, const char *xml, size_t len)
{
    int rc = -1;
    xmlSecDSigCtxPtr ctx = NULL;
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    xmlNodePtr root = doc != NULL ? xmlDocGetRootElement(doc) : NULL;
    xmlNodePtr sig = root != NULL ? xmlSecFindNode(root, xmlSecNodeSignature,
                                                   xmlSecDSigNs)
                                  : NULL;
    if (sig == NULL)
        goto out;
    ctx = xmlSecDSigCtxCreate(NULL);
    if (ctx == NULL)
        goto out;
    ctx->signKey = xmlSecKeyDuplicate(cert);
    if (ctx->signKey == NULL || xmlSecDSigCtxVerify(ctx, sig) < 0)
        goto out;
    if (ctx->status == xmlSecDSigStatusSucceeded)
        rc = 0;
out:
    if (ctx != NULL)
        xmlSecDSigCtxDestroy(ctx);
    if (doc != NULL)
        xmlFreeDoc(doc);
    return rc;
}

xmlSecKeyPtr bare_xmlsec_public_key(const char *cert_path)
{
    xmlSecKeyPtr cert = xmlSecCryptoAppKeyLoad(cert_path,
                                               xmlSecKeyDataFormatCertPem,
                                               NULL, NULL, NULL);
    if (cert == NULL)
        return NULL;
    xmlSecKeyDataPtr value = xmlSecKeyGetValue(cert);
    xmlSecKeyDataPtr dup = value ? xmlSecKeyDataDuplicate(value) : NULL;
    xmlSecKeyPtr key = xmlSecKeyCreate();
    if (dup == NULL || key == NULL || xmlSecKeySetValue(key, dup) < 0) {
        if (dup != NULL)
            xmlSecKeyDataDestroy(dup);
        if (key != NULL)
            xmlSecKeyDestroy(key);
        key = NULL;
    }
    xmlSecKeyDestroy(cert);
    return key;
}
