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
    int dup;                  /* list entry collapsed into an earlier one */
    char **val;               /* [nfields], malloc'ed */
    unsigned *cl, *cc;        /* cell line and column */
    const icx_map_code **code;
} tr_row;

typedef struct tr_ctx {
    const icx_mapping *m;
    const icx_translate_opts *o;
    const char *display;
    icx_buf *report;
    tr_row *rows;
    size_t nrows;
    int fidx[ICX_T__COUNT];   /* profile field index of a target, or -1 */
    size_t nerrors;
    size_t duplicates;
    size_t withheld;
    time_t now;
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

/* Cross-row checks (case consistency, list duplicates); may mark rows
 * bad.  Run before building. */
void tr_check_case(tr_ctx *t);
int tr_check_list(tr_ctx *t);
/* Builds the payload XML text from the good rows. */
int tr_build_case(tr_ctx *t, icx_buf *xml, icx_buf *withheld_summary);
int tr_build_list(tr_ctx *t, icx_buf *xml, size_t *entries);

#endif
