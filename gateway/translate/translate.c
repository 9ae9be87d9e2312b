/*
 * translate.c - the translate API (see translate.h): reads a domestic file,
 * hands its rows on, and reports what was written.
 *
 * The file is read here: a case or YAML file whole, decoded and split
 * into a grid; a list file streamed in batches of whole records, so the
 * text held is one batch whatever the file's size.  The grid's rows are
 * normalized by translate_rows.c.  Case files keep every row (one file is
 * one case: the cross-row checks need every row) and their payload is
 * built by translate_build.c; each row of a list file, once normalized,
 * goes to translate_list.c, which keeps the rows on disk and writes the
 * list page by page, so memory does not grow with the list.  Every
 * payload is validated (translate_report.c) before the caller receives
 * it; one that fails is an internal error (ICX_ERROR), never output.
 *
 * The top of translate/: calls the other files, none calls it.
 * Ownership: the rows, the list's spill and schemas loaded on the way are
 * freed before icx_translate_run returns; payload, report and explain
 * buffers are the caller's.  Threads: the caller's; translations share
 * nothing.  Failure: ICX_EINVAL (refused; the report says why, at the
 * file, row, column and field), ICX_EFULL and ICX_EIO (input over a limit,
 * unreadable; a temporary file), ICX_ENOMEM, ICX_ERROR (a payload built
 * that does not validate).
 */
#include "translate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conftab.h"
#include "csv.h"
#include "translate_int.h"
#include "util.h"

/* Decoded text, its CSV records and the grid over them: what a batch of
 * a list file, or a whole case file, holds while its rows are normalized. */
typedef struct sheet {
    char *text;
    icx_csv *csv;
    tr_grid g;
} sheet;

static void sheet_free(sheet *sh)
{
    tr_grid_free(&sh->g);
    icx_csv_free(&sh->csv);
    free(sh->text);
    sh->text = NULL;
}

/* ---- streaming list files --------------------------------------------------- */

#define STREAM_READ (1u << 20) /* bytes read at a time */

/* Adds base to the number at the start of msg ("ROW:COL: ..." from the
 * CSV reader, "byte N: ..." from the decoder) so it counts from the start
 * of the file, not of the batch. */
static void rebase(char *out, size_t outlen, const char *msg, size_t base)
{
    const char *p = msg, *pre = "";
    if (strncmp(p, "byte ", 5) == 0) {
        pre = "byte ";
        p += 5;
    }
    char *end;
    unsigned long long n = strtoull(p, &end, 10);
    if (end == p)
        snprintf(out, outlen, "%s", msg);
    else
        snprintf(out, outlen, "%s%llu%s", pre, n + base, end);
}

/* A list file (URL lines, URL or hash CSV) read in batches of whole
 * records: each batch is decoded, split, its rows normalized one at a
 * time and handed to tr_list_add (translate_list.c, which keeps them on
 * disk), and freed before the next is read, so the raw and decoded text
 * held is one batch (about STREAM_READ bytes plus the longest record),
 * whatever the file's size.  Limits: ICX_TRANSLATE_MAX_LIST_INPUT bytes,
 * ICX_TRANSLATE_MAX_LIST_ROWS records.  "auto" decides the encoding on the
 * first batch.  Structural and decoding errors are reported as for a
 * whole file, with rows and byte offsets counted from the start of the
 * file. */
