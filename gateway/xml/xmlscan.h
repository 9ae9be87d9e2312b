/*
 * xmlscan.h - the checks icx_xml_parse() makes on a document's bytes
 * before libxml2 sees them (for xml.c only).
 *
 * icx_xmlscan_bytes(): no UTF-16/32 byte order mark, strict UTF-8 without
 * NUL, and an XML declaration, when there is one, read whole by the XML 1.0
 * grammar: another encoding named anywhere in it is NOT_UTF8, a
 * declaration outside the grammar is MALFORMED.  *body is where the
 * document goes on after the byte order mark and the declaration.
 *
 * icx_xmlscan_shape(): the shape limits, counted on the bytes before
 * libxml2 builds anything (see xmlscan.c for how it follows libxml2).
 *
 * Thread safety: reentrant, no allocation.  On refusal the return is
 * ICX_EBADSIG and err->reason says why.
 */
#ifndef ICX_XMLSCAN_H
#define ICX_XMLSCAN_H

#include <stddef.h>

#include "err.h"
#include "xml.h"

int icx_xmlscan_bytes(size_t *body, const char *data, size_t len,
                      icx_err *err);

/* The shape limits of lim (0 fields take the defaults of xml.h) over
 * data[body..len): PARSER_LIMIT names the limit and its key in limits:;
 * a comment or processing instruction is FORBIDDEN_NODE, a DOCTYPE is
 * DOCTYPE, markup the scan cannot follow as libxml2 would is MALFORMED.
 * Call after icx_xmlscan_bytes() has passed. */
int icx_xmlscan_shape(const char *data, size_t len, size_t body,
                      const icx_xml_limits *lim, icx_err *err);

#endif
