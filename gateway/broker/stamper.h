/*
 * stamper.h - the thread that asks the Time-Stamping Authority for the
 * token of one checkpoint at a time (RFC 3161, tsa.h), so that neither
 * the loop nor a store transaction ever waits for the network.
 *
 * The loop hands over a copy of a committed checkpoint's text and the
 * TSA settings of its configuration generation; the thread builds the
 * request, POSTs it, checks the reply against the CA file and leaves one
 * result, which the loop takes (icx_stamper_take, never blocking) and
 * stores in its own transaction.  One request in flight at most.
 *
 * Ownership: the stamper owns its copies; a taken result's token buffer
 * is the caller's (icx_buf_free).  Threads: start, submit, take, stop
 * from the loop thread only.  Failure: submit returns ICX_EAGAIN while a
 * request is in flight; results carry the request's own code (ICX_EAGAIN:
 * the TSA could not be reached; ICX_EBADSIG: its reply was refused).
 */
#ifndef ICX_STAMPER_H
#define ICX_STAMPER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "tsa.h"

typedef struct icx_stamper icx_stamper;

typedef struct icx_stamp_result {
    uint64_t size;          /* the checkpoint's */
    int rc;
    icx_err err;
    icx_tsa_stamp info;     /* when rc is ICX_OK */
    icx_buf token;          /* DER TimeStampToken, when rc is ICX_OK */
    int64_t took_ms;
} icx_stamp_result;

/* The TSA settings of one request (copied by submit). */
typedef struct icx_stamp_tsa {
    const char *url;
    const char *ca_file;
    const char *policy;     /* may be NULL */
    long timeout_s;
} icx_stamp_tsa;

int icx_stamper_start(icx_stamper **out, icx_err *err);
/* Stamps text[0..len), the text of checkpoint size. */
int icx_stamper_submit(icx_stamper *st, uint64_t size, const char *text,
                       size_t len, const icx_stamp_tsa *tsa, icx_err *err);
/* 1 and *res filled when a result waits, else 0. */
int icx_stamper_take(icx_stamper *st, icx_stamp_result *res);
/* A request submitted and its result not yet taken. */
int icx_stamper_busy(icx_stamper *st);
/* Cancels a request in flight (within a second), joins the thread and
 * frees everything; NULL-safe, clears *stp. */
void icx_stamper_stop(icx_stamper **stp);

#endif
