/*
 * store_queue.c - the outbox and inbox state machines, the replay cache and
 * receipts of the SQLite store (store.h, docs/STORE.md).
 *
 * Every mutating call here has the same shape: validate, enter the call's
 * transaction (own or the caller's), one statement checked by its result
 * (and sqlite3_changes() for transitions), then the audit record, then
 * leave - which commits, rolls back, or marks the caller's transaction
 * failed (store_sqlite.c).  Reads use the cached statements and reset them.
 *
 * Every read of stored envelope or receipt bytes goes through
 * icx_sq_digest_check: bytes that no longer hash to their recorded SHA-256
 * never leave the store (ICX_ECORRUPT, logged and audited).
 *
 * Ownership and threads as in store_sqlite.c.  Failure: ICX_EINVAL for bad
 * arguments before anything is touched, ICX_ENOTFOUND, ICX_EEXIST,
 * ICX_EFULL, ICX_EAGAIN, ICX_ESTORE, ICX_ECORRUPT.
 */
#include "store_int.h"

#include <stdio.h>
#include <time.h>

#include "log.h"
#include "util.h"

/* ---- outbox ------------------------------------------------------------- */

static int fits(const char *field, size_t n)
{
    return strnlen(field, n) < n;
}

static void bind_opt_text(icx_st *st, int i, const char *v)
{
    if (v == NULL)
        icx_db_bind_null(st, i);
    else
        icx_db_bind_text(st, i, v);
}

static void out_fill(icx_out_row *r, icx_st *st)
{
    r->id = icx_db_col_int64(st, 0);
    col_copy(r->message_id, sizeof r->message_id, st, 1);
    col_copy(r->next_hop, sizeof r->next_hop, st, 2);
    col_copy(r->recipient, sizeof r->recipient, st, 3);
    col_copy(r->sender, sizeof r->sender, st, 4);
    col_copy(r->category, sizeof r->category, st, 5);
    col_copy(r->sha256, sizeof r->sha256, st, 6);
    r->state = icx_sq_state_from(icx_sq_out_names, 5, col_str(st, 7));
    r->attempts = icx_db_col_int(st, 8);
    r->created_at = icx_db_col_int64(st, 9);
    r->next_attempt_at = icx_db_col_int64(st, 10);
    r->updated_at = icx_db_col_int64(st, 11);
    col_copy(r->reason, sizeof r->reason, st, 12);
}

int icx_store_out_insert(icx_store *s, const icx_out_row *row,
                         const void *env, size_t len, const char *event,
                         const char *detail, icx_err *err)
{
    const char *op = "outbox insert";
    icx_st *st = &s->st[ST_OUT_INSERT];
    int own = 0, changed = 0, rc;

    if (row->message_id[0] == '\0' || row->next_hop[0] == '\0' ||
        !fits(row->message_id, sizeof row->message_id) ||
        !fits(row->next_hop, sizeof row->next_hop) ||
        !fits(row->recipient, sizeof row->recipient) ||
        !fits(row->sender, sizeof row->sender) ||
        !fits(row->category, sizeof row->category) ||
        !fits(row->sha256, sizeof row->sha256) ||
        !fits(row->reason, sizeof row->reason) ||
        row->state < ICX_OUT_QUEUED || row->state > ICX_OUT_REFUSED ||
        row->attempts < 0 || env == NULL || len == 0 || len > ENVELOPE_MAX ||
        event == NULL || event[0] == '\0')
        return icx_err_set(err, ICX_EINVAL, "store %s: %s: invalid row, "
                           "envelope or event", s->path, op);
    rc = icx_sq_call_enter(s, &own, op, err);
    if (rc < 0)
        return rc;
    icx_db_bind_text(st, 1, row->message_id);
    icx_db_bind_text(st, 2, row->next_hop);
    icx_db_bind_text(st, 3, row->recipient);
    icx_db_bind_text(st, 4, row->sender);
    icx_db_bind_text(st, 5, row->category);
    icx_db_bind_text(st, 6, row->sha256);
    icx_db_bind_text(st, 7, icx_sq_out_names[row->state]);
    icx_db_bind_int64(st, 8, row->attempts);
    icx_db_bind_int64(st, 9, row->created_at);
    icx_db_bind_int64(st, 10, row->next_attempt_at);
    icx_db_bind_int64(st, 11, (int64_t)time(NULL));
    bind_opt_text(st, 12, row->reason[0] != '\0' ? row->reason : NULL);
    rc = icx_sq_step(s, st);
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, op, err);
        goto out;
    }
    changed = 1;
    icx_st *es = &s->st[ST_OUT_ENV_INSERT];
    icx_db_bind_blob(es, 1, env, len);
    rc = icx_sq_step(s, es);
    done(es);
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, op, err);
        goto out;
    }
    rc = icx_sq_audit_append(s, event, row->message_id, row->next_hop, detail, op,
                      err);
