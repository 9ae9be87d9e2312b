/*
 * store_sqlite.c - the store of store.h on SQLite: WAL, synchronous=FULL,
 * numbered migrations, statements prepared once at open.  Steps, error
 * mapping and transactions are in store_tx.c (below this file), the audit
 * chain in store_audit.c, the outbox, inbox and receipts in store_queue.c
 * (above it); docs/STORE.md describes tables and records.
 *
 * Guarantee: every mutating call runs inside a transaction - its own
 * (BEGIN IMMEDIATE ... COMMIT) or the caller's explicit one - and writes its
 * audit record in that same transaction.  A transition is an UPDATE guarded
 * by the from-state and checked with sqlite3_changes(); when no row matched
 * nothing is written and the call returns ICX_ENOTFOUND.  When a step fails
 * after a change was made, an own transaction is rolled back; the caller's
 * explicit transaction is marked failed, and icx_store_commit then refuses
 * it (rolls it back), so a change never commits without its record.
 *
 * Audit chain: the last seq and hash are kept in memory (read at open) so an
 * append does not query.  They are saved at BEGIN and restored on ROLLBACK.
 * At every BEGIN, PRAGMA data_version tells whether another connection (say
 * an `icx` command next to the daemon) committed meanwhile; only then is the
 * tail read again, so two processes never fork the chain.
 *
 * Ownership: the store owns its connection and its statements; rows go out
 * by value, bytes into caller icx_bufs.  Threads: one thread at a time (the
 * connection is opened NOMUTEX).  Listing callbacks must not call the same
 * listing function again (its statement is in use).
 * Failure: SQLITE_FULL -> ICX_EFULL, unique constraint -> ICX_EEXIST,
 * busy/locked -> ICX_EAGAIN, other -> ICX_ESTORE; messages name the file
 * and the operation.
 */
#include "store_int.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- schema ------------------------------------------------------------ */

/* Migration N is migrations[N - 1]; each runs in its own transaction with
 * its schema_version row.  Append only: never edit an applied migration. */
