/*
 * broker_in.c - what the loop does with a verified (or refused) inbound
 * frame: the replay cache, the inbox, relaying, receipts.
 *
 * Order matters.  A MessageId already seen from an authenticated sender is
 * answered from the store before any other rule: the same bytes get the
 * original receipt again (a retry, even one that arrives after the
 * freshness window), different bytes are a replay.  Only then does the
 * verification verdict decide between accepted and rejected.  Rejections
 * whose signature did not verify are audited but not stored: an
 * unauthenticated sender must not be able to fill the replay cache.
 *
 * Loop thread only.  Store failures mark the turn failed (nothing of it is
 * committed or acknowledged); the partner's retry finds the old state.
 * The log line that says an envelope was accepted or rejected is written
 * after the commit that stored it, never for a batch rolled back.
 * Calls broker_core.c, and broker_queue.c for what hooks answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_int.h"
#include "log.h"
#include "util.h"

static void store_failed(icx_broker *b, const char *what, const icx_err *err)
{
    /* Every retry of the partner meets it again while the disk is full. */
    icx_log_limited(ICX_LOG_ERROR, "store.write", "store",
                    "op=%s error=\"%s\"", what, err->msg);
    icx_broker_tx_fail(b);
}

/* The MessageId of a header, for a record: NULL unless it is a UUID. */
static const char *valid_id(const char *id)
{
    return icx_uuid_valid(id) ? id : NULL;
}

/* Text read as a MessageId that is not one, made safe for a key=value
 * record: characters outside [0-9A-Za-z._/:+-] become '?'. */
static void claimed_id(char out[41], const char *id)
{
    size_t i;
    for (i = 0; i < 40 && id[i] != '\0'; i++) {
        char c = id[i];
        int keep = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                   (c >= 'A' && c <= 'Z') || strchr("._/:+-", c) != NULL;
        out[i] = keep ? c : '?';
    }
    out[i] = '\0';
}

/* A receipt that cannot be built or queued is never dropped silently: the
 * log and the audit log say which bytes went unanswered and why. */
static void receipt_failed(icx_broker *b, const char *message_id,
                           const char *partner, const char *peer,
                           const char *sha256, int rc, const char *why)
{
    icx_log_error("receipt.failed", "message_id=%s partner=%s peer=%s "
                  "sha256=%s error=%s detail=\"%s\"",
                  message_id ? message_id : "-", partner, peer, sha256,
                  icx_rc_name(rc), why);
    icx_broker_audit(b, "receipt.failed", message_id, partner,
                     "peer=%s sha256=%s error=%s", peer, sha256,
                     icx_rc_name(rc));
}

/* Sends the receipt the verification built for j, or says why none. */
static void answer(icx_broker *b, struct bjob *j, const char *partner)
{
    if (j->out != NULL)
        icx_broker_post_send(b, j->peer, ICX_FRAME_RECEIPT, j->out, j->out_len);
    else if (j->receipt_rc < 0)
        receipt_failed(b, valid_id(j->h.message_id), partner, j->peer,
                       j->sha256, j->receipt_rc, j->receipt_err.msg);
}

/* Asks a worker to sign a receipt for j's envelope and send it to peer. */
static void want_receipt(icx_broker *b, struct bjob *j, int reason)
{
    struct bjob *r = calloc(1, sizeof *r);
    if (r == NULL) {
        receipt_failed(b, valid_id(j->h.message_id), j->h.sender, j->peer,
                       j->sha256, ICX_ENOMEM, "out of memory");
        return;
    }
    r->type = BJOB_RECEIPT;
    r->r.positive = reason == ICX_REASON_NONE;
    snprintf(r->r.ref_message_id, sizeof r->r.ref_message_id, "%s", j->h.message_id);
    snprintf(r->r.ref_sender, sizeof r->r.ref_sender, "%s", j->h.sender);
    memcpy(r->r.digest, j->sha256, sizeof r->r.digest);
    icx_time_format(r->r.received_at, sizeof r->r.received_at, icx_broker_now());
    if (!r->r.positive) {
        snprintf(r->r.reason, sizeof r->r.reason, "%s", icx_reason_name(reason));
        snprintf(r->r.detail, sizeof r->r.detail, "%s", icx_reason_str(reason));
    }
    snprintf(r->to, sizeof r->to, "%s", j->h.sender);
    snprintf(r->peer, sizeof r->peer, "%s", j->peer);
    if (icx_broker_submit_job(b, r) < 0) {
        icx_bjob_free(r);
        receipt_failed(b, valid_id(j->h.message_id), j->h.sender, j->peer,
                       j->sha256, ICX_ERROR, "cannot queue the signing job");
    }
}

