/*
 * lists_serve.c - the publisher's answer to a list:SyncRequest: one page.
 *
 * Authorization first: the list must be declared in lists.yaml with the
 * partner in its `allow`, and the partner file's `lists:` must name it;
 * otherwise a Refusal NOT_AUTHORIZED (the same answer whether or not the
 * list exists, so a partner learns nothing about lists it may not pull).
 *
 * Then, inside one read transaction (a consistent view even while an
 * import commits), the transfer:
 *   - a Cursor from an earlier page that still holds (same session, its
 *     serials still kept): the next page of that transfer;
 *   - else the partner's (SessionId, Serial): equal to the head -> one
 *     empty page (Serial = PreviousSerial = head: up to date, with the
 *     digest to check against); same session, serial kept -> the net delta
 *     from it to the head, unless it is larger than the list; anything
 *     else (no position, another session, older than the deltas kept,
 *     ahead of the head) -> a snapshot.
 * Pages are ordered by the canonical line (the order of the digest), a
 * fixed page size per transfer, so PageCount is exact and the cursor
 * carries the last line of the page (hex): a stateless server, resumable
 * pages, and a receiver that writes a snapshot in key order.  The
 * list at serial H is read from the versions (added <= H < removed), so a
 * transfer stays consistent while new serials are imported.
 *
 * Bookkeeping (pub_partner: what the partner holds and asked for) is best
 * effort: when an import holds the write lock, it is skipped rather than
 * stalling the daemon's loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists_int.h"
#include "lists_xml.h"
#include "util.h"

int lst_head_read(lst_head *h, icx_listdb *db, const char *list)
{
    sqlite3_stmt *st = lst_stmt(db, LS_LIST_GET);
    lst_text(st, 1, list);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        lst_col(h->kind, sizeof h->kind, st, 0);
        lst_col(h->session, sizeof h->session, st, 1);
        h->head = sqlite3_column_int64(st, 2);
        h->min_serial = sqlite3_column_int64(st, 3);
        h->max_entry = sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? ICX_OK : rc == SQLITE_DONE ? ICX_ENOTFOUND
                                                        : ICX_ESTORE;
}

int lst_serial_info(icx_listdb *db, const char *list, const char *session,
                    uint64_t serial, uint64_t *count, char digest[65])
{
    sqlite3_stmt *st = lst_stmt(db, LS_SERIAL_GET);
    lst_text(st, 1, list);
    lst_text(st, 2, session);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)serial);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = (uint64_t)sqlite3_column_int64(st, 5);
        lst_col(digest, 65, st, 6);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? ICX_OK : ICX_ENOTFOUND;
}

/* Cursor: SESSION.FROM.TO.PAGESIZE.PAGECOUNT.NEXTPAGE.HEX(LASTLINE), written
 * by lst_cursor_write (lists_xml.c). */
static int cursor_read(lst_transfer *t, const char *c)
{
    unsigned long long from, to;
    int used = 0;
    memset(t, 0, sizeof *t);
    if (strlen(c) > LST_CURSOR_MAX || strlen(c) < ICX_LISTS_SESSION_LEN + 2 ||
        c[ICX_LISTS_SESSION_LEN] != '.')
        return -1;
    memcpy(t->session, c, ICX_LISTS_SESSION_LEN);
    t->session[ICX_LISTS_SESSION_LEN] = '\0';
    const char *p = c + ICX_LISTS_SESSION_LEN + 1;
    if (sscanf(p, "%llu.%llu.%lu.%lu.%lu.%n", &from, &to, &t->psize,
               &t->pages, &t->page, &used) != 5 || used == 0)
        return -1;
    const char *hex = p + used;
    size_t hl = strlen(hex);
    if (hl == 0 || hl % 2 != 0 || hl / 2 > ICX_LISTS_LINE_MAX ||
        icx_unhex((unsigned char *)t->after, hex, hl / 2) < 0)
        return -1;
    t->after[hl / 2] = '\0';
    if (strlen(t->after) != hl / 2)
        return -1;
    t->from = from;
    t->to = to;
    if (t->psize < 1 || t->psize > ICX_LISTS_PAGE_MAX || t->page < 2 ||
        t->page > t->pages || (t->from != 0 && t->from >= t->to))
        return -1;
    return 0;
}

unsigned long lst_page_size(const icx_list_decl *d, const icx_config *cfg,
                            int64_t max_entry)
{
    long budget = cfg->max_message_bytes - 32768;
    long per = max_entry > 200 ? (long)max_entry : 200;
    long n = budget > per ? budget / per : 1;
    if (n > d->page_entries)
        n = d->page_entries;
    return n < 1 ? 1 : (unsigned long)n;
}