static const char *const migrations[] = {
    /* 1: outbox, inbox (with the replay cache), receipts, audit. */
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY,"
    " message_id TEXT NOT NULL CHECK (message_id <> ''),"
    " next_hop TEXT NOT NULL CHECK (next_hop <> ''),"
    " recipient TEXT NOT NULL,"
    " sender TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('queued','sent','delivered','failed','refused')),"
    " attempts INTEGER NOT NULL CHECK (attempts >= 0),"
    " created_at INTEGER NOT NULL,"
    " next_attempt_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " reason TEXT,"
    " envelope BLOB NOT NULL,"
    " UNIQUE (message_id, next_hop));"
    "CREATE INDEX outbox_due ON outbox (state, next_attempt_at);"
    /* replay_held is 1 while (sender, message_id) is in the replay cache
     * and NULL once icx_store_in_expire released it: NULLs are distinct in
     * a UNIQUE index, so released rows stay and the key can be used again. */
    "CREATE TABLE inbox ("
    " id INTEGER PRIMARY KEY,"
    " sender TEXT NOT NULL CHECK (sender <> ''),"
    " message_id TEXT NOT NULL CHECK (message_id <> ''),"
    " recipient TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " peer TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('received','accepted','rejected')),"
    " reason TEXT NOT NULL DEFAULT '',"
    " received_at INTEGER NOT NULL,"
    " replay_held INTEGER DEFAULT 1 CHECK (replay_held IS NULL OR replay_held = 1),"
    " envelope BLOB NOT NULL,"
    " receipt BLOB,"
    " UNIQUE (sender, message_id, replay_held));"
    "CREATE INDEX inbox_replay_age ON inbox (received_at)"
    " WHERE replay_held IS NOT NULL;"
    "CREATE TABLE receipts ("
    " id INTEGER PRIMARY KEY,"
    " message_id TEXT NOT NULL CHECK (message_id <> ''),"
    " issuer TEXT NOT NULL CHECK (issuer <> ''),"
    " positive INTEGER NOT NULL CHECK (positive IN (0, 1)),"
    " reason TEXT NOT NULL DEFAULT '',"
    " hop INTEGER NOT NULL CHECK (hop IN (0, 1)),"
    " received_at INTEGER NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " envelope BLOB NOT NULL,"
    " UNIQUE (message_id, issuer));"
    "CREATE TABLE audit ("
    " seq INTEGER PRIMARY KEY CHECK (seq >= 1),"
    " ts TEXT NOT NULL,"
    " event TEXT NOT NULL,"
    " message_id TEXT NOT NULL DEFAULT '',"
    " partner TEXT NOT NULL DEFAULT '',"
    " detail TEXT NOT NULL DEFAULT '',"
    " prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL);"
    "CREATE INDEX audit_message ON audit (message_id);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;",
    /* 2: signed checkpoints of the audit tree (docs/AUDIT.md). */
    "CREATE TABLE checkpoints ("
    " size INTEGER PRIMARY KEY CHECK (size >= 1),"
    " gateway TEXT NOT NULL,"
    " root TEXT NOT NULL,"
    " time TEXT NOT NULL,"
    " signature TEXT NOT NULL);"
    "CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints"
    " BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;"
    "CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints"
    " BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;",
    /* 3: outbound envelope bytes in their own table, written once: the
     * outbox row changes size with every state change, and SQLite rewrites
     * a whole row (blob included) when it does. */
    "CREATE TABLE outbox_envelope ("
    " outbox_id INTEGER PRIMARY KEY REFERENCES outbox (id),"
    " envelope BLOB NOT NULL);"
    "INSERT INTO outbox_envelope (outbox_id, envelope)"
    " SELECT id, envelope FROM outbox;"
    "ALTER TABLE outbox DROP COLUMN envelope;",
    /* 4: RFC 3161 time-stamp tokens over checkpoints (docs/AUDIT.md,
     * "Time-stamps"): one per checkpoint, written once. */
    "CREATE TABLE checkpoint_stamps ("
    " size INTEGER PRIMARY KEY REFERENCES checkpoints (size),"
    " gen_time TEXT NOT NULL,"
    " gen_epoch INTEGER NOT NULL,"
    " serial TEXT NOT NULL,"
    " policy TEXT NOT NULL,"
    " stamped_at TEXT NOT NULL,"
    " token BLOB NOT NULL);"
    "CREATE TRIGGER checkpoint_stamps_no_update BEFORE UPDATE ON "
    " checkpoint_stamps"
    " BEGIN SELECT RAISE(ABORT, 'time-stamps are append-only'); END;"
    "CREATE TRIGGER checkpoint_stamps_no_delete BEFORE DELETE ON "
    " checkpoint_stamps"
    " BEGIN SELECT RAISE(ABORT, 'time-stamps are append-only'); END;",
    /* 5: partners' checkpoints this gateway witnessed (docs/AUDIT.md,
     * "Witnesses"): each one received, with the verdict and, when it was
     * good, this gateway's co-signature. */
    "CREATE TABLE witnessed ("
    " id INTEGER PRIMARY KEY,"
    " partner TEXT NOT NULL CHECK (partner <> ''),"
    " size INTEGER NOT NULL CHECK (size >= 1),"
    " root TEXT NOT NULL,"
    " time TEXT NOT NULL,"
    " signature TEXT NOT NULL,"
    " seen_at TEXT NOT NULL,"
    " verdict TEXT NOT NULL CHECK (verdict IN ('first','same','consistent',"
    "  'fork','rollback','unproven','badsig','stale')),"
    " reason TEXT NOT NULL DEFAULT '',"
    " cosignature TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX witnessed_partner ON witnessed (partner, id);"
    "CREATE TRIGGER witnessed_no_update BEFORE UPDATE ON witnessed"
    " BEGIN SELECT RAISE(ABORT, 'witnessed checkpoints are append-only'); END;"
    "CREATE TRIGGER witnessed_no_delete BEFORE DELETE ON witnessed"
    " BEGIN SELECT RAISE(ABORT, 'witnessed checkpoints are append-only'); END;",
    /* 6: partners' co-signatures of this gateway's checkpoints. */
    "CREATE TABLE cosignatures ("
    " id INTEGER PRIMARY KEY,"
    " witness TEXT NOT NULL CHECK (witness <> ''),"
    " size INTEGER NOT NULL REFERENCES checkpoints (size),"
    " signature TEXT NOT NULL,"
    " received_at TEXT NOT NULL,"
    " UNIQUE (witness, size));"
    "CREATE INDEX cosignatures_size ON cosignatures (size);"
    "CREATE TRIGGER cosignatures_no_update BEFORE UPDATE ON cosignatures"
    " BEGIN SELECT RAISE(ABORT, 'co-signatures are append-only'); END;"
    "CREATE TRIGGER cosignatures_no_delete BEFORE DELETE ON cosignatures"
    " BEGIN SELECT RAISE(ABORT, 'co-signatures are append-only'); END;",
};
#define MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