void icx_broker_receipt_signed(icx_broker *b, struct bjob *j)
{
    if (j->out != NULL)
        icx_broker_post_send(b, j->peer, ICX_FRAME_RECEIPT, j->out, j->out_len);
    else
        receipt_failed(b, valid_id(j->r.ref_message_id), j->to, j->peer,
                       j->r.digest, j->receipt_rc < 0 ? j->receipt_rc
                                                      : ICX_ERROR,
                       j->receipt_err.msg);
}

struct resend_ctx {
    icx_broker *b;
    const char *peer;
    const char *skip_issuer;
};

static int resend_receipt(void *ctx, const icx_receipt_row *row,
                          const void *env, size_t len)
{
    struct resend_ctx *rc = ctx;
    if (strcmp(row->issuer, rc->skip_issuer) != 0 && env != NULL)
        icx_broker_post_send(rc->b, rc->peer, ICX_FRAME_RECEIPT, env, len);
    return 0;
}

/* The same envelope again, byte for byte: a retry by a sender that lost
 * our receipt, not a replay (nothing new is accepted; docs/SECURITY.md).
 * The original receipt again (and, at a hub, the final recipient's
 * receipts it has collected); the record says it was a retry. */
static void duplicate(icx_broker *b, struct bjob *j, const icx_in_row *row,
                      icx_buf *receipt)
{
    const char *self = b->gen->cfg->id;
    icx_broker_audit(b, "inbound.retry", j->h.message_id, j->h.sender,
                     "retry=byte-identical answer=original-receipt peer=%s "
                     "sha256=%s original_state=%s", j->peer, j->sha256,
                     icx_in_state_name(row->state));
    icx_log_info("inbound.retry", "message_id=%s sender=%s peer=%s sha256=%s",
                 j->h.message_id, j->h.sender, j->peer, j->sha256);
    if (receipt->len > 0)
        icx_broker_post_send(b, j->peer, ICX_FRAME_RECEIPT, receipt->data,
                             receipt->len);
    else
        want_receipt(b, j, row->state == ICX_IN_ACCEPTED
                               ? ICX_REASON_NONE
                               : icx_reason_from_name(row->reason) > 0
                                     ? icx_reason_from_name(row->reason)
                                     : ICX_REASON_INTERNAL);
    if (strcmp(row->recipient, self) != 0) {
        icx_err err;
        struct resend_ctx rc = {b, j->peer, self};
        icx_store_receipts(b->store, j->h.message_id, resend_receipt, &rc, &err);
    }
}

static void hook_audit(void *actx, const char *event, const char *message_id,
                       const char *partner, const char *detail)
{
    icx_broker_audit(actx, event, message_id, partner, "%s",
                     detail ? detail : "");
}

static int hook_sent(void *actx, const char *message_id, const char *hop,
                     icx_buf *out, icx_err *err)
{
    icx_broker *b = actx;
    return icx_store_out_envelope(b->store, message_id, hop, out, err);
}

icx_hook_env icx_broker_hook_env(icx_broker *b)
{
    icx_hook_env env = {b->gen->cfg, hook_audit, hook_sent, b};
    return env;
}

/* Hands an accepted envelope to the module registered for its category;
 * what it answers is queued like a submission. */
static void run_hooks(icx_broker *b, struct bjob *j)
{
    icx_hook_env env = icx_broker_hook_env(b);
    for (size_t i = 0; i < b->nhooks; i++) {
        const icx_hook *hk = &b->hooks[i];
        if (strcmp(hk->category, j->h.category) != 0)
            continue;
        icx_outmsg *out = NULL;
        size_t nout = 0;
        icx_err err;
        icx_err_clear(&err);
        if (hk->fn(hk->ctx, &env, &j->h, j->data, j->len, &out, &nout,
                   &err) < 0) {
            icx_log_warn("hook.failed", "category=%s message_id=%s "
                         "error=\"%s\"", hk->category, j->h.message_id,
                         err.msg);
            icx_broker_audit(b, "hook.failed", j->h.message_id, j->h.sender,
                             "category=%s", hk->category);
            icx_outmsg_free(out, nout);
            continue;
        }
        if (nout > 0)
            icx_broker_enqueue(b, out, nout, hk->category);
    }
}

