/*
 * envelope.h - ICX envelope v1: build, sign, strictly verify, read.
 *
 * Build puts a header and one payload element (parsed with the hardened
 * parser) into <Envelope xmlns="urn:icx:envelope:1">, validates the result
 * against schemas/ and serializes it.  Sign adds the enveloped signature.
 * Verify runs the whole policy of DESIGN.md in order: hardened parse
 * (size, UTF-8, no DOCTYPE, depth), schema, header read as whole text,
 * Sender known to the trust store, signature profile, xmlsec with the
 * Sender's configured key only, then Recipient, Created window and Expires.
 * Checks that need state (replay cache, transport peer) belong to the
 * broker and use the header this module returns.
 *
 * Ownership: header fields are inline arrays; icx_buf outputs belong to the
 * caller.  The trust callback's key is borrowed for the call.  Thread
 * safety: all functions are reentrant given read-only schemas and keys.
 */
#ifndef ICX_ENVELOPE_H
#define ICX_ENVELOPE_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "xml.h"
#include "xmlsig.h"

#define ICX_ENVELOPE_NS "urn:icx:envelope:1"

typedef struct icx_header {
    char message_id[40];
    char conversation_id[40];  /* "" when absent */
    char ref_to_message_id[40]; /* "" when absent */
    char sender[32];
    char recipient[32];
    char created[40];
    char expires[40];          /* "" when absent */
    char category[32];
    char tlp[16];
    char hcode[4];
    char legal_basis[260];
    char retain_until[16];
    char payload_ns[64];       /* namespace of the payload element (read) */
    char payload_name[32];     /* its local name (read) */
    int signer_key;            /* after verification: the Sender's key
                                * that verified, 0 (trust) or 1
                                * (trust_next, a key rollover) */
} icx_header;

/* Fills message_id (new UUID) and created (now), keeps the rest. */
int icx_header_stamp(icx_header *h, time_t now, icx_err *err);

/* header + payload document -> unsigned, schema-valid envelope in out. */
int icx_envelope_build(icx_buf *out, const icx_header *h, const char *payload,
                       size_t payload_len, const icx_schemas *schemas,
                       icx_err *err);
/* Build and sign in one pass (one parse, one schema validation): what the
 * daemon does for every outbound envelope and receipt. */
int icx_envelope_build_signed(icx_buf *out, const icx_header *h,
                              const char *payload, size_t payload_len,
                              const icx_schemas *schemas,
                              const icx_signer *signer, icx_err *err);
/* The same with the payload as a parsed document, taken (freed whatever
 * happens; *payload is NULL after the call): the envelope is made around
 * it, so the payload is not parsed again. */
int icx_envelope_build_signed_tree(icx_buf *out, const icx_header *h,
                                   icx_xmldoc **payload,
                                   const icx_schemas *schemas,
                                   const icx_signer *signer, icx_err *err);
/* The same in two steps, so that a worker asks the signer for several
 * envelopes' signatures at once (icx_signer_sign_digests): prepare builds,
 * validates and digests (digest: what the signer signs); finish writes
 * the signature, checks the added Signature's shape and serializes.
 * finish, sign_pending and pending_free release the document; a pending
 * that is zeroed or released may be freed again. */
typedef struct icx_envelope_pending {
    icx_xmldoc *doc;                       /* owned; NULL when none */
    unsigned char digest[ICX_SIGN_DIGEST]; /* SignedInfo's */
} icx_envelope_pending;
/* payload parsed with at most max_bytes; ecdsa: the signer's algorithm
 * (icx_signer_ecdsa). */
int icx_envelope_prepare(icx_envelope_pending *p, const icx_header *h,
                         const char *payload, size_t payload_len,
                         size_t max_bytes, const icx_schemas *schemas,
                         int ecdsa, icx_err *err);
/* The payload document is taken, as by icx_envelope_build_signed_tree. */
int icx_envelope_prepare_tree(icx_envelope_pending *p, const icx_header *h,
                              icx_xmldoc **payload,
                              const icx_schemas *schemas, int ecdsa,
                              icx_err *err);