out:
    done(st);
    return icx_sq_call_leave(s, own, rc, changed, op, err);
}

static int out_move(icx_store *s, const char *op, const char *message_id,
                    const char *next_hop, int from, int to, int attempts,
                    int64_t next_attempt_at, const char *reason,
                    const char *event, const char *detail, icx_err *err)
{
    icx_st *st = &s->st[ST_OUT_TRANSITION];
    int own = 0, changed = 0, rc;

    if (message_id == NULL || next_hop == NULL || from < ICX_OUT_QUEUED ||
        from > ICX_OUT_REFUSED || to < ICX_OUT_QUEUED ||
        to > ICX_OUT_REFUSED || attempts < 0 || event == NULL ||
        event[0] == '\0')
        return icx_err_set(err, ICX_EINVAL, "store %s: %s: invalid "
                           "arguments", s->path, op);
    rc = icx_sq_call_enter(s, &own, op, err);
    if (rc < 0)
        return rc;
    icx_db_bind_text(st, 1, icx_sq_out_names[to]);
    icx_db_bind_int64(st, 2, attempts);
    icx_db_bind_int64(st, 3, next_attempt_at);
    icx_db_bind_int64(st, 4, (int64_t)time(NULL));
    bind_opt_text(st, 5, reason);
    icx_db_bind_text(st, 6, message_id);
    icx_db_bind_text(st, 7, next_hop);
    icx_db_bind_text(st, 8, icx_sq_out_names[from]);
    rc = icx_sq_step(s, st);
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, op, err);
        goto out;
    }
    if (icx_db_changes(s) != 1) {
        rc = icx_err_set(err, ICX_ENOTFOUND, "store %s: %s: %s to %s is not "
                         "%s", s->path, op, message_id, next_hop,
                         icx_sq_out_names[from]);
        goto out;
    }
    changed = 1;
    rc = icx_sq_audit_append(s, event, message_id, next_hop, detail, op, err);
out:
    done(st);
    return icx_sq_call_leave(s, own, rc, changed, op, err);
}

int icx_store_out_transition(icx_store *s, const char *message_id,
                             const char *next_hop, int from, int to,
                             int attempts, int64_t next_attempt_at,
                             const char *reason, const char *event,
                             const char *detail, icx_err *err)
{
    return out_move(s, "outbox transition", message_id, next_hop, from, to,
                    attempts, next_attempt_at, reason, event, detail, err);
}

int icx_store_out_reschedule(icx_store *s, const char *message_id,
                             const char *next_hop, int state, int attempts,
                             int64_t next_attempt_at, const char *event,
                             const char *detail, icx_err *err)
{
    return out_move(s, "outbox reschedule", message_id, next_hop, state,
                    state, attempts, next_attempt_at, NULL, event, detail,
                    err);
}

