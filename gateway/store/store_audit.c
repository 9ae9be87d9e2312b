/*
 * store_audit.c - the audit hash chain of the SQLite store (store.h,
 * docs/STORE.md): append, verify, a message's timeline.
 *
 * A record's stored fields are its canonical fields ('|', control
 * characters and DEL become '_'; long fields are cut on a UTF-8 boundary);
 * a record's line is seq|ts|event|message_id|partner|detail|prev_hash and
 * its hash the RFC 6962 leaf hash SHA-256(0x00 || line) (audit.h).  The
 * tail (last seq, hash and the Merkle frontier) lives in the store struct;
 * store_tx.c reads it, saves it at BEGIN and restores it on ROLLBACK.
 * Above store_tx.c and store_head.c (a checkpoint outside an explicit
 * transaction writes the head file); calls nothing of the queues.
 *
 * Ownership and threads as in store_sqlite.c.  Failure: an append fails
 * like any statement (the caller's transaction then does not commit);
 * verify returns ICX_EBADSIG naming the first bad record.
 */
#include "store_int.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

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
    char line[640], prev[65];
    icx_st *st = &s->st[ST_AUDIT_INSERT];
    int rc;

    r.seq = s->last_seq + 1;
    now_ms(r.ts, sizeof r.ts);
    audit_field(r.event, sizeof r.event, event);
    audit_field(r.message_id, sizeof r.message_id, mid);
    audit_field(r.partner, sizeof r.partner, partner);
    audit_field(r.detail, sizeof r.detail, detail);
    memcpy(prev, s->last_hash, sizeof prev);
    int n = snprintf(line, sizeof line, "%lld|%s|%s|%s|%s|%s|%s",
                     (long long)r.seq, r.ts, r.event, r.message_id, r.partner,
                     r.detail, prev);
    unsigned char leaf[ICX_HASH_LEN];
#ifdef ICX_AUDIT_PLAIN
    /* Benchmark build only (CMake ICX_AUDIT_PLAIN): the same records
     * without hashing, to measure what the chain costs. */
    (void)n;
    memset(leaf, 0, sizeof leaf);
#else
    icx_audit_leaf(leaf, line, (size_t)n);
#endif
    icx_hex(r.hash, leaf, ICX_HASH_LEN);
    icx_db_bind_int64(st, 1, r.seq);
    icx_db_bind_text(st, 2, r.ts);
    icx_db_bind_text(st, 3, r.event);
    icx_db_bind_text(st, 4, r.message_id);
    icx_db_bind_text(st, 5, r.partner);
    icx_db_bind_text(st, 6, r.detail);
    icx_db_bind_text(st, 7, prev);
    icx_db_bind_text(st, 8, r.hash);
    rc = icx_sq_step(s, st);
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, op, err);
        goto out;
    }
    rc = ICX_OK;
    s->last_seq = r.seq;
    memcpy(s->last_hash, r.hash, sizeof s->last_hash);
    icx_merkle_append(&s->tree, leaf);
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

static void rec_from_row(icx_audit_rec *r, icx_st *st)
{
    r->seq = icx_db_col_int64(st, 0);
    col_copy(r->ts, sizeof r->ts, st, 1);
    col_copy(r->event, sizeof r->event, st, 2);
    col_copy(r->message_id, sizeof r->message_id, st, 3);
    col_copy(r->partner, sizeof r->partner, st, 4);
    col_copy(r->detail, sizeof r->detail, st, 5);
    col_copy(r->prev, sizeof r->prev, st, 6);
    col_copy(r->hash, sizeof r->hash, st, 7);
}

