/*
 * broker_core.c - the services every part of the loop uses: the clock,
 * configuration generations (shared with the jobs that hold them), the
 * loop's transaction (turn.c) and the audit records written in it, the
 * actions that wait for its commit (frames to partners, control replies),
 * and handing jobs to the worker pool.
 *
 * Loop thread only, except icx_gen_ref/unref (atomic; workers drop their
 * job's reference).  Calls only broker_jobs.c (the function a job runs)
 * and the files below the broker; never the loop, the transports or the
 * handlers above it.  A failed audit write fails the turn: nothing of it
 * commits, nothing of it is acknowledged.
 */
#include "broker_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "log.h"

int64_t icx_broker_now(void) { return (int64_t)time(NULL); }

struct icx_gen *icx_gen_ref(struct icx_gen *g)
{
    atomic_fetch_add(&g->refs, 1);
    return g;
}

void icx_gen_unref(struct icx_gen **gp)
{
    struct icx_gen *g = *gp;
    if (g == NULL)
        return;
    *gp = NULL;
    if (atomic_fetch_sub(&g->refs, 1) == 1) {
        icx_trust_free(&g->trust);
        icx_config_free(&g->cfg);
        free(g);
    }
}

void icx_broker_audit(icx_broker *b, const char *event, const char *msgid,
                      const char *partner, const char *fmt, ...)
{
    char detail[512] = "";
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    icx_audit_event ev = {event, msgid, partner, detail};
    icx_err err;
    if (icx_broker_tx(b) < 0)
        return;
    if (icx_store_audit(b->store, &ev, &err) < 0) {
        icx_log_limited(ICX_LOG_ERROR, "store.audit", "audit.failed",
                        "event=%s error=\"%s\"", event, err.msg);
        icx_turn_fail(b->turn);
    }
}

int icx_broker_tx(icx_broker *b)
{
    return b->turn != NULL ? icx_turn_tx(b->turn) : ICX_ESTORE;
}

void icx_broker_tx_fail(icx_broker *b)
{
    icx_turn_fail(b->turn);
}

int icx_broker_tx_failed(const icx_broker *b)
{
    return icx_turn_failed(b->turn);
}

void icx_broker_post_send(icx_broker *b, const char *partner, int kind,
                          const char *data, size_t len)
{
    icx_turn_send(b->turn, partner, kind, data, len);
}

void icx_broker_post_reply(icx_broker *b, int fd, int code, const char *text,
                           size_t len)
{
    icx_turn_reply(b->turn, fd, code, text, len);
}

void icx_bjob_free(struct bjob *j)
{
    if (j == NULL)
        return;
    icx_gen_unref(&j->gen);
    free(j->data);
    free(j->out);
    free(j);
}

int icx_broker_submit_job(icx_broker *b, struct bjob *j)
{
    icx_err err;
    j->base.run = icx_bjob_run;
    j->base.run_many = icx_bjob_run_many;
    j->base.urgent = j->type != BJOB_SIGN;
    j->b = b;
    if (j->gen == NULL)
        j->gen = icx_gen_ref(b->gen);
    if (icx_pool_submit(b->pool, &j->base, &err) < 0) {
        icx_log_warn("pool.full", "error=\"%s\"", err.msg);
        return ICX_EAGAIN;
    }
    return ICX_OK;
}

/* Answers a control client after the commit (fd < 0: a message produced
 * inside the daemon, whose failure is only logged).  Frees text. */
void icx_broker_reply(icx_broker *b, int fd, int code, icx_buf *text)
{
    if (fd >= 0)
        icx_broker_post_reply(b, fd, code, text->data ? text->data : "",
                              text->len);
    else if (code != 0)
        icx_log_warn("enqueue.failed", "detail=\"%.200s\"",
                     text->data ? text->data : "");
    icx_buf_free(text);
}

/* Answers a control client at once and closes it (an error: nothing was
 * done).  fd < 0: a message produced inside the daemon; only logged. */
void icx_broker_reply_now(int fd, int code, const char *msg)
{
    if (fd < 0) {
        icx_log_warn("enqueue.failed", "detail=\"%s\"", msg);
        return;
    }
    icx_ctl_write_response(fd, code, msg, strlen(msg));
    close(fd);
}