static int stream_list(tr_ctx *t, const char *path, int *colof,
                       const char **used, icx_err *err)
{
    const icx_mapping *m = t->m;
    int csv_fmt = m->format != ICX_MAP_LINES, inq = 0, first = 1, rc = ICX_OK;
    const char *enc = m->encoding;
    char *buf = NULL, why[ICX_ERR_MSG_MAX];
    size_t len = 0, cap = 0, scanned = 0, cut = 0, total = 0;
    size_t line_base = 0, byte_base = 0, records = 0, width = 0;
    sheet sh = {0};
    tr_row row = {0};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return icx_err_set(err, ICX_EIO, "%s: %s", path, strerror(errno));
    for (int eof = 0; !eof || len > 0;) {
        if (!eof) {
            if (len + STREAM_READ + 1 > cap) {
                size_t nc = cap ? cap * 2 : STREAM_READ + 1;
                while (nc < len + STREAM_READ + 1)
                    nc *= 2;
                char *nb = realloc(buf, nc);
                if (nb == NULL)
                    goto oom;
                buf = nb;
                cap = nc;
            }
            size_t n = fread(buf + len, 1, STREAM_READ, f);
            if (n < STREAM_READ) {
                if (ferror(f)) {
                    rc = icx_err_set(err, ICX_EIO, "%s: read failed", path);
                    goto out;
                }
                eof = 1;
            }
            len += n;
            total += n;
            if (total > (size_t)ICX_TRANSLATE_MAX_LIST_INPUT) {
                rc = icx_err_set(err, ICX_EFULL, "%s: over the limit of %ld "
                                 "bytes", path,
                                 (long)ICX_TRANSLATE_MAX_LIST_INPUT);
                goto out;
            }
            for (; scanned < len; scanned++) { /* last whole record */
                char ch = buf[scanned];
                if (csv_fmt && ch == '"')
                    inq = !inq;
                else if (ch == '\n' && !inq)
                    cut = scanned + 1;
            }
            if (!eof && (cut == 0 || len < STREAM_READ))
                continue;
        }
        size_t blen = eof ? len : cut;
        size_t tlen = 0;
        rc = icx_text_decode(&sh.text, &tlen, used, buf, blen, enc, err);
        if (rc < 0) {
            rebase(why, sizeof why, err->msg, byte_base);
            icx_buf_printf(t->report, "%s:0:0:-: %s\n", t->display, why);
            rc = icx_err_set(err, rc, "%s: %s", t->display, why);
            goto out;
        }
        if (first && enc && strcmp(enc, "auto") == 0)
            enc = *used;
        if (csv_fmt) {
            icx_csv_limits lim = ICX_CSV_DEFAULT_LIMITS;
            lim.max_bytes = (size_t)ICX_TRANSLATE_MAX_LIST_INPUT;
            lim.max_rows = (size_t)ICX_TRANSLATE_MAX_LIST_ROWS > records
                               ? (size_t)ICX_TRANSLATE_MAX_LIST_ROWS - records
                               : 1;
            rc = icx_csv_parse(&sh.csv, sh.text, tlen, &lim, err);
            if (rc < 0) {
                rebase(why, sizeof why, err->msg, line_base);
                icx_buf_printf(t->report, "%s:%s\n", t->display, why);
                rc = icx_err_set(err, rc == ICX_ENOMEM ? rc : ICX_EINVAL,
                                 "%s:%s", t->display, why);
                goto out;
            }
            records += icx_csv_rows(sh.csv);
            rc = tr_grid_csv(&sh.g, sh.csv, first && m->header);
            if (first)
                width = sh.g.width;
            sh.g.width = width;
        } else {
            rc = tr_grid_lines(&sh.g, sh.text);
            records += sh.g.nrows;
            if (rc == 0 && records > (size_t)ICX_TRANSLATE_MAX_LIST_ROWS) {
                rc = icx_err_set(err, ICX_EFULL, "%s: more than %ld lines",
                                 t->display, ICX_TRANSLATE_MAX_LIST_ROWS);
                icx_buf_printf(t->report, "%s\n", err->msg);
                goto out;
            }
        }
        if (rc < 0)
            goto oom;
        for (size_t r = 0; r < sh.g.nrows; r++) {
            sh.g.row_line[r] += (unsigned)line_base;
            for (size_t k = 0; k < sh.g.ncols; k++)
                if (sh.g.line[r * sh.g.ncols + k])
                    sh.g.line[r * sh.g.ncols + k] += (unsigned)line_base;
        }
        if (first && tr_bind_columns(t, &sh.g, colof) < 0)
            goto oom;
        for (size_t r = 0; r < sh.g.nrows; r++) {
            t->nrows++;
            if ((rc = tr_norm_row(t, &row, &sh.g, r, colof)) < 0)
                goto oom;
            if ((rc = tr_list_add(t, &row, err)) < 0)
                goto out;
        }
        for (size_t i = 0; i < blen; i++) /* lines as the readers count them */
            line_base += buf[i] == '\n' || (csv_fmt && buf[i] == '\r' &&
                                            !(i + 1 < blen && buf[i + 1] == '\n'));
        byte_base += blen;
        memmove(buf, buf + blen, len - blen);
        len -= blen;
        scanned -= blen;
        cut = 0;
        first = 0;
        sheet_free(&sh);
        if (eof)
            len = 0;
    }
    goto out;
oom:
    rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
out:
    tr_row_free(t, &row);
    sheet_free(&sh);
    free(buf);
    fclose(f);
    return rc;
}

