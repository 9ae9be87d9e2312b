/*
 * xsdv_compile.c - compiles schemas/ into the fast path's structures (see
 * xsdv.h for the contract, xsdv_int.h for the structures).
 *
 * The schema documents are read with icx_xml_read_schema (the parser stays
 * in xml.c), their top-level components indexed by qualified name, and
 * every component compiled: element declarations, complex types (a
 * particle tree, attribute uses), simple types (a restriction chain down to
 * a built-in, with facets; patterns as xsdre automata, or libxml2 regexps
 * when a pattern is outside the xsdre subset).  Anything the compiler does
 * not know, down to an attribute on an xs:element it has no rule for,
 * refuses the whole schema set: a construct silently skipped here would be
 * a check silently skipped.
 *
 * Ownership: everything compiled lives in one arena owned by icx_xsdv,
 * plus the regexps listed in it; icx_xsdv_free releases all.  The schema
 * documents are freed before icx_xsdv_compile returns.
 * Threads: compile on one thread, then share the result read-only.
 * Failure: ICX_ENOTFOUND (outside the subset), ICX_ECONFIG, ICX_ENOMEM;
 * the message names the schema file and line.
 */
#include "xsdv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xml.h"

#define XS_NS "http://www.w3.org/2001/XMLSchema"
#define MAX_DOCS 16
#define MAX_ATTRS 64

const struct xsdv_builtin xsdv_builtins[] = {
    {"string", B_STRING, XML_SCHEMAS_STRING},
    {"token", B_TOKEN, XML_SCHEMAS_TOKEN},
    {"language", B_LANGUAGE, XML_SCHEMAS_LANGUAGE},
    {"anyURI", B_ANYURI, XML_SCHEMAS_ANYURI},
    {"dateTime", B_DATETIME, XML_SCHEMAS_DATETIME},
    {"date", B_DATE, XML_SCHEMAS_DATE},
    {"boolean", B_BOOLEAN, XML_SCHEMAS_BOOLEAN},
    {"positiveInteger", B_POSINT, XML_SCHEMAS_PINTEGER},
    {"unsignedLong", B_ULONG, XML_SCHEMAS_ULONG},
    {"unsignedShort", B_USHORT, XML_SCHEMAS_USHORT},
    {"base64Binary", B_BASE64, XML_SCHEMAS_BASE64BINARY},
    {"ID", B_ID, XML_SCHEMAS_ID},
};

/* ---- arena ---------------------------------------------------------------- */

static void *arena_alloc(icx_xsdv *v, size_t size)
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

static const char *arena_str(icx_xsdv *v, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = arena_alloc(v, n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* ---- compiler ------------------------------------------------------------- */

struct sdoc {
    icx_xmldoc *doc;
    const char *path;
    const char *tns;
    int qualified;         /* elementFormDefault="qualified" */
};

enum ckind { K_ELEMENT, K_COMPLEX, K_SIMPLE, K_GROUP };

struct comp {
    const char *ns, *name;
    int kind;
    const xmlNode *node;
    const struct sdoc *doc;
    void *compiled;
};

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

static int fail(struct compiler *c, int rc, const struct sdoc *d,
                const xmlNode *n, const char *what, const char *detail)
{
    if (c->rc == ICX_OK)
        c->rc = icx_err_set(c->err, rc, "%s:%ld: %s%s%s",
                            d ? d->path : "?", n ? xmlGetLineNo(n) : 0L,
                            what, detail ? ": " : "", detail ? detail : "");
    return c->rc;
}

static int oom(struct compiler *c)
{
    if (c->rc == ICX_OK)
        c->rc = icx_err_set(c->err, ICX_ENOMEM, "out of memory");
    return c->rc;
}

static int is_xs(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           strcmp((const char *)n->ns->href, XS_NS) == 0 &&
           (name == NULL || strcmp((const char *)n->name, name) == 0);
}

/* Child elements other than annotations; text must be blank. */
static const xmlNode *next_xs(const xmlNode *n)
{
    for (; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE && !is_xs(n, "annotation"))
            return n;
    return NULL;
}

static const xmlNode *first_xs(const xmlNode *n)
{
    return next_xs(n->children);
}

static const char *attr(const xmlNode *n, const char *name)
{
    for (const xmlAttr *a = n->properties; a != NULL; a = a->next)
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0)
            return a->children ? (const char *)a->children->content : "";
    return NULL;
}

/* Every attribute of n is in allowed (a NULL-terminated list). */
static int attrs_known(struct compiler *c, const struct sdoc *d,
                       const xmlNode *n, const char *const *allowed)
{
    for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
        int ok = 0;
        for (int i = 0; a->ns == NULL && allowed[i] != NULL && !ok; i++)
            ok = strcmp((const char *)a->name, allowed[i]) == 0;
        if (!ok)
            return fail(c, ICX_ENOTFOUND, d, n, "attribute outside the subset",
                        (const char *)a->name);
    }
    return ICX_OK;
}