#define OUT_COLS                                                              \
    "id, message_id, next_hop, recipient, sender, category, sha256, state, "  \
    "attempts, created_at, next_attempt_at, updated_at, reason"
#define IN_COLS                                                               \
    "id, sender, message_id, recipient, category, peer, sha256, state, "      \
    "reason, received_at"
/* A live replay key first, else the newest row of that pair. */
#define IN_PICK "ORDER BY replay_held IS NULL, id DESC LIMIT 1"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_DATA_VERSION] = "PRAGMA data_version",
    [ST_AUDIT_TAIL] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (seq, ts, event, message_id, "
                        "partner, detail, prev_hash, hash) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* A range on the audit_message index: the ids from ?1 below ?2. */
    [ST_AUDIT_PREFIX] = "SELECT DISTINCT message_id FROM audit WHERE "
                        "message_id >= ?1 AND message_id < ?2 "
                        "ORDER BY message_id LIMIT ?3",
    [ST_AUDIT_TIMELINE] = "SELECT seq, ts, event, message_id, partner, detail, "
                          "hash FROM audit WHERE message_id = ?1 ORDER BY seq",
    [ST_AUDIT_ALL] = "SELECT seq, ts, event, message_id, partner, detail, "
                     "prev_hash, hash FROM audit ORDER BY seq",
    [ST_AUDIT_HASHES] = "SELECT hash FROM audit ORDER BY seq",
    [ST_AUDIT_HASHES_AFTER] = "SELECT hash FROM audit WHERE seq > ?1 "
                              "ORDER BY seq",
    [ST_AUDIT_RANGE] = "SELECT seq, ts, event, message_id, partner, detail, "
                       "prev_hash, hash FROM audit WHERE seq >= ?1 AND "
                       "seq <= ?2 ORDER BY seq",
    [ST_CP_INSERT] = "INSERT INTO checkpoints (size, gateway, root, time, "
                     "signature) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_CP_ALL] = "SELECT size, gateway, root, time, signature FROM "
                  "checkpoints WHERE size <= ?1 ORDER BY size",
    [ST_CP_LAST] = "SELECT size, gateway, root, time, signature FROM "
                   "checkpoints ORDER BY size DESC LIMIT 1",
    [ST_CP_AFTER] = "SELECT size, gateway, root, time, signature FROM "
                    "checkpoints WHERE size > ?1 ORDER BY size LIMIT 1",
    [ST_CP_AT] = "SELECT size, gateway, root, time, signature FROM "
                 "checkpoints WHERE size = ?1",
    [ST_STAMP_INSERT] = "INSERT INTO checkpoint_stamps (size, gen_time, "
                        "gen_epoch, serial, policy, stamped_at, token) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_STAMP_GET] = "SELECT size, gen_time, gen_epoch, serial, policy, "
                     "stamped_at, token FROM checkpoint_stamps WHERE "
                     "size >= ?1 ORDER BY size LIMIT 1",
    [ST_STAMP_MAX] = "SELECT max(size) FROM checkpoint_stamps",
    [ST_OUT_INSERT] = "INSERT INTO outbox (message_id, next_hop, recipient, "
                      "sender, category, sha256, state, attempts, created_at, "
                      "next_attempt_at, updated_at, reason) VALUES "
                      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_OUT_ENV_INSERT] = "INSERT INTO outbox_envelope (outbox_id, envelope) "
                          "VALUES (last_insert_rowid(), ?1)",
    [ST_OUT_TRANSITION] = "UPDATE outbox SET state = ?1, attempts = ?2, "
                          "next_attempt_at = ?3, updated_at = ?4, "
                          "reason = COALESCE(?5, reason) WHERE message_id = ?6 "
                          "AND next_hop = ?7 AND state = ?8",
    [ST_OUT_DUE] = "SELECT " OUT_COLS " FROM outbox WHERE state IN "
                   "('queued', 'sent') AND next_attempt_at <= ?1 AND "
                   "(?2 IS NULL OR next_hop = ?2) "
                   "ORDER BY next_attempt_at, id LIMIT ?3",
    /* The first row of a message, found as min(id) in the unique index
     * rather than by ORDER BY id, which sorts in a temporary b-tree. */
    [ST_OUT_GET] = "SELECT " OUT_COLS " FROM outbox WHERE id = (SELECT "
                   "min(id) FROM outbox WHERE message_id = ?1 AND "
                   "(?2 IS NULL OR next_hop = ?2))",
    [ST_OUT_BY_SHA] = "SELECT " OUT_COLS " FROM outbox WHERE sha256 = ?1 AND "
                      "next_hop = ?2 ORDER BY id DESC LIMIT 1",
    /* Envelope reads bring the recorded digest along: the bytes leave
     * the store only when they still hash to it (store_queue.c). */
    [ST_OUT_ENVELOPE] = "SELECT e.envelope, o.sha256, o.next_hop FROM "
                        "outbox_envelope e JOIN outbox o ON o.id = "
                        "e.outbox_id WHERE e.outbox_id = (SELECT min(id) FROM "
                        "outbox WHERE message_id = ?1 AND (?2 IS NULL OR "
                        "next_hop = ?2))",
    [ST_OUT_LIST] = "SELECT " OUT_COLS " FROM outbox WHERE (?1 IS NULL OR "
                    "state = ?1) ORDER BY id DESC LIMIT ?2",
    [ST_OUT_DEPTHS] = "SELECT next_hop, COUNT(*) FROM outbox WHERE state IN "
                      "('queued', 'sent') GROUP BY next_hop ORDER BY next_hop",
    /* min(id) over the undelivered rows, read through outbox_due: the
     * cost grows with the queue, not with the outbox's history. */
    [ST_OUT_OLDEST] = "SELECT " OUT_COLS " FROM outbox WHERE id = (SELECT "
                      "min(id) FROM outbox WHERE state IN ('queued', 'sent'))",
    /* Aggregates for metrics (icx_store_counts): one row per group. */
    [ST_COUNT_OUT] = "SELECT next_hop, state, '', COUNT(*), "
                     "SUM(MAX(attempts - 1, 0)) FROM outbox "
                     "GROUP BY next_hop, state ORDER BY next_hop, state",
    [ST_COUNT_IN] = "SELECT sender, state, reason, COUNT(*), 0 FROM inbox "
                    "GROUP BY sender, state, reason "
                    "ORDER BY sender, state, reason",
    [ST_COUNT_RECEIPTS] = "SELECT issuer, CASE positive WHEN 1 THEN "
                          "'positive' ELSE 'negative' END, reason, COUNT(*), "
                          "0 FROM receipts GROUP BY issuer, positive, reason "
                          "ORDER BY issuer, positive, reason",
    [ST_COUNT_CP] = "SELECT '', '', '', COUNT(*), COALESCE(MAX(size), 0) "
                    "FROM checkpoints",
    [ST_OUT_WAKE] = "UPDATE outbox SET next_attempt_at = ?1 WHERE state IN "
                    "('queued', 'sent') AND next_attempt_at > ?1 AND "
                    "(?2 IS NULL OR next_hop = ?2)",
    [ST_IN_INSERT] = "INSERT INTO inbox (sender, message_id, recipient, "
                     "category, peer, sha256, state, reason, received_at, "
                     "envelope, receipt) VALUES "
                     "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_IN_LOOKUP] = "SELECT " IN_COLS ", receipt FROM inbox WHERE sender = ?1 "
                     "AND message_id = ?2 AND replay_held = 1",
    [ST_IN_SET_RECEIPT] = "UPDATE inbox SET receipt = ?3 WHERE id = (SELECT id "
                          "FROM inbox WHERE sender = ?1 AND message_id = ?2 "
                          IN_PICK ")",
    [ST_IN_ENVELOPE] = "SELECT envelope, sha256, sender FROM inbox WHERE "
                       "sender = ?1 AND message_id = ?2 " IN_PICK,
    [ST_IN_LIST] = "SELECT " IN_COLS " FROM inbox WHERE (?1 IS NULL OR "
                   "state = ?1) ORDER BY id DESC LIMIT ?2",
    [ST_IN_EXPIRE] = "UPDATE inbox SET replay_held = NULL WHERE "
                     "replay_held IS NOT NULL AND received_at < ?1",
    [ST_RECEIPT_INSERT] = "INSERT INTO receipts (message_id, issuer, positive, "
                          "reason, hop, received_at, sha256, envelope) VALUES "
                          "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_RECEIPTS] = "SELECT message_id, issuer, positive, reason, hop, "
                    "received_at, envelope, sha256 FROM receipts WHERE "
                    "message_id = ?1 ORDER BY id",
};

