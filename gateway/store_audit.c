/*
 * store_audit.c - the audit hash chain of the SQLite store (store.h,
 * docs/STORE.md): append, verify, a message's timeline.
 *
 * A record's stored fields are its canonical fields ('|', control
 * characters and DEL become '_'; long fields are cut on a UTF-8 boundary);
 * hash = SHA-256 hex of prev_hash "\n" seq|ts|event|message_id|partner|detail.
 * The tail (last seq and hash) lives in the store struct; the transaction
 * code in store_sqlite.c saves and restores it.
 *
 * Ownership and threads as in store_sqlite.c.  Failure: an append fails
 * like any statement (the caller's transaction then does not commit);
 * verify returns ICX_EBADSIG naming the first bad record.
 */
#include "store_int.h"

#include <stdio.h>
#include <time.h>

#include "util.h"

/* Reads the chain tail from the table (at open, or after another
 * connection committed). */
int icx_sq_chain_load(icx_store *s, const char *op, icx_err *err)
{
    sqlite3_stmt *st = s->st[ST_AUDIT_TAIL];
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *h = sqlite3_column_text(st, 1);
        s->last_seq = sqlite3_column_int64(st, 0);
        snprintf(s->last_hash, sizeof s->last_hash, "%s",
                 h != NULL ? (const char *)h : "");
        rc = ICX_OK;
    } else if (rc == SQLITE_DONE) {
        s->last_seq = 0;
        memcpy(s->last_hash, ZERO_HASH, sizeof s->last_hash);
        rc = ICX_OK;
    } else {
        rc = icx_sq_fail(s, rc, op, err);
    }
    done(st);
    return rc;
}

/* Copies src into dst the way it is stored and hashed: cut to n-1 bytes on
 * a UTF-8 boundary; '|', control characters and DEL become '_'. */
static void audit_field(char *dst, size_t n, const char *src)
{
    size_t len = src != NULL ? strlen(src) : 0;
    if (len > n - 1) {
        len = n - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c == '|' || c < 0x20 || c == 0x7f) ? '_' : (char)c;
    }
    dst[len] = '\0';
}

static void now_ms(char *out, size_t outlen)
{
    struct timespec ts;
    struct tm tm;
    char base[24];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    int ms = (int)(ts.tv_nsec / 1000000L) % 1000;
    snprintf(out, outlen, "%.19s.%03dZ", base, ms);
}

/* Appends one record inside the current transaction. */
int icx_sq_audit_append(icx_store *s, const char *event, const char *mid,
                        const char *partner, const char *detail,
                        const char *op, icx_err *err)
{
    icx_audit_row r;
    char line[512], input[640], prev[65];
    sqlite3_stmt *st = s->st[ST_AUDIT_INSERT];
    int rc;

    r.seq = s->last_seq + 1;
    now_ms(r.ts, sizeof r.ts);
    audit_field(r.event, sizeof r.event, event);
    audit_field(r.message_id, sizeof r.message_id, mid);
    audit_field(r.partner, sizeof r.partner, partner);
    audit_field(r.detail, sizeof r.detail, detail);
    memcpy(prev, s->last_hash, sizeof prev);
    snprintf(line, sizeof line, "%lld|%s|%s|%s|%s|%s", (long long)r.seq, r.ts,
             r.event, r.message_id, r.partner, r.detail);
    int n = snprintf(input, sizeof input, "%s\n%s", prev, line);
    if (icx_sha256_hex(r.hash, input, (size_t)n) < 0) {
        rc = icx_err_set(err, ICX_ECRYPTO, "store %s: %s: audit hash failed",
                         s->path, op);
        goto out;
    }
    sqlite3_bind_int64(st, 1, r.seq);
    sqlite3_bind_text(st, 2, r.ts, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r.event, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r.message_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r.partner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r.detail, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, r.hash, -1, SQLITE_STATIC);
    rc = icx_sq_step(s, st);
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, op, err);
        goto out;
    }
    rc = ICX_OK;
    s->last_seq = r.seq;
    memcpy(s->last_hash, r.hash, sizeof s->last_hash);