/* An accepted envelope that answers one of our messages (RefToMessageId
 * names a message in our outbox) goes into that message's timeline too,
 * so that `icx status` of what we sent shows the partner's response.  In
 * the same transaction; an id we never sent is not recorded. */
static void note_answer(icx_broker *b, const struct bjob *j)
{
    icx_out_row out;
    icx_err err;
    if (icx_store_out_get(b->store, j->h.ref_to_message_id, NULL, &out,
                          &err) != ICX_OK)
        return;
    icx_broker_audit(b, "inbound.response", j->h.ref_to_message_id,
                     j->h.sender, "response_id=%s category=%s sha256=%s",
                     j->h.message_id, j->h.category, j->sha256);
}

/* For /metrics: rejections per transport peer and reason, since start. */
static void count_rejected(icx_broker *b, const char *peer, int reason)
{
    struct peer_state *ps = icx_broker_peer(b, peer);
    if (ps != NULL && reason >= 0 && reason < ICX_REASON__COUNT)
        ps->rejected[reason]++;
}

static void accept_envelope(icx_broker *b, struct bjob *j)
{
    const icx_config *cfg = b->gen->cfg;
    icx_err err;
    icx_in_row row;
    memset(&row, 0, sizeof row);
    snprintf(row.sender, sizeof row.sender, "%s", j->h.sender);
    snprintf(row.message_id, sizeof row.message_id, "%s", j->h.message_id);
    snprintf(row.recipient, sizeof row.recipient, "%s", j->h.recipient);
    snprintf(row.category, sizeof row.category, "%s", j->h.category);
    snprintf(row.peer, sizeof row.peer, "%s", j->peer);
    memcpy(row.sha256, j->sha256, sizeof row.sha256);
    row.received_at = icx_broker_now();
    int relay = strcmp(j->h.recipient, cfg->id) != 0;
    row.state = j->rc == ICX_OK ? ICX_IN_ACCEPTED : ICX_IN_REJECTED;
    if (j->rc != ICX_OK)
        snprintf(row.reason, sizeof row.reason, "%s",
                 icx_reason_name(j->err.reason));
    const char *event = j->rc != ICX_OK ? "inbound.rejected"
                        : relay         ? "inbound.relayed"
                                        : "inbound.accepted";
    char detail[600];
    /* Which of the Sender's certificates verified (two during a key
     * rollover, docs/KEYS.md). */
    const char *cert_fp = j->sig_ok ? icx_trust_fingerprint(j->gen->trust,
                                                            j->h.sender,
                                                            j->h.signer_key)
                                    : NULL;
    snprintf(detail, sizeof detail, "peer=%s sha256=%s category=%s%s%s%s%s%s",
             j->peer, j->sha256, j->h.category, row.reason[0] ? " reason=" : "",
             row.reason, cert_fp ? " cert_sha256=" : "", cert_fp ? cert_fp : "",
             cert_fp && j->h.signer_key ? " cert=next" : "");
    if (icx_broker_tx(b) < 0)
        return;
    if (j->rc != ICX_OK)
        count_rejected(b, j->peer, j->err.reason);
    int rc = icx_store_in_insert(b->store, &row, j->data, j->len, j->out,
                                 j->out_len, event, detail, &err);
    if (rc < 0) {
        store_failed(b, "inbox insert", &err);
        return;
    }
    if (j->rc == ICX_OK && relay) {
        icx_out_row out;
        memset(&out, 0, sizeof out);
        snprintf(out.message_id, sizeof out.message_id, "%s", j->h.message_id);
        snprintf(out.next_hop, sizeof out.next_hop, "%s", j->h.recipient);
        snprintf(out.recipient, sizeof out.recipient, "%s", j->h.recipient);
        snprintf(out.sender, sizeof out.sender, "%s", j->h.sender);
        snprintf(out.category, sizeof out.category, "%s", j->h.category);
        memcpy(out.sha256, j->sha256, sizeof out.sha256);
        out.state = ICX_OUT_QUEUED;
        out.created_at = out.next_attempt_at = out.updated_at = row.received_at;
        snprintf(detail, sizeof detail, "origin=%s sha256=%s", j->h.sender,
                 j->sha256);
        rc = icx_store_out_insert(b->store, &out, j->data, j->len,
                                  "outbound.relay-queued", detail, &err);
        if (rc < 0) {
            store_failed(b, "relay enqueue", &err);
            return;
        }
        b->next_scan = 0;
    }
    if (j->rc == ICX_OK && !relay && j->h.ref_to_message_id[0] != '\0')
        note_answer(b, j);
    if (j->rc == ICX_OK && !relay)
        run_hooks(b, j);
    if (j->rc == ICX_OK && !relay &&
        strcmp(j->h.category, "audit-checkpoint") == 0)
        icx_broker_witness_inbound(b, &j->h, j->data, j->len);
    if (j->rc == ICX_OK)
        icx_turn_log(b->turn, ICX_LOG_INFO, event, "message_id=%s sender=%s "
                     "peer=%s sha256=%s", j->h.message_id, j->h.sender,
                     j->peer, j->sha256);
    else
        icx_turn_log(b->turn, ICX_LOG_WARN, event, "message_id=%s sender=%s "
                     "peer=%s reason=%s", j->h.message_id, j->h.sender,
                     j->peer, row.reason);
    answer(b, j, j->h.sender);
}