/* Resolves a QName attribute value against the namespaces in scope. */
static int qname(struct compiler *c, const struct sdoc *d, const xmlNode *n,
                 const char *value, const char **ns, const char **local)
{
    const char *colon = strchr(value, ':');
    char prefix[64];
    const xmlChar *pfx = NULL;
    if (colon != NULL) {
        size_t len = (size_t)(colon - value);
        if (len == 0 || len >= sizeof prefix)
            return fail(c, ICX_ECONFIG, d, n, "bad QName", value);
        memcpy(prefix, value, len);
        prefix[len] = '\0';
        pfx = (const xmlChar *)prefix;
        *local = colon + 1;
    } else {
        *local = value;
    }
    xmlNsPtr x = xmlSearchNs(n->doc, (xmlNodePtr)n, pfx);
    if (x == NULL && pfx != NULL)
        return fail(c, ICX_ECONFIG, d, n, "unknown prefix", value);
    *ns = x ? (const char *)x->href : NULL;
    return ICX_OK;
}


static struct comp *find(struct compiler *c, int kind, const char *ns,
                         const char *name)
{
    for (int i = 0; i < c->ncomps; i++)
        if (c->comps[i].kind == kind && xsdv_str_eq(c->comps[i].ns, ns) &&
            strcmp(c->comps[i].name, name) == 0)
            return &c->comps[i];
    return NULL;
}

static int parse_occurs(struct compiler *c, const struct sdoc *d,
                        const xmlNode *n, int *min, int *max)
{
    const char *smin = attr(n, "minOccurs"), *smax = attr(n, "maxOccurs");
    *min = 1;
    *max = 1;
    char *end;
    if (smin != NULL) {
        long v = strtol(smin, &end, 10);
        if (*smin == '\0' || *end != '\0' || v < 0 || v > 1000000)
            return fail(c, ICX_ENOTFOUND, d, n, "minOccurs", smin);
        *min = (int)v;
    }
    if (smax != NULL) {
        if (strcmp(smax, "unbounded") == 0) {
            *max = UNBOUNDED;
        } else {
            long v = strtol(smax, &end, 10);
            if (*smax == '\0' || *end != '\0' || v < 1 || v > 1000000)
                return fail(c, ICX_ENOTFOUND, d, n, "maxOccurs", smax);
            *max = (int)v;
        }
    }
    if (*max != UNBOUNDED && *max < *min)
        return fail(c, ICX_ECONFIG, d, n, "maxOccurs below minOccurs", NULL);
    return ICX_OK;
}

static struct stype *builtin_type(struct compiler *c, const char *name)
{
    for (size_t i = 0; i < NBUILTINS; i++) {
        if (strcmp(xsdv_builtins[i].name, name) != 0)
            continue;
        if (c->builtin[i] == NULL) {
            struct stype *t = arena_alloc(c->v, sizeof *t);
            if (t == NULL)
                return NULL;
            t->builtin = (int)i;
            t->minlen = t->maxlen = -1;
            c->builtin[i] = t;
        }
        return c->builtin[i];
    }
    return NULL;
}

static struct stype *compile_simple(struct compiler *c, const struct sdoc *d,
                                    const xmlNode *n);

/* A type reference to a simple type: built-in or named. */
static const struct stype *simple_ref(struct compiler *c, const struct sdoc *d,
                                      const xmlNode *n, const char *ref)
{
    const char *ns, *local;
    if (qname(c, d, n, ref, &ns, &local) < 0)
        return NULL;
    if (xsdv_str_eq(ns, XS_NS)) {
        struct stype *t = builtin_type(c, local);
        if (t == NULL)
            fail(c, ICX_ENOTFOUND, d, n, "built-in type outside the subset",
                 local);
        return t;
    }
    struct comp *k = find(c, K_SIMPLE, ns, local);
    if (k == NULL) {
        fail(c, ICX_ENOTFOUND, d, n, "not a known simple type", ref);
        return NULL;
    }
    if (k->compiled == NULL)
        k->compiled = compile_simple(c, k->doc, k->node);
    return k->compiled;
}

