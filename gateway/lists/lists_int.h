/*
 * lists_int.h - what the lists files share: the store connection, its
 * prepared statements, transactions, the digest and the event log.  Not a
 * public interface (lists.h is).
 */
#ifndef ICX_LISTS_INT_H
#define ICX_LISTS_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "lists.h"

/* Prepared once at open; used by lists_import.c, lists_serve.c,
 * lists_apply.c and lists_view.c. */
enum lst_stmt {
    LS_BEGIN, LS_COMMIT, LS_ROLLBACK,
    LS_LIST_GET, LS_LIST_INSERT, LS_LIST_HEAD,
    LS_SERIAL_GET, LS_SERIAL_INSERT,
    LS_SNAP_PAGE, LS_DELTA_KEYS, LS_DELTA_COUNT, LS_KEY_VERSIONS,
    LS_CUR_LINES,
    LS_PARTNER_SEEN,
    LS_SUB_GET, LS_SUB_INSERT,
    LS_SUBE_PUT, LS_SUBE_LINES,
    LS_STAGE_PUT,
    LS_EVENT_LAST, LS_EVENT_INSERT,
    LS__COUNT
};

struct icx_listdb {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *st[LS__COUNT];
    int in_tx;
};

/* Binds, resets and maps errors. */
sqlite3_stmt *lst_stmt(icx_listdb *db, int id);
int lst_fail(icx_listdb *db, int rc, const char *op, icx_err *err);
int lst_exec(icx_listdb *db, const char *sql, const char *op, icx_err *err);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback is NULL-safe, no error). */
int lst_begin(icx_listdb *db, icx_err *err);
int lst_commit(icx_listdb *db, icx_err *err);
void lst_rollback(icx_listdb *db);
/* Binds a NUL-terminated text, or NULL when s is NULL. */
void lst_text(sqlite3_stmt *st, int i, const char *s);
/* Copies column i (NULL -> "") into out. */
void lst_col(char *out, size_t outlen, sqlite3_stmt *st, int i);

/* Streams the digest: lines in bytewise order, each followed by "\n". */
typedef struct lst_digest lst_digest;
lst_digest *lst_digest_new(void);
int lst_digest_line(lst_digest *d, const char *line, size_t len);
/* Finishes into hex (65 bytes) and frees d. */
int lst_digest_end(lst_digest *d, char hex[65]);
/* Digest and count of the rows a statement yields (column 0 = line, in
 * order).  The statement is stepped to its end and reset. */
int lst_digest_stmt(icx_listdb *db, sqlite3_stmt *st, char hex[65],
                    uint64_t *count, icx_err *err);

/* Appends a record to the lists store's event log (hash-chained like the
 * broker's audit log: hash = SHA-256(prev_hash "\n" line)). */
int lst_event(icx_listdb *db, const char *event, const char *list,
              const char *partner, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- lists_serve.c: the pages every pull gets ------------------------- */

/* One transfer: the list from serial `from` (0: a snapshot) to `to`, in
 * pages of psize entries ordered by canonical line. */
typedef struct lst_transfer {
    char session[ICX_LISTS_SESSION_LEN + 1];
    uint64_t from, to;     /* from 0: snapshot */
    unsigned long psize, pages, page;
    char after[ICX_LISTS_LINE_MAX + 1]; /* last line sent; "" on page 1 */
} lst_transfer;

typedef struct lst_head {
    char kind[8];
    char session[ICX_LISTS_SESSION_LEN + 1];
    int64_t head, min_serial, max_entry;
} lst_head;

/* The list's position; ICX_ENOTFOUND when never imported. */
int lst_head_read(lst_head *h, icx_listdb *db, const char *list);
/* Count and digest of one serial; ICX_ENOTFOUND when it is not kept. */
int lst_serial_info(icx_listdb *db, const char *list, const char *session,
                    uint64_t serial, uint64_t *count, char digest[65]);
/* Entries per page: the list's page_entries, lowered to fit the message
 * limit with the list's largest entry. */
unsigned long lst_page_size(const icx_list_decl *d, const icx_config *cfg,
                            int64_t max_entry);
/* Page t->page of transfer t as a list:Update payload in out; on success
 * t->after holds the last line sent (where page t->page + 1 starts). */
int lst_page_build(icx_buf *out, icx_lists_answer *ans, icx_listdb *db,
                   const char *list, int kind, lst_transfer *t, icx_err *err);

/* Canonical line <-> value and algorithm: hash lines are "ALG:VALUE". */
const char *lst_line_value(const char *line, int kind, char *alg,
                           size_t alglen);

/* Removal reasons of list-1.xsd; 1 when known. */
int lst_reason_known(const char *r);

/* Bytes one entry takes in a page (escaped), for the page-size bound. */
size_t lst_entry_xml_len(const char *line, const char *category);

#endif
