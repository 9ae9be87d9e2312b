/*
 * xml.h - the one place that parses XML and validates it against schemas/.
 *
 * icx_xml_parse() is hardened: input over the size limit is refused before
 * parsing; bytes must be UTF-8 (no UTF-16/32 BOM, no NUL, and an XML
 * declaration read whole that names no other encoding); any DOCTYPE stops
 * the parser at once; no entity is
 * expanded, no DTD loaded, no XInclude followed, no network touched; the
 * shape limits are checked on the bytes before parsing and the nesting
 * limit while parsing, before the tree is complete.
 * Processing instructions are refused.
 *
 * Ownership: an icx_xmldoc owns its libxml2 tree; icx_xml_free() releases
 * it.  icx_xml_raw() lends the xmlDoc, valid until icx_xml_free().  Memory
 * from libxml2 is freed with libxml2's functions, inside xml.c/xmlsig.c/
 * envelope.c only.  icx_schemas is immutable after load and may be shared by
 * threads (libxml2 validation contexts are created per call).
 */
#ifndef ICX_XML_H
#define ICX_XML_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* The shape limits (attributes to text) are checked on the bytes before
 * libxml2 parses anything, so a document over one costs a linear scan and
 * no tree; a field left 0 takes the default below. */
typedef struct icx_xml_limits {
    size_t max_bytes;      /* refuse larger input before parsing */
    int max_depth;         /* element nesting limit (<= 256) */
    int max_attrs;         /* attributes of one element, without xmlns */
    int max_ns_decls;      /* namespace declarations of one element */
    long max_attrs_total;  /* attributes and namespace declarations in all
                            * (default: ICX_XML_MAX_ATTRS_TOTAL per MiB
                            * of max_bytes) */
    int max_name;          /* bytes of one element or attribute name */
    size_t max_text;       /* bytes of one text node (character data
                            * between two tags, CDATA included, as
                            * written) or of one attribute value */
} icx_xml_limits;

#define ICX_XML_MAX_ATTRS 64
#define ICX_XML_MAX_NS_DECLS 32
#define ICX_XML_MAX_ATTRS_TOTAL 100000
#define ICX_XML_MAX_NAME 256
#define ICX_XML_MAX_TEXT (256 * 1024)

#define ICX_XML_DEFAULT_LIMITS \
    ((icx_xml_limits){.max_bytes = 1024 * 1024, .max_depth = 64})

typedef struct icx_xmldoc icx_xmldoc;

/* Parses data.  On refusal err->reason says why (EMPTY, TOO_LARGE,
 * NOT_UTF8, PARSER_LIMIT, DOCTYPE, MALFORMED, TOO_DEEP, FORBIDDEN_NODE). */
int icx_xml_parse(icx_xmldoc **out, const char *data, size_t len,
                  const icx_xml_limits *lim, icx_err *err);
void icx_xml_free(icx_xmldoc **docp);
/* Frees the parser context the calling thread keeps between documents
 * (other threads free theirs when they exit). */
void icx_xml_thread_release(void);
/* The libxml2 document (xmlDocPtr), borrowed. */
void *icx_xml_raw(icx_xmldoc *doc);
/* Wraps an xmlDocPtr built elsewhere (takes ownership). */
int icx_xml_wrap(icx_xmldoc **out, void *xmldoc, icx_err *err);
/* Serializes the document as UTF-8 (with XML declaration) into out. */
int icx_xml_serialize(icx_xmldoc *doc, icx_buf *out, icx_err *err);

/* Reads a schema file of our own (schemas/ is trusted: comments are
 * allowed) with the network and DTDs off; for xsdv_schema.c. */
int icx_xml_read_schema(icx_xmldoc **out, const char *path, icx_err *err);

typedef struct icx_schemas icx_schemas;

/* Loads dir/icx.xsd, which imports every namespace ICX speaks. */
int icx_schemas_load(icx_schemas **out, const char *dir, icx_err *err);
void icx_schemas_free(icx_schemas **sp);
/* Validates doc; on failure err->reason is SCHEMA and err->msg names the
 * line and the first problem.  A document the fast path (xsdv.h) proves
 * valid is accepted at once; every other one is decided, and any error
 * worded, by libxml2. */
int icx_schemas_validate(const icx_schemas *s, icx_xmldoc *doc, icx_err *err);
/* The same with libxml2 alone (tests and benchmarks compare the two). */
int icx_schemas_validate_slow(const icx_schemas *s, icx_xmldoc *doc,
                              icx_err *err);
/* NULL when the fast path is in use, else why not (borrowed).  It is off
 * when the schemas use something outside its subset, or when the
 * environment variable ICX_SCHEMA_FAST_OFF is set at load. */
const char *icx_schemas_fast(const icx_schemas *s);
/* Switches the fast path on or off (on only when it compiled). */
void icx_schemas_set_fast(icx_schemas *s, int on);
/* Directory of the default schemas: $ICX_SCHEMAS_DIR, else the installed
 * share/icx/schemas beside the program, else the source tree's. */
const char *icx_schemas_default_dir(void);

#endif
