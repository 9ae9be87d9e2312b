/*
 * turn.h - the daemon loop's group commit: one store transaction shared by
 * the work of one or more loop turns, and the actions that may happen only
 * after it commits.
 *
 * Handlers open the transaction when they first write (icx_turn_tx) and
 * queue what must wait for its commit: frames to partners (receipts),
 * control replies and log lines that say something was stored.  icx_turn_due says when to commit: at once when no more
 * work is expected (no job in flight) or a call failed; otherwise after the
 * transaction has been open for the linger time, or when many actions
 * wait.  Until then the loop polls again (for at most icx_turn_wait_ms)
 * and the next results join the same transaction, so a busy gateway pays
 * one commit (one fdatasync) for many messages and an idle one pays no
 * delay.  The commit runs the actions in the order they were queued; when
 * it fails, or a call inside the transaction failed (icx_turn_fail), the
 * transaction is rolled back and none of them runs: no frame is sent and
 * every waiting control client is told that nothing was stored.  Nothing
 * is acknowledged before the commit that holds it.
 *
 * Committer: with icx_turn_start_committer, COMMIT (and its fdatasync)
 * runs on a thread of its own, so the loop keeps handing jobs to the
 * workers while the disk syncs.  icx_turn_end then only starts the commit
 * and returns ICX_TURN_STARTED; while icx_turn_busy, the store belongs to
 * the committer and the loop must not touch it (no handler that writes or
 * reads the store may run); when icx_turn_socket polls readable,
 * icx_turn_done takes the store back and runs (or refuses) the actions.
 * Without a committer, icx_turn_end commits on the calling thread.
 *
 * WAL checkpoints stay out of the commits (icx_store_manual_checkpoints):
 * with a committer, a checkpointer thread with its own connection copies
 * the WAL back beside the loop; without one, icx_turn_fold does it when
 * the loop is quiet, or when the WAL has grown past a bound, never while
 * a transaction is open.
 *
 * Ownership: the turn borrows the store (which must outlive it) and, with
 * a committer, the ZeroMQ context (icx_turn_free before zmq_ctx_term); it
 * owns queued actions (a copy of each frame and each control fd, closed
 * after its reply) and, with a committer, the checkpointer's connection.
 * Threads: every function on the loop thread; the committer thread only
 * runs COMMIT between icx_turn_end and icx_turn_done; the checkpointer
 * thread uses only its own connection.
 * Errors: store failures are logged, at most once a minute per kind with
 * a count (icx_log_limited), until a commit that writes succeeds again
 * (condition.cleared); the end of a commit says whether it happened.
 */
#ifndef ICX_TURN_H
#define ICX_TURN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hooks.h"
#include "store.h"

/* Longest time a change waits for others to share its commit. */
#define ICX_TURN_LINGER_MS 5
/* Actions queued at most before a commit is forced. */
#define ICX_TURN_MAX_ACTIONS 1024
/* Quiet time (ms) after which the loop folds the WAL back, once it holds
 * at least ICX_TURN_WAL_MIN pages (a page rewritten by many commits is
 * then copied once). */
#define ICX_TURN_IDLE_MS 2
#define ICX_TURN_WAL_MIN 1024
/* WAL pages after which it is copied back even when the loop is busy. */
#define ICX_TURN_WAL_MAX 8192

/* icx_turn_end / icx_turn_done results. */
enum {
    ICX_TURN_ROLLED_BACK = -1, /* nothing of the transaction was stored */
    ICX_TURN_NOTHING = 0,      /* no transaction was open */
    ICX_TURN_COMMITTED = 1,
    ICX_TURN_STARTED = 2,      /* the committer has it; see icx_turn_done */
};

typedef struct icx_turn icx_turn;

/* Sends a frame after commit; a non-zero result is only logged. */
typedef int (*icx_turn_send_fn)(void *ctx, const char *partner, int kind,
                                const char *data, size_t len);

int icx_turn_new(icx_turn **out, icx_store *store, icx_turn_send_fn send,
                 void *ctx, icx_err *err);
