/*
 * bare_xmlsec.h - the bare libxmlsec1 baseline shared by the benchmarks:
 * one enveloped signature or one verification straight over libxml2 and
 * xmlsec, with none of ICX's policy, schemas or hardening.
 *
 *   sign     xmlReadMemory, template (enveloped + exc-c14n, SHA-256,
 *            RSA-SHA256 or ECDSA-SHA256), xmlSecDSigCtxSign with a copy of
 *            the key loaded once (xmlSecKeyDuplicate, as ICX does),
 *            xmlDocDumpMemory
 *   verify   xmlReadMemory, find ds:Signature, xmlSecDSigCtxVerify with a
 *            copy of the certificate's key loaded once, status Succeeded
 *
 * This file, with gateway/sig/xmlsig.c, is where xmlsec is used directly: the
 * bare loop must use the library itself to be a baseline.
 * Reentrant; xmlsec must have been initialized (icx_xmlsig_init).
 */
#ifndef ICX_BENCH_BARE_XMLSEC_H
#define ICX_BENCH_BARE_XMLSEC_H

#include <stddef.h>

#include <libxml/tree.h>
#include <xmlsec/xmlsec.h>

/* Signs the unsigned envelope xml with key (ecdsa: ECDSA-SHA256, else
 * RSA-SHA256).  With out != NULL the serialized result is returned there
 * (free with xmlFree); its size goes to *outlen either way.  0 or -1. */
int bare_xmlsec_sign(xmlSecKeyPtr key, int ecdsa, const char *xml, size_t len,
                     xmlChar **out, size_t *outlen);

/* Verifies the signed envelope xml with the certificate key; 0 when the
 * signature is valid, -1 otherwise. */
int bare_xmlsec_verify(xmlSecKeyPtr cert, const char *xml, size_t len);

/* The public key of a PEM certificate, without the certificate, loaded the
 * way ICX's trust store holds it (so both sides duplicate the same key
 * per verification); NULL on failure. */
xmlSecKeyPtr bare_xmlsec_public_key(const char *cert_path);

#endif
