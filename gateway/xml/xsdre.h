/*
 * xsdre.h - XML Schema regular expressions (xs:pattern) as position
 * automata, for the schema fast path (xsdv.c).
 *
 * The supported subset is what schemas/ uses: branches (|), groups, the
 * quantifiers ? * + {n} {n,} {n,m}, ".", the escapes \s \S \d \D and the
 * single-character escapes, and character groups [...] / [^...] with ASCII
 * ranges.  Counted quantifiers are unrolled; a pattern of more than
 * ICX_XSDRE_MAX_POS positions, or outside the subset, is refused at compile
 * time (ICX_ENOTFOUND) and the caller keeps libxml2's engine for it.
 *
 * Matching is never wrong in the accepting direction: \d and \D are
 * Unicode classes in XML Schema, so when a character outside ASCII reaches
 * a position whose class is one of them the match answers "unsure" and
 * the caller asks libxml2.
 *
 * Ownership: icx_xsdre_compile allocates *out; icx_xsdre_free releases it
 * and clears the pointer.  A compiled pattern is immutable and may be used
 * by several threads at once.
 */
#ifndef ICX_XSDRE_H
#define ICX_XSDRE_H

#include <stddef.h>

#include "err.h"

#define ICX_XSDRE_MAX_POS 256

typedef struct icx_xsdre icx_xsdre;

/* Compiles pattern.  ICX_ENOTFOUND: outside the subset or too large (the
 * pattern may still be valid XML Schema); ICX_ENOMEM. */
int icx_xsdre_compile(icx_xsdre **out, const char *pattern, icx_err *err);
void icx_xsdre_free(icx_xsdre **rep);

enum icx_xsdre_result {
    ICX_XSDRE_NO = 0,     /* the whole value does not match */
    ICX_XSDRE_YES = 1,    /* the whole value matches */
    ICX_XSDRE_UNSURE = 2, /* a Unicode class decides: ask libxml2 */
};

/* Matches the whole of s (UTF-8, len bytes; the schema module only passes
 * text from parsed documents, which is valid UTF-8). */
enum icx_xsdre_result icx_xsdre_match(const icx_xsdre *re, const char *s,
                                      size_t len);

#endif