int icx_store_out_due(icx_store *s, int64_t now, const char *hop,
                      icx_out_row *rows, size_t max, size_t *n, icx_err *err)
{
    icx_st *st = &s->st[ST_OUT_DUE];
    int rc = SQLITE_DONE;
    *n = 0;
    icx_db_bind_int64(st, 1, now);
    bind_opt_text(st, 2, hop);
    icx_db_bind_int64(st, 3, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    while (*n < max && (rc = icx_sq_step(s, st)) == SQLITE_ROW)
        out_fill(&rows[(*n)++], st);
    if (*n < max && rc != SQLITE_DONE)
        rc = icx_sq_fail(s, rc, "outbox due scan", err);
    else
        rc = ICX_OK;
    done(st);
    return rc;
}

int icx_store_out_get(icx_store *s, const char *message_id, const char *hop,
                      icx_out_row *row, icx_err *err)
{
    icx_st *st = &s->st[ST_OUT_GET];
    icx_db_bind_text(st, 1, message_id);
    bind_opt_text(st, 2, hop);
    int rc = icx_sq_step(s, st);
    if (rc == SQLITE_ROW) {
        out_fill(row, st);
        rc = ICX_OK;
    } else if (rc == SQLITE_DONE) {
        rc = icx_err_set(err, ICX_ENOTFOUND, "store %s: outbox: no message "
                         "%s to %s", s->path, message_id, hop ? hop : "any hop");
    } else {
        rc = icx_sq_fail(s, rc, "outbox get", err);
    }
    done(st);
    return rc;
}

int icx_store_out_by_sha(icx_store *s, const char *sha256, const char *hop,
                         icx_out_row *row, icx_err *err)
{
    icx_st *st = &s->st[ST_OUT_BY_SHA];
    icx_db_bind_text(st, 1, sha256);
    icx_db_bind_text(st, 2, hop);
    int rc = icx_sq_step(s, st);
    if (rc == SQLITE_ROW) {
        out_fill(row, st);
        rc = ICX_OK;
    } else if (rc == SQLITE_DONE) {
        rc = icx_err_set(err, ICX_ENOTFOUND, "store %s: outbox: no envelope "
                         "with sha256 %s to %s", s->path, sha256, hop);
    } else {
        rc = icx_sq_fail(s, rc, "outbox by digest", err);
    }
    done(st);
    return rc;
}

/* The one check every read of stored bytes passes before the bytes leave
 * the store: they must still hash to the digest recorded with them.  On a
 * mismatch the damage is logged and audited ("store.damaged": which
 * table, message, partner, expected and actual digest) and the caller
 * gets ICX_ECORRUPT, never the bytes.  The record joins the caller's
 * transaction when one is open; if it cannot be written the log line
 * still names the damage. */
int icx_sq_digest_check(icx_store *s, const char *table, const char *mid,
                        const char *partner, const void *p, size_t len,
                        const char *want, icx_err *err)
{
    char got[65], detail[200];
    if (icx_sha256_hex(got, p != NULL ? p : "", len) < 0)
        return icx_err_set(err, ICX_ECRYPTO, "store %s: %s %s: hash failed",
                           s->path, table, mid);
    if (strcmp(got, want) == 0)
        return ICX_OK;
    snprintf(detail, sizeof detail, "table=%s expected_sha256=%s "
             "actual_sha256=%s", table, want, got);
    icx_log_error("store.damaged", "alert=1 store=%s message_id=%s "
                  "partner=%s %s", s->path, mid, partner, detail);
    icx_err aerr;
    int own = 0;
    if (icx_sq_call_enter(s, &own, "damage record", &aerr) == ICX_OK) {
        int arc = icx_sq_audit_append(s, "store.damaged", mid, partner,
                                      detail, "damage record", &aerr);
        if (own)
            arc = icx_sq_call_leave(s, own, arc, 0, "damage record", &aerr);
        if (arc < 0)
            icx_log_error("audit.failed", "event=store.damaged error=\"%s\"",
                          aerr.msg);
    }
    return icx_err_set(err, ICX_ECORRUPT, "store %s: %s %s (partner %s): "
                       "stored bytes damaged: SHA-256 %s, recorded %s; not "
                       "used (docs/STORE.md, \"Damaged envelopes\")",
                       s->path, table, mid, partner, got, want);
}

/* Reads the first row of st (bound by the caller): the bytes (column 0),
 * their recorded digest (1) and partner (2); into out when they match. */
static int blob_out(icx_store *s, icx_st *st, icx_buf *out,
                    const char *op, const char *table, const char *what,
                    icx_err *err)
{
    int rc = icx_sq_step(s, st);
    if (rc == SQLITE_ROW) {
        const void *p = icx_db_col_blob(st, 0);
        size_t len = icx_db_col_bytes(st, 0);
        char want[65], partner[32];
        col_copy(want, sizeof want, st, 1);
        col_copy(partner, sizeof partner, st, 2);
        icx_buf_reset(out);
        rc = icx_sq_digest_check(s, table, what, partner, p, len, want, err);
        if (rc == ICX_OK)
            rc = icx_buf_append(out, p, len);
        if (rc == ICX_ENOMEM || rc == ICX_EFULL)
            rc = icx_err_set(err, rc, "store %s: %s: %zu bytes do not fit "
                             "the buffer", s->path, op, len);
    } else if (rc == SQLITE_DONE) {
        rc = icx_err_set(err, ICX_ENOTFOUND, "store %s: %s: no %s", s->path,
                         op, what);
    } else {
        rc = icx_sq_fail(s, rc, op, err);
    }
    done(st);
    return rc;
}

int icx_store_out_envelope(icx_store *s, const char *message_id,
                           const char *hop, icx_buf *out, icx_err *err)
{
    icx_st *st = &s->st[ST_OUT_ENVELOPE];
    icx_db_bind_text(st, 1, message_id);
    bind_opt_text(st, 2, hop);
    return blob_out(s, st, out, "outbox envelope", "outbox", message_id,
                    err);
}

int icx_store_out_list(icx_store *s, int state, size_t limit, icx_out_fn fn,
                       void *ctx, icx_err *err)
{
    icx_st *st = &s->st[ST_OUT_LIST];
    int rc;
    bind_opt_text(st, 1, state < 0 ? NULL : icx_out_state_name(state));
    icx_db_bind_int64(st, 2, limit == 0 || limit > INT64_MAX ? -1
                                                              : (int64_t)limit);
    while ((rc = icx_sq_step(s, st)) == SQLITE_ROW) {
        icx_out_row r;
        out_fill(&r, st);
        rc = fn(ctx, &r);
        if (rc != 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, rc, "outbox list", err);
out:
    done(st);
    return rc;
}

int icx_store_out_wake(icx_store *s, const char *hop, int64_t now,
                       icx_err *err)
{
    const char *op = "outbox wake";
    icx_st *st = &s->st[ST_OUT_WAKE];
    int own = 0, rc = icx_sq_call_enter(s, &own, op, err);
    if (rc < 0)
        return rc;
    icx_db_bind_int64(st, 1, now);
    bind_opt_text(st, 2, hop);
    rc = icx_sq_step(s, st);
    rc = rc == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, rc, op, err);
    done(st);
    return icx_sq_call_leave(s, own, rc, rc == ICX_OK, op, err);
}

int icx_store_out_depths(icx_store *s, icx_depth_fn fn, void *ctx,
                         icx_err *err)
{
    icx_st *st = &s->st[ST_OUT_DEPTHS];
    int rc;
    while ((rc = icx_sq_step(s, st)) == SQLITE_ROW) {
        rc = fn(ctx, col_str(st, 0), icx_db_col_int64(st, 1));
        if (rc != 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, rc, "outbox depths", err);
out:
    done(st);
    return rc;
}

int icx_store_counts(icx_store *s, int kind, icx_count_fn fn, void *ctx,
                     icx_err *err)
{
    static const int which[] = {ST_COUNT_OUT, ST_COUNT_IN, ST_COUNT_RECEIPTS,
                                ST_COUNT_CP};
    if (kind < 0 || kind > ICX_COUNT_CHECKPOINTS)
        return icx_err_set(err, ICX_EINVAL, "store counts: kind %d", kind);
    icx_st *st = &s->st[which[kind]];
    int rc;
    while ((rc = icx_sq_step(s, st)) == SQLITE_ROW) {
        rc = fn(ctx, col_str(st, 0), col_str(st, 1), col_str(st, 2),
                icx_db_col_int64(st, 3), icx_db_col_int64(st, 4));
        if (rc != 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, rc, "counts", err);
out:
    done(st);
    return rc;
}

int icx_store_out_oldest(icx_store *s, icx_out_row *row, icx_err *err)
{
    icx_st *st = &s->st[ST_OUT_OLDEST];
    int rc = icx_sq_step(s, st);
    if (rc == SQLITE_ROW) {
        out_fill(row, st);
        rc = ICX_OK;
    } else if (rc == SQLITE_DONE) {
        rc = icx_err_set(err, ICX_ENOTFOUND, "store %s: outbox: nothing "
                         "undelivered", s->path);
    } else {
        rc = icx_sq_fail(s, rc, "outbox oldest", err);
    }
    done(st);
    return rc;
}

/* ---- inbox and the replay cache ----------------------------------------- */

static void in_fill(icx_in_row *r, icx_st *st)
{
    r->id = icx_db_col_int64(st, 0);
    col_copy(r->sender, sizeof r->sender, st, 1);
    col_copy(r->message_id, sizeof r->message_id, st, 2);
    col_copy(r->recipient, sizeof r->recipient, st, 3);
    col_copy(r->category, sizeof r->category, st, 4);
    col_copy(r->peer, sizeof r->peer, st, 5);
    col_copy(r->sha256, sizeof r->sha256, st, 6);
    r->state = icx_sq_state_from(icx_sq_in_names, 3, col_str(st, 7));
    col_copy(r->reason, sizeof r->reason, st, 8);
    r->received_at = icx_db_col_int64(st, 9);
}

static void bind_opt_blob(icx_st *st, int i, const void *p, size_t len)
{
    if (p == NULL)
        icx_db_bind_null(st, i);
    else if (len == 0)
        icx_db_bind_blob(st, i, "", 0);
    else
        icx_db_bind_blob(st, i, p, len);
}

int icx_store_in_insert(icx_store *s, const icx_in_row *row, const void *env,
                        size_t len, const void *receipt, size_t rlen,
                        const char *event, const char *detail, icx_err *err)
{
    const char *op = "inbox insert";
    icx_st *st = &s->st[ST_IN_INSERT];
    int own = 0, changed = 0, rc;

    if (row->sender[0] == '\0' || row->message_id[0] == '\0' ||
        !fits(row->sender, sizeof row->sender) ||
        !fits(row->message_id, sizeof row->message_id) ||
        !fits(row->recipient, sizeof row->recipient) ||
        !fits(row->category, sizeof row->category) ||
        !fits(row->peer, sizeof row->peer) ||
        !fits(row->sha256, sizeof row->sha256) ||
        !fits(row->reason, sizeof row->reason) ||
        row->state < ICX_IN_RECEIVED || row->state > ICX_IN_REJECTED ||
        env == NULL || len == 0 || len > ENVELOPE_MAX ||
        rlen > ENVELOPE_MAX || event == NULL || event[0] == '\0')
        return icx_err_set(err, ICX_EINVAL, "store %s: %s: invalid row, "
                           "envelope or event", s->path, op);
    rc = icx_sq_call_enter(s, &own, op, err);
    if (rc < 0)
        return rc;
    icx_db_bind_text(st, 1, row->sender);
    icx_db_bind_text(st, 2, row->message_id);
    icx_db_bind_text(st, 3, row->recipient);
    icx_db_bind_text(st, 4, row->category);
    icx_db_bind_text(st, 5, row->peer);
    icx_db_bind_text(st, 6, row->sha256);
    icx_db_bind_text(st, 7, icx_sq_in_names[row->state]);
    icx_db_bind_text(st, 8, row->reason);
    icx_db_bind_int64(st, 9, row->received_at);
    icx_db_bind_blob(st, 10, env, len);
    bind_opt_blob(st, 11, receipt, rlen);
    rc = icx_sq_step(s, st);
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, op, err);
        goto out;
    }
    changed = 1;
    rc = icx_sq_audit_append(s, event, row->message_id, row->sender, detail, op,
                      err);
out:
    done(st);
    return icx_sq_call_leave(s, own, rc, changed, op, err);
}

int icx_store_in_lookup(icx_store *s, const char *sender,
                        const char *message_id, icx_in_row *row,
                        icx_buf *receipt, icx_err *err)
{
    icx_st *st = &s->st[ST_IN_LOOKUP];
    icx_db_bind_text(st, 1, sender);
    icx_db_bind_text(st, 2, message_id);
    int rc = icx_sq_step(s, st);
    if (rc == SQLITE_ROW) {
        in_fill(row, st);
        rc = ICX_OK;
        if (receipt != NULL) {
            size_t len = icx_db_col_bytes(st, 10);
            icx_buf_reset(receipt);
            rc = icx_buf_append(receipt, icx_db_col_blob(st, 10), len);
            if (rc < 0)
                rc = icx_err_set(err, rc, "store %s: inbox lookup: receipt "
                                 "of %zu bytes does not fit the buffer",
                                 s->path, len);
        }
    } else if (rc == SQLITE_DONE) {
        rc = icx_err_set(err, ICX_ENOTFOUND, "store %s: inbox: %s from %s "
                         "is not in the replay cache", s->path, message_id,
                         sender);
    } else {
        rc = icx_sq_fail(s, rc, "inbox lookup", err);
    }
    done(st);
    return rc;
}

int icx_store_in_set_receipt(icx_store *s, const char *sender,
                             const char *message_id, const void *receipt,
                             size_t rlen, icx_err *err)
{
    const char *op = "inbox set receipt";
    icx_st *st = &s->st[ST_IN_SET_RECEIPT];
    char detail[80] = "receipt=none";
    int own = 0, changed = 0, rc;

    if (sender == NULL || message_id == NULL || rlen > ENVELOPE_MAX)
        return icx_err_set(err, ICX_EINVAL, "store %s: %s: invalid "
                           "arguments", s->path, op);
    if (receipt != NULL) {
        char h[65];
        if (icx_sha256_hex(h, receipt, rlen) < 0)
            return icx_err_set(err, ICX_ECRYPTO, "store %s: %s: hash failed",
                               s->path, op);
        snprintf(detail, sizeof detail, "receipt_sha256=%s", h);
    }
    rc = icx_sq_call_enter(s, &own, op, err);
    if (rc < 0)
        return rc;
    icx_db_bind_text(st, 1, sender);
    icx_db_bind_text(st, 2, message_id);
    bind_opt_blob(st, 3, receipt, rlen);
    rc = icx_sq_step(s, st);
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, op, err);
        goto out;
    }
    if (icx_db_changes(s) != 1) {
        rc = icx_err_set(err, ICX_ENOTFOUND, "store %s: %s: no %s from %s",
                         s->path, op, message_id, sender);
        goto out;
    }
    changed = 1;
    rc = icx_sq_audit_append(s, "inbound.receipt_stored", message_id, sender,
                      detail, op, err);
