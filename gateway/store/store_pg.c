/*
 * store_pg.c - the store of store.h on PostgreSQL (libpq): the engine's
 * half of the statement seam (store_int.h), its schema and numbered
 * migrations, its statements, connecting and reconnecting.
 *
 * A store path that starts with postgresql:// or postgres:// opens this
 * engine; the logic above it (transactions, the audit chain, the outbox
 * and inbox state machines, digest checks) is the SQLite store's, run
 * through icx_st.  A step runs the prepared statement once (binary
 * results) and then walks the rows of its result, so a listing callback
 * may use other statements meanwhile.  Codes come back as SQLite's:
 * unique violation -> SQLITE_CONSTRAINT_UNIQUE, disk full (53100) ->
 * SQLITE_FULL, serialization, deadlock and lock-not-available ->
 * SQLITE_BUSY, data corruption (XX001, XX002) -> SQLITE_CORRUPT, a lost
 * connection -> SQLITE_IOERR, anything else -> SQLITE_ERROR.
 *
 * Several nodes share one database.  Every transaction the store opens
 * (icx_store_begin, or a call's own) takes the transaction-level advisory
 * lock ICX_PG_LOCK_CHAIN right after BEGIN, so the audit chain has one
 * appender at a time across all nodes; the tail is read again under the
 * lock (store_tx.c).  Inserts that may meet a unique key are written
 * ON CONFLICT DO NOTHING and an insert of no row is reported as the
 * unique violation SQLite would give: a taken key never aborts the
 * caller's transaction (ICX_EEXIST leaves it usable, as on SQLite).
 * COMMIT is checked by its command tag: a transaction PostgreSQL rolled
 * back is an error, never a success.
 *
 * Connection loss: a statement outside a transaction (BEGIN, a read)
 * reconnects once (PQreset, statements prepared again) and runs again;
 * inside a transaction the call fails, the transaction is gone, and the
 * next BEGIN reconnects.  A COMMIT cut off by the connection is reported
 * failed although it may have committed: the caller acknowledges nothing,
 * and the producer's retry meets the unique keys.
 *
 * Ownership: the store owns the connection (struct icx_pg) and its
 * statements; results are freed at reset.  The URL, which may hold a
 * password, is kept here only; s->path holds it without the password,
 * for messages.  Threads: one thread at a time, as for SQLite.
 */
#include "store_int.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define PG_PARAMS 16
#define PG_URL_MAX 2048
/* Advisory lock keys: the audit chain (every store transaction) and the
 * migrations. */
#define ICX_PG_LOCK_CHAIN "1229150209" /* 0x49435801 */
#define ICX_PG_LOCK_MIGRATE "1229150210"
#define ICX_PG_LOCK_LEAD "1229150211" /* session lock: the checkpoint signer */

/* Every session: commits durable before they return; unless the URL's
 * options (or the role's settings) chose otherwise, a node that stalls
 * inside a transaction loses its session (and the chain's lock) after a
 * minute, and a node waits at most 30 s for the lock (then ICX_EAGAIN,
 * and its loop tries again). */
#define SESSION_SQL                                                           \
    "SET synchronous_commit = on; SET client_min_messages = warning; "      \
    "SET TIME ZONE 'UTC'; "                                                 \
    "SELECT set_config('idle_in_transaction_session_timeout', '60s', "      \
    "false) WHERE current_setting('idle_in_transaction_session_timeout') " \
    "= '0'; "                                                               \
    "SELECT set_config('lock_timeout', '30s', false) WHERE "                \
    "current_setting('lock_timeout') = '0'"

enum { PG_PREPARED, PG_EXEC, PG_ADHOC };

struct icx_pgst {
    struct icx_pg *pg;
    int kind;
    int index;              /* ST_* for prepared statements */
    int empty_is_unique;    /* INSERT ... ON CONFLICT DO NOTHING */
    int is_commit;
    int is_begin;
    int is_read;            /* may run again after a reconnect */
    char *sql;              /* owned for ad-hoc statements */
    const char *vals[PG_PARAMS];
    int lens[PG_PARAMS];
    int fmts[PG_PARAMS];
    char ibuf[PG_PARAMS][24];
    int nparams;
    PGresult *res;
    int row;                /* the row the last SQLITE_ROW stands on */
};

struct icx_pg {
    PGconn *conn;
    char url[PG_URL_MAX];
    int tx;                 /* a transaction is open */
    int lead;               /* this session holds ICX_PG_LOCK_LEAD */
    int reader;             /* icx_pg_open_reader's: read-only sessions */
    time_t lead_tried;
    int changes;
    char msg[512];
    struct icx_pgst st[ST__COUNT];
};

/* ---- schema ------------------------------------------------------------ */

/* Migration N is migrations[N - 1], applied in one transaction with its
 * schema_version row under ICX_PG_LOCK_MIGRATE.  Append only.  Number 1
 * is the SQLite schema at its version 3 (envelopes in a table of their
 * own), in PostgreSQL's types. */