/* Starts the committer thread on zmq_ctx (inproc sockets). */
int icx_turn_start_committer(icx_turn *t, void *zmq_ctx, icx_err *err);
/* Waits for a commit in flight (and runs its actions), stops the
 * committer, rolls back an open transaction and drops queued actions
 * without running them (control fds are closed). */
void icx_turn_free(icx_turn **tp);

/* Opens the transaction unless it is open; ICX_ESTORE when BEGIN fails,
 * ICX_EAGAIN while a commit is in flight. */
int icx_turn_tx(icx_turn *t);
/* Whether a transaction is open, and whether a call inside it failed. */
int icx_turn_open(const icx_turn *t);
int icx_turn_failed(const icx_turn *t);
/* A call inside the transaction failed: it will be rolled back. */
void icx_turn_fail(icx_turn *t);

/* Queue a frame (copied) or a control reply (text copied; fd owned from
 * now on, also when queueing fails: then it is closed). */
void icx_turn_send(icx_turn *t, const char *partner, int kind,
                   const char *data, size_t len);
void icx_turn_reply(icx_turn *t, int fd, int code, const char *text,
                    size_t len);
/* Queue a log line (formatted now, at most 1 KiB; event at most 31
 * characters) written only if the transaction commits. */
void icx_turn_log(icx_turn *t, int level, const char *event,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
size_t icx_turn_pending(const icx_turn *t);

/* Whether to commit now.  expecting: results are on their way (jobs in
 * flight) and may join this commit.  Never while busy. */
int icx_turn_due(const icx_turn *t, int expecting, int64_t now_ms);
/* The longest the loop may wait before icx_turn_due turns true (ms), or
 * -1 when there is no deadline. */
long icx_turn_wait_ms(const icx_turn *t, int64_t now_ms);
/* Ends the transaction: a failed one is rolled back and its actions are
 * refused; otherwise it is committed and its actions run, or, with a
 * committer, the commit starts (ICX_TURN_STARTED).  With no transaction,
 * queued actions run at once (ICX_TURN_NOTHING). */
int icx_turn_end(icx_turn *t);

/* A commit is in flight on the committer: the store is not the loop's. */
int icx_turn_busy(const icx_turn *t);
/* Polls readable (ZMQ_POLLIN) when the commit in flight has ended; NULL
 * without a committer. */
void *icx_turn_socket(icx_turn *t);
/* After icx_turn_socket polled readable (or to wait for it): takes the
 * store back and runs or refuses the actions of the commit.  Returns
 * ICX_TURN_COMMITTED, ICX_TURN_ROLLED_BACK, or ICX_TURN_NOTHING when no
 * commit was in flight.  wait: block until it ends. */
int icx_turn_done(icx_turn *t, int wait);

/* WAL pages not yet copied back into the database. */
uint64_t icx_turn_wal_pages(const icx_turn *t);
/* With a committer: asks the checkpointer thread to copy the WAL back
 * once it holds ICX_TURN_WAL_MIN pages (idle or not) and records what the
 * last copy did; it never waits.  Without: copies the WAL back itself
 * when idle (the loop waited and nothing came) and it holds
 * ICX_TURN_WAL_MIN pages, or when it has grown past ICX_TURN_WAL_MAX.
 * Never inside a transaction or while busy. */
void icx_turn_fold(icx_turn *t, int idle);
/* A copy asked of the checkpointer has not ended yet. */
int icx_turn_folding(icx_turn *t);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t icx_turn_now_ms(void);
/* Durations of the commits so far (COMMIT and its fdatasync), per bucket
 * of icx_commit_bounds_ms (hooks.h); borrowed, loop thread. */
typedef struct icx_turn_latency {
    uint64_t buckets[ICX_COMMIT_BUCKETS];
    uint64_t count;
    double seconds;
} icx_turn_latency;
const icx_turn_latency *icx_turn_latencies(const icx_turn *t);

#endif
