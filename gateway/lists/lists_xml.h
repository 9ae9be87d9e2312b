/*
 * lists_xml.h - list payloads read and written by the lists module
 * (lists_xml.c).  Not a public interface.
 */
#ifndef ICX_LISTS_XML_H
#define ICX_LISTS_XML_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define LST_CURSOR_MAX 8400 /* session, serials, hex of the last line */

typedef struct lst_syncreq {
    char list[72];
    char session[40];      /* "" when absent */
    int has_serial;
    uint64_t serial;
    char cursor[LST_CURSOR_MAX + 1];
    char verified[65];     /* an acknowledgement's Digest; "" otherwise */
} lst_syncreq;

typedef struct lst_update {
    int refusal;
    char code[48];         /* Refusal reason code */
    char detail[1100];
    char list[72];
    char kind[8];
    char session[40];
    uint64_t serial, prev;
    int snapshot;
    unsigned long page, pages;
    char digest[65];
    uint64_t count;
    char cursor[LST_CURSOR_MAX + 1];
    size_t entries;        /* entries seen */
} lst_update;

/* An entry of an Update, as its canonical line; removed with its reason. */
typedef int (*lst_entry_fn)(void *ctx, int removed, const char *line,
                            const char *category, const char *detected,
                            const char *reason);

/* Called once the header elements are read, before any entry; a non-zero
 * return stops the walk and is returned by lst_parse_update. */
typedef int (*lst_head_fn)(void *ctx, const lst_update *u);

/* xml is the payload or a whole envelope. */
int lst_parse_syncreq(lst_syncreq *r, const char *xml, size_t len,
                      icx_err *err);
/* Fills u from the header elements (a Refusal: refusal, code, detail),
 * calls head (may be NULL), then fn (may be NULL) for every Added and
 * Removed entry, in document order. */
int lst_parse_update(lst_update *u, const char *xml, size_t len,
                     lst_head_fn head, lst_entry_fn fn, void *ctx,
                     icx_err *err);

/* A list:Update page is head, <Added>/<Removed> with lst_put_entry, tail.
 * The head runs up to PageCount; prev < 0 leaves PreviousSerial out. */
int lst_put_update_head(icx_buf *b, int snapshot, const char *list, int kind,
                        const char *session, uint64_t serial, int64_t prev,
                        unsigned long page, unsigned long pages);
/* Digest, EntryCount, the Cursor (when cursor is not NULL or ""), the end. */
int lst_put_update_tail(icx_buf *b, const char *digest, uint64_t count,
                        const char *cursor);
/* The Cursor of a page that has a next one, issued by the publisher:
 * SESSION.FROM.TO.PAGESIZE.PAGECOUNT.NEXTPAGE.HEX(LASTLINE), FROM 0 for a
 * snapshot; "" when last is too long to carry (out has n bytes). */
void lst_cursor_write(char *out, size_t n, const char *session, uint64_t from,
                      uint64_t to, unsigned long psize, unsigned long pages,
                      unsigned long next_page, const char *last);
/* Bytes lst_cursor_write writes for a last line of len bytes (at most). */
size_t lst_cursor_len(size_t len);

int lst_put_entry(icx_buf *b, int kind, const char *line, const char *category,
                  const char *detected, const char *reason);
int lst_put_refusal(icx_buf *b, const char *list, const char *code,
                    const char *detail);
/* The acknowledgement: (session, serial) held, whole-list digest matched. */
int lst_put_ack(icx_buf *b, const char *list, const char *session,
                uint64_t serial, const char *digest);
int lst_put_syncreq(icx_buf *b, const char *list, const char *session,
                    uint64_t serial, const char *cursor);

#endif
