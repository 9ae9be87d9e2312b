/*
 * web_lists.c - the lists over HTTPS (lists_rrdp.c, docs/LISTS.md "Over
 * HTTPS") served by the dashboard's server under /lists/.
 *
 * Who pulls: the partner whose configured certificate has the SHA-256 of
 * the client certificate the server verified against http.client_ca
 * (icx_trust_partner_of_cert); on plain HTTP (the loopback dashboard)
 * there is no client certificate and nobody: every answer is 404.  The
 * configuration is the daemon's current one (icx_service_env
 * config_hold, asked per request): a partner removed by a reload can no
 * longer pull; the lists handle borrows the generation it was opened
 * with and is opened again when a reload published a new one.  A
 * partner's certificate opens /lists/ and nothing else: web.c answers
 * 403 to it for the dashboard's pages (web_lists_partner), so that
 * adding partners' certificates to http.client_ca shows them no
 * officer's page.
 *
 * Signing: lists_rrdp.c seals each document the way the broker seals a
 * hook's answer (stamp, sender, build, sign) with the daemon's signer:
 * the key stays in the signer process.
 *
 * Audit: every document sent and every refusal is a record appended in
 * its own transaction on a store connection of this thread (opened on
 * first use), committed (synchronous=FULL) before the document leaves:
 * no document without its record.  SQLite serializes this writer with
 * the daemon's (BEGIN IMMEDIATE, busy timeout) and every BEGIN re-reads
 * the chain's tail when another connection committed (store_tx.c), so
 * the records join the one chain, and the daemon's next checkpoint
 * covers them.  A record that cannot be written sends nothing (500).
 *
 * Ownership: web_lists owns the lists handle, the generation reference
 * it borrows and the store connection; env is the daemon's, valid until
 * the service stops.  Threads: the server's thread only.
 * Failures: store or signing errors answer 500 (503 while the signer
 * restarts) and a log line naming the error, never a payload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "trust.h"
#include "web_int.h"

#define LISTS_PREFIX "/lists/"

struct web_lists {
    const icx_service_env *env;
    void *hold;               /* the generation cfg and l borrow */
    const icx_config *cfg;
    icx_lists *l;
    icx_store *audit_store;   /* this thread's writer: audit records only */
};

/* What the broker does for a hook's answer: stamp, sender, build, sign. */
static int seal(void *ctx, icx_buf *out, icx_header *h, const char *payload,
                size_t len, icx_err *err)
{
    web_lists *wl = ctx;
    int rc = icx_header_stamp(h, time(NULL), err);
    if (rc < 0)
        return rc;
    snprintf(h->sender, sizeof h->sender, "%s", wl->cfg->id);
    return icx_envelope_build_signed(out, h, payload, len, wl->env->schemas,
                                     wl->env->signer, err);
}

static int audit(void *actx, const char *event, const char *message_id,
                 const char *partner, const char *detail)
{
    web_lists *wl = actx;
    icx_err err;
    icx_audit_event ev = {.event = event, .partner = partner,
                          .message_id = message_id && message_id[0]
                                            ? message_id : NULL,
                          .detail = detail};
    int rc = ICX_OK;
    icx_err_clear(&err);
    if (wl->audit_store == NULL)
        rc = icx_store_open(&wl->audit_store, wl->cfg->store_path, &err);
    if (rc == ICX_OK)
        rc = icx_store_audit(wl->audit_store, &ev, &err);
    if (rc < 0) {
        icx_log_error("web.lists.audit", "event=%s error=\"%s\"", event,
                      err.msg);
        icx_store_free(&wl->audit_store); /* opened again next time */
    }
    return rc;
}

int web_lists_new(web_lists **out, const icx_service_env *env, icx_err *err)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return icx_err_set(err, ICX_ENOMEM, "web: out of memory");
    (*out)->env = env;
    return ICX_OK;
}

void web_lists_free(web_lists **lp)
{
    if (lp == NULL || *lp == NULL)
        return;
    web_lists *wl = *lp;
    icx_lists_http_free(&wl->l);
    icx_store_free(&wl->audit_store);
    if (wl->hold != NULL)
        wl->env->config_release(&wl->hold);
    free(wl);
    *lp = NULL;
}

