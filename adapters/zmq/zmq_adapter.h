/*
 * zmq_adapter.h - the built-in "zmq" transport: gateway to gateway over TCP
 * with CURVE, framed as in docs/WIRE.md.
 *
 * icx_adapter_zmq is the ops table (adapter.h).  The extra function below
 * is for tests and for logging the address actually bound.
 */
#ifndef ICX_ZMQ_ADAPTER_H
#define ICX_ZMQ_ADAPTER_H

#include "adapter.h"

extern const icx_adapter_ops icx_adapter_zmq;

/* Heartbeat period of a dialing gateway and the silence after which a
 * partner that connects in counts as gone, in milliseconds. */
#define ICX_ZMQ_HEARTBEAT_MS 2000
#define ICX_ZMQ_SILENCE_MS 6000
/* A dialing socket down this long is rebuilt when the core retries. */
#define ICX_ZMQ_REDIAL_MS 10000
/* Bytes allowed on the wire above max_message_bytes (CURVE box and
 * command overhead) before libzmq drops the connection. */
#define ICX_ZMQ_MAXMSG_SLACK 256

/* The endpoint the listening socket is bound to, as libzmq reports it
 * ("tcp://127.0.0.1:40123" when cfg->listen was "tcp://127.0.0.1:*"); NULL
 * when this gateway does not listen.  Valid until close(). */
const char *icx_zmq_adapter_endpoint(void *state);

#endif
