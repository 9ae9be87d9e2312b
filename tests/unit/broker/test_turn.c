/*
 * test_turn.c - the loop's group commit: what runs after a commit, what a
 * failed batch acknowledges (nothing), when a commit is due, and WAL folds.
 *
 * Each test gets a fresh store.  Control replies go to one end of a
 * socketpair and are read back from the other in the control protocol's
 * response form; frames go to a recording send callback.  Failures are
 * injected with the store's fault hook (a step fails as if the disk were
 * full), in the middle of a batch and at its COMMIT.  The same cases run
 * with the committer thread, where the end of a batch is only the start
 * of its commit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/socket.h>
#include <unistd.h>

#include <zmq.h>

#include "log.h"
#include "store.h"
#include "testutil.h"
#include "turn.h"

#define MAX_SENT 64

struct fx {
    void *zctx;             /* with a committer */
    char *dir;
    char path[600];
    icx_store *s;
    icx_turn *t;
    icx_err err;
    int nsent;
    char sent[MAX_SENT][64];   /* "partner kind data" of each frame sent */
};

static int record_send(void *ctx, const char *partner, int kind,
                       const char *data, size_t len)
{
    struct fx *f = ctx;
    if (f->nsent < MAX_SENT)
        snprintf(f->sent[f->nsent++], sizeof f->sent[0], "%s %d %.*s", partner,
                 kind, (int)len, data);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = icx_test_mkdtemp();
    snprintf(f->path, sizeof f->path, "%s/store.db", f->dir);
    icx_err_clear(&f->err);
    int rc = icx_store_open(&f->s, f->path, &f->err);
    if (rc == 0)
        rc = icx_store_manual_checkpoints(f->s, &f->err);
    if (rc == 0)
        rc = icx_turn_new(&f->t, f->s, record_send, f, &f->err);
    if (rc != 0)
        fail_msg("setup: got %d (%s), want 0", rc, f->err.msg);
    *state = f;
    return 0;
}