/* The daemon's current configuration in wl->cfg; a new generation drops
 * the lists handle (it borrows the old one), opened again on use. */
static void current(web_lists *wl)
{
    void *hold = NULL;
    const icx_config *cfg = wl->env->config_hold(wl->env->bctx, &hold);
    if (hold == wl->hold) {
        wl->env->config_release(&hold);
        return;
    }
    icx_lists_http_free(&wl->l);
    icx_store_free(&wl->audit_store);
    if (wl->hold != NULL)
        wl->env->config_release(&wl->hold);
    wl->hold = hold;
    wl->cfg = cfg;
}

/* The partner the client certificate stands for into who ("" for
 * nobody: no certificate, plain HTTP, or one no partner file names). */
static int partner_of(web_lists *wl, const icx_web_request *req,
                      char who[32], icx_err *err)
{
    char fp[65];
    who[0] = '\0';
    if (icx_web_client_sha256(req, fp) != ICX_OK)
        return ICX_OK;
    current(wl);
    int rc = icx_trust_partner_of_cert(who, 32, wl->cfg, fp, err);
    if (rc == ICX_ENOTFOUND) {
        who[0] = '\0';
        rc = ICX_OK;
    }
    return rc;
}

int web_lists_partner(web_lists *wl, const icx_web_request *req)
{
    icx_err err;
    char who[32];
    icx_err_clear(&err);
    if (partner_of(wl, req, who, &err) < 0) {
        icx_log_limited(ICX_LOG_ERROR, "web.lists", "web.lists",
                        "error=\"%s\"", err.msg);
        return -1;
    }
    return who[0] != '\0';
}

int web_lists_handle(void *ctx, const icx_web_request *req,
                     icx_web_reply *reply)
{
    web_lists *wl = ctx;
    icx_http_reply hr;
    icx_err err;
    char who[32] = "";
    int rc;
    memset(&hr, 0, sizeof hr);
    icx_err_clear(&err);
    if ((rc = partner_of(wl, req, who, &err)) < 0)
        goto out;
    if (who[0] == '\0') {
        /* nobody: what icx_lists_http_get answers a NULL partner */
        icx_web_reply_status(reply, 404);
        rc = icx_buf_puts(icx_web_reply_body(reply), "not found\n");
        goto out;
    }
    if (wl->l == NULL &&
        (rc = icx_lists_http_open(&wl->l, wl->cfg, seal, wl, audit, wl,
                                  &err)) < 0)
        goto out;
    const char *path = icx_web_path(req) + strlen(LISTS_PREFIX);
    rc = icx_lists_http_get(wl->l, who, path,
                            icx_web_header(req, "If-None-Match"), &hr, &err);
    if (rc < 0)
        goto out;
    icx_web_reply_status(reply, hr.status);
    if (hr.status == 404) {
        rc = icx_buf_puts(icx_web_reply_body(reply), "not found\n");
        goto out;
    }
    icx_web_reply_type(reply, hr.content_type);
    /* Stored documents keep their bytes: a partner may ask again with
     * If-None-Match, never use a copy unasked. */
    if ((rc = icx_web_reply_header(reply, "ETag", hr.etag)) < 0 ||
        (rc = icx_web_reply_header(reply, "Cache-Control", "no-cache")) < 0)
        goto out;
    if (hr.status == 200)
        rc = icx_buf_append(icx_web_reply_body(reply), hr.body, hr.len);
out:
    if (rc == ICX_EAGAIN) {
        /* the signer restarts, or the store is busy: ask again soon */
        icx_log_limited(ICX_LOG_WARN, "web.lists", "web.lists",
                        "status=503 error=\"%s\"", err.msg);
        icx_web_reply_status(reply, 503);
        icx_web_reply_header(reply, "Retry-After", "5");
        rc = icx_buf_puts(icx_web_reply_body(reply), "try again later\n");
    } else if (rc < 0) {
        icx_log_limited(ICX_LOG_ERROR, "web.lists", "web.lists",
                        "error=\"%s\"", err.msg);
    }
    icx_http_reply_clear(&hr);
    return rc < 0 ? rc : ICX_OK;
}