static const char *const migrations[] = {
    "CREATE TABLE outbox ("
    " id BIGSERIAL PRIMARY KEY,"
    " message_id TEXT NOT NULL CHECK (message_id <> ''),"
    " next_hop TEXT NOT NULL CHECK (next_hop <> ''),"
    " recipient TEXT NOT NULL,"
    " sender TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('queued','sent','delivered','failed','refused')),"
    " attempts INTEGER NOT NULL CHECK (attempts >= 0),"
    " created_at BIGINT NOT NULL,"
    " next_attempt_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL,"
    " reason TEXT,"
    " UNIQUE (message_id, next_hop));"
    "CREATE INDEX outbox_due ON outbox (state, next_attempt_at);"
    "CREATE TABLE outbox_envelope ("
    " outbox_id BIGINT PRIMARY KEY REFERENCES outbox (id),"
    " envelope BYTEA NOT NULL);"
    "CREATE TABLE inbox ("
    " id BIGSERIAL PRIMARY KEY,"
    " sender TEXT NOT NULL CHECK (sender <> ''),"
    " message_id TEXT NOT NULL CHECK (message_id <> ''),"
    " recipient TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " peer TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('received','accepted','rejected')),"
    " reason TEXT NOT NULL DEFAULT '',"
    " received_at BIGINT NOT NULL,"
    " replay_held INTEGER DEFAULT 1 CHECK (replay_held IS NULL OR "
    "replay_held = 1),"
    " envelope BYTEA NOT NULL,"
    " receipt BYTEA,"
    " UNIQUE (sender, message_id, replay_held));"
    "CREATE INDEX inbox_replay_age ON inbox (received_at)"
    " WHERE replay_held IS NOT NULL;"
    "CREATE TABLE receipts ("
    " id BIGSERIAL PRIMARY KEY,"
    " message_id TEXT NOT NULL CHECK (message_id <> ''),"
    " issuer TEXT NOT NULL CHECK (issuer <> ''),"
    " positive INTEGER NOT NULL CHECK (positive IN (0, 1)),"
    " reason TEXT NOT NULL DEFAULT '',"
    " hop INTEGER NOT NULL CHECK (hop IN (0, 1)),"
    " received_at BIGINT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " envelope BYTEA NOT NULL,"
    " UNIQUE (message_id, issuer));"
    "CREATE TABLE audit ("
    " seq BIGINT PRIMARY KEY CHECK (seq >= 1),"
    " ts TEXT NOT NULL,"
    " event TEXT NOT NULL,"
    " message_id TEXT COLLATE \"C\" NOT NULL DEFAULT '',"
    " partner TEXT NOT NULL DEFAULT '',"
    " detail TEXT NOT NULL DEFAULT '',"
    " prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL);"
    "CREATE INDEX audit_message ON audit (message_id);"
    "CREATE TABLE checkpoints ("
    " size BIGINT PRIMARY KEY CHECK (size >= 1),"
    " gateway TEXT NOT NULL,"
    " root TEXT NOT NULL,"
    " time TEXT NOT NULL,"
    " signature TEXT NOT NULL);"
    "CREATE FUNCTION icx_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$BEGIN RAISE EXCEPTION '% records are append-only', TG_TABLE_NAME;"
    " END$$;"
    /* Statement triggers: they fire even when no row matches. */
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
    " ON audit FOR EACH STATEMENT EXECUTE FUNCTION icx_append_only();"
    "CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE OR"
    " TRUNCATE ON checkpoints FOR EACH STATEMENT EXECUTE FUNCTION"
    " icx_append_only();",
    /* 2: RFC 3161 time-stamp tokens over checkpoints (SQLite's 4). */
    "CREATE TABLE checkpoint_stamps ("
    " size BIGINT PRIMARY KEY REFERENCES checkpoints (size),"
    " gen_time TEXT NOT NULL,"
    " gen_epoch BIGINT NOT NULL,"
    " serial TEXT NOT NULL,"
    " policy TEXT NOT NULL,"
    " stamped_at TEXT NOT NULL,"
    " token BYTEA NOT NULL);"
    "CREATE TRIGGER checkpoint_stamps_append_only BEFORE UPDATE OR DELETE"
    " OR TRUNCATE ON checkpoint_stamps FOR EACH STATEMENT EXECUTE FUNCTION"
    " icx_append_only();",
    /* 3: partners' checkpoints witnessed, and partners' co-signatures of
     * this gateway's (SQLite's 5 and 6). */
    "CREATE TABLE witnessed ("
    " id BIGSERIAL PRIMARY KEY,"
    " partner TEXT COLLATE \"C\" NOT NULL CHECK (partner <> ''),"
    " size BIGINT NOT NULL CHECK (size >= 1),"
    " root TEXT NOT NULL,"
    " time TEXT NOT NULL,"
    " signature TEXT NOT NULL,"
    " seen_at TEXT NOT NULL,"
    " verdict TEXT NOT NULL CHECK (verdict IN ('first','same','consistent',"
    "  'fork','rollback','unproven','badsig','stale')),"
    " reason TEXT NOT NULL DEFAULT '',"
    " cosignature TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX witnessed_partner ON witnessed (partner, id);"
    "CREATE TRIGGER witnessed_append_only BEFORE UPDATE OR DELETE OR"
    " TRUNCATE ON witnessed FOR EACH STATEMENT EXECUTE FUNCTION"
    " icx_append_only();"
    "CREATE TABLE cosignatures ("
    " id BIGSERIAL PRIMARY KEY,"
    " witness TEXT COLLATE \"C\" NOT NULL CHECK (witness <> ''),"
    " size BIGINT NOT NULL REFERENCES checkpoints (size),"
    " signature TEXT NOT NULL,"
    " received_at TEXT NOT NULL,"
    " UNIQUE (witness, size));"
    "CREATE INDEX cosignatures_size ON cosignatures (size);"
    "CREATE TRIGGER cosignatures_append_only BEFORE UPDATE OR DELETE OR"
    " TRUNCATE ON cosignatures FOR EACH STATEMENT EXECUTE FUNCTION"
    " icx_append_only();",
};
#define MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

