/*
 * broker_audit.c - the daemon's signed checkpoints of its audit log, and
 * their RFC 3161 time-stamps (docs/AUDIT.md).
 *
 * A checkpoint is signed by the gateway's signer (the signer process's
 * key or a token's: never a key in this process) when checkpoint_every
 * records or checkpoint_seconds have passed, and stored with the head
 * file (icx_store_checkpoint_add).  Committed checkpoints are handed one
 * at a time to the stamper thread (stamper.c), whose token is stored in
 * the loop's transaction.  Loop thread only; failures are logged (limited
 * to one line a minute per condition) and tried again later, never
 * stopping the daemon.
 */
#include "broker_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

/* Signs c (its size and root set by the caller) as this gateway's, at the
 * time now, with the gateway key. */
int icx_broker_sign_checkpoint(icx_broker *b, icx_checkpoint *c,
                               icx_err *err)
{
    snprintf(c->gateway, sizeof c->gateway, "%s", b->gen->cfg->id);
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(c->time, sizeof c->time, "%.19s.%03dZ", base,
             (int)(ts.tv_nsec / 1000000L) % 1000);
    unsigned char digest[32], sig[ICX_SIG_MAX];
    size_t siglen = sizeof sig;
    int rc = icx_checkpoint_digest(digest, c, err);
    /* A signer restarted under the call (ICX_EAGAIN) answers the next. */
    for (int i = 0; rc == ICX_OK || rc == ICX_EAGAIN; i++) {
        if (i == ICX_SIGN_TRIES)
            break;
        siglen = sizeof sig;
        rc = icx_signer_sign_digest(sig, &siglen, b->signer, digest, err);
        if (rc != ICX_EAGAIN)
            break;
        /* Logged only: an audit record here would fall between the tree
         * this checkpoint covers and its signature. */
        icx_log_warn("signer.retry", "what=checkpoint attempt=%d", i + 1);
    }
    if (rc == ICX_OK)
        rc = icx_checkpoint_set_signature(
            c, sig, siglen,
            icx_signer_ecdsa(b->signer) ? icx_signer_field(b->signer) : 0,
            err);
    return rc;
}

/* Signs a checkpoint of the committed audit tree when checkpoint_every
 * records or checkpoint_seconds have passed since the last one (force: at
 * shutdown, whenever there is anything new). */
void icx_broker_checkpoint(icx_broker *b, int force)
{
#ifdef ICX_AUDIT_PLAIN
    (void)b;
    (void)force;
    return; /* benchmark build: no checkpoints (see CMakeLists.txt) */
#endif
    const icx_config *cfg = b->gen->cfg;
    icx_checkpoint c;
    icx_err err;
    memset(&c, 0, sizeof c);
    /* Several nodes on one PostgreSQL store: one signs (docs/STORE.md). */
    if (!icx_store_leads(b->store))
        return;
    /* The size decides; the root (a hash per level) only when signing. */
    icx_store_audit_head(b->store, &c.size, NULL);
    if (c.size == 0 || c.size <= b->cp_size)
        return;
    int64_t now = icx_broker_now();
    if (!force && c.size - b->cp_size < (uint64_t)cfg->checkpoint_every &&
        now - b->cp_time < cfg->checkpoint_seconds)
        return;
    icx_store_audit_head(b->store, &c.size, c.root);
    if (icx_broker_sign_checkpoint(b, &c, &err) < 0 ||
        icx_store_checkpoint_add(b->store, &c, &err) < 0) {
        icx_log_limited(ICX_LOG_ERROR, "audit.checkpoint", "audit.checkpoint",
                        "size=%llu error=\"%s\"",
                        (unsigned long long)c.size, err.msg);
        b->cp_time = now; /* try again later, not on every turn */
        return;
    }
    b->cp_size = c.size;
    b->cp_time = now;
    icx_log_limited_end("audit.checkpoint");
    icx_log_info("audit.checkpoint", "size=%llu root=%s",
                 (unsigned long long)c.size, c.root);
}

/* ---- time-stamps of checkpoints (docs/AUDIT.md, "Time-stamps") ---------- */

/* Seconds from the checkpoint's signing to the token's genTime. */
static long long stamp_gap(const icx_checkpoint *c, const icx_tsa_stamp *t)
{
    time_t signed_at;
    if (icx_time_parse(&signed_at, c->time) < 0)
        return 0;
    return (long long)(t->gen_epoch - (int64_t)signed_at);
}

/* A result of the stamper: the token stored in the loop's transaction; an
 * unreachable TSA logged and retried later; a refused reply logged,
 * alerted and audited (once per checkpoint) and retried later. */