static int add_pattern(struct compiler *c, const struct sdoc *d,
                       const xmlNode *n, struct stype *t, const char *value)
{
    icx_xsdv *v = c->v;
    struct pattern *p = arena_alloc(v, sizeof *p);
    if (p == NULL)
        return oom(c);
    if (v->npats == v->cappats) {
        int cap = v->cappats ? v->cappats * 2 : 32;
        struct pattern **np = realloc(v->pats, (size_t)cap * sizeof *np);
        if (np == NULL)
            return oom(c);
        v->pats = np;
        v->cappats = cap;
    }
    v->pats[v->npats++] = p;
    p->slow = xmlRegexpCompile((const xmlChar *)value);
    if (p->slow == NULL)
        return fail(c, ICX_ECONFIG, d, n, "bad pattern", value);
    icx_err e;
    icx_err_clear(&e);
    int rc = icx_xsdre_compile(&p->fast, value, &e);
    if (rc < 0 && rc != ICX_ENOTFOUND)
        return oom(c);
    /* Patterns of one step are alternatives: grow the array. */
    struct pattern *arr = arena_alloc(v, (size_t)(t->npats + 1) * sizeof *arr);
    if (arr == NULL)
        return oom(c);
    if (t->npats > 0)
        memcpy(arr, t->pats, (size_t)t->npats * sizeof *arr);
    arr[t->npats++] = *p;
    t->pats = arr;
    return ICX_OK;
}

static int add_enum(struct compiler *c, struct stype *t, const char *value)
{
    const char **arr = arena_alloc(c->v, (size_t)(t->nenums + 1) *
                                             sizeof *arr);
    if (arr == NULL)
        return oom(c);
    if (t->nenums > 0)
        memcpy(arr, t->enums, (size_t)t->nenums * sizeof *arr);
    if ((arr[t->nenums] = arena_str(c->v, value)) == NULL)
        return oom(c);
    t->nenums++;
    t->enums = arr;
    return ICX_OK;
}

static long length_value(struct compiler *c, const struct sdoc *d,
                         const xmlNode *n, const char *value)
{
    char *end;
    long v = value ? strtol(value, &end, 10) : -1;
    if (value == NULL || *value == '\0' || *end != '\0' || v < 0) {
        fail(c, ICX_ECONFIG, d, n, "bad length facet", value);
        return -1;
    }
    return v;
}

/* <xs:restriction base=...> with facets, for a simple type. */
static struct stype *compile_restriction(struct compiler *c,
                                         const struct sdoc *d,
                                         const xmlNode *r)
{
    static const char *const ok_attrs[] = {"base", NULL};
    static const char *const facet_attrs[] = {"value", NULL};
    const char *base = attr(r, "base");
    if (attrs_known(c, d, r, ok_attrs) < 0)
        return NULL;
    if (base == NULL) {
        fail(c, ICX_ENOTFOUND, d, r, "restriction without base", NULL);
        return NULL;
    }
    const struct stype *bt = simple_ref(c, d, r, base);
    if (bt == NULL)
        return NULL;
    struct stype *t = arena_alloc(c->v, sizeof *t);
    if (t == NULL) {
        oom(c);
        return NULL;
    }
    t->builtin = bt->builtin;
    t->base = bt;
    t->minlen = t->maxlen = -1;
    for (const xmlNode *f = first_xs(r); f != NULL; f = next_xs(f->next)) {
        const char *value = attr(f, "value");
        if (!is_xs(f, NULL) || attrs_known(c, d, f, facet_attrs) < 0 ||
            value == NULL) {
            fail(c, ICX_ENOTFOUND, d, f, "facet outside the subset",
                 (const char *)f->name);
            return NULL;
        }
        const char *name = (const char *)f->name;
        int b = t->builtin;
        int counted = b == B_STRING || b == B_TOKEN || b == B_LANGUAGE ||
                      b == B_ANYURI;
        if (strcmp(name, "enumeration") == 0) {
            if (add_enum(c, t, value) < 0)
                return NULL;
        } else if (strcmp(name, "pattern") == 0) {
            if (add_pattern(c, d, f, t, value) < 0)
                return NULL;
        } else if (strcmp(name, "minLength") == 0 && counted) {
            if ((t->minlen = length_value(c, d, f, value)) < 0)
                return NULL;
        } else if (strcmp(name, "maxLength") == 0 && counted) {
            if ((t->maxlen = length_value(c, d, f, value)) < 0)
                return NULL;
        } else {
            fail(c, ICX_ENOTFOUND, d, f, "facet outside the subset", name);
            return NULL;
        }
    }
    /* Enumerated values compare as strings; for the types where value
     * equality is not string equality (dates, numbers, booleans, binary)
     * leave them to libxml2. */
    if (t->nenums > 0 && !(t->builtin == B_STRING || t->builtin == B_TOKEN ||
                           t->builtin == B_ANYURI)) {
        fail(c, ICX_ENOTFOUND, d, r, "enumeration on this base type", base);
        return NULL;
    }
    return t;
}

