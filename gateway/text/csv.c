/*
 * csv.c - RFC 4180 reader over a buffer, and text decoding (UTF-8, CP932).
 *
 * The reader is one pass over the bytes with three states (start of field,
 * unquoted, quoted).  Field text is copied into one growing arena with a
 * NUL after each field; records are index ranges into the field table.
 * Every limit is checked before the memory for it is taken, so a hostile
 * file costs at most the limits (this is a fuzz target: icx_csv_parse).
 *
 * Decoding uses glibc iconv ("CP932" -> "UTF-8"); no other library.
 *
 * Failure: ICX_EINVAL (malformed, "ROW:COL: ..."), ICX_EFULL (a limit),
 * ICX_ENOMEM.  Nothing is kept on failure.
 */
#include "csv.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct icx_csv {
    char *text;          /* arena: fields, each NUL-terminated */
    size_t text_len, text_cap;
    size_t *field_off;   /* offset of each field in text */
    size_t nfields, fields_cap;
    size_t *row_first;   /* index of a record's first field; nrows+1 used */
    unsigned *row_line;
    size_t nrows, rows_cap;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return ICX_OK;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (q == NULL)
        return ICX_ENOMEM;
    *p = q;
    *cap = n;
    return ICX_OK;
}

static int put_byte(icx_csv *c, char ch)
{
    if (grow((void **)&c->text, &c->text_cap, c->text_len + 1, 1) < 0)
        return ICX_ENOMEM;
    c->text[c->text_len++] = ch;
    return ICX_OK;
}

static int start_field(icx_csv *c)
{
    if (grow((void **)&c->field_off, &c->fields_cap, c->nfields + 1,
             sizeof *c->field_off) < 0)
        return ICX_ENOMEM;
    c->field_off[c->nfields++] = c->text_len;
    return ICX_OK;
}

/* The two row arrays share one capacity. */
static int grow_rows(icx_csv *c, size_t need)
{
    if (need <= c->rows_cap)
        return ICX_OK;
    size_t n = c->rows_cap ? c->rows_cap * 2 : 64;
    while (n < need)
        n *= 2;
    size_t *f = realloc(c->row_first, n * sizeof *f);
    if (f == NULL)
        return ICX_ENOMEM;
    c->row_first = f;
    unsigned *l = realloc(c->row_line, n * sizeof *l);
    if (l == NULL)
        return ICX_ENOMEM;
    c->row_line = l;
    c->rows_cap = n;
    return ICX_OK;
}

void icx_csv_free(icx_csv **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    icx_csv *c = *cp;
    free(c->text);
    free(c->field_off);
    free(c->row_first);
    free(c->row_line);
    free(c);
    *cp = NULL;
}

enum { ST_FIELD, ST_PLAIN, ST_QUOTED, ST_AFTER_QUOTE };

