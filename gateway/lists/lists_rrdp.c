/*
 * lists_rrdp.c - the lists over HTTPS, for partners without ICX, after
 * RPKI RRDP (RFC 8182): a signed notification per list and partner
 * (session, serial, the digest of the whole list, the URIs of the
 * snapshot's pages and of each kept delta's pages with their SHA-256), and
 * the signed pages.  The HTTP server (gateway/web/) calls
 * icx_lists_http_get() with the partner its client certificate maps to and
 * the path; it needs no knowledge of lists.
 *
 * The pages are the pages of the ZeroMQ pull: lst_page_build()
 * (lists_serve.c) makes the list:Update payload from the same transfer
 * (the same page size, order and cursor), and the caller's seal function
 * wraps it in an envelope of category list-update addressed to the
 * partner and signs it, as the broker does for a hook's answer.  The
 * snapshot is the list at the head; the delta of serial S goes from S-1
 * to S, for every S whose delta is still kept (the list's keep_serials);
 * a partner further behind takes the snapshot, as RFC 8182 says.
 *
 * The documents are built when a request finds that the head moved since
 * the partner's notification was made, inside one read transaction of
 * their own connection (an import or reset committing meanwhile does not
 * change what they say), written through a second connection page by
 * page, the notification last, under a flock beside the store so that
 * two processes never sign two copies of one page; then the documents of
 * older positions are deleted.  Delta pages already made are kept and reused: their bytes and
 * ETags do not change.  A partner that fetched the old notification and
 * finds a page gone (404) fetches the notification again.
 *
 * Authorization is the ZeroMQ pull's (the list's `allow` and the partner
 * file's `lists:`) plus the egress limits the broker applies to any
 * envelope (categories_out holds list-update, the list's TLP and handling
 * code within the partner's max_tlp and max_handling).  Whatever is not
 * allowed, does not exist or is not current answers 404.  Every document
 * sent (200) is an audit record with its MessageId and SHA-256, and every
 * refusal of a partner one too, through the caller's audit function; a
 * record that cannot be written sends nothing.
 *
 * Ownership: the handle owns its two store connections; cfg is borrowed.
 * Threads: any; calls on one handle are serialized by its mutex, builds
 * across processes by the lock file.
 * Failure: store and signing errors return ICX_ESTORE/ICX_EAGAIN/...; the
 * partner's next request builds again.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "lists_int.h"
#include "log.h"
#include "util.h"

#define RRDP_NS "urn:icx:rrdp:1"
#define RRDP_PATH_MAX 512
#define RRDP_NOTIFICATION "notification.xml"
#define RRDP_TYPE "application/xml"

struct icx_lists {
    const icx_config *cfg;
    icx_listdb *rd;        /* builds pages inside one read transaction */
    icx_listdb *wr;        /* writes and serves the documents */
    icx_lists_seal_fn seal;
    void *seal_ctx;
    icx_lists_audit_fn audit;
    void *actx;
    pthread_mutex_t mu;    /* one call at a time in this process */
    int lock_fd;           /* flock: one build at a time across processes */
};

