/*
 * tsa.h - RFC 3161 time-stamps: the request for the SHA-256 of some bytes,
 * the check of the Time-Stamping Authority's reply, the offline check of
 * a stored token, and the HTTP POST that carries them (RFC 3161 section
 * 3.4: Content-Type application/timestamp-query).
 *
 * What a reply must be to be accepted (icx_tsa_reply_check): a
 * TimeStampResp with status granted (or grantedWithMods), no trailing
 * bytes, version 1, the request's nonce, the request's message imprint
 * (SHA-256 of the stamped bytes), the configured policy when one is
 * configured, and a CMS signature whose signer certificate chains to the
 * configured CA file with the critical extended key usage timeStamping.
 *
 * Ownership: requests are opaque and freed with icx_tsa_req_free; tokens
 * and replies go into caller icx_bufs.  Threads: every function is
 * reentrant; icx_tsa_post may run on any thread (libcurl is initialised
 * once, CURLOPT_NOSIGNAL set).
 * Errors: ICX_EAGAIN when the TSA could not be reached or answered with an
 * HTTP error (retry later); ICX_EBADSIG when a reply or token is refused
 * (err says why); ICX_EINVAL for a malformed argument; ICX_ECRYPTO.
 */
#ifndef ICX_TSA_H
#define ICX_TSA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* Largest reply read from a TSA, and a token accepted anywhere. */
#define ICX_TSA_REPLY_MAX ((size_t)64 * 1024)

typedef struct icx_tsa_req icx_tsa_req;

/* What a token says. */
typedef struct icx_tsa_stamp {
    char gen_time[32];   /* genTime, "YYYY-MM-DDTHH:MM:SSZ" */
    int64_t gen_epoch;   /* the same in seconds since 1970 */
    char serial[84];     /* serialNumber, hex */
    char policy[84];     /* the TSA's policy OID, dotted */
} icx_tsa_stamp;

/* A request over SHA-256(data[0..len)) with a fresh 64-bit nonce, asking
 * for the TSA's certificate in the token (so that `openssl ts -verify`
 * needs the CA file alone); policy (dotted OID) may be NULL. */
int icx_tsa_req_new(icx_tsa_req **out, const void *data, size_t len,
                    const char *policy, icx_err *err);
void icx_tsa_req_free(icx_tsa_req **rp);
/* The request's DER bytes (a TimeStampReq) appended to out. */
int icx_tsa_req_der(icx_buf *out, const icx_tsa_req *r, icx_err *err);

/* Checks reply[0..len) against the request (see the top of this file)
 * with the CA certificates in ca_file (PEM).  On success the
 * TimeStampToken's DER bytes are appended to token and *info filled. */
int icx_tsa_reply_check(icx_buf *token, icx_tsa_stamp *info,
                        const icx_tsa_req *req, const void *reply, size_t len,
                        const char *ca_file, icx_err *err);

/* Checks a stored token over data[0..len): its message imprint is SHA-256
 * of data; with ca_file (not NULL) its signature chains to those CA
 * certificates.  *info filled when not NULL (also when refused, as far as
 * the token could be read). */
int icx_tsa_token_check(icx_tsa_stamp *info, const void *token,
                        size_t token_len, const void *data, size_t len,
                        const char *ca_file, icx_err *err);

/* POSTs req[0..len) to url (http or https only; no redirects) and
 * appends the body of a 200 application/timestamp-reply answer to reply
 * (at most ICX_TSA_REPLY_MAX bytes).  timeout_s bounds the whole exchange
 * (and the connection, at most 10 s of it).  When cancel (may be NULL)
 * becomes non-zero the exchange stops within a second (ICX_EAGAIN). */
int icx_tsa_post(icx_buf *reply, const char *url, const void *req, size_t len,
                 long timeout_s, const atomic_int *cancel, icx_err *err);

#endif