const char *const icx_sq_out_names[] = {"queued", "sent", "delivered",
                                        "failed", "refused"};
const char *const icx_sq_in_names[] = {"received", "accepted", "rejected"};

const char *icx_out_state_name(int state)
{
    if (state < 0 || state > ICX_OUT_REFUSED)
        return "unknown";
    return icx_sq_out_names[state];
}

const char *icx_in_state_name(int state)
{
    if (state < 0 || state > ICX_IN_REJECTED)
        return "unknown";
    return icx_sq_in_names[state];
}

int icx_sq_state_from(const char *const *names, int count, const char *name)
{
    for (int i = 0; name != NULL && i < count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

/* ---- open, migrate, free ------------------------------------------------ */

/* Creates the file 0600 before SQLite sees it (its -wal and -shm files take
 * the same mode), and refuses a file others may read. */
static int exec(icx_store *s, const char *sql, const char *op, icx_err *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? ICX_OK : icx_sq_fail(s, rc, op, err);
}

static int query_int(icx_store *s, const char *sql, int64_t *out,
                     const char *op, icx_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = ICX_OK;
    } else {
        rc = icx_sq_fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc, op, err);
    }
    sqlite3_finalize(st);
    return rc;
}

static int migrate(icx_store *s, icx_err *err)
{
    int rc = exec(s, "CREATE TABLE IF NOT EXISTS schema_version ("
                  " version INTEGER PRIMARY KEY,"
                  " applied_at TEXT NOT NULL DEFAULT"
                  " (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
                  "creating schema_version", err);
    for (int64_t cur = 0; rc == ICX_OK;) {
        char op[64];
        rc = exec(s, "BEGIN IMMEDIATE", "migrating", err);
        if (rc < 0)
            break;
        /* Read under the write lock: another process may have migrated. */
        rc = query_int(s, "SELECT COALESCE(MAX(version), 0) FROM "
                       "schema_version", &cur, "reading schema_version", err);
        if (rc == ICX_OK && cur > MIGRATIONS)
            rc = icx_err_set(err, ICX_ESTORE, "store %s: schema version %lld "
                             "is newer than this program (%d)", s->path,
                             (long long)cur, MIGRATIONS);
        if (rc == ICX_OK && cur == MIGRATIONS) {
            s->version = (int)cur;
            rc = exec(s, "COMMIT", "migrating", err);
            break;
        }
        snprintf(op, sizeof op, "migration %lld", (long long)cur + 1);
        if (rc == ICX_OK)
            rc = exec(s, migrations[cur], op, err);
        if (rc == ICX_OK) {
            char sql[96];
            snprintf(sql, sizeof sql, "INSERT INTO schema_version (version) "
                     "VALUES (%lld)", (long long)cur + 1);
            rc = exec(s, sql, op, err);
        }
        if (rc == ICX_OK)
            rc = exec(s, "COMMIT", op, err);
        if (rc < 0 && icx_db_in_tx(s))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

static int set_pragmas(icx_store *s, icx_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st,
                                NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = icx_sq_fail(s, rc, "setting journal_mode", err);
        goto out;
    }
    const unsigned char *mode = sqlite3_column_text(st, 0);
    if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
        rc = icx_err_set(err, ICX_ESTORE, "store %s: journal_mode is %s, "
                         "not wal", s->path, mode ? (const char *)mode : "?");
        goto out;
    }
    rc = exec(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
              "PRAGMA busy_timeout=5000", "setting pragmas", err);
out:
    sqlite3_finalize(st);
    return rc;
}

