/*
 * store.h - the durable store: outbox and inbox state machines, the replay
 * cache, receipts and the audit chain, behind one interface.
 *
 * Two engines behind the same functions, chosen by the path given to
 * icx_store_open: a file is SQLite in WAL mode with synchronous=FULL (see
 * store_sqlite.c); a postgresql:// (or postgres://) URL is PostgreSQL
 * (store_pg.c), which several nodes may share (docs/STORE.md).  Schema
 * changes are numbered migrations applied at open, per engine.
 *
 * Delivery guarantee: a producer is acknowledged only after COMMIT.  Every
 * state transition is `UPDATE ... WHERE state = <from>` checked by its row
 * count, in the same transaction as its audit record: never a change
 * without its record, never a record for a change that did not happen.
 * Several transitions may share one transaction (icx_store_begin/commit)
 * so that a busy loop commits once per batch.
 *
 * Outbound states: queued -> sent -> delivered | failed | refused
 *   (queued|sent -> failed after the maximum age; any -> refused on a
 *   negative receipt; refused at submit when egress policy forbids it).
 * Inbound states: received -> accepted | rejected (a verified envelope is
 *   stored accepted or rejected in one step; received exists for relays and
 *   for engines that store before verifying).
 *
 * Envelope bytes are stored exactly as given, never re-serialized.
 *
 * Ownership: the store owns its connection; rows returned by value hold
 * inline strings; byte outputs go into caller icx_bufs.  Threads: one
 * thread (the broker loop, or one CLI command) uses a store at a time.
 * Errors: ICX_ENOTFOUND (no row / transition lost its race), ICX_EEXIST
 * (unique key taken), ICX_EFULL (disk full), ICX_ECORRUPT (stored bytes no
 * longer match their digest; a store refused by icx_store_check),
 * ICX_ESTORE (other).
 */
#ifndef ICX_STORE_H
#define ICX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "buf.h"
#include "err.h"
#include "tsa.h"
#include "witness.h"

typedef struct icx_store icx_store;

enum icx_out_state { ICX_OUT_QUEUED, ICX_OUT_SENT, ICX_OUT_DELIVERED,
                     ICX_OUT_FAILED, ICX_OUT_REFUSED };
enum icx_in_state { ICX_IN_RECEIVED, ICX_IN_ACCEPTED, ICX_IN_REJECTED };

const char *icx_out_state_name(int state);   /* "queued", ... */
const char *icx_in_state_name(int state);    /* "received", ... */

/* 1 when path names a PostgreSQL store (a postgresql:// or postgres://
 * URL), which several daemons may share; 0 for a SQLite file. */
int icx_store_is_url(const char *path);
/* The store's name for messages: its path, or its URL without a
 * password.  Valid while s is. */
const char *icx_store_name(const icx_store *s);
/* Opens (creating if needed) and migrates the store at path. */
int icx_store_open(icx_store **out, const char *path, icx_err *err);
void icx_store_free(icx_store **sp);
/* Highest applied migration number. */
int icx_store_version(icx_store *s);

/* The daemon's connection: WAL checkpoints happen when the caller says so
 * (icx_store_idle), not inside a commit that a partner is waiting for. */
int icx_store_manual_checkpoints(icx_store *s, icx_err *err);
/* Copies committed WAL pages into the database without waiting for
 * readers (PRAGMA wal_checkpoint(PASSIVE)); call when idle. */
int icx_store_idle(icx_store *s, icx_err *err);
/* WAL pages committed and not yet copied back (after
 * icx_store_manual_checkpoints; 0 on other connections). */
uint64_t icx_store_wal_pages(const icx_store *s);

/* A second connection to the store s is open on, for another thread of
 * the same process: SQLite alone opens the file (no migration, no
 * statements); only icx_store_wal_checkpoint and icx_store_free apply. */
int icx_store_open_peer(icx_store **out, const icx_store *s, icx_err *err);
/* A read-only connection to the existing store at path, for a thread
 * that only reads (the web dashboard): SQLITE_OPEN_READONLY and
 * query_only (PostgreSQL: a session whose transactions are READ ONLY),
 * no migration (a schema version other than this program's is refused),
 * the read functions below apply; a write returns ICX_ESTORE.  Each read
 * sees the last committed state. */
int icx_store_open_reader(icx_store **out, const char *path, icx_err *err);
/* On a connection other writers change (a reader's): re-reads the audit
 * chain's tail when another connection committed since (PRAGMA
 * data_version), so that icx_store_audit_head sees their records.
 * Outside a transaction only; a no-op when nothing changed. */
