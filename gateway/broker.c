/*
 * broker.c - the daemon's lifecycle and event loop (see broker.h).
 *
 * Loop turn: poll (pool results, control socket, signal fd, adapter
 * sockets) -> handle what is ready, all store writes inside the loop's
 * transaction -> commit when turn.c says so (at once when no job is in
 * flight, else after a short linger that lets the next results share the
 * commit) -> only then the post-commit actions: frames to partners
 * (receipts) and control replies.  If the commit fails, the transaction
 * is rolled back, no action is taken, and every waiting control client is
 * told; partners will retry, and their retries find the store as it was.
 * The due scan runs only between transactions, so it sends committed
 * rows only.
 *
 * Reload (SIGHUP): a new configuration generation is loaded; if it fails
 * the old one stays and the reason is logged and audited.  On success the
 * adapter is reopened with it; jobs still running keep the old generation
 * alive through their reference.
 *
 * Stop (SIGTERM/SIGINT): no new work is accepted; jobs in flight finish
 * and their results are committed; then sockets close.
 */
#include "broker_int.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#define MAX_POLL 256
#define BUSY_PUMP_MS 1  /* results taken this often during a commit */

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

static int gen_load(struct icx_gen **out, const char *path, icx_err *err)
{
    icx_buf errs;
    icx_buf_init(&errs, 64 * 1024);
    struct icx_gen *g = calloc(1, sizeof *g);
    int rc = g ? ICX_OK : icx_err_set(err, ICX_ENOMEM, "out of memory");
    if (rc == ICX_OK)
        rc = icx_config_load(&g->cfg, path, &errs, err);
    if (rc < 0 && errs.len > 0) {
        /* Every error of the load, one per line, for the log. */
        icx_err_set(err, rc, "%s", errs.data);
    }
    if (rc == ICX_OK)
        rc = icx_trust_from_config(&g->trust, g->cfg, err);
    icx_buf_free(&errs);
    if (rc < 0) {
        if (g != NULL) {
            icx_trust_free(&g->trust);
            icx_config_free(&g->cfg);
            free(g);
        }
        return rc;
    }
    atomic_init(&g->refs, 1);
    *out = g;
    return ICX_OK;
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
        icx_log_error("audit.failed", "event=%s error=\"%s\"", event, err.msg);
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

/* Signs a checkpoint of the committed audit tree when checkpoint_every
 * records or checkpoint_seconds have passed since the last one (force: at
 * shutdown, whenever there is anything new). */
static void maybe_checkpoint(icx_broker *b, int force)
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
    /* The size decides; the root (a hash per level) only when signing. */
    icx_store_audit_head(b->store, &c.size, NULL);
    if (c.size == 0 || c.size <= b->cp_size)
        return;
    int64_t now = icx_broker_now();
    if (!force && c.size - b->cp_size < (uint64_t)cfg->checkpoint_every &&
        now - b->cp_time < cfg->checkpoint_seconds)
        return;
    icx_store_audit_head(b->store, &c.size, c.root);
    snprintf(c.gateway, sizeof c.gateway, "%s", cfg->id);
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(c.time, sizeof c.time, "%.19s.%03dZ", base,
             (int)(ts.tv_nsec / 1000000L) % 1000);
    if (icx_checkpoint_sign_with(&c, b->cpkey, &err) < 0 ||
        icx_store_checkpoint_add(b->store, &c, &err) < 0) {
        icx_log_error("audit.checkpoint", "size=%llu error=\"%s\"",
                      (unsigned long long)c.size, err.msg);
        b->cp_time = now; /* try again later, not on every turn */
        return;
    }
    b->cp_size = c.size;
    b->cp_time = now;
    icx_log_info("audit.checkpoint", "size=%llu root=%s",
                 (unsigned long long)c.size, c.root);
}

/* Ends the loop's transaction (turn.c): commits it here, or hands it to
 * the committer; the post-commit actions run when it has committed. */
static void turn_end(icx_broker *b)
{
    int r = icx_turn_end(b->turn);
    if (r == ICX_TURN_COMMITTED || r == ICX_TURN_NOTHING)
        maybe_checkpoint(b, 0);
}

/* The committer has finished (or wait: until it has): the store is the
 * loop's again. */
static void turn_done(icx_broker *b, int wait)
{
    if (icx_turn_done(b->turn, wait) == ICX_TURN_COMMITTED)
        maybe_checkpoint(b, 0);
}

