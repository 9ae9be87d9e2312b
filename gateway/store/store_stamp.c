/*
 * store_stamp.c - RFC 3161 time-stamp tokens of signed checkpoints in the
 * store (store.h, docs/AUDIT.md "Time-stamps"): add one, read one, and
 * which checkpoint waits for its stamp.
 *
 * The table checkpoint_stamps (migration 4) holds one token per
 * checkpoint, append-only like the checkpoints.  The token is checked
 * by the caller against the TSA's CA before it comes here; here its
 * message imprint is checked once more against the checkpoint it is
 * stored under, so that a token never sits beside the wrong checkpoint.
 *
 * The queue is a query, not a table: the checkpoints after the newest
 * stamped one, oldest first (a stamp of checkpoint n covers the first n
 * records, so an older checkpoint left unstamped is still covered by the
 * next stamp).  While nothing is stamped the newest checkpoint is next:
 * a store that had no TSA does not send its whole history.
 *
 * Ownership: rows by value, token bytes into the caller's icx_buf.
 * Threads: the store's.  Failure: ICX_EEXIST (that checkpoint has a
 * token), ICX_ENOTFOUND, ICX_EBADSIG (the token is not over that
 * checkpoint), store errors as in store_sqlite.c.
 */
#include "store_int.h"

#include <stdio.h>
#include <time.h>

#include "util.h"

int icx_store_checkpoint_at(icx_store *s, uint64_t size, icx_checkpoint *c,
                            icx_err *err)
{
    icx_st *st = &s->st[ST_CP_AT];
    icx_db_bind_int64(st, 1, (int64_t)size);
    return icx_sq_cp_one(s, st, c, "checkpoint", err);
}

int icx_store_stamp_add(icx_store *s, uint64_t size, const icx_tsa_stamp *stamp,
                        const void *token, size_t len, icx_err *err)
{
    icx_checkpoint c;
    icx_buf text;
    char now[32];
    int own = 0;
    icx_buf_init(&text, 4096);
    int rc = icx_store_checkpoint_at(s, size, &c, err);
    if (rc == ICX_ENOTFOUND)
        rc = icx_err_set(err, ICX_ENOTFOUND, "store %s: no checkpoint of "
                         "size %llu to stamp", s->path,
                         (unsigned long long)size);
    if (rc == ICX_OK)
        rc = icx_checkpoint_text(&text, &c);
    if (rc == ICX_OK)
        rc = icx_tsa_token_check(NULL, token, len, text.data, text.len, NULL,
                                 err);
    if (rc < 0)
        goto out;
    icx_time_format(now, sizeof now, time(NULL));
    rc = icx_sq_call_enter(s, &own, "time-stamp", err);
    if (rc < 0)
        goto out;
    icx_st *st = &s->st[ST_STAMP_INSERT];
    icx_db_bind_int64(st, 1, (int64_t)size);
    icx_db_bind_text(st, 2, stamp->gen_time);
    icx_db_bind_int64(st, 3, stamp->gen_epoch);
    icx_db_bind_text(st, 4, stamp->serial);
    icx_db_bind_text(st, 5, stamp->policy);
    icx_db_bind_text(st, 6, now);
    icx_db_bind_blob(st, 7, token, len);
    int step = icx_sq_step(s, st);
    rc = step == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, step, "time-stamp", err);
    done(st);
    rc = icx_sq_call_leave(s, own, rc, 0, "time-stamp", err);
out:
    icx_buf_free(&text);
    return rc;
}

int icx_store_stamp_get(icx_store *s, uint64_t min_size, uint64_t *size,
                        icx_tsa_stamp *stamp, icx_buf *token, char *stamped_at,
                        icx_err *err)
{
    icx_st *st = &s->st[ST_STAMP_GET];
    icx_db_bind_int64(st, 1, (int64_t)min_size);
    int rc = icx_sq_step(s, st);
    if (rc == SQLITE_ROW) {
        memset(stamp, 0, sizeof *stamp);
        *size = (uint64_t)icx_db_col_int64(st, 0);
        col_copy(stamp->gen_time, sizeof stamp->gen_time, st, 1);
        stamp->gen_epoch = icx_db_col_int64(st, 2);
        col_copy(stamp->serial, sizeof stamp->serial, st, 3);
        col_copy(stamp->policy, sizeof stamp->policy, st, 4);
        if (stamped_at != NULL)
            col_copy(stamped_at, 32, st, 5);
        rc = ICX_OK;
        if (token != NULL) {
            const void *p = icx_db_col_blob(st, 6);
            int n = icx_db_col_bytes(st, 6);
            if (n > 0 && icx_buf_append(token, p, (size_t)n) < 0)
                rc = icx_err_set(err, ICX_EFULL, "time-stamp token of "
                                 "checkpoint %llu too large",
                                 (unsigned long long)*size);
        }
    } else if (rc == SQLITE_DONE) {
        rc = ICX_ENOTFOUND;
    } else {
        rc = icx_sq_fail(s, rc, "time-stamp", err);
    }
    done(st);
    return rc;
}

int icx_store_stamp_next(icx_store *s, icx_checkpoint *c, uint64_t *queued,
                         icx_err *err)
{
    icx_st *st = &s->st[ST_STAMP_MAX];
    int stamped = 0;
    uint64_t after = 0;
    int rc = icx_sq_step(s, st);
    if (rc == SQLITE_ROW && !icx_db_col_null(st, 0)) {
        stamped = 1;
        after = (uint64_t)icx_db_col_int64(st, 0);
    }
    rc = rc == SQLITE_ROW ? ICX_OK : icx_sq_fail(s, rc, "time-stamps", err);
    done(st);
    if (queued != NULL)
        *queued = 0;
    if (rc < 0)
        return rc;
    if (!stamped) {
        rc = icx_store_checkpoint_last(s, c, err);
        if (rc == ICX_OK && queued != NULL)
            *queued = 1;
        return rc;
    }
    st = &s->st[ST_CP_AFTER];
    icx_db_bind_int64(st, 1, (int64_t)after);
    rc = icx_sq_step(s, st);
    if (rc == SQLITE_ROW) {
        icx_sq_cp_from_row(c, st);
        rc = ICX_OK;
    } else if (rc == SQLITE_DONE) {
        rc = ICX_ENOTFOUND;
    } else {
        rc = icx_sq_fail(s, rc, "time-stamp queue", err);
    }
    done(st);
    if (rc == ICX_OK && queued != NULL) {
        icx_st q;
        int r = icx_db_prepare(s, "SELECT count(*) FROM checkpoints "
                               "WHERE size > ?1", &q);
        if (r == SQLITE_OK) {
            icx_db_bind_int64(&q, 1, (int64_t)after);
            if (icx_db_step(&q) == SQLITE_ROW)
                *queued = (uint64_t)icx_db_col_int64(&q, 0);
        }
        icx_db_finalize(&q);
    }
    return rc;
}
