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
 * The COMMIT runs on the committer thread; until it answers the store is
 * not the loop's, so the loop only takes results (held, handled after)
 * and keeps the workers fed.  The due scan runs only between
 * transactions, so it sends committed rows only.  Transports, what they
 * report and the inbound limits are in broker_net.c; the services every
 * handler shares (clock, transaction, audit, jobs) in broker_core.c.  This
 * file is the top of the broker: it calls the others, none calls it.
 *
 * Reload (SIGHUP): a new configuration generation is loaded; if it fails
 * the old one stays and the reason is logged and audited.  On success the
 * adapter is reopened with it; jobs still running keep the old generation
 * alive through their reference.
 *
 * Stop (SIGTERM/SIGINT): no new work is accepted; jobs in flight finish
 * and their results are committed; then sockets close.
 *
 * One daemon per store: the first thing after reading the configuration
 * is the lock beside the store (pidlock.h); for a PostgreSQL store, which
 * several nodes share, one daemon per node: the lock beside the control
 * socket.  A second `icx serve` on the same store (node) is refused there,
 * before it opens the store, writes an audit record or touches the
 * control socket, and its stop writes nothing.
 */
#include "broker_int.h"

#include <errno.h>
#include <signal.h>
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
#include "notify.h"
#include "pidlock.h"
#include "signkey.h"
#include "util.h"

#define MAX_POLL 256
#define PATH_MAX_LOCK 4096
#define BUSY_PUMP_MS 1  /* results taken this often during a commit */

static int gen_load(struct icx_gen **out, const char *path, icx_err *err)
{
    icx_buf errs;
    icx_buf_init(&errs, 64 * 1024);
    struct icx_gen *g = calloc(1, sizeof *g);
    int rc = g ? ICX_OK : icx_err_set(err, ICX_ENOMEM, "out of memory");
    if (rc == ICX_OK)
        rc = icx_config_load(&g->cfg, path, &errs, err);
    if (rc < 0 && errs.len > 0) {
        /* Every error of the load, each in full on a log line of its own
         * (an icx_err holds ICX_ERR_MSG_MAX bytes: it gets the count). */
        size_t n = 0;
        for (char *line = errs.data, *nl; *line != '\0'; line = nl + 1, n++) {
            nl = strchr(line, '\n');
            if (nl == NULL)
                nl = line + strlen(line) - 1;
            else
                *nl = '\0';
            for (char *q = line; *q != '\0'; q++)
                if (*q == '"')
                    *q = '\''; /* the value is quoted in the log */
            icx_log_error("config.error", "error=\"%s\"", line);
        }
        icx_err_set(err, rc, "%zu error(s) in the configuration %s, each "
                    "logged above as event=config.error; icx config check "
                    "-c %s lists them too", n, path, path);
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

/* Ends the loop's transaction (turn.c): commits it here, or hands it to
 * the committer; the post-commit actions run when it has committed. */
static void turn_end(icx_broker *b)
{
    int r = icx_turn_end(b->turn);
    if (r == ICX_TURN_COMMITTED || r == ICX_TURN_NOTHING)
        icx_broker_checkpoint(b, 0);
}

/* The committer has finished (or wait: until it has): the store is the
 * loop's again. */
static void turn_done(icx_broker *b, int wait)
{
    if (icx_turn_done(b->turn, wait) == ICX_TURN_COMMITTED)
        icx_broker_checkpoint(b, 0);
}

static int turn_send(void *ctx, const char *partner, int kind,
                     const char *data, size_t len)
{
    icx_err err;
    return icx_broker_send(ctx, partner, kind, data, len, &err);
}

/* One trust.changed record per partner whose accepted certificates
 * differ from before (old NULL: at start, every partner): key rollovers
 * and revocations leave their trace in the audit log (docs/KEYS.md). */
static void audit_trust(icx_broker *b, const struct icx_gen *old,
                        const struct icx_gen *g)
{
    for (size_t i = 0; i < g->cfg->npartners; i++) {
        const char *id = g->cfg->partners[i].id;
        const char *c0 = icx_trust_fingerprint(g->trust, id, 0);
        const char *c1 = icx_trust_fingerprint(g->trust, id, 1);
        if (old != NULL) {
            const char *o0 = icx_trust_fingerprint(old->trust, id, 0);
            const char *o1 = icx_trust_fingerprint(old->trust, id, 1);
            if (o0 != NULL && c0 != NULL && strcmp(o0, c0) == 0 &&
                (o1 == NULL) == (c1 == NULL) &&
                (o1 == NULL || strcmp(o1, c1) == 0))
                continue;
        }
        icx_broker_audit(b, "trust.changed", NULL, id, "cert_sha256=%s%s%s",
                         c0 ? c0 : "none", c1 ? " next_sha256=" : "",
                         c1 ? c1 : "");
    }
}

static void svc_publish(icx_broker *b);

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
    const char *bound = icx_broker_endpoint(b);
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
    icx_broker_adapters_close(b);
    b->gen = g;
    if (icx_broker_adapters_reopen(b, &err) < 0) {
        icx_log_error("config.refused", "reason=\"transport: %s\" kept=previous",
                      err.msg);
        b->gen = old;
        icx_gen_unref(&g);
        if (icx_broker_adapters_reopen(b, &err) < 0)
            icx_log_error("transport.down", "alert=1 error=\"%s\"", err.msg);
        return;
    }
    audit_trust(b, old, b->gen);
    icx_gen_unref(&old);
    svc_publish(b);
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
        char key[40];
        icx_err_clear(&err);
        /* A task that fails fails again every second (its store full). */
        snprintf(key, sizeof key, "tick.%s", b->ticks[i].name);
        if (b->ticks[i].fn(b->ticks[i].ctx, &env, (time_t)now, &out, &nout,
                           &err) < 0) {
            icx_log_limited(ICX_LOG_WARN, key, "tick.failed",
                            "task=%s error=\"%s\"", b->ticks[i].name,
                            err.msg);
            icx_outmsg_free(out, nout);
            continue;
        }
        icx_log_limited_end(key);
        if (nout > 0)
            icx_broker_enqueue(b, out, nout, b->ticks[i].name);
    }
}