out:
    done(st);
    return icx_sq_call_leave(s, own, rc, changed, op, err);
}

int icx_store_in_envelope(icx_store *s, const char *sender,
                          const char *message_id, icx_buf *out, icx_err *err)
{
    icx_st *st = &s->st[ST_IN_ENVELOPE];
    icx_db_bind_text(st, 1, sender);
    icx_db_bind_text(st, 2, message_id);
    return blob_out(s, st, out, "inbox envelope", "inbox", message_id, err);
}

int icx_store_in_list(icx_store *s, int state, size_t limit, icx_in_fn fn,
                      void *ctx, icx_err *err)
{
    icx_st *st = &s->st[ST_IN_LIST];
    int rc;
    bind_opt_text(st, 1, state < 0 ? NULL : icx_in_state_name(state));
    icx_db_bind_int64(st, 2, limit == 0 || limit > INT64_MAX ? -1
                                                              : (int64_t)limit);
    while ((rc = icx_sq_step(s, st)) == SQLITE_ROW) {
        icx_in_row r;
        in_fill(&r, st);
        rc = fn(ctx, &r);
        if (rc != 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, rc, "inbox list", err);
out:
    done(st);
    return rc;
}

int icx_store_in_expire(icx_store *s, int64_t before, icx_err *err)
{
    const char *op = "replay expire";
    icx_st *st = &s->st[ST_IN_EXPIRE];
    int own = 0, changed = 0, rc = icx_sq_call_enter(s, &own, op, err);
    if (rc < 0)
        return rc;
    icx_db_bind_int64(st, 1, before);
    rc = icx_sq_step(s, st);
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, op, err);
        goto out;
    }
    rc = ICX_OK;
    int released = icx_db_changes(s);
    if (released > 0) {
        char detail[96];
        changed = 1;
        snprintf(detail, sizeof detail, "before=%lld released=%d",
                 (long long)before, released);
        rc = icx_sq_audit_append(s, "replay.expired", NULL, NULL, detail, op, err);
    }