#define OUT_COLS                                                              \
    "id, message_id, next_hop, recipient, sender, category, sha256, state, "  \
    "attempts, created_at, next_attempt_at, updated_at, reason"
#define IN_COLS                                                               \
    "id, sender, message_id, recipient, category, peer, sha256, state, "      \
    "reason, received_at"
#define IN_PICK "ORDER BY replay_held IS NULL, id DESC LIMIT 1"
/* SQLite's LIMIT -1 (no limit) is LIMIT NULL here. */
#define LIMIT(n) "LIMIT CASE WHEN " n "::bigint < 0 THEN NULL ELSE " n      \
                 "::bigint END"

/* Same statements, same parameter numbers and columns as store_sqlite.c. */
static const char *const pg_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN; SELECT pg_advisory_xact_lock(" ICX_PG_LOCK_CHAIN ")",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* The chain's last seq: store_tx.c reads on from its own tail. */
    [ST_DATA_VERSION] = "SELECT COALESCE(max(seq), 0)::bigint FROM audit",
    [ST_AUDIT_TAIL] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
    [ST_AUDIT_INSERT] = "INSERT INTO audit (seq, ts, event, message_id, "
                        "partner, detail, prev_hash, hash) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                        "ON CONFLICT DO NOTHING",
    [ST_AUDIT_PREFIX] = "SELECT DISTINCT message_id FROM audit WHERE "
                        "message_id >= $1 AND message_id < $2 "
                        "ORDER BY message_id LIMIT $3",
    [ST_AUDIT_TIMELINE] = "SELECT seq, ts, event, message_id, partner, detail, "
                          "hash FROM audit WHERE message_id = $1 ORDER BY seq",
    [ST_AUDIT_ALL] = "SELECT seq, ts, event, message_id, partner, detail, "
                     "prev_hash, hash FROM audit ORDER BY seq",
    [ST_AUDIT_HASHES] = "SELECT seq, hash FROM audit WHERE seq > $1 "
                        "ORDER BY seq",
    [ST_AUDIT_RANGE] = "SELECT seq, ts, event, message_id, partner, detail, "
                       "prev_hash, hash FROM audit WHERE seq >= $1 AND "
                       "seq <= $2 ORDER BY seq",
    [ST_CP_INSERT] = "INSERT INTO checkpoints (size, gateway, root, time, "
                     "signature) VALUES ($1, $2, $3, $4, $5) "
                     "ON CONFLICT DO NOTHING",
    [ST_CP_ALL] = "SELECT size, gateway, root, time, signature FROM "
                  "checkpoints WHERE size <= $1 ORDER BY size",
    [ST_CP_LAST] = "SELECT size, gateway, root, time, signature FROM "
                   "checkpoints ORDER BY size DESC LIMIT 1",
    [ST_CP_AFTER] = "SELECT size, gateway, root, time, signature FROM "
                    "checkpoints WHERE size > $1 ORDER BY size LIMIT 1",
    [ST_CP_AT] = "SELECT size, gateway, root, time, signature FROM "
                 "checkpoints WHERE size = $1",
    [ST_STAMP_INSERT] = "INSERT INTO checkpoint_stamps (size, gen_time, "
                        "gen_epoch, serial, policy, stamped_at, token) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7) "
                        "ON CONFLICT DO NOTHING",
    [ST_STAMP_GET] = "SELECT size, gen_time, gen_epoch, serial, policy, "
                     "stamped_at, token FROM checkpoint_stamps WHERE "
                     "size >= $1 ORDER BY size LIMIT 1",
    [ST_STAMP_MAX] = "SELECT max(size) FROM checkpoint_stamps",
    [ST_AUDIT_HASHES_AFTER] = "SELECT hash FROM audit WHERE seq > $1 "
                              "ORDER BY seq",
    /* Aggregates for metrics, in SQLite's byte order of names. */
    [ST_COUNT_OUT] = "SELECT next_hop, state, ''::text, COUNT(*), "
                     "COALESCE(SUM(GREATEST(attempts - 1, 0)), 0)::bigint "
                     "FROM outbox GROUP BY next_hop, state "
                     "ORDER BY next_hop COLLATE \"C\", state COLLATE \"C\"",
    [ST_COUNT_IN] = "SELECT sender, state, reason, COUNT(*), 0::bigint FROM "
                    "inbox GROUP BY sender, state, reason ORDER BY sender "
                    "COLLATE \"C\", state COLLATE \"C\", reason COLLATE \"C\"",
    [ST_COUNT_RECEIPTS] = "SELECT issuer, CASE positive WHEN 1 THEN "
                          "'positive' ELSE 'negative' END, reason, COUNT(*), "
                          "0::bigint FROM receipts GROUP BY issuer, positive, "
                          "reason ORDER BY issuer COLLATE \"C\", positive, "
                          "reason COLLATE \"C\"",
    [ST_COUNT_CP] = "SELECT ''::text, ''::text, ''::text, COUNT(*), "
                    "COALESCE(MAX(size), 0)::bigint FROM checkpoints",
    [ST_OUT_INSERT] = "INSERT INTO outbox (message_id, next_hop, recipient, "
                      "sender, category, sha256, state, attempts, created_at, "
                      "next_attempt_at, updated_at, reason) VALUES "
                      "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
                      "ON CONFLICT DO NOTHING",
    [ST_OUT_ENV_INSERT] = "INSERT INTO outbox_envelope (outbox_id, envelope) "
                          "VALUES (currval('outbox_id_seq'), $1)",
    [ST_OUT_TRANSITION] = "UPDATE outbox SET state = $1, attempts = $2, "
                          "next_attempt_at = $3, updated_at = $4, "
                          "reason = COALESCE($5::text, reason) WHERE "
                          "message_id = $6 AND next_hop = $7 AND state = $8",
    [ST_OUT_DUE] = "SELECT " OUT_COLS " FROM outbox WHERE state IN "
                   "('queued', 'sent') AND next_attempt_at <= $1 AND "
                   "($2::text IS NULL OR next_hop = $2::text) "
                   "ORDER BY next_attempt_at, id LIMIT $3",
    [ST_OUT_GET] = "SELECT " OUT_COLS " FROM outbox WHERE id = (SELECT "
                   "min(id) FROM outbox WHERE message_id = $1 AND "
                   "($2::text IS NULL OR next_hop = $2::text))",
    [ST_OUT_BY_SHA] = "SELECT " OUT_COLS " FROM outbox WHERE sha256 = $1 AND "
                      "next_hop = $2 ORDER BY id DESC LIMIT 1",
    [ST_OUT_ENVELOPE] = "SELECT e.envelope, o.sha256, o.next_hop FROM "
                        "outbox_envelope e JOIN outbox o ON o.id = "
                        "e.outbox_id WHERE e.outbox_id = (SELECT min(id) FROM "
                        "outbox WHERE message_id = $1 AND ($2::text IS NULL "
                        "OR next_hop = $2::text))",
    [ST_OUT_LIST] = "SELECT " OUT_COLS " FROM outbox WHERE ($1::text IS NULL "
                    "OR state = $1::text) ORDER BY id DESC " LIMIT("$2"),
    [ST_OUT_DEPTHS] = "SELECT next_hop, COUNT(*) FROM outbox WHERE state IN "
                      "('queued', 'sent') GROUP BY next_hop ORDER BY next_hop",
    [ST_OUT_OLDEST] = "SELECT " OUT_COLS " FROM outbox WHERE id = (SELECT "
                      "min(id) FROM outbox WHERE state IN ('queued', 'sent'))",
    [ST_OUT_WAKE] = "UPDATE outbox SET next_attempt_at = $1 WHERE state IN "
                    "('queued', 'sent') AND next_attempt_at > $1 AND "
                    "($2::text IS NULL OR next_hop = $2::text)",
    [ST_IN_INSERT] = "INSERT INTO inbox (sender, message_id, recipient, "
                     "category, peer, sha256, state, reason, received_at, "
                     "envelope, receipt) VALUES "
                     "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
                     "ON CONFLICT DO NOTHING",
    [ST_IN_LOOKUP] = "SELECT " IN_COLS ", receipt FROM inbox WHERE sender = $1 "
                     "AND message_id = $2 AND replay_held = 1",
    [ST_IN_SET_RECEIPT] = "UPDATE inbox SET receipt = $3 WHERE id = (SELECT id "
                          "FROM inbox WHERE sender = $1 AND message_id = $2 "
                          IN_PICK ")",
    [ST_IN_ENVELOPE] = "SELECT envelope, sha256, sender FROM inbox WHERE "
                       "sender = $1 AND message_id = $2 " IN_PICK,
    [ST_IN_LIST] = "SELECT " IN_COLS " FROM inbox WHERE ($1::text IS NULL OR "
                   "state = $1::text) ORDER BY id DESC " LIMIT("$2"),
    [ST_IN_EXPIRE] = "UPDATE inbox SET replay_held = NULL WHERE "
                     "replay_held IS NOT NULL AND received_at < $1",
    [ST_RECEIPT_INSERT] = "INSERT INTO receipts (message_id, issuer, positive, "
                          "reason, hop, received_at, sha256, envelope) VALUES "
                          "($1, $2, $3, $4, $5, $6, $7, $8) "
                          "ON CONFLICT DO NOTHING",
    [ST_RECEIPTS] = "SELECT message_id, issuer, positive, reason, hop, "
                    "received_at, envelope, sha256 FROM receipts WHERE "
                    "message_id = $1 ORDER BY id",
};

