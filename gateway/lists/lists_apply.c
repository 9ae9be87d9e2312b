/*
 * lists_apply.c - the subscriber: local copies of the lists pulled from
 * partners, one per (partner, list).
 *
 * A pull (icx_lists_pull_begin) sends the local position (session,
 * serial), or none for a first pull.  Each page that comes back is
 * checked against the transfer in progress before anything is written:
 *   - page 1 of a snapshot starts a transfer into a fresh generation of
 *     rows (the copy in use is untouched until the end);
 *   - page 1 of a delta must start at the local position (same session,
 *     PreviousSerial = local serial); otherwise it is a gap: refused,
 *     recorded, and the pull asks again from the local position;
 *   - page k > 1 must follow page k-1 of the same transfer; a page seen
 *     already is ignored, a skipped page is a gap (refused, asked again);
 *     a page of no current transfer is stale and ignored.
 * Delta entries are staged; after the last page they are merged into the
 * copy, the digest of the whole copy is computed and compared with the
 * page's Digest and EntryCount, all in one transaction: a mismatch rolls
 * the merge back, is recorded, and the pull falls back to a snapshot.  A
 * snapshot that does not match is refused and the copy in use kept.
 * Nothing is ever half applied: every page is one transaction, the copy
 * changes only with a verified last page.
 *
 * Recovery is bounded: more than LST_MAX_RETRIES gaps or mismatches in
 * one pull end it in state error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists_int.h"
#include "lists_xml.h"
#include "util.h"

#define LST_MAX_RETRIES 5

typedef struct subrow {
    int64_t id;
    char kind[8];
    char session[ICX_LISTS_SESSION_LEN + 1];
    int64_t serial, count, gen, next_gen, gc_gen;
    char digest[65];
    int has_t;
    char t_session[ICX_LISTS_SESSION_LEN + 1];
    int64_t t_from, t_to, t_page, t_pages, t_gen;
    int t_snapshot;
    int64_t pull_seq, done_seq, retries;
} subrow;

static int sub_load(subrow *s, icx_listdb *db, const char *partner,
                    const char *list, icx_lists_sub *pub, icx_err *err)
{
    sqlite3_stmt *st = lst_stmt(db, LS_SUB_GET);
    lst_text(st, 1, partner);
    lst_text(st, 2, list);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            return icx_err_set(err, ICX_ENOTFOUND, "no local copy of %s from "
                               "%s (run icx pull %s %s)", list, partner,
                               partner, list);
        return lst_fail(db, rc, "reading a local copy", err);
    }
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(st, 0);
    lst_col(s->kind, sizeof s->kind, st, 1);
    lst_col(s->session, sizeof s->session, st, 2);
    s->serial = sqlite3_column_int64(st, 3);
    lst_col(s->digest, sizeof s->digest, st, 4);
    s->count = sqlite3_column_int64(st, 5);
    s->gen = sqlite3_column_int64(st, 6);
    s->next_gen = sqlite3_column_int64(st, 7);
    s->has_t = sqlite3_column_type(st, 8) != SQLITE_NULL;
    lst_col(s->t_session, sizeof s->t_session, st, 8);
    s->t_from = sqlite3_column_int64(st, 9);
    s->t_to = sqlite3_column_int64(st, 10);
    s->t_snapshot = sqlite3_column_int(st, 11);
    s->t_page = sqlite3_column_int64(st, 12);
    s->t_pages = sqlite3_column_int64(st, 13);
    s->t_gen = sqlite3_column_int64(st, 14);
    s->pull_seq = sqlite3_column_int64(st, 15);
    s->done_seq = sqlite3_column_int64(st, 16);
    s->retries = sqlite3_column_int64(st, 17);
    s->gc_gen = sqlite3_column_int64(st, 26);
    if (pub != NULL) {
        memset(pub, 0, sizeof *pub);
        snprintf(pub->partner, sizeof pub->partner, "%s", partner);
        snprintf(pub->list, sizeof pub->list, "%s", list);
        snprintf(pub->kind, sizeof pub->kind, "%s", s->kind);
        snprintf(pub->session, sizeof pub->session, "%s", s->session);
        pub->serial = (uint64_t)s->serial;
        pub->count = (uint64_t)s->count;
        snprintf(pub->digest, sizeof pub->digest, "%s", s->digest);
        lst_col(pub->state, sizeof pub->state, st, 18);
        lst_col(pub->detail, sizeof pub->detail, st, 19);
        pub->pull_seq = s->pull_seq;
        pub->done_seq = s->done_seq;
        pub->requested_at = sqlite3_column_int64(st, 20);
        pub->last_ok_at = sqlite3_column_int64(st, 21);
        pub->last_page_at = sqlite3_column_int64(st, 22);
        pub->pages = (uint64_t)sqlite3_column_int64(st, 23);
        pub->head_seen = (uint64_t)sqlite3_column_int64(st, 24);
        pub->last_snapshot = sqlite3_column_int(st, 25);
    }
    sqlite3_reset(st);
    return ICX_OK;
}

int icx_lists_sub_get(icx_lists_sub *sub, icx_listdb *db, const char *partner,
                      const char *list, icx_err *err)
{
    subrow s;
    return sub_load(&s, db, partner, list, sub, err);
}

/* UPDATE sub SET <set> WHERE id = ?1, with ?2.. bound from the format:
 * 'i' int64, 's' text (NULL allowed). */
