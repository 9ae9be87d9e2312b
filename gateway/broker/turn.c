/*
 * turn.c - the daemon loop's group commit (see turn.h).
 *
 * Why linger: every commit is one fdatasync of the WAL and the rewrite of
 * the pages it shares with the commit before (index and audit pages), a
 * fixed cost that a busy gateway would otherwise pay for every message or
 * two.  The transaction stays open while results are still on their way,
 * up to ICX_TURN_LINGER_MS after it opened; when nothing is in flight the
 * commit is immediate, so a lone message waits for nobody.
 *
 * Why a committer thread: the fdatasync takes 1-4 ms here, sometimes tens,
 * and a loop blocked in it hands no job to the workers, so they run dry.
 * The loop gives the store to the committer for the COMMIT alone (one
 * byte over an inproc PAIR socket each way) and takes it back when the
 * answer arrives; a mutex taken on each side of the hand-over orders the
 * memory both threads touch (the sockets do too, but not visibly to the
 * tools that check it).  Only one
 * commit is in flight; the next transaction opens after it ended.
 *
 * Why a checkpointer thread: copying the WAL back into the database (and
 * syncing it) took up to a few hundred ms on the loop after a busy spell,
 * and every message arriving meanwhile waited.  With a committer, a
 * second connection on a thread of its own does it whenever the WAL holds
 * ICX_TURN_WAL_MIN pages; SQLite lets that PASSIVE checkpoint run while
 * the daemon's connection writes.  Without a committer (tests, tools) the
 * loop still folds the WAL itself when idle.
 *
 * Order of actions: frames, replies and log lines run in the order they
 * were queued, after the commit; a rolled-back transaction sends no frame,
 * writes none of its log lines and answers every queued reply with exit
 * code 3 and a message that nothing was stored (the partner's retry finds
 * the store as it was before).
 *
 * Store failures repeat for as long as their cause lasts (a full disk
 * fails every commit, every partner retry brings another): they are
 * logged through icx_log_limited, once a minute per kind with a count,
 * and the first commit that succeeds again ends them (condition.cleared).
 *
 * Ownership, threads and errors as in turn.h.
 */
#include "turn.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "control.h"
#include "log.h"

enum { MSG_READY = 'R', MSG_COMMIT = 'C', MSG_DONE = 'D', MSG_QUIT = 'Q' };

enum { ACT_SEND = 1, ACT_REPLY = 2, ACT_LOG = 3 };

struct action {
    int type;
    char partner[32];       /* ACT_SEND; ACT_LOG: the event */
    int kind;
    char *data;
    size_t len;
    int fd;
    int code;               /* ACT_REPLY: exit code; ACT_LOG: level */
};

struct actions {
    struct action *a;
    size_t n, cap;
};

