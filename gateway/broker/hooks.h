/*
 * hooks.h - what the daemon does with an accepted envelope beyond storing
 * it: modules (lists, surveys) register a handler per category.
 *
 * A handler runs on the broker's loop thread right after an envelope
 * addressed to this gateway was accepted (never for a duplicate, a relayed
 * or a rejected one), with its verified bytes and header.  It may return
 * messages to send (payload documents plus the header fields the module
 * decides); the broker checks egress policy, signs them on the worker
 * pool and queues them like any submission, each with its own audit
 * records.  A handler keeps its own state (its own files); if the daemon
 * stops between the acceptance and the queueing of the answers, the
 * answers are lost and the partner asks again (list pulls and survey
 * rounds are idempotent by design), so a handler must not rely on being
 * called exactly once.
 *
 * Ownership: out messages and their payloads are malloc'ed by the handler
 * and freed by the broker.  A handler must be quick: it blocks the loop.
 */
#ifndef ICX_HOOKS_H
#define ICX_HOOKS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "envelope.h"
#include "err.h"
#include "xmlsig.h"

typedef struct icx_outmsg {
    icx_header h;       /* recipient, category, handling, legal basis,
                         * retain-until, ref/conversation; sender, message id
                         * and created are filled by the broker */
    char *payload;      /* the payload document (malloc'ed) */
    size_t len;
} icx_outmsg;

typedef struct icx_hook_env {
    const icx_config *cfg;
    /* Appends a record to the gateway's audit log in the same transaction
     * as the acceptance that triggered the hook (ids, digests, partner
     * ids and reasons only). */
    void (*audit)(void *actx, const char *event, const char *message_id,
                  const char *partner, const char *detail);
    /* The bytes of an envelope this gateway sent (message id and hop, or
     * NULL for the first hop); ICX_ENOTFOUND when there is none.  Read
     * through the daemon's own store connection: a hook must not open the
     * store itself (it would wait for the lock the daemon holds). */
    int (*sent_envelope)(void *actx, const char *message_id, const char *hop,
                         icx_buf *out, icx_err *err);
    void *actx;
} icx_hook_env;

typedef int (*icx_hook_fn)(void *ctx, const icx_hook_env *env,
                           const icx_header *h, const char *envelope,
                           size_t len, icx_outmsg **out, size_t *nout,
                           icx_err *err);

typedef struct icx_hook {
    const char *category;   /* e.g. "list-sync-request" */
    icx_hook_fn fn;
    void *ctx;
} icx_hook;

/* A periodic task inside icx serve (scheduled list pulls): called about
 * once a second on the loop thread; what it returns is queued like a
 * submission.  The same rules as for hooks: quick, own state. */
typedef int (*icx_tick_fn)(void *ctx, const icx_hook_env *env, time_t now,
                           icx_outmsg **out, size_t *nout, icx_err *err);

typedef struct icx_tick {
    const char *name;       /* e.g. "lists.schedule" (logs, audit origin) */
    icx_tick_fn fn;
    void *ctx;
} icx_tick;

/* A side service inside icx serve (the web dashboard): started once the
 * store has passed its start-up check and before the loop serves, stopped
 * when the loop has ended.  It never touches the daemon's store
 * connection nor its sockets: it opens what it reads itself (a read-only
 * store connection) and learns what only the loop knows (who is
 * connected, commit latencies) from observe, called about once a second
 * on the loop thread with a snapshot borrowed for the call.  observe must
 * only copy (under a lock the service owns, held for the copy alone): it
 * blocks the loop.  start's failure stops the daemon before it serves. */
#define ICX_COMMIT_BUCKETS 12 /* upper bounds: icx_commit_bounds_ms, +Inf */
extern const double icx_commit_bounds_ms[ICX_COMMIT_BUCKETS - 1];

typedef struct icx_peer_live {
    char id[32];
    char adapter[32];
    int route;              /* enum icx_route */
    int connected;
    int64_t last_contact;   /* unix seconds, 0: not since the start */
    long retry_initial_s, retry_max_s, max_age_s;
    /* envelopes from it rejected since the start, by enum icx_reason */
    uint64_t rejected[ICX_REASON__COUNT];
} icx_peer_live;

typedef struct icx_live {
    char id[32];            /* this gateway */
    int64_t now;            /* unix seconds when taken */
    int64_t started_at;
    const icx_peer_live *peers; /* one per configured partner */
    size_t npeers;
    /* store commits of this daemon: counts per bucket (not cumulative),
     * their number and total duration in seconds */
    uint64_t commit_buckets[ICX_COMMIT_BUCKETS];
    uint64_t commits;
    double commit_seconds;
    long checkpoint_seconds;
} icx_live;

/* What the daemon lends a side service that answers partners (the lists
 * over HTTPS), handed to bind before start and valid until stop returns:
 *   signer, schemas: the daemon's own (thread-safe): the key stays in
 *     the signer process (docs/SECURITY.md), a service signs through it;
 *   config_hold: the configuration now (after any reload), kept alive
 *     until config_release(&hold), whatever reloads meanwhile; any
 *     thread.  A service that decides who a partner is asks it per
 *     request, so that a partner removed by a reload is removed here too. */
typedef struct icx_service_env {
    icx_signer *signer;
    const icx_schemas *schemas;
    const icx_config *(*config_hold)(void *bctx, void **hold);
    void (*config_release)(void **hold);
    void *bctx;
} icx_service_env;

typedef struct icx_service {
    const char *name;       /* e.g. "web" (logs) */
    /* May be NULL; called on the daemon's thread before start. */
    void (*bind)(void *ctx, const icx_service_env *env);
    int (*start)(void *ctx, const icx_config *cfg, icx_err *err);
    void (*observe)(void *ctx, const icx_live *live);
    void (*stop)(void *ctx);
    void *ctx;
} icx_service;

/* Frees n messages and the array. */
void icx_outmsg_free(icx_outmsg *msgs, size_t n);

#endif
