/*
 * frame.c - encode and check ICX wire frame headers (see frame.h and
 * docs/WIRE.md).
 *
 * Pure functions over caller buffers: nothing is allocated, nothing is
 * logged.  A frame that fails a check is described in err; the caller
 * drops it.  The checks are strict on purpose: flags and reserved bytes
 * must be zero so that a later version can give them meaning and an old
 * gateway refuses what it cannot understand instead of guessing.
 */
#include "frame.h"

#include <string.h>

static const unsigned char magic[3] = {'I', 'C', 'X'};

int icx_frame_encode_header(unsigned char out[ICX_FRAME_HEADER_LEN], int kind)
{
    if (kind < ICX_FRAME_KIND_MIN || kind > ICX_FRAME_KIND_MAX)
        return ICX_EINVAL;
    memcpy(out, magic, sizeof magic);
    out[3] = ICX_FRAME_VERSION;
    out[4] = (unsigned char)kind;
    out[5] = 0; /* flags */
    out[6] = 0; /* reserved */
    out[7] = 0;
    return ICX_OK;
}

int icx_frame_parse(int *kind, const void *hdr, size_t hdrlen, size_t bodylen,
                    size_t max_body, icx_err *err)
{
    const unsigned char *h = hdr;

    *kind = 0;
    if (hdr == NULL || hdrlen != ICX_FRAME_HEADER_LEN)
        return icx_err_set(err, ICX_EINVAL,
                           "frame header is %zu bytes, want %d", hdrlen,
                           ICX_FRAME_HEADER_LEN);
    if (memcmp(h, magic, sizeof magic) != 0)
        return icx_err_set(err, ICX_EINVAL,
                           "frame header does not start with ICX");
    if (h[3] != ICX_FRAME_VERSION)
        return icx_err_set(err, ICX_EINVAL,
                           "frame version %u is unknown (this gateway "
                           "speaks version %d)",
                           (unsigned)h[3], ICX_FRAME_VERSION);
    if (h[4] < ICX_FRAME_KIND_MIN || h[4] > ICX_FRAME_KIND_MAX)
        return icx_err_set(err, ICX_EINVAL, "frame kind %u is unknown",
                           (unsigned)h[4]);
    if (h[5] != 0)
        return icx_err_set(err, ICX_EINVAL, "frame flags 0x%02x are not zero",
                           (unsigned)h[5]);
    if (h[6] != 0 || h[7] != 0)
        return icx_err_set(err, ICX_EINVAL,
                           "frame reserved bytes are not zero");
    if (bodylen == 0)
        return icx_err_set(err, ICX_EINVAL, "%s frame has an empty body",
                           icx_frame_kind_name(h[4]));
    if (bodylen > max_body)
        return icx_err_set(err, ICX_EFULL,
                           "%s frame body is %zu bytes, limit %zu",
                           icx_frame_kind_name(h[4]), bodylen, max_body);
    *kind = h[4];
    return ICX_OK;
}

int icx_frame_check_hello(const void *body, size_t len, icx_err *err)
{
    const unsigned char *b = body;

    if (len == 0 || len > ICX_FRAME_HELLO_MAX)
        return icx_err_set(err, ICX_EINVAL,
                           "hello body is %zu bytes, want 1..%d", len,
                           ICX_FRAME_HELLO_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = b[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok)
            return icx_err_set(err, ICX_EINVAL,
                               "hello body byte %zu (0x%02x) is not allowed "
                               "in an agency id",
                               i, (unsigned)c);
    }
    return ICX_OK;
}

const char *icx_frame_kind_name(int kind)
{
    switch (kind) {
    case 1: return "hello";
    case 2: return "envelope";
    case 3: return "receipt";
    default: return "unknown";
    }
}
