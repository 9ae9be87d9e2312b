/*
 * broker_jobs.c - the work the pool does for the broker: verify inbound
 * frames (and sign the receipt that answers them), sign outbound envelopes
 * and sign receipts the loop asks for.
 *
 * Runs on worker threads.  Reads only: the job's configuration generation,
 * the schemas and the signer (all immutable while the job holds them).
 * Writes only into the job.  Never touches the store or the sockets.
 *
 * A worker runs the jobs the pool hands it together (icx_bjob_run_many):
 * each is verified or built and digested first, then all their
 * signatures (outbound envelopes and receipts alike) are asked of the
 * signer at once, one round trip to the signer process for up to
 * ICX_SIGN_BATCH signatures, and each envelope is finished.  A job that
 * fails before its signature fails alone.
 *
 * The key is in the signer process (gateway/signer/): when it dies under
 * a signature, the signature fails with ICX_EAGAIN, the next one restarts
 * it, and the worker asks again (ICX_SIGN_TRIES in all), counting the
 * retries in each job of the request for the loop to audit.  Only a
 * signer that cannot come back fails the jobs.
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

/* Where a job's signature outcome goes: rc and err for an outbound
 * envelope; receipt_rc and receipt_err for a receipt (failures stay in
 * the job: the loop logs and audits them, a worker cannot). */
static int *sig_rc(struct bjob *j)
{
    return j->type == BJOB_SIGN ? &j->rc : &j->receipt_rc;
}

static icx_err *sig_err(struct bjob *j)
{
    return j->type == BJOB_SIGN ? &j->err : &j->receipt_err;
}

/* The receipt r to `to`, built and digested into pend. */
static void prepare_receipt(struct bjob *j, const icx_receipt *r,
                            const char *to, icx_envelope_pending *pend)
{
    icx_err_clear(&j->receipt_err);
    j->receipt_rc = icx_receipt_prepare(pend, r, j->gen->cfg->id, to,
                                        j->b->schemas,
                                        icx_signer_ecdsa(j->b->signer),
                                        &j->receipt_err);
}

static void run_verify(struct bjob *j, icx_envelope_pending *pend)
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
    prepare_receipt(j, &r, j->sig_ok && carried ? j->h.sender : j->peer, pend);
}

static void prepare_sign(struct bjob *j, icx_envelope_pending *pend)
{
    icx_err_clear(&j->err);
    j->rc = icx_envelope_prepare(pend, &j->h, j->payload, j->payload_len,
                                 (size_t)j->gen->cfg->max_message_bytes,
                                 j->b->schemas, icx_signer_ecdsa(j->b->signer),
                                 &j->err);
}

/* Signs the prepared envelopes of js (n <= ICX_SIGN_BATCH) with one
 * request and finishes each into its job's out. */
static void sign_prepared(struct bjob **js, icx_envelope_pending *pend, int n)
{
    unsigned char sigs[ICX_SIGN_BATCH * ICX_SIG_MAX];
    unsigned char digests[ICX_SIGN_BATCH * ICX_SIGN_DIGEST];
    const icx_signer *signer = js[0]->b->signer;
    size_t siglen = 0;
    icx_err err;
    int rc = ICX_OK;

    for (int i = 0; i < n; i++)
        memcpy(digests + (size_t)i * ICX_SIGN_DIGEST, pend[i].digest,
               ICX_SIGN_DIGEST);
    for (int t = 0; t < ICX_SIGN_TRIES; t++) {
        icx_err_clear(&err);
        rc = icx_signer_sign_digests(sigs, &siglen, signer, digests, n, &err);
        if (rc != ICX_EAGAIN || t + 1 == ICX_SIGN_TRIES)
            break;
        for (int i = 0; i < n; i++)
            js[i]->sign_retries++;
    }
    for (int i = 0; i < n; i++) {
        struct bjob *j = js[i];
        if (rc < 0) {
            *sig_rc(j) = rc;
            *sig_err(j) = err;
            icx_envelope_pending_free(&pend[i]);
            continue;
        }
        icx_buf out;
        icx_buf_init(&out, j->type == BJOB_SIGN
                               ? (size_t)j->gen->cfg->max_message_bytes
                               : 256 * 1024);
        *sig_rc(j) = icx_envelope_finish(&out, &pend[i],
                                         sigs + (size_t)i * ICX_SIG_MAX,
                                         siglen, sig_err(j));
        if (*sig_rc(j) == ICX_OK) {
            j->out = icx_buf_steal(&out, &j->out_len);
            if (j->type == BJOB_SIGN)
                icx_sha256_hex(j->sha256, j->out, j->out_len);
        }
        icx_buf_free(&out);
    }
}

void icx_bjob_run_many(icx_job **jobs, int n, void *ctx)
{
    (void)ctx;
    for (int at = 0; at < n; at += ICX_SIGN_BATCH) {
        struct bjob *js[ICX_SIGN_BATCH];
        icx_envelope_pending pend[ICX_SIGN_BATCH];
        int k = 0;
        for (int i = at; i < n && i < at + ICX_SIGN_BATCH; i++) {
            struct bjob *j = (struct bjob *)jobs[i];
            icx_envelope_pending p = {0};
            switch (j->type) {
            case BJOB_VERIFY: run_verify(j, &p); break;
            case BJOB_SIGN: prepare_sign(j, &p); break;
            case BJOB_RECEIPT: prepare_receipt(j, &j->r, j->to, &p); break;
            }
            if (p.doc != NULL) {
                js[k] = j;
                pend[k++] = p;
            }
        }
        if (k > 0)
            sign_prepared(js, pend, k);
    }
}

void icx_bjob_run(icx_job *job, void *ctx)
{
    icx_bjob_run_many(&job, 1, ctx);
}