static void inbound_envelope(icx_broker *b, struct bjob *j)
{
    icx_err err;
    if (j->sig_ok) {
        icx_in_row row;
        icx_buf receipt;
        icx_buf_init(&receipt, 1 << 20);
        int rc = icx_store_in_lookup(b->store, j->h.sender, j->h.message_id,
                                     &row, &receipt, &err);
        if (rc == ICX_OK) {
            if (strcmp(row.sha256, j->sha256) == 0) {
                duplicate(b, j, &row, &receipt);
            } else {
                icx_broker_audit(b, "inbound.rejected", j->h.message_id,
                                 j->h.sender, "peer=%s sha256=%s reason=REPLAY "
                                 "replay=same-id-other-bytes "
                                 "original_sha256=%s", j->peer, j->sha256,
                                 row.sha256);
                icx_log_warn("inbound.rejected", "message_id=%s sender=%s "
                             "reason=REPLAY", j->h.message_id, j->h.sender);
                count_rejected(b, j->peer, ICX_REASON_REPLAY);
                want_receipt(b, j, ICX_REASON_REPLAY);
            }
            icx_buf_free(&receipt);
            return;
        }
        icx_buf_free(&receipt);
        if (rc != ICX_ENOTFOUND) {
            store_failed(b, "replay lookup", &err);
            return;
        }
        accept_envelope(b, j);
        return;
    }
    /* Not authenticated: audit, answer the peer, store nothing.  Text read
     * as a MessageId that is not a UUID is no id: the record keeps it,
     * made safe, as claimed_message_id. */
    const char *mid = valid_id(j->h.message_id);
    char claimed[41] = "", sender[41] = "-";
    if (mid == NULL && j->h.message_id[0] != '\0')
        claimed_id(claimed, j->h.message_id);
    if (j->h.sender[0] != '\0')
        claimed_id(sender, j->h.sender);
    icx_broker_audit(b, "inbound.rejected", mid, j->peer,
                     "peer=%s claimed_sender=%s sha256=%s reason=%s%s%s",
                     j->peer, sender, j->sha256,
                     icx_reason_name(j->err.reason),
                     claimed[0] ? " claimed_message_id=" : "", claimed);
    icx_log_warn("inbound.rejected", "peer=%s message_id=%s reason=%s "
                 "detail=\"%s\"", j->peer, mid ? mid : "-",
                 icx_reason_name(j->err.reason), j->err.msg);
    count_rejected(b, j->peer, j->err.reason);
    answer(b, j, j->peer);
}

/* Moves our outbound row to its final state for a receipt. */
static void settle(icx_broker *b, const icx_out_row *row, int to,
                   const char *reason, const char *event, const char *detail)
{
    icx_err err;
    int from[2] = {ICX_OUT_SENT, ICX_OUT_QUEUED};
    for (int i = 0; i < 2; i++) {
        int rc = icx_store_out_transition(b->store, row->message_id,
                                          row->next_hop, from[i], to,
                                          row->attempts, 0, reason, event,
                                          detail, &err);
        if (rc == ICX_OK)
            return;
        if (rc != ICX_ENOTFOUND) {
            store_failed(b, "outbox transition", &err);
            return;
        }
    }
}

