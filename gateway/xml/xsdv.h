/*
 * xsdv.h - the schema fast path: a validator compiled from schemas/ for
 * the subset of XML Schema 1.0 those files use, checked in one walk of the
 * parsed tree.
 *
 * It answers "valid" or "not sure", never "invalid": whenever it cannot
 * prove a document valid (a content model its greedy matcher does not
 * settle, a Unicode class in a pattern, an ID attribute, an attribute in
 * another namespace, any error at all) the caller runs libxml2's validator,
 * which decides and words the error.  The invariant, checked by
 * fuzz_schema_fast and test_xsdv, is: valid here implies valid for libxml2
 * with the same schemas.  The compiler refuses (ICX_ENOTFOUND) a schema set
 * that uses anything outside the subset, and the caller then validates
 * everything with libxml2.
 *
 * Subset: global and local element declarations (qualified), named and
 * anonymous complex types with sequence / choice / group references and
 * occurrence bounds, empty content, simple content by extension,
 * attributes (required, optional, fixed), simple types by restriction of
 * string, token, language, anyURI, dateTime, date, boolean, positiveInteger,
 * unsignedLong, unsignedShort, base64Binary with the facets enumeration,
 * pattern, minLength and maxLength, and key / unique / keyref whose
 * selectors are child paths and whose field is one attribute.
 *
 * Ownership: icx_xsdv_compile allocates *out; icx_xsdv_free releases it and
 * clears the pointer.  A compiled validator is immutable; any number of
 * threads may validate with it at once.
 */
#ifndef ICX_XSDV_H
#define ICX_XSDV_H

#include <libxml/tree.h>

#include "err.h"

typedef struct icx_xsdv icx_xsdv;

/* Reads main_xsd and the schemas it imports (schemaLocation relative to
 * its folder).  ICX_ENOTFOUND: a construct outside the subset (err->msg
 * names it and the file:line); ICX_ECONFIG: unreadable or inconsistent
 * schema; ICX_ENOMEM. */
int icx_xsdv_compile(icx_xsdv **out, const char *main_xsd, icx_err *err);
void icx_xsdv_free(icx_xsdv **vp);

/* 1 when doc is valid, 0 when not sure (ask libxml2). */
int icx_xsdv_valid(const icx_xsdv *v, const xmlDoc *doc);

#endif
