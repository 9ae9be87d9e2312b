/*
 * broker_jobs.c - the work the pool does for the broker: verify inbound
 * frames (and sign the receipt that answers them), sign outbound envelopes
 * and sign receipts the loop asks for.
 *
 * Runs on worker threads.  Reads only: the job's configuration generation,
 * the schemas and the signer (all immutable while the job holds them).
 * Writes only into the job.  Never touches the store or the sockets.
 *
 * The key is in the signer process (gateway/signer/): when it dies under
 * a signature, the signature fails with ICX_EAGAIN, the next one restarts
 * it, and the worker signs again (ICX_SIGN_TRIES in all), counting the
 * retries in the job for the loop to audit.  Only a signer that cannot
 * come back fails the job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker_int.h"
#include "util.h"

struct recip_ctx {
    const icx_config *cfg;
    const icx_trust *trust;
};

static int recipient_ok(void *ctx, const char *recipient)
{
    const struct recip_ctx *rc = ctx;
    if (strcmp(recipient, rc->cfg->id) == 0)
        return 1;
    return rc->cfg->relay && icx_config_partner(rc->cfg, recipient) != NULL;
}

static const icx_verkey *trust_get(void *ctx, const char *id)
{
    const struct recip_ctx *rc = ctx;
    return icx_trust_get((void *)rc->trust, id);
}

static const icx_verkey *trust_next(void *ctx, const char *id)
{
    const struct recip_ctx *rc = ctx;
    return icx_trust_get_next((void *)rc->trust, id);
}

/* Reasons decided after the signature verified. */
static int reason_after_signature(int reason)
{
    return reason == ICX_REASON_WRONG_RECIPIENT ||
           reason == ICX_REASON_CREATED_WINDOW || reason == ICX_REASON_EXPIRED;
}

/* Policy that needs the transport peer and the partner files. */
static int check_partner_policy(struct bjob *j, const icx_config *cfg)
{
    const icx_header *h = &j->h;
    const icx_partner *sender = icx_config_partner(cfg, h->sender);
    int is_receipt = strcmp(h->category, "receipt") == 0;

    if (sender == NULL)
        return icx_err_reason(&j->err, ICX_EBADSIG, ICX_REASON_UNKNOWN_SENDER,
                              "Sender %s is not a configured partner",
                              h->sender);
    if (strcmp(h->sender, j->peer) != 0) {
        int via_hub = cfg->hub != NULL && strcmp(j->peer, cfg->hub) == 0 &&
                      sender->route == ICX_ROUTE_HUB;
        if (!via_hub)
            return icx_err_reason(&j->err, ICX_EBADSIG,
                                  ICX_REASON_SENDER_MISMATCH,
                                  "Sender %s arrived from transport peer %s, "
                                  "which may not carry its messages",
                                  h->sender, j->peer);
    }
    if ((j->kind == ICX_FRAME_RECEIPT) != is_receipt)
        return icx_err_reason(&j->err, ICX_EBADSIG, ICX_REASON_CATEGORY,
                              "category %s arrived in a %s frame", h->category,
                              j->kind == ICX_FRAME_RECEIPT ? "receipt"
                                                           : "envelope");
    if (is_receipt)
        return ICX_OK;
    if (strcmp(h->recipient, cfg->id) == 0) {
        if (!icx_strlist_has(&sender->categories_in, h->category))
            return icx_err_reason(&j->err, ICX_EBADSIG, ICX_REASON_CATEGORY,
                                  "category %s is not accepted from %s",
                                  h->category, h->sender);
        return ICX_OK;
    }
    /* Relaying: the hub applies the final recipient's egress policy. */
    char why[256];
    if (icx_broker_egress_check(cfg, h, why, sizeof why) < 0)
        return icx_err_reason(&j->err, ICX_EBADSIG,
                              strstr(why, "category") ? ICX_REASON_CATEGORY
                                                      : ICX_REASON_HANDLING,
                              "%s", why);
    return ICX_OK;
}

/* Failures stay in the job (receipt_rc, receipt_err): the loop logs and
 * audits them (broker_in.c), a worker cannot. */
static void sign_receipt(struct bjob *j, const icx_receipt *r, const char *to)
{
    icx_buf out;
    icx_buf_init(&out, 256 * 1024);
    icx_err_clear(&j->receipt_err);
    for (int i = 0; i < ICX_SIGN_TRIES; i++) {
        icx_buf_reset(&out);
        icx_err_clear(&j->receipt_err);
        j->receipt_rc = icx_receipt_envelope(&out, r, j->gen->cfg->id, to,
                                             j->b->schemas, j->b->signer,
                                             &j->receipt_err);
        if (j->receipt_rc != ICX_EAGAIN || i + 1 == ICX_SIGN_TRIES)
            break;
        j->sign_retries++;
    }
    if (j->receipt_rc < 0) {
        icx_buf_free(&out);
        j->out = NULL;
        return;
    }
    j->out = icx_buf_steal(&out, &j->out_len);
}