/* ---- URLs ---------------------------------------------------------------- */

int icx_pg_is_url(const char *path)
{
    return path != NULL && (strncmp(path, "postgresql://", 13) == 0 ||
                            strncmp(path, "postgres://", 11) == 0);
}

/* The URL without its password (user:secret@ -> user@), for messages. */
static void redact(char *out, size_t n, const char *url)
{
    const char *auth = strstr(url, "://");
    const char *at, *colon;
    auth = auth != NULL ? auth + 3 : url;
    at = strchr(auth, '@');
    colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon == NULL)
        snprintf(out, n, "%s", url);
    else
        snprintf(out, n, "%.*s%s", (int)(colon - url), url, at);
}

/* ---- errors -------------------------------------------------------------- */

/* The message kept as one line: the server's DETAIL, HINT or CONTEXT
 * lines and libpq's second line ("Is the server running ...") follow the
 * first after "; ", so that an error never breaks a log line in two. */
static int set_msg(struct icx_pg *pg, int code, const char *what)
{
    size_t n = 0, cap = sizeof pg->msg;
    int gap = 0;
    for (const char *p = what != NULL ? what : ""; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f) {
            gap = 1;
            continue;
        }
        if (gap && n > 0) {
            if (n + 2 >= cap - 1)
                break;
            pg->msg[n++] = ';';
            pg->msg[n++] = ' ';
        }
        gap = 0;
        if (n >= cap - 1)
            break;
        pg->msg[n++] = (char)c;
    }
    while (n > 0 && pg->msg[n - 1] == ' ')
        n--;
    pg->msg[n] = '\0';
    return code;
}

