/*
 * signer_wire.c - shape checks of the signer's messages (signer_wire.h).
 *
 * The signer trusts nothing it receives: a request is exactly the header
 * of a struct icx_sw_req with the right magic, key 0, 32-byte digests and
 * a count of 1..ICX_SW_BATCH, followed by that many digests, or it is
 * refused without being signed.  Pure functions, any thread.
 */
#include "signer_wire.h"

#include <string.h>

int icx_sw_req_check(const void *buf, size_t n)
{
    struct icx_sw_req q;
    if (n < ICX_SW_REQ_LEN(1) || n > sizeof q)
        return ICX_EINVAL;
    memcpy(&q, buf, offsetof(struct icx_sw_req, digest));
    if (q.magic != ICX_SW_REQ_MAGIC || q.key_id != 0 ||
        q.dlen != ICX_SW_DIGEST || q.count < 1 || q.count > ICX_SW_BATCH ||
        n != ICX_SW_REQ_LEN(q.count))
        return ICX_EINVAL;
    return ICX_OK;
}

int icx_sw_rep_check(const void *buf, size_t n, uint64_t id, uint32_t count,
                     size_t cap)
{
    struct icx_sw_rep p;
    if (n < offsetof(struct icx_sw_rep, sig) || n > sizeof p)
        return ICX_EINVAL;
    memcpy(&p, buf, offsetof(struct icx_sw_rep, sig));
    if (p.magic != ICX_SW_REP_MAGIC || p.id != id || p.rc > 0)
        return ICX_EINVAL;
    if (p.rc < 0) { /* a refusal: no signature, perhaps its text */
        const unsigned char *text =
            (const unsigned char *)buf + offsetof(struct icx_sw_rep, sig);
        if (p.count != 0 || p.siglen > ICX_ERR_MSG_MAX ||
            n != ICX_SW_REP_LEN(1, p.siglen))
            return ICX_EINVAL;
        return p.siglen == 0 ||
                       (memchr(text, '\0', p.siglen) == text + p.siglen - 1)
                   ? ICX_OK
                   : ICX_EINVAL;
    }
    if (p.count != count || count < 1 || count > ICX_SW_BATCH ||
        p.siglen == 0 || p.siglen > cap ||
        p.siglen > ICX_SIG_MAX || n != ICX_SW_REP_LEN(p.count, p.siglen))
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
