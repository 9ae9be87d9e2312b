/*
 * fuzz_witness.c - libFuzzer target for the two documents partners send
 * each other to witness their logs (store/witness.c): the witness
 * checkpoint document (icx_witness_doc_parse) and the co-signature
 * (icx_witness_cosig_parse).  A document that parses writes back to text
 * that parses to the same document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static icx_witness_doc d, again;
    icx_err err;
    icx_buf out;
    char w[64], sig[1400];
    uint64_t n = 0;
    size_t signed_len = 0;

    if (icx_witness_doc_parse(&d, (const char *)data, size, &err) == ICX_OK) {
        icx_buf_init(&out, 2 * ICX_WITNESS_DOC_MAX);
        if (icx_witness_doc_write(&out, &d) != ICX_OK ||
            icx_witness_doc_parse(&again, out.data, out.len, &err) != ICX_OK ||
            memcmp(&d, &again, sizeof d) != 0)
            abort();
        icx_buf_free(&out);
    }
    if (icx_witness_cosig_parse(w, sizeof w, &n, sig, sizeof sig, &signed_len,
                                (const char *)data, size, &err) == ICX_OK &&
        (signed_len > size || memchr(w, 0, sizeof w) == NULL ||
         memchr(sig, 0, sizeof sig) == NULL))
        abort();
    return 0;
}
