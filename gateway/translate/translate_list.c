/*
 * translate_list.c - list profiles (url-list, hash-list): normalized rows
 * become the pages of a snapshot list:Update, in memory bounded by a
 * constant whatever the size of the list.
 *
 * Rows arrive one at a time (tr_list_add: from the streaming reader of
 * translate.c, or the grid of a YAML file).  A row with an error, without
 * a value, or whose status is a removal reason is counted and dropped;
 * any other becomes a record of a spill (spill.h: sorted runs in an
 * unlinked temporary file), keyed by its canonical entry line (the line of
 * the Digest: "VALUE", or "ALGORITHM:VALUE"), in the order of the rows.
 *
 * tr_list_check reads the merged records once.  For each line the record
 * of the first row stays; later rows are duplicates, collapsed and
 * reported (the reports go through a second spill keyed by row, so they
 * come out in the order of the file).  The entries are counted, the
 * Digest is computed as they pass in sorted order, and the pages are
 * planned: each entry is written as it will stand in its page, and goes
 * on the page while the page stays within page_bytes.  tr_list_write reads
 * the records a second time and writes each page with the writers of
 * lists_xml.c (the same head, entries, tail and Cursor as the pages the
 * lists module serves); each page is validated, a piece of about 1 MiB of
 * entries at a time (check_piece), and handed over before the next is
 * built.  Nothing is handed over before the whole file has been
 * read and checked, so a refused file produces nothing.
 *
 * Entries are in canonical-line order, on one page or many; every page
 * carries the SessionId, Serial, Page and PageCount, the Digest and
 * EntryCount of the whole list, and, when a page follows, a Cursor naming
 * the last entry.
 *
 * Ownership: t->list belongs to the translation; tr_list_free releases it
 * and with it the temporary files.  Threads: the translation's.
 * Failure: ICX_ENOMEM; ICX_EFULL or ICX_EIO from a temporary file (the
 * message names the folder); ICX_EINVAL when an entry fits no page.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists_int.h"
#include "lists_xml.h"
#include "spill.h"
#include "translate_int.h"
#include "util.h"

#define V(r, tid) tr_val(t, (r), (tid))
#define REJECTED_MAX (1u << 20)  /* bytes of the "rejected rows" line */
#define DUPS_BATCH (1u << 20)    /* the duplicate reports' batch */
#define CHECK_BYTES (1u << 20)   /* entries validated at a time */

/* Where a value came from, for --explain: value, category, detected. */
typedef struct ex_at {
    unsigned cl, cc;
    const icx_map_code *code;
} ex_at;
static const int ex_tids[3] = {-1, ICX_T_ENTRY_CATEGORY, ICX_T_ENTRY_DETECTED};

/* A record read back: the key is the line with its NUL; data is the row
 * line, [ex_at x 3 when explaining], flag, category NUL, detected NUL. */
typedef struct entry {
    const char *line;
    size_t len;
    uint64_t seq;
    unsigned row;
    ex_at ex[3];
    const char *cat, *det;   /* NULL when absent */
} entry;

/* Page plan: the same arithmetic for checking and for writing. */
typedef struct plan {
    size_t budget, fixed;    /* page_bytes; head and tail without Cursor */
    size_t used, n;          /* of the page being filled */
    unsigned long pages;
} plan;

struct tr_list {
    icx_spill *rows, *dups;
    int kind;                /* ICX_LIST_URL | ICX_LIST_HASH */
    int explain;
    uint64_t seq;
    size_t entries;
    char digest[65];
    char session[ICX_UUID_LEN + 1];
    char now[ICX_TIME_LEN + 1];
    icx_buf rec, prev, rejected, xml;
    icx_buf piece;           /* a piece of a page, to validate */
    size_t entries_at;       /* where the entries of a page start */
    unsigned prev_row;
    int rejected_more;
    plan pl;                 /* as planned by tr_list_check */
    tr_row fake;             /* the explain view of an entry */
};

static int oom(icx_err *err)
{
    return icx_err_set(err, ICX_ENOMEM, "out of memory");
}

/* ---- taking rows ------------------------------------------------------------ */