/* ---- the API ----------------------------------------------------------------- */

static void free_rows(tr_ctx *t)
{
    for (size_t i = 0; t->rows != NULL && i < t->nrows; i++)
        tr_row_free(t, &t->rows[i]);
    free(t->rows);
    t->rows = NULL;
}

/* Reads the file into rows: a list file streamed into the list's spill,
 * a case or YAML file into t->rows (a YAML list too goes to the spill). */
static int read_rows(tr_ctx *t, const char *input_path, const char **used,
                     icx_err *err)
{
    const icx_mapping *m = t->m;
    int list = m->kind != ICX_MAP_CASE, *colof = NULL, rc = ICX_OK;
    sheet sh = {0};
    icx_conftab_node *yroot = NULL;
    icx_conftab_diag diag = {0};
    char *raw = NULL;
    size_t rawlen = 0, textlen = 0;
    tr_row row = {0};

    colof = calloc(m->nfields + 1, sizeof *colof);
    if (colof == NULL)
        goto oom;
    if (m->format == ICX_MAP_YAML) {
        icx_conftab_file f = {t->display, ".", 0, &diag};
        if ((rc = icx_conftab_parse(&yroot, input_path, ICX_CONFIG_MAX_BYTES,
                                    &f)) < 0)
            goto oom;
        if (yroot == NULL) {
            icx_conftab_diag_emit(&diag, t->report, err);
            rc = icx_err_set(err, ICX_EINVAL, "%s: not a YAML record file",
                             t->display);
            goto out;
        }
        if ((rc = tr_grid_yaml(&sh.g, yroot, t)) < 0)
            goto oom;
    } else if (list) {
        rc = stream_list(t, input_path, colof, used, err);
        goto out;
    } else {
        if ((rc = icx_file_read(&raw, &rawlen, input_path,
                                ICX_TRANSLATE_MAX_INPUT, err)) < 0)
            goto out;
        rc = icx_text_decode(&sh.text, &textlen, used, raw, rawlen, m->encoding,
                             err);
        if (rc < 0) {
            icx_buf_printf(t->report, "%s:0:0:-: %s\n", t->display, err->msg);
            rc = icx_err_set(err, rc, "%s: %s", t->display, err->msg);
            goto out;
        }
        if (m->format == ICX_MAP_LINES) {
            rc = tr_grid_lines(&sh.g, sh.text);
        } else {
            rc = icx_csv_parse(&sh.csv, sh.text, textlen, NULL, err);
            if (rc < 0) {
                icx_buf_printf(t->report, "%s:%s\n", t->display, err->msg);
                rc = icx_err_set(err, rc == ICX_ENOMEM ? rc : ICX_EINVAL,
                                 "%s:%s", t->display, err->msg);
                goto out;
            }
            rc = tr_grid_csv(&sh.g, sh.csv, m->header);
        }
        if (rc < 0)
            goto oom;
    }
    /* The grid of the whole file (case files, YAML). */
    if (!list && (t->rows = calloc(sh.g.nrows + 1, sizeof *t->rows)) == NULL)
        goto oom;
    if (tr_bind_columns(t, &sh.g, colof) < 0)
        goto oom;
    for (size_t r = 0; r < sh.g.nrows; r++) {
        t->nrows++;
        if ((rc = tr_norm_row(t, list ? &row : &t->rows[r], &sh.g, r,
                              colof)) < 0)
            goto oom;
        if (list && (rc = tr_list_add(t, &row, err)) < 0)
            goto out;
    }
    rc = ICX_OK;
    goto out;
oom:
    rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
out:
    tr_row_free(t, &row);
    sheet_free(&sh);
    icx_conftab_node_free(&yroot);
    icx_conftab_diag_free(&diag);
    free(colof);
    free(raw);
    return rc;
}

