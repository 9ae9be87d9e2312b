/*
 * audit.h - the audit log as an auditor sees it: RFC 6962 Merkle hashing of
 * hash-chained records, signed checkpoints, inclusion proofs, and the
 * verifier that names the first damage.
 *
 * A record's canonical bytes are one line of UTF-8:
 *   seq|ts|event|message_id|partner|detail|prev
 * where prev is the previous record's leaf hash (64 zeros for the first)
 * and no field contains '|' or a control character (the store replaces
 * them with '_').  leaf = SHA-256(0x00 || line); node = SHA-256(0x01 ||
 * left || right); the tree of the first n leaves is RFC 6962's MTH.
 *
 * A checkpoint is the text
 *   icx-audit-checkpoint v1\ngateway ID\nsize N\nroot HEX\ntime TS\n
 * signed with the gateway's private key (SHA-256, RSA PKCS#1 v1.5 or
 * ECDSA DER), so that `openssl dgst -sha256 -verify` checks it.
 *
 * Ownership: plain values and caller buffers.  Threads: reentrant.
 */
#ifndef ICX_AUDIT_H
#define ICX_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define ICX_HASH_LEN 32
#define ICX_MERKLE_MAX_LEVELS 64

/* One record as stored. */
typedef struct icx_audit_rec {
    int64_t seq;
    char ts[32];
    char event[48];
    char message_id[40];
    char partner[32];
    char detail[256];
    char prev[65];          /* hex */
    char hash[65];          /* hex leaf hash as stored */
} icx_audit_rec;

/* Canonical line (no newline) into out; leaf hash (raw) into leaf. */
int icx_audit_line(icx_buf *out, const icx_audit_rec *r);
void icx_audit_leaf(unsigned char leaf[ICX_HASH_LEN], const char *line,
                    size_t len);
void icx_merkle_node(unsigned char out[ICX_HASH_LEN],
                     const unsigned char left[ICX_HASH_LEN],
                     const unsigned char right[ICX_HASH_LEN]);

/* Incremental RFC 6962 tree: the roots of the perfect subtrees that make
 * up the first `size` leaves, largest first. */
typedef struct icx_merkle {
    uint64_t size;
    int n;
    unsigned char h[ICX_MERKLE_MAX_LEVELS][ICX_HASH_LEN];
    int height[ICX_MERKLE_MAX_LEVELS];
} icx_merkle;

void icx_merkle_init(icx_merkle *m);
void icx_merkle_append(icx_merkle *m, const unsigned char leaf[ICX_HASH_LEN]);
/* MTH of the leaves appended so far (SHA-256 of "" when empty). */
void icx_merkle_root(const icx_merkle *m, unsigned char root[ICX_HASH_LEN]);

/* Root of leaves[0..n) and the audit path of leaf index m in it (RFC 6962
 * PATH), with the side of each sibling: sides[i] = 'L' when the sibling is
 * on the left.  *npath gets the length (<= 64). */
void icx_merkle_root_of(unsigned char root[ICX_HASH_LEN],
                        const unsigned char (*leaves)[ICX_HASH_LEN], uint64_t n);
int icx_merkle_path(unsigned char (*path)[ICX_HASH_LEN], char *sides,
                    int *npath, const unsigned char (*leaves)[ICX_HASH_LEN],
                    uint64_t n, uint64_t m);
/* Folds a leaf with a path (by sides) into a root; also checks the sides
 * against index m and size n.  ICX_OK when the root matches. */
int icx_merkle_check_path(const unsigned char leaf[ICX_HASH_LEN],
                          const unsigned char (*path)[ICX_HASH_LEN],
                          const char *sides, int npath, uint64_t m,
                          uint64_t n, const unsigned char root[ICX_HASH_LEN]);

/* RFC 6962 section 2.1.2 consistency proof PROOF(m, D[n]) between the
 * tree of the first m leaves and that of all n (1 <= m <= n): at most
 * ICX_CONSISTENCY_MAX hashes into proof, *nproof gets the count (0 when
 * m == n).  The check (RFC 9162 2.1.4.2) returns ICX_OK when root_n's
 * tree extends root_m's, ICX_EBADSIG when not, ICX_EINVAL for sizes out
 * of order. */
#define ICX_CONSISTENCY_MAX (ICX_MERKLE_MAX_LEVELS + 1)
int icx_merkle_consistency(unsigned char (*proof)[ICX_HASH_LEN], int *nproof,
                           const unsigned char (*leaves)[ICX_HASH_LEN],
                           uint64_t n, uint64_t m);
