/*
 * broker_net.c - the broker's side of the transports: adapter slots (open,
 * reopen after a reload, close), sending through a partner's adapter, and
 * what adapters report - frames, checked against the partner's inbound
 * limits before they cost a verification, and peer events (up, down,
 * refused, dropped), counted and audited at most once a second; a partner
 * that connects has its queue made due at once.
 *
 * Loop thread only: adapters call back from on_ready and send, which the
 * loop calls while the store is its own (broker.c).  Failures to open an
 * adapter return with err set; later ones are logged and audited.  Calls
 * only broker_core.c; the adapters reach it through the env's callbacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker_int.h"
#include "log.h"

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

/* A partner that connects: what waits for it is due now, not at its next
 * retry; the loop's next turn scans it. */
static void wake_hop(icx_broker *b, const char *hop)
{
    icx_err err;
    if (icx_broker_tx(b) < 0)
        return;
    if (icx_store_out_wake(b->store, hop, icx_broker_now(), &err) < 0)
        icx_log_limited(ICX_LOG_WARN, "store.write", "store",
                        "op=wake hop=%s error=\"%s\"", hop, err.msg);
    b->next_scan = 0;
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
        wake_hop(b, peer);
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

int icx_broker_connected(icx_broker *b, const char *partner)
{
    struct adapter_slot *sl = slot_for(b, partner);
    return sl != NULL && sl->ops->connected(sl->state, partner);
}

void icx_broker_adapters_close(icx_broker *b)
{
    for (int i = b->nslots - 1; i >= 0; i--)
        if (b->slots[i].state != NULL)
            b->slots[i].ops->close(&b->slots[i].state);
    b->nslots = 0;
}

/* Opens every adapter a partner uses (and zmq when this gateway listens). */
int icx_broker_adapters_open(icx_broker *b, icx_err *err)
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
            icx_broker_adapters_close(b);
            return err->rc < 0 ? err->rc : ICX_ECONFIG;
        }
        if (sl->ops->abi != ICX_ADAPTER_ABI) {
            icx_broker_adapters_close(b);
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
            icx_broker_adapters_close(b);
            return icx_err_wrap(err, "adapter %s", names[k]);
        }
        b->nslots = k + 1;
    }
    return ICX_OK;
}

const char *icx_broker_endpoint(icx_broker *b)
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
int icx_broker_adapters_reopen(icx_broker *b, icx_err *err)
{
    int rc = ICX_ERROR;
    for (int i = 0; i < 60; i++) {
        rc = icx_broker_adapters_open(b, err);
        if (rc == ICX_OK || strstr(err->msg, "in use") == NULL)
            return rc;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return rc;
}