struct icx_turn {
    icx_store *store;
    icx_turn_send_fn send;
    void *ctx;
    int in_tx;
    int failed;
    int64_t opened_ms;
    uint64_t opened_size;   /* audit records when it opened */
    struct actions q;       /* queued for the open transaction */
    struct actions flight;  /* of the commit on the committer */
    int64_t wal_forced_ms;  /* last checkpoint forced by the WAL's size */
    /* committer */
    void *zctx;
    void *pipe;             /* loop's PAIR end */
    char ep[64];
    pthread_t thread;
    int started;
    int busy;               /* a commit is in flight */
    pthread_mutex_t handoff; /* held by the committer while it commits */
    int crc;                /* its result, written by the committer */
    int64_t commit_us;      /* its duration, written by the committer */
    icx_turn_latency lat;   /* commit durations (loop thread) */
    icx_err cerr;
    /* checkpointer: its own connection to the store's file */
    icx_store *ck_store;
    pthread_t ck_thread;
    int ck_started;
    pthread_mutex_t ck_mu;  /* guards the ck_ fields below */
    pthread_cond_t ck_cv;
    int ck_want, ck_quit, ck_running, ck_ready;
    uint64_t ck_restarts, ck_log, ck_copied; /* the request, its result */
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const icx_turn_latency *icx_turn_latencies(const icx_turn *t)
{
    return &t->lat;
}

int64_t icx_turn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int icx_turn_new(icx_turn **out, icx_store *store, icx_turn_send_fn send,
                 void *ctx, icx_err *err)
{
    icx_turn *t = calloc(1, sizeof *t);
    *out = NULL;
    if (t == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    t->store = store;
    t->send = send;
    t->ctx = ctx;
    pthread_mutex_init(&t->handoff, NULL);
    pthread_mutex_init(&t->ck_mu, NULL);
    pthread_cond_init(&t->ck_cv, NULL);
    *out = t;
    return ICX_OK;
}

/* Copies the WAL back on its own connection whenever the loop asks, so
 * the loop never waits for a checkpoint (copying a large WAL and syncing
 * the database file took up to hundreds of ms on the loop). */
static void *checkpointer_main(void *arg)
{
    icx_turn *t = arg;
    pthread_mutex_lock(&t->ck_mu);
    for (;;) {
        while (!t->ck_want && !t->ck_quit)
            pthread_cond_wait(&t->ck_cv, &t->ck_mu);
        if (t->ck_quit)
            break;
        t->ck_want = 0;
        t->ck_running = 1;
        pthread_mutex_unlock(&t->ck_mu);
        uint64_t log = 0, copied = 0;
        icx_err err;
        int rc = icx_store_wal_checkpoint(t->ck_store, &log, &copied, &err);
        if (rc < 0)
            icx_log_limited(ICX_LOG_WARN, "wal.checkpoint", "store.checkpoint",
                            "error=\"%s\"", err.msg);
        else
            icx_log_limited_end("wal.checkpoint");
        pthread_mutex_lock(&t->ck_mu);
        t->ck_running = 0;
        t->ck_ready = rc == ICX_OK;
        t->ck_log = log;
        t->ck_copied = copied;
    }
    pthread_mutex_unlock(&t->ck_mu);
    return NULL;
}

static int start_checkpointer(icx_turn *t, icx_err *err)
{
    int rc = icx_store_open_peer(&t->ck_store, t->store, err);
    if (rc < 0)
        return rc;
    if (pthread_create(&t->ck_thread, NULL, checkpointer_main, t) != 0) {
        icx_store_free(&t->ck_store);
        return icx_err_set(err, ICX_ERROR, "cannot start the checkpointer "
                           "thread");
    }
    t->ck_started = 1;
    return ICX_OK;
}

static void stop_checkpointer(icx_turn *t)
{
    if (t->ck_started) {
        pthread_mutex_lock(&t->ck_mu);
        t->ck_quit = 1;
        pthread_cond_signal(&t->ck_cv);
        pthread_mutex_unlock(&t->ck_mu);
        pthread_join(t->ck_thread, NULL);
        t->ck_started = 0;
    }
    icx_store_free(&t->ck_store);
}

static void drop_actions(struct actions *q)
{
    for (size_t i = 0; i < q->n; i++) {
        if (q->a[i].type == ACT_REPLY)
            close(q->a[i].fd);
        free(q->a[i].data);
    }
    q->n = 0;
}

static void *committer_main(void *arg)
{
    icx_turn *t = arg;
    void *s = zmq_socket(t->zctx, ZMQ_PAIR);
    int zero = 0;
    if (s == NULL)
        return NULL;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(s, t->ep) == 0) {
        char c = MSG_READY;
        while (zmq_send(s, &c, 1, 0) < 0 && errno == EINTR)
            ;
        for (;;) {
            int n = zmq_recv(s, &c, 1, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n != 1 || c != MSG_COMMIT)
                break;
            pthread_mutex_lock(&t->handoff);
            icx_err_clear(&t->cerr);
            int64_t t0 = now_us();
            t->crc = icx_store_commit(t->store, &t->cerr);
            t->commit_us = now_us() - t0;
            pthread_mutex_unlock(&t->handoff);
            c = MSG_DONE;
            while (zmq_send(s, &c, 1, 0) < 0 && errno == EINTR)
                ;
        }
    }
    zmq_close(s);
    return NULL;
}

int icx_turn_start_committer(icx_turn *t, void *zmq_ctx, icx_err *err)
{
    int zero = 0;
    if (t->pipe != NULL)
        return icx_err_set(err, ICX_EINVAL, "committer already started");
    t->zctx = zmq_ctx;
    snprintf(t->ep, sizeof t->ep, "inproc://icx-commit-%p", (void *)t);
    t->pipe = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (t->pipe == NULL)
        return icx_err_set(err, ICX_ENOMEM, "cannot create the committer's "
                           "socket");
    zmq_setsockopt(t->pipe, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(t->pipe, t->ep) < 0)
        goto fail;
    if (pthread_create(&t->thread, NULL, committer_main, t) != 0)
        goto fail;
    t->started = 1;
    /* Connected and waiting: only then may a commit be handed over. */
    zmq_pollitem_t it = {t->pipe, 0, ZMQ_POLLIN, 0};
    char c = 0;
    if (zmq_poll(&it, 1, 10000) <= 0 ||
        zmq_recv(t->pipe, &c, 1, ZMQ_DONTWAIT) != 1 || c != MSG_READY)
        goto fail;
    if (start_checkpointer(t, err) < 0) {
        icx_err_wrap(err, "checkpointer");
        goto stop;
    }
    return ICX_OK;
fail:
    icx_err_set(err, ICX_ERROR, "cannot start the committer thread: %s",
                zmq_strerror(zmq_errno()));
stop:
    if (t->started) {
        /* Closing our end makes its receive fail, and it ends. */
        zmq_close(t->pipe);
        t->pipe = NULL;
        pthread_join(t->thread, NULL);
        t->started = 0;
    }
    if (t->pipe != NULL)
        zmq_close(t->pipe);
    t->pipe = NULL;
    return err->rc;
}

void icx_turn_free(icx_turn **tp)
{
    icx_turn *t = *tp;
    if (t == NULL)
        return;
    icx_turn_done(t, 1);
    stop_checkpointer(t);
    if (t->started) {
        char c = MSG_QUIT;
        zmq_send(t->pipe, &c, 1, 0);
        pthread_join(t->thread, NULL);
    }
    if (t->pipe != NULL)
        zmq_close(t->pipe);
    if (t->in_tx)
        icx_store_rollback(t->store);
    drop_actions(&t->q);
    free(t->q.a);
    free(t->flight.a);
    pthread_mutex_destroy(&t->handoff);
    pthread_mutex_destroy(&t->ck_mu);
    pthread_cond_destroy(&t->ck_cv);
    free(t);
    *tp = NULL;
}

int icx_turn_tx(icx_turn *t)
{
    if (t->in_tx)
        return ICX_OK;
    if (t->busy) {
        /* A handler ran while the committer holds the store: a bug in the
         * loop, refused rather than racing the commit. */
        icx_log_error("store.busy", "reason=\"a commit is in flight\"");
        return ICX_EAGAIN;
    }
    icx_err err;
    if (icx_store_begin(t->store, &err) < 0) {
        icx_log_limited(ICX_LOG_ERROR, "store.begin", "store.begin",
                        "error=\"%s\"", err.msg);
        return ICX_ESTORE;
    }
    t->in_tx = 1;
    t->failed = 0;
    t->opened_ms = icx_turn_now_ms();
    icx_store_audit_head(t->store, &t->opened_size, NULL);
    return ICX_OK;
}

int icx_turn_open(const icx_turn *t) { return t->in_tx; }
int icx_turn_failed(const icx_turn *t) { return t->in_tx && t->failed; }

void icx_turn_fail(icx_turn *t)
{
    if (t->in_tx)
        t->failed = 1;
}

static int push(icx_turn *t, const struct action *a)
{
    struct actions *q = &t->q;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        struct action *p = realloc(q->a, cap * sizeof *p);
        if (p == NULL)
            return ICX_ENOMEM;
        q->a = p;
        q->cap = cap;
    }
    q->a[q->n++] = *a;
    return ICX_OK;
}