int icx_merkle_check_consistency(uint64_t m,
                                 const unsigned char root_m[ICX_HASH_LEN],
                                 uint64_t n,
                                 const unsigned char root_n[ICX_HASH_LEN],
                                 const unsigned char (*proof)[ICX_HASH_LEN],
                                 int nproof);

typedef struct icx_checkpoint {
    char gateway[32];
    uint64_t size;
    char root[65];          /* hex */
    char time[32];
    char signature[1024];   /* base64 */
} icx_checkpoint;

/* The signed text of a checkpoint. */
int icx_checkpoint_text(icx_buf *out, const icx_checkpoint *c);
/* Signs (private key file, mode-checked) / verifies (PEM certificate). */
int icx_checkpoint_sign(icx_checkpoint *c, const char *key_path, icx_err *err);
/* The same with the key loaded once (the daemon signs one every few
 * seconds and should not read and parse the key file each time). */
typedef struct icx_cpkey icx_cpkey;
int icx_cpkey_load(icx_cpkey **out, const char *key_path, icx_err *err);
void icx_cpkey_free(icx_cpkey **kp);
int icx_checkpoint_sign_with(icx_checkpoint *c, const icx_cpkey *key,
                             icx_err *err);
/* The same in two halves, for a key held elsewhere (the daemon's signer
 * process): the SHA-256 of the signed text, then the signature of that
 * digest stored in c.  ecdsa_field 0: sig is RSA PKCS#1 v1.5; otherwise
 * sig is ECDSA r||s of 2 * ecdsa_field bytes, stored as DER, the form
 * icx_checkpoint_sign makes and icx_checkpoint_verify reads. */
int icx_checkpoint_digest(unsigned char digest[32], const icx_checkpoint *c,
                          icx_err *err);
int icx_checkpoint_set_signature(icx_checkpoint *c, const unsigned char *sig,
                                 size_t len, size_t ecdsa_field, icx_err *err);
/* A signer's signature in the stored form: base64 of RSA PKCS#1 v1.5, or
 * of ECDSA as DER when ecdsa_field (bytes of r and of s) is not 0 and sig
 * is r||s.  ICX_ECRYPTO when it is malformed or b64 (n bytes) too small. */
int icx_sig_encode(char *b64, size_t n, const unsigned char *sig, size_t len,
                   size_t ecdsa_field);
/* Bytes signed as icx_witness_cosign signs them (SHA-256, base64),
 * checked with a PEM certificate: co-signatures of partners'
 * checkpoints (witness.h). */
int icx_sig_verify_bytes(const char *cert_pem, size_t cert_len,
                         const void *data, size_t len, const char *b64,
                         icx_err *err);
int icx_checkpoint_verify(const icx_checkpoint *c, const char *cert_pem,
                          size_t cert_len, icx_err *err);

/* Damage kinds named by the verifier. */
enum icx_damage { ICX_DAMAGE_NONE, ICX_DAMAGE_EDITED, ICX_DAMAGE_DELETED,
                  ICX_DAMAGE_REORDERED, ICX_DAMAGE_INSERTED,
                  ICX_DAMAGE_TRUNCATED, ICX_DAMAGE_CHECKPOINT };
const char *icx_damage_name(int kind);

/* Streaming verifier: feed records in stored order, then checkpoints, then
 * finish.  It keeps every leaf (32 bytes each) to recompute each
 * checkpoint's root. */
typedef struct icx_audit_verifier icx_audit_verifier;
int icx_audit_verifier_new(icx_audit_verifier **out, const char *cert_pem,
                           size_t cert_len, icx_err *err);
void icx_audit_verifier_free(icx_audit_verifier **vp);
/* Continues a chain from an earlier segment: first seq and its prev. */
void icx_audit_verifier_resume(icx_audit_verifier *v, int64_t first_seq,
                               const char *prev_hex);
int icx_audit_verifier_record(icx_audit_verifier *v, const icx_audit_rec *r);
int icx_audit_verifier_checkpoint(icx_audit_verifier *v,
                                  const icx_checkpoint *c);
/* ICX_OK, or ICX_EBADSIG with err naming the first bad record (seq) and
 * the kind of damage; *records and *checkpoints get what was checked. */
int icx_audit_verifier_finish(icx_audit_verifier *v, uint64_t *records,
                              uint64_t *checkpoints, int *damage,
                              int64_t *bad_seq, icx_err *err);

#endif
