/*
 * xsdv_int.h - the compiled form of the schema fast path, shared by its
 * compiler (xsdv_compile.c) and its validator (xsdv.c).  Nothing outside
 * those two files includes it.
 *
 * Ownership: every struct here lives in the arena of its icx_xsdv and is
 * immutable once icx_xsdv_compile has returned.
 */
#ifndef ICX_XSDV_INT_H
#define ICX_XSDV_INT_H

#include <stddef.h>
#include <string.h>

#include <libxml/xmlregexp.h>
#include <libxml/xmlschemastypes.h>

#include "xsdre.h"
#include "xsdv.h"

#define UNBOUNDED (-1)

/* Namespace names: equal, or both absent. */
static inline int xsdv_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* ---- compiled structures -------------------------------------------------- */

enum builtin {
    B_STRING, B_TOKEN, B_LANGUAGE, B_ANYURI, B_DATETIME, B_DATE, B_BOOLEAN,
    B_POSINT, B_ULONG, B_USHORT, B_BASE64, B_ID,
};

struct xsdv_builtin {
    const char *name;
    enum builtin b;
    xmlSchemaValType libxml;
};
/* Indexed by enum builtin; defined in xsdv_compile.c. */
extern const struct xsdv_builtin xsdv_builtins[];
#define NBUILTINS (B_ID + 1)

struct pattern {
    icx_xsdre *fast;   /* NULL when outside the xsdre subset */
    xmlRegexpPtr slow; /* libxml2's engine, always compiled */
};

/* One step of a simple type: a built-in (base == NULL) or a restriction
 * of base with this step's facets. */
struct stype {
    int builtin;          /* index into BUILTINS, also for derived types */
    const struct stype *base;
    const char **enums;
    int nenums;
    struct pattern *pats; /* alternatives (one step's patterns are ORed) */
    int npats;
    long minlen, maxlen;  /* -1: absent */
};

struct elem;

enum pkind { P_ELEM, P_SEQ, P_CHOICE };

struct particle {
    int kind;
    int min, max;          /* max UNBOUNDED */
    int emptiable;         /* can match no element */
    const struct elem *elem;
    struct particle **kids;
    int nkids;
};

struct attr {
    const char *name;
    const struct stype *type;
    int required;
    const char *fixed;
};

enum content { C_EMPTY, C_ELEMENTS, C_SIMPLE };

struct ctype {
    int content;
    struct particle *model;
    const struct stype *simple;
    struct attr *attrs;
    int nattrs;
    int done;              /* compiled (guards recursion) */
};

enum idckind { IDC_KEY, IDC_UNIQUE, IDC_KEYREF };

struct step {
    const char *ns, *name; /* name NULL: any element */
};

struct idc {
    int kind;
    const char *ns, *name;
    struct step *steps;
    int nsteps;
    const char *field;     /* attribute name, no namespace */
    int refer;             /* index of the key in the same element */
    const char *refer_ns, *refer_name;
};

struct elem {
    const char *ns, *name;
    const struct stype *simple; /* simple-typed element */
    struct ctype *complex;
    struct idc *idcs;
    int nidcs;
};

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    max_align_t data[];
};

struct icx_xsdv {
    struct arena_chunk *arena;
    struct elem **globals;
    int nglobals;
    struct pattern **pats;  /* every pattern, to free the regexps */
    int npats, cappats;
};

#endif
