/*
 * fuzz_receipt.c - libFuzzer target for icx_receipt_read(): the Receipt
 * payload of a receipt envelope (the daemon reads it only after the
 * envelope verified, but the reader must hold on any bytes).  A receipt
 * read as negative always carries its reason code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_xmlsig.h"
#include "receipt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_xmlsig_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    icx_xml_limits lim = {.max_bytes = 256 * 1024, .max_depth = 64};
    icx_receipt r;
    icx_err err;

    icx_err_clear(&err);
    int rc = icx_receipt_read(&r, (const char *)data, size, &lim, &err);
    if (rc == ICX_OK && !r.positive && r.reason[0] == '\0')
        abort();
    if (rc == ICX_OK && (memchr(r.ref_message_id, 0, sizeof r.ref_message_id) == NULL ||
                         memchr(r.detail, 0, sizeof r.detail) == NULL))
        abort();
    return 0;
}