int icx_store_refresh(icx_store *s, icx_err *err);
/* Checkpoints beside the writer: a second connection to the same file
 * (icx_store_open_peer) copies the WAL back with
 * icx_store_wal_checkpoint while the daemon's connection keeps writing;
 * SQLite lets a PASSIVE checkpoint and one writer run at once.  *log and
 * *copied receive the WAL's frames and how many of them are now in the
 * database.  Then, on the daemon's connection and its thread,
 * icx_store_wal_copied(s, restarts, log, copied) records the result, where
 * restarts is icx_store_wal_restarts(s) read when the checkpoint was
 * asked for (a WAL that started over since is not the one copied). */
int icx_store_wal_checkpoint(icx_store *s, uint64_t *log, uint64_t *copied,
                             icx_err *err);
uint64_t icx_store_wal_restarts(const icx_store *s);
void icx_store_wal_copied(icx_store *s, uint64_t restarts, uint64_t log,
                          uint64_t copied);

/* Explicit transaction around several calls.  Calls made outside one run
 * in their own transaction. */
int icx_store_begin(icx_store *s, icx_err *err);
int icx_store_commit(icx_store *s, icx_err *err);
void icx_store_rollback(icx_store *s);
/* Inside an explicit transaction, a call that fails after changing rows
 * (say its audit insert failed) marks the transaction failed: later calls
 * and icx_store_commit refuse it, commit rolls it back.  ICX_ENOTFOUND and
 * ICX_EEXIST change nothing and leave it usable.  A failed commit has
 * rolled back.
 *
 * Also written with an audit record of their own: icx_store_in_set_receipt
 * ("inbound.receipt_stored"), icx_store_receipt_insert ("receipt.stored")
 * and icx_store_in_expire ("replay.expired", when it released a key).
 * Listing callbacks stop the walk by returning non-zero, which the listing
 * function returns; they must not call the same listing function. */

/* Test hook (fault injection): after n more successful steps the next one
 * fails as if the disk were full (SQLITE_FULL, so ICX_EFULL); 0 disables.
 * Every step counts - BEGIN, each statement, each row read, COMMIT - except
 * ROLLBACK and the store's own bookkeeping reads.  A transition in its own
 * transaction is BEGIN, UPDATE, audit INSERT, COMMIT: n = 2 fails the audit
 * insert. */
void icx_store_test_fail_after(icx_store *s, int n);

/* One audit record.  Strings may be NULL.  No payloads, no key material:
 * ids, digests, partner ids and reasons only. */
typedef struct icx_audit_event {
    const char *event;      /* e.g. "outbound.queued", "inbound.accepted" */
    const char *message_id;
    const char *partner;
    const char *detail;     /* short key=value text */
} icx_audit_event;

/* Appends a record to the hash chain (hash = SHA-256 of prev_hash and the
 * record's canonical line). */
int icx_store_audit(icx_store *s, const icx_audit_event *ev, icx_err *err);
/* Recomputes the chain; on damage returns ICX_EBADSIG and names the first
 * bad record (seq) in err. *count gets the number of records checked. */
int icx_store_audit_verify(icx_store *s, uint64_t *count, icx_err *err);

typedef struct icx_out_row {
    int64_t id;
    char message_id[40];
    char next_hop[32];      /* partner the bytes go to */
    char recipient[32];     /* final recipient (Recipient header) */
    char sender[32];        /* Sender header (ours, or the origin when relaying) */
    char category[32];
    char sha256[65];        /* of the envelope bytes */
    int state;
    int attempts;
    int64_t created_at;     /* unix seconds */
    int64_t next_attempt_at;
    int64_t updated_at;
    char reason[128];       /* last failure or refusal reason, "" if none */
} icx_out_row;

/* Inserts a row (state from row->state, usually queued) with its envelope
 * bytes and an audit record `event`.  ICX_EEXIST when (message_id,
 * next_hop) is already there. */
int icx_store_out_insert(icx_store *s, const icx_out_row *row,
                         const void *env, size_t len, const char *event,
                         const char *detail, icx_err *err);
/* Moves (message_id, next_hop) from state `from` to `to`, setting
 * attempts, next_attempt_at and reason (NULL keeps it), with an audit
 * record.  ICX_ENOTFOUND when the row is not in state `from`. */
