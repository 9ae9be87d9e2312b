/*
 * store_tx.c - the SQLite plumbing every other store file stands on: each
 * step through the fault-injection hook, SQLite codes mapped to ICX codes,
 * and transactions (a call's own, or the caller's explicit one).
 *
 * Guarantee (store_sqlite.c says it whole): a mutating call runs inside a
 * transaction and writes its audit record in it; an own transaction that
 * failed after a change is rolled back, an explicit one is marked failed
 * and icx_store_commit refuses it.
 *
 * The audit chain tail (last seq, hash, Merkle frontier) is transaction
 * state: it is read here at open and whenever PRAGMA data_version says
 * another connection committed, saved at BEGIN and restored on ROLLBACK.
 * After a COMMIT that added a checkpoint, its head file is written
 * (store_head.c).  Calls nothing of the part but store_head.c and audit.c.
 *
 * Ownership and threads as in store_sqlite.c.  Failure: SQLITE_FULL ->
 * ICX_EFULL, unique constraint -> ICX_EEXIST, damage -> ICX_ECORRUPT,
 * busy/locked -> ICX_EAGAIN, other -> ICX_ESTORE; messages name the file
 * and the operation.
 */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* ---- steps, errors, transactions ---------------------------------------- */

/* Every step the store makes, except ROLLBACK and its bookkeeping reads,
 * goes through here so the test hook can fail it. */
int icx_sq_step(icx_store *s, icx_st *st)
{
    s->injected = 0;
    if (s->fail_armed) {
        if (s->fail_left == 0) {
            s->fail_armed = 0;
            s->injected = 1;
            return SQLITE_FULL;
        }
        s->fail_left--;
    }
    return icx_db_step(st);
}

int icx_sq_fail(icx_store *s, int src, const char *op, icx_err *err)
{
    const char *msg = s->injected ? "database or disk is full (injected)"
                                  : icx_db_errmsg(s);
    s->injected = 0;
    switch (src & 0xff) {
    case SQLITE_FULL:
        return icx_err_set(err, ICX_EFULL, "store %s: %s: disk full: %s",
                           s->path, op, msg);
    case SQLITE_CONSTRAINT:
        if (src == SQLITE_CONSTRAINT_UNIQUE ||
            src == SQLITE_CONSTRAINT_PRIMARYKEY)
            return icx_err_set(err, ICX_EEXIST, "store %s: %s: already "
                               "stored: %s", s->path, op, msg);
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return icx_err_set(err, ICX_ECORRUPT, "store %s: %s: damaged: %s "
                           "(icx store check names the damage)", s->path, op,
                           msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return icx_err_set(err, ICX_EAGAIN, "store %s: %s: busy, retry "
                           "later: %s", s->path, op, msg);
    default:
        break;
    }
    return icx_err_set(err, ICX_ESTORE, "store %s: %s: %s", s->path, op, msg);
}

int64_t icx_sq_data_version(icx_store *s)
{
    icx_st *st = &s->st[ST_DATA_VERSION];
    int64_t v = -1;
    if (icx_db_step(st) == SQLITE_ROW)
        v = icx_db_col_int64(st, 0);
    done(st);
    return v;
}

static void tx_undo(icx_store *s)
{
    if (icx_db_in_tx(s)) {
        icx_db_step(&s->st[ST_ROLLBACK]);
        done(&s->st[ST_ROLLBACK]);
    }
    s->last_seq = s->saved_seq;
    memcpy(s->last_hash, s->saved_hash, sizeof s->last_hash);
    s->tree = s->saved_tree;
    s->head_pending_set = 0;
}

static int tx_open(icx_store *s, const char *op, icx_err *err)
{
    int rc = icx_sq_step(s, &s->st[ST_BEGIN]);
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, op, err);
        done(&s->st[ST_BEGIN]);
        return rc;
    }
    done(&s->st[ST_BEGIN]);
    rc = ICX_OK;
    int64_t dv = icx_sq_data_version(s);
    /* PostgreSQL: BEGIN took the chain's advisory lock, and dv is the
     * chain's last seq as committed by any node; the records after ours
     * are read on (icx_sq_chain_load). */
    if (s->pg != NULL ? dv != s->last_seq : dv != s->data_version) {
        rc = icx_sq_chain_load(s, op, err);
        s->data_version = dv;
    }
    s->saved_seq = s->last_seq;
    memcpy(s->saved_hash, s->last_hash, sizeof s->saved_hash);
    s->saved_tree = s->tree;
    if (rc < 0)
        tx_undo(s);
    return rc;
}

static int tx_close(icx_store *s, const char *op, icx_err *err)
{
    int rc = icx_sq_step(s, &s->st[ST_COMMIT]);
    if (rc != SQLITE_DONE) {
        rc = icx_sq_fail(s, rc, op, err);
        done(&s->st[ST_COMMIT]);
        tx_undo(s);
        return rc;
    }
    done(&s->st[ST_COMMIT]);
    if (s->head_pending_set) {
        /* A checkpoint committed in the caller's transaction: now durable
         * (synchronous=FULL), so its head file may say so.  The commit
         * stands whatever happens here; the next checkpoint writes the
         * file again. */
        icx_err herr;
        s->head_pending_set = 0;
        if (icx_sq_head_write(s, &s->head_pending, &herr) < 0)
            icx_log_error("store.head", "alert=1 store=%s size=%llu "
                          "error=\"%s\"", s->path,
                          (unsigned long long)s->head_pending.size, herr.msg);
    }
    return ICX_OK;
}

