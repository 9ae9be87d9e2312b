/*
 * err.h - the one error table of ICX.
 *
 * ICX_RC_MAP generates enum icx_rc, icx_rc_name() and icx_rc_str().  0 is
 * success, negative is failure.  Callers act on a handful of codes (not found,
 * invalid, bad signature, rejected by policy, retry later, full); the detail
 * goes into a caller-owned icx_err.  Codes are never renumbered.
 *
 * ICX_REASON_MAP is the table of verification and policy reasons.  A reason
 * names exactly which rule an inbound envelope broke; it travels in negative
 * receipts (as its name) and in audit records.  Reasons are never renumbered.
 *
 * Thread safety: all functions here are reentrant; an icx_err belongs to the
 * caller and is written only by the callee it is passed to.
 */
#ifndef ICX_ERR_H
#define ICX_ERR_H

#include <stddef.h>

#define ICX_RC_MAP(XX)                                                        \
    XX(OK, 0, "success")                                                      \
    XX(ERROR, -1, "error")                                                    \
    XX(ENOMEM, -2, "out of memory")                                           \
    XX(EINVAL, -3, "invalid input")                                           \
    XX(ENOTFOUND, -4, "not found")                                            \
    XX(EBADSIG, -5, "signature or envelope rejected")                         \
    XX(EPOLICY, -6, "refused by policy")                                      \
    XX(EAGAIN, -7, "temporarily unavailable, retry later")                    \
    XX(EFULL, -8, "limit reached or storage full")                            \
    XX(EIO, -9, "input/output error")                                         \
    XX(EPERM, -10, "permission or file mode refused")                         \
    XX(ECONFIG, -11, "configuration error")                                   \
    XX(EEXIST, -12, "already exists")                                         \
    XX(ECRYPTO, -13, "cryptographic library error")                           \
    XX(ESTORE, -14, "store error")                                            \
    XX(ENOTCONN, -15, "not connected")                                        \
    XX(ECORRUPT, -16, "stored data damaged")

enum icx_rc {
#define ICX_RC_ENUM(name, val, str) ICX_##name = (val),
    ICX_RC_MAP(ICX_RC_ENUM)
#undef ICX_RC_ENUM
};

/* Verification and policy reasons: name (as sent in receipts), message. */
#define ICX_REASON_MAP(XX)                                                    \
    XX(NONE, "none")                                                          \
    XX(EMPTY, "empty input")                                                  \
    XX(TOO_LARGE, "document exceeds the size limit")                          \
    XX(NOT_UTF8, "document is not UTF-8")                                     \
    XX(DOCTYPE, "document carries a DOCTYPE")                                 \
    XX(MALFORMED, "document is not well-formed XML")                          \
    XX(TOO_DEEP, "document exceeds the nesting limit")                        \
    XX(FORBIDDEN_NODE, "document carries a forbidden node")                   \
    XX(SCHEMA, "document is not valid against the schema")                    \
    XX(SIG_MISSING, "no signature")                                           \
    XX(SIG_MULTIPLE, "more than one signature")                               \
    XX(SIG_POSITION, "signature is not the last child of Envelope")           \
    XX(SIG_STRUCTURE, "signature structure outside the profile")              \
    XX(SIG_C14N, "canonicalization method outside the profile")              \
    XX(SIG_ALGORITHM, "signature algorithm not allowed")                      \
    XX(SIG_REFERENCE, "reference other than exactly one URI=\"\"")            \
    XX(SIG_TRANSFORM, "transform not allowed")                                \
    XX(SIG_DIGEST_ALG, "digest algorithm not allowed")                        \
    XX(SIG_KEYINFO, "KeyInfo content not allowed")                            \
    XX(SIG_OBJECT, "ds:Object or Manifest not allowed")                       \
    XX(SIG_INVALID, "signature does not verify with the sender's key")        \
    XX(UNKNOWN_SENDER, "sender is not a configured partner")                  \
    XX(SENDER_MISMATCH, "sender, signer and transport peer disagree")         \
    XX(WRONG_RECIPIENT, "recipient is not this gateway")                      \
    XX(CREATED_WINDOW, "Created lies outside the accepted window")            \
    XX(EXPIRED, "Expires has passed")                                         \
    XX(REPLAY, "MessageId reused with different content")                     \
    XX(CATEGORY, "category not allowed for this partner")                     \
    XX(HANDLING, "handling level above what this partner may receive")       \
    XX(CATEGORY_PAYLOAD, "Category does not match the payload element")      \
    XX(INTERNAL, "internal error while checking")                             \
    XX(NAMESPACE_NAME, "namespace name exclusive c14n refuses (relative, "  \
                       "or rendered holding &)")                            \
    XX(PARSER_LIMIT, "document exceeds a parser limit (attributes, names, "  \
                     "text or namespace declarations)")

enum icx_reason {
#define ICX_REASON_ENUM(name, str) ICX_REASON_##name,
    ICX_REASON_MAP(ICX_REASON_ENUM)
#undef ICX_REASON_ENUM
    ICX_REASON__COUNT
};

#define ICX_ERR_MSG_MAX 512

/* Caller-owned error detail.  rc mirrors the return code; reason is set by
 * verification and policy checks, ICX_REASON_NONE otherwise. */
typedef struct icx_err {
    int rc;
    int reason;
    char msg[ICX_ERR_MSG_MAX];
} icx_err;

const char *icx_rc_name(int rc);
const char *icx_rc_str(int rc);
const char *icx_reason_name(int reason);
const char *icx_reason_str(int reason);
/* Reverse lookup of a reason by name; returns -1 when unknown. */
int icx_reason_from_name(const char *name);

void icx_err_clear(icx_err *err);
/* Sets err (when not NULL) and returns rc, so callers write
 * `return icx_err_set(err, ICX_EINVAL, "...", ...);`. */
int icx_err_set(icx_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, with a verification reason. */
int icx_err_reason(icx_err *err, int rc, int reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sets err (rc and message) and returns result, for functions that report
 * an outcome other than an icx_rc (an adapter's send result). */
int icx_err_result(icx_err *err, int result, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefixes the existing message with context ("loading x: <old>"). */
int icx_err_wrap(icx_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