static void run_verify(struct bjob *j)
{
    const icx_config *cfg = j->gen->cfg;
    struct recip_ctx rctx = {cfg, j->gen->trust};
    icx_verify_policy p = {
        .schemas = j->b->schemas, .trust = trust_get, .trust_next = trust_next,
        .recipient_ok = recipient_ok, .ctx = &rctx, .self = cfg->id,
        .created_past_s = cfg->created_past_s,
        .created_future_s = cfg->created_future_s,
    };
    icx_xmldoc *tree = NULL;
    icx_config_xml_limits(&p.limits, cfg);
    icx_err_clear(&j->err);
    icx_sha256_hex(j->sha256, j->data, j->len);
    /* A receipt is read from the tree its verification parsed. */
    j->rc = icx_envelope_verify_tree(&j->h,
                                     j->kind == ICX_FRAME_RECEIPT ? &tree
                                                                  : NULL,
                                     j->data, j->len, &p, &j->err);
    if (j->rc == ICX_OK) {
        j->sig_ok = 1;
        j->rc = check_partner_policy(j, cfg);
    } else if (j->rc == ICX_EBADSIG && reason_after_signature(j->err.reason)) {
        j->sig_ok = 1;
    }
    if (j->kind == ICX_FRAME_RECEIPT) {
        if (j->rc == ICX_OK)
            j->rc = icx_receipt_read_tree(&j->rcpt, tree, &j->err);
        icx_xml_free(&tree);
        return;
    }
    /* Every envelope gets a receipt.  One refused before a valid
     * MessageId could be read (none, or text that is not a UUID) is
     * answered to the transport peer with the nil UUID and the digest of
     * the bytes, by which the sender finds its row. */
    icx_receipt r;
    memset(&r, 0, sizeof r);
    r.positive = j->rc == ICX_OK;
    snprintf(r.ref_message_id, sizeof r.ref_message_id, "%s",
             icx_uuid_valid(j->h.message_id) ? j->h.message_id
                                             : ICX_RECEIPT_NIL_ID);
    snprintf(r.ref_sender, sizeof r.ref_sender, "%s",
             icx_agency_id_valid(j->h.sender) ? j->h.sender : j->peer);
    memcpy(r.digest, j->sha256, sizeof r.digest);
    icx_time_format(r.received_at, sizeof r.received_at, time(NULL));
    if (!r.positive) {
        snprintf(r.reason, sizeof r.reason, "%s", icx_reason_name(j->err.reason));
        snprintf(r.detail, sizeof r.detail, "%s", icx_reason_str(j->err.reason));
    }
    if (j->rc == ICX_OK && strcmp(j->h.recipient, cfg->id) != 0)
        snprintf(r.hop, sizeof r.hop, "%s", cfg->id);
    /* Addressed to the authenticated sender when it came from it, or
     * through the hub that carries its messages; otherwise to the
     * transport peer, the only identity we can vouch for (it gets the
     * receipt over its own connection and must be able to accept it). */
    int carried = strcmp(j->h.sender, j->peer) == 0 ||
                  (cfg->hub != NULL && strcmp(j->peer, cfg->hub) == 0);
    sign_receipt(j, &r, j->sig_ok && carried ? j->h.sender : j->peer);
}

static void run_sign(struct bjob *j)
{
    icx_buf out;
    icx_buf_init(&out, (size_t)j->gen->cfg->max_message_bytes);
    for (int i = 0; i < ICX_SIGN_TRIES; i++) {
        icx_buf_reset(&out);
        icx_err_clear(&j->err);
        j->rc = icx_envelope_build_signed(&out, &j->h, j->payload,
                                          j->payload_len, j->b->schemas,
                                          j->b->signer, &j->err);
        if (j->rc != ICX_EAGAIN || i + 1 == ICX_SIGN_TRIES)
            break;
        j->sign_retries++;
    }
    if (j->rc == ICX_OK) {
        j->out = icx_buf_steal(&out, &j->out_len);
        icx_sha256_hex(j->sha256, j->out, j->out_len);
    }
    icx_buf_free(&out);
}

void icx_bjob_run(icx_job *job, void *ctx)
{
    (void)ctx;
    struct bjob *j = (struct bjob *)job;
    switch (j->type) {
    case BJOB_VERIFY: run_verify(j); break;
    case BJOB_SIGN: run_sign(j); break;
    case BJOB_RECEIPT: sign_receipt(j, &j->r, j->to); break;
    }
}
