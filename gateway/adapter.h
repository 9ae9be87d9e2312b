/*
 * adapter.h - the transport adapter interface (ABI 1).
 *
 * An adapter moves bytes between this gateway and partners and reports the
 * transport identity of the peer each inbound frame came from.  It never
 * holds signing keys, never decides trust and never skips verification:
 * the core verifies every inbound envelope whatever the adapter.
 *
 * An adapter is one const icx_adapter_ops table.  The core owns the event
 * loop: it asks the adapter for the sockets/fds to poll (pollitems), calls
 * on_ready when any of them is readable, and the adapter hands each inbound
 * frame to the core through env->deliver.  send() reports, the core
 * decides: OK, RETRY (try again later), NOT_CONNECTED (no connection to
 * that partner now), REJECTED (the transport refused this message, e.g.
 * too large: never retry) or ERROR.  Backoff, suspension and resume belong
 * to the core.
 *
 * Ownership: the adapter owns its state; env and the config it points at
 * are borrowed and outlive the adapter (a reload closes and reopens it).
 * Threads: every op is called from the core's loop thread only.
 */
#ifndef ICX_ADAPTER_H
#define ICX_ADAPTER_H

#include <stddef.h>

#include <zmq.h>

#include "config.h"
#include "err.h"

#define ICX_ADAPTER_ABI 1

enum icx_send_result {
    ICX_SEND_OK = 0,
    ICX_SEND_RETRY = 1,
    ICX_SEND_NOT_CONNECTED = 2,
    ICX_SEND_REJECTED = 3,
    ICX_SEND_ERROR = 4,
};

/* What a frame carries. */
enum icx_frame_kind {
    ICX_FRAME_HELLO = 1,    /* "I am connected" (no body for the core) */
    ICX_FRAME_ENVELOPE = 2, /* a signed envelope that wants a receipt */
    ICX_FRAME_RECEIPT = 3,  /* a signed receipt envelope */
};

/* Events an adapter reports besides frames. */
enum icx_peer_event { ICX_PEER_UP = 1, ICX_PEER_DOWN = 2, ICX_PEER_REFUSED = 3 };

typedef struct icx_adapter_env {
    const icx_config *cfg;   /* this gateway and its partners */
    const char *curve_public; /* this gateway's CURVE key pair (Z85) */
    const char *curve_secret;
    void *zmq_ctx;           /* the core's ZeroMQ context */
    void *core;              /* passed back to the callbacks */
    /* One inbound frame from partner `peer` (the transport identity). */
    void (*deliver)(void *core, const char *peer, int kind, const char *data,
                    size_t len);
    /* Peer connection events; for REFUSED, peer is a description of the
     * refused key or address, not a partner id. */
    void (*peer_event)(void *core, const char *peer, int event);
} icx_adapter_env;

typedef struct icx_adapter_ops {
    int abi;                 /* ICX_ADAPTER_ABI */
    const char *name;        /* matches a partner's `adapter:` key */
    int (*open)(void **state, const icx_adapter_env *env, icx_err *err);
    /* Fills items (at most max) with what to poll; *n gets the count. */
    int (*pollitems)(void *state, zmq_pollitem_t *items, size_t max,
                     size_t *n);
    /* Called after zmq_poll with the same items (revents set) and on every
     * loop turn (timers such as heartbeats). */
    int (*on_ready)(void *state, const zmq_pollitem_t *items, size_t n,
                    icx_err *err);
    /* Sends one frame to partner; never blocks. */
    int (*send)(void *state, const char *partner, int kind, const char *data,
                size_t len, icx_err *err);
    /* Whether a connection to partner is up now. */
    int (*connected)(void *state, const char *partner);
    void (*close)(void **state);
    /* Optional: the address actually listened on (for logs and tests). */
    const char *(*endpoint)(void *state);
} icx_adapter_ops;

/* Looks an adapter up by name; the program passes the registry of
 * adapters/registry.c to the core, which does not link adapters itself. */
typedef const icx_adapter_ops *(*icx_adapter_find_fn)(const char *name);

/* The built-in adapters (adapters/registry.c); NULL when name is unknown. */
const icx_adapter_ops *icx_adapter_find(const char *name);

#endif