static void seen(icx_listdb *db, const char *list, const char *partner,
                 const lst_syncreq *r, const lst_transfer *t, int refused,
                 const char *answer, time_t now)
{
    /* Bookkeeping only: never wait for an import's write lock. */
    sqlite3_busy_timeout(db->db, 0);
    sqlite3_stmt *st = lst_stmt(db, LS_PARTNER_SEEN);
    lst_text(st, 1, list);
    lst_text(st, 2, partner);
    lst_text(st, 3, r->session[0] ? r->session : NULL);
    if (r->has_serial)
        sqlite3_bind_int64(st, 4, (sqlite3_int64)r->serial);
    if (t != NULL) {
        sqlite3_bind_int64(st, 5, (sqlite3_int64)t->to);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)t->page);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)t->pages);
    }
    sqlite3_bind_int(st, 8, refused);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)now);
    lst_text(st, 10, answer);
    sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_busy_timeout(db->db, 10000);
}

static int refuse(icx_buf *out, icx_lists_answer *ans, icx_listdb *db,
                  const char *partner, const lst_syncreq *r, const char *code,
                  const char *detail, time_t now)
{
    icx_buf_reset(out);
    snprintf(ans->list, sizeof ans->list, "%s", r->list);
    ans->refused = 1;
    snprintf(ans->code, sizeof ans->code, "%s", code);
    seen(db, r->list, partner, r, NULL, 1, code, now);
    sqlite3_busy_timeout(db->db, 0);
    lst_event(db, "list.refused", r->list, partner, "code=%s", code);
    sqlite3_busy_timeout(db->db, 10000);
    return lst_put_refusal(out, r->list[0] ? r->list : "unknown", code, detail);
}

