/*
 * fuzz_schema_fast.c - libFuzzer target for the schema fast path
 * (gateway/xml/xsdv.c): any document it calls valid must be valid for
 * libxml2's validator with the same schemas; the target aborts otherwise.
 * The input goes through icx_xml_parse() first, as every document does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "xml.h"
#include "xmlsig.h"
#include "xsdv.h"

static icx_schemas *schemas;
static icx_xsdv *fast;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cleanup(void)
{
    icx_xsdv_free(&fast);
    icx_schemas_free(&schemas);
    icx_xmlsig_shutdown();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    icx_err err;
    char path[4096];
    icx_err_clear(&err);
    snprintf(path, sizeof path, "%s/icx.xsd", icx_schemas_default_dir());
    if (icx_xmlsig_init(&err) < 0 ||
        icx_schemas_load(&schemas, icx_schemas_default_dir(), &err) < 0 ||
        icx_xsdv_compile(&fast, path, &err) < 0) {
        fprintf(stderr, "fuzz_schema_fast: set-up: %s\n", err.msg);
        abort();
    }
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    icx_xml_limits lim = {.max_bytes = 256 * 1024, .max_depth = 64};
    icx_xmldoc *doc = NULL;
    icx_err err;
    icx_err_clear(&err);
    if (icx_xml_parse(&doc, (const char *)data, size, &lim, &err) < 0)
        return 0;
    if (icx_xsdv_valid(fast, icx_xml_raw(doc)) &&
        icx_schemas_validate_slow(schemas, doc, &err) != ICX_OK) {
        fprintf(stderr, "fuzz_schema_fast: fast path accepts what libxml2 "
                "refuses: %s\n", err.msg);
        abort();
    }
    icx_xml_free(&doc);
    return 0;
}
