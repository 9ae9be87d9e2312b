/*
 * lists_hooks.c - the lists module inside `icx serve`: category hooks
 * (hooks.h) for list-sync-request (a partner pulls: answer one page, or a
 * Refusal) and list-update (a page of a list we pull: apply it, and ask
 * for the next page, or recover from a gap or a digest mismatch).
 *
 * Runs on the broker's loop thread.  The lists store is opened at the
 * first request and kept open; lists.yaml is read again on every request,
 * so edits apply without a restart (a broken file fails the hook, which
 * the broker audits as hook.failed, and nothing is answered).  Every
 * answer is a signed envelope queued by the broker with its own audit
 * records; ConversationId and RefToMessageId tie it to the request.
 *
 * Idempotent by design: if the daemon stops between applying a page and
 * queueing the next request, `icx pull` asks again from the local
 * position.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lists.h"
#include "log.h"
#include "util.h"

static struct {
    icx_listdb *db;
    char *path;
} H;

static int hook_db(icx_listdb **out, const icx_config *cfg, icx_err *err)
{
    char *path = icx_lists_db_path(cfg);
    if (path == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    if (H.db != NULL && strcmp(H.path, path) == 0) {
        free(path);
        *out = H.db;
        return ICX_OK;
    }
    icx_lists_hooks_close();
    int rc = icx_listdb_open(&H.db, path, err);
    if (rc < 0) {
        free(path);
        return rc;
    }
    H.path = path;
    *out = H.db;
    return ICX_OK;
}

static int answer(icx_outmsg **out, size_t *nout, const icx_header *req,
                  const char *category, const char *tlp, const char *hcode,
                  const char *legal, long retain_days, icx_buf *payload,
                  icx_err *err)
{
    icx_outmsg *m = calloc(1, sizeof *m);
    if (m == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    icx_header *h = &m->h;
    snprintf(h->recipient, sizeof h->recipient, "%s", req->sender);
    snprintf(h->category, sizeof h->category, "%s", category);
    snprintf(h->tlp, sizeof h->tlp, "%s", tlp);
    snprintf(h->hcode, sizeof h->hcode, "%s", hcode);
    snprintf(h->legal_basis, sizeof h->legal_basis, "%s", legal);
    char day[ICX_TIME_LEN + 1];
    icx_time_format(day, sizeof day, time(NULL) + retain_days * 86400L);
    snprintf(h->retain_until, sizeof h->retain_until, "%.10s", day);
    snprintf(h->ref_to_message_id, sizeof h->ref_to_message_id, "%s",
             req->message_id);
    snprintf(h->conversation_id, sizeof h->conversation_id, "%s",
             req->conversation_id[0] ? req->conversation_id : req->message_id);
    m->payload = icx_buf_steal(payload, &m->len);
    *out = m;
    *nout = 1;
    return ICX_OK;
}

static int hook_serve(void *ctx, const icx_hook_env *env, const icx_header *h,
                      const char *envelope, size_t len, icx_outmsg **out,
                      size_t *nout, icx_err *err)
{
    (void)ctx;
    const icx_config *cfg = env->cfg;
    icx_listdb *db = NULL;
    icx_lists_conf *conf = NULL;
    icx_lists_answer ans;
    icx_buf page;
    icx_buf_init(&page, (size_t)cfg->max_message_bytes + (1u << 20));
    int rc = hook_db(&db, cfg, err);
    if (rc == ICX_OK)
        rc = icx_lists_conf_load_beside(&conf, cfg, err);
    if (rc == ICX_OK)
        rc = icx_lists_serve(&page, &ans, db, conf, cfg, h->sender, envelope,
                             len, time(NULL), err);
    if (rc < 0)
        goto out;
    const icx_list_decl *d = icx_lists_conf_find(conf, ans.list);
    const char *list = ans.list;
    char detail[256];
    if (ans.ack) {
        /* Nothing goes back: the partner only says where it is. */
        const char *state = ans.ack_state == 1 ? "match"
                            : ans.ack_state == 0 ? "differs" : "unknown";
        if (ans.ack_state == 0)
            icx_log_warn("list.ack", "partner=%s list=%s serial=%llu "
                         "digest=differs", h->sender, list,
                         (unsigned long long)ans.ack_serial);
        else
            icx_log_info("list.ack", "partner=%s list=%s serial=%llu "
                         "digest=%s", h->sender, list,
                         (unsigned long long)ans.ack_serial, state);
        snprintf(detail, sizeof detail, "list=%.64s serial=%llu digest=%s",
                 list, (unsigned long long)ans.ack_serial, state);
        if (env->audit != NULL)
            env->audit(env->actx, "list.acknowledged", h->message_id,
                       h->sender, detail);
        goto out;
    }
    if (ans.refused) {
        icx_log_warn("list.refused", "partner=%s request=%s code=%s",
                     h->sender, h->message_id, ans.code);
        snprintf(detail, sizeof detail, "list=%.64s code=%.64s", list,
                 ans.code);
        if (env->audit != NULL)
            env->audit(env->actx, "list.refused", h->message_id, h->sender,
                       detail);
    } else {
        icx_log_info("list.page", "partner=%s list=%s request=%s kind=%s "
                     "from=%llu to=%llu page=%lu/%lu entries=%zu bytes=%zu",
                     h->sender, list, h->message_id,
                     ans.snapshot ? "snapshot" : "delta",
                     (unsigned long long)ans.from, (unsigned long long)ans.to,
                     ans.page, ans.pages, ans.entries, page.len);
        snprintf(detail, sizeof detail, "list=%.64s kind=%s from=%llu to=%llu "
                 "page=%lu/%lu entries=%zu", list,
                 ans.snapshot ? "snapshot" : "delta",
                 (unsigned long long)ans.from, (unsigned long long)ans.to,
                 ans.page, ans.pages, ans.entries);
        if (env->audit != NULL)
            env->audit(env->actx, "list.page.served", h->message_id,
                       h->sender, detail);
    }
    rc = answer(out, nout, h, "list-update",
                d && !ans.refused ? d->tlp : conf->pull_tlp,
                d && !ans.refused ? d->handling : conf->pull_handling,
                d && !ans.refused ? d->legal_basis : conf->pull_legal_basis,
                d && !ans.refused ? d->retain_days : 365, &page, err);