/* <xs:simpleType> (named or anonymous). */
static struct stype *compile_simple(struct compiler *c, const struct sdoc *d,
                                    const xmlNode *n)
{
    static const char *const ok_attrs[] = {"name", NULL};
    if (attrs_known(c, d, n, ok_attrs) < 0)
        return NULL;
    const xmlNode *r = first_xs(n);
    if (!is_xs(r, "restriction") || next_xs(r->next) != NULL) {
        fail(c, ICX_ENOTFOUND, d, r ? r : n, "simple type outside the subset",
             r ? (const char *)r->name : NULL);
        return NULL;
    }
    return compile_restriction(c, d, r);
}

static struct elem *element_decl(struct compiler *c, const struct sdoc *d,
                                 const xmlNode *n, const char *ns);
static struct ctype *complex_ref(struct compiler *c, const struct comp *k);

static int particle_emptiable(const struct particle *p)
{
    if (p->min == 0)
        return 1;
    if (p->kind == P_ELEM)
        return 0;
    for (int i = 0; i < p->nkids; i++) {
        int e = p->kids[i]->emptiable;
        if (p->kind == P_SEQ && !e)
            return 0;
        if (p->kind == P_CHOICE && e)
            return 1;
    }
    return p->kind == P_SEQ;
}

static struct particle *compile_particle(struct compiler *c,
                                         const struct sdoc *d,
                                         const xmlNode *n);

static struct particle *new_particle(struct compiler *c, int kind)
{
    struct particle *p = arena_alloc(c->v, sizeof *p);
    if (p == NULL)
        oom(c);
    else
        p->kind = kind;
    return p;
}

/* xs:sequence / xs:choice children into p->kids. */
static int compile_group_kids(struct compiler *c, const struct sdoc *d,
                              const xmlNode *n, struct particle *p)
{
    int count = 0;
    for (const xmlNode *k = first_xs(n); k != NULL; k = next_xs(k->next))
        count++;
    p->kids = arena_alloc(c->v, (size_t)(count ? count : 1) * sizeof *p->kids);
    if (p->kids == NULL)
        return oom(c);
    for (const xmlNode *k = first_xs(n); k != NULL; k = next_xs(k->next)) {
        struct particle *kid = compile_particle(c, d, k);
        if (kid == NULL)
            return c->rc;
        p->kids[p->nkids++] = kid;
    }
    return ICX_OK;
}

static struct particle *compile_particle(struct compiler *c,
                                         const struct sdoc *d,
                                         const xmlNode *n)
{
    static const char *const group_attrs[] = {"minOccurs", "maxOccurs", NULL};
    static const char *const ref_attrs[] = {"ref", "minOccurs", "maxOccurs",
                                            NULL};
    struct particle *p = NULL;
    if (is_xs(n, "element")) {
        if ((p = new_particle(c, P_ELEM)) == NULL ||
            parse_occurs(c, d, n, &p->min, &p->max) < 0)
            return NULL;
        const char *ref = attr(n, "ref");
        if (ref != NULL) {
            const char *ns, *local;
            if (attrs_known(c, d, n, ref_attrs) < 0 ||
                qname(c, d, n, ref, &ns, &local) < 0)
                return NULL;
            struct comp *k = find(c, K_ELEMENT, ns, local);
            if (k == NULL) {
                fail(c, ICX_ECONFIG, d, n, "unknown element", ref);
                return NULL;
            }
            if (k->compiled == NULL)
                k->compiled = element_decl(c, k->doc, k->node, k->doc->tns);
            p->elem = k->compiled;
        } else if (!d->qualified) {
            fail(c, ICX_ENOTFOUND, d, n, "unqualified local element", NULL);
            return NULL;
        } else {
            p->elem = element_decl(c, d, n, d->tns);
        }
        if (p->elem == NULL)
            return NULL;
    } else if (is_xs(n, "sequence") || is_xs(n, "choice")) {
        if ((p = new_particle(c, is_xs(n, "sequence") ? P_SEQ : P_CHOICE)) ==
                NULL ||
            attrs_known(c, d, n, group_attrs) < 0 ||
            parse_occurs(c, d, n, &p->min, &p->max) < 0 ||
            compile_group_kids(c, d, n, p) < 0)
            return NULL;
    } else if (is_xs(n, "group")) {
        const char *ref = attr(n, "ref"), *ns, *local;
        if (ref == NULL || attrs_known(c, d, n, ref_attrs) < 0 ||
            qname(c, d, n, ref, &ns, &local) < 0) {
            fail(c, ICX_ENOTFOUND, d, n, "group outside the subset", NULL);
            return NULL;
        }
        struct comp *k = find(c, K_GROUP, ns, local);
        const xmlNode *body = k ? first_xs(k->node) : NULL;
        if (body == NULL || next_xs(body->next) != NULL ||
            !(is_xs(body, "sequence") || is_xs(body, "choice")) ||
            attr(body, "minOccurs") != NULL || attr(body, "maxOccurs") != NULL) {
            fail(c, ICX_ENOTFOUND, d, n, "group outside the subset", ref);
            return NULL;
        }
        /* The reference's bounds apply to the group's model group. */
        if ((p = new_particle(c, is_xs(body, "sequence") ? P_SEQ : P_CHOICE)) ==
                NULL ||
            parse_occurs(c, d, n, &p->min, &p->max) < 0 ||
            compile_group_kids(c, k->doc, body, p) < 0)
            return NULL;
    } else {
        fail(c, ICX_ENOTFOUND, d, n, "particle outside the subset",
             (const char *)n->name);
        return NULL;
    }
    p->emptiable = particle_emptiable(p);
    return p;
}

