/*
 * signkey.h - the gateway's own signing key, as keys.private_key names
 * it: a PEM key file, or a key in a PKCS#11 token (an RFC 7512 pkcs11:
 * URI with keys.pkcs11_module and a PIN from keys.pin_file, keys.pin_env
 * or the URI's pin-source).
 *
 * For a token key the public half read from the token must be the key of
 * keys.certificate: partners verify with that certificate, so a token
 * holding another key would make every envelope unverifiable.
 *
 * Ownership: *out is the caller's (icx_signer_free).  The PIN is read
 * into a local buffer and wiped after login; it is never logged.  One
 * thread; the signer returned may be shared by threads.
 */
#ifndef ICX_SIGNKEY_H
#define ICX_SIGNKEY_H

#include "config.h"
#include "err.h"
#include "xmlsig.h"

/* 1 when keys.private_key names a key in a token. */
int icx_signkey_in_token(const icx_config *cfg);

/* The arguments `icx signer` needs after --key keys.private_key to open
 * the same key (cmd_signer.c): none for a key file; for a token key
 * --module, --certificate and --pin-file or --pin-env as configured
 * (the PIN itself never: the signer reads it).  out gets at most
 * ICX_SIGNKEY_ARGS - 1 pointers into cfg, then NULL. */
#define ICX_SIGNKEY_ARGS 9
void icx_signkey_args(const icx_config *cfg,
                      const char *out[ICX_SIGNKEY_ARGS]);

/* Opens the configured key.  Errors name the key, the token and what
 * failed (module not loadable, no token, wrong PIN, no key, certificate
 * of another key). */
int icx_signkey_open(icx_signer **out, const icx_config *cfg, icx_err *err);

#endif
