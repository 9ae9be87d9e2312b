/*
 * translate_rows.c - cells of a domestic file into normalized rows.
 *
 * The reader (translate.c) turns input into a grid: CSV records (the
 * header names the columns), URL lines (one column, "#1"), or YAML records
 * (a `records:` list of mappings, read with conftab so each cell keeps its
 * line and column).  Each profile field is bound to a column once
 * (tr_bind_columns); then every cell of a row runs through NFKC (unless
 * the field says not, and never for URLs), case folding, the field's code
 * table and its type's normalizer (tr_norm_row).  A problem marks the row
 * bad and adds `file:row:col:field: rule` to the report; reading goes on,
 * so one run reports everything.
 *
 * Calls translate_report.c (tr_error) and nothing else of translate/.
 * Ownership: a grid points into the text, CSV records or YAML tree it was
 * built from, which must outlive it; tr_grid_free frees only the grid's
 * arrays; a row's values belong to the row (tr_row_free).  Threads: the
 * translation's.  Failure: ICX_ENOMEM; bad cells are reported, not failed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "translate_int.h"
#include "util.h"

#define FAIL(...) (snprintf(why, sizeof why, __VA_ARGS__), -1)

/* ---- the grid ------------------------------------------------------------ */

void tr_grid_free(tr_grid *g)
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

static int grid_alloc(tr_grid *g, size_t nrows, size_t ncols)
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

int tr_grid_csv(tr_grid *g, const icx_csv *c, int header)
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
int tr_grid_lines(tr_grid *g, char *text)
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
int tr_grid_yaml(tr_grid *g, const icx_conftab_node *root, tr_ctx *t)
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
    case ICX_MT_HASH: break; /* needs the algorithm: see tr_norm_row */
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

void tr_row_free(tr_ctx *t, tr_row *r)
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
int tr_norm_row(tr_ctx *t, tr_row *r, const tr_grid *g, size_t gr,
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
int tr_bind_columns(tr_ctx *t, const tr_grid *g, int *colof)
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