struct peer_state *icx_broker_peer(icx_broker *b, const char *id)
{
    for (size_t i = 0; i < b->npeers; i++)
        if (strcmp(b->peers[i].id, id) == 0)
            return &b->peers[i];
    struct peer_state *p = realloc(b->peers, (b->npeers + 1) * sizeof *p);
    if (p == NULL)
        return NULL;
    b->peers = p;
    p = &b->peers[b->npeers++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    return p;
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

static int64_t now_ms(void)
{
    return icx_turn_now_ms();
}

/* The partner's inbound limits: size, then a token bucket.  A frame over
 * them is dropped before it costs a verification; the partner's retries
 * bring it later, so a fast partner is slowed without others noticing.
 * Drops are logged and audited at most once a second per partner. */
static int within_limits(icx_broker *b, struct peer_state *ps,
                         const icx_partner *p, size_t len)
{
    int64_t t = now_ms();
    long max = p->in_max_bytes > 0 ? p->in_max_bytes
                                   : b->gen->cfg->max_message_bytes;
    int ok = 1;
    if ((long)len > max) {
        ps->dropped_size++;
        ok = 0;
    } else {
        if (ps->refill_ms == 0) {
            ps->tokens = (double)p->in_burst;
            ps->refill_ms = t;
        }
        ps->tokens += (double)(t - ps->refill_ms) * (double)p->in_rate / 1000.0;
        if (ps->tokens > (double)p->in_burst)
            ps->tokens = (double)p->in_burst;
        ps->refill_ms = t;
        if (ps->tokens < 1.0) {
            ps->dropped_rate++;
            ok = 0;
        } else {
            ps->tokens -= 1.0;
        }
    }
    if ((ps->dropped_rate || ps->dropped_size) && t - ps->limit_noted >= 1000) {
        icx_log_warn("partner.limited", "partner=%s dropped_rate=%llu "
                     "dropped_size=%llu rate=%ld/s burst=%ld max_bytes=%ld",
                     ps->id, (unsigned long long)ps->dropped_rate,
                     (unsigned long long)ps->dropped_size, p->in_rate,
                     p->in_burst, max);
        icx_broker_audit(b, "partner.limited", NULL, ps->id,
                         "dropped_rate=%llu dropped_size=%llu rate=%ld/s "
                         "max_bytes=%ld", (unsigned long long)ps->dropped_rate,
                         (unsigned long long)ps->dropped_size, p->in_rate, max);
        ps->dropped_rate = ps->dropped_size = 0;
        ps->limit_noted = t;
    }
    return ok;
}

/* Adapter callbacks: run inside on_ready, on the loop thread. */
static void on_frame(void *core, const char *peer, int kind, const char *data,
                     size_t len)
{
    icx_broker *b = core;
    struct peer_state *ps = icx_broker_peer(b, peer);
    if (ps != NULL)
        ps->last_contact = icx_broker_now();
    b->frames_in++;
    const icx_partner *p = icx_config_partner(b->gen->cfg, peer);
    if (ps != NULL && p != NULL && !within_limits(b, ps, p, len))
        return;
    if (b->stopping || (kind != ICX_FRAME_ENVELOPE && kind != ICX_FRAME_RECEIPT))
        return; /* the sender will retry */
    struct bjob *j = calloc(1, sizeof *j);
    if (j == NULL)
        return;
    j->type = BJOB_VERIFY;
    j->kind = kind;
    snprintf(j->peer, sizeof j->peer, "%s", peer);
    j->data = malloc(len + 1);
    if (j->data == NULL) {
        free(j);
        return;
    }
    memcpy(j->data, data, len);
    j->data[len] = '\0';
    j->len = len;
    if (icx_broker_submit_job(b, j) < 0)
        icx_bjob_free(j);
}

static void on_peer(void *core, const char *peer, int event)
{
    icx_broker *b = core;
    if (event == ICX_PEER_REFUSED) {
        icx_log_warn("transport.refused", "key=\"%s\"", peer);
        icx_broker_audit(b, "transport.refused", NULL, NULL, "curve_key=%s",
                         peer);
        return;
    }
    struct peer_state *ps = icx_broker_peer(b, peer);
    if (ps == NULL)
        return;
    if (event == ICX_PEER_LIMITED || event == ICX_PEER_DROPPED) {
        /* Frames the transport dropped (over the partner's connection
         * limit, or malformed or oversized): counted and recorded at most
         * once a second per partner and kind, like the other limits. */
        int limited = event == ICX_PEER_LIMITED;
        uint64_t *count = limited ? &ps->dropped_conns : &ps->dropped_frames;
        int64_t *noted = limited ? &ps->conns_noted : &ps->frames_noted;
        int64_t t = now_ms();
        (*count)++;
        if (t - *noted >= 1000) {
            if (limited)
                icx_broker_audit(b, "partner.limited", NULL, peer,
                                 "dropped_connections=%llu reason=\"more "
                                 "concurrent connections than "
                                 "limits.max_connections\"",
                                 (unsigned long long)*count);
            else
                icx_broker_audit(b, "transport.dropped", NULL, peer,
                                 "frames=%llu reason=\"malformed or "
                                 "oversized frame (see the log)\"",
                                 (unsigned long long)*count);
            *count = 0;
            *noted = t;
        }
        return;
    }
    int up = event == ICX_PEER_UP;
    if (ps->connected != up)
        icx_log_info(up ? "partner.up" : "partner.down", "partner=%s", peer);
    ps->connected = up;
    if (up) {
        ps->last_contact = icx_broker_now();
        icx_broker_wake_hop(b, peer);
    }
}

static struct adapter_slot *slot_named(icx_broker *b, const char *name)
{
    for (int i = 0; i < b->nslots; i++)
        if (strcmp(b->slots[i].ops->name, name) == 0)
            return &b->slots[i];
    return NULL;
}

static struct adapter_slot *slot_for(icx_broker *b, const char *partner)
{
    const icx_partner *p = icx_config_partner(b->gen->cfg, partner);
    if (p == NULL)
        return NULL;
    return slot_named(b, p->adapter ? p->adapter : "zmq");
}

int icx_broker_send(icx_broker *b, const char *partner, int kind,
                    const char *data, size_t len, icx_err *err)
{
    struct adapter_slot *sl = slot_for(b, partner);
    if (sl == NULL) {
        icx_err_set(err, ICX_ENOTFOUND, "%s is not a configured partner",
                    partner);
        return ICX_SEND_ERROR;
    }
    return sl->ops->send(sl->state, partner, kind, data, len, err);
}

void icx_broker_try_resume(icx_broker *b, const char *partner)
{
    struct adapter_slot *sl = slot_for(b, partner);
    if (sl != NULL && sl->ops->try_resume != NULL)
        sl->ops->try_resume(sl->state, partner);
}

static int turn_send(void *ctx, const char *partner, int kind,
                     const char *data, size_t len)
{
    icx_err err;
    return icx_broker_send(ctx, partner, kind, data, len, &err);
}

int icx_broker_connected(icx_broker *b, const char *partner)
{
    struct adapter_slot *sl = slot_for(b, partner);
    return sl != NULL && sl->ops->connected(sl->state, partner);
}

static void adapters_close(icx_broker *b)
{
    for (int i = b->nslots - 1; i >= 0; i--)
        if (b->slots[i].state != NULL)
            b->slots[i].ops->close(&b->slots[i].state);
    b->nslots = 0;
}

/* Opens every adapter a partner uses (and zmq when this gateway listens). */
static int adapter_open(icx_broker *b, icx_err *err)
{
    const icx_config *cfg = b->gen->cfg;
    const char *names[ICX_MAX_ADAPTERS];
    int n = 0;
    if (cfg->listen != NULL)
        names[n++] = "zmq";
    for (size_t i = 0; i < cfg->npartners; i++) {
        const char *name = cfg->partners[i].adapter ? cfg->partners[i].adapter
                                                    : "zmq";
        int seen = 0;
        for (int k = 0; k < n; k++)
            seen |= strcmp(names[k], name) == 0;
        if (!seen) {
            if (n == ICX_MAX_ADAPTERS)
                return icx_err_set(err, ICX_ECONFIG, "more than %d adapters",
                                   ICX_MAX_ADAPTERS);
            names[n++] = name;
        }
    }
    b->nslots = 0;
    for (int k = 0; k < n; k++) {
        struct adapter_slot *sl = &b->slots[k];
        memset(sl, 0, sizeof *sl);
        sl->ops = b->find_adapter(names[k], cfg->adapters_dir, err);
        if (sl->ops == NULL) {
            adapters_close(b);
            return err->rc < 0 ? err->rc : ICX_ECONFIG;
        }
        if (sl->ops->abi != ICX_ADAPTER_ABI) {
            adapters_close(b);
            return icx_err_set(err, ICX_ECONFIG, "adapter \"%s\" is %s",
                               names[k], sl->ops ? "built for another ABI"
                                                 : "not available");
        }
        sl->env = (icx_adapter_env){
            .cfg = cfg, .curve_public = b->curve_pub,
            .curve_secret = b->curve_sec, .zmq_ctx = b->zctx, .core = b,
            .deliver = on_frame, .peer_event = on_peer,
        };
        int rc = sl->ops->open(&sl->state, &sl->env, err);
        if (rc < 0) {
            adapters_close(b);
            return icx_err_wrap(err, "adapter %s", names[k]);
        }
        b->nslots = k + 1;
    }
    return ICX_OK;
}

static const char *bound_endpoint(icx_broker *b)
{
    for (int i = 0; i < b->nslots; i++)
        if (b->slots[i].ops->endpoint != NULL) {
            const char *ep = b->slots[i].ops->endpoint(b->slots[i].state);
            if (ep != NULL)
                return ep;
        }
    return NULL;
}

/* libzmq releases a closed socket's address asynchronously: try again for
 * a short while before calling the address taken. */
static int adapter_reopen(icx_broker *b, icx_err *err)
{
    int rc = ICX_ERROR;
    for (int i = 0; i < 60; i++) {
        rc = adapter_open(b, err);
        if (rc == ICX_OK || strstr(err->msg, "in use") == NULL)
            return rc;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return rc;
}

static void reload(icx_broker *b)
{
    icx_err err;
    struct icx_gen *g = NULL;
    icx_err_clear(&err);
    icx_log_info("config.reload", "path=%s", b->config_path);
    if (gen_load(&g, b->config_path, &err) < 0) {
        icx_log_error("config.refused", "path=%s kept=previous error=\"%s\"",
                      b->config_path, err.msg);
        icx_broker_audit(b, "config.refused", NULL, NULL, "path=%s",
                         b->config_path);
        return;
    }
    if (strcmp(g->cfg->id, b->gen->cfg->id) != 0) {
        icx_log_error("config.refused", "reason=\"id changed from %s to %s; "
                      "restart to change identity\"", b->gen->cfg->id,
                      g->cfg->id);
        icx_gen_unref(&g);
        return;
    }
    /* The listening socket and the ZAP endpoint can be bound once: the old
     * transport closes before the new one opens; if the new one cannot
     * open, the old configuration's transport is opened again. */
    struct icx_gen *old = b->gen;
    const char *bound = bound_endpoint(b);
    if (bound != NULL && g->cfg->listen != NULL && old->cfg->listen != NULL &&
        strcmp(g->cfg->listen, old->cfg->listen) == 0) {
        /* Same listen setting: keep the port partners already know (it
         * matters when the setting asks for an ephemeral port). */
        char *keep = strdup(bound);
        if (keep != NULL) {
            free(g->cfg->listen);
            g->cfg->listen = keep;
        }
    }
    adapters_close(b);
    b->gen = g;
    if (adapter_reopen(b, &err) < 0) {
        icx_log_error("config.refused", "reason=\"transport: %s\" kept=previous",
                      err.msg);
        b->gen = old;
        icx_gen_unref(&g);
        if (adapter_reopen(b, &err) < 0)
            icx_log_error("transport.down", "alert=1 error=\"%s\"", err.msg);
        return;
    }
    icx_gen_unref(&old);
    icx_log_info("config.loaded", "partners=%zu", b->gen->cfg->npartners);
    icx_broker_audit(b, "config.loaded", NULL, NULL, "path=%s partners=%zu",
                     b->config_path, b->gen->cfg->npartners);
}

static void run_ticks(icx_broker *b, int64_t now)
{
    icx_hook_env env = icx_broker_hook_env(b);
    if (icx_broker_tx(b) < 0)
        return;
    for (size_t i = 0; i < b->nticks; i++) {
        icx_outmsg *out = NULL;
        size_t nout = 0;
        icx_err err;
        icx_err_clear(&err);
        if (b->ticks[i].fn(b->ticks[i].ctx, &env, (time_t)now, &out, &nout,
                           &err) < 0) {
            icx_log_warn("tick.failed", "task=%s error=\"%s\"",
                         b->ticks[i].name, err.msg);
            icx_outmsg_free(out, nout);
            continue;
        }
        if (nout > 0)
            icx_broker_enqueue(b, out, nout, b->ticks[i].name);
    }
}

static void handle_job(icx_broker *b, struct bjob *j)
{
    switch (j->type) {
    case BJOB_VERIFY: icx_broker_inbound(b, j); break;
    case BJOB_SIGN: icx_broker_signed(b, j); return; /* owned by ctl */
    case BJOB_RECEIPT: icx_broker_receipt_signed(b, j); break;
    }
    icx_bjob_free(j);
}

static void handle_held(icx_broker *b)
{
    for (size_t i = 0; i < b->nheld; i++)
        handle_job(b, b->held[i]);
    b->nheld = 0;
}

/* A result taken while the committer holds the store: handled, in the
 * order taken, once the store is back.  Taking it lets the pool hand the
 * workers more. */
static void hold_job(icx_broker *b, struct bjob *j)
{
    if (b->nheld == b->capheld) {
        size_t cap = b->capheld ? b->capheld * 2 : 64;
        struct bjob **p = realloc(b->held, cap * sizeof *p);
        if (p == NULL) {
            /* No room to wait in: wait for the store instead. */
            turn_done(b, 1);
            handle_held(b);
            handle_job(b, j);
            return;
        }
        b->held = p;
        b->capheld = cap;
    }
    b->held[b->nheld++] = j;
}

/* Everything taken is handled and committed before the loop returns. */
static void turn_finish(icx_broker *b)
{
    turn_done(b, 1);
    handle_held(b);
    turn_end(b);
    turn_done(b, 1);
}

static void drop_job(icx_job *job)
{
    icx_bjob_free((struct bjob *)job);
}

static int open_all(icx_broker *b, const icx_serve_opts *o, icx_err *err)
{
    int rc = gen_load(&b->gen, o->config_path, err);
    if (rc < 0)
        return rc;
    const icx_config *cfg = b->gen->cfg;
    if (cfg->log_level != NULL && icx_log_level_from_name(cfg->log_level) >= 0)
        icx_log_set_level(icx_log_level_from_name(cfg->log_level));
    rc = icx_signer_load(&b->signer, cfg->private_key, err);
    if (rc == ICX_OK)
        rc = icx_cpkey_load(&b->cpkey, cfg->private_key, err);
    if (rc < 0)
        return rc;
    char fp[65];
    if (icx_keys_cert_fingerprint(fp, cfg->certificate, err) < 0)
        return err->rc;
    icx_log_info("key.loaded", "id=%s alg=%s certificate_sha256=%s", cfg->id,
                 icx_signer_alg(b->signer), fp);
    if (cfg->curve_secret_file != NULL) {
        rc = icx_keys_load_curve(b->curve_pub, b->curve_sec,
                                 cfg->curve_secret_file, err);
        if (rc < 0)
            return rc;
    }
    rc = icx_schemas_load(&b->schemas, cfg->schemas_dir ? cfg->schemas_dir
                                                        : icx_schemas_default_dir(),
                          err);
    if (rc < 0)
        return rc;
    rc = icx_store_open(&b->store, cfg->store_path, err);
    if (rc == ICX_OK)
        rc = icx_store_manual_checkpoints(b->store, err);
    if (rc == ICX_OK)
        rc = icx_turn_new(&b->turn, b->store, turn_send, b, err);
    if (rc < 0)
        return rc;
    {
        icx_checkpoint last;
        if (icx_store_checkpoint_last(b->store, &last, err) == ICX_OK)
            b->cp_size = last.size;
        b->cp_time = icx_broker_now();
    }
    icx_broker_audit(b, "daemon.start", NULL, NULL, "id=%s pid=%ld "
                     "certificate_sha256=%s partners=%zu", cfg->id,
                     (long)getpid(), fp, cfg->npartners);
    icx_broker_audit(b, "key.loaded", NULL, NULL, "certificate_sha256=%s "
                     "alg=%s", fp, icx_signer_alg(b->signer));
    icx_broker_audit(b, "config.loaded", NULL, NULL, "path=%s partners=%zu",
                     o->config_path, cfg->npartners);
    turn_end(b);
    b->zctx = zmq_ctx_new();
    if (b->zctx == NULL)
        return icx_err_set(err, ICX_ENOMEM, "cannot create ZeroMQ context");
    rc = icx_pool_start(&b->pool, b->zctx, (int)cfg->workers, NULL, err);
    if (rc < 0)
        return rc;
    rc = icx_turn_start_committer(b->turn, b->zctx, err);
    if (rc < 0)
        return rc;
    rc = adapter_open(b, err);
    if (rc < 0)
        return rc;
    const char *ep = bound_endpoint(b);
    if (ep != NULL) {
        icx_log_info("listening", "endpoint=%s", ep);
        if (o->endpoint_file != NULL) {
            char line[256];
            int n = snprintf(line, sizeof line, "%s\n", ep);
            rc = icx_file_write_atomic(o->endpoint_file, line, (size_t)n, 0644,
                                       err);
            if (rc < 0)
                return rc;
        }
    }
    rc = icx_ctl_listen(&b->ctl_fd, cfg->control_socket, err);
    if (rc < 0)
        return rc;
    return ICX_OK;
}

static void close_all(icx_broker *b)
{
    /* The store back from the committer and every result taken stored,
     * while the adapters can still send what that commit answers. */
    if (b->turn != NULL)
        turn_finish(b);
    if (b->pool != NULL)
        icx_pool_stop(&b->pool, drop_job);
    icx_broker_ctl_abort_all(b);
    adapters_close(b);
    if (b->store != NULL && b->turn != NULL) {
        icx_broker_audit(b, "daemon.stop", NULL, NULL, "pid=%ld",
                         (long)getpid());
        turn_finish(b);
        maybe_checkpoint(b, 1);
    }
    if (b->ctl_fd >= 0) {
        close(b->ctl_fd);
        if (b->gen != NULL)
            unlink(b->gen->cfg->control_socket);
    }
    if (b->sig_fd >= 0)
        close(b->sig_fd);
    icx_turn_free(&b->turn);
    for (size_t i = 0; i < b->nheld; i++)
        icx_bjob_free(b->held[i]);
    free(b->held);
    free(b->peers);
    icx_store_free(&b->store);
    icx_schemas_free(&b->schemas);
    icx_signer_free(&b->signer);
    icx_cpkey_free(&b->cpkey);
    if (b->zctx != NULL)
        zmq_ctx_term(b->zctx);
    icx_gen_unref(&b->gen);
    explicit_bzero(b->curve_sec, sizeof b->curve_sec);
}

int icx_broker_serve(const icx_serve_opts *o, icx_err *err)
{
    icx_broker b;
    memset(&b, 0, sizeof b);
    b.ctl_fd = -1;
    b.config_path = o->config_path;
    b.find_adapter = o->find_adapter;
    b.hooks = o->hooks;
    b.nhooks = o->nhooks;
    b.ticks = o->ticks;
    b.nticks = o->nticks;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    b.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    int rc = b.sig_fd < 0 ? icx_err_set(err, ICX_EIO, "signalfd: %s",
                                        strerror(errno))
                          : open_all(&b, o, err);
    if (rc < 0) {
        close_all(&b);
        return rc;
    }
    icx_log_info("daemon.ready", "id=%s partners=%zu workers=%ld",
                 b.gen->cfg->id, b.gen->cfg->npartners, b.gen->cfg->workers);

    int64_t stop_deadline = 0;
    int reload_wanted = 0;
    while (!b.stopping || (icx_pool_inflight(b.pool) > 0 &&
                           icx_broker_now() < stop_deadline)) {
        /* While the committer holds the store, poll only what needs no
         * store: the signal fd and the committer's answer; results are
         * not waited for one by one but taken (and held) every
         * millisecond, so the workers, with several jobs in hand, never
         * run dry and the loop does not wake for each. */
        int busy = icx_turn_busy(b.turn);
        zmq_pollitem_t items[MAX_POLL];
        size_t n = 0, na = 0;
        items[n++] = (zmq_pollitem_t){icx_pool_socket(b.pool), 0,
                                      busy ? 0 : ZMQ_POLLIN, 0};
        items[n++] = (zmq_pollitem_t){NULL, b.sig_fd, ZMQ_POLLIN, 0};
        if (busy)
            items[n++] = (zmq_pollitem_t){icx_turn_socket(b.turn), 0,
                                          ZMQ_POLLIN, 0};
        else
            items[n++] = (zmq_pollitem_t){NULL, b.ctl_fd, ZMQ_POLLIN, 0};
        for (int k = 0; !busy && k < b.nslots; k++) {
            struct adapter_slot *sl = &b.slots[k];
            na = 0;
            sl->ops->pollitems(sl->state, items + n, MAX_POLL - n, &na);
            sl->first_item = n;
            sl->nitems = na;
            n += na;
        }
        int64_t now = icx_broker_now();
        int open = icx_turn_open(b.turn);
        long timeout = 200;
        long linger = icx_turn_wait_ms(b.turn, icx_turn_now_ms());
        if (linger >= 0 && linger < timeout)
            timeout = linger;
        if (!busy && !open && (b.next_scan <= now || reload_wanted))
            timeout = 0;
        if (busy)
            timeout = BUSY_PUMP_MS;
        /* With WAL pages to fold back, wait for a quiet moment only. */
        if (!busy && !open && timeout > ICX_TURN_IDLE_MS &&
            icx_turn_wal_pages(b.turn) >= ICX_TURN_WAL_MIN)
            timeout = ICX_TURN_IDLE_MS;
        int ready = zmq_poll(items, (int)n, timeout);
        if (ready < 0 && zmq_errno() != EINTR) {
            icx_log_error("poll", "error=\"%s\"", zmq_strerror(zmq_errno()));
            break;
        }
        /* Quiet moment, or a WAL past its bound: fold it back. */
        if (!busy)
            icx_turn_fold(b.turn, ready == 0 && timeout >= ICX_TURN_IDLE_MS);
        if (items[1].revents & ZMQ_POLLIN) {
            struct signalfd_siginfo si;
            while (read(b.sig_fd, &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGHUP && !b.stopping) {
                    reload_wanted = 1;
                } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                    if (!b.stopping)
                        icx_log_info("daemon.stopping", "signal=%u inflight=%d",
                                     si.ssi_signo, icx_pool_inflight(b.pool));
                    b.stopping = 1;
                    stop_deadline = icx_broker_now() + 10;
                }
            }
        }
        /* The committer's answer: the store is back. */
        if (busy && (items[2].revents & ZMQ_POLLIN))
            turn_done(&b, 0);
        int store_ours = !icx_turn_busy(b.turn);
        now = icx_broker_now();
        /* The due scan sends rows, so it runs only between transactions
         * (everything it finds is committed): first thing after a commit,
         * before what was held opens the next one. */
        if (store_ours && !b.stopping && now >= b.next_scan &&
            !icx_turn_open(b.turn)) {
            icx_broker_scan(&b, now);
            b.next_scan = now + 1;
        }
        if (store_ours)
            handle_held(&b);
        int reloaded = 0;
        if (store_ours && reload_wanted && !b.stopping) {
            reload(&b);
            reloaded = 1;
        }
        if (store_ours || b.stopping)
            reload_wanted = 0;
        /* Periodic tasks, about once a second. */
        if (store_ours && !b.stopping && now >= b.next_tick && b.nticks > 0) {
            run_ticks(&b, now);
            b.next_tick = now + 1;
        }
        icx_err aerr;
        /* Adapters only when polled; after a reload the polled items
         * belong to the closed transport. */
        for (int k = 0; !busy && !reloaded && k < b.nslots; k++) {
            struct adapter_slot *sl = &b.slots[k];
            if (sl->ops->on_ready(sl->state, items + sl->first_item,
                                  sl->nitems, &aerr) < 0)
                icx_log_warn("transport", "adapter=%s error=\"%s\"",
                             sl->ops->name, aerr.msg);
        }
        for (int k = 0; k < 256; k++) {
            icx_job *job = icx_pool_take(b.pool);
            if (job == NULL)
                break;
            if (icx_turn_busy(b.turn))
                hold_job(&b, (struct bjob *)job);
            else
                handle_job(&b, (struct bjob *)job);
        }
        if (!busy && (items[2].revents & ZMQ_POLLIN)) {
            int fd = accept4(b.ctl_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                icx_broker_control(&b, fd);
        }
        /* Commit now, or let results still in flight share the commit. */
        int expecting = !b.stopping && icx_pool_inflight(b.pool) > 0;
        if (!icx_turn_busy(b.turn) &&
            (reloaded || icx_turn_due(b.turn, expecting, icx_turn_now_ms())))
            turn_end(&b);
    }
    icx_log_info("daemon.stopped", "id=%s", b.gen->cfg->id);
    close_all(&b);
    return ICX_OK;
}
