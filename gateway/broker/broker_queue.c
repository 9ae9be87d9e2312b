/*
 * broker_queue.c - outbound messages on their way into the queue: those
 * an operator submits (broker_ctl.c) and those produced inside the daemon
 * (hook answers, periodic tasks).  Each is signed on the pool; when all
 * signatures of a request are back, all are inserted as queued in one
 * transaction and the client is answered after it commits.  One that
 * cannot be signed queues none of its request, and the answer says why
 * for each such message: the builder's icx_err message (a schema error
 * names its field; the validator withholds the value), exit 1 when the
 * input was at fault, 3 when the gateway was.
 *
 * Loop thread only.  Owns the pending requests (b->pending) until their
 * last signature is back or the daemon stops (icx_broker_ctl_abort_all
 * answers their clients that nothing was queued).  Calls broker_core.c and
 * broker_policy.c only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker_int.h"
#include "log.h"
#include "util.h"

void icx_broker_pending_free(struct ctl_pending *p)
{
    if (p == NULL)
        return;
    for (int i = 0; p->signed_env != NULL && i < p->n; i++)
        free(p->signed_env[i]);
    for (int i = 0; p->payloads != NULL && i < p->n; i++)
        free(p->payloads[i]);
    for (int i = 0; p->why != NULL && i < p->n; i++)
        free(p->why[i]);
    free(p->why);
    free(p->payloads);
    free(p->payload_lens);
    free(p->signed_env);
    free(p->signed_len);
    free(p->signed_sha);
    free(p->headers);
    free(p->hops);
    icx_ctl_request_free(&p->req);
    icx_buf_free(&p->text);
    free(p);
}

static void pending_unlink(icx_broker *b, struct ctl_pending *p)
{
    for (struct ctl_pending **pp = &b->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

void icx_broker_ctl_abort_all(icx_broker *b)
{
    while (b->pending != NULL) {
        struct ctl_pending *p = b->pending;
        b->pending = p->next;
        icx_broker_reply_now(p->fd, 3, "icx: error: the daemon stopped "
                                       "before the messages were queued; "
                                       "nothing was queued\n");
        icx_broker_pending_free(p);
    }
}

/* Hands every message of p to the signing workers.  Message i carries
 * payload i / per_payload: a control request's file goes to each of its
 * recipients; a module's messages each have their own payload. */
static void sign_all(icx_broker *b, struct ctl_pending *p, int per_payload)
{
    for (int i = 0; i < p->n; i++) {
        struct bjob *j = calloc(1, sizeof *j);
        if (j == NULL) {
            p->failed++;
            p->internal++;
            continue;
        }
        j->type = BJOB_SIGN;
        j->ctl = p;
        j->index = i;
        j->h = p->headers[i];
        if (p->payloads != NULL) {
            j->payload = p->payloads[i / per_payload];
            j->payload_len = p->payload_lens[i / per_payload];
        } else {
            j->payload = p->req.blobs[i / per_payload];
            j->payload_len = p->req.bloblens[i / per_payload];
        }
        if (icx_broker_submit_job(b, j) < 0) {
            icx_bjob_free(j);
            p->failed++;
            p->internal++;
            continue;
        }
        p->remaining++;
    }
}

int icx_broker_pending_sign(icx_broker *b, struct ctl_pending *p,
                            int per_payload)
{
    p->per_payload = per_payload;
    sign_all(b, p, per_payload);
    if (p->remaining == 0)
        return ICX_EAGAIN;
    p->next = b->pending;
    b->pending = p;
    return ICX_OK;
}

/* All signatures of a submission are back: queue them in this turn's
 * transaction; the reply goes out after the commit. */
static void submit_finish(icx_broker *b, struct ctl_pending *p)
{
    icx_buf text;
    icx_err err;
    icx_buf_init(&text, 4 << 20);
    pending_unlink(b, p);
    if (p->failed > 0) {
        /* Each message says why, as the builder found it (the field of a
         * schema error; its value is withheld by the validator). */
        for (int i = 0; i < p->n; i++)
            if (p->signed_env[i] == NULL)
                icx_buf_printf(&text, "icx: error: %s to %s (payload %d): %s\n",
                               p->headers[i].message_id,
                               p->headers[i].recipient,
                               i / (p->per_payload > 0 ? p->per_payload : 1) + 1,
                               p->why != NULL && p->why[i] != NULL
                                   ? p->why[i] : "could not be signed");
        icx_buf_printf(&text, "icx: error: %d of %d messages could not be "
                       "built or signed; nothing was queued\n", p->failed, p->n);
        icx_broker_reply(b, p->fd, p->internal > 0 ? 3 : 1, &text);
        p->fd = -1;
        icx_broker_pending_free(p);
        return;
    }
    if (icx_broker_tx(b) < 0) {
        icx_broker_reply_now(p->fd, 3, "icx: error: store unavailable; "
                                       "nothing was queued\n");
        p->fd = -1;
        icx_broker_pending_free(p);
        return;
    }
    if (p->json)
        icx_buf_puts(&text, "[");
    int64_t now = icx_broker_now();
    for (int i = 0; i < p->n && !icx_broker_tx_failed(b); i++) {
        icx_header *h = &p->headers[i];
        icx_out_row row;
        memset(&row, 0, sizeof row);
        snprintf(row.message_id, sizeof row.message_id, "%s", h->message_id);
        snprintf(row.next_hop, sizeof row.next_hop, "%s", p->hops[i]);
        snprintf(row.recipient, sizeof row.recipient, "%s", h->recipient);
        snprintf(row.sender, sizeof row.sender, "%s", h->sender);
        snprintf(row.category, sizeof row.category, "%s", h->category);
        memcpy(row.sha256, p->signed_sha[i], sizeof row.sha256);
        row.state = ICX_OUT_QUEUED;
        row.created_at = row.next_attempt_at = row.updated_at = now;
        char detail[300];
        snprintf(detail, sizeof detail, "recipient=%s hop=%s category=%s "
                 "tlp=%s code=%s sha256=%s user=%s", h->recipient, p->hops[i],
                 h->category, h->tlp, h->hcode, row.sha256,
                 p->origin);
        if (icx_store_out_insert(b->store, &row, p->signed_env[i],
                                 p->signed_len[i], "outbound.queued", detail,
                                 &err) < 0) {
            icx_broker_tx_fail(b);
            icx_log_limited(ICX_LOG_ERROR, "store.write", "store",
                            "op=enqueue error=\"%s\"", err.msg);
            break;
        }
        if (p->json)
            icx_buf_printf(&text, "%s{\"message_id\":\"%s\",\"recipient\":\"%s\","
                           "\"hop\":\"%s\",\"sha256\":\"%s\",\"state\":\"queued\"}",
                           i ? "," : "", h->message_id, h->recipient, p->hops[i],
                           row.sha256);
        else
            icx_buf_printf(&text, "queued %s to %s via %s (sha256 %s)\n",
                           h->message_id, h->recipient, p->hops[i], row.sha256);
    }
    if (p->json)
        icx_buf_puts(&text, "]\n");
    b->next_scan = 0;
    icx_broker_reply(b, p->fd, 0, &text);
    p->fd = -1;
    icx_broker_pending_free(p);
}

