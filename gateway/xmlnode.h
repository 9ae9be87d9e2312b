/*
 * xmlnode.h - reading parsed trees: elements by name, whole text,
 * attributes.  For documents from icx_xml_parse(), which refuses comments,
 * processing instructions and entity references and merges CDATA into
 * text, so an element's text is one text node; the helpers still read all
 * of it (or refuse to guess) rather than take the first piece.
 *
 * Ownership: results point into the tree (valid until it is freed) except
 * icx_xn_text_dup (malloc'ed) and icx_xn_text (caller's buffer).
 */
#ifndef ICX_XMLNODE_H
#define ICX_XMLNODE_H

#include <stddef.h>

#include <libxml/tree.h>

/* n is an element with this local name. */
int icx_xn_is(const xmlNode *n, const char *name);
/* The first child element with this local name, or NULL. */
const xmlNode *icx_xn_child(const xmlNode *n, const char *name);
/* The first child element, or NULL. */
const xmlNode *icx_xn_first(const xmlNode *n);
/* An attribute's value (no namespace), or NULL. */
const char *icx_xn_attr(const xmlNode *n, const char *name);
/* All text of n (text and CDATA children) into out, cut to outlen - 1;
 * returns out ("" when none). */
const char *icx_xn_text(char *out, size_t outlen, const xmlNode *n);
/* The same, malloc'ed (NULL when out of memory). */
char *icx_xn_text_dup(const xmlNode *n);
/* The text of n when it is exactly one text node (borrowed), NULL when n
 * is NULL or has no text or several pieces. */
const char *icx_xn_text_only(const xmlNode *n);

#endif