out:
    done(st);
    return icx_sq_call_leave(s, own, rc, changed, op, err);
}

/* ---- receipts ----------------------------------------------------------- */

int icx_store_receipt_insert(icx_store *s, const icx_receipt_row *row,
                             const void *env, size_t len, icx_err *err)
{
    const char *op = "receipt insert";
    icx_st *st = &s->st[ST_RECEIPT_INSERT];
    char h[65], detail[160];
    int own = 0, changed = 0, rc;

    if (row->message_id[0] == '\0' || row->issuer[0] == '\0' ||
        !fits(row->message_id, sizeof row->message_id) ||
        !fits(row->issuer, sizeof row->issuer) ||
        !fits(row->reason, sizeof row->reason) || env == NULL || len == 0 ||
        len > ENVELOPE_MAX)
        return icx_err_set(err, ICX_EINVAL, "store %s: %s: invalid row or "
                           "envelope", s->path, op);
    if (icx_sha256_hex(h, env, len) < 0)
        return icx_err_set(err, ICX_ECRYPTO, "store %s: %s: hash failed",
                           s->path, op);
    snprintf(detail, sizeof detail, "positive=%d hop=%d%s%s sha256=%s",
             row->positive != 0, row->hop != 0,
             row->positive ? "" : " reason=", row->positive ? "" : row->reason,
             h);
    rc = icx_sq_call_enter(s, &own, op, err);
    if (rc < 0)
        return rc;
    icx_db_bind_text(st, 1, row->message_id);
    icx_db_bind_text(st, 2, row->issuer);
    icx_db_bind_int64(st, 3, row->positive != 0);
    icx_db_bind_text(st, 4, row->reason);
    icx_db_bind_int64(st, 5, row->hop != 0);
    icx_db_bind_int64(st, 6, row->received_at);
    icx_db_bind_text(st, 7, h);
    icx_db_bind_blob(st, 8, env, len);
    rc = icx_sq_step(s, st);
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, op, err);
        goto out;
    }
    changed = 1;
    rc = icx_sq_audit_append(s, "receipt.stored", row->message_id, row->issuer,
                      detail, op, err);
