/*
 * store_int.h - what the store's files share.  Not part of the interface:
 * include store.h elsewhere.
 *
 * The files, from the bottom up (a file calls only those before it; see
 * README.md): store_head.c (the head file), store_pg.c (the PostgreSQL
 * engine under the statement seam), store_tx.c (steps, errors,
 * transactions, the chain tail), store_sqlite.c (schema, statements,
 * open, WAL), store_audit.c (the hash chain), store_stamp.c (time-stamp
 * tokens of checkpoints), store_witness.c (witnessed checkpoints,
 * co-signatures), store_queue.c (outbox, inbox, receipts), store_check.c
 * (the start-up check), store_copy.c (one store into another).
 *
 * The seam between the store's logic and its engine is the statement:
 * icx_st below, bound, stepped, read and reset with the icx_db_* calls.
 * On SQLite they are sqlite3_* itself; on PostgreSQL (store_pg.c) a step
 * runs the prepared statement once and walks its result, and codes and
 * messages are mapped to SQLite's (SQLITE_ROW, SQLITE_DONE,
 * SQLITE_CONSTRAINT_UNIQUE, SQLITE_FULL, SQLITE_BUSY, SQLITE_IOERR,
 * SQLITE_ERROR), so that the transactions, the chain, the state machines
 * and the error mapping are one code for both engines.
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

/* One statement of either engine: sq for SQLite, pg for PostgreSQL. */
struct icx_pgst;
struct icx_pg;
typedef struct icx_st {
    sqlite3_stmt *sq;
    struct icx_pgst *pg;
} icx_st;

