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
 *
 * ABI: ICX_ADAPTER_ABI names the layout of icx_adapter_ops and
 * icx_adapter_env as they are below (try_resume included: ABI 1 is the
 * layout external modules are first loaded with).  Members are only added
 * at the end, and any later change, even an added member, raises the
 * number: the core reads a module's table whole and cannot tell how long
 * the header it was built with made it.  Optional members are NULL when
 * not provided.  adapters/README.md documents the interface with a worked
 * example.
 */
#ifndef ICX_ADAPTER_H
#define ICX_ADAPTER_H

#include <stddef.h>

#include <zmq.h>

#include "config.h"
#include "err.h"

#define ICX_ADAPTER_ABI 1

/* Marks the one symbol an external adapter module exports,
 * `ICX_ADAPTER_EXPORT const icx_adapter_ops icx_adapter_<name>_ops`, so a
 * module may build everything else with hidden visibility. */
#define ICX_ADAPTER_EXPORT __attribute__((visibility("default")))

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
enum icx_peer_event { ICX_PEER_UP = 1, ICX_PEER_DOWN = 2, ICX_PEER_REFUSED = 3,
                      /* a frame from partner dropped: over its limit of
                       * concurrent connections */
                      ICX_PEER_LIMITED = 4,
                      /* a frame from partner dropped by the transport:
                       * bad header, empty or oversized body */
                      ICX_PEER_DROPPED = 5 };

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
    /* Optional (NULL: nothing to do).  The core calls it when a retry falls
     * due for a partner whose last send() said RETRY or NOT_CONNECTED, just
     * before sending again: the adapter re-checks what it can (a folder
     * that was missing, a connection it gave up on) instead of waiting for
     * its own timers.  Returns 1 when the partner looks reachable now, 0
     * when not; it never blocks and never sends.  A hint only: an adapter
     * must work the same when it is never called (send() re-checks). */
    int (*try_resume)(void *state, const char *partner);
} icx_adapter_ops;

/* Looks an adapter up by name: the built-in ones first, else the shared
 * object <dir>/icx_adapter_<name>.so and its symbol icx_adapter_<name>_ops
 * (dir NULL: built-in only).  NULL with err set when there is none, or when
 * the module is refused (missing symbol, other ABI, other name).  The
 * program passes the registry of adapters/registry.c to the core, which
 * does not link adapters itself. */
typedef const icx_adapter_ops *(*icx_adapter_find_fn)(const char *name,
                                                      const char *dir,
                                                      icx_err *err);

/* The built-in adapters (adapters/registry.c); NULL when name is unknown. */
const icx_adapter_ops *icx_adapter_find(const char *name);

/* The registry the daemon uses (an icx_adapter_find_fn); see above.  A
 * loaded module stays loaded until the process exits. */
const icx_adapter_ops *icx_adapter_lookup(const char *name, const char *dir,
                                          icx_err *err);

/* Whether name can name an adapter module: 1..32 of a-z 0-9 _. */
int icx_adapter_name_valid(const char *name);

#endif