int icx_lists_http_open(icx_lists **out, const icx_config *cfg,
                        icx_lists_seal_fn seal, void *seal_ctx,
                        icx_lists_audit_fn audit, void *actx, icx_err *err)
{
    *out = NULL;
    icx_lists *l = calloc(1, sizeof *l);
    char *path = icx_lists_db_path(cfg);
    int rc = ICX_OK;
    if (l != NULL)
        l->lock_fd = -1;
    if (l == NULL || path == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    l->cfg = cfg;
    l->seal = seal;
    l->seal_ctx = seal_ctx;
    l->audit = audit;
    l->actx = actx;
    if ((rc = icx_listdb_open(&l->wr, path, err)) < 0 ||
        (rc = icx_listdb_open(&l->rd, path, err)) < 0)
        goto out;
    /* The writer streams page bodies through: a small page cache (the
     * reader keeps the store's 64 MiB for the list's index). */
    if ((rc = lst_exec(l->wr, "PRAGMA cache_size=-4096", "opening", err)) < 0)
        goto out;
    /* Two processes (the web server, an operator's `icx lists http-get`)
     * must not make the same documents at once: each would sign its own
     * copy of a page, and a notification could name the other's. */
    char lock[4200];
    if ((size_t)snprintf(lock, sizeof lock, "%s.http-lock", path) >=
        sizeof lock) {
        rc = icx_err_set(err, ICX_EINVAL, "lists store path too long");
        goto out;
    }
    l->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (l->lock_fd < 0) {
        rc = icx_err_set(err, ICX_EIO, "%s: %s", lock, strerror(errno));
        goto out;
    }
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        rc = icx_err_set(err, ICX_ENOMEM, "cannot create a mutex");
        goto out;
    }
    *out = l;
    l = NULL;
out:
    if (l != NULL) {
        if (l->lock_fd >= 0)
            close(l->lock_fd);
        icx_listdb_free(&l->rd);
        icx_listdb_free(&l->wr);
        free(l);
    }
    free(path);
    return rc;
}

void icx_lists_http_free(icx_lists **lp)
{
    if (lp == NULL || *lp == NULL)
        return;
    icx_lists *l = *lp;
    icx_listdb_free(&l->rd);
    icx_listdb_free(&l->wr);
    close(l->lock_fd);
    pthread_mutex_destroy(&l->mu);
    free(l);
    *lp = NULL;
}

void icx_http_reply_clear(icx_http_reply *r)
{
    if (r == NULL)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* The broker's egress limits for a list-update to p (broker_policy.c
 * applies the same to every envelope the daemon sends). */
static int egress_ok(const icx_partner *p, const icx_list_decl *d)
{
    int tlp = icx_tlp_from_name(d->tlp), hc = icx_hcode_from_name(d->handling);
    return icx_strlist_has(&p->categories_out, "list-update") && tlp >= 0 &&
           tlp <= p->max_tlp && hc >= 0 && hc <= p->max_hcode;
}

/* ---- the documents ------------------------------------------------------- */

typedef struct build {
    icx_lists *l;
    const icx_list_decl *d;
    const char *partner;
    lst_head h;
    time_t now;
    icx_buf env;           /* one signed document */
    icx_buf note;          /* the notification payload being written */
} build;

static int doc_put(build *b, const char *name, uint64_t serial,
                   const char *kind, unsigned long page, unsigned long pages,
                   const char *etag, const char *message_id, icx_err *err)
{
    icx_listdb *db = b->l->wr;
    sqlite3_stmt *st = NULL;
    int sq = sqlite3_prepare_v2(db->db,
        "INSERT OR REPLACE INTO http_doc (list_id, partner, name, session,"
        " serial, kind, page, pages, etag, message_id, body, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)", -1, &st,
        NULL);
    if (sq == SQLITE_OK) {
        lst_text(st, 1, b->d->id);
        lst_text(st, 2, b->partner);
        lst_text(st, 3, name);
        lst_text(st, 4, b->h.session);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)serial);
        lst_text(st, 6, kind);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)page);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)pages);
        lst_text(st, 9, etag);
        lst_text(st, 10, message_id);
        sqlite3_bind_blob(st, 11, b->env.data, (int)b->env.len,
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 12, (sqlite3_int64)b->now);
        sq = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return sq == SQLITE_DONE ? ICX_OK
                             : lst_fail(db, sq, "storing an HTTPS document",
                                        err);
}

/* Wraps payload in a signed envelope for the partner and stores it under
 * name; sha gets its SHA-256. */