static int compile_attribute(struct compiler *c, const struct sdoc *d,
                             const xmlNode *n, struct attr *a)
{
    static const char *const ok_attrs[] = {"name", "type", "use", "default",
                                           "fixed", NULL};
    if (attrs_known(c, d, n, ok_attrs) < 0)
        return c->rc;
    const char *name = attr(n, "name"), *type = attr(n, "type");
    const char *use = attr(n, "use");
    if (name == NULL)
        return fail(c, ICX_ENOTFOUND, d, n, "attribute without a name", NULL);
    if (use != NULL && strcmp(use, "required") != 0 &&
        strcmp(use, "optional") != 0)
        return fail(c, ICX_ENOTFOUND, d, n, "attribute use", use);
    a->name = arena_str(c->v, name);
    a->required = use != NULL && strcmp(use, "required") == 0;
    a->fixed = arena_str(c->v, attr(n, "fixed"));
    const xmlNode *anon = first_xs(n);
    if (type != NULL && anon == NULL)
        a->type = simple_ref(c, d, n, type);
    else if (type == NULL && is_xs(anon, "simpleType") &&
             next_xs(anon->next) == NULL)
        a->type = compile_simple(c, d, anon);
    else
        return fail(c, ICX_ENOTFOUND, d, n, "attribute type", name);
    if (a->name == NULL || (attr(n, "fixed") != NULL && a->fixed == NULL))
        return oom(c);
    return a->type == NULL ? c->rc : ICX_OK;
}

/* The attribute uses among n's children, from the node first. */
static int compile_attributes(struct compiler *c, const struct sdoc *d,
                              const xmlNode *first, struct ctype *t)
{
    int count = 0;
    for (const xmlNode *k = first; k != NULL; k = next_xs(k->next)) {
        if (!is_xs(k, "attribute"))
            return fail(c, ICX_ENOTFOUND, d, k, "complex type outside the "
                        "subset", (const char *)k->name);
        count++;
    }
    if (count > MAX_ATTRS)
        return fail(c, ICX_ENOTFOUND, d, first, "too many attributes", NULL);
    t->attrs = arena_alloc(c->v, (size_t)(count ? count : 1) *
                                     sizeof *t->attrs);
    if (t->attrs == NULL)
        return oom(c);
    for (const xmlNode *k = first; k != NULL; k = next_xs(k->next))
        if (compile_attribute(c, d, k, &t->attrs[t->nattrs++]) < 0)
            return c->rc;
    return ICX_OK;
}

static int compile_complex_body(struct compiler *c, const struct sdoc *d,
                                const xmlNode *n, struct ctype *t)
{
    static const char *const ok_attrs[] = {"name", NULL};
    static const char *const ext_attrs[] = {"base", NULL};
    if (attrs_known(c, d, n, ok_attrs) < 0)
        return c->rc;
    const xmlNode *k = first_xs(n);
    if (is_xs(k, "simpleContent")) {
        const xmlNode *ext = first_xs(k);
        if (!is_xs(ext, "extension") || next_xs(ext->next) != NULL ||
            next_xs(k->next) != NULL || attrs_known(c, d, ext, ext_attrs) < 0 ||
            attr(ext, "base") == NULL)
            return fail(c, ICX_ENOTFOUND, d, k, "simple content outside the "
                        "subset", NULL);
        t->content = C_SIMPLE;
        if ((t->simple = simple_ref(c, d, ext, attr(ext, "base"))) == NULL)
            return c->rc;
        return compile_attributes(c, d, first_xs(ext), t);
    }
    if (is_xs(k, "sequence") || is_xs(k, "choice") || is_xs(k, "group")) {
        t->content = C_ELEMENTS;
        if ((t->model = compile_particle(c, d, k)) == NULL)
            return c->rc;
        k = next_xs(k->next);
    } else {
        t->content = C_EMPTY;
    }
    return compile_attributes(c, d, k, t);
}

