/*
 * translate.c - reading a domestic file into normalized rows, and the
 * translate API (see translate.h).
 *
 * Input becomes a grid: CSV records (the header names the columns), URL
 * lines (one column, "#1"), or YAML records (a `records:` list of
 * mappings, read with conftab so each cell keeps its line and column).
 * Each profile field is bound to a column once; then every cell runs
 * through NFKC (unless the field says not, and never for URLs), case
 * folding, the field's code table and its type's normalizer.  A problem
 * marks the row bad and adds `file:row:col:field: rule` to the report;
 * reading goes on, so one run reports everything.
 *
 * Case files are read whole (one file is one case: the cross-row checks
 * need every row) and their payload text is built by translate_build.c.
 * List files are streamed and each row, once normalized, goes to
 * translate_list.c, which keeps the rows on disk and writes the list page
 * by page, so memory does not grow with the list.  Every payload is
 * parsed back with the hardened parser and validated here (tr_validate)
 * before the caller receives it; one that fails is an internal error
 * (ICX_ERROR), never output.
 */
#include "translate.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conftab.h"
#include "csv.h"
#include "normalize.h"
#include "translate_int.h"
#include "util.h"

#define FAIL(...) (snprintf(why, sizeof why, __VA_ARGS__), -1)

/* The grid: names of the columns and, row-major, the raw cells. */
typedef struct grid {
    size_t ncols, nrows;
    char **names;          /* ncols, NFKC'd header names (NULL: by number) */
    const char **cell;     /* nrows * ncols, NULL when absent */
    unsigned *line, *col;  /* per cell */
    unsigned *row_line;    /* per row */
    size_t *row_ncols;     /* fields in the record (CSV width check) */
    size_t width;          /* fields in the header (0: not checked) */
} grid;

static void grid_free(grid *g)
{
    for (size_t i = 0; g->names && i < g->ncols; i++)
        free(g->names[i]);
    free(g->names);
    free(g->cell);
    free(g->line);
    free(g->col);
    free(g->row_line);
    free(g->row_ncols);
    memset(g, 0, sizeof *g);
}

static int grid_alloc(grid *g, size_t nrows, size_t ncols)
{
    size_t n = nrows * ncols + 1;
    g->nrows = nrows;
    g->ncols = ncols;
    g->names = calloc(ncols + 1, sizeof *g->names);
    g->cell = calloc(n, sizeof *g->cell);
    g->line = calloc(n, sizeof *g->line);
    g->col = calloc(n, sizeof *g->col);
    g->row_line = calloc(nrows + 1, sizeof *g->row_line);
    g->row_ncols = calloc(nrows + 1, sizeof *g->row_ncols);
    if (!g->names || !g->cell || !g->line || !g->col || !g->row_line ||
        !g->row_ncols)
        return ICX_ENOMEM;
    return ICX_OK;
}

static int grid_csv(grid *g, const icx_csv *c, int header)
{
    size_t first = header ? 1 : 0, ncols = 0;
    for (size_t r = 0; r < icx_csv_rows(c); r++)
        if (icx_csv_cols(c, r) > ncols)
            ncols = icx_csv_cols(c, r);
    size_t nrows = icx_csv_rows(c) > first ? icx_csv_rows(c) - first : 0;
    if (grid_alloc(g, nrows, ncols) < 0)
        return ICX_ENOMEM;
    for (size_t k = 0; header && k < icx_csv_cols(c, 0); k++)
        if (icx_norm_nfkc(&g->names[k], icx_csv_field(c, 0, k)) == ICX_ENOMEM)
            return ICX_ENOMEM;
    if (header && icx_csv_rows(c) > 0)
        g->width = icx_csv_cols(c, 0);
    for (size_t r = 0; r < nrows; r++) {
        g->row_line[r] = icx_csv_line(c, r + first);
        g->row_ncols[r] = icx_csv_cols(c, r + first);
        for (size_t k = 0; k < ncols; k++) {
            g->cell[r * ncols + k] = icx_csv_field(c, r + first, k);
            g->line[r * ncols + k] = g->row_line[r];
            g->col[r * ncols + k] = (unsigned)k + 1;
        }
    }
    return ICX_OK;
}

