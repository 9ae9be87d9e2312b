/*
 * translate.h - domestic files (CSV, YAML records, URL lines) to payloads
 * through a mapping profile, and received payloads back to domestic CSV.
 *
 * Forward: the file is decoded (UTF-8 or CP932), split into rows, every
 * cell normalized by its field's type, code tables applied, rows checked
 * against each other (one case per file; list duplicates collapsed), then
 * the payload XML is written with escaping, parsed with the hardened
 * parser and validated against schemas/.  No unvalidated payload is ever
 * returned.  Evidence is all or nothing: one invalid row and nothing is
 * produced, unless skip_invalid, which drops the invalid rows and reports
 * them.  Every problem is a line `file:row:column:field: rule` in the
 * report, all of them from one run.
 *
 * Ownership: outputs are caller buffers or the caller's sink; nothing is
 * kept between calls (list spill files are unlinked temporary files).
 * Thread safety: reentrant given read-only profile and schemas.
 */
#ifndef ICX_TRANSLATE_H
#define ICX_TRANSLATE_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "mapping.h"
#include "xml.h"

#define ICX_TRANSLATE_MAX_INPUT (64L * 1024 * 1024)
#define ICX_TRANSLATE_MAX_PAYLOAD (16L * 1024 * 1024)
/* List files (url-list, hash-list; CSV or lines) are streamed and their
 * rows spilled to disk, so their limits are those of the disk. */
#define ICX_TRANSLATE_MAX_LIST_INPUT (1024L * 1024 * 1024)
#define ICX_TRANSLATE_MAX_LIST_ROWS 20000000L
#define ICX_TRANSLATE_MIN_PAGE 4096L

/* Receives the payloads in order, each parsed back and validated: a
 * case, or page `page` of `pages` of a list.  xml is valid until the call
 * returns.  Nothing is handed over for a refused file; a negative return
 * stops the translation, which returns it (the sink then removes what it
 * kept of the earlier pages). */
typedef int (*icx_translate_sink)(void *ctx, unsigned long page,
                                  unsigned long pages, const char *xml,
                                  size_t len, icx_err *err);

typedef struct icx_translate_opts {
    const char *partner;          /* recipient agency id, or NULL */
    const icx_strlist *partner_withhold; /* its partner file's withhold */
    int skip_invalid;             /* write the valid rows, report the rest */
    icx_buf *explain;             /* when set: which profile row made what */
    const char *display;          /* file name in messages (default: path) */
    time_t now;                   /* 0: time(NULL) (list DetectedAt default) */
    const char *session_id;       /* list updates: SessionId (default new) */
    unsigned long serial;         /* list updates: Serial (default 1) */
    const icx_schemas *schemas;   /* NULL: icx_schemas_default_dir() */
    int check_only;               /* read and check the rows; build nothing
                                   * (payload_out stays empty) */
    icx_translate_sink sink;      /* when set, payloads go here, one page
                                   * at a time, and payload_out stays empty */
    void *sink_ctx;
    size_t page_bytes;            /* list pages: at most this many bytes
                                   * (0: ICX_TRANSLATE_MAX_PAYLOAD) */
    const char *tmpdir;           /* list spill files (NULL: $TMPDIR, else
                                   * /tmp) */
    size_t spill_rows;            /* list rows per sorted run (0: as many
                                   * as ICX_SPILL_BATCH bytes hold) */
} icx_translate_opts;

typedef struct icx_translate_result {
    size_t rows;        /* data rows read */
    size_t accepted;    /* rows in the payload */
    size_t rejected;    /* invalid rows (skip_invalid) */
    size_t duplicates;  /* list entries collapsed */
    size_t withheld;    /* fields withheld for the partner */
    unsigned long pages; /* payloads handed over (lists: the pages) */
    char category[32];  /* envelope Category: case-referral, list-update... */
    char root[32];      /* payload root element */
} icx_translate_result;

/* Translates input_path with a loaded profile.  Returns ICX_OK with the
 * payload in payload_out (or handed to o->sink), or ICX_EINVAL (refused:
 * the reasons are lines in report), ICX_ECONFIG, ICX_EIO, ICX_EFULL (a
 * limit, or the disk under the spill files), ICX_ENOMEM.  report also
 * receives the summary lines.  res may be NULL.
 *
 * A list is written as pages of at most o->page_bytes, in the order of
 * their entries' canonical lines; without a sink only a list of one page
 * can be returned (more is refused, naming the number of pages).  Memory
 * for a list file is bounded whatever its size: one batch of input, one
 * batch of rows to sort (ICX_SPILL_BATCH) and one page with its parsed
 * tree; the rows wait on disk in o->tmpdir. */
int icx_translate_run(icx_buf *payload_out, icx_translate_result *res,
                      const icx_mapping *m, const char *input_path,
                      const icx_translate_opts *o, icx_buf *report,
                      icx_err *err);

/* The envelope Category of what profile m produces: case-referral,
 * case-request or list-update. */
const char *icx_translate_category(const icx_mapping *m);

/* The one-call form: loads the profile, translates for partner (may be
 * NULL) with all-or-nothing rows, and validates; a list must fit one
 * payload.  On refusal report holds every error line. */
int icx_translate_file(icx_buf *payload_out, const char *input_path,
                       const char *profile_path, const char *partner,
                       icx_buf *report, icx_err *err);

/* Reverse: a received payload (case Referral/Request/Response or list
 * Update; a whole envelope is accepted too, its payload is taken) back to
 * domestic CSV with the profile's column names (UTF-8 with BOM, CRLF, or
 * CP932 when the profile's encoding is cp932). */
int icx_translate_back(icx_buf *csv_out, const icx_mapping *m,
                       const char *xml, size_t len, icx_err *err);

#endif