static struct ctype *complex_ref(struct compiler *c, const struct comp *k)
{
    struct comp *kk = (struct comp *)k;
    if (kk->compiled == NULL) {
        struct ctype *t = arena_alloc(c->v, sizeof *t);
        if (t == NULL) {
            oom(c);
            return NULL;
        }
        kk->compiled = t;
        if (compile_complex_body(c, k->doc, k->node, t) < 0)
            return NULL;
        t->done = 1;
    }
    return kk->compiled;
}

static int compile_idc(struct compiler *c, const struct sdoc *d,
                       const xmlNode *n, struct idc *x)
{
    static const char *const ok_attrs[] = {"name", "refer", NULL};
    static const char *const xp_attrs[] = {"xpath", NULL};
    if (attrs_known(c, d, n, ok_attrs) < 0)
        return c->rc;
    x->kind = is_xs(n, "key") ? IDC_KEY : is_xs(n, "unique") ? IDC_UNIQUE
                                                             : IDC_KEYREF;
    x->ns = d->tns;
    x->name = arena_str(c->v, attr(n, "name"));
    x->refer = -1;
    if (x->kind == IDC_KEYREF) {
        const char *refer = attr(n, "refer"), *ns, *local;
        if (refer == NULL || qname(c, d, n, refer, &ns, &local) < 0)
            return fail(c, ICX_ENOTFOUND, d, n, "keyref without refer", NULL);
        x->refer_ns = arena_str(c->v, ns);
        x->refer_name = arena_str(c->v, local);
    }
    const xmlNode *sel = first_xs(n);
    const xmlNode *fld = sel ? next_xs(sel->next) : NULL;
    if (!is_xs(sel, "selector") || !is_xs(fld, "field") ||
        next_xs(fld->next) != NULL || attrs_known(c, d, sel, xp_attrs) < 0 ||
        attrs_known(c, d, fld, xp_attrs) < 0)
        return fail(c, ICX_ENOTFOUND, d, n, "identity constraint outside the "
                    "subset", NULL);
    const char *xp = attr(sel, "xpath"), *fx = attr(fld, "xpath");
    /* Field: "@name" with a plain name. */
    if (fx == NULL || fx[0] != '@' || fx[1] == '\0' ||
        strpbrk(fx + 1, ":/*|.[ ") != NULL)
        return fail(c, ICX_ENOTFOUND, d, fld, "field outside the subset", fx);
    x->field = arena_str(c->v, fx + 1);
    /* Selector: child steps "p:Name" or "*" joined by "/". */
    int steps = 1;
    for (const char *s = xp ? xp : ""; *s; s++)
        steps += *s == '/';
    x->steps = arena_alloc(c->v, (size_t)steps * sizeof *x->steps);
    if (xp == NULL || x->steps == NULL || x->field == NULL || x->name == NULL)
        return xp == NULL ? fail(c, ICX_ENOTFOUND, d, sel, "selector", NULL)
                          : oom(c);
    const char *s = xp;
    while (*s != '\0' || x->nsteps == 0) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char step[128];
        if (len == 0 || len >= sizeof step)
            return fail(c, ICX_ENOTFOUND, d, sel, "selector outside the subset",
                        xp);
        memcpy(step, s, len);
        step[len] = '\0';
        struct step *st = &x->steps[x->nsteps++];
        if (strcmp(step, "*") != 0) {
            const char *ns, *local;
            if (strpbrk(step, "*@.[|() ") != NULL || strchr(step, ':') == NULL ||
                qname(c, d, sel, step, &ns, &local) < 0)
                return fail(c, ICX_ENOTFOUND, d, sel,
                            "selector outside the subset", xp);
            st->ns = arena_str(c->v, ns);
            st->name = arena_str(c->v, local);
            if (st->name == NULL)
                return oom(c);
        }
        if (e == NULL)
            break;
        s = e + 1;
        if (*s == '\0')
            return fail(c, ICX_ENOTFOUND, d, sel, "selector outside the subset",
                        xp);
    }
    return ICX_OK;
}

static int compile_idcs(struct compiler *c, const struct sdoc *d,
                        const xmlNode *first, struct elem *e)
{
    int count = 0;
    for (const xmlNode *k = first; k != NULL; k = next_xs(k->next))
        count++;
    if (count == 0)
        return ICX_OK;
    e->idcs = arena_alloc(c->v, (size_t)count * sizeof *e->idcs);
    if (e->idcs == NULL)
        return oom(c);
    for (const xmlNode *k = first; k != NULL; k = next_xs(k->next)) {
        if (!is_xs(k, "key") && !is_xs(k, "unique") && !is_xs(k, "keyref"))
            return fail(c, ICX_ENOTFOUND, d, k, "element content outside the "
                        "subset", (const char *)k->name);
        if (compile_idc(c, d, k, &e->idcs[e->nidcs++]) < 0)
            return c->rc;
    }
    /* A keyref must refer to a key or unique of the same element. */
    for (int i = 0; i < e->nidcs; i++) {
        struct idc *x = &e->idcs[i];
        if (x->kind != IDC_KEYREF)
            continue;
        for (int j = 0; j < e->nidcs; j++)
            if (e->idcs[j].kind != IDC_KEYREF &&
                xsdv_str_eq(e->idcs[j].ns, x->refer_ns) &&
                xsdv_str_eq(e->idcs[j].name, x->refer_name))
                x->refer = j;
        if (x->refer < 0)
            return fail(c, ICX_ENOTFOUND, d, first, "keyref to another "
                        "element's key", x->refer_name);
    }
    return ICX_OK;
}

