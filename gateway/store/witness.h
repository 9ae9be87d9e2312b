/*
 * witness.h - partners witnessing each other's audit logs: the document a
 * gateway hands a partner (its latest signed checkpoint with an RFC 6962
 * consistency proof from the checkpoint that partner saw before), the
 * witness's judgement of it, and the witness's co-signature.
 *
 * Document (text, bounded: ICX_WITNESS_DOC_MAX bytes):
 *   icx-witness-checkpoint v1
 *   gateway ID / size N / root HEX / time TS / signature BASE64
 *   from M          (the size the proof starts at; 0: no proof)
 *   proof HEX       (one line per hash, RFC 6962 PROOF(M, D[N]) order)
 *
 * Judgement, against the last checkpoint of that partner the witness
 * kept: first (nothing kept yet), same (same size and root), consistent
 * (larger, and the proof shows it extends the kept one), fork (same size
 * and another root, or larger and the proof fails: the log was
 * rewritten), rollback (smaller, and signed later than the kept one:
 * the log went back), stale (smaller and signed earlier: a message that
 * arrived late, ignored), unproven (larger,
 * but the proof starts elsewhere: ask again from the kept size), badsig
 * (not this partner's checkpoint, or its signature does not verify).
 *
 * A co-signature is the witness's checkpoint key over
 *   icx-witness-cosignature v1\nwitness ID\n<the checkpoint's text>
 * so `openssl dgst -sha256 -verify` checks it with the witness's
 * certificate.
 *
 * Ownership: caller structs and buffers.  Threads: reentrant.
 */
#ifndef ICX_WITNESS_H
#define ICX_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "buf.h"
#include "err.h"
#include "xmlsig.h"

#define ICX_WITNESS_DOC_MAX (16 * 1024)

typedef struct icx_witness_doc {
    icx_checkpoint cp;
    uint64_t from;
    int nproof;
    unsigned char proof[ICX_CONSISTENCY_MAX][ICX_HASH_LEN];
} icx_witness_doc;

enum icx_witness_verdict {
    ICX_WITNESS_FIRST, ICX_WITNESS_SAME, ICX_WITNESS_CONSISTENT,
    ICX_WITNESS_FORK, ICX_WITNESS_ROLLBACK, ICX_WITNESS_UNPROVEN,
    ICX_WITNESS_BADSIG, ICX_WITNESS_STALE
};
const char *icx_witness_verdict_name(int verdict);
/* FORK, ROLLBACK and BADSIG: a person must look (alert). */
int icx_witness_verdict_alarming(int verdict);

int icx_witness_doc_write(icx_buf *out, const icx_witness_doc *d);
/* Parses text[0..len); ICX_EINVAL naming the line when malformed. */
int icx_witness_doc_parse(icx_witness_doc *d, const char *text, size_t len,
                          icx_err *err);

/* Judges d, sent by partner (certificate cert_pem), against prev (the
 * last checkpoint of that partner kept; NULL when none).  *verdict always
 * set when ICX_OK is returned; err says why for the alarming ones. */
int icx_witness_judge(int *verdict, const icx_checkpoint *prev,
                      const icx_witness_doc *d, const char *partner,
                      const char *cert_pem, size_t cert_len, icx_err *err);

/* The text a witness signs for checkpoint c. */
int icx_witness_cosig_text(icx_buf *out, const icx_checkpoint *c,
                           const char *witness);
/* Signs the co-signature text with the gateway's signer (the signer
 * process's, a token's or a key file's): SHA-256, RSA PKCS#1 v1.5 or
 * ECDSA stored as DER, base64 into b64 (n bytes; 1400 hold any).  The
 * signer's error passes through: ICX_EAGAIN when its process restarted. */
int icx_witness_cosign(char *b64, size_t n, const icx_checkpoint *c,
                       const char *witness, const icx_signer *signer,
                       icx_err *err);
int icx_witness_cosig_verify(const icx_checkpoint *c, const char *witness,
                             const char *b64, const char *cert_pem,
                             size_t cert_len, icx_err *err);

/* A co-signature document (the text above plus a last line "signature
 * BASE64"): the witness, the checkpoint size, the signature and how many
 * leading bytes are the signed text. */
int icx_witness_cosig_parse(char *witness, size_t wn, uint64_t *size,
                            char *sig, size_t sn, size_t *signed_len,
                            const char *text, size_t len, icx_err *err);

#endif
