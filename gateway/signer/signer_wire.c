/*
 * signer_wire.c - shape checks of the signer's messages (signer_wire.h).
 *
 * The signer trusts nothing it receives: a request is exactly one
 * struct icx_sw_req, the right magic, key 0, a 32-byte digest and zero
 * padding, or it is refused without being signed.  Pure functions, any
 * thread.
 */
#include "signer_wire.h"

#include <string.h>

int icx_sw_req_check(const void *buf, size_t n)
{
    struct icx_sw_req q;
    if (n != sizeof q)
        return ICX_EINVAL;
    memcpy(&q, buf, sizeof q);
    if (q.magic != ICX_SW_REQ_MAGIC || q.key_id != 0 ||
        q.dlen != ICX_SW_DIGEST || q.zero != 0)
        return ICX_EINVAL;
    return ICX_OK;
}

int icx_sw_rep_check(const void *buf, size_t n, uint64_t id, size_t cap)
{
    struct icx_sw_rep p;
    if (n != sizeof p)
        return ICX_EINVAL;
    memcpy(&p, buf, offsetof(struct icx_sw_rep, sig));
    if (p.magic != ICX_SW_REP_MAGIC || p.id != id || p.zero != 0 ||
        p.rc > 0 || (p.rc == ICX_OK && (p.siglen == 0 || p.siglen > cap ||
                                        p.siglen > ICX_SIG_MAX)))
        return ICX_EINVAL;
    return ICX_OK;
}

int icx_sw_hello_check(const void *buf, size_t n)
{
    struct icx_sw_hello h;
    if (n != sizeof h)
        return ICX_EINVAL;
    memcpy(&h, buf, sizeof h);
    if (h.magic != ICX_SW_HELLO_MAGIC || h.rc > 0 ||
        memchr(h.msg, '\0', sizeof h.msg) == NULL ||
        (h.rc == ICX_OK && (h.field == 0 || h.ecdsa > 1 ||
                            (h.ecdsa ? 2 * h.field : h.field) > ICX_SIG_MAX)))
        return ICX_EINVAL;
    return ICX_OK;
}
