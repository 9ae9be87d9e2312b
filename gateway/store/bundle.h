/*
 * bundle.h - evidence bundles: everything a court needs about one message
 * in one text file that standard tools can check (docs/AUDIT.md).
 *
 * A bundle holds the envelope bytes exactly as signed or received, the
 * receipts, the message's audit records each with an RFC 6962 inclusion
 * proof against one signed checkpoint, that checkpoint and its signature,
 * and the certificates of this gateway and of the partner.  When a
 * checkpoint covering every record of the message has an RFC 3161
 * time-stamp, the earliest such checkpoint is the one used, with its
 * token (checkpoint.tst) and the TSA's CA (tsa-ca.pem).  Sections are
 * "-----BEGIN ICX name-----" ... "-----END ICX name-----"; binary content
 * is base64.
 *
 * Ownership: outputs go to caller buffers.  Threads: the caller's.
 */
#ifndef ICX_BUNDLE_H
#define ICX_BUNDLE_H

#include "buf.h"
#include "config.h"
#include "err.h"
#include "store.h"

/* Writes the bundle of message_id.  Records not yet covered by a signed
 * checkpoint are left out and named in warnings. */
int icx_bundle_write(icx_buf *out, icx_store *s, const icx_config *cfg,
                     const char *message_id, icx_buf *warnings, icx_err *err);

/* Checks a bundle on its own: envelope digest recorded in the audit
 * records, every record's leaf and proof against the checkpoint root, the
 * checkpoint signature with the bundled gateway certificate, receipts'
 * digests recorded.  report gets one line per check. */
int icx_bundle_check(const char *data, size_t len, icx_buf *report,
                     icx_err *err);

#endif