int tr_list_open(tr_ctx *t, icx_err *err)
{
    const icx_translate_opts *o = t->o;
    tr_list *l = calloc(1, sizeof *l);
    int rc;
    if (l == NULL)
        return oom(err);
    t->list = l;
    l->kind = t->m->kind == ICX_MAP_URL_LIST ? ICX_LIST_URL : ICX_LIST_HASH;
    l->explain = o->explain != NULL;
    icx_buf_init(&l->rec, 2 * ICX_SPILL_FIELD_MAX);
    icx_buf_init(&l->prev, ICX_SPILL_FIELD_MAX + 1);
    icx_buf_init(&l->rejected, REJECTED_MAX);
    icx_buf_init(&l->xml, 8 * ICX_SPILL_FIELD_MAX);
    icx_buf_init(&l->piece, ICX_TRANSLATE_MAX_PAYLOAD);
    icx_spill_opts so = {.dir = o->tmpdir, .batch_records = o->spill_rows};
    if ((rc = icx_spill_open(&l->rows, &so, err)) < 0)
        return rc;
    so.batch_bytes = DUPS_BATCH;
    if ((rc = icx_spill_open(&l->dups, &so, err)) < 0)
        return rc;
    if (l->explain) {
        size_t nf = t->m->nfields + 1;
        l->fake.cl = calloc(nf, sizeof *l->fake.cl);
        l->fake.cc = calloc(nf, sizeof *l->fake.cc);
        l->fake.code = calloc(nf, sizeof *l->fake.code);
        if (!l->fake.cl || !l->fake.cc || !l->fake.code)
            return oom(err);
    }
    return ICX_OK;
}

void tr_list_free(tr_ctx *t)
{
    tr_list *l = t->list;
    if (l == NULL)
        return;
    icx_spill_free(&l->rows);
    icx_spill_free(&l->dups);
    icx_buf_free(&l->rec);
    icx_buf_free(&l->prev);
    icx_buf_free(&l->rejected);
    icx_buf_free(&l->xml);
    icx_buf_free(&l->piece);
    free(l->fake.cl);
    free(l->fake.cc);
    free(l->fake.code);
    free(l);
    t->list = NULL;
}

static const char *entry_value(const tr_ctx *t, const tr_row *r)
{
    return t->m->kind == ICX_MAP_URL_LIST ? V(r, ICX_T_ENTRY_URL)
                                          : V(r, ICX_T_ENTRY_HASH);
}

/* The rejected rows' line, "3, 4"; past REJECTED_MAX it ends in "...". */
static void rejected_add(tr_list *l, unsigned line)
{
    if (l->rejected_more)
        return;
    if (l->rejected.len + 32 > REJECTED_MAX) {
        icx_buf_puts(&l->rejected, ", ...");
        l->rejected_more = 1;
        return;
    }
    icx_buf_printf(&l->rejected, "%s%u", l->rejected.len ? ", " : "", line);
}

int tr_list_add(tr_ctx *t, const tr_row *r, icx_err *err)
{
    tr_list *l = t->list;
    const char *v = entry_value(t, r), *st = V(r, ICX_T_ENTRY_STATUS);
    const char *alg = l->kind == ICX_LIST_HASH ? V(r, ICX_T_ENTRY_ALG) : NULL;
    const char *cat = V(r, ICX_T_ENTRY_CATEGORY), *det = V(r, ICX_T_ENTRY_DETECTED);
    uint64_t seq = l->seq++;
    if (r->bad) {
        t->nbad++;
        rejected_add(l, r->line);
        return ICX_OK;
    }
    if (v == NULL || (st != NULL && strcmp(st, "active") != 0))
        return ICX_OK; /* left out by status: counted by the caller */
    size_t klen = 0;
    char *key = NULL;
    icx_buf_reset(&l->rec);
    if (alg != NULL)
        icx_buf_printf(&l->rec, "%s:", alg);
    icx_buf_puts(&l->rec, v);
    if (icx_buf_append(&l->rec, "", 1) < 0) /* the key keeps its NUL */
        return icx_err_set(err, ICX_EFULL, "%s:%u: entry too long",
                           t->display, r->line);
    klen = l->rec.len;
    uint32_t row = r->line;
    icx_buf_append(&l->rec, &row, sizeof row);
    if (l->explain) {
        ex_at ex[3];
        for (int i = 0; i < 3; i++) {
            int tid = i > 0 ? ex_tids[i] : l->kind == ICX_LIST_HASH
                                               ? ICX_T_ENTRY_HASH : ICX_T_ENTRY_URL;
            int fi = t->fidx[tid];
            ex[i].cl = fi >= 0 ? r->cl[fi] : 0;
            ex[i].cc = fi >= 0 ? r->cc[fi] : 0;
            ex[i].code = fi >= 0 ? r->code[fi] : NULL;
        }
        icx_buf_append(&l->rec, ex, sizeof ex);
    }
    icx_buf_append(&l->rec, cat ? "c" : "-", 1);
    icx_buf_puts(&l->rec, cat ? cat : "");
    icx_buf_append(&l->rec, "", 1);
    icx_buf_puts(&l->rec, det ? det : "");
    if (icx_buf_append(&l->rec, "", 1) < 0)
        return icx_err_set(err, ICX_EFULL, "%s:%u: entry too long",
                           t->display, r->line);
    key = l->rec.data;
    return icx_spill_add(l->rows, key, klen, seq, key + klen,
                         l->rec.len - klen, err);
}