/* URL lines: one column; blank lines and # comments skipped.  text is
 * modified in place (lines cut). */
static int grid_lines(grid *g, char *text)
{
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    if (grid_alloc(g, n, 1) < 0)
        return ICX_ENOMEM;
    g->nrows = 0;
    unsigned line = 0;
    for (char *p = text; p != NULL && *p;) {
        char *nl = strchr(p, '\n');
        line++;
        if (nl)
            *nl = '\0';
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[--len] = '\0';
        const char *s = p;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s && *s != '#') {
            g->cell[g->nrows] = s;
            g->line[g->nrows] = line;
            g->col[g->nrows] = 1;
            g->row_line[g->nrows] = line;
            g->row_ncols[g->nrows] = 1;
            g->nrows++;
        }
        p = nl ? nl + 1 : NULL;
    }
    return ICX_OK;
}

/* YAML: records: [ {column: value, ...}, ... ].  Column names are the
 * union of the keys; problems go to the report. */
static int grid_yaml(grid *g, const icx_conftab_node *root, tr_ctx *t)
{
    const icx_conftab_node *recs = icx_conftab_find(root, "records");
    if (recs == NULL || recs->kind != ICX_CN_SEQ) {
        tr_error(t, NULL, -1, "want a list under the key \"records\"");
        return ICX_OK;
    }
    size_t ncols = 0, cap = 0;
    char **names = NULL;
    for (size_t r = 0; r < recs->nkids; r++) {
        const icx_conftab_node *rec = recs->kids[r];
        for (size_t i = 0; rec->kind == ICX_CN_MAP && i + 1 < rec->nkids; i += 2) {
            const char *k = rec->kids[i]->text;
            size_t j = 0;
            while (k && j < ncols && strcmp(names[j], k) != 0)
                j++;
            if (k == NULL || j < ncols)
                continue;
            if (ncols == cap) {
                cap = cap ? cap * 2 : 16;
                char **nn = realloc(names, cap * sizeof *nn);
                if (nn == NULL)
                    goto oom;
                names = nn;
            }
            names[ncols++] = (char *)k;
        }
    }
    if (grid_alloc(g, recs->nkids, ncols) < 0)
        goto oom;
    for (size_t j = 0; j < ncols; j++)
        if (icx_norm_nfkc(&g->names[j], names[j]) == ICX_ENOMEM)
            goto oom;
    for (size_t r = 0; r < recs->nkids; r++) {
        const icx_conftab_node *rec = recs->kids[r];
        g->row_line[r] = rec->line;
        g->row_ncols[r] = ncols;
        if (rec->kind != ICX_CN_MAP) {
            tr_row tmp = {.line = rec->line};
            tr_error(t, &tmp, -1, "record %zu: want a mapping of column: "
                     "value", r + 1);
            continue;
        }
        for (size_t i = 0; i + 1 < rec->nkids; i += 2) {
            const icx_conftab_node *k = rec->kids[i], *v = rec->kids[i + 1];
            size_t j = 0;
            while (k->text && j < ncols && strcmp(names[j], k->text) != 0)
                j++;
            if (j == ncols)
                continue;
            g->line[r * ncols + j] = v->line;
            g->col[r * ncols + j] = v->col;
            if (v->kind != ICX_CN_SCALAR) {
                tr_row tmp = {.line = v->line};
                tr_error(t, &tmp, -1, "%s: want a single value", k->text);
                continue;
            }
            g->cell[r * ncols + j] = icx_conftab_is_empty(v) ? NULL : v->text;
        }
    }
    free(names);
    return ICX_OK;
oom:
    free(names);
    return ICX_ENOMEM;
}

/* ---- reporting ------------------------------------------------------------ */

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

/* ---- cells ------------------------------------------------------------------ */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static size_t text_limit(int tid)
{
    switch (tid) {
    case ICX_T_CASE_REFERENCE: case ICX_T_PERSON_KEY:
    case ICX_T_PERSON_SERVICE: case ICX_T_ENTRY_CATEGORY: return 64;
    case ICX_T_CASE_SUMMARY: return 3800;
    default: return 256;
    }
}

static int is_removal(const char *v)
{
    return strcmp(v, "content-removed") == 0 || strcmp(v, "appeal-upheld") == 0 ||
           strcmp(v, "misclassified") == 0 || strcmp(v, "expired") == 0;
}

