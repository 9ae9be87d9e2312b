/*
 * diff_sign.h - signing mutated envelope bytes the way ICX would, so that
 * the differential test (diff_verify.c) also judges odd forms that carry a
 * valid signature, not only broken ones.
 *
 * dv_resign(): ICX parses the (unsigned) bytes and signs its tree with
 * icx_xmlsig_sign(); the Signature it made goes into the bytes before the
 * root's end tag, the rest of the bytes stay as mutated.
 * dv_refill(): the first Signature already in the bytes gets DigestValue
 * and SignatureValue made anew over what c14n.c renders of the bytes as
 * they are (SHA-256; ECDSA as r||s), whatever its shape.
 * Both return 0, or -1 when ICX cannot parse the bytes or a part is
 * missing; t is changed only on success (dv_refill may have replaced
 * DigestValue when it fails later).
 */
#ifndef ICX_DIFF_SIGN_H
#define ICX_DIFF_SIGN_H

#include <openssl/evp.h>

#include "diff_mutate.h"
#include "xmlsig.h"

int dv_resign(struct dm_text *t, const icx_signer *s);
int dv_refill(struct dm_text *t, EVP_PKEY *key);

#endif
