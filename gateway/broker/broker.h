/*
 * broker.h - the gateway daemon (`icx serve`): turns signed envelopes into
 * an exchange between running gateways.
 *
 * One event loop (zmq_poll) owns the transport sockets, the control socket,
 * the signal fd and the timers; signing and verification run on the worker
 * pool; the store is written from the loop only, in transactions that
 * group the work of the loop turns of a few milliseconds (turn.h), and
 * nothing is acknowledged (control replies, receipts) before the
 * transaction holding it commits.
 *
 * Threads: icx_broker_serve() runs on the calling thread until SIGTERM or
 * SIGINT; it blocks those signals and SIGHUP in every thread it starts.
 * Errors: start-up failures return with err set (config, keys, store,
 * sockets); later failures are logged and, where a message is involved,
 * audited.
 */
#ifndef ICX_BROKER_H
#define ICX_BROKER_H

#include "adapter.h"
#include "err.h"
#include "hooks.h"

typedef struct icx_serve_opts {
    const char *config_path;
    icx_adapter_find_fn find_adapter; /* the adapter registry */
    const char *endpoint_file; /* write the bound listen endpoint here */
    const icx_hook *hooks;     /* handlers of accepted envelopes */
    size_t nhooks;
    const icx_tick *ticks;     /* periodic tasks */
    size_t nticks;
    int log_format_given;      /* --log-format was given: it wins over
                                * gateway.yaml's log_format */
    const icx_service *services; /* side services (hooks.h) */
    size_t nservices;
} icx_serve_opts;

int icx_broker_serve(const icx_serve_opts *opts, icx_err *err);

#endif
