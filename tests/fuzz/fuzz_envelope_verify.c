/*
 * fuzz_envelope_verify.c - libFuzzer target for the whole inbound envelope
 * policy: icx_envelope_verify() (hardened parse, signature profile, schema,
 * header, xmlsec with the configured key, recipient and time window), then
 * what the daemon does with an accepted envelope (payload copy, header
 * formatting) and the unverified header peek used for display.
 *
 * The verifier is PH-NBI; it trusts JP-NPA through keys/jp-npa-cert.pem,
 * the certificate whose private key signed the envelopes in
 * corpus/envelope_verify/ (the key itself is not kept: see README.md).
 * The clock is pinned to the corpus envelopes' Created time, so the seeds
 * stay on the accepted path and the fuzzer starts from there.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "trust.h"

/* Created of the corpus envelopes: 2025-01-01T00:00:00Z. */
#define FUZZ_NOW 1735689600

static icx_schemas *schemas;
static icx_trust *trust;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cleanup(void)
{
    icx_trust_free(&trust);
    icx_schemas_free(&schemas);
    icx_xmlsig_shutdown();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    icx_err err;
    icx_err_clear(&err);
    if (icx_xmlsig_init(&err) < 0 ||
        icx_schemas_load(&schemas, icx_schemas_default_dir(), &err) < 0 ||
        icx_trust_new(&trust, &err) < 0 ||
        icx_trust_add(trust, "JP-NPA", ICX_FUZZ_DIR "/keys/jp-npa-cert.pem",
                      &err) < 0) {
        fprintf(stderr, "fuzz_envelope_verify: set-up: %s\n", err.msg);
        abort();
    }
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    icx_verify_policy p = {
        .limits = {.max_bytes = 256 * 1024, .max_depth = 64}, .schemas = schemas,
        .trust = icx_trust_get, .ctx = trust, .self = "PH-NBI",
        .now = FUZZ_NOW, .created_past_s = 900, .created_future_s = 300,
    };
    icx_header h;
    icx_err err;
    icx_buf out;

    icx_err_clear(&err);
    int rc = icx_envelope_verify(&h, xml, size, &p, &err);
    if (rc == ICX_EBADSIG && err.reason == ICX_REASON_NONE)
        abort(); /* a refusal always names its reason */
    if (rc == ICX_OK && (strcmp(h.sender, "JP-NPA") != 0 ||
                         strcmp(h.recipient, "PH-NBI") != 0))
        abort(); /* accepted from someone else, or for someone else */
    icx_buf_init(&out, 512 * 1024);
    if (rc == ICX_OK) {
        icx_envelope_payload(&out, xml, size, &p.limits, &err);
        icx_buf_reset(&out);
        icx_header_format(&out, &h, 1);
    }
    icx_buf_free(&out);
    icx_envelope_peek(&h, xml, size, &p.limits, &err);
    return 0;
}