static int seal_put(build *b, const char *payload, size_t len,
                    const char *name, uint64_t serial, const char *kind,
                    unsigned long page, unsigned long pages, char sha[65],
                    icx_err *err)
{
    icx_header h;
    char day[ICX_TIME_LEN + 1];
    memset(&h, 0, sizeof h);
    snprintf(h.recipient, sizeof h.recipient, "%s", b->partner);
    snprintf(h.category, sizeof h.category, "list-update");
    snprintf(h.tlp, sizeof h.tlp, "%s", b->d->tlp);
    snprintf(h.hcode, sizeof h.hcode, "%s", b->d->handling);
    snprintf(h.legal_basis, sizeof h.legal_basis, "%s", b->d->legal_basis);
    icx_time_format(day, sizeof day, b->now + b->d->retain_days * 86400L);
    snprintf(h.retain_until, sizeof h.retain_until, "%.10s", day);
    icx_buf_reset(&b->env);
    int rc = b->l->seal(b->l->seal_ctx, &b->env, &h, payload, len, err);
    if (rc < 0)
        return rc;
    if ((rc = icx_sha256_hex(sha, b->env.data, b->env.len)) < 0)
        return icx_err_set(err, ICX_ENOMEM, "cannot hash a document");
    char etag[67];
    snprintf(etag, sizeof etag, "\"%s\"", sha);
    return doc_put(b, name, serial, kind, page, pages, etag, h.message_id,
                   err);
}

/* All pages of transfer t, each stored and listed in the notification. */
static int put_transfer(build *b, lst_transfer *t, const char *kind,
                        icx_err *err)
{
    icx_buf page;
    icx_lists_answer ans;
    char name[128], sha[65];
    int rc = ICX_OK;
    icx_buf_init(&page, (size_t)b->l->cfg->max_message_bytes + (1u << 20));
    for (t->page = 1; rc == ICX_OK && t->page <= t->pages; t->page++) {
        icx_buf_reset(&page);
        memset(&ans, 0, sizeof ans);
        rc = lst_page_build(&page, &ans, b->l->rd, b->d->id, b->d->kind, t,
                            err);
        snprintf(name, sizeof name, "%s/%llu/%s-%lu.xml", t->session,
                 (unsigned long long)t->to, kind, t->page);
        if (rc == ICX_OK)
            rc = seal_put(b, page.data, page.len, name, t->to, kind, t->page,
                          t->pages, sha, err);
        if (rc == ICX_OK &&
            icx_buf_printf(&b->note, "<Page uri=\"%s\" sha256=\"%s\"/>", name,
                           sha) < 0)
            rc = icx_err_set(err, ICX_EFULL, "the notification of %s has too "
                             "many pages", b->d->id);
    }
    icx_buf_free(&page);
    return rc;
}

/* The delta pages of serial s made earlier, when all are there: listed in
 * the notification again, unchanged.  *have = 1 when reused. */
static int reuse_delta(build *b, uint64_t s, int *have, icx_err *err)
{
    icx_listdb *db = b->l->wr;
    sqlite3_stmt *st = NULL;
    icx_buf part;
    unsigned long seen = 0, pages = 0;
    *have = 0;
    icx_buf_init(&part, b->note.max);
    int sq = sqlite3_prepare_v2(db->db,
        "SELECT name, etag, page, pages FROM http_doc WHERE list_id = ?1"
        " AND partner = ?2 AND session = ?3 AND serial = ?4"
        " AND kind = 'delta' ORDER BY page", -1, &st, NULL);
    if (sq == SQLITE_OK) {
        lst_text(st, 1, b->d->id);
        lst_text(st, 2, b->partner);
        lst_text(st, 3, b->h.session);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)s);
        while ((sq = sqlite3_step(st)) == SQLITE_ROW) {
            const char *etag = (const char *)sqlite3_column_text(st, 1);
            unsigned long page = (unsigned long)sqlite3_column_int64(st, 2);
            pages = (unsigned long)sqlite3_column_int64(st, 3);
            if (page != ++seen || etag == NULL || strlen(etag) != 66)
                break;
            icx_buf_printf(&part, "<Page uri=\"%s\" sha256=\"%.64s\"/>",
                           (const char *)sqlite3_column_text(st, 0), etag + 1);
        }
    }
    sqlite3_finalize(st);
    int rc = ICX_OK;
    if (sq != SQLITE_DONE && sq != SQLITE_ROW)
        rc = lst_fail(db, sq, "reading HTTPS documents", err);
    else if (sq == SQLITE_DONE && seen > 0 && seen == pages) {
        *have = 1;
        if (icx_buf_append(&b->note, part.data, part.len) < 0)
            rc = icx_err_set(err, ICX_EFULL, "the notification of %s has too "
                             "many pages", b->d->id);
    }
    icx_buf_free(&part);
    return rc;
}

