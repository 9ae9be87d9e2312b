/*
 * signerproc.h - the agency key in a separate signer process.
 *
 * The daemon never maps the private key: icx_signer_remote_start spawns
 * `icx signer` (the daemon's own binary) over socketpairs, and returns an
 * icx_signer whose backend sends each SHA-256 digest there.  The signer
 * process (icx_signerproc_serve) loads the key with icx_signer_load,
 * reports the outcome, locks itself down (docs/SECURITY.md "The signer
 * process") and answers fixed-size requests, one channel per thread.
 *
 * A signer that dies is restarted by the next request, or by
 * icx_signer_remote_check; requests in flight when it died fail with
 * ICX_EAGAIN, for the caller to try again.
 *
 * Ownership: the icx_signer owns the remote (its backend ctx); the remote
 * pointer handed out is borrowed, valid until icx_signer_free.  The
 * signer is thread-safe; icx_signer_remote_* readers too.
 */
#ifndef ICX_SIGNERPROC_H
#define ICX_SIGNERPROC_H

#include <stdint.h>

#include "err.h"
#include "xmlsig.h"

/* Channels (and signer threads) at most. */
#define ICX_SIGNER_MAX_CHANNELS 16

typedef struct icx_signer_remote icx_signer_remote;

/* Spawns exe ("/proc/self/exe" in the daemon) as `signer --fd 3
 * --channels nch --key key`, waits for its report and makes *out.  A key
 * the signer cannot load fails here with the signer's own error (same
 * code and message as icx_signer_load in-process). */
int icx_signer_remote_start(icx_signer **out, icx_signer_remote **remote,
                            const char *exe, const char *key, int nch,
                            icx_err *err);
/* Reaps a signer that died while nobody asked it anything and starts a
 * new one (the daemon calls it about once a second), so that it is back
 * before the next signature is needed.  Fails only when a restart fails
 * (the key's error); the next request tries again. */
int icx_signer_remote_check(icx_signer_remote *r, icx_err *err);
/* The signer's process id now (0 while none runs), and how many times it
 * was restarted. */
/* These three take NULL (no signer process: the key is in a token) as a
 * signer that is always there: pid 0, no restarts, check ICX_OK. */
long icx_signer_remote_pid(icx_signer_remote *r);
unsigned icx_signer_remote_restarts(icx_signer_remote *r);

/* The signer process: serves nch channels on descriptors first_fd ..
 * first_fd + nch - 1 with the key key.  Returns only on failure before
 * the lockdown (err set, the report already sent when possible); after
 * it, the process exits when the daemon closes the channels. */
int icx_signerproc_serve(int first_fd, int nch, const char *key,
                         icx_err *err);

#endif