static void entry_get(const tr_list *l, const icx_spill_rec *rec, entry *e)
{
    const char *p = rec->data;
    uint32_t row;
    memset(e, 0, sizeof *e);
    e->line = rec->key;
    e->len = rec->klen - 1;
    e->seq = rec->seq;
    memcpy(&row, p, sizeof row);
    e->row = row;
    p += sizeof row;
    if (l->explain) {
        memcpy(e->ex, p, sizeof e->ex);
        p += sizeof e->ex;
    }
    int has_cat = *p++ == 'c';
    e->cat = has_cat ? p : NULL;
    p += strlen(p) + 1;
    e->det = *p ? p : NULL;
}

/* ---- reading back in order -------------------------------------------------- */

/* The next record: 1, with *dup set when it has the line of the last entry
 * kept (entry_keep), 0 at the end. */
static int next_entry(tr_list *l, entry *e, int *dup, icx_err *err)
{
    icx_spill_rec rec;
    int rc = icx_spill_next(l->rows, &rec, err);
    if (rc <= 0)
        return rc;
    entry_get(l, &rec, e);
    *dup = l->prev.len == rec.klen &&
           memcmp(l->prev.data, rec.key, rec.klen) == 0;
    return 1;
}

/* e is an entry of the list: later records with its line are duplicates;
 * its line is the Cursor's when its page ends with it. */
static int entry_keep(tr_list *l, const entry *e, icx_err *err)
{
    icx_buf_reset(&l->prev);
    if (icx_buf_append(&l->prev, e->line, e->len + 1) < 0)
        return oom(err);
    l->prev_row = e->row;
    return ICX_OK;
}

/* The entry as it stands in a page, into l->xml; its length, or 0 when
 * it does not fit the buffer. */
static size_t entry_xml(tr_list *l, const entry *e)
{
    icx_buf_reset(&l->xml);
    if (lst_put_entry(&l->xml, l->kind, e->line, e->cat,
                      e->det ? e->det : l->now, NULL) < 0)
        return 0;
    return l->xml.len;
}

/* A fresh plan for this list's pages. */
static void plan_init(plan *p, const tr_list *l, const tr_ctx *t)
{
    icx_buf b;
    size_t pb = t->o->page_bytes;
    icx_buf_init(&b, 64 * 1024);
    /* The largest head and tail a page of this list can have. */
    lst_put_update_head(&b, 1, t->m->list_id, l->kind, l->session, UINT64_MAX,
                        0, (unsigned long)-1, (unsigned long)-1);
    icx_buf_puts(&b, "<Added></Added>");
    lst_put_update_tail(&b, "0000000000000000000000000000000000000000000000"
                        "000000000000000000", UINT64_MAX, NULL);
    memset(p, 0, sizeof *p);
    p->budget = pb == 0 || pb > (size_t)ICX_TRANSLATE_MAX_PAYLOAD
                    ? (size_t)ICX_TRANSLATE_MAX_PAYLOAD : pb;
    p->fixed = b.len + 64; /* <Cursor></Cursor> and a margin */
    p->used = p->fixed;
    p->pages = 1;
    icx_buf_free(&b);
}

/* Adds an entry of `size` bytes whose line has len bytes: 1 when it opens
 * a page after the first, 0 when it goes on the current page, ICX_EINVAL
 * when it fits no page (size 0: too large to write at all).  A page's
 * last entry leaves room for its Cursor. */
static int plan_step(plan *p, size_t size, size_t len)
{
    size_t need = size + lst_cursor_len(len);
    if (size == 0)
        return ICX_EINVAL;
    int opens = 0;
    if (p->n > 0 && p->used + need > p->budget) {
        p->pages++;
        p->used = p->fixed;
        p->n = 0;
        opens = 1;
    }
    if (p->used + need > p->budget)
        return ICX_EINVAL;
    p->used += size;
    p->n++;
    return opens;
}