/* An xs:element with a name (global or local). */
static struct elem *element_decl(struct compiler *c, const struct sdoc *d,
                                 const xmlNode *n, const char *ns)
{
    static const char *const ok_attrs[] = {"name", "type", "minOccurs",
                                           "maxOccurs", NULL};
    if (attrs_known(c, d, n, ok_attrs) < 0)
        return NULL;
    struct elem *e = arena_alloc(c->v, sizeof *e);
    const char *name = attr(n, "name"), *type = attr(n, "type");
    if (e == NULL) {
        oom(c);
        return NULL;
    }
    if (name == NULL) {
        fail(c, ICX_ENOTFOUND, d, n, "element without a name", NULL);
        return NULL;
    }
    e->ns = arena_str(c->v, ns);
    e->name = arena_str(c->v, name);
    const xmlNode *k = first_xs(n);
    if (type != NULL) {
        const char *tns, *local;
        if (qname(c, d, n, type, &tns, &local) < 0)
            return NULL;
        struct comp *ct = xsdv_str_eq(tns, XS_NS) ? NULL
                                             : find(c, K_COMPLEX, tns, local);
        if (ct != NULL)
            e->complex = complex_ref(c, ct);
        else if ((e->simple = simple_ref(c, d, n, type)) == NULL)
            return NULL;
    } else if (is_xs(k, "complexType")) {
        struct ctype *t = arena_alloc(c->v, sizeof *t);
        if (t == NULL || compile_complex_body(c, d, k, t) < 0) {
            if (t == NULL)
                oom(c);
            return NULL;
        }
        e->complex = t;
        k = next_xs(k->next);
    } else if (is_xs(k, "simpleType")) {
        if ((e->simple = compile_simple(c, d, k)) == NULL)
            return NULL;
        k = next_xs(k->next);
    } else {
        fail(c, ICX_ENOTFOUND, d, n, "element without a type", name);
        return NULL;
    }
    if (c->rc < 0 || compile_idcs(c, d, k, e) < 0)
        return NULL;
    return e;
}

static int add_comp(struct compiler *c, const struct sdoc *d,
                    const xmlNode *n, int kind)
{
    const char *name = attr(n, "name");
    if (name == NULL)
        return fail(c, ICX_ECONFIG, d, n, "top-level component without a name",
                    NULL);
    if (find(c, kind, d->tns, name) != NULL)
        return fail(c, ICX_ECONFIG, d, n, "declared twice", name);
    if (c->ncomps == c->capcomps) {
        int cap = c->capcomps ? c->capcomps * 2 : 64;
        struct comp *nc = realloc(c->comps, (size_t)cap * sizeof *nc);
        if (nc == NULL)
            return oom(c);
        c->comps = nc;
        c->capcomps = cap;
    }
    c->comps[c->ncomps++] = (struct comp){.ns = d->tns, .name = name,
                                          .kind = kind, .node = n, .doc = d};
    return ICX_OK;
}

static int load_doc(struct compiler *c, const char *path, const char *want_ns);