/* A connection to path with ICX's pragmas, nothing more; flags add to
 * SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX (SQLITE_OPEN_READONLY
 * replaces READWRITE).  Freed on failure. */
static int connect_db(icx_store **out, const char *path, int flags,
                      icx_err *err)
{
    icx_store *s = calloc(1, sizeof *s);
    int rc;
    *out = NULL;
    if (s == NULL)
        return icx_err_set(err, ICX_ENOMEM, "store %s: out of memory", path);
    memcpy(s->path, path, strlen(path) + 1);
    int mode = (flags & SQLITE_OPEN_READONLY) ? 0 : SQLITE_OPEN_READWRITE;
    rc = sqlite3_open_v2(path, &s->db, mode | SQLITE_OPEN_NOMUTEX | flags,
                         NULL);
    if (rc != SQLITE_OK) {
        rc = s->db != NULL ? icx_sq_fail(s, rc, "open", err)
                           : icx_err_set(err, ICX_ENOMEM, "store %s: open: "
                                         "out of memory", path);
    } else {
        sqlite3_extended_result_codes(s->db, 1);
        rc = set_pragmas(s, err);
    }
    if (rc < 0) {
        icx_store_free(&s);
        return rc;
    }
    *out = s;
    return ICX_OK;
}

int icx_store_open(icx_store **out, const char *path, icx_err *err)
{
    icx_store *s = NULL;
    int rc;
    *out = NULL;
    if (path == NULL || path[0] == '\0' || strlen(path) >= PATH_MAX_STORE) {
        rc = icx_err_set(err, ICX_EINVAL, "store: path empty or too long");
        goto out;
    }
    if (icx_pg_is_url(path)) {
        /* PostgreSQL (store_pg.c): its own schema and statements, the
         * same logic above them. */
        s = calloc(1, sizeof *s);
        if (s == NULL) {
            rc = icx_err_set(err, ICX_ENOMEM, "store: out of memory");
            goto out;
        }
        rc = icx_pg_open(s, path, err);
        goto tail;
    }
    rc = icx_private_file(path, "store", err);
    if (rc == ICX_OK)
        rc = connect_db(&s, path, SQLITE_OPEN_CREATE, err);
    if (rc == ICX_OK) {
        snprintf(s->head, sizeof s->head, "%s.head", path);
        rc = migrate(s, err);
    }
    for (int i = 0; rc == ICX_OK && i < ST__COUNT; i++) {
        rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
                                SQLITE_PREPARE_PERSISTENT, &s->st[i].sq,
                                NULL);
        if (rc != SQLITE_OK)
            rc = icx_sq_fail(s, rc, "preparing statements", err);
    }