static int put_delta(build *b, uint64_t s, unsigned long psize, icx_err *err)
{
    int have = 0, rc;
    icx_buf_printf(&b->note, "<Delta serial=\"%llu\">", (unsigned long long)s);
    if ((rc = reuse_delta(b, s, &have, err)) < 0)
        return rc;
    if (!have) {
        sqlite3_stmt *st = lst_stmt(b->l->rd, LS_DELTA_COUNT);
        uint64_t changed = 0;
        lst_text(st, 1, b->d->id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)(s - 1));
        sqlite3_bind_int64(st, 3, (sqlite3_int64)s);
        int sq = sqlite3_step(st);
        if (sq == SQLITE_ROW)
            changed = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (sq != SQLITE_ROW)
            return lst_fail(b->l->rd, sq, "counting a delta", err);
        lst_transfer t;
        memset(&t, 0, sizeof t);
        snprintf(t.session, sizeof t.session, "%s", b->h.session);
        t.from = s - 1;
        t.to = s;
        t.psize = psize;
        t.pages = changed == 0 ? 1 : (unsigned long)((changed + psize - 1) /
                                                     psize);
        if ((rc = put_transfer(b, &t, "delta", err)) < 0)
            return rc;
    }
    if (icx_buf_puts(&b->note, "</Delta>") < 0)
        return icx_err_set(err, ICX_EFULL, "the notification of %s has too "
                           "many pages", b->d->id);
    return ICX_OK;
}

static int drop_old(build *b, uint64_t first_delta, icx_err *err)
{
    icx_listdb *db = b->l->wr;
    sqlite3_stmt *st = NULL;
    int sq = sqlite3_prepare_v2(db->db,
        "DELETE FROM http_doc WHERE list_id = ?1 AND partner = ?2"
        " AND kind != 'notification' AND (session != ?3"
        " OR (kind = 'snapshot' AND serial != ?4)"
        " OR (kind = 'delta' AND serial < ?5))", -1, &st, NULL);
    if (sq == SQLITE_OK) {
        lst_text(st, 1, b->d->id);
        lst_text(st, 2, b->partner);
        lst_text(st, 3, b->h.session);
        sqlite3_bind_int64(st, 4, b->h.head);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)first_delta);
        sq = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return sq == SQLITE_DONE ? ICX_OK
                             : lst_fail(db, sq, "dropping old HTTPS documents",
                                        err);
}

/* Makes the documents of the head (b->h, read inside the open read
 * transaction of b->l->rd). */