struct icx_store {
    sqlite3 *db;
    struct icx_pg *pg;  /* the PostgreSQL engine (db is then NULL) */
    char path[PATH_MAX_STORE];
    char head[PATH_MAX_STORE + 8]; /* the head file, "" when none is kept */
    int version;
    icx_st st[ST__COUNT];
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
int icx_sq_step(icx_store *s, icx_st *st);
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
/* store_head.c: the head file's path (SQLite: "<store>.head"; PostgreSQL:
 * icx_store_set_head's, else "" for none) into out (n bytes:
 * PATH_MAX_STORE + 8 holds it).  With none, icx_sq_head_write writes
 * nothing. */
void icx_sq_head_path(char *out, size_t n, const icx_store *s);
/* Writes the head file of checkpoint c beside the store; call only once
 * the checkpoint's transaction has committed. */
int icx_sq_head_write(icx_store *s, const icx_checkpoint *c, icx_err *err);
/* Parses the head file at path into c: ICX_ENOTFOUND when there is none,
 * ICX_ECORRUPT (naming path:line) when it is not one. */
int icx_sq_head_read(icx_checkpoint *c, const char *path, icx_err *err);
/* store_audit.c: a checkpoint from a row of columns size, gateway, root,
 * time, signature. */
void icx_sq_cp_from_row(icx_checkpoint *c, icx_st *st);
/* Steps st (bound by the caller) for one checkpoint row into c, then
 * resets it: ICX_OK, ICX_ENOTFOUND when there is none, or the failure. */
int icx_sq_cp_one(icx_store *s, icx_st *st, icx_checkpoint *c,
                  const char *op, icx_err *err);
/* store_audit.c: appends one audit record inside the current
 * transaction. */
int icx_sq_audit_append(icx_store *s, const char *event, const char *mid,
                        const char *partner, const char *detail,
                        const char *op, icx_err *err);

/* store_pg.c: the PostgreSQL half of the seam (see there). */
int icx_pg_open(icx_store *s, const char *url, icx_err *err);
/* A read-only session (default_transaction_read_only), no migration. */
int icx_pg_open_reader(icx_store *s, const char *url, icx_err *err);
int icx_pg_open_peer(icx_store *s, const icx_store *of, icx_err *err);
void icx_pg_free(icx_store *s);
int icx_pg_prepare(icx_store *s, const char *sql, icx_st *out);
void icx_pg_finalize(icx_st *st);
int icx_pg_is_url(const char *path);
void icx_pg_bind(struct icx_pgst *p, int i, const void *v, size_t len,
                 int binary);
void icx_pg_bind_int64(struct icx_pgst *p, int i, int64_t v);
int icx_pg_step(struct icx_pgst *p);
void icx_pg_reset(struct icx_pgst *p);
int64_t icx_pg_col_int64(struct icx_pgst *p, int i);
const char *icx_pg_col_text(struct icx_pgst *p, int i);
const void *icx_pg_col_blob(struct icx_pgst *p, int i);
size_t icx_pg_col_bytes(struct icx_pgst *p, int i);
int icx_pg_changes(const struct icx_pg *pg);
int icx_pg_leads(struct icx_pg *pg);
int icx_pg_in_tx(const struct icx_pg *pg);
const char *icx_pg_errmsg(const struct icx_pg *pg);

static inline void icx_db_bind_text(icx_st *st, int i, const char *v)
{
    if (st->pg != NULL)
        icx_pg_bind(st->pg, i, v, v != NULL ? strlen(v) : 0, 0);
    else
        sqlite3_bind_text(st->sq, i, v, -1, SQLITE_STATIC);
}

static inline void icx_db_bind_null(icx_st *st, int i)
{
    if (st->pg != NULL)
        icx_pg_bind(st->pg, i, NULL, 0, 0);
    else
        sqlite3_bind_null(st->sq, i);
}

/* Bytes, kept by pointer until the step (SQLITE_STATIC). */
static inline void icx_db_bind_blob(icx_st *st, int i, const void *p,
                                    size_t len)
{
    if (st->pg != NULL)
        icx_pg_bind(st->pg, i, p != NULL ? p : "", len, 1);
    else if (len == 0)
        sqlite3_bind_zeroblob(st->sq, i, 0);
    else
        sqlite3_bind_blob64(st->sq, i, p, len, SQLITE_STATIC);
}

static inline void icx_db_bind_int64(icx_st *st, int i, int64_t v)
{
    if (st->pg != NULL)
        icx_pg_bind_int64(st->pg, i, v);
    else
        sqlite3_bind_int64(st->sq, i, v);
}

/* SQLITE_ROW, SQLITE_DONE or an SQLite error code. */
static inline int icx_db_step(icx_st *st)
{
    return st->pg != NULL ? icx_pg_step(st->pg) : sqlite3_step(st->sq);
}

static inline int64_t icx_db_col_int64(icx_st *st, int i)
{
    return st->pg != NULL ? icx_pg_col_int64(st->pg, i)
                          : sqlite3_column_int64(st->sq, i);
}

static inline int icx_db_col_int(icx_st *st, int i)
{
    return (int)icx_db_col_int64(st, i);
}

static inline int icx_db_col_null(icx_st *st, int i)
{
    return st->pg != NULL ? icx_pg_col_text(st->pg, i) == NULL
                          : sqlite3_column_type(st->sq, i) == SQLITE_NULL;
}

/* NULL for SQL NULL. */
static inline const char *icx_db_col_text(icx_st *st, int i)
{
    return st->pg != NULL ? icx_pg_col_text(st->pg, i)
                          : (const char *)sqlite3_column_text(st->sq, i);
}

static inline const void *icx_db_col_blob(icx_st *st, int i)
{
    return st->pg != NULL ? icx_pg_col_blob(st->pg, i)
                          : sqlite3_column_blob(st->sq, i);
}

static inline size_t icx_db_col_bytes(icx_st *st, int i)
{
    return st->pg != NULL ? icx_pg_col_bytes(st->pg, i)
                          : (size_t)sqlite3_column_bytes(st->sq, i);
}

/* Rows changed by the last INSERT, UPDATE or DELETE. */
static inline int icx_db_changes(const icx_store *s)
{
    return s->pg != NULL ? icx_pg_changes(s->pg) : sqlite3_changes(s->db);
}

/* 1 while a transaction is open on the connection. */
static inline int icx_db_in_tx(const icx_store *s)
{
    return s->pg != NULL ? icx_pg_in_tx(s->pg)
                         : !sqlite3_get_autocommit(s->db);
}

static inline const char *icx_db_errmsg(const icx_store *s)
{
    return s->pg != NULL ? icx_pg_errmsg(s->pg) : sqlite3_errmsg(s->db);
}

/* A statement of its own (checks, tools): sql is the same for both
 * engines, ?N placeholders; freed with icx_db_finalize. */
static inline int icx_db_prepare(icx_store *s, const char *sql, icx_st *out)
{
    out->pg = NULL;
    out->sq = NULL;
    if (s->pg != NULL)
        return icx_pg_prepare(s, sql, out);
    return sqlite3_prepare_v2(s->db, sql, -1, &out->sq, NULL);
}

static inline void icx_db_finalize(icx_st *st)
{
    if (st->pg != NULL)
        icx_pg_finalize(st);
    else
        sqlite3_finalize(st->sq);
    st->sq = NULL;
}

static inline void done(icx_st *st)
{
    if (st->pg != NULL) {
        icx_pg_reset(st->pg);
        return;
    }
    sqlite3_reset(st->sq);
    sqlite3_clear_bindings(st->sq);
}

static inline const char *col_str(icx_st *st, int i)
{
    const char *t = icx_db_col_text(st, i);
    return t != NULL ? t : "";
}

static inline void col_copy(char *dst, size_t n, icx_st *st, int i)
{
    const char *t = icx_db_col_text(st, i);
    size_t len = t != NULL ? icx_db_col_bytes(st, i) : 0;
    if (len > n - 1)
        len = n - 1;
    if (len > 0)
        memcpy(dst, t, len);
    dst[len] = '\0';
}

#endif