static int sub_set(icx_listdb *db, int64_t id, const char *set,
                   const char *types, ...)
{
    char q[1024];
    sqlite3_stmt *st = NULL;
    icx_err err;
    snprintf(q, sizeof q, "UPDATE sub SET %s WHERE id = ?1", set);
    int rc = sqlite3_prepare_v2(db->db, q, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return lst_fail(db, rc, "updating a local copy", &err);
    sqlite3_bind_int64(st, 1, id);
    va_list ap;
    va_start(ap, types);
    for (int i = 0; types[i]; i++) {
        if (types[i] == 'i')
            sqlite3_bind_int64(st, i + 2, va_arg(ap, int64_t));
        else
            lst_text(st, i + 2, va_arg(ap, const char *));
    }
    va_end(ap);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? ICX_OK
                             : lst_fail(db, rc, "updating a local copy", &err);
}

static int exec_id(icx_listdb *db, const char *q, int64_t id, int64_t gen,
                   icx_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->db, q, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return lst_fail(db, rc, "applying a page", err);
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, gen);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? ICX_OK : lst_fail(db, rc, "applying a page", err);
}

int icx_lists_pull_begin(icx_buf *req, int64_t *seq, icx_listdb *db,
                         const char *partner, const char *list, time_t now,
                         icx_err *err)
{
    subrow s;
    int rc = lst_begin(db, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = lst_stmt(db, LS_SUB_INSERT);
    lst_text(st, 1, partner);
    lst_text(st, 2, list);
    int sq = sqlite3_step(st);
    sqlite3_reset(st);
    if (sq != SQLITE_DONE && sq != SQLITE_CONSTRAINT) {
        rc = lst_fail(db, sq, "creating a local copy", err);
        goto fail;
    }
    if ((rc = sub_load(&s, db, partner, list, NULL, err)) < 0)
        goto fail;
    rc = sub_set(db, s.id, "pull_seq = pull_seq + 1, state = 'pulling',"
                 " detail = NULL, requested_at = ?2, retries = 0,"
                 " t_session = NULL", "i", (int64_t)now);
    if (rc == ICX_OK)
        rc = lst_exec(db, "DELETE FROM sub_stage WHERE sub_id IN (SELECT id"
                      " FROM sub WHERE t_session IS NULL)", "pulling", err);
    if (rc == ICX_OK)
        rc = lst_event(db, "list.pull", list, partner, "session=%s serial=%lld",
                       s.session[0] ? s.session : "-", (long long)s.serial);
    if (rc < 0)
        goto fail;
    *seq = s.pull_seq + 1;
    icx_buf_reset(req);
    lst_put_syncreq(req, list, s.session, (uint64_t)s.serial, NULL);
    return lst_commit(db, err);
fail:
    lst_rollback(db);
    return rc;
}

/* ---- applying a page ------------------------------------------------------ */

enum { STOP_IGNORE = 1, STOP_GAP, STOP_BAD, STOP_UNSOLICITED };

typedef struct apply {
    icx_listdb *db;
    subrow s;
    const char *partner;
    time_t now;
    char why[400];
    int kind;
    int64_t gen;           /* snapshot: generation being filled */
    icx_err *err;
} apply;

static int on_head(void *ctx, const lst_update *u)
{
    apply *a = ctx;
    subrow *s = &a->s;
    int rc = sub_load(s, a->db, a->partner, u->list, NULL, a->err);
    if (rc == ICX_ENOTFOUND)
        return STOP_UNSOLICITED;
    if (rc < 0)
        return rc;
    a->kind = strcmp(u->kind, "hash") == 0 ? ICX_LIST_HASH : ICX_LIST_URL;
    if (u->page < 1 || u->pages < 1 || u->page > u->pages ||
        (!u->snapshot && u->prev > u->serial)) {
        snprintf(a->why, sizeof a->why, "page %lu of %lu, serial %llu after "
                 "%llu: inconsistent", u->page, u->pages,
                 (unsigned long long)u->serial, (unsigned long long)u->prev);
        return STOP_BAD;
    }
    if (s->kind[0] != '\0' && strcmp(s->kind, u->kind) != 0) {
        snprintf(a->why, sizeof a->why, "a %s list where the local copy "
                 "holds %s entries", u->kind, s->kind);
        return STOP_BAD;
    }
    if (u->page == 1) {
        if (!u->snapshot && (strcmp(u->session, s->session) != 0 ||
                             (int64_t)u->prev != s->serial)) {
            snprintf(a->why, sizeof a->why, "delta %llu..%llu of session %s "
                     "does not start at the local serial %lld of session %s",
                     (unsigned long long)u->prev, (unsigned long long)u->serial,
                     u->session, (long long)s->serial,
                     s->session[0] ? s->session : "-");
            return STOP_GAP;
        }
        /* A new transfer replaces any other in progress. */
        s->has_t = 1;
        snprintf(s->t_session, sizeof s->t_session, "%.36s", u->session);
        s->t_from = u->snapshot ? 0 : (int64_t)u->prev;
        s->t_to = (int64_t)u->serial;
        s->t_snapshot = u->snapshot;
        s->t_page = 0;
        s->t_pages = (int64_t)u->pages;
        s->t_gen = u->snapshot ? s->next_gen++ : s->gen;
        rc = exec_id(a->db, "DELETE FROM sub_stage WHERE sub_id = ?1",
                         s->id, 0, a->err);
        if (rc < 0)
            return rc;
    } else {
        int same = s->has_t && strcmp(s->t_session, u->session) == 0 &&
                   s->t_to == (int64_t)u->serial &&
                   s->t_from == (u->snapshot ? 0 : (int64_t)u->prev) &&
                   s->t_snapshot == u->snapshot &&
                   s->t_pages == (int64_t)u->pages;
        if (!same) {
            snprintf(a->why, sizeof a->why, "page %lu of a transfer no longer "
                     "in progress", u->page);
            return STOP_IGNORE;
        }
        if ((int64_t)u->page <= s->t_page) {
            snprintf(a->why, sizeof a->why, "page %lu seen already", u->page);
            return STOP_IGNORE;
        }
        if ((int64_t)u->page != s->t_page + 1) {
            snprintf(a->why, sizeof a->why, "page %lu after page %lld of "
                     "serial %llu: a gap", u->page, (long long)s->t_page,
                     (unsigned long long)u->serial);
            return STOP_GAP;
        }
    }
    if (u->page < u->pages && u->cursor[0] == '\0') {
        snprintf(a->why, sizeof a->why, "page %lu of %lu without a cursor",
                 u->page, u->pages);
        return STOP_BAD;
    }
    a->gen = s->t_gen;
    return 0;
}

static int on_entry(void *ctx, int removed, const char *line,
                    const char *category, const char *detected,
                    const char *reason)
{
    apply *a = ctx;
    sqlite3_stmt *st;
    int rc;
    if (a->s.t_snapshot) {
        if (removed)
            return 0; /* a snapshot has no removals; ignore */
        st = lst_stmt(a->db, LS_SUBE_PUT);
        sqlite3_bind_int64(st, 1, a->s.id);
        sqlite3_bind_int64(st, 2, a->gen);
        lst_text(st, 3, line);
        lst_text(st, 4, category);
        lst_text(st, 5, detected);
    } else {
        st = lst_stmt(a->db, LS_STAGE_PUT);
        sqlite3_bind_int64(st, 1, a->s.id);
        lst_text(st, 2, line);
        lst_text(st, 3, removed ? "-" : "+");
        lst_text(st, 4, reason);
        lst_text(st, 5, category);
        lst_text(st, 6, detected);
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : lst_fail(a->db, rc, "applying a page", a->err);
}

static int clear_transfer(apply *a, const char *state, const char *detail,
                          int done)
{
    int rc = sub_set(a->db, a->s.id, done
                     ? "t_session = NULL, state = ?2, detail = ?3,"
                       " done_seq = pull_seq, next_gen = ?4, last_page_at = ?5"
                     : "t_session = NULL, state = ?2, detail = ?3,"
                       " next_gen = ?4, last_page_at = ?5",
                     "ssii", state, detail, a->s.next_gen, (int64_t)a->now);
    if (rc == ICX_OK)
        rc = exec_id(a->db, "DELETE FROM sub_stage WHERE sub_id = ?1", a->s.id,
                     0, a->err);
    return rc;
}

/* Last page: merge, digest, compare; one transaction (the caller's). */
static int finish(apply *a, const lst_update *u, icx_buf *next,
                  const char *list)
{
    subrow *s = &a->s;
    char digest[65];
    uint64_t count = 0;
    int rc = lst_exec(a->db, "SAVEPOINT finish", "applying", a->err);
    if (rc < 0)
        return rc;
    if (!s->t_snapshot) {
        rc = exec_id(a->db, "INSERT OR REPLACE INTO sub_entry (sub_id, gen,"
                     " line, category, detected) SELECT sub_id, ?2, line,"
                     " category, detected FROM sub_stage WHERE sub_id = ?1 AND"
                     " op = '+'", s->id, s->gen, a->err);
        if (rc == ICX_OK)
            rc = exec_id(a->db, "DELETE FROM sub_entry WHERE sub_id = ?1 AND"
                         " gen = ?2 AND line IN (SELECT line FROM sub_stage"
                         " WHERE sub_id = ?1 AND op = '-')", s->id, s->gen,
                         a->err);
        if (rc < 0)
            return rc;
    }
    int64_t gen = s->t_snapshot ? s->t_gen : s->gen;
    sqlite3_stmt *st = lst_stmt(a->db, LS_SUBE_LINES);
    sqlite3_bind_int64(st, 1, s->id);
    sqlite3_bind_int64(st, 2, gen);
    if ((rc = lst_digest_stmt(a->db, st, digest, &count, a->err)) < 0)
        return rc;
    if (strcmp(digest, u->digest) == 0 && count == u->count) {
        lst_exec(a->db, "RELEASE finish", "applying", a->err);
        char detail[200];
        snprintf(detail, sizeof detail, "%s %lld..%llu, %lu pages, %llu "
                 "entries, digest verified", s->t_snapshot ? "snapshot"
                 : s->t_from == s->t_to ? "up to date" : "delta",
                 (long long)s->t_from, (unsigned long long)u->serial, u->pages,
                 (unsigned long long)count);
        rc = sub_set(a->db, s->id, "session = ?2, serial = ?3, digest = ?4,"
                     " count = ?5, gen = ?6, kind = ?7, t_session = NULL,"
                     " state = 'ok', detail = ?8, done_seq = pull_seq,"
                     " retries = 0, last_ok_at = ?9, last_page_at = ?9,"
                     " last_snapshot = ?10, next_gen = ?11,"
                     " gc_gen = MIN(gc_gen, ?12)",
                     "sisiissiiii", u->session, (int64_t)u->serial, digest,
                     (int64_t)count, gen, u->kind, detail, (int64_t)a->now,
                     (int64_t)s->t_snapshot, s->next_gen, s->gen);
        if (rc == ICX_OK)
            rc = exec_id(a->db, "DELETE FROM sub_stage WHERE sub_id = ?1",
                         s->id, 0, a->err);
        if (rc == ICX_OK)
            rc = lst_event(a->db, "list.applied", list, a->partner,
                           "session=%s serial=%llu from=%lld snapshot=%d "
                           "pages=%lu count=%llu digest=%s", u->session,
                           (unsigned long long)u->serial, (long long)s->t_from,
                           s->t_snapshot, u->pages, (unsigned long long)count,
                           digest);
        /* The publisher learns where a partner is only from its requests:
         * acknowledge the serial just verified (nothing comes back). */
        if (rc == ICX_OK && s->t_from != (int64_t)u->serial) {
            icx_buf_reset(next);
            lst_put_ack(next, list, u->session, u->serial, digest);
        }
        return rc;
    }
    /* Mismatch: undo the merge, keep the copy in use. */
    lst_exec(a->db, "ROLLBACK TO finish", "applying", a->err);
    lst_exec(a->db, "RELEASE finish", "applying", a->err);
    char detail[300];
    snprintf(detail, sizeof detail, "digest mismatch at serial %llu: local "
             "%s (%llu entries), partner %s (%llu entries)%s",
             (unsigned long long)u->serial, digest, (unsigned long long)count,
             u->digest, (unsigned long long)u->count,
             s->t_snapshot ? "; snapshot refused, copy kept"
                           : "; falling back to a snapshot");
    lst_event(a->db, "list.mismatch", list, a->partner, "serial=%llu "
              "snapshot=%d local=%s partner=%s", (unsigned long long)u->serial,
              s->t_snapshot, digest, u->digest);
    int give_up = s->t_snapshot || s->retries >= LST_MAX_RETRIES;
    rc = clear_transfer(a, give_up ? "mismatch" : "pulling", detail, give_up);
    if (rc == ICX_OK && !give_up) {
        rc = sub_set(a->db, s->id, "retries = retries + 1", "");
        icx_buf_reset(next);
        lst_put_syncreq(next, list, NULL, 0, NULL);
    }
    return rc;
}

int icx_lists_apply(icx_buf *next, icx_listdb *db, const char *partner,
                    const char *payload, size_t len, time_t now, icx_err *err)
{
    apply a;
    lst_update u;
    memset(&a, 0, sizeof a);
    a.db = db;
    a.partner = partner;
    a.now = now;
    a.err = err;
    icx_buf_reset(next);
    int rc = lst_begin(db, err);
    if (rc < 0)
        return rc;
    /* One parse: the head callback finds the local copy and decides
     * before any entry is written. */
    rc = lst_parse_update(&u, payload, len, on_head, on_entry, &a, err);
    if (rc == ICX_OK && u.refusal) {
        char detail[300];
        snprintf(detail, sizeof detail, "%.40s: %.250s", u.code, u.detail);
        rc = sub_load(&a.s, db, partner, u.list, NULL, err);
        if (rc == ICX_OK)
            rc = clear_transfer(&a, "refused", detail, 1);
        if (rc == ICX_OK)
            rc = lst_event(db, "list.refused_by_partner", u.list, partner,
                           "code=%s", u.code);
        if (rc == ICX_ENOTFOUND)
            rc = STOP_UNSOLICITED;
        else if (rc < 0)
            goto fail;
        else
            return lst_commit(db, err);
    }
    if (rc == STOP_UNSOLICITED) {
        lst_event(db, "list.unsolicited", u.list, partner, "page=%lu "
                  "serial=%llu", u.page, (unsigned long long)u.serial);
        return lst_commit(db, err);
    }
    if (rc == STOP_IGNORE) {
        rc = lst_event(db, "list.page_ignored", u.list, partner, "serial=%llu "
                       "page=%lu why=\"%s\"", (unsigned long long)u.serial,
                       u.page, a.why);
        if (rc < 0)
            goto fail;
        return lst_commit(db, err);
    }
    if (rc == STOP_GAP || rc == STOP_BAD) {
        int give_up = rc == STOP_BAD || a.s.retries >= LST_MAX_RETRIES;
        char detail[420];
        snprintf(detail, sizeof detail, "%s: %s", rc == STOP_GAP ? "gap refused"
                 : "page refused", a.why);
        lst_event(db, rc == STOP_GAP ? "list.gap" : "list.bad_page", u.list,
                  partner, "serial=%llu page=%lu why=\"%s\"",
                  (unsigned long long)u.serial, u.page, a.why);
        rc = clear_transfer(&a, give_up ? "error" : "gap", detail, give_up);
        if (rc == ICX_OK && !give_up) {
            rc = sub_set(db, a.s.id, "retries = retries + 1", "");
            /* Ask again from what we hold: the partner answers with what
             * follows it (or a snapshot). */
            lst_put_syncreq(next, u.list, a.s.session, (uint64_t)a.s.serial,
                            NULL);
        }
        if (rc < 0)
            goto fail;
        return lst_commit(db, err);
    }
    if (rc < 0)
        goto fail;
    a.s.t_page = (int64_t)u.page;
    rc = sub_set(db, a.s.id, "t_session = ?2, t_from = ?3, t_to = ?4,"
                 " t_snapshot = ?5, t_page = ?6, t_pages = ?7, t_gen = ?8,"
                 " next_gen = ?9, last_page_at = ?10, pages = pages + 1,"
                 " head_seen = MAX(head_seen, ?4)",
                 "siiiiiiii", a.s.t_session, a.s.t_from, a.s.t_to,
                 (int64_t)a.s.t_snapshot, a.s.t_page, a.s.t_pages, a.s.t_gen,
                 a.s.next_gen, (int64_t)now);
    if (rc < 0)
        goto fail;
    if (u.page < u.pages) {
        lst_put_syncreq(next, u.list, a.s.session, (uint64_t)a.s.serial,
                        u.cursor);
    } else if ((rc = finish(&a, &u, next, u.list)) < 0) {
        goto fail;
    }
    return lst_commit(db, err);
fail:
    lst_rollback(db);
    icx_buf_reset(next);
    return rc;
}

/* ---- housekeeping and export ---------------------------------------------- */

int icx_lists_sub_gc(icx_listdb *db, size_t max, int *left, icx_err *err)
{
    sqlite3_stmt *q = NULL, *del = NULL;
    size_t done = 0;
    int rc = ICX_OK;
    *left = 0;
    if (sqlite3_prepare_v2(db->db, "SELECT id, gen, COALESCE(t_gen, -1),"
                           " gc_gen, next_gen, t_session IS NOT NULL FROM sub",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->db, "DELETE FROM sub_entry WHERE sub_id = ?1"
                           " AND gen = ?2 AND line IN (SELECT line FROM"
                           " sub_entry WHERE sub_id = ?1 AND gen = ?2"
                           " LIMIT ?3)", -1, &del, NULL) != SQLITE_OK) {
        rc = lst_fail(db, sqlite3_errcode(db->db), "cleaning up", err);
        goto out;
    }
    while (rc == ICX_OK && done < max && sqlite3_step(q) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0), gen = sqlite3_column_int64(q, 1);
        int64_t tgen = sqlite3_column_int64(q, 2), g = sqlite3_column_int64(q, 3);
        int64_t next = sqlite3_column_int64(q, 4);
        int busy = sqlite3_column_int(q, 5);
        int64_t mark = g;
        for (; g < next && done < max; g++) {
            if (g == gen || (busy && g == tgen))
                continue;
            for (;;) {
                sqlite3_reset(del);
                sqlite3_bind_int64(del, 1, id);
                sqlite3_bind_int64(del, 2, g);
                sqlite3_bind_int64(del, 3, 20000);
                if (sqlite3_step(del) != SQLITE_DONE) {
                    rc = lst_fail(db, sqlite3_errcode(db->db), "cleaning up", err);
                    break;
                }
                int n = sqlite3_changes(db->db);
                done += (size_t)n;
                if (n < 20000 || done >= max)
                    break;
            }
            if (rc < 0 || done >= max)
                break;
        }
        /* Everything below g but the copies in use is clean now. */
        mark = g < gen ? g : gen;
        if (busy && tgen >= 0 && tgen < mark)
            mark = tgen;
        if (g < next)
            *left = 1;
        char upd[120];
        snprintf(upd, sizeof upd, "UPDATE sub SET gc_gen = %lld WHERE id = %lld"
                 " AND gc_gen < %lld", (long long)mark, (long long)id,
                 (long long)mark);
        sqlite3_exec(db->db, upd, NULL, NULL, NULL);
    }
out:
    sqlite3_finalize(q);
    sqlite3_finalize(del);
    return rc;
}

static int csv_field(icx_buf *b, const char *s)
{
    if (s == NULL)
        return ICX_OK;
    if (strpbrk(s, ",\"\r\n") == NULL)
        return icx_buf_puts(b, s);
    icx_buf_puts(b, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            icx_buf_puts(b, "\"");
        icx_buf_append(b, p, 1);
    }
    return icx_buf_puts(b, "\"");
}

int icx_lists_export(icx_listdb *db, const char *partner, const char *list,
                     int csv, int (*write)(void *ctx, const char *s, size_t n),
                     void *ctx, icx_err *err)
{
    sqlite3_stmt *st = NULL;
    int kind = ICX_LIST_URL, rc;
    char q[300];
    if (partner != NULL) {
        subrow s;
        if ((rc = sub_load(&s, db, partner, list, NULL, err)) < 0)
            return rc;
        kind = strcmp(s.kind, "hash") == 0 ? ICX_LIST_HASH : ICX_LIST_URL;
        snprintf(q, sizeof q, "SELECT line, category, detected FROM sub_entry"
                 " WHERE sub_id = %lld AND gen = %lld ORDER BY line",
                 (long long)s.id, (long long)s.gen);
    } else {
        sqlite3_stmt *k = lst_stmt(db, LS_LIST_GET);
        lst_text(k, 1, list);
        if (sqlite3_step(k) != SQLITE_ROW) {
            sqlite3_reset(k);
            return icx_err_set(err, ICX_ENOTFOUND, "list %s has no serial yet",
                               list);
        }
        kind = strcmp((const char *)sqlite3_column_text(k, 0), "hash") == 0
                   ? ICX_LIST_HASH : ICX_LIST_URL;
        sqlite3_reset(k);
        snprintf(q, sizeof q, "SELECT line, category, detected FROM pub_version"
                 " WHERE list_id = ?1 AND removed IS NULL ORDER BY line");
    }
    if (sqlite3_prepare_v2(db->db, q, -1, &st, NULL) != SQLITE_OK)
        return lst_fail(db, sqlite3_errcode(db->db), "exporting", err);
    if (partner == NULL)
        lst_text(st, 1, list);
    icx_buf b;
    icx_buf_init(&b, 1 << 20);
    rc = ICX_OK;
    if (csv)
        icx_buf_puts(&b, "value,algorithm,category,detected_at\r\n");
    int sq;
    while ((sq = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        if (!csv) {
            icx_buf_puts(&b, line);
            icx_buf_puts(&b, "\n");
        } else {
            char alg[16];
            const char *v = lst_line_value(line, kind, alg, sizeof alg);
            csv_field(&b, v);
            icx_buf_puts(&b, ",");
            csv_field(&b, alg);
            icx_buf_puts(&b, ",");
            csv_field(&b, (const char *)sqlite3_column_text(st, 1));
            icx_buf_puts(&b, ",");
            csv_field(&b, (const char *)sqlite3_column_text(st, 2));
            icx_buf_puts(&b, "\r\n");
        }
        if (b.len > (1 << 19)) {
            if (write(ctx, b.data, b.len) < 0) {
                rc = icx_err_set(err, ICX_EIO, "write failed");
                break;
            }
            icx_buf_reset(&b);
        }
    }
    if (rc == ICX_OK && sq != SQLITE_DONE)
        rc = lst_fail(db, sq, "exporting", err);
    if (rc == ICX_OK && b.len > 0 && write(ctx, b.data, b.len) < 0)
        rc = icx_err_set(err, ICX_EIO, "write failed");
    icx_buf_free(&b);
    sqlite3_finalize(st);
    return rc;
}