out:
    done(st);
    return rc;
}

int icx_store_audit(icx_store *s, const icx_audit_event *ev, icx_err *err)
{
    int own = 0;
    if (ev == NULL || ev->event == NULL || ev->event[0] == '\0')
        return icx_err_set(err, ICX_EINVAL, "store %s: audit: no event name",
                           s->path);
    int rc = icx_sq_call_enter(s, &own, "audit", err);
    if (rc < 0)
        return rc;
    rc = icx_sq_audit_append(s, ev->event, ev->message_id, ev->partner, ev->detail,
                      "audit", err);
    return icx_sq_call_leave(s, own, rc, 0, "audit", err);
}

int icx_store_audit_verify(icx_store *s, uint64_t *count, icx_err *err)
{
    sqlite3_stmt *st = s->st[ST_AUDIT_ALL];
    icx_buf b;
    char prev[65], hash[65];
    int64_t expect = 1;
    int rc;

    icx_buf_init(&b, 1 << 20);
    memcpy(prev, ZERO_HASH, sizeof prev);
    *count = 0;
    while ((rc = icx_sq_step(s, st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        if (seq != expect) {
            rc = icx_err_set(err, ICX_EBADSIG, "store %s: audit record %lld "
                             "is missing (next is %lld): records deleted",
                             s->path, (long long)expect, (long long)seq);
            goto out;
        }
        if (strcmp(col_str(st, 6), prev) != 0) {
            rc = icx_err_set(err, ICX_EBADSIG, "store %s: audit record %lld: "
                             "prev_hash does not link to record %lld: "
                             "records reordered or replaced", s->path,
                             (long long)seq, (long long)seq - 1);
            goto out;
        }
        icx_buf_reset(&b);
        rc = icx_buf_printf(&b, "%s\n%lld|%s|%s|%s|%s|%s", prev,
                            (long long)seq, col_str(st, 1), col_str(st, 2),
                            col_str(st, 3), col_str(st, 4), col_str(st, 5));
        if (rc == ICX_OK && icx_sha256_hex(hash, b.data, b.len) < 0)
            rc = ICX_ECRYPTO;
        if (rc < 0 || strcmp(hash, col_str(st, 7)) != 0) {
            rc = icx_err_set(err, ICX_EBADSIG, "store %s: audit record %lld: "
                             "hash does not match its content: record "
                             "edited", s->path, (long long)seq);
            goto out;
        }
        memcpy(prev, hash, sizeof prev);
        expect++;
        (*count)++;
    }
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, "audit verify", err);
        goto out;
    }
    rc = ICX_OK;
    /* Records this connection appended must all still be there. */
    if (expect - 1 < s->last_seq)
        rc = icx_err_set(err, ICX_EBADSIG, "store %s: audit record %lld is "
                         "missing: log truncated after record %lld", s->path,
                         (long long)expect, (long long)expect - 1);
out:
    done(st);
    icx_buf_free(&b);
    return rc;
}

int icx_store_timeline(icx_store *s, const char *message_id, icx_audit_fn fn,
                       void *ctx, icx_err *err)
{
    sqlite3_stmt *st = s->st[ST_AUDIT_TIMELINE];
    int rc;
    sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
    while ((rc = icx_sq_step(s, st)) == SQLITE_ROW) {
        icx_audit_row r;
        r.seq = sqlite3_column_int64(st, 0);
        col_copy(r.ts, sizeof r.ts, st, 1);
        col_copy(r.event, sizeof r.event, st, 2);
        col_copy(r.message_id, sizeof r.message_id, st, 3);
        col_copy(r.partner, sizeof r.partner, st, 4);
        col_copy(r.detail, sizeof r.detail, st, 5);
        col_copy(r.hash, sizeof r.hash, st, 6);
        rc = fn(ctx, &r);
        if (rc != 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, rc, "timeline", err);
out:
    done(st);
    return rc;
}