/* One entry of a delta: its net change from t->from to t->to. */
static int delta_entry(icx_buf *add, icx_buf *rem, icx_listdb *db, int kind,
                       const char *list, const lst_transfer *t, const char *key,
                       size_t *n, icx_err *err)
{
    sqlite3_stmt *st = lst_stmt(db, LS_KEY_VERSIONS);
    int64_t S = (int64_t)t->from, H = (int64_t)t->to, last_rm = -1;
    int at_s = 0, at_h = 0, rc;
    char line[4300] = "", cat[160] = "", det[48] = "", reason[32] = "";
    int has_cat = 0;
    lst_text(st, 1, list);
    lst_text(st, 2, key);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t a = sqlite3_column_int64(st, 0);
        int gone = sqlite3_column_type(st, 1) != SQLITE_NULL;
        int64_t r = sqlite3_column_int64(st, 1);
        if (a <= S && (!gone || r > S))
            at_s = 1;
        if (line[0] == '\0')
            lst_col(line, sizeof line, st, 3);
        if (a <= H && (!gone || r > H)) {
            at_h = 1;
            lst_col(line, sizeof line, st, 3);
            has_cat = sqlite3_column_type(st, 4) != SQLITE_NULL;
            lst_col(cat, sizeof cat, st, 4);
            lst_col(det, sizeof det, st, 5);
        }
        if (gone && r > S && r <= H && r > last_rm) {
            last_rm = r;
            lst_col(reason, sizeof reason, st, 2);
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return lst_fail(db, rc, "reading a delta", err);
    if (at_h) {
        (*n)++;
        return lst_put_entry(add, kind, line, has_cat ? cat : NULL, det, NULL);
    }
    if (at_s) {
        (*n)++;
        if (!lst_reason_known(reason))
            snprintf(reason, sizeof reason, "content-removed");
        return lst_put_entry(rem, kind, line, NULL, NULL, reason);
    }
    return ICX_OK; /* added and removed again in between: nothing to say */
}

int lst_page_build(icx_buf *out, icx_lists_answer *ans, icx_listdb *db,
                   const char *list, int kind, lst_transfer *t, icx_err *err)
{
    icx_buf add, rem;
    char *last = calloc(1, ICX_LISTS_LINE_MAX + 1);
    size_t n = 0, rows = 0;
    uint64_t count = 0;
    char digest[65] = "", *cursor = calloc(1, LST_CURSOR_MAX + 1);
    int rc = ICX_OK, sq;
    icx_buf_init(&add, out->max);
    icx_buf_init(&rem, out->max);
    if (last == NULL || cursor == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    if (lst_serial_info(db, list, t->session, t->to, &count, digest) < 0) {
        rc = icx_err_set(err, ICX_ENOTFOUND, "serial %llu of %s is gone",
                         (unsigned long long)t->to, list);
        goto out;
    }
    if (t->from == t->to) {
        /* up to date: nothing to send but the position and digest */
    } else if (t->from == 0) {
        sqlite3_stmt *st = lst_stmt(db, LS_SNAP_PAGE);
        lst_text(st, 1, list);
        lst_text(st, 2, t->after);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)t->to);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)t->psize);
        while ((sq = sqlite3_step(st)) == SQLITE_ROW) {
            const char *line = (const char *)sqlite3_column_text(st, 0);
            snprintf(last, ICX_LISTS_LINE_MAX + 1, "%s", line);
            rc = lst_put_entry(&add, kind, line,
                               (const char *)sqlite3_column_text(st, 1),
                               (const char *)sqlite3_column_text(st, 2), NULL);
            n++;
            rows++;
        }
        sqlite3_reset(st);
        if (sq != SQLITE_DONE)
            rc = lst_fail(db, sq, "reading a snapshot page", err);
    } else {
        /* Lines first (the statement is then free for the versions). */
        char **keys = calloc(t->psize + 1, sizeof *keys);
        sqlite3_stmt *st = lst_stmt(db, LS_DELTA_KEYS);
        if (keys == NULL) {
            rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
            goto out;
        }
        lst_text(st, 1, list);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)t->from);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)t->to);
        lst_text(st, 4, t->after);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)t->psize);
        while (rc == ICX_OK && (sq = sqlite3_step(st)) == SQLITE_ROW &&
               rows < t->psize) {
            keys[rows] = strdup((const char *)sqlite3_column_text(st, 0));
            if (keys[rows++] == NULL)
                rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        }
        sqlite3_reset(st);
        if (rc == ICX_OK && sq != SQLITE_DONE && sq != SQLITE_ROW)
            rc = lst_fail(db, sq, "reading a delta page", err);
        for (size_t i = 0; rc == ICX_OK && i < rows; i++)
            rc = delta_entry(&add, &rem, db, kind, list, t, keys[i], &n, err);
        if (rows > 0)
            snprintf(last, ICX_LISTS_LINE_MAX + 1, "%s", keys[rows - 1]);
        for (size_t i = 0; i < rows; i++)
            free(keys[i]);
        free(keys);
    }
    if (rc < 0)
        goto out;
    /* The next page of this transfer starts after the last line sent. */
    snprintf(t->after, sizeof t->after, "%s", last);
    if (t->page < t->pages)
        lst_cursor_write(cursor, LST_CURSOR_MAX + 1, t->session, t->from,
                         t->to, t->psize, t->pages, t->page + 1, last);
    lst_put_update_head(out, t->from == 0, list, kind, t->session, t->to,
                        t->from != 0 ? (int64_t)t->from : -1, t->page,
                        t->pages);
    if (add.len > 0 || t->from == 0) {
        icx_buf_puts(out, "<Added>");
        icx_buf_append(out, add.data, add.len);
        icx_buf_puts(out, "</Added>");
    }
    if (rem.len > 0) {
        icx_buf_puts(out, "<Removed>");
        icx_buf_append(out, rem.data, rem.len);
        icx_buf_puts(out, "</Removed>");
    }
    if (lst_put_update_tail(out, digest, count, cursor) < 0)
        rc = icx_err_set(err, ICX_EFULL, "page of %s larger than %zu bytes",
                         list, out->max);
    ans->snapshot = t->from == 0;
    ans->from = t->from;
    ans->to = t->to;
    ans->page = t->page;
    ans->pages = t->pages;
    ans->entries = n;
out:
    free(last);
    free(cursor);
    icx_buf_free(&add);
    icx_buf_free(&rem);
    return rc;
}

/* A fresh transfer from the partner's position. */
static int plan(lst_transfer *t, icx_listdb *db, const char *list,
                const lst_head *h, const lst_syncreq *r, unsigned long psize,
                icx_err *err)
{
    uint64_t head = (uint64_t)h->head, total = 0;
    char digest[65];
    memset(t, 0, sizeof *t);
    snprintf(t->session, sizeof t->session, "%s", h->session);
    t->to = head;
    t->psize = psize;
    t->page = 1;
    int same = r->has_serial && strcmp(r->session, h->session) == 0;
    if (same && r->serial == head) {
        t->from = head;
        t->pages = 1;
        return ICX_OK;
    }
    if (same && r->serial >= 1 && r->serial < head &&
        (int64_t)r->serial >= h->min_serial) {
        sqlite3_stmt *st = lst_stmt(db, LS_DELTA_COUNT);
        uint64_t changed = 0, count = 0;
        lst_text(st, 1, list);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)r->serial);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)head);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            changed = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
            return lst_fail(db, rc, "counting a delta", err);
        lst_serial_info(db, list, h->session, head, &count, digest);
        if (changed < count || changed < psize) {
            t->from = r->serial;
            total = changed;
            t->pages = total == 0 ? 1 : (unsigned long)((total + psize - 1) / psize);
            return ICX_OK;
        }
    }
    if (lst_serial_info(db, list, h->session, head, &total, digest) < 0)
        return icx_err_set(err, ICX_ENOTFOUND, "head serial of %s missing",
                           list);
    t->from = 0;
    t->pages = total == 0 ? 1 : (unsigned long)((total + psize - 1) / psize);
    return ICX_OK;
}