void icx_turn_send(icx_turn *t, const char *partner, int kind,
                   const char *data, size_t len)
{
    struct action a = {.type = ACT_SEND, .kind = kind, .len = len, .fd = -1};
    snprintf(a.partner, sizeof a.partner, "%s", partner);
    a.data = malloc(len ? len : 1);
    if (a.data == NULL) {
        /* The partner retries: better than acknowledging nothing at all. */
        icx_log_warn("frame.dropped", "partner=%s kind=%d reason=\"out of "
                     "memory\"", partner, kind);
        return;
    }
    memcpy(a.data, data, len);
    if (push(t, &a) < 0)
        free(a.data);
}

void icx_turn_reply(icx_turn *t, int fd, int code, const char *text,
                    size_t len)
{
    struct action a = {.type = ACT_REPLY, .fd = fd, .code = code, .len = len};
    a.data = malloc(len ? len : 1);
    if (a.data == NULL) {
        close(fd);
        return;
    }
    memcpy(a.data, text, len);
    if (push(t, &a) < 0) {
        free(a.data);
        close(fd);
    }
}

void icx_turn_log(icx_turn *t, int level, const char *event,
                  const char *fmt, ...)
{
    struct action a = {.type = ACT_LOG, .code = level, .fd = -1};
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    a.len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    snprintf(a.partner, sizeof a.partner, "%s", event);
    a.data = malloc(a.len + 1);
    if (a.data == NULL)
        return;
    memcpy(a.data, line, a.len + 1);
    if (push(t, &a) < 0)
        free(a.data);
}