int icx_store_out_transition(icx_store *s, const char *message_id,
                             const char *next_hop, int from, int to,
                             int attempts, int64_t next_attempt_at,
                             const char *reason, const char *event,
                             const char *detail, icx_err *err);
/* Like transition but keeps the state (a retry: attempts and time). */
int icx_store_out_reschedule(icx_store *s, const char *message_id,
                             const char *next_hop, int state, int attempts,
                             int64_t next_attempt_at, const char *event,
                             const char *detail, icx_err *err);
/* Rows in queued or sent with next_attempt_at <= now (hop NULL: any hop),
 * oldest first, at most max; *n gets the count. */
int icx_store_out_due(icx_store *s, int64_t now, const char *hop,
                      icx_out_row *rows, size_t max, size_t *n, icx_err *err);
/* One row by message id (and hop, or the first hop when hop is NULL). */
int icx_store_out_get(icx_store *s, const char *message_id, const char *hop,
                      icx_out_row *row, icx_err *err);
/* The newest row sent to hop whose envelope bytes have this SHA-256 (for
 * a receipt that could name no MessageId). */
int icx_store_out_by_sha(icx_store *s, const char *sha256, const char *hop,
                         icx_out_row *row, icx_err *err);
/* The stored envelope bytes of (message_id, hop).  Like every read of
 * stored bytes (icx_store_in_envelope, icx_store_receipts) it checks them
 * against their recorded SHA-256 first: on a mismatch it logs and audits
 * "store.damaged" and returns ICX_ECORRUPT, and out stays empty. */
int icx_store_out_envelope(icx_store *s, const char *message_id,
                           const char *hop, icx_buf *out, icx_err *err);
/* Calls fn for each row, newest first, at most limit (0: all).
 * state < 0: any state. */
typedef int (*icx_out_fn)(void *ctx, const icx_out_row *row);
int icx_store_out_list(icx_store *s, int state, size_t limit, icx_out_fn fn,
                       void *ctx, icx_err *err);
/* Makes every queued or sent row of hop due at `now` (the partner has just
 * connected: its waiting messages go at once).  No audit record: timing
 * only, no state changes. */
int icx_store_out_wake(icx_store *s, const char *hop, int64_t now,
                       icx_err *err);
/* The undelivered row (queued or sent) queued first, for `icx health`;
 * ICX_ENOTFOUND when nothing is undelivered. */
int icx_store_out_oldest(icx_store *s, icx_out_row *row, icx_err *err);
/* Counts for metrics, one call of fn per group:
 *   ICX_COUNT_OUT       a = next hop, b = state, n = rows,
 *                       sum = attempts beyond the first (retries)
 *   ICX_COUNT_IN        a = sender, b = state, c = reject reason, n = rows
 *   ICX_COUNT_RECEIPTS  a = issuer, b = "positive"|"negative", c = reason
 *   ICX_COUNT_CHECKPOINTS  n = signed checkpoints, sum = records covered
 * Strings are borrowed for the call. */
enum icx_count_kind { ICX_COUNT_OUT, ICX_COUNT_IN, ICX_COUNT_RECEIPTS,
                      ICX_COUNT_CHECKPOINTS };
typedef int (*icx_count_fn)(void *ctx, const char *a, const char *b,
                            const char *c, int64_t n, int64_t sum);
int icx_store_counts(icx_store *s, int kind, icx_count_fn fn, void *ctx,
                     icx_err *err);
/* Per-hop counts of rows in queued or sent. */
typedef int (*icx_depth_fn)(void *ctx, const char *hop, int64_t depth);
int icx_store_out_depths(icx_store *s, icx_depth_fn fn, void *ctx,
                         icx_err *err);

typedef struct icx_in_row {
    int64_t id;
    char sender[32];
    char message_id[40];
    char recipient[32];
    char category[32];
    char peer[32];          /* transport identity it came from */
    char sha256[65];
    int state;
    char reason[64];        /* reason name when rejected */
    int64_t received_at;
} icx_in_row;

/* Inserts an inbound envelope (accepted or rejected) with its bytes, the
 * signed receipt returned for it (may be NULL) and an audit record.  The
 * (sender, message_id) pair is the replay cache: ICX_EEXIST when taken. */
int icx_store_in_insert(icx_store *s, const icx_in_row *row, const void *env,
                        size_t len, const void *receipt, size_t rlen,
                        const char *event, const char *detail, icx_err *err);
/* Replay-cache lookup: ICX_ENOTFOUND when (sender, message_id) is new;
 * otherwise fills row and, when receipt is not NULL, the stored receipt. */
