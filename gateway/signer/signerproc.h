/*
 * signerproc.h - the agency key in a separate signer process.
 *
 * The daemon never maps the private key: icx_signer_remote_start spawns
 * `icx signer` (the daemon's own binary) over socketpairs, and returns an
 * icx_signer whose backend sends each SHA-256 digest there.  The signer
 * process (`icx signer`, cmd_signer.c) opens the key as configured (a key
 * file, or a key in a PKCS#11 token with its module and PIN: signkey.h)
 * and hands it to icx_signerproc_serve, which reports the outcome, locks
 * the process down (docs/SECURITY.md "The signer process") and answers
 * fixed-size requests, one channel per thread.
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
/* Arguments after --key KEY at most (a token key's module, certificate
 * and PIN source: icx_signkey_args). */
#define ICX_SIGNER_MAX_EXTRA 8

typedef struct icx_signer_remote icx_signer_remote;

/* Spawns exe ("/proc/self/exe" in the daemon) as `signer --fd 3
 * --channels nch --key key [extra...]` (extra: NULL or NULL-terminated,
 * at most ICX_SIGNER_MAX_EXTRA; copied), waits for its report and makes
 * *out.  A key the signer cannot open fails here with the signer's own
 * error (same code and message as icx_signkey_open in-process). */
int icx_signer_remote_start(icx_signer **out, icx_signer_remote **remote,
                            const char *exe, const char *key,
                            const char *const *extra, int nch, icx_err *err);
/* Reaps a signer that died while nobody asked it anything and starts a
 * new one (the daemon calls it about once a second), so that it is back
 * before the next signature is needed.  Fails only when a restart fails
 * (the key's error); the next request tries again. */
int icx_signer_remote_check(icx_signer_remote *r, icx_err *err);
/* The signer's process id now (0 while none runs), and how many times it
 * was restarted. */
/* These three take NULL (no signer process: a benchmark build) as a
 * signer that is always there: pid 0, no restarts, check ICX_OK. */
long icx_signer_remote_pid(icx_signer_remote *r);
unsigned icx_signer_remote_restarts(icx_signer_remote *r);

/* How far the signer locks itself down (docs/SECURITY.md). */
enum {
    ICX_SIGNERPROC_FILE = 0,  /* a key file: only the request loop left */
    ICX_SIGNERPROC_TOKEN = 1, /* a token's module keeps its files and
                                 sockets: no exec, no ptrace */
};

/* The signer process: serves nch channels on descriptors first_fd ..
 * first_fd + nch - 1 with s (taken: freed on every path), locked down
 * as mode says.  s NULL: the key could not be opened, err says why, and
 * that is reported to the daemon.  Returns only on failure before the
 * lockdown (err set, the report already sent when possible); after it,
 * the process exits when the daemon closes the channels. */
int icx_signerproc_serve(int first_fd, int nch, icx_signer *s, int mode,
                         icx_err *err);

#endif
