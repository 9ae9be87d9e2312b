/*
 * xsdv_schema.c - the fast path's compiler, bottom half: reads the schema
 * documents and indexes their top-level components, and lends
 * xsdv_compile.c what it reads them with (the xs: element and attribute
 * readers, QNames, occurrence bounds, the error that names file and line,
 * the arena).
 *
 * The documents are read with icx_xml_read_schema (the parser stays in
 * xml.c) from the folder of the main schema, following xs:import by
 * schemaLocation (a file name in the same folder, nothing else); a
 * construct outside the subset refuses the whole set, as in
 * xsdv_compile.c.
 *
 * Calls xml.c and nothing of the compiler above it.  Ownership: the
 * documents belong to the compiler until xsdv_docs_free; strings and
 * structures from xsdv_arena_* live in the icx_xsdv's arena.  Threads:
 * one compiler, one thread.  Failure: the first failure is kept in c->rc
 * and c->err (ICX_ENOTFOUND outside the subset, ICX_ECONFIG, ICX_ENOMEM)
 * and returned by every later call.
 */
#include "xsdv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml.h"

/* ---- arena --------------------------------------------------------------- */

void *xsdv_arena_alloc(icx_xsdv *v, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) *
           sizeof(max_align_t);
    struct arena_chunk *c = v->arena;
    if (c == NULL || c->size - c->used < size) {
        size_t want = size > 65536 ? size : 65536;
        c = calloc(1, sizeof *c + want);
        if (c == NULL)
            return NULL;
        c->size = want;
        c->next = v->arena;
        v->arena = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

const char *xsdv_arena_str(icx_xsdv *v, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = xsdv_arena_alloc(v, n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* ---- reading the schema documents -------------------------------------- */

int xsdv_fail(struct compiler *c, int rc, const struct sdoc *d,
              const xmlNode *n, const char *what, const char *detail)
{
    if (c->rc == ICX_OK)
        c->rc = icx_err_set(c->err, rc, "%s:%ld: %s%s%s",
                            d ? d->path : "?", n ? xmlGetLineNo(n) : 0L,
                            what, detail ? ": " : "", detail ? detail : "");
    return c->rc;
}

int xsdv_oom(struct compiler *c)
{
    if (c->rc == ICX_OK)
        c->rc = icx_err_set(c->err, ICX_ENOMEM, "out of memory");
    return c->rc;
}

int xsdv_is_xs(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           strcmp((const char *)n->ns->href, XS_NS) == 0 &&
           (name == NULL || strcmp((const char *)n->name, name) == 0);
}

/* Child elements other than annotations; text must be blank. */
const xmlNode *xsdv_next_xs(const xmlNode *n)
{
    for (; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE && !xsdv_is_xs(n, "annotation"))
            return n;
    return NULL;
}

const xmlNode *xsdv_first_xs(const xmlNode *n)
{
    return xsdv_next_xs(n->children);
}

const char *xsdv_attr(const xmlNode *n, const char *name)
{
    for (const xmlAttr *a = n->properties; a != NULL; a = a->next)
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0)
            return a->children ? (const char *)a->children->content : "";
    return NULL;
}

/* Every attribute of n is in allowed (a NULL-terminated list). */
int xsdv_attrs_known(struct compiler *c, const struct sdoc *d,
                     const xmlNode *n, const char *const *allowed)
{
    for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
        int ok = 0;
        for (int i = 0; a->ns == NULL && allowed[i] != NULL && !ok; i++)
            ok = strcmp((const char *)a->name, allowed[i]) == 0;
        if (!ok)
            return xsdv_fail(c, ICX_ENOTFOUND, d, n,
                             "attribute outside the subset",
                             (const char *)a->name);
    }
    return ICX_OK;
}

/* Resolves a QName attribute value against the namespaces in scope. */
int xsdv_qname(struct compiler *c, const struct sdoc *d, const xmlNode *n,
               const char *value, const char **ns, const char **local)
{
    const char *colon = strchr(value, ':');
    char prefix[64];
    const xmlChar *pfx = NULL;
    if (colon != NULL) {
        size_t len = (size_t)(colon - value);
        if (len == 0 || len >= sizeof prefix)
            return xsdv_fail(c, ICX_ECONFIG, d, n, "bad QName", value);
        memcpy(prefix, value, len);
        prefix[len] = '\0';
        pfx = (const xmlChar *)prefix;
        *local = colon + 1;
    } else {
        *local = value;
    }
    xmlNsPtr x = xmlSearchNs(n->doc, (xmlNodePtr)n, pfx);
    if (x == NULL && pfx != NULL)
        return xsdv_fail(c, ICX_ECONFIG, d, n, "unknown prefix", value);
    *ns = x ? (const char *)x->href : NULL;
    return ICX_OK;
}


struct comp *xsdv_find(struct compiler *c, int kind, const char *ns,
                       const char *name)
{
    for (int i = 0; i < c->ncomps; i++)
        if (c->comps[i].kind == kind && xsdv_str_eq(c->comps[i].ns, ns) &&
            strcmp(c->comps[i].name, name) == 0)
            return &c->comps[i];
    return NULL;
}

int xsdv_parse_occurs(struct compiler *c, const struct sdoc *d,
                      const xmlNode *n, int *min, int *max)
{
    const char *smin = xsdv_attr(n, "minOccurs");
    const char *smax = xsdv_attr(n, "maxOccurs");
    *min = 1;
    *max = 1;
    char *end;
    if (smin != NULL) {
        long v = strtol(smin, &end, 10);
        if (*smin == '\0' || *end != '\0' || v < 0 || v > 1000000)
            return xsdv_fail(c, ICX_ENOTFOUND, d, n, "minOccurs", smin);
        *min = (int)v;
    }
    if (smax != NULL) {
        if (strcmp(smax, "unbounded") == 0) {
            *max = UNBOUNDED;
        } else {
            long v = strtol(smax, &end, 10);
            if (*smax == '\0' || *end != '\0' || v < 1 || v > 1000000)
                return xsdv_fail(c, ICX_ENOTFOUND, d, n, "maxOccurs", smax);
            *max = (int)v;
        }
    }
    if (*max != UNBOUNDED && *max < *min)
        return xsdv_fail(c, ICX_ECONFIG, d, n, "maxOccurs below minOccurs",
                         NULL);
    return ICX_OK;
}

static int add_comp(struct compiler *c, const struct sdoc *d,
                    const xmlNode *n, int kind)
{
    const char *name = xsdv_attr(n, "name");
    if (name == NULL)
        return xsdv_fail(c, ICX_ECONFIG, d, n,
                         "top-level component without a name",
                         NULL);
    if (xsdv_find(c, kind, d->tns, name) != NULL)
        return xsdv_fail(c, ICX_ECONFIG, d, n, "declared twice", name);
    if (c->ncomps == c->capcomps) {
        int cap = c->capcomps ? c->capcomps * 2 : 64;
        struct comp *nc = realloc(c->comps, (size_t)cap * sizeof *nc);
        if (nc == NULL)
            return xsdv_oom(c);
        c->comps = nc;
        c->capcomps = cap;
    }
    c->comps[c->ncomps++] = (struct comp){.ns = d->tns, .name = name,
                                          .kind = kind, .node = n, .doc = d};
    return ICX_OK;
}

static int index_doc(struct compiler *c, struct sdoc *d, const char *dir)
{
    static const char *const schema_attrs[] = {
        "targetNamespace", "elementFormDefault", "attributeFormDefault",
        "blockDefault", "version", NULL};
    static const char *const import_attrs[] = {"namespace", "schemaLocation",
                                               NULL};
    const xmlNode *root = xmlDocGetRootElement(icx_xml_raw(d->doc));
    if (!xsdv_is_xs(root, "schema") ||
        xsdv_attrs_known(c, d, root, schema_attrs) < 0)
        return xsdv_fail(c, ICX_ENOTFOUND, d, root,
                         "not a schema in the subset",
                         NULL);
    const char *efd = xsdv_attr(root, "elementFormDefault");
    const char *afd = xsdv_attr(root, "attributeFormDefault");
    if (afd != NULL && strcmp(afd, "unqualified") != 0)
        return xsdv_fail(c, ICX_ENOTFOUND, d, root,
                         "attributeFormDefault outside "
                         "the subset", afd);
    d->qualified = efd != NULL && strcmp(efd, "qualified") == 0;
    d->tns = xsdv_attr(root, "targetNamespace");
    for (const xmlNode *k = xsdv_first_xs(root); k != NULL;
         k = xsdv_next_xs(k->next)) {
        int rc = ICX_OK;
        if (xsdv_is_xs(k, "import")) {
            const char *loc = xsdv_attr(k, "schemaLocation");
            char path[4096];
            if (xsdv_attrs_known(c, d, k, import_attrs) < 0 || loc == NULL ||
                strchr(loc, '/') != NULL || strchr(loc, ':') != NULL)
                return xsdv_fail(c, ICX_ENOTFOUND, d, k,
                                 "import outside the subset",
                                 loc);
            int len = snprintf(path, sizeof path, "%s/%s", dir, loc);
            if (len < 0 || (size_t)len >= sizeof path)
                return xsdv_fail(c, ICX_ECONFIG, d, k, "path too long", loc);
            rc = xsdv_load_doc(c, path, xsdv_attr(k, "namespace"));
        } else if (xsdv_is_xs(k, "element")) {
            rc = add_comp(c, d, k, K_ELEMENT);
        } else if (xsdv_is_xs(k, "complexType")) {
            rc = add_comp(c, d, k, K_COMPLEX);
        } else if (xsdv_is_xs(k, "simpleType")) {
            rc = add_comp(c, d, k, K_SIMPLE);
        } else if (xsdv_is_xs(k, "group")) {
            rc = add_comp(c, d, k, K_GROUP);
        } else {
            rc = xsdv_fail(c, ICX_ENOTFOUND, d, k,
                           "top-level component outside "
                           "the subset", (const char *)k->name);
        }
        if (rc < 0)
            return rc;
    }
    return ICX_OK;
}

int xsdv_load_doc(struct compiler *c, const char *path, const char *want_ns)
{
    for (int i = 0; i < c->ndocs; i++)
        if (strcmp(c->docs[i].path, path) == 0)
            return ICX_OK;
    if (c->ndocs == MAX_DOCS)
        return xsdv_fail(c, ICX_ENOTFOUND, NULL, NULL, "too many schema files",
                         path);
    struct sdoc *d = &c->docs[c->ndocs];
    if ((d->path = xsdv_arena_str(c->v, path)) == NULL)
        return xsdv_oom(c);
    int rc = icx_xml_read_schema(&d->doc, path, c->err);
    if (rc < 0)
        return c->rc = rc;
    c->ndocs++;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    if ((rc = index_doc(c, d, dir)) < 0)
        return rc;
    if (want_ns != NULL && !xsdv_str_eq(d->tns, want_ns))
        return xsdv_fail(c, ICX_ECONFIG, d, NULL, "imported namespace differs",
                         want_ns);
    return ICX_OK;
}

void xsdv_docs_free(struct compiler *c)
{
    for (int i = 0; i < c->ndocs; i++)
        icx_xml_free(&c->docs[i].doc);
    c->ndocs = 0;
    free(c->comps);
    c->comps = NULL;
    c->ncomps = c->capcomps = 0;
}