static int index_doc(struct compiler *c, struct sdoc *d, const char *dir)
{
    static const char *const schema_attrs[] = {
        "targetNamespace", "elementFormDefault", "attributeFormDefault",
        "blockDefault", "version", NULL};
    static const char *const import_attrs[] = {"namespace", "schemaLocation",
                                               NULL};
    const xmlNode *root = xmlDocGetRootElement(icx_xml_raw(d->doc));
    if (!is_xs(root, "schema") || attrs_known(c, d, root, schema_attrs) < 0)
        return fail(c, ICX_ENOTFOUND, d, root, "not a schema in the subset",
                    NULL);
    const char *efd = attr(root, "elementFormDefault");
    const char *afd = attr(root, "attributeFormDefault");
    if (afd != NULL && strcmp(afd, "unqualified") != 0)
        return fail(c, ICX_ENOTFOUND, d, root, "attributeFormDefault outside "
                    "the subset", afd);
    d->qualified = efd != NULL && strcmp(efd, "qualified") == 0;
    d->tns = attr(root, "targetNamespace");
    for (const xmlNode *k = first_xs(root); k != NULL; k = next_xs(k->next)) {
        int rc = ICX_OK;
        if (is_xs(k, "import")) {
            const char *loc = attr(k, "schemaLocation");
            char path[4096];
            if (attrs_known(c, d, k, import_attrs) < 0 || loc == NULL ||
                strchr(loc, '/') != NULL || strchr(loc, ':') != NULL)
                return fail(c, ICX_ENOTFOUND, d, k, "import outside the subset",
                            loc);
            int len = snprintf(path, sizeof path, "%s/%s", dir, loc);
            if (len < 0 || (size_t)len >= sizeof path)
                return fail(c, ICX_ECONFIG, d, k, "path too long", loc);
            rc = load_doc(c, path, attr(k, "namespace"));
        } else if (is_xs(k, "element")) {
            rc = add_comp(c, d, k, K_ELEMENT);
        } else if (is_xs(k, "complexType")) {
            rc = add_comp(c, d, k, K_COMPLEX);
        } else if (is_xs(k, "simpleType")) {
            rc = add_comp(c, d, k, K_SIMPLE);
        } else if (is_xs(k, "group")) {
            rc = add_comp(c, d, k, K_GROUP);
        } else {
            rc = fail(c, ICX_ENOTFOUND, d, k, "top-level component outside "
                      "the subset", (const char *)k->name);
        }
        if (rc < 0)
            return rc;
    }
    return ICX_OK;
}

static int load_doc(struct compiler *c, const char *path, const char *want_ns)
{
    for (int i = 0; i < c->ndocs; i++)
        if (strcmp(c->docs[i].path, path) == 0)
            return ICX_OK;
    if (c->ndocs == MAX_DOCS)
        return fail(c, ICX_ENOTFOUND, NULL, NULL, "too many schema files",
                    path);
    struct sdoc *d = &c->docs[c->ndocs];
    if ((d->path = arena_str(c->v, path)) == NULL)
        return oom(c);
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
        return fail(c, ICX_ECONFIG, d, NULL, "imported namespace differs",
                    want_ns);
    return ICX_OK;
}

int icx_xsdv_compile(icx_xsdv **out, const char *main_xsd, icx_err *err)
{
    struct compiler c = {.err = err, .rc = ICX_OK};
    *out = NULL;
    if ((c.v = calloc(1, sizeof *c.v)) == NULL)
        return icx_err_set(err, ICX_ENOMEM, "out of memory");
    if (load_doc(&c, main_xsd, NULL) < 0)
        goto out;
    int nglobal = 0;
    for (int i = 0; i < c.ncomps; i++)
        nglobal += c.comps[i].kind == K_ELEMENT;
    c.v->globals = arena_alloc(c.v, (size_t)(nglobal ? nglobal : 1) *
                                        sizeof *c.v->globals);
    if (c.v->globals == NULL) {
        oom(&c);
        goto out;
    }
    /* Every top-level component is compiled, used or not, so that
     * nothing outside the subset hides in an unused corner. */
    for (int i = 0; i < c.ncomps && c.rc == ICX_OK; i++) {
        struct comp *k = &c.comps[i];
        if (k->compiled != NULL || k->kind == K_GROUP)
            continue;
        if (k->kind == K_ELEMENT)
            k->compiled = element_decl(&c, k->doc, k->node, k->doc->tns);
        else if (k->kind == K_COMPLEX)
            complex_ref(&c, k);
        else
            k->compiled = compile_simple(&c, k->doc, k->node);
    }
    for (int i = 0; i < c.ncomps && c.rc == ICX_OK; i++)
        if (c.comps[i].kind == K_ELEMENT)
            c.v->globals[c.v->nglobals++] = c.comps[i].compiled;
out:
    for (int i = 0; i < c.ndocs; i++)
        icx_xml_free(&c.docs[i].doc);
    free(c.comps);
    if (c.rc < 0) {
        icx_xsdv_free(&c.v);
        return c.rc;
    }
    *out = c.v;
    return ICX_OK;
}

void icx_xsdv_free(icx_xsdv **vp)
{
    if (vp == NULL || *vp == NULL)
        return;
    icx_xsdv *v = *vp;
    for (int i = 0; i < v->npats; i++) {
        icx_xsdre_free(&v->pats[i]->fast);
        if (v->pats[i]->slow != NULL)
            xmlRegFreeRegexp(v->pats[i]->slow);
    }
    free(v->pats);
    while (v->arena != NULL) {
        struct arena_chunk *next = v->arena->next;
        free(v->arena);
        v->arena = next;
    }
    free(v);
    *vp = NULL;
}
