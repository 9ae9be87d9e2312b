/*
 * broker_witness.c - partners witnessing each other's audit logs inside
 * the daemon (docs/AUDIT.md, "Witnesses"): category audit-checkpoint.
 *
 * Sending (icx_broker_witness_tick, from the loop every
 * audit.witness_seconds): to each partner with audit-checkpoint in its
 * categories_out, this gateway's latest signed checkpoint with the
 * consistency proof from the largest of its checkpoints that partner
 * co-signed, and this gateway's co-signature of that partner's latest
 * checkpoint it found good.  Queued like any message (signed on the
 * pool, egress policy, its own audit records).
 *
 * Receiving (icx_broker_witness_inbound, for an accepted envelope of that
 * category addressed to this gateway, in the acceptance's transaction):
 * the checkpoint is judged against the partner's last good one
 * (witness.h), kept with its verdict and audit record, co-signed when
 * good; an alarming verdict is logged with alert=1.  A co-signature in
 * it is checked against this gateway's own checkpoint and kept.
 *
 * Ownership: everything is freed before return.  Threads: the loop.
 * Failure: logged (witness.failed) and skipped; the next round tries
 * again.
 */
#include "broker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"
#include "witness.h"
#include "xml.h"
#include "xmlnode.h"

#define WITNESS_NS "urn:icx:witness:1"

/* The payload for partner p: Document and, when there is one, the
 * co-signature of p's latest good checkpoint. */
static int payload_for(icx_buf *out, icx_broker *b, const char *partner,
                       icx_err *err)
{
    icx_witness_doc d;
    icx_checkpoint theirs;
    icx_buf doc, cos;
    char sig[1400];
    uint64_t from = 0;
    memset(&d, 0, sizeof d);
    icx_buf_init(&doc, ICX_WITNESS_DOC_MAX);
    icx_buf_init(&cos, ICX_WITNESS_DOC_MAX);
    int rc = icx_store_checkpoint_last(b->store, &d.cp, err);
    if (rc == ICX_OK && icx_store_cosigned_by(b->store, partner, &from,
                                              err) == ICX_OK &&
        from <= d.cp.size) {
        d.from = from;
        if (from < d.cp.size)
            rc = icx_store_consistency(b->store, from, d.cp.size, d.proof,
                                       &d.nproof, err);
    }
    if (rc == ICX_OK)
        rc = icx_witness_doc_write(&doc, &d);
    if (rc == ICX_OK &&
        icx_store_witness_cosig(b->store, partner, &theirs, sig, sizeof sig,
                                err) == ICX_OK) {
        rc = icx_witness_cosig_text(&cos, &theirs, b->gen->cfg->id);
        if (rc == ICX_OK)
            rc = icx_buf_printf(&cos, "signature %s\n", sig);
    }
    if (rc == ICX_OK)
        rc = icx_buf_puts(out, "<wit:Checkpoint xmlns:wit=\"" WITNESS_NS
                               "\"><wit:Document>");
    if (rc == ICX_OK)
        rc = icx_buf_put_xml(out, doc.data);
    if (rc == ICX_OK)
        rc = icx_buf_puts(out, "</wit:Document>");
    if (rc == ICX_OK && cos.len > 0) {
        rc = icx_buf_puts(out, "<wit:CoSignature>");
        if (rc == ICX_OK)
            rc = icx_buf_put_xml(out, cos.data);
        if (rc == ICX_OK)
            rc = icx_buf_puts(out, "</wit:CoSignature>");
    }
    if (rc == ICX_OK)
        rc = icx_buf_puts(out, "</wit:Checkpoint>");
    if (rc < 0 && err->rc == ICX_OK)
        icx_err_set(err, rc, "witness payload too large");
    icx_buf_free(&doc);
    icx_buf_free(&cos);
    return rc;
}