static void handle_job(icx_broker *b, struct bjob *j)
{
    if (j->sign_retries > 0) {
        /* The signer process died under this job's signature and the
         * worker signed again once it was back (broker_jobs.c). */
        /* A VERIFY job signs the receipt of the envelope it checked. */
        const char *msgid = j->type == BJOB_RECEIPT ? j->r.ref_message_id
                                                    : j->h.message_id;
        if (!icx_uuid_valid(msgid))
            msgid = NULL; /* a hostile envelope's text is not an id */
        icx_log_warn("signer.retry", "message_id=%s job=%s retries=%d "
                     "signer_pid=%ld", msgid ? msgid : "-",
                     j->type == BJOB_SIGN ? "sign" : "receipt",
                     j->sign_retries, icx_signer_remote_pid(b->signer_remote));
        icx_broker_audit(b, "signer.retry", msgid,
                         NULL, "job=%s retries=%d restarts=%u",
                         j->type == BJOB_SIGN ? "sign" : "receipt",
                         j->sign_retries,
                         icx_signer_remote_restarts(b->signer_remote));
    }
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
    /* One daemon per SQLite file.  A PostgreSQL store is shared by as many
     * nodes as run on it (docs/STORE.md), one daemon per node: the lock
     * is beside the node's control socket, which two daemons cannot share
     * (the second would take the socket over from the first). */
    const char *locked = icx_store_is_url(cfg->store_path)
                             ? cfg->control_socket
                             : cfg->store_path;
    char lock[PATH_MAX_LOCK];
    if (snprintf(lock, sizeof lock, "%s.lock", locked) >= (int)sizeof lock)
        return icx_err_set(err, ICX_ECONFIG, "%s is too long: %s",
                           locked == cfg->store_path ? "store.path"
                                                     : "endpoints.control",
                           locked);
    rc = icx_pidlock_take(&b->lock_fd, lock, err);
    if (rc < 0)
        return rc;
    if (cfg->log_level != NULL && icx_log_level_from_name(cfg->log_level) >= 0)
        icx_log_set_level(icx_log_level_from_name(cfg->log_level));
    if (!o->log_format_given && cfg->log_format != NULL &&
        icx_log_format_from_name(cfg->log_format) >= 0)
        icx_log_set_format(icx_log_format_from_name(cfg->log_format));
    /* The key lives in the signer process (docs/SECURITY.md): one
     * channel per worker, so that every worker can sign at once.  A token
     * key too: the module, its session and the PIN are the signer's. */
#ifdef ICX_SIGNER_INPROCESS
    /* benchmark build only: what the signer process costs */
    rc = icx_signkey_open(&b->signer, cfg, err);
#else
    const char *kargs[ICX_SIGNKEY_ARGS];
    icx_signkey_args(cfg, kargs);
    rc = icx_signer_remote_start(
        &b->signer, &b->signer_remote, "/proc/self/exe", cfg->private_key,
        kargs,
        cfg->workers < ICX_SIGNER_MAX_CHANNELS ? (int)cfg->workers
                                               : ICX_SIGNER_MAX_CHANNELS,
        err);
#endif
    if (rc < 0)
        return rc;
    char fp[65];
    if (icx_keys_cert_fingerprint(fp, cfg->certificate, err) < 0)
        return err->rc;
    icx_log_info("key.loaded", "id=%s alg=%s certificate_sha256=%s "
                 "signer_pid=%ld", cfg->id, icx_signer_alg(b->signer), fp,
                 icx_signer_remote_pid(b->signer_remote));
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
    if (rc == ICX_OK && cfg->store_head != NULL)
        rc = icx_store_set_head(b->store, cfg->store_head, err);
    /* Before anything is served or written (docs/STORE.md). */
    if (rc == ICX_OK)
        rc = icx_store_check(b->store, icx_config_audit_certs(cfg), 0, NULL, err);
    if (rc == ICX_OK) {
        /* A store without checkpoints gets a head file naming the empty
         * log now (icx_store_head_start says why). */
        icx_checkpoint start;
        icx_merkle none;
        unsigned char root[ICX_HASH_LEN];
        memset(&start, 0, sizeof start);
        icx_merkle_init(&none);
        icx_merkle_root(&none, root);
        icx_hex(start.root, root, ICX_HASH_LEN);
        rc = icx_broker_sign_checkpoint(b, &start, err);
        if (rc == ICX_OK)
            rc = icx_store_head_start(b->store, &start, err);
    }
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
        b->cp_time = b->started_at = icx_broker_now();
    }
    icx_broker_audit(b, "daemon.start", NULL, NULL, "id=%s pid=%ld "
                     "certificate_sha256=%s partners=%zu", cfg->id,
                     (long)getpid(), fp, cfg->npartners);
    icx_broker_audit(b, "key.loaded", NULL, NULL, "certificate_sha256=%s "
                     "alg=%s key=%s", fp, icx_signer_alg(b->signer),
                     icx_signkey_in_token(cfg) ? "pkcs11" : "file");
    audit_trust(b, NULL, b->gen);
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
    rc = icx_broker_adapters_open(b, err);
    if (rc < 0)
        return rc;
    const char *ep = icx_broker_endpoint(b);
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
    /* A request in flight is cancelled; its checkpoint stays queued. */
    icx_stamper_stop(&b->stamper);
    icx_broker_ctl_abort_all(b);
    icx_broker_adapters_close(b);
    if (b->store != NULL && b->turn != NULL) {
        icx_broker_audit(b, "daemon.stop", NULL, NULL, "pid=%ld",
                         (long)getpid());
        turn_finish(b);
        icx_broker_checkpoint(b, 1);
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
    icx_signer_free(&b->signer); /* and the signer process with it */
    if (b->zctx != NULL)
        zmq_ctx_term(b->zctx);
    icx_gen_unref(&b->gen);
    explicit_bzero(b->curve_sec, sizeof b->curve_sec);
    icx_pidlock_release(&b->lock_fd); /* last: everything else is closed */
}

