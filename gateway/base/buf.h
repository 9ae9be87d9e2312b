/*
 * buf.h - counted, bounded byte buffer.
 *
 * An icx_buf always has a maximum: an append that would pass it fails with
 * ICX_EFULL and leaves the buffer as it was.  data is NUL-terminated after
 * every successful append (the NUL is not counted in len), so text can be
 * handed to C string functions, but binary content is fine too.
 *
 * Ownership: the buffer owns data; icx_buf_free() releases it and resets the
 * buffer to empty (reusable with the same max).  icx_buf_steal() hands data
 * to the caller, who frees it with free().  Not thread-safe: one owner.
 */
#ifndef ICX_BUF_H
#define ICX_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "err.h"

typedef struct icx_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
} icx_buf;

void icx_buf_init(icx_buf *b, size_t max);
void icx_buf_free(icx_buf *b);
void icx_buf_reset(icx_buf *b); /* len = 0, keeps memory */
int icx_buf_append(icx_buf *b, const void *data, size_t len);
int icx_buf_puts(icx_buf *b, const char *s);
int icx_buf_printf(icx_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int icx_buf_vprintf(icx_buf *b, const char *fmt, va_list ap);
/* Appends s with XML special characters escaped (& < > " '). */
int icx_buf_put_xml(icx_buf *b, const char *s);
/* Appends s as a JSON string literal, quotes included. */
int icx_buf_put_json(icx_buf *b, const char *s);
/* Returns data (never NULL: an empty string when nothing was appended) and
 * leaves the buffer empty; free() it. NULL only when allocation fails. */
char *icx_buf_steal(icx_buf *b, size_t *len);

#endif