tail:
    if (rc == ICX_OK) {
        s->data_version = icx_sq_data_version(s);
        rc = icx_sq_chain_load(s, "reading the audit tail", err);
    }
out:
    if (rc < 0)
        icx_store_free(&s);
    *out = s;
    return rc;
}

int icx_store_open_reader(icx_store **out, const char *path, icx_err *err)
{
    icx_store *s = NULL;
    int64_t version = 0;
    int rc;
    *out = NULL;
    if (path == NULL || path[0] == '\0' || strlen(path) >= PATH_MAX_STORE) {
        rc = icx_err_set(err, ICX_EINVAL, "store: path empty or too long");
        goto out;
    }
    if (icx_pg_is_url(path)) {
        /* PostgreSQL: a read-only session of its own (store_pg.c). */
        s = calloc(1, sizeof *s);
        if (s == NULL) {
            rc = icx_err_set(err, ICX_ENOMEM, "store: out of memory");
            goto out;
        }
        rc = icx_pg_open_reader(s, path, err);
        goto tail;
    }
    rc = connect_db(&s, path, SQLITE_OPEN_READONLY, err);
    if (rc == ICX_OK)
        rc = exec(s, "PRAGMA query_only=1", "setting query_only", err);
    if (rc == ICX_OK)
        rc = query_int(s, "SELECT COALESCE(MAX(version), 0) FROM "
                       "schema_version", &version, "reading schema_version",
                       err);
    if (rc == ICX_OK && version != MIGRATIONS)
        rc = icx_err_set(err, ICX_ESTORE, "store %s: schema version %lld, "
                         "this program reads %d", path, (long long)version,
                         MIGRATIONS);
    for (int i = 0; rc == ICX_OK && i < ST__COUNT; i++) {
        rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
                                SQLITE_PREPARE_PERSISTENT, &s->st[i].sq,
                                NULL);
        if (rc != SQLITE_OK)
            rc = icx_sq_fail(s, rc, "preparing statements", err);
    }
    if (rc == ICX_OK)
        s->version = (int)version;
