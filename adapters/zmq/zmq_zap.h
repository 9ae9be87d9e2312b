/*
 * zmq_zap.h - the ZAP handler (RFC 27) of the zmq adapter: which CURVE keys
 * may connect, and under which partner id.
 *
 * The handler is a REP socket bound to inproc://zeromq.zap.01 in the
 * adapter's context; libzmq asks it about every CURVE client of a socket
 * with a ZAP domain.  The adapter polls the socket and calls
 * icx_zmq_zap_answer() when it is readable.  Threads: the loop thread.
 */
#ifndef ICX_ZMQ_ZAP_H
#define ICX_ZMQ_ZAP_H

#include "keys.h"

#define ICX_ZMQ_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ICX_ZMQ_ZAP_DOMAIN "icx"
#define ICX_ZMQ_KEY_RAW 32

/* The partner id owning a raw CURVE public key, or NULL. */
typedef const char *(*icx_zmq_zap_lookup)(void *arg,
                                          const unsigned char *key);

/* Reads one request from rep and answers it: 200 with user id = the
 * partner id for a known key, 400 otherwise.  Returns 1 when a CURVE key
 * was refused (its Z85 form in refused), else 0.  Never blocks. */
int icx_zmq_zap_answer(char refused[ICX_Z85_KEY_LEN + 1], void *rep,
                       icx_zmq_zap_lookup lookup, void *arg);

#endif