void icx_broker_witness_tick(icx_broker *b, int64_t now)
{
    const icx_config *cfg = b->gen->cfg;
    icx_checkpoint last;
    icx_err err;
    if (cfg->witness_seconds <= 0 || now < b->witness_next)
        return;
    b->witness_next = now + cfg->witness_seconds;
    /* Several nodes on one PostgreSQL store: the lead, which signs the
     * checkpoints, sends them (docs/STORE.md); any node transmits. */
    if (!icx_store_leads(b->store))
        return;
    if (icx_store_checkpoint_last(b->store, &last, &err) != ICX_OK)
        return; /* nothing signed yet */
    for (size_t i = 0; i < cfg->npartners; i++) {
        const icx_partner *p = &cfg->partners[i];
        if (!icx_strlist_has(&p->categories_out, "audit-checkpoint"))
            continue;
        icx_buf payload;
        icx_outmsg *m = calloc(1, sizeof *m);
        icx_buf_init(&payload, 4 * ICX_WITNESS_DOC_MAX);
        icx_err_clear(&err);
        int rc = m != NULL ? payload_for(&payload, b, p->id, &err)
                           : icx_err_set(&err, ICX_ENOMEM, "out of memory");
        if (rc < 0) {
            icx_log_limited(ICX_LOG_WARN, "witness.send", "witness.failed",
                            "partner=%s error=\"%s\"", p->id, err.msg);
            free(m);
            icx_buf_free(&payload);
            continue;
        }
        icx_header *h = &m->h;
        char day[ICX_TIME_LEN + 1];
        snprintf(h->recipient, sizeof h->recipient, "%s", p->id);
        snprintf(h->category, sizeof h->category, "audit-checkpoint");
        snprintf(h->tlp, sizeof h->tlp, "GREEN");
        snprintf(h->hcode, sizeof h->hcode, "H0");
        snprintf(h->legal_basis, sizeof h->legal_basis,
                 "audit log witnessing (docs/AUDIT.md)");
        icx_time_format(day, sizeof day, time(NULL) + 3650L * 86400L);
        snprintf(h->retain_until, sizeof h->retain_until, "%.10s", day);
        m->payload = icx_buf_steal(&payload, &m->len);
        icx_log_info("witness.queued", "partner=%s size=%llu", p->id,
                     (unsigned long long)last.size);
        icx_broker_enqueue(b, m, 1, "witness");
    }
}

/* The texts of the payload's Document and CoSignature (malloc'ed;
 * *cosig NULL when absent). */
static int read_payload(char **doc, char **cosig, const icx_config *cfg,
                        const char *data, size_t len, icx_err *err)
{
    icx_xml_limits lim;
    icx_buf pl;
    icx_xmldoc *x = NULL;
    *doc = *cosig = NULL;
    icx_config_xml_limits(&lim, cfg);
    icx_buf_init(&pl, len + 1);
    int rc = icx_envelope_payload(&pl, data, len, &lim, err);
    if (rc == ICX_OK)
        rc = icx_xml_parse(&x, pl.data, pl.len, &lim, err);
    if (rc == ICX_OK) {
        const xmlNode *root = xmlDocGetRootElement(icx_xml_raw(x));
        const xmlNode *d = root ? icx_xn_child(root, "Document") : NULL;
        const xmlNode *c = root ? icx_xn_child(root, "CoSignature") : NULL;
        if (root == NULL || !icx_xn_is_ns(root, WITNESS_NS, "Checkpoint") ||
            d == NULL)
            rc = icx_err_set(err, ICX_EINVAL, "not a witness Checkpoint");
        if (rc == ICX_OK && ((*doc = icx_xn_text_dup(d)) == NULL ||
                             (c != NULL && (*cosig = icx_xn_text_dup(c)) ==
                                               NULL)))
            rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
    }
    if (rc < 0) {
        free(*doc);
        free(*cosig);
        *doc = *cosig = NULL;
    }
    icx_xml_free(&x);
    icx_buf_free(&pl);
    return rc;
}