static void inbound_receipt(icx_broker *b, struct bjob *j)
{
    const icx_config *cfg = b->gen->cfg;
    const icx_receipt *r = &j->rcpt;
    icx_err err;
    if (j->rc != ICX_OK) {
        icx_broker_audit(b, "receipt.rejected", j->h.ref_to_message_id[0]
                                                    ? j->h.ref_to_message_id
                                                    : NULL,
                         j->peer, "peer=%s reason=%s", j->peer,
                         icx_reason_name(j->err.reason));
        icx_log_warn("receipt.rejected", "peer=%s reason=%s detail=\"%s\"",
                     j->peer, icx_reason_name(j->err.reason), j->err.msg);
        return;
    }
    int for_us = strcmp(j->h.recipient, cfg->id) == 0;
    icx_out_row row;
    int rc = strcmp(r->ref_message_id, ICX_RECEIPT_NIL_ID) == 0 && for_us
                 ? icx_store_out_by_sha(b->store, r->digest, j->h.sender, &row,
                                        &err)
                 : icx_store_out_get(b->store, r->ref_message_id,
                                     for_us ? NULL : j->h.sender, &row, &err);
    if (rc == ICX_ENOTFOUND) {
        icx_broker_audit(b, "receipt.unknown", r->ref_message_id, j->h.sender,
                         "peer=%s", j->peer);
        return;
    }
    if (rc < 0) {
        store_failed(b, "outbox lookup", &err);
        return;
    }
    if (strcmp(row.sha256, r->digest) != 0) {
        icx_broker_audit(b, "receipt.mismatch", row.message_id, j->h.sender,
                         "receipt_digest=%s stored_sha256=%s", r->digest,
                         row.sha256);
        icx_log_warn("receipt.mismatch", "message_id=%s issuer=%s",
                     row.message_id, j->h.sender);
        return;
    }
    if (strcmp(j->h.sender, row.recipient) != 0 &&
        strcmp(j->h.sender, row.next_hop) != 0) {
        icx_broker_audit(b, "receipt.unexpected", row.message_id,
                         j->h.sender, "issuer is neither recipient %s nor hop "
                         "%s", row.recipient, row.next_hop);
        return;
    }
    icx_receipt_row rr;
    memset(&rr, 0, sizeof rr);
    snprintf(rr.message_id, sizeof rr.message_id, "%s", row.message_id);
    snprintf(rr.issuer, sizeof rr.issuer, "%s", j->h.sender);
    rr.positive = r->positive;
    snprintf(rr.reason, sizeof rr.reason, "%s", r->reason);
    rr.hop = r->hop[0] != '\0';
    rr.received_at = icx_broker_now();
    if (icx_broker_tx(b) < 0)
        return;
    rc = icx_store_receipt_insert(b->store, &rr, j->data, j->len, &err);
    if (rc == ICX_EEXIST) {
        icx_broker_audit(b, "receipt.duplicate", row.message_id, j->h.sender,
                         "peer=%s", j->peer);
    } else if (rc < 0) {
        store_failed(b, "receipt insert", &err);
        return;
    }
    char detail[300];
    snprintf(detail, sizeof detail, "issuer=%s receipt_sha256=%s%s%s", j->h.sender,
             j->sha256, r->positive ? "" : " reason=", r->reason);
    int final = strcmp(j->h.sender, row.recipient) == 0;
    if (rc == ICX_OK) {
        if (!r->positive) {
            settle(b, &row, ICX_OUT_REFUSED, r->reason, "outbound.refused",
                   detail);
            icx_log_warn("outbound.refused", "message_id=%s issuer=%s reason=%s",
                         row.message_id, j->h.sender, r->reason);
        } else if (final) {
            settle(b, &row, ICX_OUT_DELIVERED, NULL, "outbound.delivered",
                   detail);
            icx_log_info("outbound.delivered", "message_id=%s recipient=%s",
                         row.message_id, row.recipient);
        } else if (row.state == ICX_OUT_QUEUED) {
            icx_store_out_transition(b->store, row.message_id, row.next_hop,
                                     ICX_OUT_QUEUED, ICX_OUT_SENT, row.attempts,
                                     row.next_attempt_at, NULL,
                                     "outbound.hop-accepted", detail, &err);
        } else {
            icx_broker_audit(b, "outbound.hop-accepted", row.message_id,
                             j->h.sender, "%s", detail);
        }
    }
    /* At a hub: the final recipient's receipt goes on to the origin. */
    if (!for_us)
        icx_broker_post_send(b, j->h.recipient, ICX_FRAME_RECEIPT, j->data,
                             j->len);
}

void icx_broker_inbound(icx_broker *b, struct bjob *j)
{
    if (icx_broker_tx(b) < 0)
        return;
    if (j->kind == ICX_FRAME_RECEIPT)
        inbound_receipt(b, j);
    else
        inbound_envelope(b, j);
}
