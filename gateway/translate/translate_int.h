/*
 * translate_int.h - shared by the files of translate/.  Not part of the
 * API.  The declarations follow the files from the bottom up (see
 * README.md): a file calls only those of the files below it.
 */
#ifndef ICX_TRANSLATE_INT_H
#define ICX_TRANSLATE_INT_H

#include "conftab.h"
#include "csv.h"
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

/* ---- translate_report.c: reports, explain lines, handing over ---------- */

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

/* Parses a payload (or a piece of one) back and validates it against the
 * schemas; one that does not validate is ICX_ERROR. */
int tr_validate(tr_ctx *t, const char *xml, size_t len, icx_err *err);
/* Hands a validated payload to o->sink as page of pages, or appends it to
 * t->payload_out (pages must then be 1). */
int tr_hand_over(tr_ctx *t, const icx_buf *xml, unsigned long page,
                 unsigned long pages, icx_err *err);

/* ---- translate_rows.c: cells into normalized rows ------------------------ */

/* The grid a file is read into (translate.c), before its rows are
 * normalized: column names and, row-major, the raw cells. */
typedef struct tr_grid {
    size_t ncols, nrows;
    char **names;          /* ncols, NFKC'd header names (NULL: by number) */
    const char **cell;     /* nrows * ncols, NULL when absent */
    unsigned *line, *col;  /* per cell */
    unsigned *row_line;    /* per row */
    size_t *row_ncols;     /* fields in the record (CSV width check) */
    size_t width;          /* fields in the header (0: not checked) */
} tr_grid;

/* Grids over CSV records (header: the first record names the columns),
 * URL lines (text is cut in place; blank lines and # comments skipped),
 * or a YAML `records:` list (problems go to the report).  The cells point
 * into what the grid is built from.  ICX_ENOMEM. */
int tr_grid_csv(tr_grid *g, const icx_csv *c, int header);
int tr_grid_lines(tr_grid *g, char *text);
int tr_grid_yaml(tr_grid *g, const icx_conftab_node *root, tr_ctx *t);
void tr_grid_free(tr_grid *g);
/* Binds each profile field to a grid column (colof[field], -1 when the
 * file lacks it; a missing required column is reported). */
int tr_bind_columns(tr_ctx *t, const tr_grid *g, int *colof);
/* Normalizes grid row gr into r; a row used before is cleared first (the
 * streaming readers normalize every row into the same one).  Problems
 * are reported and mark r bad; ICX_ENOMEM. */
int tr_norm_row(tr_ctx *t, tr_row *r, const tr_grid *g, size_t gr,
                const int *colof);
void tr_row_free(tr_ctx *t, tr_row *r);

/* ---- translate_build.c: case files ------------------------------------- */

/* Case files: cross-row checks (may mark rows bad), run before building
 * the payload XML text from the good rows. */
void tr_check_case(tr_ctx *t);
int tr_build_case(tr_ctx *t, icx_buf *xml, icx_buf *withheld_summary);

/* ---- translate_list.c: list files ------------------------------------- */

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