/* An SQLite code for a failed result (res may be NULL: no answer). */
static int map_result(struct icx_pg *pg, const PGresult *res)
{
    const char *state = res != NULL
                            ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                            : NULL;
    const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;
    if (msg == NULL || msg[0] == '\0')
        msg = PQerrorMessage(pg->conn);
    if (PQstatus(pg->conn) == CONNECTION_BAD || state == NULL ||
        strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
        pg->tx = 0;
        return set_msg(pg, SQLITE_IOERR, msg);
    }
    if (strcmp(state, "23505") == 0)
        return set_msg(pg, SQLITE_CONSTRAINT_UNIQUE, msg);
    if (strncmp(state, "23", 2) == 0)
        return set_msg(pg, SQLITE_CONSTRAINT, msg);
    if (strcmp(state, "53100") == 0)
        return set_msg(pg, SQLITE_FULL, msg);
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "55P03") == 0)
        return set_msg(pg, SQLITE_BUSY, msg);
    if (strcmp(state, "XX001") == 0 || strcmp(state, "XX002") == 0)
        return set_msg(pg, SQLITE_CORRUPT, msg);
    return set_msg(pg, SQLITE_ERROR, msg);
}

/* An ICX error for a failed open step (icx_sq_fail's mapping, which lives
 * above this file). */
static int open_fail(icx_store *s, int code, const char *op, icx_err *err)
{
    int icx = code == SQLITE_FULL ? ICX_EFULL
              : code == SQLITE_BUSY ? ICX_EAGAIN
              : code == SQLITE_CORRUPT ? ICX_ECORRUPT
              : code == SQLITE_NOMEM ? ICX_ENOMEM
                                     : ICX_ESTORE;
    return icx_err_set(err, icx, "store %s: %s: %s", s->path, op,
                       s->pg->msg);
}

/* ---- connecting ---------------------------------------------------------- */

static int exec_ok(struct icx_pg *pg, const char *sql)
{
    PGresult *res = PQexec(pg->conn, sql);
    ExecStatusType t = PQresultStatus(res);
    int rc = SQLITE_OK;
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
        rc = map_result(pg, res);
    PQclear(res);
    return rc;
}

static int prepare_all(struct icx_pg *pg)
{
    for (int i = 0; i < ST__COUNT; i++) {
        struct icx_pgst *p = &pg->st[i];
        char name[16];
        p->pg = pg;
        p->index = i;
        p->kind = i == ST_BEGIN || i == ST_COMMIT || i == ST_ROLLBACK
                      ? PG_EXEC
                      : PG_PREPARED;
        p->is_begin = i == ST_BEGIN;
        p->is_commit = i == ST_COMMIT;
        if (pg_sql[i] == NULL)
            return set_msg(pg, SQLITE_ERROR, "a statement has no "
                           "PostgreSQL form");
        p->is_read = strncmp(pg_sql[i], "SELECT", 6) == 0;
        p->empty_is_unique = strstr(pg_sql[i], "ON CONFLICT DO NOTHING") !=
                             NULL;
        if (p->kind != PG_PREPARED)
            continue;
        snprintf(name, sizeof name, "icx%d", i);
        PGresult *res = PQprepare(pg->conn, name, pg_sql[i], 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            int rc = map_result(pg, res);
            PQclear(res);
            return rc;
        }
        PQclear(res);
    }
    return SQLITE_OK;
}