int icx_envelope_finish(icx_buf *out, icx_envelope_pending *p,
                        const unsigned char *sig, size_t siglen, icx_err *err);
/* Signs p's digest with signer alone and finishes. */
int icx_envelope_sign_pending(icx_buf *out, icx_envelope_pending *p,
                              const icx_signer *signer, icx_err *err);
void icx_envelope_pending_free(icx_envelope_pending *p);
/* Unsigned envelope -> signed envelope bytes in out (schema-checked before
 * and after signing). */
int icx_envelope_sign(icx_buf *out, const char *xml, size_t len,
                      const icx_schemas *schemas, const icx_signer *signer,
                      icx_err *err);

/* Unsigned envelope -> envelope with an empty signature template
 * (RSA-SHA256, or ECDSA-SHA256 when ecdsa), to be signed by another
 * XML-DSig implementation. */
int icx_envelope_template(icx_buf *out, const char *xml, size_t len,
                          const icx_schemas *schemas, int ecdsa,
                          icx_err *err);

/* Returns the verification key for an agency id, or NULL when unknown. */
typedef const icx_verkey *(*icx_trust_fn)(void *ctx, const char *agency);
/* Whether this gateway accepts envelopes for recipient (self or relayed). */
typedef int (*icx_recipient_fn)(void *ctx, const char *recipient);

typedef struct icx_verify_policy {
    icx_xml_limits limits;
    const icx_schemas *schemas;
    icx_trust_fn trust;
    /* NULL, or the Sender's second key during a key rollover: tried, with
     * the full verification, only when trust's key does not verify. */
    icx_trust_fn trust_next;
    icx_recipient_fn recipient_ok; /* NULL: recipient must equal self */
    void *ctx;
    const char *self;          /* this gateway's agency id */
    time_t now;                /* 0: time(NULL) */
    long created_past_s;
    long created_future_s;
} icx_verify_policy;

/* Verifies and reads the header.  On refusal returns ICX_EBADSIG with
 * err->reason set; when the header could be read before the refusal,
 * h->message_id and h->sender are filled (for receipts and audit), else
 * they are "". */
int icx_envelope_verify(icx_header *h, const char *data, size_t len,
                        const icx_verify_policy *p, icx_err *err);
/* The same, and on success *tree receives the verified document (the
 * caller frees it with icx_xml_free()) so that readers of the payload need
 * not parse the bytes again.  On failure *tree is NULL. */
int icx_envelope_verify_tree(icx_header *h, icx_xmldoc **tree,
                             const char *data, size_t len,
                             const icx_verify_policy *p, icx_err *err);

/* Reads the header without verifying (for display and routing of
 * envelopes already verified and stored). */
int icx_envelope_peek(icx_header *h, const char *data, size_t len,
                      const icx_xml_limits *lim, icx_err *err);

/* Copies the payload element, as a standalone document, into out
 * (envelope already verified; namespaces kept). */
int icx_envelope_payload(icx_buf *out, const char *data, size_t len,
                         const icx_xml_limits *lim, icx_err *err);

/* Writes the header as "key: value" lines or as a JSON object. */
int icx_header_format(icx_buf *out, const icx_header *h, int json);

/* Writes a payload document (as icx_envelope_payload returns it) for a
 * person, one indented "Label: text (attribute: value)" line per element
 * with control characters escaped, or as a JSON tree (payload_view.c). */
int icx_payload_format(icx_buf *out, const char *payload, size_t len,
                       const icx_xml_limits *lim, int json, icx_err *err);
/* 1 when the envelope's case payload (urn:icx:case:1) has a top-level
 * CaseReference or RefCaseReference whose text is ref, 0 when not (or
 * when the payload is no case document), < 0 when the bytes cannot be
 * read as an envelope (`icx status --case`, the dashboard's search). */
int icx_envelope_names_case(const char *env, size_t len, const char *ref,
                            icx_err *err);

#endif