static int publish(build *b, icx_err *err)
{
    const lst_head *h = &b->h;
    uint64_t count = 0, head = (uint64_t)h->head;
    char digest[65], sha[65];
    unsigned long psize = lst_page_size(b->d, b->l->cfg, h->max_entry);
    int rc = lst_serial_info(b->l->rd, b->d->id, h->session, head, &count,
                             digest);
    if (rc < 0)
        return icx_err_set(err, ICX_ENOTFOUND, "head serial of %s missing",
                           b->d->id);
    icx_buf *n = &b->note;
    icx_buf_printf(n, "<Notification xmlns=\"%s\"><ListId>", RRDP_NS);
    icx_buf_put_xml(n, b->d->id);
    icx_buf_printf(n, "</ListId><Kind>%s</Kind><SessionId>%s</SessionId>"
                   "<Serial>%llu</Serial><Digest algorithm=\"sha256\">%s"
                   "</Digest><EntryCount>%llu</EntryCount>"
                   "<Snapshot serial=\"%llu\">",
                   icx_list_kind_name(b->d->kind), h->session,
                   (unsigned long long)head, digest,
                   (unsigned long long)count, (unsigned long long)head);
    lst_transfer t;
    memset(&t, 0, sizeof t);
    snprintf(t.session, sizeof t.session, "%s", h->session);
    t.from = 0;
    t.to = head;
    t.psize = psize;
    t.pages = count == 0 ? 1 : (unsigned long)((count + psize - 1) / psize);
    if ((rc = put_transfer(b, &t, "snapshot", err)) < 0)
        return rc;
    icx_buf_puts(n, "</Snapshot>");
    /* Deltas from every kept serial (ZeroMQ serves a partner at serial
     * >= min_serial a delta, the same here). */
    uint64_t first = (uint64_t)(h->min_serial < 1 ? 1 : h->min_serial) + 1;
    unsigned long ndeltas = 0;
    for (uint64_t s = first; rc == ICX_OK && s <= head; s++, ndeltas++)
        rc = put_delta(b, s, psize, err);
    if (rc < 0)
        return rc;
    if (icx_buf_puts(n, "</Notification>\n") < 0)
        return icx_err_set(err, ICX_EFULL, "the notification of %s has too "
                           "many pages", b->d->id);
    rc = seal_put(b, n->data, n->len, RRDP_NOTIFICATION, head, "notification",
                  1, 1, sha, err);
    if (rc == ICX_OK)
        rc = drop_old(b, first, err);
    if (rc == ICX_OK) {
        icx_log_info("list.http.published", "partner=%s list=%s session=%s "
                     "serial=%llu snapshot_pages=%lu deltas=%lu "
                     "notification=%s", b->partner, b->d->id, h->session,
                     (unsigned long long)head, t.pages, ndeltas, sha);
        lst_event(b->l->wr, "list.http.published", b->d->id, b->partner,
                  "session=%s serial=%llu snapshot_pages=%lu deltas=%lu "
                  "notification=%s", h->session, (unsigned long long)head,
                  t.pages, ndeltas, sha);
    }
    return rc;
}

/* Position of the partner's current notification; 0 when there is none. */
static int notified(icx_lists *l, const char *list, const char *partner,
                    char session[ICX_LISTS_SESSION_LEN + 1], int64_t *serial,
                    icx_err *err)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    session[0] = '\0';
    *serial = 0;
    int sq = sqlite3_prepare_v2(l->wr->db,
        "SELECT session, serial FROM http_doc WHERE list_id = ?1"
        " AND partner = ?2 AND name = ?3", -1, &st, NULL);
    if (sq == SQLITE_OK) {
        lst_text(st, 1, list);
        lst_text(st, 2, partner);
        lst_text(st, 3, RRDP_NOTIFICATION);
        sq = sqlite3_step(st);
        if (sq == SQLITE_ROW) {
            lst_col(session, ICX_LISTS_SESSION_LEN + 1, st, 0);
            *serial = sqlite3_column_int64(st, 1);
            found = 1;
            sq = SQLITE_DONE;
        }
    }
    sqlite3_finalize(st);
    if (sq != SQLITE_DONE)
        return lst_fail(l->wr, sq, "reading HTTPS documents", err);
    return found;
}

/* Reads the head inside a new read transaction of l->rd and whether the
 * partner's notification is of it (*fresh).  The transaction stays open
 * on success (ICX_OK); ICX_ENOTFOUND when the list has no serial. */