/* A reader's session writes nothing: every transaction of it is READ
 * ONLY, so a write fails (SQLITE_ERROR, ICX_ESTORE above). */
#define READER_SQL "SET default_transaction_read_only = on"

static int session(struct icx_pg *pg)
{
    int rc = exec_ok(pg, SESSION_SQL);
    if (rc == SQLITE_OK && pg->reader)
        rc = exec_ok(pg, READER_SQL);
    return rc == SQLITE_OK ? prepare_all(pg) : rc;
}

/* After a lost connection, outside any transaction: connect again. */
static int reconnect(struct icx_pg *pg)
{
    PQreset(pg->conn);
    pg->tx = 0;
    pg->lead = 0; /* a session lock does not survive its session */
    if (PQstatus(pg->conn) != CONNECTION_OK)
        return set_msg(pg, SQLITE_IOERR, PQerrorMessage(pg->conn));
    icx_log_info("store.reconnected", "engine=postgresql");
    return session(pg);
}

static int migrate(icx_store *s, icx_err *err)
{
    struct icx_pg *pg = s->pg;
    int rc = exec_ok(pg, "BEGIN; SELECT pg_advisory_xact_lock(" ICX_PG_LOCK_MIGRATE "); "
                         "CREATE TABLE IF NOT EXISTS schema_version ("
                         " version INTEGER PRIMARY KEY,"
                         " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    int64_t cur = 0;
    if (rc == SQLITE_OK) {
        PGresult *res = PQexec(pg->conn, "SELECT COALESCE(MAX(version), 0) "
                                         "FROM schema_version");
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            cur = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        else
            rc = map_result(pg, res);
        PQclear(res);
    }
    if (rc != SQLITE_OK) {
        rc = open_fail(s, rc, "reading schema_version", err);
        goto out;
    }
    if (cur > MIGRATIONS) {
        rc = icx_err_set(err, ICX_ESTORE, "store %s: schema version %lld is "
                         "newer than this program (%d)", s->path,
                         (long long)cur, MIGRATIONS);
        goto out;
    }
    for (; cur < MIGRATIONS; cur++) {
        char op[64], sql[96];
        snprintf(op, sizeof op, "migration %lld", (long long)cur + 1);
        snprintf(sql, sizeof sql, "INSERT INTO schema_version (version) "
                 "VALUES (%lld)", (long long)cur + 1);
        rc = exec_ok(pg, migrations[cur]);
        if (rc == SQLITE_OK)
            rc = exec_ok(pg, sql);
        if (rc != SQLITE_OK) {
            rc = open_fail(s, rc, op, err);
            goto out;
        }
    }
    rc = exec_ok(pg, "COMMIT");
    if (rc != SQLITE_OK) {
        rc = open_fail(s, rc, "migrating", err);
        goto out;
    }
    s->version = (int)cur;
    return ICX_OK;
out:
    exec_ok(pg, "ROLLBACK");
    return rc;
}

static int connect_pg(icx_store *s, const char *url, icx_err *err)
{
    struct icx_pg *pg;
    if (strlen(url) >= PG_URL_MAX)
        return icx_err_set(err, ICX_EINVAL, "store: URL too long");
    pg = calloc(1, sizeof *pg);
    if (pg == NULL)
        return icx_err_set(err, ICX_ENOMEM, "store: out of memory");
    s->pg = pg;
    memcpy(pg->url, url, strlen(url) + 1);
    redact(s->path, sizeof s->path, url);
    pg->conn = PQconnectdb(url);
    if (pg->conn == NULL)
        return icx_err_set(err, ICX_ENOMEM, "store %s: out of memory",
                           s->path);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        set_msg(pg, SQLITE_IOERR, PQerrorMessage(pg->conn));
        return icx_err_set(err, ICX_ESTORE, "store %s: cannot connect: %s",
                           s->path, pg->msg);
    }
    return ICX_OK;
}

int icx_pg_open(icx_store *s, const char *url, icx_err *err)
{
    int rc = connect_pg(s, url, err);
    if (rc == ICX_OK) {
        int sq = exec_ok(s->pg, SESSION_SQL);
        rc = sq == SQLITE_OK ? migrate(s, err)
                             : open_fail(s, sq, "connecting", err);
    }
    if (rc == ICX_OK) {
        int sq = prepare_all(s->pg);
        if (sq != SQLITE_OK)
            rc = open_fail(s, sq, "preparing statements", err);
    }
    for (int i = 0; rc == ICX_OK && i < ST__COUNT; i++)
        s->st[i].pg = &s->pg->st[i];
    return rc;
}