void icx_broker_signed(icx_broker *b, struct bjob *j)
{
    struct ctl_pending *p = j->ctl;
    if (j->rc == ICX_OK) {
        p->signed_env[j->index] = j->out;
        p->signed_len[j->index] = j->out_len;
        memcpy(p->signed_sha[j->index], j->sha256, sizeof p->signed_sha[0]);
        j->out = NULL;
    } else {
        p->failed++;
        /* The input's fault (exit 1) or ours (exit 3). */
        if (j->rc != ICX_EINVAL && j->rc != ICX_EBADSIG &&
            j->rc != ICX_EPOLICY && j->rc != ICX_EFULL)
            p->internal++;
        if (p->why == NULL)
            p->why = calloc((size_t)p->n, sizeof *p->why);
        if (p->why != NULL && p->why[j->index] == NULL)
            p->why[j->index] = strdup(j->err.msg[0] ? j->err.msg
                                                        : icx_rc_str(j->rc));
        icx_log_warn("submit.failed", "message_id=%s error=\"%s\"",
                     j->h.message_id, j->err.msg);
    }
    icx_bjob_free(j);
    if (--p->remaining == 0)
        submit_finish(b, p);
}

void icx_outmsg_free(icx_outmsg *msgs, size_t n)
{
    for (size_t i = 0; msgs != NULL && i < n; i++)
        free(msgs[i].payload);
    free(msgs);
}

void icx_broker_enqueue(icx_broker *b, icx_outmsg *msgs, size_t n,
                        const char *origin)
{
    const icx_config *cfg = b->gen->cfg;
    struct ctl_pending *p = calloc(1, sizeof *p);
    time_t now = time(NULL);
    if (p == NULL || n == 0) {
        free(p);
        icx_outmsg_free(msgs, n);
        return;
    }
    p->fd = -1;
    p->origin = origin;
    icx_buf_init(&p->text, 1 << 20);
    p->headers = calloc(n, sizeof *p->headers);
    p->hops = calloc(n, sizeof *p->hops);
    p->signed_env = calloc(n, sizeof *p->signed_env);
    p->signed_len = calloc(n, sizeof *p->signed_len);
    p->signed_sha = calloc(n, sizeof *p->signed_sha);
    p->payloads = calloc(n, sizeof *p->payloads);
    p->payload_lens = calloc(n, sizeof *p->payload_lens);
    if (!p->headers || !p->hops || !p->signed_env || !p->signed_len ||
        !p->signed_sha || !p->payloads || !p->payload_lens) {
        icx_broker_pending_free(p);
        icx_outmsg_free(msgs, n);
        return;
    }
    p->n = (int)n;
    for (size_t i = 0; i < n; i++) {
        icx_err err;
        p->headers[i] = msgs[i].h;
        snprintf(p->headers[i].sender, sizeof p->headers[i].sender, "%s",
                 cfg->id);
        icx_header_stamp(&p->headers[i], now, &err);
        p->payloads[i] = msgs[i].payload;
        p->payload_lens[i] = msgs[i].len;
        msgs[i].payload = NULL;
        snprintf(p->hops[i], sizeof p->hops[i], "%s",
                 icx_broker_next_hop(cfg, p->headers[i].recipient));
    }
    icx_outmsg_free(msgs, n);
    for (int i = 0; i < p->n; i++) {
        char why[400];
        if (icx_broker_egress_check(cfg, &p->headers[i], why, sizeof why) < 0) {
            icx_broker_audit(b, "outbound.refused", p->headers[i].message_id,
                             p->headers[i].recipient, "stage=%s reason=\"%s\"",
                             origin, why);
            icx_broker_pending_free(p);
            return;
        }
    }
    if (icx_broker_pending_sign(b, p, 1) < 0)
        icx_broker_pending_free(p);
}