out:
    icx_buf_free(&page);
    icx_lists_conf_free(&conf);
    return rc;
}

static int hook_apply(void *ctx, const icx_hook_env *env, const icx_header *h,
                      const char *envelope, size_t len, icx_outmsg **out,
                      size_t *nout, icx_err *err)
{
    (void)ctx;
    const icx_config *cfg = env->cfg;
    icx_listdb *db = NULL;
    icx_lists_conf *conf = NULL;
    icx_buf next;
    icx_buf_init(&next, 1 << 16);
    int rc = hook_db(&db, cfg, err);
    if (rc == ICX_OK)
        rc = icx_lists_apply(&next, db, h->sender, envelope, len, time(NULL),
                             err);
    if (env->audit != NULL)
        env->audit(env->actx, rc == ICX_OK ? "list.page.applied"
                                           : "list.page.refused",
                   h->message_id, h->sender,
                   rc == ICX_OK ? "" : (err ? err->msg : ""));
    if (rc < 0 || next.len == 0)
        goto out;
    if ((rc = icx_lists_conf_load_beside(&conf, cfg, err)) < 0)
        goto out;
    icx_log_info("list.next", "partner=%s after=%s", h->sender,
                 h->message_id);
    rc = answer(out, nout, h, "list-sync-request", conf->pull_tlp,
                conf->pull_handling, conf->pull_legal_basis, 365, &next, err);
out:
    icx_buf_free(&next);
    icx_lists_conf_free(&conf);
    return rc;
}

static const icx_hook hooks[] = {
    {"list-sync-request", hook_serve, NULL},
    {"list-update", hook_apply, NULL},
};