int icx_translate_run(icx_buf *payload_out, icx_translate_result *res,
                      const icx_mapping *m, const char *input_path,
                      const icx_translate_opts *opts, icx_buf *report,
                      icx_err *err)
{
    static const icx_translate_opts defaults = {0};
    const icx_translate_opts *o = opts ? opts : &defaults;
    tr_ctx t = {.m = m, .o = o, .report = report,
                .display = o->display ? o->display : input_path,
                .now = o->now ? o->now : time(NULL),
                .payload_out = payload_out, .schemas = o->schemas};
    icx_translate_result r0 = {0};
    const char *used = NULL;
    int list = m->kind != ICX_MAP_CASE, rc;
    size_t entries = 0;
    icx_buf xml, wsum;

    icx_buf_init(&xml, ICX_TRANSLATE_MAX_PAYLOAD);
    icx_buf_init(&wsum, 64 * 1024);
    for (int i = 0; i < ICX_T__COUNT; i++)
        t.fidx[i] = -1;
    for (size_t i = 0; i < m->nfields; i++)
        t.fidx[m->fields[i].tid] = (int)i;
    if (res == NULL)
        res = &r0;
    memset(res, 0, sizeof *res);

    if (list && (rc = tr_list_open(&t, err)) < 0)
        goto out;
    if ((rc = read_rows(&t, input_path, &used, err)) < 0)
        goto spill_failed;
    if (!list) {
        tr_check_case(&t);
        for (size_t r = 0; r < t.nrows; r++)
            t.nbad += t.rows[r].bad != 0;
    } else if ((rc = tr_list_check(&t, err)) < 0) {
        goto spill_failed;
    }
    res->rows = t.nrows;
    res->rejected = t.nbad;
    res->accepted = t.nrows - res->rejected;
    res->duplicates = t.duplicates;
    if (t.nerrors > 0 && (!o->skip_invalid || res->accepted == 0 ||
                          res->rejected == 0)) {
        icx_buf_printf(report, "%s: refused: %zu error%s in %zu of %zu rows; "
                       "nothing written (evidence is all or nothing%s)\n",
                       t.display, t.nerrors, t.nerrors == 1 ? "" : "s",
                       res->rejected, t.nrows, o->skip_invalid ? "" :
                       "; --skip-invalid writes the valid rows");
        rc = icx_err_set(err, ICX_EINVAL, "%s: %zu error%s; nothing written",
                         t.display, t.nerrors, t.nerrors == 1 ? "" : "s");
        goto out;
    }
    if (t.nrows == 0) {
        icx_buf_printf(report, "%s:0:0:-: no data rows\n", t.display);
        rc = icx_err_set(err, ICX_EINVAL, "%s: no data rows", t.display);
        goto out;
    }
    if (o->check_only) {
        icx_buf_printf(report, "%s: %zu rows read (%s), %zu accepted, %zu "
                       "rejected, %zu duplicates; checked only\n", t.display,
                       t.nrows, used ? used : "yaml", res->accepted,
                       res->rejected, t.duplicates);
        rc = ICX_OK;
        goto out;
    }
    if (list && o->sink == NULL && tr_list_pages(&t) > 1) {
        icx_buf_printf(report, "%s:0:0:-: %zu entries need %lu pages of at "
                       "most %zu bytes, and one payload was asked for (icx "
                       "translate -o OUT.xml writes the pages)\n", t.display,
                       tr_list_entries(&t), tr_list_pages(&t),
                       o->page_bytes ? o->page_bytes
                                     : (size_t)ICX_TRANSLATE_MAX_PAYLOAD);
        rc = icx_err_set(err, ICX_EINVAL, "%s: refused; nothing written",
                         t.display);
        goto out;
    }
    if (list) {
        if ((rc = tr_list_write(&t, err)) < 0)
            goto spill_failed;
        entries = tr_list_entries(&t);
        res->pages = tr_list_pages(&t);
    } else {
        rc = tr_build_case(&t, &xml, &wsum);
        if (rc == ICX_EINVAL) {
            rc = icx_err_set(err, ICX_EINVAL, "%s: refused; nothing written",
                             t.display);
            goto out;
        }
        if (rc < 0) {
            rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = tr_validate(&t, xml.data, xml.len, err)) < 0 ||
            (rc = tr_hand_over(&t, &xml, 1, 1, err)) < 0)
            goto out;
        res->pages = 1;
    }
    res->withheld = t.withheld;
    snprintf(res->root, sizeof res->root, "%s",
             m->kind == ICX_MAP_CASE ? m->case_root : "Update");
    snprintf(res->category, sizeof res->category, "%s",
             icx_translate_category(m));
    if (res->rejected > 0 && list) {
        icx_buf_printf(report, "%s: rejected rows: %s\n", t.display,
                       tr_list_rejected(&t));
    }
    for (size_t r = 0, k = 0; !list && r < t.nrows && res->rejected; r++) {
        if (!t.rows[r].bad)
            continue;
        if (k == 0)
            icx_buf_printf(report, "%s: rejected rows: ", t.display);
        icx_buf_printf(report, "%s%u", k ? ", " : "", t.rows[r].line);
        if (++k == res->rejected)
            icx_buf_puts(report, "\n");
    }
    icx_buf_printf(report, "%s: %zu rows read (%s), %zu accepted, %zu "
                   "rejected; profile %s version %s -> %s\n", t.display,
                   t.nrows, used ? used : "yaml", res->accepted,
                   res->rejected, m->profile, m->version, res->root);
    if (list) {
        icx_buf_printf(report, "%s: list %s: %zu entries, %zu duplicates "
                       "collapsed, %zu left out by status\n", t.display,
                       m->list_id, entries, t.duplicates,
                       res->accepted - entries - t.duplicates);
        if (res->pages > 1)
            icx_buf_printf(report, "%s: list %s: %lu pages of at most %zu "
                           "bytes\n", t.display, m->list_id, res->pages,
                           o->page_bytes ? o->page_bytes
                                         : (size_t)ICX_TRANSLATE_MAX_PAYLOAD);
    }
    if (wsum.len > 0)
        icx_buf_printf(report, "%s: withheld for %s: %s\n", t.display,
                       o->partner ? o->partner : "(no partner named)",
                       wsum.data);
    rc = ICX_OK;
    goto out;
spill_failed:
    /* Refusals are already in the report; a disk or memory failure is
     * named with the file it stopped. */
    if (rc != ICX_EINVAL && rc != ICX_ERROR && strstr(err->msg, t.display) == NULL)
        icx_err_wrap(err, "%s", t.display);
out:
    free_rows(&t);
    tr_list_free(&t);
    icx_schemas_free(&t.own_schemas);
    icx_buf_free(&xml);
    icx_buf_free(&wsum);
    return rc;
}

const char *icx_translate_category(const icx_mapping *m)
{
    return m->kind != ICX_MAP_CASE ? "list-update"
           : strcmp(m->case_root, "Request") == 0 ? "case-request"
                                                  : "case-referral";
}

int icx_translate_file(icx_buf *payload_out, const char *input_path,
                       const char *profile_path, const char *partner,
                       icx_buf *report, icx_err *err)
{
    icx_mapping *m = NULL;
    int rc = icx_mapping_load(&m, profile_path, report, err);
    if (rc < 0)
        return rc;
    icx_translate_opts o = {.partner = partner};
    rc = icx_translate_run(payload_out, NULL, m, input_path, &o, report, err);
    icx_mapping_free(&m);
    return rc;
}