static int iccs_ok(const char *v)
{
    size_t n = strlen(v);
    for (size_t i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return 0;
    return n == 2 || n == 4 || n == 5 || n == 6;
}

/* Normalizes one cell into r->val[fi]. */
static int norm_cell(tr_ctx *t, tr_row *r, int fi, const char *raw)
{
    const icx_map_field *f = &t->m->fields[fi];
    const icx_map_target *tg = icx_map_target_get(f->tid);
    char why[ICX_NORM_WHY], *v = NULL;
    char out[ICX_NORM_URL_MAX + 64];
    int rc;
    const char *s = raw;
    while (s && (*s == ' ' || *s == '\t'))
        s++;
    if (s == NULL || *s == '\0') {
        if (f->def == NULL) {
            if (f->required)
                tr_error(t, r, fi, "required value is empty (column %s)",
                         f->column);
            return ICX_OK;
        }
        s = f->def;
    }
    if (!icx_utf8_valid(s, strlen(s))) {
        tr_error(t, r, fi, "not valid UTF-8");
        return ICX_OK;
    }
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') {
            tr_error(t, r, fi, "control character 0x%02x", (unsigned)*p);
            return ICX_OK;
        }
    if (tg->type != ICX_MT_URL && f->nfkc) {
        if ((rc = icx_norm_nfkc(&v, s)) < 0)
            return rc;
    } else if ((v = strdup(s)) == NULL) {
        return ICX_ENOMEM;
    }
    char *w = v; /* CRLF and CR inside a cell become LF */
    for (const char *p = v; *p; p++)
        if (!(*p == '\r' && p[1] == '\n'))
            *w++ = *p == '\r' ? '\n' : *p;
    *w = '\0';
    for (char *p = v; f->fold != ICX_MAP_KEEP && *p; p++)
        if ((unsigned char)*p < 0x80)
            *p = f->fold == ICX_MAP_UPPER ? (char)toupper((unsigned char)*p)
                                          : (char)tolower((unsigned char)*p);
    if (f->table != NULL) {
        const icx_map_code *c = icx_mapping_lookup(
            icx_mapping_table(t->m, f->table), v);
        if (c != NULL) {
            r->code[fi] = c;
            free(v);
            if ((v = strdup(c->to)) == NULL)
                return ICX_ENOMEM;
        } else if (tg->type == ICX_MT_CODE) {
            tr_error(t, r, fi, "\"%s\" is not in table %s (profile %s, "
                     "version %s)", v, f->table, t->m->profile,
                     t->m->version);
            free(v);
            return ICX_OK;
        }
    }
    rc = 0;
    switch (tg->type) {
    case ICX_MT_TEXT:
        if (utf8_chars(v) > text_limit(f->tid))
            rc = FAIL("longer than %zu characters",
                          text_limit(f->tid));
        else if (f->tid == ICX_T_CASE_REFERENCE && strpbrk(v, "\r\n"))
            rc = FAIL("a case number is one line");
        break;
    case ICX_MT_DATE: rc = icx_norm_date(out, v, why, sizeof why); break;
    case ICX_MT_DATETIME:
        rc = icx_norm_datetime(out, v, t->m->zone_min, why, sizeof why);
        break;
    case ICX_MT_PREFECTURE: rc = icx_norm_prefecture(out, v, why, sizeof why); break;
    case ICX_MT_COUNTRY: rc = icx_norm_country(out, v, why, sizeof why); break;
    case ICX_MT_IP: rc = icx_norm_ip(out, v, why, sizeof why); break;
    case ICX_MT_PORT: rc = icx_norm_port(out, sizeof out, v, why, sizeof why); break;
    case ICX_MT_EMAIL: rc = icx_norm_email(out, sizeof out, v, why, sizeof why); break;
    case ICX_MT_URL: rc = icx_norm_url(out, sizeof out, v, why, sizeof why); break;
    case ICX_MT_HASH_ALG: rc = icx_norm_hash_alg(out, v, why, sizeof why); break;
    case ICX_MT_HASH: break; /* needs the algorithm: see norm_row */
    case ICX_MT_ROLE:
        if (strcmp(v, "suspect") && strcmp(v, "victim") &&
            strcmp(v, "witness") && strcmp(v, "reporter"))
            rc = FAIL("unknown role (want suspect, "
                          "victim, witness, reporter%s%s)", f->table ?
                          " or a code of table " : "", f->table ? f->table
                          : "");
        break;
    case ICX_MT_STATUS:
        if (strcmp(v, "active") != 0 && !is_removal(v))
            rc = FAIL("unknown status (want active, "
                          "content-removed, appeal-upheld, misclassified or "
                          "expired%s%s)", f->table ? ", or a code of table "
                          : "", f->table ? f->table : "");
        break;
    case ICX_MT_CODE:
        if (!iccs_ok(v))
            rc = FAIL("table %s maps to \"%s\", not an "
                          "ICCS code", f->table, v);
        break;
    }
    if (rc == ICX_ENOMEM) {
        free(v);
        return rc;
    }
    if (rc < 0) {
        const char *shown = raw && *raw ? raw : s;
        if (strstr(why, shown) != NULL)
            tr_error(t, r, fi, "%s", why);
        else
            tr_error(t, r, fi, "\"%s\": %s", shown, why);
        free(v);
        return ICX_OK;
    }
    if (tg->type != ICX_MT_TEXT && tg->type != ICX_MT_HASH &&
        tg->type != ICX_MT_ROLE && tg->type != ICX_MT_STATUS &&
        tg->type != ICX_MT_CODE) {
        free(v);
        if ((v = strdup(out)) == NULL)
            return ICX_ENOMEM;
    }
    r->val[fi] = v;
    return ICX_OK;
}