/* Side services (hooks.h): started after the store check, told what
 * only the loop knows once a second, stopped after the loop. */
static void services_observe(icx_broker *b, int64_t now);

/* config_hold and config_release of icx_service_env: a reference to the
 * generation the loop last published (any thread). */
static const icx_config *svc_config_hold(void *bctx, void **hold)
{
    icx_broker *b = bctx;
    pthread_mutex_lock(&b->svc_mu);
    struct icx_gen *g = icx_gen_ref(b->svc_gen);
    pthread_mutex_unlock(&b->svc_mu);
    *hold = g;
    return g->cfg;
}

static void svc_config_release(void **hold)
{
    struct icx_gen *g = *hold;
    *hold = NULL;
    icx_gen_unref(&g);
}

/* The loop publishes its generation to the services (start, reload). */
static void svc_publish(icx_broker *b)
{
    pthread_mutex_lock(&b->svc_mu);
    struct icx_gen *old = b->svc_gen;
    b->svc_gen = icx_gen_ref(b->gen);
    pthread_mutex_unlock(&b->svc_mu);
    icx_gen_unref(&old);
}

static int services_start(icx_broker *b, icx_err *err)
{
    svc_publish(b);
    b->svc_env = (icx_service_env){.signer = b->signer,
                                   .schemas = b->schemas,
                                   .config_hold = svc_config_hold,
                                   .config_release = svc_config_release,
                                   .bctx = b};
    for (; b->services_started < b->nservices; b->services_started++) {
        const icx_service *sv = &b->services[b->services_started];
        if (sv->bind != NULL)
            sv->bind(sv->ctx, &b->svc_env);
        int rc = sv->start(sv->ctx, b->gen->cfg, err);
        if (rc < 0)
            return rc;
        icx_log_info("service.started", "service=%s", sv->name);
    }
    services_observe(b, icx_broker_now());
    return ICX_OK;
}