size_t icx_turn_pending(const icx_turn *t) { return t->q.n; }

int icx_turn_due(const icx_turn *t, int expecting, int64_t now_ms)
{
    if (t->busy)
        return 0;
    if (!t->in_tx)
        return t->q.n > 0;
    if (t->failed || !expecting || t->q.n >= ICX_TURN_MAX_ACTIONS)
        return 1;
    return now_ms - t->opened_ms >= ICX_TURN_LINGER_MS;
}

long icx_turn_wait_ms(const icx_turn *t, int64_t now_ms)
{
    if (t->busy)
        return -1;
    if (!t->in_tx)
        return t->q.n > 0 ? 0 : -1;
    int64_t left = t->opened_ms + ICX_TURN_LINGER_MS - now_ms;
    return left > 0 ? (long)left : 0;
}

/* Runs the actions of a committed transaction, or refuses them after a
 * rollback; empties q. */
static void run_actions(icx_turn *t, struct actions *q, int committed)
{
    for (size_t i = 0; i < q->n; i++) {
        struct action *a = &q->a[i];
        if (a->type == ACT_SEND && committed) {
            int r = t->send(t->ctx, a->partner, a->kind, a->data, a->len);
            if (r != 0)
                icx_log_info("frame.deferred", "partner=%s kind=%d result=%d",
                             a->partner, a->kind, r);
        } else if (a->type == ACT_LOG && committed) {
            icx_log(a->code, a->partner, "%s", a->data);
        } else if (a->type == ACT_REPLY) {
            if (committed) {
                icx_ctl_write_response(a->fd, a->code, a->data, a->len);
            } else {
                static const char msg[] = "icx: error: the store could not "
                                          "commit (disk full?); nothing was "
                                          "queued\n";
                icx_ctl_write_response(a->fd, 3, msg, sizeof msg - 1);
            }
            close(a->fd);
        }
        free(a->data);
        a->data = NULL;
    }
    q->n = 0;
}

/* The commit's outcome: a failure is logged (limited) and rolled back;
 * a success that wrote (every change brings an audit record; an empty
 * transaction commits on a full disk too) ends the store conditions
 * logged before it. */
const double icx_commit_bounds_ms[ICX_COMMIT_BUCKETS - 1] = {
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500};

static void commit_ended(icx_turn *t, int ok, const icx_err *err,
                         int64_t us)
{
    int k = 0;
    while (k < ICX_COMMIT_BUCKETS - 1 && us > icx_commit_bounds_ms[k] * 1000)
        k++;
    t->lat.buckets[k]++;
    t->lat.count++;
    t->lat.seconds += (double)us / 1e6;
    if (ok) {
        uint64_t size = 0;
        icx_store_audit_head(t->store, &size, NULL);
        if (size > t->opened_size)
            icx_log_limited_end("store.");
        return;
    }
    icx_log_limited(ICX_LOG_ERROR, "store.commit", "store.commit",
                    "error=\"%s\" suggestion=\"check free disk space; "
                    "nothing of this turn was acknowledged\"", err->msg);
    icx_store_rollback(t->store); /* no-op: a failed commit rolled back */
}

int icx_turn_end(icx_turn *t)
{
    if (t->busy)
        return ICX_TURN_STARTED;
    if (!t->in_tx) {
        run_actions(t, &t->q, 1);
        return ICX_TURN_NOTHING;
    }
    t->in_tx = 0;
    if (t->failed) {
        t->failed = 0;
        icx_store_rollback(t->store);
        run_actions(t, &t->q, 0);
        return ICX_TURN_ROLLED_BACK;
    }
    if (t->pipe == NULL) {
        icx_err err;
        int64_t t0 = now_us();
        int ok = icx_store_commit(t->store, &err) == ICX_OK;
        commit_ended(t, ok, &err, now_us() - t0);
        run_actions(t, &t->q, ok);
        return ok ? ICX_TURN_COMMITTED : ICX_TURN_ROLLED_BACK;
    }
    /* The committer takes the store and this transaction's actions. */
    struct actions tmp = t->flight;
    t->flight = t->q;
    t->q = tmp;
    t->q.n = 0;
    t->busy = 1;
    pthread_mutex_lock(&t->handoff);   /* the loop's writes, released */
    pthread_mutex_unlock(&t->handoff);
    char c = MSG_COMMIT;
    while (zmq_send(t->pipe, &c, 1, 0) < 0) {
        if (zmq_errno() == EINTR)
            continue;
        /* Cannot happen with a live committer; commit here instead. */
        icx_err err;
        t->busy = 0;
        int64_t t0 = now_us();
        int ok = icx_store_commit(t->store, &err) == ICX_OK;
        commit_ended(t, ok, &err, now_us() - t0);
        run_actions(t, &t->flight, ok);
        return ok ? ICX_TURN_COMMITTED : ICX_TURN_ROLLED_BACK;
    }
    return ICX_TURN_STARTED;
}