static int look(build *b, int *fresh, icx_err *err)
{
    icx_lists *l = b->l;
    char have[ICX_LISTS_SESSION_LEN + 1];
    int64_t have_serial = 0;
    *fresh = 0;
    int rc = lst_exec(l->rd, "BEGIN", "reading the list", err);
    if (rc < 0)
        return rc;
    l->rd->in_tx = 1;
    rc = lst_head_read(&b->h, l->rd, b->d->id);
    if (rc == ICX_OK && b->h.head == 0)
        rc = ICX_ENOTFOUND;
    if (rc < 0 && rc != ICX_ENOTFOUND)
        rc = lst_fail(l->rd, sqlite3_errcode(l->rd->db), "reading the list",
                      err);
    if (rc == ICX_OK && strcmp(b->h.kind, icx_list_kind_name(b->d->kind)) != 0)
        rc = icx_err_set(err, ICX_ECONFIG, "list %s holds %s entries; "
                         "lists.yaml says %s", b->d->id, b->h.kind,
                         icx_list_kind_name(b->d->kind));
    if (rc == ICX_OK)
        rc = notified(l, b->d->id, b->partner, have, &have_serial, err);
    if (rc >= 0) {
        *fresh = rc == 1 && strcmp(have, b->h.session) == 0 &&
                 have_serial == b->h.head;
        return ICX_OK;
    }
    sqlite3_exec(l->rd->db, "COMMIT", NULL, NULL, NULL);
    l->rd->in_tx = 0;
    return rc;
}

static void look_end(icx_lists *l)
{
    sqlite3_exec(l->rd->db, "COMMIT", NULL, NULL, NULL);
    l->rd->in_tx = 0;
}

/* The documents of the head exist for (list, partner) after this, or
 * ICX_ENOTFOUND when the list has no serial. */
static int current(icx_lists *l, const icx_list_decl *d, const char *partner,
                   icx_err *err)
{
    build b;
    int fresh = 0, locked = 0;
    memset(&b, 0, sizeof b);
    b.l = l;
    b.d = d;
    b.partner = partner;
    b.now = time(NULL);
    icx_buf_init(&b.env, (size_t)l->cfg->max_message_bytes + (2u << 20));
    icx_buf_init(&b.note, 16u << 20);
    int rc = look(&b, &fresh, err);
    if (rc < 0 || fresh)
        goto out;
    /* To build: under the lock, and look again (another process may
     * have built them meanwhile). */
    look_end(l);
    if (flock(l->lock_fd, LOCK_EX) != 0) {
        rc = icx_err_set(err, ICX_EIO, "locking the HTTPS documents: %s",
                         strerror(errno));
        goto out;
    }
    locked = 1;
    rc = look(&b, &fresh, err);
    if (rc < 0)
        goto out;
    if (!fresh)
        rc = publish(&b, err);
out:
    if (l->rd->in_tx)
        look_end(l);
    if (locked)
        flock(l->lock_fd, LOCK_UN);
    icx_buf_free(&b.env);
    icx_buf_free(&b.note);
    return rc;
}

/* ---- requests ------------------------------------------------------------ */

/* RFC 9110 13.1.2: "*", or a list of entity tags compared weakly.  A
 * header longer than a client could mean (64 tags) matches nothing. */
static int etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);
    const char *p = inm;
    if (strnlen(inm, 64 * 72 + 1) > 64 * 72)
        return 0;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *e = p;
        while (*e != '\0' && *e != ',' && *e != ' ' && *e != '\t')
            e++;
        if ((size_t)(e - p) == n && memcmp(p, etag, n) == 0)
            return 1;
        p = e;
    }
    return 0;
}