int icx_store_audit_scan(icx_store *s, int64_t from, int64_t to,
                         icx_audit_rec_fn fn, void *ctx, icx_err *err)
{
    icx_st *st = &s->st[ST_AUDIT_RANGE];
    int rc;
    icx_db_bind_int64(st, 1, from);
    icx_db_bind_int64(st, 2, to > 0 ? to : INT64_MAX);
    while ((rc = icx_sq_step(s, st)) == SQLITE_ROW) {
        icx_audit_rec r;
        rec_from_row(&r, st);
        rc = fn(ctx, &r);
        if (rc != 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, rc, "audit scan", err);
out:
    done(st);
    return rc;
}

int icx_store_refresh(icx_store *s, icx_err *err)
{
    if (s->in_tx)
        return ICX_OK;
    int64_t dv = icx_sq_data_version(s);
    if (dv == s->data_version)
        return ICX_OK;
    /* Records are append-only (triggers refuse the rest) and numbered
     * from 1 without gaps: the leaves after the ones held extend the
     * tree.  Anything else reads the whole chain again. */
    icx_merkle tree = s->tree;
    icx_st *st = &s->st[ST_AUDIT_HASHES_AFTER];
    icx_db_bind_int64(st, 1, (int64_t)tree.size);
    int rc;
    char last[65] = "";
    while ((rc = icx_db_step(st)) == SQLITE_ROW) {
        unsigned char leaf[ICX_HASH_LEN];
        snprintf(last, sizeof last, "%s", col_str(st, 0));
        if (icx_unhex(leaf, last, ICX_HASH_LEN) < 0)
            memset(leaf, 0, sizeof leaf); /* damage: verify names it */
        icx_merkle_append(&tree, leaf);
    }
    done(st);
    int64_t tail = 0;
    icx_st *t = &s->st[ST_AUDIT_TAIL];
    int trc = icx_db_step(t);
    if (trc == SQLITE_ROW)
        tail = icx_db_col_int64(t, 0);
    done(t);
    if (rc == SQLITE_DONE && (trc == SQLITE_ROW || trc == SQLITE_DONE) &&
        (uint64_t)tail == tree.size) {
        s->tree = tree;
        s->last_seq = tail;
        if (last[0] != '\0')
            memcpy(s->last_hash, last, sizeof s->last_hash);
        s->data_version = dv;
        return ICX_OK;
    }
    rc = icx_sq_chain_load(s, "reading the audit tail", err);
    if (rc == ICX_OK)
        s->data_version = dv;
    return rc;
}

int icx_store_audit_head(icx_store *s, uint64_t *size, char root[65])
{
    if (root != NULL) {
        unsigned char r[ICX_HASH_LEN];
        icx_merkle_root(&s->tree, r);
        icx_hex(root, r, ICX_HASH_LEN);
    }
    *size = s->tree.size;
    return ICX_OK;
}

int icx_store_checkpoint_add(icx_store *s, const icx_checkpoint *c,
                             icx_err *err)
{
    int own = 0;
    int rc = icx_sq_call_enter(s, &own, "checkpoint", err);
    if (rc < 0)
        return rc;
    icx_st *st = &s->st[ST_CP_INSERT];
    icx_db_bind_int64(st, 1, (int64_t)c->size);
    icx_db_bind_text(st, 2, c->gateway);
    icx_db_bind_text(st, 3, c->root);
    icx_db_bind_text(st, 4, c->time);
    icx_db_bind_text(st, 5, c->signature);
    int step = icx_sq_step(s, st);
    rc = step == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, step, "checkpoint", err);
    done(st);
    if (rc == ICX_OK && !own) {
        /* The caller's COMMIT writes the head file (store_sqlite.c). */
        s->head_pending = *c;
        s->head_pending_set = 1;
    }
    rc = icx_sq_call_leave(s, own, rc, rc == ICX_OK, "checkpoint", err);
    /* Committed with synchronous=FULL: durable, so the head file may now
     * name it.  Never before: a head file ahead of the store would make a
     * sound store look rolled back. */
    if (rc == ICX_OK && own)
        rc = icx_sq_head_write(s, c, err);
    return rc;
}

int icx_store_head_start(icx_store *s, const icx_checkpoint *c, icx_err *err)
{
    char path[PATH_MAX_STORE + 8];
    struct stat st;
    icx_checkpoint last;
    assert(c->size == 0);
    icx_sq_head_path(path, sizeof path, s);
    if (path[0] == '\0' || lstat(path, &st) == 0)
        return ICX_OK;
    if (errno != ENOENT)
        return icx_err_set(err, ICX_EIO, "%s: %s", path, strerror(errno));
    int rc = icx_store_checkpoint_last(s, &last, err);
    if (rc == ICX_OK)
        return ICX_OK; /* checkpoints without a head file: the check's */
    if (rc != ICX_ENOTFOUND)
        return rc;
    return icx_sq_head_write(s, c, err);
}

void icx_sq_cp_from_row(icx_checkpoint *c, icx_st *st)
{
    c->size = (uint64_t)icx_db_col_int64(st, 0);
    col_copy(c->gateway, sizeof c->gateway, st, 1);
    col_copy(c->root, sizeof c->root, st, 2);
    col_copy(c->time, sizeof c->time, st, 3);
    col_copy(c->signature, sizeof c->signature, st, 4);
}

int icx_store_checkpoints(icx_store *s, uint64_t max_size, icx_cp_fn fn,
                          void *ctx, icx_err *err)
{
    icx_st *st = &s->st[ST_CP_ALL];
    int rc;
    icx_db_bind_int64(st, 1, max_size ? (int64_t)max_size : INT64_MAX);
    while ((rc = icx_sq_step(s, st)) == SQLITE_ROW) {
        icx_checkpoint c;
        icx_sq_cp_from_row(&c, st);
        rc = fn(ctx, &c);
        if (rc != 0)
            goto out;
    }
    rc = rc == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, rc, "checkpoints", err);
