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
 * Order of actions: frames and replies run in the order they were queued,
 * after the commit; a rolled-back transaction sends no frame and answers
 * every queued reply with exit code 3 and a message that nothing was
 * stored (the partner's retry finds the store as it was before).
 *
 * Ownership, threads and errors as in turn.h.
 */
#include "turn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

enum { ACT_SEND = 1, ACT_REPLY = 2 };

struct action {
    int type;
    char partner[32];
    int kind;
    char *data;
    size_t len;
    int fd;
    int code;
};

struct icx_turn {
    icx_store *store;
    icx_turn_send_fn send;
    void *ctx;
    int in_tx;
    int failed;
    int64_t opened_ms;
    struct action *act;
    size_t nact, capact;
    int64_t wal_forced_ms;  /* last checkpoint forced by the WAL's size */
};

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
    *out = t;
    return ICX_OK;
}

static void drop_actions(icx_turn *t)
{
    for (size_t i = 0; i < t->nact; i++) {
        if (t->act[i].type == ACT_REPLY)
            close(t->act[i].fd);
        free(t->act[i].data);
    }
    t->nact = 0;
}

void icx_turn_free(icx_turn **tp)
{
    icx_turn *t = *tp;
    if (t == NULL)
        return;
    if (t->in_tx)
        icx_store_rollback(t->store);
    drop_actions(t);
    free(t->act);
    free(t);
    *tp = NULL;
}

int icx_turn_tx(icx_turn *t)
{
    if (t->in_tx)
        return ICX_OK;
    icx_err err;
    if (icx_store_begin(t->store, &err) < 0) {
        icx_log_error("store.begin", "error=\"%s\"", err.msg);
        return ICX_ESTORE;
    }
    t->in_tx = 1;
    t->failed = 0;
    t->opened_ms = icx_turn_now_ms();
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
    if (t->nact == t->capact) {
        size_t cap = t->capact ? t->capact * 2 : 64;
        struct action *p = realloc(t->act, cap * sizeof *p);
        if (p == NULL)
            return ICX_ENOMEM;
        t->act = p;
        t->capact = cap;
    }
    t->act[t->nact++] = *a;
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

size_t icx_turn_pending(const icx_turn *t) { return t->nact; }

int icx_turn_due(const icx_turn *t, int expecting, int64_t now_ms)
{
    if (!t->in_tx)
        return t->nact > 0;
    if (t->failed || !expecting || t->nact >= ICX_TURN_MAX_ACTIONS)
        return 1;
    return now_ms - t->opened_ms >= ICX_TURN_LINGER_MS;
}

long icx_turn_wait_ms(const icx_turn *t, int64_t now_ms)
{
    if (!t->in_tx)
        return t->nact > 0 ? 0 : -1;
    int64_t left = t->opened_ms + ICX_TURN_LINGER_MS - now_ms;
    return left > 0 ? (long)left : 0;
}

int icx_turn_end(icx_turn *t)
{
    int result = 0;
    if (t->in_tx) {
        icx_err err;
        result = 1;
        if (t->failed || icx_store_commit(t->store, &err) < 0) {
            if (!t->failed)
                icx_log_error("store.commit", "error=\"%s\" suggestion=\""
                              "check free disk space; nothing of this turn "
                              "was acknowledged\"", err.msg);
            icx_store_rollback(t->store);
            result = -1;
        }
        t->in_tx = 0;
        t->failed = 0;
    }
    for (size_t i = 0; i < t->nact; i++) {
        struct action *a = &t->act[i];
        if (a->type == ACT_SEND && result >= 0) {
            int r = t->send(t->ctx, a->partner, a->kind, a->data, a->len);
            if (r != 0)
                icx_log_info("frame.deferred", "partner=%s kind=%d result=%d",
                             a->partner, a->kind, r);
        } else if (a->type == ACT_REPLY) {
            if (result >= 0) {
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
    t->nact = 0;
    return result;
}

uint64_t icx_turn_wal_pages(const icx_turn *t)
{
    return icx_store_wal_pages(t->store);
}

void icx_turn_fold(icx_turn *t, int idle)
{
    if (t->in_tx)
        return;
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
        icx_log_warn("store.checkpoint", "error=\"%s\"", err.msg);
}