static int serve_doc(icx_lists *l, const char *list, const char *partner,
                     const char *name, const char *inm, icx_http_reply *out,
                     icx_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = ICX_OK;
    char msgid[40] = "";
    int sq = sqlite3_prepare_v2(l->wr->db,
        "SELECT etag, body, message_id FROM http_doc WHERE list_id = ?1"
        " AND partner = ?2 AND name = ?3", -1, &st, NULL);
    if (sq == SQLITE_OK) {
        lst_text(st, 1, list);
        lst_text(st, 2, partner);
        lst_text(st, 3, name);
        sq = sqlite3_step(st);
    }
    if (sq == SQLITE_ROW) {
        lst_col(out->etag, sizeof out->etag, st, 0);
        out->content_type = RRDP_TYPE;
        if (inm != NULL && etag_matches(inm, out->etag)) {
            out->status = 304;
        } else {
            const void *body = sqlite3_column_blob(st, 1);
            int len = sqlite3_column_bytes(st, 1);
            out->body = malloc((size_t)len + 1);
            if (out->body == NULL) {
                rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
            } else {
                if (len > 0)
                    memcpy(out->body, body, (size_t)len);
                out->body[len] = '\0';
                out->len = (size_t)len;
                out->status = 200;
                lst_col(msgid, sizeof msgid, st, 2);
            }
        }
    } else if (sq != SQLITE_DONE) {
        rc = lst_fail(l->wr, sq, "reading HTTPS documents", err);
    }
    sqlite3_finalize(st);
    if (rc == ICX_OK && out->status == 200 && l->audit != NULL) {
        /* Sent: the envelope's MessageId and SHA-256, as the audit log
         * holds for every envelope the gateway sends. */
        char detail[300];
        snprintf(detail, sizeof detail, "list=%s doc=%s sha256=%.64s "
                 "bytes=%zu", list, name, out->etag + 1, out->len);
        if (l->audit(l->actx, "list.http.served", msgid, partner,
                     detail) < 0) {
            free(out->body);
            out->body = NULL;
            out->len = 0;
            rc = icx_err_set(err, ICX_ESTORE, "audit record list.http.served "
                             "not written: nothing sent");
        }
    }
    return rc;
}

int icx_lists_http_get(icx_lists *l, const char *partner, const char *path,
                       const char *if_none_match, icx_http_reply *out,
                       icx_err *err)
{
    char list[72];
    icx_lists_conf *conf = NULL;
    memset(out, 0, sizeof *out);
    out->status = 404;
    out->content_type = "text/plain";
    if (partner == NULL || partner[0] == '\0' || path == NULL)
        return ICX_OK;
    while (*path == '/')
        path++;
    const char *slash = strchr(path, '/');
    if (strlen(path) > RRDP_PATH_MAX || slash == NULL ||
        (size_t)(slash - path) >= sizeof list || slash == path)
        return ICX_OK;
    memcpy(list, path, (size_t)(slash - path));
    list[slash - path] = '\0';
    /* A list id as lists.yaml allows it; anything else names nothing
     * (and never reaches a log line). */
    if (strspn(list, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-") != strlen(list))
        return ICX_OK;
    const char *name = slash + 1;
    pthread_mutex_lock(&l->mu);
    int rc = icx_lists_conf_load_beside(&conf, l->cfg, err);
    if (rc < 0)
        goto out;
    const icx_list_decl *d = icx_lists_conf_find(conf, list);
    const icx_partner *p = icx_config_partner(l->cfg, partner);
    if (p == NULL)
        goto out; /* nobody: no log line for a name no file holds */
    if (d == NULL || !icx_strlist_has(&d->allow, partner) ||
        !icx_strlist_has(&p->lists, list) || !egress_ok(p, d)) {
        icx_log_info("list.http", "partner=%s list=%s status=404 "
                     "reason=not-authorized", partner, list);
        if (l->audit != NULL) {
            char detail[120];
            snprintf(detail, sizeof detail, "list=%s reason=not-authorized",
                     list);
            rc = l->audit(l->actx, "list.http.refused", "", partner, detail);
            if (rc < 0)
                rc = icx_err_set(err, ICX_ESTORE, "audit record "
                                 "list.http.refused not written");
        }
        goto out;
    }
    rc = current(l, d, partner, err);
    if (rc == ICX_ENOTFOUND) {
        rc = ICX_OK;
        goto out;
    }
    if (rc == ICX_OK)
        rc = serve_doc(l, list, partner, name, if_none_match, out, err);
    if (rc == ICX_OK)
        icx_log_info("list.http", "partner=%s list=%s doc=%s status=%d "
                     "bytes=%zu", partner, list,
                     out->status == 404 ? "-" : name, out->status, out->len);
out:
    pthread_mutex_unlock(&l->mu);
    icx_lists_conf_free(&conf);
    if (rc < 0)
        icx_http_reply_clear(out);
    return rc;
}
