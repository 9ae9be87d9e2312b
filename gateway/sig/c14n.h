/*
 * c14n.h - Exclusive XML Canonicalization 1.0 without comments, the one
 * canonical form of the ICX signature profile, for the trees ICX signs
 * and verifies.
 *
 * The trees come from icx_xml_parse() (no comments, processing
 * instructions, entity references or DOCTYPE; CDATA merged into text) or
 * are built by ICX (elements, attributes, text).  Anything else in the
 * part to be rendered (a comment, a processing instruction, an entity
 * reference, a second top-level node) is refused with ICX_EINVAL rather
 * than rendered by a rule nobody has tested here; so is an element with
 * the prefix xml (its namespace is never declared; libxml2 renders it in
 * some modes and refuses it in others).
 *
 * Namespace names: every declaration in the document, in the part
 * rendered or not (the enveloped Signature, the rest of the document
 * around SignedInfo), must be empty or absolute, as Exclusive C14N 1.0
 * requires and as libxml2 checks (the same xmlParseURI test); and a
 * namespace name that is rendered must hold no character the namespace
 * axis would have to escape.  Of those only & is a URI character, and
 * libxml2 writes it as the parser left it in the tree (the "&#38;" of
 * libxml2's parser without entity substitution, a bare "&" with it),
 * never as the specification's "&amp;": no rendering of it agrees with
 * every implementation, so it is refused.  A declaration of such a name
 * that nothing utilizes is not rendered, and is accepted.
 *
 * What is rendered (W3C Exclusive XML Canonicalization 1.0, section 3, for
 * a document subset made of whole subtrees): elements as start and end tag
 * pairs; the namespace declarations each element visibly utilizes (its own
 * prefix and those of its attributes, never xml:) when the nearest output
 * ancestor has not rendered the same one, sorted by prefix with the
 * default first, and xmlns="" when a no-namespace element sits under a
 * rendered default namespace; attributes sorted by namespace URI then
 * local name; text with &, <, > and CR escaped; attribute values with &, <,
 * ", TAB, LF and CR escaped.  Its output is compared with libxml2's
 * xmlC14NExecute by tests/unit/sig/test_c14n.c and tests/fuzz/fuzz_c14n.c.
 *
 * Why ICX has its own: libxml2 decides visibility through a callback per
 * node, attribute and namespace, keeps namespace stacks with searches per
 * element and copies every escaped string; for a 2 KiB envelope that was
 * a third of the work of making a signature.  This walks the tree once and
 * writes through a fixed buffer.
 *
 * Ownership: nothing is kept; the tree is read, never changed.  Thread
 * safety: reentrant.
 */
#ifndef ICX_C14N_H
#define ICX_C14N_H

#include <stddef.h>

#include <libxml/tree.h>

/* Receives the canonical bytes in pieces; returns 0, or -1 to stop. */
typedef int (*icx_c14n_write_fn)(void *ctx, const char *data, size_t len);

/* The document doc without the subtree omit (NULL: the whole document):
 * the enveloped-signature transform followed by exclusive c14n.  Returns
 * ICX_OK, ICX_EINVAL (a node or namespace this form refuses, see above),
 * ICX_ENOMEM, or ICX_EIO when write returned -1. */
int icx_c14n_document(const xmlDoc *doc, const xmlNode *omit,
                      icx_c14n_write_fn write, void *ctx);

/* The namespace names of the whole document doc checked as the two
 * renderings of a signature (the document without its Signature, then
 * SignedInfo) check them together: every declaration empty or absolute,
 * and no namespace name with a character to escape utilized anywhere
 * (stricter than the renderings only for one utilized solely in the parts
 * of a Signature neither renders: SignatureValue and KeyInfo).  Returns
 * ICX_OK, or ICX_EINVAL with *where the first element (document order)
 * that declares or utilizes a name refused, *name that namespace (both
 * borrowed from doc) and *why a static phrase saying which rule. */
int icx_c14n_check_names(const xmlNode **where, const xmlNs **name,
                         const char **why, const xmlDoc *doc);

/* The subtree of element apex alone (ds:SignedInfo), rendered as the
 * apex of a document subset: namespaces it utilizes are declared on it.
 * Returns as icx_c14n_document. */
int icx_c14n_subtree(const xmlNode *apex, icx_c14n_write_fn write,
                     void *ctx);

#endif
