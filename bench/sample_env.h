/*
 * sample_env.h - case-referral envelopes of an exact size for the
 * benchmarks, grown or trimmed from docs/samples/case-referral-payload.xml.
 *
 * The payload stays schema-valid: every candidate is built with
 * icx_envelope_build (which validates) and signed with icx_envelope_sign.
 * Errors are fatal: the message goes to stderr prefixed with bench_prog and
 * the program exits with status 1.
 */
#ifndef ICX_BENCH_SAMPLE_ENV_H
#define ICX_BENCH_SAMPLE_ENV_H

#include <stddef.h>

#include "buf.h"
#include "envelope.h"
#include "err.h"
#include "xml.h"
#include "xmlsig.h"

#define SAMPLE_REL "docs/samples/case-referral-payload.xml"
#define ENV_MAX (1024 * 1024)

/* The program name in error messages (set by main). */
extern const char *bench_prog;

/* Prints "bench_prog: what[: err]" and exits with status 1. */
void bench_die(const char *what, const icx_err *err)
    __attribute__((noreturn));

/* The sample payload: the file given, else SAMPLE_REL from the current
 * folder, else the one beside the schemas folder.  Free with free(). */
char *sample_env_read(const char *given);

/* Grows or trims sample until the envelope built from it with header h
 * and signed with signer has exactly target bytes: small envelopes lose
 * Evaluation, one Offence, Dates..Evidence and RequestedActions, large
 * ones gain Evidence items; the Summary length does the fine tuning.
 * Leaves the payload (when payload != NULL), the unsigned envelope and
 * the signed one in the buffers given (initialized by the caller). */
void sample_env_make(icx_buf *payload, icx_buf *unsigned_env,
                     icx_buf *signed_env, size_t target, const char *sample,
                     const icx_header *h, const icx_schemas *schemas,
                     const icx_signer *signer);

#endif