int icx_store_in_lookup(icx_store *s, const char *sender,
                        const char *message_id, icx_in_row *row,
                        icx_buf *receipt, icx_err *err);
/* Replaces the stored receipt of (sender, message_id). */
int icx_store_in_set_receipt(icx_store *s, const char *sender,
                             const char *message_id, const void *receipt,
                             size_t rlen, icx_err *err);
/* The stored envelope bytes of (sender, message_id). */
int icx_store_in_envelope(icx_store *s, const char *sender,
                          const char *message_id, icx_buf *out, icx_err *err);
typedef int (*icx_in_fn)(void *ctx, const icx_in_row *row);
int icx_store_in_list(icx_store *s, int state, size_t limit, icx_in_fn fn,
                      void *ctx, icx_err *err);
/* Forgets replay-cache entries older than before (unix seconds): the
 * inbox rows stay; only their replay keys are released. */
int icx_store_in_expire(icx_store *s, int64_t before, icx_err *err);

typedef struct icx_receipt_row {
    char message_id[40];    /* the message it answers */
    char issuer[32];        /* who signed the receipt */
    int positive;
    char reason[64];        /* reason code when negative */
    int hop;                /* 1: issued by an intermediate (hub) */
    int64_t received_at;
} icx_receipt_row;

/* Stores a verified receipt (bytes as received).  ICX_EEXIST when the same
 * issuer already answered that message. */
int icx_store_receipt_insert(icx_store *s, const icx_receipt_row *row,
                             const void *env, size_t len, icx_err *err);
/* Calls fn for each stored receipt of message_id; bytes when wanted. */
typedef int (*icx_receipt_fn)(void *ctx, const icx_receipt_row *row,
                              const void *env, size_t len);
int icx_store_receipts(icx_store *s, const char *message_id,
                       icx_receipt_fn fn, void *ctx, icx_err *err);

/* Records with from <= seq <= to (to 0: to the end), in seq order; fn
 * returning non-zero stops the walk. */
typedef int (*icx_audit_rec_fn)(void *ctx, const icx_audit_rec *r);
int icx_store_audit_scan(icx_store *s, int64_t from, int64_t to,
                         icx_audit_rec_fn fn, void *ctx, icx_err *err);
/* Size and RFC 6962 root (hex) of the audit tree as this connection sees
 * it (inside a transaction: including its uncommitted records).  root may
 * be NULL: the size alone costs no hashing. */
int icx_store_audit_head(icx_store *s, uint64_t *size, char root[65]);
/* Signed checkpoints: append one; walk those with size <= max_size (0:
 * all) in size order; the last one (ICX_ENOTFOUND when none).
 * Once a checkpoint is committed (by icx_store_checkpoint_add in its own
 * transaction, else by the caller's icx_store_commit) the head file
 * "<store path>.head" is rewritten to name it (icx_store_check).  When
 * that write fails checkpoint_add returns its error (ICX_EIO, ICX_EFULL)
 * although the checkpoint is committed; inside the caller's transaction
 * the failure is logged and the commit stands. */
int icx_store_checkpoint_add(icx_store *s, const icx_checkpoint *c,
                             icx_err *err);
/* Where the head file lives.  A SQLite store's is "<store path>.head"
 * from the start; a PostgreSQL store keeps none until this names one
 * (store.head in gateway.yaml: a local file of the node).  ICX_EINVAL
 * when path is empty or too long. */
int icx_store_set_head(icx_store *s, const char *path, icx_err *err);
/* 1 when this connection's node is the one that signs checkpoints: on
 * SQLite always; on PostgreSQL the node holding the session advisory
 * lock 1229150211, taken here when it is free (tried at most once a
 * second).  A node that dies or loses its connection releases it with
 * the connection, and another node takes it on its next try. */
int icx_store_leads(icx_store *s);
/* The head file of a store that has none and no checkpoint yet: c is a
 * signed checkpoint of the empty log (size 0, the root of no records).
 * Written before the first real checkpoint can be, so that a crash
 * between that checkpoint's commit and its head file leaves a head file
 * the store is ahead of (accepted), never no head file at all (refused as
 * a store put in another's place).  ICX_OK without writing when a head
 * file or a checkpoint exists. */
int icx_store_head_start(icx_store *s, const icx_checkpoint *c, icx_err *err);
typedef int (*icx_cp_fn)(void *ctx, const icx_checkpoint *c);
int icx_store_checkpoints(icx_store *s, uint64_t max_size, icx_cp_fn fn,
                          void *ctx, icx_err *err);
