/*
 * xml_int.h - libxml2's schema reader and validator, wrapped by xml.c for
 * schemas.c (the parser stays in xml.c).  Not part of the API.
 *
 * Ownership: icx_xml_xsd_load allocates *out; icx_xml_xsd_free releases it
 * and clears the pointer.  A loaded icx_xml_xsd is immutable and may be
 * shared by threads (a validation context is made per call).
 */
#ifndef ICX_XML_INT_H
#define ICX_XML_INT_H

#include "err.h"
#include "xml.h"

typedef struct icx_xml_xsd icx_xml_xsd;

/* Reads the schema at path and what it imports.  ICX_ECONFIG ("path:
 * cannot load schemas: first problem"), ICX_ENOMEM. */
int icx_xml_xsd_load(icx_xml_xsd **out, const char *path, icx_err *err);
void icx_xml_xsd_free(icx_xml_xsd **xp);
/* libxml2's verdict on doc: ICX_OK, or ICX_EBADSIG with reason SCHEMA and
 * "line N: first problem", or ICX_ENOMEM / ICX_ERROR. */
int icx_xml_xsd_validate(const icx_xml_xsd *x, icx_xmldoc *doc, icx_err *err);

#endif
