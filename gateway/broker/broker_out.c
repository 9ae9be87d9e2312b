/*
 * broker_out.c - outbound: the due scan that sends and retries.  Next
 * hops and the egress policy are in broker_policy.c; waking a partner's
 * queue when it connects, in broker_net.c.
 *
 * Delivery guarantee: at least once, deduplicated by MessageId at the
 * receiver.  A row is sent, then its new state is recorded; a crash in
 * between sends it again, and the receiver answers with the original
 * receipt.  Retries follow the partner's schedule (initial_seconds,
 * doubling up to max_seconds) until a receipt settles the row or
 * max_age_seconds passes (failed, with an alert).  A negative receipt is
 * never retried.
 *
 * Loop thread only.  Calls broker_core.c and broker_net.c (sending).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_int.h"
#include "log.h"

#define SCAN_BATCH 256

static int64_t backoff(const icx_partner *p, int attempts)
{
    int64_t d = p ? p->retry_initial_s : 5;
    int64_t max = p ? p->retry_max_s : 600;
    for (int i = 1; i < attempts && d < max; i++)
        d *= 2;
    return d < max ? d : max;
}

static void fail_row(icx_broker *b, const icx_out_row *row, const char *why)
{
    icx_err err;
    char detail[256];
    snprintf(detail, sizeof detail, "attempts=%d reason=\"%s\"", row->attempts,
             why);
    if (icx_store_out_transition(b->store, row->message_id, row->next_hop,
                                 row->state, ICX_OUT_FAILED, row->attempts, 0,
                                 why, "outbound.failed", detail, &err) < 0 &&
        err.rc != ICX_ENOTFOUND)
        icx_broker_tx_fail(b);
    icx_log_error("outbound.failed", "alert=1 message_id=%s hop=%s "
                  "recipient=%s attempts=%d reason=\"%s\"", row->message_id,
                  row->next_hop, row->recipient, row->attempts, why);
}

static const char *send_result_name(int r)
{
    switch (r) {
    case ICX_SEND_OK: return "ok";
    case ICX_SEND_RETRY: return "retry";
    case ICX_SEND_NOT_CONNECTED: return "not-connected";
    case ICX_SEND_REJECTED: return "rejected";
    default: return "error";
    }
}

static void send_row(icx_broker *b, const icx_out_row *row, int64_t now,
                     icx_buf *env)
{
    const icx_config *cfg = b->gen->cfg;
    const icx_partner *p = icx_config_partner(cfg, row->next_hop);
    icx_err err;
    if (p != NULL && now - row->created_at > p->max_age_s) {
        fail_row(b, row, "maximum age reached without a receipt");
        return;
    }
    icx_buf_reset(env);
    int got = icx_store_out_envelope(b->store, row->message_id, row->next_hop,
                                     env, &err);
    if (got == ICX_ECORRUPT) {
        /* Bytes that no longer match their digest never leave; the store
         * has logged and audited it.  Retrying cannot mend them. */
        fail_row(b, row, "stored envelope damaged: its bytes no longer "
                 "match their SHA-256");
        return;
    }
    if (got < 0) {
        icx_broker_tx_fail(b);
        return;
    }
    int attempts = row->attempts + 1;
    int r = p == NULL ? ICX_SEND_ERROR
                      : icx_broker_send(b, row->next_hop,
                                     ICX_FRAME_ENVELOPE, env->data, env->len,
                                     &err);
    char detail[200];
    snprintf(detail, sizeof detail, "attempt=%d adapter=%s result=%s",
             attempts, p && p->adapter ? p->adapter : "-", send_result_name(r));
    if (r == ICX_SEND_REJECTED) {
        icx_out_row tmp = *row;
        tmp.attempts = attempts;
        fail_row(b, &tmp, "the transport refused the message (too large?)");
        return;
    }
    /* The core decides when to try again; the adapter may use the moment
     * to re-open what it gave up on (a folder, a connection). */
    if (r == ICX_SEND_NOT_CONNECTED || r == ICX_SEND_RETRY)
        icx_broker_try_resume(b, row->next_hop);
    int64_t next = now + backoff(p, attempts);
    int rc;
    if (r == ICX_SEND_OK && row->state == ICX_OUT_QUEUED)
        rc = icx_store_out_transition(b->store, row->message_id, row->next_hop,
                                      ICX_OUT_QUEUED, ICX_OUT_SENT, attempts,
                                      next, NULL, "outbound.sent", detail, &err);
    else
        rc = icx_store_out_reschedule(b->store, row->message_id, row->next_hop,
                                      row->state, attempts, next,
                                      r == ICX_SEND_OK ? "outbound.sent"
                                                       : "outbound.attempt",
                                      detail, &err);
    if (rc < 0 && rc != ICX_ENOTFOUND)
        icx_broker_tx_fail(b);
}

void icx_broker_scan(icx_broker *b, int64_t now)
{
    icx_out_row *rows = malloc(SCAN_BATCH * sizeof *rows);
    icx_buf env;
    icx_err err;
    size_t n = 0;
    if (rows == NULL || icx_broker_tx(b) < 0) {
        free(rows);
        return;
    }
    icx_buf_init(&env, (size_t)b->gen->cfg->max_message_bytes + 1);
    if (icx_store_out_due(b->store, now, NULL, rows, SCAN_BATCH, &n, &err) < 0) {
        icx_log_limited(ICX_LOG_ERROR, "store.due", "store",
                        "op=due error=\"%s\"", err.msg);
        n = 0;
    }
    for (size_t i = 0; i < n && !icx_broker_tx_failed(b); i++)
        send_row(b, &rows[i], now, &env);
    if (n == SCAN_BATCH)
        b->next_scan = 0; /* more are due: come back at once */
    icx_buf_free(&env);
    free(rows);
}