out:
    done(st);
    return icx_sq_call_leave(s, own, rc, changed, op, err);
}

int icx_store_receipts(icx_store *s, const char *message_id,
                       icx_receipt_fn fn, void *ctx, icx_err *err)
{
    icx_st *st = &s->st[ST_RECEIPTS];
    int rc;
    icx_db_bind_text(st, 1, message_id);
    while ((rc = icx_sq_step(s, st)) == SQLITE_ROW) {
        icx_receipt_row r;
        col_copy(r.message_id, sizeof r.message_id, st, 0);
        col_copy(r.issuer, sizeof r.issuer, st, 1);
        r.positive = icx_db_col_int(st, 2);
        col_copy(r.reason, sizeof r.reason, st, 3);
        r.hop = icx_db_col_int(st, 4);
        r.received_at = icx_db_col_int64(st, 5);
        const void *p = icx_db_col_blob(st, 6);
        size_t len = icx_db_col_bytes(st, 6);
        char want[65];
        col_copy(want, sizeof want, st, 7);
        rc = icx_sq_digest_check(s, "receipts", r.message_id, r.issuer, p,
                                 len, want, err);
        if (rc < 0)
            goto out;
        rc = fn(ctx, &r, p, len);
        if (rc != 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, rc, "receipts", err);
out:
    done(st);
    return rc;
}
