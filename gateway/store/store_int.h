/*
 * store_int.h - what the SQLite store's files share.  Not part of the
 * interface: include store.h elsewhere.
 *
 * The files, from the bottom up (a file calls only those before it; see
 * README.md): store_head.c (the head file), store_tx.c (steps, errors,
 * transactions, the chain tail), store_sqlite.c (schema, statements,
 * open, WAL), store_audit.c (the hash chain), store_stamp.c (time-stamp
 * tokens of checkpoints), store_queue.c (outbox,
 * inbox, receipts), store_check.c (the start-up check).
 */
#ifndef ICX_STORE_INT_H
#define ICX_STORE_INT_H

#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "audit.h"
#include "store.h"

#define PATH_MAX_STORE 1024
#define ENVELOPE_MAX ((size_t)64 * 1024 * 1024)
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* Statements, prepared once at open (SQL in store_sqlite.c). */
enum {
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_DATA_VERSION, ST_AUDIT_TAIL,
    ST_AUDIT_INSERT, ST_AUDIT_TIMELINE, ST_AUDIT_ALL, ST_AUDIT_PREFIX,
    ST_OUT_INSERT, ST_OUT_ENV_INSERT, ST_OUT_TRANSITION, ST_OUT_DUE, ST_OUT_GET, ST_OUT_BY_SHA,
    ST_OUT_ENVELOPE, ST_OUT_LIST, ST_OUT_DEPTHS, ST_OUT_WAKE, ST_OUT_OLDEST,
    ST_IN_INSERT, ST_IN_LOOKUP, ST_IN_SET_RECEIPT, ST_IN_ENVELOPE,
    ST_IN_LIST, ST_IN_EXPIRE, ST_RECEIPT_INSERT, ST_RECEIPTS,
    ST_AUDIT_HASHES, ST_AUDIT_RANGE, ST_CP_INSERT, ST_CP_ALL, ST_CP_LAST,
    ST_CP_AFTER, ST_CP_AT, ST_STAMP_INSERT, ST_STAMP_GET, ST_STAMP_MAX,
    ST_COUNT_OUT, ST_COUNT_IN, ST_COUNT_RECEIPTS, ST_COUNT_CP,
    ST_AUDIT_HASHES_AFTER,
    ST__COUNT
};

struct icx_store {
    sqlite3 *db;
    char path[PATH_MAX_STORE];
    int version;
    sqlite3_stmt *st[ST__COUNT];
    int in_tx;          /* explicit transaction open (icx_store_begin) */
    int tx_failed;      /* a call inside it failed after changing rows */
    int64_t data_version;
    int64_t last_seq;   /* audit chain tail */
    char last_hash[65];
    int64_t saved_seq;  /* tail at BEGIN, restored on ROLLBACK */
    char saved_hash[65];
    icx_merkle tree;    /* RFC 6962 frontier of the audit leaves */
    icx_merkle saved_tree;
    uint64_t wal_frames; /* frames in the WAL after the last commit (daemon) */
    uint64_t wal_done;  /* of those, copied back by the last checkpoint */
    uint64_t wal_restarts; /* times the WAL was seen to start over */
    icx_checkpoint head_pending; /* added in the open transaction: its */
    int head_pending_set;        /* head file is written after COMMIT */
    int fail_armed;     /* test hook: fail a step after fail_left more */
    int fail_left;
    int injected;       /* the failure being reported was injected */
};

/* store_sqlite.c: the state names of the outbox and the inbox. */
extern const char *const icx_sq_out_names[];
extern const char *const icx_sq_in_names[];
int icx_sq_state_from(const char *const *names, int count, const char *name);

/* store_tx.c: sqlite3_step through the fault-injection hook. */
int icx_sq_step(icx_store *s, sqlite3_stmt *st);
/* Maps a failed SQLite call to an ICX code and message; returns the code. */
int icx_sq_fail(icx_store *s, int src, const char *op, icx_err *err);
/* Own transaction unless an explicit one is open; *own says which. */
int icx_sq_call_enter(icx_store *s, int *own, const char *op, icx_err *err);
/* Commits or rolls back an own transaction, or marks the caller's failed
 * when rows may have changed; returns the call's final code. */
int icx_sq_call_leave(icx_store *s, int own, int rc, int changed,
                      const char *op, icx_err *err);
/* PRAGMA data_version: changes when another connection committed; -1
 * when it could not be read. */
int64_t icx_sq_data_version(icx_store *s);
/* Reads the chain tail (seq, hash, Merkle frontier) from the table. */
int icx_sq_chain_load(icx_store *s, const char *op, icx_err *err);
/* store_queue.c: ICX_OK when p[0..len) hashes to want (hex); else logs, audits
 * ("store.damaged") and returns ICX_ECORRUPT naming table and message. */
int icx_sq_digest_check(icx_store *s, const char *table, const char *mid,
                        const char *partner, const void *p, size_t len,
                        const char *want, icx_err *err);
/* store_head.c: the head file's path, "<store>.head", into out (n bytes:
 * PATH_MAX_STORE + 8 holds it). */
void icx_sq_head_path(char *out, size_t n, const icx_store *s);
/* Writes the head file of checkpoint c beside the store; call only once
 * the checkpoint's transaction has committed. */
int icx_sq_head_write(icx_store *s, const icx_checkpoint *c, icx_err *err);
/* Parses the head file at path into c: ICX_ENOTFOUND when there is none,
 * ICX_ECORRUPT (naming path:line) when it is not one. */
int icx_sq_head_read(icx_checkpoint *c, const char *path, icx_err *err);
/* store_audit.c: a checkpoint from a row of columns size, gateway, root,
 * time, signature. */
void icx_sq_cp_from_row(icx_checkpoint *c, sqlite3_stmt *st);
/* store_audit.c: appends one audit record inside the current
 * transaction. */
int icx_sq_audit_append(icx_store *s, const char *event, const char *mid,
                        const char *partner, const char *detail,
                        const char *op, icx_err *err);

static inline void done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static inline const char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t != NULL ? (const char *)t : "";
}

static inline void col_copy(char *dst, size_t n, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t len = t != NULL ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (len > n - 1)
        len = n - 1;
    if (len > 0)
        memcpy(dst, t, len);
    dst[len] = '\0';
}

#endif