int icx_pg_open_reader(icx_store *s, const char *url, icx_err *err)
{
    int64_t cur = -1;
    int rc = connect_pg(s, url, err);
    if (rc == ICX_OK) {
        s->pg->reader = 1;
        int sq = exec_ok(s->pg, SESSION_SQL);
        if (sq == SQLITE_OK)
            sq = exec_ok(s->pg, READER_SQL);
        if (sq != SQLITE_OK)
            rc = open_fail(s, sq, "connecting", err);
    }
    /* No migration: the schema must be this program's already. */
    if (rc == ICX_OK) {
        PGresult *res = PQexec(s->pg->conn, "SELECT COALESCE(MAX(version), "
                                            "0) FROM schema_version");
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            cur = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        else
            rc = open_fail(s, map_result(s->pg, res), "reading "
                           "schema_version", err);
        PQclear(res);
    }
    if (rc == ICX_OK && cur != MIGRATIONS)
        rc = icx_err_set(err, ICX_ESTORE, "store %s: schema version %lld, "
                         "this program reads %d", s->path, (long long)cur,
                         MIGRATIONS);
    if (rc == ICX_OK) {
        int sq = prepare_all(s->pg);
        if (sq != SQLITE_OK)
            rc = open_fail(s, sq, "preparing statements", err);
    }
    for (int i = 0; rc == ICX_OK && i < ST__COUNT; i++)
        s->st[i].pg = &s->pg->st[i];
    if (rc == ICX_OK)
        s->version = (int)cur;
    return rc;
}

int icx_pg_open_peer(icx_store *s, const icx_store *of, icx_err *err)
{
    /* The daemon's checkpointer asks a peer for WAL copies: PostgreSQL
     * has none to give, so the peer holds no connection. */
    snprintf(s->path, sizeof s->path, "%s", of->path);
    s->pg = calloc(1, sizeof *s->pg);
    if (s->pg == NULL)
        return icx_err_set(err, ICX_ENOMEM, "store: out of memory");
    return ICX_OK;
}

void icx_pg_free(icx_store *s)
{
    struct icx_pg *pg = s->pg;
    if (pg == NULL)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        icx_pg_reset(&pg->st[i]);
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    OPENSSL_cleanse(pg->url, sizeof pg->url);
    free(pg);
    s->pg = NULL;
}

/* ---- statements ---------------------------------------------------------- */

int icx_pg_prepare(icx_store *s, const char *sql, icx_st *out)
{
    struct icx_pgst *p = calloc(1, sizeof *p);
    size_t n = strlen(sql);
    if (p == NULL || (p->sql = malloc(n + 1)) == NULL) {
        free(p);
        return set_msg(s->pg, SQLITE_NOMEM, "out of memory");
    }
    /* ?N placeholders become $N. */
    for (size_t i = 0; i <= n; i++)
        p->sql[i] = sql[i] == '?' ? '$' : sql[i];
    p->pg = s->pg;
    p->kind = PG_ADHOC;
    p->is_read = strncmp(sql, "SELECT", 6) == 0;
    p->empty_is_unique = strstr(sql, "ON CONFLICT DO NOTHING") != NULL;
    out->pg = p;
    out->sq = NULL;
    return SQLITE_OK;
}

void icx_pg_finalize(icx_st *st)
{
    if (st->pg == NULL)
        return;
    icx_pg_reset(st->pg);
    free(st->pg->sql);
    free(st->pg);
    st->pg = NULL;
}

void icx_pg_bind(struct icx_pgst *p, int i, const void *v, size_t len,
                 int binary)
{
    if (i < 1 || i > PG_PARAMS)
        return;
    p->vals[i - 1] = v;
    p->lens[i - 1] = (int)len;
    p->fmts[i - 1] = binary;
    if (i > p->nparams)
        p->nparams = i;
}

void icx_pg_bind_int64(struct icx_pgst *p, int i, int64_t v)
{
    if (i < 1 || i > PG_PARAMS)
        return;
    snprintf(p->ibuf[i - 1], sizeof p->ibuf[i - 1], "%lld", (long long)v);
    icx_pg_bind(p, i, p->ibuf[i - 1], strlen(p->ibuf[i - 1]), 0);
}

void icx_pg_reset(struct icx_pgst *p)
{
    if (p == NULL)
        return;
    PQclear(p->res);
    p->res = NULL;
    p->row = -1;
    p->nparams = 0;
    memset(p->vals, 0, sizeof p->vals);
}

static PGresult *run(struct icx_pgst *p)
{
    struct icx_pg *pg = p->pg;
    char name[16];
    if (p->kind == PG_EXEC)
        return PQexec(pg->conn, pg_sql[p->index]);
    if (p->kind == PG_ADHOC)
        return PQexecParams(pg->conn, p->sql, p->nparams, NULL, p->vals,
                            p->lens, p->fmts, 1);
    snprintf(name, sizeof name, "icx%d", p->index);
    return PQexecPrepared(pg->conn, name, p->nparams, p->vals, p->lens,
                          p->fmts, 1);
}