static int setup_committer(void **state)
{
    setup(state);
    struct fx *f = *state;
    f->zctx = zmq_ctx_new();
    assert_non_null(f->zctx);
    int rc = icx_turn_start_committer(f->t, f->zctx, &f->err);
    if (rc != 0)
        fail_msg("committer: got %d (%s), want 0", rc, f->err.msg);
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    icx_turn_free(&f->t);
    if (f->zctx != NULL)
        zmq_ctx_term(f->zctx);
    icx_store_free(&f->s);
    icx_test_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Audit records committed to the file, counted through a second
 * connection (what a restart would find). */
static uint64_t records_on_disk(struct fx *f)
{
    icx_store *other = NULL;
    uint64_t n = 0;
    icx_err err;
    if (icx_store_open(&other, f->path, &err) != 0)
        fail_msg("second connection: %s", err.msg);
    if (icx_store_audit_verify(other, &n, &err) != 0)
        fail_msg("verify: %s", err.msg);
    icx_store_free(&other);
    return n;
}

static int audit(struct fx *f, const char *event)
{
    icx_audit_event ev = {event, NULL, "PH-NBI", "test=1"};
    icx_err err;
    int rc = icx_store_audit(f->s, &ev, &err);
    if (rc < 0)
        icx_turn_fail(f->t);
    return rc;
}

/* A control connection: the daemon's end (owned by the turn once queued)
 * and the client's end, from which the reply is read. */
static void ctl_pair(int *daemon_end, int *client_end)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    *daemon_end = sv[0];
    *client_end = sv[1];
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads one response ("ICXR" code len text); code -1 when none came (the
 * daemon's end was closed without a reply). */
static void read_reply(int fd, int *code, char *text, size_t textlen)
{
    unsigned char hdr[12];
    size_t got = 0;
    *code = -1;
    text[0] = '\0';
    while (got < sizeof hdr) {
        ssize_t n = read(fd, hdr + got, sizeof hdr - got);
        if (n <= 0)
            goto out;
        got += (size_t)n;
    }
    if (memcmp(hdr, "ICXR", 4) != 0)
        goto out;
    *code = (int)be32(hdr + 4);
    size_t len = be32(hdr + 8);
    if (len > textlen - 1)
        len = textlen - 1;
    got = 0;
    while (got < len) {
        ssize_t n = read(fd, text + got, len - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    text[got] = '\0';
out:
    close(fd);
}

/* Ends the batch as the loop does: with a committer, the commit starts,
 * nothing is acknowledged until its answer polls readable, and meanwhile
 * the store is not the loop's. */
static int end_batch(struct fx *f)
{
    int r = icx_turn_end(f->t);
    if (f->zctx == NULL || r != ICX_TURN_STARTED)
        return r;
    if (!icx_turn_busy(f->t))
        fail_msg("a started commit: busy got 0, want 1");
    if (icx_turn_tx(f->t) != ICX_EAGAIN)
        fail_msg("a transaction opened while the committer has the store");
    if (icx_turn_due(f->t, 0, icx_turn_now_ms()))
        fail_msg("due while a commit is in flight");
    zmq_pollitem_t it = {icx_turn_socket(f->t), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 10000) != 1)
        fail_msg("the committer did not answer in 10 s");
    r = icx_turn_done(f->t, 0);
    if (icx_turn_busy(f->t))
        fail_msg("busy after done");
    return r;
}

static void test_commit_runs_actions_in_order(void **state)
{
    struct fx *f = *state;
    int d, c, code;
    char text[256];
    uint64_t before = records_on_disk(f);
    ctl_pair(&d, &c);
    assert_int_equal(icx_turn_tx(f->t), 0);
    assert_int_equal(audit(f, "test.one"), 0);
    icx_turn_send(f->t, "PH-NBI", 2, "r1", 2);
    icx_turn_reply(f->t, d, 0, "queued 1\n", 9);
    assert_int_equal(audit(f, "test.two"), 0);
    icx_turn_send(f->t, "INT-ICPO", 2, "r2", 2);
    if (f->nsent != 0)
        fail_msg("frames before commit: got %d, want 0", f->nsent);
    int r = end_batch(f);
    if (r != 1)
        fail_msg("turn end: got %d, want 1 (committed)", r);
    if (f->nsent != 2 || strcmp(f->sent[0], "PH-NBI 2 r1") != 0 ||
        strcmp(f->sent[1], "INT-ICPO 2 r2") != 0)
        fail_msg("frames: got %d (%s, %s), want 2 in queue order", f->nsent,
                 f->sent[0], f->sent[1]);
    read_reply(c, &code, text, sizeof text);
    if (code != 0 || strcmp(text, "queued 1\n") != 0)
        fail_msg("reply: got %d \"%s\", want 0 \"queued 1\\n\"", code, text);
    uint64_t after = records_on_disk(f);
    if (after != before + 2)
        fail_msg("records on disk: got %llu, want %llu",
                 (unsigned long long)after, (unsigned long long)before + 2);
    assert_int_equal(icx_turn_open(f->t), 0);
    assert_int_equal((int)icx_turn_pending(f->t), 0);
}

/* A batch in which one call fails: the calls before it are rolled back
 * with it, and nothing of the batch - frames or replies queued before or
 * after the failure - is acknowledged. */
static void test_failure_mid_batch_acknowledges_nothing(void **state)
{
    struct fx *f = *state;
    int d1, c1, d2, c2, code;
    char text[256];
    uint64_t before = records_on_disk(f);
    ctl_pair(&d1, &c1);
    ctl_pair(&d2, &c2);
    assert_int_equal(icx_turn_tx(f->t), 0);
    assert_int_equal(audit(f, "test.first"), 0);
    icx_turn_reply(f->t, d1, 0, "queued first\n", 13);
    icx_turn_send(f->t, "PH-NBI", 2, "receipt-1", 9);
    icx_store_test_fail_after(f->s, 1);   /* the next call passes, then a failure */
    assert_int_equal(audit(f, "test.second"), 0);
    int rc = audit(f, "test.third");
    if (rc != ICX_EFULL)
        fail_msg("injected failure: got %d, want %d (ICX_EFULL)", rc, ICX_EFULL);
    assert_int_equal(icx_turn_failed(f->t), 1);
    if (!icx_turn_due(f->t, 1, icx_turn_now_ms()))
        fail_msg("a failed batch must end at once (due: got 0, want 1)");
    /* The rest of the batch still queues its actions. */
    icx_turn_send(f->t, "PH-NBI", 2, "receipt-2", 9);
    icx_turn_reply(f->t, d2, 0, "queued second\n", 14);
    int r = end_batch(f);
    if (r != -1)
        fail_msg("turn end: got %d, want -1 (rolled back)", r);
    if (f->nsent != 0)
        fail_msg("frames sent after a rollback: got %d (%s), want 0", f->nsent,
                 f->sent[0]);
    read_reply(c1, &code, text, sizeof text);
    if (code != 3 || strstr(text, "nothing was queued") == NULL)
        fail_msg("first reply: got %d \"%s\", want 3 \"...nothing was "
                 "queued\"", code, text);
    read_reply(c2, &code, text, sizeof text);
    if (code != 3 || strstr(text, "nothing was queued") == NULL)
        fail_msg("second reply: got %d \"%s\", want 3 \"...nothing was "
                 "queued\"", code, text);
    uint64_t after = records_on_disk(f);
    if (after != before)
        fail_msg("records on disk: got %llu, want %llu (the whole batch rolled "
                 "back)", (unsigned long long)after, (unsigned long long)before);
    /* The next batch works. */
    assert_int_equal(icx_turn_tx(f->t), 0);
    assert_int_equal(audit(f, "test.after"), 0);
    assert_int_equal(end_batch(f), ICX_TURN_COMMITTED);
    assert_int_equal((int)records_on_disk(f), (int)before + 1);
}

/* The COMMIT itself fails (disk full at the last step). */
static void test_failed_commit_acknowledges_nothing(void **state)
{
    struct fx *f = *state;
    int d, c;
    char text[256];
    uint64_t before = records_on_disk(f);
    ctl_pair(&d, &c);
    assert_int_equal(icx_turn_tx(f->t), 0);
    icx_store_test_fail_after(f->s, 2);   /* two audits pass, COMMIT fails */
    assert_int_equal(audit(f, "test.one"), 0);
    icx_turn_send(f->t, "PH-NBI", 2, "r1", 2);
    assert_int_equal(audit(f, "test.two"), 0);
    icx_turn_reply(f->t, d, 0, "queued\n", 7);
    assert_int_equal(icx_turn_failed(f->t), 0);
    int r = end_batch(f);
    if (r != -1)
        fail_msg("turn end: got %d, want -1 (commit failed)", r);
    if (f->nsent != 0)
        fail_msg("frames sent: got %d, want 0", f->nsent);
    int code;
    read_reply(c, &code, text, sizeof text);
    if (code != 3)
        fail_msg("reply code: got %d, want 3", code);
    if (records_on_disk(f) != before)
        fail_msg("records on disk changed by a failed commit");
}

static size_t occurrences(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* A disk that stays full fails every commit: one store.commit line with
 * its count, not one per batch; the log lines a batch queued (say
 * inbound.accepted) are written only by a batch that commits; the first
 * commit that succeeds reports how many failures were held back. */
static void test_failed_commits_log_once(void **state)
{
    struct fx *f = *state;
    char *buf = NULL;
    size_t len = 0;
    icx_log_limited_end(""); /* what earlier tests left, on stderr */
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    icx_log_set_output(out);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(icx_turn_tx(f->t), 0);
        icx_store_test_fail_after(f->s, 1);   /* the audit passes, COMMIT fails */
        assert_int_equal(audit(f, "test.one"), 0);
        icx_turn_log(f->t, ICX_LOG_INFO, "inbound.accepted", "message_id=m%d",
                     i);
        int r = end_batch(f);
        if (r != ICX_TURN_ROLLED_BACK)
            fail_msg("batch %d: got %d, want -1 (commit failed)", i, r);
    }
    assert_int_equal(icx_turn_tx(f->t), 0);
    assert_int_equal(audit(f, "test.two"), 0);
    icx_turn_log(f->t, ICX_LOG_INFO, "inbound.accepted", "message_id=ok");
    assert_int_equal(end_batch(f), ICX_TURN_COMMITTED);
    icx_log_set_output(NULL);
    fclose(out);
    size_t commits = occurrences(buf, "event=store.commit ");
    size_t accepted = occurrences(buf, "event=inbound.accepted");
    if (commits != 1 || occurrences(buf, " count=1\n") != 1)
        fail_msg("store.commit lines: got %zu, want 1 with count=1:\n%s",
                 commits, buf);
    if (accepted != 1 || strstr(buf, "event=inbound.accepted message_id=ok\n")
                             == NULL)
        fail_msg("inbound.accepted lines: got %zu, want only the committed "
                 "one:\n%s", accepted, buf);
    if (strstr(buf, "event=condition.cleared key=store.commit count=49\n") ==
        NULL)
        fail_msg("want condition.cleared with count=49:\n%s", buf);
    free(buf);
}

/* Actions queued with no transaction open (a reply to a command that
 * wrote nothing) run at the next end; a turn with nothing does nothing. */
static void test_actions_without_transaction(void **state)
{
    struct fx *f = *state;
    int d, c, code;
    char text[64];
    assert_int_equal(icx_turn_due(f->t, 0, icx_turn_now_ms()), 0);
    assert_int_equal(icx_turn_end(f->t), 0);
    ctl_pair(&d, &c);
    icx_turn_reply(f->t, d, 1, "no\n", 3);
    if (!icx_turn_due(f->t, 1, icx_turn_now_ms()))
        fail_msg("a waiting reply without a transaction: due got 0, want 1");
    assert_int_equal((int)icx_turn_wait_ms(f->t, icx_turn_now_ms()), 0);
    assert_int_equal(icx_turn_end(f->t), 0);
    read_reply(c, &code, text, sizeof text);
    if (code != 1 || strcmp(text, "no\n") != 0)
        fail_msg("reply: got %d \"%s\", want 1 \"no\\n\"", code, text);
}

static void test_when_due(void **state)
{
    struct fx *f = *state;
    assert_int_equal((int)icx_turn_wait_ms(f->t, icx_turn_now_ms()), -1);
    /* The transaction must open within the millisecond t0 names, or the
     * "nearly over" case is off by one on a slow run (valgrind). */
    int64_t t0 = 0;
    for (int tries = 0;; tries++) {
        if (tries > 1000)
            fail_msg("no transaction opened within one millisecond");
        t0 = icx_turn_now_ms();
        assert_int_equal(icx_turn_tx(f->t), 0);
        if (icx_turn_now_ms() == t0)
            break;
        /* Too slow: commit the empty transaction (through the committer
         * when there is one) and try again. */
        assert_int_equal(end_batch(f), ICX_TURN_COMMITTED);
    }
    static const struct {
        const char *what;
        int expecting;
        int64_t after_ms;
        int want;
    } cases[] = {
        {"nothing in flight: commit at once", 0, 0, 1},
        {"results in flight, just opened: wait", 1, 0, 0},
        {"results in flight, linger nearly over: wait", 1,
         ICX_TURN_LINGER_MS - 1, 0},
        {"results in flight, linger over: commit", 1, ICX_TURN_LINGER_MS, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = icx_turn_due(f->t, cases[i].expecting, t0 + cases[i].after_ms);
        if (got != cases[i].want)
            fail_msg("%s: got %d, want %d", cases[i].what, got, cases[i].want);
    }
    long w = icx_turn_wait_ms(f->t, t0);
    if (w < 0 || w > ICX_TURN_LINGER_MS)
        fail_msg("wait: got %ld, want 0..%d", w, ICX_TURN_LINGER_MS);
    assert_int_equal((int)icx_turn_wait_ms(f->t, t0 + ICX_TURN_LINGER_MS + 5), 0);
    /* Many waiting actions end the linger too. */
    for (int i = 0; i < ICX_TURN_MAX_ACTIONS; i++)
        icx_turn_send(f->t, "PH-NBI", 2, "x", 1);
    if (!icx_turn_due(f->t, 1, t0))
        fail_msg("%d actions waiting: due got 0, want 1", ICX_TURN_MAX_ACTIONS);
    assert_int_equal(end_batch(f), ICX_TURN_COMMITTED);
    assert_int_equal(f->nsent, MAX_SENT); /* recorded up to the table size */
}

/* Commits until the WAL holds at least n pages. */
static void grow_wal(struct fx *f, uint64_t n)
{
    for (int i = 0; icx_turn_wal_pages(f->t) < n; i++) {
        if (i > 10 * (int)n)
            fail_msg("the WAL does not grow: %llu pages",
                     (unsigned long long)icx_turn_wal_pages(f->t));
        assert_int_equal(icx_turn_tx(f->t), 0);
        assert_int_equal(audit(f, "test.more"), 0);
        assert_int_equal(end_batch(f), ICX_TURN_COMMITTED);
    }
}

static void wait_folded(struct fx *f)
{
    for (int i = 0; icx_turn_folding(f->t); i++) {
        if (i > 10000)
            fail_msg("the checkpointer did not finish in 10 s");
        usleep(1000);
    }
}

/* Commits grow the WAL; a quiet moment folds it back once it holds enough
 * pages, a busy one leaves it until it passes the bound, and nothing is
 * folded while a transaction is open. */
static void test_wal_fold(void **state)
{
    struct fx *f = *state;
    assert_int_equal((int)icx_turn_wal_pages(f->t), 0);
    assert_int_equal(icx_turn_tx(f->t), 0);
    assert_int_equal(audit(f, "test.one"), 0);
    assert_int_equal(end_batch(f), ICX_TURN_COMMITTED);
    uint64_t one = icx_turn_wal_pages(f->t);
    if (one == 0)
        fail_msg("WAL pages after a commit: got 0, want > 0");
    icx_turn_fold(f->t, 1);
    if (icx_turn_wal_pages(f->t) != one)
        fail_msg("a WAL under %d pages was folded", ICX_TURN_WAL_MIN);
    grow_wal(f, ICX_TURN_WAL_MIN);
    icx_turn_fold(f->t, 0);
    if (icx_turn_wal_pages(f->t) < ICX_TURN_WAL_MIN)
        fail_msg("a busy loop folded a WAL under its bound");
    assert_int_equal(icx_turn_tx(f->t), 0);
    icx_turn_fold(f->t, 1);
    if (icx_turn_wal_pages(f->t) < ICX_TURN_WAL_MIN)
        fail_msg("folded inside a transaction");
    assert_int_equal(end_batch(f), ICX_TURN_COMMITTED);
    icx_turn_fold(f->t, 1);
    if (icx_turn_wal_pages(f->t) != 0)
        fail_msg("WAL pages after an idle fold: got %llu, want 0",
                 (unsigned long long)icx_turn_wal_pages(f->t));
    uint64_t n = records_on_disk(f);
    if (n < ICX_TURN_WAL_MIN / 4)
        fail_msg("records after the fold: got %llu", (unsigned long long)n);
}

/* Freeing a turn with queued replies closes their connections (the
 * client sees the end, not a hang) and rolls back an open transaction. */
/* With a committer, the WAL is copied back beside the loop: asked for as
 * soon as it holds enough pages, busy or not; the loop keeps committing
 * while the copy runs; what the copy did is recorded at the next fold, and
 * the WAL starts over at the commit after it. */
static void test_wal_fold_beside(void **state)
{
    struct fx *f = *state;
    assert_int_equal(icx_turn_tx(f->t), 0);
    assert_int_equal(audit(f, "test.one"), 0);
    assert_int_equal(end_batch(f), ICX_TURN_COMMITTED);
    icx_turn_fold(f->t, 0);
    if (icx_turn_folding(f->t))
        fail_msg("a copy was asked for a WAL under %d pages", ICX_TURN_WAL_MIN);
    grow_wal(f, ICX_TURN_WAL_MIN);
    assert_int_equal(icx_turn_tx(f->t), 0);
    icx_turn_fold(f->t, 1);
    if (icx_turn_folding(f->t))
        fail_msg("a copy was asked while a transaction was open");
    assert_int_equal(end_batch(f), ICX_TURN_COMMITTED);
    uint64_t before = records_on_disk(f);
    icx_turn_fold(f->t, 0); /* busy: asked all the same */
    /* The store is the loop's meanwhile. */
    assert_int_equal(icx_turn_tx(f->t), 0);
    assert_int_equal(audit(f, "test.beside"), 0);
    assert_int_equal(end_batch(f), ICX_TURN_COMMITTED);
    wait_folded(f);
    icx_turn_fold(f->t, 0); /* records the copy */
    /* Left: at most the pages of the commit made during the copy. */
    uint64_t left = icx_turn_wal_pages(f->t);
    if (left >= ICX_TURN_WAL_MIN)
        fail_msg("WAL pages after the copy: got %llu, want < %d",
                 (unsigned long long)left, ICX_TURN_WAL_MIN);
    if (records_on_disk(f) != before + 1)
        fail_msg("the commit made during the copy is missing");
    /* A copy with no commit beside it takes everything, and the next
     * commit starts the WAL over. */
    grow_wal(f, ICX_TURN_WAL_MIN);
    icx_turn_fold(f->t, 0);
    wait_folded(f);
    icx_turn_fold(f->t, 0);
    if (icx_turn_wal_pages(f->t) != 0)
        fail_msg("WAL pages after a whole copy: got %llu, want 0",
                 (unsigned long long)icx_turn_wal_pages(f->t));
    assert_int_equal(icx_turn_tx(f->t), 0);
    assert_int_equal(audit(f, "test.after"), 0);
    assert_int_equal(end_batch(f), ICX_TURN_COMMITTED);
    uint64_t after = icx_turn_wal_pages(f->t);
    if (after == 0 || after >= ICX_TURN_WAL_MIN / 4)
        fail_msg("the WAL did not start over: %llu pages",
                 (unsigned long long)after);
}

static void test_free_drops_and_closes(void **state)
{
    struct fx *f = *state;
    int d, c;
    char text[16];
    uint64_t before = records_on_disk(f);
    ctl_pair(&d, &c);
    assert_int_equal(icx_turn_tx(f->t), 0);
    assert_int_equal(audit(f, "test.dropped"), 0);
    icx_turn_reply(f->t, d, 0, "queued\n", 7);
    icx_turn_free(&f->t);
    assert_null(f->t);
    int code;
    read_reply(c, &code, text, sizeof text);
    if (code != -1)
        fail_msg("a dropped reply was answered (code %d)", code);
    if (records_on_disk(f) != before)
        fail_msg("an open transaction survived icx_turn_free");
}

/* Freed while a commit is in flight: it waits for the commit and then
 * answers what that commit holds. */
static void test_free_waits_for_commit(void **state)
{
    struct fx *f = *state;
    int d, c, code;
    char text[64];
    uint64_t before = records_on_disk(f);
    ctl_pair(&d, &c);
    assert_int_equal(icx_turn_tx(f->t), 0);
    assert_int_equal(audit(f, "test.last"), 0);
    icx_turn_reply(f->t, d, 0, "queued\n", 7);
    assert_int_equal(icx_turn_end(f->t), ICX_TURN_STARTED);
    icx_turn_free(&f->t);
    read_reply(c, &code, text, sizeof text);
    if (code != 0 || strcmp(text, "queued\n") != 0)
        fail_msg("reply: got %d \"%s\", want 0 \"queued\\n\"", code, text);
    if (records_on_disk(f) != before + 1)
        fail_msg("the commit in flight was lost");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define C(fn) cmocka_unit_test_setup_teardown(fn, setup_committer, teardown)
    const struct CMUnitTest tests[] = {
        T(test_commit_runs_actions_in_order),
        T(test_failure_mid_batch_acknowledges_nothing),
        T(test_failed_commit_acknowledges_nothing),
        T(test_failed_commits_log_once),
        T(test_actions_without_transaction),
        T(test_when_due),
        T(test_wal_fold),
        T(test_free_drops_and_closes),
        C(test_commit_runs_actions_in_order),
        C(test_failure_mid_batch_acknowledges_nothing),
        C(test_failed_commit_acknowledges_nothing),
        C(test_failed_commits_log_once),
        C(test_actions_without_transaction),
        C(test_when_due),
        C(test_wal_fold_beside),
        C(test_free_drops_and_closes),
        C(test_free_waits_for_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