int icx_store_checkpoint_last(icx_store *s, icx_checkpoint *c, icx_err *err);

/* RFC 3161 time-stamp tokens of checkpoints (docs/AUDIT.md, "Time-stamps";
 * store_stamp.c).  The token of checkpoint `size` covers SHA-256 of that
 * checkpoint's signed text (icx_checkpoint_text); it is checked before it
 * is added (tsa.h) and written once.  No audit record: the token is its
 * own evidence, and a record per stamp would call for a checkpoint per
 * stamp, forever.  ICX_EEXIST when that checkpoint has one, ICX_ENOTFOUND
 * when there is no such checkpoint. */
int icx_store_stamp_add(icx_store *s, uint64_t size, const icx_tsa_stamp *st,
                        const void *token, size_t len, icx_err *err);
/* The first token of a checkpoint with size >= min_size (the earliest
 * stamp covering the first min_size records): its checkpoint's size into
 * *size, what it says into *st, its DER bytes appended to token (may be
 * NULL) and when it was stored into stamped_at (may be NULL; 32 bytes).
 * ICX_ENOTFOUND when none. */
int icx_store_stamp_get(icx_store *s, uint64_t min_size, uint64_t *size,
                        icx_tsa_stamp *st, icx_buf *token, char *stamped_at,
                        icx_err *err);
/* The checkpoint to stamp next: the oldest one after the newest stamped
 * one; while nothing is stamped, the newest checkpoint (it covers every
 * record before it; older ones are "covered" by the first stamp).
 * ICX_ENOTFOUND when every such checkpoint is stamped.  *queued (may be
 * NULL) gets how many wait, this one included. */
int icx_store_stamp_next(icx_store *s, icx_checkpoint *c, uint64_t *queued,
                         icx_err *err);
/* Checkpoint `size` (ICX_ENOTFOUND when there is none). */
int icx_store_checkpoint_at(icx_store *s, uint64_t size, icx_checkpoint *c,
                            icx_err *err);

/* Partners' checkpoints this gateway witnessed (store_witness.c,
 * witness.h, docs/AUDIT.md "Witnesses").  add: one received checkpoint
 * with the verdict (enum icx_witness_verdict), the reason of an alarming
 * one and this gateway's co-signature of a good one (may be NULL), with
 * the audit record witness.<verdict>.  last: the partner's last good one
 * (first, same, consistent), the baseline of the next judgement;
 * ICX_ENOTFOUND when none. */
int icx_store_witness_add(icx_store *s, const char *partner,
                          const icx_checkpoint *c, int verdict,
                          const char *reason, const char *cosignature,
                          icx_err *err);
int icx_store_witness_last(icx_store *s, const char *partner,
                           icx_checkpoint *c, icx_err *err);
typedef struct icx_witness_row {
    char partner[32];
    uint64_t size;          /* the last checkpoint received */
    char time[32];          /* its signing time */
    char seen_at[32];       /* when it was received */
    char verdict[16];
    char reason[256];
    uint64_t seen, alarms;  /* checkpoints received; forks, rollbacks, badsig */
    uint64_t good_size;     /* the largest good one */
} icx_witness_row;
typedef int (*icx_witness_fn)(void *ctx, const icx_witness_row *w);
/* One row per partner witnessed, by partner id. */
int icx_store_witnesses(icx_store *s, icx_witness_fn fn, void *ctx,
                        icx_err *err);
/* Partners' co-signatures of this gateway's checkpoints (witness.h),
 * checked by the caller; add writes the audit record witness.cosigned.
 * ICX_EEXIST when that witness's co-signature of that size is there.
 * cosigs walks those of checkpoint size; cosigned_first gives the
 * smallest co-signed size >= min_size (ICX_ENOTFOUND when none). */
int icx_store_cosig_add(icx_store *s, const char *witness, uint64_t size,
                        const char *signature, icx_err *err);
typedef int (*icx_cosig_fn)(void *ctx, const char *witness,
                            const char *signature);
int icx_store_cosigs(icx_store *s, uint64_t size, icx_cosig_fn fn, void *ctx,
                     icx_err *err);
int icx_store_cosigned_first(icx_store *s, uint64_t min_size, uint64_t *size,
                             icx_err *err);
/* The largest size of this gateway's checkpoints witness co-signed. */
int icx_store_cosigned_by(icx_store *s, const char *witness, uint64_t *size,
                          icx_err *err);
