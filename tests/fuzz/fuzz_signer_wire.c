/*
 * fuzz_signer_wire.c - libFuzzer target for the signer process's message
 * checks (gateway/signer/signer_wire.c): the requests a daemon sends, as
 * the signer reads them, and the replies the daemon reads.
 *
 * A request the check accepts must be exactly a header and count digests
 * (1..ICX_SW_BATCH) with the fixed values; a reply accepted for request
 * id/count (taken from the input's header) must be a refusal without
 * signatures (perhaps with one NUL-terminated text) or count signatures
 * of one length within the cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signer_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (icx_sw_req_check(data, size) == ICX_OK) {
        struct icx_sw_req q;
        if (size < ICX_SW_REQ_LEN(1) || size > sizeof q)
            abort();
        memcpy(&q, data, size);
        if (q.magic != ICX_SW_REQ_MAGIC || q.key_id != 0 ||
            q.dlen != ICX_SW_DIGEST || q.count < 1 ||
            q.count > ICX_SW_BATCH || size != ICX_SW_REQ_LEN(q.count))
            abort(); /* accepted a request the daemon would not send */
    }
    struct icx_sw_rep p;
    if (size >= offsetof(struct icx_sw_rep, sig) && size <= sizeof p) {
        memcpy(&p, data, size);
        /* The reply the daemon waits for: the id and count it carries. */
        uint32_t want = p.count;
        size_t cap = (size_t)(data[0] % 4) * 256 + 64;
        if (icx_sw_rep_check(data, size, p.id, want, cap) == ICX_OK) {
            if (p.rc > 0 || p.magic != ICX_SW_REP_MAGIC)
                abort();
            if (p.rc < 0 ? (p.count != 0 || p.siglen > ICX_ERR_MSG_MAX ||
                            size != ICX_SW_REP_LEN(1, p.siglen) ||
                            (p.siglen > 0 &&
                             strlen((const char *)data +
                                    offsetof(struct icx_sw_rep, sig)) !=
                                 p.siglen - 1))
                         : (p.siglen == 0 || p.siglen > cap ||
                            p.count < 1 || p.count > ICX_SW_BATCH ||
                            size != ICX_SW_REP_LEN(p.count, p.siglen)))
                abort(); /* accepted a reply out of shape */
        }
        /* Any other id or count: refused. */
        if (icx_sw_rep_check(data, size, p.id + 1, want, cap) == ICX_OK ||
            (p.rc == 0 &&
             icx_sw_rep_check(data, size, p.id, want + 1, cap) == ICX_OK))
            abort();
    }
    return 0;
}