static void row_free(tr_ctx *t, tr_row *r)
{
    for (size_t f = 0; r->val && f < t->m->nfields; f++)
        free(r->val[f]);
    free(r->val);
    free(r->cl);
    free(r->cc);
    free(r->code);
    memset(r, 0, sizeof *r);
}

/* Normalizes grid row gr into r; a row used before is cleared first (the
 * streaming readers normalize every row into the same one). */
static int norm_row(tr_ctx *t, tr_row *r, const grid *g, size_t gr,
                    const int *colof)
{
    size_t nf = t->m->nfields;
    if (r->val != NULL) {
        for (size_t f = 0; f < nf; f++)
            free(r->val[f]);
        memset(r->val, 0, (nf + 1) * sizeof *r->val);
        memset(r->cl, 0, (nf + 1) * sizeof *r->cl);
        memset(r->cc, 0, (nf + 1) * sizeof *r->cc);
        memset(r->code, 0, (nf + 1) * sizeof *r->code);
        r->bad = 0;
    } else {
        r->val = calloc(nf + 1, sizeof *r->val);
        r->cl = calloc(nf + 1, sizeof *r->cl);
        r->cc = calloc(nf + 1, sizeof *r->cc);
        r->code = calloc(nf + 1, sizeof *r->code);
        if (!r->val || !r->cl || !r->cc || !r->code)
            return ICX_ENOMEM;
    }
    r->line = g->row_line[gr];
    if (t->m->format == ICX_MAP_CSV && t->m->header && g->width &&
        g->row_ncols[gr] != g->width)
        tr_error(t, r, -1, "record has %zu fields, the header %zu",
                 g->row_ncols[gr], g->width);
    for (size_t fi = 0; fi < nf; fi++) {
        const char *raw = NULL;
        if (colof[fi] >= 0 && (size_t)colof[fi] < g->ncols) {
            size_t k = gr * g->ncols + (size_t)colof[fi];
            raw = g->cell[k];
            r->cl[fi] = g->line[k] ? g->line[k] : r->line;
            r->cc[fi] = g->col[k] ? g->col[k] : (unsigned)colof[fi] + 1;
        } else {
            r->cl[fi] = r->line;
        }
        int rc = norm_cell(t, r, (int)fi, raw);
        if (rc < 0)
            return rc;
    }
    int hi = t->fidx[ICX_T_ENTRY_HASH], ai = t->fidx[ICX_T_ENTRY_ALG];
    if (hi >= 0 && r->val[hi] != NULL) {
        char out[1100], why[ICX_NORM_WHY];
        char *raw = r->val[hi];
        r->val[hi] = NULL;
        if (ai >= 0 && r->val[ai] != NULL) {
            if (icx_norm_hash(out, sizeof out, r->val[ai], raw, why,
                              sizeof why) < 0)
                tr_error(t, r, hi, "%s", why);
            else if ((r->val[hi] = strdup(out)) == NULL) {
                free(raw);
                return ICX_ENOMEM;
            }
        }
        free(raw);
    }
    return ICX_OK;
}

