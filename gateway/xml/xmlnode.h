/*
 * xmlnode.h - reading parsed trees: elements by name, whole text,
 * attributes.  For documents from icx_xml_parse(), which refuses comments,
 * processing instructions and entity references and merges CDATA into
 * text, so an element's text is one text node; the helpers still read all
 * of it (or refuse to guess) rather than take the first piece.
 *
 * Writing builds elements and attributes in place of text that would be
 * parsed: values must be what a parser would give back (UTF-8 made of
 * XML 1.0 characters), and are escaped when the tree is serialized.
 *
 * Ownership: results point into the tree (valid until it is freed) except
 * icx_xn_text_dup (malloc'ed) and icx_xn_text (caller's buffer).  Nodes
 * added belong to the tree they are added to.
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
/* n itself when it is an element, else the next element among its
 * following siblings; NULL when there is none. */
xmlNode *icx_xn_elem_from(xmlNode *n);
/* n is an element with this local name in namespace ns. */
int icx_xn_is_ns(const xmlNode *n, const char *ns, const char *name);
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

/* s is UTF-8 made of XML 1.0 characters (what a parser could return). */
int icx_xn_text_ok(const char *s);
/* A new last child element of parent, in parent's namespace, holding text
 * (NULL or "": empty); *out (when not NULL) receives it.  ICX_EINVAL when text is
 * not XML text (icx_xn_text_ok), ICX_ENOMEM. */
int icx_xn_add(xmlNode *parent, const char *name, const char *text,
               xmlNode **out);
/* Sets attribute name (no namespace) of n; errors as icx_xn_add. */
int icx_xn_set_attr(xmlNode *n, const char *name, const char *value);

#endif
