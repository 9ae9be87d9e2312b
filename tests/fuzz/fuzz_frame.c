/*
 * fuzz_frame.c - libFuzzer target for the wire frame parser (gateway/base/frame.c).
 *
 * Input: the first 8 bytes are the frame header as it comes off the wire,
 * the rest is the body.  The header is also tried at every other length
 * the input allows, and the body as a HELLO.  A header the parser accepts
 * must be exactly what icx_frame_encode_header() writes for its kind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define MAX_BODY 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    icx_err err;
    int kind = 0;
    size_t hdrlen = size < ICX_FRAME_HEADER_LEN ? size : ICX_FRAME_HEADER_LEN;
    size_t bodylen = size - hdrlen;

    icx_err_clear(&err);
    int rc = icx_frame_parse(&kind, data, hdrlen, bodylen, MAX_BODY, &err);
    if (rc == ICX_OK) {
        unsigned char again[ICX_FRAME_HEADER_LEN];
        if (kind < ICX_FRAME_KIND_MIN || kind > ICX_FRAME_KIND_MAX ||
            icx_frame_encode_header(again, kind) != ICX_OK ||
            memcmp(again, data, sizeof again) != 0 || bodylen == 0 ||
            bodylen > MAX_BODY)
            abort(); /* accepted a header the encoder would not write */
    } else if (kind != 0 || err.msg[0] == '\0') {
        abort(); /* a refusal must say why and leave no kind */
    }
    (void)icx_frame_kind_name(kind);
    /* The whole input as a header: any length other than 8 is refused. */
    rc = icx_frame_parse(&kind, data, size, 1, MAX_BODY, &err);
    if (size != ICX_FRAME_HEADER_LEN && rc == ICX_OK)
        abort();
    rc = icx_frame_check_hello(data + hdrlen, bodylen, &err);
    if (rc == ICX_OK && (bodylen == 0 || bodylen > ICX_FRAME_HELLO_MAX))
        abort();
    return 0;
}