/* The partner's latest checkpoint this gateway co-signed, and that
 * co-signature (base64, n bytes; 1400 hold any). */
int icx_store_witness_cosig(icx_store *s, const char *partner,
                            icx_checkpoint *c, char *sig, size_t n,
                            icx_err *err);
/* Checks a co-signature document text[0..len) from partner (witness.h):
 * by partner, over this gateway's own checkpoint of that size byte for
 * byte, signed with cert; then keeps it (icx_store_cosig_add).  *size
 * gets the checkpoint's size.  ICX_EBADSIG (err says why), ICX_EINVAL
 * when malformed, ICX_EEXIST when already kept. */
int icx_store_cosig_accept(icx_store *s, const char *partner,
                           const char *cert, size_t cert_len, const char *text,
                           size_t len, uint64_t *size, icx_err *err);
/* RFC 6962 PROOF(m, D[n]) of this gateway's own log (1 <= m <= n <= the
 * records it holds), at most ICX_CONSISTENCY_MAX hashes. */
int icx_store_consistency(icx_store *s, uint64_t m, uint64_t n,
                          unsigned char (*proof)[ICX_HASH_LEN], int *nproof,
                          icx_err *err);

/* The start-up check (docs/STORE.md "Start-up checks"), before anything
 * is served or written: PRAGMA quick_check; the audit chain (each record
 * hashes to its leaf and links to the one before; the root at the last
 * checkpoint's size is its signed root; its signature verifies with the
 * gateway certificate at cert_path); the head file's checkpoint is in the
 * store (else the store went back in time or was replaced).  A missing
 * head file beside a store with checkpoints is refused unless flags has
 * ICX_STORE_CHECK_ADOPT_HEAD, which then writes it from the store's last
 * checkpoint.  ICX_STORE_CHECK_ENVELOPES also recomputes the SHA-256 of
 * every stored envelope and receipt.  One line per finding goes to report
 * ("ok: ..." or "refused: ...") when it is not NULL.  ICX_ECORRUPT when
 * refused (err: the first reason); other codes when the check could not
 * run (certificate unreadable, I/O). */
enum { ICX_STORE_CHECK_ADOPT_HEAD = 1, ICX_STORE_CHECK_ENVELOPES = 2 };
int icx_store_check(icx_store *s, const char *cert_path, unsigned flags,
                    icx_buf *report, icx_err *err);

/* Copies every row of from (outbox with its envelopes, inbox, receipts,
 * the audit records and checkpoints) into to, which must be empty and
 * migrated (no audit record, no message): ids, seqs, times, hashes and
 * bytes as they are, in one transaction of to, read in one transaction
 * of from (which holds SQLite's write lock meanwhile).  Then to's audit
 * chain is verified against from's last checkpoint (signatures with
 * cert_pem when not NULL) and both hold the same number of rows in each
 * table.  One "copied: TABLE N rows" line per table goes to report when
 * it is not NULL.  ICX_EEXIST when to is not empty; ICX_EBADSIG when the
 * copy does not verify (it stays committed: drop that database). */
int icx_store_copy(icx_store *to, icx_store *from, const char *cert_pem,
                   size_t cert_len, icx_buf *report, icx_err *err);

typedef struct icx_audit_report {
    uint64_t records;
    uint64_t checkpoints;
    int damage;             /* enum icx_damage */
    int64_t bad_seq;
} icx_audit_report;
/* Verifies every record and every checkpoint (signatures with cert_pem
 * when not NULL); on damage ICX_EBADSIG, rep and err name the first bad
 * record and the kind. */
int icx_store_audit_verify_with(icx_store *s, const char *cert_pem,
                                size_t cert_len, icx_audit_report *rep,
                                icx_err *err);

/* Audit records of one message, oldest first (the message's timeline). */
typedef struct icx_audit_row {
    int64_t seq;
    char ts[32];
    char event[48];
    char message_id[40];
    char partner[32];
    char detail[256];
    char hash[65];
} icx_audit_row;
typedef int (*icx_audit_fn)(void *ctx, const icx_audit_row *row);
/* The MessageIds the audit log names that start with prefix (sorted, at
 * most max; *n gets the count): `icx status` by a prefix.  A range on the
 * audit_message index. */
int icx_store_message_ids(icx_store *s, const char *prefix, char (*ids)[40],
                          size_t max, size_t *n, icx_err *err);
int icx_store_timeline(icx_store *s, const char *message_id, icx_audit_fn fn,
                       void *ctx, icx_err *err);

#endif