int icx_turn_busy(const icx_turn *t) { return t->busy; }

void *icx_turn_socket(icx_turn *t) { return t->pipe; }

int icx_turn_done(icx_turn *t, int wait)
{
    if (!t->busy)
        return ICX_TURN_NOTHING;
    char c = 0;
    for (;;) {
        int n = zmq_recv(t->pipe, &c, 1, wait ? 0 : ZMQ_DONTWAIT);
        if (n == 1 && c == MSG_DONE)
            break;
        if (n < 0 && zmq_errno() == EINTR)
            continue;
        if (n < 0 && zmq_errno() == EAGAIN)
            return ICX_TURN_STARTED; /* not yet */
        if (n < 0) {
            /* The committer is gone: what it did is unknown, so nothing
             * of the batch may be acknowledged. */
            icx_log_limited(ICX_LOG_ERROR, "store.commit", "store.commit",
                            "error=\"committer: %s\"",
                            zmq_strerror(zmq_errno()));
            t->busy = 0;
            run_actions(t, &t->flight, 0);
            return ICX_TURN_ROLLED_BACK;
        }
    }
    pthread_mutex_lock(&t->handoff);   /* the committer's writes, acquired */
    pthread_mutex_unlock(&t->handoff);
    t->busy = 0;
    int ok = t->crc == ICX_OK;
    commit_ended(t, ok, &t->cerr, t->commit_us);
    run_actions(t, &t->flight, ok);
    return ok ? ICX_TURN_COMMITTED : ICX_TURN_ROLLED_BACK;
}

uint64_t icx_turn_wal_pages(const icx_turn *t)
{
    return icx_store_wal_pages(t->store);
}

int icx_turn_folding(icx_turn *t)
{
    pthread_mutex_lock(&t->ck_mu);
    int r = t->ck_want || t->ck_running;
    pthread_mutex_unlock(&t->ck_mu);
    return r;
}

/* With a checkpointer: records what it copied, and asks for the next copy
 * once the WAL holds ICX_TURN_WAL_MIN pages, busy or not. */
static void fold_beside(icx_turn *t)
{
    pthread_mutex_lock(&t->ck_mu);
    if (t->ck_ready) {
        icx_store_wal_copied(t->store, t->ck_restarts, t->ck_log,
                             t->ck_copied);
        t->ck_ready = 0;
    }
    if (!t->ck_want && !t->ck_running &&
        icx_store_wal_pages(t->store) >= ICX_TURN_WAL_MIN) {
        t->ck_restarts = icx_store_wal_restarts(t->store);
        t->ck_want = 1;
        pthread_cond_signal(&t->ck_cv);
    }
    pthread_mutex_unlock(&t->ck_mu);
}

void icx_turn_fold(icx_turn *t, int idle)
{
    if (t->in_tx || t->busy)
        return;
    if (t->ck_started) {
        fold_beside(t);
        return;
    }
    uint64_t pages = icx_store_wal_pages(t->store);
    if (pages < ICX_TURN_WAL_MIN)
        return;
    int64_t now = icx_turn_now_ms();
    if (!idle) {
        /* Busy: only a WAL past its bound, and at most once a second (a
         * reader holding an old snapshot can keep pages from folding). */
        if (pages < ICX_TURN_WAL_MAX || now - t->wal_forced_ms < 1000)
            return;
        t->wal_forced_ms = now;
    }
    icx_err err;
    if (icx_store_idle(t->store, &err) < 0)
        icx_log_limited(ICX_LOG_WARN, "wal.checkpoint", "store.checkpoint",
                        "error=\"%s\"", err.msg);
    else
        icx_log_limited_end("wal.checkpoint");
}
