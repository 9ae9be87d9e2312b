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

/* "Sign this SHA-256 digest with key key_id": the only request. */
struct icx_sw_req {
    uint32_t magic;
    uint32_t key_id;  /* 0: the one key */
    uint64_t id;      /* echoed in the reply */
    uint32_t dlen;    /* ICX_SW_DIGEST */
    uint32_t zero;
    unsigned char digest[ICX_SW_DIGEST];
};

struct icx_sw_rep {
    uint32_t magic;
    int32_t rc;       /* ICX_OK or an icx_rc */
    uint64_t id;
    uint32_t siglen;
    uint32_t zero;
    unsigned char sig[ICX_SIG_MAX];
};

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
/* ICX_OK when buf (n bytes) is a well-formed reply to id whose signature
 * fits cap; otherwise ICX_EINVAL. */
int icx_sw_rep_check(const void *buf, size_t n, uint64_t id, size_t cap);
int icx_sw_hello_check(const void *buf, size_t n);

#endif