void icx_broker_witness_inbound(icx_broker *b, const icx_header *h,
                                const char *data, size_t len)
{
    const icx_config *cfg = b->gen->cfg;
    const icx_partner *p = icx_config_partner(cfg, h->sender);
    char *doc = NULL, *cosig = NULL, *cert = NULL;
    size_t cert_len = 0;
    icx_witness_doc d;
    icx_checkpoint prev;
    char mine[1400] = "";
    int verdict = -1;
    icx_err err, why;
    icx_err_clear(&err);
    icx_err_clear(&why);
    int rc = p != NULL ? ICX_OK
                       : icx_err_set(&err, ICX_ENOTFOUND, "no partner file");
    if (rc == ICX_OK)
        rc = icx_file_read(&cert, &cert_len, p->certificate, 256 * 1024, &err);
    if (rc == ICX_OK)
        rc = read_payload(&doc, &cosig, cfg, data, len, &err);
    if (rc == ICX_OK)
        rc = icx_witness_doc_parse(&d, doc, strlen(doc), &err);
    int have_prev = 0;
    if (rc == ICX_OK) {
        rc = icx_store_witness_last(b->store, h->sender, &prev, &err);
        have_prev = rc == ICX_OK;
        if (rc == ICX_ENOTFOUND)
            rc = ICX_OK;
    }
    if (rc == ICX_OK)
        rc = icx_witness_judge(&verdict, have_prev ? &prev : NULL, &d,
                               h->sender, cert, cert_len, &why);
    int good = verdict == ICX_WITNESS_FIRST || verdict == ICX_WITNESS_SAME ||
               verdict == ICX_WITNESS_CONSISTENT;
    /* A signer restarted under the call (ICX_EAGAIN) answers the next. */
    for (int i = 0; rc == ICX_OK && good && i < ICX_SIGN_TRIES; i++) {
        rc = icx_witness_cosign(mine, sizeof mine, &d.cp, cfg->id, b->signer,
                                &err);
        if (rc != ICX_EAGAIN)
            break;
        icx_log_warn("signer.retry", "what=cosignature attempt=%d", i + 1);
        rc = ICX_OK;
        if (i + 1 == ICX_SIGN_TRIES)
            rc = icx_err_set(&err, ICX_EAGAIN, "the signer did not answer");
    }
    if (rc == ICX_OK && verdict != ICX_WITNESS_STALE)
        rc = icx_store_witness_add(b->store, h->sender, &d.cp, verdict,
                                   good ? NULL : why.msg, mine, &err);
    if (rc == ICX_OK && icx_witness_verdict_alarming(verdict))
        icx_log_error("witness.alarm", "alert=1 partner=%s size=%llu "
                      "verdict=%s reason=\"%s\"", h->sender,
                      (unsigned long long)d.cp.size,
                      icx_witness_verdict_name(verdict), why.msg);
    else if (rc == ICX_OK)
        icx_log_info("witness.seen", "partner=%s size=%llu verdict=%s",
                     h->sender, (unsigned long long)d.cp.size,
                     icx_witness_verdict_name(verdict));
    /* The partner's co-signature of one of our checkpoints. */
    if (rc == ICX_OK && cosig != NULL) {
        uint64_t size = 0;
        icx_err cerr;
        icx_err_clear(&cerr);
        int c = icx_store_cosig_accept(b->store, h->sender, cert, cert_len,
                                       cosig, strlen(cosig), &size, &cerr);
        if (c < 0 && c != ICX_EEXIST)
            icx_log_error("witness.cosig-refused", "alert=1 partner=%s "
                          "error=\"%s\"", h->sender, cerr.msg);
    }
    if (rc < 0) {
        icx_log_warn("witness.failed", "partner=%s message_id=%s "
                     "error=\"%s\"", h->sender, h->message_id, err.msg);
        icx_broker_audit(b, "witness.failed", h->message_id, h->sender,
                         "error=%s", icx_rc_name(rc));
    }
    free(doc);
    free(cosig);
    free(cert);
}
