/*
 * csv.h - bounded RFC 4180 reader and the decoding of domestic text files.
 *
 * icx_csv_parse() reads a whole buffer of UTF-8 text: fields separated by
 * commas, records by CRLF or LF (a lone CR also ends a record), fields in
 * double quotes may hold commas, newlines and doubled quotes.  A UTF-8 BOM
 * at the start is skipped.  Blank lines are skipped (they are not records
 * of one empty field).  A record's "row" is the line on which it starts, so
 * messages point where an editor shows the record.
 *
 * Structural errors stop the parse (nothing after an unterminated quote
 * can be trusted): err->msg is "ROW:COL: what is wrong", the caller prefixes
 * the file name.  Limits (bytes, rows, columns, field length) are checked
 * while reading and refused with ICX_EFULL.
 *
 * icx_text_decode() turns a file's bytes into UTF-8: "utf-8", "cp932"
 * (Shift_JIS as Windows writes it; "shift_jis" and "sjis" mean the same)
 * or "auto" (UTF-8 when the bytes are valid UTF-8, else CP932).
 *
 * Ownership: an icx_csv owns its text; field pointers are valid until
 * icx_csv_free().  Thread safety: reentrant; an icx_csv has one owner.
 */
#ifndef ICX_CSV_H
#define ICX_CSV_H

#include <stddef.h>

#include "err.h"

typedef struct icx_csv_limits {
    size_t max_bytes; /* input size */
    size_t max_rows;  /* records, header included */
    size_t max_cols;  /* fields in one record */
    size_t max_field; /* bytes in one field */
} icx_csv_limits;

#define ICX_CSV_DEFAULT_LIMITS                                                \
    ((icx_csv_limits){64u * 1024 * 1024, 1000000, 256, 64 * 1024})

typedef struct icx_csv icx_csv;

/* Parses data (UTF-8, NUL bytes refused).  On failure *out is NULL and
 * err->msg is "ROW:COL: rule". */
int icx_csv_parse(icx_csv **out, const char *data, size_t len,
                  const icx_csv_limits *lim, icx_err *err);
void icx_csv_free(icx_csv **cp);

size_t icx_csv_rows(const icx_csv *c);
size_t icx_csv_cols(const icx_csv *c, size_t row);
/* Field text (NUL-terminated), or NULL when row/col is out of range. */
const char *icx_csv_field(const icx_csv *c, size_t row, size_t col);
/* Line on which the record starts (1-based). */
unsigned icx_csv_line(const icx_csv *c, size_t row);

/* Strict UTF-8 check (no overlong forms, surrogates or NUL). */
int icx_utf8_valid(const char *s, size_t len);

/* Decodes data as encoding ("utf-8", "cp932", "shift_jis", "sjis",
 * "auto") into malloc'ed, NUL-terminated UTF-8 without BOM.  *used names
 * the encoding applied ("utf-8" or "cp932").  Invalid bytes are
 * ICX_EINVAL with the byte offset in err->msg. */
int icx_text_decode(char **out, size_t *outlen, const char **used,
                    const char *data, size_t len, const char *encoding,
                    icx_err *err);

#endif
