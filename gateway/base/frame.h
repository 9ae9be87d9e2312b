/*
 * frame.h - the ICX wire frame: an 8-byte header and a body.
 *
 * Every ICX message on a stream transport is two parts: a header
 * "ICX" | version | kind | flags | 2 reserved bytes, then the body (HELLO:
 * the sender's agency id in ASCII; ENVELOPE and RECEIPT: the envelope bytes
 * exactly as signed).  Kinds are the values of enum icx_frame_kind in
 * adapters/adapter.h.  docs/WIRE.md is the full description.
 *
 * The parser sees the header bytes and the body length only, so a caller
 * can refuse a frame before it holds the body in memory; it names what is
 * wrong in err.  Thread safety: all functions are reentrant.
 */
#ifndef ICX_FRAME_H
#define ICX_FRAME_H

#include <stddef.h>

#include "err.h"

#define ICX_FRAME_HEADER_LEN 8
#define ICX_FRAME_VERSION 1
#define ICX_FRAME_KIND_MIN 1 /* ICX_FRAME_HELLO */
#define ICX_FRAME_KIND_MAX 3 /* ICX_FRAME_RECEIPT */
#define ICX_FRAME_HELLO_MAX 64 /* longest agency id in a HELLO body */

/* Writes the header of a frame of kind; ICX_EINVAL when kind is unknown. */
int icx_frame_encode_header(unsigned char out[ICX_FRAME_HEADER_LEN], int kind);

/* Checks a received header (hdrlen bytes) and the length of the body that
 * follows it.  ICX_OK and *kind set, ICX_EINVAL for a wrong header length,
 * bad magic, unknown version, unknown kind, nonzero flags or reserved bytes
 * and an empty body, ICX_EFULL when bodylen exceeds max_body. */
int icx_frame_parse(int *kind, const void *hdr, size_t hdrlen, size_t bodylen,
                    size_t max_body, icx_err *err);

/* Checks a HELLO body: 1..ICX_FRAME_HELLO_MAX characters of A-Z a-z 0-9
 * '-' '_' '.', so it is safe to log. */
int icx_frame_check_hello(const void *body, size_t len, icx_err *err);

/* "hello", "envelope", "receipt" or "unknown". */
const char *icx_frame_kind_name(int kind);

#endif
