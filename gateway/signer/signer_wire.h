/*
 * signer_wire.h - the messages between the daemon and the signer process
 * (SOCK_SEQPACKET: one message per send, lengths exact).  Same machine,
 * same binary: host byte order.  Shared by signer_serve.c and
 * signer_remote.c only.
 */
#ifndef ICX_SIGNER_WIRE_H
#define ICX_SIGNER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "xmlsig.h"

#define ICX_SW_REQ_MAGIC 0x49435852u   /* "ICXR" */
#define ICX_SW_REP_MAGIC 0x49435841u   /* "ICXA" */
#define ICX_SW_HELLO_MAGIC 0x49435848u /* "ICXH" */
#define ICX_SW_DIGEST 32               /* SHA-256 */

/* Most digests in one request (a worker's batch, ICX_SIGN_BATCH). */
#define ICX_SW_BATCH ICX_SIGN_BATCH

/* "Sign these SHA-256 digests with key key_id": the only request.  Sent
 * as its first ICX_SW_REQ_LEN(count) bytes. */
struct icx_sw_req {
    uint32_t magic;
    uint32_t key_id;  /* 0: the one key */
    uint64_t id;      /* echoed in the reply */
    uint32_t dlen;    /* ICX_SW_DIGEST, each digest's */
    uint32_t count;   /* digests that follow: 1..ICX_SW_BATCH */
    unsigned char digest[ICX_SW_BATCH][ICX_SW_DIGEST];
};
#define ICX_SW_REQ_LEN(n) \
    (offsetof(struct icx_sw_req, digest) + (size_t)(n) * ICX_SW_DIGEST)

/* The signatures, in request order, back to back (siglen bytes each), or
 * rc < 0, no signature and in their place the signer's error text:
 * siglen bytes, NUL-terminated, at most ICX_ERR_MSG_MAX (0: none).  Sent
 * as its first ICX_SW_REP_LEN(count, siglen) bytes (count 0 on an
 * error). */
struct icx_sw_rep {
    uint32_t magic;
    int32_t rc;       /* ICX_OK or an icx_rc */
    uint64_t id;
    uint32_t siglen;  /* each signature's; with rc < 0 the text's */
    uint32_t count;   /* the request's count; 0 with rc < 0 */
    unsigned char sig[ICX_SW_BATCH * ICX_SIG_MAX];
};
#define ICX_SW_REP_LEN(n, siglen) \
    (offsetof(struct icx_sw_rep, sig) + (size_t)(n) * (size_t)(siglen))
_Static_assert(sizeof(((struct icx_sw_rep *)0)->sig) >= ICX_ERR_MSG_MAX,
               "a refusal's text fits where the signatures go");

/* Sent once on channel 0 after the key loaded (or did not). */
struct icx_sw_hello {
    uint32_t magic;
    int32_t rc;
    uint32_t ecdsa;
    uint32_t field;
    char msg[ICX_ERR_MSG_MAX]; /* the load error, NUL-terminated (icx_err.msg) */
};

/* ICX_OK when buf (n bytes received) is a well-formed request for key 0;
 * otherwise ICX_EINVAL. */
int icx_sw_req_check(const void *buf, size_t n);
/* ICX_OK when buf (n bytes) is a well-formed reply to request id of count
 * digests whose signatures fit cap bytes each, or a refusal whose text
 * is one NUL-terminated string; otherwise ICX_EINVAL. */
int icx_sw_rep_check(const void *buf, size_t n, uint64_t id, uint32_t count,
                     size_t cap);
int icx_sw_hello_check(const void *buf, size_t n);

#endif