/* Starts the call's own transaction unless an explicit one is open. */
int icx_sq_call_enter(icx_store *s, int *own, const char *op, icx_err *err)
{
    *own = 0;
    if (s->in_tx) {
        if (s->tx_failed || !icx_db_in_tx(s))
            return icx_err_set(err, ICX_ESTORE, "store %s: %s: the open "
                               "transaction failed earlier; roll it back",
                               s->path, op);
        return ICX_OK;
    }
    int rc = tx_open(s, op, err);
    if (rc == ICX_OK)
        *own = 1;
    return rc;
}

/* Ends a mutating call: commits or rolls back its own transaction, or marks
 * the caller's transaction failed when rows may have changed. */
int icx_sq_call_leave(icx_store *s, int own, int rc, int changed,
                      const char *op, icx_err *err)
{
    if (own) {
        if (rc == ICX_OK)
            return tx_close(s, op, err);
        tx_undo(s);
        return rc;
    }
    if (rc < 0 && (changed || (rc != ICX_ENOTFOUND && rc != ICX_EEXIST &&
                               rc != ICX_EINVAL)))
        s->tx_failed = 1;
    return rc;
}

int icx_store_begin(icx_store *s, icx_err *err)
{
    if (s->in_tx)
        return icx_err_set(err, ICX_EINVAL, "store %s: begin: a transaction "
                           "is already open", s->path);
    int rc = tx_open(s, "begin", err);
    if (rc == ICX_OK) {
        s->in_tx = 1;
        s->tx_failed = 0;
    }
    return rc;
}

int icx_store_commit(icx_store *s, icx_err *err)
{
    int rc;
    if (!s->in_tx)
        return icx_err_set(err, ICX_EINVAL, "store %s: commit: no "
                           "transaction is open", s->path);
    s->in_tx = 0;
    if (s->tx_failed || !icx_db_in_tx(s)) {
        tx_undo(s);
        rc = icx_err_set(err, ICX_ESTORE, "store %s: commit refused: a call "
                         "in this transaction failed; rolled back", s->path);
    } else {
        rc = tx_close(s, "commit", err);
    }
    s->tx_failed = 0;
    return rc;
}

void icx_store_rollback(icx_store *s)
{
    if (s == NULL || !s->in_tx)
        return;
    tx_undo(s);
    s->in_tx = 0;
    s->tx_failed = 0;
}

void icx_store_test_fail_after(icx_store *s, int n)
{
    s->fail_armed = n > 0;
    s->fail_left = n;
}

/* ---- the audit chain tail ---------------------------------------------- */

/* Reads the chain tail and rebuilds the Merkle frontier from the table (at
 * open, or after another connection committed). */
/* PostgreSQL: the records other nodes appended after our tail are read
 * on and added to the frontier (the chain is append-only); the whole
 * chain is read only at open or when the table holds less than we saw. */
static int chain_load_after(icx_store *s, const char *op, icx_err *err)
{
    icx_st *st = &s->st[ST_AUDIT_HASHES];
    int64_t tail = icx_sq_data_version(s);
    int rc;
    if (tail < 0)
        return icx_err_set(err, ICX_ESTORE, "store %s: %s: the audit tail "
                           "could not be read: %s", s->path, op,
                           icx_db_errmsg(s));
    if (tail < s->last_seq || s->last_seq == 0) {
        s->last_seq = 0;
        memcpy(s->last_hash, ZERO_HASH, sizeof s->last_hash);
        icx_merkle_init(&s->tree);
    }
    icx_db_bind_int64(st, 1, s->last_seq);
    while ((rc = icx_db_step(st)) == SQLITE_ROW) {
        unsigned char leaf[ICX_HASH_LEN];
        s->last_seq = icx_db_col_int64(st, 0);
        snprintf(s->last_hash, sizeof s->last_hash, "%s", col_str(st, 1));
        if (icx_unhex(leaf, col_str(st, 1), ICX_HASH_LEN) < 0)
            memset(leaf, 0, sizeof leaf); /* damage: verify names it */
#ifndef ICX_AUDIT_PLAIN
        icx_merkle_append(&s->tree, leaf);
#endif
    }
    rc = rc == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, rc, op, err);
    done(st);
    return rc;
}

int icx_sq_chain_load(icx_store *s, const char *op, icx_err *err)
{
    if (s->pg != NULL)
        return chain_load_after(s, op, err);
    icx_st *st = &s->st[ST_AUDIT_TAIL];
    int rc = icx_db_step(st);
    if (rc == SQLITE_ROW) {
        const char *h = icx_db_col_text(st, 1);
        s->last_seq = icx_db_col_int64(st, 0);
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
    if (rc < 0)
        return rc;
    icx_merkle_init(&s->tree);
    st = &s->st[ST_AUDIT_HASHES];
    while ((rc = icx_db_step(st)) == SQLITE_ROW) {
        unsigned char leaf[ICX_HASH_LEN];
        if (icx_unhex(leaf, col_str(st, 0), ICX_HASH_LEN) < 0)
            memset(leaf, 0, sizeof leaf); /* damage: verify names it */
#ifndef ICX_AUDIT_PLAIN
        icx_merkle_append(&s->tree, leaf);
#endif
    }
    rc = rc == SQLITE_DONE ? ICX_OK : icx_sq_fail(s, rc, op, err);
    done(st);
    return rc;
}
