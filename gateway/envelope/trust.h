/*
 * trust.h - the trust store: agency id -> verification key, loaded from the
 * certificates named in configuration (never from a message).  During a
 * key rollover an agency has a second key (a partner's certificate_next):
 * the verifier tries it only after the first has failed, and the caller
 * records which one verified.
 *
 * Ownership: the store owns its keys; icx_trust_get() lends one, valid until
 * icx_trust_free().  Immutable after loading: may be read by any thread.
 */
#ifndef ICX_TRUST_H
#define ICX_TRUST_H

#include "config.h"
#include "err.h"
#include "xmlsig.h"

typedef struct icx_trust icx_trust;

int icx_trust_new(icx_trust **out, icx_err *err);
/* Adds id with the public key of cert_path; a second add of id fails. */
int icx_trust_add(icx_trust *t, const char *id, const char *cert_path,
                  icx_err *err);
/* During a key rollover: a second certificate accepted for id (added
 * already), refused when it is the first one again. */
int icx_trust_add_next(icx_trust *t, const char *id, const char *cert_path,
                       icx_err *err);
/* The gateway's own certificate and every partner's certificate (and
 * certificate_next). */
int icx_trust_from_config(icx_trust **out, const icx_config *cfg,
                          icx_err *err);
void icx_trust_free(icx_trust **tp);
/* Match icx_trust_fn: ctx is the icx_trust.  The configured key of id /
 * its next key during a rollover; NULL when unknown / none. */
const icx_verkey *icx_trust_get(void *ctx, const char *id);
const icx_verkey *icx_trust_get_next(void *ctx, const char *id);
/* SHA-256 fingerprint (hex) of id's certificate (which 0) or next
 * certificate (which 1); NULL when none.  Valid until icx_trust_free(). */
const char *icx_trust_fingerprint(const icx_trust *t, const char *id,
                                  int which);

/* The partner a TLS client certificate stands for: the one whose
 * configured `certificate:` has this SHA-256 fingerprint (of the DER,
 * lowercase hex, as `icx keys show` prints it).  A partner presents the
 * certificate it signs with; nothing else maps.  out (>= 32 bytes) gets
 * the agency id; ICX_ENOTFOUND when no partner has it. */
int icx_trust_partner_of_cert(char *out, size_t outlen,
                              const icx_config *cfg, const char *fingerprint,
                              icx_err *err);

#endif