static void services_observe(icx_broker *b, int64_t now)
{
    const icx_config *cfg = b->gen->cfg;
    icx_peer_live peers[ICX_CONFIG_MAX_PARTNERS];
    icx_live live;
    memset(&live, 0, sizeof live);
    size_t n = 0;
    for (size_t i = 0; i < cfg->npartners && n < ICX_CONFIG_MAX_PARTNERS; i++) {
        const icx_partner *p = &cfg->partners[i];
        icx_peer_live *pl = &peers[n++];
        memset(pl, 0, sizeof *pl);
        snprintf(pl->id, sizeof pl->id, "%s", p->id);
        snprintf(pl->adapter, sizeof pl->adapter, "%s", p->adapter);
        pl->route = p->route;
        pl->connected = icx_broker_connected(b, p->id);
        struct peer_state *ps = icx_broker_peer(b, p->id);
        pl->last_contact = ps ? ps->last_contact : 0;
        if (ps != NULL)
            memcpy(pl->rejected, ps->rejected, sizeof pl->rejected);
        pl->retry_initial_s = p->retry_initial_s;
        pl->retry_max_s = p->retry_max_s;
        pl->max_age_s = p->max_age_s;
    }
    snprintf(live.id, sizeof live.id, "%s", cfg->id);
    live.now = now;
    live.started_at = b->started_at;
    live.peers = peers;
    live.npeers = n;
    live.checkpoint_seconds = cfg->checkpoint_seconds;
    const icx_turn_latency *lat = icx_turn_latencies(b->turn);
    memcpy(live.commit_buckets, lat->buckets, sizeof live.commit_buckets);
    live.commits = lat->count;
    live.commit_seconds = lat->seconds;
    for (size_t i = 0; i < b->services_started; i++)
        if (b->services[i].observe != NULL)
            b->services[i].observe(b->services[i].ctx, &live);
}

static void services_stop(icx_broker *b)
{
    while (b->services_started > 0) {
        const icx_service *sv = &b->services[--b->services_started];
        if (sv->stop != NULL)
            sv->stop(sv->ctx);
    }
}

/* After services_stop: no service holds the lent generation any more. */
static void svc_release(icx_broker *b)
{
    icx_gen_unref(&b->svc_gen);
    pthread_mutex_destroy(&b->svc_mu);
}

int icx_broker_serve(const icx_serve_opts *o, icx_err *err)
{
    icx_broker b;
    memset(&b, 0, sizeof b);
    b.ctl_fd = -1;
    b.lock_fd = -1;
    b.config_path = o->config_path;
    b.find_adapter = o->find_adapter;
    b.hooks = o->hooks;
    b.nhooks = o->nhooks;
    b.ticks = o->ticks;
    b.nticks = o->nticks;
    b.services = o->services;
    b.nservices = o->nservices;
    pthread_mutex_init(&b.svc_mu, NULL);
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
    if (rc == ICX_OK)
        rc = services_start(&b, err);
    if (rc < 0) {
        services_stop(&b);
        svc_release(&b);
        close_all(&b);
        return rc;
    }
    icx_log_info("daemon.ready", "id=%s partners=%zu workers=%ld",
                 b.gen->cfg->id, b.gen->cfg->npartners, b.gen->cfg->workers);
    icx_notify("READY=1");

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
                    icx_notify("STOPPING=1");
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
        /* Between two commits of a loop that is never quiet: the only
         * moment a WAL past its bound can be folded back. */
        if (busy && store_ours)
            icx_turn_fold(b.turn, 0);
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
            icx_notify("RELOADING=1");
            reload(&b);
            icx_notify("READY=1");
            reloaded = 1;
        }
        if (store_ours || b.stopping)
            reload_wanted = 0;
        /* A signer that died while idle is back before it is needed. */
        if (!b.stopping && now >= b.next_signer_check) {
            icx_err serr;
            icx_err_clear(&serr);
            if (icx_signer_remote_check(b.signer_remote, &serr) < 0)
                icx_log_limited(ICX_LOG_ERROR, "signer.restart",
                                "signer.restart", "error=\"%s\"", serr.msg);
            else
                icx_log_limited_end("signer.restart");
            b.next_signer_check = now + 1;
        }
        if (b.services_started > 0 && now >= b.next_observe) {
            services_observe(&b, now);
            b.next_observe = now + 1;
        }
        /* Periodic tasks, about once a second. */
        if (store_ours && !b.stopping && now >= b.next_tick && b.nticks > 0) {
            run_ticks(&b, now);
            b.next_tick = now + 1;
        }
        if (store_ours && !b.stopping)
            icx_broker_stamp_step(&b, now);
        if (store_ours && !b.stopping && !icx_turn_open(b.turn))
            icx_broker_witness_tick(&b, now);
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
    services_stop(&b);
    svc_release(&b);
    icx_log_info("daemon.stopped", "id=%s", b.gen->cfg->id);
    close_all(&b);
    return ICX_OK;
}