/* Scheduled pulls: every pull.every_seconds, each PARTNER/LIST of
 * pull.schedule whose last pull started that long ago (or is stuck for
 * ten times that) is asked again from its local position.  lists.yaml is
 * read on every call, so an edit takes effect without a reload. */
static int tick_pull(void *ctx, const icx_hook_env *env, time_t now,
                     icx_outmsg **out, size_t *nout, icx_err *err)
{
    (void)ctx;
    icx_lists_conf *conf = NULL;
    icx_listdb *db = NULL;
    icx_outmsg *msgs = NULL;
    size_t n = 0;
    int rc;
    *out = NULL;
    *nout = 0;
    char *path = icx_lists_conf_path(env->cfg);
    if (path == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    int exists = access(path, F_OK) == 0;
    free(path);
    if (!exists)
        return ICX_OK; /* no lists.yaml: nothing scheduled */
    if ((rc = icx_lists_conf_load_beside(&conf, env->cfg, err)) < 0)
        return rc;
    if (conf->pull_every_s <= 0 || conf->pull_schedule.count == 0)
        goto out;
    if ((rc = hook_db(&db, env->cfg, err)) < 0)
        goto out;
    msgs = calloc(conf->pull_schedule.count, sizeof *msgs);
    if (msgs == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < conf->pull_schedule.count; i++) {
        const char *e = conf->pull_schedule.items[i];
        const char *slash = strchr(e, '/');
        char partner[32];
        if (slash == NULL || (size_t)(slash - e) >= sizeof partner)
            continue;
        memcpy(partner, e, (size_t)(slash - e));
        partner[slash - e] = '\0';
        const char *list = slash + 1;
        icx_lists_sub sub;
        icx_err serr;
        int have = icx_lists_sub_get(&sub, db, partner, list, &serr) == ICX_OK;
        if (have) {
            int64_t age = (int64_t)now - sub.requested_at;
            int busy = strcmp(sub.state, "pulling") == 0;
            if (age < conf->pull_every_s ||
                (busy && age < 10 * conf->pull_every_s))
                continue;
        }
        icx_buf req;
        int64_t seq = 0;
        icx_buf_init(&req, 1 << 16);
        if (icx_lists_pull_begin(&req, &seq, db, partner, list, now, &serr) < 0) {
            /* Tried again every second while its store cannot write. */
            icx_log_limited(ICX_LOG_WARN, "list.schedule", "list.schedule",
                            "partner=%s list=%s error=\"%s\"", partner,
                            list, serr.msg);
            icx_buf_free(&req);
            continue;
        }
        icx_log_limited_end("list.schedule");
        icx_header fake;
        memset(&fake, 0, sizeof fake);
        snprintf(fake.sender, sizeof fake.sender, "%s", partner);
        icx_outmsg *one = NULL;
        size_t k = 0;
        if (answer(&one, &k, &fake, "list-sync-request", conf->pull_tlp,
                   conf->pull_handling, conf->pull_legal_basis, 365, &req,
                   &serr) == ICX_OK) {
            msgs[n++] = *one;
            free(one);
            icx_log_info("list.schedule", "partner=%s list=%s pull=%lld",
                         partner, list, (long long)seq);
        }
        icx_buf_free(&req);
    }
    *out = msgs;
    *nout = n;
    msgs = NULL;
    rc = ICX_OK;
out:
    free(msgs);
    icx_lists_conf_free(&conf);
    return rc;
}

static const icx_tick ticks[] = {
    {"lists.schedule", tick_pull, NULL},
};

const icx_tick *icx_lists_ticks(size_t *n)
{
    *n = sizeof ticks / sizeof ticks[0];
    return ticks;
}

const icx_hook *icx_lists_hooks(size_t *n)
{
    *n = sizeof hooks / sizeof hooks[0];
    return hooks;
}

void icx_lists_hooks_close(void)
{
    icx_listdb_free(&H.db);
    free(H.path);
    H.path = NULL;
}
