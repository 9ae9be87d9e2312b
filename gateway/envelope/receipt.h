/*
 * receipt.h - receipts: the signed answer to every inbound envelope.
 *
 * A receipt is an ordinary envelope (category "receipt", payload
 * {urn:icx:receipt:1}Receipt) signed by the gateway that issues it and
 * addressed to the origin of the message it answers.  It carries the
 * MessageId answered, its Sender, the SHA-256 of the exact bytes received,
 * the time, and for a negative receipt the reason code.  A hub adds Hop
 * (its own id) to the receipts it issues for messages it relays.
 *
 * Ownership: icx_receipt is plain data with inline strings.  Thread
 * safety: reentrant.
 */
#ifndef ICX_RECEIPT_H
#define ICX_RECEIPT_H

#include "buf.h"
#include "envelope.h"
#include "err.h"

#define ICX_RECEIPT_NS "urn:icx:receipt:1"
/* RefToMessageId of a receipt for bytes whose MessageId could not be read;
 * the sender matches it by MessageDigest. */
#define ICX_RECEIPT_NIL_ID "00000000-0000-0000-0000-000000000000"

typedef struct icx_receipt {
    int positive;
    char ref_message_id[40];
    char ref_sender[32];
    char digest[65];        /* SHA-256 hex of the bytes received */
    char received_at[40];
    char reason[64];        /* reason name when negative */
    char detail[256];       /* human text when negative */
    char hop[32];           /* issuing intermediate, "" when final */
} icx_receipt;

/* Builds and signs the receipt envelope from `self` to `to`.  A
 * ref_message_id that is not a UUID is sent as ICX_RECEIPT_NIL_ID (the
 * digest identifies the bytes). */
int icx_receipt_envelope(icx_buf *out, const icx_receipt *r, const char *self,
                         const char *to, const icx_schemas *schemas,
                         const icx_signer *signer, icx_err *err);

/* The same in two steps (icx_envelope_prepare): built and digested for a
 * signer of that algorithm (ecdsa), signed later with others at once. */
int icx_receipt_prepare(icx_envelope_pending *p, const icx_receipt *r,
                        const char *self, const char *to,
                        const icx_schemas *schemas, int ecdsa, icx_err *err);

/* Reads the Receipt payload of an envelope that has been verified. */
int icx_receipt_read(icx_receipt *r, const char *env, size_t len,
                     const icx_xml_limits *lim, icx_err *err);
/* The same from the verified envelope's tree (borrowed, not changed). */
int icx_receipt_read_tree(icx_receipt *r, icx_xmldoc *env, icx_err *err);

#endif
