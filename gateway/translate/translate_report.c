/*
 * translate_report.c - below every other translate_*.c file: what they
 * report through, and where every payload leaves.
 *
 * tr_error writes "file:row:col:field: rule" into the report and marks
 * the row bad; tr_explain and tr_explain_note write the --explain lines
 * (where each value of the payload came from); tr_val reads a row's value
 * by target.  tr_validate parses a payload back with the hardened parser
 * and validates it against the schemas (loaded on first use when the
 * caller gave none) before tr_hand_over gives it to the sink, or to the
 * caller's buffer; a payload that does not validate is an internal error
 * (ICX_ERROR), never output.
 *
 * Calls nothing else of translate/.  Ownership: the report and explain
 * buffers are the caller's; t->own_schemas is freed by icx_translate_run.
 * Threads: the translation's.  Failure: a report or explain line that
 * would pass its buffer's maximum is left out (icx_buf); tr_validate
 * returns ICX_ERROR for a payload that does not validate, and the loader's
 * error when the schemas cannot be loaded; tr_hand_over returns what the
 * sink or the buffer returned.
 */
#include <stdarg.h>

#include "translate_int.h"
#include "util.h"

void tr_error(tr_ctx *t, tr_row *r, int fi, const char *fmt, ...)
{
    va_list ap;
    const char *field = fi >= 0 ? t->m->fields[fi].field : "-";
    unsigned line = r ? r->line : 0, col = 0;
    if (r != NULL && fi >= 0 && r->cl && r->cl[fi]) {
        line = r->cl[fi];
        col = r->cc[fi];
    }
    icx_buf_printf(t->report, "%s:%u:%u:%s: ", t->display, line, col, field);
    va_start(ap, fmt);
    icx_buf_vprintf(t->report, fmt, ap);
    va_end(ap);
    icx_buf_puts(t->report, "\n");
    if (r != NULL)
        r->bad = 1;
    t->nerrors++;
}

const char *tr_val(const tr_ctx *t, const tr_row *r, int tid)
{
    int fi = t->fidx[tid];
    return fi >= 0 ? r->val[fi] : NULL;
}

void tr_explain(tr_ctx *t, const char *path, const char *value,
                const tr_row *r, int tid)
{
    if (t->o->explain == NULL)
        return;
    int fi = tid >= 0 ? t->fidx[tid] : -1;
    icx_buf *b = t->o->explain;
    if (fi < 0) {
        tr_explain_note(t, path, value, "fixed by the profile");
        return;
    }
    icx_buf_printf(b, "%-44s = %s\n", path, value);
    const icx_map_field *f = &t->m->fields[fi];
    icx_buf_printf(b, "    <- %s:%u:%u column %s, profile %s:%u (%s)",
                   t->display, r ? r->cl[fi] : 0, r ? r->cc[fi] : 0,
                   f->column, t->m->path, f->line, f->field);
    if (r && r->code[fi])
        icx_buf_printf(b, ", table %s row %s:%u", f->table, t->m->path,
                       r->code[fi]->line);
    icx_buf_puts(b, "\n");
}

void tr_explain_note(tr_ctx *t, const char *path, const char *value,
                     const char *note)
{
    if (t->o->explain == NULL)
        return;
    icx_buf_printf(t->o->explain, "%-44s = %s\n    <- profile %s:%s\n", path,
                   value, t->m->path, note);
}

/* ---- handing over -------------------------------------------------------- */

int tr_validate(tr_ctx *t, const char *xml, size_t len, icx_err *err)
{
    icx_xmldoc *doc = NULL;
    icx_xml_limits lim = {.max_bytes = ICX_TRANSLATE_MAX_PAYLOAD, .max_depth = 64};
    int rc = ICX_OK;
    if (t->schemas == NULL) {
        if ((rc = icx_schemas_load(&t->own_schemas, icx_schemas_default_dir(),
                                   err)) < 0)
            return rc;
        t->schemas = t->own_schemas;
    }
    if ((rc = icx_xml_parse(&doc, xml, len, &lim, err)) < 0 ||
        (rc = icx_schemas_validate(t->schemas, doc, err)) < 0) {
        icx_err_wrap(err, "the payload built is not valid (a profile or "
                     "program error; nothing written)");
        rc = icx_err_set(err, ICX_ERROR, "%s", err->msg);
    }
    icx_xml_free(&doc);
    return rc;
}

int tr_hand_over(tr_ctx *t, const icx_buf *xml, unsigned long page,
                 unsigned long pages, icx_err *err)
{
    int rc;
    if (t->o->sink != NULL)
        return t->o->sink(t->o->sink_ctx, page, pages, xml->data, xml->len,
                          err);
    if (pages != 1)
        return icx_err_set(err, ICX_EINVAL, "%lu pages and one payload asked "
                           "for", pages);
    if ((rc = icx_buf_append(t->payload_out, xml->data, xml->len)) < 0)
        icx_err_set(err, rc, "payload: %s", icx_rc_str(rc));
    return rc;
}