out:
    done(st);
    return rc;
}

int icx_sq_cp_one(icx_store *s, icx_st *st, icx_checkpoint *c,
                  const char *op, icx_err *err)
{
    int rc = icx_sq_step(s, st);
    if (rc == SQLITE_ROW) {
        icx_sq_cp_from_row(c, st);
        rc = ICX_OK;
    } else if (rc == SQLITE_DONE) {
        rc = ICX_ENOTFOUND;
    } else {
        rc = icx_sq_fail(s, rc, op, err);
    }
    done(st);
    return rc;
}

int icx_store_checkpoint_last(icx_store *s, icx_checkpoint *c, icx_err *err)
{
    return icx_sq_cp_one(s, &s->st[ST_CP_LAST], c, "last checkpoint", err);
}

static int feed_rec(void *ctx, const icx_audit_rec *r)
{
    return icx_audit_verifier_record(ctx, r) < 0 ? -1 : 0;
}

static int feed_cp(void *ctx, const icx_checkpoint *c)
{
    return icx_audit_verifier_checkpoint(ctx, c) < 0 ? -1 : 0;
}

int icx_store_audit_verify_with(icx_store *s, const char *cert_pem,
                                size_t cert_len, icx_audit_report *rep,
                                icx_err *err)
{
    icx_audit_verifier *v = NULL;
    memset(rep, 0, sizeof *rep);
    int rc = icx_audit_verifier_new(&v, cert_pem, cert_len, err);
    if (rc < 0)
        return rc;
    rc = icx_store_audit_scan(s, 1, 0, feed_rec, v, err);
    if (rc == ICX_OK)
        rc = icx_store_checkpoints(s, 0, feed_cp, v, err);
    if (rc == ICX_OK)
        rc = icx_audit_verifier_finish(v, &rep->records, &rep->checkpoints,
                                       &rep->damage, &rep->bad_seq, err);
    /* Records this connection appended must all still be there. */
    if (rc == ICX_OK && (int64_t)rep->records < s->last_seq) {
        rep->damage = ICX_DAMAGE_TRUNCATED;
        rep->bad_seq = (int64_t)rep->records + 1;
        rc = icx_err_set(err, ICX_EBADSIG, "audit record %lld: truncated: "
                         "missing: the log ends at record %llu but record "
                         "%lld was written", (long long)rep->records + 1,
                         (unsigned long long)rep->records,
                         (long long)s->last_seq);
    }
    if (rc < 0 && err != NULL)
        icx_err_wrap(err, "store %s", s->path);
    icx_audit_verifier_free(&v);
    return rc;
}

int icx_store_audit_verify(icx_store *s, uint64_t *count, icx_err *err)
{
    icx_audit_report rep;
    int rc = icx_store_audit_verify_with(s, NULL, 0, &rep, err);
    *count = rep.records;
    return rc;
}

int icx_store_message_ids(icx_store *s, const char *prefix, char (*ids)[40],
                          size_t max, size_t *n, icx_err *err)
{
    icx_st *st = &s->st[ST_AUDIT_PREFIX];
    char upper[40];
    size_t len = strlen(prefix);
    int rc = SQLITE_DONE;
    *n = 0;
    if (len == 0 || len >= sizeof upper)
        return icx_err_set(err, ICX_EINVAL, "a MessageId prefix of 1 to %zu "
                           "characters", sizeof upper - 1);
    /* Every id with the prefix sorts from it up to (not including) the
     * prefix with its last byte raised by one. */
    memcpy(upper, prefix, len + 1);
    if ((unsigned char)upper[len - 1] == 0xff)
        return icx_err_set(err, ICX_EINVAL, "not a MessageId prefix");
    upper[len - 1] = (char)((unsigned char)upper[len - 1] + 1);
    icx_db_bind_text(st, 1, prefix);
    icx_db_bind_text(st, 2, upper);
    icx_db_bind_int64(st, 3, (int64_t)max);
    while (*n < max && (rc = icx_sq_step(s, st)) == SQLITE_ROW)
        col_copy(ids[(*n)++], sizeof ids[0], st, 0);
    if (*n < max && rc != SQLITE_DONE)
        rc = icx_sq_fail(s, rc, "message ids by prefix", err);
    else
        rc = ICX_OK;
    done(st);
    return rc;
}

int icx_store_timeline(icx_store *s, const char *message_id, icx_audit_fn fn,
                       void *ctx, icx_err *err)
{
    icx_st *st = &s->st[ST_AUDIT_TIMELINE];
    int rc;
    icx_db_bind_text(st, 1, message_id);
    while ((rc = icx_sq_step(s, st)) == SQLITE_ROW) {
        icx_audit_row r;
        r.seq = icx_db_col_int64(st, 0);
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