int icx_lists_serve(icx_buf *out, icx_lists_answer *ans, icx_listdb *db,
                    const icx_lists_conf *conf, const icx_config *cfg,
                    const char *partner, const char *req, size_t len,
                    time_t now, icx_err *err)
{
    lst_syncreq r;
    lst_head h;
    lst_transfer t;
    memset(ans, 0, sizeof *ans);
    icx_buf_reset(out);
    int rc = lst_parse_syncreq(&r, req, len, err);
    if (rc < 0)
        return rc;
    snprintf(ans->list, sizeof ans->list, "%s", r.list);
    const icx_list_decl *d = icx_lists_conf_find(conf, r.list);
    const icx_partner *p = icx_config_partner(cfg, partner);
    if (d == NULL || p == NULL || !icx_strlist_has(&d->allow, partner) ||
        !icx_strlist_has(&p->lists, r.list))
        return refuse(out, ans, db, partner, &r, "NOT_AUTHORIZED",
                      "this list is not available to this partner", now);
    if ((rc = lst_exec(db, "BEGIN", "serving", err)) < 0)
        return rc;
    db->in_tx = 1;
    rc = lst_head_read(&h, db, r.list);
    if (rc == ICX_ENOTFOUND || (rc == ICX_OK && h.head == 0)) {
        lst_rollback(db);
        return refuse(out, ans, db, partner, &r, "NO_DATA",
                      "the list has no serial yet", now);
    }
    if (rc < 0) {
        rc = lst_fail(db, sqlite3_errcode(db->db), "serving", err);
        goto out;
    }
    if (strcmp(h.kind, icx_list_kind_name(d->kind)) != 0) {
        rc = icx_err_set(err, ICX_ECONFIG, "list %s holds %s entries; "
                         "lists.yaml says %s", r.list, h.kind,
                         icx_list_kind_name(d->kind));
        goto out;
    }
    if (r.verified[0] != '\0') {
        /* An acknowledgement: record where the partner is, answer nothing. */
        uint64_t count = 0;
        char digest[65] = "";
        int known = strcmp(r.session, h.session) == 0 &&
                    lst_serial_info(db, r.list, h.session, r.serial, &count,
                                    digest) == ICX_OK && digest[0] != '\0';
        sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
        db->in_tx = 0;
        ans->ack = 1;
        ans->ack_serial = r.serial;
        ans->ack_state = !known ? -1 : strcmp(digest, r.verified) == 0;
        seen(db, r.list, partner, &r, NULL, 0,
             ans->ack_state == 0 ? "verified, digest differs" : "verified",
             now);
        sqlite3_busy_timeout(db->db, 0);
        lst_event(db, ans->ack_state == 0 ? "list.ack_mismatch" : "list.ack",
                  r.list, partner, "session=%s serial=%llu digest=%s "
                  "ours=%s", r.session, (unsigned long long)r.serial,
                  r.verified, known ? digest : "-");
        sqlite3_busy_timeout(db->db, 10000);
        return ICX_OK;
    }
    int resumed = 0;
    if (r.cursor[0] != '\0' && cursor_read(&t, r.cursor) == 0 &&
        strcmp(t.session, h.session) == 0 && t.to <= (uint64_t)h.head &&
        (int64_t)(t.from ? t.from : t.to) >= h.min_serial)
        resumed = 1;
    if (!resumed)
        rc = plan(&t, db, r.list, &h, &r, lst_page_size(d, cfg, h.max_entry), err);
    if (rc == ICX_OK)
        rc = lst_page_build(out, ans, db, r.list, d->kind, &t, err);
out:
    sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
    db->in_tx = 0;
    if (rc < 0)
        return rc;
    char what[64];
    snprintf(what, sizeof what, "%s %llu..%llu page %lu/%lu",
             t.from == 0 ? "snapshot" : t.from == t.to ? "current" : "delta",
             (unsigned long long)t.from, (unsigned long long)t.to, t.page,
             t.pages);
    seen(db, r.list, partner, &r, &t, 0, what, now);
    if (t.page == 1) {
        sqlite3_busy_timeout(db->db, 0);
        lst_event(db, "list.served", r.list, partner, "session=%s from=%llu "
                  "to=%llu snapshot=%d pages=%lu partner_session=%s "
                  "partner_serial=%llu", t.session, (unsigned long long)t.from,
                  (unsigned long long)t.to, t.from == 0, t.pages,
                  r.session[0] ? r.session : "-",
                  (unsigned long long)r.serial);
        sqlite3_busy_timeout(db->db, 10000);
    }
    return ICX_OK;
}