int icx_csv_parse(icx_csv **out, const char *data, size_t len,
                  const icx_csv_limits *lim, icx_err *err)
{
    icx_csv_limits l = lim ? *lim : ICX_CSV_DEFAULT_LIMITS;
    int rc = ICX_OK;
    unsigned line = 1, rec_line = 1;
    size_t i = 0, ncols = 0, flen = 0, qline = 0, qcol = 0;
    int st = ST_FIELD, in_rec = 0, quoted_any = 0;

    *out = NULL;
    if (len > l.max_bytes)
        return icx_err_set(err, ICX_EFULL, "1:1: file is %zu bytes, over the "
                           "limit of %zu", len, l.max_bytes);
    icx_csv *c = calloc(1, sizeof *c);
    if (c == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (;; i++) {
        int eof = i >= len;
        char ch = eof ? '\n' : data[i];
        if (!eof && ch == '\0') {
            rc = icx_err_set(err, ICX_EINVAL, "%u:%zu: NUL byte in the file",
                             line, ncols + 1);
            goto out;
        }
        if (!in_rec) {
            if (eof)
                break;
            if (ch == '\n' || ch == '\r') { /* blank line: not a record */
                if (ch == '\r' && i + 1 < len && data[i + 1] == '\n')
                    i++;
                line++;
                continue;
            }
            if (c->nrows >= l.max_rows) {
                rc = icx_err_set(err, ICX_EFULL, "%u:1: more than %zu rows",
                                 line, l.max_rows);
                goto out;
            }
            if (grow_rows(c, c->nrows + 2) < 0) {
                rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
                goto out;
            }
            c->row_first[c->nrows] = c->nfields;
            c->row_line[c->nrows] = line;
            rec_line = line;
            in_rec = 1;
            ncols = 0;
            st = ST_FIELD;
            quoted_any = 0;
        }
        if (st == ST_FIELD) {
            if (ncols >= l.max_cols) {
                rc = icx_err_set(err, ICX_EFULL, "%u:%zu: more than %zu "
                                 "columns", rec_line, ncols + 1, l.max_cols);
                goto out;
            }
            if (start_field(c) < 0) {
                rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
                goto out;
            }
            ncols++;
            flen = 0;
            if (!eof && ch == '"') {
                st = ST_QUOTED;
                quoted_any = 1;
                qline = line;
                qcol = ncols;
                continue;
            }
            st = ST_PLAIN;
        }
        if (st == ST_QUOTED) {
            if (eof) {
                rc = icx_err_set(err, ICX_EINVAL, "%zu:%zu: unterminated "
                                 "quoted field (the quote opens on line %zu)",
                                 (size_t)rec_line, qcol, qline);
                goto out;
            }
            if (ch == '"') {
                if (i + 1 < len && data[i + 1] == '"') {
                    i++;
                } else {
                    st = ST_AFTER_QUOTE;
                    continue;
                }
            } else if (ch == '\n' ||
                       (ch == '\r' && !(i + 1 < len && data[i + 1] == '\n'))) {
                line++;
            }
        } else if (ch == ',' || ch == '\n' || ch == '\r') {
            if (put_byte(c, '\0') < 0) {
                rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
                goto out;
            }
            if (ch == ',') {
                st = ST_FIELD;
                continue;
            }
            if (ch == '\r' && i + 1 < len && data[i + 1] == '\n')
                i++;
            line++;
            /* A line holding one empty, unquoted field is blank: drop it. */
            if (ncols == 1 && !quoted_any && flen == 0) {
                c->nfields--;
                c->text_len--;
            } else {
                c->nrows++;
                c->row_first[c->nrows] = c->nfields;
            }
            in_rec = 0;
            if (eof)
                break;
            continue;
        } else if (st == ST_AFTER_QUOTE) {
            rc = icx_err_set(err, ICX_EINVAL, "%u:%zu: character after the "
                             "closing quote of a field (quotes inside a "
                             "quoted field are doubled)", line, ncols);
            goto out;
        } else if (ch == '"') {
            rc = icx_err_set(err, ICX_EINVAL, "%u:%zu: quote inside an "
                             "unquoted field (quote the whole field and "
                             "double the quote)", line, ncols);
            goto out;
        }
        if (++flen > l.max_field) {
            rc = icx_err_set(err, ICX_EFULL, "%zu:%zu: field longer than %zu "
                             "bytes", (size_t)rec_line, ncols, l.max_field);
            goto out;
        }
        if (put_byte(c, ch) < 0) {
            rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (c->row_first == NULL) { /* empty input: zero rows */
        c->row_first = calloc(1, sizeof *c->row_first);
        if (c->row_first == NULL) {
            rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (c->text == NULL && put_byte(c, '\0') < 0) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    *out = c;
    c = NULL;
out:
    icx_csv_free(&c);
    return rc;
}

size_t icx_csv_rows(const icx_csv *c) { return c->nrows; }

size_t icx_csv_cols(const icx_csv *c, size_t row)
{
    if (row >= c->nrows)
        return 0;
    return c->row_first[row + 1] - c->row_first[row];
}

const char *icx_csv_field(const icx_csv *c, size_t row, size_t col)
{
    if (row >= c->nrows || col >= icx_csv_cols(c, row))
        return NULL;
    return c->text + c->field_off[c->row_first[row] + col];
}

unsigned icx_csv_line(const icx_csv *c, size_t row)
{
    return row < c->nrows ? c->row_line[row] : 0;
}

int icx_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        size_t n;
        uint32_t cp;
        if (b == 0)
            return 0;
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            n = 1;
            cp = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
            n = 2;
            cp = b & 0x0F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            n = 3;
            cp = b & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

static int decode_cp932(char **out, size_t *outlen, const char *data,
                        size_t len, icx_err *err)
{
    iconv_t cd = iconv_open("UTF-8", "CP932");
    if (cd == (iconv_t)-1)
        return icx_err_set(err, ICX_ERROR, "iconv: CP932 is not available");
    size_t cap = len * 3 + 1; /* a CP932 byte becomes at most 3 UTF-8 bytes */
    char *buf = malloc(cap);
    if (buf == NULL) {
        iconv_close(cd);
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    }
    char *in = (char *)data, *o = buf;
    size_t inleft = len, oleft = cap - 1;
    if (iconv(cd, &in, &inleft, &o, &oleft) == (size_t)-1) {
        size_t at = (size_t)(in - data);
        iconv_close(cd);
        free(buf);
        return icx_err_set(err, ICX_EINVAL, "byte %zu: not valid CP932 "
                           "(Shift_JIS) text", at);
    }
    iconv_close(cd);
    *o = '\0';
    *outlen = (size_t)(o - buf);
    *out = buf;
    return ICX_OK;
}

/* Offset of the first byte that does not start a valid sequence (a
 * prefix cut inside a character is not valid either, so this walks the
 * sequences instead of searching prefixes). */
static size_t first_bad_utf8(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char b = (unsigned char)s[i];
        size_t n = b < 0x80 ? 1 : (b >= 0xC2 && b <= 0xDF) ? 2
                 : (b >= 0xE0 && b <= 0xEF) ? 3 : (b >= 0xF0 && b <= 0xF4) ? 4 : 0;
        if (n == 0 || n > len - i || !icx_utf8_valid(s + i, n))
            return i;
        i += n;
    }
    return len;
}

int icx_text_decode(char **out, size_t *outlen, const char **used,
                    const char *data, size_t len, const char *encoding,
                    icx_err *err)
{
    const char *enc = encoding ? encoding : "auto";
    int want_utf8 = strcasecmp(enc, "utf-8") == 0 || strcasecmp(enc, "utf8") == 0;
    int want_sjis = strcasecmp(enc, "cp932") == 0 ||
                    strcasecmp(enc, "shift_jis") == 0 ||
                    strcasecmp(enc, "sjis") == 0 ||
                    strcasecmp(enc, "windows-31j") == 0;
    *out = NULL;
    *outlen = 0;
    if (!want_utf8 && !want_sjis && strcasecmp(enc, "auto") != 0)
        return icx_err_set(err, ICX_EINVAL, "unknown encoding \"%s\" (want "
                           "utf-8, cp932 or auto)", enc);
    if (memchr(data, '\0', len) != NULL)
        return icx_err_set(err, ICX_EINVAL, "byte %zu: NUL byte (UTF-16 or "
                           "binary data?)",
                           (size_t)((const char *)memchr(data, '\0', len) - data));
    size_t skip = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    if (!want_sjis && (skip || want_utf8 || icx_utf8_valid(data, len))) {
        if (!icx_utf8_valid(data + skip, len - skip))
            return icx_err_set(err, ICX_EINVAL, "byte %zu: not valid UTF-8 "
                               "(declare encoding: cp932 for Shift_JIS "
                               "files)", skip + first_bad_utf8(data + skip,
                                                               len - skip));
        *out = malloc(len - skip + 1);
        if (*out == NULL)
            return icx_err_set(err, ICX_ENOMEM, "out of memory");
        memcpy(*out, data + skip, len - skip);
        (*out)[len - skip] = '\0';
        *outlen = len - skip;
        if (used)
            *used = "utf-8";
        return ICX_OK;
    }
    int rc = decode_cp932(out, outlen, data, len, err);
    if (rc == ICX_OK && used)
        *used = "cp932";
    if (rc == ICX_EINVAL && !want_sjis)
        icx_err_wrap(err, "neither UTF-8 nor CP932");
    return rc;
}
