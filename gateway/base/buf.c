/*
 * buf.c - counted, bounded byte buffer (see buf.h).
 *
 * Growth doubles the capacity up to max + 1 (room for the NUL).  A failed
 * append changes nothing the caller can see.
 */
#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void icx_buf_init(icx_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void icx_buf_free(icx_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void icx_buf_reset(icx_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static int buf_reserve(icx_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return ICX_EFULL;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return ICX_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > (SIZE_MAX / 2) ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return ICX_ENOMEM;
    b->data = p;
    b->cap = cap;
    return ICX_OK;
}

int icx_buf_append(icx_buf *b, const void *data, size_t len)
{
    int rc = buf_reserve(b, len);
    if (rc < 0)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return ICX_OK;
}

int icx_buf_puts(icx_buf *b, const char *s)
{
    return icx_buf_append(b, s, strlen(s));
}

int icx_buf_vprintf(icx_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return ICX_EINVAL;
    int rc = buf_reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return ICX_OK;
}

int icx_buf_printf(icx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = icx_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int icx_buf_put_xml(icx_buf *b, const char *s)
{
    size_t start = b->len;
    int rc = ICX_OK;
    for (const char *p = s; *p != '\0' && rc == ICX_OK; p++) {
        switch (*p) {
        case '&': rc = icx_buf_puts(b, "&amp;"); break;
        case '<': rc = icx_buf_puts(b, "&lt;"); break;
        case '>': rc = icx_buf_puts(b, "&gt;"); break;
        case '"': rc = icx_buf_puts(b, "&quot;"); break;
        case '\'': rc = icx_buf_puts(b, "&apos;"); break;
        case '\r': rc = icx_buf_puts(b, "&#13;"); break;
        default: rc = icx_buf_append(b, p, 1); break;
        }
    }
    if (rc < 0) {
        b->len = start;
        if (b->data != NULL)
            b->data[start] = '\0';
    }
    return rc;
}

int icx_buf_put_json(icx_buf *b, const char *s)
{
    size_t start = b->len;
    int rc = icx_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s;
         *p != '\0' && rc == ICX_OK; p++) {
        switch (*p) {
        case '"': rc = icx_buf_puts(b, "\\\""); break;
        case '\\': rc = icx_buf_puts(b, "\\\\"); break;
        case '\n': rc = icx_buf_puts(b, "\\n"); break;
        case '\r': rc = icx_buf_puts(b, "\\r"); break;
        case '\t': rc = icx_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20)
                rc = icx_buf_printf(b, "\\u%04x", *p);
            else
                rc = icx_buf_append(b, p, 1);
        }
    }
    if (rc == ICX_OK)
        rc = icx_buf_puts(b, "\"");
    if (rc < 0) {
        b->len = start;
        if (b->data != NULL)
            b->data[start] = '\0';
    }
    return rc;
}

char *icx_buf_steal(icx_buf *b, size_t *len)
{
    char *p = b->data;
    if (p == NULL) {
        p = calloc(1, 1);
        if (p == NULL)
            return NULL;
    }
    if (len != NULL)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
