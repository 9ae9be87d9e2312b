/*
 * xsdv_int.h - the compiled form of the schema fast path, shared by its
 * compiler (xsdv_schema.c, xsdv_compile.c) and its validator (xsdv.c), and
 * the compiler's state, shared by its two files.  Nothing outside those
 * files includes it.
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

#include "xml.h"
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

/* ---- compiled structures ------------------------------------------------ */

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

/* ---- the compiler (xsdv_schema.c below xsdv_compile.c) ------------------ */

#define XS_NS "http://www.w3.org/2001/XMLSchema"
#define MAX_DOCS 16            /* schema files in one set */

/* A schema document being compiled. */
struct sdoc {
    icx_xmldoc *doc;
    const char *path;
    const char *tns;
    int qualified;         /* elementFormDefault="qualified" */
};

enum ckind { K_ELEMENT, K_COMPLEX, K_SIMPLE, K_GROUP };

/* A top-level component, compiled on first use. */
struct comp {
    const char *ns, *name;
    int kind;
    const xmlNode *node;
    const struct sdoc *doc;
    void *compiled;
};

/* One compilation; c->rc keeps the first failure. */
struct compiler {
    icx_xsdv *v;
    icx_err *err;
    struct sdoc docs[MAX_DOCS];
    int ndocs;
    struct comp *comps;
    int ncomps, capcomps;
    struct stype *builtin[NBUILTINS];
    int rc;                 /* first failure */
};

/* The arena of v (NULL when out of memory). */
void *xsdv_arena_alloc(icx_xsdv *v, size_t size);
const char *xsdv_arena_str(icx_xsdv *v, const char *s);

/* Keeps the first failure, "file:line: what: detail", and returns it. */
int xsdv_fail(struct compiler *c, int rc, const struct sdoc *d,
              const xmlNode *n, const char *what, const char *detail);
int xsdv_oom(struct compiler *c);
/* n is the element xs:name (any xs: element when name is NULL). */
int xsdv_is_xs(const xmlNode *n, const char *name);
/* Child elements other than annotations, from n on / of n. */
const xmlNode *xsdv_next_xs(const xmlNode *n);
const xmlNode *xsdv_first_xs(const xmlNode *n);
/* Unqualified attribute value, or NULL (borrowed from the tree). */
const char *xsdv_attr(const xmlNode *n, const char *name);
/* Every attribute of n is in allowed (a NULL-terminated list). */
int xsdv_attrs_known(struct compiler *c, const struct sdoc *d,
                     const xmlNode *n, const char *const *allowed);
/* Resolves a QName attribute value against the namespaces in scope. */
int xsdv_qname(struct compiler *c, const struct sdoc *d, const xmlNode *n,
               const char *value, const char **ns, const char **local);
/* The top-level component of that kind and name, or NULL. */
struct comp *xsdv_find(struct compiler *c, int kind, const char *ns,
                       const char *name);
/* minOccurs and maxOccurs of n (1 when absent). */
int xsdv_parse_occurs(struct compiler *c, const struct sdoc *d,
                      const xmlNode *n, int *min, int *max);
/* Reads the schema at path and what it imports, indexing every top-level
 * component; want_ns: the namespace an import promised, or NULL. */
int xsdv_load_doc(struct compiler *c, const char *path, const char *want_ns);
/* Frees the documents and the index (the arena stays with c->v). */
void xsdv_docs_free(struct compiler *c);

#endif
