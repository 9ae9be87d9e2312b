/*
 * schemas.c - the schema set ICX validates against (see xml.h): libxml2's
 * validator (through xml.c) and, above it, the fast path (xsdv.h).
 *
 * icx_schemas_load reads dir/icx.xsd with libxml2 and compiles the same
 * files into the fast path; a schema set outside the fast path's subset
 * is validated by libxml2 alone, and icx_schemas_fast says why.  A
 * document the fast path proves valid is accepted at once; any other is
 * decided, and its error worded, by libxml2.
 *
 * This file sits above the parser (xml.c) and the fast path (xsdv*.c):
 * it is the one that calls both, so neither calls the other.
 *
 * Ownership: icx_schemas_load allocates *out, icx_schemas_free releases
 * it.  Threads: immutable after load (icx_schemas_set_fast is for tests
 * and benchmarks, before sharing); any number of threads may validate.
 * Failure: ICX_ECONFIG naming the schema file, ICX_ENOMEM; a failed fast
 * path compile is not a failure, only a note.
 */
#include "xml.h"

#include <stdio.h>
#include <stdlib.h>

#include "util.h"
#include "xml_int.h"
#include "xsdv.h"

struct icx_schemas {
    icx_xml_xsd *schema;
    icx_xsdv *fast;        /* NULL: every document goes to libxml2 */
    int fast_on;
    char fast_note[512];   /* why there is no fast path */
};

const char *icx_schemas_default_dir(void)
{
    const char *env = getenv("ICX_SCHEMAS_DIR");
    if (env != NULL && env[0] != '\0')
        return env;
    const char *installed = icx_share_dir("schemas");
    if (installed != NULL)
        return installed;
#ifdef ICX_SCHEMAS_DIR
    return ICX_SCHEMAS_DIR;
#else
    return "schemas";
#endif
}

int icx_schemas_load(icx_schemas **out, const char *dir, icx_err *err)
{
    char path[4096];
    int rc = ICX_OK;
    icx_xml_xsd *schema = NULL;

    *out = NULL;
    snprintf(path, sizeof path, "%s/icx.xsd", dir);
    if ((rc = icx_xml_xsd_load(&schema, path, err)) < 0)
        goto out;
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        rc = icx_err_set(err, ICX_ENOMEM, "out of memory");
        goto out;
    }
    (*out)->schema = schema;
    schema = NULL;
    /* The fast path is an optimization: a schema set outside its subset
     * is validated by libxml2 alone, and the note says why. */
    icx_err ferr;
    icx_err_clear(&ferr);
    if (icx_xsdv_compile(&(*out)->fast, path, &ferr) == ICX_OK)
        (*out)->fast_on = getenv("ICX_SCHEMA_FAST_OFF") == NULL;
    else
        snprintf((*out)->fast_note, sizeof (*out)->fast_note, "%s",
                 ferr.msg);
out:
    icx_xml_xsd_free(&schema);
    return rc;
}

void icx_schemas_free(icx_schemas **sp)
{
    if (sp == NULL || *sp == NULL)
        return;
    icx_xml_xsd_free(&(*sp)->schema);
    icx_xsdv_free(&(*sp)->fast);
    free(*sp);
    *sp = NULL;
}

const char *icx_schemas_fast(const icx_schemas *s)
{
    if (s->fast == NULL)
        return s->fast_note[0] ? s->fast_note : "not compiled";
    return s->fast_on ? NULL : "switched off";
}

void icx_schemas_set_fast(icx_schemas *s, int on)
{
    s->fast_on = on && s->fast != NULL;
}

int icx_schemas_validate(const icx_schemas *s, icx_xmldoc *doc, icx_err *err)
{
    if (s->fast_on && icx_xsdv_valid(s->fast, icx_xml_raw(doc)))
        return ICX_OK;
    return icx_schemas_validate_slow(s, doc, err);
}

int icx_schemas_validate_slow(const icx_schemas *s, icx_xmldoc *doc,
                              icx_err *err)
{
    return icx_xml_xsd_validate(s->schema, doc, err);
}
