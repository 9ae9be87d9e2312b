/*
 * translate_int.h - shared between translate.c (reading and checking rows)
 * and translate_build.c (writing payloads).  Not part of the API.
 */
#ifndef ICX_TRANSLATE_INT_H
#define ICX_TRANSLATE_INT_H

#include "mapping.h"
#include "translate.h"

/* One data row after normalization: per profile field, the canonical
 * value (NULL when empty), where it came from, and the code table row
 * that produced it. */
typedef struct tr_row {
    unsigned line;
    int bad;                  /* has an error: not part of the payload */
    char **val;               /* [nfields], malloc'ed */
    unsigned *cl, *cc;        /* cell line and column */
    const icx_map_code **code;
} tr_row;

typedef struct tr_list tr_list;

typedef struct tr_ctx {
    const icx_mapping *m;
    const icx_translate_opts *o;
    const char *display;
    icx_buf *report;
    tr_row *rows;             /* case and YAML files: every row */
    size_t nrows;             /* rows read */
    size_t nbad;              /* rows with an error */
    int fidx[ICX_T__COUNT];   /* profile field index of a target, or -1 */
    size_t nerrors;
    size_t duplicates;
    size_t withheld;
    time_t now;
    tr_list *list;            /* list profiles: the rows, spilled */
    icx_buf *payload_out;     /* where a payload goes without a sink */
    const icx_schemas *schemas;
    icx_schemas *own_schemas; /* loaded on first use when o->schemas is NULL */
} tr_ctx;

/* "file:row:col:field: rule" into the report; marks the row bad. */
void tr_error(tr_ctx *t, tr_row *r, int fi, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Value of target tid in row r, or NULL. */
const char *tr_val(const tr_ctx *t, const tr_row *r, int tid);
/* Appends an explain line, when asked for. */
void tr_explain(tr_ctx *t, const char *path, const char *value,
                const tr_row *r, int tid);

/* Explain line for a value no column produced (note says where from). */
void tr_explain_note(tr_ctx *t, const char *path, const char *value,
                     const char *note);

/* Case files: cross-row checks (may mark rows bad), run before building
 * the payload XML text from the good rows. */
void tr_check_case(tr_ctx *t);
int tr_build_case(tr_ctx *t, icx_buf *xml, icx_buf *withheld_summary);

/* Parses a payload (or a piece of one) back and validates it against the
 * schemas; one that does not validate is ICX_ERROR. */
int tr_validate(tr_ctx *t, const char *xml, size_t len, icx_err *err);
/* Hands a validated payload to o->sink as page of pages, or appends it to
 * t->payload_out (pages must then be 1). */
int tr_hand_over(tr_ctx *t, const icx_buf *xml, unsigned long page,
                 unsigned long pages, icx_err *err);

/* List profiles (translate_list.c): rows are handed over one at a time
 * as they are read, kept on disk in sorted runs, then checked (duplicates
 * collapsed and reported, entries counted, the Digest, the pages planned)
 * and written page by page.  tr_list_add only reads r. */
int tr_list_open(tr_ctx *t, icx_err *err);
int tr_list_add(tr_ctx *t, const tr_row *r, icx_err *err);
int tr_list_check(tr_ctx *t, icx_err *err);
int tr_list_write(tr_ctx *t, icx_err *err);
/* After tr_list_check: entries kept, pages planned; the line of the
 * rejected rows ("3, 4"; "" when none). */
size_t tr_list_entries(const tr_ctx *t);
unsigned long tr_list_pages(const tr_ctx *t);
const char *tr_list_rejected(const tr_ctx *t);
void tr_list_free(tr_ctx *t);

#endif