/* Binds each profile field to a grid column; -1 when the file lacks it. */
static int bind_columns(tr_ctx *t, const grid *g, int *colof)
{
    for (size_t fi = 0; fi < t->m->nfields; fi++) {
        const icx_map_field *f = &t->m->fields[fi];
        char *want = NULL;
        colof[fi] = -1;
        if (f->column[0] == '#') {
            long n = strtol(f->column + 1, NULL, 10);
            if (n >= 1 && (size_t)n <= g->ncols)
                colof[fi] = (int)n - 1;
        } else if (g->names != NULL) {
            if (icx_norm_nfkc(&want, f->column) == ICX_ENOMEM)
                return ICX_ENOMEM;
            for (size_t k = 0; want && k < g->ncols && colof[fi] < 0; k++)
                if (g->names[k] && strcmp(g->names[k], want) == 0)
                    colof[fi] = (int)k;
            free(want);
        }
        if (colof[fi] < 0 && f->required && g->nrows > 0) {
            icx_buf_printf(t->report, "%s:1:0:%s: column %s is missing (the "
                           "profile requires it)\n", t->display, f->field,
                           f->column);
            t->nerrors++;
        }
    }
    return ICX_OK;
}

/* Decoded text, its CSV records and the grid over them: what a batch of
 * a list file, or a whole case file, holds while its rows are normalized. */
typedef struct sheet {
    char *text;
    icx_csv *csv;
    grid g;
} sheet;

static void sheet_free(sheet *sh)
{
    grid_free(&sh->g);
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
            rc = grid_csv(&sh.g, sh.csv, first && m->header);
            if (first)
                width = sh.g.width;
            sh.g.width = width;
        } else {
            rc = grid_lines(&sh.g, sh.text);
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
        if (first && bind_columns(t, &sh.g, colof) < 0)
            goto oom;
        for (size_t r = 0; r < sh.g.nrows; r++) {
            t->nrows++;
            if ((rc = norm_row(t, &row, &sh.g, r, colof)) < 0)
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
    row_free(t, &row);
    sheet_free(&sh);
    free(buf);
    fclose(f);
    return rc;
}

/* ---- the API ----------------------------------------------------------------- */

static void free_rows(tr_ctx *t)
{
    for (size_t i = 0; t->rows != NULL && i < t->nrows; i++)
        row_free(t, &t->rows[i]);
    free(t->rows);
    t->rows = NULL;
}

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
        if ((rc = grid_yaml(&sh.g, yroot, t)) < 0)
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
            rc = grid_lines(&sh.g, sh.text);
        } else {
            rc = icx_csv_parse(&sh.csv, sh.text, textlen, NULL, err);
            if (rc < 0) {
                icx_buf_printf(t->report, "%s:%s\n", t->display, err->msg);
                rc = icx_err_set(err, rc == ICX_ENOMEM ? rc : ICX_EINVAL,
                                 "%s:%s", t->display, err->msg);
                goto out;
            }
            rc = grid_csv(&sh.g, sh.csv, m->header);
        }
        if (rc < 0)
            goto oom;
    }
    /* The grid of the whole file (case files, YAML). */
    if (!list && (t->rows = calloc(sh.g.nrows + 1, sizeof *t->rows)) == NULL)
        goto oom;
    if (bind_columns(t, &sh.g, colof) < 0)
        goto oom;
    for (size_t r = 0; r < sh.g.nrows; r++) {
        t->nrows++;
        if ((rc = norm_row(t, list ? &row : &t->rows[r], &sh.g, r, colof)) < 0)
            goto oom;
        if (list && (rc = tr_list_add(t, &row, err)) < 0)
            goto out;
    }
    rc = ICX_OK;
    goto out;
oom:
    rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
out:
    row_free(t, &row);
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