tail:
    if (rc == ICX_OK) {
        s->data_version = icx_sq_data_version(s);
        rc = icx_sq_chain_load(s, "reading the audit tail", err);
    }
out:
    if (rc < 0)
        icx_store_free(&s);
    *out = s;
    return rc;
}

int icx_store_leads(icx_store *s)
{
    return s->pg == NULL || icx_pg_leads(s->pg);
}

const char *icx_store_name(const icx_store *s)
{
    return s->path;
}

int icx_store_is_url(const char *path)
{
    return icx_pg_is_url(path);
}

int icx_store_open_peer(icx_store **out, const icx_store *of, icx_err *err)
{
    if (of->pg != NULL) {
        icx_store *s = calloc(1, sizeof *s);
        int rc;
        *out = NULL;
        if (s == NULL)
            return icx_err_set(err, ICX_ENOMEM, "store: out of memory");
        rc = icx_pg_open_peer(s, of, err);
        if (rc < 0) {
            icx_store_free(&s);
            return rc;
        }
        s->version = of->version;
        *out = s;
        return ICX_OK;
    }
    int rc = connect_db(out, of->path, 0, err);
    if (rc == ICX_OK)
        (*out)->version = of->version;
    return rc;
}

void icx_store_free(icx_store **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    icx_store *s = *sp;
    icx_store_rollback(s);
    for (int i = 0; i < ST__COUNT; i++)
        if (s->st[i].pg == NULL)
            sqlite3_finalize(s->st[i].sq);
    icx_pg_free(s);
    sqlite3_close_v2(s->db);
    free(s);
    *sp = NULL;
}

int icx_store_version(icx_store *s)
{
    return s->version;
}


/* Counts the WAL's frames after every commit of this connection (the
 * daemon's); replaces SQLite's automatic checkpoint, which is off. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    icx_store *s = arg;
    uint64_t n = frames > 0 ? (uint64_t)frames : 0;
    if (n < s->wal_frames) { /* the WAL started over */
        s->wal_done = 0;
        s->wal_restarts++;
    }
    s->wal_frames = n;
    return SQLITE_OK;
}

int icx_store_manual_checkpoints(icx_store *s, icx_err *err)
{
    if (s->pg != NULL)
        return ICX_OK; /* PostgreSQL checkpoints on its own */
    int rc = exec(s, "PRAGMA wal_autocheckpoint=0", "setting checkpoints", err);
    if (rc == ICX_OK)
        sqlite3_wal_hook(s->db, wal_hook, s);
    return rc;
}

uint64_t icx_store_wal_pages(const icx_store *s)
{
    return s->wal_frames > s->wal_done ? s->wal_frames - s->wal_done : 0;
}

int icx_store_wal_checkpoint(icx_store *s, uint64_t *log, uint64_t *copied,
                             icx_err *err)
{
    int nlog = 0, nckpt = 0;
    *log = *copied = 0;
    if (s->pg != NULL)
        return ICX_OK;
    if (s->in_tx)
        return icx_err_set(err, ICX_EINVAL, "store %s: wal checkpoint inside "
                           "a transaction", s->path);
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                       &nlog, &nckpt);
    if (rc != SQLITE_OK)
        return icx_sq_fail(s, rc, "wal checkpoint", err);
    *log = nlog > 0 ? (uint64_t)nlog : 0;
    *copied = nckpt > 0 ? (uint64_t)nckpt : 0;
    return ICX_OK;
}

uint64_t icx_store_wal_restarts(const icx_store *s)
{
    return s->wal_restarts;
}

void icx_store_wal_copied(icx_store *s, uint64_t restarts, uint64_t log,
                          uint64_t copied)
{
    if (restarts != s->wal_restarts)
        return;
    /* Frames committed after the copy began are still to be copied; when
     * none are, the next commit starts the WAL over (wal_hook). */
    if (log > s->wal_frames)
        s->wal_frames = log;
    s->wal_done = copied;
}

int icx_store_idle(icx_store *s, icx_err *err)
{
    uint64_t log, copied, restarts = s->wal_restarts;
    if (s->in_tx)
        return ICX_OK;
    int rc = icx_store_wal_checkpoint(s, &log, &copied, err);
    if (rc == ICX_OK)
        icx_store_wal_copied(s, restarts, log, copied);
    return rc;
}