static int first_step(struct icx_pgst *p)
{
    struct icx_pg *pg = p->pg;
    int retry = !pg->tx && (p->is_begin || p->is_read || p->index ==
                            ST_ROLLBACK);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        if (pg->tx || p->index == ST_ROLLBACK) {
            pg->tx = 0;
            return set_msg(pg, SQLITE_IOERR, "connection to the database "
                           "lost inside a transaction");
        }
        int rc = reconnect(pg);
        if (rc != SQLITE_OK)
            return rc;
    }
    p->res = run(p);
    ExecStatusType t = PQresultStatus(p->res);
    if ((t == PGRES_FATAL_ERROR || p->res == NULL) &&
        PQstatus(pg->conn) != CONNECTION_OK && retry &&
        p->index != ST_ROLLBACK) {
        PQclear(p->res);
        p->res = NULL;
        int rc = reconnect(pg);
        if (rc != SQLITE_OK)
            return rc;
        p->res = run(p);
        t = PQresultStatus(p->res);
    }
    if (p->index == ST_ROLLBACK || p->is_commit)
        pg->tx = 0;
    if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK) {
        const char *tag = PQcmdStatus(p->res);
        pg->changes = (int)strtol(PQcmdTuples(p->res), NULL, 10);
        if (p->is_begin)
            pg->tx = 1;
        if (p->is_commit && strcmp(tag, "COMMIT") != 0)
            return set_msg(pg, SQLITE_ERROR, "the transaction had failed "
                           "and was rolled back");
        if (p->empty_is_unique && t == PGRES_COMMAND_OK && pg->changes == 0)
            return set_msg(pg, SQLITE_CONSTRAINT_UNIQUE, "duplicate key: "
                           "already stored");
        if (t == PGRES_TUPLES_OK && p->kind != PG_EXEC && PQntuples(p->res) > 0) {
            p->row = 0;
            return SQLITE_ROW;
        }
        return SQLITE_DONE;
    }
    int rc = map_result(pg, p->res);
    /* A BEGIN whose lock was not granted (lock_timeout) leaves an aborted
     * transaction open: end it, or every later BEGIN would fail. */
    if (p->is_begin && PQstatus(pg->conn) == CONNECTION_OK &&
        PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(pg->conn, "ROLLBACK");
        PQclear(r);
    }
    return rc;
}

int icx_pg_step(struct icx_pgst *p)
{
    if (p->pg->conn == NULL)
        return set_msg(p->pg, SQLITE_MISUSE, "not connected");
    if (p->res == NULL)
        return first_step(p);
    if (PQresultStatus(p->res) != PGRES_TUPLES_OK || p->row < 0)
        return SQLITE_DONE;
    if (p->row + 1 < PQntuples(p->res)) {
        p->row++;
        return SQLITE_ROW;
    }
    p->row = PQntuples(p->res);
    return SQLITE_DONE;
}

static int has_value(const struct icx_pgst *p, int i)
{
    return p->res != NULL && p->row >= 0 && p->row < PQntuples(p->res) &&
           i >= 0 && i < PQnfields(p->res) && !PQgetisnull(p->res, p->row, i);
}

int64_t icx_pg_col_int64(struct icx_pgst *p, int i)
{
    if (!has_value(p, i))
        return 0;
    const unsigned char *v =
        (const unsigned char *)PQgetvalue(p->res, p->row, i);
    int len = PQgetlength(p->res, p->row, i);
    uint64_t u = 0;
    if (PQfformat(p->res, i) == 0)
        return strtoll((const char *)v, NULL, 10);
    if (len != 2 && len != 4 && len != 8)
        return 0;
    for (int k = 0; k < len; k++)
        u = (u << 8) | v[k];
    if (len == 2)
        return (int16_t)u;
    if (len == 4)
        return (int32_t)u;
    return (int64_t)u;
}

const char *icx_pg_col_text(struct icx_pgst *p, int i)
{
    /* libpq ends every value with a NUL, binary ones included. */
    return has_value(p, i) ? PQgetvalue(p->res, p->row, i) : NULL;
}

const void *icx_pg_col_blob(struct icx_pgst *p, int i)
{
    return has_value(p, i) ? PQgetvalue(p->res, p->row, i) : NULL;
}

size_t icx_pg_col_bytes(struct icx_pgst *p, int i)
{
    return has_value(p, i) ? (size_t)PQgetlength(p->res, p->row, i) : 0;
}

int icx_pg_changes(const struct icx_pg *pg)
{
    return pg->changes;
}

int icx_pg_leads(struct icx_pg *pg)
{
    time_t now = time(NULL);
    if (pg->conn == NULL)
        return 0;
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        pg->lead = 0;
        return 0;
    }
    if (pg->lead || now == pg->lead_tried)
        return pg->lead;
    pg->lead_tried = now;
    PGresult *res = PQexec(pg->conn, "SELECT pg_try_advisory_lock("
                                     ICX_PG_LOCK_LEAD ")");
    pg->lead = PQresultStatus(res) == PGRES_TUPLES_OK &&
               PQntuples(res) == 1 &&
               strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (pg->lead)
        icx_log_info("store.lead", "engine=postgresql role=checkpoint-signer");
    return pg->lead;
}

int icx_pg_in_tx(const struct icx_pg *pg)
{
    return pg->tx;
}

const char *icx_pg_errmsg(const struct icx_pg *pg)
{
    return pg->msg;
}