static void stamp_result(icx_broker *b, icx_stamp_result *res, int64_t now)
{
    const icx_config *cfg = b->gen->cfg;
    icx_checkpoint c;
    icx_err err;
    memset(&c, 0, sizeof c);
    if (res->rc == ICX_OK) {
        icx_store_checkpoint_at(b->store, res->size, &c, &err);
        if (icx_broker_tx(b) < 0 ||
            icx_store_stamp_add(b->store, res->size, &res->info,
                                res->token.data, res->token.len, &err) < 0) {
            icx_log_error("audit.stamp-failed", "size=%llu error=\"%s\"",
                          (unsigned long long)res->size, err.msg);
            b->stamp_next = now + cfg->tsa_retry_s;
            return;
        }
        icx_log_limited_end("audit.stamp");
        icx_log_info("audit.stamped", "size=%llu gen_time=%s gap_s=%lld "
                     "serial=%s policy=%s took_ms=%lld",
                     (unsigned long long)res->size, res->info.gen_time,
                     stamp_gap(&c, &res->info), res->info.serial,
                     res->info.policy, (long long)res->took_ms);
        b->stamp_next = now; /* the next queued one at once */
        return;
    }
    b->stamp_next = now + cfg->tsa_retry_s;
    if (res->rc == ICX_EAGAIN) {
        icx_log_limited(ICX_LOG_WARN, "audit.stamp", "audit.stamp-deferred",
                        "size=%llu retry_s=%ld error=\"%s\"",
                        (unsigned long long)res->size, cfg->tsa_retry_s,
                        res->err.msg);
        return;
    }
    icx_log_error("audit.stamp-refused", "alert=1 size=%llu error=\"%s\"",
                  (unsigned long long)res->size, res->err.msg);
    if (b->stamp_refused != res->size ||
        strncmp(b->stamp_refused_why, res->err.msg,
                sizeof b->stamp_refused_why - 1) != 0) {
        b->stamp_refused = res->size;
        snprintf(b->stamp_refused_why, sizeof b->stamp_refused_why, "%.199s",
                 res->err.msg);
        icx_broker_audit(b, "audit.stamp-refused", NULL, NULL,
                         "size=%llu rc=%s reason=\"%.180s\"",
                         (unsigned long long)res->size,
                         icx_rc_name(res->rc), res->err.msg);
    }
}

/* Takes the stamper's result, and hands it the next committed checkpoint
 * that waits for a token (icx_store_stamp_next). */
void icx_broker_stamp_step(icx_broker *b, int64_t now)
{
    const icx_config *cfg = b->gen->cfg;
    icx_stamp_result res;
    icx_checkpoint c;
    icx_buf text;
    icx_err err;
    if (b->stamper == NULL && cfg->tsa_url != NULL &&
        icx_stamper_start(&b->stamper, &err) < 0) {
        icx_log_limited(ICX_LOG_ERROR, "audit.stamper", "audit.stamp-failed",
                        "error=\"%s\"", err.msg);
        return;
    }
    if (b->stamper == NULL)
        return;
    if (icx_stamper_take(b->stamper, &res)) {
        stamp_result(b, &res, now);
        icx_buf_free(&res.token);
    }
    if (cfg->tsa_url == NULL || cfg->tsa_ca_file == NULL ||
        now < b->stamp_next || icx_stamper_busy(b->stamper) ||
        icx_turn_open(b->turn) || !icx_store_leads(b->store))
        return; /* several nodes on one store: the lead stamps */
    int rc = icx_store_stamp_next(b->store, &c, NULL, &err);
    if (rc < 0) {
        if (rc != ICX_ENOTFOUND)
            icx_log_limited(ICX_LOG_ERROR, "audit.stamper",
                            "audit.stamp-failed", "error=\"%s\"", err.msg);
        b->stamp_next = now + 1;
        return;
    }
    icx_stamp_tsa tsa = {cfg->tsa_url, cfg->tsa_ca_file, cfg->tsa_policy,
                         cfg->tsa_timeout_s};
    icx_buf_init(&text, 4096);
    rc = icx_checkpoint_text(&text, &c);
    if (rc == ICX_OK)
        rc = icx_stamper_submit(b->stamper, c.size, text.data, text.len, &tsa,
                                &err);
    else
        icx_err_set(&err, rc, "checkpoint text");
    if (rc < 0) {
        icx_log_limited(ICX_LOG_ERROR, "audit.stamper", "audit.stamp-failed",
                        "size=%llu error=\"%s\"", (unsigned long long)c.size,
                        err.msg);
        b->stamp_next = now + 1;
    }
    icx_buf_free(&text);
}