int tr_list_check(tr_ctx *t, icx_err *err)
{
    tr_list *l = t->list;
    lst_digest *d = lst_digest_new();
    entry e;
    int dup, rc;
    icx_buf msg;
    icx_buf_init(&msg, 64 * 1024);
    if (d == NULL) {
        rc = oom(err);
        goto out;
    }
    if (t->o->session_id)
        snprintf(l->session, sizeof l->session, "%s", t->o->session_id);
    else if ((rc = icx_uuid4(l->session, err)) < 0)
        goto out;
    icx_time_format(l->now, sizeof l->now, t->now);
    plan_init(&l->pl, l, t);
    icx_buf_reset(&l->prev);
    if ((rc = icx_spill_rewind(l->rows, err)) < 0)
        goto out;
    while ((rc = next_entry(l, &e, &dup, err)) == 1) {
        if (dup) {
            unsigned char row[8]; /* big-endian: bytewise order is row order */
            char alg[16];
            for (int i = 0; i < 8; i++)
                row[i] = (unsigned char)(e.seq >> (8 * (7 - i)));
            icx_buf_reset(&msg);
            icx_buf_printf(&msg, "%s:%u: duplicate of row %u (%s), "
                           "collapsed\n", t->display, e.row, l->prev_row,
                           lst_line_value(e.line, l->kind, alg, sizeof alg));
            t->duplicates++;
            if ((rc = icx_spill_add(l->dups, (const char *)row, sizeof row, 0,
                                    msg.data, msg.len, err)) < 0)
                goto out;
            continue;
        }
        if (plan_step(&l->pl, entry_xml(l, &e), e.len) == ICX_EINVAL) {
            icx_buf_printf(t->report, "%s:%u: the entry does not fit in a "
                           "page of %zu bytes\n", t->display, e.row,
                           l->pl.budget);
            rc = icx_err_set(err, ICX_EINVAL, "%s:%u: entry larger than a "
                             "page", t->display, e.row);
            goto out;
        }
        lst_digest_line(d, e.line, e.len);
        l->entries++;
        if ((rc = entry_keep(l, &e, err)) < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    icx_spill_rec rec;
    if ((rc = icx_spill_rewind(l->dups, err)) < 0)
        goto out;
    while ((rc = icx_spill_next(l->dups, &rec, err)) == 1)
        icx_buf_append(t->report, rec.data, rec.dlen);
    if (rc < 0)
        goto out;
    rc = lst_digest_end(d, l->digest);
    d = NULL;
    if (rc < 0)
        rc = icx_err_set(err, rc, "digest: %s", icx_rc_str(rc));
out:
    if (d != NULL) {
        char scrap[65];
        lst_digest_end(d, scrap);
    }
    icx_buf_free(&msg);
    return rc < 0 ? rc : ICX_OK;
}

/* ---- writing ------------------------------------------------------------------ */

static void explain_entry(tr_ctx *t, tr_list *l, const entry *e)
{
    static const char *const paths[3] = {"Added/Entry/Value",
                                         "Added/Entry/Category",
                                         "Added/Entry/DetectedAt"};
    char alg[16];
    if (!l->explain)
        return;
    const char *vals[3] = {lst_line_value(e->line, l->kind, alg, sizeof alg),
                           e->cat, e->det};
    for (int i = 0; i < 3; i++) {
        int tid = i > 0 ? ex_tids[i] : l->kind == ICX_LIST_HASH
                                           ? ICX_T_ENTRY_HASH : ICX_T_ENTRY_URL;
        int fi = t->fidx[tid];
        if (fi >= 0) {
            l->fake.cl[fi] = e->ex[i].cl;
            l->fake.cc[fi] = e->ex[i].cc;
            l->fake.code[fi] = e->ex[i].code;
        }
        if (vals[i] != NULL)
            tr_explain(t, paths[i], vals[i], &l->fake, tid);
        else if (i == 2)
            tr_explain_note(t, paths[i], l->now, "no detection date in the "
                            "file: time of translation");
    }
}

static void page_start(const tr_ctx *t, tr_list *l, icx_buf *b,
                       unsigned long page)
{
    icx_buf_reset(b);
    lst_put_update_head(b, 1, t->m->list_id, l->kind, l->session,
                        t->o->serial ? t->o->serial : 1, 0, page, l->pl.pages);
    icx_buf_puts(b, "<Added>");
    l->entries_at = b->len;
}

/* Validates the entries of page `page` from b->data + from to the end of
 * b as a document of their own: the page's head, those entries, and the
 * page's tail when b holds it already (last), else a tail without a
 * Cursor.  Added is Entry* without identity constraints, so a page whose
 * pieces all validate is valid, and the parsed tree held is that of one
 * piece (CHECK_BYTES), not of the page. */
static int check_piece(tr_ctx *t, tr_list *l, const icx_buf *b, size_t from,
                       int last, unsigned long page, icx_err *err)
{
    if (last && from == l->entries_at) /* the page is one piece */
        return tr_validate(t, b->data, b->len, err);
    page_start(t, l, &l->piece, page);
    icx_buf_append(&l->piece, b->data + from, b->len - from);
    if (!last) {
        icx_buf_puts(&l->piece, "</Added>");
        lst_put_update_tail(&l->piece, l->digest, l->entries, NULL);
    }
    return tr_validate(t, l->piece.data, l->piece.len, err);
}

/* Closes the page in b (n entries, the last one l->prev; those from
 * `from` not validated yet) and hands it over. */
static int page_end(tr_ctx *t, tr_list *l, icx_buf *b, unsigned long page,
                    size_t n, size_t from, icx_err *err)
{
    int rc;
    char cursor[LST_CURSOR_MAX + 1] = "";
    unsigned long pages = l->pl.pages;
    if (page < pages)
        lst_cursor_write(cursor, sizeof cursor, l->session, 0,
                         t->o->serial ? t->o->serial : 1, (unsigned long)n,
                         pages, page + 1, l->prev.data);
    icx_buf_puts(b, "</Added>");
    if (lst_put_update_tail(b, l->digest, l->entries, cursor) < 0)
        return icx_err_set(err, ICX_ERROR, "page %lu of %lu passed %zu bytes "
                           "(a program error; nothing written)", page, pages,
                           b->max);
    if ((rc = check_piece(t, l, b, from, 1, page, err)) < 0)
        return rc;
    return tr_hand_over(t, b, page, pages, err);
}

int tr_list_write(tr_ctx *t, icx_err *err)
{
    tr_list *l = t->list;
    unsigned long page = 1;
    size_t n = 0, from;
    entry e;
    int dup, rc;
    plan pl;
    icx_buf b;
    icx_buf_init(&b, l->pl.budget);
    plan_init(&pl, l, t);
    tr_explain(t, "ListId", t->m->list_id, NULL, -1);
    icx_buf_reset(&l->prev);
    if ((rc = icx_spill_rewind(l->rows, err)) < 0)
        goto out;
    page_start(t, l, &b, page);
    from = b.len;
    while ((rc = next_entry(l, &e, &dup, err)) == 1) {
        if (dup)
            continue;
        if (plan_step(&pl, entry_xml(l, &e), e.len) == 1) {
            if ((rc = page_end(t, l, &b, page, n, from, err)) < 0)
                goto out;
            page_start(t, l, &b, ++page);
            from = b.len;
            n = 0;
        } else if (b.len - from >= CHECK_BYTES) {
            if ((rc = check_piece(t, l, &b, from, 0, page, err)) < 0)
                goto out;
            from = b.len;
        }
        if ((rc = entry_keep(l, &e, err)) < 0)
            goto out;
        if (icx_buf_append(&b, l->xml.data, l->xml.len) < 0) {
            rc = icx_err_set(err, ICX_ERROR, "page %lu passed %zu bytes (a "
                             "program error; nothing written)", page, b.max);
            goto out;
        }
        explain_entry(t, l, &e);
        n++;
    }
    if (rc == 0)
        rc = page_end(t, l, &b, page, n, from, err);
out:
    icx_buf_free(&b);
    return rc;
}

/* ---- results ------------------------------------------------------------------ */

size_t tr_list_entries(const tr_ctx *t)
{
    return t->list ? t->list->entries : 0;
}

unsigned long tr_list_pages(const tr_ctx *t)
{
    return t->list ? t->list->pl.pages : 0;
}

const char *tr_list_rejected(const tr_ctx *t)
{
    const tr_list *l = t->list;
    if (l == NULL || l->rejected.data == NULL)
        return "";
    return l->rejected.data;
}
